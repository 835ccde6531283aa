"""HF105 fixer: move a mount that misses the data to the path the data is in.

Only when the right target is unambiguous (one layout: a pinned tag or a major
forced by the live-host planner; one data path) and the entry is plain text the
fixer can rewrite; the fix is UNSAFE because on a live host the existing files
sit under the old target (`holdfast plan` moves them). Otherwise it is
display-only with the reason, e.g. a floating postgres tag where 17 and 18 want
different paths.
"""

from __future__ import annotations

from typing import Any

from holdfast.document import ComposeDocument
from holdfast.fixers._layout import Refusal, explicit, inside, is_shared, replace_scalar
from holdfast.fixers._mounts import (
    Context,
    RefusingFixer,
    service_nodes,
    service_path,
    services_data,
)
from holdfast.model import Applicability, Finding, Fix
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

TITLE = "Move the mount to the data path"


class WrongPathFixer(RefusingFixer):
    """Rewrite the target of a mount that is meant for the data but misses it."""

    title = TITLE
    codes = ("HF105",)

    def _edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix | None:
        from holdfast.fixing import MountFix, MountIntent
        from holdfast.mounts import normalise_path, parse_volume

        ctx = Context.build(document, finding, options)
        data = finding.data if isinstance(finding.data, dict) else {}
        wrong = data.get("wrong_target")
        targets = sorted(set(data.get("mount_targets") or []))
        if ctx.override is not None:
            raise Refusal("a mount written in the base file cannot be moved from an override file; edit the base file")
        analysis = ctx.analysis()
        if ctx.major is not None and analysis is not None:
            wanted = set(data.get("data_paths") or [])
            targets = sorted({s.data_path.mount_target for s in analysis.statuses if s.data_path.path in wanted} or set(targets))
        elif analysis is not None and len({dp.mount_target for layout in analysis.image.layouts for dp in layout.required}) > 1 and len(analysis.image.layouts) > 1:
            tag = analysis.image.ref.tag or "latest"
            raise Refusal(
                f"the right path depends on the {analysis.image.title} major version (tag `{tag}` does not fix it); "
                "pin the tag, or let `holdfast plan` read the version from the running container"
            )
        if not wrong or len(targets) != 1:
            raise Refusal("the data path is ambiguous (several candidate targets)")
        right = targets[0]
        if normalise_path(right) == normalise_path(wrong):
            raise Refusal(f"the mount at {wrong} is hidden by an image VOLUME deeper down; moving it would not help")
        if ctx.service is not None and any(m.target == normalise_path(right) for m in ctx.service.mounts()):
            raise Refusal(f"service {ctx.service_name} already mounts {right}")
        path = tuple(finding.yaml_path)
        if not path or not isinstance(path[-1], int) or path != service_path(document, ctx.service_name) + ("volumes", path[-1]):
            raise Refusal("the mount is not an entry of the service's own `volumes:` in this file")
        nodes = service_nodes(document, ctx.service_name)
        if nodes.volumes is None:
            raise Refusal("the volumes come from a YAML merge key (`<<:`); holdfast does not edit shared anchors")
        sequence = nodes.volumes[1]
        if not isinstance(sequence, SequenceNode) or not inside(sequence, nodes.mapping) or is_shared(document, sequence):
            raise Refusal("the volumes list is a YAML anchor other services reuse; holdfast does not edit shared anchors")
        index = path[-1]
        if not 0 <= index < len(sequence.value):
            raise Refusal("the mount entry is not where the finding says")
        item = sequence.value[index]
        if "$" in document.text[item.start_mark.index : item.end_mark.index]:
            raise Refusal("the entry uses ${…}; holdfast does not edit inside interpolations")
        raw = services_data(document)[ctx.service_name]["volumes"][index]
        mount = parse_volume(raw)
        if mount is None or mount.target != normalise_path(wrong):
            raise Refusal("the entry does not mount the path the finding names")
        if isinstance(item, ScalarNode):
            edit = replace_scalar(item, _retarget(str(raw), right), flow=bool(sequence.flow_style))
        elif isinstance(item, MappingNode):
            pair = explicit(item, "target")
            if pair is None or not isinstance(pair[1], ScalarNode):
                raise Refusal("the entry has no plain `target:`")
            edit = replace_scalar(pair[1], right, flow=bool(item.flow_style))
        else:
            raise Refusal("the entry is neither a string nor a mapping")
        intent = MountIntent(ctx.service_name, frozenset({normalise_path(wrong), normalise_path(right)}))
        problem = ctx.verify(document, [edit], intent)
        if problem is not None:
            raise Refusal(f"the edit would not be clean: {problem}")
        return MountFix(
            title=f"Move the mount from {wrong} to {right}",
            applicability=Applicability.UNSAFE,
            edits=(edit,),
            intent=intent,
            done=f"moved the mount from {wrong} to {right}",
        )


def _retarget(entry: str, target: str) -> str:
    """`src:/old:ro` -> `src:/new:ro` (a Windows drive in the source is kept whole)."""
    from holdfast.mounts import split_short_syntax

    parts = split_short_syntax(entry)
    if len(parts) < 2:
        raise Refusal("the entry has no target to move")
    parts[1] = target
    return ":".join(parts)

"""HF102 fixer: turn the anonymous volume that holds the data into a bind mount or named volume.

The same for HF106 when an application's data is on an anonymous `volumes:` entry.

The entry is replaced where it is written, in its own syntax: a short entry
stays a short string with the same quoting, a long-syntax mapping gets a
`source:` (and `type: bind`) next to its other keys. An entry that uses `${…}`,
lives in an anchor other services share, or comes from another service through
`extends` is refused with the reason. With `--to-override` the override file
gets an entry at the same target, which Compose merges over the anonymous one.
"""

from __future__ import annotations

from typing import Any

from holdfast.document import ComposeDocument
from holdfast.fixers._layout import (
    Refusal,
    add_pairs,
    detect_style,
    explicit,
    inside,
    is_shared,
    replace_scalar,
)
from holdfast.fixers._mounts import (
    Context,
    RefusingFixer,
    add_named_volumes,
    choose_sources,
    entry_value,
    override_edits,
    override_style,
    service_nodes,
    service_path,
    services_data,
)
from holdfast.model import Applicability, Edit, Finding, Fix
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

TITLE = "Replace the anonymous volume"


class AnonymousVolumeFixer(RefusingFixer):
    """Replace an anonymous data volume by a bind mount (or a named volume)."""

    title = TITLE
    codes = ("HF102", "HF106")  # HF106: an application's data on an anonymous entry, the same replacement

    def _edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix | None:
        from holdfast.fixing import MountFix, MountIntent
        from holdfast.mounts import normalise_path

        data = finding.data if isinstance(finding.data, dict) else {}
        anonymous = data.get("anonymous_target")
        if finding.code == "HF106" and not anonymous:
            return None  # HF106 without an anonymous entry: the HF101 fixer adds the mount
        ctx = Context.build(document, finding, options)
        targets = list(data.get("mount_targets") or [])
        if ctx.major is not None and ctx.analysis() is not None:
            statuses = [s for s in ctx.analysis().statuses if s.state == "anonymous" and s.mount is not None and s.mount.target == anonymous]
            targets = [s.data_path.mount_target for s in statuses] or targets
        if not anonymous or not targets:
            raise Refusal("the finding does not say which volume to replace")
        target = targets[0]
        shared = ctx.sharing_problem()
        if shared is not None:
            raise Refusal(shared)
        kind = "volume" if ctx.persistence == "named" else "bind"
        [(source, _)] = choose_sources(ctx, [target])
        named = [source] if kind == "volume" else []
        intent = MountIntent(ctx.service_name, frozenset({normalise_path(anonymous), normalise_path(target)}), frozenset(named))
        shown = f"{source}:{target}"
        if ctx.override is not None:
            override = ctx.override
            style = override_style(override, ctx.service_name)
            entry = entry_value(source, target, kind, style)
            edits = override_edits(override, ctx.service_name, [entry], named, style, style.quote)
            before = override.document
            # in the override, only the new target is written; the anonymous entry stays in the base file
            intent = MountIntent(ctx.service_name, frozenset({normalise_path(target)}), frozenset(named))
            problem = ctx.verify(before, edits, intent)
            if problem is not None:
                raise Refusal(f"the override would not be clean: {problem}")
            return MountFix(
                title=f"Mount {shown} over the anonymous volume in {override.path}",
                applicability=Applicability.SAFE,
                edits=tuple(edits),
                path=override.path,
                intent=intent,
                done=f"mounted {shown} over the anonymous volume at {anonymous} in {override.path}",
            )
        edits = self._replace(ctx, anonymous, source, target, kind)
        style = detect_style(document, ctx.service_name)
        declared = document.data.get("volumes") if isinstance(document.data, dict) else None
        edits.extend(add_named_volumes(document, [n for n in named if not (isinstance(declared, dict) and n in declared)], style))
        problem = ctx.verify(document, edits, intent)
        if problem is not None:
            raise Refusal(f"the edit would not be clean: {problem}")
        what = "named volume" if kind == "volume" else "bind mount"
        return MountFix(
            title=f"Replace the anonymous volume at {anonymous} by the {what} {shown}",
            applicability=Applicability.SAFE,
            edits=tuple(edits),
            intent=intent,
            done=f"replaced the anonymous volume at {anonymous} by {shown}",
        )

    def _replace(self, ctx: Context, anonymous: str, source: str, target: str, kind: str) -> list[Edit]:
        """Edits on the entry itself (short or long syntax)."""
        from holdfast.mounts import parse_volume

        document = ctx.document
        path = tuple(ctx.finding.yaml_path)
        prefix = service_path(document, ctx.service_name)[:-1]
        if len(path) != len(prefix) + 3 or path[: len(prefix)] != prefix or path[-2] != "volumes" or not isinstance(path[-1], int):
            raise Refusal("the anonymous volume is not an entry of the service's own `volumes:`")
        if path[-3] != ctx.service_name:
            raise Refusal(f"the anonymous volume comes from service {path[-3]} through `extends`; fix it there")
        nodes = service_nodes(document, ctx.service_name)
        if nodes.volumes is None:
            raise Refusal("the volumes come from a YAML merge key (`<<:`); holdfast does not edit shared anchors")
        sequence = nodes.volumes[1]
        if not isinstance(sequence, SequenceNode) or not inside(sequence, nodes.mapping) or is_shared(document, sequence):
            raise Refusal("the volumes list is a YAML anchor other services reuse; holdfast does not edit shared anchors")
        index = path[-1]
        if not 0 <= index < len(sequence.value):
            raise Refusal("the anonymous volume entry is not where the finding says")
        item = sequence.value[index]
        if "$" in document.text[item.start_mark.index : item.end_mark.index]:
            raise Refusal("the entry uses ${…}; holdfast does not edit inside interpolations")
        raw = services_data(document)[ctx.service_name]["volumes"][index]
        mount = parse_volume(raw)
        if mount is None or mount.kind != "anonymous":
            raise Refusal("the entry is not an anonymous volume")
        if isinstance(item, ScalarNode):
            return [replace_scalar(item, f"{source}:{target}", flow=bool(sequence.flow_style))]
        if not isinstance(item, MappingNode):
            raise Refusal("the entry is neither a string nor a mapping")
        if kind == "bind" and explicit(item, "volume") is not None:
            raise Refusal('the entry has `volume:` options, which a bind mount does not take (use fix.persistence = "named")')
        style = detect_style(document, ctx.service_name)
        quote = style.quote
        edits: list[Edit] = []
        type_pair = explicit(item, "type")
        target_pair = explicit(item, "target")
        if target_pair is None or not isinstance(target_pair[1], ScalarNode):
            raise Refusal("the entry has no plain `target:`")
        if target_pair[1].value != target:
            edits.append(replace_scalar(target_pair[1], target, flow=bool(item.flow_style)))
        new_pairs: dict[str, Any] = {}
        if type_pair is not None:
            if not isinstance(type_pair[1], ScalarNode):
                raise Refusal("the entry's `type:` is not a plain value")
            if type_pair[1].value != kind:
                edits.append(replace_scalar(type_pair[1], kind, flow=bool(item.flow_style)))
        elif kind == "bind":
            new_pairs["type"] = "bind"
        new_pairs["source"] = source
        after = type_pair[1] if type_pair is not None and not item.flow_style else None
        edits.extend(add_pairs(document, item, new_pairs, style, quote, after=after))
        return edits

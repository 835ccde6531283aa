"""HF101 fixer: put the data path on persistent storage.

Two ways, in this order:
1. The service carries a commented-out `volumes:` block that would persist the
   data (the Mastodon case): uncomment exactly those lines. Only the `#` goes,
   plus re-indentation when the comment's own indentation is not the service's.
   The explanatory comment above the block stays.
2. Otherwise add a mount at the layout's mount target: a bind under
   `fix.bind-root` (default `./data/<service>`) or, with `fix.persistence =
   "named"`, a named volume that is also declared at the top level.

With `--to-override` the mount goes into the override file instead (the
commented block's own entries when it has one), so the upstream file stays as
it is. A data path that comes from `${…}` is refused: its value is a guess.
"""

from __future__ import annotations

import re
from typing import Any

from holdfast.document import ComposeDocument
from holdfast.fixers._layout import Refusal, detect_style, line_end
from holdfast.fixers._mounts import (
    Context,
    RefusingFixer,
    add_entries,
    add_named_volumes,
    choose_sources,
    entry_value,
    inherited_volumes,
    interpolated_origin,
    override_edits,
    override_style,
    service_nodes,
)
from holdfast.model import Applicability, Edit, Finding, Fix

TITLE = "Persist the data"


class PersistDataFixer(RefusingFixer):
    """Uncomment the author's own `volumes:` block, or add a bind mount / named volume."""

    title = TITLE
    codes = ("HF101", "HF106")  # HF106: the same repair for an application's data

    # ------------------------------------------------------------------ planning
    def _edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix | None:
        if isinstance(finding.data, dict) and finding.data.get("anonymous_target"):
            return None  # HF106 at an anonymous entry: the HF102 fixer replaces the entry
        ctx = Context.build(document, finding, options)
        targets, data_paths, block_fits = self._targets(ctx)
        if not targets:
            raise Refusal("no data path is known for this service")
        shared = ctx.sharing_problem()
        if shared is not None:
            raise Refusal(shared)
        why = interpolated_origin(ctx, data_paths)
        if why is not None:
            raise Refusal(f"the data path comes from an interpolated value ({why}); holdfast does not guess what ${{…}} holds")
        from holdfast.commented import find_commented_volumes

        block = find_commented_volumes(ctx.document, ctx.service_name) if block_fits else None
        if ctx.override is not None:
            return self._to_override(ctx, targets, block)
        if block is not None and not _placeholder(block):
            fix = self._uncomment(ctx, block)
            if fix is not None:
                return fix
        return self._add(ctx, targets)

    def _targets(self, ctx: Context) -> tuple[list[str], list[Any], bool]:
        """(mount targets, DataPath objects, whether the commented block persists the data)."""
        data = ctx.finding.data if isinstance(ctx.finding.data, dict) else {}
        analysis = ctx.analysis()
        if ctx.major is not None and analysis is not None:
            lost = [s for s in analysis.statuses if s.state in ("image-volume", "container-layer")]
            targets = _unique(s.data_path.mount_target for s in lost)
            block_fits = False
            from holdfast.commented import find_commented_volumes
            from holdfast.persistence import path_status

            block = find_commented_volumes(ctx.document, ctx.service_name)
            if block is not None and lost:
                mounts = list(analysis.mounts) + list(block.mounts)
                block_fits = all(path_status(s.data_path, mounts, analysis.layout.image_volumes).persisted for s in lost)
            return targets, [s.data_path for s in lost], block_fits
        targets = _unique(data.get("mount_targets") or [])
        wanted = set(data.get("data_paths") or [])
        paths: list[Any] = []
        if analysis is not None:
            for layout in analysis.image.layouts:
                paths.extend(dp for dp in layout.data_paths if dp.path in wanted and dp not in paths)
        return targets, paths, "commented_block" in data

    # ------------------------------------------------------------------ 1. uncomment
    def _uncomment(self, ctx: Context, block: Any) -> Fix | None:
        from holdfast.fixing import MountFix, MountIntent

        document = ctx.document
        nodes = service_nodes(document, ctx.service_name)
        if nodes.volumes is not None or inherited_volumes(document, ctx.service_name) is not None:
            return None  # a second `volumes:` key would replace (or duplicate) the first: add instead
        edits: list[Edit] = []
        text = document.text
        for offset, (raw, wanted) in enumerate(zip(block.lines, block.uncommented)):
            start = document.offset(block.first_line + offset, 1)
            end = line_end(text, start)
            hash_at = raw.index("#")
            if raw[:hash_at] + raw[hash_at + 1 :] == wanted:
                edits.append(Edit(start + hash_at, start + hash_at + 1, ""))
            elif text[start:end] != wanted:
                edits.append(Edit(start, end, wanted))
        intent = MountIntent(ctx.service_name, frozenset(m.target for m in block.mounts))
        if ctx.verify(document, edits, intent) is not None:
            return None
        lines = f"lines {block.first_line}-{block.last_line}" if block.last_line > block.first_line else f"line {block.first_line}"
        return MountFix(
            title=f"Uncomment the `volumes:` block on {lines}",
            applicability=Applicability.SAFE,
            edits=tuple(edits),
            intent=intent,
            done=f"uncommented the volumes block on {lines}",
        )

    # ------------------------------------------------------------------ 2. add a mount
    def _add(self, ctx: Context, targets: list[str]) -> Fix:
        from holdfast.fixing import MountFix, MountIntent

        document = ctx.document
        self._check_free(ctx, targets)
        style = detect_style(document, ctx.service_name)
        kind = "volume" if ctx.persistence == "named" else "bind"
        pairs = choose_sources(ctx, targets)
        entries = [entry_value(source, target, kind, style) for source, target in pairs]
        edits = add_entries(document, ctx.service_name, entries, style, style.quote)
        named = [source for source, _ in pairs] if kind == "volume" else []
        declared = document.data.get("volumes") if isinstance(document.data, dict) else None
        edits.extend(add_named_volumes(document, [n for n in named if not (isinstance(declared, dict) and n in declared)], style))
        edits = _merge_inserts(edits)
        intent = MountIntent(ctx.service_name, frozenset(targets), frozenset(named))
        problem = ctx.verify(document, edits, intent)
        if problem is not None:
            raise Refusal(f"the edit would not be clean: {problem}")
        shown = ", ".join(f"{s}:{t}" for s, t in pairs)
        what = "named volume" if kind == "volume" else "bind mount"
        return MountFix(
            title=f"Add the {what} {shown} to service {ctx.service_name}",
            applicability=Applicability.SAFE,
            edits=tuple(edits),
            intent=intent,
            done=f"added the {what} {shown}",
        )

    def _check_free(self, ctx: Context, targets: list[str]) -> None:
        """A target that already has a (non-persistent) mount is HF102's business, not a second mount."""
        if ctx.service is None:
            return
        from holdfast.mounts import normalise_path

        for mount in ctx.service.mounts():
            for target in targets:
                if mount.target == normalise_path(target):
                    raise Refusal(f"service {ctx.service_name} already mounts {target} ({mount.kind})")

    # ------------------------------------------------------------------ override
    def _to_override(self, ctx: Context, targets: list[str], block: Any) -> Fix:
        from holdfast.fixing import MountFix, MountIntent
        from holdfast.mounts import parse_volume

        target = ctx.override
        assert target is not None
        self._check_free(ctx, targets)
        style = override_style(target, ctx.service_name)
        named: list[str] = []
        if block is not None:
            entries = list(block.entries)
            mounts = [m for m in (parse_volume(e) for e in entries) if m is not None]
            named = [m.source for m in mounts if m.kind == "volume" and m.source and not _declared(ctx, m.source)]
            intent_targets = [m.target for m in mounts]
            shown = ", ".join(e if isinstance(e, str) else f"{e.get('source')}:{e.get('target')}" for e in entries)
            how = f"the entries of the commented-out block on lines {block.first_line}-{block.last_line}"
        else:
            kind = "volume" if ctx.persistence == "named" else "bind"
            pairs = choose_sources(ctx, targets)
            entries = [entry_value(source, t, kind, style) for source, t in pairs]
            named = [source for source, _ in pairs] if kind == "volume" else []
            intent_targets = targets
            shown = ", ".join(f"{s}:{t}" for s, t in pairs)
            how = shown
        edits = _merge_inserts(override_edits(target, ctx.service_name, entries, named, style, style.quote))
        intent = MountIntent(ctx.service_name, frozenset(intent_targets), frozenset(named))
        before = target.document
        problem = ctx.verify(before, edits, intent)
        if problem is not None:
            raise Refusal(f"the override would not be clean: {problem}")
        verb = "create" if not before.text else "add to"
        return MountFix(
            title=f"{verb.capitalize()} {target.path}: mount {how} for service {ctx.service_name}",
            applicability=Applicability.SAFE,
            edits=tuple(edits),
            path=target.path,
            intent=intent,
            done=f"{'wrote' if not before.text else 'added'} {shown} in {target.path}",
        )


_PLACEHOLDER = re.compile(r"path/to/|<[^<>]+>|/your[-_/]|changeme|CHANGE_?ME", re.IGNORECASE)


def _placeholder(block: Any) -> bool:
    """A block whose host path is a placeholder (`/path/to/data`) was meant to be edited, not uncommented."""
    return any(m.source and _PLACEHOLDER.search(m.source) for m in block.mounts)


def _declared(ctx: Context, name: str) -> bool:
    from holdfast.fixers._mounts import used_sources

    return name in used_sources(ctx)[1]


def _unique(values: Any) -> list[str]:
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return out


def _merge_inserts(edits: list[Edit]) -> list[Edit]:
    """Two insertions at one offset (the service's volumes and a new top-level key at the end of the file) become one."""
    out: list[Edit] = []
    for edit in edits:
        if out and edit.start == edit.end and any(e.start == e.end == edit.start for e in out):
            index = next(i for i, e in enumerate(out) if e.start == e.end == edit.start)
            out[index] = Edit(edit.start, edit.end, out[index].text + edit.text)
            continue
        out.append(edit)
    return out

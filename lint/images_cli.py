"""`holdfast images`: what holdfast knows about images, and why.

`holdfast images` lists every known image family (built-in data, plugins, the
user's `[tool.holdfast.images.*]` tables); `holdfast images IMAGE` explains one
reference: how it parses, which entry and pattern matched, the version that
picks the layout, the data paths and where a mount must go, the image's VOLUMEs,
and the sources the facts come from.  Check an image before deploying it.
"""

from __future__ import annotations

import json
from typing import Any

import click

from holdfast.cli import EXIT_FINDINGS, EXIT_OK, UserError, user_errors

RULE_FOR = {"data-store": "HF101", "application": "HF106"}


def _checked(entry: Any) -> str:
    raw = entry.__dict__.get("_raw")
    if isinstance(raw, dict):
        return str(raw.get("checked", "unknown"))
    return "configuration" if entry.sources.startswith("user configuration") else "plugin"


def _layouts(layouts: Any) -> list[dict[str, Any]]:
    out = []
    for layout in layouts:
        item: dict[str, Any] = {
            "label": layout.label,
            "paths": [{"path": d.path, "mount": d.mount_target, "role": d.role, **({"origin": d.origin} if getattr(d, "origin", "default") != "default" else {})} for d in layout.data_paths],
            "volumes": list(layout.image_volumes),
        }
        for key in ("min_major", "max_major", "tags"):
            value = getattr(layout, key, None)
            if value:
                item[key] = list(value) if isinstance(value, tuple) else value
        out.append(item)
    return out


def _entry_json(entry: Any) -> dict[str, Any]:
    return {
        "id": entry.id,
        "title": entry.title,
        "kind": entry.category,
        "rule": RULE_FOR.get(entry.category),
        "match": list(entry.repositories),
        "fallback": entry.fallback,
        "layouts": _layouts(entry.layouts),
        "env_overrides": [name for ov in entry.env_overrides for name in ov.names],
        "flag_overrides": [name for ov in entry.flag_overrides for name in ov.names],
        "user": entry.user,
        "probe": entry.probe,
        "stop_grace_seconds": entry.stop_grace_seconds,
        "sources": entry.sources,
        "checked": _checked(entry),
    }


def _paths_text(layouts: list[dict[str, Any]]) -> str:
    parts = []
    for layout in layouts:
        paths = ", ".join(p["path"] for p in layout["paths"] if p["role"] == "data") or "(nothing)"
        parts.append(paths if len(layouts) == 1 else f"{layout['label']}: {paths}")
    return "; ".join(parts)


def _knowledge(config_path: str | None) -> Any:
    from holdfast.config import load_config
    from holdfast.engine import Linter

    return Linter(load_config(config_path), with_fixes=False).knowledge


def _list(knowledge: Any, kind: str | None, fmt: str) -> int:
    from holdfast.knowledge import _stateless

    entries = [e for e in knowledge if kind is None or e.category == kind]
    if fmt == "json":
        rows = [_entry_json(e) for e in entries]
        summary = {
            "families": len(rows),
            "references": sum(len(r["match"]) for r in rows),
            "by_kind": {k: sum(1 for r in rows if r["kind"] == k) for k in sorted({r["kind"] for r in rows})},
        }
        stateless = [{"match": pattern, "reason": reason} for pattern, reason in _stateless()]
        click.echo(json.dumps({"version": 1, "images": rows, "stateless": stateless, "summary": summary}, indent=2))
        return EXIT_OK
    table = [("id", "kind", "data paths", "matches")]
    for entry in sorted(entries, key=lambda e: (e.category, e.id)):
        match = ", ".join(entry.repositories[:3]) + (f" (+{len(entry.repositories) - 3})" if len(entry.repositories) > 3 else "")
        paths = _paths_text(_layouts(entry.layouts))
        table.append((entry.id, entry.category, paths if len(paths) <= 60 else paths[:57] + "...", match))
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    by_kind = {k: sum(1 for e in entries if e.category == k) for k in sorted({e.category for e in entries})}
    counts = ", ".join(f"{n} {k}" for k, n in by_kind.items())
    click.echo(f"{len(entries)} image families ({counts}), {sum(len(e.repositories) for e in entries)} references")
    return EXIT_OK


def _explain(knowledge: Any, image: str, env: dict[str, str], command: str | None, fmt: str) -> int:
    from holdfast.imageref import is_valid_reference
    from holdfast.knowledge import ImageRef, Knowledge

    ref = ImageRef.parse(image)
    if not ref.repository or not is_valid_reference(image.strip()):
        raise UserError(f"{image!r} is not an image reference (registry/name:tag@digest)")
    position, pattern = knowledge.matched_by(ref)
    parsed = {"registry": ref.registry or "docker.io", "repository": ref.repository, "tag": ref.tag, "digest": ref.digest}
    if position is None:
        reason = Knowledge.stateless_reason(image)
        result = {"image": image, "reference": parsed, "known": reason is not None, "stateless": reason}
        if fmt == "json":
            click.echo(json.dumps(result, indent=2))
        elif reason:
            click.echo(f"{image}: known to keep no durable data of its own: {reason}")
        else:
            click.echo(f"{image}: not known to holdfast (repository {ref.repository}); no rule checks its data")
            click.echo("  add it with a [tool.holdfast.images.<name>] table (match, data-paths) if it keeps data")
        return EXIT_OK if reason else EXIT_FINDINGS
    entry = list(knowledge)[position]
    resolved = entry.resolve(ref, env, command)
    result = {
        "image": image,
        "reference": parsed,
        "known": True,
        "entry": entry.id,
        "matched_pattern": pattern,
        "fallback": entry.fallback,
        "title": resolved.title,
        "kind": resolved.category,
        "rule": RULE_FOR.get(resolved.category),
        "major": resolved.major,
        "floating": resolved.floating,
        "stateful": resolved.stateful,
        "ephemeral": resolved.ephemeral,
        "layouts": _layouts(resolved.layouts),
        "user": resolved.user,
        "readiness": list(resolved.readiness) if resolved.readiness else None,
        "probe": resolved.probe or "files",
        "stop_grace_seconds": resolved.stop_grace_seconds,
        "notes": list(resolved.notes),
        "sources": resolved.sources,
        "checked": _checked(entry),
    }
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
        return EXIT_OK
    echo = click.echo
    echo(f"{image}")
    echo(f"  reference   registry {parsed['registry']}, repository {ref.repository}, tag {ref.tag or '(none: latest)'}" + (f", digest {ref.digest}" if ref.digest else ""))
    how = "fallback for the whole namespace" if entry.fallback else "entry"
    echo(f"  matched     {how} '{entry.id}' ({resolved.title}) by pattern {pattern}")
    echo(f"  kind        {resolved.category}: {result['rule']} reports it when its data is not persisted")
    version = f"major {resolved.major}" if resolved.major is not None else "major version unknown"
    echo(f"  version     {version}{' (the tag floats)' if resolved.floating else ''}")
    if resolved.ephemeral:
        echo(f"  ephemeral   {resolved.ephemeral}")
    for layout in result["layouts"]:
        echo(f"  layout      {layout['label']}")
        for p in layout["paths"]:
            where = f" (mount at {p['mount']})" if p["mount"] != p["path"] else ""
            origin = f" [{p['origin']}]" if "origin" in p else ""
            echo(f"    {p['role']:<6}    {p['path']}{where}{origin}")
        if layout["volumes"]:
            echo(f"    VOLUME    {' '.join(layout['volumes'])}")
    if len(result["layouts"]) > 1:
        echo("              any one layout fully mounted counts as persisted")
    if resolved.user:
        echo(f"  user        {resolved.user}")
    echo(f"  live probe  {result['probe']}; stop grace {resolved.stop_grace_seconds}s")
    for text in resolved.notes:
        echo(f"  note        {text}")
    echo(f"  sources     {resolved.sources}")
    echo(f"  checked     {result['checked']}")
    return EXIT_OK


@click.command("images")
@click.argument("image", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--kind", type=click.Choice(["data-store", "application"]), default=None, help="List only one kind.")
@click.option("-e", "--env", "env", multiple=True, metavar="NAME=VALUE", help="Environment of the service (PGDATA=..., repeatable).")
@click.option("--command", "command", default=None, metavar="CMD", help="The service's command, e.g. \"redis-server --dir /srv\".")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Configuration file (user image tables).")
@user_errors
def images_command(image: str | None, fmt: str, kind: str | None, env: tuple[str, ...], command: str | None, config_path: str | None) -> int:
    """List the images holdfast knows, or explain what it knows about IMAGE and why."""
    knowledge = _knowledge(config_path)
    if image is None:
        try:
            return _list(knowledge, kind, fmt)
        except BrokenPipeError:  # `holdfast images | head`
            return EXIT_OK
    values: dict[str, str] = {}
    for item in env:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise UserError(f"--env expects NAME=VALUE, got {item!r}")
        values[name] = value
    return _explain(knowledge, image, values, command, fmt)

"""Live-host pins: the image tag and the hostname a recreated container must keep.

Not a finding-driven fixer: `holdfast plan` asks for these through the fix
engine's options, `pins` ({service: "postgres:15-alpine"}, the floating tag
pinned to the major the container RUNS, HF104) and `hostnames` ({service: the
old container's hostname}, for images that name their data folder after it,
like rabbitmq's `mnesia/rabbit@<hostname>`). The engine attaches the edits to
the service's mount fix (one verified change) or applies them on their own.

The edits are minimal: an existing scalar is replaced in place keeping its
quoting (and anchor/tag prefix); a missing `hostname:` is added right after the
service's `image:` line (else at the end of the service) in the file's
indentation. Refused, with a reason, when the value is interpolated (`${…}`),
comes from an anchor/alias or merge key other services share, or is inherited
through `extends` from another service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from holdfast.document import ComposeDocument
from holdfast.fixers._layout import (
    Refusal,
    add_pairs,
    detect_style,
    explicit,
    is_shared,
    render_scalar,
)
from holdfast.fixers._mounts import service_nodes, service_path
from holdfast.model import Applicability, Edit
from ruamel.yaml.nodes import MappingNode, ScalarNode

if TYPE_CHECKING:  # pragma: no cover
    from holdfast.fixing import MountFix
    from holdfast.project import Project


def wanted(options: dict[str, Any], service: str) -> dict[str, str]:
    """{key: value} the options ask of `service` (`image`, `hostname`)."""
    out: dict[str, str] = {}
    pin = (options.get("pins") or {}).get(service)
    if pin:
        out["image"] = str(pin)
    hostname = (options.get("hostnames") or {}).get(service)
    if hostname:
        out["hostname"] = str(hostname)
    return out


def pending(project: Project | None, options: dict[str, Any], service: str) -> dict[str, str]:
    """What is asked of `service` and not yet true of its effective configuration."""
    asked = wanted(options, service)
    if not asked or project is None or service not in project.services:
        return asked
    config = project.services[service].config
    return {key: value for key, value in asked.items() if str(config.get(key) or "") != value}


def live_pin_fixes(project: Project | None, options: dict[str, Any], service: str, keys: dict[str, str] | None = None) -> list[MountFix]:
    """One fix per file that pins `keys` (default: what is pending) on `service`; raises Refusal."""
    from holdfast.fixing import MountFix, MountIntent

    keys = pending(project, options, service) if keys is None else keys
    if not keys:
        return []
    if project is None or service not in project.services:
        raise Refusal(f"service {service} is not in the project")
    documents: dict[str, ComposeDocument] = options.get("documents") or {}
    override = options.get("override") if options.get("to_override") else None
    per_file: dict[str, tuple[ComposeDocument, list[Edit], dict[str, str]]] = {}
    for key, value in keys.items():
        document, edits = _key_edits(project, documents, override, service, key, value)
        entry = per_file.setdefault(document.path, (document, [], {}))
        entry[1].extend(edits)
        entry[2][key] = value
    fixes: list[MountFix] = []
    for path, (document, edits, done) in per_file.items():
        shown = ", ".join(f"{k}: {v}" for k, v in done.items())
        fixes.append(
            MountFix(
                title=f"Pin {shown} in service {service}",
                applicability=Applicability.SAFE,
                edits=tuple(sorted(edits, key=lambda e: (e.start, e.end))),
                path=path,
                intent=MountIntent(service, frozenset(), image=done.get("image"), hostname=done.get("hostname")),
                done=f"pinned {shown}",
            )
        )
    return fixes


def describe(intent: Any) -> str:
    """`image: postgres:15-alpine, hostname: rabbit-1` for a summary."""
    parts = []
    if getattr(intent, "image", None):
        parts.append(f"image: {intent.image}")
    if getattr(intent, "hostname", None):
        parts.append(f"hostname: {intent.hostname}")
    return ", ".join(parts)


# --------------------------------------------------------------------------- one key
def _key_edits(project: Project, documents: dict[str, ComposeDocument], override: Any, service: str, key: str, value: str) -> tuple[ComposeDocument, list[Edit]]:
    entry = project.services[service]
    if override is not None:
        # --to-override: the upstream file stays as it is; the override's own entry for the service gets the key
        document = documents.get(override.path) or override.document
        if not document.text.strip() or not isinstance(document.data, dict):
            raise Refusal(f"{override.path} has no entry for service {service} yet")
        return document, _set_key(document, service, key, value)
    if key in entry.config:
        origin = entry.origin(key)
        owner = origin.path[-2] if len(origin.path) >= 2 else None
        if owner != service:
            raise Refusal(f"`{key}:` of service {service} is inherited through `extends` from service {owner} in {origin.document.path}; pin it there or give {service} its own `{key}:`")
        document = documents.get(origin.document.path)
        if document is None or document.text != origin.document.text:
            raise Refusal(f"`{key}:` of service {service} is written in {origin.document.path}, which is not one of the files being fixed")
        return document, _set_key(document, service, key, value)
    if key == "image":
        raise Refusal(f"service {service} has no `image:` to pin")
    origin = entry.primary
    document = documents.get(origin.document.path)
    if document is None:
        raise Refusal(f"service {service} is defined in {origin.document.path}, which is not one of the files being fixed")
    return document, _set_key(document, service, key, value)


def _set_key(document: ComposeDocument, service: str, key: str, value: str) -> list[Edit]:
    """Replace `key:`'s scalar in the service's own mapping, or add the key after `image:` (else at the end)."""
    mapping = service_nodes(document, service).mapping  # refuses anchors and merged services
    pair = explicit(mapping, key)
    if pair is None:
        if document.node(*service_path(document, service), key) is not None:
            raise Refusal(f"`{key}:` of service {service} comes from a merge key (`<<: *anchor`) shared with other services")
        image = explicit(mapping, "image")
        style = detect_style(document, service)
        after = image[1] if image is not None and not mapping.flow_style else None
        return add_pairs(document, mapping, {key: value}, style, after=after)
    _key_node, node = pair
    if not isinstance(node, ScalarNode):
        raise Refusal(f"`{key}:` of service {service} is not a plain value")
    if is_shared(document, node):
        raise Refusal(f"`{key}:` of service {service} is an anchor/alias shared with other services; holdfast does not edit shared anchors")
    text = document.text
    start, end = node.start_mark.index, node.end_mark.index
    if start > 0 and text[start - 1] == "*":  # pragma: no cover - aliases are shared by definition
        raise Refusal(f"`{key}:` of service {service} is an alias")
    raw = text[start:end]
    if "$" in raw:
        raise Refusal(f"`{key}:` of service {service} is interpolated ({raw.strip()}); holdfast does not guess what ${{…}} holds")
    if node.style in ("|", ">") or node.start_mark.line != node.end_mark.line:
        raise Refusal(f"`{key}:` of service {service} is written over several lines")
    while start < end and text[start] in "&!":  # keep an anchor (`&img`) or tag (`!!str`) in front of the value
        while start < end and not text[start].isspace():
            start += 1
        while start < end and text[start] in " \t":
            start += 1
    quote = node.style if node.style in ('"', "'") else ""
    in_flow = isinstance(mapping, MappingNode) and bool(mapping.flow_style)
    return [Edit(start, end, render_scalar(value, quote, flow=in_flow))]

"""Shared by the mount fixers: which service, which targets, which source, and the edits.

The rule's finding carries the facts (`data_paths`, `mount_targets`, ...); the
fixer re-derives them only when the live-host planner forces a major version
(`options["majors"]`). Sources default to `<bind_root>/<service>` (one data path)
or `<bind_root>/<service>/<last path segment>` (several), or a named volume
`<service>-data` with `fix.persistence = "named"`; names never collide with
what the project already mounts or declares.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from holdfast.document import ComposeDocument
from holdfast.fixers._layout import (
    Refusal,
    Style,
    add_key_to_mapping,
    add_pairs,
    alias_token,
    append_to_sequence,
    content_end,
    detect_style,
    explicit,
    fill_empty_value,
    has_merge,
    inside,
    is_null,
    is_shared,
    line_end,
    render_item,
    render_mapping,
)
from holdfast.model import Applicability, Edit, Finding, Fix, Fixer
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

if TYPE_CHECKING:  # pragma: no cover
    from holdfast.fixing import MountFix, OverrideTarget
    from holdfast.persistence import ServiceAnalysis
    from holdfast.project import Project, Service


OVERRIDE_HEADER = (
    "# Written by `holdfast fix --to-override`: mounts that keep the data of stateful services",
    "# on persistent storage without editing the upstream compose file. Compose merges this file",
    "# over the base file automatically (`docker compose config` shows the result).",
)


class RefusingFixer(Fixer):
    """A fixer whose `_edit` raises `Refusal`; the refusal becomes a display-only fix with the reason."""

    title: ClassVar[str]

    def edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix | None:
        try:
            return self._edit(document, finding, options)
        except Refusal as exc:
            return refuse(self.title, str(exc))

    def _edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix | None:  # pragma: no cover
        raise NotImplementedError


@dataclass
class Context:
    """What a mount fixer knows about one finding."""

    document: ComposeDocument
    finding: Finding
    options: dict[str, Any]
    service_name: str
    project: Project | None = None
    service: Service | None = None
    _analysis: Any = field(default=None, repr=False)

    @classmethod
    def build(cls, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Context:
        name = finding.service
        if name is None:
            raise Refusal("the finding names no service")
        project = options.get("project")
        if project is None:
            project = _single_document_project(document)
        service = project.services.get(name) if project is not None else None
        return cls(document, finding, options, name, project, service)

    def verify(self, before: ComposeDocument, edits: Any, intent: Any) -> str | None:
        """Why applying `edits` to `before` would not be exactly `intent`, or None.

        `holdfast fix` verifies every fix (the fix engine does so again for the whole
        batch). When lint only shows what is fixable (`options["verify"]` False), the
        re-parse is skipped: it would double the parsing cost of every lint run. The fix
        engine may pass a callable instead: it records the check and verifies all the
        findings' checks together (one parse per file instead of one per finding).
        """
        check = self.options.get("verify", True)
        if not check:
            return None
        if callable(check):
            return check(before, edits, intent)
        from holdfast.fixing import apply_edits, verify_change

        after = ComposeDocument(before.path, apply_edits(before.text, edits), has_bom=before.has_bom, real_path=before.real_path)
        return verify_change(before if before.text else None, after, [intent])

    @property
    def persistence(self) -> str:
        return str(self.options.get("persistence") or "bind")

    @property
    def bind_root(self) -> str:
        return str(self.options.get("bind_root") or "./data")

    @property
    def major(self) -> int | None:
        majors = self.options.get("majors") or {}
        value = majors.get(self.service_name)
        return int(value) if value is not None else None

    def analysis(self) -> ServiceAnalysis | None:
        """The persistence analysis, with the forced major when there is one."""
        if self._analysis is None and self.service is not None:
            from holdfast.knowledge import default_knowledge
            from holdfast.persistence import analyse_service

            knowledge = self.options.get("knowledge") or default_knowledge()
            self._analysis = analyse_service(self.service, knowledge, self.project, major=self.major) or False
        return self._analysis or None

    @property
    def override(self) -> OverrideTarget | None:
        return self.options.get("override") if self.options.get("to_override") else None

    def sharing_problem(self) -> str | None:
        """Why one new data directory would be shared by several containers (a corrupt database), if it would."""
        config = self.service.config if self.service is not None else services_data(self.document).get(self.service_name) or {}
        replicas = _replicas(config)
        if replicas is not None and replicas > 1:
            return f"service {self.service_name} runs {replicas} replicas, which would share one data directory"
        for name in self.extenders():
            return f"service {name} extends {self.service_name} and would get the same data directory"
        return None

    def extenders(self) -> list[str]:
        """Services that inherit this one's mounts through `extends` (same file, or a file pointing here)."""
        import os

        out: list[str] = []
        documents = list(self.project.all_documents) if self.project is not None else [self.document]
        here = self.document.real_path
        for document in documents:
            for name, file in _extends_index(document).get(self.service_name, ()):
                if file is None:
                    same = document is self.document or document.real_path == here
                else:
                    folder = os.path.dirname(document.real_path) if document.real_path else os.getcwd()
                    same = here is not None and os.path.abspath(os.path.join(folder, str(file))) == here
                if same:
                    out.append(str(name))
        return out


def _extends_index(document: ComposeDocument) -> dict[Any, list[tuple[Any, Any]]]:
    """base service -> [(service, extends file or None)] of a document, built once (asked per finding)."""
    cached = document.__dict__.get("_holdfast_extends")
    if cached is not None and cached[0] is document.data:
        return cached[1]
    index: dict[Any, list[tuple[Any, Any]]] = {}
    for name, raw in services_data(document).items():
        extends = raw.get("extends") if isinstance(raw, dict) else None
        if isinstance(extends, str):
            base, file = extends, None
        elif isinstance(extends, dict):
            base, file = extends.get("service"), extends.get("file")
        else:
            continue
        if isinstance(base, (str, int, float, bool)) or base is None:
            index.setdefault(base, []).append((name, file))
    document.__dict__["_holdfast_extends"] = (document.data, index)
    return index


def _replicas(config: dict[str, Any]) -> int | None:
    values = [config.get("scale")]
    deploy = config.get("deploy")
    if isinstance(deploy, dict):
        values.append(deploy.get("replicas"))
    best = None
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            best = max(best or 0, value)
    return best


def _single_document_project(document: ComposeDocument) -> Project | None:
    """When the engine gives no project (plain `holdfast lint`), view the one file as the project."""
    cached = document.__dict__.get("_holdfast_fix_project")
    if cached is not None:
        return cached or None
    project = None
    if isinstance(document.data, dict):
        from holdfast.project import Project

        try:
            project = Project.load([document])
        except Exception:  # noqa: BLE001 - the fix degrades to display-only
            project = None
    document.__dict__["_holdfast_fix_project"] = project or False
    return project


def refuse(title: str, reason: str, path: str | None = None) -> MountFix:
    from holdfast.fixing import MountFix

    return MountFix(title=title, applicability=Applicability.DISPLAY_ONLY, edits=(), path=path, refused=reason)


# --------------------------------------------------------------------------- interpolation
def interpolated_origin(ctx: Context, data_paths: list[Any]) -> str | None:
    """The `${…}` a data path came from (PGDATA, --dir …), when it did: such a path is a guess."""
    raw_definitions = []
    if ctx.service is not None:
        for origin in ctx.service.definitions:
            raw = origin.document.data
            for step in origin.path:
                raw = raw.get(step) if isinstance(raw, dict) else None
            if isinstance(raw, dict):
                raw_definitions.append(raw)
    for dp in data_paths:
        origin = getattr(dp, "origin", "default")
        if origin.startswith("env "):
            name = origin[4:]
            for raw in raw_definitions:
                value = _env_value(raw.get("environment"), name)
                if value is not None and "$" in value:
                    return f"{name}={value}"
        elif origin.startswith("flag "):
            for raw in raw_definitions:
                for key in ("command", "entrypoint"):
                    value = raw.get(key)
                    text = " ".join(map(str, value)) if isinstance(value, list) else str(value or "")
                    if "$" in text:
                        return f"{key}: {text}"
    return None


def _env_value(env: Any, name: str) -> str | None:
    if isinstance(env, dict):
        value = env.get(name)
        return None if value is None else str(value)
    if isinstance(env, list):
        for item in env:
            if isinstance(item, str) and item.split("=", 1)[0] == name:
                return item.split("=", 1)[1] if "=" in item else None
    return None


# --------------------------------------------------------------------------- sources
def used_sources(ctx: Context) -> tuple["_Union", "_Union"]:
    """(bind sources, named volumes) already used or declared anywhere in the project.

    Membership tests only; each document's sets are built once (asked per finding).
    """
    binds: list[set[str]] = []
    names: list[set[str]] = []
    documents = list(ctx.project.all_documents) if ctx.project is not None else [ctx.document]
    override = ctx.override
    if override is not None and override.document.data is not None and override.document not in documents:
        documents.append(override.document)
    for document in documents:
        document_binds, document_names = _document_sources(document)
        binds.append(document_binds)
        names.append(document_names)
    return _Union(binds), _Union(names)


class _Union:
    """`in` over several sets without copying them."""

    def __init__(self, sets: list[set[str]]):
        self.sets = sets

    def __contains__(self, item: object) -> bool:
        return any(item in s for s in self.sets)


def _document_sources(document: ComposeDocument) -> tuple[set[str], set[str]]:
    cached = document.__dict__.get("_holdfast_sources")
    if cached is not None and cached[0] is document.data:
        return cached[1]
    from holdfast.mounts import parse_volume

    binds: set[str] = set()
    names: set[str] = set()
    data = document.data if isinstance(document.data, dict) else {}
    volumes = data.get("volumes") if not is_v1(document) else None
    if isinstance(volumes, dict):
        names.update(str(k) for k in volumes)
    for config in services_data(document).values():
        entries = config.get("volumes") if isinstance(config, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            mount = parse_volume(entry)
            if mount is None or mount.source is None:
                continue
            if mount.kind == "bind":
                binds.add(posixpath.normpath(mount.source))
            elif mount.kind == "volume":
                names.add(mount.source)
    document.__dict__["_holdfast_sources"] = (document.data, (binds, names))
    return binds, names


def choose_sources(ctx: Context, targets: list[str]) -> list[tuple[str, str]]:
    """(source, target) for each target, unique in the project. Named sources are volume names."""
    binds, names = used_sources(ctx)
    out: list[tuple[str, str]] = []
    taken: set[str] = set()
    service = ctx.service_name
    for target in targets:
        leaf = posixpath.basename(posixpath.normpath(target)) or "data"
        if ctx.persistence == "named":
            base = f"{service}-data" if len(targets) == 1 else f"{service}-{leaf}"
            candidate, n = base, 2
            while candidate in names or candidate in taken:
                candidate, n = f"{base}-{n}", n + 1
        else:
            root = ctx.bind_root.rstrip("/") or "/"
            if not root.startswith((".", "/", "~", "$")):
                root = "./" + root  # the spec reads a short-syntax source as a path only when it starts with . / or ~
            base = posixpath.join(root, service) if len(targets) == 1 else posixpath.join(root, service, leaf)
            candidate, n = base, 2
            while posixpath.normpath(candidate) in binds or candidate in taken:
                candidate, n = f"{base}-{n}", n + 1
        taken.add(candidate)
        out.append((candidate, target))
    return out


def entry_value(source: str, target: str, kind: str, style: Style) -> Any:
    """A `volumes:` entry in the file's syntax: `src:dst` or a long-syntax mapping."""
    if style.long_syntax:
        values = {"type": kind, "source": source, "target": target}
        return {k: values[k] for k in style.long_keys}
    return f"{source}:{target}"


# --------------------------------------------------------------------------- locating
@dataclass
class ServiceNodes:
    """The service's mapping node in a document, and its explicit `volumes` pair if any."""

    key: Node
    mapping: MappingNode
    volumes: tuple[Node, Node] | None


def is_v1(document: ComposeDocument) -> bool:
    """The legacy format with services at the top level."""
    from holdfast.project import is_legacy_v1

    return is_legacy_v1(document.data)


def services_data(document: ComposeDocument) -> dict[Any, Any]:
    """The plain `services` mapping (the whole file in the legacy v1 format)."""
    data = document.data if isinstance(document.data, dict) else {}
    if is_v1(document):
        return data
    services = data.get("services")
    return services if isinstance(services, dict) else {}


def service_path(document: ComposeDocument, service: str) -> tuple[Any, ...]:
    return (service,) if is_v1(document) else ("services", service)


def service_nodes(document: ComposeDocument, service: str) -> ServiceNodes:
    services = document.root if is_v1(document) else document.node("services")
    if not isinstance(services, MappingNode):
        raise Refusal("the file has no `services` mapping")
    pair = explicit(services, service)
    if pair is None:
        raise Refusal(f"service {service} is not written in {document.path} (it comes from a merge key)")
    key, mapping = pair
    if not isinstance(mapping, MappingNode):
        raise Refusal(f"service {service} is not a mapping")
    if is_shared(document, mapping) or not inside(mapping, services):
        raise Refusal(f"service {service} is a YAML anchor reused elsewhere; holdfast does not edit shared anchors")
    return ServiceNodes(key, mapping, explicit(mapping, "volumes"))


def inherited_volumes(document: ComposeDocument, service: str) -> list[Any] | None:
    """The `volumes` a service gets only through `<<: *anchor` (None when it has none or its own)."""
    config = services_data(document).get(service)
    value = config.get("volumes") if isinstance(config, dict) else None
    return list(value) if isinstance(value, list) else None


def add_entries(document: ComposeDocument, service: str, entries: list[Any], style: Style, quote: str) -> list[Edit]:
    """Edits that give `service` these extra `volumes:` entries, whatever shape the service has now."""
    nodes = service_nodes(document, service)
    mapping = nodes.mapping
    if nodes.volumes is not None:
        key_node, value_node = nodes.volumes
        if isinstance(value_node, SequenceNode):
            if not inside(value_node, mapping):
                return _materialise_alias(document, service, key_node, entries, style, quote)
            if is_shared(document, value_node):
                anchor = f" (&{value_node.anchor})" if getattr(value_node, "anchor", None) else ""
                raise Refusal(f"the volumes list of service {service} is an anchor{anchor} that other services reuse; holdfast does not edit shared anchors")
            return append_to_sequence(document, value_node, entries, style, quote)
        if is_null(value_node):
            return fill_empty_value(document, key_node, value_node, entries, style, quote)
        raise Refusal(f"the volumes of service {service} are not a list")
    existing = inherited_volumes(document, service) if has_merge(mapping) else None
    values = (existing or []) + entries  # YAML merge is shallow: carry inherited entries over
    if not mapping.value:
        raise Refusal(f"service {service} is empty")
    return add_key_to_mapping(document, mapping, "volumes", values, style, quote)


def _materialise_alias(document: ComposeDocument, service: str, key_node: Node, entries: list[Any], style: Style, quote: str) -> list[Edit]:
    """`volumes: *shared` -> the shared entries written out, plus the new ones (the anchor stays for others)."""
    token = alias_token(document, key_node)
    if token is None:
        raise Refusal("the volumes list comes from an anchor holdfast cannot locate")
    inherited = services_data(document)[service]["volumes"]  # the anchored list's plain value
    values = list(inherited) + entries
    nl = document.newline
    column = key_node.start_mark.column
    lines: list[str] = []
    for element in values:
        lines.extend(render_item(element, column + style.seq_offset, style, quote))
    start, end = token
    text = document.text
    if start > 0 and text[start - 1] == " ":
        start -= 1
    at = line_end(text, end)
    return [Edit(start, end, ""), Edit(at, at, "".join(nl + line for line in lines))]


def add_named_volumes(document: ComposeDocument, names: list[str], style: Style) -> list[Edit]:
    """Edits that declare top-level named volumes (creating `volumes:` if missing), in one insertion."""
    if not names:
        return []
    root = document.root
    if not isinstance(root, MappingNode):
        raise Refusal("the file is not a mapping")
    if is_v1(document):
        raise Refusal('the legacy v1 format (services at the top level) has no named volumes section; use fix.persistence = "bind"')
    pair = explicit(root, "volumes")
    nl = document.newline
    if pair is not None:
        key_node, value_node = pair
        if isinstance(value_node, MappingNode):
            if is_shared(document, value_node) or not inside(value_node, root):
                raise Refusal("the top-level volumes mapping is a shared anchor")
            if value_node.flow_style:
                return add_pairs(document, value_node, {name: {} for name in names}, style)
            if not value_node.value:
                raise Refusal("the top-level volumes mapping is empty")
            return add_pairs(document, value_node, {name: None for name in names}, style)
        if is_null(value_node):
            return fill_empty_value(document, key_node, value_node, {name: None for name in names}, style)
        raise Refusal("the top-level volumes are not a mapping")
    if root.flow_style:
        return add_key_to_mapping(document, root, "volumes", {name: {} for name in names}, style)
    # A new section goes at the very end: comments after the last service stay with it.
    lines = ["volumes:"] + render_mapping({name: None for name in names}, style.indent, style)
    text = document.text
    blank = _blank_between_top_keys(document) and not text.endswith(nl + nl) and bool(text.strip())
    if text.endswith("\n"):
        return [Edit(len(text), len(text), (nl if blank else "") + "".join(line + nl for line in lines))]
    return [Edit(len(text), len(text), (nl if blank else "") + "".join(nl + line for line in lines))]


def _blank_between_top_keys(document: ComposeDocument) -> bool:
    """Whether the author separates top-level keys with a blank line."""
    root = document.root
    if not isinstance(root, MappingNode) or len(root.value) < 2:
        return True
    lines = document.lines()
    blanks = 0
    for key_node, _ in root.value[1:]:
        before = key_node.start_mark.line - 1
        while before >= 0 and lines[before].lstrip().startswith("#"):
            before -= 1
        if before >= 0 and not lines[before].strip():
            blanks += 1
    return blanks * 2 >= len(root.value) - 1


# --------------------------------------------------------------------------- override files
def override_edits(target: OverrideTarget, service: str, entries: list[Any], named: list[str], style: Style, quote: str) -> list[Edit]:
    """Edits to the override file: create it, or add the service / its volumes minimally."""
    document = target.document
    nl = document.newline if document.text else target.base.newline
    if not document.text.strip() or document.data is None:
        if document.text.strip():
            raise Refusal(f"{target.path} does not parse; holdfast will not edit it")
        lines = list(OVERRIDE_HEADER) + ["services:"]
        lines += render_mapping({service: {"volumes": entries}}, style.indent, style, quote)
        if named:
            lines += ["", "volumes:"] + render_mapping({n: None for n in named}, style.indent, style)
        return [Edit(0, len(document.text), nl.join(lines) + nl)]
    root = document.root
    if not isinstance(root, MappingNode) or root.flow_style:
        raise Refusal(f"{target.path} is not a block mapping; holdfast will not edit it")
    edits: list[Edit] = []
    services = explicit(root, "services")
    if services is None:
        lines = ["services:"] + render_mapping({service: {"volumes": entries}}, style.indent, style, quote)
        at = content_end(document, root)
        edits.append(Edit(at, at, "".join(nl + line for line in lines)))
    else:
        key_node, mapping = services
        if is_null(mapping):
            edits.extend(fill_empty_value(document, key_node, mapping, {service: {"volumes": entries}}, style, quote))
        elif isinstance(mapping, MappingNode):
            if explicit(mapping, service) is None:
                edits.extend(add_key_to_mapping(document, mapping, service, {"volumes": entries}, style, quote))
            else:
                edits.extend(add_entries(document, service, entries, style, quote))
        else:
            raise Refusal(f"`services` in {target.path} is not a mapping")
    edits.extend(add_named_volumes(document, named, style))
    return edits


def override_style(target: OverrideTarget, service: str) -> Style:
    """Habits of the override when it has content, else of the base file."""
    if target.document.root is not None and target.document.text.strip():
        style = detect_style(target.document, service)
    else:
        style = detect_style(target.base, service)
    style.newline = target.base.newline if not target.document.text else target.document.newline
    return style

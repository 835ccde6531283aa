"""The project Compose actually runs: several files merged, includes and extends resolved.

Lint rules must judge the EFFECTIVE service: a database made persistent only in
`docker-compose.override.yml` is persistent, and a service that gets its image
through `extends:` is still a postgres. Every merged value remembers where it came
from (`Origin`), so a finding can point at the file and line where it must be fixed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from holdfast.document import ComposeDocument, DocumentError
from holdfast.interpolation import Interpolator, project_environment
from holdfast.mounts import Mount, normalise_path, parse_volume

MAX_INCLUDE_DEPTH = 10

# Keys whose list values are merged as mappings (`- KEY=value` or `KEY: value`).
_MAPPING_LISTS = {"environment", "labels", "extra_hosts", "sysctls", "annotations", "depends_on", "networks", "links"}
# Keys whose value the later file replaces outright.
_REPLACED = {"command", "entrypoint", "healthcheck.test", "image", "build.dockerfile"}


@dataclass(frozen=True)
class Origin:
    """Where a value is written: a document and the YAML path inside it."""

    document: ComposeDocument
    path: tuple[Any, ...]


@dataclass
class Service:
    """One effective service: merged configuration plus the origin of every part."""

    name: str
    config: dict[str, Any]
    definitions: list[Origin]
    origins: dict[str, Origin] = field(default_factory=dict)
    mount_origins: dict[str, Origin] = field(default_factory=dict)  # target -> origin of its `volumes:` entry
    project: "Project | None" = None

    @property
    def primary(self) -> Origin:
        """The first definition: where new keys (e.g. a missing `volumes:`) belong."""
        return self.definitions[0]

    def origin(self, key: str) -> Origin:
        """Where the effective value of a top-level key is written (the last file that set it)."""
        return self.origins.get(key, self.primary)

    def mounts(self) -> list[Mount]:
        from holdfast.mounts import service_mounts

        return service_mounts(self.config)


@dataclass
class ProjectProblem:
    """A problem assembling the project (a missing include, an extends cycle), reported as a finding."""

    origin: Origin
    message: str


@dataclass
class Project:
    name: str
    directory: str
    documents: list[ComposeDocument]  # the files given, in merge order
    env: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)
    volumes: dict[str, Any] = field(default_factory=dict)  # top-level named volumes
    extra_documents: list[ComposeDocument] = field(default_factory=list)  # reached through include/extends
    problems: list[ProjectProblem] = field(default_factory=list)
    missing_variables: set[str] = field(default_factory=set)

    @property
    def all_documents(self) -> list[ComposeDocument]:
        return self.documents + [d for d in self.extra_documents if d not in self.documents]

    @classmethod
    def load(
        cls,
        documents: list[ComposeDocument],
        *,
        directory: str | None = None,
        env: dict[str, str] | None = None,
        name: str | None = None,
        cache: dict[str, ComposeDocument] | None = None,
    ) -> "Project":
        """Merge parsed documents in order into a project (documents with parse errors are skipped)."""
        first = documents[0]
        if directory is None:
            directory = os.path.dirname(first.real_path) if first.real_path else os.getcwd()
        if env is None:
            env = project_environment(directory)
        project = cls(name or "", directory, list(documents), env)
        loader = _Loader(project, cache if cache is not None else {d.real_path: d for d in documents if d.real_path})
        for document in documents:
            loader.merge_document(document, depth=0)
        project.name = name or project_name(directory, project.env, loader.declared_name)
        for service in project.services.values():
            service.project = project
        return project


def is_legacy_v1(data: Any) -> bool:
    """The 2014-2016 format: services at the top level, no `services:`/`version:` keys."""
    if not isinstance(data, dict) or not data or "services" in data or "version" in data:
        return False
    values = [v for k, v in data.items() if not str(k).startswith("x-")]
    return bool(values) and all(isinstance(v, dict) and ("image" in v or "build" in v) for v in values)


def project_name(directory: str, env: dict[str, str], declared: str | None = None) -> str:
    """Compose's project name: COMPOSE_PROJECT_NAME, the file's `name:`, else the folder name, normalised."""
    raw = env.get("COMPOSE_PROJECT_NAME") or declared or os.path.basename(os.path.abspath(directory))
    return re.sub(r"[^-_a-z0-9]", "", raw.lower()).lstrip("-_") or "default"


class _Loader:
    def __init__(self, project: Project, cache: dict[str | None, ComposeDocument]):
        self.project = project
        self.cache = cache
        self.declared_name: str | None = None

    # ----------------------------------------------------------------- documents
    def merge_document(self, document: ComposeDocument, depth: int, env: dict[str, str] | None = None) -> None:
        if not isinstance(document.data, dict):
            return
        interp = Interpolator(env if env is not None else self.project.env)
        data = document.data
        name = data.get("name")
        if isinstance(name, str) and self.declared_name is None:
            self.declared_name = interp.text(name)
        self._includes(document, data.get("include"), depth)
        prefix: tuple[Any, ...] = ("services",)
        services = data.get("services")
        if is_legacy_v1(data):
            prefix, services = (), {k: v for k, v in data.items() if not str(k).startswith("x-")}
        if isinstance(services, dict):
            for service_name, raw in services.items():
                if not isinstance(raw, dict):
                    continue
                errors_before = len(interp.errors)
                config = interp.data(raw)
                origin = Origin(document, prefix + (service_name,))
                if len(interp.errors) > errors_before:
                    self._locate_interpolation_errors(raw, origin, interp.env)
                config, origins, mount_origins = self._resolve_extends(document, service_name, config, origin, interp, set())
                self._merge_service(str(service_name), config, origin, origins, mount_origins)
        volumes = data.get("volumes")
        if isinstance(volumes, dict):
            for key, value in volumes.items():
                self.project.volumes[str(key)] = value if isinstance(value, dict) else {}
        self.project.missing_variables |= interp.missing

    def _locate_interpolation_errors(self, raw: Any, origin: Origin, env: Any, path: tuple[Any, ...] = ()) -> None:
        """Report each value Compose would refuse to interpolate (`${VAR:?msg}` unset, bad `${`), where it is written."""
        if isinstance(raw, dict):
            for key, value in raw.items():
                self._locate_interpolation_errors(value, origin, env, path + (key,))
        elif isinstance(raw, list):
            for index, value in enumerate(raw):
                self._locate_interpolation_errors(value, origin, env, path + (index,))
        elif isinstance(raw, str) and "$" in raw:
            probe = Interpolator(env)
            probe.text(raw)
            for message in probe.errors:
                self.project.problems.append(ProjectProblem(Origin(origin.document, origin.path + path), f"{message}; Compose refuses the file"))

    def _load(self, path: str, origin: Origin, what: str) -> ComposeDocument | None:
        real = os.path.abspath(path)
        if real in self.cache:
            return self.cache[real]
        if not os.path.isfile(real):
            base = os.path.dirname(origin.document.real_path) if origin.document.real_path else os.getcwd()
            self.project.problems.append(ProjectProblem(origin, f"{what} file {os.path.relpath(real, base)} does not exist"))
            return None
        try:
            document = ComposeDocument.from_path(real, display=os.path.relpath(real))
        except DocumentError as exc:
            self.project.problems.append(ProjectProblem(origin, f"{what} file: {exc}"))
            return None
        self.cache[real] = document
        self.project.extra_documents.append(document)
        return document

    def _includes(self, document: ComposeDocument, include: Any, depth: int) -> None:
        if not isinstance(include, list):
            return
        base_dir = os.path.dirname(document.real_path) if document.real_path else self.project.directory
        for index, entry in enumerate(include):
            origin = Origin(document, ("include", index))
            paths: list[str] = []
            project_dir = None
            env_files = None
            if isinstance(entry, str):
                paths = [entry]
            elif isinstance(entry, dict):
                raw_paths = entry.get("path")
                paths = [raw_paths] if isinstance(raw_paths, str) else [p for p in raw_paths or [] if isinstance(p, str)]
                project_dir = entry.get("project_directory") if isinstance(entry.get("project_directory"), str) else None
                env_file = entry.get("env_file")
                if isinstance(env_file, str):
                    env_files = [env_file]
                elif isinstance(env_file, list):
                    env_files = [e for e in env_file if isinstance(e, str)]
            if depth >= MAX_INCLUDE_DEPTH:
                self.project.problems.append(ProjectProblem(origin, f"`include` nested deeper than {MAX_INCLUDE_DEPTH} levels"))
                return
            interp = Interpolator(self.project.env)
            resolved = [os.path.join(base_dir, interp.text(p)) for p in paths]
            if not resolved:
                continue
            inc_dir = os.path.join(base_dir, project_dir) if project_dir else os.path.dirname(resolved[0])
            inc_env = project_environment(inc_dir, [os.path.join(base_dir, f) for f in env_files] if env_files else None)
            for path in resolved:
                included = self._load(path, origin, "`include`")
                if included is not None:
                    self.merge_document(included, depth + 1, env=inc_env)

    # ------------------------------------------------------------------- extends
    def _resolve_extends(
        self,
        document: ComposeDocument,
        name: Any,
        config: dict[str, Any],
        origin: Origin,
        interp: Interpolator,
        seen: set[tuple[str | None, str]],
    ) -> tuple[dict[str, Any], dict[str, Origin], dict[str, Origin]]:
        origins = {key: Origin(origin.document, origin.path + (key,)) for key in config}
        mount_origins = _mount_origins(config, origin)
        extends = config.get("extends")
        if extends is None:
            return config, origins, mount_origins
        if isinstance(extends, str):
            base_name, base_file = extends, None
        elif isinstance(extends, dict) and isinstance(extends.get("service"), str):
            base_name, base_file = extends["service"], extends.get("file")
        else:
            return config, origins, mount_origins
        key = (document.real_path, str(name))
        if key in seen:
            self.project.problems.append(ProjectProblem(Origin(document, origin.path + ("extends",)), f"`extends` cycle through service `{name}`"))
            return config, origins, mount_origins
        seen = seen | {key}
        base_doc = document
        if isinstance(base_file, str):
            base_dir = os.path.dirname(document.real_path) if document.real_path else self.project.directory
            loaded = self._load(os.path.join(base_dir, base_file), Origin(document, origin.path + ("extends", "file")), "`extends`")
            if loaded is None:
                return config, origins, mount_origins
            base_doc = loaded
        services = base_doc.data if is_legacy_v1(base_doc.data) else base_doc.data.get("services") if isinstance(base_doc.data, dict) else None
        base_raw = services.get(base_name) if isinstance(services, dict) else None
        if not isinstance(base_raw, dict):
            where = f" in {base_doc.path}" if base_doc is not document else ""
            self.project.problems.append(
                ProjectProblem(Origin(document, origin.path + ("extends",)), f"`extends` names service `{base_name}`, which is not defined{where}")
            )
            return config, origins, mount_origins
        base_origin = Origin(base_doc, (() if is_legacy_v1(base_doc.data) else ("services",)) + (base_name,))
        base_config, base_origins, base_mounts = self._resolve_extends(base_doc, base_name, interp.data(base_raw), base_origin, interp, seen)
        local = {k: v for k, v in config.items() if k != "extends"}
        merged = merge_service_config(base_config, local)
        merged_origins = dict(base_origins)
        merged_origins.update({k: v for k, v in origins.items() if k != "extends"})
        merged_mounts = dict(base_mounts)
        merged_mounts.update(mount_origins)
        return merged, merged_origins, merged_mounts

    # -------------------------------------------------------------------- merging
    def _merge_service(self, name: str, config: dict[str, Any], origin: Origin, origins: dict[str, Origin], mount_origins: dict[str, Origin]) -> None:
        existing = self.project.services.get(name)
        if existing is None:
            self.project.services[name] = Service(name, config, [origin], dict(origins), dict(mount_origins))
            return
        existing.config = merge_service_config(existing.config, config)
        existing.definitions.append(origin)
        existing.origins.update(origins)
        existing.mount_origins.update(mount_origins)


def _mount_origins(config: dict[str, Any], origin: Origin) -> dict[str, Origin]:
    out: dict[str, Origin] = {}
    volumes = config.get("volumes")
    if isinstance(volumes, list):
        for index, entry in enumerate(volumes):
            mount = parse_volume(entry, index)
            if mount is not None:
                out[mount.target] = Origin(origin.document, origin.path + ("volumes", index))
    return out


def merge_service_config(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Compose's merge of two definitions of one service (the later file wins)."""
    result = dict(base)
    for key, value in override.items():
        if key not in result:
            result[key] = value
        else:
            result[key] = _merge_value(key, result[key], value)
    return result


def _merge_value(path: str, old: Any, new: Any) -> Any:
    if path in _REPLACED:
        return new
    leaf = path.rsplit(".", 1)[-1]
    if leaf in _MAPPING_LISTS and isinstance(old, (list, dict)) and isinstance(new, (list, dict)):
        merged = _as_mapping(old)
        merged.update(_as_mapping(new))
        return merged
    if path in ("volumes", "secrets", "configs") and isinstance(old, list) and isinstance(new, list):
        return _merge_by_target(path, old, new)
    if isinstance(old, dict) and isinstance(new, dict):
        result = dict(old)
        for key, value in new.items():
            result[key] = _merge_value(f"{path}.{key}", result[key], value) if key in result else value
        return result
    if isinstance(old, list) and isinstance(new, list):
        out = list(old)
        out.extend(item for item in new if item not in out)
        return out
    return new


def _as_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    out: dict[str, Any] = {}
    for item in value:
        if isinstance(item, str):
            key, sep, val = item.partition("=") if "=" in item else item.partition(":")
            out[key.strip()] = val if sep else None
        elif isinstance(item, dict):
            out.update(item)
    return out


def _merge_by_target(kind: str, old: list[Any], new: list[Any]) -> list[Any]:
    def key(entry: Any) -> Any:
        if kind == "volumes":
            mount = parse_volume(entry)
            return mount.target if mount else repr(entry)
        if isinstance(entry, dict):
            return entry.get("target") or entry.get("source")
        return entry

    merged: dict[Any, Any] = {}
    for entry in old + new:
        merged[key(entry)] = entry
    return list(merged.values())


def resolve_mount_source(source: str, base_dir: str) -> str:
    """Absolute host path of a bind source as Compose resolves it (relative to the project folder)."""
    if source.startswith("~"):
        return os.path.expanduser(source)
    return os.path.normpath(os.path.join(base_dir, source))


__all__ = ["Origin", "Project", "ProjectProblem", "Service", "merge_service_config", "normalise_path", "project_name", "resolve_mount_source"]

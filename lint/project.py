"""The project Compose actually runs: several files merged, includes and extends resolved.

Lint rules must judge the EFFECTIVE service: a database made persistent only in
`docker-compose.override.yml` is persistent, and a service that gets its image
through `extends:` is still a postgres. Every merged value remembers where it came
from (`Origin`), so a finding can point at the file and line where it must be fixed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from holdfast.discovery import normalise_project_name
from holdfast.document import ComposeDocument, DocumentError
from holdfast.interpolation import Interpolator, project_environment
from holdfast.merge import _RESET, _as_mapping, _service_tags, merge_service_config
from holdfast.mounts import _WINDOWS_DRIVE, Mount, normalise_path, parse_volume

MAX_INCLUDE_DEPTH = 10
MAX_EXTENDS_DEPTH = 32


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
    mount_dirs: dict[str, str] = field(default_factory=dict)  # target -> folder a relative bind source is resolved from
    env: dict[str, str] | None = None  # the variables the defining file saw (an include has its own)

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

    @property
    def profiles(self) -> tuple[str, ...]:
        value = self.config.get("profiles")
        return tuple(str(p) for p in value) if isinstance(value, list) else ()

    def inactive_profiles(self) -> tuple[str, ...]:
        """The service's profiles when none of them is active (the service does not start by default)."""
        active = set(self.project.profiles) if self.project is not None else set()
        if not self.profiles or "*" in active or active & set(self.profiles):
            return ()
        return self.profiles

    def host_source(self, mount: Mount) -> str | None:
        """The host path of a bind mount as Compose resolves it (relative to the folder of the file that wrote it)."""
        if mount.kind != "bind" or mount.source is None:
            return None
        base = self.mount_dirs.get(mount.target) or (self.project.directory if self.project else os.getcwd())
        return resolve_mount_source(mount.source, base)


class ProjectProblem:
    """A problem assembling the project (a missing include, an extends cycle), reported as a finding.

    A plain class: a dataclass definition costs about a millisecond of every cold start.
    """

    def __init__(self, origin: Origin, message: str) -> None:
        self.origin = origin
        self.message = message

    def __repr__(self) -> str:
        return f"ProjectProblem(origin={self.origin!r}, message={self.message!r})"


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
    profiles: tuple[str, ...] = ()  # the active profiles (--profile, COMPOSE_PROFILES)
    env_files: list[str] = field(default_factory=list)  # the project's env files (.env or --env-file)

    @property
    def all_documents(self) -> list[ComposeDocument]:
        return self.documents + [d for d in self.extra_documents if d not in self.documents]

    def profile_note(self, service: str | None) -> str:
        """"; runs only under profile X" for a service that Compose starts only with a profile."""
        found = self.services.get(service) if service else None
        profiles = found.inactive_profiles() if found is not None else ()
        if not profiles:
            return ""
        return f"; runs only under profile {' or '.join(profiles)}" if len(profiles) > 1 else f"; runs only under profile {profiles[0]}"

    @classmethod
    def load(
        cls,
        documents: list[ComposeDocument],
        *,
        directory: str | None = None,
        env: dict[str, str] | None = None,
        name: str | None = None,
        cache: dict[str, ComposeDocument] | None = None,
        selection: Any = None,
    ) -> "Project":
        """Merge parsed documents in order into a project (documents with parse errors are skipped).

        `selection` (a `holdfast.discovery.ProjectFiles` from `compose_selection`) carries what
        Compose's options and environment chose: the variables, -p, the profiles.
        """
        first = documents[0]
        if selection is None and env is None:
            from holdfast.discovery import remembered_selection

            guess = directory or (os.path.dirname(first.real_path) if first.real_path else os.getcwd())
            selection = remembered_selection(guess)
        if selection is not None:
            directory = directory or selection.directory
            env = env if env is not None else selection.env
            name = name or selection.name
        if directory is None:
            directory = os.path.dirname(first.real_path) if first.real_path else os.getcwd()
        env_files: list[str] = []
        if env is None:
            env_files = [p for p in [os.path.join(directory, ".env")] if os.path.isfile(p)]
            env = project_environment(directory)
        project = cls(name or "", directory, list(documents), env, env_files=list(getattr(selection, "env_files", None) or env_files))
        if selection is not None:
            project.profiles = tuple(selection.profiles)
            for message in selection.problems:
                project.problems.append(ProjectProblem(Origin(first, ()), message))
        else:
            raw = env.get("COMPOSE_PROFILES", "")
            project.profiles = tuple(p.strip() for p in raw.split(",") if p.strip())
        loader = _Loader(project, cache if cache is not None else {d.real_path: d for d in documents if d.real_path})
        project.name = name or project_name(directory, env, _declared_name(documents, env))
        # Compose interpolates with COMPOSE_PROJECT_NAME set to the project's name, however it was chosen
        env = dict(env, COMPOSE_PROJECT_NAME=project.name) if project.name else env
        for document in documents:
            loader.merge_document(document, depth=0, workdir=directory, env=env)
        loader.finish()
        if not project.name or project.name == "default" and not normalise_project_name(_declared_name(documents, env) or os.path.basename(os.path.abspath(directory))):
            project.problems.append(ProjectProblem(Origin(first, ()), "project name must not be empty (the folder name has no letter or digit); set `name:` or -p"))
        for service in project.services.values():
            service.project = project
        project._check_profile_dependencies()
        return project

    def _check_profile_dependencies(self) -> None:
        """A service that runs depending on one whose profiles are all inactive: Compose refuses the project."""
        for service in self.services.values():
            if service.inactive_profiles():
                continue
            depends = service.config.get("depends_on")
            names = depends if isinstance(depends, list) else list(depends) if isinstance(depends, dict) else []
            for name in names:
                other = self.services.get(str(name))
                entry = depends.get(name) if isinstance(depends, dict) else None
                if other is None or not other.inactive_profiles() or (isinstance(entry, dict) and entry.get("required") is False):
                    continue
                where = service.origin("depends_on")
                profiles = " or ".join(other.inactive_profiles())
                self.problems.append(
                    ProjectProblem(Origin(where.document, where.path if where.path[-1:] == ("depends_on",) else where.path + ("depends_on",)),
                                   f"service `{service.name}` depends on `{name}`, which runs only under profile {profiles}; Compose refuses the project unless that profile is active")
                )


def is_legacy_v1(data: Any) -> bool:
    """The 2014-2016 format: services at the top level, no `services:`/`version:` keys."""
    if not isinstance(data, dict) or not data or "services" in data or "version" in data:
        return False
    values = [v for k, v in data.items() if not str(k).startswith("x-")]
    return bool(values) and all(isinstance(v, dict) and ("image" in v or "build" in v) for v in values)


def _declared_name(documents: list[ComposeDocument], env: dict[str, str]) -> str | None:
    """The top-level `name:` of the given files (the last one that sets it), interpolated."""
    declared = None
    for document in documents:
        value = document.data.get("name") if isinstance(document.data, dict) else None
        if isinstance(value, str) and value:
            declared = Interpolator(env).text(value)
    return declared


def project_name(directory: str, env: dict[str, str], declared: str | None = None) -> str:
    """Compose's project name: COMPOSE_PROJECT_NAME, the file's `name:`, else the folder name, normalised."""
    raw = env.get("COMPOSE_PROJECT_NAME") or declared or os.path.basename(os.path.abspath(directory))
    return normalise_project_name(raw) or "default"


def _is_relative_path(source: str) -> bool:
    return not (source.startswith(("/", "~", "\\")) or _WINDOWS_DRIVE.match(source))


class _Loader:
    def __init__(self, project: Project, cache: dict[str | None, ComposeDocument]):
        self.project = project
        self.cache = cache
        self.declared_name: str | None = None
        self.chain: list[str] = []  # the include chain being loaded (cycle check)

    # ----------------------------------------------------------------- documents
    def merge_document(self, document: ComposeDocument, depth: int, workdir: str, env: dict[str, str]) -> None:
        """Merge one file: `workdir` is the folder its relative paths start from, `env` the variables it sees."""
        if not isinstance(document.data, dict):
            return
        interp = Interpolator(env)
        data = document.data
        imported = self._includes(document, data.get("include"), depth, workdir, env)
        prefix: tuple[Any, ...] = ("services",)
        services = data.get("services")
        if is_legacy_v1(data):
            prefix, services = (), {k: v for k, v in data.items() if not str(k).startswith("x-")}
        if isinstance(services, dict):
            for service_name, raw in services.items():
                origin = Origin(document, prefix + (service_name,))
                if str(service_name) in imported:
                    self.project.problems.append(ProjectProblem(origin, f"service `{service_name}` is also defined by the included file {imported[str(service_name)]}; Compose refuses the project (services.{service_name} conflicts with imported resource)"))
                    continue
                if not isinstance(raw, dict):
                    continue
                errors_before = len(interp.errors)
                config = interp.data(raw)
                if len(interp.errors) > errors_before:
                    self._locate_interpolation_errors(raw, origin, interp.env)
                config, dirs = self._localise(config, origin, workdir)
                config, origins, mount_origins, dirs = self._resolve_extends(document, service_name, config, origin, dirs, interp, workdir, env, ())
                self._merge_service(str(service_name), config, origin, origins, mount_origins, dirs, env, _service_tags(document, origin.path))
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

    def _localise(self, config: dict[str, Any], origin: Origin, workdir: str) -> tuple[dict[str, Any], dict[str, str]]:
        """Make the file-relative parts absolute: `env_file:` entries (checked here) and the folder of relative bind sources."""
        dirs: dict[str, str] = {}
        volumes = config.get("volumes")
        if isinstance(volumes, list):
            for entry in volumes:
                mount = parse_volume(entry)
                if mount is not None and mount.kind == "bind" and mount.source and _is_relative_path(mount.source):
                    dirs[mount.target] = workdir
        if "env_file" in config:
            entries = _env_file_entries(config["env_file"])
            if entries is None:
                self.project.problems.append(ProjectProblem(Origin(origin.document, origin.path + ("env_file",)), "`env_file` must be a path, a list of paths or of {path, required, format}"))
                entries = []
            config = dict(config)
            config["env_file"] = [dict(e, path=os.path.normpath(os.path.join(workdir, os.path.expanduser(e["path"])))) for e in entries]
            config["_env_file_origin"] = Origin(origin.document, origin.path + ("env_file",))
        return config, dirs

    def _load(self, path: str, origin: Origin, what: str) -> ComposeDocument | None:
        real = os.path.abspath(path)
        if real in self.cache:
            return self.cache[real]
        base = os.path.dirname(origin.document.real_path) if origin.document.real_path else os.getcwd()
        if not os.path.exists(real):
            self.project.problems.append(ProjectProblem(origin, f"{what} file {os.path.relpath(real, base)} does not exist"))
            return None
        from holdfast.document import MAX_FILE_BYTES
        from holdfast.fileio import UnreadableFile, read_regular_file

        try:
            raw = read_regular_file(real, MAX_FILE_BYTES)  # a FIFO or a device must not hang or fill memory
            document = ComposeDocument.from_bytes(raw, os.path.relpath(real), real_path=real)
        except (UnreadableFile, OSError, DocumentError) as exc:
            self.project.problems.append(ProjectProblem(origin, f"{what} file {os.path.relpath(real, base)}: {exc}"))
            return None
        if document.data is None or document.problems:
            first = document.problems[0] if document.problems else None
            why = f"{document.path}:{first.line}:{first.column}: {first.message}" if first else f"{document.path}: not a compose file"
            self.project.problems.append(ProjectProblem(origin, f"{what} file cannot be loaded: {why}"))
        self.cache[real] = document
        self.project.extra_documents.append(document)
        return document

    def _includes(self, document: ComposeDocument, include: Any, depth: int, workdir: str, env: dict[str, str]) -> dict[str, str]:
        """Load the included files; returns the services they define (name -> file) for the clash check."""
        imported: dict[str, str] = {}
        if include is None:
            return imported
        if not isinstance(include, list):
            self.project.problems.append(ProjectProblem(Origin(document, ("include",)), "`include` must be a list"))
            return imported
        for index, entry in enumerate(include):
            origin = Origin(document, ("include", index))
            parsed = _include_entry(entry)
            if isinstance(parsed, str):
                if not _schema_reports(document, ("include", index)):  # HF002's schema check already says it
                    self.project.problems.append(ProjectProblem(origin, f"`include` entry {index}: {parsed}; Compose refuses the file"))
                continue
            if depth >= MAX_INCLUDE_DEPTH:
                self.project.problems.append(ProjectProblem(origin, f"`include` nested deeper than {MAX_INCLUDE_DEPTH} levels"))
                return imported
            interp = Interpolator(env)
            paths, project_dir, env_files = parsed
            resolved = [os.path.normpath(os.path.join(workdir, interp.text(p))) for p in paths]
            inc_dir = os.path.normpath(os.path.join(workdir, interp.text(project_dir))) if project_dir else os.path.dirname(resolved[0])
            if env_files is None:
                env_paths = [p for p in [os.path.join(inc_dir, ".env")] if os.path.isfile(p)]
            else:
                env_paths = [os.path.normpath(os.path.join(workdir, interp.text(f))) for f in env_files]
            inc_env = dict(env)  # the including project's variables win over the included env files
            problems: list[str] = []
            from holdfast.discovery import load_env_files

            load_env_files(inc_env, env_paths, problems)
            for message in problems:
                self.project.problems.append(ProjectProblem(origin, message))
            before = set(self.project.services)
            for path in resolved:
                if path in self.chain or (document.real_path and os.path.abspath(path) == document.real_path):
                    self.project.problems.append(ProjectProblem(origin, f"`include` cycle: {os.path.basename(path)} includes itself (directly or through other files)"))
                    continue
                included = self._load(path, origin, "`include`")
                if included is not None:
                    own = included.data.get("services") if isinstance(included.data, dict) else None
                    clash = sorted(str(n) for n in own if str(n) in imported) if isinstance(own, dict) else []
                    if clash:
                        self.project.problems.append(ProjectProblem(origin, f"service `{clash[0]}` of {included.path} is also defined by the included file {imported[clash[0]]}; Compose refuses the project (services.{clash[0]} conflicts with imported resource)"))
                        continue
                    self.chain.append(path)
                    self.merge_document(included, depth + 1, inc_dir, inc_env)
                    self.chain.pop()
                    for name in set(self.project.services) - before:
                        imported.setdefault(name, included.path)
        return imported

    # ------------------------------------------------------------------- extends
    def _resolve_extends(
        self,
        document: ComposeDocument,
        name: Any,
        config: dict[str, Any],
        origin: Origin,
        dirs: dict[str, str],
        interp: Interpolator,
        workdir: str,
        env: dict[str, str],
        seen: tuple[tuple[str | None, str], ...],
    ) -> tuple[dict[str, Any], dict[str, Origin], dict[str, Origin], dict[str, str]]:
        origins = {key: Origin(origin.document, origin.path + (key,)) for key in config if not str(key).startswith("_")}
        mount_origins = _mount_origins(config, origin)
        extends = config.get("extends")
        if extends is None:
            return config, origins, mount_origins, dirs
        where = Origin(document, origin.path + ("extends",))
        if isinstance(extends, str):
            base_name, base_file = extends, None
        elif isinstance(extends, dict) and isinstance(extends.get("service"), str) and isinstance(extends.get("file"), (str, type(None))):
            base_name, base_file = extends["service"], extends.get("file")
        else:
            self.project.problems.append(ProjectProblem(where, "`extends` must be a service name or {service, file}; Compose refuses the file"))
            return config, origins, mount_origins, dirs
        key = (document.real_path, str(name))
        if key in seen:
            self.project.problems.append(ProjectProblem(where, f"`extends` cycle through service `{name}`"))
            return config, origins, mount_origins, dirs
        if len(seen) >= MAX_EXTENDS_DEPTH:
            self.project.problems.append(ProjectProblem(where, f"`extends` chain longer than {MAX_EXTENDS_DEPTH} services; not followed"))
            return config, origins, mount_origins, dirs
        seen = seen + (key,)
        base_doc, base_workdir = document, workdir
        if isinstance(base_file, str):
            loaded = self._load(os.path.join(workdir, base_file), Origin(document, origin.path + ("extends", "file")), "`extends`")
            if loaded is None:
                return config, origins, mount_origins, dirs
            base_doc = loaded
            if os.path.abspath(loaded.real_path or "") != os.path.abspath(document.real_path or ""):
                base_workdir = os.path.dirname(loaded.real_path) if loaded.real_path else workdir
        data = base_doc.data
        services = data if is_legacy_v1(data) else data.get("services") if isinstance(data, dict) else None
        base_raw = services.get(base_name) if isinstance(services, dict) else None
        if not isinstance(base_raw, dict):
            shown = f" in {base_doc.path}" if base_doc is not document else ""
            self.project.problems.append(ProjectProblem(where, f"`extends` names service `{base_name}`, which is not defined{shown}"))
            return config, origins, mount_origins, dirs
        base_origin = Origin(base_doc, (() if is_legacy_v1(data) else ("services",)) + (base_name,))
        base_config, base_dirs = self._localise(interp.data(base_raw), base_origin, base_workdir)
        base_config, base_origins, base_mounts, base_dirs = self._resolve_extends(base_doc, base_name, base_config, base_origin, base_dirs, interp, base_workdir, env, seen)
        local = {k: v for k, v in config.items() if k != "extends"}
        merged = merge_service_config(base_config, local, _service_tags(document, origin.path))
        merged_origins = dict(base_origins)
        merged_origins.update({k: v for k, v in origins.items() if k != "extends"})
        merged_mounts = dict(base_mounts)
        merged_mounts.update(mount_origins)
        merged_dirs = dict(base_dirs)
        merged_dirs.update(dirs)
        return merged, merged_origins, merged_mounts, merged_dirs

    # -------------------------------------------------------------------- merging
    def _merge_service(
        self,
        name: str,
        config: dict[str, Any],
        origin: Origin,
        origins: dict[str, Origin],
        mount_origins: dict[str, Origin],
        dirs: dict[str, str],
        env: dict[str, str],
        tags: dict[tuple[Any, ...], str],
    ) -> None:
        existing = self.project.services.get(name)
        if existing is None or tags.get(()) == _RESET:
            if tags:
                config = merge_service_config({}, config, tags)
            self.project.services[name] = Service(name, config, [origin], dict(origins), dict(mount_origins), mount_dirs=dict(dirs), env=env)
            return
        existing.config = merge_service_config(existing.config, config, tags)
        existing.definitions.append(origin)
        existing.origins.update(origins)
        existing.mount_origins.update(mount_origins)
        existing.mount_dirs.update(dirs)

    def finish(self) -> None:
        """After every file is merged: `env_file:` contents under `environment:`, as Compose resolves them."""
        for service in self.project.services.values():
            config = service.config
            origin = config.pop("_env_file_origin", None)
            entries = config.get("env_file")
            has_bare = isinstance(config.get("environment"), list) and any(isinstance(i, str) and "=" not in i for i in config["environment"])
            if not entries and not has_bare and not (isinstance(config.get("environment"), dict) and None in config["environment"].values()):
                continue
            env = service.env if service.env is not None else self.project.env
            values: dict[str, Any] = {}
            for entry in entries or []:
                if entry.get("format") not in (None, ""):
                    self._problem(origin, service, f"unsupported env_file format {entry['format']!r}; Compose refuses the project")
                    continue
                if not os.path.isfile(entry["path"]):
                    # A missing env file is not reported: it is usually a deployment secret kept out of
                    # the repository (`.env.production`), and Compose only needs it when it runs.
                    if entry.get("required", True) and os.path.exists(entry["path"]):
                        self._problem(origin, service, f"env file {entry['path']} is not a regular file")
                    continue
                from holdfast.dotenv import DotenvError, read
                from holdfast.fileio import UnreadableFile

                try:
                    values.update(read(entry["path"], env))
                except DotenvError as exc:
                    self._problem(origin, service, str(exc))
                except (OSError, UnreadableFile) as exc:
                    self._problem(origin, service, f"{entry['path']}: {exc}")
            own = config.get("environment")
            own_map = _as_mapping(own) if isinstance(own, (list, dict)) else {}
            for key, value in own_map.items():
                values[key] = env.get(key) if value is None else value
            config["environment"] = values

    def _problem(self, origin: Origin | None, service: Service, message: str) -> None:
        self.project.problems.append(ProjectProblem(origin or Origin(service.primary.document, service.primary.path + ("env_file",)), message))


def _schema_reports(document: ComposeDocument, prefix: tuple[Any, ...]) -> bool:
    from holdfast.schema import schema_errors

    return any(tuple(path[: len(prefix)]) == prefix for path, _ in schema_errors(document.data))


def _env_file_entries(value: Any) -> list[dict[str, Any]] | None:
    items = [value] if isinstance(value, (str, dict)) else value if isinstance(value, list) else None
    if items is None:
        return None
    out = []
    for item in items:
        if isinstance(item, str):
            out.append({"path": item, "required": True, "format": None})
        elif isinstance(item, dict) and isinstance(item.get("path"), str):
            required = item.get("required", True)
            out.append({"path": item["path"], "required": required is not False, "format": item.get("format")})
        else:
            return None
    return out


def _include_entry(entry: Any) -> tuple[list[str], str | None, list[str] | None] | str:
    """(paths, project_directory, env_files) of one `include:` item, or why Compose refuses it."""
    if isinstance(entry, str):
        return ([entry], None, None) if entry else "an empty path"
    if not isinstance(entry, dict):
        return f"must be a path or a mapping, not {type(entry).__name__}"
    unknown = sorted(str(k) for k in entry if k not in ("path", "project_directory", "env_file"))
    if unknown:
        return f"unknown key `{unknown[0]}`"
    raw = entry.get("path")
    paths = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else None
    if not paths or not all(isinstance(p, str) and p for p in paths):
        return "`path` must be a path or a list of paths"
    project_dir = entry.get("project_directory")
    if project_dir is not None and not isinstance(project_dir, str):
        return "`project_directory` must be a path"
    env_file = entry.get("env_file")
    env_files = [env_file] if isinstance(env_file, str) else env_file if isinstance(env_file, list) else None if env_file is None else False
    if env_files is False or (env_files is not None and not all(isinstance(e, str) for e in env_files)):
        return "`env_file` must be a path or a list of paths"
    return paths, project_dir, env_files  # type: ignore[return-value]


def _mount_origins(config: dict[str, Any], origin: Origin) -> dict[str, Origin]:
    out: dict[str, Origin] = {}
    volumes = config.get("volumes")
    if isinstance(volumes, list):
        for index, entry in enumerate(volumes):
            mount = parse_volume(entry, index)
            if mount is not None:
                out[mount.target] = Origin(origin.document, origin.path + ("volumes", index))
    return out


def resolve_mount_source(source: str, base_dir: str) -> str:
    """Absolute host path of a bind source as Compose resolves it (relative to the project folder)."""
    if source.startswith("~"):
        return os.path.expanduser(source)
    if os.path.isabs(source):
        return source  # as written: Compose does not clean an absolute source (`/var/lib/docker/` stays)
    return os.path.normpath(os.path.join(base_dir, source))


__all__ = ["Origin", "Project", "ProjectProblem", "Service", "merge_service_config", "normalise_path", "project_name", "resolve_mount_source"]

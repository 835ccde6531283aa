"""Is a stateful service's data on persistent storage? The one analysis HF1xx, fixers and apply share.

For every data path of the image (by version, env overrides and command flags)
take the mount with the longest target that is the path or a parent of it. The
path is persisted when that mount is a bind or a named volume AND no VOLUME the
image declares sits deeper (Docker mounts an anonymous volume there, on top of a
parent mount: the postgres `/var/lib/postgresql` vs `/var/lib/postgresql/data` trap).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from holdfast.mounts import Mount, covering_mount, is_within, normalise_path, service_mounts, volumes_from_services

if TYPE_CHECKING:  # pragma: no cover
    from holdfast.knowledge import DataPath, Knowledge, Layout, ResolvedImage
    from holdfast.project import Project, Service

PERSISTENT = ("bind", "named")


class PathStatus:
    """How one data path is stored.

    This and `ServiceAnalysis` are plain classes: a dataclass definition costs about
    a millisecond of every cold start, and neither is compared or printed.
    """

    __slots__ = ("data_path", "state", "mount", "shadow")

    def __init__(self, data_path: "DataPath", state: str, mount: Mount | None = None, shadow: str | None = None) -> None:
        self.data_path = data_path
        self.state = state  # bind | named | anonymous | tmpfs | image-volume | container-layer | shadowed
        self.mount = mount  # the covering mount, if any
        self.shadow = shadow  # the image VOLUME that hides a parent mount

    @property
    def persisted(self) -> bool:
        return self.state in PERSISTENT

    @property
    def deliberate(self) -> bool:
        """tmpfs at the data path: a RAM-only database on purpose (test stacks)."""
        return self.state == "tmpfs"


class ServiceAnalysis:
    """How one stateful service stores its data (see `PathStatus`)."""

    __slots__ = ("service", "image", "image_source", "layout", "statuses", "mounts", "persisted", "alternatives")

    def __init__(self, service: "Service", image: "ResolvedImage", image_source: str, layout: "Layout", statuses: list[PathStatus], mounts: list[Mount], persisted: bool, alternatives: list[tuple["Layout", list[PathStatus]]] | None = None) -> None:
        self.service = service
        self.image = image
        self.image_source = image_source  # "image" or "Dockerfile <path>"
        self.layout = layout  # the layout the statuses describe
        self.statuses = statuses
        self.mounts = mounts
        self.persisted = persisted  # some layout is fully persisted (or deliberately tmpfs)
        self.alternatives = [] if alternatives is None else alternatives

    @property
    def unpersisted(self) -> list[PathStatus]:
        return [s for s in self.statuses if not s.persisted and not s.deliberate]


def service_image(service: "Service") -> tuple[str | None, str]:
    """The image a service runs: the base of its Dockerfile's target stage when it is built and readable, else `image:`."""
    config = service.config
    image = config.get("image")
    image = image if isinstance(image, str) and image.strip() else None
    build = config.get("build")
    if build is not None:
        base = _dockerfile_base(service, build, say=image is None)
        if base is not None:
            return base
    return image, "image"


DOCKERFILE_LIMIT = 1024 * 1024
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/)", re.IGNORECASE)


def note(service: "Service", text: str, say: bool = True) -> None:
    """Tell the user something once per project (the engine reports it as a warning)."""
    if not say:
        return
    notes = service.project.__dict__.setdefault("notices", []) if service.project is not None else []
    if text not in notes:
        notes.append(text)


def _build_args(service: "Service", args: Any) -> dict[str, str]:
    env = getattr(service.project, "env", None) or {}
    if isinstance(args, dict):
        return {str(k): str(v) for k, v in args.items() if v is not None}
    out: dict[str, str] = {}
    if isinstance(args, list):
        for item in args:
            if isinstance(item, str):
                key, eq, value = item.partition("=")
                if eq:
                    out[key] = value
                elif key in env:  # `- NAME` takes the value from the environment
                    out[key] = str(env[key])
    return out


def _dockerfile_base(service: "Service", build: Any, say: bool = True) -> tuple[str, str] | None:
    """(base image, where it was read) for a built service, or None: said once when it cannot be
    read and ``say`` (the service has no `image:` to fall back on)."""
    if isinstance(build, str):
        build = {"context": build}
    if not isinstance(build, dict):
        return None
    context = build.get("context", ".")
    context = context if isinstance(context, str) and context.strip() else "."
    target = build.get("target") if isinstance(build.get("target"), str) else None
    args = _build_args(service, build.get("args"))
    inline = build.get("dockerfile_inline")
    if isinstance(inline, str):
        text, where = inline, "dockerfile_inline"
    else:
        if _REMOTE.match(context):
            note(service, f"service {service.name}: the build context {context} is remote; its base image is not checked", say)
            return None
        origin = service.origin("build")
        base_dir = os.path.dirname(origin.document.real_path) if origin.document.real_path else os.getcwd()
        dockerfile = build.get("dockerfile") if isinstance(build.get("dockerfile"), str) else "Dockerfile"
        path = os.path.join(base_dir, context, dockerfile)
        if not os.path.lexists(path):  # the common case in a checkout without the Dockerfile: no file reader needed
            note(service, f"service {service.name}: {os.path.relpath(path)}: cannot read: No such file or directory; its base image is not checked", say)
            return None
        from holdfast.fileio import UnreadableFile, read_regular_file

        try:
            text = read_regular_file(path, DOCKERFILE_LIMIT).decode("utf-8", "replace")
        except UnreadableFile as exc:
            note(service, f"service {service.name}: {os.path.relpath(path)}: {exc.strerror or exc}; its base image is not checked", say)
            return None
        where = os.path.relpath(path)
    from holdfast.dockerfile import base_image  # only once there is a Dockerfile to read

    found = base_image(text, args, target)
    if found.problem is not None:
        note(service, f"service {service.name}: {where}: {found.problem}; its base image is not checked", say)
    if found.image is None:
        return None
    stage = f" (stage {found.stage})" if found.stage else ""
    return found.image, f"Dockerfile {where}{stage}"


def final_from(dockerfile: str, build_args: dict[str, str]) -> str | None:
    """The base image of the last stage (kept for callers of the first version)."""
    from holdfast.dockerfile import base_image

    return base_image(dockerfile, build_args).image


def effective_mounts(service: "Service", project: "Project | None" = None, depth: int = 0) -> list[Mount]:
    """The service's mounts plus those it gets through `volumes_from` (services only; bounded depth)."""
    mounts = service_mounts(service.config)
    if project is None or depth > 5:
        return mounts
    own_targets = {m.target for m in mounts}
    for name in volumes_from_services(service.config):
        other = project.services.get(name)
        if other is None:
            continue
        for mount in effective_mounts(other, project, depth + 1):
            if mount.target not in own_targets:
                mounts.append(Mount(mount.kind, mount.target, mount.source, mount.read_only, None, f"volumes_from:{name}"))
    return mounts


def command_of(config: dict[str, Any], key: str) -> list[str]:
    value = config.get(key)
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        from holdfast.image_commands import _split_command

        return _split_command(value) or []
    return []


def environment_of(config: dict[str, Any]) -> dict[str, str]:
    env = config.get("environment")
    out: dict[str, str] = {}
    if isinstance(env, dict):
        out = {str(k): "" if v is None else str(v) for k, v in env.items()}
    elif isinstance(env, list):
        for item in env:
            if isinstance(item, str):
                key, _, value = item.partition("=")
                out[key] = value
    return out


def path_status(data_path: "DataPath", mounts: list[Mount], image_volumes: tuple[str, ...]) -> PathStatus:
    path = normalise_path(data_path.path)
    mount = covering_mount(mounts, path)
    deeper = [normalise_path(v) for v in image_volumes if is_within(path, v) and (mount is None or len(normalise_path(v)) > len(mount.target))]
    if mount is None:
        return PathStatus(data_path, "image-volume" if deeper else "container-layer")
    if mount.kind in ("bind", "volume") and deeper:
        return PathStatus(data_path, "shadowed", mount, shadow=max(deeper, key=len))
    state = {"bind": "bind", "volume": "named", "anonymous": "anonymous", "tmpfs": "tmpfs"}.get(mount.kind, "bind")
    return PathStatus(data_path, state, mount)


def analyse_service(service: "Service", knowledge: "Knowledge", project: "Project | None" = None, major: int | None = None) -> ServiceAnalysis | None:
    """None when the service is not a known stateful image.

    Remembered per (service, knowledge, major) on the project that owns the service:
    the rules and the fixers of one lint run ask for the same services.
    """
    owner = project or service.project
    memo = owner.__dict__.setdefault("_holdfast_service_analysis", {}) if owner is not None else None
    key = (id(service), id(knowledge), major)
    if memo is not None and key in memo and memo[key][0] is service and memo[key][1] is knowledge:
        return memo[key][2]
    analysis = _analyse_service(service, knowledge, project, major)
    if memo is not None:
        memo[key] = (service, knowledge, analysis)  # holding both keeps their ids from being reused
    return analysis


def _analyse_service(service: "Service", knowledge: "Knowledge", project: "Project | None", major: int | None) -> ServiceAnalysis | None:
    image, source = service_image(service)
    if not image:
        return None
    config = service.config
    resolved = knowledge.resolve(
        image,
        env=environment_of(config),
        command=command_of(config, "command"),
        entrypoint=command_of(config, "entrypoint"),
        major=major,
    )
    if resolved is None or not resolved.layouts:
        return None
    mounts = effective_mounts(service, project or service.project)
    candidates: list[tuple[Any, list[PathStatus]]] = []
    for layout in resolved.layouts:
        statuses = [path_status(dp, mounts, layout.image_volumes) for dp in layout.data_paths if dp.role == "data"]
        candidates.append((layout, statuses))
    covered = [c for c in candidates if all(s.persisted or s.deliberate for s in c[1])]
    if covered:
        layout, statuses = covered[0]
        persisted = True
    else:
        layout, statuses = max(candidates, key=lambda c: sum(1 for s in c[1] if s.mount is not None and s.mount.persistent))
        persisted = False
    return ServiceAnalysis(service, resolved, source, layout, statuses, mounts, persisted, candidates)


def describe_storage(status: PathStatus) -> str:
    """Where the data ends up, in words, for messages."""
    return {
        "image-volume": "an anonymous volume created by the image's VOLUME, lost on `docker compose down` + `up` or `rm`",
        "container-layer": "the container's writable layer, lost whenever the container is recreated",
        "anonymous": "an anonymous volume, lost on `docker compose rm`, `down -v` or `volume prune`",
        "shadowed": f"an anonymous volume the image puts at {status.shadow}, on top of the mount",
    }.get(status.state, status.state)


class NearMiss:
    """A persistent mount that was meant for the data but does not hold it (HF105).

    A plain class (a dataclass definition costs about a millisecond of cold start).
    """

    __slots__ = ("status", "mount", "reason")

    def __init__(self, status: PathStatus, mount: Mount, reason: str) -> None:
        self.status = status
        self.mount = mount
        self.reason = reason


def near_misses(analysis: ServiceAnalysis, knowledge: "Knowledge") -> list[NearMiss]:
    """Mounts aimed at the data that miss it: shadowed parents, another version's path, the default path
    while env or flags moved the data, or a folder inside the data path."""
    out: list[NearMiss] = []
    persistent = [m for m in analysis.mounts if m.persistent]
    if not persistent:
        return out
    generic = knowledge.resolve(analysis.image.ref.repository if analysis.image.ref.registry is None else analysis.image.ref.raw.split("@")[0].rsplit(":", 1)[0])
    known_paths: set[str] = set()
    for resolved in filter(None, [generic, analysis.image]):
        for layout in resolved.layouts:
            for dp in layout.data_paths:
                known_paths.update({normalise_path(dp.path), normalise_path(dp.mount_target)})
    for status in analysis.statuses:
        if status.persisted or status.deliberate or status.state == "anonymous":
            continue
        path = normalise_path(status.data_path.path)
        if status.state == "shadowed" and status.mount is not None:
            out.append(NearMiss(status, status.mount, f"the image declares VOLUME {status.shadow}, which puts an anonymous volume over the mount at {status.mount.target}"))
            continue
        for mount in persistent:
            if is_within(mount.target, path) and mount.target != path:
                out.append(NearMiss(status, mount, f"the mount at {mount.target} is inside the data directory {path}, not at it"))
                break
            if any(is_within(mount.target, known) or is_within(known, mount.target) for known in known_paths):
                why = f"the data is in {path}"
                if status.data_path.origin != "default":
                    why += f" ({status.data_path.origin})"
                out.append(NearMiss(status, mount, f"the mount at {mount.target} does not hold {analysis.image.title}'s data: {why}"))
                break
    return out


def project_analyses(project: "Project", knowledge: "Knowledge", category: str = "data-store") -> list[ServiceAnalysis]:
    """Analyses of every service whose image is known, of one knowledge ``category``
    (``data-store`` for HF101-HF105, ``application`` for HF106), computed once per project."""
    cache = project.__dict__.setdefault("_holdfast_analyses", {})
    key = id(knowledge)
    if key not in cache:
        found = []
        for service in project.services.values():
            analysis = analyse_service(service, knowledge, project)
            if analysis is not None:
                found.append(analysis)
        cache[key] = found
    return [a for a in cache[key] if a.image.category == category]

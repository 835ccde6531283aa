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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from holdfast.mounts import Mount, covering_mount, is_within, normalise_path, service_mounts, volumes_from_services

if TYPE_CHECKING:  # pragma: no cover
    from holdfast.knowledge import DataPath, Knowledge, Layout, ResolvedImage
    from holdfast.project import Project, Service

PERSISTENT = ("bind", "named")


@dataclass
class PathStatus:
    """How one data path is stored."""

    data_path: "DataPath"
    state: str  # bind | named | anonymous | tmpfs | image-volume | container-layer | shadowed
    mount: Mount | None = None  # the covering mount, if any
    shadow: str | None = None  # the image VOLUME that hides a parent mount

    @property
    def persisted(self) -> bool:
        return self.state in PERSISTENT

    @property
    def deliberate(self) -> bool:
        """tmpfs at the data path: a RAM-only database on purpose (test stacks)."""
        return self.state == "tmpfs"


@dataclass
class ServiceAnalysis:
    service: "Service"
    image: "ResolvedImage"
    image_source: str  # "image" or "Dockerfile <path>"
    layout: "Layout"  # the layout the statuses describe
    statuses: list[PathStatus]
    mounts: list[Mount]
    persisted: bool  # some layout is fully persisted (or deliberately tmpfs)
    alternatives: list[tuple["Layout", list[PathStatus]]] = field(default_factory=list)

    @property
    def unpersisted(self) -> list[PathStatus]:
        return [s for s in self.statuses if not s.persisted and not s.deliberate]


def service_image(service: "Service") -> tuple[str | None, str]:
    """The image a service runs: the final FROM of its Dockerfile when it is built and readable, else `image:`."""
    config = service.config
    build = config.get("build")
    if build is not None:
        base = _dockerfile_base(service, build)
        if base is not None:
            return base
    image = config.get("image")
    return (image if isinstance(image, str) and image.strip() else None), "image"


def _dockerfile_base(service: "Service", build: Any) -> tuple[str, str] | None:
    origin = service.origin("build")
    base_dir = os.path.dirname(origin.document.real_path) if origin.document.real_path else os.getcwd()
    if isinstance(build, str):
        context, dockerfile, args = build, "Dockerfile", {}
    elif isinstance(build, dict):
        context = build.get("context", ".") if isinstance(build.get("context", "."), str) else "."
        dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build.get("dockerfile", "Dockerfile"), str) else "Dockerfile"
        args = build.get("args") or {}
        if isinstance(args, list):
            args = dict(a.split("=", 1) if "=" in a else (a, "") for a in args if isinstance(a, str))
    else:
        return None
    if "://" in context or context.startswith("git@"):
        return None
    path = os.path.join(base_dir, context, dockerfile)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(512 * 1024)
    except (OSError, UnicodeDecodeError):
        return None
    image = final_from(text, {str(k): str(v) for k, v in args.items() if v is not None})
    if image is None:
        return None
    return image, f"Dockerfile {os.path.relpath(path)}"


def final_from(dockerfile: str, build_args: dict[str, str]) -> str | None:
    """The image of the last FROM, with ARG defaults and build args substituted; stages are followed."""
    args: dict[str, str] = {}
    stages: dict[str, str] = {}
    image: str | None = None
    text = re.sub(r"\\\r?\n", " ", dockerfile)
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "ARG" and image is None:
            name, _, default = rest.strip().partition("=")
            args[name.strip()] = build_args.get(name.strip(), default.strip().strip("\"'"))
        elif word == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            if not parts:
                continue
            ref = re.sub(r"\$\{?(\w+)(?::?-([^}]*))?\}?", lambda m: args.get(m.group(1)) or m.group(2) or "", parts[0])
            ref = stages.get(ref.lower(), ref)
            if len(parts) >= 3 and parts[1].upper() == "AS":
                stages[parts[2].lower()] = ref
            image = ref
    return image


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
    """None when the service is not a known stateful image."""
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


@dataclass
class NearMiss:
    """A persistent mount that was meant for the data but does not hold it (HF105)."""

    status: PathStatus
    mount: Mount
    reason: str


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

"""From findings and a live host to a Plan.

Lint says which services keep data inside their container (HF101/HF102/HF105);
the engine says which containers run them, what image and major version they
really run, where the data sits now and how big it is; the fix engine says what
the patched compose file will look like. The plan joins the three and checks
the result by re-parsing the patched file with the same analysis lint uses:
every moved path must land on a bind mount, at the target the RUNNING version
needs (postgres 18 keeps its data under /var/lib/postgresql/18/docker).

Nothing here changes the host or a file.
"""

from __future__ import annotations

import base64
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from holdfast import __version__
from holdfast.apply.errors import PlanInvalid, Refused
from holdfast.apply.host import ContainerFacts, MountFact
from holdfast.apply.plan import (
    PLAN_CODES,
    ComposeFile,
    ContainerRef,
    EngineRef,
    FileChange,
    OtherContainer,
    PathMove,
    Plan,
    ProjectRef,
    ServicePlan,
    build_steps,
    sha256_bytes,
    sha256_file,
    slug,
)
from holdfast.mounts import is_within, normalise_path

# Rough throughputs for the downtime estimate (bytes/second), measured on a small VM.
ARCHIVE_RATE = 150e6
RESTORE_RATE = 150e6
FIXED_DOWNTIME = 15.0  # compose up + readiness + verification, seconds
LIVE_CODE = "HF501"  # live data not persisted (the host rule): the file is fixed, the container is not


@dataclass
class PlanOutcome:
    """What planning one project produced: a plan (or None when there is nothing to do) and notes for the user."""

    plan: Plan | None
    notes: list[str] = field(default_factory=list)


def major_from_env(env: dict[str, str], names: tuple[str, ...] | list[str]) -> int | None:
    """The major version the container really runs, from its environment (PG_MAJOR=15, REDIS_VERSION=7.0.15)."""
    for name in names:
        value = (env.get(name) or "").strip()
        head, sep, rest = value.partition(":")  # Debian epoch
        if sep and head.isdigit():
            value = rest
        digits = ""
        for ch in value.lstrip("vV"):
            if not ch.isdigit():
                break
            digits += ch
        if digits and len(digits) <= 4:
            return int(digits)
    return None


def pinned_ref(image_ref: str, major: int | None) -> str | None:
    """The tag that pins a floating reference to the major the container runs: `postgres:alpine` + 15 -> `postgres:15-alpine`."""
    if major is None or "@" in image_ref:
        return None
    from holdfast.apply.host import split_ref

    repository, tag = split_ref(image_ref)
    if tag in (None, "", "latest"):
        return f"{repository}:{major}"
    if any(ch.isdigit() for ch in tag) or "$" in tag:
        return None
    return f"{repository}:{major}-{tag}"


def storage_of(mount: MountFact | None) -> str:
    if mount is None:
        return "container-layer"
    if mount.type == "volume":
        return "anonymous-volume" if mount.anonymous else "volume"
    if mount.type == "bind":
        return "bind"
    return "other"


def data_size(engine: Any, facts: ContainerFacts, path: str) -> int | None:
    """Bytes under `path`: `du` inside a running container, else the volume's size, else the writable layer's."""
    if facts.running:
        from holdfast.apply.probes import planned_size

        size = planned_size(engine, facts.id, path)  # the larger of apparent and allocated size
        if size is not None:
            return size
    mount = facts.covering_mount(path)
    if mount is not None and mount.type == "volume":
        return engine.volume_size(mount.name)
    if mount is None:
        return engine.container_rw_size(facts.id)
    return None


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Planner:
    """Plans one project at a time; `fixer` and `knowledge` are injectable for tests."""

    def __init__(
        self,
        engine: Any,
        config: Any,
        *,
        linter: Any = None,
        fixer: Callable[..., list[Any]] | None = None,
        knowledge: Any = None,
        compose_cli: str | None = None,
        compose: str | None = None,
    ):
        """`compose` ("v1"/"v2") names the Compose flavour to recreate with; by default the one
        that created the project (its containers' labels), else $HOLDFAST_COMPOSE, else v2 then v1.
        `compose_cli` fixes the recorded CLI outright (tests without any Compose installed)."""
        from holdfast.engine import Linter

        self.engine = engine
        self.config = config
        self.linter = linter or Linter(config, with_fixes=False)
        self.knowledge = knowledge or self.linter.knowledge
        self.fixer = fixer
        self.compose_cli = compose_cli
        self.compose = compose

    def _fix(self, *args: Any, **kwargs: Any) -> list[Any]:
        if self.fixer is None:
            from holdfast.fixing import fix_project

            self.fixer = fix_project
        return self.fixer(*args, **kwargs)

    # ------------------------------------------------------------------ main
    def plan(self, files: Any, *, project_name: str | None = None, to_override: bool = False, services: set[str] | None = None) -> PlanOutcome:
        from holdfast.document import ComposeDocument
        from holdfast.project import Project

        notes: list[str] = []
        paths = [os.path.abspath(p) for p in files.files if p != "-"]
        if not paths:
            raise Refused("`plan` needs compose files on disk (standard input cannot be patched)")
        directory = os.path.abspath(files.directory) if getattr(files, "directory", None) else os.path.dirname(paths[0])
        from holdfast.apply.image_facts import extend_planner  # images the knowledge lacks: their VOLUMEs from the engine

        notes.extend(extend_planner(self, paths, directory))
        result = self.linter.lint_files(files, project_dir=directory)
        _refuse_unparsed(result.documents.values())
        codes_by_service: dict[str, list[str]] = {}
        for finding in result.findings:
            if finding.plan and finding.code in PLAN_CODES and finding.service and (services is None or finding.service in services):
                codes = codes_by_service.setdefault(finding.service, [])
                if finding.code not in codes:
                    codes.append(finding.code)
        documents = [ComposeDocument.from_path(p) for p in paths]
        project = Project.load(documents, directory=directory)
        name, containers = self._containers(project_name or project.name, directory, notes)
        # the file may already be fixed while the container still holds the data (the Compose v1 trap, or
        # `holdfast fix` without `--apply`): the next `rm` + `up` would start an EMPTY database in the bind
        unmigrated, gaps = self._unmigrated(project, containers, set(codes_by_service))
        for service_name in unmigrated:
            if services is None or service_name in services:
                codes_by_service[service_name] = [LIVE_CODE]
                notes.append(f"service {service_name}: the compose file already mounts its data, but the running container still keeps it inside; planning the move")
        notes.extend(gaps)
        if not codes_by_service:
            return PlanOutcome(None, notes or [f"{', '.join(files.files)}: no service keeps its data inside the container; nothing to rescue"])
        if not containers:
            return PlanOutcome(None, notes + [f"project {name!r}: no containers on {self.engine.endpoint.url}; `holdfast fix` is enough (nothing live to rescue)"])
        self._check_files(containers, paths, name)

        chosen: dict[str, tuple[ContainerFacts, Any, int | None]] = {}
        for service_name in codes_by_service:
            mine = [c for c in containers if c.service == service_name and not c.oneoff]
            if not mine:
                notes.append(f"service {service_name}: no container; `holdfast fix` is enough for it")
                continue
            if len(mine) > 1:
                raise Refused(f"service {service_name} has {len(mine)} containers (replicas); holdfast moves one container's data into one bind mount and will not guess which replica is right")
            facts = mine[0]
            if project.services.get(service_name) is None:
                continue
            resolved, major = self._resolve(facts)
            if resolved is None or not resolved.layouts:
                notes.append(f"service {service_name}: the image {facts.image_ref} is not in the knowledge base; skipped")
                continue
            chosen[service_name] = (facts, resolved, major)
        if not chosen:
            return PlanOutcome(None, notes)

        changes = self._changes(paths, directory, chosen, to_override)
        new_project = self._patched_project(paths, directory, changes)
        planned: list[ServicePlan] = []
        warnings: list[str] = []
        for service_name, (facts, resolved, major) in chosen.items():
            service_plan = self._service_plan(service_name, codes_by_service[service_name], facts, resolved, major, new_project, warnings)
            if service_plan is not None:
                planned.append(service_plan)
        if not planned:
            return PlanOutcome(None, notes + warnings)
        planned_ids = {s.container.id for s in planned}
        others = [OtherContainer(c.id, c.name, c.service, c.status, c.oneoff) for c in containers if c.id not in planned_ids]
        for other in others:
            if other.oneoff and other.state == "running":
                warnings.append(f"one-off container {other.name} is running; it is stopped with the project and started again afterwards")
        compose_cli = self._compose_cli(name, containers, warnings)
        version = self.engine.version()
        total = sum(s.size_bytes for s in planned)
        estimate = {"data_bytes": total, "downtime_seconds": round(FIXED_DOWNTIME + 5 * len(planned) + total / ARCHIVE_RATE + total / RESTORE_RATE, 1)}
        plan = Plan(
            created_at=_now(),
            holdfast_version=__version__,
            project=ProjectRef(name, directory, [ComposeFile(p, sha256_file(p) or "") for p in paths], _env_file(containers)),
            engine=EngineRef(self.engine.endpoint.url, self.engine.endpoint.source, version.get("version", "?"), version.get("api_version", "?")),
            compose_cli=compose_cli,
            services=planned,
            others=others,
            changes=[self._change(c) for c in changes],
            steps=build_steps(planned, others),
            warnings=warnings,
            estimate=estimate,
        )
        return PlanOutcome(plan, notes)

    # --------------------------------------------------------------- helpers
    def _compose_cli(self, name: str, containers: list[ContainerFacts], warnings: list[str]) -> str | None:
        """The Compose CLI the recreate must use: the flavour that created the project, unless another is asked for.

        Recreating a v1 project with v2 renames its containers (`p_db_1` -> `p-db-1`) and v2 does
        not see v1's containers as its own; so a flavour that is not installed is a refusal, never
        a silent switch."""
        if self.compose_cli is not None and self.compose is None:
            return self.compose_cli
        from holdfast.apply.compose import NAMES, detect_cli, project_flavour

        created, notes = project_flavour([c for c in containers if not c.oneoff])
        warnings.extend(notes)
        asked = self.compose or os.environ.get("HOLDFAST_COMPOSE") or None
        wanted = asked or created
        if asked and created and asked != created:
            warnings.append(
                f"project {name!r} was created by Compose {created}; it is recreated with Compose {asked} as asked, "
                f"so its containers get {asked}'s names ({_example_name(name, asked)})"
            )
        env = dict(os.environ)
        env.update(self.engine.endpoint.compose_env())
        cli = detect_cli(env, prefer=wanted)
        if cli is None and wanted is not None:
            why = "as asked" if asked else "it created the project's containers (their labels say so)"
            other = "v2" if wanted == "v1" else "v1"
            raise Refused(
                f"project {name!r} needs {NAMES[wanted]} ({why}), which does not run on this machine; "
                f"install it, or pass --compose {other} to recreate the project with Compose {other} (its containers are renamed)"
            )
        return cli.display if cli is not None else None

    def _resolve(self, facts: ContainerFacts) -> tuple[Any, int | None]:
        """The image as the container really runs it: its environment, command, and the major from PG_MAJOR & co."""
        probe = self.knowledge.resolve(facts.image_ref, env=facts.env, command=facts.cmd, entrypoint=facts.entrypoint)
        if probe is None:
            return None, None
        major = major_from_env(facts.env, tuple(getattr(probe, "version_env", ()) or ())) or probe.major
        return self.knowledge.resolve(facts.image_ref, env=facts.env, command=facts.cmd, entrypoint=facts.entrypoint, major=major), major

    def _unmigrated(self, project: Any, containers: list[ContainerFacts], known: set[str]) -> tuple[list[str], list[str]]:
        """Services lint did not flag whose container still keeps the data inside.

        Returns (services whose file binds the data while the container keeps it in an anonymous volume
        or its layer: plan the move), (notes for services whose file does not persist the data for the
        major the container RUNS, which lint could not know behind a floating tag)."""
        from holdfast.persistence import analyse_service

        moves: list[str] = []
        gaps: list[str] = []
        for facts in containers:
            service = project.services.get(facts.service)
            if facts.oneoff or facts.service in known or facts.service in moves or service is None:
                continue
            resolved, major = self._resolve(facts)
            if resolved is None or not resolved.layouts or resolved.stateful != "yes" or resolved.ephemeral:
                continue
            analysis = analyse_service(service, self.knowledge, project, major=major)
            if analysis is None:
                continue
            inside = [s for s in analysis.statuses if storage_of(facts.covering_mount(s.data_path.path)) in ("anonymous-volume", "container-layer")]
            if not inside:
                continue
            if analysis.persisted:
                if any(s.mount is not None and s.mount.kind == "bind" for s in inside):
                    moves.append(facts.service)
            elif getattr(resolved, "floating", False) and not any(s.deliberate for s in analysis.statuses):
                version = f" {major}" if major is not None else ""
                gaps.append(
                    f"service {facts.service}: its container runs {resolved.title}{version}, which keeps {inside[0].data_path.path} inside the container with "
                    f"this compose file, but lint cannot tell behind the floating tag `{facts.image_ref}`; pin the tag to{version or ' the running version'} "
                    "(HF104) and plan again"
                )
        return moves, gaps

    def _containers(self, name: str, directory: str, notes: list[str]) -> tuple[str, list[ContainerFacts]]:
        """The project's containers by label; if none, a project started from this folder under another name."""
        containers = self.engine.project_containers(name)
        if containers:
            return name, containers
        real = os.path.realpath(directory)
        others: dict[str, list[ContainerFacts]] = {}
        for facts in self.engine.all_compose_containers():
            if facts.working_dir and os.path.realpath(facts.working_dir) == real:
                others.setdefault(facts.project, []).append(facts)
        if len(others) == 1:
            found, containers = next(iter(others.items()))
            notes.append(f"the containers of {directory} belong to project {found!r} (not {name!r}); planning for {found!r}")
            return found, containers
        if len(others) > 1:
            raise Refused(f"several Compose projects were started from {directory} ({', '.join(sorted(others))}); pass --project-name")
        return name, []

    @staticmethod
    def _check_files(containers: list[ContainerFacts], paths: list[str], name: str) -> None:
        for facts in containers:
            if facts.oneoff or not facts.config_files:
                continue
            labelled = {os.path.realpath(p) for p in facts.config_files}
            given = {os.path.realpath(p) for p in paths}
            if labelled != given:
                raise Refused(
                    f"project {name!r} was started with {', '.join(sorted(facts.config_files))} but the plan is for {', '.join(paths)}; "
                    "plan with the same compose files (`holdfast plan -f ... -f ...`)"
                )

    def _changes(self, paths: list[str], directory: str, chosen: dict[str, tuple[ContainerFacts, Any, int | None]], to_override: bool) -> list[Any]:
        options: dict[str, Any] = {
            "majors": {name: major for name, (_f, _r, major) in chosen.items() if major is not None},
            "bind_root": self.config.fix_bind_root,
            "persistence": "bind",
            "config": self.config,
            "project_dir": directory,
            # asked of the fix engine; the plan verifies both on the patched file either way
            "pins": {name: pin for name, (facts, resolved, major) in chosen.items() if getattr(resolved, "floating", False) and (pin := pinned_ref(facts.image_ref, major))},
            "hostnames": {name: facts.hostname for name, (facts, resolved, _m) in chosen.items() if getattr(resolved, "pin_hostname", False)},
        }
        codes = set(PLAN_CODES) | {"HF104"}
        changes = self._fix(paths, services=set(chosen), codes=codes, unsafe=True, to_override=to_override, options=options)
        return [c for c in changes if getattr(c, "changed", True)]

    @staticmethod
    def _patched_project(paths: list[str], directory: str, changes: list[Any]) -> Any:
        from holdfast.document import ComposeDocument
        from holdfast.project import Project

        by_path = {os.path.abspath(c.real_path or c.path): c for c in changes}
        documents = []
        for path in paths:
            change = by_path.pop(path, None)
            documents.append(ComposeDocument.from_bytes(change.new_bytes, path, real_path=path) if change else ComposeDocument.from_path(path))
        nested = []  # files reached through include / extends that the fix edited: loaded through them, as Compose does
        for path, change in by_path.items():
            document = ComposeDocument.from_bytes(change.new_bytes, os.path.relpath(path), real_path=path)
            (documents if change.created else nested).append(document)  # a created file is an override
        broken = [d.path for d in documents + nested if not isinstance(d.data, dict)]
        if broken:
            raise Refused(f"the patched file {broken[0]} does not parse; nothing was planned")
        cache = {os.path.abspath(d.real_path): d for d in documents + nested if d.real_path}
        return Project.load(documents, directory=directory, cache=cache)

    @staticmethod
    def _change(change: Any) -> FileChange:
        path = os.path.abspath(change.real_path or change.path)
        return FileChange(
            path=path,
            created=bool(change.created),
            sha256_before=None if change.created else sha256_bytes(change.original_bytes),
            sha256_after=sha256_bytes(change.new_bytes),
            content_b64=base64.b64encode(change.new_bytes).decode("ascii"),
        )

    def _service_plan(self, name: str, codes: list[str], facts: ContainerFacts, resolved: Any, major: int | None, new_project: Any, warnings: list[str]) -> ServicePlan | None:
        from holdfast.persistence import path_status, service_image
        from holdfast.project import resolve_mount_source

        service = new_project.services.get(name)
        if service is None:
            raise Refused(f"service {name} is missing from the patched project")
        layout = resolved.layouts[0]
        mounts = service.mounts()
        moves: dict[str, PathMove] = {}
        primary = next((dp for dp in layout.data_paths if dp.role == "data"), layout.data_paths[0])
        for dp in layout.data_paths:
            status = path_status(dp, mounts, layout.image_volumes)
            if not status.persisted or status.mount is None or status.mount.kind != "bind":
                if dp.role == "data":
                    raise Refused(
                        f"service {name}: the fix does not put {dp.path} on a bind mount ({status.state}); "
                        "apply moves data into bind mounts only (see `holdfast fix --diff`)"
                    )
                current = facts.covering_mount(dp.path)
                if storage_of(current) in ("anonymous-volume", "container-layer"):
                    warnings.append(f"service {name}: {dp.path} ({dp.role}) stays unpersisted; the new container starts without its old content (kept in the archive and in the old volume)")
                continue
            target = normalise_path(status.mount.target)
            source = service.host_source(status.mount) or resolve_mount_source(str(status.mount.source), new_project.directory)  # from the file that wrote it
            current = facts.covering_mount(dp.path)
            if current is not None and current.type == "bind" and os.path.realpath(current.source) == os.path.realpath(source) and normalise_path(current.destination) == target:
                continue  # already there
            move = moves.get(target)
            if move is None:
                markers = []
                if is_within(primary.path, target):
                    for marker in resolved.init_markers or ():
                        full = marker if marker.startswith("/") else posixpath.join(primary.path, marker)
                        markers.append(posixpath.relpath(normalise_path(full), target))
                move = PathMove(
                    mount_target=target,
                    data_paths=[],
                    storage=storage_of(current),
                    volume=current.name if current is not None and current.type == "volume" else None,
                    bind_spec=str(status.mount.source),
                    bind_source=source,
                    archive=f"{name}/{slug(target)}.tar",
                    markers=markers,
                    size_bytes=data_size(self.engine, facts, target),
                )
                moves[target] = move
            if dp.path not in move.data_paths:
                move.data_paths.append(dp.path)
        if not moves:
            warnings.append(f"service {name}: its container already keeps the data in the bind mounts the file names; nothing to move")
            return None
        self._check_targets(name, list(moves.values()))

        image_after = service_image(service)[0] or facts.image_ref
        tag = self._image_check(name, facts, resolved, image_after, warnings)
        hostname_pin = None
        if getattr(resolved, "pin_hostname", False):
            hostname_pin = facts.hostname
            if str(service.config.get("hostname") or "") != facts.hostname:
                raise Refused(
                    f"service {name}: {resolved.title} keeps its data in a folder named after the hostname, and the patched file "
                    f"does not pin `hostname: {facts.hostname}` (the old container's); the new container would start an empty node"
                )
        pull_policy = str(service.config.get("pull_policy") or "")
        if pull_policy in ("always", "build"):
            raise Refused(f"service {name}: `pull_policy: {pull_policy}` makes Compose pull or build on `up`; the image the data was written by might change")
        grace = max(int(getattr(resolved, "stop_grace_seconds", 0) or 0), int(facts.stop_timeout or 10), 10)
        return ServicePlan(
            name=name,
            codes=codes,
            container=ContainerRef(
                id=facts.id,
                name=facts.name,
                state=facts.status,
                image_ref=facts.image_ref,
                image_id=facts.image_id,
                user=facts.user,
                hostname=facts.hostname,
                healthcheck=bool(facts.healthcheck),
                stop_timeout=facts.stop_timeout,
                stop_signal=facts.stop_signal,
                version_env={k: facts.env[k] for k in (getattr(resolved, "version_env", ()) or ()) if k in facts.env},
            ),
            kind=resolved.kind,
            title=resolved.title,
            major=major,
            probe=resolved.probe if resolved.probe in ("postgres", "redis", "mysql", "mariadb", "mongo") else None,
            readiness=list(resolved.readiness) if resolved.readiness else None,
            stop_grace=grace,
            moves=list(moves.values()),
            image_after=image_after,
            tag=tag,
            hostname_pin=hostname_pin,
        )

    def _image_check(self, name: str, facts: ContainerFacts, resolved: Any, image_after: str, warnings: list[str]) -> str | None:
        """The recreate must run the very image the data was written by, found locally (nothing is pulled).

        Returns a reference to tag the container's image id with before `up` (a pin, or a tag that vanished)."""
        if self.engine.image_id(facts.image_id) is None:
            raise Refused(f"service {name}: the image the container runs ({facts.image_id[:19]}) is no longer on this host; recreating would need a pull (withdrawn tags exist)")
        local = self.engine.image_id(image_after)
        if local is not None and local != facts.image_id:
            raise Refused(
                f"service {name}: `{image_after}` now means image {local[:19]} on this host, but the container runs {facts.image_id[:19]}; "
                f"recreating would switch images (maybe a major version). Point the tag back: docker tag {facts.image_id} {image_after}"
            )
        if image_after == facts.image_ref and getattr(resolved, "floating", False):
            version = f" {resolved.major}" if getattr(resolved, "major", None) else ""
            warnings.append(
                f"service {name}: `{image_after}` floats (HF104) and the fix did not pin it; the recreate uses the local image {facts.image_id[7:19]} "
                f"({resolved.title}{version}), but a later pull can switch majors"
            )
        return image_after if local is None else None

    def _check_targets(self, name: str, moves: list[PathMove]) -> None:
        sources = [m.bind_source for m in moves]
        for i, a in enumerate(sources):
            for b in sources[i + 1 :]:
                if is_within(a, b) or is_within(b, a):
                    raise Refused(f"service {name}: bind sources {a} and {b} overlap")
        if not self.engine.endpoint.local:
            return  # checked through the daemon when restoring
        from holdfast.apply.steps import bind_is_empty_locally

        for move in moves:
            if os.path.isdir(move.bind_source) and not bind_is_empty_locally(move.bind_source):
                raise Refused(
                    f"service {name}: the bind target {move.bind_source} is not empty; holdfast restores only into an empty folder "
                    "(move it aside or choose another `fix.bind-root`)"
                )
            if os.path.exists(move.bind_source) and not os.path.isdir(move.bind_source):
                raise Refused(f"service {name}: the bind target {move.bind_source} exists and is not a folder")


class UnparsedFile(PlanInvalid):
    """A compose file of the project does not parse: nothing can be planned from it (exit 2)."""


def _refuse_unparsed(documents: Any) -> None:
    """Stop at the first file that is not YAML (HF001), with lint's own line: a plan needs the whole project."""
    for document in documents:
        problems = [p for p in document.problems if p.code == "HF001"]
        if problems or document.data is None:
            if problems:
                problem = problems[0]
                where, message = f"{document.path}:{problem.line}:{problem.column}", problem.message
            else:
                where, message = f"{document.path}:1:1", "the file does not parse"
            raise UnparsedFile(f"{where}: HF001 {message}; nothing was planned (fix the file, then plan again)")


def _example_name(project: str, flavour: str) -> str:
    return f"{project}-db-1" if flavour == "v2" else f"{project}_db_1"


def _env_file(containers: list[ContainerFacts]) -> str | None:
    for facts in containers:
        if facts.env_file:
            return facts.env_file
    return None

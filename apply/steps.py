"""The plan's steps: each one does its work, checks it, and can be run again.

Every step is idempotent, because a resumed apply re-runs the step that was
interrupted: an archive is written to `.part` and renamed only when complete; a
restore re-extracts the same archive over its own partial copy; the patch
compares sha256 before writing; the recreate first looks at what exists.
Every step also verifies its own outcome before it reports success, so the
journal line "ok" means "done AND checked".

The ordering carries the safety argument: nothing is removed before its
archive is verified, nothing is started before the init marker is seen in the
bind mount through the new container, nothing else is started before the
fingerprint matches.
"""

from __future__ import annotations

import os
import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from holdfast.apply import probes, tarfilter
from holdfast.apply.console import Console, human_bytes, plural
from holdfast.apply.errors import PlanInvalid, Refused, StepFailed
from holdfast.apply.journal import Journal
from holdfast.apply.plan import PathMove, Plan, ServicePlan, Step, sha256_file
from holdfast.apply.restore import (  # noqa: F401 - read_chunks: used by the executor
    _empty_dataset,
    _existing_parent,
    _free_bytes,
    bind_is_empty_locally,
    check_backup_dir,
    check_bind_target,
    check_restore_space,
    compare_restored,
    keep_aside,
    marker_names,
    marker_present,
    read_chunks,
    restore_archive,
    write_archive,
)
from holdfast.apply.tarindex import index_file
from holdfast.mounts import normalise_path

CHUNK = 1024 * 1024
PROBE_RETRIES = 5


@dataclass
class RunContext:
    """What a step sees: the plan, the engine, Compose, the backup folder and the journal so far."""

    plan: Plan
    engine: Any
    compose: Any
    backup_dir: str
    journal: Journal
    attempt: int
    console: Console
    health_timeout: float = 180.0
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    step: Step | None = None
    sleep: Callable[[float], None] = time.sleep

    # ------------------------------------------------------------ journal
    def progress(self) -> dict[str, Any]:
        assert self.step is not None
        return self.journal.progress(self.step.id, self.attempt)

    def record(self, key: str, data: Any) -> None:
        assert self.step is not None
        self.journal.append({"event": "progress", "step": self.step.id, "attempt": self.attempt, "key": key, "data": data})

    def archive_path(self, move: PathMove) -> str:
        return os.path.join(self.backup_dir, move.archive)

    def states(self) -> dict[str, str]:
        """Container id -> state before apply touched anything (recorded first thing in `stop`)."""
        states = (self.results.get("stop") or {}).get("states")
        if states:
            return states
        recorded = self.journal.progress("stop", self.attempt).get("states")
        if recorded:
            return recorded
        out = {s.container.id: s.container.state for s in self.plan.services}
        out.update({o.id: o.state for o in self.plan.others})
        return out

    def fingerprints(self) -> dict[str, dict[str, Any]]:
        """The authoritative fingerprints: taken in `stop` with the apps already stopped, else the early ones."""
        early = (self.results.get("fingerprint") or {}).get("fingerprints") or {}
        out = dict(early)
        for key, value in self.journal.progress("stop", self.attempt).items():
            if key.startswith("fp:"):
                out[key[3:]] = value
        return out

    def new_container(self, service: ServicePlan) -> str | None:
        return ((self.results.get("recreate") or {}).get("containers") or {}).get(service.name)

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.console.warn(text)


# ===================================================================== checks
def check_files_current(plan: Plan, patched: bool | None) -> None:
    """The compose files are as planned (patched=False), as patched (True), or either (None: the patch step was interrupted)."""
    for file in plan.project.files:
        change = next((c for c in plan.changes if c.path == file.path), None)
        after = change.sha256_after if change is not None else file.sha256
        allowed = {False: {file.sha256}, True: {after}, None: {file.sha256, after}}[patched]
        current = sha256_file(file.path)
        if current not in allowed:
            raise PlanInvalid(
                f"stale plan: {file.path} changed since the plan was made (sha256 {str(current)[:12]}…, plan {file.sha256[:12]}…); make a new plan",
            )


def _image_ok(ctx: RunContext, service: ServicePlan) -> None:
    """The exact image must be local and the reference Compose will use must resolve to it (nothing is pulled)."""
    if ctx.engine.image_id(service.container.image_id) is None:
        raise Refused(f"service {service.name}: image {service.container.image_id[:19]} is not on this host any more; Compose would have to pull")
    local = ctx.engine.image_id(service.image_after)
    if local is None and service.tag != service.image_after:
        raise Refused(f"service {service.name}: `{service.image_after}` is not on this host and the plan does not tag it; Compose would pull (withdrawn tags exist)")
    if local is not None and local != service.container.image_id:
        raise Refused(
            f"service {service.name}: `{service.image_after}` now means image {local[:19]}, not {service.container.image_id[:19]} which wrote the data",
            [f"docker tag {service.container.image_id} {service.image_after}   # point it back, then re-run"],
        )


# ====================================================================== steps
def step_preflight(ctx: RunContext, step: Step) -> dict[str, Any]:
    plan = ctx.plan
    check_files_current(plan, patched=False)
    for change in plan.changes:
        if change.created and os.path.exists(change.path):
            raise PlanInvalid(f"stale plan: {change.path} exists now but the plan creates it; make a new plan")
    for service in plan.services:
        facts = ctx.engine.inspect(service.container.id)
        if facts is None:
            raise PlanInvalid(f"stale plan: the container {service.container.name} ({service.container.id[:12]}) of {service.name} no longer exists; make a new plan")
        if facts.image_id != service.container.image_id:
            raise PlanInvalid(f"stale plan: {service.container.name} now runs another image; make a new plan")
        current = [c for c in ctx.engine.project_containers(plan.project.name, service.name, oneoff=False) if c.id != service.container.id]
        if current:
            raise PlanInvalid(f"stale plan: service {service.name} has other containers now ({', '.join(c.name for c in current)}); make a new plan")
        _image_ok(ctx, service)
        for move in service.moves:
            if ctx.engine.endpoint.local:
                check_bind_target(plan, move)
            if ctx.engine.endpoint.local and not bind_is_empty_locally(move.bind_source):
                raise Refused(f"the bind target {move.bind_source} is not empty; holdfast restores only into an empty folder (move it aside)")
    if ctx.compose is None:
        raise Refused("neither `docker compose` nor `docker-compose` runs on this machine; install one (the project's containers must be recreated by Compose)")
    need = sum(s.size_bytes for s in plan.services)
    check_backup_dir(ctx)
    free = _free_bytes(ctx.backup_dir)
    if free is not None and need and free < need * 1.1 + 64 * 1024 * 1024:
        raise Refused(f"not enough space for the archives in {ctx.backup_dir}: {human_bytes(free)} free, about {human_bytes(need)} needed; use --backup-dir")
    if ctx.engine.endpoint.local:
        for service in plan.services:
            for move in service.moves:
                parent = _existing_parent(move.bind_source)
                free = _free_bytes(parent)
                if free is not None and move.size_bytes and free < move.size_bytes * 1.1:
                    raise Refused(f"not enough space for {move.bind_source}: {human_bytes(free)} free on {parent}, {human_bytes(move.size_bytes)} needed")
    return {"summary": f"plan current; {ctx.compose.cli.display} {ctx.compose.cli.version}; {human_bytes(need)} to move", "compose": ctx.compose.cli.display}


def _fingerprint(ctx: RunContext, service: ServicePlan, facts: Any) -> dict[str, Any]:
    """The service's fingerprint, retried a few times (a server busy right after a restart)."""
    last: Exception | None = None
    for attempt in range(PROBE_RETRIES):
        try:
            return probes.fingerprint(service.probe, ctx.engine, facts, [m.mount_target for m in service.moves])
        except probes.ProbeError as exc:
            last = exc
            if attempt + 1 < PROBE_RETRIES:
                ctx.sleep(1.0 + attempt)
    raise StepFailed(f"cannot fingerprint {service.name}: {last}")


def step_fingerprint(ctx: RunContext, step: Step) -> dict[str, Any]:
    """Proves the probes work before any downtime; the authoritative fingerprint is taken again in `stop`."""
    out: dict[str, Any] = {}
    summary = []
    for service in ctx.plan.services:
        facts = ctx.engine.inspect(service.container.id)
        if facts is None:
            raise StepFailed(f"the container of {service.name} disappeared")
        if not facts.running:
            out[service.name] = {"kind": "archive", "data": {}}
            summary.append(f"{service.name}: not running, checked from the archive")
            continue
        fp = _fingerprint(ctx, service, facts)
        out[service.name] = fp
        summary.append(f"{service.name}: {probes.summarise(fp)}")
    return {"fingerprints": out, "summary": "; ".join(summary)}


def step_stop(ctx: RunContext, step: Step) -> dict[str, Any]:
    plan = ctx.plan
    done = ctx.progress()
    states = done.get("states")
    if states is None:
        states = {}
        for service in plan.services:
            facts = ctx.engine.inspect(service.container.id)
            states[service.container.id] = facts.status if facts else "missing"
        for other in plan.others:
            facts = ctx.engine.inspect(other.id)
            states[other.id] = facts.status if facts else "missing"
        ctx.record("states", states)
    notes = []
    for other in plan.others:  # the apps first: nothing may write while the databases are fingerprinted and copied
        facts = ctx.engine.inspect(other.id)
        if facts is not None and facts.running:
            ctx.engine.stop(other.id, int(facts.stop_timeout or 10))
    exits: dict[str, int] = {}
    for service in plan.services:
        facts = ctx.engine.inspect(service.container.id)
        if facts is None:
            raise StepFailed(f"the container of {service.name} disappeared")
        if facts.running:
            if f"fp:{service.name}" not in done:
                ctx.record(f"fp:{service.name}", _fingerprint(ctx, service, facts))
            try:
                flushed = probes.prestop(service.probe, ctx.engine, facts)
                if flushed:
                    notes.append(flushed)
            except probes.ProbeError as exc:
                ctx.warn(f"{service.name}: the flush before stopping failed ({exc}); relying on the server's own shutdown")
            result = ctx.engine.stop(service.container.id, service.stop_grace)
            exits[service.name] = result.exit_code
            if result.killed:
                ctx.warn(
                    f"{service.name} was KILLED (exit code {result.exit_code}{', out of memory' if result.oom_killed else ''}), not shut down cleanly within "
                    f"{service.stop_grace}s: the copy is crash-consistent; {service.title} will run recovery on its next start"
                )
            elif result.exit_code != 0:
                ctx.warn(f"{service.name} exited with code {result.exit_code} when stopped (0 means a clean shutdown)")
        else:
            exits[service.name] = facts.exit_code
    for service in plan.services:
        facts = ctx.engine.inspect(service.container.id)
        if facts is not None and facts.running:
            raise StepFailed(f"{service.name} is still running after stop (a restart policy or another tool started it again)")
    summary = ", ".join(f"{name} exit {code}" for name, code in exits.items())
    return {"states": states, "exit_codes": exits, "summary": summary + ("; " + "; ".join(notes) if notes else "")}


def step_archive(ctx: RunContext, step: Step) -> dict[str, Any]:
    service = ctx.plan.service(step.service or "")
    facts = ctx.engine.inspect(service.container.id)
    if facts is None:
        raise StepFailed(f"the container of {service.name} is gone before its data was archived")
    if facts.running:
        raise StepFailed(f"{service.name} is running again; refusing to copy a live database")
    done = ctx.progress()
    archives: dict[str, Any] = {}
    for move in service.moves:
        path = ctx.archive_path(move)
        previous = done.get(move.mount_target)
        if previous and sha256_file(path) == previous["sha256"]:
            archives[move.mount_target] = previous
            continue
        keep_aside(path)
        info = write_archive(ctx, facts.id, move, path, f"archive {service.name}:{move.mount_target}")
        ctx.record(move.mount_target, info)
        archives[move.mount_target] = info
    summary = ", ".join(f"{posixpath.basename(t) or t}: {human_bytes(a['bytes'])}, {a['entries']} entries" for t, a in archives.items())
    return {"archives": archives, "summary": summary}


def archived(ctx: RunContext, service: ServicePlan, move: PathMove) -> dict[str, Any]:
    info = ((ctx.results.get(f"archive:{service.name}") or {}).get("archives") or {}).get(move.mount_target)
    if info is None:
        info = ctx.journal.progress(f"archive:{service.name}", ctx.attempt).get(move.mount_target)
    if info is None:
        raise StepFailed(f"no archive recorded for {service.name}:{move.mount_target}")
    return info


def step_verify_archives(ctx: RunContext, step: Step) -> dict[str, Any]:
    """Each archive is whole, is the data directory, and holds nothing the host must not receive.

    The last step before anything is removed: a device node, an entry leaving the tree or
    too little space for the restore stops the apply HERE, with the containers as they were."""
    checked = 0
    fingerprints = ctx.fingerprints()
    stripped: list[str] = []
    space: dict[str, int] = {}  # existing parent of a bind target -> bytes the restore writes there
    for service in ctx.plan.services:
        for move in service.moves:
            info = archived(ctx, service, move)
            path = ctx.archive_path(move)
            digest = sha256_file(path)
            if digest != info["sha256"]:
                raise StepFailed(f"{path}: sha256 {digest} does not match the one recorded while writing ({info['sha256']})")
            with open(path, "rb") as handle:
                index = index_file(handle)
            if not index.complete or index.count != info["entries"]:
                raise StepFailed(f"{path}: {index.count} entries readable (complete: {index.complete}), {info['entries']} written")
            names = index.names()
            top = posixpath.basename(move.mount_target.rstrip("/")) or "."
            if top not in names:
                raise StepFailed(f"{path}: the archive does not start with {top}/")
            wanted = marker_names(move)
            if wanted and not any(n in names for n in wanted):
                if _empty_dataset(fingerprints.get(service.name)):
                    ctx.warn(f"{service.name}: no init marker ({', '.join(move.markers)}) in the archive, but the data set was empty")
                else:
                    raise StepFailed(
                        f"{path}: none of the init markers ({', '.join(move.markers)}) is in the archive: this is not the data directory "
                        f"{service.title} uses, or it was never initialised"
                    )
            found = tarfilter.check_entries(index.entries, top)
            tarfilter.refuse_if_needed(found, f"{service.name}:{move.mount_target}", ctx.backup_dir)
            note = found.stripped_note(f"{service.name}:{move.mount_target}")
            if note:
                ctx.warn(note)
                stripped.extend(found.stripped)
            if ctx.engine.endpoint.local:  # the holes of sparse files are not written (see tarfilter.restore_stream)
                parent = _existing_parent(move.bind_source)
                fd = os.open(path, os.O_RDONLY)
                try:
                    holes = tarfilter.hole_bytes(fd)
                finally:
                    os.close(fd)
                space[parent] = space.get(parent, 0) + max(0, index.file_bytes - holes)
            checked += 1
    check_restore_space(space)
    summary = f"{plural(checked, 'archive')}: sha256, entry count, init marker and entry types checked"
    if stripped:
        summary += f"; setuid/setgid removed from {len(stripped)}"
    return {"summary": summary, "stripped": stripped}


def step_remove(ctx: RunContext, step: Step) -> dict[str, Any]:
    removed: dict[str, str] = {}
    volumes: dict[str, list[str]] = {}
    for service in ctx.plan.services:
        _image_ok(ctx, service)
    for service in ctx.plan.services:
        facts = ctx.engine.inspect(service.container.id)
        if facts is None:  # removed by an interrupted earlier run of this step
            removed[service.name] = "already gone"
            volumes[service.name] = (ctx.progress().get(service.name) or {}).get("volumes") or [m.volume for m in service.moves if m.volume]
            continue
        if facts.running:
            raise StepFailed(f"{service.name} is running again; not removing a live container")
        volumes[service.name] = [m.name for m in facts.mounts if m.type == "volume" and m.name]
        ctx.record(service.name, {"volumes": volumes[service.name]})
        ctx.engine.remove(service.container.id)
        if ctx.engine.inspect(service.container.id) is not None:
            raise StepFailed(f"the container of {service.name} still exists after removal")
        removed[service.name] = service.container.id
    kept = [v for vs in volumes.values() for v in vs]
    return {"removed": removed, "volumes": volumes, "summary": f"kept {'volume' if len(kept) == 1 else 'volumes'} {', '.join(v[:12] for v in kept)} as a second backup" if kept else "containers removed"}


def step_restore(ctx: RunContext, step: Step) -> dict[str, Any]:
    service = ctx.plan.service(step.service or "")
    begun = ctx.progress()
    out: dict[str, Any] = {}
    for move in service.moves:
        info = archived(ctx, service, move)
        out[move.mount_target] = restore_archive(
            ctx,
            service,
            move,
            ctx.archive_path(move),
            info,
            allow_partial=bool(begun.get(f"extracting:{move.mount_target}")),
            label=f"restore {service.name}:{move.bind_spec}",
            on_extract=lambda target=move.mount_target: ctx.record(f"extracting:{target}", True),
        )
    summary = ", ".join(f"{m.bind_spec}: {out[m.mount_target]['entries']} entries" for m in service.moves)
    return {"restored": out, "summary": summary}


def step_patch(ctx: RunContext, step: Step) -> dict[str, Any]:
    plan = ctx.plan
    tagged = []
    for service in plan.services:  # pin BEFORE editing: Compose must find the exact image under the new name
        if service.tag:
            local = ctx.engine.image_id(service.tag)
            if local is None:
                ctx.engine.tag(service.container.image_id, service.tag)
                tagged.append(service.tag)
            elif local != service.container.image_id:
                raise StepFailed(f"`{service.tag}` now names another image ({local[:19]}); not retagging it over someone else's image")
            if ctx.engine.image_id(service.tag) != service.container.image_id:
                raise StepFailed(f"tagging {service.container.image_id[:19]} as {service.tag} did not take")
    saved: dict[str, str] = {}
    written = []
    copies = os.path.join(ctx.backup_dir, "compose")
    os.makedirs(copies, exist_ok=True)
    for change in plan.changes:
        copy = os.path.join(copies, os.path.basename(change.path))
        current = sha256_file(change.path)
        if change.created:
            if current == change.sha256_after:
                continue
            if current is not None:
                raise StepFailed(f"{change.path} appeared meanwhile; not overwriting it")
        else:
            if current == change.sha256_after:
                saved[change.path] = copy
                continue
            if current != change.sha256_before:
                raise StepFailed(f"{change.path} changed during the apply (sha256 {str(current)[:12]}…); not overwriting it")
            if sha256_file(copy) != change.sha256_before:
                with open(change.path, "rb") as handle:
                    original = handle.read()
                _write_synced(copy, original)
            saved[change.path] = copy
        from holdfast.fileio import write_bytes_atomic

        write_bytes_atomic(change.path, change.new_bytes)
        if sha256_file(change.path) != change.sha256_after:
            raise StepFailed(f"{change.path}: the written file does not have the planned content")
        written.append(change.path)
    names = ", ".join(os.path.basename(p) for p in written) or "already patched"
    return {"written": written, "saved": saved, "tagged": tagged, "summary": names + (f"; tagged {', '.join(tagged)}" if tagged else "")}


def _write_synced(path: str, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def service_container(ctx: RunContext, service: ServicePlan) -> Any:
    """The one container Compose now has for the service (None when there is none)."""
    found = ctx.engine.project_containers(ctx.plan.project.name, service.name, oneoff=False)
    if len(found) > 1:
        raise StepFailed(f"service {service.name} has {len(found)} containers; expected one")
    return found[0] if found else None


def check_mounts(service: ServicePlan, facts: Any) -> list[str]:
    """The seed's `docker inspect` check: for each moved path a bind, the planned source, the data path's destination."""
    problems = []
    for move in service.moves:
        mount = next((m for m in facts.mounts if normalise_path(m.destination) == move.mount_target), None)
        if mount is None:
            problems.append(f"{move.mount_target}: no mount at all")
            continue
        if mount.type != "bind":
            what = f"{mount.type} {mount.name[:12]}".strip()
            problems.append(f"{move.mount_target}: a {what}, not a bind (Compose v1 keeps an old container's anonymous volume over a new bind)")
            continue
        if os.path.realpath(mount.source) != os.path.realpath(move.bind_source) and normalise_path(mount.source) != normalise_path(move.bind_source):
            problems.append(f"{move.mount_target}: bind from {mount.source}, expected {move.bind_source}")
        if not mount.rw:
            problems.append(f"{move.mount_target}: mounted read-only")
        for data_path in move.data_paths:
            covering = facts.covering_mount(data_path)
            if covering is None or normalise_path(covering.destination) != move.mount_target:
                problems.append(f"{data_path}: held by {covering.type if covering else 'no'} mount at {covering.destination if covering else '-'}, not the bind")
    return problems


def step_recreate(ctx: RunContext, step: Step) -> dict[str, Any]:
    plan = ctx.plan
    names = [s.name for s in plan.services]
    for service in plan.services:
        if ctx.engine.inspect(service.container.id) is not None:
            raise StepFailed(
                f"the old container of {service.name} still exists; with Compose v1 its anonymous volume would win over the new bind mount. "
                f"Remove it first: docker rm {service.container.name}"
            )
    compose_with_retry(ctx, "up", "--no-start", "--no-deps", *names)
    containers: dict[str, str] = {}
    for service in plan.services:
        facts = service_container(ctx, service)
        if facts is None:
            raise StepFailed(f"Compose created no container for {service.name}")
        problems = check_mounts(service, facts)
        if problems:
            if not facts.ever_started:
                ctx.engine.remove(facts.id)
            raise StepFailed(f"the new container of {service.name} does not mount the data as planned: " + "; ".join(problems))
        for move in service.moves:
            if not marker_present(ctx.engine, facts.id, move) and not _empty_dataset(ctx.fingerprints().get(service.name)):
                raise StepFailed(
                    f"the new container of {service.name} does not see {' or '.join(move.markers)} in {move.mount_target}: started like this, "
                    f"{service.title} would initialise an EMPTY data set. Not starting it."
                )
        containers[service.name] = facts.id
        ctx.record(service.name, facts.id)
    states = ctx.states()
    to_start = [s.name for s in plan.services if states.get(s.container.id) in ("running", "restarting", "paused")]
    if to_start:
        compose_with_retry(ctx, "up", "-d", "--no-deps", *to_start)
    for service in plan.services:
        facts = service_container(ctx, service)
        if facts is None:
            raise StepFailed(f"the container of {service.name} vanished after `up`")
        if facts.id != containers[service.name]:
            problems = check_mounts(service, facts)
            if problems:
                raise StepFailed(f"Compose replaced the container of {service.name} and the new one is wrong: " + "; ".join(problems))
            containers[service.name] = facts.id
    started = ", ".join(to_start) or "none (they were not running before)"
    return {"containers": containers, "started": to_start, "summary": f"init marker seen before start; started {started}"}


def compose_with_retry(ctx: RunContext, *args: str, attempts: int = 3) -> str:
    """Run Compose; the seed's 'port is already allocated' right after a removal goes away on a retry."""
    from holdfast.apply.compose import ComposeFailed

    for attempt in range(attempts):
        try:
            return ctx.compose.run(*args)
        except ComposeFailed as exc:
            if not exc.port_taken or attempt + 1 == attempts:
                raise
            ctx.warn(f"Compose says a port is still taken; retrying in {2 * (attempt + 1)}s")
            ctx.sleep(2.0 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def step_wait_healthy(ctx: RunContext, step: Step) -> dict[str, Any]:
    states = ctx.states()
    out = {}
    for service in ctx.plan.services:
        if states.get(service.container.id) not in ("running", "restarting", "paused"):
            out[service.name] = "not started (it was not running before)"
            continue
        container = ctx.new_container(service) or getattr(service_container(ctx, service), "id", None)
        if container is None:
            raise StepFailed(f"no container for {service.name}")
        try:
            out[service.name] = probes.wait_ready(
                ctx.engine, container, readiness=service.readiness, probe_kind=service.probe, timeout=ctx.health_timeout, sleep=ctx.sleep
            )
        except probes.ProbeError as exc:
            raise StepFailed(f"{service.name} did not become ready: {exc}") from None
    return {"ready": out, "summary": "; ".join(f"{k}: {v}" for k, v in out.items())}


def step_verify_mounts(ctx: RunContext, step: Step) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for service in ctx.plan.services:
        facts = service_container(ctx, service)
        if facts is None:
            raise StepFailed(f"no container for {service.name}")
        problems = check_mounts(service, facts)
        if problems:
            raise StepFailed(f"{service.name}: " + "; ".join(problems))
        report[service.name] = [m.to_json() for m in facts.mounts if any(normalise_path(m.destination) == mv.mount_target for mv in service.moves)]
    return {"mounts": report, "summary": "; ".join(f"{s}: bind {', '.join(m['source'] for m in ms)}" for s, ms in report.items())}


def step_verify_data(ctx: RunContext, step: Step) -> dict[str, Any]:
    fingerprints = ctx.fingerprints()
    out = {}
    for service in ctx.plan.services:
        before = fingerprints.get(service.name)
        facts = service_container(ctx, service)
        if facts is None:
            raise StepFailed(f"no container for {service.name}")
        if not before or before.get("kind") == "archive" or not facts.running:
            out[service.name] = "compared file by file with the archive during the restore"
            continue
        paths = [m.mount_target for m in service.moves]
        problems = verify_fingerprint(ctx, service, before, facts, paths)
        if problems:
            raise StepFailed(f"{service.name}: the data differs from before: " + "; ".join(problems[:8]))
        out[service.name] = "same " + probes.summarise(before)
    return {"verified": out, "summary": "; ".join(f"{k}: {v}" for k, v in out.items())}


def verify_fingerprint(ctx: RunContext, service: ServicePlan, before: dict[str, Any], facts: Any, paths: list[str]) -> list[str]:
    """Compare, retrying while the server still loads (redis LOADING, postgres recovery)."""
    problems: list[str] = []
    for attempt in range(PROBE_RETRIES):
        try:
            problems = probes.verify(before, ctx.engine, facts, paths)
        except probes.ProbeError as exc:
            problems = [f"probe failed: {exc}"]
        if not problems:
            return []
        ctx.sleep(1.0 + attempt)
    return problems


def step_finish(ctx: RunContext, step: Step) -> dict[str, Any]:
    states = ctx.states()
    started, failed = [], []
    for other in ctx.plan.others:
        if states.get(other.id) not in ("running", "restarting", "paused"):
            continue
        facts = ctx.engine.inspect(other.id)
        if facts is None:
            failed.append(f"{other.name} (gone)")
            continue
        if facts.running:
            continue
        try:
            ctx.engine.start(other.id)
            started.append(other.name)
        except Exception as exc:  # noqa: BLE001 - the data is safe; report and go on
            failed.append(f"{other.name} ({exc})")
    if failed:
        services = sorted({o.service for o in ctx.plan.others if any(f.startswith(o.name) for f in failed)})
        ctx.warn("could not start again: " + ", ".join(failed) + f"; the data is in place, start them with: {ctx.compose.text('up', '-d', *services)}")
    return {"started": started, "failed": failed, "summary": f"started {', '.join(started)}" if started else "nothing else to start"}


STEPS: dict[str, Callable[[RunContext, Step], dict[str, Any]]] = {
    "preflight": step_preflight,
    "fingerprint": step_fingerprint,
    "stop": step_stop,
    "archive": step_archive,
    "verify-archives": step_verify_archives,
    "remove": step_remove,
    "restore": step_restore,
    "patch": step_patch,
    "recreate": step_recreate,
    "wait-healthy": step_wait_healthy,
    "verify-mounts": step_verify_mounts,
    "verify-data": step_verify_data,
    "finish": step_finish,
}

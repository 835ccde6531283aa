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

import errno
import hashlib
import os
import posixpath
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from holdfast.apply import fstree, probes, tarfilter
from holdfast.apply.console import Console, human_bytes
from holdfast.apply.errors import PlanInvalid, Refused, StepFailed
from holdfast.apply.journal import Journal, fsync_dir
from holdfast.apply.plan import PathMove, Plan, ServicePlan, Step, sha256_file
from holdfast.apply.tarindex import Entry, TarIndex, index_file
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


def bind_is_empty_locally(path: str) -> bool:
    """Missing, empty, or holding only empty folders: the mountpoint a shadowing volume left in an old
    parent bind (HF105: `./pg:/var/lib/postgresql` leaves `./pg/data/`). Empty folders hold no data;
    a symbolic link (there or anywhere below) is not empty."""
    return not fstree.holds_data(path)


def clear_empty_folders(path: str) -> list[str]:
    """Remove the empty folders inside `path` (deepest first, `rmdir` only: it cannot delete data)."""
    return fstree.remove_empty_folders(path)


def check_bind_target(plan: Plan, move: PathMove) -> None:
    """The bind folder must be reached without a symbolic link below the project folder (nor be one itself):
    anyone who can write the project folder could otherwise send root's restore anywhere on the host."""
    link = fstree.symlink_below(move.bind_source, plan.project.directory)
    if link is None and os.path.islink(move.bind_source):
        link = move.bind_source
    if link is not None:
        raise Refused(
            f"the bind target {move.bind_source} is reached through the symbolic link {link} (-> {os.readlink(link)}); "
            "holdfast restores only into a real folder (remove the link and re-run)"
        )


def check_backup_dir(ctx: RunContext) -> None:
    """The backup folder: a real folder of holdfast's own user, mode 0700, with no link below the project folder."""
    link = fstree.symlink_below(ctx.backup_dir, ctx.plan.project.directory)
    if link is not None:
        raise Refused(f"the backup folder {ctx.backup_dir} is reached through the symbolic link {link} (-> {os.readlink(link)}); use --backup-dir")
    fstree.private_dir(ctx.backup_dir, "backup folder")


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


def _existing_parent(path: str) -> str:
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path or "/"


def _free_bytes(path: str) -> int | None:
    try:
        st = os.statvfs(path)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


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


def keep_aside(path: str) -> None:
    """An archive from an earlier attempt is a backup too: rename it (`.tar` -> `.1.tar`), never overwrite it."""
    if not os.path.exists(path):
        return
    stem = path.removesuffix(".tar")
    number = 1
    while os.path.exists(f"{stem}.{number}.tar"):
        number += 1
    os.replace(path, f"{stem}.{number}.tar")
    if os.path.exists(path + ".sha256"):
        os.replace(path + ".sha256", f"{stem}.{number}.tar.sha256")


def write_archive(ctx: RunContext, container_id: str, move: PathMove, path: str, label: str) -> dict[str, Any]:
    """Stream the path out of the container to `path` (via .part), hashing and indexing on the way.

    Runs of zeros are written as holes (a sparse file's zeros cost no disk in the backup
    either); the `.part` is opened without following links and removed on any failure
    (a full disk), before the executor starts the database again."""
    check_backup_dir(ctx)
    fstree.private_dir(os.path.dirname(path), "backup folder")
    part = path + ".part"
    digest = hashlib.sha256()
    index = TarIndex(keep_entries=False)
    total = 0
    progress = ctx.console.progress(label, move.size_bytes)
    try:
        fd = fstree.open_new_file(part)
        try:
            writer = HoleWriter(fd)
            for chunk in ctx.engine.get_archive(container_id, move.mount_target):
                writer.write(chunk)
                digest.update(chunk)
                index.feed(chunk)
                total += len(chunk)
                progress.update(total)
            writer.close()
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException as exc:
        _remove_quietly(part)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise StepFailed(f"the disk holding {os.path.dirname(path)} is full: the archive of {move.mount_target} could not be written (partial file removed); free space or use --backup-dir") from None
        raise
    finally:
        progress.finish()
    if not index.complete:
        _remove_quietly(part)
        raise StepFailed(f"the archive of {move.mount_target} is incomplete ({total} bytes, no end-of-archive marker); the engine stopped streaming")
    os.replace(part, path)
    with open(path + ".sha256", "w", encoding="utf-8") as handle:
        handle.write(f"{digest.hexdigest()}  {os.path.basename(path)}\n")
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(os.path.dirname(path))
    return {"file": os.path.relpath(path, ctx.backup_dir), "sha256": digest.hexdigest(), "bytes": total, "entries": index.count, "file_bytes": index.file_bytes}


HOLE = 64 * 1024
ZEROS = bytes(HOLE)


class HoleWriter:
    """Writes a stream to a file descriptor, seeking over whole aligned 64 KiB blocks of zeros."""

    def __init__(self, fd: int):
        self.fd = fd
        self.pending = bytearray()

    def write(self, data: bytes) -> None:
        self.pending += data
        if len(self.pending) < HOLE:
            return
        whole = len(self.pending) - len(self.pending) % HOLE
        view = memoryview(self.pending)
        for start in range(0, whole, HOLE):
            self._block(view[start : start + HOLE])
        view.release()
        del self.pending[:whole]

    def _block(self, block: memoryview) -> None:
        if len(block) == HOLE and block == ZEROS:
            os.lseek(self.fd, HOLE, os.SEEK_CUR)
        else:
            while block:
                written = os.write(self.fd, block)
                block = block[written:]

    def close(self) -> None:
        if self.pending:
            self._block(memoryview(bytes(self.pending)))
            self.pending.clear()
        end = os.lseek(self.fd, 0, os.SEEK_CUR)
        os.ftruncate(self.fd, end)  # a trailing hole still counts in the size


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def archived(ctx: RunContext, service: ServicePlan, move: PathMove) -> dict[str, Any]:
    info = ((ctx.results.get(f"archive:{service.name}") or {}).get("archives") or {}).get(move.mount_target)
    if info is None:
        info = ctx.journal.progress(f"archive:{service.name}", ctx.attempt).get(move.mount_target)
    if info is None:
        raise StepFailed(f"no archive recorded for {service.name}:{move.mount_target}")
    return info


def marker_names(move: PathMove) -> list[str]:
    """Init markers as archive entry names (`data/PG_VERSION`)."""
    top = posixpath.basename(move.mount_target.rstrip("/")) or "."
    return [normalise_path(posixpath.join(top, m)) for m in move.markers]


def marker_present(engine: Any, container_id: str, move: PathMove) -> bool:
    """Any of the init markers exists at the data path, as the container sees it (no markers known: True)."""
    return not move.markers or any(engine.stat(container_id, posixpath.join(move.mount_target, m)) is not None for m in move.markers)


def _empty_dataset(fp: dict[str, Any] | None) -> bool:
    """A fingerprint that says there is nothing to lose (a redis with no keys writes no dump)."""
    if not fp:
        return False
    data = fp.get("data") or {}
    if fp.get("kind") == "redis":
        return sum(d.get("keys", 0) for d in data.get("dbs", {}).values()) == 0
    return False


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
    summary = f"{checked} archive(s): sha256, entry count, init marker and entry types checked"
    if stripped:
        summary += f"; setuid/setgid removed from {len(stripped)}"
    return {"summary": summary, "stripped": stripped}


def check_restore_space(space: dict[str, int]) -> None:
    """Measured on the archive, not estimated: every byte of every file, less the holes holdfast writes as holes."""
    by_device: dict[int, tuple[str, int]] = {}
    for parent, need in space.items():
        device = os.stat(parent).st_dev
        where, total = by_device.get(device, (parent, 0))
        by_device[device] = (where, total + need)
    for where, need in by_device.values():
        free = _free_bytes(where)
        if free is not None and free < need + 16 * 1024 * 1024:
            raise Refused(f"not enough space to restore: {human_bytes(need)} of files to write on {where}, {human_bytes(free)} free; nothing was removed")


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
    return {"removed": removed, "volumes": volumes, "summary": f"kept volume(s) {', '.join(v[:12] for v in kept)} as a second backup" if kept else "containers removed"}


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


def restore_archive(
    ctx: RunContext,
    service: ServicePlan,
    move: PathMove,
    path: str,
    info: dict[str, Any],
    *,
    allow_partial: bool,
    label: str,
    on_extract: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Extract the archive into the bind folder through a never-started helper container of the same image.

    `allow_partial`: the journal says an earlier run of this step began extracting
    into this target, so what is there is our own partial copy (a subset of the
    archive) and extracting again over it completes it; anything else there is
    someone's data and a refusal."""
    engine = ctx.engine
    local = engine.endpoint.local
    folder = prepare_bind_folder(ctx.plan, move) if local else None
    helper = engine.create_helper(service.container.image_id, {move.bind_source: move.mount_target}, ctx.plan.id[:12])
    try:
        if not allow_partial and not _target_empty(ctx, helper, move):
            raise Refused(
                f"the bind target {move.bind_source} is not empty; holdfast restores only into an empty folder",
                [f"move it aside (mv {move.bind_source} {move.bind_source}.old) and re-run the same command"],
            )
        with open(path, "rb") as handle:
            index = index_file(handle)
        top = posixpath.basename(move.mount_target.rstrip("/")) or "."
        found = tarfilter.check_entries(index.entries, top)
        tarfilter.refuse_if_needed(found, f"{service.name}:{move.mount_target}", ctx.backup_dir)
        on_extract()
        parent = posixpath.dirname(move.mount_target.rstrip("/")) or "/"
        report = tarfilter.StreamReport()
        progress = ctx.console.progress(label, info.get("bytes"))
        holes = os.open(path, os.O_RDONLY) if folder is not None else None  # sparse files: only a local engine's folder can be written directly
        try:
            with open(path, "rb") as handle:
                _put(ctx, helper, move, counted(tarfilter.restore_stream(handle, top, parent, report, holes_fd=holes), progress))
            if holes is not None and report.deferred:
                check_same_folder(move, folder)
                for item in report.deferred:
                    write_deferred(holes, move, item, top)
        finally:
            progress.finish()
            if holes is not None:
                os.close(holes)
        top_entry = next((e for e in index.entries if e.name == top), None)
        if top_entry is not None:  # its real mode, now that the tree is complete (0700 while it filled)
            _put(ctx, helper, move, tarfilter.top_entry(top_entry, top, parent))
        if folder is not None:
            check_same_folder(move, folder)
            note_readable(ctx, move, top_entry)
        problems = compare_restored(ctx, helper, move, index.entries)
        if problems:
            raise StepFailed(f"the restored tree in {move.bind_source} differs from the archive: " + "; ".join(problems[:5]))
        if not marker_present(engine, helper, move) and not _empty_dataset(ctx.fingerprints().get(service.name)):
            raise StepFailed(f"no init marker ({', '.join(move.markers)}) in {move.bind_source} after the restore")
        out: dict[str, Any] = {"entries": index.count, "bytes": index.file_bytes}
        if report.stripped:
            out["stripped"] = len(report.stripped)
        return out
    finally:
        engine.remove_helper(helper)


def _put(ctx: RunContext, helper: str, move: PathMove, chunks: Any) -> None:
    """put_archive at `/` (entries carry their full path); a full disk becomes one clear line."""
    try:
        ctx.engine.put_archive(helper, "/", chunks)
    except (Refused, StepFailed):
        raise
    except Exception as exc:  # noqa: BLE001 - the daemon's error text is all there is
        if "no space left" in str(exc).lower() or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):
            raise _disk_full(move) from None
        raise


def _disk_full(move: PathMove) -> StepFailed:
    return StepFailed(
        f"the disk holding {move.bind_source} is full: the restore stopped part-way; every archive and the old volume are kept. "
        "Free space, then run the same command again (it completes the restore) or roll back"
    )


def write_deferred(source: int, move: PathMove, item: tarfilter.Deferred, top: str) -> None:
    """Write a sparse file's data ranges into the placeholder the daemon created (owner and mode are already right)."""
    below = tarfilter.Deferred(item.name[len(top) + 1 :], item.offset, item.size, item.mtime)
    try:
        tarfilter.write_sparse(source, move.bind_source, below)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise _disk_full(move) from None
        raise StepFailed(f"writing the sparse file {item.name!r} into {move.bind_source} failed: {exc}; every archive is kept") from None


def counted(chunks: Iterator[bytes], progress: Any) -> Iterator[bytes]:
    done = 0
    for chunk in chunks:
        done += len(chunk)
        progress.update(done)
        yield chunk


def prepare_bind_folder(plan: Plan, move: PathMove) -> tuple[int, int]:
    """Create the bind folder 0700 (no other local user may enter it while it fills) and return its (device, inode).

    Checked again after the restore: a folder swapped for a link meanwhile is noticed."""
    check_bind_target(plan, move)
    if not os.path.lexists(move.bind_source):
        os.makedirs(os.path.dirname(move.bind_source), exist_ok=True)
        os.mkdir(move.bind_source, 0o700)
    info = os.lstat(move.bind_source)
    if not stat.S_ISDIR(info.st_mode):
        raise Refused(f"the bind target {move.bind_source} is not a folder")
    if info.st_uid != os.geteuid():  # an empty folder someone else made: theirs no more while it fills
        os.chown(move.bind_source, os.geteuid(), os.getegid(), follow_symlinks=False)
    os.chmod(move.bind_source, 0o700, follow_symlinks=False)
    return info.st_dev, info.st_ino


def note_readable(ctx: RunContext, move: PathMove, top: Entry | None) -> None:
    """The bind folder keeps the container's mode (the server needs it); say so when that lets every local user in."""
    parent = os.path.dirname(move.bind_source.rstrip("/"))
    if top is not None and top.mode & 0o005 and os.stat(parent).st_mode & 0o001:
        ctx.warn(
            f"{move.bind_source} has mode {top.mode & 0o777:04o} as in the container, inside a folder every local user may enter: "
            f"they can read the data. If they should not: chmod o-rwx {move.bind_source}"
        )


def check_same_folder(move: PathMove, folder: tuple[int, int]) -> None:
    info = os.lstat(move.bind_source)
    if (info.st_dev, info.st_ino) != folder or not stat.S_ISDIR(info.st_mode):
        raise StepFailed(f"the bind target {move.bind_source} was replaced while the restore wrote into it; not trusting what is there (the archives are kept)")


def put_back(engine: Any, container_id: str, move: PathMove, path: str, progress: Any) -> None:
    """A rollback's restore into the ORIGINAL volume: the archive as it was (modes untouched, it goes back under
    the Docker data root), entries renamed to their full path and unpacked at `/`, because the daemon aborts
    on a relative link that leaves the folder it unpacks into (`data/x -> ../../../etc` is legal data)."""
    top = posixpath.basename(move.mount_target.rstrip("/")) or "."
    parent = posixpath.dirname(move.mount_target.rstrip("/")) or "/"
    with open(path, "rb") as handle:
        stream = tarfilter.restore_stream(handle, top, parent, tarfilter.StreamReport(), top_mode=None, strip=False)
        engine.put_archive(container_id, "/", counted(stream, progress))


def read_chunks(path: str, progress: Any) -> Iterator[bytes]:
    done = 0
    with open(path, "rb") as handle:
        while True:
            block = handle.read(CHUNK)
            if not block:
                return
            done += len(block)
            progress.update(done)
            yield block


def _target_empty(ctx: RunContext, helper: str, move: PathMove) -> bool:
    if ctx.engine.endpoint.local:
        if not bind_is_empty_locally(move.bind_source):
            return False
        if os.path.isdir(move.bind_source):
            for name in clear_empty_folders(move.bind_source):
                ctx.warn(f"removed the empty folder {os.path.join(move.bind_source, name)} (a mountpoint left by the old layout)")
        return True
    index = TarIndex(keep_entries=False)
    for chunk in ctx.engine.get_archive(helper, move.mount_target):
        index.feed(chunk)
        if index.count > 1:
            return False
    return index.count <= 1


def compare_restored(ctx: RunContext, helper: str, move: PathMove, entries: list[Entry]) -> list[str]:
    """Differences between the archive's entries and the restored folder (names, types, sizes, modes, owners)."""
    top = posixpath.basename(move.mount_target.rstrip("/")) or "."
    expected: dict[str, Entry] = {}
    for entry in entries:
        if entry.name == top:
            expected["."] = entry
        elif entry.name.startswith(top + "/"):
            expected[entry.name[len(top) + 1 :]] = entry
    if ctx.engine.endpoint.local and os.path.isdir(move.bind_source):
        actual = _walk(move.bind_source)
    else:
        index = TarIndex()
        for chunk in ctx.engine.get_archive(helper, move.mount_target):
            index.feed(chunk)
        actual = {}
        for entry in index.entries:
            name = "." if entry.name == top else entry.name[len(top) + 1 :] if entry.name.startswith(top + "/") else None
            if name is not None:
                actual[name] = entry
    problems: list[str] = []
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {', '.join(tarfilter.shown(n) for n in missing[:3])})")
    if extra:
        problems.append(f"{len(extra)} unexpected (e.g. {', '.join(tarfilter.shown(n) for n in extra[:3])})")
    owners = 0
    for name, want in expected.items():
        have = actual.get(name)
        if have is None:
            continue
        want_type = "file" if want.type == "hardlink" else want.type
        want_mode = want.mode if want.type == "symlink" else want.mode & ~tarfilter.PRIVILEGE_BITS
        if want_type != have.type:
            problems.append(f"{tarfilter.shown(name)}: {want.type} in the archive, {have.type} on disk")
        elif want.type == "file" and want.size != have.size:
            problems.append(f"{tarfilter.shown(name)}: {want.size} bytes in the archive, {have.size} on disk")
        elif want.type == "symlink" and have.linkname and want.linkname != have.linkname:
            problems.append(f"{tarfilter.shown(name)}: link to {want.linkname!r} in the archive, to {have.linkname!r} on disk")
        elif want.type != "symlink" and want_mode != have.mode:
            problems.append(f"{tarfilter.shown(name)}: mode {oct(want_mode)} in the archive, {oct(have.mode)} on disk")
        if (want.uid, want.gid) != (have.uid, have.gid):
            owners += 1
    if owners:
        ctx.warn(f"{owners} restored entries in {move.bind_source} have other numeric owners than in the container (user-namespace remapping?)")
    return problems


_KINDS = ((stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"), (stat.S_ISREG, "file"), (stat.S_ISFIFO, "fifo"), (stat.S_ISBLK, "blockdev"), (stat.S_ISCHR, "chardev"))


def _walk(root: str) -> dict[str, Entry]:
    """The restored tree as entries, by exact name (iterative, links read, never followed)."""
    out: dict[str, Entry] = {}
    base = os.fsencode(root)
    for name, st in fstree.walk_tree(root):
        kind = next((k for test, k in _KINDS if test(st.st_mode)), "other")
        link = ""
        if kind == "symlink":
            link = os.readlink(os.path.join(base, name.encode("utf-8", "surrogateescape"))).decode("utf-8", "surrogateescape")
        out[name] = Entry(name, kind, st.st_size if kind == "file" else 0, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, link)
    return out


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

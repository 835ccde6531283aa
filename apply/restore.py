"""One data path from the container to the host: the archive, the bind folder, the restore and its comparison.

The steps in `steps.py` decide WHEN; this module does the work on files and
streams, with the container's data treated as hostile (see SECURITY.md): the
archive is written without following links and removed when it fails; the bind
folder is a real folder, created 0700, never reached through a link; the restore
goes through `tarfilter` (no setuid/setgid bit, no device, nothing outside the
tree), sparse files keep their holes on a local engine, and the restored tree is
compared with the archive name by name, byte for byte, without following a link.
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import stat
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from holdfast.apply import fstree, tarfilter
from holdfast.apply.console import human_bytes
from holdfast.apply.errors import Refused, StepFailed
from holdfast.apply.journal import fsync_dir
from holdfast.apply.plan import PathMove, Plan, ServicePlan
from holdfast.apply.tarindex import Entry, TarIndex, index_file
from holdfast.mounts import normalise_path

if TYPE_CHECKING:
    from holdfast.apply.steps import RunContext

CHUNK = 1024 * 1024


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
            writer = fstree.HoleWriter(fd)
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


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


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
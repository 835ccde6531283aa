"""What of a container's data may be restored onto the host, and the stream that restores it.

The data in a container is attacker-controlled, and the restore runs as root. Before
the rescue, a setuid binary or a device node in a container's data sat under the
Docker data root, which other users cannot enter; restored into `./data` beside
the compose file, it would be a way to root for every local user. So:

* setuid and setgid bits are removed from every entry (files, folders, hard links);
  the names are reported;
* block and character devices are refused, and so is any entry type the Docker
  daemon does not write (GNU sparse, multi-volume, contiguous ...), names or link
  targets that leave the tree, and a hard link to something that is not an earlier
  file of the same tree. `check_entries` finds these at verify-archive time, BEFORE
  anything is removed; the stream refuses them again while restoring;
* FIFOs are restored as FIFOs (no data, no privilege: a server may expect them);
  sockets never reach an archive (the daemon skips them);
* symbolic links are restored as links, whatever they point at: the daemon unpacks
  inside the container's own root, and holdfast's walks never follow them.

`restore_stream` reads the archive file one entry at a time (memory stays bounded:
one header and a 1 MiB buffer) and yields a new tar stream for `put_archive`: the
entries renamed to their full path inside the container, so the daemon unpacks
at `/` and a relative link such as `../../../etc` (legal in the data) cannot trip
its "breakout" check half-way through; modes sanitised; the top folder kept at
0700 while it fills (`top_mode`), its real mode put back at the end by `top_entry`.
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from holdfast.apply.errors import Refused
from holdfast.apply.tarindex import Entry

CHUNK = 1024 * 1024
PRIVILEGE_BITS = 0o6000  # setuid | setgid
SHOWN = 3  # names quoted in one line


@dataclass
class Findings:
    """What a check of an archive's entries found."""

    stripped: list[str] = field(default_factory=list)  # setuid/setgid removed
    devices: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # a type holdfast does not restore
    escaping: list[str] = field(default_factory=list)  # a name or hard link leaving the tree
    fifos: int = 0

    @property
    def refusals(self) -> list[str]:
        out = []
        if self.devices:
            out.append(f"{len(self.devices)} device node(s) ({_some(self.devices)}): restored on the host they would give local users raw access to a device")
        if self.unsupported:
            out.append(f"{len(self.unsupported)} entr(ies) of a kind holdfast does not restore ({_some(self.unsupported)})")
        if self.escaping:
            out.append(f"{len(self.escaping)} entr(ies) reaching outside the data folder ({_some(self.escaping)})")
        return out

    def stripped_note(self, where: str) -> str | None:
        if not self.stripped:
            return None
        return f"{where}: removed the setuid/setgid bit from {len(self.stripped)} entr(ies) ({_some(self.stripped)}); they are restored without it"


def shown(name: str) -> str:
    """A name from the data as it may be printed: newlines, escape bytes and invalid UTF-8 spelled out, never sent to the terminal."""
    return repr(name)[1:-1]


def _some(names: list[str]) -> str:
    text = ", ".join(shown(n) for n in names[:SHOWN])
    return text + (", ..." if len(names) > SHOWN else "")


def inside(name: str, top: str) -> bool:
    """`name` is `top` or below it, with no `..` and not absolute."""
    if name.startswith("/") or ".." in name.split("/"):
        return False
    return name == top or name.startswith(top + "/")


def check_entries(entries: Iterable[Entry], top: str) -> Findings:
    """Sort an archive's entries (from the tar index) into what is stripped, kept or refused."""
    found = Findings()
    files: set[str] = set()
    for entry in entries:
        if not inside(entry.name, top):
            found.escaping.append(entry.name)
            continue
        if entry.type in ("blockdev", "chardev"):
            found.devices.append(entry.name)
            continue
        if entry.type == "other":
            found.unsupported.append(entry.name)
            continue
        if entry.type == "fifo":
            found.fifos += 1
        if entry.type == "hardlink":
            target = posixpath.normpath(entry.linkname) if entry.linkname else ""
            if not inside(target, top) or target not in files:
                found.escaping.append(f"{entry.name} -> {entry.linkname}")
                continue
        if entry.type == "file":
            files.add(entry.name)
        if entry.type != "symlink" and entry.mode & PRIVILEGE_BITS:
            found.stripped.append(entry.name)
    return found


def refuse_if_needed(found: Findings, where: str, backups: str) -> None:
    """One line naming what cannot be restored, raised as a refusal."""
    if found.refusals:
        raise Refused(f"not restoring {where}: its data holds " + "; ".join(found.refusals) + f". Nothing was restored; every backup is kept ({backups})")


# ------------------------------------------------------------------ the stream
_KINDS = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "other",  # contiguous files: not written by the daemon
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
    tarfile.FIFOTYPE: "fifo",
    tarfile.BLKTYPE: "blockdev",
    tarfile.CHRTYPE: "chardev",
}


def _kind(info: tarfile.TarInfo) -> str:
    if info.sparse is not None:
        return "other"
    return _KINDS.get(info.type, "other")


@dataclass(frozen=True)
class Deferred:
    """A sparse file sent as an empty placeholder; holdfast writes its data ranges itself."""

    name: str  # as in the archive (`data/x`)
    offset: int  # of its data in the archive file
    size: int
    mtime: int


@dataclass
class StreamReport:
    entries: int = 0
    stripped: list[str] = field(default_factory=list)
    deferred: list[Deferred] = field(default_factory=list)


SPARSE_MIN = 1024 * 1024  # smaller files are sent whole


def has_hole(fd: int, start: int, end: int) -> bool:
    """The archive file has a hole (zeros never written, see HoleWriter) between `start` and `end`."""
    try:
        return os.lseek(fd, start, os.SEEK_HOLE) < end
    except OSError:  # no SEEK_HOLE on this file system
        return False


def hole_bytes(fd: int) -> int:
    """Bytes of the archive file that are holes (what a sparse-aware restore does not write)."""
    size = os.fstat(fd).st_size
    position = total = 0
    try:
        while position < size:
            hole = os.lseek(fd, position, os.SEEK_HOLE)
            if hole >= size:
                break
            try:
                data = os.lseek(fd, hole, os.SEEK_DATA)
            except OSError:  # ENXIO: a hole up to the end
                data = size
            total += data - hole
            position = data
    except OSError:
        return 0
    return total


def restore_stream(
    handle: BinaryIO,
    top: str,
    prefix: str,
    report: StreamReport,
    top_mode: int | None = 0o700,
    holes_fd: int | None = None,
    strip: bool = True,
) -> Iterator[bytes]:
    """A sanitised copy of the archive in `handle`, entries renamed from `top/...` to `prefix/top/...`.

    `holes_fd`: another descriptor of the same archive file (its offset is moved by hole
    queries, so not `handle`'s). Given, a file of at least 1 MiB whose data holds a hole is sent as an empty placeholder (listed in `report.deferred`), because the daemon
    would write every zero of it; the caller then writes only its data ranges.
    `strip=False` keeps setuid/setgid bits: only for a rollback into the container's own
    volume, under the Docker data root, where the data lived before.
    Raises `Refused` on the first entry that `check_entries` would refuse (the archive
    was checked before; this is the second line of defence)."""
    tar = tarfile.open(fileobj=handle, mode="r:", encoding="utf-8", errors="surrogateescape")
    files: set[str] = set()
    lead = prefix.strip("/")

    def full(name: str) -> str:
        return f"{lead}/{name}" if lead else name

    while True:
        info = tar.next()
        tar.members.clear()  # bounded memory: holdfast never looks back through the list
        if info is None:
            break
        name = posixpath.normpath(info.name.rstrip("/")) if info.name not in ("", ".") else "."
        kind = _kind(info)
        if not inside(name, top):
            raise Refused(f"the archive entry {name!r} lies outside {top}/; not restoring it")
        if kind in ("blockdev", "chardev", "other"):
            raise Refused(f"the archive entry {name!r} is a {kind if kind != 'other' else 'kind of entry holdfast does not restore'}; not restoring it")
        out = tarfile.TarInfo(full(name))
        out.type = info.type
        out.uid, out.gid, out.uname, out.gname = info.uid, info.gid, info.uname, info.gname
        out.mtime = info.mtime
        mode = info.mode & 0o7777
        if strip and kind != "symlink" and mode & PRIVILEGE_BITS:
            mode &= ~PRIVILEGE_BITS
            report.stripped.append(name)
        if name == top and kind == "dir" and top_mode is not None:
            mode = top_mode
        out.mode = mode
        if kind == "symlink":
            out.linkname = info.linkname  # kept verbatim: a link is restored as a link
        elif kind == "hardlink":
            target = posixpath.normpath(info.linkname)
            if not inside(target, top) or target not in files:
                raise Refused(f"the hard link {name!r} points at {info.linkname!r}, not at an earlier file of {top}/; not restoring it")
            out.linkname = full(target)
        send = 0
        if kind == "file":
            files.add(name)
            send = info.size
            if holes_fd is not None and info.size >= SPARSE_MIN and has_hole(holes_fd, info.offset_data, info.offset_data + info.size):
                report.deferred.append(Deferred(name, info.offset_data, info.size, int(info.mtime)))
                send = 0
            out.size = send
        yield out.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        report.entries += 1
        if send:
            yield from _data(handle, info.offset_data, send)
    yield b"\0" * (tarfile.BLOCKSIZE * 2)


def _data(handle: BinaryIO, offset: int, size: int) -> Iterator[bytes]:
    handle.seek(offset)
    left = size
    while left:
        block = handle.read(min(CHUNK, left))
        if not block:
            raise Refused(f"the archive ends inside a file ({left} bytes missing); not restoring from it")
        left -= len(block)
        yield block
    pad = -size % tarfile.BLOCKSIZE
    if pad:
        yield b"\0" * pad


def top_entry(entry: Entry, top: str, prefix: str) -> bytes:
    """A one-folder archive that gives the restored top folder its final owner and mode (setuid/setgid removed)."""
    lead = prefix.strip("/")
    info = tarfile.TarInfo(f"{lead}/{top}" if lead else top)
    info.type = tarfile.DIRTYPE
    info.mode = entry.mode & ~PRIVILEGE_BITS & 0o7777
    info.uid, info.gid = entry.uid, entry.gid
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape") + b"\0" * (tarfile.BLOCKSIZE * 2)


# ------------------------------------------------------------- sparse files
def open_below(root: str, name: str) -> int:
    """Open the regular file `name` (relative, `/`-separated) under `root` for writing, following no link
    at any level (every folder is opened with O_NOFOLLOW relative to the one before)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    fd = os.open(root, flags)
    try:
        parts = name.encode("utf-8", "surrogateescape").split(b"/")
        for part in parts[:-1]:
            child = os.open(part, flags, dir_fd=fd)
            os.close(fd)
            fd = child
        target = os.open(parts[-1], os.O_WRONLY | os.O_NOFOLLOW, dir_fd=fd)
    finally:
        os.close(fd)
    info = os.fstat(target)
    if not (info.st_mode & 0o170000 == 0o100000):
        os.close(target)
        raise OSError(f"{name} is not a regular file")
    return target


def write_sparse(source: int, root: str, item: Deferred) -> None:
    """Copy only the data ranges of a deferred file from the archive (descriptor `source`) into its placeholder under `root`."""
    fd = open_below(root, item.name)
    try:
        start, end = item.offset, item.offset + item.size
        position = start
        while position < end:
            try:
                data = os.lseek(source, position, os.SEEK_DATA)
            except OSError:
                break  # only holes remain
            if data >= end:
                break
            hole = min(os.lseek(source, data, os.SEEK_HOLE), end)
            while data < hole:
                block = os.pread(source, min(CHUNK, hole - data), data)
                if not block:
                    raise OSError(f"the archive ends inside {item.name}")
                os.pwrite(fd, block, data - start)
                data += len(block)
            position = hole
        os.ftruncate(fd, item.size)
        os.fsync(fd)
        os.utime(fd, (item.mtime, item.mtime))
    finally:
        os.close(fd)

"""Host-side folder work that hostile data cannot steer: no recursion, no link followed.

The restored tree is the container's data, so it may hold symbolic links to
anywhere (relative, absolute, loops), names with any byte but `/` and NUL, and
trees far deeper than Python's recursion limit. Every walk here is iterative,
uses `lstat` only (a link is reported as a link, never entered), and works on
bytes so a name that is not valid UTF-8 compares exactly; names come back as
`str` decoded with `surrogateescape`, the same way the tar index decodes them,
so the two sides compare byte for byte.

The folders holdfast creates for itself (the backup folder, the bind folder
while the restore writes into it) are made so other local users cannot reach
into them: mode 0700, owned by the user holdfast runs as, refused when a
symlink or a folder someone else controls stands there.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from holdfast.apply.errors import Refused


def _decode(name: bytes) -> str:
    return name.decode("utf-8", "surrogateescape")


def walk_tree(root: str) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under `root` as (relative name with `/`, lstat), the root itself as ".".

    Iterative (an explicit stack: a 100,000-deep tree is fine) and never follows a
    link: a symlink to a folder is yielded as the link and not entered."""
    top = os.fsencode(root)
    yield ".", os.lstat(top)
    stack: list[tuple[bytes, bytes]] = [(top, b"")]
    while stack:
        directory, prefix = stack.pop()
        with os.scandir(directory) as entries:
            found = [(entry.name, entry.path) for entry in entries]
        for name, path in sorted(found):
            info = os.lstat(path)
            rel = prefix + name
            yield _decode(rel), info
            if stat.S_ISDIR(info.st_mode):
                stack.append((path, rel + b"/"))


def holds_data(root: str) -> bool:
    """True when `root` holds anything but empty folders (a file, a link, a device, a FIFO ...)."""
    if not os.path.lexists(root):
        return False
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode):
        return True
    return any(not stat.S_ISDIR(st.st_mode) for _name, st in walk_tree(root))


def remove_empty_folders(root: str) -> list[str]:
    """`rmdir` every folder under `root`, deepest first (it cannot delete data); the names removed."""
    folders = [name for name, st in walk_tree(root) if name != "." and stat.S_ISDIR(st.st_mode)]
    folders.sort(key=lambda n: n.count("/"), reverse=True)
    for name in folders:
        os.rmdir(os.path.join(os.fsencode(root), os.fsencode(name)))
    return folders


def symlink_below(path: str, trusted: str) -> str | None:
    """The first component of `path` below the folder `trusted` that is a symbolic link (None: none is).

    Components at or above `trusted` are the operator's own choice (the project folder
    may itself live behind a link); below it, anyone who can write the project folder
    could plant a link that sends root's writes elsewhere."""
    path = os.path.abspath(path)
    trusted = os.path.abspath(trusted)
    if os.path.commonpath([path, trusted]) != trusted:
        return None
    current = trusted
    for part in os.path.relpath(path, trusted).split(os.sep):
        if part in ("", "."):
            continue
        current = os.path.join(current, part)
        if os.path.islink(current):
            return current
        if not os.path.exists(current):
            return None
    return None


def private_dir(path: str, what: str) -> None:
    """Make `path` a folder only holdfast's user can enter (0700); refuse one that someone else controls.

    Refused: a symlink at `path`, something other than a folder, a folder owned by
    another user, or one that others may write (they could swap files in it)."""
    if not os.path.lexists(path):
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise Refused(f"the {what} {path} is a symbolic link (to {os.readlink(path)}); holdfast writes only into a real folder it controls")
    if not stat.S_ISDIR(info.st_mode):
        raise Refused(f"the {what} {path} exists and is not a folder")
    if info.st_uid != os.geteuid():
        raise Refused(f"the {what} {path} belongs to user {info.st_uid}, not to the user holdfast runs as ({os.geteuid()}); use a folder of your own")
    if stat.S_IMODE(info.st_mode) & 0o022:
        raise Refused(f"the {what} {path} is writable by other users (mode {stat.S_IMODE(info.st_mode):04o}); chmod go-w it or use another folder")
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)


def open_new_file(path: str) -> int:
    """Open `path` for writing (created 0600, truncated), never through a symbolic link."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)


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
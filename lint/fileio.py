"""Reading and writing files safely.

Reads: only regular files, never more than a limit (a FIFO would hang, `/dev/zero`
would fill memory). Writes: keep owner, group, mode and hard links, refuse read-only files
(see `write_bytes_atomic`); the caller keeps the bytes' style.
"""

from __future__ import annotations

import os
import stat

DEFAULT_READ_LIMIT = 16 * 1024 * 1024


class UnreadableFile(OSError):
    """A path that is not a regular file, is too large, or cannot be opened; the message is one line."""


def read_regular_file(path: str, limit: int = DEFAULT_READ_LIMIT) -> bytes:
    """The bytes of `path`, which must be a regular file (symlinks to one are fine) of at most `limit` bytes.

    Opened with O_NONBLOCK so that a FIFO swapped in after the check cannot block,
    and checked with fstat on the opened descriptor, so the check and the read are
    about the same file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnreadableFile(exc.errno, f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"not a regular file ({_kind(info.st_mode)})")
        if info.st_size > limit:
            raise UnreadableFile(f"file is {info.st_size} bytes, larger than the {limit} byte limit")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1024 * 1024, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise UnreadableFile(f"file grew past the {limit} byte limit while being read")
        return b"".join(chunks)
    except UnreadableFile:
        raise
    except OSError as exc:
        raise UnreadableFile(exc.errno, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


class ReadOnlyFile(PermissionError):
    """The file to rewrite has no write permission bit: refused unless the caller allows it."""


def write_bytes_atomic(path: str, data: bytes, *, allow_readonly: bool = False) -> None:
    """Replace the contents of `path` with `data`, keeping what the file is: owner, group, mode, links.

    - A symlink is followed: the file it points to is rewritten, the link stays a link.
    - A file without any write permission bit (0444) is refused with `ReadOnlyFile`
      unless `allow_readonly` (root could write it, but the mode says "do not touch").
    - A file with one link is replaced atomically: a temporary file beside it gets the
      data, is fsynced, gets the original mode and (fchown) owner and group, then is
      renamed over it, so a crash leaves either the old or the new file. When the owner
      cannot be kept (not root, file owned by someone else) the file is rewritten in
      place instead, which keeps its owner.
    - A file with several hard links is rewritten in place (a rename would detach this
      name from the others): the new bytes are written from the start, the file is
      truncated to their length and fsynced. Not atomic: a crash in the middle can
      leave a mix, which is why only hard-linked files take this path.
    - A new file gets the umask's default mode and the caller's owner.
    """
    target = os.path.realpath(path)
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    if info is not None:
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"{path}: not a regular file ({_kind(info.st_mode)}); not written")
        if not info.st_mode & 0o222 and not allow_readonly:
            raise ReadOnlyFile(f"{path}: the file is read-only (mode {stat.S_IMODE(info.st_mode):04o}); not written (make it writable, or pass --force-readonly)")
        if info.st_nlink > 1:
            _rewrite_in_place(target, data)
            return
    directory = os.path.dirname(target)
    import tempfile  # only when writing: it costs start-up time on every lint

    fd, temp = tempfile.mkstemp(prefix=".holdfast-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if info is not None:
                os.fchmod(handle.fileno(), stat.S_IMODE(info.st_mode))
                if (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
                    try:
                        os.fchown(handle.fileno(), info.st_uid, info.st_gid)
                    except PermissionError:
                        handle.close()
                        os.unlink(temp)
                        _rewrite_in_place(target, data)  # keeps the owner we may not give away
                        return
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(handle.fileno(), 0o666 & ~umask)
            os.fsync(handle.fileno())
        os.replace(temp, target)
        fsync_directory(directory)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _rewrite_in_place(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"{path}: not a regular file ({_kind(info.st_mode)}); not written")
        view = memoryview(data)
        offset = 0
        while offset < len(view):
            offset += os.pwrite(fd, view[offset:], offset)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(directory: str) -> None:
    """Make a new directory entry (a created or renamed file) durable too; best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text_atomic(path: str, text: str, *, allow_readonly: bool = False) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), allow_readonly=allow_readonly)

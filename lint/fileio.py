"""Reading and writing files safely.

Reads: only regular files, never more than a limit (a FIFO would hang, `/dev/zero`
would fill memory). Writes: atomic replace that keeps the file's mode (and, by the
caller, its bytes' style).
"""

from __future__ import annotations

import os
import stat
import tempfile

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


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it, keeping the mode."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    fd, temp = tempfile.mkstemp(prefix=".holdfast-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def write_text_atomic(path: str, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))

"""The apply journal (JSON lines beside the backup) and the per-project lock.

Every step's start and end is one line, flushed and fsynced before the step's
effects can matter, so a process killed at any instant leaves a journal that says
exactly which steps finished. A re-run resumes after the last finished step;
`--rollback` reads the same lines to know what to undo (which containers ran,
which archive holds which path, which file was patched).

Attempts: a run that undid itself before anything destructive (or a rollback)
ends its attempt; the next `apply` starts a fresh attempt from step one.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from holdfast.apply.errors import Refused
from holdfast.fileio import fsync_directory as fsync_dir  # noqa: F401 - also used by apply.restore

TERMINAL_RESET = ("undone", "rolled-back")  # the project is back as it was: the next apply starts over


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def open_nofollow(path: str, flags: int, mode: int = 0o600, what: str = "file") -> int:
    """os.open that never follows a symlink in the last component and opens regular files only.

    A symlink (ELOOP), or anything but a regular file, is a `Refused` with one line:
    holdfast runs as root, and whoever can write the project folder must not be able
    to point one of its files at /etc/shadow."""
    try:
        fd = os.open(path, flags | NOFOLLOW | CLOEXEC | getattr(os, "O_NONBLOCK", 0), mode)
    except OSError:
        if os.path.islink(path):
            raise Refused(f"the {what} {path} is a symbolic link; holdfast does not follow links there (remove it and run again)") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Refused(f"the {what} {path} is not a regular file; holdfast does not write to it (remove it and run again)")
    return fd


def refuse_link(path: str, what: str) -> None:
    """Refuse a path holdfast is about to create or write when it is a symlink (or not a regular file)."""
    if os.path.islink(path):
        raise Refused(f"the {what} {path} is a symbolic link; holdfast does not follow links there (remove it and run again)")
    if os.path.lexists(path) and not os.path.isfile(path):
        raise Refused(f"the {what} {path} is not a regular file; holdfast does not write to it (remove it and run again)")


class Journal:
    """Append-only JSON lines; a torn last line (power cut mid-write) is ignored on read.

    Opened with O_NOFOLLOW, created 0600, never truncated; a journal file that is
    not one of holdfast's (its first line is not a journal record) is refused."""

    def __init__(self, path: str):
        self.path = path

    @property
    def exists(self) -> bool:
        return os.path.lexists(self.path)

    def _read(self) -> bytes:
        fd = open_nofollow(self.path, os.O_RDONLY, what="journal")
        with os.fdopen(fd, "rb") as handle:
            return handle.read()

    def records(self) -> list[dict[str, Any]]:
        if not self.exists:
            return []
        out = []
        lines = self._read().decode("utf-8", "replace").splitlines()
        for number, line in enumerate(lines):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict) or "event" not in record:
                if not out and number == 0:
                    raise Refused(f"{self.path} is not a holdfast journal; not touching it (use another --backup-dir)")
                continue  # torn write: the step it belonged to counts as not finished
            out.append(record)
        return out

    def check(self) -> None:
        """Refuse now (before anything changes) a journal path that is a link or a foreign file."""
        if self.exists:
            self.records()
        else:
            refuse_link(self.path, "journal")

    def append(self, record: dict[str, Any]) -> None:
        record = {"ts": now_iso(), **record}
        directory = os.path.dirname(os.path.abspath(self.path))
        created = not self.exists
        os.makedirs(directory, mode=0o700, exist_ok=True)
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        fd = open_nofollow(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600, what="journal")
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = "\n" + line  # a torn last line (killed mid-write) must not swallow this record
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(directory)

    # ---------------------------------------------------------------- state
    def plan_id(self) -> str | None:
        for record in self.records():
            if record.get("event") == "begin":
                return record.get("plan_id")
        return None

    def last_terminal(self) -> str | None:
        """The last of completed / undone / rolled-back, or None while an attempt is open."""
        last = None
        for record in self.records():
            event = record.get("event")
            if event in ("completed", *TERMINAL_RESET):
                last = event
            elif event == "begin" and record.get("mode") == "apply" and last in TERMINAL_RESET:
                last = None  # a fresh attempt began after the reset
        return last

    def current_attempt(self) -> int:
        attempts = [r.get("attempt", 1) for r in self.records() if r.get("event") == "begin" and r.get("mode") == "apply"]
        return max(attempts) if attempts else 0

    def next_attempt(self) -> int:
        """The attempt a new `apply` run belongs to: the open one, or a new one after a reset."""
        current = self.current_attempt()
        if current == 0:
            return 1
        return current + 1 if self.last_terminal() in TERMINAL_RESET else current

    def results(self, attempt: int | None = None) -> dict[str, dict[str, Any]]:
        """Results of the steps that ended ok in an attempt (the latest by default)."""
        attempt = self.current_attempt() if attempt is None else attempt
        out: dict[str, dict[str, Any]] = {}
        for record in self.records():
            if record.get("attempt") != attempt:
                continue
            if record.get("event") == "end" and record.get("status") == "ok":
                out[record["step"]] = record.get("result") or {}
            elif record.get("event") == "end":
                out.pop(record["step"], None)
        return out

    def progress(self, step: str, attempt: int) -> dict[str, Any]:
        """Sub-results recorded inside a long step (e.g. each path archived), so a resume skips them."""
        out: dict[str, Any] = {}
        for record in self.records():
            if record.get("event") == "progress" and record.get("step") == step and record.get("attempt") == attempt:
                out[record["key"]] = record.get("data")
        return out

    def started(self, step: str, attempt: int) -> bool:
        return any(r.get("event") == "start" and r.get("step") == step and r.get("attempt") == attempt for r in self.records())


def process_start(pid: int) -> str | None:
    """The start time of a process (clock ticks since boot, from /proc), or None when it does not exist.

    pid + start time names one process for good: a pid reused by a later process
    has another start time."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except OSError:
            return "?"
        return "?"  # alive, but no /proc to tell its start time (not Linux)
    fields = text[text.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else "?"


def describe_holder(holder: dict[str, Any]) -> str:
    what = holder.get("what") or "a holdfast run"
    return f"{what}, pid {holder.get('pid', '?')} on {holder.get('host', '?')}, since {holder.get('since', '?')}"


@dataclass
class ProjectLock:
    """An exclusive lock for one Compose project.

    The file is created with O_CREAT|O_EXCL|O_NOFOLLOW (mode 0600), so a symlink
    planted at its name is refused and never followed, and a file that is not a
    holdfast lock is never truncated. The holder keeps an flock on it (released by
    the kernel even on SIGKILL) and writes its pid and process start time into it;
    a lock left by a process that is gone is stale: it is taken over, and said so.
    `release` removes the file (a clean exit leaves no lock behind)."""

    path: str
    fd: int | None = None
    note: str | None = None  # set when a stale lock was taken over

    def acquire(self, what: str) -> ProjectLock:
        import fcntl

        for _attempt in range(5):
            try:
                fd = open_nofollow(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600, what="lock file")
                created = True
            except FileExistsError:
                fd = open_nofollow(self.path, os.O_RDWR, what="lock file")
                created = False
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    holder = self._holder(fd)
                    said = describe_holder(holder) if holder else "another process"
                    raise Refused(f"another holdfast run holds the lock of this project ({said}); wait for it to finish, lock file {self.path}") from None
                if not self._same_file(fd):
                    os.close(fd)  # the holder removed it between our open and our flock: try again
                    continue
                if not created:
                    self.note = self._take_over(fd)
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(self._record(what)).encode("utf-8"), 0)
                os.fsync(fd)
            except BaseException:
                if fd is not None and self.fd != fd:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                raise
            self.fd = fd
            return self
        raise Refused(f"could not take the lock {self.path} (other holdfast runs keep taking it); try again")

    @staticmethod
    def _record(what: str) -> dict[str, Any]:
        return {"holdfast": "apply-lock", "pid": os.getpid(), "start": process_start(os.getpid()), "host": socket.gethostname(), "since": now_iso(), "what": what}

    def _same_file(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    def _holder(self, fd: int) -> dict[str, Any] | None:
        try:
            data = os.pread(fd, 4096, 0)
            holder = json.loads(data.decode("utf-8")) if data.strip() else None
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        return holder if isinstance(holder, dict) and holder.get("holdfast") == "apply-lock" else None

    def _take_over(self, fd: int) -> str | None:
        """We hold the flock of an existing file: it is ours to reuse only if it is a holdfast lock (or empty)."""
        st = os.fstat(fd)
        if st.st_size == 0:
            return None  # just created by a run that has not written it yet, or left empty by an old holdfast
        holder = self._holder(fd)
        if holder is None:
            raise Refused(f"{self.path} exists and is not a holdfast lock file; not touching it (move it away if it is stray)")
        if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
            raise Refused(f"the lock file {self.path} belongs to uid {st.st_uid}, not to this user; not touching it (remove it if it is stale)")
        pid = holder.get("pid")
        start = process_start(pid) if isinstance(pid, int) and pid > 0 else None
        alive = start is not None and holder.get("host") == socket.gethostname() and (start == holder.get("start") or "?" in (start, holder.get("start")))
        if alive and pid != os.getpid():
            # the flock is free but the recorded process runs (a file system without flock?): do not race it
            raise Refused(f"another holdfast run holds the lock of this project ({describe_holder(holder)}); wait for it to finish, lock file {self.path}")
        return f"took over a stale lock left by {describe_holder(holder)} (that process is no longer running)"

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            if self._same_file(self.fd):
                os.unlink(self.path)  # still holding the flock: a waiting run retries on the new file
        except OSError:
            pass
        finally:
            os.close(self.fd)  # closing drops the flock
            self.fd = None


def elapsed(start: float) -> float:
    return round(time.monotonic() - start, 3)

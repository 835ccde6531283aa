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
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from holdfast.apply.errors import Refused

TERMINAL_RESET = ("undone", "rolled-back")  # the project is back as it was: the next apply starts over


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fsync_dir(path: str) -> None:
    """Make a new directory entry (a created or renamed file) durable too."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Journal:
    """Append-only JSON lines; a torn last line (power cut mid-write) is ignored on read."""

    def __init__(self, path: str):
        self.path = path

    @property
    def exists(self) -> bool:
        return os.path.isfile(self.path)

    def records(self) -> list[dict[str, Any]]:
        if not self.exists:
            return []
        out = []
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue  # torn write: the step it belonged to counts as not finished
        return out

    def append(self, record: dict[str, Any]) -> None:
        record = {"ts": now_iso(), **record}
        directory = os.path.dirname(os.path.abspath(self.path))
        created = not self.exists
        os.makedirs(directory, exist_ok=True)
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        if not created and not self._ends_with_newline():
            line = "\n" + line  # a torn last line (killed mid-write) must not swallow this record
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        if created:
            fsync_dir(directory)

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() == 0:
                return True
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

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


@dataclass
class ProjectLock:
    """An exclusive lock for one Compose project (flock: released by the kernel even on SIGKILL)."""

    path: str
    handle: Any = None

    def acquire(self, what: str) -> ProjectLock:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open: the flock lives as long as the handle
        try:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not a POSIX system
            pass
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise Refused(
                f"another holdfast run holds the lock for this project ({holder}); wait for it to finish",
                [f"lock file: {self.path} (released automatically when that process exits)"],
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": now_iso(), "what": what}))
        handle.flush()
        self.handle = handle
        return self

    def release(self) -> None:
        if self.handle is None:
            return
        try:
            self.handle.seek(0)
            self.handle.truncate()
            self.handle.flush()
        finally:
            self.handle.close()  # closing drops the flock
            self.handle = None



def elapsed(start: float) -> float:
    return round(time.monotonic() - start, 3)

"""SIGINT and SIGTERM during an apply or a rollback: stop the step at once, then clean up undisturbed.

The first signal while a step runs raises `Interrupted` (a BaseException, like
KeyboardInterrupt) in the main thread, so a blocked Docker call or stream read is
abandoned there; the executor then closes the open archive streams and puts the
project back in a safe state. Raising at any instant is no worse than a SIGKILL at
that instant (every step is idempotent and journalled), plus the cleanup. A signal
during the cleanup does not interrupt it; it only says so.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived while a step ran (a BaseException, like KeyboardInterrupt: nothing swallows it)."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # 130 for SIGINT, 143 for SIGTERM, as shells report them


class Signals:
    """SIGINT/SIGTERM handling for one apply or rollback.

    While a step runs (`armed`), the first signal raises `Interrupted` at once, so a
    blocked Docker call or stream read stops there and the cleanup runs. Outside a
    step the signal is remembered and raised when the next step would start. A
    signal during the cleanup does not interrupt it (the cleanup is what makes the
    project safe, and it is bounded); it only says so."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.armed = False
        self.cleaning = False
        self.saved: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.saved[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)
        self.saved.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        self.received.append(signum)
        if self.armed and not self.cleaning:
            self.armed = False
            self.cleaning = True
            raise Interrupted(signum)
        if self.cleaning or len(self.received) > 1:
            os.write(2, f"holdfast: {signal.Signals(signum).name} again: already putting the project back in a safe state; this takes a bounded time, please wait\n".encode())

    def pending(self) -> int | None:
        return self.received[0] if self.received else None

    def check(self) -> None:
        """Raise now for a signal that arrived between steps."""
        if self.received and not self.cleaning:
            self.cleaning = True
            raise Interrupted(self.received[0])

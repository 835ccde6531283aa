"""What apply prints: a line per step with its duration, progress while a step runs, prompts.

Plain text only (no colours, no curses): the output of a data rescue ends up
pasted into tickets. While a step runs, its name and elapsed time are shown: on
a terminal as one live line on stderr (with a byte bar where the size is known:
archive, restore), otherwise as a plain line every PERIOD seconds, so a log
shows that a long stop or copy is still going.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from holdfast.reporters._common import plural

PERIOD = float(os.environ.get("HOLDFAST_PROGRESS_PERIOD") or 30)  # seconds between progress lines when not on a terminal


def human_bytes(count: float | None) -> str:
    if count is None:
        return "unknown size"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def human_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


class Progress:
    """A byte counter: redrawn at most 10 times a second on a terminal, one line every PERIOD seconds otherwise."""

    def __init__(self, label: str, total: int | None, console: Console):
        self.label = label
        self.total = total if total and total > 0 else None
        self.console = console
        self.start = time.monotonic()
        self.last = 0.0
        self.last_line = self.start
        self.done_bytes = 0
        console.bar = self

    def text(self, done: int) -> str:
        now = time.monotonic()
        rate = done / max(now - self.start, 1e-6)
        if self.total:
            share = min(done / self.total, 1.0)
            width = 24
            bar = "#" * int(share * width) + "-" * (width - int(share * width))
            return f"  {self.label} [{bar}] {human_bytes(done)} / ~{human_bytes(self.total)} {human_bytes(rate)}/s"
        return f"  {self.label} {human_bytes(done)} {human_bytes(rate)}/s"

    def update(self, done: int) -> None:
        self.done_bytes = done
        now = time.monotonic()
        if self.console.progress_enabled:
            if now - self.last < 0.1:
                return
            self.last = now
            self.console.live(self.text(done))
        elif now - self.last_line >= PERIOD:
            self.last_line = now
            self.console.note(self.text(done).strip() + f" ({human_seconds(now - self.start)})")

    def finish(self) -> None:
        if self.console.bar is self:
            self.console.bar = None
        self.console.clear_live()


class Console:
    """Output sink for apply; tests pass their own streams (not a terminal: no live line)."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, interactive: bool | None = None, confirm: Callable[[str], bool] | None = None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.progress_enabled = bool(getattr(self.err, "isatty", lambda: False)())
        self.interactive = interactive if interactive is not None else bool(getattr(sys.stdin, "isatty", lambda: False)())
        self._confirm = confirm
        self.lines: list[str] = []
        self.bar: Progress | None = None
        self._live = False
        self._write = threading.RLock()

    # ------------------------------------------------------------- writing
    def _emit(self, stream: TextIO, text: str) -> None:
        with self._write:
            self.clear_live()
            stream.write(text + "\n")
            stream.flush()

    def live(self, text: str) -> None:
        """Redraw the one live line (terminal only)."""
        if not self.progress_enabled:
            return
        with self._write:
            self.err.write("\r" + text[:150].ljust(100))
            self.err.flush()
            self._live = True

    def clear_live(self) -> None:
        with self._write:
            if self._live:
                self.err.write("\r" + " " * 150 + "\r")
                self.err.flush()
                self._live = False

    def say(self, text: str = "") -> None:
        self.lines.append(text)
        self._emit(self.out, text)

    def note(self, text: str) -> None:
        """A progress line for logs (stderr, not kept in `lines`)."""
        self._emit(self.err, f"holdfast: {text}")

    def warn(self, text: str) -> None:
        self.lines.append("warning: " + text)
        self._emit(self.err, f"holdfast: warning: {text}")

    def error(self, text: str) -> None:
        self.lines.append("error: " + text)
        self._emit(self.err, f"holdfast: {text}")

    def progress(self, label: str, total: int | None) -> Progress:
        return Progress(label, total, self)

    @contextmanager
    def running(self, index: int, total: int, title: str) -> Iterator[None]:
        """While a step runs: a live '[ 3/15] stop the project ... 12s' on a terminal, a line every PERIOD s otherwise."""
        start = time.monotonic()
        stop = threading.Event()
        head = f"[{index:>2}/{total}] {title}"

        def tick() -> None:
            last_line = start
            while not stop.wait(1.0 if self.progress_enabled else min(PERIOD, 1.0)):
                now = time.monotonic()
                if self.progress_enabled:
                    if self.bar is None:
                        self.live(f"{head} ... {human_seconds(now - start)}")
                elif now - last_line >= PERIOD and self.bar is None:
                    last_line = now
                    self.note(f"{head} ... still running, {human_seconds(now - start)}")

        thread = threading.Thread(target=tick, name="holdfast-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(2)
            self.clear_live()

    def step(self, index: int, total: int, title: str, status: str, seconds: float | None = None, detail: str = "") -> None:
        head = f"[{index:>2}/{total}] {title}"
        timing = f" {human_seconds(seconds)}" if seconds is not None else ""
        line = f"{head} ... {status}{timing}"
        if detail:
            line += f"  ({detail})"
        self.say(line)

    def confirm(self, question: str) -> bool:
        if self._confirm is not None:
            return self._confirm(question)
        if not self.interactive:
            return False
        self.out.write(f"{question} [y/N] ")
        self.out.flush()
        answer = sys.stdin.readline().strip().lower()
        return answer in ("y", "yes")


def detail_of(result: Any) -> str:
    """The short summary a step returns under `summary`, if any."""
    if isinstance(result, dict):
        return str(result.get("summary") or "")
    return ""

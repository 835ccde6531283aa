"""What apply prints: a line per step with its duration, a byte progress bar on a terminal, prompts.

Plain text only (no colours, no curses): the output of a data rescue ends up
pasted into tickets. The progress bar is drawn on stderr and only when stderr
is a terminal, so logs and CI output stay clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO


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
    """A one-line byte counter redrawn at most 10 times a second; silent when not on a terminal."""

    def __init__(self, label: str, total: int | None, stream: TextIO, enabled: bool):
        self.label = label
        self.total = total if total and total > 0 else None
        self.stream = stream
        self.enabled = enabled
        self.start = time.monotonic()
        self.last = 0.0
        self.done_bytes = 0

    def update(self, done: int) -> None:
        self.done_bytes = done
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        if self.total:
            share = min(done / self.total, 1.0)
            width = 24
            bar = "#" * int(share * width) + "-" * (width - int(share * width))
            text = f"  {self.label} [{bar}] {human_bytes(done)} / ~{human_bytes(self.total)} {human_bytes(rate)}/s"
        else:
            text = f"  {self.label} {human_bytes(done)} {human_bytes(rate)}/s"
        self.stream.write("\r" + text[:150].ljust(100))
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.last:
            self.stream.write("\r" + " " * 150 + "\r")
            self.stream.flush()


class Console:
    """Output sink for apply; tests pass `quiet=True` or their own streams."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, interactive: bool | None = None, confirm: Callable[[str], bool] | None = None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.progress_enabled = bool(getattr(self.err, "isatty", lambda: False)())
        self.interactive = interactive if interactive is not None else bool(getattr(sys.stdin, "isatty", lambda: False)())
        self._confirm = confirm
        self.lines: list[str] = []

    def say(self, text: str = "") -> None:
        self.lines.append(text)
        self.out.write(text + "\n")
        self.out.flush()

    def warn(self, text: str) -> None:
        self.lines.append("warning: " + text)
        self.err.write(f"holdfast: warning: {text}\n")
        self.err.flush()

    def error(self, text: str) -> None:
        self.lines.append("error: " + text)
        self.err.write(f"holdfast: {text}\n")
        self.err.flush()

    def progress(self, label: str, total: int | None) -> Progress:
        return Progress(label, total, self.err, self.progress_enabled)

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

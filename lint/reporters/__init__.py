"""Output formats: turn a `Report` into the text the CLI writes out.

Each format lives in its own module and is imported only when asked for, so
an unused format costs nothing at start-up. A reporter's only job is to read
the `Report` and return the whole output as one string; it never touches the
file system, the terminal or the environment (the CLI decided colour and the
destination already).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, ClassVar, Mapping

if TYPE_CHECKING:  # pragma: no cover - typing only
    from holdfast.model import Report

__all__ = ["BUILTIN_REPORTERS", "Reporter", "available_formats", "load_reporter", "position"]


class Reporter:
    """Base class of output formats, built-in or from a plugin (`holdfast_reporters`)."""

    name: ClassVar[str]

    def render(self, report: "Report") -> str:  # pragma: no cover - abstract
        """Return the complete output for `report` (ending with a newline unless empty)."""
        raise NotImplementedError


# name -> "module:Class", imported lazily by `load_reporter`.
BUILTIN_REPORTERS: dict[str, str] = {
    "text": "holdfast.reporters.text:TextReporter",
    "concise": "holdfast.reporters.concise:ConciseReporter",
    "json": "holdfast.reporters.json_format:JsonReporter",
    "sarif": "holdfast.reporters.sarif:SarifReporter",
    "github": "holdfast.reporters.github:GithubReporter",
    "gitlab": "holdfast.reporters.gitlab:GitlabReporter",
}


def available_formats(extra: Mapping[str, type[Reporter]] | None = None) -> list[str]:
    """All format names, built-in first (in their documented order), then plugin ones sorted."""
    names = list(BUILTIN_REPORTERS)
    names += sorted(n for n in (extra or {}) if n not in BUILTIN_REPORTERS)
    return names


def load_reporter(name: str, extra: Mapping[str, type[Reporter]] | None = None) -> Reporter:
    """Instantiate the reporter called `name` (case-insensitive).

    `extra` holds reporters contributed by plugins. Built-in names always win:
    other tools rely on the built-in formats (see DESIGN.md, "Contracts"), so a
    plugin cannot silently replace `json` or `sarif`.
    """
    key = name.strip().lower()
    target = BUILTIN_REPORTERS.get(key)
    if target is not None:
        module_name, _, attr = target.partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
        return cls()
    for extra_name, cls in (extra or {}).items():
        if extra_name.strip().lower() == key:
            return cls()
    choices = ", ".join(available_formats(extra))
    raise ValueError(f"unknown format {name!r} (choose from {choices})")


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of character `offset` in `text`.

    Lines end at "\\n" only (so "\\r\\n" counts once and the "\\r" is the last
    column of its line), which is SARIF's default `newlineSequences`. Columns
    count characters (Unicode code points). `offset == len(text)` is allowed
    (an insertion at the end).
    """
    if not 0 <= offset <= len(text):
        raise ValueError(f"offset {offset} outside the text (0..{len(text)})")
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1

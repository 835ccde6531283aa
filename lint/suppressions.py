"""Inline suppressions: `# holdfast: ignore[HF101] reason` and `# holdfast: file-ignore[HF104]`.

A suppression at the end of a line covers findings on that line; on a line of
its own it covers the next line with content. On a service's key line it covers
every finding inside that service. `file-ignore` is honoured in the leading
comment block of the file. Suppressions that matched nothing become HF000.
"""

from __future__ import annotations

import re

from holdfast.document import ComposeDocument

_DIRECTIVE = re.compile(r"(?:^|\s)#\s*holdfast:\s*(ignore|file-ignore)(?:\[([A-Za-z0-9_, ]*)\])?\s*(.*)$")


class Suppression:
    """One `# holdfast: ignore[...]` comment (a plain class: a dataclass definition
    costs about a millisecond of every cold start)."""

    def __init__(self, line: int, comment_line: int, column: int, end_column: int, codes: tuple[str, ...], reason: str, file_wide: bool = False, service: str | None = None, used: set[str] | None = None) -> None:
        self.line = line  # the line whose findings it covers
        self.comment_line = comment_line
        self.column = column
        self.end_column = end_column
        self.codes = codes  # empty: every code
        self.reason = reason
        self.file_wide = file_wide
        self.service = service  # set when it sits on a service key line
        self.used = set() if used is None else used

    def covers(self, code: str) -> bool:
        return not self.codes or code in self.codes


def parse_suppressions(document: ComposeDocument, service_lines: dict[int, str]) -> list[Suppression]:
    """Find every directive in the document. `service_lines` maps key line -> service name."""
    out: list[Suppression] = []
    lines = document.lines()
    leading = True
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        if "holdfast:" not in text:
            if stripped and not stripped.startswith("#") and stripped != "---":
                leading = False
            continue
        match = _DIRECTIVE.search(text)
        if match is None:
            if stripped and not stripped.startswith("#"):
                leading = False
            continue
        kind, raw_codes, reason = match.groups()
        codes = tuple(c.strip().upper() for c in (raw_codes or "").split(",") if c.strip())
        comment_column = text.index("#", match.start()) + 1
        own_line = stripped.startswith("#")
        if kind == "file-ignore":
            if leading and own_line:
                out.append(Suppression(0, number, comment_column, len(text) + 1, codes, reason.strip(), file_wide=True))
            continue
        target = number
        if own_line:
            target = _next_content_line(lines, number)
        else:
            leading = False
        out.append(Suppression(target, number, comment_column, len(text) + 1, codes, reason.strip(), service=service_lines.get(target)))
    return out


def _next_content_line(lines: list[str], number: int) -> int:
    for index in range(number, len(lines)):
        stripped = lines[index].strip()
        if stripped and not stripped.startswith("#"):
            return index + 1
    return number

"""The default, human format: each finding with its source line and a marker.

    compose.yml:3:5: HF101 Service `db` keeps its data in an anonymous volume
     3 |     image: postgres:16
       |     ^^^^^^^^^^^^^^^^^^
       = fix: Bind-mount ./data/db at /var/lib/postgresql/data (unsafe)

    Found 1 problem (1 error, 0 warnings, 0 info).
    0 fixable with `holdfast fix` (1 more with `--unsafe-fixes`).

Columns are 1-based and `end_column` is exclusive (the column after the last
marked character), as in SARIF. With `report.statistics` a per-code table
replaces the listing.
"""

from __future__ import annotations

import unicodedata
from typing import ClassVar

from holdfast.model import Applicability, Finding, Report, Severity
from holdfast.reporters import Reporter
from holdfast.reporters._common import (
    applicability,
    fixable_line,
    is_safe_fixable,
    one_line,
    severity_of,
    sorted_findings,
    summary_line,
)

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
SEVERITY_COLOR = {
    Severity.ERROR: "\x1b[1;31m",  # bold red
    Severity.WARNING: "\x1b[1;33m",  # bold yellow
    Severity.INFO: "\x1b[1;34m",  # bold blue
}


def source_lines(text: str) -> list[str]:
    """The document's lines, split at "\\n" only (as line numbers count them), without "\\r"."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _display_source(line: str) -> str:
    """The line as shown: tabs kept, other unprintable characters as U+FFFD (one column each)."""
    if line.isprintable():
        return line
    return "".join(ch if ch == "\t" or ch.isprintable() else "\ufffd" for ch in line)


def marker(line: str, column: int, end_line: int, line_no: int, end_column: int) -> tuple[str, str]:
    """The padding up to `column` (tabs copied, wide characters doubled) and the carets."""
    before = line[: column - 1]
    pad = "".join("\t" if ch == "\t" else " " * _char_width(ch) for ch in before)
    pad += " " * max(0, column - 1 - len(line))  # column past the end of the line
    if end_line == line_no and end_column > column:
        span = line[column - 1 : end_column - 1]
        width = sum(max(1, _char_width(ch)) for ch in span) + max(0, end_column - column - len(span))
    else:
        width = 1
    return pad, "^" * max(1, width)


class TextReporter(Reporter):
    name: ClassVar[str] = "text"

    def render(self, report: Report) -> str:
        self.color = report.color
        out: list[str] = [self._paint(BOLD + "\x1b[33m", "warning") + f": {one_line(n)}" for n in report.notices]
        findings = sorted_findings(report)
        if report.statistics:
            out += self._statistics(report, findings)
        else:
            lines_cache: dict[str, list[str] | None] = {}
            for finding in findings:
                if finding.path not in lines_cache:
                    text = report.sources.get(finding.path)
                    lines_cache[finding.path] = source_lines(text) if text is not None else None
                out += self._finding(finding, lines_cache[finding.path])
                out.append("")
        if findings and report.statistics:
            out.append("")
        summary = summary_line(findings)
        if report.suppressed:  # counted, not listed: `--format json` or `sarif` show each with its reason
            summary = summary[:-1] + f"; {len(report.suppressed)} suppressed."
        out.append(summary)
        fixable = fixable_line(findings)
        if fixable:
            out.append(fixable)
        return "\n".join(out) + "\n"

    # -- pieces ---------------------------------------------------------------

    def _paint(self, style: str, text: str) -> str:
        return f"{style}{text}{RESET}" if self.color else text

    def _finding(self, f: Finding, lines: list[str] | None) -> list[str]:
        severity = severity_of(f)
        out = [
            f"{self._paint(BOLD, f.path)}:{f.line}:{f.column}: "
            f"{self._paint(SEVERITY_COLOR[severity], f.code)} {one_line(f.message)}"
        ]
        gutter = " " * len(str(f.line))
        if lines is not None and 1 <= f.line <= len(lines):
            line = lines[f.line - 1]
            out.append(f" {f.line} | {_display_source(line)}".rstrip())
            pad, carets = marker(line, max(1, f.column), f.end_line, f.line, f.end_column)
            out.append(f" {gutter} | {pad}{self._paint(SEVERITY_COLOR[severity], carets)}")
        fix = f.fix
        if fix is not None:
            kind = applicability(f)
            if kind is Applicability.DISPLAY_ONLY:
                if fix.title:
                    out.append(f" {gutter} = help: {one_line(fix.title)}")
            else:
                out.append(f" {gutter} = fix: {one_line(fix.title)} ({kind.value})")
            if fix.refused:
                out.append(f" {gutter} = note: {one_line(fix.refused)}")
        return out

    def _statistics(self, report: Report, findings: list[Finding]) -> list[str]:
        groups: dict[str, list[Finding]] = {}
        for f in findings:
            groups.setdefault(f.code, []).append(f)
        rows = []
        for code, members in groups.items():
            rule = report.rules.get(code)
            name = members[0].name or getattr(rule, "name", "")
            severity = max(severity_of(f) for f in members)
            fixable = "[*]" if any(is_safe_fixable(f) for f in members) else ""
            rows.append((len(members), code, name, fixable, severity))
        rows.sort(key=lambda r: (-r[0], r[1]))
        if not rows:
            return []
        count_w = max(len(str(r[0])) for r in rows)
        code_w = max(len(r[1]) for r in rows)
        name_w = max(len(r[2]) for r in rows)
        out = []
        for count, code, name, fixable, severity in rows:
            code_cell = self._paint(SEVERITY_COLOR[severity], code) + " " * (code_w - len(code))
            out.append(f"{count:>{count_w}}  {code_cell}  {name:<{name_w}}  {fixable}".rstrip())
        return out

"""Small helpers shared by the reporters (stdlib only, no state)."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from holdfast.model import Applicability, Finding, Report, Severity


def sorted_findings(report: Report) -> list[Finding]:
    """Findings in a stable order: path, line, column, code (the engine need not sort)."""
    return sorted(report.findings, key=lambda f: f.sort_key())


def severity_of(finding: Finding) -> Severity:
    return Severity(finding.severity)


def applicability(finding: Finding) -> Applicability | None:
    return Applicability(finding.fix.applicability) if finding.fix is not None else None


def is_safe_fixable(finding: Finding) -> bool:
    return applicability(finding) is Applicability.SAFE


def is_unsafe_fixable(finding: Finding) -> bool:
    return applicability(finding) is Applicability.UNSAFE


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"


def severity_counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    counts = Counter(severity_of(f) for f in findings)
    return {sev: counts.get(sev, 0) for sev in (Severity.ERROR, Severity.WARNING, Severity.INFO)}


def summary_line(findings: list[Finding]) -> str:
    """"Found 3 problems (1 error, 2 warnings, 0 info)." or "All checks passed."."""
    if not findings:
        return "All checks passed."
    counts = severity_counts(findings)
    parts = ", ".join(
        [
            plural(counts[Severity.ERROR], "error"),
            plural(counts[Severity.WARNING], "warning"),
            plural(counts[Severity.INFO], "info", "info"),
        ]
    )
    return f"Found {plural(len(findings), 'problem')} ({parts})."


def fixable_line(findings: list[Finding]) -> str | None:
    """"2 fixable with `holdfast fix` (1 more with `--unsafe-fixes`)." or None."""
    safe = sum(1 for f in findings if is_safe_fixable(f))
    unsafe = sum(1 for f in findings if is_unsafe_fixable(f))
    if not safe and not unsafe:
        return None
    line = f"{safe} fixable with `holdfast fix`"
    if unsafe:
        line += f" ({unsafe} more with `--unsafe-fixes`)"
    return line + "."


def slash_path(path: str) -> str:
    """A path with forward slashes, as CI systems expect relative to the repository root.

    Only Windows separates with backslashes; elsewhere a backslash is part of a name
    (or of an escape written by `safe_path`) and stays.
    """
    import os

    return path.replace("\\", "/") if os.sep == "\\" else path


def one_line(text: str) -> str:
    """Make `text` safe for one line of human-read output.

    Line breaks become the two characters "\\n", so line-oriented consumers
    (editors' problem matchers, `grep`) still see one finding per line; other
    control characters (say an ANSI escape planted in a compose file) are shown
    escaped instead of reaching the terminal.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append(" ")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def safe_path(path: str) -> str:
    """A path that every report format can write and no reader can mistake.

    A name that is not UTF-8 reaches Python with surrogate escapes (PEP 383): each
    such byte is written as `\\xNN`, so JSON, SARIF and GitLab reports no longer
    abort on it. Control characters are escaped too (a file named with a newline
    must not start a new line of text or concise output), as `one_line` does.
    """
    if path.isprintable():
        return path
    out = []
    for ch in path:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(one_line(ch) if ch in "\n\r" else ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return "".join(out)

"""`holdfast lint --add-ignore`: turn today's findings into ignore comments, so CI fails only on new ones.

Like ruff's `--add-noqa`: every finding gets `# holdfast: ignore[CODE] TODO` at
the end of the line it is reported on (codes of one line share one comment; an
existing `# holdfast: ignore[...]` on that line gets the new codes added). The
edits are text insertions at line ends, nothing is re-dumped, so comments,
quoting, indentation, CRLF and a byte-order mark stay. After the edits the file
is parsed again and must give exactly the same data; a line where a comment
would change the data (inside a multi-line string) is left alone and counted.

Not baselined: HF000 (an unused suppression is removed, not suppressed), HF001
(a file that does not parse must be repaired), findings in standard input and
findings of host rules (they have no file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from holdfast.model import Finding

REASON = "TODO"
SKIPPED_CODES = frozenset({"HF000", "HF001"})
_EXISTING = re.compile(r"(#\s*holdfast:\s*ignore)\[([A-Za-z0-9_, ]*)\]")
_EXISTING_BARE = re.compile(r"#\s*holdfast:\s*ignore(?![\[\w-])")


@dataclass
class BaselineResult:
    added: int = 0  # comments written or extended
    files: list[str] = field(default_factory=list)  # files changed
    skipped: list[tuple[Finding, str]] = field(default_factory=list)  # findings left as they are, with why


def plan_file(text: str, findings: Iterable[Finding], reason: str = REASON) -> tuple[str, int, list[tuple[Finding, str]]]:
    """The new text with ignore comments for `findings` (all of one file); (text, comments, skipped)."""
    from holdfast.document import ComposeDocument

    by_line: dict[int, list[Finding]] = {}
    for finding in findings:
        by_line.setdefault(finding.line, []).append(finding)
    lines = text.splitlines(keepends=True)
    original = ComposeDocument("-", text).data
    skipped: list[tuple[Finding, str]] = []
    changed = 0
    for number in sorted(by_line):
        group = by_line[number]
        if not 1 <= number <= len(lines):
            skipped += [(f, "the line is outside the file") for f in group]
            continue
        codes = sorted({f.code for f in group})
        candidate = list(lines)
        candidate[number - 1] = _with_codes(lines[number - 1], codes, reason)
        if candidate[number - 1] == lines[number - 1]:
            continue  # already there
        new_text = "".join(candidate)
        if ComposeDocument("-", new_text).data != original:
            skipped += [(f, "a comment at the end of this line would change the value (inside a multi-line string)") for f in group]
            continue
        lines = candidate
        changed += 1
    return "".join(lines), changed, skipped


def _with_codes(line: str, codes: list[str], reason: str) -> str:
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    if _EXISTING_BARE.search(body):
        return line  # `ignore` without codes already covers every code
    match = _EXISTING.search(body)
    if match is not None:
        present = [c.strip().upper() for c in match.group(2).split(",") if c.strip()]
        merged = present + [c for c in codes if c not in present]
        if merged == present:
            return line
        return body[: match.start(2)] + ",".join(merged) + body[match.end(2) :] + ending
    return f"{body.rstrip()}  # holdfast: ignore[{','.join(codes)}] {reason}{ending}"


def add_ignores(findings: list[Finding], sources: dict[str, str], reason: str = REASON) -> BaselineResult:
    """Write ignore comments for the findings into their files (files changed since the lint are skipped)."""
    import os

    from holdfast.fileio import read_regular_file, write_bytes_atomic

    result = BaselineResult()
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.suppressed:
            continue
        if finding.code in SKIPPED_CODES:
            result.skipped.append((finding, "not suppressible by a baseline" if finding.code == "HF000" else "the file does not parse"))
            continue
        if finding.path == "-" or "://" in finding.path or not os.path.isfile(finding.path):
            result.skipped.append((finding, "no file to write"))
            continue
        by_path.setdefault(finding.path, []).append(finding)
    for path, group in sorted(by_path.items()):
        raw = read_regular_file(path)
        bom = raw.startswith(b"\xef\xbb\xbf")
        text = (raw[3:] if bom else raw).decode("utf-8", errors="replace")
        if path in sources and sources[path] != text:
            result.skipped += [(f, "the file changed since it was linted") for f in group]
            continue
        new_text, added, skipped = plan_file(text, group, reason)
        result.skipped += skipped
        if new_text != text:
            write_bytes_atomic(path, (b"\xef\xbb\xbf" if bom else b"") + new_text.encode("utf-8"))
            result.added += added
            result.files.append(path)
    return result


def report_baseline(findings: list[Finding], sources: dict[str, str]) -> int:
    """The `--add-ignore` command: write the comments, say what happened on stderr, exit 0."""
    import click

    result = add_ignores(findings, sources)
    files = len(result.files)
    click.echo(f"Added {result.added} ignore comment{'s' if result.added != 1 else ''} to {files} file{'s' if files != 1 else ''}.", err=True)
    for finding, why in result.skipped:
        click.echo(f"not baselined: {finding.path}:{finding.line}:{finding.column}: {finding.code}: {why}", err=True)
    return 0

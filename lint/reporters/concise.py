"""One line per finding, for editors' problem matchers and `grep`:

    compose.yml:3:5: HF101 [*] Service `db` keeps its data in an anonymous volume

`[*]` marks a finding that `holdfast fix` fixes without `--unsafe-fixes`.
"""

from __future__ import annotations

from typing import ClassVar

from holdfast.model import Report
from holdfast.reporters import Reporter
from holdfast.reporters._common import is_safe_fixable, one_line, plural, sorted_findings


class ConciseReporter(Reporter):
    name: ClassVar[str] = "concise"

    def render(self, report: Report) -> str:
        out = [f"warning: {one_line(n)}" for n in report.notices]
        findings = sorted_findings(report)
        for f in findings:
            mark = "[*] " if is_safe_fixable(f) else ""
            out.append(f"{f.path}:{f.line}:{f.column}: {f.code} {mark}{one_line(f.message)}")
        if findings:
            out.append(f"Found {plural(len(findings), 'problem')}.")
        return "\n".join(out) + "\n" if out else ""

"""`--format json`: the stable machine contract (DESIGN.md, "Contracts other tools rely on").

    {"version": 1,
     "findings": [{"code", "name", "severity", "message", "path", "line", "column",
                   "end_line", "end_column", "service", "fixable", "fix_applicability",
                   "fingerprint"}, ...],
     "summary": {"total", "by_severity": {"error", "warning", "info"}, "by_code",
                 "fixable", "files"}}

Findings silenced by a `# holdfast: ignore[...] reason` comment are kept for the
audit trail in a separate top-level list `suppressed` (present only when there
are some), each with `"suppressed": true` and the comment's `suppression_reason`;
`summary.suppressed` counts them, `total` never does. `findings` keeps its meaning.
Paths are as given on the command line; `severity` is the lower-case label;
`fixable` is true for a safe or unsafe fix (not a display-only one) and
`summary.fixable` counts those findings. Named `json_format` so that it never
shadows the standard library's `json`; the format is still called "json".
Notices are not part of the contract: the CLI should send them to stderr.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, ClassVar

from holdfast.model import Finding, Report
from holdfast.reporters import Reporter
from holdfast.reporters._common import applicability, severity_counts, severity_of, sorted_findings

VERSION = 1


def finding_to_dict(f: Finding) -> dict[str, Any]:
    kind = applicability(f)
    return {
        "code": f.code,
        "name": f.name,
        "severity": severity_of(f).label,
        "message": f.message,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line,
        "end_column": f.end_column,
        "service": f.service,
        "fixable": f.fixable,
        "fix_applicability": kind.value if kind is not None else None,
        "fingerprint": f.fingerprint,
        **({"suppressed": True, "suppression_reason": f.suppression_reason} if f.suppressed else {}),
    }


class JsonReporter(Reporter):
    name: ClassVar[str] = "json"

    def render(self, report: Report) -> str:
        findings = sorted_findings(report)
        by_code = Counter(f.code for f in findings)
        document = {
            "version": VERSION,
            "findings": [finding_to_dict(f) for f in findings],
            "summary": {
                "total": len(findings),
                "by_severity": {sev.label: n for sev, n in severity_counts(findings).items()},
                "by_code": dict(sorted(by_code.items())),
                "fixable": sum(1 for f in findings if f.fixable),
                "files": len(report.files),
            },
        }
        if report.suppressed:  # only then: a run without suppressions keeps the exact contract
            document["suppressed"] = [finding_to_dict(f) for f in sorted(report.suppressed, key=lambda f: f.sort_key())]
            document["summary"]["suppressed"] = len(report.suppressed)
        return json.dumps(document, indent=2) + "\n"

"""`--format gitlab`: a GitLab Code Quality report (a JSON array of issues).

    [{"description": "HF101: Service `db` …", "check_name": "HF101",
      "fingerprint": "…", "severity": "critical",
      "location": {"path": "compose.yml", "lines": {"begin": 3, "end": 3}}}]

The fingerprint is `Finding.fingerprint` (code + path + YAML path), so GitLab
keeps recognising an issue when lines above it move. GitLab needs fingerprints
to be unique within a report: a second finding with the same fingerprint gets
one derived from it and its rank among the duplicates.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from holdfast.model import Report, Severity
from holdfast.reporters import Reporter
from holdfast.reporters._common import severity_of, slash_path, sorted_findings

SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


class GitlabReporter(Reporter):
    name: ClassVar[str] = "gitlab"

    def render(self, report: Report) -> str:
        issues: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for f in sorted_findings(report):
            fingerprint = f.fingerprint
            rank = seen.get(fingerprint, 0)
            seen[fingerprint] = rank + 1
            if rank:
                fingerprint = hashlib.sha256(f"{fingerprint}\x1f{rank}".encode()).hexdigest()[:32]
            line = max(1, f.line)
            issues.append(
                {
                    "description": f"{f.code}: {f.message}",
                    "check_name": f.code,
                    "fingerprint": fingerprint,
                    "severity": SEVERITIES[severity_of(f)],
                    "location": {
                        "path": slash_path(f.path),
                        "lines": {"begin": line, "end": max(line, f.end_line)},
                    },
                }
            )
        return json.dumps(issues, indent=2) + "\n"

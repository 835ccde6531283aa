"""`--format github`: GitHub Actions workflow commands, which become annotations.

    ::error file=compose.yml,line=3,col=5,endLine=3,endColumn=23,title=HF101 stateful-data-not-persisted::Service …

error -> `::error`, warning -> `::warning`, info -> `::notice`. The runner drops
`col`/`endColumn` when `line` and `endLine` differ, so they are only written for
single-line findings. Message and properties use the runner's escaping, so a
hostile value cannot end the command early or smuggle in properties.
"""

from __future__ import annotations

from typing import ClassVar

from holdfast.model import Finding, Report, Severity
from holdfast.reporters import Reporter
from holdfast.reporters._common import fixable_line, one_line, severity_of, slash_path, sorted_findings, summary_line

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """The runner's escaping for line breaks and `%`; other control characters are shown escaped."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text if text.isprintable() else one_line(text)


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(f: Finding) -> str:
    line = max(1, f.line)
    end_line = max(line, f.end_line)
    props = [("file", slash_path(f.path)), ("line", str(line))]
    if end_line == line:
        column = max(1, f.column)
        props += [("col", str(column)), ("endLine", str(end_line)), ("endColumn", str(max(column, f.end_column)))]
    else:
        props.append(("endLine", str(end_line)))
    props.append(("title", f"{f.code} {f.name}"))
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{COMMANDS[severity_of(f)]} {rendered}::{escape_data(f.message)}"


class GithubReporter(Reporter):
    name: ClassVar[str] = "github"

    def render(self, report: Report) -> str:
        findings = sorted_findings(report)
        out = [f"::warning::{escape_data(notice)}" for notice in report.notices]
        out += [command(f) for f in findings]
        out.append(summary_line(findings))
        fixable = fixable_line(findings)
        if fixable:
            out.append(fixable)
        return "\n".join(out) + "\n"

"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other viewers.

One run; every known rule in `tool.driver.rules` (with its documentation as
help); one result per finding with a stable `partialFingerprints` entry; and,
for findings with a safe or unsafe fix, `fixes[].artifactChanges` whose
replacements are the fix's edits mapped to line/column regions of the
original text (or to character offsets when the text is not at hand).

A finding silenced by a `# holdfast: ignore[...] reason` comment is still a
result, with `suppressions: [{kind: "inSource", justification: reason}]`, as
code-scanning tools expect (they show it as dismissed, with the reason).

Regions: lines end at "\\n" (SARIF's default newline sequences) and columns
count Unicode code points (`run.columnKind` says so explicitly); `endColumn` is
the column after the last character, as in `Finding`.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, ClassVar
from urllib.parse import quote

from holdfast.model import Applicability, Finding, Fix, Report, Rule, Severity
from holdfast.reporters import Reporter, position
from holdfast.reporters._common import slash_path
from holdfast.reporters._common import applicability, severity_of, sorted_findings

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
# Placeholder until the project has a home page; change it in one place.
INFORMATION_URI = "https://github.com/holdfast/holdfast"
FINGERPRINT_KEY = "holdfast/v1"

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}

_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]|^\\\\")


_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def artifact_uri(path: str) -> str:
    """A URI reference for `path`: relative paths stay relative (forward slashes,
    percent-encoded, so "a b.yml" or "x:y.yml" cannot be misread); absolute
    paths become file: URIs; a path that is already a URI (`docker://project/service`
    from `holdfast inspect`) is kept as it is."""
    if _URI_SCHEME.match(path):
        return path
    if _WINDOWS_ABSOLUTE.match(path):
        return PureWindowsPath(path).as_uri()
    if path.startswith("/"):
        return PurePosixPath(path).as_uri()
    return quote(slash_path(path), safe="/")


def pascal_case(name: str) -> str:
    """"stateful-data-not-persisted" -> "StatefulDataNotPersisted" (SARIF's advice for `name`)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_\s]+", name) if part)


def rule_documentation(rule: type[Rule]) -> str:
    doc = rule.__doc__
    return inspect.cleandoc(doc) if doc and doc.strip() else ""


def rule_descriptor(code: str, rule: type[Rule]) -> dict[str, Any]:
    name = getattr(rule, "name", code)
    try:
        summary = rule.summary()
    except Exception:  # a broken plugin rule must not break the report
        summary = name
    documentation = rule_documentation(rule) or summary
    descriptor: dict[str, Any] = {
        "id": code,
        "name": pascal_case(name) or code,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": documentation},
        "help": {"text": documentation},
        "defaultConfiguration": {
            "enabled": bool(getattr(rule, "enabled_by_default", True)),
            "level": LEVELS[Severity(getattr(rule, "severity", Severity.ERROR))],
        },
        "properties": {"fixable": bool(getattr(rule, "fixable", False)), "holdfast/name": name},
    }
    groups = list(getattr(rule, "groups", ()) or ())
    if groups:
        descriptor["properties"]["tags"] = groups
    return descriptor


def region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    """A text region with the schema's minimums and end >= start enforced."""
    line, column = max(1, line), max(1, column)
    end_line = max(line, end_line)
    end_column = max(1, end_column)
    if end_line == line:
        end_column = max(column, end_column)
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}


def fix_object(finding: Finding, fix: Fix, sources: dict[str, str]) -> dict[str, Any]:
    path = fix.path or finding.path
    text = sources.get(path)
    replacements = []
    for edit in sorted(fix.edits, key=lambda e: (e.start, e.end)):
        if text is not None:
            start_line, start_column = position(text, edit.start)
            end_line, end_column = position(text, edit.end)
            deleted = {
                "startLine": start_line,
                "startColumn": start_column,
                "endLine": end_line,
                "endColumn": end_column,
            }
        else:
            deleted = {"charOffset": edit.start, "charLength": edit.end - edit.start}
        replacements.append({"deletedRegion": deleted, "insertedContent": {"text": edit.text}})
    return {
        "description": {"text": fix.title},
        "artifactChanges": [{"artifactLocation": {"uri": artifact_uri(path)}, "replacements": replacements}],
    }


class SarifReporter(Reporter):
    name: ClassVar[str] = "sarif"

    def render(self, report: Report) -> str:
        findings = sorted_findings(report)
        rules = [rule_descriptor(code, report.rules[code]) for code in sorted(report.rules)]
        index = {descriptor["id"]: i for i, descriptor in enumerate(rules)}
        for f in findings + list(report.suppressed):  # a code without a Rule class (a plugin gone missing, say)
            if f.code not in index:
                index[f.code] = len(rules)
                rules.append({"id": f.code, "name": pascal_case(f.name) or f.code})

        results = []
        for f in sorted(findings + list(report.suppressed), key=lambda f: f.sort_key()):
            result: dict[str, Any] = {
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": LEVELS[severity_of(f)],
                "message": {"text": f.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": artifact_uri(f.path)},
                            "region": region(f.line, f.column, f.end_line, f.end_column),
                        }
                    }
                ],
                "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
            }
            kind = applicability(f)
            if f.fix is not None and kind is not Applicability.DISPLAY_ONLY and f.fix.edits:
                result["fixes"] = [fix_object(f, f.fix, report.sources)]
            properties: dict[str, Any] = {}
            if f.service is not None:
                properties["service"] = f.service
            if kind is not None:
                properties["fixApplicability"] = kind.value
            if properties:
                result["properties"] = properties
            if f.suppressed:
                suppression: dict[str, Any] = {"kind": "inSource", "status": "accepted"}
                if f.suppression_reason:
                    suppression["justification"] = f.suppression_reason
                result["suppressions"] = [suppression]
            results.append(result)

        invocation: dict[str, Any] = {"executionSuccessful": True}
        if report.notices:
            invocation["toolExecutionNotifications"] = [
                {"level": "warning", "message": {"text": notice}} for notice in report.notices
            ]
        document = {
            "$schema": SCHEMA_URI,
            "version": SARIF_VERSION,
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "holdfast",
                            "version": report.tool_version,
                            "informationUri": INFORMATION_URI,
                            "rules": rules,
                        }
                    },
                    "invocations": [invocation],
                    "columnKind": "unicodeCodePoints",
                    "results": results,
                }
            ],
        }
        return json.dumps(document, indent=2) + "\n"

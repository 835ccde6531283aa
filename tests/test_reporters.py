"""Reporters: every output format, from hand-built `Report`s (no parsing, no rules run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCHEMA_DIR = Path(__file__).resolve().parent / "data"  # shipped: the check must run in a fresh clone

# --- Import fallback ------------------------------------------------------------------
# `lint/` is installed as the package `holdfast` (setuptools package-dir). While that
# packaging is not in place yet, make `import holdfast` work by putting a temporary
# directory holding a symlink `holdfast -> <repo>/lint` on sys.path. Remove this block
# once `pip install -e .` is part of the test setup.
_FALLBACK_PATH: str | None = None
try:
    import holdfast.reporters  # noqa: F401
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    if exc.name != "holdfast":
        raise
    import atexit
    import shutil
    import tempfile

    _FALLBACK_PATH = tempfile.mkdtemp(prefix="holdfast-import-")
    os.symlink(REPO / "lint", Path(_FALLBACK_PATH) / "holdfast", target_is_directory=True)
    sys.path.insert(0, _FALLBACK_PATH)
    atexit.register(shutil.rmtree, _FALLBACK_PATH, ignore_errors=True)
# --------------------------------------------------------------------------------------

from holdfast.model import Applicability, Edit, Finding, Fix, Report, Rule, Severity  # noqa: E402
from holdfast.reporters import BUILTIN_REPORTERS, Reporter, load_reporter, position  # noqa: E402

# --- fixtures ---------------------------------------------------------------------------


class PersistRule(Rule):
    """Stateful service keeps its data inside the container.

    What it does
    Finds databases whose data directory is not mounted.

    Why it matters
    `docker compose down` removes the container, and the data with it.
    """

    code = "HF101"
    name = "stateful-data-not-persisted"
    severity = Severity.ERROR
    fixable = True
    groups = ("data-safety",)


class PortRule(Rule):
    """Port is published on every interface."""

    code = "HF301"
    name = "port-published-on-all-interfaces"
    severity = Severity.WARNING
    fixable = True


class NoDocRule(Rule):
    code = "HF201"
    name = "image-tag-latest"
    severity = Severity.INFO


RULES = {r.code: r for r in (PersistRule, PortRule, NoDocRule)}

SOURCE = (
    "services:\n"  # 1
    "  db:\n"  # 2
    "    image: postgres:16\n"  # 3
    "    ports:\n"  # 4
    '      - "5432:5432"\n'  # 5
    "  cache:\n"  # 6
    "    image: redis\n"  # 7
)
VOLUMES = "    volumes:\n      - ./data/db:/var/lib/postgresql/data\n"


def span(text: str, needle: str, occurrence: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    return start, start + len(needle)


def persist_finding(path: str = "compose.yml", line: int = 3, source: str = SOURCE, **kw) -> Finding:
    insert_at = source.index("    ports:")
    fix = kw.pop(
        "fix",
        Fix(
            title="Bind-mount ./data/db at /var/lib/postgresql/data",
            applicability=Applicability.UNSAFE,
            edits=(Edit(insert_at, insert_at, VOLUMES),),
        ),
    )
    return Finding(
        code="HF101",
        name="stateful-data-not-persisted",
        severity=Severity.ERROR,
        message="Service `db` keeps its data in /var/lib/postgresql/data, which is not mounted",
        path=path,
        line=line,
        column=12,
        end_line=line,
        end_column=23,
        service="db",
        yaml_path=("services", "db", "image"),
        fix=fix,
        **kw,
    )


def port_finding(path: str = "compose.yml") -> Finding:
    start, end = span(SOURCE, "5432:5432")
    return Finding(
        code="HF301",
        name="port-published-on-all-interfaces",
        severity=Severity.WARNING,
        message="Port 5432 is published on all interfaces",
        path=path,
        line=5,
        column=10,
        end_line=5,
        end_column=19,
        service="db",
        yaml_path=("services", "db", "ports", 0),
        fix=Fix("Publish on 127.0.0.1 only", Applicability.SAFE, (Edit(start, end, "127.0.0.1:5432:5432"),)),
    )


def latest_finding(path: str = "compose.yml", **kw) -> Finding:
    return Finding(
        code="HF201",
        name="image-tag-latest",
        severity=Severity.INFO,
        message="Image `redis` has no tag",
        path=path,
        line=7,
        column=12,
        end_line=7,
        end_column=17,
        service="cache",
        yaml_path=("services", "cache", "image"),
        **kw,
    )


def make_report(findings: list[Finding], sources: dict[str, str] | None = None, **kw) -> Report:
    return Report(
        findings=findings,
        rules=dict(RULES),
        files=list(sources or {"compose.yml": SOURCE}),
        sources=sources if sources is not None else {"compose.yml": SOURCE},
        tool_version="0.1.0",
        **kw,
    )


def full_report(**kw) -> Report:
    # Deliberately out of order: reporters sort by path, line, column, code.
    return make_report([latest_finding(), port_finding(), persist_finding()], **kw)


def render(fmt: str, report: Report) -> str:
    return load_reporter(fmt).render(report)


# --- registry and position ----------------------------------------------------------------


def test_every_builtin_loads_and_is_named_after_its_key():
    for name in BUILTIN_REPORTERS:
        reporter = load_reporter(name)
        assert isinstance(reporter, Reporter)
        assert reporter.name == name
        assert render(name, make_report([])).endswith("\n") or name == "concise"


def test_unknown_format_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown format 'xml' \(choose from text, concise, json, sarif, github, gitlab, mine\)"):
        load_reporter("xml", {"mine": Reporter})


def test_extra_reporters_and_case_insensitivity():
    class Mine(Reporter):
        name = "mine"

        def render(self, report: Report) -> str:
            return "mine\n"

    assert isinstance(load_reporter("MINE", {"mine": Mine}), Mine)
    assert load_reporter(" JSON ").name == "json"
    # A plugin cannot replace a built-in format other tools rely on.
    assert load_reporter("json", {"json": Mine}).name == "json"


def test_importing_the_package_loads_no_format_module():
    env = dict(os.environ)
    if _FALLBACK_PATH:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_FALLBACK_PATH, env.get("PYTHONPATH")]))
    code = (
        "import sys, holdfast.reporters as r\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('holdfast.reporters.'))\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [
        ("abc\ndef\n", 0, (1, 1)),
        ("abc\ndef\n", 2, (1, 3)),
        ("abc\ndef\n", 3, (1, 4)),  # the newline itself
        ("abc\ndef\n", 4, (2, 1)),
        ("abc\ndef\n", 8, (3, 1)),  # end of text: insertion after the last line
        ("ab\r\ncd", 2, (1, 3)),  # "\r" is the last column of line 1
        ("ab\r\ncd", 4, (2, 1)),
        ("ä€😀\nx", 3, (1, 4)),  # columns count code points
        ("", 0, (1, 1)),
    ],
)
def test_position(text, offset, expected):
    assert position(text, offset) == expected


@pytest.mark.parametrize("offset", [-1, 9])
def test_position_rejects_offsets_outside_the_text(offset):
    with pytest.raises(ValueError):
        position("abc\ndef\n", offset)


# --- text -------------------------------------------------------------------------------------


def test_text_lists_findings_with_source_marker_fix_and_summary():
    out = render("text", full_report())
    assert out == (
        "compose.yml:3:12: HF101 Service `db` keeps its data in /var/lib/postgresql/data, which is not mounted\n"
        " 3 |     image: postgres:16\n"
        "   |            ^^^^^^^^^^^\n"
        "   = fix: Bind-mount ./data/db at /var/lib/postgresql/data (unsafe)\n"
        "\n"
        "compose.yml:5:10: HF301 Port 5432 is published on all interfaces\n"
        ' 5 |       - "5432:5432"\n'
        "   |          ^^^^^^^^^\n"
        "   = fix: Publish on 127.0.0.1 only (safe)\n"
        "\n"
        "compose.yml:7:12: HF201 Image `redis` has no tag\n"
        " 7 |     image: redis\n"
        "   |            ^^^^^\n"
        "\n"
        "Found 3 problems (1 error, 1 warning, 1 info).\n"
        "1 fixable with `holdfast fix` (1 more with `--unsafe-fixes`).\n"
    )
    assert "\x1b" not in out


def test_text_all_checks_passed_and_notices_first():
    assert render("text", make_report([])) == "All checks passed.\n"
    out = render("text", make_report([latest_finding()], notices=["plugin 'x' failed to load: boom"]))
    lines = out.splitlines()
    assert lines[0] == "warning: plugin 'x' failed to load: boom"
    assert lines[1].startswith("compose.yml:7:12: HF201 ")
    assert lines[-1] == "Found 1 problem (0 errors, 0 warnings, 1 info)."


def test_text_multiline_span_marks_only_the_start_column():
    f = persist_finding(fix=None)
    f.end_line, f.end_column = 5, 20
    lines = render("text", make_report([f])).splitlines()
    assert lines[1:3] == [" 3 |     image: postgres:16", "   |            ^"]


def test_text_marker_follows_tabs_wide_characters_and_line_ends():
    source = "a:\tb\n名前: x\nxy\r\n"
    findings = [
        Finding("HF201", "image-tag-latest", Severity.INFO, "tab", "f.yml", 1, 4, 1, 5),
        Finding("HF201", "image-tag-latest", Severity.INFO, "wide", "f.yml", 2, 5, 2, 6),
        Finding("HF201", "image-tag-latest", Severity.INFO, "eol", "f.yml", 3, 3, 3, 3),
    ]
    lines = render("text", make_report(findings, {"f.yml": source})).splitlines()
    assert lines[1:3] == [" 1 | a:\tb", "   |   \t^"]  # the tab is copied, so the caret lines up
    assert lines[6] == "   |       ^"  # "名前: " is six columns wide on a terminal
    assert lines[9] == " 3 | xy"  # no "\r" from a CRLF file
    assert lines[10] == "   |   ^"  # a zero-width span still gets one caret


def test_text_escapes_control_characters():
    source = "image: \x1b[31mevil\n"
    f = Finding("HF201", "image-tag-latest", Severity.INFO, "bad\x1b[2Jmessage\nsecond", "f.yml", 1, 8, 1, 9)
    out = render("text", make_report([f], {"f.yml": source}))
    assert "\x1b" not in out
    assert "bad\\x1b[2Jmessage\\nsecond" in out
    assert " 1 | image: \ufffd[31mevil" in out


def test_text_without_source_skips_the_source_lines():
    out = render("text", make_report([port_finding()], sources={}))
    assert out.splitlines()[:2] == [
        "compose.yml:5:10: HF301 Port 5432 is published on all interfaces",
        "   = fix: Publish on 127.0.0.1 only (safe)",
    ]


def test_text_display_only_and_refused_fixes():
    fix = Fix("Add a volume for /data", Applicability.DISPLAY_ONLY, (), refused="the service's volumes come from ${VOLS}")
    out = render("text", make_report([latest_finding(fix=fix)]))
    assert "   = help: Add a volume for /data\n" in out
    assert "   = note: the service's volumes come from ${VOLS}\n" in out
    assert "= fix:" not in out
    assert "fixable" not in out  # a display-only fix fixes nothing


def test_text_colour():
    out = render("text", full_report(color=True))
    assert "\x1b[1mcompose.yml\x1b[0m:3:12: \x1b[1;31mHF101\x1b[0m " in out
    assert "\x1b[1;33mHF301\x1b[0m" in out
    assert "\x1b[1;34mHF201\x1b[0m" in out
    assert "\x1b[1;31m^^^^^^^^^^^\x1b[0m" in out
    # The same words once the escapes are removed.
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", out) == render("text", full_report())


def test_text_statistics_table():
    findings = [persist_finding(), persist_finding(line=30, path="b.yml"), port_finding(), latest_finding()]
    out = render("text", make_report(findings, statistics=True))
    assert out == (
        "2  HF101  stateful-data-not-persisted\n"
        "1  HF201  image-tag-latest\n"
        "1  HF301  port-published-on-all-interfaces  [*]\n"
        "\n"
        "Found 4 problems (2 errors, 1 warning, 1 info).\n"
        "1 fixable with `holdfast fix` (2 more with `--unsafe-fixes`).\n"
    )
    assert render("text", make_report([], statistics=True)) == "All checks passed.\n"


# --- concise -----------------------------------------------------------------------------------


def test_concise():
    out = render("concise", full_report())
    assert out == (
        "compose.yml:3:12: HF101 Service `db` keeps its data in /var/lib/postgresql/data, which is not mounted\n"
        "compose.yml:5:10: HF301 [*] Port 5432 is published on all interfaces\n"
        "compose.yml:7:12: HF201 Image `redis` has no tag\n"
        "Found 3 problems.\n"
    )
    assert render("concise", make_report([])) == ""
    assert render("concise", full_report(color=True)) == out  # never coloured


# --- json ----------------------------------------------------------------------------------------

FINDING_KEYS = {
    "code": str,
    "name": str,
    "severity": str,
    "message": str,
    "path": str,
    "line": int,
    "column": int,
    "end_line": int,
    "end_column": int,
    "service": (str, type(None)),
    "fixable": bool,
    "fix_applicability": (str, type(None)),
    "fingerprint": str,
}


def test_json_matches_the_contract():
    display = Fix("Look at it", Applicability.DISPLAY_ONLY, ())
    report = make_report(
        [latest_finding(fix=display), port_finding(), persist_finding(), persist_finding(path="other.yml")],
        sources={"compose.yml": SOURCE, "other.yml": SOURCE},
    )
    out = render("json", report)
    assert out.endswith("}\n") and out.startswith('{\n  "version": 1,')
    data = json.loads(out)
    assert set(data) == {"version", "findings", "summary"}
    assert data["version"] == 1
    for item in data["findings"]:
        assert set(item) == set(FINDING_KEYS)
        for key, kind in FINDING_KEYS.items():
            assert isinstance(item[key], kind), key
        assert item["severity"] in {"error", "warning", "info"}
        assert item["fix_applicability"] in {None, "safe", "unsafe", "display-only"}
    first = data["findings"][0]
    assert first == {
        "code": "HF101",
        "name": "stateful-data-not-persisted",
        "severity": "error",
        "message": "Service `db` keeps its data in /var/lib/postgresql/data, which is not mounted",
        "path": "compose.yml",
        "line": 3,
        "column": 12,
        "end_line": 3,
        "end_column": 23,
        "service": "db",
        "fixable": True,
        "fix_applicability": "unsafe",
        "fingerprint": persist_finding().fingerprint,
    }
    by_code = {item["code"]: item for item in data["findings"]}
    assert by_code["HF201"]["fixable"] is False
    assert by_code["HF201"]["fix_applicability"] == "display-only"
    assert data["summary"] == {
        "total": 4,
        "by_severity": {"error": 2, "warning": 1, "info": 1},
        "by_code": {"HF101": 2, "HF201": 1, "HF301": 1},
        "fixable": 3,
        "files": 2,
    }


def test_json_empty():
    data = json.loads(render("json", make_report([])))
    assert data == {
        "version": 1,
        "findings": [],
        "summary": {"total": 0, "by_severity": {"error": 0, "warning": 0, "info": 0}, "by_code": {}, "fixable": 0, "files": 1},
    }


# --- sarif ------------------------------------------------------------------------------------------


def sarif_validator():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    path = SCHEMA_DIR / "sarif-schema-2.1.0.json"
    if not path.is_file():
        pytest.fail(f"SARIF schema missing at {path}: it ships with the tests")
    schema = json.loads(path.read_text(encoding="utf-8"))
    # The official 2.1.0 schema declares draft-04; validator_for picks the matching validator.
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def offset_of(text: str, line: int, column: int) -> int:
    """Independent inverse of position(): lines end at "\\n", columns are code points."""
    lines = text.split("\n")
    return sum(len(chunk) + 1 for chunk in lines[: line - 1]) + column - 1


def apply_sarif_replacements(text: str, replacements: list[dict]) -> str:
    spans = []
    for rep in replacements:
        region = rep["deletedRegion"]
        if "charOffset" in region:
            start = region["charOffset"]
            end = start + region["charLength"]
        else:
            start = offset_of(text, region["startLine"], region["startColumn"])
            end = offset_of(text, region["endLine"], region["endColumn"])
        spans.append((start, end, rep.get("insertedContent", {}).get("text", "")))
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def apply_edits(text: str, edits) -> str:
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text


def test_sarif_validates_and_describes_rules_results_and_fixes():
    validator = sarif_validator()
    report = full_report(notices=["plugin 'x' failed to load"])
    data = json.loads(render("sarif", report))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]

    assert data["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert data["version"] == "2.1.0"
    (run,) = data["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "holdfast" and driver["version"] == "0.1.0"
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] == "plugin 'x' failed to load"

    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == {"HF101", "HF201", "HF301"}
    hf101 = rules["HF101"]
    assert hf101["name"] == "StatefulDataNotPersisted"
    assert hf101["shortDescription"]["text"] == "Stateful service keeps its data inside the container."
    assert "Why it matters" in hf101["fullDescription"]["text"]
    assert hf101["help"]["text"] == hf101["fullDescription"]["text"]
    assert not hf101["help"]["text"].startswith(" ") and "\n    " not in hf101["help"]["text"]
    assert hf101["defaultConfiguration"]["level"] == "error"
    assert hf101["properties"]["fixable"] is True
    assert rules["HF301"]["defaultConfiguration"]["level"] == "warning"
    assert rules["HF201"]["defaultConfiguration"]["level"] == "note"
    assert rules["HF201"]["shortDescription"]["text"] == "image-tag-latest"  # no docstring
    assert rules["HF201"]["properties"]["fixable"] is False

    results = run["results"]
    assert [r["ruleId"] for r in results] == ["HF101", "HF301", "HF201"]
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    first = results[0]
    assert first["level"] == "error"
    assert first["message"]["text"].startswith("Service `db` keeps its data")
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "compose.yml"
    assert location["region"] == {"startLine": 3, "startColumn": 12, "endLine": 3, "endColumn": 23}
    assert first["partialFingerprints"] == {"holdfast/v1": persist_finding().fingerprint}
    assert "fixes" not in results[2]  # no fix

    # Each fix's replacements map back to exactly the edit's text change.
    for result, finding in zip(results[:2], [persist_finding(), port_finding()]):
        (fix,) = result["fixes"]
        assert fix["description"]["text"] == finding.fix.title
        (change,) = fix["artifactChanges"]
        assert change["artifactLocation"]["uri"] == "compose.yml"
        assert apply_sarif_replacements(SOURCE, change["replacements"]) == apply_edits(SOURCE, finding.fix.edits)
    insertion = results[0]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert insertion["deletedRegion"] == {"startLine": 4, "startColumn": 1, "endLine": 4, "endColumn": 1}
    assert insertion["insertedContent"]["text"] == VOLUMES


def test_sarif_validator_is_not_a_rubber_stamp():
    validator = sarif_validator()
    data = json.loads(render("sarif", full_report()))
    data["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    del data["runs"][0]["tool"]["driver"]["name"]
    assert len(list(validator.iter_errors(data))) == 2


def test_sarif_fix_regions_with_crlf_multiline_edits_and_other_files():
    validator = sarif_validator()
    source = SOURCE.replace("\n", "\r\n")
    env_text = "A=1\r\nB=2\r\n"
    start = source.index("    ports:")
    end = source.index("  cache:")
    edits = (
        Edit(source.index("postgres:16"), source.index("postgres:16") + len("postgres"), "mariadb"),
        Edit(start, end, ""),  # delete two whole lines
    )
    f1 = persist_finding(source=source, fix=Fix("Rewrite", Applicability.SAFE, edits))
    f2 = latest_finding(fix=Fix("Edit env file", Applicability.SAFE, (Edit(5, 8, "B=3"),), path="sub dir\\.env"))
    f3 = latest_finding(path="missing.yml", fix=Fix("Blind", Applicability.UNSAFE, (Edit(4, 9, "x"),)))
    report = make_report(
        [f1, f2, f3],
        sources={"compose.yml": source, "sub dir\\.env": env_text},
    )
    data = json.loads(render("sarif", report))
    assert not list(validator.iter_errors(data))
    results = data["runs"][0]["results"]

    change = results[0]["fixes"][0]["artifactChanges"][0]
    assert apply_sarif_replacements(source, change["replacements"]) == apply_edits(source, edits)
    assert change["replacements"][1]["deletedRegion"] == {"startLine": 4, "startColumn": 1, "endLine": 6, "endColumn": 1}

    env_change = results[1]["fixes"][0]["artifactChanges"][0]
    assert env_change["artifactLocation"]["uri"] == ("sub%20dir/.env" if os.sep == "\\" else "sub%20dir%5C.env")  # a backslash is a name character off Windows
    assert apply_sarif_replacements(env_text, env_change["replacements"]) == "A=1\r\nB=3\r\n"

    # Without the text, offsets are given as characters.
    blind = results[2]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert blind["deletedRegion"] == {"charOffset": 4, "charLength": 5}


def test_sarif_paths_unknown_codes_and_empty_report():
    validator = sarif_validator()
    odd = Finding("HF999", "from-a-vanished-plugin", Severity.WARNING, "?", "/abs/a b.yml", 0, 0, 0, 0)
    win = Finding("HF201", "image-tag-latest", Severity.INFO, "w", "C:\\proj\\compose.yml", 2, 3, 2, 1)
    colon = Finding("HF201", "image-tag-latest", Severity.INFO, "c", "dir/x:y.yml", 1, 1, 1, 2)
    data = json.loads(render("sarif", make_report([odd, win, colon], sources={})))
    assert not list(validator.iter_errors(data))
    run = data["runs"][0]
    uris = {r["ruleId"] + r["message"]["text"]: r["locations"][0]["physicalLocation"] for r in run["results"]}
    assert uris["HF999?"]["artifactLocation"]["uri"] == "file:///abs/a%20b.yml"
    assert uris["HF999?"]["region"] == {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1}
    assert uris["HF201w"]["artifactLocation"]["uri"] == "file:///C:/proj/compose.yml"
    assert uris["HF201w"]["region"]["endColumn"] == 3  # never before the start
    assert uris["HF201c"]["artifactLocation"]["uri"] == "dir/x%3Ay.yml"
    rules = run["tool"]["driver"]["rules"]
    hf999 = next(r for r in run["results"] if r["ruleId"] == "HF999")
    assert rules[hf999["ruleIndex"]] == {"id": "HF999", "name": "FromAVanishedPlugin"}

    empty = json.loads(render("sarif", make_report([])))
    assert not list(validator.iter_errors(empty))
    assert empty["runs"][0]["results"] == []
    assert len(empty["runs"][0]["tool"]["driver"]["rules"]) == 3


# --- github ------------------------------------------------------------------------------------------


def test_github_workflow_commands():
    out = render("github", full_report())
    assert out.splitlines() == [
        "::error file=compose.yml,line=3,col=12,endLine=3,endColumn=23,title=HF101 stateful-data-not-persisted"
        "::Service `db` keeps its data in /var/lib/postgresql/data, which is not mounted",
        "::warning file=compose.yml,line=5,col=10,endLine=5,endColumn=19,title=HF301 port-published-on-all-interfaces"
        "::Port 5432 is published on all interfaces",
        "::notice file=compose.yml,line=7,col=12,endLine=7,endColumn=17,title=HF201 image-tag-latest"
        "::Image `redis` has no tag",
        "Found 3 problems (1 error, 1 warning, 1 info).",
        "1 fixable with `holdfast fix` (1 more with `--unsafe-fixes`).",
    ]
    assert render("github", make_report([])) == "All checks passed.\n"


def test_github_escaping():
    f = Finding(
        "HF201",
        "a,b:c",
        Severity.WARNING,
        "100% sure\nsecond line\r\n::error::injected",
        "dir,1/a:b%.yml",
        2,
        1,
        4,
        9,
    )
    out = render("github", make_report([f], sources={}, notices=["50% of\nplugins"]))
    lines = out.splitlines()
    assert lines[0] == "::warning::50%25 of%0Aplugins"
    assert lines[1] == (
        "::warning file=dir%2C1/a%3Ab%25.yml,line=2,endLine=4,title=HF201 a%2Cb%3Ac"
        "::100%25 sure%0Asecond line%0D%0A::error::injected"
    )
    assert len(lines) == 3  # the message's line breaks did not start new commands


# --- gitlab --------------------------------------------------------------------------------------------


def test_gitlab_code_quality():
    data = json.loads(render("gitlab", full_report()))
    assert isinstance(data, list) and len(data) == 3
    first = data[0]
    assert first == {
        "description": "HF101: Service `db` keeps its data in /var/lib/postgresql/data, which is not mounted",
        "check_name": "HF101",
        "fingerprint": persist_finding().fingerprint,
        "severity": "critical",
        "location": {"path": "compose.yml", "lines": {"begin": 3, "end": 3}},
    }
    assert [item["severity"] for item in data] == ["critical", "major", "info"]
    assert render("gitlab", make_report([])) == "[]\n"


def test_gitlab_fingerprint_survives_line_shifts_and_is_unique():
    before = json.loads(render("gitlab", make_report([persist_finding(line=3)])))
    after = json.loads(render("gitlab", make_report([persist_finding(line=13)])))
    assert before[0]["location"]["lines"]["begin"] == 3
    assert after[0]["location"]["lines"]["begin"] == 13
    assert before[0]["fingerprint"] == after[0]["fingerprint"]

    # Two findings on the same YAML node must still be told apart by GitLab.
    twins = json.loads(render("gitlab", make_report([persist_finding(line=3), persist_finding(line=3)])))
    assert len({item["fingerprint"] for item in twins}) == 2
    windows = json.loads(render("gitlab", make_report([latest_finding(path="sub\\compose.yml")])))
    # a backslash separates folders only on Windows; elsewhere it is part of the name
    assert windows[0]["location"]["path"] == ("sub/compose.yml" if os.sep == "\\" else "sub\\compose.yml")

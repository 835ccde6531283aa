"""The command-line contract: every output format tells the same story about the seed file,
exit codes, options, and the `rules` / `rule` / `plugins` commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from holdfast.cli import main
from support import SEED, shared_or_skip

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SECTIONS = ("What it does", "Why it matters", "Example", "Use instead", "Fix", "References")


@pytest.fixture
def cli(monkeypatch, capsys):
    """cli(*argv, cwd=SEED's folder) -> (exit code, stdout, stderr), in-process."""

    def run(*argv: str, cwd: Path | None = None):
        monkeypatch.chdir(cwd or SEED.parent)
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        out, err = capsys.readouterr()
        return exc.value.code, out, err

    return run


def run_holdfast(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "holdfast", *argv], capture_output=True, text=True, timeout=60, cwd=cwd or SEED.parent, env=full_env
    )


@pytest.fixture(scope="module")
def seed_json() -> dict:
    """The reference: the seed linted as JSON (subprocess, so it is independent of the in-process runs)."""
    result = run_holdfast("lint", "--format", "json", SEED.name)
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


def reference(seed_json) -> list[tuple[str, int, int]]:
    return sorted((f["code"], f["line"], f["column"]) for f in seed_json["findings"])


# --------------------------------------------------------------------------- formats


def test_seed_reference_is_what_the_issue_describes(seed_json):
    found = sorted((f["code"], f["line"], f["service"]) for f in seed_json["findings"])
    assert found == [("HF101", 4, "db"), ("HF101", 11, "redis"), ("HF104", 6, "db"), ("HF104", 13, "redis")]


def test_json_contract(seed_json):
    assert set(seed_json) == {"version", "findings", "summary"}
    assert seed_json["version"] == 1
    keys = {"code", "name", "severity", "message", "path", "line", "column", "end_line", "end_column", "service", "fixable", "fix_applicability", "fingerprint"}
    for f in seed_json["findings"]:
        assert set(f) == keys
        assert f["path"] == SEED.name  # as given on the command line
        assert f["severity"] in ("error", "warning", "info")
        assert isinstance(f["fixable"], bool)
        assert f["fix_applicability"] in (None, "safe", "unsafe", "display-only")
        assert re.fullmatch(r"[0-9a-f]{16,}", f["fingerprint"])
        assert (f["end_line"], f["end_column"]) >= (f["line"], f["column"])
    assert len({f["fingerprint"] for f in seed_json["findings"]}) == len(seed_json["findings"])
    summary = seed_json["summary"]
    assert summary["total"] == len(seed_json["findings"])
    assert summary["by_code"] == dict(Counter(f["code"] for f in seed_json["findings"]))
    assert summary["by_severity"] == {s: sum(f["severity"] == s for f in seed_json["findings"]) for s in ("error", "warning", "info")}
    assert summary["fixable"] == sum(f["fixable"] for f in seed_json["findings"])
    assert summary["files"] == 1


def test_fingerprint_is_stable_across_line_shifts(tmp_path, cli, seed_json):
    shifted = tmp_path / SEED.name
    shifted.write_text("# a new first line\n\n" + SEED.read_text(encoding="utf-8"))
    (tmp_path / ".holdfast.toml").write_text("")
    code, out, err = cli("lint", "--format", "json", SEED.name, cwd=tmp_path)
    moved = json.loads(out)["findings"]
    assert [f["line"] for f in moved] == [f["line"] + 2 for f in seed_json["findings"]]
    assert [f["fingerprint"] for f in moved] == [f["fingerprint"] for f in seed_json["findings"]]


def test_text_and_concise(cli, seed_json):
    # concise marks fixable findings with "[*] " (ruff style)
    pattern = re.compile(rf"^{re.escape(SEED.name)}:(\d+):(\d+): (HF\d+) (?:\[\*\] )?(.+)$", re.MULTILINE)
    for fmt in ("text", "concise"):
        code, out, err = cli("lint", "--format", fmt, SEED.name)
        assert code == 1
        got = sorted((c, int(line), int(col)) for line, col, c, _ in pattern.findall(out))
        assert got == reference(seed_json), fmt
        messages = {m for *_, m in pattern.findall(out)}
        assert messages == {f["message"] for f in seed_json["findings"]}
        assert "Found 4 problems" in out
        assert ANSI.search(out) is None


def test_text_shows_the_source_line_and_carets(cli):
    code, out, err = cli("lint", SEED.name)
    lines = SEED.read_text(encoding="utf-8").splitlines()
    block = out.split(f"{SEED.name}:4:3: HF101", 1)[1].splitlines()
    assert block[1] == f" 4 | {lines[3]}"
    assert block[2] == "   |   ^^"


def test_sarif_validates_and_matches(cli, seed_json):
    from jsonschema.validators import validator_for

    schema = json.loads(shared_or_skip("schema", "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    code, out, err = cli("lint", "--format", "sarif", SEED.name)
    assert code == 1
    sarif = json.loads(out)
    validator = validator_for(schema)
    validator.check_schema(schema)
    errors = [e.message for e in validator(schema).iter_errors(sarif)]
    assert errors == []
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    got = sorted(
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"], r["locations"][0]["physicalLocation"]["region"]["startColumn"])
        for r in run["results"]
    )
    assert got == reference(seed_json)
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]} == {SEED.name}
    services = sorted((r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"], r.get("properties", {}).get("service")) for r in run["results"])
    assert services == sorted((f["code"], f["line"], f["service"]) for f in seed_json["findings"])
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    for result in run["results"]:
        assert result["ruleId"] in rules
        assert rules[result["ruleId"]]["name"]
        assert "help" in rules[result["ruleId"]] or "fullDescription" in rules[result["ruleId"]]
        assert result["level"] == {"error": "error", "warning": "warning", "info": "note"}[
            next(f["severity"] for f in seed_json["findings"] if f["code"] == result["ruleId"])
        ]


def test_github_workflow_commands(cli, seed_json):
    code, out, err = cli("lint", "--format", "github", SEED.name)
    assert code == 1
    pattern = re.compile(r"^::(error|warning|notice) file=([^,]+),line=(\d+),col=(\d+)[^:]*,title=(HF\d+)[^:]*::(.+)$", re.MULTILINE)
    rows = pattern.findall(out)
    assert sorted((c, int(line), int(col)) for _, _, line, col, c, _ in rows) == reference(seed_json)
    assert {path for _, path, *_ in rows} == {SEED.name}
    levels = {c: lvl for lvl, _, _, _, c, _ in rows}
    assert levels == {"HF101": "error", "HF104": "warning"}


def test_gitlab_code_quality(cli, seed_json):
    code, out, err = cli("lint", "--format", "gitlab", SEED.name)
    assert code == 1
    report = json.loads(out)
    assert sorted((r["check_name"], r["location"]["lines"]["begin"]) for r in report) == sorted((c, line) for c, line, _ in reference(seed_json))
    assert {r["location"]["path"] for r in report} == {SEED.name}
    assert {r["fingerprint"] for r in report} == {f["fingerprint"] for f in seed_json["findings"]}


def test_auto_format_under_github_actions(seed_json):
    result = run_holdfast("lint", "--format", "auto", SEED.name, env={"GITHUB_ACTIONS": "true"})
    assert result.stdout.startswith("::error file=")
    result = run_holdfast("lint", "--format", "auto", SEED.name)
    assert result.stdout.startswith(f"{SEED.name}:4:3: HF101")


def test_unknown_format_is_exit_2(cli):
    code, out, err = cli("lint", "--format", "xml", SEED.name)
    assert code == 2 and len(err.splitlines()) == 1 and "xml" in err


def test_output_file(tmp_path, cli, seed_json):
    target = tmp_path / "report.json"
    code, out, err = cli("lint", "--format", "json", "-o", str(target), SEED.name)
    assert code == 1
    assert out == ""
    assert json.loads(target.read_text()) == seed_json


def test_statistics(cli, seed_json):
    code, out, err = cli("lint", "--statistics", SEED.name)
    assert code == 1
    rows = re.findall(r"^\s*(\d+)\s+(HF\d+)\s+([a-z-]+)", out, re.MULTILINE)
    assert {c: int(n) for n, c, _ in rows} == seed_json["summary"]["by_code"]
    assert {c: name for _, c, name in rows} == {f["code"]: f["name"] for f in seed_json["findings"]}
    # statistics replace the per-finding lines
    assert f"{SEED.name}:4:3" not in out


def test_exit_zero(cli):
    code, out, err = cli("lint", "--exit-zero", "--format", "concise", SEED.name)
    assert code == 0
    assert "HF101" in out


def test_fail_levels(tmp_path, cli):
    (tmp_path / ".holdfast.toml").write_text("")
    (tmp_path / "warn.yml").write_text("services:\n  db:\n    image: postgres:alpine\n    volumes: ['./a:/var/lib/postgresql/data', './b:/var/lib/postgresql']\n")
    (tmp_path / "info.yml").write_text("services:\n  web:\n    image: nginx:1  # holdfast: ignore[HF104]\n")
    assert cli("lint", "warn.yml", cwd=tmp_path)[0] == 0
    assert cli("lint", "--fail-level", "warning", "warn.yml", cwd=tmp_path)[0] == 1
    assert cli("lint", "--fail-level", "warning", "info.yml", cwd=tmp_path)[0] == 0
    assert cli("lint", "--fail-level", "info", "info.yml", cwd=tmp_path)[0] == 1
    code, out, err = cli("lint", "--fail-level", "fatal", "info.yml", cwd=tmp_path)
    assert code == 2 and len(err.splitlines()) == 1


def test_exit_codes(tmp_path, cli):
    (tmp_path / ".holdfast.toml").write_text("")
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.27\n")
    code, out, err = cli("lint", "compose.yaml", cwd=tmp_path)
    assert (code, err) == (0, "")
    assert "All checks passed" in out
    assert cli("lint", SEED.name)[0] == 1
    code, out, err = cli("lint", "--no-such-option", SEED.name)
    assert code == 2 and len(err.splitlines()) == 1


# --------------------------------------------------------------------------- colour


def test_no_colour_when_piped_by_default():
    result = run_holdfast("lint", SEED.name)
    assert result.returncode == 1
    assert ANSI.search(result.stdout) is None


def test_colour_when_asked():
    result = run_holdfast("lint", "--color", "always", SEED.name)
    assert ANSI.search(result.stdout) is not None


def test_never_colour_with_no_color():
    for option in ("auto", "always"):
        result = run_holdfast("lint", "--color", option, SEED.name, env={"NO_COLOR": "1"})
        assert result.returncode == 1
        assert ANSI.search(result.stdout) is None, option


def test_colour_never():
    result = run_holdfast("lint", "--color", "never", SEED.name)
    assert ANSI.search(result.stdout) is None


# --------------------------------------------------------------------------- rules, rule, plugins


def rule_table(cli, *argv, cwd=None):
    code, out, err = cli("rules", *argv, cwd=cwd)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["code", "name", "severity", "fixable", "enabled"]
    return {row.split()[0]: row.split()[1:] for row in lines[1:] if row.strip()}


def test_rules_table(tmp_path, cli):
    (tmp_path / ".holdfast.toml").write_text("")
    table = rule_table(cli, cwd=tmp_path)
    from holdfast.plugins import load_plugins

    rules = load_plugins().rules()
    assert set(table) == set(rules)
    for code, (name, severity, fixable, enabled) in table.items():
        rule = rules[code]
        assert name == rule.name
        assert severity == rule.severity.label
        assert fixable == ("yes" if rule.fixable else "no")
        assert enabled == ("yes" if rule.enabled_by_default else "no")
    assert table["HF103"][3] == "no" and table["HF101"][3] == "yes"
    assert {f"HF{n:03d}" for n in (0, 1, 2, 3, 101, 102, 103, 104, 105)} <= set(table)


def test_rules_table_follows_the_configuration(tmp_path, cli):
    (tmp_path / ".holdfast.toml").write_text('persistence = "bind"\nignore = ["HF104"]\n[severity]\nHF101 = "warning"\n')
    table = rule_table(cli, cwd=tmp_path)
    assert table["HF103"][3] == "yes"
    assert table["HF104"][3] == "no"
    assert table["HF101"][1] == "warning"


def all_rule_codes():
    from holdfast.plugins import load_plugins

    return sorted(c for c in load_plugins().rules() if c.startswith("HF"))


@pytest.mark.parametrize("code", all_rule_codes())
def test_rule_documentation_has_every_section(cli, code):
    status, out, err = cli("rule", code.lower())
    assert status == 0, err
    assert out.startswith(code + " ")
    headings = re.findall(r"^#+\s*(.+?)\s*$", out, re.MULTILINE)
    assert [h for h in headings if h in SECTIONS] == list(SECTIONS), headings
    # every section has some text under it
    for section, following in zip(SECTIONS, SECTIONS[1:] + ("\0",), strict=True):
        body = out.split(section, 1)[1].split(following, 1)[0]
        assert body.strip(" \n#"), f"{code}: section {section!r} is empty"


def test_unknown_rule_is_exit_2(cli):
    code, out, err = cli("rule", "HF999")
    assert code == 2 and len(err.splitlines()) == 1 and "HF999" in err


def test_plugins_lists_the_builtin_plugins(cli):
    code, out, err = cli("plugins")
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    names = {row[0]: row for row in rows if len(row) >= 3}
    assert names["rules"][1] == "holdfast.rules" and names["rules"][-1] == "ok"
    assert "holdfast" in names["rules"]
    from holdfast.plugins import load_plugins

    assert re.search(rf"^{len(load_plugins().rules())} rules from \d+ plugins$", out, re.MULTILINE)


def test_version(cli):
    from holdfast import __version__

    code, out, err = cli("--version")
    assert code == 0 and __version__ in out

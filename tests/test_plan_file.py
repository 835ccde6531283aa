"""The plan file: JSON Schema, tamper check, and the exit code 2 of `plan --show` / `apply` on a bad plan."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from holdfast.apply.errors import PlanInvalid
from holdfast.apply.plan import load, save, schema
from holdfast.cli import cli
from test_plan_planner import plan_for, project_dir, seed_engine, seed_text


@pytest.fixture
def plan_path(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    path = tmp_path / "plan.json"
    save(plan_for(folder, seed_engine(folder)), str(path))
    return path


def test_schema_is_packaged_and_strict():
    data = schema()
    assert data["$schema"].endswith("2020-12/schema")
    assert data["additionalProperties"] is False
    assert "remove" in data["$defs"]["step"]["properties"]["kind"]["enum"]


def test_saved_plan_loads_back(plan_path):
    plan = load(str(plan_path))
    assert plan.to_json() == json.loads(plan_path.read_text())
    assert [s.name for s in plan.services] == ["db", "redis"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.pop("steps"), "'steps' is a required property"),
        (lambda d: d["services"][0]["moves"][0].update(bind_source="relative/path"), "services/0/moves/0/bind_source"),
        (lambda d: d["steps"][0].update(kind="format-disk"), "steps/0/kind"),
        (lambda d: d.update(version=2), "version"),
    ],
)
def test_invalid_plan_names_the_problem(plan_path, edit, message):
    data = json.loads(plan_path.read_text())
    edit(data)
    plan_path.write_text(json.dumps(data))
    with pytest.raises(PlanInvalid, match="invalid plan") as info:
        load(str(plan_path))
    assert message in str(info.value) and info.value.exit_code == 2


def test_hand_edited_plan_is_refused(plan_path):
    data = json.loads(plan_path.read_text())
    data["services"][0]["stop_grace"] = 1  # valid against the schema, but not what `plan` decided
    plan_path.write_text(json.dumps(data))
    with pytest.raises(PlanInvalid, match="modified after"):
        load(str(plan_path))


@pytest.mark.parametrize("argv", [["plan", "--show"], ["apply", "--yes"]])
def test_cli_exits_2_on_an_invalid_plan(tmp_path, argv):
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(cli, [*argv, str(bad)])
    assert result.exit_code == 2
    assert "not a readable JSON plan" in result.output


def test_cli_apply_needs_yes_without_a_terminal(plan_path, capsys, monkeypatch):
    from holdfast.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(SystemExit) as info:
        main(["apply", str(plan_path)])
    assert info.value.code == 2 and "pass --yes" in capsys.readouterr().err


def test_apply_help_documents_the_exit_codes():
    result = CliRunner().invoke(cli, ["apply", "--help"])
    assert result.exit_code == 0
    for line in ("0  done", "1  a step failed", "2  usage error", "3  refused by a pre-check"):
        assert line in result.output

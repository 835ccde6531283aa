"""Compose variable interpolation, `.env` files, and their effect on what the rules see."""

from __future__ import annotations

import json
import textwrap

import pytest
from holdfast.cli import main
from holdfast.interpolation import Interpolator, project_environment, read_env_file

ENV = {"SET": "value", "EMPTY": "", "MAJOR": "16"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("${SET}", "value"),
        ("$SET", "value"),
        ("pre-${SET}-post", "pre-value-post"),
        ("${UNSET}", ""),
        ("${UNSET:-dflt}", "dflt"),
        ("${EMPTY:-dflt}", "dflt"),  # `:-` also replaces an empty value
        ("${EMPTY-dflt}", ""),  # `-` replaces only an unset one
        ("${UNSET-dflt}", "dflt"),
        ("${SET:-dflt}", "value"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("$$", "$"),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("cost: 5$", "cost: 5$"),
        ("${UNSET:-${ALSO_UNSET:-${MAJOR}}}", "16"),
        ("postgres:${UNSET:-${MAJOR}}-alpine", "postgres:16-alpine"),
        ("${UNSET:-a-b:c}", "a-b:c"),
        ("${SET:?must be set}", "value"),
        ("${EMPTY?only unset fails}", ""),
        ("no dollar at all", "no dollar at all"),
    ],
)
def test_forms(text, expected):
    interp = Interpolator(ENV)
    assert interp.text(text) == expected
    assert interp.errors == []


def test_unset_variables_are_collected():
    interp = Interpolator(ENV)
    interp.text("${A}-$B-${SET}-${C:-x}")
    assert interp.missing == {"A", "B"}


@pytest.mark.parametrize("text", ["${UNSET:?set UNSET first}", "${EMPTY:?must not be empty}", "${UNSET?x}"])
def test_required_variable_missing_is_recorded_not_raised(text):
    interp = Interpolator(ENV)
    result = interp.text(text)
    assert len(interp.errors) == 1
    name = text[2:].split(":")[0].split("?")[0]
    assert name in interp.errors[0]
    assert name in interp.missing
    assert result == text  # left as written


@pytest.mark.parametrize("text", ["${SET", "${}", "${SET:-abc", "${SET%x}"])
def test_malformed_is_recorded(text):
    interp = Interpolator(ENV)
    interp.text(text)
    assert len(interp.errors) == 1


def test_data_interpolates_values_not_keys():
    interp = Interpolator(ENV)
    data = {"${SET}": ["${MAJOR}", {"k": "${SET}"}], "n": 5, "b": True}
    assert interp.data(data) == {"${SET}": ["16", {"k": "value"}], "n": 5, "b": True}


def test_read_env_file(tmp_path):
    env = tmp_path / ".env"
    env.write_text(
        textwrap.dedent(
            """\
            # a comment
            PLAIN=abc
            export EXPORTED=1
            SPACED = x y
            DQ="line1\\nline2"
            SQ='lit\\n'
            TRAIL=val # comment
            HASH=a#b
            EMPTY=
            not a line
            """
        )
    )
    assert read_env_file(str(env)) == {
        "PLAIN": "abc",
        "EXPORTED": "1",
        "SPACED": "x y",
        "DQ": "line1\nline2",
        "SQ": "lit\\n",
        "TRAIL": "val",
        "HASH": "a#b",
        "EMPTY": "",
    }
    assert read_env_file(str(tmp_path / "missing.env")) == {}


def test_process_environment_wins_over_dot_env(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("HF_TEST_A=from-file\nHF_TEST_B=file-only\n")
    monkeypatch.setenv("HF_TEST_A", "from-env")
    env = project_environment(str(tmp_path))
    assert env["HF_TEST_A"] == "from-env"
    assert env["HF_TEST_B"] == "file-only"


# --------------------------------------------------------------------------- end to end


@pytest.fixture
def lint(tmp_path, monkeypatch, capsys):
    def run(files: dict[str, str], *args: str):
        (tmp_path / ".holdfast.toml").write_text("")
        for name, text in files.items():
            (tmp_path / name).write_text(textwrap.dedent(text))
        monkeypatch.chdir(tmp_path)
        with pytest.raises(SystemExit) as exc:
            main(["lint", "--format", "json", *args, "compose.yaml"])
        out, err = capsys.readouterr()
        assert exc.value.code in (0, 1), err
        return json.loads(out)["findings"]

    return run


TAGGED = """\
services:
  db:
    image: postgres:${PG_TAG:-alpine}
    volumes:
      - ./pg:/var/lib/postgresql/data
"""


def test_default_is_used_when_unset(lint, monkeypatch):
    monkeypatch.delenv("PG_TAG", raising=False)
    findings = lint({"compose.yaml": TAGGED})
    assert [f["code"] for f in findings] == ["HF104"]
    assert "postgres:alpine" in findings[0]["message"]


def test_dot_env_value_is_used(lint, monkeypatch):
    monkeypatch.delenv("PG_TAG", raising=False)
    assert lint({"compose.yaml": TAGGED, ".env": "PG_TAG=16\n"}) == []


def test_process_env_overrides_dot_env(lint, monkeypatch):
    monkeypatch.setenv("PG_TAG", "latest")
    findings = lint({"compose.yaml": TAGGED, ".env": "PG_TAG=16\n"})
    assert "HF104" in [f["code"] for f in findings]
    assert any("postgres:latest" in f["message"] for f in findings)


def test_interpolated_mount_target(lint, monkeypatch):
    monkeypatch.delenv("PG_PATH", raising=False)
    text = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./pg:${PG_PATH:-/var/lib/postgresql/data}\n"
    assert lint({"compose.yaml": text}) == []
    findings = lint({"compose.yaml": text, ".env": "PG_PATH=/somewhere/else\n"})
    assert [f["code"] for f in findings] == ["HF101"]


def test_interpolated_environment_moves_the_data(lint, monkeypatch):
    monkeypatch.delenv("PG_DIR", raising=False)
    text = "services:\n  db:\n    image: postgres:16\n    environment:\n      PGDATA: ${PG_DIR:-/var/lib/postgresql/data}\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n"
    assert lint({"compose.yaml": text}) == []
    findings = lint({"compose.yaml": text, ".env": "PG_DIR=/srv/pg\n"})
    assert [f["code"] for f in findings] == ["HF105"]
    assert "/srv/pg" in findings[0]["message"]


def test_dollar_dollar_is_not_a_variable_in_the_project(tmp_path, monkeypatch):
    from holdfast.document import ComposeDocument
    from holdfast.project import Project

    monkeypatch.setenv("PGHOME", "/from/env")
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  db:\n    image: postgres:16\n    environment:\n      PGDATA: $$PGHOME\n      OTHER: $PGHOME\n")
    project = Project.load([ComposeDocument.from_path(str(path))])
    assert project.services["db"].config["environment"] == {"PGDATA": "$PGHOME", "OTHER": "/from/env"}


def test_required_variable_missing_is_reported(lint, monkeypatch):
    monkeypatch.delenv("DB_IMAGE", raising=False)
    findings = lint({"compose.yaml": "services:\n  db:\n    image: ${DB_IMAGE:?set DB_IMAGE}\n"})
    assert any("DB_IMAGE" in f["message"] for f in findings), findings


def test_required_variable_present(lint, monkeypatch):
    monkeypatch.delenv("DB_IMAGE", raising=False)
    findings = lint({"compose.yaml": "services:\n  db:\n    image: ${DB_IMAGE:?set DB_IMAGE}\n", ".env": "DB_IMAGE=postgres:16\n"})
    assert [f["code"] for f in findings] == ["HF101"]

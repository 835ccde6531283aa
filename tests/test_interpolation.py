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


# --------------------------------------------------------------------------- dotenv (Compose's rules)
from holdfast.dotenv import DotenvError, parse  # noqa: E402


def test_dotenv_quotes_comments_and_expansion():
    text = (
        "PG_MAJOR=18\n"
        "PG_TAG=${PG_MAJOR}\n"  # expanded from an earlier line
        "PINNED='18' # pinned\n"  # quotes and the comment go
        'DQ="a\\tb \\"c\\" \\$HOME ${PG_MAJOR}"\n'  # escapes, then expansion; \\$ is a literal $
        "SQ='${PG_MAJOR}\\n'\n"  # single quotes: literal
        "ML='one\ntwo' # c\n"  # multi-line
        "UNQ=a\\nb\n"  # unquoted: no escapes
        "YAML: style\n"
        "export EXP=1\n"
        "INHERIT\n"  # bare key: from the environment when set there
        "MISSING\n"
    )
    env = parse(text, {"INHERIT": "outer", "PG_MAJOR": "17"})
    assert env["PG_TAG"] == "17"  # the environment is looked up before earlier lines
    assert env["PINNED"] == "18"
    assert env["DQ"] == 'a\tb "c" $HOME 17'
    assert env["SQ"] == "${PG_MAJOR}\\n"
    assert env["ML"] == "one\ntwo"
    assert env["UNQ"] == "a\\nb"
    assert env["YAML"] == "style" and env["EXP"] == "1"
    assert env["INHERIT"] == "outer" and "MISSING" not in env
    assert parse("A=1\nB=${A}2\n")["B"] == "12"


@pytest.mark.parametrize(
    "text, line, what",
    [('A=1\nB="open\n', 2, "unterminated quoted value"), ("A=1\n\nBAD/KEY=1\n", 3, "unexpected character"), ("A=${X:0:1}\n", 1, "invalid interpolation")],
)
def test_dotenv_refusals_name_the_line(text, line, what):
    with pytest.raises(DotenvError) as exc:
        parse(text, {}, "x.env")
    assert exc.value.line == line and what in str(exc.value) and str(exc.value).startswith(f"x.env:{line}:")


def test_dotenv_reads_only_regular_files(tmp_path):
    import os

    from holdfast.dotenv import read
    from holdfast.fileio import UnreadableFile

    fifo = tmp_path / "fifo.env"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFile):
        read(str(fifo))  # would block forever if opened as a plain file
    assert read_env_file(str(fifo)) == {}


def test_deep_nesting_is_refused_not_a_crash():
    text = "${A:-" * 600 + "x" + "}" * 600
    interp = Interpolator({})
    assert interp.text(text) == text
    assert "nested more than" in interp.errors[0]
    assert Interpolator({}).text("${A:-${B:-${C:-deep}}}") == "deep"


def test_deep_nesting_gives_a_finding(lint):
    deep = "${A:-" * 600 + "16" + "}" * 600
    findings = lint({"compose.yaml": f"services:\n  db:\n    image: postgres:{deep}\n"})
    assert [(f["code"], f["line"]) for f in findings if f["code"] == "HF002"] == [("HF002", 3)]
    assert any("nested more than" in f["message"] for f in findings)

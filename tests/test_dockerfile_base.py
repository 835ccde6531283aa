"""The base image of built services (`build:` with dockerfile, dockerfile_inline, args, target)
and command parsing that stays linear on huge `command:` values."""

from __future__ import annotations

import json
import time

import pytest
from holdfast.cli import main
from holdfast.dockerfile import base_image
from holdfast.image_commands import split_words


@pytest.mark.parametrize(
    "dockerfile, args, target, expected",
    [
        ("FROM postgres:16\n", {}, None, "postgres:16"),
        ("ARG PG=16\nFROM postgres:${PG}-alpine\n", {}, None, "postgres:16-alpine"),
        ("ARG PG=16\nFROM postgres:${PG}-alpine\n", {"PG": "13"}, None, "postgres:13-alpine"),
        ("ARG PG\nFROM postgres:${PG:-14}\n", {}, None, "postgres:14"),
        ("ARG REG=docker.io/library\nFROM $REG/redis:7 AS cache\n", {}, None, "docker.io/library/redis:7"),
        ("FROM postgres:16 AS base\nFROM base AS final\nRUN true\n", {}, None, "postgres:16"),
        ("FROM postgres:16 AS db\nFROM node:20 AS web\n", {}, "db", "postgres:16"),
        ("FROM postgres:16 AS db\nFROM db AS seeded\nFROM node:20 AS web\n", {}, "SEEDED", "postgres:16"),
        ("FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM mongo:7\n", {}, None, "mongo:7"),
        ("# escape=`\nARG V=8\nFROM mysql:`\n${V}.4\n", {}, None, "mysql:8.4"),
        ("FROM \\\n  mariadb:11 \\\n  AS db\n# comment\nRUN true\n", {}, None, "mariadb:11"),
        ("arg v=6\nfrom valkey/valkey:${v}\n", {}, None, "valkey/valkey:6"),
    ],
)
def test_base_image_of_the_target_stage(dockerfile, args, target, expected):
    found = base_image(dockerfile, args, target)
    assert (found.image, found.problem) == (expected, None)


@pytest.mark.parametrize(
    "dockerfile, target, problem",
    [
        ("RUN true\n", None, "no FROM"),
        ("FROM postgres:16 AS db\n", "web", "no stage named 'web'"),
        ("ARG IMG\nFROM ${IMG}\n", None, "no value"),
    ],
)
def test_base_image_problems_are_said_not_guessed(dockerfile, target, problem):
    found = base_image(dockerfile, {}, target)
    assert found.image is None and problem in found.problem


def test_scratch_is_no_image():
    assert base_image("FROM scratch\nCOPY x /\n").image is None


def _lint(tmp_path, monkeypatch, capsys, files: dict[str, str]):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / ".holdfast.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--format", "json", "compose.yaml"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return exc.value.code, json.loads(out)["findings"], err


def test_build_target_args_and_inline_are_followed(tmp_path, monkeypatch, capsys):
    compose = """\
services:
  db:
    build:
      context: ./db
      dockerfile: db.Dockerfile
      target: runtime
      args: ["PG=15"]
  cache:
    build:
      context: .
      dockerfile_inline: |
        ARG V=7
        FROM redis:${V}-alpine AS base
        FROM base
  tool:
    build:
      context: ./db
      dockerfile: db.Dockerfile
      target: tools
"""
    dockerfile = "ARG PG=16\nFROM golang:1.22 AS tools\nFROM postgres:${PG} AS runtime\nFROM busybox AS test\n"
    code, findings, err = _lint(tmp_path, monkeypatch, capsys, {"compose.yaml": compose, "db/db.Dockerfile": dockerfile})
    by_service = {f["service"]: f for f in findings}
    assert set(by_service) == {"db", "cache"}
    assert "/var/lib/postgresql/data" in by_service["db"]["message"]  # postgres 15, not the last stage's busybox
    assert "/data" in by_service["cache"]["message"]


def test_unreadable_and_remote_contexts_are_said_once(tmp_path, monkeypatch, capsys):
    compose = """\
services:
  a:
    build: ./missing
  b:
    build:
      context: https://github.com/example/db.git#main
  c:
    build: ./missing
"""
    code, findings, err = _lint(tmp_path, monkeypatch, capsys, {"compose.yaml": compose})
    assert findings == []
    assert err.count("service a:") == 1 and "missing/Dockerfile" in err
    assert err.count("is remote") == 1
    (tmp_path / "missing").mkdir()
    (tmp_path / "missing" / "Dockerfile").mkdir()  # a directory, not a regular file
    code, findings, err = _lint(tmp_path, monkeypatch, capsys, {"compose.yaml": compose})
    assert findings == [] and "service c:" in err


def test_split_words_matches_shlex():
    import shlex

    for text in ['redis-server --save "" --appendonly yes', "a 'b c' d\\ e \"f\\\"g\"", "x#y", "", "  ", "a\\\nb"]:
        assert split_words(text) == shlex.split(text)
    assert split_words("sh -c 'unterminated") is None
    assert split_words("a;b&&c | d", punctuation=True) == ["a", ";", "b", "&&", "c", "|", "d"]


@pytest.mark.parametrize("size", [300_000, 1_000_000])
def test_huge_command_is_parsed_in_linear_time(tmp_path, monkeypatch, capsys, size):
    token = "x" * size
    compose = f"services:\n  cache:\n    image: redis:7\n    command: redis-server --dir /srv/{token} --save 60 1\n"
    start = time.perf_counter()
    code, findings, err = _lint(tmp_path, monkeypatch, capsys, {"compose.yaml": compose})
    elapsed = time.perf_counter() - start
    assert elapsed < 5, f"{size} bytes of command took {elapsed:.1f}s"
    assert [f["code"] for f in findings] == ["HF101"]
    quoted = "sh -c 'exec redis-server --dir /d " + "a" * size + "'"
    start = time.perf_counter()
    assert split_words(quoted)[-1].endswith("a" * 10)
    assert time.perf_counter() - start < 1


def _doubling_args(count: int) -> str:
    """ARG A1=x, then each ARG the one before twice: 2**count characters if expanded."""
    lines = ["ARG A1=x"] + [f"ARG A{i}=${{A{i - 1}}}${{A{i - 1}}}" for i in range(2, count + 1)]
    return "\n".join(lines) + "\n"


def test_build_argument_that_doubles_stops_at_the_limit_instead_of_eating_memory():
    started = time.monotonic()
    found = base_image(_doubling_args(64) + "FROM postgres:${A64}\n")
    assert time.monotonic() - started < 5
    assert found.image is None
    assert "expands to more than" in found.problem


def test_a_long_argument_that_the_from_line_does_not_use_is_harmless():
    found = base_image(_doubling_args(64) + "ARG PG=16\nFROM postgres:${PG}\n")
    assert found.image == "postgres:16"

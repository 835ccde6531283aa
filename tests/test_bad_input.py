"""Hostile and broken input: findings or ONE clear line on stderr, never a traceback, never a hang.

Everything runs `python -m holdfast` in a subprocess with a 20 s timeout, as a pre-commit
hook or CI job would, and checks the exit code and the number of stderr lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lint"
TIMEOUT = 20


def holdfast(*argv: str, cwd: Path, stdin: bytes | None = None, prelude: str | None = None) -> subprocess.CompletedProcess:
    """Run the CLI; `prelude` is Python run first in the child (to simulate what root cannot, e.g. EACCES)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HOLDFAST_DEBUG", "NO_COLOR")}
    if prelude is None:
        command = [sys.executable, "-m", "holdfast", *argv]
    else:
        command = [sys.executable, "-c", prelude + "\nfrom holdfast.cli import main\nmain(" + repr(list(argv)) + ")\n"]
    try:
        return subprocess.run(command, cwd=cwd, input=stdin if stdin is not None else b"", capture_output=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:  # pragma: no cover - that is the failure being tested for
        pytest.fail(f"holdfast {' '.join(argv)} did not finish within {TIMEOUT} s")


def stderr_lines(result) -> list[str]:
    return result.stderr.decode("utf-8", "replace").splitlines()


def assert_usage_error(result, *needles: str) -> str:
    lines = stderr_lines(result)
    assert result.returncode == 2, (result.returncode, lines)
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    assert lines[0].startswith("holdfast: error:"), lines[0]
    for needle in needles:
        assert needle in lines[0]
    assert result.stdout == b""
    return lines[0]


@pytest.fixture
def work(tmp_path) -> Path:
    (tmp_path / ".holdfast.toml").write_text("")  # stop the upward config search here
    return tmp_path


# --------------------------------------------------------------------------- usage errors


def test_missing_path(work):
    assert_usage_error(holdfast("lint", "does-not-exist.yml", cwd=work), "does-not-exist.yml")


def test_missing_file_option(work):
    assert_usage_error(holdfast("lint", "-f", "nope.yml", cwd=work), "nope.yml")


def test_unreadable_file(work):
    path = work / "compose.yaml"
    path.write_text("services:\n  db:\n    image: postgres:16\n")
    if os.geteuid() != 0:
        path.chmod(0)
        result = holdfast("lint", "compose.yaml", cwd=work)
    else:  # root reads anything: make open() fail the way EACCES does
        prelude = textwrap.dedent(
            """\
            import builtins, os
            _open = builtins.open
            def _deny(file, *a, **k):
                if isinstance(file, (str, bytes, os.PathLike)) and os.path.basename(os.fsdecode(file)) == "compose.yaml":
                    raise PermissionError(13, "Permission denied", os.fsdecode(file))
                return _open(file, *a, **k)
            builtins.open = _deny
            _os_open = os.open
            def _deny_os(file, *a, **k):
                if os.path.basename(os.fsdecode(file)) == "compose.yaml":
                    raise PermissionError(13, "Permission denied", os.fsdecode(file))
                return _os_open(file, *a, **k)
            os.open = _deny_os
            """
        )
        result = holdfast("lint", "compose.yaml", cwd=work, prelude=prelude)
    assert_usage_error(result, "compose.yaml", "ermission denied")


def test_folder_without_compose_file(work):
    (work / "empty").mkdir()
    (work / "empty" / "notes.yml").write_text("a: 1\n")
    assert_usage_error(holdfast("lint", "empty", cwd=work), "no compose file")


def test_not_a_file_or_folder(work):
    fifo = work / "compose.yaml"
    os.mkfifo(fifo)
    assert_usage_error(holdfast("lint", "compose.yaml", cwd=work), "compose.yaml")


def test_bad_config(work):
    (work / ".holdfast.toml").write_text('select = ["HF101"]\nslect = ["HF104"]\n')
    (work / "compose.yaml").write_text("services: {}\n")
    assert_usage_error(holdfast("lint", "compose.yaml", cwd=work), "slect")


def test_broken_toml(work):
    (work / ".holdfast.toml").write_text("select = [\n")
    (work / "compose.yaml").write_text("services: {}\n")
    assert_usage_error(holdfast("lint", "compose.yaml", cwd=work), ".holdfast.toml")


@pytest.mark.parametrize(
    "argv",
    [
        ("lint", "--bogus", "x.yml"),
        ("lint", "--format"),
        ("lint", "--fail-level", "fatal", "x.yml"),
        ("lint", "--color", "sometimes", "x.yml"),
        ("lint", "--format", "yaml", "x.yml"),
        ("frobnicate",),
        ("rule", "HF999"),
    ],
)
def test_bad_options(work, argv):
    (work / "x.yml").write_text("services: {}\n")
    assert_usage_error(holdfast(*argv, cwd=work))


# --------------------------------------------------------------------------- broken files: findings, no noise


@pytest.mark.parametrize(
    "fixture, code, line",
    [
        ("tabs.yml", "HF001", 3),
        ("unclosed-quote.yml", "HF001", None),
        ("broken.yml", "HF001", 3),
        ("duplicate-keys.yml", "HF003", 6),
        ("non-utf8.yml", "HF001", 5),
        ("empty.yml", "HF002", 1),
        ("top-level-list.yml", "HF002", 1),
        ("top-level-scalar.yml", "HF002", 1),
        ("several-documents.yml", "HF001", 4),
        ("self-alias.yml", "HF001", None),
        ("alias-bomb.yml", "HF001", None),
    ],
)
def test_broken_file_is_a_finding(work, fixture, code, line):
    target = work / fixture
    target.write_bytes((FIXTURES / fixture).read_bytes())
    result = holdfast("lint", "--format", "json", fixture, cwd=work)
    assert result.returncode == 1, stderr_lines(result)
    assert stderr_lines(result) == []
    findings = json.loads(result.stdout)["findings"]
    hits = [f for f in findings if f["code"] == code]
    assert hits, findings
    assert hits[0]["path"] == fixture
    if line is not None:
        assert hits[0]["line"] == line
    # the default text format on the same input is just as quiet on stderr
    result = holdfast("lint", fixture, cwd=work)
    assert result.returncode == 1 and stderr_lines(result) == []
    assert f"{fixture}:" in result.stdout.decode("utf-8", "replace")


def test_broken_file_does_not_hide_the_others(work):
    (work / "a").mkdir()
    (work / "b").mkdir()
    (work / "a" / "compose.yaml").write_bytes((FIXTURES / "tabs.yml").read_bytes())
    (work / "b" / "compose.yaml").write_text("services:\n  db:\n    image: mysql:8.4\n")
    result = holdfast("lint", "--format", "json", ".", cwd=work)
    assert result.returncode == 1 and stderr_lines(result) == []
    found = sorted((Path(f["path"]).as_posix(), f["code"]) for f in json.loads(result.stdout)["findings"])
    assert found == [("a/compose.yaml", "HF001"), ("b/compose.yaml", "HF101")]


def test_ten_megabyte_file(work):
    row = "      KEY_{i}: " + "x" * 200 + "\n"
    with open(work / "compose.yaml", "w") as handle:
        handle.write("services:\n  web:\n    image: nginx:1\n    environment:\n")
        i = 0
        while handle.tell() < 10 * 1024 * 1024:
            handle.write(row.format(i=i))
            i += 1
    result = holdfast("lint", "--format", "json", "compose.yaml", cwd=work)
    assert result.returncode == 1 and stderr_lines(result) == []
    findings = json.loads(result.stdout)["findings"]
    assert [f["code"] for f in findings] == ["HF001"]
    assert "MiB" in findings[0]["message"]


def test_ten_megabyte_single_line(work):
    (work / "compose.yaml").write_bytes(b"services: {x: '" + b"y" * (10 * 1024 * 1024) + b"'}\n")
    result = holdfast("lint", "compose.yaml", cwd=work)
    assert result.returncode == 1 and stderr_lines(result) == []


def test_many_services_under_the_size_limit_do_not_hang(work):
    (work / "compose.yaml").write_text("services:\n" + "".join(f"  s{i}:\n    image: nginx:1\n" for i in range(20000)))
    assert (work / "compose.yaml").stat().st_size < 4 * 1024 * 1024
    result = holdfast("lint", "--format", "json", "compose.yaml", cwd=work)
    assert result.returncode == 0 and stderr_lines(result) == []


def test_binary_garbage(work):
    (work / "compose.yaml").write_bytes(bytes(range(256)) * 64)
    result = holdfast("lint", "--format", "json", "compose.yaml", cwd=work)
    assert result.returncode == 1 and stderr_lines(result) == []
    assert json.loads(result.stdout)["findings"][0]["code"] == "HF001"


def test_deep_nesting(work):
    (work / "compose.yaml").write_text("services: " + "[" * 5000 + "]" * 5000 + "\n")
    result = holdfast("lint", "--format", "json", "compose.yaml", cwd=work)
    assert result.returncode == 1 and stderr_lines(result) == []
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["HF001"]


def test_broken_stdin(work):
    result = holdfast("lint", "--format", "json", "-", cwd=work, stdin=b"services:\n\tdb: x\n")
    assert result.returncode == 1 and stderr_lines(result) == []
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["HF001"]
    result = holdfast("lint", "--format", "json", "-", cwd=work, stdin=b"services:\n  db:\n    image: caf\xe9\n")
    assert result.returncode == 1 and stderr_lines(result) == []


def test_size_limit_applies_to_stdin(work):
    (work / ".holdfast.toml").write_text("max-file-size = 1000\n")
    payload = ("services:\n  web:\n    image: nginx:1\n    environment:\n" + "".join(f"      K{i}: {'x' * 50}\n" for i in range(100))).encode()
    assert len(payload) > 1000
    result = holdfast("lint", "--format", "json", "-", cwd=work, stdin=payload)
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["HF001"]


def test_size_limit_applies_to_files(work):
    (work / ".holdfast.toml").write_text("max-file-size = 1000\n")
    (work / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1\n    environment:\n" + "".join(f"      K{i}: {'x' * 50}\n" for i in range(100)))
    result = holdfast("lint", "--format", "json", "compose.yaml", cwd=work)
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["HF001"]

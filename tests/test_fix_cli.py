"""`holdfast fix` end to end (a subprocess, as users run it), starting with the Mastodon seed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import SEED

# The seed guide's diff: exactly these lines change (1-based line numbers in the file).
SEED_REMOVED = {
    8: "#    volumes:",
    9: "#      - ./postgres:/var/lib/postgresql/data",
    15: "#    volumes:",
    16: "#      - ./redis:/data",
}
SEED_ADDED = {
    8: "    volumes:",
    9: "      - ./postgres:/var/lib/postgresql/data",
    15: "    volumes:",
    16: "      - ./redis:/data",
}


def holdfast(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "holdfast", *args], check=False, cwd=cwd, input=stdin, capture_output=True, timeout=120)


@pytest.fixture()
def seed(tmp_path: Path) -> Path:
    target = tmp_path / "docker-compose.yml"
    shutil.copyfile(SEED, target)
    return target


def _changed_lines(diff: str) -> tuple[dict[int, str], dict[int, str]]:
    """Removed and added lines of a unified diff, by line number in the old and new file."""
    removed: dict[int, str] = {}
    added: dict[int, str] = {}
    old = new = 0
    for line in diff.splitlines():
        if line.startswith(("--- ", "+++ ")):
            continue
        if line.startswith("@@"):
            header = line.split()
            old = int(header[1][1:].split(",")[0])
            new = int(header[2][1:].split(",")[0])
            continue
        if line.startswith("-"):
            removed[old] = line[1:]
            old += 1
        elif line.startswith("+"):
            added[new] = line[1:]
            new += 1
        elif line.startswith(" "):
            old += 1
            new += 1
    return removed, added


def test_seed_diff_is_exactly_the_guides_diff(seed: Path) -> None:
    before = seed.read_bytes()
    result = holdfast("fix", "--diff", seed.name, cwd=seed.parent)
    assert result.returncode == 1, result.stderr.decode()
    removed, added = _changed_lines(result.stdout.decode())
    assert removed == SEED_REMOVED
    assert added == SEED_ADDED
    assert seed.read_bytes() == before, "--diff must not write"
    assert b"would fix HF101 in service db" in result.stderr


def test_seed_fix_then_lint_clean_and_idempotent(seed: Path) -> None:
    original = seed.read_text(encoding="utf-8")
    result = holdfast("fix", seed.name, cwd=seed.parent)
    out = result.stdout.decode()
    assert "docker-compose.yml: fixed HF101 in service db (uncommented the volumes block on lines 8-9)" in out
    assert "docker-compose.yml: fixed HF101 in service redis (uncommented the volumes block on lines 15-16)" in out
    assert result.returncode == 0, out + result.stderr.decode()  # HF104 warnings remain, below the fail level
    fixed = seed.read_text(encoding="utf-8")
    # only the four lines changed, and every comment is still there
    old_lines, new_lines = original.splitlines(), fixed.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = {i + 1 for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b}
    assert changed == set(SEED_REMOVED)
    assert "### Uncomment to enable DB persistance" in fixed
    assert "### Uncomment to enable REDIS persistance" in fixed
    lint = holdfast("lint", "--select", "HF101", seed.name, cwd=seed.parent)
    assert lint.returncode == 0, lint.stdout.decode()
    again = holdfast("fix", seed.name, cwd=seed.parent)
    assert again.returncode == 0
    assert "fixed" not in again.stdout.decode()
    assert seed.read_text(encoding="utf-8") == fixed
    diff = holdfast("fix", "--diff", seed.name, cwd=seed.parent)
    assert diff.returncode == 0 and diff.stdout == b""


def test_lint_shows_the_fix(seed: Path) -> None:
    result = holdfast("lint", seed.name, cwd=seed.parent)
    out = result.stdout.decode()
    assert "= fix: Uncomment the `volumes:` block on lines 8-9 (safe)" in out
    assert "2 fixable with `holdfast fix`" in out


def test_stdin_to_stdout(seed: Path) -> None:
    raw = seed.read_bytes().replace(b"\n", b"\r\n")
    result = holdfast("fix", "-", cwd=seed.parent, stdin=raw)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.count(b"\r\n") == raw.count(b"\r\n")
    assert b"\r\n    volumes:\r\n      - ./postgres:/var/lib/postgresql/data\r\n" in result.stdout
    assert b"fixed HF101 in service db" in result.stderr


def test_to_override_leaves_the_base_untouched(seed: Path) -> None:
    before = seed.read_bytes()
    result = holdfast("fix", "--to-override", seed.name, cwd=seed.parent)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert seed.read_bytes() == before
    override = seed.parent / "docker-compose.override.yml"
    text = override.read_text(encoding="utf-8")
    assert text.startswith("# Written by `holdfast fix --to-override`")
    assert "./postgres:/var/lib/postgresql/data" in text and "./redis:/data" in text
    lint = holdfast("lint", "--select", "HF101,HF102", cwd=seed.parent)
    assert lint.returncode == 0, lint.stdout.decode()
    again = holdfast("fix", "--to-override", seed.name, cwd=seed.parent)
    assert override.read_text(encoding="utf-8") == text
    assert "fixed" not in again.stdout.decode()


def test_select_limits_the_fixes(seed: Path) -> None:
    result = holdfast("fix", "--select", "HF102", seed.name, cwd=seed.parent)
    assert result.returncode == 0
    assert "fixed" not in result.stdout.decode()
    assert b"#    volumes:" in seed.read_bytes()


def test_exit_non_zero_on_fix(seed: Path) -> None:
    result = holdfast("fix", "--exit-non-zero-on-fix", seed.name, cwd=seed.parent)
    assert result.returncode == 1
    assert holdfast("fix", "--exit-non-zero-on-fix", seed.name, cwd=seed.parent).returncode == 0


def test_unsafe_fixes_and_remaining_findings(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./pg:/var/lib/postgresql\n", encoding="utf-8")
    result = holdfast("fix", "compose.yaml", cwd=tmp_path)
    assert result.returncode == 1  # HF105 remains: its fix is unsafe
    assert "1 more with `--unsafe-fixes`" in result.stdout.decode()
    result = holdfast("fix", "--unsafe-fixes", "compose.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout.decode()
    assert "fixed HF105 in service db (moved the mount from /var/lib/postgresql to /var/lib/postgresql/data)" in result.stdout.decode()
    assert "./pg:/var/lib/postgresql/data" in compose.read_text(encoding="utf-8")


def test_refusal_is_reported_and_exit_is_one(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    text = "services:\n  db:\n    image: postgres:16\n    environment:\n      PGDATA: ${PGDATA:-/var/lib/postgresql/data/pgdata}\n"
    compose.write_text(text, encoding="utf-8")
    result = holdfast("fix", "compose.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot fix HF101 in service db: the data path comes from an interpolated value" in result.stdout.decode()
    assert compose.read_text(encoding="utf-8") == text


def test_usage_errors_exit_two(seed: Path) -> None:
    result = holdfast("fix", "--to-override", "-", cwd=seed.parent, stdin=seed.read_bytes())
    assert result.returncode == 2
    assert result.stderr.decode().startswith("holdfast: error:")
    assert holdfast("fix", "missing.yml", cwd=seed.parent).returncode == 2

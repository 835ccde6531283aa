"""Hostile input found by fuzzing and review: each case ends quickly, with a finding or one line.

Every CLI case runs `python -m holdfast` in a subprocess with a time limit, so a hang or a
quadratic blow-up fails the test instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

TIMEOUT = 30


def run(*argv: str, cwd: Path, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HOLDFAST_DEBUG", "NO_COLOR")}
    env["HOLDFAST_NO_CACHE"] = "1"
    try:
        return subprocess.run([sys.executable, "-m", "holdfast", *argv], cwd=cwd, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"holdfast {' '.join(argv)} did not finish within {timeout} s")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / ".holdfast.toml").write_text("")
    return tmp_path


DB = b"services:\n  db:\n    image: postgres:16\n"


def no_traceback(result: subprocess.CompletedProcess) -> None:
    err = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "internal error" not in err, err
    assert result.returncode in (0, 1, 2), (result.returncode, err)


# ------------------------------------------------------------------ special files
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_found_by_discovery_does_not_hang(work):
    (work / "app").mkdir()
    os.mkfifo(work / "app" / "compose.yaml")
    result = run("lint", "--format", "json", ".", cwd=work)
    no_traceback(result)
    findings = json.loads(result.stdout)["findings"]
    assert [(f["code"], f["path"]) for f in findings] == [("HF001", "app/compose.yaml")]
    assert "FIFO" in findings[0]["message"]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_symlink_to_dev_zero_is_not_read(work):
    (work / "compose.yaml").symlink_to("/dev/zero")
    result = run("lint", "--format", "json", ".", cwd=work)
    no_traceback(result)
    findings = json.loads(result.stdout)["findings"]
    assert [f["code"] for f in findings] == ["HF001"]
    assert "character device" in findings[0]["message"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_given_with_f_is_refused_in_one_line(work):
    os.mkfifo(work / "compose.yaml")
    result = run("lint", "-f", "compose.yaml", cwd=work)
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and "not a regular file" in lines[0], lines


def test_missing_file_given_with_f_is_one_line(work):
    result = run("lint", "-f", "nope.yaml", cwd=work)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1


# ------------------------------------------------------------------ line ends, bytes
def positions_inside(document_text: str, findings: list[dict]) -> None:
    from holdfast.document import ComposeDocument

    document = ComposeDocument("compose.yaml", document_text)
    lines = len(document.line_starts)
    for f in findings:
        assert 1 <= f["line"] <= f["end_line"] <= lines, f
        assert f["column"] <= len(document.line_text(f["line"])) + 1, f


def test_lone_cr_line_ends_give_positions_inside_the_file(work):
    text = "services:\r  db:\r    image: postgres:16\r  cache:\r    image: redis:7\r    volumes: [\"x:/y\", x]\r"
    (work / "compose.yaml").write_bytes(text.encode())
    result = run("lint", "--format", "json", "compose.yaml", cwd=work)
    no_traceback(result)
    findings = json.loads(result.stdout)["findings"]
    assert {f["line"] for f in findings if f["code"] == "HF101"} == {2, 4}  # db and cache, counted across lone CRs
    positions_inside(text, findings)


def test_invalid_utf8_after_lone_cr_and_multibyte_text_points_at_the_byte(work):
    raw = "a: é\rb: ü\r".encode() + b"c: \xff\n"
    (work / "compose.yaml").write_bytes(raw)
    result = run("lint", "--format", "json", "compose.yaml", cwd=work)
    no_traceback(result)
    finding = json.loads(result.stdout)["findings"][0]
    assert (finding["code"], finding["line"], finding["column"]) == ("HF001", 3, 4)


# ------------------------------------------------------------------ nesting
@pytest.mark.parametrize("text", [
    "services: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "services:\n" + "".join(" " * i + "- \n" for i in range(2, 2400, 2)),  # 1,200 levels, 1.4 MB
    "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 400)) + "services: {}\n",
])
def test_deep_nesting_is_one_finding_without_crash(work, text):
    (work / "compose.yaml").write_text(text)
    result = run("lint", "--format", "json", "compose.yaml", cwd=work)
    no_traceback(result)
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [f["code"] for f in findings] == ["HF001"]
    assert "nesting" in findings[0]["message"]


# ------------------------------------------------------------------ scale
def services(count: int) -> str:
    return "services:\n" + "".join(f"  db{i}:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: x\n" for i in range(count))


def test_many_services_lint_in_linear_time(work):
    """2,000 services with a fixable finding each: was 34 s (quadratic style detection and lookups)."""
    (work / "compose.yaml").write_text(services(2000))
    start = time.monotonic()
    result = run("lint", "--format", "concise", "compose.yaml", cwd=work, timeout=60)
    no_traceback(result)
    assert result.stdout.count(b"HF101") == 2000
    assert time.monotonic() - start < 60


def test_detect_style_is_cached_per_document():
    from holdfast.document import ComposeDocument
    from holdfast.fixers._layout import detect_style

    document = ComposeDocument("compose.yaml", services(3000))
    start = time.monotonic()
    styles = {detect_style(document, f"db{i}").indent for i in range(3000)}
    assert styles == {2}
    assert time.monotonic() - start < 5  # a walk per call took minutes


def test_many_projects_with_jobs(work):
    for i in range(40):
        (work / f"p{i}").mkdir()
        (work / f"p{i}" / "compose.yaml").write_bytes(DB)
    one = run("lint", "--format", "json", "--jobs", "1", ".", cwd=work)
    two = run("lint", "--format", "json", "--jobs", "2", ".", cwd=work)
    assert one.returncode == two.returncode == 1
    assert json.loads(one.stdout) == json.loads(two.stdout)
    assert json.loads(one.stdout)["summary"]["total"] == 40
    bad = run("lint", "--jobs", "0", ".", cwd=work)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1


# ------------------------------------------------------------------ report forging
@pytest.mark.parametrize("fmt", ["json", "sarif", "gitlab", "github", "text", "concise"])
def test_hostile_paths_are_escaped_in_every_format(work, fmt):
    for name in (b"d\xff", b"n\nx", b"e\x1b[31m"):
        folder = os.path.join(os.fsencode(work), name)
        os.mkdir(folder)
        with open(os.path.join(folder, b"compose.yaml"), "wb") as handle:
            handle.write(DB)
    result = run("lint", "--format", fmt, ".", cwd=work)
    no_traceback(result)
    assert result.returncode == 1, result.stderr
    out = result.stdout.decode("utf-8")  # valid UTF-8: no raw byte 0xff
    assert "\x1b" not in out
    if fmt in ("json", "sarif", "gitlab"):
        json.loads(out)
    lines = [line for line in out.splitlines() if "compose.yaml" in line]
    assert not any(line.startswith("x/compose.yaml") for line in out.splitlines()), "a newline in a name forged a line"
    if fmt in ("text", "concise", "github"):
        assert any("n\\nx/compose.yaml" in line for line in lines), lines
        assert any("d\\xff/compose.yaml" in line for line in lines), lines


# ------------------------------------------------------------------ writes
def needs_root():
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")


def test_fix_keeps_owner_group_and_mode(work):
    needs_root()
    path = work / "compose.yaml"
    path.write_bytes(DB)
    os.chown(path, 65534, 65534)
    os.chmod(path, 0o640)
    result = run("fix", "compose.yaml", cwd=work)
    no_traceback(result)
    info = os.stat(path)
    assert path.read_bytes() != DB
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65534, 0o640)


def test_fix_keeps_hard_links(work):
    path = work / "compose.yaml"
    path.write_bytes(DB)
    os.link(path, work / "linked.yaml")
    result = run("fix", "compose.yaml", cwd=work)
    no_traceback(result)
    assert os.stat(path).st_nlink == 2
    assert (work / "linked.yaml").read_bytes() == path.read_bytes() != DB


def test_fix_follows_a_symlink_and_keeps_it(work):
    real = work / "real.yaml"
    real.write_bytes(DB)
    (work / "compose.yaml").symlink_to("real.yaml")
    result = run("fix", "compose.yaml", cwd=work)
    no_traceback(result)
    assert (work / "compose.yaml").is_symlink()
    assert real.read_bytes() != DB


def test_fix_refuses_a_read_only_file_unless_forced(work):
    path = work / "compose.yaml"
    path.write_bytes(DB)
    os.chmod(path, 0o444)
    refused = run("fix", "compose.yaml", cwd=work)
    assert refused.returncode == 2
    lines = refused.stderr.decode().splitlines()
    assert len(lines) == 1 and "read-only" in lines[0] and "--force-readonly" in lines[0], lines
    assert path.read_bytes() == DB
    forced = run("fix", "--force-readonly", "compose.yaml", cwd=work)
    no_traceback(forced)
    assert path.read_bytes() != DB
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o444


def test_writer_unit_cases(tmp_path):
    from holdfast.fileio import ReadOnlyFile, write_bytes_atomic

    new = tmp_path / "new.yaml"
    write_bytes_atomic(str(new), b"x")
    assert new.read_bytes() == b"x"
    shrink = tmp_path / "shrink.yaml"
    shrink.write_bytes(b"a long original text\n")
    os.link(shrink, tmp_path / "other")
    write_bytes_atomic(str(shrink), b"short\n")
    assert (tmp_path / "other").read_bytes() == b"short\n"  # rewritten in place and truncated
    ro = tmp_path / "ro.yaml"
    ro.write_bytes(b"a")
    os.chmod(ro, 0o400)
    with pytest.raises(ReadOnlyFile):
        write_bytes_atomic(str(ro), b"b")
    write_bytes_atomic(str(ro), b"b", allow_readonly=True)
    assert ro.read_bytes() == b"b"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".holdfast-")]

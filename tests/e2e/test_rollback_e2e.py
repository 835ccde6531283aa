"""A rollback never loses a write, and the lock never follows a link: the real engine, the real CLI.

apply; a row inserted and a key set afterwards; `apply --rollback` is refused with one
line and the data is still there; `apply --rollback --keep-current` archives the current
data (sha256 verified, the newer key inside), then rolls back. A symlinked lock file
(pointing outside the project) is refused and the file it points to stays as it was.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import time

import pytest

from live_project import ROWS, LiveProject

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def project(images, tmp_path):
    live = LiveProject(tmp_path, ["docker", "compose"], "rollback")
    try:
        live.up()
        yield live
    finally:
        live.teardown()


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("holdfast: error")]


def test_symlinked_lock_is_refused_and_the_target_kept(project, tmp_path):
    plan = project.plan("plan.json")
    outside = tmp_path / "outside.conf"
    outside.write_text("must not be emptied\n")
    lock = project.dir / ".holdfast-apply.lock"
    os.symlink(outside, lock)
    result = project.holdfast("apply", "--yes", "plan.json")
    assert result.returncode == 3, result.stdout + result.stderr
    [line] = error_lines(result.stderr)
    assert "symbolic link" in line and str(lock) in line
    assert outside.read_text() == "must not be emptied\n" and os.path.islink(lock)
    project.assert_running()
    project.assert_original_layout()
    assert plan["services"]
    assert not (project.dir / "holdfast-backups").exists()
    os.unlink(lock)


def test_rollback_refuses_to_lose_newer_writes_and_keeps_them_with_keep_current(project):
    project.plan("plan.json")
    applied = project.holdfast("apply", "--yes", "plan.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert not (project.dir / ".holdfast-apply.lock").exists()  # no lock left after a clean run
    project.assert_binds()
    project.psql("insert into items (body) values ('written after the apply')")
    project.redis("SET", "newer-key", "written-after-the-apply")

    started = time.monotonic()
    refused = project.holdfast("apply", "--rollback", "--yes", "plan.json")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    [line] = error_lines(refused.stderr)
    assert "rollback refused: the live data changed since the apply verified it" in line
    assert "items: 300 before, 301 now" in line and "--keep-current" in line
    print(f"\nrefusal took {time.monotonic() - started:.1f}s: {line}")
    project.assert_binds()
    project.assert_data(rows=ROWS + 1)  # still there, still live
    assert project.redis("GET", "newer-key") == "written-after-the-apply"

    kept = project.holdfast("apply", "--rollback", "--keep-current", "--yes", "plan.json")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    project.assert_original_layout()
    project.assert_data(rows=ROWS)  # the state before the apply, verified
    backups = next((project.dir / "holdfast-backups").iterdir())
    archives = sorted((backups / "before-rollback").rglob("*.tar"))
    assert len(archives) == 2, archives
    blobs = {}
    for archive in archives:
        recorded = (archive.parent / (archive.name + ".sha256")).read_text().split()[0]
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == recorded
        assert str(archive) in kept.stdout and "newer than what was restored" in kept.stdout
        with tarfile.open(archive) as tar:
            blobs[archive] = {member.name: tar.extractfile(member).read() for member in tar.getmembers() if member.isfile()}  # type: ignore[union-attr]
    redis_files = next(files for files in blobs.values() if any(name.endswith("dump.rdb") for name in files))
    dump = next(data for name, data in redis_files.items() if name.endswith("dump.rdb"))
    assert b"newer-key" in dump and b"written-after-the-apply" in dump
    pg_files = next(files for files in blobs.values() if any(name.endswith("PG_VERSION") for name in files))
    assert any(b"written after the apply" in data for data in pg_files.values())
    for line in kept.stdout.splitlines():
        if str(project.dir / "data") in line:
            assert "delete" not in line, line  # the only copy of newer data is never "a copy to delete"
    # the bind folders still hold the newer data too
    assert (project.dir / "data" / "db" / "PG_VERSION").exists()

"""Host-side walks and folders: iterative, never through a link, byte-exact names, private folders, sparse archives."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from holdfast.apply import fstree
from holdfast.apply.errors import Refused
from holdfast.apply.fstree import HoleWriter
from holdfast.apply.restore import _walk, bind_is_empty_locally, clear_empty_folders

DEPTH = 1200
BAD = b"bad\xff\xfe"


def deep_tree(root) -> bytes:
    """`root/d/d/.../d/f` 1,200 levels down, built with relative mkdirs (no recursion anywhere)."""
    path = os.fsencode(root)
    for _ in range(DEPTH):
        path += b"/d"
        os.mkdir(path)
    with open(path + b"/f", "wb") as handle:
        handle.write(b"bottom")
    return path


@pytest.fixture
def tmp_path(tmp_path):
    """pytest's own clean-up (shutil.rmtree) recurses and fails on a 1,200-deep tree: remove it with rm(1)."""
    yield tmp_path
    subprocess.run(["rm", "-rf", str(tmp_path)], check=False)


def test_walk_survives_a_tree_deeper_than_the_recursion_limit(tmp_path):
    assert DEPTH > sys.getrecursionlimit() - 50
    deep_tree(tmp_path)
    names = dict(fstree.walk_tree(str(tmp_path)))
    bottom = "/".join(["d"] * DEPTH) + "/f"
    assert stat.S_ISREG(names[bottom].st_mode)
    entries = _walk(str(tmp_path))
    assert entries[bottom].size == 6 and entries[bottom].type == "file"


def test_walk_never_follows_links_and_keeps_names_exact(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("x")
    root = tmp_path / "root"
    root.mkdir()
    (root / "to-outside").symlink_to(outside)
    (root / "rel").symlink_to("../outside/secret")
    (root / "loop-a").symlink_to("loop-b")
    (root / "loop-b").symlink_to("loop-a")
    (root / "back\\slash").write_text("1")
    (root / "new\nline").write_text("2")
    with open(os.fsencode(root) + b"/" + BAD, "wb") as handle:
        handle.write(b"3")
    os.mkfifo(root / "fifo")
    entries = _walk(str(root))
    assert set(entries) == {".", "to-outside", "rel", "loop-a", "loop-b", "back\\slash", "new\nline", BAD.decode("utf-8", "surrogateescape"), "fifo"}
    assert entries["to-outside"].type == "symlink" and entries["to-outside"].linkname == str(outside)
    assert entries["rel"].linkname == "../outside/secret" and entries["loop-a"].linkname == "loop-b"
    assert entries["fifo"].type == "fifo"
    assert entries[BAD.decode("utf-8", "surrogateescape")].name.encode("utf-8", "surrogateescape") == BAD


def test_emptiness_counts_links_and_clearing_removes_only_folders(tmp_path):
    assert bind_is_empty_locally(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    deep_tree(tmp_path / "empty")
    os.unlink(os.fsencode(tmp_path / "empty") + b"/d" * DEPTH + b"/f")
    assert bind_is_empty_locally(str(tmp_path / "empty"))
    assert len(clear_empty_folders(str(tmp_path / "empty"))) == DEPTH
    assert os.listdir(tmp_path / "empty") == []
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "sub").mkdir()
    (tmp_path / "linked" / "sub" / "l").symlink_to("/")
    assert not bind_is_empty_locally(str(tmp_path / "linked"))
    (tmp_path / "alink").symlink_to(tmp_path / "empty")
    assert not bind_is_empty_locally(str(tmp_path / "alink"))


def test_symlink_below_the_project_is_found(tmp_path):
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    assert fstree.symlink_below(str(project / "data" / "redis"), str(project)) is None
    (project / "data" / "redis").symlink_to(tmp_path)
    assert fstree.symlink_below(str(project / "data" / "redis"), str(project)) == str(project / "data" / "redis")
    (project / "up").symlink_to("/")
    assert fstree.symlink_below(str(project / "up" / "etc" / "x"), str(project)) == str(project / "up")
    assert fstree.symlink_below("/elsewhere/x", str(project)) is None


def test_private_dir_is_0700_and_refuses_what_others_control(tmp_path):
    target = tmp_path / "backups" / "one"
    fstree.private_dir(str(target), "backup folder")
    assert stat.S_IMODE(os.lstat(target).st_mode) == 0o700
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(Refused, match="symbolic link"):
        fstree.private_dir(str(tmp_path / "link"), "backup folder")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(Refused, match="writable by other users"):
        fstree.private_dir(str(shared), "backup folder")
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o755)
    fstree.private_dir(str(loose), "backup folder")
    assert stat.S_IMODE(os.lstat(loose).st_mode) == 0o700


def test_open_new_file_refuses_a_planted_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "x.part").symlink_to(victim)
    with pytest.raises(OSError):
        fstree.open_new_file(str(tmp_path / "x.part"))
    assert victim.read_text() == "precious"


def test_hole_writer_keeps_zeros_as_holes_and_bytes_exact(tmp_path):
    path = tmp_path / "a.tar"
    data = b"head" + bytes(8 * 1024 * 1024) + b"tail" + bytes(70000)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        writer = HoleWriter(fd)
        for start in range(0, len(data), 10000):  # odd chunk sizes, as a socket delivers them
            writer.write(data[start : start + 10000])
        writer.close()
    finally:
        os.close(fd)
    assert path.read_bytes() == data
    assert os.stat(path).st_blocks * 512 < 1024 * 1024


def test_a_failed_archive_leaves_no_part_file(tmp_path):
    """The disk fills mid-stream: the `.part` is removed before the step fails (the executor then restarts the database)."""
    import errno
    import io
    from types import SimpleNamespace

    from holdfast.apply.console import Console
    from holdfast.apply.errors import StepFailed
    from holdfast.apply.restore import write_archive

    class Filling:
        def get_archive(self, cid, path):
            yield bytes(512)  # one end-of-archive block: the stream stops before its second
            raise OSError(errno.ENOSPC, "No space left on device")

    backup = tmp_path / "backup"
    ctx = SimpleNamespace(
        backup_dir=str(backup),
        plan=SimpleNamespace(project=SimpleNamespace(directory=str(tmp_path))),
        console=Console(out=io.StringIO(), err=io.StringIO(), interactive=False),
        engine=Filling(),
    )
    move = SimpleNamespace(mount_target="/data", size_bytes=2 << 20)
    with pytest.raises(StepFailed, match="is full"):
        write_archive(ctx, "cid", move, str(backup / "redis" / "data.tar"), "archive redis:/data")
    assert sorted(p.name for p in backup.rglob("*")) == ["redis"]
    assert stat.S_IMODE(os.lstat(backup).st_mode) == stat.S_IMODE(os.lstat(backup / "redis").st_mode) == 0o700


def test_names_are_printed_escaped():
    from holdfast.apply.tarfilter import shown

    assert shown("esc\x1b[31mred\nx") == "esc\\x1b[31mred\\nx"
    assert shown(b"bad\xff".decode("utf-8", "surrogateescape")) == "bad\\udcff"

"""The restore filter: what a hostile archive may put on the host, checked on tar streams built here."""

from __future__ import annotations

import io
import os
import tarfile

import pytest
from holdfast.apply import tarfilter
from holdfast.apply.errors import Refused
from holdfast.apply.tarindex import index_file, index_stream

ODD = ["back\\slash", "new\nline", "esc\x1b[31mred", b"bad\xff\xfe".decode("utf-8", "surrogateescape")]


def member(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, data: bytes = b"", link: str = "", uid: int = 999) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname, info.uid, info.gid = kind, mode, link, uid, uid
    if kind == tarfile.REGTYPE:
        info.size = len(data)
    if kind in (tarfile.BLKTYPE, tarfile.CHRTYPE):
        info.devmajor, info.devminor = 7, 0
    return info, data


def build(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def hostile() -> list[tuple[tarfile.TarInfo, bytes]]:
    return [
        member("data", tarfile.DIRTYPE, 0o755),
        member("data/suid", mode=0o4755, data=b"#!/bin/sh\n", uid=0),
        member("data/sgid", mode=0o2711, data=b"x"),
        member("data/sgdir", tarfile.DIRTYPE, 0o2775),
        member("data/fifo", tarfile.FIFOTYPE, 0o600),
        member("data/rel", tarfile.SYMTYPE, 0o777, link="../../../../etc/shadow"),
        member("data/abs", tarfile.SYMTYPE, 0o777, link="/etc/passwd"),
        member("data/loop-a", tarfile.SYMTYPE, 0o777, link="loop-b"),
        member("data/loop-b", tarfile.SYMTYPE, 0o777, link="loop-a"),
        member("data/file", data=b"hello"),
        member("data/hard", tarfile.LNKTYPE, 0o4755, link="data/file"),
        member("data/" + "/".join(["d"] * 1200), tarfile.DIRTYPE, 0o755),
        *[member(f"data/{name}", data=name.encode("utf-8", "surrogateescape")) for name in ODD],
    ]


def entries(blob: bytes):
    return index_stream([blob]).entries


def test_check_entries_strips_privileges_and_keeps_links_and_fifos():
    found = tarfilter.check_entries(entries(build(hostile())), "data")
    assert found.refusals == []
    assert sorted(found.stripped) == ["data/hard", "data/sgdir", "data/sgid", "data/suid"]
    assert found.fifos == 1
    assert "setuid/setgid" in (found.stripped_note("redis:/data") or "")


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (member("data/disk", tarfile.BLKTYPE, 0o666), "device node"),
        (member("data/tty", tarfile.CHRTYPE, 0o666), "device node"),
        (member("data/cont", tarfile.CONTTYPE, data=b"x"), "does not restore"),
        (member("data/../etc/passwd", data=b"x"), "outside"),
        (member("/etc/passwd", data=b"x"), "outside"),
        (member("data/h", tarfile.LNKTYPE, link="etc/shadow"), "outside"),
        (member("data/h", tarfile.LNKTYPE, link="data/not-yet"), "outside"),
    ],
)
def test_refused_entries_name_themselves_in_one_line(bad, words, tmp_path):
    blob = build([member("data", tarfile.DIRTYPE, 0o755), bad])
    found = tarfilter.check_entries(entries(blob), "data")
    with pytest.raises(Refused) as caught:
        tarfilter.refuse_if_needed(found, "redis:/data", "/backups")
    message = str(caught.value)
    assert words in message and "\n" not in message and "every backup is kept" in message
    path = tmp_path / "a.tar"
    path.write_bytes(blob)
    with open(path, "rb") as handle, pytest.raises(Refused):
        list(tarfilter.restore_stream(handle, "data", "/", tarfilter.StreamReport()))


def restored(blob: bytes, tmp_path, prefix: str = "/var/lib/redis") -> tuple[list[tarfile.TarInfo], dict[str, bytes], tarfilter.StreamReport, int]:
    path = tmp_path / "in.tar"
    path.write_bytes(blob)
    report = tarfilter.StreamReport()
    with open(path, "rb") as handle:
        chunks = list(tarfilter.restore_stream(handle, "data", prefix, report))
    out = b"".join(chunks)
    with tarfile.open(fileobj=io.BytesIO(out), encoding="utf-8", errors="surrogateescape") as tar:
        members = tar.getmembers()
        data = {m.name: tar.extractfile(m).read() for m in members if m.isreg()}  # type: ignore[union-attr]
    return members, data, report, max(len(c) for c in chunks)


def test_restore_stream_renames_strips_and_keeps_everything_else(tmp_path):
    members, data, report, _ = restored(build(hostile()), tmp_path)
    by_name = {m.name: m for m in members}
    lead = "var/lib/redis/data"
    assert by_name[lead].mode == 0o700, "the top folder stays private while it fills"
    assert by_name[f"{lead}/suid"].mode == 0o755 and by_name[f"{lead}/suid"].uid == 0
    assert by_name[f"{lead}/sgid"].mode == 0o711 and by_name[f"{lead}/sgdir"].mode == 0o775
    assert by_name[f"{lead}/hard"].mode & 0o6000 == 0 and by_name[f"{lead}/hard"].linkname == f"{lead}/file"
    assert by_name[f"{lead}/rel"].linkname == "../../../../etc/shadow" and by_name[f"{lead}/abs"].linkname == "/etc/passwd"
    assert by_name[f"{lead}/loop-a"].linkname == "loop-b"
    assert by_name[f"{lead}/fifo"].isfifo()
    assert f"{lead}/" + "/".join(["d"] * 1200) in by_name
    for name in ODD:
        assert data[f"{lead}/{name}"] == name.encode("utf-8", "surrogateescape"), repr(name)
    assert sorted(report.stripped) == ["data/hard", "data/sgdir", "data/sgid", "data/suid"]
    assert report.entries == len(hostile())


def test_restore_stream_is_bounded_and_byte_exact(tmp_path):
    payload = os.urandom(3 * 1024 * 1024 + 17)
    members, data, _, biggest = restored(build([member("data", tarfile.DIRTYPE), member("data/big", data=payload)]), tmp_path, prefix="/")
    assert data["data/big"] == payload
    assert biggest <= tarfilter.CHUNK


def test_top_entry_gives_the_final_mode_without_privilege_bits():
    (entry,) = entries(build([member("data", tarfile.DIRTYPE, 0o2750, uid=70)]))
    with tarfile.open(fileobj=io.BytesIO(tarfilter.top_entry(entry, "data", "/var/lib/postgresql"))) as tar:
        (only,) = tar.getmembers()
    assert (only.name, only.mode, only.uid, only.isdir()) == ("var/lib/postgresql/data", 0o750, 70, True)


def test_tar_index_keeps_backslashes_and_kinds(tmp_path):
    blob = build([member("data", tarfile.DIRTYPE), member("data/a\\b", data=b"1"), member("data/f", tarfile.FIFOTYPE), member("data/c", tarfile.CHRTYPE)])
    path = tmp_path / "x.tar"
    path.write_bytes(blob)
    with open(path, "rb") as handle:
        kinds = {e.name: e.type for e in index_file(handle).entries}
    assert kinds == {"data": "dir", "data/a\\b": "file", "data/f": "fifo", "data/c": "chardev"}


def test_sparse_files_are_deferred_and_written_with_holes(tmp_path):
    """A file whose zeros are holes in the (HoleWriter-written) archive is sent empty, then its data ranges written directly."""
    from holdfast.apply.fstree import HoleWriter

    content = b"start" + bytes(32 * 1024 * 1024) + b"END"
    blob = build([member("data", tarfile.DIRTYPE), member("data/sub", tarfile.DIRTYPE), member("data/sub/sparse", data=content), member("data/small", data=b"x")])
    archive = tmp_path / "a.tar"
    fd = os.open(archive, os.O_WRONLY | os.O_CREAT, 0o600)
    writer = HoleWriter(fd)
    writer.write(blob)
    writer.close()
    os.close(fd)
    holes = os.open(archive, os.O_RDONLY)
    try:
        assert tarfilter.hole_bytes(holes) > 30 * 1024 * 1024
        report = tarfilter.StreamReport()
        with open(archive, "rb") as handle:
            stream = b"".join(tarfilter.restore_stream(handle, "data", "/", report, holes_fd=holes))
        assert len(stream) < 64 * 1024, "the zeros are not streamed"
        assert [d.name for d in report.deferred] == ["data/sub/sparse"]
        root = tmp_path / "restored"
        (root / "sub").mkdir(parents=True)
        (root / "sub" / "sparse").write_bytes(b"")  # the placeholder the daemon creates
        item = report.deferred[0]
        tarfilter.write_sparse(holes, str(root), tarfilter.Deferred("sub/sparse", item.offset, item.size, item.mtime))
    finally:
        os.close(holes)
    assert (root / "sub" / "sparse").read_bytes() == content
    assert os.stat(root / "sub" / "sparse").st_blocks * 512 < 4 * 1024 * 1024


def test_sparse_write_follows_no_link(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("precious")
    root = tmp_path / "restored"
    root.mkdir()
    (root / "sub").symlink_to(outside)
    with pytest.raises(OSError):
        tarfilter.open_below(str(root), "sub/victim")
    (root / "f").symlink_to(outside / "victim")
    with pytest.raises(OSError):
        tarfilter.open_below(str(root), "f")
    assert (outside / "victim").read_text() == "precious"


def test_rollback_stream_keeps_modes_and_renames(tmp_path):
    """Back into the original volume (strip=False, top_mode=None): as archived, only renamed to full paths."""
    path = tmp_path / "rb.tar"
    path.write_bytes(build(hostile()))
    report = tarfilter.StreamReport()
    with open(path, "rb") as handle:
        out = b"".join(tarfilter.restore_stream(handle, "data", "/var/lib/postgresql", report, top_mode=None, strip=False))
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        modes = {m.name: m.mode for m in tar.getmembers()}
    assert modes["var/lib/postgresql/data"] == 0o755 and modes["var/lib/postgresql/data/suid"] == 0o4755
    assert report.stripped == []

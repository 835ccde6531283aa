"""Read a tar stream's headers as it flows past, without unpacking anything.

The archive step streams gigabytes from the engine to disk; indexing the headers
on the way (entry count, names, sizes, owners) costs almost nothing and lets
every later check (verify the archive, verify the restored tree, find the init
marker) compare facts instead of trusting that a copy "probably worked".
Handles ustar, pax (`x`) and GNU long names (`L`/`K`), which is what the Docker
daemon and GNU tar write.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

BLOCK = 512


@dataclass(frozen=True)
class Entry:
    name: str  # normalised: no leading "./", no trailing "/"
    type: str  # file | dir | symlink | hardlink | fifo | blockdev | chardev | other
    size: int
    mode: int
    uid: int
    gid: int
    linkname: str = ""


class TarFormatError(ValueError):
    """The stream is not a tar archive holdfast can read (truncated, bad checksum)."""


def _number(field_bytes: bytes) -> int:
    if field_bytes and field_bytes[0] & 0x80:  # base-256 (GNU) for large values
        value = field_bytes[0] & 0x7F
        for byte in field_bytes[1:]:
            value = (value << 8) | byte
        return value
    text = field_bytes.split(b"\0", 1)[0].strip(b" \0")
    return int(text, 8) if text else 0


def _text(field_bytes: bytes) -> str:
    return field_bytes.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def normalise_name(name: str) -> str:
    """`./data/x/` -> `data/x`. Only `/` separates: a backslash is part of a POSIX name and stays."""
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/")
    if name in ("", "."):
        return "."
    return posixpath.normpath(name)


_TYPES = {
    b"0": "file",
    b"\0": "file",
    b"5": "dir",
    b"2": "symlink",
    b"1": "hardlink",
    b"6": "fifo",
    b"3": "chardev",
    b"4": "blockdev",
}  # anything else (contiguous `7`, GNU sparse `S`, multi-volume ...) is "other": the daemon never writes it


@dataclass
class TarIndex:
    """Incremental header parser: `feed()` bytes in any chunk sizes, then check `complete`."""

    keep_entries: bool = True
    entries: list[Entry] = field(default_factory=list)
    count: int = 0
    file_bytes: int = 0
    complete: bool = False
    _buffer: bytearray = field(default_factory=bytearray)
    _skip: int = 0  # data bytes (padded) still to pass over
    _collect: int = 0  # bytes of a pax/long-name payload still to gather
    _collect_kind: bytes = b""
    _payload: bytearray = field(default_factory=bytearray)
    _pending: dict[str, str] = field(default_factory=dict)
    _zero_blocks: int = 0
    _skip_after_payload: int = 0

    def feed(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        position = 0
        length = len(view)
        while position < length:
            if self.complete:
                return  # trailing padding after the end-of-archive blocks
            if self._skip:
                step = min(self._skip, length - position)
                self._skip -= step
                position += step
                continue
            if self._collect:
                step = min(self._collect, length - position)
                self._payload += view[position : position + step]
                self._collect -= step
                position += step
                if not self._collect:
                    self._finish_payload()
                continue
            need = BLOCK - len(self._buffer)
            step = min(need, length - position)
            self._buffer += view[position : position + step]
            position += step
            if len(self._buffer) == BLOCK:
                header = bytes(self._buffer)
                self._buffer.clear()
                self._header(header)

    def _header(self, block: bytes) -> None:
        if block == b"\0" * BLOCK:
            self._zero_blocks += 1
            if self._zero_blocks >= 2:
                self.complete = True
            return
        self._zero_blocks = 0
        checksum = _number(block[148:156])
        if checksum != sum(block[:148]) + 256 + sum(block[156:]):
            raise TarFormatError(f"bad tar header checksum after {self.count} entries")
        typeflag = block[156:157]
        size = _number(block[124:136])
        padded = (size + BLOCK - 1) // BLOCK * BLOCK
        if typeflag in (b"x", b"g", b"L", b"K"):
            self._collect_kind = typeflag
            self._payload = bytearray()
            self._collect = size
            self._skip_after_payload = padded - size
            if size == 0:
                self._finish_payload()
            return
        name = _text(block[0:100])
        if block[257:262] == b"ustar":
            prefix = _text(block[345:500])
            if prefix:
                name = prefix + "/" + name
        linkname = _text(block[157:257])
        uid, gid, mode = _number(block[108:116]), _number(block[116:124]), _number(block[100:108])
        pending, self._pending = self._pending, {}
        name = pending.get("path", name)
        linkname = pending.get("linkpath", linkname)
        if "size" in pending:
            size = int(pending["size"])
            padded = (size + BLOCK - 1) // BLOCK * BLOCK
        uid = int(pending.get("uid", uid))
        gid = int(pending.get("gid", gid))
        kind = _TYPES.get(typeflag, "other")
        if any(key.startswith("GNU.sparse") for key in pending):
            kind = "other"  # a pax sparse map: the data area is not the file's bytes
        if kind != "file":
            padded = 0 if kind in ("dir", "symlink", "hardlink") else padded
        entry = Entry(normalise_name(name), kind, size if kind == "file" else 0, mode & 0o7777, uid, gid, linkname)
        self.count += 1
        if kind == "file":
            self.file_bytes += size
        if self.keep_entries:
            self.entries.append(entry)
        self._skip = padded

    def _finish_payload(self) -> None:
        payload = bytes(self._payload)
        kind = self._collect_kind
        if kind == b"x":
            self._pending.update(_pax_records(payload))
        elif kind == b"L":
            self._pending["path"] = payload.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        elif kind == b"K":
            self._pending["linkpath"] = payload.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        self._skip = self._skip_after_payload

    def names(self) -> set[str]:
        return {e.name for e in self.entries}


def _pax_records(payload: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    position = 0
    while position < len(payload):
        space = payload.find(b" ", position)
        if space < 0:
            break
        try:
            length = int(payload[position:space])
        except ValueError:
            break
        record = payload[space + 1 : position + length - 1]
        key, _, value = record.partition(b"=")
        out[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        position += length
    return out


def index_stream(chunks: Iterable[bytes], keep_entries: bool = True) -> TarIndex:
    index = TarIndex(keep_entries)
    for chunk in chunks:
        index.feed(chunk)
    return index


def index_file(handle: BinaryIO, keep_entries: bool = True, chunk_size: int = 1024 * 1024) -> TarIndex:
    """Index a tar file, reading only what it must (headers, pax payloads); data blocks are seeked over."""
    index = TarIndex(keep_entries)
    while not index.complete:
        if index._skip:
            handle.seek(index._skip, 1)
            index._skip = 0
            continue
        want = BLOCK if not index._collect else min(index._collect, chunk_size)
        data = handle.read(want)
        if not data:
            break
        index.feed(data)
    return index

"""What a service mounts, in one normalised form.

Compose accepts `volumes:` entries in a short string form (`./pg:/var/lib/x:ro`,
`name:/x`, `/x`) and a long mapping form (`type: bind`, ...), plus `tmpfs:`.
Everything downstream (rules, fixers, the live-host planner) reasons about
`Mount` objects and never re-parses those strings.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


@dataclass(frozen=True)
class Mount:
    """One mount of a service. `kind` is bind, volume (named), anonymous, tmpfs or other."""

    kind: str
    target: str
    source: str | None = None
    read_only: bool = False
    index: int | None = None  # position in the service's `volumes:` list; None for tmpfs:/inherited
    origin: str = "volumes"  # "volumes", "tmpfs", "volumes_from:<service>"

    @property
    def persistent(self) -> bool:
        return self.kind in ("bind", "volume")


def normalise_path(path: str) -> str:
    """Container paths compare without trailing slashes or `.` segments."""
    if not path:
        return path
    normal = posixpath.normpath(path)
    return "/" if normal == "//" else normal


def is_within(path: str, parent: str) -> bool:
    """True when `path` is `parent` or below it (both container paths)."""
    path, parent = normalise_path(path), normalise_path(parent)
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def parse_volume(entry: Any, index: int | None = None) -> Mount | None:
    """Parse one `volumes:` entry; None when it is not understood (the schema rule reports it)."""
    if isinstance(entry, str):
        return _parse_short(entry, index)
    if isinstance(entry, dict):
        target = entry.get("target")
        if not isinstance(target, str) or not target:
            return None
        kind = str(entry.get("type") or "volume")
        source = entry.get("source")
        source = str(source) if source not in (None, "") else None
        read_only = bool(entry.get("read_only", False))
        if kind == "volume" and source is None:
            kind = "anonymous"
        elif kind not in ("bind", "volume", "tmpfs"):
            kind = "other"  # npipe, cluster, image
        return Mount(kind, normalise_path(target), source, read_only, index)
    return None


def split_short_syntax(entry: str) -> list[str]:
    """`SOURCE:TARGET:MODE` split at the colons, keeping a Windows drive (`C:\\data`) whole."""
    drive, text = "", entry
    if _WINDOWS_DRIVE.match(text):
        drive, text = text[:2], text[2:]
    parts = text.split(":")
    parts[0] = drive + parts[0]
    return parts


def _parse_short(entry: str, index: int | None) -> Mount | None:
    text = entry.strip()
    if not text:
        return None
    parts = split_short_syntax(text)
    if len(parts) == 1:
        return Mount("anonymous", normalise_path(parts[0]), None, False, index)
    source, target = parts[0], parts[1]
    if source == "" and len(parts) >= 2:
        # `${DATA_DIR}:/x` with DATA_DIR unset: the author meant a host path
        return Mount("bind", normalise_path(target), "", "ro" in (parts[2] if len(parts) > 2 else "").split(","), index)
    mode = parts[2] if len(parts) > 2 else ""
    read_only = "ro" in mode.split(",")
    if not target.startswith("/") and not _WINDOWS_DRIVE.match(target):
        # "data:ro"-like entries or bare relative names are not valid mounts
        return None
    kind = "bind" if is_bind_source(source) else "volume"
    return Mount(kind, normalise_path(target), source, read_only, index)


def is_bind_source(source: str) -> bool:
    """Compose treats a source as a host path when it looks like one; otherwise it names a volume."""
    return source.startswith((".", "/", "~", "$")) or bool(_WINDOWS_DRIVE.match(source)) or "/" in source or "\\" in source


def service_mounts(config: dict[str, Any]) -> list[Mount]:
    """The service's own mounts: `volumes:` entries, then `tmpfs:` paths."""
    mounts: list[Mount] = []
    volumes = config.get("volumes")
    if isinstance(volumes, list):
        for i, entry in enumerate(volumes):
            mount = parse_volume(entry, i)
            if mount is not None:
                mounts.append(mount)
    tmpfs = config.get("tmpfs")
    for path in [tmpfs] if isinstance(tmpfs, str) else tmpfs if isinstance(tmpfs, list) else []:
        if isinstance(path, str) and path:
            target = path.split(":", 1)[0]  # "/run:size=64m"
            mounts.append(Mount("tmpfs", normalise_path(target), origin="tmpfs"))
    return mounts


def volumes_from_services(config: dict[str, Any]) -> list[str]:
    """Service names listed in `volumes_from:` (entries `container:x` name containers, not services)."""
    out: list[str] = []
    entries = config.get("volumes_from")
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, str) and not entry.startswith("container:"):
                out.append(entry.split(":", 1)[0])
    return out


def covering_mount(mounts: list[Mount], path: str) -> Mount | None:
    """The mount that holds `path`: the one with the longest target that is `path` or a parent of it."""
    best: Mount | None = None
    for mount in mounts:
        if is_within(path, mount.target) and (best is None or len(mount.target) > len(best.target)):
            best = mount
    return best

"""Image knowledge entries from data: the package's ``data/images.json`` and users' config tables."""

from __future__ import annotations

from typing import Any, Mapping

from holdfast.image_commands import _abspath, _mount_for, _within
from holdfast.knowledge import DataPath, ImageEntry, LayoutRule, Override


def _data_path(item: Mapping[str, Any]) -> DataPath:
    return DataPath(item["path"], item.get("mount", item["path"]), item.get("role", "data"))


def _override(item: Mapping[str, Any]) -> Override:
    return Override(
        tuple(item["names"]),
        item.get("target", 0),
        item.get("role", "data"),
        item.get("split"),
        item.get("is_file", False),
        tuple(item.get("layouts", ())),
    )


def _layout(item: Mapping[str, Any]) -> LayoutRule:
    return LayoutRule(
        item.get("label", "default"),
        tuple(_data_path(p) for p in item["paths"]),
        tuple(item.get("volumes", ())),
        item.get("min_major"),
        item.get("max_major"),
        tuple(item.get("tags", ())),
        item.get("when_unknown", True),
        item.get("assumed_major"),
    )


def entry_from_data(item: Mapping[str, Any]) -> ImageEntry:
    """One entry of ``data/images.json`` as an :class:`ImageEntry`.

    A simple entry gives ``paths`` (strings or objects) and ``volumes`` instead of
    ``layouts``: one layout whose paths are mounted at the deepest declared VOLUME
    holding them, or at themselves.
    """
    if "layouts" in item:
        layouts = tuple(_layout(x) for x in item["layouts"])
    else:
        volumes = tuple(item.get("volumes", ()))
        paths = []
        for p in item["paths"]:
            dp = _data_path({"path": p} if isinstance(p, str) else p)
            if isinstance(p, str) or "mount" not in p:
                dp = DataPath(dp.path, _mount_for(dp.path, volumes, None), dp.role)
            paths.append(dp)
        layouts = (LayoutRule("default", tuple(paths), volumes),)
    return ImageEntry(
        id=item["id"],
        title=item.get("title", item["id"]),
        repositories=tuple(m.lower() for m in item["match"]),
        layouts=layouts,
        stateful=item.get("stateful", "yes"),
        env_overrides=tuple(_override(x) for x in item.get("env", ())),
        flag_overrides=tuple(_override(x) for x in item.get("flags", ())),
        binaries=tuple(item.get("binaries", ())),
        env_flags=tuple(item.get("env_flags", ())),
        workdir=item.get("workdir"),
        user=item.get("user"),
        users=tuple((u[0], u[1]) for u in item.get("users", ())),
        init_markers=tuple(item.get("init_markers", ())),
        readiness=tuple(item["readiness"]) if "readiness" in item else None,
        probe=item.get("probe"),
        stop_grace_seconds=item.get("grace", 30),
        version_env=tuple(item.get("version_env", ())),
        tag_style=item.get("tag_style", "leading"),
        pin_hostname=item.get("pin_hostname", False),
        notes=tuple(item.get("notes", ())),
        sources=item.get("sources", ""),
        hook=item.get("hook"),
        category=item.get("kind", "data-store"),
        fallback=item.get("fallback", False),
    )


_CONFIG_KEYS = frozenset(
    {"match", "data-paths", "mount-target", "volumes", "user", "init-markers", "readiness", "probe",
     "stop-grace", "title", "stateful"}
)


def _str_list(name: str, key: str, value: object, *, absolute: bool = False, required: bool = False) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"'{key}' in image '{name}' must be a list of non-empty strings")
    if required and not value:
        raise ValueError(f"'{key}' in image '{name}' must not be empty")
    items = tuple(v.strip() for v in value)
    if absolute:
        for v in items:
            if not v.startswith("/"):
                raise ValueError(f"'{key}' in image '{name}' must hold absolute container paths, got {v!r}")
        items = tuple(_abspath(v, "/") for v in items)
    return items


def _str(name: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{key}' in image '{name}' must be a non-empty string")
    return value.strip()


def entry_from_config(name: str, table: Mapping[str, object]) -> ImageEntry:
    """Build an entry from a ``[tool.holdfast.images.<name>]`` table.

    Keys: ``match`` (list of repository globs, required; a glob without ``/``
    means an official image, ``postgres`` -> ``library/postgres``), ``data-paths``
    (list of absolute paths, required), ``mount-target``, ``volumes`` (the image's
    VOLUMEs), ``user``, ``init-markers``, ``readiness`` (argv), ``probe``,
    ``stop-grace`` (seconds), ``title``, ``stateful`` ("yes" or "maybe").
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("an image table needs a non-empty name")
    if not isinstance(table, Mapping):
        raise ValueError(f"image '{name}' must be a table")
    for key in table:
        if key not in _CONFIG_KEYS:
            raise ValueError(f"unknown key '{key}' in image '{name}'")
    for key in ("match", "data-paths"):
        if key not in table:
            raise ValueError(f"image '{name}' needs '{key}'")
    globs = []
    for glob in _str_list(name, "match", table["match"], required=True):
        glob = glob.lower()
        head = glob.split("/", 1)[0]
        if "/" in glob and ("." in head or ":" in head or head == "localhost"):
            glob = glob.split("/", 1)[1]  # drop a registry host: matching is on the repository
        globs.append(glob if "/" in glob else "library/" + glob)
    paths = _str_list(name, "data-paths", table["data-paths"], absolute=True, required=True)
    volumes = _str_list(name, "volumes", table["volumes"], absolute=True) if "volumes" in table else ()
    mount = _abspath(_str(name, "mount-target", table["mount-target"]), "/") if "mount-target" in table else None
    if mount is not None and not str(table["mount-target"]).strip().startswith("/"):
        raise ValueError(f"'mount-target' in image '{name}' must be an absolute container path")
    data_paths = tuple(
        DataPath(p, mount if mount and _within(p, mount) else _mount_for(p, volumes, None), "data", "config")
        for p in paths
    )
    grace = table.get("stop-grace", 30)
    if isinstance(grace, bool) or not isinstance(grace, int) or grace < 0:
        raise ValueError(f"'stop-grace' in image '{name}' must be a non-negative integer (seconds)")
    stateful = table.get("stateful", "yes")
    if stateful not in ("yes", "maybe"):
        raise ValueError(f"'stateful' in image '{name}' must be \"yes\" or \"maybe\"")
    readiness = _str_list(name, "readiness", table["readiness"], required=True) if "readiness" in table else None
    return ImageEntry(
        id=name.strip(),
        title=_str(name, "title", table["title"]) if "title" in table else name.strip(),
        repositories=tuple(globs),
        layouts=(LayoutRule("default", data_paths, volumes),),
        stateful=str(stateful),
        user=_str(name, "user", table["user"]) if "user" in table else None,
        init_markers=_str_list(name, "init-markers", table["init-markers"]) if "init-markers" in table else (),
        readiness=readiness,
        probe=_str(name, "probe", table["probe"]) if "probe" in table else None,
        stop_grace_seconds=grace,
        sources=f"user configuration [tool.holdfast.images.{name.strip()}]",
    )
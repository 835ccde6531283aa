"""Image knowledge entries from data: the package's ``data/images.json`` and users' config tables."""

from __future__ import annotations
from typing import Any, Mapping

from holdfast.image_commands import _abspath, _mount_for, _within
from holdfast.knowledge import CATEGORIES, DataPath, ImageEntry, LayoutRule, Override


import os
from dataclasses import MISSING, fields
from functools import lru_cache


DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "images.json")


@lru_cache(maxsize=1)
def load_data() -> dict[str, Any]:
    """The parsed data file.

    A marshal copy in holdfast's cache folder (the schema cache's, keyed by the
    file's content) spares the JSON parse on later runs; without a cache folder
    (``HOLDFAST_NO_CACHE``) or on any trouble with it, the JSON is parsed.
    """
    import marshal
    import sys

    from holdfast.schema import cache_dir, content_key

    with open(DATA_FILE, "rb") as handle:
        raw = handle.read()
    folder = cache_dir()
    cached = os.path.join(folder, f"images-{sys.implementation.cache_tag}-{content_key(raw)}.marshal") if folder else None
    if cached:
        try:
            with open(cached, "rb") as handle:
                data = marshal.loads(handle.read())
            if isinstance(data, dict) and "images" in data:
                return data
        except (OSError, EOFError, ValueError, TypeError):
            pass
    import json

    data = json.loads(raw)
    if cached:
        try:
            os.makedirs(folder, exist_ok=True)  # type: ignore[arg-type]
            temporary = f"{cached}.{os.getpid()}.tmp"
            with open(temporary, "wb") as handle:
                handle.write(marshal.dumps(data))
            os.replace(temporary, cached)
        except OSError:
            pass
    return data


def _defaults(cls: type) -> dict[str, Any]:
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


def _build(cls: type, defaults: dict[str, Any], values: dict[str, Any]) -> Any:
    """A frozen dataclass instance from ``values`` over ``defaults`` in two dict updates.

    The generated ``__init__`` of a frozen dataclass pays an ``object.__setattr__``
    per field; for 275 entries that was most of the knowledge's start-up cost.
    """
    obj = object.__new__(cls)
    obj.__dict__.update(defaults)
    obj.__dict__.update(values)
    return obj


_DP = _defaults(DataPath)
_OV = _defaults(Override)
_LR = _defaults(LayoutRule)
_IE = _defaults(ImageEntry)
_TUPLES = ("binaries", "env_flags", "init_markers", "version_env", "notes", "readiness")
_RENAMED = {"grace": "stop_grace_seconds", "kind": "category", "workdir": "workdir", "user": "user", "probe": "probe",
            "stateful": "stateful", "tag_style": "tag_style", "pin_hostname": "pin_hostname", "hook": "hook",
            "sources": "sources", "fallback": "fallback", "title": "title"}


def _data_path(item: Any, volumes: tuple[str, ...] | None = None) -> DataPath:
    if isinstance(item, str):
        item = {"path": item}
    path = item["path"]
    mount = item.get("mount") or (_mount_for(path, volumes, None) if volumes is not None else path)
    return _build(DataPath, _DP, {"path": path, "mount_target": mount, "role": item.get("role", "data")})


def _override(item: Mapping[str, Any]) -> Override:
    values: dict[str, Any] = {"names": tuple(item["names"])}
    for key in ("target", "role", "split", "is_file"):
        if key in item:
            values[key] = item[key]
    if "layouts" in item:
        values["layouts"] = tuple(item["layouts"])
    return _build(Override, _OV, values)


def _layout(item: Mapping[str, Any]) -> LayoutRule:
    values: dict[str, Any] = {"label": item.get("label", "default"), "data_paths": tuple(_data_path(p) for p in item["paths"])}
    for key in ("min_major", "max_major", "when_unknown", "assumed_major"):
        if key in item:
            values[key] = item[key]
    for key, name in (("volumes", "image_volumes"), ("tags", "tags")):
        if key in item:
            values[name] = tuple(item[key])
    return _build(LayoutRule, _LR, values)


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
        paths = tuple(_data_path(p, volumes) for p in item["paths"])
        layouts = (_build(LayoutRule, _LR, {"label": "default", "data_paths": paths, "image_volumes": volumes}),)
    values: dict[str, Any] = {"id": item["id"], "title": item["id"], "repositories": tuple(m.lower() for m in item["match"]), "layouts": layouts}
    for key, value in item.items():
        if key in _RENAMED:
            values[_RENAMED[key]] = value
        elif key in _TUPLES:
            values[key] = tuple(value)
    if "env" in item:
        values["env_overrides"] = tuple(_override(x) for x in item["env"])
    if "flags" in item:
        values["flag_overrides"] = tuple(_override(x) for x in item["flags"])
    if "users" in item:
        values["users"] = tuple((u[0], u[1]) for u in item["users"])
    if "external_env" in item:
        values["external_env"] = tuple(
            (tuple(x["names"]), tuple(v.lower() for v in x.get("local", ())), tuple(x.get("paths", ()))) for x in item["external_env"]
        )
    return _build(ImageEntry, _IE, values)


_CONFIG_KEYS = frozenset(
    {"match", "data-paths", "mount-target", "volumes", "user", "init-markers", "readiness", "probe",
     "stop-grace", "title", "stateful", "kind"}
)


_CHEAP = ("id", "title", "repositories", "category", "fallback", "sources")


class LazyEntry(ImageEntry):
    """An :class:`ImageEntry` that builds its details from its data on first use.

    Matching needs only the id and the patterns; a lint run touches a handful of
    the 275 entries, so the others are never built (start-up stays flat as the
    data grows).  Every other field reads the fully built entry.
    """

    def _full(self) -> ImageEntry:
        full = self.__dict__.get("_built")
        if full is None:
            full = self.__dict__["_built"] = entry_from_data(self.__dict__["_raw"])
        return full


def _deferred(name: str) -> property:
    """A field read from the built entry unless set on this one (``dataclasses.replace`` sets every field)."""

    def get(self: LazyEntry) -> Any:
        own = self.__dict__
        return own[name] if name in own else self._full().__dict__[name]

    def put(self: LazyEntry, value: Any) -> None:  # only reached through object.__setattr__ (the frozen __init__)
        self.__dict__[name] = value

    return property(get, put, doc=f"``{name}``, built on first use")


for _field in fields(ImageEntry):
    if _field.name not in _CHEAP:
        setattr(LazyEntry, _field.name, _deferred(_field.name))


def lazy_entry(item: Mapping[str, Any]) -> ImageEntry:
    """The entry of ``item`` with only what matching needs built now."""
    values = {
        "id": item["id"],
        "title": item.get("title", item["id"]),
        "repositories": tuple(m.lower() for m in item["match"]),
        "category": item.get("kind", "data-store"),
        "fallback": item.get("fallback", False),
        "sources": item.get("sources", ""),
        "_raw": item,
    }
    obj = object.__new__(LazyEntry)
    obj.__dict__.update(values)
    return obj


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
    ``stop-grace`` (seconds), ``title``, ``stateful`` ("yes" or "maybe"),
    ``kind`` ("data-store", the default, reported by HF101; "application": HF106).
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
    kind = table.get("kind", "data-store")
    if kind not in CATEGORIES:
        raise ValueError(f"'kind' in image '{name}' must be one of {', '.join(CATEGORIES)}")
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
        category=str(kind),
    )
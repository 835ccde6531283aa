"""Image knowledge: THE one place where holdfast keeps facts about images.

Every question of the form "does this image keep data, where, which VOLUME does it
declare, which env var or flag moves it, who owns the files, how do I know the
server is up, how long does it need to stop" is answered here.  The facts are
data: ``data/images.json`` (one entry per image family, validated by
``data/images.schema.json`` in the tests), read once, lazily, on the first lookup.
This module interprets them; rules (HF1xx), fixers and the live-host code read
them only through it.  Plugins add entries through the ``holdfast_stateful_images``
hook, users through ``[tool.holdfast.images.<name>]`` tables (:func:`entry_from_config`).

* :class:`ImageEntry` - one image family (``postgres`` covers the official image
  and derivatives built FROM it).  ``category`` is ``data-store`` (HF101) or
  ``application`` (HF106: uploads, configuration and state of a self-hosted app).
* :class:`ResolvedImage` - an entry applied to one service (tag, env, command,
  entrypoint), with one :class:`Layout` per possible on-disk layout (several when
  the tag floats); persistence is satisfied when ANY layout is covered.
* :class:`DataPath` - ``path`` is where files live, ``mount_target`` where a mount
  must go for them to persist (often the image's VOLUME, which shadows a mount at
  a parent directory).

``probe`` names a data-fingerprint probe of the live-host code (``postgres``,
``redis``, ``mysql``, ``mongo``); None means "compare a file listing".  ``stateful``
is ``yes`` or ``maybe``; it becomes ``no`` only when the service's command
replaces the server (a ``/bin/true`` data container, a ``redis-cli`` job...).
Command parsing lives in :mod:`holdfast.image_commands`, references and versions
in :mod:`holdfast.imageref`, the few command-parsing hooks in :mod:`holdfast.image_hooks`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Callable, Iterable, Mapping, Sequence

from holdfast.image_commands import (
    _abspath,
    _env_dict,
    _fill_major,
    _flag_values,
    _mount_for,
    _render,
    _server_tokens,
    _split_command,
    _within,
)
from holdfast.imageref import ImageRef, _is_floating, _major_from_env, _major_from_tag

__all__ = [
    "DataPath",
    "ImageEntry",
    "ImageRef",
    "Knowledge",
    "Layout",
    "LayoutRule",
    "Override",
    "ResolvedImage",
    "builtin_entries",
    "default_knowledge",
    "entry_from_config",
]

CATEGORIES = ("data-store", "application")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DataPath:
    path: str
    mount_target: str
    role: str = "data"  # "data" (must persist) | "config" | "logs" (nice to persist)
    origin: str = "default"


@dataclass(frozen=True)
class Layout:
    label: str
    data_paths: tuple[DataPath, ...]
    image_volumes: tuple[str, ...]

    @property
    def required(self) -> tuple[DataPath, ...]:
        """The paths that must be persisted (role ``data``)."""
        return tuple(p for p in self.data_paths if p.role == "data")


@dataclass(frozen=True)
class ResolvedImage:
    kind: str
    title: str
    ref: ImageRef
    major: int | None
    floating: bool
    layouts: tuple[Layout, ...]
    user: str | None
    init_markers: tuple[str, ...]
    readiness: tuple[str, ...] | None
    probe: str | None
    stop_grace_seconds: int
    version_env: tuple[str, ...]
    pin_hostname: bool
    ephemeral: str | None
    stateful: str
    notes: tuple[str, ...]
    sources: str
    category: str = "data-store"

    def all_data_paths(self) -> tuple[DataPath, ...]:
        """Every distinct data path of every layout (first layout first)."""
        seen: dict[tuple[str, str, str], DataPath] = {}
        for layout in self.layouts:
            for dp in layout.data_paths:
                seen.setdefault((dp.path, dp.mount_target, dp.role), dp)
        return tuple(seen.values())


# --------------------------------------------------------------------------- entry model


@dataclass(frozen=True)
class LayoutRule:
    """One on-disk layout of an image, selected by major version and/or tag.

    ``data_paths`` may contain ``{major}``; when the version is unknown it is
    filled with ``assumed_major``.  ``tags`` (globs on the tag) make the rule
    exclusive: when any rule's tags match, only such rules are used.  Rules with
    ``when_unknown`` are the ones listed (in declaration order) when the major
    version cannot be told.
    """

    label: str
    data_paths: tuple[DataPath, ...]
    image_volumes: tuple[str, ...] = ()
    min_major: int | None = None
    max_major: int | None = None
    tags: tuple[str, ...] = ()
    when_unknown: bool = True
    assumed_major: int | None = None

    def fits(self, major: int) -> bool:
        if self.min_major is not None and major < self.min_major:
            return False
        if self.max_major is not None and major > self.max_major:
            return False
        return True


@dataclass(frozen=True)
class Override:
    """An env var or command-line flag that moves a data path.

    ``names``: env var names, or flag spellings (``--dir``, ``-dir``, ``-D``;
    ``"-c data_directory"`` means ``-c data_directory=<path>``).  ``target`` is the
    index of the layout data path that moves; ``-1`` adds a path.  ``split`` lists
    several paths in one value.  ``is_file``: the value names a file, its directory
    holds the data.  ``layouts`` restricts the override to layouts with those labels.
    """

    names: tuple[str, ...]
    target: int = 0
    role: str = "data"
    split: str | None = None
    is_file: bool = False
    layouts: tuple[str, ...] = ()


class _Draft:
    """Mutable state while resolving; entry hooks adjust it.

    A plain class, not a dataclass: it is private, never compared or printed, and
    a dataclass definition costs about a millisecond of every cold start.
    """

    __slots__ = ("entry", "ref", "env", "tokens", "major", "layouts", "user", "init_markers", "readiness", "stateful", "pin_hostname", "ephemeral", "notes", "floating")

    def __init__(self, entry: "ImageEntry", ref: ImageRef, env: dict[str, str], tokens: list[str], major: int | None, layouts: list[tuple[LayoutRule, list[DataPath]]], user: str | None, init_markers: tuple[str, ...], readiness: tuple[str, ...] | None, stateful: str, pin_hostname: bool, ephemeral: str | None = None, notes: list[str] | None = None, floating: bool = False) -> None:
        self.entry = entry
        self.ref = ref
        self.env = env
        self.tokens = tokens
        self.major = major
        self.layouts = layouts
        self.user = user
        self.init_markers = init_markers
        self.readiness = readiness
        self.stateful = stateful
        self.pin_hostname = pin_hostname
        self.ephemeral = ephemeral
        self.notes = [] if notes is None else notes
        self.floating = floating

    def flag(self, *names: str) -> str | None:
        """Last value of any of the flags ``names`` in the server tokens."""
        found: str | None = None
        for name in names:
            values = _flag_values(self.tokens, name)
            if values:
                found = values[-1]
        return found

    def has(self, *flags: str) -> bool:
        return any(t == f or t.startswith(f + "=") for t in self.tokens for f in flags)

    def set_path(self, index: int, value: str, origin: str, *, mount_target: str | None = None) -> None:
        """Move data path ``index`` of every layout to ``value``."""
        for rule, paths in self.layouts:
            if index < len(paths):
                old = paths[index]
                mount = mount_target or _mount_for(value, rule.image_volumes, old.mount_target)
                paths[index] = DataPath(value, mount, old.role, origin)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


_Hook = Callable[[_Draft], None]


@dataclass(frozen=True)
class ImageEntry:
    """What holdfast knows about one image family.

    Plain data: ``layouts`` (by version or tag), env/flag ``Override``s, ``users``
    by tag, facts for the live host.  ``hook`` (a function, or the name of one in
    :mod:`holdfast.image_hooks`) runs on the private draft after the generic steps,
    for the few images whose data path is parsed from the command (MinIO drives,
    SurrealDB paths, NATS JetStream...).  ``category``: ``data-store`` or
    ``application``; ``volumes`` lists every VOLUME the image declares (documentation
    and ``holdfast images``; layouts carry the ones that matter for mounting).
    """

    id: str
    title: str
    repositories: tuple[str, ...]
    layouts: tuple[LayoutRule, ...]
    stateful: str = "yes"
    env_overrides: tuple[Override, ...] = ()
    flag_overrides: tuple[Override, ...] = ()
    binaries: tuple[str, ...] = ()  # server programs (command may start with them)
    env_flags: tuple[str, ...] = ()  # env vars whose value is extra server flags
    workdir: str | None = None  # relative data dirs are relative to this
    user: str | None = None
    users: tuple[tuple[str, str | None], ...] = ()  # (glob on "repository:tag", user), first match wins
    init_markers: tuple[str, ...] = ()
    readiness: tuple[str, ...] | None = None  # tokens "{env:NAME:default}" are filled from env
    probe: str | None = None
    stop_grace_seconds: int = 30
    version_env: tuple[str, ...] = ()
    tag_style: str = "leading"  # "leading": 16.4-alpine -> 16; "pg": prefer a pgNN token
    pin_hostname: bool = False
    notes: tuple[str, ...] = ()
    sources: str = ""
    hook: _Hook | str | None = field(default=None, compare=False, repr=False)
    category: str = "data-store"
    fallback: bool = False  # matches only when no other entry does
    # (env names, local values, paths): a value outside ``local`` puts the data in an external
    # database; with ``paths`` only those paths move there (uploads stay), else everything does
    external_env: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = ()

    # ---------------------------------------------------------------- resolve
    def resolve(
        self,
        ref: ImageRef | str,
        env: Mapping[str, str] | None,
        command: Sequence[str] | str | None,
        major: int | None = None,
        *,
        entrypoint: Sequence[str] | str | None = None,
    ) -> ResolvedImage:
        """Apply this entry to one service.

        ``command`` is the service's command (list or string; a string is
        shlex-split), ``entrypoint`` its entrypoint; the two are combined the way
        the container runs them.  ``major`` overrides tag and environment.
        """
        if not isinstance(ref, ImageRef):
            ref = ImageRef.parse(ref)
        env_map = _env_dict(env)
        argv = (_split_command(entrypoint) or []) + (_split_command(command) or [])
        tokens, not_server = _server_tokens(argv, self.binaries)
        for name in self.env_flags:
            extra = env_map.get(name)
            if extra:
                tokens = tokens + (_split_command(extra) or [])

        tag_major = _major_from_tag(ref.tag, self.tag_style)
        if major is None:
            major = _major_from_env(env_map, self.version_env)
        if major is None:
            major = tag_major
        floating = _is_floating(ref, tag_major)

        draft = _Draft(
            entry=self,
            ref=ref,
            env=env_map,
            tokens=tokens,
            major=major,
            layouts=[],
            user=self._user_for(ref),
            init_markers=self.init_markers,
            readiness=_render(self.readiness, env_map),
            stateful=self.stateful,
            pin_hostname=self.pin_hostname,
            floating=floating,
        )
        for rule in self._select_layouts(ref.tag, major):
            fill = major if major is not None else rule.assumed_major
            paths = [
                DataPath(
                    _fill_major(dp.path, fill),
                    _fill_major(dp.mount_target, fill),
                    dp.role,
                    dp.origin,
                )
                for dp in rule.data_paths
            ]
            draft.layouts.append((rule, paths))

        self._apply_overrides(draft)
        hook = self.hook
        if isinstance(hook, str):
            from holdfast.image_hooks import hook_named

            hook = hook_named(hook)
        if hook is not None:
            hook(draft)
        external = self._external_store(draft)
        if external is not None:
            draft.ephemeral = external
        if not_server is not None:
            draft.stateful = "no"
            draft.ephemeral = not_server

        layouts: list[Layout] = []
        for rule, paths in draft.layouts:
            layout = Layout(rule.label, tuple(_dedupe_paths(paths)), rule.image_volumes)
            if layout not in layouts:
                layouts.append(layout)
        return ResolvedImage(
            kind=self.id,
            title=self.title,
            ref=ref,
            major=major,
            floating=floating,
            layouts=tuple(layouts),
            user=draft.user,
            init_markers=draft.init_markers,
            readiness=draft.readiness,
            probe=self.probe,
            stop_grace_seconds=self.stop_grace_seconds,
            version_env=self.version_env,
            pin_hostname=draft.pin_hostname,
            ephemeral=draft.ephemeral,
            stateful=draft.stateful,
            notes=tuple(dict.fromkeys((*self.notes, *draft.notes))),
            sources=self.sources,
            category=self.category,
        )

    # ---------------------------------------------------------------- helpers
    def _external_store(self, draft: _Draft) -> str | None:
        """Why the container keeps nothing when its env points it at an external database
        (``KC_DB=postgres``, ``MB_DB_TYPE=mysql``), else None; an unresolved value decides nothing.
        An entry naming the database's own paths (``DB_CLIENT=pg`` moves Directus' SQLite
        folder, not its uploads) drops only those and keeps the rest."""
        for names, local, moved in self.external_env:
            for name in names:
                value = (draft.env.get(name) or "").strip()
                if value and "$" not in value and value.lower() not in local:
                    reason = f"the data is kept in an external database ({name}={value})"
                    if not moved:
                        return reason
                    for _rule, paths in draft.layouts:
                        paths[:] = [dp for dp in paths if not any(_within(dp.path, m) for m in moved)]
                    if not any(dp.role == "data" for _rule, paths in draft.layouts for dp in paths):
                        return reason
                    draft.note(f"the database is external ({name}={value}); {', '.join(moved)} is not needed")
                    break
        return None

    def _user_for(self, ref: ImageRef) -> str | None:
        key = f"{ref.repository}:{ref.tag or ''}".lower()
        for pattern, user in self.users:
            if fnmatchcase(key, pattern):
                return user
        return self.user

    def _select_layouts(self, tag: str | None, major: int | None) -> list[LayoutRule]:
        rules = list(self.layouts)
        tagged = [r for r in rules if r.tags]
        if tagged:
            t = (tag or "").lower()
            hits = [r for r in tagged if any(fnmatchcase(t, g) for g in r.tags)]
            rules = hits if hits else [r for r in rules if not r.tags]
        if major is not None:
            fitting = [r for r in rules if r.fits(major)]
            if fitting:
                return fitting
        unknown = [r for r in rules if r.when_unknown]
        return unknown or rules[:1]

    def _apply_overrides(self, draft: _Draft) -> None:
        steps: list[tuple[Override, str, str]] = []
        for ov in self.env_overrides:
            for name in ov.names:
                value = draft.env.get(name)
                if value is not None and value.strip():
                    steps.append((ov, value, f"env {name}"))
        for ov in self.flag_overrides:
            for name in ov.names:
                values = [v for v in _flag_values(draft.tokens, name) if v.strip()]
                if values:
                    steps.append((ov, values[-1], f"flag {name.split(' ')[0]}"))
        for ov, value, origin in steps:
            if "$" in value:
                draft.note(f"the data directory comes from an unresolved variable ({origin}={value})")
                continue
            new = [p for p in (value.split(ov.split) if ov.split else [value]) if p.strip()]
            resolved = [_abspath(p.strip(), self.workdir) for p in new]
            if ov.is_file:  # a value ending in "/" (an empty ${FILE} after it) already names the directory
                resolved = [r if p.strip().endswith("/") else posixpath.dirname(r) or "/" for p, r in zip(new, resolved)]
            for rule, paths in draft.layouts:
                if ov.layouts and rule.label not in ov.layouts:
                    continue
                if ov.target < 0 or ov.target >= len(paths):
                    for p in resolved:
                        if any(_within(p, dp.path) for dp in paths):
                            continue
                        paths.append(DataPath(p, _mount_for(p, rule.image_volumes, None), ov.role, origin))
                else:
                    old = paths[ov.target]
                    paths[ov.target : ov.target + 1] = [
                        DataPath(p, _mount_for(p, rule.image_volumes, old.mount_target), old.role, origin)
                        for p in resolved
                    ]



def _dedupe_paths(paths: Iterable[DataPath]) -> list[DataPath]:
    out: list[DataPath] = []
    seen: set[tuple[str, str]] = set()
    for dp in paths:
        key = (dp.path, dp.role)
        if key not in seen:
            seen.add(key)
            out.append(dp)
    return out



# --------------------------------------------------------------------------- the data file


@lru_cache(maxsize=1)
def _builtins() -> tuple[ImageEntry, ...]:
    from holdfast.image_data import lazy_entry, load_data

    return tuple(lazy_entry(item) for item in load_data()["images"])


def builtin_entries() -> list[ImageEntry]:
    """The built-in entries (a fresh list; the entries themselves are frozen)."""
    return list(_builtins())


@lru_cache(maxsize=1)
def _stateless() -> tuple[tuple[str, str], ...]:
    """Look-alikes that keep nothing worth persisting: (repository glob, reason)."""
    from holdfast.image_data import load_data

    return tuple((m.lower(), item["reason"]) for item in load_data()["stateless"] for m in item["match"])


# --------------------------------------------------------------------------- registry


class Knowledge:
    """A set of entries; later entries replace earlier ones with the same id and
    win when several entries match an image (user config and plugins come after
    the builtins)."""

    def __init__(self, entries: Iterable[ImageEntry]):
        by_id: dict[str, ImageEntry] = {}
        for entry in entries:
            by_id.pop(entry.id, None)
            by_id[entry.id] = entry
        self._entries: tuple[ImageEntry, ...] = tuple(by_id.values())
        self._exact: dict[str, int] = {}
        self._globs: list[tuple[str, str, int]] = []  # (glob, its literal prefix, position)
        for pos, entry in enumerate(self._entries):
            for pattern in entry.repositories:
                pattern = pattern.lower()
                if any(ch in pattern for ch in "*?["):
                    self._globs.append((pattern, _literal_prefix(pattern), pos))
                else:
                    self._exact[pattern] = pos  # later position wins
        self._cache: dict[str, int | None] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self._entries)

    def ids(self) -> list[str]:
        return [e.id for e in self._entries]

    def get(self, id: str) -> ImageEntry | None:
        for entry in self._entries:
            if entry.id == id:
                return entry
        return None

    def with_entries(self, extra: Iterable[ImageEntry]) -> "Knowledge":
        """A new Knowledge with ``extra`` added after (and overriding) these entries."""
        return Knowledge((*self._entries, *extra))

    def match_ref(self, ref: ImageRef) -> ImageEntry | None:
        key = ref.raw.strip()
        if key in self._cache:
            pos = self._cache[key]
        else:
            pos = self._match_pos(ref)
            if len(self._cache) < 4096:
                self._cache[key] = pos
        return None if pos is None else self._entries[pos]

    def _match_pos(self, ref: ImageRef) -> int | None:
        return self.matched_by(ref)[0]

    def matched_by(self, ref: ImageRef) -> tuple[int | None, str | None]:
        """(position of the entry that matches ``ref``, the pattern that matched it).

        A later entry wins; a ``fallback`` entry (a whole namespace such as
        ``linuxserver/*``) only when nothing else matches, and never for an image
        the stateless list names.
        """
        best: tuple[bool, int, str] | None = None
        for cand in ref.candidates():
            hits = [(self._exact[cand], cand)] if cand in self._exact else []
            # a glob matches only names starting with its literal prefix: checking that first
            # spares compiling (and running) most of the globs
            hits += [(gpos, pattern) for pattern, prefix, gpos in self._globs if cand.startswith(prefix) and fnmatchcase(cand, pattern)]
            for pos, pattern in hits:
                key = (not self._entries[pos].fallback, pos, pattern)
                if best is None or key[:2] > best[:2]:
                    best = key
        if best is None:
            return None, None
        if not best[0] and self.stateless_reason(ref.raw):
            return None, None
        return best[1], best[2]

    def match(self, image: str) -> ImageEntry | None:
        return self.match_ref(ImageRef.parse(image))

    def resolve(
        self,
        image: str,
        *,
        env: Mapping[str, str] | None = None,
        command: Sequence[str] | str | None = None,
        entrypoint: Sequence[str] | str | None = None,
        major: int | None = None,
    ) -> ResolvedImage | None:
        """Resolve ``image`` as used by one service, or None when it is unknown.

        The answer depends only on the arguments and is immutable, so it is
        remembered: rules and fixers ask again for the same service, and large
        projects repeat the same image with the same settings.
        """
        key = _resolve_key(image, env, command, entrypoint, major)
        if key is not None:
            cache = self.__dict__.setdefault("_resolved", {})
            if key in cache:
                return cache[key]
        ref = _parse(image) if isinstance(image, str) else ImageRef.parse(image)
        entry = self.match_ref(ref)
        resolved = None if entry is None else entry.resolve(ref, env, command, major, entrypoint=entrypoint)
        if key is not None:
            if len(cache) >= 8192:
                cache.clear()
            cache[key] = resolved
        return resolved

    @staticmethod
    def stateless_reason(image: str) -> str | None:
        """Why ``image`` is known NOT to need persistence (memcached, pgbouncer...), else None."""
        ref = ImageRef.parse(image)
        for cand in ref.candidates():
            for pattern, reason in _stateless():
                if cand.startswith(_literal_prefix(pattern)) and fnmatchcase(cand, pattern):
                    return reason
        return None


@lru_cache(maxsize=None)
def _literal_prefix(pattern: str) -> str:
    """The part of a glob before its first wildcard (`*`, `?` or `[`)."""
    for index, char in enumerate(pattern):
        if char in "*?[":
            return pattern[:index]
    return pattern


def _frozen_arg(value: object) -> object:
    """A hashable, type-tagged form of a command or environment (a list and a string differ)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return ("list", tuple(value))
    if isinstance(value, Mapping):
        return ("map", tuple(value.items()))
    raise TypeError(type(value).__name__)


def _resolve_key(image: object, env: object, command: object, entrypoint: object, major: object) -> tuple | None:
    if not isinstance(image, str) or not (major is None or type(major) is int):
        return None
    try:
        key = (image, _frozen_arg(env), _frozen_arg(command), _frozen_arg(entrypoint), major)
        hash(key)
    except TypeError:  # an unhashable value inside: not worth remembering
        return None
    return key


_parse = lru_cache(maxsize=4096)(ImageRef.parse)  # a project repeats its references; ImageRef is frozen


@lru_cache(maxsize=1)
def default_knowledge() -> Knowledge:
    """The built-in knowledge (cached)."""
    return Knowledge(_builtins())


# --------------------------------------------------------------------------- user config


def entry_from_config(name: str, table: Mapping[str, object]) -> ImageEntry:
    """Build an entry from a ``[tool.holdfast.images.<name>]`` table (see :mod:`holdfast.image_data`)."""
    from holdfast.image_data import entry_from_config as build

    return build(name, table)

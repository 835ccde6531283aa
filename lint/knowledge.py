"""Stateful-image knowledge: THE one place where holdfast keeps facts about images.

Every question of the form "which images hold data, where do they keep it, which
VOLUME does the image declare, which env var or flag moves it, who owns the files,
how do I know the server is up, how long does it need to stop" is answered here and
only here.  Rules (HF1xx), fixers and the live-host ``apply`` code all read this
module; none of them may hard-code a data path of their own.  Plugins add or replace
entries through the ``holdfast_stateful_images`` hook, users through
``[tool.holdfast.images.<name>]`` tables (see :func:`entry_from_config`).

The facts are plain Python data (no YAML is parsed at import) and the module only
imports the standard library, because it is imported on every lint run.  Each entry
carries a short ``sources`` string naming where its facts come from; most of them
were taken from the team's research notes (``kb/stateful-images.yaml``), which cite
the images' Dockerfiles and entrypoints, and were checked against hand-labelled
compose files (``corpus/public/LABELS.tsv``).

Vocabulary
----------
* :class:`ImageRef` - a parsed image reference (registry, normalised repository,
  tag, digest).  ``docker.io/library/postgres`` and ``postgres`` have the same
  repository ``library/postgres``.
* :class:`ImageEntry` - what we know about one image family (``postgres`` covers
  the official image and derivatives built FROM it such as postgis or pgvector).
* :class:`ResolvedImage` - an entry applied to one service: its tag, environment,
  command and entrypoint.  It lists one :class:`Layout` when the major version is
  known, several when the tag floats (or hides behind a variable) and the layout
  depends on the version.  Persistence is satisfied when ANY layout is covered.
* :class:`DataPath` - ``path`` is where the files live, ``mount_target`` is where a
  fixer should put a mount so the files persist (often the image's VOLUME path,
  which a mount at a parent directory would NOT cover: the image's anonymous
  volume at the exact VOLUME path shadows it).

``probe`` names a data-fingerprint probe of the live-host code: ``"postgres"``,
``"redis"`` (the Redis protocol family; the CLI to use is ``readiness[0]``, e.g.
``valkey-cli`` for Valkey), ``"mysql"``, ``"mongo"``; ``None`` means "compare a
file listing".  ``stateful`` is ``"yes"`` or ``"maybe"``; it is ``"no"`` only when
the service's command or entrypoint replaces the server by something else (a
``/bin/true`` data container, a ``redis-cli`` job...).
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Callable, Iterable, Mapping, Sequence

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


# --------------------------------------------------------------------------- refs

_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})


def _mask_variables(text: str) -> str:
    """Return ``text`` with every character inside ``${...}`` replaced by ``_``.

    Lets the parser find ``:``/``/``/``@`` separators without being fooled by
    ``${VAR:-default}`` left in a reference that was not interpolated.
    """
    if "${" not in text:
        return text
    out = list(text)
    depth = 0
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            if depth == 1:
                i += 2
                continue
        elif text[i] == "}" and depth:
            depth -= 1
            i += 1
            continue
        if depth:
            out[i] = "_"
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference."""

    raw: str
    registry: str | None
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, ref: str) -> "ImageRef":
        """Parse ``ref``; never raises (garbage in, an unmatched ref out)."""
        raw = ref if isinstance(ref, str) else ("" if ref is None else str(ref))
        text = raw.strip()
        masked = _mask_variables(text)
        digest: str | None = None
        at = masked.rfind("@")
        if at >= 0:
            digest = text[at + 1 :] or None
            text, masked = text[:at], masked[:at]
        tag: str | None = None
        colon = masked.rfind(":")
        if colon > masked.rfind("/"):
            tag = text[colon + 1 :] or None
            text, masked = text[:colon], masked[:colon]
        parts = [p for p in text.split("/")]
        registry: str | None = None
        if len(parts) > 1:
            first = parts[0]
            if "." in first or ":" in first or first == "localhost":
                registry = first.lower()
                parts = parts[1:]
                if registry in _DOCKER_HUB_ALIASES:
                    registry = "docker.io"
        repository = "/".join(parts).lower()
        if repository and "/" not in repository and registry in (None, "docker.io"):
            repository = "library/" + repository
        return cls(raw=raw, registry=registry, repository=repository, tag=tag, digest=digest)

    @property
    def name(self) -> str:
        """Last path component of the repository: ``postgres``."""
        return self.repository.rsplit("/", 1)[-1]

    def candidates(self) -> tuple[str, ...]:
        """Repository spellings to match against entry globs.

        Adds ``library/<x>`` for one-component names on other registries (local
        mirrors, ``registry.k8s.io/etcd``) and strips pull-through-cache prefixes
        such as ``docker/library/postgres`` or ``dockerhub/library/postgres``.
        """
        repo = self.repository
        out = [repo]
        if repo and "/" not in repo:
            out.append("library/" + repo)
        idx = repo.find("/library/")
        if idx >= 0:
            out.append(repo[idx + 1 :])
        if self.registry:
            out.append(f"{self.registry}/{repo}")
        return tuple(dict.fromkeys(out))


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


@dataclass
class _Draft:
    """Mutable state while resolving; entry hooks adjust it."""

    entry: "ImageEntry"
    ref: ImageRef
    env: dict[str, str]
    tokens: list[str]
    major: int | None
    layouts: list[tuple[LayoutRule, list[DataPath]]]
    user: str | None
    init_markers: tuple[str, ...]
    readiness: tuple[str, ...] | None
    stateful: str
    pin_hostname: bool
    ephemeral: str | None = None
    notes: list[str] = field(default_factory=list)
    floating: bool = False

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
    by tag, facts for the live host.  ``hook`` is an optional function run on the
    private draft after the generic steps, for the few images whose data path is
    parsed from the command (MinIO drives, SurrealDB paths, NATS JetStream...);
    entries from plugins or configuration normally need none.
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
    hook: _Hook | None = field(default=None, compare=False, repr=False)

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
        if self.hook is not None:
            self.hook(draft)
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
        )

    # ---------------------------------------------------------------- helpers
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
            if ov.is_file:
                resolved = [posixpath.dirname(p) or "/" for p in resolved]
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


# --------------------------------------------------------------------------- small helpers


def _env_dict(env: Mapping[str, str] | Sequence[str] | None) -> dict[str, str]:
    if env is None:
        return {}
    if isinstance(env, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in env.items()}
    out: dict[str, str] = {}
    for item in env:  # compose list form ["A=b", "C"]
        key, _, value = str(item).partition("=")
        out[key] = value
    return out


def _split_command(value: Sequence[str] | str | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    return ["" if v is None else str(v) for v in value]


def _render(tokens: tuple[str, ...] | None, env: Mapping[str, str]) -> tuple[str, ...] | None:
    if tokens is None:
        return None
    out = []
    for tok in tokens:
        if tok.startswith("{env:") and tok.endswith("}"):
            name, _, default = tok[5:-1].partition(":")
            value = env.get(name, "")
            out.append(value if value and "$" not in value else default)
        else:
            out.append(tok)
    return tuple(out)


def _fill_major(text: str, major: int | None) -> str:
    if "{major}" in text:
        return text.replace("{major}", str(major) if major is not None else "*")
    return text


def _within(path: str, parent: str) -> bool:
    if parent == "/":
        return path.startswith("/")
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _mount_for(path: str, volumes: Sequence[str], default_mount: str | None) -> str:
    """Where a fixer should mount to persist ``path``.

    The deepest image VOLUME containing the path (a mount must sit exactly there or
    deeper, or the anonymous volume shadows it); else the layout's usual mount
    target when the path lies inside it; else the path itself.
    """
    inside = [v for v in volumes if _within(path, v)]
    if inside:
        return max(inside, key=len)
    if default_mount and _within(path, default_mount):
        return default_mount
    return path


def _abspath(value: str, workdir: str | None) -> str:
    value = value.strip()
    if not value.startswith("/"):
        value = posixpath.join(workdir or "/", value)
    value = posixpath.normpath(value)
    if value.startswith("//"):
        value = "/" + value.lstrip("/")
    return value


def _dedupe_paths(paths: Iterable[DataPath]) -> list[DataPath]:
    out: list[DataPath] = []
    seen: set[tuple[str, str]] = set()
    for dp in paths:
        key = (dp.path, dp.role)
        if key not in seen:
            seen.add(key)
            out.append(dp)
    return out


def _flag_values(tokens: Sequence[str], name: str) -> list[str]:
    """Values of flag ``name`` (``--x v``, ``--x=v``); ``"-c key"`` reads ``-c key=v``.

    A flag followed by another flag (or nothing) has the value ``""``: this is
    how ``--save`` with no argument means "no save points" to Redis.
    """
    flag, _, key = name.partition(" ")
    out: list[str] = []
    n = len(tokens)
    for i, tok in enumerate(tokens):
        if tok == flag:
            value = tokens[i + 1] if i + 1 < n else ""
            if not key and value.startswith("-") and len(value) > 1:
                value = ""
        elif tok.startswith(flag + "="):
            value = tok[len(flag) + 1 :]
        else:
            continue
        if key:
            k, eq, v = value.partition("=")
            if not eq or k.strip().replace("-", "_") != key:
                continue
            value = v
        out.append(value)
    return out


# --------------------------------------------------------------------------- versions


def _leading_int(text: str) -> int | None:
    digits = ""
    for ch in text:
        if ch.isdigit():
            digits += ch
        else:
            break
    if not digits or len(digits) > 4:
        return None
    return int(digits)


def _major_from_tag(tag: str | None, style: str = "leading") -> int | None:
    if not tag or "$" in tag:
        return None
    t = tag.strip().lower()
    if style == "pg":
        for token in t.replace("_", "-").split("-"):
            if token.startswith("pg") and token[2:3].isdigit():
                return _leading_int(token[2:])
    if t[:1] == "v" and t[1:2].isdigit():
        t = t[1:]
    return _leading_int(t)


def _major_from_version(value: str) -> int | None:
    v = value.strip()
    head, sep, rest = v.partition(":")  # Debian epoch "1:11.4.2+maria~ubu2404"
    if sep and head.isdigit() and rest[:1].isdigit():
        v = rest
    if v[:1] in "vV":
        v = v[1:]
    return _leading_int(v)


def _major_from_env(env: Mapping[str, str], names: Sequence[str]) -> int | None:
    for name in names:
        value = env.get(name)
        if value and "$" not in value:
            major = _major_from_version(value)
            if major is not None:
                return major
    return None


def _looks_pinned(tag: str) -> bool:
    t = tag.lower()
    if t.startswith("release.") or t.startswith("sha256-"):
        return True
    run = 0
    for ch in t:
        run = run + 1 if ch.isdigit() else 0
        if run >= 6:  # dates and build numbers: nightly-20231011
            return True
    for token in t.replace("_", "-").replace(".", "-").split("-"):
        if len(token) >= 7 and all(c in "0123456789abcdef" for c in token) and any(c.isdigit() for c in token):
            return True  # a commit hash
    return False


def _is_floating(ref: ImageRef, tag_major: int | None) -> bool:
    if ref.digest:
        return False
    tag = ref.tag
    if tag is None:
        return True
    if "$" in tag:
        return False  # unknown, not known to float
    if tag_major is not None:
        return False
    return not _looks_pinned(tag)


# --------------------------------------------------------------------------- commands

_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})
_WRAPPERS = frozenset(
    {
        "docker-entrypoint.sh",
        "docker-entrypoint",
        "entrypoint.sh",
        "tini",
        "tini-static",
        "dumb-init",
        "exec",
        "env",
        "nohup",
        "gosu",
        "su-exec",
    }
)
_TAKES_USER = frozenset({"gosu", "su-exec"})
_NOOPS = frozenset({"true", "false", "sleep", "tail", "echo", "cat", "ls", "printenv", "id", "whoami"})
_CLIENTS = frozenset(
    {
        "psql",
        "pg_dump",
        "pg_dumpall",
        "pg_restore",
        "pg_isready",
        "pg_basebackup",
        "redis-cli",
        "valkey-cli",
        "keydb-cli",
        "mysql",
        "mysqldump",
        "mysqladmin",
        "mariadb",
        "mariadb-dump",
        "mariadb-admin",
        "mongo",
        "mongosh",
        "mongodump",
        "mongorestore",
        "mongoimport",
        "mongoexport",
        "cqlsh",
        "nodetool",
        "clickhouse-client",
        "influx",
        "etcdctl",
        "mc",
        "rabbitmqadmin",
        "rabbitmqctl",
        "curl",
        "wget",
    }
)


def _split_script(script: str) -> list[list[str]]:
    lex = shlex.shlex(script, posix=True, punctuation_chars=";&|")
    lex.whitespace_split = True
    lex.commenters = ""
    try:
        tokens = list(lex)
    except ValueError:
        tokens = script.split()
    segments: list[list[str]] = []
    current: list[str] = []
    for tok in tokens:
        if tok and set(tok) <= set(";&|"):
            if current:
                segments.append(current)
            current = []
        else:
            current.append(tok)
    if current:
        segments.append(current)
    return segments


def _segments(argv: list[str], depth: int = 0) -> list[list[str]]:
    """Split ``argv`` into simple commands, looking inside ``sh -c "..."``."""
    if not argv:
        return []
    if posixpath.basename(argv[0]) in _SHELLS and depth < 3:
        for i in range(1, len(argv)):
            arg = argv[i]
            if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
                if i + 1 < len(argv):
                    out: list[list[str]] = []
                    for seg in _split_script(argv[i + 1]):
                        out.extend(_segments(seg, depth + 1))
                    return out
                break
            if not arg.startswith("-"):
                break
    return [argv]


def _strip_wrappers(seg: list[str]) -> list[str]:
    rest = list(seg)
    while rest:
        head = rest[0]
        base = posixpath.basename(head)
        if "=" in head and not head.startswith("-") and head.split("=", 1)[0].replace("_", "a").isalnum():
            rest = rest[1:]  # VAR=value prefix
            continue
        if base not in _WRAPPERS:
            break
        rest = rest[1:]
        if base in _TAKES_USER and rest:
            rest = rest[1:]
        if base in ("tini", "tini-static", "dumb-init", "env"):
            while rest and rest[0].startswith("-") and rest[0] != "--":
                rest = rest[1:]
            if rest and rest[0] == "--":
                rest = rest[1:]
    return rest


def _server_tokens(argv: list[str], binaries: Sequence[str]) -> tuple[list[str], str | None]:
    """Return (server flags/arguments, reason the container is not the server).

    Flags-only commands (``--save 60 1``) are server flags; a segment starting
    with one of the entry's server binaries gives the tokens after it; an empty
    command (or one made only of entrypoint wrappers) means the image default.
    When no segment runs the server and every program is a known client or
    no-op (``/bin/true``, ``redis-cli``...), the second value explains it.
    Otherwise every token is returned so flags can still be found.
    """
    if not argv:
        return [], None
    bins = {posixpath.basename(b) for b in binaries}
    segments = [_strip_wrappers(seg) for seg in _segments(argv)]
    for rem in segments:
        if rem and rem[0].startswith("-"):
            return rem, None
        if rem and posixpath.basename(rem[0]) in bins:
            return rem[1:], None
    if any(not rem for rem in segments):
        return [], None
    programs = [posixpath.basename(rem[0]) for rem in segments]
    if programs and all(p in _NOOPS or p in _CLIENTS for p in programs):
        return [], f"the container runs `{programs[0]}` instead of the server"
    return [tok for rem in segments for tok in rem], None


# --------------------------------------------------------------------------- hooks


def _redis_save_hook(draft: _Draft) -> None:
    """Redis-protocol servers: detect `--save ""` without `--appendonly yes`."""
    tokens = draft.tokens
    if tokens and not tokens[0].startswith("-") and tokens[0].endswith(".conf"):
        draft.note(f"settings (dir, save, appendonly) may come from the config file {tokens[0]}")
    saves = _flag_values(tokens, "--save")
    appendonly = draft.flag("--appendonly")
    if saves and all(not v.strip() for v in saves) and (appendonly or "no").strip().lower() != "yes":
        draft.ephemeral = 'persistence disabled: --save "" without --appendonly yes'


def _bitnami_redis_hook(prefix: str) -> _Hook:
    def hook(draft: _Draft) -> None:
        env = draft.env
        aof_off = env.get(f"{prefix}_AOF_ENABLED", "yes").strip().lower() in ("no", "false", "0")
        rdb_off = env.get(f"{prefix}_RDB_POLICY_DISABLED", "no").strip().lower() in ("yes", "true", "1")
        if aof_off and rdb_off:
            draft.ephemeral = f"persistence disabled: {prefix}_AOF_ENABLED=no and {prefix}_RDB_POLICY_DISABLED=yes"
        else:
            _redis_save_hook(draft)

    return hook


def _postgres_hook(draft: _Draft) -> None:
    if draft.major is None and len(draft.layouts) > 1:
        draft.note(
            "the tag does not pin the major version: postgres 18+ stores data under "
            "/var/lib/postgresql/<major>/docker, <= 17 under /var/lib/postgresql/data"
        )
    if draft.env.get("POSTGRES_INITDB_WALDIR"):
        draft.note("POSTGRES_INITDB_WALDIR keeps the WAL outside PGDATA; it must persist too")


def _bitnami_postgres_hook(draft: _Draft) -> None:
    value = (draft.env.get("POSTGRESQL_DATA_DIR") or "").rstrip("/")
    if value == "/bitnami/postgresql":  # legacy value rewritten by the image scripts
        draft.set_path(0, "/bitnami/postgresql/data", "env POSTGRESQL_DATA_DIR")


def _mongo_hook(draft: _Draft) -> None:
    if draft.has("--configsvr") and not draft.has("--dbpath"):
        for _rule, paths in draft.layouts:
            for i, dp in enumerate(paths):
                if dp.path == "/data/configdb":
                    paths[i] = DataPath(dp.path, dp.mount_target, "data", "flag --configsvr")
                elif dp.path == "/data/db" and dp.origin == "default":
                    paths[i] = DataPath(dp.path, dp.mount_target, "config", dp.origin)
    if draft.has("--config", "-f"):
        draft.note("storage.dbPath may be set in the mongod config file")
    if draft.major is not None and draft.major < 6:
        draft.readiness = ("mongo", "--quiet", "--eval", "db.runCommand({ping:1})")


def _mariadb_hook(draft: _Draft) -> None:
    if draft.major is not None and draft.major <= 10:
        draft.readiness = ("mysqladmin", "ping", "-h", "127.0.0.1", "--silent")


def _expand_ellipsis(text: str, limit: int = 64) -> list[str]:
    """MinIO's ``{1...4}`` expansion: ``/data{1...2}`` -> ``/data1``, ``/data2``."""
    start = text.find("{")
    if start < 0:
        return [text]
    end = text.find("}", start)
    inner = text[start + 1 : end] if end > start else ""
    lo, sep, hi = inner.partition("...")
    if end < 0 or not sep or not lo.isdigit() or not hi.isdigit():
        return [text]
    a, b = int(lo), int(hi)
    width = len(lo) if lo.startswith("0") else 0
    out: list[str] = []
    for n in range(a, min(b, a + limit - 1) + 1):
        num = str(n).zfill(width)
        for tail in _expand_ellipsis(text[end + 1 :], limit):
            out.append(text[:start] + num + tail)
            if len(out) >= limit:
                return out
    return out


def _minio_hook(draft: _Draft) -> None:
    tokens = draft.tokens
    dirs: list[str] = []
    origin = ""
    if "server" in tokens:
        rest = tokens[tokens.index("server") + 1 :]
        boolean = {"--quiet", "--anonymous", "--json", "--no-compat"}
        i = 0
        while i < len(rest):
            tok = rest[i]
            if tok.startswith("-"):
                if "=" not in tok and tok not in boolean:
                    i += 1  # skip the flag's value
            else:
                dirs.append(tok)
            i += 1
        origin = "command server"
    if not dirs and draft.env.get("MINIO_VOLUMES"):
        dirs = draft.env["MINIO_VOLUMES"].split()
        origin = "env MINIO_VOLUMES"
    paths: list[str] = []
    for d in dirs:
        if "$" in d:
            draft.note(f"a MinIO drive path comes from an unresolved variable: {d}")
            continue
        if "://" in d:  # http://minio{1...4}/data{1...2}: the path part is local to each node
            d = d.split("://", 1)[1]
            slash = d.find("/")
            if slash < 0:
                continue
            d = d[slash:]
        for p in _expand_ellipsis(d):
            p = _abspath(p, "/")
            if p not in paths:
                paths.append(p)
    if not paths:
        return
    for rule, layout_paths in draft.layouts:
        layout_paths[:] = [DataPath(p, _mount_for(p, rule.image_volumes, None), "data", origin) for p in paths]
    if "/data" not in paths:
        draft.note("the image VOLUME /data is unused: MinIO writes to the drives named in the command")


_SURREAL_LOCAL = ("rocksdb://", "rocksdb:", "surrealkv://", "surrealkv+versioned://", "surrealkv:", "file://", "file:", "speedb://", "speedb:")
_SURREAL_REMOTE = ("tikv://", "tikv:", "fdb://", "fdb:")


def _surreal_hook(draft: _Draft) -> None:
    store = draft.env.get("SURREAL_PATH", "")
    origin = "env SURREAL_PATH"
    for tok in draft.tokens:
        low = tok.lower()
        if low in ("memory", "mem://") or low.startswith(_SURREAL_LOCAL + _SURREAL_REMOTE):
            store, origin = tok, "command"
    low = store.lower()
    if not draft.tokens and not store:
        draft.note("the data directory comes from the `surreal start` path in the command")
        return
    if not store or low in ("memory", "mem://"):
        draft.ephemeral = "surreal start without a storage path keeps everything in memory"
        return
    if low.startswith(_SURREAL_REMOTE):
        draft.note("data lives in the external TiKV/FoundationDB cluster, not in this container")
        for _rule, paths in draft.layouts:
            paths.clear()
        return
    if "$" in store:
        draft.note(f"the storage path comes from an unresolved variable: {store}")
        return
    for prefix in _SURREAL_LOCAL:
        if low.startswith(prefix):
            store = store[len(prefix) :]
            break
    path = _abspath(store, "/")
    base = posixpath.basename(path)
    mount = posixpath.dirname(path) if "." in base and posixpath.dirname(path) != "/" else path
    draft.set_path(0, path, origin, mount_target=mount)


def _nats_hook(draft: _Draft) -> None:
    if draft.has("-js", "--jetstream"):
        store = draft.flag("-sd", "--store_dir", "--store-dir")
        if store and "$" not in store:
            draft.set_path(0, _abspath(store, "/"), "flag -sd")
        draft.stateful = "yes"
        return
    if draft.has("-c", "--config"):
        draft.note("JetStream (and its store_dir) may be enabled in the config file")
        return
    draft.ephemeral = "JetStream is not enabled (-js/--jetstream): NATS keeps no data on disk"


def _etcd_hook(draft: _Draft) -> None:
    if draft.flag("--data-dir") or draft.env.get("ETCD_DATA_DIR"):
        return
    name = draft.flag("--name") or draft.env.get("ETCD_NAME") or "default"
    if "$" not in name:
        draft.set_path(0, f"/var/lib/etcd/{name}.etcd", "default (<name>.etcd in the working directory)")


def _influx_hook(draft: _Draft) -> None:
    labels = [rule.label for rule, _ in draft.layouts]
    store = (draft.flag("--object-store") or draft.env.get("INFLUXDB3_OBJECT_STORE") or "").lower()
    if labels == ["influxdb 3"]:
        if store == "memory":
            draft.ephemeral = "--object-store memory keeps everything in memory"
        elif store in ("s3", "google", "azure"):
            draft.note("with a remote object store only the local cache lives in the container")
        draft.init_markers = ()
    elif labels == ["influxdb 2"]:
        draft.readiness = ("influx", "ping")
        draft.init_markers = ("influxd.bolt",)
    elif labels == ["influxdb 1"]:
        draft.init_markers = ("meta",)
    else:
        draft.note("the tag does not pin the major version: InfluxDB 1, 2 and 3 use different data directories")


def _kafka_apache_hook(draft: _Draft) -> None:
    if not draft.env.get("KAFKA_LOG_DIRS") and draft.env.get("KAFKA_ZOOKEEPER_CONNECT"):
        draft.set_path(0, "/tmp/kafka-logs", "default (ZooKeeper mode)")


def _wurstmeister_hook(draft: _Draft) -> None:
    broker = draft.env.get("KAFKA_BROKER_ID", "")
    if draft.env.get("KAFKA_LOG_DIRS") or (broker.isdigit() and int(broker) > 0):
        draft.pin_hostname = False


def _chroma_hook(draft: _Draft) -> None:
    if draft.env.get("IS_PERSISTENT", "").strip().lower() in ("false", "0", "no"):
        draft.ephemeral = "IS_PERSISTENT=FALSE keeps the collections in memory"


def _cockroach_hook(draft: _Draft) -> None:
    store = draft.flag("--store", "-s")
    if not store or "$" in store:
        return
    parts = dict(p.partition("=")[::2] for p in store.split(",") if "=" in p)
    if parts.get("type") == "mem":
        draft.ephemeral = "--store type=mem keeps everything in memory"
        return
    path = parts.get("path") or (store if "=" not in store else "")
    if path:
        draft.set_path(0, _abspath(path, "/cockroach"), "flag --store")


def _supabase_storage_hook(draft: _Draft) -> None:
    backend = draft.env.get("STORAGE_BACKEND", "").strip().lower()
    if backend and backend != "file":
        draft.note(f"STORAGE_BACKEND={backend}: objects live outside the container")
        for _rule, paths in draft.layouts:
            paths.clear()


# --------------------------------------------------------------------------- builtins

_KB = "kb/stateful-images.yaml"
_BITNAMI_NS = ("bitnami", "bitnamilegacy", "bitnamisecure")
_BITNAMI_NOTES = (
    "Bitnami images run as uid 1001: a bind directory must be writable by 1001 (or group 0)",
    "versioned bitnami/* tags moved to bitnamilegacy/* in Aug-Sep 2025: a re-pull may fail",
)


def _one(path: str, mount: str | None = None, role: str = "data") -> DataPath:
    return DataPath(path, mount or path, role)


def _single(*paths: DataPath, volumes: tuple[str, ...] = ()) -> tuple[LayoutRule, ...]:
    return (LayoutRule("default", tuple(paths), volumes),)


def _env(*names: str, target: int = 0, **kw: object) -> Override:
    return Override(tuple(names), target, **kw)  # type: ignore[arg-type]


_PG_NOTES = (
    "postgres 18+: mount /var/lib/postgresql (data in <major>/docker); a mount at /var/lib/postgresql/data makes 18+ refuse to start",
    "postgres <= 17: mount exactly /var/lib/postgresql/data; a mount at the parent /var/lib/postgresql is shadowed by the image VOLUME",
    "major versions are not compatible on disk (pg_upgrade or dump/restore); pin the tag",
    "stop with a long timeout (stop_grace_period: 2m); the server gets SIGINT (fast shutdown)",
)
_PG_LAYOUTS = (
    LayoutRule(
        "postgres >= 18",
        (DataPath("/var/lib/postgresql/{major}/docker", "/var/lib/postgresql"),),
        ("/var/lib/postgresql",),
        min_major=18,
        assumed_major=18,
    ),
    LayoutRule(
        "postgres <= 17",
        (_one("/var/lib/postgresql/data"),),
        ("/var/lib/postgresql/data",),
        max_major=17,
    ),
)
_PG_ENV = (_env("PGDATA"), _env("POSTGRES_INITDB_WALDIR", target=-1))
_PG_FLAGS = (Override(("-D", "--data_directory", "--data-directory", "-c data_directory")),)
_PG_READY = ("pg_isready", "-h", "127.0.0.1", "-U", "{env:POSTGRES_USER:postgres}")


def _postgres_like(
    id: str,
    title: str,
    repos: tuple[str, ...],
    *,
    user: str | None,
    users: tuple[tuple[str, str | None], ...] = (),
    sources: str,
) -> ImageEntry:
    return ImageEntry(
        id=id,
        title=title,
        repositories=repos,
        layouts=_PG_LAYOUTS,
        env_overrides=_PG_ENV,
        flag_overrides=_PG_FLAGS,
        binaries=("postgres", "postmaster"),
        user=user,
        users=users,
        init_markers=("PG_VERSION",),
        readiness=_PG_READY,
        probe="postgres",
        stop_grace_seconds=120,
        version_env=("PG_MAJOR", "PG_VERSION"),
        tag_style="pg",
        notes=_PG_NOTES,
        sources=sources,
        hook=_postgres_hook,
    )


def _bitnami(
    id: str,
    title: str,
    products: tuple[str, ...],
    data: str,
    mount: str | None = None,
    *,
    volumes: tuple[str, ...] = (),
    env: tuple[Override, ...] = (),
    stateful: str = "yes",
    grace: int = 60,
    readiness: tuple[str, ...] | None = None,
    init: tuple[str, ...] = (),
    hook: _Hook | None = None,
    notes: tuple[str, ...] = (),
    sources: str = "",
) -> ImageEntry:
    return ImageEntry(
        id=id,
        title=title,
        repositories=tuple(f"{ns}/{p}" for p in products for ns in _BITNAMI_NS),
        layouts=_single(_one(data, mount), volumes=volumes),
        stateful=stateful,
        env_overrides=env,
        user="1001:0",
        init_markers=init,
        readiness=readiness,
        stop_grace_seconds=grace,
        version_env=("APP_VERSION",),
        notes=notes + _BITNAMI_NOTES,
        sources=sources or f"bitnami/containers README conventions (/bitnami/<app>); {_KB} (bitnami entries)",
        hook=hook,
    )


_REDIS_NOTES = (
    "Redis saves dump.rdb on a clean stop: run SAVE first and stop with a generous timeout",
    'with --save "" and no --appendonly yes nothing survives a restart',
)


def _build_builtins() -> tuple[ImageEntry, ...]:
    mysql_ready = ("mysqladmin", "ping", "-h", "127.0.0.1", "--silent")
    mariadb_ready = ("mariadb-admin", "ping", "-h", "127.0.0.1", "--silent")
    mysql_layout = _single(_one("/var/lib/mysql"), volumes=("/var/lib/mysql",))
    mysql_flags = (Override(("--datadir",)),)
    mysql_notes = (
        "floating tags upgrade the data directory in place; downgrades are not supported",
        "stop with a long timeout so InnoDB can flush (stop_grace_period: 2m)",
    )
    es_notes = (
        "the image declares no VOLUME: without a mount the indices live in the container's writable layer",
        "a bind directory must be writable by uid 1000 or gid 0",
    )
    entries: list[ImageEntry] = [
        # ------------------------------------------------------------ PostgreSQL
        _postgres_like(
            "postgres",
            "PostgreSQL",
            (
                "library/postgres",
                "postgis/postgis",
                "pgvector/pgvector",
                "ankane/pgvector",
                "immich-app/postgres",
                "tensorchord/pgvecto-rs",
                "tensorchord/vchord-postgres",
                "bonitasoft/bonita-postgres",
                "citusdata/citus",
            ),
            user="999:999",
            users=(("*:*alpine*", "70:70"),),
            sources=(
                "docker-library/postgres Dockerfile templates + docker-entrypoint.sh (PGDATA/VOLUME change in 18, "
                f"STOPSIGNAL SIGINT); docker-library/docs postgres; {_KB}; derivatives built FROM postgres: "
                "postgis/docker-postgis, pgvector, immich-app, tensorchord, bonita (corpus LABELS.tsv)"
            ),
        ),
        _postgres_like(
            "timescaledb",
            "TimescaleDB",
            ("timescale/timescaledb",),
            user="70:70",
            sources=f"timescale/timescaledb-docker Dockerfile (FROM postgres:<ver>-alpine); {_KB}",
        ),
        ImageEntry(
            id="timescaledb-ha",
            title="TimescaleDB HA",
            repositories=("timescale/timescaledb-ha",),
            layouts=_single(DataPath("/home/postgres/pgdata/data", "/home/postgres/pgdata")),
            env_overrides=(_env("PGDATA"),),
            flag_overrides=_PG_FLAGS,
            binaries=("postgres",),
            user="1000:1000",
            init_markers=("PG_VERSION",),
            readiness=_PG_READY,
            probe="postgres",
            stop_grace_seconds=120,
            version_env=("PG_MAJOR", "PG_VERSION"),
            tag_style="pg",
            notes=(
                "data lives in /home/postgres/pgdata/data, not /var/lib/postgresql/data",
                "the image declares no VOLUME: without a mount the database lives in the writable layer",
            ),
            sources=f"timescale/timescaledb-ha Dockerfile (ENV PGROOT/PGDATA); {_KB}",
        ),
        ImageEntry(
            id="supabase-postgres",
            title="Supabase PostgreSQL",
            repositories=("supabase/postgres",),
            layouts=_single(_one("/var/lib/postgresql/data")),
            env_overrides=(_env("PGDATA"),),
            binaries=("postgres",),
            init_markers=("PG_VERSION",),
            readiness=_PG_READY,
            probe="postgres",
            stop_grace_seconds=120,
            version_env=("PG_MAJOR", "PG_VERSION"),
            notes=("the image declares no VOLUME: without a mount the database lives in the writable layer",),
            sources=f"supabase/postgres Dockerfile-17 (ENV PGDATA, no VOLUME); {_KB}; corpus supabase compose",
        ),
        ImageEntry(
            id="sameersbn-postgresql",
            title="PostgreSQL (sameersbn)",
            repositories=("sameersbn/postgresql", "kkimurak/sameersbn-postgresql"),
            layouts=_single(_one("/var/lib/postgresql"), volumes=("/var/lib/postgresql", "/run/postgresql")),
            env_overrides=(_env("PG_HOME"),),
            init_markers=(),
            probe="postgres",
            stop_grace_seconds=120,
            version_env=("PG_VERSION",),
            notes=("data lives under /var/lib/postgresql/<version>/main (PG_HOME); mount /var/lib/postgresql",),
            sources="sameersbn/docker-postgresql Dockerfile (PG_HOME VOLUME, PG_DATADIR=${PG_HOME}/${PG_VERSION}/main); corpus docker-gitlab labels",
        ),
        _bitnami(
            "bitnami-postgresql",
            "PostgreSQL (Bitnami)",
            ("postgresql", "postgresql-repmgr"),
            "/bitnami/postgresql/data",
            "/bitnami/postgresql",
            volumes=("/bitnami/postgresql",),
            env=(_env("POSTGRESQL_DATA_DIR"),),
            grace=120,
            readiness=("pg_isready", "-h", "127.0.0.1", "-U", "{env:POSTGRESQL_USERNAME:postgres}"),
            init=("PG_VERSION",),
            hook=_bitnami_postgres_hook,
            notes=("mount /bitnami/postgresql; /var/lib/postgresql/data means nothing in this image",),
            sources=f"bitnami/containers postgresql 17/18 debian-12 Dockerfile (VOLUME /bitnami/postgresql), postgresql-env.sh; {_KB}",
        ),
        # ------------------------------------------------------------ MySQL family
        ImageEntry(
            id="mysql",
            title="MySQL",
            repositories=("library/mysql", "mysql/mysql-server", "mysql/enterprise-server"),
            layouts=mysql_layout,
            flag_overrides=mysql_flags,
            binaries=("mysqld",),
            users=(("library/mysql:*", "999:999"),),
            init_markers=("mysql",),
            readiness=mysql_ready,
            probe="mysql",
            stop_grace_seconds=120,
            version_env=("MYSQL_MAJOR", "MYSQL_VERSION"),
            notes=mysql_notes + ("'latest' follows the newest (innovation) series, 'lts' the LTS series",),
            sources=f"docker-library/mysql Dockerfile.oracle (VOLUME /var/lib/mysql), docker-entrypoint.sh; {_KB}",
        ),
        ImageEntry(
            id="mariadb",
            title="MariaDB",
            repositories=("library/mariadb", "mariadb/server", "wodby/mariadb", "yobasystems/alpine-mariadb"),
            layouts=mysql_layout,
            flag_overrides=mysql_flags,
            binaries=("mariadbd", "mysqld"),
            users=(("library/mariadb:*", "999:999"),),
            init_markers=("mysql",),
            readiness=mariadb_ready,
            probe="mysql",
            stop_grace_seconds=120,
            version_env=("MARIADB_MAJOR", "MARIADB_VERSION"),
            notes=mysql_notes + ("set MARIADB_AUTO_UPGRADE=1 when the tag moves across versions",),
            sources=f"MariaDB/mariadb-docker Dockerfile.template (VOLUME /var/lib/mysql), docker-entrypoint.sh; {_KB}; wodby/mariadb (corpus docker4drupal)",
            hook=_mariadb_hook,
        ),
        ImageEntry(
            id="percona",
            title="Percona Server",
            repositories=("library/percona", "percona/percona-server", "percona/percona-xtradb-cluster"),
            layouts=mysql_layout,
            flag_overrides=mysql_flags,
            binaries=("mysqld",),
            init_markers=("mysql",),
            readiness=mysql_ready,
            probe="mysql",
            stop_grace_seconds=120,
            version_env=("PS_VERSION", "MYSQL_VERSION"),
            notes=mysql_notes,
            sources="percona Docker images (MySQL layout, VOLUME /var/lib/mysql); corpus docker-library docs percona",
        ),
        ImageEntry(
            id="linuxserver-mariadb",
            title="MariaDB (LinuxServer.io)",
            repositories=("linuxserver/mariadb",),
            layouts=_single(DataPath("/config/databases", "/config"), volumes=("/config",)),
            init_markers=("mysql",),
            probe="mysql",
            stop_grace_seconds=120,
            sources="linuxserver/docker-mariadb README (/config volume, databases in /config/databases) [not re-verified]",
        ),
        _bitnami("bitnami-mysql", "MySQL (Bitnami)", ("mysql",), "/bitnami/mysql/data", "/bitnami/mysql",
                 env=(_env("MYSQL_DATA_DIR"),), grace=120, init=("mysql",), readiness=mysql_ready),
        _bitnami("bitnami-mariadb", "MariaDB (Bitnami)", ("mariadb", "mariadb-galera"), "/bitnami/mariadb/data",
                 "/bitnami/mariadb", env=(_env("MARIADB_DATA_DIR"),), grace=120, init=("mysql",)),
        # ------------------------------------------------------------ MongoDB
        ImageEntry(
            id="mongo",
            title="MongoDB",
            repositories=("library/mongo", "mongodb/mongodb-community-server", "mongodb/mongodb-enterprise-server",
                          "percona/percona-server-mongodb"),
            layouts=_single(_one("/data/db"), _one("/data/configdb", role="config"),
                            volumes=("/data/db", "/data/configdb")),
            flag_overrides=(Override(("--dbpath",)),),
            binaries=("mongod",),
            users=(("library/mongo:*", "999:999"),),
            init_markers=("WiredTiger", "storage.bson", "local.0"),
            readiness=("mongosh", "--quiet", "--eval", "db.runCommand({ping:1})"),
            probe="mongo",
            stop_grace_seconds=120,
            version_env=("MONGO_MAJOR", "MONGO_VERSION"),
            notes=(
                "the image declares VOLUME /data/db and /data/configdb; /data/configdb holds data only for --configsvr",
                "Docker Desktop (macOS/Windows): bind-mounting the data directory is unsupported, use a named volume",
                "upgrade one major version at a time; a floating tag may jump several",
            ),
            sources=f"docker-library/mongo Dockerfile-linux.template (VOLUME /data/db /data/configdb), docker-entrypoint.sh; docker-library/docs mongo; {_KB}",
            hook=_mongo_hook,
        ),
        _bitnami("bitnami-mongodb", "MongoDB (Bitnami)", ("mongodb", "mongodb-sharded"), "/bitnami/mongodb/data/db",
                 "/bitnami/mongodb", grace=120, init=("WiredTiger",)),
        # ------------------------------------------------------------ Redis family
        ImageEntry(
            id="redis",
            title="Redis",
            repositories=("library/redis", "redis/redis-stack-server", "redis/redis-stack", "redislabs/redismod",
                          "redislabs/rejson", "redislabs/redisearch", "redislabs/redistimeseries"),
            layouts=_single(_one("/data"), volumes=("/data",)),
            flag_overrides=(Override(("--dir",)),),
            binaries=("redis-server", "redis-stack-server"),
            env_flags=("REDIS_ARGS",),
            workdir="/data",
            users=(("library/redis:*alpine*", "999:1000"), ("library/redis:*", "999:999")),
            init_markers=("dump.rdb", "appendonlydir", "appendonly.aof"),
            readiness=("redis-cli", "ping"),
            probe="redis",
            stop_grace_seconds=60,
            version_env=("REDIS_VERSION",),
            notes=_REDIS_NOTES,
            sources=(
                f"docker-library/redis Dockerfile.template (WORKDIR+VOLUME /data), redis/docker-library-redis 8.x; {_KB}; "
                "redis-stack/redismod derivatives keep /data (corpus LABELS.tsv)"
            ),
            hook=_redis_save_hook,
        ),
        ImageEntry(
            id="valkey",
            title="Valkey",
            repositories=("valkey/valkey",),
            layouts=_single(_one("/data"), volumes=("/data",)),
            flag_overrides=(Override(("--dir",)),),
            binaries=("valkey-server", "redis-server"),
            env_flags=("VALKEY_EXTRA_FLAGS",),
            workdir="/data",
            users=(("*:*alpine*", "999:1000"),),
            user="999:999",
            init_markers=("dump.rdb", "appendonlydir", "appendonly.aof"),
            readiness=("valkey-cli", "ping"),
            probe="redis",
            stop_grace_seconds=60,
            version_env=("VALKEY_VERSION",),
            notes=_REDIS_NOTES,
            sources=f"valkey-io/valkey-container Dockerfile.template (WORKDIR+VOLUME /data), docker-entrypoint.sh; {_KB}",
            hook=_redis_save_hook,
        ),
        ImageEntry(
            id="sameersbn-redis",
            title="Redis (sameersbn)",
            repositories=("sameersbn/redis",),
            layouts=_single(_one("/var/lib/redis"), volumes=("/var/lib/redis",)),
            flag_overrides=(Override(("--dir",)),),
            binaries=("redis-server",),
            init_markers=("dump.rdb", "appendonly.aof"),
            readiness=("redis-cli", "ping"),
            probe="redis",
            stop_grace_seconds=60,
            notes=("this image keeps data in /var/lib/redis; the official redis image uses /data",),
            sources="sameersbn/docker-redis Dockerfile (REDIS_DATA_DIR /var/lib/redis); corpus docker-gitlab labels",
            hook=_redis_save_hook,
        ),
        ImageEntry(
            id="keydb",
            title="KeyDB",
            repositories=("eqalpha/keydb",),
            layouts=_single(_one("/data"), volumes=("/data",)),
            flag_overrides=(Override(("--dir",)),),
            binaries=("keydb-server",),
            workdir="/data",
            init_markers=("dump.rdb", "appendonly.aof"),
            readiness=("keydb-cli", "ping"),
            stop_grace_seconds=60,
            sources="EQ-Alpha/KeyDB docker image (redis-compatible, WORKDIR/VOLUME /data) [not re-verified]",
            hook=_redis_save_hook,
        ),
        ImageEntry(
            id="dragonfly",
            title="Dragonfly",
            repositories=("dragonflydb/dragonfly",),
            layouts=_single(_one("/data"), volumes=("/data",)),
            flag_overrides=(Override(("--dir",)),),
            binaries=("dragonfly",),
            workdir="/data",
            stop_grace_seconds=60,
            notes=("Dragonfly writes snapshots to --dir (default /data) using --dbfilename",),
            sources="dragonflydb/dragonfly Dockerfile (WORKDIR /data) and docs (--dir); corpus laradock labels",
        ),
        _bitnami("bitnami-redis", "Redis (Bitnami)", ("redis", "redis-cluster"), "/bitnami/redis/data",
                 env=(_env("REDIS_DATA_DIR"),), readiness=("redis-cli", "ping"),
                 init=("appendonlydir", "dump.rdb"), hook=_bitnami_redis_hook("REDIS"),
                 notes=("mount /bitnami/redis/data; /data means nothing in this image",),
                 sources=f"bitnami/containers redis 7.4 debian-12 Dockerfile (no VOLUME), redis-env.sh; {_KB}"),
        _bitnami("bitnami-valkey", "Valkey (Bitnami)", ("valkey", "valkey-cluster"), "/bitnami/valkey/data",
                 env=(_env("VALKEY_DATA_DIR"),), readiness=("valkey-cli", "ping"),
                 init=("appendonlydir", "dump.rdb"), hook=_bitnami_redis_hook("VALKEY")),
        # ------------------------------------------------------------ brokers
        ImageEntry(
            id="rabbitmq",
            title="RabbitMQ",
            repositories=("library/rabbitmq",),
            layouts=_single(_one("/var/lib/rabbitmq"), volumes=("/var/lib/rabbitmq",)),
            env_overrides=(_env("RABBITMQ_MNESIA_BASE", "RABBITMQ_MNESIA_DIR", target=-1),),
            binaries=("rabbitmq-server",),
            users=(("*:*alpine*", "100:101"),),
            user="999:999",
            init_markers=("mnesia",),
            readiness=("rabbitmq-diagnostics", "-q", "ping"),
            stop_grace_seconds=60,
            version_env=("RABBITMQ_VERSION",),
            pin_hostname=True,
            notes=(
                "the node keeps its data under mnesia/rabbit@<hostname>: pin `hostname:` or a recreated container starts empty",
                ".erlang.cookie in /var/lib/rabbitmq must stay owner-only",
            ),
            sources=f"docker-library/rabbitmq Dockerfile templates (VOLUME $RABBITMQ_DATA_DIR), docker-entrypoint.sh; docker-library/docs rabbitmq; {_KB}",
        ),
        _bitnami("bitnami-rabbitmq", "RabbitMQ (Bitnami)", ("rabbitmq",), "/bitnami/rabbitmq/mnesia"),
        ImageEntry(
            id="kafka",
            title="Apache Kafka",
            repositories=("apache/kafka", "apache/kafka-native"),
            layouts=_single(_one("/tmp/kraft-combined-logs"),
                            volumes=("/etc/kafka/secrets", "/var/lib/kafka/data", "/mnt/shared/config")),
            env_overrides=(_env("KAFKA_LOG_DIRS", split=","), _env("KAFKA_METADATA_LOG_DIR", target=-1)),
            user="1000",
            init_markers=("meta.properties",),
            stop_grace_seconds=60,
            notes=(
                "the default log.dirs is /tmp/kraft-combined-logs (writable layer), not the VOLUME /var/lib/kafka/data",
                "to persist, set KAFKA_LOG_DIRS and mount that directory; keep CLUSTER_ID stable",
            ),
            sources=f"apache/kafka docker/jvm/Dockerfile (VOLUMEs), docker/resources/common-scripts/configureDefaults; {_KB}",
            hook=_kafka_apache_hook,
        ),
        ImageEntry(
            id="cp-kafka",
            title="Confluent Kafka",
            repositories=("confluentinc/cp-kafka", "confluentinc/cp-server", "confluentinc/cp-enterprise-kafka",
                          "confluentinc/confluent-local"),
            layouts=_single(_one("/var/lib/kafka/data"), volumes=("/var/lib/kafka/data", "/etc/kafka/secrets")),
            env_overrides=(_env("KAFKA_LOG_DIRS", split=","),),
            user="1000",
            init_markers=("meta.properties",),
            stop_grace_seconds=60,
            sources="confluentinc/kafka-images kafka/Dockerfile.ubi9 (VOLUME /var/lib/kafka/data), configure (KAFKA_LOG_DIRS default); corpus sentry/conduktor labels",
        ),
        ImageEntry(
            id="wurstmeister-kafka",
            title="Kafka (wurstmeister)",
            repositories=("wurstmeister/kafka",),
            layouts=_single(_one("/kafka"), volumes=("/kafka",)),
            env_overrides=(_env("KAFKA_LOG_DIRS", split=","),),
            stop_grace_seconds=60,
            pin_hostname=True,
            notes=("without KAFKA_LOG_DIRS or KAFKA_BROKER_ID the log dir is /kafka/kafka-logs-<hostname>: pin `hostname:`",),
            sources="wurstmeister/kafka-docker Dockerfile (VOLUME /kafka), start-kafka.sh (KAFKA_LOG_DIRS default); corpus laradock labels",
            hook=_wurstmeister_hook,
        ),
        _bitnami("bitnami-kafka", "Kafka (Bitnami)", ("kafka",), "/bitnami/kafka/data", "/bitnami/kafka",
                 env=(_env("KAFKA_CFG_LOG_DIRS", split=","),), init=("meta.properties",)),
        ImageEntry(
            id="redpanda",
            title="Redpanda",
            repositories=("vectorized/redpanda", "redpandadata/redpanda"),
            layouts=_single(_one("/var/lib/redpanda/data")),
            stop_grace_seconds=60,
            notes=("Kafka-compatible broker: topics live in /var/lib/redpanda/data",),
            sources="Redpanda docs (redpanda.data_directory default /var/lib/redpanda/data); corpus awesome-compose label; VOLUME not verified",
        ),
        ImageEntry(
            id="alfresco-activemq",
            title="ActiveMQ (Alfresco)",
            repositories=("alfresco/alfresco-activemq",),
            layouts=_single(_one("/opt/activemq/data")),
            stop_grace_seconds=60,
            sources="docker/awesome-compose alfresco compose (activemq-data:/opt/activemq/data); corpus label",
        ),
        ImageEntry(
            id="activemq",
            title="ActiveMQ Classic",
            repositories=("apache/activemq-classic",),
            layouts=_single(_one("/opt/apache-activemq/data")),
            stop_grace_seconds=60,
            sources="apache/activemq-classic image (ACTIVEMQ_HOME=/opt/apache-activemq, KahaDB in data/) [not re-verified]",
        ),
        ImageEntry(
            id="nats",
            title="NATS",
            repositories=("library/nats", "nats-io/nats-server", "synadia/nats-server"),
            layouts=_single(_one("/tmp/nats/jetstream")),
            binaries=("nats-server",),
            stateful="maybe",
            stop_grace_seconds=60,
            notes=("the scratch image has no shell: copy data through the Docker API",),
            sources=f"nats-io/nats-docker Dockerfiles (no VOLUME, default config without JetStream); nats docs JetStream store_dir; {_KB}",
            hook=_nats_hook,
        ),
        ImageEntry(
            id="mosquitto",
            title="Eclipse Mosquitto",
            repositories=("library/eclipse-mosquitto",),
            layouts=_single(_one("/mosquitto/data"), _one("/mosquitto/log", role="logs"),
                            volumes=("/mosquitto/data", "/mosquitto/log")),
            stateful="maybe",
            notes=("messages persist only with `persistence true` in mosquitto.conf",),
            sources="eclipse/mosquitto docker Dockerfile (VOLUME /mosquitto/data /mosquitto/log) [not re-verified]; corpus laradock label (unsure)",
        ),
        # ------------------------------------------------------------ coordination
        ImageEntry(
            id="zookeeper",
            title="ZooKeeper",
            repositories=("library/zookeeper",),
            layouts=_single(_one("/data"), _one("/datalog"), _one("/logs", role="logs"),
                            volumes=("/data", "/datalog", "/logs")),
            env_overrides=(_env("ZOO_DATA_DIR"), _env("ZOO_DATA_LOG_DIR", target=1), _env("ZOO_LOG_DIR", target=2)),
            user="1000:1000",
            init_markers=("version-2",),
            readiness=("zkServer.sh", "status"),
            stop_grace_seconds=60,
            notes=("/data (snapshots) and /datalog (transaction log) must persist and move together",),
            sources=f"31z4/zookeeper-docker 3.9.4 Dockerfile (VOLUME /data /datalog /logs), docker-entrypoint.sh; {_KB}",
        ),
        ImageEntry(
            id="cp-zookeeper",
            title="ZooKeeper (Confluent)",
            repositories=("confluentinc/cp-zookeeper",),
            layouts=_single(_one("/var/lib/zookeeper/data"), _one("/var/lib/zookeeper/log"),
                            volumes=("/var/lib/zookeeper/data", "/var/lib/zookeeper/log", "/etc/zookeeper/secrets")),
            user="1000",
            init_markers=("version-2",),
            stop_grace_seconds=60,
            notes=("/var/lib/zookeeper/data and /var/lib/zookeeper/log must persist together",),
            sources="confluentinc/kafka-images cp-zookeeper/Dockerfile (VOLUME data, log, secrets); corpus conduktor labels",
        ),
        _bitnami("bitnami-zookeeper", "ZooKeeper (Bitnami)", ("zookeeper",), "/bitnami/zookeeper/data",
                 "/bitnami/zookeeper", init=("version-2",)),
        ImageEntry(
            id="etcd",
            title="etcd",
            repositories=("coreos/etcd", "etcd-development/etcd", "library/etcd"),
            layouts=_single(DataPath("/var/lib/etcd/default.etcd", "/var/lib/etcd")),
            env_overrides=(_env("ETCD_DATA_DIR"), _env("ETCD_WAL_DIR", target=-1)),
            flag_overrides=(Override(("--data-dir",)), Override(("--wal-dir",), target=-1)),
            binaries=("etcd",),
            workdir="/var/lib/etcd",
            init_markers=("member",),
            readiness=("etcdctl", "endpoint", "health"),
            stop_grace_seconds=60,
            notes=("the image is distroless (no shell); with --wal-dir the WAL must persist too",),
            sources=f"etcd release Dockerfile (WORKDIR /var/lib/etcd, no VOLUME); etcd default data dir <name>.etcd; {_KB}",
            hook=_etcd_hook,
        ),
        _bitnami("bitnami-etcd", "etcd (Bitnami)", ("etcd",), "/bitnami/etcd/data", "/bitnami/etcd", init=("member",),
                 sources=f"bitnami/containers etcd 3.6 Dockerfile (no VOLUME), etcd-env.sh; {_KB}"),
        ImageEntry(
            id="consul",
            title="Consul",
            repositories=("hashicorp/consul", "library/consul"),
            layouts=_single(_one("/consul/data"), volumes=("/consul/data",)),
            flag_overrides=(Override(("-data-dir", "--data-dir")),),
            stop_grace_seconds=60,
            sources="hashicorp/docker-consul Dockerfile (VOLUME /consul/data) [not re-verified]",
        ),
        # ------------------------------------------------------------ search
        ImageEntry(
            id="elasticsearch",
            title="Elasticsearch",
            repositories=("library/elasticsearch", "elasticsearch/elasticsearch", "elasticsearch/elasticsearch-oss",
                          "elasticsearch/elasticsearch-wolfi"),
            layouts=_single(_one("/usr/share/elasticsearch/data")),
            env_overrides=(_env("path.data", split=","),),
            user="1000:0",
            init_markers=("nodes", "_state", "indices"),
            stop_grace_seconds=60,
            notes=es_notes + ("the official image has no `latest` tag: an untagged reference fails to pull",),
            sources=f"elastic/elasticsearch distribution/docker Dockerfile (no VOLUME, USER 1000:0), docker-entrypoint.sh; {_KB}",
        ),
        ImageEntry(
            id="opensearch",
            title="OpenSearch",
            repositories=("opensearchproject/opensearch",),
            layouts=_single(_one("/usr/share/opensearch/data")),
            env_overrides=(_env("path.data", split=","),),
            user="1000:1000",
            init_markers=("nodes", "_state", "indices"),
            stop_grace_seconds=60,
            notes=es_notes[:1],
            sources=f"opensearch-project/opensearch-build opensearch dockerfile (no VOLUME, USER 1000); {_KB}",
        ),
        _bitnami("bitnami-elasticsearch", "Elasticsearch (Bitnami)", ("elasticsearch",), "/bitnami/elasticsearch/data"),
        _bitnami("bitnami-opensearch", "OpenSearch (Bitnami)", ("opensearch",), "/bitnami/opensearch/data"),
        ImageEntry(
            id="solr",
            title="Apache Solr",
            repositories=("library/solr", "solr/solr"),
            layouts=(
                LayoutRule("solr >= 8", (_one("/var/solr"),), ("/var/solr",), min_major=8),
                LayoutRule("solr <= 7", (_one("/opt/solr/server/solr"),), (), max_major=7),
            ),
            user="8983:8983",
            stop_grace_seconds=60,
            sources="docker-solr Dockerfiles (8+: VOLUME /var/solr, SOLR_HOME /var/solr/data; 7: /opt/solr/server/solr) [not re-verified]",
        ),
        ImageEntry(
            id="mailcow-solr",
            title="Solr (mailcow full-text search)",
            repositories=("mailcow/solr",),
            layouts=_single(_one("/opt/solr/server/solr/dovecot-fts/data")),
            stop_grace_seconds=60,
            sources="mailcow-dockerized docker-compose.yml (solr-vol-1:/opt/solr/server/solr/dovecot-fts/data); corpus mailcow label",
        ),
        ImageEntry(
            id="alfresco-search",
            title="Alfresco Search Services (Solr)",
            repositories=("alfresco/alfresco-search-services",),
            layouts=_single(_one("/opt/alfresco-search-services/data"),
                            _one("/opt/alfresco-search-services/contentstore", role="config")),
            stop_grace_seconds=60,
            notes=("the index can be rebuilt from the repository, but only slowly",),
            sources="docker/awesome-compose alfresco compose (solr-data volume); Alfresco search-services docs [not re-verified]",
        ),
        _bitnami("bitnami-solr", "Solr (Bitnami)", ("solr",), "/bitnami/solr"),
        ImageEntry(
            id="meilisearch",
            title="Meilisearch",
            repositories=("getmeili/meilisearch",),
            layouts=(
                LayoutRule("meilisearch >= 0.27", (DataPath("/meili_data/data.ms", "/meili_data"),), ()),
                LayoutRule("meilisearch < 0.27", (_one("/data.ms"),), (), max_major=0, when_unknown=False),
            ),
            env_overrides=(_env("MEILI_DB_PATH"),),
            flag_overrides=(Override(("--db-path",)),),
            binaries=("meilisearch",),
            workdir="/meili_data",
            stop_grace_seconds=60,
            notes=("images before v0.27 kept the database in /data.ms; current ones in /meili_data/data.ms",),
            sources="meilisearch/meilisearch Dockerfile (WORKDIR /meili_data, no VOLUME; pre-0.27 note); corpus laradock label",
        ),
        ImageEntry(
            id="typesense",
            title="Typesense",
            repositories=("typesense/typesense",),
            layouts=_single(_one("/data")),
            env_overrides=(_env("TYPESENSE_DATA_DIR"),),
            flag_overrides=(Override(("--data-dir",)),),
            binaries=("typesense-server",),
            stop_grace_seconds=60,
            notes=("Typesense needs --data-dir / TYPESENSE_DATA_DIR; /data is only the documented convention",),
            sources="typesense docs (docker run -v ...:/data --data-dir /data); corpus laradock label (TYPESENSE_DATA_DIR)",
        ),
        ImageEntry(
            id="manticore",
            title="Manticore Search",
            repositories=("manticoresearch/manticore",),
            layouts=_single(_one("/var/lib/manticore"), volumes=("/var/lib/manticore",)),
            stop_grace_seconds=60,
            sources="manticoresearch/docker Dockerfile (VOLUME /var/lib/manticore) [not re-verified]",
        ),
        # ------------------------------------------------------------ vector databases
        ImageEntry(
            id="qdrant",
            title="Qdrant",
            repositories=("qdrant/qdrant",),
            layouts=_single(_one("/qdrant/storage")),
            env_overrides=(_env("QDRANT__STORAGE__STORAGE_PATH"),),
            workdir="/qdrant",
            stop_grace_seconds=60,
            notes=("snapshots go to /qdrant/snapshots; persist them too if you rely on them",),
            sources="qdrant/qdrant Dockerfile (WORKDIR /qdrant, no VOLUME; config storage_path ./storage); corpus laradock label",
        ),
        ImageEntry(
            id="weaviate",
            title="Weaviate",
            repositories=("semitechnologies/weaviate",),
            layouts=_single(_one("/var/lib/weaviate")),
            env_overrides=(_env("PERSISTENCE_DATA_PATH"),),
            stop_grace_seconds=60,
            sources="Weaviate docker-compose docs (PERSISTENCE_DATA_PATH=/var/lib/weaviate); corpus laradock label",
        ),
        ImageEntry(
            id="chroma",
            title="Chroma",
            repositories=("chromadb/chroma", "chroma-core/chroma"),
            layouts=(
                LayoutRule("chroma >= 1", (_one("/data"),), (), min_major=1),
                LayoutRule("chroma < 1", (_one("/chroma/chroma"),), (), max_major=0),
            ),
            env_overrides=(_env("PERSIST_DIRECTORY", layouts=("chroma < 1",)),),
            stop_grace_seconds=30,
            notes=("Chroma 1.x stores data in /data, 0.x images in /chroma/chroma",),
            sources="Chroma docs (docker run -v ./chroma-data:/data for 1.x; /chroma/chroma with PERSIST_DIRECTORY for 0.x); corpus laradock label",
            hook=_chroma_hook,
        ),
        # ------------------------------------------------------------ analytics / wide-column / graph
        ImageEntry(
            id="clickhouse",
            title="ClickHouse",
            repositories=("clickhouse/clickhouse-server", "library/clickhouse", "yandex/clickhouse-server",
                          "altinity/clickhouse-server", "*clickhouse-self-hosted*"),
            layouts=_single(_one("/var/lib/clickhouse"), _one("/var/log/clickhouse-server", role="logs"),
                            volumes=("/var/lib/clickhouse",)),
            user="101:101",
            init_markers=("metadata", "data"),
            readiness=("clickhouse-client", "--query", "SELECT 1"),
            stop_grace_seconds=120,
            notes=(
                "Atomic databases use absolute symlinks into /var/lib/clickhouse/store: copy through the Docker API, not tarfile's data filter",
            ),
            sources=(
                f"ClickHouse docker/server Dockerfile.ubuntu (VOLUME /var/lib/clickhouse), entrypoint.sh; {_KB}; "
                "getsentry/self-hosted builds clickhouse-self-hosted-local FROM a clickhouse-server image (corpus labels)"
            ),
        ),
        _bitnami("bitnami-clickhouse", "ClickHouse (Bitnami)", ("clickhouse",), "/bitnami/clickhouse", grace=120),
        ImageEntry(
            id="cassandra",
            title="Apache Cassandra",
            repositories=("library/cassandra",),
            layouts=_single(_one("/var/lib/cassandra"), volumes=("/var/lib/cassandra",)),
            user="999:999",
            init_markers=("data",),
            readiness=("cqlsh", "-e", "SELECT release_version FROM system.local"),
            stop_grace_seconds=120,
            version_env=("CASSANDRA_VERSION",),
            notes=("run `nodetool drain` before stopping",),
            sources=f"docker-library/cassandra Dockerfile.template (VOLUME /var/lib/cassandra), docker-entrypoint.sh; {_KB}",
        ),
        _bitnami("bitnami-cassandra", "Cassandra (Bitnami)", ("cassandra",), "/bitnami/cassandra", grace=120),
        ImageEntry(
            id="scylla",
            title="ScyllaDB",
            repositories=("scylladb/scylla",),
            layouts=_single(_one("/var/lib/scylla"), volumes=("/var/lib/scylla",)),
            stop_grace_seconds=120,
            sources="scylladb/scylla image docs (data in /var/lib/scylla) [not re-verified]",
        ),
        ImageEntry(
            id="neo4j",
            title="Neo4j",
            repositories=("library/neo4j", "neo4j/neo4j", "neo4j/neo4j-enterprise"),
            layouts=_single(_one("/data"), _one("/logs", role="logs"), volumes=("/data", "/logs")),
            env_overrides=(_env("NEO4J_server_directories_data", "NEO4J_dbms_directories_data"),),
            user="7474:7474",
            init_markers=("databases",),
            stop_grace_seconds=120,
            version_env=("NEO4J_VERSION",),
            notes=("store formats change across majors (neo4j-admin migration); do not float the tag",),
            sources=f"neo4j/docker-neo4j calver coredb Dockerfile (VOLUME /data /logs), docker-entrypoint.sh; {_KB}",
        ),
        ImageEntry(
            id="couchdb",
            title="CouchDB",
            repositories=("library/couchdb", "apache/couchdb"),
            layouts=_single(_one("/opt/couchdb/data"), _one("/opt/couchdb/etc/local.d", role="config"),
                            volumes=("/opt/couchdb/data",)),
            user="5984:5984",
            init_markers=("_dbs.couch", "shards"),
            readiness=("curl", "-fsS", "http://127.0.0.1:5984/_up"),
            stop_grace_seconds=60,
            version_env=("COUCHDB_VERSION",),
            notes=("admins and runtime config are written to /opt/couchdb/etc/local.d; persist it too",),
            sources=f"apache/couchdb-docker 3.5.1 Dockerfile (VOLUME /opt/couchdb/data), docker-entrypoint.sh; docker-library/docs couchdb; {_KB}",
        ),
        _bitnami("bitnami-couchdb", "CouchDB (Bitnami)", ("couchdb",), "/bitnami/couchdb"),
        ImageEntry(
            id="arangodb",
            title="ArangoDB",
            repositories=("library/arangodb", "arangodb/arangodb"),
            layouts=_single(_one("/var/lib/arangodb3"), _one("/var/lib/arangodb3-apps", role="config"),
                            volumes=("/var/lib/arangodb3", "/var/lib/arangodb3-apps")),
            flag_overrides=(Override(("--database.directory",)),),
            stop_grace_seconds=120,
            version_env=("ARANGO_VERSION",),
            sources="arangodb/arangodb-docker Dockerfile (VOLUME /var/lib/arangodb3 /var/lib/arangodb3-apps); corpus laradock label",
        ),
        ImageEntry(
            id="rethinkdb",
            title="RethinkDB",
            repositories=("library/rethinkdb",),
            layouts=_single(DataPath("/data/rethinkdb_data", "/data"), volumes=("/data",)),
            flag_overrides=(Override(("--directory", "-d")),),
            workdir="/data",
            stop_grace_seconds=60,
            sources="docker-library rethinkdb Dockerfile (WORKDIR/VOLUME /data; rethinkdb_data in CWD); corpus laradock label",
        ),
        ImageEntry(
            id="surrealdb",
            title="SurrealDB",
            repositories=("surrealdb/surrealdb",),
            layouts=_single(_one("/data")),
            binaries=("surreal",),
            stop_grace_seconds=60,
            notes=("the storage path is the last argument of `surreal start` (rocksdb:/path, surrealkv:/path); none means memory",),
            sources="SurrealDB docs (surreal start [PATH], SURREAL_PATH); corpus laradock label (rocksdb:/data/database.db)",
            hook=_surreal_hook,
        ),
        ImageEntry(
            id="cockroach",
            title="CockroachDB",
            repositories=("cockroachdb/cockroach",),
            layouts=_single(_one("/cockroach/cockroach-data")),
            stop_grace_seconds=120,
            sources="CockroachDB docker docs (-v ...:/cockroach/cockroach-data, --store) [not re-verified]",
            hook=_cockroach_hook,
        ),
        ImageEntry(
            id="tarantool",
            title="Tarantool",
            repositories=("tarantool/tarantool",),
            layouts=_single(_one("/var/lib/tarantool"), volumes=("/var/lib/tarantool",)),
            stop_grace_seconds=60,
            sources="tarantool/docker Dockerfile (VOLUME /var/lib/tarantool) [not re-verified]",
        ),
        ImageEntry(
            id="aerospike",
            title="Aerospike",
            repositories=("aerospike/aerospike-server", "aerospike/aerospike-server-enterprise"),
            layouts=_single(_one("/opt/aerospike/data"), volumes=("/opt/aerospike/data",)),
            stop_grace_seconds=60,
            sources="aerospike/aerospike-server.docker Dockerfile (VOLUME /opt/aerospike/data) [not re-verified]",
        ),
        # ------------------------------------------------------------ time series
        ImageEntry(
            id="influxdb",
            title="InfluxDB",
            repositories=("library/influxdb", "influxdata/influxdb", "influxdb/influxdb3-core",
                          "influxdb/influxdb3-enterprise"),
            layouts=(
                LayoutRule(
                    "influxdb 2",
                    (_one("/var/lib/influxdb2"), _one("/etc/influxdb2", role="config")),
                    ("/var/lib/influxdb2", "/etc/influxdb2"),
                    min_major=2,
                    max_major=2,
                ),
                LayoutRule("influxdb 3", (_one("/var/lib/influxdb3"),), (), min_major=3),
                LayoutRule("influxdb 1", (_one("/var/lib/influxdb"),), ("/var/lib/influxdb",), max_major=1,
                           when_unknown=False),
            ),
            env_overrides=(
                _env("INFLUXDB_DATA_DIR", "INFLUXDB_META_DIR", "INFLUXDB_DATA_WAL_DIR", target=-1,
                     layouts=("influxdb 1",)),
                _env("INFLUXD_BOLT_PATH", is_file=True, layouts=("influxdb 2",)),
                _env("INFLUXD_ENGINE_PATH", target=-1, layouts=("influxdb 2",)),
                _env("INFLUXDB3_DB_DIR", "INFLUXDB_IOX_DB_DIR", layouts=("influxdb 3",)),
            ),
            flag_overrides=(Override(("--data-dir",), layouts=("influxdb 3",)),),
            binaries=("influxd", "influxdb3"),
            users=(("*:2*", "1000:1000"), ("*:3*", "1500:1500")),
            stop_grace_seconds=60,
            version_env=("INFLUXDB_VERSION",),
            notes=("1.x -> 2.x -> 3 are different storage formats; a floating tag starts an empty server",),
            sources=(
                "influxdata/influxdata-docker influxdb 1.x/2.7 Dockerfiles (VOLUMEs), 3.11-core Dockerfile "
                f"(INFLUXDB_IOX_DB_DIR=/var/lib/influxdb3, no VOLUME); docker-library/docs influxdb; {_KB}"
            ),
            hook=_influx_hook,
        ),
        _bitnami("bitnami-influxdb", "InfluxDB (Bitnami)", ("influxdb",), "/bitnami/influxdb"),
        ImageEntry(
            id="prometheus",
            title="Prometheus",
            repositories=("prom/prometheus", "stefanprodan/swarmprom-prometheus"),
            layouts=_single(_one("/prometheus"), volumes=("/prometheus",)),
            flag_overrides=(Override(("--storage.tsdb.path",)),),
            binaries=("prometheus",),
            workdir="/prometheus",
            stateful="maybe",
            user="65534:65534",
            init_markers=("wal",),
            stop_grace_seconds=60,
            notes=("a replaced `command:` drops the image's --storage.tsdb.path=/prometheus (default data/ in /prometheus)",),
            sources="prometheus/prometheus Dockerfile (WORKDIR/VOLUME /prometheus, USER nobody); corpus labels (unsure)",
        ),
        _bitnami("bitnami-prometheus", "Prometheus (Bitnami)", ("prometheus",), "/opt/bitnami/prometheus/data",
                 stateful="maybe"),
        # ------------------------------------------------------------ object storage
        ImageEntry(
            id="minio",
            title="MinIO",
            repositories=("minio/minio", "coollabsio/minio", "pgsty/minio"),
            layouts=_single(_one("/data"), volumes=("/data",)),
            binaries=("minio",),
            user="0:0",
            init_markers=(".minio.sys",),
            stop_grace_seconds=30,
            notes=(
                "the drives come from `server <dir>...` in the command; .minio.sys holds users, policies and bucket config",
                "MinIO stopped publishing community images in Oct 2025: never depend on a re-pull",
            ),
            sources=f"minio/minio Dockerfile.release (VOLUME /data, CMD minio), dockerscripts/docker-entrypoint.sh; {_KB}",
            hook=_minio_hook,
        ),
        _bitnami("bitnami-minio", "MinIO (Bitnami)", ("minio",), "/bitnami/minio/data", grace=30,
                 init=(".minio.sys",)),
        ImageEntry(
            id="seaweedfs",
            title="SeaweedFS",
            repositories=("chrislusf/seaweedfs",),
            layouts=_single(_one("/data"), volumes=("/data",)),
            flag_overrides=(
                Override(("-dir", "--dir"), split=","),
                Override(("-mdir", "-master.dir"), target=-1),
            ),
            binaries=("weed",),
            stop_grace_seconds=30,
            sources="seaweedfs/seaweedfs docker/entrypoint.sh (-dir=/data, -mdir=/data defaults); corpus sentry label (-dir=/data)",
        ),
        ImageEntry(
            id="registry",
            title="Docker Registry",
            repositories=("library/registry", "distribution/distribution"),
            layouts=_single(_one("/var/lib/registry"), volumes=("/var/lib/registry",)),
            env_overrides=(_env("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY"),),
            stateful="maybe",
            user="0:0",
            init_markers=("docker",),
            stop_grace_seconds=30,
            notes=("registry:2 -> 3 moved the config file to /etc/distribution/config.yml",),
            sources=f"distribution/distribution-library-image Dockerfile (VOLUME /var/lib/registry), config-example.yml; {_KB}",
        ),
        ImageEntry(
            id="supabase-storage",
            title="Supabase Storage API",
            repositories=("supabase/storage-api",),
            layouts=_single(_one("/var/lib/storage")),
            env_overrides=(_env("FILE_STORAGE_BACKEND_PATH"),),
            stateful="maybe",
            sources="supabase docker-compose (STORAGE_BACKEND=file, FILE_STORAGE_BACKEND_PATH=/var/lib/storage); corpus label (unsure)",
            hook=_supabase_storage_hook,
        ),
        # ------------------------------------------------------------ SQL Server
        ImageEntry(
            id="mssql",
            title="Microsoft SQL Server",
            repositories=("mssql/server", "mssql/rhel/server", "microsoft/mssql-server-linux",
                          "library/azure-sql-edge", "azure-sql-edge"),
            layouts=_single(_one("/var/opt/mssql")),
            env_overrides=(_env("MSSQL_DATA_DIR", "MSSQL_LOG_DIR", "MSSQL_BACKUP_DIR", target=-1),),
            user="10001",
            init_markers=("data/master.mdf",),
            stop_grace_seconds=120,
            notes=(
                "persist all of /var/opt/mssql (data, log, secrets/machine-key), not only /var/opt/mssql/data",
                "the image declares no VOLUME: without a mount the databases live in the writable layer",
            ),
            sources=f"microsoft/mssql-docker#7 (VOLUME removed), #869 (uid/gid); Microsoft Learn 'persist your data'; {_KB}",
        ),
        # ------------------------------------------------------------ apps that are their own store
        ImageEntry(
            id="gitea",
            title="Gitea",
            repositories=("gitea/gitea", "forgejo/forgejo"),
            layouts=(
                LayoutRule(
                    "gitea rootless",
                    (_one("/var/lib/gitea"), _one("/etc/gitea")),
                    ("/var/lib/gitea", "/etc/gitea"),
                    tags=("*rootless*",),
                ),
                LayoutRule("gitea", (_one("/data"),), ("/data",)),
            ),
            user="1000:1000",
            init_markers=("gitea",),
            stop_grace_seconds=60,
            notes=("repositories (and the SQLite database, if used) live here; migrate them with the database",),
            sources=f"go-gitea/gitea Dockerfile (VOLUME /data), Dockerfile.rootless (VOLUME /var/lib/gitea /etc/gitea); {_KB}",
        ),
    ]
    return tuple(entries)


@lru_cache(maxsize=1)
def _builtins() -> tuple[ImageEntry, ...]:
    return _build_builtins()


def builtin_entries() -> list[ImageEntry]:
    """The built-in entries (a fresh list; the entries themselves are frozen)."""
    return list(_builtins())


# Images that look like data stores but keep nothing worth persisting.
KNOWN_STATELESS: tuple[tuple[str, str], ...] = (
    ("library/memcached", "memcached is an in-memory cache"),
    ("bitnami*/memcached", "memcached is an in-memory cache"),
    ("edoburu/pgbouncer", "pgbouncer is a connection pooler"),
    ("bitnami*/pgbouncer", "pgbouncer is a connection pooler"),
    ("library/mongo-express", "mongo-express is an admin UI"),
    ("dpage/pgadmin4", "pgAdmin is an admin UI"),
    ("library/adminer", "Adminer is an admin UI"),
    ("phpmyadmin/phpmyadmin", "phpMyAdmin is an admin UI"),
    ("library/phpmyadmin", "phpMyAdmin is an admin UI"),
    ("library/kibana", "Kibana keeps its state in Elasticsearch"),
    ("kibana/kibana", "Kibana keeps its state in Elasticsearch"),
    ("opensearchproject/opensearch-dashboards", "Dashboards keep their state in OpenSearch"),
    ("prodrigestivill/postgres-backup-local", "a backup sidecar (its backups are output, not a store)"),
    ("library/busybox", "busybox is a utility image"),
    ("library/alpine", "alpine is a base image"),
)


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
        self._globs: list[tuple[str, int]] = []
        for pos, entry in enumerate(self._entries):
            for pattern in entry.repositories:
                pattern = pattern.lower()
                if any(ch in pattern for ch in "*?["):
                    self._globs.append((pattern, pos))
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
        best: int | None = None
        for cand in ref.candidates():
            pos = self._exact.get(cand)
            if pos is not None and (best is None or pos > best):
                best = pos
            for pattern, gpos in self._globs:
                if (best is None or gpos > best) and fnmatchcase(cand, pattern):
                    best = gpos
        return best

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
        """Resolve ``image`` as used by one service, or None when it is unknown."""
        ref = ImageRef.parse(image)
        entry = self.match_ref(ref)
        if entry is None:
            return None
        return entry.resolve(ref, env, command, major, entrypoint=entrypoint)

    @staticmethod
    def stateless_reason(image: str) -> str | None:
        """Why ``image`` is known NOT to need persistence (memcached, pgbouncer...), else None."""
        ref = ImageRef.parse(image)
        for cand in ref.candidates():
            for pattern, reason in KNOWN_STATELESS:
                if fnmatchcase(cand, pattern):
                    return reason
        return None


@lru_cache(maxsize=1)
def default_knowledge() -> Knowledge:
    """The built-in knowledge (cached)."""
    return Knowledge(_builtins())


# --------------------------------------------------------------------------- user config

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

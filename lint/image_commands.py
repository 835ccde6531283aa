"""Commands, flags and paths of a service, read the way the container runs them.

Everything here is linear in the size of its input: a compose file may hold a
`command:` of a megabyte, and the lint must not stall on it.
"""

from __future__ import annotations

import posixpath
import re
from typing import Mapping, Sequence

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


_TOKEN = re.compile(r"""(\s+)|([;&|]+)|'([^']*)('?)|"((?:[^"\\]|\\.)*)("?)|\\(.?)|([^\s'"\\;&|]+)""", re.S)
_DQ_ESCAPE = re.compile(r'\\([\\"])')


def split_words(text: str, punctuation: bool = False) -> list[str] | None:
    """POSIX-shell words of ``text`` in linear time (``shlex`` is quadratic on long tokens).

    Quotes and backslashes as ``shlex.split``; with ``punctuation`` the runs of
    ``;``, ``&`` and ``|`` are words of their own.  None for an unterminated quote.
    """
    words: list[str] = []
    current: list[str] = []
    started = False
    for m in _TOKEN.finditer(text):
        space, punct, single, s_end, double, d_end, escaped, plain = m.groups()
        if space is not None or (punct is not None and punctuation):
            if started:
                words.append("".join(current))
            current, started = [], False
            if punct is not None:
                words.append(punct)
            continue
        started = True
        if punct is not None:
            current.append(punct)
        elif single is not None:
            if not s_end:
                return None
            current.append(single)
        elif double is not None:
            if not d_end:
                return None
            current.append(_DQ_ESCAPE.sub(r"\1", double))
        elif escaped is not None:
            if not escaped:
                return None  # a trailing backslash
            current.append(escaped)
        else:
            current.append(plain)
    if started:
        words.append("".join(current))
    return words


def _split_command(value: Sequence[str] | str | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        words = split_words(value)
        return value.split() if words is None else words
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
    tokens = split_words(script, punctuation=True)
    if tokens is None:
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


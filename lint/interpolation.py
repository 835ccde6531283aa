"""Compose variable interpolation and `.env` files.

Compose substitutes `${VAR}` forms in every string VALUE of the file (not in keys)
before it merges files. holdfast does the same, from the process environment over
the project's `.env`, so that `image: postgres:${PG_TAG:-16}` is understood. A
variable that is unset and has no default becomes "" (as Compose does, with a
warning); such names are collected so that rules can avoid guessing.
"""

from __future__ import annotations

import os
from typing import Any, Mapping


MAX_NESTING = 64  # `${A:-${B:-...}}` levels; deeper forms are refused instead of exhausting the stack


class InterpolationError(ValueError):
    """A `${VAR:?message}` whose variable is missing, or a malformed `${`."""


class Interpolator:
    """Expands `${...}` from `env`, recording missing names and malformed forms.

    A plain class, not a dataclass: a dataclass definition costs about a
    millisecond of every cold start, and an interpolator is never compared.
    """

    __slots__ = ("env", "missing", "errors")

    def __init__(self, env: Mapping[str, str], missing: set[str] | None = None, errors: list[str] | None = None) -> None:
        self.env = env
        self.missing = set() if missing is None else missing
        self.errors = [] if errors is None else errors

    def text(self, value: str) -> str:
        """Interpolate one string; malformed or required-but-missing forms are recorded, not raised."""
        if "$" not in value:
            return value
        try:
            result, _ = self._expand(value, 0, stop=None)
        except InterpolationError as exc:
            self.errors.append(str(exc))
            return value
        return result

    def data(self, value: Any) -> Any:
        """Interpolate every string value inside plain data (keys are left alone)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value

    # A small recursive-descent expander: `stop` is the character ending a nested default.
    def _expand(self, s: str, i: int, stop: str | None, depth: int = 0) -> tuple[str, int]:
        out: list[str] = []
        n = len(s)
        while i < n:
            c = s[i]
            if stop is not None and c == stop:
                return "".join(out), i
            if c != "$":
                out.append(c)
                i += 1
                continue
            if i + 1 < n and s[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            if i + 1 < n and s[i + 1] == "{":
                value, i = self._braced(s, i + 2, depth)
                out.append(value)
                continue
            j = i + 1
            while j < n and (s[j].isalnum() or s[j] == "_"):
                j += 1
            if j == i + 1:  # a lone "$" is kept as is
                out.append("$")
                i += 1
                continue
            out.append(self._lookup(s[i + 1 : j]))
            i = j
        if stop is not None:
            raise InterpolationError(f"unterminated `${{` in {s!r}")
        return "".join(out), i

    def _braced(self, s: str, i: int, depth: int) -> tuple[str, int]:
        if depth >= MAX_NESTING:
            raise InterpolationError(f"`${{...}}` defaults nested more than {MAX_NESTING} levels deep; not evaluated")
        j = i
        while j < len(s) and (s[j].isalnum() or s[j] == "_"):
            j += 1
        name = s[i:j]
        if not name:
            raise InterpolationError(f"invalid interpolation format in {s!r}")
        if j >= len(s):
            raise InterpolationError(f"unterminated `${{` in {s!r}")
        if s[j] == "}":
            return self._lookup(name), j + 1
        for op in (":-", ":?", ":+", "-", "?", "+"):
            if s.startswith(op, j):
                arg, end = self._expand(s, j + len(op), stop="}", depth=depth + 1)
                return self._apply(name, op, arg), end + 1
        raise InterpolationError(f"invalid interpolation format for `{name}` in {s!r}")

    def _apply(self, name: str, op: str, arg: str) -> str:
        value = self.env.get(name)
        unset_or_empty = value is None or value == ""
        if op == ":-":
            return arg if unset_or_empty else value  # type: ignore[return-value]
        if op == "-":
            return arg if value is None else value
        if op == ":+":
            return "" if unset_or_empty else arg
        if op == "+":
            return "" if value is None else arg
        missing = unset_or_empty if op == ":?" else value is None
        if missing:
            self.missing.add(name)
            raise InterpolationError(f"required variable {name} is missing a value: {arg or 'no message'}")
        return value  # type: ignore[return-value]

    def _lookup(self, name: str) -> str:
        value = self.env.get(name)
        if value is None:
            self.missing.add(name)
            return ""
        return value


def read_env_file(path: str, lookup: Mapping[str, str] | None = None) -> dict[str, str]:
    """A `.env` file's variables (Compose's dotenv rules, see holdfast.dotenv); missing or unreadable: empty."""
    from holdfast.dotenv import DotenvError, read
    from holdfast.fileio import UnreadableFile

    try:
        return read(path, lookup if lookup is not None else os.environ)
    except (OSError, UnreadableFile, DotenvError):
        return {}


def project_environment(project_dir: str, env_files: list[str] | None = None) -> dict[str, str]:
    """The variables Compose would use: the process environment over the project's `.env` (or the given files)."""
    env: dict[str, str] = dict(os.environ)
    files = env_files if env_files is not None else [os.path.join(project_dir, ".env")]
    for path in files:
        for key, value in read_env_file(path, env).items():
            env.setdefault(key, value)
    return env

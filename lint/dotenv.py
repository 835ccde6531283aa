"""`.env` and `env_file:` files, read the way Compose v2 reads them.

Compose v2 (compose-go's dotenv parser) accepts `KEY=value` and `KEY: value`,
an optional `export ` prefix and `#` comment lines. Values:

- unquoted: up to the end of the line, cut at ` #` (an inline comment), trailing
  space trimmed, then `${VAR}` forms expanded;
- single-quoted: literal (no expansion; `\\'` is the only escape), may span lines;
- double-quoted: may span lines; `\\n \\t \\" \\\\ \\$ ...` are escapes, then `${VAR}` forms expand.

Expansion looks a name up in the environment first (the process, and for a
service's `env_file:` the project's variables), then in the lines above. A line
with a bare `KEY` copies the variable from the environment when it is set. What
follows a closing quote on the same line is parsed as the next statement, as
Compose does (a trailing `# comment` is skipped).
"""

from __future__ import annotations

import re
from collections import ChainMap
from typing import Mapping

MAX_ENV_FILE_BYTES = 1024 * 1024

_SPACE = " \t\v\f\r\x85\xa0"
_ESCAPE = re.compile(r"\\(?:[abcfnrtv$\"\\]|0[0-7]{0,3})")
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\", "$": "$$"}


class DotenvError(ValueError):
    """A line Compose refuses (bad variable name, unterminated quote, bad `${`); `line` is 1-based."""

    def __init__(self, message: str, line: int, path: str | None = None):
        super().__init__(f"{path}:{line}: {message}" if path else f"line {line}: {message}")
        self.reason = message
        self.line = line
        self.path = path


def parse(text: str, lookup: Mapping[str, str] | None = None, path: str | None = None) -> dict[str, str]:
    """The variables of a dotenv text, in file order; `lookup` is consulted first when expanding."""
    from holdfast.interpolation import Interpolator

    lookup = lookup if lookup is not None else {}
    env: dict[str, str] = {}
    i, n = 0, len(text)

    def line_at(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    def expand(value: str, offset: int) -> str:
        if "$" not in value:
            return value
        interp = Interpolator(ChainMap(lookup, env))  # type: ignore[arg-type]
        result = interp.text(value)
        if interp.errors:
            raise DotenvError(interp.errors[0], line_at(offset), path)
        return result

    while i < n:
        # statement start: skip blank space and comment lines
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        if text[i] == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        start = i
        if text.startswith("export", i) and i + 6 < n and text[i + 6] in " \t":
            i += 6
            while i < n and text[i] in " \t":
                i += 1
        key_start, terminator = i, None
        while i < n:
            c = text[i]
            if c in "=:\n":
                terminator = c
                break
            if c in _SPACE or c.isalnum() or c in "_.-[]":
                i += 1
                continue
            first_line = text[start:].split("\n", 1)[0]
            raise DotenvError(f"unexpected character {c!r} in variable name {first_line!r}", line_at(i), path)
        key = text[key_start:i].strip(_SPACE)
        if terminator is None or terminator == "\n":
            # a bare KEY: inherited from the environment when it is set there
            if key and key in lookup:
                env[key] = lookup[key]
            i += 1
            continue
        if not key:
            raise DotenvError("a variable with an empty name", line_at(start), path)
        i += 1
        while i < n and text[i] in _SPACE:
            i += 1
        value, i = _value(text, i, expand, line_at, path)
        env[key] = value
    return env


def _value(text: str, i: int, expand, line_at, path: str | None) -> tuple[str, int]:
    n = len(text)
    if i < n and text[i] in "'\"":
        quote = text[i]
        j = i + 1
        escaped = False
        while j < n:
            c = text[j]
            if c == quote and not escaped:
                raw = text[i + 1 : j]
                if quote == '"':
                    raw = expand(_ESCAPE.sub(_unescape, raw), i)
                else:
                    raw = raw.replace("\\'", "'")  # the one escape single quotes know
                return raw, j + 1
            escaped = c == "\\" and not escaped
            j += 1
        end = text.find("\n", i)
        shown = text[i : n if end < 0 else end]
        raise DotenvError(f"unterminated quoted value {shown}", line_at(i), path)
    end = text.find("\n", i)
    end = n if end < 0 else end
    raw = text[i:end]
    hash_at = raw.find(" #")
    if hash_at >= 0:
        raw = raw[:hash_at]
    raw = raw.rstrip(_SPACE + "\n")
    return expand(raw, i), end


def _unescape(match: re.Match[str]) -> str:
    body = match.group(0)[1:]
    if body[0] == "0":
        return chr(int(body, 8))
    return _SIMPLE_ESCAPES.get(body, match.group(0))


def read(path: str, lookup: Mapping[str, str] | None = None, display: str | None = None) -> dict[str, str]:
    """Parse one file (a regular file, bounded); raises `DotenvError` or `holdfast.fileio.UnreadableFile`."""
    from holdfast.fileio import read_regular_file

    raw = read_regular_file(path, MAX_ENV_FILE_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DotenvError("not valid UTF-8", raw.count(b"\n", 0, exc.start) + 1, display or path) from None
    return parse(text, lookup, display or path)


def read_many(paths: list[str], lookup: Mapping[str, str] | None = None) -> dict[str, str]:
    """Several files in order (later files win); each expands from `lookup`, then from the files before."""
    lookup = lookup if lookup is not None else {}
    env: dict[str, str] = {}
    for path in paths:
        env.update(read(path, ChainMap(lookup, env)))  # type: ignore[arg-type]
    return env

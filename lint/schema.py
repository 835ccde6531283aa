"""Validation against the Compose Specification schema (shipped in holdfast/data).

Valid files (the usual case) are recognised by `holdfast.fastschema`, the schema
compiled once per process into plain Python checks; jsonschema is imported and run
only for a file that check rejects (or cannot judge), to word HF002's messages. Errors are turned into (YAML path, message) pairs
that point at the OFFENDING KEY (an unknown key is reported on that key, not on
its parent mapping) and name it.

Results are cached on disk by content hash (like ruff's cache): a pre-commit hook
re-linting unchanged files never pays for importing and running jsonschema.
`HOLDFAST_NO_CACHE=1` (or `lint --no-cache`) turns the cache off;
`HOLDFAST_CACHE_DIR` moves it.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import Any, Iterator



# Package data sits beside the modules; a plain path avoids importing importlib.resources
# (and tempfile) on every run.
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "compose-spec.json")


@lru_cache(maxsize=1)
def _schema_bytes() -> bytes:
    with open(SCHEMA_PATH, "rb") as handle:
        return handle.read()


@lru_cache(maxsize=1)
def compose_schema() -> dict[str, Any]:
    return json.loads(_schema_bytes())


@lru_cache(maxsize=1)
def _fast_check() -> Any:
    """The compiled yes/no check of the Compose schema, or None if it uses a keyword fastschema lacks."""
    from holdfast.fastschema import Unsupported, compile_schema

    try:
        return compile_schema(compose_schema())
    except Unsupported:
        return None


def fast_verdict(data: Any) -> bool | None:
    """True/False as jsonschema would judge `data` (after `plain_copy`), or None when unknown."""
    check = _fast_check()
    if check is None:
        return None
    from holdfast.fastschema import is_valid

    return is_valid(check, data)


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft7Validator

    return Draft7Validator(compose_schema())


def plain_copy(value: Any) -> Any:
    """A JSON-like copy: string keys, lists and dicts only (what the schema was written for)."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_copy(v) for v in value]
    return value


def cache_dir() -> str | None:
    """Where cached results live, or None when caching is off."""
    if os.environ.get("HOLDFAST_NO_CACHE"):
        return None
    explicit = os.environ.get("HOLDFAST_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "holdfast")


def content_key(data: bytes) -> str:
    """A key for the local result cache: crc32, adler32 and length of the content.

    Not a security boundary (the cache lives in the user's own folder), just a
    content address with negligible chance of an accidental clash. hashlib is
    avoided on purpose: importing it loads OpenSSL, which costs more start-up
    time than linting a small file.
    """
    import zlib

    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{len(data):x}"


@lru_cache(maxsize=1)
def _schema_digest() -> str:
    from holdfast import __version__

    return content_key(__version__.encode() + b"\0" + _schema_bytes())


def schema_errors(data: Any) -> list[tuple[tuple[Any, ...], str]]:
    """Every schema violation as (YAML path of the offending key or value, message), cached by content."""
    if fast_verdict(data) is True:
        return []  # a valid file: no copy, no cache, no jsonschema
    plain = plain_copy(data)
    directory = cache_dir()
    if directory is None:
        return _validate(plain)
    try:
        canonical = json.dumps(plain, sort_keys=True, default=str, separators=(",", ":"))
    except (TypeError, ValueError):  # pragma: no cover - non-JSON data is validated uncached
        return _validate(plain)
    key = content_key(canonical.encode("utf-8"))
    path = os.path.join(directory, "schema-" + _schema_digest(), key[:2], key + ".json")
    try:
        with open(path, encoding="utf-8") as handle:
            return [(tuple(p), m) for p, m in json.load(handle)]
    except (OSError, ValueError):
        pass
    errors = _validate(plain)
    try:
        from holdfast.fileio import write_text_atomic

        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_text_atomic(path, json.dumps([[list(p), m] for p, m in errors]))
    except OSError:
        pass  # a read-only home is no reason to fail a lint
    return errors


def _validate(plain: Any) -> list[tuple[tuple[Any, ...], str]]:
    out: list[tuple[tuple[Any, ...], str]] = []
    seen: set[tuple[tuple[Any, ...], str]] = set()
    for error in _validator().iter_errors(plain):
        for path, message in _describe(error):
            if (path, message) not in seen:
                seen.add((path, message))
                out.append((path, message))
    out.sort(key=lambda item: [str(p) for p in item[0]])
    return out


def _where(path: tuple[Any, ...]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "the top level"


def _describe(error: Any) -> Iterator[tuple[tuple[Any, ...], str]]:
    path = tuple(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties":
        names = _extra_keys(error)
        for name in names:
            yield path + (name,), f"`{name}` is not allowed in {_where(path)} (unknown key)"
        if not names:
            yield path, f"{_where(path)}: {error.message}"
        return
    if validator in ("oneOf", "anyOf") and error.context:
        deepest = _best(error.context)
        if deepest is not None and len(deepest.absolute_path) > len(path):
            yield from _describe(deepest)
            return
        yield path, f"{_where(path)} does not match any allowed form ({_short(error.instance)})"
        return
    if validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        yield path, f"{_where(path)} must be {_article(expected)}, not {_json_type(error.instance)} ({_short(error.instance)})"
        return
    if validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        yield path, f"{_where(path)} is missing the required key `{missing[0] if missing else error.message}`"
        return
    if validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        yield path, f"{_where(path)} is {_short(error.instance)}; allowed: {allowed}"
        return
    if validator == "uniqueItems":
        yield path, f"{_where(path)} has duplicate entries"
        return
    yield path, f"{_where(path)}: {error.message}"


def _best(errors: list[Any]) -> Any:
    """The most specific sub-error of a oneOf/anyOf: the deepest path, then non-type errors."""
    ranked = sorted(errors, key=lambda e: (len(e.absolute_path), e.validator != "type"), reverse=True)
    return ranked[0] if ranked else None


def _extra_keys(error: Any) -> list[str]:
    """The keys an additionalProperties error is about, computed from the schema (not the message)."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    instance = error.instance if isinstance(error.instance, dict) else {}
    return [k for k in instance if k not in known and not any(p.search(k) for p in patterns)]


def _article(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."

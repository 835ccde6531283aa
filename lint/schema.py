"""Validation against the Compose Specification schema (shipped in holdfast/data).

The validator is built once per process and only when a file is validated;
jsonschema is imported lazily. Errors are turned into (YAML path, message) pairs
that point at the OFFENDING KEY (an unknown key is reported on that key, not on
its parent mapping) and name it.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator



@lru_cache(maxsize=1)
def compose_schema() -> dict[str, Any]:
    with resources.files("holdfast.data").joinpath("compose-spec.json").open("r", encoding="utf-8") as handle:
        return json.load(handle)


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


def schema_errors(data: Any) -> list[tuple[tuple[Any, ...], str]]:
    """Every schema violation as (YAML path of the offending key or value, message)."""
    out: list[tuple[tuple[Any, ...], str]] = []
    seen: set[tuple[tuple[Any, ...], str]] = set()
    for error in _validator().iter_errors(plain_copy(data)):
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

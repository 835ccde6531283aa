"""holdfast.fastschema answers "valid or not" exactly as jsonschema's Draft7Validator does.

HF002 trusts a "valid" from the fast check and never runs jsonschema then, so a
wrong "valid" would hide a schema violation. Compared here on every file of the
public corpus, every YAML file under tests/ and examples/, mutated corpus data
(hypothesis), and small schemas that pin down the draft-07 corner cases.
"""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from holdfast.document import ComposeDocument
from holdfast.fastschema import Unsupported, compile_schema, is_valid
from holdfast.schema import compose_schema, fast_verdict, plain_copy, schema_errors
from support import CORPUS, EXAMPLES, ROOT

COMPOSE = Draft7Validator(compose_schema())


def _corpus() -> Path:
    return Path(os.environ.get("HOLDFAST_CORPUS") or CORPUS)


def _files() -> list[Path]:
    found = sorted(p for p in _corpus().glob("*") if p.suffix in (".yml", ".yaml")) if _corpus().is_dir() else []
    for base in (ROOT / "tests", EXAMPLES):
        found.extend(sorted(p for p in base.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()))
    return found


def _data(path: Path):
    try:
        document = ComposeDocument.from_path(str(path))
    except Exception:  # noqa: BLE001 - a fixture that is not a readable file says nothing about schemas
        return None
    return document.data if isinstance(document.data, dict) else None


DATA = [(p, d) for p in _files() if (d := _data(p)) is not None]


def agree(data) -> bool | None:
    """Assert the fast verdict equals jsonschema's whenever it gives one; return it."""
    fast = fast_verdict(data)
    slow = COMPOSE.is_valid(plain_copy(data))
    assert fast is None or fast == slow, f"fast check says {fast}, jsonschema says {slow}"
    return fast


def test_every_known_file_gets_jsonschemas_verdict():
    assert len(DATA) > 100, "expected the test fixtures and examples at least"
    verdicts = []
    for path, data in DATA:
        try:
            verdicts.append(agree(data))
        except AssertionError as exc:
            raise AssertionError(f"{path}: {exc}") from None
    assert verdicts.count(None) <= len(verdicts) // 50, "the fast path should decide nearly every real file"
    assert True in verdicts and False in verdicts


@pytest.mark.skipif(not _corpus().is_dir(), reason="the public corpus (../shared/corpus/public) is absent")
def test_the_whole_public_corpus_is_decided_without_jsonschema():
    corpus = [d for p, d in DATA if p.parent == _corpus()]
    assert len(corpus) > 100
    assert all(fast_verdict(d) is not None for d in corpus)


# --------------------------------------------------------------- mutations
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.floats(allow_nan=True, allow_infinity=True),
              st.sampled_from(["", "x", "1", "80:80", "./d:/data", "always", "host", "bind", "volume", "1.5",
                               "postgres:16", "x-ext", "10s", "true", "0.5", "${A}", "Yes", "tcp", "0"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(
        ["image", "target", "source", "type", "x-a", "name", "external", "driver", "ports", "a b", "1"]), inner, max_size=3)),
    max_leaves=6,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _mutate(data, path, op, value, key):
    data = copy.deepcopy(data)
    if not path:
        return data
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if op == "replace":
        parent[last] = value
    elif op == "delete":
        del parent[last]
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif op == "add" and isinstance(parent[last], dict):
        parent[last][key] = value
    elif op == "add" and isinstance(parent[last], list):
        parent[last].append(value)
    return data


@st.composite
def mutated_data(draw):
    _, data = draw(st.sampled_from(DATA))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(data))
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "delete", "duplicate", "add"]))
        key = draw(st.sampled_from(["image", "volumes", "ports", "deploy", "x-y", "unknown", "environment", "healthcheck", 1]))
        data = _mutate(data, path, op, draw(VALUES), key)
    return data


@settings(max_examples=int(os.environ.get("HOLDFAST_FASTSCHEMA_EXAMPLES", "300")), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_data())
def test_mutated_files_get_jsonschemas_verdict(data):
    agree(data)


# ------------------------------------------------------- draft-07 corners
def _both(schema, instance):
    fast = is_valid(compile_schema(schema), instance)
    slow = Draft7Validator(schema).is_valid(instance)
    return fast, slow


@pytest.mark.parametrize(
    "schema, instance, expected",
    [
        ({"type": "integer"}, 3.0, True),  # draft 6+: a float with no fraction is an integer
        ({"type": "integer"}, True, False),
        ({"type": "number"}, False, False),
        ({"enum": [1, "a"]}, True, False),  # True is not 1
        ({"enum": [1, "a"]}, 1.0, True),
        ({"enum": ["a"]}, ["a"], False),
        ({"const": False}, 0, False),
        ({"uniqueItems": True}, [1, True], True),
        ({"uniqueItems": True}, [1, 1.0], False),
        ({"uniqueItems": True}, [{"a": 1}, {"a": True}], True),
        ({"uniqueItems": True}, [{"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}], False),
        ({"uniqueItems": True}, ["x", {"a": 1}, "x"], False),
        ({"uniqueItems": True}, [None, None], False),
        ({"minimum": 1}, math.nan, True),
        ({"maximum": 1}, True, True),  # not a number: the keyword does not apply
        ({"$ref": "#/definitions/s", "type": "integer", "definitions": {"s": {"type": "string"}}}, "x", True),  # siblings ignored
        ({"patternProperties": {"^a": {"type": "string"}, "b$": {"type": "integer"}}, "additionalProperties": False},
         {"ab": "x"}, False),
        ({"patternProperties": {"^a": {}}, "additionalProperties": False}, {"ab": 1, "c": 2}, False),
        ({"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}}, {"a": "x", "b": 2}, True),
        ({"required": ["a"]}, {"b": 1}, False),
        ({"required": ["a"]}, "not an object", True),
        ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 2, False),  # valid under both: not exactly one
        ({"oneOf": [{"type": "integer"}, {"type": "string"}]}, 2, True),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, None, False),
        ({"allOf": [{"type": "string"}, {"pattern": "^a"}]}, "ba", False),
        ({"pattern": "b"}, "abc", True),  # search, not match
        ({"items": {"type": "string"}, "minItems": 1}, [], False),
        ({"definitions": {"t": {"type": "array", "items": {"$ref": "#/definitions/t"}}}, "$ref": "#/definitions/t"}, [[[]], []], True),
        ({"definitions": {"t": {"type": "array", "items": {"$ref": "#/definitions/t"}}}, "$ref": "#/definitions/t"}, [[1]], False),
        (False, 1, False),
        ({"not": {"type": "null"}}, None, False),
    ],
)
def test_draft7_corner_cases(schema, instance, expected):
    assert _both(schema, instance) == (expected, expected)


def test_data_it_does_not_model_is_left_to_jsonschema():
    assert is_valid(compile_schema({"uniqueItems": True}), [[1], [True], [1]]) is None
    assert is_valid(compile_schema({"properties": {"1": {"type": "string"}}}), {1: 2}) is None  # jsonschema sees "1"
    assert is_valid(compile_schema({"required": ["1"]}), {1: 2}) is None
    assert is_valid(compile_schema({"enum": ["a"]}), math.nan) is None
    # and the document path falls back to jsonschema for them, with its message
    assert schema_errors({"services": {"a": {"image": "x", "ports": [[80], [True], [80]]}}})


def test_an_unknown_keyword_is_refused_not_ignored():
    with pytest.raises(Unsupported):
        compile_schema({"properties": {"a": {"multipleOf": 2}}})
    with pytest.raises(Unsupported):
        compile_schema({"$ref": "http://example.com/schema"})


def test_the_compose_schema_compiles():
    check = compile_schema(compose_schema())
    assert check({"services": {"db": {"image": "postgres:16"}}}) is True
    assert check({"services": {"db": {"image": "postgres:16", "volume": []}}}) is False


def test_a_valid_file_never_imports_jsonschema():
    code = (
        "import sys\n"
        "from holdfast.schema import schema_errors\n"
        "assert schema_errors({'services': {'db': {'image': 'postgres:16', 'volumes': ['./d:/data']}}}) == []\n"
        "assert 'jsonschema' not in sys.modules, 'jsonschema was imported'\n"
        "assert schema_errors({'services': {'db': {'image': 1}}})\n"
        "assert 'jsonschema' in sys.modules\n"
    )
    env = dict(os.environ, HOLDFAST_NO_CACHE="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr

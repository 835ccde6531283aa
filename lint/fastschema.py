"""A fast yes/no check of data against a draft-07 JSON schema, without jsonschema.

Why: most Compose files are valid, and for them HF002 has nothing to say. Importing
jsonschema and running its validator costs more than parsing and checking a small
file, so holdfast first asks this module: is the data valid? Only when the answer
is "no" (or "cannot tell") does `holdfast.schema` run jsonschema, which writes the
messages HF002 reports. The verdict must therefore be exactly jsonschema's
(Draft7Validator, no format checking); tests/test_fastschema.py compares the two on
the public corpus, the test fixtures and fuzzed data.

The schema is compiled once into nested closures, one per subschema, each taking
an instance and returning True (valid) or False. Supported keywords are the ones
the Compose schema uses and a few simple neighbours; a schema with any other
keyword makes `compile_schema` raise `Unsupported`, and holdfast then always uses
jsonschema. Data this module does not model exactly (a key that is not a string,
a NaN, a list of mappings under `uniqueItems`, a number of an unusual type) raises
`Unsure` while checking, with the same consequence for that one document.

Draft-07 rules mirrored here: a `$ref` hides its sibling keywords; `integer`
accepts a float with no fractional part; booleans are neither numbers nor equal to
1 or 0 in `enum`, `const` and `uniqueItems`; `pattern` and `patternProperties` use
`re.search`; a key is "additional" unless it is a listed property or matches the
patterns joined with `|`.
"""

from __future__ import annotations

import re
from typing import Any, Callable

Check = Callable[[Any], bool]

# Keywords that do not constrain an instance.
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated",
                          "readOnly", "writeOnly", "definitions"})


class Unsupported(Exception):
    """The schema uses a keyword (or a form of one) this module does not implement."""


class Unsure(Exception):
    """The data holds something whose verdict this module does not model exactly."""


def _is_number(value: Any) -> bool:
    kind = type(value)
    if kind is int or kind is float:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, (str, list, dict)) or value is None:
        return False
    raise Unsure  # a Decimal, a Fraction or some other number type: let jsonschema decide


def _is_integer(value: Any) -> bool:
    kind = type(value)
    if kind is int:
        return True
    if kind is float:
        return value.is_integer()
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, (str, list, dict)) or value is None:
        return False
    raise Unsure


_TYPES: dict[str, Check] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "number": _is_number,
    "integer": _is_integer,
}


def _scalar_key(value: Any) -> Any:
    """A hashable stand-in with JSON-schema equality (True is not 1), or raise Unsure."""
    if value is True or value is False:
        return (bool, value)
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        if value != value:  # NaN: jsonschema's comparison of it is not worth modelling
            raise Unsure
        return value
    raise Unsure  # lists, mappings and other objects


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a mapping or scalar, equal where jsonschema's `equal` says equal."""
    if isinstance(value, dict):
        if any(type(key) is not str for key in value):
            raise Unsure
        return (dict, frozenset((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, list):
        return (list, tuple(_frozen(item) for item in value))
    return _scalar_key(value)


def _unique(items: list[Any]) -> bool:
    """jsonschema's uniqueItems verdict.

    It sorts the items and compares neighbours, or compares every pair when they do
    not sort. Scalars sort (or fail to) consistently, and a list holding a mapping
    never sorts, so a set of stand-ins gives the same answer for both. A list of
    lists may sort with quirks (1 == True while ordering), so it is left to jsonschema.
    """
    if all(type(item) is str for item in items):
        return len(set(items)) == len(items)
    if any(isinstance(item, list) for item in items):
        raise Unsure
    if len(items) < 2:
        return True
    keys = {_frozen(item) for item in items}
    return len(keys) == len(items)


class _Compiler:
    def __init__(self, root: Any):
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise Unsupported(f"schema is not a mapping: {schema!r}")
        if "$ref" in schema:  # draft 7: every sibling of $ref is ignored
            return self._ref(schema["$ref"])
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS or keyword in ("properties", "patternProperties", "additionalProperties"):
                continue
            method = getattr(self, "_kw_" + keyword, None)
            if method is None:
                raise Unsupported(f"keyword {keyword!r}")
            checks.append(method(value, schema))
        if any(k in schema for k in ("properties", "patternProperties", "additionalProperties")):
            checks.append(self._object(schema))
        return _all_of(checks)

    # ---------------------------------------------------------------- $ref
    def _ref(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise Unsupported(f"$ref {ref!r}")
        if ref not in self.refs:
            cell: list[Check] = []
            self.refs[ref] = lambda instance: cell[0](instance)  # what a recursive schema sees of itself
            cell.append(self.compile(self._resolve(ref)))
            self.refs[ref] = cell[0]
        return self.refs[ref]

    def _resolve(self, ref: str) -> Any:
        target = self.root
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if "%" in part:
                raise Unsupported(f"$ref {ref!r}")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                raise Unsupported(f"$ref {ref!r} does not resolve")
        return target

    # ------------------------------------------------------------- keywords
    def _kw_type(self, value: Any, schema: dict) -> Check:
        names = value if isinstance(value, list) else [value]
        if not all(isinstance(n, str) and n in _TYPES for n in names):
            raise Unsupported(f"type {value!r}")
        tests = [_TYPES[n] for n in names]
        if len(tests) == 1:
            return tests[0]
        return lambda instance: any(test(instance) for test in tests)

    def _kw_enum(self, value: Any, schema: dict) -> Check:
        if not isinstance(value, list):
            raise Unsupported("enum is not a list")
        try:
            allowed = frozenset(_scalar_key(v) for v in value)
        except Unsure:
            raise Unsupported("enum with a non-scalar member") from None

        def check(instance: Any) -> bool:
            if isinstance(instance, (list, dict)):
                return False  # no scalar member equals a container
            return _scalar_key(instance) in allowed

        return check

    def _kw_const(self, value: Any, schema: dict) -> Check:
        return self._kw_enum([value], schema)

    def _kw_pattern(self, value: Any, schema: dict) -> Check:
        search = re.compile(value).search
        return lambda instance: not isinstance(instance, str) or search(instance) is not None

    def _kw_minLength(self, value: Any, schema: dict) -> Check:
        return lambda instance: not isinstance(instance, str) or len(instance) >= value

    def _kw_maxLength(self, value: Any, schema: dict) -> Check:
        return lambda instance: not isinstance(instance, str) or len(instance) <= value

    def _kw_minimum(self, value: Any, schema: dict) -> Check:
        return lambda instance: not _is_number(instance) or not instance < value  # as jsonschema words it (NaN passes)

    def _kw_maximum(self, value: Any, schema: dict) -> Check:
        return lambda instance: not _is_number(instance) or not instance > value

    def _kw_minItems(self, value: Any, schema: dict) -> Check:
        return lambda instance: not isinstance(instance, list) or len(instance) >= value

    def _kw_maxItems(self, value: Any, schema: dict) -> Check:
        return lambda instance: not isinstance(instance, list) or len(instance) <= value

    def _kw_required(self, value: Any, schema: dict) -> Check:
        names = list(value)

        def check(instance: Any) -> bool:
            if not isinstance(instance, dict) or all(name in instance for name in names):
                return True
            if any(type(key) is not str for key in instance):
                raise Unsure  # jsonschema sees str(key): a key 1 is the name "1" there
            return False

        return check

    def _kw_uniqueItems(self, value: Any, schema: dict) -> Check:
        if not value:
            return _always
        return lambda instance: not isinstance(instance, list) or _unique(instance)

    def _kw_items(self, value: Any, schema: dict) -> Check:
        if isinstance(value, list):
            raise Unsupported("items as a list (tuple validation)")
        test = self.compile(value)
        if test is _always:
            return _always
        return lambda instance: not isinstance(instance, list) or all(test(item) for item in instance)

    def _kw_allOf(self, value: Any, schema: dict) -> Check:
        return _all_of([self.compile(v) for v in value])

    def _kw_anyOf(self, value: Any, schema: dict) -> Check:
        tests = [self.compile(v) for v in value]
        return lambda instance: any(test(instance) for test in tests)

    def _kw_oneOf(self, value: Any, schema: dict) -> Check:
        tests = [self.compile(v) for v in value]

        def check(instance: Any) -> bool:
            found = False
            for test in tests:
                if test(instance):
                    if found:
                        return False
                    found = True
            return found

        return check

    def _kw_not(self, value: Any, schema: dict) -> Check:
        test = self.compile(value)
        return lambda instance: not test(instance)

    # --------------------------------------------------------------- objects
    def _object(self, schema: dict) -> Check:
        """properties, patternProperties and additionalProperties in one pass over the keys."""
        properties = {name: self.compile(sub) for name, sub in schema.get("properties", {}).items()}
        patterns = [(re.compile(p).search, self.compile(sub)) for p, sub in schema.get("patternProperties", {}).items()]
        joined = "|".join(schema.get("patternProperties", {}))
        is_extra_pattern = re.compile(joined).search if joined else None
        additional = self.compile(schema.get("additionalProperties", True))
        check_extra = additional is not _always

        def check(instance: Any) -> bool:
            if not isinstance(instance, dict):
                return True
            for key, item in instance.items():
                if type(key) is not str:
                    raise Unsure  # jsonschema would see str(key); two keys could then collide
                test = properties.get(key)
                if test is not None and not test(item):
                    return False
                for search, sub in patterns:
                    if search(key) and not sub(item):
                        return False
                if check_extra and test is None and (is_extra_pattern is None or not is_extra_pattern(key)):
                    if not additional(item):
                        return False
            return True

        return check


def _always(instance: Any) -> bool:
    return True


def _never(instance: Any) -> bool:
    return False


def _all_of(checks: list[Check]) -> Check:
    checks = [c for c in checks if c is not _always]
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda instance: first(instance) and second(instance)
    return lambda instance: all(check(instance) for check in checks)


def compile_schema(schema: Any) -> Check:
    """A function answering whether an instance is valid; raises Unsupported for unknown keywords."""
    return _Compiler(schema).compile(schema)


def is_valid(check: Check, instance: Any) -> bool | None:
    """True or False as jsonschema would answer, or None when this module cannot tell."""
    try:
        return check(instance)
    except Unsure:
        return None
    except RecursionError:
        return None

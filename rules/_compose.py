"""Small helpers the HF2xx-HF4xx rules share: raw values, `${VAR}` detection, list items with their origin.

Rules judge the merged project (`holdfast.project`), whose values are already
interpolated. A rule must never report something a `${VAR}` produced, so the
helpers here go back to the value as written (`raw`) and say whether it uses a
variable. List entries (`ports:`, `volumes:`, `depends_on:` ...) are found in
every file that defines the service, so a finding points at the exact item.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from holdfast.project import Origin, Project, Service

_VARIABLE = re.compile(r"\$(\{|[A-Za-z_])")


def uses_variable(value: Any) -> bool:
    """True when a raw value (or anything inside it) contains a `${VAR}` or `$VAR` form (`$$` is a literal `$`)."""
    if isinstance(value, str):
        return bool(_VARIABLE.search(value.replace("$$", "")))
    if isinstance(value, dict):
        return any(uses_variable(v) for v in value.values())
    if isinstance(value, list):
        return any(uses_variable(v) for v in value)
    return False


def raw(origin: "Origin", *path: Any) -> Any:
    """The value as written (not interpolated) at origin.path + path, merge keys resolved; None when absent."""
    node: Any = origin.document.data
    for step in tuple(origin.path) + path:
        if isinstance(node, dict):
            if step not in node:
                return None
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return None
    return node


class Item:
    """One entry of a service's list (or mapping) key, as written, and where.

    A plain read-only record rather than a dataclass: a dataclass definition costs
    about a millisecond of every cold start, and nothing compares or prints items.
    """

    __slots__ = ("origin", "raw", "key")

    def __init__(self, origin: "Origin", raw: Any, key: Any) -> None:
        object.__setattr__(self, "origin", origin)  # points at the entry itself (…, key, index) or (…, key, name)
        object.__setattr__(self, "raw", raw)  # as written
        object.__setattr__(self, "key", key)  # the index, or the mapping key for mapping forms

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Item is read-only: cannot set {name}")


def items(service: "Service", key: str) -> Iterator[Item]:
    """Every entry of `key` in every file that defines the service (and the `extends` base), once each.

    A list yields (index, entry); a mapping (`depends_on:` long form, `environment:`
    mapping) yields (name, value) with the origin at the name.
    """
    if key not in service.config:
        return  # no file sets it (the merged config has every key some definition has)
    from holdfast.project import Origin

    seen: set[tuple[str, tuple[Any, ...]]] = set()
    origins = list(service.definitions)
    extra = service.origins.get(key)
    if extra is not None:
        origins.append(Origin(extra.document, tuple(extra.path[:-1])))
    for definition in origins:
        marker = (definition.document.path, tuple(definition.path))
        if marker in seen:
            continue
        seen.add(marker)
        value = raw(definition, key)
        base = Origin(definition.document, tuple(definition.path) + (key,))
        if isinstance(value, list):
            for index, entry in enumerate(value):
                yield Item(Origin(definition.document, base.path + (index,)), entry, index)
        elif isinstance(value, dict):
            for name, entry in value.items():
                yield Item(Origin(definition.document, base.path + (name,)), entry, name)
        elif value is not None:
            yield Item(base, value, None)


def literal_binds(project: "Project") -> Iterator[tuple["Service", Item, Any]]:
    """(service, volumes entry, parsed mount) of every bind mount written without `${...}` and with a source."""
    from holdfast.mounts import parse_volume

    for service in project.services.values():
        for item in items(service, "volumes"):
            if uses_variable(item.raw):
                continue
            mount = parse_volume(item.raw)
            if mount is not None and mount.kind == "bind" and mount.source:
                yield service, item, mount


def scalar_origin(service: "Service", key: str) -> "Origin":
    """Where the effective value of a scalar key is written."""
    return service.origin(key)


def profiles(service: "Service") -> frozenset[str]:
    value = service.config.get("profiles")
    return frozenset(str(p) for p in value) if isinstance(value, list) else frozenset()


def may_run_together(a: "Service", b: "Service") -> bool:
    """False only when both services are limited to profiles that never overlap."""
    pa, pb = profiles(a), profiles(b)
    return not (pa and pb and not (pa & pb))


def stateful_services(ctx: Any, *, ephemeral: bool = False) -> Iterator[tuple["Service", Any]]:
    """(service, analysis) of every service the knowledge calls a data store (stateful "yes").

    `ephemeral`: also those configured to keep nothing (redis with `--save ""`)."""
    from holdfast.persistence import project_analyses

    for analysis in project_analyses(ctx.project, ctx.knowledge):
        image = analysis.image
        if getattr(image, "category", "data-store") != "data-store":
            continue  # an application (HF106's business), not a database, cache or broker
        if image.stateful == "yes" and (ephemeral or not image.ephemeral):
            yield analysis.service, analysis


def check_options(rule: Any, options: dict[str, Any], types: dict[str, type | tuple[type, ...]]) -> None:
    """Raise ValueError naming the rule and option when a configured value has the wrong type."""
    for name, kind in types.items():
        if name not in options:
            continue
        value = options[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise ValueError(f"option '{name}' of {rule.code} must be a {names} (got {value!r})")


def service_names(project: "Project") -> set[str]:
    return set(project.services)

"""Compose's merge of several definitions of one service, and its `!reset` / `!override` tags.

A later file (an override, an extending service) is merged over the earlier one:
most scalars are replaced, mapping-like lists (`environment`, `labels`, ...) merge
by key, `volumes` merge by container target, other lists append. A node tagged
`!reset` drops the value; `!override` replaces it instead of merging.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from holdfast.document import ComposeDocument
from holdfast.mounts import parse_volume, split_short_syntax

# Keys whose list values are merged as mappings (`- KEY=value` or `KEY: value`).
_MAPPING_LISTS = {"environment", "labels", "extra_hosts", "sysctls", "annotations", "depends_on", "networks", "links"}
# Keys whose value the later file replaces outright.
_REPLACED = {"command", "entrypoint", "healthcheck.test", "image", "build.dockerfile"}


_RESET, _OVERRIDE = "!reset", "!override"


def _tagged_paths(document: ComposeDocument) -> dict[tuple[Any, ...], str]:
    """YAML paths of the nodes tagged `!reset` or `!override` (Compose's merge directives)."""
    cache = document.__dict__.get("_holdfast_tags")
    if cache is not None:
        return cache
    found: dict[tuple[Any, ...], str] = {}
    if document.root is not None and ("!reset" in document.text or "!override" in document.text):
        stack: list[tuple[Any, tuple[Any, ...]]] = [(document.root, ())]
        seen: set[int] = set()
        while stack:
            node, path = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.tag in (_RESET, _OVERRIDE):
                found[path] = node.tag
            if isinstance(node, MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, ScalarNode):
                        stack.append((value_node, path + (key_node.value,)))
            elif isinstance(node, SequenceNode):
                for index, item in enumerate(node.value):
                    stack.append((item, path + (index,)))
    document.__dict__["_holdfast_tags"] = found
    return found


def _service_tags(document: ComposeDocument, prefix: tuple[Any, ...]) -> dict[tuple[Any, ...], str]:
    tags = _tagged_paths(document)
    if not tags:
        return {}
    size = len(prefix)
    return {path[size:]: tag for path, tag in tags.items() if path[:size] == prefix and len(path) > size}


def merge_service_config(base: dict[str, Any], override: dict[str, Any], tags: dict[tuple[Any, ...], str] | None = None) -> dict[str, Any]:
    """Compose's merge of two definitions of one service (the later file wins).

    `tags` are the later definition's `!reset` (drop the value) and `!override` (replace
    instead of merging) directives, by YAML path inside the service.
    """
    for path, tag in sorted((tags or {}).items(), key=lambda item: len(item[0])):
        if not path:
            continue
        base = _without(base, path)
        if tag == _RESET:
            override = _without(override, path)
    result = dict(base)
    for key, value in override.items():
        if key not in result:
            result[key] = value
        else:
            result[key] = _merge_value(key, result[key], value)
    return result


def _without(data: Any, path: tuple[Any, ...]) -> Any:
    """A copy of `data` without the value at `path` (copying only the containers on the way)."""
    head, rest = path[0], path[1:]
    if isinstance(data, dict) and head in data:
        copy = dict(data)
        if rest:
            copy[head] = _without(copy[head], rest)
        else:
            del copy[head]
        return copy
    if isinstance(data, list) and isinstance(head, int) and 0 <= head < len(data):
        copy = list(data)
        if rest:
            copy[head] = _without(copy[head], rest)
        else:
            del copy[head]
        return copy
    return data


def _merge_value(path: str, old: Any, new: Any) -> Any:
    if path in _REPLACED:
        return new
    leaf = path.rsplit(".", 1)[-1]
    if leaf in _MAPPING_LISTS and isinstance(old, (list, dict)) and isinstance(new, (list, dict)):
        merged = _as_mapping(old)
        merged.update(_as_mapping(new))
        return merged
    if path in ("volumes", "secrets", "configs") and isinstance(old, list) and isinstance(new, list):
        return _merge_by_target(path, old, new)
    if isinstance(old, dict) and isinstance(new, dict):
        result = dict(old)
        for key, value in new.items():
            result[key] = _merge_value(f"{path}.{key}", result[key], value) if key in result else value
        return result
    if isinstance(old, list) and isinstance(new, list):
        out = list(old)
        out.extend(item for item in new if item not in out)
        return out
    return new


def _as_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    out: dict[str, Any] = {}
    for item in value:
        if isinstance(item, str):
            key, sep, val = item.partition("=") if "=" in item else item.partition(":")
            out[key.strip()] = val if sep else None
        elif isinstance(item, dict):
            out.update(item)
    return out


def _merge_by_target(kind: str, old: list[Any], new: list[Any]) -> list[Any]:
    def key(entry: Any) -> Any:
        if kind == "volumes":
            mount = parse_volume(entry)
            if mount is None:
                return repr(entry)
            # the target as written: Compose does not merge `/data` with `/data/`
            if isinstance(entry, dict):
                return entry["target"]
            parts = split_short_syntax(entry.strip())
            return parts[1] if len(parts) > 1 else parts[0]
        if isinstance(entry, dict):
            return entry.get("target") or entry.get("source")
        return entry

    merged: dict[Any, Any] = {}
    for entry in old + new:
        merged[key(entry)] = entry
    return list(merged.values())

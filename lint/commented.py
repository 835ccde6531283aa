"""Find a commented-out `volumes:` block inside a service, the Mastodon case.

ruamel attaches such comments to different nodes depending on what precedes
them, so the block is found by scanning the source lines between the service's
key and the next key at the same or a lower indentation. The block's text,
uncommented, is parsed to learn what it would mount: uncommenting a tmpfs for
/dev/shm persists nothing (docker-library's postgres example). Long-syntax entries
(`- type: bind` followed by deeper `source:`/`target:` lines) belong to the block.
"""

from __future__ import annotations

import re
from typing import Any

from holdfast.document import ComposeDocument
from holdfast.mounts import Mount, parse_volume

_COMMENTED = re.compile(r"^(?P<lead>[ \t]*)#(?P<body>.*)$")


class CommentedBlock:
    """The lines of a commented-out `volumes:` key and its entries.

    A plain class (a dataclass definition costs about a millisecond of every cold
    start); nothing compares blocks or changes one after it is made.
    """

    __slots__ = ("first_line", "last_line", "key_indent", "lines", "uncommented", "mounts", "entries")

    def __init__(self, first_line: int, last_line: int, key_indent: int, lines: tuple[str, ...], uncommented: tuple[str, ...], mounts: tuple[Mount, ...], entries: tuple[Any, ...] = ()) -> None:
        self.first_line = first_line  # 1-based line of `#  volumes:`
        self.last_line = last_line
        self.key_indent = key_indent  # the indentation of the service's keys
        self.lines = lines  # the raw lines
        self.uncommented = uncommented  # the lines as they would read uncommented, indented for the service
        self.mounts = mounts  # what the block mounts
        self.entries = entries  # the `volumes:` entries as plain data (for an override file)


def service_region(document: ComposeDocument, service: str) -> tuple[int, int, int] | None:
    """(key line, last line, key indent) of a service's block, including trailing comment lines."""
    key_node, value_node = document.pair("services", service)
    if key_node is None:
        return None
    start = key_node.start_mark.line + 1
    service_indent = key_node.start_mark.column
    key_indent = service_indent + 2
    if value_node is not None and hasattr(value_node, "value") and isinstance(value_node.value, list) and value_node.value:
        first = value_node.value[0]
        if isinstance(first, tuple):
            key_indent = first[0].start_mark.column
    lines = document.lines()
    end = start
    for number in range(start + 1, len(lines) + 1):
        text = lines[number - 1]
        stripped = text.strip()
        if not stripped:
            continue
        indent = len(text) - len(text.lstrip(" "))
        if not stripped.startswith("#") and indent <= service_indent:
            break
        end = number
    return start, end, key_indent


def find_commented_volumes(document: ComposeDocument, service: str) -> CommentedBlock | None:
    """The first commented-out `volumes:` block in the service that parses and mounts something.

    Kept per document: HF101 asks while linting and its fixer asks again for the same service.
    """
    cache = document.__dict__.setdefault("_holdfast_commented", {})
    if service not in cache:
        cache[service] = _find_commented_volumes(document, service)
    return cache[service]


def _find_commented_volumes(document: ComposeDocument, service: str) -> CommentedBlock | None:
    region = service_region(document, service)
    if region is None:
        return None
    start, end, key_indent = region
    lines = document.lines()
    number = start + 1
    while number <= end:
        match = _COMMENTED.match(lines[number - 1])
        body = match.group("body") if match else None
        if body is not None and body.strip().rstrip() in ("volumes:",) and not body.strip().startswith("#"):
            block = _collect(lines, number, end, key_indent)
            if block is not None:
                return block
        number += 1
    return None


def _collect(lines: list[str], first: int, end: int, key_indent: int) -> CommentedBlock | None:
    key_body = _COMMENTED.match(lines[first - 1]).group("body")  # type: ignore[union-attr]
    body_indent = len(key_body) - len(key_body.lstrip(" "))
    raw = [lines[first - 1]]
    bodies = [key_body]
    number = first + 1
    item_indent: int | None = None
    while number <= end:
        match = _COMMENTED.match(lines[number - 1])
        if match is None:
            break
        body = match.group("body")
        stripped = body.strip()
        indent = len(body) - len(body.lstrip(" "))
        if stripped.startswith("-") and indent >= body_indent and (item_indent is None or indent == item_indent):
            item_indent = indent
        elif item_indent is None or not stripped or stripped.startswith("#") or indent <= item_indent:
            break  # not an entry, nor the continuation of a long-syntax entry
        raw.append(lines[number - 1])
        bodies.append(body)
        number += 1
    if len(bodies) < 2:
        return None
    shift = key_indent - body_indent
    uncommented = tuple(_reindent(body, shift) for body in bodies)
    entries = _parse_block(uncommented, key_indent)
    mounts = [m for m in (parse_volume(entry, i) for i, entry in enumerate(entries)) if m is not None]
    if not mounts:
        return None
    return CommentedBlock(first, number - 1, key_indent, tuple(raw), uncommented, tuple(mounts), tuple(entries))


def _reindent(body: str, shift: int) -> str:
    if shift >= 0:
        return " " * shift + body
    current = len(body) - len(body.lstrip(" "))
    return body[min(current, -shift) :]


def _parse_block(lines: tuple[str, ...], indent: int) -> list[Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    text = "\n".join(line[indent:] if line[:indent].strip() == "" else line for line in lines) + "\n"
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("volumes"), list):
        return []
    return list(data["volumes"])

"""Reading a compose file's own habits, and splicing new YAML text into it.

Fixers write the way the author writes: the same indentation unit, sequences
indented under their key or not, the same `- ` gap, the same quoting and the same
short or long mount syntax. New text is only ever INSERTED at line ends (or
replaces one scalar), in the file's newline style, so comments, anchors and
everything else stay byte-identical.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from holdfast.document import ComposeDocument, iter_pairs
from holdfast.model import Edit
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"


# --------------------------------------------------------------------------- lines
def line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def line_end(text: str, offset: int) -> int:
    """Offset of the line break (or end of text) of the line holding `offset`, before any `\\r`."""
    end = text.find("\n", offset)
    if end < 0:
        return len(text)
    if end > 0 and text[end - 1] == "\r":
        return end - 1
    return end


def content_end(document: ComposeDocument, node: Node) -> int:
    """End of the last line that holds the node's content: where text after the node goes."""
    text = document.text
    end = document.span(node).end
    start = node.start_mark.index
    while end > start and text[end - 1] in "\r\n":
        end -= 1
    return line_end(text, max(end - 1, start) if end > start else start)


# --------------------------------------------------------------------------- nodes
def walk(root: Node | None) -> Iterator[tuple[Node | None, Node]]:
    """Every (key node or None, value node) once, aliases not revisited."""
    if root is None:
        return
    seen: set[int] = set()
    stack: list[tuple[Node | None, Node]] = [(None, root)]
    while stack:
        key, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield key, node
        if isinstance(node, MappingNode):
            for k, v in reversed(node.value):
                stack.append((k, v))
        elif isinstance(node, SequenceNode):
            for item in reversed(node.value):
                stack.append((None, item))


def reference_counts(document: ComposeDocument) -> dict[int, int]:
    """How often each node object is reached (an alias reuses the anchored node)."""
    cache = document.__dict__.get("_holdfast_refcounts")
    if cache is not None:
        return cache
    counts: dict[int, int] = {}
    if document.root is not None:
        counts[id(document.root)] = 1
        stack = [document.root]
        expanded: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in expanded:
                continue
            expanded.add(id(node))
            children: list[Node] = []
            if isinstance(node, MappingNode):
                for k, v in node.value:
                    children.extend((k, v))
            elif isinstance(node, SequenceNode):
                children.extend(node.value)
            for child in children:
                counts[id(child)] = counts.get(id(child), 0) + 1
                stack.append(child)
    document.__dict__["_holdfast_refcounts"] = counts
    return counts


def is_shared(document: ComposeDocument, node: Node) -> bool:
    """True when an alias elsewhere reuses this node: editing it would edit them too."""
    return reference_counts(document).get(id(node), 1) > 1


def explicit(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    """The mapping's own (key, value) pair, ignoring what merge keys bring.

    Large mappings (a `services:` of thousands) are indexed once; the index holds the
    mapping itself, so its id cannot be reused while the entry lives.
    """
    if len(mapping.value) < 16:
        for key_node, value_node in iter_pairs(mapping):
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return key_node, value_node
        return None
    entry = _EXPLICIT_INDEX.get(id(mapping))
    if entry is None or entry[0] is not mapping or entry[1] != len(mapping.value):
        index: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in iter_pairs(mapping):
            if isinstance(key_node, ScalarNode):
                index.setdefault(key_node.value, (key_node, value_node))
        if len(_EXPLICIT_INDEX) >= 32:
            _EXPLICIT_INDEX.pop(next(iter(_EXPLICIT_INDEX)))
        entry = _EXPLICIT_INDEX[id(mapping)] = (mapping, len(mapping.value), index)
    return entry[2].get(key)


_EXPLICIT_INDEX: dict[int, tuple[MappingNode, int, dict[str, tuple[Node, Node]]]] = {}


def has_merge(mapping: MappingNode) -> bool:
    return any(k.tag == _MERGE_TAG for k, _ in mapping.value)


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def inside(node: Node, container: Node) -> bool:
    """Whether `node` is written inside `container`'s text (not reached through an alias)."""
    return container.start_mark.index <= node.start_mark.index and node.end_mark.index <= container.end_mark.index


# --------------------------------------------------------------------------- style
@dataclass
class Style:
    """How this file writes YAML."""

    indent: int = 2  # mapping indentation unit
    seq_offset: int = 2  # dash column minus the parent key's column
    gap: int = 1  # spaces after the dash
    quote: str = ""  # "", '"' or "'" for short mount entries
    long_syntax: bool = False
    long_keys: tuple[str, ...] = ("type", "source", "target")
    newline: str = "\n"
    json_like: bool = False  # flow mappings with double-quoted keys everywhere

    def pad(self, column: int) -> str:
        return " " * column


def detect_style(document: ComposeDocument, service: str | None = None) -> Style:
    """Majority habits of the document; a service's own `volumes:` wins for quoting and syntax.

    The document-wide counts are gathered in one walk and cached on the document (fixers
    ask once per finding: a walk per call made a file of 2,000 services quadratic).
    """
    style = Style(newline=document.newline)
    if document.root is None:
        return style
    habits = _habits(document)
    own_quotes: Counter[str] = Counter()
    own_syntax: Counter[bool] = Counter()
    volumes = habits.service_volumes.get(service) if service is not None else None
    for item in volumes or ():
        if isinstance(item, ScalarNode):
            own_quotes[item.style if item.style in ('"', "'") else ""] += 1
            own_syntax[False] += 1
        elif isinstance(item, MappingNode):
            own_syntax[True] += 1
    if habits.indents:
        style.indent = _top(habits.indents)
    if habits.volume_offsets:
        style.seq_offset = _top(habits.volume_offsets)
    elif habits.offsets:
        style.seq_offset = _top(habits.offsets)
    else:
        style.seq_offset = style.indent
    if habits.gaps:
        style.gap = _top(habits.gaps)
    q = own_quotes or habits.quotes
    if q:
        style.quote = _top(q)
    s = own_syntax or habits.syntax
    if s:
        style.long_syntax = _top(s)
    if habits.long_keys is not None:
        style.long_keys = habits.long_keys
    style.json_like = habits.flow_quoted > 0 and habits.block_maps == 0
    return style


@dataclass
class _Habits:
    indents: Counter[int] = field(default_factory=Counter)
    offsets: Counter[int] = field(default_factory=Counter)
    volume_offsets: Counter[int] = field(default_factory=Counter)
    gaps: Counter[int] = field(default_factory=Counter)
    quotes: Counter[str] = field(default_factory=Counter)
    syntax: Counter[bool] = field(default_factory=Counter)
    long_keys: tuple[str, ...] | None = None
    flow_quoted: int = 0
    block_maps: int = 0
    service_volumes: dict[str, list[Node]] = field(default_factory=dict)  # service name -> its `volumes:` items


def _habits(document: ComposeDocument) -> _Habits:
    cached = document.__dict__.get("_holdfast_habits")
    if cached is not None and cached[0] is document.root:
        return cached[1]
    habits = _Habits()
    for _key, node in walk(document.root):
        if not isinstance(node, MappingNode):
            continue
        if node.flow_style:
            if node.value and all(isinstance(k, ScalarNode) and k.style == '"' for k, _ in node.value):
                habits.flow_quoted += 1
            continue
        habits.block_maps += 1
        for k, v in node.value:
            if isinstance(v, MappingNode) and not v.flow_style and v.value and inside(v, node):
                diff = v.value[0][0].start_mark.column - k.start_mark.column
                if diff > 0 and v.value[0][0].start_mark.line > k.start_mark.line:
                    habits.indents[diff] += 1
            if isinstance(v, SequenceNode) and not v.flow_style and v.value and inside(v, node):
                if v.start_mark.line > k.start_mark.line:
                    diff = v.start_mark.column - k.start_mark.column
                    if diff >= 0:
                        habits.offsets[diff] += 1
                        if isinstance(k, ScalarNode) and k.value == "volumes":
                            habits.volume_offsets[diff] += 1
                first = v.value[0]
                gap = first.start_mark.column - v.start_mark.column - 1
                if gap >= 1 and first.start_mark.line == v.start_mark.line:
                    habits.gaps[gap] += 1
    services = document.node("services")
    if isinstance(services, MappingNode):
        for name_node, svc in services.value:
            if not isinstance(svc, MappingNode):
                continue
            pair = explicit(svc, "volumes")
            if pair is None or not isinstance(pair[1], SequenceNode):
                continue
            if isinstance(name_node, ScalarNode):
                habits.service_volumes.setdefault(name_node.value, pair[1].value)
            for item in pair[1].value:
                if isinstance(item, ScalarNode):
                    habits.quotes[item.style if item.style in ('"', "'") else ""] += 1
                    habits.syntax[False] += 1
                elif isinstance(item, MappingNode):
                    habits.syntax[True] += 1
                    if habits.long_keys is None:
                        known = tuple(k.value for k, _ in item.value if isinstance(k, ScalarNode) and k.value in ("type", "source", "target"))
                        if len(known) == 3:
                            habits.long_keys = known
    document.__dict__["_holdfast_habits"] = (document.root, habits)
    return habits


def _top(counter: Counter[Any]) -> Any:
    """Most common value; ties go to the value seen first."""
    best = max(counter.values())
    for value, count in counter.items():
        if count == best:
            return value
    raise ValueError("empty counter")  # pragma: no cover


# --------------------------------------------------------------------------- rendering
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./~$][A-Za-z0-9_./~$@%+=:,-]*$")
_SPECIAL = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}


def plain_ok(value: str, flow: bool = False) -> bool:
    """Whether a string can be written unquoted and still read back as the same string (YAML 1.1 and 1.2)."""
    if not value or not _PLAIN_SAFE.match(value) or value.endswith(":"):
        return False
    if flow and "," in value:
        return False
    if value.lower() in _SPECIAL:
        return False
    if re.fullmatch(r"[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?", value) or re.fullmatch(r"0[xob][0-9a-fA-F_]+", value):
        return False
    return not re.fullmatch(r"\d+(:\d+)+(\.\d*)?", value)  # YAML 1.1 sexagesimal numbers


def render_scalar(value: Any, quote: str = "", flow: bool = False) -> str:
    """A scalar in the requested quoting, falling back to double quotes when plain would misread."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if quote == "'" and "\n" not in text:
        return "'" + text.replace("'", "''") + "'"
    if quote == '"' or not plain_ok(text, flow):
        return json.dumps(text, ensure_ascii=False)
    return text


def render_key(key: str, style: Style) -> str:
    return json.dumps(key) if style.json_like else render_scalar(key)


def render_flow(value: Any, style: Style, quote: str = "") -> str:
    """A value on one line (flow style)."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{" + ", ".join(f"{render_key(str(k), style)}: {render_flow(v, style, quote)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render_flow(v, style, quote) for v in value) + "]"
    return render_scalar(value, '"' if style.json_like else quote, flow=True)


def render_item(value: Any, dash_col: int, style: Style, quote: str = "") -> list[str]:
    """Lines (without line breaks) of one block-sequence item starting with `- `."""
    head = " " * dash_col + "-" + " " * style.gap
    if isinstance(value, dict) and value:
        body = render_mapping(value, dash_col + 1 + style.gap, style, quote)
        return [head + body[0].lstrip(" ")] + body[1:]
    if isinstance(value, list) and value:
        return [head + render_flow(value, style, quote)]
    return [head + render_flow(value, style, quote) if isinstance(value, (dict, list)) else head + render_scalar(value, quote)]


def render_mapping(value: dict[Any, Any], column: int, style: Style, quote: str = "") -> list[str]:
    """Lines of a block mapping whose keys sit at `column`."""
    lines: list[str] = []
    pad = " " * column
    for key, item in value.items():
        k = render_scalar(str(key))
        if isinstance(item, dict) and item:
            lines.append(f"{pad}{k}:")
            lines.extend(render_mapping(item, column + style.indent, style, quote))
        elif isinstance(item, list) and item:
            lines.append(f"{pad}{k}:")
            for element in item:
                lines.extend(render_item(element, column + style.seq_offset, style, quote))
        elif isinstance(item, (dict, list)):
            lines.append(f"{pad}{k}: {render_flow(item, style)}")
        elif item is None:
            lines.append(f"{pad}{k}:")
        else:
            lines.append(f"{pad}{k}: {render_scalar(item, quote if isinstance(item, str) and key in ('source', 'target') else '')}")
    return lines


# --------------------------------------------------------------------------- splicing
class Refusal(Exception):
    """The text cannot be changed safely; the message is the one-line reason shown to the user."""


def items_dash_column(document: ComposeDocument, sequence: SequenceNode) -> tuple[int, int]:
    """(dash column, gap) of a block sequence's items."""
    if not sequence.value:
        return sequence.start_mark.column, 1
    last = sequence.value[-1]
    text = document.text
    start = line_start(text, last.start_mark.index)
    dash = text.rfind("-", start, last.start_mark.index)
    if dash < 0:
        return sequence.start_mark.column, 1
    return dash - start, max(1, last.start_mark.index - dash - 1)


def append_to_sequence(document: ComposeDocument, sequence: SequenceNode, values: list[Any], style: Style, quote: str) -> list[Edit]:
    """Edits that add `values` at the end of an existing sequence (block or flow)."""
    text = document.text
    nl = document.newline
    if sequence.flow_style:
        close = sequence.end_mark.index - 1
        if close < 0 or text[close] != "]":
            raise Refusal("cannot find the end of the flow sequence")
        rendered = ", ".join(render_flow(v, style, quote) for v in values)
        if not sequence.value:
            return [Edit(sequence.start_mark.index + 1, close, rendered)]
        last = sequence.value[-1]
        return [Edit(last.end_mark.index, last.end_mark.index, ", " + rendered)]
    dash_col, gap = items_dash_column(document, sequence)
    local = Style(**{**style.__dict__, "gap": gap})
    lines: list[str] = []
    for value in values:
        lines.extend(render_item(value, dash_col, local, quote))
    at = content_end(document, sequence)
    return [Edit(at, at, "".join(nl + line for line in lines))]


def add_key_to_mapping(document: ComposeDocument, mapping: MappingNode, key: str, value: Any, style: Style, quote: str = "", *, after: Node | None = None) -> list[Edit]:
    """Edits that add `key: value` to an existing mapping (block: after its last line or after `after`)."""
    return add_pairs(document, mapping, {key: value}, style, quote, after=after)


def add_pairs(document: ComposeDocument, mapping: MappingNode, pairs: dict[str, Any], style: Style, quote: str = "", *, after: Node | None = None) -> list[Edit]:
    """Edits that add several `key: value` pairs to a mapping, in order, as one insertion."""
    text = document.text
    nl = document.newline
    if mapping.flow_style:
        close = mapping.end_mark.index - 1
        if close < 0 or text[close] != "}":
            raise Refusal("cannot find the end of the flow mapping")
        rendered = ", ".join(f"{render_key(k, style)}: {render_flow(v, style, quote)}" for k, v in pairs.items())
        if not mapping.value:
            return [Edit(mapping.start_mark.index + 1, close, rendered)]
        last_key, last_value = mapping.value[-1]
        at = last_value.end_mark.index
        if is_null(last_value) and last_value.start_mark.index <= last_key.end_mark.index:
            at = last_key.end_mark.index
        return [Edit(at, at, ", " + rendered)]
    if not mapping.value:
        raise Refusal("the mapping is empty")
    column = mapping.value[0][0].start_mark.column
    lines: list[str] = []
    for key, value in pairs.items():
        k = render_scalar(key)
        if isinstance(value, dict) and value:
            lines += [" " * column + f"{k}:"] + render_mapping(value, column + style.indent, style, quote)
        elif isinstance(value, list) and value:
            lines.append(" " * column + f"{k}:")
            for element in value:
                lines.extend(render_item(element, column + style.seq_offset, style, quote))
        elif value is None:
            lines.append(" " * column + f"{k}:")
        else:
            lines.append(" " * column + f"{k}: {render_flow(value, style, quote)}")
    at = content_end(document, after) if after is not None else content_end(document, mapping)
    return [Edit(at, at, "".join(nl + line for line in lines))]


def fill_empty_value(document: ComposeDocument, key_node: Node, value_node: Node, value: Any, style: Style, quote: str = "") -> list[Edit]:
    """Edits that give `key:` (empty, `~` or `null`) a block value."""
    text = document.text
    nl = document.newline
    column = key_node.start_mark.column
    edits: list[Edit] = []
    if value_node.end_mark.index > value_node.start_mark.index and value_node.start_mark.line == key_node.start_mark.line:
        edits.append(Edit(value_node.start_mark.index, value_node.end_mark.index, ""))
        if value_node.start_mark.index > 0 and text[value_node.start_mark.index - 1] == " ":
            edits[-1] = Edit(value_node.start_mark.index - 1, value_node.end_mark.index, "")
    if isinstance(value, dict):
        lines = render_mapping(value, column + style.indent, style, quote)
    elif isinstance(value, list):
        lines = []
        for element in value:
            lines.extend(render_item(element, column + style.seq_offset, style, quote))
    else:
        raise Refusal("nothing to write")
    at = line_end(text, key_node.end_mark.index)
    edits.append(Edit(at, at, "".join(nl + line for line in lines)))
    return edits


def replace_scalar(node: ScalarNode, value: str, flow: bool = False) -> Edit:
    """Replace one scalar keeping its quoting style (plain stays plain when it can)."""
    quote = node.style if node.style in ('"', "'") else ""
    return Edit(node.start_mark.index, node.end_mark.index, render_scalar(value, quote, flow=flow))


def alias_token(document: ComposeDocument, key_node: Node) -> tuple[int, int] | None:
    """The range of `*name` written as the value of `key_node`, if its value is an alias."""
    text = document.text
    match = re.compile(r"[ \t]*:[ \t]*(\*[^\s,\]\}#]+)").match(text, key_node.end_mark.index)
    if match is None:
        return None
    return match.start(1), match.end(1)

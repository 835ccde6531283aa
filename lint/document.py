"""One compose file: its exact text, its YAML nodes with positions, and plain data.

The file is parsed ONCE with ruamel's composer (YAML 1.2): the C composer from
`ruamel.yaml.clib` when it is installed, else the pure-Python one; both give the
same nodes and marks (see `_compose`, tested by tests/test_parser_equivalence.py). The node
graph carries start/end marks for every key, value and list item, which is what
findings and text edits need. The plain data (dicts, lists, scalars) is built
from the same nodes here, so merge keys, duplicate keys and alias expansion are
under our control: duplicates become HF003 findings instead of exceptions, and an
alias bomb is refused by measuring the expanded size before building anything.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, Iterator

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_EXPANDED_NODES = 500_000
# No compose file needs more than a dozen levels; past this the file is refused before any
# recursive code (the builder, rules) sees it.
MAX_DEPTH = 100
# The C composer recurses on the C stack; above this bound on the nesting a file could
# have, the pure composer is used (it stops at Python's recursion limit instead of crashing).
_C_SAFE_NESTING = 5000
# TAB: the scanners disagree on where it is allowed; NEL, LS, PS: line breaks only for
# libyaml; a BOM inside the text: libyaml counts it as a column.
_C_UNSAFE_CHARACTERS = ("\t", "\x85", "\u2028", "\u2029", "\ufeff")
_ANCHOR = re.compile(r"(?:![^ \t\r\n]*[ \t]+)?&([^ \t\r\n,\[\]{}]+)")
_LINE_PREFIX = re.compile(r"^[ \-?]*", re.MULTILINE)

_TAG = "tag:yaml.org,2002:"
_CONFLICT_MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)
_MERGE_TAG = _TAG + "merge"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Span:
    """1-based line/column range plus character offsets into the document text."""

    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int


@dataclass(frozen=True)
class LoadProblem:
    """A problem found while reading the file (HF001 syntax, HF002 shape, HF003 duplicates)."""

    code: str
    message: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None
    yaml_path: tuple[Any, ...] = ()


class ComposeDocument:
    """A compose file as text, nodes and plain data.

    `data` is None when the file could not be parsed; `problems` then says why.
    """

    def __init__(self, path: str, text: str, *, has_bom: bool = False, real_path: str | None = None):
        self.path = path  # as displayed in findings (as given on the command line)
        self.real_path = os.path.abspath(real_path or path) if real_path or path != "-" else None
        self.text = text
        self.has_bom = has_bom
        self.newline = "\r\n" if "\r\n" in text[:65536] else "\n"
        self.root: Node | None = None
        self.data: Any = None
        self.problems: list[LoadProblem] = []
        self._line_starts: list[int] | None = None
        self._lines: list[str] | None = None
        self._key_index: dict[int, dict[str, tuple[Node, Node]]] = {}
        self._parse()

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_path(cls, path: str, display: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> "ComposeDocument":
        """Read a regular file, bounded; a missing or unreadable path raises `DocumentError` (exit 2).

        What is not a regular file (a FIFO or device found by a folder walk) or is larger
        than `max_bytes` becomes an HF001 finding without being read: a FIFO must not
        hang the run and a link to /dev/zero must not fill memory.
        """
        from holdfast.fileio import UnreadableFile, read_regular_file

        shown = display or path
        try:
            raw = read_regular_file(path, max_bytes)
        except UnreadableFile as exc:
            if exc.errno is not None:  # an OS error: missing, permission denied, ...
                raise DocumentError(f"{shown}: {exc.strerror or exc}") from None
            doc = cls.__new__(cls)
            doc._init_empty(shown, path)
            message = str(exc)
            if "larger than" in message:
                try:
                    return cls._too_large(shown, path, os.stat(path).st_size, max_bytes)
                except OSError:
                    pass
            doc.problems.append(LoadProblem("HF001", f"{message}; not read", 1, 1))
            return doc
        return cls.from_bytes(raw, shown, real_path=path)

    @classmethod
    def from_bytes(cls, raw: bytes, path: str, real_path: str | None = None, max_bytes: int | None = None) -> "ComposeDocument":
        if max_bytes is not None and len(raw) > max_bytes:
            return cls._too_large(path, real_path, len(raw), max_bytes)
        has_bom = raw.startswith(b"\xef\xbb\xbf")
        if has_bom:
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            doc = cls.__new__(cls)
            doc._init_empty(path, real_path)
            doc.text = raw.decode("utf-8", errors="replace")
            doc.has_bom = has_bom
            # the bytes before the first bad one decode cleanly: count lines and columns in them
            # the way marks do (LF, CRLF and lone CR; characters, not bytes)
            line, column = doc.position(len(raw[: exc.start].decode("utf-8")))
            doc.problems.append(LoadProblem("HF001", f"invalid UTF-8 byte 0x{raw[exc.start]:02x}; compose files must be UTF-8", line, column))
            return doc
        return cls(path, text, has_bom=has_bom, real_path=real_path)

    @classmethod
    def _too_large(cls, path: str, real_path: str | None, size: int, max_bytes: int) -> "ComposeDocument":
        doc = cls.__new__(cls)
        doc._init_empty(path, real_path)
        doc.problems.append(LoadProblem("HF001", f"file is {_size(size)}, larger than the {_size(max_bytes)} limit (max-file-size); not parsed", 1, 1))
        return doc

    def _init_empty(self, path: str, real_path: str | None) -> None:
        self.path = path
        self.real_path = os.path.abspath(real_path) if real_path else None
        self.text = ""
        self.has_bom = False
        self.newline = "\n"
        self.root = None
        self.data = None
        self.problems = []
        self._line_starts = None
        self._lines = None
        self._key_index = {}

    def _parse(self) -> None:
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        text = self.text
        if text.startswith("\ufeff"):  # a BOM that survived decoding elsewhere
            text = text[1:]
            self.text = text
            self.has_bom = True
        stats: dict[str, Any] = {}
        try:
            self.root = _compose(text, stats=stats)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            if exc.context_mark is not None and "end of stream" in (exc.problem or ""):
                mark = exc.context_mark  # an unclosed quote or bracket: point where it opens
            line = (mark.line + 1) if mark is not None else 1
            column = (mark.column + 1) if mark is not None else 1
            problem = exc.problem or exc.context or "invalid YAML"
            conflict = _CONFLICT_MARKER.search(text)
            if conflict is not None:
                line = text.count("\n", 0, conflict.start()) + 1
                self.problems.append(LoadProblem("HF001", "unresolved git merge conflict marker (`<<<<<<<`); resolve the conflict first", line, 1))
                return
            if "\t" in problem or "'\\t'" in problem:
                problem = "a TAB character where YAML allows only spaces"
            elif exc.context and exc.problem and "single document" in exc.context:
                problem = "more than one YAML document; a compose file is a single document"
            self.problems.append(LoadProblem("HF001", f"YAML syntax error: {problem}", line, column))
            return
        except YAMLError as exc:  # pragma: no cover - defensive: unmarked YAML errors
            self.problems.append(LoadProblem("HF001", f"YAML syntax error: {_one_line(str(exc))}", 1, 1))
            return
        except (RecursionError, _TooDeep):
            self.problems.append(LoadProblem("HF001", f"YAML nesting is deeper than {MAX_DEPTH} levels; not evaluated", 1, 1))
            return
        if self.root is None:
            self.problems.append(LoadProblem("HF002", "the file is empty; a compose file is a mapping with a `services` key", 1, 1))
            return
        # Without aliases the tree is its own expansion: _normalise counted it and bounded its depth.
        size = _expanded_size(self.root, MAX_EXPANDED_NODES) if stats.get("shared", True) else stats["nodes"]
        if size < 0 or size > MAX_EXPANDED_NODES:
            why = "an alias refers to itself" if size < 0 else f"aliases expand to more than {MAX_EXPANDED_NODES} nodes (an alias bomb?)"
            self.problems.append(LoadProblem("HF001", f"{why}; not evaluated", 1, 1))
            self.root = None
            return
        if stats.get("shared", True) and _expanded_depth(self.root) > MAX_DEPTH:  # aliases inside aliases nest without indentation
            self.problems.append(LoadProblem("HF001", f"YAML nesting is deeper than {MAX_DEPTH} levels; not evaluated", 1, 1))
            self.root = None
            return
        builder = _Builder(self)
        self.data = builder.build(self.root)
        if not isinstance(self.data, dict):
            span = self.span(self.root)
            kind = type(self.data).__name__ if self.data is not None else "null"
            self.problems.append(LoadProblem("HF002", f"the top level is a {_kind_name(kind)}, not a mapping", span.line, span.column))

    # ---------------------------------------------------------------- positions
    @property
    def line_starts(self) -> list[int]:
        if self._line_starts is None:
            # the line breaks YAML 1.2 (and so every mark) counts: LF, CRLF and a lone CR
            starts = [0]
            starts.extend(m.end() for m in _LINE_BREAK.finditer(self.text))
            self._line_starts = starts
        return self._line_starts

    def offset(self, line: int, column: int) -> int:
        """Character offset of a 1-based line and column."""
        starts = self.line_starts
        line = max(1, min(line, len(starts)))
        return starts[line - 1] + column - 1

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        import bisect

        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index] + 1

    def lines(self) -> list[str]:
        """The text's lines without their line breaks, numbered as marks number them.

        (`str.splitlines` would also split at form feeds, NEL and others, shifting every
        line after them.) Computed once per document: treat the list as read-only.
        """
        if self._lines is None:
            starts = self.line_starts
            text = self.text
            out = [text[a:b].rstrip("\r\n") for a, b in zip(starts, starts[1:])]
            if starts[-1] < len(text):
                out.append(text[starts[-1]:])
            self._lines = out
        return self._lines

    def line_text(self, line: int) -> str:
        starts = self.line_starts
        if not 1 <= line <= len(starts):
            return ""
        end = starts[line] if line < len(starts) else len(self.text)
        return self.text[starts[line - 1] : end].rstrip("\r\n")

    def span(self, node: Node) -> Span:
        """The exact range of a node; for block collections the end is trimmed to real content."""
        start, end = node.start_mark, node.end_mark
        end_index = end.index
        if isinstance(node, (MappingNode, SequenceNode)) and node.flow_style is not True:
            end_index = _content_end(self.text, start.index, end_index)
        end_line, end_column = self.position(end_index)
        return Span(start.line + 1, start.column + 1, end_line, end_column, start.index, end_index)

    # ------------------------------------------------------------------- lookup
    def pair(self, *yaml_path: Any) -> tuple[Node | None, Node | None]:
        """The (key node, value node) at a YAML path, following merge keys.

        Integers index sequences. A key found only through `<<: *anchor` is
        returned where the anchor defines it, which is where a fix must go.
        """
        node: Node | None = self.root
        key_node: Node | None = None
        for step in yaml_path:
            if node is None:
                return None, None
            if isinstance(step, int) and isinstance(node, SequenceNode):
                if not -len(node.value) <= step < len(node.value):
                    return None, None
                key_node, node = None, node.value[step]
            elif isinstance(node, MappingNode):
                found = self._find_key(node, step)
                if found is None:
                    return None, None
                key_node, node = found
            else:
                return None, None
        return key_node, node

    def _find_key(self, mapping: MappingNode, key: Any) -> tuple[Node, Node] | None:
        """`find_key` with an index per large mapping (a rule asks once per service: linear, not quadratic)."""
        if not isinstance(key, str) or len(mapping.value) < 16:
            return find_key(mapping, key)
        index = self._key_index.get(id(mapping))
        if index is None:
            index = {}
            for key_node, value_node in mapping.value:
                if isinstance(key_node, ScalarNode) and key_node.tag != _MERGE_TAG:
                    index.setdefault(key_node.value, (key_node, value_node))
            self._key_index[id(mapping)] = index
        found = index.get(key)
        if found is not None or not any(k.tag == _MERGE_TAG for k, _ in mapping.value):
            return found
        return find_key(mapping, key)

    def node(self, *yaml_path: Any) -> Node | None:
        return self.pair(*yaml_path)[1]

    def locate(self, *yaml_path: Any) -> Span:
        """Best span for a YAML path: its key, else its value, else the nearest parent that exists."""
        path = list(yaml_path)
        while path:
            key_node, value_node = self.pair(*path)
            if key_node is not None:
                return self.span(key_node)
            if value_node is not None:
                return self.span(value_node)
            path.pop()
        if self.root is not None:
            return self.span(self.root)
        return Span(1, 1, 1, 1, 0, 0)


class DocumentError(Exception):
    """The file cannot be read at all (missing, unreadable): a usage error, not a finding."""


def find_key(mapping: MappingNode, key: Any) -> tuple[Node, Node] | None:
    """Find a key in a mapping node, explicit keys first, then merge sources in order."""
    merges: list[Node] = []
    for key_node, value_node in mapping.value:
        if key_node.tag == _MERGE_TAG:
            merges.append(value_node)
        elif isinstance(key_node, ScalarNode) and _scalar_equals(key_node, key):
            return key_node, value_node
    for source in merges:
        for candidate in source.value if isinstance(source, SequenceNode) else [source]:
            if isinstance(candidate, MappingNode):
                found = find_key(candidate, key)
                if found is not None:
                    return found
    return None


def iter_pairs(mapping: MappingNode) -> Iterator[tuple[Node, Node]]:
    """The explicit (non-merge) key/value pairs of a mapping node."""
    for key_node, value_node in mapping.value:
        if key_node.tag != _MERGE_TAG:
            yield key_node, value_node


def _scalar_equals(node: ScalarNode, key: Any) -> bool:
    if isinstance(key, str):
        return node.value == key
    return _scalar(node) == key


class _TooDeep(Exception):
    """The node tree nests deeper than MAX_DEPTH."""


_C_COMPOSER: Any = None  # None: not looked up yet; False: not installed


def _c_composer_available() -> bool:
    global _C_COMPOSER
    if _C_COMPOSER is None:
        try:
            import _ruamel_yaml  # noqa: F401  (ruamel.yaml.clib)
        except ImportError:
            _C_COMPOSER = False
        else:
            _C_COMPOSER = os.environ.get("HOLDFAST_PURE_YAML") != "1"
    return bool(_C_COMPOSER)


def _compose(text: str, pure: bool | None = None, stats: dict[str, Any] | None = None) -> Node | None:
    """Compose `text` into a node tree with marks; None for an empty document.

    The C composer (libyaml in ruamel.yaml.clib) is used when installed and safe for
    this text; its tree is normalised to be identical to the pure composer's:
    plain scalars have style None (C gives ""), and a block collection ending at
    the end of a file without a final line break ends on the last line (C counts
    one line further), and anchors get their names back (C drops them). Where the two could disagree the pure composer decides:
    any syntax error (messages and marks differ), TAB characters, a BOM inside the
    text, the line breaks only YAML 1.1 knows (NEL, LS, PS), and nesting deep enough to exhaust the C stack.
    `pure` forces one composer (tests); HOLDFAST_PURE_YAML=1 forces pure.
    `stats`, when given, receives `shared` (some node is reached twice: aliases) and
    `nodes` (the number of distinct nodes).
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if pure is None:
        pure = not _c_composer_available() or not _c_safe(text)
    if not pure:
        try:
            root = _c_compose(text)
        except YAMLError:
            root = _pure_compose(text)  # the pure parser's message and mark
            pure = True
    else:
        root = _pure_compose(text)
    if root is not None:
        shared, count = _normalise(root, text, from_c=not pure)
        if stats is not None:
            stats.update(shared=shared, nodes=count)
    return root


def _pure_compose(text: str) -> Node | None:
    """ruamel's pure composer, without its ReusedAnchorWarning: YAML lets an anchor name be
    used again (an alias means the latest one, as Compose reads it), and the warning went to
    the user's terminal as a Python traceback-like block."""
    import warnings

    from ruamel.yaml import YAML
    from ruamel.yaml.error import ReusedAnchorWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReusedAnchorWarning)
        return YAML(typ="safe", pure=True).compose(text)


_MEMO_RESOLVER: Any = None
_C_LOADER: Any = None


def _c_compose(text: str) -> Node | None:
    """libyaml's composer, set up as `YAML(typ="safe", pure=False).compose` sets it up.

    One loader class for the process instead of a YAML object and a new class per
    document (creating a YAML object also searches the disk for ruamel plug-ins).
    """
    global _C_LOADER
    if _C_LOADER is None:
        from _ruamel_yaml import CParser
        from ruamel.yaml.constructor import SafeConstructor

        resolver = _memo_resolver()

        class CLoader(CParser, SafeConstructor, resolver):  # type: ignore[misc, valid-type]
            def __init__(self, stream: str) -> None:
                CParser.__init__(self, stream)
                self._parser = self._composer = self
                SafeConstructor.__init__(self, loader=self)
                self.allow_duplicate_keys = False
                resolver.__init__(self, version=None, loadumper=self)

        _C_LOADER = CLoader
    loader = _C_LOADER(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _memo_resolver() -> Any:
    """ruamel's resolver, remembering its answer per (kind, value, implicit) for the process.

    libyaml's composer asks the Python resolver for the tag of every node, and each
    question re-derives the YAML version through several failing attribute lookups
    (and each new loader rebuilds its resolver tables). Under the C composer the
    version is always the loader's default (no `%YAML` directive reaches the
    resolver), so the answer depends on nothing else; Tag objects are not mutated.
    """
    global _MEMO_RESOLVER
    if _MEMO_RESOLVER is None:
        from ruamel.yaml.resolver import VersionedResolver

        memo: dict[Any, Any] = {}

        class MemoResolver(VersionedResolver):
            def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
                key = (kind, value, implicit)
                tag = memo.get(key)
                if tag is None:
                    if len(memo) >= 65536:
                        memo.clear()
                    tag = memo[key] = super().resolve(kind, value, implicit)
                return tag

        _MEMO_RESOLVER = MemoResolver
    return _MEMO_RESOLVER


def _c_safe(text: str) -> bool:
    if any(c in text for c in _C_UNSAFE_CHARACTERS):
        return False
    # Block nesting needs indentation or `- `/`? ` indicators at the start of a line;
    # flow nesting needs brackets: together an upper bound on the depth.
    prefix = max((m.end() - m.start() for m in _LINE_PREFIX.finditer(text)), default=0)
    return 2 * prefix + text.count("[") + text.count("{") + 2 < _C_SAFE_NESTING


def _normalise(root: Node, text: str, from_c: bool) -> tuple[bool, int]:
    """Check the depth (iteratively) and, for the C composer's tree, align it with the pure one's.

    Returns whether some node is reached twice (an alias) and the number of distinct nodes.
    """
    at_end = len(text)
    fix_end = from_c and not text.endswith(("\n", "\r"))
    breaks: list[int] = []  # line start offsets, filled on first use
    anchored: dict[int, Node] = {}
    seen: set[int] = set()
    stack: list[tuple[Node, int]] = [(root, 1)]
    shared = False
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            shared = True
            continue
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise _TooDeep()
        if from_c and text[node.start_mark.index : node.start_mark.index + 1] in ("&", "!"):
            found = _ANCHOR.match(text, node.start_mark.index)  # libyaml's composer drops anchor names
            if found is not None:  # the innermost node starting there owns it (`&a key: v`: the key)
                outer = anchored.get(node.start_mark.index)
                if outer is not None:
                    outer.anchor = None
                node.anchor = found.group(1)
                anchored[node.start_mark.index] = node
        if isinstance(node, ScalarNode):
            if from_c and node.style == "":
                node.style = None
                if node.value == "" and node.start_mark.index == node.end_mark.index:
                    # an empty value (`key:`): the pure composer places it at the next token
                    mark = _mark_at(text, _next_token(text, node.start_mark.index), node.start_mark.name, breaks)
                    node.start_mark = node.end_mark = mark
            continue
        if fix_end and node.end_mark.index == at_end:
            node.end_mark = _mark_at(text, at_end, node.end_mark.name, breaks)
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                stack.append((key_node, depth + 1))
                stack.append((value_node, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in node.value)
    return shared, len(seen)


_SKIP = re.compile(r"(?:[ \r\n\ufeff]+|#[^\r\n]*)*")


def _next_token(text: str, index: int) -> int:
    """Where the scanner's next token starts: past spaces, line breaks and comments."""
    return _SKIP.match(text, index).end()


def _mark_at(text: str, index: int, name: Any, breaks: list[int]) -> Any:
    """A pure-style mark for a character offset (line breaks: LF, CRLF, lone CR)."""
    import bisect

    from ruamel.yaml.error import StringMark

    if not breaks:
        breaks.append(0)
        breaks.extend(m.end() for m in _LINE_BREAK.finditer(text))
    line = bisect.bisect_right(breaks, index) - 1
    return StringMark(name, index, line, index - breaks[line], text, index)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _size(count: int) -> str:
    return f"{count / 1048576:.1f} MiB" if count >= 1048576 else f"{count} bytes"


def _kind_name(kind: str) -> str:
    return {"list": "list", "str": "string", "int": "number", "float": "number", "bool": "boolean"}.get(kind, kind)


def _content_end(text: str, start: int, end: int) -> int:
    """Trim the trailing blank lines and comment lines that the parser counts into a block node."""
    end = min(end, len(text))
    while True:
        while end > start and text[end - 1] in " \t\r\n":
            end -= 1
        line_start = max(text.rfind("\n", start, end) + 1, start)
        if line_start > start and text[line_start:end].lstrip().startswith("#"):
            end = line_start
            continue
        return end


def _expanded_depth(root: Node) -> int:
    """Nesting depth after expanding aliases (over the DAG, iteratively; cycles were refused before)."""
    heights: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if isinstance(node, ScalarNode):
            heights[id(node)] = 1
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, MappingNode) else node.value
        if done:
            heights[id(node)] = 1 + max((heights.get(id(c), 1) for c in children), default=0)
        elif id(node) not in heights:
            heights[id(node)] = 0
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in heights)
    return heights.get(id(root), 1)


def _expanded_size(root: Node, limit: int) -> int:
    """Number of nodes after expanding aliases, computed over the DAG without expanding it.

    Returns -1 when an alias refers to a node that contains it (infinite expansion).
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes and not done:
            continue
        if isinstance(node, ScalarNode):
            sizes[key] = 1
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, MappingNode) else list(node.value)
        if done:
            total = 1
            for child in children:
                child_size = sizes.get(id(child), 1)
                if child_size < 0:
                    return -1
                total += child_size
                if total > limit:
                    return total
            sizes[key] = total
        else:
            sizes[key] = -1  # in progress: meeting it again as a child means a cycle
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes.get(id(root), 1)


_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")


def _scalar(node: ScalarNode) -> Any:
    """Convert a scalar by its resolved YAML 1.2 tag (what Compose's Go parser does)."""
    tag, value = node.tag, node.value
    if tag == _TAG + "str" or node.style is not None:
        return value
    if tag == _TAG + "null":
        return None
    if tag == _TAG + "bool":
        return value.lower() in ("true", "yes", "on", "y")
    if tag == _TAG + "int":
        text = value.replace("_", "")
        try:
            if text.lower().startswith(("0x", "-0x", "+0x")):
                return int(text, 16)
            if text.lower().startswith(("0o", "-0o", "+0o")):
                return int(text, 8)
            if text.lower().startswith(("0b", "-0b", "+0b")):
                return int(text, 2)
            return int(text, 10)
        except ValueError:
            return value
    if tag == _TAG + "float":
        lowered = value.lower()
        if lowered in (".inf", "+.inf"):
            return math.inf
        if lowered == "-.inf":
            return -math.inf
        if lowered == ".nan":
            return math.nan
        try:
            return float(value.replace("_", ""))
        except ValueError:
            return value
    return value  # timestamps, binary and custom tags stay text


class _Builder:
    """Builds plain data from nodes, resolving merge keys and reporting duplicate keys."""

    def __init__(self, document: ComposeDocument):
        self.document = document
        self.memo: dict[int, Any] = {}

    def build(self, node: Node, path: tuple[Any, ...] = ()) -> Any:
        key = id(node)
        if key in self.memo:  # an alias: share the value (size was bounded beforehand)
            return self.memo[key]
        if isinstance(node, ScalarNode):
            value = _scalar(node)
        elif isinstance(node, SequenceNode):
            value = []
            self.memo[key] = value
            value.extend(self.build(item, path + (i,)) for i, item in enumerate(node.value))
        else:
            value = {}
            self.memo[key] = value
            self._fill_mapping(node, value, path)
        self.memo[key] = value
        return value

    def _fill_mapping(self, node: MappingNode, out: dict[Any, Any], path: tuple[Any, ...]) -> None:
        merged: dict[Any, Any] = {}
        seen: dict[Any, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    built = self.build(source, path)
                    if not isinstance(built, dict):
                        span = self.document.span(source)
                        self.document.problems.append(
                            LoadProblem("HF001", "a merge key `<<` must refer to a mapping", span.line, span.column, yaml_path=path)
                        )
                        continue
                    for k, v in built.items():
                        merged.setdefault(k, v)  # earlier sources win, as in YAML's merge spec
                continue
            key = self.build(key_node, path) if not isinstance(key_node, ScalarNode) else _scalar(key_node)
            if isinstance(key, (dict, list)):
                span = self.document.span(key_node)
                self.document.problems.append(LoadProblem("HF001", "a mapping key must be a scalar", span.line, span.column, yaml_path=path))
                continue
            if key in seen:
                first = seen[key]
                span = self.document.span(key_node)
                self.document.problems.append(
                    LoadProblem(
                        "HF003",
                        f"duplicate key `{key}` (first defined on line {first.start_mark.line + 1}); Compose rejects the file",
                        span.line,
                        span.column,
                        span.end_line,
                        span.end_column,
                        yaml_path=path + (key,),
                    )
                )
            seen[key] = key_node
            out[key] = self.build(value_node, path + (key,))
        for k, v in merged.items():
            out.setdefault(k, v)

"""The C composer (ruamel.yaml.clib) and the pure one give the same nodes, marks and findings.

holdfast parses with the C composer when it is installed (about 8x faster) and falls
back to the pure one; a user must never see a different finding depending on which
one their installation has. Checked on every file of the public corpus and on fuzzed
mutations of them.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("_ruamel_yaml", reason="ruamel.yaml.clib (the C composer) is not installed here")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode  # noqa: E402

import holdfast.document as document_module  # noqa: E402
from holdfast.document import ComposeDocument, _compose  # noqa: E402
from test_fuzz import SEEDS, _corpus_dir, mutated  # noqa: E402


def tree(root) -> list[tuple]:
    """Every node in document order: kind, tag, style, value, anchor and both marks (line, column, index)."""
    out: list[tuple] = []
    ids: dict[int, int] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in ids:
            out.append(("alias", ids[id(node)]))
            continue
        ids[id(node)] = len(ids)
        s, e = node.start_mark, node.end_mark
        out.append((
            type(node).__name__, node.tag, getattr(node, "style", None), node.value if isinstance(node, ScalarNode) else None,
            None if isinstance(node, ScalarNode) else node.flow_style, node.anchor,
            s.line, s.column, s.index, e.line, e.column, e.index,
        ))
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack.extend((value, key))
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))
    return out


def composed(text: str, pure: bool):
    """The tree as holdfast composes it: pure=False means "C where holdfast would use it"."""
    document_module._C_COMPOSER = not pure
    try:
        return tree(_compose(text)) if text.strip() else []
    except Exception as exc:  # noqa: BLE001 - the same error is part of "the same"
        return (type(exc).__name__, getattr(exc, "problem_mark", None) and (exc.problem_mark.line, exc.problem_mark.column), getattr(exc, "problem", None))


def findings(raw: bytes, pure: bool, monkeypatch) -> list[tuple]:
    from holdfast.config import Config
    from holdfast.engine import Linter

    monkeypatch.setattr(document_module, "_C_COMPOSER", not pure)
    document = ComposeDocument.from_bytes(raw, "compose.yaml", real_path="/nonexistent-hf/compose.yaml")
    result = Linter(Config()).lint_documents([document], {"compose.yaml"}, project_dir="/nonexistent-hf")
    return [(f.code, f.line, f.column, f.end_line, f.end_column, f.message, f.fix is not None) for f in result.findings]


def assert_same(raw: bytes, monkeypatch) -> None:
    text = raw.decode("utf-8", "replace").lstrip("\ufeff")
    monkeypatch.setattr(document_module, "_C_COMPOSER", None)
    assert composed(text, pure=False) == composed(text, pure=True)
    assert findings(raw, False, monkeypatch) == findings(raw, True, monkeypatch)


def test_c_composer_is_used_by_default(monkeypatch):
    monkeypatch.setattr(document_module, "_C_COMPOSER", None)
    monkeypatch.delenv("HOLDFAST_PURE_YAML", raising=False)
    assert document_module._c_composer_available()


@pytest.mark.parametrize("text", [
    "a: 1", "a:\n  b: 1", "- a\n- b", "a: |\n  x\n  y\nb: 2", "a: 1\rb: 2\r", "a: 1\r\nb:\r\n  - x\r\n", "é: ü 😀\nb: [1,\n 2]",
    "a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n", "a: '1\n  2'\nb: \"x\"", "a: x\x85y\n", "a: x\u2028b", "a: 1\tb\n", "a: [b\n",
    "a: 1\n---\nb: 2\n", "a: !!str 5\nb: ~\n", "# only a comment\n", "",
])
def test_small_cases_are_identical(text, monkeypatch):
    assert_same(text.encode("utf-8"), monkeypatch)


def test_deep_nesting_is_refused_the_same_way_without_crashing():
    """libyaml recurses on the C stack: a file nested 100,000 deep must not crash the process."""
    for text in ("a: " + "[" * 100_000 + "]" * 100_000, "".join(" " * i + "- \n" for i in range(0, 20_000, 2)), "a: " + "[" * 150 + "]" * 150):
        document = ComposeDocument("compose.yaml", text)
        assert [p.code for p in document.problems] == ["HF001"]
        assert "nesting" in document.problems[0].message


@pytest.mark.skipif(not SEEDS, reason=f"the public corpus {_corpus_dir()} is absent (set HOLDFAST_CORPUS)")
def test_whole_corpus_is_identical(monkeypatch):
    assert len(SEEDS) > 50
    for path in SEEDS:
        raw = path.read_bytes()
        try:
            assert_same(raw, monkeypatch)
        except AssertionError as exc:
            raise AssertionError(f"{path.name}: {exc}") from None


@pytest.mark.skipif(not SEEDS, reason=f"the public corpus {_corpus_dir()} is absent (set HOLDFAST_CORPUS)")
@settings(max_examples=int(os.environ.get("HOLDFAST_FUZZ_EXAMPLES", "60")), derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_fuzzed_inputs_are_identical(raw):
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert_same(raw, monkeypatch)

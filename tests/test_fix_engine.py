"""The fix engine on its own: edits, overlap, verification, loops, broken fixers, writing."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from holdfast.config import Config
from holdfast.document import ComposeDocument
from holdfast.engine import Linter
from holdfast.fixing import (
    MAX_PASSES,
    FileChange,
    FixSession,
    MountIntent,
    OverlapError,
    apply_edits,
    check_edits,
    verify_change,
)
from holdfast.hookspecs import hookimpl
from holdfast.model import Applicability, Edit, Finding, Fix, Fixer, Rule, Severity
from holdfast.plugins import load_plugins


# --------------------------------------------------------------------------- edits
def test_apply_edits_uses_original_offsets() -> None:
    text = "abcdef"
    assert apply_edits(text, [Edit(4, 5, "E"), Edit(0, 1, "A"), Edit(3, 3, "+")]) == "Abc+dEf"


def test_overlapping_edits_are_rejected() -> None:
    with pytest.raises(OverlapError):
        check_edits([Edit(0, 3, "x"), Edit(2, 4, "y")], 10)
    with pytest.raises(OverlapError):
        check_edits([Edit(5, 12, "x")], 10)
    # touching ranges and inserts at one point (in order) are fine
    assert [e.text for e in check_edits([Edit(3, 3, "b"), Edit(0, 3, "a"), Edit(3, 3, "c")], 10)] == ["a", "b", "c"]


def test_verify_change_accepts_only_the_declared_mounts() -> None:
    before = ComposeDocument("c.yml", "services:\n  db:\n    image: postgres:16\n    ports: ['5432']\n")
    good = ComposeDocument("c.yml", "services:\n  db:\n    image: postgres:16\n    ports: ['5432']\n    volumes:\n      - ./d:/var/lib/postgresql/data\n")
    intent = MountIntent("db", frozenset({"/var/lib/postgresql/data"}))
    assert verify_change(before, good, [intent]) is None
    sneaky = ComposeDocument("c.yml", "services:\n  db:\n    image: postgres:17\n    ports: ['5432']\n    volumes:\n      - ./d:/var/lib/postgresql/data\n")
    assert "more than it should" in (verify_change(before, sneaky, [intent]) or "")
    anonymous = ComposeDocument("c.yml", "services:\n  db:\n    image: postgres:16\n    ports: ['5432']\n    volumes:\n      - /var/lib/postgresql/data\n")
    assert "persistent" in (verify_change(before, anonymous, [intent]) or "")
    broken = ComposeDocument("c.yml", "services:\n  db:\n    image: [postgres:16\n")
    assert "break the file" in (verify_change(before, broken, [intent]) or "")
    assert verify_change(before, ComposeDocument("c.yml", before.text.replace("['5432']", '["5432"]')), []) is None


# --------------------------------------------------------------------------- a tiny plugin
class _QuoteRule(Rule):
    """HF901: the value of `a` is plain (test rule)."""

    code = "HF901"
    name = "test-plain"
    severity = Severity.ERROR
    scope = "document"

    def check(self, ctx: Any) -> Iterable[Finding]:
        for document in ctx.documents:
            node = document.node("a")
            if node is not None and getattr(node, "style", None) is None:
                yield ctx.finding(document, ("a",), "plain")


class _UnquoteRule(Rule):
    """HF902: the value of `a` is quoted (test rule, fights HF901)."""

    code = "HF902"
    name = "test-quoted"
    severity = Severity.ERROR
    scope = "document"

    def check(self, ctx: Any) -> Iterable[Finding]:
        for document in ctx.documents:
            node = document.node("a")
            if node is not None and getattr(node, "style", None) == "'":
                yield ctx.finding(document, ("a",), "quoted")


class _CountRule(Rule):
    """HF903: fewer than 1000 `#` comments (test rule whose finding changes every pass)."""

    code = "HF903"
    name = "test-count"
    severity = Severity.ERROR
    scope = "document"

    def check(self, ctx: Any) -> Iterable[Finding]:
        for document in ctx.documents:
            count = document.text.count("#")
            if count < 1000:
                yield ctx.finding(document, ("count", count), "few comments")


def _value_edit(document: ComposeDocument, text: str) -> Edit:
    node = document.node("a")
    assert node is not None
    return Edit(node.start_mark.index, node.end_mark.index, text)


class _Quote(Fixer):
    codes = ("HF901",)

    def edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix:
        node = document.node("a")
        return Fix("Quote it", Applicability.SAFE, (_value_edit(document, f"'{node.value}'"),))


class _Unquote(Fixer):
    codes = ("HF902",)

    def edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix:
        node = document.node("a")
        return Fix("Unquote it", Applicability.SAFE, (_value_edit(document, node.value),))


class _Breaks(Fixer):
    codes = ("HF901",)

    def edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix:
        return Fix("Break it", Applicability.SAFE, (_value_edit(document, "[unclosed"),))


class _ChangesData(Fixer):
    codes = ("HF901",)

    def edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix:
        return Fix("Change it", Applicability.SAFE, (_value_edit(document, "'other'"),))


class _Raises(Fixer):
    codes = ("HF901",)

    def edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix:
        raise RuntimeError("boom")


class _Noop(Fixer):
    codes = ("HF901",)

    def edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix:
        end = len(document.text)
        return Fix("Add a comment", Applicability.SAFE, (Edit(end, end, "# nothing\n"),))


class _Overlapping(Fixer):
    codes = ("HF901",)

    def edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix:
        node = document.node("a")
        s, e = node.start_mark.index, node.end_mark.index
        return Fix("Two edits on one place", Applicability.SAFE, (Edit(s, e, "'x'"), Edit(s, e, "'y'")))


class _Comment(Fixer):
    codes = ("HF903",)

    def edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix:
        end = len(document.text)
        return Fix("Add a comment", Applicability.SAFE, (Edit(end, end, "#\n"),))


class _Unsafe(Fixer):
    codes = ("HF901",)

    def edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix:
        node = document.node("a")
        return Fix("Quote it (unsafe)", Applicability.UNSAFE, (_value_edit(document, f"'{node.value}'"),))


def _session(text: str, rules: list[type], fixers: list[Fixer], *, unsafe: bool = False) -> FixSession:
    class Plugin:
        @staticmethod
        @hookimpl
        def holdfast_rules() -> list[type]:
            return rules

        @staticmethod
        @hookimpl
        def holdfast_fixers() -> list[Fixer]:
            return fixers

    plugins = load_plugins(extra=[Plugin])
    config = Config(select=tuple(r.code for r in rules))
    linter = Linter(config, plugins)
    linter._fixers = fixers  # only the test's fixers, not the built-in ones
    document = ComposeDocument("t.yml", text)
    return FixSession(linter, [document], {"t.yml"}, project_dir=os.getcwd(), unsafe=unsafe)


def _text(outcome: Any) -> str:
    return outcome.documents["t.yml"].text


def test_a_good_fix_is_applied_once() -> None:
    outcome = _session("a: x\nb: 1\n", [_QuoteRule], [_Quote()]).run()
    assert _text(outcome) == "a: 'x'\nb: 1\n"
    assert [a.finding.code for a in outcome.applied] == ["HF901"]
    assert outcome.remaining == []
    assert outcome.applied[0].summary == "t.yml: fixed HF901 (quoted it)"


def test_a_fix_that_breaks_the_file_is_dropped_with_a_message() -> None:
    outcome = _session("a: x\n", [_QuoteRule], [_Breaks()]).run()
    assert _text(outcome) == "a: x\n"
    assert outcome.applied == []
    [(finding, reason)] = outcome.refused
    assert finding.code == "HF901" and "break the file" in reason
    assert any("dropped the fix for HF901" in n for n in outcome.notices)
    assert [f.code for f in outcome.remaining] == ["HF901"]


def test_a_fix_that_changes_the_data_is_dropped() -> None:
    outcome = _session("a: x\n", [_QuoteRule], [_ChangesData()]).run()
    assert _text(outcome) == "a: x\n"
    assert "more than it should" in outcome.refused[0][1]


def test_a_fixer_that_raises_becomes_a_notice() -> None:
    outcome = _session("a: x\n", [_QuoteRule], [_Raises()]).run()
    assert _text(outcome) == "a: x\n"
    assert any("RuntimeError: boom" in n for n in outcome.notices)


def test_a_fix_that_leaves_the_finding_is_rolled_back() -> None:
    outcome = _session("a: x\n", [_QuoteRule], [_Noop()]).run()
    assert _text(outcome) == "a: x\n"
    assert "did not remove the finding" in outcome.refused[0][1]


def test_a_fix_with_overlapping_edits_is_rejected() -> None:
    outcome = _session("a: x\n", [_QuoteRule], [_Overlapping()]).run()
    assert _text(outcome) == "a: x\n"
    assert "overlap" in outcome.refused[0][1]


def test_fixes_that_undo_each_other_stop_on_loop_detection() -> None:
    outcome = _session("a: x\n", [_QuoteRule, _UnquoteRule], [_Quote(), _Unquote()]).run()
    assert any("undo each other" in n for n in outcome.notices)
    assert len(outcome.applied) < MAX_PASSES


def test_the_number_of_passes_is_bounded() -> None:
    outcome = _session("a: 1\n", [_CountRule], [_Comment()]).run()
    assert len(outcome.applied) == MAX_PASSES
    assert any(f"stopped after {MAX_PASSES} passes" in n for n in outcome.notices)


def test_unsafe_fixes_need_the_flag() -> None:
    outcome = _session("a: x\n", [_QuoteRule], [_Unsafe()]).run()
    assert _text(outcome) == "a: x\n" and [f.code for f in outcome.unsafe_skipped] == ["HF901"]
    outcome = _session("a: x\n", [_QuoteRule], [_Unsafe()], unsafe=True).run()
    assert _text(outcome) == "a: 'x'\n"


def test_overlapping_fixes_of_one_pass_wait_for_the_next() -> None:
    class TwoPlaces(Rule):
        """HF904: `a` and `b` are plain (test rule)."""

        code = "HF904"
        name = "test-two"
        severity = Severity.ERROR
        scope = "document"

        def check(self, ctx: Any) -> Iterable[Finding]:
            for document in ctx.documents:
                for key in ("a", "b"):
                    node = document.node(key)
                    if node is not None and node.style is None:
                        yield ctx.finding(document, (key,), "plain")

    class QuoteBoth(Fixer):
        """Each fix rewrites the whole text from `a` to the end: the two fixes overlap."""

        codes = ("HF904",)

        def edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix:
            key = finding.yaml_path[0]
            node = document.node(key)
            start = document.node("a").start_mark.index
            text = document.text[start : node.start_mark.index] + f"'{node.value}'" + document.text[node.end_mark.index :]
            return Fix(f"Quote {key}", Applicability.SAFE, (Edit(start, len(document.text), text),))

    outcome = _session("a: x\nb: y\n", [TwoPlaces], [QuoteBoth()]).run()
    assert _text(outcome) == "a: 'x'\nb: 'y'\n"
    assert len(outcome.applied) == 2


# --------------------------------------------------------------------------- writing
def test_file_change_write_keeps_the_mode_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_bytes(b"a: 1\r\n")
    os.chmod(path, 0o640)
    change = FileChange(str(path), str(path), b"a: 1\r\n", b"\xef\xbb\xbfa: 2\r\n")
    change.write()
    assert path.read_bytes() == b"\xef\xbb\xbfa: 2\r\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".holdfast-")]


def test_diff_marks_a_missing_final_newline() -> None:
    change = FileChange("c.yml", None, b"a: 1", b"a: 1\nb: 2")
    diff = change.diff()
    assert diff.startswith("--- c.yml\n+++ c.yml\n")
    assert "\\ No newline at end of file" in diff
    created = FileChange("o.yml", None, b"", b"x: 1\n", created=True)
    assert created.diff().startswith("--- /dev/null\n+++ o.yml\n")

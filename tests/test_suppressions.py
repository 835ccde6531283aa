"""Inline suppressions: end of line, line above, a service's key line, file-wide; unused ones are HF000."""

from __future__ import annotations

import json
import textwrap

import pytest
from holdfast.cli import main
from holdfast.document import ComposeDocument
from holdfast.suppressions import parse_suppressions

# Without suppressions this file has HF101 on `db` (line 2) and HF104 on its image (line 3).
FLOATING = "services:\n  db:\n    image: postgres:alpine\n"


@pytest.fixture
def lint(tmp_path, monkeypatch, capsys):
    def run(text: str, *argv: str):
        (tmp_path / ".holdfast.toml").write_text("")
        (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
        monkeypatch.chdir(tmp_path)
        with pytest.raises(SystemExit) as exc:
            main(["lint", "--format", "json", *argv, "compose.yaml"])
        out, err = capsys.readouterr()
        assert exc.value.code in (0, 1), err
        return [(f["code"], f["line"]) for f in json.loads(out)["findings"]]

    return run


def test_baseline(lint):
    assert lint(FLOATING) == [("HF101", 2), ("HF104", 3)]


def test_end_of_line(lint):
    assert lint("services:\n  db:\n    image: postgres:alpine  # holdfast: ignore[HF104] tracked in #12\n") == [("HF101", 2)]


def test_line_above(lint):
    text = "services:\n  db:\n    # holdfast: ignore[HF104] tracked in #12\n    image: postgres:alpine\n"
    assert lint(text) == [("HF101", 2)]


def test_line_above_skips_blank_and_comment_lines(lint):
    text = "services:\n  db:\n    # holdfast: ignore[HF104] tracked in #12\n\n    # another comment\n    image: postgres:alpine\n"
    assert lint(text) == [("HF101", 2)]


def test_only_the_named_code_is_suppressed(lint):
    text = "services:\n  db:\n    image: postgres:alpine  # holdfast: ignore[HF101] wrong code for this line\n"
    # HF101 is on line 2, not 3: the suppression is unused and HF104 stays
    assert sorted(lint(text)) == [("HF000", 3), ("HF101", 2), ("HF104", 3)]


def test_service_key_line_covers_the_whole_service(lint):
    text = "services:\n  db:  # holdfast: ignore[HF101,HF104] throwaway test database\n    image: postgres:alpine\n  cache:\n    image: redis:7\n"
    # the redis service below is not covered
    assert lint(text) == [("HF101", 4)]


def test_service_key_line_above(lint):
    text = "services:\n  # holdfast: ignore[HF101] throwaway\n  db:\n    image: postgres:16\n"
    assert lint(text) == []


def test_service_suppression_covers_findings_below_the_key_line(lint):
    # HF102 is reported on the list item, several lines below the key
    text = "services:\n  db:  # holdfast: ignore[HF102] scratch copy\n    image: mysql:8.4\n    volumes:\n      - /var/lib/mysql\n"
    assert lint(text) == []


def test_codes_are_case_insensitive_and_several(lint):
    assert lint("services:\n  db:  # holdfast: ignore[hf101, hf104]\n    image: postgres:alpine\n") == []


def test_ignore_without_codes_covers_everything_on_the_line(lint):
    assert lint("services:\n  db:\n    image: postgres:alpine  # holdfast: ignore\n") == [("HF101", 2)]


def test_file_ignore_in_leading_comments(lint):
    text = "# Production stack\n# holdfast: file-ignore[HF104] majors are pinned by Renovate\n\nservices:\n  db:\n    image: postgres:alpine\n  cache:\n    image: redis\n"
    assert lint(text) == [("HF101", 5), ("HF101", 7)]


def test_file_ignore_after_content_is_not_honoured(lint):
    text = "services:\n  # holdfast: file-ignore[HF104]\n  db:\n    image: postgres:alpine\n"
    assert ("HF104", 4) in lint(text)


def test_unused_suppression_is_hf000_at_the_comment(lint):
    text = "services:\n  db:\n    image: postgres:16  # holdfast: ignore[HF104] was floating\n    volumes: ['./pg:/var/lib/postgresql/data']\n"
    assert lint(text) == [("HF000", 3)]
    unused_file = "# holdfast: file-ignore[HF102]\nservices:\n  web:\n    image: nginx:1\n"
    assert lint(unused_file) == [("HF000", 1)]


def test_unused_is_not_reported_when_its_rule_did_not_run(lint):
    text = "services:\n  db:\n    image: postgres:16  # holdfast: ignore[HF104] was floating\n    volumes: ['./pg:/var/lib/postgresql/data']\n"
    assert lint(text, "--ignore", "HF104") == []
    assert lint(text, "--ignore", "HF000") == []


def test_a_used_suppression_with_an_extra_code_is_not_unused(lint):
    assert lint("services:\n  db:\n    image: postgres:alpine  # holdfast: ignore[HF104,HF105]\n") == [("HF101", 2)]


def test_directive_inside_a_string_is_not_a_suppression(lint):
    text = 'services:\n  db:\n    image: postgres:alpine\n    labels:\n      note: "# holdfast: ignore[HF104]"\n'
    assert ("HF104", 3) in lint(text)


def test_service_suppression_does_not_leak_to_the_next_top_level_key(lint):
    text = "services:\n  db:  # holdfast: ignore[HF002] experimental keys\n    image: postgres:16\n    volumes: ['pg:/var/lib/postgresql/data']\nfoo: 1\nvolumes:\n  pg:\n"
    # `foo` is outside the service: its HF002 stays, and the suppression, matching nothing, is HF000
    assert lint(text) == [("HF000", 2), ("HF002", 5)]


def test_parse_suppressions_positions():
    text = "# holdfast: file-ignore[HF104] why\nservices:\n  db:  # holdfast: ignore[HF101] reason here\n    # holdfast: ignore[HF102]\n    image: x\n"
    doc = ComposeDocument("c.yml", text)
    items = parse_suppressions(doc, {3: "db"})
    assert [(s.line, s.comment_line, s.codes, s.file_wide, s.service, s.reason) for s in items] == [
        (0, 1, ("HF104",), True, None, "why"),
        (3, 3, ("HF101",), False, "db", "reason here"),
        (5, 4, ("HF102",), False, None, ""),
    ]
    assert items[1].column == text.splitlines()[2].index("#") + 1

"""The document model: exact positions, merge keys, plain data, and the load problems it reports."""

from __future__ import annotations

import time

import pytest
from holdfast.document import ComposeDocument

TEXT = """\
services:
  db:
    image: postgres:16
    volumes:
      - ./pg:/var/lib/postgresql/data
      - type: bind
        source: ./x
        target: /x
  web:
    image: "nginx:1.27"
    ports: ["80:80", "443:443"]
"""


def where(text: str, needle: str, occurrence: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the n-th occurrence of `needle` in `text` (computed, not hard-coded)."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def span_of(doc: ComposeDocument, *path, key: bool = True):
    key_node, value_node = doc.pair(*path)
    node = key_node if key else value_node
    assert node is not None, path
    s = doc.span(node)
    return (s.line, s.column, s.end_line, s.end_column)


@pytest.fixture
def doc() -> ComposeDocument:
    return ComposeDocument("compose.yaml", TEXT)


def test_service_key_positions(doc):
    for name in ("db", "web"):
        line, col = where(TEXT, f"  {name}:")
        assert span_of(doc, "services", name) == (line, col + 2, line, col + 2 + len(name))


def test_key_and_value_positions(doc):
    line, col = where(TEXT, "image: postgres:16")
    assert span_of(doc, "services", "db", "image") == (line, col, line, col + len("image"))
    vcol = col + len("image: ")
    assert span_of(doc, "services", "db", "image", key=False) == (line, vcol, line, vcol + len("postgres:16"))
    # a quoted scalar's span includes its quotes
    line, col = where(TEXT, '"nginx:1.27"')
    assert span_of(doc, "services", "web", "image", key=False) == (line, col, line, col + len('"nginx:1.27"'))


def test_list_item_positions_block_and_flow(doc):
    line, col = where(TEXT, "./pg:/var/lib/postgresql/data")
    assert span_of(doc, "services", "db", "volumes", 0, key=False) == (line, col, line, col + len("./pg:/var/lib/postgresql/data"))
    line, col = where(TEXT, "type: bind")
    item = span_of(doc, "services", "db", "volumes", 1, key=False)
    assert item[:2] == (line, col)
    line, col = where(TEXT, "target: /x")
    assert span_of(doc, "services", "db", "volumes", 1, "target") == (line, col, line, col + len("target"))
    line, col = where(TEXT, '"443:443"')
    assert span_of(doc, "services", "web", "ports", 1, key=False) == (line, col, line, col + len('"443:443"'))
    # a negative index counts from the end, an index out of range finds nothing
    assert doc.pair("services", "web", "ports", -1) == doc.pair("services", "web", "ports", 1)
    assert doc.pair("services", "web", "ports", 2) == (None, None)


def test_span_offsets_match_the_text(doc):
    key_node, value_node = doc.pair("services", "db", "volumes", 0)
    s = doc.span(value_node)
    assert doc.text[s.start : s.end] == "./pg:/var/lib/postgresql/data"
    assert doc.offset(s.line, s.column) == s.start
    assert doc.position(s.end) == (s.end_line, s.end_column)


def test_block_mapping_span_ends_at_its_last_content(doc):
    # `db` is followed by another service: its block must end on the `target: /x` line
    line, col = where(TEXT, "target: /x")
    s = doc.span(doc.node("services", "db"))
    assert (s.end_line, s.end_column) == (line, col + len("target: /x"))


def test_block_mapping_span_before_a_top_level_key():
    text = "services:\n  db:\n    image: postgres:16\n    restart: always\nvolumes:\n  pg:\n"
    doc = ComposeDocument("compose.yaml", text)
    s = doc.span(doc.node("services", "db"))
    line, col = where(text, "restart: always")
    assert (s.end_line, s.end_column) == (line, col + len("restart: always"))


def test_locate_falls_back_to_the_nearest_parent(doc):
    line, col = where(TEXT, "  db:")
    s = doc.locate("services", "db", "environment", "PGDATA")
    assert (s.line, s.column) == (line, col + 2)


def test_plain_data(doc):
    assert doc.problems == []
    assert doc.data == {
        "services": {
            "db": {"image": "postgres:16", "volumes": ["./pg:/var/lib/postgresql/data", {"type": "bind", "source": "./x", "target": "/x"}]},
            "web": {"image": "nginx:1.27", "ports": ["80:80", "443:443"]},
        }
    }


def test_yaml_1_2_scalars():
    doc = ComposeDocument("c.yml", "a: yes\nb: true\nc: 0x1F\nd: 1_000\ne: '16'\nf: ~\ng: 1.5\nh: on\n")
    assert doc.data == {"a": "yes", "b": True, "c": 31, "d": 1000, "e": "16", "f": None, "g": 1.5, "h": "on"}


# --------------------------------------------------------------------------- merge keys

MERGE = """\
x-a: &a
  image: postgres:16
  restart: always
x-b: &b
  image: redis:7
  user: redis
services:
  one:
    <<: *a
  two:
    <<: [*b, *a]
  three:
    <<: [*a, *b]
  four:
    <<: *a
    image: mysql:8.4
"""


def test_merge_key_single_and_list_precedence():
    doc = ComposeDocument("c.yml", MERGE)
    services = doc.data["services"]
    assert services["one"] == {"image": "postgres:16", "restart": "always"}
    # in a list of sources the earlier one wins
    assert services["two"] == {"image": "redis:7", "user": "redis", "restart": "always"}
    assert services["three"] == {"image": "postgres:16", "restart": "always", "user": "redis"}
    # an explicit key wins over every merged one
    assert services["four"] == {"image": "mysql:8.4", "restart": "always"}


def test_merge_key_lookup_points_at_the_anchor():
    doc = ComposeDocument("c.yml", MERGE)
    line, col = where(MERGE, "image: postgres:16")
    assert span_of(doc, "services", "one", "image") == (line, col, line, col + len("image"))
    line, col = where(MERGE, "image: redis:7")
    assert span_of(doc, "services", "two", "image")[:2] == (line, col)
    assert span_of(doc, "services", "three", "image")[:2] == where(MERGE, "image: postgres:16")
    assert span_of(doc, "services", "four", "image")[:2] == where(MERGE, "image: mysql:8.4")


def test_merge_key_of_a_scalar_is_a_problem_not_a_crash():
    doc = ComposeDocument("c.yml", "x: &x hello\nservices:\n  a:\n    <<: *x\n    image: nginx:1\n")
    assert [p.code for p in doc.problems] == ["HF001"]
    assert "merge" in doc.problems[0].message
    assert doc.data["services"]["a"] == {"image": "nginx:1"}


# --------------------------------------------------------------------------- problems


def test_duplicate_keys_become_problems_and_the_last_value_wins():
    text = "services:\n  db:\n    image: postgres:16\n    image: postgres:17\n"
    doc = ComposeDocument("c.yml", text)
    assert [(p.code, p.line, p.column) for p in doc.problems] == [("HF003", 4, 5)]
    assert doc.problems[0].yaml_path == ("services", "db", "image")
    assert doc.data["services"]["db"]["image"] == "postgres:17"


def test_bom_and_crlf():
    raw = b"\xef\xbb\xbfservices:\r\n  db:\r\n    image: postgres:16\r\n"
    doc = ComposeDocument.from_bytes(raw, "c.yml")
    assert doc.has_bom and doc.newline == "\r\n"
    assert not doc.text.startswith("\ufeff")
    assert doc.data == {"services": {"db": {"image": "postgres:16"}}}
    assert span_of(doc, "services", "db", "image") == (3, 5, 3, 10)
    assert doc.line_text(3) == "    image: postgres:16"


def test_non_utf8_is_a_problem_with_the_byte_position():
    raw = b"services:\n  db:\n    image: caf\xe9\n"
    doc = ComposeDocument.from_bytes(raw, "c.yml")
    assert doc.data is None
    assert [(p.code, p.line, p.column) for p in doc.problems] == [("HF001", 3, raw.splitlines()[2].index(b"\xe9") + 1)]


def test_self_referencing_alias_is_refused():
    doc = ComposeDocument("c.yml", "a: &a\n  b: *a\n")
    assert doc.data is None
    assert [p.code for p in doc.problems] == ["HF001"]
    assert "itself" in doc.problems[0].message


def test_alias_bomb_is_refused_quickly():
    rows = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        rows.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    started = time.monotonic()
    doc = ComposeDocument("c.yml", "\n".join(rows) + "\n")
    assert time.monotonic() - started < 5
    assert doc.data is None
    assert [p.code for p in doc.problems] == ["HF001"]


def test_shared_aliases_below_the_limit_are_fine():
    doc = ComposeDocument("c.yml", "x-env: &env {A: '1'}\nservices:\n  a:\n    image: x\n    environment: *env\n  b:\n    image: y\n    environment: *env\n")
    assert doc.problems == []
    assert doc.data["services"]["b"]["environment"] == {"A": "1"}


def test_oversized_file_is_not_parsed(tmp_path):
    path = tmp_path / "compose.yaml"
    path.write_text("services: {}\n" + "#" * 2000 + "\n")
    doc = ComposeDocument.from_path(str(path), max_bytes=1000)
    assert doc.data is None
    assert [p.code for p in doc.problems] == ["HF001"]
    assert "limit" in doc.problems[0].message


def test_a_reused_anchor_name_is_legal_and_warns_nobody(monkeypatch):
    """YAML lets an anchor name be defined again (an alias means the latest); ruamel's pure
    composer warned about it on the user's terminal (seen in `holdfast fix`)."""
    import warnings

    text = "x-a: &a\n  image: redis:7\nx-b: &a\n  image: postgres:16\nservices:\n  db:\n    <<: *a\n"
    monkeypatch.setenv("HOLDFAST_PURE_YAML", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        document = ComposeDocument("compose.yaml", text)
    assert document.data["services"]["db"]["image"] == "postgres:16"  # the latest anchor, as Compose reads it

"""Fuzzing: real compose files, mutated byte by byte and node by node, must never break holdfast.

For every mutated file: lint ends without an internal error (no exception, no rule or
fixer failure notice), every finding's position lies inside the file, and a fix produces
a file that still parses and that a second fix leaves unchanged.

CI runs a bounded, derandomised number of examples (HOLDFAST_FUZZ_EXAMPLES, default 150).
HOLDFAST_FUZZ_LONG=1 runs random rounds for HOLDFAST_FUZZ_SECONDS (default 1800), keeps
going after a failure, writes each failing input to HOLDFAST_FUZZ_OUT (default a folder
under /tmp) and prints the figures.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extra: pip install -e '.[test]'")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from support import CORPUS, EXAMPLES  # noqa: E402

LONG = os.environ.get("HOLDFAST_FUZZ_LONG") == "1"


def _corpus_dir() -> Path:
    override = os.environ.get("HOLDFAST_CORPUS")
    return Path(override) if override else CORPUS


def _seed_files() -> list[Path]:
    files = []
    corpus = _corpus_dir()
    if corpus.is_dir():
        files.extend(sorted(p for p in corpus.iterdir() if p.suffix in (".yml", ".yaml")))
    return files


SEEDS = _seed_files()
SEED_BYTES = [p.read_bytes() for p in SEEDS]

TOKENS = [
    b"\t", b"\r", b"\r\n", b"\n", b"  ", b"- ", b": ", b":", b"{", b"}", b"[", b"]", b",", b"&a ", b"*a", b"<<: *a\n",
    b"${A:-${B:-x}}", b"${", b"$$", b"#", b"# holdfast: ignore[HF101]", b"'", b'"', b"\\", b"\xff", b"\xef\xbb\xbf",
    b"\x00", b"\xc2\x85", "\u2028".encode(), b"!!binary ", b"!!str ", b"!custom ", b"? ", b"|\n", b">-\n", b"~",
    b"null", b"volumes:\n  - /data\n", b"image: postgres:16\n", b"x-", b"services:\n", b"\x1b[31m", b"---\n", b"...\n",
    b"<<<<<<< HEAD\n", b"0x1F", b"1e999", b".inf", b"yes", b"010", b"2001-12-14",
]

TREE_VALUES = [
    None, 0, -1, 3.5, True, "", "x" * 300, [], {}, {"a": None}, ["/data"], "${A:-${A:-x}}", "postgres:latest",
    "./data:/var/lib/postgresql/data", "db:/var/lib/mysql", {"type": "bind", "source": "./d", "target": "/data"},
    {"type": "volume", "target": "/var/lib/postgresql/data"}, ["a", ["b", ["c"]]], {"image": "redis:7"},
    {"file": "other.yml", "service": "x"}, [{"path": 1}], "mysql", "mongo:4", {"<<": None},
]


# ------------------------------------------------------------------ mutations
def _byte_op(raw: bytes, where: float, kind: int, payload: bytes) -> bytes:
    at = int(where * len(raw)) if raw else 0
    if kind == 0:
        return raw[:at] + payload + raw[at:]
    if kind == 1:
        return raw[:at] + raw[at + max(1, len(payload)) :]
    return raw[:at] + payload + raw[at + len(payload) :]


def _line_op(raw: bytes, first: float, second: float, kind: int) -> bytes:
    lines = raw.split(b"\n")
    i, j = int(first * len(lines)) % len(lines), int(second * len(lines)) % len(lines)
    if kind == 0:
        lines.insert(i, lines[j])
    elif kind == 1 and len(lines) > 1:
        del lines[i]
    elif kind == 2:
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 3:
        lines[i] = b"  " + lines[i]
    else:
        lines[i] = lines[i][2:] if lines[i].startswith(b"  ") else lines[i][1:]
    return b"\n".join(lines)


def _tree_op(raw: bytes, steps: list[float], value: object, delete: bool) -> bytes:
    """Replace (or delete) one node of the parsed data, then write the data back as YAML."""
    import io

    from ruamel.yaml import YAML

    try:
        data = YAML(typ="safe", pure=True).load(raw.decode("utf-8"))
    except Exception:  # noqa: BLE001 - not YAML any more: leave it to the byte mutations
        return raw
    if not isinstance(data, (dict, list)):
        return raw
    parent, key = None, None
    node = data
    for step in steps:
        if isinstance(node, dict) and node:
            keys = list(node)
            parent, key = node, keys[int(step * len(keys)) % len(keys)]
        elif isinstance(node, list) and node:
            parent, key = node, int(step * len(node)) % len(node)
        else:
            break
        node = parent[key]
    if parent is None:
        return raw
    if delete:
        del parent[key]
    else:
        parent[key] = value
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    try:
        yaml.dump(data, out)
    except Exception:  # noqa: BLE001 - data the dumper refuses (recursive aliases)
        return raw
    return out.getvalue().encode("utf-8")


_unit = st.floats(min_value=0, max_value=0.999999)
_byte_ops = st.tuples(st.just("byte"), _unit, st.integers(0, 2), st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=4)))
_line_ops = st.tuples(st.just("line"), _unit, _unit, st.integers(0, 4))
_tree_ops = st.tuples(st.just("tree"), st.lists(_unit, min_size=1, max_size=5), st.sampled_from(TREE_VALUES), st.booleans())


@st.composite
def mutated(draw) -> bytes:
    raw = draw(st.sampled_from(SEED_BYTES))
    for op in draw(st.lists(st.one_of(_byte_ops, _line_ops, _tree_ops), min_size=1, max_size=4)):
        if op[0] == "byte":
            raw = _byte_op(raw, op[1], op[2], op[3])
        elif op[0] == "line":
            raw = _line_op(raw, op[1], op[2], op[3])
        else:
            raw = _tree_op(raw, op[1], op[2], op[3])
    return raw


# --------------------------------------------------------------------- checks
_STATE: dict[str, object] = {"examples": 0}


def _linter():
    if "linter" not in _STATE:
        from holdfast.config import Config
        from holdfast.engine import Linter

        _STATE["linter"] = Linter(Config())
        _STATE["dir"] = tempfile.mkdtemp(prefix="hf-fuzz-")
    return _STATE["linter"], _STATE["dir"]


def assert_positions(document, findings) -> None:
    lines = len(document.line_starts)
    for f in findings:
        where = f"{f.code} {f.line}:{f.column}-{f.end_line}:{f.end_column} in a file of {lines} lines"
        assert 1 <= f.line <= lines, where
        assert f.end_line is None or f.line <= f.end_line <= lines, where
        assert f.column >= 1 and f.column <= len(document.line_text(f.line)) + 1, where
        if f.end_line is not None and f.end_column is not None:
            assert 1 <= f.end_column <= len(document.line_text(f.end_line)) + 1, where
            if f.end_line == f.line:
                assert f.end_column >= f.column, where


def check_input(raw: bytes) -> None:
    """The properties every input must have (raises AssertionError, or the internal error itself)."""
    from holdfast.api import fix_text
    from holdfast.document import ComposeDocument

    _STATE["examples"] = int(_STATE["examples"]) + 1
    linter, directory = _linter()
    path = os.path.join(directory, "compose.yaml")
    before = len(linter.notices)
    document = ComposeDocument.from_bytes(raw, "compose.yaml", real_path=path)
    result = linter.lint_documents([document], {"compose.yaml"}, project_dir=directory)
    failures = [n for n in linter.notices[before:] if "failed" in n]
    del linter.notices[before:]
    assert not failures, failures
    assert_positions(document, [f for f in result.findings if f.path == "compose.yaml"])
    if document.data is None or document.text != raw.decode("utf-8", "replace").lstrip("\ufeff"):
        return  # not parsed (or not UTF-8): nothing to fix
    text = ("\ufeff" if document.has_bom else "") + document.text
    fixed = fix_text(text, path)
    assert not [n for n in fixed.notices if "failed" in n], fixed.notices
    if not fixed.changed:
        return
    after = ComposeDocument(path, fixed.text.lstrip("\ufeff"), real_path=path)
    had = {p.code for p in document.problems}
    assert after.data is not None and not ({p.code for p in after.problems} - had), after.problems
    again = fix_text(fixed.text, path)
    assert again.text == fixed.text, "a second fix changed the file again"


def _save(raw: bytes, exc: BaseException) -> None:
    out = Path(os.environ.get("HOLDFAST_FUZZ_OUT", "/tmp/holdfast-fuzz-failures"))
    out.mkdir(parents=True, exist_ok=True)
    import hashlib

    name = hashlib.sha256(raw).hexdigest()[:16]
    (out / f"{name}.yaml").write_bytes(raw)
    (out / f"{name}.txt").write_text(f"{type(exc).__name__}: {exc}\n")


def _checked(raw: bytes) -> None:
    try:
        check_input(raw)
    except BaseException as exc:
        if LONG:
            _save(raw, exc)
        raise


CI_EXAMPLES = int(os.environ.get("HOLDFAST_FUZZ_EXAMPLES", "150"))
_COMMON = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=True)


@pytest.mark.skipif(not SEEDS, reason=f"no seed files: the public corpus {_corpus_dir()} is absent (set HOLDFAST_CORPUS)")
@pytest.mark.skipif(LONG, reason="HOLDFAST_FUZZ_LONG=1 runs test_fuzz_long instead")
@settings(max_examples=CI_EXAMPLES, derandomize=True, **_COMMON)
@given(mutated())
def test_mutated_corpus_files(raw: bytes) -> None:
    _checked(raw)


@pytest.mark.skipif(not LONG, reason="set HOLDFAST_FUZZ_LONG=1 (and HOLDFAST_FUZZ_SECONDS) for the long fuzzing run")
@pytest.mark.skipif(not SEEDS, reason=f"no seed files: the public corpus {_corpus_dir()} is absent (set HOLDFAST_CORPUS)")
def test_fuzz_long() -> None:
    budget = float(os.environ.get("HOLDFAST_FUZZ_SECONDS", "1800"))
    start = time.monotonic()
    failures: list[str] = []

    @settings(max_examples=300, derandomize=False, phases=[Phase.generate, Phase.shrink], **_COMMON)
    @given(mutated())
    def round_(raw: bytes) -> None:
        _checked(raw)

    rounds = 0
    while time.monotonic() - start < budget:
        rounds += 1
        try:
            round_()
        except Exception as exc:  # noqa: BLE001 - keep fuzzing; every failure is saved and listed
            failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    summary = f"fuzz: {_STATE['examples']} examples in {rounds} rounds, {time.monotonic() - start:.0f} s, {len(failures)} failing rounds"
    print(summary)
    with open(os.environ.get("HOLDFAST_FUZZ_SUMMARY", "/tmp/holdfast-fuzz-summary.txt"), "a") as handle:
        handle.write(summary + "\n" + "\n".join(failures) + "\n")
    assert not failures, failures

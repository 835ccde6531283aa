"""`holdfast fix` on large files: time grows with the file, not with its square (issue 10).

A fix per service used to cost a parse of the whole file per finding (the fixer's
own check), a comparison with every fix already in the batch and a quadratic
unified diff: 1,000 services took 33 s. The limits here are generous (a shared,
slow CI machine); the ratio test is what catches a quadratic step.
"""

from __future__ import annotations

import difflib
import random
import time
from pathlib import Path

from holdfast.document import ComposeDocument
from holdfast.fixing import MountIntent, fix_project, verify_change
from holdfast.fixverify import Check, failing_checks
from holdfast.model import Edit
from holdfast.textdiff import anchored_diff, anchored_opcodes
from test_hostile_input import run, work  # noqa: F401  (`work` is a fixture)


def compose_text(count: int) -> str:
    """Services that all need a fix: postgres and redis without volumes, and commented-out `volumes:` blocks."""
    parts = ["services:\n"]
    for i in range(count):
        kind = i % 3
        if kind == 0:
            parts.append(f"  db{i}:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: x\n")
        elif kind == 1:
            parts.append(f"  cache{i}:\n    image: redis:7\n")
        else:
            parts.append(f"  old{i}:\n    image: postgres:16\n    # volumes:\n    #   - ./d{i}:/var/lib/postgresql/data\n")
    return "".join(parts)


def test_fix_diff_of_200_services_is_fast(work):
    (work / "compose.yaml").write_text(compose_text(200))
    start = time.monotonic()
    result = run("fix", "--diff", "--no-engine", "compose.yaml", cwd=work, timeout=60)
    elapsed = time.monotonic() - start
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert err.count(": would fix HF101 in service ") == 200
    assert result.stdout.count(b"\n+    volumes:") == 200
    assert result.stdout.count(b"\n-    # volumes:") == 66  # the old* services' blocks are uncommented
    assert elapsed < 10, f"fix --diff of 200 services took {elapsed:.1f} s (about 0.5 s expected)"


def test_fix_of_200_services_writes_a_verified_file_once(work):
    path = work / "compose.yaml"
    path.write_text(compose_text(200))
    start = time.monotonic()
    first = run("fix", "--no-engine", "compose.yaml", cwd=work, timeout=60)
    elapsed = time.monotonic() - start
    assert first.returncode in (0, 1), first.stderr.decode()
    assert first.stdout.decode().count(": fixed HF101 in service ") == 200
    assert elapsed < 10, f"fix of 200 services took {elapsed:.1f} s"
    fixed = path.read_bytes()
    document = ComposeDocument("compose.yaml", fixed.decode())
    assert isinstance(document.data, dict) and not [p for p in document.problems if p.code in ("HF001", "HF002", "HF003")]
    again = run("fix", "--no-engine", "compose.yaml", cwd=work, timeout=60)
    assert ": fixed " not in again.stdout.decode()
    assert path.read_bytes() == fixed  # idempotent


def _fix_seconds(folder: Path, count: int) -> float:
    """Seconds `fix_project` takes (in this process: no start-up in the ratio) on a fresh file of `count` services."""
    path = folder / f"run{len(list(folder.iterdir()))}" / "compose.yaml"
    path.parent.mkdir()
    (path.parent / ".holdfast.toml").write_text("")
    path.write_text(compose_text(count))
    start = time.perf_counter()
    changes = fix_project([str(path)])
    elapsed = time.perf_counter() - start
    assert len(changes) == 1 and changes[0].new_bytes.count(b"volumes:") == count
    diff = changes[0].diff()
    assert diff.count("\n+    volumes:") == count and diff.count("\n-    # volumes:") == count // 3
    return elapsed


def test_fix_time_grows_linearly(tmp_path):
    """Twice the services, about twice the time (a quadratic step gives four times)."""
    _fix_seconds(tmp_path, 30)  # imports and first-use caches
    small = min(_fix_seconds(tmp_path, 500) for _ in range(2))
    large = min(_fix_seconds(tmp_path, 1000) for _ in range(2))
    assert large < 60
    assert large / small < 3.5, f"500 services: {small:.2f} s, 1,000 services: {large:.2f} s"


def test_fixes_inserting_at_one_place_are_all_written_in_one_run(work):
    """An override file or named volumes: every fix inserts where the others do. Once took 10 passes
    of one fix each and left the rest ("stopped after 10 passes"); now each pass takes all that
    verify together, in the services' order."""
    (work / "compose.yaml").write_text("services:\n" + "".join(f"  db{i}:\n    image: postgres:16\n" for i in range(30)))
    result = run("fix", "--no-engine", "--to-override", "compose.yaml", cwd=work, timeout=60)
    assert result.stdout.decode().count(": fixed HF101 in service ") == 30, result.stderr.decode()
    assert "stopped after" not in result.stderr.decode()
    override = (work / "compose.override.yaml").read_text()
    assert [line.strip() for line in override.splitlines() if line.startswith("  db")] == [f"db{i}:" for i in range(30)]
    (work / "compose.override.yaml").unlink()
    (work / ".holdfast.toml").write_text('[fix]\npersistence = "named"\n')
    result = run("fix", "--no-engine", "compose.yaml", cwd=work, timeout=60)
    assert result.stdout.decode().count(": fixed HF101 in service ") == 30, result.stderr.decode()
    lint = run("lint", "--select", "HF1,HF2", "compose.yaml", cwd=work)
    assert lint.returncode == 0, lint.stdout.decode()
    named = ComposeDocument("compose.yaml", (work / "compose.yaml").read_text()).data["volumes"]
    assert list(named) == [f"db{i}-data" for i in range(30)]


# ------------------------------------------------------------------ the pieces
def _mount_check(document: ComposeDocument, name: str, entry: str = "./d:/data") -> Check:
    """A check that adds a `volumes:` list after the service's `image:` line."""
    text = document.text
    at = text.index("\n", text.index(f"  {name}:\n") + len(name) + 4 + len("    image: "))
    edit = Edit(at, at, f"\n    volumes:\n      - {entry}")
    return Check(document, (edit,), (MountIntent(name, frozenset({"/data"})),))


def test_failing_checks_finds_the_one_bad_check_among_many():
    document = ComposeDocument("compose.yaml", "services:\n" + "".join(f"  s{i}:\n    image: redis:7\n" for i in range(300)))
    checks = [_mount_check(document, f"s{i}") for i in range(300)]
    image = document.text.index("redis:7", document.text.index("  s123:\n"))
    checks[123] = Check(document, checks[123].edits + (Edit(image, image + 7, "redis:6"),), checks[123].intents)
    failing = failing_checks(checks)
    assert list(failing) == [123]
    alone = ComposeDocument("compose.yaml", _apply(document.text, checks[123].edits))
    assert failing[123] == verify_change(document, alone, list(checks[123].intents))


def test_failing_checks_tells_clashing_checks_from_bad_ones():
    """Two checks of one service go to different groups; an overlapping edit is malformed."""
    document = ComposeDocument("compose.yaml", "services:\n  a:\n    image: redis:7\n  b:\n    image: redis:7\n")
    first, second = _mount_check(document, "a"), _mount_check(document, "a", "./e:/data")
    at = first.edits[0].start
    broken = Check(document, (Edit(at - 3, at, "x"), Edit(at - 2, at - 1, "y")), first.intents)
    failing = failing_checks([first, second, _mount_check(document, "b"), broken])
    assert list(failing) == [3] and "malformed" in failing[3]


def _apply(text: str, edits: tuple[Edit, ...]) -> str:
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text


def test_anchored_diff_is_difflibs_on_fix_shaped_changes():
    old = compose_text(1200).splitlines(keepends=True)
    new: list[str] = []
    for line in old:
        new.append(line)
        if line.startswith("    image: redis"):
            new.extend(["    volumes:\n", "      - ./data:/data\n"])
        if line.startswith("    # volumes:"):
            new[-1] = line.replace("# ", "", 1)
    assert len(old) + len(new) > 3000  # the anchored path
    assert "".join(anchored_diff(old, new, "a", "a")) == "".join(difflib.unified_diff(old, new, "a", "a"))


def test_anchored_opcodes_always_rebuild_the_new_text():
    rnd = random.Random(10)
    vocabulary = ["a\n", "b\n", "  x:\n", "\n", "# c\n"]
    for _ in range(500):
        old = [rnd.choice(vocabulary) if rnd.random() < 0.6 else f"u{rnd.randrange(40)}\n" for _ in range(rnd.randrange(30))]
        new = list(old)
        for _ in range(rnd.randrange(4)):
            at = rnd.randrange(len(new) + 1)
            if rnd.random() < 0.6:
                new[at:at] = [rnd.choice(vocabulary)]
            else:
                del new[at : at + 2]
        rebuilt: list[str] = []
        i = j = 0
        for tag, i1, i2, j1, j2 in anchored_opcodes(old, new):
            assert (i1, j1) == (i, j)
            if tag == "equal":
                assert old[i1:i2] == new[j1:j2]
            rebuilt.extend(new[j1:j2])
            i, j = i2, j2
        assert (i, j) == (len(old), len(new)) and rebuilt == new

"""Many projects linted by worker processes report exactly what one process reports.

A worker's findings travel back to the parent by pickling; a fixer's Fix may carry
an intent holding a closure (HF301's "publish on 127.0.0.1 only"), which does not
pickle. Before the engine sent plain fixes back, such a run died with an internal
error and exit 2 as soon as one project had such a fix.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = b"""services:
  db:
    image: postgres:16
    ports:
      - "5432:5432"
    volumes:
      - ./pg:/var/lib/postgresql/data
  cache:
    image: redis:7
"""


def lint(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "holdfast", "lint", "--no-cache", "--color", "never", *argv],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_fixes_with_intents_cross_the_worker_boundary(tmp_path):
    for i in range(12):  # above the engine's threshold for worker processes
        (tmp_path / f"p{i:02d}").mkdir()
        (tmp_path / f"p{i:02d}" / "compose.yaml").write_bytes(PROJECT)
    for fmt in ("json", "sarif", "text"):
        one = lint("--format", fmt, "--jobs", "1", ".", cwd=tmp_path)
        two = lint("--format", fmt, "--jobs", "2", ".", cwd=tmp_path)
        assert "internal error" not in two.stderr, two.stderr
        assert one.returncode == two.returncode == 1, (one.stderr, two.stderr)
        assert one.stdout == two.stdout
    report = json.loads(lint("--format", "json", "--jobs", "2", ".", cwd=tmp_path).stdout)
    hf301 = [f for f in report["findings"] if f["code"] == "HF301"]
    assert len(hf301) == 12 and all(f["fixable"] for f in hf301)

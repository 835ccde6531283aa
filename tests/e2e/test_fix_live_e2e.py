"""`holdfast fix` on a running project, on the real engine, under Compose v2 and v1 (issue 8, item 7).

The issue's case: `postgres:alpine` (PostgreSQL 15 here) runs with its data on the
image's anonymous volume. `holdfast fix` used to add a mount at the PostgreSQL 18
layout; after `up -d` lint was clean while the data stayed on the old volume. Now
`fix` refuses that fix with one line pointing to `holdfast fix --apply`, writes
nothing, and lint still fails; `--no-engine` edits the file as before (what
pre-commit does); a stateless service of the same project is still fixed.
Checked with the docker CLI and psql, not with holdfast's probes.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker]

COMPOSE_TEXT = """services:
  db:
    image: postgres:alpine
    environment:
      POSTGRES_PASSWORD: secret
  cache:
    image: redis:alpine
"""


def sh(argv: list[str], cwd: Path, check: bool = True, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def holdfast(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return sh([sys.executable, "-m", "holdfast", *args], cwd=cwd, check=False)


def container(name: str, service: str, cwd: Path) -> str:
    out = sh(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={name}", "--filter", f"label=com.docker.compose.service={service}"], cwd).stdout.split()
    assert len(out) == 1, out
    return out[0]


def test_fix_refuses_to_leave_live_data_behind(images, compose_flavour, tmp_path):
    name = f"hf-fixlive-{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    folder.mkdir()
    compose_file = folder / "compose.yaml"
    compose_file.write_text(COMPOSE_TEXT)
    compose = [*compose_flavour, "-p", name]
    volumes: list[str] = []
    try:
        sh([*compose, "up", "-d", "db"], folder)
        db = container(name, "db", folder)
        volumes += sh(["docker", "inspect", "-f", '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', db], folder).stdout.split()
        for _ in range(120):
            if sh(["docker", "exec", db, "pg_isready", "-h", "127.0.0.1", "-U", "postgres"], folder, check=False).returncode == 0:
                break
            time.sleep(0.5)
        sh(["docker", "exec", db, "psql", "-U", "postgres", "-c", "create table kept as select generate_series(1, 42) as n"], folder)

        result = holdfast("fix", cwd=folder)
        text = result.stdout + result.stderr
        assert result.returncode == 1, text
        assert "cannot fix HF101 in service db: its container" in text and "is running (PostgreSQL 15)" in text, text
        assert "anonymous volume" in text and "`holdfast fix --apply`" in text
        assert "fixed HF101 in service cache" in text  # no container: its file fix is safe
        written = compose_file.read_text()
        assert "/var/lib/postgresql" not in written and "./data/cache:/data" in written

        # the trap of the issue is closed: lint still fails after the user's `up -d`
        sh([*compose, "up", "-d", "db"], folder)
        assert holdfast("lint", cwd=folder).returncode == 1
        assert sh(["docker", "exec", container(name, "db", folder), "psql", "-U", "postgres", "-At", "-c", "select sum(n) from kept"], folder).stdout.strip() == "903"

        # --no-engine (pre-commit, CI) edits the file only, as before
        edited = holdfast("fix", "--no-engine", "--diff", cwd=folder)
        assert edited.returncode == 1 and "/var/lib/postgresql" in edited.stdout, edited.stdout + edited.stderr
    finally:
        sh([*compose, "down", "-v", "-t", "5"], folder, check=False)
        for volume in volumes:
            sh(["docker", "volume", "rm", volume], folder, check=False)

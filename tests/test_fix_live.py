"""`holdfast fix` and a live project, without an engine (issue 8, item 7).

The engine side runs in tests/e2e/test_fix_live_e2e.py. Here: a data fix for a
service whose container holds the data is refused with the reason and the finding
stays unfixable; the Docker SDK is imported only when an engine is configured and a
data fix would be written; `--no-engine` never asks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from holdfast.config import Config
from holdfast.document import ComposeDocument
from holdfast.engine import Linter
from holdfast.fixing import FixSession

PG = "services:\n  db:\n    image: postgres:16\n  cache:\n    image: redis:7\n"


def poisoned_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment where `import docker` fails loudly."""
    poison = tmp_path / "poison"
    poison.mkdir(exist_ok=True)
    (poison / "docker.py").write_text("raise ImportError('docker was imported')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    env.update(PYTHONPATH=str(poison), **extra)
    return env


def run_fix(tmp_path: Path, *args: str, env: dict[str, str], no_socket: bool = False) -> subprocess.CompletedProcess[str]:
    """`holdfast fix ARGS compose.yaml`; with `no_socket` the default socket is taken to be absent."""
    prelude = "import holdfast.apply.livecheck as c; c.DEFAULT_SOCKET = '/nonexistent/docker.sock'; " if no_socket else ""
    script = prelude + "import sys; from holdfast.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", script, "fix", *args, "compose.yaml"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_blocked_service_keeps_its_finding_and_says_why(tmp_path):
    (tmp_path / "compose.yaml").write_text(PG)
    document = ComposeDocument.from_path(str(tmp_path / "compose.yaml"), display="compose.yaml")
    why = "its container p-db-1 is running (PostgreSQL 16) with the data in an anonymous volume; run `holdfast fix --apply`"
    outcome = FixSession(Linter(Config()), [document], {"compose.yaml"}, project_dir=str(tmp_path), options={"blocked": {"db": why}}).run()
    assert [(a.finding.code, a.finding.service) for a in outcome.applied] == [("HF101", "cache")]
    assert [(f.service, reason) for f, reason in outcome.refused] == [("db", why)]
    [left] = [f for f in outcome.remaining if f.code == "HF101"]
    assert left.service == "db" and left.fix is None  # not advertised as fixable while the data is live
    [change] = outcome.changes
    assert b"/var/lib/postgresql/data" not in change.new_bytes and b":/data" in change.new_bytes


def test_no_engine_configured_never_imports_docker(tmp_path):
    (tmp_path / "compose.yaml").write_text(PG)
    result = run_fix(tmp_path, env=poisoned_env(tmp_path), no_socket=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "docker" not in result.stderr.lower()
    assert "/var/lib/postgresql/data" in (tmp_path / "compose.yaml").read_text()


def test_no_engine_option_never_asks_even_with_docker_host(tmp_path):
    (tmp_path / "compose.yaml").write_text(PG)
    result = run_fix(tmp_path, "--no-engine", env=poisoned_env(tmp_path, DOCKER_HOST="tcp://127.0.0.1:9"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "docker" not in (result.stdout + result.stderr).lower().replace("docker compose", "")
    assert "/var/lib/postgresql/data" in (tmp_path / "compose.yaml").read_text()


def test_an_engine_that_does_not_answer_costs_one_warning(tmp_path):
    (tmp_path / "compose.yaml").write_text(PG)
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONTEXT"}
    env["DOCKER_HOST"] = "tcp://127.0.0.1:9"
    result = run_fix(tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "could not ask Docker whether the project runs" in result.stdout + result.stderr
    assert "--no-engine" in result.stdout + result.stderr
    assert "/var/lib/postgresql/data" in (tmp_path / "compose.yaml").read_text()


def test_nothing_to_fix_asks_nothing(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.27\n")
    result = run_fix(tmp_path, env=poisoned_env(tmp_path, DOCKER_HOST="tcp://127.0.0.1:9"))
    assert result.returncode == 0 and "docker" not in result.stderr.lower(), result.stderr


def test_apply_and_no_engine_exclude_each_other(tmp_path):
    (tmp_path / "compose.yaml").write_text(PG)
    result = run_fix(tmp_path, "--apply", "--no-engine", env=poisoned_env(tmp_path))
    assert result.returncode == 2 and "--no-engine" in result.stderr
    assert (tmp_path / "compose.yaml").read_text() == PG

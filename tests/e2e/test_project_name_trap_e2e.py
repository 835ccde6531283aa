"""The project-name trap on a real engine: rename the folder, `up` again, the database is empty; HF504 says why.

Compose v2 names the volume `<project>_<volume>` and the project after the folder
(Compose v1 names volumes the same way, so one flavour is enough). The test starts
a postgres with a named volume, writes a row, runs `down` (the volume stays),
renames the folder, runs `up` again: the table is gone. `holdfast inspect` then
reports HF504 on the new project, naming the new and the old volume and the
`name:` that brings the data back. Only what the test created is removed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

COMPOSE = ["docker", "compose"]


def sh(*argv: str, cwd=None, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), capture_output=True, text=True, cwd=cwd, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def psql(folder, sql: str, check: bool = True) -> subprocess.CompletedProcess:
    return sh(*COMPOSE, "exec", "-T", "db", "psql", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql, cwd=folder, check=check)


def wait_ready(folder, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sh(*COMPOSE, "exec", "-T", "db", "pg_isready", "-h", "127.0.0.1", "-U", "postgres", cwd=folder, check=False).returncode == 0:
            # the entrypoint restarts the server once after init: ask twice, a moment apart
            time.sleep(1.5)
            if sh(*COMPOSE, "exec", "-T", "db", "pg_isready", "-h", "127.0.0.1", "-U", "postgres", cwd=folder, check=False).returncode == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"postgres in {folder} not ready after {timeout}s")


def test_renamed_folder_starts_an_empty_database_and_inspect_reports_hf504(images, tmp_path):
    if sh("docker", "compose", "version", check=False).returncode != 0:
        pytest.skip("Compose v2 (`docker compose`) is not installed")
    tag = uuid.uuid4().hex[:8]
    key = f"pgdata{tag}"  # a volume key nobody else uses: inspect looks only at volumes with this key
    old_name, new_name = f"hf-trap-{tag}", f"hf-trap-{tag}-moved"
    old_dir, new_dir = tmp_path / old_name, tmp_path / new_name
    old_dir.mkdir()
    (old_dir / "compose.yaml").write_text(
        "services:\n"
        "  db:\n"
        f"    image: {images['postgres']}\n"
        "    environment:\n"
        "      POSTGRES_PASSWORD: ${PGPASS:-trap}\n"
        "    volumes:\n"
        f"      - {key}:/var/lib/postgresql/data\n"
        "volumes:\n"
        f"  {key}:\n",
        encoding="utf-8",
    )
    created_dirs = [old_dir]
    try:
        sh(*COMPOSE, "up", "-d", cwd=old_dir)
        wait_ready(old_dir)
        psql(old_dir, "create table orders (id int); insert into orders values (42);")
        assert psql(old_dir, "select id from orders").stdout.strip() == "42"
        sh(*COMPOSE, "down", cwd=old_dir)  # the named volume stays
        shutil.move(str(old_dir), str(new_dir))
        created_dirs = [new_dir]
        sh(*COMPOSE, "up", "-d", cwd=new_dir)
        wait_ready(new_dir)
        lost = psql(new_dir, "select id from orders", check=False)
        assert lost.returncode != 0 and "does not exist" in lost.stderr  # the trap: an empty database

        result = sh(sys.executable, "-m", "holdfast", "inspect", "--format", "json", "--project", new_name, check=False, timeout=180)
        assert result.returncode in (0, 1), result.stderr
        findings = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "HF504"]
        assert len(findings) == 1, result.stdout
        message = findings[0]["message"]
        assert f"{new_name}_{key}" in message and f"{old_name}_{key}" in message
        assert f"`name: {old_name}`" in message
        assert findings[0]["path"] == f"docker://{new_name}/db"
    finally:
        for folder in created_dirs:
            if folder.exists():
                sh(*COMPOSE, "down", "-v", "--remove-orphans", cwd=folder, check=False)
        for name in (f"{old_name}_{key}", f"{new_name}_{key}"):
            sh("docker", "volume", "rm", name, check=False)

"""`holdfast inspect` against a real engine, with the locally built test images.

Scenario (Mastodon v1.3.2's `db` and `redis`, under Compose v2 and v1):
1. `docker compose up -d` as shipped: both keep their data on anonymous volumes (HF501).
2. Persist them the way `holdfast fix --apply` would (stop, `rm` without `-v`, uncomment
   the volumes blocks, `up -d`): nothing reported; the old postgres volume is now an
   orphan (HF503).
3. A plain `docker run` postgres (no Compose) removed with `docker rm -f` (no `-v`): its
   dangling anonymous volume is reported as HF503 naming PostgreSQL.

Other engineers' tests share this daemon: every run is scoped with `--project` or
`--volume`, so inspect never creates a helper over anybody else's volume, and only
what these tests created is removed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from support import SEED

pytestmark = [pytest.mark.docker, pytest.mark.slow]

def sh(*argv: str, check: bool = True, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def inspect(*args: str) -> tuple[int, dict, str]:
    result = sh(sys.executable, "-m", "holdfast", "inspect", "--format", "json", *args, check=False, timeout=120)
    assert result.returncode in (0, 1), f"exit {result.returncode}: {result.stderr}"
    return result.returncode, json.loads(result.stdout), result.stderr


def found(document: dict) -> set[tuple[str, str]]:
    return {(f["code"], f["path"]) for f in document["findings"]}


def volumes_of(container: str) -> list[str]:
    out = sh("docker", "inspect", "-f", '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', container).stdout
    return out.split()


def wait_until(predicate, timeout: float = 90, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def seed_db_and_redis(images: dict[str, str]) -> str:
    """The seed compose file with only `db` and `redis` (everything before `web:`)."""
    text = SEED.read_text()
    text = text[: text.index("\n  web:")] + "\n"
    text = text.replace("image: postgres:alpine", f"image: {images['postgres']}").replace("image: redis:alpine", f"image: {images['redis']}")
    assert "#    volumes:" in text
    return text


def uncomment_volumes(text: str) -> str:
    """What the fix does to the seed: `#    volumes:` / `#      - ./x:/y` become live lines."""
    return "\n".join(line[1:] if line.startswith("#    ") else line for line in text.splitlines()) + "\n"


def container_of(project: str, service: str) -> str:
    out = sh("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}", "--filter", f"label=com.docker.compose.service={service}").stdout.split()
    assert len(out) == 1, out
    return out[0]


def test_compose_project_anonymous_then_persisted(images, compose_flavour, tmp_path):
    project = f"hfinspect{uuid.uuid4().hex[:10]}"
    compose_file = tmp_path / "docker-compose.yml"
    compose_file.write_text(seed_db_and_redis(images))
    dc = [*compose_flavour, "-p", project, "-f", str(compose_file)]
    created_volumes: list[str] = []
    try:
        sh(*dc, "up", "-d", cwd=tmp_path, timeout=180)
        db, redis = container_of(project, "db"), container_of(project, "redis")
        created_volumes += volumes_of(db) + volumes_of(redis)
        old_pg_volume = volumes_of(db)[0]

        # 1. as shipped: both on anonymous volumes
        code, document, _ = inspect("--project", project)
        assert code == 1
        assert found(document) == {("HF501", f"docker://{project}/db"), ("HF501", f"docker://{project}/redis")}
        messages = {f["path"]: f["message"] for f in document["findings"]}
        assert old_pg_volume in messages[f"docker://{project}/db"] and "PostgreSQL 15" in messages[f"docker://{project}/db"]
        assert "/data" in messages[f"docker://{project}/redis"]
        wait_until(lambda: sh("docker", "exec", db, "test", "-s", "/var/lib/postgresql/data/PG_VERSION", check=False).returncode == 0, what="initdb")

        # 2. persisted like `holdfast fix --apply` does it with Compose v1: the old container must go first
        sh(*dc, "stop", "-t", "30", cwd=tmp_path)
        sh(*dc, "rm", "-f", cwd=tmp_path)  # without -v: the old volumes stay as a backup
        compose_file.write_text(uncomment_volumes(compose_file.read_text()))
        sh(*dc, "up", "-d", cwd=tmp_path, timeout=180)
        wait_until(lambda: (tmp_path / "postgres" / "PG_VERSION").exists(), what="postgres to initialise its bind mount")
        code, document, _ = inspect("--project", project)
        assert document["findings"] == [], document
        assert code == 0

        # ... and the first container's volume is now an orphan holding postgres data
        code, document, _ = inspect("--project", project, "--volume", old_pg_volume)
        assert found(document) == {("HF503", f"docker://volume/{old_pg_volume}")}
        assert "PostgreSQL 15 data" in document["findings"][0]["message"]
        assert code == 0  # a warning: below the default fail level
    finally:
        sh(*dc, "down", "-v", "--remove-orphans", "-t", "10", cwd=tmp_path, check=False, timeout=180)
        for name in created_volumes:
            sh("docker", "volume", "rm", name, check=False)


def test_plain_container_removed_without_v_leaves_an_orphan(images):
    name = f"hfinspect-plain-{uuid.uuid4().hex[:10]}"
    volume = None
    try:
        sh("docker", "run", "-d", "--name", name, images["postgres"])
        volume = volumes_of(name)[0]
        wait_until(lambda: sh("docker", "exec", name, "test", "-s", "/var/lib/postgresql/data/PG_VERSION", check=False).returncode == 0, what="initdb")

        # while it runs: a container started without Compose goes by its name; its volume is in use
        code, document, stderr = inspect("--volume", volume)
        assert ("HF501", f"docker://{name}") in found(document)
        assert not any(f["code"] == "HF503" for f in document["findings"])
        assert f"volume {volume}: used by a container" in stderr

        sh("docker", "rm", "-f", name)  # no -v: the anonymous volume is left dangling
        code, document, _ = inspect("--volume", volume, "--fail-level", "warning")
        orphans = [f for f in document["findings"] if f["code"] == "HF503"]
        assert [f["path"] for f in orphans] == [f"docker://volume/{volume}"]
        assert "anonymous volume holds PostgreSQL 15 data" in orphans[0]["message"]
        assert "PG_VERSION" in orphans[0]["message"]
        assert code == 1

        # the read-only helper is gone and the volume untouched
        assert sh("docker", "ps", "-aq", "--filter", f"volume={volume}").stdout.strip() == ""
        assert sh("docker", "volume", "inspect", volume, check=False).returncode == 0
    finally:
        sh("docker", "rm", "-f", name, check=False)
        if volume:
            sh("docker", "volume", "rm", volume, check=False)


def test_unreachable_engine_exits_2_with_one_line():
    result = sh(sys.executable, "-m", "holdfast", "inspect", "--host", "tcp://127.0.0.1:9", check=False, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "tcp://127.0.0.1:9" in result.stderr

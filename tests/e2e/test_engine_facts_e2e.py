"""An image holdfast does not know, on a real engine: the VOLUME it declares says where its data is.

A tiny image is built locally `FROM holdfast-test/base:bookworm` (no pull) with `VOLUME /srv/appdata`.
1. `inspect`: run through a Compose project under both Compose flavours and left on its anonymous
   volume, it is reported (HF501) with the declared path and the fix.
2. `fix --engine`: the file's anonymous entry is HF106; while the container holds the data the plain
   fix refuses, and `fix --engine --apply` moves the data into the bind that replaces the entry.
Only what the tests created is removed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DOCKERFILE = """FROM holdfast-test/base:bookworm
RUN printf '#!/bin/sh\\ntrap "exit 0" TERM\\nwhile :; do sleep 1 & wait $!; done\\n' > /usr/local/bin/appd && chmod +x /usr/local/bin/appd
VOLUME /srv/appdata
LABEL org.holdfast.test=enginefacts
CMD ["appd"]
"""


def sh(*argv: str, check: bool = True, timeout: float = 180, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def app_image(images, tmp_path_factory):
    """A local image holdfast has no entry for, declaring VOLUME /srv/appdata (removed afterwards)."""
    tag = f"hf-test-enginefacts-{uuid.uuid4().hex[:8]}:1"
    context = tmp_path_factory.mktemp("enginefacts-image")
    (context / "Dockerfile").write_text(DOCKERFILE)
    sh("docker", "build", "--pull=false", "-q", "-t", tag, str(context), timeout=300)
    try:
        yield tag
    finally:
        sh("docker", "rmi", "-f", tag, check=False)


def test_inspect_reports_an_unknown_image_data_on_its_declared_anonymous_volume(app_image, compose_flavour, tmp_path):
    project = f"hfenginefacts{uuid.uuid4().hex[:10]}"
    (tmp_path / "docker-compose.yml").write_text(f"version: '2.1'\nservices:\n  app:\n    image: {app_image}\n")
    dc = [*compose_flavour, "-p", project, "-f", str(tmp_path / "docker-compose.yml")]
    volumes: list[str] = []
    try:
        sh(*dc, "up", "-d", cwd=tmp_path)
        [container] = sh("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").stdout.split()
        volumes += sh("docker", "inspect", "-f", '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', container).stdout.split()
        assert len(volumes) == 1

        result = sh(sys.executable, "-m", "holdfast", "inspect", "--format", "json", "--project", project, check=False)
        assert result.returncode == 1, result.stderr
        [finding] = json.loads(result.stdout)["findings"]
        assert (finding["code"], finding["path"]) == ("HF501", f"docker://{project}/app")
        assert f"data in /srv/appdata is on anonymous volume {volumes[0]}" in finding["message"]
        assert "mount a bind or named volume at /srv/appdata" in finding["message"]

        # persisted: nothing to say
        sh(*dc, "down", "-t", "5", cwd=tmp_path)
        (tmp_path / "docker-compose.yml").write_text(f"version: '2.1'\nservices:\n  app:\n    image: {app_image}\n    volumes:\n      - ./appdata:/srv/appdata\n")
        sh(*dc, "up", "-d", cwd=tmp_path)
        result = sh(sys.executable, "-m", "holdfast", "inspect", "--format", "json", "--project", project, check=False)
        assert result.returncode == 0 and json.loads(result.stdout)["findings"] == [], result.stdout + result.stderr
    finally:
        sh(*dc, "down", "-v", "-t", "5", cwd=tmp_path, check=False)
        for volume in volumes:
            sh("docker", "volume", "rm", volume, check=False)


def test_fix_engine_refuses_while_live_then_apply_moves_the_data(app_image, tmp_path, monkeypatch):
    monkeypatch.setenv("HOLDFAST_COMPOSE", "v2")
    project = f"hfenginefacts{uuid.uuid4().hex[:10]}"
    folder = tmp_path / project
    folder.mkdir()
    text = f"services:\n  app:\n    image: {app_image}\n    volumes:\n      - /srv/appdata\n"
    (folder / "compose.yaml").write_text(text)
    (folder / ".holdfast.toml").write_text("")
    dc = ["docker", "compose", "-p", project]
    volumes: list[str] = []

    def holdfast_fix(*args: str) -> subprocess.CompletedProcess:
        return sh(sys.executable, "-m", "holdfast", "fix", "--engine", *args, ".", cwd=folder, check=False, timeout=300)

    try:
        sh(*dc, "up", "-d", cwd=folder)
        [container] = sh("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").stdout.split()
        volumes += sh("docker", "inspect", "-f", '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', container).stdout.split()
        sh("docker", "exec", container, "sh", "-c", "echo kept > /srv/appdata/state.txt")

        refused = holdfast_fix()
        assert "cannot fix HF106 in service app" in refused.stdout and "fix --apply" in refused.stdout, refused.stdout + refused.stderr
        assert (folder / "compose.yaml").read_text() == text  # nothing written while the container holds the data

        applied = holdfast_fix("--apply", "--yes", "--backup-dir", str(tmp_path / "backup"))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert (folder / "compose.yaml").read_text() == text.replace("- /srv/appdata", "- ./data/app:/srv/appdata")
        assert (folder / "data" / "app" / "state.txt").read_text() == "kept\n"
        [container] = sh("docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}").stdout.split()
        mounts = json.loads(sh("docker", "inspect", "-f", "{{json .Mounts}}", container).stdout)
        assert [(m["Type"], m["Destination"]) for m in mounts] == [("bind", "/srv/appdata")]
    finally:
        sh(*dc, "down", "-v", "-t", "5", cwd=folder, check=False)
        for volume in volumes:
            sh("docker", "volume", "rm", volume, check=False)

"""`holdfast lint --engine`: an image holdfast does not know is judged by the VOLUMEs the local engine says it declares.

Without `--engine` lint never talks to Docker and says nothing about such an image; with it, the
declared data folder that the service leaves unmounted is a finding.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

pytestmark = [pytest.mark.docker]


def _lint(folder, *extra: str) -> tuple[int, dict, str]:
    result = subprocess.run([sys.executable, "-m", "holdfast", "lint", "--no-cache", "--format", "json", *extra, str(folder)], capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout or "{}"), result.stderr


def test_lint_engine_reports_an_unknown_image_by_its_declared_volume(images, tmp_path):
    tag = uuid.uuid4().hex[:8]
    image = f"hf-test-lint-engine-{tag}:1"
    base = subprocess.run(["docker", "create", "--label", "org.holdfast.test=lint-engine", "redis:alpine"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        subprocess.run(["docker", "commit", "--change", 'VOLUME ["/srv/store"]', base, image], capture_output=True, check=True)
        (tmp_path / "compose.yaml").write_text(f"services:\n  store:\n    image: {image}\n", encoding="utf-8")

        code, plain, _ = _lint(tmp_path)
        assert code == 0 and plain["findings"] == [], plain

        code, report, err = _lint(tmp_path, "--engine")
        assert code in (0, 1), err
        found = [f for f in report["findings"] if f["service"] == "store"]
        assert found, report
        assert any("/srv/store" in f["message"] for f in found), found
        assert f"image {image}" in err and "declares VOLUME" in err

        (tmp_path / "compose.yaml").write_text(f"services:\n  store:\n    image: {image}\n    volumes:\n      - ./store:/srv/store\n      - ./data:/data\n", encoding="utf-8")
        code, report, err = _lint(tmp_path, "--engine")
        assert [f for f in report["findings"] if f["service"] == "store"] == [], report
    finally:
        subprocess.run(["docker", "rm", "-f", base], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True)


def test_lint_engine_without_an_engine_is_one_line_exit_2(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "holdfast", "lint", "--engine", "-H", "tcp://127.0.0.1:1", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--engine: no Docker engine answers at tcp://127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr

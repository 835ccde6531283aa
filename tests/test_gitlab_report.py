"""The GitLab Code Quality job of docs/ci/gitlab.md, run on a copy of the seed file.

The job's `holdfast` commands are taken from the documentation itself and run as written, so
the page cannot drift from what works. The report must satisfy what GitLab reads: a JSON array
of issues with description, check_name, a unique fingerprint, one of GitLab's severities, and
location.path / location.lines.begin; fingerprints must survive lines moving.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ci" / "gitlab.md"
SEED = ROOT / "examples" / "mastodon-v1.3.2" / "docker-compose.yml"

GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def fenced_blocks(markdown: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", markdown, flags=re.M | re.S)


def doc_job() -> dict:
    """The job in the page's YAML block that declares a codequality report."""
    yaml = YAML(typ="safe")
    for block in fenced_blocks(DOC.read_text(encoding="utf-8"), "yaml"):
        for job in (yaml.load(block) or {}).values():
            if isinstance(job, dict) and "codequality" in job.get("artifacts", {}).get("reports", {}):
                return job
    raise AssertionError(f"{DOC}: no YAML block with a job declaring artifacts:reports:codequality")


def holdfast_env() -> dict[str, str]:
    """The environment of the commands: this interpreter's `holdfast` first on PATH."""
    scripts = Path(sys.executable).parent
    if not any((scripts / name).exists() for name in ("holdfast", "holdfast.exe")):
        pytest.fail(f"no `holdfast` script beside {sys.executable}: install the project (pip install -e '.[test]')")
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "NO_COLOR")}
    env["PATH"] = os.pathsep.join([str(scripts), env.get("PATH", "")])
    return env


def run_job_commands(job: dict, project: Path) -> list[subprocess.CompletedProcess[str]]:
    """Run the job's `holdfast` commands as written (the install line needs the published URL)."""
    commands = [line for line in job["script"] if line.startswith("holdfast ")]
    assert commands, "the job runs no holdfast command"
    return [
        subprocess.run(command, shell=True, cwd=project, env=holdfast_env(), capture_output=True, text=True, timeout=120)
        for command in commands
    ]


def line_of(text: str, needle: str) -> int:
    return text.splitlines().index(needle) + 1


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    shutil.copyfile(SEED, folder / "docker-compose.yml")
    return folder


def test_job_declares_the_report_and_keeps_it_on_failure() -> None:
    job = doc_job()
    report = job["artifacts"]["reports"]["codequality"]
    assert report == "gl-code-quality-report.json"
    assert job["artifacts"].get("when") == "always"
    writers = [line for line in job["script"] if "--format gitlab" in line]
    assert len(writers) == 1 and f"-o {report}" in writers[0], writers


def test_report_shape(project: Path) -> None:
    job = doc_job()
    results = run_job_commands(job, project)
    # The log line never fails the job; the report line carries holdfast's exit code (1: findings).
    for result in results:
        assert "Traceback" not in result.stderr, result.stderr
    log, report_run = results[0], results[-1]
    assert log.returncode == 0, log.stdout + log.stderr
    assert "HF101" in log.stdout
    assert report_run.returncode == 1, report_run.stdout + report_run.stderr

    path = project / job["artifacts"]["reports"]["codequality"]
    issues = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(issues, list) and issues
    for issue in issues:
        assert isinstance(issue, dict)
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str) and issue["check_name"]
        assert isinstance(issue["fingerprint"], str) and issue["fingerprint"]
        assert issue["severity"] in GITLAB_SEVERITIES
        assert issue["location"]["path"] == "docker-compose.yml"
        begin = issue["location"]["lines"]["begin"]
        assert isinstance(begin, int) and begin >= 1
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == len(fingerprints), "fingerprints must be unique within a report"

    text = SEED.read_text(encoding="utf-8")
    found = sorted((i["check_name"], i["location"]["lines"]["begin"], i["severity"]) for i in issues)
    assert found == sorted(
        [
            ("HF101", line_of(text, "  db:"), "critical"),
            ("HF101", line_of(text, "  redis:"), "critical"),
            ("HF104", line_of(text, "    image: postgres:alpine"), "major"),
            ("HF104", line_of(text, "    image: redis:alpine"), "major"),
        ]
    )


def test_fingerprints_survive_lines_moving(project: Path) -> None:
    job = doc_job()
    report = project / job["artifacts"]["reports"]["codequality"]

    run_job_commands(job, project)
    before = {i["fingerprint"]: i for i in json.loads(report.read_text(encoding="utf-8"))}

    compose = project / "docker-compose.yml"
    shift = 3
    compose.write_text("\n" * shift + compose.read_text(encoding="utf-8"), encoding="utf-8")
    run_job_commands(job, project)
    after = {i["fingerprint"]: i for i in json.loads(report.read_text(encoding="utf-8"))}

    assert after.keys() == before.keys()
    for fingerprint, issue in after.items():
        old = before[fingerprint]
        assert issue["check_name"] == old["check_name"]
        assert issue["location"]["lines"]["begin"] == old["location"]["lines"]["begin"] + shift

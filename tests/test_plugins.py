"""Plugins: a real third-party distribution (tests/plugin_pkg) installed through pip adds rule
X900 via the `holdfast` entry-point group; its deliberately broken second entry point costs one
warning line and nothing else. Plus in-process checks of the isolation in load_plugins."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from holdfast.config import Config
from holdfast.discovery import ProjectFiles
from holdfast.engine import Linter
from holdfast.hookspecs import hookimpl
from holdfast.model import Rule, Severity
from holdfast.plugins import load_plugins

PLUGIN_SRC = Path(__file__).resolve().parent / "plugin_pkg"
DIST = "holdfast-example-plugin"
COMPOSE = "services:\n  web:\n    image: nginx:latest\n  db:\n    image: postgres:16\n"


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=300)


def _can_build_without_isolation() -> bool:
    """True when the current environment's setuptools can build a wheel by itself."""
    from importlib.util import find_spec

    if find_spec("setuptools") is None:
        return False
    if find_spec("wheel") is not None:
        return True
    import setuptools

    return tuple(int(p) for p in setuptools.__version__.split(".")[:2] if p.isdigit()) >= (70, 1)


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    """Install the example plugin into THIS environment for the module's tests, then remove it."""
    if pip("show", DIST).returncode == 0:
        pytest.fail(f"{DIST} is already installed; uninstall it first (`pip uninstall {DIST}`)")
    # build from a copy so that build/ and *.egg-info never land in the repository
    source = tmp_path_factory.mktemp("plugin") / "plugin_pkg"
    shutil.copytree(PLUGIN_SRC, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    if _can_build_without_isolation():  # fastest: no download of build requirements
        result = pip("install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet", str(source))
    else:  # an old setuptools without `wheel`: let pip fetch the build backend
        result = pip("install", "--no-deps", "--quiet", str(source))
    assert result.returncode == 0, result.stderr
    try:
        yield DIST
    finally:
        removed = pip("uninstall", "--yes", DIST)
        assert removed.returncode == 0, removed.stderr


def holdfast(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HOLDFAST_DEBUG"}
    return subprocess.run([sys.executable, "-m", "holdfast", *argv], cwd=cwd, capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / ".holdfast.toml").write_text("")
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    return tmp_path


def mentions_broken(text: str) -> list[str]:
    return [line for line in text.splitlines() if "example-broken" in line]


# --------------------------------------------------------------------------- installed distribution


def test_lint_runs_the_plugin_rule_and_the_builtins(installed_plugin, project):
    result = holdfast("lint", "--format", "json", "compose.yaml", cwd=project)
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    found = sorted((f["code"], f["service"], f["line"]) for f in findings)
    assert ("X900", "web", 3) in found  # the plugin's rule, at the image line
    assert ("HF101", "db", 4) in found  # the built-in rules still run
    x900 = next(f for f in findings if f["code"] == "X900")
    assert x900["name"] == "example-image-tag-latest" and x900["severity"] == "warning"
    # the broken entry point: exactly one warning line (stderr for machine formats), no traceback
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert len(mentions_broken(result.stderr)) == 1
    assert "warning" in result.stderr


def test_text_format_has_one_warning_line(installed_plugin, project):
    result = holdfast("lint", "compose.yaml", cwd=project)
    assert result.returncode == 1
    assert len(mentions_broken(result.stdout + result.stderr)) == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "compose.yaml:3:5: X900" in result.stdout
    assert "compose.yaml:4:3: HF101" in result.stdout


def test_plugin_rule_obeys_selection_and_suppression(installed_plugin, project):
    result = holdfast("lint", "--format", "json", "--select", "X900", "compose.yaml", cwd=project)
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["X900"]
    result = holdfast("lint", "--format", "json", "--ignore", "X9", "compose.yaml", cwd=project)
    assert "X900" not in [f["code"] for f in json.loads(result.stdout)["findings"]]
    (project / "compose.yaml").write_text(COMPOSE.replace("nginx:latest", "nginx:latest  # holdfast: ignore[X900] demo"))
    result = holdfast("lint", "--format", "json", "compose.yaml", cwd=project)
    assert "X900" not in [f["code"] for f in json.loads(result.stdout)["findings"]]


def test_plugins_command_lists_it(installed_plugin, project):
    result = holdfast("plugins", cwd=project)
    assert result.returncode == 0
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "example" in rows and rows["example"].rstrip().endswith("ok")
    assert DIST in normalised(rows["example"]) and "0.0.1" in rows["example"]
    assert "example-broken" in rows and "FAILED" in rows["example-broken"] and "RuntimeError" in rows["example-broken"]
    assert "rules" in rows and rows["rules"].rstrip().endswith("ok")


def test_rules_and_rule_commands_include_it(installed_plugin, project):
    result = holdfast("rules", cwd=project)
    assert result.returncode == 0
    row = next(line.split() for line in result.stdout.splitlines() if line.startswith("X900"))
    assert row == ["X900", "example-image-tag-latest", "warning", "no", "yes"]
    result = holdfast("rule", "X900", cwd=project)
    assert result.returncode == 0 and "## What it does" in result.stdout


# --------------------------------------------------------------------------- in-process isolation


class _Always(Rule):
    """Reports every service."""

    code, name, severity = "X901", "always", Severity.INFO

    def check(self, ctx):
        for service in ctx.project.services.values():
            yield ctx.finding(service.primary, (), "seen", service=service.name)


class _Crashes(Rule):
    """Raises inside check()."""

    code, name, severity = "X902", "crashes", Severity.ERROR

    def check(self, ctx):
        raise ZeroDivisionError("rule bug")
        yield  # pragma: no cover


class GoodPlugin:
    @hookimpl
    def holdfast_rules(self):
        return [_Always, _Crashes]

    @hookimpl
    def holdfast_stateful_images(self):
        from holdfast.knowledge import entry_from_config

        return [entry_from_config("ledger", {"match": ["example/ledger*"], "data-paths": ["/srv/ledger"]})]


class RaisingPlugin:
    @hookimpl
    def holdfast_rules(self):
        raise RuntimeError("plugin bug")


def lint_with(plugins, tmp_path: Path, text: str):
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    linter = Linter(Config(), plugins=plugins)
    return linter, linter.lint_files(ProjectFiles([str(path)], {str(path)}))


def test_a_raising_hook_loses_only_its_own_results(tmp_path):
    plugins = load_plugins(extra=[GoodPlugin(), RaisingPlugin()])
    rules = plugins.rules()
    assert {"X901", "X902", "HF101"} <= set(rules)
    # (the example distribution may be installed while this runs: ignore its own warning)
    ours = [w for w in plugins.warnings if "example-broken" not in w]
    assert len(ours) == 1 and "plugin bug" in ours[0]


def test_a_crashing_rule_is_a_notice_and_the_others_run(tmp_path):
    linter, result = lint_with(load_plugins(extra=[GoodPlugin()]), tmp_path, "services:\n  db:\n    image: postgres:16\n")
    assert sorted(f.code for f in result.findings) == ["HF101", "X901"]
    assert [n for n in result.notices if "X902" in n and "ZeroDivisionError" in n]


def test_plugin_adds_stateful_image_knowledge(tmp_path):
    text = "services:\n  ledger:\n    image: example/ledger:1.17\n"  # an image the built-in knowledge does not know
    _, without = lint_with(load_plugins(), tmp_path, text)
    assert "HF101" not in [f.code for f in without.findings]
    _, with_plugin = lint_with(load_plugins(extra=[GoodPlugin()]), tmp_path, text)
    hf101 = [f for f in with_plugin.findings if f.code == "HF101"]
    assert len(hf101) == 1 and "/srv/ledger" in hf101[0].message


def test_builtin_rules_come_through_the_entry_point_group():
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group="holdfast")}
    assert eps.get("rules") == "holdfast.rules"
    plugins = load_plugins()
    loaded = {p.name: p for p in plugins.loaded}
    assert loaded["rules"].error is None and loaded["rules"].distribution == "holdfast"

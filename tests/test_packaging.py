"""Packaging: the built wheel holds exactly the `holdfast` package (folders mapped by
package-dir), its data files and entry points, and works when imported from the wheel."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support import ROOT, SEED

SKIP_COPY = {".git", "build", "dist", "benchmarks", ".venv", ".pytest_cache", "__pycache__"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the working tree (so build/ and *.egg-info never touch the repository)."""
    from importlib.util import find_spec

    if find_spec("build") is None:
        pytest.fail("`build` is a test dependency: pip install -e '.[test]'")
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP_COPY or n.endswith(".egg-info")}

    shutil.copytree(ROOT, source, ignore=ignore)
    out = base / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = list(out.glob("holdfast-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def names(wheel) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def read(wheel: Path, suffix: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(suffix)]
        return archive.read(name).decode("utf-8")


def test_wheel_holds_the_package_and_its_data(names):
    required = [
        "holdfast/__init__.py",
        "holdfast/__main__.py",
        "holdfast/cli.py",
        "holdfast/py.typed",
        "holdfast/rules/__init__.py",
        "holdfast/fixers/__init__.py",
        "holdfast/apply/__init__.py",
        "holdfast/reporters/__init__.py",
        "holdfast/data/compose-spec.json",
        "holdfast/data/LICENSE.compose-spec",
        "holdfast/data/PROVENANCE.md",
        "holdfast/data/images.json",
        "holdfast/data/images.schema.json",
        "holdfast/apply/plan-schema.json",
    ]
    missing = [n for n in required if n not in names]
    assert missing == []


@pytest.mark.parametrize("folder, package", [("rules", "holdfast/rules"), ("lint/reporters", "holdfast/reporters"), ("fixers", "holdfast/fixers"), ("lint", "holdfast"), ("apply", "holdfast/apply")])
def test_every_module_of_a_folder_is_in_the_wheel(names, folder, package):
    modules = sorted(p.name for p in (ROOT / folder).glob("*.py"))
    assert modules, folder
    missing = [m for m in modules if f"{package}/{m}" not in names]
    assert missing == []


def test_no_tests_and_no_bare_top_level_packages(names):
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"holdfast", next(t for t in top if t.endswith(".dist-info"))}
    assert not [n for n in names if "/tests/" in n or n.startswith("tests/") or "conftest" in n]
    assert not [n for n in names if n.endswith((".pyc", ".egg-info"))]


def test_top_level_txt(wheel):
    assert read(wheel, ".dist-info/top_level.txt").split() == ["holdfast"]


def test_entry_points(wheel):
    parser = configparser.ConfigParser()
    parser.read_string(read(wheel, ".dist-info/entry_points.txt"))
    assert parser["console_scripts"]["holdfast"] == "holdfast.cli:main"
    assert parser["holdfast"]["rules"] == "holdfast.rules"
    assert parser["holdfast"]["fixers"] == "holdfast.fixers"


def test_metadata(wheel):
    metadata = read(wheel, ".dist-info/METADATA")
    assert "Name: holdfast" in metadata
    from holdfast import __version__

    assert f"Version: {__version__}" in metadata
    for requirement in ("ruamel.yaml", "pluggy", "click", "jsonschema"):
        assert f"Requires-Dist: {requirement}" in metadata


def test_the_wheel_runs(wheel, tmp_path):
    """Unpacked first on sys.path, the wheel's own code answers --version and lints the seed."""
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    env.pop("HOLDFAST_DEBUG", None)
    where = subprocess.run([sys.executable, "-c", "import holdfast; print(holdfast.__file__)"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(unpacked), where.stdout + where.stderr
    version = subprocess.run([sys.executable, "-m", "holdfast", "--version"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    from holdfast import __version__

    assert version.returncode == 0 and __version__ in version.stdout
    lint = subprocess.run([sys.executable, "-m", "holdfast", "lint", "--format", "concise", str(SEED)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert lint.returncode == 1, lint.stderr
    assert lint.stderr == "" and "warning" not in lint.stdout
    assert lint.stdout.count(" HF101 ") == 2
    # HF002 needs the shipped schema (package data)
    (tmp_path / ".holdfast.toml").write_text("")
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1\n    restrat: always\n")
    lint = subprocess.run([sys.executable, "-m", "holdfast", "lint", "--format", "concise", "compose.yaml"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert lint.stderr == "" and "warning" not in lint.stdout
    assert "compose.yaml:4:5: HF002" in lint.stdout and "restrat" in lint.stdout


def test_python_m_holdfast_version_in_this_environment():
    result = subprocess.run([sys.executable, "-m", "holdfast", "--version"], capture_output=True, text=True, timeout=60)
    from holdfast import __version__

    assert result.returncode == 0 and result.stdout.strip().endswith(__version__)

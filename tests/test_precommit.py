"""The pre-commit hooks (.pre-commit-hooks.yaml) and docs/ci/pre-commit.md, run for real.

The slow tests call the real `pre-commit`, which builds a virtualenv and pip-installs this
repository into it (PyPI must be reachable):

- `pre-commit try-repo <this repository> holdfast --all-files` in a temporary git repository
  holding a copy of the seed file, then `holdfast-fix` twice (modifies, then passes);
- the `.pre-commit-config.yaml` of the docs, installed as a git hook, through `git commit`.

`try-repo` takes the repository's last commit plus changes to tracked files; untracked files
are left out. When the working tree has untracked files (new modules not yet committed), the
tests use a snapshot of the working tree instead: a git repository holding the same files,
committed with fixed dates so that the same content gives the same commit, kept under
$HOLDFAST_TEST_CACHE (default: <tmp>/holdfast-test-cache) together with the PRE_COMMIT_HOME
of the docs test, so that a second run reuses the hook environment.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

import holdfast
from holdfast.discovery import is_compose_name

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
DOC = ROOT / "docs" / "ci" / "pre-commit.md"
SEED = ROOT / "examples" / "mastodon-v1.3.2" / "docker-compose.yml"
CACHE = Path(os.environ.get("HOLDFAST_TEST_CACHE") or Path(tempfile.gettempdir()) / "holdfast-test-cache") / "pre-commit"
DOC_URL = "https://github.com/OWNER/holdfast"
FIXED_DATE = "2000-01-01T00:00:00+0000"

COMPOSE_NAMES = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
    "compose.prod.yaml",
    "compose.ci.test.yml",
    "docker-compose.dev.yml",
    "docker-compose.with-dashes_and.dots.yaml",
    "deploy/compose.yaml",
    "a/b/docker-compose.override.yml",
    "compose/compose.yml",
]
OTHER_NAMES = [
    "compose.json",
    "compose.yaml.bak",
    "docker-compose.yml.orig",
    "my-compose.yml",
    "mycompose.yaml",
    "compose-prod.yml",
    "composer.yaml",
    "docker-compose.txt",
    "compose/app.yaml",
    "docker-compose.yml/notes.md",
    ".github/workflows/ci.yml",
]


def pre_commit_module():
    """pre-commit's config module; a missing pre-commit is a failure (it is a test dependency)."""
    try:
        import pre_commit.clientlib
    except ImportError:
        pytest.fail("pre-commit is a test dependency: python -m pip install -e '.[test]'")
    return pre_commit.clientlib


def manifest() -> list[dict]:
    return pre_commit_module().load_manifest(str(MANIFEST))


def hooks_by_id() -> dict[str, dict]:
    return {hook["id"]: hook for hook in manifest()}


def doc_yaml_blocks() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.M | re.S)


def doc_config_text() -> str:
    (config,) = [block for block in doc_yaml_blocks() if block.startswith("repos:")]
    return config


def line_of(needle: str) -> int:
    return SEED.read_text(encoding="utf-8").splitlines().index(needle) + 1


# --------------------------------------------------------------------------- git helpers
def clean_env(**extra: str) -> dict[str, str]:
    """The environment for git and pre-commit: nothing inherited from an enclosing git hook."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **extra)
    env.pop("NO_COLOR", None)
    return env


def git(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


def is_git_checkout() -> bool:
    try:
        return subprocess.run(["git", "rev-parse", "--git-dir"], cwd=ROOT, capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False


def working_tree_files() -> list[str]:
    """Tracked and untracked, not ignored, files; a virtualenv someone left in the tree is skipped."""
    listing = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    names = [name for name in listing.split("\0") if name and (ROOT / name).is_file()]
    venvs = tuple(name.removesuffix("pyvenv.cfg") for name in names if name.endswith("/pyvenv.cfg"))
    return sorted(name for name in names if not (venvs and name.startswith(venvs)))


def snapshot() -> tuple[Path, str]:
    """A git repository holding this working tree, one commit, the same hash for the same content."""
    files = working_tree_files()
    digest = hashlib.sha256()
    for name in files:
        path = ROOT / name
        digest.update(f"{name}\0{os.access(path, os.X_OK)}\0".encode())
        digest.update(path.read_bytes())
    key = digest.hexdigest()[:16]
    CACHE.mkdir(parents=True, exist_ok=True)
    prune(keep=key)
    destination = CACHE / f"repo-{key}"
    if not (destination / ".git").is_dir():
        build = CACHE / f".build-{key}-{os.getpid()}"
        shutil.rmtree(build, ignore_errors=True)
        for name in files:
            (build / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, build / name)
        env = clean_env(GIT_AUTHOR_DATE=FIXED_DATE, GIT_COMMITTER_DATE=FIXED_DATE)
        git("init", "-q", cwd=build, env=env)
        git("add", "-A", cwd=build, env=env)
        git("-c", "user.name=holdfast tests", "-c", "user.email=tests@holdfast.invalid", "-c", "commit.gpgsign=false",
            "commit", "-q", "--no-verify", "-m", "working tree snapshot", cwd=build, env=env)
        try:
            build.rename(destination)
        except OSError:  # another session made it first
            shutil.rmtree(build, ignore_errors=True)
    return destination, git("rev-parse", "HEAD", cwd=destination).strip()


def prune(keep: str, max_age: float = 3600) -> None:
    """Forget snapshots and hook environments of other contents, once they are old."""
    for path in CACHE.iterdir():
        if keep not in path.name and time.time() - path.stat().st_mtime > max_age:
            shutil.rmtree(path, ignore_errors=True)


def hook_repository() -> tuple[Path, str]:
    """What to hand `pre-commit try-repo`: this repository, or its snapshot when it has untracked files."""
    if not is_git_checkout():
        pytest.skip(f"{ROOT} is not a git checkout: pre-commit installs hooks from git repositories")
    untracked = git("ls-files", "--others", "--exclude-standard", cwd=ROOT).split()
    if not untracked:
        return ROOT, "this repository"
    path, _ = snapshot()
    return path, f"a snapshot of the working tree ({len(untracked)} untracked files that try-repo would leave out)"


def make_project(path: Path) -> Path:
    """A git repository holding a copy of the seed file, committed."""
    path.mkdir(parents=True)
    git("init", "-q", cwd=path)
    git("config", "user.email", "tests@holdfast.invalid", cwd=path)
    git("config", "user.name", "holdfast tests", cwd=path)
    git("config", "commit.gpgsign", "false", cwd=path)
    shutil.copyfile(SEED, path / "docker-compose.yml")
    git("add", "docker-compose.yml", cwd=path)
    git("commit", "-q", "--no-verify", "-m", "seed", cwd=path)
    return path


def pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    pre_commit_module()
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd, env=clean_env(PRE_COMMIT_HOME=str(home)), capture_output=True, text=True, timeout=900,
    )


def assert_volumes_uncommented(original: str, fixed: str) -> None:
    """Both commented-out volumes blocks are live now, and no other line changed."""
    services = YAML(typ="safe").load(fixed)["services"]
    assert "./postgres:/var/lib/postgresql/data" in services["db"]["volumes"], fixed
    assert "./redis:/data" in services["redis"]["volumes"], fixed
    old, new = original.splitlines(), fixed.splitlines()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            assert all(line.lstrip().startswith("#") for line in old[i1:i2]), f"an uncommented line changed: {old[i1:i2]}"


# ------------------------------------------------------------------------- fast checks
def test_manifest_is_valid() -> None:
    hooks = hooks_by_id()
    assert set(hooks) == {"holdfast", "holdfast-fix"}
    assert hooks["holdfast"]["entry"] == "holdfast lint"
    assert hooks["holdfast-fix"]["entry"] == "holdfast fix --exit-zero --no-engine"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is True
        assert "yaml" in hook["types"]
    assert hooks["holdfast"]["files"] == hooks["holdfast-fix"]["files"]
    assert hooks["holdfast-fix"]["require_serial"] is True


def test_files_pattern_matches_every_compose_name() -> None:
    from identify.identify import tags_from_path

    pattern = re.compile(hooks_by_id()["holdfast"]["files"])
    for name in COMPOSE_NAMES:
        assert pattern.search(name), name
        assert is_compose_name(name.rsplit("/", 1)[-1]), f"holdfast.discovery disagrees: {name}"
    for name in OTHER_NAMES:
        assert not pattern.search(name), name
        assert not is_compose_name(name.rsplit("/", 1)[-1]), f"holdfast.discovery disagrees: {name}"
    # `types: [yaml]` must not drop a compose file pre-commit would hand the hook.
    with tempfile.TemporaryDirectory() as folder:
        for name in COMPOSE_NAMES:
            path = Path(folder, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("services: {}\n", encoding="utf-8")
            assert "yaml" in tags_from_path(str(path)), name


def test_doc_config_is_valid(tmp_path: Path) -> None:
    config_text = doc_config_text()
    path = tmp_path / ".pre-commit-config.yaml"
    path.write_text(config_text, encoding="utf-8")
    config = pre_commit_module().load_config(str(path))
    (repo,) = config["repos"]
    assert repo["repo"] == DOC_URL
    assert repo["rev"] == f"v{holdfast.__version__}"
    ids = [hook["id"] for hook in repo["hooks"]]
    assert ids == ["holdfast-fix", "holdfast"], "fix first, so that lint judges the fixed file"
    assert set(ids) <= set(hooks_by_id())


def test_doc_args_example_is_accepted(tmp_path: Path) -> None:
    """The `args:` example of the docs, run the way pre-commit runs it: entry + args + files."""
    (example,) = [block for block in doc_yaml_blocks() if "args:" in block]
    (hook,) = YAML(typ="safe").load(example)
    entry = hooks_by_id()[hook["id"]]["entry"].split()
    shutil.copyfile(SEED, tmp_path / "docker-compose.yml")
    command = [sys.executable, "-m", "holdfast", *entry[1:], *hook["args"], "docker-compose.yml"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr  # HF101 is still an error
    assert "HF101" in result.stdout and "HF104" not in result.stdout


def test_hook_entries_never_touch_docker(tmp_path: Path) -> None:
    """Both entries work where the Docker SDK cannot even be imported and no engine answers."""
    poison = tmp_path / "poison"
    poison.mkdir()
    (poison / "docker.py").write_text("raise ImportError('the pre-commit hooks must not import docker')\n", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copyfile(SEED, project / "docker-compose.yml")
    env = dict(os.environ, PYTHONPATH=str(poison), DOCKER_HOST="tcp://127.0.0.1:9")
    for hook_id, code in (("holdfast", 1), ("holdfast-fix", 0), ("holdfast", 0)):
        entry = hooks_by_id()[hook_id]["entry"].split()
        command = [sys.executable, "-m", "holdfast", *entry[1:], "docker-compose.yml"]
        result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == code, f"{hook_id}: {result.stdout}{result.stderr}"
        assert "docker" not in result.stderr.lower(), result.stderr


# ----------------------------------------------------------------- real pre-commit runs
@pytest.mark.slow
def test_try_repo_lint_then_fix(tmp_path: Path) -> None:
    repository, what = hook_repository()
    project = make_project(tmp_path / "project")
    compose = project / "docker-compose.yml"
    original = compose.read_text(encoding="utf-8")
    home = tmp_path / "pre-commit-home"

    lint = pre_commit("try-repo", str(repository), "holdfast", "--all-files", "--color=never", cwd=project, home=home)
    output = lint.stdout + lint.stderr
    assert lint.returncode == 1, f"try-repo of {what}:\n{output}"
    assert "- hook id: holdfast\n" in output
    assert f"docker-compose.yml:{line_of('  db:')}:3: HF101 " in output, output
    assert f"docker-compose.yml:{line_of('  redis:')}:3: HF101 " in output, output
    assert compose.read_text(encoding="utf-8") == original, "the lint hook must not change files"

    fix = pre_commit("try-repo", str(repository), "holdfast-fix", "--all-files", "--color=never", cwd=project, home=home)
    output = fix.stdout + fix.stderr
    assert fix.returncode == 1, f"try-repo of {what}:\n{output}"
    assert "- files were modified by this hook" in output, output
    fixed = compose.read_text(encoding="utf-8")
    assert_volumes_uncommented(original, fixed)

    again = pre_commit("try-repo", str(repository), "holdfast-fix", "--all-files", "--color=never", cwd=project, home=home)
    output = again.stdout + again.stderr
    assert again.returncode == 0, f"try-repo of {what}:\n{output}"
    assert "Passed" in output
    assert compose.read_text(encoding="utf-8") == fixed

    check = subprocess.run(
        [sys.executable, "-m", "holdfast", "lint", "--select", "HF101", "docker-compose.yml"],
        cwd=project, capture_output=True, text=True, timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.slow
def test_doc_config_through_git_commit(tmp_path: Path) -> None:
    """The docs' config and commands: `pre-commit install`, a commit, `pre-commit run --all-files`."""
    if not is_git_checkout():
        pytest.skip(f"{ROOT} is not a git checkout: pre-commit installs hooks from git repositories")
    repository, sha = snapshot()
    home = CACHE / f"home-{repository.name.removeprefix('repo-')}"
    config = doc_config_text()
    assert DOC_URL in config and f"rev: v{holdfast.__version__}" in config
    config = config.replace(DOC_URL, str(repository)).replace(f"rev: v{holdfast.__version__}", f"rev: {sha}")

    project = tmp_path / "project"
    project.mkdir()
    git("init", "-q", cwd=project)
    git("config", "user.email", "tests@holdfast.invalid", cwd=project)
    git("config", "user.name", "holdfast tests", cwd=project)
    git("config", "commit.gpgsign", "false", cwd=project)
    (project / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    git("add", ".pre-commit-config.yaml", cwd=project)
    git("commit", "-q", "-m", "pre-commit", cwd=project)

    commands = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("pre-commit ")]
    assert commands[:2] == ["pre-commit install", "pre-commit run --all-files"]
    installed = pre_commit("install", cwd=project, home=home)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    shutil.copyfile(SEED, project / "docker-compose.yml")
    git("add", "docker-compose.yml", cwd=project)
    env = clean_env(PRE_COMMIT_HOME=str(home))
    first = subprocess.run(["git", "commit", "-m", "compose"], cwd=project, env=env, capture_output=True, text=True, timeout=900)
    output = first.stdout + first.stderr
    assert first.returncode != 0, f"the commit must stop when holdfast-fix changed the file:\n{output}"
    assert "files were modified by this hook" in output, output
    assert_volumes_uncommented(SEED.read_text(encoding="utf-8"), (project / "docker-compose.yml").read_text(encoding="utf-8"))

    git("add", "docker-compose.yml", cwd=project)
    second = subprocess.run(["git", "commit", "-m", "compose"], cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "docker-compose.yml" in git("show", "--name-only", "--format=", "HEAD", cwd=project)

    everything = pre_commit("run", "--all-files", "--color=never", cwd=project, home=home)
    assert everything.returncode == 0, everything.stdout + everything.stderr

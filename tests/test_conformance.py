"""holdfast's project model against the real `docker compose config` (Compose v2).

Every folder under tests/conformance/ is a small project with a `case.json`:
`args` (Compose options: -f, -p, --project-directory, --env-file, --profile), `env`
(process variables), `cwd` (a subfolder to run from), `refused` (Compose must
refuse it) and `about`. For each case, and for every file of ../shared/corpus/public/
that Compose accepts, `docker compose config --format json` is compared with the
project holdfast assembles from the same options: the project name, the services
that run, and for every service its image, its environment (the variables that
decide data paths, such as PGDATA, come from there), and every `volumes:` mount
(type, host source, target); for every stateful service, the data-safety verdict
(holdfast's verdict on Compose's own flattened output is the reference). A project
Compose refuses must get an error finding from `holdfast lint`.

No Docker engine is needed (`config` only reads files), but the Compose v2 CLI is:
without it the module skips, or fails when HOLDFAST_REQUIRE_DOCKER=1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support import SHARED, unavailable

from holdfast.config import Config
from holdfast.discovery import compose_selection
from holdfast.document import ComposeDocument
from holdfast.engine import Linter
from holdfast.model import Severity
from holdfast.persistence import analyse_service
from holdfast.project import Project, _as_mapping

CASES = Path(__file__).parent / "conformance"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "case.json").is_file())
BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
_REQUIRED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?")
_MISSING_ENV_FILE = re.compile(r"(?:env file (\S+) not found|stat (\S+): no such file)")


def compose_cli() -> list[str]:
    try:
        found = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        found = None
    if found is None or found.returncode != 0 or not found.stdout.strip().startswith("2."):
        unavailable("Compose v2 (`docker compose`) is not installed")
    return ["docker", "compose"]


@pytest.fixture(scope="module")
def linter() -> Linter:
    return Linter(Config())


# ------------------------------------------------------------------ the two models
def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unescape(value: Any) -> Any:
    """Compose prints a literal `$` as `$$`."""
    return value.replace("$$", "$") if isinstance(value, str) else value


def compose_model(config: dict[str, Any]) -> dict[str, Any]:
    services = {}
    for name, service in (config.get("services") or {}).items():
        env = {k: _unescape(_text(v)) for k, v in (service.get("environment") or {}).items()}
        mounts = sorted(((m.get("type"), _unescape(m.get("source")) or None, m.get("target")) for m in service.get("volumes") or []), key=repr)
        services[name] = {"image": _unescape(service.get("image")), "environment": env, "mounts": mounts}
    return {"name": config.get("name"), "services": services}


def holdfast_model(project: Project) -> dict[str, Any]:
    services = {}
    for name, service in project.services.items():
        if service.inactive_profiles():
            continue  # Compose leaves it out; holdfast still lints it
        raw_env = service.config.get("environment")
        env = {str(k): _text(v) for k, v in (_as_mapping(raw_env) if isinstance(raw_env, (list, dict)) else {}).items()}
        mounts = []
        for mount in service.mounts():
            if mount.origin == "tmpfs":
                continue  # `tmpfs:` paths are listed apart by Compose, not under `volumes:`
            kind = {"anonymous": "volume", "other": None}.get(mount.kind, mount.kind)
            source = service.host_source(mount) if mount.kind == "bind" else mount.source
            mounts.append((kind, source, mount.target))
        image = service.config.get("image")
        services[name] = {"image": None if image is None else str(image), "environment": env, "mounts": sorted(mounts, key=repr)}
    return {"name": project.name, "services": services}


def verdicts(project: Project, knowledge: Any) -> dict[str, Any]:
    out = {}
    for name, service in project.services.items():
        if service.inactive_profiles():
            continue
        analysis = analyse_service(service, knowledge, project)
        if analysis is not None:
            out[name] = (analysis.persisted, tuple(s.state for s in analysis.statuses))
    return out


def reference_project(config: dict[str, Any], directory: str) -> Project:
    """Compose's flattened output read back as ONE file (holdfast's single-file model is the reference)."""
    for service in (config.get("services") or {}).values():
        service.pop("env_file", None)  # already merged into `environment`
        service.pop("profiles", None)  # Compose printed only the services that run
    text = json.dumps(config)
    document = ComposeDocument(os.path.join(directory, "compose-config.json"), text)
    return Project.load([document], directory=directory, env={})


# ------------------------------------------------------------------ running both
def parse_args(args: list[str]) -> dict[str, Any]:
    """Compose's global options, as `compose_selection` takes them."""
    out: dict[str, Any] = {"files": [], "env_files": [], "profiles": []}
    i = 0
    while i < len(args):
        flag, value = args[i], args[i + 1]
        key = {"-f": "files", "--env-file": "env_files", "--profile": "profiles", "-p": "project_name", "--project-directory": "project_directory"}[flag]
        if isinstance(out.get(key), list):
            out[key].append(value)
        else:
            out[key] = value
        i += 2
    return out


def run_compose(cli: list[str], args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    result = subprocess.run([*cli, *args, "config", "--format", "json"], cwd=cwd, env={**BASE_ENV, **env}, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def holdfast_project(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[Any, Project | None]:
    options = parse_args(args)
    selection = compose_selection(options.pop("files"), cwd=str(cwd), environ={**BASE_ENV, **env}, **options)
    documents = [ComposeDocument.from_path(path) for path in selection.files]
    parsed = [d for d in documents if isinstance(d.data, dict)]
    if len(parsed) != len(documents):
        return selection, None
    return selection, Project.load(parsed, selection=selection)


def case_setup(name: str, tmp_root: Path) -> tuple[dict[str, Any], Path]:
    case = json.loads((CASES / name / "case.json").read_text(encoding="utf-8"))
    root = tmp_root / name
    shutil.copytree(CASES / name, root, ignore=shutil.ignore_patterns("case.json"))
    return case, root / case.get("cwd", ".")


@pytest.fixture(scope="module")
def compose_results(tmp_path_factory) -> dict[str, Any]:
    """Every case's `docker compose config`, run in a thread pool (the slow part of this module)."""
    cli = compose_cli()
    tmp_root = tmp_path_factory.mktemp("conformance")
    setups = {name: case_setup(name, tmp_root) for name in CASE_NAMES}

    def run(name: str) -> tuple[str, tuple[int, str, str]]:
        case, cwd = setups[name]
        return name, run_compose(cli, case.get("args", []), cwd, case.get("env", {}))

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(pool.map(run, CASE_NAMES))
    return {name: (setups[name], results[name]) for name in CASE_NAMES}


def test_there_are_enough_cases():
    refused = [n for n in CASE_NAMES if json.loads((CASES / n / "case.json").read_text()).get("refused")]
    assert len(CASE_NAMES) - len(refused) >= 40 and len(refused) >= 8


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case(name, compose_results, linter, chdir_root):
    (case, cwd), (code, out, err) = compose_results[name]
    env = case.get("env", {})
    if case.get("refused"):
        assert code != 0, f"Compose accepted a case marked refused: {out[:300]}"
        findings = lint_case(linter, case.get("args", []), cwd, env)
        errors = [f for f in findings if f.severity >= Severity.ERROR and f.code[:3] in ("HF0", "HF2")]
        assert errors, f"Compose refuses it ({err.strip().splitlines()[-1]}) but holdfast found nothing: {[f.code for f in findings]}"
        return
    assert code == 0, f"Compose refused the case: {err.strip()[-400:]}"
    compare(json.loads(out), case.get("args", []), cwd, env, linter)


def compare(config: dict[str, Any], args: list[str], cwd: Path, env: dict[str, str], linter: Linter) -> None:
    selection, project = holdfast_project(args, cwd, env)
    assert project is not None, "holdfast could not parse a file Compose accepts"
    assert not project.problems, f"holdfast reports problems Compose does not: {[p.message for p in project.problems]}"
    expected, got = compose_model(config), holdfast_model(project)
    assert got == expected
    reference = reference_project(config, str(cwd))
    assert verdicts(project, linter.knowledge) == verdicts(reference, linter.knowledge)


def lint_case(linter: Linter, args: list[str], cwd: Path, env: dict[str, str]) -> list[Any]:
    options = parse_args(args)
    selection = compose_selection(options.pop("files"), cwd=str(cwd), environ={**BASE_ENV, **env}, **options)
    return linter.lint_files(selection).findings


@pytest.fixture
def chdir_root(monkeypatch):
    monkeypatch.chdir("/")  # the process folder must not matter: every path is resolved from the case


# ------------------------------------------------------------------ the shared corpus
def corpus_files() -> list[Path]:
    shared = Path(os.environ.get("HOLDFAST_SHARED") or SHARED)
    corpus = shared / "corpus" / "public"
    if not corpus.is_dir():
        return []
    return sorted(p for p in corpus.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def test_corpus_files_compose_accepts(linter, tmp_path, chdir_root):
    files = corpus_files()
    if not files:
        pytest.skip(f"{SHARED / 'corpus' / 'public'} is absent: the shared corpus lives beside the repository in ../shared (or set HOLDFAST_SHARED)")
    cli = compose_cli()

    def run(index_path: tuple[int, Path]) -> tuple[Path, dict[str, str], tuple[int, str, str]]:
        index, original = index_path
        text = original.read_text(encoding="utf-8", errors="replace")
        env = {name: "placeholder" for name in _REQUIRED.findall(text)}
        folder = tmp_path / str(index)
        folder.mkdir()
        path = folder / original.name
        shutil.copyfile(original, path)
        for _ in range(6):
            result = run_compose(cli, ["-f", str(path), "-p", "hf-conformance"], tmp_path, env)
            missing = _MISSING_ENV_FILE.search(result[2])
            if result[0] == 0 or missing is None:
                break
            # an env file the project keeps out of its repository: an empty one stands in for it
            wanted = (folder / (missing.group(1) or missing.group(2))).resolve()
            if folder.resolve() not in wanted.parents:
                break
            wanted.parent.mkdir(parents=True, exist_ok=True)
            wanted.touch()
        return path, env, result

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, enumerate(files)))
    compared, differences = 0, []
    for path, env, (code, out, err) in results:
        if code != 0:
            continue  # Compose refuses it: the single-file rules (HF00x) are tested elsewhere
        try:
            compare(json.loads(out), ["-f", str(path), "-p", "hf-conformance"], tmp_path, env, linter)
        except AssertionError as exc:
            differences.append(f"{path.name}: {str(exc).splitlines()[0][:300]}")
        compared += 1
    print(f"corpus: {compared} of {len(files)} files accepted by Compose and compared")
    assert compared > 0
    assert not differences, "\n".join(differences)

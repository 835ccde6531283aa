"""The GitHub Action (action.yml + scripts/github-action.sh), run with a fake runner environment.

The steps are taken from action.yml and run the way the runner runs a `shell: bash` step
(`bash --noprofile --norc -eo pipefail FILE`), after replacing the `${{ ... }}` expressions
the action uses. The install step really creates a virtualenv and pip-installs a copy of this
working tree (once per module); the lint step then runs on a workspace holding a copy of the
seed file, and the annotations, outputs and SARIF report are checked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

import holdfast

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
SCRIPT = ROOT / "scripts" / "github-action.sh"
DOC = ROOT / "docs" / "ci" / "github.md"
SEED = ROOT / "examples" / "mastodon-v1.3.2" / "docker-compose.yml"
SCHEMA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "schema"

INPUTS = {"paths": ".", "format": "github", "sarif-file": "", "fail-level": "error", "args": ""}
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load_action() -> dict:
    return YAML(typ="safe").load(ACTION.read_text(encoding="utf-8"))


def copy_tree(source: Path, destination: Path) -> None:
    """Copy what a checkout of the repository holds: tracked and untracked, not ignored, files."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=source, capture_output=True, check=True,
        ).stdout.decode()
        names = [name for name in listing.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = [
            str(p.relative_to(source)) for p in source.rglob("*")
            if p.is_file() and not {".git", "build", "__pycache__"} & set(p.parts) and ".egg-info" not in str(p)
        ]
    venvs = tuple(name.removesuffix("pyvenv.cfg") for name in names if name.endswith("/pyvenv.cfg"))
    for name in names:
        path = source / name
        if venvs and name.startswith(venvs):
            continue  # a virtualenv someone left in the tree is not part of a checkout
        if path.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination / name)


@dataclass
class Runner:
    """A fake runner: the action's checkout, RUNNER_TEMP (holding the installed virtualenv)."""

    action_path: Path
    runner_temp: Path


@dataclass
class StepResult:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


def evaluate(text: str, context: dict[str, str]) -> str:
    """Replace the `${{ ... }}` expressions the action uses; any other expression is a test failure."""

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression not in context:
            raise AssertionError(f"action.yml uses ${{{{ {expression} }}}}, which this test does not emulate")
        return context[expression]

    return EXPRESSION.sub(replace, text)


def run_step(step: dict, runner: Runner, workspace: Path, inputs: dict[str, str], tmp: Path) -> StepResult:
    """Run one `run:` step of the composite action like the runner does."""
    assert step.get("shell") == "bash"
    values = {**INPUTS, **inputs}
    context = {f"inputs.{name}": value for name, value in values.items()}
    context.update({"github.action_path": str(runner.action_path), "github.workspace": str(workspace)})
    output = tmp / f"github_output_{os.urandom(4).hex()}"
    output.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))}
    env.pop("NO_COLOR", None)
    env.update(
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(runner.action_path),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_ENV": str(tmp / "github_env"),
            "GITHUB_PATH": str(tmp / "github_path"),
            "GITHUB_STEP_SUMMARY": str(tmp / "step_summary"),
            "RUNNER_TEMP": str(runner.runner_temp),
            "RUNNER_OS": "Linux",
        }
    )
    for name, value in (step.get("env") or {}).items():
        env[name] = evaluate(str(value), context)
    script = tmp / f"step_{os.urandom(4).hex()}.sh"
    script.write_text(evaluate(step["run"], context), encoding="utf-8")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=600,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if "=" in line)
    return StepResult(result.returncode, result.stdout, result.stderr, outputs)


def step_named(step_id_or_name: str) -> dict:
    for step in load_action()["runs"]["steps"]:
        if step.get("id") == step_id_or_name or step.get("name") == step_id_or_name:
            return step
    raise AssertionError(f"action.yml has no step {step_id_or_name!r}")


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """Run the action's install step once: a virtualenv with holdfast from a copy of this tree."""
    base = tmp_path_factory.mktemp("runner")
    action_path = base / "_actions" / "OWNER" / "holdfast" / "v0"
    action_path.mkdir(parents=True)
    copy_tree(ROOT, action_path)
    (base / "temp").mkdir()
    (base / "workspace").mkdir()
    fake = Runner(action_path, base / "temp")
    result = run_step(step_named("Install holdfast"), fake, base / "workspace", {}, base)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"holdfast, version {holdfast.__version__}" in result.stdout
    return fake


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    folder.mkdir()
    shutil.copyfile(SEED, folder / "docker-compose.yml")
    return folder


def lint(runner: Runner, workspace: Path, tmp_path: Path, **inputs: str) -> StepResult:
    return run_step(step_named("lint"), runner, workspace, {k.replace("_", "-"): v for k, v in inputs.items()}, tmp_path)


def line_of(needle: str) -> int:
    return SEED.read_text(encoding="utf-8").splitlines().index(needle) + 1


def sarif_validator():
    schema_path = SCHEMA_DIR / "sarif-schema-2.1.0.json"
    if not schema_path.exists():
        pytest.skip(f"{schema_path} is absent: the SARIF schema ships beside the repository in ../shared/schema")
    import jsonschema

    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


# ----------------------------------------------------------------------------- metadata
def test_action_metadata_inputs_are_declared_and_used() -> None:
    action = load_action()
    assert action["runs"]["using"] == "composite"
    declared = action["inputs"]
    assert set(declared) == set(INPUTS)
    for name, default in INPUTS.items():
        assert str(declared[name].get("default", "")) == default, name
        assert declared[name].get("description"), name

    script = SCRIPT.read_text(encoding="utf-8")
    used: set[str] = set()
    for step in action["runs"]["steps"]:
        assert step.get("shell") == "bash", step
        # Inputs reach the script through env, never pasted into the script text (injection).
        assert "${{" not in step["run"], f"expression inside run: {step['run']!r}"
        assert "$GITHUB_ACTION_PATH/scripts/github-action.sh" in step["run"]
        for variable, value in (step.get("env") or {}).items():
            for expression in EXPRESSION.findall(str(value)):
                if expression.startswith("inputs."):
                    used.add(expression.removeprefix("inputs."))
                    assert re.search(rf"\${{?{variable}\b", script), f"{variable} is set but the script never reads it"
    assert used == set(INPUTS), f"inputs never used: {set(INPUTS) - used}"

    # The outputs come from the lint step, and the script writes them.
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.lint.outputs.{name} }}}}"
        assert f'echo "{name}=' in script


# --------------------------------------------------------------------------- behaviour
@pytest.mark.slow
def test_annotations_on_the_seed(runner: Runner, workspace: Path, tmp_path: Path) -> None:
    result = lint(runner, workspace, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()

    def annotation(command: str, line: int, title: str) -> list[str]:
        return [text for text in lines if text.startswith(f"::{command} file=docker-compose.yml,line={line},") and f",title={title}::" in text]

    db, redis = line_of("  db:"), line_of("  redis:")
    assert len(annotation("error", db, "HF101 stateful-data-not-persisted")) == 1, lines
    assert len(annotation("error", redis, "HF101 stateful-data-not-persisted")) == 1, lines
    assert any(text.startswith(f"::error file=docker-compose.yml,line={db},col=3,") for text in lines)
    assert len(annotation("warning", line_of("    image: postgres:alpine"), "HF104 stateful-image-unpinned-major")) == 1
    assert len(annotation("warning", line_of("    image: redis:alpine"), "HF104 stateful-image-unpinned-major")) == 1
    assert result.outputs == {"exit-code": "1"}


@pytest.mark.slow
def test_sarif_file_validates(runner: Runner, workspace: Path, tmp_path: Path) -> None:
    validator = sarif_validator()
    result = lint(runner, workspace, tmp_path, sarif_file="reports/holdfast.sarif")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.outputs == {"exit-code": "1", "sarif-file": "reports/holdfast.sarif"}
    sarif = json.loads((workspace / "reports" / "holdfast.sarif").read_text(encoding="utf-8"))
    errors = sorted(validator.iter_errors(sarif), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    results = sarif["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == ["HF101", "HF101", "HF104", "HF104"]
    for r in results:
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "docker-compose.yml"


@pytest.mark.slow
def test_sarif_file_holds_findings_below_the_fail_level(runner: Runner, workspace: Path, tmp_path: Path) -> None:
    result = lint(runner, workspace, tmp_path, args="--select HF104", sarif_file="holdfast.sarif")
    assert result.returncode == 0, result.stdout + result.stderr  # warnings only, fail-level error
    results = json.loads((workspace / "holdfast.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["HF104", "HF104"]


@pytest.mark.parametrize(
    ("inputs", "code"),
    [
        ({"args": "--select HF104"}, 0),
        ({"args": "--select HF104", "fail_level": "warning"}, 1),
        ({"args": '--select "HF104" --exit-zero', "fail_level": "warning"}, 0),
        ({"args": "--ignore 'HF101'"}, 0),
        ({"fail_level": "fatal"}, 2),
        ({"format": "no-such-format"}, 2),
        ({"args": "--select 'HF104"}, 2),  # unbalanced quote
        ({"paths": "missing.yml"}, 2),
    ],
)
@pytest.mark.slow
def test_exit_codes(runner: Runner, workspace: Path, tmp_path: Path, inputs: dict[str, str], code: int) -> None:
    result = lint(runner, workspace, tmp_path, **inputs)
    assert result.returncode == code, result.stdout + result.stderr
    assert result.outputs == {"exit-code": str(code)}
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_unwritable_sarif_file_is_an_error(runner: Runner, workspace: Path, tmp_path: Path) -> None:
    (workspace / "taken").write_text("a file, not a folder\n", encoding="utf-8")
    result = lint(runner, workspace, tmp_path, sarif_file="taken/holdfast.sarif", args="--exit-zero")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.outputs == {"exit-code": "2"}
    assert "::error title=holdfast action::could not write the SARIF report taken/holdfast.sarif" in result.stdout


@pytest.mark.slow
def test_paths_folders_and_formats(runner: Runner, tmp_path: Path) -> None:
    workspace = tmp_path / "repo"
    (workspace / "deploy").mkdir(parents=True)
    (workspace / "web app").mkdir()
    shutil.copyfile(SEED, workspace / "deploy" / "docker-compose.yml")
    (workspace / "web app" / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.27\n", encoding="utf-8")

    clean = lint(runner, workspace, tmp_path, paths="'web app'")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "All checks passed." in clean.stdout

    both = lint(runner, workspace, tmp_path, paths="deploy\n'web app'\n")
    assert both.returncode == 1
    assert f"::error file=deploy/docker-compose.yml,line={line_of('  db:')},col=3," in both.stdout

    text = lint(runner, workspace, tmp_path, paths="deploy", format="concise")
    assert text.returncode == 1
    assert f"deploy/docker-compose.yml:{line_of('  db:')}:3: HF101" in text.stdout


@pytest.mark.slow
def test_input_is_data_not_code(runner: Runner, workspace: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    result = lint(runner, workspace, tmp_path, args=f"--select HF104 $(touch {marker}) `touch {marker}`")
    assert not marker.exists()
    assert result.returncode == 2  # the words are handed to holdfast, which rejects them


# --------------------------------------------------------------------------- the docs
def doc_workflow() -> dict:
    yaml = YAML(typ="safe")
    for block in re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.M | re.S):
        data = yaml.load(block)
        if isinstance(data, dict) and "jobs" in data:
            return data
    raise AssertionError(f"{DOC}: no workflow")


@pytest.mark.slow
def test_doc_workflow_uploads_sarif(runner: Runner, workspace: Path, tmp_path: Path) -> None:
    workflow = doc_workflow()
    (job,) = workflow["jobs"].values()
    assert job["permissions"]["security-events"] == "write"
    steps = job["steps"]
    (ours,) = [s for s in steps if str(s.get("uses", "")).startswith("OWNER/holdfast@")]
    assert ours["uses"] == f"OWNER/holdfast@v{holdfast.__version__}"
    assert set(ours["with"]) <= set(INPUTS)
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@")]
    sarif = ours["with"]["sarif-file"]
    assert upload["with"]["sarif_file"] == sarif
    # The upload must also run when the lint step failed (findings), and only if a report exists.
    assert "!cancelled()" in upload["if"] or "always()" in upload["if"]
    assert f"hashFiles('{sarif}')" in upload["if"]
    assert steps.index(upload) > steps.index(ours)

    # The workflow's inputs, run for real.
    result = lint(runner, workspace, tmp_path, **{k.replace("-", "_"): str(v) for k, v in ours["with"].items()})
    assert result.returncode == 1, result.stdout + result.stderr
    assert (workspace / sarif).is_file()
    assert result.outputs["sarif-file"] == sarif


def test_doc_format_auto_under_actions(workspace: Path) -> None:
    """`holdfast lint --format auto .` from the page prints annotations when GITHUB_ACTIONS=true."""
    commands = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("holdfast lint")]
    assert commands == ["holdfast lint --format auto ."]
    env = dict(os.environ, GITHUB_ACTIONS="true")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    result = subprocess.run(commands[0], shell=True, cwd=workspace, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"::error file=docker-compose.yml,line={line_of('  db:')},col=3," in result.stdout

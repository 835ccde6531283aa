"""`holdfast lint` without click: the fast argv parser must give exactly what click gives, or step aside.

`holdfast.cli.parse_lint_argv` reads plain lint argv itself so that the common
pre-commit call never imports click; every argv it accepts must yield the same
paths, options and Compose options as the click command built from the same table,
and every argv it is not sure about must go to click (None), so that help and
error messages stay click's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from holdfast import cli as holdfast_cli
from holdfast import commands
from holdfast.cli import parse_lint_argv
from support import SEED


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Path:
    """A folder with a compose file, a sub-folder, an env file and a read-only file; the cwd."""
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "app.env").write_text("A=1\n")
    (tmp_path / "locked.txt").write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def click_parse(argv: list[str], monkeypatch) -> tuple | str:
    """What the click lint command passes on for argv: (paths, options, compose), or its error message."""
    seen = {}

    def record(paths, *, compose, **options):
        seen["call"] = (tuple(paths), options, compose)
        return 0

    monkeypatch.setattr(commands, "run_lint", record)
    try:
        commands.cli.main(args=argv, prog_name="holdfast", standalone_mode=False)
    except commands.click.exceptions.Exit:
        pass
    except commands.click.ClickException as exc:
        return exc.format_message()
    return seen["call"]


PLAIN = [
    ["lint"],
    ["lint", "compose.yaml"],
    ["lint", "compose.yaml", "sub", "missing.yml"],
    ["lint", "-"],
    ["lint", "--no-cache", "--color", "never", "compose.yaml"],
    ["lint", "--color=always", "--format=json", "compose.yaml"],
    ["lint", "compose.yaml", "--statistics", "--exit-zero"],
    ["lint", "--select", "HF101,hf2", "--ignore", "HF102", "--extend-select", "HF9"],
    ["lint", "--select=", "--ignore="],
    ["lint", "--select", "--ignore"],
    ["lint", "--select", "-"],
    ["lint", "--stdin-filename", "x/compose.yaml", "-"],
    ["lint", "-f", "compose.yaml", "-f", "missing.yml", "--file=other.yml"],
    ["lint", "--config", "missing.toml", "compose.yaml"],
    ["lint", "--fail-level", "warning", "compose.yaml"],
    ["lint", "--fail-level=info"],
    ["lint", "-j", "3", "sub"],
    ["lint", "--jobs= 2 "],
    ["lint", "--jobs", "1_0"],
    ["lint", "-o", "report.txt", "compose.yaml"],
    ["lint", "--output=sub/new.json"],
    ["lint", "-p", "shop", "--project-directory", "sub", "compose.yaml"],
    ["lint", "--project-name=", "compose.yaml"],
    ["lint", "--env-file", "app.env", "--env-file", "missing.env", "--profile", "a", "--profile=b"],
    ["lint", "--engine", "-H", "tcp://127.0.0.1:1", "compose.yaml"],
    ["lint", "--host=unix:///x", "--add-ignore"],
    ["lint", "--format", "auto", "a=b.yml", "ü.yaml", " spaced .yml"],
]


@pytest.mark.parametrize("argv", PLAIN, ids=lambda argv: " ".join(argv[1:]) or "bare")
def test_fast_parser_gives_what_click_gives(argv, tree, monkeypatch):
    fast = parse_lint_argv(argv)
    assert fast is not None, argv
    assert fast == click_parse(argv, monkeypatch)


ODD = [
    [],
    ["--help"],
    ["--version"],
    ["rules"],
    ["fix", "compose.yaml"],
    ["lint", "--help"],
    ["lint", "-h"],
    ["lint", "--", "compose.yaml"],
    ["lint", "--bogus"],
    ["lint", "--no-cach"],  # click matches no prefixes; neither may the fast parser
    ["lint", "-jx"],
    ["lint", "-j2"],
    ["lint", "-fcompose.yaml"],
    ["lint", "-f=compose.yaml"],
    ["lint", "-pq"],
    ["lint", "--select"],
    ["lint", "-o"],
    ["lint", "--exit-zero=1"],
    ["lint", "--no-cache=yes"],
    ["lint", "--select", "A", "--select", "B"],  # repeated: click keeps the last; left to click
    ["lint", "--fail-level", "bogus"],
    ["lint", "--fail-level", "ERROR"],
    ["lint", "--color", "yes"],
    ["lint", "-j", "0"],
    ["lint", "-j", "x"],
    ["lint", "--jobs=1.5"],
    ["lint", "-f", "sub"],
    ["lint", "--config", "sub"],
    ["lint", "--env-file", "sub"],
    ["lint", "--project-directory", "compose.yaml"],
    ["lint", "--output", "sub"],
    ["lint", "-1"],
    ["lint", "a\0b.yml"],
]


@pytest.mark.parametrize("argv", ODD, ids=lambda argv: " ".join(argv) or "empty")
def test_odd_argv_goes_to_click(argv, tree):
    assert parse_lint_argv(argv) is None


def test_unreadable_and_unwritable_paths_go_to_click(tree, monkeypatch):
    """click.Path refuses an existing path holdfast may not read (or, for -o, write)."""
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path).endswith("locked.txt") else real_access(path, mode))
    for argv in (["lint", "locked.txt"], ["lint", "-o", "locked.txt"], ["lint", "-f", "locked.txt"]):
        assert parse_lint_argv(argv) is None
        assert isinstance(click_parse(argv, monkeypatch), str)  # click's error message
    assert parse_lint_argv(["lint", "-o", "compose.yaml"]) is not None


def test_shell_completion_goes_to_click(tree, monkeypatch):
    monkeypatch.setenv("_HOLDFAST_COMPLETE", "bash_complete")
    assert parse_lint_argv(["lint", "compose.yaml"]) is None


def test_every_lint_option_is_in_the_table():
    """The click command is built from LINT_OPTIONS alone (plus PATHS): nothing for the fast parser to miss."""
    names = {param.name for param in commands.lint_command.params}
    table = {holdfast_cli.option_name(declarations) for declarations, _ in holdfast_cli.LINT_OPTIONS}
    assert names == table | {"paths"}


def test_a_plain_lint_does_not_import_click():
    code = (
        "import sys\nfrom holdfast.cli import main\n"
        "try:\n    main(['lint', '--no-cache', '--color', 'never', sys.argv[1]])\n"
        "except SystemExit as exc:\n    print(exc.code, 'click' in sys.modules, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(SEED)], capture_output=True, text=True, timeout=60)
    assert result.stderr.splitlines()[-1] == "1 False", result.stderr


@pytest.mark.parametrize("options", [["--color", "never"], ["--format", "json"], ["--statistics", "--exit-zero"], ["--select", "HF999"]], ids=" ".join)
def test_both_paths_print_the_same(options, tmp_path):
    """Same report, stderr and exit code with and without click (`--` sends an argv to click)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS", "HOLDFAST_DEBUG")}
    results = []
    for argv in (["lint", "--no-cache", *options, str(SEED)], ["lint", "--no-cache", *options, "--", str(SEED)]):
        results.append(subprocess.run([sys.executable, "-m", "holdfast", *argv], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env))
    plain, through_click = results
    assert (plain.returncode, plain.stdout, plain.stderr) == (through_click.returncode, through_click.stdout, through_click.stderr)
    assert plain.stdout or plain.stderr


def test_the_command_still_runs_atexit_callbacks(tmp_path):
    """The quick exit of `holdfast lint` is skipped when something waits for the normal exit."""
    code = (
        "import atexit, sys\natexit.register(lambda: print('clean-up ran', file=sys.stderr))\n"
        "from holdfast.cli import main\nsys.argv = ['holdfast', 'lint', '--no-cache', '--color', 'never', sys.argv[1]]\nmain()\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(SEED)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 1
    assert "HF101" in result.stdout
    assert result.stderr.splitlines()[-1] == "clean-up ran"


def test_the_command_exit_code_and_output_survive_the_quick_exit(tmp_path):
    result = subprocess.run([sys.executable, "-m", "holdfast", "lint", "--no-cache", "--format", "json", str(SEED)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.rstrip().endswith(("}", "]"))


def test_main_from_python_leaves_the_collector_as_it_was(monkeypatch, capsys):
    import gc

    from holdfast.cli import main

    monkeypatch.chdir(SEED.parent)
    before = gc.get_threshold()
    with pytest.raises(SystemExit):
        main(["lint", "--no-cache", "--color", "never", SEED.name])
    capsys.readouterr()
    assert gc.get_threshold() == before


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "utf-8"])
def test_both_paths_write_a_non_ascii_path_alike(encoding, tmp_path):
    """click re-encodes an ASCII standard output; the fast path must hand such streams to click."""
    (tmp_path / "bäse.yml").write_text("services:\n  db:\n    image: postgres:16\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS", "HOLDFAST_DEBUG")}
    env["PYTHONIOENCODING"] = encoding
    results = [
        subprocess.run([sys.executable, "-m", "holdfast", "lint", "--no-cache", *extra, "bäse.yml"], capture_output=True, timeout=60, cwd=tmp_path, env=env)
        for extra in ([], ["--"])
    ]
    plain, through_click = results
    assert (plain.returncode, plain.stdout, plain.stderr) == (through_click.returncode, through_click.stdout, through_click.stderr)
    assert "bäse.yml".encode("utf-8" if encoding == "ascii" else encoding) in plain.stdout

"""The `holdfast` command line: its entry point and the `lint` command.

`main` runs a plain `holdfast lint` (the pre-commit and CI case) without importing
click, whose import is about a tenth of such a run: `parse_lint_argv` reads argv
with `LINT_OPTIONS`, the table click's lint command is built from too
(`holdfast.commands`), and hands anything it does not fully understand (help,
short-option clusters, unknown or repeated options, any value click would reject,
other commands) to click, so every message stays click's. Every usage,
configuration or input error is ONE line on stderr and exit code 2; never a
traceback.
"""

from __future__ import annotations

import codecs
import gc
import io
import os
import stat
import sys
from typing import Any, Callable

from holdfast import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

# The click-based names, defined in holdfast.commands; importing them from here still works.
_CLICK_NAMES = frozenset({"cli", "user_errors", "selection_options", "lint_command", "rules_command", "rule_command", "plugins_command"})


def __getattr__(name: str) -> Any:
    if name in _CLICK_NAMES:
        from holdfast import commands

        return getattr(commands, name)
    raise AttributeError(f"module 'holdfast.cli' has no attribute {name!r}")


class UserError(Exception):
    """Anything the user must correct: printed as one line, exit code 2."""


# ------------------------------------------------------------------- lint options
# (click.option declarations, keywords) for `holdfast lint`. holdfast.commands turns
# each entry into click.option(*declarations, **keywords); "type" is a spec that
# needs no click ("path": click.Path keywords, "choice": names, "int": minimum) and
# "compose": True marks Compose's own project options, which click keeps in its
# context instead of passing them to the command.
_PATH_FILE = ("path", {"dir_okay": False})
PATHS_TYPE = ("path", {})  # the PATHS argument

SELECTION_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--config", "config_path"), {"type": _PATH_FILE, "help": "Configuration file (default: nearest .holdfast.toml or pyproject.toml [tool.holdfast])."}),
    (("--select",), {"default": None, "help": "Comma-separated rule codes or prefixes to enable (replaces the defaults)."}),
    (("--extend-select",), {"default": None, "help": "Comma-separated codes to enable in addition."}),
    (("--ignore",), {"default": None, "help": "Comma-separated codes to disable."}),
    (("-f", "--file", "files"), {"multiple": True, "type": _PATH_FILE, "help": "Compose files of ONE project, merged in order like `docker compose -f`."}),
    (("--stdin-filename",), {"default": None, "help": "The name to report for standard input (`-`)."}),
    (("--project-directory",), {"compose": True, "type": ("path", {"file_okay": False}), "help": "Folder relative paths start from, as `docker compose --project-directory`."}),
    (("--env-file", "env_file"), {"multiple": True, "compose": True, "type": _PATH_FILE, "help": "Variables file(s) instead of the project's .env, as `docker compose --env-file`."}),
    (("--profile", "profile"), {"multiple": True, "compose": True, "help": "Active profile(s), as `docker compose --profile` (default: COMPOSE_PROFILES)."}),
)

LINT_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = SELECTION_OPTIONS + (
    (("--format", "output_format"), {"default": "text", "show_default": True, "help": "text, concise, json, sarif, github, gitlab, or auto (github under GitHub Actions, else text)."}),
    (("-o", "--output"), {"type": ("path", {"dir_okay": False, "writable": True}), "help": "Write the report to a file instead of standard output."}),
    (("--fail-level",), {"type": ("choice", ("error", "warning", "info")), "default": None, "help": "Lowest severity that makes the exit code 1 (default: error)."}),
    (("--exit-zero",), {"is_flag": True, "help": "Exit 0 even when there are findings."}),
    (("--statistics",), {"is_flag": True, "help": "Show counts per rule instead of each finding."}),
    (("--color", "color_option"), {"type": ("choice", ("auto", "always", "never")), "default": "auto", "show_default": True}),
    (("--no-cache",), {"is_flag": True, "help": "Do not read or write the result cache (HOLDFAST_NO_CACHE=1)."}),
    (("-p", "--project-name"), {"compose": True, "help": "Project name, as `docker compose -p` (default: COMPOSE_PROJECT_NAME, `name:`, the folder)."}),
    (("--add-ignore",), {"is_flag": True, "help": "Baseline: write `# holdfast: ignore[CODE] TODO` on the line of every finding, then exit 0."}),
    (("-j", "--jobs"), {"type": ("int", 1), "default": None, "help": "Worker processes for many projects (default: the CPUs holdfast may use)."}),
    (("--engine", "use_engine"), {"is_flag": True, "help": "Also ask the Docker engine about local images holdfast does not know (their declared VOLUMEs). Off by default: lint never needs Docker."}),
    (("-H", "--host", "engine_host"), {"default": None, "help": "With --engine: the Docker engine URL (default: DOCKER_HOST, then the current context)."}),
)


def option_name(declarations: tuple[str, ...]) -> str:
    """The parameter name click gives an option: its bare name, else its long name."""
    bare = [d for d in declarations if not d.startswith("-")]
    if bare:
        return bare[0]
    return next(d for d in declarations if d.startswith("--"))[2:].replace("-", "_").lower()


def parse_lint_argv(args: list[str]) -> tuple[tuple[str, ...], dict[str, Any], dict[str, Any]] | None:
    """(paths, options, Compose options) of a plain `holdfast lint` argv, as click would give them; else None.

    Plain means: `lint`, then paths and the options of LINT_OPTIONS written
    `--name value`, `--name=value`, `-x value` or as a flag, each at most once
    (except the repeatable ones), every value one click accepts. Anything else is
    click's to parse and, if need be, to refuse: None.
    """
    if not args or args[0] != "lint" or sys.platform.startswith("win") or "_HOLDFAST_COMPLETE" in os.environ:
        return None
    table = {}
    for declarations, spec in LINT_OPTIONS:
        for declaration in declarations:
            if declaration.startswith("-"):
                table[declaration] = (option_name(declarations), spec)
    given: dict[str, Any] = {}
    paths: list[str] = []
    position, count = 1, len(args)
    while position < count:
        arg = args[position]
        position += 1
        if not isinstance(arg, str):
            return None
        if arg == "-" or not arg.startswith("-"):
            paths.append(arg)
            continue
        name, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        entry = table.get(name)
        if entry is None:
            return None  # `--`, an unknown option, `-xVALUE`, a cluster of short options
        dest, spec = entry
        if spec.get("is_flag"):
            if equals:
                return None
            value = True
        elif not equals:
            if position == count or not isinstance(args[position], str):
                return None
            value = args[position]
            position += 1
        kind = spec.get("type")
        if not _accepted(kind, value):
            return None
        if kind is not None and kind[0] == "int":
            value = int(value)
        if spec.get("multiple"):
            given.setdefault(dest, []).append(value)
        elif dest in given:
            return None
        else:
            given[dest] = value
    if not all(_accepted(PATHS_TYPE, path) for path in paths):
        return None
    options: dict[str, Any] = {}
    for declarations, spec in LINT_OPTIONS:
        dest = option_name(declarations)
        if spec.get("multiple"):
            options[dest] = tuple(given.get(dest, ()))
        else:
            options[dest] = given.get(dest, False if spec.get("is_flag") else spec.get("default"))
    compose = {
        "project_name": options.pop("project_name") or None,  # as compose_options() reads it
        "project_directory": options.pop("project_directory"),
        "env_files": list(options.pop("env_file")),
        "profiles": list(options.pop("profile")),
    }
    return tuple(paths), options, compose


def _accepted(spec: tuple[str, Any] | None, value: Any) -> bool:
    """Whether click takes `value` for a parameter of this type spec (an "int" as int(value))."""
    if spec is None or value is True:
        return True
    kind, detail = spec
    if kind == "choice":
        return value in detail
    if kind == "int":
        try:
            return int(value) >= detail
        except ValueError:
            return False
    try:  # "path": click.Path's checks of what exists
        mode = os.stat(value).st_mode
    except OSError:
        return True
    except ValueError:  # a NUL byte: click fails in its own way
        return False
    if not detail.get("file_okay", True) and stat.S_ISREG(mode):
        return False
    if not detail.get("dir_okay", True) and stat.S_ISDIR(mode):
        return False
    if not os.access(value, os.R_OK):
        return False
    return not (detail.get("writable") and not os.access(value, os.W_OK))


# ------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> None:
    """Entry point: plain lint runs directly, the rest through click; every error is one line.

    During a plain lint the cyclic garbage collector waits for 10,000 new objects
    instead of 700: start-up creates tens of thousands (modules, classes, rules) that
    all live to the end, and scanning them again and again is about 1.5% of a
    one-file lint; the garbage it may leave for longer is a few megabytes at most.
    """
    thresholds = gc.get_threshold()
    plain = None
    try:
        plain = parse_lint_argv(sys.argv[1:] if argv is None else list(argv))
        if plain is not None:
            gc.set_threshold(10_000, *thresholds[1:])
        code = _click_main(argv) if plain is None else _plain_lint(*plain)
    except UserError as exc:
        echo(f"holdfast: error: {exc}", err=True)
        code = EXIT_USAGE
    except BrokenPipeError:
        code = EXIT_OK
    except KeyboardInterrupt:
        echo("holdfast: interrupted", err=True)
        code = 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        if os.environ.get("HOLDFAST_DEBUG"):
            raise
        echo(f"holdfast: internal error: {type(exc).__name__}: {exc} (set HOLDFAST_DEBUG=1 for a traceback)", err=True)
        code = EXIT_USAGE
    code = code if isinstance(code, int) else 0
    if plain is not None and argv is None:
        _exit_now(code)
    gc.set_threshold(*thresholds)  # as it was, for callers of main([...]) from Python
    sys.exit(code)


def _exit_now(code: int) -> None:
    """End the `holdfast` process at once when nothing is left to run at exit.

    Tearing the interpreter down (freeing every module and object) is about 7% of
    a one-file lint and changes nothing a user sees. Only for the command itself
    (this function's module's `main` run as `__main__`'s `main`, as the console
    script and `python -m holdfast` do), and only when no atexit callback (coverage,
    a plugin's clean-up, tempfile's finalizers), thread or worker pool needs the
    normal exit, and once both output streams are flushed; otherwise it returns
    and the caller exits normally.
    """
    import atexit

    main_module = sys.modules.get("__main__")
    if getattr(main_module, "main", None) is not main or "threading" in sys.modules or "multiprocessing" in sys.modules:
        return
    count = getattr(atexit, "_ncallbacks", None)
    if count is None or count() != 0:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - e.g. a closed pipe: the normal exit deals with it as before
        return
    os._exit(code)


def _click_main(argv: list[str] | None) -> Any:
    """Run the click command group without click's own exit handling."""
    import click

    from holdfast.commands import cli

    try:
        return cli.main(args=argv, prog_name="holdfast", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        echo("holdfast: aborted", err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        echo(f"holdfast: error: {exc.format_message()}", err=True)
        return EXIT_USAGE


def _plain_lint(paths: tuple[str, ...], options: dict[str, Any], compose: dict[str, Any]) -> int:
    """`holdfast lint` without click, ending as click's command would (Ctrl-C or end of input: aborted)."""
    try:
        return call_with_user_errors(run_lint, paths, compose=compose, **options)
    except (EOFError, KeyboardInterrupt):
        echo("", err=True)
        echo("holdfast: aborted", err=True)
        return EXIT_USAGE


def call_with_user_errors(func: Callable[..., int], *args: Any, **kwargs: Any) -> int:
    """func's result, with the project's known error types raised as UserError."""
    from holdfast.config import ConfigError
    from holdfast.discovery import DiscoveryError
    from holdfast.document import DocumentError

    try:
        return func(*args, **kwargs)
    except (ConfigError, DiscoveryError, DocumentError, ValueError, OSError) as exc:
        raise UserError(str(exc)) from None


def echo(text: str, nl: bool = True, err: bool = False, color: bool | None = None) -> None:
    """click.echo(text), without importing click where click would write the text unchanged.

    That is: click not loaded, no ESC in the text (nothing for click to strip) and
    an ordinary text stream, off Windows and not ASCII-encoded (click re-encodes
    those); anything else goes through click.echo itself.
    """
    stream = sys.stderr if err else sys.stdout
    if "click" not in sys.modules and "\x1b" not in text and _plain_text_stream(stream):
        stream.write(text + "\n" if nl else text)
        stream.flush()
        return
    import click

    click.echo(text, nl=nl, err=err, color=color)


def _plain_text_stream(stream: Any) -> bool:
    if sys.platform.startswith("win") or not isinstance(stream, io.TextIOWrapper) or stream.errors is None:
        return False
    try:
        return codecs.lookup(stream.encoding).name != "ascii"
    except LookupError:
        return True


# ----------------------------------------------------------------- shared helpers
def compose_options() -> dict[str, Any]:
    """The Compose project options given on the command line (-p, --project-directory, --env-file, --profile).

    Read from the running click command; `parse_lint_argv` gives the same dict without click.
    """
    import click

    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    return {
        "project_name": meta.get("holdfast.project_name") or (ctx.params.get("project_name") if ctx is not None else None),
        "project_directory": meta.get("holdfast.project_directory"),
        "env_files": list(meta.get("holdfast.env_file") or ()),
        "profiles": list(meta.get("holdfast.profile") or ()),
    }


def _codes(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(code.strip().upper() for code in value.split(",") if code.strip())


def build_config(paths: tuple[str, ...], config_path: str | None, select: str | None, extend_select: str | None, ignore: str | None, fail_level: str | None = None) -> Any:
    from holdfast.config import load_config
    from holdfast.model import Severity

    start = next((p for p in paths if p != "-"), None) or os.getcwd()
    config = load_config(config_path, start=start)
    changes: dict[str, Any] = {}
    if select is not None:
        changes["select"] = _codes(select)
        if not changes["select"]:  # `--select "$RULES"` with the variable empty would silently check nothing
            raise UserError("--select names no rule code; give codes or prefixes such as HF1,HF301")
    if extend_select is not None:
        changes["extend_select"] = config.extend_select + (_codes(extend_select) or ())
    if ignore is not None:
        changes["ignore"] = config.ignore + (_codes(ignore) or ())
    if fail_level is not None:
        changes["fail_level"] = Severity.parse(fail_level)
    return config.with_overrides(**changes)


def collect_projects(paths: tuple[str, ...], files: tuple[str, ...], config: Any, compose: dict[str, Any] | None = None) -> list[Any]:
    """The projects to lint: explicit -f files form one project; PATHS are discovered and grouped.

    `compose` holds Compose's project options (default: those of the running click command).
    """
    from holdfast.discovery import compose_selection, discover, group_projects

    options = compose_options() if compose is None else compose
    projects = []
    if files:
        for path in files:
            if path != "-" and not os.path.isfile(path):
                raise UserError(f"{path}: {'not a regular file' if os.path.exists(path) else 'no such file'}")
        selected = compose_selection(list(files), **options)
        selected.files, selected.requested = list(files), set(files)
        projects.append(selected)
    if paths:
        for group in group_projects(discover(list(paths), config.is_excluded)):
            selected = compose_selection([f for f in group.files], **options)
            selected.files, selected.requested = group.files, group.requested
            projects.append(selected)
    if not projects:
        selected = compose_selection((), **options)
        for path in selected.files:
            if path != "-" and not os.path.isfile(path):
                raise UserError(f"{path}: {'not a regular file' if os.path.exists(path) else 'no such file'} (from COMPOSE_FILE)")
        projects.append(selected)
    return projects


def read_stdin(projects: list[Any], stdin_filename: str | None) -> tuple[str, bytes] | None:
    if any("-" in p.files for p in projects):
        return (stdin_filename or "-", sys.stdin.buffer.read())
    return None


def choose_color(option: str, output: str | None) -> bool:
    """NO_COLOR always wins; `always` forces colour even into a pipe; `auto` means a terminal."""
    if os.environ.get("NO_COLOR") or option == "never":
        return False
    if option == "always":
        return True
    return not output and sys.stdout.isatty()


# --------------------------------------------------------------------------- lint
def run_lint(paths: tuple[str, ...], *, compose: dict[str, Any], files: tuple[str, ...], config_path: str | None, select: str | None, extend_select: str | None, ignore: str | None, stdin_filename: str | None, output_format: str, output: str | None, fail_level: str | None, exit_zero: bool, statistics: bool, color_option: str, no_cache: bool, add_ignore: bool = False, jobs: int | None = None, use_engine: bool = False, engine_host: str | None = None) -> int:
    """`holdfast lint`: check compose files and write the report; the exit code."""
    from holdfast.engine import lint_many

    if no_cache:
        os.environ["HOLDFAST_NO_CACHE"] = "1"
    config = build_config(paths + files, config_path, select, extend_select, ignore, fail_level)
    projects = collect_projects(paths, files, config, compose)
    stdin = read_stdin(projects, stdin_filename)
    load = None if config_path else (lambda start: build_config((start,), None, select, extend_select, ignore, fail_level))
    work = assign_linters(projects, config, load)
    if use_engine:
        for note in engine_facts(work, engine_host):
            echo(f"holdfast: {note}", err=True)
    findings, sources, displayed, failing = lint_many(work, stdin, workers=jobs)
    if add_ignore:
        from holdfast.baseline import report_baseline

        return report_baseline(findings, sources)
    write_report(findings, work[0][0], sources, displayed, config, output_format, output, statistics, choose_color(color_option, output))
    return EXIT_OK if exit_zero or not failing else EXIT_FINDINGS


def engine_facts(work: list[tuple[Any, Any]], host: str | None) -> list[str]:
    """`lint --engine`: the only lint path that talks to Docker (imported here, never at start-up)."""
    from holdfast.apply.errors import ApplyError
    from holdfast.apply.host import Engine
    from holdfast.apply.image_facts import extend_linters

    try:
        engine = Engine.connect(host)
    except ApplyError as exc:
        raise UserError(f"--engine: {exc}") from None
    return extend_linters(work, engine)


def assign_linters(projects: list[Any], first_config: Any, load: Callable[[str], Any] | None) -> list[tuple[Any, Any]]:
    """Pair each project with a Linter for the configuration nearest to its files.

    pre-commit passes files from all over a repository at once; each must be judged
    by its own folder's configuration, not by the first file's. With `--config`
    (`load` is None) one configuration serves every project. Plugins load once.
    """
    from holdfast.config import find_config_file
    from holdfast.engine import Linter

    first = Linter(first_config)
    linters: dict[str | None, Any] = {first_config.path: first}
    jobs = []
    for project in projects:
        linter = first
        if load is not None:
            start = next((f for f in project.files if f != "-"), None) or os.getcwd()
            found = find_config_file(start)
            key = os.path.abspath(found[0]) if found else None
            if key not in linters:
                linters[key] = Linter(load(start), plugins=first.plugins)
            linter = linters[key]
        jobs.append((linter, project))
    return jobs



def write_report(findings: list[Any], linter: Any, sources: dict[str, str], files: list[str], config: Any, output_format: str, output: str | None, statistics: bool, color: bool) -> None:
    from holdfast.model import Report
    from holdfast.reporters import load_reporter

    name = output_format
    if name == "auto":
        name = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    reporter = load_reporter(name, linter.plugins.reporters())
    findings, sources, files = _escaped_paths(findings, sources, files)
    report = Report(
        findings=sorted((f for f in findings if not f.suppressed), key=lambda f: f.sort_key()),
        suppressed=sorted((f for f in findings if f.suppressed), key=lambda f: f.sort_key()),
        rules=linter.rules,
        files=files,
        sources=sources,
        tool_version=__version__,
        fail_level=config.fail_level,
        color=color,
        statistics=statistics,
        notices=list(dict.fromkeys(linter.notices)),
    )
    text = reporter.render(report)
    if name in ("json", "sarif", "gitlab"):
        for notice in report.notices:
            echo(f"holdfast: warning: {notice}", err=True)
    if output:
        from holdfast.fileio import write_text_atomic

        write_text_atomic(output, text)
    else:
        echo(text, nl=not text.endswith("\n"), color=color)


def _escaped_paths(findings: list[Any], sources: dict[str, str], files: list[str]) -> tuple[list[Any], dict[str, str], list[str]]:
    """Paths as every format can write them: non-UTF-8 bytes and control characters escaped.

    Done once here, before any reporter (built-in or plugin) sees the report, so the
    path, its fingerprint, its SARIF URI and its source lines all agree.
    """
    from holdfast.reporters._common import safe_path

    if all(p.isprintable() for p in files) and all(f.path.isprintable() for f in findings) and all(p.isprintable() for p in sources):
        return findings, sources, files
    for finding in findings:
        finding.path = safe_path(finding.path)
        fix = getattr(finding, "fix", None)
        if fix is not None and getattr(fix, "path", None):
            fix.path = safe_path(fix.path)
    return findings, {safe_path(p): t for p, t in sources.items()}, [safe_path(p) for p in files]

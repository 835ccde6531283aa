"""The `holdfast` command line.

Subcommands are loaded lazily from the module that owns them (`fix` from the
fixing engine, `plan`/`apply` from the live-host package), so `holdfast lint` in a
pre-commit hook never imports the Docker SDK. Every usage, configuration or
input error is ONE line on stderr and exit code 2; never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Callable

import click

from holdfast import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

_LAZY_COMMANDS = {
    "lint": "holdfast.cli:lint_command",
    "fix": "holdfast.fix_cli:fix_command",
    "rules": "holdfast.cli:rules_command",
    "rule": "holdfast.cli:rule_command",
    "plugins": "holdfast.cli:plugins_command",
    "plan": "holdfast.apply.cli:plan_command",
    "apply": "holdfast.apply.cli:apply_command",
    "inspect": "holdfast.apply.inspect_cli:inspect_command",
    "images": "holdfast.images_cli:images_command",
}


class UserError(Exception):
    """Anything the user must correct: printed as one line, exit code 2."""


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        target = _LAZY_COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("holdfast"):
                return None  # not built yet in this installation
            raise
        return getattr(module, attr)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="holdfast")
def cli() -> None:
    """Lint and fix Docker Compose files so that databases keep their data."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: run click without its own exit handling, so every error is one line."""
    try:
        code = cli.main(args=argv, prog_name="holdfast", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.Abort:
        click.echo("holdfast: aborted", err=True)
        code = EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"holdfast: error: {exc.format_message()}", err=True)
        code = EXIT_USAGE
    except UserError as exc:
        click.echo(f"holdfast: error: {exc}", err=True)
        code = EXIT_USAGE
    except BrokenPipeError:
        code = EXIT_OK
    except KeyboardInterrupt:
        click.echo("holdfast: interrupted", err=True)
        code = 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        if os.environ.get("HOLDFAST_DEBUG"):
            raise
        click.echo(f"holdfast: internal error: {type(exc).__name__}: {exc} (set HOLDFAST_DEBUG=1 for a traceback)", err=True)
        code = EXIT_USAGE
    sys.exit(code if isinstance(code, int) else 0)


def user_errors(func: Callable[..., int]) -> Callable[..., None]:
    """Turn the project's known error types into UserError and the return value into the exit code."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from holdfast.config import ConfigError
        from holdfast.discovery import DiscoveryError
        from holdfast.document import DocumentError

        try:
            code = func(*args, **kwargs)
        except (ConfigError, DiscoveryError, DocumentError, ValueError, OSError) as exc:
            raise UserError(str(exc)) from None
        raise click.exceptions.Exit(code)

    return wrapper


# ----------------------------------------------------------------- shared options
def selection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--select/--ignore/--extend-select/--config, shared by lint and fix."""
    options = [
        click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Configuration file (default: nearest .holdfast.toml or pyproject.toml [tool.holdfast])."),
        click.option("--select", default=None, help="Comma-separated rule codes or prefixes to enable (replaces the defaults)."),
        click.option("--extend-select", default=None, help="Comma-separated codes to enable in addition."),
        click.option("--ignore", default=None, help="Comma-separated codes to disable."),
        click.option("-f", "--file", "files", multiple=True, type=click.Path(dir_okay=False), help="Compose files of ONE project, merged in order like `docker compose -f`."),
        click.option("--stdin-filename", default=None, help="The name to report for standard input (`-`)."),
        # Compose's own project options, as `docker compose` reads them (kept in the click context)
        click.option("--project-directory", callback=_keep, expose_value=False, type=click.Path(file_okay=False), help="Folder relative paths start from, as `docker compose --project-directory`."),
        click.option("--env-file", "env_file", multiple=True, callback=_keep, expose_value=False, type=click.Path(dir_okay=False), help="Variables file(s) instead of the project's .env, as `docker compose --env-file`."),
        click.option("--profile", "profile", multiple=True, callback=_keep, expose_value=False, help="Active profile(s), as `docker compose --profile` (default: COMPOSE_PROFILES)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"holdfast.{param.name}"] = value
    return value


def compose_options() -> dict[str, Any]:
    """The Compose project options given on the command line (-p, --project-directory, --env-file, --profile)."""
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
    if extend_select is not None:
        changes["extend_select"] = config.extend_select + (_codes(extend_select) or ())
    if ignore is not None:
        changes["ignore"] = config.ignore + (_codes(ignore) or ())
    if fail_level is not None:
        changes["fail_level"] = Severity.parse(fail_level)
    return config.with_overrides(**changes)


def collect_projects(paths: tuple[str, ...], files: tuple[str, ...], config: Any) -> list[Any]:
    """The projects to lint: explicit -f files form one project; PATHS are discovered and grouped."""
    from holdfast.discovery import compose_selection, discover, group_projects

    options = compose_options()
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
@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path())
@selection_options
@click.option("--format", "output_format", default="text", show_default=True, help="text, concise, json, sarif, github, gitlab, or auto (github under GitHub Actions, else text).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write the report to a file instead of standard output.")
@click.option("--fail-level", type=click.Choice(["error", "warning", "info"]), default=None, help="Lowest severity that makes the exit code 1 (default: error).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--statistics", is_flag=True, help="Show counts per rule instead of each finding.")
@click.option("--color", "color_option", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache (HOLDFAST_NO_CACHE=1).")
@click.option("-p", "--project-name", callback=_keep, expose_value=False, help="Project name, as `docker compose -p` (default: COMPOSE_PROJECT_NAME, `name:`, the folder).")
@click.option("--add-ignore", is_flag=True, help="Baseline: write `# holdfast: ignore[CODE] TODO` on the line of every finding, then exit 0.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes for many projects (default: the CPUs holdfast may use).")
@click.option("--engine", "use_engine", is_flag=True, help="Also ask the Docker engine about local images holdfast does not know (their declared VOLUMEs). Off by default: lint never needs Docker.")
@click.option("-H", "--host", "engine_host", default=None, help="With --engine: the Docker engine URL (default: DOCKER_HOST, then the current context).")
@user_errors
def lint_command(paths: tuple[str, ...], files: tuple[str, ...], config_path: str | None, select: str | None, extend_select: str | None, ignore: str | None, stdin_filename: str | None, output_format: str, output: str | None, fail_level: str | None, exit_zero: bool, statistics: bool, color_option: str, no_cache: bool, add_ignore: bool = False, jobs: int | None = None, use_engine: bool = False, engine_host: str | None = None) -> int:
    """Check compose files (folders are searched; no PATHS: the current project)."""
    from holdfast.engine import lint_many

    if no_cache:
        os.environ["HOLDFAST_NO_CACHE"] = "1"
    config = build_config(paths + files, config_path, select, extend_select, ignore, fail_level)
    projects = collect_projects(paths, files, config)
    stdin = read_stdin(projects, stdin_filename)
    load = None if config_path else (lambda start: build_config((start,), None, select, extend_select, ignore, fail_level))
    work = assign_linters(projects, config, load)
    if use_engine:
        for note in engine_facts(work, engine_host):
            click.echo(f"holdfast: {note}", err=True)
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
            click.echo(f"holdfast: warning: {notice}", err=True)
    if output:
        from holdfast.fileio import write_text_atomic

        write_text_atomic(output, text)
    else:
        click.echo(text, nl=not text.endswith("\n"), color=color)


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


# -------------------------------------------------------------------- rules & docs
@click.command("rules")
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True, help="json and markdown: the documentation of every rule.")
@click.option("--write-docs", "docs_dir", type=click.Path(file_okay=False), default=None, help="Write one Markdown page per built-in rule and the rule table (README.md) into this folder.")
@click.option("--readme", "readme", type=click.Path(dir_okay=False, exists=True), default=None, help="With --write-docs: also rewrite the rule table between the markers in this README.")
@user_errors
def rules_command(config_path: str | None, output_format: str = "text", docs_dir: str | None = None, readme: str | None = None) -> int:
    """List every rule: code, name, severity, fixable, enabled."""
    from holdfast.config import load_config
    from holdfast.engine import Linter

    if docs_dir is not None:
        from holdfast.rules import holdfast_rules
        from holdfast.rules_doc import write_docs

        builtin = {rule.code: rule for rule in holdfast_rules()}
        written = write_docs(builtin, docs_dir)
        if readme is not None:
            from holdfast.rules_doc import write_readme_table

            try:
                if write_readme_table(builtin, readme, docs_dir):
                    written.append(readme)
            except ValueError as exc:
                raise UserError(f"{readme}: {exc}") from None
        click.echo(f"{len(written)} file{'s' if len(written) != 1 else ''} updated in {docs_dir}", err=True)
        return EXIT_OK
    config = load_config(config_path)
    linter = Linter(config, with_fixes=False)
    if output_format != "text":
        from holdfast import rules_doc

        click.echo(rules_doc.to_json(linter.rules) if output_format == "json" else rules_doc.to_markdown(linter.rules), nl=False)
        return EXIT_OK
    rows = [("code", "name", "severity", "fixable", "enabled")]
    for code, rule in sorted(linter.rules.items()):
        severity = config.severity.get(code, rule.severity).label
        rows.append((code, rule.name, severity, "yes" if rule.fixable else "no", "yes" if config.is_selected(code, rule.enabled_by_default) else "no"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    for notice in linter.notices:
        click.echo(f"holdfast: warning: {notice}", err=True)
    return EXIT_OK


@click.command("rule")
@click.argument("code")
@user_errors
def rule_command(code: str) -> int:
    """Show a rule's documentation."""
    import inspect

    from holdfast.config import Config
    from holdfast.engine import Linter

    linter = Linter(Config(), with_fixes=False)
    rule = linter.rules.get(code.upper())
    if rule is None:
        raise UserError(f"no rule {code!r} (see `holdfast rules`)")
    doc = inspect.cleandoc(rule.__doc__ or rule.name)
    header = f"{rule.code} {rule.name} ({rule.severity.label}{', fixable' if rule.fixable else ''}{'' if rule.enabled_by_default else ', off by default'})"
    click.echo(f"{header}\n\n{doc}")
    return EXIT_OK


@click.command("plugins")
@user_errors
def plugins_command() -> int:
    """List the plugins that loaded (and those that failed)."""
    from holdfast.plugins import load_plugins

    plugins = load_plugins()
    rules = plugins.rules()
    for item in plugins.loaded:
        origin = f"{item.distribution} {item.version}" if item.distribution else "?"
        status = f"FAILED: {item.error}" if item.error else "ok"
        click.echo(f"{item.name:<12} {item.value:<32} {origin:<24} {status}")
    click.echo(f"{len(rules)} rules from {sum(1 for p in plugins.loaded if not p.error)} plugins")
    return EXIT_OK


for _command in (lint_command, rules_command, rule_command, plugins_command):
    cli.add_command(_command)

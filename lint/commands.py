"""The click side of the `holdfast` command line: the command group and its commands.

`holdfast.cli.main` imports this module for everything except a plain `holdfast
lint` (see `holdfast.cli.parse_lint_argv`), so click's own import cost is paid only
there. Subcommands are loaded lazily from the module that owns them (`fix` from the
fixing engine, `plan`/`apply` from the live-host package), so no command imports the
Docker SDK before it needs it. The lint options are built from
`holdfast.cli.LINT_OPTIONS`, the table the fast parser reads too.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any, Callable

import click

from holdfast import __version__
from holdfast.cli import (
    EXIT_OK,
    LINT_OPTIONS,
    PATHS_TYPE,
    SELECTION_OPTIONS,
    UserError,
    call_with_user_errors,
    compose_options,
    run_lint,
)

_LAZY_COMMANDS = {
    "lint": "holdfast.commands:lint_command",
    "fix": "holdfast.fix_cli:fix_command",
    "rules": "holdfast.commands:rules_command",
    "rule": "holdfast.commands:rule_command",
    "plugins": "holdfast.commands:plugins_command",
    "plan": "holdfast.apply.cli:plan_command",
    "apply": "holdfast.apply.cli:apply_command",
    "inspect": "holdfast.apply.inspect_cli:inspect_command",
    "images": "holdfast.images_cli:images_command",
}


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


def user_errors(func: Callable[..., int]) -> Callable[..., None]:
    """Turn the project's known error types into UserError and the return value into the exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        raise click.exceptions.Exit(call_with_user_errors(func, *args, **kwargs))

    return wrapper


# ----------------------------------------------------------------- shared options
def click_type(spec: tuple[str, Any]) -> click.ParamType:
    """The click type of a `holdfast.cli` type spec: ("path", Path keywords), ("choice", names), ("int", minimum)."""
    kind, detail = spec
    if kind == "path":
        return click.Path(**detail)
    if kind == "choice":
        return click.Choice(list(detail))
    return click.IntRange(min=detail)


def table_options(table: tuple[tuple[tuple[str, ...], dict[str, Any]], ...]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator adding the click options of a `holdfast.cli` option table, in the table's order."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for decls, spec in reversed(table):
            kwargs = dict(spec)
            if "type" in kwargs:
                kwargs["type"] = click_type(kwargs["type"])
            if kwargs.pop("compose", False):  # Compose's own project options, kept in the click context
                kwargs.update(callback=_keep, expose_value=False)
            func = click.option(*decls, **kwargs)(func)
        return func

    return decorate


def selection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--select/--ignore/--extend-select/--config, -f, --stdin-filename and Compose's project options, shared by lint and fix."""
    return table_options(SELECTION_OPTIONS)(func)


def _keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"holdfast.{param.name}"] = value
    return value


# --------------------------------------------------------------------------- lint
@click.command("lint")
@click.argument("paths", nargs=-1, type=click_type(PATHS_TYPE))
@table_options(LINT_OPTIONS)
@user_errors
def lint_command(paths: tuple[str, ...], **options: Any) -> int:
    """Check compose files (folders are searched; no PATHS: the current project)."""
    return run_lint(paths, compose=compose_options(), **options)


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

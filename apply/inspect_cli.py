"""`holdfast inspect`: audit a live Docker engine (HF501-HF503), no compose file needed.

Exit codes: 0 nothing at or above the fail level, 1 findings at or above it,
2 usage error or no engine answering (one line naming the endpoint and why).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

import click
from holdfast.cli import EXIT_OK, UserError, choose_color, user_errors


@contextmanager
def _context_environment(context: str | None) -> Iterator[None]:
    """`--context NAME` wins over DOCKER_HOST, as with `docker --context`."""
    if context is None:
        yield
        return
    saved = {key: os.environ.get(key) for key in ("DOCKER_CONTEXT", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")}
    if context != "default":  # the default context IS DOCKER_HOST (or the local socket)
        for key in ("DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"):
            os.environ.pop(key, None)
    os.environ["DOCKER_CONTEXT"] = context
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def connect(host: str | None, context: str | None) -> Any:
    """The engine, or a one-line UserError (exit 2) naming the endpoint and the reason."""
    from holdfast.apply.errors import EngineUnavailable
    from holdfast.apply.host import Engine

    if host and context:
        raise UserError("--host and --context are mutually exclusive")
    try:
        with _context_environment(context):
            return Engine.connect(host)
    except EngineUnavailable as exc:
        raise UserError(" ".join(str(exc).split())) from None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


@click.command("inspect")
@click.option("-H", "--host", default=None, help="Engine URL (unix://, tcp://, ssh://user@host); default: DOCKER_HOST, the current Docker context, the local socket.")
@click.option("--context", default=None, help="Docker context to use (`docker context ls`).")
@click.option("--project", "projects", multiple=True, help="Only this Compose project's containers and volumes (repeatable).")
@click.option("--volume", "volumes", multiple=True, help="Only check these dangling volumes for orphaned data (repeatable).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Configuration file (default: nearest .holdfast.toml or pyproject.toml [tool.holdfast]).")
@click.option("--format", "output_format", default="text", show_default=True, help="text, concise, json, sarif, github, gitlab, or auto (github under GitHub Actions, else text).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write the report to a file instead of standard output.")
@click.option("--fail-level", type=click.Choice(["error", "warning", "info"]), default=None, help="Lowest severity that makes the exit code 1 (default: error).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--color", "color_option", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@user_errors
def inspect_command(host: str | None, context: str | None, projects: tuple[str, ...], volumes: tuple[str, ...], config_path: str | None, output_format: str, output: str | None, fail_level: str | None, exit_zero: bool, color_option: str) -> int:
    """Audit a live Docker engine: data on anonymous volumes or in containers (HF501),
    empty bind sources (HF502), orphaned volumes holding databases (HF503) and
    databases started empty after the project was renamed or moved (HF504)."""
    from holdfast import __version__
    from holdfast.apply.inspect import EngineAccess, Inspector, _engine_gone
    from holdfast.cli import build_config
    from holdfast.engine import Linter, exit_code
    from holdfast.model import Report
    from holdfast.reporters import load_reporter
    from holdfast.rules.live_host import HOST_RULES

    config = build_config((), config_path, None, None, None, fail_level)
    linter = Linter(config, with_fixes=False)
    name = output_format.strip().lower()
    if name == "auto":
        name = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    reporter = load_reporter(name, linter.plugins.reporters())  # an unknown format fails before any engine work

    rules: dict[str, Any] = dict(linter.rules)
    rules.update({rule.code: rule for rule in HOST_RULES})
    selected = {code: rule for code, rule in rules.items() if getattr(rule, "scope", "") == "host" and config.is_selected(code, rule.enabled_by_default)}

    engine = connect(host, context)
    inspector = Inspector(EngineAccess(engine), linter.knowledge, selected, severity=dict(config.severity), projects=projects, volumes=volumes)
    try:
        result = inspector.run()
    except Exception as exc:  # noqa: BLE001
        if _engine_gone(exc):
            raise UserError(_one_line(f"the Docker engine at {engine.endpoint.url} ({engine.endpoint.source}) stopped answering: {exc}")) from None
        import docker.errors

        if isinstance(exc, docker.errors.DockerException):
            raise UserError(_one_line(f"the Docker engine at {engine.endpoint.url} ({engine.endpoint.source}) refused: {exc}")) from None
        raise
    finally:
        try:
            engine.client.close()
        except Exception:  # noqa: BLE001
            pass

    report = Report(
        findings=result.findings,
        rules=rules,
        files=result.inspected,
        sources={},
        tool_version=__version__,
        fail_level=config.fail_level,
        color=choose_color(color_option, output),
        notices=list(dict.fromkeys(linter.notices + result.notices)),
    )
    text = reporter.render(report)
    if name in ("json", "sarif", "gitlab"):
        for notice in report.notices:
            click.echo(f"holdfast: warning: {_one_line(notice)}", err=True)
    if output:
        from holdfast.fileio import write_text_atomic

        write_text_atomic(output, text)
    else:
        click.echo(text, nl=not text.endswith("\n"))
    return EXIT_OK if exit_zero else exit_code(result.findings, config.fail_level)


__all__ = ["connect", "inspect_command"]

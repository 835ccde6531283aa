"""`holdfast plan`, `holdfast apply`, and `fix_apply()` behind `holdfast fix --apply`.

`plan` reads the compose files and the live engine and writes a plan file;
`plan --show` renders one for a person; `apply` runs it (asking before it stops
anything), resumes it after a failure or a kill, and `apply --rollback` undoes it.
`fix_apply()` is fix + plan + apply in one call, the same code path and prompts.

Exit codes of `apply` (and `fix --apply`):

  0  done, or nothing to do (already applied / already migrated / dry run)
  1  a step failed: stopped safely (or rolled back) with advice on how to
     resume or go back; every backup kept. Also: not confirmed.
  2  usage error, no engine, invalid plan file, or stale plan (compose file or
     containers changed since the plan was made)
  3  refused by a pre-check before anything changed (another apply holds the
     lock, bind target not empty, image not local, not enough disk space, a
     symlink or foreign file where apply writes, a rollback that would lose
     data written since the apply)
  130, 143  interrupted by SIGINT / SIGTERM: open streams closed, what was
     stopped started again (or the way back printed), journal says so

`plan` exits 0 when it wrote a plan or found nothing to rescue, 2 on usage
errors, 3 when a pre-check refuses (e.g. a non-empty bind target).
"""

from __future__ import annotations

import os
from typing import Any

import click
from holdfast.apply import EXIT_DONE, EXIT_USAGE
from holdfast.cli import (
    UserError,
    build_config,
    collect_projects,
    selection_options,
    user_errors,
)

EXIT_CODES_HELP = (
    "\b\nExit codes:\n"
    "  0  done, or nothing to do (already applied or migrated, dry run)\n"
    "  1  a step failed: stopped safely or rolled back, with advice; backups kept\n"
    "  2  usage error, no engine, invalid or stale plan\n"
    "  3  refused by a pre-check before anything changed (lock, non-empty target, image,\n"
    "     a symlink where apply writes, a rollback that would lose newer writes)\n"
    "  130/143  interrupted by SIGINT/SIGTERM: stopped containers started again or the way back printed"
)

PLAN_EXIT_CODES_HELP = (
    "\b\nExit codes:\n"
    "  0  a plan was written (or shown), or there is nothing live to rescue\n"
    "  2  usage error, no engine, invalid plan file (--show)\n"
    "  3  refused by a pre-check (bind target not empty, image not local, replicas, ...)"
)


COMPOSE_HELP = (
    "Compose flavour that recreates the project: v2 (`docker compose`) or v1 (`docker-compose`). "
    "Default: the one that created the project (its containers' labels), else $HOLDFAST_COMPOSE."
)


def _echo_error(exc: Any) -> None:
    click.echo(f"holdfast: error: {exc}", err=True)
    for line in getattr(exc, "advice", []) or []:
        click.echo(f"holdfast:   {line}", err=True)


def _guard(func: Any) -> Any:
    """Map holdfast.apply errors to their exit codes (one line + advice, never a traceback)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        from holdfast.apply.errors import ApplyError

        try:
            return func(*args, **kwargs)
        except ApplyError as exc:
            _echo_error(exc)
            return exc.exit_code

    return wrapper


# ------------------------------------------------------------------ shared
def connect(host: str | None) -> Any:
    from holdfast.apply.host import Engine

    return Engine.connect(host)


def compose_for(plan: Any, engine: Any, compose: str | None = None) -> Any:
    """The project's Compose CLI, aimed at the same engine; None when that Compose is not installed.

    The flavour is `compose` when given, else the one the plan recorded (the one that created
    the project), never silently the other one."""
    from holdfast.apply.compose import ComposeProject, detect_cli, flavour_of_cli_text

    env = dict(os.environ)
    env.update(engine.endpoint.compose_env())
    cli = detect_cli(env, prefer=compose or flavour_of_cli_text(plan.compose_cli))
    if cli is None:
        return None
    return ComposeProject(cli, plan.project.name, plan.project.directory, plan.compose_files, plan.project.env_file, engine.endpoint.compose_env())


def make_plans(
    paths: tuple[str, ...],
    files: tuple[str, ...],
    config: Any,
    engine: Any,
    *,
    project_name: str | None = None,
    to_override: bool = False,
    services: set[str] | None = None,
    compose: str | None = None,
) -> tuple[list[Any], list[str]]:
    """Plans for every project among PATHS/-f that has a live service to rescue, plus notes for the others.

    `compose` ("v1"/"v2"): the Compose flavour to recreate with; by default the one that created
    each project (the planner reads it from the containers' labels)."""
    from holdfast.apply.planner import Planner

    planner = Planner(engine, config, compose=compose)
    plans, notes = [], []
    for project in collect_projects(paths, files, config):
        outcome = planner.plan(project, project_name=project_name, to_override=to_override, services=services)
        notes.extend(outcome.notes)
        if outcome.plan is not None:
            plans.append(outcome.plan)
    return plans, notes


def backup_dir_for(plan: Any, backup_dir: str | None) -> str:
    from holdfast.apply.render import default_backup_dir

    return os.path.abspath(backup_dir) if backup_dir else default_backup_dir(plan)


def run_apply(
    plan: Any,
    *,
    engine: Any = None,
    backup_dir: str | None = None,
    yes: bool = False,
    dry_run: bool = False,
    rollback: bool = False,
    host: str | None = None,
    health_timeout: float = 180.0,
    on_failure: str = "stop",
    console: Any = None,
    extra_plugins: list[Any] | None = None,
    keep_current: bool = False,
    compose: str | None = None,
) -> int:
    """Apply (or roll back) a loaded Plan; the one code path behind `apply` and `fix --apply`.

    `extra_plugins` are registered with the plugin manager (tests inject faults
    through `holdfast_before_step` / `holdfast_after_step`)."""
    from holdfast.apply.compose import flavour_of_cli_text
    from holdfast.apply.console import Console
    from holdfast.apply.errors import ApplyError, PlanInvalid
    from holdfast.apply.executor import ApplyOptions, Executor
    from holdfast.plugins import load_plugins

    console = console or Console()
    directory = backup_dir_for(plan, backup_dir)
    options = ApplyOptions(yes=yes, dry_run=dry_run, health_timeout=health_timeout, on_failure=on_failure, keep_current=keep_current)
    try:
        if dry_run:
            return Executor(plan, None, None, directory, console=console, plugins=load_plugins(extra_plugins), options=options).dry_run()
        if engine is None:
            engine = connect(host)
        if engine.endpoint.url != plan.engine.endpoint:
            raise PlanInvalid(f"the plan was made against {plan.engine.endpoint} but holdfast is connected to {engine.endpoint.url} ({engine.endpoint.source}); use --host")
        planned = flavour_of_cli_text(plan.compose_cli)
        if compose and planned and compose != planned:
            console.warn(f"the plan recreates with Compose {planned} (the flavour that created the project); using Compose {compose} as asked")
        executor = Executor(plan, engine, compose_for(plan, engine, compose), directory, console=console, plugins=load_plugins(extra_plugins), options=options)
        return executor.rollback() if rollback else executor.apply()
    except ApplyError as exc:
        console.error(f"error: {exc}")
        for line in exc.advice:
            console.error(f"  {line}")
        return exc.exit_code


def fix_apply(
    paths: tuple[str, ...] = (),
    files: tuple[str, ...] = (),
    *,
    config: Any = None,
    services: set[str] | None = None,
    project_name: str | None = None,
    to_override: bool = False,
    yes: bool = False,
    dry_run: bool = False,
    backup_dir: str | None = None,
    host: str | None = None,
    health_timeout: float = 180.0,
    on_failure: str = "stop",
    console: Any = None,
    extra_plugins: list[Any] | None = None,
    compose: str | None = None,
) -> int:
    """`holdfast fix --apply`: fix + plan + apply in one call, with apply's prompts and exit codes.

    For every project with a live service to rescue it makes the plan, saves it
    as `<backup dir>/plan.json` (so a failed run can be resumed or rolled back
    with `holdfast apply [--rollback] <backup dir>/plan.json`), shows a summary
    and applies it. Projects without containers get the plain fix (the caller's
    job: this function only handles what needs the live host). Returns the exit
    code (the worst over projects). `config` is a `holdfast.config.Config`
    (e.g. from `holdfast.cli.build_config`); None finds it from the paths.
    """
    from holdfast.apply.console import Console
    from holdfast.apply.errors import ApplyError
    from holdfast.apply.plan import save

    console = console or Console()
    if config is None:
        config = build_config(paths + files, None, None, None, None)
    try:
        engine = connect(host)
        plans, notes = make_plans(paths, files, config, engine, project_name=project_name, to_override=to_override, services=services, compose=compose)
    except ApplyError as exc:
        _echo_error(exc)
        return exc.exit_code
    for note in notes:
        console.say(f"holdfast: {note}")
    worst = EXIT_DONE
    for plan in plans:
        directory = backup_dir_for(plan, backup_dir if len(plans) == 1 else (os.path.join(backup_dir, plan.project.name) if backup_dir else None))
        if not dry_run:
            save(plan, os.path.join(directory, "plan.json"))
        console.say(_summary(plan, directory))
        code = run_apply(
            plan, engine=engine, backup_dir=directory, yes=yes, dry_run=dry_run, health_timeout=health_timeout,
            on_failure=on_failure, console=console, extra_plugins=extra_plugins, compose=compose,
        )
        worst = max(worst, code)
    return worst


def _summary(plan: Any, directory: str) -> str:
    from holdfast.apply.console import human_bytes, human_seconds

    names = ", ".join(f"{s.name} ({s.title}, {human_bytes(s.size_bytes)})" for s in plan.services)
    text = (
        f"holdfast: plan {plan.id[:12]} for project {plan.project.name!r}: move {names} into bind mounts; "
        f"expected downtime about {human_seconds(plan.estimate.get('downtime_seconds'))}; plan and backups in {directory}"
    )
    for warning in plan.warnings:
        text += f"\nholdfast: warning: {warning}"
    return text


# ------------------------------------------------------------------- plan
@click.command("plan", epilog=PLAN_EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path())
@selection_options
@click.option("-o", "--output", default="holdfast-plan.json", show_default=True, type=click.Path(), help="Where to write the plan (a folder when several projects need one).")
@click.option("--show", "show_path", type=click.Path(dir_okay=False), default=None, help="Render an existing plan file for a person and exit.")
@click.option("--backup-dir", default=None, type=click.Path(file_okay=False), help="With --show: the backup folder apply will use.")
@click.option("-p", "--project-name", default=None, help="The Compose project name (default: as Compose derives it).")
@click.option("--service", "services", multiple=True, help="Only these services (repeatable).")
@click.option("--to-override", is_flag=True, help="Put the new mounts in the override file instead of editing the compose file.")
@click.option("-H", "--host", default=None, help="Docker engine URL (default: DOCKER_HOST, then the current Docker context).")
@click.option("--compose", "compose", type=click.Choice(["v2", "v1"]), default=None, help=COMPOSE_HELP)
@user_errors
@_guard
def plan_command(paths: tuple[str, ...], files: tuple[str, ...], config_path: str | None, select: str | None, extend_select: str | None, ignore: str | None, stdin_filename: str | None, output: str, show_path: str | None, backup_dir: str | None, project_name: str | None, services: tuple[str, ...], to_override: bool, host: str | None, compose: str | None) -> int:
    """Plan the rescue of live data kept inside containers (HF101/HF102/HF105), for review before `apply`."""
    from holdfast.apply.plan import load, save
    from holdfast.apply.render import show

    if show_path:
        plan = load(show_path)
        click.echo(show(plan, backup_dir_for(plan, backup_dir), plan_path=show_path), nl=False)
        return EXIT_DONE
    if "-" in files or "-" in paths:
        raise UserError("`plan` needs compose files on disk (standard input cannot be patched)")
    config = build_config(paths + files, config_path, select, extend_select, ignore)
    engine = connect(host)
    plans, notes = make_plans(paths, files, config, engine, project_name=project_name, to_override=to_override, services=set(services) or None, compose=compose)
    for note in notes:
        click.echo(f"holdfast: {note}", err=True)
    if not plans:
        click.echo("holdfast: nothing to plan")
        return EXIT_DONE
    targets: list[str]
    if len(plans) == 1 and not os.path.isdir(output):
        targets = [output]
    elif os.path.isdir(output) or output.endswith(os.sep):
        targets = [os.path.join(output, f"{p.project.name}.plan.json") for p in plans]
    else:
        raise UserError(f"{len(plans)} projects need a plan; give -o a folder")
    for plan, target in zip(plans, targets):
        save(plan, target)
        click.echo(_summary(plan, backup_dir_for(plan, None)).replace("plan and backups in", "backups will go to"))
        click.echo(f"holdfast: wrote {target}; review it with `holdfast plan --show {target}`, then `holdfast apply {target}`")
    return EXIT_DONE


# ------------------------------------------------------------------ apply
@click.command("apply", epilog=EXIT_CODES_HELP)
@click.argument("plan_path", type=click.Path(dir_okay=False))
@click.option("-y", "--yes", is_flag=True, help="Do not ask before stopping the project.")
@click.option("--dry-run", is_flag=True, help="Show what would run (and the manual commands) without changing anything.")
@click.option("--rollback", is_flag=True, help="Return the project to its state before the apply, data restored from the archives.")
@click.option("--backup-dir", default=None, type=click.Path(file_okay=False), help="Backup folder (default ./holdfast-backups/<plan time>-<project>/); the journal lives there.")
@click.option("--health-timeout", default=180.0, show_default=True, type=float, help="Seconds to wait for a recreated service to become healthy.")
@click.option("--on-failure", type=click.Choice(["stop", "rollback"]), default="stop", show_default=True, help="After a failure past the point of no return: stop with advice, or roll back at once.")
@click.option("--keep-current", is_flag=True, help="With --rollback: archive the current data into the backup folder first (sha256 verified), even when it changed since the apply.")
@click.option("-H", "--host", default=None, help="Docker engine URL (default: DOCKER_HOST, then the current Docker context).")
@click.option("--compose", "compose", type=click.Choice(["v2", "v1"]), default=None, help=COMPOSE_HELP)
@user_errors
@_guard
def apply_command(plan_path: str, yes: bool, dry_run: bool, rollback: bool, backup_dir: str | None, health_timeout: float, on_failure: str, keep_current: bool, host: str | None, compose: str | None) -> int:
    """Run a plan: fingerprint, stop, archive, verify, remove, restore, patch, recreate, verify.

    Re-running the same command resumes after the last verified step."""
    import sys

    from holdfast.apply.plan import load

    if keep_current and not rollback:
        raise UserError("--keep-current goes with --rollback")
    plan = load(plan_path)
    if not (yes or dry_run) and not sys.stdin.isatty():
        raise UserError("standard input is not a terminal: pass --yes to confirm (or --dry-run to preview)")
    if rollback and dry_run:
        raise UserError("--rollback and --dry-run together are not supported; --rollback asks before it changes anything")
    return run_apply(plan, backup_dir=backup_dir, yes=yes, dry_run=dry_run, rollback=rollback, host=host, health_timeout=health_timeout, on_failure=on_failure, keep_current=keep_current, compose=compose)


__all__ = ["EXIT_USAGE", "apply_command", "fix_apply", "make_plans", "plan_command", "run_apply"]

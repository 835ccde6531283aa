"""`holdfast fix`: apply the fixes, say what was fixed, and show what remains.

Same discovery and selection as `holdfast lint` (the shared options live in
`holdfast.cli`). Output contract: one line per applied fix
(`path: fixed HF101 in service db (uncommented the volumes block on lines 8-9)`),
one per refusal, then the remaining findings in the text format. `--diff` writes
nothing, prints a unified diff and exits 1 when there would be changes. `-` reads
standard input and writes the fixed text to standard output (messages go to
standard error). Exit codes: 0 nothing left at or above the fail level, 1
findings remain (or `--diff` with changes, or `--exit-non-zero-on-fix` and
something was fixed), 2 usage or configuration errors.

Docker: without `--apply`, `fix` edits files only. When a data fix (HF101/HF102/HF105/HF106)
would be written and a Docker engine is configured (DOCKER_HOST, DOCKER_CONTEXT or the
default socket), it asks the engine whether that service has a container; if so, that
fix is refused with one line pointing to `holdfast fix --apply` (see
docs/fix-on-live-host.md). `--no-engine` never asks (pre-commit, CI); the Docker SDK is
imported only when the question is asked. `--engine`, as for `lint`, also asks the engine
about local images holdfast does not know (the VOLUMEs they declare).
"""

from __future__ import annotations

import sys
from typing import Any

import click
from holdfast.cli import (
    EXIT_FINDINGS,
    EXIT_OK,
    UserError,
    build_config,
    choose_color,
    collect_projects,
    read_stdin,
    selection_options,
    user_errors,
    write_report,
)


@click.command("fix")
@click.argument("paths", nargs=-1, type=click.Path())
@selection_options
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of the fixes and write nothing (exit 1 when there would be changes).")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes marked unsafe (e.g. moving a mount to another path).")
@click.option("--to-override", is_flag=True, help="Write the repairs into the project's override file (compose.override.yaml …), leaving the upstream file untouched.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when anything was fixed, even if nothing remains.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain (the pre-commit hook: `holdfast lint` reports them).")
@click.option("--fail-level", type=click.Choice(["error", "warning", "info"]), default=None, help="Lowest severity of a remaining finding that makes the exit code 1 (default: error).")
@click.option("--color", "color_option", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("--force-readonly", is_flag=True, help="Rewrite files even when they are read-only (mode without write bits).")
@click.option("--apply", "apply_live", is_flag=True, help="Also rescue the data of running or stopped containers: plan + apply on the live host (see `holdfast apply`).")
@click.option("--yes", is_flag=True, help="With --apply: do not ask before the first destructive step.")
@click.option("--dry-run", is_flag=True, help="With --apply: show what would run and change nothing.")
@click.option("--backup-dir", type=click.Path(file_okay=False), default=None, help="With --apply: where backups go (default ./holdfast-backups/<timestamp>/).")
@click.option("--host", default=None, help="With --apply: Docker endpoint (default: DOCKER_HOST or the current context).")
@click.option("-p", "--project-name", default=None, help="With --apply: the Compose project name, when it is not the folder's.")
@click.option("--compose", "compose", type=click.Choice(["v2", "v1"]), default=None, help="With --apply: the Compose flavour that recreates the project (default: the one that created it).")
@click.option("--no-engine", is_flag=True, help="Never ask Docker whether the project runs (pre-commit, CI): edit the files only.")
@click.option("--engine", "use_engine", is_flag=True, help="As `lint --engine`: also judge local images holdfast does not know by the VOLUMEs they declare.")
@user_errors
def fix_command(
    paths: tuple[str, ...],
    files: tuple[str, ...],
    config_path: str | None,
    select: str | None,
    extend_select: str | None,
    ignore: str | None,
    stdin_filename: str | None,
    show_diff: bool,
    unsafe_fixes: bool,
    to_override: bool,
    exit_non_zero_on_fix: bool,
    exit_zero: bool,
    fail_level: str | None,
    color_option: str,
    force_readonly: bool,
    apply_live: bool,
    yes: bool,
    dry_run: bool,
    backup_dir: str | None,
    host: str | None,
    project_name: str | None,
    compose: str | None,
    no_engine: bool,
    use_engine: bool = False,
) -> int:
    """Fix compose files in place (folders are searched; no PATHS: the current project).

    With --apply, services whose containers exist are rescued on the live host first
    (stop, back up, verify, move the data into the new mount, patch, recreate, verify),
    through the same code path as `holdfast plan` + `holdfast apply`.
    """
    from holdfast.engine import Linter, exit_code
    from holdfast.fixing import FixSession, finding_key

    config = build_config(paths + files, config_path, select, extend_select, ignore, fail_level)
    if not apply_live and (yes or dry_run or backup_dir or host or project_name or compose):
        raise UserError("--yes, --dry-run, --backup-dir, --host, --project-name and --compose go with --apply")
    if apply_live and no_engine:
        raise UserError("--apply rescues data through Docker; it cannot be combined with --no-engine")
    if use_engine and no_engine:
        raise UserError("--engine asks Docker about images; it cannot be combined with --no-engine")
    if apply_live:
        if show_diff or "-" in paths or "-" in files:
            raise UserError("--apply changes a live host; it cannot be combined with --diff or standard input")
        from holdfast.apply.cli import fix_apply

        code = fix_apply(
            paths, files, config=config, project_name=project_name, to_override=to_override,
            yes=yes, dry_run=dry_run, backup_dir=backup_dir, host=host, compose=compose,
        )
        if code != EXIT_OK or dry_run:
            return code  # the apply said what happened and how to get back; fix nothing more
    projects = collect_projects(paths, files, config)
    stdin = read_stdin(projects, stdin_filename)
    if stdin is not None and to_override:
        raise UserError("--to-override writes an override file beside the compose file; it cannot be used with standard input")
    linter = Linter(config)
    if use_engine:
        from holdfast.cli import engine_facts

        for note in engine_facts([(linter, project) for project in projects], None):
            click.echo(f"holdfast: {note}", err=True)
    remaining: list[Any] = []
    sources: dict[str, str] = {}
    displayed: list[str] = []
    changed = applied_count = 0
    messages: list[str] = []
    stdout_bytes: list[bytes] = []
    diffs: list[str] = []
    for project in projects:
        documents = linter.load_documents(project, stdin)
        requested = {d.path for d, p in zip(documents, project.files) if p in project.requested or p == "-"}
        session = FixSession(linter, documents, requested, project_dir=project.directory, unsafe=unsafe_fixes, to_override=to_override)
        outcome = session.run()
        if not no_engine and stdin is None:
            blocked = _live_blocks(outcome, documents, project.directory, linter)
            if blocked:  # again, without the fixes that would leave a live container's data behind
                documents = linter.load_documents(project, stdin)
                session = FixSession(linter, documents, requested, project_dir=project.directory, unsafe=unsafe_fixes, to_override=to_override, options={"blocked": blocked})
                outcome = session.run()
        for applied in outcome.applied:
            messages.append(applied.summary)
        applied_count += len(outcome.applied)
        for finding, reason in outcome.refused:
            where = f" in service {finding.service}" if finding.service else ""
            messages.append(f"{finding.path}: cannot fix {finding.code}{where}: {reason}")
        left = {finding_key(f) for f in outcome.remaining}
        for finding in outcome.unsafe_skipped:
            if finding_key(finding) in left:
                where = f" in service {finding.service}" if finding.service else ""
                messages.append(f"{finding.path}: did not fix {finding.code}{where}: the fix is unsafe (run with --unsafe-fixes to apply it)")
        for note in outcome.notices:
            if note not in linter.notices:
                linter.notices.append(note)
        remaining.extend(outcome.remaining)
        for path, document in outcome.documents.items():
            sources[path] = document.text
        displayed.extend(d.path for d in documents if d.path in requested)
        from_stdin = {d.path for d, p in zip(documents, project.files) if p == "-"}
        for change in outcome.changes:
            changed += 1
            if show_diff:
                diffs.append(change.diff())
            elif change.path in from_stdin or change.real_path is None:
                stdout_bytes.append(change.new_bytes)
            else:
                change.write(allow_readonly=force_readonly)
        if not show_diff:
            for document in documents:
                if document.path in from_stdin and not any(c.path == document.path for c in outcome.changes):
                    stdout_bytes.append((b"\xef\xbb\xbf" if document.has_bom else b"") + document.text.encode("utf-8"))
    using_stdout = bool(stdin is not None) and not show_diff
    color = choose_color(color_option, "-" if using_stdout else None)
    if show_diff:
        for text in diffs:
            click.echo(text, nl=False)
        verb = "Would fix" if applied_count else "Nothing to fix"
        detail = f" {applied_count} problem{'s' if applied_count != 1 else ''}" if applied_count else ""
        for line in messages:
            click.echo(line.replace(": fixed ", ": would fix ", 1), err=True)
        click.echo(f"{verb}{detail} ({len(remaining)} would remain).", err=True)
        for notice in dict.fromkeys(linter.notices):
            click.echo(f"holdfast: warning: {notice}", err=True)
        return EXIT_FINDINGS if changed else EXIT_OK
    if using_stdout:
        for data in stdout_bytes:
            sys.stdout.buffer.write(data)
        sys.stdout.flush()
        for line in messages:
            click.echo(line, err=True)
        for notice in dict.fromkeys(linter.notices):
            click.echo(f"holdfast: warning: {notice}", err=True)
        if remaining:
            click.echo(f"{len(remaining)} problem{'s remain' if len(remaining) != 1 else ' remains'} (run `holdfast lint` to see them).", err=True)
    else:
        for line in messages:
            click.echo(line)
        if messages:
            click.echo("")
        write_report(remaining, linter, sources, displayed, config, "text", None, False, color)
    if exit_non_zero_on_fix and applied_count:
        return EXIT_FINDINGS
    if exit_zero:
        return EXIT_OK
    return exit_code(remaining, config.fail_level)


def _live_blocks(outcome: Any, documents: list[Any], directory: str | None, linter: Any) -> dict[str, str]:
    """Services whose data fix must not be written: their container holds the data (asks Docker only when needed)."""
    from holdfast.fixing import DATA_CODES

    services = {a.finding.service for a in outcome.applied if a.finding.code in DATA_CODES and a.finding.service}
    if not services:
        return {}
    from holdfast.apply.livecheck import blocked_services, engine_configured

    if not engine_configured():
        return {}
    from holdfast.project import Project

    parsed = [d for d in documents if isinstance(d.data, dict)]
    if not parsed:
        return {}
    blocked, notes = blocked_services(Project.load(parsed, directory=directory), services, linter=linter)
    for note in notes:
        if note not in linter.notices:
            linter.notices.append(note)
    return blocked


__all__ = ["fix_command"]

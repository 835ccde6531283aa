"""`holdfast plan --show`: the plan as the careful manual procedure, with the commands to type instead.

An operator who does not trust a tool with their database must be able to read
the plan, understand every step, and do it by hand: so each step lists the exact
`docker` / Compose commands that do the same thing (the seed guide's procedure,
made precise: contents-only archives, `rm` without `-v`, a restore through the
daemon so owners and modes stay exact, the `docker inspect` check at the end).
"""

from __future__ import annotations

import os
import posixpath
import shlex
from typing import Any

from holdfast.apply.console import human_bytes, human_seconds
from holdfast.apply.plan import Plan, ServicePlan, Step


def compose_text(plan: Plan, *args: str) -> str:
    cli = (plan.compose_cli or "docker compose").split()
    argv = [*cli, "-p", plan.project.name, "--project-directory", plan.project.directory]
    for path in plan.compose_files:
        argv += ["-f", path]
    if plan.project.env_file:
        argv += ["--env-file", plan.project.env_file]
    return shlex.join(argv + list(args))


def default_backup_dir(plan: Plan, base: str | None = None) -> str:
    return os.path.abspath(os.path.join(base or os.getcwd(), "holdfast-backups", plan.backup_name))


def _probe_command(service: ServicePlan) -> str:
    name = service.container.name
    if service.probe == "postgres":
        return f"docker exec {name} psql -U postgres -At -c 'select datname from pg_database'  # then count(*) each table"
    if service.probe == "redis":
        return f"docker exec {name} redis-cli INFO keyspace"
    if service.probe in ("mysql", "mariadb"):
        return f"docker exec {name} mysql -uroot -p -e 'select table_schema, table_name from information_schema.tables'"
    if service.probe == "mongo":
        return f"docker exec {name} mongosh --quiet --eval 'db.adminCommand({{listDatabases: 1}})'"
    paths = " ".join(m.mount_target for m in service.moves)
    return f"docker exec {name} find {paths} -type f | sort > {service.name}-files-before.txt"


def manual_commands(plan: Plan, step: Step, backup_dir: str) -> list[str]:
    """The commands an operator could run instead of this step."""
    services = [plan.service(step.service)] if step.service else plan.services
    names = " ".join(s.name for s in plan.services)
    out: list[str] = []
    if step.kind == "preflight":
        for path in plan.project.paths:
            out.append(f"sha256sum {shlex.quote(path)}   # must be the plan's sha256")
        for service in services:
            out.append(f"docker image inspect {service.container.image_id} >/dev/null   # the image is local")
            for move in service.moves:
                out.append(f"ls -A {shlex.quote(move.bind_source)}   # must be empty or missing")
    elif step.kind == "fingerprint":
        out += [_probe_command(s) for s in services]
    elif step.kind == "stop":
        for other in plan.others:
            if other.state == "running":
                out.append(f"docker stop {other.name}")
        for service in services:
            if service.probe == "redis":
                out.append(f"docker exec {service.container.name} redis-cli SAVE")
            out.append(f"docker stop -t {service.stop_grace} {service.container.name}")
            out.append(f"docker inspect -f '{{{{.State.ExitCode}}}}' {service.container.name}   # 0 = clean; 137 = killed")
    elif step.kind == "archive":
        for service in services:
            for move in service.moves:
                archive = os.path.join(backup_dir, move.archive)
                out.append(f"mkdir -p {shlex.quote(os.path.dirname(archive))}")
                out.append(f"docker cp {service.container.name}:{move.mount_target} - > {shlex.quote(archive)}")
                out.append(f"sha256sum {shlex.quote(archive)} > {shlex.quote(archive)}.sha256")
    elif step.kind == "verify-archives":
        for service in services:
            for move in service.moves:
                archive = shlex.quote(os.path.join(backup_dir, move.archive))
                out.append(f"sha256sum -c {archive}.sha256 && tar -tf {archive} | wc -l")
                for marker in move.markers[:1]:
                    top = posixpath.basename(move.mount_target)
                    out.append(f"tar -tf {archive} | grep -qx '{top}/{marker}/\\?'   # the init marker is in the archive")
    elif step.kind == "remove":
        for service in services:
            volumes = [m.volume for m in service.moves if m.volume]
            note = f"   # NOT -v: volume {', '.join(volumes)} stays as a second backup" if volumes else "   # NOT -v"
            out.append(f"docker rm {service.container.name}{note}")
    elif step.kind == "restore":
        for service in services:
            for move in service.moves:
                archive = shlex.quote(os.path.join(backup_dir, move.archive))
                helper = f"holdfast-restore-{service.name}"
                out.append(f"docker create --name {helper} --entrypoint /nonexistent -v {shlex.quote(move.bind_source)}:{move.mount_target} {service.container.image_id}")
                out.append(f"docker cp - {helper}:{posixpath.dirname(move.mount_target) or '/'} < {archive}   # keeps owners and modes, but also setuid bits and device nodes: check the archive first (holdfast apply strips and refuses them)")
                out.append(f"docker rm -v {helper}")
    elif step.kind == "patch":
        for service in services:
            if service.tag:
                out.append(f"docker tag {service.container.image_id} {service.tag}   # Compose finds the exact image locally")
        for change in plan.changes:
            out.append(f"cp {shlex.quote(change.path)} {shlex.quote(os.path.join(backup_dir, 'compose', os.path.basename(change.path)))}" if not change.created else f"# create {change.path}")
            out.append(f"# edit {change.path} as in the diff below (sha256 afterwards {change.sha256_after[:12]}…)")
    elif step.kind == "recreate":
        out.append(compose_text(plan, "up", "--no-start", "--no-deps", *names.split()))
        for service in services:
            for move in service.moves:
                for marker in move.markers[:1]:
                    out.append(f"ls {shlex.quote(os.path.join(move.bind_source, marker))}   # present BEFORE starting, or the image initialises an empty database")
        running = [s.name for s in services if s.container.state == "running"]
        if running:
            out.append(compose_text(plan, "up", "-d", "--no-deps", *running))
    elif step.kind == "wait-healthy":
        for service in services:
            if service.container.healthcheck:
                out.append(f"docker inspect -f '{{{{.State.Health.Status}}}}' <new {service.name} container>   # until healthy")
            elif service.readiness:
                out.append(f"docker exec <new {service.name} container> {shlex.join(service.readiness)}   # until it succeeds")
    elif step.kind == "verify-mounts":
        for service in services:
            out.append(f"docker inspect -f '{{{{json .Mounts}}}}' <new {service.name} container>   # Type bind, Source " + ", ".join(m.bind_source for m in service.moves))
    elif step.kind == "verify-data":
        out += [_probe_command(s).replace(s.container.name, f"<new {s.name} container>") + "   # same as before" for s in services]
    elif step.kind == "finish":
        for other in plan.others:
            if other.state == "running":
                out.append(f"docker start {other.name}")
    return out


def show(plan: Plan, backup_dir: str | None = None, diffs: bool = True, plan_path: str | None = None) -> str:
    """The whole plan for a person; the closing commands name `plan_path` (the file shown)."""
    backup_dir = backup_dir or default_backup_dir(plan)
    lines: list[str] = []
    total = plan.estimate.get("data_bytes")
    lines.append(f"Plan {plan.id[:12]} for Compose project {plan.project.name!r} ({plan.project.directory})")
    lines.append(f"  made {plan.created_at} by holdfast {plan.holdfast_version} against {plan.engine.endpoint} (engine {plan.engine.version})")
    lines.append(f"  compose files: {', '.join(plan.project.paths)}")
    lines.append(f"  data to move: {human_bytes(total)}; expected downtime about {human_seconds(plan.estimate.get('downtime_seconds'))} (from the stop to the verified restart)")
    lines.append(f"  backups go to: {backup_dir}  (archives, their sha256, the original compose files, the journal)")
    lines.append("")
    for service in plan.services:
        version = f" {service.major}" if service.major is not None else ""
        lines.append(f"Service {service.name} ({', '.join(service.codes)}): {service.title}{version}, container {service.container.name} ({service.container.state}), image {service.container.image_ref} = {service.container.image_id[7:19]}")
        for move in service.moves:
            where = {"anonymous-volume": f"anonymous volume {move.volume}", "volume": f"volume {move.volume}", "container-layer": "the container's writable layer"}.get(move.storage, move.storage)
            lines.append(f"  {move.mount_target} ({human_bytes(move.size_bytes)}, now in {where}) -> bind {move.bind_spec} = {move.bind_source}")
        if service.image_after != service.container.image_ref:
            lines.append(f"  image pinned: {service.container.image_ref} -> {service.image_after} (tagged to the exact image the container runs)")
        elif service.tag:
            lines.append(f"  image: {service.tag} is tagged to {service.container.image_id[7:19]} so Compose need not pull")
        if service.hostname_pin:
            lines.append(f"  hostname pinned to {service.hostname_pin} (the data folder is named after it)")
        lines.append(f"  stop grace {service.stop_grace}s; data check: {service.probe or 'file listing'}; readiness: {shlex.join(service.readiness) if service.readiness else 'health check or probe'}")
    if plan.others:
        lines.append("Other containers of the project (stopped during the move, started again after): " + ", ".join(f"{o.name} ({o.state})" for o in plan.others))
    for warning in plan.warnings:
        lines.append(f"warning: {warning}")
    lines.append("")
    lines.append("Steps (each is journalled; a re-run resumes, `holdfast apply --rollback` undoes):")
    for number, step in enumerate(plan.steps, 1):
        mark = "  [destructive]" if step.destructive else ""
        lines.append(f"{number:>2}. {step.title}{mark}")
        for command in manual_commands(plan, step, backup_dir):
            lines.append(f"      $ {command}")
    if diffs and plan.changes:
        lines.append("")
        lines.append("Compose file changes:")
        for change in plan.changes:
            lines.extend("  " + line for line in diff_text(change).splitlines())
    lines.append("")
    target = shlex.quote(plan_path) if plan_path else "PLAN.json"
    lines.append(f"Run it (asks before stopping anything; --yes to skip, --dry-run to preview):  holdfast apply {target}")
    lines.append(f"Resume after a failure or an interruption, with the same command:  holdfast apply {target}")
    lines.append(f"Undo (refused if the data changed since; --keep-current archives it first):  holdfast apply --rollback {target}")
    return "\n".join(lines) + "\n"


def diff_text(change: Any) -> str:
    import difflib

    try:
        with open(change.path, "rb") as handle:
            old = handle.read()
    except FileNotFoundError:
        old = b""
    new = change.new_bytes
    old_lines = old.decode("utf-8", "replace").splitlines(keepends=True)
    new_lines = new.decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(difflib.unified_diff(old_lines, new_lines, change.path if not change.created else "/dev/null", change.path))

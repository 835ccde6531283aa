"""Running a plan: steps in order, journalled, resumable, and reversible.

* Every step's start and end goes to the journal (fsynced) before the next
  thing happens; `holdfast_before_step` / `holdfast_after_step` hooks run around
  each step (a raising hook fails the step: that is how tests inject faults).
* A failure BEFORE anything destructive (before `remove`) undoes itself: the
  containers that were running are started again and the next `apply` starts
  over. A failure after it stops and says exactly how to resume (the same
  command) or go back (`--rollback`), which archive holds what, and the manual
  commands. Nothing ever deletes a backup or a volume.
* SIGINT/SIGTERM (`interrupts`) stop the running step at once; open archive
  streams are closed, then the same safe ending as a failure (exit 130/143).
* The lock and every file apply writes are opened without following symlinks
  (`journal`); the lock is removed on every clean exit.
* `rollback` (the `Rollback` mixin in `rollback`) returns the project to its
  state before the apply, and refuses when that would lose a newer write.
"""

from __future__ import annotations

import json
import os
import posixpath
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from holdfast.apply import EXIT_DONE, EXIT_FAILED
from holdfast.apply.console import Console, detail_of, human_bytes, human_seconds
from holdfast.apply.errors import ApplyError, PlanInvalid
from holdfast.apply.interrupts import Interrupted, Signals
from holdfast.apply.journal import Journal, ProjectLock, refuse_link
from holdfast.apply.plan import DESTRUCTIVE, Plan, Step, sha256_file
from holdfast.apply.render import compose_text, manual_commands
from holdfast.apply.rollback import ROLLBACK_STEPS, RUNNING, Rollback
from holdfast.apply.steps import STEPS, RunContext, check_files_current, check_mounts

LOCK_NAME = ".holdfast-apply.lock"


@dataclass
class ApplyOptions:
    yes: bool = False
    dry_run: bool = False
    health_timeout: float = 180.0
    on_failure: str = "stop"  # "stop": stop safely with advice; "rollback": roll back at once
    keep_current: bool = False  # rollback: archive the live data first, even when it changed since the apply


def _parse_ts(text: str) -> float | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    except (TypeError, ValueError):
        return None


class Executor(Rollback):
    """Applies (or rolls back) one plan against one engine, with one backup folder."""

    def __init__(
        self,
        plan: Plan,
        engine: Any,
        compose: Any,
        backup_dir: str,
        *,
        console: Console | None = None,
        plugins: Any = None,
        options: ApplyOptions | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        from holdfast.plugins import load_plugins

        self.plan = plan
        self.engine = engine
        self.compose = compose
        self.backup_dir = os.path.abspath(backup_dir)
        self.console = console or Console()
        self.plugins = plugins if plugins is not None else load_plugins()
        self.options = options or ApplyOptions()
        self.sleep = sleep
        self.journal = Journal(os.path.join(self.backup_dir, "journal.jsonl"))
        self.lock = ProjectLock(os.path.join(plan.project.directory, LOCK_NAME))
        self.signals = Signals()

    # ---------------------------------------------------------------- common
    def _context(self, attempt: int, results: dict[str, dict[str, Any]]) -> RunContext:
        return RunContext(
            plan=self.plan,
            engine=self.engine,
            compose=self.compose,
            backup_dir=self.backup_dir,
            journal=self.journal,
            attempt=attempt,
            console=self.console,
            health_timeout=self.options.health_timeout,
            results=results,
            sleep=self.sleep,
        )

    def _check_journal_owner(self) -> None:
        owner = self.journal.plan_id()
        if owner and owner != self.plan.id:
            raise PlanInvalid(f"{self.backup_dir} holds the journal of another plan ({owner[:12]}); use another --backup-dir")

    def _run_step(self, ctx: RunContext, step: Step, index: int, total: int, mode: str = "apply") -> dict[str, Any]:
        ctx.step = step
        self.signals.check()
        start = time.monotonic()
        self.journal.append({"event": "start", "step": step.id, "attempt": ctx.attempt, "mode": mode})
        try:
            with self.console.running(index, total, step.title):
                self.signals.armed = True
                self.signals.check()
                try:
                    self.plugins.manager.hook.holdfast_before_step(step=step, context=ctx)
                    result = ROLLBACK_STEPS[step.kind](self, ctx, step) if mode == "rollback" else STEPS[step.kind](ctx, step)
                    self.plugins.manager.hook.holdfast_after_step(step=step, context=ctx, outcome=result)
                finally:
                    self.signals.armed = False
        except BaseException as exc:
            self.signals.cleaning = True
            self._close_streams()
            seconds = round(time.monotonic() - start, 3)
            self.journal.append({"event": "end", "step": step.id, "attempt": ctx.attempt, "status": "failed", "seconds": seconds, "error": f"{type(exc).__name__}: {exc}", "mode": mode})
            self.console.step(index, total, step.title, "FAILED", seconds)
            raise
        seconds = round(time.monotonic() - start, 3)
        self.journal.append({"event": "end", "step": step.id, "attempt": ctx.attempt, "status": "ok", "seconds": seconds, "result": result, "mode": mode})
        ctx.results[step.id] = result
        self.console.step(index, total, step.title, "ok", seconds, detail_of(result))
        return result

    def _close_streams(self) -> None:
        """Close archive streams an interrupted step left open (the daemon locks a container while it streams it)."""
        close = getattr(self.engine, "close_streams", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - best effort; every call after this is bounded anyway
                pass

    def _check_own_files(self) -> None:
        """Every file apply writes in the backup folder: refused (exit 3, nothing changed) when it is a link or not a regular file."""
        self.journal.check()
        refuse_link(os.path.join(self.backup_dir, "plan.json"), "plan copy")
        for service in self.plan.services:
            for move in service.moves:
                path = os.path.join(self.backup_dir, move.archive)
                for name in (path, path + ".part", path + ".sha256"):
                    refuse_link(name, "archive file")
        for change in self.plan.changes:
            base = os.path.join(self.backup_dir, "compose", os.path.basename(change.path))
            for name in (base, base + ".applied", base + ".edited-after-apply"):
                refuse_link(name, "compose file copy")

    def _locked(self, what: str) -> None:
        self.lock.acquire(what)
        if self.lock.note:
            self.console.warn(self.lock.note)

    def _save_plan_copy(self) -> None:
        path = os.path.join(self.backup_dir, "plan.json")
        refuse_link(path, "plan copy")
        if not os.path.lexists(path):
            os.makedirs(self.backup_dir, mode=0o700, exist_ok=True)
            from holdfast.fileio import write_text_atomic

            write_text_atomic(path, json.dumps(self.plan.to_json(), indent=2) + "\n")

    # ------------------------------------------------------------------ apply
    def already_migrated(self) -> bool:
        """True when the project already looks like the plan's outcome (the same plan applied before)."""
        for change in self.plan.changes:
            if sha256_file(change.path) != change.sha256_after:
                return False
        for service in self.plan.services:
            found = self.engine.project_containers(self.plan.project.name, service.name, oneoff=False)
            if len(found) != 1 or found[0].id == service.container.id or check_mounts(service, found[0]):
                return False
        return True

    def apply(self) -> int:
        if self.options.dry_run:
            return self.dry_run()
        self._locked(f"apply of plan {self.plan.id[:12]}")
        try:
            with self.signals:
                self._check_own_files()
                return self._apply()
        finally:
            self.lock.release()

    def _apply(self) -> int:
        plan = self.plan
        self._check_journal_owner()
        if self.journal.last_terminal() == "completed":
            self.console.say(f"holdfast: plan {plan.id[:12]} was already applied (journal {self.journal.path}); nothing to do")
            return EXIT_DONE
        attempt = self.journal.next_attempt()
        results = self.journal.results(attempt) if attempt == self.journal.current_attempt() else {}
        if not results and self.already_migrated():
            self.console.say(f"holdfast: project {plan.project.name!r} already keeps {', '.join(s.name for s in plan.services)} in the planned bind mounts; nothing to do")
            return EXIT_DONE
        ctx = self._context(attempt, dict(results))
        if results:
            patched = True if "patch" in results else (None if self.journal.started("patch", attempt) else False)
            try:
                check_files_current(plan, patched)
            except PlanInvalid as exc:
                self.console.error(f"cannot resume: {self._stale_hint(str(exc))}")
                if self._destructive_started(ctx):
                    self._advise(ctx)
                return exc.exit_code
        total = len(plan.steps)
        resuming = bool(results)
        self.console.say(
            f"holdfast apply: project {plan.project.name!r}, {', '.join(s.name for s in plan.services)}; "
            f"backups in {self.backup_dir}" + (f"; resuming attempt {attempt}" if resuming else "")
        )
        self.journal.append({"event": "begin", "mode": "apply", "attempt": attempt, "plan_id": plan.id, "pid": os.getpid(), "resume": resuming})
        self._save_plan_copy()
        confirmed = self.options.yes
        for index, step in enumerate(plan.steps, 1):
            if step.id in ctx.results:
                self.console.step(index, total, step.title, "done before", None, detail_of(ctx.results[step.id]))
                continue
            if not confirmed and step.kind not in ("preflight", "fingerprint"):
                self.signals.armed = True
                try:
                    self.signals.check()
                    answer = self.console.confirm(self._question(step, index, resuming))
                except Interrupted as exc:
                    self._declined(ctx)
                    return exc.exit_code
                finally:
                    self.signals.armed = False
                if not answer:
                    return self._declined(ctx)
                confirmed = True
            try:
                self._run_step(ctx, step, index, total)
            except BaseException as exc:  # noqa: BLE001 - every failure ends in a safe state with advice
                return self._failed(ctx, step, exc)
        self.journal.append({"event": "completed", "attempt": attempt})
        self._report(ctx)
        return EXIT_DONE

    def _question(self, step: Step, index: int, resuming: bool) -> str:
        plan = self.plan
        if resuming:
            return f"Resume the apply of project {plan.project.name!r} at step {index} ({step.title})?"
        names = ", ".join(s.name for s in plan.services)
        return (
            f"Stop project {plan.project.name!r} now (about {human_seconds(plan.estimate.get('downtime_seconds'))} of downtime), "
            f"archive {human_bytes(plan.estimate.get('data_bytes'))} to {self.backup_dir}, and remove the containers of {names} "
            f"(never their volumes)?"
        )

    def _declined(self, ctx: RunContext) -> int:
        hint = "" if self.console.interactive else " (not on a terminal: pass --yes)"
        if self.journal.started("stop", ctx.attempt):
            # a half-done apply stays resumable (and rollback-able) exactly as it is
            self.console.say(f"holdfast: not confirmed; the apply stays where it stopped{hint}")
            self._advise(ctx)
            return EXIT_FAILED
        self.journal.append({"event": "undone", "attempt": ctx.attempt, "why": "declined"})
        self.console.say(f"holdfast: not confirmed; nothing was changed{hint}")
        return EXIT_FAILED

    def _destructive_started(self, ctx: RunContext) -> bool:
        return any(self.journal.started(s.id, ctx.attempt) for s in self.plan.steps if s.kind in DESTRUCTIVE)

    def _stale_hint(self, message: str) -> str:
        """A stale plan says one thing: how to make a new one."""
        if message.startswith("stale plan") and message.endswith("make a new plan"):
            return message + f" with: holdfast plan -o holdfast-plan.json {self.plan.project.directory}"
        return message

    def _failed(self, ctx: RunContext, step: Step, exc: BaseException) -> int:
        self.signals.cleaning = True
        self._close_streams()
        interrupted = isinstance(exc, (Interrupted, KeyboardInterrupt))
        if isinstance(exc, ApplyError):
            message, advice, code = self._stale_hint(str(exc)), exc.advice, exc.exit_code
        elif isinstance(exc, Interrupted):
            message, advice, code = str(exc), [], exc.exit_code
        elif isinstance(exc, KeyboardInterrupt):
            message, advice, code = "interrupted by SIGINT", [], 128 + signal.SIGINT
        else:
            message, advice, code = f"unexpected error: {type(exc).__name__}: {exc}", [], EXIT_FAILED
        if interrupted:
            self.journal.append({"event": "interrupted", "step": step.id, "attempt": ctx.attempt, "signal": message.rsplit(" ", 1)[-1]})
            self.console.error(f"{message} during step '{step.title}'; putting the project back in a safe state")
        else:
            self.console.error(f"step '{step.title}' failed: {message}")
        for line in advice:
            self.console.error(f"  {line}")
        if not self._destructive_started(ctx):
            notes = self._undo_before_destructive(ctx)
            self.journal.append({"event": "undone", "attempt": ctx.attempt, "why": message})
            self.console.error("Nothing was removed or changed" + (f"; {notes}" if notes else "") + ".")
            kept = self._archives_written(ctx)
            if kept:
                self.console.error(f"The archives written so far are kept in {self.backup_dir}.")
            if isinstance(exc, PlanInvalid) and message.startswith("stale plan"):
                return code
            if interrupted:
                self.console.error("Run the same command again when you are ready; it starts from the first step.")
            else:
                self.console.error("Fix the cause and run the same command again; it starts from the first step.")
            return code
        if interrupted:
            self._advise(ctx)
            return code
        if self.options.on_failure == "rollback":
            self.console.error("Rolling back now (--on-failure rollback).")
            result = self._rollback(auto=True)
            return EXIT_FAILED if result == EXIT_DONE else result
        self._advise(ctx)
        return EXIT_FAILED

    def _archives_written(self, ctx: RunContext) -> list[str]:
        out = []
        for service in self.plan.services:
            for move in service.moves:
                if os.path.exists(ctx.archive_path(move)):
                    out.append(ctx.archive_path(move))
        return out

    def _undo_before_destructive(self, ctx: RunContext) -> str:
        """Start again what the apply stopped (nothing was removed, so the containers are the originals)."""
        if not self.journal.started("stop", ctx.attempt):
            return "the project was not stopped"
        states = ctx.states()
        started, problems = [], []
        ordered = [s.container.id for s in self.plan.services] + [o.id for o in self.plan.others]
        stopping = getattr(self.engine, "stopping", {})
        for container_id in ordered:
            if states.get(container_id) not in RUNNING:
                continue
            facts = self.engine.inspect(container_id)
            deadline = stopping.get(container_id)
            while facts is not None and facts.running and deadline is not None and time.monotonic() < deadline:
                self.sleep(0.5)  # a `docker stop` we interrupted goes on in the daemon: wait for it, then start
                facts = self.engine.inspect(container_id)
            stopping.pop(container_id, None)
            if facts is None or facts.running:
                continue
            try:
                self.engine.start(container_id)
                started.append(facts.name)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{facts.name}: {exc}")
        text = f"started again: {', '.join(started)}" if started else "no container needed starting"
        if problems:
            text += f"; could NOT start {', '.join(problems)} (docker start them by hand)"
        return text

    def _command_hint(self, rollback: bool = False) -> str:
        plan_path = os.path.join(self.backup_dir, "plan.json")
        return f"holdfast apply {'--rollback ' if rollback else ''}--backup-dir {self.backup_dir} {plan_path}"

    def _advise(self, ctx: RunContext) -> None:
        err = self.console.error
        err("The apply stopped in a safe state. Your data is in:")
        for service in self.plan.services:
            for move in service.moves:
                path = ctx.archive_path(move)
                if os.path.exists(path):
                    err(f"  {path}  ({service.name}:{move.mount_target}; sha256 in {os.path.basename(path)}.sha256)")
                if move.volume:
                    err(f"  docker volume {move.volume}  (the old {move.storage.replace('-', ' ')} of {service.name}; never removed)")
        err("To continue from here (fix the cause first):")
        err(f"  {self._command_hint()}")
        err("To return to the state before the apply (original compose file, data restored from the archives):")
        err(f"  {self._command_hint(rollback=True)}")
        err("By hand, for each service: restore the original compose file from " + os.path.join(self.backup_dir, "compose") + ", then")
        for service in self.plan.services:
            err(f"  {compose_text(self.plan, 'rm', '-sf', service.name)}   # only the new container; never -v")
            err(f"  {compose_text(self.plan, 'up', '--no-start', '--no-deps', service.name)}")
            for move in service.moves:
                parent = posixpath.dirname(move.mount_target.rstrip('/')) or '/'
                err(f"  docker cp - <new {service.name} container>:{parent} < {ctx.archive_path(move)}")
            err(f"  {compose_text(self.plan, 'up', '-d', service.name)}")

    def _report(self, ctx: RunContext) -> None:
        say = self.console.say
        downtime = self._downtime(ctx.attempt)
        names = [s.name for s in self.plan.services]
        verb = "keeps its" if len(names) == 1 else "keep their"
        say(f"done: {', '.join(names)} now {verb} data in bind mounts; downtime {human_seconds(downtime)}")
        for service in self.plan.services:
            for move in service.moves:
                say(f"  {service.name}: {move.mount_target} <- {move.bind_source}")
        say("Once you are satisfied, you may delete by hand (holdfast never deletes them):")
        for name, volumes in ((ctx.results.get("remove") or {}).get("volumes") or {}).items():
            for volume in volumes:
                say(f"  docker volume rm {volume}   # the old volume of {name}, a second backup")
        say(f"  rm -r {self.backup_dir}   # archives, original compose files, journal")
        for warning in ctx.warnings:
            say(f"  note: {warning}")

    def _downtime(self, attempt: int) -> float | None:
        start = end = None
        for record in self.journal.records():
            if record.get("attempt") != attempt:
                continue
            if record.get("event") == "start" and record.get("step") == "stop" and start is None:
                start = _parse_ts(record.get("ts", ""))
            if record.get("event") == "end" and record.get("step") == "verify-data" and record.get("status") == "ok":
                end = _parse_ts(record.get("ts", ""))
        return end - start if start is not None and end is not None else None

    # ---------------------------------------------------------------- dry run
    def dry_run(self) -> int:
        attempt = self.journal.next_attempt() if self.journal.plan_id() in (None, self.plan.id) else 1
        done = self.journal.results(attempt) if attempt == self.journal.current_attempt() else {}
        self.console.say(f"holdfast apply --dry-run: project {self.plan.project.name!r}; backups would go to {self.backup_dir}; nothing is changed")
        if self.journal.last_terminal() == "completed":
            self.console.say("already applied: a real run would do nothing")
            return EXIT_DONE
        for index, step in enumerate(self.plan.steps, 1):
            status = "done before" if step.id in done else "would run"
            self.console.say(f"[{index:>2}/{len(self.plan.steps)}] {step.title} ... {status}")
            if step.id not in done:
                for command in manual_commands(self.plan, step, self.backup_dir):
                    self.console.say(f"        $ {command}")
        return EXIT_DONE

"""Running a plan: steps in order, journalled, resumable, and reversible.

* Every step's start and end goes to the journal (fsynced) before the next
  thing happens; `holdfast_before_step` / `holdfast_after_step` hooks run around
  each step (a raising hook fails the step: that is how tests inject faults).
* A failure BEFORE anything destructive (before `remove`) undoes itself: the
  containers that were running are started again and the next `apply` starts
  over. A failure after it stops and says exactly how to resume (the same
  command) or go back (`--rollback`), which archive holds what, and the manual
  commands. Nothing ever deletes a backup or a volume.
* `rollback` returns the project to its state before the apply: the original
  compose file, containers recreated with the original layout, the data put
  back from the archives BEFORE they start, and the same fingerprint verified.
"""

from __future__ import annotations

import json
import os
import posixpath
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from holdfast.apply import EXIT_DONE, EXIT_FAILED, probes
from holdfast.apply.console import Console, detail_of, human_bytes, human_seconds, plural
from holdfast.apply.errors import ApplyError, PlanInvalid, Refused, StepFailed
from holdfast.apply.journal import Journal, ProjectLock, refuse_link
from holdfast.apply.plan import DESTRUCTIVE, Plan, Step, sha256_file
from holdfast.apply.render import compose_text, manual_commands
from holdfast.apply.steps import (
    STEPS,
    RunContext,
    archived,
    check_files_current,
    check_mounts,
    compare_restored,
    compose_with_retry,
    keep_aside,
    marker_present,
    read_chunks,
    service_container,
    verify_fingerprint,
    write_archive,
)
from holdfast.apply.tarindex import index_file

LOCK_NAME = ".holdfast-apply.lock"
RUNNING = ("running", "restarting", "paused")


@dataclass
class ApplyOptions:
    yes: bool = False
    dry_run: bool = False
    health_timeout: float = 180.0
    on_failure: str = "stop"  # "stop": stop safely with advice; "rollback": roll back at once
    keep_current: bool = False  # rollback: archive the live data first, even when it changed since the apply


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived while a step ran (a BaseException, like KeyboardInterrupt: nothing swallows it)."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # 130 for SIGINT, 143 for SIGTERM, as shells report them


class Signals:
    """SIGINT/SIGTERM handling for one apply or rollback.

    While a step runs (`armed`), the first signal raises `Interrupted` at once, so a
    blocked Docker call or stream read stops there and the cleanup runs. Outside a
    step the signal is remembered and raised when the next step would start. A
    signal during the cleanup does not interrupt it (the cleanup is what makes the
    project safe, and it is bounded); it only says so."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.armed = False
        self.cleaning = False
        self.saved: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.saved[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)
        self.saved.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        self.received.append(signum)
        if self.armed and not self.cleaning:
            self.armed = False
            self.cleaning = True
            raise Interrupted(signum)
        if self.cleaning or len(self.received) > 1:
            os.write(2, f"holdfast: {signal.Signals(signum).name} again: already putting the project back in a safe state; this takes a bounded time, please wait\n".encode())

    def pending(self) -> int | None:
        return self.received[0] if self.received else None

    def check(self) -> None:
        """Raise now for a signal that arrived between steps."""
        if self.received and not self.cleaning:
            self.cleaning = True
            raise Interrupted(self.received[0])


def _parse_ts(text: str) -> float | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    except (TypeError, ValueError):
        return None


class Executor:
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
                    result = _ROLLBACK_STEPS[step.kind](self, ctx, step) if mode == "rollback" else STEPS[step.kind](ctx, step)
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

    # --------------------------------------------------------------- rollback
    def rollback(self) -> int:
        self._locked(f"rollback of plan {self.plan.id[:12]}")
        try:
            with self.signals:
                self._check_own_files()
                return self._rollback(auto=False)
        finally:
            self.lock.release()

    def _rollback(self, auto: bool) -> int:
        self._check_journal_owner()
        if not self.journal.exists:
            raise PlanInvalid(f"no journal for this plan in {self.backup_dir}; pass the --backup-dir the apply used")
        last = self.journal.last_terminal()
        if last == "rolled-back":
            self.console.say("holdfast: already rolled back; nothing to do")
            return EXIT_DONE
        if last == "undone":
            self.console.say("holdfast: the last apply undid itself before changing anything; nothing to roll back")
            return EXIT_DONE
        attempt = self.journal.current_attempt()
        results = self.journal.results(attempt)
        if not self.journal.started("stop", attempt):
            self.journal.append({"event": "undone", "attempt": attempt, "why": "rollback before any change"})
            self.console.say("holdfast: the apply had not stopped anything yet; nothing to roll back")
            return EXIT_DONE
        ctx = self._context(attempt, dict(results))
        begun = self.journal.started("rollback:stop", attempt)
        keep = self.options.keep_current or self.journal.started("rollback:keep-current", attempt)
        changed: list[str] = []
        if not auto and not begun and "verify-data" in results:
            # the apply verified the data; anything written since exists only in the bind folders
            changed = self._changed_since_verified(ctx)
            if changed and not keep:
                raise Refused(
                    f"rollback refused: the live data changed since the apply verified it ({'; '.join(changed)}); a rollback would lose those writes. "
                    f"To archive the current data first and then roll back: {self._command_hint(rollback=True)} --keep-current"
                )
        if not auto and not self.options.yes:
            question = (
                f"Roll back project {self.plan.project.name!r}: stop it, restore the original compose file, and recreate "
                f"{', '.join(s.name for s in self.plan.services)} with their data from the archives?"
            )
            if keep:
                question += f" The current data is archived first into {self._keep_dir()} (verified)."
            if not self.console.confirm(question):
                self.console.say("holdfast: not confirmed; nothing was changed")
                return EXIT_FAILED
        self.journal.append({"event": "begin", "mode": "rollback", "attempt": attempt, "plan_id": self.plan.id, "pid": os.getpid()})
        steps = [Step("rollback:stop", "stop", "rollback: stop the project")]
        if keep:
            steps.append(Step("rollback:keep-current", "keep-current", "rollback: archive the current data first (sha256 verified)"))
        steps += [
            Step("rollback:files", "files", "rollback: restore the original compose files"),
            Step("rollback:containers", "containers", "rollback: recreate with the original layout and put the data back before starting"),
            Step("rollback:start", "start", "rollback: start what ran before and verify the fingerprint"),
        ]
        done = self.journal.progress("rollback", attempt)
        for index, step in enumerate(steps, 1):
            if done.get(step.id):
                self.console.step(index, len(steps), step.title, "done before", None, detail_of(self.journal.results(attempt).get(step.id)))
                continue
            try:
                self._run_step(ctx, step, index, len(steps), mode="rollback")
            except BaseException as exc:  # noqa: BLE001
                self._close_streams()
                if isinstance(exc, (Interrupted, KeyboardInterrupt)):
                    code = exc.exit_code if isinstance(exc, Interrupted) else 128 + signal.SIGINT
                    self.journal.append({"event": "interrupted", "step": step.id, "attempt": attempt, "signal": str(exc).rsplit(" ", 1)[-1]})
                    self.console.error(f"{exc or 'interrupted'} during rollback step '{step.title}'; nothing more is changed.")
                else:
                    code = EXIT_FAILED
                    message = str(exc) if isinstance(exc, ApplyError) else f"{type(exc).__name__}: {exc}"
                    self.console.error(f"rollback step '{step.title}' failed: {message}")
                self.console.error("Every archive and volume is kept. Run the rollback again" + (" after fixing the cause" if code == EXIT_FAILED else "") + ":")
                self.console.error(f"  {self._command_hint(rollback=True)}" + (" --keep-current" if keep else ""))
                self._advise_manual_restore(ctx)
                return code
            self.journal.append({"event": "progress", "step": "rollback", "attempt": attempt, "key": step.id, "data": True})
        self.journal.append({"event": "rolled-back", "attempt": attempt})
        self.console.say(f"rolled back: project {self.plan.project.name!r} is as before the apply, data verified")
        kept = (ctx.results.get("rollback:keep-current") or self.journal.results(attempt).get("rollback:keep-current") or {}).get("archives") or {}
        verified_unchanged = "verify-data" in results and not changed and not begun
        for service in self.plan.services:
            for move in service.moves:
                archive = kept.get(f"{service.name}:{move.mount_target}")
                if archive:
                    self.console.say(
                        f"  {service.name}:{move.mount_target} as it was just before the rollback (newer than what was restored): "
                        f"{os.path.join(self.backup_dir, archive['file'])} (sha256 {archive['sha256'][:12]}…, verified) and {move.bind_source}"
                    )
                elif os.path.exists(move.bind_source):
                    if verified_unchanged:
                        why = "the same data as was restored; you may delete it by hand once you no longer need it"
                    else:
                        why = "the data the apply moved there, as it was when the rollback began; holdfast never deletes it"
                    self.console.say(f"  kept {move.bind_source} ({why})")
        self.console.say(f"  kept {self.backup_dir} (archives and journal)")
        return EXIT_DONE

    def _keep_dir(self) -> str:
        return os.path.join(self.backup_dir, "before-rollback")

    def _live_differences(self, before: dict[str, Any], facts: Any, paths: list[str]) -> list[str]:
        """Like the apply's verify, but strict: for a rollback a NEW file or key is a change too."""
        if before.get("kind") != "files":
            return probes.verify(before, self.engine, facts, paths)
        now = probes.fingerprint("files", self.engine, facts, paths)["data"]
        old = before.get("data") or {}
        if now.get("sha256") == old.get("sha256"):
            return []
        if old.get("files") is not None and now.get("files") is not None:
            added = sorted(set(now["files"]) - set(old["files"]))
            missing = sorted(set(old["files"]) - set(now["files"]))
            out = [f"{plural(len(added), 'new file')}, e.g. {', '.join(added[:3])}"] if added else []
            out += [f"{plural(len(missing), 'file')} gone, e.g. {', '.join(missing[:3])}"] if missing else []
            return out
        return [f"{plural(old.get('count', 0), 'file')} then, {plural(now.get('count', 0), 'file')} now"]

    def _changed_since_verified(self, ctx: RunContext) -> list[str]:
        """What differs between the data the apply verified and the live data now (the apply's own probes); empty: unchanged."""
        fingerprints = ctx.fingerprints()
        out: list[str] = []
        for service in self.plan.services:
            before = fingerprints.get(service.name)
            facts = service_container(ctx, service)
            paths = [m.mount_target for m in service.moves]
            if before and before.get("kind") != "archive":
                if facts is None or not facts.running:
                    out.append(f"{service.name} is not running, so holdfast cannot tell whether its data changed")
                    continue
                problems: list[str] = []
                for attempt in range(3):
                    try:
                        problems = self._live_differences(before, facts, paths)
                        break
                    except probes.ProbeError as exc:
                        problems = [f"cannot check it ({exc})"]
                        self.sleep(1.0 + attempt)
                if problems:
                    out.append(f"{service.name}: " + ", ".join(problems[:3]))
            elif self.engine.endpoint.local:
                for move in service.moves:
                    try:
                        with open(ctx.archive_path(move), "rb") as handle:
                            entries = index_file(handle).entries
                    except OSError as exc:
                        out.append(f"{service.name}: cannot read {ctx.archive_path(move)} to compare ({exc})")
                        continue
                    problems = compare_restored(ctx, "", move, entries)
                    if problems:
                        out.append(f"{service.name}: {move.bind_source} " + ", ".join(problems[:3]))
        return out

    def _advise_manual_restore(self, ctx: RunContext) -> None:
        for service in self.plan.services:
            for move in service.moves:
                self.console.error(f"  {service.name}:{move.mount_target} is in {ctx.archive_path(move)}" + (f" and in volume {move.volume}" if move.volume else ""))

    # rollback steps ---------------------------------------------------------
    def _rb_stop(self, ctx: RunContext, step: Step) -> dict[str, Any]:
        stopped = []
        for other in self.plan.others:
            facts = self.engine.inspect(other.id)
            if facts is not None and facts.running:
                self.engine.stop(other.id, int(facts.stop_timeout or 10))
                stopped.append(facts.name)
        for service in self.plan.services:
            for facts in self.engine.project_containers(self.plan.project.name, service.name, oneoff=False):
                if facts.running:
                    self.engine.stop(facts.id, service.stop_grace)
                    stopped.append(facts.name)
        return {"stopped": stopped, "summary": f"stopped {', '.join(stopped)}" if stopped else "nothing was running"}

    def _rb_keep_current(self, ctx: RunContext, step: Step) -> dict[str, Any]:
        """Archive what the apply's containers hold now (they are stopped), then check the archive before anything is put back."""
        done = ctx.progress()
        out: dict[str, Any] = {}
        for service in self.plan.services:
            facts = service_container(ctx, service)
            if facts is None or (self.engine.inspect(service.container.id) is not None and facts.id == service.container.id):
                continue  # the original container is still there: nothing newer exists
            if facts.running:
                raise StepFailed(f"{service.name} is running again; not archiving a live data directory")
            for move in service.moves:
                key = f"{service.name}:{move.mount_target}"
                path = os.path.join(self._keep_dir(), move.archive)
                previous = done.get(key)
                if previous and sha256_file(path) == previous["sha256"]:
                    out[key] = previous
                    continue
                for name in (path, path + ".part", path + ".sha256"):
                    refuse_link(name, "archive file")
                keep_aside(path)
                info = write_archive(ctx, facts.id, move, path, f"archive the current {service.name}:{move.mount_target}")
                info["file"] = os.path.relpath(path, self.backup_dir)
                digest = sha256_file(path)
                with open(path, "rb") as handle:
                    index = index_file(handle)
                if digest != info["sha256"] or not index.complete or index.count != info["entries"]:
                    raise StepFailed(f"{path}: the archive of the current data does not read back as written; nothing was rolled back")
                ctx.record(key, info)
                out[key] = info
        summary = ", ".join(f"{k}: {human_bytes(v['bytes'])}, {plural(v['entries'], 'entry', 'entries')}" for k, v in out.items())
        return {"archives": out, "summary": summary or "nothing newer to keep"}

    def _rb_files(self, ctx: RunContext, step: Step) -> dict[str, Any]:
        from holdfast.fileio import write_bytes_atomic

        restored = []
        copies = os.path.join(self.backup_dir, "compose")
        for change in self.plan.changes:
            current = sha256_file(change.path)
            if change.created:
                if current is not None:
                    aside = os.path.join(copies, os.path.basename(change.path) + ".applied")
                    os.makedirs(copies, exist_ok=True)
                    os.replace(change.path, aside)
                    restored.append(f"moved the created {os.path.basename(change.path)} to {aside}")
                continue
            if current == change.sha256_before:
                continue
            copy = os.path.join(copies, os.path.basename(change.path))
            if sha256_file(copy) != change.sha256_before:
                if current is None or not self.journal.started("patch", ctx.attempt):
                    continue  # never patched by us
                raise StepFailed(f"the original of {change.path} is not in {copies}; restore it by hand")
            if current != change.sha256_after:
                with open(change.path, "rb") as handle:
                    edited = handle.read()
                with open(os.path.join(copies, os.path.basename(change.path) + ".edited-after-apply"), "wb") as handle:
                    handle.write(edited)
            with open(copy, "rb") as handle:
                write_bytes_atomic(change.path, handle.read())
            restored.append(os.path.basename(change.path))
        return {"restored": restored, "summary": ", ".join(restored) or "the files were not patched"}

    def _rb_containers(self, ctx: RunContext, step: Step) -> dict[str, Any]:
        out: dict[str, Any] = {}
        progress = ctx.progress()
        for service in self.plan.services:
            original = self.engine.inspect(service.container.id)
            current = self.engine.project_containers(self.plan.project.name, service.name, oneoff=False)
            if original is not None:
                for facts in current:
                    if facts.id != original.id:
                        self.engine.remove(facts.id)  # the apply's new container; its data lives on in the bind folder
                out[service.name] = {"container": original.id, "restored": False}
                ctx.record(service.name, out[service.name])
                continue
            mine = (progress.get(service.name) or {}).get("container")
            reuse = None
            for facts in current:
                if facts.id == mine and not facts.ever_started:
                    reuse = facts
                else:
                    self.engine.remove(facts.id)
            if reuse is None:
                compose_with_retry(ctx, "up", "--no-start", "--no-deps", service.name)
                reuse = service_container(ctx, service)
                if reuse is None:
                    raise StepFailed(f"Compose created no container for {service.name}")
                ctx.record(service.name, {"container": reuse.id, "restored": False})
            if reuse.ever_started:
                raise StepFailed(f"the container {reuse.name} already started; not restoring into a live data directory")
            for move in service.moves:
                mount = reuse.covering_mount(move.mount_target)
                if mount is not None and mount.type == "bind" and os.path.realpath(mount.source) == os.path.realpath(move.bind_source):
                    raise StepFailed(f"{service.name} still mounts {move.bind_source}; the compose file was not restored")
                info = archived(ctx, service, move)
                path = ctx.archive_path(move)
                parent = posixpath.dirname(move.mount_target.rstrip("/")) or "/"
                bar = self.console.progress(f"restore {service.name}:{move.mount_target}", info.get("bytes"))
                try:
                    self.engine.put_archive(reuse.id, parent, read_chunks(path, bar))
                finally:
                    bar.finish()
                if not marker_present(self.engine, reuse.id, move):
                    raise StepFailed(f"{service.name}: no init marker in {move.mount_target} after putting the archive back")
            out[service.name] = {"container": reuse.id, "restored": True}
            ctx.record(service.name, out[service.name])
        summary = ", ".join(f"{k}: {'data put back' if v['restored'] else 'original container kept'}" for k, v in out.items())
        return {"containers": out, "summary": summary}

    def _rb_start(self, ctx: RunContext, step: Step) -> dict[str, Any]:
        states = ctx.states()
        containers = (ctx.results.get("rollback:containers") or {}).get("containers") or self.journal.progress("rollback:containers", ctx.attempt)
        fingerprints = ctx.fingerprints()
        verified = []
        for service in self.plan.services:
            if states.get(service.container.id) not in RUNNING:
                continue
            container_id = (containers.get(service.name) or {}).get("container")
            if container_id is None:
                raise StepFailed(f"no container recorded for {service.name}")
            facts = self.engine.inspect(container_id)
            if facts is None:
                raise StepFailed(f"the container of {service.name} vanished")
            if not facts.running:
                self.engine.start(container_id)
            try:
                probes.wait_ready(self.engine, container_id, readiness=service.readiness, probe_kind=service.probe, timeout=self.options.health_timeout, sleep=self.sleep)
            except probes.ProbeError as exc:
                # the original layout is back either way; the fingerprint below is the proof that matters
                ctx.warn(f"{service.name} did not pass its readiness check after the rollback ({exc}); checking its data anyway")
            before = fingerprints.get(service.name)
            if before and before.get("kind") != "archive":
                facts = self.engine.inspect(container_id)
                problems = verify_fingerprint(ctx, service, before, facts, [m.mount_target for m in service.moves])
                if problems:
                    raise StepFailed(f"{service.name}: after the rollback the data differs from before the apply: " + "; ".join(problems[:8]))
                verified.append(f"{service.name}: same {probes.summarise(before)}")
        started = []
        for other in self.plan.others:
            if states.get(other.id) in RUNNING:
                facts = self.engine.inspect(other.id)
                if facts is not None and not facts.running:
                    try:
                        self.engine.start(other.id)
                        started.append(facts.name)
                    except Exception as exc:  # noqa: BLE001
                        ctx.warn(f"could not start {facts.name} again: {exc}")
        return {"verified": verified, "started": started, "summary": "; ".join(verified + ([f"started {', '.join(started)}"] if started else []))}


_ROLLBACK_STEPS: dict[str, Callable[[Executor, RunContext, Step], dict[str, Any]]] = {
    "stop": Executor._rb_stop,
    "keep-current": Executor._rb_keep_current,
    "files": Executor._rb_files,
    "containers": Executor._rb_containers,
    "start": Executor._rb_start,
}

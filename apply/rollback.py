"""`holdfast apply --rollback`: back to the state before the apply, without losing a newer write.

A rollback of a FINISHED apply first compares the live data with the fingerprint
the apply verified (the same probes); if it changed, the rollback is refused
(exit 3) unless `--keep-current` archives the current data first (sha256
verified). Then: stop, restore the original compose files, recreate the
containers with the original layout and put the data back from the archives
BEFORE they start, start what ran before, verify the fingerprint.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

from holdfast.apply import EXIT_DONE, EXIT_FAILED, probes
from holdfast.apply.console import detail_of, human_bytes, plural
from holdfast.apply.errors import ApplyError, PlanInvalid, Refused, StepFailed
from holdfast.apply.interrupts import Interrupted
from holdfast.apply.journal import refuse_link
from holdfast.apply.plan import Step, sha256_file
from holdfast.apply.restore import put_back
from holdfast.apply.steps import (
    RunContext,
    archived,
    compare_restored,
    compose_with_retry,
    keep_aside,
    marker_present,
    service_container,
    verify_fingerprint,
    write_archive,
)
from holdfast.apply.tarindex import index_file

RUNNING = ("running", "restarting", "paused")


class Rollback:
    """The rollback half of `Executor` (a mixin: it uses the executor's plan, engine, journal, console and `_run_step`)."""

    plan: Any
    engine: Any
    journal: Any
    console: Any
    options: Any
    backup_dir: str
    sleep: Callable[[float], None]
    signals: Any

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
                bar = self.console.progress(f"restore {service.name}:{move.mount_target}", info.get("bytes"))
                try:
                    put_back(self.engine, reuse.id, move, path, bar)
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


ROLLBACK_STEPS: dict[str, Callable[[Any, RunContext, Step], dict[str, Any]]] = {
    "stop": Rollback._rb_stop,
    "keep-current": Rollback._rb_keep_current,
    "files": Rollback._rb_files,
    "containers": Rollback._rb_containers,
    "start": Rollback._rb_start,
}

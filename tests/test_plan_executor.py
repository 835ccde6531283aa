"""`holdfast apply` against a fake engine: order, resume, undo, rollback, refusals, traps.

The fake keeps real tar bytes and writes real bind folders (test_plan_fakes),
so archive, verify, restore and the tree comparison run for real; the servers'
probes are replaced by the file-listing fingerprint.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from holdfast.apply.console import Console
from holdfast.apply.errors import Refused, StepFailed
from holdfast.apply.executor import ApplyOptions, Executor
from holdfast.apply.journal import Journal, ProjectLock
from holdfast.apply.plan import sha256_file
from holdfast.apply.planner import Planner
from holdfast.config import Config
from holdfast.hookspecs import hookimpl
from holdfast.plugins import load_plugins
from test_plan_fakes import FakeCompose, make_tar
from test_plan_planner import VOL_DB, files_of, project_dir, seed_engine, seed_text

PG_FILES = {"PG_VERSION": b"15\n", "base/1/1259": b"x" * 9000, "global/pg_control": b"c" * 512}
REDIS_FILES = {"dump.rdb": b"REDIS0009" + b"\0" * 80}
STEP_IDS = ["preflight", "fingerprint", "stop", "archive:db", "archive:redis", "verify-archives", "remove", "restore:db", "restore:redis", "patch", "recreate", "wait-healthy", "verify-mounts", "verify-data", "finish"]


class World:
    """A project folder, a fake engine with the seed's two containers and their data, a plan and a fake Compose."""

    def __init__(self, tmp_path: Path, *, v1_trap: bool = False, fail_times: int = 0):
        self.folder = project_dir(tmp_path, seed_text())
        self.engine = seed_engine(self.folder)
        self.engine.data["d" * 64]["/var/lib/postgresql/data"] = make_tar("data", PG_FILES)
        self.engine.data["e" * 64]["/data"] = make_tar("data", REDIS_FILES, mode=0o755)
        plan = Planner(self.engine, Config()).plan(files_of(self.folder)).plan
        assert plan is not None
        for service in plan.services:  # the fake engine answers the file-listing probe only
            service.probe, service.readiness = None, None
        self.plan = plan
        self.compose = FakeCompose(self.engine, plan, v1_trap=v1_trap, fail_times=fail_times)
        self.backup = tmp_path / "backup"
        self.file = self.folder / "docker-compose.yml"

    def executor(self, *plugins, console=None, **options) -> Executor:
        options.setdefault("yes", True)
        options.setdefault("health_timeout", 1)
        return Executor(
            self.plan,
            self.engine,
            self.compose,
            str(self.backup),
            console=console or Console(out=io.StringIO(), err=io.StringIO(), interactive=False),
            plugins=load_plugins(list(plugins)),
            options=ApplyOptions(**options),
            sleep=lambda seconds: None,
        )

    def run(self, *plugins, **options) -> tuple[int, str]:
        executor = self.executor(*plugins, **options)
        code = executor.apply()
        return code, executor.console.out.getvalue() + executor.console.err.getvalue()

    def rollback(self) -> tuple[int, str]:
        executor = self.executor()
        code = executor.rollback()
        return code, executor.console.out.getvalue() + executor.console.err.getvalue()

    def current(self, service: str):
        [facts] = self.engine.project_containers(self.plan.project.name, service, oneoff=False)
        return facts

    def assert_migrated(self) -> None:
        assert sha256_file(str(self.file)) == self.plan.changes[0].sha256_after
        for service, folder, files in (("db", "postgres", PG_FILES), ("redis", "redis", REDIS_FILES)):
            facts = self.current(service)
            assert [(m.type, m.source) for m in facts.mounts] == [("bind", str(self.folder / folder))]
            assert facts.running
            for name, content in files.items():
                assert (self.folder / folder / name).read_bytes() == content
        assert oct(os.stat(self.folder / "postgres").st_mode & 0o777) == "0o700"

    def assert_original(self) -> None:
        assert self.file.read_text(encoding="utf-8") == seed_text()
        for service, path, files in (("db", "/var/lib/postgresql/data", PG_FILES), ("redis", "/data", REDIS_FILES)):
            facts = self.current(service)
            assert [m.type for m in facts.mounts] == ["volume"] and facts.running
            tar = self.engine.data[facts.id][path]
            from holdfast.apply.tarindex import index_stream

            names = {e.name for e in index_stream([tar]).entries if e.type == "file"}
            assert names == {f"data/{n}" for n in files}


class FailAfter:
    def __init__(self, step_id: str):
        self.step_id, self.fired = step_id, False

    @hookimpl
    def holdfast_after_step(self, step, context, outcome):
        if step.id == self.step_id and not self.fired:
            self.fired = True
            raise RuntimeError(f"injected after {step.id}")


def test_apply_moves_the_data_and_reports(tmp_path):
    world = World(tmp_path)
    code, text = world.run()
    assert code == 0, text
    world.assert_migrated()
    calls = [c[0] for c in world.engine.calls]
    assert calls.index("stop") < calls.index("get_archive") < calls.index("remove") < calls.index("put_archive")
    assert all(c[0] != "remove" or c[1] in ("d" * 64, "e" * 64) for c in world.engine.calls)  # only the stateful containers
    assert world.compose.runs == [("up", "--no-start", "--no-deps", "db", "redis"), ("up", "-d", "--no-deps", "db", "redis")]
    assert f"docker volume rm {VOL_DB}" in text and "downtime" in text
    archive = world.backup / "db" / "var-lib-postgresql-data.tar"
    assert (world.backup / "db" / "var-lib-postgresql-data.tar.sha256").read_text().split()[0] == sha256_file(str(archive))
    assert (world.backup / "compose" / "docker-compose.yml").read_text() == seed_text()
    records = Journal(str(world.backup / "journal.jsonl")).records()
    assert [r["step"] for r in records if r["event"] == "end"] == STEP_IDS and records[-1]["event"] == "completed"
    assert json.loads((world.backup / "plan.json").read_text())["id"] == world.plan.to_json()["id"]


def test_same_plan_twice_is_a_no_op(tmp_path):
    world = World(tmp_path)
    assert world.run()[0] == 0
    code, text = world.run()
    assert code == 0 and "already applied" in text
    world.backup = tmp_path / "another"
    code, text = world.run()
    assert code == 0 and "nothing to do" in text


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_failure_after_each_step_resumes_to_completion(tmp_path, step_id):
    world = World(tmp_path)
    code, text = world.run(FailAfter(step_id))
    assert code == 1 and f"injected after {step_id}" in text
    if STEP_IDS.index(step_id) < STEP_IDS.index("remove"):
        assert "Nothing was removed or changed" in text
        world.assert_original()
        assert Journal(str(world.backup / "journal.jsonl")).last_terminal() == "undone"
    else:
        assert "To continue from here" in text and "--rollback" in text
    code, text = world.run()
    assert code == 0, text
    world.assert_migrated()


@pytest.mark.parametrize("step_id", STEP_IDS[STEP_IDS.index("remove") :])
def test_failure_after_each_destructive_step_rolls_back(tmp_path, step_id):
    world = World(tmp_path)
    assert world.run(FailAfter(step_id))[0] == 1
    code, text = world.rollback()
    assert code == 0, text
    world.assert_original()
    assert (world.backup / "db" / "var-lib-postgresql-data.tar").exists()
    code, text = world.rollback()
    assert code == 0 and "already rolled back" in text


def test_rollback_after_a_completed_apply(tmp_path):
    world = World(tmp_path)
    assert world.run()[0] == 0
    code, text = world.rollback()
    assert code == 0, text
    world.assert_original()
    assert (world.folder / "postgres" / "PG_VERSION").exists()  # the apply's copy is kept, never deleted
    assert "kept" in text


def test_on_failure_rollback_rolls_back_at_once(tmp_path):
    world = World(tmp_path)
    code, text = world.run(FailAfter("recreate"), on_failure="rollback")
    assert code == 1 and "Rolling back now" in text and "rolled back" in text
    world.assert_original()


def test_killed_database_is_said_to_be_killed(tmp_path):
    world = World(tmp_path)
    world.engine.exit_codes["d" * 64] = 137
    code, text = world.run()
    assert code == 0
    assert "db was KILLED (exit code 137" in text and "crash-consistent" in text


def test_stop_uses_each_services_grace_period(tmp_path):
    world = World(tmp_path)
    world.run()
    stops = {c[1]: c[2] for c in world.engine.calls if c[0] == "stop"}
    assert stops == {"d" * 64: 120, "e" * 64: 60}


def test_compose_v1_anonymous_volume_over_the_bind_is_caught_before_start(tmp_path):
    world = World(tmp_path, v1_trap=True)
    code, text = world.run()
    assert code == 1
    assert "Compose v1 keeps an old container's anonymous volume over a new bind" in text
    assert not any(c[0] == "start" for c in world.engine.calls if c[1] not in ("d" * 64, "e" * 64))


def test_recreate_refuses_while_the_old_container_exists(tmp_path):
    from holdfast.apply.steps import RunContext, step_recreate

    world = World(tmp_path)
    ctx = RunContext(world.plan, world.engine, world.compose, str(world.backup), Journal(str(tmp_path / "j")), 1, Console(out=io.StringIO(), err=io.StringIO()))
    with pytest.raises(StepFailed, match="old container of db still exists"):
        step_recreate(ctx, world.plan.steps[10])
    assert world.compose.runs == []


def test_missing_init_marker_means_no_start(tmp_path):
    world = World(tmp_path)
    world.engine.data["d" * 64]["/var/lib/postgresql/data"] = make_tar("data", {"base/1/1259": b"x"})
    code, text = world.run()
    assert code == 1 and "none of the init markers (PG_VERSION)" in text
    assert "Nothing was removed or changed" in text
    assert world.current("db").running and world.current("db").id == "d" * 64


def test_port_taken_is_retried(tmp_path):
    world = World(tmp_path, fail_times=1)
    code, text = world.run()
    assert code == 0, text
    assert "port is still taken" in text


def test_second_apply_is_locked_out(tmp_path):
    world = World(tmp_path)
    lock = ProjectLock(str(world.folder / ".holdfast-apply.lock")).acquire("someone else")
    try:
        with pytest.raises(Refused, match="holds the lock") as info:
            world.executor().apply()
        assert info.value.exit_code == 3
    finally:
        lock.release()
    assert world.run()[0] == 0


def test_stale_plan_exits_2(tmp_path):
    world = World(tmp_path)
    world.file.write_text(seed_text() + "# edited\n")
    code, text = world.run()
    assert code == 2 and "stale plan" in text
    assert not any(c[0] == "stop" for c in world.engine.calls)


def test_non_empty_target_is_refused_with_3(tmp_path):
    world = World(tmp_path)
    (world.folder / "redis").mkdir()
    (world.folder / "redis" / "x").write_text("x")
    code, text = world.run()
    assert code == 3 and "not empty" in text


def test_image_gone_before_removal_is_refused(tmp_path):
    world = World(tmp_path)
    del world.engine.images["redis:alpine"]
    del world.engine.images[world.plan.service("redis").container.image_id]
    code, text = world.run()
    assert code == 3 and "Compose would have to pull" in text


def test_not_confirmed_changes_nothing(tmp_path):
    world = World(tmp_path)
    executor = world.executor(yes=False, console=Console(out=io.StringIO(), err=io.StringIO(), interactive=True, confirm=lambda q: False))
    assert executor.apply() == 1
    assert not any(c[0] == "stop" for c in world.engine.calls)
    assert world.run()[0] == 0  # a later run starts from the beginning


def test_dry_run_shows_commands_and_changes_nothing(tmp_path):
    world = World(tmp_path)
    world.engine.calls.clear()
    code, text = world.run(dry_run=True)
    assert code == 0
    assert "would run" in text and "docker rm mastodon_db_1" in text and "compose -p mastodon" in text
    assert world.engine.calls == [] and not world.backup.exists()


def test_journal_tolerates_a_torn_last_line(tmp_path):
    journal = Journal(str(tmp_path / "journal.jsonl"))
    journal.append({"event": "begin", "mode": "apply", "attempt": 1, "plan_id": "p"})
    journal.append({"event": "end", "step": "stop", "attempt": 1, "status": "ok", "result": {"a": 1}})
    with open(journal.path, "a") as handle:
        handle.write('{"event": "end", "step": "archive:db", "att')
    assert journal.results() == {"stop": {"a": 1}}
    assert journal.next_attempt() == 1 and journal.last_terminal() is None
    journal.append({"event": "undone", "attempt": 1})
    assert journal.next_attempt() == 2 and journal.last_terminal() == "undone"
    assert journal.records()[-1]["event"] == "undone"


def test_pin_tags_the_running_image_before_the_file_changes(tmp_path):
    world = World(tmp_path)
    db = world.plan.service("db")
    db.image_after = db.tag = "postgres:15-alpine"
    code, text = world.run()
    assert code == 0, text
    assert ("tag", db.container.image_id, "postgres:15-alpine") in world.engine.calls
    tag_at = world.engine.calls.index(("tag", db.container.image_id, "postgres:15-alpine"))
    recreate_at = next(i for i, c in enumerate(world.engine.calls) if c[0] == "start" and c[1] not in ("d" * 64, "e" * 64))
    assert tag_at < recreate_at and world.current("db").image_ref == "postgres:15-alpine"


def test_stopped_container_is_moved_and_left_stopped(tmp_path):
    world = World(tmp_path)
    world.engine.containers["d" * 64]["State"]["Status"] = "exited"
    code, text = world.run()
    assert code == 0, text
    db = world.current("db")
    assert db.status == "created" and [(m.type, m.source) for m in db.mounts] == [("bind", str(world.folder / "postgres"))]
    assert (world.folder / "postgres" / "PG_VERSION").read_bytes() == PG_FILES["PG_VERSION"]
    assert "not running, checked from the archive" in text


def test_declining_to_resume_keeps_the_apply_resumable_and_rollbackable(tmp_path):
    world = World(tmp_path)
    assert world.run(FailAfter("remove"))[0] == 1
    executor = world.executor(yes=False, console=Console(out=io.StringIO(), err=io.StringIO(), interactive=True, confirm=lambda q: False))
    assert executor.apply() == 1
    assert "stays where it stopped" in executor.console.out.getvalue()
    assert Journal(str(world.backup / "journal.jsonl")).last_terminal() is None
    code, text = world.rollback()
    assert code == 0, text
    world.assert_original()


def test_empty_mountpoint_folders_in_the_target_are_not_data(tmp_path):
    """HF105 on a live host: the old parent bind `./pg` holds only the empty `data/` mountpoint of the
    shadowing volume; it is no data, so the move goes ahead (and the leftover folder is removed with rmdir)."""
    world = World(tmp_path)
    (world.folder / "postgres" / "data" / "deeper").mkdir(parents=True)
    code, text = world.run()
    assert code == 0, text
    assert "removed the empty folder" in text
    world.assert_migrated()
    assert not (world.folder / "postgres" / "data").exists()


def test_a_file_in_the_target_is_data(tmp_path):
    world = World(tmp_path)
    (world.folder / "postgres" / "data").mkdir(parents=True)
    (world.folder / "postgres" / "data" / "x").write_text("someone's")
    code, text = world.run()
    assert code == 3 and "not empty" in text

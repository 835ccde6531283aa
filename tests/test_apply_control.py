"""Control of a live apply, on the fake engine: the lock and journal never follow a link,
a rollback never drops a newer write, signals end in a safe state, progress is shown.

The real-engine counterparts are tests/e2e/test_rollback_e2e.py and test_signals_e2e.py.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys

import pytest
from holdfast.apply.console import Console
from holdfast.apply.errors import Refused
from holdfast.apply.journal import Journal, ProjectLock, process_start
from holdfast.apply.plan import sha256_file
from holdfast.hookspecs import hookimpl
from test_plan_executor import World


def lock_path(world: World) -> str:
    return str(world.folder / ".holdfast-apply.lock")


def stops(world: World) -> int:
    return sum(1 for c in world.engine.calls if c[0] == "stop")


# ------------------------------------------------------------------ the lock
def test_lock_is_removed_after_success_and_after_a_failure(tmp_path):
    world = World(tmp_path)
    code, text = world.run()
    assert code == 0, text
    assert not os.path.lexists(lock_path(world))
    (tmp_path / "b").mkdir()
    other = World(tmp_path / "b")
    assert other.run(FailAt("archive:db", "after"))[0] == 1
    assert not os.path.lexists(lock_path(other))


def test_symlinked_lock_is_refused_and_its_target_untouched(tmp_path):
    world = World(tmp_path)
    victim = tmp_path / "victim.conf"
    victim.write_text("precious\n")
    os.symlink(victim, lock_path(world))
    with pytest.raises(Refused, match="symbolic link") as info:
        world.executor().apply()
    assert info.value.exit_code == 3 and "\n" not in str(info.value)
    assert victim.read_text() == "precious\n" and os.path.islink(lock_path(world))
    assert stops(world) == 0 and not world.backup.exists()


def test_dangling_lock_symlink_creates_nothing(tmp_path):
    world = World(tmp_path)
    target = tmp_path / "would-be-created"
    os.symlink(target, lock_path(world))
    with pytest.raises(Refused, match="symbolic link"):
        world.executor().rollback()
    assert not target.exists()


def test_foreign_file_at_the_lock_name_is_not_truncated(tmp_path):
    world = World(tmp_path)
    with open(lock_path(world), "w") as handle:
        handle.write("someone's notes\n")
    with pytest.raises(Refused, match="not a holdfast lock file"):
        world.executor().apply()
    assert open(lock_path(world)).read() == "someone's notes\n"
    assert stops(world) == 0


def test_held_lock_is_refused_with_a_sentence(tmp_path):
    world = World(tmp_path)
    held = ProjectLock(lock_path(world)).acquire("apply of plan abc")
    try:
        with pytest.raises(Refused) as info:
            world.executor().apply()
        message = str(info.value)
        assert "holds the lock" in message and f"pid {os.getpid()}" in message and "apply of plan abc" in message
        assert "{" not in message  # no raw JSON
    finally:
        held.release()
    assert not os.path.lexists(lock_path(world))


def test_stale_lock_of_a_dead_process_is_taken_over_and_explained(tmp_path):
    world = World(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert process_start(dead.pid) is None
    import socket

    with open(lock_path(world), "w") as handle:
        json.dump({"holdfast": "apply-lock", "pid": dead.pid, "start": "12345", "host": socket.gethostname(), "since": "2026-01-01T00:00:00Z", "what": "apply of plan old"}, handle)
    code, text = world.run()
    assert code == 0, text
    assert f"took over a stale lock left by apply of plan old, pid {dead.pid}" in text and "no longer running" in text
    assert not os.path.lexists(lock_path(world))


def test_lock_of_a_live_process_without_flock_is_still_respected(tmp_path):
    """pid + start time: the recorded process runs (e.g. a file system where flock does not hold) -> refused."""
    world = World(tmp_path)
    import socket

    with open(lock_path(world), "w") as handle:
        json.dump({"holdfast": "apply-lock", "pid": os.getppid(), "start": process_start(os.getppid()), "host": socket.gethostname(), "since": "x", "what": "apply"}, handle)
    with pytest.raises(Refused, match="holds the lock"):
        world.executor().apply()


# -------------------------------------------------------------- the journal
@pytest.mark.parametrize("name", ["journal.jsonl", "plan.json", "db/var-lib-postgresql-data.tar.part"])
def test_symlink_in_the_backup_folder_is_refused_before_anything_changes(tmp_path, name):
    world = World(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    path = world.backup / name
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(victim, path)
    executor = world.executor()
    with pytest.raises(Refused, match="symbolic link"):
        executor.apply()
    assert victim.read_text() == "keep me\n" and stops(world) == 0


def test_foreign_journal_is_refused(tmp_path):
    world = World(tmp_path)
    world.backup.mkdir()
    (world.backup / "journal.jsonl").write_text("not a journal\n")
    with pytest.raises(Refused, match="not a holdfast journal"):
        world.executor().apply()
    assert (world.backup / "journal.jsonl").read_text() == "not a journal\n"


def test_journal_is_private(tmp_path):
    journal = Journal(str(tmp_path / "b" / "journal.jsonl"))
    journal.append({"event": "begin", "mode": "apply", "attempt": 1, "plan_id": "p"})
    assert os.stat(journal.path).st_mode & 0o777 == 0o600


# ------------------------------------------------------------- the rollback
def test_rollback_refuses_to_drop_a_newer_write_then_keeps_it_with_keep_current(tmp_path):
    world = World(tmp_path)
    assert world.run()[0] == 0
    newer = world.folder / "postgres" / "base" / "1" / "2000"
    newer.write_bytes(b"written after the apply")
    db_before = world.current("db").id
    with pytest.raises(Refused) as info:
        world.rollback()
    message = str(info.value)
    assert info.value.exit_code == 3 and "\n" not in message
    assert "rollback refused: the live data changed since the apply verified it" in message and "base/1/2000" in message
    assert "--keep-current" in message
    assert newer.read_bytes() == b"written after the apply" and world.current("db").id == db_before and world.current("db").running

    executor = world.executor(keep_current=True)
    code = executor.rollback()
    text = executor.console.out.getvalue() + executor.console.err.getvalue()
    assert code == 0, text
    world.assert_original()
    kept = world.backup / "before-rollback" / "db" / "var-lib-postgresql-data.tar"
    assert (kept.parent / (kept.name + ".sha256")).read_text().split()[0] == sha256_file(str(kept))
    import tarfile

    with tarfile.open(kept) as tar:
        assert tar.extractfile("data/base/1/2000").read() == b"written after the apply"  # type: ignore[union-attr]
    assert str(kept) in text and "newer than what was restored" in text
    about_db = [line for line in text.splitlines() if str(world.folder / "postgres") in line]
    assert about_db and not any("delete" in line for line in about_db)  # the only copy of a newer write is never "to delete"
    assert newer.exists()


def test_rollback_of_unchanged_data_says_the_folder_is_a_copy(tmp_path):
    world = World(tmp_path)
    assert world.run()[0] == 0
    code, text = world.rollback()
    assert code == 0, text
    assert "the same data as was restored" in text


def test_rollback_when_the_service_is_stopped_cannot_prove_nothing_changed(tmp_path):
    world = World(tmp_path)
    assert world.run()[0] == 0
    world.engine.stop(world.current("redis").id, 1)
    with pytest.raises(Refused, match="redis is not running, so holdfast cannot tell"):
        world.rollback()
    executor = world.executor(keep_current=True)
    assert executor.rollback() == 0
    assert (world.backup / "before-rollback" / "redis" / "data.tar").exists()


# ---------------------------------------------------------------- signals
class FailAt:
    """Raise or signal at a step: `how` is "after" (an exception after the step) or a signal number sent to this process."""

    def __init__(self, step_id: str, how: object):
        self.step_id, self.how, self.fired = step_id, how, False

    @hookimpl
    def holdfast_before_step(self, step, context):
        if step.id == self.step_id and not self.fired and isinstance(self.how, int):
            self.fired = True
            os.kill(os.getpid(), self.how)

    @hookimpl
    def holdfast_after_step(self, step, context, outcome):
        if step.id == self.step_id and not self.fired and self.how == "after":
            self.fired = True
            raise RuntimeError(f"injected after {step.id}")


def records(world: World) -> list[dict]:
    return Journal(str(world.backup / "journal.jsonl")).records()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_before_the_point_of_no_return_starts_the_project_again(tmp_path, signum, code):
    world = World(tmp_path)
    got, text = world.run(FailAt("archive:db", signum))
    assert got == code, text
    assert f"interrupted by {signal.Signals(signum).name} during step" in text and "started again" in text
    world.assert_original()
    assert world.current("db").id == "d" * 64
    events = [(r["event"], r.get("step")) for r in records(world)]
    assert ("interrupted", "archive:db") in events and events[-1][0] == "undone"
    assert not os.path.lexists(lock_path(world))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    assert world.run()[0] == 0


def test_signal_after_the_point_of_no_return_prints_the_way_back_and_resumes(tmp_path):
    world = World(tmp_path)
    code, text = world.run(FailAt("restore:redis", signal.SIGINT))
    assert code == 130, text
    assert "To continue from here" in text and "--rollback" in text
    assert records(world)[-1]["event"] == "interrupted"
    code, text = world.run()
    assert code == 0, text
    world.assert_migrated()


def test_a_second_signal_during_the_cleanup_does_not_stop_it(tmp_path, capfd):
    world = World(tmp_path)
    start = world.engine.start

    def start_and_signal(cid):
        os.kill(os.getpid(), signal.SIGINT)  # the impatient second Ctrl-C, while holdfast starts things again
        start(cid)

    world.engine.start = start_and_signal
    code, text = world.run(FailAt("archive:redis", signal.SIGINT))
    assert code == 130, text
    world.assert_original()
    assert "already putting the project back in a safe state" in capfd.readouterr().err


def test_signal_between_steps_is_raised_at_the_next_step(tmp_path):
    class Late:
        @hookimpl
        def holdfast_after_step(self, step, context, outcome):
            if step.id == "fingerprint":
                os.kill(os.getpid(), signal.SIGTERM)  # arrives while the step is still armed: raised at once

    world = World(tmp_path)
    code, text = world.run(Late())
    assert code == 143, text
    world.assert_original()
    assert stops(world) == 0


def test_interrupted_stream_is_closed():
    from holdfast.apply.host import ArchiveStream, Engine

    class Response:
        closed = False

        def iter_content(self, size):
            yield b"a" * size
            yield b"b" * size

        def close(self):
            self.closed = True

    engine = Engine(client=None, endpoint=None)
    response = Response()
    stream = ArchiveStream(response, 4, engine.streams)
    iterator = iter(stream)
    assert next(iterator) == b"aaaa" and engine.streams == {stream}
    assert engine.close_streams() == 1 and response.closed and engine.streams == set()
    done = Response()
    assert b"".join(ArchiveStream(done, 2, engine.streams)) == b"aabb" and done.closed


# --------------------------------------------------------------- progress
def test_a_long_step_shows_that_it_is_running(tmp_path, monkeypatch):
    import time

    from holdfast.apply import console as console_module

    monkeypatch.setattr(console_module, "PERIOD", 0.3)
    err = io.StringIO()
    console = Console(out=io.StringIO(), err=err, interactive=False)
    with console.running(3, 15, "stop the project"):
        time.sleep(1.3)
    assert "[ 3/15] stop the project ... still running, 1." in err.getvalue() or "still running, 0." in err.getvalue()
    bar = console.progress("archive db:/data", 1000)
    bar.last_line -= 1
    bar.update(500)
    assert "archive db:/data [############------------] 500 B / ~1000 B" in err.getvalue()


def test_a_terminal_gets_one_live_line():
    import time

    class Tty(io.StringIO):
        def isatty(self):
            return True

    err = Tty()
    console = Console(out=io.StringIO(), err=err, interactive=False)
    with console.running(4, 15, "archive db"):
        time.sleep(1.2)
    assert "\r[ 4/15] archive db ... 1." in err.getvalue() and err.getvalue().endswith("\r")


# ---------------------------------------------------------------- wording
def test_stale_plan_says_one_thing(tmp_path):
    world = World(tmp_path)
    world.file.write_text(world.file.read_text() + "# edited\n")
    code, text = world.run()
    assert code == 2
    assert f"make a new plan with: holdfast plan -o holdfast-plan.json {world.folder}" in text
    assert "same command again" not in text


def test_plan_show_ends_with_the_real_plan_file(tmp_path):
    from holdfast.apply.render import show

    world = World(tmp_path)
    text = show(world.plan, str(world.backup), plan_path="plans/mastodon.json")
    assert text.rstrip("\n").splitlines()[-1].endswith("holdfast apply --rollback plans/mastodon.json")
    assert "PLAN.json" not in text


def test_summaries_use_the_singular_for_one():
    from holdfast.apply import probes

    assert probes.summarise({"kind": "postgres", "data": {"databases": {"app": {"public.t": 1}}}}) == "1 database, 1 table, 1 row"
    assert probes.summarise({"kind": "redis", "data": {"dbs": {"0": {"keys": 1}}}}) == "1 key in 1 database"
    assert probes.summarise({"kind": "files", "data": {"count": 2}}) == "2 files"


def test_one_service_now_keeps_its_data(tmp_path):
    world = World(tmp_path)
    world.plan.services = [s for s in world.plan.services if s.name == "db"]
    world.plan.steps = [s for s in world.plan.steps if s.service in (None, "db")]
    code, text = world.run()
    assert code == 0, text
    assert "done: db now keeps its data in bind mounts" in text


def test_keep_current_goes_with_rollback(tmp_path, capsys):
    from holdfast.cli import main

    with pytest.raises(SystemExit) as info:
        main(["apply", "--keep-current", "--yes", str(tmp_path / "plan.json")])
    assert info.value.code == 2
    assert "--keep-current goes with --rollback" in capsys.readouterr().err

"""Real signals to a real `holdfast apply` at each step, on the real engine.

A child process runs the real command line (`holdfast apply --yes`), with one test
plugin that touches a marker file when the chosen step starts (the
`holdfast_before_step` hook) and, for the copy steps, reads the archive stream
slowly at first so the signal lands in the middle of a copy (the case that once
hung for 10 minutes: the daemon keeps a container locked while its archive stream
is open, so `docker start` waited until the read timeout). The test then sends
SIGINT to the process group (what a terminal's Ctrl-C does: Compose included),
SIGTERM to the process, or SIGKILL, and checks:

* the exit code (130 SIGINT, 143 SIGTERM) and that it came within a bounded time;
* before the point of no return: the original containers run again, same data;
* after it: the way back was printed, and a rollback (or a resume, then a
  rollback) succeeds with every row and key back;
* SIGKILL: the stale lock is taken over and explained, the resume succeeds;
* every archive written is kept with its sha256; the lock file is gone after a
  clean exit.

Each case ends with the project in its original layout, so one project serves the
whole module; one case runs under both Compose flavours.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from live_project import LiveProject

pytestmark = [pytest.mark.docker, pytest.mark.slow]

STEPS = ["preflight", "fingerprint", "stop", "archive:db", "archive:redis", "verify-archives", "remove", "restore:db", "restore:redis", "patch", "recreate", "wait-healthy", "verify-mounts", "verify-data", "finish"]
BOUND = 60.0  # seconds from the signal to the exit, cleanup included
CODES = {"INT": 130, "TERM": 143, "KILL": -signal.SIGKILL}
RESUME_FIRST = {"restore:db", "wait-healthy"}  # these cases resume to completion before rolling back

CHILD = r"""
import os, sys, time
import holdfast.plugins as plugins
from holdfast.apply import host, steps
from holdfast.hookspecs import hookimpl

TARGET, MARK, AT = os.environ["HF_STEP"], os.environ["HF_MARK"], os.environ.get("HF_AT")
SLOW = TARGET.startswith(("archive:", "restore:"))
FAST = ("preflight", "remove", "patch", "verify-mounts", "finish")  # done in a few ms: hold them so the signal lands in them


class Mark:
    @hookimpl
    def holdfast_before_step(self, step, context):
        if step.id == TARGET and AT is None:
            open(MARK, "w").close()
            if TARGET in FAST:
                time.sleep(1.0)


load = plugins.load_plugins
plugins.load_plugins = lambda extra=None: load([*(extra or []), Mark()])

get_archive = host.Engine.get_archive


def slow_get_archive(self, container_id, path, chunk_size=64 * 1024):
    for number, chunk in enumerate(get_archive(self, container_id, path, chunk_size=64 * 1024)):
        if SLOW and number < 60:
            time.sleep(0.05)  # a slow disk: the first 4 MiB take 3 s, the daemon's stream stays open meanwhile
        yield chunk


host.Engine.get_archive = slow_get_archive
stop = host.Engine.stop


def marked_stop(self, container_id, timeout):
    if AT == "docker-stop" and not os.path.exists(MARK):
        open(MARK, "w").close()  # the signal lands while the daemon is stopping the container
    return stop(self, container_id, timeout)


host.Engine.stop = marked_stop
read_chunks = steps.read_chunks


def slow_read_chunks(path, progress):
    for number, block in enumerate(read_chunks(path, progress)):
        if SLOW and number < 40:
            time.sleep(0.05)
        yield block


steps.read_chunks = slow_read_chunks
from holdfast.cli import main

sys.argv = ["holdfast", "apply", "--yes", "--backup-dir", sys.argv[2], sys.argv[1]]
main()
"""

RESULTS: list[str] = []


@pytest.fixture(scope="module")
def live(images, tmp_path_factory):
    project = LiveProject(tmp_path_factory.mktemp("signals"), ["docker", "compose"], "signals")
    try:
        project.up()
        yield project
    finally:
        project.teardown()
        if RESULTS:
            print("\n| flavour | signal | sent at step | landed in | exit | seconds to exit | afterwards |\n|---|---|---|---|---|---|---|\n" + "\n".join(RESULTS))


def journal(backup: Path) -> list[dict]:
    from holdfast.apply.journal import Journal

    return Journal(str(backup / "journal.jsonl")).records()


def exercise(project: LiveProject, tmp_path: Path, step: str, name: str) -> None:
    project.case += 1
    plan_file = f"plan-{project.case}.json"
    project.plan(plan_file)
    backup = tmp_path / "backup"
    try:
        _exercise(project, tmp_path, step, name, plan_file, backup)
    except BaseException:
        # leave the shared project as the next case expects it: original layout, empty bind targets
        project.holdfast("apply", "--rollback", "--yes", "--keep-current", "--backup-dir", str(backup), str(project.dir / plan_file))
        project.remember_volumes()
        project.set_aside_binds()
        raise


def _exercise(project: LiveProject, tmp_path: Path, target: str, name: str, plan_file: str, backup: Path) -> None:
    step, _, at = target.partition("@")
    mark = tmp_path / "step-started"
    log = tmp_path / "child.log"
    with open(log, "wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(project.dir / plan_file), str(backup)],
            cwd=project.dir,
            env={**project.env, "HF_STEP": step, "HF_MARK": str(mark), **({"HF_AT": at} if at else {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while not mark.exists():
            assert child.poll() is None, f"the apply ended before {step}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"{step} never started"
            time.sleep(0.02)
        sent = time.monotonic()
        if name == "INT":
            os.killpg(child.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole foreground group
            if step == "archive:db":  # the impatient second Ctrl-C, while holdfast starts the project again
                time.sleep(0.3)
                try:
                    os.killpg(child.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
        else:
            os.kill(child.pid, getattr(signal, f"SIG{name}"))
        code = child.wait(timeout=300)
        seconds = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    text = log.read_text()
    records = journal(backup)
    landed = next((r["step"] for r in reversed(records) if r["event"] == "interrupted"), None) or next(r["step"] for r in reversed(records) if r["event"] == "start")
    assert code == CODES[name], f"exit {code}:\n{text}"
    assert seconds < BOUND, f"took {seconds:.1f}s to exit after SIG{name}:\n{text}"
    assert "Traceback" not in text, text
    if name == "INT" and step == "archive:db":
        assert "already putting the project back in a safe state" in text, text
    lock = project.dir / ".holdfast-apply.lock"
    for archive in backup.rglob("*.tar"):
        assert (archive.parent / (archive.name + ".sha256")).exists(), archive  # a finished archive is kept with its sha256
    undone = records[-1]["event"] == "undone"
    if name != "KILL":
        assert not lock.exists(), "the lock must go away on a clean exit"
        assert any(r["event"] == "interrupted" for r in records), records[-3:]
        assert f"interrupted by SIG{name}" in text
    hint = ["--backup-dir", str(backup), str(project.dir / plan_file)]
    if undone:
        assert "Nothing was removed or changed" in text, text
        project.assert_running()
        project.assert_original_layout()
        project.assert_data()
        afterwards = "started again, data intact"
    else:
        if name != "KILL":
            assert "To continue from here" in text and "--rollback" in text, text
        resume = name == "KILL" or step in RESUME_FIRST
        if resume:
            resumed = project.holdfast("apply", "--yes", *hint)
            assert resumed.returncode == 0, resumed.stdout + resumed.stderr
            if name == "KILL":
                assert "took over a stale lock" in resumed.stderr and "no longer running" in resumed.stderr, resumed.stderr
            project.assert_binds()
            project.assert_data()
        rolled = project.holdfast("apply", "--rollback", "--yes", *hint)
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
        if name == "KILL" and not resume:
            assert "took over a stale lock" in rolled.stderr
        project.assert_original_layout()
        project.assert_data()
        afterwards = ("resumed, then " if resume else "") + "rolled back, data intact"
    assert not lock.exists()
    RESULTS.append(f"| {project.flavour} | SIG{name} | {target} | {landed} | {code} | {seconds:.1f} | {afterwards} |")
    print(RESULTS[-1])
    project.remember_volumes()
    project.set_aside_binds()


CASES = [(step, "INT") for step in STEPS if step != "recreate"] + [
    ("stop@docker-stop", "TERM"),  # while the daemon stops the database: holdfast waits for the stop, then starts it
    ("archive:db", "TERM"),
    ("restore:db", "TERM"),
    ("archive:db", "KILL"),
    ("restore:db", "KILL"),
    ("wait-healthy", "KILL"),
]


@pytest.mark.parametrize(("step", "name"), CASES, ids=[f"SIG{n}-{s}" for s, n in CASES])
def test_signal_at_step(live, tmp_path, step, name):
    exercise(live, tmp_path, step, name)


def test_sigint_during_recreate_under_both_compose_flavours(images, tmp_path, compose_flavour):
    """Compose itself gets the Ctrl-C while it recreates the containers."""
    project = LiveProject(tmp_path, compose_flavour, "signals")
    try:
        project.up()
        exercise(project, tmp_path, "recreate", "INT")
    finally:
        project.teardown()
        print("\n".join(RESULTS[-1:]))


"""`holdfast plan` / `apply` / `--rollback` on a real engine, under Compose v2 and v1.

Compose flavours: the seed scenario and the fault cases that run Compose (stop and
restart, recreate, a resume, a rollback after the recreate) run under both v2
(`docker compose`) and v1 (`docker-compose`); the cases whose flavour does not matter
run under v2 only, v1's own trap under v1. holdfast is never told which flavour: it
reads it from the containers' labels, and the recreated containers keep the names
of the flavour that created them (`p-db-1` for v2, `p_db_1` for v1).

The seed scenario (Mastodon v1.3.2's db and redis, data in anonymous volumes)
end to end; a failure injected after every step in turn, each ending in a
completed apply after a resume or in a rollback, with every row and key present
and every backup kept; a SIGKILL in the middle of an archive, resumed; and the
traps: a stale plan, a non-empty bind target, a service that never becomes
ready, the same plan twice, Compose v1 keeping an old anonymous volume over a
new bind.

Data is checked with the docker CLI and the servers' own clients, never with
holdfast's probes, so the check is independent of the code under test. One
project is reused across the fault cases (each case ends in the original
layout again) to keep the suite short on a 2-core machine.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from holdfast.hookspecs import hookimpl
from live_project import ComposeProject, run
from support import SEED, compose_cli

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PG_TABLES = {"accounts": 500, "statuses": 2000}


def container_name(project: str, service: str, flavour: str) -> str:
    """The name Compose gives the first container of a service: `p-db-1` (v2) or `p_db_1` (v1)."""
    sep = "-" if flavour == "v2" else "_"
    return sep.join((project, service, "1"))


@pytest.fixture(autouse=True)
def no_flavour_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """holdfast must find the flavour on its own (the containers' labels), not from HOLDFAST_COMPOSE."""
    monkeypatch.delenv("HOLDFAST_COMPOSE", raising=False)



def seed_compose_text() -> str:
    """The seed file with only `db` and `redis` kept (web, streaming, sidekiq dropped), nothing else changed."""
    text = SEED.read_text(encoding="utf-8")
    return text.split("\n  web:", 1)[0].rstrip("\n") + "\n"


class Project(ComposeProject):
    """The seed's db and redis (v2 or v1) with a Mastodon-like data set."""

    def __init__(self, root: Path, flavour: str = "v2"):
        super().__init__(root, compose_cli(flavour), "e2e", seed_compose_text(), "docker-compose.yml")

    def assert_own_flavour(self) -> None:
        """The containers are still named, and labelled, by the flavour that created the project."""
        for service in ("db", "redis"):
            attrs = self.state(service)
            assert attrs["Name"] == "/" + container_name(self.name, service, self.flavour), attrs["Name"]
            version = attrs["Config"]["Labels"]["com.docker.compose.version"]
            assert version.startswith("1." if self.flavour == "v1" else "2."), version

    def write_data(self) -> None:
        self.psql(
            "create table accounts (id serial primary key, name text not null);"
            f"insert into accounts (name) select 'user' || g from generate_series(1, {PG_TABLES['accounts']}) g;"
            "create table statuses (id serial primary key, account_id int references accounts, body text);"
            f"insert into statuses (account_id, body) select 1 + g % 500, md5(g::text) from generate_series(1, {PG_TABLES['statuses']}) g;"
        )
        self.psql("create database media")
        self.psql("create table attachments (id int); insert into attachments select generate_series(1, 7)", database="media")
        self.redis("EVAL", "for i = 1, 200 do redis.call('SET', 'key:' .. i, 'value-' .. i) end return 1", "0")
        self.redis("-n", "3", "HSET", "session:42", "user", "alice", "token", "t0k3n")
        self.redis("-n", "3", "SET", "counter", "17")

    def assert_data(self) -> None:
        """Every row and key written by `write_data` is there (checked with psql and redis-cli)."""
        self.wait_ready()
        for table, count in PG_TABLES.items():
            assert self.psql(f"select count(*) from {table}") == str(count), table
        assert self.psql("select md5(string_agg(body, ',' order by id)) from statuses") == self.psql(
            f"select md5(string_agg(md5(g::text), ',' order by g)) from generate_series(1, {PG_TABLES['statuses']}) g"
        )
        assert self.psql("select sum(id) from attachments", database="media") == "28"
        assert self.redis("DBSIZE") == "200"
        assert self.redis("GET", "key:137") == "value-137"
        assert self.redis("-n", "3", "DBSIZE") == "2"
        assert self.redis("-n", "3", "HGET", "session:42", "token") == "t0k3n"

    def set_aside_binds(self) -> None:
        """After a rollback the bind folders still hold the apply's copy; move them away so the next plan's targets are empty."""
        self.case += 1
        for name in ("postgres", "redis"):
            path = self.dir / name
            if path.exists():
                path.rename(self.dir / f".{name}.case{self.case}")


def _start(root: Path, flavour: str = "v2") -> Project:
    project = Project(root, flavour)
    project.start()
    return project


@pytest.fixture(scope="module")
def engine(images):
    from holdfast.apply.host import Engine

    return Engine.connect()


@pytest.fixture(scope="module")
def live(images, tmp_path_factory):
    """One seeded Compose v2 project reused by the fault cases and the traps; every case leaves it in its original layout."""
    project = _start(tmp_path_factory.mktemp("live"), "v2")
    yield project
    project.teardown()


@pytest.fixture(scope="module")
def live_v1(images, tmp_path_factory):
    """The same, created (and so recreated) by Compose v1."""
    project = _start(tmp_path_factory.mktemp("live-v1"), "v1")
    yield project
    project.teardown()


def quiet():
    from holdfast.apply.console import Console

    return Console(out=io.StringIO(), err=io.StringIO(), interactive=False)


def output(console) -> str:
    return console.out.getvalue() + console.err.getvalue()


def make_plan(project: Project, engine, **kwargs):
    from holdfast.apply.cli import make_plans
    from holdfast.cli import build_config

    config = build_config((str(project.dir),), None, None, None, None)
    plans, notes = make_plans((str(project.dir),), (), config, engine, **kwargs)
    assert len(plans) == 1, notes
    plan = plans[0]
    for service in plan.services:
        for move in service.moves:
            if move.volume:
                project.volumes.add(move.volume)
    return plan


def apply(plan, engine, backup_dir: Path, **kwargs):
    from holdfast.apply.cli import run_apply

    console = kwargs.pop("console", None) or quiet()
    code = run_apply(plan, engine=engine, backup_dir=str(backup_dir), yes=True, console=console, **kwargs)
    return code, console


def assert_binds(project: Project) -> None:
    """The seed guide's final check: `docker inspect` shows bind mounts from ./postgres and ./redis at the data paths."""
    for service, folder, target in (("db", "postgres", "/var/lib/postgresql/data"), ("redis", "redis", "/data")):
        mounts = project.mounts(service)
        assert [(m["Type"], m["Source"], m["Destination"]) for m in mounts] == [("bind", str(project.dir / folder), target)], mounts


def assert_original_layout(project: Project) -> None:
    for service, target in (("db", "/var/lib/postgresql/data"), ("redis", "/data")):
        mounts = project.mounts(service)
        assert [(m["Type"], m["Destination"]) for m in mounts] == [("volume", target)], mounts
    assert project.file.read_text(encoding="utf-8") == seed_compose_text()


def assert_backups_kept(plan, backup_dir: Path) -> None:
    for service in plan.services:
        for move in service.moves:
            archive = backup_dir / move.archive
            if archive.exists() or (backup_dir / (move.archive + ".sha256")).exists():
                assert archive.exists() and (backup_dir / (move.archive + ".sha256")).exists(), archive
    assert (backup_dir / "journal.jsonl").exists()


# ----------------------------------------------------------------- the seed
@pytest.mark.parametrize("flavour", ["v2", "v1"])
def test_seed_scenario_end_to_end(images, tmp_path_factory, flavour):
    """lint finds HF101 x2; plan + apply (the CLI) move the data into ./postgres and ./redis; it survives rm + up.
    The project is recreated by the flavour that created it (the plan records it; the names stay)."""
    project = _start(tmp_path_factory.mktemp("seed"), flavour)
    try:
        lint = run(["holdfast", "lint", "--format", "json", "."], cwd=project.dir, check=False)
        codes = [f["code"] for f in json.loads(lint.stdout)["findings"]]
        assert codes.count("HF101") == 2, lint.stdout

        started = time.monotonic()
        planned = run(["holdfast", "plan", ".", "-o", "plan.json"], cwd=project.dir)
        assert "wrote plan.json" in planned.stdout
        assert json.loads((project.dir / "plan.json").read_text())["compose_cli"] == " ".join(project.compose_argv)
        shown = run(["holdfast", "plan", "--show", "plan.json"], cwd=project.dir).stdout
        assert "docker rm " in shown and "expected downtime" in shown and "holdfast-backups" in shown
        for volume in json.loads((project.dir / "plan.json").read_text())["services"]:
            project.volumes.update(m["volume"] for m in volume["moves"] if m["volume"])
        applied = run(["holdfast", "apply", "plan.json", "--yes"], cwd=project.dir, check=False)
        elapsed = time.monotonic() - started
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "downtime" in applied.stdout and "docker volume rm" in applied.stdout
        print(f"\nseed: plan + apply took {elapsed:.1f}s\n{applied.stdout}")

        assert_binds(project)
        project.assert_own_flavour()
        project.assert_data()
        assert (project.dir / "postgres" / "PG_VERSION").exists()
        fixed = project.file.read_text(encoding="utf-8")
        assert "    volumes:\n      - ./postgres:/var/lib/postgresql/data" in fixed
        # HF104: the floating tags are pinned to what runs (PG_MAJOR=15), tagged on the very image (nothing pulled)
        assert "    image: postgres:15-alpine\n" in fixed and "    image: redis:7-alpine\n" in fixed
        image_id = run(["docker", "inspect", "-f", "{{.Image}}", project.container("db")]).stdout.strip()
        assert run(["docker", "image", "inspect", "-f", "{{.Id}}", "postgres:15-alpine"]).stdout.strip() == image_id

        # the same plan again: nothing to do (journal), and nothing to do with another backup folder (state)
        again = run(["holdfast", "apply", "plan.json", "--yes"], cwd=project.dir, check=False)
        assert again.returncode == 0 and "already applied" in again.stdout
        other = run(["holdfast", "apply", "plan.json", "--yes", "--backup-dir", str(project.dir / "elsewhere")], cwd=project.dir, check=False)
        assert other.returncode == 0 and "nothing to do" in other.stdout, other.stdout + other.stderr

        # the real proof: the containers can go, the data stays
        project.compose("rm", "-sf", "db", "redis")
        project.compose("up", "-d", "db", "redis")
        assert_binds(project)
        project.assert_own_flavour()
        project.assert_data()
    finally:
        project.teardown()


# ------------------------------------------------------------- fault cases
STEP_IDS = [
    "preflight",
    "fingerprint",
    "stop",
    "archive:db",
    "archive:redis",
    "verify-archives",
    "remove",
    "restore:db",
    "restore:redis",
    "patch",
    "recreate",
    "wait-healthy",
    "verify-mounts",
    "verify-data",
    "finish",
]
BEFORE_DESTRUCTIVE = STEP_IDS[: STEP_IDS.index("remove")]
RESUMED = {"remove", "restore:redis", "recreate", "verify-mounts", "finish"}  # the others end in a rollback
# Under v1 the cases where Compose's behaviour decides the outcome: a rollback that must recreate
# the removed containers, a resume after Compose recreated, a rollback after it did.
V1_STEPS = ["restore:db", "recreate", "wait-healthy"]


class FailAfter:
    """A plugin that fails a step after it did its work (the hardest moment: effects done, journal says failed)."""

    def __init__(self, step_id: str):
        self.step_id = step_id
        self.fired = False

    @hookimpl
    def holdfast_after_step(self, step, context, outcome):
        if step.id == self.step_id and not self.fired:
            self.fired = True
            raise RuntimeError(f"injected fault after {step.id}")


def _plugin(step_id: str) -> FailAfter:
    return FailAfter(step_id)


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_fault_after_each_step(live, engine, tmp_path, step_id):
    fault_case(live, engine, tmp_path, step_id)


@pytest.mark.parametrize("step_id", V1_STEPS)
def test_fault_after_step_under_compose_v1(live_v1, engine, tmp_path, step_id):
    fault_case(live_v1, engine, tmp_path, step_id)


def fault_case(live: Project, engine, tmp_path: Path, step_id: str) -> None:
    """Fail right after `step_id`; the apply undoes itself, or resumes, or rolls back; the data is intact either way."""
    plan = make_plan(live, engine)
    assert [s.id for s in plan.steps] == STEP_IDS
    backup = tmp_path / "backup"
    code, console = apply(plan, engine, backup, extra_plugins=[_plugin(step_id)])
    text = output(console)
    assert code == 1, text
    assert f"injected fault after {step_id}" in text
    if step_id in BEFORE_DESTRUCTIVE:
        # undone on its own: the original containers run again, nothing changed
        assert "Nothing was removed or changed" in text
        assert_original_layout(live)
        live.assert_data()
        assert engine.inspect(plan.services[0].container.id) is not None
    elif step_id in RESUMED:
        assert "To continue from here" in text and "--rollback" in text
        code, console = apply(plan, engine, backup)
        assert code == 0, output(console)
        assert "done before" in output(console)
        assert_binds(live)
        live.assert_own_flavour()
        live.assert_data()
        code, console = apply(plan, engine, backup, rollback=True)  # back to the start for the next case
        assert code == 0, output(console)
        assert_original_layout(live)
        live.assert_data()
    else:
        code, console = apply(plan, engine, backup, rollback=True)
        assert code == 0, output(console)
        assert "rolled back" in output(console)
        assert_original_layout(live)
        live.assert_data()
    live.assert_own_flavour()
    assert_backups_kept(plan, backup)
    live.remember_volumes()
    live.set_aside_binds()


CHILD = r"""
import os, sys, time
from holdfast.apply import host

original = host.Engine.get_archive

def slow(self, container_id, path, chunk_size=64 * 1024):
    for number, chunk in enumerate(original(self, container_id, path, chunk_size=64 * 1024)):
        yield chunk
        if number == 3 and path.startswith("/var/lib/postgresql"):
            open(os.environ["HF_MARK"], "w").close()
            time.sleep(600)

host.Engine.get_archive = slow
from holdfast.apply.cli import run_apply
from holdfast.apply.plan import load
sys.exit(run_apply(load(sys.argv[1]), backup_dir=sys.argv[2], yes=True))
"""


def test_sigkill_mid_archive_is_resumed_and_a_second_apply_is_locked_out(live, engine, tmp_path):
    from holdfast.apply.journal import Journal
    from holdfast.apply.plan import save

    plan = make_plan(live, engine)
    plan_path = tmp_path / "plan.json"
    save(plan, str(plan_path))
    backup = tmp_path / "backup"
    mark = tmp_path / "mid-archive"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(plan_path), str(backup)], env={**os.environ, "HF_MARK": str(mark)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not mark.exists():
            assert child.poll() is None, child.stdout.read().decode()
            assert time.monotonic() < deadline, "the child never reached the middle of the archive"
            time.sleep(0.1)
        # while the first apply holds the project, a second one is refused before touching anything
        code, console = apply(plan, engine, tmp_path / "second")
        assert code == 3 and "holds the lock" in output(console)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    part = backup / plan.services[0].moves[0].archive
    assert Path(str(part) + ".part").exists() and not part.exists()
    records = Journal(str(backup / "journal.jsonl")).records()
    assert records[-1]["event"] in ("start", "progress") and records[-1]["step"] == "archive:db"

    code, console = apply(plan, engine, backup)
    assert code == 0, output(console)
    assert "done before" in output(console)
    assert_binds(live)
    live.assert_data()
    code, console = apply(plan, engine, backup, rollback=True)
    assert code == 0, output(console)
    assert_original_layout(live)
    live.assert_data()
    live.set_aside_binds()


def test_fix_apply_is_fix_plan_and_apply_in_one_call(live, engine, tmp_path):
    """What `holdfast fix --apply --yes` runs: the plan lands in the backup folder, so resume/rollback work from it."""
    from holdfast.apply.cli import fix_apply
    from holdfast.apply.plan import load

    console = quiet()
    code = fix_apply((str(live.dir),), yes=True, backup_dir=str(tmp_path / "b"), console=console)
    assert code == 0, output(console)
    assert "expected downtime" in output(console)
    assert_binds(live)
    live.assert_data()
    plan = load(str(tmp_path / "b" / "plan.json"))
    live.volumes.update(m.volume for s in plan.services for m in s.moves if m.volume)
    code, console = apply(plan, engine, tmp_path / "b", rollback=True)
    assert code == 0, output(console)
    assert_original_layout(live)
    live.assert_data()
    live.set_aside_binds()


# ------------------------------------------------------------------ traps
def test_stale_plan_is_refused(live, engine, tmp_path):
    plan = make_plan(live, engine)
    from holdfast.apply.plan import save

    save(plan, str(tmp_path / "plan.json"))
    original = live.file.read_text(encoding="utf-8")
    live.file.write_text(original + "# edited after planning\n", encoding="utf-8")
    try:
        result = run(["holdfast", "apply", str(tmp_path / "plan.json"), "--yes", "--backup-dir", str(tmp_path / "b")], cwd=live.dir, check=False)
    finally:
        live.file.write_text(original, encoding="utf-8")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "stale plan" in result.stderr and "docker-compose.yml changed" in result.stderr
    assert_original_layout(live)


def test_non_empty_bind_target_is_refused(live, engine, tmp_path):
    plan = make_plan(live, engine)
    stray = live.dir / "postgres"
    stray.mkdir()
    (stray / "notes.txt").write_text("someone's files\n")
    try:
        refused = run(["holdfast", "plan", ".", "-o", str(tmp_path / "p.json")], cwd=live.dir, check=False)
        assert refused.returncode == 3 and "not empty" in refused.stderr, refused.stderr
        code, console = apply(plan, engine, tmp_path / "b")
        assert code == 3 and "not empty" in output(console)
    finally:
        shutil.rmtree(stray)
    assert_original_layout(live)
    live.assert_data()


def test_service_that_never_becomes_ready_fails_clearly_with_rollback_advice(live, engine, tmp_path):
    import dataclasses

    from holdfast.apply.planner import Planner
    from holdfast.cli import build_config
    from holdfast.discovery import ProjectFiles
    from holdfast.knowledge import default_knowledge

    knowledge = default_knowledge()
    broken = dataclasses.replace(knowledge.get("postgres"), readiness=("sh", "-c", "exit 1"))
    config = build_config((str(live.dir),), None, None, None, None)
    planner = Planner(engine, config, knowledge=knowledge.with_entries([broken]))
    plan = planner.plan(ProjectFiles([str(live.file)], {str(live.file)}, str(live.dir))).plan
    assert plan is not None and plan.service("db").readiness == ["sh", "-c", "exit 1"]
    backup = tmp_path / "backup"
    code, console = apply(plan, engine, backup, health_timeout=4)
    text = output(console)
    assert code == 1, text
    assert "db did not become ready" in text and "not ready after 4s" in text
    assert "holdfast apply --rollback" in text and str(backup / plan.services[0].moves[0].archive) in text
    code, console = apply(plan, engine, backup, rollback=True, health_timeout=4)
    assert code == 0, output(console)
    assert_original_layout(live)
    live.assert_data()
    live.set_aside_binds()


def test_wrong_path_mount_hf105_is_moved_to_the_data_path(images, tmp_path_factory, engine):
    """postgres 15 with a bind on the PARENT folder: the data sits in the anonymous volume the image puts at
    /var/lib/postgresql/data. The fix moves the mount; apply moves the data, in the same folder."""
    from holdfast.apply.cli import make_plans, run_apply
    from holdfast.cli import build_config

    root = tmp_path_factory.mktemp("hf105")
    name = "hf105" + uuid.uuid4().hex[:8]
    folder = root / name
    folder.mkdir()
    (folder / "docker-compose.yml").write_text("version: '2'\nservices:\n  db:\n    image: postgres:alpine\n    volumes:\n      - ./pg:/var/lib/postgresql\n", encoding="utf-8")
    compose = [*compose_cli("v2"), "-p", name]
    volumes: list[str] = []
    tagged = False
    try:
        run([*compose, "up", "-d"], cwd=folder)
        db = container_name(name, "db", "v2")
        for _ in range(120):
            if run(["docker", "exec", db, "pg_isready", "-h", "127.0.0.1"], check=False).returncode == 0:
                break
            time.sleep(0.5)
        run(["docker", "exec", db, "psql", "-U", "postgres", "-c", "create table kept as select generate_series(1, 42) as n"])
        assert sorted(os.listdir(folder / "pg")) == ["data"]  # only the mountpoint; the data is in the volume
        config = build_config((str(folder),), None, None, None, None)
        # behind the floating tag lint cannot know (18 would keep its data in ./pg); the live container says 15
        plans, notes = make_plans((str(folder),), (), config, engine)
        assert plans == [] and any("runs PostgreSQL 15" in n and "pin the tag" in n for n in notes), notes
        run(["docker", "tag", "postgres:alpine", "postgres:15-alpine"])
        tagged = True
        (folder / "docker-compose.yml").write_text("version: '2'\nservices:\n  db:\n    image: postgres:15-alpine\n    volumes:\n      - ./pg:/var/lib/postgresql\n", encoding="utf-8")
        plans, notes = make_plans((str(folder),), (), config, engine)
        assert len(plans) == 1, notes
        plan = plans[0]
        volumes.extend(m.volume for m in plan.service("db").moves if m.volume)
        assert plan.service("db").codes == ["HF105"]
        assert [(m.mount_target, m.bind_source) for m in plan.service("db").moves] == [("/var/lib/postgresql/data", str(folder / "pg"))]
        console = quiet()
        assert run_apply(plan, engine=engine, backup_dir=str(root / "backup"), yes=True, console=console) == 0, output(console)
        [facts] = engine.project_containers(name, "db", oneoff=False)
        assert [(m.type, m.source, m.destination) for m in facts.mounts] == [("bind", str(folder / "pg"), "/var/lib/postgresql/data")]
        assert run(["docker", "exec", facts.id, "psql", "-U", "postgres", "-At", "-c", "select sum(n) from kept"]).stdout.strip() == "903"
        assert (folder / "pg" / "PG_VERSION").exists()
    finally:
        run([*compose, "down", "-v"], cwd=folder, check=False)
        if tagged:
            run(["docker", "rmi", "postgres:15-alpine"], check=False)  # only the extra tag; the image keeps postgres:alpine
        for volume in volumes:
            run(["docker", "volume", "rm", volume], check=False)


def test_compose_v1_keeps_the_old_anonymous_volume_over_a_new_bind(images, tmp_path_factory):
    """The guide's trap, shown on Compose v1: without removing the container, `up` keeps the volume and only warns.
    holdfast's recreate step refuses while the old container exists, and its mount check names the trap.
    (Compose v2 recreates with the bind: the trap is v1's own.)"""
    from holdfast.apply.host import ContainerFacts, Engine
    from holdfast.apply.plan import PathMove
    from holdfast.apply.steps import check_mounts

    root = tmp_path_factory.mktemp("trap")
    name = "hftrap" + uuid.uuid4().hex[:8]
    folder = root / name
    folder.mkdir()
    (folder / "docker-compose.yml").write_text("version: '2'\nservices:\n  redis:\n    image: redis:alpine\n", encoding="utf-8")
    compose = [*compose_cli("v1"), "-p", name]
    volumes: list[str] = []
    try:
        run([*compose, "up", "-d"], cwd=folder)
        for _ in range(50):
            if run(["docker", "exec", f"{name}_redis_1", "redis-cli", "ping"], check=False).stdout.strip() == "PONG":
                break
            time.sleep(0.2)
        run(["docker", "exec", f"{name}_redis_1", "redis-cli", "SET", "survivor", "yes"])
        (folder / "docker-compose.yml").write_text("version: '2'\nservices:\n  redis:\n    image: redis:alpine\n    volumes:\n      - ./redis:/data\n", encoding="utf-8")
        recreated = run([*compose, "up", "-d"], cwd=folder)
        assert "is using volume" in recreated.stdout + recreated.stderr and "has no effect" in recreated.stdout + recreated.stderr
        engine = Engine.connect()
        facts = engine.project_containers(name, "redis", oneoff=False)[0]
        assert isinstance(facts, ContainerFacts)
        volumes.extend(m.name for m in facts.mounts if m.type == "volume")
        assert [m.type for m in facts.mounts] == ["volume"]  # the trap: the bind was silently ignored
        service = type("S", (), {"moves": [PathMove("/data", ["/data"], "anonymous-volume", None, "./redis", str(folder / "redis"), "redis/data.tar", ["dump.rdb"])]})()
        problems = check_mounts(service, facts)
        assert problems and "Compose v1 keeps an old container's anonymous volume" in problems[0]

        # the way out: the file is already fixed, the container is not; plan + apply still move the data
        from holdfast.apply.cli import make_plans, run_apply
        from holdfast.cli import build_config

        plans, notes = make_plans((str(folder),), (), build_config((str(folder),), None, None, None, None), engine)
        assert len(plans) == 1 and plans[0].service("redis").codes == ["HF501"], notes
        # the mount is already in the file: the only edit is pinning the floating tag to what runs
        [change] = plans[0].changes
        before = (folder / "docker-compose.yml").read_text(encoding="utf-8")
        assert change.new_bytes.decode("utf-8") == before.replace("image: redis:alpine", "image: redis:7-alpine")
        console = quiet()
        assert run_apply(plans[0], engine=engine, backup_dir=str(root / "backup"), yes=True, console=console) == 0, output(console)
        [facts] = engine.project_containers(name, "redis", oneoff=False)
        assert [(m.type, m.source) for m in facts.mounts] == [("bind", str(folder / "redis"))]
        assert run(["docker", "exec", facts.id, "redis-cli", "GET", "survivor"]).stdout.strip() == "yes"
        assert facts.name == f"{name}_redis_1"  # recreated by v1, as it was created
    finally:
        run([*compose, "down", "-v"], cwd=folder, check=False)
        for volume in volumes:  # v1 does not remove an inherited anonymous volume on `down -v`
            run(["docker", "volume", "rm", volume], check=False)


def test_fix_apply_command_and_inspect_before_and_after(images, tmp_path_factory):
    """The issue's proof through the real commands: `holdfast inspect` sees both services' data on
    anonymous volumes, `holdfast fix --apply --yes` rescues them, inspect then reports neither
    service, and the data survives `rm` + `up`. Under v1 (the seed scenario covers the CLI under
    both; `fix_apply` runs under v2 above)."""
    project = _start(tmp_path_factory.mktemp("fixapply"), "v1")
    try:
        before = run(["holdfast", "inspect", "--format", "json", "--project", project.name], cwd=project.dir, check=False)
        assert before.returncode == 1, before.stdout + before.stderr
        live = {(f["code"], f["path"]) for f in json.loads(before.stdout)["findings"]}
        assert {("HF501", f"docker://{project.name}/db"), ("HF501", f"docker://{project.name}/redis")} <= live

        fixed = run(["holdfast", "fix", "--apply", "--yes", "."], cwd=project.dir, check=False)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert_binds(project)
        project.assert_data()
        assert (project.dir / "postgres" / "PG_VERSION").exists()
        assert "    volumes:\n      - ./redis:/data" in project.file.read_text(encoding="utf-8")

        after = run(["holdfast", "inspect", "--format", "json", "--project", project.name], cwd=project.dir, check=False)
        services = [f for f in json.loads(after.stdout)["findings"] if f["path"].startswith(f"docker://{project.name}/")]
        assert services == [], after.stdout
        lint = run(["holdfast", "lint", "--select", "HF1", "--format", "json", "."], cwd=project.dir, check=False)
        assert [f["code"] for f in json.loads(lint.stdout)["findings"] if f["code"] in ("HF101", "HF102", "HF105")] == []

        project.compose("rm", "-sf", "db", "redis")
        project.compose("up", "-d", "db", "redis")
        project.wait_ready()
        assert_binds(project)
        project.assert_own_flavour()
        project.assert_data()
    finally:
        project.teardown()

"""`holdfast plan` without an engine: host facts, the planner's decisions, and the traps it must see.

A fake engine stands in for the daemon (see test_plan_fakes); lint, the image
knowledge and the fix engine are the real ones, so these tests also pin the
contract with them (majors -> mount target, commented block uncommented, ...).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from holdfast.apply.errors import Refused
from holdfast.apply.host import ContainerFacts, resolve_endpoint, split_ref
from holdfast.apply.plan import Plan, compute_id, validate
from holdfast.apply.planner import Planner, major_from_env, pinned_ref
from holdfast.config import Config
from holdfast.discovery import ProjectFiles
from support import SEED
from test_plan_fakes import PG_IMAGE, REDIS_IMAGE, FakeEngine, attrs, bind, volume

VOL_DB = "1" * 64
VOL_REDIS = "2" * 64


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8").split("\n  web:", 1)[0].rstrip("\n") + "\n"


def project_dir(tmp_path: Path, text: str, name: str = "mastodon") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(text, encoding="utf-8")
    return folder


def files_of(folder: Path) -> ProjectFiles:
    path = str(folder / "docker-compose.yml")
    return ProjectFiles([path], {path}, str(folder))


def seed_engine(folder: Path, pg_env: dict[str, str] | None = None, pg_mounts: list | None = None) -> FakeEngine:
    engine = FakeEngine()
    common = {"project": folder.name, "working_dir": str(folder), "config_files": "docker-compose.yml"}
    engine.add(
        attrs(
            "d" * 64,
            service="db",
            image_ref="postgres:alpine",
            image_id=PG_IMAGE,
            env=pg_env or {"PG_MAJOR": "15", "PGDATA": "/var/lib/postgresql/data"},
            mounts=pg_mounts if pg_mounts is not None else [volume(VOL_DB, "/var/lib/postgresql/data")],
            **common,
        )
    )
    engine.add(attrs("e" * 64, service="redis", image_ref="redis:alpine", image_id=REDIS_IMAGE, env={"REDIS_VERSION": "7.0.15"}, mounts=[volume(VOL_REDIS, "/data")], **common))
    return engine


def plan_for(folder: Path, engine: FakeEngine, **kwargs) -> Plan:
    outcome = Planner(engine, Config(), **kwargs).plan(files_of(folder))
    assert outcome.plan is not None, outcome.notes
    return outcome.plan


# ---------------------------------------------------------------- host facts
def test_container_facts_from_inspect_v1_labels():
    raw = attrs("f" * 64, project="mastodon", service="db", image_ref="postgres:alpine", image_id=PG_IMAGE, working_dir="/srv/mastodon", config_files="docker-compose.yml,docker-compose.override.yml", mounts=[volume("3" * 64, "/var/lib/postgresql/data"), volume("pgdata", "/backup")])
    raw["Config"]["Healthcheck"] = {"Test": ["NONE"]}
    facts = ContainerFacts.from_attrs(raw)
    assert facts.config_files == ["/srv/mastodon/docker-compose.yml", "/srv/mastodon/docker-compose.override.yml"]
    assert [m.anonymous for m in facts.mounts] == [True, False]
    assert facts.healthcheck is None and not facts.oneoff and facts.running
    assert facts.covering_mount("/var/lib/postgresql/data/base").name == "3" * 64
    assert facts.covering_mount("/etc") is None


def test_endpoint_precedence(tmp_path):
    assert resolve_endpoint("tcp://h:2375", {"DOCKER_HOST": "unix:///x"}).source == "--host"
    env = {"DOCKER_HOST": "tcp://remote:2376", "DOCKER_CERT_PATH": "/certs", "DOCKER_TLS_VERIFY": "1", "DOCKER_CONFIG": str(tmp_path)}
    endpoint = resolve_endpoint(None, env)
    assert (endpoint.url, endpoint.source, endpoint.local) == ("tcp://remote:2376", "DOCKER_HOST", False)
    assert endpoint.compose_env() == {"DOCKER_HOST": "tcp://remote:2376", "DOCKER_CERT_PATH": "/certs", "DOCKER_TLS_VERIFY": "1"}
    assert resolve_endpoint(None, {"DOCKER_CONFIG": str(tmp_path)}).url == "unix:///var/run/docker.sock"


def test_versions_and_pins():
    assert major_from_env({"PG_MAJOR": "15"}, ("PG_MAJOR", "PG_VERSION")) == 15
    assert major_from_env({"MARIADB_VERSION": "1:11.4.2+maria~ubu2404"}, ("MARIADB_VERSION",)) == 11
    assert major_from_env({}, ("PG_MAJOR",)) is None
    assert pinned_ref("postgres:alpine", 15) == "postgres:15-alpine"
    assert pinned_ref("postgres", 16) == "postgres:16"
    assert pinned_ref("redis:7-alpine", 7) is None
    assert split_ref("registry:5000/team/pg:15@sha256:abc") == ("registry:5000/team/pg", "15")


# --------------------------------------------------------------------- seed
def test_seed_plan(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    plan = plan_for(folder, seed_engine(folder))
    db, redis = plan.service("db"), plan.service("redis")
    assert plan.project.name == "mastodon" and plan.project.paths == [str(folder / "docker-compose.yml")]
    assert (db.major, db.probe, db.codes, db.stop_grace) == (15, "postgres", ["HF101"], 120)
    [move] = db.moves
    assert (move.mount_target, move.storage, move.volume, move.bind_spec, move.bind_source) == (
        "/var/lib/postgresql/data",
        "anonymous-volume",
        VOL_DB,
        "./postgres",
        str(folder / "postgres"),
    )
    assert move.markers == ["PG_VERSION"] and move.archive == "db/var-lib-postgresql-data.tar"
    assert [m.bind_spec for m in redis.moves] == ["./redis"] and "dump.rdb" in redis.moves[0].markers
    assert [s.id for s in plan.steps][:6] == ["preflight", "fingerprint", "stop", "archive:db", "archive:redis", "verify-archives"]
    assert [s.id for s in plan.steps if s.destructive] == ["remove"]
    [change] = plan.changes
    assert b"    volumes:\n      - ./postgres:/var/lib/postgresql/data" in change.new_bytes
    assert change.sha256_before == plan.project.files[0].sha256
    # the plan file validates against the packaged schema and round-trips exactly
    data = plan.to_json()
    validate(data)
    assert data["id"] == compute_id(data)
    assert Plan.from_json(json.loads(json.dumps(data))).to_json() == data
    # the floating tags are named: pinned when the fix engine pins, warned about otherwise
    assert any("postgres:alpine" in w for w in plan.warnings) or db.image_after != "postgres:alpine"


def test_postgres_18_container_gets_its_bind_where_18_keeps_data(tmp_path):
    """postgres:alpine running 18: data in /var/lib/postgresql/18/docker, VOLUME /var/lib/postgresql; the seed's
    commented `./postgres:/var/lib/postgresql/data` would be wrong, so the bind goes to /var/lib/postgresql."""
    folder = project_dir(tmp_path, seed_text())
    engine = seed_engine(folder, {"PG_MAJOR": "18", "PGDATA": "/var/lib/postgresql/18/docker"}, [volume(VOL_DB, "/var/lib/postgresql")])
    plan = plan_for(folder, engine)
    db = plan.service("db")
    assert db.major == 18
    [move] = db.moves
    assert move.mount_target == "/var/lib/postgresql"
    assert move.data_paths == ["/var/lib/postgresql/18/docker"]
    assert move.markers == ["18/docker/PG_VERSION"]
    assert move.storage == "anonymous-volume" and move.volume == VOL_DB
    text = plan.changes[0].new_bytes.decode()
    assert f"{move.bind_spec}:/var/lib/postgresql\n" in text
    assert "./postgres:/var/lib/postgresql/data\n" not in text.replace("#      - ./postgres", "")


def test_postgres_18_pinned_image(tmp_path):
    folder = project_dir(tmp_path, "services:\n  db:\n    image: postgres:18\n")
    engine = FakeEngine()
    engine.add(attrs("d" * 64, project=folder.name, service="db", image_ref="postgres:18", image_id=PG_IMAGE, env={"PG_MAJOR": "18", "PGDATA": "/var/lib/postgresql/18/docker"}, mounts=[volume(VOL_DB, "/var/lib/postgresql")]))
    plan = plan_for(folder, engine)
    assert [m.mount_target for m in plan.service("db").moves] == ["/var/lib/postgresql"]
    assert plan.warnings == []


# ------------------------------------------------------------ image traps
def test_rabbitmq_hostname_is_pinned_by_the_fix_engine(tmp_path):
    """rabbitmq keeps its data under mnesia/rabbit@<hostname>: the patched file pins the old container's hostname."""
    folder = project_dir(tmp_path, "services:\n  mq:\n    image: rabbitmq:3.13\n    restart: always\n")
    engine = FakeEngine()
    engine.add(attrs("c" * 64, project=folder.name, service="mq", image_ref="rabbitmq:3.13", image_id=PG_IMAGE, env={"RABBITMQ_VERSION": "3.13.7"}, hostname="rabbit-1", mounts=[volume(VOL_DB, "/var/lib/rabbitmq")]))
    seen = {}

    def recording_fixer(*args, **kwargs):
        from holdfast.fixing import fix_project

        seen.update(kwargs["options"])
        return fix_project(*args, **kwargs)

    plan = plan_for(folder, engine, fixer=recording_fixer)
    assert seen["hostnames"] == {"mq": "rabbit-1"}  # asked of the fix engine
    mq = plan.service("mq")
    assert mq.hostname_pin == "rabbit-1"
    assert [m.mount_target for m in mq.moves] == ["/var/lib/rabbitmq"]
    [change] = plan.changes
    text = change.new_bytes.decode()
    assert text.startswith("services:\n  mq:\n    image: rabbitmq:3.13\n    hostname: rabbit-1\n    restart: always\n")
    assert "hostname: rabbit-1" in text


def test_rabbitmq_without_a_pinned_hostname_is_refused(tmp_path):
    """When the fix engine cannot pin the hostname (here: a fixer that drops the ask), the plan refuses."""
    folder = project_dir(tmp_path, "services:\n  mq:\n    image: rabbitmq:3.12\n")
    engine = FakeEngine()
    engine.add(attrs("c" * 64, project=folder.name, service="mq", image_ref="rabbitmq:3.12", image_id=PG_IMAGE, env={"RABBITMQ_VERSION": "3.12.14"}, hostname="a1b2c3d4e5f6", mounts=[volume(VOL_DB, "/var/lib/rabbitmq")]))

    def fixer_without_hostname(*args, **kwargs):
        from holdfast.fixing import fix_project

        kwargs["options"] = {k: v for k, v in kwargs["options"].items() if k != "hostnames"}
        return fix_project(*args, **kwargs)

    with pytest.raises(Refused, match="hostname: a1b2c3d4e5f6"):
        plan_for(folder, engine, fixer=fixer_without_hostname)
    plan = plan_for(folder, engine)
    assert plan.service("mq").hostname_pin == "a1b2c3d4e5f6"
    assert b"    image: rabbitmq:3.12\n    hostname: a1b2c3d4e5f6\n" in plan.changes[0].new_bytes


def test_multi_path_service_moves_every_path_together(tmp_path):
    folder = project_dir(tmp_path, "services:\n  zk:\n    image: zookeeper:3.8\n")
    engine = FakeEngine()
    engine.add(attrs("c" * 64, project=folder.name, service="zk", image_ref="zookeeper:3.8", image_id=PG_IMAGE, mounts=[volume("4" * 64, "/data"), volume("5" * 64, "/datalog"), volume("6" * 64, "/logs")]))
    plan = plan_for(folder, engine)
    moves = plan.service("zk").moves
    assert [m.mount_target for m in moves] == ["/data", "/datalog"]
    assert [m.volume for m in moves] == ["4" * 64, "5" * 64]
    assert moves[0].markers == ["version-2"] and moves[1].markers == []
    assert len({m.bind_source for m in moves}) == 2
    assert [s.id for s in plan.steps if s.kind == "archive"] == ["archive:zk"]  # one stop window, one step for both paths


def test_floating_tag_is_pinned_by_tagging_the_running_image(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    engine = seed_engine(folder)
    asked = {}

    def recording_fixer(*args, **kwargs):
        from holdfast.fixing import fix_project

        asked.update(kwargs["options"]["pins"])
        return fix_project(*args, **kwargs)

    plan = plan_for(folder, engine, fixer=recording_fixer)
    assert asked == {"db": "postgres:15-alpine", "redis": "redis:7-alpine"}
    db = plan.service("db")
    assert (db.image_after, db.tag) == ("postgres:15-alpine", "postgres:15-alpine")
    assert plan.service("redis").tag == "redis:7-alpine"
    assert not any("postgres:alpine" in w for w in plan.warnings)
    [change] = plan.changes
    old, new = seed_text().splitlines(), change.new_bytes.decode().splitlines()
    assert [n for n, (a, b) in enumerate(zip(old, new), 1) if a != b] == [6, 8, 9, 13, 15, 16]
    assert new[5] == "    image: postgres:15-alpine" and new[12] == "    image: redis:7-alpine"


def test_image_no_longer_local_is_refused(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    engine = seed_engine(folder)
    del engine.images[PG_IMAGE]
    with pytest.raises(Refused, match="no longer on this host"):
        plan_for(folder, engine)


def test_floating_tag_now_meaning_another_image_is_pinned_to_the_running_one(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    engine = seed_engine(folder)
    engine.images["postgres:alpine"] = "sha256:" + "9" * 64  # someone pulled a newer postgres:alpine meanwhile
    db = plan_for(folder, engine).service("db")
    assert (db.image_after, db.tag) == ("postgres:15-alpine", "postgres:15-alpine")  # the recreate never sees postgres:alpine


def test_pinned_tag_meaning_another_image_is_refused(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    engine = seed_engine(folder)
    engine.images["postgres:15-alpine"] = "sha256:" + "9" * 64  # the pin already names another (15.x) image here
    with pytest.raises(Refused, match="docker tag " + PG_IMAGE):
        plan_for(folder, engine)


def test_vanished_tag_is_restored_by_tagging(tmp_path):
    folder = project_dir(tmp_path, seed_text().replace("image: redis:alpine", "image: redis:7-alpine"))
    engine = FakeEngine()
    engine.add(attrs("e" * 64, project=folder.name, service="redis", image_ref="redis:7-alpine", image_id=REDIS_IMAGE, env={"REDIS_VERSION": "7.0.15"}, mounts=[volume(VOL_REDIS, "/data")]))
    del engine.images["redis:7-alpine"]  # the tag was removed (or withdrawn upstream); the image is still here
    plan = plan_for(folder, engine)
    assert plan.service("redis").tag == "redis:7-alpine"


# ----------------------------------------------------------- other refusals
def test_non_empty_bind_target_is_refused(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    (folder / "postgres").mkdir()
    (folder / "postgres" / "old.txt").write_text("x")
    with pytest.raises(Refused, match="not empty"):
        plan_for(folder, seed_engine(folder))


def test_replicas_are_refused(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    engine = seed_engine(folder)
    engine.add(attrs("f" * 64, project=folder.name, service="db", image_ref="postgres:alpine", image_id=PG_IMAGE, number=2, mounts=[volume("7" * 64, "/var/lib/postgresql/data")]))
    with pytest.raises(Refused, match="replicas"):
        plan_for(folder, engine)


def test_other_compose_files_are_refused(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    engine = seed_engine(folder)
    for raw in engine.containers.values():
        raw["Config"]["Labels"]["com.docker.compose.project.config_files"] = "docker-compose.yml,docker-compose.prod.yml"
    with pytest.raises(Refused, match="started with"):
        plan_for(folder, engine)


def test_no_containers_means_nothing_live_to_rescue(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    outcome = Planner(FakeEngine(), Config()).plan(files_of(folder))
    assert outcome.plan is None and "nothing live to rescue" in outcome.notes[-1]


def test_project_started_under_another_name_is_found_by_working_dir(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    engine = seed_engine(folder)
    for raw in engine.containers.values():
        raw["Config"]["Labels"]["com.docker.compose.project"] = "prod"
    outcome = Planner(engine, Config()).plan(files_of(folder))
    assert outcome.plan is not None and outcome.plan.project.name == "prod"
    assert any("belong to project 'prod'" in n for n in outcome.notes)


def test_already_persisted_container_needs_no_move(tmp_path):
    folder = project_dir(tmp_path, seed_text())
    engine = seed_engine(folder, pg_mounts=[bind(str(folder / "postgres"), "/var/lib/postgresql/data")])
    plan = plan_for(folder, engine)
    assert [s.name for s in plan.services] == ["redis"]
    assert any("already keeps the data" in w for w in plan.warnings)


def test_plan_cli_show_renders_manual_commands(tmp_path):
    from click.testing import CliRunner
    from holdfast.apply.plan import save
    from holdfast.cli import cli

    folder = project_dir(tmp_path, seed_text())
    plan = plan_for(folder, seed_engine(folder))
    path = tmp_path / "plan.json"
    save(plan, str(path))
    result = CliRunner().invoke(cli, ["plan", "--show", str(path), "--backup-dir", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "docker cp mastodon_db_1:/var/lib/postgresql/data - > " + str(tmp_path / "b" / "db" / "var-lib-postgresql-data.tar") in text
    assert "docker rm mastodon_db_1   # NOT -v" in text
    assert "expected downtime about" in text and "data to move" in text and str(tmp_path / "b") in text
    assert "+    volumes:" in text
    assert os.path.isfile(path)


def test_fixed_file_with_an_unmigrated_container_is_still_planned(tmp_path):
    """`holdfast fix` ran (or the v1 trap kept the volume): the file binds ./postgres, the container does not.
    The next `rm` + `up` would start an empty database, so the data must still be moved."""
    fixed = seed_text().replace("#    volumes:\n#      - ./postgres", "    volumes:\n      - ./postgres")
    folder = project_dir(tmp_path, fixed)
    outcome = Planner(seed_engine(folder), Config()).plan(files_of(folder))
    plan = outcome.plan
    assert plan is not None
    assert plan.service("db").codes == ["HF501"] and plan.service("redis").codes == ["HF101"]
    assert [m.bind_source for m in plan.service("db").moves] == [str(folder / "postgres")]
    assert any("already mounts its data" in n for n in outcome.notes)


def test_docker_context_endpoint(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.json").write_text('{"currentContext": "remote"}')
    tls = tmp_path / "tls" / "docker"
    tls.mkdir(parents=True)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text(
        "#!/bin/sh\n"
        f"echo '[{{\"Name\": \"remote\", \"Endpoints\": {{\"docker\": {{\"Host\": \"tcp://10.0.0.5:2376\", \"SkipTLSVerify\": false}}}}, \"Storage\": {{\"TLSPath\": \"{tmp_path / 'tls'}\"}}}}]'\n"
    )
    (fake / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    endpoint = resolve_endpoint(None, {"DOCKER_CONFIG": str(config), "PATH": os.environ["PATH"]})
    assert (endpoint.url, endpoint.source, endpoint.tls_dir, endpoint.tls_verify) == ("tcp://10.0.0.5:2376", "context remote", str(tls), True)
    assert endpoint.compose_env()["DOCKER_HOST"] == "tcp://10.0.0.5:2376"


def test_floating_tag_hiding_a_wrong_path_is_named(tmp_path):
    """`postgres:alpine` + `./pg:/var/lib/postgresql`: right for 18, wrong for the 15 that runs. Lint cannot know;
    the planner, which sees PG_MAJOR=15 and the anonymous volume, says so."""
    folder = project_dir(tmp_path, "services:\n  db:\n    image: postgres:alpine\n    volumes:\n      - ./pg:/var/lib/postgresql\n")
    engine = FakeEngine()
    engine.add(attrs("d" * 64, project=folder.name, service="db", image_ref="postgres:alpine", image_id=PG_IMAGE, env={"PG_MAJOR": "15"}, mounts=[bind(str(folder / "pg"), "/var/lib/postgresql"), volume(VOL_DB, "/var/lib/postgresql/data")]))
    outcome = Planner(engine, Config()).plan(files_of(folder))
    assert outcome.plan is None
    assert "runs PostgreSQL 15" in outcome.notes[0] and "pin the tag" in outcome.notes[0]

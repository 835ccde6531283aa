"""The local postgres/redis stand-in images behave like the official ones
where data safety is concerned: data lives in an anonymous volume, a clean
stop exits 0 and persists it, and a restart finds it again."""

from __future__ import annotations

import io
import tarfile
import time
import uuid

import pytest

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.docker

STOP_TIMEOUT = 30




@pytest.fixture
def client(images):
    c = docker.from_env()
    yield c
    c.close()


@pytest.fixture
def run(client):
    """Start containers by image; remove them and their anonymous volumes after."""
    started = []

    def _run(image: str, **kwargs):
        name = f"holdfast-test-{uuid.uuid4().hex[:12]}"
        container = client.containers.run(image, name=name, detach=True, **kwargs)
        started.append(container)
        return container

    yield _run
    for container in started:
        volumes = []
        try:
            container.reload()
            volumes = [m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume"]
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        for name in volumes:  # v=True should have done it; make sure
            try:
                client.volumes.get(name).remove(force=True)
            except docker.errors.NotFound:
                pass


def wait_for(container, cmd, expect=None, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        if container.status == "exited":
            logs = container.logs().decode(errors="replace")
            pytest.fail(f"container exited while waiting for {cmd}:\n{logs}")
        result = container.exec_run(cmd)
        if result.exit_code == 0 and (expect is None or expect in result.output):
            return result.output
        if time.monotonic() > deadline:
            logs = container.logs().decode(errors="replace")
            pytest.fail(f"timed out waiting for {cmd}: {result.output!r}\n{logs}")
        time.sleep(0.5)


def check(container, cmd) -> bytes:
    result = container.exec_run(cmd)
    assert result.exit_code == 0, result.output.decode(errors="replace")
    return result.output


def stop_cleanly(container) -> None:
    container.stop(timeout=STOP_TIMEOUT)
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0, container.logs().decode(errors="replace")


def anonymous_volume(container, destination: str) -> str:
    mounts = container.attrs["Mounts"]
    assert len(mounts) == 1, mounts
    (mount,) = mounts
    assert mount["Type"] == "volume"
    assert mount["Destination"] == destination
    # anonymous volumes are named by 64 hex digits
    assert len(mount["Name"]) == 64 and all(c in "0123456789abcdef" for c in mount["Name"])
    return mount["Name"]


def test_postgres_keeps_data_in_anonymous_volume(images, run):
    c = run(images["postgres"])  # like Mastodon v1.3.2: no env, no volumes
    psql = ["psql", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-At", "-c"]
    wait_for(c, ["pg_isready", "-U", "postgres"])
    check(c, psql + ["CREATE TABLE toots (id int PRIMARY KEY, body text)"])
    check(c, psql + ["INSERT INTO toots SELECT g, 'toot ' || g FROM generate_series(1, 42) g"])

    stop_cleanly(c)
    volume = anonymous_volume(c, "/var/lib/postgresql/data")

    c.start()
    wait_for(c, ["pg_isready", "-U", "postgres"])
    assert check(c, psql + ["SELECT count(*) FROM toots"]).strip() == b"42"
    assert b"Skipping initialization" in c.logs()
    c.reload()
    assert anonymous_volume(c, "/var/lib/postgresql/data") == volume
    stop_cleanly(c)


def test_redis_dumps_on_sigterm_into_anonymous_volume(images, run):
    c = run(images["redis"])
    wait_for(c, ["redis-cli", "ping"], expect=b"PONG")
    for i in range(10):
        check(c, ["redis-cli", "SET", f"key:{i}", f"value {i}"])

    stop_cleanly(c)  # SIGTERM: redis saves before exiting
    volume = anonymous_volume(c, "/data")
    stream, _ = c.get_archive("/data")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        names = tar.getnames()
    assert "data/dump.rdb" in names, names

    c.start()
    wait_for(c, ["redis-cli", "ping"], expect=b"PONG")
    assert check(c, ["redis-cli", "GET", "key:7"]).strip() == b"value 7"
    c.reload()
    assert anonymous_volume(c, "/data") == volume
    stop_cleanly(c)

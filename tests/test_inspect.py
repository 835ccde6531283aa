"""`holdfast inspect` without an engine: the audit over fake container and volume data."""

from __future__ import annotations

import io
import json
import os
import tarfile
from typing import Any

import pytest
from holdfast.apply.host import LABEL_HELPER, ContainerFacts
from holdfast.apply.inspect import (
    PROBE_MOUNT,
    SIZE_TOKEN,
    EngineAccess,
    Inspector,
    Listing,
    container_path,
    identify,
    marker_table,
)
from holdfast.knowledge import default_knowledge
from holdfast.model import Severity
from holdfast.rules.live_host import (
    HOST_RULES,
    LiveBindSourceEmpty,
    LiveDataNotPersisted,
    OrphanedDataVolume,
)

ANON_PG = "a" * 64
ANON_REDIS = "b" * 64
ORPHAN = "c" * 64
RULES = {rule.code: rule for rule in HOST_RULES}
PG15_ENV = ["PG_MAJOR=15", "PGDATA=/var/lib/postgresql/data", "PATH=/usr/bin"]


# ------------------------------------------------------------------ fakes
def container(
    name: str,
    image: str,
    *,
    env: list[str] | None = None,
    cmd: list[str] | None = None,
    entrypoint: list[str] | None = None,
    mounts: list[dict[str, Any]] | None = None,
    tmpfs: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    status: str = "running",
    started: bool = True,
    image_id: str | None = None,
) -> dict[str, Any]:
    return {
        "Id": f"id-{name}",
        "Name": f"/{name}",
        "Image": image_id or f"sha256:{'1' * 64}",
        "Config": {"Image": image, "Env": env or [], "Cmd": cmd, "Entrypoint": entrypoint, "Labels": labels or {}},
        "HostConfig": {"Tmpfs": tmpfs} if tmpfs else {},
        "State": {"Status": status, "StartedAt": "2026-11-01T10:00:00Z" if started else "0001-01-01T00:00:00Z"},
        "Mounts": mounts or [],
    }


def compose(project: str, service: str, number: int = 1, sep: str = "_") -> dict[str, Any]:
    return {"name": f"{project}{sep}{service}{sep}{number}", "labels": {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.container-number": str(number),
        "com.docker.compose.oneoff": "False",
    }}


def anon(name: str, destination: str) -> dict[str, Any]:
    return {"Type": "volume", "Name": name, "Source": f"/var/lib/docker/volumes/{name}/_data", "Destination": destination, "RW": True}


def bind(source: str, destination: str) -> dict[str, Any]:
    return {"Type": "bind", "Source": source, "Destination": destination, "RW": True}


class FakeAccess:
    """Plain data in, calls recorded: stands in for `EngineAccess`."""

    def __init__(
        self,
        containers: list[dict[str, Any]] = (),
        volumes: list[dict[str, Any]] = (),
        dangling: set[str] = frozenset(),
        images: dict[str, dict[str, Any]] | None = None,
        dirs: dict[tuple[str, str], Listing] | None = None,
        contents: dict[str, Listing] | None = None,
        files: dict[str, bytes] | None = None,
        sizes: dict[str, int] | None = None,
        stale: list[str] = (),
    ):
        self._containers = list(containers)
        self._volumes = list(volumes)
        self._dangling = set(dangling)
        self.images = images if images is not None else {"img-plain": {"Id": "img-plain", "Os": "linux", "Config": {}, "RepoTags": ["base:1"]}}
        self.dirs = dirs or {}
        self.contents = contents or {}
        self.files = files or {}
        self.sizes = sizes or {}
        self.stale = list(stale)
        self.probes: dict[str, tuple[str, str, list[str]]] = {}
        self.removed: list[str] = []
        self.listed: list[tuple[str, str, int | None]] = []
        self.exists_calls: list[tuple[str, str]] = []

    def containers(self, projects=()):
        return [c for c in self._containers if not projects or (c["Config"]["Labels"] or {}).get("com.docker.compose.project") in projects]

    def volumes(self):
        names = {v["Name"] for v in self._volumes}
        return self._volumes + [{"Name": n, "Labels": None} for n in sorted(self._dangling - names)]

    def dangling(self):
        return set(self._dangling)

    def image(self, ref):
        return self.images.get(ref)

    def local_images(self):
        return list(self.images)

    def list_dir(self, container_id, path, max_entries=None, budget=0):
        self.listed.append((container_id, path, max_entries))
        if container_id in self.probes:
            assert path == PROBE_MOUNT
            return self.contents.get(self.probes[container_id][1], Listing([], True, 0))
        return self.dirs.get((container_id, path), Listing(missing=True))

    def exists(self, container_id, path):
        self.exists_calls.append((container_id, path))
        if container_id in self.probes:
            listing = self.contents.get(self.probes[container_id][1], Listing())
            return path[len(PROBE_MOUNT) + 1 :] in listing.names
        return (container_id, path) in self.dirs and not self.dirs[(container_id, path)].missing

    def read_file(self, container_id, path, limit=4096):
        volume = self.probes[container_id][1]
        return self.files.get(f"{volume}:{path[len(PROBE_MOUNT) + 1:]}")

    def create_probe(self, image_id, volume, tmpfs):
        probe = f"probe-{len(self.probes)}"
        self.probes[probe] = (image_id, volume, list(tmpfs))
        return probe

    def probe_volumes(self, container_id):
        return [self.probes[container_id][1]]

    def remove_probe(self, container_id):
        self.removed.append(container_id)

    def stale_probes(self, older_than):
        return list(self.stale)

    def volume_sizes(self):
        return dict(self.sizes)


def run(access: FakeAccess, rules: dict | None = None, **kwargs):
    inspector = Inspector(access, default_knowledge(), RULES if rules is None else rules, **kwargs)
    return inspector.run()


def codes(result) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in result.findings]


# --------------------------------------------------------------- HF501
def test_compose_v1_postgres_on_anonymous_volume_names_volume_and_size():
    c = compose("mastodon", "db")
    access = FakeAccess([container(c["name"], "postgres:alpine", env=PG15_ENV, cmd=["postgres"], entrypoint=["docker-entrypoint.sh"], labels=c["labels"], mounts=[anon(ANON_PG, "/var/lib/postgresql/data")])], sizes={ANON_PG: 41 * 1024 * 1024})
    result = run(access)
    assert codes(result) == [("HF501", "docker://mastodon/db")]
    finding = result.findings[0]
    assert finding.severity is Severity.ERROR and finding.service == "db"
    assert (finding.line, finding.column) == (1, 1)
    assert ANON_PG in finding.message and "41.0 MiB" in finding.message and "PostgreSQL 15" in finding.message
    assert "/var/lib/postgresql/data" in finding.message
    assert SIZE_TOKEN not in finding.message
    assert finding.data["volume"] == ANON_PG and finding.data["size"] == 41 * 1024 * 1024


def test_size_left_out_when_engine_does_not_say():
    c = compose("mastodon", "redis")
    access = FakeAccess([container(c["name"], "redis:alpine", env=["REDIS_VERSION=7.0.15"], cmd=["redis-server"], labels=c["labels"], mounts=[anon(ANON_REDIS, "/data")])])
    finding = run(access).findings[0]
    assert finding.message.startswith(f"Redis 7 data in /data is on anonymous volume {ANON_REDIS}: ")


def test_compose_v2_names_give_the_same_path():
    c = compose("mastodon", "db", sep="-")
    attrs = container(c["name"], "postgres:15", env=PG15_ENV, labels=c["labels"], mounts=[anon(ANON_PG, "/var/lib/postgresql/data")])
    assert c["name"] == "mastodon-db-1"
    assert codes(run(FakeAccess([attrs]))) == [("HF501", "docker://mastodon/db")]


def test_writable_layer_without_any_mount():
    attrs = container("search", "elasticsearch:8.15.0", env=["ES_JAVA_OPTS=-Xms1g"])
    result = run(FakeAccess([attrs]))
    assert codes(result) == [("HF501", "docker://search")]
    assert "writable layer" in result.findings[0].message
    assert result.findings[0].data["storage"] == "container-layer"


def test_container_without_compose_labels_is_named_by_container():
    attrs = container("pg-manual", "postgres:15", env=PG15_ENV, mounts=[anon(ANON_PG, "/var/lib/postgresql/data")], status="exited")
    finding = run(FakeAccess([attrs])).findings[0]
    assert finding.path == "docker://pg-manual" and finding.service == "pg-manual"
    assert finding.message.endswith("(container exited)")


def test_postgres_18_layout_comes_from_the_running_major():
    # a floating tag: the env of the running container says 18, so the data is in 18/docker
    attrs = container("pg18", "postgres:latest", env=["PG_MAJOR=18", "PATH=/usr/bin"], mounts=[
        bind("/srv/pg", "/var/lib/postgresql/data"),  # the <= 17 habit: does not hold 18's data
        anon(ANON_PG, "/var/lib/postgresql"),  # the image's VOLUME
    ])
    result = run(FakeAccess([attrs]))
    assert codes(result) == [("HF501", "docker://pg18")]
    assert result.findings[0].data["data_path"] == "/var/lib/postgresql/18/docker"
    assert "PostgreSQL 18" in result.findings[0].message


def test_postgres_18_with_bind_at_the_volume_root_is_persisted():
    attrs = container("pg18", "postgres:18", env=["PG_MAJOR=18", "PGDATA=/var/lib/postgresql/18/docker"], mounts=[bind("/srv/pg", "/var/lib/postgresql")])
    access = FakeAccess([attrs], dirs={("id-pg18", "/var/lib/postgresql/18/docker"): Listing(["PG_VERSION", "base"], False)})
    assert run(access).findings == []
    assert access.listed == [("id-pg18", "/var/lib/postgresql/18/docker", 2)]


def test_bind_on_parent_with_image_volume_deeper_is_reported():
    c = compose("app", "db")
    attrs = container(c["name"], "postgres:15", env=PG15_ENV, labels=c["labels"], mounts=[
        bind("/srv/app/pg", "/var/lib/postgresql"),
        anon(ANON_PG, "/var/lib/postgresql/data"),
    ])
    finding = run(FakeAccess([attrs])).findings[0]
    assert finding.code == "HF501"
    assert "the bind mount at /var/lib/postgresql does not hold it" in finding.message
    assert "VOLUME /var/lib/postgresql/data" in finding.message


@pytest.mark.parametrize("how", ["hostconfig", "mounts"])
def test_tmpfs_data_path_is_deliberate(how):
    kwargs: dict[str, Any] = {"tmpfs": {"/var/lib/postgresql/data": "size=256m"}} if how == "hostconfig" else {"mounts": [{"Type": "tmpfs", "Source": "", "Destination": "/var/lib/postgresql/data", "RW": True}]}
    attrs = container("ci-db", "postgres:15", env=PG15_ENV, **kwargs)
    assert run(FakeAccess([attrs])).findings == []


def test_named_volume_is_persisted():
    attrs = container("db", "postgres:15", env=PG15_ENV, mounts=[{"Type": "volume", "Name": "app_pgdata", "Destination": "/var/lib/postgresql/data"}])
    assert run(FakeAccess([attrs], volumes=[{"Name": "app_pgdata", "Labels": {"com.docker.compose.volume": "pgdata"}}])).findings == []


def test_anonymous_label_marks_a_short_name_anonymous():
    attrs = container("db", "postgres:15", env=PG15_ENV, mounts=[{"Type": "volume", "Name": "oddname", "Destination": "/var/lib/postgresql/data"}])
    access = FakeAccess([attrs], volumes=[{"Name": "oddname", "Labels": {"com.docker.volume.anonymous": ""}}])
    assert codes(run(access)) == [("HF501", "docker://db")]


def test_multiple_replicas_get_their_number():
    attrs = []
    for number in (1, 2, 3):
        c = compose("shop", "cache", number)
        attrs.append(container(c["name"], "redis:7", env=["REDIS_VERSION=7.2.4"], labels=c["labels"], mounts=[anon(f"{number}" * 64, "/data")]))
    result = run(FakeAccess(attrs))
    assert [f.path for f in result.findings] == ["docker://shop/cache", "docker://shop/cache/2", "docker://shop/cache/3"]
    assert len({f.fingerprint for f in result.findings}) == 3


def test_ephemeral_redis_is_skipped():
    attrs = container("cache", "redis:7", env=["REDIS_VERSION=7.2.4"], cmd=["redis-server", "--save", "", "--appendonly", "no"], mounts=[anon(ANON_REDIS, "/data")])
    assert run(FakeAccess([attrs])).findings == []


def test_client_command_is_not_a_server():
    attrs = container("psql-once", "postgres:15", env=PG15_ENV, cmd=["psql", "-h", "db"], mounts=[anon(ANON_PG, "/var/lib/postgresql/data")])
    assert run(FakeAccess([attrs])).findings == []


def test_holdfast_helpers_are_skipped():
    attrs = container("helper", "postgres:15", env=PG15_ENV, labels={LABEL_HELPER: "restore"}, status="created", started=False)
    result = run(FakeAccess([attrs]))
    assert result.findings == [] and result.inspected == []


def test_unknown_image_recognised_by_base_image_env():
    attrs = container("custom", "registry.example/team/custom-db:3", env=["PG_MAJOR=16", "PGDATA=/var/lib/postgresql/data"], mounts=[anon(ANON_PG, "/var/lib/postgresql/data")])
    finding = run(FakeAccess([attrs])).findings[0]
    assert finding.code == "HF501" and finding.data["recognised_by"] == "env PG_MAJOR"


def test_image_given_by_id_is_looked_up():
    image_id = "sha256:" + "9" * 64
    attrs = container("by-id", image_id, env=PG15_ENV, mounts=[anon(ANON_PG, "/var/lib/postgresql/data")], image_id=image_id)
    images = {image_id: {"Id": image_id, "Os": "linux", "Config": {}, "RepoTags": ["postgres:15"]}}
    finding = run(FakeAccess([attrs], images=images)).findings[0]
    assert finding.data["image"] == image_id and finding.data["kind"] == "postgres"


def test_project_filter():
    a, b = compose("one", "db"), compose("two", "db")
    access = FakeAccess([
        container(a["name"], "postgres:15", env=PG15_ENV, labels=a["labels"]),
        container(b["name"], "postgres:15", env=PG15_ENV, labels=b["labels"]),
        container("loose", "postgres:15", env=PG15_ENV),
    ])
    assert codes(run(access, projects=("two",))) == [("HF501", "docker://two/db")]


def test_severity_override_and_rule_selection():
    attrs = container("db", "postgres:15", env=PG15_ENV)
    assert run(FakeAccess([attrs]), severity={"HF501": Severity.WARNING}).findings[0].severity is Severity.WARNING
    assert run(FakeAccess([attrs]), rules={"HF502": LiveBindSourceEmpty}).findings == []


# --------------------------------------------------------------- HF502
def _bound(name: str, image: str, env: list[str], data: str, **kwargs: Any) -> dict[str, Any]:
    return container(name, image, env=env, mounts=[bind(f"/srv/{name}", data)], **kwargs)


def test_empty_bind_source_is_reported_through_the_daemon():
    attrs = _bound("db", "postgres:15", PG15_ENV, "/var/lib/postgresql/data", status="exited")
    access = FakeAccess([attrs], dirs={("id-db", "/var/lib/postgresql/data"): Listing([], True, 0)})
    result = run(access)
    assert codes(result) == [("HF502", "docker://db")]
    finding = result.findings[0]
    assert finding.severity is Severity.WARNING
    assert "/srv/db" in finding.message and "next start initialises a new empty PostgreSQL database" in finding.message
    assert access.listed == [("id-db", "/var/lib/postgresql/data", 2)]


def test_lost_and_found_alone_is_empty():
    attrs = _bound("db", "postgres:15", PG15_ENV, "/var/lib/postgresql/data")
    access = FakeAccess([attrs], dirs={("id-db", "/var/lib/postgresql/data"): Listing(["lost+found"], True, 0)})
    assert "keeps its data elsewhere" in run(access).findings[0].message


def test_non_empty_bind_is_fine():
    attrs = _bound("db", "postgres:15", PG15_ENV, "/var/lib/postgresql/data")
    access = FakeAccess([attrs], dirs={("id-db", "/var/lib/postgresql/data"): Listing(["PG_VERSION", "base"], False)})
    assert run(access).findings == []


def test_missing_data_path_under_a_parent_bind():
    attrs = container("pg18", "postgres:18", env=["PG_MAJOR=18"], mounts=[bind("/srv/pg", "/var/lib/postgresql")], status="exited")
    finding = run(FakeAccess([attrs])).findings[0]
    assert finding.code == "HF502"
    assert "/var/lib/postgresql/18/docker does not exist in the bind mount of /srv/pg" in finding.message


def test_running_redis_with_empty_bind_is_normal_until_its_first_save():
    attrs = _bound("cache", "redis:7", ["REDIS_VERSION=7.2.4"], "/data")
    empty = {("id-cache", "/data"): Listing([], True, 0)}
    assert run(FakeAccess([attrs], dirs=empty)).findings == []
    stopped = _bound("cache", "redis:7", ["REDIS_VERSION=7.2.4"], "/data", status="exited")
    assert codes(run(FakeAccess([stopped], dirs=empty))) == [("HF502", "docker://cache")]


def test_never_started_container_with_empty_bind():
    attrs = _bound("db", "mysql:8.4", ["MYSQL_MAJOR=8.4"], "/var/lib/mysql", status="created", started=False)
    access = FakeAccess([attrs], dirs={("id-db", "/var/lib/mysql"): Listing([], True, 0)})
    message = run(access).findings[0].message
    assert "first start initialises" in message and message.endswith("(container never started)")


# --------------------------------------------------------------- HF503
def test_orphaned_postgres_volume_is_named_with_its_version():
    access = FakeAccess(
        dangling={ORPHAN},
        volumes=[{"Name": ORPHAN, "Labels": None, "Driver": "local", "CreatedAt": "2026-11-20T08:00:00Z"}],
        contents={ORPHAN: Listing(["PG_VERSION", "base", "base/1", "global"], True, 41_000_000, dirs={"base", "base/1", "global"})},
        files={f"{ORPHAN}:PG_VERSION": b"15\n"},
    )
    result = run(access)
    assert codes(result) == [("HF503", f"docker://volume/{ORPHAN}")]
    finding = result.findings[0]
    assert finding.severity is Severity.WARNING and finding.service is None
    assert "anonymous volume holds PostgreSQL 15 data" in finding.message
    assert "PG_VERSION" in finding.message and "39.1 MiB" in finding.message and "volume prune" in finding.message
    # the helper: from a local image, the volume read-only at PROBE_MOUNT, removed afterwards
    assert list(access.probes.values()) == [("img-plain", ORPHAN, [])]
    assert access.removed == ["probe-0"]


def test_helper_prefers_an_image_without_volumes_and_covers_volumes_with_tmpfs():
    with_volume = {"Id": "img-pg", "Os": "linux", "Config": {"Volumes": {"/var/lib/postgresql/data": {}}}}
    access = FakeAccess(dangling={ORPHAN}, images={"img-pg": with_volume}, contents={ORPHAN: Listing(["dump.rdb"], True, 90)})
    finding = run(access).findings[0]
    assert "Redis data" in finding.message and "90 B" in finding.message
    assert list(access.probes.values()) == [("img-pg", ORPHAN, ["/var/lib/postgresql/data"])]
    plain = {"Id": "img-plain", "Os": "linux", "Config": {}}
    access = FakeAccess(dangling={ORPHAN}, images={"img-pg": with_volume, "img-plain": plain}, contents={ORPHAN: Listing(["dump.rdb"], True, 90)})
    run(access)
    assert list(access.probes.values()) == [("img-plain", ORPHAN, [])]


def test_postgres_18_volume_layout_and_directory_markers():
    pg18 = Listing(["18", "18/docker", "18/docker/PG_VERSION", "18/docker/base"], True, 10, dirs={"18", "18/docker", "18/docker/base"})
    access = FakeAccess(dangling={ORPHAN}, contents={ORPHAN: pg18}, files={f"{ORPHAN}:18/docker/PG_VERSION": b"18\n"})
    assert "PostgreSQL 18 data (found 18/docker/PG_VERSION" in run(access).findings[0].message
    mysql = Listing(["auto.cnf", "ibdata1", "mysql", "mysql/user.ibd"], True, 10, dirs={"mysql"})
    access = FakeAccess(dangling={ORPHAN}, contents={ORPHAN: mysql})
    assert "MySQL, MariaDB or Percona Server data (found mysql/" in run(access).findings[0].message


def test_volume_without_markers_is_not_reported():
    access = FakeAccess(dangling={ORPHAN}, contents={ORPHAN: Listing(["node_modules", "data"], True, 10, dirs={"node_modules", "data"})})
    result = run(access)
    assert result.findings == [] and access.removed == ["probe-0"]
    assert result.inspected == [f"docker://volume/{ORPHAN}"]


def test_big_volume_falls_back_to_asking_for_markers():
    access = FakeAccess(dangling={ORPHAN}, contents={ORPHAN: Listing(["#innodb_redo", "#innodb_redo/#ib_redo9", "mysql"], False, None)})
    access.contents[ORPHAN].names = ["#innodb_redo", "#innodb_redo/#ib_redo9"]  # the listing stopped before mysql/
    original = access.exists

    def exists(cid, path):
        return path == f"{PROBE_MOUNT}/mysql" or original(cid, path)

    access.exists = exists  # type: ignore[method-assign]
    finding = run(access).findings[0]
    assert "MySQL" in finding.message


def test_no_local_image_says_so_once():
    access = FakeAccess(dangling={ORPHAN, "d" * 64}, images={})
    result = run(access)
    assert result.findings == [] and access.probes == {}
    assert len(result.notices) == 1 and "2 dangling volumes not checked" in result.notices[0]


def test_helper_removed_even_when_listing_fails():
    access = FakeAccess(dangling={ORPHAN})

    def broken(*args, **kwargs):
        raise RuntimeError("archive refused")

    access.list_dir = broken  # type: ignore[method-assign]
    result = run(access)
    assert access.removed == ["probe-0"]
    assert result.findings == [] and "archive refused" in result.notices[0]


def test_volume_and_project_filters():
    labelled = {"Name": "shop_pgdata", "Labels": {"com.docker.compose.project": "shop"}}
    contents = {n: Listing(["PG_VERSION"], True, 3) for n in (ORPHAN, "shop_pgdata")}
    access = FakeAccess(dangling={ORPHAN, "shop_pgdata"}, volumes=[labelled], contents=contents)
    result = run(access, projects=("shop",))
    assert codes(result) == [("HF503", "docker://volume/shop_pgdata")]
    assert "orphaned volume holds" in result.findings[0].message and "compose project shop" in result.findings[0].message
    assert "--all" in result.findings[0].message
    access = FakeAccess(dangling={ORPHAN, "shop_pgdata"}, volumes=[labelled, {"Name": "busy", "Labels": {}}], contents=contents)
    result = run(access, volumes=(ORPHAN, "busy", "ghost"))
    assert codes(result) == [("HF503", f"docker://volume/{ORPHAN}")]
    assert result.notices == ["volume busy: used by a container, not orphaned", "volume ghost: no such volume"]
    assert codes(run(access, projects=("shop",), volumes=(ORPHAN,))) == [("HF503", f"docker://volume/{ORPHAN}")]


def test_hf503_not_selected_creates_no_helper():
    access = FakeAccess(dangling={ORPHAN}, contents={ORPHAN: Listing(["PG_VERSION"], True, 3)})
    assert run(access, rules={"HF501": LiveDataNotPersisted}).findings == []
    assert access.probes == {}


def test_stale_helpers_of_an_interrupted_run_are_removed():
    access = FakeAccess(stale=["old-helper"])
    run(access)
    assert access.removed == ["old-helper"]


def test_marker_table_and_identify():
    table = marker_table(default_knowledge())
    patterns = {(m.entry, m.pattern) for m in table}
    assert ("postgres", "PG_VERSION") in patterns and ("postgres", "*/docker/PG_VERSION") in patterns
    assert identify(["WiredTiger", "journal"], table).title == "MongoDB"
    assert identify(["mnesia"], table, {"mnesia"}).title == "RabbitMQ"
    assert identify(["nodes"], table, {"nodes"}).title == "Elasticsearch"
    assert identify(["appendonlydir"], table, {"appendonlydir"}).evidence == ["appendonlydir/"]
    assert identify(["data"], table) is None  # too generic alone
    assert identify(["random"], table) is None


# --------------------------------------------------------- EngineAccess
def _tar(names: list[tuple[str, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in names:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class _Stream:
    def __init__(self, data: bytes, chunk: int):
        self.chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
        self.taken = 0
        self.closed = False

    def __iter__(self):
        return self

    def __next__(self):
        if self.taken >= len(self.chunks):
            raise StopIteration
        self.taken += 1
        return self.chunks[self.taken - 1]

    def close(self):
        self.closed = True


class _Engine:
    def __init__(self, data: bytes):
        self.data = data
        self.streams: list[_Stream] = []
        self.client = type("C", (), {"api": object()})()

    def get_archive(self, container_id, path, chunk_size=1024):
        assert path.endswith("/.")
        stream = _Stream(self.data, 1024)
        self.streams.append(stream)
        return stream


def test_engine_access_lists_contents_and_stops_early():
    data = _tar([(".", None), ("./PG_VERSION", b"15\n"), ("./base", None), ("./big", b"x" * 50_000), ("./zz", b"1")])
    engine = _Engine(data)
    access = EngineAccess(engine)
    full = access.list_dir("c", "/var/lib/postgresql/data")
    assert full.complete and full.names == ["PG_VERSION", "base", "big", "zz"] and full.dirs == {"base"}
    assert full.file_bytes == 50_004
    first = access.list_dir("c", "/var/lib/postgresql/data", max_entries=2)
    assert first.names[:2] == ["PG_VERSION", "base"] and not first.complete
    assert engine.streams[-1].closed and engine.streams[-1].taken < len(engine.streams[-1].chunks)
    budget = access.list_dir("c", "/x", budget=2048)
    assert not budget.complete and budget.file_bytes is None


def test_container_path_helpers():
    facts = ContainerFacts.from_attrs(container("p_s_run_1", "x", labels={"com.docker.compose.project": "p", "com.docker.compose.service": "s", "com.docker.compose.oneoff": "True"}))
    assert container_path(facts) == "docker://p_s_run_1"  # one-off `compose run` containers go by name


# ----------------------------------------------------------------- rules
def test_rules_are_host_scoped_documented_and_silent_in_lint():
    for rule in HOST_RULES:
        assert rule.scope == "host"
        assert list(rule().check(None)) == []
        doc = rule.__doc__ or ""
        for section in ("## What it does", "## Why it matters", "## Example", "## Use instead", "## Fix", "## References"):
            assert section in doc, (rule.code, section)
    assert [r.code for r in HOST_RULES] == ["HF501", "HF502", "HF503", "HF504"]
    assert LiveDataNotPersisted.severity is Severity.ERROR and OrphanedDataVolume.severity is Severity.WARNING


def test_lint_never_runs_host_rules(tmp_path):
    from holdfast.config import Config
    from holdfast.discovery import ProjectFiles
    from holdfast.engine import Linter

    class Loud(LiveDataNotPersisted):
        def check(self, ctx):
            raise AssertionError("a host rule ran in lint")

    path = tmp_path / "compose.yml"
    path.write_text("services:\n  db:\n    image: postgres:15\n")
    linter = Linter(Config(), with_fixes=False)
    linter.rules = dict(linter.rules, HF501=Loud)
    result = linter.lint_files(ProjectFiles([str(path)], {str(path)}))
    assert not any(f.code.startswith("HF5") for f in result.findings)
    assert not any("HF501" in n for n in linter.notices)


# ------------------------------------------------------------------- CLI
class _Endpoint:
    url = "unix:///fake.sock"
    source = "--host"


class _FakeEngine:
    endpoint = _Endpoint()

    class client:  # noqa: N801
        @staticmethod
        def close():
            pass


@pytest.fixture
def cli(monkeypatch, tmp_path):
    import holdfast.apply.inspect as inspect_module
    from holdfast.apply import inspect_cli
    from holdfast.cli import main

    monkeypatch.chdir(tmp_path)
    state: dict[str, Any] = {"access": FakeAccess()}
    monkeypatch.setattr(inspect_cli, "connect", lambda host, context: _FakeEngine())
    monkeypatch.setattr(inspect_module, "EngineAccess", lambda engine: state["access"])

    def invoke(*args: str) -> int:
        with pytest.raises(SystemExit) as exit_info:
            main(["inspect", *args])
        return exit_info.value.code

    invoke.state = state  # type: ignore[attr-defined]
    return invoke


def test_cli_exit_codes_and_json(cli, capsys):
    assert cli() == 0
    assert "All checks passed." in capsys.readouterr().out
    cli.state["access"] = FakeAccess([container("db", "postgres:15", env=PG15_ENV)])
    assert cli("--format", "json") == 1
    document = json.loads(capsys.readouterr().out)
    assert [(f["code"], f["path"], f["line"]) for f in document["findings"]] == [("HF501", "docker://db", 1)]
    assert document["summary"]["files"] == 1
    assert cli("--exit-zero") == 0
    capsys.readouterr()


def test_cli_fail_level_and_warning_findings(cli, capsys):
    cli.state["access"] = FakeAccess(dangling={ORPHAN}, contents={ORPHAN: Listing(["PG_VERSION"], True, 3)})
    assert cli() == 0  # a warning is below the default fail level
    assert cli("--fail-level", "warning") == 1
    capsys.readouterr()
    assert cli("--format", "sarif") == 0
    sarif = json.loads(capsys.readouterr().out)
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"HF501", "HF502", "HF503"} <= rule_ids


def test_cli_output_file_and_formats(cli, tmp_path, capsys):
    cli.state["access"] = FakeAccess([container("db", "postgres:15", env=PG15_ENV)])
    out = tmp_path / "report.json"
    assert cli("--format", "gitlab", "-o", str(out)) == 1
    assert json.loads(out.read_text())[0]["check_name"] == "HF501"
    for name in ("text", "concise", "github"):
        assert cli("--format", name) == 1
        assert "HF501" in capsys.readouterr().out


def test_cli_config_ignores_a_rule(cli, tmp_path):
    (tmp_path / ".holdfast.toml").write_text('ignore = ["HF501"]\n')
    cli.state["access"] = FakeAccess([container("db", "postgres:15", env=PG15_ENV)])
    assert cli() == 0


def test_cli_usage_errors(cli, capsys):
    assert cli("--format", "xml") == 2
    assert "unknown format" in capsys.readouterr().err
    assert cli("--project", "x", "--bogus") == 2


def test_cli_unreachable_engine_is_one_line_exit_2(monkeypatch, capsys):
    from holdfast.apply.errors import EngineUnavailable
    from holdfast.apply.host import Engine
    from holdfast.cli import main

    def refuse(host=None, timeout=0):
        raise EngineUnavailable(f"no Docker engine answers at {host} (--host): Connection refused\n(details)")

    monkeypatch.setattr(Engine, "connect", classmethod(lambda cls, host=None, timeout=0: refuse(host)))
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", "--host", "tcp://10.0.0.9:2375"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tcp://10.0.0.9:2375" in err and "Connection refused" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", "--host", "tcp://x:1", "--context", "prod"])
    assert exit_info.value.code == 2 and "mutually exclusive" in capsys.readouterr().err


def test_context_option_wins_over_docker_host_and_is_restored(monkeypatch):
    from holdfast.apply import inspect_cli
    from holdfast.apply.host import Engine

    seen = {}
    monkeypatch.setenv("DOCKER_HOST", "tcp://elsewhere:2375")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)

    def fake_connect(cls, host=None, timeout=0):
        seen.update(host=host, context=os.environ.get("DOCKER_CONTEXT"), docker_host=os.environ.get("DOCKER_HOST"))
        return "engine"

    monkeypatch.setattr(Engine, "connect", classmethod(fake_connect))
    assert inspect_cli.connect(None, "prod") == "engine"
    assert seen == {"host": None, "context": "prod", "docker_host": None}
    assert os.environ["DOCKER_HOST"] == "tcp://elsewhere:2375" and "DOCKER_CONTEXT" not in os.environ


# --------------------------------------------------------------- HF504
def _trap(old_created: str = "2026-11-01T08:00:00Z", old_contents: list[str] | None = None, dangling: bool = True):
    labels = compose("shop-prod", "db")["labels"]
    attrs = container("shop-prod-db-1", "postgres:15", env=PG15_ENV, labels=labels,
                      mounts=[{"Type": "volume", "Name": "shop-prod_pgdata", "Destination": "/var/lib/postgresql/data"}])
    volumes = [
        {"Name": "shop-prod_pgdata", "Labels": {"com.docker.compose.project": "shop-prod", "com.docker.compose.volume": "pgdata"}, "CreatedAt": "2026-11-30T09:00:00Z"},
        {"Name": "shop_pgdata", "Labels": {"com.docker.compose.project": "shop", "com.docker.compose.volume": "pgdata"}, "CreatedAt": old_created},
        {"Name": "blog_redis", "Labels": {"com.docker.compose.project": "blog", "com.docker.compose.volume": "redis"}, "CreatedAt": "2026-10-01T08:00:00Z"},
    ]
    contents = {"shop_pgdata": Listing(old_contents if old_contents is not None else ["PG_VERSION", "base", "global"], True, 1000, dirs={"base", "global"})}
    return FakeAccess([attrs], volumes=volumes, dangling={"shop_pgdata", "blog_redis"} if dangling else {"blog_redis"}, contents=contents)


def test_hf504_renamed_project_names_both_volumes_and_the_fix():
    access = _trap()
    result = run(access, {"HF504": RULES["HF504"]})
    assert codes(result) == [("HF504", "docker://shop-prod/db")]
    message = result.findings[0].message
    assert "shop-prod_pgdata" in message and "shop_pgdata" in message and "`name: shop`" in message
    assert result.findings[0].data["other_project"] == "shop"
    assert [v for _, v, _ in access.probes.values()] == ["shop_pgdata"]  # only the candidate was looked into
    assert access.removed == ["probe-0"]


def test_hf504_quiet_when_the_other_volume_is_newer_empty_or_in_use():
    assert run(_trap(old_created="2026-12-01T08:00:00Z"), {"HF504": RULES["HF504"]}).findings == []
    assert run(_trap(old_contents=["readme.txt"]), {"HF504": RULES["HF504"]}).findings == []
    assert run(_trap(dangling=False), {"HF504": RULES["HF504"]}).findings == []


# ------------------------------------------------- engine facts (images the knowledge lacks)
APP_IMAGE_ID = "sha256:" + "7" * 64
APP_IMAGE = {"Id": APP_IMAGE_ID, "Os": "linux", "RepoTags": ["acme/notes:3"], "Config": {"Volumes": {"/srv/appdata": {}, "/tmp": {}}, "Env": ["PATH=/bin"], "User": "1000"}}


def test_unknown_image_with_a_declared_volume_on_an_anonymous_volume_is_reported_with_the_path_and_the_fix():
    c = compose("notes", "app")
    attrs = container(c["name"], "acme/notes:3", cmd=["notes-server"], labels=c["labels"], image_id=APP_IMAGE_ID, mounts=[anon(ANON_PG, "/srv/appdata"), anon(ANON_REDIS, "/tmp")])
    access = FakeAccess([attrs], images={APP_IMAGE_ID: APP_IMAGE})
    [finding] = run(access).findings
    assert (finding.code, finding.path, finding.yaml_path) == ("HF501", "docker://notes/app", ("/srv/appdata",))
    assert finding.data["recognised_by"] == "image VOLUME" and finding.data["volume"] == ANON_PG and finding.data["data_path"] == "/srv/appdata"
    assert finding.message.startswith("acme/notes (declared VOLUME) data in /srv/appdata is on anonymous volume")
    assert "mount a bind or named volume at /srv/appdata" in finding.message and "holdfast fix --apply" in finding.message


def test_unknown_image_with_its_volume_persisted_or_without_data_volumes_is_quiet():
    persisted = container("notes-ok", "acme/notes:3", image_id=APP_IMAGE_ID, mounts=[bind("/srv/notes", "/srv/appdata")])
    assert run(FakeAccess([persisted], images={APP_IMAGE_ID: APP_IMAGE})).findings == []
    scratch_id = "sha256:" + "6" * 64
    scratch = {"Id": scratch_id, "Os": "linux", "Config": {"Volumes": {"/var/log/proxy": {}, "/var/cache/proxy": {}}}}
    proxy = container("proxy", "acme/proxy:1", image_id=scratch_id, mounts=[anon(ANON_PG, "/var/log/proxy")])
    assert run(FakeAccess([proxy], images={scratch_id: scratch})).findings == []
    absent = container("gone", "acme/gone:1", image_id="sha256:" + "5" * 64, mounts=[anon(ANON_PG, "/srv/appdata")])
    assert run(FakeAccess([absent], images={})).findings == []  # the image is not on the engine: nothing known


def test_known_images_keep_their_knowledge_over_declared_volumes():
    image_id = "sha256:" + "4" * 64
    images = {image_id: {"Id": image_id, "Os": "linux", "Config": {"Volumes": {"/var/lib/postgresql/data": {}, "/srv/extra": {}}}}}
    attrs = container("pg", "postgres:16", env=PG15_ENV, image_id=image_id, mounts=[anon(ANON_PG, "/var/lib/postgresql/data"), anon(ANON_REDIS, "/srv/extra")])
    [finding] = run(FakeAccess([attrs], images=images)).findings
    assert finding.data["kind"] == "postgres" and finding.data["data_path"] == "/var/lib/postgresql/data"


def test_unknown_image_data_in_the_writable_layer_says_where_to_mount():
    attrs = container("notes-layer", "acme/notes:3", image_id=APP_IMAGE_ID, tmpfs={"/tmp": ""})
    [finding] = run(FakeAccess([attrs], images={APP_IMAGE_ID: APP_IMAGE})).findings
    assert finding.data["storage"] == "container-layer" and "at /srv/appdata" in finding.message


def test_derivative_whose_image_env_moves_pgdata_is_judged_at_the_moved_path():
    """A container's Env includes its image's: `ENV PGDATA=/srv/pg` in a derivative moves the data path, and the
    base image's VOLUME (an anonymous volume at the old path) does not hold it."""
    attrs = container("custom-pg", "registry.example/team/pg-custom:2", env=["PG_MAJOR=16", "PGDATA=/srv/pg"], cmd=["postgres"], mounts=[anon(ANON_PG, "/var/lib/postgresql/data")])
    [finding] = run(FakeAccess([attrs])).findings
    assert (finding.code, finding.data["data_path"], finding.data["storage"]) == ("HF501", "/srv/pg", "container-layer")
    assert finding.data["recognised_by"] == "env PG_MAJOR"


def test_derivative_present_on_the_engine_is_told_the_same_way_as_plan_tells_it():
    image_id = "sha256:" + "3" * 64
    own = {"Id": image_id, "Os": "linux", "Config": {"Env": ["PG_MAJOR=16", "PGDATA=/srv/pg"], "Volumes": {"/var/lib/postgresql/data": {}}}}
    attrs = container("pg-custom", "team/pg-custom:2", env=["PG_MAJOR=16", "PGDATA=/srv/pg"], image_id=image_id, mounts=[anon(ANON_PG, "/srv/pg")])
    [finding] = run(FakeAccess([attrs], images={image_id: own})).findings
    assert (finding.data["recognised_by"], finding.data["data_path"], finding.data["storage"]) == ("env PG_MAJOR", "/srv/pg", "anonymous")
    assert finding.message.startswith("PostgreSQL 16 data in /srv/pg")
    plus = {"Id": image_id, "Os": "linux", "Config": {"Env": ["REDIS_VERSION=7.2.4"], "Volumes": {"/data": {}, "/srv/store": {}}}}
    attrs = container("redis-plus", "team/redis-plus:1", env=["REDIS_VERSION=7.2.4"], image_id=image_id, mounts=[anon(ANON_REDIS, "/data"), anon(ANON_PG, "/srv/store")])
    found = run(FakeAccess([attrs], images={image_id: plus})).findings
    assert [(f.data["recognised_by"], f.data["data_path"]) for f in found] == [("image VOLUME", "/data"), ("image VOLUME", "/srv/store")]

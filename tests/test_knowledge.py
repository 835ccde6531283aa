"""Tests for holdfast.knowledge: image references, layouts by version, overrides,
ephemeral detection, user configuration, and the hand-labelled corpus rows."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

try:
    import holdfast.knowledge  # noqa: F401
except ImportError:  # pragma: no cover - fallback only until the package is installed
    # FALLBACK: `lint/` is the `holdfast` package once pyproject.toml is installed
    # (`pip install -e .`).  Before that, expose it under its package name through a
    # symlink in a temporary directory put on sys.path.
    _tmp = tempfile.mkdtemp(prefix="holdfast-path-")
    os.symlink(Path(__file__).resolve().parents[1] / "lint", os.path.join(_tmp, "holdfast"))
    sys.path.insert(0, _tmp)

from holdfast.knowledge import (  # noqa: E402
    DataPath,
    ImageEntry,
    ImageRef,
    Knowledge,
    LayoutRule,
    ResolvedImage,
    builtin_entries,
    default_knowledge,
    entry_from_config,
)

from support import SHARED  # noqa: E402  (../shared beside the repository)

LABELS = SHARED / "corpus" / "public" / "LABELS.tsv"
CORPUS = LABELS.parent


def resolve(image: str, **kw) -> ResolvedImage:
    r = default_knowledge().resolve(image, **kw)
    assert r is not None, f"{image} is not recognised"
    return r


def paths(r: ResolvedImage, role: str = "data") -> list[list[tuple[str, str]]]:
    return [[(d.path, d.mount_target) for d in layout.data_paths if d.role == role] for layout in r.layouts]


def flat_paths(r: ResolvedImage, role: str = "data") -> set[str]:
    return {p for layout in paths(r, role) for pair in layout for p in pair}


# --------------------------------------------------------------------------- ImageRef


@pytest.mark.parametrize(
    "raw, registry, repository, tag, digest",
    [
        ("postgres", None, "library/postgres", None, None),
        ("postgres:16-alpine", None, "library/postgres", "16-alpine", None),
        ("docker.io/library/postgres:18", "docker.io", "library/postgres", "18", None),
        ("docker.io/postgres:16", "docker.io", "library/postgres", "16", None),
        ("index.docker.io/library/redis", "docker.io", "library/redis", None, None),
        ("bitnami/redis:6.0-debian-10", None, "bitnami/redis", "6.0-debian-10", None),
        ("localhost:5000/postgres:16", "localhost:5000", "postgres", "16", None),
        ("localhost/myimg", "localhost", "myimg", None, None),
        ("registry.example.com:5000/team/db:1.2", "registry.example.com:5000", "team/db", "1.2", None),
        (
            "ghcr.io/immich-app/postgres:14-vectorchord0.4.3-pgvectors0.2.0@sha256:32324a2f",
            "ghcr.io",
            "immich-app/postgres",
            "14-vectorchord0.4.3-pgvectors0.2.0",
            "sha256:32324a2f",
        ),
        ("valkey/valkey@sha256:abc", None, "valkey/valkey", None, "sha256:abc"),
        ("mcr.microsoft.com/mssql/server:2022-latest", "mcr.microsoft.com", "mssql/server", "2022-latest", None),
        ("postgres:${POSTGRES_VERSION:-14}-alpine", None, "library/postgres", "${POSTGRES_VERSION:-14}-alpine", None),
        ("${REGISTRY:-docker.io}/library/redis:7", "${registry:-docker.io}", "library/redis", "7", None),
        ("", None, "", None, None),
        ("  Postgres:16  ", None, "library/postgres", "16", None),
    ],
)
def test_image_ref_parse(raw, registry, repository, tag, digest):
    ref = ImageRef.parse(raw)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert ref.raw == raw


def test_image_ref_name_and_equivalence():
    assert ImageRef.parse("ghcr.io/immich-app/postgres:14").name == "postgres"
    assert ImageRef.parse("docker.io/library/x").repository == ImageRef.parse("x").repository
    assert ImageRef.parse("").name == ""


@pytest.mark.parametrize("garbage", [None, 42, ":::", "@", "/", "a/b/c/d:e@f@g", "${X}"])
def test_image_ref_parse_never_raises(garbage):
    ImageRef.parse(garbage)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "image",
    [
        "localhost:5000/postgres:16",  # a local mirror of an official image
        "public.ecr.aws/docker/library/postgres:16",  # pull-through cache prefix
        "mirror.gcr.io/library/postgres",
        "docker.io/library/postgres",
    ],
)
def test_mirrors_of_official_images_match(image):
    assert default_knowledge().match(image).id == "postgres"


# --------------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    "image, major, floating",
    [
        ("postgres", None, True),
        ("postgres:latest", None, True),
        ("postgres:alpine", None, True),
        ("postgres:bookworm", None, True),
        ("mariadb:lts", None, True),
        ("rabbitmq:management", None, True),
        ("postgres:9.6-alpine", 9, False),
        ("postgres:16.4", 16, False),
        ("postgres:16", 16, False),
        ("ghcr.io/immich-app/postgres:14-vectorchord0.4.3-pgvectors0.2.0", 14, False),
        ("supabase/postgres:15.8.1.085", 15, False),
        ("mariadb:10-focal", 10, False),
        ("redis:7-alpine", 7, False),
        ("redis:8-alpine", 8, False),
        ("mysql:8.0", 8, False),
        ("influxdb:3-core", 3, False),
        ("docker.redpanda.com/vectorized/redpanda:v22.2.2", 22, False),
        ("quay.io/minio/minio:RELEASE.2025-09-06T17-38-46Z", None, False),
        ("postgres:${POSTGRES_TAG}", None, False),  # unresolved: unknown, not floating
        ("valkey/valkey@sha256:abcdef", None, False),  # a digest pins
        ("docker.io/valkey/valkey:8-bookworm@sha256:a137", 8, False),
        ("timescale/timescaledb:2.14.2-pg16", 16, False),  # pgNN beats the extension version
        ("timescale/timescaledb:latest-pg17", 17, False),
        ("pgvector/pgvector:pg16", 16, False),
        ("mailcow/solr:nightly-20231011", None, False),  # dated build is pinned
    ],
)
def test_major_and_floating(image, major, floating):
    r = resolve(image)
    assert (r.major, r.floating) == (major, floating)


def test_major_argument_and_version_env_override_the_tag():
    r = resolve("postgres:alpine", major=15)
    assert r.major == 15 and [layout.label for layout in r.layouts] == ["postgres <= 17"]
    r = resolve("postgres:latest", env={"PG_MAJOR": "18"})
    assert r.major == 18 and paths(r) == [[("/var/lib/postgresql/18/docker", "/var/lib/postgresql")]]
    r = resolve("mariadb:lts", env={"MARIADB_VERSION": "1:10.11.8+maria~ubu2204"})
    assert r.major == 10
    assert r.readiness[0] == "mysqladmin"
    assert resolve("postgres:16", major=18).major == 18


# --------------------------------------------------------------------------- postgres layouts


def test_postgres_17_and_older_layout():
    for image in ("postgres:17", "postgres:9.6-alpine", "docker.io/postgres:16-alpine"):
        r = resolve(image)
        assert len(r.layouts) == 1
        layout = r.layouts[0]
        assert layout.label == "postgres <= 17"
        assert paths(r) == [[("/var/lib/postgresql/data", "/var/lib/postgresql/data")]]
        assert layout.image_volumes == ("/var/lib/postgresql/data",)


def test_postgres_18_layout():
    r = resolve("docker.io/library/postgres:18")
    assert [layout.label for layout in r.layouts] == ["postgres >= 18"]
    assert paths(r) == [[("/var/lib/postgresql/18/docker", "/var/lib/postgresql")]]
    assert r.layouts[0].image_volumes == ("/var/lib/postgresql",)
    assert paths(resolve("postgres:19-trixie")) == [[("/var/lib/postgresql/19/docker", "/var/lib/postgresql")]]


@pytest.mark.parametrize("image", ["postgres", "postgres:latest", "postgres:alpine"])
def test_floating_postgres_has_both_layouts_newest_first(image):
    r = resolve(image)
    assert r.floating and r.major is None
    assert [layout.label for layout in r.layouts] == ["postgres >= 18", "postgres <= 17"]
    assert paths(r) == [
        [("/var/lib/postgresql/18/docker", "/var/lib/postgresql")],
        [("/var/lib/postgresql/data", "/var/lib/postgresql/data")],
    ]
    assert any("major" in note for note in r.notes)


def test_postgres_derivatives_share_the_layout():
    for image in ("postgis/postgis:16-3.4", "pgvector/pgvector:pg16", "bonitasoft/bonita-postgres:16.4",
                  "ghcr.io/immich-app/postgres:14-vectorchord0.4.3-pgvectors0.2.0@sha256:3232"):
        r = resolve(image)
        assert r.kind == "postgres" and paths(r) == [[("/var/lib/postgresql/data", "/var/lib/postgresql/data")]]


def test_pgdata_inside_the_image_volume_keeps_the_volume_as_mount_target():
    r = resolve("postgres:14.5", env={"PGDATA": "/var/lib/postgresql/data/pgdata"})
    dp = r.layouts[0].data_paths[0]
    assert (dp.path, dp.mount_target, dp.origin) == (
        "/var/lib/postgresql/data/pgdata",
        "/var/lib/postgresql/data",
        "env PGDATA",
    )
    r = resolve("postgres:18", env={"PGDATA": "/var/lib/postgresql/data/pgdata"})
    assert paths(r) == [[("/var/lib/postgresql/data/pgdata", "/var/lib/postgresql")]]


def test_pgdata_outside_the_volume_is_its_own_mount_target():
    r = resolve("postgres", env={"PGDATA": "/srv/pgdata/"})
    assert paths(r) == [[("/srv/pgdata", "/srv/pgdata")], [("/srv/pgdata", "/srv/pgdata")]]
    # the layouts still differ by the VOLUME the image declares
    assert [layout.image_volumes for layout in r.layouts] == [("/var/lib/postgresql",), ("/var/lib/postgresql/data",)]


def test_postgres_command_flags_move_the_data():
    assert paths(resolve("postgres:16", command="postgres -D /pg/data")) == [[("/pg/data", "/pg/data")]]
    r = resolve("postgres:16", command=["postgres", "-c", "data_directory=/pg/x", "-c", "max_connections=200"])
    assert paths(r) == [[("/pg/x", "/pg/x")]]
    # -c settings that are not data_directory change nothing
    assert flat_paths(resolve("postgres:16", command="-c shared_buffers=256MB")) == {"/var/lib/postgresql/data"}


def test_postgres_waldir_adds_a_data_path():
    r = resolve("postgres:16", env={"POSTGRES_INITDB_WALDIR": "/wal"})
    assert paths(r) == [[("/var/lib/postgresql/data", "/var/lib/postgresql/data"), ("/wal", "/wal")]]


def test_postgres_facts_for_the_live_host():
    r = resolve("postgres:16-alpine", env={"POSTGRES_USER": "mastodon"})
    assert r.readiness == ("pg_isready", "-h", "127.0.0.1", "-U", "mastodon")
    assert r.user == "70:70" and resolve("postgres:16").user == "999:999"
    assert r.probe == "postgres" and r.init_markers == ("PG_VERSION",)
    assert r.version_env == ("PG_MAJOR", "PG_VERSION")
    assert r.stop_grace_seconds >= 120
    assert resolve("postgres", env={"POSTGRES_USER": "${DB_USER}"}).readiness[-1] == "postgres"


def test_bitnami_postgres_mounts_the_volume_directory():
    r = resolve("docker.io/bitnami/postgresql:11-debian-10")
    assert r.kind == "bitnami-postgresql"
    assert paths(r) == [[("/bitnami/postgresql/data", "/bitnami/postgresql")]]
    assert r.user == "1001:0"
    assert resolve("bitnamilegacy/postgresql:17").kind == "bitnami-postgresql"


# --------------------------------------------------------------------------- other overrides


def test_redis_dir_flag_and_wrappers():
    assert paths(resolve("redis:7", command="redis-server --dir /srv")) == [[("/srv", "/srv")]]
    assert paths(resolve("redis:7", command=["redis-server", "--dir=/data/sub"])) == [[("/data/sub", "/data")]]
    assert paths(resolve("redis:7", command="--dir relative")) == [[("/data/relative", "/data")]]
    r = resolve("redis:7", command=["sh", "-c", "exec redis-server --appendonly yes --dir /cache"])
    assert paths(r) == [[("/cache", "/cache")]]
    r = resolve("redis:7", entrypoint=["docker-entrypoint.sh"], command=["redis-server", "--dir", "/x"])
    assert paths(r) == [[("/x", "/x")]]
    r = resolve("redis:7", command="redis-server --dir $REDIS_DIR")
    assert flat_paths(r) == {"/data"} and any("unresolved" in n for n in r.notes)


def test_redis_facts():
    r = resolve("redis:7-alpine")
    assert r.major == 7 and r.user == "999:1000" and r.probe == "redis"
    assert r.readiness == ("redis-cli", "ping")
    assert "dump.rdb" in r.init_markers and "appendonlydir" in r.init_markers
    v = resolve("docker.io/valkey/valkey:8.0-alpine")
    assert v.kind == "valkey" and v.readiness[0] == "valkey-cli" and v.probe == "redis"


def test_mongo_dbpath_and_configsvr():
    r = resolve("mongo:7", command="mongod --dbpath /srv/mongo")
    assert paths(r) == [[("/srv/mongo", "/srv/mongo")]]
    r = resolve("mongo:7")
    assert paths(r) == [[("/data/db", "/data/db")]]
    assert r.layouts[0].image_volumes == ("/data/db", "/data/configdb")
    assert paths(resolve("mongo:7", command="--configsvr --replSet cfg")) == [[("/data/configdb", "/data/configdb")]]
    assert resolve("mongo:4.2.0").readiness[0] == "mongo"
    assert resolve("mongo").readiness == ("mongosh", "--quiet", "--eval", "db.runCommand({ping:1})")


@pytest.mark.parametrize("image", ["mysql:8.0", "mariadb:11.8", "percona"])
def test_mysql_family_datadir(image):
    assert paths(resolve(image, command="--datadir=/srv/mysql")) == [[("/srv/mysql", "/srv/mysql")]]
    assert paths(resolve(image, command=["mysqld", "--datadir", "/var/lib/mysql/inner"])) == [
        [("/var/lib/mysql/inner", "/var/lib/mysql")]
    ]
    r = resolve(image, command="--transaction-isolation=READ-COMMITTED --binlog-format=ROW")
    assert paths(r) == [[("/var/lib/mysql", "/var/lib/mysql")]]
    assert r.init_markers == ("mysql",) and r.probe == "mysql"


def test_mariadb_readiness_follows_the_version():
    assert resolve("mariadb:10.6.4-focal").readiness[0] == "mysqladmin"
    assert resolve("mariadb:11.8").readiness[0] == "mariadb-admin"
    assert resolve("mariadb:lts").readiness[0] == "mariadb-admin"


def test_zookeeper_needs_data_and_datalog():
    r = resolve("zookeeper")
    assert paths(r) == [[("/data", "/data"), ("/datalog", "/datalog")]]
    assert paths(r, "logs") == [[("/logs", "/logs")]]
    r = resolve("zookeeper:3.9", env={"ZOO_DATA_LOG_DIR": "/txlog"})
    assert paths(r) == [[("/data", "/data"), ("/txlog", "/txlog")]]
    r = resolve("confluentinc/cp-zookeeper:7.8.0")
    assert paths(r) == [[("/var/lib/zookeeper/data",) * 2, ("/var/lib/zookeeper/log",) * 2]]


def test_minio_drives_from_the_command():
    r = resolve("quay.io/minio/minio:RELEASE.2025-09-06T17-38-46Z",
                command='server --console-address ":9001" http://minio{1...4}/data{1...2}')
    assert paths(r) == [[("/data1", "/data1"), ("/data2", "/data2")]]
    assert paths(resolve("minio/minio", command="server /data/minio/ --console-address :9001")) == [
        [("/data/minio", "/data")]
    ]
    assert paths(resolve("minio/minio", command="minio server /minio_data")) == [[("/minio_data", "/minio_data")]]
    assert paths(resolve("minio/minio", command="server /mnt/disk{1...3}")) == [
        [("/mnt/disk1",) * 2, ("/mnt/disk2",) * 2, ("/mnt/disk3",) * 2]
    ]
    r = resolve("minio/minio", command="server --console-address :9001", env={"MINIO_VOLUMES": "/mnt/data"})
    assert paths(r) == [[("/mnt/data", "/mnt/data")]]
    assert paths(resolve("minio/minio")) == [[("/data", "/data")]]


def test_command_and_env_driven_stores():
    r = resolve("surrealdb/surrealdb:v2", command="start --user root --pass root --bind 0.0.0.0:8000 rocksdb:/data/database.db")
    assert paths(r) == [[("/data/database.db", "/data")]]
    assert resolve("surrealdb/surrealdb:v2", command="start --user root memory").ephemeral
    assert resolve("surrealdb/surrealdb:v2", command="start --user root").ephemeral
    assert paths(resolve("typesense/typesense:27.0", env={"TYPESENSE_DATA_DIR": "/ts"})) == [[("/ts", "/ts")]]
    assert paths(resolve("typesense/typesense:27.0", command="--data-dir /tsdata --api-key=x")) == [[("/tsdata",) * 2]]
    assert paths(resolve("quay.io/coreos/etcd:v3.5.0", command="etcd --data-dir /etcd-data")) == [[("/etcd-data",) * 2]]
    assert paths(resolve("quay.io/coreos/etcd:v3.5.0", command="etcd --name node1")) == [
        [("/var/lib/etcd/node1.etcd", "/var/lib/etcd")]
    ]
    r = resolve("chrislusf/seaweedfs:4.40", entrypoint="weed", command="mini -dir=/data -volume.dir.idx=/data/idx")
    assert paths(r) == [[("/data", "/data")]]
    assert paths(resolve("chrislusf/seaweedfs", command="server -dir=/d1,/d2")) == [[("/d1",) * 2, ("/d2",) * 2]]
    r = resolve("influxdb:3-core", command=["influxdb3", "serve", "--object-store=file", "--data-dir=/var/lib/influxdb3/data"])
    # inside the layout's usual mount target (no VOLUME there): a mount at either place persists it
    assert paths(r) == [[("/var/lib/influxdb3/data", "/var/lib/influxdb3")]]
    assert resolve("influxdb:3-core", command="influxdb3 serve --object-store memory").ephemeral
    assert paths(resolve("influxdb:2.7")) == [[("/var/lib/influxdb2", "/var/lib/influxdb2")]]
    assert paths(resolve("influxdb:2.7"), "config") == [[("/etc/influxdb2", "/etc/influxdb2")]]
    assert [layout.label for layout in resolve("influxdb").layouts] == ["influxdb 2", "influxdb 3"]
    assert paths(resolve("registry:2", env={"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/registry"})) == [
        [("/registry", "/registry")]
    ]
    assert paths(resolve("prom/prometheus", command=["--storage.tsdb.path=/tsdb"])) == [[("/tsdb", "/tsdb")]]
    assert paths(resolve("getmeili/meilisearch:v1.8")) == [[("/meili_data/data.ms", "/meili_data")]]
    assert paths(resolve("getmeili/meilisearch:v0.25.0")) == [[("/meili_data/data.ms", "/meili_data")], [("/data.ms",) * 2]]
    assert paths(resolve("qdrant/qdrant", env={"QDRANT__STORAGE__STORAGE_PATH": "./mystore"})) == [[("/qdrant/mystore",) * 2]]


def test_kafka_images():
    assert paths(resolve("confluentinc/cp-kafka:7.6.6")) == [[("/var/lib/kafka/data",) * 2]]
    r = resolve("apache/kafka:3.8.0")
    assert paths(r) == [[("/tmp/kraft-combined-logs",) * 2]]
    assert "/var/lib/kafka/data" in r.layouts[0].image_volumes
    assert paths(resolve("apache/kafka:3.8.0", env={"KAFKA_LOG_DIRS": "/var/lib/kafka/data"})) == [
        [("/var/lib/kafka/data",) * 2]
    ]
    assert paths(resolve("apache/kafka:3.8.0", env={"KAFKA_LOG_DIRS": "/k1,/k2"})) == [[("/k1",) * 2, ("/k2",) * 2]]
    assert resolve("wurstmeister/kafka").pin_hostname
    assert not resolve("wurstmeister/kafka", env={"KAFKA_BROKER_ID": "1"}).pin_hostname
    assert resolve("rabbitmq:3-management").pin_hostname


def test_nats_is_stateful_only_with_jetstream():
    r = resolve("nats:2.10")
    assert r.ephemeral and r.stateful == "maybe"
    r = resolve("nats:2.10", command="-js -sd /data")
    assert r.ephemeral is None and r.stateful == "yes" and paths(r) == [[("/data", "/data")]]
    assert resolve("nats:2.10", command="--config /etc/nats/nats.conf").ephemeral is None


def test_gitea_rootless_layout_is_chosen_by_tag():
    assert paths(resolve("gitea/gitea:1.22")) == [[("/data", "/data")]]
    assert paths(resolve("gitea/gitea:1.22-rootless")) == [[("/var/lib/gitea",) * 2, ("/etc/gitea",) * 2]]


def test_chroma_layouts_by_version():
    assert paths(resolve("chromadb/chroma:1.0.12")) == [[("/data", "/data")]]
    assert paths(resolve("chromadb/chroma:0.5.4")) == [[("/chroma/chroma",) * 2]]
    assert paths(resolve("chromadb/chroma")) == [[("/data", "/data")], [("/chroma/chroma",) * 2]]


# --------------------------------------------------------------------------- ephemeral / not a server


@pytest.mark.parametrize(
    "image, command, ephemeral",
    [
        ("redis:7", ["redis-server", "--save", ""], True),
        ("redis:7", 'redis-server --save "" --appendonly no', True),
        ("redis:7", '--save ""', True),
        ("redis:7", "--save", True),  # --save without a value = no save points
        ("redis:alpine", '--maxclients 500 --tcp-backlog 128 --maxmemory-policy allkeys-lru --save ""', True),
        ("docker.io/valkey/valkey:8.0-alpine",
         ["sh", "-c", 'valkey-server --save "" --appendonly no --requirepass $REDIS_PASSWORD'], True),
        ("redis:7", 'redis-server --save "" --appendonly yes', False),
        ("redis:7", "--save 60 1", False),
        ("redis:7", "redis-server --appendonly yes", False),
        ("redis:7", None, False),
        ("redis:7", "redis-server /usr/local/etc/redis/redis.conf", False),
        ("valkey/valkey:8", ["sh", "-c", "valkey-server --appendonly yes --requirepass $REDIS_PASSWORD"], False),
    ],
)
def test_redis_ephemeral_detection(image, command, ephemeral):
    r = resolve(image, command=command)
    assert bool(r.ephemeral) is ephemeral
    assert r.stateful == "yes"


def test_redis_ephemeral_from_env_flags():
    assert resolve("redis/redis-stack-server:7.2.0-v6", env={"REDIS_ARGS": '--save ""'}).ephemeral
    assert resolve("valkey/valkey:8", env={"VALKEY_EXTRA_FLAGS": '--save ""'}).ephemeral
    env = {"REDIS_AOF_ENABLED": "no", "REDIS_RDB_POLICY_DISABLED": "yes"}
    assert resolve("bitnami/redis:7.4", env=env).ephemeral
    assert not resolve("bitnami/redis:7.4", env={"REDIS_AOF_ENABLED": "no"}).ephemeral


@pytest.mark.parametrize(
    "kw",
    [
        {"entrypoint": "/bin/true"},
        {"command": "redis-cli -h redis monitor"},
        {"command": ["sh", "-c", "sleep 5 && redis-cli -h redis ping"]},
        {"command": "tail -f /dev/null"},
    ],
)
def test_container_that_does_not_run_the_server(kw):
    image = "rabbitmq:3.6-management" if "entrypoint" in kw else "redis:7"
    r = resolve(image, **kw)
    assert r.stateful == "no" and r.ephemeral


@pytest.mark.parametrize(
    "image, kw",
    [
        ("confluentinc/cp-kafka:7.6.6", {"command": ["bash", "-c", "echo waiting && /etc/confluent/docker/run"]}),
        ("redis:7", {"command": ["sh", "-c", "sleep 2 && redis-server --dir /d"]}),
        ("redis:7", {"entrypoint": "/redis-conf.sh"}),
        ("postgres:16", {"command": "postgres -c max_connections=200"}),
    ],
)
def test_wrapped_servers_stay_stateful(image, kw):
    r = resolve(image, **kw)
    assert r.stateful == "yes" and r.ephemeral is None


# --------------------------------------------------------------------------- decoys


@pytest.mark.parametrize(
    "image",
    [
        "memcached:1.6.45-alpine",
        "edoburu/pgbouncer:v1.25.2-p0",
        "mongo-express",
        "dpage/pgadmin4:latest",
        "prodrigestivill/postgres-backup-local",
        "rancher/mongodb-conf:v0.1.1",
        "kibana",
        "busybox",
        "alpine:3.24",
        "rdaneel/rabbitmq-conf:0.2.0",
        "opensearchproject/opensearch-dashboards:2",
    ],
)
def test_decoys_do_not_match(image):
    assert default_knowledge().match(image) is None


def test_known_stateless_reasons():
    assert "cache" in Knowledge.stateless_reason("memcached:alpine")
    assert "pooler" in Knowledge.stateless_reason("edoburu/pgbouncer")
    assert Knowledge.stateless_reason("postgres:16") is None


# --------------------------------------------------------------------------- Knowledge


def _entry(id: str, repos: tuple[str, ...], path: str) -> ImageEntry:
    return ImageEntry(id=id, title=id, repositories=repos, layouts=(LayoutRule("default", (DataPath(path, path),)),))


def test_later_entries_override_and_win():
    base = builtin_entries()
    k = Knowledge([*base, _entry("postgres", ("library/postgres",), "/custom")])
    assert k.ids().count("postgres") == 1
    assert paths(k.resolve("postgres:16")) == [[("/custom", "/custom")]]
    assert k.match("postgis/postgis") is None  # the replaced entry's other globs are gone
    k = Knowledge([*base, _entry("acme-pg", ("library/postgres",), "/acme")])
    assert k.match("postgres").id == "acme-pg"
    assert k.match("postgis/postgis").id == "postgres"
    k2 = default_knowledge().with_entries([_entry("acme", ("acme/*",), "/a")])
    assert k2.match("registry.acme.io/acme/db:1").id == "acme"
    assert default_knowledge().match("acme/db") is None


def test_default_knowledge_is_cached_and_ids_unique():
    assert default_knowledge() is default_knowledge()
    ids = default_knowledge().ids()
    assert len(ids) == len(set(ids)) == len(builtin_entries())
    assert builtin_entries() is not builtin_entries()


def test_unknown_image_resolves_to_none():
    assert default_knowledge().resolve("nginx:1.27") is None
    assert default_knowledge().resolve("") is None


def test_builtin_entries_are_consistent():
    for entry in builtin_entries():
        assert entry.title and entry.sources, entry.id
        assert entry.stateful in ("yes", "maybe"), entry.id
        assert entry.repositories, entry.id
        r = entry.resolve(ImageRef.parse(entry.repositories[0].replace("*", "x")), {}, None)
        assert r.kind == entry.id and r.layouts, entry.id
        for layout in r.layouts:
            assert layout.required, (entry.id, layout.label)
            for dp in layout.data_paths:
                assert dp.role in ("data", "config", "logs")
                assert dp.path.startswith("/") and dp.mount_target.startswith("/"), entry.id
                assert dp.path == dp.mount_target or dp.path.startswith(dp.mount_target.rstrip("/") + "/"), (entry.id, dp)
            assert all(v.startswith("/") for v in layout.image_volumes)


def test_import_is_cheap():
    code = (
        "import sys, holdfast\n"
        "before = set(sys.modules)\n"
        "import holdfast.knowledge\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(','.join(sorted(new & {'yaml', 'ruamel', 'docker', 'jsonschema', 'pluggy', 'click', 'json'})))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------- user configuration


def test_entry_from_config_builds_an_entry():
    e = entry_from_config(
        "acme-db",
        {
            "match": ["acme/db", "ghcr.io/acme/db-*", "acmedb"],
            "data-paths": ["/srv/acme/data", "/srv/acme/wal/"],
            "mount-target": "/srv/acme",
            "volumes": ["/srv/acme"],
            "user": "1000:1000",
            "init-markers": ["VERSION"],
            "readiness": ["acmectl", "ping"],
            "probe": "postgres",
            "stop-grace": 90,
            "title": "Acme DB",
        },
    )
    assert e.repositories == ("acme/db", "acme/db-*", "library/acmedb")
    k = default_knowledge().with_entries([e])
    r = k.resolve("ghcr.io/acme/db-enterprise:3")
    assert r.kind == "acme-db" and r.title == "Acme DB"
    assert paths(r) == [[("/srv/acme/data", "/srv/acme"), ("/srv/acme/wal", "/srv/acme")]]
    assert r.layouts[0].image_volumes == ("/srv/acme",)
    assert (r.user, r.init_markers, r.readiness, r.probe, r.stop_grace_seconds) == (
        "1000:1000", ("VERSION",), ("acmectl", "ping"), "postgres", 90,
    )
    assert k.match("acmedb:1").id == "acme-db"
    minimal = entry_from_config("m", {"match": ["m/*"], "data-paths": ["/d"]})
    assert minimal.title == "m" and minimal.stop_grace_seconds == 30 and minimal.readiness is None


@pytest.mark.parametrize(
    "table, message",
    [
        ({"match": ["a/b"], "data-paths": ["/d"], "colour": "red"}, "unknown key 'colour' in image 'x'"),
        ({"data-paths": ["/d"]}, "match"),
        ({"match": ["a/b"]}, "data-paths"),
        ({"match": "a/b", "data-paths": ["/d"]}, "match"),
        ({"match": [], "data-paths": ["/d"]}, "match"),
        ({"match": ["a/b"], "data-paths": "/d"}, "data-paths"),
        ({"match": ["a/b"], "data-paths": ["relative/d"]}, "absolute"),
        ({"match": ["a/b"], "data-paths": ["/d"], "stop-grace": "60"}, "stop-grace"),
        ({"match": ["a/b"], "data-paths": ["/d"], "stop-grace": True}, "stop-grace"),
        ({"match": ["a/b"], "data-paths": ["/d"], "readiness": "pg_isready"}, "readiness"),
        ({"match": ["a/b"], "data-paths": ["/d"], "user": 1000}, "user"),
        ({"match": ["a/b"], "data-paths": ["/d"], "volumes": [1]}, "volumes"),
        ({"match": ["a/b"], "data-paths": ["/d"], "mount-target": "d"}, "mount-target"),
        ({"match": ["a/b"], "data-paths": ["/d"], "stateful": "no"}, "stateful"),
    ],
)
def test_entry_from_config_errors(table, message):
    with pytest.raises(ValueError, match=message):
        entry_from_config("x", table)


# --------------------------------------------------------------------------- labelled corpus

# Services whose data path depends on their environment or command: the relevant
# part of each service, copied from the compose file (so this test needs no YAML).
CONTEXTS: dict[tuple[str, str], dict] = {
    ("docker__awesome-compose__odoo-postgres__compose.yaml", "postgres"): {
        "env": {"POSTGRES_DB": "postgres", "PGDATA": "/var/lib/postgresql/data/pgdata"}
    },
    **{
        ("minio__minio__docs__orchestration__docker-compose__docker-compose.yaml", f"minio{n}"): {
            "command": 'server --console-address ":9001" http://minio{1...4}/data{1...2}'
        }
        for n in range(1, 5)
    },
    ("getsentry__self-hosted__docker-compose.yml", "seaweedfs"): {
        "entrypoint": "weed",
        "command": "mini -dir=/data -filer.defaultReplicaPlacement=000 -metricsPort=9091 -volume.dir.idx=/data/idx "
        "-volume.index=leveldbLarge -volume.preStopSeconds=8 -volume.readMode=redirect -ip.bind=0.0.0.0 -webdav=false",
    },
    ("docker-library__docs__influxdb__compose.yaml", "influxdb3-core"): {
        "command": ["influxdb3", "serve", "--node-id=node0", "--object-store=file",
                    "--data-dir=/var/lib/influxdb3/data", "--plugin-dir=/var/lib/influxdb3/plugins"]
    },
    ("sameersbn__docker-gitlab__docker-compose.swarm.yml", "registry"): {
        "env": {"REGISTRY_LOG_LEVEL": "info", "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/registry"}
    },
    ("supabase__supabase__docker__docker-compose.yml", "storage"): {
        "env": {"STORAGE_BACKEND": "file", "FILE_STORAGE_BACKEND_PATH": "/var/lib/storage"}
    },
    ("stefanprodan__swarmprom__docker-compose.yml", "prometheus"): {
        "command": ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus",
                    "--storage.tsdb.retention=${PROMETHEUS_RETENTION:-24h}"]
    },
    **{
        ("netbox-community__netbox-docker__docker-compose.test.yml", name): {
            "command": ["sh", "-c", 'valkey-server --save "" --appendonly no --requirepass $REDIS_PASSWORD']
        }
        for name in ("redis", "redis-cache")
    },
    ("netbox-community__netbox-docker__docker-compose.yml", "redis"): {
        "command": ["sh", "-c", "valkey-server --appendonly yes --requirepass $REDIS_PASSWORD"]
    },
    ("LiskArchive__lisk-core__docker__docker-compose.redis.yml", "redis"): {
        "command": '--maxclients 500 --tcp-backlog 128 --maxmemory-policy allkeys-lru --save ""'
    },
    ("rancher__community-catalog__templates__rabbitmq-3__1__docker-compose.yml", "rabbitmq-datavolume"): {
        "entrypoint": "/bin/true"
    },
}

# Rows whose `stateful=unsure` comes from persistence switched off in the file.
EPHEMERAL_ROWS = {
    ("netbox-community__netbox-docker__docker-compose.test.yml", "redis"),
    ("netbox-community__netbox-docker__docker-compose.test.yml", "redis-cache"),
    ("LiskArchive__lisk-core__docker__docker-compose.redis.yml", "redis"),
}


def _label_rows() -> list[dict[str, str]]:
    if not LABELS.is_file():
        return []
    with LABELS.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def _concrete(image: str) -> bool:
    return bool(image) and not image.startswith("(") and "$" not in image


def _label_paths(text: str) -> list[str]:
    """'/data (+ /datalog)' -> ['/data']; '/data1, /data2' -> both; trailing '/' dropped."""
    text = text.strip()
    parts = text.split(",") if "," in text and "(" not in text else [text.split(" (", 1)[0]]
    out = []
    for part in parts:
        part = part.strip().split(" ", 1)[0]
        out.append(part.rstrip("/") or "/")
    return [p for p in out if p.startswith("/")]


def _rows(stateful: str) -> list:
    rows = [r for r in _label_rows() if r["stateful"] == stateful and _concrete(r["image"])]
    if not rows:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{LABELS} not found (needs the shared corpus)"))]
    return [pytest.param(r, id=f"{r['file']}:{r['service']}") for r in rows]


def _resolve_row(row: dict[str, str]) -> ResolvedImage | None:
    ctx = CONTEXTS.get((row["file"], row["service"]), {})
    return default_knowledge().resolve(
        row["image"], env=ctx.get("env"), command=ctx.get("command"), entrypoint=ctx.get("entrypoint")
    )


@pytest.mark.parametrize("row", _rows("yes"))
def test_labelled_stateful_rows_are_recognised(row):
    r = _resolve_row(row)
    assert r is not None, f"{row['image']} not recognised"
    assert r.stateful == "yes" and r.ephemeral is None
    known = flat_paths(r)
    for path in _label_paths(row["data_path"]):
        assert path in known, f"{row['image']}: labelled {path}, knowledge has {sorted(known)}"


@pytest.mark.parametrize("row", _rows("no"))
def test_labelled_decoys_are_not_stateful(row):
    r = _resolve_row(row)
    assert r is None or r.stateful != "yes"


@pytest.mark.parametrize("row", _rows("unsure"))
def test_labelled_unsure_rows_when_recognised(row):
    r = _resolve_row(row)
    if r is None:
        pytest.skip(f"{row['image']} is not in the knowledge (custom image)")
    key = (row["file"], row["service"])
    if key in EPHEMERAL_ROWS:
        assert r.ephemeral
    else:
        assert r.stateful in ("yes", "maybe")
    labelled = _label_paths(row["data_path"])
    assert labelled and set(labelled) <= flat_paths(r)


def test_labelled_rows_with_a_variable_tag_still_match():
    """`postgres:${POSTGRES_TAG}`: the repository is known even when the tag is not."""
    rows = [
        r for r in _label_rows()
        if r["stateful"] == "yes" and "$" in r["image"] and "$" not in ImageRef.parse(r["image"]).repository
    ]
    if not rows:
        pytest.skip(f"{LABELS} not found")
    for row in rows:
        r = _resolve_row(row)
        assert r is not None and r.stateful == "yes", row["image"]
        assert not r.floating, row["image"]  # unknown is not floating


def test_contexts_match_the_compose_files():
    """The hand-copied CONTEXTS agree with the compose files (when PyYAML can read them)."""
    yaml = pytest.importorskip("yaml")
    if not CORPUS.is_dir():
        pytest.skip("corpus not found")
    checked = 0
    for (name, service), ctx in CONTEXTS.items():
        try:
            doc = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
        except Exception:
            continue
        services = doc.get("services", doc) if isinstance(doc, dict) else {}
        config = services.get(service)
        if not isinstance(config, dict):
            continue
        for key, field in (("command", "command"), ("entrypoint", "entrypoint")):
            if key in ctx:
                value = config.get(field)
                value = value.replace("$$", "$") if isinstance(value, str) else [str(v).replace("$$", "$") for v in value]
                if isinstance(value, str) and isinstance(ctx[key], str):
                    assert value.split() == ctx[key].split(), (name, service, key)
                else:
                    assert value == ctx[key], (name, service, key)
        if "env" in ctx:
            env = config.get("environment") or {}
            if isinstance(env, list):
                env = dict(item.partition("=")[::2] for item in env)
            for k, v in ctx["env"].items():
                assert str(env.get(k)) == v, (name, service, k)
        checked += 1
    assert checked >= 5


# --------------------------------------------------------------------------- the data file


def _data():
    import json

    from holdfast.image_data import DATA_FILE

    with open(DATA_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def test_data_file_validates_against_its_schema():
    import json

    import jsonschema
    from holdfast.image_data import DATA_FILE

    with open(DATA_FILE.replace("images.json", "images.schema.json"), encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(_data())]
    assert errors == []
    broken = dict(_data())
    broken["images"] = [dict(broken["images"][0], kind="database")]
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(broken)), "the schema must reject an unknown kind"


def test_data_file_breadth_ids_hooks_and_sources():
    from holdfast.image_hooks import hook_named

    images = _data()["images"]
    assert len(images) >= 250
    ids = [e["id"] for e in images]
    assert len(ids) == len(set(ids))
    kinds = {e["kind"] for e in images}
    assert kinds == {"data-store", "application"}
    assert sum(e["kind"] == "data-store" for e in images) >= 100
    for entry in images:
        assert len(entry["sources"]) >= 10, entry["id"]
        if "hook" in entry:
            assert hook_named(entry["hook"]) is not None, entry["id"]
    owners: dict[str, str] = {}
    for entry in images:
        for pattern in entry["match"]:
            assert owners.setdefault(pattern, entry["id"]) == entry["id"], f"{pattern} is in {owners[pattern]} and {entry['id']}"


@pytest.mark.parametrize(
    "image, category, path",
    [
        ("pgautoupgrade/pgautoupgrade:16-alpine", "data-store", "/var/lib/postgresql/data"),
        ("ghcr.io/immich-app/postgres:14-vectorchord0.3.0", "data-store", "/var/lib/postgresql/data"),
        ("container-registry.oracle.com/database/express:21.3.0-xe", "data-store", "/opt/oracle/oradata"),
        ("container-registry.oracle.com/database/free:latest", "data-store", "/opt/oracle/oradata"),
        ("gvenzl/oracle-xe:21-slim", "data-store", "/opt/oracle/oradata"),
        ("mcr.microsoft.com/mssql/server:2022-latest", "data-store", "/var/opt/mssql"),
        ("docker.elastic.co/elasticsearch/elasticsearch:8.15.0", "data-store", "/usr/share/elasticsearch/data"),
        ("quay.io/prometheus/prometheus:v2.53.0", "data-store", "/prometheus"),
        ("quay.io/sclorg/postgresql-15-c9s", "data-store", "/var/lib/pgsql/data"),
        ("bitnami/postgresql:16", "data-store", "/bitnami/postgresql/data"),
        ("bitnamilegacy/mongodb:7.0", "data-store", "/bitnami/mongodb/data/db"),
        ("apache/kvrocks:2.9.0", "data-store", "/var/lib/kvrocks"),
        ("grafana/loki:3.1.0", "data-store", "/loki"),
        ("victoriametrics/victoria-metrics:v1.102.0", "data-store", "/victoria-metrics-data"),
        ("emqx/emqx:5.7", "data-store", "/opt/emqx/data"),
        ("vaultwarden/server:1.32.0", "application", "/data"),
        ("nextcloud:29-apache", "application", "/var/www/html"),
        ("gitea/gitea:1.22", "application", "/data"),
        ("ghcr.io/immich-app/immich-server:v1.140.0", "application", "/data"),
        ("lscr.io/linuxserver/sonarr:4.0.9", "application", "/config"),
        ("ghcr.io/linuxserver/radarr", "application", "/config"),
        ("grafana/grafana-oss:11.1.0", "application", "/var/lib/grafana"),
        ("ghcr.io/paperless-ngx/paperless-ngx:2.11", "application", "/usr/src/paperless/data"),
        ("jenkins/jenkins:lts", "application", "/var/jenkins_home"),
        ("gitlab/gitlab-ce:17.2.0-ce.0", "application", "/var/opt/gitlab"),
        ("ghcr.io/home-assistant/home-assistant:stable", "application", "/config"),
        ("bitnami/wordpress:6", "application", "/bitnami/wordpress"),
        ("docker.n8n.io/n8nio/n8n:1.50.0", "application", "/home/node/.n8n"),
        ("ghcr.io/open-webui/open-webui:main", "application", "/app/backend/data"),
    ],
)
def test_breadth_across_registries(image, category, path):
    r = resolve(image)
    assert r.category == category
    assert path in flat_paths(r), (image, paths(r))


@pytest.mark.parametrize(
    "image",
    [
        "memcached:1.6", "bitnami/memcached:1", "edoburu/pgbouncer:1.23", "adminer:4", "dpage/pgadmin4:8",
        "phpmyadmin:5", "mongo-express:1", "prom/node-exporter:v1.8.1", "oliver006/redis_exporter:v1.62.0",
        "quay.io/prometheus/node-exporter", "lscr.io/linuxserver/ffmpeg:7.0", "containrrr/watchtower",
        "ghcr.io/immich-app/immich-machine-learning:release", "rediscommander/redis-commander", "nginx:1.27",
        "traefik:v3.1", "busybox", "alpine:3.20", "kibana:8.15.0", "provectuslabs/kafka-ui",
    ],
)
def test_look_alikes_are_not_matched(image):
    assert default_knowledge().resolve(image) is None


def test_fallback_namespace_loses_to_a_specific_entry():
    k = default_knowledge()
    assert k.match("lscr.io/linuxserver/mariadb:11").id == "linuxserver-mariadb"
    assert k.match("lscr.io/linuxserver/bookstack").id == "linuxserver"
    position, pattern = k.matched_by(ImageRef.parse("ghcr.io/linuxserver/bookstack"))
    assert pattern == "linuxserver/*" and k.ids()[position] == "linuxserver"


def test_wordpress_cli_tag_keeps_nothing():
    r = resolve("wordpress:cli-2.10")
    assert all(not layout.data_paths for layout in r.layouts)


def test_immich_either_media_location_is_accepted():
    r = resolve("ghcr.io/immich-app/immich-server:release")
    assert {tuple(d.path for d in layout.data_paths) for layout in r.layouts} == {("/data",), ("/usr/src/app/upload",)}


def test_config_kind_makes_an_application_and_is_validated():
    e = entry_from_config("myapp", {"match": ["acme/app"], "data-paths": ["/srv/app"], "kind": "application"})
    assert e.category == "application"
    assert entry_from_config("mydb", {"match": ["acme/db"], "data-paths": ["/srv/db"]}).category == "data-store"
    with pytest.raises(ValueError, match="'kind'"):
        entry_from_config("bad", {"match": ["acme/x"], "data-paths": ["/x"], "kind": "database"})


def test_data_is_cached_as_marshal_and_a_broken_cache_is_ignored(tmp_path, monkeypatch):
    import json

    from holdfast import image_data

    monkeypatch.setenv("HOLDFAST_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("HOLDFAST_NO_CACHE", raising=False)
    image_data.load_data.cache_clear()
    try:
        first = image_data.load_data()
        [cached] = list(tmp_path.glob("images-*.marshal"))
        image_data.load_data.cache_clear()
        assert image_data.load_data() == first
        cached.write_bytes(b"\x00garbage")
        image_data.load_data.cache_clear()
        with open(image_data.DATA_FILE, encoding="utf-8") as handle:
            assert image_data.load_data() == json.load(handle)
    finally:
        image_data.load_data.cache_clear()


@pytest.mark.parametrize("image", ["hashicorp/vault:1.17", "quay.io/openbao/openbao:2.1.0"])
@pytest.mark.parametrize(
    "command, ephemeral",
    [(None, True), ("server -dev -dev-root-token-id=root", True), ("server", False), (["server", "-config=/vault/config/local.hcl"], False)],
)
def test_vault_dev_server_keeps_nothing_a_configured_server_keeps_its_file_storage(image, command, ephemeral):
    resolved = resolve(image, command=command)
    assert bool(resolved.ephemeral) is ephemeral, resolved.ephemeral


@pytest.mark.parametrize(
    "command, ephemeral",
    [(None, True), ("agent -dev -client 0.0.0.0", True), ("agent -server -bootstrap-expect=1 -client 0.0.0.0", False), ("members", True)],
)
def test_consul_dev_agent_keeps_nothing_a_server_agent_keeps_its_data_dir(command, ephemeral):
    resolved = resolve("hashicorp/consul:1.18", command=command)
    assert bool(resolved.ephemeral) is ephemeral, resolved.ephemeral

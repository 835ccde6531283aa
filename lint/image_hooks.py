"""Per-image hooks: the few facts that are parsed from a command rather than declared.

An entry of ``data/images.json`` names its hook (``"hook": "minio"``); the hook
adjusts the private draft after the generic steps (layouts, env and flag overrides).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Callable

from holdfast.image_commands import _abspath, _flag_values, _mount_for
from holdfast.knowledge import DataPath

if TYPE_CHECKING:  # pragma: no cover
    from holdfast.knowledge import _Draft



def _redis_save_hook(draft: _Draft) -> None:
    """Redis-protocol servers: detect `--save ""` without `--appendonly yes`."""
    tokens = draft.tokens
    if tokens and not tokens[0].startswith("-") and tokens[0].endswith(".conf"):
        draft.note(f"settings (dir, save, appendonly) may come from the config file {tokens[0]}")
    saves = _flag_values(tokens, "--save")
    appendonly = draft.flag("--appendonly")
    if saves and all(not v.strip() for v in saves) and (appendonly or "no").strip().lower() != "yes":
        draft.ephemeral = 'persistence disabled: --save "" without --appendonly yes'


def _bitnami_redis_hook(prefix: str) -> Callable[["_Draft"], None]:
    def hook(draft: _Draft) -> None:
        env = draft.env
        aof_off = env.get(f"{prefix}_AOF_ENABLED", "yes").strip().lower() in ("no", "false", "0")
        rdb_off = env.get(f"{prefix}_RDB_POLICY_DISABLED", "no").strip().lower() in ("yes", "true", "1")
        if aof_off and rdb_off:
            draft.ephemeral = f"persistence disabled: {prefix}_AOF_ENABLED=no and {prefix}_RDB_POLICY_DISABLED=yes"
        else:
            _redis_save_hook(draft)

    return hook


def _postgres_hook(draft: _Draft) -> None:
    if draft.major is None and len(draft.layouts) > 1:
        draft.note(
            "the tag does not pin the major version: postgres 18+ stores data under "
            "/var/lib/postgresql/<major>/docker, <= 17 under /var/lib/postgresql/data"
        )
    if draft.env.get("POSTGRES_INITDB_WALDIR"):
        draft.note("POSTGRES_INITDB_WALDIR keeps the WAL outside PGDATA; it must persist too")


def _bitnami_postgres_hook(draft: _Draft) -> None:
    value = (draft.env.get("POSTGRESQL_DATA_DIR") or "").rstrip("/")
    if value == "/bitnami/postgresql":  # legacy value rewritten by the image scripts
        draft.set_path(0, "/bitnami/postgresql/data", "env POSTGRESQL_DATA_DIR")


def _mongo_hook(draft: _Draft) -> None:
    if draft.has("--configsvr") and not draft.has("--dbpath"):
        for _rule, paths in draft.layouts:
            for i, dp in enumerate(paths):
                if dp.path == "/data/configdb":
                    paths[i] = DataPath(dp.path, dp.mount_target, "data", "flag --configsvr")
                elif dp.path == "/data/db" and dp.origin == "default":
                    paths[i] = DataPath(dp.path, dp.mount_target, "config", dp.origin)
    if draft.has("--config", "-f"):
        draft.note("storage.dbPath may be set in the mongod config file")
    if draft.major is not None and draft.major < 6:
        draft.readiness = ("mongo", "--quiet", "--eval", "db.runCommand({ping:1})")


def _mariadb_hook(draft: _Draft) -> None:
    if draft.major is not None and draft.major <= 10:
        draft.readiness = ("mysqladmin", "ping", "-h", "127.0.0.1", "--silent")


def _expand_ellipsis(text: str, limit: int = 64) -> list[str]:
    """MinIO's ``{1...4}`` expansion: ``/data{1...2}`` -> ``/data1``, ``/data2``."""
    start = text.find("{")
    if start < 0:
        return [text]
    end = text.find("}", start)
    inner = text[start + 1 : end] if end > start else ""
    lo, sep, hi = inner.partition("...")
    if end < 0 or not sep or not lo.isdigit() or not hi.isdigit():
        return [text]
    a, b = int(lo), int(hi)
    width = len(lo) if lo.startswith("0") else 0
    out: list[str] = []
    for n in range(a, min(b, a + limit - 1) + 1):
        num = str(n).zfill(width)
        for tail in _expand_ellipsis(text[end + 1 :], limit):
            out.append(text[:start] + num + tail)
            if len(out) >= limit:
                return out
    return out


def _minio_hook(draft: _Draft) -> None:
    tokens = draft.tokens
    dirs: list[str] = []
    origin = ""
    if "server" in tokens:
        rest = tokens[tokens.index("server") + 1 :]
        boolean = {"--quiet", "--anonymous", "--json", "--no-compat"}
        i = 0
        while i < len(rest):
            tok = rest[i]
            if tok.startswith("-"):
                if "=" not in tok and tok not in boolean:
                    i += 1  # skip the flag's value
            else:
                dirs.append(tok)
            i += 1
        origin = "command server"
    if not dirs and draft.env.get("MINIO_VOLUMES"):
        dirs = draft.env["MINIO_VOLUMES"].split()
        origin = "env MINIO_VOLUMES"
    paths: list[str] = []
    for d in dirs:
        if "$" in d:
            draft.note(f"a MinIO drive path comes from an unresolved variable: {d}")
            continue
        if "://" in d:  # http://minio{1...4}/data{1...2}: the path part is local to each node
            d = d.split("://", 1)[1]
            slash = d.find("/")
            if slash < 0:
                continue
            d = d[slash:]
        for p in _expand_ellipsis(d):
            p = _abspath(p, "/")
            if p not in paths:
                paths.append(p)
    if not paths:
        return
    for rule, layout_paths in draft.layouts:
        layout_paths[:] = [DataPath(p, _mount_for(p, rule.image_volumes, None), "data", origin) for p in paths]
    if "/data" not in paths:
        draft.note("the image VOLUME /data is unused: MinIO writes to the drives named in the command")


_SURREAL_LOCAL = ("rocksdb://", "rocksdb:", "surrealkv://", "surrealkv+versioned://", "surrealkv:", "file://", "file:", "speedb://", "speedb:")
_SURREAL_REMOTE = ("tikv://", "tikv:", "fdb://", "fdb:")


def _surreal_hook(draft: _Draft) -> None:
    store = draft.env.get("SURREAL_PATH", "")
    origin = "env SURREAL_PATH"
    for tok in draft.tokens:
        low = tok.lower()
        if low in ("memory", "mem://") or low.startswith(_SURREAL_LOCAL + _SURREAL_REMOTE):
            store, origin = tok, "command"
    low = store.lower()
    if not draft.tokens and not store:
        draft.note("the data directory comes from the `surreal start` path in the command")
        return
    if not store or low in ("memory", "mem://"):
        draft.ephemeral = "surreal start without a storage path keeps everything in memory"
        return
    if low.startswith(_SURREAL_REMOTE):
        draft.note("data lives in the external TiKV/FoundationDB cluster, not in this container")
        for _rule, paths in draft.layouts:
            paths.clear()
        return
    if "$" in store:
        draft.note(f"the storage path comes from an unresolved variable: {store}")
        return
    for prefix in _SURREAL_LOCAL:
        if low.startswith(prefix):
            store = store[len(prefix) :]
            break
    path = _abspath(store, "/")
    base = posixpath.basename(path)
    mount = posixpath.dirname(path) if "." in base and posixpath.dirname(path) != "/" else path
    draft.set_path(0, path, origin, mount_target=mount)


def _nats_hook(draft: _Draft) -> None:
    if draft.has("-js", "--jetstream"):
        store = draft.flag("-sd", "--store_dir", "--store-dir")
        if store and "$" not in store:
            draft.set_path(0, _abspath(store, "/"), "flag -sd")
        draft.stateful = "yes"
        return
    if draft.has("-c", "--config"):
        draft.note("JetStream (and its store_dir) may be enabled in the config file")
        return
    draft.ephemeral = "JetStream is not enabled (-js/--jetstream): NATS keeps no data on disk"


def _etcd_hook(draft: _Draft) -> None:
    if draft.flag("--data-dir") or draft.env.get("ETCD_DATA_DIR"):
        return
    name = draft.flag("--name") or draft.env.get("ETCD_NAME") or "default"
    if "$" not in name:
        draft.set_path(0, f"/var/lib/etcd/{name}.etcd", "default (<name>.etcd in the working directory)")


def _influx_hook(draft: _Draft) -> None:
    labels = [rule.label for rule, _ in draft.layouts]
    store = (draft.flag("--object-store") or draft.env.get("INFLUXDB3_OBJECT_STORE") or "").lower()
    if labels == ["influxdb 3"]:
        if store == "memory":
            draft.ephemeral = "--object-store memory keeps everything in memory"
        elif store in ("s3", "google", "azure"):
            draft.note("with a remote object store only the local cache lives in the container")
        draft.init_markers = ()
    elif labels == ["influxdb 2"]:
        draft.readiness = ("influx", "ping")
        draft.init_markers = ("influxd.bolt",)
    elif labels == ["influxdb 1"]:
        draft.init_markers = ("meta",)
    else:
        draft.note("the tag does not pin the major version: InfluxDB 1, 2 and 3 use different data directories")


def _kafka_apache_hook(draft: _Draft) -> None:
    if not draft.env.get("KAFKA_LOG_DIRS") and draft.env.get("KAFKA_ZOOKEEPER_CONNECT"):
        draft.set_path(0, "/tmp/kafka-logs", "default (ZooKeeper mode)")


def _wurstmeister_hook(draft: _Draft) -> None:
    broker = draft.env.get("KAFKA_BROKER_ID", "")
    if draft.env.get("KAFKA_LOG_DIRS") or (broker.isdigit() and int(broker) > 0):
        draft.pin_hostname = False


def _chroma_hook(draft: _Draft) -> None:
    if draft.env.get("IS_PERSISTENT", "").strip().lower() in ("false", "0", "no"):
        draft.ephemeral = "IS_PERSISTENT=FALSE keeps the collections in memory"


def _cockroach_hook(draft: _Draft) -> None:
    store = draft.flag("--store", "-s")
    if not store or "$" in store:
        return
    parts = dict(p.partition("=")[::2] for p in store.split(",") if "=" in p)
    if parts.get("type") == "mem":
        draft.ephemeral = "--store type=mem keeps everything in memory"
        return
    path = parts.get("path") or (store if "=" not in store else "")
    if path:
        draft.set_path(0, _abspath(path, "/cockroach"), "flag --store")


def _supabase_storage_hook(draft: _Draft) -> None:
    backend = draft.env.get("STORAGE_BACKEND", "").strip().lower()
    if backend and backend != "file":
        draft.note(f"STORAGE_BACKEND={backend}: objects live outside the container")
        for _rule, paths in draft.layouts:
            paths.clear()


def _vault_hook(draft: _Draft) -> None:
    # hashicorp/vault's Dockerfile: CMD ["server", "-dev"], the development server that keeps everything in RAM
    if draft.has("-dev"):
        draft.ephemeral = "`server -dev` runs the development server, which keeps everything in memory"
    elif "server" not in draft.tokens:
        draft.ephemeral = "the image's default command is `server -dev`, the in-memory development server; only `server` with a configuration keeps data"


def _consul_hook(draft: _Draft) -> None:
    # hashicorp/consul's Dockerfile: CMD ["agent", "-dev", "-client", "0.0.0.0"], a development agent that keeps everything in RAM
    if draft.has("-dev"):
        draft.ephemeral = "`agent -dev` runs the development agent, which keeps everything in memory"
    elif "agent" not in draft.tokens:
        draft.ephemeral = "the image's default command is `agent -dev`, the in-memory development agent; only `agent` without -dev keeps data"


# --------------------------------------------------------------------------- builtins


_HOOKS: dict[str, Callable[["_Draft"], None]] = {
    "redis_save": _redis_save_hook,
    "postgres": _postgres_hook,
    "bitnami_postgres": _bitnami_postgres_hook,
    "mongo": _mongo_hook,
    "mariadb": _mariadb_hook,
    "minio": _minio_hook,
    "surreal": _surreal_hook,
    "nats": _nats_hook,
    "etcd": _etcd_hook,
    "influx": _influx_hook,
    "kafka_apache": _kafka_apache_hook,
    "wurstmeister": _wurstmeister_hook,
    "chroma": _chroma_hook,
    "cockroach": _cockroach_hook,
    "supabase_storage": _supabase_storage_hook,
    "vault": _vault_hook,
    "consul": _consul_hook,
}
HOOK_NAMES = (*_HOOKS, "bitnami_redis:<PREFIX>")


def hook_named(name: str) -> Callable[["_Draft"], None] | None:
    """The hook a data entry names; ``bitnami_redis:VALKEY`` takes its env prefix after the colon."""
    head, _, arg = name.partition(":")
    if head == "bitnami_redis" and arg:
        return _bitnami_redis_hook(arg)
    return _HOOKS.get(name)


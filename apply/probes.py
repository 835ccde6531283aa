"""Fingerprints of a data set, taken through the server itself, and readiness checks.

"The container is healthy" proves nothing: an image that finds an empty data
directory initialises a NEW empty database and reports healthy. So apply takes a
fingerprint while the old container still runs (postgres: every table's row
count in every database; redis: keys per database and a sample of keys; mysql /
mariadb and mongo likewise; otherwise the list of files) and requires the same
fingerprint from the new container. Everything runs inside the container with
the image's own client (`psql`, `redis-cli`, ...), so no port needs publishing
and a remote engine works the same.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shlex
import time
from collections.abc import Callable
from typing import Any

from holdfast.apply.host import ContainerFacts

PROBE_KINDS = ("postgres", "redis", "mysql", "mongo", "files")
SAMPLE_KEYS = 20
COUNT_BATCH = 200  # tables per UNION ALL query


class ProbeError(RuntimeError):
    """The probe could not run (no client in the image, authentication, server not up)."""


def _quote_pg(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_my(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


class Prober:
    """Runs probes in one container through `engine.exec` (tests pass a fake engine)."""

    def __init__(self, engine: Any, facts: ContainerFacts):
        self.engine = engine
        self.facts = facts

    def run(self, argv: list[str], env: dict[str, str] | None = None, user: str | None = None) -> str:
        code, output = self.engine.exec(self.facts.id, argv, user=user, env=env)
        if code != 0:
            raise ProbeError(f"`{shlex.join(argv)}` exited {code}: {output.strip()[-300:]}")
        return output

    # ---------------------------------------------------------------- postgres
    def _pg(self, database: str, sql: str) -> list[list[str]]:
        env = self.facts.env
        user = env.get("POSTGRES_USER") or "postgres"
        extra = {"PGUSER": user, "PGDATABASE": database, "PGCONNECT_TIMEOUT": "10"}
        if env.get("POSTGRES_PASSWORD"):
            extra["PGPASSWORD"] = env["POSTGRES_PASSWORD"]
        out = self.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", sql], env=extra)
        return [line.split("\t") for line in out.splitlines() if line.strip()]

    def postgres(self) -> dict[str, Any]:
        start_db = self.facts.env.get("POSTGRES_DB") or self.facts.env.get("POSTGRES_USER") or "postgres"
        sql = "select datname from pg_database where datallowconn and not datistemplate order by 1"
        try:
            rows = self._pg(start_db, sql)
        except ProbeError:
            rows = self._pg("template1", sql)
        databases: dict[str, dict[str, int]] = {}
        for (name,) in (r[:1] for r in rows):
            tables = self._pg(
                name,
                "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') "
                "and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%' order by 1, 2",
            )
            counts: dict[str, int] = {}
            for batch in _batches([(s, t) for s, t in (r[:2] for r in tables)], COUNT_BATCH):
                union = " union all ".join(
                    f"select {_literal(s + '.' + t)}, count(*) from {_quote_pg(s)}.{_quote_pg(t)}" for s, t in batch
                )
                for key, count in self._pg(name, union):
                    counts[key] = int(count)
            databases[name] = counts
        return {"databases": databases}

    # ------------------------------------------------------------------- redis
    def _redis_env(self) -> tuple[list[str], dict[str, str]]:
        argv = ["redis-cli"]
        cmd = self.facts.cmd
        env: dict[str, str] = {}
        for flag, value in itertools.pairwise(cmd):
            if flag == "--port" and value.isdigit():
                argv += ["-p", value]
            elif flag == "--requirepass":
                env["REDISCLI_AUTH"] = value
        password = self.facts.env.get("REDIS_PASSWORD")
        if password and "REDISCLI_AUTH" not in env:
            env["REDISCLI_AUTH"] = password
        return argv, env

    def redis(self) -> dict[str, Any]:
        base, env = self._redis_env()
        info = self.run(base + ["INFO", "keyspace"], env=env)
        dbs: dict[str, dict[str, Any]] = {}
        for match in re.finditer(r"^db(\d+):keys=(\d+),expires=(\d+)", info, re.MULTILINE):
            number, keys, expires = match.group(1), int(match.group(2)), int(match.group(3))
            scan = self.run(base + ["-n", number, "SCAN", "0", "COUNT", "200"], env=env).splitlines()
            candidates = [k for k in scan[1:] if k and k.isprintable() and " " not in k][: SAMPLE_KEYS * 3]
            sample: list[str] = []
            if candidates:
                script = "local o = {} for i, k in ipairs(KEYS) do o[i] = redis.call('PTTL', k) end return o"
                ttls = self.run(base + ["-n", number, "EVAL", script, str(len(candidates))] + candidates, env=env).split()
                sample = sorted(k for k, ttl in zip(candidates, ttls) if ttl == "-1")[:SAMPLE_KEYS]
            dbs[number] = {"keys": keys, "expires": expires, "sample": sample}
        return {"dbs": dbs}

    def redis_verify(self, before: dict[str, Any]) -> list[str]:
        """Keys without a TTL must all be back; keys with one may have expired meanwhile."""
        after = self.redis()
        problems = []
        base, env = self._redis_env()
        for number, old in before.get("dbs", {}).items():
            new = after["dbs"].get(number, {"keys": 0, "expires": 0})
            if new["keys"] - new["expires"] != old["keys"] - old["expires"]:
                problems.append(f"redis db{number}: {old['keys'] - old['expires']} keys without expiry before, {new['keys'] - new['expires']} now")
            if old.get("sample"):
                found = self.run(base + ["-n", number, "EXISTS"] + old["sample"], env=env).strip()
                if found != str(len(old["sample"])):
                    problems.append(f"redis db{number}: only {found} of {len(old['sample'])} sampled keys exist")
        return problems

    def redis_prestop(self) -> str:
        """SAVE before stopping: a cache-style config (`--save ''`) would otherwise drop everything on shutdown."""
        base, env = self._redis_env()
        return self.run(base + ["SAVE"], env=env).strip()

    # ------------------------------------------------------------- mysql/maria
    def _mysql(self, sql: str) -> list[list[str]]:
        env = self.facts.env
        password = env.get("MYSQL_ROOT_PASSWORD") or env.get("MARIADB_ROOT_PASSWORD")
        user = "root"
        if not password and not (env.get("MYSQL_ALLOW_EMPTY_PASSWORD") or env.get("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD")):
            user = env.get("MYSQL_USER") or env.get("MARIADB_USER") or "root"
            password = env.get("MYSQL_PASSWORD") or env.get("MARIADB_PASSWORD")
        extra = {"MYSQL_PWD": password} if password else {}
        last: ProbeError | None = None
        for client in ("mariadb", "mysql"):
            try:
                out = self.run([client, "-u", user, "--batch", "--skip-column-names", "-e", sql], env=extra)
                return [line.split("\t") for line in out.splitlines() if line.strip()]
            except ProbeError as exc:
                last = exc
        raise last or ProbeError("no mysql client")

    def mysql(self) -> dict[str, Any]:
        rows = self._mysql(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
            "and table_schema not in ('mysql', 'information_schema', 'performance_schema', 'sys') order by 1, 2"
        )
        counts: dict[str, int] = {}
        for batch in _batches([(r[0], r[1]) for r in rows if len(r) >= 2], COUNT_BATCH):
            union = " union all ".join(f"select {_literal(s + '.' + t)}, count(*) from {_quote_my(s)}.{_quote_my(t)}" for s, t in batch)
            for key, count in self._mysql(union):
                counts[key] = int(count)
        return {"tables": counts}

    # ------------------------------------------------------------------- mongo
    def mongo(self) -> dict[str, Any]:
        script = (
            "var out = {}; db.adminCommand({listDatabases: 1}).databases.forEach(function (d) {"
            " if (['admin', 'local', 'config'].indexOf(d.name) >= 0) return;"
            " var s = db.getSiblingDB(d.name); out[d.name] = {};"
            " s.getCollectionNames().forEach(function (c) { out[d.name][c] = s.getCollection(c).countDocuments({}); }); });"
            " print(JSON.stringify(out));"
        )
        env = self.facts.env
        auth: list[str] = []
        if env.get("MONGO_INITDB_ROOT_USERNAME"):
            auth = ["-u", env["MONGO_INITDB_ROOT_USERNAME"], "-p", env.get("MONGO_INITDB_ROOT_PASSWORD", ""), "--authenticationDatabase", "admin"]
        last: ProbeError | None = None
        for client in ("mongosh", "mongo"):
            try:
                out = self.run([client, "--quiet"] + auth + ["--eval", script])
                return {"collections": json.loads(out.strip().splitlines()[-1])}
            except (ProbeError, ValueError, IndexError) as exc:
                last = exc if isinstance(exc, ProbeError) else ProbeError(f"{client} printed no JSON")
        raise last or ProbeError("no mongo client")

    # ------------------------------------------------------------------- files
    def files(self, paths: list[str]) -> dict[str, Any]:
        out = self.run(["find"] + paths + ["-type", "f"])
        names = sorted(line for line in out.splitlines() if line)
        digest = hashlib.sha256("\n".join(names).encode()).hexdigest()
        return {"count": len(names), "sha256": digest, "files": names if len(names) <= 5000 else None}


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ------------------------------------------------------------------- facade
def fingerprint(kind: str | None, engine: Any, facts: ContainerFacts, paths: list[str]) -> dict[str, Any]:
    """{"kind": ..., "data": ...}; kind "files" when the knowledge base has no server probe."""
    prober = Prober(engine, facts)
    kind = kind if kind in ("postgres", "redis", "mysql", "mariadb", "mongo") else "files"
    if kind == "mariadb":
        kind = "mysql"
    method: Callable[[], dict[str, Any]] = {
        "postgres": prober.postgres,
        "redis": prober.redis,
        "mysql": prober.mysql,
        "mongo": prober.mongo,
        "files": lambda: prober.files(paths),
    }[kind]
    return {"kind": kind, "data": method()}


def verify(before: dict[str, Any], engine: Any, facts: ContainerFacts, paths: list[str]) -> list[str]:
    """What differs between the fingerprint taken before and the data the new container serves (empty: equal)."""
    kind = before["kind"]
    prober = Prober(engine, facts)
    if kind == "redis":
        return prober.redis_verify(before["data"])
    after = fingerprint(kind, engine, facts, paths)["data"]
    old = before["data"]
    if kind == "files":
        if old.get("files") is not None and after.get("files") is not None:
            missing = sorted(set(old["files"]) - set(after["files"]))
            return [f"{_n(len(missing), 'file')} missing, e.g. {', '.join(missing[:5])}"] if missing else []
        return [] if after["count"] >= old["count"] else [f"{old['count']} files before, {after['count']} now"]
    return describe_differences(old, after)


def describe_differences(old: Any, new: Any, where: str = "") -> list[str]:
    """Readable differences between two nested count dictionaries."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            path = f"{where}.{key}" if where else str(key)
            if key not in new:
                out.append(f"{path}: missing now")
            elif key not in old:
                out.append(f"{path}: new")
            else:
                out.extend(describe_differences(old[key], new[key], path))
        return out
    return [] if old == new else [f"{where}: {old} before, {new} now"]


def prestop(kind: str | None, engine: Any, facts: ContainerFacts) -> str | None:
    """A flush that must happen while the server still runs (redis SAVE); None when there is none."""
    if kind == "redis":
        return "redis SAVE: " + Prober(engine, facts).redis_prestop()
    return None


def _n(count: int, word: str, many: str | None = None) -> str:
    from holdfast.reporters._common import plural

    return plural(count, word, many)


def summarise(fp: dict[str, Any]) -> str:
    """One line for the step output: what the fingerprint covers."""
    data = fp.get("data") or {}
    kind = fp.get("kind")
    if kind == "postgres":
        dbs = data.get("databases", {})
        rows = sum(sum(t.values()) for t in dbs.values())
        tables = sum(len(t) for t in dbs.values())
        return f"{_n(len(dbs), 'database')}, {_n(tables, 'table')}, {_n(rows, 'row')}"
    if kind == "redis":
        dbs = data.get("dbs", {})
        return f"{_n(sum(d['keys'] for d in dbs.values()), 'key')} in {_n(len(dbs), 'database')}"
    if kind == "mysql":
        return f"{_n(len(data.get('tables', {})), 'table')}, {_n(sum(data.get('tables', {}).values()), 'row')}"
    if kind == "mongo":
        cols = data.get("collections", {})
        return f"{_n(len(cols), 'database')}, {_n(sum(sum(c.values()) for c in cols.values()), 'document')}"
    if kind == "archive":
        return f"{_n(data.get('entries', 0), 'entry', 'entries')} from the archive (container was not running)"
    return _n(data.get("count", 0), "file")


# ---------------------------------------------------------------- readiness
def wait_ready(
    engine: Any,
    container_id: str,
    *,
    readiness: list[str] | None,
    probe_kind: str | None,
    timeout: float,
    interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Wait until the container is healthy (health check) or ready (readiness command / probe); raise ProbeError with why not."""
    deadline = clock() + timeout
    last = "not checked yet"
    while True:
        facts = engine.inspect(container_id)
        if facts is None:
            raise ProbeError("the container disappeared")
        if facts.status in ("exited", "dead"):
            raise ProbeError(f"the container stopped (exit code {facts.exit_code}); last log lines:\n{engine.logs(container_id, 15)}")
        if facts.status == "restarting":
            last = "restarting (crash loop?)"
        elif facts.healthcheck:
            if facts.health_status == "healthy":
                return "health check: healthy"
            if facts.health_status == "unhealthy":
                last = "health check reports unhealthy"
            else:
                last = f"health check: {facts.health_status or 'starting'}"
        elif facts.status == "running":
            try:
                if readiness:
                    Prober(engine, facts).run(list(readiness))
                    return f"`{shlex.join(readiness)}` succeeded"
                if probe_kind in ("postgres", "redis", "mysql", "mariadb", "mongo"):
                    fingerprint(probe_kind, engine, facts, [])
                    return f"{probe_kind} answers"
                return "running (no readiness check known for this image)"
            except ProbeError as exc:
                last = str(exc)
        if clock() >= deadline:
            raise ProbeError(f"not ready after {timeout:.0f}s: {last}")
        sleep(interval)


# ------------------------------------------------------------------- sizing
def _first_number(text: str) -> int | None:
    head = text.split()[0] if text.split() else ""
    return int(head) if head.isdigit() else None


def data_sizes(engine: Any, container_id: str, path: str) -> tuple[int | None, int | None]:
    """(apparent bytes, allocated bytes) under `path`, measured inside a running container.

    They differ both ways: a sparse file's apparent size is far larger than what it
    allocates (and the restore writes every byte of it), while many small files allocate
    more than their length. GNU `du` gives both; busybox has no apparent size, so the
    lengths are summed with `find ... -exec stat`. A value that cannot be read is None."""
    apparent = allocated = None
    try:
        code, out = engine.exec(container_id, ["du", "-sk", path])
        if code == 0 and _first_number(out) is not None:
            allocated = int(_first_number(out) or 0) * 1024
        code, out = engine.exec(container_id, ["du", "-sb", path])
        if code == 0 and _first_number(out) is not None:
            apparent = _first_number(out)
        else:
            code, out = engine.exec(container_id, ["find", path, "-xdev", "-type", "f", "-exec", "stat", "-c", "%s", "{}", "+"])
            if code == 0:
                apparent = sum(int(line) for line in out.split() if line.isdigit())
    except Exception:  # noqa: BLE001 - sizing is an estimate; the archive is measured again before anything is removed
        pass
    return apparent, allocated


def planned_size(engine: Any, container_id: str, path: str) -> int | None:
    """The larger of the apparent and the allocated size (None when neither could be read)."""
    known = [size for size in data_sizes(engine, container_id, path) if size is not None]
    return max(known) if known else None

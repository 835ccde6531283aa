"""Fingerprints, readiness and the tar index, with a scripted `exec` instead of a server."""

from __future__ import annotations

import io
import re
import tarfile

import pytest
from holdfast.apply import probes
from holdfast.apply.host import ContainerFacts
from holdfast.apply.tarindex import TarFormatError, index_file, index_stream
from test_plan_fakes import attrs


class Scripted:
    """An engine whose `exec` answers from (regex on the joined argv -> output) rules, recording the calls."""

    def __init__(self, rules: list[tuple[str, str]], facts: ContainerFacts | None = None):
        self.rules = rules
        self.calls: list[list[str]] = []
        self.facts = facts
        self.states: list[dict] = []

    def exec(self, cid, argv, user=None, env=None):
        self.calls.append(list(argv))
        joined = " ".join(argv)
        for pattern, out in self.rules:
            if re.search(pattern, joined):
                return (0, out) if not out.startswith("!") else (1, out[1:])
        return 127, "not found"

    def inspect(self, cid):
        if self.states:
            raw = self.states.pop(0) if len(self.states) > 1 else self.states[0]
            return ContainerFacts.from_attrs(raw)
        return self.facts

    def logs(self, cid, tail=20):
        return "FATAL: could not open file"


def facts(env=None, cmd=None, status="running") -> ContainerFacts:
    return ContainerFacts.from_attrs(attrs("a" * 64, project="p", service="s", image_ref="x", image_id="sha256:" + "0" * 64, env=env, cmd=cmd, status=status))


def test_postgres_fingerprint_counts_every_table_of_every_database():
    engine = Scripted(
        [
            (r"from pg_database", "mastodon\npostgres\n"),
            (r"-c select n.nspname", "public\taccounts\npublic\tstatuses\n"),
            (r"union all", "public.accounts\t500\npublic.statuses\t2000\n"),
        ]
    )
    fp = probes.fingerprint("postgres", engine, facts({"POSTGRES_USER": "mastodon", "POSTGRES_PASSWORD": "pw"}), [])
    assert fp == {"kind": "postgres", "data": {"databases": {"mastodon": {"public.accounts": 500, "public.statuses": 2000}, "postgres": {"public.accounts": 500, "public.statuses": 2000}}}}
    count = next(c for c in engine.calls if "union all" in c[-1])[-1]
    assert 'from "public"."accounts"' in count
    assert probes.summarise(fp) == "2 databases, 4 tables, 5000 rows"


def test_postgres_differences_are_named():
    before = {"databases": {"m": {"public.accounts": 500}}}
    after = {"databases": {"m": {"public.accounts": 0, "public.new": 1}}}
    assert probes.describe_differences(before, after) == ["databases.m.public.accounts: 500 before, 0 now", "databases.m.public.new: new"]


def test_redis_fingerprint_samples_persistent_keys_and_verify_tolerates_expiry():
    rules = [
        (r"INFO keyspace", "# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=100\r\n"),
        (r"-n 0 SCAN", "0\nk1\nk2\ntemp\n"),
        (r"-n 0 EVAL", "-1\n-1\n5000\n"),
    ]
    engine = Scripted(rules)
    fp = probes.fingerprint("redis", engine, facts(cmd=["redis-server", "--port", "7000", "--requirepass", "s3"]), [])
    assert fp["data"] == {"dbs": {"0": {"keys": 3, "expires": 1, "sample": ["k1", "k2"]}}}
    assert all(call[:3] == ["redis-cli", "-p", "7000"] for call in engine.calls)
    # the key with a TTL expired meanwhile: fine; both sampled persistent keys are back
    after = Scripted([(r"INFO keyspace", "db0:keys=2,expires=0,avg_ttl=0\n"), (r"SCAN", "0\nk1\nk2\n"), (r"EVAL", "-1\n-1\n"), (r"EXISTS k1 k2", "2\n")])
    assert probes.verify(fp, after, facts(), []) == []
    lost = Scripted([(r"INFO keyspace", "db0:keys=1,expires=0\n"), (r"SCAN", "0\nk1\n"), (r"EVAL", "-1\n"), (r"EXISTS", "1\n")])
    problems = probes.verify(fp, lost, facts(), [])
    assert "2 keys without expiry before, 1 now" in problems[0] and "only 1 of 2 sampled keys" in problems[1]


def test_redis_prestop_saves():
    engine = Scripted([(r"redis-cli SAVE", "OK\n")])
    assert probes.prestop("redis", engine, facts()) == "redis SAVE: OK"
    assert probes.prestop("postgres", engine, facts()) is None


def test_mysql_and_mongo_fingerprints():
    mysql = Scripted([(r"information_schema", "app\tusers\n"), (r"count\(\*\)", "app.users\t3\n")])
    assert probes.fingerprint("mariadb", mysql, facts({"MARIADB_ROOT_PASSWORD": "pw"}), [])["data"] == {"tables": {"app.users": 3}}
    assert mysql.calls[0][0] == "mariadb"
    mongo = Scripted([(r"^mongosh", '{"app": {"users": 4}}\n')])
    assert probes.fingerprint("mongo", mongo, facts(), [])["data"] == {"collections": {"app": {"users": 4}}}


def test_file_listing_fingerprint_for_images_without_a_probe():
    engine = Scripted([(r"^find /var/lib/x -type f", "/var/lib/x/b\n/var/lib/x/a\n")])
    fp = probes.fingerprint(None, engine, facts(), ["/var/lib/x"])
    assert fp["kind"] == "files" and fp["data"]["files"] == ["/var/lib/x/a", "/var/lib/x/b"]
    more = Scripted([(r"^find", "/var/lib/x/a\n/var/lib/x/b\n/var/lib/x/c\n")])
    assert probes.verify(fp, more, facts(), ["/var/lib/x"]) == []
    fewer = Scripted([(r"^find", "/var/lib/x/a\n")])
    assert probes.verify(fp, fewer, facts(), ["/var/lib/x"]) == ["1 file missing, e.g. /var/lib/x/b"]


def _health(status):
    raw = attrs("a" * 64, project="p", service="s", image_ref="x", image_id="sha256:" + "0" * 64)
    raw["Config"]["Healthcheck"] = {"Test": ["CMD", "true"]}
    raw["State"]["Health"] = {"Status": status}
    return raw


def test_wait_ready_uses_the_health_check_then_the_readiness_command():
    engine = Scripted([])
    engine.states = [_health("starting"), _health("healthy")]
    assert probes.wait_ready(engine, "a" * 64, readiness=None, probe_kind=None, timeout=10, sleep=lambda s: None) == "health check: healthy"
    ready = Scripted([(r"pg_isready", "accepting\n")], facts())
    assert "succeeded" in probes.wait_ready(ready, "a" * 64, readiness=["pg_isready"], probe_kind="postgres", timeout=10, sleep=lambda s: None)


def test_wait_ready_gives_up_with_the_reason():
    ticks = iter(range(100))
    engine = Scripted([(r"pg_isready", "!no response")], facts())
    with pytest.raises(probes.ProbeError, match="not ready after 5s: .*no response"):
        probes.wait_ready(engine, "a" * 64, readiness=["pg_isready"], probe_kind=None, timeout=5, sleep=lambda s: None, clock=lambda: next(ticks))
    exited = Scripted([], facts(status="exited"))
    with pytest.raises(probes.ProbeError, match="(?s)stopped .* could not open file"):
        probes.wait_ready(exited, "a" * 64, readiness=None, probe_kind=None, timeout=5, sleep=lambda s: None)


# ---------------------------------------------------------------- tar index
def _tar(fmt) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        top = tarfile.TarInfo("data")
        top.type = tarfile.DIRTYPE
        top.mode = 0o700
        tar.addfile(top)
        for name, size in (("data/PG_VERSION", 3), ("data/" + "n" * 150, 1500), ("data/big", 70000)):
            info = tarfile.TarInfo(name)
            info.size, info.uid, info.gid, info.mode = size, 999, 999, 0o600
            tar.addfile(info, io.BytesIO(b"z" * size))
        link = tarfile.TarInfo("data/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/abs/elsewhere"
        tar.addfile(link)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
@pytest.mark.parametrize("chunk", [1, 511, 4096, 1 << 20])
def test_tar_index_in_any_chunk_size(fmt, chunk):
    raw = _tar(fmt)
    index = index_stream(raw[i : i + chunk] for i in range(0, len(raw), chunk))
    assert index.complete and index.count == 5 and index.file_bytes == 71503
    assert index.entries[0].name == "data" and index.entries[0].mode == 0o700
    assert index.entries[2].name == "data/" + "n" * 150
    assert index.entries[-1].type == "symlink" and index.entries[-1].linkname == "/abs/elsewhere"
    file_index = index_file(io.BytesIO(raw))
    assert file_index.complete and [e.name for e in file_index.entries] == [e.name for e in index.entries]


def test_tar_index_detects_truncation_and_corruption():
    raw = _tar(tarfile.PAX_FORMAT)
    assert not index_stream([raw[: len(raw) // 2]]).complete
    corrupt = bytearray(raw)
    corrupt[10] ^= 0xFF
    with pytest.raises(TarFormatError):
        index_stream([bytes(corrupt)])


def test_progress_bar_only_on_a_terminal(monkeypatch):
    from holdfast.apply.console import Console, human_bytes

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    ticks = iter([0.0, 0.5, 1.0, 1.5, 2.0])
    monkeypatch.setattr("holdfast.apply.console.time.monotonic", lambda: next(ticks))
    tty = Terminal()
    bar = Console(out=io.StringIO(), err=tty).progress("archive db", 100 << 20)
    bar.update(50 << 20)
    bar.finish()
    assert "archive db [############------------] 50.0 MiB / ~100.0 MiB" in tty.getvalue()
    piped = io.StringIO()
    quiet = Console(out=io.StringIO(), err=piped).progress("archive db", 100)
    quiet.update(50)
    quiet.finish()
    assert piped.getvalue() == "" and human_bytes(1536) == "1.5 KiB"


# ------------------------------------------------------------------- sizing
def test_sizes_take_the_larger_of_apparent_and_allocated():
    """A 2 GiB sparse file allocates 676 KiB: the plan must count the 2 GiB the restore writes."""
    sparse = Scripted([(r"^du -sk /data$", "676\t/data\n"), (r"^du -sb /data$", "2147487746\t/data\n")])
    assert probes.data_sizes(sparse, "c", "/data") == (2147487746, 676 * 1024)
    assert probes.planned_size(sparse, "c", "/data") == 2147487746
    small_files = Scripted([(r"^du -sk", "4000\t/data\n"), (r"^du -sb", "120000\t/data\n")])
    assert probes.planned_size(small_files, "c", "/data") == 4000 * 1024


def test_sizes_without_gnu_du_sum_the_lengths():
    busybox = Scripted([(r"^du -sk", "8\t/data\n"), (r"^du -sb", "!du: invalid option -- 'b'"), (r"^find /data -xdev -type f -exec stat -c %s", "1000\n268435459\n")])
    assert probes.data_sizes(busybox, "c", "/data") == (268436459, 8192)
    assert probes.planned_size(Scripted([]), "c", "/data") is None

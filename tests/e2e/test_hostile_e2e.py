"""A hostile container's data through `plan` + `apply` on the real engine.

The container's data is attacker-controlled and holdfast runs as root. Files are
planted with `docker exec` (as root inside the container) before the rescue:
setuid/setgid files, device nodes, symlinks out of the tree (relative, absolute,
loops), hard links, a FIFO, a 1,200-deep tree, names with a backslash, a newline,
escape bytes and invalid UTF-8, a sparse file; then the disk fills during the
archive and during the restore (a small tmpfs as the project folder), and the
bind target is a symlink out of the project. For each case: nothing outside the
bind target and backup folder changed, no setuid file or device node on the host,
the data intact, every backup kept, one clear line where something was refused.

Everything is checked with the docker CLI, `find`, `os.lstat` and the servers' own
clients, never with holdfast's walks. Several hostile files share one container so
the module stays short on a 2-core machine.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
from pathlib import Path

import pytest

from holdfast.hookspecs import hookimpl
from live_project import ComposeProject

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DEEP = 1200
SPARSE = 256 * 1024 * 1024
NAMES = [b"back\\slash", b"new\nline", b"esc\x1b[31mred", b"bad\xff\xfeutf8"]
PLANT_REDIS = r"""
set -e
cd /data
cp /bin/sh suid && chmod 4755 suid
cp /bin/sh sgid && chmod 2755 sgid
mkdir sgdir && chmod 2775 sgdir
mkfifo fifo
ln -s ../../../../../../../etc/shadow rel-escape
ln -s /etc/passwd abs-link
ln -s / root-link
ln -s loop-b loop-a && ln -s loop-a loop-b
echo hello > linked && ln linked linked2 && mkdir sub && ln linked sub/linked3
d=deep; i=0; while [ $i -lt 1200 ]; do d=$d/d; i=$((i+1)); done; mkdir -p $d && echo bottom > $d/f
printf 1 > "$(printf 'back\\slash')"
printf 2 > "$(printf 'new\nline')"
printf 3 > "$(printf 'esc\033[31mred')"
printf 4 > "$(printf 'bad\377\376utf8')"
truncate -s 268435456 sparse && printf END >> sparse
"""
PLANT_PG = r"""
set -e
cd /var/lib/postgresql/data
ln -s ../../../../../etc escape
cp /bin/sh suid && chmod 4755 suid
"""


def run(argv: list[str], cwd: Path | None = None, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} exited {result.returncode}:\n{result.stdout!r}\n{result.stderr!r}")
    return result


class Project(ComposeProject):
    """db and/or redis with a small data set, whose data the tests make hostile with `exec`."""

    def __init__(self, root: Path, compose: list[str], services: tuple[str, ...] = ("db", "redis")):
        body = {"db": "  db:\n    image: postgres:alpine\n", "redis": "  redis:\n    image: redis:alpine\n"}
        super().__init__(root, compose, "hostile", "services:\n" + "".join(body[s] for s in services), "docker-compose.yml", services)

    def write_data(self) -> None:
        if "db" in self.services:
            self.psql("create table t (id int); insert into t select generate_series(1, 300)")
        self.redis("EVAL", "for i = 1, 50 do redis.call('SET', 'k' .. i, 'v' .. i) end return 1", "0")
        self.redis("SAVE")

    def assert_data(self) -> None:
        self.wait_ready()
        if "db" in self.services:
            assert self.psql("select count(*), sum(id) from t") == "300|45150"
        assert self.redis("DBSIZE") == "50"
        assert self.redis("GET", "k37") == "v37"


def start(root: Path, compose: list[str], services: tuple[str, ...] = ("db", "redis")) -> Project:
    project = Project(root, compose, services)
    project.start()
    return project


@pytest.fixture(scope="module")
def engine(images):
    from holdfast.apply.host import Engine

    return Engine.connect()


def quiet():
    from holdfast.apply.console import Console

    return Console(out=io.StringIO(), err=io.StringIO(), interactive=False)


def make_plan(project: Project, engine):
    from holdfast.apply.cli import make_plans
    from holdfast.cli import build_config

    config = build_config((str(project.dir),), None, None, None, None)
    plans, notes = make_plans((str(project.dir),), (), config, engine)
    assert len(plans) == 1, notes
    for service in plans[0].services:
        project.volumes.update(m.volume for m in service.moves if m.volume)
    return plans[0]


def apply(plan, engine, backup: Path, plugins=()):
    from holdfast.apply.cli import run_apply

    console = quiet()
    code = run_apply(plan, engine=engine, backup_dir=str(backup), yes=True, console=console, extra_plugins=list(plugins))
    return code, console.out.getvalue() + console.err.getvalue()


def snapshot(root: Path, skip: tuple[str, ...]) -> dict[str, tuple]:
    """Every entry under `root` (but the skipped top-level names) with type, mode, size and sha256: what must not change."""
    out = {}
    for directory, dirs, files in os.walk(root):
        if Path(directory) == root:
            dirs[:] = [d for d in dirs if d not in skip]
            files = [f for f in files if f not in skip]
        for name in dirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else ""
            out[os.path.relpath(path, root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_size, digest)
    return out


OWN = ("data", "backup", "docker-compose.yml", ".holdfast-apply.lock")  # what apply may write: the binds, the backups, the patch, its lock


def host_files() -> dict[str, str]:
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in ("/etc/passwd", "/etc/shadow", "/etc/group")}


def privileged_or_devices(folder: Path) -> list[str]:
    """setuid/setgid entries and device nodes under `folder`, found with find(1)."""
    out = run(["find", str(folder), "(", "-perm", "/6000", "-o", "-type", "b", "-o", "-type", "c", ")", "-print0"]).stdout
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def assert_backups_kept(plan, backup: Path) -> None:
    assert (backup / "journal.jsonl").exists()
    for service in plan.services:
        for move in service.moves:
            archive = backup / move.archive
            assert archive.exists() and (backup / (move.archive + ".sha256")).exists(), archive
            digest = hashlib.sha256(archive.read_bytes()).hexdigest()
            assert (backup / (move.archive + ".sha256")).read_text().split()[0] == digest
    assert not list(backup.rglob("*.part"))


# ------------------------------------------------------------------- the cases
def test_hostile_tree_is_restored_without_privileges(images, engine, compose_flavour, tmp_path):
    """setuid/setgid, links out of the tree, hard links, a FIFO, 1,200 levels, odd names, a sparse file: restored safely."""
    project = start(tmp_path, compose_flavour)
    try:
        project.exec("redis", PLANT_REDIS)
        project.exec("db", PLANT_PG)
        before_host = host_files()
        (project.dir / "keep.txt").write_text("mine\n")
        before = snapshot(project.dir, OWN)
        plan = make_plan(project, engine)
        redis_move = next(s for s in plan.services if s.name == "redis").moves[0]
        db_move = next(s for s in plan.services if s.name == "db").moves[0]
        assert redis_move.size_bytes >= SPARSE, "sized by apparent size too, not only by what du -sk allocates"
        backup = project.dir / "backup"
        code, out = apply(plan, engine, backup)
        assert code == 0, out
        assert "removed the setuid/setgid bit" in out and "suid" in out

        redis, pg = Path(redis_move.bind_source), Path(db_move.bind_source)
        assert redis.parent == pg.parent == project.dir / "data"
        assert privileged_or_devices(redis) == [] and privileged_or_devices(pg) == []
        assert stat.S_IMODE(os.lstat(redis).st_mode) == 0o755 and stat.S_IMODE(os.lstat(pg).st_mode) == 0o700, "final modes: the container's own"
        assert "they can read the data" in out and "chmod o-rwx" in out
        assert stat.S_IMODE(os.lstat(redis / "suid").st_mode) == 0o755
        assert stat.S_IMODE(os.lstat(redis / "sgdir").st_mode) == 0o775
        assert os.readlink(redis / "rel-escape") == "../../../../../../../etc/shadow"
        assert os.readlink(redis / "abs-link") == "/etc/passwd" and os.readlink(redis / "root-link") == "/"
        assert os.readlink(redis / "loop-a") == "loop-b" and os.readlink(redis / "loop-b") == "loop-a"
        assert os.readlink(pg / "escape") == "../../../../../etc"
        inode = os.lstat(redis / "linked").st_ino
        assert os.lstat(redis / "linked2").st_ino == inode == os.lstat(redis / "sub" / "linked3").st_ino
        assert stat.S_ISFIFO(os.lstat(redis / "fifo").st_mode)
        assert (redis / ("deep" + "/d" * DEEP) / "f").read_text() == "bottom\n"
        listed = set(os.listdir(os.fsencode(redis)))
        for number, name in enumerate(NAMES, 1):
            assert name in listed, name
            assert Path(os.fsdecode(os.fsencode(redis) + b"/" + name)).read_bytes() == str(number).encode()
        sparse = redis / "sparse"
        assert sparse.stat().st_size == SPARSE + 3
        with open(sparse, "rb") as handle:
            handle.seek(SPARSE)
            assert handle.read() == b"END"
        assert sparse.stat().st_blocks * 512 < 16 * 1024 * 1024, "restored sparse: only the data ranges were written"
        archive = backup / redis_move.archive
        assert os.stat(archive).st_blocks * 512 < 64 * 1024 * 1024, "the backup keeps the zeros as holes"
        assert stat.S_IMODE(os.stat(backup).st_mode) == 0o700

        assert host_files() == before_host
        assert snapshot(project.dir, OWN) == before
        assert_backups_kept(plan, backup)
        project.assert_data()
    finally:
        project.teardown()


def test_device_nodes_are_refused_before_anything_is_removed(images, engine, tmp_path):
    project = start(tmp_path, ["docker", "compose"], ("redis",))
    try:
        container = project.container("redis")
        project.exec("redis", "cd /data && mknod disk b 7 0 && mknod tty c 5 0 && chmod 666 disk tty && cp /bin/sh suid && chmod 4755 suid")
        plan = make_plan(project, engine)
        backup = project.dir / "backup"
        code, out = apply(plan, engine, backup)
        assert code == 3, out
        refusal = [line for line in out.splitlines() if "device node" in line]
        assert len(refusal) == 1 and "data/disk" in refusal[0] and "every backup is kept" in refusal[0], out
        assert "Nothing was removed or changed" in out
        assert project.container("redis") == container, "the original container is kept"
        bind = Path(plan.services[0].moves[0].bind_source)
        assert not bind.exists() or privileged_or_devices(bind) == []
        assert_backups_kept(plan, backup)
        project.assert_data()
    finally:
        project.teardown()


def test_bind_target_symlink_out_of_the_project_is_refused(images, engine, tmp_path):
    project = start(tmp_path, ["docker", "compose"], ("redis",))
    outside = tmp_path / "outside"
    outside.mkdir()
    try:
        plan = make_plan(project, engine)
        bind = Path(plan.services[0].moves[0].bind_source)
        bind.parent.mkdir(parents=True, exist_ok=True)
        bind.symlink_to(outside)
        code, out = apply(plan, engine, project.dir / "backup")
        assert code == 3, out
        assert len([line for line in out.splitlines() if "symbolic link" in line]) == 1, out
        assert list(outside.iterdir()) == []
        project.assert_data()
    finally:
        project.teardown()


class Fill:
    """Fills the file system of `folder` before step `step_id`, leaving `leave` bytes (another process eating the disk)."""

    def __init__(self, folder: Path, step_id: str, leave: int = 512 * 1024):
        self.folder, self.step_id, self.leave = folder, step_id, leave
        self.filler = folder / "filler"

    @hookimpl
    def holdfast_before_step(self, step, context):
        if step.id != self.step_id:
            return
        free = os.statvfs(self.folder).f_bavail * os.statvfs(self.folder).f_frsize
        with open(self.filler, "wb") as handle:
            handle.write(os.urandom(1024) * ((free - self.leave) // 1024))

    def release(self) -> None:
        self.filler.unlink()


@pytest.fixture
def small_disk(tmp_path):
    """A 96 MiB tmpfs as the project folder (root is needed to mount it)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)])
    try:
        yield mount
    finally:
        run(["umount", "-l", str(mount)], check=False)


def test_disk_full_during_archive_and_during_restore(images, engine, small_disk):
    project = start(small_disk, ["docker", "compose"], ("redis",))
    try:
        project.exec("redis", "head -c 8388608 /dev/urandom > /data/blob; d=/data/deep; i=0; while [ $i -lt 1200 ]; do d=$d/d; i=$((i+1)); done; mkdir -p $d && echo bottom > $d/f")
        blob = hashlib.sha256(run(["docker", "exec", project.container("redis"), "cat", "/data/blob"]).stdout).hexdigest()
        plan = make_plan(project, engine)
        backup = project.dir / "backup"

        fill = Fill(project.dir, "archive:redis")
        code, out = apply(plan, engine, backup, [fill])
        assert code == 1, out
        assert len([line for line in out.splitlines() if "is full" in line]) == 1, out
        assert "Nothing was removed or changed" in out
        assert not list(backup.rglob("*.part")), "the partial archive is removed"
        fill.release()
        project.assert_data()

        fill = Fill(project.dir, "restore:redis")
        code, out = apply(plan, engine, backup, [fill])
        assert code == 1, out
        assert len([line for line in out.splitlines() if "is full" in line]) == 1, out
        assert_backups_kept(plan, backup)
        fill.release()
        code, out = apply(plan, engine, backup)  # resumed: completes the restore
        assert code == 0, out
        bind = Path(plan.services[0].moves[0].bind_source)
        assert privileged_or_devices(bind) == []
        assert hashlib.sha256((bind / "blob").read_bytes()).hexdigest() == blob
        assert (bind / ("deep" + "/d" * DEEP) / "f").read_text() == "bottom\n", "a 1,200-deep tree survives a resumed restore"
        assert_backups_kept(plan, backup)
        project.assert_data()
    finally:
        project.teardown()

"""A small live Compose project (postgres + redis, data on anonymous volumes) for the control e2e tests.

Data is written and checked with psql and redis-cli through `docker exec`, never with
holdfast's probes, so the checks are independent of the code under test. Everything
is driven through the real `holdfast` command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

COMPOSE_TEXT = """services:
  db:
    image: postgres:alpine
    environment:
      POSTGRES_PASSWORD: example
  redis:
    image: redis:alpine
"""
ROWS = 300


def run(argv: list[str], cwd: Path | None = None, check: bool = True, timeout: int = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, errors="replace", timeout=timeout, check=False, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


class ComposeProject:
    """A Compose project with a unique name in its own folder, driven by the real CLIs.

    The one harness of the end-to-end suites: Compose commands, the containers'
    state from `docker inspect`, readiness and data through psql and redis-cli, and a
    teardown that removes only what this project made.
    """

    def __init__(self, root: Path, compose: list[str], purpose: str, text: str = COMPOSE_TEXT, file_name: str = "compose.yaml", services: tuple[str, ...] = ("db", "redis")):
        self.name = f"hf-{purpose}-{uuid.uuid4().hex[:8]}"
        self.dir = root / self.name
        self.dir.mkdir(parents=True)
        self.file = self.dir / file_name
        self.file.write_text(text, encoding="utf-8")
        self.compose_argv = compose
        self.flavour = "v1" if compose == ["docker-compose"] else "v2"
        self.services = services
        self.volumes: set[str] = set()
        self.case = 0

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "HOLDFAST_COMPOSE": self.flavour}

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run([*self.compose_argv, "-p", self.name, *args], cwd=self.dir, check=check)

    def holdfast(self, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
        return run(["holdfast", *args], cwd=self.dir, check=False, timeout=timeout, env=self.env)

    def container(self, service: str) -> str:
        out = run(["docker", "ps", "-aq", "--no-trunc", "--filter", f"label=com.docker.compose.project={self.name}", "--filter", f"label=com.docker.compose.service={service}", "--filter", "label=com.docker.compose.oneoff=False"]).stdout.split()
        assert len(out) == 1, f"expected one {service} container, found {out}"
        return out[0]

    def state(self, service: str) -> dict:
        return json.loads(run(["docker", "inspect", self.container(service)]).stdout)[0]

    def mounts(self, service: str) -> list[dict]:
        return self.state(service)["Mounts"]

    def exec(self, service: str, script: str) -> None:
        """Run a shell script as root inside the service's container."""
        run(["docker", "exec", "-u", "0", self.container(service), "sh", "-c", script])

    def remember_volumes(self) -> None:
        for service in self.services:
            try:
                self.volumes.update(m["Name"] for m in self.mounts(service) if m["Type"] == "volume")
            except AssertionError:
                pass

    def start(self) -> None:
        """`up -d`, wait until the servers answer, write the data set, note the volumes."""
        self.compose("up", "-d", *self.services)
        self.wait_ready()
        self.write_data()
        self.remember_volumes()

    def write_data(self) -> None:
        """The data set the subclass checks in `assert_data`."""

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                ready = True
                if "db" in self.services:
                    ready &= run(["docker", "exec", self.container("db"), "pg_isready", "-h", "127.0.0.1", "-U", "postgres"], check=False).returncode == 0
                if "redis" in self.services:
                    ready &= run(["docker", "exec", self.container("redis"), "redis-cli", "ping"], check=False).stdout.strip() == "PONG"
                if ready:
                    return
            except AssertionError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"project {self.name} not ready after {timeout}s")
            time.sleep(0.5)

    def psql(self, sql: str, database: str = "postgres") -> str:
        return run(["docker", "exec", self.container("db"), "psql", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql]).stdout.strip()

    def redis(self, *args: str) -> str:
        return run(["docker", "exec", self.container("redis"), "redis-cli", *args]).stdout.strip()

    def teardown(self) -> None:
        self.remember_volumes()
        self.compose("down", "-v", check=False)
        for volume in self.volumes:
            run(["docker", "volume", "rm", volume], check=False)
        for helper in run(["docker", "ps", "-aq", "--filter", "label=org.holdfast.helper"], check=False).stdout.split():
            mounts = run(["docker", "inspect", "-f", "{{json .Mounts}}", helper], check=False).stdout
            if str(self.dir) in mounts:  # only helpers of this project (an interrupted restore may leave one)
                run(["docker", "rm", "-fv", helper], check=False)
        run(["rm", "-rf", "--one-file-system", str(self.dir)], check=False)  # rm(1): deep trees defeat shutil.rmtree


class LiveProject(ComposeProject):
    """postgres + redis on anonymous volumes with a small data set, for the apply control tests."""

    def __init__(self, root: Path, compose: list[str], purpose: str):
        super().__init__(root, compose, purpose)

    # ---------------------------------------------------------------- data
    def up(self) -> None:
        self.start()

    def write_data(self) -> None:
        self.psql(f"create table items (id serial primary key, body text); insert into items (body) select md5(g::text) from generate_series(1, {ROWS}) g;")
        self.redis("SET", "kept", "yes")
        self.redis("EVAL", "for i = 1, 50 do redis.call('SET', 'k' .. i, i) end return 1", "0")

    def rows(self) -> int:
        return int(self.psql("select count(*) from items"))

    def assert_data(self, rows: int = ROWS) -> None:
        self.wait_ready()
        assert self.rows() == rows
        assert self.psql("select md5(string_agg(body, ',' order by id)) from items where id <= 300") == self.psql(
            "select md5(string_agg(md5(g::text), ',' order by g)) from generate_series(1, 300) g"
        )
        assert self.redis("GET", "kept") == "yes" and self.redis("GET", "k37") == "37"

    def assert_running(self) -> None:
        for service in ("db", "redis"):
            assert self.state(service)["State"]["Status"] == "running", service

    def assert_original_layout(self) -> None:
        assert [(m["Type"], m["Destination"]) for m in self.mounts("db")] == [("volume", "/var/lib/postgresql/data")]
        assert [(m["Type"], m["Destination"]) for m in self.mounts("redis")] == [("volume", "/data")]
        assert self.file.read_text(encoding="utf-8") == COMPOSE_TEXT

    def assert_binds(self) -> None:
        assert [(m["Type"], m["Source"]) for m in self.state("db")["Mounts"]] == [("bind", str(self.dir / "data" / "db"))]
        assert [(m["Type"], m["Source"]) for m in self.state("redis")["Mounts"]] == [("bind", str(self.dir / "data" / "redis"))]

    def plan(self, output: str) -> dict:
        made = self.holdfast("plan", ".", "-o", output)
        assert made.returncode == 0 and "wrote" in made.stdout, made.stdout + made.stderr
        plan = json.loads((self.dir / output).read_text())
        self.volumes.update(m["volume"] for s in plan["services"] for m in s["moves"] if m["volume"])
        return plan

    def set_aside_binds(self) -> None:
        """After a rollback the bind folders keep the apply's copy; move them away so the next plan's targets are empty."""
        self.case += 1
        path = self.dir / "data"
        if path.exists():
            path.rename(self.dir / f".data.case{self.case}")

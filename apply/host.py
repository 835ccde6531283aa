"""The live host: which engine, which containers, and what they hold.

Everything else in holdfast reasons about plain data (`ContainerFacts`,
`MountFact`); this module is the one place that imports `docker` (lazily), so
unit tests can swap `Engine` for a fake and `holdfast lint` never loads the SDK.

Containers are found by Compose's labels (`com.docker.compose.project`,
`.service`, `.oneoff`), never by guessing names: v1 calls them `mastodon_db_1`,
v2 `mastodon-db-1`, and `container_name:` can call them anything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from holdfast.apply.errors import EngineUnavailable

LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
LABEL_ONEOFF = "com.docker.compose.oneoff"
LABEL_NUMBER = "com.docker.compose.container-number"
LABEL_WORKING_DIR = "com.docker.compose.project.working_dir"
LABEL_CONFIG_FILES = "com.docker.compose.project.config_files"
LABEL_ENV_FILE = "com.docker.compose.project.environment_file"
LABEL_HELPER = "org.holdfast.helper"  # containers holdfast creates to restore data; nothing else is ever removed with v=True

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# Every call to the engine is bounded. CLIENT_TIMEOUT is the socket read timeout of an
# ordinary call (stop() adds the container's grace period on top); STREAM_TIMEOUT bounds
# a stall inside an archive stream (no byte for that long = the stream is dead);
# EXEC_TIMEOUT bounds a probe (counting the rows of a big database takes a while).
CLIENT_TIMEOUT = 120
STREAM_TIMEOUT = 120
EXEC_TIMEOUT = 900
NEVER_STARTED = "0001-01-01T00:00:00Z"


# ---------------------------------------------------------------- endpoint
@dataclass(frozen=True)
class Endpoint:
    """Where the engine is, and how Compose must be told to reach the same one."""

    url: str
    source: str  # "--host", "DOCKER_HOST", "context <name>", "default"
    tls_dir: str | None = None  # folder with ca.pem, cert.pem, key.pem (contexts and DOCKER_CERT_PATH)
    tls_verify: bool = False

    @property
    def local(self) -> bool:
        """True when bind sources are paths on THIS machine (so the host filesystem can be checked directly)."""
        return self.url.startswith(("unix://", "npipe://"))

    def compose_env(self) -> dict[str, str]:
        """Environment for a Compose subprocess so it talks to this engine and no other."""
        env = {"DOCKER_HOST": self.url}
        if self.tls_dir:
            env["DOCKER_CERT_PATH"] = self.tls_dir
            if self.tls_verify:
                env["DOCKER_TLS_VERIFY"] = "1"
        return env


def resolve_endpoint(host: str | None = None, environ: dict[str, str] | None = None) -> Endpoint:
    """`--host`, then DOCKER_HOST, then the current Docker context, then the default socket."""
    environ = dict(os.environ if environ is None else environ)
    if host:
        return Endpoint(host, "--host")
    if environ.get("DOCKER_HOST"):
        cert = environ.get("DOCKER_CERT_PATH") or None
        return Endpoint(environ["DOCKER_HOST"], "DOCKER_HOST", cert, environ.get("DOCKER_TLS_VERIFY", "") not in ("", "0"))
    context = _current_context(environ)
    if context is not None:
        return context
    return Endpoint(DEFAULT_SOCKET, "default")


def _current_context(environ: dict[str, str]) -> Endpoint | None:
    """The endpoint of the current Docker context, as `docker context inspect` reports it."""
    name = environ.get("DOCKER_CONTEXT")
    if not name:
        config_dir = environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
        try:
            with open(os.path.join(config_dir, "config.json"), encoding="utf-8") as handle:
                name = json.load(handle).get("currentContext")
        except (OSError, ValueError):
            name = None
    if not name or name == "default":
        return None
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        raise EngineUnavailable(f"Docker context {name!r} is selected but the docker CLI is not installed to read it; pass --host")
    try:
        result = subprocess.run([docker_cli, "context", "inspect", name], capture_output=True, text=True, timeout=20, env=environ, check=False)
        data = json.loads(result.stdout)[0] if result.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        data = None
    if not data:
        raise EngineUnavailable(f"cannot read Docker context {name!r} (`docker context inspect {name}` failed); pass --host")
    endpoint = (data.get("Endpoints") or {}).get("docker") or {}
    url = endpoint.get("Host") or DEFAULT_SOCKET
    tls_path = ((data.get("Storage") or {}).get("TLSPath")) or None
    tls_dir = os.path.join(tls_path, "docker") if tls_path and os.path.isdir(os.path.join(tls_path, "docker")) else None
    return Endpoint(url, f"context {name}", tls_dir, bool(tls_dir) and not endpoint.get("SkipTLSVerify", False))


# ------------------------------------------------------------------- facts
@dataclass(frozen=True)
class MountFact:
    """One entry of `docker inspect`'s `Mounts`: the runtime truth, not the compose file's wish."""

    type: str  # bind | volume | tmpfs | ...
    destination: str
    source: str = ""
    name: str = ""  # volumes only
    rw: bool = True
    anonymous: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "destination": self.destination, "source": self.source, "name": self.name, "rw": self.rw, "anonymous": self.anonymous}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MountFact:
        return cls(data["type"], data["destination"], data.get("source", ""), data.get("name", ""), data.get("rw", True), data.get("anonymous", False))


def _is_anonymous(name: str, labels: dict[str, str] | None = None) -> bool:
    if labels and "com.docker.volume.anonymous" in labels:
        return True
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


@dataclass
class ContainerFacts:
    """What holdfast needs to know about one container, read from `docker inspect`."""

    id: str
    name: str
    project: str
    service: str
    oneoff: bool
    number: int
    working_dir: str | None
    config_files: list[str]
    env_file: str | None
    image_ref: str  # Config.Image as written in the compose file
    image_id: str
    env: dict[str, str]
    cmd: list[str]
    entrypoint: list[str]
    user: str
    hostname: str
    healthcheck: dict[str, Any] | None
    health_status: str | None
    mounts: list[MountFact]
    status: str  # created | running | paused | restarting | exited | dead
    exit_code: int
    oom_killed: bool
    started_at: str
    stop_timeout: int | None
    stop_signal: str | None
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.status in ("running", "restarting", "paused")

    @property
    def ever_started(self) -> bool:
        return bool(self.started_at) and self.started_at != NEVER_STARTED

    def covering_mount(self, path: str) -> MountFact | None:
        """The mount holding `path`: the longest destination that is the path or a parent (deeper wins)."""
        from holdfast.mounts import is_within

        best = None
        for mount in self.mounts:
            if is_within(path, mount.destination) and (best is None or len(mount.destination) > len(best.destination)):
                best = mount
        return best

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any], volume_labels: dict[str, dict[str, str]] | None = None) -> ContainerFacts:
        """Build from the `docker inspect` dict (pure: unit tests feed recorded dicts)."""
        config = attrs.get("Config") or {}
        state = attrs.get("State") or {}
        labels = dict(config.get("Labels") or {})
        env: dict[str, str] = {}
        for item in config.get("Env") or []:
            key, _, value = item.partition("=")
            env[key] = value
        working_dir = labels.get(LABEL_WORKING_DIR) or None
        files = [f for f in (labels.get(LABEL_CONFIG_FILES) or "").split(",") if f]
        if working_dir:  # compose v1 writes the file names relative to the working dir
            files = [f if os.path.isabs(f) else os.path.normpath(os.path.join(working_dir, f)) for f in files]
        mounts = []
        for raw in attrs.get("Mounts") or []:
            name = raw.get("Name") or ""
            kind = raw.get("Type") or ("volume" if name else "bind")
            mounts.append(
                MountFact(
                    kind,
                    raw.get("Destination") or "",
                    raw.get("Source") or "",
                    name,
                    bool(raw.get("RW", True)),
                    kind == "volume" and _is_anonymous(name, (volume_labels or {}).get(name)),
                )
            )
        health = state.get("Health") or None
        check = config.get("Healthcheck") or None
        if check and (check.get("Test") or [""])[0] == "NONE":
            check = None
        try:
            number = int(labels.get(LABEL_NUMBER) or 1)
        except ValueError:
            number = 1
        return cls(
            id=attrs.get("Id") or "",
            name=(attrs.get("Name") or "").lstrip("/"),
            project=labels.get(LABEL_PROJECT, ""),
            service=labels.get(LABEL_SERVICE, ""),
            oneoff=labels.get(LABEL_ONEOFF, "False") == "True",
            number=number,
            working_dir=working_dir,
            config_files=files,
            env_file=labels.get(LABEL_ENV_FILE) or None,
            image_ref=config.get("Image") or "",
            image_id=attrs.get("Image") or "",
            env=env,
            cmd=list(config.get("Cmd") or []),
            entrypoint=list(config.get("Entrypoint") or []),
            user=config.get("User") or "",
            hostname=config.get("Hostname") or "",
            healthcheck=check,
            health_status=health.get("Status") if isinstance(health, dict) else None,
            mounts=mounts,
            status=state.get("Status") or "unknown",
            exit_code=int(state.get("ExitCode") or 0),
            oom_killed=bool(state.get("OOMKilled")),
            started_at=state.get("StartedAt") or "",
            stop_timeout=config.get("StopTimeout"),
            stop_signal=config.get("StopSignal"),
            labels=labels,
        )


@dataclass
class StopResult:
    exit_code: int
    oom_killed: bool
    status: str

    @property
    def killed(self) -> bool:
        """137 = 128 + SIGKILL: the grace period ran out (or OOM), the data is crash-consistent at best."""
        return self.exit_code == 137 or self.oom_killed


# ------------------------------------------------------------------ engine
class ArchiveStream:
    """The body of a GET archive, iterated in chunks; closing it closes the HTTP connection.

    Closing matters: the daemon keeps the container locked while it streams an
    archive, so a stream left open (an interrupted copy) makes a later `docker
    start` of the same container wait. Every open stream is in `registry` so the
    executor can close them all when it is interrupted."""

    def __init__(self, response: Any, chunk_size: int, registry: set[ArchiveStream]):
        self.response = response
        self.chunk_size = chunk_size
        self.registry = registry
        registry.add(self)

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.response.iter_content(self.chunk_size)  # undoes the transfer gzip the daemon may apply
        finally:
            self.close()

    def close(self) -> None:
        self.registry.discard(self)
        try:
            self.response.close()
        except Exception:  # noqa: BLE001 - closing a dead connection must not hide the real error
            pass


class Engine:
    """The operations holdfast performs on an engine, over the Docker SDK (tests use a fake with the same methods)."""

    def __init__(self, client: Any, endpoint: Endpoint):
        self.client = client
        self.endpoint = endpoint
        self.streams: set[ArchiveStream] = set()
        self.stopping: dict[str, float] = {}  # container id -> monotonic deadline of a stop in flight

    def close_streams(self) -> int:
        """Close every archive stream still open (after an interrupt); the number closed."""
        open_streams = list(self.streams)
        for stream in open_streams:
            stream.close()
        return len(open_streams)

    def _bounded(self, seconds: float) -> Any:
        """Run one SDK call with another socket timeout (the SDK reads `api.timeout` per request)."""
        import contextlib

        api = self.client.api

        @contextlib.contextmanager
        def switch() -> Iterator[None]:
            saved = api.timeout
            api.timeout = seconds
            try:
                yield
            finally:
                api.timeout = saved

        return switch()

    @classmethod
    def connect(cls, host: str | None = None, timeout: int = CLIENT_TIMEOUT) -> Engine:
        """Connect and ping; a clear one-line error when nothing answers."""
        endpoint = resolve_endpoint(host)
        try:
            import docker
            from docker.tls import TLSConfig
        except ImportError as exc:  # pragma: no cover - docker is a dependency
            raise EngineUnavailable(f"the Docker SDK is not installed: {exc}") from None
        tls: Any = False
        if endpoint.tls_dir:
            tls = TLSConfig(
                client_cert=(os.path.join(endpoint.tls_dir, "cert.pem"), os.path.join(endpoint.tls_dir, "key.pem")),
                ca_cert=os.path.join(endpoint.tls_dir, "ca.pem") if endpoint.tls_verify else None,
                verify=endpoint.tls_verify,
            )
        try:
            client = docker.DockerClient(base_url=endpoint.url, version="auto", timeout=timeout, tls=tls)
            client.ping()
        except Exception as exc:  # noqa: BLE001 - any failure here means "no engine"
            raise EngineUnavailable(f"no Docker engine answers at {endpoint.url} ({endpoint.source}): {exc}") from None
        return cls(client, endpoint)

    # -- facts
    def version(self) -> dict[str, Any]:
        data = self.client.version()
        return {"version": data.get("Version", "?"), "api_version": data.get("ApiVersion", "?"), "os": data.get("Os", "?")}

    def _facts(self, attrs: dict[str, Any]) -> ContainerFacts:
        labels: dict[str, dict[str, str]] = {}
        for mount in attrs.get("Mounts") or []:
            if mount.get("Type") == "volume" and mount.get("Name"):
                try:
                    labels[mount["Name"]] = self.client.api.inspect_volume(mount["Name"]).get("Labels") or {}
                except Exception:  # noqa: BLE001 - a volume that vanished is not anonymous-labelled
                    labels[mount["Name"]] = {}
        return ContainerFacts.from_attrs(attrs, labels)

    def inspect(self, container_id: str) -> ContainerFacts | None:
        import docker.errors

        try:
            return self._facts(self.client.api.inspect_container(container_id))
        except docker.errors.NotFound:
            return None

    def project_containers(self, project: str, service: str | None = None, oneoff: bool | None = None) -> list[ContainerFacts]:
        """Every container Compose created for the project (optionally one service), by label."""
        wanted = [f"{LABEL_PROJECT}={project}"]
        if service is not None:
            wanted.append(f"{LABEL_SERVICE}={service}")
        if oneoff is not None:
            wanted.append(f"{LABEL_ONEOFF}={'True' if oneoff else 'False'}")
        found = []
        for summary in self.client.api.containers(all=True, filters={"label": wanted}):
            facts = self.inspect(summary["Id"])
            if facts is not None:
                found.append(facts)
        found.sort(key=lambda f: (f.service, f.number, f.name))
        return found

    def all_compose_containers(self) -> list[ContainerFacts]:
        """Every Compose container on the engine (to find a project started under another name)."""
        return [f for f in (self.inspect(s["Id"]) for s in self.client.api.containers(all=True, filters={"label": [LABEL_PROJECT]})) if f is not None]

    def image_id(self, ref: str) -> str | None:
        """The local image a reference resolves to, or None (holdfast never pulls)."""
        import docker.errors

        try:
            return self.client.api.inspect_image(ref)["Id"]
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError:
            return None

    def image_config(self, image_id: str) -> dict[str, Any]:
        return (self.client.api.inspect_image(image_id).get("Config")) or {}

    def tag(self, image_id: str, ref: str) -> None:
        repository, tag = split_ref(ref)
        self.client.api.tag(image_id, repository, tag or "latest")

    def volume_size(self, name: str) -> int | None:
        """Size of a volume from `docker system df -v` (None when the engine does not say)."""
        try:
            for volume in self.client.df().get("Volumes") or []:
                if volume.get("Name") == name:
                    size = (volume.get("UsageData") or {}).get("Size", -1)
                    return size if size >= 0 else None
        except Exception:  # noqa: BLE001 - size is informative only
            return None
        return None

    def container_rw_size(self, container_id: str) -> int | None:
        try:
            return self.client.api.inspect_container(container_id, size=True).get("SizeRw")
        except Exception:  # noqa: BLE001
            return None

    # -- actions
    def stop(self, container_id: str, timeout: int) -> StopResult:
        import time

        self.stopping[container_id] = time.monotonic() + timeout + 15
        self.client.api.stop(container_id, timeout=timeout)  # the SDK waits CLIENT_TIMEOUT + timeout at most
        self.stopping.pop(container_id, None)
        facts = self.inspect(container_id)
        if facts is None:
            return StopResult(0, False, "removed")
        return StopResult(facts.exit_code, facts.oom_killed, facts.status)

    def start(self, container_id: str) -> None:
        self.client.api.start(container_id)

    def remove(self, container_id: str) -> None:
        """Remove a container but NEVER its volumes: the old anonymous volume is a second backup."""
        self.client.api.remove_container(container_id, v=False, force=False)

    def exec(self, container_id: str, argv: list[str], user: str | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
        """Run a command; stdout when it succeeds (server warnings on stderr must not corrupt parsing), both otherwise."""
        result = self.client.api.exec_create(container_id, argv, user=user or "", environment=env or None, stdout=True, stderr=True)
        with self._bounded(EXEC_TIMEOUT):
            stdout, stderr = self.client.api.exec_start(result["Id"], stream=False, demux=True)
        code = self.client.api.exec_inspect(result["Id"]).get("ExitCode")
        out = (stdout or b"").decode("utf-8", "replace")
        err = (stderr or b"").decode("utf-8", "replace")
        code = code if code is not None else -1
        return code, out if code == 0 else (out + err)

    def get_archive(self, container_id: str, path: str, chunk_size: int = 1024 * 1024) -> ArchiveStream:
        """The path as a tar stream; a stall of STREAM_TIMEOUT seconds raises, and the stream closes when done or dropped."""
        api = self.client.api
        response = api._get(api._url("/containers/{0}/archive", container_id), params={"path": path}, stream=True, timeout=STREAM_TIMEOUT, headers={"Accept-Encoding": "identity"})
        try:
            api._raise_for_status(response)
        except BaseException:
            response.close()
            raise
        return ArchiveStream(response, chunk_size, self.streams)

    def stat(self, container_id: str, path: str) -> dict[str, Any] | None:
        """The daemon's stat of a path in a container (HEAD archive): cheap, no data transferred."""
        import base64

        api = self.client.api
        response = api.head(api._url("/containers/{0}/archive", container_id), params={"path": path}, timeout=CLIENT_TIMEOUT)
        if response.status_code == 404:
            return None
        api._raise_for_status(response)
        header = response.headers.get("X-Docker-Container-Path-Stat")
        return json.loads(base64.b64decode(header)) if header else {}

    def put_archive(self, container_id: str, path: str, data: Iterable[bytes] | bytes) -> None:
        """Upload a tar; the read timeout bounds the daemon's silence after the last byte (an interrupt closes the connection)."""
        with self._bounded(max(CLIENT_TIMEOUT, STREAM_TIMEOUT) * 2):
            accepted = self.client.api.put_archive(container_id, path, data)
        if not accepted:
            raise RuntimeError(f"the engine refused the archive for {path}")

    def create_helper(self, image_id: str, binds: dict[str, str], purpose: str, *, read_only: bool = False, tmpfs: Iterable[str] = ()) -> str:
        """A never-started container of the SAME image with the bind mounts, so the daemon writes exact owners and modes.

        `tmpfs` paths (the image's own VOLUMEs) get no anonymous volume, so removing the
        helper leaves nothing behind; `inspect` uses that with read-only volume mounts.
        """
        mode = "ro" if read_only else "rw"
        host_config = self.client.api.create_host_config(
            binds={source: {"bind": target, "mode": mode} for source, target in binds.items()},
            tmpfs={path: "" for path in tmpfs} or None,
        )
        created = self.client.api.create_container(
            image_id,
            command=["holdfast-helper-never-started"],
            entrypoint=["/nonexistent-holdfast-helper"],
            host_config=host_config,
            labels={LABEL_HELPER: purpose},
            network_disabled=True,
        )
        return created["Id"]

    def remove_helper(self, container_id: str) -> None:
        """Remove a helper container with its own fresh anonymous volumes (only ever for holdfast's helpers)."""
        facts = self.inspect(container_id)
        if facts is None:
            return
        if LABEL_HELPER not in facts.labels:
            raise RuntimeError(f"refusing to remove {container_id[:12]} with its volumes: not a holdfast helper")
        self.client.api.remove_container(container_id, v=True, force=True)

    def helpers(self) -> list[str]:
        return [c["Id"] for c in self.client.api.containers(all=True, filters={"label": [LABEL_HELPER]})]

    def logs(self, container_id: str, tail: int = 20) -> str:
        try:
            return self.client.api.logs(container_id, tail=tail).decode("utf-8", "replace")
        except Exception:  # noqa: BLE001
            return ""


def split_ref(ref: str) -> tuple[str, str | None]:
    """`registry:5000/repo:tag@digest` -> (`registry:5000/repo`, `tag`)."""
    ref = ref.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1 :]
    return ref, None

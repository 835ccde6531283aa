"""A fake Docker engine and a fake Compose for the unit tests of `holdfast.apply` (no tests here).

The fake keeps each container's data as real tar bytes and writes bind mounts
to real folders, so archive, verify, restore and compare run their real code;
only the daemon is simulated. `FakeCompose` recreates containers the way
Compose would from the compose file on disk: a bind when the file is patched,
an anonymous volume otherwise (or, with `v1_trap`, the old container's volume
over the new bind, like Compose v1 when the old container still exists).
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from holdfast.apply.compose import ComposeCLI, ComposeFailed
from holdfast.apply.host import LABEL_HELPER, ContainerFacts, Endpoint, StopResult
from holdfast.apply.tarindex import index_stream

LOCAL = Endpoint("unix:///var/run/docker.sock", "default")
PG_IMAGE = "sha256:" + "a" * 64
REDIS_IMAGE = "sha256:" + "b" * 64


def make_tar(top: str, files: dict[str, bytes], mode: int = 0o700) -> bytes:
    """A tar like the daemon's: the top folder entry, then its files (uid/gid 999)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(top)
        info.type = tarfile.DIRTYPE
        info.mode = mode
        info.uid = info.gid = 999
        tar.addfile(info)
        dirs = set()
        for name in sorted(files):
            parts = name.split("/")[:-1]
            for i in range(len(parts)):
                sub = "/".join(parts[: i + 1])
                if sub not in dirs:
                    dirs.add(sub)
                    d = tarfile.TarInfo(f"{top}/{sub}")
                    d.type = tarfile.DIRTYPE
                    d.mode = 0o700
                    d.uid = d.gid = 999
                    tar.addfile(d)
            data = files[name]
            f = tarfile.TarInfo(f"{top}/{name}")
            f.size = len(data)
            f.mode = 0o600
            f.uid = f.gid = 999
            tar.addfile(f, io.BytesIO(data))
    return buffer.getvalue()


def attrs(
    cid: str,
    *,
    project: str,
    service: str,
    image_ref: str,
    image_id: str,
    env: dict[str, str] | None = None,
    mounts: list[dict[str, Any]] | None = None,
    status: str = "running",
    hostname: str = "",
    working_dir: str | None = None,
    config_files: str | None = None,
    oneoff: bool = False,
    number: int = 1,
    started: bool = True,
    cmd: list[str] | None = None,
) -> dict[str, Any]:
    """A `docker inspect` dict with Compose labels."""
    labels = {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.oneoff": "True" if oneoff else "False",
        "com.docker.compose.container-number": str(number),
    }
    if working_dir:
        labels["com.docker.compose.project.working_dir"] = working_dir
    if config_files:
        labels["com.docker.compose.project.config_files"] = config_files
    return {
        "Id": cid,
        "Name": f"/{project}_{service}_{number}",
        "Image": image_id,
        "Config": {
            "Image": image_ref,
            "Env": [f"{k}={v}" for k, v in (env or {}).items()],
            "Cmd": cmd or [],
            "Entrypoint": ["docker-entrypoint.sh"],
            "User": "",
            "Hostname": hostname or cid[:12],
            "Labels": labels,
        },
        "State": {"Status": status, "ExitCode": 0, "OOMKilled": False, "StartedAt": "2024-01-01T00:00:00Z" if started else "0001-01-01T00:00:00Z"},
        "Mounts": mounts or [],
    }


def volume(name: str, destination: str) -> dict[str, Any]:
    return {"Type": "volume", "Name": name, "Source": f"/var/lib/docker/volumes/{name}/_data", "Destination": destination, "RW": True}


def bind(source: str, destination: str) -> dict[str, Any]:
    return {"Type": "bind", "Source": source, "Destination": destination, "RW": True}


@dataclass
class FakeEngine:
    """The engine: containers (inspect dicts), their data (tar per path), images, and a call log."""

    endpoint: Endpoint = LOCAL
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    data: dict[str, dict[str, bytes]] = field(default_factory=dict)  # cid -> path -> tar bytes
    images: dict[str, str] = field(default_factory=dict)  # ref or id -> id
    exit_codes: dict[str, int] = field(default_factory=dict)  # cid -> exit code on stop
    sizes: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    counter: int = 0

    # -- setup helpers
    def add(self, raw: dict[str, Any], data: dict[str, bytes] | None = None) -> str:
        self.containers[raw["Id"]] = raw
        self.data[raw["Id"]] = dict(data or {})
        self.images.setdefault(raw["Image"], raw["Image"])
        self.images.setdefault(raw["Config"]["Image"], raw["Image"])
        return raw["Id"]

    def new_id(self) -> str:
        self.counter += 1
        return f"{self.counter:064x}"

    # -- facts
    def version(self) -> dict[str, str]:
        return {"version": "fake", "api_version": "1.41"}

    def inspect(self, cid: str) -> ContainerFacts | None:
        raw = self.containers.get(cid)
        return ContainerFacts.from_attrs(raw) if raw else None

    def project_containers(self, project: str, service: str | None = None, oneoff: bool | None = None) -> list[ContainerFacts]:
        out = []
        for raw in self.containers.values():
            labels = raw["Config"]["Labels"]
            if labels.get("com.docker.compose.project") != project:
                continue
            if service is not None and labels.get("com.docker.compose.service") != service:
                continue
            if oneoff is not None and (labels.get("com.docker.compose.oneoff") == "True") != oneoff:
                continue
            out.append(ContainerFacts.from_attrs(raw))
        return sorted(out, key=lambda f: (f.service, f.number))

    def all_compose_containers(self) -> list[ContainerFacts]:
        return [ContainerFacts.from_attrs(r) for r in self.containers.values() if "com.docker.compose.project" in r["Config"]["Labels"]]

    def image_id(self, ref: str) -> str | None:
        return self.images.get(ref)

    def tag(self, image_id: str, ref: str) -> None:
        self.calls.append(("tag", image_id, ref))
        self.images[ref] = image_id

    def volume_size(self, name: str) -> int | None:
        return self.sizes.get(name)

    def container_rw_size(self, cid: str) -> int | None:
        return None

    def logs(self, cid: str, tail: int = 20) -> str:
        return "fake log line"

    # -- actions
    def stop(self, cid: str, timeout: int) -> StopResult:
        self.calls.append(("stop", cid, timeout))
        raw = self.containers[cid]
        raw["State"]["Status"] = "exited"
        raw["State"]["ExitCode"] = self.exit_codes.get(cid, 0)
        return StopResult(raw["State"]["ExitCode"], False, "exited")

    def start(self, cid: str) -> None:
        self.calls.append(("start", cid))
        raw = self.containers[cid]
        raw["State"]["Status"] = "running"
        raw["State"]["StartedAt"] = "2024-01-02T00:00:00Z"

    def remove(self, cid: str) -> None:
        self.calls.append(("remove", cid))
        raw = self.containers[cid]
        if raw["State"]["Status"] == "running":
            raise RuntimeError("cannot remove a running container")
        del self.containers[cid]

    def _bind_for(self, cid: str, path: str) -> tuple[str, str] | None:
        for mount in self.containers[cid]["Mounts"]:
            if mount["Type"] == "bind" and (path == mount["Destination"] or path.startswith(mount["Destination"].rstrip("/") + "/")):
                return mount["Source"], mount["Destination"]
        return None

    def exec(self, cid: str, argv: list[str], user: str | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
        """Only `find PATH... -type f` (the file-listing probe) and `du -sk` are understood."""
        self.calls.append(("exec", cid, tuple(argv)))
        raw = self.containers[cid]
        if raw["State"]["Status"] != "running":
            return 1, "container not running"
        if argv[0] == "du":
            return 0, "2048\t" + argv[-1]
        if argv[0] == "find":
            names = []
            for path in argv[1:-2]:
                found = self._bind_for(cid, path)
                if found:
                    for directory, _dirs, files in os.walk(found[0]):
                        for name in files:
                            rel = os.path.relpath(os.path.join(directory, name), found[0])
                            names.append(posixpath.join(found[1], rel))
                else:
                    tar = self.data[cid].get(path)
                    if tar is None:
                        continue
                    top = posixpath.basename(path)
                    for entry in index_stream([tar]).entries:
                        if entry.type == "file":
                            names.append(posixpath.join(posixpath.dirname(path), entry.name) if entry.name.startswith(top) else entry.name)
            return 0, "\n".join(sorted(names)) + "\n"
        return 127, f"{argv[0]}: not found"

    def get_archive(self, cid: str, path: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        self.calls.append(("get_archive", cid, path))
        found = self._bind_for(cid, path)
        if found is not None:
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
                tar.add(found[0], arcname=posixpath.basename(path))
            blob = buffer.getvalue()
        else:
            blob = self.data[cid][path]
        return iter([blob[i : i + 4096] for i in range(0, len(blob), 4096)])

    def stat(self, cid: str, path: str) -> dict[str, Any] | None:
        found = self._bind_for(cid, path)
        if found is not None:
            host = os.path.join(found[0], os.path.relpath(path, found[1]))
            return {"name": os.path.basename(path)} if os.path.lexists(host) else None
        for root, tar in self.data.get(cid, {}).items():
            if path == root or path.startswith(root + "/"):
                wanted = posixpath.normpath(posixpath.join(posixpath.basename(root), posixpath.relpath(path, root)))
                if any(e.name == wanted for e in index_stream([tar]).entries):
                    return {"name": posixpath.basename(path)}
        return None

    def put_archive(self, cid: str, path: str, chunks: Iterable[bytes] | bytes) -> None:
        blob = chunks if isinstance(chunks, bytes) else b"".join(chunks)
        self.calls.append(("put_archive", cid, path, len(blob)))
        entries = index_stream([blob]).entries
        top = entries[0].name
        target = posixpath.join(path, top)
        found = self._bind_for(cid, target)
        if found is None:
            self.data[cid][target] = _rerooted(blob, top) if "/" in top else blob
            return
        root = found[0]
        os.makedirs(root, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            for member in tar.getmembers():
                rel = member.name[len(top) :].lstrip("/")
                dest = os.path.join(root, rel) if rel else root
                if member.isdir():
                    os.makedirs(dest, exist_ok=True)
                elif member.isfile():
                    with open(dest, "wb") as handle:
                        handle.write(tar.extractfile(member).read())  # type: ignore[union-attr]
                os.chmod(dest, member.mode)

    def create_helper(self, image_id: str, binds: dict[str, str], purpose: str) -> str:
        cid = self.new_id()
        self.containers[cid] = {
            "Id": cid,
            "Name": "/helper",
            "Image": image_id,
            "Config": {"Image": image_id, "Labels": {LABEL_HELPER: purpose}, "Env": []},
            "State": {"Status": "created", "StartedAt": "0001-01-01T00:00:00Z"},
            "Mounts": [bind(src, dst) for src, dst in binds.items()],
        }
        self.data[cid] = {}
        self.calls.append(("create_helper", cid))
        return cid

    def remove_helper(self, cid: str) -> None:
        assert LABEL_HELPER in self.containers[cid]["Config"]["Labels"]
        del self.containers[cid]


@dataclass
class FakeCompose:
    """Compose as apply uses it: `up --no-start --no-deps S...` and `up -d --no-deps S...`."""

    engine: FakeEngine
    plan: Any
    v1_trap: bool = False
    fail_times: int = 0  # fail this many `up` calls with "port is already allocated"
    runs: list[tuple[str, ...]] = field(default_factory=list)
    cli: ComposeCLI = field(default_factory=lambda: ComposeCLI(("docker-compose",), "1.29.2"))

    def text(self, *args: str) -> str:
        return "docker-compose " + " ".join(args)

    def run(self, *args: str) -> str:
        from holdfast.apply.plan import sha256_file

        self.runs.append(args)
        if self.fail_times:
            self.fail_times -= 1
            raise ComposeFailed("up failed", "Bind for 0.0.0.0:5432 failed: port is already allocated")
        services = [a for a in args if not a.startswith("-") and a != "up"]
        start = "-d" in args
        patched = all(sha256_file(c.path) == c.sha256_after for c in self.plan.changes)
        for name in services:
            service = self.plan.service(name)
            existing = self.engine.project_containers(self.plan.project.name, name, oneoff=False)
            if not existing:
                mounts = []
                for move in service.moves:
                    if patched and not self.v1_trap:
                        mounts.append(bind(move.bind_source, move.mount_target))
                    else:
                        mounts.append(volume(self.engine.new_id(), move.mount_target))
                raw = attrs(
                    self.engine.new_id(),
                    project=self.plan.project.name,
                    service=name,
                    image_ref=service.image_after,
                    image_id=service.container.image_id,
                    mounts=mounts,
                    status="created",
                    started=False,
                )
                self.engine.add(raw)
                existing = [self.engine.inspect(raw["Id"])]
            if start:
                for facts in existing:
                    self.engine.start(facts.id)
        return ""


def _rerooted(blob: bytes, top: str) -> bytes:
    """An archive unpacked at `/` with full-path names, stored as the daemon would see it from the
    parent folder: names relative to the parent (what get_archive of the path returns)."""
    prefix = posixpath.dirname(top)
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(blob)) as source, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for member in source.getmembers():
            data = source.extractfile(member) if member.isfile() else None
            member.name = posixpath.relpath(member.name, prefix)
            tar.addfile(member, data)
    return out.getvalue()

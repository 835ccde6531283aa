"""`holdfast inspect`: audit a live Docker host, no compose file needed.

Three questions, asked of every container and dangling volume on one engine:

* HF501: does a stateful container keep its data on an anonymous volume or in its
  writable layer? The data path comes from the image knowledge applied to the
  container's REAL environment, command, entrypoint and running major version
  (`PG_MAJOR=18` means `/var/lib/postgresql/18/docker`), and the mount that holds it
  from the engine's `Mounts` plus `HostConfig.Tmpfs` (the runtime truth).
* HF502: is the data path a bind mount whose source is empty? Asked through the
  daemon (`get_archive` on the data path, counting tar entries), so it works for
  stopped containers and remote engines alike.
* HF503: does a volume no container uses hold a database's files? A never-started
  helper container, created from an image that is already on the engine (no pull),
  mounts the volume read-only; `get_archive` lists it; init markers (`PG_VERSION`,
  `mysql/`, `WiredTiger`, `dump.rdb`, ...) name the data store. The helper is
  always removed with `v=False`: inspect never deletes a volume.

The audit talks to the engine only through `HostAccess` (`EngineAccess` wraps
`holdfast.apply.host.Engine`), so unit tests drive it with plain dicts.
"""

from __future__ import annotations

import posixpath
import threading
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from holdfast.apply.host import LABEL_HELPER, ContainerFacts, MountFact
from holdfast.model import Finding, Rule, Severity
from holdfast.mounts import is_within, normalise_path

if TYPE_CHECKING:  # pragma: no cover
    from holdfast.knowledge import DataPath, Knowledge, Layout, ResolvedImage

HELPER_PURPOSE = "inspect"  # value of org.holdfast.helper on inspect's own helpers
PROBE_MOUNT = "/holdfast-inspect"  # where a helper mounts the volume it lists (read-only)
LIST_BUDGET = 16 * 1024 * 1024  # bytes of a volume listing to read before falling back to stat
EMPTY_CHUNK = 64 * 1024  # enough to see the first entry or two of a directory
STALE_HELPER_SECONDS = 600  # helpers of an interrupted run older than this are removed
SIZE_WAIT_SECONDS = 3.0  # `docker system df` walks every volume; sizes are left out when it is slower
IGNORED_ENTRIES = frozenset({"lost+found"})  # a fresh file system's folder does not make a data dir

# Markers written on the first save, not at start-up: an empty data dir of a running
# server with only these markers is normal (redis before its first SAVE).
LAZY_MARKERS = frozenset({"dump.rdb", "appendonlydir", "appendonly.aof"})
# Markers too common to name a data store alone: needs two of them from one entry.
GENERIC_MARKERS = frozenset({"data", "meta", "metadata", "wal", "docker", "databases", "member", "gitea", "shards", "_state", "indices"})
# A marker file whose content is the server version (read for the message).
VERSION_FILES = {"PG_VERSION": "PostgreSQL"}


# ------------------------------------------------------------------ access
@dataclass
class Listing:
    """What `get_archive` showed of a directory: names relative to it, without the root."""

    names: list[str] = field(default_factory=list)
    complete: bool = True  # False: stopped early (entry limit or byte budget)
    file_bytes: int | None = None  # total file bytes when complete
    missing: bool = False  # the path does not exist
    dirs: set[str] = field(default_factory=set)  # which of the names are directories


class HostAccess(Protocol):
    """The engine operations the audit needs (EngineAccess for a real engine, fakes in tests)."""

    def containers(self, projects: tuple[str, ...] = ()) -> list[dict[str, Any]]: ...  # full `docker inspect` dicts

    def volumes(self) -> list[dict[str, Any]]: ...  # `docker volume ls` entries (Name, Labels, Driver, CreatedAt)

    def dangling(self) -> set[str]: ...

    def image(self, ref: str) -> dict[str, Any] | None: ...  # `docker image inspect`

    def local_images(self) -> list[str]: ...

    def list_dir(self, container_id: str, path: str, max_entries: int | None = None, budget: int = LIST_BUDGET) -> Listing: ...

    def exists(self, container_id: str, path: str) -> bool: ...

    def read_file(self, container_id: str, path: str, limit: int = 4096) -> bytes | None: ...

    def create_probe(self, image_id: str, volume: str, tmpfs: list[str]) -> str: ...

    def probe_volumes(self, container_id: str) -> list[str]: ...  # volume names a probe ended up mounting

    def remove_probe(self, container_id: str) -> None: ...

    def stale_probes(self, older_than: float) -> list[str]: ...

    def volume_sizes(self) -> dict[str, int]: ...


class EngineAccess:
    """`HostAccess` over `holdfast.apply.host.Engine` (the Docker SDK)."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.api = engine.client.api
        self._images: dict[str, dict[str, Any] | None] = {}

    def containers(self, projects: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        import docker.errors

        summaries: list[dict[str, Any]] = []
        if projects:
            for project in projects:
                summaries += self.api.containers(all=True, filters={"label": [f"com.docker.compose.project={project}"]})
        else:
            summaries = self.api.containers(all=True)
        found = []
        for summary in {s["Id"]: s for s in summaries}.values():
            try:
                found.append(self.api.inspect_container(summary["Id"]))
            except docker.errors.NotFound:
                continue  # removed while we looked
        return found

    def volumes(self) -> list[dict[str, Any]]:
        return list((self.api.volumes() or {}).get("Volumes") or [])

    def dangling(self) -> set[str]:
        return {v["Name"] for v in (self.api.volumes(filters={"dangling": True}) or {}).get("Volumes") or []}

    def image(self, ref: str) -> dict[str, Any] | None:
        import docker.errors

        if ref not in self._images:
            try:
                self._images[ref] = self.api.inspect_image(ref)
            except (docker.errors.ImageNotFound, docker.errors.NotFound, docker.errors.APIError):
                self._images[ref] = None
        return self._images[ref]

    def local_images(self) -> list[str]:
        return [image["Id"] for image in self.api.images() or []]

    def list_dir(self, container_id: str, path: str, max_entries: int | None = None, budget: int = LIST_BUDGET) -> Listing:
        import docker.errors
        from holdfast.apply.tarindex import TarIndex

        # "<path>/." archives the directory's contents (entries "." and "./x") and follows a symlinked directory
        try:
            stream = self.engine.get_archive(container_id, path.rstrip("/") + "/.", chunk_size=EMPTY_CHUNK if max_entries is not None else 1024 * 1024)
        except docker.errors.NotFound:
            return Listing(missing=True)
        index = TarIndex(keep_entries=True)
        read = 0
        try:
            for chunk in stream:
                index.feed(chunk)
                read += len(chunk)
                if index.complete:
                    break
                if max_entries is not None and sum(1 for e in index.entries if e.name != ".") >= max_entries:
                    break
                if read >= budget:
                    break
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # drops the response: the daemon stops sending
        names = [e.name for e in index.entries if e.name != "."]
        dirs = {e.name for e in index.entries if e.type == "dir" and e.name != "."}
        return Listing(names, index.complete, index.file_bytes if index.complete else None, dirs=dirs)

    def exists(self, container_id: str, path: str) -> bool:
        return self.engine.stat(container_id, path) is not None

    def read_file(self, container_id: str, path: str, limit: int = 4096) -> bytes | None:
        import io
        import tarfile

        import docker.errors

        try:
            stream = self.engine.get_archive(container_id, path, chunk_size=EMPTY_CHUNK)
        except docker.errors.NotFound:
            return None
        data = b""
        try:
            for chunk in stream:
                data += chunk
                if len(data) > limit + 4096:  # header + payload + padding: anything bigger is not a version file
                    return None
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        try:
            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                member = archive.next()
                if member is None or not member.isfile() or member.size > limit:
                    return None
                handle = archive.extractfile(member)
                return handle.read() if handle is not None else None
        except tarfile.TarError:
            return None

    def create_probe(self, image_id: str, volume: str, tmpfs: list[str]) -> str:
        # tmpfs over the image's own VOLUMEs: Docker creates no anonymous volume where a mount exists,
        # so removing the helper with v=False leaves nothing behind.
        return self.engine.create_helper(image_id, {volume: PROBE_MOUNT}, HELPER_PURPOSE, read_only=True, tmpfs=tmpfs)

    def probe_volumes(self, container_id: str) -> list[str]:
        attrs = self.api.inspect_container(container_id)
        return [m.get("Name") or "" for m in attrs.get("Mounts") or [] if m.get("Type") == "volume"]

    def remove_probe(self, container_id: str) -> None:
        import docker.errors

        try:
            self.api.remove_container(container_id, v=False, force=True)  # never a volume
        except docker.errors.NotFound:
            pass

    def stale_probes(self, older_than: float) -> list[str]:
        summaries = self.api.containers(all=True, filters={"label": [f"{LABEL_HELPER}={HELPER_PURPOSE}"], "status": "created"})
        return [s["Id"] for s in summaries if float(s.get("Created") or 0) < older_than]

    def volume_sizes(self) -> dict[str, int]:
        from docker.utils import version_gte

        if version_gte(self.api.api_version, "1.42"):  # volumes only: no walk over every image layer
            data = self.api._result(self.api._get(self.api._url("/system/df"), params={"type": "volume"}), True)
        else:
            data = self.engine.client.df()
        sizes = {}
        for volume in data.get("Volumes") or []:
            size = (volume.get("UsageData") or {}).get("Size", -1)
            if isinstance(size, int) and size >= 0:
                sizes[volume.get("Name") or ""] = size
        return sizes


# ------------------------------------------------------------------- sizes
class _Sizes:
    """Volume sizes from `docker system df`, asked at most once, in the background, bounded in time.

    The engine walks every volume (and on old engines every layer) to answer, which can take
    seconds: the audit goes on meanwhile and `settle()` waits only until the deadline.
    """

    def __init__(self, fetch: Callable[[], dict[str, int]], wait: float = SIZE_WAIT_SECONDS):
        self._fetch = fetch
        self._wait = wait
        self._result: dict[str, int] | None = None
        self._thread: threading.Thread | None = None
        self._deadline = 0.0

    def want(self) -> None:
        """Start asking (once); call as soon as a size will be needed."""
        if self._thread is None:
            self._deadline = time.monotonic() + self._wait
            self._thread = threading.Thread(target=self._run, name="holdfast-volume-sizes", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._fetch()
        except Exception:  # noqa: BLE001 - sizes are informative only
            self._result = {}

    def settle(self) -> dict[str, int]:
        """The sizes known by the deadline (empty when the engine was slower)."""
        if self._thread is None:
            return {}
        self._thread.join(max(0.0, self._deadline - time.monotonic()))
        return dict(self._result or {})


SIZE_TOKEN = "\x00size\x00"  # replaced by ", 41.2 MiB" (or nothing) once sizes are settled


def human_size(count: int | None) -> str:
    try:
        from holdfast.apply.console import human_bytes
    except ImportError:  # pragma: no cover - the console module is apply's; sizes are a detail here
        return f"{count} B"
    return human_bytes(count)


# -------------------------------------------------------------- the audit
@dataclass
class InspectResult:
    findings: list[Finding]
    inspected: list[str]  # docker:// paths of what was looked at (containers, then volumes)
    notices: list[str] = field(default_factory=list)


@dataclass
class _Status:
    data_path: "DataPath"
    state: str  # bind | named | anonymous | tmpfs | container-layer | other
    mount: MountFact | None
    shadowed: MountFact | None = None  # a persistent mount on a parent hidden by the covering anonymous one

    @property
    def ok(self) -> bool:
        return self.state in ("bind", "named", "tmpfs", "other")


def container_path(facts: ContainerFacts) -> str:
    """`docker://<project>/<service>` (plus `/<n>` for replica n > 1), or `docker://<container-name>`."""
    if facts.project and facts.service and not facts.oneoff:
        path = f"docker://{facts.project}/{facts.service}"
        return path + (f"/{facts.number}" if facts.number > 1 else "")
    return f"docker://{facts.name}"


def volume_path(name: str) -> str:
    return f"docker://volume/{name}"


def _is_image_id(ref: str) -> bool:
    text = ref[7:] if ref.startswith("sha256:") else ref
    return len(text) >= 12 and all(c in "0123456789abcdef" for c in text)


class Inspector:
    """One audit of one engine. `rules` maps codes to the (selected) host rule classes."""

    def __init__(
        self,
        access: HostAccess,
        knowledge: "Knowledge",
        rules: dict[str, type[Rule]],
        *,
        severity: dict[str, Severity] | None = None,
        projects: tuple[str, ...] = (),
        volumes: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
    ):
        self.access = access
        self.knowledge = knowledge
        self.rules = rules
        self.severity = severity or {}
        self.projects = tuple(projects)
        self.only_volumes = tuple(volumes)
        self.clock = clock
        self.notices: list[str] = []
        self.sizes = _Sizes(access.volume_sizes)
        self._volume_labels: dict[str, dict[str, str]] = {}
        self._volumes: dict[str, dict[str, Any]] = {}
        self._container_images: list[str] = []
        self._named_data: list[tuple[ContainerFacts, Any, MountFact, str, str, str]] = []  # for HF504

    # ---------------------------------------------------------------- run
    def run(self) -> InspectResult:
        findings: list[Finding] = []
        inspected: list[str] = []
        self._clean_stale_probes()
        for volume in self.access.volumes():
            name = volume.get("Name") or ""
            self._volumes[name] = volume
            self._volume_labels[name] = dict(volume.get("Labels") or {})
        for attrs in self.access.containers(self.projects):
            facts = ContainerFacts.from_attrs(attrs, self._volume_labels)
            if LABEL_HELPER in facts.labels:
                continue  # holdfast's own helpers (restore, inspect) are not deployments
            if self.projects and facts.project not in self.projects:
                continue
            self._add_tmpfs(facts, attrs)
            if facts.image_id:
                self._container_images.append(facts.image_id)
            inspected.append(container_path(facts))
            try:
                findings.extend(self.audit_container(facts))
            except Exception as exc:  # noqa: BLE001 - one odd container must not stop the audit
                if _engine_gone(exc):
                    raise
                self.notices.append(f"{container_path(facts)}: not inspected: {type(exc).__name__}: {exc}")
        if "HF504" in self.rules and self._named_data:
            try:
                findings.extend(self.audit_project_names())
            except Exception as exc:  # noqa: BLE001
                if _engine_gone(exc):
                    raise
                self.notices.append(f"project-name check (HF504) not done: {type(exc).__name__}: {exc}")
        if "HF503" in self.rules:
            found, looked = self.audit_volumes()
            findings.extend(found)
            inspected.extend(looked)
        self._fill_sizes(findings)
        findings.sort(key=Finding.sort_key)
        return InspectResult(findings, inspected, self.notices)

    def _fill_sizes(self, findings: list[Finding]) -> None:
        sizes = self.sizes.settle()
        for finding in findings:
            if SIZE_TOKEN not in finding.message:
                continue
            size = finding.data.get("size")
            if size is None:
                size = sizes.get(finding.data.get("volume") or "")
                finding.data["size"] = size
            finding.message = finding.message.replace(SIZE_TOKEN, f", {human_size(size)}" if size is not None else "")

    def _clean_stale_probes(self) -> None:
        """An interrupted run can leave a helper behind; its volume would no longer look dangling."""
        try:
            stale = self.access.stale_probes(self.clock() - STALE_HELPER_SECONDS)
        except Exception as exc:  # noqa: BLE001
            if _engine_gone(exc):
                raise
            return
        for helper in stale:
            try:
                self.access.remove_probe(helper)
            except Exception:  # noqa: BLE001 - another run may be removing it too
                continue

    @staticmethod
    def _add_tmpfs(facts: ContainerFacts, attrs: dict[str, Any]) -> None:
        """`--tmpfs` / compose `tmpfs:` live in HostConfig.Tmpfs and are not listed in Mounts."""
        known = {m.destination for m in facts.mounts}
        for destination in ((attrs.get("HostConfig") or {}).get("Tmpfs") or {}):
            path = normalise_path(destination)
            if path not in known:
                facts.mounts.append(MountFact("tmpfs", path))

    # -------------------------------------------------------- findings
    def _finding(self, code: str, path: str, message: str, service: str | None, key: tuple[Any, ...], data: dict[str, Any]) -> Finding:
        rule = self.rules[code]
        return Finding(
            code=code,
            name=rule.name,
            severity=self.severity.get(code, rule.severity),
            message=message,
            path=path,
            line=1,
            column=1,
            end_line=1,
            end_column=1,
            service=service,
            yaml_path=key,
            data=data,
        )

    # ------------------------------------------------------ containers
    def resolve(self, facts: ContainerFacts) -> tuple["ResolvedImage | None", str]:
        """The knowledge for this container's image, with its real env/cmd/entrypoint; and how it was recognised."""
        ref = facts.image_ref
        if not ref or _is_image_id(ref):
            attrs = self.access.image(facts.image_id or ref) if (facts.image_id or ref) else None
            tags = [t for t in (attrs or {}).get("RepoTags") or [] if t and not t.startswith("<none>")]
            ref = tags[0] if tags else ""
        kwargs = {"env": facts.env, "command": facts.cmd, "entrypoint": facts.entrypoint}
        resolved = self.knowledge.resolve(ref, **kwargs) if ref else None
        if resolved is not None:
            return resolved, "image"
        from holdfast.apply.image_facts import base_by_env, facts_from_inspect, unknown_entry

        # as plan and `lint --engine` do: the image's own facts (the image it is built on, its data VOLUMEs)
        entry, _, how = unknown_entry(self.knowledge, ref, lambda r: facts_from_inspect(r, self.access.image(facts.image_id or r)))
        if entry is not None:
            return entry.resolve(ref, **kwargs), how
        derived = base_by_env(self.knowledge, facts.env)  # image not readable: the container's Env includes the image's
        if derived is not None:
            resolved = self.knowledge.resolve(derived[1], **kwargs)
            if resolved is not None:
                return resolved, f"env {derived[0]}"
        return None, ""

    def statuses(self, facts: ContainerFacts, layout: "Layout") -> list[_Status]:
        out = []
        for data_path in layout.data_paths:
            if data_path.role != "data":
                continue
            path = normalise_path(data_path.path)
            mount = facts.covering_mount(path)
            if mount is None:
                out.append(_Status(data_path, "container-layer", None))
                continue
            if mount.type == "volume":
                state = "anonymous" if mount.anonymous else "named"
            elif mount.type in ("bind", "tmpfs"):
                state = mount.type
            else:
                state = "other"  # npipe, cluster, image: not ours to judge
            shadowed = None
            if state == "anonymous":
                parents = [m for m in facts.mounts if m is not mount and m.type in ("bind", "volume") and not m.anonymous and is_within(mount.destination, m.destination)]
                shadowed = max(parents, key=lambda m: len(m.destination)) if parents else None
            out.append(_Status(data_path, state, mount, shadowed))
        return out

    def choose_layout(self, facts: ContainerFacts, image: "ResolvedImage") -> tuple["Layout", list[_Status]]:
        """The layout the container really uses: one fully held by mounts, else one whose data path exists."""
        candidates = [(layout, self.statuses(facts, layout)) for layout in image.layouts]
        if len(candidates) == 1:
            return candidates[0]
        for layout, statuses in candidates:
            if statuses and all(s.ok for s in statuses):
                return layout, statuses
        for layout, statuses in candidates:
            try:
                if statuses and all(self.access.exists(facts.id, s.data_path.path) for s in statuses):
                    return layout, statuses
            except Exception as exc:  # noqa: BLE001
                if _engine_gone(exc):
                    raise
        return candidates[0]

    def audit_container(self, facts: ContainerFacts) -> list[Finding]:
        image, how = self.resolve(facts)
        if image is None or not image.layouts or image.ephemeral or image.stateful != "yes":
            return []
        layout, statuses = self.choose_layout(facts, image)
        where = container_path(facts)
        service = facts.service if facts.project and facts.service and not facts.oneoff else facts.name
        title = image.title + (f" {image.major}" if image.major is not None and how != "image VOLUME" else "")
        state = "" if facts.running else (" (container never started)" if not facts.ever_started else f" (container {facts.status})")
        common = {"container": facts.id, "container_name": facts.name, "image": facts.image_ref, "kind": image.kind, "recognised_by": how, "layout": layout.label}
        found: list[Finding] = []
        for status in statuses:
            path = status.data_path.path
            data = dict(common, data_path=path)
            if status.state == "container-layer" and "HF501" in self.rules:
                message = f"{title} data in {path} is in the container's writable layer (no mount holds it): lost when the container is removed or recreated{_declared_only(how, path)}{state}"
                found.append(self._finding("HF501", where, message, service, (path,), dict(data, storage="container-layer")))
            elif status.state == "anonymous" and "HF501" in self.rules:
                assert status.mount is not None
                name = status.mount.name
                self.sizes.want()
                message = (
                    f"{title} data in {path} is on anonymous volume {name}{SIZE_TOKEN}: `down` or `rm` then `up` leaves it behind "
                    f"for a new empty one; `rm -v`, `down -v` and `docker volume prune` delete it"
                )
                if status.shadowed is not None:
                    message += (
                        f"; the {status.shadowed.type} mount at {status.shadowed.destination} does not hold it, "
                        f"the image's VOLUME {status.mount.destination} is mounted on top"
                    )
                message += _declared_only(how, path) + state
                found.append(self._finding("HF501", where, message, service, (path,), dict(data, storage="anonymous", volume=name, size=None)))
            elif status.state == "named" and status.mount is not None and status.mount.name:
                self._named_data.append((facts, image, status.mount, where, service, path))
            elif status.state == "bind" and "HF502" in self.rules and how != "image VOLUME":  # a declared VOLUME may rightly be empty
                finding = self._check_bind(facts, image, status, where, service, title, state, data)
                if finding is not None:
                    found.append(finding)
        return found

    def _check_bind(self, facts: ContainerFacts, image: "ResolvedImage", status: _Status, where: str, service: str, title: str, state: str, data: dict[str, Any]) -> Finding | None:
        assert status.mount is not None
        lazy = bool(image.init_markers) and set(image.init_markers) <= LAZY_MARKERS
        if lazy and facts.running:
            return None  # redis writes dump.rdb on the first save: empty while running is normal
        path = status.data_path.path
        listing = self.access.list_dir(facts.id, path, max_entries=2)
        entries = [n for n in listing.names if n.split("/", 1)[0] not in IGNORED_ENTRIES]
        if entries or (not listing.complete and not listing.missing):
            return None
        source = status.mount.source or "?"
        if status.mount.destination == normalise_path(path):
            what = f"the bind mount of {source} at {path} is empty"
        elif listing.missing:
            what = f"{path} does not exist in the bind mount of {source} at {status.mount.destination}"
        else:
            what = f"{path} is empty in the bind mount of {source} at {status.mount.destination}"
        if facts.running:
            why = f"the running {image.title} keeps its data elsewhere, or the mount is wrong"
        elif not facts.ever_started:
            why = f"its first start initialises a new empty {image.title} database"
        else:
            why = f"the next start initialises a new empty {image.title} database; the data it had is elsewhere"
        message = f"{title} data path: {what}: {why}{state}"
        return self._finding("HF502", where, message, service, (path,), dict(data, bind_source=source, missing=listing.missing))

    # ------------------------------------------------- project-name trap
    def audit_project_names(self) -> list[Finding]:
        """HF504: a data store on `NEW_v` while an older, unused `OLD_v` (same volume key) holds the same kind of data."""
        dangling = self.access.dangling()
        helper: tuple[str, list[str]] | None = None
        table = None
        found: list[Finding] = []
        for facts, image, mount, where, service, path in self._named_data:
            own = mount.name
            labels = self._volume_labels.get(own, {})
            project, key = labels.get("com.docker.compose.project"), labels.get("com.docker.compose.volume")
            if not project or not key:
                continue  # not a Compose volume: no project name involved
            own_created = str((self._volumes.get(own) or {}).get("CreatedAt") or "")
            for name in sorted(dangling):
                other = self._volume_labels.get(name, {})
                other_project = other.get("com.docker.compose.project")
                if name == own or other.get("com.docker.compose.volume") != key or not other_project or other_project == project:
                    continue
                created = str((self._volumes.get(name) or {}).get("CreatedAt") or "")
                if own_created and created and created > own_created:
                    continue  # newer than ours: not where our data used to live
                if helper is None:
                    helper = self._probe_image()
                    table = marker_table(self.knowledge)
                    if helper is None:
                        self.notices.append("no image is present on the engine to look into volumes: project-name check (HF504) skipped")
                        return found
                match = self._volume_contents(name, helper[0], helper[1], table or [])
                if match is None or (image.kind not in match.kinds and match.title != image.title):
                    continue
                message = (
                    f"{image.title} data of project `{project}` is on volume {own}, while the unused volume {name} of project "
                    f"`{other_project}` (created {created or 'earlier'}) holds {match.title} data: the project was probably renamed or moved "
                    f"and started on a new, empty volume (Compose names volumes <project>_<volume>). To run on the old data, set "
                    f"`name: {other_project}` in the compose file (or COMPOSE_PROJECT_NAME={other_project}) and recreate; or stop the "
                    f"service and copy {name} into {own}"
                )
                data = {"volume": own, "other_volume": name, "project": project, "other_project": other_project, "volume_key": key, "data_path": path, "container": facts.id}
                found.append(self._finding("HF504", where, message, service, (path, "project-name"), data))
                break
        return found

    def _volume_contents(self, name: str, image_id: str, tmpfs: list[str], table: list["_Marker"]) -> "VolumeMatch | None":
        """Which data store's files a volume holds, read through a never-started read-only helper."""
        probe = self.access.create_probe(image_id, name, tmpfs)
        try:
            listing = self.access.list_dir(probe, PROBE_MOUNT)
            names = set(listing.names)
            if not listing.complete:
                for marker in table:
                    if "*" not in marker.pattern and marker.pattern not in names and self.access.exists(probe, f"{PROBE_MOUNT}/{marker.pattern}"):
                        names.add(marker.pattern)
            return identify(names, table, listing.dirs)
        finally:
            self.access.remove_probe(probe)

    # --------------------------------------------------------- volumes
    def audit_volumes(self) -> tuple[list[Finding], list[str]]:
        dangling = self.access.dangling()
        names = sorted(dangling)
        if self.only_volumes:
            for name in self.only_volumes:
                if name not in self._volumes:
                    self.notices.append(f"volume {name}: no such volume")
                elif name not in dangling:
                    self.notices.append(f"volume {name}: used by a container, not orphaned")
            names = [n for n in names if n in self.only_volumes]  # named explicitly: whatever --project says
        elif self.projects:
            names = [n for n in names if self._volume_labels.get(n, {}).get("com.docker.compose.project") in self.projects]
        if not names:
            return [], []
        helper = self._probe_image()
        if helper is None:
            self.notices.append(f"no image is present on the engine to create a read-only helper from: {len(names)} dangling {'volume' if len(names) == 1 else 'volumes'} not checked for orphaned data (holdfast never pulls)")
            return [], []
        image_id, tmpfs = helper
        table = marker_table(self.knowledge)
        found: list[Finding] = []
        looked: list[str] = []
        for name in names:
            looked.append(volume_path(name))
            try:
                finding = self._audit_volume(name, image_id, tmpfs, table)
            except Exception as exc:  # noqa: BLE001
                if _engine_gone(exc):
                    raise
                self.notices.append(f"{volume_path(name)}: not checked: {type(exc).__name__}: {exc}")
                continue
            if finding is not None:
                found.append(finding)
        return found, looked

    def _probe_image(self) -> tuple[str, list[str]] | None:
        """An image already on the engine, preferably one without VOLUMEs; tmpfs covers any it has."""
        seen: list[str] = []
        for image_id in list(dict.fromkeys(self._container_images)) + self.access.local_images():
            if image_id in seen:
                continue
            seen.append(image_id)
            attrs = self.access.image(image_id)
            if attrs is None or (attrs.get("Os") or "linux") != "linux":
                continue
            volumes = sorted(((attrs.get("Config") or {}).get("Volumes") or {}).keys())
            if not volumes:
                return attrs.get("Id") or image_id, []
            if len(seen) >= 20:
                break
        for image_id in seen:
            attrs = self.access.image(image_id)
            if attrs is not None and (attrs.get("Os") or "linux") == "linux":
                return attrs.get("Id") or image_id, sorted(((attrs.get("Config") or {}).get("Volumes") or {}).keys())
        return None

    def _audit_volume(self, name: str, image_id: str, tmpfs: list[str], table: list["_Marker"]) -> Finding | None:
        probe = self.access.create_probe(image_id, name, tmpfs)
        try:
            extra = [v for v in self.access.probe_volumes(probe) if v != name]
            if extra:
                self.notices.append(f"the inspect helper for {name} also got {'volume' if len(extra) == 1 else 'volumes'} {', '.join(extra)} from its image; they were left in place")
            listing = self.access.list_dir(probe, PROBE_MOUNT)
            names = set(listing.names)
            if not listing.complete:  # a big volume: ask for the fixed marker paths one by one
                for marker in table:
                    if "*" not in marker.pattern and marker.pattern not in names and self.access.exists(probe, f"{PROBE_MOUNT}/{marker.pattern}"):
                        names.add(marker.pattern)
            match = identify(names, table, listing.dirs)
            if match is None:
                return None
            version = None
            if match.version_file is not None:
                raw = self.access.read_file(probe, f"{PROBE_MOUNT}/{match.version_file}")
                text = raw.decode("utf-8", "replace").strip() if raw else ""
                version = text if text and len(text) <= 16 and " " not in text else None
        finally:
            self.access.remove_probe(probe)
        volume = self._volumes.get(name) or {}
        labels = self._volume_labels.get(name) or {}
        anonymous = _anonymous(name, labels)
        size = listing.file_bytes if listing.complete else None
        if size is None:
            self.sizes.want()
        project = labels.get("com.docker.compose.project")
        kind = "anonymous volume" if anonymous else "volume"
        details = [f"found {', '.join(match.evidence)}", f"created {volume['CreatedAt']}" if volume.get("CreatedAt") else None]
        if project:
            details.append(f"compose project {project}")
        what = match.title + (f" {version}" if version else "")
        risk = "`docker volume prune` deletes it" if anonymous else "`docker volume prune --all` deletes it"
        message = f"orphaned {kind} holds {what} data ({'; '.join(d for d in details if d)}{SIZE_TOKEN}): no container uses it and {risk}"
        data = {"volume": name, "anonymous": anonymous, "kinds": match.kinds, "evidence": match.evidence, "size": size, "version": version, "driver": volume.get("Driver")}
        return self._finding("HF503", volume_path(name), message, None, (), data)


def _declared_only(how: str, path: str) -> str:
    """For an image known only by its declared VOLUME: where the data is and what to do, said in the finding."""
    if how != "image VOLUME":
        return ""
    return (
        f"; holdfast has no entry for this image, its VOLUME {path} says where it keeps its state: mount a bind or "
        f"named volume at {path} (with the compose file, `holdfast fix --apply` moves the data there first)"
    )


def _anonymous(name: str, labels: dict[str, str]) -> bool:
    from holdfast.apply.host import _is_anonymous

    return _is_anonymous(name, labels)


def _engine_gone(exc: BaseException) -> bool:
    """True for errors meaning the engine stopped answering (the run cannot go on)."""
    try:
        import requests.exceptions

        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return True
    except ImportError:  # pragma: no cover - requests comes with docker
        pass
    return isinstance(exc, (ConnectionError, TimeoutError))


# ---------------------------------------------------------------- markers
@dataclass(frozen=True)
class _Marker:
    pattern: str  # relative path in the volume; "*" stands for one path segment (a major version)
    marker: str
    entry: str  # knowledge entry id
    title: str
    official: bool


@dataclass
class VolumeMatch:
    title: str
    kinds: list[str]
    evidence: list[str]
    version_file: str | None


def marker_table(knowledge: Iterable[Any]) -> list[_Marker]:
    """Where each data store's init markers sit in a volume: at its root, and below it when the
    volume was mounted above the data dir (postgres 18: `<major>/docker/PG_VERSION`)."""
    table: list[_Marker] = []
    seen: set[tuple[str, str]] = set()
    for entry in knowledge:
        markers = tuple(getattr(entry, "init_markers", ()) or ())
        if not markers:
            continue
        official = any(r.startswith("library/") for r in entry.repositories)
        prefixes = {""}
        for layout in entry.layouts:
            for data_path in layout.data_paths:
                if data_path.role != "data":
                    continue
                path = data_path.path.replace("{major}", "*")
                for base in (*layout.image_volumes, data_path.mount_target.replace("{major}", "*")):
                    if base and is_within(path, base) and path != normalise_path(base):
                        prefixes.add(posixpath.relpath(path, base) + "/")
        for prefix in sorted(prefixes):
            for marker in markers:
                key = (entry.id, prefix + marker)
                if key not in seen:
                    seen.add(key)
                    table.append(_Marker(prefix + marker, marker, entry.id, entry.title, official))
    return table


def _matches(name: str, pattern: str) -> bool:
    parts, wanted = name.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(fnmatchcase(p, w) for p, w in zip(parts, wanted))


def identify(names: Iterable[str], table: list[_Marker], dirs: Iterable[str] = ()) -> VolumeMatch | None:
    """The data store whose init markers the listing shows, or None."""
    names = set(names)
    hits: dict[str, list[tuple[_Marker, str]]] = {}
    for marker in table:
        for name in names:
            if _matches(name, marker.pattern):
                hits.setdefault(marker.entry, []).append((marker, name))
                break
    strong: dict[str, list[tuple[_Marker, str]]] = {}
    for entry, found in hits.items():
        distinct = {m.marker for m, _ in found}
        if distinct - GENERIC_MARKERS or len(distinct) >= 2:
            strong[entry] = found
    if not strong:
        return None
    # the entries matching the most distinct markers; official images name the kind
    best = max(len({m.marker for m, _ in found}) for found in strong.values())
    chosen = [entry for entry, found in strong.items() if len({m.marker for m, _ in found}) == best]
    order = {m.entry: i for i, m in enumerate(table)}
    chosen.sort(key=lambda e: order[e])
    markers = {e: strong[e] for e in chosen}
    official = [e for e in chosen if markers[e][0][0].official]
    named = official or chosen[:1]
    titles = list(dict.fromkeys(markers[e][0][0].title for e in named))
    title = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " or " + titles[-1]
    dirs = set(dirs)
    evidence = sorted({name + ("/" if name in dirs else "") for e in chosen for _, name in markers[e]})
    version_file = None
    for e in chosen:
        for marker, name in markers[e]:
            if marker.marker in VERSION_FILES:
                version_file = name
    return VolumeMatch(title, chosen, evidence, version_file)


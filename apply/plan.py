"""The plan file: what `holdfast plan` decided, pinned to what it saw.

A plan names the compose files with their sha256, the containers by id, the
exact new bytes of every file the fix changes, every data path to move with its
archive name and bind source, and the ordered steps. `apply` refuses a plan
whose files or containers changed since (stale), and a plan file that is not
valid against `plan-schema.json` or whose `id` (sha256 of its content) does not
match (edited by hand): both exit 2 with the reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

from holdfast.apply.errors import PlanInvalid

FORMAT = "holdfast-plan"
VERSION = 1
PLAN_CODES = ("HF101", "HF102", "HF105", "HF106")

# The order of the steps; per-service steps are `<kind>:<service>`.
STEP_KINDS = (
    "preflight",
    "fingerprint",
    "stop",
    "archive",
    "verify-archives",
    "remove",
    "restore",
    "patch",
    "recreate",
    "wait-healthy",
    "verify-mounts",
    "verify-data",
    "finish",
)
PER_SERVICE = ("archive", "restore")
DESTRUCTIVE = ("remove",)  # the first step after which "undo" means restoring from the archive


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256()
            for block in iter(lambda: handle.read(1024 * 1024), b""):
                digest.update(block)
        return digest.hexdigest()
    except FileNotFoundError:
        return None


def slug(path: str) -> str:
    return "-".join(p for p in path.strip("/").split("/") if p) or "root"


@dataclass
class ComposeFile:
    path: str  # absolute
    sha256: str


@dataclass
class FileChange:
    """The exact bytes the fix writes (reviewed in `plan --show`, applied verbatim)."""

    path: str
    created: bool
    sha256_before: str | None
    sha256_after: str
    content_b64: str

    @property
    def new_bytes(self) -> bytes:
        return base64.b64decode(self.content_b64)


@dataclass
class ContainerRef:
    id: str
    name: str
    state: str  # running | exited | created | ...
    image_ref: str
    image_id: str
    user: str = ""
    hostname: str = ""
    healthcheck: bool = False
    stop_timeout: int | None = None
    stop_signal: str | None = None
    version_env: dict[str, str] = field(default_factory=dict)


@dataclass
class PathMove:
    """One container path whose content moves into one bind mount."""

    mount_target: str  # archived, and where the bind is mounted
    data_paths: list[str]  # the data directories inside it
    storage: str  # what holds it now: anonymous-volume | volume | container-layer | bind
    volume: str | None  # the old volume's name: a second backup, never removed
    bind_spec: str  # the bind source as written in the compose file
    bind_source: str  # absolute path on the engine's host
    archive: str  # file name inside the backup folder
    markers: list[str]  # init markers, relative to mount_target ("any of")
    size_bytes: int | None = None


@dataclass
class ServicePlan:
    name: str
    codes: list[str]
    container: ContainerRef
    kind: str
    title: str
    major: int | None
    probe: str | None
    readiness: list[str] | None
    stop_grace: int
    moves: list[PathMove]
    image_after: str  # the image reference in the patched file
    tag: str | None = None  # a reference to point at container.image_id before `up` (pin, or a vanished tag)
    hostname_pin: str | None = None

    @property
    def size_bytes(self) -> int:
        return sum(m.size_bytes or 0 for m in self.moves)


@dataclass
class OtherContainer:
    id: str
    name: str
    service: str
    state: str
    oneoff: bool = False


@dataclass
class Step:
    id: str
    kind: str
    title: str
    service: str | None = None
    destructive: bool = False


@dataclass
class ProjectRef:
    name: str
    directory: str
    files: list[ComposeFile]
    env_file: str | None = None

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]


@dataclass
class EngineRef:
    endpoint: str
    source: str
    version: str = "?"
    api_version: str = "?"


@dataclass
class Plan:
    created_at: str
    holdfast_version: str
    project: ProjectRef
    engine: EngineRef
    # The Compose CLI that recreates the project: the flavour that created it (its containers'
    # labels), or the one named with --compose. "docker compose" (v2) or "docker-compose" (v1);
    # apply runs that flavour, never silently the other (v2 would rename v1's containers).
    compose_cli: str | None
    services: list[ServicePlan]
    others: list[OtherContainer]
    changes: list[FileChange]
    steps: list[Step]
    warnings: list[str] = field(default_factory=list)
    estimate: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    # ------------------------------------------------------------- helpers
    def service(self, name: str) -> ServicePlan:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    @property
    def compose_files(self) -> list[str]:
        """Files Compose must be given: the project's files plus any file the fix created (an override)."""
        files = self.project.paths
        files += [c.path for c in self.changes if c.created and c.path not in files]
        return files

    @property
    def backup_name(self) -> str:
        stamp = self.created_at.replace("-", "").replace(":", "").split(".")[0].rstrip("Z")
        return f"{stamp}-{self.project.name}"

    def to_json(self) -> dict[str, Any]:
        body = {"format": FORMAT, "version": VERSION, **asdict(self)}
        body.pop("id")
        return {**body, "id": compute_id(body)}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        services = []
        for raw in data["services"]:
            raw = dict(raw)
            raw["container"] = ContainerRef(**raw["container"])
            raw["moves"] = [PathMove(**m) for m in raw["moves"]]
            services.append(ServicePlan(**raw))
        project = dict(data["project"])
        project["files"] = [ComposeFile(**f) for f in project["files"]]
        return cls(
            created_at=data["created_at"],
            holdfast_version=data["holdfast_version"],
            project=ProjectRef(**project),
            engine=EngineRef(**data["engine"]),
            compose_cli=data.get("compose_cli"),
            services=services,
            others=[OtherContainer(**o) for o in data["others"]],
            changes=[FileChange(**c) for c in data["changes"]],
            steps=[Step(**s) for s in data["steps"]],
            warnings=list(data.get("warnings") or []),
            estimate=dict(data.get("estimate") or {}),
            id=data["id"],
        )


def compute_id(body: dict[str, Any]) -> str:
    canonical = json.dumps({k: v for k, v in body.items() if k != "id"}, sort_keys=True, separators=(",", ":"))
    return sha256_bytes(canonical.encode("utf-8"))


def build_steps(services: list[ServicePlan], others: list[OtherContainer]) -> list[Step]:
    """The ordered steps for these services (see DESIGN.md, "The plan")."""
    names = ", ".join(s.name for s in services)
    titles = {
        "preflight": "check the plan is current, images are local, targets are empty, nothing else is applying",
        "fingerprint": f"fingerprint the data while it is up ({names})",
        "stop": "stop the whole project (each database with its grace period)",
        "verify-archives": "verify every archive (sha256, entry count, init marker)",
        "remove": f"remove the containers of {names} (never a volume)",
        "patch": "patch the compose file(s)",
        "recreate": f"recreate {names} with Compose (init marker checked before start)",
        "wait-healthy": "wait until healthy or ready",
        "verify-mounts": "verify the mounts (bind, source, destination)",
        "verify-data": "verify the fingerprint matches",
        "finish": "start the rest of the project again and report" if others else "report",
    }
    steps: list[Step] = []
    for kind in STEP_KINDS:
        if kind in PER_SERVICE:
            for service in services:
                paths = ", ".join(m.mount_target for m in service.moves)
                title = f"archive {service.name}:{paths}" if kind == "archive" else f"restore {service.name} into {', '.join(m.bind_spec for m in service.moves)}"
                steps.append(Step(f"{kind}:{service.name}", kind, title, service.name, kind in DESTRUCTIVE))
        else:
            steps.append(Step(kind, kind, titles[kind], None, kind in DESTRUCTIVE))
    return steps


# ------------------------------------------------------------------- files
def schema() -> dict[str, Any]:
    text = resources.files("holdfast.apply").joinpath("plan-schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate(data: Any) -> None:
    """Raise PlanInvalid naming the first problem (path inside the file and what is wrong)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise PlanInvalid(f"invalid plan: at {where}: {error.message}")


def load(path: str) -> Plan:
    """Read, validate against the schema, check the id, and build the Plan."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise PlanInvalid(f"{path}: no such plan file") from None
    except (OSError, ValueError) as exc:
        raise PlanInvalid(f"{path}: not a readable JSON plan: {exc}") from None
    validate(data)
    if compute_id(data) != data["id"]:
        raise PlanInvalid(f"{path}: the plan was modified after `holdfast plan` wrote it (its id does not match its content); make a new plan")
    try:
        return Plan.from_json(data)
    except (KeyError, TypeError) as exc:  # pragma: no cover - the schema should have caught it
        raise PlanInvalid(f"{path}: invalid plan: {exc}") from None


def save(plan: Plan, path: str) -> None:
    from holdfast.fileio import write_text_atomic

    text = plan.dumps()
    plan.id = json.loads(text)["id"]
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    write_text_atomic(path, text)

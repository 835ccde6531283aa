"""May `holdfast fix` edit a file while the project's containers hold the data?

A fix that adds or moves a data mount is right for the NEXT container, but the
container that exists now keeps its data where it is: in an anonymous volume, in
its writable layer, or behind a mount the fix moves. After `docker compose up -d`
the new container starts on the new, empty mount, and `holdfast lint` is clean:
the data was left behind and nothing says so. So, when a Docker engine is
configured, `fix` asks it (lazily, only when a data fix would be written) which
services of the project have a container, and refuses those services' data fixes
with one line pointing to `holdfast fix --apply`, which moves the data first.
`--no-engine` (what pre-commit and CI use) never asks.

Only this module (in `holdfast.apply`, imported by `fix` on demand) imports the
Docker SDK; `engine_configured()` decides without importing it.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_SOCKET = "/var/run/docker.sock"
from holdfast.fixing import DATA_CODES  # the codes whose fix gives a data path a new mount
CHECK_TIMEOUT = 10  # seconds for each Docker call of the check


def engine_configured(environ: dict[str, str] | None = None) -> bool:
    """True when a Docker engine may be reachable: DOCKER_HOST or DOCKER_CONTEXT is set, or the default socket exists."""
    environ = os.environ if environ is None else environ
    return bool(environ.get("DOCKER_HOST") or environ.get("DOCKER_CONTEXT")) or os.path.exists(DEFAULT_SOCKET)


def blocked_services(project: Any, services: set[str], *, linter: Any, project_name: str | None = None, host: str | None = None) -> tuple[dict[str, str], list[str]]:
    """({service: why its data fix must not be written}, notes) for the `services` a data fix would change.

    A service is blocked when the project has a container for it (running or stopped, not a
    one-off) that runs a stateful image: whatever the fix adds, that container's data is not
    in it. An engine that does not answer blocks nothing and gives a note."""
    from holdfast.apply.errors import ApplyError
    from holdfast.apply.host import Engine
    from holdfast.apply.planner import Planner, storage_of

    try:
        engine = Engine.connect(host, timeout=CHECK_TIMEOUT)
    except ApplyError as exc:
        return {}, [f"could not ask Docker whether the project runs ({exc}); fixed the files without that check (--no-engine skips it)"]
    planner = Planner(engine, linter.config, linter=linter)
    notes: list[str] = []
    try:
        name, containers = planner._containers(project_name or project.name, project.directory, notes)
    except ApplyError as exc:
        return {}, [str(exc)]
    blocked: dict[str, str] = {}
    for facts in containers:
        if facts.oneoff or facts.service not in services or facts.service in blocked:
            continue
        resolved, major = planner._resolve(facts)
        if resolved is None or not resolved.layouts or getattr(resolved, "stateful", "yes") != "yes" or getattr(resolved, "ephemeral", False):
            continue
        layout = resolved.layouts[0]
        primary = next((dp for dp in layout.data_paths if dp.role == "data"), layout.data_paths[0])
        where = _storage_words(storage_of(facts.covering_mount(primary.path)), facts.covering_mount(primary.path))
        version = f" {major}" if major is not None else ""
        state = "running" if facts.running else "stopped"
        blocked[facts.service] = (
            f"its container {facts.name} is {state} ({resolved.title}{version}) with the data in {where}; "
            f"the fixed file would make the next `up` start it without that data. Run `holdfast fix --apply` to move the data "
            f"with the fix (or --no-engine to edit the file anyway)"
        )
    return blocked, notes


def _storage_words(storage: str, mount: Any) -> str:
    if storage == "anonymous-volume":
        return "an anonymous volume"
    if storage == "container-layer":
        return "the container's own layer"
    if storage == "volume":
        return f"the volume {getattr(mount, 'name', '')}".rstrip()
    if storage == "bind":
        return f"{getattr(mount, 'source', 'a bind mount')}"
    return "a mount the fix changes"


__all__ = ["DATA_CODES", "blocked_services", "engine_configured"]

"""HF108: a data store's named volume is named after the folder, because the project has no `name:`."""

from __future__ import annotations

import os
from typing import Iterable

from holdfast.model import Finding, Rule, Severity


def declared_name(project) -> bool:
    """The project name is fixed by the files: a top-level `name:` or COMPOSE_PROJECT_NAME in `.env`."""
    from holdfast.interpolation import read_env_file

    for document in project.all_documents:
        if isinstance(document.data, dict) and document.data.get("name") not in (None, ""):
            return True
    return bool(read_env_file(os.path.join(project.directory, ".env")).get("COMPOSE_PROJECT_NAME"))


class ImplicitProjectName(Rule):
    """A data store keeps its data in a named volume whose real name depends on the folder's name.

    ## What it does
    Reports the mount of each data store whose data path is on a named volume
    when the project has no top-level `name:` (and no `COMPOSE_PROJECT_NAME` in
    its `.env`). Volumes with their own `name:` and `external` volumes are not
    affected and not reported, nor are Swarm stack files (`docker stack deploy`
    is given the stack's name).

    ## Why it matters
    Compose creates the volume `pgdata` as `<project>_pgdata`, and the project name
    defaults to the folder's name. Rename or move the folder, clone it elsewhere,
    or run it from a CI checkout with another name, and `up` creates a new, empty
    volume: the database starts empty, while the old data sits in the old volume.
    No file changed. `holdfast inspect` finds such pairs on a live host (HF504).

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
        volumes: [pgdata:/var/lib/postgresql/data]
    volumes:
      pgdata:
    ```

    ## Use instead
    ```yaml
    name: myapp
    services:
      db:
        image: postgres:16
        volumes: [pgdata:/var/lib/postgresql/data]
    volumes:
      pgdata:
    ```
    Use the name the project runs under today (`docker compose ls`), or the
    volume's data stays behind.

    ## Fix
    None automatically: the right name is the one the existing volumes carry.

    ## References
    - Compose documentation, "Specify a project name" (the default is the folder name)
    - Compose Specification, `name` top-level element
    """

    code = "HF108"
    name = "implicit-project-name"
    severity = Severity.INFO
    enabled_by_default = False  # advisory: opt in with extend-select
    groups = ("data-safety",)

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.project import is_legacy_v1
        from holdfast.rules._compose import raw, stateful_services, uses_variable
        from holdfast.rules.hf401_swarm_placement import is_stack

        project = ctx.project
        if declared_name(project) or any(is_legacy_v1(d.data) for d in project.documents) or is_stack(project):
            return  # a stack's name is given to `docker stack deploy`, not taken from the folder
        for service, analysis in stateful_services(ctx):
            for status in analysis.statuses:
                mount = status.mount
                if status.state != "named" or mount is None or not mount.source or mount.origin != "volumes":
                    continue
                definition = project.volumes.get(mount.source)
                if isinstance(definition, dict) and (definition.get("external") or definition.get("name")):
                    continue
                origin = service.mount_origins.get(mount.target, service.primary)
                if uses_variable(raw(origin)):
                    continue  # the volume comes from a `${VAR}`: not ours to guess
                yield ctx.finding(
                    origin,
                    (),
                    f"{analysis.image.title} data of service `{service.name}` is on volume `{mount.source}`, which Compose names `{project.name}_{mount.source}` after the folder: "
                    "renaming or moving the folder starts an empty database (no top-level `name:`)",
                    service=service.name,
                    data={"volume": mount.source, "project": project.name},
                )

"""HF103: the data is on a named volume where the policy asks for a bind mount."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class StatefulDataOnNamedVolume(Rule):
    """A stateful service keeps its data on a named volume (policy `persistence = "bind"`).

    ## What it does
    Off by default. With `persistence = "bind"` in the configuration (or when
    selected), reports data paths held by a named volume instead of a folder.

    ## Why it matters
    Some teams want the data in a folder they can see, back up with their usual
    tools and move with the project. Named volumes live under the engine's data
    root and are removed by `docker compose down -v`.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
        volumes: [db-data:/var/lib/postgresql/data]
    volumes:
      db-data:
    ```

    ## Use instead
    ```yaml
        volumes: [./data/db:/var/lib/postgresql/data]
    ```

    ## Fix
    None automatically: moving data out of a volume is a live-host operation.

    ## References
    - Docker documentation, "Volumes" and "Bind mounts"
    """

    code = "HF103"
    name = "stateful-data-on-named-volume"
    severity = Severity.WARNING
    enabled_by_default = False
    groups = ("data-safety", "policy")

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.persistence import project_analyses

        for analysis in project_analyses(ctx.project, ctx.knowledge):
            for status in analysis.statuses:
                if status.state != "named" or status.mount is None:
                    continue
                service = analysis.service
                origin = service.mount_origins.get(status.mount.target, service.primary)
                yield ctx.finding(
                    origin,
                    (),
                    f"{analysis.image.title} data in {status.data_path.path} is on the named volume `{status.mount.source}`, not in a folder",
                    service=service.name,
                )

"""HF102: the data path is mounted as an anonymous volume."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class StatefulDataOnAnonymousVolume(Rule):
    """A stateful service's data path is an anonymous volume (`- /var/lib/postgresql/data`).

    ## What it does
    Reports a `volumes:` entry with only a container path (or a long-syntax
    `type: volume` without `source`) that holds a data store's files.

    ## Why it matters
    An anonymous volume has no name to find it by. `docker compose rm -v`,
    `down -v` and `docker volume prune` delete it, and `down` then `up` creates a
    new empty one: the data is orphaned at best.

    ## Example
    ```yaml
    services:
      db:
        image: mysql:8.4
        volumes:
          - /var/lib/mysql
    ```

    ## Use instead
    ```yaml
        volumes:
          - ./data/db:/var/lib/mysql
    ```

    ## Fix
    Safe: the entry is replaced by a bind mount (or a named volume). On a live host
    `holdfast plan` / `apply` copy the existing data across first.

    ## References
    - Docker documentation, `docker container rm --volumes`
    """

    code = "HF102"
    name = "stateful-data-on-anonymous-volume"
    severity = Severity.ERROR
    fixable = True
    groups = ("data-safety",)

    def check(self, ctx) -> Iterable[Finding]:
        return anonymous_data_findings(ctx, "data-store")


def anonymous_data_findings(ctx, category: str, maybe_stateful: bool = True) -> Iterable[Finding]:
    """Findings of the running rule at each anonymous `volumes:` entry that holds the data of an image of
    ``category`` (HF102: data stores; HF106: applications, whose fix is the same replacement)."""
    from holdfast.persistence import project_analyses

    for analysis in project_analyses(ctx.project, ctx.knowledge, category):
        if analysis.persisted or analysis.image.ephemeral:
            continue
        if analysis.image.stateful != "yes" and not maybe_stateful:
            continue
        for status in analysis.statuses:
            if status.state != "anonymous" or status.mount is None:
                continue
            service = analysis.service
            origin = service.mount_origins.get(status.mount.target, service.primary)
            message = (
                f"{analysis.image.title} data in {status.data_path.path} is on an anonymous volume "
                f"({status.mount.target}), which `docker compose rm -v`, `down -v` or `volume prune` delete"
            )
            yield ctx.finding(
                origin,
                (),
                message,
                service=service.name,
                plan=True,
                data={"data_paths": [status.data_path.path], "mount_targets": [status.data_path.mount_target], "anonymous_target": status.mount.target},
            )

"""HF105: a mount exists, but not where this image version keeps its data."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class StatefulMountWrongPath(Rule):
    """A stateful service has a mount meant for its data that does not hold the data.

    ## What it does
    Reports a bind mount or named volume aimed at the data that misses it: a parent
    folder under an image VOLUME (postgres <= 17 with `/var/lib/postgresql`), the
    path of another version (postgres 18 with `/var/lib/postgresql/data`), the
    default path while `PGDATA` or `--dir` moved the data, or a folder inside it.

    ## Why it matters
    The file looks persistent, so nobody checks; the data actually lives in an
    anonymous volume or in the container and is lost on recreate.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:18
        volumes: [./pg:/var/lib/postgresql/data]   # 18 keeps data in /var/lib/postgresql/18/docker
    ```

    ## Use instead
    ```yaml
        volumes: [./pg:/var/lib/postgresql]
    ```

    ## Fix
    Unsafe when the right target is unambiguous (the mount is moved), display-only
    otherwise. On a live host, `holdfast plan` moves the data too.

    ## References
    - docker-library/postgres PR 1259 (PGDATA moved in 18)
    - https://github.com/itmicus/cmdbuild_docker/issues/49
    """

    code = "HF105"
    name = "stateful-mount-wrong-path"
    severity = Severity.ERROR
    fixable = True
    groups = ("data-safety",)

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.persistence import near_misses, project_analyses

        for analysis in project_analyses(ctx.project, ctx.knowledge):
            if analysis.persisted or analysis.image.ephemeral:
                continue
            service = analysis.service
            for miss in near_misses(analysis, ctx.knowledge):
                origin = service.mount_origins.get(miss.mount.target, service.primary)
                yield ctx.finding(
                    origin,
                    (),
                    f"{analysis.image.title} data in {miss.status.data_path.path} is not persisted: {miss.reason}",
                    service=service.name,
                    plan=True,
                    data={
                        "data_paths": [miss.status.data_path.path],
                        "mount_targets": [miss.status.data_path.mount_target],
                        "wrong_target": miss.mount.target,
                    },
                )

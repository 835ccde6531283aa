"""HF101: a stateful service keeps its data only inside the container."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class StatefulDataNotPersisted(Rule):
    """A database or other stateful service whose data path is not on a bind mount or named volume.

    ## What it does
    For every service whose image is a known data store (postgres, mysql, mariadb,
    mongo, redis, valkey, elasticsearch, rabbitmq, ...), works out where the data
    lives for that image version, environment (`PGDATA`, ...) and command flags
    (`redis-server --dir`, `mongod --dbpath`, ...), and checks that the mount holding
    that path in the effective project (override files, `extends`, `include`,
    `volumes_from` included) is a bind mount or a named volume. A mount on a parent
    folder does not count when the image declares a VOLUME deeper down. A tmpfs at
    the data path is taken as a deliberate RAM-only database. The message says when
    a commented-out `volumes:` block under the service would persist the data.

    ## Why it matters
    Without a mount the data sits in an anonymous volume the image creates (lost on
    `docker compose down` then `up`, or `rm`) or in the container's writable layer
    (lost on every recreate). Mastodon's early compose file shipped exactly like
    this and many instances lost every account and post.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:9.6-alpine
    ### Uncomment to enable DB persistance
    #    volumes:
    #      - ./postgres:/var/lib/postgresql/data
    ```

    ## Use instead
    ```yaml
    services:
      db:
        image: postgres:9.6-alpine
        volumes:
          - ./postgres:/var/lib/postgresql/data
    ```

    ## Fix
    Safe: uncomment the commented-out block when it mounts the data path, otherwise
    add a bind mount under `./data/<service>` (or a named volume). On a live host,
    `holdfast plan` / `apply` move the existing data into the new mount first.

    ## References
    - https://github.com/mastodon/mastodon/issues/1080
    - docker-library/docs postgres: "PGDATA" and the note on /var/lib/postgresql
    """

    code = "HF101"
    name = "stateful-data-not-persisted"
    severity = Severity.ERROR
    fixable = True
    groups = ("data-safety",)
    options = {"maybe-stateful": False}
    category = "data-store"  # which knowledge entries this rule reports (HF106: "application")
    lost_states = ("image-volume", "container-layer")
    leave_near_misses = True  # to HF105 (which checks data stores only)

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.commented import find_commented_volumes
        from holdfast.persistence import describe_storage, near_misses, path_status, project_analyses

        for analysis in project_analyses(ctx.project, ctx.knowledge, self.category):
            image = analysis.image
            if analysis.persisted or image.ephemeral:
                continue
            if image.stateful != "yes" and not ctx.options.get("maybe-stateful"):
                continue
            service = analysis.service
            origin = service.primary
            block = find_commented_volumes(origin.document, service.name)
            layout, statuses = analysis.layout, analysis.statuses
            block_persists = False
            if block is not None:
                # A floating tag has several layouts: report the one the author's block was written for.
                for candidate, _ in analysis.alternatives:
                    mounts = list(analysis.mounts) + list(block.mounts)
                    trial = [path_status(dp, mounts, candidate.image_volumes) for dp in candidate.data_paths if dp.role == "data"]
                    if all(t.persisted for t in trial):
                        layout = candidate
                        statuses = next(st for lay, st in analysis.alternatives if lay is candidate)
                        block_persists = True
                        break
            missed = {id(n.status) for n in near_misses(analysis, ctx.knowledge)} if self.leave_near_misses else set()
            lost = [s for s in statuses if s.state in self.lost_states and id(s) not in missed]
            if not lost:
                continue
            paths = ", ".join(s.data_path.path for s in lost)
            message = f"{image.title} data in {paths} is not persisted: it is kept in {describe_storage(lost[0])}"
            others = [dp.path for other in image.layouts if other is not layout for dp in other.data_paths if dp.role == "data"]
            if others:
                message += f" (the floating tag `{image.ref.tag or 'latest'}` may also mean {', '.join(others)})"
            data = {"data_paths": [s.data_path.path for s in lost], "mount_targets": [s.data_path.mount_target for s in lost], "layout": layout.label}
            if block is not None and block_persists:
                message += f"; the commented-out `volumes:` block on lines {block.first_line}-{block.last_line} would persist it"
                data["commented_block"] = (block.first_line, block.last_line)
            yield ctx.finding(origin, (), message, service=service.name, plan=True, data=data)

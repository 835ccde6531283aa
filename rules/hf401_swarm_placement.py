"""HF401: a Swarm stack's data store keeps node-local data without being pinned to a node."""

from __future__ import annotations

import os
import re
from typing import Any, Iterable

from holdfast.model import Finding, Rule, Severity

# `deploy:` keys only `docker stack deploy` reads (Compose itself honours resources, replicas and restart_policy).
SWARM_KEYS = ("placement", "update_config", "rollback_config", "endpoint_mode")
STACK_FILE = re.compile(r"(^|[-_.])stack([-_.]|$)")
PINNING = re.compile(r"^\s*node\.(hostname|id|labels\.[^=!\s]+)\s*==\s*\S")


def is_stack(project: Any) -> bool:
    """A file named like a stack file, a Swarm-only `deploy:` key (or `mode: global`), or an overlay network."""
    if any(STACK_FILE.search(os.path.basename(d.path).lower()) for d in project.documents):
        return True
    for service in project.services.values():
        deploy = service.config.get("deploy")
        if isinstance(deploy, dict) and (any(k in deploy for k in SWARM_KEYS) or deploy.get("mode") == "global"):
            return True
    for document in project.all_documents:
        networks = document.data.get("networks") if isinstance(document.data, dict) else None
        if isinstance(networks, dict) and any(isinstance(n, dict) and n.get("driver") == "overlay" for n in networks.values()):
            return True
    return False


def pinned(deploy: Any) -> bool:
    placement = deploy.get("placement") if isinstance(deploy, dict) else None
    constraints = placement.get("constraints") if isinstance(placement, dict) else None
    return isinstance(constraints, list) and any(isinstance(c, str) and PINNING.match(c) for c in constraints)


class SwarmStatefulWithoutPlacement(Rule):
    """In a Swarm stack, a data store keeps its data on the node it happens to run on, with no placement constraint.

    ## What it does
    In a project deployed as a Swarm stack (a file named like `stack.yml`, a
    service using `deploy.placement`, `update_config`, `rollback_config`,
    `endpoint_mode` or `mode: global`, or a network with the overlay driver), reports each data store whose data path is on a bind mount or a
    volume with the local driver while its `deploy.placement.constraints` do not
    pin it to one node (`node.hostname == x`, `node.id == x` or
    `node.labels.x == y`). Services in `mode: global` are skipped (one copy per
    node, by design).

    ## Why it matters
    A bind mount and a local volume exist on one node only. When Swarm reschedules
    the task (node drain, update, failure), it starts on another node with an
    empty folder or a new empty volume: the database comes up empty, and the
    real data waits on the old node until someone notices.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
        volumes: [pgdata:/var/lib/postgresql/data]
        deploy:
          replicas: 1
    volumes:
      pgdata:
    ```

    ## Use instead
    ```yaml
        deploy:
          replicas: 1
          placement:
            constraints: [node.hostname == db-1]
    ```
    or a volume driver that follows the task between nodes.

    ## Fix
    None automatically: holdfast cannot know which node holds the data.

    ## References
    - Docker documentation, "Deploy services to a swarm: placement constraints"
    - Docker documentation, "Use volumes: share data between machines"
    """

    code = "HF401"
    name = "swarm-stateful-without-placement"
    severity = Severity.WARNING
    groups = ("data-safety", "swarm")

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.rules._compose import raw, stateful_services, uses_variable

        if not is_stack(ctx.project):
            return
        for service, analysis in stateful_services(ctx):
            deploy = service.config.get("deploy")
            if isinstance(deploy, dict) and (deploy.get("mode") == "global" or pinned(deploy)):
                continue
            local = []
            for status in analysis.statuses:
                mount = status.mount
                if mount is None or status.state not in ("bind", "named"):
                    continue
                written = service.mount_origins.get(mount.target)
                if written is not None and uses_variable(raw(written)):
                    continue  # the source comes from a `${VAR}`
                if status.state == "named":
                    definition = ctx.project.volumes.get(mount.source or "", {})
                    if not isinstance(definition, dict) or definition.get("external") or (definition.get("driver") not in (None, "local")):
                        continue
                    opts = definition.get("driver_opts")
                    if isinstance(opts, dict) and str(opts.get("type", "")).lower() in ("nfs", "nfs4", "cifs"):
                        continue  # a network file system: every node sees the same data
                local.append((status, mount))
            if not local:
                continue
            status, mount = local[0]
            what = f"the bind mount {mount.source}" if status.state == "bind" else f"the local volume `{mount.source}`"
            origin = service.origin("deploy") if "deploy" in service.config else service.mount_origins.get(mount.target, service.primary)
            yield ctx.finding(
                origin,
                (),
                f"{analysis.image.title} service `{service.name}` keeps its data on {what}, which exists on one node only, and no placement constraint pins it there: a rescheduled task starts with empty data",
                service=service.name,
            )

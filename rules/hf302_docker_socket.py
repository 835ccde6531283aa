"""HF302: a service mounts the Docker socket."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity

SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "//var/run/docker.sock", "/var/run/podman/podman.sock", "/run/podman/podman.sock")


class DockerSocketMounted(Rule):
    """A service mounts the Docker (or Podman) socket.

    ## What it does
    Reports a `volumes:` entry (short or long form) whose host source is the
    engine's socket: `/var/run/docker.sock`, `/run/docker.sock` (also the Windows
    spelling `//var/run/docker.sock`) or the rootful Podman socket. Read-only
    mounts are reported too: `:ro` does not restrict the API. Sources written with
    `${VAR}` are left alone.

    ## Why it matters
    The socket is root on the host: whoever controls the container can start a
    privileged container that mounts `/`, read every secret, or delete every
    volume, including your databases. Reverse proxies, dashboards and updaters
    ask for it; each is one vulnerability away from the whole host.

    ## Example
    ```yaml
    services:
      proxy:
        image: traefik:v3.1
        volumes:
          - /var/run/docker.sock:/var/run/docker.sock:ro
    ```

    ## Use instead
    A socket proxy that allows only the read-only endpoints the tool needs, or the
    tool's file provider, and keep the socket for trusted, pinned images.

    ## Fix
    None automatically.

    ## References
    - Docker documentation, "Docker daemon attack surface"
    - OWASP Docker Security Cheat Sheet, rule 1 "Do not expose the Docker daemon socket"
    """

    code = "HF302"
    name = "docker-socket-mounted"
    severity = Severity.WARNING
    groups = ("security",)

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.rules._compose import literal_binds

        for service, item, mount in literal_binds(ctx.project):
            if mount.source.rstrip("/") in SOCKETS:
                yield ctx.finding(
                    item.origin,
                    (),
                    f"service `{service.name}` mounts the engine socket {mount.source}: the container controls the Docker engine, which is root on the host",
                    service=service.name,
                )

"""HF206: a bind mount whose source leaves the project folder, or is a sensitive host path."""

from __future__ import annotations

import os
import posixpath
from typing import Iterable

from holdfast.model import Finding, Rule, Severity

DEFAULT_SENSITIVE = ["/", "/etc", "/root/**", "/var/lib/docker/**"]


def sensitive_match(path: str, patterns: list[str]) -> str | None:
    """The pattern an absolute host path hits: `P` is P itself, `P/**` is P and everything below it."""
    path = posixpath.normpath(path) if path != "/" else "/"
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    for pattern in patterns:
        if pattern.endswith("/**"):
            base = pattern[:-3] or "/"
            if path == base or path.startswith(base.rstrip("/") + "/"):
                return base
        elif path == (posixpath.normpath(pattern) if pattern != "/" else "/"):
            return pattern
    return None


class BindSourceEscapesProject(Rule):
    """A bind mount reaches outside the project folder, or onto a sensitive host path.

    ## What it does
    Reports a bind mount (short `SRC:/x` or long `type: bind`) whose relative
    source leaves the project folder (`../data`, `./a/../../b`), and one whose
    absolute source is a sensitive host path: by default `/`, `/etc`, `/root` and
    anything under it, and the Docker data root `/var/lib/docker` and anything
    under it (option `sensitive-paths`; `P/**` means P and below). Files such as
    `/etc/localtime` are not reported. Sources written with `${VAR}` are left alone.

    ## Why it matters
    A project that mounts `../something` depends on where it was checked out: moved
    or cloned elsewhere, the mount silently points at a missing or different folder
    (Docker creates an empty one), and a database starts empty. Mounting `/`,
    `/etc`, `/root` or the engine's own data gives the container the host: a
    compromised or buggy container can rewrite system files, read keys or tamper
    with other containers' volumes.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
        volumes:
          - ../pgdata:/var/lib/postgresql/data
      agent:
        image: example/agent:1
        volumes: ["/:/host"]
    ```

    ## Use instead
    ```yaml
        volumes:
          - ./pgdata:/var/lib/postgresql/data
    ```
    and mount only the files an agent needs, read-only.

    ## Fix
    None automatically: moving data is a live-host operation.

    ## References
    - Docker documentation, "Bind mounts" ("a bind mount ... has access to sensitive files")
    - CIS Docker Benchmark 5.5, "Ensure sensitive host system directories are not mounted"
    """

    code = "HF206"
    name = "bind-source-escapes-project"
    severity = Severity.WARNING
    groups = ("security", "data-safety")
    options = {"sensitive-paths": DEFAULT_SENSITIVE}

    @classmethod
    def validate_options(cls, options: dict) -> None:
        value = options.get("sensitive-paths", DEFAULT_SENSITIVE)
        if not isinstance(value, list) or not all(isinstance(p, str) and p.startswith("/") for p in value):
            raise ValueError(f"option 'sensitive-paths' of {cls.code} must be a list of absolute paths (got {value!r})")

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.rules._compose import literal_binds

        root = os.path.abspath(ctx.project.directory)
        patterns = list(ctx.options.get("sensitive-paths", DEFAULT_SENSITIVE))
        for service, item, mount in literal_binds(ctx.project):
            source = mount.source
            if isinstance(item.raw, str) and not source.startswith((".", "/", "~")):
                continue  # `data/pg:/x` is a (bad) volume name: HF202
            if source.startswith("/"):
                hit = sensitive_match(source, patterns)
                if hit is not None:
                    yield ctx.finding(
                        item.origin,
                        (),
                        f"service `{service.name}` bind-mounts the sensitive host path {source} ({'the Docker data root' if hit.startswith('/var/lib/docker') else 'host system files'}) into the container",
                        service=service.name,
                        data={"source": source},
                    )
                continue
            if source.startswith(("~", "\\")) or (len(source) > 1 and source[1] == ":"):
                continue
            document = item.origin.document
            base = root
            if document not in ctx.project.documents and document.real_path:
                base = os.path.dirname(document.real_path)  # included / extended files resolve from their folder
            resolved = os.path.normpath(os.path.join(base, source))
            if resolved != root and not resolved.startswith(root.rstrip(os.sep) + os.sep):
                yield ctx.finding(
                    item.origin,
                    (),
                    f"service `{service.name}` bind-mounts {source}, which is outside the project folder ({os.path.relpath(resolved, root)}): the mount depends on where the project is checked out",
                    service=service.name,
                    data={"source": source},
                )

"""HF202: a service mounts a named volume the project does not declare."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class UndefinedNamedVolume(Rule):
    """A service mounts a named volume that no top-level `volumes:` declares.

    ## What it does
    Reports each `volumes:` entry of a service (short `name:/path` or long
    `type: volume, source: name`) whose volume is not declared under the project's
    top-level `volumes:` (in any of its files). Also reports a short-syntax source
    that contains a slash but does not start with `./`, `/` or `~` (`data/pg:/x`):
    Compose reads it as a volume NAME, and a name cannot contain a slash. Sources
    written with `${VAR}` are left alone.

    ## Why it matters
    `docker compose up` refuses the whole project ("service db refers to undefined
    volume pgdata"); `data/pg:/x` fails with "invalid volume name" although it was
    meant as a folder.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
        volumes:
          - pgdata:/var/lib/postgresql/data
    ```

    ## Use instead
    ```yaml
    services:
      db:
        image: postgres:16
        volumes:
          - pgdata:/var/lib/postgresql/data
    volumes:
      pgdata:
    ```

    ## Fix
    Safe for an undeclared name: it is declared under the top-level `volumes:`
    (created when missing). A slash in the name is not fixed automatically: write
    `./data/pg` for a folder, or choose a volume name.

    ## References
    - Compose Specification, "volumes top-level element"
    - compose-go: "service %q refers to undefined volume %s"
    """

    code = "HF202"
    name = "undefined-named-volume"
    severity = Severity.ERROR
    fixable = True
    groups = ("correctness",)

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.mounts import split_short_syntax
        from holdfast.project import is_legacy_v1
        from holdfast.rules._compose import items, uses_variable

        declared = set(ctx.project.volumes)
        legacy = any(is_legacy_v1(d.data) for d in ctx.project.documents)
        for service in ctx.project.services.values():
            for item in items(service, "volumes"):
                entry = item.raw
                if uses_variable(entry):
                    continue
                name = None
                if isinstance(entry, str):
                    parts = split_short_syntax(entry.strip())
                    if len(parts) < 2 or not parts[1].startswith("/"):
                        continue
                    source = parts[0]
                    if not source or source.startswith((".", "/", "~", "\\")) or (len(source) > 1 and source[1] == ":"):
                        continue
                    if "/" in source or "\\" in source:
                        yield ctx.finding(
                            item.origin,
                            (),
                            f"`{source}` is read as a volume name, and a volume name cannot contain a slash: Compose refuses it (a folder must start with `./`)",
                            service=service.name,
                            data={"invalid_name": source},
                        )
                        continue
                    name = source
                elif isinstance(entry, dict):
                    if str(entry.get("type") or "volume") != "volume":
                        continue
                    source = entry.get("source")
                    if not isinstance(source, str) or not source:
                        continue
                    name = source
                if name is None or name in declared or legacy:
                    continue
                yield ctx.finding(
                    item.origin,
                    (),
                    f"service `{service.name}` mounts the named volume `{name}`, which no top-level `volumes:` declares: Compose refuses to start",
                    service=service.name,
                    data={"volume": name, "data_paths": [f"volume:{name}"]},  # how the fix engine tells findings apart
                )

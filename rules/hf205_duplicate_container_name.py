"""HF205: two services set the same `container_name`."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class DuplicateContainerName(Rule):
    """Two services of the project set the same `container_name`.

    ## What it does
    Compares the effective `container_name` of every service (override files,
    `extends` and `include` taken into account) and reports each service that
    repeats a name an earlier service already uses. Names written with `${VAR}`
    are left alone, as are services whose `profiles:` never run together.

    ## Why it matters
    Container names are unique per engine: the second container fails to be
    created ("Conflict. The container name \"/db\" is already in use"), and with
    `extends` the copy silently inherits the base service's name.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
        container_name: db
      db-replica:
        image: postgres:16
        container_name: db
    ```

    ## Use instead
    ```yaml
      db-replica:
        image: postgres:16
        container_name: db-replica
    ```

    ## Fix
    None automatically: rename one of them (or drop `container_name`).

    ## References
    - Compose Specification, `container_name`
    """

    code = "HF205"
    name = "duplicate-container-name"
    severity = Severity.ERROR
    groups = ("correctness",)

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.rules._compose import may_run_together, raw, uses_variable

        seen: list[tuple[str, object]] = []
        for service in ctx.project.services.values():
            name = service.config.get("container_name")
            origin = service.origin("container_name")
            if not isinstance(name, (str, int)) or str(name) == "" or uses_variable(raw(origin)):
                continue
            name = str(name)
            first = next((other for value, other in seen if value == name and may_run_together(other, service)), None)
            if first is not None:
                node = origin.document.pair(*origin.path)[1]
                yield ctx.finding(
                    origin,
                    (),
                    f"service `{service.name}` uses container name `{name}`, already used by service `{first.name}`: the second container cannot be created",
                    service=service.name,
                    span=origin.document.span(node) if node is not None else None,
                    data={"container_name": name, "other": first.name},
                )
            seen.append((name, service))

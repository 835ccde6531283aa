"""HF203: depends_on, links, extends, network_mode or volumes_from name a service that does not exist."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class UndefinedServiceReference(Rule):
    """A service refers to another service the project does not have.

    ## What it does
    Checks every reference to a service by name: `depends_on` (list and mapping
    forms), `links` (`name` or `name:alias`), `network_mode: service:NAME` and
    `volumes_from` (`NAME` or `NAME:ro`). An `extends` naming a missing service is
    reported by HF002 while the project is assembled (with the file it looked in).
    The forms `container:NAME` name a container, not a service, and are not
    checked; nor are references written with `${VAR}`. The project is the merged
    one: a service defined only in the override file or an `include`d file exists.

    ## Why it matters
    Compose refuses to start the project ("service web depends on undefined
    service db"). A typo in `depends_on` after renaming a service is the usual
    cause, and it only shows when someone runs `up`.

    ## Example
    ```yaml
    services:
      web:
        image: nginx:1.27
        depends_on: [databse]
      database:
        image: postgres:16
    ```

    ## Use instead
    ```yaml
        depends_on: [database]
    ```

    ## Fix
    None automatically: only you know which service was meant.

    ## References
    - Compose Specification, `depends_on`, `links`, `extends`, `network_mode`, `volumes_from`
    """

    code = "HF203"
    name = "undefined-service-reference"
    severity = Severity.ERROR
    groups = ("correctness",)

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.rules._compose import items, raw, uses_variable

        names = set(ctx.project.services)
        for service in ctx.project.services.values():
            for key in ("depends_on", "links", "volumes_from"):
                for item in items(service, key):
                    if isinstance(item.key, int) or item.key is None:
                        value = item.raw
                        if not isinstance(value, str) or uses_variable(value):
                            continue
                        if key == "volumes_from" and value.startswith("container:"):
                            continue
                        target = value.split(":", 1)[0].strip() if key != "depends_on" else value.strip()
                    else:  # depends_on long form: the service is the key
                        target = str(item.key)
                        if uses_variable(target):
                            continue
                    if target and target not in names:
                        yield ctx.finding(item.origin, (), _message(service.name, key, target), service=service.name, data={"reference": target})
            mode_origin = service.origin("network_mode")
            mode = raw(mode_origin)
            if "network_mode" in service.config and isinstance(mode, str) and mode.startswith("service:") and not uses_variable(mode):
                target = mode.split(":", 1)[1].strip()
                if target and target not in names:
                    node = mode_origin.document.pair(*mode_origin.path)[1]
                    span = mode_origin.document.span(node) if node is not None else None
                    yield ctx.finding(mode_origin, (), _message(service.name, "network_mode", target), service=service.name, span=span, data={"reference": target})


def _message(service: str, key: str, target: str) -> str:
    return f"`{key}` of service `{service}` names service `{target}`, which the project does not define: Compose refuses to start"

"""HF107: a data store is stopped with Docker's default 10-second grace period."""

from __future__ import annotations

import re
from typing import Iterable

from holdfast.model import Finding, Rule, Severity

DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")


def seconds(text: str) -> float | None:
    """A Compose duration (`1m30s`, `90s`, `2m`) in seconds, or None."""
    text = str(text).strip()
    if not DURATION.match(text):
        return None
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, _, u in re.findall(r"(\d+(\.\d+)?)(us|ms|s|m|h)", text))


def duration(total: int) -> str:
    return f"{total // 60}m" if total % 60 == 0 and total >= 60 else f"{total}s"


class StatefulStopGraceTooShort(Rule):
    """A data store has no `stop_grace_period`, so Docker kills it after 10 seconds.

    ## What it does
    Reports data stores (postgres, mysql, mongo, redis, elasticsearch, ...) with
    no `stop_grace_period` (nor `stop_grace_period` from an override file or
    `extends`). Servers configured to keep nothing (`redis-server --save ""`) are
    skipped.

    ## Why it matters
    `docker compose stop`, `down`, a recreate and a host shutdown send SIGTERM and,
    10 seconds later, SIGKILL. A database flushing its buffers, a redis writing its
    dump or a mongod closing its journal is killed half-way: crash recovery on the
    next start at best, a truncated dump or a corrupt index at worst.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
    ```

    ## Use instead
    ```yaml
      db:
        image: postgres:16
        stop_grace_period: 1m
    ```

    ## Fix
    Safe: `stop_grace_period` is added with the grace the knowledge base gives the
    image (postgres 1m, redis 30s, ...), or the value of the option
    `stop-grace-period` (a Compose duration such as `90s`).

    ## References
    - Compose Specification, `stop_grace_period` (default 10s)
    - PostgreSQL documentation, "Shutting down the server" (smart / fast / immediate)
    """

    code = "HF107"
    name = "stateful-stop-grace-too-short"
    severity = Severity.INFO
    enabled_by_default = False
    fixable = True
    groups = ("data-safety",)
    options = {"stop-grace-period": "auto"}

    @classmethod
    def validate_options(cls, options: dict) -> None:
        value = options.get("stop-grace-period", "auto")
        if value != "auto" and (not isinstance(value, str) or seconds(value) is None or seconds(value) <= 10):
            raise ValueError(f"option 'stop-grace-period' of {cls.code} must be \"auto\" or a Compose duration above 10s such as \"1m\" (got {value!r})")

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.rules._compose import stateful_services

        chosen = ctx.options.get("stop-grace-period", "auto")
        for service, analysis in stateful_services(ctx):
            if "stop_grace_period" in service.config:
                continue
            grace = chosen if chosen != "auto" else duration(max(30, int(analysis.image.stop_grace_seconds or 30)))
            yield ctx.finding(
                service.primary,
                (),
                f"{analysis.image.title} service `{service.name}` has no `stop_grace_period`: Docker kills it 10 seconds after asking it to stop, possibly mid-write",
                service=service.name,
                data={"stop_grace_period": grace},
            )

"""HF301: a data store publishes its port on every host interface."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class DatabasePortPublished(Rule):
    """A database, cache or broker publishes a port on every interface of the host.

    ## What it does
    For every service whose image is a known data store (postgres, mysql, mariadb,
    mongo, redis, elasticsearch, rabbitmq, ...), reports each `ports:` entry that
    publishes on all interfaces: no host IP (`"5432:5432"`, `"5432"`), `0.0.0.0`
    or `::`, in the short or long form. Entries bound to one address
    (`127.0.0.1:5432:5432`) and entries written with `${VAR}` are not reported;
    nor is `expose:`, which publishes nothing.

    ## Why it matters
    Docker writes its own firewall rules: a published port is reachable from the
    internet even when ufw or firewalld say otherwise. Open redis, mongo and
    elasticsearch ports are scanned within minutes, and databases are wiped and
    held for ransom every day this way. The other services of the project reach
    the database over the Compose network without any published port.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
        ports:
          - "5432:5432"
    ```

    ## Use instead
    ```yaml
        ports:
          - "127.0.0.1:5432:5432"
    ```
    or no `ports:` at all when only other containers connect.

    ## Fix
    Unsafe (remote clients lose access): the entry is bound to `127.0.0.1`
    (option `bind-address`).

    ## References
    - Docker documentation, "Packet filtering and firewalls" (published ports bypass ufw)
    - CIS Docker Benchmark 5.13, "Ensure that incoming container traffic is bound to a specific host interface"
    """

    code = "HF301"
    name = "database-port-published"
    severity = Severity.WARNING
    fixable = True
    groups = ("security", "exposure")
    options = {"bind-address": "127.0.0.1"}

    @classmethod
    def validate_options(cls, options: dict) -> None:
        import ipaddress

        value = options.get("bind-address", "127.0.0.1")
        try:
            ipaddress.ip_address(value if isinstance(value, str) else "")
        except ValueError:
            raise ValueError(f"option 'bind-address' of {cls.code} must be an IP address (got {value!r})") from None

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.rules._compose import items, stateful_services, uses_variable
        from holdfast.rules.hf204_duplicate_port import WILDCARDS, parse_port

        for service, analysis in stateful_services(ctx, ephemeral=True):
            if str(service.config.get("network_mode", "")) == "host":
                continue
            for item in items(service, "ports"):
                if uses_variable(item.raw):
                    continue
                entry = item.raw
                published = parse_port(entry)
                if published is not None:
                    if published.host_ip not in WILDCARDS:
                        continue
                    what = f"port {published.describe()}"
                elif isinstance(entry, int) or (isinstance(entry, str) and ":" not in entry.split("/")[0]):
                    what = f"container port {entry} on a random host port"
                elif isinstance(entry, dict) and entry.get("target") is not None and str(entry.get("host_ip") or "") in WILDCARDS and not entry.get("published"):
                    what = f"container port {entry.get('target')} on a random host port"
                else:
                    continue
                yield ctx.finding(
                    item.origin,
                    (),
                    f"{analysis.image.title} service `{service.name}` publishes {what} on every host interface: reachable from outside the host, past host firewalls",
                    service=service.name,
                    # `data_paths` is what the fix engine tells two findings of one service apart by
                    data={"entry": entry, "bind_address": ctx.options.get("bind-address", "127.0.0.1"), "data_paths": [f"ports[{item.key}]"]},
                )

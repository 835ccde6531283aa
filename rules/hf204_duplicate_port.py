"""HF204: two services publish the same host port (same protocol, overlapping host IP)."""

from __future__ import annotations

from typing import Any, Iterable

from holdfast.model import Finding, Rule, Severity

WILDCARDS = ("", "0.0.0.0", "::", "[::]")


class Published:
    """One published port range (a plain class: a dataclass costs a millisecond of cold start)."""

    __slots__ = ("host_ip", "first", "last", "protocol")

    def __init__(self, host_ip: str, first: int, last: int, protocol: str) -> None:
        self.host_ip = host_ip  # "" for every interface
        self.first = first
        self.last = last
        self.protocol = protocol

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Published):
            return NotImplemented
        return (self.host_ip, self.first, self.last, self.protocol) == (other.host_ip, other.first, other.last, other.protocol)

    def __hash__(self) -> int:
        return hash((self.host_ip, self.first, self.last, self.protocol))

    def __repr__(self) -> str:
        return f"Published(host_ip={self.host_ip!r}, first={self.first!r}, last={self.last!r}, protocol={self.protocol!r})"

    def overlaps(self, other: "Published") -> bool:
        if self.protocol != other.protocol:
            return False
        if not (self.first <= other.last and other.first <= self.last):
            return False
        a, b = self.host_ip, other.host_ip
        return a == b or a in WILDCARDS or b in WILDCARDS

    def describe(self) -> str:
        port = str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
        where = f"{self.host_ip}:" if self.host_ip not in ("",) else ""
        return f"{where}{port}/{self.protocol}"


def _port_range(text: str) -> tuple[int, int] | None:
    text = text.strip()
    first, sep, last = text.partition("-")
    if not first.isdigit() or (sep and not last.isdigit()):
        return None
    low, high = int(first), int(last) if sep else int(first)
    return (low, high) if 0 < low <= high <= 65535 else None


def parse_port(entry: Any) -> Published | None:
    """The host side of one `ports:` entry, or None when nothing fixed is published (or it is not understood)."""
    if isinstance(entry, dict):
        published = entry.get("published")
        if published is None or published == "":
            return None
        span = _port_range(str(published))
        if span is None:
            return None
        host_ip = str(entry.get("host_ip") or "")
        return Published(_ip(host_ip), span[0], span[1], str(entry.get("protocol") or "tcp").lower())
    if isinstance(entry, int):
        return None  # container port only: a random host port
    if not isinstance(entry, str):
        return None
    text, _, protocol = entry.strip().partition("/")
    protocol = (protocol or "tcp").lower()
    host_ip = ""
    if text.startswith("["):  # [::1]:8080:80
        end = text.find("]")
        if end < 0:
            return None
        host_ip, text = text[1:end], text[end + 1 :].lstrip(":")
    parts = text.split(":")
    if len(parts) < 2:
        return None
    if len(parts) > 2:
        host_ip = host_ip or ":".join(parts[:-2])
    host = parts[-2]
    if host == "":
        return None
    span = _port_range(host)
    if span is None:
        return None
    return Published(_ip(host_ip), span[0], span[1], protocol)


def _ip(text: str) -> str:
    text = text.strip().strip("[]")
    return "" if text in WILDCARDS else text


class DuplicateHostPort(Rule):
    """Two services publish the same host port, protocol and host IP.

    ## What it does
    Reads every `ports:` entry (short `[IP:]HOST:CONTAINER[/PROTO]` with ranges and
    IPv6 addresses, and the long form with `published`, `host_ip`, `protocol`) and
    reports an entry whose host port overlaps one of another service: same
    protocol (tcp and udp are distinct), overlapping ranges, and the same host IP
    or one of them on every interface. Entries written with `${VAR}` are left
    alone, as are services whose `profiles:` never run together.

    ## Why it matters
    The second container fails to start with "port is already allocated" (or
    "address already in use"), often only on the server where both services are
    enabled, after the first one already took traffic.

    ## Example
    ```yaml
    services:
      web:
        image: nginx:1.27
        ports: ["8080:80"]
      admin:
        image: adminer:4
        ports: ["8080:8080"]
    ```

    ## Use instead
    ```yaml
      admin:
        image: adminer:4
        ports: ["8081:8080"]
    ```

    ## Fix
    None automatically: choose a free port.

    ## References
    - Compose Specification, `ports`
    """

    code = "HF204"
    name = "duplicate-host-port"
    severity = Severity.ERROR
    groups = ("correctness",)

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.rules._compose import items, may_run_together, uses_variable

        taken: list[tuple[Any, Published]] = []
        for service in ctx.project.services.values():
            mine: list[tuple[Any, Published]] = []
            for item in items(service, "ports"):
                if uses_variable(item.raw):
                    continue
                published = parse_port(item.raw)
                if published is None:
                    continue
                clash = next((other for other, port in taken if other is not service and port.overlaps(published) and may_run_together(other, service)), None)
                if clash is not None:
                    port = next(p for o, p in taken if o is clash and p.overlaps(published))
                    yield ctx.finding(
                        item.origin,
                        (),
                        f"host port {published.describe()} of service `{service.name}` is already published by service `{clash.name}` ({port.describe()}): the second container cannot start",
                        service=service.name,
                        data={"port": published.describe(), "other": clash.name},
                    )
                mine.append((service, published))
            taken.extend(mine)

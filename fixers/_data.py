"""A fix intent for edits that change plain data other than mounts (HF201, HF107, HF301).

The fix engine verifies every fix by re-parsing the edited file: a `DataIntent`
says what the plain data must become (`expect(old) -> new`), so a fix that
deletes `version:` may delete exactly that and nothing else.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class DataIntent:
    service: str  # "" for a top-level change (fixes on one service are applied one per pass)
    change: Callable[[dict[str, Any]], None]  # mutates a copy of the old plain data into the expected one

    def expect(self, old: Any) -> Any:
        data = copy.deepcopy(old)
        if isinstance(data, dict):
            self.change(data)
        return data


@dataclass(frozen=True)
class SetAt:
    """A picklable change (fixes travel between lint worker processes): set the value at a YAML path."""

    path: tuple[Any, ...]
    value: Any

    def __call__(self, data: dict[str, Any]) -> None:
        target: Any = data
        for step in self.path[:-1]:
            target = target[step]
        target[self.path[-1]] = copy.deepcopy(self.value)


@dataclass(frozen=True)
class SetServiceKey:
    """A picklable change: set one top-level key of a service (legacy v1 files included)."""

    service: str
    key: str
    value: Any

    def __call__(self, data: dict[str, Any]) -> None:
        config = service_config(data, self.service)
        if config is not None:
            config[self.key] = copy.deepcopy(self.value)


@dataclass(frozen=True)
class DropTopKey:
    """A picklable change: remove a top-level key."""

    key: str

    def __call__(self, data: dict[str, Any]) -> None:
        data.pop(self.key, None)


def service_config(data: dict[str, Any], service: str) -> dict[str, Any] | None:
    from holdfast.project import is_legacy_v1

    services = data if is_legacy_v1(data) else data.get("services")
    config = services.get(service) if isinstance(services, dict) else None
    return config if isinstance(config, dict) else None

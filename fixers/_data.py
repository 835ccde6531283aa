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


def service_config(data: dict[str, Any], service: str) -> dict[str, Any] | None:
    from holdfast.project import is_legacy_v1

    services = data if is_legacy_v1(data) else data.get("services")
    config = services.get(service) if isinstance(services, dict) else None
    return config if isinstance(config, dict) else None

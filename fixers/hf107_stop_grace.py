"""HF107 fixer: give a data store a `stop_grace_period`."""

from __future__ import annotations

from typing import Any

from holdfast.document import ComposeDocument
from holdfast.fixers._layout import Refusal, add_key_to_mapping, detect_style
from holdfast.fixers._mounts import RefusingFixer, service_nodes
from holdfast.model import Applicability, Finding, Fix


class StopGraceFixer(RefusingFixer):
    title = "Add `stop_grace_period`"
    codes = ("HF107",)

    def _edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix | None:
        from holdfast.fixers._data import DataIntent, SetServiceKey
        from holdfast.fixing import MountFix

        service = finding.service
        grace = str(finding.data.get("stop_grace_period") or "1m")
        if not service:
            raise Refusal("the finding names no service")
        nodes = service_nodes(document, service)
        edits = add_key_to_mapping(document, nodes.mapping, "stop_grace_period", grace, detect_style(document, service))

        return MountFix(
            title=f"Add `stop_grace_period: {grace}` to service {service}",
            applicability=Applicability.SAFE,
            edits=tuple(edits),
            intent=DataIntent(service, SetServiceKey(service, "stop_grace_period", grace)),
            done=f"added `stop_grace_period: {grace}` to service {service}",
        )

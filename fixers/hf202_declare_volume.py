"""HF202 fixer: declare the named volume a service mounts under the top-level `volumes:`."""

from __future__ import annotations

from typing import Any

from holdfast.document import ComposeDocument
from holdfast.fixers._layout import Refusal, detect_style
from holdfast.fixers._mounts import RefusingFixer, add_named_volumes
from holdfast.model import Applicability, Finding, Fix


class DeclareVolumeFixer(RefusingFixer):
    title = "Declare the named volume"
    codes = ("HF202",)

    def _edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix | None:
        from holdfast.fixing import MountFix, MountIntent

        name = finding.data.get("volume")
        if not name:
            raise Refusal(f"`{finding.data.get('invalid_name')}` is not a valid volume name: write `./{finding.data.get('invalid_name')}` for a folder, or choose a name")
        edits = add_named_volumes(document, [str(name)], detect_style(document))
        return MountFix(
            title=f"Declare the volume `{name}` under the top-level `volumes:`",
            applicability=Applicability.SAFE,
            edits=tuple(edits),
            intent=MountIntent(finding.service or "", volumes=frozenset({str(name)})),
            done=f"declared the volume `{name}`",
        )

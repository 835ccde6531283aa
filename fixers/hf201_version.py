"""HF201 fixer: delete the obsolete top-level `version:` line (and a comment that only explains it)."""

from __future__ import annotations

import re
from typing import Any

from holdfast.document import ComposeDocument
from holdfast.fixers._layout import Refusal, line_end, line_start
from holdfast.fixers._mounts import RefusingFixer
from holdfast.model import Applicability, Edit, Finding, Fix

# A comment line about the version key only: "# compose file format", "# version of docker-compose", ...
_EXPLAINS = re.compile(r"^\s*#\s*(\w+\s+){0,4}?(version|file format|compose format|format version|docker[- ]compose( file)?( format)?)(\s+\w+){0,4}\s*:?\s*$", re.IGNORECASE)


class VersionFieldFixer(RefusingFixer):
    title = "Delete the obsolete `version` line"
    codes = ("HF201",)

    def _edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix | None:
        from holdfast.fixers._data import DataIntent, DropTopKey
        from holdfast.fixing import MountFix

        root = document.root
        pair = None
        for key_node, value_node in getattr(root, "value", []):
            if getattr(key_node, "value", None) == "version":
                pair = (key_node, value_node)
        if pair is None or getattr(root, "flow_style", False):
            raise Refusal("the `version` key is not on a line of its own")
        key_node, value_node = pair
        text = document.text
        start = line_start(text, key_node.start_mark.index)
        end = line_end(text, value_node.end_mark.index)
        if text[start : key_node.start_mark.index].strip() or value_node.end_mark.line != key_node.start_mark.line:
            raise Refusal("the `version` key shares its line with other content")
        end = min(len(text), end + (2 if text.startswith("\r\n", end) else 1 if text.startswith("\n", end) else 0))
        # a comment right above that only explains the key goes too
        if start > 0:
            above_start = line_start(text, start - 1)
            if _EXPLAINS.match(text[above_start:start].rstrip("\r\n")):
                start = above_start
        # at the top of the file, a blank line left behind goes too
        if not text[:start].strip():
            rest = text[end:]
            blank = re.match(r"[ \t]*\r?\n", rest)
            if blank:
                end += blank.end()

        return MountFix(
            title=self.title,
            applicability=Applicability.SAFE,
            edits=(Edit(start, end, ""),),
            intent=DataIntent("", DropTopKey("version")),
            done="deleted the obsolete `version` line",
        )

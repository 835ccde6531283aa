"""Text edits: a fix's edits checked and applied to the original text, and encoded back to bytes.

Its own module because both the fix loop (`holdfast.fixing`) and the verification
of fixes (`holdfast.fixverify`) apply edits; fixers use it through `holdfast.fixing`.
"""

from __future__ import annotations

from collections.abc import Iterable

from holdfast.document import ComposeDocument
from holdfast.model import Edit

_BOM = b"\xef\xbb\xbf"


class OverlapError(ValueError):
    """Two edits of one fix touch the same text: the fix is malformed."""


def check_edits(edits: Iterable[Edit], length: int) -> list[Edit]:
    """Edits sorted by position; raises OverlapError for overlapping or out-of-range ones."""
    ordered = sorted(enumerate(edits), key=lambda item: (item[1].start, item[1].end, item[0]))
    out: list[Edit] = []
    for _, edit in ordered:
        if not 0 <= edit.start <= edit.end <= length:
            raise OverlapError(f"edit {edit.start}-{edit.end} is outside the text (length {length})")
        if out and out[-1].end > edit.start:
            raise OverlapError(f"edits {out[-1].start}-{out[-1].end} and {edit.start}-{edit.end} overlap")
        out.append(edit)
    return out


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping edits (offsets of the ORIGINAL text) in one go."""
    ordered = check_edits(edits, len(text))
    parts: list[str] = []
    cursor = 0
    for edit in ordered:
        parts.append(text[cursor : edit.start])
        parts.append(edit.text)
        cursor = edit.end
    parts.append(text[cursor:])
    return "".join(parts)


def encode(document: ComposeDocument, text: str) -> bytes:
    """Bytes to write: the BOM again when the original had one."""
    return (_BOM if document.has_bom else b"") + text.encode("utf-8")


def decode(raw: bytes) -> str:
    """The text of a file's bytes, without the BOM."""
    if raw.startswith(_BOM):
        raw = raw[3:]
    return raw.decode("utf-8", errors="replace")


def overlaps(taken: list[tuple[int, int]], span: tuple[int, int]) -> bool:
    """Whether `span` overlaps one of `taken` (sorted, non-overlapping, so their ends ascend too)."""
    import bisect

    start, end = span
    before = bisect.bisect_left(taken, (end, -1))  # spans that start before `end`
    return before > 0 and taken[before - 1][1] > start

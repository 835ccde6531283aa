"""Unified diffs of a fixed file (`holdfast fix --diff`), in linear time for fix-shaped changes.

Its own module because only `--diff` needs it: `holdfast lint` imports the fix
engine on every run (fixable findings carry their fix) and must not pay for this
or for difflib.
"""

from __future__ import annotations

from collections.abc import Iterable

# difflib matches the longest block first and then rescans what is left: many scattered
# changes (a fix in each of 2,000 services) make it quadratic. Larger files are first
# cut at the lines both versions hold once, in the same order (fixes only insert or
# replace lines, so every untouched service key is such a line), and difflib
# aligns each piece between two of them.
_DIFF_WHOLE_LINES = 3000


def unified_diff(old_text: str, new_text: str, fromfile: str, tofile: str) -> str:
    """A unified diff of two texts, with git's marker for a missing final newline."""
    old = old_text.splitlines(keepends=True)
    new = new_text.splitlines(keepends=True)
    if len(old) + len(new) <= _DIFF_WHOLE_LINES:
        import difflib

        lines: Iterable[str] = difflib.unified_diff(old, new, fromfile, tofile)
    else:
        lines = anchored_diff(old, new, fromfile, tofile)
    out: list[str] = []
    for line in lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)


def anchored_diff(old: list[str], new: list[str], fromfile: str, tofile: str, context: int = 3) -> Iterable[str]:
    """The lines of a unified diff (difflib's format: headers, `@@ -a,b +c,d @@`, hunks), in linear time for fixes."""
    codes = _grouped(anchored_opcodes(old, new), context)
    if not codes:
        return
    yield f"--- {fromfile}\n"
    yield f"+++ {tofile}\n"
    for group in codes:
        first, last = group[0], group[-1]
        yield f"@@ -{_hunk_range(first[1], last[2])} +{_hunk_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in old[i1:i2])
                continue
            yield from ("-" + line for line in old[i1:i2])
            yield from ("+" + line for line in new[j1:j2])


def anchored_opcodes(old: list[str], new: list[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib opcodes of the pieces between the lines unique to both sides (in order), joined."""
    import bisect
    import difflib
    from collections import Counter

    old_count, new_count = Counter(old), Counter(new)
    new_at = {line: j for j, line in enumerate(new) if new_count[line] == 1}
    pairs = [(i, new_at[line]) for i, line in enumerate(old) if old_count[line] == 1 and line in new_at]
    # the longest run of those pairs whose positions in `new` ascend too (patience sorting)
    tails: list[int] = []  # tails[k]: the smallest `new` position ending a run of length k + 1
    tail_at: list[int] = []  # the pair index of that tail
    previous: list[int] = []
    for index, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        previous.append(tail_at[k - 1] if k else -1)
        if k == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[k] = j
            tail_at[k] = index
    anchors: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index >= 0:
        anchors.append(pairs[index])
        index = previous[index]
    anchors.reverse()
    codes: list[tuple[str, int, int, int, int]] = []

    def add(tag: str, i1: int, i2: int, j1: int, j2: int) -> None:
        if codes and tag == "equal" and codes[-1][0] == "equal":
            codes[-1] = ("equal", codes[-1][1], i2, codes[-1][3], j2)
        else:
            codes.append((tag, i1, i2, j1, j2))

    i = j = 0
    for ai, aj in anchors + [(len(old), len(new))]:
        if i < ai or j < aj:
            for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old[i:ai], new[j:aj]).get_opcodes():
                add(tag, i + i1, i + i2, j + j1, j + j2)
        if ai < len(old):
            add("equal", ai, ai + 1, aj, aj + 1)
        i, j = ai + 1, aj + 1
    return codes


def _grouped(codes: list[tuple[str, int, int, int, int]], context: int) -> list[list[tuple[str, int, int, int, int]]]:
    """Hunks: changes with up to `context` unchanged lines around them (as difflib groups its opcodes)."""
    if not any(tag != "equal" for tag, *_ in codes):
        return []
    codes = list(codes)
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)
    groups: list[list[tuple[str, int, int, int, int]]] = []
    group: list[tuple[str, int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


def _hunk_range(start: int, stop: int) -> str:
    """`start,length` of a hunk, 1-based; an empty range names the line before it."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if not length else start + 1},{length}"

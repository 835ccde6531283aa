"""Every finding of the new rules on the public corpus matches the hand-reviewed expectations file.

`tests/expectations/new_rules.tsv` lists each finding (file, line, column, code)
with a verdict written after reading the file: `true`, or `false` for a known
false positive kept visible. A new finding fails the test until reviewed; a
`true` expectation that disappears fails too (a lost detection); a `false` one
may disappear (the rule or the knowledge got better). No finding may sit on a
line whose only reason could be a `${...}` value.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from corpus_new_rules import NEW_RULES, corpus_findings

HERE = Path(__file__).resolve().parent
EXPECTATIONS = HERE / "expectations" / "new_rules.tsv"


def _corpus() -> Path:
    for base in (HERE.parents[1] / "shared", Path(os.environ.get("HOLDFAST_SHARED", "/nonexistent"))):
        if (base / "corpus" / "public").is_dir():
            return base / "corpus" / "public"
    pytest.skip("the public corpus lives in ../shared/corpus/public (or $HOLDFAST_SHARED), absent here")


def _expected() -> dict[tuple[str, int, int, str], tuple[str, str]]:
    out = {}
    for line in EXPECTATIONS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        file, row, column, code, verdict, note = line.split("\t")
        assert verdict in ("true", "false"), line
        out[(file, int(row), int(column), code)] = (verdict, note)
    return out


@pytest.mark.slow
def test_new_rule_findings_match_the_reviewed_expectations():
    found = corpus_findings(_corpus())
    expected = _expected()
    keys = {(f, line, col, code) for f, line, col, code, _ in found}
    unreviewed = sorted(keys - set(expected))
    assert not unreviewed, f"{len(unreviewed)} finding(s) not reviewed in {EXPECTATIONS.name}: {unreviewed[:5]}"
    lost = sorted(k for k, (verdict, _) in expected.items() if verdict == "true" and k not in keys)
    assert not lost, f"confirmed findings no longer reported: {lost[:5]}"
    # interpolation: the reported item is never a `${...}` value
    caused = [(f, line, code, src) for f, line, _, code, src in found if "${" in src and code not in ("HF107", "HF108", "HF401")]
    assert not caused, caused[:5]
    # precision per rule, for the record (printed with -s)
    verdicts = Counter((k[3], expected[k][0]) for k in keys)
    for code in NEW_RULES:
        true, false = verdicts[(code, "true")], verdicts[(code, "false")]
        if true + false:
            print(f"{code}: {true + false} findings, precision {true / (true + false):.0%}")

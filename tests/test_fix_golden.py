"""Golden tests: tests/fixtures/fix/<case>/input.yml -> expected.yml, byte for byte.

A case folder may hold `case.json` (name of the file, `unsafe`, `persistence`,
`to_override`, `refused` = {service: reason substring}), an existing override
(`input.override.yml`) and the expected override (`expected.override.yml`).
No `expected.yml` means the file must stay byte-identical. Each case is also
run a second time: fixing is idempotent. HOLDFAST_REGEN_GOLDEN=1 rewrites the
expected files (review the diff before committing!).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from holdfast.config import Config
from holdfast.fixing import fix_project_outcome, override_path_for

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fix"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "input.yml").is_file())


def _meta(case: Path) -> dict:
    path = case / "case.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _run(case: Path, tmp_path: Path) -> tuple[dict, Path, Path, object]:
    meta = _meta(case)
    base = tmp_path / meta.get("name", "compose.yaml")
    shutil.copyfile(case / "input.yml", base)
    override = Path(override_path_for(str(base)))
    files = [str(base)]
    if (case / "input.override.yml").is_file():
        shutil.copyfile(case / "input.override.yml", override)
        files.append(str(override))
    config = Config(fix_persistence=meta.get("persistence", "bind"))
    outcome = fix_project_outcome(
        files,
        unsafe=bool(meta.get("unsafe")),
        to_override=bool(meta.get("to_override")),
        options={"config": config, "project_dir": str(tmp_path)},
    )
    for change in outcome.changes:
        change.write()
    return meta, base, override, outcome


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, tmp_path: Path) -> None:
    case = FIXTURES / name
    meta, base, override, outcome = _run(case, tmp_path)
    expected = case / "expected.yml"
    expected_override = case / "expected.override.yml"
    if os.environ.get("HOLDFAST_REGEN_GOLDEN") == "1":
        if base.read_bytes() != (case / "input.yml").read_bytes():
            expected.write_bytes(base.read_bytes())
        if override.is_file() and meta.get("to_override"):
            expected_override.write_bytes(override.read_bytes())
    want = expected.read_bytes() if expected.is_file() else (case / "input.yml").read_bytes()
    assert base.read_bytes() == want, f"{name}: {base.name} differs from the golden file"
    if meta.get("to_override"):
        assert expected_override.is_file(), f"{name}: expected.override.yml is missing"
        assert override.read_bytes() == expected_override.read_bytes(), f"{name}: {override.name} differs"
    refused = {finding.service: reason for finding, reason in outcome.refused}
    for service, fragment in meta.get("refused", {}).items():
        assert service in refused, f"{name}: expected a refusal for {service}, got {refused}"
        assert fragment in refused[service]
        assert "\n" not in refused[service], "a refusal is one line"
    fixed = {a.finding.service for a in outcome.applied}
    left = {(f.code, f.service) for f in outcome.remaining if f.code in ("HF101", "HF102", "HF105")}
    assert not {s for _, s in left} & fixed, f"{name}: fixed services still have findings: {left}"
    if not meta.get("refused"):
        assert not left, f"{name}: findings remain: {left}"
    # idempotent: a second run changes nothing
    again = fix_project_outcome(
        [str(base)] + ([str(override)] if override.is_file() else []),
        unsafe=bool(meta.get("unsafe")),
        to_override=bool(meta.get("to_override")),
        options={"config": Config(fix_persistence=meta.get("persistence", "bind")), "project_dir": str(tmp_path)},
    )
    assert again.changes == [], f"{name}: a second run still changes {[c.path for c in again.changes]}"


def test_every_case_documents_itself() -> None:
    for name in CASES:
        assert _meta(FIXTURES / name).get("about"), f"{name}: case.json needs an `about`"

"""The public API (`holdfast.lint_paths`, `holdfast.fix_text`) and the planner's `fix_project`."""

from __future__ import annotations

from pathlib import Path

import holdfast
from holdfast.config import Config
from holdfast.fixing import FileChange, fix_project

PG = "services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: example\n  cache:\n    image: redis:7\n"


def test_fix_text_returns_text_and_findings() -> None:
    result = holdfast.fix_text(PG, "compose.yaml")
    assert sorted(f.service for f in result.fixed) == ["cache", "db"]
    # a floating postgres tag with no other hint: the 18+ layout (layout 0)
    assert "      - ./data/db:/var/lib/postgresql\n" in result.text
    assert "      - ./data/cache:/data\n" in result.text
    assert [f.code for f in result.remaining] == ["HF104", "HF304"]  # HF304: the literal password
    assert result.refused == [] and result.changed


def test_fix_text_keeps_bom_crlf_and_missing_newline() -> None:
    text = "\ufeff" + PG.replace("\n", "\r\n").rstrip("\r\n")
    result = holdfast.fix_text(text, "compose.yaml")
    assert result.text.startswith("\ufeffservices:\r\n")
    assert "\n" not in result.text.replace("\r\n", "")
    assert not result.text.endswith("\n")


def test_fix_text_select_ignore_and_unchanged() -> None:
    assert holdfast.fix_text(PG, select=["HF102"]).text == PG
    only_db = holdfast.fix_text(PG, ignore=["HF104", "HF304"], config=Config(fix_bind_root="/srv/data"))
    assert "/srv/data/db:/var/lib/postgresql" in only_db.text and only_db.remaining == []
    named = holdfast.fix_text(PG, config=Config(fix_persistence="named"))
    assert named.text.endswith("volumes:\n  db-data:\n  cache-data:\n")


def test_fix_text_refusal() -> None:
    text = "services:\n  db:\n    image: mysql:8.4\n    volumes:\n      - ${DATA:-/var/lib/mysql}\n"
    result = holdfast.fix_text(text)
    assert result.text == text and not result.fixed
    [(finding, reason)] = result.refused
    assert finding.code == "HF102" and "${…}" in reason


def test_lint_paths(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(PG, encoding="utf-8")
    findings = holdfast.lint_paths([str(tmp_path)], config=Config())
    assert {f.code for f in findings} == {"HF101", "HF104", "HF304"}
    assert [f.code for f in holdfast.lint_paths([str(tmp_path)], select=["HF104"])] == ["HF104"]
    assert all(f.fix is not None for f in findings if f.code == "HF101")


def test_fix_project_forced_major_and_services(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(PG, encoding="utf-8")
    changes = fix_project([str(compose)], services={"db"}, codes={"HF101"}, unsafe=False, to_override=False, options={"majors": {"db": 17}, "config": Config()})
    [change] = changes
    assert isinstance(change, FileChange) and not change.created
    text = change.new_bytes.decode()
    assert "./data/db:/var/lib/postgresql/data" in text  # the <= 17 layout, as forced
    assert "./data/cache" not in text  # not a chosen service
    assert compose.read_text(encoding="utf-8") == PG  # nothing written yet
    change.write()
    assert compose.read_text(encoding="utf-8") == text


def test_fix_project_to_override_creates_the_file(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(PG, encoding="utf-8")
    changes = fix_project([str(compose)], services=None, codes=None, unsafe=False, to_override=True, options={"majors": {"db": 18}, "config": Config()})
    [change] = changes
    assert change.created and change.original_bytes == b""
    assert Path(change.path).name == "docker-compose.override.yml"
    assert not Path(change.path).exists()
    change.write()
    text = Path(change.path).read_text(encoding="utf-8")
    assert "  db:\n    volumes:\n      - ./data/db:/var/lib/postgresql\n" in text
    assert compose.read_text(encoding="utf-8") == PG
    assert [f.code for f in holdfast.lint_paths([str(tmp_path)], config=Config())] == ["HF104", "HF304"]

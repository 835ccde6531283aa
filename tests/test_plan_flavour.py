"""The live path under the Compose flavour that created the project, and plans of multi-file projects.

Issue 9, item 5: a v1 project is never recreated with v2 unless asked (labels and
container names say which flavour created it; `--compose` names another); relative
bind sources written in included / extended files restore into the folder Compose
mounts. Issue 8, item 9: a file that does not parse stops `plan` with the HF001 line.
A fake engine stands in for the daemon and fake `docker` / `docker-compose` programs
for the CLIs (see test_plan_fakes and test_plan_compose).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from holdfast.apply.compose import FLAVOURS, detect_cli, flavour_of_cli_text, flavour_of_container, flavour_of_version, project_flavour
from holdfast.apply.errors import PlanInvalid, Refused
from holdfast.apply.host import ContainerFacts
from holdfast.apply.planner import Planner
from holdfast.config import Config
from holdfast.discovery import ProjectFiles
from test_plan_fakes import PG_IMAGE, FakeEngine, attrs, volume

VOL = "1" * 64


def fake_clis(folder: Path, monkeypatch: pytest.MonkeyPatch, *, v2: bool = True, v1: bool = True) -> None:
    """`docker compose version --short` and `docker-compose version --short`, as the real ones answer."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    if v2:
        (bin_dir / "docker").write_text('#!/bin/sh\nif [ "$1 $2" = "compose version" ]; then echo 2.26.1; exit 0; fi; exit 1\n')
        (bin_dir / "docker").chmod(0o755)
    if v1:
        (bin_dir / "docker-compose").write_text("#!/bin/sh\necho 1.29.2\n")
        (bin_dir / "docker-compose").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("HOLDFAST_COMPOSE", raising=False)


def pg_project(tmp_path: Path, flavour: str | None) -> tuple[Path, FakeEngine]:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text("services:\n  db:\n    image: postgres:15\n")
    engine = FakeEngine()
    raw = attrs("d" * 64, project="shop", service="db", image_ref="postgres:15", image_id=PG_IMAGE, env={"PG_MAJOR": "15"}, mounts=[volume(VOL, "/var/lib/postgresql/data")], working_dir=str(folder), config_files="docker-compose.yml")
    if flavour == "v2":
        raw["Name"] = "/shop-db-1"
        raw["Config"]["Labels"]["com.docker.compose.version"] = "2.26.1"
    elif flavour == "v1":
        raw["Name"] = "/shop_db_1"
        raw["Config"]["Labels"]["com.docker.compose.version"] = "1.29.2"
    else:
        raw["Name"] = "/something-else"
    engine.add(raw)
    return folder, engine


def plan_of(folder: Path, engine: FakeEngine, **kwargs):
    path = str(folder / "docker-compose.yml")
    return Planner(engine, Config(), **kwargs).plan(ProjectFiles([path], {path}, str(folder)))


# ------------------------------------------------------------------- which flavour
def test_flavour_from_the_version_label_and_the_container_name():
    assert flavour_of_version("1.29.2") == "v1" and flavour_of_version("2.26.1") == "v2" and flavour_of_version("v2.30.0") == "v2"
    assert flavour_of_version("") is None and flavour_of_version("dev") is None
    assert flavour_of_container("shop", "db", "/shop_db_1", {}) == "v1"
    assert flavour_of_container("shop", "db", "/shop-db-1", {}) == "v2"
    assert flavour_of_container("shop", "db", "/custom", {"com.docker.compose.version": "1.27.4"}) == "v1"
    assert flavour_of_container("shop", "db", "/custom", {}) is None
    assert flavour_of_cli_text("docker-compose") == "v1" and flavour_of_cli_text("docker compose") == "v2" and flavour_of_cli_text(None) is None


def test_mixed_containers_take_the_majority_and_say_so():
    def facts(name: str, version: str) -> ContainerFacts:
        raw = attrs(name * 64, project="p", service=name, image_ref="redis:7", image_id=PG_IMAGE)
        raw["Config"]["Labels"]["com.docker.compose.version"] = version
        return ContainerFacts.from_attrs(raw)

    flavour, notes = project_flavour([facts("a", "1.29.2"), facts("b", "1.29.2"), facts("c", "2.26.1")])
    assert flavour == "v1" and "created by Compose v2" in notes[0]


@pytest.mark.parametrize("created", ["v1", "v2"])
def test_the_plan_records_the_flavour_that_created_the_project(tmp_path, monkeypatch, created):
    folder, engine = pg_project(tmp_path, created)
    fake_clis(tmp_path, monkeypatch)
    plan = plan_of(folder, engine).plan
    assert plan is not None
    assert plan.compose_cli == " ".join(FLAVOURS[created])
    assert not any("recreated with" in w for w in plan.warnings)


def test_a_v1_project_is_not_recreated_with_v2_when_v1_is_missing(tmp_path, monkeypatch):
    folder, engine = pg_project(tmp_path, "v1")
    fake_clis(tmp_path, monkeypatch, v1=False)
    with pytest.raises(Refused, match=r"needs Compose v1 \(`docker-compose`\).*--compose v2"):
        plan_of(folder, engine)


def test_asking_for_the_other_flavour_is_honoured_with_a_warning(tmp_path, monkeypatch):
    folder, engine = pg_project(tmp_path, "v1")
    fake_clis(tmp_path, monkeypatch, v1=False)
    plan = plan_of(folder, engine, compose="v2").plan
    assert plan.compose_cli == "docker compose"
    assert any("created by Compose v1" in w and "shop-db-1" in w for w in plan.warnings)


def test_holdfast_compose_names_the_flavour_when_labels_say_nothing(tmp_path, monkeypatch):
    folder, engine = pg_project(tmp_path, None)
    fake_clis(tmp_path, monkeypatch)
    assert plan_of(folder, engine).plan.compose_cli == "docker compose"  # v2 first
    monkeypatch.setenv("HOLDFAST_COMPOSE", "v1")
    assert plan_of(folder, engine).plan.compose_cli == "docker-compose"


def test_apply_uses_the_planned_flavour(tmp_path, monkeypatch):
    from holdfast.apply.cli import compose_for

    folder, engine = pg_project(tmp_path, "v1")
    fake_clis(tmp_path, monkeypatch)
    plan = plan_of(folder, engine).plan
    monkeypatch.setenv("HOLDFAST_COMPOSE", "v2")  # the plan's record wins over the environment
    assert compose_for(plan, engine).cli.argv == ("docker-compose",)
    assert compose_for(plan, engine, "v2").cli.argv == ("docker", "compose")
    assert detect_cli(None, prefer="v1").version == "1.29.2"


# ------------------------------------------------------------ multi-file projects
def _included_project(tmp_path: Path) -> tuple[Path, FakeEngine]:
    folder = tmp_path / "site"
    (folder / "db").mkdir(parents=True)
    (folder / "docker-compose.yml").write_text("include:\n  - db/compose.yaml\nservices:\n  web:\n    image: nginx:1.27\n")
    (folder / "db" / "compose.yaml").write_text("services:\n  db:\n    image: postgres:15\n")
    engine = FakeEngine()
    engine.add(attrs("d" * 64, project="site", service="db", image_ref="postgres:15", image_id=PG_IMAGE, env={"PG_MAJOR": "15"}, mounts=[volume(VOL, "/var/lib/postgresql/data")], working_dir=str(folder), config_files="docker-compose.yml"))
    return folder, engine


def test_an_included_service_is_patched_in_its_file_and_restored_beside_it(tmp_path, monkeypatch):
    folder, engine = _included_project(tmp_path)
    fake_clis(tmp_path, monkeypatch)
    plan = plan_of(folder, engine).plan
    assert [c.path for c in plan.changes] == [str(folder / "db" / "compose.yaml")]
    [move] = plan.service("db").moves
    assert move.bind_spec == "./data/db"
    assert move.bind_source == str(folder / "db" / "data" / "db")  # where Compose mounts it from


def test_extends_file_mount_restores_relative_to_the_extended_file(tmp_path, monkeypatch):
    folder = tmp_path / "app"
    (folder / "common").mkdir(parents=True)
    (folder / "common" / "base.yml").write_text("services:\n  pg:\n    image: postgres:15\n    volumes:\n      - ./pgdata:/var/lib/postgresql/data\n")
    (folder / "docker-compose.yml").write_text("services:\n  db:\n    extends:\n      file: common/base.yml\n      service: pg\n")
    engine = FakeEngine()
    engine.add(attrs("d" * 64, project="app", service="db", image_ref="postgres:15", image_id=PG_IMAGE, env={"PG_MAJOR": "15"}, mounts=[volume(VOL, "/var/lib/postgresql/data")], working_dir=str(folder), config_files="docker-compose.yml"))
    fake_clis(tmp_path, monkeypatch)
    plan = plan_of(folder, engine).plan
    assert plan is not None and plan.changes == []  # the file already binds it; the container does not
    [move] = plan.service("db").moves
    assert move.bind_source == str(folder / "common" / "pgdata")


# ------------------------------------------------------------------ unparsable file
def test_plan_of_a_file_with_a_yaml_error_stops_with_the_hf001_line(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text("services:\n  db:\n    image: postgres:15\n    environment: [a\n")
    with pytest.raises(PlanInvalid, match=r"docker-compose.yml:5:1: HF001 YAML syntax error") as info:
        plan_of(folder, FakeEngine())
    assert info.value.exit_code == 2


@pytest.mark.docker
def test_plan_command_exits_2_on_a_yaml_error(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:15\n\tenvironment: {}\n")
    result = subprocess.run([sys.executable, "-m", "holdfast", "plan", "."], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "compose.yaml:4:1: HF001" in result.stderr
    assert "nothing to rescue" not in result.stdout + result.stderr

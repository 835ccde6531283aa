"""The project Compose runs: files merged in order, `extends:` and `include:` resolved,
and findings placed in the file and line where they must be fixed."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from holdfast.cli import main
from holdfast.document import ComposeDocument
from holdfast.project import Project, merge_service_config, project_name


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def load(root: Path, *names: str) -> Project:
    return Project.load([ComposeDocument.from_path(str(root / n), display=n) for n in names], env={})


@pytest.fixture
def lint(tmp_path, monkeypatch, capsys):
    """lint(files, *argv) -> findings from `holdfast lint --format json ARGV` run in the temp folder."""

    def run(files: dict[str, str], *argv: str):
        write_tree(tmp_path, {".holdfast.toml": "", **files})
        monkeypatch.chdir(tmp_path)
        with pytest.raises(SystemExit) as exc:
            main(["lint", "--format", "json", *argv])
        out, err = capsys.readouterr()
        assert exc.value.code in (0, 1), err
        return json.loads(out)["findings"]

    return run


def brief(findings):
    return sorted((f["code"], f["path"], f["line"], f["column"], f["service"]) for f in findings)


# --------------------------------------------------------------------------- merging

BASE = "services:\n  db:\n    image: postgres:16\n    environment:\n      - A=1\n      - B=2\n"
OVERRIDE = "services:\n  db:\n    environment:\n      B: '3'\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n"


def test_override_is_merged_into_the_base(tmp_path):
    write_tree(tmp_path, {"compose.yaml": BASE, "compose.override.yaml": OVERRIDE})
    project = load(tmp_path, "compose.yaml", "compose.override.yaml")
    db = project.services["db"]
    assert db.config["image"] == "postgres:16"
    assert db.config["environment"] == {"A": "1", "B": "3"}
    assert db.config["volumes"] == ["./pg:/var/lib/postgresql/data"]
    # the first definition is where a missing key belongs, the origin of a key is the last file that set it
    assert db.primary.document.path == "compose.yaml"
    assert db.origin("image").document.path == "compose.yaml"
    assert db.origin("volumes").document.path == "compose.override.yaml"
    assert [o.document.path for o in db.definitions] == ["compose.yaml", "compose.override.yaml"]


def test_merge_service_config_rules():
    base = {"image": "a", "command": ["x", "y"], "ports": ["80:80"], "volumes": ["./a:/data", "./b:/b"], "labels": ["k=v"]}
    new = {"image": "b", "command": ["z"], "ports": ["80:80", "443:443"], "volumes": ["./c:/data"], "labels": {"k2": "v2"}}
    merged = merge_service_config(base, new)
    assert merged["image"] == "b"
    assert merged["command"] == ["z"]  # replaced, not appended
    assert merged["ports"] == ["80:80", "443:443"]
    assert merged["volumes"] == ["./c:/data", "./b:/b"]  # merged by target
    assert merged["labels"] == {"k": "v", "k2": "v2"}
    assert base["image"] == "a"  # inputs untouched


def test_volume_only_in_override_makes_hf101_go_away(lint):
    files = {"compose.yaml": "services:\n  db:\n    image: postgres:16\n"}
    assert [f["code"] for f in lint(files, "compose.yaml")] == ["HF101"]
    files["compose.override.yaml"] = "services:\n  db:\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n"
    assert lint(files, "compose.yaml") == []


def test_explicit_files_are_one_project(lint):
    files = {
        "a.yml": "services:\n  db:\n    image: postgres:16\n",
        "b.yml": "services:\n  db:\n    volumes:\n      - pg:/var/lib/postgresql/data\nvolumes:\n  pg:\n",
    }
    assert lint(files, "-f", "a.yml", "-f", "b.yml") == []
    assert [f["code"] for f in lint(files, "-f", "a.yml")] == ["HF101"]
    # as two separate PATHS they are two projects: a.yml alone loses its data
    assert [(f["code"], f["path"]) for f in lint(files, "a.yml", "b.yml")] == [("HF101", "a.yml")]


def test_finding_in_the_first_definition_and_image_in_the_file_that_set_it(lint):
    files = {
        "compose.yaml": "services:\n  web:\n    image: nginx:1\n  db:\n    restart: always\n    image: postgres:16\n",
        "compose.override.yaml": "services:\n  db:\n    image: postgres:alpine\n",
    }
    findings = lint(files, "compose.yaml", "compose.override.yaml")
    assert brief(findings) == [
        ("HF101", "compose.yaml", 4, 3, "db"),  # the missing mount belongs in the first definition
        ("HF104", "compose.override.yaml", 3, 12, "db"),  # the floating tag is written in the override
    ]


# --------------------------------------------------------------------------- extends


def test_extends_in_the_same_file(tmp_path, lint):
    text = """\
    services:
      base:
        image: postgres:16
        environment:
          POSTGRES_DB: app
      db:
        extends: base
        volumes:
          - ./pg:/var/lib/postgresql/data
    """
    write_tree(tmp_path, {"compose.yaml": text})
    project = load(tmp_path, "compose.yaml")
    db = project.services["db"]
    assert db.config["image"] == "postgres:16"
    assert db.config["environment"] == {"POSTGRES_DB": "app"}
    assert "extends" not in db.config
    assert db.origin("image").path == ("services", "base", "image")
    # `base` itself has no mount, `db` has one
    assert brief(lint({"compose.yaml": text}, "compose.yaml")) == [("HF101", "compose.yaml", 2, 3, "base")]


def test_extends_from_another_file_resolves_the_image(tmp_path, lint):
    files = {
        "compose.yaml": "services:\n  db:\n    extends:\n      file: common/base.yml\n      service: pg\n    restart: always\n",
        "common/base.yml": "services:\n  pg:\n    image: postgres:16\n",
    }
    write_tree(tmp_path, files)
    project = load(tmp_path, "compose.yaml")
    db = project.services["db"]
    assert db.config == {"image": "postgres:16", "restart": "always"}
    assert os.path.samefile(db.origin("image").document.real_path, tmp_path / "common" / "base.yml")
    assert [d.real_path for d in project.extra_documents] == [str(tmp_path / "common" / "base.yml")]
    # the missing mount belongs to the extending service, in the file that was linted
    assert brief(lint(files, "compose.yaml")) == [("HF101", "compose.yaml", 2, 3, "db")]


def test_extends_from_another_file_reports_the_image_in_the_base_file(lint):
    files = {
        "compose.yaml": "services:\n  db:\n    extends:\n      file: base.yml\n      service: pg\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n      - ./pg18:/var/lib/postgresql\n",
        "base.yml": "services:\n  pg:\n    image: postgres:alpine\n",
    }
    assert brief(lint(files, "compose.yaml")) == [("HF104", "base.yml", 3, 12, "db")]


def test_extends_problems_are_hf002(lint):
    findings = lint({"compose.yaml": "services:\n  web:\n    extends: nope\n"}, "compose.yaml")
    assert brief(findings) == [("HF002", "compose.yaml", 3, 5, None)]
    assert "nope" in findings[0]["message"]
    findings = lint({"compose.yaml": "services:\n  a:\n    extends: b\n  b:\n    extends: a\n"}, "compose.yaml")
    assert {f["code"] for f in findings} == {"HF002"}
    assert all("cycle" in f["message"] for f in findings)
    findings = lint({"compose.yaml": "services:\n  a:\n    extends:\n      file: gone.yml\n      service: a\n"}, "compose.yaml")
    assert [f["code"] for f in findings] == ["HF002"] and "gone.yml" in findings[0]["message"]


# --------------------------------------------------------------------------- include


def test_include_adds_the_included_services(tmp_path):
    files = {
        "compose.yaml": "include:\n  - db/compose.db.yml\nservices:\n  web:\n    image: nginx:1\n    depends_on: [db]\n",
        "db/compose.db.yml": "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n",
    }
    write_tree(tmp_path, files)
    project = load(tmp_path, "compose.yaml")
    assert set(project.services) == {"web", "db"}
    assert project.services["db"].primary.document.real_path == str(tmp_path / "db" / "compose.db.yml")


def test_include_with_env_file_and_long_syntax(tmp_path):
    files = {
        "compose.yaml": "include:\n  - path: inc/db.yml\n    env_file: inc/db.env\nservices: {}\n",
        "inc/db.yml": "services:\n  db:\n    image: postgres:${PG_MAJOR}\n",
        "inc/db.env": "PG_MAJOR=15\n",
    }
    write_tree(tmp_path, files)
    project = load(tmp_path, "compose.yaml")
    assert project.services["db"].config["image"] == "postgres:15"


def test_include_reports_in_the_included_file(lint):
    files = {
        "compose.yaml": "include:\n  - inc/db.yml\nservices:\n  web:\n    image: nginx:1\n",
        "inc/db.yml": "services:\n  db:\n    image: mysql:8.4\n",
    }
    findings = lint(files, "compose.yaml")
    assert [(f["code"], Path(f["path"]).as_posix(), f["line"], f["service"]) for f in findings] == [("HF101", "inc/db.yml", 2, "db")]


def test_include_missing_file_is_hf002_at_the_entry(lint):
    findings = lint({"compose.yaml": "include:\n  - missing.yml\nservices:\n  web:\n    image: nginx:1\n"}, "compose.yaml")
    assert brief(findings) == [("HF002", "compose.yaml", 2, 5, None)]
    assert "missing.yml" in findings[0]["message"]


def test_include_of_itself_terminates(lint):
    findings = lint({"compose.yaml": "include:\n  - compose.yaml\nservices:\n  web:\n    image: nginx:1\n"}, "compose.yaml")
    assert [f["code"] for f in findings] == ["HF002"]


# --------------------------------------------------------------------------- naming


@pytest.mark.parametrize(
    "directory, env, declared, expected",
    [
        ("/srv/My App", {}, None, "myapp"),
        ("/srv/x", {"COMPOSE_PROJECT_NAME": "Prod_1"}, "ignored", "prod_1"),
        ("/srv/x", {}, "Declared-Name", "declared-name"),
        ("/srv/-_x", {}, None, "x"),
    ],
)
def test_project_name(directory, env, declared, expected):
    assert project_name(directory, env, declared) == expected


# --------------------------------------------------------------------------- Compose v2 assembly (issue 9)
PG_NO_MOUNT = "services:\n  db:\n    image: postgres:16\n"
PG_MOUNT = "services:\n  db:\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n"


def codes(findings):
    return sorted(f["code"] for f in findings)


def test_no_arguments_pairs_any_override_name(lint):
    # Compose loads compose.yaml + docker-compose.override.yml: the database is persisted
    assert codes(lint({"compose.yaml": PG_NO_MOUNT, "docker-compose.override.yml": PG_MOUNT})) == []


def test_compose_file_from_dot_env(lint):
    files = {".env": "COMPOSE_FILE=base.yaml:data.yaml\n", "base.yaml": PG_NO_MOUNT, "data.yaml": PG_MOUNT}
    assert codes(lint(files)) == []
    assert codes(lint({**files, ".env": "COMPOSE_FILE=base.yaml\n"})) == ["HF101"]


def test_env_file_moves_the_data(lint):
    files = {"db.env": "PGDATA=/pgdata\n", "compose.yaml": "services:\n  db:\n    image: postgres:16\n    env_file: db.env\n    volumes:\n      - ./pg:/pgdata\n"}
    assert codes(lint(files, "compose.yaml")) == []


def test_reset_in_override_drops_the_mount(lint):
    files = {"compose.yaml": PG_NO_MOUNT + "    volumes:\n      - ./pg:/var/lib/postgresql/data\n", "compose.override.yaml": "services:\n  db:\n    volumes: !reset []\n"}
    assert codes(lint(files)) == ["HF101"]


def test_include_entry_of_the_wrong_type_is_a_finding(lint):
    findings = lint({"compose.yaml": "include:\n  - path: 1\nservices:\n  web:\n    image: nginx:1\n"}, "compose.yaml")
    assert [(f["code"], f["line"], f["column"]) for f in findings] == [("HF002", 2, 5)]
    assert "include[0].path" in findings[0]["message"]  # once, not an internal error


def test_include_clash_is_a_finding(lint):
    files = {"inc.yaml": "services:\n  web:\n    image: nginx:1\n", "compose.yaml": "include:\n  - inc.yaml\nservices:\n  web:\n    image: nginx:2\n"}
    findings = lint(files, "compose.yaml")
    assert [(f["code"], f["line"]) for f in findings] == [("HF002", 4)]
    assert "conflicts with imported" in findings[0]["message"]


def test_included_file_sees_the_parent_env_first(tmp_path):
    write_tree(tmp_path, {".env": "PG_TAG=17\n", "db/.env": "PG_TAG=18\nDIR=./pg\n", "compose.yaml": "include:\n  - db/compose.yaml\n",
                          "db/compose.yaml": "services:\n  db:\n    image: postgres:${PG_TAG}\n    volumes:\n      - ${DIR}:/var/lib/postgresql/data\n"})
    project = Project.load([ComposeDocument.from_path(str(tmp_path / "compose.yaml"))], env={"PG_TAG": "17"})
    db = project.services["db"]
    assert db.config["image"] == "postgres:17"
    (mount,) = db.mounts()
    assert db.host_source(mount) == str(tmp_path / "db" / "pg")  # from the included file's folder


def test_profile_is_named_in_data_safety_findings(lint):
    files = {"compose.yaml": "services:\n  db:\n    image: postgres:16\n    profiles: [data]\n"}
    (finding,) = [f for f in lint(files, "compose.yaml") if f["code"] == "HF101"]
    assert finding["message"].endswith("; runs only under profile data")
    (finding,) = [f for f in lint(files, "--profile", "data", "compose.yaml") if f["code"] == "HF101"]
    assert "profile" not in finding["message"]


def test_project_options_on_the_command_line(lint):
    files = {"prod.env": "PG_TAG=18\n", ".env": "PG_TAG=17\n",
             "compose.yaml": "services:\n  db:\n    image: postgres:${PG_TAG}\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n"}
    assert codes(lint(files, "compose.yaml")) == []
    # postgres 18 keeps its data in /var/lib/postgresql/18/docker: the mount misses it
    assert "HF105" in codes(lint(files, "--env-file", "prod.env", "compose.yaml"))
    findings = lint(files, "-p", "Bad Name", "compose.yaml")
    assert any(f["code"] == "HF002" and "invalid project name" in f["message"] for f in findings)


def test_project_name_goes_into_interpolation(tmp_path):
    write_tree(tmp_path, {"compose.yaml": "services:\n  db:\n    image: postgres:16\n    environment:\n      P: ${COMPOSE_PROJECT_NAME}\n"})
    project = Project.load([ComposeDocument.from_path(str(tmp_path / "compose.yaml"))], env={}, name="shop")
    assert project.services["db"].config["environment"] == {"P": "shop"}


def test_include_extends_and_env_files_that_are_not_regular_files_do_not_hang(lint, tmp_path):
    import os

    os.mkfifo(tmp_path / "fifo.yaml")
    text = "include:\n  - fifo.yaml\nservices:\n  db:\n    image: postgres:16\n    env_file: [/dev/zero]\n    extends:\n      file: fifo.yaml\n      service: x\n"
    findings = lint({"compose.yaml": text}, "compose.yaml")
    assert [(f["code"], f["line"]) for f in findings if f["code"] == "HF002"] == [("HF002", 2), ("HF002", 6), ("HF002", 8)]

"""Which files are linted and how they are grouped into projects (like `docker compose`)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from holdfast.cli import main
from holdfast.discovery import (
    DiscoveryError,
    base_for,
    default_files,
    discover,
    group_projects,
    is_compose_name,
    override_for,
)

PG = "services:\n  db:\n    image: postgres:16\n"
PERSIST = "services:\n  db:\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n"


def touch(root: Path, *names: str, text: str = PG) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    def run(*argv: str, cwd: Path | None = None, stdin: bytes | None = None):
        (tmp_path / ".holdfast.toml").touch()
        monkeypatch.chdir(cwd or tmp_path)
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        out, err = capsys.readouterr()
        return exc.value.code, out, err

    return run


def json_findings(cli, *argv, **kw):
    code, out, err = cli("lint", "--format", "json", *argv, **kw)
    assert code in (0, 1), err
    return json.loads(out)["findings"]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("compose.yaml", True),
        ("compose.yml", True),
        ("docker-compose.yml", True),
        ("docker-compose.yaml", True),
        ("compose.override.yaml", True),
        ("docker-compose.override.yml", True),
        ("compose.prod.yaml", True),
        ("docker-compose.dev.yml", True),
        ("docker-compose.ci.local.yml", True),
        ("compose.yaml.bak", False),
        ("my-compose.yml", False),
        ("compose.json", False),
        ("Compose.yaml", False),
        ("docker-compose", False),
    ],
)
def test_compose_names(name, expected):
    assert is_compose_name(name) is expected


def test_folder_search_is_recursive_and_skips_vcs_and_dependencies(tmp_path):
    wanted = ["app/compose.yaml", "app/compose.override.yaml", "deep/a/b/docker-compose.prod.yml", "ops/compose.staging.yaml", "docker-compose.yml"]
    touch(tmp_path, *wanted)
    touch(tmp_path, ".git/compose.yaml", "node_modules/pkg/docker-compose.yml", "app/notes.yml", "app/compose.yaml.orig")
    found = sorted(Path(p).relative_to(tmp_path).as_posix() for p in discover([str(tmp_path)]))
    assert found == sorted(wanted)


def test_configured_excludes(tmp_path):
    touch(tmp_path, "keep/compose.yaml", "vendor/compose.yaml", "keep/compose.local.yaml")
    found = discover([str(tmp_path)], lambda p: os.path.basename(p) in ("vendor", "compose.local.yaml"))
    assert [Path(p).relative_to(tmp_path).as_posix() for p in found] == ["keep/compose.yaml"]


def test_a_file_named_explicitly_is_always_linted(tmp_path):
    touch(tmp_path, "stack.yml")
    assert discover([str(tmp_path / "stack.yml")], lambda p: True) == [str(tmp_path / "stack.yml")]


def test_missing_path_and_empty_folder_are_errors(tmp_path):
    with pytest.raises(DiscoveryError, match="no such file"):
        discover([str(tmp_path / "nope")])
    (tmp_path / "empty").mkdir()
    touch(tmp_path, "empty/readme.yml")
    with pytest.raises(DiscoveryError, match="no compose file"):
        discover([str(tmp_path / "empty")])


def test_override_pairs(tmp_path):
    touch(tmp_path, "compose.yaml", "compose.override.yml", "docker-compose.yml")
    assert override_for(str(tmp_path / "compose.yaml")) == str(tmp_path / "compose.override.yml")
    # Compose pairs any base name with any of the four override names
    assert override_for(str(tmp_path / "docker-compose.yml")) == str(tmp_path / "compose.override.yml")
    assert override_for(str(tmp_path / "compose.prod.yaml")) is None
    assert base_for(str(tmp_path / "compose.override.yml")) == str(tmp_path / "compose.yaml")


def test_default_files_like_compose(tmp_path, monkeypatch):
    touch(tmp_path, "compose.yaml", "compose.override.yaml", "sub/dir/keep.txt")
    monkeypatch.chdir(tmp_path)
    assert default_files(str(tmp_path)) == ["compose.yaml", "compose.override.yaml"]
    # from a folder below, Compose walks up
    monkeypatch.chdir(tmp_path / "sub" / "dir")
    assert [os.path.normpath(p) for p in default_files(os.getcwd())] == [os.path.join("..", "..", "compose.yaml"), os.path.join("..", "..", "compose.override.yaml")]


def test_name_precedence_measured_on_compose_2_26(tmp_path):
    touch(tmp_path, "docker-compose.yaml", "docker-compose.yml", "compose.override.yaml", "compose.override.yml", "docker-compose.override.yml")
    assert [os.path.basename(p) for p in default_files(str(tmp_path))] == ["docker-compose.yml", "compose.override.yml"]
    assert base_for(str(tmp_path / "compose.override.yaml")) is None  # not the override Compose loads


def test_default_files_prefers_compose_yaml(tmp_path):
    touch(tmp_path, "docker-compose.yml", "compose.yaml")
    assert [os.path.basename(p) for p in default_files(str(tmp_path))] == ["compose.yaml"]


def test_group_base_with_override(tmp_path):
    touch(tmp_path, "compose.yaml", "compose.override.yaml", "compose.prod.yaml")
    base, override, prod = (str(tmp_path / n) for n in ("compose.yaml", "compose.override.yaml", "compose.prod.yaml"))
    projects = group_projects([base, override, prod])
    assert [p.files for p in projects] == [[base, override], [prod]]
    assert projects[0].requested == {base, override}
    # asking for the base alone still merges the override, but reports only the base
    only = group_projects([base])
    assert only[0].files == [base, override] and only[0].requested == {base}
    # asking for the override alone pulls in its base
    only = group_projects([override])
    assert only[0].files == [base, override] and only[0].requested == {override}


# --------------------------------------------------------------------------- through the CLI


def test_folder_argument(tmp_path, cli):
    touch(tmp_path, "a/compose.yaml", "b/docker-compose.prod.yml", "node_modules/x/compose.yaml")
    findings = json_findings(cli, ".")
    assert sorted(Path(f["path"]).as_posix() for f in findings) == ["a/compose.yaml", "b/docker-compose.prod.yml"]
    assert {f["code"] for f in findings} == {"HF101"}


def test_folder_search_groups_base_and_override(tmp_path, cli):
    touch(tmp_path, "app/compose.yaml")
    touch(tmp_path, "app/compose.override.yaml", text=PERSIST)
    assert json_findings(cli, ".") == []
    assert json_findings(cli, "app/compose.yaml") == []


def test_no_argument_lints_the_current_project(tmp_path, cli):
    touch(tmp_path, "compose.yaml")
    touch(tmp_path, "other/compose.yaml", text="services:\n  r:\n    image: redis:7\n")
    findings = json_findings(cli)
    assert [(f["code"], f["path"], f["service"]) for f in findings] == [("HF101", "compose.yaml", "db")]
    touch(tmp_path, "compose.override.yaml", text=PERSIST)
    assert json_findings(cli) == []


def test_no_argument_without_compose_file_is_exit_2(tmp_path, cli):
    (tmp_path / "empty").mkdir()
    # like Compose, the search walks up to /: a compose file above the temp folder would be found
    if any((parent / name).is_file() for parent in tmp_path.parents for name in ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")):
        pytest.skip(f"a compose file exists above {tmp_path}")
    code, out, err = cli("lint", cwd=tmp_path / "empty")
    assert code == 2
    assert len(err.splitlines()) == 1 and "no compose file" in err


def test_stdin(tmp_path, cli):
    findings = json_findings(cli, "-", stdin=PG.encode())
    assert [(f["code"], f["path"], f["line"]) for f in findings] == [("HF101", "-", 2)]
    findings = json_findings(cli, "--stdin-filename", "deploy/compose.yaml", "-", stdin=PG.encode())
    assert [(f["code"], f["path"]) for f in findings] == [("HF101", "deploy/compose.yaml")]


def test_stdin_with_explicit_override_file(tmp_path, cli):
    touch(tmp_path, "persist.yml", text=PERSIST)
    assert json_findings(cli, "-f", "-", "-f", "persist.yml", stdin=PG.encode()) == []


def test_dash_f_merges_and_reports_every_file(tmp_path, cli):
    touch(tmp_path, "one.yml")
    touch(tmp_path, "two.yml", text="services:\n  db:\n    image: postgres:alpine\n")
    findings = json_findings(cli, "-f", "one.yml", "-f", "two.yml")
    assert sorted((f["code"], f["path"]) for f in findings) == [("HF101", "one.yml"), ("HF104", "two.yml")]


# --------------------------------------------------------------------------- Compose's selection of files and variables
from holdfast.discovery import compose_selection  # noqa: E402


def test_selection_compose_file_and_separator_from_dot_env(tmp_path):
    (tmp_path / ".env").write_text("COMPOSE_PATH_SEPARATOR=;\nCOMPOSE_FILE=a.yaml;b.yaml\nCOMPOSE_PROFILES=data, cache\n")
    touch(tmp_path, "a.yaml", "b.yaml", "compose.yaml")
    selected = compose_selection(cwd=str(tmp_path), environ={})
    assert [os.path.basename(f) for f in selected.files] == ["a.yaml", "b.yaml"]
    assert selected.profiles == ("data", "cache")
    assert selected.directory == str(tmp_path)
    # the process environment wins over .env
    selected = compose_selection(cwd=str(tmp_path), environ={"COMPOSE_FILE": "compose.yaml"})
    assert [os.path.basename(f) for f in selected.files] == ["compose.yaml"]


def test_selection_reads_the_env_of_the_first_files_folder(tmp_path):
    touch(tmp_path, "sub/compose.yaml")
    (tmp_path / ".env").write_text("TAG=cwd\n")
    (tmp_path / "sub" / ".env").write_text("TAG=sub\n")
    selected = compose_selection(["sub/compose.yaml"], cwd=str(tmp_path), environ={})
    assert selected.env["TAG"] == "sub" and selected.directory == str(tmp_path / "sub")
    selected = compose_selection(["sub/compose.yaml"], cwd=str(tmp_path), environ={}, env_files=[".env"])
    assert selected.env["TAG"] == "cwd"
    selected = compose_selection(["sub/compose.yaml"], cwd=str(tmp_path), environ={"TAG": "process"}, project_directory=".")
    assert selected.env["TAG"] == "process" and selected.directory == str(tmp_path)


@pytest.mark.parametrize("name, ok", [("shop", True), ("shop-2_x", True), ("Shop", False), ("-shop", False), ("my shop", False)])
def test_selection_validates_explicit_project_names(tmp_path, name, ok):
    touch(tmp_path, "compose.yaml")
    selected = compose_selection(cwd=str(tmp_path), environ={}, project_name=name)
    assert (selected.problems == []) is ok
    assert (selected.name == name) is ok


def test_selection_reports_a_bad_dot_env_line(tmp_path):
    touch(tmp_path, "compose.yaml")
    (tmp_path / ".env").write_text("A=1\nB='open\n")
    selected = compose_selection(cwd=str(tmp_path), environ={})
    assert len(selected.problems) == 1 and ".env:2: unterminated quoted value" in selected.problems[0]

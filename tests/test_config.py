"""Configuration: where it is found, every documented key, and one-line errors for bad keys."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from holdfast.cli import main
from holdfast.config import (
    Config,
    ConfigError,
    find_config_file,
    load_config,
    parse_config,
)
from holdfast.model import Severity

FLOATING = "services:\n  db:\n    image: postgres:alpine\n"  # HF101 (error) + HF104 (warning)


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """cli(*argv, cwd=tmp_path) -> (exit code, stdout, stderr), in-process."""

    def run(*argv: str, cwd: Path | None = None):
        monkeypatch.chdir(cwd or tmp_path)
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        out, err = capsys.readouterr()
        return exc.value.code, out, err

    return run


def lint_json(cli, *argv, cwd=None):
    code, out, err = cli("lint", "--format", "json", *argv, cwd=cwd)
    assert code in (0, 1), err
    return code, json.loads(out)["findings"]


def codes(findings):
    return sorted(f["code"] for f in findings)


# --------------------------------------------------------------------------- finding the file


def test_pyproject_found_upward(tmp_path, cli):
    write_tree(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n\n[tool.holdfast]\nignore = ["HF104"]\n', "deploy/app/compose.yaml": FLOATING})
    code, findings = lint_json(cli, "deploy/app/compose.yaml")
    assert codes(findings) == ["HF101"]
    # also when run from inside the folder
    code, findings = lint_json(cli, "compose.yaml", cwd=tmp_path / "deploy" / "app")
    assert codes(findings) == ["HF101"]


def test_pyproject_without_holdfast_table_is_skipped(tmp_path, cli):
    write_tree(
        tmp_path,
        {
            ".holdfast.toml": 'ignore = ["HF101"]\n',
            "sub/pyproject.toml": '[tool.black]\nline-length = 100\n',
            "sub/compose.yaml": FLOATING,
        },
    )
    found = find_config_file(str(tmp_path / "sub" / "compose.yaml"))
    assert found is not None and Path(found[0]) == tmp_path / ".holdfast.toml"
    code, findings = lint_json(cli, "sub/compose.yaml")
    assert codes(findings) == ["HF104"]


def test_dot_holdfast_toml_uses_top_level_keys_and_nearest_wins(tmp_path, cli):
    write_tree(
        tmp_path,
        {
            ".holdfast.toml": 'ignore = ["HF101"]\n',
            "inner/.holdfast.toml": 'ignore = ["HF104"]\n',
            "inner/compose.yaml": FLOATING,
            "outer/compose.yaml": FLOATING,
        },
    )
    assert codes(lint_json(cli, "inner/compose.yaml")[1]) == ["HF101"]
    assert codes(lint_json(cli, "outer/compose.yaml")[1]) == ["HF104"]


def test_config_option_names_a_file(tmp_path, cli):
    write_tree(tmp_path, {".holdfast.toml": "", "settings/strict.toml": 'select = ["HF104"]\n', "compose.yaml": FLOATING})
    assert codes(lint_json(cli, "--config", "settings/strict.toml", "compose.yaml")[1]) == ["HF104"]
    # a pyproject.toml named with --config is read from its [tool.holdfast] table
    write_tree(tmp_path, {"other/pyproject.toml": '[tool.holdfast]\nselect = ["HF101"]\n'})
    assert codes(lint_json(cli, "--config", "other/pyproject.toml", "compose.yaml")[1]) == ["HF101"]


def test_no_config_means_defaults(tmp_path):
    config = parse_config({}, None)
    assert config == Config(path=None)
    assert config.fail_level is Severity.ERROR and config.persistence == "any"


# --------------------------------------------------------------------------- keys


def lint_with(tmp_path, cli, config: str, files: dict[str, str] | None = None, *argv: str):
    """Write `config` as .holdfast.toml and `files` (default: FLOATING as compose.yaml), lint the compose files."""
    files = files or {"compose.yaml": FLOATING}
    write_tree(tmp_path, {".holdfast.toml": config, **files})
    return lint_json(cli, *argv, *(name for name in files if name.endswith((".yml", ".yaml"))))


def test_select_by_prefix_and_all(tmp_path, cli):
    assert codes(lint_with(tmp_path, cli, 'select = ["HF10"]\n')[1]) == ["HF101", "HF104", "HF107"]  # a prefix turns on HF107 (opt-in) too
    assert codes(lint_with(tmp_path, cli, 'select = ["HF104"]\n')[1]) == ["HF104"]
    # ALL also turns on HF103, HF107 and HF108 (off by default)
    files = {"compose.yaml": "services:\n  db:\n    image: postgres:16\n    volumes: ['pg:/var/lib/postgresql/data']\nvolumes:\n  pg:\n"}
    assert codes(lint_with(tmp_path, cli, 'select = ["ALL"]\n', files)[1]) == ["HF103", "HF107", "HF108"]
    assert codes(lint_with(tmp_path, cli, "", files)[1]) == []


def test_ignore_and_extend_select(tmp_path, cli):
    assert codes(lint_with(tmp_path, cli, 'ignore = ["HF101"]\n')[1]) == ["HF104"]
    files = {"compose.yaml": "services:\n  db:\n    image: postgres:16\n    volumes: ['pg:/var/lib/postgresql/data']\nvolumes:\n  pg:\n"}
    assert codes(lint_with(tmp_path, cli, 'extend-select = ["HF103"]\n', files)[1]) == ["HF103"]
    # the command line adds to the file
    assert codes(lint_with(tmp_path, cli, 'ignore = ["HF101"]\n', None, "--ignore", "HF104")[1]) == []


def test_per_file_ignores(tmp_path, cli):
    files = {"compose.yaml": FLOATING, "docker-compose.test.yml": FLOATING}
    write_tree(tmp_path, {".holdfast.toml": '[per-file-ignores]\n"docker-compose.test.yml" = ["HF101"]\n', **files})
    code, findings = lint_json(cli, ".")
    got = sorted((f["path"], f["code"]) for f in findings)
    assert got == [("compose.yaml", "HF101"), ("compose.yaml", "HF104"), ("docker-compose.test.yml", "HF104")]


def test_severity_override_and_fail_level(tmp_path, cli):
    code, findings = lint_with(tmp_path, cli, 'ignore = ["HF101"]\n')
    assert code == 0 and [f["severity"] for f in findings] == ["warning"]
    code, findings = lint_with(tmp_path, cli, 'ignore = ["HF101"]\n[severity]\nHF104 = "error"\n')
    assert code == 1 and [f["severity"] for f in findings] == ["error"]
    code, findings = lint_with(tmp_path, cli, 'ignore = ["HF101"]\nfail-level = "warning"\n')
    assert code == 1 and [f["severity"] for f in findings] == ["warning"]
    # --fail-level on the command line wins over the file
    code, _, _ = cli("lint", "--format", "json", "--fail-level", "error", "compose.yaml")
    assert code == 0


def test_exclude(tmp_path, cli):
    files = {"compose.yaml": FLOATING, "vendor/x/compose.yaml": FLOATING, "third_party/docker-compose.yml": FLOATING}
    write_tree(tmp_path, {".holdfast.toml": 'exclude = ["vendor", "third_party/**"]\n', **files})
    code, findings = lint_json(cli, ".")
    assert {f["path"] for f in findings} == {"compose.yaml"}
    write_tree(tmp_path, {".holdfast.toml": ""})
    code, findings = lint_json(cli, ".")
    assert {Path(f["path"]).as_posix() for f in findings} == {"compose.yaml", "vendor/x/compose.yaml", "third_party/docker-compose.yml"}


def test_rule_options(tmp_path, cli):
    files = {"compose.yaml": "services:\n  reg:\n    image: registry:2\n"}
    assert codes(lint_with(tmp_path, cli, "", files)[1]) == []
    assert codes(lint_with(tmp_path, cli, "[rules.HF101]\nmaybe-stateful = true\n", files)[1]) == ["HF101"]
    write_tree(tmp_path, {"pyproject.toml": "[tool.holdfast.rules.HF101]\nmaybe-stateful = true\n"})
    (tmp_path / ".holdfast.toml").unlink()
    assert codes(lint_json(cli, "compose.yaml")[1]) == ["HF101"]


def test_custom_image_makes_it_stateful(tmp_path, cli):
    files = {"compose.yaml": "services:\n  ours:\n    image: registry.example.com/team/ourdb:3.1\n"}
    config = '[images.ourdb]\nmatch = ["registry.example.com/team/ourdb*"]\ndata-paths = ["/var/lib/ourdb"]\n'
    assert codes(lint_with(tmp_path, cli, "", files)[1]) == []
    code, findings = lint_with(tmp_path, cli, config, files)
    assert codes(findings) == ["HF101"] and "/var/lib/ourdb" in findings[0]["message"]
    files["compose.yaml"] += "    volumes: ['ourdb:/var/lib/ourdb']\nvolumes:\n  ourdb:\n"
    assert codes(lint_with(tmp_path, cli, config, files)[1]) == []
    # and the bind policy then asks for a folder
    assert codes(lint_with(tmp_path, cli, 'persistence = "bind"\n' + config, files)[1]) == ["HF103"]


def test_persistence_policy(tmp_path, cli):
    files = {"compose.yaml": "services:\n  db:\n    image: mysql:8.4\n    volumes: ['mysql-data:/var/lib/mysql']\nvolumes:\n  mysql-data:\n"}
    assert codes(lint_with(tmp_path, cli, 'persistence = "any"\n', files)[1]) == []
    assert codes(lint_with(tmp_path, cli, 'persistence = "bind"\n', files)[1]) == ["HF103"]


def test_parse_config_values():
    config = parse_config(
        {
            "select": ["hf1"],
            "extend-select": ["HF103"],
            "ignore": ["HF104"],
            "extend-ignore": ["HF105"],
            "per-file-ignores": {"a.yml": ["hf101"]},
            "severity": {"hf104": "Info"},
            "fail-level": "warning",
            "extend-exclude": ["build"],
            "persistence": "bind",
            "fix": {"bind-root": "./state", "persistence": "named"},
            "max-file-size": 1000,
        },
        "/x/.holdfast.toml",
    )
    assert config.select == ("HF1",)
    assert config.ignore == ("HF104", "HF105")
    assert config.per_file_ignores == (("a.yml", ("HF101",)),)
    assert config.severity == {"HF104": Severity.INFO}
    assert config.fail_level is Severity.WARNING
    assert ".git" in config.exclude and "build" in config.exclude
    assert (config.fix_bind_root, config.fix_persistence, config.max_file_size) == ("./state", "named", 1000)
    assert config.is_selected("HF101", True) and not config.is_selected("HF104", True) and not config.is_selected("HF003", True)
    assert config.is_selected("HF103", False)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "toml, needle",
    [
        ('selcet = ["HF"]\n', "selcet"),
        ("[fix]\nroot = 1\n", "root"),
        ('persistence = "always"\n', "persistence"),
        ('fail-level = "fatal"\n', "fatal"),
        ('select = "HF101"\n', "select"),
        ('[severity]\nHF104 = "loud"\n', "loud"),
        ("[rules.HF101]\nmaybe_stateful = true\n", "maybe_stateful"),
        ("[rules.HF999]\nx = 1\n", "HF999"),
        ('[images.ourdb]\nmatch = ["x"]\n', "data-paths"),
        ('[images.ourdb]\nmatch = ["x"]\ndata-paths = ["/d"]\ncolour = "red"\n', "colour"),
        ("select = [\n", "invalid TOML"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path, cli, toml, needle):
    write_tree(tmp_path, {".holdfast.toml": toml, "compose.yaml": FLOATING})
    code, out, err = cli("lint", "compose.yaml")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0]
    assert ".holdfast.toml" in lines[0]


def test_unknown_key_in_pyproject_names_the_key(tmp_path):
    write_tree(tmp_path, {"pyproject.toml": "[tool.holdfast]\nexclude = []\nignroe = []\n"})
    with pytest.raises(ConfigError, match="'ignroe'"):
        load_config(start=str(tmp_path))


def test_missing_config_file_is_an_error(tmp_path, cli):
    write_tree(tmp_path, {".holdfast.toml": "", "compose.yaml": FLOATING})
    code, out, err = cli("lint", "--config", "nope.toml", "compose.yaml")
    assert code == 2 and len(err.splitlines()) == 1 and "nope.toml" in err


def test_each_file_uses_its_nearest_config(tmp_path, cli):
    write_tree(tmp_path, {".holdfast.toml": 'ignore = ["HF101"]\n', "inner/.holdfast.toml": 'ignore = ["HF104"]\n', "inner/compose.yaml": FLOATING, "outer/compose.yaml": FLOATING})
    expected = [("inner/compose.yaml", "HF101"), ("outer/compose.yaml", "HF104")]
    for order in (("outer/compose.yaml", "inner/compose.yaml"), ("inner/compose.yaml", "outer/compose.yaml"), (".",)):
        code, findings = lint_json(cli, *order)
        assert sorted((Path(f["path"]).as_posix(), f["code"]) for f in findings) == expected, order


def test_per_file_ignores_use_the_stdin_filename(tmp_path, cli, monkeypatch):
    import io

    write_tree(tmp_path, {".holdfast.toml": '[per-file-ignores]\n"compose.test.yaml" = ["HF101"]\n'})
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(FLOATING.encode())))
    code, findings = lint_json(cli, "--stdin-filename", "compose.test.yaml", "-")
    assert [(f["path"], f["code"]) for f in findings] == [("compose.test.yaml", "HF104")]


# --------------------------------------------------------------------------- unknown rule codes


@pytest.mark.parametrize(
    "argv, toml, needle",
    [
        (("--select", "HF10l"), "", "--select: unknown rule code 'HF10L'; did you mean HF101?"),
        (("--ignore", "HF1O4"), "", "--ignore: unknown rule code 'HF1O4'; did you mean HF104?"),
        (("--extend-select", "HF399"), "", "--extend-select: unknown rule code 'HF399'"),
        (("--select", "XYZ"), "", "unknown rule code 'XYZ'"),
        ((), 'select = ["HF10l"]\n', ".holdfast.toml: 'select': unknown rule code 'HF10L'; did you mean HF101?"),
        ((), 'extend-ignore = ["HF1O5"]\n', ".holdfast.toml: 'ignore': unknown rule code 'HF1O5'; did you mean HF105?"),
        ((), '[per-file-ignores]\n"a.yml" = ["HF1001"]\n', "'per-file-ignores 'a.yml'': unknown rule code 'HF1001'"),
        ((), '[severity]\nHF140 = "info"\n', ".holdfast.toml: 'severity': unknown rule code 'HF140'; did you mean HF104?"),
    ],
)
def test_unknown_rule_code_is_one_line_exit_2_with_the_closest(tmp_path, cli, argv, toml, needle):
    """`HF10l` used to turn every rule off and print "All checks passed." (exit 0)."""
    write_tree(tmp_path, {".holdfast.toml": toml, "compose.yaml": FLOATING})
    for command in ("lint", "fix"):
        code, out, err = cli(command, *argv, "compose.yaml")
        assert code == 2, (command, out, err)
        assert out == ""
        assert err.splitlines() == [f"holdfast: error: {err.splitlines()[0][len('holdfast: error: '):]}"]
        assert needle in err, err


@pytest.mark.parametrize("selector", ["HF", "HF1", "HF10", "HF101", "ALL", "hf1"])
def test_prefixes_of_known_codes_stay_valid(tmp_path, cli, selector):
    write_tree(tmp_path, {"compose.yaml": FLOATING})
    code, findings = lint_json(cli, "--select", selector, "compose.yaml")
    assert code == 1 and "HF101" in codes(findings)


def test_check_codes_knows_plugin_codes():
    config = Config(select=("X9",), ignore=("HF1",))
    assert config.check_codes(["HF101", "X900"]) == []
    [line] = config.check_codes(["HF101"])
    assert "'X9'" in line


def _lint_in(folder, capsys, monkeypatch):
    from holdfast.cli import main

    (folder / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n")
    monkeypatch.chdir(folder)
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--no-cache"])
    return exc.value.code, capsys.readouterr().err


def test_config_with_invalid_utf8_names_the_byte_and_its_line(tmp_path, capsys, monkeypatch):
    (tmp_path / ".holdfast.toml").write_bytes(b'ignore = ["HF104"]\nx = "\xc3\x28"\n')
    code, err = _lint_in(tmp_path, capsys, monkeypatch)
    assert code == 2
    assert err.strip() == f"holdfast: error: {tmp_path / '.holdfast.toml'}:2:6: invalid UTF-8 byte 0xc3; TOML files must be UTF-8"


def test_config_that_is_a_fifo_or_a_device_is_refused_not_read(tmp_path, capsys, monkeypatch):
    os.mkfifo(tmp_path / ".holdfast.toml")
    code, err = _lint_in(tmp_path, capsys, monkeypatch)
    assert code == 2 and "not a regular file" in err and err.count("\n") == 1
    (tmp_path / ".holdfast.toml").unlink()
    (tmp_path / "pyproject.toml").symlink_to("/dev/zero")
    code, err = _lint_in(tmp_path, capsys, monkeypatch)
    assert code == 2 and "not a regular file" in err


def test_empty_select_on_the_command_line_is_an_error(tmp_path, capsys, monkeypatch):
    from holdfast.cli import main

    (tmp_path / ".holdfast.toml").write_text("")
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--select", " , "])
    assert exc.value.code == 2 and "--select names no rule code" in capsys.readouterr().err

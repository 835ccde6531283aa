"""Every built-in rule HF000-HF105: at least one case that must fire and one that must not.

Each case is a small compose project written into a temporary folder and linted
through the real command line (in-process, `--format json`), so selection,
suppressions and the project view all take part exactly as for a user.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from holdfast.cli import main
from support import SEED

# --------------------------------------------------------------------------- helpers


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")


@pytest.fixture
def lint(tmp_path, monkeypatch, capsys):
    """lint(files, *args, config=None) -> (exit code, findings) for a project in a temp folder."""

    def run(files: dict[str, str | bytes], *args: str, config: str = "", target: str | None = None):
        # A config file at the root of the temp folder stops the upward search there.
        write_tree(tmp_path, {".holdfast.toml": config, **files})
        monkeypatch.chdir(tmp_path)
        if target is None:
            target = next(n for n in files if n.endswith((".yml", ".yaml")))
        argv = ["lint", "--format", "json", *args]
        if target:
            argv.append(target)
        with pytest.raises(SystemExit) as exc:
            main(argv)
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        if exc.value.code == 2:
            return exc.value.code, err
        return exc.value.code, json.loads(out)["findings"]

    return run


def codes(findings) -> list[str]:
    return [f["code"] for f in findings]


def only(findings, code):
    return [f for f in findings if f["code"] == code]


# --------------------------------------------------------------------------- the seed


def test_seed_hf101_on_db_and_redis_with_their_data_paths_and_commented_blocks(capsys, monkeypatch):
    monkeypatch.chdir(SEED.parent)
    with pytest.raises(SystemExit) as exc:
        main(["lint", "--format", "json", SEED.name])
    assert exc.value.code == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    lines = SEED.read_text(encoding="utf-8").splitlines()
    # where the commented-out blocks are, read from the file itself
    commented = [i + 1 for i, text in enumerate(lines) if re.match(r"^#\s+volumes:\s*$", text)]
    assert len(commented) == 2
    hf101 = {f["service"]: f for f in only(findings, "HF101")}
    assert set(hf101) == {"db", "redis"}
    db, redis = hf101["db"], hf101["redis"]
    assert (db["line"], db["column"]) == (4, 3)
    assert lines[db["line"] - 1].strip() == "db:"
    assert (redis["line"], redis["column"]) == (11, 3)
    assert lines[redis["line"] - 1].strip() == "redis:"
    assert "/var/lib/postgresql/data" in db["message"]
    assert "/data" in redis["message"] and "/var/lib/postgresql" not in redis["message"]
    assert f"lines {commented[0]}-{commented[0] + 1}" in db["message"]
    assert f"lines {commented[1]}-{commented[1] + 1}" in redis["message"]
    # the web/streaming/sidekiq services are not data stores
    assert {f["service"] for f in findings} == {"db", "redis"}


# --------------------------------------------------------------------------- HF101

PG16 = """\
services:
  db:
    image: postgres:16
"""


def test_hf101_fires_on_postgres_without_mount(lint):
    code, findings = lint({"compose.yaml": PG16})
    assert code == 1
    assert codes(findings) == ["HF101"]
    f = findings[0]
    assert (f["line"], f["column"], f["service"], f["severity"]) == (2, 3, "db", "error")
    assert "/var/lib/postgresql/data" in f["message"]


@pytest.mark.parametrize(
    "storage",
    [
        "    volumes:\n      - ./pg:/var/lib/postgresql/data\n",
        "    volumes:\n      - pg:/var/lib/postgresql/data\nvolumes:\n  pg:\n",
        "    volumes:\n      - type: bind\n        source: ./pg\n        target: /var/lib/postgresql/data\n",
        "    volumes:\n      - ./pg/:/var/lib/postgresql/data/:rw\n",
    ],
    ids=["bind", "named", "long-bind", "trailing-slashes"],
)
def test_hf101_quiet_when_data_path_is_mounted(lint, storage):
    code, findings = lint({"compose.yaml": PG16 + storage})
    assert code == 0, findings
    assert findings == []


def test_hf101_tmpfs_at_data_path_is_deliberate(lint):
    code, findings = lint({"compose.yaml": PG16 + "    tmpfs:\n      - /var/lib/postgresql/data\n"})
    assert (code, findings) == (0, [])


def test_hf101_a_mount_elsewhere_does_not_count(lint):
    code, findings = lint({"compose.yaml": PG16 + "    volumes:\n      - ./init:/docker-entrypoint-initdb.d\n"})
    assert code == 1
    assert codes(findings) == ["HF101"]


def test_hf101_local_build_with_readable_dockerfile_is_matched(lint):
    files = {
        "compose.yaml": "services:\n  db:\n    build: ./db\n",
        "db/Dockerfile": "FROM postgres:16\nCOPY init.sql /docker-entrypoint-initdb.d/\n",
    }
    code, findings = lint(files)
    assert codes(findings) == ["HF101"]
    assert findings[0]["service"] == "db"
    assert "/var/lib/postgresql/data" in findings[0]["message"]
    # and the same build with the data mounted is fine
    files["compose.yaml"] = "services:\n  db:\n    build: ./db\n    volumes: ['./pg:/var/lib/postgresql/data']\n"
    code, findings = lint(files)
    assert (code, findings) == (0, [])


def test_hf101_dockerfile_arg_and_stage_are_followed(lint):
    dockerfile = "ARG PG=16\nFROM busybox AS tools\nFROM postgres:${PG}-alpine AS final\n"
    code, findings = lint({"compose.yaml": "services:\n  db:\n    build:\n      context: .\n      dockerfile: db.Dockerfile\n", "db.Dockerfile": dockerfile})
    assert codes(findings) == ["HF101"]


def test_hf101_build_without_readable_dockerfile_is_not_guessed(lint):
    code, findings = lint({"compose.yaml": "services:\n  db:\n    build: ./missing\n"})
    assert (code, findings) == (0, [])


def test_hf101_volumes_from_a_service_holding_a_named_volume_is_persisted(lint):
    text = """\
    services:
      data:
        image: busybox:1.36
        volumes:
          - pg:/var/lib/postgresql/data
      db:
        image: postgres:16
        volumes_from:
          - data
    volumes:
      pg:
    """
    code, findings = lint({"compose.yaml": text})
    assert (code, findings) == (0, [])
    # without volumes_from the same db is not persisted
    code, findings = lint({"compose.yaml": text.replace("        volumes_from:\n          - data\n", "")})
    assert codes(findings) == ["HF101"]


def test_hf101_maybe_stateful_images_only_with_option(lint):
    text = "services:\n  metrics:\n    image: prom/prometheus:v2.53.0\n"
    assert lint({"compose.yaml": text}) == (0, [])
    code, findings = lint({"compose.yaml": text}, config='[rules.HF101]\nmaybe-stateful = true\n')
    assert codes(findings) == ["HF101"]
    assert "/prometheus" in findings[0]["message"]


def test_hf101_custom_image_from_config(lint):
    text = "services:\n  ours:\n    image: registry.example.com/team/ourdb:3\n"
    config = '[images.ourdb]\nmatch = ["registry.example.com/team/ourdb*"]\ndata-paths = ["/var/lib/ourdb"]\n'
    assert lint({"compose.yaml": text}) == (0, [])
    code, findings = lint({"compose.yaml": text}, config=config)
    assert codes(findings) == ["HF101"] and "/var/lib/ourdb" in findings[0]["message"]
    code, findings = lint({"compose.yaml": text + "    volumes: ['./o:/var/lib/ourdb']\n"}, config=config)
    assert (code, findings) == (0, [])


# --------------------------------------------------------------------------- HF102


def test_hf102_anonymous_volume_at_data_path(lint):
    text = "services:\n  db:\n    image: mysql:8.4\n    volumes:\n      - /var/lib/mysql\n"
    code, findings = lint({"compose.yaml": text})
    assert code == 1
    assert codes(findings) == ["HF102"]
    f = findings[0]
    assert (f["line"], f["column"], f["service"]) == (5, 9, "db")  # the list item
    assert "/var/lib/mysql" in f["message"]


def test_hf102_long_syntax_volume_without_source(lint):
    text = "services:\n  db:\n    image: mysql:8.4\n    volumes:\n      - type: volume\n        target: /var/lib/mysql\n"
    code, findings = lint({"compose.yaml": text})
    assert codes(findings) == ["HF102"]
    assert findings[0]["line"] == 5


def test_hf102_quiet_for_named_volume(lint):
    text = "services:\n  db:\n    image: mysql:8.4\n    volumes:\n      - mysql:/var/lib/mysql\nvolumes:\n  mysql: {}\n"
    assert lint({"compose.yaml": text}) == (0, [])


# --------------------------------------------------------------------------- HF103

NAMED = """\
services:
  db:
    image: postgres:16
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata:
"""


def test_hf103_off_by_default(lint):
    assert lint({"compose.yaml": NAMED}) == (0, [])


def test_hf103_on_with_bind_policy(lint):
    code, findings = lint({"compose.yaml": NAMED}, config='persistence = "bind"\n')
    assert codes(findings) == ["HF103"]
    f = findings[0]
    assert (f["line"], f["severity"], f["service"]) == (5, "warning", "db")
    assert "pgdata" in f["message"]
    # a warning does not fail the default fail level (error)
    assert code == 0


def test_hf103_on_with_extend_select(lint):
    code, findings = lint({"compose.yaml": NAMED}, "--extend-select", "HF103")
    assert codes(findings) == ["HF103"]


def test_hf103_quiet_for_bind_mount_under_bind_policy(lint):
    text = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n"
    assert lint({"compose.yaml": text}, config='persistence = "bind"\n') == (0, [])


# --------------------------------------------------------------------------- HF104


@pytest.mark.parametrize("image", ["postgres:alpine", "redis", "mysql:latest", "postgres:latest", "mariadb:lts"])
def test_hf104_floating_major(lint, image):
    storage = "    volumes: ['./d:/var/lib/postgresql/data', './r:/data', './m:/var/lib/mysql', './pg18:/var/lib/postgresql']\n"
    code, findings = lint({"compose.yaml": f"services:\n  db:\n    image: {image}\n" + storage})
    hf104 = only(findings, "HF104")
    assert len(hf104) == 1, findings
    f = hf104[0]
    # points at the image VALUE on line 3
    assert (f["line"], f["column"], f["end_line"], f["end_column"]) == (3, 12, 3, 12 + len(image))
    assert image in f["message"]
    assert f["severity"] == "warning"


@pytest.mark.parametrize("image", ["postgres:16", "postgres:16.4-alpine", "redis:7.2", "mysql:8.4", "postgres@sha256:" + "a" * 64])
def test_hf104_quiet_for_pinned_major(lint, image):
    storage = "    volumes: ['./d:/var/lib/postgresql/data', './r:/data', './m:/var/lib/mysql']\n"
    code, findings = lint({"compose.yaml": f"services:\n  db:\n    image: {image}\n" + storage})
    assert only(findings, "HF104") == []


def test_hf104_quiet_for_non_stateful_image(lint):
    assert lint({"compose.yaml": "services:\n  web:\n    image: nginx\n"}) == (0, [])


def test_hf104_reported_on_the_anchor_that_holds_the_image(lint):
    text = """\
    x-db: &db
      image: postgres:alpine
      volumes: ['./pg:/var/lib/postgresql/data', './pg18:/var/lib/postgresql']
    services:
      db:
        <<: *db
    """
    code, findings = lint({"compose.yaml": text})
    hf104 = only(findings, "HF104")
    assert [(f["line"], f["column"], f["service"]) for f in hf104] == [(2, 10, "db")]


# --------------------------------------------------------------------------- HF105


def test_hf105_parent_mount_under_image_volume(lint):
    text = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./x:/var/lib/postgresql\n"
    code, findings = lint({"compose.yaml": text})
    assert codes(findings) == ["HF105"]  # and not also HF101
    f = findings[0]
    assert (f["line"], f["column"], f["service"]) == (5, 9, "db")
    assert "/var/lib/postgresql/data" in f["message"]


def test_hf105_postgres18_with_old_path(lint):
    text = "services:\n  db:\n    image: postgres:18\n    volumes:\n      - ./x:/var/lib/postgresql/data\n"
    code, findings = lint({"compose.yaml": text})
    assert codes(findings) == ["HF105"]
    assert findings[0]["line"] == 5
    assert "/var/lib/postgresql/18/docker" in findings[0]["message"]


def test_postgres18_with_its_own_path_is_persisted(lint):
    text = "services:\n  db:\n    image: postgres:18\n    volumes:\n      - ./x:/var/lib/postgresql\n"
    assert lint({"compose.yaml": text}) == (0, [])


def test_hf105_pgdata_outside_the_mount(lint):
    text = """\
    services:
      db:
        image: postgres:16
        environment:
          PGDATA: /srv/pgdata
        volumes:
          - ./x:/var/lib/postgresql/data
    """
    code, findings = lint({"compose.yaml": text})
    assert codes(findings) == ["HF105"]
    assert "/srv/pgdata" in findings[0]["message"] and "PGDATA" in findings[0]["message"]
    # mounting the PGDATA folder instead is right
    code, findings = lint({"compose.yaml": text.replace("./x:/var/lib/postgresql/data", "./x:/srv/pgdata")})
    assert (code, findings) == (0, [])


def test_hf105_redis_dir_flag(lint):
    text = "services:\n  cache:\n    image: redis:7\n    command: redis-server --dir /srv\n    volumes:\n      - ./r:/data\n"
    code, findings = lint({"compose.yaml": text})
    assert codes(findings) == ["HF105"]
    f = findings[0]
    assert (f["line"], f["service"]) == (6, "cache")
    assert "/srv" in f["message"] and "--dir" in f["message"]
    code, findings = lint({"compose.yaml": text.replace("./r:/data", "./r:/srv")})
    assert (code, findings) == (0, [])


# --------------------------------------------------------------------------- HF000


def test_hf106_application_data_not_persisted(lint):
    text = "services:\n  vw:\n    image: vaultwarden/server:1.32.0\n"
    code, findings = lint({"compose.yaml": text})
    assert codes(findings) == ["HF106"] and findings[0]["severity"] == "warning"
    assert "/data" in findings[0]["message"] and findings[0]["service"] == "vw"


def test_hf106_quiet_when_the_application_data_is_mounted(lint):
    text = "services:\n  vw:\n    image: vaultwarden/server:1.32.0\n    volumes:\n      - ./vw:/data\n"
    assert lint({"compose.yaml": text}) == (0, [])


def test_hf000_unused_suppression(lint):
    text = "services:\n  db:\n    image: postgres:16  # holdfast: ignore[HF104] was floating once\n    volumes: ['./pg:/var/lib/postgresql/data']\n"
    code, findings = lint({"compose.yaml": text})
    assert codes(findings) == ["HF000"]
    f = findings[0]
    line3 = text.splitlines()[2]
    assert (f["line"], f["column"], f["severity"]) == (3, line3.index("#") + 1, "info")
    assert "HF104" in f["message"]
    assert code == 0  # info does not fail the default fail level


def test_hf000_quiet_when_suppression_is_used(lint):
    text = "services:\n  db:\n    image: postgres:alpine  # holdfast: ignore[HF104] tracked upstream\n    volumes: ['./pg:/var/lib/postgresql/data', './pg18:/var/lib/postgresql']\n"
    assert lint({"compose.yaml": text}) == (0, [])


# --------------------------------------------------------------------------- HF001


@pytest.mark.parametrize(
    "content, line, needle",
    [
        ("services:\n\tdb:\n    image: postgres:16\n", 2, "TAB"),
        ("services:\n  db:\n    image: x\n---\nservices:\n  b:\n    image: y\n", 4, "more than one YAML document"),
        (b"services:\n  db:\n    image: postgres:16 \xff\n", 3, "UTF-8"),
        ("a: &a\n  b: *a\nservices: {}\n", 1, "refers to itself"),
        ("services:\n  db: [a, b\n  web:\n    image: x\n", 3, "YAML syntax error"),
    ],
    ids=["tab", "several-documents", "non-utf8", "self-alias", "unclosed-bracket"],
)
def test_hf001_syntax_errors(lint, content, line, needle):
    code, findings = lint({"compose.yml": content})
    assert code == 1
    assert codes(findings) == ["HF001"]
    assert findings[0]["line"] == line
    assert needle in findings[0]["message"]


def test_hf001_non_utf8_points_at_the_byte(lint):
    raw = b"services:\n  db:\n    image: postgres:16 \xff\n"
    code, findings = lint({"compose.yml": raw})
    col = raw.splitlines()[2].index(b"\xff") + 1
    assert (findings[0]["line"], findings[0]["column"]) == (3, col)
    assert "0xff" in findings[0]["message"]


def test_hf001_alias_bomb(lint):
    rows = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        rows.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    code, findings = lint({"compose.yml": "\n".join(rows) + "\nservices: {}\n"})
    assert codes(findings) == ["HF001"]
    assert "alias" in findings[0]["message"]


def test_hf001_unclosed_quote_points_at_the_quote(lint):
    text = 'services:\n  db:\n    image: "postgres:16\n    restart: always\n'
    code, findings = lint({"compose.yml": text})
    assert codes(findings) == ["HF001"]
    assert findings[0]["line"] == 3


def test_hf001_unclosed_quote_is_a_finding(lint):
    text = 'services:\n  db:\n    image: "postgres:16\n    restart: always\n'
    code, findings = lint({"compose.yml": text})
    assert code == 1
    assert codes(findings) == ["HF001"]


def test_hf001_quiet_on_valid_yaml(lint):
    assert lint({"compose.yml": "services:\n  web:\n    image: nginx:1.27\n"}) == (0, [])


# --------------------------------------------------------------------------- HF002


def test_hf002_every_error_at_the_offending_key(lint):
    text = """\
    services:
      db:
        image: postgres:16
        volume:
          - ./pg:/var/lib/postgresql/data
        restrat: always
      web:
        image: nginx:1
        ports: 80
    foo: 1
    """
    code, findings = lint({"compose.yaml": text})
    hf002 = only(findings, "HF002")
    got = {(f["line"], f["column"]): f["message"] for f in hf002}
    assert set(got) == {(4, 5), (6, 5), (9, 5), (10, 1)}
    assert "`volume`" in got[(4, 5)]
    assert "`restrat`" in got[(6, 5)]
    assert "ports" in got[(9, 5)]
    assert "`foo`" in got[(10, 1)]
    assert {f["service"] for f in hf002} == {"db", "web", None}


def test_hf002_nested_unknown_key(lint):
    text = "services:\n  web:\n    image: nginx:1\n    deploy:\n      resources:\n        limits:\n          cpu: 1\n"
    code, findings = lint({"compose.yaml": text})
    assert [(f["code"], f["line"], f["column"]) for f in findings] == [("HF002", 7, 11)]
    assert "`cpu`" in findings[0]["message"]


def test_hf002_service_not_a_mapping(lint):
    code, findings = lint({"compose.yaml": "services:\n  web: nginx\n"})
    assert [(f["code"], f["line"], f["column"]) for f in findings] == [("HF002", 2, 3)]


def test_hf002_legacy_v1_format(lint):
    text = "db:\n  image: postgres:9.6\nweb:\n  image: nginx\n  links: [db]\n"
    code, findings = lint({"docker-compose.yml": text})
    hf002 = only(findings, "HF002")
    assert len(hf002) == 1
    assert "v1" in hf002[0]["message"] and hf002[0]["line"] == 1
    # the data rules still judge the legacy services
    assert [(f["service"], f["line"]) for f in only(findings, "HF101")] == [("db", 1)]


@pytest.mark.parametrize(
    "content, needle",
    [("", "empty"), ("# just a comment\n", "empty"), ("- a\n- b\n", "not a mapping"), ("hello\n", "not a mapping")],
    ids=["empty", "comment-only", "list", "scalar"],
)
def test_hf002_not_a_compose_mapping(lint, content, needle):
    code, findings = lint({"compose.yaml": content})
    assert code == 1
    assert codes(findings) == ["HF002"]
    assert needle in findings[0]["message"]


def test_hf002_quiet_on_valid_file(lint):
    assert lint({"compose.yaml": "services:\n  web:\n    image: nginx:1\n    ports: ['80:80']\n"}) == (0, [])


# --------------------------------------------------------------------------- HF003


def test_hf003_duplicate_key(lint):
    text = "services:\n  db:\n    image: postgres:16\n    volumes: ['./pg:/var/lib/postgresql/data']\n    image: postgres:17\n"
    code, findings = lint({"compose.yaml": text})
    assert codes(findings) == ["HF003"]
    f = findings[0]
    assert (f["line"], f["column"]) == (5, 5)
    assert "`image`" in f["message"] and "line 3" in f["message"]


def test_hf003_duplicate_service(lint):
    text = "services:\n  web:\n    image: nginx:1\n  web:\n    image: nginx:2\n"
    code, findings = lint({"compose.yaml": text})
    assert [(f["code"], f["line"], f["column"]) for f in findings] == [("HF003", 4, 3)]


def test_hf003_quiet_without_duplicates(lint):
    assert lint({"compose.yaml": "services:\n  a:\n    image: nginx:1\n  b:\n    image: nginx:1\n"}) == (0, [])


# --------------------------------------------------------------------------- selection


def test_ignore_and_select_change_what_runs(lint):
    text = "services:\n  db:\n    image: postgres:alpine\n"
    code, findings = lint({"compose.yaml": text})
    assert sorted(codes(findings)) == ["HF101", "HF104"]
    code, findings = lint({"compose.yaml": text}, "--ignore", "HF101")
    assert codes(findings) == ["HF104"] and code == 0
    code, findings = lint({"compose.yaml": text}, "--select", "HF101")
    assert codes(findings) == ["HF101"] and code == 1
    code, findings = lint({"compose.yaml": text}, "--select", "HF1", "--ignore", "HF10")
    assert findings == []


def test_every_rule_has_a_pass_and_a_fail_case_in_this_file():
    """Keeps this file honest when a rule is added: each code must appear in a test name above."""
    from holdfast.plugins import load_plugins

    source = Path(__file__).read_text(encoding="utf-8")
    # the lint rules of the file-checking families (HF0xx syntax/schema, HF1xx data safety);
    # host rules (HF5xx) need a live engine and are tested with `holdfast inspect`
    builtin = sorted(c for c in load_plugins().rules() if re.fullmatch(r"HF[01]\d\d", c))
    assert {"HF000", "HF001", "HF002", "HF003", "HF101", "HF102", "HF103", "HF104", "HF105"} <= set(builtin)
    missing = [c for c in builtin if f"def test_{c.lower()}_" not in source]
    assert missing == []


# --------------------------------------------------------------------------- HF107 / HF108 (opt-in; more cases in test_rules_catalog.py)


def test_hf107_opt_in_fires_without_stop_grace_and_is_quiet_with_it(lint):
    base = "services:\n  db:\n    image: postgres:16\n    volumes: [./pg:/var/lib/postgresql/data]\n"
    _, findings = lint({"compose.yaml": base}, "--extend-select", "HF107")
    assert [(f["code"], f["line"]) for f in only(findings, "HF107")] == [("HF107", 2)]
    _, findings = lint({"compose.yaml": base + "    stop_grace_period: 1m\n"}, "--extend-select", "HF107")
    assert only(findings, "HF107") == []


def test_hf108_opt_in_fires_for_a_named_volume_without_a_project_name(lint):
    base = "services:\n  db:\n    image: postgres:16\n    volumes: [pg:/var/lib/postgresql/data]\nvolumes:\n  pg:\n"
    _, findings = lint({"compose.yaml": base}, "--extend-select", "HF108")
    assert [(f["code"], f["line"]) for f in only(findings, "HF108")] == [("HF108", 4)]
    _, findings = lint({"compose.yaml": "name: shop\n" + base}, "--extend-select", "HF108")
    assert only(findings, "HF108") == []

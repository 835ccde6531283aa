"""HF107, HF108, HF201-HF206, HF301-HF304, HF401: a case that must fire and one that must not, per rule.

Each case is a small project in a temporary folder linted through the real
command line (`--format json`), so the merged project, interpolation and
suppressions take part exactly as for a user.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from holdfast.cli import main


@pytest.fixture
def lint(tmp_path, monkeypatch, capsys):
    def run(files: dict[str, str], *args: str, config: str = "", select: str = "HF107,HF108,HF2,HF3,HF4"):
        for name, content in {".holdfast.toml": config, **files}.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(content), encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        target = next(n for n in files if n.endswith((".yml", ".yaml")))
        with pytest.raises(SystemExit) as exc:
            main(["lint", "--format", "json", "--no-cache", "--select", select, *args, target])
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        if exc.value.code == 2:
            return 2, err
        return exc.value.code, [f for f in json.loads(out)["findings"] if not f.get("suppressed")]

    return run


def at(findings, code):
    return [(f["line"], f["column"]) for f in findings if f["code"] == code]


# ---------------------------------------------------------------- HF201
def test_hf201_version_reported_at_the_key(lint):
    code, findings = lint({"compose.yaml": 'version: "3.8"\nservices:\n  web:\n    image: nginx:1\n'})
    assert at(findings, "HF201") == [(1, 1)] and code == 0  # a warning does not fail at the default level


def test_hf201_no_version_no_finding(lint):
    _, findings = lint({"compose.yaml": "services:\n  web:\n    image: nginx:1\n"})
    assert at(findings, "HF201") == []


# ---------------------------------------------------------------- HF202
def test_hf202_undefined_volume_and_slash_name(lint):
    code, findings = lint({"compose.yaml": """\
        services:
          db:
            image: postgres:16
            volumes:
              - pgdata:/var/lib/postgresql/data
              - data/pg:/backup
              - ${VOL:-x}:/other
              - type: volume
                source: logs
                target: /logs
        """})
    assert code == 1
    assert at(findings, "HF202") == [(5, 9), (6, 9), (8, 9)]


def test_hf202_declared_in_override_counts(lint):
    _, findings = lint({
        "compose.yaml": "services:\n  db:\n    image: postgres:16\n    volumes: [pgdata:/var/lib/postgresql/data]\n",
        "compose.override.yaml": "volumes:\n  pgdata:\n",
    })
    assert at(findings, "HF202") == []


# ---------------------------------------------------------------- HF203
def test_hf203_each_reference_kind(lint):
    code, findings = lint({"compose.yaml": """\
        services:
          web:
            image: nginx:1
            depends_on: [databse]
            links: ["cache:redis"]
            volumes_from: [store, "container:foreign"]
            network_mode: service:vpn
          dep:
            image: nginx:1
            depends_on:
              missing: {condition: service_started}
        """})
    assert code == 1
    got = sorted(at(findings, "HF203"))
    assert got == [(4, 18), (5, 13), (6, 20), (7, 19), (11, 7)]


def test_hf203_services_from_the_override_and_variables_are_fine(lint):
    _, findings = lint({
        "compose.yaml": "services:\n  web:\n    image: nginx:1\n    depends_on: [db, \"${OTHER}\"]\n    network_mode: \"container:abc\"\n",
        "compose.override.yaml": "services:\n  db:\n    image: postgres:16\n",
    })
    assert at(findings, "HF203") == []


# ---------------------------------------------------------------- HF204
def test_hf204_ranges_protocols_ips_and_long_syntax(lint):
    code, findings = lint({"compose.yaml": """\
        services:
          a:
            image: nginx:1
            ports: ["8080:80", "9000-9005:9000-9005", "53:53/udp", "127.0.0.1:7000:7000"]
          b:
            image: nginx:1
            ports:
              - "8080:8080"
              - "9003:9003"
              - "53:53"
              - "127.0.0.2:7000:7000"
              - target: 80
                published: "8080"
                protocol: udp
          c:
            image: nginx:1
            ports:
              - target: 81
                published: 8080
              - "${PORT}:80"
        """})
    assert code == 1
    assert at(findings, "HF204") == [(8, 9), (9, 9), (18, 9)]


def test_hf204_disjoint_profiles_do_not_clash(lint):
    _, findings = lint({"compose.yaml": """\
        services:
          dev: {image: nginx:1, ports: ["80:80"], profiles: [dev]}
          prod: {image: nginx:1, ports: ["80:80"], profiles: [prod]}
        """})
    assert at(findings, "HF204") == []


# ---------------------------------------------------------------- HF205
def test_hf205_duplicate_container_name_through_extends(lint):
    code, findings = lint({"compose.yaml": """\
        services:
          db:
            image: postgres:16
            container_name: db
          replica:
            extends: db
          other:
            image: nginx:1
            container_name: ${NAME:-db}
        """})
    assert code == 1
    assert at(findings, "HF205") == [(4, 21)]
    assert [f["service"] for f in findings if f["code"] == "HF205"] == ["replica"]


def test_hf205_distinct_names(lint):
    _, findings = lint({"compose.yaml": "services:\n  a: {image: nginx:1, container_name: a}\n  b: {image: nginx:1, container_name: b}\n"})
    assert at(findings, "HF205") == []


# ---------------------------------------------------------------- HF206
def test_hf206_parent_folder_and_sensitive_paths(lint):
    _, findings = lint({"compose.yaml": """\
        services:
          a:
            image: nginx:1
            volumes:
              - ../data:/data
              - /:/host:ro
              - /etc:/host-etc
              - /var/lib/docker/volumes:/v
              - /etc/localtime:/etc/localtime:ro
              - ./sub/../ok:/ok
              - ${HOME}/x:/x
        """})
    assert at(findings, "HF206") == [(5, 9), (6, 9), (7, 9), (8, 9)]


def test_hf206_option_is_validated(lint):
    code, err = lint({"compose.yaml": "services:\n  a: {image: nginx:1}\n"}, config='[rules.HF206]\nsensitive-paths = "nope"\n')
    assert code == 2 and "sensitive-paths" in err


# ---------------------------------------------------------------- HF301
def test_hf301_database_on_all_interfaces(lint):
    code, findings = lint({"compose.yaml": """\
        services:
          db:
            image: postgres:16
            ports: ["5432:5432", "127.0.0.1:5433:5432", "5434", "${PGPORT}:5432", "0.0.0.0:5435:5432"]
          web:
            image: nginx:1
            ports: ["80:80"]
        """})
    assert at(findings, "HF301") == [(4, 13), (4, 49), (4, 75)] and code == 0


def test_hf301_option_validated_and_severity_override(lint):
    code, err = lint({"compose.yaml": "services:\n  a: {image: nginx:1}\n"}, config='[rules.HF301]\nbind-address = "localhost!"\n')
    assert code == 2 and "bind-address" in err
    code, findings = lint({"compose.yaml": "services:\n  db: {image: redis:7, ports: [\"6379:6379\"]}\n"}, config='[severity]\nHF301 = "error"\n')
    assert code == 1 and [f["severity"] for f in findings if f["code"] == "HF301"] == ["error"]


# ---------------------------------------------------------------- HF302 / HF303
def test_hf302_socket_and_hf303_privileged(lint):
    _, findings = lint({"compose.yaml": """\
        x-base: &base
          privileged: true
        services:
          proxy:
            image: traefik:3
            volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
          vpn:
            <<: *base
            image: example/vpn:1
          ok:
            image: nginx:1
            privileged: false
            volumes: ["./docker.sock:/x"]
        """})
    assert at(findings, "HF302") == [(6, 15)]
    assert at(findings, "HF303") == [(2, 3)]  # written at the anchor, reached through the merge key


# ---------------------------------------------------------------- HF304
def test_hf304_literal_secrets_only(lint):
    _, findings = lint({"compose.yaml": """\
        services:
          db:
            image: postgres:16
            environment:
              POSTGRES_PASSWORD: hunter2
              POSTGRES_PASSWORD_FILE: /run/secrets/db
              API_TOKEN: ${API_TOKEN}
              EMPTY_SECRET: ""
              MYSQL_ALLOW_EMPTY_PASSWORD: "yes"
              TOKEN_TTL: "3600"
          app:
            image: nginx:1
            environment:
              - JWT_SECRET=abc123
              - PASSTHROUGH_PASSWORD
        """})
    assert at(findings, "HF304") == [(5, 7), (14, 9)]


# ---------------------------------------------------------------- HF401
def test_hf401_stack_without_placement(lint):
    _, findings = lint({"stack.yml": """\
        services:
          db:
            image: postgres:16
            volumes: [pgdata:/var/lib/postgresql/data]
            deploy:
              replicas: 1
          pinned:
            image: redis:7
            volumes: [./r:/data]
            deploy:
              placement:
                constraints: [node.hostname == db-1]
        volumes:
          pgdata:
        """})
    assert at(findings, "HF401") == [(5, 5)]


def test_hf401_plain_compose_with_resources_is_not_a_stack(lint):
    _, findings = lint({"compose.yaml": """\
        services:
          db:
            image: postgres:16
            volumes: [pgdata:/var/lib/postgresql/data]
            deploy:
              resources: {limits: {memory: 1G}}
              restart_policy: {condition: on-failure}
        volumes:
          pgdata:
        """})
    assert at(findings, "HF401") == []


# ---------------------------------------------------------------- HF107 / HF108
def test_hf107_and_hf108_on_a_database_with_a_named_volume(lint):
    _, findings = lint({"compose.yaml": """\
        services:
          db:
            image: postgres:16
            volumes: [pgdata:/var/lib/postgresql/data]
          cache:
            image: redis:7
            stop_grace_period: 1m
            volumes: [./r:/data]
        volumes:
          pgdata:
        """})
    assert at(findings, "HF107") == [(2, 3)]
    assert at(findings, "HF108") == [(4, 15)]


def test_hf108_not_with_a_name_or_env_or_named_volume(lint):
    base = "services:\n  db:\n    image: postgres:16\n    volumes: [pgdata:/var/lib/postgresql/data]\n"
    _, findings = lint({"compose.yaml": "name: shop\n" + base + "volumes:\n  pgdata:\n"})
    assert at(findings, "HF108") == []
    _, findings = lint({"compose.yaml": base + "volumes:\n  pgdata:\n    name: shop-pg\n"})
    assert at(findings, "HF108") == []
    _, findings = lint({"compose.yaml": base + "volumes:\n  pgdata:\n", ".env": "COMPOSE_PROJECT_NAME=shop\n"})
    assert at(findings, "HF108") == []


def test_hf107_option_validated(lint):
    code, err = lint({"compose.yaml": "services:\n  a: {image: nginx:1}\n"}, config='[rules.HF107]\nstop-grace-period = "5s"\n')
    assert code == 2 and "stop-grace-period" in err


def test_at_least_22_rules(capsys):
    with pytest.raises(SystemExit):
        main(["rules"])
    rows = capsys.readouterr().out.strip().splitlines()[1:]
    assert len(rows) >= 22


def test_hf108_and_hf401_leave_volumes_from_variables_alone(lint):
    body = """\
        services:
          db:
            image: postgres:16
            volumes: ["${PGVOL:-pgdata}:/var/lib/postgresql/data"]
            deploy: {replicas: 1}
        volumes:
          pgdata:
        """
    _, findings = lint({"stack.yml": body})
    assert at(findings, "HF401") == []
    _, findings = lint({"compose.yaml": body}, "--extend-select", "HF108")
    assert at(findings, "HF108") == []
    _, findings = lint({"compose.yaml": body.replace("${PGVOL:-pgdata}", "pgdata")}, "--extend-select", "HF108")
    assert at(findings, "HF108") == [(4, 15)]

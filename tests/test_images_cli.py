"""`holdfast images`: the list of known images and the explanation of one reference."""

from __future__ import annotations

import json

import pytest
from holdfast.cli import main


def run(capsys, monkeypatch, tmp_path, *args: str):
    (tmp_path / ".holdfast.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["images", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return exc.value.code, out, err


def test_list_as_json_counts_families_and_kinds(capsys, monkeypatch, tmp_path):
    code, out, _ = run(capsys, monkeypatch, tmp_path, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["version"] == 1
    summary = data["summary"]
    assert summary["families"] == len(data["images"]) >= 250
    assert summary["by_kind"]["data-store"] + summary["by_kind"]["application"] == summary["families"]
    assert summary["references"] >= summary["families"]
    pg = next(e for e in data["images"] if e["id"] == "postgres")
    assert pg["kind"] == "data-store" and pg["rule"] == "HF101"
    assert {p["path"] for layout in pg["layouts"] for p in layout["paths"]} >= {"/var/lib/postgresql/data"}
    assert all(e["sources"] and e["checked"] for e in data["images"])
    assert any(s["match"] == "library/memcached" for s in data["stateless"])


def test_list_as_a_table_and_by_kind(capsys, monkeypatch, tmp_path):
    code, out, _ = run(capsys, monkeypatch, tmp_path, "--kind", "application")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["id", "kind", "data"]
    assert any(line.startswith("vaultwarden ") and "/data" in line for line in lines)
    assert not any(" data-store " in line for line in lines[1:-1])
    assert lines[-1].endswith("references") and "application" in lines[-1]


def test_explain_says_which_entry_pattern_layout_and_source(capsys, monkeypatch, tmp_path):
    code, out, _ = run(capsys, monkeypatch, tmp_path, "postgres:alpine", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["entry"] == "postgres" and data["matched_pattern"] == "library/postgres"
    assert data["floating"] is True and data["major"] is None
    assert [layout["label"] for layout in data["layouts"]] == ["postgres >= 18", "postgres <= 17"]
    assert "docker-library/postgres" in data["sources"]
    code, out, _ = run(capsys, monkeypatch, tmp_path, "postgres:16", "-e", "PGDATA=/srv/pg")
    assert code == 0 and "/srv/pg" in out and "env PGDATA" in out and "major 16" in out


def test_explain_a_registry_reference_and_a_namespace_fallback(capsys, monkeypatch, tmp_path):
    code, out, _ = run(capsys, monkeypatch, tmp_path, "lscr.io/linuxserver/sonarr:4.0.9")
    assert code == 0
    assert "registry lscr.io" in out and "linuxserver/*" in out and "HF106" in out and "/config" in out
    code, out, _ = run(capsys, monkeypatch, tmp_path, "container-registry.oracle.com/database/free:23.5.0.0", "--format", "json")
    data = json.loads(out)
    assert data["reference"]["registry"] == "container-registry.oracle.com" and data["kind"] == "data-store"
    assert data["layouts"][0]["paths"][0]["path"] == "/opt/oracle/oradata"


def test_explain_with_a_command_moves_the_path(capsys, monkeypatch, tmp_path):
    code, out, _ = run(capsys, monkeypatch, tmp_path, "redis:7", "--command", "redis-server --dir /srv/r", "--format", "json")
    data = json.loads(out)
    assert data["layouts"][0]["paths"][0] == {"path": "/srv/r", "mount": "/srv/r", "role": "data", "origin": "flag --dir"}


def test_unknown_and_stateless_references(capsys, monkeypatch, tmp_path):
    code, out, _ = run(capsys, monkeypatch, tmp_path, "example/unknown-thing:1")
    assert code == 1 and "not known" in out
    code, out, _ = run(capsys, monkeypatch, tmp_path, "memcached:1.6", "--format", "json")
    assert code == 0 and json.loads(out)["stateless"] == "memcached is an in-memory cache"


def test_user_configuration_entries_are_listed(capsys, monkeypatch, tmp_path):
    (tmp_path / "holdfast.toml").write_text('[images.acme]\nmatch = ["acme/db"]\ndata-paths = ["/srv/acme"]\n')
    code, out, _ = run(capsys, monkeypatch, tmp_path, "acme/db:2", "--config", str(tmp_path / "holdfast.toml"), "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["entry"] == "acme" and data["checked"] == "configuration"


def test_bad_env_is_a_usage_error(capsys, monkeypatch, tmp_path):
    code, _, err = run(capsys, monkeypatch, tmp_path, "postgres", "-e", "NOEQUALS")
    assert code == 2 and "NAME=VALUE" in err


@pytest.mark.parametrize("ref", ["\x1b[31m", "a@sha256:zz", "a::b", "a b", "post gres:16", "a/../b", "A:"])
def test_malformed_reference_is_one_escaped_line(capsys, monkeypatch, tmp_path, ref):
    code, out, err = run(capsys, monkeypatch, tmp_path, ref)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "is not an image reference" in err
    assert "\x1b" not in err


@pytest.mark.parametrize("ref", ["localhost:5000/Team/app:1", "ghcr.io/immich-app/postgres:14-vectorchord0.3.0", "x@sha256:" + "ab" * 32])
def test_well_formed_references_are_explained(capsys, monkeypatch, tmp_path, ref):
    code, out, _ = run(capsys, monkeypatch, tmp_path, ref)
    assert code in (0, 1) and out.startswith(ref)

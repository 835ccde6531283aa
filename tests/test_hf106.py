"""HF106 app-data-not-persisted: self-hosted applications' uploads, configuration and state."""

from __future__ import annotations

import json

import pytest
from holdfast.cli import main


def run(capsys, monkeypatch, tmp_path, compose: str, *args: str, command: str = "lint"):
    (tmp_path / ".holdfast.toml").write_text("")
    (tmp_path / "compose.yaml").write_text(compose)
    monkeypatch.chdir(tmp_path)
    argv = [command, *args, "compose.yaml"] if command == "fix" else ["lint", "--format", "json", *args, "compose.yaml"]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return exc.value.code, (json.loads(out)["findings"] if command == "lint" else out)


@pytest.mark.parametrize(
    "image, path",
    [
        ("vaultwarden/server:1.32.0", "/data"),
        ("nextcloud:29-apache", "/var/www/html"),
        ("gitea/gitea:1.22", "/data"),
        ("ghcr.io/immich-app/immich-server:v1.140.0", "/data"),
        ("lscr.io/linuxserver/jellyfin:10.9.9", "/config"),
        ("grafana/grafana:11.1.0", "/var/lib/grafana"),
        ("ghcr.io/paperless-ngx/paperless-ngx:2.11", "/usr/src/paperless/data"),
    ],
)
def test_hf106_reports_unpersisted_application_data(capsys, monkeypatch, tmp_path, image, path):
    code, findings = run(capsys, monkeypatch, tmp_path, f"services:\n  app:\n    image: {image}\n")
    assert [f["code"] for f in findings] == ["HF106"], findings
    f = findings[0]
    assert f["severity"] == "warning" and f["name"] == "app-data-not-persisted"
    assert path in f["message"] and (f["line"], f["column"]) == (2, 3)
    assert code == 0  # a warning does not fail the default fail level


def test_hf106_anonymous_volume_counts_as_lost(capsys, monkeypatch, tmp_path):
    code, findings = run(capsys, monkeypatch, tmp_path, "services:\n  cloud:\n    image: nextcloud:29\n    volumes:\n      - /var/www/html\n")
    assert [f["code"] for f in findings] == ["HF106"] and "anonymous volume" in findings[0]["message"]


@pytest.mark.parametrize(
    "compose",
    [
        "services:\n  vw:\n    image: vaultwarden/server:1.32.0\n    volumes:\n      - vw:/data\nvolumes:\n  vw: {}\n",
        "services:\n  im:\n    image: ghcr.io/immich-app/immich-server:v1.100.0\n    volumes:\n      - ./up:/usr/src/app/upload\n",
        "services:\n  wp:\n    image: wordpress:cli\n",
        "services:\n  ui:\n    image: lscr.io/linuxserver/ffmpeg:7.0\n",
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n",
    ],
)
def test_hf106_quiet_when_persisted_or_not_an_application(capsys, monkeypatch, tmp_path, compose):
    assert run(capsys, monkeypatch, tmp_path, compose) == (0, [])


def test_a_data_store_is_hf101_not_hf106(capsys, monkeypatch, tmp_path):
    code, findings = run(capsys, monkeypatch, tmp_path, "services:\n  db:\n    image: mariadb:11\n  vw:\n    image: vaultwarden/server:1.32.0\n")
    assert sorted((f["service"], f["code"]) for f in findings) == [("db", "HF101"), ("vw", "HF106")]


def test_hf106_can_be_made_an_error_and_ignored(capsys, monkeypatch, tmp_path):
    compose = "services:\n  vw:\n    image: vaultwarden/server:1.32.0\n"
    (tmp_path / "cfg.toml").write_text('[severity]\nHF106 = "error"\n')
    code, findings = run(capsys, monkeypatch, tmp_path, compose, "--config", str(tmp_path / "cfg.toml"))
    assert code == 1 and findings[0]["severity"] == "error"
    code, findings = run(capsys, monkeypatch, tmp_path, compose, "--ignore", "HF106")
    assert (code, findings) == (0, [])


def test_fix_adds_the_mount_like_hf101(capsys, monkeypatch, tmp_path):
    compose = "services:\n  vw:\n    image: vaultwarden/server:1.32.0\n    # keep the vault\n    ports: ['8080:80']\n"
    run(capsys, monkeypatch, tmp_path, compose, command="fix")
    fixed = (tmp_path / "compose.yaml").read_text()
    assert "./data/vw:/data" in fixed and "# keep the vault" in fixed
    assert run(capsys, monkeypatch, tmp_path, fixed) == (0, [])


def test_maybe_stateful_application_only_with_the_option(capsys, monkeypatch, tmp_path):
    compose = "services:\n  web:\n    image: ghcr.io/mastodon/mastodon:v4.2.0\n"
    assert run(capsys, monkeypatch, tmp_path, compose) == (0, [])
    (tmp_path / "cfg.toml").write_text('[rules.HF106]\nmaybe-stateful = true\n')
    code, findings = run(capsys, monkeypatch, tmp_path, compose, "--config", str(tmp_path / "cfg.toml"))
    assert [f["code"] for f in findings] == ["HF106"] and "/mastodon/public/system" in findings[0]["message"]


def test_a_mount_beside_the_application_data_is_still_reported(capsys, monkeypatch, tmp_path):
    compose = "services:\n  cloud:\n    image: nextcloud:29\n    volumes:\n      - ./data:/var/www/html/data\n"
    code, findings = run(capsys, monkeypatch, tmp_path, compose)
    assert [f["code"] for f in findings] == ["HF106"] and "/var/www/html " in findings[0]["message"]

"""Which Compose runs the recreate, and how it is addressed (v2 first, then v1)."""

from __future__ import annotations

from holdfast.apply.compose import ComposeFailed, ComposeProject, detect_cli


def _fake_bin(folder, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_docker_compose_v2_is_preferred(tmp_path, monkeypatch):
    _fake_bin(tmp_path, "docker", 'if [ "$1 $2" = "compose version" ]; then echo 2.29.7; exit 0; fi; exit 1\n')
    _fake_bin(tmp_path, "docker-compose", "echo 1.29.2\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    cli = detect_cli(None)
    assert cli is not None and cli.argv == ("docker", "compose") and cli.version == "2.29.7" and not cli.v1


def test_falls_back_to_docker_compose_v1(tmp_path, monkeypatch):
    _fake_bin(tmp_path, "docker", "echo \"docker: 'compose' is not a docker command.\" >&2; exit 1\n")
    _fake_bin(tmp_path, "docker-compose", "echo 1.29.2\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    cli = detect_cli(None)
    assert cli is not None and cli.argv == ("docker-compose",) and cli.v1


def test_no_compose_at_all(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert detect_cli(None) is None


def test_project_argv_uses_the_labels_name_files_and_env_file(tmp_path):
    from holdfast.apply.compose import ComposeCLI

    project = ComposeProject(ComposeCLI(("docker-compose",), "1.29.2"), "mastodon", "/srv/m", ["/srv/m/docker-compose.yml", "/srv/m/override.yml"], "/srv/m/.env.prod")
    assert project.argv("up", "-d", "db") == [
        "docker-compose", "-p", "mastodon", "--project-directory", "/srv/m",
        "-f", "/srv/m/docker-compose.yml", "-f", "/srv/m/override.yml", "--env-file", "/srv/m/.env.prod", "up", "-d", "db",
    ]
    assert ComposeFailed("x", "Error: Bind for 0.0.0.0:5432 failed: port is already allocated").port_taken
    assert not ComposeFailed("x", "no such image").port_taken

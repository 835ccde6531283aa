"""Which file `holdfast fix` edits in a multi-file project (issue 9, item 4).

A fix goes into the file Compose loads that holds the service: `--to-override`
edits the override Compose already loads, whatever its name, and never creates
a second one; a service that comes from an `include`d file is fixed there. A fix
that is not applied says why. Where the Compose v2 CLI is installed, its own
`config` output confirms that the result is what Compose runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MYSQL = "services:\n  db:\n    image: mysql:8.0\n  web:\n    image: nginx:1.27\n"


def holdfast(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "holdfast", *args], check=False, cwd=cwd, capture_output=True, text=True, timeout=120)


def compose_config(cwd: Path) -> dict | None:
    """`docker compose config --format json` of the folder's default project, or None without Compose v2."""
    if shutil.which("docker") is None:
        return None
    result = subprocess.run(["docker", "compose", "config", "--format", "json"], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        if "is not a docker command" in result.stderr or "unknown" in result.stderr.lower() and "compose" in result.stderr:
            return None
        raise AssertionError(f"docker compose config failed: {result.stderr}")
    return json.loads(result.stdout)


def binds(config: dict | None, service: str) -> dict[str, str]:
    if config is None:
        return {}
    return {v["target"]: v["source"] for v in config["services"][service].get("volumes", []) if v["type"] == "bind"}


def test_to_override_keeps_an_existing_docker_compose_override_beside_compose_yaml(tmp_path: Path) -> None:
    """The issue's case: compose.yaml + docker-compose.override.yml that already persists the database."""
    (tmp_path / "compose.yaml").write_text(MYSQL)
    override = "services:\n  db:\n    volumes:\n      - ./mysql:/var/lib/mysql\n  web:\n    ports: ['8080:80']\n"
    (tmp_path / "docker-compose.override.yml").write_text(override)
    result = holdfast("fix", "--to-override", cwd=tmp_path)
    assert not (tmp_path / "compose.override.yaml").exists(), result.stdout
    assert (tmp_path / "docker-compose.override.yml").read_text() == override
    assert "HF101" not in result.stdout
    config = compose_config(tmp_path)
    if config is not None:
        assert binds(config, "db") == {"/var/lib/mysql": str(tmp_path / "mysql")}


def test_to_override_edits_the_override_compose_loads_whatever_its_name(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(MYSQL)
    override = "# ours\nservices:\n  web:\n    ports: ['8080:80']\n"
    (tmp_path / "docker-compose.override.yml").write_text(override)
    result = holdfast("fix", "--to-override", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compose.yaml", "docker-compose.override.yml"]
    assert (tmp_path / "compose.yaml").read_text() == MYSQL
    text = (tmp_path / "docker-compose.override.yml").read_text()
    assert text.startswith(override)  # the user's override is kept, the mount appended
    assert "./data/db:/var/lib/mysql" in text
    assert "docker-compose.override.yml: fixed HF101 in service db" in result.stdout
    assert holdfast("lint", "-f", "compose.yaml", "-f", "docker-compose.override.yml", cwd=tmp_path).returncode == 0
    config = compose_config(tmp_path)
    if config is not None:
        assert binds(config, "db") == {"/var/lib/mysql": str(tmp_path / "data" / "db")}
        assert config["services"]["web"]["ports"][0]["published"] == "8080"


def test_to_override_follows_composes_precedence_among_several_overrides(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(MYSQL)
    (tmp_path / "compose.override.yml").write_text("services:\n  web:\n    ports: ['8080:80']\n")
    (tmp_path / "docker-compose.override.yml").write_text("services:\n  web:\n    ports: ['9090:80']\n")
    result = holdfast("fix", "--to-override", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/var/lib/mysql" in (tmp_path / "compose.override.yml").read_text()
    assert "/var/lib/mysql" not in (tmp_path / "docker-compose.override.yml").read_text()
    assert "ignores docker-compose.override.yml" in result.stdout + result.stderr
    config = compose_config(tmp_path)
    if config is not None:
        assert binds(config, "db") == {"/var/lib/mysql": str(tmp_path / "data" / "db")}


def test_to_override_with_explicit_files_edits_the_last_one(tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text(MYSQL)
    (tmp_path / "prod.yml").write_text("services:\n  web:\n    restart: always\n")
    result = holdfast("fix", "--to-override", "-f", "base.yml", "-f", "prod.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.yml", "prod.yml"]
    assert (tmp_path / "base.yml").read_text() == MYSQL
    assert "./data/db:/var/lib/mysql" in (tmp_path / "prod.yml").read_text()


def _included(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "compose.yaml").write_text("include:\n  - db/compose.yaml\nservices:\n  web:\n    image: nginx:1.27\n")
    (tmp_path / "db" / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n")


def test_fix_of_an_included_service_edits_the_included_file(tmp_path: Path) -> None:
    """The issue's case: `holdfast fix` said "Nothing to fix (1 would remain)"; only `fix db/compose.yaml` worked."""
    _included(tmp_path)
    result = holdfast("fix", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "db/compose.yaml: fixed HF101 in service db" in result.stdout
    assert (tmp_path / "compose.yaml").read_text().startswith("include:")
    assert "./data/db:/var/lib/postgresql/data" in (tmp_path / "db" / "compose.yaml").read_text()
    assert holdfast("lint", cwd=tmp_path).returncode == 0
    config = compose_config(tmp_path)
    if config is not None:  # relative to the included file's folder, as Compose resolves it
        assert binds(config, "db") == {"/var/lib/postgresql/data": str(tmp_path / "db" / "data" / "db")}


def test_fix_diff_of_an_included_service_shows_the_included_file(tmp_path: Path) -> None:
    _included(tmp_path)
    result = holdfast("fix", "--diff", cwd=tmp_path)
    assert result.returncode == 1
    assert "+++ db/compose.yaml" in result.stdout
    assert "Would fix 1 problem (0 would remain)." in result.stderr
    assert "postgresql" not in (tmp_path / "db" / "compose.yaml").read_text().split("image")[1].split("\n", 1)[1]


def test_to_override_of_an_included_service_goes_into_the_override(tmp_path: Path) -> None:
    _included(tmp_path)
    result = holdfast("fix", "--to-override", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "db" / "compose.yaml").read_text() == "services:\n  db:\n    image: postgres:16\n"
    assert "/var/lib/postgresql/data" in (tmp_path / "compose.override.yaml").read_text()
    config = compose_config(tmp_path)
    if config is not None:
        assert binds(config, "db") == {"/var/lib/postgresql/data": str(tmp_path / "data" / "db")}


def test_a_fix_that_is_not_applied_says_why(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:18\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n")
    result = holdfast("fix", cwd=tmp_path)
    assert result.returncode == 1
    assert "did not fix HF105 in service db: the fix is unsafe (run with --unsafe-fixes to apply it)" in result.stdout


@pytest.mark.parametrize("extends_file", [True, False])
def test_fix_of_an_extending_service_edits_the_service_not_the_shared_base(tmp_path: Path, extends_file: bool) -> None:
    """A base service in another file may be shared: the fix goes where the service itself is written."""
    if extends_file:
        (tmp_path / "common.yml").write_text("services:\n  pg:\n    image: postgres:16\n")
        extends = "      file: common.yml\n      service: pg\n"
    else:
        extends = "      service: pg\n"
    main = "services:\n  db:\n    extends:\n" + extends
    if not extends_file:
        main += "  pg:\n    image: postgres:16\n    profiles: [never]\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n"
    (tmp_path / "compose.yaml").write_text(main)
    result = holdfast("fix", cwd=tmp_path)
    text = (tmp_path / "compose.yaml").read_text()
    if extends_file:
        assert result.returncode == 0, result.stdout + result.stderr
        assert (tmp_path / "common.yml").read_text() == "services:\n  pg:\n    image: postgres:16\n"
        assert "./data/db:/var/lib/postgresql/data" in text
    else:  # the base already persists it: nothing to do
        assert result.returncode == 0 and text == main


def test_to_override_never_edits_an_override_compose_ignores(tmp_path: Path) -> None:
    """docker-compose.yml + docker-compose.override.yml + compose.override.yml: Compose v2 loads the last one."""
    (tmp_path / "docker-compose.yml").write_text(MYSQL)
    ignored = "services:\n  web:\n    ports: ['9090:80']\n"
    (tmp_path / "docker-compose.override.yml").write_text(ignored)
    (tmp_path / "compose.override.yml").write_text("services:\n  web:\n    ports: ['8080:80']\n")
    result = holdfast("fix", "--to-override", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "docker-compose.override.yml").read_text() == ignored
    assert "./data/db:/var/lib/mysql" in (tmp_path / "compose.override.yml").read_text()
    config = compose_config(tmp_path)
    if config is not None:
        assert binds(config, "db") == {"/var/lib/mysql": str(tmp_path / "data" / "db")}

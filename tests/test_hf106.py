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


@pytest.mark.docker
@pytest.mark.slow
def test_live_rescue_moves_application_data_into_the_new_mount(images, tmp_path, monkeypatch):
    """An application (here the local redis stand-in, declared `kind = "application"` by the user) whose data
    is in the image's anonymous volume: `plan` picks up HF106, `apply` moves the files into the bind mount."""
    import io
    import subprocess
    import uuid

    from holdfast.apply.cli import make_plans, run_apply
    from holdfast.apply.console import Console
    from holdfast.apply.host import Engine
    from holdfast.cli import build_config

    def sh(*argv: str, check: bool = True) -> str:
        result = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=300)
        assert not check or result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
        return result.stdout

    monkeypatch.setenv("HOLDFAST_COMPOSE", "v2")
    name = "hf-hf106-" + uuid.uuid4().hex[:8]
    folder = tmp_path / name
    folder.mkdir()
    (folder / "compose.yaml").write_text("services:\n  app:\n    image: redis:alpine\n", encoding="utf-8")
    (folder / ".holdfast.toml").write_text('[images.notes-app]\nmatch = ["redis"]\ndata-paths = ["/data"]\nkind = "application"\n')
    compose = ["docker", "compose", "-p", name]
    engine = Engine.connect()
    volumes: list[str] = []
    try:
        sh(*compose, "up", "-d")
        container = sh("docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={name}").split()[0]
        sh("docker", "exec", container, "sh", "-c", "mkdir -p /data/uploads && echo kept > /data/uploads/note.txt")
        volumes += [m["Name"] for m in json.loads(sh("docker", "inspect", container))[0]["Mounts"] if m.get("Name")]
        config = build_config((str(folder),), None, None, None, None)
        plans, notes = make_plans((str(folder),), (), config, engine)
        assert len(plans) == 1, notes
        assert plans[0].service("app").codes == ["HF106"]
        console = Console(out=io.StringIO(), err=io.StringIO(), interactive=False)
        assert run_apply(plans[0], engine=engine, backup_dir=str(tmp_path / "backup"), yes=True, console=console) == 0, console.out.getvalue() + console.err.getvalue()
        assert (folder / "data" / "app" / "uploads" / "note.txt").read_text() == "kept\n"
        [facts] = engine.project_containers(name, "app", oneoff=False)
        assert [(m.type, m.destination) for m in facts.mounts] == [("bind", "/data")]
    finally:
        sh(*compose, "down", "-v", check=False)
        for volume in volumes:
            sh("docker", "volume", "rm", volume, check=False)


class _FakeEngine:
    """image_id / image_config as the real Engine answers them (for a fast unit test)."""

    def __init__(self, images: dict[str, dict]):
        self.images = images

    def image_id(self, ref: str):
        return f"sha256:{abs(hash(ref)):064d}"[:71] if ref in self.images else None

    def image_config(self, image_id: str):
        return next(cfg for ref, cfg in self.images.items() if self.image_id(ref) == image_id)


def test_engine_facts_derive_an_entry_for_an_unknown_image_with_a_data_volume():
    from holdfast.apply.image_facts import with_engine_facts
    from holdfast.knowledge import default_knowledge

    engine = _FakeEngine({
        "acme/notes:3": {"Volumes": {"/srv/notes": {}, "/tmp": {}}, "Env": ["PATH=/bin"], "User": "1000"},
        "acme/proxy:1": {"Volumes": {"/var/log/proxy": {}, "/var/cache/proxy": {}}},
        "postgres:16": {"Volumes": {"/var/lib/postgresql/data": {}}},
    })
    knowledge, notes = with_engine_facts(default_knowledge(), engine, ["acme/notes:3", "acme/proxy:1", "postgres:16", "absent/image:1"])
    r = knowledge.resolve("acme/notes:3")
    assert r is not None and r.category == "application" and r.user == "1000"
    assert [d.path for d in r.layouts[0].data_paths] == ["/srv/notes"]
    assert "docker image inspect acme/notes:3" in r.sources
    assert knowledge.resolve("acme/proxy:1") is None  # only log and cache VOLUMEs
    assert knowledge.match("postgres:16").id == "postgres"  # known images keep their entry
    assert len(notes) == 1 and "/srv/notes" in notes[0]


@pytest.mark.docker
@pytest.mark.slow
def test_plan_moves_the_data_of_an_unknown_image_from_its_declared_volume(images, tmp_path, monkeypatch):
    """An image holdfast does not know (committed locally from the redis stand-in with VOLUME /srv/store):
    `plan` reads its VOLUME from the engine, HF106 applies, `apply` moves the data into the bind."""
    import io
    import subprocess
    import uuid

    from holdfast.apply.cli import make_plans, run_apply
    from holdfast.apply.console import Console
    from holdfast.apply.host import Engine
    from holdfast.cli import build_config

    def sh(*argv: str, check: bool = True) -> str:
        result = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=300)
        assert not check or result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
        return result.stdout

    monkeypatch.setenv("HOLDFAST_COMPOSE", "v2")
    tag = uuid.uuid4().hex[:8]
    name, image = f"hf-enginefacts-{tag}", f"hf-test-unknown-{tag}:1"
    folder = tmp_path / name
    folder.mkdir()
    base = ""
    compose = ["docker", "compose", "-p", name]
    engine = Engine.connect()
    volumes: list[str] = []
    try:
        base = sh("docker", "create", "redis:alpine").strip()
        sh("docker", "commit", "--change", 'VOLUME ["/srv/store"]', base, image)
        (folder / "compose.yaml").write_text(f"services:\n  store:\n    image: {image}\n", encoding="utf-8")
        (folder / ".holdfast.toml").write_text("")
        sh(*compose, "up", "-d")
        container = sh("docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={name}").split()[0]
        sh("docker", "exec", container, "sh", "-c", "echo kept > /srv/store/state.txt")
        volumes += [m["Name"] for m in json.loads(sh("docker", "inspect", container))[0]["Mounts"] if m.get("Name")]
        config = build_config((str(folder),), None, None, None, None)
        plans, notes = make_plans((str(folder),), (), config, engine)
        assert len(plans) == 1, notes
        assert any("declares VOLUME /data /srv/store" in n for n in notes), notes  # redis:alpine's own VOLUME too
        assert plans[0].service("store").codes == ["HF106"]
        console = Console(out=io.StringIO(), err=io.StringIO(), interactive=False)
        assert run_apply(plans[0], engine=engine, backup_dir=str(tmp_path / "backup"), yes=True, console=console) == 0, console.out.getvalue() + console.err.getvalue()
        [kept] = list((folder / "data").rglob("state.txt"))
        assert kept.read_text() == "kept\n"
        [facts] = engine.project_containers(name, "store", oneoff=False)
        assert sorted((m.type, m.destination) for m in facts.mounts) == [("bind", "/data"), ("bind", "/srv/store")]
    finally:
        sh(*compose, "down", "-v", check=False)
        for volume in volumes:
            sh("docker", "volume", "rm", volume, check=False)
        if base:
            sh("docker", "rm", base, check=False)
        sh("docker", "rmi", image, check=False)

"""Application data on an anonymous `volumes:` entry (HF106), for known images and for images known only by
the VOLUME the engine says they declare: the entry is replaced in place (HF102's fix), `plan` moves the data
that is on the volume into the new bind, and a live container still blocks the plain `fix`."""

from __future__ import annotations

from pathlib import Path

from holdfast.apply.planner import Planner
from holdfast.config import Config
from holdfast.discovery import ProjectFiles
from holdfast.document import ComposeDocument
from holdfast.engine import Linter
from holdfast.fixing import DATA_CODES, FixSession
from test_plan_fakes import FakeEngine, attrs, volume

VOL_APP = "9" * 64
APP_IMAGE = "sha256:" + "c" * 64
VW = "services:\n  vw:\n    image: vaultwarden/server:1.32.0\n    volumes:\n      - /data\n"


class EngineWithImages(FakeEngine):
    """The fake engine plus `docker image inspect` configs (what `apply.image_facts` reads)."""

    configs: dict[str, dict] = {}

    def image_config(self, image_id: str) -> dict:
        return self.configs[image_id]


def project(tmp_path: Path, text: str, name: str) -> tuple[Path, ProjectFiles]:
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "docker-compose.yml"
    path.write_text(text, encoding="utf-8")
    return folder, ProjectFiles([str(path)], {str(path)}, str(folder))


def fix(text: str, tmp_path: Path, **options) -> tuple[str, list]:
    (tmp_path / "compose.yaml").write_text(text)
    document = ComposeDocument.from_path(str(tmp_path / "compose.yaml"), display="compose.yaml")
    outcome = FixSession(Linter(Config()), [document], {"compose.yaml"}, project_dir=str(tmp_path), options=options).run()
    new = outcome.changes[0].new_bytes.decode() if outcome.changes else text
    return new, outcome


def test_app_data_on_an_anonymous_entry_is_reported_there_and_replaced_in_place(tmp_path):
    linted = Linter(Config()).lint_documents([ComposeDocument("compose.yaml", VW)], {"compose.yaml"}).findings
    [finding] = [f for f in linted if f.code.startswith("HF1")]
    assert (finding.code, finding.line, finding.data["anonymous_target"]) == ("HF106", 5, "/data")
    assert finding.fix is not None and "Replace the anonymous volume at /data" in finding.fix.title
    new, outcome = fix(VW, tmp_path)
    assert new == VW.replace("- /data", "- ./data/vw:/data")  # one line changed, nothing else
    assert [a.finding.code for a in outcome.applied] == ["HF106"]


def test_app_data_fix_is_refused_while_the_container_holds_the_data(tmp_path):
    assert "HF106" in DATA_CODES
    why = "its container p-vw-1 is running (Vaultwarden) with the data in an anonymous volume; run `holdfast fix --apply`"
    new, outcome = fix(VW + "  plain:\n    image: vaultwarden/server:1.32.0\n", tmp_path, blocked={"vw": why})
    assert [(f.service, reason) for f, reason in outcome.refused] == [("vw", why)]
    assert "- /data\n" in new and [a.finding.service for a in outcome.applied] == ["plain"]
    assert next(f for f in outcome.remaining if f.service == "vw").fix is None


def test_plan_moves_app_data_from_the_anonymous_entry_into_the_bind(tmp_path):
    folder, files = project(tmp_path, VW, "vaultapp")
    engine = FakeEngine()
    engine.add(attrs("d" * 64, project="vaultapp", service="vw", image_ref="vaultwarden/server:1.32.0", image_id=APP_IMAGE, working_dir=str(folder), config_files="docker-compose.yml", mounts=[volume(VOL_APP, "/data")], cmd=["/start.sh"]))
    outcome = Planner(engine, Config()).plan(files)
    assert outcome.plan is not None, outcome.notes
    service = outcome.plan.service("vw")
    [move] = service.moves
    assert service.codes == ["HF106"]
    assert (move.mount_target, move.storage, move.volume, move.bind_spec) == ("/data", "anonymous-volume", VOL_APP, "./data/vw")
    [change] = outcome.plan.changes
    assert change.new_bytes.decode() == VW.replace("- /data", "- ./data/vw:/data")


def test_plan_moves_the_data_of_an_image_known_only_by_its_declared_volume(tmp_path):
    text = "services:\n  app:\n    image: acme/notes:3\n    volumes:\n      - /srv/appdata\n"
    folder, files = project(tmp_path, text, "notesapp")
    engine = EngineWithImages()
    engine.configs = {APP_IMAGE: {"Volumes": {"/srv/appdata": {}}, "Cmd": ["notes-server"]}}
    engine.add(attrs("e" * 64, project="notesapp", service="app", image_ref="acme/notes:3", image_id=APP_IMAGE, working_dir=str(folder), config_files="docker-compose.yml", mounts=[volume(VOL_APP, "/srv/appdata")], cmd=["notes-server"]))
    outcome = Planner(engine, Config()).plan(files)
    assert outcome.plan is not None, outcome.notes
    assert any("declares VOLUME /srv/appdata" in n for n in outcome.notes)
    service = outcome.plan.service("app")
    [move] = service.moves
    assert service.codes == ["HF106"] and (move.storage, move.volume, move.mount_target) == ("anonymous-volume", VOL_APP, "/srv/appdata")
    [change] = outcome.plan.changes
    assert change.new_bytes.decode() == text.replace("- /srv/appdata", "- ./data/app:/srv/appdata")


def _fix_cli(tmp_path: Path, *args: str, **env: str):
    import os
    import subprocess
    import sys

    (tmp_path / "compose.yaml").write_text(VW)
    environ = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "holdfast", "fix", *args, "compose.yaml"], cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120, check=False)


def test_fix_engine_and_no_engine_exclude_each_other(tmp_path):
    result = _fix_cli(tmp_path, "--engine", "--no-engine")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--engine" in result.stderr
    assert (tmp_path / "compose.yaml").read_text() == VW


def test_fix_engine_without_an_engine_is_one_line_exit_2(tmp_path):
    result = _fix_cli(tmp_path, "--engine", DOCKER_HOST="tcp://127.0.0.1:1")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "--engine: no Docker engine answers at tcp://127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr and (tmp_path / "compose.yaml").read_text() == VW


# ------------------------------------------------- derivatives: told by their Env, judged as their base
def _knowledge_with(images: dict[str, dict]):
    from holdfast.apply.image_facts import with_engine_facts
    from holdfast.knowledge import default_knowledge

    engine = EngineWithImages()
    engine.configs = {}
    for n, (ref, config) in enumerate(images.items()):
        image_id = f"sha256:{n:064d}"
        engine.images[ref] = image_id
        engine.configs[image_id] = config
    return with_engine_facts(default_knowledge(), engine, list(images))


def test_a_derivative_is_its_base_with_the_image_env_applied():
    knowledge, notes = _knowledge_with({
        "team/pg-custom:2": {"Env": ["PG_MAJOR=16", "PGDATA=/srv/pg"], "Volumes": {"/var/lib/postgresql/data": {}}},
        "team/pg18:latest": {"Env": ["PG_MAJOR=18", "PGDATA=/var/lib/postgresql/18/docker"], "Volumes": {"/var/lib/postgresql": {}}},
        "team/redis-plus:1": {"Env": ["REDIS_VERSION=7.2.4"], "Volumes": {"/data": {}, "/srv/store": {}}},
    })
    custom = knowledge.resolve("team/pg-custom:2")
    assert custom.category == "data-store" and custom.title == "PostgreSQL" and custom.probe == "postgres"
    assert [d.path for d in custom.layouts[0].data_paths] == ["/srv/pg"]
    assert [d.path for d in knowledge.resolve("team/pg18:latest").layouts[0].data_paths] == ["/var/lib/postgresql/18/docker"]
    assert [d.path for d in knowledge.resolve("team/pg-custom:2", env={"PGDATA": "/elsewhere"}).layouts[0].data_paths] == ["/elsewhere"]  # the service's env still wins
    # a VOLUME of its own that the base does not declare: its VOLUMEs say more than the base does
    plus = knowledge.resolve("team/redis-plus:1")
    assert plus.category == "application" and [d.path for d in plus.layouts[0].data_paths] == ["/data", "/srv/store"]
    assert any("env PG_MAJOR (built on PostgreSQL)" in n for n in notes) and any("declares VOLUME /data /srv/store" in n for n in notes)


def test_lint_reports_the_derivative_at_the_path_its_image_env_sets():
    knowledge, _ = _knowledge_with({"team/pg-custom:2": {"Env": ["PG_MAJOR=16", "PGDATA=/srv/pg"], "Volumes": {"/var/lib/postgresql/data": {}}}})
    linter = Linter(Config())
    linter._knowledge = knowledge
    text = "services:\n  db:\n    image: team/pg-custom:2\n"
    [finding] = [f for f in linter.lint_documents([ComposeDocument("compose.yaml", text)], {"compose.yaml"}).findings if f.code.startswith("HF1")]
    assert finding.code == "HF101" and finding.data["data_paths"] == ["/srv/pg"]


def test_plan_moves_a_derivative_data_from_where_its_image_env_puts_it(tmp_path):
    from test_plan_fakes import make_tar

    text = "services:\n  db:\n    image: team/pg-custom:2\n"
    folder, files = project(tmp_path, text, "custompg")
    engine = EngineWithImages()
    engine.configs = {APP_IMAGE: {"Env": ["PG_MAJOR=16", "PGDATA=/srv/pg"], "Volumes": {"/var/lib/postgresql/data": {}}, "Cmd": ["postgres"]}}
    raw = attrs("f" * 64, project="custompg", service="db", image_ref="team/pg-custom:2", image_id=APP_IMAGE, working_dir=str(folder), config_files="docker-compose.yml", env={"PG_MAJOR": "16", "PGDATA": "/srv/pg"}, mounts=[volume(VOL_APP, "/var/lib/postgresql/data")], cmd=["postgres"])
    engine.add(raw, {"/srv/pg": make_tar("pg", {"PG_VERSION": b"16\n"})})
    outcome = Planner(engine, Config()).plan(files)
    assert outcome.plan is not None, outcome.notes
    service = outcome.plan.service("db")
    [move] = service.moves
    assert service.codes == ["HF101"] and (move.mount_target, move.storage) == ("/srv/pg", "container-layer")
    [change] = outcome.plan.changes
    assert ":/srv/pg" in change.new_bytes.decode()

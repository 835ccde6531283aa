"""Live-host pins through the fix engine: `options["pins"]` (image) and `options["hostnames"]` (hostname).

`holdfast plan` asks `fix_project` for them together with the mount fix; the
edits are minimal, keep the author's style, and are verified to change exactly
those keys.
"""

from __future__ import annotations

from pathlib import Path

from holdfast.config import Config
from holdfast.document import ComposeDocument
from holdfast.fixing import MountIntent, fix_project, fix_project_outcome, verify_change
from support import SEED

PLAN_CODES = {"HF101", "HF102", "HF105", "HF104"}


def _fix(tmp_path: Path, text: str, *, services: set[str] | None = None, to_override: bool = False, **options):
    path = tmp_path / "docker-compose.yml"
    path.write_text(text, encoding="utf-8")
    return fix_project_outcome(
        [str(path)],
        services=services,
        codes=PLAN_CODES,
        unsafe=True,
        to_override=to_override,
        options={"config": Config(), "bind_root": "./data", "persistence": "bind", **options},
    )


def _text(outcome, name: str = "docker-compose.yml") -> str:
    for path, document in outcome.documents.items():
        if path.endswith(name):
            return document.text
    raise KeyError(name)


def _changed_lines(old: str, new: str) -> list[int]:
    a, b = old.splitlines(), new.splitlines()
    return [n for n, (x, y) in enumerate(zip(a, b), 1) if x != y] + list(range(min(len(a), len(b)) + 1, max(len(a), len(b)) + 1))


# --------------------------------------------------------------------------- image pins
def test_pin_keeps_double_quotes(tmp_path):
    outcome = _fix(tmp_path, 'services:\n  db:\n    image: "postgres:alpine"\n', pins={"db": "postgres:15-alpine"}, majors={"db": 15})
    text = _text(outcome)
    assert text.startswith('services:\n  db:\n    image: "postgres:15-alpine"\n    volumes:\n')
    assert [a.finding.code for a in outcome.applied] == ["HF101"]
    assert "pinned image: postgres:15-alpine" in outcome.applied[0].summary


def test_pin_keeps_single_quotes_plain_and_an_anchor(tmp_path):
    (tmp_path / "a").mkdir()
    single = _fix(tmp_path / "a", "services:\n  db:\n    image: 'postgres:alpine'  # floats\n", pins={"db": "postgres:15-alpine"}, majors={"db": 15})
    assert "    image: 'postgres:15-alpine'  # floats\n" in _text(single)
    (tmp_path / "b").mkdir()
    anchored = _fix(tmp_path / "b", "services:\n  db:\n    image: &pg postgres:alpine\n", pins={"db": "postgres:15-alpine"}, majors={"db": 15})
    assert "    image: &pg postgres:15-alpine\n" in _text(anchored)


def test_seed_pin_and_uncommented_block_in_one_change(tmp_path):
    seed = SEED.read_text(encoding="utf-8")
    outcome = _fix(tmp_path, seed, services={"db"}, pins={"db": "postgres:15-alpine"}, majors={"db": 15}, bind_root=".")
    text = _text(outcome)
    assert _changed_lines(seed, text) == [6, 8, 9]
    lines = text.splitlines()
    assert lines[5] == "    image: postgres:15-alpine"
    assert lines[7:9] == ["    volumes:", "      - ./postgres:/var/lib/postgresql/data"]
    [applied] = outcome.applied  # one verified change carries both
    assert applied.fix.intent == MountIntent("db", frozenset({"/var/lib/postgresql/data"}), image="postgres:15-alpine")
    assert outcome.pinned == []


def test_fix_project_returns_the_pinned_change(tmp_path):
    path = tmp_path / "docker-compose.yml"
    path.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    [change] = fix_project([str(path)], services={"db", "redis"}, codes=PLAN_CODES, unsafe=True, options={"config": Config(), "majors": {"db": 15, "redis": 7}, "pins": {"db": "postgres:15-alpine", "redis": "redis:7-alpine"}})
    new = change.new_bytes.decode()
    assert "    image: postgres:15-alpine\n" in new and "    image: redis:7-alpine\n" in new
    assert path.read_text(encoding="utf-8") == SEED.read_text(encoding="utf-8")  # nothing written


def test_pin_inside_interpolation_is_refused(tmp_path):
    text = "services:\n  db:\n    image: postgres:${PG_TAG:-alpine}\n"
    outcome = _fix(tmp_path, text, pins={"db": "postgres:15-alpine"}, majors={"db": 15})
    new = _text(outcome)
    assert "    image: postgres:${PG_TAG:-alpine}\n" in new
    assert "volumes:" in new  # the mount fix still goes through
    assert any("did not pin service db" in n and "interpolated" in n for n in outcome.notices), outcome.notices


def test_pin_of_a_shared_alias_is_refused(tmp_path):
    text = "x-img: &pg postgres:alpine\nservices:\n  db:\n    image: *pg\n  db2:\n    image: *pg\n    volumes:\n      - ./d2:/var/lib/postgresql/data\n"
    outcome = _fix(tmp_path, text, services={"db"}, pins={"db": "postgres:15-alpine"}, majors={"db": 15})
    assert "image: *pg\n" in _text(outcome) and "postgres:15-alpine" not in _text(outcome)
    assert any("shared" in n for n in outcome.notices), outcome.notices


def test_pin_inherited_through_extends_from_another_file_is_refused(tmp_path):
    (tmp_path / "common.yml").write_text("services:\n  base:\n    image: postgres:alpine\n", encoding="utf-8")
    text = "services:\n  db:\n    extends:\n      file: common.yml\n      service: base\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n"
    outcome = _fix(tmp_path, text, pins={"db": "postgres:15-alpine"}, majors={"db": 15})
    assert _text(outcome) == text
    assert (tmp_path / "common.yml").read_text(encoding="utf-8") == "services:\n  base:\n    image: postgres:alpine\n"
    assert any("extends" in n for n in outcome.notices), outcome.notices


def test_pin_without_a_mount_fix_is_applied_on_its_own(tmp_path):
    text = "services:\n  db:\n    image: postgres:alpine\n    volumes:\n      - ./pg:/var/lib/postgresql/data\n"
    outcome = _fix(tmp_path, text, pins={"db": "postgres:15-alpine"}, majors={"db": 15})
    assert _text(outcome) == text.replace("postgres:alpine", "postgres:15-alpine")
    assert outcome.applied == []
    [pinned] = outcome.pinned
    assert pinned.endswith("docker-compose.yml: pinned image: postgres:15-alpine in service db")


def test_no_pins_no_change_to_the_image(tmp_path):
    outcome = _fix(tmp_path, "services:\n  db:\n    image: postgres:alpine\n", majors={"db": 15})
    assert "    image: postgres:alpine\n" in _text(outcome)


# --------------------------------------------------------------------------- hostnames
def test_hostname_added_after_image_in_the_files_indentation(tmp_path):
    text = "services:\n    mq:\n        restart: always\n        image: rabbitmq:3.13\n        ports:\n            - '5672:5672'\n"
    outcome = _fix(tmp_path, text, hostnames={"mq": "rabbit-1"})
    new = _text(outcome)
    assert new.startswith("services:\n    mq:\n        restart: always\n        image: rabbitmq:3.13\n        hostname: rabbit-1\n        ports:\n")
    assert "pinned hostname: rabbit-1" in outcome.applied[0].summary


def test_hostname_replaced_when_present_keeping_quotes(tmp_path):
    text = 'services:\n  mq:\n    image: rabbitmq:3.13\n    hostname: "old-name"\n'
    outcome = _fix(tmp_path, text, hostnames={"mq": "rabbit-1"})
    new = _text(outcome)
    assert '    hostname: "rabbit-1"\n' in new and "old-name" not in new and new.count("hostname") == 1


def test_hostname_that_reads_as_a_number_is_quoted(tmp_path):
    text = "services:\n  mq:\n    image: rabbitmq:3.13\n"
    outcome = _fix(tmp_path, text, hostnames={"mq": "1234e5678901"})
    assert '    hostname: "1234e5678901"\n' in _text(outcome)


def test_hostname_and_pin_into_an_override(tmp_path):
    text = "services:\n  mq:\n    image: rabbitmq\n"
    outcome = _fix(tmp_path, text, to_override=True, hostnames={"mq": "rabbit-1"}, pins={"mq": "rabbitmq:3"}, majors={"mq": 3})
    assert _text(outcome) == text  # upstream untouched
    override = _text(outcome, "docker-compose.override.yml")
    assert override.endswith("services:\n  mq:\n    volumes:\n      - ./data/mq:/var/lib/rabbitmq\n    image: rabbitmq:3\n    hostname: rabbit-1\n")
    [pinned] = outcome.pinned
    assert pinned.endswith("docker-compose.override.yml: pinned image: rabbitmq:3, hostname: rabbit-1 in service mq")


# --------------------------------------------------------------------------- verification
def test_verification_accepts_exactly_the_pins():
    before = ComposeDocument("c.yml", "services:\n  db:\n    image: postgres:alpine\n    ports: ['5432']\n")
    pinned = before.text.replace("postgres:alpine", "postgres:15-alpine")
    intent = MountIntent("db", image="postgres:15-alpine")
    assert verify_change(before, ComposeDocument("c.yml", pinned), [intent]) is None
    # another tag, another key, another service: refused
    assert "would not get `image: postgres:15-alpine`" in verify_change(before, ComposeDocument("c.yml", before.text.replace("alpine", "16-alpine")), [intent])
    assert "more than it should" in verify_change(before, ComposeDocument("c.yml", pinned.replace("'5432'", "'5433'")), [intent])
    assert "more than it should" in verify_change(before, ComposeDocument("c.yml", pinned + "    hostname: x\n"), [intent])
    # without the intent the same edit is refused
    assert "more than it should" in verify_change(before, ComposeDocument("c.yml", pinned), [MountIntent("db")])
    # hostname: added or replaced to exactly the value
    host = MountIntent("db", hostname="rabbit-1")
    assert verify_change(before, ComposeDocument("c.yml", before.text + "    hostname: rabbit-1\n"), [host]) is None
    assert "would not get `hostname: rabbit-1`" in verify_change(before, ComposeDocument("c.yml", before.text + "    hostname: rabbit-2\n"), [host])
    assert "more than it should" in verify_change(before, ComposeDocument("c.yml", pinned + "    hostname: rabbit-1\n"), [host])
    # together with a mount: both allowed, nothing else
    both = MountIntent("db", frozenset({"/var/lib/postgresql/data"}), image="postgres:15-alpine")
    with_mount = pinned + "    volumes:\n      - ./pg:/var/lib/postgresql/data\n"
    assert verify_change(before, ComposeDocument("c.yml", with_mount), [both]) is None
    assert "more than it should" in verify_change(before, ComposeDocument("c.yml", with_mount + "    restart: always\n"), [both])

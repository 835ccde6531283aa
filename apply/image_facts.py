"""Facts from the engine about images holdfast does not know: what `docker image inspect` says.

An image that is present locally declares its VOLUMEs, its environment and its user.
When the image knowledge has no entry for it but it declares a VOLUME that holds data
(not /tmp, logs, caches or runtime folders), that VOLUME is where the image keeps its
state: an entry is derived from it (kind `application`, so HF106 reports it) and
`plan`/`apply` can move the data like any other, and `inspect` reports a container that
keeps it on an anonymous volume. An image built on a known one and declaring no VOLUME of
its own is that image (its Env says which: PG_MAJOR is postgres), with its own Env applied
(PGDATA). Never pulls; an image that is not present locally is simply not known.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from holdfast.knowledge import DataPath, ImageEntry, ImageRef, Knowledge, LayoutRule

# Derivatives of known images, told by a variable their base image sets (a container's Env includes its image's).
DERIVED_BY_ENV = (
    ("PG_MAJOR", "postgres"),
    ("MARIADB_VERSION", "mariadb"),
    ("MARIADB_MAJOR", "mariadb"),
    ("MYSQL_MAJOR", "mysql"),
    ("MYSQL_VERSION", "mysql"),
    ("MONGO_VERSION", "mongo"),
    ("REDIS_VERSION", "redis"),
    ("VALKEY_VERSION", "valkey"),
)
NON_DATA = ("/tmp", "/var/tmp", "/run", "/var/run", "/var/log", "/var/cache", "/dev", "/proc", "/sys", "/root/.cache")


@dataclass(frozen=True)
class ImageFacts:
    ref: str
    id: str
    volumes: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    workdir: str | None = None

    @property
    def data_volumes(self) -> tuple[str, ...]:
        """Declared VOLUMEs that are not temporary, log, cache or runtime folders."""
        def scratch(path: str) -> bool:
            return any(path == p or path.startswith(p + "/") for p in NON_DATA)

        return tuple(v for v in self.volumes if v.startswith("/") and not scratch(v.rstrip("/") or "/"))


def facts_from_inspect(ref: str, attrs: dict[str, Any] | None) -> ImageFacts | None:
    """The facts in one `docker image inspect` answer, or None without one (pure: tests feed dicts)."""
    if not attrs or not attrs.get("Id"):
        return None
    config = attrs.get("Config") or {}
    env: dict[str, str] = {}
    for item in config.get("Env") or []:
        key, _, value = str(item).partition("=")
        env[key] = value
    volumes = tuple(sorted(os.path.normpath(v) for v in (config.get("Volumes") or {})))
    return ImageFacts(ref, str(attrs["Id"]), volumes, env, config.get("User") or None, config.get("WorkingDir") or None)


def read_image(engine: Any, ref: str) -> ImageFacts | None:
    """What the local engine says about ``ref``, or None when the image is not present (or cannot be read)."""
    try:
        image_id = engine.image_id(ref)
        config = (engine.image_config(image_id) or {}) if image_id else None
    except Exception:  # noqa: BLE001 - the engine's facts are a bonus; without them the knowledge alone decides
        return None
    if image_id is None or config is None:
        return None
    return facts_from_inspect(ref, {"Id": image_id, "Config": config})


def base_by_env(knowledge: Knowledge, env: dict[str, str]) -> tuple[str, str] | None:
    """(variable, repository) of the known image ``env`` says an image is built on, or None."""
    for variable, repository in DERIVED_BY_ENV:
        if env.get(variable) and knowledge.match(repository) is not None:
            return variable, repository
    return None


def _shown(ref: str) -> tuple[str, str]:
    """(repository as matched, as a user writes it: `acme/notes`, `hf-app` rather than `library/hf-app`)."""
    parsed = ImageRef.parse(ref)
    repository = parsed.repository
    return repository, repository[len("library/"):] if repository.startswith("library/") and not parsed.registry else repository


def _derived(knowledge: Knowledge, facts: ImageFacts) -> tuple[ImageEntry, str] | None:
    """The entry of the known image ``facts`` is built on, for this image: its layouts resolved with the
    image's own Env (PGDATA, PG_MAJOR), so lint sees them too; None when the image declares a data
    VOLUME the base does not (then its VOLUMEs say more than the base does)."""
    from dataclasses import replace

    from holdfast.mounts import is_within

    found = base_by_env(knowledge, facts.env)
    if found is None:
        return None
    variable, repository = found
    base = knowledge.match(repository)
    assert base is not None
    resolved = base.resolve(facts.ref, facts.env, None)
    covered = {p for layout in resolved.layouts for p in (*layout.image_volumes, *(d.mount_target for d in layout.data_paths))}
    if any(not any(is_within(v, c) or is_within(c, v) for c in covered) for v in facts.data_volumes):
        return None
    key, shown = _shown(facts.ref)
    entry = replace(
        base,
        id=f"engine:{key}",
        repositories=(key,),
        layouts=tuple(LayoutRule(layout.label, layout.data_paths, layout.image_volumes) for layout in resolved.layouts),
        users=(),
        fallback=False,
        notes=(*base.notes, f"holdfast has no entry for {shown}; its Env ({variable}) says it is built on {base.title}"),
        sources=f"docker image inspect {facts.ref} ({facts.id[:19]}): {variable}={facts.env[variable]}; {base.sources}",
    )
    return entry, variable


def entry_for_unknown(facts: ImageFacts, knowledge: Knowledge | None = None) -> tuple[ImageEntry | None, str]:
    """An entry for an image the knowledge does not have, and how it was told: from the known image it is
    built on (``knowledge`` given), else from its data VOLUMEs; (None, "") without either."""
    if knowledge is not None:
        derived = _derived(knowledge, facts)
        if derived is not None:
            return derived[0], f"env {derived[1]}"
    volumes = facts.data_volumes
    if not volumes:
        return None, ""
    repository, shown = _shown(facts.ref)
    return ImageEntry(
        id=f"engine:{repository}",
        title=f"{shown} (declared VOLUME)",
        repositories=(repository,),
        layouts=(LayoutRule("declared VOLUMEs", tuple(DataPath(v, v, "data", "image VOLUME") for v in volumes), volumes),),
        user=facts.user,
        workdir=facts.workdir,
        notes=("holdfast has no entry for this image; the VOLUMEs it declares say where it keeps its state",),
        sources=f"docker image inspect {facts.ref} ({facts.id[:19]}): VOLUME {' '.join(volumes)}",
        category="application",
    ), "image VOLUME"


def unknown_entry(knowledge: Knowledge, ref: str, read: Callable[[str], ImageFacts | None]) -> tuple[ImageEntry | None, ImageFacts | None, str]:
    """The entry the engine's facts give ``ref``, those facts, and how it was told, when the knowledge has
    no entry and does not call it stateless; ``read`` asks the engine, only then. The one rule for plan,
    apply, inspect, `lint --engine` and `fix --engine`."""
    if not ref or "$" in ref or knowledge.match(ref) is not None or Knowledge.stateless_reason(ref):
        return None, None, ""
    facts = read(ref)
    if facts is None:
        return None, None, ""
    entry, how = entry_for_unknown(facts, knowledge)
    return entry, facts, how


def with_engine_facts(knowledge: Knowledge, engine: Any, refs: Iterable[str]) -> tuple[Knowledge, list[str]]:
    """``knowledge`` plus entries derived from the local images of ``refs`` it does not know, and notes saying so."""
    extra: list[ImageEntry] = []
    notes: list[str] = []
    for ref in dict.fromkeys(refs):
        entry, facts, how = unknown_entry(knowledge, ref, lambda r: read_image(engine, r))
        if entry is None or facts is None or entry.id in {e.id for e in extra}:
            continue
        extra.append(entry)
        if how == "image VOLUME":
            notes.append(f"image {ref}: not in holdfast's knowledge; the engine says it declares VOLUME {' '.join(facts.data_volumes)}")
        else:
            notes.append(f"image {ref}: not in holdfast's knowledge; the engine says its {how} (built on {entry.title}), judged as that image")
    return (knowledge.with_entries(extra) if extra else knowledge), notes


def project_refs(paths: list[str], directory: str) -> list[str]:
    """The image every service of the project runs (the Dockerfile's base for built services)."""
    from holdfast.document import ComposeDocument
    from holdfast.persistence import service_image
    from holdfast.project import Project

    documents = [ComposeDocument.from_path(p) for p in paths]
    if not all(isinstance(d.data, dict) for d in documents):
        return []
    project = Project.load(documents, directory=directory)
    return [ref for service in project.services.values() for ref in [service_image(service)[0]] if ref]


def extend_planner(planner: Any, paths: list[str], directory: str) -> list[str]:
    """Give the planner (its linter, its knowledge and the fix engine it runs) the engine's facts
    about the project's images that the knowledge does not have; the notes say which."""
    shared = planner.knowledge is planner.linter.knowledge
    knowledge, notes = with_engine_facts(planner.linter.knowledge, planner.engine, project_refs(paths, directory))
    if not notes:
        return notes
    planner.linter._knowledge = knowledge
    if shared:
        planner.knowledge = knowledge
    if planner.fixer is None:
        from holdfast.engine import Linter
        from holdfast.fixing import fix_project_outcome

        fix_linter = Linter(planner.config)
        fix_linter._knowledge = knowledge

        def fixer(*args: Any, **kwargs: Any) -> list[Any]:
            return fix_project_outcome(*args, linter=fix_linter, **kwargs).changes

        planner.fixer = fixer
    return notes


def extend_linters(work: list[tuple[Any, Any]], engine: Any) -> list[str]:
    """`holdfast lint --engine`: give each linter the engine's facts about its projects' images that the
    knowledge lacks (declared VOLUMEs of images present locally); the notes say which."""
    by_linter: dict[int, tuple[Any, list[str]]] = {}
    for linter, files in work:
        paths = [p for p in files.files if p != "-"]
        directory = getattr(files, "directory", None) or (os.path.dirname(os.path.abspath(paths[0])) if paths else os.getcwd())
        refs = project_refs(paths, directory) if paths else []
        by_linter.setdefault(id(linter), (linter, []))[1].extend(refs)
    notes: list[str] = []
    for linter, refs in by_linter.values():
        knowledge, found = with_engine_facts(linter.knowledge, engine, refs)
        linter._knowledge = knowledge
        notes.extend(n for n in found if n not in notes)
    return notes

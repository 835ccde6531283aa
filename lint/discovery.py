"""Which files to lint, and which of them Compose would run together as one project.

Folders are searched for compose file names; a base file and the override file
Compose loads beside it form one project, so that a volume added only in the
override counts. Findings are reported for the files that were asked for.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Callable

# Compose v2's order of preference (compose-go's DefaultFileNames / DefaultOverrideFileNames,
# measured with `docker compose config` 2.26): note `.yml` before `.yaml` for docker-compose.*
# and for every override name.
BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_NAMES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml")
_PATTERNS = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml", "compose.*.yaml", "compose.*.yml", "docker-compose.*.yaml", "docker-compose.*.yml")
# holdfast-backups: `apply` keeps copies of the original compose files there; they must
# never be linted or "fixed".
SKIP_DIRS = {".git", "node_modules", "holdfast-backups"}


class DiscoveryError(ValueError):
    """A path problem the user must fix (missing path, no compose file): exit code 2."""


@dataclass
class ProjectFiles:
    """The files of one project in merge order, and the subset whose findings are reported."""

    files: list[str]
    requested: set[str] = field(default_factory=set)
    directory: str | None = None
    # What `docker compose` options and environment chose (see `compose_selection`); None: work it out
    # from the directory (its `.env` under the process environment).
    env: dict[str, str] | None = None
    name: str | None = None  # -p / COMPOSE_PROJECT_NAME
    profiles: tuple[str, ...] = ()  # --profile / COMPOSE_PROFILES
    env_files: list[str] = field(default_factory=list)  # the env files read (--env-file or .env)
    problems: list[str] = field(default_factory=list)  # refusals Compose reports before loading any file


def is_compose_name(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in _PATTERNS)


def override_for(base: str) -> str | None:
    """The override file Compose loads beside a base file (any of the four names, first found), if any."""
    directory, name = os.path.split(base)
    if name not in BASE_NAMES:
        return None
    for candidate_name in OVERRIDE_NAMES:
        candidate = os.path.join(directory, candidate_name)
        if os.path.isfile(candidate):
            return candidate
    return None


def base_for(override: str) -> str | None:
    """The base file an override file belongs to, if it exists and Compose would pair them."""
    directory, name = os.path.split(override)
    if name not in OVERRIDE_NAMES:
        return None
    for base_name in BASE_NAMES:
        candidate = os.path.join(directory, base_name)
        if os.path.isfile(candidate):
            found = override_for(candidate)
            return candidate if found and os.path.abspath(found) == os.path.abspath(override) else None
    return None


def existing_overrides(base: str) -> list[str]:
    """The override files beside `base` that exist, in Compose v2's order (it loads the first, warns about the rest)."""
    directory = os.path.dirname(base)
    return [os.path.join(directory, n) for n in OVERRIDE_NAMES if os.path.isfile(os.path.join(directory, n))]


def override_path_for(base: str) -> str:
    """The override file Compose would load beside `base`: same stem, `.override.`, same extension."""
    directory, name = os.path.split(base)
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, "yaml"
    return os.path.join(directory, f"{stem}.override.{extension}")


NAME_RULE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def normalise_project_name(raw: str) -> str:
    """A folder name made into a project name as Compose does: lowercase, only [a-z0-9_-], no leading - or _."""
    return re.sub(r"[^-_a-z0-9]", "", raw.lower()).lstrip("-_")


def load_env_files(env: dict[str, str], paths: list[str], problems: list[str]) -> None:
    """Add the variables of dotenv files to `env` without replacing any already set (the process wins)."""
    from holdfast.dotenv import DotenvError, read_many
    from holdfast.fileio import UnreadableFile

    try:
        found = read_many(paths, env)
    except DotenvError as exc:
        shown = os.path.relpath(exc.path) if exc.path else "env file"
        problems.append(f"{shown}:{exc.line}: {exc.reason}; Compose refuses the project")
        return
    except (OSError, UnreadableFile) as exc:
        problems.append(f"{getattr(exc, 'filename', None) or paths[0]}: cannot read env file: {getattr(exc, 'strerror', None) or exc}")
        return
    for key, value in found.items():
        env.setdefault(key, value)


def compose_selection(
    files: list[str] | tuple[str, ...] = (),
    *,
    project_directory: str | None = None,
    env_files: list[str] | tuple[str, ...] = (),
    project_name: str | None = None,
    profiles: list[str] | tuple[str, ...] = (),
    environ: dict[str, str] | None = None,
    cwd: str | None = None,
) -> ProjectFiles:
    """The files, folder, variables, name and profiles `docker compose` would use for these options.

    Order as in Compose v2: the process environment; the env files (`--env-file`, else
    `.env` in the project folder: --project-directory, the first -f file's folder, else the
    current one), never replacing a variable already set; then COMPOSE_FILE (split at
    COMPOSE_PATH_SEPARATOR, else the OS path separator); then the default names searched
    upward; then, if that moved the project folder, its `.env` as well.
    """
    cwd = os.path.abspath(cwd or os.getcwd())
    # Interned: every project of a large run holds its own copy of the environment, and
    # os.environ decodes each name and value anew on every copy.
    env = {_interned(k): _interned(v) for k, v in (os.environ if environ is None else environ).items()}
    problems: list[str] = []
    explicit_env = [os.path.join(cwd, p) for p in env_files]
    chosen = [f for f in files]

    def workdir() -> str:
        if project_directory:
            return os.path.normpath(os.path.join(cwd, project_directory))
        first = next((f for f in chosen if f != "-"), None)
        return os.path.dirname(os.path.normpath(os.path.join(cwd, first))) if first else cwd

    def dot_env(directory: str) -> list[str]:
        candidate = os.path.join(directory, ".env")
        return [candidate] if os.path.isfile(candidate) else []

    read = explicit_env or dot_env(workdir())
    load_env_files(env, read, problems)
    if not chosen and env.get("COMPOSE_FILE"):
        separator = env.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        chosen = [p for p in env["COMPOSE_FILE"].split(separator) if p]
    if not chosen:
        start = workdir()
        chosen = [os.path.abspath(p) for p in default_files(start)]
    if not explicit_env:
        for path in dot_env(workdir()):
            if os.path.abspath(path) not in {os.path.abspath(p) for p in read}:
                load_env_files(env, [path], problems)
                read.append(path)
    name = project_name
    if name is None and env.get("COMPOSE_PROJECT_NAME"):
        name = env["COMPOSE_PROJECT_NAME"]
    if name is not None and not NAME_RULE.match(name):
        problems.append(f"invalid project name {name!r}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number")
        name = normalise_project_name(name) or None
    active = list(profiles)
    if not active and env.get("COMPOSE_PROFILES"):
        active = [p.strip() for p in env["COMPOSE_PROFILES"].split(",") if p.strip()]
    # paths as the process opens them (relative to its folder when below it, as given on the command line)
    display = [f if f == "-" else _shown(os.path.join(cwd, f)) for f in chosen]
    selection = ProjectFiles(display, set(display), workdir(), env, name, tuple(active), read, problems)
    _REMEMBERED[os.path.abspath(selection.directory or cwd)] = selection
    return selection


def _interned(text: str) -> str:
    return sys.intern(text) if type(text) is str else text


# The selections made in this process, by project folder: `holdfast fix` and the live planner
# load the project again later from its folder alone, and must see the same options.
_REMEMBERED: dict[str, ProjectFiles] = {}


def remembered_selection(directory: str) -> ProjectFiles | None:
    """The options and variables chosen for this project folder earlier in this process, if any."""
    return _REMEMBERED.get(os.path.abspath(directory))


def _shown(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith(".." + os.sep) and os.path.isabs(path) and relative.count(".." + os.sep) > 2 else relative


def default_files(start: str) -> list[str]:
    """What `docker compose` picks with no -f: the first base name found here or in a parent, plus its override."""
    directory = os.path.abspath(start)
    while True:
        for name in BASE_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                found = [os.path.relpath(candidate)]
                override = override_for(candidate)
                if override:
                    found.append(os.path.relpath(override))
                return found
        parent = os.path.dirname(directory)
        if parent == directory:
            raise DiscoveryError(f"no compose file ({', '.join(BASE_NAMES)}) in {os.path.abspath(start)} or its parents")
        directory = parent


def discover(paths: list[str], is_excluded: Callable[[str], bool] = lambda p: False) -> list[str]:
    """Expand folders into compose files; a file named explicitly is always linted."""
    found: list[str] = []
    for path in paths:
        if path == "-":
            found.append(path)
            continue
        if os.path.isfile(path):
            found.append(path)
            continue
        if not os.path.exists(path):
            raise DiscoveryError(f"{path}: no such file or directory")
        if not os.path.isdir(path):
            raise DiscoveryError(f"{path}: not a file or directory")
        before = len(found)
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not is_excluded(os.path.join(root, d)))
            for name in sorted(files):
                full = os.path.join(root, name)
                if is_compose_name(name) and not is_excluded(full):
                    found.append(os.path.normpath(full))
        if len(found) == before:
            raise DiscoveryError(f"{path}: no compose file found (looked for {', '.join(_PATTERNS)})")
    return found


def group_projects(files: list[str]) -> list[ProjectFiles]:
    """Group files into projects: a base with its override (present or on disk), others alone."""
    projects: list[ProjectFiles] = []
    by_base: dict[str, ProjectFiles] = {}
    for path in files:
        if path == "-":
            projects.append(ProjectFiles(["-"], {"-"}))
            continue
        real = os.path.abspath(path)
        name = os.path.basename(path)
        base = path if name in BASE_NAMES else base_for(path)
        if base is None:
            projects.append(ProjectFiles([path], {path}))
            continue
        key = os.path.abspath(base)
        project = by_base.get(key)
        if project is None:
            members = [base if key != real else path]
            override = override_for(base)
            if override:
                members.append(override if os.path.abspath(override) != real else path)
            project = ProjectFiles(members, set())
            by_base[key] = project
            projects.append(project)
        project.requested.add(path)
        # keep the caller's spelling of requested paths
        project.files = [path if os.path.abspath(f) == real else f for f in project.files]
    return projects

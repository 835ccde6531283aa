"""Which files to lint, and which of them Compose would run together as one project.

Folders are searched for compose file names; a base file and the override file
Compose loads beside it form one project, so that a volume added only in the
override counts. Findings are reported for the files that were asked for.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Callable

BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
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


def is_compose_name(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in _PATTERNS)


def override_for(base: str) -> str | None:
    """The override file Compose loads beside a base file, if it exists."""
    directory, name = os.path.split(base)
    if name not in BASE_NAMES:
        return None
    stem = name.rsplit(".", 1)[0]
    for extension in ("yaml", "yml"):
        candidate = os.path.join(directory, f"{stem}.override.{extension}")
        if os.path.isfile(candidate):
            return candidate
    return None


def base_for(override: str) -> str | None:
    """The base file an override file belongs to, if it exists."""
    directory, name = os.path.split(override)
    for stem in ("compose", "docker-compose"):
        if name in (f"{stem}.override.yaml", f"{stem}.override.yml"):
            for extension in ("yaml", "yml"):
                candidate = os.path.join(directory, f"{stem}.{extension}")
                if os.path.isfile(candidate):
                    return candidate
    return None


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

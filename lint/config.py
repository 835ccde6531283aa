"""Configuration: `[tool.holdfast]` in pyproject.toml or a `.holdfast.toml`, found upward.

The nearest file wins (no merging across folders), like ruff. Command-line
options are applied on top by the CLI. Every key is checked: a misspelt key is
an error naming the key, never silently ignored.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from holdfast.model import Severity

CONFIG_FILES = (".holdfast.toml", "holdfast.toml", "pyproject.toml")

_KNOWN_KEYS = {
    "select",
    "ignore",
    "extend-select",
    "extend-ignore",
    "per-file-ignores",
    "severity",
    "fail-level",
    "exclude",
    "extend-exclude",
    "rules",
    "images",
    "persistence",
    "fix",
    "max-file-size",
}
_FIX_KEYS = {"bind-root", "persistence"}
PERSISTENCE_POLICIES = ("any", "bind")

DEFAULT_EXCLUDE = (".git", "node_modules", ".venv", "venv", ".tox", "__pycache__", ".mypy_cache")


class ConfigError(ValueError):
    """A configuration problem: reported as one line and exit code 2."""


@dataclass(frozen=True)
class Config:
    path: str | None = None  # the file it came from
    select: tuple[str, ...] | None = None  # None: the rules enabled by default
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    fail_level: Severity = Severity.ERROR
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    persistence: str = "any"  # "bind": named volumes are not enough (turns on HF103)
    fix_bind_root: str = "./data"
    fix_persistence: str = "bind"  # what `fix` adds: a bind mount or a named volume
    max_file_size: int = 4 * 1024 * 1024

    @property
    def base_dir(self) -> str:
        return os.path.dirname(self.path) if self.path else os.getcwd()

    def with_overrides(self, **changes: Any) -> "Config":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def is_selected(self, code: str, enabled_by_default: bool) -> bool:
        """ruff-style selection by code prefix: select (or the defaults), plus extend-select, minus ignore."""
        if self.select is None:
            chosen = enabled_by_default or (code == "HF103" and self.persistence == "bind")
        else:
            chosen = _matches(code, self.select)
        chosen = chosen or _matches(code, self.extend_select)
        return chosen and not _matches(code, self.ignore)

    def ignored_for_file(self, code: str, path: str) -> bool:
        relative = _relative(path, self.base_dir)
        for pattern, codes in self.per_file_ignores:
            if (fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(os.path.basename(path), pattern)) and _matches(code, codes):
                return True
        return False

    def is_excluded(self, path: str) -> bool:
        relative = _relative(path, self.base_dir)
        parts = relative.replace("\\", "/").split("/")
        for pattern in self.exclude:
            pattern = pattern.rstrip("/")
            if fnmatch.fnmatch(relative, pattern) or any(fnmatch.fnmatch(part, pattern) for part in parts):
                return True
        return False


def _matches(code: str, selectors: tuple[str, ...]) -> bool:
    return any(selector == "ALL" or code.startswith(selector) for selector in selectors)


def _relative(path: str, base: str) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), base).replace("\\", "/")
    except ValueError:  # another drive on Windows
        return path


def _toml_load(path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _mentions_holdfast(path: str) -> bool:
    """Whether a pyproject.toml can hold our table: `[tool.holdfast...]`, a dotted
    `tool.holdfast` key, or `holdfast = {...}` inside a bare `[tool]` table."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError:
        return True  # let the real read report the problem
    return b"tool.holdfast" in raw or (b"[tool]" in raw and b"holdfast" in raw)


def find_config_file(start: str) -> tuple[str, dict[str, Any]] | None:
    """The nearest configuration above `start` (a file or folder): its path and holdfast table."""
    directory = os.path.abspath(start if os.path.isdir(start) else os.path.dirname(os.path.abspath(start)))
    while True:
        for name in CONFIG_FILES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                if name == "pyproject.toml" and not _mentions_holdfast(candidate):
                    continue  # most projects' pyproject.toml: no need to import and run a TOML parser
                data = _toml_load(candidate)
                if name == "pyproject.toml":
                    table = data.get("tool", {}).get("holdfast")
                    if table is None:
                        continue
                    return candidate, table
                return candidate, data
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load_config(path: str | None = None, start: str | None = None) -> Config:
    """Load `--config PATH`, or the nearest configuration above `start`, or the defaults."""
    if path is not None:
        if not os.path.isfile(path):
            raise ConfigError(f"{path}: configuration file not found")
        data = _toml_load(path)
        if os.path.basename(path) == "pyproject.toml":
            data = data.get("tool", {}).get("holdfast", {})
        return parse_config(data, path)
    found = find_config_file(start or os.getcwd())
    if found is None:
        return Config()
    return parse_config(found[1], found[0])


def parse_config(table: dict[str, Any], path: str | None) -> Config:
    where = path or "configuration"
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' in [tool.holdfast] (known: {', '.join(sorted(_KNOWN_KEYS))})")

    def codes(key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: '{key}' must be a list of rule codes")
        return tuple(v.strip().upper() for v in value)

    config = Config(path=os.path.abspath(path) if path else None)
    changes: dict[str, Any] = {}
    if "select" in table:
        changes["select"] = codes("select")
    changes["extend_select"] = codes("extend-select")
    changes["ignore"] = codes("ignore") + codes("extend-ignore")
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ConfigError(f"{where}: 'per-file-ignores' must be a table of glob = [codes]")
    entries = []
    for pattern, value in pfi.items():
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: per-file-ignores '{pattern}' must be a list of rule codes")
        entries.append((pattern, tuple(v.upper() for v in value)))
    changes["per_file_ignores"] = tuple(entries)
    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError(f"{where}: 'severity' must be a table of CODE = \"error|warning|info\"")
    try:
        changes["severity"] = {code.upper(): Severity.parse(str(level)) for code, level in severity.items()}
        if "fail-level" in table:
            changes["fail_level"] = Severity.parse(str(table["fail-level"]))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    for key in ("exclude", "extend-exclude"):
        value = table.get(key)
        if value is not None:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: '{key}' must be a list of glob patterns")
            base = () if key == "exclude" else changes.get("exclude", DEFAULT_EXCLUDE)
            changes["exclude"] = tuple(base) + tuple(value)
    rules = table.get("rules", {})
    if not isinstance(rules, dict) or not all(isinstance(v, dict) for v in rules.values()):
        raise ConfigError(f"{where}: 'rules' must be a table of [tool.holdfast.rules.CODE] tables")
    changes["rule_options"] = {code.upper(): dict(opts) for code, opts in rules.items()}
    images = table.get("images", {})
    if not isinstance(images, dict) or not all(isinstance(v, dict) for v in images.values()):
        raise ConfigError(f"{where}: 'images' must be a table of [tool.holdfast.images.NAME] tables")
    changes["images"] = {name: dict(spec) for name, spec in images.items()}
    persistence = table.get("persistence", "any")
    if persistence not in PERSISTENCE_POLICIES:
        raise ConfigError(f"{where}: 'persistence' must be one of {', '.join(PERSISTENCE_POLICIES)}")
    changes["persistence"] = persistence
    fix = table.get("fix", {})
    if not isinstance(fix, dict):
        raise ConfigError(f"{where}: 'fix' must be a table")
    unknown_fix = sorted(set(fix) - _FIX_KEYS)
    if unknown_fix:
        raise ConfigError(f"{where}: unknown key '{unknown_fix[0]}' in [tool.holdfast.fix] (known: {', '.join(sorted(_FIX_KEYS))})")
    if "bind-root" in fix:
        if not isinstance(fix["bind-root"], str) or not fix["bind-root"]:
            raise ConfigError(f"{where}: fix.bind-root must be a path")
        changes["fix_bind_root"] = fix["bind-root"]
    if "persistence" in fix:
        if fix["persistence"] not in ("bind", "named"):
            raise ConfigError(f"{where}: fix.persistence must be 'bind' or 'named'")
        changes["fix_persistence"] = fix["persistence"]
    if "max-file-size" in table:
        if not isinstance(table["max-file-size"], int) or table["max-file-size"] <= 0:
            raise ConfigError(f"{where}: 'max-file-size' must be a positive number of bytes")
        changes["max_file_size"] = table["max-file-size"]
    return replace(config, **changes)

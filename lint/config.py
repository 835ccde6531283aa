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
    file_codes: frozenset[str] = frozenset()  # codes the configuration file names (to say where a bad one is)

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

    def check_codes(self, known: Any) -> list[str]:
        """One line per rule code that matches no known rule (`HF10l`), with the closest known code.

        A selector is valid when it is `ALL` or a prefix of at least one known code (`HF`, `HF1`):
        a code that matches nothing would silently turn rules off (or on) without anyone noticing.
        `known` is every rule code, built-in and from plugins."""
        known = sorted(set(known))
        settings: list[tuple[str, tuple[str, ...]]] = [
            ("select", self.select or ()),
            ("extend-select", self.extend_select),
            ("ignore", self.ignore),
            ("severity", tuple(self.severity)),
        ]
        settings += [(f"per-file-ignores '{pattern}'", codes) for pattern, codes in self.per_file_ignores]
        problems: list[str] = []
        for setting, codes in settings:
            for code in codes:
                if code == "ALL" or any(k.startswith(code) for k in known):
                    continue
                if setting == "severity" and code in known:
                    continue
                where = f"{self.path}: '{setting}'" if self.path and code in self.file_codes else f"--{setting}" if setting in ("select", "extend-select", "ignore") else f"'{setting}'"
                problems.append(f"{where}: unknown rule code {code!r}{_closest(code, known)} (see `holdfast rules`)")
        return list(dict.fromkeys(problems))

    def is_excluded(self, path: str) -> bool:
        relative = _relative(path, self.base_dir)
        parts = relative.replace("\\", "/").split("/")
        for pattern in self.exclude:
            pattern = pattern.rstrip("/")
            if fnmatch.fnmatch(relative, pattern) or any(fnmatch.fnmatch(part, pattern) for part in parts):
                return True
        return False


def _closest(code: str, known: list[str]) -> str:
    import difflib  # only when a code is wrong

    lookalike = code[:2] + code[2:].translate(str.maketrans("LIO", "110"))  # `HF10l`: a letter for a digit
    if lookalike != code and any(k.startswith(lookalike) for k in known):
        return f"; did you mean {lookalike}?"
    def score(candidate: str) -> float:  # difflib's ratio; a transposition (`HF140`/`HF104`) breaks ties
        return difflib.SequenceMatcher(None, code, candidate).ratio() + (0.05 if sorted(code) == sorted(candidate) else 0.0)

    best = max(known, key=score, default=None)
    close = [best] if best is not None and score(best) >= 0.5 else []
    if not close:  # a prefix that is too long or too short for the ratio: compare with the prefixes too
        prefixes = sorted({k[:n] for k in known for n in range(2, len(k))})
        close = difflib.get_close_matches(code, prefixes, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _matches(code: str, selectors: tuple[str, ...]) -> bool:
    return any(selector == "ALL" or code.startswith(selector) for selector in selectors)


def _relative(path: str, base: str) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), base).replace("\\", "/")
    except ValueError:  # another drive on Windows
        return path


CONFIG_READ_LIMIT = 1024 * 1024  # a configuration file, or a pyproject.toml holding one


def _read_config_bytes(path: str) -> bytes:
    """The bytes of a configuration file: a regular file of at most CONFIG_READ_LIMIT bytes."""
    from holdfast.fileio import UnreadableFile, read_regular_file

    try:
        return read_regular_file(path, CONFIG_READ_LIMIT)
    except UnreadableFile as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None


def _toml_load(path: str, raw: bytes | None = None) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    if raw is None:
        raw = _read_config_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{path}:{line}:{column}: invalid UTF-8 byte 0x{raw[exc.start]:02x}; TOML files must be UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _mentions_holdfast(raw: bytes) -> bool:
    """Whether a pyproject.toml can hold our table: `[tool.holdfast...]`, a dotted
    `tool.holdfast` key, or `holdfast = {...}` inside a bare `[tool]` table."""
    return b"tool.holdfast" in raw or (b"[tool]" in raw and b"holdfast" in raw)


def find_config_file(start: str) -> tuple[str, dict[str, Any]] | None:
    """The nearest configuration above `start` (a file or folder): its path and holdfast table."""
    directory = os.path.abspath(start if os.path.isdir(start) else os.path.dirname(os.path.abspath(start)))
    while True:
        for name in CONFIG_FILES:
            candidate = os.path.join(directory, name)
            if os.path.exists(candidate):
                raw = _read_config_bytes(candidate)  # a FIFO, a device or a huge file is an error, not a hang
                if name == "pyproject.toml" and not _mentions_holdfast(raw):
                    continue  # most projects' pyproject.toml: no need to import and run a TOML parser
                data = _toml_load(candidate, raw)
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
        if not os.path.exists(path):
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
        named.update(v.strip().upper() for v in value)
        return tuple(v.strip().upper() for v in value)

    config = Config(path=os.path.abspath(path) if path else None)
    changes: dict[str, Any] = {}
    named: set[str] = set()
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
        named.update(v.upper() for v in value)
    changes["per_file_ignores"] = tuple(entries)
    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError(f"{where}: 'severity' must be a table of CODE = \"error|warning|info\"")
    try:
        changes["severity"] = {code.upper(): Severity.parse(str(level)) for code, level in severity.items()}
        named.update(code.upper() for code in severity)
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
    changes["file_codes"] = frozenset(named)
    return replace(config, **changes)

"""Loading plugins: every entry point of the `holdfast` group, each in its own try/except.

One broken third-party plugin must not break everybody's pre-commit hook, so a
plugin that fails to import or register becomes a one-line warning and the
others still run.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import pluggy

from holdfast import hookspecs

ENTRY_POINT_GROUP = "holdfast"


# Plain classes rather than dataclasses here: a dataclass definition costs about a
# millisecond of every cold start, and plugins load on every run.


class LoadedPlugin:
    """One plugin as loaded (for `holdfast plugins`), with its error if it failed."""

    def __init__(self, name: str, value: str, distribution: str | None, version: str | None, error: str | None = None) -> None:
        self.name = name
        self.value = value  # "module:attr" as declared
        self.distribution = distribution
        self.version = version
        self.error = error

    def __repr__(self) -> str:
        return f"LoadedPlugin(name={self.name!r}, value={self.value!r}, distribution={self.distribution!r}, version={self.version!r}, error={self.error!r})"


class PluginSet:
    """The plugin manager plus what was loaded (for `holdfast plugins`) and what failed."""

    def __init__(self, manager: pluggy.PluginManager, loaded: list[LoadedPlugin] | None = None) -> None:
        self.manager = manager
        self.loaded = [] if loaded is None else loaded

    @property
    def warnings(self) -> list[str]:
        return [f"plugin '{p.name}' ({p.value}) not loaded: {p.error}" for p in self.loaded if p.error]

    def rules(self) -> dict[str, type]:
        return _collect_by_code(self)

    def fixers(self) -> list[Any]:
        out: list[Any] = []
        for result in _safe_results(self, "holdfast_fixers"):
            out.extend(result or [])
        return out

    def reporters(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for result in _safe_results(self, "holdfast_reporters"):
            out.update(result or {})
        return out

    def images(self) -> list[Any]:
        out: list[Any] = []
        for result in reversed(_safe_results(self, "holdfast_stateful_images")):
            out.extend(result or [])
        return out


def _safe_results(plugins: PluginSet, hook_name: str) -> list[Any]:
    """Call a hook implementation by implementation, so a raising plugin only loses its own results."""
    hook = getattr(plugins.manager.hook, hook_name)
    results = []
    for impl in reversed(hook.get_hookimpls()):  # registration order
        try:
            results.append(impl.function())
        except Exception as exc:  # noqa: BLE001 - a plugin's bug must not stop the run
            plugins.loaded.append(
                LoadedPlugin(impl.plugin_name, hook_name, None, None, error=f"{hook_name} raised {type(exc).__name__}: {exc}")
            )
    return results


def _collect_by_code(plugins: PluginSet) -> dict[str, type]:
    rules: dict[str, type] = {}
    for result in _safe_results(plugins, "holdfast_rules"):
        for rule in result or []:
            code = getattr(rule, "code", None)
            if isinstance(code, str):
                rules[code] = rule
    return rules


def load_plugins(extra: list[Any] | None = None) -> PluginSet:
    """Create the manager and register every `holdfast` entry point (plus `extra` objects, for tests)."""
    manager = pluggy.PluginManager("holdfast")
    manager.add_hookspecs(hookspecs)
    plugins = PluginSet(manager)
    for entry_point in _entry_points():
        info = LoadedPlugin(entry_point.name, entry_point.value, entry_point.distribution, entry_point.version)
        try:
            module = entry_point.load()
            if manager.is_registered(module) or manager.get_plugin(_plugin_name(entry_point)) is not None:
                continue
            manager.register(module, name=_plugin_name(entry_point))
        except Exception as exc:  # noqa: BLE001 - isolate every plugin
            info.error = f"{type(exc).__name__}: {exc}"
        plugins.loaded.append(info)
    for obj in extra or []:
        manager.register(obj)
        plugins.loaded.append(LoadedPlugin(getattr(obj, "__name__", repr(obj)), "(registered directly)", None, None))
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        plugins.loaded.append(LoadedPlugin("?", "?", None, None, error=str(exc)))
    return plugins


def _plugin_name(entry_point: "EntryPoint") -> str:
    return f"{entry_point.distribution or '?'}:{entry_point.name}"


class EntryPoint:
    """One `holdfast` entry point, read straight from a distribution's metadata."""

    __slots__ = ("name", "value", "distribution", "version")

    def __init__(self, name: str, value: str, distribution: str | None, version: str | None) -> None:
        self.name = name
        self.value = value  # "package.module" or "package.module:attribute"
        self.distribution = distribution
        self.version = version

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, distribution={self.distribution!r}, version={self.version!r})"

    def load(self) -> Any:
        module_name, _, attribute = self.value.partition(":")
        obj: Any = importlib.import_module(module_name.strip())
        for part in filter(None, attribute.strip().split(".")):
            obj = getattr(obj, part)
        return obj


def _entry_points() -> list[EntryPoint]:
    """Every entry point of the `holdfast` group on sys.path, first distribution of a name wins.

    This reads `entry_points.txt` of each `*.dist-info`/`*.egg-info` folder
    directly: importing importlib.metadata costs about as much as a whole lint of
    one file, and a pre-commit hook pays start-up on every commit.
    """
    found: list[EntryPoint] = []
    seen_distributions: set[str] = set()
    seen_points: set[tuple[str, str]] = set()
    for entry in sys.path:
        directory = entry or os.getcwd()
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for folder in names:
            if not folder.endswith((".dist-info", ".egg-info")):
                continue
            dist, version = _split_distribution(folder)
            key = dist.lower().replace("-", "_").replace(".", "_")
            if key in seen_distributions:
                continue
            seen_distributions.add(key)
            try:
                with open(os.path.join(directory, folder, "entry_points.txt"), encoding="utf-8") as handle:
                    text = handle.read()
            except OSError:
                continue
            for name, value in _group(text, ENTRY_POINT_GROUP):
                if (name, value) not in seen_points:
                    seen_points.add((name, value))
                    found.append(EntryPoint(name, value, dist, version))
    return found


def _split_distribution(folder: str) -> tuple[str, str | None]:
    stem = folder.rsplit(".", 1)[0]
    name, _, rest = stem.partition("-")
    version = rest.split("-", 1)[0] if rest else None
    return name, version


def _group(text: str, group: str) -> list[tuple[str, str]]:
    """The `name = value` lines of one [group] section of an entry_points.txt."""
    out: list[tuple[str, str]] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current == group and "=" in line:
            name, _, value = line.partition("=")
            out.append((name.strip(), value.split("[", 1)[0].strip()))
    return out

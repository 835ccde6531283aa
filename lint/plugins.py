"""Loading plugins: every entry point of the `holdfast` group, each in its own try/except.

One broken third-party plugin must not break everybody's pre-commit hook, so a
plugin that fails to import or register becomes a one-line warning and the
others still run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import pluggy

from holdfast import hookspecs

ENTRY_POINT_GROUP = "holdfast"


@dataclass
class LoadedPlugin:
    name: str
    value: str  # "module:attr" as declared
    distribution: str | None
    version: str | None
    error: str | None = None


@dataclass
class PluginSet:
    """The plugin manager plus what was loaded (for `holdfast plugins`) and what failed."""

    manager: pluggy.PluginManager
    loaded: list[LoadedPlugin] = field(default_factory=list)

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
        dist = getattr(entry_point, "dist", None)
        info = LoadedPlugin(
            entry_point.name,
            entry_point.value,
            getattr(dist, "name", None) if dist else None,
            getattr(dist, "version", None) if dist else None,
        )
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


def _plugin_name(entry_point: Any) -> str:
    dist = getattr(entry_point, "dist", None)
    return f"{getattr(dist, 'name', '?')}:{entry_point.name}"


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    if sys.version_info >= (3, 10):
        found = list(entry_points(group=ENTRY_POINT_GROUP))
    else:  # pragma: no cover
        found = list(entry_points().get(ENTRY_POINT_GROUP, []))
    # one distribution installed twice (editable + site) must not register twice
    unique: dict[tuple[str, str], Any] = {}
    for entry_point in found:
        unique.setdefault((entry_point.name, entry_point.value), entry_point)
    return list(unique.values())

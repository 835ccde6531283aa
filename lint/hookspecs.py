"""The hooks a holdfast plugin can implement (pluggy, all prefixed `holdfast_`).

A plugin is a module (or object) registered under the `holdfast` entry-point
group. Built-in rules, fixers, reporters and image knowledge are registered the
same way, so a third-party package has exactly the powers the core has.
Import heavy things inside the hook, not at module level: every lint run loads
every plugin.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("holdfast")
hookimpl = pluggy.HookimplMarker("holdfast")


@hookspec
def holdfast_rules() -> list[type]:
    """Return `holdfast.model.Rule` subclasses to add to the rule set."""


@hookspec
def holdfast_fixers() -> list[Any]:
    """Return `holdfast.model.Fixer` instances."""


@hookspec
def holdfast_reporters() -> dict[str, Any]:
    """Return {format name: Reporter class} for `--format NAME`."""


@hookspec
def holdfast_stateful_images() -> list[Any]:
    """Return `holdfast.knowledge.ImageEntry` objects describing more stateful images."""


@hookspec
def holdfast_before_step(step: Any, context: Any) -> None:
    """Called before `apply` runs a plan step; raising aborts the step (tests inject faults here)."""


@hookspec
def holdfast_after_step(step: Any, context: Any, outcome: Any) -> None:
    """Called after a plan step finished (outcome is the step's result); raising fails the step."""

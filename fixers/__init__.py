"""The built-in fixers, registered through the `holdfast` entry-point group like any plugin."""

from __future__ import annotations

from holdfast.hookspecs import hookimpl


@hookimpl
def holdfast_fixers() -> list:
    return []

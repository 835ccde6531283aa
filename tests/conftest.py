"""Shared test helpers: where ../shared is, and the Docker switch.

Tests that need a Docker engine are marked `docker`. They skip with a reason on a
machine without one, unless HOLDFAST_REQUIRE_DOCKER=1 (set by .ci/run), where a
missing engine is a failure: CI must never go green by skipping the real thing.
"""

from __future__ import annotations

import os

import pytest

from support import SHARED, docker_ok  # noqa: F401  (re-exported for fixtures)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(item.get_closest_marker("docker") for item in items):
        return
    if docker_ok():
        return
    if os.environ.get("HOLDFAST_REQUIRE_DOCKER") == "1":
        raise pytest.UsageError("HOLDFAST_REQUIRE_DOCKER=1 but no Docker engine answers `docker info`")
    skip = pytest.mark.skip(reason="no Docker engine (set HOLDFAST_REQUIRE_DOCKER=1 to make this a failure)")
    for item in items:
        if item.get_closest_marker("docker"):
            item.add_marker(skip)

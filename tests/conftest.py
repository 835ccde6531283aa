"""Shared test helpers: where ../shared is, and the Docker switch.

Tests that need a Docker engine are marked `docker`. They skip with a reason on a
machine without one, unless HOLDFAST_REQUIRE_DOCKER=1 (set by .ci/run), where a
missing engine is a failure: CI must never go green by skipping the real thing.
"""

from __future__ import annotations

import os

import pytest

from support import COMPOSE_FLAVOURS, SHARED, compose_cli, docker_ok, unavailable  # noqa: F401  (re-exported for fixtures)


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """The locally built postgres/redis stand-in images (built once per machine, checked once per run)."""
    from docker_images import docker_available, ensure_test_images

    if not docker_available():
        unavailable("Docker daemon not available")
    try:
        return ensure_test_images()
    except RuntimeError as exc:
        unavailable(f"could not build the local test images: {exc}")
        raise  # pragma: no cover - unavailable() always raises


@pytest.fixture(params=sorted(COMPOSE_FLAVOURS, reverse=True))
def compose_flavour(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run the test once under Compose v2 and once under v1: the argv of that Compose CLI.

    HOLDFAST_COMPOSE is set for the test, so holdfast's own live commands use the same
    flavour. A missing flavour skips (or fails under HOLDFAST_REQUIRE_DOCKER=1: CI
    installs both, see scripts/install-compose-v2.sh).
    """
    argv = compose_cli(request.param)
    monkeypatch.setenv("HOLDFAST_COMPOSE", request.param)
    return argv


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

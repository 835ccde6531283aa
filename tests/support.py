"""Helpers shared by the test modules (on pytest's pythonpath as `support`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HOLDFAST_SHARED") or ROOT.parent / "shared")  # ../shared, or elsewhere (a worktree)
CORPUS = SHARED / "corpus" / "public"
EXAMPLES = ROOT / "examples"
SEED = EXAMPLES / "mastodon-v1.3.2" / "docker-compose.yml"


def shared_or_skip(*parts: str) -> Path:
    """A path under ../shared, or skip the test saying why (the folder ships beside the repository)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared corpus and schemas live beside the repository in ../shared")
    return path


def unavailable(reason: str) -> None:
    """Skip a test that needs Docker, or fail it when CI demands Docker (HOLDFAST_REQUIRE_DOCKER=1)."""
    import os

    if os.environ.get("HOLDFAST_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{reason} (HOLDFAST_REQUIRE_DOCKER=1)")
    pytest.skip(reason)


COMPOSE_FLAVOURS = {"v2": ["docker", "compose"], "v1": ["docker-compose"]}
_COMPOSE_INSTALLED: dict[str, bool] = {}


def compose_cli(flavour: str) -> list[str]:
    """The argv of a Compose flavour's CLI; skips (or fails under HOLDFAST_REQUIRE_DOCKER=1) when it is not installed."""
    argv = COMPOSE_FLAVOURS[flavour]
    if flavour not in _COMPOSE_INSTALLED:
        try:
            _COMPOSE_INSTALLED[flavour] = subprocess.run([*argv, "version"], capture_output=True, timeout=60).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _COMPOSE_INSTALLED[flavour] = False
    if not _COMPOSE_INSTALLED[flavour]:
        unavailable(f"Compose {flavour} ({' '.join(argv)}) is not installed")
    return argv


def docker_ok() -> bool:
    """True when a Docker engine answers."""
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False

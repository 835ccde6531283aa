"""Local Docker images for end-to-end tests.

No container registry is reachable where these tests run, so the images that
real compose files name (``postgres:alpine``, ``redis:alpine``) are built
locally from Debian packages by ``tests/images/build.sh``.  This module lets
tests ask for them without knowing how they are made.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

BUILD_SCRIPT = Path(__file__).resolve().parent / "images" / "build.sh"

# Tags as written in Mastodon v1.3.2's docker-compose.yml.
TEST_IMAGES = {"postgres": "postgres:alpine", "redis": "redis:alpine"}
# Always ours, even when the tags above belong to real upstream images.
FALLBACK_IMAGES = {"postgres": "holdfast-test/postgres:15", "redis": "holdfast-test/redis:7"}

# The first build runs debootstrap and downloads ~100 MB of packages.
BUILD_TIMEOUT = 1800

_lock = threading.Lock()
_built: dict[str, str] | None = None


def docker_available(timeout: float = 15) -> bool:
    """True when a Docker daemon answers; tests skip (or fail) otherwise.

    Uses the CLI rather than the SDK so that build.sh, which drives the CLI,
    is known to work too.
    """
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info"], capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def ensure_test_images() -> dict[str, str]:
    """Build the stand-in images if needed and return their tags by service.

    build.sh is idempotent and cheap once the images exist, but it is still
    run at most once per process so test setup stays fast.  Raises
    RuntimeError with the end of the build output when the build fails.
    """
    global _built
    with _lock:
        if _built is None:
            try:
                result = subprocess.run(
                    ["bash", str(BUILD_SCRIPT)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=BUILD_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                output = exc.stdout or ""
                if isinstance(output, bytes):
                    output = output.decode(errors="replace")
                raise RuntimeError(
                    f"{BUILD_SCRIPT} timed out after {BUILD_TIMEOUT}s:\n{_tail(output)}"
                ) from exc
            if result.returncode != 0:
                raise RuntimeError(
                    f"{BUILD_SCRIPT} failed (exit {result.returncode}):\n"
                    f"{_tail(result.stdout)}"
                )
            _built = {name: _own_tag(tag, name) for name, tag in TEST_IMAGES.items()}
        return dict(_built)


def _own_tag(tag: str, name: str) -> str:
    """build.sh never retags a real upstream image; fall back to our own tag then."""
    result = subprocess.run(
        ["docker", "image", "inspect", "-f",
         '{{index .Config.Labels "org.holdfast.test-image"}}', tag],
        capture_output=True, text=True, check=False,
    )
    if result.returncode == 0 and result.stdout.strip() == "1":
        return tag
    return FALLBACK_IMAGES[name]


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])

"""Local Docker images for end-to-end tests.

No container registry is reachable where these tests run, so the images that
real compose files name (``postgres:alpine``, ``redis:alpine``) are built
locally from Debian packages by ``tests/images/build.sh``.  This module lets
tests ask for them without knowing how they are made.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
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
            missing = [tag for tag in FALLBACK_IMAGES.values() if not _image_exists(tag)]
            say = _progress if missing else (lambda line: None)
            if missing:
                say(f"building the local test images ({', '.join(missing)}) with {BUILD_SCRIPT.name}; "
                    "the first build downloads ~100 MB of packages and takes a few minutes")
            returncode, output = _run_build(say)
            if returncode is None:
                raise RuntimeError(f"{BUILD_SCRIPT} timed out after {BUILD_TIMEOUT}s:\n{_tail(output)}")
            if returncode != 0:
                raise RuntimeError(f"{BUILD_SCRIPT} failed (exit {returncode}):\n{_tail(output)}")
            if missing:
                say("test images ready")
            _built = {name: _own_tag(tag, name) for name, tag in TEST_IMAGES.items()}
        return dict(_built)


def _progress(line: str) -> None:
    """Show build progress even under pytest's output capture (the real stderr)."""
    stream = sys.__stderr__
    if stream is not None:
        stream.write(f"[holdfast test images] {line}\n")
        stream.flush()


def _image_exists(tag: str) -> bool:
    result = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    return result.returncode == 0


def _run_build(say) -> tuple[int | None, str]:
    """Run build.sh, passing each output line to `say`; (exit code or None on timeout, output)."""
    process = subprocess.Popen(["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    timer = threading.Timer(BUILD_TIMEOUT, process.kill)
    timer.start()
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            say(lines[-1])
        process.wait()
    finally:
        timed_out = not timer.is_alive()
        timer.cancel()
    return (None if timed_out else process.returncode), "\n".join(lines)


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

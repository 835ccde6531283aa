"""Running the project's own Compose CLI, exactly as the project was started.

Recreating through Compose (not the SDK) keeps everything Compose owns right:
labels, config hash, networks, the next `docker compose up` seeing no drift.
It must be the same project name, files, project directory and env file the
containers carry in their labels, and the same engine holdfast talks to.
Both CLIs are supported: `docker compose` (v2) is tried first, then
`docker-compose` (v1, which keeps an old container's anonymous volume over a
new bind: the reason apply removes the container before `up`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field

from holdfast.apply.errors import Refused, StepFailed


@dataclass(frozen=True)
class ComposeCLI:
    argv: tuple[str, ...]
    version: str

    @property
    def v1(self) -> bool:
        return self.argv[-1] == "docker-compose"

    @property
    def display(self) -> str:
        return " ".join(self.argv)


FLAVOURS = {"v2": ("docker", "compose"), "v1": ("docker-compose",)}


def detect_cli(env: dict[str, str] | None = None, prefer: str | None = None) -> ComposeCLI | None:
    """The Compose CLI to run: `prefer` ("v1"/"v2"), else $HOLDFAST_COMPOSE, else v2 then v1.

    A flavour that was asked for and does not run gives None (the caller refuses),
    never the other flavour: recreating a v1 project with v2 renames its containers.
    """
    wanted = prefer or (env if env is not None else os.environ).get("HOLDFAST_COMPOSE") or None
    if wanted is not None and wanted not in FLAVOURS:
        raise Refused(f"unknown Compose flavour {wanted!r}: use v1 or v2")
    order = [wanted] if wanted else ["v2", "v1"]
    for flavour in order:
        argv = FLAVOURS[flavour]
        if not shutil.which(argv[0]):
            continue
        try:
            result = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True, timeout=60, env=env, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0 and result.stdout.strip():
            return ComposeCLI(argv, result.stdout.strip().splitlines()[0])
    return None


@dataclass
class ComposeProject:
    """One Compose project: how to address it on the command line."""

    cli: ComposeCLI
    name: str
    directory: str
    files: list[str]
    env_file: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def argv(self, *args: str) -> list[str]:
        out = [*self.cli.argv, "-p", self.name, "--project-directory", self.directory]
        for path in self.files:
            out += ["-f", path]
        if self.env_file:
            out += ["--env-file", self.env_file]
        return out + list(args)

    def text(self, *args: str) -> str:
        """The command as an operator would type it."""
        return shlex.join(self.argv(*args))

    def run(self, *args: str, timeout: int = 900) -> str:
        env = dict(os.environ)
        env.pop("COMPOSE_FILE", None)  # -f wins anyway; avoid surprising merges
        env.update(self.extra_env)
        try:
            result = subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout, env=env, cwd=self.directory, check=False)
        except subprocess.TimeoutExpired:
            raise StepFailed(f"`{self.text(*args)}` did not finish within {timeout}s") from None
        except OSError as exc:
            raise Refused(f"cannot run {self.cli.display}: {exc}") from None
        output = (result.stdout or "") + (result.stderr or "")
        if result.returncode != 0:
            raise ComposeFailed(f"`{self.text(*args)}` exited {result.returncode}: {_tail(output)}", output)
        return output


class ComposeFailed(StepFailed):
    """Compose exited non-zero; `output` keeps everything it printed."""

    def __init__(self, message: str, output: str):
        super().__init__(message)
        self.output = output

    @property
    def port_taken(self) -> bool:
        """The seed's 'port was still taken' error: a previous container still held the port for a moment."""
        text = self.output.lower()
        return "port is already allocated" in text or "address already in use" in text


def _tail(text: str, lines: int = 8) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())

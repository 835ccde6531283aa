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


LABEL_VERSION = "com.docker.compose.version"
NAMES = {"v2": "Compose v2 (`docker compose`)", "v1": "Compose v1 (`docker-compose`)"}


def flavour_of_version(version: str | None) -> str | None:
    """"1.29.2" -> "v1", "2.26.1" (or "v2.26.1") -> "v2"; None when it says nothing."""
    head = (version or "").strip().lstrip("vV").split(".", 1)[0]
    if not head.isdigit():
        return None
    return "v1" if int(head) < 2 else "v2"


def flavour_of_container(project: str, service: str, name: str, labels: dict[str, str]) -> str | None:
    """Which Compose created a container: its version label, else its name (`p_db_1` v1, `p-db-1` v2)."""
    found = flavour_of_version(labels.get(LABEL_VERSION))
    if found is not None:
        return found
    name = name.lstrip("/")
    if name.startswith(f"{project}_{service}_"):
        return "v1"
    if name.startswith(f"{project}-{service}-"):
        return "v2"
    return None


def project_flavour(containers: list) -> tuple[str | None, list[str]]:
    """The flavour that created a project's containers (`ContainerFacts`), and notes when they disagree."""
    counts: dict[str, list[str]] = {}
    for facts in containers:
        flavour = flavour_of_container(facts.project, facts.service, facts.name, facts.labels)
        if flavour is not None:
            counts.setdefault(flavour, []).append(facts.name)
    if not counts:
        return None, []
    if len(counts) == 1:
        return next(iter(counts)), []
    winner = max(counts, key=lambda k: (len(counts[k]), k))
    other = "v1" if winner == "v2" else "v2"
    return winner, [f"containers {', '.join(sorted(counts[other]))} were created by Compose {other}, the others by {winner}; using {winner}"]


def flavour_of_cli_text(text: str | None) -> str | None:
    """The flavour a plan's `compose_cli` names ("docker compose" / "docker-compose")."""
    argv = tuple((text or "").split())
    for flavour, known in FLAVOURS.items():
        if argv == known or (argv and os.path.basename(argv[-1]) == known[-1] and len(known) == 1):
            return flavour
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

"""The public Python API: lint files, fix text. Stable names, typed, no Docker.

    >>> from holdfast import fix_text
    >>> result = fix_text(open("docker-compose.yml").read(), "docker-compose.yml")
    >>> result.text            # the fixed text (BOM, newlines, comments kept)
    >>> result.fixed           # findings a fix removed
    >>> result.remaining       # findings still there after fixing
    >>> result.refused         # (finding, one-line reason) for fixes declined or dropped

`lint_paths` discovers and groups files exactly like `holdfast lint`. The fix
engine itself (several files, override files, forced major versions) is
`holdfast.fixing.fix_project`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from holdfast.config import Config
from holdfast.model import Finding

__all__ = ["FixResult", "fix_text", "lint_paths"]


@dataclass
class FixResult:
    """What `fix_text` did."""

    text: str  # the fixed text (unchanged when nothing could be fixed)
    fixed: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    refused: list[tuple[Finding, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # e.g. a dropped fix, a broken plugin

    @property
    def changed(self) -> bool:
        return bool(self.fixed)


def _configure(config: Config | None, select: Iterable[str] | None, ignore: Iterable[str] | None, start: str | None) -> Config:
    from holdfast.config import load_config

    if config is None:
        config = load_config(start=start) if start is not None else Config()
    changes: dict[str, object] = {}
    if select is not None:
        changes["select"] = tuple(code.strip().upper() for code in select)
    if ignore is not None:
        changes["ignore"] = config.ignore + tuple(code.strip().upper() for code in ignore)
    return config.with_overrides(**changes)


def lint_paths(
    paths: Iterable[str],
    *,
    config: Config | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
) -> list[Finding]:
    """Lint files and folders (folders are searched, base and override files merged).

    Without `config`, the nearest `.holdfast.toml` / `pyproject.toml` above the
    first path applies, as on the command line. `select`/`ignore` take rule codes
    or prefixes. Unreadable paths raise `holdfast.discovery.DiscoveryError` or
    `holdfast.document.DocumentError`.
    """
    from holdfast.discovery import discover, group_projects
    from holdfast.engine import Linter

    paths = list(paths)
    config = _configure(config, select, ignore, paths[0] if paths else None)
    linter = Linter(config)
    findings: list[Finding] = []
    for project in group_projects(discover(paths, config.is_excluded)):
        findings.extend(linter.lint_files(project).findings)
    findings.sort(key=Finding.sort_key)
    return findings


def fix_text(
    text: str,
    path: str = "compose.yaml",
    *,
    unsafe: bool = False,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    config: Config | None = None,
) -> FixResult:
    """Fix one compose file given as text; nothing is read from or written to `path`.

    `path` names the file in findings, and its folder is the project folder (a
    `.env` there is read, relative `build:` contexts resolve there). The default
    configuration applies unless `config` is given. A leading BOM stays, CRLF
    stays CRLF, and a missing final newline stays missing.
    """
    from holdfast.document import ComposeDocument
    from holdfast.engine import Linter
    from holdfast.fixing import FixSession

    config = _configure(config, select, ignore, None)
    document = ComposeDocument(path, text, real_path=os.path.abspath(path))
    session = FixSession(Linter(config), [document], {path}, project_dir=os.path.dirname(os.path.abspath(path)), unsafe=unsafe)
    outcome = session.run()
    final = outcome.documents[path]
    return FixResult(
        text=("\ufeff" if final.has_bom else "") + final.text,
        fixed=[applied.finding for applied in outcome.applied],
        remaining=outcome.remaining,
        refused=outcome.refused,
        notices=outcome.notices,
    )

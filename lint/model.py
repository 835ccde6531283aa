"""The core value types every stage shares: findings, fixes, rules and fixers.

Rules produce `Finding`s; fixers attach a `Fix` (text edits on the original text,
never a re-dump); reporters only read them. Keeping these in one small module
lets plugins depend on a stable surface.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

if TYPE_CHECKING:  # pragma: no cover - typing only
    from holdfast.document import ComposeDocument
    from holdfast.engine import LintContext


class Severity(enum.IntEnum):
    """Ordered so that `severity >= fail_level` decides the exit code."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use error, warning or info)") from None


class Applicability(str, enum.Enum):
    """How much a fix may be trusted; only SAFE fixes apply without --unsafe-fixes."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] of the ORIGINAL document text with `text`.

    Offsets are character offsets into `ComposeDocument.text` (the decoded text
    without the byte-order mark, newlines as in the file).
    """

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Fix:
    """A titled set of non-overlapping edits to one file."""

    title: str
    applicability: Applicability
    edits: tuple[Edit, ...]
    path: str | None = None  # None: the finding's own file
    refused: str | None = None  # why no edit could be made (display-only)


@dataclass
class Finding:
    """One problem at one place. The message states the problem, not the remedy."""

    code: str
    name: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    service: str | None = None
    yaml_path: tuple[Any, ...] = ()
    fix: Fix | None = None
    plan: bool = False  # a live-host plan can rescue the data (HF101/HF102)
    data: dict[str, Any] = field(default_factory=dict)  # facts for fixers/planners
    suppressed: bool = False  # matched a `# holdfast: ignore` comment: reported for audit, never fails
    suppression_reason: str = ""  # the comment's reason text

    @property
    def fingerprint(self) -> str:
        """Stable across line shifts: code + path + YAML path, never line numbers."""
        import hashlib

        key = "\x1f".join([self.code, self.path.replace("\\", "/"), *map(str, self.yaml_path)])
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

    @property
    def fixable(self) -> bool:
        return self.fix is not None and self.fix.applicability is not Applicability.DISPLAY_ONLY

    def sort_key(self) -> tuple[Any, ...]:
        return (self.path, self.line, self.column, self.code)


class Rule:
    """Base class of every rule, built-in or from a plugin.

    Subclasses set the class attributes and implement `check`, which yields
    findings made with `ctx.finding(...)`. The class docstring is the rule's
    documentation, in the sections What it does / Why it matters / Example /
    Use instead / Fix / References (shown by `holdfast rule CODE`).
    """

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    enabled_by_default: ClassVar[bool] = True
    fixable: ClassVar[bool] = False
    groups: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[dict[str, Any]] = {}  # option name -> default value
    # "document": runs on every file, even broken ones; "project": runs on the merged
    # project view, only when every file of the project parsed; "host": findings about
    # a live Docker host, produced by `holdfast inspect`, never by lint.
    scope: ClassVar[str] = "project"

    def check(self, ctx: "LintContext") -> Iterable[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0].strip() if doc else cls.name


class Fixer:
    """Base class of fixers: turn a finding into a `Fix` on its document.

    `edit` returns a Fix (possibly display-only with `refused` set when the
    fixer declines, e.g. inside `${...}`), or None when the finding is not its
    business.
    """

    codes: ClassVar[tuple[str, ...]] = ()

    def edit(self, document: "ComposeDocument", finding: Finding, options: dict[str, Any]) -> Fix | None:  # pragma: no cover
        raise NotImplementedError


@dataclass
class Report:
    """Everything a reporter needs, and nothing it must compute from the world."""

    findings: list[Finding]
    rules: dict[str, type[Rule]]  # every known rule by code (SARIF rule metadata, docs)
    files: list[str]  # the files that were linted, as displayed
    sources: dict[str, str]  # path -> document text, to show source lines and map fix offsets
    tool_version: str
    fail_level: Severity = Severity.ERROR
    color: bool = False
    statistics: bool = False
    notices: list[str] = field(default_factory=list)  # one-line warnings (a broken plugin, …)
    suppressed: list[Finding] = field(default_factory=list)  # silenced by inline comments (json/sarif keep them)

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.severity >= self.fail_level]

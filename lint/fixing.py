"""The fix engine: findings -> fixes -> text edits on the original text -> verified files.

Fixers never re-dump YAML (that loses comments, anchors, CRLF, the BOM and the
author's layout). A fixer returns a `Fix`: edits (character ranges of the file's
decoded text) plus an applicability. This module applies them and refuses to
trust them blindly:

* edits of one fix must not overlap; fixes of one pass that overlap (or touch
  the same service) wait for the next pass, whose findings are fresh;
* after applying, every changed file is re-parsed; a fix that makes a file
  unparseable, or changes its meaning beyond what the fix declares (its
  `MountIntent`: "service S may gain mounts at targets T, top-level volumes N
  may appear"; a fix without an intent must not change the data at all), is
  dropped with a one-line reason and the finding stays;
* the project is linted again and the fixed finding must be gone (the
  post-condition), otherwise the fix is rolled back;
* at most `MAX_PASSES` passes run, and a state seen before stops the loop.

Files are written atomically (temporary file + rename, mode kept), with the
BOM, newline style and final newline (or its absence) of the original, because
edits only ever insert text in the file's own newline style.

This module runs the loop; its parts live beside it: `holdfast.textedits` checks
and applies edits, `holdfast.fixverify` verifies a changed file against the fixes'
intents, and `holdfast.textdiff` renders `--diff`.

Entry points
------------
`fix_project(files, *, services, codes, unsafe, to_override, options)` is what
the live-host planner (`holdfast.apply`) calls: it reads the files, fixes the
chosen services and codes and returns a `FileChange` per changed or created
file, WITHOUT writing anything (call `FileChange.write()`). `options` may hold
`majors` ({service: major version}, to force a layout), `config` (a
`holdfast.config.Config`), `project_dir`, `bind_root`, `persistence`, and the
live-host pins `pins` ({service: image ref}, HF104's floating tag pinned to the
major the container runs) and `hostnames` ({service: hostname}). A pin rides
along with the service's mount fix when both edit the same file (one change,
verified against one `MountIntent` with `image`/`hostname`); otherwise it is
applied on its own after the passes, verified the same way
(`holdfast.fixers.live_pins`).

`FixSession.run(...)` is the lower-level loop the CLI and `holdfast.api` use; it
also reports what was fixed, refused and what remains.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from holdfast.discovery import BASE_NAMES, OVERRIDE_NAMES, existing_overrides, override_path_for
from holdfast.document import ComposeDocument
from holdfast.fixverify import Check, MountIntent, failing_checks, verify_change
from holdfast.model import Applicability, Edit, Finding, Fix
from holdfast.textedits import OverlapError, apply_edits, check_edits, decode, encode, overlaps

if TYPE_CHECKING:  # pragma: no cover
    from holdfast.config import Config
    from holdfast.engine import Linter
    from holdfast.project import Project

MAX_PASSES = 10
# Codes whose fix gives a data path a new mount: on a live project the data would have to move too.
DATA_CODES = ("HF101", "HF102", "HF105", "HF106")  # HF106: an application's data is data too


# --------------------------------------------------------------------------- values
@dataclass(frozen=True)
class MountFix(Fix):
    """A `Fix` that adds or moves mounts: carries its intent and a past-tense summary."""

    intent: MountIntent | None = None
    done: str = ""  # "uncommented the volumes block on lines 8-9"


@dataclass
class OverrideTarget:
    """Where `--to-override` writes: the override file, existing or about to be created."""

    path: str  # as displayed
    real_path: str | None
    document: ComposeDocument  # empty text when the file does not exist yet
    base: ComposeDocument  # the upstream file whose habits (indentation, newlines) to follow
    created: bool


@dataclass
class FileChange:
    """One file the fixes change (or create). Nothing is written until `write()`."""

    path: str  # as displayed
    real_path: str | None
    original_bytes: bytes
    new_bytes: bytes
    created: bool = False

    @property
    def changed(self) -> bool:
        return self.created or self.original_bytes != self.new_bytes

    def write(self, allow_readonly: bool = False) -> None:
        """Write keeping owner, group, mode and hard links; a read-only file is refused unless allowed."""
        from holdfast.fileio import write_bytes_atomic

        if self.real_path is None:
            raise ValueError(f"{self.path}: no file to write (standard input)")
        write_bytes_atomic(self.real_path, self.new_bytes, allow_readonly=allow_readonly)

    def diff(self) -> str:
        """A unified diff of the change, with git's marker for a missing final newline."""
        from holdfast.textdiff import unified_diff  # only --diff needs it; lint imports this module on every run

        fromfile = "/dev/null" if self.created else self.path
        return unified_diff(decode(self.original_bytes), decode(self.new_bytes), fromfile, self.path)


@dataclass
class AppliedFix:
    """A fix that was applied and verified."""

    finding: Finding
    fix: Fix
    path: str  # the file it edited

    @property
    def summary(self) -> str:
        done = getattr(self.fix, "done", "") or _past(self.fix.title)
        where = f" in service {self.finding.service}" if self.finding.service else ""
        return f"{self.path}: fixed {self.finding.code}{where} ({done})"


@dataclass
class FixOutcome:
    """Everything a run produced: file changes, applied fixes, refusals, what remains."""

    changes: list[FileChange]
    applied: list[AppliedFix]
    refused: list[tuple[Finding, str]]
    remaining: list[Finding]
    notices: list[str]
    documents: dict[str, ComposeDocument]  # final state, displayed path -> document
    unsafe_skipped: list[Finding] = field(default_factory=list)
    pinned: list[str] = field(default_factory=list)  # "path: pinned image: … in service S" (live-host pins applied on their own)


def _past(title: str) -> str:
    """"Uncomment the block" -> "uncommented the block" for the one-line summary."""
    word, _, rest = title.partition(" ")
    irregular = {"Add": "added", "Uncomment": "uncommented", "Replace": "replaced", "Move": "moved", "Bind-mount": "bind-mounted", "Mount": "mounted", "Remove": "removed", "Quote": "quoted"}
    past = irregular.get(word)
    if past is None:
        lower = word.lower()
        past = lower + ("d" if lower.endswith("e") else "ed")
    return f"{past} {rest}".strip()


# --------------------------------------------------------------------------- the loop
def _same_state(a: tuple[list[ComposeDocument], list[ComposeDocument], set[str]], b: tuple[list[ComposeDocument], list[ComposeDocument], set[str]]) -> bool:
    """The same document objects (documents are never edited in place) and the same requested paths."""
    return all(len(x) == len(y) and all(p is q for p, q in zip(x, y)) for x, y in zip(a[:2], b[:2])) and a[2] == b[2]


@dataclass
class _Candidate:
    finding: Finding
    fixer: Any
    fix: Fix
    path: str  # the file the edits apply to


class _Taken:
    """What one pass's batch already edits, so that a candidate is tested against all of it at once.

    Fixes conflict when their edits overlap, when one replaces text where another inserts,
    or when both carry an intent for the same service (one service per pass). Insertions
    at the same offset do not conflict: they go in in finding order (apply_edits keeps
    it), which is the order several passes would have given, and the batch is verified
    together (see `_apply_batch`). Comparing every candidate with every fix in the batch
    was quadratic.
    """

    def __init__(self) -> None:
        self.spans: dict[str, list[tuple[int, int]]] = {}  # path -> sorted, non-overlapping edit ranges
        self.replaced: dict[str, set[int]] = {}  # path -> starts of edits that replace text
        self.inserted: dict[str, set[int]] = {}  # path -> offsets of pure insertions
        self.services: set[str] = set()

    def conflicts(self, candidate: _Candidate) -> bool:
        intent = getattr(candidate.fix, "intent", None)
        if intent is not None and intent.service in self.services:
            return True
        spans = self.spans.get(candidate.path, [])
        replaced = self.replaced.get(candidate.path, set())
        inserted = self.inserted.get(candidate.path, set())
        for e in candidate.fix.edits:
            if e.start in replaced or (e.end > e.start and e.start in inserted) or overlaps(spans, (e.start, e.end)):
                return True
        return False

    def add(self, candidate: _Candidate) -> None:
        import bisect

        intent = getattr(candidate.fix, "intent", None)
        if intent is not None:
            self.services.add(intent.service)
        spans = self.spans.setdefault(candidate.path, [])
        for edit in candidate.fix.edits:
            if edit.end > edit.start:
                bisect.insort(spans, (edit.start, edit.end))
                self.replaced.setdefault(candidate.path, set()).add(edit.start)
            else:
                self.inserted.setdefault(candidate.path, set()).add(edit.start)


def finding_key(finding: Finding) -> tuple[Any, ...]:
    """Identity of a finding across passes: line numbers move, the service and data paths do not."""
    paths = tuple(finding.data.get("data_paths") or ()) if isinstance(finding.data, dict) else ()
    if finding.service is not None:
        return (finding.code, finding.service, paths)
    return (finding.code, finding.path, tuple(map(str, finding.yaml_path)), paths)


class FixSession:
    """Fix one project: documents in merge order, loop, verify, and report.

    `requested` are the displayed paths whose findings count (the files the user
    named); `project_dir` is Compose's project folder (relative binds resolve there).
    """

    def __init__(
        self,
        linter: Linter,
        documents: list[ComposeDocument],
        requested: set[str],
        *,
        project_dir: str | None = None,
        unsafe: bool = False,
        services: set[str] | None = None,
        codes: set[str] | None = None,
        to_override: bool = False,
        options: dict[str, Any] | None = None,
    ):
        self.linter = linter
        self.originals: dict[str, ComposeDocument] = {d.path: d for d in documents}
        self.order = [d.path for d in documents]
        self.current: dict[str, ComposeDocument] = dict(self.originals)
        self.requested = set(requested)
        self.project_dir = project_dir
        self.unsafe = unsafe
        self.services = services
        self.codes = {c.upper() for c in codes} if codes else None
        self.options = dict(options or {})
        self.notices: list[str] = []
        self.pinned: list[str] = []  # live-host pins applied on their own (not carried by a mount fix)
        self.nested: list[str] = []  # files reached through include/extends that a fix edits (not merged as top-level files)
        self.override: OverrideTarget | None = None
        self._linted: tuple[tuple[list[ComposeDocument], list[ComposeDocument], set[str]], list[Finding]] | None = None
        if to_override:
            self.override = self._override_target()

    # ------------------------------------------------------------------ setup
    def _override_target(self) -> OverrideTarget:
        """The file Compose loads last for this project: edit it, never create a second override.

        Several files given (`-f a -f b`, or a base and its override): the last one.
        One default-named base file: the override Compose would load beside it, whatever
        its name (Compose v2's order); only when none exists is one created.
        """
        base_path = self.order[0]
        base = self.current[base_path]
        if base.real_path is None:
            raise ValueError("--to-override needs files on disk, not standard input")
        existing = existing_overrides(base.real_path) if os.path.basename(base_path) in BASE_NAMES else []
        if len(existing) > 1:
            others = ", ".join(os.path.basename(p) for p in existing[1:])
            self.notices.append(f"Compose v2 loads {os.path.basename(existing[0])} and ignores {others}")
        last = self.current[self.order[-1]]
        if len(self.order) > 1:
            # the last file, unless it is an override Compose ignores for another one beside it
            ignored = _is_override_beside(last, base) and existing and os.path.abspath(existing[0]) != os.path.abspath(str(last.real_path))
            if not ignored:
                return OverrideTarget(last.path, last.real_path, last, base, created=False)
        if existing:
            real = existing[0]
            display = os.path.join(os.path.dirname(base_path), os.path.basename(real))
            doc = ComposeDocument.from_path(real, display=display)
            self._add_document(doc, created=False)
            return OverrideTarget(display, real, doc, base, created=False)
        display = override_path_for(base_path)
        real = override_path_for(base.real_path)
        empty = ComposeDocument(display, "", real_path=real)
        empty.newline = base.newline
        name = os.path.basename(base_path)
        if name not in BASE_NAMES:
            self.notices.append(f"{display}: Compose loads this override only when it is named with -f after {base_path}")
        return OverrideTarget(display, real, empty, base, created=True)

    def _add_document(self, document: ComposeDocument, created: bool) -> None:
        if document.path not in self.current:
            self.order.append(document.path)
        self.current[document.path] = document
        if created:
            self.originals.setdefault(document.path, ComposeDocument(document.path, "", real_path=document.real_path))
        else:
            self.originals.setdefault(document.path, document)
        self.requested.add(document.path)

    # ------------------------------------------------------------------ running
    def run(self) -> FixOutcome:
        applied: list[AppliedFix] = []
        refused: dict[tuple[Any, ...], tuple[Finding, str]] = {}
        unsafe_skipped: dict[tuple[Any, ...], Finding] = {}
        given_up: set[tuple[Any, ...]] = set()
        seen_states = {self._state_hash()}
        accepted: list[AppliedFix] = []
        blocked: dict[str, str] = self.options.get("blocked") or {}  # service -> why its data may not move (a live container)
        for _pass in range(MAX_PASSES):
            findings, project = self._lint()
            drafts = self._drafts(findings, project, given_up, blocked)
            candidates: list[_Candidate] = []
            for index, finding in enumerate(findings):
                key = finding_key(finding)
                if key in given_up or not self._wanted(finding):
                    continue
                if finding.service in blocked and finding.code in DATA_CODES:
                    refused[key] = (finding, blocked[finding.service])
                    given_up.add(key)
                    continue
                draft = drafts.get(index)
                if draft is not None:  # verified in the batch: its notices come now, in order
                    candidate, notices = draft
                    self.notices.extend(notices)
                else:
                    candidate = self._fix_for(finding, project)
                if isinstance(candidate, str):
                    refused[key] = (finding, candidate)
                    continue
                fix = candidate.fix
                if fix.applicability is Applicability.DISPLAY_ONLY or not fix.edits:
                    # not given up: another fix may change the text so that this one becomes possible
                    refused[key] = (finding, fix.refused or fix.title or "no automatic fix")
                    continue
                if fix.applicability is Applicability.UNSAFE and not self.unsafe:
                    unsafe_skipped[key] = finding
                    given_up.add(key)
                    continue
                candidates.append(candidate)
            if not candidates:
                break
            accepted = self._apply_batch(candidates, refused, given_up)
            applied.extend(accepted)
            if not accepted:
                continue
            state = self._state_hash()
            if state in seen_states:
                self.notices.append("fixes undo each other (the same text came back); stopped")
                break
            seen_states.add(state)
        else:
            if accepted:  # the last pass still changed something: more might follow
                self.notices.append(f"stopped after {MAX_PASSES} passes; some fixes may remain")
        self._pin_leftovers()
        final = self.linter.lint_documents(self._active(), self.requested, project_dir=self.project_dir, nested=self._nested())
        remaining = list(final.findings)
        for finding in remaining:
            if finding.service in blocked and finding.code in DATA_CODES:
                finding.fix = None  # not fixable by `holdfast fix` while the container holds the data
        left = {finding_key(f) for f in remaining}
        for note in final.notices:
            if note not in self.notices:
                self.notices.append(note)
        return FixOutcome(
            changes=self.changes(),
            applied=applied,
            refused=[value for key, value in refused.items() if key in left],
            remaining=remaining,
            notices=self.notices,
            documents=dict(self.current),
            unsafe_skipped=list(unsafe_skipped.values()),
            pinned=list(self.pinned),
        )

    def _wanted(self, finding: Finding) -> bool:
        if self.codes is not None and finding.code not in self.codes:
            return False
        if self.services is not None and finding.service not in self.services:
            return False
        return any(finding.code in getattr(fixer, "codes", ()) for fixer in self.linter.fixers)

    def _active(self) -> list[ComposeDocument]:
        """The documents to lint: an override that does not exist yet is left out until it has text."""
        return [
            self.current[p]
            for p in self.order
            if p in self.current and p not in self.nested and (self.current[p].text or self.originals.get(p) is self.current[p])
        ]

    def _nested(self) -> list[ComposeDocument]:
        """Included / extended files a fix edits: the project loads them through `include`/`extends`, as Compose does."""
        return [self.current[p] for p in self.nested if p in self.current]

    def _adopt_nested(self, path: str, project: Project | None) -> ComposeDocument | None:
        """The file a finding points into, when the project reached it through `include` or `extends`."""
        if project is None:
            return None
        for document in project.extra_documents:
            if document.path == path and document.path not in self.current:
                self.nested.append(document.path)
                self._add_document(document, created=False)
                return document
        return None

    def _lint(self) -> tuple[list[Finding], Project | None]:
        documents = self._active()
        return self._findings(documents), self._project(documents)

    def _findings(self, documents: list[ComposeDocument] | None = None) -> list[Finding]:
        """The findings of the current texts, linted once per state: a batch's post-condition and the next pass share them."""
        documents = self._active() if documents is None else documents
        nested = self._nested()
        state = (documents, nested, set(self.requested))
        if self._linted is not None and _same_state(self._linted[0], state):
            return self._linted[1]
        with_fixes = self.linter.with_fixes
        self.linter.with_fixes = False
        try:
            result = self.linter.lint_documents(documents, self.requested, project_dir=self.project_dir, nested=nested)
        finally:
            self.linter.with_fixes = with_fixes
        self._linted = (state, result.findings)
        return result.findings

    def _project(self, documents: list[ComposeDocument] | None = None) -> Project | None:
        from holdfast.project import Project

        documents = self._active() if documents is None else documents
        parsed = [d for d in documents if isinstance(d.data, dict)]
        project = None
        if parsed and len(parsed) == len(documents):
            nested = self._nested()
            cache = {os.path.abspath(d.real_path): d for d in parsed + nested if d.real_path} if nested else None
            try:
                project = Project.load(parsed, directory=self.project_dir, cache=cache)
            except Exception as exc:  # noqa: BLE001 - fixers fall back to a single-document view
                self.notices.append(f"could not assemble the project for fixing: {type(exc).__name__}: {exc}")
        return project

    def fix_options(self, project: Project | None) -> dict[str, Any]:
        options = self.linter.fix_options()
        options.update({k: v for k, v in self.options.items() if k in ("bind_root", "persistence", "majors", "pins", "hostnames")})
        options["project"] = project
        options["documents"] = dict(self.current)
        options["to_override"] = self.override is not None
        if self.override is not None:
            self.override.document = self.current.get(self.override.path, self.override.document)
            options["override"] = self.override
        return options

    def _drafts(self, findings: list[Finding], project: Project | None, given_up: set[tuple[Any, ...]], blocked: dict[str, str]) -> dict[int, tuple[_Candidate | str, list[str]]]:
        """{finding index: (fix or refusal, notices)} for the findings whose fixer's checks all pass.

        Fixers verify their edits before returning a fix (and fall back to another fix,
        or refuse, when the check fails). Asked one by one, that is one parse of the
        whole file per finding. Here every fixer runs with its checks recorded and
        answered "fine"; the checks are then verified together (`failing_checks`), and
        a finding with a failing check is left out: `run` asks its fixer again with
        real checks, so the outcome is the same as asking one by one.
        """
        pending: list[tuple[int, _Candidate | str, list[str], list[Check]]] = []
        for index, finding in enumerate(findings):
            if finding_key(finding) in given_up or not self._wanted(finding):
                continue
            if finding.service in blocked and finding.code in DATA_CODES:
                continue
            checks: list[Check] = []
            mark = len(self.notices)
            candidate = self._fix_for(finding, project, checks)
            notices = self.notices[mark:]
            del self.notices[mark:]
            pending.append((index, candidate, notices, checks))
        all_checks: list[Check] = []
        owner: list[int] = []
        for index, _candidate, _notices, checks in pending:
            all_checks.extend(checks)
            owner.extend([index] * len(checks))
        failed = {owner[i] for i in failing_checks(all_checks)}
        return {index: (candidate, notices) for index, candidate, notices, _checks in pending if index not in failed}

    def _fix_for(self, finding: Finding, project: Project | None, checks: list[Check] | None = None) -> _Candidate | str:
        """The fix for a finding, or why there is none (one line, shown by `holdfast fix`).

        With `checks`, the fixer's own verifications are recorded there (and pass) instead
        of being run: `_drafts` runs them for all findings at once.
        """
        document = self.current.get(finding.path) or self._adopt_nested(finding.path, project)
        if document is None:
            return f"{finding.path} is not one of the files Compose loads for this project"
        options = self.fix_options(project)
        if checks is not None:

            def record(before: ComposeDocument, edits: Iterable[Edit], intent: Any) -> None:
                checks.append(Check(before, tuple(edits), (intent,)))

            options["verify"] = record
        for fixer in self.linter.fixers:
            if finding.code not in getattr(fixer, "codes", ()):
                continue
            try:
                fix = fixer.edit(document, finding, options)
            except Exception as exc:  # noqa: BLE001 - a fixer bug must not stop the others
                self.notices.append(f"fixer for {finding.code} failed on {finding.path}: {type(exc).__name__}: {exc}")
                continue
            if fix is None:
                continue
            path = fix.path or finding.path
            return self._with_pins(_Candidate(finding, fixer, fix, path), options)
        return "no fixer knows how to fix this case"

    # ------------------------------------------------------------------ live-host pins
    def _pin_services(self) -> list[str]:
        """Services the options pin (`pins`: image, `hostnames`: hostname), in order, within `services`."""
        names = list(self.options.get("pins") or {}) + list(self.options.get("hostnames") or {})
        return [n for n in dict.fromkeys(names) if self.services is None or n in self.services]

    def _with_pins(self, candidate: _Candidate, options: dict[str, Any]) -> _Candidate:
        """A mount fix for a pinned service also carries the pins when they are in the same file: one verified change."""
        from holdfast.fixers._layout import Refusal
        from holdfast.fixers.live_pins import describe, live_pin_fixes

        fix = candidate.fix
        intent = getattr(fix, "intent", None)
        if not isinstance(fix, MountFix) or intent is None or not fix.edits or intent.service not in self._pin_services():
            return candidate
        try:
            pins = live_pin_fixes(options.get("project"), options, intent.service)
        except Refusal:
            return candidate  # said once, by `_pin_leftovers`
        if len(pins) != 1 or pins[0].path != candidate.path or pins[0].intent is None:
            return candidate  # another file (or nothing to do): applied on its own after the passes
        pin = pins[0]
        document = self._document_for(candidate.path)
        if document is None:
            return candidate
        edits = tuple(pin.edits) + tuple(fix.edits)  # at one offset the pin goes first: `hostname:` right under `image:`
        merged_intent = MountIntent(intent.service, intent.targets, intent.volumes, pin.intent.image, pin.intent.hostname)
        try:
            after = self._applied(document, edits)
        except OverlapError:
            return candidate
        if verify_change(document if document.text else None, after, [merged_intent]) is not None:
            return candidate
        shown = describe(merged_intent)
        merged = MountFix(
            title=f"{fix.title}; pin {shown}",
            applicability=fix.applicability,
            edits=edits,
            path=fix.path,
            intent=merged_intent,
            done=f"{fix.done or _past(fix.title)}; pinned {shown}",
        )
        return _Candidate(candidate.finding, candidate.fixer, merged, candidate.path)

    def _pin_leftovers(self) -> None:
        """Pins no mount fix carried (no mount fix for the service, or the value is in another file): verified on their own."""
        from holdfast.fixers._layout import Refusal
        from holdfast.fixers.live_pins import live_pin_fixes

        for name in self._pin_services():
            project = self._project()
            options = self.fix_options(project)
            try:
                fixes = live_pin_fixes(project, options, name)
            except Refusal as exc:
                self.notices.append(f"did not pin service {name}: {exc}")
                continue
            for fix in fixes:
                path = fix.path or ""
                before = self._document_for(path)
                if before is None:
                    self.notices.append(f"did not pin service {name}: {path} is not part of the project")
                    continue
                try:
                    after = self._applied(before, fix.edits)
                except OverlapError as exc:
                    self.notices.append(f"{path}: did not pin service {name}: malformed edit ({exc})")
                    continue
                reason = verify_change(before if before.text else None, after, [fix.intent])
                if reason is not None:
                    self.notices.append(f"{path}: did not pin service {name}: {reason}")
                    continue
                if path not in self.current:
                    self._add_document(after, created=True)
                self.current[path] = after
                self.pinned.append(f"{path}: {fix.done} in service {name}")

    def _document_for(self, path: str) -> ComposeDocument | None:
        document = self.current.get(path)
        if document is None and self.override is not None and path == self.override.path:
            document = self.override.document
        return document

    def _apply_batch(self, candidates: list[_Candidate], refused: dict[tuple[Any, ...], tuple[Finding, str]], given_up: set[tuple[Any, ...]]) -> list[AppliedFix]:
        """Apply as many non-conflicting fixes as possible; verify; drop the ones that fail."""
        batch: list[_Candidate] = []
        taken = _Taken()
        for candidate in candidates:
            document = self._document_for(candidate.path)
            if document is None:
                self._drop(candidate, f"the fix edits {candidate.path}, which is not part of the project", refused, given_up)
                continue
            try:
                check_edits(candidate.fix.edits, len(document.text))
            except OverlapError as exc:
                self._drop(candidate, f"the fixer produced a malformed fix: {exc}", refused, given_up)
                continue
            if taken.conflicts(candidate):
                continue  # next pass, on fresh findings
            taken.add(candidate)
            batch.append(candidate)
        while batch:
            documents, failure = self._try(batch)
            if failure is not None:
                culprit, reason = failure
                if culprit is None and len(batch) > 1:  # each fix passes alone, not all together: the rest waits for the next pass
                    batch = self._longest_verified_prefix(batch)
                    continue
                culprit = culprit or batch[0]
                self._drop(culprit, reason, refused, given_up)
                batch = [c for c in batch if c is not culprit]
                continue
            previous = dict(self.current)
            previous_order = list(self.order)
            for path, document in documents.items():
                if path not in self.current:
                    self._add_document(document, created=True)
                self.current[path] = document
            present = {finding_key(f) for f in self._findings()}
            still = [c for c in batch if finding_key(c.finding) in present]
            if still:
                self.current = previous
                self.order = previous_order
                for candidate in still:
                    self._drop(candidate, "the fix did not remove the finding", refused, given_up)
                batch = [c for c in batch if c not in still]
                continue
            return [AppliedFix(c.finding, c.fix, c.path) for c in batch]
        return []

    def _try(self, batch: list[_Candidate]) -> tuple[dict[str, ComposeDocument], tuple[_Candidate | None, str] | None]:
        """Apply the batch file by file; on failure, find a fix that fails on its own (None: only together)."""
        by_path: dict[str, list[_Candidate]] = {}
        for candidate in batch:
            by_path.setdefault(candidate.path, []).append(candidate)
        out: dict[str, ComposeDocument] = {}
        for path, group in by_path.items():
            before = self._document_for(path)
            assert before is not None
            after = self._applied(before, [e for c in group for e in c.fix.edits])
            reason = verify_change(before if before.text else None, after, [getattr(c.fix, "intent", None) for c in group])
            if reason is None:
                out[path] = after
                continue
            # who is to blame? the first fix that fails on its own
            failing = failing_checks([Check(before, tuple(c.fix.edits), (getattr(c.fix, "intent", None),)) for c in group])
            if failing:
                first = min(failing)
                return out, (group[first], failing[first])
            return out, (None, reason)
        return out, None

    def _longest_verified_prefix(self, batch: list[_Candidate]) -> list[_Candidate]:
        """The longest head of `batch` that verifies together (at least one fix), found by bisection.

        Fixes that each pass alone but clash together (two that both create a top-level
        `volumes:` key) are not given up: the ones left out come back in the next pass,
        on fresh findings.
        """
        good, bad = 1, len(batch)  # batch[:bad] fails; the first fix passes alone
        while bad - good > 1:
            middle = (good + bad) // 2
            if self._try(batch[:middle])[1] is None:
                good = middle
            else:
                bad = middle
        return batch[:good]

    @staticmethod
    def _applied(before: ComposeDocument, edits: Iterable[Edit]) -> ComposeDocument:
        text = apply_edits(before.text, edits)
        after = ComposeDocument(before.path, text, has_bom=before.has_bom, real_path=before.real_path)
        if not text and before.newline:
            after.newline = before.newline
        return after

    def _drop(self, candidate: _Candidate, reason: str, refused: dict[tuple[Any, ...], tuple[Finding, str]], given_up: set[tuple[Any, ...]]) -> None:
        key = finding_key(candidate.finding)
        given_up.add(key)
        where = f" in service {candidate.finding.service}" if candidate.finding.service else ""
        refused[key] = (candidate.finding, f"fix dropped: {reason}")
        self.notices.append(f"{candidate.path}: dropped the fix for {candidate.finding.code}{where}: {reason}")

    def _state_hash(self) -> str:
        import hashlib

        digest = hashlib.sha256()
        for path in self.order:
            document = self.current.get(path)
            if document is not None:
                digest.update(path.encode("utf-8", "replace") + b"\0" + document.text.encode("utf-8", "replace") + b"\0")
        return digest.hexdigest()

    # ------------------------------------------------------------------ output
    def changes(self) -> list[FileChange]:
        out: list[FileChange] = []
        for path in self.order:
            document = self.current.get(path)
            original = self.originals.get(path)
            if document is None or original is None:
                continue
            created = self.override is not None and self.override.created and path == self.override.path
            if not created and document.text == original.text:
                continue
            if created and not document.text:
                continue
            original_bytes = b"" if created else encode(original, original.text)
            out.append(FileChange(path, document.real_path, original_bytes, encode(document, document.text), created))
        return out


def _is_override_beside(document: ComposeDocument, base: ComposeDocument) -> bool:
    """Whether `document` is one of the override names, in the base file's folder."""
    if not document.real_path or not base.real_path:
        return False
    same = os.path.dirname(os.path.abspath(document.real_path)) == os.path.dirname(os.path.abspath(base.real_path))
    return same and os.path.basename(document.real_path) in OVERRIDE_NAMES


# --------------------------------------------------------------------------- API for apply/
def fix_project(
    files: list[str],
    *,
    services: set[str] | None = None,
    codes: set[str] | None = None,
    unsafe: bool = False,
    to_override: bool = False,
    options: dict[str, Any] | None = None,
) -> list[FileChange]:
    """The changes that fix `files` (one project, in merge order), without writing them.

    `options`: `majors` ({service: int}) forces a layout per service; `config`
    (a Config) and `project_dir` default to the configuration found from the
    first file and that file's folder; `bind_root`/`persistence` override the
    configuration's `fix.bind-root`/`fix.persistence`; `pins` ({service: image
    ref}) and `hostnames` ({service: hostname}) set those keys of the chosen
    services (live-host pins).
    """
    return fix_project_outcome(files, services=services, codes=codes, unsafe=unsafe, to_override=to_override, options=options).changes


def fix_project_outcome(
    files: list[str],
    *,
    services: set[str] | None = None,
    codes: set[str] | None = None,
    unsafe: bool = False,
    to_override: bool = False,
    options: dict[str, Any] | None = None,
    linter: Linter | None = None,
    requested: set[str] | None = None,
) -> FixOutcome:
    """Like `fix_project`, with the full outcome (applied, refused, remaining, notices)."""
    from holdfast.config import load_config
    from holdfast.engine import Linter

    options = dict(options or {})
    if not files:
        raise ValueError("no compose files given")
    config: Config = options.pop("config", None) or load_config(start=files[0])
    if linter is None:
        linter = Linter(config)
    documents = [ComposeDocument.from_path(path, max_bytes=config.max_file_size) for path in files]
    project_dir = options.pop("project_dir", None) or os.path.dirname(os.path.abspath(files[0]))
    session = FixSession(
        linter,
        documents,
        requested if requested is not None else set(files),
        project_dir=project_dir,
        unsafe=unsafe,
        services=services,
        codes=codes,
        to_override=to_override,
        options=options,
    )
    return session.run()


__all__ = [
    "DATA_CODES",
    "MAX_PASSES",
    "AppliedFix",
    "FileChange",
    "FixOutcome",
    "FixSession",
    "MountFix",
    "MountIntent",
    "OverlapError",
    "OverrideTarget",
    "apply_edits",
    "check_edits",
    "fix_project",
    "fix_project_outcome",
    "override_path_for",
    "verify_change",
]

"""The lint run: files -> projects -> rules -> findings, filtered by config and suppressions.

This is the one place that decides which findings a user sees: rule selection,
severity overrides, per-file ignores, inline suppressions (and HF000 for the
ones that matched nothing), and which findings carry a fix.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable

from holdfast.config import Config, ConfigError
from holdfast.discovery import ProjectFiles
from holdfast.document import ComposeDocument, Span
from holdfast.model import Finding, Fix, Rule, Severity
from holdfast.project import Origin, Project
from holdfast.suppressions import Suppression, parse_suppressions

if TYPE_CHECKING:  # pragma: no cover
    from holdfast.knowledge import Knowledge
    from holdfast.plugins import PluginSet


class LintContext:
    """What a rule sees: the project, the documents to check, knowledge and its options.

    A plain class, not a dataclass: one is made per rule and run, and a dataclass
    definition costs about a millisecond of every cold start.
    """

    def __init__(self, project: Project, documents: list[ComposeDocument], knowledge: "Knowledge", config: Config, rule: type[Rule], options: dict[str, Any]) -> None:
        self.project = project
        self.documents = documents  # every document of the project (rules report anywhere; the engine filters)
        self.knowledge = knowledge
        self.config = config
        self.rule = rule
        self.options = options

    def finding(
        self,
        where: ComposeDocument | Origin,
        yaml_path: tuple[Any, ...] = (),
        message: str = "",
        *,
        service: str | None = None,
        data: dict[str, Any] | None = None,
        span: Span | None = None,
        plan: bool = False,
        line: int | None = None,
        column: int | None = None,
    ) -> Finding:
        """A finding of the running rule, located at a YAML path (or an explicit span/line)."""
        if isinstance(where, Origin):
            document, yaml_path = where.document, where.path + tuple(yaml_path)
        else:
            document = where
        if span is None:
            if line is not None:
                offset = document.offset(line, column or 1)
                span = Span(line, column or 1, line, (column or 1), offset, offset)
            else:
                span = document.locate(*yaml_path)
        if service and self.rule.code.startswith("HF1"):
            message += self.project.profile_note(service)  # a data-safety finding on a service Compose starts only under a profile
        return Finding(
            code=self.rule.code,
            name=self.rule.name,
            severity=self.rule.severity,
            message=message,
            path=document.path,
            line=span.line,
            column=span.column,
            end_line=span.end_line,
            end_column=span.end_column,
            service=service,
            yaml_path=tuple(yaml_path),
            plan=plan,
            data=data or {},
        )


    def load_problems(self, code: str) -> Iterable[Finding]:
        """Findings for the problems the documents met while loading (HF001-HF003), as recorded."""
        for document in self.documents:
            for problem in document.problems:
                if problem.code == code:
                    span = Span(problem.line, problem.column, problem.end_line or problem.line, problem.end_column or problem.column, 0, 0)
                    yield self.finding(document, problem.yaml_path, problem.message, span=span)


class LintResult:
    """What one project's lint produced (a plain class: a dataclass definition costs
    about a millisecond of every cold start)."""

    def __init__(self, findings: list[Finding], documents: dict[str, ComposeDocument], notices: list[str] | None = None, suppressed: list[Finding] | None = None) -> None:
        self.findings = findings
        self.documents = documents  # displayed path -> document (for reporters and fixes)
        self.notices = [] if notices is None else notices
        self.suppressed = [] if suppressed is None else suppressed  # matched an inline ignore; kept for the audit trail


class Linter:
    """Holds what is expensive to build once per run: plugins, rules, knowledge, fixers."""

    def __init__(self, config: Config, plugins: "PluginSet | None" = None, *, with_fixes: bool = True):
        from holdfast.plugins import load_plugins

        self.config = config
        self.plugins = plugins or load_plugins()
        self.rules: dict[str, type[Rule]] = self.plugins.rules()
        self.notices = list(self.plugins.warnings)
        self.with_fixes = with_fixes
        self._knowledge: Knowledge | None = None
        self._fixers: list[Any] | None = None
        self._check_options()

    # ------------------------------------------------------------------ setup
    @property
    def knowledge(self) -> "Knowledge":
        if self._knowledge is None:
            from holdfast.knowledge import Knowledge, builtin_entries, entry_from_config

            entries = list(builtin_entries())
            entries.extend(self.plugins.images())
            for name, table in self.config.images.items():
                try:
                    entries.append(entry_from_config(name, table))
                except ValueError as exc:
                    raise ConfigError(f"{self.config.path or 'configuration'}: {exc}") from None
            self._knowledge = Knowledge(entries)
        return self._knowledge

    @property
    def fixers(self) -> list[Any]:
        if self._fixers is None:
            self._fixers = self.plugins.fixers()
        return self._fixers

    def _check_options(self) -> None:
        unknown = self.config.check_codes(self.rules)
        if unknown and any(p.error for p in self.plugins.loaded):
            # a plugin that failed to load may own the code: warn, do not break everyone's run
            self.notices.extend(f"{line} (a plugin failed to load; it may define it)" for line in unknown)
        elif unknown:
            raise ConfigError(unknown[0])
        for code, options in self.config.rule_options.items():
            rule = self.rules.get(code)
            if rule is None:
                raise ConfigError(f"{self.config.path or 'configuration'}: [tool.holdfast.rules.{code}]: no such rule")
            unknown = sorted(set(options) - set(rule.options))
            if unknown:
                known = ", ".join(sorted(rule.options)) or "none"
                raise ConfigError(f"{self.config.path or 'configuration'}: unknown option '{unknown[0]}' for {code} (known: {known})")
            validate = getattr(rule, "validate_options", None)
            if validate is not None:
                try:
                    validate({**rule.options, **options})
                except ValueError as exc:
                    raise ConfigError(f"{self.config.path or 'configuration'}: [tool.holdfast.rules.{code}]: {exc}") from None

    def selected_rules(self) -> list[type[Rule]]:
        return [rule for code, rule in sorted(self.rules.items()) if self.config.is_selected(code, rule.enabled_by_default)]

    def options_for(self, rule: type[Rule]) -> dict[str, Any]:
        options = dict(rule.options)
        options.update(self.config.rule_options.get(rule.code, {}))
        if rule.code.startswith("HF1"):
            options.setdefault("persistence", self.config.persistence)
        return options

    # -------------------------------------------------------------------- run
    def load_documents(self, files: ProjectFiles, stdin: tuple[str, bytes] | None = None) -> list[ComposeDocument]:
        documents = []
        for path in files.files:
            if path == "-" and stdin is not None:
                name, raw = stdin
                real = os.path.abspath(name) if name != "-" else None
                documents.append(ComposeDocument.from_bytes(raw, name, real_path=real, max_bytes=self.config.max_file_size))
            else:
                documents.append(ComposeDocument.from_path(path, max_bytes=self.config.max_file_size))
        return documents

    def lint_files(self, files: ProjectFiles, stdin: tuple[str, bytes] | None = None, project_dir: str | None = None) -> LintResult:
        documents = self.load_documents(files, stdin)
        requested = {d.path for d, p in zip(documents, files.files) if p in files.requested or p == "-"}
        return self.lint_documents(documents, requested, project_dir=project_dir or files.directory, selection=files if files.env is not None else None)

    def lint_documents(self, documents: list[ComposeDocument], requested: set[str], project_dir: str | None = None, selection: ProjectFiles | None = None, nested: Iterable[ComposeDocument] = ()) -> LintResult:
        """Lint one project. `nested`: edited versions of files reached through `include`/`extends` (the fixer's)."""
        parsed = [d for d in documents if d.data is not None and isinstance(d.data, dict)]
        project_ok = len(parsed) == len(documents)
        directory = project_dir
        if directory is None:
            first = documents[0]
            directory = os.path.dirname(first.real_path) if first.real_path else os.getcwd()
        nested = list(nested)
        cache = {os.path.abspath(d.real_path): d for d in parsed + nested if d.real_path} if nested else None
        project = Project.load(parsed or documents[:1], directory=directory, cache=cache, selection=selection) if parsed else Project("", directory, [], {})
        project.extra_documents.extend(d for d in nested if d not in project.extra_documents and d not in documents)
        all_documents = list(documents) + [d for d in project.extra_documents if d not in documents]
        findings: list[Finding] = []
        for rule in self.selected_rules():
            if rule.scope == "host" or (rule.scope == "project" and not project_ok):
                continue  # host rules belong to `holdfast inspect`
            ctx = LintContext(project, all_documents, self.knowledge, self.config, rule, self.options_for(rule))
            try:
                findings.extend(rule().check(ctx))
            except Exception as exc:  # noqa: BLE001 - a rule bug becomes a notice, not a traceback
                self.notices.append(f"rule {rule.code} failed on {documents[0].path}: {type(exc).__name__}: {exc}")
        self.notices.extend(n for n in project.__dict__.get("notices", ()) if n not in self.notices)  # e.g. an unreadable Dockerfile
        # Files reached through `extends: file:` and `include:` belong to the project being
        # linted: a problem that must be fixed there is reported there.
        reported = set(requested) | {d.path for d in project.extra_documents}
        findings = [f for f in findings if f.path in reported]
        for finding in findings:
            override = self.config.severity.get(finding.code)
            if override is not None:
                finding.severity = override
        ignored: dict[tuple[str, str], bool] = {}  # asked once per (code, file), not per finding
        for finding in findings:
            key = (finding.code, finding.path)
            if key not in ignored:
                ignored[key] = self.config.ignored_for_file(finding.code, finding.path)
        findings = [f for f in findings if not ignored[(f.code, f.path)]]
        by_path = {d.path: d for d in all_documents}
        suppressed: list[Finding] = []
        findings = self._apply_suppressions(findings, [by_path[p] for p in reported if p in by_path], project, suppressed)
        if self.with_fixes:
            self._attach_fixes(findings, by_path, project)
        findings.sort(key=Finding.sort_key)
        return LintResult(findings, by_path, self.notices, sorted(suppressed, key=Finding.sort_key))

    # ----------------------------------------------------------- suppressions
    def _apply_suppressions(self, findings: list[Finding], documents: list[ComposeDocument], project: Project, suppressed_out: list[Finding] | None = None) -> list[Finding]:
        kept: list[Finding] = []
        suppressions: dict[str, list[Suppression]] = {}
        spans: dict[tuple[str, str], tuple[int, int]] = {}
        for document in documents:
            if "holdfast:" not in document.text:
                continue  # no directive: nothing to match, nothing to report as unused
            service_lines: dict[int, str] = {}
            for name, key_node, value_node in _service_nodes(document):
                line = key_node.start_mark.line + 1
                service_lines[line] = name
                spans[(document.path, name)] = (line, document.span(value_node).end_line)
            suppressions[document.path] = parse_suppressions(document, service_lines)
        for finding in findings:
            suppressed = False
            for item in suppressions.get(finding.path, []):
                if not item.covers(finding.code):
                    continue
                hit = item.file_wide or item.line == finding.line
                if not hit and item.service is not None:
                    start, end = spans.get((finding.path, item.service), (0, -1))
                    hit = finding.service == item.service or start <= finding.line <= end
                if hit:
                    item.used.add(finding.code)
                    if not suppressed:
                        finding.suppression_reason = item.reason
                    suppressed = True
            if not suppressed:
                kept.append(finding)
            elif suppressed_out is not None:
                finding.suppressed = True
                suppressed_out.append(finding)
        unused_rule = self.rules.get("HF000")
        if unused_rule is not None and self.config.is_selected("HF000", unused_rule.enabled_by_default):
            for path, items in suppressions.items():
                for item in items:
                    if item.used:
                        continue
                    codes = item.codes or ("all codes",)
                    # a code that did not run cannot prove the suppression useless
                    ran = [c for c in item.codes if c in self.rules and self.config.is_selected(c, self.rules[c].enabled_by_default)]
                    if item.codes and not ran:
                        continue
                    what = "file-ignore" if item.file_wide else "ignore"
                    line = item.comment_line
                    kept.append(
                        Finding(
                            "HF000",
                            unused_rule.name,
                            self.config.severity.get("HF000", unused_rule.severity),
                            f"unused suppression `{what}[{', '.join(codes)}]`: nothing to suppress here",
                            path,
                            line,
                            item.column,
                            line,
                            item.end_column,
                        )
                    )
        return kept

    # ------------------------------------------------------------------ fixes
    def _attach_fixes(self, findings: Iterable[Finding], documents: dict[str, ComposeDocument], project: Project | None = None) -> None:
        options = self.fix_options()
        options["project"] = project  # fixers judge the merged project, like `holdfast fix`
        options["verify"] = False  # lint shows fixability; `holdfast fix` verifies every edit
        for finding in findings:
            document = documents.get(finding.path)
            if document is None:
                continue
            for fixer in self.fixers:
                if finding.code not in getattr(fixer, "codes", ()):
                    continue
                try:
                    fix: Fix | None = fixer.edit(document, finding, options)
                except Exception as exc:  # noqa: BLE001 - a fixer bug must not hide the finding
                    self.notices.append(f"fixer for {finding.code} failed on {finding.path}: {type(exc).__name__}: {exc}")
                    continue
                if fix is not None:
                    finding.fix = fix
                    break

    def fix_options(self) -> dict[str, Any]:
        return {
            "bind_root": self.config.fix_bind_root,
            "persistence": self.config.fix_persistence,
            "knowledge": self.knowledge,
        }


PARALLEL_MIN_PROJECTS = 8

# Set in the parent just before forking, read by the workers (fork shares it for free).
_FORK_STATE: tuple[list[tuple["Linter", ProjectFiles]], tuple[str, bytes] | None] | None = None


def _lint_one(index: int) -> tuple[list[Finding], dict[str, str], list[str], list[str], bool]:
    jobs, stdin = _FORK_STATE  # type: ignore[misc]
    linter, project = jobs[index]
    before = len(linter.notices)
    result = linter.lint_files(project, stdin)
    sources = {path: document.text for path, document in result.documents.items()}
    displayed = [stdin[0] if p == "-" and stdin else p for p in project.files if p in project.requested or p == "-"]
    failing = any(f.severity >= linter.config.fail_level for f in result.findings)
    return result.findings + result.suppressed, sources, displayed, linter.notices[before:], failing


def _lint_one_in_worker(index: int) -> tuple[list[Finding], dict[str, str], list[str], list[str], bool]:
    """`_lint_one` for a worker process: its results must pickle back to the parent.

    A fixer's own Fix subclass may carry what only `holdfast fix` uses (an intent
    holding a closure, which does not pickle); a lint report reads only the plain
    Fix fields, so that is what crosses the process boundary.
    """
    found, *rest = _lint_one(index)
    for finding in found:
        fix = finding.fix
        if fix is not None and type(fix) is not Fix:
            finding.fix = Fix(fix.title, fix.applicability, fix.edits, fix.path, fix.refused)
    return (found, *rest)  # type: ignore[return-value]


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, e.g. a container's cpuset), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def lint_many(jobs: list[tuple[Linter, ProjectFiles]], stdin: tuple[str, bytes] | None = None, workers: int | None = None) -> tuple[list[Finding], dict[str, str], list[str], bool]:
    """Lint every project; many projects are spread over `workers` forked processes.

    Projects are independent, so a CI check over a whole repository uses every CPU
    it may (`--jobs`, default: the affinity mask). Each worker takes contiguous
    chunks of projects, so start-up and knowledge are paid once per worker. Where fork
    is unavailable, for one worker, or for a handful of files it runs in this process.
    The findings include the suppressed ones (`finding.suppressed`), which never
    make a run fail; the reporters show them for the audit trail.
    """
    global _FORK_STATE

    workers = workers if workers is not None else available_cpus()
    results = []
    workers = max(1, min(workers, len(jobs)))
    use_pool = len(jobs) >= PARALLEL_MIN_PROJECTS and workers > 1 and hasattr(os, "fork")
    if use_pool:
        import multiprocessing  # only here: it costs more to import than linting one small file
        from concurrent.futures import ProcessPoolExecutor

        for linter, _ in jobs:
            linter.knowledge  # noqa: B018 - build once before forking
        _FORK_STATE = (jobs, stdin)
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
                results = list(pool.map(_lint_one_in_worker, range(len(jobs)), chunksize=max(1, len(jobs) // (workers * 4))))
        finally:
            _FORK_STATE = None
    else:
        _FORK_STATE = (jobs, stdin)
        try:
            results = [_lint_one(i) for i in range(len(jobs))]
        finally:
            _FORK_STATE = None
    findings: list[Finding] = []
    seen: set[tuple[Any, ...]] = set()
    sources: dict[str, str] = {}
    displayed: list[str] = []
    failing = False
    notices = jobs[0][0].notices if jobs else []
    for found, texts, shown, new_notices, job_failing in results:
        for finding in found:  # a file included by two linted projects is reported once
            key = (finding.code, finding.path, finding.line, finding.column, finding.message)
            if key not in seen:
                seen.add(key)
                findings.append(finding)
        sources.update(texts)
        displayed.extend(shown)
        notices.extend(n for n in new_notices if n not in notices)
        failing = failing or job_failing
    return findings, sources, displayed, failing


def _service_nodes(document: ComposeDocument) -> list[tuple[str, Any, Any]]:
    """(name, key node, value node) of every service, in one pass over the mapping."""
    from ruamel.yaml.nodes import MappingNode

    from holdfast.document import iter_pairs
    from holdfast.project import is_legacy_v1

    mapping = document.root if is_legacy_v1(document.data) else document.node("services")
    if not isinstance(mapping, MappingNode):
        return []
    return [(str(k.value), k, v) for k, v in iter_pairs(mapping) if not str(k.value).startswith("x-") or mapping is not document.root]


def exit_code(findings: list[Finding], fail_level: Severity) -> int:
    return 1 if any(f.severity >= fail_level for f in findings) else 0

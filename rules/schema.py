"""HF002: the file violates the Compose Specification schema."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class ComposeSchemaViolation(Rule):
    """The file does not follow the Compose Specification.

    ## What it does
    Validates every file against the Compose Specification JSON schema (shipped
    with holdfast) and reports EVERY violation at the offending key, naming it:
    unknown keys, wrong types, missing required keys, invalid values. Also reports
    a top level that is not a mapping, an empty file, and project problems Compose
    would stop on (an `extends` of a missing service, an unreadable `include`).

    ## Why it matters
    Compose refuses an invalid file, or worse, an older Compose silently ignores
    a misspelt key such as `volume:` and the database runs without its mount.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
        volume:                      # misspelt: not a Compose key
          - ./pg:/var/lib/postgresql/data
    ```

    ## Use instead
    ```yaml
        volumes:
          - ./pg:/var/lib/postgresql/data
    ```

    ## Fix
    None.

    ## References
    - https://github.com/compose-spec/compose-spec/blob/main/spec.md
    """

    code = "HF002"
    name = "compose-schema-violation"
    severity = Severity.ERROR
    scope = "document"

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.project import is_legacy_v1
        from holdfast.schema import schema_errors

        yield from ctx.load_problems(self.code)
        for document in ctx.documents:
            if is_legacy_v1(document.data):
                yield ctx.finding(
                    document,
                    (),
                    "legacy Compose file format v1 (services at the top level, no `services:` key); Compose v2 and later refuse it",
                    line=1,
                )
            elif isinstance(document.data, dict):
                for path, message in schema_errors(document.data):
                    service = path[1] if len(path) > 1 and path[0] == "services" else None
                    yield ctx.finding(document, path, message, service=service)
        for problem in ctx.project.problems:
            yield ctx.finding(problem.origin, (), problem.message)

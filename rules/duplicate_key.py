"""HF003: the same key twice in one mapping."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class DuplicateKey(Rule):
    """A mapping defines the same key twice.

    ## What it does
    Reports the second occurrence of a key in one mapping, with the line of the first.

    ## Why it matters
    Compose rejects such a file ("mapping key already defined"); other YAML tools
    silently keep one of the two values, so the file means different things to
    different tools. A duplicated `volumes:` key under a database is a classic way
    to lose the data mount without noticing.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
        volumes: [./pg:/var/lib/postgresql/data]
        volumes: [./backup:/backup]
    ```

    ## Use instead
    One key, with every entry in it.

    ## Fix
    None: which value was meant is a human decision.

    ## References
    - YAML 1.2, section 3.2.1.1 (mapping keys are unique)
    """

    code = "HF003"
    name = "duplicate-key"
    severity = Severity.ERROR
    scope = "document"

    def check(self, ctx) -> Iterable[Finding]:
        return ctx.load_problems(self.code)

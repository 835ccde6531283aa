"""HF001: the file is not valid YAML (or not readable as UTF-8)."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class YamlSyntaxError(Rule):
    """The file cannot be parsed as YAML.

    ## What it does
    Reports YAML syntax errors with their position: TAB indentation, unclosed
    quotes or brackets, several documents in one file, invalid UTF-8 bytes, alias
    bombs and self-referencing aliases, and files too large to be a compose file.

    ## Why it matters
    Compose refuses the file; no other rule can judge it until it parses.

    ## Example
    ```yaml
    services:
    	db:            # a TAB before `db`
        image: postgres:16
    ```

    ## Use instead
    Indent with spaces only.

    ## Fix
    None: holdfast does not guess what a broken file meant.

    ## References
    - YAML 1.2, section 6.1 (indentation spaces)
    """

    code = "HF001"
    name = "yaml-syntax-error"
    severity = Severity.ERROR
    scope = "document"

    def check(self, ctx) -> Iterable[Finding]:
        return ctx.load_problems(self.code)

"""HF201: the top-level `version:` key, which Compose v2 ignores."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class ObsoleteVersionField(Rule):
    """The top-level `version:` key is obsolete: Compose ignores it and warns on every command.

    ## What it does
    Reports a top-level `version:` in every compose file of the project (override
    and included files too).

    ## Why it matters
    The Compose Specification dropped the file format version: `docker compose`
    prints "the attribute `version` is obsolete, it will be ignored" on every run,
    and the number misleads readers into thinking features are gated by it
    (`version: "2"` files happily use 3.x keys and the other way round). The
    warning noise hides warnings that matter.

    ## Example
    ```yaml
    version: "3.8"
    services:
      db:
        image: postgres:16
    ```

    ## Use instead
    ```yaml
    services:
      db:
        image: postgres:16
    ```

    ## Fix
    Safe: the `version:` line is deleted, with a comment line right above it that
    only explains it (`# compose file format`) and a blank line it leaves at the
    top of the file.

    ## References
    - Compose Specification, "Version top-level element (obsolete)"
    - docker/compose: "the attribute `version` is obsolete" warning (v2.25+)
    """

    code = "HF201"
    name = "obsolete-version-field"
    severity = Severity.WARNING
    enabled_by_default = False  # Compose itself warns; opt in with extend-select (its fix would touch every old file)
    fixable = True
    groups = ("correctness", "style")
    scope = "document"

    def check(self, ctx) -> Iterable[Finding]:
        for document in ctx.documents:
            data = document.data
            if not isinstance(data, dict) or "version" not in data:
                continue
            key_node, _ = document.pair("version")
            if key_node is None or not _top_level_key(document, key_node):
                continue  # `version` reached through a merge key: not a top-level line to delete
            value = data.get("version")
            shown = f" (`{value}`)" if isinstance(value, (str, int, float)) and str(value) else ""
            yield ctx.finding(
                document,
                ("version",),
                f"the top-level `version`{shown} is obsolete: Compose ignores it and warns on every command",
            )


def _top_level_key(document, key_node) -> bool:
    root = document.root
    return root is not None and any(k is key_node for k, _ in getattr(root, "value", []))

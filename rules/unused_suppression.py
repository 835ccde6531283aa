"""HF000: a `# holdfast: ignore[...]` that suppresses nothing."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class UnusedSuppression(Rule):
    """A suppression comment that matched no finding.

    ## What it does
    Reports `# holdfast: ignore[CODE]` and `# holdfast: file-ignore[CODE]` comments
    whose codes produced no finding where they apply.

    ## Why it matters
    A stale suppression hides the next real problem on that line. When the problem
    it was written for is fixed, the comment should go too.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16  # holdfast: ignore[HF104] pinned now, comment left over
    ```

    ## Use instead
    Delete the comment.

    ## Fix
    None (delete the comment by hand).

    ## References
    - ruff's RUF100, the model for this rule.
    """

    code = "HF000"
    name = "unused-suppression"
    severity = Severity.INFO
    scope = "document"

    def check(self, ctx) -> Iterable[Finding]:
        # The engine produces HF000 after suppressions are matched; the rule exists
        # so that it can be selected, ignored and documented like any other.
        return ()

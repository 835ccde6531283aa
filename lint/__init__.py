"""holdfast: lint and fix Docker Compose files so that stateful services keep their data.

The public Python API is `lint_paths` and `fix_text`; both are imported lazily so that
`import holdfast` stays cheap for the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "lint_paths", "fix_text"]

if TYPE_CHECKING:  # pragma: no cover
    from holdfast.api import fix_text, lint_paths


def __getattr__(name: str) -> Any:
    if name in ("lint_paths", "fix_text"):
        from holdfast import api

        return getattr(api, name)
    raise AttributeError(f"module 'holdfast' has no attribute {name!r}")

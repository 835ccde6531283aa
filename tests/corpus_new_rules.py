"""List every finding of the HF107/HF108/HF2xx/HF3xx/HF4xx rules on the public corpus (one file = one project).

`python tests/corpus_new_rules.py /work/shared/corpus/public` prints the rows the
expectations file `tests/expectations/new_rules.tsv` holds (without the verdict
and note columns, which are written by hand after reviewing each finding).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

NEW_RULES = ("HF107", "HF108", "HF201", "HF202", "HF203", "HF204", "HF205", "HF206", "HF301", "HF302", "HF303", "HF304", "HF401")


def corpus_findings(corpus: Path) -> list[tuple[str, int, int, str, str]]:
    """(file, line, column, code, source line) for every finding of the new rules, file by file."""
    from holdfast.config import Config
    from holdfast.discovery import ProjectFiles
    from holdfast.engine import Linter

    config = Config().with_overrides(select=NEW_RULES)
    linter = Linter(config, with_fixes=False)
    rows = []
    cwd = os.getcwd()
    try:
        os.chdir(corpus)
        for path in sorted(p.name for p in corpus.iterdir() if p.suffix in (".yml", ".yaml")):
            result = linter.lint_files(ProjectFiles([path], {path}), project_dir=str(corpus))
            lines = result.documents[path].text.splitlines() if path in result.documents else []
            for f in result.findings:
                source = lines[f.line - 1].strip() if 0 < f.line <= len(lines) else ""
                rows.append((f.path, f.line, f.column, f.code, source))
    finally:
        os.chdir(cwd)
    return rows


if __name__ == "__main__":
    for row in corpus_findings(Path(sys.argv[1])):
        print("\t".join(map(str, row[:4])))

"""`holdfast fix` at scale: one compose file of 200, 1,000 and 2,000 services.

Every service needs a fix: a quarter are postgres services without a volume, a
quarter redis services without one, a quarter postgres services whose
`volumes:` block is commented out (the fix uncomments it), a quarter web
services with ports (nothing to persist). Timed, each in a fresh process run
by the interpreter running this script (so from the source tree it imports):

  diff   `holdfast fix --diff --no-engine compose.yaml`   (prints, writes nothing)
  write  `holdfast fix --no-engine compose.yaml`          (writes; the file is re-generated before every run)

Reported: the median wall time per size, and the time per service compared with
the smallest size (close to 1.0x when the fix grows linearly with the file).

Usage: python benchmarks/bench_fix.py [--sizes 200,1000,2000] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def compose_text(count: int) -> str:
    """A compose file of `count` services, most of which `holdfast fix` repairs."""
    parts = ["services:\n"]
    for i in range(count):
        kind = i % 4
        if kind == 0:
            parts.append(f"  db{i}:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: example\n")
        elif kind == 1:
            parts.append(f"  cache{i}:\n    image: redis:7\n")
        elif kind == 2:
            parts.append(f"  db{i}:\n    image: postgres:16\n    # volumes:\n    #   - ./data{i}:/var/lib/postgresql/data\n")
        else:
            parts.append(f'  web{i}:\n    image: nginx:1.25\n    ports:\n      - "{8000 + i}:80"\n')
    return "".join(parts)


def run_once(folder: str, text: str, write: bool) -> float:
    """Seconds for one `holdfast fix` on a fresh copy of `text` (exit 0 or 1 expected)."""
    path = os.path.join(folder, "compose.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    argv = [sys.executable, "-m", "holdfast", "fix", "--no-engine", "compose.yaml"]
    if not write:
        argv.insert(4, "--diff")
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"holdfast fix failed (exit {result.returncode}): {result.stderr.decode(errors='replace').strip()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000,2000", help="comma-separated service counts (default: 200,1000,2000)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per size and mode (default: 3)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="holdfast-bench-fix-") as folder:
        run_once(folder, compose_text(10), write=False)  # warm-up: .pyc files, page cache
        for count in sizes:
            text = compose_text(count)
            row: dict[str, object] = {"services": count, "bytes": len(text.encode())}
            for mode in ("diff", "write"):
                times = [run_once(folder, text, write=mode == "write") for _ in range(args.runs)]
                row[mode] = statistics.median(times)
            results.append(row)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    base = results[0]
    print(f"{'services':>8} {'KB':>6} {'diff s':>8} {'write s':>8} {'diff per service vs first':>26}")
    for row in results:
        per = (row["diff"] / row["services"]) / (base["diff"] / base["services"])  # type: ignore[operator]
        print(f"{row['services']:>8} {row['bytes'] / 1024:>6.0f} {row['diff']:>8.2f} {row['write']:>8.2f} {per:>25.2f}x")  # type: ignore[operator]
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time `holdfast lint` against its closest Python peer, `compose-lint`, side by side.

Why: holdfast runs in pre-commit hooks and CI, so its wall time per invocation is
part of its usability; compose-lint (PyPI) is the closest tool doing the same job
in the same language, which makes it a fair yardstick. The targets are to be no
slower than it on:

  (a) one file, cold process: examples/mastodon-v1.3.2/docker-compose.yml, one
      fresh process per run (the pre-commit case, dominated by start-up/imports);
  (b) the whole public corpus ../shared/corpus/public/*.y*ml* in ONE invocation
      per tool (the CI case, dominated by parsing and rules).

Both tools are installed the same way (non-editable `pip install`) into a private
virtual environment under benchmarks/.cache/venv and their console scripts are run
directly, so neither pays for a pyenv shim or an editable-install finder. The venv
is reused; holdfast is reinstalled into it whenever its sources change. Runs of the
two tools are interleaved, alternating which goes first, so they share machine noise.

--profile and --imports are diagnostics for optimising holdfast (see README.md).
"""

from __future__ import annotations

import argparse
import cProfile
import contextlib
import glob
import hashlib
import importlib
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
VENV = CACHE / "venv"
BIN = VENV / "bin"  # POSIX layout; holdfast is benchmarked on Linux and macOS
SEED = ROOT / "examples" / "mastodon-v1.3.2" / "docker-compose.yml"
SHARED = ROOT.parent / "shared"
CORPUS_GLOB = str(SHARED / "corpus" / "public" / "*.y*ml*")
SOURCES = ("pyproject.toml", "lint", "rules", "fixers", "apply")  # what the holdfast wheel is built from
TARGET = 1.0  # holdfast median / compose-lint median must not exceed this
NORMAL_EXIT = (0, 1)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def source_digest() -> str:
    digest = hashlib.sha256()
    for top in SOURCES:
        base = ROOT / top
        for path in sorted([base] if base.is_file() else base.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create the benchmark venv once; (re)install holdfast when its sources changed."""
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")  # the cache ignores itself
    if not (BIN / "python").exists():
        say(f"creating {VENV.relative_to(ROOT)} ...")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    if not (BIN / "compose-lint").exists():
        say("pip install compose-lint ...")
        subprocess.run([*pip, "compose-lint"], check=True)
    stamp, digest = CACHE / "holdfast.sha256", source_digest()
    if not (BIN / "holdfast").exists() or not stamp.exists() or stamp.read_text() != digest:
        say("pip install <repo root> (non-editable) ...")
        subprocess.run([*pip, str(ROOT)], check=True)  # pip always rebuilds a local directory
        stamp.write_text(digest)


def version(tool: str) -> str:
    out = subprocess.run([str(BIN / "python"), "-m", "pip", "show", tool], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Version:")), "?")


def commands(paths: list[str]) -> dict[str, list[str]]:
    return {
        "holdfast": [str(BIN / "holdfast"), "lint", "--color", "never", *paths],
        "compose-lint": [str(BIN / "compose-lint"), "check", *paths],
    }


def time_once(argv: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT).returncode
    return time.perf_counter() - start, code


def quantile(sorted_values: list[float], q: float) -> float:
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def bench(paths: list[str], runs: int) -> dict[str, dict]:
    """Interleaved runs after one untimed warm-up each; times in milliseconds."""
    cmds = commands(paths)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    codes: dict[str, set[int]] = {name: set() for name in cmds}
    for name, argv in cmds.items():
        codes[name].add(time_once(argv)[1])
    order = list(cmds)
    for i in range(runs):
        for name in order if i % 2 == 0 else reversed(order):
            seconds, code = time_once(cmds[name])
            times[name].append(seconds * 1000)
            codes[name].add(code)
    result = {}
    for name, values in times.items():
        values.sort()
        result[name] = {
            "median_ms": round(statistics.median(values), 2),
            "p10_ms": round(quantile(values, 0.10), 2),
            "p90_ms": round(quantile(values, 0.90), 2),
            "min_ms": round(values[0], 2),
            "runs": len(values),
            "exit_codes": sorted(codes[name]),
        }
    return result


def corpus_files() -> list[str]:
    return sorted(glob.glob(CORPUS_GLOB))


def require_shared() -> list[str]:
    if not SHARED.is_dir():
        say(f"bench_lint: {SHARED} is absent: this benchmark needs the shared workspace beside the repository\n"
            f"bench_lint: (its corpus/public/ holds the compose files of target (b)); nothing was timed.")
        sys.exit(2)
    files = corpus_files()
    if not files:
        say(f"bench_lint: {CORPUS_GLOB} matched no file; nothing was timed.")
        sys.exit(2)
    return files


def print_table(results: dict) -> None:
    print(f"{'target':<34}{'tool':<14}{'median':>9}{'p10':>9}{'p90':>9}{'min':>9}  exit")
    for key, target in results["targets"].items():
        for tool, s in target["tools"].items():
            codes = ",".join(map(str, s["exit_codes"]))
            flag = "" if set(s["exit_codes"]) <= set(NORMAL_EXIT) else "  (not 0/1: some input rejected?)"
            print(f"{target['label']:<34}{tool:<14}{s['median_ms']:>7.1f}ms{s['p10_ms']:>7.1f}ms"
                  f"{s['p90_ms']:>7.1f}ms{s['min_ms']:>7.1f}ms  {codes}{flag}")
    print()
    for key, target in results["targets"].items():
        print(f"({key}) holdfast/compose-lint = {target['ratio']:.2f}x (target <= {TARGET:.1f}x)  "
              f"{'PASS' if target['pass'] else 'MISS'}")


def run_benchmark(runs: int, corpus_runs: int, as_json: bool) -> None:
    files = require_shared()
    ensure_venv()
    targets = {}
    for key, label, paths, n in (
        ("a", f"seed, cold process x{runs}", [str(SEED)], runs),
        ("b", f"corpus ({len(files)} files) x{corpus_runs}", files, corpus_runs),
    ):
        say(f"timing ({key}) {label} ...")
        tools = bench(paths, n)
        ratio = tools["holdfast"]["median_ms"] / tools["compose-lint"]["median_ms"]
        targets[key] = {"label": label, "tools": tools, "ratio": round(ratio, 3), "target": TARGET, "pass": ratio <= TARGET}
    results = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "versions": {tool: version(tool) for tool in ("holdfast", "compose-lint")},
        "targets": targets,
    }
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        print(f"holdfast {results['versions']['holdfast']} vs compose-lint {results['versions']['compose-lint']}, "
              f"Python {results['python']} (benchmark venv), {results['cpus']} CPUs, load average {results['load_average']}\n")
        print_table(results)


def run_profile(top: int) -> None:
    """holdfast once, in this process (so from the source tree), on the corpus under cProfile.

    os.cpu_count() reads 1 meanwhile, so that work holdfast would spread over
    worker processes stays in this one, where the profiler can see it.
    """
    files = require_shared()
    profiler, cpu_count = cProfile.Profile(), os.cpu_count
    os.cpu_count = lambda: 1
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        start = time.perf_counter()
        profiler.enable()  # before the import, so that import costs show as in a cold process
        try:
            importlib.import_module("holdfast.cli").main(["lint", "--color", "never", *files])
        except SystemExit:
            pass
        finally:
            profiler.disable()
            os.cpu_count = cpu_count
        seconds = time.perf_counter() - start
    print(f"== cProfile: holdfast lint on {len(files)} corpus files, in-process and serial, "
          f"{seconds * 1000:.0f} ms under the profiler; top {top} by cumulative time")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(top)


def run_imports(top: int) -> None:
    """`python -X importtime -m holdfast lint <seed>` with the benchmark venv's interpreter."""
    ensure_venv()
    argv = [str(BIN / "python"), "-X", "importtime", "-m", "holdfast", "lint", "--color", "never", str(SEED)]
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)  # warm the .pyc files
    err = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, self_us, cumulative_us, name = (part.strip() for part in line.replace("import time:", "|", 1).split("|"))
            rows.append((int(cumulative_us), int(self_us), name))
    rows.sort(reverse=True)
    print(f"== python -X importtime -m holdfast lint {SEED.relative_to(ROOT)}: top {top} by cumulative time")
    print(f"{'cumulative':>11}{'self':>9}  module")
    for cumulative_us, self_us, name in rows[:top]:
        print(f"{cumulative_us / 1000:>9.1f}ms{self_us / 1000:>7.1f}ms  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=30, help="cold-process runs per tool on the seed file (default 30)")
    parser.add_argument("--corpus-runs", type=int, default=7, help="runs per tool on the whole corpus (default 7)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--profile", action="store_true", help="instead of timing: cProfile holdfast on the corpus")
    parser.add_argument("--imports", action="store_true", help="instead of timing: holdfast's import times on the seed")
    parser.add_argument("--top", type=int, default=25, help="rows to show for --profile/--imports (default 25)")
    args = parser.parse_args()
    if args.runs < 1 or args.corpus_runs < 1:
        parser.error("--runs and --corpus-runs must be at least 1")
    if not (args.profile or args.imports):
        run_benchmark(args.runs, args.corpus_runs, args.json)
    if args.profile:
        run_profile(args.top)
    if args.imports:
        if args.profile:
            print()
        run_imports(args.top)


if __name__ == "__main__":
    main()

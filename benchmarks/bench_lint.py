"""Time `holdfast lint` against its closest Python peer, `compose-lint`, side by side.

Why: holdfast runs in pre-commit hooks and CI, so its wall time per invocation is
part of its usability; compose-lint (PyPI) is the closest tool doing the same job
in the same language, which makes it a fair yardstick. The targets are to be no
slower than it on:

  (a) one file, cold process: examples/mastodon-v1.3.2/docker-compose.yml, one
      fresh process per run (the pre-commit case, dominated by start-up/imports);
  (b) the whole public corpus ../shared/corpus/public/*.y*ml* in ONE invocation
      per tool, holdfast without its result cache (the CI case: parsing and rules);
  (c) 1,000 generated small projects in one invocation;
  (d) 10,000 generated small projects: growth over (c) and peak memory (the sum of
      the resident sets of the process and its workers, sampled every 20 ms);
  (e) one generated file of 10,000 services (one project that cannot be split).

Targets (holdfast / compose-lint medians): (a) <= 0.9x, (b) <= 0.5x, (c) <= 0.5x;
(d) holdfast's 10,000-project time <= 11x its 1,000-project time, peak RSS < 300 MB;
(e) holdfast under 10 s. --quick skips (d) and (e). CI never runs this script.

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
import resource
import statistics
import subprocess
import sys
import threading
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
VENV = CACHE / "venv"
BIN = VENV / "bin"  # POSIX layout; holdfast is benchmarked on Linux and macOS
SEED = ROOT / "examples" / "mastodon-v1.3.2" / "docker-compose.yml"
SHARED = Path(os.environ.get("HOLDFAST_SHARED", ROOT.parent / "shared"))  # override for a checkout elsewhere
CORPUS_GLOB = str(SHARED / "corpus" / "public" / "*.y*ml*")
SOURCES = ("pyproject.toml", "lint", "rules", "fixers", "apply")  # what the holdfast wheel is built from
NORMAL_EXIT = (0, 1)
GENERATED = CACHE / "generated"


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
        subprocess.run([*pip, "compose-lint==0.36.2"], check=True)
    stamp, digest = CACHE / "holdfast.sha256", source_digest()
    if not (BIN / "holdfast").exists() or not stamp.exists() or stamp.read_text() != digest:
        say("pip install <repo root> (non-editable) ...")
        subprocess.run([*pip, str(ROOT)], check=True)  # pip always rebuilds a local directory
        stamp.write_text(digest)


def version(tool: str) -> str:
    out = subprocess.run([str(BIN / "python"), "-m", "pip", "show", tool], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Version:")), "?")


def commands(paths: list[str], cache: bool = False) -> dict[str, list[str]]:
    return {
        "holdfast": [str(BIN / "holdfast"), "lint", *([] if cache else ["--no-cache"]), "--color", "never", *paths],
        "compose-lint": [str(BIN / "compose-lint"), "check", *paths],
    }


def time_once(argv: list[str], cwd: Path = ROOT, memory: bool = False) -> tuple[float, int, float, float]:
    """(seconds, exit code, peak summed RSS in MB of the process tree or 0.0 when not sampled,
    user+system CPU seconds of the process and its workers)."""
    env = dict(os.environ)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, env=env)
    peak = [0]
    done = threading.Event()
    sampler = None
    if memory:  # sampled beside the wait, so that the end of the process is seen at once
        def sample() -> None:
            while True:
                peak[0] = max(peak[0], tree_rss(process.pid))
                if done.wait(0.02):
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    code = process.wait()
    seconds = time.perf_counter() - start
    done.set()
    if sampler is not None:
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # every child of this script is reaped by now
    cpu = after.ru_utime - children.ru_utime + after.ru_stime - children.ru_stime
    return seconds, code, peak[0] / 1048576, cpu


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc; 0 elsewhere)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


def quantile(sorted_values: list[float], q: float) -> float:
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def bench(paths: list[str], runs: int, cwd: Path = ROOT, warm_up: bool = True, cache: bool = False) -> dict[str, dict]:
    """Interleaved runs (after one untimed warm-up each); times in milliseconds, peak RSS in MB."""
    cmds = commands(paths, cache)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    cpu: dict[str, list[float]] = {name: [] for name in cmds}
    codes: dict[str, set[int]] = {name: set() for name in cmds}
    peaks: dict[str, float] = {name: 0.0 for name in cmds}
    if warm_up:
        for name, argv in cmds.items():
            codes[name].add(time_once(argv, cwd)[1])
    order = list(cmds)
    for i in range(runs):
        for name in order if i % 2 == 0 else reversed(order):
            seconds, code, peak, cpu_seconds = time_once(cmds[name], cwd, memory=True)
            times[name].append(seconds * 1000)
            cpu[name].append(cpu_seconds * 1000)
            codes[name].add(code)
            peaks[name] = max(peaks[name], peak)
    result = {}
    for name, values in times.items():
        values.sort()
        result[name] = {
            "median_ms": round(statistics.median(values), 2),
            "cpu_median_ms": round(statistics.median(cpu[name]), 2),
            "p10_ms": round(quantile(values, 0.10), 2),
            "p90_ms": round(quantile(values, 0.90), 2),
            "min_ms": round(values[0], 2),
            "runs": len(values),
            "exit_codes": sorted(codes[name]),
            "peak_rss_mb": round(peaks[name], 1),
            "files_per_s": round(len(paths) / (statistics.median(values) / 1000), 1) if len(paths) > 1 else None,
        }
    return result


PROJECT = """services:
  app{i}:
    image: example/app:{i}
    depends_on: [db]
    environment:
      DATABASE_URL: postgres://app:secret@db/app{i}
  db:
    image: postgres:{major}
    environment:
      POSTGRES_PASSWORD: secret
{volumes}  cache:
    image: redis:7
"""


def generate_projects(count: int) -> tuple[Path, list[str]]:
    """`count` small projects (a third with their database persisted), written once and reused."""
    base = GENERATED / f"projects-{count}"
    names = [f"p{i:05d}/compose.yaml" for i in range(count)]
    if not (base / names[-1]).exists():
        for i, name in enumerate(names):
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            volumes = "    volumes:\n      - ./pg:/var/lib/postgresql/data\n" if i % 3 == 0 else ""
            path.write_text(PROJECT.format(i=i, major=(13, 15, 16)[i % 3], volumes=volumes))
    return base, names


def generate_services(count: int) -> Path:
    path = GENERATED / f"services-{count}.yaml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(
            f"  db{i}:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: x\n"
            + ("    volumes:\n      - ./data/db{i}:/var/lib/postgresql/data\n".format(i=i) if i % 2 else "")
            for i in range(count)
        )
        path.write_text("services:\n" + body)
    return path


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
    print(f"{'target':<36}{'tool':<14}{'median':>10}{'p10':>10}{'p90':>10}{'CPU':>10}{'files/s':>9}{'peak RSS':>10}  exit")
    for key, target in results["targets"].items():
        for tool, s in target["tools"].items():
            codes = ",".join(map(str, s["exit_codes"]))
            flag = "" if set(s["exit_codes"]) <= set(NORMAL_EXIT) else "  (not 0/1: some input rejected?)"
            rate = f"{s['files_per_s']:>9.0f}" if s.get("files_per_s") else f"{'':>9}"
            print(f"{target['label']:<36}{tool:<14}{s['median_ms']:>8.0f}ms{s['p10_ms']:>8.0f}ms"
                  f"{s['p90_ms']:>8.0f}ms{s['cpu_median_ms']:>8.0f}ms{rate}{s['peak_rss_mb']:>8.0f}MB  {codes}{flag}")
    print()
    for key, target in results["targets"].items():
        print(f"({key}) {target['verdict']}  {'PASS' if target['pass'] else 'MISS'}")


def _ratio_target(key: str, label: str, tools: dict, limit: float) -> dict:
    ratio = tools["holdfast"]["median_ms"] / tools["compose-lint"]["median_ms"]
    cpu_ratio = tools["holdfast"]["cpu_median_ms"] / tools["compose-lint"]["cpu_median_ms"]
    return {"label": label, "tools": tools, "ratio": round(ratio, 3), "cpu_ratio": round(cpu_ratio, 3), "target": limit, "pass": ratio <= limit,
            "verdict": f"holdfast/compose-lint = {ratio:.2f}x (target <= {limit}x; CPU time {cpu_ratio:.2f}x)"}


def run_benchmark(runs: int, corpus_runs: int, as_json: bool, quick: bool) -> None:
    files = require_shared()
    ensure_venv()
    targets = {}
    say(f"timing (a) seed, cold process x{runs} ...")
    targets["a"] = _ratio_target("a", f"seed, cold process x{runs}", bench([str(SEED)], runs, cache=True), 0.9)
    targets["a0"] = _ratio_target("a0", f"seed, cold process, no cache x{runs}", bench([str(SEED)], runs), 0.9)
    say(f"timing (b) corpus ({len(files)} files) x{corpus_runs} ...")
    targets["b"] = _ratio_target("b", f"corpus ({len(files)} files), no cache", bench(files, corpus_runs), 0.5)
    base, names = generate_projects(1000)
    say("timing (c) 1,000 projects x3 ...")
    targets["c"] = _ratio_target("c", "1,000 projects", bench(names, 3, cwd=base), 0.5)
    if not quick:
        base, names = generate_projects(10000)
        say("timing (d) 10,000 projects x1 ...")
        tools = bench(names, 1, cwd=base, warm_up=False)
        growth = tools["holdfast"]["median_ms"] / targets["c"]["tools"]["holdfast"]["median_ms"]
        peak = tools["holdfast"]["peak_rss_mb"]
        other = tools["compose-lint"]["median_ms"] / targets["c"]["tools"]["compose-lint"]["median_ms"]
        targets["d"] = {"label": "10,000 projects", "tools": tools, "growth": round(growth, 2), "pass": growth <= 11 and peak < 300,
                        "verdict": f"holdfast 10,000/1,000 = {growth:.1f}x (target <= 11x; compose-lint {other:.1f}x), peak RSS {peak:.0f} MB (target < 300 MB)"}
        path = generate_services(10000)
        say("timing (e) one file of 10,000 services x1 ...")
        tools = bench([str(path)], 1, warm_up=False)
        seconds = tools["holdfast"]["median_ms"] / 1000
        targets["e"] = {"label": "one file, 10,000 services", "tools": tools, "pass": seconds < 10,
                        "verdict": f"holdfast {seconds:.1f} s (target < 10 s; compose-lint {tools['compose-lint']['median_ms'] / 1000:.1f} s)"}
    results = {
        "python": sys.version.split()[0],
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
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

    `--jobs 1` keeps the work that holdfast would spread over worker processes in
    this one, where the profiler can see it; `--no-cache` makes it a cold run.
    """
    files = require_shared()
    profiler = cProfile.Profile()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        start = time.perf_counter()
        profiler.enable()  # before the import, so that import costs show as in a cold process
        try:
            importlib.import_module("holdfast.cli").main(["lint", "--jobs", "1", "--no-cache", "--color", "never", *files])
        except SystemExit:
            pass
        finally:
            profiler.disable()
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
    parser.add_argument("--quick", action="store_true", help="skip the 10,000-project and 10,000-service targets")
    parser.add_argument("--profile", action="store_true", help="instead of timing: cProfile holdfast on the corpus")
    parser.add_argument("--imports", action="store_true", help="instead of timing: holdfast's import times on the seed")
    parser.add_argument("--top", type=int, default=25, help="rows to show for --profile/--imports (default 25)")
    args = parser.parse_args()
    if args.runs < 1 or args.corpus_runs < 1:
        parser.error("--runs and --corpus-runs must be at least 1")
    if not (args.profile or args.imports):
        run_benchmark(args.runs, args.corpus_runs, args.json, args.quick)
    if args.profile:
        run_profile(args.top)
    if args.imports:
        if args.profile:
            print()
        run_imports(args.top)


if __name__ == "__main__":
    main()

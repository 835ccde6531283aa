"""Interleaved cold starts of `holdfast lint` on the seed: wall and CPU time per run.

Usage: python benchmarks/knowledge_cold_start.py BEFORE_HOLDFAST AFTER_HOLDFAST [RUNS]
(two `holdfast` executables, e.g. from two virtualenvs installed the same way).
CPU time is reported beside wall time: on a shared machine it is the steadier of the two.
"""
import os, resource, statistics as st, subprocess, sys, time
SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "mastodon-v1.3.2", "docker-compose.yml")
if len(sys.argv) < 3:
    sys.exit(__doc__)
BINS = {"before": sys.argv[1], "after": sys.argv[2]}
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 30
wall = {k: [] for k in BINS}; cpu = {k: [] for k in BINS}
env = dict(os.environ)  # the default: holdfast's caches on, warmed by one run of each below
for exe in BINS.values():
    subprocess.run([exe, "lint", SEED], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/tmp", env=env)
for i in range(runs):
    for name, exe in (BINS.items() if i % 2 == 0 else reversed(list(BINS.items()))):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([exe, "lint", SEED], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/tmp", env=env)
        wall[name].append((time.perf_counter() - t) * 1e3)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[name].append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3)
for name in BINS:
    print(f"{name:6} wall median {st.median(wall[name]):6.1f} ms  min {min(wall[name]):6.1f}   cpu median {st.median(cpu[name]):6.1f} ms  min {min(cpu[name]):6.1f}")
print(f"ratio after/before: wall median {st.median(wall['after'])/st.median(wall['before']):.3f}  cpu median {st.median(cpu['after'])/st.median(cpu['before']):.3f}  cpu min {min(cpu['after'])/min(cpu['before']):.3f}")

"""Archive + restore throughput: holdfast's apply steps against plain `docker cp` out and in.

The data directory (1 GiB by default: a few thousand small files and a few
hundred 4 MiB ones, random bytes so nothing compresses) lives in an anonymous
volume of a STOPPED container, as in a real rescue.

  docker cp   out: docker cp ctr:/bench/. <host dir>          (the seed guide's backup)
              in:  docker cp <host dir>/. helper:/bench        (helper: created, bind-mounted target)
  holdfast    out: the `archive` step (get_archive -> tar file, sha256 and tar index on the fly, fsync)
              in:  the `restore` step (put_archive through a never-started helper of the same image,
                   then the restored tree compared with the archive, entry by entry)
              plus, reported separately, the `verify-archives` step (re-read: sha256 + index)

Usage: python benchmarks/bench_archive.py [--size-mib 1024] [--repeat 3] [--image postgres:alpine]
Needs a Docker engine and the image locally (tests/images/build.sh makes the stand-ins).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace


def sh(*argv: str) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def drop_caches() -> None:
    """Flush dirty pages so each run starts from the same state (page cache kept: both sides benefit alike)."""
    os.sync()


def make_source(image: str, size_mib: int) -> str:
    big = max(1, (size_mib - 16) // 4)  # 4 MiB files
    script = (
        "set -e; mkdir -p /bench/small /bench/big; "
        "i=0; while [ $i -lt 2000 ]; do head -c 8192 /dev/urandom > /bench/small/f$i; i=$((i+1)); done; "
        f"i=0; while [ $i -lt {big} ]; do head -c 4194304 /dev/urandom > /bench/big/b$i; i=$((i+1)); done; "
        "ln -s small/f1 /bench/link; chmod 700 /bench/big"
    )
    container = sh("docker", "create", "-v", "/bench", "--entrypoint", "sh", "--label", "org.holdfast.benchmark=1", image, "-c", script)
    sh("docker", "start", "-a", container)
    return container


def timed(fn, *args) -> float:
    drop_caches()
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--image", default="postgres:alpine")
    args = parser.parse_args()

    from holdfast.apply.console import Console
    from holdfast.apply.host import Engine
    from holdfast.apply.plan import PathMove
    from holdfast.apply.steps import RunContext, restore_archive, write_archive
    from holdfast.apply.tarindex import index_file

    engine = Engine.connect()
    image_id = engine.image_id(args.image)
    if image_id is None:
        raise SystemExit(f"{args.image} is not on this host (run tests/images/build.sh)")
    work = tempfile.mkdtemp(prefix="holdfast-bench-")
    console = Console(out=io.StringIO(), err=io.StringIO(), interactive=False)
    helpers: list[str] = []
    print(f"creating a {args.size_mib} MiB data directory in a volume ...", flush=True)
    source = make_source(args.image, args.size_mib)
    try:
        size = int(sh("docker", "run", "--rm", "--volumes-from", source, "--entrypoint", "du", args.image, "-sb", "/bench").split()[0])
        results: dict[str, list[float]] = {k: [] for k in ("cp_out", "cp_in", "hf_out", "hf_verify", "hf_in")}
        for round_ in range(args.repeat):
            # --- docker cp
            out_dir = os.path.join(work, f"cp-out-{round_}")
            os.makedirs(out_dir)
            results["cp_out"].append(timed(sh, "docker", "cp", f"{source}:/bench/.", out_dir))
            target = os.path.join(work, f"cp-in-{round_}")
            helper = sh("docker", "create", "-v", f"{target}:/bench", "--entrypoint", "/nonexistent", image_id)
            helpers.append(helper)
            results["cp_in"].append(timed(sh, "docker", "cp", f"{out_dir}/.", f"{helper}:/bench"))
            shutil.rmtree(out_dir)
            shutil.rmtree(target)

            # --- holdfast steps
            ctx = RunContext(plan=SimpleNamespace(id="benchmark0000", project=SimpleNamespace(directory=work)), engine=engine, compose=None, backup_dir=work, journal=None, attempt=1, console=console)  # type: ignore[arg-type]
            bind = os.path.join(work, f"hf-in-{round_}")
            move = PathMove("/bench", ["/bench"], "anonymous-volume", None, bind, bind, f"hf-{round_}.tar", [], size)
            archive = os.path.join(work, move.archive)
            info: dict = {}
            results["hf_out"].append(timed(lambda c, m, a, i=info: i.update(write_archive(c, source, m, a, "archive")), ctx, move, archive))

            def verify(archive: str, info: dict) -> None:
                with open(archive, "rb") as handle:
                    digest = __import__("hashlib").sha256()
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                with open(archive, "rb") as handle:
                    assert index_file(handle).count == info["entries"]
                assert digest.hexdigest() == info["sha256"]

            results["hf_verify"].append(timed(verify, archive, info))
            service = SimpleNamespace(name="bench", title="bench", container=SimpleNamespace(image_id=image_id))
            results["hf_in"].append(timed(lambda *a: restore_archive(*a, allow_partial=False, label="restore"), ctx, service, move, archive, info))
            os.remove(archive)
            os.remove(archive + ".sha256")
            shutil.rmtree(bind)
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in results.items()), flush=True)
    finally:
        for helper in helpers:
            subprocess.run(["docker", "rm", "-v", helper], capture_output=True, check=False)
        subprocess.run(["docker", "rm", "-v", source], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in results.items()}
    mib = size / (1 << 20)
    print()
    print(f"data: {mib:.0f} MiB (2000 files of 8 KiB, the rest in 4 MiB files, random bytes); median of {args.repeat} rounds; engine {engine.version()['version']}")
    print(f"{'':24}{'docker cp':>12}{'holdfast':>12}{'ratio':>8}")
    for label, cp, hf in (("out (archive)", med["cp_out"], med["hf_out"]), ("in (restore+verify)", med["cp_in"], med["hf_in"])):
        print(f"{label:24}{cp:>10.2f}s {hf:>10.2f}s {hf / cp:>7.2f}x   ({mib / cp:.0f} vs {mib / hf:.0f} MiB/s)")
    total_cp = med["cp_out"] + med["cp_in"]
    total_hf = med["hf_out"] + med["hf_in"]
    print(f"{'archive + restore':24}{total_cp:>10.2f}s {total_hf:>10.2f}s {total_hf / total_cp:>7.2f}x")
    print(f"{'+ verify-archives':24}{'':>12}{total_hf + med['hf_verify']:>10.2f}s {(total_hf + med['hf_verify']) / total_cp:>7.2f}x   (re-read: sha256 + tar index)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

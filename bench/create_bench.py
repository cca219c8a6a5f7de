#!/usr/bin/env python3
"""Create benchmark: `wagon create` against pip, pex and uv, side by side, in one run.

Four tables, each run for several rounds with the methods in alternating order, printing medians
and ratios (the other tool's time over Wagon's, so above 1 means Wagon is faster):

  format    `create jupyterlab --format zst` vs `--format gz`, Wagon's cache warm (time, size)
  host      `create jupyterlab` for the host: Wagon with a cold cache (a fresh WAGON_CACHE_DIR
            each round), `--resolver pip` (pip's cache off: PIP_NO_CACHE_DIR=1), Wagon warm
  targets   `create pytest==8.3.3 --target cp310-win_amd64 --target cp312-manylinux_2_28_x86_64`
            with a cold cache vs `pex pytest==8.3.3 --platform win_amd64-cp-310-cp310 --platform
            manylinux_2_28_x86_64-cp-312-cp312 -o OUT.pex` with a fresh PEX_ROOT
  uv        `create requests` and `create flask` (cold cache) vs `uv pip install --no-cache
            --target DIR` of the same requirement (uv resolves, downloads and unpacks; Wagon
            resolves, downloads and packs)

and, with `--packing`, zstd's levels and worker counts on the jupyterlab wheelhouse's tar
(`cargo run --release -p wagon-compress-zstd --example levels`).

Every run reaches PyPI (pip's configured index), so absolute times include the network; the ratios
are what the runs side by side show. Outputs, caches and TMPDIR go to --scratch. pex and uv come
from PyPI into bench/work/tools (installed once). Usage:

    cargo build --release
    python3 bench/create_bench.py [--rounds 3] [--tables format,host,targets,uv] [--packing]
"""
import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

# The install benchmark's helper: which mount (and file system) holds a path.
from install_bench import mount_of

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
WAGON = ROOT / "target" / "release" / "wagon"
TARGETS = ["cp310-win_amd64", "cp312-manylinux_2_28_x86_64"]
PEX_PLATFORMS = ["win_amd64-cp-310-cp310", "manylinux_2_28_x86_64-cp-312-cp312"]


class Failed(Exception):
    """A timed command that failed (kept as a failed round, not a number)."""


def run(cmd, env=None):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise Failed(f"command failed: {' '.join(map(str, cmd))}\n{result.stdout}\n{result.stderr}")
    return result


def tools():
    """A virtualenv holding the uv and pex under test (installed once, from PyPI)."""
    env = WORK / "tools"
    if not (env / "bin" / "pex").exists() or not (env / "bin" / "uv").exists():
        run([sys.executable, "-m", "venv", env])
        run([env / "bin" / "python", "-m", "pip", "install", "-q", "uv", "pex"])
    return env / "bin"


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


class Bench:
    """Runs the methods of one table in rotating order and keeps their times (and sizes)."""

    def __init__(self, scratch, rounds, bin_dir):
        self.scratch = scratch
        self.rounds = rounds
        self.bin = bin_dir
        self.warm_cache = scratch / "warm-cache"

    def fresh(self, prefix):
        return Path(tempfile.mkdtemp(dir=self.scratch, prefix=prefix))

    def env(self, **extra):
        return {**os.environ, "TMPDIR": str(self.scratch), **extra}

    def wagon(self, args, cache=None):
        """`wagon create ARGS`; cache None means a fresh (cold) one. Returns the archive's size."""
        out = self.fresh("wagon-")
        cache = cache or out / "cache"
        result = run([WAGON, "create", "-q", "-o", out / "dist", *args],
                     env=self.env(WAGON_CACHE_DIR=str(cache)))
        return Path(result.stdout.strip().splitlines()[-1]).stat().st_size

    def wagon_pip(self, args):
        out = self.fresh("wagon-pip-")
        result = run([WAGON, "create", "-q", "--resolver", "pip", "-o", out / "dist", *args],
                     env=self.env(PIP_NO_CACHE_DIR="1", WAGON_CACHE_DIR=str(out / "cache")))
        return Path(result.stdout.strip().splitlines()[-1]).stat().st_size

    def pex(self, requirement, platforms):
        out = self.fresh("pex-")
        args = [self.bin / "pex", requirement, "-o", out / "out.pex"]
        for p in platforms:
            args += ["--platform", p]
        run(args, env=self.env(PEX_ROOT=str(out / "pex-root"), PIP_NO_CACHE_DIR="1"))
        return (out / "out.pex").stat().st_size

    def uv(self, requirement):
        out = self.fresh("uv-")
        run([self.bin / "uv", "pip", "install", "-q", "--no-cache", "--python", sys.executable,
             "--target", out / "site", requirement], env=self.env())
        return None

    def table(self, methods):
        """{label: callable returning a size or None} -> {label: (median s, size)}."""
        times = {m: [] for m in methods}
        sizes = {m: None for m in methods}
        failures = {m: 0 for m in methods}
        order = list(methods)
        for _ in range(self.rounds):
            order = order[1:] + order[:1]
            for label in order:
                os.sync()
                start = time.perf_counter()
                try:
                    sizes[label] = methods[label]()
                except Failed as error:
                    # A failed round (this VM's DNS drops a lookup now and then) is reported,
                    # not timed.
                    failures[label] += 1
                    print(f"  {label}: FAILED\n{error}", file=sys.stderr, flush=True)
                    continue
                times[label].append(time.perf_counter() - start)
                print(f"  {label}: {times[label][-1]:.2f} s", file=sys.stderr, flush=True)
        return {m: (statistics.median(t) if t else float("nan"), sizes[m], t, failures[m])
                for m, t in times.items()}


def mb(size):
    return "—" if size is None else f"{size / 1e6:.2f} MB"


def print_table(title, results, base, note=""):
    print()
    print(f"## {title}")
    print()
    if note:
        print(note)
        print()
    print(f"| method | median s | rounds s | failed rounds | size | time / {base} |")
    print("|---|---|---|---|---|---|")
    base_time = results[base][0]
    for label, (median, size, all_, failed) in results.items():
        rounds = ", ".join(f"{t:.2f}" for t in all_)
        print(f"| {label} | {median:.2f} | {rounds} | {failed} | {mb(size)} | "
              f"{median / base_time:.2f}x |")
    print(flush=True)


def packing(bench):
    """zstd levels and workers on the tar inside a jupyterlab wagon (the gz archive unpacked)."""
    out = bench.fresh("packing-")
    run([WAGON, "create", "-q", "-o", out, "jupyterlab"],
        env=bench.env(WAGON_CACHE_DIR=str(bench.warm_cache)))
    archive = next(out.glob("*.wgn"))
    tar = out / "jupyterlab.tar"
    with open(archive, "rb") as src, open(tar, "wb") as dst:
        # The archive's own tar stream, byte for byte.
        decoder = zlib.decompressobj(wbits=31)
        while chunk := src.read(1 << 20):
            dst.write(decoder.decompress(chunk))
        dst.write(decoder.flush())
    with tarfile.open(tar) as t:
        wheels = sum(1 for m in t.getmembers() if m.name.endswith(".whl"))
    print()
    print(f"## zstd levels and workers on the jupyterlab wheelhouse tar ({wheels} wheels)")
    print()
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "wagon-compress-zstd", "--example",
                    "levels"], cwd=ROOT, check=True)
    # LONG: the single-threaded rows (workers 0) get the plugin's long window too.
    result = run([ROOT / "target" / "release" / "examples" / "levels", tar, "1,3,6,9,12,19",
                  "0,1,2,4"], env={**os.environ, "LONG": "1"})
    print(result.stdout, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tables", default="format,host,targets,uv")
    parser.add_argument("--packing", action="store_true", help="also measure zstd levels")
    parser.add_argument("--scratch", type=Path, default=WORK / "create",
                        help="outputs, caches and TMPDIR (its file system is part of the measure)")
    args = parser.parse_args()
    if not WAGON.exists():
        sys.exit(f"{WAGON} is missing: run `cargo build --release` first")
    args.scratch.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=args.scratch, prefix="run-"))
    bin_dir = tools()
    bench = Bench(scratch, args.rounds, bin_dir)
    versions = {
        "wagon": run([WAGON, "--version"]).stdout.strip(),
        "pip": "pip " + run([sys.executable, "-m", "pip", "--version"]).stdout.split()[1],
        "uv": run([bin_dir / "uv", "--version"]).stdout.strip(),
        "pex": "pex " + run([bin_dir / "pex", "--version"]).stdout.strip(),
    }
    os_name = platform.platform()
    try:
        os_name = run(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]).stdout.strip() or os_name
    except Failed:
        pass
    fs = mount_of(scratch)[2]
    print(f"# wagon create benchmark, {time.strftime('%Y-%m-%d', time.gmtime())}")
    print()
    print(f"{os.cpu_count()} cores ({cpu_model()}), {os_name}, Python {sys.version.split()[0]}; "
          f"{', '.join(versions.values())}; scratch on {fs} at {args.scratch}; {args.rounds} "
          f"rounds, medians; every run reaches PyPI.")
    tables = args.tables.split(",")
    try:
        if "format" in tables or "host" in tables or args.packing:
            # Fills the warm cache once (not timed; retried, since a DNS lookup may fail).
            for attempt in range(3):
                try:
                    bench.wagon(["jupyterlab"], cache=bench.warm_cache)
                    break
                except Failed:
                    if attempt == 2:
                        raise
        if "format" in tables:
            results = bench.table({
                "wagon --format zst (warm)": lambda: bench.wagon(
                    ["jupyterlab", "--format", "zst"], cache=bench.warm_cache),
                "wagon --format gz (warm)": lambda: bench.wagon(
                    ["jupyterlab", "--format", "gz"], cache=bench.warm_cache),
            })
            print_table("create jupyterlab: zst vs gz, warm cache", results,
                        "wagon --format zst (warm)")
        if "host" in tables:
            results = bench.table({
                "wagon, cold cache": lambda: bench.wagon(["jupyterlab"]),
                "wagon --resolver pip (PIP_NO_CACHE_DIR=1)": lambda: bench.wagon_pip(["jupyterlab"]),
                "wagon, warm cache": lambda: bench.wagon(["jupyterlab"], cache=bench.warm_cache),
            })
            print_table("create jupyterlab for the host", results, "wagon, cold cache")
            pip_time = results["wagon --resolver pip (PIP_NO_CACHE_DIR=1)"][0]
            print(f"pip / wagon cold: {pip_time / results['wagon, cold cache'][0]:.1f}x; "
                  f"pip / wagon warm: {pip_time / results['wagon, warm cache'][0]:.1f}x")
        if "targets" in tables:
            target_args = ["pytest==8.3.3"] + [a for t in TARGETS for a in ("--target", t)]
            results = bench.table({
                "wagon, cold cache": lambda: bench.wagon(target_args),
                "pex, fresh PEX_ROOT": lambda: bench.pex("pytest==8.3.3", PEX_PLATFORMS),
            })
            print_table("pytest==8.3.3 for cp310-win_amd64 and cp312-manylinux_2_28_x86_64",
                        results, "wagon, cold cache")
        if "uv" in tables:
            for name in ("requests", "flask"):
                results = bench.table({
                    f"wagon create {name}, cold cache": lambda n=name: bench.wagon([n]),
                    f"uv pip install --no-cache --target DIR {name}": lambda n=name: bench.uv(n),
                })
                print_table(f"{name}: wagon create vs uv pip install --target", results,
                            f"wagon create {name}, cold cache")
        if args.packing:
            packing(bench)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

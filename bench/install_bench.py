#!/usr/bin/env python3
"""Install benchmark: `wagon install` against pip and uv, side by side, in one run.

For each wheelhouse (small: requests; medium: flask sqlalchemy pydantic httpx; large: jupyterlab
pandas matplotlib scikit-learn, 100+ wheels) it downloads the wheels once with `pip download`,
wraps them in a wagon with `wagon create -r`, then for several rounds, in alternating order,
installs the archive into a fresh virtualenv with:

  wagon  `wagon install ARCHIVE --venv V`                      (reads the archive directly)
  pip    extract ARCHIVE, then `pip install --no-index --find-links WHEELS --no-compile -r REQS`
  uv     extract ARCHIVE, then `uv pip install --offline --no-cache --link-mode copy --no-index
         --find-links WHEELS -r REQS`

Virtualenv creation is timed apart and not counted. Every method starts from the archive, so pip
and uv pay its extraction. The venvs, extractions and every tool's temporary files (TMPDIR) go to
--scratch, whose file system is what is measured (warned about when it is ext4 without a journal,
see settle()). A second table repeats the runs with bytecode compiled by all three
(`--compile`, pip's default, `--compile-bytecode`). Prints medians and ratios.

Needs network for the one-time downloads (not for the timed installs). Usage:

    cargo build --release
    python3 bench/install_bench.py [--rounds 5] [--sets small,medium,large] [--scratch DIR]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
WAGON = ROOT / "target" / "release" / "wagon"
SETS = {
    "small": ["requests"],
    "medium": ["flask", "sqlalchemy", "pydantic", "httpx"],
    "large": ["jupyterlab", "pandas", "matplotlib", "scikit-learn"],
}


def run(cmd, **kw):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if result.returncode != 0:
        sys.exit(f"command failed: {' '.join(map(str, cmd))}\n{result.stdout}\n{result.stderr}")
    return result


def tools():
    """A virtualenv holding the uv under test (installed once, from PyPI)."""
    env = WORK / "tools"
    if not (env / "bin" / "uv").exists():
        run([sys.executable, "-m", "venv", env])
        run([env / "bin" / "python", "-m", "pip", "install", "-q", "uv"])
    return env / "bin" / "uv"


def prepare(name, packages):
    """Downloads the wheelhouse and wraps it in a wagon; returns (archive, requirements file)."""
    base = WORK / name
    wheels = base / "wheelhouse"
    reqs = base / "requirements.txt"
    archive_dir = base / "archive"
    if not archive_dir.exists() or not any(archive_dir.iterdir()):
        base.mkdir(parents=True, exist_ok=True)
        reqs.write_text("\n".join(packages) + "\n")
        run([sys.executable, "-m", "pip", "download", "-q", "--only-binary", ":all:", "-d", wheels, "-r", reqs])
        archive_dir.mkdir(exist_ok=True)
        run([WAGON, "create", "-q", "-r", reqs, "--name", f"bench-{name}", "--version", "1.0",
             "-o", archive_dir, "--find-links", wheels, "--", "--no-index"])
    archive = next(archive_dir.iterdir())
    count = len(list(wheels.glob("*.whl")))
    return archive, reqs, count


def fresh_venv(scratch, with_pip):
    venv = Path(tempfile.mkdtemp(dir=scratch))
    args = [sys.executable, "-m", "venv", venv] + ([] if with_pip else ["--without-pip"])
    start = time.perf_counter()
    run(args)
    return venv, time.perf_counter() - start


def extract(archive, dest):
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return next(Path(dest).iterdir()) / "wheels"


def in_scratch(scratch, **extra):
    """The environment for a method: its temporary files land in the run's scratch folder, on
    the file system under test."""
    return {**os.environ, "TMPDIR": str(scratch), **extra}


def method_wagon(archive, reqs, venv, scratch, compile_):
    cmd = [WAGON, "install", archive, "--venv", venv, "-q"] + (["--compile"] if compile_ else [])
    run(cmd, env=in_scratch(scratch))


def method_pip(archive, reqs, venv, scratch, compile_):
    wheels = extract(archive, tempfile.mkdtemp(dir=scratch))
    cmd = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
           "--no-index", "--find-links", wheels, "-r", reqs] + ([] if compile_ else ["--no-compile"])
    run(cmd, env=in_scratch(scratch, PIP_CONFIG_FILE=os.devnull))


def method_uv(archive, reqs, venv, scratch, compile_, uv):
    wheels = extract(archive, tempfile.mkdtemp(dir=scratch))
    cmd = [uv, "pip", "install", "-q", "--python", venv / "bin" / "python", "--offline", "--no-cache",
           "--link-mode", "copy", "--no-index", "--find-links", wheels, "-r", reqs]
    run(cmd + (["--compile-bytecode"] if compile_ else []), env=in_scratch(scratch))


def bench(name, archive, reqs, rounds, compile_, uv, scratch_root):
    methods = {
        "wagon": method_wagon,
        "pip": method_pip,
        "uv": lambda *a: method_uv(*a, uv),
    }
    times = {m: [] for m in methods}
    venv_times = []
    order = list(methods)
    table_scratch = Path(tempfile.mkdtemp(dir=scratch_root, prefix="bench-"))
    try:
        for round_ in range(rounds):
            # Alternate the order so no method always runs on a warmer cache.
            order = order[1:] + order[:1]
            for method in order:
                # Earlier runs' venvs stay until the table is done: deleting thousands of files
                # slows the next file creations on some file systems (see settle()).
                scratch = Path(tempfile.mkdtemp(dir=table_scratch))
                venv, venv_time = fresh_venv(scratch, with_pip=(method == "pip"))
                venv_times.append(venv_time)
                # Flush earlier runs' writes first, so no method pays for another's I/O.
                os.sync()
                start = time.perf_counter()
                methods[method](archive, reqs, venv, scratch, compile_)
                times[method].append(time.perf_counter() - start)
    finally:
        shutil.rmtree(table_scratch, ignore_errors=True)
    return {m: statistics.median(t) for m, t in times.items()}, statistics.median(venv_times)


def mount_of(path):
    """(device, mount point, file system type) of the mount holding `path` (Linux)."""
    path = os.path.realpath(path)
    best = ("?", "", "unknown")
    if os.path.exists("/proc/mounts"):
        with open("/proc/mounts") as mounts:
            for line in mounts:
                device, point, fstype = line.split()[:3]
                inside = path == point or path.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best[1]):
                    best = (device, point, fstype)
    return best


def ext4_without_journal(path):
    """Whether `path` lies on ext4 mounted without a journal (see settle())."""
    device, _, fstype = mount_of(path)
    options = Path("/proc/fs/ext4") / Path(device).name / "options"
    # A journaled ext4 always reports its data mode (data=ordered, writeback or journal).
    return fstype == "ext4" and options.exists() and "data=" not in options.read_text()


def settle(seconds):
    """Waits before each table for recently deleted files to age out.

    ext4 without a journal skips inodes deleted in the last 60 s (longer while their inode table
    block is unwritten) when it allocates new ones, and the scan past them costs each new file up
    to a millisecond of kernel time. Whoever runs right after a big deletion pays for it, so the
    benchmark keeps each table's venvs until the table is done and lets deleted inodes age out
    before the next one, instead of charging whichever method happens to follow a deletion.
    """
    if seconds > 0:
        os.sync()
        print(f"(settling {seconds} s so recently deleted files age out)", file=sys.stderr, flush=True)
        time.sleep(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sets", default="small,medium,large")
    parser.add_argument("--modes", default="plain,compiled", help="plain, compiled, or both")
    parser.add_argument("--scratch", type=Path, default=WORK,
                        help="where the venvs are created (its file system is what is measured)")
    parser.add_argument("--settle", type=int, default=None,
                        help="seconds to wait before each table (see settle()); default 65 on ext4 "
                             "without a journal, else 0")
    args = parser.parse_args()
    if not WAGON.exists():
        sys.exit(f"{WAGON} is missing: run `cargo build --release` first")
    WORK.mkdir(parents=True, exist_ok=True)
    args.scratch.mkdir(parents=True, exist_ok=True)
    if ext4_without_journal(args.scratch):
        print(f"warning: {args.scratch} is on ext4 without a journal, where each file created soon "
              "after many were deleted costs up to a millisecond of kernel time, whichever tool "
              "creates it; results will be noisy. A journaled file system (--scratch) measures the "
              "installers rather than that.", file=sys.stderr)
        if args.settle is None:
            args.settle = 65
    fs = mount_of(args.scratch)[2] + (" without a journal" if ext4_without_journal(args.scratch) else "")
    uv = tools()
    uv_version = run([uv, "--version"]).stdout.strip()
    pip_version = run([sys.executable, "-m", "pip", "--version"]).stdout.split()[1]
    print(f"# wagon install vs pip {pip_version} vs {uv_version}; Python {sys.version.split()[0]}; "
          f"{os.cpu_count()} cores; {args.rounds} rounds, medians; venvs on {fs} at {args.scratch}")
    modes = args.modes.split(",")
    for compile_ in [m == "compiled" for m in ("plain", "compiled") if m in modes]:
        print()
        print(f"## {'with' if compile_ else 'without'} bytecode compilation")
        print()
        print("| wheelhouse | wheels | archive MB | venv creation s | wagon s | pip s | uv s | pip/wagon | uv/wagon |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name in args.sets.split(","):
            archive, reqs, count = prepare(name, SETS[name])
            settle(args.settle or 0)
            medians, venv_time = bench(name, archive, reqs, args.rounds, compile_, uv, args.scratch)
            size = archive.stat().st_size / 1e6
            print(f"| {name} | {count} | {size:.1f} | {venv_time:.3f} | {medians['wagon']:.3f} | "
                  f"{medians['pip']:.3f} | {medians['uv']:.3f} | {medians['pip'] / medians['wagon']:.1f}x | "
                  f"{medians['uv'] / medians['wagon']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()

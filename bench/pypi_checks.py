#!/usr/bin/env python3
"""Issue 11's real-PyPI checks of `wagon create`, printed as a pass/fail table.

  a. `wagon create pytest==8.3.3 --target cp310-win_amd64` holds colorama, exceptiongroup, tomli,
     iniconfig, packaging and pluggy (the closure pip drops when it evaluates markers against the
     host, pypa/pip#11273).
  b. `wagon create numpy==2.1.3` for cp312-manylinux_2_28_x86_64, cp312-win_amd64 and
     cp312-macosx_14_0_arm64 holds three numpy wheels, one per platform.
  c. For 20 popular projects, the host closure of `wagon create NAME` (Wagon's resolver, a fresh
     cache) equals, by names and versions, what the host's `pip wheel NAME -w DIR --no-cache-dir`
     picks. Both run at the same moment (side by side); every difference is printed with a
     classification found from PyPI's JSON API (yanked, pre-release, Requires-Python, a release
     newer than the other side's choice that pip's backtracking passed over, …).

Needs PyPI (or pip's configured index). Usage:

    cargo build --release
    python3 bench/pypi_checks.py [--only a,b,c] [--projects flask,django] [--jobs 2]
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WAGON = ROOT / "target" / "release" / "wagon"
PROJECTS = [
    "flask", "django", "requests", "fastapi", "pandas", "scikit-learn", "jupyterlab", "black",
    "httpx", "sqlalchemy", "pydantic", "boto3", "celery", "apache-airflow-core", "rich", "pytest",
    "numpy", "matplotlib", "scipy", "uvicorn",
]
PYTEST_WIN = {"colorama", "exceptiongroup", "tomli", "iniconfig", "packaging", "pluggy", "pytest"}
NUMPY_TARGETS = ["cp312-manylinux_2_28_x86_64", "cp312-win_amd64", "cp312-macosx_14_0_arm64"]


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_name_version(filename):
    """(canonical name, version) of a wheel file name; None for anything else (an sdist)."""
    if not filename.endswith(".whl"):
        return None
    name, version = filename[:-4].split("-")[:2]
    return canonical(name), version


def run(cmd, env=None, cwd=None):
    start = time.perf_counter()
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=cwd)
    return result, time.perf_counter() - start


def wagon_create(args, scratch):
    """Runs `wagon create ARGS` with a fresh cache; returns (package.json or None, error, seconds)."""
    out = Path(tempfile.mkdtemp(dir=scratch, prefix="wagon-"))
    env = {**os.environ, "WAGON_CACHE_DIR": str(out / "cache")}
    result, seconds = run([WAGON, "create", "-q", "-o", out / "dist", *args], env=env)
    if result.returncode != 0:
        return None, (result.stderr or result.stdout).strip(), seconds
    archive = Path(result.stdout.strip().splitlines()[-1])
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/package.json")
                      and m.name.count("/") == 1)
        manifest = json.load(tar.extractfile(member))
    return manifest, None, seconds


def pip_wheel(name, scratch):
    """`pip wheel NAME` with the host's pip and no cache; returns ({name: version}, error, seconds)."""
    out = Path(tempfile.mkdtemp(dir=scratch, prefix="pip-"))
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result, seconds = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-cache-dir", "-w", out,
                           name], env=env)
    if result.returncode != 0:
        return None, (result.stderr or result.stdout).strip()[-2000:], seconds
    picked = dict(filter(None, (wheel_name_version(p.name) for p in out.iterdir())))
    return picked, None, seconds


_PYPI = {}


def pypi(name):
    """PyPI's JSON record of a project (cached for the run)."""
    if name not in _PYPI:
        try:
            with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as r:
                _PYPI[name] = json.load(r)
        except Exception as error:  # noqa: BLE001 -- a classification aid only
            _PYPI[name] = {"error": str(error)}
    return _PYPI[name]


def is_prerelease(version):
    return re.search(r"(a|b|rc|dev)\d*", version) is not None


def classify(name, wagon_version, pip_version):
    """A first classification of one difference, from PyPI's record of the project."""
    if wagon_version is None or pip_version is None:
        side = "pip" if wagon_version is None else "wagon"
        return f"only {side} includes it: a marker or extra evaluated differently (see README)"
    record = pypi(name)
    releases = record.get("releases", {})
    notes = []
    for who, version in (("wagon", wagon_version), ("pip", pip_version)):
        files = releases.get(version, [])
        if files and all(f.get("yanked") for f in files):
            notes.append(f"{who}'s {version} is yanked")
        if is_prerelease(version):
            notes.append(f"{who}'s {version} is a pre-release")
        times = sorted(f["upload_time_iso_8601"] for f in files if f.get("upload_time_iso_8601"))
        if times:
            notes.append(f"{version} uploaded {times[0][:16]}")
    latest = record.get("info", {}).get("version")
    if latest:
        notes.append(f"latest {latest}")
        if latest in (wagon_version, pip_version):
            other = pip_version if latest == wagon_version else wagon_version
            who = "pip" if latest == wagon_version else "wagon"
            notes.append(f"{who} picked an older {other} (backtracking or another requirement's "
                         "bound)")
    return "; ".join(notes) or "unclassified"


def check_a(scratch):
    manifest, error, seconds = wagon_create(["pytest==8.3.3", "--target", "cp310-win_amd64"], scratch)
    if error:
        return False, f"create failed: {error}", seconds
    names = {wheel_name_version(w)[0] for w in manifest["wheels"]}
    missing = PYTEST_WIN - names
    detail = f"{len(names)} wheels: {', '.join(sorted(names))}"
    if missing:
        detail += f"; missing {', '.join(sorted(missing))}"
    return not missing, detail, seconds


def check_b(scratch):
    args = ["numpy==2.1.3"] + [a for t in NUMPY_TARGETS for a in ("--target", t)]
    manifest, error, seconds = wagon_create(args, scratch)
    if error:
        return False, f"create failed: {error}", seconds
    numpy = sorted(w for w in manifest["wheels"] if w.startswith("numpy-"))
    per_target = {t["tag"]: [w for w in t["wheels"] if w.startswith("numpy-")]
                  for t in manifest.get("targets", [])}
    ok = (len(numpy) == 3 and set(per_target) == set(NUMPY_TARGETS)
          and all(len(w) == 1 for w in per_target.values())
          and len({w[0] for w in per_target.values()}) == 3)
    return ok, "; ".join(numpy) or "no numpy wheel", seconds


def compare(name, scratch):
    """Runs wagon and pip side by side for one project; returns (wagon, pip, errors, times)."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        wagon_job = pool.submit(wagon_create, [name], scratch)
        pip_job = pool.submit(pip_wheel, name, scratch)
        manifest, wagon_error, wagon_seconds = wagon_job.result()
        pip_picked, pip_error, pip_seconds = pip_job.result()
    wagon_picked = None
    if manifest is not None:
        wagon_picked = dict(wheel_name_version(w) for w in manifest["wheels"])
    return wagon_picked, pip_picked, (wagon_error, pip_error), (wagon_seconds, pip_seconds)


def check_c(projects, scratch, jobs):
    rows = []
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        results = dict(zip(projects, pool.map(lambda p: compare(p, scratch), projects)))
    for name in projects:
        wagon_picked, pip_picked, errors, times = results[name]
        if wagon_picked is None or pip_picked is None:
            failed = "wagon" if wagon_picked is None else "pip"
            rows.append((name, False, f"{failed} failed: {errors[0] or errors[1]}", times, []))
            continue
        differences = []
        for dep in sorted(set(wagon_picked) | set(pip_picked)):
            w, p = wagon_picked.get(dep), pip_picked.get(dep)
            if w != p:
                differences.append((dep, w, p, classify(dep, w, p)))
        detail = f"{len(wagon_picked)} wheels" + ("" if not differences
                                                   else f", {len(differences)} differ")
        rows.append((name, not differences, detail, times, differences))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="a,b,c")
    parser.add_argument("--projects", default=",".join(PROJECTS))
    parser.add_argument("--jobs", type=int, default=2, help="projects compared at once")
    parser.add_argument("--scratch", type=Path, default=None)
    args = parser.parse_args()
    if not WAGON.exists():
        sys.exit(f"{WAGON} is missing: run `cargo build --release` first")
    scratch = Path(tempfile.mkdtemp(prefix="pypi-checks-", dir=args.scratch))
    pip_version = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True,
                                 text=True).stdout.split()[1]
    wagon_version = subprocess.run([WAGON, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# real-PyPI checks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {wagon_version}, "
          f"host pip {pip_version}, Python {sys.version.split()[0]}, scratch {scratch}")
    print()
    print("| check | result | seconds | detail |")
    print("|---|---|---|---|")
    only = args.only.split(",")
    failures = 0
    if "a" in only:
        ok, detail, seconds = check_a(scratch)
        failures += not ok
        print(f"| a: pytest==8.3.3 for cp310-win_amd64 | {'PASS' if ok else 'FAIL'} | {seconds:.1f} | {detail} |",
              flush=True)
    if "b" in only:
        ok, detail, seconds = check_b(scratch)
        failures += not ok
        print(f"| b: numpy==2.1.3 for three platforms | {'PASS' if ok else 'FAIL'} | {seconds:.1f} | {detail} |",
              flush=True)
    if "c" in only:
        rows = check_c(args.projects.split(","), scratch, args.jobs)
        for name, ok, detail, (wagon_s, pip_s), _ in rows:
            failures += not ok
            print(f"| c: {name} = pip wheel | {'PASS' if ok else 'FAIL'} | wagon {wagon_s:.1f}, pip "
                  f"{pip_s:.1f} | {detail} |")
        differing = [(name, d) for name, _, _, _, diffs in rows for d in diffs]
        if differing:
            print()
            print("## differences (wagon vs pip wheel)")
            print()
            print("| project | dependency | wagon | pip | classification |")
            print("|---|---|---|---|---|")
            for name, (dep, w, p, why) in differing:
                print(f"| {name} | {dep} | {w or '—'} | {p or '—'} | {why} |")
    print()
    print(f"{failures} failed")
    subprocess.run(["rm", "-rf", str(scratch)])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

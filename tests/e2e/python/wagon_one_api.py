"""A program written against cloudify wagon 1.0.3's Python API, run unchanged against that
wagon and against wagon-rs (tests/e2e/python_api.rs): create from a local project, show, validate,
install into a venv, list and get the added file, and the errors 1.0.3 raised as WagonError.

Usage: python wagon_one_api.py PROJECT_DIR WORK_DIR FILE_TO_ADD
The project is `demo-proj` 1.0 (module `demo_proj`, `main()` greeting through `demo-lib`), whose
dependency comes from the index pip is configured with. Prints `api ok` at the end.
"""

import os
import subprocess
import sys
import time
import venv

import wagon

project, work, notes = sys.argv[1:4]
out = os.path.join(work, "dist")
here = "py{0}{1}".format(*sys.version_info[:2])
started = [time.monotonic()]


def step(done):
    """Says on stderr how long each step took, for whoever reads a slow or failed run."""
    now = time.monotonic()
    sys.stderr.write("{0}: {1:.1f} s\n".format(done, now - started[0]))
    started[0] = now


path = wagon.create(project, archive_destination_dir=out, add_file=[notes])
name = os.path.basename(path)
# Tolerant of one legitimate difference: 1.0.3 names its zip `NAME.wgn` and a tar.gz the same
# (one overwrote the other); wagon-rs names a zip `NAME.zip.wgn`.
assert path == os.path.join(out, name), path
assert name.startswith("demo_proj-1.0-{0}-none-any.".format(here)), name
assert name.endswith(".wgn") and os.path.isfile(path), path
step("create")

metadata = wagon.show(path)
assert metadata["package_name"] == "demo-proj", metadata
assert metadata["package_version"] == "1.0", metadata
assert metadata["archive_name"] == name, metadata
assert metadata["supported_platform"] == "any", metadata
assert metadata["supported_python_versions"] == [here], metadata
assert metadata["package_source"] == project, metadata
assert metadata["files"] == ["notes.txt"], metadata
wheels = sorted(metadata["wheels"])
assert len(wheels) == 2, wheels
assert wheels[0] == "demo_lib-1.2-py3-none-any.whl", wheels
assert wheels[1].startswith("demo_proj-1.0-") and wheels[1].endswith(".whl"), wheels
step("show")

assert wagon.validate(path) == [], "a sound archive validates"
step("validate")

env = os.path.join(work, "env")
venv.create(env, with_pip=True)
step("venv with pip")
assert wagon.install(path, venv=env) is None
python = os.path.join(env, "Scripts" if os.name == "nt" else "bin", "python")
greeting = subprocess.check_output([python, "-c", "import demo_proj; print(demo_proj.main())"])
assert greeting.decode().strip() == "hello, api", greeting
step("install and import")

assert wagon.list_files(path) == ["notes.txt"]
got = os.path.join(work, "got")
os.makedirs(got)
extracted = wagon.get_file(path, "notes.txt", output_directory=got)
assert extracted == os.path.abspath(os.path.join(got, "notes.txt")), extracted
with open(extracted) as f, open(notes) as g:
    assert f.read() == g.read()
assert wagon.get_file(path, "missing.txt", output_directory=got) is None
step("list and get files")

try:
    wagon.install(path, venv=os.path.join(work, "no-such-venv"))
except wagon.WagonError as error:
    assert "does not exist" in str(error), error
else:
    raise AssertionError("install into a missing venv raised nothing")

try:
    wagon.create(project, archive_destination_dir=out, add_file=[notes])
except wagon.WagonError as error:
    assert "exists" in str(error), error
else:
    raise AssertionError("create over an existing archive raised nothing")
step("errors")
print("api ok")

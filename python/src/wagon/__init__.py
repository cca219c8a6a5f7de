"""wagon 1.0.3's Python API, served by the Rust ``wagon`` binary that ships in the same wheel.

Programs written against cloudify's ``wagon`` 1.0.3 keep working by depending on ``wagon-rs``
instead: ``import wagon`` then ``wagon.create(...)``, ``wagon.install(...)``, ``wagon.validate(...)``,
``wagon.show(...)``, ``wagon.list_files(...)``, ``wagon.get_file(...)`` and ``wagon.repair(...)``
take the same arguments, with the same defaults, and return what they returned. Each call runs the
binary with ``--json`` and reads its one-line answer; a failure raises :class:`WagonError` with
the binary's message. Where the new semantics differ (the archive's file name, a missing file to
add being an error), the README's "Coming from wagon 1.0" section says so.
"""

import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from importlib.metadata import PackageNotFoundError, distribution

DISTRIBUTION = "wagon-rs"
ALL_PLATFORMS_TAG = "any"
IS_WIN = os.name == "nt"

# A library logs and lets the program choose where it goes (wagon 1.0.3 printed to stdout itself).
logger = logging.getLogger("wagon")

try:
    __version__ = distribution(DISTRIBUTION).version
except PackageNotFoundError:  # imported from a source tree
    __version__ = "0+unknown"

__all__ = [
    "WagonError",
    "create",
    "install",
    "validate",
    "show",
    "list_files",
    "get_file",
    "repair",
    "get_platform",
    "set_verbose",
    "is_verbose",
    "main",
]


class WagonError(Exception):
    """A wagon operation failed; ``str(error)`` is the binary's one-paragraph message.

    ``kind`` is the failure's kind when the binary names one (``archive``, ``interpreter``,
    ``io``), ``returncode`` its exit status, ``stderr`` what it printed there.
    """

    def __init__(self, message, kind=None, returncode=None, stderr=""):
        super().__init__(message)
        self.kind = kind
        self.returncode = returncode
        self.stderr = stderr


_verbose = False


def set_verbose():
    """Log every command line run (wagon 1.0.3's switch, kept)."""
    global _verbose
    _verbose = True


def is_verbose():
    return _verbose


def get_platform():
    """This machine's platform as wagon 1.0.3 spelled it in ``supported_platform``."""
    return sysconfig.get_platform().replace(".", "_").replace("-", "_")


def _exe(name):
    return name + ".exe" if IS_WIN else name


def _answers_as_wagon(path):
    """Whether ``path`` is this Wagon and not, say, wagon 1.0.3's script left on PATH."""
    try:
        done = subprocess.run(
            [path, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.decode("utf-8", "replace").startswith("wagon ")


def _wheel_binary():
    """The ``wagon`` executable this distribution installed, wherever its scheme put scripts."""
    try:
        dist = distribution(DISTRIBUTION)
    except PackageNotFoundError:  # imported from a source tree
        return None
    for entry in dist.files or ():
        parts = entry.parts
        if parts and parts[-1] == _exe("wagon") and len(parts) > 1:
            path = os.path.abspath(str(dist.locate_file(entry)))
            if os.path.isfile(path):
                return path
    return None


def _scheme_binaries():
    """``wagon`` in the scripts folder of this interpreter's schemes: the default, then user."""
    schemes = [None]
    if hasattr(sysconfig, "get_preferred_scheme"):
        schemes.append(sysconfig.get_preferred_scheme("user"))
    else:
        schemes.append("nt_user" if IS_WIN else "posix_user")
    for scheme in schemes:
        try:
            folder = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        if folder:
            yield os.path.join(folder, _exe("wagon"))


_binary_cache = []


def _binary():
    """The Rust ``wagon`` to run: ``WAGON_BINARY``, else the one this wheel installed, else the
    scripts folders of this interpreter, else ``wagon`` on ``PATH`` when it is this Wagon."""
    if _binary_cache:
        return _binary_cache[0]
    chosen = os.environ.get("WAGON_BINARY") or _wheel_binary()
    if not chosen:
        for candidate in _scheme_binaries():
            if os.path.isfile(candidate) and _answers_as_wagon(candidate):
                chosen = candidate
                break
    if not chosen:
        on_path = shutil.which("wagon")
        if on_path and _answers_as_wagon(on_path):
            chosen = on_path
    if not chosen:
        raise WagonError(
            "cannot find the wagon executable that the wagon-rs wheel installs (looked in its "
            "RECORD, in {0} and on PATH); reinstall it with `pip install --force-reinstall "
            "wagon-rs`, or set WAGON_BINARY to a wagon binary".format(sysconfig.get_path("scripts"))
        )
    _binary_cache.append(chosen)
    return chosen


def _run(args, passed_on=()):
    """Runs ``wagon ARGS --json [-- PASSED_ON…]``; returns (exit status, the JSON answer). A
    failure the binary reports as ``{"error": …}`` raises :class:`WagonError`; a report with
    problems is returned for the caller to judge."""
    command = [_binary()] + [os.fspath(a) for a in args] + ["--json"]
    if passed_on:
        command += ["--"] + [str(a) for a in passed_on]
    if _verbose:
        logger.debug("Executing: %r", command)
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as err:
        raise WagonError("cannot run {0}: {1}".format(command[0], err))
    stderr = done.stderr.decode("utf-8", "replace")
    for line in stderr.splitlines():
        if line.strip() and not line.startswith("error:"):
            logger.info(line)
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    answer = None
    if lines:
        try:
            answer = json.loads(lines[-1])
        except ValueError:
            answer = None
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        error = answer["error"]
        raise WagonError(
            error.get("message", "wagon failed"), error.get("kind"), done.returncode, stderr
        )
    if answer is None:
        message = stderr.strip() or "`{0}` exited with status {1}".format(
            " ".join(command), done.returncode
        )
        if message.startswith("error:"):
            message = message[len("error:") :].strip()
        raise WagonError(message, None, done.returncode, stderr)
    return done.returncode, answer


def _archive_format(archive_format):
    name = (archive_format or "zip").lower()
    formats = {"zip": "zip", "tar.gz": "gz", "gz": "gz", "tar.zst": "zst", "zst": "zst"}
    if name not in formats:
        raise WagonError(
            "Unsupported archive format to create: {0} "
            "(Must be one of [zip, tar.gz]).".format(name)
        )
    return formats[name]


def _python_of_pip(pip_paths):
    """The build interpreter: wagon 1.0.3 ran ``pip wheel`` with each pip given, or with the
    running interpreter's pip; Wagon builds with one interpreter and makes one archive for several
    machines with ``--target`` instead."""
    pips = [p for p in (pip_paths or []) if p]
    if not pips:
        return sys.executable
    if len(pips) > 1:
        raise WagonError(
            "pip_paths names {0} pips; wagon-rs builds with one interpreter and makes one archive "
            "for several machines with targets: run `wagon create SOURCE --target TAG "
            "--target TAG` (see `wagon create --help`)".format(len(pips))
        )
    folder = os.path.dirname(os.path.abspath(pips[0]))
    for name in ("python", "python3"):
        candidate = os.path.join(folder, _exe(name))
        if os.path.isfile(candidate):
            return candidate
    raise WagonError(
        "no Python interpreter beside pip {0}: pass a pip that lives in an environment's "
        "bin (Scripts) folder next to its python".format(pips[0])
    )


def create(
    source,
    requirement_files=None,
    force=False,
    keep_wheels=False,
    archive_destination_dir=".",
    python_versions=None,
    validate_archive=False,
    wheel_args="",
    archive_format="zip",
    build_tag="",
    pip_paths=None,
    supported_platform=None,
    add_file=None,
):
    """Create a Wagon archive and return its path (``archive_destination_dir`` joined with the
    archive's file name, as wagon 1.0.3 returned it)."""
    args = [
        "create",
        source,
        "-o",
        archive_destination_dir,
        "--format",
        _archive_format(archive_format),
        "--python",
        _python_of_pip(pip_paths),
    ]
    for requirement_file in requirement_files or []:
        args += ["-r", requirement_file]
    if force:
        args.append("--force")
    if keep_wheels:
        kept = tempfile.mkdtemp(prefix="wagon-wheels-")
        logger.info("Keeping wheels in %s", kept)
        args += ["--keep-wheels", kept]
    for version in python_versions or []:
        # `311` means `py311` to the binary as it did to 1.0.3, and `py3` stays `py3` (1.0.3
        # prefixed every entry, so `py3` became `pypy3`).
        args += ["--pyver", str(version)]
    if validate_archive:
        args.append("--validate")
    if build_tag:
        args += ["--build-tag", str(build_tag)]
    if supported_platform:
        args += ["--supported-platform", supported_platform]
    for path in add_file or []:
        args += ["--add-file", path]
    if wheel_args:
        # wagon 1.0.3 handed these to `pip wheel`; so does `--resolver pip`.
        split = wheel_args if isinstance(wheel_args, list) else shlex.split(wheel_args, posix=not IS_WIN)
        args += ["--resolver", "pip"]
    else:
        split = []
    status, report = _run(args, split)
    archive = report.get("archive")
    if not archive:
        raise WagonError("wagon create answered without an archive path: {0}".format(report))
    if status != 0 or report.get("problems"):
        raise WagonError(
            "{0} failed validation: {1}".format(archive, "; ".join(report.get("problems") or [])),
            None,
            status,
        )
    path = os.path.join(archive_destination_dir, os.path.basename(archive))
    logger.info("Wagon created successfully at: %s", path)
    return path


def install(
    source,
    venv=None,
    requirement_files=None,
    upgrade=False,
    ignore_platform=False,
    install_args="",
):
    """Install a Wagon archive into ``venv``, or into the running interpreter when ``venv`` is
    None (as wagon 1.0.3 did). Returns None; raises :class:`WagonError` on failure."""
    if venv and not os.path.isdir(venv):
        raise WagonError("virtualenv {0} does not exist".format(venv))
    args = ["install", source]
    if venv:
        args += ["--venv", venv]
    else:
        args += ["--python", sys.executable]
    for requirement_file in requirement_files or []:
        args += ["-r", requirement_file]
    if upgrade:
        args.append("--upgrade")
    if ignore_platform:
        args.append("--ignore-platform")
    split = []
    if install_args:
        # wagon 1.0.3 handed these to `pip install`; so does the pip installer.
        split = (
            install_args
            if isinstance(install_args, list)
            else shlex.split(install_args, posix=not IS_WIN)
        )
        args += ["--installer", "pip"]
    logger.info("Installing %s", source)
    _run(args, split)


def validate(source):
    """Validate a Wagon archive; return the list of problems found (empty when it is valid).
    The trial install uses a virtualenv of the running interpreter, as wagon 1.0.3's did."""
    logger.info("Validating %s", source)
    _, report = _run(["validate", source, "--python", sys.executable])
    problems = report.get("problems")
    if not isinstance(problems, list):
        raise WagonError("wagon validate answered without a list of problems: {0}".format(report))
    if problems:
        logger.info("Validation failed!")
        for problem in problems:
            logger.info(problem)
    else:
        logger.info("Validation Passed!")
    return [str(p) for p in problems]


def show(source):
    """The archive's package.json, as a dict."""
    _, metadata = _run(["show", source])
    return metadata


def list_files(source):
    """The names of the files packed under ``files/`` (``add_file`` at create time)."""
    _, files = _run(["list-files", source])
    return list(files)


def get_file(source, filename, output_directory="."):
    """Extract one packed file into ``output_directory``, overwriting it as wagon 1.0.3 did;
    return its absolute path, or None when the archive holds no such file."""
    if filename not in list_files(source):
        return None
    _, report = _run(["get-file", source, filename, "-o", output_directory, "--force"])
    return os.path.abspath(report.get("written") or os.path.join(output_directory, filename))


def repair(source, validate_archive=False):
    """Repair the archive's ``linux_*`` wheels with auditwheel (``wagon repair``); return the
    repaired archive's path."""
    _, report = _run(["repair", source])
    if report.get("archive") is None and report.get("repaired") == []:
        # Nothing needed repair (pure or already manylinux wheels): the archive stands as it is.
        return source
    archive = report.get("archive")
    if not archive:
        raise WagonError("wagon repair answered without an archive path: {0}".format(report))
    if validate_archive:
        problems = validate(archive)
        if problems:
            raise WagonError("{0} failed validation: {1}".format(archive, "; ".join(problems)))
    return archive


def main():
    """Run the ``wagon`` command with this process's arguments (``python -m wagon``)."""
    binary = _binary()
    if IS_WIN:
        sys.exit(subprocess.call([binary] + sys.argv[1:]))
    os.execv(binary, [binary] + sys.argv[1:])

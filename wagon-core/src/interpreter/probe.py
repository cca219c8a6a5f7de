# Wagon's interpreter probe: prints one JSON object describing this interpreter. Runs on any
# Python 3 without third-party modules.
import json
import os
import platform
import sys
import sysconfig


def libc():
    if sys.platform != "linux":
        return None
    name, version = platform.libc_ver()
    if name == "glibc" and version:
        return {"kind": "glibc", "version": version}
    # musl: ask the dynamic loader, which prints "Version x.y.z" on stderr.
    import glob
    import subprocess

    for loader in glob.glob("/lib/ld-musl-*.so.1"):
        try:
            out = subprocess.run([loader], capture_output=True, text=True).stderr
        except OSError:
            continue
        for line in out.splitlines():
            if line.startswith("Version "):
                return {"kind": "musl", "version": line.split()[1]}
    return None


def implementation_version():
    info = sys.implementation.version
    version = "{0.major}.{0.minor}.{0.micro}".format(info)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


def has_module(name):
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except Exception:
        return False


def externally_managed():
    # PEP 668: the distribution marks its interpreter with EXTERNALLY-MANAGED in the stdlib
    # folder; a virtualenv is the user's own and never externally managed.
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        return None
    try:
        marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
    except Exception:
        return None
    if not os.path.isfile(marker):
        return None
    error = None
    try:
        import configparser

        parser = configparser.ConfigParser(interpolation=None)
        parser.read(marker, encoding="utf-8")
        error = parser.get("externally-managed", "Error", fallback=None)
    except Exception:
        # An unreadable marker still marks the interpreter, without the distribution's words.
        pass
    return {"marker": marker, "error": error}


print(json.dumps({
    "executable": sys.executable,
    "base_executable": getattr(sys, "_base_executable", sys.executable),
    "prefix": sys.prefix,
    "base_prefix": getattr(sys, "base_prefix", sys.prefix),
    "implementation_name": sys.implementation.name,
    "implementation_version": implementation_version(),
    "python_full_version": platform.python_version(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_python_implementation": platform.python_implementation(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "sys_platform": sys.platform,
    "sysconfig_platform": sysconfig.get_platform(),
    "macos_version": platform.mac_ver()[0] or None,
    "libc": libc(),
    "pointer_bits": 64 if sys.maxsize > 2**32 else 32,
    "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "paths": sysconfig.get_paths(),
    "has_pip": has_module("pip"),
    "externally_managed": externally_managed(),
}))

"""The plugin side of Wagon's plugin protocol, version 1, in one file of standard-library Python.

The protocol is specified in docs/plugin-protocol.md; this file implements its plugin side:
the handshake, the request loop, structured errors and stdout discipline. Copy it next to your
plugin (or put its folder on PYTHONPATH), subclass `Plugin`, and call `serve`:

    #!/usr/bin/env python3
    import wagon_plugin

    class Corp(wagon_plugin.Plugin):
        name = "corp"
        sources = ["corp"]

        def fetch(self, params):
            return wagon_plugin.requirement(params["spec"][len("corp://"):])

    if __name__ == "__main__":
        raise SystemExit(wagon_plugin.serve(Corp()))

Name the executable `wagon-<name>` and configure it in wagon.toml under `[plugins.<name>]`.
Python 3.8 or newer; nothing outside the standard library.
"""

import io
import json
import os
import sys
import traceback

__all__ = [
    "PROTOCOL_VERSION",
    "Plugin",
    "PluginError",
    "project",
    "requirement",
    "wheels",
    "serve",
]

#: The protocol version this helper speaks.
PROTOCOL_VERSION = 1


class PluginError(Exception):
    """A structured error: Wagon shows `message` to the user, with the plugin's name and `code`.

    Codes in use: `not_found`, `bad_request`, `unsupported`, `failed` (see the spec).
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Plugin:
    """A plugin: set its name and capabilities, and implement the method of each capability.

    Each method receives the request's `params` (a dict, as specified per method) and returns
    the result (a dict), or raises `PluginError`.
    """

    #: The plugin's name, for logs and messages (the NAME of `wagon-NAME`).
    name = "plugin"
    #: URL schemes this plugin fetches, without `://`.
    sources = []
    #: Compressors: dicts with name, extension, magic (hex), default_level, min_level, max_level.
    compressors = []
    #: Installer names.
    installers = []

    def fetch(self, params):
        """`source.fetch`: return `project(...)`, `requirement(...)` or `wheels(...)`."""
        raise PluginError("unsupported", f"plugin `{self.name}` does not handle source.fetch")

    def encode(self, params):
        """`compressor.encode`: compress params["input"] into params["output"]; return {}."""
        raise PluginError("unsupported", f"plugin `{self.name}` does not handle compressor.encode")

    def decode(self, params):
        """`compressor.decode`: decompress params["input"] into params["output"]; return {}."""
        raise PluginError("unsupported", f"plugin `{self.name}` does not handle compressor.decode")

    def install(self, params):
        """`installer.install`: install params["wheels"]; return {"installed": [...], "unchanged": [...]}."""
        raise PluginError("unsupported", f"plugin `{self.name}` does not handle installer.install")

    def capabilities(self):
        """The `capabilities` object of the plugin's hello."""
        return {
            "sources": list(self.sources),
            "compressors": list(self.compressors),
            "installers": list(self.installers),
        }


def project(path):
    """A `source.fetch` result: a project folder Wagon builds (relative: to `config_dir`)."""
    return {"kind": "project", "path": os.fspath(path)}


def requirement(text):
    """A `source.fetch` result: a PEP 508 requirement Wagon resolves from the indexes."""
    return {"kind": "requirement", "requirement": text}


def wheels(paths, package, indexes=False):
    """A `source.fetch` result: built wheels, the package being the project named `package`.

    The closure is resolved from `paths` alone unless `indexes` is true.
    """
    return {
        "kind": "wheels",
        "paths": [os.fspath(p) for p in paths],
        "package": package,
        "indexes": bool(indexes),
    }


_METHODS = {
    "source.fetch": "fetch",
    "compressor.encode": "encode",
    "compressor.decode": "decode",
    "installer.install": "install",
}


def _error(request_id, code, message):
    return {"type": "response", "id": request_id, "error": {"code": code, "message": message}}


def answer(plugin, message):
    """The plugin's answer (a dict) to one host message (a dict)."""
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "hello":
        offered = message.get("protocols") or []
        if PROTOCOL_VERSION not in offered:
            return _error(
                0,
                "protocol",
                f"it speaks protocol {PROTOCOL_VERSION} only (wagon_plugin.py), and the host "
                f"offered {', '.join(str(v) for v in offered) or 'none'}",
            )
        return {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "name": plugin.name,
            "capabilities": plugin.capabilities(),
        }
    if kind != "request":
        return _error(0, "bad_request", f"cannot read the host's message: unknown type {kind!r}")
    request_id = message.get("id", 0)
    method = message.get("method")
    params = message.get("params")
    if not isinstance(params, dict):
        return _error(request_id, "bad_request", f"the params of {method} are not an object")
    handler = _METHODS.get(method)
    if handler is None:
        return _error(request_id, "unsupported", f"plugin `{plugin.name}` does not handle {method}")
    try:
        result = getattr(plugin, handler)(params)
    except PluginError as err:
        return _error(request_id, err.code, err.message)
    except Exception as err:  # a bug in the plugin: its traceback to stderr, a clear error to Wagon
        traceback.print_exc(file=sys.stderr)
        return _error(
            request_id,
            "failed",
            f"plugin `{plugin.name}` crashed handling {method}: {type(err).__name__}: {err}",
        )
    if not isinstance(result, dict):
        return _error(request_id, "failed", f"plugin `{plugin.name}` returned no object for {method}")
    return {"type": "response", "id": request_id, "result": result}


def serve(plugin, stdin=None, stdout=None):
    """Answer the host's messages, one JSON object per line, until stdin closes; return 0.

    Only protocol messages reach the real stdout: for the rest of the process, `print` and the
    output of any child process go to stderr, which Wagon passes through to the user.
    """
    if stdout is None:
        stdout = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
        sys.stdout.flush()
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        sys.stdout = sys.stderr
    if stdin is None:
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
    for line in stdin:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError as err:
            reply = _error(0, "bad_request", f"cannot read the host's message: {err}")
        else:
            reply = answer(plugin, message)
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()
    return 0

#!/usr/bin/env python3
"""Generates Wagon's hostile-input corpus: archives and wheels that each try one attack or one
corruption, and cases.json saying what Wagon must answer. Deterministic: rerunning it rewrites
the same bytes. Run from anywhere: `python3 tests/hostile/generate.py`.

Each case: {"file", "attack", "expect" (text the error must contain), "flags" (extra wagon
flags, e.g. a lowered limit), "show_reads_it" (false when the damage lies past package.json,
which `show` — reading only the head — never reaches)}.
"""
import base64
import gzip
import hashlib
import io
import json
import shutil
import tarfile
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "corpus"
MTIME = 315532800
CASES = []


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel(name="demo", version="1.0", files=None, tamper=None, metadata=None):
    """A valid wheel (optionally with extra raw entries, or one file's bytes changed after RECORD)."""
    files = dict(files or {f"{name}.py": b"VALUE = 1\n"})
    info = f"{name}-{version}.dist-info"
    files[f"{info}/METADATA"] = metadata or f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: hostile\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    rows = [f"{path},{record_hash(data)},{len(data)}" for path, data in files.items()]
    rows.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(rows) + "\n").encode()
    if tamper:
        files[tamper] = files[tamper] + b"# tampered\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path, data in files.items():
            zf.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def manifest(wheels, digests=True, **extra):
    data = {
        "archive_name": "demo-1.0-py3-none-any.wgn",
        "build_server_os_properties": {"distribution": None, "distribution_release": None, "distribution_version": None},
        "created_by_wagon_version": "hostile",
        "package_build_tag": None,
        "package_name": "demo",
        "package_source": "demo",
        "package_version": "1.0",
        "python_requires": None,
        "supported_platform": "any",
        "supported_python_versions": ["py3"],
        "wheels": sorted(wheels),
    }
    if digests:
        data["wheel_digests"] = {n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in wheels.items()}
    data.update(extra)
    return json.dumps(data, indent=4, sort_keys=True).encode()


def tar_entry(name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime, info.mode = kind, link, MTIME, 0o644
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return info, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write_tar(path, entries, raw_names=None):
    """A tar.gz of `entries` [(info, fileobj)]; `raw_names` maps placeholder names to raw bytes
    patched into the headers afterwards (names tarfile would not write)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, data)
    raw = buffer.getvalue()
    for placeholder, replacement in (raw_names or {}).items():
        raw = patch_tar_name(raw, placeholder.encode(), replacement)
    with gzip.GzipFile(filename="", mode="wb", fileobj=open(path, "wb"), mtime=0) as gz:
        gz.write(raw)


def patch_tar_name(raw, placeholder, replacement):
    """Replaces a name in a tar header (same length), fixing the header checksum."""
    assert len(placeholder) == len(replacement)
    data = bytearray(raw)
    for offset in range(0, len(data), 512):
        if data[offset:offset + len(placeholder)] == placeholder:
            data[offset:offset + len(placeholder)] = replacement
            data[offset + 148:offset + 156] = b" " * 8
            checksum = sum(data[offset:offset + 512])
            data[offset + 148:offset + 156] = b"%06o\0 " % checksum
    return bytes(data)


def write_zip(path, entries, raw_names=None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries:
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    raw = buffer.getvalue()
    for placeholder, replacement in (raw_names or {}).items():
        raw = raw.replace(placeholder.encode(), replacement)
    path.write_bytes(raw)


def case(file, attack, expect, flags=(), show_reads_it=True):
    CASES.append({"file": file, "attack": attack, "expect": expect, "flags": list(flags), "show_reads_it": show_reads_it})


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    good = wheel()
    wheels = {"demo-1.0-py3-none-any.whl": good}
    # Fresh entries each time: a tar entry's data stream is consumed when written.
    def head():
        return tar_entry("demo/package.json", manifest(wheels))

    def whl():
        return tar_entry("demo/wheels/demo-1.0-py3-none-any.whl", good)

    write_tar(OUT / "traversal.wgn", [head(), whl(), tar_entry("demo/../../evil.txt", b"pwned")])
    case("traversal.wgn", "an entry named with ../", "demo/../../evil.txt", show_reads_it=False)
    write_tar(OUT / "absolute.wgn", [tar_entry("/tmp/wagon-hostile-absolute.txt", b"pwned"), head(), whl()])
    case("absolute.wgn", "an absolute entry name", "its name is absolute")
    write_tar(OUT / "symlink-escape.wgn", [tar_entry("demo/wheels", kind=tarfile.SYMTYPE, link="../../../.."), tar_entry("demo/wheels/evil.txt", b"pwned")])
    case("symlink-escape.wgn", "a symlink out, then a write through it", "it is a symbolic link")
    write_tar(OUT / "hardlink-escape.wgn", [tar_entry("demo/passwd", kind=tarfile.LNKTYPE, link="/etc/passwd"), head(), whl()])
    case("hardlink-escape.wgn", "a hard link to a file outside", "it is a hard link")
    write_tar(OUT / "device.wgn", [tar_entry("demo/null", kind=tarfile.CHRTYPE), head(), whl()])
    case("device.wgn", "a character device entry", "device, FIFO or other special file")
    write_tar(OUT / "fifo.wgn", [tar_entry("demo/pipe", kind=tarfile.FIFOTYPE), head(), whl()])
    case("fifo.wgn", "a FIFO entry", "device, FIFO or other special file")
    write_tar(OUT / "duplicate.wgn", [tar_entry("demo/wheels/x.txt", b"one"), tar_entry("demo/wheels/x.txt", b"two"), head(), whl()])
    case("duplicate.wgn", "the same entry twice", "appears twice")
    write_tar(OUT / "two-tops.wgn", [head(), whl(), tar_entry("other/evil.txt", b"x")])
    case("two-tops.wgn", "entries outside the single top folder", "outside the archive's single top folder", show_reads_it=False)

    slip = wheel(files={"demo.py": b"", "../../evil.py": b"pwned"})
    slip_wheels = {"demo-1.0-py3-none-any.whl": slip}
    write_tar(OUT / "zip-slip-in-wheel.wgn", [tar_entry("demo/package.json", manifest(slip_wheels)), tar_entry("demo/wheels/demo-1.0-py3-none-any.whl", slip)])
    case("zip-slip-in-wheel.wgn", "a wheel entry named ../../evil.py", "../../evil.py", show_reads_it=False)

    bomb = b"\0" * (64 * 1024 * 1024)
    write_tar(OUT / "bomb.wgn", [head(), whl(), tar_entry("demo/files/zeros", bomb)])
    case("bomb.wgn", "64 MiB of zeros in a small archive", "unpack to more than", flags=["--max-unpacked-bytes", "10000000"], show_reads_it=False)

    valid = OUT / "valid.tmp"
    write_tar(valid, [head(), whl()])
    raw = valid.read_bytes()
    valid.unlink()
    for percent in (5, 25, 50, 75, 95, 99):
        name = f"truncated-{percent}.wgn"
        (OUT / name).write_bytes(raw[: len(raw) * percent // 100])
        case(name, f"the archive cut at {percent}% of its bytes", "damaged or truncated", show_reads_it=percent <= 50)

    write_tar(OUT / "json-invalid.wgn", [tar_entry("demo/package.json", b'{"package_name": "demo",'), whl()])
    case("json-invalid.wgn", "package.json that is not JSON", "not valid JSON")
    write_tar(OUT / "json-huge.wgn", [tar_entry("demo/package.json", manifest(wheels, padding="x" * 8192)), whl()])
    case("json-huge.wgn", "package.json over the metadata limit", "limit for metadata files", flags=["--max-metadata-bytes", "4096"])
    write_tar(OUT / "json-deep.wgn", [tar_entry("demo/package.json", b"[" * 100000 + b"]" * 100000), whl()])
    case("json-deep.wgn", "package.json nested 100,000 deep", "not valid JSON")
    write_tar(OUT / "json-types.wgn", [tar_entry("demo/package.json", b'{"package_name": 7, "wheels": "all", "archive_name": [], "package_version": null, "supported_platform": {}}'), whl()])
    case("json-types.wgn", "package.json of the wrong types", "must be a string")

    tampered = wheel(tamper="demo.py")
    t_wheels = {"demo-1.0-py3-none-any.whl": tampered}
    write_tar(OUT / "wheel-vs-record.wgn", [tar_entry("demo/package.json", manifest(t_wheels)), tar_entry("demo/wheels/demo-1.0-py3-none-any.whl", tampered)])
    case("wheel-vs-record.wgn", "a wheel file that disagrees with the wheel's RECORD", "demo.py does not match the wheel's RECORD", show_reads_it=False)
    write_tar(OUT / "wheel-vs-manifest.wgn", [head(), tar_entry("demo/wheels/demo-1.0-py3-none-any.whl", good + b"\0")])
    case("wheel-vs-manifest.wgn", "a wheel that disagrees with package.json's sha256", "but package.json records", show_reads_it=False)
    write_tar(OUT / "wheel-missing.wgn", [head()])
    case("wheel-missing.wgn", "a listed wheel missing", "listed in package.json but missing", show_reads_it=False)
    extra = wheel("stowaway")
    write_tar(OUT / "wheel-unlisted.wgn", [head(), whl(), tar_entry("demo/wheels/stowaway-1.0-py3-none-any.whl", extra)])
    case("wheel-unlisted.wgn", "an unlisted extra wheel", "not listed in package.json", show_reads_it=False)

    write_tar(OUT / "name-control.wgn", [tar_entry("demo/files/bell\x07.txt", b"x"), head(), whl()])
    case("name-control.wgn", "a control character in a name", "control character")
    write_tar(OUT / "name-not-utf8.wgn", [tar_entry("demo/files/PLACEHOLDER.txt", b"x"), head(), whl()], raw_names={"demo/files/PLACEHOLDER": b"demo/files/\xff\xfe\xfdCEHOLDER"})
    case("name-not-utf8.wgn", "a name that is not UTF-8", "not UTF-8")
    write_zip(OUT / "name-nul.wgn", [("demo/files/aXb.txt", b"x"), ("demo/package.json", manifest(wheels)), ("demo/wheels/demo-1.0-py3-none-any.whl", good)], raw_names={"demo/files/aXb": b"demo/files/a\0b"})
    case("name-nul.wgn", "a NUL byte in a name", "NUL or control character")
    write_tar(OUT / "name-windows.wgn", [tar_entry("demo/files/CON", b"x"), head(), whl()])
    case("name-windows.wgn", "a Windows reserved name", "a name Windows reserves")
    write_zip(OUT / "zip-traversal.wgn", [("demo/package.json", manifest(wheels)), ("demo/wheels/demo-1.0-py3-none-any.whl", good), ("demo/../../zip-evil.txt", b"pwned")])
    case("zip-traversal.wgn", "a zip entry named with ../", "demo/../../zip-evil.txt", show_reads_it=False)

    issue_12_cases()

    (HERE / "cases.json").write_text(json.dumps(CASES, indent=2) + "\n")
    print(f"{len(CASES)} cases in {OUT}")


def wheel_case(file, attack, expect, whl_bytes, extra_wheels=()):
    """An archive holding `whl_bytes` as demo 1.0's wheel (plus `extra_wheels`: [(file, bytes)]),
    consistent in every digest, so that only the wheel's contents can be refused."""
    wheels = {"demo-1.0-py3-none-any.whl": whl_bytes, **dict(extra_wheels)}
    entries = [tar_entry("demo/package.json", manifest(wheels))]
    entries += [tar_entry(f"demo/wheels/{name}", data) for name, data in sorted(wheels.items())]
    write_tar(OUT / file, entries)
    case(file, attack, expect, show_reads_it=False)


def deflate_bomb_wheel():
    """demo 1.0 whose `demo.py` RECORD and zip headers say 10 bytes but whose deflated stream
    inflates to 64 MiB of zeros: the bytes are patched in after zipfile wrote honest headers."""
    honest = b"VALUE = 1\n"
    good = wheel(files={"demo.py": honest})
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = bomb.compress(b"\0" * (64 * 1024 * 1024)) + bomb.flush()
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(buffer, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            target = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            if info.filename == "demo.py":
                # Stored placeholder of the bomb's length, swapped for the stream below.
                target.compress_type = zipfile.ZIP_STORED
                out.writestr(target, b"\xAB" * len(stream))
            else:
                out.writestr(target, data)
    raw = bytearray(buffer.getvalue())
    at = raw.index(b"\xAB" * len(stream))
    raw[at:at + len(stream)] = stream
    crc = zlib.crc32(honest).to_bytes(4, "little")
    for signature, method_at, crc_at in ((b"PK\x03\x04", 8, 14), (b"PK\x01\x02", 10, 16)):
        start = 0
        while (start := raw.find(signature, start)) != -1:
            name_len_at = 26 if signature == b"PK\x03\x04" else 28
            name_at = 30 if signature == b"PK\x03\x04" else 46
            name_len = int.from_bytes(raw[start + name_len_at:start + name_len_at + 2], "little")
            if bytes(raw[start + name_at:start + name_at + name_len]) == b"demo.py":
                raw[start + method_at:start + method_at + 2] = (8).to_bytes(2, "little")
                raw[start + crc_at:start + crc_at + 4] = crc
                raw[start + crc_at + 8:start + crc_at + 12] = len(honest).to_bytes(4, "little")
            start += 4
    return bytes(raw)


def overlapping_wheel():
    """demo 1.0 plus 2,000 central-directory entries that all point at one deflated block."""
    payload = b"VALUE = 1\n"
    files = {f"demo/m{i}.py": payload for i in range(2000)}
    files["demo.py"] = payload
    honest = wheel(files=files)
    raw = bytearray(honest)
    # Every m*.py central record's local-header offset is set to that of demo/m0.py.
    offsets = {}
    start = 0
    while (start := raw.find(b"PK\x01\x02", start)) != -1:
        name_len = int.from_bytes(raw[start + 28:start + 30], "little")
        name = bytes(raw[start + 46:start + 46 + name_len])
        offsets[name] = start
        start += 4
    first = int.from_bytes(raw[offsets[b"demo/m0.py"] + 42:offsets[b"demo/m0.py"] + 46], "little")
    for name, at in offsets.items():
        if name.startswith(b"demo/m"):
            raw[at + 42:at + 46] = first.to_bytes(4, "little")
    return bytes(raw)


def polyglot_wheel():
    """A harmless wheel followed by a hostile one whose end record's comment length runs past
    the end of the file: Python's zipfile reads the second, the zip crate the first."""
    first = wheel(files={"demo.py": b"SAFE = 1\n"})
    second = bytearray(wheel(files={"demo.py": b"EVIL = 1\n", "demo-1.0.data/data/pyvenv.cfg": b"home = /tmp\n"}))
    shift = len(first)
    end = second.rfind(b"PK\x05\x06")
    directory = int.from_bytes(second[end + 16:end + 20], "little")
    at = directory
    while second[at:at + 4] == b"PK\x01\x02":
        offset = int.from_bytes(second[at + 42:at + 46], "little")
        second[at + 42:at + 46] = (offset + shift).to_bytes(4, "little")
        lengths = [int.from_bytes(second[at + o:at + o + 2], "little") for o in (28, 30, 32)]
        at += 46 + sum(lengths)
    second[end + 16:end + 20] = (directory + shift).to_bytes(4, "little")
    second[end + 20:end + 22] = (0x200).to_bytes(2, "little")
    return first + bytes(second)


def duplicate_entry_wheel():
    """demo 1.0 with `demo.py` twice: the first matches RECORD, the second does not."""
    good = wheel()
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(buffer, "w") as out:
        for info in src.infolist():
            out.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), src.read(info))
        # zipfile warns but writes it: a second entry of the same name.
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.writestr(zipfile.ZipInfo("demo.py", date_time=(1980, 1, 1, 0, 0, 0)), b"import os; os.system('id')\n")
    return buffer.getvalue()


def issue_12_cases():
    """What a wheel or a stale environment file can say to steer an installer outside the
    environment (issue 12), one case per finding that a single archive can carry."""
    def scripts(text):
        return wheel(files={"demo.py": b"def main():\n    pass\n", "demo-1.0.dist-info/entry_points.txt": text.encode()})

    wheel_case("ep-name-escape.wgn", "a console script named ../../escaped-launcher",
               "is not a plain file name", scripts("[console_scripts]\n../../escaped-launcher = demo:main\n"))
    wheel_case("ep-value-injection.wgn", "an entry-point value that injects code into the launcher",
               "is not a valid `module:object` reference",
               scripts("[console_scripts]\ndemo = os import system; system('touch /tmp/wagon-injected'); from os:getcwd\n"))
    wheel_case("staging-journal-in-wheel.wgn", "a wheel shipping .wagon-staging-x/journal.json in site-packages",
               "reserved for Wagon's own files",
               wheel(files={"demo.py": b"", ".wagon-staging-x/journal.json": b'{"created_dirs": [], "set_aside": [["/tmp/victim", "/tmp/x"]], "place": []}'}))
    wheel_case("second-dist-info.wgn", "a wheel planting another project's RECORD (victimdist-1.0.dist-info)",
               ".dist-info folders",
               wheel(files={"demo.py": b"", "victimdist-1.0.dist-info/RECORD": b"../../../../wagon-victim,,\n"}))
    wheel_case("metadata-two-names.wgn", "METADATA with `name: demo` then `Name: ../../../../x`",
               "more than one `Name` field",
               wheel(files={"demo.py": b"", "demo-1.0.data/headers/evil.h": b"#define EVIL 1\n"},
                     metadata=b"Metadata-Version: 2.1\nname: demo\nName: ../../../../wagon-header-escape\nVersion: 1.0\n"))
    shared = wheel("alpha", files={"shared/__init__.py": b"A = 1\n"})
    clash = wheel(files={"demo.py": b"", "shared": b"not a folder\n"},
                  metadata=b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: alpha\n")
    wheel_case("file-over-folder.wgn", "a file installed where another project's folder goes",
               "a file cannot replace it", clash, extra_wheels=[("alpha-1.0-py3-none-any.whl", shared)])
    wheel_case("deflate-bomb-in-wheel.wgn", "a wheel member whose RECORD and zip say 10 bytes, inflating to 64 MiB",
               "holds more bytes than", deflate_bomb_wheel())
    wheel_case("overlapping-entries.wgn", "2,000 wheel entries sharing one deflated block",
               "overlap", overlapping_wheel())
    wheel_case("script-named-python.wgn", "a console script named python",
               "the environment's own interpreter", scripts("[console_scripts]\npython = demo:main\n"))
    wheel_case("data-bin-python.wgn", "a .data/data/bin/python replacing the interpreter",
               "the environment's own interpreter",
               wheel(files={"demo.py": b"", "demo-1.0.data/data/bin/python": b"#!/bin/sh\n"}))
    wheel_case("data-pyvenv-cfg.wgn", "a .data/data/pyvenv.cfg replacing the venv's configuration",
               "pyvenv.cfg", wheel(files={"demo.py": b"", "demo-1.0.data/data/pyvenv.cfg": b"home = /tmp\n"}))
    wheel_case("data-install-lock.wgn", "a .data/data/.wagon-install.lock taking over Wagon's lock",
               "reserved for Wagon's own files",
               wheel(files={"demo.py": b"", "demo-1.0.data/data/.wagon-install.lock": b"x"}))
    wheel_case("ep-hidden-by-line-break.wgn", "a console script hidden from Wagon by a \\r line break Python honours",
               "holds the line break", scripts("[other]\nx = y\r[console_scripts]\rpython3.11 = os:getcwd\n"))
    wheel_case("zip-two-end-records.wgn", "a wheel read as one zip by Wagon and as another by pip (two end records)",
               "end-of-central-directory record is ambiguous", polyglot_wheel())
    wheel_case("dist-info-through-data.wgn", "another project's RECORD planted through .data/purelib",
               "another project's metadata folder",
               wheel(files={"demo.py": b"", "demo-1.0.data/purelib/victimdist-1.0.dist-info/RECORD": b"../../../../wagon-victim,,\n"}))
    wheel_case("duplicate-in-wheel.wgn", "a wheel holding demo.py twice (the second not in RECORD)",
               "two entries are named `demo.py`", duplicate_entry_wheel())

    # A pylock.toml that is not a plan Wagon may follow (findings 10 and 12b).
    good = wheel()
    wheels = {"demo-1.0-py3-none-any.whl": good}

    def lock(*packages):
        rows = ['lock-version = "1.0"', 'created-by = "hostile"']
        for name, version, file, data, where in packages:
            rows += ["", "[[packages]]", f'name = "{name}"', f'version = "{version}"', "", "[[packages.wheels]]",
                     f'name = "{file}"', where, f"size = {len(data)}", f'hashes = {{sha256 = "{hashlib.sha256(data).hexdigest()}"}}']
        return ("\n".join(rows) + "\n").encode()

    def locked(file, lock_bytes, more_wheels=None):
        held = dict(wheels, **(more_wheels or {}))
        entries = [tar_entry("demo/package.json", manifest(held)), tar_entry("demo/pylock.toml", lock_bytes)]
        write_tar(OUT / file, entries + [tar_entry(f"demo/wheels/{n}", b) for n, b in sorted(held.items())])

    good_file = "demo-1.0-py3-none-any.whl"
    inside = f'path = "wheels/{good_file}"'
    demo2, demo2_file = wheel(version="2.0"), "demo-2.0-py3-none-any.whl"
    locked("lock-two-entries.wgn", lock(("demo", "1.0", good_file, good, inside), ("demo", "2.0", demo2_file, demo2, f'path = "wheels/{demo2_file}"')), {demo2_file: demo2})
    case("lock-two-entries.wgn", "pylock.toml with two entries for one project (both versions would install)", "the lock has two entries for demo", show_reads_it=False)
    locked("lock-renamed-entry.wgn", lock(("pip", "1.0", good_file, good, inside)))
    case("lock-renamed-entry.wgn", "a pylock.toml entry naming another project's wheel", "the lock entry pip 1.0 names the wheel demo-1.0-py3-none-any.whl, which is demo 1.0", show_reads_it=False)
    locked("lock-url-only.wgn", lock(("demo", "1.0", good_file, good, f'url = "https://example.invalid/{good_file}"')))
    case("lock-url-only.wgn", "a pylock.toml wheel given by url only (an installer would download it)", "the archive's lock may only name wheels inside the archive", show_reads_it=False)


if __name__ == "__main__":
    main()

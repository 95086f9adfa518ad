#!/usr/bin/env bash
# meson test 'python' (suite bindings): build the cffi extension against the
# build dir's libvcluster into <builddir>/bindings/python and run pytest on
# bindings/python/tests with it. Run by meson with VC_SOURCE_ROOT,
# VC_BUILD_ROOT and VC_LIBRARY set (tests/bindings/meson.build).
set -euo pipefail
SRC=${VC_SOURCE_ROOT:?}
BUILD=${VC_BUILD_ROOT:?}
OUT=$BUILD/bindings/python
PY=${PYTHON:-python3}

if ! "$PY" -c 'import cffi, pytest' 2>/dev/null; then
  echo "FAIL: cffi and pytest are needed (tests/install-deps installs them)" >&2
  exit 1
fi

# A private copy of the package next to its own extension, so build dirs
# (ASan or not) never share a compiled module and the source tree stays clean.
rm -rf "$OUT"
mkdir -p "$OUT"
cp -r "$SRC/bindings/python/vcluster" "$OUT/vcluster"
find "$OUT/vcluster" \( -name '*.so' -o -name '__pycache__' \) -prune -exec rm -rf {} +
# The extension itself is not sanitized; it links the (possibly sanitized)
# library from the build dir, found through its uninstalled .pc file.
PKG_CONFIG_PATH="$BUILD/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
  "$PY" "$OUT/vcluster/_build.py" "$OUT" >"$OUT/build.log" 2>&1 || {
    cat "$OUT/build.log" >&2; echo "FAIL: building the cffi extension" >&2; exit 1; }

. "$SRC/tests/bindings/sanitizer-env.sh"
cd "$OUT"
exec env "${SAN_ENV[@]}" PYTHONPATH="$OUT" PYTHONDONTWRITEBYTECODE=1 \
  "$PY" -m pytest -p no:cacheprovider -ra "$SRC/bindings/python/tests" "$@"

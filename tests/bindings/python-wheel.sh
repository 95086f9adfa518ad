#!/usr/bin/env bash
# meson test 'python-wheel' (suite bindings): `pip wheel bindings/python`
# makes a wheel that bundles libvcluster (vcluster/_libs/<soname>, the
# extension's rpath $ORIGIN/_libs, and nothing of the build machine's paths),
# which installs into a fresh venv and works there with no LD_LIBRARY_PATH,
# no PYTHONPATH and from outside the source tree: import, version, a pure
# translation call, and the library mapped from the bundled copy.
# Run by meson with VC_SOURCE_ROOT, VC_BUILD_ROOT and VC_LIBRARY set.
set -euo pipefail
SRC=${VC_SOURCE_ROOT:?}
BUILD=${VC_BUILD_ROOT:?}
PY=${PYTHON:-python3}
if ! "$PY" -c 'import cffi, setuptools, wheel' 2>/dev/null; then
  echo "FAIL: cffi, setuptools and wheel are needed (tests/install-deps installs them)" >&2
  exit 1
fi
. "$SRC/tests/bindings/sanitizer-env.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/vc-wheel-XXXXXX")
trap 'rm -rf "$T"' EXIT
# pip builds in a copy, so the source tree gets no build/ or egg-info
cp -r "$SRC/bindings/python" "$T/src"
find "$T/src" \( -name '*.so' -o -name '__pycache__' -o -name build -o -name '*.egg-info' \) -prune -exec rm -rf {} +
# --no-build-isolation: setuptools, cffi and wheel come from install-deps, not
# from an index at test time
PKG_CONFIG_PATH="$BUILD/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
  "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$T/dist" "$T/src" >"$T/build.log" 2>&1 || {
    cat "$T/build.log" >&2; echo "FAIL: pip wheel" >&2; exit 1; }
whl=$(ls "$T"/dist/vcluster-*.whl)
echo "wheel: $(basename "$whl") ($(du -k "$whl" | cut -f1) KiB)"

# what is inside: the library under its soname, the extension with only $ORIGIN/_libs
"$PY" - "$whl" "$T/unz" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
libs = [n for n in names if n.startswith("vcluster/_libs/libvcluster.so.")]
exts = [n for n in names if n.startswith("vcluster/_vcluster") and n.endswith(".so")]
assert len(libs) == 1, f"bundled library: {libs} in {names}"
assert len(exts) == 1, f"extension: {exts}"
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
print("bundled:", libs[0], "extension:", exts[0])
EOF
ext=$(ls "$T"/unz/vcluster/_vcluster*.so)
rp=$(readelf -d "$ext" | grep -E 'R(UN)?PATH' || true)
# (an interpreter built with an rpath of its own, as pyenv's, adds its lib/ to
# every extension's: not ours to remove)
grep -Eq 'Library r.*path: \[(.*:)?\$ORIGIN/_libs(:.*)?\]$' <<<"$rp" || {
  echo "FAIL: the extension's rpath should have \$ORIGIN/_libs, got: $rp" >&2; exit 1; }
if grep -q "$BUILD" <<<"$rp"; then echo "FAIL: the build dir leaked into the rpath: $rp" >&2; exit 1; fi
echo "extension rpath: ${rp##*: }"

# a fresh venv; cffi and pyyaml (the wheel's dependencies) from the system
# site, so the test needs no index
"$PY" -m venv --system-site-packages "$T/venv"
"$T/venv/bin/python" -m pip install -q --no-deps --no-index "$whl"
cd "$T"
env -u LD_LIBRARY_PATH -u PYTHONPATH "${SAN_ENV[@]}" PYTHONDONTWRITEBYTECODE=1 "$T/venv/bin/python" - "$T/venv" <<'EOF'
import os, sys
import vcluster
venv = os.path.realpath(sys.argv[1])
assert os.path.realpath(vcluster.__file__).startswith(venv), vcluster.__file__
n, s = vcluster.lowlevel.version()  # calls vc_version()
assert s == vcluster.lowlevel.VERSION_STRING, (s, vcluster.lowlevel.VERSION_STRING)
t = vcluster.Translator("demo", host_namespace="vcluster-demo")
host = t.host_name("pods", "default", "web")
assert host == "web-x-default-x-demo", host
maps = [l.split()[-1] for l in open("/proc/self/maps") if "libvcluster.so" in l]
assert maps and all(os.path.realpath(m).startswith(os.path.join(venv, "")) for m in maps), maps
assert vcluster.BUNDLED_LIBDIR and os.path.realpath(vcluster.BUNDLED_LIBDIR).startswith(venv)
print(f"ok: venv import, libvcluster {s}, host_name -> {host}, library mapped from {sorted(set(maps))[0]}")
EOF
echo "1 passed, 0 failed"

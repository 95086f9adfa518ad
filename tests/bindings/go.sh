#!/usr/bin/env bash
# meson test 'go' (suite bindings): go vet and go test ./... in bindings/go,
# with cgo finding the build dir's libvcluster through its uninstalled .pc
# file and an rpath to it. The test binaries run through `go test -exec env
# ...` so only they get the sanitizer preload, never the go tool or the C
# compiler. Run by meson with VC_SOURCE_ROOT, VC_BUILD_ROOT and VC_LIBRARY set.
set -euo pipefail
SRC=${VC_SOURCE_ROOT:?}
BUILD=${VC_BUILD_ROOT:?}
command -v go >/dev/null || { echo "FAIL: go is not on PATH (Go >= 1.24)" >&2; exit 1; }

. "$SRC/tests/bindings/sanitizer-env.sh"
export PKG_CONFIG_PATH="$BUILD/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export CGO_ENABLED=1
export CGO_LDFLAGS="-Wl,-rpath,$(dirname "$VC_LIBRARY")${CGO_LDFLAGS:+ $CGO_LDFLAGS}"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off
# Each build dir gets its own cgo cache key anyway (the rpath differs).
cd "$SRC/bindings/go"
go vet ./...

# Without cgo the build stops with one line that says why (nocgo.go), not
# with "undefined: Status" from every file.
if out=$(CGO_ENABLED=0 go build ./vcluster 2>&1); then
  echo "FAIL: the package built with CGO_ENABLED=0" >&2; exit 1
fi
if ! grep -q "vcluster needs cgo" <<<"$out" || [ "$(grep -c 'nocgo.go' <<<"$out")" != 1 ] ||
   grep -q "undefined:" <<<"$out"; then
  printf 'FAIL: CGO_ENABLED=0 should fail with one readable line, got:\n%s\n' "$out" >&2; exit 1
fi
echo "ok: CGO_ENABLED=0 says: $(grep nocgo.go <<<"$out" | cut -c1-100)..."

# -tags vcluster_rpath: the binary finds the library by its rpath
# (libvcluster-rpath.pc), with no LD_LIBRARY_PATH and no -rpath of ours.
bin="$BUILD/bindings/go-version"
mkdir -p "$BUILD/bindings"
CGO_LDFLAGS="" go build -tags vcluster_rpath -o "$bin" ./examples/version 2>&1 | grep -v 'libasan.*dangerous' || true
readelf -d "$bin" | grep -q "R.*PATH.*$(dirname "$VC_LIBRARY")" || {
  echo "FAIL: $bin has no rpath to $(dirname "$VC_LIBRARY")" >&2; readelf -d "$bin" >&2; exit 1; }
vout=$(env -u LD_LIBRARY_PATH "${SAN_ENV[@]}" "$bin") || { echo "FAIL: $bin did not run: $vout" >&2; exit 1; }
grep -q "^libvcluster 0\." <<<"$vout" || { echo "FAIL: $bin printed: $vout" >&2; exit 1; }
echo "ok: -tags vcluster_rpath runs without LD_LIBRARY_PATH: $vout"
exec go test -count=1 ${SAN_PRELOAD:+-exec "env ${SAN_ENV[*]}"} ./... "$@"

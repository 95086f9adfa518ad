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
exec go test -count=1 ${SAN_PRELOAD:+-exec "env ${SAN_ENV[*]}"} ./... "$@"

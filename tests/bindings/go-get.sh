#!/usr/bin/env bash
# meson test 'go-get' (suite bindings): the Go module can be fetched the way a
# user fetches it, `go get github.com/libvcluster/libvcluster/bindings/go@vX`,
# through the go command's own VCS path (GOPROXY=direct: git ls-remote, a
# subdirectory module tagged bindings/go/vX.Y.Z), not through a replace line.
# The repository is a local git repo holding this tree's bindings/go, which a
# git url.insteadOf (in a private GIT_CONFIG_GLOBAL) puts where the go command
# looks for github.com/libvcluster/libvcluster: nothing leaves the machine.
# A consumer module then builds with the binding's cgo dependency met by
# pkg-config (the build dir's uninstalled libvcluster-rpath.pc) and runs with
# no LD_LIBRARY_PATH. Run by meson with VC_SOURCE_ROOT, VC_BUILD_ROOT, VC_LIBRARY.
set -euo pipefail
SRC=${VC_SOURCE_ROOT:?}
BUILD=${VC_BUILD_ROOT:?}
command -v go >/dev/null || { echo "FAIL: go is not on PATH (Go >= 1.24)" >&2; exit 1; }
command -v git >/dev/null || { echo "FAIL: git is not on PATH" >&2; exit 1; }
. "$SRC/tests/bindings/sanitizer-env.sh"

MOD=github.com/libvcluster/libvcluster/bindings/go
have=$(sed -n 's/^module //p' "$SRC/bindings/go/go.mod")
[ "$have" = "$MOD" ] || { echo "FAIL: bindings/go/go.mod says module $have, docs say $MOD" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/vc-goget-XXXXXX")
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
export PKG_CONFIG_PATH="$BUILD/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
VER=$(pkg-config --modversion libvcluster)
TAG="bindings/go/v$VER"   # a module in a subdirectory is tagged <dir>/vX.Y.Z

# the "upstream" repository: this tree's bindings/go at its real path
mkdir -p "$T/repo/bindings"
cp -r "$SRC/bindings/go" "$T/repo/bindings/go"
git -C "$T/repo" init -q
git -C "$T/repo" add -A
git -C "$T/repo" -c user.name=t -c user.email=t@t commit -qm "bindings/go for the go-get test"
git -C "$T/repo" tag "$TAG"

export GIT_CONFIG_GLOBAL="$T/gitconfig" GIT_CONFIG_NOSYSTEM=1
git config --global url."file://$T/repo".insteadOf "https://github.com/libvcluster/libvcluster"
git config --global protocol.file.allow always
export GOPROXY=direct GOPRIVATE=github.com/libvcluster GOFLAGS=-mod=mod GOWORK=off GOTOOLCHAIN=local
export GOMODCACHE="$T/modcache" GOPATH="$T/gopath" CGO_ENABLED=1 CGO_LDFLAGS=""

mkdir "$T/consumer" && cd "$T/consumer"
go mod init example.com/consumer >/dev/null 2>&1
go get "$MOD@v$VER"
cat >main.go <<'EOF'
package main

import (
	"fmt"

	"github.com/libvcluster/libvcluster/bindings/go/vcluster"
)

func main() {
	_, s := vcluster.Version()
	fmt.Printf("libvcluster %s\n", s)
}
EOF
go mod tidy
grep -q "^require $MOD v$VER\$" go.mod || { echo "FAIL: go.mod does not require $MOD v$VER:" >&2; cat go.mod >&2; exit 1; }
go build -tags vcluster_rpath -o consumer . 2>&1 | grep -v 'libasan.*dangerous' || true
[ -x consumer ] || { echo "FAIL: the consumer did not build" >&2; exit 1; }
out=$(env -u LD_LIBRARY_PATH "${SAN_ENV[@]}" ./consumer) || { echo "FAIL: consumer did not run: $out" >&2; exit 1; }
echo "consumer: $out"
grep -q "^libvcluster $VER\$" <<<"$out" || { echo "FAIL: unexpected output" >&2; exit 1; }
echo "ok: go get $MOD@v$VER (tag $TAG, GOPROXY=direct over git) builds and runs without LD_LIBRARY_PATH"
echo "1 passed, 0 failed"

#!/usr/bin/env bash
# images-check.sh: checks tests/cluster/images end to end (see README.md,
# "Images without a registry"):
#   - builds the images into the store (default ~/.cache/libvcluster/images,
#     IMAGES_STORE overrides) and times a warm rebuild;
#   - builds them again into a fresh store and compares the digests;
#   - serves the store on 127.0.0.1 (free port) and checks /v2/, manifests by
#     tag and by digest, a blob by digest, the 404 error JSON;
#   - unpacks images into runc bundles and runs them: vcluster-syncer --help
#     as 65532, the nginx image's own command answering wget, busybox applets,
#     pause stopping on SIGTERM, and the control-plane binaries' --version;
#   - when BINDIR has containerd and ctr: a throwaway containerd that imports
#     the nginx archive and pulls from the registry through a _default
#     hosts.toml.
# Needs root (runc). Prints "N passed, N failed"; exit 1 on a failure.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGES=$HERE/images
BINDIR=${HOSTCLUSTER_BINDIR:-$("$HERE/hostcluster" bindir)}
STORE=${IMAGES_STORE:-${XDG_CACHE_HOME:-$HOME/.cache}/libvcluster/images}
T=$(mktemp -d /tmp/images-check.XXXXXX)
RUNC_ROOT=$T/runc
REG_PID='' CTD_PID=''
pass=0 fail=0

cleanup() {
    local id
    for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
        runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1
    done
    if [[ -n $REG_PID ]]; then kill -TERM "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null; fi
    if [[ -n $CTD_PID ]]; then
        kill -TERM "$CTD_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CTD_PID" 2>/dev/null; wait "$CTD_PID" 2>/dev/null
    fi
    # containerd's snapshot mounts, if any were left
    if [[ -d $T ]]; then
        grep -o " $T/[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; [[ -s $T/out ]] && sed 's/^/     | /' "$T/out" | tail -20; }
# check DESC CMD...: CMD's output goes to $T/out
check() { local d=$1; shift; if "$@" >"$T/out" 2>&1; then ok "$d"; else bad "$d"; fi; }

if [[ $(id -u) != 0 ]]; then echo "images-check.sh: needs root (runc)" >&2; exit 2; fi
for tool in runc curl python3 tar sha256sum /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "images-check.sh: $tool not found" >&2; exit 2; }
done

# ---------------------------------------------------------------- build
now() { date +%s.%N; }
secs() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
t0=$(now)
check "build into $STORE" "$IMAGES" build --bindir "$BINDIR" --out "$STORE" --require syncer,busybox,nginx,alpine,pause
sed 's/^/     /' "$T/out"
t1=$(now)
# the warm rebuild: wall time and CPU time (user+sys, children included)
check "warm rebuild: everything cached" sh -c '
    /usr/bin/time -f "%e %U %S" -o "$3/warm.time" "$0" build --bindir "$1" --out "$2" > "$3/warm" 2>&1 &&
    ! grep -q " built " "$3/warm"' "$IMAGES" "$BINDIR" "$STORE" "$T"
read -r wall usr sys <"$T/warm.time"
cpu=$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) + float(sys.argv[2])))' "$usr" "$sys")
echo "     cold-or-current build $(secs "$t0" "$t1") s; warm rebuild $wall s wall, $cpu s CPU, load $(cut -d' ' -f1 /proc/loadavg)"
# wall time depends on what else the 2 cores are doing; CPU time does not
check "warm rebuild under 2 s (CPU; wall under 10 s)" python3 -c 'import sys; sys.exit(not (float(sys.argv[1]) < 2 and float(sys.argv[2]) < 10))' "$cpu" "$wall"

digests() { python3 -c 'import json,sys
for m in sorted(json.load(open(sys.argv[1]))["manifests"], key=lambda m: m["annotations"]["org.opencontainers.image.ref.name"]):
    print(m["annotations"]["org.opencontainers.image.ref.name"], m["digest"])' "$1/index.json"; }
check "second build into a fresh store" "$IMAGES" build -q --bindir "$BINDIR" --out "$T/store2"
digests "$STORE" >"$T/d1"; digests "$T/store2" >"$T/d2"
check "deterministic: both stores have the same names and digests" diff "$T/d1" "$T/d2"
rm -rf "$T/store2"
check "names: no registry host in any name" sh -c '! "$0" names | cut -f2 | grep -E "^[^/]*[.:][^/]*/"' "$IMAGES"

have() { grep -q "^$1 " "$T/d1"; }                           # have NAME:TAG
manifest_of() { grep "^$1 " "$T/d1" | cut -d' ' -f2; }       # digest of NAME:TAG
blob() { echo "$STORE/blobs/sha256/${1#sha256:}"; }

# ---------------------------------------------------------------- registry
"$IMAGES" serve --root "$STORE" --listen 127.0.0.1:0 --log "$T/registry.log" &
REG_PID=$!
PORT=
for _ in $(seq 50); do
    PORT=$(grep -o 'on http://127.0.0.1:[0-9]*' "$T/registry.log" 2>/dev/null | head -1 | sed 's/.*://')
    [[ -n $PORT ]] && break
    sleep 0.1
done
R=http://127.0.0.1:${PORT:-1}
check "registry started on 127.0.0.1:${PORT:-?}" test -n "$PORT"
check "GET /v2/ is 200 with the API version header" sh -c \
    'curl -fsSi "$0/v2/" | tr -d "\r" | grep -qi "^Docker-Distribution-API-Version: registry/2.0$"' "$R"
NGINX=$(manifest_of nginx:latest)
check "GET manifest library/nginx:latest (as containerd asks, ?ns=…)" sh -c '
    curl -fsS -D "$2/h" -o "$2/m" "$0/v2/library/nginx/manifests/latest?ns=example.invalid" &&
    tr -d "\r" <"$2/h" | grep -qi "^Content-Type: application/vnd.oci.image.manifest.v1+json$" &&
    tr -d "\r" <"$2/h" | grep -qi "^Docker-Content-Digest: $1$" &&
    tr -d "\r" <"$2/h" | grep -qi "^Content-Length: $(stat -c %s "$2/m")$" &&
    test "sha256:$(sha256sum <"$2/m" | cut -d" " -f1)" = "$1"' "$R" "$NGINX" "$T"
check "HEAD manifest with a host-ish prefix and another tag (mirror.example.invalid/loft-sh/syncer:v9)" sh -c '
    curl -fsSI "$0/v2/mirror.example.invalid/loft-sh/syncer/manifests/v9" | tr -d "\r" |
    grep -qi "^Docker-Content-Digest: $1$"' "$R" "$(manifest_of "$("$IMAGES" names syncer)")"
check "the log names the asked tag and what was built" grep -q "tag v9 asked; built as libvcluster/syncer:" "$T/registry.log"
check "GET manifest by digest" curl -fsS -o /dev/null "$R/v2/library/nginx/manifests/$NGINX"
check "a wrong digest is 404 MANIFEST_UNKNOWN" sh -c \
    'test "$(curl -s -o "$1/e" -w "%{http_code}" "$0/v2/library/nginx/manifests/sha256:$(printf %064d 0)")" = 404 &&
     grep -q MANIFEST_UNKNOWN "$1/e"' "$R" "$T"
LAYER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][-1]["digest"])' "$(blob "$NGINX")")
check "GET blob by digest: sha256 matches" sh -c \
    'test "sha256:$(curl -fsS "$0/v2/library/nginx/blobs/$1" | sha256sum | cut -d" " -f1)" = "$1"' "$R" "$LAYER"
check "unknown name: 404 MANIFEST_UNKNOWN naming the image" sh -c \
    'test "$(curl -s -o "$1/e" -w "%{http_code}" "$0/v2/library/no-such-image/manifests/latest")" = 404 &&
     python3 -c "import json,sys; e=json.load(open(sys.argv[1]))[\"errors\"][0]; assert e[\"code\"]==\"MANIFEST_UNKNOWN\" and \"no-such-image\" in e[\"message\"], e" "$1/e"' "$R" "$T"
check "unknown blob: 404 BLOB_UNKNOWN" sh -c \
    'test "$(curl -s -o "$1/e" -w "%{http_code}" "$0/v2/library/nginx/blobs/sha256:$(printf %064d 0)")" = 404 &&
     grep -q BLOB_UNKNOWN "$1/e"' "$R" "$T"
check "PUT is refused (read-only)" sh -c 'test "$(curl -s -o /dev/null -w "%{http_code}" -X PUT "$0/v2/library/nginx/manifests/x")" = 405' "$R"

# ---------------------------------------------------------------- runc
# bundle NAME:TAG DIR: the image's layers unpacked into DIR/rootfs and a
# config.json from `runc spec` (no terminal, runc's new network namespace)
bundle() {
    local m=$1 d=$2 l
    mkdir -p "$d/rootfs" || return 1
    for l in $(python3 -c 'import json,sys; print(" ".join(x["digest"] for x in json.load(open(sys.argv[1]))["layers"]))' "$(blob "$m")"); do
        tar -xf "$(blob "$l")" -C "$d/rootfs" || return 1
    done
    (cd "$d" && runc spec) || return 1
}
# setproc DIR UID:GID ARG...: the process to run
setproc() {
    python3 - "$@" <<'EOF'
import json, sys
d, user, args = sys.argv[1], sys.argv[2], sys.argv[3:]
c = json.load(open(d + "/config.json"))
p = c["process"]
p["terminal"] = False
p["args"] = args
uid, gid = user.split(":")
p["user"] = {"uid": int(uid), "gid": int(gid)}
p["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
json.dump(c, open(d + "/config.json", "w"), indent=1)
EOF
}
run() { timeout 60 runc --root "$RUNC_ROOT" run -b "$1" "$2" </dev/null; }   # run DIR ID
# runs_ok DIR REGEX: the process exits 0 and its output matches
runs_ok() { local rc; run "$1" "c$RANDOM" >"$T/o" 2>&1; rc=$?; cat "$T/o"; [[ $rc = 0 ]] && grep -q "$2" "$T/o"; }
# runs_says DIR REGEX: the output matches, whatever the exit code (busybox --help exits 1)
runs_says() { run "$1" "c$RANDOM" >"$T/o" 2>&1; cat "$T/o"; grep -q "$2" "$T/o"; }

SYNCER=$(manifest_of "$("$IMAGES" names syncer)")
if check "syncer bundle" bundle "$SYNCER" "$T/syncer"; then
    setproc "$T/syncer" 65532:65532 /usr/local/bin/vcluster-syncer --help
    check "runc: vcluster-syncer --help as 65532 (libraries complete)" runs_ok "$T/syncer" "^usage: vcluster-syncer"
    rm -rf "$T/syncer"
fi

if check "nginx bundle" bundle "$NGINX" "$T/nginx"; then
    setproc "$T/nginx" 0:0 busybox httpd --help
    check "runc: busybox httpd --help" runs_says "$T/nginx" "Usage: httpd"
    setproc "$T/nginx" 0:0 wget --help
    check "runc: wget --help (applet symlink)" runs_says "$T/nginx" "Usage: wget"
    # the image's own command, then wget from inside the container
    cmd=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); c=json.load(open(sys.argv[1].rsplit("/",1)[0]+"/"+m["config"]["digest"][7:])); print(" ".join(c["config"]["Cmd"]))' "$(blob "$NGINX")")
    # shellcheck disable=SC2086
    setproc "$T/nginx" 0:0 $cmd
    if check "runc: nginx image command ($cmd) starts" \
        timeout 30 runc --root "$RUNC_ROOT" run -d -b "$T/nginx" nginx </dev/null; then
        check "runc: wget http://127.0.0.1/ in the nginx container says Welcome to nginx!" sh -c '
            for i in $(seq 30); do
                out=$(timeout 10 runc --root "$0" exec nginx wget -qO- http://127.0.0.1/ 2>&1) && break; sleep 0.1
            done; echo "$out"; echo "$out" | grep -q "Welcome to nginx!"' "$RUNC_ROOT"
        runc --root "$RUNC_ROOT" delete -f nginx >/dev/null 2>&1
    fi
    rm -rf "$T/nginx"
fi

PAUSE=$(manifest_of "$("$IMAGES" names pause)")
if check "pause bundle" bundle "$PAUSE" "$T/pause"; then
    setproc "$T/pause" 65535:65535 /pause
    if check "runc: /pause starts" timeout 30 runc --root "$RUNC_ROOT" run -d -b "$T/pause" pause </dev/null; then
        # SIGTERM to a PID 1 without a handler is dropped: wait until pause has its handler
        check "runc: /pause catches SIGTERM" sh -c '
            pid=$(runc --root "$0" state pause | python3 -c "import json,sys; print(json.load(sys.stdin)[\"pid\"])")
            for i in $(seq 100); do
                python3 -c "import sys; sys.exit(not int(sys.argv[1], 16) & (1 << 14))" \
                    "$(sed -n "s/^SigCgt:\t*//p" /proc/$pid/status)" && exit 0
                sleep 0.1
            done; grep ^Sig /proc/$pid/status; exit 1' "$RUNC_ROOT"
        check "runc: /pause exits on SIGTERM" sh -c '
            runc --root "$0" kill pause TERM || exit 1
            for i in $(seq 30); do runc --root "$0" state pause | grep -q "\"status\": \"stopped\"" && exit 0; sleep 0.1; done
            runc --root "$0" state pause; exit 1' "$RUNC_ROOT"
        runc --root "$RUNC_ROOT" delete -f pause >/dev/null 2>&1
    fi
    rm -rf "$T/pause"
fi

# the binaries from BINDIR, when they were there to be packed: IMAGE|ARGV|REGEX...
versions=(
    "kubernetes|/kubernetes/kube-apiserver --version|Kubernetes v|/kubernetes/kube-controller-manager --version|Kubernetes v|/kubernetes/kube-scheduler --version|Kubernetes v"
    "kine|kine --version|kine version"
    "etcd|etcd --version|etcd Version"
    "coredns|/coredns -version|CoreDNS-"
)
for v in "${versions[@]}"; do
    IFS='|' read -r -a f <<<"$v"
    img=${f[0]}
    name=$("$IMAGES" names "$img" | head -1)
    if ! have "$name"; then echo "skip $img: not built (its binaries are not in $BINDIR)"; continue; fi
    d=$T/$img
    if check "$img bundle" bundle "$(manifest_of "$name")" "$d"; then
        for ((i = 1; i < ${#f[@]}; i += 2)); do
            # shellcheck disable=SC2086
            setproc "$d" 0:0 ${f[i]}
            check "runc: $img: ${f[i]}" runs_says "$d" "${f[i + 1]}"
        done
    fi
    rm -rf "$d"
done

# ---------------------------------------------------------------- containerd
if [[ -x $BINDIR/containerd && -x $BINDIR/ctr ]]; then
    C=$T/ctd
    mkdir -p "$C/root" "$C/state" "$C/certs.d/_default" "$C/archives"
    cat >"$C/config.toml" <<EOF
version = 3
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images", "io.containerd.nri.v1.nri"]
[grpc]
  address = "$C/containerd.sock"
[ttrpc]
  address = "$C/containerd.sock.ttrpc"
[debug]
  address = "$C/debug.sock"
[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = "$C/opt"
EOF
    cat >"$C/certs.d/_default/hosts.toml" <<EOF
[host."http://127.0.0.1:$PORT"]
  capabilities = ["pull", "resolve"]
EOF
    PATH=$BINDIR:$PATH "$BINDIR/containerd" --config "$C/config.toml" >"$C/containerd.log" 2>&1 &
    CTD_PID=$!
    ctr() { timeout 120 "$BINDIR/ctr" --address "$C/containerd.sock" -n k8s.io "$@"; }
    check "containerd started" sh -c '
        for i in $(seq 100); do "$0" --address "$1" version >/dev/null 2>&1 && exit 0; sleep 0.1; done
        tail -20 "$2"; exit 1' "$BINDIR/ctr" "$C/containerd.sock" "$C/containerd.log"
    check "archive nginx" "$IMAGES" archive --root "$STORE" --out "$C/archives" nginx
    check "ctr images import nginx.tar" ctr images import "$C/archives/nginx.tar"
    check "ctr: the import is listed under its normalised name (…/library/nginx:latest)" \
        sh -c '"$0" --address "$1" -n k8s.io images ls -q | tee /dev/stderr | grep -q "/library/nginx:latest$"' \
        "$BINDIR/ctr" "$C/containerd.sock"
    check "ctr images pull --plain-http through certs.d/_default (any host, any tag)" \
        ctr images pull --plain-http --hosts-dir "$C/certs.d" example.invalid/loft-sh/busybox:some-tag
    check "ctr images pull by the registry's own address" \
        ctr images pull --plain-http "127.0.0.1:$PORT/libvcluster/pause:3.10"
    "$BINDIR/ctr" --address "$C/containerd.sock" -n k8s.io images ls | sed 's/^/     /'
    check "the pulled busybox has the store's manifest digest" sh -c \
        '"$0" --address "$1" -n k8s.io images ls | grep "example.invalid/loft-sh/busybox:some-tag" | grep -q "$2"' \
        "$BINDIR/ctr" "$C/containerd.sock" "$(manifest_of busybox:latest)"
    # run what was imported and pulled through containerd, its overlayfs snapshots and the runc shim
    ref=$("$BINDIR/ctr" --address "$C/containerd.sock" -n k8s.io images ls -q | grep "/library/nginx:latest$" | head -1)
    check "ctr run the imported nginx: httpd answers wget inside" sh -c \
        'timeout 60 "$0" --address "$1" -n k8s.io run --rm "$2" nginx-check sh -c "httpd -p 127.0.0.1:8080 -h /usr/share/nginx/html && wget -qO- http://127.0.0.1:8080/" |
         grep -q "Welcome to nginx!"' "$BINDIR/ctr" "$C/containerd.sock" "$ref"
    ctr images pull --plain-http --hosts-dir "$C/certs.d" "example.invalid/$("$IMAGES" names syncer)" >/dev/null 2>&1
    check "ctr run the pulled syncer: vcluster-syncer --help" sh -c \
        'timeout 60 "$0" --address "$1" -n k8s.io run --rm "$2" syncer-check /usr/local/bin/vcluster-syncer --help |
         grep -q "^usage: vcluster-syncer"' "$BINDIR/ctr" "$C/containerd.sock" "example.invalid/$("$IMAGES" names syncer)"
else
    echo "skip containerd: $BINDIR/containerd or ctr not there yet"
fi

stop_registry() {
    kill -TERM "$REG_PID" || return 1
    local rc=0
    wait "$REG_PID" || rc=$?
    REG_PID=''
    grep -q "stopped" "$T/registry.log" && [[ $rc = 0 ]]
}
check "registry exits 0 on SIGTERM" stop_registry

echo "$pass passed, $fail failed"
[[ $fail = 0 ]]

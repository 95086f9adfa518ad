#!/usr/bin/env bash
# `vcluster connect` for the kubernetes driver against the kwok host cluster
# (VC_TEST_KUBECONFIG): the background port-forwarder is started, recorded,
# reused, replaced, kept by pause/resume, stopped by disconnect and by delete; `connect -- CMD`
# forwards only while CMD runs; a connection through the forwarder reaches
# the host API server, whose refusal (no kubelet behind kwok nodes) lands in
# the forwarder's log with the server's text and status. The data path to a
# real pod is tests/integration/realnode_portforward.c.
# Usage: cli_connect.sh PATH/TO/vcluster
set -euo pipefail
V=${1:?usage: cli_connect.sh VCLUSTER}
if [[ -z ${VC_TEST_KUBECONFIG:-} || ! -r ${VC_TEST_KUBECONFIG:-} ]]; then
	[[ ${VC_SKIP_CLUSTER:-} == 1 ]] && { echo "# skipped: VC_SKIP_CLUSTER=1"; exit 77; }
	echo "FAIL: VC_TEST_KUBECONFIG is unset or unreadable (run through tests/run)" >&2
	exit 1
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vc-cliconn-XXXXXX")
export KUBECONFIG=$WORK/kubeconfig XDG_STATE_HOME=$WORK/state
cp "$VC_TEST_KUBECONFIG" "$KUBECONFIG"
NAME=pfc-$$
CTX=vcluster_${NAME}_vcluster-${NAME}_$(awk '/^current-context:/ {print $2}' "$KUBECONFIG")
REC=$XDG_STATE_HOME/libvcluster/port-forwards/$CTX
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $((pass + fail)) - $*"; }
bad() { fail=$((fail + 1)); echo "not ok $((pass + fail)) - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
forwarders() { pgrep -f "[p]ort-forward --name $NAME " | wc -l; }
recorded() { sed -n "s/^$1=//p" "$REC" 2>/dev/null; }
FK_PID=
cleanup() {
	[[ -n $FK_PID ]] && kill "$FK_PID" 2>/dev/null
	"$V" delete "$NAME" --timeout 60 >/dev/null 2>&1 || true
	"$V" delete "pfn-$$" -n "team-$$" --ignore-not-found --timeout 60 >/dev/null 2>&1 || true
	pkill -f "port-forward --name $NAME " 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# kwok nodes have no ephemeral-storage and no volumes
cat >"$WORK/values.yaml" <<'EOF'
controlPlane:
  statefulSet:
    persistence:
      volumeClaim:
        enabled: false
    resources:
      requests:
        ephemeral-storage: "0"
EOF
"$V" create "$NAME" -f "$WORK/values.yaml" --connect=false --timeout 120 >/dev/null 2>&1
ok "create $NAME (kubernetes driver)"

"$V" connect "$NAME" 2>"$WORK/connect.err"
port=$(recorded port)
check "connect records a forwarder (port $port)" test -n "$port"
check "the context's server is https://127.0.0.1:$port" grep -q "server: https://127.0.0.1:$port" "$KUBECONFIG"
check "current-context is $CTX" grep -q "^current-context: $CTX" "$KUBECONFIG"
check "one forwarder runs" test "$(forwarders)" = 1
# a connection through it: the API server answers the upgrade with 500 (no kubelet)
exec 3<>"/dev/tcp/127.0.0.1/$port" && exec 3>&- 3<&-
sleep 1
check "the forwarder logged the API server's error and status" \
	grep -q "port-forward to pod vcluster-$NAME/$NAME-0 port 8443: error dialing backend: .*(HTTP 500" "$REC.log"

"$V" connect "$NAME" 2>"$WORK/connect2.err"
check "a second connect reuses it" grep -q "Reusing the port-forwarder" "$WORK/connect2.err"
check "still one forwarder, same port" test "$(forwarders)/$(recorded port)" = "1/$port"

"$V" connect "$NAME" --local-port 0 >/dev/null 2>&1
free=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$V" connect "$NAME" --local-port "$free" 2>"$WORK/connect3.err"
check "--local-port $free replaces it" test "$(forwarders)/$(recorded port)" = "1/$free"
check "... and says so" grep -q "Stopped the previous port-forwarder" "$WORK/connect3.err"

"$V" disconnect 2>"$WORK/disconnect.err"
check "disconnect stops it" test "$(forwarders)" = 0
check "... and forgets it" test ! -e "$REC"
check "... and restores the host context" test "$(awk '/^current-context:/ {print $2}' "$KUBECONFIG")" != "$CTX"

set +e
out=$("$V" connect "$NAME" -- sh -c 'grep "server:" "$KUBECONFIG"; pgrep -f "[p]ort-forward --name '"$NAME"' " | wc -l; exit 7' 2>/dev/null)
rc=$?
set -e
check "connect -- CMD passes CMD's exit status" test "$rc" = 7
check "CMD saw a 127.0.0.1 server" grep -q "server: https://127.0.0.1:" <<<"$out"
check "CMD ran while a forwarder ran" test "$(tail -1 <<<"$out")" = 1
check "the forwarder stopped with CMD" test "$(forwarders)" = 0

# bytes through the forwarder, the host API server and a stand-in kubelet
# (tests/tools/fake_kubelet.py on 127.0.0.1:10250, where kwok nodes point)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if command -v openssl >/dev/null && command -v python3 >/dev/null &&
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=kwok -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$WORK/k.key" -out "$WORK/k.crt" >/dev/null 2>&1; then
	python3 "$HERE/../tools/fake_kubelet.py" "$WORK/k.crt" "$WORK/k.key" >"$WORK/fk.log" 2>&1 &
	FK_PID=$!
	for _ in $(seq 50); do grep -q listening "$WORK/fk.log" 2>/dev/null && break; sleep 0.1; done
fi
if [[ -n $FK_PID ]] && grep -q listening "$WORK/fk.log"; then
	out=$("$V" connect "$NAME" -- python3 -c '
import os, re, socket
port = int(re.search(r"server: https://127.0.0.1:(\d+)", open(os.environ["KUBECONFIG"]).read()).group(1))
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"through the forwarder " * 2000)
got = b""
while len(got) < 44000:
    c = s.recv(65536)
    if not c:
        break
    got += c
print(len(got), got[:22].decode())' 2>/dev/null)
	check "bytes go through the forwarder and the API server both ways ($out)" test "$out" = "44000 THROUGH THE FORWARDER "
	kill "$FK_PID" 2>/dev/null
	wait "$FK_PID" 2>/dev/null || true
	FK_PID=
else
	echo "# skipped the data path: no openssl/python3, or 127.0.0.1:10250 is taken ($(cat "$WORK/fk.log" 2>/dev/null | tail -1))"
fi

"$V" connect "$NAME" --server https://example.invalid:6443 --update-current=false --kube-config "$WORK/server.yaml" \
	>/dev/null 2>&1
check "--server writes that server, no forwarder" test "$(forwarders)" = 0
check "... into the --kube-config file (--update-current=false)" grep -q "server: https://example.invalid:6443" "$WORK/server.yaml"
check "... leaving the kubeconfig alone" sh -c '! grep -q "example.invalid" "$1"' _ "$KUBECONFIG"

# describe: the images of the control plane containers (kubernetes driver)
"$V" describe "$NAME" -o json >"$WORK/describe.json" 2>/dev/null
check "describe -o json: imageTags has the syncer and kube-apiserver images, driver kubernetes" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = d["imageTags"]
sys.exit(0 if "syncer" in t and "kube-apiserver" in t and d["driver"] == "kubernetes" and d["backingStore"] else 1)' \
	"$WORK/describe.json"

"$V" connect "$NAME" >/dev/null 2>&1
check "connected again" test "$(forwarders)" = 1
pid=$(recorded pid)
"$V" pause "$NAME" --timeout 120 >/dev/null 2>&1
check "pause keeps the forwarder (the context works again after resume)" test "$(forwarders)/$(recorded pid)" = "1/$pid"
"$V" resume "$NAME" --timeout 120 >/dev/null 2>&1
check "resume: still the same forwarder" test "$(forwarders)/$(recorded pid)" = "1/$pid"
# upstream's habits: idempotent pause/resume, aliases, --ignore-not-found
check "resume of a running cluster exits 0" "$V" resume "$NAME" --timeout 60
"$V" resume "$NAME" --timeout 60 2>"$WORK/resume.err" || true
check "... saying it is not paused" grep -q "is not paused" "$WORK/resume.err"
check "ls lists it" sh -c '"$1" ls | grep -q "$2"' _ "$V" "$NAME"
check "rm --ignore-not-found of a missing cluster exits 0" "$V" rm "nope-$$" --ignore-not-found --timeout 30
check "rm of a missing cluster fails" sh -c '! "$1" rm "nope-$2" --timeout 30 2>/dev/null' _ "$V" "$$"

"$V" delete "$NAME" --timeout 120 >/dev/null 2>&1
check "delete stops the forwarder" test "$(forwarders)" = 0

# a cluster in a namespace of its own is found by name without -n (upstream
# looks in every namespace)
N2=pfn-$$
if "$V" create "$N2" -n "team-$$" -f "$WORK/values.yaml" --connect=false --timeout 120 >/dev/null 2>&1; then
	check "sleep (pause) finds $N2 in team-$$ without -n" "$V" sleep "$N2" --timeout 120
	check "sleep again exits 0 (already paused)" "$V" sleep "$N2" --timeout 60
	check "delete finds it without -n" "$V" delete "$N2" --timeout 120
else
	bad "create $N2 -n team-$$"
fi

echo "# $pass passed, $fail failed"
((fail == 0))

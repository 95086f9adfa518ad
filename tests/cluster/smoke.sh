#!/usr/bin/env bash
# smoke.sh: end-to-end check of tests/cluster/hostcluster on this machine.
#
# Brings up its own clusters in a temporary state directory (removed by a
# trap), then checks: 3 nginx pods Running on kwok nodes with distinct pod IPs
# within 60 s; a Service gets a ClusterIP, Endpoints and EndpointSlices; a
# namespace deletion completes; `up` is idempotent; a second (kine, bare
# control plane) instance runs side by side; everything listens on 127.0.0.1
# only; `down` leaves no process and no listening port.
#
# The build (if binaries are missing) is not timed; everything after it is
# bounded by SMOKE_TIMEOUT seconds (default 300).  Exit 0 on success.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HC=$HERE/hostcluster
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-300}
PASSED=0

say() { printf 'smoke: %s\n' "$*" >&2; }
pass() { PASSED=$((PASSED + 1)); say "ok   $*"; }
fail() {
	say "FAIL $*"
	printf '%d passed, 1 failed\n' "$PASSED"
	exit 1
}

"$HC" build
BIN=$("$HC" bindir)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hostcluster-smoke.XXXXXX")
A=$TMP/a # full cluster: etcd, scheduler, kwok, 3 nodes
B=$TMP/b # bare control plane: kine, no scheduler, no kwok, no nodes
WATCHDOG=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[[ -n $WATCHDOG ]] && kill "$WATCHDOG" 2>/dev/null
	"$HC" down --state "$A" --purge >/dev/null 2>&1 || true
	"$HC" down --state "$B" --purge >/dev/null 2>&1 || true
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted or timed out"; exit 124' INT TERM
# every step below has its own bound; the watchdog is a backstop
# ($$ is this script even inside the subshell; the subshell's stdio is closed
# so that a caller reading our output through a pipe is not held up by it)
(
	exec </dev/null >/dev/null 2>&1
	sleep "$SMOKE_TIMEOUT" &
	s=$!
	trap 'kill $s; exit 0' TERM
	wait $s && kill -TERM $$
) &
WATCHDOG=$!

KA() { "$BIN/kubectl" --kubeconfig "$A/admin.kubeconfig" --request-timeout=20s "$@"; }
KB() { "$BIN/kubectl" --kubeconfig "$B/admin.kubeconfig" --request-timeout=20s "$@"; }

# all TCP/UDP listeners of the cluster in state dir $1 must be on 127.0.0.1
check_loopback() {
	local dir=$1 pids pid n=0 line addr
	pids=$(cat "$dir"/pids/*)
	for pid in $pids; do
		while read -r line; do
			[[ -n $line ]] || continue
			addr=$(awk '{print $5}' <<<"$line")
			[[ $addr == 127.0.0.1:* ]] || fail "pid $pid listens on $addr: $line"
			n=$((n + 1))
		done < <(ss -Hltunp | grep -F "pid=$pid," || true)
	done
	((n > 0)) || fail "no listening sockets found for $dir (ss -p not working?)"
	pass "all $n listening sockets of $(basename "$dir") are on 127.0.0.1"
}

# has process $1 exited? (zombies count: their parent may be slow to reap them)
gone() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
	[[ -z $st || $st == Z ]]
}

in_cidr() { /usr/bin/python3 -c 'import ipaddress,sys; sys.exit(0 if ipaddress.ip_address(sys.argv[1]) in ipaddress.ip_network(sys.argv[2]) else 1)' "$1" "$2"; }

# ---- 1. up ------------------------------------------------------------------
t0=$EPOCHREALTIME
"$HC" up --state "$A" --timeout 120 || fail "hostcluster up"
say "up took $(awk "BEGIN{printf \"%.1f\", $EPOCHREALTIME - $t0}")s"
"$HC" status --state "$A" >/dev/null || fail "status after up"
[[ $(KA get nodes -l type=kwok --no-headers | grep -c ' Ready ') == 3 ]] || fail "3 Ready kwok nodes"
pass "cluster up, 3 kwok nodes Ready"
check_loopback "$A"

# ---- 2. deployment: 3 Running pods on kwok nodes with distinct IPs in 60 s ----
KA create deployment nginx --image=nginx --replicas=3 >/dev/null
deadline=$((SECONDS + 60))
while :; do
	out=$(KA get pods -l app=nginx -o jsonpath='{range .items[*]}{.status.phase} {.spec.nodeName} {.status.podIP}{"\n"}{end}')
	running=$(awk '$1 == "Running" && $2 ~ /^kwok-node-/ && $3 != ""' <<<"$out" | wc -l)
	ips=$(awk '$1 == "Running" && $2 ~ /^kwok-node-/ && $3 != "" {print $3}' <<<"$out" | sort -u | wc -l)
	((running == 3 && ips == 3)) && break
	((SECONDS < deadline)) || fail "3 nginx pods Running with distinct IPs within 60s; got:
$out"
	sleep 0.5
done
pass "3 nginx pods Running on kwok nodes with distinct pod IPs after $((60 - deadline + SECONDS))s"
POD_IPS=$(awk '{print $3}' <<<"$out" | sort)
for ip in $POD_IPS; do in_cidr "$ip" 10.244.0.0/16 || fail "pod IP $ip outside 10.244.0.0/16"; done

# ---- 3. service: ClusterIP, Endpoints, EndpointSlices -------------------------
KA expose deployment nginx --port=80 --target-port=80 >/dev/null
cip=$(KA get svc nginx -o jsonpath='{.spec.clusterIP}')
[[ -n $cip && $cip != None ]] && in_cidr "$cip" 10.96.0.0/12 || fail "service ClusterIP '$cip' in 10.96.0.0/12"
deadline=$((SECONDS + 30))
while :; do
	eps=$(KA get endpointslices -l kubernetes.io/service-name=nginx \
		-o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}{"\n"}{end}' | sort)
	ep=$(KA get endpoints nginx -o jsonpath='{range .subsets[*].addresses[*]}{.ip}{"\n"}{end}' 2>/dev/null | sort)
	[[ $eps == "$POD_IPS" && $ep == "$POD_IPS" ]] && break
	((SECONDS < deadline)) || fail "EndpointSlice/Endpoints of nginx = pod IPs; slices: $eps; endpoints: $ep"
	sleep 0.5
done
pass "service nginx has ClusterIP $cip, Endpoints and EndpointSlices with the 3 pod IPs"

# ---- 4. namespace deletion completes ------------------------------------------
KA create namespace smoke-ns >/dev/null
KA -n smoke-ns create deployment web --image=nginx --replicas=2 >/dev/null
KA -n smoke-ns create configmap cm --from-literal=a=b >/dev/null
KA -n smoke-ns create secret generic s --from-literal=a=b >/dev/null
deadline=$((SECONDS + 60))
until [[ $(KA -n smoke-ns get pods --no-headers 2>/dev/null | grep -c Running) == 2 ]]; do
	((SECONDS < deadline)) || fail "2 pods Running in smoke-ns"
	sleep 0.5
done
KA delete namespace smoke-ns --wait=false >/dev/null
t=$SECONDS
deadline=$((SECONDS + 90))
while KA get namespace smoke-ns >/dev/null 2>&1; do
	((SECONDS < deadline)) || fail "namespace smoke-ns deleted within 90s"
	sleep 0.5
done
pass "namespace deletion completed in $((SECONDS - t))s"

# ---- 5. idempotent up ----------------------------------------------------------
before=$(cat "$A"/pids/* | sort)
t=$SECONDS
"$HC" up --state "$A" 2>/dev/null || fail "second up"
[[ $(cat "$A"/pids/* | sort) == "$before" ]] || fail "second up restarted processes"
((SECONDS - t < 10)) || fail "second up took $((SECONDS - t))s"
pass "second up is a no-op"

# ---- 6. a second instance side by side (bare control plane over kine) -------
"$HC" up --state "$B" --store kine --no-scheduler --no-kwok --nodes 0 --service-cidr 10.112.0.0/12 --timeout 120 ||
	fail "second instance up"
"$HC" status --state "$B" >/dev/null || fail "status of second instance"
[[ $(KB get svc kubernetes -o jsonpath='{.spec.clusterIP}') == 10.112.0.1 ]] || fail "second instance service CIDR"
KB create configmap only-in-b --from-literal=x=y >/dev/null
KA get configmap only-in-b >/dev/null 2>&1 && fail "instances share storage"
KB get serviceaccount default >/dev/null || fail "default SA in second instance"
[[ $(KB get nodes --no-headers 2>/dev/null | wc -l) == 0 ]] || fail "bare control plane has nodes"
[[ $(cat "$B"/pids/* | wc -l) == 3 ]] || fail "bare control plane runs 3 processes"
KA get nodes >/dev/null || fail "first instance still answers"
pass "second instance (kine, apiserver + controller-manager only) runs side by side"
check_loopback "$B"

# ---- 7. memory (informational) -------------------------------------------------
rss=0
for pid in $(cat "$A"/pids/*); do rss=$((rss + $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status"))); done
say "cluster A total RSS: $((rss / 1024)) MiB"

# ---- 8. down leaves no process and no listening port --------------------------
for d in "$A" "$B"; do
	pids=$(cat "$d"/pids/*)
	# shellcheck disable=SC1091
	ports=$(source "$d/ports.env" && echo "$PORTS")
	t=$SECONDS
	if [[ $d == "$A" ]]; then "$HC" down --state "$d" || fail "down"; else "$HC" down --state "$d" --purge || fail "down --purge"; fi
	for pid in $pids; do gone "$pid" || fail "pid $pid still running after down"; done
	for p in $ports; do
		ss -Hltn "sport = :$p" | grep -q . && fail "port $p still listening after down: $(ss -Hltnp "sport = :$p")"
	done
	pass "down $(basename "$d") in $((SECONDS - t))s: no process, no listening port (ports $ports)"
done
rc=0
"$HC" status --state "$A" >/dev/null || rc=$?
[[ $rc == 3 ]] || fail "status after down should exit 3, got $rc"
[[ ! -e $B ]] || fail "down --purge left $B"
pass "status reports stopped (exit 3); --purge removed the state dir"

printf '%d passed, 0 failed\n' "$PASSED"

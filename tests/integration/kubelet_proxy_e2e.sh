#!/usr/bin/env bash
# kubectl logs / exec / attach on VIRTUAL pods, end to end, through the
# syncer's kubelet proxy, with the local driver:
#
#   kubectl (virtual kubeconfig) -> virtual kube-apiserver
#     -> the fake node's kubelet = vcluster-syncer --kubelet-listen (TLS,
#        apiserver-kubelet-client certificate)
#     -> host kube-apiserver pods/log|exec|attach of the translated pod
#     -> the host node's kubelet
#
# Two modes:
#   kubelet_proxy_e2e.sh realnode  the host has REAL nodes (hostcluster
#       --runtime containerd): VC_REALNODE_KUBECONFIG; a busybox container
#       really runs, logs are its output, exec runs in it. Without
#       VC_REALNODE_KUBECONFIG it fails with the reason (skips only with
#       VC_SKIP_CLUSTER=1).
#   kubelet_proxy_e2e.sh kwok      the host has kwok nodes (VC_TEST_KUBECONFIG):
#       this script starts kwok's kubelet server on 127.0.0.1:10250 (the
#       port kwok nodes advertise) with ClusterLogs/ClusterExec/ClusterAttach
#       rules, so logs come from a file and exec runs the command on this
#       machine. Everything else is the real thing: two kube-apiservers, SPDY
#       and WebSocket upgrades, the proxy's TLS and splicing.
#
# Needs VC_CLI, VC_SYNCER_BIN, VC_K8S_BINDIR (kubectl, kwok). Fails with the
# reason when the cluster is missing, unless VC_SKIP_CLUSTER=1 (skip).
set -euo pipefail
MODE=${1:-kwok}
skip() {
	echo "# skipped: $*"
	exit 77
}
case $MODE in
realnode)
	if [[ -z ${VC_REALNODE_KUBECONFIG:-} ]]; then
		[[ ${VC_SKIP_CLUSTER:-0} == 1 ]] && skip "VC_SKIP_CLUSTER=1"
		echo "VC_REALNODE_KUBECONFIG is unset: the host has no real nodes (tests/run starts them with hostcluster --runtime containerd)" >&2
		exit 1
	fi
	HOSTKC=$VC_REALNODE_KUBECONFIG
	;;
kwok)
	if [[ -z ${VC_TEST_KUBECONFIG:-} ]]; then
		[[ ${VC_SKIP_CLUSTER:-0} == 1 ]] && skip "VC_SKIP_CLUSTER=1"
		echo "VC_TEST_KUBECONFIG is not set: run through tests/run (it starts the host cluster)" >&2
		exit 1
	fi
	HOSTKC=$VC_TEST_KUBECONFIG
	;;
*)
	echo "usage: $0 kwok|realnode" >&2
	exit 2
	;;
esac
: "${VC_CLI:?VC_CLI must name the vcluster binary}" "${VC_SYNCER_BIN:?}" "${VC_K8S_BINDIR:?}"
KUBECTL=$VC_K8S_BINDIR/kubectl

NAME=kp$(printf '%x' "$(($(date +%s) % 1000000))")$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vc-kproxy-XXXXXX")
export KUBECONFIG=$WORK/host.kubeconfig
cp "$HOSTKC" "$KUBECONFIG"
chmod 600 "$KUBECONFIG"
VKC=$WORK/virtual.kubeconfig
KWOK_PID="" WEB_PID="" PF_PID=""
LC=(--state-dir "$WORK/state" --bin-dir "$VC_K8S_BINDIR" --syncer "$VC_SYNCER_BIN")

pass=0 fail=0
ok() { pass=$((pass + 1)); printf 'ok %d - %s\n' "$((pass + fail))" "$*"; }
bad() { fail=$((fail + 1)); printf 'not ok %d - %s\n' "$((pass + fail))" "$*"; }
eventually() { # seconds command...
	local t=$1 end
	shift
	end=$((SECONDS + t))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 1
	done
}
KV() { "$KUBECTL" --kubeconfig "$VKC" "$@"; }

cleanup() {
	set +e
	if ((fail)); then
		echo "# --- syncer log"
		tail -n 40 "$WORK"/state/*/"$NAME"/logs/vcluster-syncer.log 2>/dev/null | sed 's/^/# /'
		echo "# --- virtual pods"
		KV get pods -A -o wide 2>&1 | sed 's/^/# /'
		KV get nodes -o wide 2>&1 | sed 's/^/# /'
	fi
	"$VC_CLI" delete "$NAME" "${LC[@]}" >/dev/null 2>&1
	for p in $PF_PID $KWOK_PID $WEB_PID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

if [[ $MODE == kwok ]]; then
	# kwok's kubelet server for the kwok nodes; it manages no node itself
	if (exec 3<>/dev/tcp/127.0.0.1/10250) 2>/dev/null; then
		echo "127.0.0.1:10250 is in use: the kwok kubelet server cannot start" >&2
		exit 1
	fi
	# a web server on this machine: kwok forwards every pod port to it
	mkdir -p "$WORK/www"
	echo "served through port-forward" >"$WORK/www/index.html"
	WEB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	(cd "$WORK/www" && exec python3 -m http.server --bind 127.0.0.1 "$WEB_PORT" >/dev/null 2>&1) &
	WEB_PID=$!
	printf '2026-12-03T07:00:00.000000000Z stdout F line one\n2026-12-03T07:00:01.000000000Z stdout F line two from the kubelet\n' >"$WORK/container.log"
	cat >"$WORK/kwok.yaml" <<-EOF
		kind: ClusterExec
		apiVersion: kwok.x-k8s.io/v1alpha1
		metadata: {name: exec}
		spec: {execs: [{local: {workDir: $WORK}}]}
		---
		kind: ClusterLogs
		apiVersion: kwok.x-k8s.io/v1alpha1
		metadata: {name: logs}
		spec: {logs: [{logsFile: $WORK/container.log, follow: true}]}
		---
		kind: ClusterAttach
		apiVersion: kwok.x-k8s.io/v1alpha1
		metadata: {name: attach}
		spec: {attaches: [{logsFile: $WORK/container.log}]}
		---
		kind: ClusterPortForward
		apiVersion: kwok.x-k8s.io/v1alpha1
		metadata: {name: port-forward}
		spec: {forwards: [{target: {port: $WEB_PORT, address: 127.0.0.1}}]}
	EOF
	mkdir -p "$WORK/kwok-home"
	HOME=$WORK/kwok-home "$VC_K8S_BINDIR/kwok" --kubeconfig="$KUBECONFIG" \
		--config="$VC_K8S_BINDIR/kwok-stages.yaml" --config="$WORK/kwok.yaml" \
		--manage-nodes-with-label-selector=vcluster-kproxy-test-none=true \
		--server-address=127.0.0.1:10250 >"$WORK/kwok.log" 2>&1 &
	KWOK_PID=$!
	eventually 30 bash -c 'exec 3<>/dev/tcp/127.0.0.1/10250' || {
		tail -5 "$WORK/kwok.log" >&2
		echo "kwok's kubelet server did not start" >&2
		exit 1
	}
fi

"$VC_CLI" create "$NAME" --driver local "${LC[@]}" --connect=false --timeout 180 >"$WORK/create.log" 2>&1 || {
	cat "$WORK/create.log" >&2
	echo "vcluster create failed" >&2
	exit 1
}
"$VC_CLI" connect "$NAME" "${LC[@]}" --print >"$VKC"
ok "local virtual cluster $NAME created"

eventually 60 KV get serviceaccount default || bad "the virtual default ServiceAccount exists"
KV run web --image=busybox:1.36 --restart=Never -- sh -c 'echo hello from the container; echo to stderr >&2;
	mkdir -p /tmp/www; echo served through port-forward >/tmp/www/index.html; httpd -p 8080 -h /tmp/www; sleep 3600' >/dev/null
if eventually 150 bash -c "[[ \$('$KUBECTL' --kubeconfig '$VKC' get pod web -o jsonpath='{.status.phase}') == Running ]]"; then
	ok "virtual pod web is Running (synced to the host, bound to a fake node)"
else
	bad "virtual pod web is Running"
fi
node=$(KV get pod web -o jsonpath='{.spec.nodeName}')
addr=$(KV get node "$node" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}:{.status.daemonEndpoints.kubeletEndpoint.Port}')
if [[ $addr == 127.0.0.1:* && $addr != 127.0.0.1:0 && $addr != 127.0.0.1:10250 ]]; then
	ok "fake node $node advertises the kubelet proxy at $addr"
else
	bad "fake node $node advertises the kubelet proxy (got '$addr')"
fi
kver=$(KV get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion}')
sver=$(KV version -o json | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | tail -1)
[[ -n $kver && $kver == "$sver" ]] && ok "fake node reports kubelet $kver (the virtual API server's)" ||
	bad "fake node kubelet version '$kver' == server '$sver'"

if [[ $MODE == kwok ]]; then
	want_log="line two from the kubelet"
else
	want_log="hello from the container"
fi
if eventually 30 bash -c "'$KUBECTL' --kubeconfig '$VKC' logs web | grep -q '$want_log'"; then
	ok "kubectl logs web: '$want_log'"
else
	bad "kubectl logs web (got: $(KV logs web 2>&1 | head -3))"
fi
out=$(KV logs web --tail=1 2>&1 || true)
[[ $(wc -l <<<"$out") == 1 ]] && ok "kubectl logs --tail=1: one line" || bad "kubectl logs --tail=1 (got: $out)"
out=$(timeout 5 "$KUBECTL" --kubeconfig "$VKC" logs -f web 2>&1 || true)
grep -q "$want_log" <<<"$out" && ok "kubectl logs -f streams (ended by timeout)" || bad "kubectl logs -f (got: $out)"

out=$(KV exec web -- echo hi 2>&1 || true)
[[ $out == hi ]] && ok "kubectl exec web -- echo hi: hi" || bad "kubectl exec web -- echo hi (got: $out)"
# head, not cat: kwok's local exec does not pass the end of stdin on
out=$(printf 'from stdin\nmore\n' | timeout 30 "$KUBECTL" --kubeconfig "$VKC" exec -i web -- head -n1 2>&1 || true)
[[ $out == "from stdin" ]] && ok "kubectl exec -i web -- head -n1: stdin goes through" || bad "kubectl exec -i head (got: $out)"
out=$(KV exec web -- sh -c 'echo out; echo err >&2' 2>"$WORK/err" || true)
[[ $out == out && $(<"$WORK/err") == err ]] && ok "exec: stdout and stderr apart" || bad "exec stdout/stderr (got: $out / $(<"$WORK/err"))"
rc=0
KV exec web -- sh -c 'exit 3' >/dev/null 2>&1 || rc=$?
((rc != 0)) && ok "exec: a failing command fails kubectl (rc $rc)" || bad "exec: exit 3 reported as success"
big=$(KV exec web -- sh -c 'i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done' 2>&1 | tail -1 || true)
[[ $big == line-19999 ]] && ok "exec: 20,000 lines of output arrive whole" || bad "exec large output (last line: $big)"
# 4 MiB in and out at once (stdin copied back by cat, which ends only after
# stdin's end has arrived): both directions of the spliced stream under load.
# Not `head -c`: head exits while the client's end of stdin may still be on
# its way, and kube-apiserver's upgrade proxy then tears down both directions
# with output in flight (seen once in 4 runs on real nodes: 20,480 bytes
# short) -- the same teardown as kwok's below. Real nodes only: kwok's exec closes its
# connection as the command exits, and the host kube-apiserver's upgrade
# proxy then tears both directions down while output is still in flight
# (its client->kubelet copy fails first), so the host itself sends the proxy
# a truncated stream (the proxy's debug log counts the bytes it relayed).
if [[ $MODE == realnode ]]; then
	n=$(head -c 4194304 /dev/zero | tr '\0' 'x' | timeout 120 "$KUBECTL" --kubeconfig "$VKC" exec -i web -- cat 2>/dev/null | wc -c || true)
	[[ $n == 4194304 ]] && ok "exec -i: 4 MiB through stdin and back" || bad "exec -i 4 MiB (got $n bytes back)"
fi
out=$(KV exec web -c nosuch -- true 2>&1 || true)
grep -qi "not found\|not valid\|nosuch" <<<"$out" && ok "exec into a missing container: the error comes back" || bad "exec -c nosuch (got: $out)"
if [[ $MODE == realnode ]]; then
	out=$(printf 'through cat\n' | timeout 30 "$KUBECTL" --kubeconfig "$VKC" exec -i web -- cat 2>&1 || true)
	[[ $out == "through cat" ]] && ok "kubectl exec -i web -- cat: stdin and its end go through" ||
		bad "kubectl exec -i cat (got: $out)"
fi
# port-forward: to the pod's busybox httpd (realnode) or, with kwok, to a
# web server on this machine
lp=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$KUBECTL" --kubeconfig "$VKC" port-forward pod/web "$lp:8080" >"$WORK/pf.log" 2>&1 &
PF_PID=$!
if eventually 30 bash -c "curl -sf http://127.0.0.1:$lp/index.html | grep -q 'served through port-forward'"; then
	ok "kubectl port-forward pod/web: an HTTP GET through it"
else
	bad "kubectl port-forward ($(cat "$WORK/pf.log"))"
fi
kill "$PF_PID" 2>/dev/null
wait "$PF_PID" 2>/dev/null || true
PF_PID=""
if [[ $MODE == kwok ]]; then
	# kwok's attach streams what is appended to the file from now on
	(sleep 3 && echo "2026-12-03T07:00:09.000000000Z stdout F appended while attached" >>"$WORK/container.log") &
	out=$(timeout 8 "$KUBECTL" --kubeconfig "$VKC" attach web 2>&1 || true)
	grep -q "appended while attached" <<<"$out" && ok "kubectl attach web: the container's new output" ||
		bad "kubectl attach (got: $out)"
fi
out=$(KV logs nosuchpod 2>&1 || true)
grep -q 'not found' <<<"$out" && ok "logs of a missing pod: NotFound" || bad "logs nosuchpod (got: $out)"

echo "# $pass passed, $fail failed"
((fail == 0))

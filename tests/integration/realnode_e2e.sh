#!/usr/bin/env bash
# The kubernetes driver end to end on REAL nodes (hostcluster --runtime
# containerd), as a user runs it, with no values file:
#   vcluster create my-vcluster -> the StatefulSet's pod runs real containers
#   vcluster connect my-vcluster -> a kubeconfig that works from this machine
#   inside: namespace demo-nginx, deployment nginx-deployment (2 replicas)
#   -> Running on the host (containerd) under translated names
#   -> from a virtual pod: nslookup of the virtual Service through the
#      virtual cluster's CoreDNS, wget through the Service to nginx
#   -> kubectl logs / exec on a virtual pod (through the syncer's kubelet proxy)
#   -> pause: control plane at 0, workloads gone from the host; resume: back,
#      data kept
#   -> delete: nothing of it left on the host
#
# Needs VC_REALNODE_KUBECONFIG (tests/run starts the real-node host cluster),
# VC_CLI (the vcluster binary) and VC_K8S_BINDIR (kubectl).  Without a
# real-node cluster it fails with the reason, unless VC_SKIP_CLUSTER=1.
set -euo pipefail
if [[ -z ${VC_REALNODE_KUBECONFIG:-} ]]; then
	if [[ ${VC_SKIP_CLUSTER:-0} == 1 ]]; then
		echo "# skipped: VC_SKIP_CLUSTER=1"
		exit 77
	fi
	echo "VC_REALNODE_KUBECONFIG is not set: run through tests/run (it starts a real-node host cluster)" >&2
	exit 1
fi
: "${VC_CLI:?VC_CLI must name the vcluster binary}" "${VC_K8S_BINDIR:?}"

NAME=my-vcluster
HOSTNS=vcluster-$NAME
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vc-realnode-XXXXXX")
export HOME=$WORK/home XDG_STATE_HOME=$WORK/state XDG_CACHE_HOME=${XDG_CACHE_HOME:-$HOME/.cache}
mkdir -p "$HOME"
export KUBECONFIG=$WORK/kubeconfig
cp "$VC_REALNODE_KUBECONFIG" "$KUBECONFIG"
chmod 600 "$KUBECONFIG"
HOSTCTX=$("$VC_K8S_BINDIR/kubectl" config current-context)
KH() { "$VC_K8S_BINDIR/kubectl" --context "$HOSTCTX" "$@"; } # the host
KV() { "$VC_K8S_BINDIR/kubectl" "$@"; }                      # the current context (virtual once connected)

pass=0 fail=0
ok() { pass=$((pass + 1)); printf 'ok %d - %s\n' "$((pass + fail))" "$*"; }
bad() { fail=$((fail + 1)); printf 'not ok %d - %s\n' "$((pass + fail))" "$*"; }
check() { # description command...
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
eventually() { # seconds command...: retry until it succeeds
	local t=$1 end
	shift
	end=$((SECONDS + t))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 1
	done
}
dump() {
	echo "# --- host objects in $HOSTNS"
	KH -n "$HOSTNS" get all,pvc,events -o wide 2>&1 | sed 's/^/# /' | tail -n 60
	local p
	for p in $(KH -n "$HOSTNS" get pods -o name 2>/dev/null | head -n 6); do
		echo "# --- logs of $p (all containers, last 30 lines)"
		KH -n "$HOSTNS" logs "$p" --all-containers --tail=30 2>&1 | sed 's/^/# /'
	done
}
finish() {
	local rc=$?
	((fail == 0 && rc == 0)) || dump
	"$VC_CLI" disconnect >/dev/null 2>&1 || true
	"$VC_CLI" delete "$NAME" --context "$HOSTCTX" >/dev/null 2>&1 || true
	rm -rf "$WORK"
	echo "$pass passed, $fail failed"
	((fail == 0 && rc == 0)) || exit 1
}
trap finish EXIT

# ---- create, with no values file -----------------------------------------
t0=$SECONDS
check "vcluster create $NAME (default driver, no values)" "$VC_CLI" create "$NAME" --context "$HOSTCTX" --connect=false --timeout 600
echo "# create took $((SECONDS - t0))s"
real_containers() {
	local ids
	ids=$(KH -n "$HOSTNS" get pod "$NAME-0" -o jsonpath='{range .status.containerStatuses[*]}{.containerID} {.ready}{"\n"}{end}')
	[[ -n $ids ]] && ! grep -qv '^containerd://[0-9a-f]\{64\} true$' <<<"$ids"
}
check "control plane pod runs real, ready containers" real_containers
check "the data volume is a Bound PVC from the default StorageClass" \
	eventually 10 bash -c "[[ \$('$VC_K8S_BINDIR/kubectl' --context '$HOSTCTX' -n '$HOSTNS' get pvc data-$NAME-0 -o jsonpath='{.status.phase}') == Bound ]]"

# ---- connect ---------------------------------------------------------------
check "vcluster connect $NAME" "$VC_CLI" connect "$NAME" --context "$HOSTCTX"
check "the virtual API server answers through the connection" eventually 60 KV get namespace default
check "the host namespace is invisible inside" bash -c "! '$VC_K8S_BINDIR/kubectl' get namespace '$HOSTNS' >/dev/null 2>&1"
check "vcluster connect $NAME -- kubectl get ns (a port-forward of its own, gone after)" bash -c \
	"'$VC_CLI' connect '$NAME' --context '$HOSTCTX' -- '$VC_K8S_BINDIR/kubectl' get ns kube-system -o name 2>'$WORK/fg.err' >'$WORK/fg.out' &&
	 grep -qx namespace/kube-system '$WORK/fg.out' &&
	 port=\$(sed -n 's/^Forwarding 127.0.0.1:\\([0-9]*\\) .*/\\1/p' '$WORK/fg.err') && [[ -n \$port ]] &&
	 ! (exec 3<>/dev/tcp/127.0.0.1/\$port) 2>/dev/null"

# ---- the seed's walkthrough -----------------------------------------------
check "create namespace demo-nginx" KV create namespace demo-nginx
check "create deployment nginx-deployment (2 replicas, image nginx)" \
	KV -n demo-nginx create deployment nginx-deployment --image=nginx --replicas=2
check "expose it as a Service" KV -n demo-nginx expose deployment nginx-deployment --port 80
check "nginx-deployment becomes Available inside" \
	KV -n demo-nginx wait --for=condition=Available deployment/nginx-deployment --timeout=300s
# the host pods carry the translated names and labels (upstream's), not app=...
host_nginx() {
	local n
	n=$(KH -n "$HOSTNS" get pods -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase} {.status.containerStatuses[0].containerID}{"\n"}{end}' |
		grep -c '^nginx-deployment-.*-x-demo-nginx-x-my-vcluster Running containerd://')
	((n == 2))
}
check "2 nginx pods Running on the host with real containers, translated names" eventually 60 host_nginx
check "no demo-nginx namespace and no Deployment on the host" \
	bash -c "! '$VC_K8S_BINDIR/kubectl' --context '$HOSTCTX' get namespace demo-nginx >/dev/null 2>&1 && [[ -z \$('$VC_K8S_BINDIR/kubectl' --context '$HOSTCTX' -n '$HOSTNS' get deploy -o name | grep nginx) ]]"

# ---- DNS and Service traffic from a virtual pod ---------------------------
check "a client pod (busybox) runs inside" KV -n demo-nginx run client --image=busybox:1.36 --restart=Never -- sleep 3600
check "the client pod is Ready" KV -n demo-nginx wait --for=condition=Ready pod/client --timeout=180s
SVC_IP=$(KV -n demo-nginx get service nginx-deployment -o jsonpath='{.spec.clusterIP}')
resolves() {
	KV -n demo-nginx exec client -- nslookup nginx-deployment.demo-nginx.svc.cluster.local 2>&1 | grep -q "Address.*$SVC_IP"
}
check "nslookup of the virtual Service name gives its ClusterIP ($SVC_IP), through the virtual CoreDNS" eventually 60 resolves
short_name() { KV -n demo-nginx exec client -- nslookup nginx-deployment 2>&1 | grep -q "Address.*$SVC_IP"; }
check "the short name resolves through the pod's search path" short_name
reaches() { KV -n demo-nginx exec client -- timeout 5 wget -qO- http://nginx-deployment 2>&1 | grep -q 'Welcome to nginx'; }
check "wget http://nginx-deployment reaches nginx through the Service" eventually 60 reaches

# ---- logs and exec on virtual pods ----------------------------------------
POD=$(KV -n demo-nginx get pods -l app=nginx-deployment -o jsonpath='{.items[0].metadata.name}')
check "kubectl exec on a virtual pod" bash -c "[[ \$('$VC_K8S_BINDIR/kubectl' -n demo-nginx exec '$POD' -- echo hello-from-inside) == hello-from-inside ]]"
check "kubectl exec with stdin" bash -c "[[ \$(echo piped | '$VC_K8S_BINDIR/kubectl' -n demo-nginx exec -i '$POD' -- cat) == piped ]]"
logs_have_get() { KV -n demo-nginx logs deployment/nginx-deployment --all-containers --prefix 2>&1 | grep -q 'GET'; }
KV -n demo-nginx exec client -- timeout 5 wget -qO- "http://$(KV -n demo-nginx get pod "$POD" -o jsonpath='{.status.podIP}')/" >/dev/null 2>&1 || true
check "kubectl logs on a virtual pod shows nginx's request log" eventually 30 bash -c "'$VC_K8S_BINDIR/kubectl' -n demo-nginx logs '$POD' | grep -q GET"

# ---- pause / resume keeps the data ----------------------------------------
check "a ConfigMap with data inside" KV -n demo-nginx create configmap keep --from-literal=answer=42
check "vcluster pause" "$VC_CLI" pause "$NAME" --context "$HOSTCTX"
no_workloads() { [[ -z $(KH -n "$HOSTNS" get pods -o name | grep -v "^pod/$NAME-0$" || true) ]]; }
check "paused: the control plane is scaled to 0" \
	bash -c "[[ \$('$VC_K8S_BINDIR/kubectl' --context '$HOSTCTX' -n '$HOSTNS' get sts '$NAME' -o jsonpath='{.spec.replicas}') == 0 ]]"
check "paused: no workload pod left on the host" eventually 120 bash -c "[[ -z \$('$VC_K8S_BINDIR/kubectl' --context '$HOSTCTX' -n '$HOSTNS' get pods -o name) ]]"
check "vcluster resume" "$VC_CLI" resume "$NAME" --context "$HOSTCTX" --timeout 600
check "resumed: the API server answers again" eventually 120 KV get namespace default
check "resumed: the ConfigMap kept its data" \
	eventually 30 bash -c "[[ \$('$VC_K8S_BINDIR/kubectl' -n demo-nginx get configmap keep -o jsonpath='{.data.answer}') == 42 ]]"
check "resumed: the nginx pods run on the host again" eventually 240 host_nginx

# ---- delete leaves nothing -------------------------------------------------
check "vcluster disconnect" "$VC_CLI" disconnect
check "vcluster delete $NAME" "$VC_CLI" delete "$NAME" --context "$HOSTCTX"
nothing_left() {
	! KH get namespace "$HOSTNS" >/dev/null 2>&1 &&
		[[ -z $(KH get pods -A -o name | grep -- "-x-$NAME" || true) ]] &&
		[[ -z $(KH get pv -o name | xargs -r -n1 "$VC_K8S_BINDIR/kubectl" --context "$HOSTCTX" get -o jsonpath='{.spec.claimRef.namespace}{"\n"}' | grep -x "$HOSTNS" || true) ]]
}
check "nothing of $NAME is left on the host (namespace, pods, volumes)" eventually 180 nothing_left

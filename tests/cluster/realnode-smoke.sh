#!/usr/bin/env bash
# realnode-smoke.sh: the real-node host cluster (hostcluster up --runtime
# containerd) does what a real cluster does, and `down` leaves nothing:
#   - nodes Ready with ephemeral-storage; CoreDNS Ready; default StorageClass
#   - a pod runs a real container (containerd), gets a pod IP from its node's podCIDR
#   - pod -> pod across nodes, pod -> Service (kube-proxy), DNS names (CoreDNS)
#   - a pod reaches the API server through the `kubernetes` Service
#   - kubectl logs / exec / port-forward through the API server (kubelet API)
#   - a PVC is provisioned and bound, and a pod writes to it
#   - pull policy Always on :latest is served by the harness registry
#   - down --purge: no process, mount, network namespace, link, cgroup left;
#     the machine's iptables/nft rules and routes are unchanged
# Uses its own state dir; prints `N passed, N failed`; exit 1 on failure.
set -euo pipefail
if [[ ${VC_SKIP_CLUSTER:-0} == 1 ]]; then
	echo "# skipped: VC_SKIP_CLUSTER=1 (this check starts a real-node cluster of its own)"
	exit 77
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HC=$HERE/hostcluster
STATE=$(mktemp -d "${TMPDIR:-/tmp}/vc-rnsmoke-XXXXXX")
pass=0 fail=0
ok() { pass=$((pass + 1)); printf 'ok %d - %s\n' "$((pass + fail))" "$*"; }
bad() { fail=$((fail + 1)); printf 'not ok %d - %s\n' "$((pass + fail))" "$*"; }
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
eventually() {
	local t=$1 end
	shift
	end=$((SECONDS + t))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 1
	done
}
machine_net() { # the machine's own network state, and the sysctls the kubelet sets
	{ cat /proc/sys/vm/overcommit_memory /proc/sys/kernel/panic /proc/sys/kernel/panic_on_oops /proc/sys/fs/inotify/max_user_instances; iptables-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'; nft list ruleset 2>/dev/null; ip -o route; ip -o link | awk -F': ' '{print $2}'; } | sort
}
BEFORE=$(machine_net)
cleanup() {
	"$HC" down --state "$STATE" --purge >/dev/null 2>&1 || true
	rm -rf "$STATE"
}
trap cleanup EXIT

K() { "$HC" kubectl --state "$STATE" "$@"; }
t0=$SECONDS
if ! "$HC" up --state "$STATE" --runtime containerd --nodes 2 --timeout 600; then
	bad "hostcluster up --runtime containerd --nodes 2"
	tail -n 40 "$STATE"/nodes/n*/logs/*.log 2>/dev/null | sed 's/^/# /'
	echo "$pass passed, $fail failed"
	exit 1
fi
ok "hostcluster up --runtime containerd --nodes 2 ($((SECONDS - t0))s)"

check "2 nodes Ready" bash -c "[[ \$('$HC' kubectl --state '$STATE' get nodes --no-headers | grep -c ' Ready ') == 2 ]]"
check "nodes advertise ephemeral-storage" bash -c "[[ -n \$('$HC' kubectl --state '$STATE' get node node-0 -o jsonpath='{.status.allocatable.ephemeral-storage}') ]]"
check "the default StorageClass exists" bash -c "'$HC' kubectl --state '$STATE' get storageclass standard -o jsonpath='{.metadata.annotations}' | grep -q is-default-class"
check "the kubernetes Service has an endpoint in the nodes' network" \
	bash -c "'$HC' kubectl --state '$STATE' get endpointslices -n default -l kubernetes.io/service-name=kubernetes -o jsonpath='{.items[*].endpoints[*].addresses[*]}' | grep -q 172.31.0.1"

cat <<'EOF' | K apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: default }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      topologySpreadConstraints:
      - { maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { app: web } } }
      containers:
      - { name: nginx, image: nginx, ports: [{ containerPort: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 80 }]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: data, namespace: default }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Gi } }
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: default }
spec:
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, 'echo started > /data/hello; echo client-log-line; sleep 3600']
    volumeMounts: [{ name: data, mountPath: /data }]
  volumes: [{ name: data, persistentVolumeClaim: { claimName: data } }]
EOF
check "the nginx Deployment (image nginx, pull policy Always) becomes Available" \
	K wait --for=condition=Available deployment/web --timeout=240s
check "the client pod (busybox, a PVC) becomes Ready" K wait --for=condition=Ready pod/client --timeout=240s
check "the PVC is Bound" bash -c "[[ \$('$HC' kubectl --state '$STATE' get pvc data -o jsonpath='{.status.phase}') == Bound ]]"
check "pods run real containers" bash -c "'$HC' kubectl --state '$STATE' get pod client -o jsonpath='{.status.containerStatuses[0].containerID}' | grep -q '^containerd://'"
check "the web pods are on both nodes" bash -c "[[ \$('$HC' kubectl --state '$STATE' get pods -l app=web -o jsonpath='{.items[*].spec.nodeName}' | tr ' ' '\n' | sort -u | wc -l) == 2 ]]"
check "kubectl exec (API server -> kubelet through the hub)" bash -c "[[ \$('$HC' kubectl --state '$STATE' exec client -- cat /data/hello) == started ]]"
check "kubectl logs" bash -c "'$HC' kubectl --state '$STATE' logs client | grep -q client-log-line"
for ip in $(K get pods -l app=web -o jsonpath='{.items[*].status.podIP}'); do
	check "pod -> pod $ip (any node)" eventually 20 K exec client -- timeout 5 wget -qO- "http://$ip/"
done
check "pod -> Service web (kube-proxy)" eventually 30 bash -c "'$HC' kubectl --state '$STATE' exec client -- timeout 5 wget -qO- http://web/ | grep -q 'Welcome to nginx'"
check "DNS: web.default.svc.cluster.local (CoreDNS)" \
	eventually 30 bash -c "'$HC' kubectl --state '$STATE' exec client -- nslookup web.default.svc.cluster.local | grep -q \$('$HC' kubectl --state '$STATE' get svc web -o jsonpath='{.spec.clusterIP}')"
# (plain HTTP to the HTTPS port: the API server answers 400, which proves the path)
check "a pod reaches the API server through the kubernetes Service" \
	eventually 20 bash -c "'$HC' kubectl --state '$STATE' exec client -- sh -c 'printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | nc -w 3 kubernetes.default.svc 443' | grep -q '^HTTP/1.0 400'"
pf_check() {
	local port out
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	K port-forward deployment/web "$port:80" >/dev/null 2>&1 &
	local pf=$!
	out=""
	for _ in $(seq 50); do
		out=$(curl -s --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null) && [[ -n $out ]] && break
		sleep 0.2
	done
	kill "$pf" 2>/dev/null || true
	wait "$pf" 2>/dev/null || true
	grep -q 'Welcome to nginx' <<<"$out"
}
check "kubectl port-forward" pf_check

K delete pod client --wait=true --timeout=60s >/dev/null 2>&1 || true
K delete pvc data --wait=true --timeout=60s >/dev/null 2>&1 || true
check "the PV of a deleted PVC is deleted (reclaim policy Delete)" eventually 60 bash -c "[[ -z \$('$HC' kubectl --state '$STATE' get pv -o name) ]]"

check "hostcluster down --purge" "$HC" down --state "$STATE" --purge
left=$("$HC" leftovers --state "$STATE" || true)
check "nothing left behind (processes, mounts, netns, links, cgroups)${left:+: $left}" test -z "$left"
AFTER=$(machine_net)
check "the machine's iptables/nft rules, routes, links and kernel sysctls are unchanged" test "$BEFORE" == "$AFTER"
[[ $BEFORE == "$AFTER" ]] || diff <(echo "$BEFORE") <(echo "$AFTER") | sed 's/^/# /' | head -n 20
echo "$pass passed, $fail failed"
((fail == 0))

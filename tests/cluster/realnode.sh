# realnode.sh: real nodes for hostcluster (`up --runtime containerd`).
# Sourced by hostcluster; uses its STATE, BINDIR, NODES, POD_CIDR,
# SERVICE_CIDR, P_API, log/die/KUBECTL.
#
# The network (nothing of it in the machine's own network namespace):
#
#   netns ID-hub:  bridge br0 172.31.0.1/24
#                  netshim: 172.31.0.1:P_API -> unix STATE/run/api.sock
#                           unix STATE/run/egress.sock (HTTP CONNECT, for the
#                           API server's `cluster` egress: kubelets, pods)
#                  registry (tests/cluster/images serve) on 172.31.0.1:5000
#   netns ID-nI:   eth0 172.31.0.(10+I)/24, default route via 172.31.0.1;
#                  containerd + kubelet + kube-proxy; bridge cni0 for pods
#                  in the node's podCIDR; routes to other nodes' podCIDRs
#   machine:       netshim: unix STATE/run/api.sock -> 127.0.0.1:P_API
#
# Unix sockets are files, so they cross network namespaces: the API server
# stays on 127.0.0.1, and no interface, route or rule is added to the
# machine's network namespace.  Pod and Service CIDRs exist only inside the
# node namespaces; the hub has no default route, so nothing leaves.
#
# ID is derived from the state dir, so clusters side by side do not share
# namespaces, and the same 172.31.0.0/24 can be used by each.

RN_NET=172.31.0
RN_HUB_IP=$RN_NET.1
RN_REGISTRY_PORT=5000
RN_DNS_IP="" # set by rn_vars (10th address of the service CIDR)

rn_vars() {
	RN_ID=vc$(printf '%s' "$STATE" | sha256sum | cut -c1-6)
	RN_HUB=$RN_ID-hub
	RN_DNS_IP=$("$PY" -c 'import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1], strict=False)[10])' "$SERVICE_CIDR")
	RN_IMAGES=${HOSTCLUSTER_IMAGES:-${XDG_CACHE_HOME:-$HOME/.cache}/libvcluster/images}
}
rn_ns() { echo "$RN_ID-n$1"; }
rn_ip() { echo "$RN_NET.$((10 + $1))"; }
rn_in() { # netns cmd...: run cmd in a network namespace (mounts unchanged)
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

rn_require() {
	local c missing=()
	for c in ip nsenter unshare iptables runc conntrack mount; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	((${#missing[@]} == 0)) || die "--runtime containerd needs: ${missing[*]} (tests/install-deps installs them)"
	[[ $(id -u) == 0 ]] || die "--runtime containerd needs root (network namespaces, mounts, cgroups)"
	local b
	for b in containerd containerd-shim-runc-v2 ctr kubelet kube-proxy netshim coredns cni/bridge cni/host-local cni/loopback cni/portmap; do
		[[ -x $BINDIR/$b ]] || die "missing $BINDIR/$b (hostcluster build)"
	done
}

# --------------------------------------------------------------- network --

rn_net_up() {
	local i ns
	if [[ ! -e /run/netns/$RN_HUB ]]; then
		ip netns add "$RN_HUB"
		ip -n "$RN_HUB" link set lo up
		ip -n "$RN_HUB" link add br0 type bridge
		ip -n "$RN_HUB" addr add "$RN_HUB_IP/24" dev br0
		ip -n "$RN_HUB" link set br0 up
		rn_in "$RN_HUB" sysctl -qw net.ipv4.ip_forward=1
	fi
	for ((i = 0; i < NODES; i++)); do
		ns=$(rn_ns "$i")
		[[ -e /run/netns/$ns ]] && continue
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		# both ends are made inside their namespaces: no veth ever exists in the machine's
		ip link add "${RN_ID}h$i" netns "$RN_HUB" type veth peer name eth0 netns "$ns"
		ip -n "$RN_HUB" link set "${RN_ID}h$i" master br0 up
		ip -n "$ns" addr add "$(rn_ip "$i")/24" dev eth0
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add default via "$RN_HUB_IP"
		rn_in "$ns" sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
			net.ipv4.conf.all.route_localnet=1
	done
}

rn_net_down() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns == "$RN_ID"-* ]] && ip netns del "$ns" 2>/dev/null || true
	done
	return 0
}

# the podCIDR each node got from the controller-manager: CNI config and routes
rn_pod_network() {
	local out name cidr i j ok=0
	out=$(KUBECTL get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR}{"\n"}{end}') || return 1
	declare -A cidrs=()
	while read -r name cidr; do
		[[ -n $name && -n $cidr ]] && cidrs[$name]=$cidr
	done <<<"$out"
	for ((i = 0; i < NODES; i++)); do [[ -n ${cidrs[node-$i]:-} ]] && ok=$((ok + 1)); done
	((ok == NODES)) || return 1
	for ((i = 0; i < NODES; i++)); do
		local n=$STATE/nodes/n$i c=${cidrs[node-$i]}
		mkdir -p "$n/cni/net.d" "$n/cni/ipam"
		if [[ ! -f $n/cni/net.d/10-hostcluster.conflist ]] || ! grep -qF "\"$c\"" "$n/cni/net.d/10-hostcluster.conflist"; then
			cat >"$n/cni/net.d/10-hostcluster.conflist.tmp" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "hostcluster",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$n/cni/ipam",
        "ranges": [[{ "subnet": "$c" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
			mv -f "$n/cni/net.d/10-hostcluster.conflist.tmp" "$n/cni/net.d/10-hostcluster.conflist"
		fi
		ip -n "$RN_HUB" route replace "$c" via "$(rn_ip "$i")"
		for ((j = 0; j < NODES; j++)); do
			((i == j)) || ip -n "$(rn_ns "$j")" route replace "$c" via "$(rn_ip "$i")"
		done
	done
}

# ------------------------------------------------------------------- pki --

# node and kube-proxy client certificates (gen_pki has made the CA)
rn_pki() {
	local d=$STATE/pki i
	[[ -f $d/kube-proxy.crt ]] || pki_cert kube-proxy "/CN=system:kube-proxy" client
	[[ -f $d/apiserver-kubelet-client.crt ]] || pki_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client
	for ((i = 0; i < NODES; i++)); do
		[[ -f $d/node-$i.crt ]] || pki_cert "node-$i" "/O=system:nodes/CN=system:node:node-$i" client
	done
}

# --------------------------------------------------------------- configs --

rn_configs() {
	local i n
	mkdir -p "$STATE/run"
	cat >"$STATE/realnode.env" <<EOF
BINDIR=$BINDIR
ID=$RN_ID
IMAGES_DIR=$STATE/images
EOF
	cat >"$STATE/egress-selector.yaml" <<EOF
apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: $STATE/run/egress.sock
EOF
	write_kubeconfig kube-proxy kube-proxy "https://$RN_HUB_IP:$P_API"
	# registry mirror for every registry: pulls (e.g. pull policy Always on
	# :latest) go to the harness registry in the hub, never off the machine
	mkdir -p "$STATE/certs.d/_default"
	cat >"$STATE/certs.d/_default/hosts.toml" <<EOF
[host."http://$RN_HUB_IP:$RN_REGISTRY_PORT"]
  capabilities = ["pull", "resolve"]
EOF
	for ((i = 0; i < NODES; i++)); do
		n=$STATE/nodes/n$i
		mkdir -p "$n/kubelet" "$n/containerd" "$n/cni/net.d" "$n/cni/ipam" "$n/opt" "$n/logs" "$n/pids"
		rn_ip "$i" >"$n/ip"
		write_kubeconfig "node-$i" "node-$i" "https://$RN_HUB_IP:$P_API"
		echo "nameserver $RN_HUB_IP" >"$n/resolv.conf"
		cat >"$n/containerd.toml" <<EOF
version = 4
root = "$n/containerd/root"
state = "/run/containerd"
imports = []
disabled_plugins = ["io.containerd.nri.v1.nri"]

[debug]
  level = "warn"

[plugins]
  [plugins.'io.containerd.server.v1.grpc']
    address = "$n/containerd.sock"
  [plugins.'io.containerd.server.v1.ttrpc']
    address = "$n/containerd.sock.ttrpc"
  [plugins.'io.containerd.internal.v1.opt']
    path = "$n/opt"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "libvcluster/pause:3.10"
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = "$STATE/certs.d"
  [plugins.'io.containerd.cri.v1.runtime']
    # this machine gives root no CAP_SYS_RESOURCE, so no process may lower its
    # oom_score_adj (the kubelet asks -998 for sandboxes): clamp to ours (0)
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["$BINDIR/cni"]
      conf_dir = "$n/cni/net.d"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "${HOSTCLUSTER_RUNC:-$(command -v runc)}"
        SystemdCgroup = false
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
EOF
		cat >"$n/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $(rn_ip "$i")
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $STATE/pki/ca.crt
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$n/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$RN_ID-n$i
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: false
clusterDomain: cluster.local
clusterDNS:
- $RN_DNS_IP
resolvConf: $n/resolv.conf
podLogsDir: $n/pod-logs
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
protectKernelDefaults: false
rotateCertificates: false
serverTLSBootstrap: false
maxPods: 110
nodeStatusReportFrequency: 1m
EOF
		cat >"$n/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $STATE/kube-proxy.kubeconfig
mode: iptables
clusterCIDR: $POD_CIDR
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
EOF
	done
}

# ------------------------------------------------------------- processes --

# helpers that are not binaries of the bindir: checked by pid + state dir
rn_alive_pid() { # pidfile
	local pid
	[[ -f $1 ]] || return 1
	pid=$(<"$1")
	[[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF -- "$STATE/" || return 1
	[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}

rn_start_helpers() {
	mkdir -p "$STATE/run" "$STATE/images"
	if ! rn_alive_pid "$STATE/pids/netshim-host"; then
		start_component netshim-host "$BINDIR/netshim" --forward "unix:$STATE/run/api.sock=tcp:127.0.0.1:$P_API"
	fi
	if ! rn_alive_pid "$STATE/pids/netshim-hub"; then
		start_component netshim-hub nsenter --net="/run/netns/$RN_HUB" -- "$BINDIR/netshim" \
			--forward "tcp:$RN_HUB_IP:$P_API=unix:$STATE/run/api.sock" \
			--connect-proxy "unix:$STATE/run/egress.sock"
	fi
	if ! rn_alive_pid "$STATE/pids/registry"; then
		start_component registry nsenter --net="/run/netns/$RN_HUB" -- "$PY" "$HERE/images" serve \
			--root "$RN_IMAGES" --listen "$RN_HUB_IP:$RN_REGISTRY_PORT" --log "$STATE/logs/registry-requests.log"
	fi
}

# The kubelet sets these machine-wide sysctls to its liking at start
# (protectKernelDefaults: false; true would make it refuse to start): they
# are not per network namespace.  Their values before the first node started
# are kept and put back when the last real node of the machine stops.
RN_SYSCTLS=(vm/overcommit_memory kernel/panic kernel/panic_on_oops)
rn_sysctl_save() {
	local f=$STATE/sysctl.orig s
	[[ -f $f ]] && return 0
	for s in "${RN_SYSCTLS[@]}"; do echo "$s $(<"/proc/sys/$s")"; done >"$f.tmp"
	mv -f "$f.tmp" "$f"
}
rn_sysctl_restore() {
	local f=$STATE/sysctl.orig s v
	[[ -f $f ]] || return 0
	# another real-node cluster still running keeps them as its kubelets want
	if pgrep -f "^$BINDIR/kubelet " >/dev/null 2>&1; then return 0; fi
	while read -r s v; do
		[[ -n $s && -n $v ]] && echo "$v" >"/proc/sys/$s" 2>/dev/null || true
	done <"$f"
	rm -f "$f"
}

rn_start_nodes() {
	local i
	rn_sysctl_save
	mkdir -p /var/lib/cni # the nodes mount a tmpfs of their own on it
	for ((i = 0; i < NODES; i++)); do
		rn_alive_pid "$STATE/pids/node-$i" && continue
		start_component "node-$i" nsenter --net="/run/netns/$(rn_ns "$i")" -- \
			unshare --mount --propagation slave -- bash "$HERE/nodeinit" "$STATE/" "$i"
	done
}

rn_check_alive() {
	local f
	for f in "$STATE"/pids/node-* "$STATE"/pids/netshim-* "$STATE/pids/registry"; do
		[[ -f $f ]] || continue
		rn_alive_pid "$f" || component_died "${f##*/}"
	done
}

# every process of the node cgroups (containers, shims, leftovers), then the cgroups
rn_kill_cgroups() {
	local h d t pids
	for ((t = 0; t < 50; t++)); do
		pids=$(find /sys/fs/cgroup/ -path "*/$RN_ID-n*" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
		[[ -z $pids ]] && break
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null || true
		sleep 0.1
	done
	for h in /sys/fs/cgroup/*/; do
		for d in "$h$RN_ID"-n*; do
			[[ -d $d ]] || continue
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
		done
	done
}

rn_stop() {
	[[ -n ${RN_ID:-} ]] || rn_vars
	local f pid pids=()
	for f in "$STATE"/pids/node-*; do
		[[ -f $f ]] || continue
		if rn_alive_pid "$f"; then
			pid=$(<"$f")
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
		fi
	done
	local t left
	for ((t = 0; t < 150; t++)); do
		left=0
		for pid in ${pids[@]+"${pids[@]}"}; do gone "$pid" || left=1; done
		((left)) || break
		sleep 0.1
	done
	for pid in ${pids[@]+"${pids[@]}"}; do gone "$pid" || kill -KILL "$pid" 2>/dev/null || true; done
	rn_kill_cgroups
	rn_sysctl_restore
	for f in netshim-hub netshim-host registry; do
		if rn_alive_pid "$STATE/pids/$f"; then
			pid=$(<"$STATE/pids/$f")
			kill -TERM "$pid" 2>/dev/null || true
			for ((t = 0; t < 30; t++)); do gone "$pid" && break; sleep 0.1; done
			gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	rm -f "$STATE"/pids/node-* "$STATE"/pids/netshim-* "$STATE/pids/registry" "$STATE"/nodes/n*/pids/* 2>/dev/null || true
	rm -f "$STATE"/run/*.sock
	rn_net_down
}

# what a stopped real-node cluster must not leave behind (one line each)
rn_leftovers() {
	[[ -n ${RN_ID:-} ]] || rn_vars
	ip netns list 2>/dev/null | awk -v p="$RN_ID-" 'index($1, p) == 1 {print "netns " $1}'
	ip -o link show 2>/dev/null | awk -F': ' -v p="$RN_ID" 'index($2, p) == 1 {print "link " $2}'
	find /sys/fs/cgroup/ -maxdepth 2 -name "$RN_ID-n*" 2>/dev/null | sed 's/^/cgroup /'
	grep -F -- "$STATE/" /proc/self/mountinfo 2>/dev/null | awk '{print "mount " $5}'
	grep -F "vc-$RN_ID-" /proc/self/mountinfo 2>/dev/null | awk '{print "mount " $5}'
	local p
	for p in /proc/[0-9]*; do
		[[ -r $p/cmdline ]] || continue
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$STATE/" && echo "process ${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" | cut -c1-120)"
	done
	return 0
}

# ---------------------------------------------------------------- checks --

rn_nodes_ready() {
	local out ok=0 i name st
	out=$(KUBECTL get nodes -o \
		jsonpath='{range .items[*]}{.metadata.name}|{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}') || return 1
	for ((i = 0; i < NODES; i++)); do
		while IFS='|' read -r name st; do
			[[ $name == "node-$i" && $st == True ]] && ok=$((ok + 1))
		done <<<"$out"
	done
	((ok == NODES))
}

rn_nodes_registered() {
	local n
	n=$(KUBECTL get nodes -o name 2>/dev/null | grep -c '^node/node-') || return 1
	((n >= NODES))
}

# CoreDNS for the host cluster (kube-system/kube-dns at the 10th service IP),
# as every real cluster has; no upstream forwarder (no network off the machine)
rn_coredns_manifest() {
	cat <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: { name: coredns, namespace: kube-system }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "system:coredns" }
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "system:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns" }
subjects: [{ kind: ServiceAccount, name: coredns, namespace: kube-system }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: coredns, namespace: kube-system }
data:
  Corefile: |
    .:53 {
        errors
        health {
            lameduck 2s
        }
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 30
        }
        cache 30
        loop
        reload
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: { k8s-app: kube-dns }
spec:
  replicas: 1
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata: { labels: { k8s-app: kube-dns } }
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      priorityClassName: system-cluster-critical
      containers:
      - name: coredns
        image: coredns/coredns:hostcluster
        imagePullPolicy: IfNotPresent
        args: ["-conf", "/etc/coredns/Corefile"]
        ports:
        - { containerPort: 53, name: dns, protocol: UDP }
        - { containerPort: 53, name: dns-tcp, protocol: TCP }
        readinessProbe:
          httpGet: { path: /ready, port: 8181 }
          periodSeconds: 2
        livenessProbe:
          httpGet: { path: /health, port: 8080 }
        volumeMounts: [{ name: config, mountPath: /etc/coredns, readOnly: true }]
      volumes: [{ name: config, configMap: { name: coredns } }]
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: { k8s-app: kube-dns, kubernetes.io/name: CoreDNS }
spec:
  selector: { k8s-app: kube-dns }
  clusterIP: $RN_DNS_IP
  ports:
  - { name: dns, port: 53, protocol: UDP, targetPort: 53 }
  - { name: dns-tcp, port: 53, protocol: TCP, targetPort: 53 }
EOF
}

rn_coredns_ready() {
	[[ $(KUBECTL -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}' 2>/dev/null) == 1 ]]
}

# ---------------------------------------------------------------- images --

# build the harness images (tests/cluster/images) and the archives the nodes
# import at start; the registry serves the same store
rn_images() {
	mkdir -p "$STATE/logs"
	local t0=$SECONDS
	"$PY" "$HERE/images" build --bindir "$BINDIR" --out "$RN_IMAGES" >"$STATE/logs/images-build.log" 2>&1 ||
		{ tail -n 20 "$STATE/logs/images-build.log" >&2; die "building the images failed"; }
	# the small images every node needs are imported at node start (ctr images
	# import); the big control-plane ones (kubernetes, kine, etcd) are pulled
	# from the harness registry by the node that runs them
	"$PY" "$HERE/images" archive --root "$RN_IMAGES" --out "$STATE/images" \
		pause busybox nginx alpine coredns syncer >/dev/null || die "writing the image archives failed"
	((SECONDS - t0 < 3)) || log "images ready after $((SECONDS - t0))s"
}

# rn_vars for a state dir whose config may be gone
rn_vars_for_state() {
	SERVICE_CIDR=10.96.0.0/12
	load_config || true
	rn_vars
}

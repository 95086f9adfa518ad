#!/usr/bin/env bash
# The demo: the quick start of the vcluster walkthrough, on this machine.
#
#   examples/demo.sh          install what is missing, build, start a host
#                             cluster with real nodes, create virtual cluster
#                             my-vcluster in it (the kubernetes driver, as
#                             users run it), deploy nginx inside, reach it
#                             through its Service, and show the virtual and
#                             host views side by side
#   examples/demo.sh --local  the same with simulated (kwok) nodes and the
#                             local driver (no root needed for the nodes)
#   examples/demo.sh --down   delete the virtual cluster and stop the host cluster
#
# Everything runs on this machine: the host is a real kube-apiserver
# (tests/cluster/hostcluster) whose nodes are kubelet + containerd + runc in
# network namespaces of their own (root only), or kwok with --local.  With
# the default (kubernetes) driver the virtual control plane runs as a
# StatefulSet pod with real containers, and `vcluster connect` reaches it
# through a port-forward via the host API server.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${XDG_STATE_HOME:-$HOME/.local/state}/libvcluster/demo
BUILD=${VC_DEMO_BUILD:-$ROOT/build-demo}
NAME=my-vcluster
step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

HOSTCLUSTER=$ROOT/tests/cluster/hostcluster
VCLUSTER=$BUILD/examples/cli/vcluster
export KUBECONFIG=$STATE/kubeconfig
export VC_SYNCER_BIN=$BUILD/examples/controller/vcluster-syncer

if [ "${1:-}" = "--down" ]; then
  if [ -x "$VCLUSTER" ] && [ -f "$KUBECONFIG" ]; then
    step "vcluster delete $NAME"
    "$VCLUSTER" delete "$NAME" --context hostcluster || true
  fi
  step "stopping the host cluster"
  "$HOSTCLUSTER" down --state "$STATE/host" --purge || true
  rm -rf "$STATE"
  exit 0
fi

LOCAL=0
[ "${1:-}" = "--local" ] && LOCAL=1
if [ "$LOCAL" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "real nodes need root (network namespaces, mounts, cgroups): run as root, or use examples/demo.sh --local" >&2
  exit 1
fi
if [ -f "$STATE/mode" ] && [ "$(cat "$STATE/mode")" != "$LOCAL" ]; then
  echo "a demo of the other kind is running: examples/demo.sh --down first" >&2
  exit 1
fi

step "installing what is missing"
"$ROOT/tests/install-deps"

step "building libvcluster, vcluster and vcluster-syncer"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$BUILD" >/dev/null

mkdir -p "$STATE"
echo "$LOCAL" >"$STATE/mode"
if [ "$LOCAL" = 1 ]; then
  step "starting the host cluster (kube-apiserver + etcd + scheduler + kwok nodes, built from Go modules on first run)"
  "$HOSTCLUSTER" up --state "$STATE/host" --nodes 3
else
  step "starting the host cluster with 2 real nodes (kubelet + containerd + CNI + kube-proxy; built from Go modules on first run)"
  "$HOSTCLUSTER" up --state "$STATE/host" --runtime containerd --nodes 2 --timeout 600
fi
BINDIR=$("$HOSTCLUSTER" bindir)
export VC_K8S_BINDIR=$BINDIR
KUBECTL=$BINDIR/kubectl
# a kubeconfig of the demo's own, so the user's ~/.kube/config is untouched
[ -f "$KUBECONFIG" ] || cp "$("$HOSTCLUSTER" kubeconfig --state "$STATE/host")" "$KUBECONFIG"
chmod 600 "$KUBECONFIG"
HOSTCTX=hostcluster

if [ "$LOCAL" = 1 ]; then
  step "vcluster create $NAME --driver local   (host namespace vcluster-$NAME)"
  DRIVER=(--driver local)
else
  step "vcluster create $NAME   (the kubernetes driver: a StatefulSet in host namespace vcluster-$NAME)"
  DRIVER=()
fi
# (read whole, then grep: under pipefail `list | grep -q` fails if grep exits first)
LIST=$("$VCLUSTER" list --context "$HOSTCTX" -o json)
if grep -q "\"Name\": \"$NAME\"" <<<"$LIST"; then
  echo "$NAME exists already; connecting" >&2
  "$VCLUSTER" connect "$NAME" --context "$HOSTCTX"
else
  "$VCLUSTER" create "$NAME" "${DRIVER[@]}" --context "$HOSTCTX"
fi

step "inside the virtual cluster: kubectl create namespace demo-nginx; kubectl create deployment ..."
"$KUBECTL" create namespace demo-nginx --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
"$KUBECTL" create deployment nginx-deployment -n demo-nginx --image=nginx --replicas=2 \
  --dry-run=client -o yaml | "$KUBECTL" apply -f -
"$KUBECTL" rollout status deployment/nginx-deployment -n demo-nginx --timeout=180s

if [ "$LOCAL" = 0 ]; then
  step "inside: a Service, and a client pod that reaches nginx through it by name (the virtual cluster's DNS)"
  "$KUBECTL" expose deployment nginx-deployment -n demo-nginx --port 80 --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
  "$KUBECTL" get pod client -n demo-nginx >/dev/null 2>&1 ||
    "$KUBECTL" run client -n demo-nginx --image=busybox:1.36 --restart=Never -- sleep 3600 >/dev/null
  "$KUBECTL" wait --for=condition=Ready pod/client -n demo-nginx --timeout=120s >/dev/null
  echo "\$ kubectl exec -n demo-nginx client -- wget -qO- http://nginx-deployment | grep title"
  for _ in $(seq 30); do
    if "$KUBECTL" exec -n demo-nginx client -- timeout 5 wget -qO- http://nginx-deployment 2>/dev/null | grep title; then break; fi
    sleep 1
  done
fi

step "side by side"
echo "--- virtual cluster ($("$KUBECTL" config current-context)) ---------------------------"
"$KUBECTL" get namespaces
"$KUBECTL" get pods -n demo-nginx -o wide
echo
echo "--- host cluster ($HOSTCTX) ---------------------------------------------------"
"$KUBECTL" --context "$HOSTCTX" get namespaces
"$KUBECTL" --context "$HOSTCTX" get statefulsets,deployments,pods -n "vcluster-$NAME" -o wide
echo
"$VCLUSTER" list --context "$HOSTCTX"
if [ "$LOCAL" = 1 ]; then NODES="a kwok node"; else NODES="a real node (containerd)"; fi
cat <<EOF

The namespace demo-nginx and the Deployment exist only inside the virtual
cluster; on the host there are just the pods, renamed <pod>-x-demo-nginx-x-$NAME
in namespace vcluster-$NAME, each scheduled by the host onto $NODES.

Try it yourself:
  export KUBECONFIG=$KUBECONFIG PATH=$BUILD/examples/cli:$BINDIR:\$PATH
  kubectl get pods -A                 # inside (context vcluster_${NAME}_vcluster-${NAME}_$HOSTCTX)
  kubectl logs -n demo-nginx deploy/nginx-deployment
  vcluster disconnect                 # back to the host
  vcluster pause $NAME && vcluster resume $NAME
Clean up:
  examples/demo.sh --down
EOF

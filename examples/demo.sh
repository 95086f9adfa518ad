#!/usr/bin/env bash
# The demo: the quick start of the vcluster walkthrough, on this machine.
#
#   examples/demo.sh          install what is missing, build, start a host
#                             cluster, create virtual cluster my-vcluster in it,
#                             deploy nginx inside, show both views side by side
#   examples/demo.sh --down   delete the virtual cluster and stop the host cluster
#
# Everything runs on 127.0.0.1: the host is a real kube-apiserver with kwok
# nodes (tests/cluster/hostcluster), the virtual cluster a second control
# plane started by `vcluster create --driver local`, with the syncer.
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

step "installing what is missing"
"$ROOT/tests/install-deps"

step "building libvcluster, vcluster and vcluster-syncer"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$BUILD" >/dev/null

step "starting the host cluster (kube-apiserver + etcd + scheduler + kwok nodes, built from Go modules on first run)"
"$HOSTCLUSTER" up --state "$STATE/host" --nodes 3
BINDIR=$("$HOSTCLUSTER" bindir)
export VC_K8S_BINDIR=$BINDIR
KUBECTL=$BINDIR/kubectl
mkdir -p "$STATE"
# a kubeconfig of the demo's own, so the user's ~/.kube/config is untouched
[ -f "$KUBECONFIG" ] || cp "$("$HOSTCLUSTER" kubeconfig --state "$STATE/host")" "$KUBECONFIG"
chmod 600 "$KUBECONFIG"
HOSTCTX=hostcluster

step "vcluster create $NAME --driver local   (host namespace vcluster-$NAME)"
if "$VCLUSTER" list --context "$HOSTCTX" -o json | grep -q "\"Name\": \"$NAME\""; then
  echo "$NAME exists already; connecting" >&2
  "$VCLUSTER" connect "$NAME" --context "$HOSTCTX"
else
  "$VCLUSTER" create "$NAME" --driver local --context "$HOSTCTX"
fi

step "inside the virtual cluster: kubectl create namespace demo-nginx; kubectl create deployment ..."
"$KUBECTL" create namespace demo-nginx --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
"$KUBECTL" create deployment nginx-deployment -n demo-nginx --image=nginx --replicas=1 \
  --dry-run=client -o yaml | "$KUBECTL" apply -f -
"$KUBECTL" rollout status deployment/nginx-deployment -n demo-nginx --timeout=120s

step "side by side"
echo "--- virtual cluster ($("$KUBECTL" config current-context)) ---------------------------"
"$KUBECTL" get namespaces
"$KUBECTL" get pods -n demo-nginx -o wide
echo
echo "--- host cluster ($HOSTCTX) ---------------------------------------------------"
"$KUBECTL" --context "$HOSTCTX" get namespaces
"$KUBECTL" --context "$HOSTCTX" get deployments,pods -n "vcluster-$NAME" -o wide
echo
"$VCLUSTER" list --context "$HOSTCTX"
cat <<EOF

The namespace demo-nginx and the Deployment exist only inside the virtual
cluster; on the host there is just the pod, renamed <pod>-x-demo-nginx-x-$NAME
in namespace vcluster-$NAME, scheduled by the host onto a kwok node.

Try it yourself:
  export KUBECONFIG=$KUBECONFIG PATH=$BUILD/examples/cli:$BINDIR:\$PATH
  kubectl get pods -A                 # inside (context vcluster_${NAME}_vcluster-${NAME}_$HOSTCTX)
  vcluster disconnect                 # back to the host
  vcluster pause $NAME && vcluster resume $NAME
Clean up:
  examples/demo.sh --down
EOF

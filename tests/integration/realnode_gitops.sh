#!/usr/bin/env bash
# GitOps on REAL nodes (hostcluster --runtime containerd): the manifests of
# `vcluster render` hold no private key and are the same bytes when
# rendered again; applied with plain `kubectl apply` (no Secret NAME-certs
# exists), the StatefulSet's init container vcluster-certs (the syncer image,
# `vcluster-syncer certs`) makes the PKI in the pod at first start, stores it
# in Secret NAME-certs and the kubeconfig in vc-NAME, and the virtual API
# server becomes Ready and usable through `vcluster connect -- kubectl`.
#
# Needs VC_REALNODE_KUBECONFIG (tests/run starts the real-node host cluster),
# VC_CLI and VC_K8S_BINDIR. Without a real-node cluster it fails with the
# reason, unless VC_SKIP_CLUSTER=1.
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

NAME=gitops-vc
HOSTNS=vcluster-$NAME
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vc-gitops-XXXXXX")
export HOME=$WORK/home XDG_STATE_HOME=$WORK/state
mkdir -p "$HOME"
export KUBECONFIG=$WORK/kubeconfig
cp "$VC_REALNODE_KUBECONFIG" "$KUBECONFIG"
chmod 600 "$KUBECONFIG"
HOSTCTX=$("$VC_K8S_BINDIR/kubectl" config current-context)
KH() { "$VC_K8S_BINDIR/kubectl" --context "$HOSTCTX" "$@"; }

pass=0 fail=0
ok() { pass=$((pass + 1)); printf 'ok %d - %s\n' "$((pass + fail))" "$*"; }
FAILED=()
bad() {
	fail=$((fail + 1))
	printf 'not ok %d - %s\n' "$((pass + fail))" "$*"
	FAILED+=("not ok $((pass + fail)) - $*")
}
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
dump() {
	echo "# --- host objects in $HOSTNS"
	KH -n "$HOSTNS" get all,secrets,events -o wide 2>&1 | sed 's/^/# /' | tail -n 60
	echo "# --- init container log"
	KH -n "$HOSTNS" logs "$NAME-0" -c vcluster-certs --tail=30 2>&1 | sed 's/^/# /'
	KH -n "$HOSTNS" logs "$NAME-0" --all-containers --tail=20 2>&1 | sed 's/^/# /'
}
finish() {
	local rc=$?
	((fail == 0 && rc == 0)) || dump
	"$VC_CLI" delete "$NAME" --context "$HOSTCTX" >/dev/null 2>&1 || true
	KH delete namespace "$HOSTNS" --wait=false >/dev/null 2>&1 || true
	rm -rf "$WORK"
	# again at the very end: CI shows only the tail of a failed test's output
	local f
	for f in "${FAILED[@]}"; do echo "# $f"; done
	echo "$pass passed, $fail failed"
	((fail == 0 && rc == 0)) || exit 1
}
trap finish EXIT

# ---- render twice: key-free and stable ---------------------------------------
check "vcluster render $NAME" bash -c "'$VC_CLI' render '$NAME' --context '$HOSTCTX' >'$WORK/m1.yaml'"
check "rendered again" bash -c "'$VC_CLI' render '$NAME' --context '$HOSTCTX' >'$WORK/m2.yaml'"
check "both renders are the same bytes" cmp "$WORK/m1.yaml" "$WORK/m2.yaml"
no_keys() {
	! grep -q 'PRIVATE KEY' "$WORK/m1.yaml" || return 1
	# nor inside base64 Secret data
	local v
	for v in $(sed -n 's/^  [A-Za-z0-9._-]*: \([A-Za-z0-9+\/=]\{40,\}\)$/\1/p' "$WORK/m1.yaml"); do
		if base64 -d <<<"$v" 2>/dev/null | grep -q 'PRIVATE KEY'; then return 1; fi
	done
}
check "no private key in the manifests" no_keys
check "no Secret $NAME-certs in them" bash -c "! grep -q 'name: $NAME-certs' '$WORK/m1.yaml'"

# ---- apply as Argo CD / kubectl would -----------------------------------------
t0=$SECONDS
check "kubectl apply -f the manifests" KH apply -f "$WORK/m1.yaml"
check "no Secret $NAME-certs before the pod starts" bash -c "! '$VC_K8S_BINDIR/kubectl' --context '$HOSTCTX' -n '$HOSTNS' get secret '$NAME-certs' >/dev/null 2>&1"
check "the control plane pod becomes Ready (init container made the PKI)" \
	eventually 600 KH -n "$HOSTNS" wait --for=condition=Ready "pod/$NAME-0" --timeout=5s
echo "# apply to Ready: $((SECONDS - t0))s"
check "Secret $NAME-certs was made in the pod" KH -n "$HOSTNS" get secret "$NAME-certs"
check "Secret vc-$NAME (kubeconfig) was made in the pod" KH -n "$HOSTNS" get secret "vc-$NAME"
# (logs are read whole before grep: with pipefail, `kubectl logs | grep -q` fails
# when grep exits at the match while kubectl still writes, and kubectl dies of SIGPIPE)
init_log() {
	local l
	l=$(KH -n "$HOSTNS" logs "$NAME-0" -c vcluster-certs 2>&1) || return 1
	grep -q "created Secret $NAME-certs" <<<"$l"
}
check "the init container's log says it created the Secret" init_log
sans() {
	local ip
	ip=$(KH -n "$HOSTNS" get service "$NAME" -o jsonpath='{.spec.clusterIP}')
	local s
	s=$(KH -n "$HOSTNS" get secret "$NAME-certs" -o jsonpath='{.metadata.annotations.vcluster\.loft\.sh/apiserver-sans}') || return 1
	grep -q "IP:$ip" <<<"$s"
}
check "the Service's ClusterIP is a SAN of the API server certificate" sans
usable() {
	"$VC_CLI" connect "$NAME" --context "$HOSTCTX" -- "$VC_K8S_BINDIR/kubectl" get ns kube-system -o name \
		>"$WORK/c.out" 2>"$WORK/c.err" && grep -qx namespace/kube-system "$WORK/c.out" && return 0
	sed 's/^/# /' "$WORK/c.out" "$WORK/c.err"
	return 1
}
check "the virtual API server is usable (vcluster connect -- kubectl get ns)" eventually 120 usable
mkns() {
	"$VC_CLI" connect "$NAME" --context "$HOSTCTX" -- "$VC_K8S_BINDIR/kubectl" create namespace gitops-demo >/dev/null 2>&1 ||
		"$VC_CLI" connect "$NAME" --context "$HOSTCTX" -- "$VC_K8S_BINDIR/kubectl" get namespace gitops-demo >/dev/null 2>&1
}
check "and writable (create namespace inside)" eventually 60 mkns

# ---- a restart loads the stored PKI ---------------------------------------------
CA1=$(KH -n "$HOSTNS" get secret "$NAME-certs" -o jsonpath='{.data.ca\.crt}')
check "delete the pod" KH -n "$HOSTNS" delete pod "$NAME-0" --wait=true --timeout=120s
check "it is Ready again" eventually 300 KH -n "$HOSTNS" wait --for=condition=Ready "pod/$NAME-0" --timeout=5s
restart_log() {
	local l
	l=$(KH -n "$HOSTNS" logs "$NAME-0" -c vcluster-certs 2>&1) || return 1
	grep -q "using Secret $NAME-certs" <<<"$l"
}
check "the init container loaded the stored Secret" restart_log
check "the CA did not change" bash -c "[[ \$('$VC_K8S_BINDIR/kubectl' --context '$HOSTCTX' -n '$HOSTNS' get secret '$NAME-certs' -o jsonpath='{.data.ca\\.crt}') == '$CA1' ]]"
check "the namespace made before the restart is still there" eventually 120 \
	"$VC_CLI" connect "$NAME" --context "$HOSTCTX" -- "$VC_K8S_BINDIR/kubectl" get namespace gitops-demo

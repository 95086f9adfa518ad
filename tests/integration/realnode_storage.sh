#!/usr/bin/env bash
# Storage on REAL nodes (hostcluster --runtime containerd): a claim inside a
# local-driver virtual cluster binds through the host's default class
# `standard` (the harness's hostPath provisioner), a busybox container using
# it writes a file, and the file is in the host PV's directory on this
# machine; inside, the claim is Bound with its capacity, its fake PV exists,
# and `kubectl exec` (through the syncer's kubelet proxy) reads the file back.
#
# Needs VC_REALNODE_KUBECONFIG, VC_CLI, VC_SYNCER_BIN, VC_K8S_BINDIR; without
# VC_REALNODE_KUBECONFIG it fails with the reason (skips only with
# VC_SKIP_CLUSTER=1).
set -euo pipefail
if [[ -z ${VC_REALNODE_KUBECONFIG:-} ]]; then
	[[ ${VC_SKIP_CLUSTER:-0} == 1 ]] && { echo "# skipped: VC_SKIP_CLUSTER=1"; exit 77; }
	echo "VC_REALNODE_KUBECONFIG is unset: the host has no real nodes (tests/run starts them with hostcluster --runtime containerd)" >&2
	exit 1
fi
: "${VC_CLI:?VC_CLI must name the vcluster binary}" "${VC_SYNCER_BIN:?}" "${VC_K8S_BINDIR:?}"
KUBECTL=$VC_K8S_BINDIR/kubectl
NAME=rs$(printf '%x' "$(($(date +%s) % 1000000))")$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vc-rstorage-XXXXXX")
export KUBECONFIG=$WORK/host.kubeconfig
cp "$VC_REALNODE_KUBECONFIG" "$KUBECONFIG"
chmod 600 "$KUBECONFIG"
VKC=$WORK/virtual.kubeconfig
LC=(--state-dir "$WORK/state" --bin-dir "$VC_K8S_BINDIR" --syncer "$VC_SYNCER_BIN")
NS=vcluster-$NAME

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
K() { "$KUBECTL" --request-timeout=20s "$@"; }
KV() { "$KUBECTL" --kubeconfig "$VKC" --request-timeout=20s "$@"; }
cleanup() {
	set +e
	if ((fail)); then
		echo "# --- syncer log"
		tail -n 30 "$WORK"/state/*/"$NAME"/logs/vcluster-syncer.log 2>/dev/null | sed 's/^/# /'
		KV get pvc,pv,pods -A 2>&1 | sed 's/^/# /'
	fi
	"$VC_CLI" delete "$NAME" "${LC[@]}" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

t0=$SECONDS
"$VC_CLI" create "$NAME" --driver local "${LC[@]}" --connect=false --timeout 180 >"$WORK/create.log" 2>&1 || {
	cat "$WORK/create.log" >&2
	echo "vcluster create failed" >&2
	exit 1
}
"$VC_CLI" connect "$NAME" "${LC[@]}" --print >"$VKC"
ok "local virtual cluster $NAME created ($((SECONDS - t0)) s)"
eventually 60 KV get serviceaccount default || bad "the virtual default ServiceAccount exists"
KV apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer, namespace: default}
spec:
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, 'echo written-inside-$NAME > /data/hello; sleep 3600']
    volumeMounts: [{name: d, mountPath: /data}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
EOF
t0=$SECONDS
if eventually 240 bash -c "[[ \$('$KUBECTL' --kubeconfig '$VKC' get pod writer -o jsonpath='{.status.phase}') == Running ]]"; then
	ok "the pod using the claim runs on a real node ($((SECONDS - t0)) s)"
else
	bad "the pod using the claim runs"
fi
phase=$(KV get pvc data -o jsonpath='{.status.phase}/{.status.capacity.storage}')
[[ $phase == Bound/1Gi ]] && ok "claim inside: Bound, 1Gi" || bad "claim inside Bound/1Gi (got $phase)"
vol=$(KV get pvc data -o jsonpath='{.spec.volumeName}')
hvol=$(K -n "$NS" get pvc "data-x-default-x-$NAME" -o jsonpath='{.spec.volumeName}')
[[ -n $vol && $vol == "$hvol" ]] && ok "claim inside names the host volume $hvol" || bad "volumeName inside '$vol' == host '$hvol'"
fake=$(KV get pv "$vol" -o jsonpath='{.metadata.labels.vcluster\.loft\.sh/fake-pv}/{.spec.claimRef.name}' 2>/dev/null || true)
[[ $fake == true/data ]] && ok "fake PV $vol inside, claimed by data" || bad "fake PV inside (got '$fake')"
dir=$(K get pv "$hvol" -o jsonpath='{.spec.hostPath.path}')
if eventually 30 bash -c "[[ \$(cat '$dir/hello' 2>/dev/null) == written-inside-$NAME ]]"; then
	ok "the container's file is in the host PV's directory ($dir/hello)"
else
	bad "file in $dir/hello (got: $(cat "$dir/hello" 2>&1 | head -1))"
fi
out=$(KV exec writer -- cat /data/hello 2>&1 || true)
[[ $out == "written-inside-$NAME" ]] && ok "kubectl exec inside reads it back" || bad "kubectl exec cat /data/hello (got: $out)"

KV delete pod writer --grace-period=1 --wait=true >/dev/null 2>&1 || true
KV delete pvc data --wait=false >/dev/null
if eventually 120 bash -c "! '$KUBECTL' get pv '$hvol' >/dev/null 2>&1"; then
	ok "claim deleted inside: the host PV is reclaimed"
else
	bad "host PV $hvol reclaimed"
fi
eventually 60 bash -c "! '$KUBECTL' --kubeconfig '$VKC' get pv '$vol' >/dev/null 2>&1" && ok "fake PV deleted" || bad "fake PV $vol deleted"
[[ ! -e $dir ]] && ok "the volume's directory is gone" || bad "directory $dir still there"
echo "# $pass passed, $fail failed"
((fail == 0))

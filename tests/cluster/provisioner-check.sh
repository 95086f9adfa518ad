#!/usr/bin/env bash
# provisioner-check.sh: end-to-end check of hostpath-provisioner
# (tests/cluster/tools/provisioner) against a hostcluster.
#
#   provisioner-check.sh [--state DIR]
#
# With --state, uses (and starts if needed: `hostcluster up --nodes 1`) the
# cluster in DIR and leaves it running; without, makes a temporary one and
# removes it at the end.  Starts the provisioner (its volumes in a temporary
# directory), then checks:
#   - Immediate StorageClass: a PVC becomes Bound; its PV is a hostPath PV of
#     ROOT/<pv name> (DirectoryOrCreate) with the class's reclaim policy, the
#     claim's access modes and capacity, no node affinity, the
#     pv.kubernetes.io/provisioned-by annotation; the directory exists, 0777;
#   - deleting the PVC deletes the PV and the directory;
#   - WaitForFirstConsumer: a pod using a claim is scheduled, and the PV is
#     pinned to the pod's node (kubernetes.io/hostname);
#   - a Retain class keeps the directory after the PVC and PV are gone.
# Prints `N passed, N failed`; exit 0 only if nothing failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HC=$HERE/hostcluster
NAME=libvcluster.dev/hostpath
STATE="" OWN_STATE=0
while (($#)); do
	case $1 in
	--state) STATE=$2; shift 2 ;;
	--state=*) STATE=${1#--state=}; shift ;;
	*) echo "usage: $0 [--state DIR]" >&2; exit 2 ;;
	esac
done

PASSED=0 FAILED=0
say() { printf 'provisioner-check: %s\n' "$*" >&2; }
pass() { PASSED=$((PASSED + 1)); say "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); say "FAIL $*"; }
check() { # description command...
	local d=$1; shift
	if "$@"; then pass "$d"; else fail "$d"; fi
}

"$HC" build
BIN=$("$HC" bindir)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/provisioner-check.XXXXXX")
if [[ -z $STATE ]]; then STATE=$TMP/cluster; OWN_STATE=1; fi
ROOT=$TMP/volumes
PROV_PID=""
NS=provcheck-$$
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $PROV_PID ]]; then
		kill "$PROV_PID" 2>/dev/null || true
		wait "$PROV_PID" 2>/dev/null || true
	fi
	if ((OWN_STATE)); then
		"$HC" down --state "$STATE" --purge >/dev/null 2>&1 || true
	else
		K delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
		K delete storageclass provcheck-immediate provcheck-wffc provcheck-retain --ignore-not-found >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

K() { "$BIN/kubectl" --kubeconfig "$STATE/admin.kubeconfig" --request-timeout=20s "$@"; }

# wait up to $1 seconds for command $2... to succeed
waitfor() {
	local t=$1 end; shift
	end=$((SECONDS + t))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 0.5
	done
}

"$HC" up --state "$STATE" --nodes 1 >/dev/null
"$BIN/hostpath-provisioner" --kubeconfig "$STATE/admin.kubeconfig" --root "$ROOT" >"$TMP/provisioner.log" 2>&1 &
PROV_PID=$!
sleep 1
check "provisioner is running" kill -0 "$PROV_PID"

K create namespace "$NS" >/dev/null
K apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: provcheck-immediate}
provisioner: $NAME
volumeBindingMode: Immediate
reclaimPolicy: Delete
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: provcheck-wffc}
provisioner: $NAME
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: provcheck-retain}
provisioner: $NAME
volumeBindingMode: Immediate
reclaimPolicy: Retain
EOF

pvc() { # name class
	K -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $1}
spec:
  storageClassName: $2
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  resources: {requests: {storage: 3Gi}}
EOF
}
bound() { [[ $(K -n "$NS" get pvc "$1" -o 'jsonpath={.status.phase}') == Bound ]]; }
pv_of() { K -n "$NS" get pvc "$1" -o 'jsonpath={.spec.volumeName}'; }
pvj() { K get pv "$1" -o "jsonpath=$2"; }
gone_pv() { ! K get pv "$1" >/dev/null 2>&1; }

# --- Immediate ---------------------------------------------------------------
pvc c1 provcheck-immediate
if waitfor 60 bound c1; then
	pass "PVC c1 (Immediate) Bound"
	PV=$(pv_of c1)
	DIR=$ROOT/$PV
	check "PV $PV hostPath is $DIR" test "$(pvj "$PV" '{.spec.hostPath.path}')" = "$DIR"
	check "hostPath type DirectoryOrCreate" test "$(pvj "$PV" '{.spec.hostPath.type}')" = DirectoryOrCreate
	check "reclaim policy Delete" test "$(pvj "$PV" '{.spec.persistentVolumeReclaimPolicy}')" = Delete
	check "access modes of the claim" test "$(pvj "$PV" '{.spec.accessModes}')" = '["ReadWriteOnce","ReadOnlyMany"]'
	check "capacity 3Gi" test "$(pvj "$PV" '{.spec.capacity.storage}')" = 3Gi
	check "no node affinity" test -z "$(pvj "$PV" '{.spec.nodeAffinity}')"
	check "provisioned-by annotation" test "$(pvj "$PV" '{.metadata.annotations.pv\.kubernetes\.io/provisioned-by}')" = "$NAME"
	check "directory $DIR exists" test -d "$DIR"
	check "directory mode 777" test "$(stat -c %a "$DIR" 2>/dev/null)" = 777
	touch "$DIR/data" 2>/dev/null || true
	K -n "$NS" delete pvc c1 --wait=false >/dev/null
	check "PV $PV deleted after the PVC" waitfor 60 gone_pv "$PV"
	check "directory removed" waitfor 10 test ! -e "$DIR"
else
	fail "PVC c1 (Immediate) Bound within 60 s"
fi

# --- WaitForFirstConsumer ------------------------------------------------------
pvc c2 provcheck-wffc
sleep 1
check "PVC c2 (WaitForFirstConsumer) stays Pending without a pod" test "$(K -n "$NS" get pvc c2 -o 'jsonpath={.status.phase}')" = Pending
K -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: user}
spec:
  containers: [{name: c, image: busybox, command: [sleep, "3600"], volumeMounts: [{name: v, mountPath: /data}]}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: c2}}]
EOF
if waitfor 60 bound c2; then
	pass "PVC c2 Bound once a pod uses it"
	PV=$(pv_of c2)
	waitfor 30 test -n "$(K -n "$NS" get pod user -o 'jsonpath={.spec.nodeName}')" || true
	NODE=$(K -n "$NS" get pod user -o 'jsonpath={.spec.nodeName}')
	HOST=$(K get node "$NODE" -o 'jsonpath={.metadata.labels.kubernetes\.io/hostname}' 2>/dev/null || true)
	HOST=${HOST:-$NODE}
	check "PV pinned to the pod's node $NODE (hostname $HOST)" \
		test "$(pvj "$PV" '{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].key}={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}')" = "kubernetes.io/hostname=$HOST"
	check "directory exists" test -d "$ROOT/$PV"
	K -n "$NS" delete pod user --grace-period=0 --force >/dev/null 2>&1 || true
	K -n "$NS" delete pvc c2 --wait=false >/dev/null
	check "PV and directory gone after pod and PVC" waitfor 60 eval "gone_pv $PV && test ! -e $ROOT/$PV"
else
	fail "PVC c2 Bound within 60 s of its pod"
fi

# --- Retain ------------------------------------------------------------------
pvc c3 provcheck-retain
if waitfor 60 bound c3; then
	PV=$(pv_of c3)
	K -n "$NS" delete pvc c3 >/dev/null
	waitfor 20 test "$(pvj "$PV" '{.status.phase}')" = Released || true
	check "Retain: PV $PV Released, not deleted" test "$(pvj "$PV" '{.status.phase}')" = Released
	K delete pv "$PV" >/dev/null
	check "Retain: directory kept after the PV is deleted" test -d "$ROOT/$PV"
else
	fail "PVC c3 (Retain) Bound within 60 s"
fi

check "provisioner still running" kill -0 "$PROV_PID"
if ((FAILED)); then
	say "provisioner log (last 30 lines):"
	tail -n 30 "$TMP/provisioner.log" >&2
fi
printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
((FAILED == 0))

#!/usr/bin/env bash
# `vcluster delete` with and without --keep-pvc, as the CLI's help says
# ("Delete a virtual cluster and everything it created on the host";
# "--keep-pvc  keep the PersistentVolumeClaims"), with the local driver on
# the kwok host cluster, whose default class `standard` is the harness's
# hostPath provisioner (tests/cluster/tools/provisioner).
#
# Each virtual cluster runs with sync.toHost.storageClasses and
# persistentVolumes on, in a host namespace of our own (so the namespace
# itself is kept and only what vcluster made goes), and holds: a class
# `fast` (host: vcluster-fast-x-NS-x-NAME), a claim of it bound through the
# host provisioner, a PV made inside (host: vcluster-manual-x-NS-x-NAME) and
# a claim of `standard` used by a pod.
#   --keep-pvc: the host claims stay, Bound, with their volumes; the host
#               class goes; the PV made inside stays (a kept claim may use it)
#   plain:      the host claims go, the provisioner reclaims their volumes,
#               the host class and the PV made inside go
#
# Needs VC_CLI, VC_SYNCER_BIN, VC_K8S_BINDIR, VC_TEST_KUBECONFIG; skips only
# with VC_SKIP_CLUSTER=1.
set -euo pipefail
if [[ -z ${VC_TEST_KUBECONFIG:-} ]]; then
	[[ ${VC_SKIP_CLUSTER:-0} == 1 ]] && { echo "# skipped: VC_SKIP_CLUSTER=1"; exit 77; }
	echo "VC_TEST_KUBECONFIG is not set: run through tests/run (it starts the host cluster)" >&2
	exit 1
fi
: "${VC_CLI:?VC_CLI must name the vcluster binary}" "${VC_SYNCER_BIN:?}" "${VC_K8S_BINDIR:?}"
KUBECTL=$VC_K8S_BINDIR/kubectl
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vc-clistorage-XXXXXX")
export KUBECONFIG=$WORK/host.kubeconfig
cp "$VC_TEST_KUBECONFIG" "$KUBECONFIG"
chmod 600 "$KUBECONFIG"
LC=(--state-dir "$WORK/state" --bin-dir "$VC_K8S_BINDIR" --syncer "$VC_SYNCER_BIN")
cat >"$WORK/values.yaml" <<EOF
sync:
  toHost:
    storageClasses:
      enabled: true
    persistentVolumes:
      enabled: true
EOF

pass=0 fail=0
ok() { pass=$((pass + 1)); printf 'ok %d - %s\n' "$((pass + fail))" "$*"; }
bad() { fail=$((fail + 1)); printf 'not ok %d - %s\n' "$((pass + fail))" "$*"; }
check() { # description command...
	local d=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi
}
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
absent() { ! K get "$@" >/dev/null 2>&1; }
gone_both() { absent pv "$1" && absent pv "$2"; }
NAMES=()
cleanup() {
	set +e
	for n in "${NAMES[@]}"; do
		if ((fail)); then
			echo "# --- syncer log of $n"
			tail -n 30 "$WORK"/state/*/"$n"/logs/vcluster-syncer.log 2>/dev/null | sed 's/^/# /'
		fi
		"$VC_CLI" delete "$n" -n "ns-$n" "${LC[@]}" >/dev/null 2>&1
		K delete namespace "ns-$n" --wait=false >/dev/null 2>&1
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

# make NAME: a virtual cluster with the storage objects above; prints the
# host volume names "DYNAMIC STANDARD" on success
make_one() {
	local name=$1 ns=ns-$1 vkc=$WORK/$1.kubeconfig
	NAMES+=("$name")
	K create namespace "$ns" >/dev/null
	"$VC_CLI" create "$name" -n "$ns" --driver local "${LC[@]}" -f "$WORK/values.yaml" --connect=false \
		--timeout 180 >"$WORK/create-$name.log" 2>&1 || {
		cat "$WORK/create-$name.log" >&2
		return 1
	}
	"$VC_CLI" connect "$name" -n "$ns" "${LC[@]}" --print >"$vkc"
	local KV=("$KUBECTL" --kubeconfig "$vkc" --request-timeout=20s)
	eventually 60 "${KV[@]}" get serviceaccount default || return 1
	"${KV[@]}" apply -f - >/dev/null <<-EOF
		apiVersion: storage.k8s.io/v1
		kind: StorageClass
		metadata: {name: fast}
		provisioner: libvcluster.dev/hostpath
		volumeBindingMode: Immediate
		---
		apiVersion: v1
		kind: PersistentVolumeClaim
		metadata: {name: fastdata, namespace: default}
		spec: {storageClassName: fast, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
		---
		apiVersion: v1
		kind: PersistentVolumeClaim
		metadata: {name: data, namespace: default}
		spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
		---
		apiVersion: v1
		kind: Pod
		metadata: {name: user, namespace: default}
		spec:
		  containers: [{name: c, image: busybox:1.36, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /data}]}]
		  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
		---
		apiVersion: v1
		kind: PersistentVolume
		metadata: {name: manual}
		spec:
		  hostPath: {path: $WORK/manual-$name, type: DirectoryOrCreate}
		  capacity: {storage: 1Gi}
		  accessModes: [ReadWriteOnce]
		  persistentVolumeReclaimPolicy: Retain
	EOF
	local c
	for c in fastdata data; do
		eventually 120 bash -c "[[ \$('$KUBECTL' -n $ns get pvc $c-x-default-x-$name -o jsonpath='{.status.phase}') == Bound ]]" ||
			{ echo "host claim $c of $name not Bound" >&2; return 1; }
		eventually 60 bash -c "[[ \$('$KUBECTL' --kubeconfig '$vkc' get pvc $c -o jsonpath='{.status.phase}') == Bound ]]" ||
			{ echo "virtual claim $c of $name not Bound" >&2; return 1; }
	done
	eventually 60 bash -c "[[ \$('$KUBECTL' --kubeconfig '$vkc' get pod user -o jsonpath='{.status.phase}') == Running ]]" ||
		{ echo "pod user of $name not Running" >&2; return 1; }
	eventually 30 K get storageclass "vcluster-fast-x-$ns-x-$name" || { echo "host class of $name missing" >&2; return 1; }
	eventually 30 K get pv "vcluster-manual-x-$ns-x-$name" || { echo "host PV of $name missing" >&2; return 1; }
	echo "$(K -n "$ns" get pvc "fastdata-x-default-x-$name" -o jsonpath='{.spec.volumeName}')" \
		"$(K -n "$ns" get pvc "data-x-default-x-$name" -o jsonpath='{.spec.volumeName}')"
}

A=cs$(printf '%x' "$(($(date +%s) % 100000))")a$$
B=${A%a$$}b$$
if vols=$(make_one "$A"); then
	ok "$A: class, claims (Bound inside and on the host), pod Running, PV made inside"
	read -r dynA stdA <<<"$vols"
	t0=$SECONDS
	if "$VC_CLI" delete "$A" -n "ns-$A" "${LC[@]}" --keep-pvc >"$WORK/delete-$A.log" 2>&1; then
		ok "vcluster delete $A --keep-pvc ($((SECONDS - t0)) s)"
	else
		bad "vcluster delete $A --keep-pvc: $(tail -3 "$WORK/delete-$A.log")"
	fi
	for c in fastdata data; do
		check "--keep-pvc: host claim $c kept, Bound" \
			bash -c "[[ \$('$KUBECTL' -n ns-$A get pvc $c-x-default-x-$A -o jsonpath='{.status.phase}') == Bound ]]"
	done
	check "--keep-pvc: their volumes kept ($dynA $stdA)" K get pv "$dynA" "$stdA"
	check "--keep-pvc: the PV made inside kept" K get pv "vcluster-manual-x-ns-$A-x-$A"
	check "--keep-pvc: the host class made from the virtual one deleted" absent storageclass "vcluster-fast-x-ns-$A-x-$A"
	check "--keep-pvc: the pod deleted" eventually 60 bash -c "[[ -z \$('$KUBECTL' -n ns-$A get pods -o name) ]]"
	check "--keep-pvc: the namespace (not made by vcluster) kept" K get namespace "ns-$A"
	K -n "ns-$A" delete pvc --all --wait=false >/dev/null 2>&1 || true
	K delete pv "vcluster-manual-x-ns-$A-x-$A" --wait=false >/dev/null 2>&1 || true
else
	bad "$A: storage objects in place"
fi

if vols=$(make_one "$B"); then
	ok "$B: class, claims, pod, PV made inside"
	read -r dynB stdB <<<"$vols"
	t0=$SECONDS
	if "$VC_CLI" delete "$B" -n "ns-$B" "${LC[@]}" >"$WORK/delete-$B.log" 2>&1; then
		ok "vcluster delete $B ($((SECONDS - t0)) s)"
	else
		bad "vcluster delete $B: $(tail -3 "$WORK/delete-$B.log")"
	fi
	for c in fastdata data; do
		check "plain delete: host claim $c deleted" eventually 60 absent -n "ns-$B" pvc "$c-x-default-x-$B"
	done
	check "plain delete: the provisioner reclaimed their volumes" eventually 60 gone_both "$dynB" "$stdB"
	check "plain delete: the PV made inside deleted" eventually 30 absent pv "vcluster-manual-x-ns-$B-x-$B"
	check "plain delete: the host class deleted" absent storageclass "vcluster-fast-x-ns-$B-x-$B"
else
	bad "$B: storage objects in place"
fi
echo "# $pass passed, $fail failed"
((fail == 0))

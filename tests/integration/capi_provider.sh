#!/usr/bin/env bash
# vcluster-capi-provider (examples/capi-provider) against the kwok host
# cluster (VC_TEST_KUBECONFIG) with Cluster API's own CRDs (tests/cluster/
# capi-crds, from the sigs.k8s.io/cluster-api module) and the provider's CRD
# (examples/capi-provider/config/crd.yaml): a VCluster waits for its Cluster;
# a Cluster referring to it (infrastructureRef and controlPlaneRef) makes it
# deploy: finalizer, host objects, status ready/initialized/Deployed,
# spec.controlPlaneEndpoint from the Service, <cluster>-kubeconfig in Cluster
# API's format; a values change (Kubernetes version too) upgrades the
# StatefulSet and the config Secret (once: no upgrade loop); a bad edit of
# the running VCluster is a condition and changes nothing on the host, and
# its revert upgrades nothing; bad values and a 53-character name end as
# conditions with the config's file:line:col message while the provider
# keeps running; pause/resume by annotation; delete leaves the namespace as
# it was. When Cluster API's core manager is built (tests/cluster/capi-manager,
# cached; $VC_CAPI_MANAGER names another binary) it runs too: the Cluster
# becomes Provisioned and ControlPlaneInitialized by Cluster API itself, owns
# the VCluster, and deleting the Cluster deletes everything. The test never
# builds it (a long cold build): without it those checks are skipped and
# says so (doc/guide.md F10).
# Usage: capi_provider.sh PATH/TO/vcluster-capi-provider
set -euo pipefail
P=${1:?usage: capi_provider.sh VCLUSTER-CAPI-PROVIDER}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [[ -z ${VC_TEST_KUBECONFIG:-} || ! -r ${VC_TEST_KUBECONFIG:-} ]]; then
	[[ ${VC_SKIP_CLUSTER:-} == 1 ]] && { echo "# skipped: VC_SKIP_CLUSTER=1"; exit 77; }
	echo "FAIL: VC_TEST_KUBECONFIG is unset or unreadable (run through tests/run)" >&2
	exit 1
fi
BINDIR=${VC_K8S_BINDIR:-$("${VC_HOSTCLUSTER:-$ROOT/tests/cluster/hostcluster}" bindir)}
K() { "$BINDIR/kubectl" --kubeconfig "$VC_TEST_KUBECONFIG" "$@"; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vc-capi-XXXXXX")
NS=capi-$$ VC=vc1 CL=c1 LONG=$(printf 'l%.0s' {1..53})
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $((pass + fail)) - $*"; }
bad() { fail=$((fail + 1)); echo "not ok $((pass + fail)) - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
# wait_for DESC SECONDS CMD...: poll CMD every second
wait_for() {
	local d=$1 t=$2; shift 2
	for ((i = 0; i < t; i++)); do "$@" >/dev/null 2>&1 && { ok "$d (${i} s)"; return 0; }; sleep 1; done
	bad "$d (not within $t s)"; return 1
}
jp() { K -n "$NS" get "$1" "$2" -o "jsonpath=$3" 2>/dev/null; }
is() { [[ $(jp "$1" "$2" "$3") == "$4" ]]; }
gone() { [[ -z $(K -n "$NS" get "$1" "$2" -o name --ignore-not-found) ]]; }
PPID_= MPID=
cleanup() {
	[[ -n $PPID_ ]] && kill "$PPID_" 2>/dev/null && wait "$PPID_" 2>/dev/null
	[[ -n $MPID ]] && kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
	if [[ $fail != 0 ]]; then
		echo "# provider log:"; sed 's/^/#   /' "$WORK/provider.log" | tail -40
		[[ -s $WORK/capi.log ]] && { echo "# capi-manager log:"; grep -v '^I' "$WORK/capi.log" | sed 's/^/#   /' | tail -20; }
	fi
	# nothing reconciles any more: let the namespace go
	for o in $(K -n "$NS" get clusters.cluster.x-k8s.io,vclusters.infrastructure.cluster.x-k8s.io -o name 2>/dev/null); do
		K -n "$NS" patch "$o" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
	done
	K delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

CRDS=$("$ROOT/tests/cluster/capi-crds")
K apply --server-side --force-conflicts -f "$CRDS" >/dev/null
K apply -f "$ROOT/examples/capi-provider/config/crd.yaml" >/dev/null
K wait --for condition=established --timeout 60s crd/clusters.cluster.x-k8s.io crd/vclusters.infrastructure.cluster.x-k8s.io >/dev/null
ok "Cluster API's CRDs ($(basename "$(dirname "$CRDS")")) and the VCluster CRD are established"
K create namespace "$NS" >/dev/null
sleep 1
K -n "$NS" get all,secrets,configmaps,serviceaccounts,roles,rolebindings,pvc -o name | sort >"$WORK/before"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$P" --kubeconfig "$VC_TEST_KUBECONFIG" --namespace "$NS" --resync-ms 1000 --op-timeout-s 120 \
	--health-addr 127.0.0.1 --health-port "$port" >"$WORK/provider.log" 2>&1 &
PPID_=$!

MGR=${VC_CAPI_MANAGER:-$(dirname "$CRDS")/bin/capi-manager}
if [[ -x $MGR ]]; then
	mkdir -p "$WORK/webhook"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout "$WORK/webhook/tls.key" \
		-out "$WORK/webhook/tls.crt" >/dev/null 2>&1
	free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
	# The manager's cluster cache dials the workload cluster's endpoint, a kwok
	# ClusterIP that routes nowhere here: without a guard it would leave this
	# machine by the default route. A proxy on a closed loopback port refuses
	# every non-loopback connection (Go never proxies loopback, so the host API
	# server on 127.0.0.1 is reached directly).
	HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY= https_proxy= http_proxy= no_proxy= \
	"$MGR" --kubeconfig "$VC_TEST_KUBECONFIG" --namespace "$NS" --leader-elect=false \
		--webhook-port "$(free_port)" --webhook-cert-dir "$WORK/webhook" --health-addr "127.0.0.1:$(free_port)" \
		--diagnostics-address "127.0.0.1:$(free_port)" --insecure-diagnostics >"$WORK/capi.log" 2>&1 &
	MPID=$!
	ok "Cluster API's core manager runs ($MGR)"
else
	echo "# Cluster API's core manager is not built ($MGR; tests/cluster/capi-manager builds it): its checks are skipped"
fi

vcluster() { # NAME VALUES-FILE-OR-EMPTY
	{
		printf 'apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1\nkind: VCluster\nmetadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
		printf 'spec:\n  helmRelease:\n    chart:\n      name: vcluster\n      version: 0.30.0\n    values: |\n'
		sed 's/^/      /' "$2"
	} | K apply -f - >/dev/null
}
cluster() { # NAME VCLUSTER
	cat <<-YAML | K apply -f - >/dev/null
	apiVersion: cluster.x-k8s.io/v1beta2
	kind: Cluster
	metadata: {name: $1, namespace: $NS}
	spec:
	  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: VCluster, name: $2}
	  controlPlaneRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: VCluster, name: $2}
	YAML
}

# kwok nodes: no volumes needed for this test
cat >"$WORK/values.yaml" <<'YAML'
controlPlane:
  statefulSet:
    persistence:
      volumeClaim:
        enabled: false
YAML
vcluster "$VC" "$WORK/values.yaml"
wait_for "without a Cluster the VCluster waits (Ready=False WaitingForCluster)" 60 \
	is vcluster "$VC" '{.status.conditions[?(@.type=="Ready")].reason}' WaitingForCluster
check "... and nothing is deployed, no finalizer" test -z "$(jp statefulset "$VC" '{.metadata.name}')$(jp vcluster "$VC" '{.metadata.finalizers}')"

cluster "$CL" "$VC"
wait_for "with Cluster $CL referring to it the VCluster becomes ready" 180 is vcluster "$VC" '{.status.ready}' true
check "status.initialized, phase Deployed" is vcluster "$VC" '{.status.initialized}/{.status.phase}' true/Deployed
check "status.initialization (v1beta2 contract): provisioned, controlPlaneInitialized" \
	is vcluster "$VC" '{.status.initialization.provisioned}/{.status.initialization.controlPlaneInitialized}' true/true
check "conditions HelmChartDeployed, ControlPlaneInitialized, KubeconfigReady, Ready are True" is vcluster "$VC" \
	'{.status.conditions[?(@.type=="HelmChartDeployed")].status}{.status.conditions[?(@.type=="ControlPlaneInitialized")].status}{.status.conditions[?(@.type=="KubeconfigReady")].status}{.status.conditions[?(@.type=="Ready")].status}' TrueTrueTrueTrue
check "finalizer vcluster.loft.sh/cleanup" is vcluster "$VC" '{.metadata.finalizers[0]}' vcluster.loft.sh/cleanup
check "host objects in $NS: StatefulSet, Services, Secrets vc-$VC and vc-config-$VC" \
	test -n "$(jp statefulset "$VC" '{.metadata.name}')" -a -n "$(jp service "$VC" '{.metadata.name}')" \
	-a -n "$(jp service "$VC-headless" '{.metadata.name}')" -a -n "$(jp secret "vc-$VC" '{.metadata.name}')" \
	-a -n "$(jp secret "vc-config-$VC" '{.metadata.name}')"
ip=$(jp service "$VC" '{.spec.clusterIP}')
check "spec.controlPlaneEndpoint filled from Service $VC ($ip:443)" is vcluster "$VC" '{.spec.controlPlaneEndpoint.host}:{.spec.controlPlaneEndpoint.port}' "$ip:443"
check "Secret $CL-kubeconfig: type cluster.x-k8s.io/secret, label cluster.x-k8s.io/cluster-name=$CL" \
	is secret "$CL-kubeconfig" '{.type}/{.metadata.labels.cluster\.x-k8s\.io/cluster-name}' "cluster.x-k8s.io/secret/$CL"
jp secret "$CL-kubeconfig" '{.data.value}' | base64 -d >"$WORK/vc.kubeconfig" || true
check "its data.value is a kubeconfig kubectl reads, server https://$ip:443" \
	test "$("$BINDIR/kubectl" --kubeconfig "$WORK/vc.kubeconfig" config view --minify -o 'jsonpath={.clusters[0].cluster.server}')" = "https://$ip:443"
check "... with the virtual cluster's CA and a client certificate" \
	test -n "$("$BINDIR/kubectl" --kubeconfig "$WORK/vc.kubeconfig" config view --raw --minify -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}{.users[0].user.client-certificate-data}')"
if [[ -n $MPID ]]; then
	wait_for "Cluster API marks Cluster $CL Provisioned" 180 is clusters.cluster.x-k8s.io "$CL" '{.status.phase}' Provisioned
	wait_for "... ControlPlaneInitialized=True" 120 \
		is clusters.cluster.x-k8s.io "$CL" '{.status.conditions[?(@.type=="ControlPlaneInitialized")].status}' True
	check "... status.initialization.infrastructureProvisioned, controlPlaneInitialized" \
		is clusters.cluster.x-k8s.io "$CL" '{.status.initialization.infrastructureProvisioned}/{.status.initialization.controlPlaneInitialized}' true/true
	check "... copies the endpoint to Cluster.spec.controlPlaneEndpoint" \
		is clusters.cluster.x-k8s.io "$CL" '{.spec.controlPlaneEndpoint.host}:{.spec.controlPlaneEndpoint.port}' "$ip:443"
	check "... and owns the VCluster" grep -qw "$CL" <(jp vcluster "$VC" '{.metadata.ownerReferences[?(@.kind=="Cluster")].name}')
	check "the manager keeps running" kill -0 "$MPID"
fi
check "/healthz answers ok" test "$(curl -s "http://127.0.0.1:$port/healthz")" = ok
check "/metrics counts passes" grep -Eq '^vcluster_capi_reconciles_total [1-9]' <(curl -s "http://127.0.0.1:$port/metrics")

# upgrade: a values change reaches the StatefulSet and the config Secret
gen=$(jp statefulset "$VC" '{.metadata.generation}')
cat >>"$WORK/values.yaml" <<'YAML'
  distro:
    k8s:
      version: v1.36.3
      apiServer:
        extraArgs: ["--v=4"]
YAML
vcluster "$VC" "$WORK/values.yaml"
sts_has() { K -n "$NS" get statefulset "$VC" -o json | grep -q -- "$1"; }
wait_for "a values change upgrades the StatefulSet (--v=4 in its pod template)" 120 sts_has --v=4
check "... and the Kubernetes version (distro.k8s.version v1.36.3: the API server image's tag)" sts_has ':v1.36.3"'
check "... a new StatefulSet generation (was $gen)" test "$(jp statefulset "$VC" '{.metadata.generation}')" -gt "$gen"
check "... and the config Secret holds the new value" grep -q -- '--v=4' <(jp secret "vc-config-$VC" '{.data}' | python3 -c '
import base64, json, sys
for v in json.load(sys.stdin).values(): print(base64.b64decode(v).decode())')
wait_for "ready again after the upgrade" 120 is vcluster "$VC" '{.status.ready}' true
# a bad edit of a running VCluster: a condition; the cluster is left as it runs
gen=$(jp statefulset "$VC" '{.metadata.generation}')
{ cat "$WORK/values.yaml"; printf 'bogus:\n  key: 1\n'; } >"$WORK/bad-edit.yaml"
vcluster "$VC" "$WORK/bad-edit.yaml"
wait_for "a bad edit of the running VCluster: Failed, InvalidValues" 60 \
	is vcluster "$VC" '{.status.phase}/{.status.reason}' Failed/InvalidValues
check "... naming the unknown key" grep -q "spec.helmRelease.values:[0-9]*:[0-9]*: bogus" \
	<<<"$(jp vcluster "$VC" '{.status.message}')"
check "... the StatefulSet untouched (generation $gen, 1 replica)" is statefulset "$VC" '{.metadata.generation}/{.spec.replicas}' "$gen/1"
vcluster "$VC" "$WORK/values.yaml"
wait_for "reverting the edit: Deployed again" 60 is vcluster "$VC" '{.status.phase}/{.status.ready}' Deployed/true
sleep 5
check "one create and one upgrade in all: none for the revert, no loop over idle passes" \
	test "$(grep -c ': creating the virtual cluster' "$WORK/provider.log")/$(grep -c ': upgrading the virtual cluster' "$WORK/provider.log")" = 1/1

# bad specs: conditions with the library's file:line:col message, no crash loop
printf 'sync:\n  toHost:\n    pods:\n      enabled: yes please\n' >"$WORK/bad.yaml"
vcluster bad "$WORK/bad.yaml"
cluster cbad bad
wait_for "bad values: phase Failed" 60 is vcluster bad '{.status.phase}' Failed
msg=$(jp vcluster bad '{.status.conditions[?(@.type=="HelmChartDeployed")].message}')
echo "# $msg"
check "HelmChartDeployed=False InvalidValues, message FILE:LINE:COL: sync.toHost.pods.enabled: ..." \
	grep -Eq "^$NS/bad:spec.helmRelease.values:4:[0-9]+: sync.toHost.pods.enabled: expected a boolean" <<<"$msg"
check "... and status.reason InvalidValues" is vcluster bad '{.status.reason}' InvalidValues
check "... nothing deployed for it" test -z "$(jp statefulset bad '{.metadata.name}')"
: >"$WORK/empty.yaml"
vcluster "$LONG" "$WORK/empty.yaml"
cluster clong "$LONG"
wait_for "a 53-character name: Failed, InvalidName" 60 is vcluster "$LONG" '{.status.phase}/{.status.reason}' Failed/InvalidName
check "the provider still runs, one process (pid $PPID_)" kill -0 "$PPID_"
K -n "$NS" delete vcluster bad "$LONG" --wait=true --timeout 60s >/dev/null
check "the failed VClusters delete at once" test -z "$(K -n "$NS" get vcluster bad "$LONG" -o name --ignore-not-found)"

# pause / resume by annotation
K -n "$NS" annotate vcluster "$VC" vcluster.loft.sh/paused=true >/dev/null
wait_for "annotation vcluster.loft.sh/paused=true scales the control plane to 0" 120 \
	is statefulset "$VC" '{.spec.replicas}' 0
wait_for "... status.ready false, condition Paused True" 60 \
	is vcluster "$VC" '{.status.ready}/{.status.conditions[?(@.type=="Paused")].status}' false/True
check "... status.initialized stays true" is vcluster "$VC" '{.status.initialized}' true
K -n "$NS" annotate vcluster "$VC" vcluster.loft.sh/paused- >/dev/null
wait_for "removing it resumes (1 replica)" 120 is statefulset "$VC" '{.spec.replicas}' 1
wait_for "... and the VCluster is ready again" 120 is vcluster "$VC" '{.status.ready}/{.status.phase}' true/Deployed

# delete: the finalizer runs the library's delete, then goes
if [[ -n $MPID ]]; then
	K -n "$NS" delete clusters.cluster.x-k8s.io "$CL" --wait=false >/dev/null
	wait_for "deleting Cluster $CL: Cluster API deletes the VCluster, the provider's finalizer runs" 180 \
		gone vcluster "$VC"
	wait_for "... and the Cluster goes" 120 gone clusters.cluster.x-k8s.io "$CL"
else
	K -n "$NS" delete vcluster "$VC" --wait=false >/dev/null
	wait_for "deleting the VCluster removes it (finalizer done)" 180 \
		gone vcluster "$VC"
fi
K -n "$NS" delete clusters.cluster.x-k8s.io "$CL" cbad clong --wait=true --timeout 60s --ignore-not-found >/dev/null 2>&1 || true
left() { K -n "$NS" get all,secrets,configmaps,serviceaccounts,roles,rolebindings,pvc -o name | sort >"$WORK/after" && diff "$WORK/before" "$WORK/after"; }
wait_for "nothing of it is left in $NS (as before the test)" 120 left
left | sed 's/^/# /' || true

kill -TERM "$PPID_"
rc=0
wait "$PPID_" || rc=$?
PPID_=
check "SIGTERM stops the provider cleanly (exit $rc)" test "$rc" = 0
if [[ -n $MPID ]]; then
	check "no panic in the manager's log" test -z "$(grep -l 'panic' "$WORK/capi.log")"
	kill "$MPID"; wait "$MPID" 2>/dev/null || true; MPID=
fi
check "no sanitizer report in the provider's log" test -z "$(grep -l 'Sanitizer' "$WORK/provider.log")"
echo "# $pass passed, $fail failed"
[[ $fail == 0 ]]

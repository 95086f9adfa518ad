#!/usr/bin/env bash
# `helm install` of examples/chart into the kwok host cluster
# (VC_TEST_KUBECONFIG): the real API server takes every object; what helm
# installed (`helm get manifest`, the service range looked up from the host's
# ServiceCIDR) equals `vcluster render` against the same host (its range from
# the host's answer to a dry-run Service), object by object; the objects
# exist; `helm uninstall` removes them. Needs a helm binary (VC_HELM, or helm
# on PATH): none is built here (examples/chart/README.md says why), so
# without one the test is skipped, saying so.
# Usage: chart_install.sh PATH/TO/vcluster
set -uo pipefail
V=${1:?usage: chart_install.sh VCLUSTER}
if [[ -z ${VC_TEST_KUBECONFIG:-} || ! -r ${VC_TEST_KUBECONFIG:-} ]]; then
	[[ ${VC_SKIP_CLUSTER:-} == 1 ]] && { echo "# skipped: VC_SKIP_CLUSTER=1"; exit 77; }
	echo "FAIL: VC_TEST_KUBECONFIG is unset or unreadable (run through tests/run)" >&2
	exit 1
fi
HELM=${VC_HELM:-$(command -v helm || true)}
[[ -n $HELM ]] || { echo "# skipped: no helm (VC_HELM unset, none on PATH)"; exit 77; }
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HC=${VC_HOSTCLUSTER:-$SRC/tests/cluster/hostcluster}
KUBECTL=$("$HC" bindir)/kubectl
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vc-chart-XXXXXX")
export KUBECONFIG=$VC_TEST_KUBECONFIG HELM_CACHE_HOME=$WORK/cache HELM_CONFIG_HOME=$WORK/config \
	HELM_DATA_HOME=$WORK/data ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
N=chart-$$ NS=vc-chart-$$
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $((pass + fail)) - $*"; }
bad() { fail=$((fail + 1)); echo "not ok $((pass + fail)) - $*"; }
cleanup() {
	"$HELM" uninstall "$N" -n "$NS" >/dev/null 2>&1
	"$KUBECTL" delete namespace "$NS" --wait=false >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
echo "# helm: $HELM ($("$HELM" version --short 2>/dev/null))"

values=$WORK/values.yaml
printf 'sync:\n  toHost:\n    ingresses:\n      enabled: true\n' >"$values"
if "$HELM" install "$N" "$SRC/examples/chart" -n "$NS" --create-namespace -f "$values" >"$WORK/out" 2>&1; then
	ok "helm install $N -n $NS (ingresses on)"
else
	bad "helm install: $(cat "$WORK/out")"
fi
"$HELM" get manifest "$N" -n "$NS" >"$WORK/helm.yaml" 2>"$WORK/err" || bad "helm get manifest: $(cat "$WORK/err")"
if "$V" render "$N" -n "$NS" -f "$values" >"$WORK/render.yaml" 2>"$WORK/err"; then
	ok "vcluster render $N -n $NS against the same host"
else
	bad "vcluster render: $(cat "$WORK/err")"
fi
cidr=$("$KUBECTL" get servicecidr kubernetes -o jsonpath='{.spec.cidrs[0]}' 2>/dev/null)
if [[ -n $cidr ]] && grep -q -- "--service-cluster-ip-range=$cidr\"" "$WORK/helm.yaml"; then
	ok "the chart looked the range up: $cidr (ServiceCIDR kubernetes)"
	[[ $cidr != 10.96.0.0/12 ]] || echo "# (that is also the chart's fallback: a host started with" \
		"hostcluster up --service-cidr 10.100.0.0/16 tells a lookup from the fallback)"
else
	bad "the installed StatefulSet does not have the host's range '$cidr'"
fi
if python3 - "$WORK/helm.yaml" "$WORK/render.yaml" "$NS" <<'EOF'
import sys, yaml
def objs(p, ns):
    out = {}
    for d in yaml.safe_load_all(open(p)):
        if d and not (d["kind"] == "Namespace" and d["metadata"]["name"] == ns):
            out[(d["kind"], d["metadata"]["name"])] = d
    return out
h, r = objs(sys.argv[1], sys.argv[3]), objs(sys.argv[2], sys.argv[3])
if h != r:
    print("# differ:", sorted(set(h) ^ set(r)), [k for k in h if k in r and h[k] != r[k]])
    sys.exit(1)
print(f"# {len(h)} objects")
EOF
then
	ok "helm's installed manifest == vcluster render (object by object)"
else
	bad "helm's installed manifest differs from vcluster render"
fi
for o in statefulset/"$N" service/"$N" service/"$N"-headless secret/vc-config-"$N" serviceaccount/vc-"$N" \
	serviceaccount/vc-workload-"$N" role/vc-"$N" rolebinding/vc-"$N"; do
	if "$KUBECTL" get -n "$NS" "$o" -o name >/dev/null 2>&1; then ok "$o exists"; else bad "$o missing"; fi
done
if "$KUBECTL" get role -n "$NS" vc-"$N" -o jsonpath='{.rules[*].resources}' | grep -q ingresses; then
	ok "the Role has the ingresses rule (sync.toHost.ingresses.enabled)"
else
	bad "the Role has no ingresses rule"
fi
if "$HELM" uninstall "$N" -n "$NS" >"$WORK/out" 2>&1 &&
	! "$KUBECTL" get -n "$NS" statefulset/"$N" service/"$N" secret/vc-config-"$N" -o name 2>/dev/null | grep -q .; then
	ok "helm uninstall removes them"
else
	bad "helm uninstall: $(cat "$WORK/out")"
fi
echo "$pass passed, $fail failed"
[[ $fail == 0 ]]

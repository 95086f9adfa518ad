#!/usr/bin/env bash
# Upstream vcluster's CLI habits against the kwok host cluster
# (VC_TEST_KUBECONFIG), local driver: every flag that issue 17 item 1 added
# or changed, with its exit code, its effect on the kubeconfig and the host,
# and the JSON fields of list and describe. Kubernetes binaries come from the
# cache tests/cluster/hostcluster builds into (~/.cache/libvcluster/bin/
# VERSION): no --bin-dir, no VC_K8S_BINDIR, when the harness uses that cache.
# Usage: cli_upstream.sh PATH/TO/vcluster
set -uo pipefail
V=${1:?usage: cli_upstream.sh VCLUSTER}
V=$(cd "$(dirname "$V")" && pwd)/$(basename "$V")
if [[ -z ${VC_TEST_KUBECONFIG:-} || ! -r ${VC_TEST_KUBECONFIG:-} ]]; then
	[[ ${VC_SKIP_CLUSTER:-} == 1 ]] && { echo "# skipped: VC_SKIP_CLUSTER=1"; exit 77; }
	echo "FAIL: VC_TEST_KUBECONFIG is unset or unreadable (run through tests/run)" >&2
	exit 1
fi
HC=${VC_HOSTCLUSTER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../cluster" && pwd)/hostcluster}
BINDIR=$("$HC" bindir)
KUBECTL=$BINDIR/kubectl
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vc-cliup-XXXXXX")
export KUBECONFIG=$WORK/kubeconfig XDG_STATE_HOME=$WORK/state
cp "$VC_TEST_KUBECONFIG" "$KUBECONFIG"
HOSTCTX=$(awk '/^current-context:/ {print $2}' "$KUBECONFIG")
# the cache default: only when the harness's binaries are in it
case $BINDIR in
"${XDG_CACHE_HOME:-$HOME/.cache}"/libvcluster/bin/*) unset VC_K8S_BINDIR; FROM_CACHE=1 ;;
*) export VC_K8S_BINDIR=$BINDIR; FROM_CACHE=0 ;;
esac
cd "$WORK" || exit 1
N=up-$$ N4=upn-$$ N5=upk-$$ KEEP=keep-$$
CTX=vcluster_${N}_vcluster-${N}_$HOSTCTX
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $((pass + fail)) - $*"; }
bad() { fail=$((fail + 1)); echo "not ok $((pass + fail)) - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
current() { awk '/^current-context:/ {print $2}' "$KUBECONFIG"; }
# run: rc, out and err of one command
run() { "$@" >"$WORK/out" 2>"$WORK/err"; rc=$?; }
hostk() { "$KUBECTL" --kubeconfig "$VC_TEST_KUBECONFIG" "$@"; }
cleanup() {
	for n in "$N" "$N4" "$N5"; do "$V" delete "$n" --ignore-not-found --timeout 60 >/dev/null 2>&1; done
	hostk delete ns "$KEEP" "vcluster-$N5" --ignore-not-found --wait=false >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
json() { python3 -c "import json,sys; d=json.load(open('$WORK/out')); sys.exit(0 if ($1) else 1)"; }

# ---- global flags ----
run "$V" --log-output bogus list
check "--log-output bogus exits 2" test "$rc" = 2
run "$V" --log-output=json rm "nope-$$" --ignore-not-found
check "--log-output=json: rm --ignore-not-found exits 0" test "$rc" = 0
check "... every stderr line is a JSON object with level, time, msg" python3 -c '
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
ok = bool(lines) and all({"level", "time", "msg"} <= set(json.loads(l)) for l in lines)
sys.exit(0 if ok else 1)' "$WORK/err"
run "$V" --context "$HOSTCTX" -n nowhere-$$ list -o json
check "--context and -n before the command (exit 0, nothing in that namespace)" \
	sh -c 'test "$1" = 0 && python3 -c "import json,sys; sys.exit(0 if json.load(open(sys.argv[1])) == [] else 1)" "$2"' _ "$rc" "$WORK/out"

# ---- create ----
cat >"$WORK/values.yaml" <<'EOF'
controlPlane:
  service:
    spec:
      type: ClusterIP
EOF
run "$V" create "$N" --driver local -s -f "$WORK/values.yaml" --set controlPlane.service.spec.type=NodePort \
	--connect=false --timeout 180
check "create --driver local -s -f --set --connect=false exits 0 (binaries from the cache: $FROM_CACHE)" test "$rc" = 0
check "... -s: nothing on stderr" test ! -s "$WORK/err"
check "... --connect=false: the kube context stays" test "$(current)" = "$HOSTCTX"
run "$V" describe "$N" --config-only
check "--set wins over -f (describe --config-only shows type: NodePort)" grep -q "type: NodePort" "$WORK/out"
run "$V" create "$N" --connect=false
check "create of an existing cluster with --connect=false exits 1" test "$rc" = 1
check "... saying it exists" grep -q "already exists" "$WORK/err"
run "$V" create "$N" --chart-version 0.0.1
check "create of an existing cluster connects (exit 0)" test "$rc" = 0
check "... and switches to $CTX" test "$(current)" = "$CTX"
check "... --chart-version of another version warns" grep -q -- "--chart-version 0.0.1" "$WORK/err"
run "$V" create "$N" --set no.such.key=1
check "--set of an unknown key exits 1 naming the key" sh -c 'test "$1" = 1 && grep -q "no.such.key=1: no: unknown key" "$2"' _ "$rc" "$WORK/err"
run "$V" create "$N" --set novalue
check "--set without = exits 2" test "$rc" = 2
run "$V" create "$N" --driver local --kubernetes-version v1.30.0
check "--kubernetes-version with the local driver exits 2" test "$rc" = 2
run "$V" create "x$N" --driver local -n "absent-$$" --create-namespace=false --connect=false
check "--create-namespace=false with a missing namespace exits 1" test "$rc" = 1
check "... naming it" grep -q "absent-$$ does not exist" "$WORK/err"

# ---- list / describe ----
run "$V" list -o json
check "list -o json exits 0" test "$rc" = 0
check "... upstream's fields (Name Namespace Status Created AgeSeconds Version Connected)" json "
[x for x in d if x['Name'] == '$N' and x['Namespace'] == 'vcluster-$N' and x['Status'] == 'Running'
 and isinstance(x['AgeSeconds'], int) and x['Created'].endswith('Z') and x['Version'].startswith('v')
 and x['Connected'] is True]"
run "$V" describe "$N" -o json
check "describe -o json exits 0" test "$rc" = 0
check "... name, namespace, version, backingStore, status, created, imageTags, userConfigYaml" json "
d['name'] == '$N' and d['namespace'] == 'vcluster-$N' and d['backingStore'] == 'embedded-database'
 and d['status'] == 'Running' and d['version'].startswith('v') and d['created'].endswith('Z')
 and isinstance(d['imageTags'], dict) and 'NodePort' in d['userConfigYaml'] and d['driver'] == 'local'"
run "$V" describe "$N" -o yaml
check "describe -o yaml parses, same name and status" python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
sys.exit(0 if d["name"] == sys.argv[2] and d["status"] == "Running" and "controlPlane" in d["userConfigYaml"] else 1)' \
	"$WORK/out" "$N"
run "$V" describe "$N"
check "describe (text): Name, Namespace, Version, Backing Store, Created, Status" sh -c \
	'for f in Name Namespace Version "Backing Store" Created Status; do grep -q "^$f: " "$1" || exit 1; done' _ "$WORK/out"
run "$V" describe "nope-$$"
check "describe of a missing cluster exits 1" test "$rc" = 1
check "... without --debug: no status code" sh -c '! grep -q "(status " "$1"' _ "$WORK/err"
run "$V" describe "nope-$$" --debug
check "--debug (after the command too) adds the status code" \
	sh -c 'test "$1" = 1 && grep -q "(status -[0-9]* not found, HTTP " "$2"' _ "$rc" "$WORK/err"
run "$V" describe "$N" -o xml
check "describe -o xml exits 2" test "$rc" = 2
run "$V" list -o json --driver local
check "list --driver local lists it" json "[x for x in d if x['Name'] == '$N']"
run "$V" list -o json --driver helm
check "list --driver helm (kubernetes) does not" json "not [x for x in d if x['Name'] == '$N']"
run "$V" describe "$N" --driver kubernetes
check "describe --driver kubernetes of a local cluster exits 1 naming its driver" \
	sh -c 'test "$1" = 1 && grep -q "runs with the local driver" "$2"' _ "$rc" "$WORK/err"
run "$V" list --driver docker
check "--driver docker exits 2" test "$rc" = 2

# ---- connect / disconnect ----
run "$V" disconnect
check "disconnect exits 0 and restores the host context" sh -c 'test "$1" = 0 && test "$2" = "$3"' _ "$rc" "$(current)" "$HOSTCTX"
run "$V" connect "$N" --print
check "connect --print: a kubeconfig on stdout" sh -c 'test "$1" = 0 && grep -q "^current-context: $2" "$3" && grep -q "^kind: Config" "$3"' \
	_ "$rc" "$CTX" "$WORK/out"
check "... the kubeconfig file is unchanged" test "$(current)" = "$HOSTCTX"
run "$V" connect "$N" --update-current=false
check "connect --update-current=false writes ./kubeconfig.yaml" grep -q "^current-context: $CTX" "$WORK/kubeconfig.yaml"
check "... does not say Switched" sh -c '! grep -qi "switched" "$1"' _ "$WORK/err"
check "... and switches nothing" test "$(current)" = "$HOSTCTX"
run "$V" connect "$N" --update-current=false --kube-config "$WORK/other.yaml"
check "--kube-config PATH" grep -q "^current-context: $CTX" "$WORK/other.yaml"
check "kubectl reaches the virtual cluster through that file" sh -c '"$1" --kubeconfig "$2" get ns default >/dev/null' _ "$KUBECTL" "$WORK/other.yaml"
run "$V" connect "$N" --update-current=false --insecure --kube-config "$WORK/insecure.yaml"
check "connect --insecure: insecure-skip-tls-verify instead of the CA" \
	sh -c 'grep -q "insecure-skip-tls-verify: true" "$1" && ! grep -q "certificate-authority-data" "$1"' _ "$WORK/insecure.yaml"
check "... and kubectl reaches the virtual cluster with it" sh -c '"$1" --kubeconfig "$2" get ns default >/dev/null' \
	_ "$KUBECTL" "$WORK/insecure.yaml"
run "$V" connect "$N" --kube-config-context-name "my-$$"
check "connect --kube-config-context-name: current-context my-$$" test "$(current)" = "my-$$"
check "kubectl --context my-$$ reaches the virtual cluster" sh -c '"$1" --context "$2" get ns kube-system >/dev/null' _ "$KUBECTL" "my-$$"
"$V" disconnect >/dev/null 2>&1
run "$V" create "$N" --print
check "create --print of an existing cluster: its kubeconfig on stdout, nothing switched" \
	sh -c 'test "$1" = 0 && grep -q "^kind: Config" "$2" && test "$3" = "$4"' _ "$rc" "$WORK/out" "$(current)" "$HOSTCTX"

# ---- render (the host manifests create --print used to print) ----
run "$V" render "r-$$" --set controlPlane.service.spec.type=NodePort
check "render NAME exits 0 with host manifests" sh -c 'test "$1" = 0 && grep -q "^kind: StatefulSet" "$2" && grep -q "type: NodePort" "$2"' \
	_ "$rc" "$WORK/out"
run "$V" list -o json
check "... and creates nothing" json "not [x for x in d if x['Name'] == 'r-$$']"

# ---- pause / resume, idempotent, aliases ----
run "$V" pause "$N" --timeout 120
check "pause exits 0" test "$rc" = 0
run "$V" sleep "$N" --timeout 60
check "sleep (pause) of a paused cluster exits 0" test "$rc" = 0
run "$V" wakeup "$N" --timeout 120
check "wakeup (resume) exits 0" test "$rc" = 0
run "$V" resume "$N" --timeout 60
check "resume of a running cluster exits 0" test "$rc" = 0
"$V" pause "$N" --timeout 120 >/dev/null 2>&1
run "$V" connect "$N" --print --timeout 120
check "connect of a paused cluster resumes it (as upstream) and prints its kubeconfig" \
	sh -c 'test "$1" = 0 && grep -q "^kind: Config" "$2" && grep -q "Resume vcluster" "$3"' _ "$rc" "$WORK/out" "$WORK/err"
run "$V" list -o json
check "... Running again" json "[x for x in d if x['Name'] == '$N' and x['Status'] == 'Running']"
run "$V" list
check "list (table): upstream's six columns first" \
	sh -c 'head -1 "$1" | grep -Eq "^NAME +NAMESPACE +STATUS +VERSION +CONNECTED +AGE +DRIVER"' _ "$WORK/out"

# ---- delete flags ----
run "$V" delete "nope-$$" --ignore-not-found
check "delete --ignore-not-found of a missing cluster exits 0" test "$rc" = 0
run "$V" rm "nope-$$"
check "rm of a missing cluster exits 1" test "$rc" = 1
"$V" connect "$N" >/dev/null 2>&1
run "$V" delete "$N" --wait=false --timeout 120
check "delete --wait=false exits 0" test "$rc" = 0
check "... the namespace vcluster made is deleted (or going)" sh -c \
	'! "$1" --kubeconfig "$2" get ns "$3" -o jsonpath="{.status.phase}" 2>/dev/null | grep -q Active' _ "$KUBECTL" "$VC_TEST_KUBECONFIG" "vcluster-$N"
check "... its context is gone (--delete-context defaults to true)" sh -c '! grep -q "name: $1\$" "$2"' _ "$CTX" "$KUBECONFIG"

hostk create ns "$KEEP" >/dev/null
if "$V" create "$N4" --driver local -n "$KEEP" --connect=false --timeout 180 >/dev/null 2>&1; then
	run "$V" delete "$N4" --delete-namespace --timeout 120
	check "delete --delete-namespace exits 0" test "$rc" = 0
	check "... and removes a namespace vcluster did not create (waiting for it)" sh -c \
		'! "$1" --kubeconfig "$2" get ns "$3" >/dev/null 2>&1' _ "$KUBECTL" "$VC_TEST_KUBECONFIG" "$KEEP"
else
	bad "create $N4 -n $KEEP"
fi
if "$V" create "$N5" --driver local >/dev/null 2>&1; then
	CTX5=vcluster_${N5}_vcluster-${N5}_$HOSTCTX
	"$V" disconnect >/dev/null 2>&1
	run "$V" delete "$N5" --auto-delete-namespace=false --delete-context=false --timeout 120
	check "delete --auto-delete-namespace=false --delete-context=false exits 0" test "$rc" = 0
	check "... keeps the namespace vcluster created" sh -c '"$1" --kubeconfig "$2" get ns "$3" >/dev/null' _ "$KUBECTL" "$VC_TEST_KUBECONFIG" "vcluster-$N5"
	check "... keeps the context" grep -q "name: $CTX5\$" "$KUBECONFIG"
else
	bad "create $N5"
fi

# ---- completion ----
PATH=$(dirname "$V"):$PATH
"$V" completion bash >"$WORK/c.bash"
check "completion bash parses (bash -n)" bash -n "$WORK/c.bash"
check "... completes 'de' to delete and describe" bash -c 'source "$1"; COMP_WORDS=(vcluster de); COMP_CWORD=1; _vcluster;
	[[ " ${COMPREPLY[*]} " == *" delete "* && " ${COMPREPLY[*]} " == *" describe "* ]]' _ "$WORK/c.bash"
check "... completes 'delete --auto' to --auto-delete-namespace" bash -c 'source "$1"; COMP_WORDS=(vcluster delete --auto); COMP_CWORD=2; _vcluster;
	[[ " ${COMPREPLY[*]} " == *" --auto-delete-namespace "* ]]' _ "$WORK/c.bash"
"$V" completion zsh >"$WORK/c.zsh"
if command -v zsh >/dev/null; then check "completion zsh parses (zsh -n)" zsh -n "$WORK/c.zsh"; else echo "# skipped: no zsh"; fi
"$V" completion fish >"$WORK/c.fish"
if command -v fish >/dev/null; then
	check "completion fish parses (fish -n)" fish -n "$WORK/c.fish"
	check "... completes 'vcluster wak' to wakeup" sh -c 'fish -c "source $1; complete -C \"vcluster wak\"" 2>&1 | grep -q "^wakeup"' _ "$WORK/c.fish"
	check "... without errors" sh -c '! fish -c "source $1; complete -C \"vcluster delete \"" 2>&1 | grep -q "fish:"' _ "$WORK/c.fish"
	check "... completes 'vcluster create --kube' to --kube-config-context-name" sh -c \
		'fish -c "source $1; complete -C \"vcluster create --kube\"" | grep -q -- "^--kube-config-context-name"' _ "$WORK/c.fish"
else
	echo "# skipped: no fish"
fi
run "$V" completion tcsh
check "completion tcsh exits 2" test "$rc" = 2

echo "# $pass passed, $fail failed"
((fail == 0))

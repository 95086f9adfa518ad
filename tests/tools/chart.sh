#!/usr/bin/env bash
# meson test 'chart' (suite unit): examples/chart renders what `vcluster
# render` renders (tests/tools/chart_test.py), through
#  - helm itself (`helm template`) when one is at hand: VC_HELM, or helm on
#    PATH. None is built here: helm from the Go module proxy took longer than
#    the 3 minutes this test may cost cold (examples/chart/README.md);
#  - always, tests/tools/chartrender: Helm's template engine (Go
#    text/template + sprig v3, Helm's include/required/fail/lookup), built
#    here from the Go module proxy (a few small modules, cached).
# Usage: chart.sh VCLUSTER_CLI (meson sets VC_SOURCE_ROOT, VC_BUILD_ROOT)
set -euo pipefail
SRC=${VC_SOURCE_ROOT:?}
BUILD=${VC_BUILD_ROOT:?}
CLI=${1:?usage: chart.sh VCLUSTER_CLI}
command -v go >/dev/null || { echo "FAIL: go is not on PATH (Go >= 1.24)" >&2; exit 1; }
python3 -c 'import yaml' 2>/dev/null || { echo "FAIL: PyYAML is needed (tests/install-deps)" >&2; exit 1; }
# the sanitized CLI: leaks are the C suites' business, not this comparison's
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
mkdir -p "$BUILD/tests"
(cd "$SRC/tests/tools/chartrender" && GOFLAGS=-mod=readonly GOWORK=off CGO_ENABLED=0 \
  go build -trimpath -o "$BUILD/tests/chartrender" .)
renderers=("chartrender:$BUILD/tests/chartrender")
helm=${VC_HELM:-$(command -v helm || true)}
if [[ -n $helm ]]; then
  echo "# helm: $helm ($("$helm" version --short 2>/dev/null || echo '?'))"
  renderers+=("helm:$helm")
else
  echo "# no helm (VC_HELM unset, none on PATH): Helm's engine alone (chartrender)"
fi
exec python3 "$SRC/tests/tools/chart_test.py" "$CLI" "$SRC/examples/chart" "${renderers[@]}"

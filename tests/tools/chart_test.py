#!/usr/bin/env python3
"""The Helm chart in examples/chart renders what `vcluster render` renders.

usage: chart_test.py VCLUSTER_CLI CHART_DIR RENDERER [RENDERER...]

RENDERER is `helm` (a helm binary: `helm template`) or the chartrender tool
(tests/tools/chartrender: Helm's engine, text/template + sprig, without the
rest of helm); `kind:path` with kind helm or chartrender. For every values
variant the chart was generated for (examples/chart/variants.json) and two
release names/namespaces, the chart's output and `vcluster render NAME -n NS
-f values` are parsed and compared object by object (keyed by apiVersion,
kind, namespace and name; the Namespace object render prints is left out:
with Helm the release namespace is helm's, `--create-namespace`). Then: a
value the chart does not support fails the render, naming the supported keys,
and so do both stores at once (as `vcluster render` fails).
The render runs against a host that refuses at once (as generate.py does):
both then use the fallback service range.
"""
import difflib
import json
import os
import subprocess
import sys
import tempfile

import yaml

NAMES = [("my-vc", "team-a"), ("vc2", "vcluster-vc2")]


def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return r.returncode, r.stdout, r.stderr


def objects(text, drop_ns=None):
    out = {}
    for d in yaml.safe_load_all(text):
        if d is None:
            continue
        md = d.get("metadata", {})
        if d.get("kind") == "Namespace" and md.get("name") == drop_ns:
            continue
        key = (d.get("apiVersion"), d.get("kind"), md.get("namespace"), md.get("name"))
        if key in out:
            raise AssertionError(f"{key} twice")
        out[key] = d
    return out


def main():
    cli, chart, renderers = sys.argv[1], sys.argv[2], sys.argv[3:]
    variants = json.load(open(os.path.join(chart, "variants.json"), encoding="utf-8"))
    passed = failed = 0

    def check(ok, what, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok {passed + failed} - {what}")
        else:
            failed += 1
            print(f"not ok {passed + failed} - {what}\n{detail}")

    with tempfile.TemporaryDirectory() as tmp:
        kc = os.path.join(tmp, "nohost.kubeconfig")
        with open(kc, "w", encoding="utf-8") as f:
            f.write("apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster:\n    server: https://127.0.0.1:9\n"
                    "contexts:\n- name: x\n  context:\n    cluster: x\n    user: x\ncurrent-context: x\n"
                    "users:\n- name: x\n  user:\n    token: x\n")
        env = dict(os.environ, KUBECONFIG=kc)

        def chart_cmd(r, name, ns, vargs):
            kind, path = r.split(":", 1)
            if kind == "helm":
                return [path, "template", name, chart, "--namespace", ns, *vargs]
            return [path, chart, name, ns, *vargs]

        for i, v in enumerate(variants):
            path = os.path.join(tmp, f"v{i}.yaml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(v["values"], f)
            # the default variant with no -f at all: the chart's values.yaml alone
            vargs = [] if i == 0 else ["-f", path]
            for name, ns in NAMES:
                rc, want_text, err = run([cli, "render", name, "-n", ns, *vargs], env)
                if rc != 0:
                    check(False, f"vcluster render {name} ({v['variant']})", err)
                    continue
                want = objects(want_text, drop_ns=ns)
                for r in renderers:
                    what = f"{r.split(':')[0]} == vcluster render: {v['variant']}, {name} -n {ns} ({len(want)} objects)"
                    rc, got_text, err = run(chart_cmd(r, name, ns, vargs))
                    if rc != 0:
                        check(False, what, err)
                        continue
                    got = objects(got_text)
                    if got == want:
                        check(True, what)
                        continue
                    detail = [f"only in the chart: {sorted(set(got) - set(want))}",
                              f"only in the render: {sorted(set(want) - set(got))}"]
                    for k in sorted(set(got) & set(want)):
                        if got[k] != want[k]:
                            a = yaml.safe_dump(want[k], sort_keys=True).splitlines()
                            b = yaml.safe_dump(got[k], sort_keys=True).splitlines()
                            detail.extend(difflib.unified_diff(a, b, "render", "chart", lineterm="", n=2))
                    check(False, what, "\n".join(detail))

        # values the chart was not generated for: an error naming what it supports
        bad = os.path.join(tmp, "bad.yaml")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("controlPlane:\n  service:\n    spec:\n      type: NodePort\n")
        both = os.path.join(tmp, "both.yaml")
        with open(both, "w", encoding="utf-8") as f:
            f.write("controlPlane:\n  backingStore:\n    database:\n      embedded:\n        enabled: true\n"
                    "    etcd:\n      embedded:\n        enabled: true\n")
        rc_both, _, _ = run([cli, "render", "x", "-n", "y", "-f", both], env)
        check(rc_both != 0, "vcluster render fails with both embedded stores")
        for r in renderers:
            rc, out, err = run(chart_cmd(r, "x", "y", ["-f", bad]))
            check(rc != 0 and "sync.toHost.ingresses.enabled" in err and "vcluster render x -n y" in err
                  and "NodePort" in err,
                  f"{r.split(':')[0]}: an unsupported value fails, naming the supported keys",
                  f"rc={rc} stderr={err[-400:]} stdout={out[:200]}")
            rc, out, err = run(chart_cmd(r, "x", "y", ["-f", both]))
            check(rc != 0, f"{r.split(':')[0]}: both embedded stores fail as in vcluster render", out[:200])
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The `vcluster translate` command: output, notes, exit statuses, no partial
output on bad input. Usage: cli_test.py VCLUSTER_BINARY"""
import json
import subprocess
import sys

BIN = sys.argv[1]
failures = 0


def run(args, stdin=""):
    p = subprocess.run([BIN] + args, input=stdin, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    global failures
    if cond:
        print(f"ok - {name}")
    else:
        failures += 1
        print(f"not ok - {name}\n{detail}")


POD = """apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: nginx
"""

rc, out, err = run(["translate", "-f", "-", "--name", "my-vcluster", "--kube-ip", "10.96.0.1",
                    "--dns-ip", "10.96.0.10"], POD)
check("yaml: exit 0", rc == 0, err)
check("yaml: host name", "name: web-x-default-x-my-vcluster" in out, out)
check("yaml: workload SA", "serviceAccountName: vc-workload-my-vcluster" in out, out)
check("yaml: DNS", "- default.svc.cluster.local" in out, out)

rc, out, err = run(["translate", "-f", "-", "--name", "vc", "-o", "json"], POD + "---\n" + POD.replace("web", "api"))
check("json list: exit 0", rc == 0, err)
doc = json.loads(out)
check("json list: two objects", isinstance(doc, list) and len(doc) == 2, out)
check("json list: preview placeholders", doc[0]["spec"]["hostAliases"][-1]["ip"] == "<kube-ip>", out)

rc, out, err = run(["translate", "-f", "-", "--name", "vc", "--strict"], POD)
check("strict: exit 1 without IPs", rc == 1 and out == "", out + err)

rc, out, err = run(["translate", "-f", "-", "--name", "vc"],
                   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n")
check("notes: stderr, empty stdout", rc == 0 and out == "" and "Deployment" in err, out + err)

BAD = POD + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    n: 3\n"
rc, out, err = run(["translate", "-f", "-", "--name", "vc"], BAD)
check("bad input: exit 1", rc == 1, err)
check("bad input: no partial output", out == "", out)
check("bad input: file:line:col: field: problem",
      err.strip() == "<stdin>:15:8: metadata.labels.n: must be a string", repr(err))

rc, out, err = run(["translate", "--name", "vc"])
check("usage: exit 2", rc == 2, err)
rc, out, err = run(["translate", "--help"])
check("help: exit 0", rc == 0 and "--host-namespace" in out, out)
rc, out, err = run(["--help"])
check("top help lists translate", rc == 0 and "translate" in out and "version" in out, out)
rc, out, err = run(["version"])
check("version", rc == 0 and out.startswith("vcluster "), out)
rc, out, err = run(["nope"])
check("unknown command: exit 2", rc == 2, err)

# --timeout is whole seconds from 1 to a week: anything else is a usage error
# before any cluster is contacted (atoi took "abc" as the default and "-1" as
# no timeout at all)
for cmd in (["create", "x"], ["delete", "x"], ["pause", "x"], ["connect", "x"]):
    for bad in ("abc", "-1", "0", "1.5", "99999999", ""):
        rc, out, err = run(cmd + ["--timeout", bad, "--kubeconfig", "/nonexistent"])
        check(f"{cmd[0]} --timeout {bad!r}: exit 2 with the reason",
              rc == 2 and "--timeout" in err and "not a number of seconds" in err, repr((rc, err)))
rc, out, err = run(["delete", "x", "--timeout", "A" * 100000, "--kubeconfig", "/nonexistent"])
check("a huge --timeout value is not echoed whole", rc == 2 and len(err) < 200, len(err))
rc, out, err = run(["delete", "x", "--timeout", "30", "--kubeconfig", "/nonexistent"])
check("--timeout 30 is accepted (then the missing kubeconfig fails)", rc == 1 and "/nonexistent" in err, err)

# inputs are bounded (issue 19 item 4): /dev/zero is refused with the limit,
# not read until memory runs out
rc, out, err = run(["translate", "-f", "/dev/zero", "--name", "x"])
check("translate -f /dev/zero: refused at 64 MiB", rc == 1 and "limit for manifests" in err, repr((rc, err[:300])))
rc, out, err = run(["translate", "-f", "/nonexistent", "--name", "x"])
check("translate -f a missing file: the reason", rc == 1 and "No such file" in err, repr((rc, err[:300])))
for verb in ("create", "render"):
    rc, out, err = run([verb, "x", "-f", "/dev/zero", "--kubeconfig", "/nonexistent"])
    check(f"{verb} -f /dev/zero: refused at 16 MiB", rc != 0 and "16 MiB" in err, repr((rc, err[:300])))

# the virtual scheduler with the kubernetes driver (issue 13 item 5): the
# StatefulSet gets a kube-scheduler container running the binary of the k8s
# image, and the ClusterRole lets the syncer read and patch host nodes
import os
import tempfile
with tempfile.TemporaryDirectory() as d:
    kc = os.path.join(d, "kubeconfig")
    with open(kc, "w") as f:
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n"
                "users: [{name: u, user: {token: t}}]\n"
                "contexts: [{name: c, context: {cluster: c, user: u}}]\n")
    vals = os.path.join(d, "values.yaml")
    with open(vals, "w") as f:
        f.write("controlPlane:\n  advanced:\n    virtualScheduler:\n      enabled: true\n"
                "sync:\n  fromHost:\n    nodes:\n      enabled: true\n      syncBackChanges: true\n")
    rc, out, err = run(["render", "vs", "-f", vals, "--kubeconfig", kc])
    check("render with virtualScheduler: a kube-scheduler container from the k8s image",
          rc == 0 and "- name: kube-scheduler" in out and "- /kubernetes/kube-scheduler" in out
          and "--kubeconfig=/pki/scheduler.conf" in out and "image: ghcr.io/loft-sh/kubernetes:" in out,
          repr((rc, err[:300])))
    check("render with real nodes: the ClusterRole reads and patches nodes",
          "- nodes/status" in out and "- patch" in out, repr(out[:300]))
    rc, out, err = run(["render", "vs", "--kubeconfig", kc])
    check("render by default: no kube-scheduler container", rc == 0 and "kube-scheduler" not in out,
          repr((rc, err[:300])))

print(f"# cli: {failures} failed")
sys.exit(1 if failures else 0)

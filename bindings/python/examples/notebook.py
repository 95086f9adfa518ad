# %% [markdown]
# # libvcluster from Python: a notebook-style tour
#
# Run it whole (`python3 bindings/python/examples/notebook.py`) or cell by cell
# (`# %%` cells work in VS Code, Jupyter via jupytext, Spyder). It needs the
# `vcluster` package (`pip install ./bindings/python`, see doc/bindings.md).
#
# Environment:
# - `KUBECONFIG` (or `VC_TEST_KUBECONFIG`): a host cluster to talk to; without
#   one the cluster cells are skipped (`--offline` skips them too);
# - `VC_K8S_BINDIR` and `VC_SYNCER_BIN`: set both to also create, pause,
#   resume and delete a virtual cluster with the local driver.

# %%
import json
import logging
import os
import sys

import vcluster
from vcluster import lifecycle

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
vcluster.log.set_level(logging.INFO)  # library messages go to logging "vcluster.<subsystem>"
print("libvcluster", vcluster.version())

OFFLINE = "--offline" in sys.argv
KUBECONFIG = os.environ.get("VC_TEST_KUBECONFIG") or os.environ.get("KUBECONFIG")

# %% [markdown]
# ## Translate a pod (pure: no cluster needed)
# A virtual pod `web` in namespace `shop` of virtual cluster `demo` becomes a
# host pod with an upstream-compatible name in the host namespace.

# %%
pod = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                             "envFrom": [{"configMapRef": {"name": "web-config"}}]}]},
}
with vcluster.Translator("demo", kube_ip="10.96.0.10", dns_ip="10.96.0.11") as tr:
    host_pod = tr.to_host(pod, apply_defaults=True)
    print("host object:", host_pod["metadata"]["namespace"] + "/" + host_pod["metadata"]["name"])
    print("labels:", json.dumps(host_pod["metadata"]["labels"], indent=2))
    print("virtual origin:", tr.virtual_name(host_pod))
    print("uses:", tr.pod_references(pod))
    manifests, notes = tr.manifests(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: shop}\ndata: {A: b}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n", "shop.yaml")
    print(manifests)
    print(notes)

# %% [markdown]
# ## A vcluster.yaml

# %%
with vcluster.Config() as cfg:
    cfg.set("sync.toHost.ingresses.enabled", "true")
    print("distro", cfg.distro, "store", cfg.backing_store.name, "service", cfg.service_type)
    print("ingresses synced:", cfg.get("sync.toHost.ingresses.enabled"))

# %% [markdown]
# ## Errors are exceptions with the API server's detail

# %%
try:
    vcluster.Kube("/no/such/kubeconfig")
except vcluster.NotFound as e:
    print(type(e).__name__, e.code.name, e.message)

# %% [markdown]
# ## Talk to the host cluster

# %%
host = None
if KUBECONFIG and not OFFLINE:
    host = vcluster.Kube(KUBECONFIG)
    print(host, "version", host.server_version())
    nodes = host.get("/api/v1/nodes")["items"]
    print("nodes:", [n["metadata"]["name"] for n in nodes])
    try:
        host.get("/api/v1/namespaces/no-such-namespace")
    except vcluster.NotFound as e:
        print("404 ->", e.http_status, e.reason)
    print("virtual clusters:", lifecycle.list_clusters(host))
else:
    print("no host cluster (set KUBECONFIG): skipping the cluster cells")

# %% [markdown]
# ## A virtual cluster with the local driver (optional)

# %%
if host is not None and os.environ.get("VC_K8S_BINDIR") and os.environ.get("VC_SYNCER_BIN"):
    name = "notebook"
    lifecycle.create(host, name, driver="local", bin_dir=os.environ["VC_K8S_BINDIR"],
                     syncer_path=os.environ["VC_SYNCER_BIN"],
                     progress=lambda step, msg, done: print(f"  [{step}] {msg}" + (" ✓" if done else "")))
    try:
        print(lifecycle.status(host, name))
        with vcluster.Kube.from_data(lifecycle.connect(host, name)) as virt:
            print("virtual cluster serves", virt.server_version())
            # deploy into it: a namespace and a Deployment, as in the quick start
            virt.request("POST", "/api/v1/namespaces",
                         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo-nginx"}})
            virt.request("POST", "/apis/apps/v1/namespaces/demo-nginx/deployments", {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "nginx"}},
                         "template": {"metadata": {"labels": {"app": "nginx"}},
                                      "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}})
            # watch the syncer's work: the pod appears on the host, translated,
            # and its status comes back inside
            import time
            seen = set()
            for _ in range(120):
                hpods = host.get(f"/api/v1/namespaces/vcluster-{name}/pods?labelSelector=app%3Dnginx")["items"]
                vpods = virt.get("/api/v1/namespaces/demo-nginx/pods")["items"]
                for p in hpods:
                    line = f"host pod {p['metadata']['name']}: {p.get('status', {}).get('phase')}"
                    if line not in seen:
                        seen.add(line)
                        print(" ", line)
                for p in vpods:
                    line = (f"virtual pod demo-nginx/{p['metadata']['name']}: {p.get('status', {}).get('phase')}"
                            f" on {p['spec'].get('nodeName')}")
                    if line not in seen:
                        seen.add(line)
                        print(" ", line)
                if any(p.get("status", {}).get("phase") == "Running" for p in vpods):
                    break
                time.sleep(0.5)
        lifecycle.pause(host, name)
        print("paused:", lifecycle.status(host, name).state.name)
        lifecycle.resume(host, name)
        print("resumed:", lifecycle.status(host, name).state.name)
    finally:
        lifecycle.delete(host, name, delete_namespace=True)
        print("deleted")

# %%
if host is not None:
    host.close()

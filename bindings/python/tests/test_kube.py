"""kube.h: Kube without a cluster (config, errors) and against the host cluster."""
from __future__ import annotations

import json
import os

import pytest

import vcluster
from vcluster import lowlevel as ll


def test_options_init_defaults():
    o = ll.kube_options_init()
    assert o.version == ll.KUBE_OPTIONS_VERSION
    assert o.flags == 0 and o.timeout_ms == 0
    with pytest.raises(vcluster.VersionError):
        ll.kube_options_init(999)


def test_kube_from_data_accessors(unreachable_kubeconfig):
    with vcluster.Kube.from_data(unreachable_kubeconfig) as k:
        assert k.server == "https://127.0.0.1:1"
        assert k.namespace == "ns1"
        assert k.context == "x"
        assert "127.0.0.1:1" in repr(k)
    assert k.closed and "closed" in repr(k)
    k.close()  # idempotent
    with pytest.raises(ValueError):
        k.server
    k2 = vcluster.Kube.from_data(unreachable_kubeconfig, context="other", namespace="other")
    assert k2.context == "other" and k2.namespace == "other"
    del k2  # ffi.gc frees it


def test_kube_from_file(tmp_path, unreachable_kubeconfig):
    p = tmp_path / "kc"
    p.write_text(unreachable_kubeconfig)
    with vcluster.Kube.from_kubeconfig(p, context="other") as k:
        assert k.context == "other" and k.namespace == "default"


def test_kube_errors(unreachable_kubeconfig):
    with pytest.raises(vcluster.ConfigError) as ei:
        vcluster.Kube.from_data(unreachable_kubeconfig, context="nope")
    assert "nope" in ei.value.message
    with pytest.raises(vcluster.ConnectError):
        with vcluster.Kube.from_data(unreachable_kubeconfig, retry=False) as k:
            k.request("GET", "/version")


def test_in_cluster(tmp_path):
    (tmp_path / "token").write_text("tok")
    (tmp_path / "namespace").write_text("inns")
    (tmp_path / "ca.crt").write_text("")
    old = {k: os.environ.get(k) for k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")}
    os.environ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1"
    os.environ["KUBERNETES_SERVICE_PORT"] = "1"
    try:
        try:
            k = vcluster.Kube.in_cluster(str(tmp_path))
        except vcluster.Error as e:  # an empty CA may be refused: then the message says so
            assert e.code in (vcluster.Status.ECONFIG, vcluster.Status.ETLS, vcluster.Status.EIO)
        else:
            with k:
                assert k.namespace == "inns" and k.context == ""
                assert k.server.startswith("https://127.0.0.1")
    finally:
        for key, v in old.items():
            if v is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = v


def test_lowlevel_kube_calls(unreachable_kubeconfig):
    keep = []
    from vcluster._options import fill
    opts = fill(ll.kube_options_init(), keep, kubeconfig_data=unreachable_kubeconfig,
                flags=ll.KUBE_NO_RETRY, timeout_ms=1000)
    h = ll.kube_new(opts)
    assert ll.kube_server(h) == "https://127.0.0.1:1"
    assert ll.kube_namespace(h) == "ns1" and ll.kube_context(h) == "x"
    with pytest.raises(vcluster.ConnectError):
        ll.kube_server_version(h)
    with pytest.raises(vcluster.ConnectError):
        ll.kube_request(h, "GET", "/version", None, None)
    vcluster.ffi.gc(h, None)  # detach the safety net, then free explicitly
    ll.kube_free(h)
    with pytest.raises(TypeError):
        ll.kube_server(None)


# ---- against the real host cluster ---------------------------------------

def test_server_version(kube):
    v = kube.server_version()
    assert v.startswith("v1.")
    assert kube.get("/version")["gitVersion"] == v


def test_crud_and_errors(kube, namespace):
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"}, "data": {"k": "v1"}}
    r = kube.request("POST", base, cm)
    assert r.status == 201 and r.json()["metadata"]["uid"]
    with pytest.raises(vcluster.AlreadyExists) as ei:
        kube.request("POST", base, json.dumps(cm))
    assert ei.value.http_status == 409 and ei.value.reason == "AlreadyExists"
    got = kube.get(f"{base}/one")
    got["data"]["k"] = "v2"
    assert kube.request("PUT", f"{base}/one", got).json()["data"]["k"] == "v2"
    got["data"]["k"] = "v3"
    with pytest.raises(vcluster.Conflict) as ei:
        kube.request("PUT", f"{base}/one", got)
    assert ei.value.http_status == 409
    r = kube.request("PATCH", f"{base}/one", '{"data":{"p":"x"}}', "application/merge-patch+json")
    assert r.json()["data"]["p"] == "x"
    with pytest.raises(vcluster.NotFound) as ei:
        kube.get(f"{base}/missing")
    assert ei.value.http_status == 404 and "missing" in ei.value.message
    assert isinstance(ei.value, LookupError)
    kube.request("DELETE", f"{base}/one")
    with pytest.raises(vcluster.NotFound):
        kube.get(f"{base}/one")


def test_context_namespace_from_host(kubeconfig):
    with vcluster.Kube(kubeconfig, namespace="kube-system") as k:
        assert k.namespace == "kube-system"
        assert k.server.startswith("https://")
        names = [i["metadata"]["name"] for i in k.get("/api/v1/namespaces")["items"]]
        assert "kube-system" in names


def test_port_forward_without_a_cluster(unreachable_kubeconfig):
    from vcluster._vcluster import ffi
    ll.port_forward_free(ffi.NULL)  # NULL-safe
    with vcluster.Kube.from_data(unreachable_kubeconfig, retry=False) as k:
        with pytest.raises(vcluster.InvalidArgument):
            k.port_forward("ns1", "Not_A_Pod", 80)
        with pytest.raises(vcluster.ConnectError):
            k.port_forward("ns1", "web", 80, timeout_ms=2000)


def test_port_forward_errors(kube, namespace):
    # no pod: the API server's 404; a pod on a kwok node: its 500 (no kubelet)
    with pytest.raises(vcluster.NotFound) as ei:
        kube.port_forward(namespace, "no-such-pod", 80)
    assert ei.value.http_status == 404 and "no-such-pod" in ei.value.message
    with pytest.raises(vcluster.NotFound):
        vcluster.lifecycle.find_pod(kube, "no-such-vcluster", namespace)

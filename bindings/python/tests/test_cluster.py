"""The ergonomic layer (vcluster/cluster.py): timeouts in seconds,
connect() as a dict the official kubernetes client takes, VirtualCluster and
`with vcluster.create(...) as vc:` deleting on exit."""
from __future__ import annotations

import _thread
import threading
import time
import uuid

import pytest

import vcluster
from vcluster import lifecycle as lc

VC_KC = """apiVersion: v1
kind: Config
clusters: [{name: vc, cluster: {server: 'https://127.0.0.1:9', certificate-authority-data: Zm9v}}]
users: [{name: vcu, user: {token: t0k}}]
contexts: [{name: vcctx, context: {cluster: vc, user: vcu}}]
current-context: vcctx
"""


def _kubernetes():
    """The official client, when tests/install-deps could install it."""
    return pytest.importorskip("kubernetes", reason="the kubernetes Python client is not installed")


def test_timeout_seconds():
    assert lc.timeout_ms_of(None) == 0
    assert lc.timeout_ms_of(None, 2500) == 2500
    assert lc.timeout_ms_of(1.5) == 1500
    assert lc.timeout_ms_of(0.0004) == 1  # a positive wait never becomes "the default"
    assert lc.timeout_ms_of(0) == 0
    assert lc.timeout_ms_of(12) == 12000
    with pytest.raises(TypeError):
        lc.timeout_ms_of(1.0, 1000)
    with pytest.raises(TypeError):
        lc.timeout_ms_of("3")
    with pytest.raises(ValueError):
        lc.timeout_ms_of(-1.0)
    with pytest.raises(ValueError):
        lc.timeout_ms_of(float("nan"))
    with pytest.raises(ValueError):
        lc.timeout_ms_of(3e6)


def test_kube_timeout_seconds(unreachable_kubeconfig):
    """A float `timeout` reaches the connection: a request to a port that
    accepts and never answers gives up after it."""
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    kc = unreachable_kubeconfig.replace("https://127.0.0.1:1", f"https://127.0.0.1:{port}")
    try:
        with vcluster.Kube.from_data(kc, timeout=0.5, retry=False) as k:
            t0 = time.monotonic()
            with pytest.raises(vcluster.Error):
                k.server_version()
            took = time.monotonic() - t0
        assert took < 3.0, f"the 0.5 s timeout took {took:.2f} s"
    finally:
        srv.close()


def test_kubeconfig_dict_shape():
    d = vcluster.kubeconfig_dict(VC_KC)
    assert d["current-context"] == "vcctx"
    assert d["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:9"
    assert d["users"][0]["user"]["token"] == "t0k"
    assert d["contexts"][0]["context"] == {"cluster": "vc", "user": "vcu"}
    with pytest.raises(ValueError):
        vcluster.kubeconfig_dict("apiVersion: v1\nkind: Config\n")


def test_kubernetes_client_takes_the_dict():
    k8s = _kubernetes()
    from kubernetes import config as kcfg
    api = kcfg.new_client_from_config_dict(vcluster.kubeconfig_dict(VC_KC))
    assert api.configuration.host == "https://127.0.0.1:9"
    assert "Bearer t0k" in api.configuration.api_key.values()  # the key name differs across versions
    assert k8s.client.CoreV1Api(api) is not None


def test_virtual_cluster_object(unreachable_kubeconfig):
    with vcluster.Kube.from_data(unreachable_kubeconfig) as k:
        vc = vcluster.VirtualCluster(k, "demo")
        assert vc.host_namespace == "vcluster-demo" and "demo" in repr(vc)
        assert vcluster.VirtualCluster(k, "demo", "team-a").host_namespace == "team-a"
        with pytest.raises(TypeError):
            vcluster.create(k, "demo", timeout=1.0, timeout_ms=1000)  # not a keyword of create
        with pytest.raises(vcluster.InvalidArgument):
            vcluster.create(k, "Bad_Name", driver="local")


# ---- against the real host cluster ---------------------------------------

def test_with_create_deletes_on_exit(kube, local_driver):
    """`with vcluster.create(..., delete_on_exit=True) as vc:` gives a
    VirtualCluster that serves, whose connect() dict the official client
    uses, and is gone after the block."""
    name = f"pyw{uuid.uuid4().hex[:6]}"
    t0 = time.monotonic()
    try:
        with vcluster.create(kube, name, driver="local", delete_on_exit=True, timeout=180.0,
                             **local_driver) as vc:
            print(f"# created in {time.monotonic() - t0:.1f} s")
            assert isinstance(vc, vcluster.VirtualCluster) and vc.name == name
            assert vc.status().state == vcluster.ClusterState.RUNNING
            cfg = vc.connect()
            assert isinstance(cfg, dict) and cfg["clusters"][0]["cluster"]["server"].startswith("https://")
            assert vcluster.connect(kube, name)["current-context"] == cfg["current-context"]
            with vc.kube(timeout=10.0) as virt:
                assert virt.server_version().startswith("v1.")
            try:
                import kubernetes  # noqa: F401
            except ImportError:
                pass
            else:
                from kubernetes import client, config as kcfg
                api = kcfg.new_client_from_config_dict(cfg)
                names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
                assert "default" in names
            vc.pause(timeout=120.0)
            assert vc.status().state == vcluster.ClusterState.PAUSED
            vc.resume(timeout=120.0)
            assert vc.status().state == vcluster.ClusterState.RUNNING
        assert vc.deleted
        with pytest.raises(vcluster.NotFound):
            lc.status(kube, name)
    finally:
        try:
            lc.delete(kube, name, **local_driver)
        except vcluster.Error:
            pass


def test_create_interrupted_cleans_up(kube, local_driver):
    """Ctrl-C during `vcluster.create(..., delete_on_exit=True)`: the C call
    is cancelled within a tick, what it made is deleted, KeyboardInterrupt
    is raised."""
    name = f"pyi{uuid.uuid4().hex[:6]}"
    sent = []

    def interrupt():
        sent.append(time.monotonic())
        _thread.interrupt_main()
    timer = threading.Timer(1.0, interrupt)
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            vcluster.create(kube, name, driver="local", delete_on_exit=True, timeout=180.0, **local_driver)
        assert sent, "create returned before the interrupt"
        with pytest.raises(vcluster.NotFound):
            lc.status(kube, name)
    finally:
        timer.cancel()
        try:
            lc.delete(kube, name, **local_driver)
        except vcluster.Error:
            pass

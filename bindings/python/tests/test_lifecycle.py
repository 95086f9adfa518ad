"""lifecycle.h: kubeconfig files (no cluster), errors, and a full local-driver
lifecycle against the host cluster: create, list, status, connect, pause,
resume, delete."""
from __future__ import annotations

import _thread
import threading
import time
import uuid

import pytest

import vcluster
from vcluster import lifecycle as lc
from vcluster import lowlevel as ll

VC_KC = """apiVersion: v1
kind: Config
clusters: [{name: vc, cluster: {server: 'https://127.0.0.1:9'}}]
users: [{name: vcu, user: {token: t}}]
contexts: [{name: vcctx, context: {cluster: vc, user: vcu}}]
current-context: vcctx
"""


def test_options_init():
    assert ll.create_options_init().version == ll.CREATE_OPTIONS_VERSION
    assert ll.cluster_op_options_init().version == ll.CLUSTER_OP_OPTIONS_VERSION
    with pytest.raises(vcluster.VersionError):
        ll.create_options_init(0)


def test_kubeconfig_files(tmp_path, unreachable_kubeconfig):
    p = tmp_path / "config"
    p.write_text(unreachable_kubeconfig)
    lc.kubeconfig_merge(p, VC_KC, "vcctx")
    assert vcluster.Kube(p).context == "vcctx"
    assert lc.kubeconfig_restore_context(p) == "x"
    assert vcluster.Kube(p).context == "x"
    lc.kubeconfig_merge(p, VC_KC)  # contexts only, current stays
    assert vcluster.Kube(p).context == "x"
    lc.kubeconfig_remove_context(p, "vcctx")
    with pytest.raises(vcluster.ConfigError):
        vcluster.Kube(p, context="vcctx")
    with pytest.raises(vcluster.NotFound):
        lc.kubeconfig_remove_context(p, "vcctx")
    with pytest.raises(vcluster.NotFound):
        lc.kubeconfig_restore_context(p)
    fresh = tmp_path / "new" / "config"
    fresh.parent.mkdir()
    lc.kubeconfig_merge(fresh, VC_KC, "vcctx")  # created when missing
    assert vcluster.Kube(fresh).server == "https://127.0.0.1:9"
    assert fresh.stat().st_mode & 0o777 == 0o600
    (tmp_path / "bad").write_text("[not, a, kubeconfig]")
    with pytest.raises(vcluster.ConfigError):
        lc.kubeconfig_merge(tmp_path / "bad", VC_KC)


def test_create_errors(unreachable_kubeconfig):
    with vcluster.Kube.from_data(unreachable_kubeconfig) as k:
        with pytest.raises(vcluster.InvalidArgument):
            lc.create(k, "Bad_Name", driver="local")
        with pytest.raises(vcluster.InvalidArgument):
            lc.create(k, "ok", driver="no-such-driver")
        with pytest.raises(vcluster.NotSupported):
            lc.create(k, "ok", driver="local", print_only=True)


# ---- against the real host cluster ---------------------------------------

def test_not_found(kube):
    name = f"nope{uuid.uuid4().hex[:6]}"
    assert all(c.name != name for c in lc.list_clusters(kube))
    assert lc.list_clusters(kube, f"vcluster-{name}") == []
    for fn in (lc.status, lc.connect, lc.pause, lc.resume, lc.delete):
        with pytest.raises(vcluster.NotFound):
            fn(kube, name)


def test_local_lifecycle(kube, local_driver):
    name = f"py{uuid.uuid4().hex[:6]}"
    steps = []
    try:
        lc.create(kube, name, driver="local", timeout_ms=180000,
                  progress=lambda *a: steps.append(a), **local_driver)
        assert ("apiserver", True) in {(s, d) for s, _, d in steps}
        assert steps[-1][2] is True
        (info,) = [c for c in lc.list_clusters(kube) if c.name == name]
        assert info.state == vcluster.ClusterState.RUNNING and info.driver == "local"
        st = lc.status(kube, name)
        assert st.host_namespace == f"vcluster-{name}" and st.server.startswith("https://")
        with vcluster.Kube.from_data(lc.connect(kube, name)) as virt:
            assert virt.server_version().startswith("v1.")
        # the effective values it was created with load back as a config
        cfg = vcluster.Config()
        cfg.load_string(lc.get_config(kube, name), "effective.yaml")
        assert cfg.get("controlPlane.statefulSet.highAvailability.replicas") == "1"
        with pytest.raises(vcluster.AlreadyExists):
            lc.create(kube, name, driver="local", **local_driver)

        def boom(step, message, done):
            raise RuntimeError(f"stop at {step}")
        with pytest.raises(RuntimeError, match="stop at"):  # cancels, raised after the call returns
            lc.pause(kube, name, progress=boom, **local_driver)
        # cancelled at its first step, before stopping anything
        assert lc.status(kube, name).state == vcluster.ClusterState.RUNNING
        lc.pause(kube, name, **local_driver)
        assert lc.status(kube, name).state == vcluster.ClusterState.PAUSED
        with pytest.raises(vcluster.StateError):
            lc.pause(kube, name, **local_driver)
        lc.resume(kube, name, timeout_ms=120000, **local_driver)
        assert lc.status(kube, name).state == vcluster.ClusterState.RUNNING
    finally:
        try:
            lc.delete(kube, name, delete_namespace=True, **local_driver)
        except vcluster.NotFound:
            pass
    assert all(c.name != name for c in lc.list_clusters(kube))


def test_lowlevel_frees(kube):
    lst = ll.cluster_list_get(kube, None)
    n = ll.cluster_list_count(lst)
    assert ll.cluster_list_at(lst, n) == vcluster.ffi.NULL  # past the end
    vcluster.ffi.gc(lst, None)
    ll.cluster_list_free(lst)
    ll.cluster_info_free(vcluster.ffi.NULL)  # NULL-safe


def test_render_kubernetes_driver(unreachable_kubeconfig):
    """print_only renders the kubernetes driver's host manifests and changes
    nothing (an unreachable host only costs the service-CIDR lookup)."""
    with vcluster.Kube.from_data(unreachable_kubeconfig, retry=False) as k, vcluster.Config() as cfg:
        cfg.set("controlPlane.service.spec.type", "NodePort")
        m = lc.create(k, "pyrender", print_only=True, config=cfg, distro="k3s")
    kinds = [line.split(":", 1)[1].strip() for line in m.splitlines() if line.startswith("kind:")]
    assert "StatefulSet" in kinds and "Service" in kinds and "Namespace" in kinds
    assert "vcluster-pyrender" in m and "NodePort" in m


def _delete_quietly(kube, name):
    try:
        lc.delete(kube, name, delete_namespace=True, timeout_ms=120000)
    except vcluster.NotFound:
        pass


def test_exception_in_progress_cancels(kube):
    """An exception raised by the callback while create waits for the control
    plane cancels the call at once; it is re-raised, and what is left (the
    virtual cluster, as a timeout leaves it) can be deleted."""
    name = f"pyc{uuid.uuid4().hex[:6]}"
    raised_at = []

    def stop(step, message, done):
        if step == "manifests" and done:
            raised_at.append(time.monotonic())
            raise ValueError("enough")
    try:
        with pytest.raises(ValueError, match="enough") as ei:
            lc.create(kube, name, driver="kubernetes", timeout_ms=120000, progress=stop)
        late = time.monotonic() - raised_at[0]
        assert late < 0.5, f"returned {late:.3f} s after the exception"
        assert isinstance(ei.value.__context__, vcluster.Canceled)
        assert lc.status(kube, name).name == name
    finally:
        _delete_quietly(kube, name)


def test_keyboard_interrupt_cancels(kube):
    """Ctrl-C (here: _thread.interrupt_main, as the SIGINT handler does)
    during a create that waits, with no progress callable given: the call
    returns within a tick and KeyboardInterrupt is raised."""
    name = f"pyk{uuid.uuid4().hex[:6]}"
    sent = []

    def interrupt():
        sent.append(time.monotonic())
        _thread.interrupt_main()
    timer = threading.Timer(0.3, interrupt)
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            lc.create(kube, name, driver="kubernetes", timeout_ms=120000)
        late = time.monotonic() - sent[0]
        assert late < 0.5, f"returned {late:.3f} s after the interrupt"
    finally:
        timer.cancel()
        _delete_quietly(kube, name)


def test_certs_render():
    """The init container's PKI, made without a host: CA kept from existing data."""
    out = lc.certs_render("gitops", "vcluster-gitops", service_ip="10.96.0.42")
    certs, kc = out["certs"], out["kubeconfig"]
    assert certs["metadata"]["name"] == "gitops-certs" and kc["metadata"]["name"] == "vc-gitops"
    assert "ca.crt" in certs["data"] and "ca.key" in certs["data"]
    again = lc.certs_render("gitops", "vcluster-gitops", service_ip="10.96.0.42", existing_data=certs["data"])
    assert again["certs"]["data"]["ca.crt"] == certs["data"]["ca.crt"]
    with pytest.raises(vcluster.InvalidArgument):
        lc.certs_render("", "vcluster-gitops")

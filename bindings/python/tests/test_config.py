"""config.h: vcluster.yaml values."""
from __future__ import annotations

import pytest

import vcluster
from vcluster import lowlevel as ll


def test_defaults():
    with vcluster.Config() as c:
        assert c.distro == "k8s"
        assert c.backing_store == vcluster.BackingStore.EMBEDDED_DATABASE
        assert c.ha_replicas == 1
        assert c.service_type == "ClusterIP"
        assert c.get("sync.toHost.pods.enabled") == "true"
        assert "sync:" in c.to_yaml()


def test_load_set_get(tmp_path):
    p = tmp_path / "values.yaml"
    p.write_text("sync:\n  toHost:\n    ingresses:\n      enabled: true\n")
    with vcluster.Config(p) as c:
        assert c.get("sync.toHost.ingresses.enabled") == "true"
        c.load_string("controlPlane:\n  service:\n    spec:\n      type: NodePort\n", "inline")
        assert c.service_type == "NodePort"
        c.set("controlPlane.service.spec.type", "LoadBalancer")
        assert c.service_type == "LoadBalancer"
        again = vcluster.Config()
        again.load_string(c.to_yaml())
        assert again.service_type == "LoadBalancer"
        again.close()


def test_errors(tmp_path):
    c = vcluster.Config()
    p = tmp_path / "bad.yaml"
    p.write_text("sync:\n  toHost:\n    pods:\n      enabled: yes please\n")
    with pytest.raises(vcluster.ConfigError) as ei:
        c.load_file(p)
    assert "bad.yaml:4" in ei.value.message and "sync.toHost.pods.enabled" in ei.value.message
    with pytest.raises(vcluster.ConfigError):
        c.set("no.such.key", "1")
    with pytest.raises(vcluster.NotFound):
        c.get("no.such.key")
    with pytest.raises((vcluster.NotFound, vcluster.IOFailure)):
        c.load_file(tmp_path / "missing.yaml")
    assert c.get("sync.toHost.pods.enabled") == "true"  # unchanged after failures
    h = ll.config_new()
    vcluster.ffi.gc(h, None)
    ll.config_free(h)

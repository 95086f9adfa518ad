"""translate.h: pure translation, no cluster needed."""
from __future__ import annotations

import json

import pytest

import vcluster
from vcluster import lowlevel as ll

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "nginx", "namespace": "default", "uid": "1234",
                    "labels": {"app": "web", "release": "r1"}},
       "spec": {"containers": [{"name": "c", "image": "nginx",
                                "envFrom": [{"configMapRef": {"name": "cfg"}}]}]}}


@pytest.fixture()
def tr():
    with vcluster.Translator("my-vc", kube_ip="10.96.0.10", dns_ip="10.96.0.11") as t:
        yield t


def test_options_init():
    o = ll.translate_options_init()
    assert o.version == ll.TRANSLATE_OPTIONS_VERSION and o.flags == 0
    with pytest.raises(vcluster.VersionError):
        ll.translate_options_init(0)


def test_names(tr):
    assert tr.host_namespace == "vcluster-my-vc"
    assert tr.host_name("Pod", "default", "nginx") == "nginx-x-default-x-my-vc"
    assert tr.host_name("configmaps", "demo", "cfg") == "cfg-x-demo-x-my-vc"
    assert tr.label_key("app") == "app"
    assert tr.label_key("release").startswith("vcluster.loft.sh/label-my-vc-x-")
    assert tr.namespace_label_key("team").startswith("vcluster.loft.sh/ns-label-my-vc-x-")
    with pytest.raises(vcluster.InvalidArgument):
        tr.host_name("Pod", None, "nginx")
    with pytest.raises(vcluster.NotSupported):
        tr.host_name("Deployment", "default", "web")


def test_to_host_and_back(tr):
    host = tr.to_host(POD, apply_defaults=True)
    assert host["metadata"]["name"] == "nginx-x-default-x-my-vc"
    assert host["metadata"]["namespace"] == "vcluster-my-vc"
    assert host["metadata"]["annotations"]["vcluster.loft.sh/name"] == "nginx"
    assert tr.virtual_name(host) == ("default", "nginx")
    assert tr.virtual_name(json.dumps(host)) == ("default", "nginx")
    with pytest.raises(vcluster.NotFound):
        tr.virtual_name({"kind": "Pod", "metadata": {"name": "foo"}})
    with pytest.raises(vcluster.InvalidArgument):
        tr.to_host("{not json")

    running = dict(host, status={"phase": "Running", "podIP": "10.244.0.5"})
    virt = tr.to_virtual_status(running, POD)
    assert virt["status"]["phase"] == "Running" and virt["metadata"]["name"] == "nginx"

    v, h = tr.merge_metadata(None, POD, None, host)
    assert v["metadata"]["labels"]["app"] == "web"
    assert h["metadata"]["labels"]["vcluster.loft.sh/managed-by"] == "my-vc"


def test_runtime_inputs_and_preview():
    with vcluster.Translator("my-vc") as t:
        with pytest.raises(vcluster.StateError) as ei:
            t.to_host(POD)
        assert "kube_ip" in ei.value.message
        prev = t.to_host(POD, preview=True)
        assert prev["spec"]["hostAliases"][0]["ip"] == "<kube-ip>"
        t.set_service_ips("10.96.0.10", "10.96.0.11")
        assert t.to_host(POD)["spec"]["hostAliases"][0]["ip"] == "10.96.0.10"
        t.set_service_ips(None, None)
        with pytest.raises(vcluster.StateError):
            t.to_host(POD)
        with pytest.raises(vcluster.InvalidArgument):
            t.set_service_ips("not-an-ip", None)


def test_pod_helpers(tr):
    assert tr.pod_token_requests(POD) == []
    refs = tr.pod_references(POD)
    assert refs["configMaps"] == [{"name": "cfg", "hostName": "cfg-x-default-x-my-vc"}]
    host = tr.to_host(POD)
    assert tr.pod_binding(host, POD) is None  # host pod not scheduled yet
    on1 = dict(host, spec=dict(host["spec"], nodeName="n1"))
    on2 = dict(POD, spec=dict(POD["spec"], nodeName="n2"))
    with pytest.raises(vcluster.Conflict):
        tr.pod_binding(on1, on2)


def test_pod_binding_when_scheduled(tr):
    host = tr.to_host(POD)
    on1 = dict(host, spec=dict(host["spec"], nodeName="n1"))
    b = tr.pod_binding(on1, POD)
    assert b["kind"] == "Binding" and b["target"]["name"] == "n1"


def test_manifests(tr):
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: demo}\n---\n"
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: demo}\n")
    out, notes = tr.manifests(text, "m.yaml")
    assert "name: a-x-demo-x-my-vc" in out and "Deployment" in notes
    out, _ = tr.manifests(text.encode(), json_output=True)
    assert json.loads(out)["metadata"]["name"] == "a-x-demo-x-my-vc"
    with pytest.raises(vcluster.InvalidArgument) as ei:
        tr.manifests("kind: [", "bad.yaml")
    assert ei.value.message.startswith("bad.yaml:")


def test_options_fields():
    with vcluster.Translator("x", host_namespace="hns", enforce_tolerations=["a=b:NoSchedule", "*"],
                             sync_to_host=ll.TRANSLATE_SYNC_ALL, flags=ll.TRANSLATE_OPT_VIRTUAL_SCHEDULER,
                             cluster_domain="corp.local", runtime_class="gvisor") as t:
        assert t.host_namespace == "hns"
        host = t.to_host(POD, preview=True)
        assert {"key": "a", "operator": "Equal", "value": "b", "effect": "NoSchedule"} in host["spec"]["tolerations"]
        assert host["spec"]["runtimeClassName"] == "gvisor"
    with pytest.raises(vcluster.InvalidArgument):
        vcluster.Translator("")
    assert "closed" in repr(t)


def test_lowlevel_free(tr):
    opts = ll.translate_options_init()
    keep = []
    from vcluster._options import fill
    h = ll.translator_new(fill(opts, keep, name="raw"))
    assert ll.translator_host_namespace(h) == "vcluster-raw"
    vcluster.ffi.gc(h, None)
    ll.translator_free(h)

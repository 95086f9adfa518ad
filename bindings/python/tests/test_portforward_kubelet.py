"""Port-forward's data path through a real kube-apiserver, without real nodes.

kwok nodes advertise a kubelet at 127.0.0.1:10250 that nobody serves. Here a
small TLS "kubelet" listens there and answers /portForward/NS/POD as the
container runtime's streaming server does (k8s.io/cri-streaming
portforward/websocket.go: the port on channels 0 and 1, then data on 0), echoing
what it receives. So the library's WebSocket goes through the API server's
upgrade proxy for real, over TLS on both legs; only the last hop is a stand-in.
Skips when openssl is missing or 127.0.0.1:10250 is taken. A real kubelet and
containerd: tests/integration/realnode_portforward.c."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

import vcluster

sys.path.insert(0, str(pathlib.Path(os.environ.get("VC_SOURCE_ROOT", pathlib.Path(__file__).parents[3])) / "tests" / "tools"))
from fake_kubelet import FakeKubelet  # noqa: E402


@pytest.fixture()
def fake_kubelet(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed for the fake kubelet's certificate")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=kwok",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp_path / "k.key"),
                    "-out", str(tmp_path / "k.crt")], check=True, capture_output=True)
    try:
        k = FakeKubelet(tmp_path / "k.crt", tmp_path / "k.key")
    except OSError as e:
        pytest.skip(f"127.0.0.1:10250 is not free: {e}")
    yield k
    k.close()


def test_port_forward_through_the_api_server(kube, namespace, fake_kubelet):
    nodes = kube.get("/api/v1/nodes")["items"]
    node = next(n["metadata"]["name"] for n in nodes
                if any(a["address"] == "127.0.0.1" for a in n["status"].get("addresses", [])))
    kube.request("POST", f"/api/v1/namespaces/{namespace}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]}})
    for _ in range(100):
        if kube.get(f"/api/v1/namespaces/{namespace}/pods/web").get("status", {}).get("phase") == "Running":
            break
        time.sleep(0.1)
    with kube.port_forward(namespace, "web", 80, timeout_ms=10000) as pf:
        big = bytes(range(97, 123)) * 4000  # 104 kB: several frames each way
        pf.write(b"hello ")
        pf.write(big)
        want = b"HELLO " + big.upper()
        got = b""
        while len(got) < len(want):
            got += pf.read(65536, timeout_ms=10000)
        assert got == want
        pf.write(b"fail")
        with pytest.raises(vcluster.ApiError) as ei:
            while pf.read(timeout_ms=10000):
                pass
        assert "error forwarding port 80 to pod: refused" in ei.value.message
    # the API server handed the upgrade on unchanged: path, port, subprotocol
    req = fake_kubelet.requests[0]
    assert req.startswith(f"GET /portForward/{namespace}/web?port=80 ")
    assert "v4.channel.k8s.io" in req

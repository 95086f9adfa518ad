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

import base64
import hashlib
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time

import pytest

import vcluster

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def _frame(op, payload):
    n = len(payload)
    if n < 126:
        h = struct.pack("!BB", 0x80 | op, n)
    elif n < 65536:
        h = struct.pack("!BBH", 0x80 | op, 126, n)
    else:
        h = struct.pack("!BBQ", 0x80 | op, 127, n)
    return h + payload


def _read_frame(s):
    b0, b1 = _recv_exact(s, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", _recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", _recv_exact(s, 8))[0]
    assert b1 & 0x80, "client frames must be masked"
    mask = _recv_exact(s, 4)
    data = bytes(c ^ mask[i % 4] for i, c in enumerate(_recv_exact(s, n)))
    return b0 & 0x0F, data


class FakeKubelet:
    def __init__(self, certdir):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certdir / "k.crt", certdir / "k.key")
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 10250))
        self.lsock.listen(8)
        self.requests = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, raw):
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
            req = b""
            while b"\r\n\r\n" not in req:
                req += s.recv(4096)
            head = req.split(b"\r\n\r\n")[0].decode()
            self.requests.append(head)
            hdr = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in head.split("\r\n")[1:] if ":" in l}
            port = int(head.split()[1].split("port=")[1].split("&")[0])
            acc = base64.b64encode(hashlib.sha1((hdr["sec-websocket-key"] + GUID).encode()).digest()).decode()
            s.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       f"Sec-WebSocket-Accept: {acc}\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n").encode())
            p = struct.pack("<H", port)
            s.sendall(_frame(2, b"\x00" + p) + _frame(2, b"\x01" + p))
            while True:
                op, data = _read_frame(s)
                if op == 8:
                    s.sendall(_frame(8, data[:2]))
                    return
                if op == 2 and data[:1] == b"\x00":
                    if data[1:] == b"fail":
                        s.sendall(_frame(2, b"\x01" + b"error forwarding port %d to pod: refused" % port))
                        s.sendall(_frame(8, b"\x03\xe8"))
                        return
                    s.sendall(_frame(2, b"\x00" + data[1:].upper()))
        except (EOFError, OSError, ssl.SSLError, KeyError, IndexError, ValueError):
            pass
        finally:
            raw.close()

    def close(self):
        self.lsock.close()


@pytest.fixture()
def fake_kubelet(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed for the fake kubelet's certificate")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=kwok",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp_path / "k.key"),
                    "-out", str(tmp_path / "k.crt")], check=True, capture_output=True)
    try:
        k = FakeKubelet(tmp_path)
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

#!/usr/bin/env python3
"""A stand-in kubelet for port-forward tests on kwok host clusters.

kwok nodes advertise a kubelet at 127.0.0.1:10250 that nobody serves. This
listens there (TLS, the certificate and key given) and answers
/portForward/NS/POD?port=P as the container runtime's streaming server does
(k8s.io/cri-streaming portforward/websocket.go over wsstream: the port on
channels 0 and 1, then data on channel 0), echoing data upper-cased; the
data b"fail" gets an error-channel message and a close. So a port-forward
through the real kube-apiserver's upgrade proxy can be tested end to end
without real nodes; only the last hop is a stand-in.

  fake_kubelet.py CERT KEY     serve until killed (prints "listening")
"""
from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import struct
import sys
import threading
import time

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
    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
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



if __name__ == "__main__":
    fk = FakeKubelet(sys.argv[1], sys.argv[2])
    print("listening", flush=True)
    while True:
        time.sleep(3600)

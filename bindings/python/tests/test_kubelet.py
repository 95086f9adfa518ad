"""The kubelet proxy without a cluster: options, a refused TLS client, and
/healthz served to a client with a certificate from the client CA."""
import os
import socket
import ssl
import subprocess
import tempfile
import threading

import pytest

import vcluster
from vcluster import lowlevel as ll


def test_options_and_errors(unreachable_kubeconfig):
    o = ll.kubelet_proxy_options_init()
    assert o.version == ll.KUBELET_PROXY_OPTIONS_VERSION
    with pytest.raises(vcluster.VersionError):
        ll.kubelet_proxy_options_init(0)
    with vcluster.Kube.from_data(unreachable_kubeconfig) as k:
        with pytest.raises(vcluster.InvalidArgument):
            vcluster.KubeletProxy(k, "vc")                      # no client CA
        with pytest.raises(vcluster.TLSError):
            vcluster.KubeletProxy(k, "vc", client_ca_pem="not PEM")
        with pytest.raises(vcluster.NotFound):
            vcluster.KubeletProxy(k, "vc", client_ca_file="/nonexistent/ca.crt")


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v openssl"], capture_output=True).returncode != 0,
                    reason="openssl is not installed")
def test_serve_healthz_and_refuse(unreachable_kubeconfig):
    with tempfile.TemporaryDirectory() as d:
        ca, cak = os.path.join(d, "ca.crt"), os.path.join(d, "ca.key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", cak,
                 "-out", ca, "-subj", "/CN=vcluster-ca", "-days", "1")
        key, csr, crt = (os.path.join(d, n) for n in ("c.key", "c.csr", "c.crt"))
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                 "-subj", "/CN=kube-apiserver-kubelet-client")
        _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cak, "-CAcreateserial", "-out", crt, "-days", "1")
        with vcluster.Kube.from_data(unreachable_kubeconfig) as k:
            p = vcluster.KubeletProxy(k, "vc", client_ca_file=ca, timeout_ms=5000)
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        port = lsock.getsockname()[1]
        errors = []

        def serve(n):
            for _ in range(n):
                c, _ = lsock.accept()
                try:
                    p.serve(c.fileno())
                except vcluster.Error as e:
                    errors.append(e)
                finally:
                    c.close()

        t = threading.Thread(target=serve, args=(2,))
        t.start()
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(crt, key)
        with socket.create_connection(("127.0.0.1", port)) as s, ctx.wrap_socket(s) as tls:
            tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"ok")
        # no client certificate: the handshake fails
        bare = ssl.create_default_context()
        bare.check_hostname = False
        bare.verify_mode = ssl.CERT_NONE
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            with socket.create_connection(("127.0.0.1", port)) as s, bare.wrap_socket(s) as tls:
                tls.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
                if not tls.recv(1):
                    raise ConnectionError("closed")
        t.join(10)
        lsock.close()
        assert len(errors) == 1 and isinstance(errors[0], vcluster.TLSError)
        p.close()
        p.close()  # idempotent
        from vcluster._options import fill
        keep = []  # the option strings live as long as the struct is used
        with vcluster.Kube.from_data(unreachable_kubeconfig) as k:
            h = ll.kubelet_proxy_new(k, fill(ll.kubelet_proxy_options_init(), keep, name="raw", client_ca_file=ca))
        vcluster.ffi.gc(h, None)  # detach the safety net, free explicitly
        ll.kubelet_proxy_free(h)

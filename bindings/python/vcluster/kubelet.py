"""The kubelet API proxy behind the fake nodes (include/vcluster/kubelet.h)."""
from __future__ import annotations

from typing import Any, List, Optional

from . import _lowlevel as ll
from ._handle import Handle
from ._options import fill
from .kube import Kube


class KubeletProxy(Handle):
    """Serves the kubelet API the virtual API server calls for `kubectl
    logs/exec/attach/port-forward` and forwards to the host API server.
    `client_ca_file` or `client_ca_pem` is required: only clients with a
    certificate signed by it are served. The proxy owns no socket and no
    thread: accept connections yourself and call serve(fd) for each, on a
    thread of its own (serve blocks; it may run on many threads at once).
    It holds its own reference on `host`."""

    def __init__(self, host: Kube, name: str, *, host_namespace: Optional[str] = None,
                 client_ca_file: Optional[str] = None, client_ca_pem: Optional[str] = None,
                 serving_cert_pem: Optional[str] = None, serving_key_pem: Optional[str] = None,
                 timeout_ms: int = 0) -> None:
        keep: List[Any] = []
        opts = fill(ll.kubelet_proxy_options_init(), keep, name=name, host_namespace=host_namespace,
                    client_ca_file=client_ca_file, client_ca_pem=client_ca_pem,
                    serving_cert_pem=serving_cert_pem, serving_key_pem=serving_key_pem, timeout_ms=timeout_ms)
        self._adopt(ll.kubelet_proxy_new(host, opts))

    def serve(self, fd: int) -> None:
        """Serve one accepted TCP connection (you keep and close `fd`; it is
        made non-blocking). Blocks until the exchange ends; raises the
        library's error (e.g. TLSError for a client without a valid
        certificate). shutdown(fd) from another thread ends it early."""
        ll.kubelet_proxy_serve(self._h(), fd)

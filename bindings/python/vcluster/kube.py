"""Kube: a connection to one Kubernetes cluster (include/vcluster/kube.h)."""
from __future__ import annotations

import json
import os
from typing import Any, List, NamedTuple, Optional, Union

from . import _lowlevel as ll
from ._handle import Handle
from ._options import fill


class Response(NamedTuple):
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Kube(Handle):
    """A connection built from a kubeconfig (read as kubectl reads it) or the
    in-cluster service account. Connecting is lazy: no request is made until
    the first call that needs one.

        with Kube("~/.kube/config", context="kind-host") as k:
            print(k.server_version())
    """

    def __init__(self, kubeconfig: Optional[Union[str, os.PathLike]] = None, *,
                 context: Optional[str] = None, kubeconfig_data: Optional[str] = None,
                 namespace: Optional[str] = None, in_cluster: bool = False,
                 in_cluster_fallback: bool = False, retry: bool = True,
                 timeout_ms: int = 0, qps: float = 0.0, burst: int = 0, max_retries: int = 0,
                 in_cluster_dir: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """`timeout`: seconds per request (a float; None: `timeout_ms`, 0: the library default)."""
        from .lifecycle import timeout_ms_of  # late: lifecycle imports kube
        timeout_ms = timeout_ms_of(timeout, timeout_ms)
        flags = (ll.KUBE_IN_CLUSTER if in_cluster else 0) | \
                (ll.KUBE_IN_CLUSTER_FALLBACK if in_cluster_fallback else 0) | \
                (0 if retry else ll.KUBE_NO_RETRY)
        keep: List[Any] = []
        opts = fill(ll.kube_options_init(), keep, flags=flags,
                    kubeconfig=os.fspath(kubeconfig) if kubeconfig is not None else None,
                    kubeconfig_data=kubeconfig_data, context=context, default_namespace=namespace,
                    timeout_ms=timeout_ms, qps=qps, burst=burst, max_retries=max_retries,
                    in_cluster_dir=in_cluster_dir)
        self._adopt(ll.kube_new(opts))

    @classmethod
    def from_kubeconfig(cls, path: Optional[Union[str, os.PathLike]] = None,
                        context: Optional[str] = None, **kw: Any) -> "Kube":
        """From a kubeconfig file (None: $KUBECONFIG, else ~/.kube/config)."""
        return cls(path, context=context, **kw)

    @classmethod
    def from_data(cls, kubeconfig_yaml: str, context: Optional[str] = None, **kw: Any) -> "Kube":
        """From kubeconfig YAML text."""
        return cls(kubeconfig_data=kubeconfig_yaml, context=context, **kw)

    @classmethod
    def in_cluster(cls, service_account_dir: Optional[str] = None, **kw: Any) -> "Kube":
        """From the pod's service account (token, CA and namespace files)."""
        return cls(in_cluster=True, in_cluster_dir=service_account_dir, **kw)

    @property
    def server(self) -> str:
        """The API server URL."""
        return ll.kube_server(self._h())

    @property
    def namespace(self) -> str:
        """The context's namespace, or "default"."""
        return ll.kube_namespace(self._h())

    @property
    def context(self) -> str:
        """The kubeconfig context in use ("" in-cluster)."""
        return ll.kube_context(self._h())

    def request(self, method: str, path: str, body: Union[None, str, bytes, dict, list] = None,
                content_type: Optional[str] = None) -> Response:
        """One raw request with the connection's auth, rate limit, retries and
        timeout. A dict/list body is sent as JSON. A non-2xx answer raises the
        matching Error (NotFound, Conflict, ...) with the server's message."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        text, status = ll.kube_request(self._h(), method, path, body, content_type)
        return Response(status, text)

    def get(self, path: str) -> Any:
        """GET `path` and decode the JSON answer."""
        return self.request("GET", path).json()

    def server_version(self) -> str:
        """The server's gitVersion, e.g. "v1.37.2"."""
        return ll.kube_server_version(self._h())

    def port_forward(self, namespace: str, pod: str, port: int, *, timeout_ms: int = 0,
                     timeout: Optional[float] = None) -> "PortForward":
        """A TCP connection to `port` of `pod`, through the API server
        (`timeout` seconds for the upgrade; None: the request timeout)."""
        return PortForward(self, namespace, pod, port, timeout_ms=timeout_ms, timeout=timeout)

    def __repr__(self) -> str:
        if self.closed:
            return "<vcluster.Kube closed>"
        return f"<vcluster.Kube {self.server} context={self.context!r} namespace={self.namespace!r}>"


def _wait_ms(timeout: Optional[float], timeout_ms: int) -> int:
    """A wait for the C calls: seconds (0: none), or timeout_ms as given."""
    if timeout is None:
        return timeout_ms
    from .lifecycle import timeout_ms_of
    return timeout_ms_of(timeout) if timeout > 0 else 0


class PortForward(Handle):
    """One TCP connection to a port of a pod, tunnelled through the API server
    (pods/portforward, WebSocket v4.channel.k8s.io), as a byte stream. Open
    one per connection to forward. Used by one thread at a time, except
    cancel(), which any thread may call.

        with kube.port_forward("default", "web", 80) as pf:
            pf.write(b"GET / HTTP/1.0\r\n\r\n")
            while chunk := pf.read():
                print(chunk)
    """

    def __init__(self, kube: Kube, namespace: str, pod: str, port: int, *, timeout_ms: int = 0,
                 timeout: Optional[float] = None) -> None:
        from .lifecycle import timeout_ms_of
        self._adopt(ll.port_forward_open(kube._h(), namespace, pod, port, timeout_ms_of(timeout, timeout_ms)))

    def read(self, size: int = 65536, timeout_ms: int = -1, *, timeout: Optional[float] = None) -> bytes:
        """Up to `size` bytes from the pod; b"" once it closed the connection.
        Raises Timeout when nothing came within `timeout` seconds (a float;
        0: do not wait; None: `timeout_ms`, whose default -1 is no limit),
        ApiError with the runtime's message when the forward failed,
        Canceled after cancel()."""
        from ._vcluster import ffi
        buf = ffi.new("char[]", size)
        rc, n = ll.port_forward_read(self._h(), buf, size, _wait_ms(timeout, timeout_ms))
        if rc == ll.Status.ITEROVER:
            return b""
        return bytes(ffi.buffer(buf, n))

    def write(self, data: bytes, timeout_ms: int = -1, *, timeout: Optional[float] = None) -> None:
        """Send all of `data` to the pod (within `timeout` seconds; None: `timeout_ms`, -1: no limit)."""
        from ._vcluster import ffi
        ll.port_forward_write(self._h(), ffi.from_buffer(data), len(data), _wait_ms(timeout, timeout_ms))

    def fileno(self) -> int:
        """The socket, for select/poll (read(timeout_ms=0) until Timeout first:
        bytes may wait inside)."""
        return ll.port_forward_get_fd(self._h())

    def splice(self, fd: int, idle_timeout_ms: int = 0) -> None:
        """Copy both ways between file descriptor `fd` and the pod until either side closes."""
        ll.port_forward_splice(self._h(), fd, idle_timeout_ms)

    def cancel(self) -> None:
        """Make a blocked read/write/splice (on another thread) raise Canceled."""
        ll.port_forward_cancel(self._h())

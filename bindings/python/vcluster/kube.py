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
                 in_cluster_dir: Optional[str] = None) -> None:
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

    def __repr__(self) -> str:
        if self.closed:
            return "<vcluster.Kube closed>"
        return f"<vcluster.Kube {self.server} context={self.context!r} namespace={self.namespace!r}>"

"""Translator: virtual object <-> host object (include/vcluster/translate.h).

Pure functions of the translator and their arguments: no I/O. Objects go in
as JSON text or as dicts and come back as dicts (or JSON text with the `_json`
variants of the low-level layer). One translator is used by one thread at a
time.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, List, Mapping, Optional, Tuple, Union

from . import _lowlevel as ll
from ._handle import Handle
from ._options import fill

Obj = Union[str, bytes, Mapping[str, Any]]


def _text(o: Optional[Obj]) -> Optional[Union[str, bytes]]:
    if o is None or isinstance(o, (str, bytes)):
        return o
    return json.dumps(o)


def _obj(text: str) -> Any:
    return json.loads(text) if text else None


class Translator(Handle):
    """The facts that decide how a virtual object looks on the host.

        with Translator("my-vc", kube_ip="10.96.0.10", dns_ip="10.96.0.11") as t:
            host_pod = t.to_host(pod)
    """

    def __init__(self, name: str, *, host_namespace: Optional[str] = None,
                 cluster_domain: Optional[str] = None, kube_ip: Optional[str] = None,
                 dns_ip: Optional[str] = None, owner_uid: Optional[str] = None,
                 workload_service_account: Optional[str] = None,
                 default_priority_class: Optional[str] = None, runtime_class: Optional[str] = None,
                 rewrite_hosts_image: Optional[str] = None, flags: int = 0, sync_to_host: int = 0,
                 enforce_tolerations: Iterable[str] = ()) -> None:
        tol = list(enforce_tolerations)
        keep: List[Any] = []
        opts = fill(ll.translate_options_init(), keep, name=name, host_namespace=host_namespace,
                    cluster_domain=cluster_domain, kube_ip=kube_ip, dns_ip=dns_ip, owner_uid=owner_uid,
                    workload_service_account=workload_service_account,
                    default_priority_class=default_priority_class, runtime_class=runtime_class,
                    rewrite_hosts_image=rewrite_hosts_image, flags=flags, sync_to_host=sync_to_host,
                    enforce_tolerations_count=len(tol), enforce_tolerations=tol or None)
        self._adopt(ll.translator_new(opts))

    @property
    def host_namespace(self) -> str:
        return ll.translator_host_namespace(self._h())

    def set_service_ips(self, kube_ip: Optional[str], dns_ip: Optional[str]) -> None:
        """Set (or clear with None) the virtual API server's and DNS's host Service IPs."""
        ll.translator_set_service_ips(self._h(), kube_ip, dns_ip)

    def host_name(self, kind: str, namespace: Optional[str], name: str) -> str:
        """The host name of virtual object (kind, namespace, name)."""
        return ll.translate_host_name(self._h(), kind, namespace, name)

    def virtual_name(self, host_obj: Obj) -> Tuple[str, str]:
        """(namespace, name) of a host object's virtual origin ("" namespace: cluster-scoped)."""
        return ll.translate_virtual_name(self._h(), _text(host_obj))

    def label_key(self, key: str) -> str:
        return ll.translate_label_key(self._h(), key)

    def namespace_label_key(self, key: str) -> str:
        return ll.translate_namespace_label_key(self._h(), key)

    def to_host(self, virtual_obj: Obj, inputs: Optional[Obj] = None, *, apply_defaults: bool = False,
                preview: bool = False) -> Any:
        """The host object to create (a dict; a [pod, secret] list when SA
        tokens go to a Secret). `inputs`: namespaceLabels, services,
        serviceAccountTokens, hostStorageClassMissing (see translate.h)."""
        flags = (ll.TRANSLATE_APPLY_DEFAULTS if apply_defaults else 0) | (ll.TRANSLATE_PREVIEW if preview else 0)
        return _obj(ll.translate_to_host(self._h(), _text(virtual_obj), _text(inputs), flags))

    def to_virtual_status(self, host_obj: Obj, virtual_obj: Obj) -> Any:
        """The virtual object with what flows back from its host object."""
        return _obj(ll.translate_to_virtual_status(self._h(), _text(host_obj), _text(virtual_obj)))

    def pod_binding(self, host_pod: Obj, virtual_pod: Obj) -> Any:
        """The v1 Binding to POST for the virtual pod, or None when none is needed."""
        return _obj(ll.translate_pod_binding(self._h(), _text(host_pod), _text(virtual_pod)))

    def merge_metadata(self, virtual_old: Optional[Obj], virtual: Obj, host_old: Optional[Obj],
                       host: Obj) -> Tuple[Any, Any]:
        """Bidirectional label/annotation merge: (virtual, host) with merged metadata."""
        v, h = ll.translate_merge_metadata(self._h(), _text(virtual_old), _text(virtual),
                                           _text(host_old), _text(host))
        return _obj(v), _obj(h)

    def pod_token_requests(self, virtual_pod: Obj) -> List[Any]:
        """The TokenRequests to make against the virtual API before to_host()."""
        return _obj(ll.translate_pod_token_requests(self._h(), _text(virtual_pod))) or []

    def pod_references(self, virtual_pod: Obj) -> Any:
        """ConfigMaps, Secrets and PVCs the pod uses, with their host names."""
        return _obj(ll.translate_pod_references(self._h(), _text(virtual_pod)))

    def manifests(self, text: Union[str, bytes], filename: Optional[str] = None, *,
                  inputs: Optional[Obj] = None, json_output: bool = False,
                  apply_defaults: bool = False, preview: bool = False) -> Tuple[str, str]:
        """Translate a YAML/JSON stream: (rendered host objects, notes on what
        stays virtual). `inputs` as for to_host(), applied to every document."""
        flags = (ll.TRANSLATE_OUTPUT_JSON if json_output else 0) | \
                (ll.TRANSLATE_APPLY_DEFAULTS if apply_defaults else 0) | (ll.TRANSLATE_PREVIEW if preview else 0)
        return ll.translate_manifests(self._h(), text, filename, _text(inputs), flags)

    def __repr__(self) -> str:
        return "<vcluster.Translator closed>" if self.closed else \
            f"<vcluster.Translator host_namespace={self.host_namespace!r}>"

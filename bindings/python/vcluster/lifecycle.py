"""Lifecycle of virtual clusters: create, list, status, connect, pause,
resume, delete, and kubeconfig merging (include/vcluster/lifecycle.h).

Calls may block up to their timeout, and can be cancelled:
`progress(step, message, done)` is called from inside the call on the calling
thread, and an exception it raises cancels the call (the C callback returns
non-zero, the call returns VC_ECANCELED within a tick) and is re-raised once
the call has returned. Ctrl-C works the same way even without `progress`:
the call checks at least every 100 ms while it waits, so Python's
KeyboardInterrupt is raised there, cancels the call and is re-raised.
What a cancelled call leaves is what a timeout at that moment would: see
vc_progress_fn in lifecycle.h.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple, Union

from . import _lowlevel as ll
from ._options import fill
from ._support import pystr, release
from ._vcluster import ffi, lib
from .config import Config
from .kube import Kube

Progress = Callable[[str, str, bool], None]


@dataclass(frozen=True)
class ClusterInfo:
    """What list and status report about one virtual cluster."""
    name: str
    host_namespace: str
    driver: str
    version: str
    created: str
    server: str
    message: str
    state: ll.ClusterState
    connected: bool


def _info(p: Any) -> ClusterInfo:
    try:
        st = ll.ClusterState(p.state)
    except ValueError:
        st = p.state
    return ClusterInfo(pystr(p.name), pystr(p.host_namespace), pystr(p.driver), pystr(p.version),
                       pystr(p.created), pystr(p.server), pystr(p.message), st, bool(p.connected))


class _ProgressCall:
    """Carries a Python progress callable through the C `user_data`. It is
    installed even without one, so that a KeyboardInterrupt (raised by
    Python in whatever Python code runs next: the callback) cancels."""

    def __init__(self, fn: Optional[Progress]) -> None:
        self.fn = fn
        self.exc: Optional[BaseException] = None
        self.handle = ffi.new_handle(self)

    def install(self, opts: Any) -> None:
        opts.progress = getattr(lib, ll.CALLBACKS["vc_progress_fn"])
        opts.progress_user_data = self.handle
        _escaped.exc = None

    def reraise(self) -> None:
        exc, self.exc = self.exc or _escaped.exc, None
        _escaped.exc = None
        if exc is not None:
            raise exc


# An exception that escaped the trampoline before its try (a signal's
# KeyboardInterrupt is raised at the first bytecode that runs): cffi then
# returns `error` (1: cancel) and hands the exception to _progress_onerror.
_escaped = threading.local()


def _progress_onerror(exc_type, exc, tb):  # pragma: no cover - called from C
    if getattr(_escaped, "exc", None) is None:
        _escaped.exc = exc if exc is not None else exc_type()


@ffi.def_extern(name=ll.CALLBACKS["vc_progress_fn"], error=1, onerror=_progress_onerror)
def _progress_trampoline(step, message, done, user_data):  # pragma: no cover - called from C
    call: _ProgressCall = ffi.from_handle(user_data)
    try:
        if call.exc is not None:
            return 1
        if call.fn is not None and done != lib.VC_PROGRESS_WAITING:
            call.fn(pystr(step), pystr(message), done == lib.VC_PROGRESS_DONE)
        return 0
    except BaseException as e:  # cancels; raised again after the call
        call.exc = e
        return 1


def _path(p: Optional[Union[str, os.PathLike]]) -> Optional[str]:
    return os.fspath(p) if p is not None else None


def timeout_ms_of(timeout: Optional[float], timeout_ms: int = 0) -> int:
    """Milliseconds for the C options from `timeout` (seconds, a float) or
    the older `timeout_ms`; None and 0 mean the library's default."""
    if timeout is None:
        return int(timeout_ms)
    if timeout_ms:
        raise TypeError("give timeout (seconds) or timeout_ms, not both")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout: seconds as a number, got {type(timeout).__name__}")
    if timeout < 0 or timeout != timeout:
        raise ValueError(f"timeout: {timeout} s is not a duration")
    ms = int(round(timeout * 1000))
    if ms > 2**31 - 1:
        raise ValueError(f"timeout: {timeout} s is too long (at most {(2**31 - 1) // 1000} s)")
    return max(ms, 1) if timeout > 0 else 0


def create(host: Kube, name: str, *, host_namespace: Optional[str] = None, driver: Optional[str] = None,
           distro: Optional[str] = None, backing_store: Optional[str] = None, config: Optional[Config] = None,
           bin_dir: Optional[str] = None, syncer_path: Optional[str] = None, state_dir: Optional[str] = None,
           timeout_ms: int = 0, upgrade: bool = False, expose: bool = False, wait: bool = True,
           print_only: bool = False, progress: Optional[Progress] = None,
           timeout: Optional[float] = None) -> str:
    """Create (or with upgrade=True, upgrade) a virtual cluster and, unless
    wait=False, wait until it serves (at most `timeout` seconds; None: 120).
    With print_only=True nothing changes and the rendered host manifests
    (YAML) are returned; else "". `vcluster.create()` returns a
    VirtualCluster instead."""
    flags = (ll.CREATE_UPGRADE if upgrade else 0) | (ll.CREATE_EXPOSE if expose else 0) | \
            (0 if wait else ll.CREATE_NO_WAIT) | (ll.CREATE_PRINT if print_only else 0)
    keep: List[Any] = []
    opts = fill(ll.create_options_init(), keep, flags=flags, name=name, host_namespace=host_namespace,
                driver=driver, distro=distro, backing_store=backing_store, bin_dir=_path(bin_dir),
                syncer_path=_path(syncer_path), state_dir=_path(state_dir),
                timeout_ms=timeout_ms_of(timeout, timeout_ms))
    if config is not None:
        opts.config = config._h()
    call = _ProgressCall(progress)
    call.install(opts)
    try:
        out = ll.cluster_create(host, opts)
    except BaseException:
        call.reraise()  # the callback's exception, if it cancelled the call
        raise
    call.reraise()
    return out


def list_clusters(host: Kube, host_namespace: Optional[str] = None) -> List[ClusterInfo]:
    """The virtual clusters of `host` (all namespaces unless one is given)."""
    lst = ll.cluster_list_get(host, host_namespace)
    try:
        return [_info(ll.cluster_list_at(lst, i)) for i in range(ll.cluster_list_count(lst))]
    finally:
        release(lst)  # vc_cluster_list_free() now


def status(host: Kube, name: str, host_namespace: Optional[str] = None) -> ClusterInfo:
    """Status of one virtual cluster (NotFound when there is none)."""
    info = ll.cluster_status(host, name, host_namespace)
    try:
        return _info(info)
    finally:
        release(info)  # vc_cluster_info_free() now


def connect(host: Kube, name: str, host_namespace: Optional[str] = None, server: Optional[str] = None) -> str:
    """A kubeconfig (YAML) for the virtual cluster; pass it to Kube.from_data().
    `vcluster.connect()` gives it as a dict (for the kubernetes client)."""
    return ll.cluster_connect(host, name, host_namespace, server)


def get_config(host: Kube, name: str, host_namespace: Optional[str] = None) -> str:
    """The effective vcluster.yaml (defaults and the user's values) the virtual
    cluster was created or last upgraded with: what `vcluster describe` shows.
    Load it with Config.load_string() to ask its distro, store or any key."""
    return ll.cluster_get_config(host, name, host_namespace)


def certs_render(name: str, host_namespace: str, config: Optional[Config] = None,
                 service_ip: Optional[str] = None, service_cidr: Optional[str] = None,
                 existing_data: Optional[dict] = None) -> dict:
    """The kubernetes driver's PKI as host Secrets, made without a host
    connection (what the init container of `vcluster render` manifests makes
    at first start): {"certs": Secret NAME-certs, "kubeconfig": Secret vc-NAME}.
    `existing_data`: the data map of an existing NAME-certs (kept)."""
    text = ll.cluster_certs_render(name, host_namespace, config._h() if config is not None else ffi.NULL,
                                   service_ip, service_cidr,
                                   json.dumps(existing_data) if existing_data is not None else None)
    return json.loads(text)


def find_pod(host: Kube, name: str, host_namespace: Optional[str] = None,
             pod: Optional[str] = None) -> Tuple[str, int]:
    """(pod name, port) of the control plane pod (kubernetes driver) to
    port-forward to: a Ready one, or `pod` if it is one and Ready."""
    return ll.cluster_find_pod(host, name, host_namespace, pod)


def _op(fn: Callable[..., Any], host: Kube, name: str, host_namespace: Optional[str], flags: int,
        timeout_ms: int, progress: Optional[Progress], bin_dir: Optional[str], syncer_path: Optional[str],
        state_dir: Optional[str]) -> None:
    keep: List[Any] = []
    opts = fill(ll.cluster_op_options_init(), keep, flags=flags, timeout_ms=timeout_ms, bin_dir=_path(bin_dir),
                syncer_path=_path(syncer_path), state_dir=_path(state_dir))
    call = _ProgressCall(progress)
    call.install(opts)
    try:
        fn(host, name, host_namespace, opts)
    except BaseException:
        call.reraise()  # the callback's exception, if it cancelled the call
        raise
    call.reraise()


def pause(host: Kube, name: str, host_namespace: Optional[str] = None, *, timeout_ms: int = 0,
          progress: Optional[Progress] = None, bin_dir: Optional[str] = None, syncer_path: Optional[str] = None,
          state_dir: Optional[str] = None, timeout: Optional[float] = None) -> None:
    """Stop the control plane and delete its host workloads; data is kept.
    `timeout` in seconds (None: 120)."""
    _op(ll.cluster_pause, host, name, host_namespace, 0, timeout_ms_of(timeout, timeout_ms), progress, bin_dir,
        syncer_path, state_dir)


def resume(host: Kube, name: str, host_namespace: Optional[str] = None, *, timeout_ms: int = 0,
           progress: Optional[Progress] = None, bin_dir: Optional[str] = None, syncer_path: Optional[str] = None,
           state_dir: Optional[str] = None, timeout: Optional[float] = None) -> None:
    """Resume a paused virtual cluster. `timeout` in seconds (None: 120)."""
    _op(ll.cluster_resume, host, name, host_namespace, 0, timeout_ms_of(timeout, timeout_ms), progress, bin_dir,
        syncer_path, state_dir)


def delete(host: Kube, name: str, host_namespace: Optional[str] = None, *, keep_pvc: bool = False,
           delete_namespace: bool = False, timeout_ms: int = 0, progress: Optional[Progress] = None,
           bin_dir: Optional[str] = None, syncer_path: Optional[str] = None,
           state_dir: Optional[str] = None, timeout: Optional[float] = None) -> None:
    """Delete a virtual cluster and everything it created on the host.
    `timeout` in seconds (None: 120)."""
    flags = (ll.DELETE_KEEP_PVC if keep_pvc else 0) | (ll.DELETE_NAMESPACE if delete_namespace else 0)
    _op(ll.cluster_delete, host, name, host_namespace, flags, timeout_ms_of(timeout, timeout_ms), progress, bin_dir,
        syncer_path, state_dir)


def kubeconfig_merge(path: Optional[Union[str, os.PathLike]], kubeconfig_yaml: str,
                     use_context: Optional[str] = None) -> None:
    """Merge kubeconfig YAML into a kubeconfig file (None: kubectl's file)."""
    ll.kubeconfig_merge(_path(path), kubeconfig_yaml, use_context)


def kubeconfig_remove_context(path: Optional[Union[str, os.PathLike]], context: str) -> None:
    """Remove a context (and its unused cluster and user) from the file."""
    ll.kubeconfig_remove_context(_path(path), context)


def kubeconfig_restore_context(path: Optional[Union[str, os.PathLike]] = None) -> str:
    """Go back to the context current before the last merge; returns it."""
    return ll.kubeconfig_restore_context(_path(path))

"""VirtualCluster: one virtual cluster as an object, over vcluster.lifecycle.

    with vcluster.Kube("~/.kube/config") as host:
        with vcluster.create(host, "demo", driver="local", delete_on_exit=True) as vc:
            cfg = vc.connect()                  # a kubeconfig dict
            api = kubernetes.config.new_client_from_config_dict(cfg)
            ...
        # deleted here (delete_on_exit=True)

Timeouts are seconds (floats). Long calls can be interrupted with Ctrl-C
(KeyboardInterrupt cancels the C call within a tick; see lifecycle).
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Union

from . import lifecycle
from .config import Config
from .errors import AlreadyExists, Error
from .kube import Kube
from .lifecycle import ClusterInfo, Progress

PathLike = Union[str, "os.PathLike[str]"]


def kubeconfig_dict(kubeconfig_yaml: str) -> Dict[str, Any]:
    """Parse kubeconfig YAML (as connect gives it) into the dict that
    kubernetes.config.new_client_from_config_dict() and load_kube_config_from_dict() take."""
    try:
        import yaml
    except ImportError as e:  # pragma: no cover - pyyaml is a dependency
        raise ImportError("vcluster: connect() as a dict needs PyYAML (pip install pyyaml)") from e
    d = yaml.safe_load(kubeconfig_yaml)
    if not isinstance(d, dict) or not d.get("clusters") or not d.get("users") or not d.get("contexts"):
        raise ValueError("vcluster: the kubeconfig has no clusters, users or contexts")
    return d


class VirtualCluster:
    """A virtual cluster in a host cluster, by name. Made by vcluster.create(),
    or for one that exists: VirtualCluster(host, name). The host connection
    is borrowed (keep it open while this is used). As a context manager it
    deletes the virtual cluster on exit when delete_on_exit is true.

    The local driver's paths (bin_dir, syncer_path, state_dir) are kept for
    pause, resume and delete."""

    def __init__(self, host: Kube, name: str, host_namespace: Optional[str] = None, *,
                 delete_on_exit: bool = False, bin_dir: Optional[PathLike] = None,
                 syncer_path: Optional[PathLike] = None, state_dir: Optional[PathLike] = None) -> None:
        self.host = host
        self.name = name
        self._ns = host_namespace
        self.delete_on_exit = delete_on_exit
        self._paths = dict(bin_dir=_p(bin_dir), syncer_path=_p(syncer_path), state_dir=_p(state_dir))
        self.deleted = False

    @property
    def host_namespace(self) -> str:
        """The host namespace ("vcluster-<name>" unless given)."""
        return self._ns or f"vcluster-{self.name}"

    def status(self) -> ClusterInfo:
        """State, driver, version, server... (NotFound once it is gone)."""
        return lifecycle.status(self.host, self.name, self._ns)

    def kubeconfig(self, server: Optional[str] = None) -> str:
        """The kubeconfig of the virtual cluster as YAML text."""
        return lifecycle.connect(self.host, self.name, self._ns, server)

    def connect(self, server: Optional[str] = None) -> Dict[str, Any]:
        """The kubeconfig as a dict, for the official client:
        kubernetes.config.new_client_from_config_dict(vc.connect())."""
        return kubeconfig_dict(self.kubeconfig(server))

    def kube(self, server: Optional[str] = None, **kw: Any) -> Kube:
        """A vcluster.Kube connection to the virtual cluster (close it, or use `with`)."""
        return Kube.from_data(self.kubeconfig(server), **kw)

    def pause(self, *, timeout: Optional[float] = None, progress: Optional[Progress] = None) -> None:
        """Stop the control plane and delete its host workloads; data is kept."""
        lifecycle.pause(self.host, self.name, self._ns, timeout=timeout, progress=progress, **self._paths)

    def resume(self, *, timeout: Optional[float] = None, progress: Optional[Progress] = None) -> None:
        """Resume a paused virtual cluster."""
        lifecycle.resume(self.host, self.name, self._ns, timeout=timeout, progress=progress, **self._paths)

    def delete(self, *, keep_pvc: bool = False, delete_namespace: bool = False, timeout: Optional[float] = None,
               progress: Optional[Progress] = None) -> None:
        """Delete it and everything it created on the host."""
        lifecycle.delete(self.host, self.name, self._ns, keep_pvc=keep_pvc, delete_namespace=delete_namespace,
                         timeout=timeout, progress=progress, **self._paths)
        self.deleted = True

    def __enter__(self) -> "VirtualCluster":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.delete_on_exit and not self.deleted:
            self.delete()

    def __repr__(self) -> str:
        return f"<vcluster.VirtualCluster {self.name!r} in {self.host_namespace!r}>"


def create(host: Kube, name: str, *, delete_on_exit: bool = False, host_namespace: Optional[str] = None,
           driver: Optional[str] = None, distro: Optional[str] = None, backing_store: Optional[str] = None,
           config: Optional[Config] = None, bin_dir: Optional[PathLike] = None,
           syncer_path: Optional[PathLike] = None, state_dir: Optional[PathLike] = None,
           timeout: Optional[float] = None, upgrade: bool = False, expose: bool = False, wait: bool = True,
           progress: Optional[Progress] = None) -> VirtualCluster:
    """Create (or with upgrade=True, upgrade) a virtual cluster and wait until
    it serves (at most `timeout` seconds; None: 120), returning it as a
    VirtualCluster. With delete_on_exit=True, `with vcluster.create(...) as vc:`
    deletes it when the block ends, and a create that fails half-way
    (timeout, Ctrl-C, an error after the first objects) deletes what it made
    before raising."""
    paths = dict(bin_dir=_p(bin_dir), syncer_path=_p(syncer_path), state_dir=_p(state_dir))
    try:
        lifecycle.create(host, name, host_namespace=host_namespace, driver=driver, distro=distro,
                         backing_store=backing_store, config=config, timeout=timeout, upgrade=upgrade,
                         expose=expose, wait=wait, progress=progress, **paths)
    except BaseException as e:
        if delete_on_exit and not isinstance(e, AlreadyExists):
            try:
                lifecycle.delete(host, name, host_namespace, **paths)
            except Error:
                pass  # nothing was made, or it is gone already: the first error counts
        raise
    return VirtualCluster(host, name, host_namespace, delete_on_exit=delete_on_exit, **paths)


def connect(host: Kube, name: str, host_namespace: Optional[str] = None,
            server: Optional[str] = None) -> Dict[str, Any]:
    """The kubeconfig of virtual cluster `name` as a dict (for
    kubernetes.config.new_client_from_config_dict); lifecycle.connect() gives YAML."""
    return kubeconfig_dict(lifecycle.connect(host, name, host_namespace, server))


def _p(p: Optional[PathLike]) -> Optional[str]:
    return os.fspath(p) if p is not None else None

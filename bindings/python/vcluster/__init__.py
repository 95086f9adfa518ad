"""libvcluster for Python: virtual Kubernetes clusters, embeddable.

The low-level layer (`vcluster.lowlevel`, one function per C function) is
generated from the C headers by bindings/gen/generate.py; the classes here
add lifetimes (close(), `with`, ffi.gc) and exceptions.
"""
from __future__ import annotations


def _load_bundled():
    """A wheel carries libvcluster in vcluster/_libs/ (setup.py): load that
    copy first, by path, so the extension's DT_NEEDED is met by it and never
    by another libvcluster on LD_LIBRARY_PATH or in the system's paths."""
    import ctypes
    import os
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_libs")
    try:
        names = sorted(n for n in os.listdir(d) if n.startswith("libvcluster.so"))
    except OSError:
        return None  # not a wheel: the extension's own rpath or the system finds it
    for n in names:
        ctypes.CDLL(os.path.join(d, n), mode=ctypes.RTLD_GLOBAL)
    return d


#: The directory of the bundled library (a wheel), or None.
BUNDLED_LIBDIR = _load_bundled()

try:
    from ._vcluster import ffi, lib
except ImportError as e:  # pragma: no cover
    raise ImportError(
        "vcluster: the compiled extension vcluster._vcluster is missing or cannot load "
        f"({e}). Install with `pip install ./bindings/python` (PKG_CONFIG_PATH must find "
        "libvcluster), or build in place with `python3 bindings/python/vcluster/_build.py`.") from e

from . import _lowlevel as lowlevel
from ._lowlevel import ErrorClass, LogLevel, Status  # noqa: F401
from .errors import *  # noqa: F401,F403
from .errors import ERRORS, Error
from .kube import Kube, PortForward, Response
from .translate import Translator
from .syncer import Syncer, SyncEvent
from .kubelet import KubeletProxy
from .config import Config
from ._lowlevel import BackingStore, StepState, SyncEventType  # noqa: F401
from . import lifecycle, log
from .lifecycle import ClusterInfo
from .cluster import VirtualCluster, connect, create, kubeconfig_dict
from ._lowlevel import ClusterState  # noqa: F401

# The runtime library must be at least as new as the headers these bindings
# were generated from, within the same major (the extension would not even
# load on an older library: cffi resolves every function at import).
_runtime, VERSION_STRING = lowlevel.version()
if _runtime >> 16 != lowlevel.GENERATED_VERSION >> 16 or _runtime < lowlevel.GENERATED_VERSION:
    raise ImportError(f"vcluster: libvcluster {VERSION_STRING} is loaded, but these bindings need "
                      f"{lowlevel.VERSION_STRING} or newer within the same major")
VERSION_NUMBER = _runtime

# Refcounted global init; never shut down behind the user's back (objects
# collected at exit still need the library). Call vcluster.lowlevel.global_shutdown()
# yourself to balance it if you must.
lowlevel.global_init(None)
log.set_level()


def version() -> str:
    """The runtime libvcluster version, e.g. "0.1.0"."""
    return VERSION_STRING


def strerror(code: int) -> str:
    """The library's description of a status code."""
    return lowlevel.strerror(code)


__all__ = ["BackingStore", "ClusterInfo", "ClusterState", "Config", "Error", "ERRORS", "ErrorClass", "Kube", "KubeletProxy", "LogLevel", "PortForward", "Response",
           "Status", "StepState", "SyncEvent", "SyncEventType", "Syncer", "Translator", "VirtualCluster", "connect",
           "create", "ffi", "kubeconfig_dict", "lib", "lifecycle", "log", "lowlevel", "strerror", "version"] + [c.__name__ for c in ERRORS.values()]

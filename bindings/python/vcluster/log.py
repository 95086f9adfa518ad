"""Route libvcluster's log sink (vc_log_set) to the `logging` module.

Messages go to the logger "vcluster.<subsystem>" ("vcluster.kube", ...). The
sink is installed at import at WARNING; `set_level()` changes what the
library formats at all (it skips messages above its max level), so DEBUG and
TRACE cost nothing unless asked for. The callback is an `extern "Python"`
trampoline: no per-call C closure, safe from any thread the library logs on.
"""
from __future__ import annotations

import logging
from typing import Optional

from . import _lowlevel as ll
from ._vcluster import ffi, lib

TRACE = 5  # below logging.DEBUG
logging.addLevelName(TRACE, "TRACE")

_TO_PY = {ll.LOG_ERROR: logging.ERROR, ll.LOG_WARN: logging.WARNING, ll.LOG_INFO: logging.INFO,
          ll.LOG_DEBUG: logging.DEBUG, ll.LOG_TRACE: TRACE}


def _to_vc(level: int) -> int:
    """The most verbose vc level a Python level lets through."""
    if level <= TRACE:
        return ll.LOG_TRACE
    if level <= logging.DEBUG:
        return ll.LOG_DEBUG
    if level <= logging.INFO:
        return ll.LOG_INFO
    if level <= logging.WARNING:
        return ll.LOG_WARN
    return ll.LOG_ERROR


def _onerror(exc, value, tb) -> None:
    # Never let a logging failure unwind into C.
    return None


@ffi.def_extern(name=ll.CALLBACKS["vc_log_fn"], onerror=_onerror)
def _log_trampoline(level, subsystem, msg, user_data):  # pragma: no cover - called from C
    sub = ffi.string(subsystem).decode("utf-8", "replace") if subsystem != ffi.NULL else "core"
    text = ffi.string(msg).decode("utf-8", "replace") if msg != ffi.NULL else ""
    logging.getLogger(f"vcluster.{sub}").log(_TO_PY.get(level, logging.INFO), "%s", text)


_level: Optional[int] = None


def set_level(level: int = logging.WARNING) -> None:
    """Install the sink, letting through messages at `level` (a logging level) and above."""
    global _level
    _level = level
    ll.log_set(_to_vc(level), getattr(lib, ll.CALLBACKS["vc_log_fn"]), ffi.NULL)


def disable() -> None:
    """Remove the sink: the library formats no message at all."""
    global _level
    _level = None
    ll.log_set(0, ffi.NULL, ffi.NULL)


def level() -> Optional[int]:
    """The level set with set_level(), or None when disabled."""
    return _level

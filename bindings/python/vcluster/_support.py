"""Helpers the generated low-level layer (_lowlevel.py) is written against.

Hand-written, small and generic: argument conversion, the buffer and handle
rules of the headers, and turning a status < 0 into an exception.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

from ._vcluster import ffi, lib


def cstr(value: Optional[Union[str, bytes]], name: str = "") -> Any:
    """A `const char *` argument: str is encoded as UTF-8, None is NULL."""
    if value is None:
        return ffi.NULL
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{name or 'argument'}: expected str, bytes or None, got {type(value).__name__}")
    if b"\0" in value:
        raise ValueError(f"{name or 'argument'}: embedded NUL character")
    return bytes(value)


def cbytes(value: Optional[Union[str, bytes]]) -> Optional[bytes]:
    """A `const char *p, size_t len` pair: any bytes, NUL included."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def pystr(ptr: Any) -> str:
    """Copy a borrowed `const char *` into a str ("" for NULL)."""
    if ptr == ffi.NULL:
        return ""
    return ffi.string(ptr).decode("utf-8", "surrogateescape")


def buf_str(buf: Any) -> str:
    """The text of a filled vc_buf (the caller disposes the buffer)."""
    if buf.ptr == ffi.NULL:
        return ""
    return ffi.unpack(buf.ptr, buf.size).decode("utf-8", "surrogateescape")


def handle(obj: Any, name: str = "") -> Any:
    """An opaque handle argument: a cdata, or a wrapper object exposing `_cdata`."""
    if obj is None:
        raise TypeError(f"{name or 'handle'}: None is not a handle")
    c = getattr(obj, "_cdata", obj)
    if c is None:
        raise ValueError(f"{name or 'handle'}: the object is closed")
    return c


def struct_ptr(obj: Any) -> Any:
    """A `const T *` argument (options): cdata, a wrapper with `_cdata`, or None (NULL)."""
    if obj is None:
        return ffi.NULL
    return getattr(obj, "_cdata", obj)


def owned(ptr: Any, destructor: Callable[[Any], None]) -> Any:
    """A `T **out` result: owned by us; ffi.gc frees it if nobody closes it first."""
    if ptr == ffi.NULL:
        return None
    return ffi.gc(ptr, destructor)


def release(ptr: Any) -> None:
    """Run the destructor of an owned handle now (idempotent from the wrappers)."""
    if ptr is not None:
        ffi.release(ptr)


def check(rc: int, function: str) -> None:
    """Raise the vcluster.Error subclass for a status < 0, with vc_error_last()."""
    if rc >= 0:
        return
    from .errors import error_from_last  # late: errors imports _lowlevel
    raise error_from_last(rc, function)

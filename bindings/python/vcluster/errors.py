"""The exception hierarchy: a status < 0 becomes an `Error` subclass.

Every error carries what vc_error_last() said on the failing thread:
`code` (a Status), `klass` (an ErrorClass), `http_status` (0 when no HTTP
exchange was involved), `reason` (the Kubernetes Status reason, e.g.
"NotFound", or "") and `message` (one line), plus the C `function`.
"""
from __future__ import annotations

from typing import Dict, Type

from ._lowlevel import ErrorClass, Status
from ._vcluster import ffi, lib


class Error(Exception):
    """A libvcluster call failed."""

    def __init__(self, code: int, message: str, *, klass: int = 0, http_status: int = 0,
                 reason: str = "", function: str = "") -> None:
        super().__init__(message)
        try:
            self.code = Status(code)
        except ValueError:  # a code newer than these bindings
            self.code = code  # type: ignore[assignment]
        try:
            self.klass = ErrorClass(klass)
        except ValueError:
            self.klass = klass  # type: ignore[assignment]
        self.http_status = http_status
        self.reason = reason
        self.message = message
        self.function = function

    def __str__(self) -> str:
        name = self.code.name if isinstance(self.code, Status) else str(self.code)
        where = f"{self.function}: " if self.function else ""
        return f"{where}{self.message} [{name}" + (f", HTTP {self.http_status}" if self.http_status else "") + "]"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status}, "
                f"reason={self.reason!r}, message={self.message!r})")


class GenericError(Error): pass                     # VC_EGENERIC
class OutOfMemory(Error, MemoryError): pass          # VC_ENOMEM
class InvalidArgument(Error, ValueError): pass       # VC_EINVAL
class VersionError(Error): pass                      # VC_EVERSION
class NotFound(Error, LookupError): pass             # VC_ENOTFOUND
class AlreadyExists(Error): pass                     # VC_EEXISTS
class Conflict(Error): pass                          # VC_ECONFLICT
class Timeout(Error, TimeoutError): pass             # VC_ETIMEDOUT
class ApiError(Error): pass                          # VC_EAPI
class StateError(Error): pass                        # VC_ESTATE
class ConnectError(Error, ConnectionError): pass     # VC_ECONNECT
class AuthError(Error): pass                         # VC_EAUTH
class Forbidden(Error, PermissionError): pass        # VC_EFORBIDDEN
class Gone(Error): pass                              # VC_EGONE
class IOFailure(Error, OSError): pass                # VC_EIO
class NotSupported(Error): pass                      # VC_ENOTSUPPORTED
class ConfigError(Error): pass                       # VC_ECONFIG
class TLSError(Error): pass                          # VC_ETLS
class InvalidObject(Error): pass                     # VC_EINVALIDOBJ
class TooManyRequests(Error): pass                   # VC_ETOOMANY
class Canceled(Error): pass                          # VC_ECANCELED

#: Status -> exception class. A code missing here (newer than this table)
#: raises the base Error; tests/test_errors.py checks the table is complete.
ERRORS: Dict[int, Type[Error]] = {
    Status.EGENERIC: GenericError, Status.ENOMEM: OutOfMemory, Status.EINVAL: InvalidArgument,
    Status.EVERSION: VersionError, Status.ENOTFOUND: NotFound, Status.EEXISTS: AlreadyExists,
    Status.ECONFLICT: Conflict, Status.ETIMEDOUT: Timeout, Status.EAPI: ApiError,
    Status.ESTATE: StateError, Status.ECONNECT: ConnectError, Status.EAUTH: AuthError,
    Status.EFORBIDDEN: Forbidden, Status.EGONE: Gone, Status.EIO: IOFailure,
    Status.ENOTSUPPORTED: NotSupported, Status.ECONFIG: ConfigError, Status.ETLS: TLSError,
    Status.EINVALIDOBJ: InvalidObject, Status.ETOOMANY: TooManyRequests, Status.ECANCELED: Canceled,
}


def _s(p) -> str:
    return "" if p == ffi.NULL else ffi.string(p).decode("utf-8", "surrogateescape")


def error_from_last(rc: int, function: str = "") -> Error:
    """Build the exception for status `rc` from this thread's vc_error_last().

    Called right after the failing call, on the same thread (cffi calls run on
    the calling OS thread), so the thread-local error is the call's own."""
    e = lib.vc_error_last()
    code = e.code if e.code != 0 else rc
    msg = _s(e.message) or _s(lib.vc_strerror(code))
    cls = ERRORS.get(code, Error)
    return cls(code, msg, klass=e.klass, http_status=e.http_status, reason=_s(e.reason), function=function)

"""The base of every wrapper around an owned handle."""
from __future__ import annotations

from typing import Any, Optional

from . import _support


class Handle:
    """Owns one `vc_x *`: close() frees it at once (idempotent), `with` closes
    it on exit, and ffi.gc frees it when the wrapper is collected unclosed.
    The headers promise that children keep their parents alive, so
    collection order does not matter."""

    _cdata: Optional[Any] = None

    def _adopt(self, cdata: Any) -> None:
        self._cdata = cdata

    @property
    def closed(self) -> bool:
        return self._cdata is None

    def close(self) -> None:
        c, self._cdata = self._cdata, None
        _support.release(c)

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _h(self) -> Any:
        if self._cdata is None:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._cdata

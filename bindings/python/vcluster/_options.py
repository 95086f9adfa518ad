"""Fill a versioned options struct from Python values.

cffi does not own what a `const char *` field points to, so every string
written into a struct is kept alive in `keep` as long as the struct is used.
"""
from __future__ import annotations

from typing import Any, List

from ._vcluster import ffi


def fill(opts: Any, keep: List[Any], **fields: Any) -> Any:
    for name, value in fields.items():
        if value is None:
            continue
        cur = getattr(opts, name)
        ctype = ffi.typeof(cur) if isinstance(cur, ffi.CData) else None
        if ctype is not None and ctype.kind == "pointer" and ctype.item.kind == "pointer":
            arr = [ffi.new("char[]", v.encode("utf-8")) for v in value]
            keep.extend(arr)
            p = ffi.new("char *[]", arr + [ffi.NULL])
            keep.append(p)
            setattr(opts, name, p)
        elif ctype is not None and ctype.kind == "pointer":
            b = value.encode("utf-8") if isinstance(value, str) else bytes(value)
            c = ffi.new("char[]", b)
            keep.append(c)
            setattr(opts, name, c)
        else:
            setattr(opts, name, value)
    return opts

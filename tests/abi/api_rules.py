#!/usr/bin/env python3
"""ABI rules of the public headers that a compiler does not check.

    api_rules.py [SOURCE_ROOT]

1. No enum type crosses the ABI: a function parameter or result, or a
   struct field, whose type is one of the public enums (at any pointer
   level) fails. An enum's size is the compiler's choice (C: "compatible
   with char, a signed or an unsigned integer type"; C++ and -fshort-enums
   differ), and bindings must guess it: use int32_t and name the enum in
   the doc comment.
2. No public struct embeds another transparent public struct by value:
   either could then never grow (vc_sync_event held a vc_error).
3. A function that returns `int` returns a status: its doc comment says
   `@return` with the VC_ codes. The binding generator reads every `int`
   result as a status; a value (vc_config_backing_store's enum) must come
   through an out parameter instead.
The headers are read by bindings/gen/cheader.py, as the bindings read them.
"""
import sys
from pathlib import Path

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'bindings' / 'gen'))
import cheader  # noqa: E402


def main() -> int:
    api = cheader.parse(ROOT)
    enums = {e.name for e in api.enums}
    bad = []
    for f in api.functions:
        if f.ret.base in enums:
            bad.append(f'{f.name}: returns enum {f.ret.base}; return int (a status) and pass the value out as int32_t')
        for p in f.params:
            if p.type.base in enums:
                bad.append(f'{f.name}: parameter {p.name} has enum type {p.type}; use int32_t')
        if f.ret.text == 'int' and ('@return' not in f.doc or 'VC_' not in f.doc.split('@return', 1)[1]):
            bad.append(f'{f.name}: returns int but its doc names no status (@return VC_...); '
                       'a value goes through an out parameter')
    for s in api.structs.values():
        for fld in s.fields or []:
            if fld.fnptr is not None:
                continue
            if fld.type.base in enums:
                bad.append(f'{s.name}.{fld.name}: enum type {fld.type}; use int32_t')
            inner = api.structs.get(fld.type.base)
            if inner is not None and inner.fields is not None and fld.type.stars == 0:
                bad.append(f'{s.name}.{fld.name}: embeds {inner.name} by value, so neither can grow; use a pointer')
    for b in bad:
        print('FAIL', b)
    print(f'{len(api.functions)} functions, {len(api.structs)} structs, {len(enums)} enums checked; '
          f'{len(bad)} problem(s)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())

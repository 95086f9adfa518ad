#!/usr/bin/env python3
"""Generate the Python and Go low-level bindings from libvcluster's public headers.

    python3 bindings/gen/generate.py            regenerate the committed files
    python3 bindings/gen/generate.py --check    exit 1 if any file is stale or any
                                                VC_API function has no binding
    python3 bindings/gen/generate.py --list     print the model (functions, roles)

Every header under include/ is read through the C preprocessor
(`$CC -E -C -dD -DVC_CDEF`), so a new header and every function in it are
picked up with no change here. Ownership comes from the doc comments (see
cheader.classify). Standard library only.
"""
from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cheader  # noqa: E402
import gogen  # noqa: E402
import pygen  # noqa: E402


def outputs(api: cheader.Api) -> dict[str, str]:
    return {
        'bindings/python/vcluster/_cdef.h': pygen.cdef(api),
        'bindings/python/vcluster/_build.py': pygen.build_py(api),
        'bindings/python/vcluster/_lowlevel.py': pygen.lowlevel_py(api),
        'bindings/go/vcluster/zz_shims.h': gogen.shims_h(api),
        'bindings/go/vcluster/zz_shims.c': gogen.shims_c(api),
        'bindings/go/vcluster/zz_trampolines.c': gogen.trampolines_c(api),
        'bindings/go/vcluster/zz_generated.go': gogen.generated_go(api),
    }


def bound_functions(root: Path) -> dict[str, set[str]]:
    """The C functions the committed generated files call, per language."""
    def read(p: str) -> str:
        f = root / p
        return f.read_text(encoding='utf-8') if f.exists() else ''
    py = set(re.findall(r'\blib\.(vc_\w+)\(', read('bindings/python/vcluster/_lowlevel.py')))
    go = read('bindings/go/vcluster/zz_generated.go')
    gos = set(re.findall(r'\bC\.vcgo_(vc_\w+)\(', go)) | set(re.findall(r'\bC\.(vc_\w+)\(', go))
    return {'python': py, 'go': gos}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--check', action='store_true', help='fail if generated files are stale')
    ap.add_argument('--list', action='store_true', help='print functions and parameter roles')
    ap.add_argument('--root', type=Path, default=HERE.parent.parent, help='source tree (default: this one)')
    ap.add_argument('--cc', default='', help='C compiler for -E (default: $CC or cc)')
    ap.add_argument('--exclude', action='append', default=[], metavar='HEADER',
                    help='development only: leave out a header (e.g. include/vcluster/syncer.h) whose '
                         'functions the library does not export yet; --check never excludes')
    a = ap.parse_args()
    root = a.root.resolve()
    try:
        api = cheader.parse(root, a.cc, exclude=[] if a.check else a.exclude)
    except cheader.HeaderError as e:
        print(f'generate.py: error: {e}', file=sys.stderr)
        return 1
    for w in api.warnings:
        print(f'generate.py: warning: {w}', file=sys.stderr)
    for h in api.umbrella_missing:
        print(f'generate.py: warning: {h} is not included by include/vcluster.h '
              '(bound anyway; add it to include/vcluster/vcluster.h)', file=sys.stderr)

    if a.list:
        for f in api.functions:
            roles = ', '.join(f'{p.name}:{p.kind}' + (f'[{p.destructor}]' if p.destructor else '')
                              for p in f.params)
            info = f' info={",".join(f.info_codes)}' if f.info_codes else ''
            print(f'{f.header}: {f.name} -> {f.returns}{info} ({roles})')
        return 0

    files = outputs(api)
    if not a.check:
        for rel, text in files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if not p.exists() or p.read_text(encoding='utf-8') != text:
                p.write_text(text, encoding='utf-8')
                print(f'wrote {rel}')
        print(f'{len(api.functions)} functions from {len(api.headers)} headers bound')
        return 0

    ok = True
    bound = bound_functions(root)
    for lang, names in bound.items():
        for f in api.functions:
            if f.name not in names:
                print(f'FAIL: {f.name} ({f.header}) has no {lang} binding', file=sys.stderr)
                ok = False
    for rel, text in files.items():
        p = root / rel
        cur = p.read_text(encoding='utf-8') if p.exists() else ''
        if cur != text:
            ok = False
            diff = list(difflib.unified_diff(cur.splitlines(), text.splitlines(), f'a/{rel}', f'b/{rel}',
                                             lineterm='', n=1))
            print(f'FAIL: {rel} is stale ({len(diff)} diff lines); first lines:', file=sys.stderr)
            for line in diff[:20]:
                print('    ' + line, file=sys.stderr)
    if not ok:
        print('generated bindings are stale: run `python3 bindings/gen/generate.py` and commit the result',
              file=sys.stderr)
        return 1
    print(f'{len(api.functions)} functions from {len(api.headers)} headers: bindings up to date')
    return 0


if __name__ == '__main__':
    sys.exit(main())

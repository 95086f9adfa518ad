#!/usr/bin/env python3
"""Generate doc/api.md from the doc comments of include/vcluster/*.h.

  tests/tools/apidoc.py            write doc/api.md
  tests/tools/apidoc.py --check    fail when doc/api.md is stale or a
                                   public function has no doc comment
"""
import pathlib, re, sys

root = pathlib.Path(__file__).resolve().parents[2]
order = ['common.h', 'version.h', 'kube.h', 'config.h', 'translate.h', 'syncer.h', 'lifecycle.h']
headers = sorted((root / 'include' / 'vcluster').glob('*.h'),
                 key=lambda p: (order.index(p.name) if p.name in order else 99, p.name))

def clean(comment):
    lines = []
    for l in comment.splitlines():
        l = re.sub(r'^\s*/\*\*?\s?', '', l)
        l = re.sub(r'\s*\*/\s*$', '', l)
        l = re.sub(r'^\s*\*\s?', '', l)
        lines.append(l.rstrip())
    text = '\n'.join(lines).strip()
    text = re.sub(r'@return', '**Returns**', text)
    text = re.sub(r'@since (\S+)', r'*Since \1.*', text)
    return text

out = ['# libvcluster API reference', '',
       'Generated from the doc comments of `include/vcluster/*.h` by `tests/tools/apidoc.py`; do not edit.',
       'Ownership: `**out` results belong to the caller and are released with the matching `vc_*_free()`;',
       'returned `const` pointers are borrowed; strings in a `vc_buf` are released with `vc_buf_dispose()`.', '']
missing = []
for h in headers:
    text = h.read_text()
    out += [f'## `vcluster/{h.name}`', '']
    head = re.match(r'\s*/\*(.*?)\*/', text, re.S)
    if head and 'VCLUSTER_' not in head.group(1)[:40]:
        out += [clean('/*' + head.group(1) + '*/'), '']
    # doc comment followed by a declaration
    for m in re.finditer(r'/\*\*((?:(?!\*/).)*?)\*/\s*\n((?:[^;{]|\{[^}]*\})*?[;}])', text, re.S):
        doc, decl = m.group(1), m.group(2).strip()
        if decl.startswith('#'):
            decl = decl.split('\n')[0]
        decl = re.sub(r'\s+', ' ', decl)
        name = re.search(r'\b(vc_\w+|VC_\w+)\s*(\(|;|\{|$)', decl) or re.search(r'\b(vc_\w+|VC_\w+)', decl)
        title = name.group(1) if name else decl[:40]
        out += [f'### `{title}`', '', '```c', decl, '```', '', clean('/**' + doc + '*/'), '']
    for m in re.finditer(r'VC_API\s+[^;(]*?\b(vc_\w+)\s*\(', text):
        before = text[:m.start()].rstrip()
        if not before.endswith('*/'):
            missing.append(f'{h.name}: {m.group(1)}')
doc = '\n'.join(out).rstrip() + '\n'
target = root / 'doc' / 'api.md'
if '--check' in sys.argv:
    ok = True
    if missing:
        print('public functions without a doc comment:', *missing, sep='\n  ')
        ok = False
    if not target.exists() or target.read_text() != doc:
        print('doc/api.md is stale: run tests/tools/apidoc.py')
        ok = False
    sys.exit(0 if ok else 1)
target.write_text(doc)
print(f'wrote {target} ({doc.count(chr(10))} lines)')

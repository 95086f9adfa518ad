#!/usr/bin/env python3
"""Symbols test: the functions declared VC_API in include/, the version
script and `nm -D` of the shared library must list the same names, and
nothing but vc_* may be exported."""
import re, subprocess, sys, pathlib

inc, mapfile, lib = sys.argv[1], sys.argv[2], sys.argv[3]
hdr = set()
for h in pathlib.Path(inc).rglob('*.h'):
    text = h.read_text()
    for m in re.finditer(r'VC_API\s+[^;(]*?\b(vc_\w+)\s*\(', text):
        hdr.add(m.group(1))
mp = set(re.findall(r'^\s*(vc_\w+);', pathlib.Path(mapfile).read_text(), re.M))
out = subprocess.run(['nm', '-D', '--defined-only', lib], capture_output=True, text=True, check=True).stdout
exported = set()
bad = []
for line in out.splitlines():
    parts = line.split()
    if len(parts) < 3:
        continue
    name = parts[2].split('@')[0]
    if parts[1] == 'A':
        continue
    if not name.startswith('vc_'):
        bad.append(name)
    else:
        exported.add(name)
ok = True
def diff(a, an, b, bn):
    global ok
    for s in sorted(a - b):
        print(f'{s}: in {an} but not in {bn}')
        ok = False
diff(hdr, 'headers', mp, 'libvcluster.map'); diff(mp, 'libvcluster.map', hdr, 'headers')
diff(hdr, 'headers', exported, 'nm -D'); diff(exported, 'nm -D', hdr, 'headers')
for s in bad:
    print(f'non-vc_ symbol exported: {s}'); ok = False
print(f'{len(hdr)} public functions; header == map == nm -D: {"yes" if ok else "NO"}')
sys.exit(0 if ok else 1)

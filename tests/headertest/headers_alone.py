#!/usr/bin/env python3
"""Every public header compiles alone, as C99 and as C++11, with
-Wall -Wextra -Wpedantic -Werror, and every *_INIT macro it defines
initialises its struct (VC_KUBE_OPTIONS_INIT -> vc_kube_options) in both.

    headers_alone.py INCLUDE_DIR 'CC ARGS' 'CXX ARGS'

An empty CXX skips C++ with a message (not silently): tests/install-deps
installs g++.
"""
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

inc = Path(sys.argv[1])
cc = shlex.split(sys.argv[2])
cxx = shlex.split(sys.argv[3]) if len(sys.argv) > 3 else []
FLAGS = ['-Wall', '-Wextra', '-Wpedantic', '-Werror', '-fsyntax-only', '-I', str(inc)]

headers = ['vcluster.h'] + sorted('vcluster/' + p.name for p in (inc / 'vcluster').glob('*.h'))
failed = 0
inits = 0
with tempfile.TemporaryDirectory() as tmp:
    for h in headers:
        text = (inc / h).read_text(encoding='utf-8')
        body = []
        for macro in re.findall(r'^#define (VC_\w+)_INIT\b', text, re.M):
            ctype = 'vc_' + macro[3:].lower()
            if not re.search(r'\}\s*' + ctype + r'\s*;', text):
                print(f'FAIL {h}: {macro}_INIT has no struct {ctype} in the same header')
                failed += 1
                continue
            body.append(f'    {ctype} v_{ctype} = {macro}_INIT;\n    (void)v_{ctype};\n')
            inits += 1
        src = f'#include <{h}>\n#include <{h}> /* include guard */\nint main(void)\n{{\n{"".join(body)}    return 0;\n}}\n'
        for lang, comp, std, ext in (('C99', cc, '-std=c99', 'c'), ('C++11', cxx, '-std=c++11', 'cpp')):
            if not comp:
                continue
            f = Path(tmp) / f'{h.replace("/", "_")}.{ext}'
            f.write_text(src, encoding='utf-8')
            r = subprocess.run(comp + [std] + FLAGS + [str(f)], capture_output=True, text=True)
            if r.returncode != 0:
                print(f'FAIL {h} alone as {lang}:\n{r.stderr}')
                failed += 1
            else:
                print(f'ok {h} alone as {lang}')
if not cxx:
    print('NOTE: no C++ compiler: C++11 not checked (tests/install-deps installs g++)')
print(f'{len(headers)} headers, {inits} *_INIT macros; {failed} failure(s)')
sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""The ABI of libvcluster.so against the committed baseline (libabigail).

    abi_check.py check    SOURCE_ROOT LIBRARY BASELINE
    abi_check.py selftest SOURCE_ROOT LIBRARY BASELINE
    abi_check.py update   SOURCE_ROOT LIBRARY BASELINE

check: `abidw` the library and `abidiff` the baseline against it. Any
change abidiff reports fails (removed or changed functions, variables or
public types), unless the soname moved (libvcluster.so.0.<minor> during
0.x, .so.<major> from 1.0): then the break is declared and the baseline is
due for a refresh. What is not a break, and is suppressed:
  - added functions and variables;
  - opaque handles (struct vc_kube, ...: public headers only declare them)
    and internal vc__ types, whose definitions are the library's own;
  - fields appended at the end of the structs that grow: the versioned
    ones (first member `uint32_t version`: options, vc_allocator,
    vc_syncer_stats; the library reads only the caller's version's bytes,
    src/util/vstruct.h) and the ones only the library allocates (vc_error,
    vc_sync_event, vc_cluster_info).
The lists come from the public headers (bindings/gen/cheader.py), so a new
handle type or struct is covered at once; a new transparent struct that is
neither versioned nor in LIBRARY_ALLOCATED nor in FROZEN fails until it is
classified here.

selftest: the check must fail on a removed function, on a field inserted
in the middle of a public struct, and on a changed field type, and must
pass a field appended to a versioned struct, an added function and a
removed function with a moved soname (mutations of the current dump).

update: write the baseline (see doc/abi.md). The dump does not depend on
the build's flags: abidiff finds no difference between the dumps of this
library built with and without ASan+UBSan.

Without abidw/abidiff (Debian: abigail-tools; tests/install-deps installs
it) the test is skipped with exit status 77.
"""
import copy
import re
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

LIBRARY_ALLOCATED = {'vc_error', 'vc_sync_event', 'vc_cluster_info'}
FROZEN = {'vc_buf',  # caller-allocated without a version: can never grow
          'vc_syncer_histogram'}  # embedded in versioned stats structs: can never grow
ABIDIFF_ERROR, ABIDIFF_USAGE, ABIDIFF_CHANGE, ABIDIFF_INCOMPATIBLE = 1, 2, 4, 8


def suppressions(root: Path) -> str:
    sys.path.insert(0, str(root / 'bindings' / 'gen'))
    import cheader  # noqa: E402
    api = cheader.parse(root)
    opaque = sorted(s.name for s in api.structs.values() if s.fields is None)
    growing, unknown = [], []
    for s in sorted(api.structs.values(), key=lambda s: s.name):
        if s.fields is None or s.name in FROZEN:
            continue
        if s.name in LIBRARY_ALLOCATED or (s.fields and s.fields[0].name == 'version'):
            growing.append(s.name)
        else:
            unknown.append(s.name)
    if unknown:
        sys.exit(f'abi_check: classify {", ".join(unknown)} in tests/abi/abi_check.py '
                 '(LIBRARY_ALLOCATED or FROZEN, or give it a leading version field)')
    # (libabigail's has_data_member_inserted_at = end would also hide a changed
    # member type of these structs: strip_appends() does it exactly instead)
    text = (f'[suppress_type]\n  label = opaque handles: their definitions are private\n'
            f'  type_kind = struct\n  name_regexp = ^({"|".join(opaque)})$\n\n'
            f'[suppress_type]\n  label = internal types\n  name_regexp = ^vc__\n')
    return text, set(growing)


def _members(s: ET.Element) -> list:
    return [(m.get('layout-offset-in-bits'), m.find('var-decl').get('name'), m.find('var-decl').get('type-id'))
            for m in s.findall('data-member')]


def strip_appends(base: Path, cur: Path, growing: set, out: Path) -> Path:
    """`cur` without the fields appended to the structs that grow: where a
    struct's members in the baseline are a prefix of its members now (same
    offsets, names and types), the extra ones go and the baseline's size
    comes back. Anything else (a member changed, removed, inserted before
    the end) is left for abidiff to report."""
    before = {}
    for c in _tree(base).getroot().iter('class-decl'):
        if c.get('name') in growing and c.find('data-member') is not None:
            before[c.get('name')] = (_members(c), c.get('size-in-bits'))
    t = _tree(cur)
    for c in t.getroot().iter('class-decl'):
        old = before.get(c.get('name'))
        if old is None or c.find('data-member') is None:
            continue
        now = _members(c)
        if len(now) > len(old[0]) and now[:len(old[0])] == old[0]:
            for m in c.findall('data-member')[len(old[0]):]:
                c.remove(m)
            c.set('size-in-bits', old[1])
    t.write(out, encoding='unicode')
    return out


def dump(lib: Path, out: Path) -> None:
    subprocess.run(['abidw', '--no-corpus-path', '--no-comp-dir-path', '--no-show-locs',
                    '--type-id-style', 'hash', '--out-file', str(out), str(lib)], check=True)


def soname(abi: Path) -> str:
    return ET.parse(abi).getroot().get('soname', '')


def diff(base: Path, cur: Path, supp: Path) -> tuple[int, str]:
    # added functions and variables are not a break (abidiff counts them as a change)
    r = subprocess.run(['abidiff', '--no-show-locs', '--no-added-syms', '--suppressions', str(supp),
                        str(base), str(cur)],
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def verdict(base: Path, cur: Path, supp: Path, growing: set, quiet: bool = False) -> bool:
    rc, out = diff(base, strip_appends(base, cur, growing, cur.with_suffix('.stripped')), supp)
    if not quiet and out.strip():
        print(out.rstrip())
    if rc & (ABIDIFF_ERROR | ABIDIFF_USAGE):
        print(f'abi_check: abidiff failed (status {rc})')
        return False
    if rc & (ABIDIFF_CHANGE | ABIDIFF_INCOMPATIBLE):
        old, new = soname(base), soname(cur)
        if old != new:
            if not quiet:
                print(f'abi_check: the ABI changed and the soname moved ({old} -> {new}): allowed; '
                      'refresh the baseline (doc/abi.md)')
            return True
        if not quiet:
            print(f'abi_check: FAIL: the ABI changed (abidiff status {rc}) but the soname is still {new}. '
                  'Keep the old ABI (add a new function or a new struct version), or move the soname '
                  '(meson.build version) and refresh the baseline (doc/abi.md).')
        return False
    if not quiet:
        print(f'abi_check: no ABI break against {base.name} (soname {soname(cur)}); '
              'added functions and fields appended to growing structs are allowed')
    return True


# ---- selftest mutations of a dump -------------------------------------------

def _tree(p: Path) -> ET.ElementTree:
    return ET.parse(p)


def _structs(root: ET.Element, name: str) -> list:
    """Every definition of struct `name` (the dump has one per translation unit)."""
    found = [c for c in root.iter('class-decl')
             if c.get('name') == name and c.get('is-declaration-only') != 'yes' and c.find('data-member') is not None]
    if not found:
        raise KeyError(name)
    return found


def remove_function(root: ET.Element, fn: str) -> None:
    for parent in root.iter():
        for c in list(parent):
            if (c.tag == 'elf-symbol' and c.get('name') == fn) or \
               (c.tag == 'function-decl' and c.get('name') == fn):
                parent.remove(c)


def insert_middle(root: ET.Element, struct: str) -> None:
    for s in _structs(root, struct):
        _insert_middle(s)


def _insert_middle(s: ET.Element) -> None:
    members = s.findall('data-member')
    first = members[1]
    width = int(members[2].get('layout-offset-in-bits')) - int(first.get('layout-offset-in-bits'))
    extra = copy.deepcopy(first)
    extra.find('var-decl').set('name', 'inserted_for_selftest')
    for m in members[1:]:
        m.set('layout-offset-in-bits', str(int(m.get('layout-offset-in-bits')) + width))
    s.insert(list(s).index(first), extra)
    s.set('size-in-bits', str(int(s.get('size-in-bits')) + width))


def append_end(root: ET.Element, struct: str) -> None:
    for s in _structs(root, struct):
        _append_end(s)


def _append_end(s: ET.Element) -> None:
    last = s.findall('data-member')[-1]
    extra = copy.deepcopy(last)
    extra.find('var-decl').set('name', 'appended_for_selftest')
    size = int(s.get('size-in-bits'))
    extra.set('layout-offset-in-bits', str(size))
    s.append(extra)
    s.set('size-in-bits', str(size + 64))


def retype_member(root: ET.Element, struct: str, member: str, like: str) -> None:
    for s in _structs(root, struct):
        _retype_member(s, member, like)


def _retype_member(s: ET.Element, member: str, like: str) -> None:
    types = {m.find('var-decl').get('name'): m.find('var-decl').get('type-id') for m in s.findall('data-member')}
    for m in s.findall('data-member'):
        if m.find('var-decl').get('name') == member:
            m.find('var-decl').set('type-id', types[like])


def selftest(base: Path, cur: Path, supp: Path, growing: set, tmp: Path) -> bool:
    cases = [
        ('unchanged', lambda r: None, True),
        ('a function removed', lambda r: remove_function(r, 'vc_strerror'), False),
        ('a field inserted in the middle of vc_kube_options', lambda r: insert_middle(r, 'vc_kube_options'), False),
        ('vc_error.http_status retyped as a pointer', lambda r: retype_member(r, 'vc_error', 'http_status', 'message'), False),
        ('a field appended to vc_syncer_options', lambda r: append_end(r, 'vc_syncer_options'), True),
        ('a field appended to vc_error (library-allocated)', lambda r: append_end(r, 'vc_error'), True),
    ]
    ok = True
    for what, mutate, want in cases:
        t = _tree(cur)
        mutate(t.getroot())
        m = tmp / 'mutated.abi'
        t.write(m, encoding='unicode')
        got = verdict(base, m, supp, growing, quiet=True)
        print(f'{"ok" if got == want else "FAIL"}: {what}: check {"passes" if got else "fails"}')
        ok &= got == want
    # an added function: the baseline lacks one the library has
    t = _tree(base)
    remove_function(t.getroot(), 'vc_strerror')
    t.write(tmp / 'older.abi', encoding='unicode')
    got = verdict(tmp / 'older.abi', cur, supp, growing, quiet=True)
    print(f'{"ok" if got else "FAIL"}: a function added: check {"passes" if got else "fails"}')
    ok &= got
    # a break with a moved soname is declared, not a failure
    t = _tree(cur)
    remove_function(t.getroot(), 'vc_strerror')
    t.getroot().set('soname', soname(cur) + '.moved')
    t.write(tmp / 'moved.abi', encoding='unicode')
    got = verdict(base, tmp / 'moved.abi', supp, growing, quiet=True)
    print(f'{"ok" if got else "FAIL"}: a function removed with the soname moved: check {"passes" if got else "fails"}')
    ok &= got
    return ok


def main() -> int:
    mode, root, lib, baseline = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    missing = [t for t in ('abidw', 'abidiff') if not shutil.which(t)]
    if missing:
        why = f'{" and ".join(missing)} not installed (Debian: apt-get install abigail-tools; tests/install-deps installs it)'
        if os.environ.get('CI'):
            # CI installs it: a missing tool there is a broken setup, not a skip
            print(f'FAIL: {why}')
            return 1
        print(f'SKIP: {why}')
        return 77
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        supp = tmp / 'libvcluster.abignore'
        text, growing = suppressions(root)
        supp.write_text(text, encoding='utf-8')
        if mode == 'update':
            dump(lib, baseline)
            print(f'abi_check: wrote {baseline} (soname {soname(baseline)})')
            return 0
        if not baseline.exists():
            print(f'abi_check: FAIL: no baseline {baseline}: see doc/abi.md')
            return 1
        cur = tmp / 'current.abi'
        dump(lib, cur)
        if mode == 'selftest':
            return 0 if selftest(baseline, cur, supp, growing, tmp) else 1
        return 0 if verdict(baseline, cur, supp, growing) else 1


if __name__ == '__main__':
    sys.exit(main())

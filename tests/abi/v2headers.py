#!/usr/bin/env python3
"""Write a copy of the public headers as the NEXT version of the library
would ship them: every versioned struct (a struct whose first member is
`uint32_t version` and that has a VC_<NAME>_VERSION macro) gets one field
appended, `uint64_t vc_abi_test_next;`, and its VC_<NAME>_VERSION goes up by
one (its _INIT macro gets the extra zero).

tests/abi builds the library from these headers (with vc_abi_next.h, which
tells src/util/vstruct.h where the new version begins) and links a caller
compiled against the real headers to it: an old program against a newer
library. Under ASan any write or read past the caller's struct fails.

    v2headers.py INCLUDE_DIR OUT_DIR header.h...
"""
import re
import sys
from pathlib import Path

FIELD = 'vc_abi_test_next'


def transform(text: str) -> tuple[str, list[str]]:
    names = []
    struct_re = re.compile(r'typedef struct (vc_\w+) \{\n(\s+uint32_t version;[^\n]*\n)(.*?)\n\} \1;', re.S)

    def grow(m: re.Match) -> str:
        name = m.group(1)
        macro = 'VC_' + name[3:].upper() + '_VERSION'
        if not re.search(r'#define ' + macro + r' \d+', text):
            return m.group(0)
        names.append(name)
        return (f'typedef struct {name} {{\n{m.group(2)}{m.group(3)}\n'
                f'    uint64_t {FIELD}; /* the next version (tests/abi) */\n}} {name};')

    text = struct_re.sub(grow, text)
    for name in names:
        up = name[3:].upper()
        text = re.sub(r'(#define VC_' + up + r'_VERSION )(\d+)', lambda m: m.group(1) + str(int(m.group(2)) + 1), text)
        text = re.sub(r'(#define VC_' + up + r'_INIT \{[^}\n]*?)\s*\}', r'\1, 0 }', text)
    return text, names


def main() -> int:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    grown = []
    for h in sys.argv[3:]:
        text, names = transform((src / h).read_text(encoding='utf-8'))
        grown += names
        (out / h).write_text(text, encoding='utf-8')
    if len(grown) < 8:  # allocator, 6 options structs, syncer stats
        sys.exit(f'v2headers.py: only {len(grown)} versioned structs found ({", ".join(grown)}); '
                 'has the header layout changed?')
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Parse libvcluster's public headers into a model the emitters share.

Input: the headers run through the C preprocessor with `-DVC_CDEF -C -dD`
(comments and macro definitions kept, line markers on), so the model sees
exactly what a C compiler sees, plus the doc comments that state ownership.

The grammar handled is the one STYLE.md allows in a public header: opaque
struct typedefs, transparent structs (scalars, pointers, nested structs,
function pointers), enums, function-pointer typedefs, function prototypes and
object-like macros. Anything else is reported as an error so the generator
never silently drops part of the API.
"""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from pathlib import Path


class HeaderError(Exception):
    pass


# --------------------------------------------------------------------------
# Model


@dataclasses.dataclass
class CType:
    """A C type as written, normalised: 'const char *', 'vc_kube **'."""
    text: str

    @property
    def base(self) -> str:
        """The type without pointers and qualifiers: 'char', 'vc_kube'."""
        t = self.text.replace('*', ' ').replace('const', ' ')
        return ' '.join(t.split())

    @property
    def stars(self) -> int:
        return self.text.count('*')

    @property
    def is_const_pointee(self) -> bool:
        """`const T *`: the pointed-to object is const (first level)."""
        return self.text.startswith('const ') and self.stars >= 1

    def __str__(self) -> str:
        return self.text


@dataclasses.dataclass
class Param:
    type: CType
    name: str
    kind: str = ''           # filled by classify(): see Function.classify
    destructor: str = ''     # for owned out handles
    nullable: bool = False
    fnptr: 'FuncPtr | None' = None


@dataclasses.dataclass
class FuncPtr:
    ret: CType
    params: list[Param]


@dataclasses.dataclass
class Function:
    name: str
    ret: CType
    params: list[Param]
    doc: str
    header: str
    since: str = ''
    returns: str = ''        # status | void | borrowed_string | borrowed_ptr | value
    info_codes: list[str] = dataclasses.field(default_factory=list)
    decl: str = ''

    @property
    def outs(self) -> list[Param]:
        return [p for p in self.params if p.kind.startswith('out_')]


@dataclasses.dataclass
class Field:
    type: CType
    name: str
    fnptr: FuncPtr | None = None


@dataclasses.dataclass
class Struct:
    name: str
    fields: list[Field] | None  # None: opaque
    doc: str
    header: str
    decl: str = ''

    @property
    def opaque(self) -> bool:
        return self.fields is None


@dataclasses.dataclass
class Enum:
    name: str
    members: list[tuple[str, str]]  # (NAME, value text)
    doc: str
    header: str
    decl: str = ''


@dataclasses.dataclass
class Callback:
    name: str
    fn: FuncPtr
    doc: str
    header: str
    decl: str = ''


@dataclasses.dataclass
class Macro:
    name: str
    value: str
    header: str
    kind: str  # int | string


@dataclasses.dataclass
class Api:
    headers: list[str]
    umbrella_missing: list[str]
    functions: list[Function]
    structs: dict[str, Struct]
    enums: list[Enum]
    callbacks: list[Callback]
    macros: list[Macro]
    order: list[object]          # declarations in header order (for the cdef)
    version_number: int
    version_string: str
    warnings: list[str]

    def function(self, name: str) -> Function | None:
        for f in self.functions:
            if f.name == name:
                return f
        return None


# --------------------------------------------------------------------------
# Preprocessing


def public_headers(root: Path) -> list[Path]:
    """Every header of the public API: include/vcluster.h and everything
    under include/vcluster/ (the same set tests/tools/symbols.py checks)."""
    inc = root / 'include'
    hs = sorted(p for p in (inc / 'vcluster').rglob('*.h'))
    return [inc / 'vcluster.h'] + hs


def preprocess(root: Path, headers: list[Path], cc: str) -> str:
    inc = (root / 'include').resolve()
    tu = ''.join(f'#include <{h.resolve().relative_to(inc).as_posix()}>\n' for h in headers)
    cmd = cc.split() + ['-E', '-C', '-dD', '-DVC_CDEF', f'-I{inc}', '-x', 'c', '-']
    r = subprocess.run(cmd, input=tu, capture_output=True, text=True)
    if r.returncode != 0:
        raise HeaderError(f'{" ".join(cmd)} failed:\n{r.stderr}')
    return r.stdout


_LINEMARK = re.compile(r'^#\s+(\d+)\s+"([^"]*)"')


def split_by_file(pp: str, root: Path) -> list[tuple[str, str]]:
    """[(header relative to root, text)] for the public headers' lines only."""
    inc = str((root / 'include').resolve()) + os.sep
    out: list[tuple[str, list[str]]] = []
    cur = None
    for line in pp.splitlines():
        m = _LINEMARK.match(line)
        if m:
            f = m.group(2)
            if f.startswith(inc):
                cur = os.path.relpath(f, root.resolve())
                if not out or out[-1][0] != cur:
                    out.append((cur, []))
            else:
                cur = None
            continue
        if cur is not None:
            out[-1][1].append(line)
    return [(f, '\n'.join(lines)) for f, lines in out]


# --------------------------------------------------------------------------
# Lexing top-level declarations


def _chunks(text: str):
    """Yield ('define', line) | ('decl', text, doc) from one header's text.

    A declaration ends at ';' outside braces and parentheses. Its doc is the
    last comment that precedes it with nothing but whitespace in between."""
    i, n = 0, len(text)
    doc = ''
    buf: list[str] = []
    depth = 0
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c == '#' and depth == 0 and not ''.join(buf).strip():
            j = text.find('\n', i)
            j = n if j < 0 else j
            yield ('define', text[i:j])
            i = j
            continue
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            if j < 0:
                raise HeaderError('unterminated comment')
            comment = text[i:j + 2]
            if not ''.join(buf).strip():
                doc = comment
            else:
                buf.append(' ')
            i = j + 2
            continue
        if text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == '\\' else 1
            buf.append(text[i:j + 1])
            i = j + 1
            continue
        if c in '{(':
            depth += 1
        elif c in '})':
            depth -= 1
        if c == ';' and depth == 0:
            decl = ' '.join(''.join(buf).split())
            if decl:
                yield ('decl', decl, doc)
            buf, doc = [], ''
            i += 1
            continue
        buf.append(c)
        at_line_start = c == '\n' or (at_line_start and c in ' \t')
        i += 1
    if ''.join(buf).strip():
        raise HeaderError(f'trailing text: {"".join(buf).strip()[:80]}')


def norm_type(t: str) -> str:
    """'const char*const *' -> 'const char *const *'."""
    toks = re.findall(r'\*|[A-Za-z_]\w*', t)
    out = ''
    for tok in toks:
        if tok == '*':
            out = out.rstrip() + (' *' if not out.endswith('*') else '*')
        else:
            out += ('' if not out or out.endswith(' ') else ' ') + tok + ' '
    return out.strip()


def cparam(t: 'CType | str', name: str) -> str:
    """'const char *' + 'msg' -> 'const char *msg'."""
    t = str(t)
    return t + name if t.endswith('*') else f'{t} {name}'


def _split_top(s: str, sep: str = ',') -> list[str]:
    parts, depth, cur = [], 0, []
    for c in s:
        if c in '({[':
            depth += 1
        elif c in ')}]':
            depth -= 1
        if c == sep and depth == 0:
            parts.append(''.join(cur).strip())
            cur = []
        else:
            cur.append(c)
    if ''.join(cur).strip():
        parts.append(''.join(cur).strip())
    return parts


_FNPTR = re.compile(r'^(?P<ret>.+?)\(\s*\*\s*(?P<name>\w+)\s*\)\s*\((?P<params>.*)\)$')


def _parse_params(s: str, where: str) -> list[Param]:
    s = s.strip()
    if s in ('', 'void'):
        return []
    out = []
    for i, p in enumerate(_split_top(s)):
        m = _FNPTR.match(p)
        if m:
            fp = FuncPtr(CType(norm_type(m.group('ret'))), _parse_params(m.group('params'), where))
            out.append(Param(CType(norm_type(m.group('ret')) + ' (*)(...)'), m.group('name'), fnptr=fp))
            continue
        if '[' in p or '...' in p:
            raise HeaderError(f'{where}: unsupported parameter "{p}" (arrays and varargs cannot be bound)')
        m = re.match(r'^(?P<type>.*?[\s*])(?P<name>[A-Za-z_]\w*)$', p)
        if not m or not m.group('type').strip():
            raise HeaderError(f'{where}: parameter {i + 1} "{p}" has no name (name every parameter)')
        out.append(Param(CType(norm_type(m.group('type'))), m.group('name')))
    return out


def _parse_fields(body: str, where: str) -> list[Field]:
    fields = []
    for f in _split_top(body, ';'):
        if not f:
            continue
        m = _FNPTR.match(f)
        if m:
            fp = FuncPtr(CType(norm_type(m.group('ret'))), _parse_params(m.group('params'), where))
            fields.append(Field(CType(norm_type(m.group('ret')) + ' (*)(...)'), m.group('name'), fp))
            continue
        if ':' in f or '[' in f or re.search(r'\b(union|struct)\s*\{', f):
            raise HeaderError(f'{where}: unsupported field "{f}" (no bitfields, arrays or anonymous members)')
        m = re.match(r'^(?P<type>.*?[\s*])(?P<names>[A-Za-z_]\w*(\s*,\s*\**\s*[A-Za-z_]\w*)*)$', f)
        if not m:
            raise HeaderError(f'{where}: cannot parse field "{f}"')
        base = m.group('type')
        for nm in m.group('names').split(','):
            stars = nm.count('*')
            fields.append(Field(CType(norm_type(base + '*' * stars)), nm.replace('*', '').strip()))
    return fields


def _clean_doc(doc: str) -> str:
    if not doc.startswith('/**'):
        return ''
    body = doc[3:-2]
    lines = [re.sub(r'^\s*\*? ?', '', ln) for ln in body.splitlines()]
    return '\n'.join(lines).strip()


# --------------------------------------------------------------------------
# Parsing


def parse(root: Path, cc: str = '', exclude: list[str] = ()) -> Api:
    cc = cc or os.environ.get('CC', 'cc')
    headers = [h for h in public_headers(root)
               if os.path.relpath(h.resolve(), root.resolve()) not in set(exclude)]
    pp = preprocess(root, headers, cc)
    files = [(f, t) for f, t in split_by_file(pp, root) if f not in set(exclude)]

    rel_headers = [os.path.relpath(h.resolve(), root.resolve()) for h in headers]
    # Headers an `#include <vcluster.h>` user sees.
    umbrella_pp = preprocess(root, headers[:1], cc)
    seen_by_umbrella = {f for f, _ in split_by_file(umbrella_pp, root)}
    umbrella_missing = [h for h in rel_headers if h not in seen_by_umbrella]

    functions: list[Function] = []
    structs: dict[str, Struct] = {}
    enums: list[Enum] = []
    callbacks: list[Callback] = []
    macros: list[Macro] = []
    order: list[object] = []
    warnings: list[str] = []
    seen_names: set[str] = set()

    for header, text in files:
        for item in _chunks(text):
            if item[0] == 'define':
                m = re.match(r'^#\s*define\s+(\w+)(\(?)\s*(.*)$', item[1])
                if not m or m.group(2) or not m.group(1).startswith('VC_'):
                    continue  # function-like macros, header guards
                name, value = m.group(1), m.group(3).strip()
                if name in ('VC_API',) or not value:
                    continue
                kind = _macro_kind(value)
                if kind:
                    macros.append(Macro(name, value, header, kind))
                continue
            _, decl, rawdoc = item
            doc = _clean_doc(rawdoc)
            where = f'{header}: "{decl[:60]}"'
            obj = _parse_decl(decl, doc, header, where)
            if obj is None:
                continue
            key = getattr(obj, 'name')
            if isinstance(obj, Struct) and key in structs:
                # `typedef struct x x;` seen again after its definition: keep the definition.
                if obj.opaque:
                    continue
            if isinstance(obj, Function):
                if key in seen_names:
                    continue
                seen_names.add(key)
                functions.append(obj)
            elif isinstance(obj, Struct):
                structs[key] = obj
            elif isinstance(obj, Enum):
                enums.append(obj)
            elif isinstance(obj, Callback):
                callbacks.append(obj)
            order.append(obj)

    vn = next((m for m in macros if m.name == 'VC_VERSION_NUMBER'), None)
    vs = next((m for m in macros if m.name == 'VC_VERSION_STRING'), None)
    if vn is None or vs is None:
        raise HeaderError('VC_VERSION_NUMBER / VC_VERSION_STRING not found in the headers')
    api = Api(rel_headers, umbrella_missing, functions, structs, enums, callbacks, macros, order,
              int(vn.value.rstrip('uUlL'), 0), vs.value.strip('"'), warnings)
    for f in functions:
        classify(api, f)
    return api


def _macro_kind(value: str) -> str:
    if re.fullmatch(r'"([^"\\]|\\.)*"', value):
        return 'string'
    toks = re.findall(r'\w+|\S', value)
    for t in toks:
        if re.fullmatch(r'(0[xX][0-9a-fA-F]+|\d+)[uUlL]*', t):
            continue
        if re.fullmatch(r'VC_\w+', t):
            continue
        if t in '()|&~<>+-*/^':
            continue
        return ''  # braces (INIT macros), floats, expressions we do not bind
    return 'int'


def _parse_decl(decl: str, doc: str, header: str, where: str):
    if decl.startswith('typedef enum'):
        m = re.match(r'^typedef enum\s*(\w*)\s*\{(.*)\}\s*(\w+)$', decl)
        if not m:
            raise HeaderError(f'{where}: cannot parse enum')
        members = []
        for part in _split_top(m.group(2)):
            if not part:
                continue
            nm, _, val = part.partition('=')
            members.append((nm.strip(), val.strip()))
        # Implicit values: count on from the previous one.
        cur = -1
        fixed = []
        for nm, val in members:
            cur = int(val, 0) if val else cur + 1
            fixed.append((nm, str(cur)))
        return Enum(m.group(3), fixed, doc, header, decl)
    if decl.startswith('typedef struct'):
        m = re.match(r'^typedef struct\s+(\w+)\s+(\w+)$', decl)
        if m:
            if m.group(1) != m.group(2):
                raise HeaderError(f'{where}: struct tag and typedef differ')
            return Struct(m.group(2), None, doc, header, decl)
        m = re.match(r'^typedef struct\s*(\w*)\s*\{(.*)\}\s*(\w+)$', decl)
        if not m:
            raise HeaderError(f'{where}: cannot parse struct')
        return Struct(m.group(3), _parse_fields(m.group(2), where), doc, header, decl)
    if decl.startswith('typedef'):
        m = _FNPTR.match(decl[len('typedef'):].strip())
        if m:
            fp = FuncPtr(CType(norm_type(m.group('ret'))), _parse_params(m.group('params'), where))
            if not fp.params or fp.params[-1].name != 'user_data':
                raise HeaderError(f'{where}: callbacks take `void *user_data` last')
            return Callback(m.group('name'), fp, doc, header, decl)
        raise HeaderError(f'{where}: unsupported typedef')
    if decl.startswith(('struct ', 'enum ', 'union ')):
        raise HeaderError(f'{where}: use typedefs for public types')
    m = re.match(r'^(?P<ret>.+?)\b(?P<name>vc_\w+)\s*\((?P<params>.*)\)$', decl)
    if m:
        if decl.startswith(('static', 'inline')) or ' inline ' in decl:
            raise HeaderError(f'{where}: no inline functions in public headers')
        if '{' in decl:
            raise HeaderError(f'{where}: no function bodies in public headers')
        f = Function(m.group('name'), CType(norm_type(m.group('ret'))),
                     _parse_params(m.group('params'), where), doc, header, decl=decl)
        s = re.search(r'@since\s+([\d.]+)', doc)
        f.since = s.group(1) if s else ''
        return f
    raise HeaderError(f'{where}: unsupported declaration')


# --------------------------------------------------------------------------
# Ownership and parameter roles


def _doc_mentions_null(doc: str, name: str) -> bool:
    return bool(re.search(r'`%s`[^.;]{0,40}\(?may be NULL' % re.escape(name), doc) or
                re.search(r'\b%s\b[^.;]{0,20}may be NULL' % re.escape(name), doc) or
                re.search(r'Either out may be NULL', doc) and name.startswith('out'))


def classify(api: Api, f: Function) -> None:
    """Give every parameter a role and the function a return convention.

    Roles (Param.kind):
      out_handle     `T **out` (T a vc_ struct): owned by the caller, freed with
                     the vc_*_free() the doc comment names (or `<T>_free`)
      out_borrowed   `const T **out`: a borrowed pointer
      out_string     `const char **out_x`: a borrowed static/owned-by-parent string
      out_buf        `vc_buf *out_x`: a string the caller releases with vc_buf_dispose()
      out_struct     `T *out` (T a transparent struct): caller-provided storage;
                     also the first parameter of a `*_init(T *, uint32_t version)`
      out_scalar     `T *out_x` (T an integer, float or enum)
      in_handle      `T *` for an opaque T
      in_struct      `const T *` for a transparent T (options)
      in_string      `const char *`
      in_bytes/in_len  `const char *p, size_t len` pairs
      callback       a function pointer typedef (with its user_data after it)
      user_data      the `void *user_data` after a callback
      in_value       scalars by value
      in_raw         anything else (passed through untouched)
    """
    enum_names = {e.name for e in api.enums}
    fn_names = {g.name for g in api.functions}
    cb_names = {c.name for c in api.callbacks}
    scalar = {'int', 'unsigned', 'unsigned int', 'long', 'size_t', 'double', 'float', 'int8_t',
              'int16_t', 'int32_t', 'int64_t', 'uint8_t', 'uint16_t', 'uint32_t', 'uint64_t',
              'char', 'bool', '_Bool'} | enum_names
    ps = f.params
    for i, p in enumerate(ps):
        t, base, stars = p.type, p.type.base, p.type.stars
        is_out_name = p.name == 'out' or p.name.startswith('out_')
        st = api.structs.get(base)
        if p.fnptr is not None:
            p.kind = 'in_raw'
        elif base in cb_names and stars == 0:
            p.kind = 'callback'
        elif i > 0 and ps[i - 1].kind == 'callback' and p.name == 'user_data':
            p.kind = 'user_data'
        elif t.text == 'vc_buf *' and is_out_name:
            p.kind = 'out_buf'
        elif stars == 2 and st is not None and is_out_name:
            if t.is_const_pointee:
                p.kind = 'out_borrowed'
            else:
                p.kind = 'out_handle'
                p.destructor = _destructor(api, f, base, fn_names)
        elif t.text == 'const char **' and is_out_name:
            p.kind = 'out_string'
        elif stars == 1 and st is not None and not st.opaque and not t.is_const_pointee and \
                (is_out_name or (i == 0 and f.name.endswith('_init') and len(ps) == 2
                                 and ps[1].type.text == 'uint32_t' and ps[1].name == 'version')):
            p.kind = 'out_struct'
        elif stars == 1 and base in scalar and not t.is_const_pointee and is_out_name:
            p.kind = 'out_scalar'
        elif stars == 1 and st is not None and st.opaque:
            p.kind = 'in_handle'
        elif stars == 1 and st is not None and t.is_const_pointee:
            p.kind = 'in_struct'
        elif t.text == 'const char *':
            nxt = ps[i + 1] if i + 1 < len(ps) else None
            if nxt is not None and nxt.type.text == 'size_t' and nxt.name in ('len', p.name + '_len', 'size'):
                p.kind = 'in_bytes'
                nxt.kind = 'in_len'
            else:
                p.kind = 'in_string'
        elif p.kind == 'in_len':
            pass
        elif stars == 0 and base in scalar:
            p.kind = 'in_value'
        else:
            p.kind = 'in_raw'
        if p.kind.startswith('out_') or p.kind in ('in_string', 'in_struct', 'in_bytes'):
            p.nullable = _doc_mentions_null(f.doc, p.name)

    r = f.ret
    if r.text == 'int':
        f.returns = 'status'
    elif r.text == 'void':
        f.returns = 'void'
    elif r.text == 'const char *':
        f.returns = 'borrowed_string'
    elif r.stars == 1 and r.is_const_pointee:
        f.returns = 'borrowed_ptr'
    elif r.stars == 0:
        f.returns = 'value'
    else:
        raise HeaderError(f'{f.name}: returns a non-const pointer; return owned results through `**out`')

    # Informational (> 0) status codes this function documents (VC_ITEROVER).
    info = {nm for e in api.enums if e.name == 'vc_status' for nm, v in e.members if int(v) > 0}
    f.info_codes = sorted(c for c in info if re.search(r'\b%s\b' % c, f.doc))

    if not f.doc:
        api.warnings.append(f'{f.name} ({f.header}): no doc comment (ownership, errors, @since)')
    elif not f.since:
        api.warnings.append(f'{f.name} ({f.header}): doc comment has no @since')


def _destructor(api: Api, f: Function, typ: str, fn_names: set[str]) -> str:
    named = re.findall(r'\b(vc_\w+_(?:free|dispose|unref|close))\s*\(\)', f.doc)
    cands = [n for n in dict.fromkeys(named) if n in fn_names and _takes(api, n, typ)]
    if len(cands) == 1:
        return cands[0]
    guess = typ + '_free'
    if guess in fn_names and _takes(api, guess, typ):
        if not named:
            api.warnings.append(f'{f.name}: the doc does not name the destructor; using {guess}()')
        return guess
    raise HeaderError(f'{f.name} ({f.header}): `{typ} **` out-parameter, but the doc comment names no '
                      f'destructor and {guess}() does not exist: state the ownership rule')


def _takes(api: Api, fn: str, typ: str) -> bool:
    g = api.function(fn)
    return g is not None and len(g.params) == 1 and g.params[0].type.base == typ

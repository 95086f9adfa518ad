/* A faster JSON reader and compact writer over jansson trees (see json.h).
 *
 * Why: jansson 2.14 reads a byte at a time through a stream with a saved-text
 * buffer, and its writer calls the output callback per token and keeps a
 * hashtable of the containers it is in (snprintf("%p") + insert + delete per
 * object) to catch cycles. For a 4 KiB pod each cost about 800 k
 * instructions, 85% of the public translate call (doc/bench-translate.md).
 * Here the reader scans the text in place and the writer appends straight
 * into a vc_buf; both stay on jansson's trees and give jansson's results
 * (whatever they do not handle, jansson does). */
#include "util/json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Deeper documents go to jansson (its JSON_PARSER_MAX_DEPTH is 2048, counted
 * over every value): nothing real is this deep. */
#define MAX_DEPTH 512

typedef struct reader {
    const unsigned char *p;
    size_t flags;
    int depth;
    char *tmp; /* decoded strings with escapes */
    size_t tmpcap;
} reader;

/* Length of the valid UTF-8 sequence at s (first byte >= 0x80), 0 if invalid
 * (jansson's utf8_check_first + utf8_check_full: no overlongs, surrogates or
 * code points past U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char u = s[0];
    size_t n;
    int32_t cp;
    if (u >= 0xC2 && u <= 0xDF)
        n = 2, cp = u & 0x1F;
    else if (u >= 0xE0 && u <= 0xEF)
        n = 3, cp = u & 0x0F;
    else if (u >= 0xF0 && u <= 0xF4)
        n = 4, cp = u & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
        return 0;
    return n;
}

static void skip_ws(reader *r)
{
    while (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')
        r->p++;
}

static int hex4(const unsigned char *s, int32_t *out)
{
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int tmp_reserve(reader *r, size_t n)
{
    if (r->tmp && n <= r->tmpcap)
        return 0;
    size_t cap = r->tmpcap ? r->tmpcap : 256;
    while (cap < n)
        cap *= 2;
    char *t = vc__realloc(r->tmp, cap);
    if (!t)
        return -1;
    r->tmp = t, r->tmpcap = cap;
    return 0;
}

/* A string at r->p (just past the opening quote). On success *s and *len point
 * into the text (no escapes) or into r->tmp (decoded; valid until the next
 * string). -1: not handled here (jansson decides). */
static int read_string(reader *r, const char **s, size_t *len)
{
    const unsigned char *start = r->p, *p = start;
    for (;;) {
        unsigned char c = *p;
        if (c == '"') {
            *s = (const char *)start, *len = (size_t)(p - start);
            r->p = p + 1;
            return 0;
        }
        if (c == '\\')
            break;
        if (c < 0x20)
            return -1; /* control character (or the end of the text) */
        if (c < 0x80) {
            p++;
        } else {
            size_t n = utf8_len(p);
            if (!n)
                return -1;
            p += n;
        }
    }
    /* escapes: decode into r->tmp */
    size_t o = (size_t)(p - start);
    if (tmp_reserve(r, o + 64) < 0)
        return -1;
    memcpy(r->tmp, start, o);
    for (;;) {
        unsigned char c = *p;
        if (tmp_reserve(r, o + 8) < 0)
            return -1;
        if (c == '"') {
            *s = r->tmp, *len = o;
            r->p = p + 1;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c >= 0x80) {
            size_t n = utf8_len(p);
            if (!n)
                return -1;
            memcpy(r->tmp + o, p, n);
            o += n, p += n;
            continue;
        }
        if (c != '\\') {
            r->tmp[o++] = (char)c, p++;
            continue;
        }
        c = p[1];
        p += 2;
        switch (c) {
        case '"': case '\\': case '/': r->tmp[o++] = (char)c; continue;
        case 'b': r->tmp[o++] = '\b'; continue;
        case 'f': r->tmp[o++] = '\f'; continue;
        case 'n': r->tmp[o++] = '\n'; continue;
        case 'r': r->tmp[o++] = '\r'; continue;
        case 't': r->tmp[o++] = '\t'; continue;
        case 'u': break;
        default: return -1;
        }
        int32_t cp;
        if (hex4(p, &cp) < 0)
            return -1;
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            int32_t lo;
            if (p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            p += 6;
            cp = ((cp - 0xD800) << 10) + (lo - 0xDC00) + 0x10000;
        } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
            return -1; /* a lone low surrogate; \u0000 (no JSON_ALLOW_NUL) */
        }
        char *d = r->tmp + o;
        if (cp < 0x80) {
            d[0] = (char)cp, o += 1;
        } else if (cp < 0x800) {
            d[0] = (char)(0xC0 | (cp >> 6)), d[1] = (char)(0x80 | (cp & 0x3F)), o += 2;
        } else if (cp < 0x10000) {
            d[0] = (char)(0xE0 | (cp >> 12)), d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            d[2] = (char)(0x80 | (cp & 0x3F)), o += 3;
        } else {
            d[0] = (char)(0xF0 | (cp >> 18)), d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
            d[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), d[3] = (char)(0x80 | (cp & 0x3F)), o += 4;
        }
    }
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static json_t *read_value(reader *r);

static json_t *read_object(reader *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    skip_ws(r);
    if (*r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        skip_ws(r);
        if (*r->p != '"')
            goto fail;
        r->p++;
        const char *k;
        size_t klen;
        if (read_string(r, &k, &klen) < 0)
            goto fail;
        char *kcopy = NULL;
        if (k == r->tmp) { /* the value may decode into r->tmp too */
            if (!(kcopy = vc__malloc(klen ? klen : 1)))
                goto fail;
            memcpy(kcopy, k, klen);
            k = kcopy;
        }
        skip_ws(r);
        json_t *v = NULL;
        if (*r->p == ':') {
            r->p++;
            skip_ws(r);
            v = read_value(r);
        }
        size_t before = json_object_size(o);
        int rc = v ? json_object_setn_new_nocheck(o, k, klen, v) : -1;
        vc__free(kcopy);
        if (rc < 0 || ((r->flags & JSON_REJECT_DUPLICATES) && json_object_size(o) == before))
            goto fail;
        skip_ws(r);
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p == '}') {
            r->p++;
            return o;
        }
        goto fail;
    }
fail:
    json_decref(o);
    return NULL;
}

static json_t *read_array(reader *r)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    skip_ws(r);
    if (*r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        skip_ws(r);
        json_t *v = read_value(r);
        if (!v || json_array_append_new(a, v) < 0)
            goto fail;
        skip_ws(r);
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p == ']') {
            r->p++;
            return a;
        }
        goto fail;
    }
fail:
    json_decref(a);
    return NULL;
}

static json_t *read_number(reader *r)
{
    const unsigned char *p = r->p;
    bool neg = *p == '-';
    if (neg)
        p++;
    const unsigned char *digits = p;
    if (*p == '0') {
        p++;
    } else if (is_digit(*p)) {
        while (is_digit(*p))
            p++;
    } else {
        return NULL;
    }
    /* reals, leading zeros, and integers that may not fit: jansson's */
    if (*p == '.' || *p == 'e' || *p == 'E' || is_digit(*p) || p - digits > 18)
        return NULL;
    long long v = 0;
    for (const unsigned char *d = digits; d < p; d++)
        v = v * 10 + (*d - '0');
    r->p = p;
    return json_integer(neg ? -v : v);
}

static json_t *read_value(reader *r)
{
    unsigned char c = *r->p;
    json_t *v = NULL;
    switch (c) {
    case '{':
    case '[':
        if (++r->depth > MAX_DEPTH)
            return NULL;
        r->p++;
        v = c == '{' ? read_object(r) : read_array(r);
        r->depth--;
        return v;
    case '"': {
        r->p++;
        const char *s;
        size_t len;
        if (read_string(r, &s, &len) < 0)
            return NULL;
        return json_stringn_nocheck(s, len);
    }
    case 't':
        if (!strncmp((const char *)r->p, "true", 4) && !is_alpha(r->p[4]))
            v = json_true(), r->p += 4;
        return v;
    case 'f':
        if (!strncmp((const char *)r->p, "false", 5) && !is_alpha(r->p[5]))
            v = json_false(), r->p += 5;
        return v;
    case 'n':
        if (!strncmp((const char *)r->p, "null", 4) && !is_alpha(r->p[4]))
            v = json_null(), r->p += 4;
        return v;
    default:
        return c == '-' || is_digit(c) ? read_number(r) : NULL;
    }
}

json_t *vc__json_loads(const char *text, size_t flags, json_error_t *err)
{
    if (!text || (flags & ~(size_t)JSON_REJECT_DUPLICATES))
        return json_loads(text, flags, err);
    reader r = { (const unsigned char *)text, flags, 0, NULL, 0 };
    skip_ws(&r);
    json_t *v = *r.p == '{' || *r.p == '[' ? read_value(&r) : NULL;
    if (v) {
        skip_ws(&r);
        if (*r.p) {
            json_decref(v);
            v = NULL;
        }
    }
    vc__free(r.tmp);
    if (!v) /* not ours to judge: jansson's result, with its error */
        return json_loads(text, flags, err);
    if (err) { /* what jansson leaves on success */
        memset(err, 0, sizeof *err);
        err->line = err->column = err->position = -1;
        snprintf(err->source, sizeof err->source, "%s", "<string>");
    }
    return v;
}

/* ---- the writer ---- */

typedef struct writer {
    vc_buf *b;
    bool failed;   /* out of memory, or invalid UTF-8 (jansson fails too) */
    bool fallback; /* a real, or too deep: jansson writes the whole value */
} writer;

static inline void put(writer *w, const void *s, size_t n)
{
    vc_buf *b = w->b;
    if (b->size + n + 1 > b->reserved && vc__buf_grow(b, n) < 0) {
        w->failed = true;
        return;
    }
    memcpy(b->ptr + b->size, s, n);
    b->size += n;
}

static inline void put1(writer *w, char c)
{
    vc_buf *b = w->b;
    if (b->size + 2 > b->reserved && vc__buf_grow(b, 1) < 0) {
        w->failed = true;
        return;
    }
    b->ptr[b->size++] = c;
}

/* Bytes put_string must look at: control characters, '"', '\\' and every
 * byte of a multi-byte UTF-8 sequence (validated as jansson does). */
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char k_special[256] = {
    R16(1), R16(1),                                 /* 0x00-0x1F: control characters */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20-0x2F: '"' */
    R16(0), R16(0),                                 /* 0x30-0x4F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50-0x5F: '\\' */
    R16(0), R16(0),                                 /* 0x60-0x7F */
    R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), /* 0x80-0xFF: UTF-8 */
};
#undef R16

/* jansson's dump_string without JSON_ENSURE_ASCII / JSON_ESCAPE_SLASH */
static void put_string(writer *w, const char *str, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str, *end = s + len, *run = s;
    put1(w, '"');
    while (s < end) {
        while (s < end && !k_special[*s]) /* the common run: plain ASCII */
            s++;
        if (s == end)
            break;
        unsigned char c = *s;
        if (c >= 0x80) {
            /* jansson strings end in a NUL, where utf8_len stops */
            size_t n = utf8_len(s);
            if (!n || n > (size_t)(end - s)) {
                w->failed = true;
                return;
            }
            s += n;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            s++;
            continue;
        }
        if (s > run)
            put(w, run, (size_t)(s - run));
        char e[6] = { '\\', 0, '0', '0', 0, 0 };
        size_t n = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            e[1] = 'u', e[4] = hex[c >> 4], e[5] = hex[c & 15], n = 6;
            break;
        }
        put(w, e, n);
        run = ++s;
    }
    if (s > run)
        put(w, run, (size_t)(s - run));
    put1(w, '"');
}

static void put_integer(writer *w, json_int_t v)
{
    char buf[24], *p = buf + sizeof buf;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    put(w, p, (size_t)(buf + sizeof buf - p));
}

static void write_value(writer *w, const json_t *v, int depth)
{
    if (w->failed || w->fallback)
        return;
    if (depth > MAX_DEPTH * 2) { /* a cycle, or absurdly deep: jansson's loop check decides */
        w->fallback = true;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL: put(w, "null", 4); return;
    case JSON_TRUE: put(w, "true", 4); return;
    case JSON_FALSE: put(w, "false", 5); return;
    case JSON_INTEGER: put_integer(w, json_integer_value(v)); return;
    case JSON_REAL: w->fallback = true; return;
    case JSON_STRING: put_string(w, json_string_value(v), json_string_length(v)); return;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        put1(w, '[');
        for (size_t i = 0; i < n && !w->failed && !w->fallback; i++) {
            if (i)
                put1(w, ',');
            write_value(w, json_array_get(v, i), depth + 1);
        }
        put1(w, ']');
        return;
    }
    case JSON_OBJECT: {
        put1(w, '{');
        bool first = true;
        for (void *it = json_object_iter((json_t *)v); it && !w->failed && !w->fallback;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                put1(w, ',');
            first = false;
            put_string(w, json_object_iter_key(it), json_object_iter_key_len(it));
            put1(w, ':');
            write_value(w, json_object_iter_value(it), depth + 1);
        }
        put1(w, '}');
        return;
    }
    default:
        w->failed = true;
        return;
    }
}

typedef struct cb_sink {
    vc_buf *b;
    bool failed;
} cb_sink;

static int append_cb(const char *buffer, size_t size, void *data)
{
    cb_sink *d = data;
    if (d->failed || vc__buf_put(d->b, buffer, size) < 0) {
        d->failed = true;
        return -1;
    }
    return 0;
}

int vc__json_dump_compact(const json_t *v, vc_buf *out)
{
    size_t start = out->size;
    writer w = { out, false, false };
    if (!v)
        return -1;
    write_value(&w, v, 0);
    if (w.fallback && !w.failed) {
        out->size = start;
        cb_sink d = { out, false };
        if (json_dump_callback(v, append_cb, &d, JSON_COMPACT | JSON_ENCODE_ANY) < 0 || d.failed)
            w.failed = true;
    }
    if (out->ptr)
        out->ptr[out->size] = '\0'; /* every put kept room for it */
    if (w.failed) {
        out->size = start;
        if (out->ptr)
            out->ptr[start] = '\0';
        return -1;
    }
    return 0;
}

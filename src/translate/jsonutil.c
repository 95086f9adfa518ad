/* Small jansson helpers and the error plumbing shared by the translators. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "translate/translate.h"

const char *vc__jstr(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *vc__jobj(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_object(v) ? v : NULL;
}

json_t *vc__jarr(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_array(v) ? v : NULL;
}

const char *vc__jpath_str(const json_t *o, const char *a, const char *b)
{
    return vc__jstr(vc__jobj(o, a), b);
}

int vc__set_str(json_t *o, const char *key, const char *value)
{
    if (!value) {
        json_object_del(o, key);
        return VC_OK;
    }
    json_t *s = json_string(value);
    if (!s || json_object_set_new(o, key, s) < 0)
        return vc__error_oom();
    return VC_OK;
}

int vc__go_quote(vc_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (vc__buf_put(b, "\"", 1) < 0)
        return VC_ENOMEM;
    const unsigned char *p = (const unsigned char *)s, *run = p;
    for (;; p++) {
        unsigned char ch = *p;
        bool plain = ch >= 0x20 && ch != '"' && ch != '\\' && ch != '<' && ch != '>' && ch != '&' &&
                     !(ch == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9));
        if (plain)
            continue;
        /* flush the run of characters that need no escaping */
        if (p > run && vc__buf_put(b, run, (size_t)(p - run)) < 0)
            return VC_ENOMEM;
        if (!ch)
            break;
        char esc[8];
        const char *e;
        size_t n = 2;
        if (ch == '"')
            e = "\\\"";
        else if (ch == '\\')
            e = "\\\\";
        else if (ch == '\n')
            e = "\\n";
        else if (ch == '\r')
            e = "\\r";
        else if (ch == '\t')
            e = "\\t";
        else if (ch == 0xe2) {
            e = p[2] == 0xa8 ? "\\u2028" : "\\u2029", n = 6;
            p += 2;
        } else {
            /* control characters, and Go's HTML escaping of <, > and & */
            esc[0] = '\\', esc[1] = 'u', esc[2] = '0', esc[3] = '0';
            esc[4] = hex[ch >> 4], esc[5] = hex[ch & 15];
            e = esc, n = 6;
        }
        if (vc__buf_put(b, e, n) < 0)
            return VC_ENOMEM;
        run = p + 1;
    }
    return vc__buf_put(b, "\"", 1);
}

void vc__pointer_escape(const char *key, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = key; *p && o + 3 < cap; p++) {
        if (*p == '~') {
            out[o++] = '~', out[o++] = '0';
        } else if (*p == '/') {
            out[o++] = '~', out[o++] = '1';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

void vc__pointer_to_path(const char *ptr, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    if (!ptr || !*ptr)
        return;
    const char *p = ptr;
    while (*p == '/' && o + 1 < cap) {
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char seg[256];
        size_t sl = 0;
        for (size_t i = 0; i < len && sl + 1 < sizeof seg; i++) {
            if (p[i] == '~' && i + 1 < len) {
                seg[sl++] = p[i + 1] == '1' ? '/' : '~';
                i++;
            } else {
                seg[sl++] = p[i];
            }
        }
        seg[sl] = '\0';
        bool numeric = sl > 0;
        bool plain = sl > 0;
        for (size_t i = 0; i < sl; i++) {
            if (seg[i] < '0' || seg[i] > '9')
                numeric = false;
            if (seg[i] == '.' || seg[i] == '/' || seg[i] == '[' || seg[i] == ']' || seg[i] == ' ')
                plain = false;
        }
        int n;
        if (numeric)
            n = snprintf(out + o, cap - o, "[%s]", seg);
        else if (plain)
            n = snprintf(out + o, cap - o, "%s%s", o ? "." : "", seg);
        else
            n = snprintf(out + o, cap - o, "[\"%s\"]", seg);
        if (n < 0 || (size_t)n >= cap - o) {
            out[cap - 1] = '\0';
            return;
        }
        o += (size_t)n;
        p += len;
    }
}

static void call_label(vc__call *c, char *out, size_t cap)
{
    const char *kind = c && c->kind ? c->kind->kind : "object";
    if (c && c->vns && *c->vns)
        snprintf(out, cap, "%s %s/%s", kind, c->vns, c->vname ? c->vname : "");
    else if (c && c->vname && *c->vname)
        snprintf(out, cap, "%s %s", kind, c->vname);
    else
        snprintf(out, cap, "%s", kind);
}

int vc__bad(vc__call *c, const char *problem, const char *ptr_fmt, ...)
{
    char ptr[512];
    va_list ap;
    va_start(ap, ptr_fmt);
    vsnprintf(ptr, sizeof ptr, ptr_fmt, ap);
    va_end(ap);
    if (c && c->diag) {
        snprintf(c->diag->pointer, sizeof c->diag->pointer, "%s", ptr);
        snprintf(c->diag->problem, sizeof c->diag->problem, "%s", problem);
    }
    char path[512], who[400];
    vc__pointer_to_path(ptr, path, sizeof path);
    call_label(c, who, sizeof who);
    return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "%s: %s%s%s", who, path, *path ? ": " : "",
                     problem);
}

int vc__fail(vc__call *c, int code, const char *fmt, ...)
{
    char msg[480], who[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c && c->diag) {
        c->diag->pointer[0] = '\0';
        snprintf(c->diag->problem, sizeof c->diag->problem, "%s", msg);
    }
    call_label(c, who, sizeof who);
    return vc__error(code, VC_ERRCLASS_TRANSLATE, "%s: %s", who, msg);
}

/* YAML -> jansson with positions; jansson -> block YAML. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "util/yaml.h"

#define MAX_DEPTH 256
#define MAX_NODES 2000000 /* guards alias expansion ("billion laughs") */

typedef struct frame {
    json_t *value;      /* object or array being filled */
    char *key;          /* pending mapping key (objects) */
    int key_line, key_col;
    size_t ptr_len;     /* length of this container's pointer in `ptr` */
    bool merge_pending; /* key was "<<" */
    json_t *merges;     /* "<<" values, applied at mapping end (explicit keys win) */
} frame;

typedef struct anchor {
    char *name;
    json_t *value;
} anchor;

typedef struct pstate {
    const char *filename;
    frame stack[MAX_DEPTH];
    int depth;
    vc_buf ptr;         /* current JSON pointer */
    json_t *marks;      /* current doc marks or NULL */
    json_t *key_marks;  /* current doc: where each mapping key starts, or NULL */
    anchor *anchors;
    size_t n_anchors, cap_anchors;
    size_t nodes;
    json_t *doc_root;
} pstate;

static int perr(pstate *st, size_t line, size_t col, const char *msg)
{
    return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "%s:%zu:%zu: %s",
                     st->filename ? st->filename : "<input>", line + 1, col + 1, msg);
}

static bool match_word(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return true;
    return false;
}

static const char *const k_null[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const k_true[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y", NULL };
static const char *const k_false[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N", NULL };

static bool is_int(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return false;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        if (!*p)
            return false;
        for (; *p; p++)
            if (!strchr("0123456789abcdefABCDEF", *p))
                return false;
        return true;
    }
    for (; *p; p++)
        if ((*p < '0' || *p > '9') && *p != '_')
            return false;
    return true;
}

static bool is_float(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF"))
        return true;
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
        return true;
    bool digits = false, dot = false, exp = false;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits = true;
        else if (*p == '.' && !dot && !exp)
            dot = true;
        else if ((*p == 'e' || *p == 'E') && digits && !exp) {
            exp = true;
            if (p[1] == '-' || p[1] == '+')
                p++;
            if (!p[1])
                return false;
        } else
            return false;
    }
    return digits && (dot || exp);
}

static json_t *scalar_value(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag) {
        if (!strcmp(tag, YAML_STR_TAG) || !strcmp(tag, "!"))
            return json_stringn(s, len);
        if (!strcmp(tag, YAML_NULL_TAG))
            return json_null();
        if (!strcmp(tag, YAML_BOOL_TAG))
            return json_boolean(match_word(s, k_true));
        if (!strcmp(tag, YAML_INT_TAG) && is_int(s))
            return json_integer(strtoll(s, NULL, 0));
        if (!strcmp(tag, YAML_FLOAT_TAG) && is_float(s))
            return json_real(strtod(s, NULL));
        return json_stringn(s, len);
    }
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || strlen(s) != len)
        return json_stringn(s, len);
    if (match_word(s, k_null))
        return json_null();
    if (match_word(s, k_true))
        return json_true();
    if (match_word(s, k_false))
        return json_false();
    if (is_int(s) && !strchr(s, '_')) {
        errno = 0;
        char *end = NULL;
        long long v = strtoll(s, &end, 0);
        /* a leading-zero decimal like 0755 is octal in YAML 1.1 (strtoll agrees) */
        if (errno == 0 && end && !*end)
            return json_integer(v);
        double d = strtod(s, NULL);
        return json_real(d);
    }
    if (is_float(s)) {
        double d = strtod(s, NULL);
        const char *p = s + (*s == '-' || *s == '+');
        if (p[0] == '.' && (p[1] == 'i' || p[1] == 'I'))
            d = *s == '-' ? -INFINITY : INFINITY;
        if (isnan(d) || isinf(d)) /* JSON cannot hold them: keep the text */
            return json_stringn(s, len);
        return json_real(d);
    }
    return json_stringn(s, len);
}

static void note_mark(pstate *st, size_t line, size_t col)
{
    if (!st->marks)
        return;
    json_t *m = json_pack("[ii]", (json_int_t)line + 1, (json_int_t)col + 1);
    if (m)
        json_object_set_new(st->marks, st->ptr.ptr ? st->ptr.ptr : "", m);
}

/* Append one pointer segment (escaped per RFC 6901). */
static int ptr_push_key(pstate *st, const char *key)
{
    if (vc__buf_put(&st->ptr, "/", 1) < 0)
        return VC_ENOMEM;
    for (const char *p = key; *p; p++) {
        int r;
        if (*p == '~')
            r = vc__buf_put(&st->ptr, "~0", 2);
        else if (*p == '/')
            r = vc__buf_put(&st->ptr, "~1", 2);
        else
            r = vc__buf_put(&st->ptr, p, 1);
        if (r < 0)
            return VC_ENOMEM;
    }
    return VC_OK;
}

static void ptr_truncate(pstate *st, size_t len)
{
    st->ptr.size = len;
    if (st->ptr.ptr)
        st->ptr.ptr[len] = '\0';
}

static void merge_into(json_t *obj, json_t *src)
{
    const char *k;
    json_t *v;
    if (json_is_object(src)) {
        json_object_foreach(src, k, v) {
            if (!json_object_get(obj, k))
                json_object_set(obj, k, v);
        }
    } else if (json_is_array(src)) {
        size_t i;
        json_array_foreach(src, i, v) merge_into(obj, v);
    }
}

static size_t count_nodes(const json_t *v)
{
    size_t n = 1, i;
    const char *k;
    json_t *c;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c) n += count_nodes(c);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c) n += count_nodes(c);
    }
    return n;
}

/* Attach a finished value to the parent (or make it the document root). */
static int attach(pstate *st, json_t *v, const yaml_mark_t *mk)
{
    if (++st->nodes > MAX_NODES) {
        json_decref(v);
        return perr(st, mk->line, mk->column, "document too large (alias expansion?)");
    }
    if (st->depth == 0) {
        st->doc_root = v;
        return VC_OK;
    }
    frame *f = &st->stack[st->depth - 1];
    if (json_is_array(f->value))
        return json_array_append_new(f->value, v) < 0 ? vc__error_oom() : VC_OK;
    /* object */
    if (!f->key) {
        /* this value is a key */
        if (json_is_string(v)) {
            f->key = vc__strdup(json_string_value(v));
        } else if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v) || json_is_null(v)) {
            char *txt = json_dumps(v, JSON_ENCODE_ANY);
            f->key = txt ? vc__strdup(txt) : NULL;
            vc__free(txt);
        } else {
            json_decref(v);
            return perr(st, mk->line, mk->column, "mapping keys must be scalars");
        }
        json_decref(v);
        if (!f->key)
            return vc__error_oom();
        f->merge_pending = strcmp(f->key, "<<") == 0;
        f->key_line = (int)mk->line;
        f->key_col = (int)mk->column;
        if (st->key_marks) {
            /* value_begin left the pointer at the mapping's */
            size_t base = st->ptr.size;
            json_t *m = json_pack("[ii]", (json_int_t)mk->line + 1, (json_int_t)mk->column + 1);
            if (!m || ptr_push_key(st, f->key) < 0) {
                json_decref(m);
                return vc__error_oom();
            }
            if (json_object_set_new(st->key_marks, st->ptr.ptr, m) < 0) /* consumes m */
                return vc__error_oom();
            ptr_truncate(st, base);
        }
        return VC_OK;
    }
    if (f->merge_pending) {
        if (!f->merges)
            f->merges = json_array();
        if (json_array_append_new(f->merges, v) < 0) /* consumes v; NULL merges fails too */
            return vc__error_oom();
    } else {
        if (json_object_get(f->value, f->key)) {
            char msg[300];
            snprintf(msg, sizeof msg, "duplicate key \"%.200s\"", f->key);
            json_decref(v);
            int r = perr(st, (size_t)f->key_line, (size_t)f->key_col, msg);
            vc__free(f->key);
            f->key = NULL;
            return r;
        }
        if (json_object_set_new(f->value, f->key, v) < 0)
            return vc__error_oom(); /* f->key is freed by unwind() */
    }
    vc__free(f->key);
    f->key = NULL;
    f->merge_pending = false;
    return VC_OK;
}

/* Before a value starts: extend the pointer with its segment and record its mark. */
static int value_begin(pstate *st, const yaml_mark_t *mk, bool *is_key)
{
    *is_key = false;
    if (st->depth == 0) {
        ptr_truncate(st, 0);
        note_mark(st, mk->line, mk->column);
        return VC_OK;
    }
    frame *f = &st->stack[st->depth - 1];
    ptr_truncate(st, f->ptr_len);
    if (json_is_array(f->value)) {
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", json_array_size(f->value));
        if (ptr_push_key(st, idx) < 0)
            return VC_ENOMEM;
    } else if (!f->key) {
        *is_key = true;
        return VC_OK;
    } else if (ptr_push_key(st, f->key) < 0) {
        return VC_ENOMEM;
    }
    note_mark(st, mk->line, mk->column);
    return VC_OK;
}

static int add_anchor(pstate *st, const char *name, json_t *v)
{
    if (!name)
        return VC_OK;
    if (st->n_anchors == st->cap_anchors) {
        size_t n = st->cap_anchors ? st->cap_anchors * 2 : 8;
        anchor *a = vc__realloc(st->anchors, n * sizeof(*a));
        if (!a)
            return vc__error_oom();
        st->anchors = a;
        st->cap_anchors = n;
    }
    st->anchors[st->n_anchors].name = vc__strdup(name);
    st->anchors[st->n_anchors].value = json_incref(v);
    st->n_anchors++;
    return VC_OK;
}

static void clear_anchors(pstate *st)
{
    for (size_t i = 0; i < st->n_anchors; i++) {
        vc__free(st->anchors[i].name);
        json_decref(st->anchors[i].value);
    }
    st->n_anchors = 0;
}

static void unwind(pstate *st)
{
    while (st->depth > 0) {
        frame *f = &st->stack[--st->depth];
        json_decref(f->value);
        json_decref(f->merges);
        vc__free(f->key);
    }
    json_decref(st->doc_root);
    st->doc_root = NULL;
}

int vc__yaml_parse(const char *data, size_t len, const char *filename,
                   json_t **out_docs, json_t **out_marks)
{
    return vc__yaml_parse_keys(data, len, filename, out_docs, out_marks, NULL);
}

int vc__yaml_parse_keys(const char *data, size_t len, const char *filename,
                        json_t **out_docs, json_t **out_marks, json_t **out_key_marks)
{
    *out_docs = NULL;
    if (out_marks)
        *out_marks = NULL;
    if (out_key_marks)
        *out_key_marks = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return vc__error_oom();
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);

    pstate st;
    memset(&st, 0, sizeof(st));
    st.filename = filename;
    json_t *docs = json_array();
    json_t *all_marks = out_marks ? json_array() : NULL;
    json_t *all_keys = out_key_marks ? json_array() : NULL;
    int rc = VC_OK;
    if (!docs || (out_marks && !all_marks) || (out_key_marks && !all_keys))
        rc = vc__error_oom();
    bool done = rc < 0;

    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s%s%s", parser.problem ? parser.problem : "syntax error",
                     parser.context ? " " : "", parser.context ? parser.context : "");
            rc = perr(&st, parser.problem_mark.line, parser.problem_mark.column, msg);
            break;
        }
        const yaml_mark_t *mk = &ev.start_mark;
        bool is_key = false;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            st.doc_root = NULL;
            st.nodes = 0;
            if (all_marks && !(st.marks = json_object()))
                rc = vc__error_oom();
            if (all_keys && !(st.key_marks = json_object()))
                rc = vc__error_oom();
            break;
        case YAML_DOCUMENT_END_EVENT:
            if (st.doc_root && !json_is_null(st.doc_root)) {
                if (json_array_append_new(docs, st.doc_root) < 0)
                    rc = vc__error_oom();
                if (all_marks) {
                    if (json_array_append_new(all_marks, st.marks) < 0)
                        rc = vc__error_oom();
                } else {
                    json_decref(st.marks);
                }
                if (all_keys) {
                    if (json_array_append_new(all_keys, st.key_marks) < 0)
                        rc = vc__error_oom();
                } else {
                    json_decref(st.key_marks);
                }
            } else {
                json_decref(st.doc_root);
                json_decref(st.marks);
                json_decref(st.key_marks);
            }
            st.doc_root = NULL;
            st.marks = NULL;
            st.key_marks = NULL;
            clear_anchors(&st);
            break;
        case YAML_SCALAR_EVENT: {
            if ((rc = value_begin(&st, mk, &is_key)) < 0)
                break;
            json_t *v = is_key ? json_stringn((const char *)ev.data.scalar.value, ev.data.scalar.length)
                               : scalar_value(&ev);
            if (!v) {
                rc = vc__error_oom();
                break;
            }
            if (ev.data.scalar.anchor && (rc = add_anchor(&st, (const char *)ev.data.scalar.anchor, v)) < 0) {
                json_decref(v);
                break;
            }
            rc = attach(&st, v, mk);
            break;
        }
        case YAML_ALIAS_EVENT: {
            if ((rc = value_begin(&st, mk, &is_key)) < 0)
                break;
            json_t *found = NULL;
            for (size_t i = st.n_anchors; i-- > 0;)
                if (!strcmp(st.anchors[i].name, (const char *)ev.data.alias.anchor)) {
                    found = st.anchors[i].value;
                    break;
                }
            if (!found) {
                rc = perr(&st, mk->line, mk->column, "unknown alias");
                break;
            }
            st.nodes += count_nodes(found);
            if (st.nodes > MAX_NODES) {
                rc = perr(&st, mk->line, mk->column, "document too large (alias expansion)");
                break;
            }
            json_t *copy = json_deep_copy(found);
            if (!copy) {
                rc = vc__error_oom();
                break;
            }
            rc = attach(&st, copy, mk);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if ((rc = value_begin(&st, mk, &is_key)) < 0)
                break;
            if (is_key) {
                rc = perr(&st, mk->line, mk->column, "mapping keys must be scalars");
                break;
            }
            if (st.depth >= MAX_DEPTH) {
                rc = perr(&st, mk->line, mk->column, "nesting too deep");
                break;
            }
            frame *f = &st.stack[st.depth++];
            memset(f, 0, sizeof(*f));
            f->value = ev.type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
            f->ptr_len = st.ptr.size;
            const yaml_char_t *anc = ev.type == YAML_SEQUENCE_START_EVENT
                                         ? ev.data.sequence_start.anchor
                                         : ev.data.mapping_start.anchor;
            if (!f->value) {
                rc = vc__error_oom();
                break;
            }
            if (anc)
                f->key_line = -1; /* anchors registered at end, value complete */
            if (anc) {
                /* keep the anchor name in `key` slot? no: use a side copy */
                /* register with the (still empty) container; aliases deep-copy
                 * at use, so a completed container is what they see unless the
                 * alias appears inside its own anchor (invalid anyway). */
                if ((rc = add_anchor(&st, (const char *)anc, f->value)) < 0)
                    break;
            }
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            frame *f = &st.stack[--st.depth];
            json_t *v = f->value;
            vc__free(f->key);
            f->key = NULL;
            if (f->merges) {
                merge_into(v, f->merges);
                json_decref(f->merges);
                f->merges = NULL;
            }
            ptr_truncate(&st, f->ptr_len);
            rc = attach(&st, v, mk);
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        unwind(&st);
        json_decref(st.marks);
        json_decref(st.key_marks);
        json_decref(docs);
        json_decref(all_marks);
        json_decref(all_keys);
        docs = all_marks = all_keys = NULL;
    }
    clear_anchors(&st);
    vc__free(st.anchors);
    vc_buf_dispose(&st.ptr);
    yaml_parser_delete(&parser);
    if (rc < 0)
        return rc;
    *out_docs = docs;
    if (out_marks)
        *out_marks = all_marks;
    if (out_key_marks)
        *out_key_marks = all_keys;
    return VC_OK;
}

char *vc__yaml_where(const json_t *doc_marks, const char *filename, const char *pointer)
{
    const char *fn = filename ? filename : "<input>";
    if (!doc_marks || !pointer)
        return vc__strdup(fn);
    char *p = vc__strdup(pointer);
    if (!p)
        return NULL;
    for (;;) {
        json_t *m = json_object_get(doc_marks, p);
        if (m && json_array_size(m) == 2) {
            char *r = vc__sprintf("%s:%lld:%lld", fn, (long long)json_integer_value(json_array_get(m, 0)),
                                  (long long)json_integer_value(json_array_get(m, 1)));
            vc__free(p);
            return r;
        }
        char *slash = strrchr(p, '/');
        if (!slash) {
            vc__free(p);
            return vc__strdup(fn);
        }
        *slash = '\0';
    }
}

/* ---- emitter ---- */

static bool needs_quote(const char *s)
{
    if (!*s)
        return true;
    if (match_word(s, k_null) || match_word(s, k_true) || match_word(s, k_false))
        return true;
    if (is_int(s) || is_float(s))
        return true;
    if (strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]))
        return true;
    size_t n = strlen(s);
    if (s[n - 1] == ' ' || s[n - 1] == ':')
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return true;
        if (*p == ':' && (p[1] == ' ' || p[1] == '\0'))
            return true;
        if (*p == '#' && p > (const unsigned char *)s && p[-1] == ' ')
            return true;
    }
    return false;
}

/* The emitter is libyaml's; we choose the scalar styles, because only we
 * know that the string "true" or "08" must stay a string when read back
 * (libyaml would write it plain). Anything our resolver would misread,
 * and text with control characters or line breaks, is double-quoted, as the
 * hand-written emitter did, so the output is the same text.
 * Measured against the hand-written emitter this replaces (bench_yaml,
 * release build, the 90 translate golden documents x 2000): see the commit. */

typedef struct emitter {
    yaml_emitter_t em;
    vc_buf *out;
    bool oom;
} emitter;

static int write_out(void *data, unsigned char *buf, size_t size)
{
    emitter *e = data;
    if (vc__buf_put(e->out, buf, size) < 0) {
        e->oom = true;
        return 0;
    }
    return 1;
}

static int emitted(emitter *e, yaml_event_t *ev, int ok)
{
    if (!ok)
        return vc__error_oom();
    if (!yaml_emitter_emit(&e->em, ev)) /* frees the event either way */
        return e->oom || e->em.error == YAML_MEMORY_ERROR
                   ? vc__error_oom()
                   : vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "YAML emitter: %s",
                               e->em.problem ? e->em.problem : "failed");
    return VC_OK;
}

static int emit_text(emitter *e, const char *s, size_t n, yaml_scalar_style_t style)
{
    if (n > INT_MAX)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "value too long to print");
    yaml_event_t ev;
    return emitted(e, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style));
}

static int emit_scalar(emitter *e, const json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
        if (strlen(s) != n || needs_quote(s))
            style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        return emit_text(e, s, n, style);
    }
    char *txt = json_dumps(v, JSON_ENCODE_ANY); /* numbers, true, false, null */
    if (!txt)
        return vc__error_oom();
    int r = emit_text(e, txt, strlen(txt), YAML_PLAIN_SCALAR_STYLE);
    vc__free(txt);
    return r;
}

static int emit_node(emitter *e, const json_t *v, int depth)
{
    if (depth > MAX_DEPTH)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "value nested too deep to print");
    yaml_event_t ev;
    int r;
    if (json_is_object(v)) {
        yaml_mapping_style_t st = json_object_size(v) ? YAML_BLOCK_MAPPING_STYLE : YAML_FLOW_MAPPING_STYLE;
        if ((r = emitted(e, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, st))) < 0)
            return r;
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c) {
            if ((r = emit_text(e, k, strlen(k), needs_quote(k) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                               : YAML_ANY_SCALAR_STYLE)) < 0 ||
                (r = emit_node(e, c, depth + 1)) < 0)
                return r;
        }
        return emitted(e, &ev, yaml_mapping_end_event_initialize(&ev));
    }
    if (json_is_array(v)) {
        yaml_sequence_style_t st = json_array_size(v) ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE;
        if ((r = emitted(e, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, st))) < 0)
            return r;
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) {
            if ((r = emit_node(e, c, depth + 1)) < 0)
                return r;
        }
        return emitted(e, &ev, yaml_sequence_end_event_initialize(&ev));
    }
    return emit_scalar(e, v);
}

int vc__yaml_emit(vc_buf *out, const json_t *value)
{
    emitter e = { .out = out };
    if (!yaml_emitter_initialize(&e.em))
        return vc__error_oom();
    yaml_emitter_set_output(&e.em, write_out, &e);
    yaml_emitter_set_unicode(&e.em, 1);
    yaml_emitter_set_width(&e.em, -1); /* never fold long lines */
    yaml_emitter_set_indent(&e.em, 2);
    yaml_event_t ev;
    int r = emitted(&e, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    if (r == VC_OK)
        r = emitted(&e, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    if (r == VC_OK)
        r = emit_node(&e, value, 0);
    if (r == VC_OK)
        r = emitted(&e, &ev, yaml_document_end_event_initialize(&ev, 1));
    if (r == VC_OK)
        r = emitted(&e, &ev, yaml_stream_end_event_initialize(&ev));
    if (r == VC_OK && !yaml_emitter_flush(&e.em))
        r = vc__error_oom();
    yaml_emitter_delete(&e.em);
    return r;
}

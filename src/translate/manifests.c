/* vc_translate_manifests: YAML/JSON documents in, the host's view out. */
#include <string.h>

#include "translate/translate.h"
#include "util/yaml.h"

typedef struct item {
    json_t *obj;          /* borrowed from the parsed documents */
    const json_t *marks;  /* the document's marks */
    char prefix[32];      /* JSON pointer prefix inside the document ("/items/3") */
} item;

static int collect(item **items, size_t *n, size_t *cap, json_t *obj, const json_t *marks, const char *prefix)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        item *ni = vc__realloc(*items, nc * sizeof *ni);
        if (!ni)
            return vc__error_oom();
        *items = ni;
        *cap = nc;
    }
    (*items)[*n].obj = obj;
    (*items)[*n].marks = marks;
    snprintf((*items)[*n].prefix, sizeof (*items)[*n].prefix, "%s", prefix);
    (*n)++;
    return VC_OK;
}

static bool is_list(const json_t *doc)
{
    const char *k = vc__jstr(doc, "kind");
    return k && strlen(k) >= 4 && !strcmp(k + strlen(k) - 4, "List") && json_is_array(json_object_get(doc, "items"));
}

/* "FILE:LINE:COL: field: problem" for a failed item. */
static int positioned(const item *it, const char *filename, const vc__tr_diag *d, int code)
{
    char ptr[600];
    snprintf(ptr, sizeof ptr, "%s%s", it->prefix, d->pointer);
    char *where = vc__yaml_where(it->marks, filename ? filename : "<input>", ptr);
    char path[600];
    vc__pointer_to_path(d->pointer, path, sizeof path);
    char msg[1200];
    if (*path) {
        snprintf(msg, sizeof msg, "%s: %s: %s", where ? where : "", path, d->problem);
    } else {
        const char *kind = vc__jstr(it->obj, "kind");
        const char *ns = vc__jpath_str(it->obj, "metadata", "namespace");
        const char *name = vc__jpath_str(it->obj, "metadata", "name");
        snprintf(msg, sizeof msg, "%s: %s %s%s%s: %s", where ? where : "", kind ? kind : "object", ns ? ns : "",
                 ns ? "/" : "", name ? name : "", d->problem);
    }
    vc__free(where);
    return vc__error(code, VC_ERRCLASS_TRANSLATE, "%s", msg);
}

static int note(vc_buf *notes, const json_t *obj, const char *why)
{
    if (!notes)
        return VC_OK;
    const char *kind = vc__jstr(obj, "kind");
    const char *ns = vc__jpath_str(obj, "metadata", "namespace");
    const char *name = vc__jpath_str(obj, "metadata", "name");
    return vc__buf_printf(notes, "skipped %s %s%s%s: %s\n", kind ? kind : "object", ns ? ns : "", ns ? "/" : "",
                          name ? name : "", why);
}

/* jansson can skip a failed piece and still return 0: remember failures */
typedef struct dump_sink {
    vc_buf *out;
    bool failed;
} dump_sink;

static int dump_cb(const char *buffer, size_t size, void *data)
{
    dump_sink *d = data;
    if (d->failed || vc__buf_put(d->out, buffer, size) < 0) {
        d->failed = true;
        return -1;
    }
    return 0;
}

int vc_translate_manifests(vc_buf *out, vc_buf *out_notes, vc_translator *t, const char *text, size_t len,
                           const char *filename, const char *inputs_json, uint32_t flags)
{
    if (!out || !t || !text)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_translate_manifests: out, translator and text are required");
    json_t *inputs = NULL;
    if (inputs_json) {
        json_error_t jerr;
        inputs = json_loads(inputs_json, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(inputs)) {
            int rc = vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "inputs: %s",
                               inputs ? "must be a JSON object" : jerr.text);
            json_decref(inputs);
            return rc;
        }
    }
    json_t *docs = NULL, *marks = NULL, *results = json_array();
    item *items = NULL;
    size_t n = 0, cap = 0;
    vc_buf notes = VC_BUF_INIT, body = VC_BUF_INIT;
    int rc = results ? vc__yaml_parse(text, len, filename ? filename : "<input>", &docs, &marks) : vc__error_oom();
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc) {
        if (rc < 0)
            break;
        const json_t *dm = json_array_get(marks, i);
        if (is_list(doc)) {
            size_t j;
            json_t *e;
            VC__ARRAY_FOREACH(json_object_get(doc, "items"), j, e) {
                char prefix[32];
                snprintf(prefix, sizeof prefix, "/items/%zu", j);
                if ((rc = collect(&items, &n, &cap, e, dm, prefix)) < 0)
                    break;
            }
        } else {
            rc = collect(&items, &n, &cap, doc, dm, "");
        }
    }
    for (i = 0; rc == VC_OK && i < n; i++) {
        vc__tr_diag diag;
        json_t *host = NULL, *extra = NULL;
        /* keep the source object intact for messages: translate a copy */
        json_t *copy = json_deep_copy(items[i].obj);
        if (!copy) {
            rc = vc__error_oom();
            break;
        }
        int r = vc__translate_to_host(&host, &extra, t, copy, inputs, flags & (VC_TRANSLATE_APPLY_DEFAULTS | VC_TRANSLATE_PREVIEW), &diag);
        if (r == VC_ENOTSUPPORTED) {
            const char *msg = vc_error_last()->message;
            /* the message is "Kind ns/name: reason": keep the reason */
            const char *why = strstr(msg, ": ");
            if (note(&notes, items[i].obj, why ? why + 2 : msg) < 0)
                rc = VC_ENOMEM;
            continue;
        }
        if (r < 0) {
            rc = positioned(&items[i], filename, &diag, r);
            break;
        }
        if (json_array_append_new(results, host) < 0 || (extra && json_array_extend(results, extra) < 0))
            rc = vc__error_oom();
        json_decref(extra);
    }
    if (rc == VC_OK) {
        size_t m = json_array_size(results);
        if (flags & VC_TRANSLATE_OUTPUT_JSON) {
            if (m == 1 || m > 1) {
                const json_t *what = m == 1 ? json_array_get(results, 0) : results;
                dump_sink d = { &body, false };
                if (json_dump_callback(what, dump_cb, &d, JSON_INDENT(2) | JSON_ENCODE_ANY) < 0 || d.failed ||
                    vc__buf_put(&body, "\n", 1) < 0)
                    rc = vc__error_oom();
            } else if (vc__buf_puts(&body, "[]\n") < 0) {
                rc = VC_ENOMEM;
            }
        } else {
            json_t *h;
            json_array_foreach(results, i, h) {
                if ((i && vc__buf_puts(&body, "---\n") < 0) || vc__yaml_emit(&body, h) < 0) {
                    rc = vc__error_oom();
                    break;
                }
            }
        }
    }
    if (rc == VC_OK) {
        vc_buf_dispose(out);
        *out = body;
        if (!out->ptr && vc__buf_set(out, "") < 0)
            rc = VC_ENOMEM;
        if (out_notes) {
            vc_buf_dispose(out_notes);
            *out_notes = notes;
            if (!out_notes->ptr && vc__buf_set(out_notes, "") < 0)
                rc = VC_ENOMEM;
        } else {
            vc_buf_dispose(&notes);
        }
    } else {
        vc_buf_dispose(&body);
        vc_buf_dispose(&notes);
    }
    vc__free(items);
    json_decref(inputs);
    json_decref(results);
    json_decref(docs);
    json_decref(marks);
    return rc;
}

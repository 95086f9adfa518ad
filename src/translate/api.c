/* The public string-in/string-out API over the jansson-level functions. */
#include <string.h>

#include "translate/translate.h"
#include "util/json.h"

static int parse_json(json_t **out, const char *what, const char *text)
{
    *out = NULL;
    if (!text)
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "%s: JSON text is NULL", what);
    json_error_t err;
    json_t *v = vc__json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!v)
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "%s: %d:%d: %s", what, err.line, err.column, err.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "%s: must be a JSON object", what);
    }
    *out = v;
    return VC_OK;
}

/* jansson does not stop at every callback failure (a failed piece can be
 * skipped and the dump still return 0), so the failure is remembered here. */
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

/* Serialize `v` into `out` (replacing its content). */
static int emit(vc_buf *out, const json_t *v, size_t flags)
{
    vc__buf_clear(out);
    if (flags == JSON_COMPACT) { /* the fast writer: jansson's bytes (util/json.c) */
        if (vc__json_dump_compact(v, out) < 0) {
            vc__buf_clear(out);
            return vc__error_oom();
        }
        if (!out->ptr && vc__buf_set(out, "") < 0)
            return VC_ENOMEM;
        return VC_OK;
    }
    dump_sink d = { out, false };
    if (json_dump_callback(v, dump_cb, &d, flags | JSON_ENCODE_ANY) < 0 || d.failed) {
        vc__buf_clear(out);
        return vc__error_oom();
    }
    if (vc__buf_put(out, "", 0) < 0) /* NUL-terminate even when empty */
        return VC_ENOMEM;
    if (!out->ptr && vc__buf_set(out, "") < 0)
        return VC_ENOMEM;
    return VC_OK;
}

static int need(const void *p, const char *fn, const char *arg)
{
    if (p)
        return VC_OK;
    return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "%s: %s is NULL", fn, arg);
}

int vc_translate_host_name(vc_buf *out, vc_translator *t, const char *kind, const char *ns, const char *name)
{
    int rc;
    if ((rc = need(out, __func__, "out")) < 0 || (rc = need(t, __func__, "translator")) < 0)
        return rc;
    char hn[VC__NAME_MAX];
    if ((rc = vc__translate_host_name(t, kind, ns, name, hn)) < 0)
        return rc;
    return vc__buf_set(out, hn) < 0 ? vc__error_oom() : VC_OK;
}

int vc_translate_virtual_name(vc_buf *out_namespace, vc_buf *out_name, vc_translator *t, const char *host_json)
{
    int rc;
    if ((rc = need(t, __func__, "translator")) < 0)
        return rc;
    json_t *h;
    if ((rc = parse_json(&h, "host object", host_json)) < 0)
        return rc;
    char *ns = NULL, *name = NULL;
    rc = vc__translate_virtual_name(&ns, &name, t, h);
    json_decref(h);
    if (rc == VC_OK) {
        if ((out_namespace && vc__buf_set(out_namespace, ns) < 0) || (out_name && vc__buf_set(out_name, name) < 0))
            rc = vc__error_oom();
    }
    vc__free(ns);
    vc__free(name);
    return rc;
}

int vc_translate_label_key(vc_buf *out, vc_translator *t, const char *key)
{
    int rc;
    if ((rc = need(out, __func__, "out")) < 0 || (rc = need(t, __func__, "translator")) < 0 ||
        (rc = need(key, __func__, "key")) < 0)
        return rc;
    return vc__buf_set(out, vc__host_label_key(t, key)) < 0 ? vc__error_oom() : VC_OK;
}

int vc_translate_namespace_label_key(vc_buf *out, vc_translator *t, const char *key)
{
    int rc;
    if ((rc = need(out, __func__, "out")) < 0 || (rc = need(t, __func__, "translator")) < 0 ||
        (rc = need(key, __func__, "key")) < 0)
        return rc;
    char k[64];
    vc__ns_label_key(t, key, k);
    return vc__buf_set(out, k) < 0 ? vc__error_oom() : VC_OK;
}

int vc_translate_to_host(vc_buf *out, vc_translator *t, const char *virtual_json, const char *inputs_json,
                         uint32_t flags)
{
    int rc;
    if ((rc = need(out, __func__, "out")) < 0 || (rc = need(t, __func__, "translator")) < 0)
        return rc;
    json_t *v, *in = NULL, *host = NULL, *extra = NULL;
    if ((rc = parse_json(&v, "virtual object", virtual_json)) < 0)
        return rc;
    if (inputs_json && (rc = parse_json(&in, "inputs", inputs_json)) < 0) {
        json_decref(v);
        return rc;
    }
    rc = vc__translate_to_host(&host, &extra, t, v, in, flags, NULL);
    json_decref(in);
    if (rc < 0)
        return rc;
    if (extra) {
        json_t *list = json_array();
        if (!list || json_array_append(list, host) < 0 || json_array_extend(list, extra) < 0)
            rc = vc__error_oom();
        else
            rc = emit(out, list, JSON_COMPACT);
        json_decref(list);
    } else {
        rc = emit(out, host, JSON_COMPACT);
    }
    json_decref(host);
    json_decref(extra);
    return rc;
}

/* The string form of a (host, virtual) -> result call: parse both, call fn,
 * emit the result (an empty string when fn gives none). */
typedef int (*pair_fn)(json_t **out, vc_translator *t, const json_t *host, const json_t *virt);

static int pair_call(vc_buf *out, vc_translator *t, const char *func, const char *hwhat, const char *host_json,
                     const char *vwhat, const char *virtual_json, pair_fn fn)
{
    int rc;
    if ((rc = need(out, func, "out")) < 0 || (rc = need(t, func, "translator")) < 0)
        return rc;
    json_t *h, *v, *res = NULL;
    if ((rc = parse_json(&h, hwhat, host_json)) < 0)
        return rc;
    if ((rc = parse_json(&v, vwhat, virtual_json)) < 0) {
        json_decref(h);
        return rc;
    }
    rc = fn(&res, t, h, v);
    if (rc == VC_OK)
        rc = res ? emit(out, res, JSON_COMPACT) : vc__buf_set(out, "") < 0 ? vc__error_oom() : VC_OK;
    json_decref(res);
    json_decref(h);
    json_decref(v);
    return rc;
}

int vc_translate_to_virtual_status(vc_buf *out, vc_translator *t, const char *host_json, const char *virtual_json)
{
    return pair_call(out, t, __func__, "host object", host_json, "virtual object", virtual_json,
                     vc__translate_status_to_virtual);
}

int vc_translate_pod_binding(vc_buf *out, vc_translator *t, const char *host_pod_json, const char *virtual_pod_json)
{
    return pair_call(out, t, __func__, "host pod", host_pod_json, "virtual pod", virtual_pod_json,
                     vc__translate_pod_binding);
}

int vc_translate_merge_metadata(vc_buf *out_virtual, vc_buf *out_host, vc_translator *t, const char *virtual_old_json,
                                const char *virtual_json, const char *host_old_json, const char *host_json)
{
    int rc;
    if ((rc = need(out_virtual, __func__, "out_virtual")) < 0 || (rc = need(out_host, __func__, "out_host")) < 0 ||
        (rc = need(t, __func__, "translator")) < 0)
        return rc;
    json_t *in[4] = { NULL, NULL, NULL, NULL };
    const char *texts[4] = { virtual_old_json, virtual_json, host_old_json, host_json };
    const char *names[4] = { "old virtual object", "virtual object", "old host object", "host object" };
    for (int i = 0; i < 4 && rc == VC_OK; i++)
        if (texts[i] || i == 1 || i == 3)
            rc = parse_json(&in[i], names[i], texts[i]);
    json_t *nv = NULL, *nh = NULL;
    if (rc == VC_OK)
        rc = vc__translate_merge_metadata(&nv, &nh, t, in[0], in[1], in[2], in[3]);
    if (rc == VC_OK && (rc = emit(out_virtual, nv, JSON_COMPACT)) == VC_OK)
        rc = emit(out_host, nh, JSON_COMPACT);
    json_decref(nv);
    json_decref(nh);
    for (int i = 0; i < 4; i++)
        json_decref(in[i]);
    return rc;
}

int vc_translate_pod_token_requests(vc_buf *out, vc_translator *t, const char *virtual_pod_json)
{
    int rc;
    if ((rc = need(out, __func__, "out")) < 0 || (rc = need(t, __func__, "translator")) < 0)
        return rc;
    json_t *v, *res = NULL;
    if ((rc = parse_json(&v, "virtual pod", virtual_pod_json)) < 0)
        return rc;
    rc = vc__translate_pod_token_requests(&res, t, v);
    if (rc == VC_OK)
        rc = emit(out, res, JSON_COMPACT);
    json_decref(res);
    json_decref(v);
    return rc;
}

int vc_translate_pod_references(vc_buf *out, vc_translator *t, const char *virtual_pod_json)
{
    int rc;
    if ((rc = need(out, __func__, "out")) < 0 || (rc = need(t, __func__, "translator")) < 0)
        return rc;
    json_t *v, *res = NULL;
    if ((rc = parse_json(&v, "virtual pod", virtual_pod_json)) < 0)
        return rc;
    rc = vc__translate_pod_references(&res, t, v);
    if (rc == VC_OK)
        rc = emit(out, res, JSON_COMPACT);
    json_decref(res);
    json_decref(v);
    return rc;
}

/* Resource paths and the JSON verbs: get, list, create, update, patch, delete. */
#include <string.h>

#include "kube/kube.h"

static int put_seg(vc_buf *b, const char *s)
{
    if (vc__buf_put(b, "/", 1) < 0)
        return VC_ENOMEM;
    return vc__url_escape(b, s);
}

static int add_q(vc_buf *b, bool *first, const char *k, const char *v)
{
    if (vc__buf_puts(b, *first ? "?" : "&") < 0 || vc__buf_puts(b, k) < 0 || vc__buf_put(b, "=", 1) < 0)
        return VC_ENOMEM;
    *first = false;
    return vc__url_escape(b, v);
}

int vc__kube_path(vc_buf *b, const vc__kres *r, const vc__list_opts *o)
{
    if (!r || vc__str_empty(r->api_version) || vc__str_empty(r->resource))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "resource path needs an apiVersion and a resource");
    if (strchr(r->api_version, '/')) {
        if (vc__buf_puts(b, "/apis/") < 0 || vc__buf_puts(b, r->api_version) < 0)
            return VC_ENOMEM;
    } else if (vc__buf_puts(b, "/api/") < 0 || vc__buf_puts(b, r->api_version) < 0) {
        return VC_ENOMEM;
    }
    if (!vc__str_empty(r->ns) && (vc__buf_puts(b, "/namespaces") < 0 || put_seg(b, r->ns) < 0))
        return VC_ENOMEM;
    if (put_seg(b, r->resource) < 0)
        return VC_ENOMEM;
    if (!vc__str_empty(r->name) && put_seg(b, r->name) < 0)
        return VC_ENOMEM;
    if (!vc__str_empty(r->sub)) {
        if (vc__str_empty(r->name))
            return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "a subresource needs an object name");
        if (put_seg(b, r->sub) < 0)
            return VC_ENOMEM;
    }
    if (!o)
        return VC_OK;
    bool first = true;
    char num[32];
    if (!vc__str_empty(o->label_selector) && add_q(b, &first, "labelSelector", o->label_selector) < 0)
        return VC_ENOMEM;
    if (!vc__str_empty(o->field_selector) && add_q(b, &first, "fieldSelector", o->field_selector) < 0)
        return VC_ENOMEM;
    if (o->limit > 0) {
        snprintf(num, sizeof num, "%lld", (long long)o->limit);
        if (add_q(b, &first, "limit", num) < 0)
            return VC_ENOMEM;
    }
    if (!vc__str_empty(o->continue_token) && add_q(b, &first, "continue", o->continue_token) < 0)
        return VC_ENOMEM;
    if (o->resource_version && add_q(b, &first, "resourceVersion", o->resource_version) < 0)
        return VC_ENOMEM;
    if (!vc__str_empty(o->resource_version_match) &&
        add_q(b, &first, "resourceVersionMatch", o->resource_version_match) < 0)
        return VC_ENOMEM;
    if (o->watch && add_q(b, &first, "watch", "true") < 0)
        return VC_ENOMEM;
    if (o->allow_bookmarks && add_q(b, &first, "allowWatchBookmarks", "true") < 0)
        return VC_ENOMEM;
    if (o->send_initial_events && add_q(b, &first, "sendInitialEvents", "true") < 0)
        return VC_ENOMEM;
    if (o->timeout_seconds > 0) {
        snprintf(num, sizeof num, "%d", (int)o->timeout_seconds);
        if (add_q(b, &first, "timeoutSeconds", num) < 0)
            return VC_ENOMEM;
    }
    return VC_OK;
}

static int do_json(vc_kube *k, const char *method, const char *path, const char *ctype, const char *body,
                   size_t body_len, json_t **out)
{
    if (out)
        *out = NULL;
    vc_buf resp = VC_BUF_INIT;
    long http = 0;
    int r = vc__kube_do(k, method, path, ctype, body, body_len, &http, &resp);
    if (r == VC_OK && out) {
        json_error_t je;
        *out = json_loadb(resp.ptr ? resp.ptr : "", resp.size, 0, &je);
        if (!*out)
            r = vc__error_http(VC_EAPI, (int)http, NULL, "%s %s: the server answered invalid JSON (%s)",
                               method, path, je.text);
    }
    vc_buf_dispose(&resp);
    return r;
}

static int verb(vc_kube *k, const char *method, const vc__kres *r, const vc__list_opts *o,
                const char *extra_query, const char *ctype, const json_t *obj, const char *raw, json_t **out)
{
    vc_buf path = VC_BUF_INIT;
    int rc = vc__kube_path(&path, r, o);
    if (rc == VC_OK && extra_query)
        rc = vc__buf_printf(&path, "%s%s", path.ptr && strchr(path.ptr, '?') ? "&" : "?", extra_query);
    if (rc < 0) {
        vc_buf_dispose(&path);
        return rc;
    }
    char *body = NULL;
    const char *b = raw;
    if (obj) {
        body = json_dumps(obj, JSON_COMPACT);
        if (!body) {
            vc_buf_dispose(&path);
            return vc__error_oom();
        }
        b = body;
    }
    rc = do_json(k, method, path.ptr, ctype, b, b ? strlen(b) : 0, out);
    vc__free(body);
    vc_buf_dispose(&path);
    return rc;
}

int vc__kube_get(vc_kube *k, const vc__kres *r, json_t **out)
{
    return verb(k, "GET", r, NULL, NULL, NULL, NULL, NULL, out);
}

int vc__kube_list(vc_kube *k, const vc__kres *r, const vc__list_opts *o, json_t **out)
{
    vc__kres c = *r;
    c.name = NULL;
    return verb(k, "GET", &c, o, NULL, NULL, NULL, NULL, out);
}

int vc__kube_list_all(vc_kube *k, const vc__kres *r, const vc__list_opts *o, json_t **out)
{
    *out = NULL;
    vc__list_opts lo = { 0 };
    if (o)
        lo = *o;
    if (lo.limit <= 0)
        lo.limit = 500;
    lo.watch = false;
    json_t *acc = NULL;
    char *cont = NULL;
    for (;;) {
        lo.continue_token = cont;
        json_t *page = NULL;
        int rc = vc__kube_list(k, r, &lo, &page);
        vc__free(cont);
        cont = NULL;
        if (rc < 0) {
            json_decref(acc);
            return rc;
        }
        if (!acc) {
            acc = page;
        } else {
            json_array_extend(json_object_get(acc, "items"), json_object_get(page, "items"));
            json_object_set(acc, "metadata", json_object_get(page, "metadata"));
            json_decref(page);
            page = acc;
        }
        json_t *md = json_object_get(acc, "metadata");
        const char *c = json_string_value(json_object_get(md, "continue"));
        if (vc__str_empty(c))
            break;
        cont = vc__strdup(c);
        if (!cont) {
            json_decref(acc);
            return vc__error_oom();
        }
        /* continuation carries its own resourceVersion */
        lo.resource_version = NULL;
        lo.resource_version_match = NULL;
    }
    if (!json_is_array(json_object_get(acc, "items")))
        json_object_set_new(acc, "items", json_array());
    json_t *md = json_object_get(acc, "metadata");
    if (json_is_object(md))
        json_object_del(md, "continue");
    *out = acc;
    return VC_OK;
}

int vc__kube_create(vc_kube *k, const vc__kres *r, json_t *obj, json_t **out)
{
    vc__kres c = *r;
    if (vc__str_empty(c.sub))
        c.name = NULL; /* POST to the collection; subresources (binding, token) keep it */
    return verb(k, "POST", &c, NULL, NULL, NULL, obj, NULL, out);
}

int vc__kube_update(vc_kube *k, const vc__kres *r, json_t *obj, json_t **out)
{
    vc__kres c = *r;
    if (vc__str_empty(c.name))
        c.name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    return verb(k, "PUT", &c, NULL, NULL, NULL, obj, NULL, out);
}

int vc__kube_patch(vc_kube *k, const vc__kres *r, vc__patch_type type, const char *patch,
                   const char *field_manager, bool force, json_t **out)
{
    static const char *const ctypes[] = {
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/json-patch+json",
        "application/apply-patch+yaml",
    };
    if ((unsigned)type > VC__PATCH_APPLY)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "unknown patch type %d", (int)type);
    if (type == VC__PATCH_APPLY && vc__str_empty(field_manager))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "server-side apply needs a field manager");
    vc_buf q = VC_BUF_INIT;
    if (!vc__str_empty(field_manager)) {
        if (vc__buf_puts(&q, "fieldManager=") < 0 || vc__url_escape(&q, field_manager) < 0) {
            vc_buf_dispose(&q);
            return VC_ENOMEM;
        }
    }
    if (force && vc__buf_puts(&q, q.size ? "&force=true" : "force=true") < 0) {
        vc_buf_dispose(&q);
        return VC_ENOMEM;
    }
    int rc = verb(k, "PATCH", r, NULL, q.size ? q.ptr : NULL, ctypes[type], NULL, patch, out);
    vc_buf_dispose(&q);
    return rc;
}

int vc__kube_delete(vc_kube *k, const vc__kres *r, const vc__delete_opts *o, json_t **out)
{
    json_t *body = NULL;
    if (o) {
        body = json_pack("{s:s,s:s}", "apiVersion", "v1", "kind", "DeleteOptions");
        if (!body)
            return vc__error_oom();
        if (o->propagation)
            json_object_set_new(body, "propagationPolicy", json_string(o->propagation));
        if (o->grace_seconds >= 0)
            json_object_set_new(body, "gracePeriodSeconds", json_integer(o->grace_seconds));
        if (o->precondition_uid || o->precondition_rv) {
            json_t *pc = json_object();
            if (o->precondition_uid)
                json_object_set_new(pc, "uid", json_string(o->precondition_uid));
            if (o->precondition_rv)
                json_object_set_new(pc, "resourceVersion", json_string(o->precondition_rv));
            json_object_set_new(body, "preconditions", pc);
        }
    }
    int rc = verb(k, "DELETE", r, NULL, NULL, NULL, body, NULL, out);
    json_decref(body);
    return rc;
}

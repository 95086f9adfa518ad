/* Discovery: apiVersion + kind -> resource (plural) and scope, cached per
 * client for its lifetime; a miss refreshes the group-version once, so CRDs
 * created after the first lookup are found. */
#include <string.h>

#include "kube/kube.h"

struct vc__gvk_cache {
    json_t *by_gv; /* "apps/v1" -> APIResourceList.resources */
};

void vc__discovery_free(vc__gvk_cache *c)
{
    if (!c)
        return;
    json_decref(c->by_gv);
    vc__free(c);
}

void vc__gvr_clear(vc__gvr *g)
{
    vc__free(g->api_version);
    vc__free(g->resource);
    vc__free(g->kind);
    memset(g, 0, sizeof(*g));
}

static int fetch_gv(vc_kube *k, const char *api_version, json_t **out)
{
    char *path = strchr(api_version, '/') ? vc__sprintf("/apis/%s", api_version) : vc__sprintf("/api/%s", api_version);
    if (!path)
        return vc__error_oom();
    vc_buf b = VC_BUF_INIT;
    int r = vc__kube_do(k, "GET", path, NULL, NULL, 0, NULL, &b);
    vc__free(path);
    if (r < 0) {
        vc_buf_dispose(&b);
        return r;
    }
    json_t *doc = json_loadb(b.ptr ? b.ptr : "", b.size, 0, NULL);
    vc_buf_dispose(&b);
    json_t *res = json_object_get(doc, "resources");
    if (!json_is_array(res)) {
        json_decref(doc);
        return vc__error(VC_EAPI, VC_ERRCLASS_API, "discovery of %s: no resource list in the answer", api_version);
    }
    *out = json_incref(res);
    json_decref(doc);
    return VC_OK;
}

static bool lookup(json_t *res, const char *kind, vc__gvr *out, const char *api_version)
{
    size_t i;
    json_t *e;
    json_array_foreach(res, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *kd = json_string_value(json_object_get(e, "kind"));
        if (!name || strchr(name, '/') || !vc__streq(kd, kind))
            continue;
        out->api_version = vc__strdup(api_version);
        out->resource = vc__strdup(name);
        out->kind = vc__strdup(kind);
        out->namespaced = json_is_true(json_object_get(e, "namespaced"));
        return true;
    }
    return false;
}

int vc__kube_discover(vc_kube *k, const char *api_version, const char *kind, vc__gvr *out)
{
    memset(out, 0, sizeof(*out));
    if (vc__str_empty(api_version) || vc__str_empty(kind))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "discovery needs apiVersion and kind");
    if (!k->discovery) {
        k->discovery = vc__calloc(1, sizeof(*k->discovery));
        if (!k->discovery || !(k->discovery->by_gv = json_object())) {
            vc__free(k->discovery);
            k->discovery = NULL;
            return vc__error_oom();
        }
    }
    json_t *res = json_object_get(k->discovery->by_gv, api_version);
    if (res && lookup(res, kind, out, api_version))
        return out->resource ? VC_OK : vc__error_oom();
    json_t *fresh = NULL;
    int r = fetch_gv(k, api_version, &fresh);
    if (r == VC_ENOTFOUND)
        return vc__error(VC_ENOTFOUND, VC_ERRCLASS_API, "the server does not serve %s", api_version);
    if (r < 0)
        return r;
    json_object_set_new(k->discovery->by_gv, api_version, fresh);
    if (lookup(fresh, kind, out, api_version))
        return out->resource ? VC_OK : vc__error_oom();
    return vc__error(VC_ENOTFOUND, VC_ERRCLASS_API, "the server has no kind %s in %s", kind, api_version);
}

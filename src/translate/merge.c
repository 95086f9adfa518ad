/* Bidirectional label/annotation merge (upstream translate/labels.go
 * LabelsBidirectionalUpdate / AnnotationsBidirectionalUpdate, mergeMaps). */
#include <string.h>

#include "translate/translate.h"

static const char *const k_bookkeeping[] = {
    VC__A_OBJ_HOST_NAME, VC__A_OBJ_HOST_NAMESPACE, VC__A_OBJ_NAME, VC__A_OBJ_UID,
    VC__A_OBJ_KIND, VC__A_OBJ_NAMESPACE, VC__A_MANAGED_ANNOTATIONS, VC__A_MANAGED_LABELS,
};
/* upstream pods/translate/diff.go GetExcludedAnnotations */
static const char *const k_pod_excluded[] = {
    VC__A_SAFE_TO_EVICT, VC__A_OWNER_REFS, VC__A_OWNER_SET_KIND, VC__A_POD_NAMESPACE, VC__A_POD_NAME,
    VC__A_POD_UID, VC__A_POD_SA, VC__A_HOSTS_REWRITTEN, VC__A_POD_LABELS, VC__A_POD_UPDATE_DIGEST,
};

typedef enum { MAP_ANNOTATIONS, MAP_LABELS_TO_HOST, MAP_LABELS_TO_VIRTUAL } map_mode;

typedef struct merge_ctx {
    vc_translator *t;
    const vc__kind *k;
    map_mode mode;
} merge_ctx;

static const json_t *meta_map(const json_t *obj, const char *key)
{
    return vc__jobj(vc__jobj(obj, "metadata"), key);
}

/* maps.Equal with nil == empty */
static bool maps_equal(const json_t *a, const json_t *b)
{
    if (json_object_size(a) == 0 && json_object_size(b) == 0)
        return true;
    return json_is_object(a) && json_is_object(b) && json_equal(a, b);
}

static bool in_list(const char *key, const char *const *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(key, l[i]))
            return true;
    return false;
}

/* The key a changed entry gets on the other side, or NULL to drop it. */
static const char *transform(const merge_ctx *m, const char *key)
{
    if (m->mode == MAP_ANNOTATIONS) {
        if (in_list(key, k_bookkeeping, VC__ARRAY_LEN(k_bookkeeping)))
            return NULL;
        for (const char *const *e = m->k->excluded_annotations; e && *e; e++)
            if (!strcmp(key, *e))
                return NULL;
        if (m->k->id == VC__K_POD && (in_list(key, k_pod_excluded, VC__ARRAY_LEN(k_pod_excluded)) ||
                                      !strncmp(key, VC__A_TOKEN_PREFIX, sizeof(VC__A_TOKEN_PREFIX) - 1)))
            return NULL;
        return key;
    }
    if (m->k->id == VC__K_POD && !strncmp(key, VC__NS_LABEL_PREFIX, sizeof(VC__NS_LABEL_PREFIX) - 1))
        return NULL;
    if (m->mode == MAP_LABELS_TO_HOST)
        return vc__host_label_key(m->t, key);
    return vc__virtual_label_key(m->t, key);
}

/* upstream mergeMaps(before, after, target, transformKey) */
static int merge_maps(const merge_ctx *m, const json_t *before, const json_t *after, json_t *target)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)before, k, v) {
        json_t *av = json_object_get(after, k);
        if (av && json_equal(av, v))
            continue;
        const char *nk = transform(m, k);
        if (!nk)
            continue;
        if (av) {
            if (json_object_set(target, nk, av) < 0)
                return vc__error_oom();
        } else {
            json_object_del(target, nk);
        }
    }
    json_object_foreach((json_t *)after, k, v) {
        if (json_object_get(before, k))
            continue;
        const char *nk = transform(m, k);
        if (nk && json_object_set(target, nk, v) < 0)
            return vc__error_oom();
    }
    return VC_OK;
}

static json_t *clone_map(const json_t *m)
{
    return json_is_object(m) ? json_copy((json_t *)m) : json_object();
}

static json_t *sorted(json_t *o)
{
    size_t n = json_object_size(o), i = 0;
    vc__kv *kv = vc__malloc((n ? n : 1) * sizeof *kv);
    if (!kv)
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) kv[i].key = k, kv[i++].value = json_incref(v);
    json_t *r = vc__sorted_object(kv, n);
    vc__free(kv);
    return r;
}

/* Put `map` (consumed) as obj.metadata[key]; an empty map removes the key. */
static int put_map(json_t *obj, const char *key, json_t *map)
{
    json_t *meta = vc__jobj(obj, "metadata");
    if (!map)
        return vc__error_oom();
    if (!meta) {
        meta = json_object();
        if (!meta || json_object_set_new(obj, "metadata", meta) < 0) {
            json_decref(map);
            return vc__error_oom();
        }
    }
    if (json_object_size(map) == 0) {
        json_decref(map);
        json_object_del(meta, key);
        return VC_OK;
    }
    json_t *s = sorted(map);
    json_decref(map);
    return s && json_object_set_new(meta, key, s) == 0 ? VC_OK : vc__error_oom();
}

static int host_bookkeeping(vc_translator *t, const vc__kind *k, json_t *hann, const json_t *virt, const json_t *host)
{
    const char *vname = vc__jpath_str(virt, "metadata", "name");
    const char *vns = vc__jpath_str(virt, "metadata", "namespace");
    const char *uid = vc__jpath_str(virt, "metadata", "uid");
    const char *hname = vc__jpath_str(host, "metadata", "name");
    const char *hns = vc__jpath_str(host, "metadata", "namespace");
    (void)t;
    int rc = VC_OK;
    rc |= vc__set_str(hann, VC__A_OBJ_NAME, vname ? vname : "");
    rc |= vc__set_str(hann, VC__A_OBJ_UID, uid ? uid : "");
    if (hname)
        rc |= vc__set_str(hann, VC__A_OBJ_HOST_NAME, hname);
    if (hns && *hns)
        rc |= vc__set_str(hann, VC__A_OBJ_HOST_NAMESPACE, hns);
    rc |= vc__set_str(hann, VC__A_OBJ_NAMESPACE, vns && *vns ? vns : NULL);
    rc |= vc__set_str(hann, VC__A_OBJ_KIND, k->gvk);
    return rc < 0 ? VC_ENOMEM : VC_OK;
}

int vc__translate_merge_metadata(json_t **out_virtual, json_t **out_host, vc_translator *t,
                                 const json_t *virt_old, const json_t *virt, const json_t *host_old,
                                 const json_t *host)
{
    *out_virtual = *out_host = NULL;
    if (!json_is_object(virt) || !json_is_object(host))
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "merge: the virtual and host objects must be JSON objects");
    const vc__kind *k = vc__kind_lookup(vc__jstr(virt, "kind"), vc__jstr(virt, "apiVersion"));
    if (!k)
        return vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_TRANSLATE, "merge: %s is not a translated kind",
                         vc__jstr(virt, "kind") ? vc__jstr(virt, "kind") : "object without kind");
    if (!virt_old)
        virt_old = virt;
    if (!host_old)
        host_old = host;
    json_t *nv = json_deep_copy(virt), *nh = json_deep_copy(host);
    json_t *vann = clone_map(meta_map(virt, "annotations")), *hann = clone_map(meta_map(host, "annotations"));
    json_t *vlab = clone_map(meta_map(virt, "labels")), *hlab = clone_map(meta_map(host, "labels"));
    int rc = nv && nh && vann && hann && vlab && hlab ? VC_OK : vc__error_oom();
    merge_ctx m = { t, k, MAP_ANNOTATIONS };
    if (rc == VC_OK) {
        if (!maps_equal(meta_map(virt_old, "annotations"), meta_map(virt, "annotations")))
            rc = merge_maps(&m, meta_map(virt_old, "annotations"), meta_map(virt, "annotations"), hann);
        else if (!maps_equal(meta_map(host_old, "annotations"), meta_map(host, "annotations")))
            rc = merge_maps(&m, meta_map(host_old, "annotations"), meta_map(host, "annotations"), vann);
    }
    if (rc == VC_OK)
        rc = host_bookkeeping(t, k, hann, virt, host);
    if (rc == VC_OK) {
        if (!maps_equal(meta_map(virt_old, "labels"), meta_map(virt, "labels"))) {
            m.mode = MAP_LABELS_TO_HOST;
            rc = merge_maps(&m, meta_map(virt_old, "labels"), meta_map(virt, "labels"), hlab);
        } else if (!maps_equal(meta_map(host_old, "labels"), meta_map(host, "labels"))) {
            m.mode = MAP_LABELS_TO_VIRTUAL;
            rc = merge_maps(&m, meta_map(host_old, "labels"), meta_map(host, "labels"), vlab);
        }
    }
    if (rc == VC_OK && k->id == VC__K_POD) {
        /* the pod's own annotations always follow the virtual pod (diff.go) */
        const json_t *refs = vc__jarr(vc__jobj(virt, "metadata"), "ownerReferences");
        json_t *la = vc__pod_labels_annotation(meta_map(virt, "labels"));
        if (!la || json_object_set_new(hann, VC__A_POD_LABELS, la) < 0)
            rc = vc__error_oom();
        if (rc == VC_OK && json_array_size(refs) > 0) {
            json_t *ra = vc__pod_owner_refs_annotation(refs);
            const char *osk = vc__pod_owner_set_kind(refs);
            if (!ra || json_object_set_new(hann, VC__A_OWNER_REFS, ra) < 0 ||
                (osk && vc__set_str(hann, VC__A_OWNER_SET_KIND, osk) < 0))
                rc = vc__error_oom();
        }
        if (rc == VC_OK && json_array_size(refs) == 0) {
            json_object_del(hann, VC__A_OWNER_REFS);
            json_object_del(hann, VC__A_OWNER_SET_KIND);
        }
    }
    if (rc == VC_OK)
        rc = put_map(nv, "annotations", vann);
    else
        json_decref(vann);
    vann = NULL;
    if (rc == VC_OK)
        rc = put_map(nh, "annotations", hann);
    else
        json_decref(hann);
    hann = NULL;
    if (rc == VC_OK)
        rc = put_map(nv, "labels", vlab);
    else
        json_decref(vlab);
    vlab = NULL;
    if (rc == VC_OK)
        rc = put_map(nh, "labels", hlab);
    else
        json_decref(hlab);
    if (rc < 0) {
        json_decref(nv);
        json_decref(nh);
        return rc;
    }
    *out_virtual = nv;
    *out_host = nh;
    return VC_OK;
}

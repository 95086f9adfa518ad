/* Host metadata (upstream HostMetadata/HostLabelsMap/HostAnnotations) and
 * label selectors. */
#include <stdlib.h>
#include <string.h>

#include "translate/translate.h"

#define STACK_KV 48

/* Fields upstream's ResetObjectMetadata clears, plus the ones we rebuild. */
static const char *const k_meta_rebuilt[] = {
    "name", "namespace", "labels", "annotations", "ownerReferences", "uid", "resourceVersion",
    "creationTimestamp", "generation", "managedFields", "selfLink", "generateName",
    "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers",
};

/* Annotations that are the syncer's own bookkeeping: never copied from the
 * virtual object (upstream HostAnnotations' `excluded`). */
static const char *const k_bookkeeping[] = {
    VC__A_OBJ_NAME, VC__A_OBJ_NAMESPACE, VC__A_OBJ_UID, VC__A_OBJ_KIND, VC__A_OBJ_HOST_NAME,
    VC__A_OBJ_HOST_NAMESPACE, VC__A_MANAGED_ANNOTATIONS, VC__A_MANAGED_LABELS,
};

static bool in_list(const char *key, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(key, list[i]))
            return true;
    return false;
}

static bool in_null_list(const char *key, const char *const *list)
{
    for (; list && *list; list++)
        if (!strcmp(key, *list))
            return true;
    return false;
}

typedef struct kv_sort {
    const vc__kv *kv;
    size_t idx;
} kv_sort;

static int kv_cmp(const void *a, const void *b)
{
    const kv_sort *x = a, *y = b;
    int r = strcmp(x->kv->key, y->kv->key);
    if (r)
        return r;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

json_t *vc__sorted_object(vc__kv *kv, size_t n)
{
    kv_sort stack[STACK_KV], *ord = n <= STACK_KV ? stack : vc__malloc(n * sizeof *ord);
    json_t *o = ord ? json_object() : NULL;
    if (!o) {
        for (size_t i = 0; i < n; i++)
            json_decref(kv[i].value);
        if (ord != stack)
            vc__free(ord);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        ord[i].kv = &kv[i], ord[i].idx = i;
    qsort(ord, n, sizeof *ord, kv_cmp);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        vc__kv *e = &kv[ord[i].idx];
        if (json_object_set_new_nocheck(o, e->key, e->value) < 0)
            ok = false;
        e->value = NULL;
    }
    if (ord != stack)
        vc__free(ord);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int vc__check_string_map(vc__call *c, const json_t *o, const char *ptr)
{
    if (!o || json_is_null(o))
        return VC_OK;
    if (!json_is_object(o))
        return vc__bad(c, "must be a map of strings", "%s", ptr);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (!json_is_string(v)) {
            char esc[300];
            vc__pointer_escape(k, esc, sizeof esc);
            return vc__bad(c, "must be a string", "%s/%s", ptr, esc);
        }
    }
    return VC_OK;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool has_controller_owner(const json_t *meta)
{
    size_t i;
    json_t *ref;
    VC__ARRAY_FOREACH(vc__jarr(meta, "ownerReferences"), i, ref) {
        if (json_is_true(json_object_get(ref, "controller")))
            return true;
    }
    return false;
}

/* The labels: virtual labels with reserved keys translated, translated keys
 * dropped, then managed-by/namespace, then (pods) the namespace labels. */
static json_t *host_labels(vc__call *c, const json_t *vlabels, int *rc)
{
    vc_translator *t = c->t;
    const json_t *nsl = c->kind->id == VC__K_POD && c->inputs ? json_object_get(c->inputs, "namespaceLabels") : NULL;
    size_t n = json_object_size(vlabels) + 2 + json_object_size(nsl), k = 0;
    vc__kv stack[STACK_KV], *kv = n <= STACK_KV ? stack : vc__malloc(n * sizeof *kv);
    char nsstack[8][64];
    char(*nskeys)[64] = json_object_size(nsl) <= 8 ? nsstack : vc__malloc(json_object_size(nsl) * 64);
    if (!kv || !nskeys) {
        if (kv != stack)
            vc__free(kv);
        if (nskeys != nsstack)
            vc__free(nskeys);
        *rc = vc__error_oom();
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)vlabels, key, v) {
        if (vc__is_translated_label(t, key))
            continue;
        kv[k].key = vc__host_label_key(t, key);
        kv[k++].value = json_incref(v);
    }
    if (c->kind->namespaced) {
        kv[k].key = VC__L_MARKER, kv[k++].value = json_incref(t->s_name);
        kv[k].key = VC__L_NAMESPACE, kv[k++].value = vc__call_vns(c);
    } else {
        kv[k].key = VC__L_MARKER, kv[k++].value = json_incref(t->s_marker_cluster);
    }
    size_t j = 0;
    json_object_foreach((json_t *)nsl, key, v) {
        vc__ns_label_key(t, key, nskeys[j]);
        kv[k].key = nskeys[j++];
        kv[k++].value = json_incref(v);
    }
    json_t *o = vc__sorted_object(kv, k);
    if (kv != stack)
        vc__free(kv);
    if (nskeys != nsstack)
        vc__free(nskeys);
    if (!o)
        *rc = vc__error_oom();
    return o;
}

static json_t *host_annotations(vc__call *c, const json_t *vann, vc__kv *extra, size_t n_extra, int *rc)
{
    vc_translator *t = c->t;
    size_t nv = json_object_size(vann);
    size_t n = nv + 8 + n_extra, k = 0, nm = 0;
    vc__kv stack[STACK_KV], *kv = n <= STACK_KV ? stack : vc__malloc(n * sizeof *kv);
    const char *mstack[STACK_KV], **managed = nv <= STACK_KV ? mstack : vc__malloc(nv * sizeof *managed);
    json_t *o = NULL;
    if (!kv || !managed) {
        *rc = vc__error_oom();
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)vann, key, v) {
        if (in_list(key, k_bookkeeping, VC__ARRAY_LEN(k_bookkeeping)) ||
            in_null_list(key, c->kind->excluded_annotations))
            continue;
        kv[k].key = key, kv[k++].value = json_incref(v);
        managed[nm++] = key;
    }
    if (nm) {
        qsort(managed, nm, sizeof *managed, str_cmp);
        size_t total = 0;
        for (size_t i = 0; i < nm; i++)
            total += strlen(managed[i]) + 1;
        char sbuf[512];
        vc_buf b = VC_BUF_INIT;
        if (total < sizeof sbuf) /* it fits: no allocation */
            b.ptr = sbuf, b.reserved = sizeof sbuf;
        for (size_t i = 0; i < nm; i++)
            if ((i && vc__buf_put(&b, "\n", 1) < 0) || vc__buf_puts(&b, managed[i]) < 0)
                break;
        kv[k].key = VC__A_MANAGED_ANNOTATIONS;
        kv[k++].value = b.ptr ? json_stringn_nocheck(b.ptr, b.size) : NULL;
        if (b.ptr != sbuf)
            vc_buf_dispose(&b);
    }
    json_t *uid = json_object_get(c->vmeta, "uid");
    kv[k].key = VC__A_OBJ_NAME, kv[k++].value = vc__call_vname(c);
    kv[k].key = VC__A_OBJ_UID, kv[k++].value = json_is_string(uid) ? json_incref(uid) : json_string("");
    kv[k].key = VC__A_OBJ_HOST_NAME, kv[k++].value = vc__call_hname(c);
    kv[k].key = VC__A_OBJ_KIND, kv[k++].value = c->kind->id < VC__K_COUNT && c->kind == vc__kind_get(c->kind->id) ? json_incref(t->s_gvk[c->kind->id]) : json_string(c->kind->gvk);
    if (c->kind->namespaced) {
        kv[k].key = VC__A_OBJ_HOST_NAMESPACE, kv[k++].value = json_incref(t->s_host_ns);
        kv[k].key = VC__A_OBJ_NAMESPACE, kv[k++].value = vc__call_vns(c);
    }
    for (size_t i = 0; i < n_extra; i++) {
        kv[k++] = extra[i];
        extra[i].value = NULL;
    }
    for (size_t i = 0; i < k; i++)
        if (!kv[i].value)
            *rc = VC_ENOMEM;
    if (*rc < 0) {
        for (size_t i = 0; i < k; i++)
            json_decref(kv[i].value);
        *rc = vc__error_oom();
        goto out;
    }
    if (!(o = vc__sorted_object(kv, k)))
        *rc = vc__error_oom();
out:
    for (size_t i = 0; i < n_extra; i++)
        json_decref(extra[i].value), extra[i].value = NULL;
    if (kv != stack)
        vc__free(kv);
    if (managed != mstack)
        vc__free(managed);
    return o;
}

int vc__host_metadata(vc__call *c, json_t *obj, vc__kv *extra, size_t n_extra)
{
    vc_translator *t = c->t;
    const json_t *vmeta = c->vmeta;
    int rc = VC_OK;
    json_t *labels = host_labels(c, vc__jobj(vmeta, "labels"), &rc);
    json_t *ann = labels ? host_annotations(c, vc__jobj(vmeta, "annotations"), extra, n_extra, &rc) : NULL;
    json_t *meta = ann ? json_object() : NULL;
    json_t *name = meta ? vc__call_hname(c) : NULL;
    if (!labels || !ann || !meta || !name) {
        for (size_t i = 0; i < n_extra; i++)
            json_decref(extra[i].value), extra[i].value = NULL;
        json_decref(labels);
        json_decref(ann);
        json_decref(meta);
        return rc < 0 ? rc : vc__error_oom();
    }
    bool ok = json_object_set_new_nocheck(meta, "name", name) == 0;
    if (c->kind->namespaced)
        ok &= json_object_set_nocheck(meta, "namespace", t->s_host_ns) == 0;
    ok &= json_object_set_new_nocheck(meta, "labels", labels) == 0;
    ok &= json_object_set_new_nocheck(meta, "annotations", ann) == 0;
    if (c->kind->namespaced && t->owner_ref)
        ok &= json_object_set_nocheck(meta, "ownerReferences",
                                      has_controller_owner(vmeta) ? t->owner_ref_ctrl : t->owner_ref) == 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)vmeta, key, v) {
        if (!in_list(key, k_meta_rebuilt, VC__ARRAY_LEN(k_meta_rebuilt)))
            ok &= json_object_set_nocheck(meta, key, v) == 0;
    }
    ok &= json_object_set_new_nocheck(obj, "metadata", meta) == 0;
    json_object_del(obj, "status");
    return ok ? VC_OK : vc__error_oom();
}

int vc__host_label_map(vc__call *c, const json_t *labels, const char *ptr, json_t **out)
{
    *out = NULL;
    if (!labels || json_is_null(labels))
        return VC_OK;
    int rc = vc__check_string_map(c, labels, ptr);
    if (rc < 0)
        return rc;
    vc_translator *t = c->t;
    size_t n = json_object_size(labels) + 2, k = 0;
    vc__kv stack[STACK_KV], *kv = n <= STACK_KV ? stack : vc__malloc(n * sizeof *kv);
    if (!kv)
        return vc__error_oom();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)labels, key, v) {
        if (vc__is_translated_label(t, key))
            continue;
        kv[k].key = vc__host_label_key(t, key), kv[k++].value = json_incref(v);
    }
    kv[k].key = VC__L_MARKER, kv[k++].value = json_incref(t->s_name);
    kv[k].key = VC__L_NAMESPACE, kv[k++].value = json_string(c->vns);
    *out = vc__sorted_object(kv, k);
    if (kv != stack)
        vc__free(kv);
    return *out ? VC_OK : vc__error_oom();
}

int vc__host_selector(vc__call *c, const json_t *sel, const char *ptr, bool ns_keys, json_t **out)
{
    *out = NULL;
    if (!sel || json_is_null(sel))
        return VC_OK;
    if (!json_is_object(sel))
        return vc__bad(c, "must be a label selector object", "%s", ptr);
    vc_translator *t = c->t;
    json_t *res = json_object();
    if (!res)
        return vc__error_oom();
    int rc = VC_OK;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)sel, key, v) {
        if (!strcmp(key, "matchLabels")) {
            char p[512];
            snprintf(p, sizeof p, "%s/matchLabels", ptr);
            if (json_is_null(v))
                continue;
            if ((rc = vc__check_string_map(c, v, p)) < 0)
                break;
            size_t n = json_object_size(v), k = 0;
            vc__kv stack[STACK_KV], *kv = n <= STACK_KV ? stack : vc__malloc((n ? n : 1) * sizeof *kv);
            char(*nk)[64] = ns_keys && n ? vc__malloc(n * 64) : NULL;
            if (!kv || (ns_keys && n && !nk)) {
                if (kv != stack)
                    vc__free(kv);
                vc__free(nk);
                rc = vc__error_oom();
                break;
            }
            const char *lk;
            json_t *lv;
            json_object_foreach(v, lk, lv) {
                if (ns_keys) {
                    vc__ns_label_key(t, lk, nk[k]);
                    kv[k].key = nk[k];
                } else {
                    kv[k].key = vc__host_label_key(t, lk);
                }
                kv[k++].value = json_incref(lv);
            }
            json_t *ml = vc__sorted_object(kv, k);
            if (kv != stack)
                vc__free(kv);
            vc__free(nk);
            if (!ml || json_object_set_new_nocheck(res, "matchLabels", ml) < 0) {
                rc = vc__error_oom();
                break;
            }
        } else if (!strcmp(key, "matchExpressions")) {
            if (json_is_null(v))
                continue;
            if (!json_is_array(v)) {
                rc = vc__bad(c, "must be a list", "%s/matchExpressions", ptr);
                break;
            }
            json_t *arr = json_array();
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) {
                const char *ek = vc__jstr(e, "key");
                if (!json_is_object(e) || !ek) {
                    rc = vc__bad(c, json_is_object(e) ? "must be a string" : "must be an object",
                                 json_is_object(e) ? "%s/matchExpressions/%zu/key" : "%s/matchExpressions/%zu",
                                 ptr, i);
                    break;
                }
                json_t *ne = json_object();
                char nk[64];
                const char *hk;
                if (ns_keys) {
                    vc__ns_label_key(t, ek, nk);
                    hk = nk;
                } else {
                    hk = vc__host_label_key(t, ek);
                }
                const char *fk;
                json_t *fv;
                bool ok = ne != NULL;
                json_object_foreach(e, fk, fv) {
                    if (ok && !strcmp(fk, "key"))
                        ok = json_object_set_new_nocheck(ne, "key", hk == ek ? json_incref(fv) : json_string(hk)) == 0;
                    else if (ok)
                        ok = json_object_set_nocheck(ne, fk, fv) == 0;
                }
                if (!ok || json_array_append_new(arr, ne) < 0) {
                    if (!ok)
                        json_decref(ne);
                    rc = vc__error_oom();
                    break;
                }
            }
            if (rc < 0 || !arr) {
                json_decref(arr);
                if (rc >= 0)
                    rc = vc__error_oom();
                break;
            }
            if (json_object_set_new_nocheck(res, "matchExpressions", arr) < 0) {
                rc = vc__error_oom();
                break;
            }
        } else if (json_object_set_nocheck(res, key, v) < 0) {
            rc = vc__error_oom();
            break;
        }
    }
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return VC_OK;
}

int vc__selector_pin(json_t *sel, const char *key, json_t *value)
{
    if (!value)
        return vc__error_oom();
    json_t *ml = vc__jobj(sel, "matchLabels");
    if (!ml) {
        ml = json_object();
        if (!ml || json_object_set_new_nocheck(sel, "matchLabels", ml) < 0) {
            json_decref(value);
            return vc__error_oom();
        }
    }
    return json_object_set_new_nocheck(ml, key, value) == 0 ? VC_OK : vc__error_oom();
}

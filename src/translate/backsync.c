/* Back-sync of host-added metadata: labels and annotations that something on
 * the host (an admission webhook, an operator) puts on a synced pod or
 * Service are copied into the virtual object, and leave it when the host
 * removes them.
 *
 * Upstream (0.21+) merges both ways from in-memory snapshots of the objects
 * as last reconciled (translate.AnnotationsBidirectionalUpdate, mergeMaps):
 * whichever side changed since wins, and a change made while no syncer runs
 * is lost. This keeps no memory: every key has one owner, recorded on the
 * host object, so any reconcile decides from the two objects alone (also
 * after a restart):
 *  - the tenant owns the keys of the virtual object that the host does not
 *    own; the host object records them (vcluster.loft.sh/managed-annotations,
 *    upstream's record; pods' labels in vcluster.loft.sh/labels, other kinds'
 *    in vcluster.loft.sh/managed-labels) and the virtual value wins;
 *  - the host owns a key it carries that is in neither record, is not the
 *    syncer's own (vcluster.loft.sh/..., the kind's excluded annotations) and
 *    that the virtual object lacks. It is recorded first on the host
 *    (vcluster.loft.sh/host-annotations, vcluster.loft.sh/host-labels), then
 *    copied into the virtual object (the host value wins, also against a
 *    tenant's edit); when the host drops it, it is removed from the virtual
 *    object first, then from the record.
 * The order (host record before the virtual copy, virtual removal before the
 * record's) keeps a half-done step safe: a key copied into the virtual
 * object without its record would be taken for the tenant's. A step writes
 * only what differs, so settled objects cause no writes (no ping-pong). */
#include <stdlib.h>
#include <string.h>

#include "translate/translate.h"

#define PREFIX "vcluster.loft.sh/"

typedef enum { ANN = 0, LAB = 1 } which;

static const char *const k_maps[2] = { "annotations", "labels" };
static const char *const k_owned_rec[2] = { VC__A_HOST_ANNOTATIONS, VC__A_HOST_LABELS };

static const json_t *meta_map(const json_t *obj, which w)
{
    return vc__jobj(vc__jobj(obj, "metadata"), k_maps[w]);
}

/* The syncer's own keys: never owned by the host. */
static bool bookkeeping(vc_translator *t, const vc__kind *k, which w, const char *key)
{
    if (!strncmp(key, PREFIX, sizeof(PREFIX) - 1))
        return true;
    if (w == LAB)
        return vc__virtual_label_key(t, key) == NULL; /* a reserved label the host sets */
    for (const char *const *e = k->excluded_annotations; e && *e; e++)
        if (!strcmp(key, *e))
            return true;
    return k->id == VC__K_POD && (!strcmp(key, VC__A_SAFE_TO_EVICT) || !strcmp(key, VC__A_DAEMONSET_POD));
}

/* A newline-separated record as a set (object key -> true); lines of
 * "key=value" (the pod labels record) give their keys, translated to host
 * label keys when `labels`. */
static int record_set(vc_translator *t, const char *rec, bool kv_lines, json_t *set)
{
    const char *p = rec;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *eq = kv_lines ? memchr(p, '=', len) : NULL;
        if (kv_lines && eq)
            len = (size_t)(eq - p);
        char key[320];
        if (len > 0 && len < sizeof key) {
            memcpy(key, p, len);
            key[len] = '\0';
            const char *hk = kv_lines ? vc__host_label_key(t, key) : key;
            if (json_object_set_new(set, hk, json_true()) < 0)
                return vc__error_oom();
        }
        p = nl ? nl + 1 : NULL;
    }
    return VC_OK;
}

/* The keys the tenant's values were last written for (see above). */
static int managed_set(vc_translator *t, const vc__kind *k, which w, const json_t *hann, json_t *set)
{
    if (w == ANN)
        return record_set(t, vc__jstr(hann, VC__A_MANAGED_ANNOTATIONS), false, set);
    if (k->id == VC__K_POD)
        return record_set(t, vc__jstr(hann, VC__A_POD_LABELS), true, set);
    return record_set(t, vc__jstr(hann, VC__A_MANAGED_LABELS), false, set);
}

/* The virtual map with host keys (labels: reserved keys translated, keys
 * that are translations themselves dropped, as the create does). */
static json_t *virtual_in_host_keys(vc_translator *t, which w, const json_t *vmap)
{
    json_t *o = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)vmap, key, v) {
        if (!o)
            break;
        if (w == LAB && vc__is_translated_label(t, key))
            continue;
        if (json_object_set(o, w == LAB ? vc__host_label_key(t, key) : key, v) < 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

/* The host-owned keys after this step (B' in the comment above):
 * recorded ones the host or the virtual object still has, plus new ones. */
static int owned_after(vc_translator *t, const vc__kind *k, which w, const json_t *host, const json_t *vh,
                       json_t **out_owned, json_t **out_managed)
{
    const json_t *hann = meta_map(host, ANN), *hmap = meta_map(host, w);
    json_t *owned = json_object(), *was = json_object(), *managed = json_object();
    int rc = owned && was && managed ? VC_OK : vc__error_oom();
    if (rc == VC_OK)
        rc = record_set(t, vc__jstr(hann, k_owned_rec[w]), false, was);
    if (rc == VC_OK)
        rc = managed_set(t, k, w, hann, managed);
    const char *key;
    json_t *v;
    json_object_foreach(was, key, v) {
        if (rc == VC_OK && (json_object_get(hmap, key) || json_object_get(vh, key)) &&
            json_object_set(owned, key, json_true()) < 0)
            rc = vc__error_oom();
    }
    json_object_foreach((json_t *)hmap, key, v) {
        if (rc < 0)
            break;
        if (json_object_get(was, key) || json_object_get(managed, key) || json_object_get(vh, key) ||
            bookkeeping(t, k, w, key))
            continue;
        if (json_object_set(owned, key, json_true()) < 0)
            rc = vc__error_oom();
    }
    json_decref(was);
    if (rc < 0) {
        json_decref(owned);
        json_decref(managed);
        return rc;
    }
    *out_owned = owned;
    if (out_managed)
        *out_managed = managed;
    else
        json_decref(managed);
    return VC_OK;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A set as its record: sorted keys, one a line; NULL (json null) when empty. */
static json_t *set_record(const json_t *set)
{
    size_t n = json_object_size(set), i = 0;
    if (n == 0)
        return json_null();
    const char **keys = vc__malloc(n * sizeof *keys);
    if (!keys)
        return NULL;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)set, key, v) keys[i++] = key;
    qsort(keys, n, sizeof *keys, key_cmp);
    vc_buf b = VC_BUF_INIT;
    int rc = VC_OK;
    for (i = 0; i < n && rc == VC_OK; i++)
        rc = (i && vc__buf_put(&b, "\n", 1) < 0) || vc__buf_puts(&b, keys[i]) < 0 ? VC_ENOMEM : VC_OK;
    vc__free(keys);
    json_t *s = rc == VC_OK && b.ptr ? json_stringn_nocheck(b.ptr, b.size) : NULL;
    vc_buf_dispose(&b);
    return s;
}

static bool same_record(const json_t *rec, const char *have)
{
    if (json_is_null(rec))
        return !have || !*have;
    return have && !strcmp(json_string_value(rec), have);
}

static const vc__kind *kind_of(const json_t *obj, const char *what)
{
    const vc__kind *k = vc__kind_lookup(vc__jstr(obj, "kind"), vc__jstr(obj, "apiVersion"));
    if (!k)
        vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_TRANSLATE, "%s: %s is not a translated kind", what,
                  vc__jstr(obj, "kind") ? vc__jstr(obj, "kind") : "object without kind");
    return k;
}

/* patch.metadata[map][key] = value (borrowed; NULL: json null) */
static int patch_put(json_t **patch, const char *map, const char *key, json_t *value)
{
    if (!*patch && !(*patch = json_object()))
        return vc__error_oom();
    json_t *md = vc__jobj(*patch, "metadata");
    if (!md && (json_object_set_new(*patch, "metadata", md = json_object()) < 0 || !md))
        return vc__error_oom();
    json_t *m = vc__jobj(md, map);
    if (!m && (json_object_set_new(md, map, m = json_object()) < 0 || !m))
        return vc__error_oom();
    return json_object_set(m, key, value ? value : json_null()) == 0 ? VC_OK : vc__error_oom();
}

int vc__translate_backsync(json_t **out_virtual, json_t **out_host, vc_translator *t, const json_t *virt,
                           const json_t *host)
{
    *out_virtual = *out_host = NULL;
    if (!json_is_object(virt) || !json_is_object(host))
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "back-sync: the virtual and host objects must be objects");
    const vc__kind *k = kind_of(virt, "back-sync");
    if (!k)
        return VC_ENOTSUPPORTED;
    json_t *vp = NULL, *hp = NULL;
    int rc = VC_OK;
    for (int w = ANN; w <= LAB && rc == VC_OK; w++) {
        const json_t *hmap = meta_map(host, (which)w), *vmap = meta_map(virt, (which)w);
        json_t *vh = virtual_in_host_keys(t, (which)w, vmap), *owned = NULL, *was = json_object();
        rc = vh && was ? owned_after(t, k, (which)w, host, vh, &owned, NULL) : vc__error_oom();
        if (rc == VC_OK)
            rc = record_set(t, vc__jstr(meta_map(host, ANN), k_owned_rec[w]), false, was);
        const char *key;
        json_t *v;
        json_object_foreach(owned, key, v) {
            if (rc < 0)
                break;
            /* only keys the host has recorded travel (see the order above) */
            if (!json_object_get(was, key))
                continue;
            json_t *hv = json_object_get(hmap, key), *cur = json_object_get(vmap, key);
            if (hv ? cur && json_equal(hv, cur) : !cur)
                continue;
            rc = patch_put(&vp, k_maps[w], key, hv);
        }
        json_decref(was);
        json_t *rec = rc == VC_OK ? set_record(owned) : NULL;
        if (rc == VC_OK && !rec)
            rc = vc__error_oom();
        if (rc == VC_OK && !same_record(rec, vc__jstr(meta_map(host, ANN), k_owned_rec[w])))
            rc = patch_put(&hp, "annotations", k_owned_rec[w], rec);
        json_decref(rec);
        json_decref(owned);
        json_decref(vh);
    }
    if (rc < 0) {
        json_decref(vp);
        json_decref(hp);
        return rc;
    }
    *out_virtual = vp;
    *out_host = hp;
    return VC_OK;
}

int vc__translate_backsync_desired(vc_translator *t, json_t *desired, const json_t *virt, const json_t *host)
{
    if (!json_is_object(desired) || !json_is_object(virt))
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "back-sync: the desired and virtual objects must be objects");
    const vc__kind *k = kind_of(virt, "back-sync");
    if (!k)
        return VC_ENOTSUPPORTED;
    json_t *dmd = vc__jobj(desired, "metadata");
    if (!dmd) {
        if (json_object_set_new(desired, "metadata", dmd = json_object()) < 0 || !dmd)
            return vc__error_oom();
    }
    int rc = VC_OK;
    json_t *recs[2] = { NULL, NULL }, *managed_labels = NULL;
    for (int w = ANN; w <= LAB && rc == VC_OK; w++) {
        const json_t *hmap = meta_map(host, (which)w);
        json_t *vh = virtual_in_host_keys(t, (which)w, meta_map(virt, (which)w)), *owned = NULL;
        rc = vh ? owned_after(t, k, (which)w, host, vh, &owned, NULL) : vc__error_oom();
        json_decref(vh);
        json_t *dmap = rc == VC_OK ? vc__jobj(dmd, k_maps[w]) : NULL;
        if (rc == VC_OK && !dmap && (json_object_set_new(dmd, k_maps[w], dmap = json_object()) < 0 || !dmap))
            rc = vc__error_oom();
        /* host-owned keys keep the host's value (or stay away) */
        const char *key;
        json_t *v;
        json_object_foreach(owned, key, v) {
            if (rc < 0)
                break;
            json_t *hv = json_object_get(hmap, key);
            if (hv)
                rc = json_object_set(dmap, key, hv) == 0 ? VC_OK : vc__error_oom();
            else
                json_object_del(dmap, key);
        }
        /* annotations the kind never syncs (Rancher's publicEndpoints on a
         * Service) are the host's to keep: replacing them would fight the
         * host's controller in a loop */
        for (const char *const *e = k->excluded_annotations; w == ANN && rc == VC_OK && e && *e; e++) {
            json_t *hv = json_object_get(hmap, *e);
            if (hv && json_object_set(dmap, *e, hv) < 0)
                rc = vc__error_oom();
        }
        /* what the tenant owns: the rest, but the syncer's own keys */
        json_t *managed = rc == VC_OK ? json_object() : NULL;
        if (rc == VC_OK && !managed)
            rc = vc__error_oom();
        json_object_foreach(dmap, key, v) {
            if (rc == VC_OK && !json_object_get(owned, key) && !bookkeeping(t, k, (which)w, key) &&
                json_object_set(managed, key, json_true()) < 0)
                rc = vc__error_oom();
        }
        if (rc == VC_OK && w == ANN) {
            json_t *mrec = set_record(managed);
            if (mrec && json_is_null(mrec))
                json_object_del(dmap, VC__A_MANAGED_ANNOTATIONS);
            else if (!mrec || json_object_set(dmap, VC__A_MANAGED_ANNOTATIONS, mrec) < 0)
                rc = vc__error_oom();
            json_decref(mrec);
        } else if (rc == VC_OK && k->id != VC__K_POD) {
            /* pods record their labels in vcluster.loft.sh/labels */
            if (!(managed_labels = set_record(managed)))
                rc = vc__error_oom();
        }
        json_decref(managed);
        if (rc == VC_OK && !(recs[w] = set_record(owned)))
            rc = vc__error_oom();
        json_decref(owned);
    }
    json_t *dann = vc__jobj(dmd, "annotations");
    for (int w = ANN; w <= LAB && rc == VC_OK; w++) {
        if (json_is_null(recs[w]))
            json_object_del(dann, k_owned_rec[w]);
        else if (json_object_set(dann, k_owned_rec[w], recs[w]) < 0)
            rc = vc__error_oom();
    }
    if (rc == VC_OK && managed_labels) {
        if (json_is_null(managed_labels))
            json_object_del(dann, VC__A_MANAGED_LABELS);
        else if (json_object_set(dann, VC__A_MANAGED_LABELS, managed_labels) < 0)
            rc = vc__error_oom();
    }
    json_decref(recs[0]);
    json_decref(recs[1]);
    json_decref(managed_labels);
    for (int w = ANN; w <= LAB; w++) {
        json_t *m = vc__jobj(dmd, k_maps[w]);
        if (m && json_object_size(m) == 0)
            json_object_del(dmd, k_maps[w]);
    }
    return rc;
}

bool vc__translate_backsync_candidate(vc_translator *t, const json_t *host)
{
    const vc__kind *k = vc__kind_lookup(vc__jstr(host, "kind"), vc__jstr(host, "apiVersion"));
    const json_t *hann = meta_map(host, ANN);
    if (!k)
        return false;
    const char *r0 = vc__jstr(hann, k_owned_rec[ANN]), *r1 = vc__jstr(hann, k_owned_rec[LAB]);
    if ((r0 && *r0) || (r1 && *r1))
        return true;
    bool found = false;
    for (int w = ANN; w <= LAB && !found; w++) {
        json_t *managed = json_object();
        if (!managed || managed_set(t, k, (which)w, hann, managed) < 0) {
            json_decref(managed);
            return true; /* out of memory: let the whole objects decide */
        }
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)meta_map(host, (which)w), key, v) {
            if (!json_object_get(managed, key) && !bookkeeping(t, k, (which)w, key)) {
                found = true;
                break;
            }
        }
        json_decref(managed);
    }
    return found;
}

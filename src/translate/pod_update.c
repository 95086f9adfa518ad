/* Pod updates after the create (upstream pods/translate/diff.go and the pod
 * syncer's Sync): what a changed virtual pod means for its host twin.
 *
 * A host pod accepts few changes: labels and annotations, container and
 * init-container images, activeDeadlineSeconds, added tolerations, removed
 * scheduling gates; ephemeral
 * containers through the `ephemeralcontainers` subresource and container
 * resources through `resize`. The virtual pod is translated again as on
 * create, and the result is compared with the host pod field by field; each
 * difference becomes a strategic-merge patch for the syncer to send.
 *
 * Host-side additions survive: a label or annotation is removed from the
 * host only when it came from the virtual pod (its key is in the host's
 * vcluster.loft.sh/labels or managed-annotations record) and the virtual pod
 * no longer has it; the keys the host owns (backsync.c) keep the host's
 * values. */
#include <string.h>

#include "translate/translate.h"

/* ---- the digest of what an update carries ---- */

static json_t *containers_view(const json_t *list, bool resources)
{
    json_t *out = json_array();
    size_t i;
    json_t *ct;
    json_array_foreach(list, i, ct) {
        json_t *e = json_pack("[O?,O?]", json_object_get(ct, "name"), json_object_get(ct, "image"));
        if (e && resources)
            json_array_append(e, json_object_get(ct, "resources") ? json_object_get(ct, "resources") : json_null());
        if (!e || !out || json_array_append_new(out, e) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

int vc__pod_update_digest(const json_t *vpod, char out[65])
{
    const json_t *md = vc__jobj(vpod, "metadata"), *spec = vc__jobj(vpod, "spec");
    json_t *eph = json_array();
    size_t i;
    json_t *ct;
    VC__ARRAY_FOREACH(json_object_get(spec, "ephemeralContainers"), i, ct) {
        json_t *n = json_object_get(ct, "name");
        if (n && eph)
            json_array_append(eph, n);
    }
    json_t *view = json_pack("{s:O?,s:O?,s:O?,s:o?,s:o?,s:o?,s:O?,s:O?}", "g", json_object_get(spec, "schedulingGates"),
                             "l", json_object_get(md, "labels"), "a",
                             json_object_get(md, "annotations"), "c",
                             containers_view(json_object_get(spec, "containers"), true), "i",
                             containers_view(json_object_get(spec, "initContainers"), false), "e", eph, "d",
                             json_object_get(spec, "activeDeadlineSeconds"), "t", json_object_get(spec, "tolerations"));
    char *text = view ? json_dumps(view, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(view);
    if (!text)
        return vc__error_oom();
    vc__sha256_hex(text, strlen(text), out);
    vc__free(text);
    return VC_OK;
}

/* ---- the update ---- */

static json_t *by_name(const json_t *list, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) if (vc__streq(vc__jstr(e, "name"), name)) return e;
    return NULL;
}

/* patch[key] = value (NULL value: null, i.e. remove) */
static int put(json_t *patch, const char *key, json_t *value)
{
    return json_object_set(patch, key, value ? value : json_null()) == 0 ? VC_OK : vc__error_oom();
}

/* Does `key` name one of the lines "key=..." in a labels annotation? */
static void old_label_keys(vc_translator *t, const char *rec, const json_t *dlab, const json_t *hlab, json_t *lp)
{
    const char *p = rec;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        char key[320];
        if (eq && (size_t)(eq - p) < sizeof key) {
            memcpy(key, p, (size_t)(eq - p));
            key[eq - p] = '\0';
            const char *hk = vc__host_label_key(t, key);
            if (hk && !json_object_get(dlab, hk) && json_object_get(hlab, hk))
                json_object_set_new(lp, hk, json_null());
        }
        p = nl ? nl + 1 : NULL;
    }
}

static int labels_patch(vc_translator *t, const json_t *dmd, const json_t *hmd, json_t *mp)
{
    const json_t *dlab = vc__jobj(dmd, "labels"), *hlab = vc__jobj(hmd, "labels");
    json_t *lp = json_object();
    if (!lp)
        return vc__error_oom();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)dlab, k, v) {
        if (!json_equal(json_object_get(hlab, k), v))
            json_object_set(lp, k, v);
    }
    /* the virtual pod's former labels, as the host recorded them */
    old_label_keys(t, vc__jstr(vc__jobj(hmd, "annotations"), VC__A_POD_LABELS), dlab, hlab, lp);
    /* namespace labels follow the namespace */
    json_object_foreach((json_t *)hlab, k, v) {
        if (!strncmp(k, VC__NS_LABEL_PREFIX, sizeof(VC__NS_LABEL_PREFIX) - 1) && !json_object_get(dlab, k))
            json_object_set_new(lp, k, json_null());
    }
    if (json_object_size(lp))
        return json_object_set_new(mp, "labels", lp) == 0 ? VC_OK : vc__error_oom();
    json_decref(lp);
    return VC_OK;
}

static int annotations_patch(const json_t *dmd, const json_t *hmd, json_t *mp)
{
    const json_t *dann = vc__jobj(dmd, "annotations"), *hann = vc__jobj(hmd, "annotations");
    json_t *ap = json_object();
    if (!ap)
        return vc__error_oom();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)dann, k, v) {
        /* service-account token annotations: the host pod's volumes read
         * its own (issued for the create); the translation here has none */
        if (!strncmp(k, VC__A_TOKEN_PREFIX, sizeof(VC__A_TOKEN_PREFIX) - 1))
            continue;
        if (!json_equal(json_object_get(hann, k), v))
            json_object_set(ap, k, v);
    }
    /* the virtual pod's former annotations, as the host recorded them */
    const char *rec = vc__jstr(hann, VC__A_MANAGED_ANNOTATIONS);
    const char *p = rec;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char key[320];
        if (len < sizeof key) {
            memcpy(key, p, len);
            key[len] = '\0';
            if (!json_object_get(dann, key) && json_object_get(hann, key))
                json_object_set_new(ap, key, json_null());
        }
        p = nl ? nl + 1 : NULL;
    }
    static const char *const follow[] = { VC__A_MANAGED_ANNOTATIONS, VC__A_OWNER_REFS, VC__A_OWNER_SET_KIND,
                                          VC__A_HOST_ANNOTATIONS, VC__A_HOST_LABELS };
    for (size_t i = 0; i < VC__ARRAY_LEN(follow); i++)
        if (json_object_get(hann, follow[i]) && !json_object_get(dann, follow[i]))
            json_object_set_new(ap, follow[i], json_null());
    if (json_object_size(ap))
        return json_object_set_new(mp, "annotations", ap) == 0 ? VC_OK : vc__error_oom();
    json_decref(ap);
    return VC_OK;
}

/* [{name, image}] of the desired containers whose host image differs. */
static json_t *image_changes(const json_t *dlist, const json_t *hlist)
{
    json_t *out = json_array();
    size_t i;
    json_t *dc;
    json_array_foreach(dlist, i, dc) {
        const char *name = vc__jstr(dc, "name");
        json_t *hc = by_name(hlist, name);
        json_t *img = json_object_get(dc, "image");
        if (!hc || !img || json_equal(img, json_object_get(hc, "image")))
            continue;
        if (!out || json_array_append_new(out, json_pack("{s:s,s:O}", "name", name, "image", img)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static int spec_patch(const json_t *dspec, const json_t *hspec, json_t *sp)
{
    json_t *dads = json_object_get(dspec, "activeDeadlineSeconds");
    json_t *hads = json_object_get(hspec, "activeDeadlineSeconds");
    if (!(dads ? hads && json_equal(dads, hads) : !hads) && put(sp, "activeDeadlineSeconds", dads) < 0)
        return VC_ENOMEM;
    static const char *const lists[] = { "containers", "initContainers" };
    for (size_t l = 0; l < 2; l++) {
        json_t *ch = image_changes(json_object_get(dspec, lists[l]), json_object_get(hspec, lists[l]));
        if (!ch)
            return vc__error_oom();
        if (json_array_size(ch) == 0)
            json_decref(ch);
        else if (json_object_set_new(sp, lists[l], ch) < 0)
            return vc__error_oom();
    }
    /* tolerations may only be added: the host's list plus what it lacks
     * (the virtual pod's and the enforced ones) */
    const json_t *htol = json_object_get(hspec, "tolerations");
    json_t *missing = NULL;
    size_t i, j;
    json_t *want, *have;
    VC__ARRAY_FOREACH(json_object_get(dspec, "tolerations"), i, want) {
        bool found = false;
        json_array_foreach(htol, j, have) if (json_equal(have, want)) found = true;
        if (found)
            continue;
        if (!missing && !(missing = json_is_array(htol) ? json_copy((json_t *)htol) : json_array()))
            return vc__error_oom();
        if (json_array_append(missing, want) < 0) {
            json_decref(missing);
            return vc__error_oom();
        }
    }
    if (missing && json_object_set_new(sp, "tolerations", missing) < 0)
        return vc__error_oom();
    /* scheduling gates may only be removed (diff.go copies the virtual
     * list): a strategic-merge delete directive per gate the virtual pod
     * dropped */
    json_t *gates = NULL;
    VC__ARRAY_FOREACH(json_object_get(hspec, "schedulingGates"), i, have) {
        const char *g = vc__jstr(have, "name");
        if (!g || by_name(json_object_get(dspec, "schedulingGates"), g))
            continue;
        if ((!gates && !(gates = json_array())) ||
            json_array_append_new(gates, json_pack("{s:s,s:s}", "$patch", "delete", "name", g)) < 0) {
            json_decref(gates);
            return vc__error_oom();
        }
    }
    if (gates && json_object_set_new(sp, "schedulingGates", gates) < 0)
        return vc__error_oom();
    return VC_OK;
}

/* {"spec": {key: list}} when list is not empty; list consumed. */
static json_t *spec_body(const char *key, json_t *list)
{
    if (!list || json_array_size(list) == 0) {
        json_decref(list);
        return NULL;
    }
    return json_pack("{s:{s:o}}", "spec", key, list);
}

int vc__translate_pod_update(json_t **out, vc_translator *t, const json_t *vpod, const json_t *hpod,
                             const json_t *inputs)
{
    *out = NULL;
    if (!json_is_object(vpod) || !json_is_object(hpod))
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "pod update: the virtual and host pods must be objects");
    json_t *copy = json_deep_copy(vpod);
    if (!copy)
        return vc__error_oom();
    /* as on create; tokens are not needed (their annotations stay as the
     * host has them), nor the runtime facts the create waited for */
    json_t *d = NULL;
    int rc = vc__translate_to_host(&d, NULL, t, copy, inputs, VC_TRANSLATE_APPLY_DEFAULTS | VC_TRANSLATE_PREVIEW, NULL);
    if (rc < 0)
        return rc;
    /* keys the host owns keep the host's values (backsync.c) */
    json_t *dw = json_deep_copy(d);
    json_decref(d);
    d = dw;
    rc = d ? vc__translate_backsync_desired(t, d, vpod, hpod) : vc__error_oom();
    if (rc < 0) {
        json_decref(d);
        return rc;
    }
    const json_t *dmd = vc__jobj(d, "metadata"), *hmd = vc__jobj(hpod, "metadata");
    const json_t *dspec = vc__jobj(d, "spec"), *hspec = vc__jobj(hpod, "spec");
    json_t *res = json_object(), *mp = json_object(), *sp = json_object();
    json_t *eph = json_array(), *rsz = json_array();
    rc = res && mp && sp && eph && rsz ? VC_OK : vc__error_oom();
    if (rc == VC_OK)
        rc = labels_patch(t, dmd, hmd, mp);
    if (rc == VC_OK)
        rc = annotations_patch(dmd, hmd, mp);
    if (rc == VC_OK)
        rc = spec_patch(dspec, hspec, sp);
    /* ephemeral containers the host pod lacks (never removed: the API
     * cannot) */
    size_t i;
    json_t *dc;
    VC__ARRAY_FOREACH(json_object_get(dspec, "ephemeralContainers"), i, dc) {
        if (rc == VC_OK && !by_name(json_object_get(hspec, "ephemeralContainers"), vc__jstr(dc, "name")) &&
            json_array_append(eph, dc) < 0)
            rc = vc__error_oom();
    }
    /* resources: in place, through the host's resize subresource */
    json_t *empty = json_object();
    if (!empty && rc == VC_OK)
        rc = vc__error_oom();
    VC__ARRAY_FOREACH(json_object_get(dspec, "containers"), i, dc) {
        json_t *hc = by_name(json_object_get(hspec, "containers"), vc__jstr(dc, "name"));
        json_t *dr = json_object_get(dc, "resources"), *hr = json_object_get(hc, "resources");
        if (rc < 0 || !hc || json_equal(dr ? dr : empty, hr ? hr : empty))
            continue;
        json_t *e = json_pack("{s:O,s:o}", "name", json_object_get(dc, "name"), "resources",
                              dr ? json_incref(dr) : json_object());
        if (!e || json_array_append_new(rsz, e) < 0)
            rc = vc__error_oom();
    }
    if (rc == VC_OK) {
        /* metadata and spec apart: a refused spec change must not hold
         * back the labels */
        json_t *meta = json_object_size(mp) ? json_pack("{s:O}", "metadata", mp) : NULL;
        json_t *patch = json_object_size(sp) ? json_pack("{s:O}", "spec", sp) : NULL;
        json_t *eb = spec_body("ephemeralContainers", json_incref(eph));
        json_t *rb = spec_body("containers", json_incref(rsz));
        if ((meta && json_object_set_new(res, "metadata", meta) < 0) ||
            (patch && json_object_set_new(res, "patch", patch) < 0) ||
            (eb && json_object_set_new(res, "ephemeral", eb) < 0) || (rb && json_object_set_new(res, "resize", rb) < 0))
            rc = vc__error_oom();
    }
    json_decref(empty);
    json_decref(mp);
    json_decref(sp);
    json_decref(eph);
    json_decref(rsz);
    json_decref(d);
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return VC_OK;
}

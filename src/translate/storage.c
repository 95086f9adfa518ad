/* PersistentVolumeClaims and PersistentVolumes (upstream
 * persistentvolumeclaims/translate.go, persistentvolumes/translate.go).
 * StorageClasses need nothing beyond host metadata. */
#include <string.h>

#include "translate/translate.h"

#define DEPRECATED_SC_ANNOTATION "volume.beta.kubernetes.io/storage-class"

static int set_cluster_name(vc__call *c, json_t *o, const char *key, const char *vname)
{
    char hn[VC__NAME_MAX];
    vc__host_name_cluster(c->t, vname, hn);
    return vc__set_str(o, key, hn);
}

static int translate_sc(vc__call *c, json_t *spec, json_t *ann, const char *sc)
{
    char copy[VC__NAME_MAX];
    snprintf(copy, sizeof copy, "%s", sc); /* sc may live in `ann` */
    json_object_del(ann, DEPRECATED_SC_ANNOTATION);
    return set_cluster_name(c, spec, "storageClassName", copy);
}

int vc__pvc_to_host(vc__call *c, json_t *obj)
{
    vc_translator *t = c->t;
    int rc = vc__host_metadata(c, obj, NULL, 0);
    if (rc < 0)
        return rc;
    json_t *spec = json_object_get(obj, "spec");
    if (!spec)
        return VC_OK;
    if (!json_is_object(spec))
        return vc__bad(c, "must be an object", "/spec");
    json_t *ann = vc__jobj(vc__jobj(obj, "metadata"), "annotations");
    bool skip = vc__streq(vc__jpath_str(c->vmeta, "annotations", VC__A_SKIP_TRANSLATE), "true");
    const char *sc = vc__jstr(spec, "storageClassName");
    if (!sc || !*sc)
        sc = vc__jstr(ann, DEPRECATED_SC_ANNOTATION);
    if (sc && !*sc)
        sc = NULL;
    bool sc_sync = t->sync & VC_TRANSLATE_SYNC_STORAGE_CLASSES;
    if (sc_sync && sc) {
        if ((rc = translate_sc(c, spec, ann, sc)) < 0)
            return rc;
    }
    if ((t->sync & VC_TRANSLATE_SYNC_PERSISTENT_VOLUMES) && !skip) {
        json_t *sel = json_object_get(spec, "selector");
        if (sel && !json_is_null(sel)) {
            json_t *hs = NULL;
            if ((rc = vc__host_selector(c, sel, "/spec/selector", false, &hs)) < 0)
                return rc;
            json_object_set_new_nocheck(spec, "selector", hs);
        }
        const char *vn = vc__jstr(spec, "volumeName");
        if (vn && *vn) {
            char copy[VC__NAME_MAX];
            snprintf(copy, sizeof copy, "%s", vn);
            if ((rc = set_cluster_name(c, spec, "volumeName", copy)) < 0)
                return rc;
        }
        if (!sc_sync && sc) {
            bool dynamic = !vc__jobj(spec, "selector") && !(vc__jstr(spec, "volumeName") && *vc__jstr(spec, "volumeName"));
            /* Dynamic provisioning keeps a class that exists on the host;
             * upstream asks the host, the caller tells us. */
            if (!dynamic || json_is_true(json_object_get(c->inputs, "hostStorageClassMissing"))) {
                if ((rc = translate_sc(c, spec, ann, sc)) < 0)
                    return rc;
            }
        }
    }
    if (!skip) {
        json_t *ds = vc__jobj(spec, "dataSource");
        const char *n;
        char hn[VC__NAME_MAX];
        if (ds && vc__streq(vc__jstr(ds, "kind"), "PersistentVolumeClaim") && (n = vc__jstr(ds, "name"))) {
            vc__host_name_ns(t, n, c->vns, hn);
            if ((rc = vc__set_str(ds, "name", hn)) < 0)
                return rc;
        }
        json_t *dsr = vc__jobj(spec, "dataSourceRef");
        if (dsr && vc__streq(vc__jstr(dsr, "kind"), "PersistentVolumeClaim") && (n = vc__jstr(dsr, "name"))) {
            const char *ns = vc__jstr(dsr, "namespace");
            vc__host_name_ns(t, n, ns ? ns : c->vns, hn);
            if ((rc = vc__set_str(dsr, "name", hn)) < 0)
                return rc;
        }
    }
    return VC_OK;
}

int vc__pv_to_host(vc__call *c, json_t *obj)
{
    int rc = vc__host_metadata(c, obj, NULL, 0);
    if (rc < 0)
        return rc;
    json_t *spec = json_object_get(obj, "spec");
    if (!spec)
        return VC_OK;
    if (!json_is_object(spec))
        return vc__bad(c, "must be an object", "/spec");
    json_object_del(spec, "claimRef");
    const char *sc = vc__jstr(spec, "storageClassName");
    if (sc && *sc) {
        char copy[VC__NAME_MAX];
        snprintf(copy, sizeof copy, "%s", sc);
        return set_cluster_name(c, spec, "storageClassName", copy);
    }
    return VC_OK;
}

/* Storage: PersistentVolumes and StorageClasses (upstream
 * persistentvolumes/{fake_syncer,syncer}.go, storageclasses/{syncer,
 * host_syncer}.go).
 *
 * PersistentVolumes, one controller in one of two modes:
 *  - fake (the default, sync.toHost.persistentVolumes.enabled false): a
 *    virtual PV named as the host PV (the mirror mapping) is made for every
 *    virtual PVC bound on the host, labelled vcluster.loft.sh/fake-pv, with
 *    a fake flexVolume source, the claim's requests and access modes, a
 *    claimRef to the virtual claim and status Bound; it is deleted when no
 *    claim uses it any more.
 *  - synced (enabled): a PV created inside becomes the host PV
 *    vcluster-NAME-x-HOSTNS-x-VC (translated storage class), kept up to date,
 *    its status copied back, deleted with the virtual one; a host PV bound
 *    to a claim of this virtual cluster (dynamic provisioning) is copied in
 *    under its host name with vcluster.loft.sh/host-pv, its claimRef
 *    pointing at the virtual claim, and deleted when the host PV goes.
 * Either way the virtual claim gets its spec.volumeName (the PV first, so a
 * virtual binder never sees a claim bound to a missing volume; see
 * vc__pvc_volume_back, called by the PVC controller).
 *
 * StorageClasses, one controller in one of two modes (config.c refuses
 * both directions at once):
 *  - toHost (sync.toHost.storageClasses.enabled): a class created inside
 *    becomes the host class vcluster-NAME-x-HOSTNS-x-VC, updated, deleted;
 *    claims inside are rewritten to it (src/translate/storage.c).
 *  - fromHost (sync.fromHost.storageClasses.enabled, "auto": with the
 *    virtual scheduler): every host class is copied in under its own name,
 *    labels and annotations included (so the host's default class is the
 *    default inside), kept equal, and a virtual class with no host twin is
 *    deleted, as upstream does. Fields the API server keeps immutable
 *    (provisioner, parameters, reclaimPolicy, volumeBindingMode) changed on
 *    the host make the virtual class be deleted and created again.
 *
 * Both list every object of their kind on startup, so what a stopped syncer
 * left behind (a host class whose virtual one was deleted meanwhile, a fake
 * PV no claim uses) is put right by the first reconcile (GC at startup).
 * The host's refusals reach the virtual object as Warning events through
 * the core's write path (vc__sync_write). */
#include <string.h>

#include "sync/sync.h"

#define FAKE_PV_LABEL "vcluster.loft.sh/fake-pv"
#define FAKE_PROVISIONER "fake-pv-provisioner"

static bool pvs_synced(vc_syncer *s)
{
    return (s->tr->sync & VC_TRANSLATE_SYNC_PERSISTENT_VOLUMES) != 0;
}

/* ---- small helpers ---- */

static json_t *load(vc__informer *inf, const char *key)
{
    json_t *o = NULL;
    if (inf && key && vc__informer_load(inf, key, &o) < 0)
        return NULL;
    return o;
}

static const char *ann_of(const json_t *o, const char *key)
{
    return vc__jstr(vc__jobj(vc__jobj(o, "metadata"), "annotations"), key);
}

static bool is_fake(const json_t *pv)
{
    return vc__streq(vc__jstr(vc__jobj(vc__jobj(pv, "metadata"), "labels"), FAKE_PV_LABEL), "true");
}

/* Strip what the server owns from an object about to be created. */
static void strip_server_meta(json_t *o)
{
    json_t *md = json_object_get(o, "metadata");
    static const char *const drop[] = { "uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
                                        "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers",
                                        "ownerReferences", "selfLink" };
    for (size_t i = 0; i < VC__ARRAY_LEN(drop); i++)
        json_object_del(md, drop[i]);
}

static int write_obj(vc_syncer *s, vc__side side, vc__qitem *it, const char *kind, const char *vname,
                     const char *hname, int ev, const char *method, const char *api_version, const char *plural,
                     const char *name, const char *sub, const json_t *body)
{
    int64_t wait;
    if (side == VC__SIDE_HOST && !vc__host_token(s, &wait))
        return VC_ITEROVER;
    char *path = vc__obj_path(api_version, plural, NULL, name, sub);
    int rc = path ? vc__sync_write_json(s, side, it, kind, "", vname, hname, ev, method, path,
                                        vc__streq(method, "PATCH") ? "application/merge-patch+json" : NULL, body,
                                        NULL, NULL)
                  : vc__error_oom();
    vc__free(path);
    return rc;
}

static int delete_obj(vc_syncer *s, vc__side side, vc__qitem *it, const char *kind, const char *vname,
                      const char *hname, const char *api_version, const char *plural, const json_t *obj)
{
    if (vc__deleting(obj))
        return VC_OK;
    int64_t wait;
    if (side == VC__SIDE_HOST && !vc__host_token(s, &wait))
        return VC_ITEROVER;
    const char *name = vc__jpath_str(obj, "metadata", "name");
    char *path = vc__obj_path(api_version, plural, NULL, name, NULL);
    char *body = vc__delete_body(vc__uid_of(obj) ? vc__uid_of(obj) : "", -1);
    int rc = path && body ? vc__sync_write(s, side, it, kind, "", vname, hname,
                                           side == VC__SIDE_HOST ? VC_SYNC_DELETED_HOST : VC_SYNC_DELETED_VIRTUAL,
                                           "DELETE", path, NULL, body, NULL, NULL)
                          : vc__error_oom();
    vc__free(path);
    vc__free(body);
    return rc;
}

/* A deleting virtual object kept by finalizers whose controller is not
 * there (pv-protection with no binder): drop them, as upstream does. */
static int drop_finalizers(vc_syncer *s, vc__qitem *it, const char *kind, const char *api_version,
                           const char *plural, const json_t *v)
{
    json_t *fin = json_object_get(json_object_get(v, "metadata"), "finalizers");
    if (!json_is_array(fin) || json_array_size(fin) == 0)
        return VC_OK;
    const char *name = vc__jpath_str(v, "metadata", "name");
    json_t *patch = json_pack("{s:{s:n}}", "metadata", "finalizers");
    /* (part of the delete: gone already is done) */
    int rc = patch ? write_obj(s, VC__SIDE_VIRT, it, kind, name, "", VC_SYNC_DELETED_VIRTUAL, "PATCH", api_version,
                               plural, name, NULL, patch)
                   : vc__error_oom();
    json_decref(patch);
    return rc;
}

/* ---- PersistentVolumes ---- */

/* The virtual claim of volume `pv` (virtual name): a virtual PVC whose
 * spec.volumeName is `pv`, else one whose host twin's spec.volumeName is
 * `hpv` (the host name). A new reference, or NULL. A scan of the claim
 * caches: claims are few next to pods, and a text match skips parsing. */
static json_t *claim_of(vc_syncer *s, const char *pv, const char *hpv)
{
    vc__ctl *pvcs = vc__sync_ctl_of(s, VC__CTL_PVCS);
    if (!pvcs || !pvcs->virt)
        return NULL;
    char needle[VC__NAME_MAX + 32];
    size_t it = 0;
    const char *k, *text;
    snprintf(needle, sizeof needle, "\"volumeName\":\"%s\"", pv);
    while (vc__informer_next(pvcs->virt, &it, &k, &text)) {
        if (!text || !strstr(text, needle))
            continue;
        json_t *c = load(pvcs->virt, k);
        if (c && vc__streq(vc__jpath_str(c, "spec", "volumeName"), pv))
            return c;
        json_decref(c);
    }
    if (!pvcs->host || !hpv)
        return NULL;
    snprintf(needle, sizeof needle, "\"volumeName\":\"%s\"", hpv);
    it = 0;
    while (vc__informer_next(pvcs->host, &it, &k, &text)) {
        if (!text || !strstr(text, needle))
            continue;
        json_t *h = load(pvcs->host, k);
        char *vns = NULL, *vname = NULL;
        json_t *c = NULL;
        if (h && vc__streq(vc__jpath_str(h, "spec", "volumeName"), hpv) &&
            vc__translate_virtual_name(&vns, &vname, s->tr, h) == VC_OK) {
            char *vkey = vc__sprintf("%s/%s", vns, vname);
            c = load(pvcs->virt, vkey);
            vc__free(vkey);
        }
        vc_error_clear();
        vc__free(vns);
        vc__free(vname);
        json_decref(h);
        if (c)
            return c;
    }
    return NULL;
}

static json_t *claim_ref(const json_t *claim)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?}", "kind", "PersistentVolumeClaim", "apiVersion", "v1", "namespace",
                     vc__jpath_str(claim, "metadata", "namespace"), "name",
                     vc__jpath_str(claim, "metadata", "name"), "uid", vc__uid_of(claim), "resourceVersion",
                     vc__jpath_str(claim, "metadata", "resourceVersion"));
}

static int fake_pv_create(vc_syncer *s, vc__qitem *it, const char *name, const json_t *claim)
{
    json_t *spec = json_object_get(claim, "spec");
    json_t *req = json_object_get(json_object_get(spec, "resources"), "requests");
    json_t *pv = json_pack("{s:s,s:s,s:{s:s,s:{s:s},s:{s:s,s:s,s:s}},s:{s:{s:s},s:O,s:O,s:o,s:s}}", "apiVersion", "v1",
                           "kind", "PersistentVolume", "metadata", "name", name, "labels", FAKE_PV_LABEL, "true",
                           "annotations", "kubernetes.io/createdby", FAKE_PROVISIONER,
                           "pv.kubernetes.io/bound-by-controller", "true", "pv.kubernetes.io/provisioned-by",
                           FAKE_PROVISIONER, "spec", "flexVolume", "driver", "fake", "capacity",
                           json_is_object(req) ? req : json_object_get(json_object_get(claim, "status"), "capacity"),
                           "accessModes", json_object_get(spec, "accessModes"), "claimRef", claim_ref(claim),
                           "persistentVolumeReclaimPolicy", "Delete");
    if (!pv)
        return vc__error_oom();
    json_t *ps = json_object_get(pv, "spec");
    const char *sc = vc__jstr(spec, "storageClassName");
    if (sc && *sc)
        json_object_set_new(ps, "storageClassName", json_string(sc));
    if (vc__jstr(spec, "volumeMode"))
        json_object_set(ps, "volumeMode", json_object_get(spec, "volumeMode"));
    int rc = write_obj(s, VC__SIDE_VIRT, it, "PersistentVolume", name, "", VC_SYNC_CREATED_VIRTUAL, "POST", "v1",
                       "persistentvolumes", NULL, NULL, pv);
    json_decref(pv);
    return rc;
}

/* A virtual PV's status set to `status`. */
static int pv_status(vc_syncer *s, vc__qitem *it, const json_t *v, json_t *status)
{
    if (json_equal(json_object_get(v, "status"), status))
        return VC_OK;
    json_t *nv = json_deep_copy(v);
    if (!nv)
        return vc__error_oom();
    json_object_set(nv, "status", status);
    const char *name = vc__jpath_str(v, "metadata", "name");
    int rc = write_obj(s, VC__SIDE_VIRT, it, "PersistentVolume", name, "", VC_SYNC_UPDATED_VIRTUAL, "PUT", "v1",
                       "persistentvolumes", name, "status", nv);
    json_decref(nv);
    return rc;
}

static int reconcile_fake(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *name)
{
    json_t *v = load(c->virt, name);
    json_t *claim = claim_of(s, name, name);
    int rc = VC_OK;
    if (claim && !vc__deleting(claim)) {
        if (!v)
            rc = fake_pv_create(s, it, name, claim);
        else if (is_fake(v) && !vc__deleting(v)) {
            json_t *st = json_pack("{s:s}", "phase", "Bound");
            rc = st ? pv_status(s, it, v, st) : vc__error_oom();
            json_decref(st);
        }
    } else if (v && is_fake(v)) {
        rc = vc__deleting(v) ? drop_finalizers(s, it, "PersistentVolume", "v1", "persistentvolumes", v)
                             : delete_obj(s, VC__SIDE_VIRT, it, "PersistentVolume", name, "", "v1",
                                          "persistentvolumes", v);
    }
    json_decref(v);
    json_decref(claim);
    return rc;
}

/* Synced mode: is host PV h bound to a claim of this virtual cluster?
 * *claim gets the virtual claim (new reference) when it exists. A PV
 * released by a claim of our namespace, or kept (Retain), still belongs
 * (upstream shouldSync). */
static bool host_pv_ours(vc_syncer *s, const json_t *h, json_t **claim)
{
    *claim = NULL;
    json_t *cr = vc__jobj(vc__jobj(h, "spec"), "claimRef");
    if (!cr || !vc__streq(vc__jstr(cr, "namespace"), s->host_ns))
        return false;
    vc__ctl *pvcs = vc__sync_ctl_of(s, VC__CTL_PVCS);
    char hkey[VC__NAME_MAX * 2];
    snprintf(hkey, sizeof hkey, "%s/%s", s->host_ns, vc__jstr(cr, "name") ? vc__jstr(cr, "name") : "");
    json_t *hpvc = pvcs ? load(pvcs->host, hkey) : NULL;
    char *vns = NULL, *vname = NULL;
    if (hpvc && vc__translate_virtual_name(&vns, &vname, s->tr, hpvc) == VC_OK) {
        char *vkey = vc__sprintf("%s/%s", vns, vname);
        *claim = load(pvcs->virt, vkey);
        vc__free(vkey);
    }
    vc_error_clear();
    vc__free(vns);
    vc__free(vname);
    json_decref(hpvc);
    if (*claim)
        return true;
    return vc__streq(vc__jpath_str(h, "status", "phase"), "Released") ||
           vc__streq(vc__jpath_str(h, "spec", "persistentVolumeReclaimPolicy"), "Retain");
}

static bool managed_by_us(vc_syncer *s, const json_t *h)
{
    return vc__streq(vc__jstr(vc__jobj(vc__jobj(h, "metadata"), "labels"), VC__L_MARKER), s->tr->marker_cluster) &&
           ann_of(h, VC__A_OBJ_NAME) != NULL;
}

/* The host PV's spec as the virtual PV shows it: claimRef to the virtual
 * claim, the claim's class. */
static json_t *mirror_spec(const json_t *h, const json_t *claim, const json_t *vspec)
{
    json_t *spec = json_deep_copy(vc__jobj(h, "spec"));
    if (!spec)
        return NULL;
    if (claim) {
        json_object_set_new(spec, "claimRef", claim_ref(claim));
        const char *sc = vc__jpath_str(claim, "spec", "storageClassName");
        if (sc && *sc)
            json_object_set_new(spec, "storageClassName", json_string(sc));
    } else if (vspec) {
        json_t *cr = json_object_get(vspec, "claimRef");
        if (cr)
            json_object_set(spec, "claimRef", cr);
        else
            json_object_del(spec, "claimRef");
        json_t *sc = json_object_get(vspec, "storageClassName");
        if (sc)
            json_object_set(spec, "storageClassName", sc);
    }
    return spec;
}

/* Synced mode, a virtual copy of a host PV (vcluster.loft.sh/host-pv). */
static int reconcile_mirror(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *name, const json_t *v,
                            const json_t *h)
{
    json_t *claim = NULL;
    bool ours = h && !vc__deleting(h) && host_pv_ours(s, h, &claim);
    int rc = VC_OK;
    if (!ours) {
        if (v)
            rc = vc__deleting(v) ? drop_finalizers(s, it, "PersistentVolume", "v1", "persistentvolumes", v)
                                 : delete_obj(s, VC__SIDE_VIRT, it, "PersistentVolume", name, "", "v1",
                                              "persistentvolumes", v);
        json_decref(claim);
        return rc;
    }
    const char *hname = vc__jpath_str(h, "metadata", "name");
    json_t *spec = mirror_spec(h, claim, v ? vc__jobj(v, "spec") : NULL);
    json_decref(claim);
    if (!spec)
        return vc__error_oom();
    if (!v) {
        json_t *nv = json_pack("{s:s,s:s,s:{s:s,s:O?,s:O?},s:o}", "apiVersion", "v1", "kind", "PersistentVolume",
                               "metadata", "name", name, "labels", json_object_get(json_object_get(h, "metadata"), "labels"),
                               "annotations", json_object_get(json_object_get(h, "metadata"), "annotations"), "spec",
                               spec);
        if (!nv)
            return vc__error_oom();
        json_t *md = json_object_get(nv, "metadata");
        json_t *ann = json_object_get(md, "annotations");
        if (!json_is_object(ann)) {
            ann = json_object();
            json_object_set_new(md, "annotations", ann);
        } else {
            ann = json_deep_copy(ann);
            json_object_set_new(md, "annotations", ann);
        }
        json_object_set_new(ann, VC__A_HOST_PV, json_string(hname));
        rc = write_obj(s, VC__SIDE_VIRT, it, "PersistentVolume", name, hname, VC_SYNC_CREATED_VIRTUAL, "POST", "v1",
                       "persistentvolumes", NULL, NULL, nv);
        json_decref(nv);
        return rc;
    }
    if (vc__deleting(v)) {
        json_decref(spec);
        return drop_finalizers(s, it, "PersistentVolume", "v1", "persistentvolumes", v);
    }
    if (!json_equal(spec, json_object_get(v, "spec"))) {
        json_t *nv = json_deep_copy(v);
        if (!nv) {
            json_decref(spec);
            return vc__error_oom();
        }
        json_object_set_new(nv, "spec", spec);
        rc = write_obj(s, VC__SIDE_VIRT, it, "PersistentVolume", name, hname, VC_SYNC_UPDATED_VIRTUAL, "PUT", "v1",
                       "persistentvolumes", name, NULL, nv);
        json_decref(nv);
        return rc; /* status after the informer brings the update */
    }
    json_decref(spec);
    json_t *hs = json_object_get(h, "status");
    return hs ? pv_status(s, it, v, hs) : VC_OK;
}

/* Synced mode, a PV created inside: its host twin. */
static int reconcile_owned(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *name, const char *hname,
                           const json_t *v, const json_t *h)
{
    (void)c;
    if (vc__deleting(v)) {
        if (h && !vc__deleting(h))
            return delete_obj(s, VC__SIDE_HOST, it, "PersistentVolume", name, hname, "v1", "persistentvolumes", h);
        return h ? VC_OK : drop_finalizers(s, it, "PersistentVolume", "v1", "persistentvolumes", v);
    }
    if (h && vc__host_owned_by_other(h, "", name))
        return vc__name_taken(s, it, "PersistentVolume", "", name, hname);
    if (h && !managed_by_us(s, h)) {
        s->refused_name_taken++;
        int rc = vc__error(VC_EEXISTS, VC_ERRCLASS_SYNC,
                           "the host already has a PersistentVolume of this name that this virtual cluster does not "
                           "manage; it is left alone and this PersistentVolume is not synced until the name is free");
        vc__sync_warn(s, "PersistentVolume", "", name, hname, vc_error_last()->message);
        return rc;
    }
    json_t *copy = json_deep_copy(v), *desired = NULL;
    if (!copy)
        return vc__error_oom();
    int rc = vc__translate_to_host(&desired, NULL, s->tr, copy, NULL, 0, NULL);
    if (rc < 0)
        return rc == VC_ESTATE ? VC_ITEROVER : rc;
    if (!h) {
        json_t *obj = json_deep_copy(desired);
        json_decref(desired);
        if (!obj)
            return vc__error_oom();
        strip_server_meta(obj);
        json_object_del(obj, "status");
        rc = write_obj(s, VC__SIDE_HOST, it, "PersistentVolume", name, hname, VC_SYNC_CREATED_HOST, "POST", "v1",
                       "persistentvolumes", NULL, NULL, obj);
        json_decref(obj);
        return rc;
    }
    /* virtual wins on the spec, but the host's claimRef is the host's */
    json_t *upd = json_deep_copy(h);
    json_t *dspec = json_deep_copy(json_object_get(desired, "spec"));
    if (!upd || !dspec) {
        json_decref(upd);
        json_decref(dspec);
        json_decref(desired);
        return vc__error_oom();
    }
    json_t *hcr = json_object_get(json_object_get(h, "spec"), "claimRef");
    if (hcr)
        json_object_set(dspec, "claimRef", hcr);
    json_object_set_new(upd, "spec", dspec);
    json_t *umd = json_object_get(upd, "metadata"), *dmd = json_object_get(desired, "metadata");
    static const char *const mdk[] = { "labels", "annotations" };
    for (size_t i = 0; i < 2; i++) {
        json_t *dv = json_object_get(dmd, mdk[i]);
        if (dv)
            json_object_set(umd, mdk[i], dv);
        else
            json_object_del(umd, mdk[i]);
    }
    json_decref(desired);
    if (!json_equal(upd, h)) {
        rc = write_obj(s, VC__SIDE_HOST, it, "PersistentVolume", name, hname, VC_SYNC_UPDATED_HOST, "PUT", "v1",
                       "persistentvolumes", hname, NULL, upd);
        json_decref(upd);
        return rc;
    }
    json_decref(upd);
    /* back: the host's status; the virtual claim the host claim stands for */
    json_t *claim = NULL;
    host_pv_ours(s, h, &claim);
    const json_t *vcr = json_object_get(json_object_get(v, "spec"), "claimRef");
    if (claim && !vcr) {
        json_t *nv = json_deep_copy(v);
        rc = nv ? VC_OK : vc__error_oom();
        if (nv) {
            json_object_set_new(json_object_get(nv, "spec"), "claimRef", claim_ref(claim));
            rc = write_obj(s, VC__SIDE_VIRT, it, "PersistentVolume", name, hname, VC_SYNC_UPDATED_VIRTUAL, "PUT", "v1",
                           "persistentvolumes", name, NULL, nv);
        }
        json_decref(nv);
        json_decref(claim);
        return rc;
    }
    json_decref(claim);
    json_t *hs = json_object_get(h, "status");
    return hs ? pv_status(s, it, v, hs) : VC_OK;
}

static int reconcile_synced(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *name)
{
    json_t *v = load(c->virt, name);
    char hname[VC__NAME_MAX];
    const char *hpv = ann_of(v, VC__A_HOST_PV);
    if (hpv)
        snprintf(hname, sizeof hname, "%s", hpv);
    else
        vc__host_name(s->tr, c->tk, "", name, hname);
    json_t *h = load(c->host, hname);
    int rc;
    if (v && !hpv) {
        rc = reconcile_owned(s, c, it, name, hname, v, h);
    } else if (v) {
        rc = reconcile_mirror(s, c, it, name, v, h);
    } else if (h && managed_by_us(s, h)) {
        /* its virtual PV is gone (GC) */
        rc = delete_obj(s, VC__SIDE_HOST, it, "PersistentVolume", name, hname, "v1", "persistentvolumes", h);
    } else {
        /* a host PV under the virtual name itself: one to copy in? */
        json_decref(h);
        h = load(c->host, name);
        rc = h && !managed_by_us(s, h) ? reconcile_mirror(s, c, it, name, NULL, h) : VC_OK;
    }
    json_decref(v);
    json_decref(h);
    return rc;
}

static int pv_reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey)
{
    return pvs_synced(s) ? reconcile_synced(s, c, it, vkey) : reconcile_fake(s, c, it, vkey);
}

static void pv_on_virtual(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    vc__ctl *c = ud;
    vc__sync_enqueue(inf->s, c, key, 0);
    /* the claim waits for its volume (vc__pvc_volume_back) */
    const json_t *o = nobj ? nobj : old;
    json_t *cr = vc__jobj(vc__jobj(o, "spec"), "claimRef");
    vc__ctl *pvcs = vc__sync_ctl_of(inf->s, VC__CTL_PVCS);
    if (cr && pvcs && vc__jstr(cr, "namespace") && vc__jstr(cr, "name")) {
        char *k = vc__sprintf("%s/%s", vc__jstr(cr, "namespace"), vc__jstr(cr, "name"));
        if (k)
            vc__sync_enqueue(inf->s, pvcs, k, 0);
        vc__free(k);
    }
}

static void pv_on_host(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    vc__ctl *c = ud;
    vc_syncer *s = inf->s;
    const json_t *o = nobj ? nobj : old;
    char *vns = NULL, *vname = NULL;
    if (managed_by_us(s, o) && vc__translate_virtual_name(&vns, &vname, s->tr, o) == VC_OK)
        vc__sync_enqueue(s, c, vname, 0);
    else if (vc__streq(vc__jstr(vc__jobj(vc__jobj(o, "spec"), "claimRef"), "namespace"), s->host_ns) ||
             vc__informer_has(c->virt, key))
        /* bound to a claim of ours, or copied in already: the mirror */
        vc__sync_enqueue(s, c, key, 0);
    vc_error_clear();
    vc__free(vns);
    vc__free(vname);
}

int vc__ctl_pvs_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)arg;
    c->tk = vc__kind_get(VC__K_PV);
    c->kind = c->tk->kind;
    c->name = c->tk->plural;
    c->reconcile = pv_reconcile;
    int rc = vc__informer_new(&c->virt, s, s->virt, "virtual persistentvolumes", "v1", "persistentvolumes", NULL, NULL,
                              NULL, pv_on_virtual, c);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(c->virt, c->kind);
    if (rc == VC_OK && pvs_synced(s)) {
        /* every host PV: the ones dynamic provisioning makes for our claims
         * carry none of our labels */
        rc = vc__informer_new(&c->host, s, s->host, "host persistentvolumes", "v1", "persistentvolumes", NULL, NULL,
                              NULL, pv_on_host, c);
        if (rc == VC_OK)
            rc = vc__informer_set_kind(c->host, c->kind);
    }
    return rc;
}

int vc__pvc_volume_back(vc_syncer *s, vc__qitem *it, const char *vns, const char *vname, const json_t *v,
                        const json_t *nv, bool *wrote)
{
    *wrote = false;
    const char *want = vc__jpath_str(nv, "spec", "volumeName");
    const char *have = vc__jpath_str(v, "spec", "volumeName");
    if (!want || !*want || vc__streq(want, have))
        return VC_OK;
    if (have && *have) {
        /* upstream re-creates the claim; this syncer says so and keeps it */
        vc__error(VC_ECONFLICT, VC_ERRCLASS_SYNC,
                  "the claim names volume %s but its host claim is bound to %s; delete and re-create the claim", have,
                  want);
        vc__sync_warn(s, "PersistentVolumeClaim", vns, vname, "", vc_error_last()->message);
        vc_error_clear();
        return VC_OK;
    }
    vc__ctl *pvs = vc__sync_ctl_of(s, VC__CTL_PVS);
    if (pvs && !vc__informer_has(pvs->virt, want)) {
        /* the volume first */
        vc__sync_enqueue(s, pvs, want, 0);
        return VC_ITEROVER;
    }
    json_t *upd = json_deep_copy(v);
    if (!upd)
        return vc__error_oom();
    json_object_set_new(json_object_get(upd, "spec"), "volumeName", json_string(want));
    json_t *nann = json_object_get(json_object_get(nv, "metadata"), "annotations");
    if (nann)
        json_object_set(json_object_get(upd, "metadata"), "annotations", nann);
    json_object_del(upd, "status");
    char *path = vc__obj_path("v1", "persistentvolumeclaims", vns, vname, NULL);
    int rc = path ? vc__sync_write_json(s, VC__SIDE_VIRT, it, "PersistentVolumeClaim", vns, vname, "",
                                        VC_SYNC_UPDATED_VIRTUAL, "PUT", path, NULL, upd, NULL, NULL)
                  : vc__error_oom();
    vc__free(path);
    json_decref(upd);
    if (rc == VC_OK)
        *wrote = true;
    return rc;
}

/* ---- StorageClasses ---- */

static const char *const sc_fields[] = { "provisioner", "parameters", "reclaimPolicy", "mountOptions",
                                         "allowVolumeExpansion", "volumeBindingMode", "allowedTopologies" };
/* what the API server refuses to change */
static const char *const sc_immutable[] = { "provisioner", "parameters", "reclaimPolicy", "volumeBindingMode" };

typedef enum { SC_OFF = 0, SC_TO_HOST, SC_FROM_HOST } sc_mode;

static sc_mode sc_mode_of(vc_syncer *s)
{
    if (s->tr->sync & VC_TRANSLATE_SYNC_STORAGE_CLASSES)
        return SC_TO_HOST;
    return s->from_host_storage_classes ? SC_FROM_HOST : SC_OFF;
}

/* Copy the class fields of `from` onto `to` (absent ones removed). */
static void sc_copy_fields(json_t *to, const json_t *from)
{
    for (size_t i = 0; i < VC__ARRAY_LEN(sc_fields); i++) {
        json_t *f = json_object_get(from, sc_fields[i]);
        if (f)
            json_object_set(to, sc_fields[i], f);
        else
            json_object_del(to, sc_fields[i]);
    }
}

static void copy_meta_maps(json_t *to, const json_t *from)
{
    json_t *tmd = json_object_get(to, "metadata"), *fmd = json_object_get(from, "metadata");
    static const char *const mdk[] = { "labels", "annotations" };
    for (size_t i = 0; i < 2; i++) {
        json_t *fv = json_object_get(fmd, mdk[i]);
        if (fv)
            json_object_set(tmd, mdk[i], fv);
        else
            json_object_del(tmd, mdk[i]);
    }
}

static int sc_to_host(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *name)
{
    char hname[VC__NAME_MAX];
    vc__host_name(s->tr, c->tk, "", name, hname);
    json_t *v = load(c->virt, name), *h = load(c->host, hname);
    int rc = VC_OK;
    if (!v || vc__deleting(v)) {
        if (h && ann_of(h, VC__A_OBJ_NAME))
            rc = delete_obj(s, VC__SIDE_HOST, it, "StorageClass", name, hname, c->tk->api_version, c->tk->plural, h);
        goto out;
    }
    if (h && vc__host_owned_by_other(h, "", name)) {
        rc = vc__name_taken(s, it, "StorageClass", "", name, hname);
        goto out;
    }
    json_t *copy = json_deep_copy(v), *desired = NULL;
    if (!copy) {
        rc = vc__error_oom();
        goto out;
    }
    if ((rc = vc__translate_to_host(&desired, NULL, s->tr, copy, NULL, 0, NULL)) < 0)
        goto out;
    json_t *obj = json_deep_copy(h ? h : desired);
    if (!obj) {
        json_decref(desired);
        rc = vc__error_oom();
        goto out;
    }
    if (h) {
        sc_copy_fields(obj, desired);
        copy_meta_maps(obj, desired);
    } else {
        strip_server_meta(obj);
    }
    json_decref(desired);
    if (!h)
        rc = write_obj(s, VC__SIDE_HOST, it, "StorageClass", name, hname, VC_SYNC_CREATED_HOST, "POST",
                       c->tk->api_version, c->tk->plural, NULL, NULL, obj);
    else if (!json_equal(obj, h))
        /* a change the host refuses (an immutable field) comes back as a
         * Warning event on the virtual class */
        rc = write_obj(s, VC__SIDE_HOST, it, "StorageClass", name, hname, VC_SYNC_UPDATED_HOST, "PUT",
                       c->tk->api_version, c->tk->plural, hname, NULL, obj);
    json_decref(obj);
out:
    json_decref(v);
    json_decref(h);
    return rc;
}

static int sc_from_host(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *name)
{
    json_t *v = load(c->virt, name), *h = load(c->host, name);
    int rc = VC_OK;
    if (!h || vc__deleting(h)) {
        if (v)
            rc = delete_obj(s, VC__SIDE_VIRT, it, "StorageClass", name, name, c->tk->api_version, c->tk->plural, v);
        goto out;
    }
    if (v && vc__deleting(v))
        goto out; /* created again when gone */
    json_t *obj = v ? json_deep_copy(v) : json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", c->tk->api_version, "kind",
                                                    "StorageClass", "metadata", "name", name);
    if (!obj) {
        rc = vc__error_oom();
        goto out;
    }
    sc_copy_fields(obj, h);
    copy_meta_maps(obj, h);
    if (!v) {
        rc = write_obj(s, VC__SIDE_VIRT, it, "StorageClass", name, name, VC_SYNC_CREATED_VIRTUAL, "POST",
                       c->tk->api_version, c->tk->plural, NULL, NULL, obj);
    } else if (!json_equal(obj, v)) {
        bool immutable = false;
        for (size_t i = 0; i < VC__ARRAY_LEN(sc_immutable); i++)
            if (!json_equal(json_object_get(obj, sc_immutable[i]), json_object_get(v, sc_immutable[i])))
                immutable = true;
        rc = immutable ? delete_obj(s, VC__SIDE_VIRT, it, "StorageClass", name, name, c->tk->api_version,
                                    c->tk->plural, v)
                       : write_obj(s, VC__SIDE_VIRT, it, "StorageClass", name, name, VC_SYNC_UPDATED_VIRTUAL, "PUT",
                                   c->tk->api_version, c->tk->plural, name, NULL, obj);
    }
    json_decref(obj);
out:
    json_decref(v);
    json_decref(h);
    return rc;
}

static int sc_reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey)
{
    switch (sc_mode_of(s)) {
    case SC_TO_HOST: return sc_to_host(s, c, it, vkey);
    case SC_FROM_HOST: return sc_from_host(s, c, it, vkey);
    default: return VC_OK;
    }
}

static void sc_on_virtual(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)old;
    (void)nobj;
    vc__sync_enqueue(inf->s, ud, key, 0);
}

static void sc_on_host(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    vc__ctl *c = ud;
    vc_syncer *s = inf->s;
    if (sc_mode_of(s) == SC_FROM_HOST) {
        vc__sync_enqueue(s, c, key, 0);
        return;
    }
    char *vns = NULL, *vname = NULL;
    if (vc__translate_virtual_name(&vns, &vname, s->tr, nobj ? nobj : old) == VC_OK)
        vc__sync_enqueue(s, c, vname, 0);
    vc_error_clear();
    vc__free(vns);
    vc__free(vname);
}

int vc__ctl_storageclasses_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)arg;
    c->tk = vc__kind_get(VC__K_STORAGECLASS);
    c->kind = c->tk->kind;
    c->name = c->tk->plural;
    c->reconcile = sc_reconcile;
    sc_mode mode = sc_mode_of(s);
    if (mode == SC_OFF)
        return VC_OK; /* neither direction: no informer, nothing to do */
    char *sel = mode == SC_TO_HOST ? vc__sprintf("%s=%s", VC__L_MARKER, s->tr->marker_cluster) : NULL;
    if (mode == SC_TO_HOST && !sel)
        return vc__error_oom();
    int rc = vc__informer_new(&c->virt, s, s->virt, "virtual storageclasses", c->tk->api_version, c->tk->plural, NULL,
                              NULL, NULL, sc_on_virtual, c);
    if (rc == VC_OK)
        rc = vc__informer_new(&c->host, s, s->host, "host storageclasses", c->tk->api_version, c->tk->plural, NULL,
                              sel ? sel : s->from_host_sc_selector, NULL, sc_on_host, c);
    vc__free(sel);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(c->virt, c->kind);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(c->host, c->kind);
    return rc;
}

int vc__pvc_class_check(vc_syncer *s, const char *vns, const char *vname, const json_t *v)
{
    vc__ctl *sc = vc__sync_ctl_of(s, VC__CTL_STORAGECLASSES);
    const char *cls = vc__jpath_str(v, "spec", "storageClassName");
    if (sc_mode_of(s) != SC_FROM_HOST || !s->from_host_sc_selector || !sc || !sc->host || !cls || !*cls)
        return VC_OK;
    if (!sc->host->synced)
        return VC_ITEROVER;
    if (vc__informer_has(sc->host, cls))
        return VC_OK;
    vc__error(VC_EFORBIDDEN, VC_ERRCLASS_SYNC,
              "did not sync persistent volume claim %s to host because the storage class %s does not exist in the host "
              "or does not match the selector under 'sync.fromHost.storageClasses.selector'",
              vname, cls);
    vc__sync_warn(s, "PersistentVolumeClaim", vns, vname, "", vc_error_last()->message);
    return VC_EFORBIDDEN;
}

/* Custom resources named by sync.toHost.customResources and
 * sync.fromHost.customResources (upstream's generic CRD sync).
 *
 * For each enabled entry "<resource>.<group>[/<version>]":
 *  1. the host's CustomResourceDefinition is read and applied into the
 *     virtual cluster (server-side apply; a conversion webhook, which would
 *     point at a host Service, becomes "None"), then the controller waits
 *     until the virtual API server reports it Established;
 *  2. two informers start: the virtual objects and the host objects;
 *  3. toHost: each namespaced virtual object is created / updated / deleted
 *     on the host under its translated name in the host namespace (metadata
 *     as for the generic kinds, every other top-level field copied, virtual
 *     wins), and the host status comes back through the virtual object's
 *     status subresource when the CRD has one;
 *     fromHost: each host object (cluster-scoped, or in a mapped host
 *     namespace) becomes a read-only virtual copy, created / updated /
 *     deleted with it; a tenant object of the same name is left alone;
 *  4. once both informers have listed, every key of both sides is
 *     reconciled once, which removes the copies of objects deleted while the
 *     syncer was down.
 * One controller slot serves every entry: queue keys are "<entry>|<key>". */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "sync/sync.h"

#define CRD_API "apiextensions.k8s.io/v1"
#define CRD_PATH "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
#define FM "?fieldManager=vcluster-syncer&force=true"

enum { P_FETCH = 0, P_BUSY, P_APPLY, P_WAIT, P_RUN };

typedef struct cr {
    int idx;
    struct crs *st;
    vc_syncer *s;
    bool from_host, cluster;
    vc__cfg_cr id;
    char *key, *crd_name;
    const json_t *by_name;             /* fromHost Namespaced: host "ns/x" -> virtual "ns/x" (borrowed) */
    char *kind, *plural, *version, *api_version, *gvk;
    bool has_status;
    int phase;
    int64_t next_ms;
    int failures;
    json_t *vcrd;                      /* the CRD to apply into the virtual cluster */
    vc__informer *virt, *host;
    bool gc_done;
    vc__map ns_made;                   /* fromHost: virtual namespaces created */
} cr;

typedef struct crs {
    cr *v;
    size_t n;
} crs;

static void cr_dispose(cr *e)
{
    vc__informer_free(e->virt);
    vc__informer_free(e->host);
    vc__free(e->key);
    vc__free(e->crd_name);
    vc__free(e->kind);
    vc__free(e->plural);
    vc__free(e->version);
    vc__free(e->api_version);
    vc__free(e->gvk);
    json_decref(e->vcrd);
    vc__map_clear(&e->ns_made, NULL);
}

static void crs_free(void *p)
{
    crs *st = p;
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        cr_dispose(&st->v[i]);
    vc__free(st->v);
    vc__free(st);
}

static void crs_stop(vc_syncer *s, vc__ctl *c)
{
    (void)s;
    crs *st = c->state;
    for (size_t i = 0; st && i < st->n; i++) {
        if (st->v[i].virt)
            vc__informer_stop(st->v[i].virt);
        if (st->v[i].host)
            vc__informer_stop(st->v[i].host);
    }
}

static void later(cr *e, int64_t ms)
{
    e->failures++;
    int64_t d = ms << (e->failures < 5 ? e->failures - 1 : 4);
    e->next_ms = vc__now_ms() + (d > 30000 ? 30000 : d);
}

/* ---- keys ---- */

static void enqueue(cr *e, const char *key)
{
    vc__ctl *c = vc__sync_ctl_of(e->s, VC__CTL_CRDS);
    char *k = vc__sprintf("%d|%s", e->idx, key);
    if (c && k)
        vc__sync_enqueue(e->s, c, k, 0);
    vc__free(k);
}

/* fromHost Namespaced: the virtual key of host key "hns/name", or NULL */
static char *virtual_of_host(const cr *e, const char *hkey)
{
    if (e->cluster)
        return vc__strdup(hkey);
    const char *slash = strchr(hkey, '/');
    if (!slash)
        return NULL;
    const char *to = json_string_value(json_object_get(e->by_name, hkey));
    if (to)
        return vc__strdup(to);
    char *wild = vc__sprintf("%.*s/*", (int)(slash - hkey), hkey);
    to = wild ? json_string_value(json_object_get(e->by_name, wild)) : NULL;
    vc__free(wild);
    if (!to)
        return NULL;
    return vc__sprintf("%.*s/%s", (int)(strchr(to, '/') - to), to, slash + 1);
}

/* fromHost Namespaced: the host key of virtual key "vns/name", or NULL */
static char *host_of_virtual(const cr *e, const char *vkey)
{
    if (e->cluster)
        return vc__strdup(vkey);
    const char *slash = strchr(vkey, '/');
    if (!slash)
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)e->by_name, k, v) {
        const char *to = json_string_value(v);
        if (vc__streq(to, vkey))
            return vc__strdup(k);
    }
    json_object_foreach((json_t *)e->by_name, k, v) {
        const char *to = json_string_value(v);
        size_t nl = (size_t)(slash - vkey);
        if (to && !strcmp(to + strlen(to) - 2, "/*") && strlen(to) - 2 == nl && !strncmp(to, vkey, nl))
            return vc__sprintf("%.*s/%s", (int)(strchr(k, '/') - k), k, slash + 1);
    }
    return NULL;
}

static void on_virtual(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)inf;
    (void)old;
    (void)nobj;
    enqueue(ud, key);
}

static void on_host(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)inf;
    cr *e = ud;
    if (e->from_host) {
        char *vkey = virtual_of_host(e, key);
        if (vkey)
            enqueue(e, vkey);
        vc__free(vkey);
        return;
    }
    const json_t *o = nobj ? nobj : old;
    const json_t *ann = json_object_get(json_object_get(o, "metadata"), "annotations");
    const char *vns = json_string_value(json_object_get(ann, VC__A_OBJ_NAMESPACE));
    const char *vname = json_string_value(json_object_get(ann, VC__A_OBJ_NAME));
    if (vns && vname) {
        char *vkey = vc__sprintf("%s/%s", vns, vname);
        if (vkey)
            enqueue(e, vkey);
        vc__free(vkey);
    }
}

/* ---- 1. the CRD ---- */

static int pick_version(cr *e, const json_t *crd)
{
    size_t i;
    json_t *ver;
    const json_t *chosen = NULL;
    json_array_foreach(json_object_get(json_object_get(crd, "spec"), "versions"), i, ver) {
        const char *name = vc__jstr(ver, "name");
        if (!name || !json_is_true(json_object_get(ver, "served")))
            continue;
        if (*e->id.version ? !strcmp(name, e->id.version) : json_is_true(json_object_get(ver, "storage")))
            chosen = ver;
    }
    if (!chosen)
        return vc__error(VC_ENOTFOUND, VC_ERRCLASS_SYNC, "CustomResourceDefinition %s: %s%s is not a served version",
                         e->crd_name, *e->id.version ? "version " : "no storage version",
                         *e->id.version ? e->id.version : "");
    e->version = vc__strdup(vc__jstr(chosen, "name"));
    e->has_status = json_object_get(json_object_get(chosen, "subresources"), "status") != NULL;
    return e->version ? VC_OK : vc__error_oom();
}

static int crd_read(cr *e, const json_t *crd)
{
    const json_t *spec = json_object_get(crd, "spec");
    const char *scope = vc__jstr(spec, "scope");
    const char *kind = vc__jpath_str(spec, "names", "kind");
    const char *plural = vc__jpath_str(spec, "names", "plural");
    if (!kind || !plural || !scope)
        return vc__error(VC_EAPI, VC_ERRCLASS_SYNC, "CustomResourceDefinition %s: no names or scope", e->crd_name);
    bool cluster = !strcmp(scope, "Cluster");
    if (!e->from_host && cluster)
        return vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_SYNC,
                         "sync.toHost.customResources.%s: the CustomResourceDefinition is cluster-scoped; only "
                         "namespaced resources sync to the host",
                         e->key);
    if (e->from_host && cluster != e->cluster)
        return vc__error(VC_EINVAL, VC_ERRCLASS_SYNC,
                         "sync.fromHost.customResources.%s: scope is %s in the config but %s in the "
                         "CustomResourceDefinition",
                         e->key, e->cluster ? "Cluster" : "Namespaced", scope);
    /* a retry after a failure half-way starts clean */
    vc__free(e->version);
    vc__free(e->kind);
    vc__free(e->plural);
    vc__free(e->api_version);
    vc__free(e->gvk);
    e->version = e->kind = e->plural = e->api_version = e->gvk = NULL;
    int rc = pick_version(e, crd);
    if (rc < 0)
        return rc;
    e->kind = vc__strdup(kind);
    e->plural = vc__strdup(plural);
    e->api_version = vc__sprintf("%s/%s", e->id.group, e->version);
    e->gvk = vc__sprintf("%s/%s, Kind=%s", e->id.group, e->version, kind);
    /* the copy: the definition only; a webhook conversion names a host
     * Service the virtual API server cannot reach */
    json_t *vspec = json_deep_copy(spec);
    json_t *conv = json_object_get(vspec, "conversion");
    if (conv && !vc__streq(vc__jstr(conv, "strategy"), "None"))
        json_object_set_new(vspec, "conversion", json_pack("{s:s}", "strategy", "None"));
    json_decref(e->vcrd);
    e->vcrd = vspec ? json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:o}", "apiVersion", CRD_API, "kind",
                                "CustomResourceDefinition", "metadata", "name", e->crd_name, "labels",
                                "vcluster.loft.sh/copied-from-host", "true", "spec", vspec)
                    : NULL;
    if (!e->kind || !e->plural || !e->api_version || !e->gvk || !e->vcrd)
        return vc__error_oom();
    return VC_OK;
}

static void report(cr *e, int rc)
{
    VC__LOGW("sync", "custom resource %s: %s", e->key, vc_error_last()->message);
    vc__sync_event(e->s, VC_SYNC_ERROR, "CustomResourceDefinition", "", e->crd_name, e->crd_name, rc);
}

static void fetched(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)s;
    cr *e = ud;
    if (rc == VC_OK) {
        json_t *crd = json_loadb(body, len, 0, NULL);
        rc = crd ? crd_read(e, crd) : vc__error(VC_EAPI, VC_ERRCLASS_SYNC, "CustomResourceDefinition: not JSON");
        json_decref(crd);
    } else if (rc == VC_ENOTFOUND) {
        vc__error(VC_ENOTFOUND, VC_ERRCLASS_SYNC,
                  "the host has no CustomResourceDefinition %s: install it on the host (retrying)", e->crd_name);
    }
    if (rc < 0) {
        report(e, rc);
        e->phase = P_FETCH;
        later(e, 2000);
        return;
    }
    e->failures = 0;
    e->phase = P_APPLY;
}

static void applied(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)s;
    (void)body;
    (void)len;
    cr *e = ud;
    if (rc < 0) {
        report(e, rc);
        e->phase = P_APPLY;
        later(e, 1000);
        return;
    }
    e->failures = 0;
    e->phase = P_WAIT;
}

static int start_informers(cr *e)
{
    vc_syncer *s = e->s;
    char what[300], hwhat[300];
    snprintf(what, sizeof what, "virtual %s", e->crd_name);
    snprintf(hwhat, sizeof hwhat, "host %s", e->crd_name);
    char *sel = e->from_host ? NULL : vc__sprintf("%s=%s", VC__L_MARKER, s->name);
    if (!e->from_host && !sel)
        return vc__error_oom();
    int rc = vc__informer_new(&e->virt, s, s->virt, what, e->api_version, e->plural, NULL, NULL, NULL, on_virtual, e);
    if (rc == VC_OK)
        rc = vc__informer_new(&e->host, s, s->host, hwhat, e->api_version, e->plural,
                              e->from_host ? NULL : s->host_ns, sel, NULL, on_host, e);
    vc__free(sel);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(e->virt, e->kind);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(e->host, e->kind);
    return rc;
}

static void established(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)s;
    cr *e = ud;
    bool ok = false;
    if (rc == VC_OK) {
        json_t *crd = json_loadb(body, len, 0, NULL);
        size_t i;
        json_t *cond;
        json_array_foreach(json_object_get(json_object_get(crd, "status"), "conditions"), i, cond) {
            if (vc__streq(vc__jstr(cond, "type"), "Established") && vc__streq(vc__jstr(cond, "status"), "True"))
                ok = true;
        }
        json_decref(crd);
    }
    if (!ok) {
        e->phase = P_WAIT;
        e->next_ms = vc__now_ms() + 200;
        return;
    }
    if ((rc = start_informers(e)) < 0) {
        report(e, rc);
        vc__informer_free(e->virt);
        vc__informer_free(e->host);
        e->virt = e->host = NULL;
        e->phase = P_WAIT;
        later(e, 1000);
        return;
    }
    VC__LOGI("sync", "custom resource %s: CustomResourceDefinition in the virtual cluster, syncing %s %s",
             e->key, e->from_host ? "from the host" : "to the host", e->api_version);
    vc__sync_event(e->s, VC_SYNC_CREATED_VIRTUAL, "CustomResourceDefinition", "", e->crd_name, e->crd_name, VC_OK);
    e->phase = P_RUN;
}

static int bootstrap(cr *e, int64_t now)
{
    if (e->phase == P_BUSY || e->phase == P_RUN || now < e->next_ms)
        return 0;
    vc_syncer *s = e->s;
    char *path = vc__sprintf(CRD_PATH "%s%s", e->crd_name, e->phase == P_APPLY ? FM : "");
    char *body = e->phase == P_APPLY ? json_dumps(e->vcrd, JSON_COMPACT) : NULL;
    int rc = VC_ENOMEM;
    if (path && (e->phase != P_APPLY || body)) {
        switch (e->phase) {
        case P_FETCH:
            rc = vc__sync_write(s, VC__SIDE_HOST, NULL, "CustomResourceDefinition", "", e->crd_name, e->crd_name, -1,
                                "GET", path, NULL, NULL, fetched, e);
            break;
        case P_APPLY:
            rc = vc__sync_write(s, VC__SIDE_VIRT, NULL, "CustomResourceDefinition", "", e->crd_name, "", -1,
                                "PATCH", path, "application/apply-patch+yaml", body, applied, e);
            break;
        default:
            rc = vc__sync_write(s, VC__SIDE_VIRT, NULL, "CustomResourceDefinition", "", e->crd_name, "", -1, "GET",
                                path, NULL, NULL, established, e);
            break;
        }
    }
    vc__free(path);
    vc__free(body);
    if (rc < 0) {
        later(e, 1000);
        return 0;
    }
    e->phase = P_BUSY;
    return 1;
}

/* ---- 2-4. the objects ---- */

static int tick(vc_syncer *s, vc__ctl *c, bool synced, int64_t now)
{
    (void)s;
    (void)synced;
    crs *st = c->state;
    int work = 0;
    for (size_t i = 0; i < st->n; i++) {
        cr *e = &st->v[i];
        if (e->phase != P_RUN) {
            work += bootstrap(e, now);
            continue;
        }
        work += vc__informer_tick(e->virt, now);
        work += vc__informer_tick(e->host, now);
        if (!e->gc_done && e->virt->synced && e->host->synced) {
            /* startup: both sides once, so copies of what went while the
             * syncer was down go too */
            e->gc_done = true;
            size_t it = 0;
            const char *key, *text;
            while (vc__informer_next(e->virt, &it, &key, &text))
                enqueue(e, key);
            it = 0;
            while (vc__informer_next(e->host, &it, &key, &text)) {
                json_t *h = e->from_host ? NULL : json_loads(text, 0, NULL);
                if (e->from_host)
                    on_host(e, e->host, key, NULL, NULL);
                else
                    on_host(e, e->host, key, NULL, h);
                json_decref(h);
            }
            work++;
        }
    }
    return work;
}

static int64_t timeout(vc_syncer *s, vc__ctl *c, int64_t now)
{
    (void)s;
    crs *st = c->state;
    int64_t best = -1;
    for (size_t i = 0; i < st->n; i++) {
        cr *e = &st->v[i];
        int64_t t = -1;
        if (e->phase == P_RUN) {
            int64_t a = vc__informer_timeout(e->virt, now), b = vc__informer_timeout(e->host, now);
            t = a < 0 ? b : (b < 0 || a < b ? a : b);
            if (!e->gc_done && e->virt->synced && e->host->synced)
                t = 0;
        } else if (e->phase != P_BUSY) {
            t = e->next_ms > now ? e->next_ms - now : 0;
        }
        if (t >= 0 && (best < 0 || t < best))
            best = t;
    }
    return best;
}

/* a top-level field that follows the source (everything but the object's
 * identity, and status unless with_status) */
static bool synced_field(const char *k, bool with_status)
{
    return strcmp(k, "apiVersion") != 0 && strcmp(k, "kind") != 0 && strcmp(k, "metadata") != 0 &&
           (with_status || strcmp(k, "status") != 0);
}

/* upd gets desired's labels, annotations and top-level fields (not
 * apiVersion/kind/metadata, nor status unless with_status); NULL when upd
 * already matches */
static json_t *merged(const json_t *desired, const json_t *cur, bool with_status)
{
    json_t *upd = json_deep_copy(cur);
    if (!upd)
        return NULL;
    json_t *umd = json_object_get(upd, "metadata"), *dmd = json_object_get(desired, "metadata");
    static const char *const mdk[] = { "labels", "annotations" };
    for (size_t i = 0; i < 2; i++) {
        json_t *dv = json_object_get(dmd, mdk[i]);
        if (dv)
            json_object_set(umd, mdk[i], dv);
        else
            json_object_del(umd, mdk[i]);
    }
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(upd, tmp, k, v) {
        if (synced_field(k, with_status) && !json_object_get(desired, k))
            json_object_del(upd, k);
    }
    json_object_foreach((json_t *)desired, k, v) {
        if (synced_field(k, with_status))
            json_object_set(upd, k, v);
    }
    return upd;
}

static int write_obj(cr *e, vc__side side, vc__qitem *it, const char *vns, const char *vname, const char *hname,
                     const char *method, const char *ns, const char *name, const char *sub, const json_t *obj,
                     int ev)
{
    char *path = vc__obj_path(e->api_version, e->plural, ns, name, sub);
    int rc = path ? vc__sync_write_json(e->s, side, it, e->kind, vns, vname, hname, ev, method, path, NULL, obj, NULL,
                                        NULL)
                  : vc__error_oom();
    vc__free(path);
    return rc;
}

static int delete_obj(cr *e, vc__side side, vc__qitem *it, const char *vns, const char *vname, const char *hname,
                      const char *ns, const char *name, const json_t *o, int ev)
{
    if (vc__deleting(o))
        return VC_OK;
    char *path = vc__obj_path(e->api_version, e->plural, ns, name, NULL);
    char *body = vc__delete_body(vc__uid_of(o) ? vc__uid_of(o) : "", -1);
    int rc = path && body ? vc__sync_write(e->s, side, it, e->kind, vns, vname, hname, ev, "DELETE", path, NULL, body,
                                           NULL, NULL)
                          : vc__error_oom();
    vc__free(path);
    vc__free(body);
    return rc;
}

static int to_host(cr *e, vc__qitem *it, const char *vns, const char *vname, const json_t *v)
{
    vc_syncer *s = e->s;
    char hname[VC__NAME_MAX];
    vc__host_name_ns(s->tr, vname, vns, hname);
    char hkey[VC__NAME_MAX + 256];
    snprintf(hkey, sizeof hkey, "%s/%s", s->host_ns, hname);
    json_t *h = NULL;
    int rc = vc__informer_load(e->host, hkey, &h);
    if (rc < 0)
        return rc;
    bool want = v && !vc__deleting(v);
    json_t *desired = NULL;
    if (want) {
        json_t *copy = json_deep_copy(v);
        vc__custom_kind ck = { e->kind, e->id.group, e->version, e->api_version, e->plural, e->gvk };
        rc = copy ? vc__translate_custom_to_host(&desired, s->tr, copy, &ck) : vc__error_oom();
        if (rc < 0) {
            json_decref(h);
            return rc;
        }
    }
    int64_t wait;
    if (h && vc__host_owned_by_other(h, vns, vname)) {
        rc = want ? vc__name_taken(s, it, e->kind, vns, vname, hname) : VC_OK;
    } else if (!want) {
        const json_t *hann = json_object_get(json_object_get(h, "metadata"), "annotations");
        rc = h && json_string_value(json_object_get(hann, VC__A_OBJ_NAME))
                 ? (!vc__host_token(s, &wait) ? VC_ITEROVER
                                              : delete_obj(e, VC__SIDE_HOST, it, vns, vname, hname, s->host_ns, hname,
                                                           h, VC_SYNC_DELETED_HOST))
                 : VC_OK;
    } else if (!h) {
        rc = !vc__host_token(s, &wait) ? VC_ITEROVER
                                       : write_obj(e, VC__SIDE_HOST, it, vns, vname, hname, "POST", s->host_ns, NULL,
                                                   NULL, desired, VC_SYNC_CREATED_HOST);
    } else {
        const json_t *hann = json_object_get(json_object_get(h, "metadata"), "annotations");
        const char *owner = json_string_value(json_object_get(hann, VC__A_OBJ_UID));
        if (owner && vc__uid_of(v) && strcmp(owner, vc__uid_of(v)) != 0) {
            /* another incarnation of the name: replaced once gone */
            rc = !vc__host_token(s, &wait) ? VC_ITEROVER
                                           : delete_obj(e, VC__SIDE_HOST, it, vns, vname, hname, s->host_ns, hname, h,
                                                        VC_SYNC_DELETED_HOST);
        } else {
            json_t *upd = merged(desired, h, false);
            if (!upd)
                rc = vc__error_oom();
            else if (!json_equal(upd, h))
                rc = !vc__host_token(s, &wait) ? VC_ITEROVER
                                               : write_obj(e, VC__SIDE_HOST, it, vns, vname, hname, "PUT", s->host_ns,
                                                           hname, NULL, upd, VC_SYNC_UPDATED_HOST);
            json_decref(upd);
            /* status back */
            json_t *hst = json_object_get(h, "status");
            if (rc == VC_OK && e->has_status && hst && !json_equal(hst, json_object_get(v, "status"))) {
                json_t *nv = json_deep_copy(v);
                if (!nv || json_object_set(nv, "status", hst) < 0)
                    rc = vc__error_oom();
                else
                    rc = write_obj(e, VC__SIDE_VIRT, it, vns, vname, hname, "PUT", vns, vname, "status", nv,
                                   VC_SYNC_UPDATED_VIRTUAL);
                json_decref(nv);
            }
        }
    }
    json_decref(desired);
    json_decref(h);
    return rc;
}

static void ns_made(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)s;
    (void)rc;
    (void)body;
    (void)len;
    (void)ud;
}

static int from_host(cr *e, vc__qitem *it, const char *vkey, const char *vns, const char *vname, const json_t *v)
{
    vc_syncer *s = e->s;
    char *hkey = host_of_virtual(e, vkey);
    json_t *h = NULL;
    int rc = hkey ? vc__informer_load(e->host, hkey, &h) : VC_OK;
    const char *hname = hkey ? (strchr(hkey, '/') ? strchr(hkey, '/') + 1 : hkey) : vname;
    if (rc < 0) {
        vc__free(hkey);
        return rc;
    }
    if (!h) {
        /* the host original is gone (or never was): only our copy goes */
        rc = v && vc__custom_is_host_copy(v)
                 ? delete_obj(e, VC__SIDE_VIRT, it, vns, vname, hname, vns, vname, v, VC_SYNC_DELETED_VIRTUAL)
                 : VC_OK;
        vc__free(hkey);
        return rc;
    }
    json_t *desired = NULL;
    rc = vc__translate_custom_from_host(&desired, h, vns, vname);
    if (rc == VC_OK && !v) {
        if (*vns && !vc__map_get(&e->ns_made, vns)) {
            /* the mapped namespace may not exist inside yet */
            char *body = vc__sprintf("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
                                     vns);
            if (body && vc__sync_write(s, VC__SIDE_VIRT, NULL, "Namespace", "", vns, "", 0, "POST", "/api/v1/namespaces",
                                       NULL, body, ns_made, NULL) == VC_OK)
                vc__map_put(&e->ns_made, vns, (void *)1, NULL);
            vc__free(body);
        }
        json_t *create = json_deep_copy(desired);
        if (create && e->has_status)
            json_object_del(create, "status");
        rc = create ? write_obj(e, VC__SIDE_VIRT, it, vns, vname, hname, "POST", *vns ? vns : NULL, NULL, NULL,
                                create, VC_SYNC_CREATED_VIRTUAL)
                    : vc__error_oom();
        json_decref(create);
    } else if (rc == VC_OK && !vc__custom_is_host_copy(v)) {
        /* the tenant's own object holds the name: left alone */
        char msg[600];
        snprintf(msg, sizeof msg,
                 "%s %s is not copied from the host: a virtual object of this name exists that the syncer did not "
                 "make",
                 e->kind, hkey);
        vc__sync_warn(s, e->kind, vns, vname, "", msg);
        rc = VC_OK;
    } else if (rc == VC_OK) {
        json_t *upd = merged(desired, v, !e->has_status);
        if (!upd)
            rc = vc__error_oom();
        else if (!json_equal(upd, v))
            rc = write_obj(e, VC__SIDE_VIRT, it, vns, vname, hname, "PUT", *vns ? vns : NULL, vname, NULL, upd,
                           VC_SYNC_UPDATED_VIRTUAL);
        json_decref(upd);
        json_t *hst = json_object_get(h, "status");
        if (rc == VC_OK && e->has_status && hst && !json_equal(hst, json_object_get(v, "status"))) {
            json_t *nv = json_deep_copy(v);
            if (!nv || json_object_set(nv, "status", hst) < 0)
                rc = vc__error_oom();
            else
                rc = write_obj(e, VC__SIDE_VIRT, it, vns, vname, hname, "PUT", *vns ? vns : NULL, vname, "status", nv,
                               VC_SYNC_UPDATED_VIRTUAL);
            json_decref(nv);
        }
    }
    json_decref(desired);
    json_decref(h);
    vc__free(hkey);
    return rc;
}

static int reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *key)
{
    (void)s;
    crs *st = c->state;
    char *end = NULL;
    long idx = strtol(key, &end, 10);
    if (!end || *end != '|' || idx < 0 || (size_t)idx >= st->n)
        return VC_OK;
    cr *e = &st->v[idx];
    const char *vkey = end + 1;
    /* both sides listed first: a key seen on one side only before the other
     * has listed would look like a deletion */
    if (e->phase != P_RUN || !e->virt->synced || !e->host->synced)
        return VC_ITEROVER;
    char buf[512];
    const char *vns = "", *vname = vkey;
    if (strchr(vkey, '/'))
        vc__split_key(vkey, buf, sizeof buf, &vns, &vname);
    json_t *v = NULL;
    int rc = vc__informer_load(e->virt, vkey, &v);
    if (rc == VC_OK)
        rc = e->from_host ? from_host(e, it, vkey, vns, vname, v) : to_host(e, it, vns, vname, v);
    json_decref(v);
    return rc;
}

/* ---- construction ---- */

static int add_entries(crs *st, vc_syncer *s, const json_t *map, bool from)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)map, k, v) {
        if (!json_is_true(json_object_get(v, "enabled")))
            continue;
        cr *e = &st->v[st->n];
        memset(e, 0, sizeof *e);
        e->idx = (int)st->n;
        e->st = st;
        e->s = s;
        e->from_host = from;
        vc__map_init(&e->ns_made);
        st->n++;
        if (vc__cfg_cr_key(k, &e->id) < 0) /* checked at load time */
            return vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG, "customResources: bad key \"%s\"", k);
        e->cluster = from && vc__streq(vc__jstr(v, "scope"), "Cluster");
        e->by_name = json_object_get(json_object_get(v, "mappings"), "byName");
        e->key = vc__strdup(k);
        e->crd_name = vc__sprintf("%s.%s", e->id.resource, e->id.group);
        if (!e->key || !e->crd_name)
            return vc__error_oom();
    }
    return VC_OK;
}

int vc__ctl_crds_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)arg;
    c->name = "customresources";
    c->kind = "CustomResource";
    c->reconcile = reconcile;
    c->tick = tick;
    c->timeout = timeout;
    c->stop = crs_stop;
    crs *st = vc__calloc(1, sizeof *st);
    if (!st)
        return vc__error_oom();
    c->state = st;
    c->free_state = crs_free;
    size_t n = json_object_size(s->cr_to_host) + json_object_size(s->cr_from_host);
    if (n == 0)
        return VC_OK;
    st->v = vc__calloc(n, sizeof *st->v);
    if (!st->v)
        return vc__error_oom();
    int rc = add_entries(st, s, s->cr_to_host, false);
    if (rc == VC_OK)
        rc = add_entries(st, s, s->cr_from_host, true);
    return rc;
}

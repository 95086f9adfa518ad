/* experimental.deploy: once the informers have listed, the objects of
 * experimental.deploy.vcluster.manifests (and manifestsTemplate) are applied
 * into the virtual cluster and those of experimental.deploy.host.* into the
 * host namespace, with server-side apply, as upstream's deploy controller
 * does at start. Each object's resource comes from the API's discovery
 * (GET /api/v1 or /apis/GROUP/VERSION, async); a failure is a VC_SYNC_ERROR
 * event with the server's message and is retried with backoff (5 s doubling
 * to 5 minutes), so an object whose CRD is installed later lands then. The
 * templates were checked when the config was loaded (src/config/deploy.c)
 * and are rendered here with the release's name and namespace. */
#include <string.h>

#include "config/config.h"
#include "sync/sync.h"

#define FIELD_MANAGER "vcluster-deploy"
#define RETRY_FIRST_MS 5000
#define RETRY_MAX_MS 300000

typedef struct dep_obj {
    json_t *obj;
    vc__side side;
    char *path;       /* the apply path, once discovery told the resource */
    bool inflight, done;
    int failures;
    int64_t next_ms;
} dep_obj;

typedef struct dep_state {
    dep_obj *v;
    size_t n;
} dep_state;

static void state_free(void *p)
{
    dep_state *d = p;
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        json_decref(d->v[i].obj);
        vc__free(d->v[i].path);
    }
    vc__free(d->v);
    vc__free(d);
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *meta(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), k));
}

static void failed(vc_syncer *s, dep_obj *o, int rc)
{
    o->failures++;
    int shift = o->failures < 8 ? o->failures - 1 : 7;
    int64_t d = (int64_t)RETRY_FIRST_MS << shift;
    o->next_ms = vc__now_ms() + (d > RETRY_MAX_MS ? RETRY_MAX_MS : d);
    vc__error_prefix("experimental.deploy: apply %s %s", str(o->obj, "kind"), meta(o->obj, "name"));
    vc__sync_event(s, VC_SYNC_ERROR, str(o->obj, "kind"), meta(o->obj, "namespace") ? meta(o->obj, "namespace") : "",
                   meta(o->obj, "name"), "", rc);
    VC__LOGW("sync", "%s (retrying)", vc_error_last()->message);
}

/* A write's user data is the object's index (nothing to free when the
 * syncer goes with the write in flight). */
static dep_obj *obj_of(vc_syncer *s, void *ud, size_t *out_i)
{
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_DEPLOY);
    dep_state *d = c ? c->state : NULL;
    size_t i = (size_t)(uintptr_t)ud;
    if (out_i)
        *out_i = i;
    return d && i < d->n ? &d->v[i] : NULL;
}

static void applied(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    dep_obj *o = obj_of(s, ud, NULL);
    if (!o)
        return;
    o->inflight = false;
    if (rc < 0) {
        failed(s, o, rc);
        return;
    }
    o->done = true;
    const char *ns = meta(o->obj, "namespace");
    vc__sync_event(s, o->side == VC__SIDE_VIRT ? VC_SYNC_CREATED_VIRTUAL : VC_SYNC_CREATED_HOST, str(o->obj, "kind"),
                   ns ? ns : "", meta(o->obj, "name"), "", VC_OK);
}

static void apply(vc_syncer *s, dep_obj *o, size_t i)
{
    char *body = json_dumps(o->obj, JSON_COMPACT);
    if (!body) {
        failed(s, o, vc__error_oom());
        return;
    }
    o->inflight = true;
    int rc = vc__sync_write(s, o->side, NULL, str(o->obj, "kind"), "", meta(o->obj, "name"), "", -1, "PATCH", o->path,
                            "application/apply-patch+yaml", body, applied, (void *)(uintptr_t)i);
    vc__free(body);
    if (rc < 0) { /* not sent: the callback will not run */
        o->inflight = false;
        failed(s, o, rc);
    }
}

/* The discovery document of the object's apiVersion arrived: its resource
 * (and whether it is namespaced) gives the apply path. */
static void discovered(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    size_t i;
    dep_obj *o = obj_of(s, ud, &i);
    if (!o)
        return;
    o->inflight = false;
    if (rc < 0) {
        failed(s, o, rc);
        return;
    }
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *kind = str(o->obj, "kind");
    const char *res = NULL;
    bool namespaced = false;
    size_t k;
    json_t *e;
    json_array_foreach(json_object_get(doc, "resources"), k, e) {
        const char *name = str(e, "name");
        if (name && !strchr(name, '/') && vc__streq(str(e, "kind"), kind)) {
            res = name;
            namespaced = json_is_true(json_object_get(e, "namespaced"));
            break;
        }
    }
    if (!res) {
        json_decref(doc);
        failed(s, o,
               vc__error(VC_ENOTFOUND, VC_ERRCLASS_SYNC, "the API server serves no kind %s in %s", kind,
                         str(o->obj, "apiVersion")));
        return;
    }
    json_t *md = json_object_get(o->obj, "metadata");
    if (namespaced && !meta(o->obj, "namespace"))
        json_object_set_new(md, "namespace", json_string(o->side == VC__SIDE_VIRT ? "default" : s->host_ns));
    if (!namespaced)
        json_object_del(md, "namespace");
    char *p = vc__obj_path(str(o->obj, "apiVersion"), res, namespaced ? meta(o->obj, "namespace") : NULL,
                           meta(o->obj, "name"), NULL);
    o->path = p ? vc__sprintf("%s?fieldManager=" FIELD_MANAGER "&force=true", p) : NULL;
    vc__free(p);
    json_decref(doc);
    if (!o->path) {
        failed(s, o, vc__error_oom());
        return;
    }
    apply(s, o, i);
}

static void discover(vc_syncer *s, dep_obj *o, size_t i)
{
    const char *apiv = str(o->obj, "apiVersion");
    char *path = strchr(apiv, '/') ? vc__sprintf("/apis/%s", apiv) : vc__sprintf("/api/%s", apiv);
    if (!path) {
        failed(s, o, vc__error_oom());
        return;
    }
    o->inflight = true;
    int rc = vc__sync_write(s, o->side, NULL, str(o->obj, "kind"), "", meta(o->obj, "name"), "", -1, "GET", path, NULL,
                            NULL, discovered, (void *)(uintptr_t)i);
    vc__free(path);
    if (rc < 0) {
        o->inflight = false;
        failed(s, o, rc);
    }
}

static int tick(vc_syncer *s, vc__ctl *c, bool synced, int64_t now)
{
    dep_state *d = c->state;
    if (!synced || !d || s->stopping)
        return 0;
    int n = 0;
    for (size_t i = 0; i < d->n; i++) {
        dep_obj *o = &d->v[i];
        if (o->done || o->inflight || now < o->next_ms || s->in_flight >= VC__SYNC_MAX_IN_FLIGHT / 2)
            continue;
        if (o->path)
            apply(s, o, i);
        else
            discover(s, o, i);
        n++;
    }
    return n;
}

static int64_t timeout(vc_syncer *s, vc__ctl *c, int64_t now)
{
    dep_state *d = c->state;
    if (!s->ready_reported || !d)
        return -1;
    int64_t best = -1;
    for (size_t i = 0; i < d->n; i++) {
        const dep_obj *o = &d->v[i];
        if (o->done || o->inflight)
            continue;
        int64_t t = o->next_ms > now ? o->next_ms - now : 0;
        if (best < 0 || t < best)
            best = t;
    }
    return best;
}

/* Render (templates) and parse one key's manifests into the state. */
static int add_text(vc_syncer *s, dep_state *d, const vc_config *cfg, const char *key, const char *text, bool tpl,
                    vc__side side)
{
    if (vc__str_empty(text))
        return VC_OK;
    char err[512] = "";
    vc_buf b = VC_BUF_INIT;
    int rc = VC_OK;
    if (tpl) {
        rc = vc__deploy_render(&b, text, s->name, s->host_ns, vc__config_effective(cfg), err, sizeof err);
        text = b.ptr ? b.ptr : "";
    }
    json_t *objs = NULL;
    if (rc == VC_OK)
        rc = vc__deploy_parse(&objs, text, err, sizeof err);
    vc_buf_dispose(&b);
    if (rc == VC_ENOMEM)
        return vc__error_oom();
    if (rc < 0)
        return vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG, "%s: %s", key, err);
    size_t n = json_array_size(objs);
    dep_obj *v = n ? vc__realloc(d->v, (d->n + n) * sizeof(*v)) : d->v;
    if (n && !v) {
        json_decref(objs);
        return vc__error_oom();
    }
    d->v = v;
    for (size_t i = 0; i < n; i++) {
        dep_obj *o = &d->v[d->n++];
        memset(o, 0, sizeof(*o));
        o->obj = json_incref(json_array_get(objs, i));
        o->side = side;
    }
    json_decref(objs);
    return VC_OK;
}

int vc__ctl_deploy_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)arg;
    c->name = "deploy";
    c->kind = "Object";
    c->tick = tick;
    c->timeout = timeout;
    const vc__cfg_values *cv = s->cfg ? vc__config_values(s->cfg) : NULL;
    if (!cv)
        return VC_OK;
    dep_state *d = vc__calloc(1, sizeof(*d));
    if (!d)
        return vc__error_oom();
    c->state = d;
    c->free_state = state_free;
    int rc = add_text(s, d, s->cfg, "experimental.deploy.vcluster.manifests", cv->experimental.deploy.manifests, false,
                      VC__SIDE_VIRT);
    if (rc == VC_OK)
        rc = add_text(s, d, s->cfg, "experimental.deploy.vcluster.manifestsTemplate",
                      cv->experimental.deploy.manifests_template, true, VC__SIDE_VIRT);
    if (rc == VC_OK)
        rc = add_text(s, d, s->cfg, "experimental.deploy.host.manifests", cv->experimental.deploy.host_manifests, false,
                      VC__SIDE_HOST);
    if (rc == VC_OK)
        rc = add_text(s, d, s->cfg, "experimental.deploy.host.manifestsTemplate",
                      cv->experimental.deploy.host_manifests_template, true, VC__SIDE_HOST);
    return rc;
}

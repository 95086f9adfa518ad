/* The virtual `default/kubernetes` Service carries the ClusterIP and the
 * ports of the host Service in front of the virtual API server, as
 * upstream's kubernetes-service syncer does: `kubernetes.default.svc`
 * resolved by a virtual pod then leads to the virtual API server through
 * the host, not to whatever the virtual cluster's own first service IP is
 * on the host (the host's own API server, when the ranges match). Checked
 * every CHECK_MS once the informers have listed: GET both Services; a
 * different IP re-creates the virtual one (after a dry run of the host's IP
 * under another name proves the virtual API server takes it), different
 * ports update it. The host ports lose their node ports and the kubelet
 * port (upstream's TranslateServicePorts). */
#include <string.h>

#include "sync/sync.h"

#define CHECK_MS 10000
#define REFUSED_RETRY_MS 300000
#define VPATH "/api/v1/namespaces/default/services/kubernetes"

typedef struct ks_state {
    bool pending;
    int64_t next_ms;
    json_t *want;    /* spec fields from the host: clusterIP(s), families, ports */
    json_t *fresh;   /* the Service to create, while re-creating */
    char *uid;       /* of the virtual Service being replaced */
} ks_state;

static void state_free(void *p)
{
    ks_state *k = p;
    if (!k)
        return;
    json_decref(k->want);
    json_decref(k->fresh);
    vc__free(k->uid);
    vc__free(k);
}

static ks_state *state_of(vc_syncer *s)
{
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_KUBE_SERVICE);
    return c ? c->state : NULL;
}

static void finish(ks_state *k, int64_t delay_ms)
{
    k->pending = false;
    k->next_ms = vc__now_ms() + delay_ms;
    json_decref(k->fresh);
    k->fresh = NULL;
}

/* The host ports as the virtual Service gets them. */
static json_t *ports_of(const json_t *hports)
{
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(hports, i, p) {
        if (vc__streq(vc__jstr(p, "name"), "kubelet"))
            continue;
        json_t *q = json_pack("{s:O?,s:O?,s:O?,s:O,s:O?}", "name", json_object_get(p, "name"), "protocol",
                              json_object_get(p, "protocol"), "appProtocol", json_object_get(p, "appProtocol"), "port",
                              json_object_get(p, "port"), "targetPort", json_object_get(p, "targetPort"));
        if (q)
            json_array_append_new(out, q);
    }
    return out;
}

/* The virtual ports, reduced to the fields ports_of() sets. */
static bool same_ports(const json_t *want, const json_t *vports)
{
    if (json_array_size(want) != json_array_size(vports))
        return false;
    size_t i;
    json_t *w;
    json_array_foreach(want, i, w) {
        const json_t *v = json_array_get(vports, i);
        const char *keys[] = { "name", "protocol", "appProtocol", "port", "targetPort" };
        for (size_t k = 0; k < VC__ARRAY_LEN(keys); k++) {
            const json_t *a = json_object_get(w, keys[k]), *b = json_object_get(v, keys[k]);
            if (a && (!b || !json_equal(a, b)))
                return false;
        }
    }
    return true;
}

static void created(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)ud;
    (void)body;
    (void)len;
    ks_state *k = state_of(s);
    if (!k)
        return;
    if (rc == VC_OK)
        VC__LOGI("sync", "virtual default/kubernetes now has the host's ClusterIP %s",
                 vc__jstr(json_object_get(k->want, "spec"), "clusterIP"));
    /* 409: the virtual API server put its own back first; check again soon */
    finish(k, rc == VC_OK ? CHECK_MS : 1000);
}

static void deleted(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)ud;
    (void)body;
    (void)len;
    ks_state *k = state_of(s);
    if (!k)
        return;
    if ((rc < 0 && rc != VC_ENOTFOUND) || !k->fresh) {
        finish(k, CHECK_MS);
        return;
    }
    if (vc__sync_write_json(s, VC__SIDE_VIRT, NULL, "Service", "default", "kubernetes", s->service_name,
                            VC_SYNC_CREATED_VIRTUAL, "POST", "/api/v1/namespaces/default/services", NULL, k->fresh,
                            created, NULL) < 0)
        finish(k, CHECK_MS);
}

static void dry_run_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)ud;
    (void)body;
    (void)len;
    ks_state *k = state_of(s);
    if (!k)
        return;
    if (rc < 0) {
        VC__LOGW("sync", "virtual default/kubernetes keeps its own ClusterIP: the virtual API server refuses the "
                         "host's (%s)", vc_error_last()->message);
        finish(k, REFUSED_RETRY_MS);
        return;
    }
    char *db = vc__delete_body(k->uid, -1);
    if (!db || vc__sync_write(s, VC__SIDE_VIRT, NULL, "Service", "default", "kubernetes", s->service_name, 0, "DELETE",
                              VPATH, NULL, db, deleted, NULL) < 0)
        finish(k, CHECK_MS);
    vc__free(db);
}

static void virt_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)ud;
    ks_state *k = state_of(s);
    if (!k)
        return;
    if (rc < 0) { /* not there (yet): the virtual API server makes it */
        finish(k, CHECK_MS);
        return;
    }
    json_t *v = json_loadb(body, len, 0, NULL);
    json_t *vspec = json_object_get(v, "spec");
    const json_t *want = json_object_get(k->want, "spec");
    const char *wip = vc__jstr(want, "clusterIP");
    if (!v || !wip) {
        json_decref(v);
        finish(k, CHECK_MS);
        return;
    }
    if (!vc__streq(vc__jstr(vspec, "clusterIP"), wip)) {
        /* re-create: the same object with the host's spec fields */
        json_t *fresh = json_deep_copy(v);
        json_t *md = json_object_get(fresh, "metadata");
        static const char *const drop[] = { "uid", "resourceVersion", "creationTimestamp", "managedFields" };
        for (size_t i = 0; i < VC__ARRAY_LEN(drop); i++)
            json_object_del(md, drop[i]);
        json_object_del(fresh, "status");
        json_object_update(json_object_get(fresh, "spec"), (json_t *)want);
        json_decref(k->fresh);
        k->fresh = fresh;
        /* the dry run under another name: the IP is what it asks about */
        json_t *dry = json_deep_copy(fresh);
        json_object_set_new(json_object_get(dry, "metadata"), "name", json_string("kubernetes-vcluster-ip-check"));
        vc__free(k->uid);
        k->uid = vc__strdup(vc__jpath_str(v, "metadata", "uid"));
        if (!fresh || !dry || !k->uid ||
            vc__sync_write_json(s, VC__SIDE_VIRT, NULL, "Service", "default", "kubernetes", s->service_name, -1, "POST",
                                "/api/v1/namespaces/default/services?dryRun=All", NULL, dry, dry_run_done, NULL) < 0)
            finish(k, CHECK_MS);
        json_decref(dry);
    } else if (!same_ports(json_object_get(want, "ports"), json_object_get(vspec, "ports"))) {
        json_object_set(vspec, "ports", json_object_get(want, "ports"));
        if (vc__sync_write_json(s, VC__SIDE_VIRT, NULL, "Service", "default", "kubernetes", s->service_name,
                                VC_SYNC_UPDATED_VIRTUAL, "PUT", VPATH, NULL, v, NULL, NULL) < 0)
            vc_error_clear();
        finish(k, CHECK_MS);
    } else {
        finish(k, CHECK_MS);
    }
    json_decref(v);
}

static void host_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)ud;
    ks_state *k = state_of(s);
    if (!k)
        return;
    json_t *h = rc == VC_OK ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *hspec = json_object_get(h, "spec");
    const char *ip = vc__jstr(hspec, "clusterIP");
    if (!ip || !*ip || !strcmp(ip, "None")) {
        json_decref(h);
        finish(k, CHECK_MS);
        return;
    }
    json_t *spec = json_pack("{s:s,s:O?,s:O?,s:O?,s:o}", "clusterIP", ip, "clusterIPs",
                             json_object_get(hspec, "clusterIPs"), "ipFamilies", json_object_get(hspec, "ipFamilies"),
                             "ipFamilyPolicy", json_object_get(hspec, "ipFamilyPolicy"), "ports",
                             ports_of(json_object_get(hspec, "ports")));
    json_decref(h);
    json_decref(k->want);
    k->want = spec ? json_pack("{s:o}", "spec", spec) : NULL;
    if (!k->want || vc__sync_write(s, VC__SIDE_VIRT, NULL, "Service", "default", "kubernetes", s->service_name, -1,
                                   "GET", VPATH, NULL, NULL, virt_done, NULL) < 0)
        finish(k, CHECK_MS);
}

static int tick(vc_syncer *s, vc__ctl *c, bool synced, int64_t now)
{
    ks_state *k = c->state;
    if (!synced || k->pending || now < k->next_ms || s->stopping)
        return 0;
    char *path = vc__obj_path("v1", "services", s->host_ns, s->service_name, NULL);
    k->pending = path && vc__sync_write(s, VC__SIDE_HOST, NULL, "Service", "default", "kubernetes", s->service_name,
                                        -1, "GET", path, NULL, NULL, host_done, NULL) == VC_OK;
    if (!k->pending)
        k->next_ms = now + CHECK_MS;
    vc__free(path);
    return 0;
}

static int64_t timeout(vc_syncer *s, vc__ctl *c, int64_t now)
{
    ks_state *k = c->state;
    if (!s->ready_reported || k->pending)
        return -1;
    return k->next_ms > now ? k->next_ms - now : 0;
}

int vc__ctl_kube_service_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)s;
    (void)arg;
    c->name = "kube-service";
    c->kind = "Service";
    c->tick = tick;
    c->timeout = timeout;
    ks_state *k = vc__calloc(1, sizeof(*k));
    if (!k)
        return vc__error_oom();
    c->state = k;
    c->free_state = state_free;
    return VC_OK;
}

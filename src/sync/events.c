/* Events from the host namespace about synced pods (scheduling, image pulls,
 * kwok's stages...) are copied into the virtual cluster, pointed at the
 * virtual pod. They wait in a bounded ring (4,096, as compact JSON without
 * their metadata, which the copy replaces). While
 * creates wait, at most EV_TRICKLE copies are on the wire, so a burst puts
 * workloads on the host first without losing its events; otherwise they go
 * while fewer than half the write slots are busy. When the ring is full the
 * oldest event is dropped (events are best effort, like the kubelet's
 * recorder). */
#include <string.h>

#include "sync/sync.h"

#define PENDING_MAX 4096

typedef struct ev_state {
    char *ring[PENDING_MAX];
    size_t head, len;
    uint64_t dropped;
    int in_flight;   /* copies on the wire */
} ev_state;

/* Copies on the wire at most while creates wait. */
#define EV_TRICKLE 16

static void copied(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)ud;
    (void)rc;
    (void)body;
    (void)len;
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_EVENTS);
    ev_state *e = c ? c->state : NULL;
    if (e && e->in_flight > 0)
        e->in_flight--;
}

#define FORCE_SYNC "vcluster.loft.sh/force-sync"

static bool forced(const json_t *ev)
{
    return vc__streq(json_string_value(json_object_get(
                         json_object_get(json_object_get(ev, "metadata"), "annotations"), FORCE_SYNC)),
                     "true");
}

/* A host event annotated vcluster.loft.sh/force-sync=true, about anything:
 * into the virtual `default` namespace under its own name, its involved
 * object reduced to that namespace, as upstream's event syncer does. */
static int copy_forced(vc_syncer *s, const json_t *ev)
{
    const char *name = vc__jpath_str(ev, "metadata", "name");
    json_t *vev = json_deep_copy(ev);
    if (!name || !vev) {
        json_decref(vev);
        return name ? vc__error_oom() : VC_OK;
    }
    json_object_set_new(vev, "metadata", json_pack("{s:s,s:s}", "name", name, "namespace", "default"));
    json_object_set_new(vev, "involvedObject", json_pack("{s:s}", "namespace", "default"));
    char *path = vc__obj_path("v1", "events", "default", NULL, NULL);
    int rc = path ? vc__sync_write_json(s, VC__SIDE_VIRT, NULL, "Event", "default", name, name,
                                        VC_SYNC_CREATED_VIRTUAL, "POST", path, NULL, vev, copied, NULL)
                  : vc__error_oom();
    if (rc == VC_OK) {
        vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_EVENTS);
        ev_state *e = c ? c->state : NULL;
        if (e)
            e->in_flight++;
    }
    vc__free(path);
    json_decref(vev);
    return rc;
}

/* Copy one host event about a synced pod into the virtual cluster. Events are
 * handled as they arrive and not cached (there are many, and they expire). */
static int copy_event(vc_syncer *s, const json_t *ev)
{
    if (forced(ev))
        return copy_forced(s, ev);
    vc__qitem *it = NULL;
    json_t *io = json_object_get(ev, "involvedObject");
    const char *pod = vc__jstr(io, "name");
    vc__ctl *pods = vc__sync_ctl_of(s, VC__CTL_PODS);
    if (!pod || !pods)
        return VC_OK;
    char pkey[512];
    snprintf(pkey, sizeof pkey, "%s/%s", s->host_ns, pod);
    json_t *hp = NULL, *vp = NULL;
    if (vc__informer_load(pods->host, pkey, &hp) < 0 || !hp)
        return VC_OK; /* not one of ours (or gone) */
    char *vns = NULL, *vname = NULL;
    int nrc = vc__translate_virtual_name(&vns, &vname, s->tr, hp);
    json_decref(hp);
    if (nrc < 0)
        return VC_OK;
    char vpkey[512];
    snprintf(vpkey, sizeof vpkey, "%s/%s", vns, vname);
    if (vc__informer_load(pods->virt, vpkey, &vp) < 0)
        vc_error_clear(); /* the copy goes without the uid */
    const char *hname = vc__jpath_str(ev, "metadata", "name");
    const char *dot = hname ? strrchr(hname, '.') : NULL;
    char *name = vc__sprintf("%s%s", vname, dot ? dot : ".event");
    json_t *vev = json_deep_copy(ev);
    int rc = VC_OK;
    if (!vev || !name) {
        rc = vc__error_oom();
        goto out;
    }
    json_t *md = json_pack("{s:s,s:s}", "name", name, "namespace", vns);
    json_object_set_new(vev, "metadata", md);
    json_t *nio = json_object_get(vev, "involvedObject");
    json_object_set_new(nio, "name", json_string(vname));
    json_object_set_new(nio, "namespace", json_string(vns));
    if (vp && vc__jpath_str(vp, "metadata", "uid"))
        json_object_set_new(nio, "uid", json_string(vc__jpath_str(vp, "metadata", "uid")));
    else
        json_object_del(nio, "uid");
    json_object_del(nio, "resourceVersion");
    /* the message in the tenant's names: "Successfully assigned
     * vcluster-x/web-x-demo-x-x to node1" reads "demo/web" inside */
    const char *hmsg = vc__jstr(vev, "message");
    if (hmsg) {
        char *hfull = vc__sprintf("%s/%s", s->host_ns, vc__jpath_str(ev, "involvedObject", "name"));
        char *vfull = vc__sprintf("%s/%s", vns, vname);
        char *m1 = hfull && vfull ? vc__str_replace(hmsg, hfull, vfull) : NULL;
        char *m2 = m1 ? vc__str_replace(m1, vc__jpath_str(ev, "involvedObject", "name"), vname) : NULL;
        if (m2)
            json_object_set_new(vev, "message", json_string(m2));
        vc__free(hfull);
        vc__free(vfull);
        vc__free(m1);
        vc__free(m2);
    }
    char *path = vc__obj_path("v1", "events", vns, NULL, NULL);
    char *body = json_dumps(vev, JSON_COMPACT);
    rc = path && body ? vc__sync_write(s, VC__SIDE_VIRT, it, "Event", vns, name, hname, VC_SYNC_CREATED_VIRTUAL, "POST",
                                       path, NULL, body, copied, NULL)
                      : vc__error_oom();
    if (rc == VC_OK) {
        vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_EVENTS);
        ev_state *e = c ? c->state : NULL;
        if (e)
            e->in_flight++;
    }
    vc__free(path);
    vc__free(body);
out:
    json_decref(vp);
    json_decref(vev);
    vc__free(name);
    vc__free(vns);
    vc__free(vname);
    return rc;
}

static void ev_state_free(void *p)
{
    ev_state *e = p;
    if (!e)
        return;
    for (size_t i = 0; i < e->len; i++)
        vc__free(e->ring[(e->head + i) % PENDING_MAX]);
    vc__free(e);
}

static void on_host(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)key;
    (void)old;
    vc__ctl *c = ud;
    ev_state *e = c->state;
    if (!nobj || inf->s->stopping)
        return;
    json_t *io = json_object_get(nobj, "involvedObject");
    bool force = forced(nobj);
    if (!force && !vc__streq(vc__jstr(io, "kind"), "Pod"))
        return;
    /* the copy gets its own metadata: keep only the name (its suffix is
     * reused) and the force-sync mark */
    json_t *ev = json_copy((json_t *)nobj);
    json_t *md = ev ? json_pack("{s:O?}", "name", json_object_get(json_object_get(nobj, "metadata"), "name")) : NULL;
    if (md && force)
        json_object_set_new(md, "annotations", json_pack("{s:s}", FORCE_SYNC, "true"));
    if (md)
        json_object_set_new(ev, "metadata", md);
    char *text = ev && md ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!text)
        return; /* best effort */
    if (e->len == PENDING_MAX) {
        vc__free(e->ring[e->head]);
        e->head = (e->head + 1) % PENDING_MAX;
        e->len--;
        if (e->dropped++ % 1000 == 0)
            VC__LOGW("sync", "host events: %llu dropped so far (more than %d waiting)",
                     (unsigned long long)e->dropped, PENDING_MAX);
    }
    e->ring[(e->head + e->len) % PENDING_MAX] = text;
    e->len++;
}

static bool may_copy(vc_syncer *s, const ev_state *e)
{
    if (!e || !e->len || s->stopping || s->in_flight >= VC__SYNC_MAX_IN_FLIGHT)
        return false;
    if (s->q.ready_high.len)
        return e->in_flight < EV_TRICKLE;
    return s->in_flight < VC__SYNC_MAX_IN_FLIGHT / 2;
}

/* After the queue: copies wait while creates are waiting. */
static int drain(vc_syncer *s, vc__ctl *c)
{
    ev_state *e = c->state;
    int n = 0;
    while (may_copy(s, e) && (n == 0 || !vc__step_over(s))) {
        char *text = e->ring[e->head];
        e->head = (e->head + 1) % PENDING_MAX;
        e->len--;
        json_t *ev = json_loads(text, 0, NULL);
        vc__free(text);
        if (ev && copy_event(s, ev) < 0)
            vc_error_clear(); /* best effort: an event is not worth a retry */
        json_decref(ev);
        n++;
    }
    return n;
}

static int64_t timeout(vc_syncer *s, vc__ctl *c, int64_t now)
{
    (void)now;
    return may_copy(s, c->state) ? 0 : -1;
}

static int reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *hkey)
{
    (void)s;
    (void)c;
    (void)it;
    (void)hkey;
    return VC_OK; /* nothing is queued for events */
}

int vc__ctl_events_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)arg;
    c->name = "events";
    c->kind = "Event";
    c->reconcile = reconcile;
    c->drain = drain;
    c->timeout = timeout;
    ev_state *e = vc__calloc(1, sizeof(*e));
    if (!e)
        return vc__error_oom();
    c->state = e;
    c->free_state = ev_state_free;
    int rc = vc__informer_new(&c->host, s, s->host, "host events", "v1", "events", s->host_ns, NULL, NULL, on_host, c);
    if (rc == VC_OK)
        c->host->no_cache = true;
    return rc == VC_OK ? vc__informer_set_kind(c->host, "Event") : rc;
}

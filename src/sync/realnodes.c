/* Real nodes (sync.fromHost.nodes.enabled): the host's Node objects copied
 * into the virtual cluster, instead of fake nodes (nodes.c picks one mode
 * at startup). Which nodes: every one with selector.all, those matching
 * selector.labels, else (no selector) those running a synced pod, as
 * upstream. A virtual node goes when its host node goes or stops being
 * selected; fake nodes of an earlier run go too. Labels, annotations,
 * taints and status follow the host (src/translate/node.c); with
 * syncBackChanges a label or taint changed inside goes to the host node.
 * Each synced node's Lease in the virtual kube-node-lease is renewed, so
 * the virtual node-lifecycle controller keeps it Ready. */
#include <string.h>
#include <time.h>

#include "sync/sync.h"

#define FAKE_LABEL "vcluster.loft.sh/fake-node"

typedef struct rn_state {
    vc__map back;     /* node -> json_t* host merge patch waiting (syncBackChanges) */
    vc__map pushing;  /* node -> 1 while that patch is on the wire */
    vc__map wrote;    /* node -> json_t* the virtual node we last wrote */
    /* with the virtual scheduler: the host's other pods (not this
     * vcluster's), and per node what they request (int64_t[4]: cpu, memory,
     * ephemeral-storage in milli units, pods) */
    vc__informer *pods;
    vc__map used;
} rn_state;

static void rn_free(void *p)
{
    rn_state *st = p;
    if (!st)
        return;
    vc__map_clear(&st->back, (void (*)(void *))json_decref);
    vc__map_clear(&st->pushing, NULL);
    vc__map_clear(&st->wrote, (void (*)(void *))json_decref);
    vc__informer_free(st->pods);
    vc__map_clear(&st->used, vc__free);
    vc__free(st);
}

static void node_opts(vc_syncer *s, rn_state *st, const char *name, vc__node_opts *o)
{
    memset(o, 0, sizeof *o);
    o->marker = s->name;
    o->clear_images = s->nodes_clear_images;
    o->proxy_by_hostname = s->proxy_by_hostname;
    o->proxy_by_ip = s->proxy_by_ip;
    o->kubelet_ip = s->kubelet_address;
    o->kubelet_port = s->kubelet_port;
    o->virtual_scheduler = s->virtual_scheduler;
    o->enforced_tolerations = s->tr ? s->tr->tolerations : NULL;
    o->used = st->pods ? vc__map_get(&st->used, name) : NULL;
}

static bool wanted(vc_syncer *s, const char *name, const json_t *h)
{
    if (!h)
        return false;
    if (s->nodes_all || json_object_size(s->node_labels))
        return vc__node_selected(h, s->nodes_all, s->node_labels);
    return vc__map_get(&s->node_use, name) != NULL; /* no selector: the nodes synced pods run on */
}

/* ours: the marker, or a fake node (an earlier run in the fake mode) */
static bool ours(vc_syncer *s, const json_t *v)
{
    const json_t *l = json_object_get(json_object_get(v, "metadata"), "labels");
    return vc__streq(json_string_value(json_object_get(l, VC__NODE_MARKER_LABEL)), s->name) ||
           vc__streq(json_string_value(json_object_get(l, FAKE_LABEL)), "true");
}

/* What the syncer last wrote of a node it keeps (labels and taints, what
 * syncBackChanges compares against); its keys are the synced nodes. */
static void remember(rn_state *st, const char *name, const json_t *d)
{
    json_t *old = NULL;
    json_t *c = json_pack("{s:{s:O?},s:{s:O?},s:{s:O?}}", "metadata", "labels",
                          json_object_get(json_object_get(d, "metadata"), "labels"), "spec", "taints",
                          json_object_get(json_object_get(d, "spec"), "taints"), "status", "allocatable",
                          json_object_get(json_object_get(d, "status"), "allocatable"));
    if (c && vc__map_put(&st->wrote, name, c, (void **)&old) < 0)
        json_decref(c);
    json_decref(old);
}

/* {"status": ...} of d as a PATCH of the node's status */
static int write_status(vc_syncer *s, vc__qitem *it, const char *name, const json_t *d)
{
    json_t *p = json_pack("{s:O}", "status", json_object_get(d, "status"));
    char *path = vc__obj_path("v1", "nodes", NULL, name, "status");
    int rc = p && path ? vc__sync_write_json(s, VC__SIDE_VIRT, it, "Node", "", name, name, VC_SYNC_UPDATED_VIRTUAL,
                                             "PATCH", path, "application/merge-patch+json", p, NULL, NULL)
                       : vc__error_oom();
    json_decref(p);
    vc__free(path);
    return rc;
}

static void created(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    json_t *d = ud;
    if (rc == VC_OK)
        write_status(s, NULL, vc__jpath_str(d, "metadata", "name"), d);
    json_decref(d);
}

/* merge-patch map: `want`, plus null for what `have` has beyond it */
static json_t *map_patch(const json_t *want, const json_t *have)
{
    json_t *p = json_deep_copy(json_is_object(want) ? want : NULL);
    if (!p)
        p = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)have, k, v) if (p && !json_object_get(want, k)) json_object_set_new(p, k, json_null());
    return p;
}

/* The status inside is what the host's says. With the virtual scheduler the
 * allocatable is computed here: it is compared with what was last sent (the
 * API server may write a quantity in another form). */
static bool status_current(const json_t *want, const json_t *have, bool computed_alloc, const json_t *wrote)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v) {
        if (computed_alloc && !strcmp(k, "allocatable") && json_object_get(have, k)) {
            if (!json_equal(v, json_object_get(json_object_get(wrote, "status"), "allocatable")))
                return false;
            continue;
        }
        json_t *h = json_object_get(have, k);
        /* the API server drops empty lists (images: [] when cleared) */
        if (!h && ((json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0)))
            continue;
        if (!json_equal(v, h))
            return false;
    }
    return true;
}

static json_t *meta_of(const json_t *n, const char *k)
{
    return json_object_get(json_object_get(n, "metadata"), k);
}

static json_t *spec_of(const json_t *n, const char *k)
{
    return json_object_get(json_object_get(n, "spec"), k);
}

static void pushed(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    char *name = ud;
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_NODES);
    if (c && c->state) {
        rn_state *st = c->state;
        vc__map_del(&st->pushing, name);
        /* (a refusal became a Warning event in the write's completion) */
        (void)rc;
        vc__sync_enqueue(s, c, name, 0);
    }
    vc__free(name);
}

static int sync_back(vc_syncer *s, rn_state *st, vc__qitem *it, const char *name, json_t *patch)
{
    int64_t wait;
    if (!vc__host_token(s, &wait))
        return VC_ITEROVER;
    char *path = vc__obj_path("v1", "nodes", NULL, name, NULL);
    char *ud = vc__strdup(name);
    int rc = path && ud && vc__map_put(&st->pushing, name, (void *)1, NULL) == VC_OK
                 ? vc__sync_write_json(s, VC__SIDE_HOST, it, "Node", "", name, name, VC_SYNC_UPDATED_HOST, "PATCH",
                                       path, "application/merge-patch+json", patch, pushed, ud)
                 : vc__error_oom();
    if (rc < 0) {
        vc__map_del(&st->pushing, name);
        vc__free(ud);
    }
    vc__free(path);
    return rc;
}

static int reconcile_objs(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *name, const json_t *h,
                          const json_t *v)
{
    rn_state *st = c->state;
    if (vc__map_get(&st->pushing, name))
        return VC_OK; /* its completion enqueues the node again */
    json_t *back = vc__map_del(&st->back, name);
    if (back) {
        int rc = h ? sync_back(s, st, it, name, back) : VC_OK;
        if (rc == VC_ITEROVER && vc__map_put(&st->back, name, back, NULL) == VC_OK)
            return rc;
        json_decref(back);
        return rc;
    }
    if (!wanted(s, name, h)) {
        json_decref(vc__map_del(&st->wrote, name));
        if (!v || !ours(s, v) || vc__deleting(v))
            return VC_OK;
        char *path = vc__obj_path("v1", "nodes", NULL, name, NULL);
        int rc = path ? vc__sync_write(s, VC__SIDE_VIRT, it, "Node", "", name, name, VC_SYNC_DELETED_VIRTUAL,
                                       "DELETE", path, NULL, NULL, NULL, NULL)
                      : vc__error_oom();
        vc__free(path);
        return rc;
    }
    if (v && !ours(s, v)) {
        /* a node made inside with the same name: not overwritten */
        return vc__sync_warn(s, "Node", "", name, name,
                             "a node of this name was created inside the virtual cluster; the host node is not "
                             "synced onto it");
    }
    if (st->pods && !st->pods->synced)
        return VC_ITEROVER; /* allocatable needs the host's other pods */
    vc__node_opts o;
    node_opts(s, st, name, &o);
    json_t *d = NULL;
    int rc = vc__node_to_virtual(&d, h, v, &o);
    if (rc < 0)
        return rc;
    /* a fake node of an earlier run becomes the real one */
    const json_t *hl = meta_of(h, "labels");
    if (!json_object_get(hl, FAKE_LABEL))
        json_object_del(meta_of(d, "labels"), FAKE_LABEL);
    if (!v) {
        json_t *body = json_deep_copy(d);
        json_object_del(body, "status");
        char *path = vc__obj_path("v1", "nodes", NULL, NULL, NULL);
        json_t *ud = json_incref(d);
        rc = body && path ? vc__sync_write_json(s, VC__SIDE_VIRT, it, "Node", "", name, name, VC_SYNC_CREATED_VIRTUAL,
                                                "POST", path, NULL, body, created, ud)
                          : vc__error_oom();
        if (rc < 0)
            json_decref(ud);
        else
            remember(st, name, d);
        json_decref(body);
        vc__free(path);
        json_decref(d);
        return rc;
    }
    /* metadata and spec: labels, annotations, taints, unschedulable */
    bool meta_same = json_equal(meta_of(d, "labels"), meta_of(v, "labels")) &&
                     json_equal(meta_of(d, "annotations"), meta_of(v, "annotations"));
    json_t *dt = spec_of(d, "taints"), *vt = spec_of(v, "taints");
    bool spec_same = (json_array_size(dt) == 0 && json_array_size(vt) == 0) || json_equal(dt, vt);
    json_t *du = spec_of(d, "unschedulable"), *vu = spec_of(v, "unschedulable");
    spec_same = spec_same && json_is_true(du) == json_is_true(vu);
    if (!meta_same || !spec_same) {
        json_t *p = json_pack("{s:{s:o,s:o},s:{s:O,s:O}}", "metadata", "labels",
                              map_patch(meta_of(d, "labels"), meta_of(v, "labels")), "annotations",
                              map_patch(meta_of(d, "annotations"), meta_of(v, "annotations")), "spec", "taints",
                              dt ? dt : json_null(), "unschedulable", du ? du : json_null());
        char *path = vc__obj_path("v1", "nodes", NULL, name, NULL);
        rc = p && path ? vc__sync_write_json(s, VC__SIDE_VIRT, it, "Node", "", name, name, VC_SYNC_UPDATED_VIRTUAL,
                                             "PATCH", path, "application/merge-patch+json", p, NULL, NULL)
                       : vc__error_oom();
        json_decref(p);
        vc__free(path);
    }
    if (rc == VC_OK && !status_current(json_object_get(d, "status"), json_object_get(v, "status"), st->pods != NULL,
                                       vc__map_get(&st->wrote, name)))
        rc = write_status(s, it, name, d);
    if (rc == VC_OK)
        remember(st, name, d);
    json_decref(d);
    return rc;
}

static int reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *name)
{
    json_t *v = NULL, *h = NULL;
    int rc = vc__informer_load(c->virt, name, &v);
    if (rc == VC_OK)
        rc = vc__informer_load(c->host, name, &h);
    if (rc == VC_OK)
        rc = reconcile_objs(s, c, it, name, h, v);
    json_decref(v);
    json_decref(h);
    return rc;
}

static void on_host(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)old;
    (void)nobj;
    vc__sync_enqueue(inf->s, ud, key, 0);
}

static void on_virtual(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    vc__ctl *c = ud;
    vc_syncer *s = inf->s;
    if (s->nodes_sync_back && old && nobj && ours(s, nobj)) {
        /* a change made inside: to the host node (the reconcile sends it) */
        rn_state *st = c->state;
        json_t *h = NULL, *patch = NULL;
        if (vc__informer_load(c->host, key, &h) == VC_OK && h &&
            vc__node_sync_back(&patch, h, vc__map_get(&st->wrote, key), old, nobj) == VC_OK && patch) {
            json_t *prev = vc__map_get(&st->back, key);
            if (prev) {
                json_object_update_recursive(prev, patch);
                json_decref(patch);
            } else if (vc__map_put(&st->back, key, patch, NULL) < 0) {
                json_decref(patch);
            }
        }
        json_decref(h);
    }
    vc__sync_enqueue(s, c, key, 0);
}

/* The Lease heartbeat of every synced node. */
static int tick(vc_syncer *s, vc__ctl *c, bool synced, int64_t now)
{
    rn_state *st = c->state;
    int work = st->pods && !s->stopping ? vc__informer_tick(st->pods, now) : 0;
    if (!synced || now < s->next_lease_ms)
        return work;
    s->next_lease_ms = now + VC__NODE_LEASE_PERIOD_MS;
    size_t it = 0;
    const char *node;
    int n = work;
    while (vc__map_next(&st->wrote, &it, &node, NULL)) {
        if (vc__informer_has(c->virt, node)) {
            vc__nodes_lease(s, node);
            n++;
        }
    }
    return n;
}

static int64_t timeout(vc_syncer *s, vc__ctl *c, int64_t now)
{
    rn_state *st = c->state;
    int64_t t = st->pods ? vc__informer_timeout(st->pods, now) : -1;
    if (!s->ready_reported)
        return t;
    int64_t l = s->next_lease_ms > now ? s->next_lease_ms - now : 0;
    return t < 0 || l < t ? l : t;
}

/* ---- the host's other pods (virtual scheduler) ---- */

/* what counts: placed, not finished; its requests in "r" (slimmed) */
static bool pod_counts(const json_t *p)
{
    const char *phase = vc__jpath_str(p, "status", "phase");
    const char *node = vc__jpath_str(p, "spec", "nodeName");
    return node && *node && !vc__streq(phase, "Succeeded") && !vc__streq(phase, "Failed");
}

static void slim_pod(void *ud, json_t *obj)
{
    (void)ud;
    int64_t r[3];
    vc__pod_requests(obj, r);
    json_t *node = json_incref(json_object_get(json_object_get(obj, "spec"), "nodeName"));
    json_t *phase = json_incref(json_object_get(json_object_get(obj, "status"), "phase"));
    json_t *meta = json_incref(json_object_get(obj, "metadata"));
    json_object_clear(obj);
    json_object_set_new(obj, "metadata", meta ? meta : json_object());
    json_object_set_new(obj, "spec", json_pack("{s:o?}", "nodeName", node));
    json_object_set_new(obj, "status", json_pack("{s:o?}", "phase", phase));
    json_object_set_new(obj, "r", json_pack("[I,I,I]", (json_int_t)r[0], (json_int_t)r[1], (json_int_t)r[2]));
    json_t *m = json_object_get(obj, "metadata");
    const char *keep[] = { "name", "namespace", "resourceVersion", "uid" };
    json_t *slim = json_object();
    for (size_t i = 0; slim && i < VC__ARRAY_LEN(keep); i++)
        if (json_object_get(m, keep[i]))
            json_object_set(slim, keep[i], json_object_get(m, keep[i]));
    if (slim)
        json_object_set_new(obj, "metadata", slim);
}

static void use_add(vc_syncer *s, vc__ctl *c, const json_t *p, int sign)
{
    rn_state *st = c->state;
    if (!p || !pod_counts(p))
        return;
    const char *node = vc__jpath_str(p, "spec", "nodeName");
    int64_t r[3];
    const json_t *rr = json_object_get(p, "r");
    if (json_is_array(rr)) {
        for (int i = 0; i < 3; i++)
            r[i] = (int64_t)json_integer_value(json_array_get(rr, (size_t)i));
    } else {
        vc__pod_requests(p, r);
    }
    int64_t *u = vc__map_get(&st->used, node);
    if (!u) {
        if (sign < 0 || !(u = vc__calloc(4, sizeof *u)))
            return;
        if (vc__map_put(&st->used, node, u, NULL) < 0) {
            vc__free(u);
            return;
        }
    }
    for (int i = 0; i < 3; i++)
        u[i] += sign * r[i];
    u[3] += sign;
    if (u[3] <= 0)
        vc__free(vc__map_del(&st->used, node));
    vc__sync_enqueue(s, c, node, 0);
}

static void on_pod(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)key;
    use_add(inf->s, ud, old, -1);
    use_add(inf->s, ud, nobj, +1);
}

int vc__ctl_real_nodes_init(vc_syncer *s, vc__ctl *c)
{
    c->name = "nodes";
    c->kind = "Node";
    c->reconcile = reconcile;
    c->tick = tick;
    c->timeout = timeout;
    rn_state *st = vc__calloc(1, sizeof *st);
    if (!st)
        return vc__error_oom();
    vc__map_init(&st->back);
    vc__map_init(&st->pushing);
    vc__map_init(&st->wrote);
    vc__map_init(&st->used);
    c->state = st;
    c->free_state = rn_free;
    /* every host node (a relabelled one must be seen to stop matching) and
     * every virtual one (ours, fake ones of an earlier run, and a tenant's
     * own, which is left alone) */
    int rc = vc__informer_new(&c->host, s, s->host, "host nodes", "v1", "nodes", NULL, NULL, NULL, on_host, c);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(c->host, "Node");
    if (rc == VC_OK)
        rc = vc__informer_new(&c->virt, s, s->virt, "virtual nodes", "v1", "nodes", NULL, NULL, NULL, on_virtual, c);
    if (rc == VC_OK) {
        c->virt->want_old = true; /* syncBackChanges: what changed inside */
        rc = vc__informer_set_kind(c->virt, "Node");
    }
    if (rc == VC_OK && s->virtual_scheduler) {
        /* upstream: a node's allocatable inside is what the host's other
         * pods leave of it (the ClusterRole of real nodes lists pods) */
        char *sel = vc__sprintf("%s!=%s", VC__NODE_MARKER_LABEL, s->name);
        rc = sel ? vc__informer_new(&st->pods, s, s->host, "host pods of others", "v1", "pods", NULL, sel, slim_pod,
                                    on_pod, c)
                 : vc__error_oom();
        vc__free(sel);
        if (rc == VC_OK) {
            st->pods->want_old = true; /* what a pod counted before */
            rc = vc__informer_set_kind(st->pods, "Pod");
        }
    }
    return rc;
}

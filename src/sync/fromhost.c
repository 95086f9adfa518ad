/* Host objects copied read-only into the virtual cluster (upstream's
 * ingressclasses, priorityclasses fromHost, runtimeclasses, csidrivers,
 * csinodes and csistoragecapacities syncers): each kind is a row of the
 * table below, turned on by its sync.fromHost.<kind>.enabled switch and
 * filtered by its selector (on the host's side: the informer lists only what
 * matches).
 *
 * The copy has the host object's name (CSIStorageCapacities, which live in
 * any host namespace: "<name>-x-<namespace>" in kube-system), labels,
 * annotations and every top-level field but status, and records where it
 * came from in annotations (object-host-name, object-host-namespace,
 * object-uid = the host object's uid). The host wins: a virtual edit is
 * reverted, a copy whose host object is gone (or no longer matches the
 * selector) is deleted, also at startup, and a host object re-created under
 * the same name replaces its copy. A virtual object of the same name that is
 * no copy is taken over; virtual objects without a host twin that were never
 * copies are left alone.
 *
 * Adding a kind (h-storage's StorageClasses, say) is a line in `kinds`
 * below, a vc__ctl_id in sync.h and a line in controllers.c that passes
 * that id as arg to vc__ctl_fromhost_init. */
#include <string.h>

#include "config/config.h"
#include "sync/sync.h"

typedef struct fh_desc {
    const char *name;          /* the controller's (queue) name */
    const char *kind, *api_version, *plural;
    const char *enabled_key;   /* true, false or "auto" (vc__config_from_host_auto) */
    const char *selector_key;  /* a label selector, or NULL when the kind has none */
    /* names never copied: the virtual cluster's own (system-* priority
     * classes; its API server makes them and refuses others of that prefix) */
    const char *skip_prefix;
    /* May adjust the copy `v` of host object `h` in place; VC_ENOTFOUND: not
     * wanted now (it is deleted if it exists); VC_ITEROVER: cannot tell yet
     * (tried again soon). NULL: copy as it is. */
    int (*adjust)(vc_syncer *s, const json_t *h, json_t *v);
    /* Runs every step (may be NULL): enqueue what depends on other
     * controllers' caches. */
    void (*tick)(vc_syncer *s, vc__ctl *c);
    vc__ctl_id id;
    /* host objects are namespaced (any namespace); copies go to kube-system
     * as <name>-x-<namespace> */
    bool namespaced;
} fh_desc;

typedef struct fh_state {
    const fh_desc *d;
    vc__map hkey;              /* namespaced kinds: virtual key -> host key (vc__malloc'ed) */
    uint64_t seen_events;      /* csiNodes: the virtual node informer's events when last looked */
    size_t seen_nodes;
} fh_state;

#define VIRT_NS "kube-system"

static int csinode_adjust(vc_syncer *s, const json_t *h, json_t *v);
static void csinode_tick(vc_syncer *s, vc__ctl *c);
static int capacity_adjust(vc_syncer *s, const json_t *h, json_t *v);

static const fh_desc kinds[] = {
    { .id = VC__CTL_FH_INGRESSCLASSES, .name = "fromhost-ingressclasses", .kind = "IngressClass",
      .api_version = "networking.k8s.io/v1", .plural = "ingressclasses",
      .enabled_key = "sync.fromHost.ingressClasses.enabled", .selector_key = "sync.fromHost.ingressClasses.selector" },
    { .id = VC__CTL_FH_PRIORITYCLASSES, .name = "fromhost-priorityclasses", .kind = "PriorityClass",
      .api_version = "scheduling.k8s.io/v1", .plural = "priorityclasses",
      .enabled_key = "sync.fromHost.priorityClasses.enabled", .selector_key = "sync.fromHost.priorityClasses.selector",
      .skip_prefix = "system-" },
    { .id = VC__CTL_FH_RUNTIMECLASSES, .name = "fromhost-runtimeclasses", .kind = "RuntimeClass",
      .api_version = "node.k8s.io/v1", .plural = "runtimeclasses",
      .enabled_key = "sync.fromHost.runtimeClasses.enabled", .selector_key = "sync.fromHost.runtimeClasses.selector" },
    { .id = VC__CTL_FH_CSIDRIVERS, .name = "fromhost-csidrivers", .kind = "CSIDriver", .api_version = "storage.k8s.io/v1",
      .plural = "csidrivers", .enabled_key = "sync.fromHost.csiDrivers.enabled" },
    { .id = VC__CTL_FH_CSINODES, .name = "fromhost-csinodes", .kind = "CSINode", .api_version = "storage.k8s.io/v1",
      .plural = "csinodes", .enabled_key = "sync.fromHost.csiNodes.enabled", .adjust = csinode_adjust,
      .tick = csinode_tick },
    { .id = VC__CTL_FH_CSISTORAGECAPACITIES, .name = "fromhost-csistoragecapacities", .kind = "CSIStorageCapacity",
      .api_version = "storage.k8s.io/v1", .plural = "csistoragecapacities",
      .enabled_key = "sync.fromHost.csiStorageCapacities.enabled", .namespaced = true, .adjust = capacity_adjust },
};

static const fh_desc *desc_of(int id)
{
    for (size_t i = 0; i < VC__ARRAY_LEN(kinds); i++)
        if ((int)kinds[i].id == id)
            return &kinds[i];
    return NULL;
}

/* ---- configuration ---- */

/* A label selector {matchLabels, matchExpressions} as the text of a list
 * request's labelSelector. NULL (error set) when it is not one. */
static char *selector_text(const json_t *sel, const char *key)
{
    vc_buf b = VC_BUF_INIT;
    const char *k;
    json_t *v;
    if (vc__buf_puts(&b, "") < 0)
        goto oom;
    if (sel && !json_is_object(sel))
        goto bad;
    json_object_foreach(json_object_get(sel, "matchLabels"), k, v) {
        if (!json_is_string(v))
            goto bad;
        if (vc__buf_printf(&b, "%s%s=%s", b.size ? "," : "", k, json_string_value(v)) < 0)
            goto oom;
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
        const char *ek = vc__jstr(e, "key"), *op = vc__jstr(e, "operator");
        if (!ek || !op)
            goto bad;
        const char *sep = b.size ? "," : "";
        bool in = !strcmp(op, "In"), notin = !strcmp(op, "NotIn");
        if (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) {
            if (vc__buf_printf(&b, "%s%s%s", sep, op[0] == 'D' ? "!" : "", ek) < 0)
                goto oom;
            continue;
        }
        json_t *vals = json_object_get(e, "values");
        if ((!in && !notin) || !json_array_size(vals))
            goto bad;
        if (vc__buf_printf(&b, "%s%s %s (", sep, ek, in ? "in" : "notin") < 0)
            goto oom;
        size_t j;
        json_t *x;
        json_array_foreach(vals, j, x) {
            if (!json_is_string(x))
                goto bad;
            if (vc__buf_printf(&b, "%s%s", j ? "," : "", json_string_value(x)) < 0)
                goto oom;
        }
        if (vc__buf_puts(&b, ")") < 0)
            goto oom;
    }
    return vc__buf_detach(&b);
oom:
    vc_buf_dispose(&b);
    vc__error_oom();
    return NULL;
bad:
    vc_buf_dispose(&b);
    vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG,
              "%s: not a label selector (matchLabels of strings; matchExpressions of key, operator "
              "In|NotIn|Exists|DoesNotExist and values)",
              key);
    return NULL;
}

int vc__fromhost_configure(vc_syncer *s, const vc_config *cfg)
{
    json_decref(s->from_host);
    s->from_host = json_object();
    if (!s->from_host)
        return vc__error_oom();
    const json_t *eff = vc__config_effective(cfg);
    for (size_t i = 0; i < VC__ARRAY_LEN(kinds); i++) {
        const fh_desc *d = &kinds[i];
        json_t *en = vc__cfg_tree_get(eff, d->enabled_key);
        bool on = json_is_true(en);
        if (json_is_string(en)) { /* "auto": the short key decides (config.c) */
            char which[64];
            const char *a = d->enabled_key + strlen("sync.fromHost.");
            snprintf(which, sizeof which, "%.*s", (int)(strchr(a, '.') - a), a);
            on = vc__config_from_host_auto(cfg, which);
        }
        if (!on)
            continue;
        char *sel = d->selector_key ? selector_text(vc__cfg_tree_get(eff, d->selector_key), d->selector_key)
                                    : vc__strdup("");
        if (!sel)
            return vc_error_last()->code < 0 ? vc_error_last()->code : VC_ENOMEM;
        int rc = json_object_set_new(s->from_host, d->enabled_key, json_string(sel));
        vc__free(sel);
        if (rc < 0)
            return vc__error_oom();
    }
    return VC_OK;
}

/* ---- keys ---- */

/* The virtual key of host object (ns, name) into out. */
static void virtual_key(const fh_desc *d, const char *ns, const char *name, char *out, size_t cap)
{
    if (!d->namespaced) {
        snprintf(out, cap, "%s", name);
        return;
    }
    char n[VC__NAME_MAX];
    const char *parts[3] = { name, "x", ns };
    vc__safe_concat(n, sizeof n, parts, 3);
    snprintf(out, cap, "%s/%s", VIRT_NS, n);
}

/* A copy made by this controller: it records its host object. */
static bool is_copy(const json_t *v)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(v, "metadata"), "annotations"),
                                             VC__A_OBJ_HOST_NAME)) != NULL;
}

/* ---- informer handlers ---- */

static void on_host(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    vc__ctl *c = ud;
    fh_state *st = c->state;
    const json_t *o = nobj ? nobj : old;
    char vkey[VC__NAME_MAX + 64];
    virtual_key(st->d, vc__jpath_str(o, "metadata", "namespace"), vc__jpath_str(o, "metadata", "name"), vkey,
                sizeof vkey);
    if (st->d->namespaced) {
        char *hk = vc__strdup(key);
        void *prev = NULL;
        if (hk && vc__map_put(&st->hkey, vkey, hk, &prev) < 0)
            vc__free(hk);
        vc__free(prev);
    }
    vc__sync_enqueue(inf->s, c, vkey, 0);
}

static void on_virtual(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)old;
    (void)nobj;
    vc__sync_enqueue(inf->s, ud, key, 0);
}

/* ---- reconcile ---- */

/* The virtual object that copies h (a new object), or NULL (error set). */
static json_t *copy_of(vc_syncer *s, const fh_desc *d, const char *vkey, const json_t *h, int *rc)
{
    char buf[VC__NAME_MAX + 64];
    const char *vns, *vname;
    vc__split_key(vkey, buf, sizeof buf, &vns, &vname);
    json_t *v = json_object();
    json_t *md = json_object();
    if (!v || !md || json_object_set_new(v, "metadata", md) < 0) {
        json_decref(v);
        *rc = vc__error_oom();
        return NULL;
    }
    json_object_set_new(v, "apiVersion", json_string(d->api_version));
    json_object_set_new(v, "kind", json_string(d->kind));
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)h, k, x) {
        if (strcmp(k, "metadata") != 0 && strcmp(k, "status") != 0 && strcmp(k, "apiVersion") != 0 &&
            strcmp(k, "kind") != 0)
            json_object_set(v, k, x);
    }
    const json_t *hmd = json_object_get(h, "metadata");
    json_object_set_new(md, "name", json_string(vname));
    if (*vns)
        json_object_set_new(md, "namespace", json_string(vns));
    json_t *labels = json_object_get(hmd, "labels");
    if (json_object_size(labels))
        json_object_set(md, "labels", labels);
    json_t *ann = json_deep_copy(json_object_get(hmd, "annotations"));
    if (!ann)
        ann = json_object();
    json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
    json_object_set_new(ann, VC__A_OBJ_HOST_NAME, json_string(vc__jstr(hmd, "name")));
    if (d->namespaced)
        json_object_set_new(ann, VC__A_OBJ_HOST_NAMESPACE, json_string(vc__jstr(hmd, "namespace")));
    if (vc__jstr(hmd, "uid"))
        json_object_set_new(ann, VC__A_OBJ_UID, json_string(vc__jstr(hmd, "uid")));
    json_object_set_new(md, "annotations", ann);
    *rc = d->adjust ? d->adjust(s, h, v) : VC_OK;
    if (*rc != VC_OK) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* v updated to `want` (a new object), or NULL when it already matches. */
static json_t *update_of(const json_t *v, const json_t *want)
{
    json_t *u = json_deep_copy(v);
    if (!u)
        return NULL;
    json_t *umd = json_object_get(u, "metadata"), *wmd = json_object_get(want, "metadata");
    static const char *const mdk[] = { "labels", "annotations" };
    for (size_t i = 0; i < 2; i++) {
        json_t *w = json_object_get(wmd, mdk[i]);
        if (w)
            json_object_set(umd, mdk[i], w);
        else
            json_object_del(umd, mdk[i]);
    }
    const char *k;
    json_t *x;
    void *tmp;
    json_object_foreach_safe(u, tmp, k, x) {
        if (strcmp(k, "metadata") != 0 && strcmp(k, "status") != 0 && strcmp(k, "apiVersion") != 0 &&
            strcmp(k, "kind") != 0 && !json_object_get(want, k))
            json_object_del(u, k);
    }
    json_object_foreach((json_t *)want, k, x) {
        if (strcmp(k, "metadata") != 0)
            json_object_set(u, k, x);
    }
    if (json_equal(u, v)) {
        json_decref(u);
        return NULL;
    }
    return u;
}

static int write_virtual(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vns, const char *vname, const char *hname,
                         const char *method, const json_t *body, int event)
{
    fh_state *st = c->state;
    const fh_desc *d = st->d;
    char *path = vc__obj_path(d->api_version, d->plural, *vns ? vns : NULL, strcmp(method, "POST") ? vname : NULL,
                              NULL);
    if (!path)
        return vc__error_oom();
    int rc = vc__sync_write_json(s, VC__SIDE_VIRT, it, d->kind, vns, vname, hname, event, method, path, NULL, body,
                                 NULL, NULL);
    vc__free(path);
    return rc;
}

static int del_virtual(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vns, const char *vname, const json_t *v)
{
    if (vc__deleting(v))
        return VC_OK;
    fh_state *st = c->state;
    char *path = vc__obj_path(st->d->api_version, st->d->plural, *vns ? vns : NULL, vname, NULL);
    char *body = vc__delete_body(vc__uid_of(v) ? vc__uid_of(v) : "", -1);
    int rc = path && body ? vc__sync_write(s, VC__SIDE_VIRT, it, st->d->kind, vns, vname, "", VC_SYNC_DELETED_VIRTUAL,
                                           "DELETE", path, NULL, body, NULL, NULL)
                          : vc__error_oom();
    vc__free(path);
    vc__free(body);
    return rc;
}

static int reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey)
{
    fh_state *st = c->state;
    const fh_desc *d = st->d;
    char buf[VC__NAME_MAX + 64];
    const char *vns, *vname;
    vc__split_key(vkey, buf, sizeof buf, &vns, &vname);
    json_t *v = NULL, *h = NULL;
    int rc = vc__informer_load(c->virt, vkey, &v);
    if (rc < 0)
        return rc;
    /* the host key: the same name, or (namespaced kinds) what the host
     * informer saw, else what the copy records */
    char hkey[VC__NAME_MAX * 2];
    if (!d->namespaced) {
        snprintf(hkey, sizeof hkey, "%s", vkey);
    } else {
        const char *known = vc__map_get(&st->hkey, vkey);
        json_t *ann = json_object_get(json_object_get(v, "metadata"), "annotations");
        if (known)
            snprintf(hkey, sizeof hkey, "%s", known);
        else if (vc__jstr(ann, VC__A_OBJ_HOST_NAME) && vc__jstr(ann, VC__A_OBJ_HOST_NAMESPACE))
            snprintf(hkey, sizeof hkey, "%s/%s", vc__jstr(ann, VC__A_OBJ_HOST_NAMESPACE),
                     vc__jstr(ann, VC__A_OBJ_HOST_NAME));
        else
            hkey[0] = '\0';
    }
    if (hkey[0] && (rc = vc__informer_load(c->host, hkey, &h)) < 0) {
        json_decref(v);
        return rc;
    }
    const char *hname = h ? vc__jpath_str(h, "metadata", "name") : "";
    json_t *want = NULL;
    if (h && !vc__deleting(h) && !(d->skip_prefix && vc__str_startswith(vname, d->skip_prefix))) {
        want = copy_of(s, d, vkey, h, &rc);
        if (!want && rc != VC_ENOTFOUND) {
            json_decref(v);
            json_decref(h);
            return rc;
        }
        rc = VC_OK;
    }
    if (!want) {
        /* only copies go: a tenant's own object of that kind stays */
        if (v && is_copy(v))
            rc = del_virtual(s, c, it, vns, vname, v);
        if (!h && d->namespaced)
            vc__free(vc__map_del(&st->hkey, vkey));
    } else if (!v) {
        rc = write_virtual(s, c, it, vns, vname, hname, "POST", want, VC_SYNC_CREATED_VIRTUAL);
    } else if (vc__deleting(v)) {
        rc = VC_OK; /* its delete event brings it back here */
    } else {
        const char *had = json_string_value(
            json_object_get(json_object_get(json_object_get(v, "metadata"), "annotations"), VC__A_OBJ_UID));
        if (is_copy(v) && had && !vc__streq(had, vc__uid_of(h))) {
            /* the host object was re-created: so is its copy (immutable
             * fields may differ) */
            rc = del_virtual(s, c, it, vns, vname, v);
        } else {
            json_t *u = update_of(v, want);
            if (u)
                rc = write_virtual(s, c, it, vns, vname, hname, "PUT", u, VC_SYNC_UPDATED_VIRTUAL);
            json_decref(u);
        }
    }
    json_decref(want);
    json_decref(v);
    json_decref(h);
    return rc;
}

/* ---- kind specifics ---- */

/* upstream csinodes: a CSINode is copied only while the virtual cluster
 * has a Node of that name (the fake node of a host node that runs its
 * pods) */
static int csinode_adjust(vc_syncer *s, const json_t *h, json_t *v)
{
    (void)v;
    vc__ctl *nodes = vc__sync_ctl_of(s, VC__CTL_NODES);
    const char *name = vc__jpath_str(h, "metadata", "name");
    if (nodes && nodes->virt && !nodes->virt->synced)
        return VC_ITEROVER; /* the virtual nodes are not listed yet */
    if (!nodes || !nodes->virt || !name || !vc__informer_has(nodes->virt, name))
        return VC_ENOTFOUND;
    return VC_OK;
}

/* Virtual nodes come and go: look at every CSINode again when they do. */
static void csinode_tick(vc_syncer *s, vc__ctl *c)
{
    fh_state *st = c->state;
    vc__ctl *nodes = vc__sync_ctl_of(s, VC__CTL_NODES);
    if (!nodes || !nodes->virt)
        return;
    size_t n = vc__informer_count(nodes->virt);
    if (nodes->virt->events == st->seen_events && n == st->seen_nodes)
        return;
    st->seen_events = nodes->virt->events;
    st->seen_nodes = n;
    size_t i = 0;
    const char *k;
    while (vc__informer_next(c->host, &i, &k, NULL))
        vc__sync_enqueue(s, c, k, 0);
    i = 0;
    while (vc__informer_next(c->virt, &i, &k, NULL))
        vc__sync_enqueue(s, c, k, 0);
}

/* upstream csistoragecapacities: with sync.toHost.storageClasses the
 * capacity names the virtual StorageClass of the host one, and capacities
 * of host classes that are no virtual one's are not copied */
static int capacity_adjust(vc_syncer *s, const json_t *h, json_t *v)
{
    if (!(s->tr->sync & VC_TRANSLATE_SYNC_STORAGE_CLASSES))
        return VC_OK;
    const char *sc = vc__jstr(h, "storageClassName");
    char *vns = NULL, *vname = NULL;
    if (!sc || vc__virtual_name_by_name(s->tr, vc__kind_get(VC__K_STORAGECLASS), "", sc, &vns, &vname) != VC_OK) {
        vc_error_clear();
        return VC_ENOTFOUND;
    }
    int rc = vc__set_str(v, "storageClassName", vname);
    vc__free(vns);
    vc__free(vname);
    return rc;
}

static int tick(vc_syncer *s, vc__ctl *c, bool synced, int64_t now)
{
    (void)now;
    fh_state *st = c->state;
    if (synced && st->d->tick)
        st->d->tick(s, c);
    return 0;
}

static void state_free(void *p)
{
    fh_state *st = p;
    if (!st)
        return;
    vc__map_clear(&st->hkey, vc__free);
    vc__free(st);
}

int vc__ctl_fromhost_init(vc_syncer *s, vc__ctl *c, int arg)
{
    const fh_desc *d = desc_of(arg);
    if (!d)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "fromhost: no table row for controller %d", arg);
    const char *sel = json_string_value(json_object_get(s->from_host, d->enabled_key));
    if (!sel)
        return VC_ITEROVER; /* sync.fromHost.<kind>.enabled is off */
    fh_state *st = vc__calloc(1, sizeof(*st));
    if (!st)
        return vc__error_oom();
    st->d = d;
    vc__map_init(&st->hkey);
    c->state = st;
    c->free_state = state_free;
    c->name = d->name;
    c->kind = d->kind;
    c->reconcile = reconcile;
    c->tick = tick;
    char what[96], hwhat[96];
    snprintf(what, sizeof what, "virtual %s (from the host)", d->plural);
    snprintf(hwhat, sizeof hwhat, "host %s", d->plural);
    int rc = vc__informer_new(&c->virt, s, s->virt, what, d->api_version, d->plural, d->namespaced ? VIRT_NS : NULL,
                              NULL, NULL, on_virtual, c);
    if (rc == VC_OK)
        rc = vc__informer_new(&c->host, s, s->host, hwhat, d->api_version, d->plural, NULL, *sel ? sel : NULL, NULL,
                              on_host, c);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(c->virt, d->kind);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(c->host, d->kind);
    return rc;
}

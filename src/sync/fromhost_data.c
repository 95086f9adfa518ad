/* sync.fromHost.{configMaps,secrets}: host ConfigMaps/Secrets named by
 * `mappings.byName` are copied into the virtual cluster, read-only, as
 * upstream's from-host syncer does. Mapping keys (host side) and values
 * (virtual side):
 *   "ns/name": "vns/vname"   one object (vname "*": the same name)
 *   "ns/STAR": "vns/STAR"    every object of host namespace ns (STAR: '*')
 *   "/name":   "vns/vname"   one object of the virtual cluster's host namespace
 *   "":        "vns"         every object of the virtual cluster's host namespace
 * The copy carries the host object's labels, annotations and data (and a
 * Secret's type), plus the origin annotations object-host-name/-namespace
 * and the label FROM_HOST_LABEL, by which virtual edits and deletes are seen
 * and undone. A host object that goes takes its copy with it; objects the
 * syncer itself created on the host (managed-by label) and
 * kube-root-ca.crt are never copied. One host informer per mapped host
 * namespace, driven by this controller's tick (they do not hold up the
 * syncer's readiness: a namespace the syncer may not read only backs off
 * and logs). */
#include <string.h>

#include "config/config.h"
#include "sync/sync.h"

#define FROM_HOST_LABEL "vcluster.loft.sh/synced-from-host"
#define FM "?fieldManager=vcluster-syncer-fromhost&force=true"

typedef struct rule {
    char *hns, *hname;  /* hname "*": every object */
    char *vns, *vname;  /* vname "*": the host object's name */
} rule;

typedef struct fh_state {
    bool secrets;
    rule *rules;
    size_t n_rules;
    vc__informer **infs;  /* one per distinct host namespace */
    size_t n_infs;
    vc__informer *virt;   /* the virtual copies (FROM_HOST_LABEL) */
    bool started;         /* every informer listed once: all keys queued */
} fh_state;

static void state_free(void *p)
{
    fh_state *f = p;
    if (!f)
        return;
    for (size_t i = 0; i < f->n_rules; i++) {
        vc__free(f->rules[i].hns);
        vc__free(f->rules[i].hname);
        vc__free(f->rules[i].vns);
        vc__free(f->rules[i].vname);
    }
    vc__free(f->rules);
    for (size_t i = 0; i < f->n_infs; i++)
        vc__informer_free(f->infs[i]);
    vc__free(f->infs);
    vc__informer_free(f->virt);
    vc__free(f);
}

/* The virtual ns and name of host object hns, hname, or false (upstream's
 * matching order: exact, namespace wildcard, "/name", ""). */
static bool map_host(vc_syncer *s, const fh_state *f, const char *hns, const char *hname, const char **vns,
                     const char **vname)
{
    if (!f->secrets && !strcmp(hname, "kube-root-ca.crt"))
        return false;
    const rule *best = NULL;
    int best_rank = 99;
    for (size_t i = 0; i < f->n_rules; i++) {
        const rule *r = &f->rules[i];
        const char *rns = *r->hns ? r->hns : s->host_ns;
        if (strcmp(rns, hns) != 0)
            continue;
        int rank = !strcmp(r->hname, "*") ? (*r->hns ? 1 : 3) : (!strcmp(r->hname, hname) ? (*r->hns ? 0 : 2) : 99);
        if (rank < best_rank) {
            best = r;
            best_rank = rank;
        }
    }
    if (!best)
        return false;
    *vns = best->vns;
    *vname = !strcmp(best->vname, "*") ? hname : best->vname;
    return true;
}

static vc__informer *inf_of(const fh_state *f, const char *hns)
{
    for (size_t i = 0; i < f->n_infs; i++)
        if (!strcmp(f->infs[i]->ns, hns))
            return f->infs[i];
    return NULL;
}

static void enqueue_host(vc_syncer *s, vc__ctl *c, const char *hns, const char *hname)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", hns, hname);
    vc__sync_enqueue(s, c, key, 0);
}

static void on_host(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)old;
    (void)nobj;
    vc__sync_enqueue(inf->s, ud, key, 0);
}

/* The host origin a virtual copy names (NULLs when it names none: a label
 * copied by hand, left alone). */
static void origin_of(const json_t *o, const char **hns, const char **hname)
{
    const json_t *ann = json_object_get(json_object_get(o, "metadata"), "annotations");
    *hns = json_string_value(json_object_get(ann, VC__A_OBJ_HOST_NAMESPACE));
    *hname = json_string_value(json_object_get(ann, VC__A_OBJ_HOST_NAME));
}

/* A virtual copy changed or went: reconcile its host origin. */
static void on_virtual(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)key;
    const char *hns, *hname;
    origin_of(nobj ? nobj : old, &hns, &hname);
    if (hns && hname)
        enqueue_host(inf->s, ud, hns, hname);
}

static const char *resource_of(const vc__ctl *c)
{
    return ((const fh_state *)c->state)->secrets ? "secrets" : "configmaps";
}

static int delete_virtual(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vns, const char *vname,
                          const char *hname)
{
    char *path = vc__obj_path("v1", resource_of(c), vns, vname, NULL);
    int rc = path ? vc__sync_write(s, VC__SIDE_VIRT, it, c->kind, vns, vname, hname, VC_SYNC_DELETED_VIRTUAL, "DELETE",
                                   path, NULL, NULL, NULL, NULL)
                  : vc__error_oom();
    vc__free(path);
    return rc;
}

/* Every virtual copy that came from host hns/hname (normally one). */
static int delete_copies_of(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *hns, const char *hname,
                            const char *keep_vns, const char *keep_vname)
{
    size_t pos = 0;
    const char *k, *text;
    int rc = VC_OK;
    fh_state *f = c->state;
    while (rc == VC_OK && vc__informer_next(f->virt, &pos, &k, &text)) {
        json_t *o = json_loads(text, 0, NULL);
        const json_t *md = json_object_get(o, "metadata");
        const json_t *ann = json_object_get(md, "annotations");
        const char *vns = json_string_value(json_object_get(md, "namespace"));
        const char *vname = json_string_value(json_object_get(md, "name"));
        if (vns && vname && vc__streq(json_string_value(json_object_get(ann, VC__A_OBJ_HOST_NAMESPACE)), hns) &&
            vc__streq(json_string_value(json_object_get(ann, VC__A_OBJ_HOST_NAME)), hname) &&
            !(vc__streq(vns, keep_vns) && vc__streq(vname, keep_vname)))
            rc = delete_virtual(s, c, it, vns, vname, hname);
        json_decref(o);
    }
    return rc;
}

static int apply_copy(vc_syncer *s, vc__ctl *c, vc__qitem *it, const json_t *h, const char *hns, const char *hname,
                      const char *vns, const char *vname)
{
    fh_state *f = c->state;
    const json_t *hmd = json_object_get(h, "metadata");
    json_t *labels = json_deep_copy(json_object_get(hmd, "labels"));
    json_t *ann = json_deep_copy(json_object_get(hmd, "annotations"));
    if (!json_is_object(labels)) {
        json_decref(labels);
        labels = json_object();
    }
    if (!json_is_object(ann)) {
        json_decref(ann);
        ann = json_object();
    }
    json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
    json_object_set_new(labels, FROM_HOST_LABEL, json_string("true"));
    json_object_set_new(ann, VC__A_OBJ_HOST_NAME, json_string(hname));
    json_object_set_new(ann, VC__A_OBJ_HOST_NAMESPACE, json_string(hns));
    json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s,s:o,s:o}}", "apiVersion", "v1", "kind", c->kind, "metadata", "name",
                          vname, "namespace", vns, "labels", labels, "annotations", ann);
    if (!o)
        return vc__error_oom();
    static const char *const fields[] = { "data", "binaryData", "stringData", "type", "immutable" };
    for (size_t i = 0; i < VC__ARRAY_LEN(fields); i++) {
        const json_t *v = json_object_get(h, fields[i]);
        if (v && (f->secrets || strcmp(fields[i], "type") != 0))
            json_object_set(o, fields[i], (json_t *)v);
    }
    /* the virtual namespace first (both applies are idempotent) */
    json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", vns);
    char *nspath0 = vc__obj_path("v1", "namespaces", NULL, vns, NULL);
    char *nspath = nspath0 ? vc__sprintf("%s" FM, nspath0) : NULL;
    char *path0 = vc__obj_path("v1", resource_of(c), vns, vname, NULL);
    char *path = path0 ? vc__sprintf("%s" FM, path0) : NULL;
    char vkey[600];
    snprintf(vkey, sizeof vkey, "%s/%s", vns, vname);
    int rc = ns && nspath && path ? VC_OK : vc__error_oom();
    if (rc == VC_OK)
        rc = vc__sync_write_json(s, VC__SIDE_VIRT, it, "Namespace", "", vns, "", 0, "PATCH", nspath,
                                 "application/apply-patch+yaml", ns, NULL, NULL);
    if (rc == VC_OK)
        rc = vc__sync_write_json(s, VC__SIDE_VIRT, it, c->kind, vns, vname, hname,
                                 vc__informer_has(f->virt, vkey) ? VC_SYNC_UPDATED_VIRTUAL : VC_SYNC_CREATED_VIRTUAL,
                                 "PATCH", path, "application/apply-patch+yaml", o, NULL, NULL);
    json_decref(ns);
    json_decref(o);
    vc__free(nspath0);
    vc__free(nspath);
    vc__free(path0);
    vc__free(path);
    return rc;
}

/* Keys are host "ns/name": the copy follows what the host holds now. */
static int reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *key)
{
    fh_state *f = c->state;
    if (!f)
        return VC_OK;
    char buf[600];
    const char *hns, *hname;
    vc__split_key(key, buf, sizeof buf, &hns, &hname);
    vc__informer *inf = inf_of(f, hns);
    if (!f->virt->synced || (inf && !inf->synced))
        return VC_ITEROVER; /* a side has not listed yet: nothing is deleted on a guess */
    const char *vns = NULL, *vname = NULL;
    bool mapped = inf && map_host(s, f, hns, hname, &vns, &vname);
    json_t *h = NULL;
    if (mapped && vc__informer_load(inf, key, &h) < 0)
        return VC_ENOMEM;
    int rc;
    if (h && !json_object_get(json_object_get(json_object_get(h, "metadata"), "labels"), VC__L_MARKER)) {
        rc = apply_copy(s, c, it, h, hns, hname, vns, vname);
        if (rc == VC_OK) /* a mapping that changed between runs left another copy */
            rc = delete_copies_of(s, c, it, hns, hname, vns, vname);
    } else {
        /* gone from the host, or no longer mapped: its copies go */
        rc = delete_copies_of(s, c, it, hns, hname, NULL, NULL);
    }
    json_decref(h);
    return rc;
}

/* Every host object of the mapped namespaces and the origin of every
 * virtual copy, into the queue (the start's garbage collection). */
static void enqueue_mine(vc_syncer *s, vc__ctl *c)
{
    fh_state *f = c->state;
    size_t pos;
    const char *k, *text;
    for (size_t i = 0; i < f->n_infs; i++) {
        pos = 0;
        while (vc__informer_next(f->infs[i], &pos, &k, NULL))
            vc__sync_enqueue(s, c, k, 0);
    }
    pos = 0;
    while (vc__informer_next(f->virt, &pos, &k, &text)) {
        json_t *o = json_loads(text, 0, NULL);
        const char *hns, *hname;
        origin_of(o, &hns, &hname);
        if (hns && hname)
            enqueue_host(s, c, hns, hname);
        json_decref(o);
    }
}

static int tick(vc_syncer *s, vc__ctl *c, bool synced, int64_t now)
{
    fh_state *f = c->state;
    if (!f)
        return 0;
    int n = vc__informer_tick(f->virt, now);
    bool all = f->virt->synced;
    for (size_t i = 0; i < f->n_infs; i++) {
        n += vc__informer_tick(f->infs[i], now);
        all = all && f->infs[i]->synced;
    }
    /* once: a namespace the syncer may not read holds this up (and says
     * so in its informer's backoff log), nothing else */
    if (all && synced && !f->started) {
        f->started = true;
        enqueue_mine(s, c);
    }
    return n;
}

static int64_t timeout(vc_syncer *s, vc__ctl *c, int64_t now)
{
    (void)s;
    fh_state *f = c->state;
    int64_t best = f ? vc__informer_timeout(f->virt, now) : -1;
    for (size_t i = 0; f && i < f->n_infs; i++) {
        int64_t t = vc__informer_timeout(f->infs[i], now);
        if (t >= 0 && (best < 0 || t < best))
            best = t;
    }
    return best;
}

static int add_rule(vc_syncer *s, fh_state *f, const char *key, const char *from, const char *to)
{
    const char *slash = strchr(from, '/');
    const char *vslash = strchr(to, '/');
    if ((*from && !slash) || (slash && !slash[1]) || (*from == '\0' && vslash) || (*from && !vslash) ||
        (vslash && (vslash == to || !vslash[1])) || (!vslash && !*to))
        return vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG,
                         "%s: mapping \"%s\": \"%s\" is not one of \"ns/name\": \"vns/name\", \"ns/*\": \"vns/*\", "
                         "\"/name\": \"vns/name\" or \"\": \"vns\"",
                         key, from, to);
    if (slash && !strcmp(slash + 1, "*") && strcmp(vslash + 1, "*") != 0)
        return vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG,
                         "%s: mapping \"%s\": a whole host namespace maps to a whole virtual one (\"vns/*\"), not \"%s\"",
                         key, from, to);
    rule *v = vc__realloc(f->rules, (f->n_rules + 1) * sizeof(*v));
    if (!v)
        return vc__error_oom();
    f->rules = v;
    rule *r = &v[f->n_rules++];
    memset(r, 0, sizeof(*r));
    r->hns = slash ? vc__strndup(from, (size_t)(slash - from)) : vc__strdup("");
    r->hname = slash ? vc__strdup(slash + 1) : vc__strdup("*");
    r->vns = vslash ? vc__strndup(to, (size_t)(vslash - to)) : vc__strdup(to);
    r->vname = vslash ? vc__strdup(vslash + 1) : vc__strdup("*");
    if (!r->hns || !r->hname || !r->vns || !r->vname)
        return vc__error_oom();
    const char *hns = *r->hns ? r->hns : s->host_ns;
    if (inf_of(f, hns))
        return VC_OK;
    vc__informer **infs = vc__realloc(f->infs, (f->n_infs + 1) * sizeof(*infs));
    if (!infs)
        return vc__error_oom();
    f->infs = infs;
    char what[300];
    snprintf(what, sizeof what, "host %s in %s (fromHost)", f->secrets ? "secrets" : "configmaps", hns);
    int rc = vc__informer_new(&f->infs[f->n_infs], s, s->host, what, "v1", f->secrets ? "secrets" : "configmaps", hns,
                              NULL, NULL, on_host, NULL);
    if (rc == VC_OK)
        f->n_infs++;
    return rc;
}

int vc__ctl_fromhost_data_init(vc_syncer *s, vc__ctl *c, int secrets)
{
    c->name = secrets ? "fromhost-secrets" : "fromhost-configmaps";
    c->kind = secrets ? "Secret" : "ConfigMap";
    c->reconcile = reconcile;
    const vc__cfg_values *cv = s->cfg ? vc__config_values(s->cfg) : NULL;
    if (!cv)
        return VC_OK;
    bool on = secrets ? cv->sync.from_host.secrets.enabled : cv->sync.from_host.config_maps.enabled;
    const json_t *by_name = secrets ? cv->sync.from_host.secrets.by_name : cv->sync.from_host.config_maps.by_name;
    const char *key = secrets ? "sync.fromHost.secrets.mappings.byName" : "sync.fromHost.configMaps.mappings.byName";
    if (!on)
        return VC_OK;
    if (json_object_size(by_name) == 0)
        return vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG, "%s: empty, so sync.fromHost.%s.enabled copies nothing", key,
                         secrets ? "secrets" : "configMaps");
    fh_state *f = vc__calloc(1, sizeof(*f));
    if (!f)
        return vc__error_oom();
    f->secrets = secrets != 0;
    c->state = f;
    c->free_state = state_free;
    const char *from;
    json_t *to;
    int rc = VC_OK;
    json_object_foreach((json_t *)by_name, from, to) {
        if (rc == VC_OK)
            rc = add_rule(s, f, key, from, json_string_value(to) ? json_string_value(to) : "");
    }
    for (size_t i = 0; rc == VC_OK && i < f->n_infs; i++) {
        f->infs[i]->ud = c;
        rc = vc__informer_set_kind(f->infs[i], c->kind);
    }
    /* not c->virt: the core would queue its keys, which are virtual ones */
    if (rc == VC_OK)
        rc = vc__informer_new(&f->virt, s, s->virt,
                              secrets ? "virtual secrets from the host" : "virtual configmaps from the host", "v1",
                              secrets ? "secrets" : "configmaps", NULL, FROM_HOST_LABEL "=true", NULL, on_virtual, c);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(f->virt, c->kind);
    c->tick = tick;
    c->timeout = timeout;
    return rc;
}

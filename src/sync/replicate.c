/* networking.replicateServices (legacy mapServices):
 *  - fromHost: host Service ns/name appears in the virtual cluster as a
 *    headless Service ns/name whose Endpoints are the host's ClusterIP (or,
 *    for a headless host Service, the host's endpoint addresses), as
 *    upstream's service syncer does, so virtual pods reach it by name
 *    (their DNS is the virtual CoreDNS, their packets the host's);
 *  - toHost: virtual Service ns/name appears in the host namespace under the
 *    given name, with the translated selector, so host pods reach it.
 * Both are re-applied every few seconds with server-side apply (cheap and
 * idempotent), and removed when their source goes. */
#include <string.h>

#include "sync/sync.h"

#define PERIOD_MS 5000
#define FM "fieldManager=vcluster-syncer&force=true"
#define REPLICATED_LABEL "vcluster.loft.sh/replicated-from"

static void split(const char *s, const char *def_ns, char **ns, char **name)
{
    const char *slash = strchr(s, '/');
    if (slash) {
        *ns = vc__strndup(s, (size_t)(slash - s));
        *name = vc__strdup(slash + 1);
    } else {
        *ns = vc__strdup(def_ns);
        *name = vc__strdup(s);
    }
}

int vc__replicate_add(vc_syncer *s, bool from_host, const char *from, const char *to)
{
    vc__svcmap *m = vc__realloc(s->svcmaps, (s->n_svcmaps + 1) * sizeof(*m));
    if (!m)
        return vc__error_oom();
    s->svcmaps = m;
    vc__svcmap *e = &m[s->n_svcmaps];
    memset(e, 0, sizeof(*e));
    e->from_host = from_host;
    split(from, "default", &e->from_ns, &e->from_name);
    split(to, from_host ? "default" : s->host_ns, &e->to_ns, &e->to_name);
    s->n_svcmaps++;
    if (!e->from_ns || !e->from_name || !e->to_ns || !e->to_name)
        return vc__error_oom();
    if (!from_host && strcmp(e->to_ns, s->host_ns) != 0)
        return vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG,
                         "networking.replicateServices.toHost: %s: the host side must be in namespace %s", to, s->host_ns);
    return VC_OK;
}

void vc__replicate_free(vc_syncer *s)
{
    for (size_t i = 0; i < s->n_svcmaps; i++) {
        vc__free(s->svcmaps[i].from_ns);
        vc__free(s->svcmaps[i].from_name);
        vc__free(s->svcmaps[i].to_ns);
        vc__free(s->svcmaps[i].to_name);
    }
    vc__free(s->svcmaps);
    s->svcmaps = NULL;
    s->n_svcmaps = 0;
}

static void apply(vc_syncer *s, vc__side side, const char *kind, const char *vns, const char *vname, const char *hname,
                  const char *api, const char *resource, const char *ns, const char *name, json_t *obj, int ev,
                  vc__write_done done, void *ud)
{
    char *path0 = vc__obj_path(api, resource, ns, name, NULL);
    char *path = path0 ? vc__sprintf("%s?" FM, path0) : NULL;
    char *body = json_dumps(obj, JSON_COMPACT);
    if (path && body)
        vc__sync_write(s, side, NULL, kind, vns, vname, hname, ev, "PATCH", path, "application/apply-patch+yaml", body,
                       done, ud);
    vc__free(path0);
    vc__free(path);
    vc__free(body);
}

/* fromHost, as upstream's service syncer: the virtual Service is headless
 * with the host's ports and no selector, and its Endpoints (applied by us,
 * the virtual endpoints controller leaves selector-less Services alone) are
 * the host Service's ClusterIP, or, for a headless host Service, the host's
 * Endpoints addresses. */
static void virt_svc_applied(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    size_t i = (size_t)(uintptr_t)ud;
    if (rc != VC_EINVALIDOBJ || i >= s->n_svcmaps)
        return;
    /* an immutable field differs (a replica made with the host's ClusterIP
     * by an older syncer): delete it, the next period applies it again */
    vc__svcmap *m = &s->svcmaps[i];
    char *p = vc__obj_path("v1", "services", m->to_ns, m->to_name, NULL);
    if (p)
        vc__sync_write(s, VC__SIDE_VIRT, NULL, "Service", m->to_ns, m->to_name, m->from_name, 0, "DELETE", p, NULL,
                       NULL, NULL, NULL);
    vc__free(p);
    vc_error_clear();
}

static void apply_endpoints(vc_syncer *s, vc__svcmap *m, json_t *subsets)
{
    char from[600];
    snprintf(from, sizeof from, "%s.%s", m->from_name, m->from_ns);
    json_t *ep = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:O}", "apiVersion", "v1", "kind", "Endpoints", "metadata",
                           "name", m->to_name, "namespace", m->to_ns, "labels", REPLICATED_LABEL, from, "subsets",
                           subsets);
    if (ep)
        apply(s, VC__SIDE_VIRT, "Endpoints", m->to_ns, m->to_name, m->from_name, "v1", "endpoints", m->to_ns,
              m->to_name, ep, 0, NULL, NULL);
    json_decref(ep);
}

/* The host Endpoints of a headless host Service arrived: their addresses
 * (without the host pods' targetRef, whose names mean nothing inside). */
static void host_eps_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    size_t i = (size_t)(uintptr_t)ud;
    if (i >= s->n_svcmaps || s->stopping || (rc < 0 && rc != VC_ENOTFOUND))
        return;
    vc__svcmap *m = &s->svcmaps[i];
    json_t *h = rc == VC_OK ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *subsets = json_deep_copy(json_object_get(h, "subsets"));
    if (!json_is_array(subsets)) {
        json_decref(subsets);
        subsets = json_array();
    }
    size_t k, a;
    json_t *sub, *addr;
    json_array_foreach(subsets, k, sub) {
        json_array_foreach(json_object_get(sub, "addresses"), a, addr) json_object_del(addr, "targetRef");
        json_array_foreach(json_object_get(sub, "notReadyAddresses"), a, addr) json_object_del(addr, "targetRef");
    }
    if (subsets)
        apply_endpoints(s, m, subsets);
    json_decref(subsets);
    json_decref(h);
}

/* fromHost: the host Service arrived. */
static void host_svc_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    size_t i = (size_t)(uintptr_t)ud;
    if (i >= s->n_svcmaps || s->stopping)
        return;
    vc__svcmap *m = &s->svcmaps[i];
    if (rc == VC_ENOTFOUND) {
        if (m->applied) { /* the source went away: so does the replica, and its Endpoints */
            char *p = vc__obj_path("v1", "services", m->to_ns, m->to_name, NULL);
            char *e = vc__obj_path("v1", "endpoints", m->to_ns, m->to_name, NULL);
            if (p)
                vc__sync_write(s, VC__SIDE_VIRT, NULL, "Service", m->to_ns, m->to_name, m->from_name,
                               VC_SYNC_DELETED_VIRTUAL, "DELETE", p, NULL, NULL, NULL, NULL);
            if (e)
                vc__sync_write(s, VC__SIDE_VIRT, NULL, "Endpoints", m->to_ns, m->to_name, m->from_name, 0, "DELETE", e,
                               NULL, NULL, NULL, NULL);
            vc__free(p);
            vc__free(e);
            m->applied = false;
        }
        return;
    }
    if (rc < 0)
        return;
    json_t *h = json_loadb(body, len, 0, NULL);
    const char *ip = vc__jpath_str(h, "spec", "clusterIP");
    bool headless = ip && !strcmp(ip, "None");
    json_t *ports = json_array(), *eports = json_array();
    size_t k;
    json_t *p;
    json_array_foreach(json_object_get(json_object_get(h, "spec"), "ports"), k, p) {
        json_t *q = json_pack("{s:O?,s:O,s:O?,s:O?}", "name", json_object_get(p, "name"), "port",
                              json_object_get(p, "port"), "protocol", json_object_get(p, "protocol"), "appProtocol",
                              json_object_get(p, "appProtocol"));
        if (q) {
            json_array_append(ports, q);
            json_array_append_new(eports, q);
        }
    }
    char from[600];
    snprintf(from, sizeof from, "%s.%s", m->from_name, m->from_ns);
    if (ip && *ip && (headless || json_array_size(ports))) {
        json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", m->to_ns);
        if (ns)
            apply(s, VC__SIDE_VIRT, "Namespace", "", m->to_ns, "", "v1", "namespaces", NULL, m->to_ns, ns, 0, NULL,
                  NULL);
        json_decref(ns);
        json_t *svc = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:s,s:s,s:O}}", "apiVersion", "v1", "kind", "Service",
                                "metadata", "name", m->to_name, "namespace", m->to_ns, "labels", REPLICATED_LABEL, from,
                                "spec", "type", "ClusterIP", "clusterIP", "None", "ports", ports);
        if (svc)
            apply(s, VC__SIDE_VIRT, "Service", m->to_ns, m->to_name, m->from_name, "v1", "services", m->to_ns,
                  m->to_name, svc, m->applied ? 0 : VC_SYNC_CREATED_VIRTUAL, virt_svc_applied, ud);
        json_decref(svc);
        if (headless) {
            char *e = vc__obj_path("v1", "endpoints", m->from_ns, m->from_name, NULL);
            if (e)
                vc__sync_write(s, VC__SIDE_HOST, NULL, "Endpoints", m->to_ns, m->to_name, m->from_name, -1, "GET", e,
                               NULL, NULL, host_eps_done, ud);
            vc__free(e);
        } else {
            json_t *subsets = json_pack("[{s:[{s:s}],s:O}]", "addresses", "ip", ip, "ports", eports);
            if (subsets)
                apply_endpoints(s, m, subsets);
            json_decref(subsets);
        }
        m->applied = true;
    }
    json_decref(ports);
    json_decref(eports);
    json_decref(h);
}

/* toHost: apply the host Service from the virtual one. */
static void to_host(vc_syncer *s, vc__svcmap *m)
{
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_SERVICES);
    if (!c || !c->virt || !c->virt->synced)
        return;
    char key[600];
    snprintf(key, sizeof key, "%s/%s", m->from_ns, m->from_name);
    json_t *v = NULL;
    if (vc__informer_load(c->virt, key, &v) < 0) {
        vc_error_clear(); /* out of memory: the next period tries again */
        return;
    }
    if (!v) {
        if (m->applied) {
            char *p = vc__obj_path("v1", "services", s->host_ns, m->to_name, NULL);
            if (p)
                vc__sync_write(s, VC__SIDE_HOST, NULL, "Service", m->from_ns, m->from_name, m->to_name,
                               VC_SYNC_DELETED_HOST, "DELETE", p, NULL, NULL, NULL, NULL);
            vc__free(p);
            m->applied = false;
        }
        return;
    }
    /* before the translation, which consumes v */
    bool headless = vc__streq(vc__jpath_str(v, "spec", "clusterIP"), "None");
    json_t *desired = NULL;
    if (vc__translate_to_host(&desired, NULL, s->tr, v, NULL, VC_TRANSLATE_APPLY_DEFAULTS, NULL) < 0) {
        vc_error_clear();
        return;
    }
    json_t *obj = json_deep_copy(desired);
    json_decref(desired);
    if (!obj)
        return;
    json_t *md = json_object_get(obj, "metadata");
    json_object_set_new(md, "name", json_string(m->to_name));
    json_object_set_new(md, "namespace", json_string(s->host_ns));
    json_object_del(md, "ownerReferences");
    /* not one of the synced twins: no managed-by label, or the services
     * controller would take it for an orphan */
    json_t *labels = json_object_get(md, "labels");
    if (json_is_object(labels))
        json_object_del(labels, VC__L_MARKER);
    else
        json_object_set_new(md, "labels", labels = json_object());
    char from[600];
    snprintf(from, sizeof from, "%s.%s", m->from_name, m->from_ns);
    json_object_set_new(labels, REPLICATED_LABEL, json_string(from));
    json_t *spec = json_object_get(obj, "spec");
    /* the host allocates its own ClusterIP; a headless Service stays headless */
    json_object_del(spec, "clusterIPs");
    if (headless)
        json_object_set_new(spec, "clusterIP", json_string("None"));
    else
        json_object_del(spec, "clusterIP");
    apply(s, VC__SIDE_HOST, "Service", m->from_ns, m->from_name, m->to_name, "v1", "services", s->host_ns, m->to_name,
          obj, m->applied ? 0 : VC_SYNC_CREATED_HOST, NULL, NULL);
    json_decref(obj);
    m->applied = true;
}

static int tick(vc_syncer *s, vc__ctl *c, bool synced, int64_t now)
{
    (void)c;
    if (!synced || !s->n_svcmaps || now < s->next_replicate_ms)
        return 0;
    s->next_replicate_ms = now + PERIOD_MS;
    for (size_t i = 0; i < s->n_svcmaps; i++) {
        vc__svcmap *m = &s->svcmaps[i];
        if (!m->from_host) {
            to_host(s, m);
            continue;
        }
        char *p = vc__obj_path("v1", "services", m->from_ns, m->from_name, NULL);
        if (p)
            vc__sync_write(s, VC__SIDE_HOST, NULL, "Service", m->to_ns, m->to_name, m->from_name, -1, "GET", p, NULL,
                           NULL, host_svc_done, (void *)(uintptr_t)i);
        vc__free(p);
    }
    return (int)s->n_svcmaps;
}

static int64_t timeout(vc_syncer *s, vc__ctl *c, int64_t now)
{
    (void)c;
    if (!s->ready_reported || !s->n_svcmaps)
        return -1;
    return s->next_replicate_ms > now ? s->next_replicate_ms - now : 0;
}

/* No informer and no keys: the mappings (vc__replicate_add, from the
 * config) are applied every PERIOD_MS once the informers listed. */
int vc__ctl_replicate_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)s;
    (void)arg;
    c->name = "replicate";
    c->kind = "Service";
    c->tick = tick;
    c->timeout = timeout;
    return VC_OK;
}

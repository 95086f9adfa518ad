/* Per-node kubelet Services (networking.advanced.proxyKubelets.byIP), as
 * upstream's node service provider
 * (pkg/controllers/resources/nodes/nodeservice/node_service.go): for every
 * fake node in use, a host Service SafeConcatName(<vc>, "node", <node> with
 * '.' -> '-') in the host namespace, labelled vcluster.loft.sh/belongs-to=<vc>
 * and vcluster.loft.sh/node=<node>, port "kubelet" 10250, and Endpoints of
 * the same name pointing at the kubelet proxy (kubelet_address, port
 * kubelet_port); the fake node's InternalIP is the Service's ClusterIP, so
 * the virtual API server reaches the proxy through the host's Service
 * network. Both are server-side applied once per run (and again after the
 * Service was deleted), so Endpoints follow a proxy that moved, e.g. a
 * restarted pod's new IP; the Service, and so the node's address, stays. A
 * Service whose node is no longer used is deleted (also at start, for what
 * an earlier run left).
 *
 * Only when the proxy listens on an address a Service can reach: upstream's
 * kubelet proxy is the pod's own port 8443, ours a separate listener that
 * may be loopback (the local driver, and the kubernetes driver's in-pod
 * 127.0.0.1:10250). Endpoints refuse loopback addresses and a ClusterIP
 * cannot reach a loopback listener, so with a loopback kubelet_address no
 * Services are made and fake nodes advertise kubelet_address itself
 * (doc/translate.md, differences). */
#include <arpa/inet.h>
#include <string.h>

#include "sync/sync.h"

#define L_BELONGS "vcluster.loft.sh/belongs-to"
#define L_NODE "vcluster.loft.sh/node"

typedef struct nodesvc {
    vc__map ips;       /* node -> ClusterIP (vc__malloc'ed) from the host informer */
    vc__map applied;   /* node -> (void *)1: Service and Endpoints applied by this run */
} nodesvc;

static void nodesvc_free(void *p)
{
    nodesvc *n = p;
    if (!n)
        return;
    vc__map_clear(&n->ips, vc__free);
    vc__map_clear(&n->applied, NULL);
    vc__free(n);
}

static bool loopback(const char *ip)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, ip, b) == 1)
        return b[0] == 127;
    if (inet_pton(AF_INET6, ip, b) == 1) {
        static const unsigned char one[16] = { [15] = 1 };
        return memcmp(b, one, 16) == 0;
    }
    return true;
}

bool vc__nodesvc_enabled(const vc_syncer *s)
{
    return s->proxy_by_ip && s->kubelet_port > 0 && s->kubelet_address && !loopback(s->kubelet_address);
}

void vc__nodesvc_name(const vc_syncer *s, const char *node, char out[VC__NAME_MAX])
{
    char dashed[VC__NAME_MAX];
    snprintf(dashed, sizeof dashed, "%s", node);
    for (char *p = dashed; *p; p++)
        if (*p == '.')
            *p = '-';
    const char *parts[3] = { s->name, "node", dashed };
    vc__safe_concat(out, VC__NAME_MAX, parts, 3);
}

static nodesvc *state_of(vc_syncer *s)
{
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_NODES);
    return c ? c->state : NULL;
}

const char *vc__node_ip(vc_syncer *s, const char *node)
{
    if (!vc__nodesvc_enabled(s))
        return s->kubelet_address;
    nodesvc *n = state_of(s);
    return n ? vc__map_get(&n->ips, node) : NULL;
}

/* The host informer's Services: their ClusterIPs, and their nodes queued
 * (a Service of a node no longer used is deleted by the reconcile). */
static void on_host(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)key;
    vc__ctl *c = ud;
    nodesvc *n = c->state;
    const json_t *o = nobj ? nobj : old;
    const char *node = vc__jpath_str(json_object_get(o, "metadata"), "labels", L_NODE);
    if (!node || !n)
        return;
    const char *ip = nobj ? vc__jpath_str(nobj, "spec", "clusterIP") : NULL;
    void *prev = NULL;
    if (ip && *ip && strcmp(ip, "None") != 0) {
        char *dup = vc__strdup(ip);
        if (dup && vc__map_put(&n->ips, node, dup, &prev) < 0)
            vc__free(dup);
    } else {
        prev = vc__map_del(&n->ips, node);
    }
    vc__free(prev);
    if (!nobj) /* deleted (by us, or by someone): applied again if still used */
        vc__map_del(&n->applied, node);
    vc__sync_enqueue(inf->s, c, node, 0);
}

int vc__nodesvc_init(vc_syncer *s, vc__ctl *c)
{
    if (!vc__nodesvc_enabled(s))
        return VC_OK;
    nodesvc *n = vc__calloc(1, sizeof *n);
    if (!n)
        return vc__error_oom();
    vc__map_init(&n->ips);
    vc__map_init(&n->applied);
    c->state = n;
    c->free_state = nodesvc_free;
    char *sel = vc__sprintf("%s=%s", L_BELONGS, s->name);
    int rc = sel ? vc__informer_new(&c->host, s, s->host, "host kubelet services", "v1", "services", s->host_ns, sel,
                                    NULL, on_host, c)
                 : vc__error_oom();
    vc__free(sel);
    return rc == VC_OK ? vc__informer_set_kind(c->host, "Service") : rc;
}

static bool has_service(vc_syncer *s, vc__ctl *c, const char *node)
{
    char name[VC__NAME_MAX], key[VC__NAME_MAX + 256];
    vc__nodesvc_name(s, node, name);
    snprintf(key, sizeof key, "%s/%s", s->host_ns, name);
    return vc__informer_has(c->host, key);
}

static void applied_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    char *node = ud;
    nodesvc *n = state_of(s);
    if (rc < 0 && n)
        vc__map_del(&n->applied, node); /* the next reconcile tries again */
    vc__free(node);
}

static int apply_one(vc_syncer *s, vc__qitem *it, const char *kind, const char *resource, const char *node,
                     const char *name, json_t *obj)
{
    char *path = vc__obj_path("v1", resource, s->host_ns, name, NULL);
    char *full = path ? vc__sprintf("%s?fieldManager=vcluster-syncer&force=true", path) : NULL;
    char *ud = vc__strdup(node);
    int rc = obj && full && ud ? vc__sync_write_json(s, VC__SIDE_HOST, it, kind, "", node, name, VC_SYNC_UPDATED_HOST,
                                                     "PATCH", full, "application/apply-patch+yaml", obj, applied_done, ud)
                               : vc__error_oom();
    if (rc < 0)
        vc__free(ud);
    vc__free(path);
    vc__free(full);
    json_decref(obj);
    return rc;
}

int vc__nodesvc_ensure(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *node)
{
    nodesvc *n = c->state;
    /* once per run: the proxy's address may have changed since the last
     * one (a restarted pod has a new IP), so the Endpoints are applied
     * again even when the Service is there */
    if (!n || vc__map_get(&n->applied, node))
        return VC_OK;
    char name[VC__NAME_MAX];
    vc__nodesvc_name(s, node, name);
    json_t *svc = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s}},s:{s:[{s:s,s:i,s:i,s:s}]}}", "apiVersion", "v1", "kind",
                            "Service", "metadata", "name", name, "namespace", s->host_ns, "labels", L_BELONGS, s->name,
                            L_NODE, node, "spec", "ports", "name", "kubelet", "port", (json_int_t)VC__NODESVC_PORT,
                            "targetPort", (json_int_t)s->kubelet_port, "protocol", "TCP");
    json_t *ep = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s}},s:[{s:[{s:s}],s:[{s:s,s:i,s:s}]}]}", "apiVersion", "v1",
                           "kind", "Endpoints", "metadata", "name", name, "namespace", s->host_ns, "labels", L_BELONGS,
                           s->name, L_NODE, node, "subsets", "addresses", "ip", s->kubelet_address, "ports", "name",
                           "kubelet", "port", (json_int_t)s->kubelet_port, "protocol", "TCP");
    if (svc && s->set_owner && s->owner_uid && s->service_name)
        json_object_set_new(json_object_get(svc, "metadata"), "ownerReferences",
                            json_pack("[{s:s,s:s,s:s,s:s}]", "apiVersion", "v1", "kind", "Service", "name",
                                      s->service_name, "uid", s->owner_uid));
    int rc = vc__map_put(&n->applied, node, (void *)1, NULL);
    /* Endpoints first: the Service's watch event is what makes the node
     * ready, and by then its backend is there */
    if (rc == VC_OK) {
        rc = apply_one(s, it, "Endpoints", "endpoints", node, name, ep);
        ep = NULL;
    }
    if (rc == VC_OK) {
        rc = apply_one(s, it, "Service", "services", node, name, svc);
        svc = NULL;
    }
    if (rc < 0)
        vc__map_del(&n->applied, node);
    json_decref(svc);
    json_decref(ep);
    return rc;
}

int vc__nodesvc_remove(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *node)
{
    nodesvc *n = c->state;
    if (!n || !has_service(s, c, node))
        return VC_OK;
    /* pods decide which nodes are used: nothing goes before they listed */
    vc__ctl *pods = vc__sync_ctl_of(s, VC__CTL_PODS);
    if (pods && ((pods->virt && !pods->virt->synced) || (pods->host && !pods->host->synced)))
        return VC_ITEROVER;
    char name[VC__NAME_MAX];
    vc__nodesvc_name(s, node, name);
    char *spath = vc__obj_path("v1", "services", s->host_ns, name, NULL);
    char *epath = vc__obj_path("v1", "endpoints", s->host_ns, name, NULL);
    int rc = spath && epath ? vc__sync_write(s, VC__SIDE_HOST, it, "Service", "", node, name, VC_SYNC_DELETED_HOST,
                                             "DELETE", spath, NULL, NULL, NULL, NULL)
                            : vc__error_oom();
    if (rc == VC_OK)
        rc = vc__sync_write(s, VC__SIDE_HOST, it, "Endpoints", "", node, name, VC_SYNC_DELETED_HOST, "DELETE", epath,
                            NULL, NULL, NULL, NULL);
    if (rc == VC_OK)
        vc__map_del(&n->applied, node);
    vc__free(spath);
    vc__free(epath);
    return rc;
}

/* The virtual `default/kubernetes` Endpoints and EndpointSlice point at the
 * virtual API server as the host reaches it: the addresses and ports of the
 * host Endpoints of the vcluster Service (upstream's k8sdefaultendpoint
 * controller). The virtual API server runs with
 * --endpoint-reconciler-type=none, so nothing else writes them. Both are
 * server-side applied when the virtual Endpoints differ from the host's. */
#include <string.h>

#include "sync/sync.h"

#define VKEY "default/kubernetes"

static void on_change(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)key;
    (void)old;
    (void)nobj;
    vc__sync_enqueue(inf->s, ud, VKEY, 0);
}

/* Ready addresses and the ports of the host Endpoints, as one list of
 * {ip, ports} per subset: what both virtual objects are made of. */
static json_t *desired_of(const json_t *h)
{
    json_t *subsets = json_array();
    size_t i, j;
    json_t *ss, *a, *p;
    json_array_foreach(json_object_get(h, "subsets"), i, ss) {
        json_t *ips = json_array(), *ports = json_array();
        json_array_foreach(json_object_get(ss, "addresses"), j, a) {
            json_t *ip = json_object_get(a, "ip");
            if (json_is_string(ip))
                json_array_append_new(ips, json_pack("{s:O}", "ip", ip));
        }
        json_array_foreach(json_object_get(ss, "ports"), j, p) {
            json_t *port = json_object_get(p, "port");
            const char *proto = vc__jstr(p, "protocol");
            /* only the API port: the vcluster Service also has the kubelet
             * port (10250), which would be a second "https" (HTTP 422) */
            const char *pname = vc__jstr(p, "name");
            if (pname && *pname && strcmp(pname, "https") != 0)
                continue;
            if (json_is_integer(port) && json_array_size(ports) == 0)
                json_array_append_new(ports, json_pack("{s:s,s:O,s:s}", "name", "https", "port", port, "protocol",
                                                       proto ? proto : "TCP"));
        }
        if (json_array_size(ips) && json_array_size(ports))
            json_array_append_new(subsets, json_pack("{s:o,s:o}", "addresses", ips, "ports", ports));
        else {
            json_decref(ips);
            json_decref(ports);
        }
    }
    return subsets;
}

/* The EndpointSlice of the same addresses (IPv4 or IPv6 by the first one). */
static json_t *slice_of(const json_t *subsets)
{
    json_t *eps = json_array(), *ports = NULL;
    const char *family = "IPv4";
    size_t i, j;
    json_t *ss, *a;
    json_array_foreach(subsets, i, ss) {
        if (!ports)
            ports = json_deep_copy(json_object_get(ss, "ports"));
        json_array_foreach(json_object_get(ss, "addresses"), j, a) {
            const char *ip = vc__jstr(a, "ip");
            if (ip && strchr(ip, ':'))
                family = "IPv6";
            json_array_append_new(eps, json_pack("{s:[s],s:{s:b}}", "addresses", ip ? ip : "", "conditions", "ready",
                                                 1));
        }
    }
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s}},s:s,s:o,s:o}", "apiVersion", "discovery.k8s.io/v1", "kind",
                     "EndpointSlice", "metadata", "name", "kubernetes", "namespace", "default", "labels",
                     "kubernetes.io/service-name", "kubernetes", "endpointslice.kubernetes.io/managed-by",
                     "vcluster.loft.sh", "addressType", family, "endpoints", eps, "ports",
                     ports ? ports : json_array());
}

static int apply(vc_syncer *s, vc__qitem *it, const char *kind, const char *path, const json_t *obj)
{
    return vc__sync_write_json(s, VC__SIDE_VIRT, it, kind, "default", "kubernetes", s->service_name,
                               VC_SYNC_UPDATED_VIRTUAL, "PATCH", path, "application/apply-patch+yaml", obj, NULL,
                               NULL);
}

static int reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *key)
{
    (void)key;
    char hkey[512];
    snprintf(hkey, sizeof hkey, "%s/%s", s->host_ns, s->service_name);
    json_t *h = NULL, *v = NULL;
    int rc = vc__informer_load(c->host, hkey, &h);
    if (rc == VC_OK)
        rc = vc__informer_load(c->virt, VKEY, &v);
    if (rc < 0 || !h) {
        json_decref(v);
        return rc; /* no host Endpoints yet: their event brings us back */
    }
    json_t *subsets = desired_of(h);
    json_decref(h);
    bool same = subsets && json_equal(subsets, json_object_get(v, "subsets"));
    json_decref(v);
    if (!subsets || same || json_array_size(subsets) == 0) {
        /* unchanged; or no ready address on the host (the virtual API server
         * is restarting): keep the last known one */
        json_decref(subsets);
        return subsets ? VC_OK : vc__error_oom();
    }
    json_t *slice = slice_of(subsets);
    json_t *ep = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:o}", "apiVersion", "v1", "kind", "Endpoints", "metadata",
                           "name", "kubernetes", "namespace", "default", "labels",
                           "endpointslice.kubernetes.io/skip-mirror", "true", "subsets", subsets);
    if (!ep || !slice) {
        json_decref(ep);
        json_decref(slice);
        return vc__error_oom();
    }
    rc = apply(s, it, "EndpointSlice",
               "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes"
               "?fieldManager=vcluster-syncer&force=true",
               slice);
    if (rc == VC_OK)
        rc = apply(s, it, "Endpoints",
                   "/api/v1/namespaces/default/endpoints/kubernetes?fieldManager=vcluster-syncer&force=true", ep);
    json_decref(ep);
    json_decref(slice);
    return rc;
}

int vc__ctl_kube_endpoints_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)arg;
    c->name = "kube-endpoints";
    c->kind = "Endpoints";
    c->reconcile = reconcile;
    int rc = vc__informer_new(&c->host, s, s->host, "host endpoints of the vcluster Service", "v1", "endpoints",
                              s->host_ns, NULL, NULL, on_change, c);
    if (rc == VC_OK)
        rc = vc__informer_new(&c->virt, s, s->virt, "virtual default/kubernetes endpoints", "v1", "endpoints",
                              "default", NULL, NULL, on_change, c);
    if (rc < 0)
        return rc;
    c->host->field_selector = vc__sprintf("metadata.name=%s", s->service_name);
    c->virt->field_selector = vc__strdup("metadata.name=kubernetes");
    if (!c->host->field_selector || !c->virt->field_selector)
        return vc__error_oom();
    rc = vc__informer_set_kind(c->host, "Endpoints");
    return rc == VC_OK ? vc__informer_set_kind(c->virt, "Endpoints") : rc;
}

/* Services, Endpoints and EndpointSlices (upstream services/, endpoints/,
 * endpointslices/ translate.go). */
#include <string.h>

#include "translate/translate.h"

int vc__service_to_host(vc__call *c, json_t *obj)
{
    int rc = vc__host_metadata(c, obj, NULL, 0);
    if (rc < 0)
        return rc;
    json_t *spec = json_object_get(obj, "spec");
    if (!spec)
        return VC_OK;
    if (!json_is_object(spec))
        return vc__bad(c, "must be an object", "/spec");
    json_t *sel = json_object_get(spec, "selector");
    if (sel) {
        json_t *hs = NULL;
        if ((rc = vc__host_label_map(c, sel, "/spec/selector", &hs)) < 0)
            return rc;
        if (hs)
            json_object_set_new_nocheck(spec, "selector", hs);
        else
            json_object_del(spec, "selector");
    }
    /* the host allocates its own ClusterIP (headless stays headless) and IP
     * families; node ports are the host's business */
    if (!vc__streq(vc__jstr(spec, "clusterIP"), "None"))
        json_object_del(spec, "clusterIP");
    json_object_del(spec, "clusterIPs");
    json_object_del(spec, "ipFamilies");
    json_object_del(spec, "ipFamilyPolicy");
    json_t *ports = json_object_get(spec, "ports");
    if (ports && !json_is_array(ports))
        return vc__bad(c, "must be a list", "/spec/ports");
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p) {
        if (!json_is_object(p))
            return vc__bad(c, "must be an object", "/spec/ports/%zu", i);
        json_object_del(p, "nodePort");
    }
    return VC_OK;
}

/* targetRef of kind Pod -> the host pod; uid/resourceVersion dropped (they
 * name the virtual pod). */
static int target_ref(vc__call *c, json_t *ref, bool clear_ids)
{
    if (!json_is_object(ref) || !vc__streq(vc__jstr(ref, "kind"), "Pod"))
        return VC_OK;
    const char *name = vc__jstr(ref, "name");
    const char *ns = vc__jstr(ref, "namespace");
    if (!name || !*name)
        return VC_OK;
    char hn[VC__NAME_MAX];
    vc__host_name_ns(c->t, name, ns ? ns : c->vns, hn);
    if (vc__set_str(ref, "name", hn) < 0 || json_object_set_nocheck(ref, "namespace", c->t->s_host_ns) < 0)
        return vc__error_oom();
    if (clear_ids) {
        json_object_del(ref, "uid");
        json_object_del(ref, "resourceVersion");
    }
    return VC_OK;
}

int vc__endpoints_to_host(vc__call *c, json_t *obj)
{
    int rc = vc__host_metadata(c, obj, NULL, 0);
    if (rc < 0)
        return rc;
    json_t *subsets = json_object_get(obj, "subsets");
    if (subsets && !json_is_array(subsets) && !json_is_null(subsets))
        return vc__bad(c, "must be a list", "/subsets");
    size_t i, j;
    json_t *ss, *addr;
    json_array_foreach(subsets, i, ss) {
        static const char *const lists[] = { "addresses", "notReadyAddresses" };
        for (size_t l = 0; l < 2; l++) {
            VC__ARRAY_FOREACH(vc__jarr(ss, lists[l]), j, addr) {
                if ((rc = target_ref(c, json_object_get(addr, "targetRef"), true)) < 0)
                    return rc;
            }
        }
    }
    return VC_OK;
}

int vc__endpointslice_to_host(vc__call *c, json_t *obj)
{
    const char *svc = vc__jpath_str(c->vmeta, "labels", "kubernetes.io/service-name");
    char hsvc[VC__NAME_MAX];
    if (svc)
        vc__host_name(c->t, vc__kind_get(VC__K_SERVICE), c->vns, svc, hsvc);
    int rc = vc__host_metadata(c, obj, NULL, 0);
    if (rc < 0)
        return rc;
    if (svc && vc__set_str(vc__jobj(vc__jobj(obj, "metadata"), "labels"), "kubernetes.io/service-name", hsvc) < 0)
        return VC_ENOMEM;
    json_t *eps = json_object_get(obj, "endpoints");
    if (eps && !json_is_array(eps) && !json_is_null(eps))
        return vc__bad(c, "must be a list", "/endpoints");
    size_t i;
    json_t *ep;
    json_array_foreach(eps, i, ep) {
        if ((rc = target_ref(c, json_object_get(ep, "targetRef"), false)) < 0)
            return rc;
    }
    return VC_OK;
}

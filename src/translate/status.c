/* Host -> virtual: status of Pods, Services, PVCs and Ingresses, and pod binding
 * (upstream pods/translate/diff.go, services/syncer.go, persistentvolumeclaims/syncer.go). */
#include <string.h>

#include "translate/translate.h"

static bool name_in(const json_t *containers, const char *name)
{
    size_t i;
    json_t *ct;
    json_array_foreach(containers, i, ct) if (vc__streq(vc__jstr(ct, "name"), name)) return true;
    return false;
}

/* Keep only statuses of containers the virtual pod declares: the host may
 * inject some (the /etc/hosts rewrite container, sidecars). */
static int filter_statuses(json_t *status, const char *key, const json_t *containers)
{
    json_t *in = vc__jarr(status, key);
    if (!in)
        return VC_OK;
    json_t *outl = json_array();
    if (!outl)
        return vc__error_oom();
    size_t i;
    json_t *s;
    json_array_foreach(in, i, s) {
        if (name_in(containers, vc__jstr(s, "name")) && json_array_append(outl, s) < 0) {
            json_decref(outl);
            return vc__error_oom();
        }
    }
    return json_object_set_new_nocheck(status, key, outl) == 0 ? VC_OK : vc__error_oom();
}

static int pod_status(vc_translator *t, json_t *out, const json_t *host)
{
    (void)t;
    json_t *hs = vc__jobj(host, "status");
    json_t *st = hs ? json_deep_copy(hs) : json_object();
    if (!st)
        return vc__error_oom();
    json_t *vspec = vc__jobj(out, "spec");
    json_t *qos = json_object_get(vc__jobj(out, "status"), "qosClass");
    if (json_is_string(qos) && *json_string_value(qos))
        json_object_set_nocheck(st, "qosClass", qos);
    else
        json_object_del(st, "qosClass");
    int rc;
    if ((rc = filter_statuses(st, "containerStatuses", vc__jarr(vspec, "containers"))) < 0 ||
        (rc = filter_statuses(st, "initContainerStatuses", vc__jarr(vspec, "initContainers"))) < 0) {
        json_decref(st);
        return rc;
    }
    return json_object_set_new_nocheck(out, "status", st) == 0 ? VC_OK : vc__error_oom();
}

static int service_status(vc_translator *t, json_t *out, const json_t *host)
{
    (void)t;
    json_t *hspec = vc__jobj(host, "spec");
    json_t *hs = vc__jobj(host, "status");
    json_t *st = hs ? json_deep_copy(hs) : json_object();
    if (!st)
        return vc__error_oom();
    if (!vc__streq(vc__jstr(hspec, "type"), "LoadBalancer")) {
        json_t *lb = vc__jobj(st, "loadBalancer");
        if (lb)
            json_object_del(lb, "ingress");
    }
    json_object_set_new_nocheck(out, "status", st);
    json_t *vspec = vc__jobj(out, "spec");
    if (!vspec)
        return VC_OK;
    /* the virtual Service carries the host's ClusterIP (upstream recreates
     * the virtual Service when they differ) */
    json_t *ip = json_object_get(hspec, "clusterIP"), *ips = json_object_get(hspec, "clusterIPs");
    if (json_is_string(ip))
        json_object_set_nocheck(vspec, "clusterIP", ip);
    if (json_is_array(ips))
        json_object_set_nocheck(vspec, "clusterIPs", ips);
    /* node ports, the health check's among them, are allocated by the host */
    json_t *hc = json_object_get(hspec, "healthCheckNodePort");
    if (json_is_integer(hc))
        json_object_set_nocheck(vspec, "healthCheckNodePort", hc);
    else
        json_object_del(vspec, "healthCheckNodePort");
    size_t i, j;
    json_t *vp, *hp;
    VC__ARRAY_FOREACH(vc__jarr(vspec, "ports"), i, vp) {
        VC__ARRAY_FOREACH(vc__jarr(hspec, "ports"), j, hp) {
            if (json_equal(json_object_get(vp, "port"), json_object_get(hp, "port")) &&
                vc__streq(vc__jstr(vp, "protocol") ? vc__jstr(vp, "protocol") : "TCP",
                          vc__jstr(hp, "protocol") ? vc__jstr(hp, "protocol") : "TCP")) {
                json_t *np = json_object_get(hp, "nodePort");
                if (np)
                    json_object_set_nocheck(vp, "nodePort", np);
                else
                    json_object_del(vp, "nodePort");
                break;
            }
        }
    }
    return VC_OK;
}

/* upstream ingresses/syncer.go: the host's status as it is (the
 * loadBalancer addresses the host's ingress controller publishes) */
static int ingress_status(json_t *out, const json_t *host)
{
    json_t *hs = vc__jobj(host, "status");
    json_t *st = hs ? json_deep_copy(hs) : json_object();
    if (!st || json_object_set_new_nocheck(out, "status", st) < 0)
        return vc__error_oom();
    return VC_OK;
}

static int pvc_status(vc_translator *t, json_t *out, const json_t *host)
{
    json_t *hs = vc__jobj(host, "status");
    json_t *st = hs ? json_deep_copy(hs) : json_object();
    if (!st || json_object_set_new_nocheck(out, "status", st) < 0)
        return vc__error_oom();
    static const char *const keys[] = {
        "pv.kubernetes.io/bind-completed",
        "pv.kubernetes.io/bound-by-controller",
        "volume.beta.kubernetes.io/storage-provisioner",
    };
    json_t *meta = vc__jobj(out, "metadata");
    json_t *hann = vc__jobj(vc__jobj(host, "metadata"), "annotations");
    for (size_t i = 0; meta && i < 3; i++) {
        json_t *vann = vc__jobj(meta, "annotations");
        const char *hv = vc__jstr(hann, keys[i]), *vv = vc__jstr(vann, keys[i]);
        if (vc__streq(hv ? hv : "", vv ? vv : ""))
            continue;
        if (!vann) {
            vann = json_object();
            if (!vann || json_object_set_new_nocheck(meta, "annotations", vann) < 0)
                return vc__error_oom();
        }
        if (vc__set_str(vann, keys[i], hv ? hv : "") < 0)
            return VC_ENOMEM;
    }
    const char *hvol = vc__jpath_str(host, "spec", "volumeName");
    json_t *vspec = vc__jobj(out, "spec");
    if (hvol && *hvol && vspec) {
        char *vns = NULL, *vname = NULL;
        const vc__kind *pv = vc__kind_get(VC__K_PV);
        if (vc__virtual_name_by_name(t, pv, "", hvol, &vns, &vname) == VC_OK) {
            int rc = vc__set_str(vspec, "volumeName", vname);
            vc__free(vns);
            vc__free(vname);
            if (rc < 0)
                return rc;
        } else if (vc__kind_synced(t, pv)) {
            /* a host PV not made from a virtual one (dynamic provisioning)
             * is copied in under its own name (upstream's PV mapper) */
            vc_error_clear();
            return vc__set_str(vspec, "volumeName", hvol);
        }
        vc_error_clear();
    }
    return VC_OK;
}

int vc__translate_status_to_virtual(json_t **out, vc_translator *t, const json_t *host, const json_t *virt)
{
    *out = NULL;
    if (!json_is_object(host) || !json_is_object(virt))
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "status: host and virtual objects must be JSON objects");
    const vc__kind *k = vc__kind_lookup(vc__jstr(virt, "kind"), vc__jstr(virt, "apiVersion"));
    const vc__kind *hk = vc__kind_lookup(vc__jstr(host, "kind"), vc__jstr(host, "apiVersion"));
    if (!k || (hk && hk != k) ||
        (k->id != VC__K_POD && k->id != VC__K_SERVICE && k->id != VC__K_PVC && k->id != VC__K_INGRESS))
        return vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_TRANSLATE,
                         "status back-sync is defined for Pod, Service, PersistentVolumeClaim and Ingress, not %s",
                         vc__jstr(virt, "kind") ? vc__jstr(virt, "kind") : "an object without kind");
    json_t *res = json_deep_copy(virt);
    if (!res)
        return vc__error_oom();
    int rc = k->id == VC__K_POD       ? pod_status(t, res, host)
             : k->id == VC__K_SERVICE ? service_status(t, res, host)
             : k->id == VC__K_INGRESS ? ingress_status(res, host)
                                      : pvc_status(t, res, host);
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return VC_OK;
}

int vc__translate_pod_binding(json_t **out, vc_translator *t, const json_t *host, const json_t *virt)
{
    (void)t;
    *out = NULL;
    const char *hn = vc__jpath_str(host, "spec", "nodeName");
    const char *vn = vc__jpath_str(virt, "spec", "nodeName");
    const char *name = vc__jpath_str(virt, "metadata", "name");
    const char *ns = vc__jpath_str(virt, "metadata", "namespace");
    if (!json_is_object(host) || !json_is_object(virt) || !name)
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "binding: the pods must be JSON objects with a name");
    if (!hn || !*hn || vc__streq(hn, vn))
        return VC_OK;
    if (vn && *vn)
        return vc__error(VC_ECONFLICT, VC_ERRCLASS_TRANSLATE,
                         "Pod %s/%s: virtual pod is bound to %s but its host pod runs on %s", ns ? ns : "", name, vn,
                         hn);
    json_t *b = json_pack("{sssss{ssss}s{ssssss}}", "apiVersion", "v1", "kind", "Binding", "metadata", "name", name,
                          "namespace", ns ? ns : "default", "target", "apiVersion", "v1", "kind", "Node", "name", hn);
    if (!b)
        return vc__error_oom();
    json_t *uid = json_object_get(vc__jobj(virt, "metadata"), "uid");
    if (json_is_string(uid))
        json_object_set_nocheck(vc__jobj(b, "metadata"), "uid", uid);
    *out = b;
    return VC_OK;
}

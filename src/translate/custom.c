/* Custom resources (sync.toHost/fromHost.customResources): objects of a kind
 * the kinds table does not know, named by the config. Pure, like the rest of
 * src/translate.
 *
 * toHost: a namespaced virtual object becomes a host object in the host
 * namespace under the translated name, with the same labels, annotations and
 * bookkeeping as the generic kinds (vc__host_metadata); every other
 * top-level field (spec and the like) is copied as it is, status is left to
 * the host.
 *
 * fromHost: a host object becomes a read-only virtual copy: its name and
 * namespace come from the mapping, labels and annotations are copied, two
 * annotations name the host original, server fields are cleared. */
#include <string.h>

#include "translate/translate.h"

#define A_FROM_HOST_NAME "vcluster.loft.sh/object-host-name"
#define A_FROM_HOST_NAMESPACE "vcluster.loft.sh/object-host-namespace"
#define A_FROM_HOST_MARK "vcluster.loft.sh/synced-from-host"

int vc__translate_custom_to_host(json_t **out, vc_translator *t, json_t *vobj, const vc__custom_kind *ck)
{
    *out = NULL;
    vc__kind k;
    memset(&k, 0, sizeof k);
    k.id = VC__K_COUNT; /* none of the special cases */
    k.kind = ck->kind;
    k.group = ck->group;
    k.version = ck->version;
    k.api_version = ck->api_version;
    k.gvk = ck->gvk;
    k.plural = ck->plural;
    k.namespaced = true;
    vc__call c;
    memset(&c, 0, sizeof c);
    c.t = t;
    c.kind = &k;
    c.vobj = vobj;
    json_t *meta = json_object_get(vobj, "metadata");
    const char *name = vc__jstr(meta, "name"), *ns = vc__jstr(meta, "namespace");
    int rc = VC_OK;
    if (!json_is_object(vobj) || !name || !vc__is_dns1123_subdomain(name))
        rc = vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "%s: metadata.name: must be a DNS-1123 subdomain", ck->kind);
    else if (!ns || !vc__is_dns1123_label(ns))
        rc = vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "%s %s: metadata.namespace: required (namespaced kind)",
                       ck->kind, name);
    else if ((rc = vc__check_string_map(&c, json_object_get(meta, "labels"), "/metadata/labels")) == VC_OK)
        rc = vc__check_string_map(&c, json_object_get(meta, "annotations"), "/metadata/annotations");
    if (rc < 0) {
        json_decref(vobj);
        return rc;
    }
    c.vname = name;
    c.vns = ns;
    c.vmeta = json_incref(meta);
    vc__host_name_ns(t, name, ns, c.hname);
    rc = vc__host_metadata(&c, vobj, NULL, 0);
    json_decref(c.vmeta);
    json_decref(c.scratch);
    vc__call_release(&c);
    json_decref(c.extra);
    if (rc < 0) {
        json_decref(vobj);
        return rc;
    }
    *out = vobj;
    return VC_OK;
}

static const char *const k_server_fields[] = { "uid", "resourceVersion", "creationTimestamp", "managedFields",
                                               "generation", "selfLink", "deletionTimestamp",
                                               "deletionGracePeriodSeconds", "ownerReferences", "finalizers" };

int vc__translate_custom_from_host(json_t **out, const json_t *host, const char *vns, const char *vname)
{
    *out = NULL;
    const json_t *hmeta = vc__jobj(host, "metadata");
    const char *hname = vc__jstr(hmeta, "name"), *hns = vc__jstr(hmeta, "namespace");
    if (!hname || !vname || !*vname)
        return vc__error(VC_EINVAL, VC_ERRCLASS_TRANSLATE, "host object without a name");
    json_t *o = json_deep_copy(host);
    json_t *meta = o ? json_object_get(o, "metadata") : NULL;
    if (!meta) {
        json_decref(o);
        return vc__error_oom();
    }
    for (size_t i = 0; i < VC__ARRAY_LEN(k_server_fields); i++)
        json_object_del(meta, k_server_fields[i]);
    json_t *ann = json_object_get(meta, "annotations");
    if (!json_is_object(ann)) {
        ann = json_object();
        if (!ann || json_object_set_new(meta, "annotations", ann) < 0) {
            json_decref(o);
            return vc__error_oom();
        }
    }
    /* the host's own bookkeeping of a toHost copy never comes back */
    json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
    int rc = vc__set_str(meta, "name", vname);
    if (rc == VC_OK)
        rc = vns && *vns ? vc__set_str(meta, "namespace", vns) : (json_object_del(meta, "namespace"), VC_OK);
    if (rc == VC_OK)
        rc = vc__set_str(ann, A_FROM_HOST_NAME, hname);
    if (rc == VC_OK && hns && *hns)
        rc = vc__set_str(ann, A_FROM_HOST_NAMESPACE, hns);
    if (rc == VC_OK)
        rc = vc__set_str(ann, A_FROM_HOST_MARK, "true");
    if (rc < 0) {
        json_decref(o);
        return vc__error_oom();
    }
    *out = o;
    return VC_OK;
}

bool vc__custom_is_host_copy(const json_t *virt)
{
    const json_t *ann = vc__jobj(vc__jobj(virt, "metadata"), "annotations");
    return vc__streq(vc__jstr(ann, A_FROM_HOST_MARK), "true");
}

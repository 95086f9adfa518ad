/* The translated kinds, as data: what each is called, whether it is
 * namespaced, which sync option gates it, which annotations stay virtual and
 * which function rewrites its spec. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "translate/translate.h"

static const char *const k_ex_none[] = { NULL };
/* services/syncer.go: RancherPublicEndpointsAnnotation */
static const char *const k_ex_service[] = { "field.cattle.io/publicEndpoints", NULL };
/* endpoints/syncer.go, endpointslices/syncer.go */
static const char *const k_ex_endpoints[] = { "control-plane.alpha.kubernetes.io/leader", NULL };
/* persistentvolumeclaims/syncer.go */
static const char *const k_ex_pvc[] = {
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner",
    NULL,
};
static const char *const k_ex_pv[] = { VC__A_HOST_PV, NULL };
static const char *const k_ex_storageclass[] = { "storageclass.kubernetes.io/is-default-class", NULL };
static const char *const k_ex_ingress[] = { "field.cattle.io/publicEndpoints", NULL };

static const vc__kind k_kinds[VC__K_COUNT] = {
    { VC__K_POD, "Pod", "", "v1", "v1", "/v1, Kind=Pod", "pods", true, 0, k_ex_none, vc__pod_to_host },
    { VC__K_SERVICE, "Service", "", "v1", "v1", "/v1, Kind=Service", "services", true, 0, k_ex_service,
      vc__service_to_host },
    { VC__K_ENDPOINTS, "Endpoints", "", "v1", "v1", "/v1, Kind=Endpoints", "endpoints", true, 0,
      k_ex_endpoints, vc__endpoints_to_host },
    { VC__K_ENDPOINTSLICE, "EndpointSlice", "discovery.k8s.io", "v1", "discovery.k8s.io/v1",
      "discovery.k8s.io/v1, Kind=EndpointSlice", "endpointslices", true, 0, k_ex_endpoints,
      vc__endpointslice_to_host },
    { VC__K_CONFIGMAP, "ConfigMap", "", "v1", "v1", "/v1, Kind=ConfigMap", "configmaps", true, 0, k_ex_none,
      NULL },
    { VC__K_SECRET, "Secret", "", "v1", "v1", "/v1, Kind=Secret", "secrets", true, 0, k_ex_none,
      vc__secret_to_host },
    { VC__K_PVC, "PersistentVolumeClaim", "", "v1", "v1", "/v1, Kind=PersistentVolumeClaim",
      "persistentvolumeclaims", true, 0, k_ex_pvc, vc__pvc_to_host },
    { VC__K_STORAGECLASS, "StorageClass", "storage.k8s.io", "v1", "storage.k8s.io/v1",
      "storage.k8s.io/v1, Kind=StorageClass", "storageclasses", false, VC_TRANSLATE_SYNC_STORAGE_CLASSES,
      k_ex_storageclass, NULL },
    { VC__K_PV, "PersistentVolume", "", "v1", "v1", "/v1, Kind=PersistentVolume", "persistentvolumes", false,
      VC_TRANSLATE_SYNC_PERSISTENT_VOLUMES, k_ex_pv, vc__pv_to_host },
    { VC__K_PRIORITYCLASS, "PriorityClass", "scheduling.k8s.io", "v1", "scheduling.k8s.io/v1",
      "scheduling.k8s.io/v1, Kind=PriorityClass", "priorityclasses", false, VC_TRANSLATE_SYNC_PRIORITY_CLASSES,
      k_ex_none, vc__priorityclass_to_host },
    { VC__K_INGRESS, "Ingress", "networking.k8s.io", "v1", "networking.k8s.io/v1",
      "networking.k8s.io/v1, Kind=Ingress", "ingresses", true, VC_TRANSLATE_SYNC_INGRESSES, k_ex_ingress,
      vc__ingress_to_host },
    { VC__K_NETWORKPOLICY, "NetworkPolicy", "networking.k8s.io", "v1", "networking.k8s.io/v1",
      "networking.k8s.io/v1, Kind=NetworkPolicy", "networkpolicies", true, VC_TRANSLATE_SYNC_NETWORK_POLICIES,
      k_ex_none, vc__networkpolicy_to_host },
    { VC__K_SERVICEACCOUNT, "ServiceAccount", "", "v1", "v1", "/v1, Kind=ServiceAccount", "serviceaccounts",
      true, VC_TRANSLATE_SYNC_SERVICE_ACCOUNTS, k_ex_none, vc__serviceaccount_to_host },
    { VC__K_PDB, "PodDisruptionBudget", "policy", "v1", "policy/v1", "policy/v1, Kind=PodDisruptionBudget",
      "poddisruptionbudgets", true, VC_TRANSLATE_SYNC_POD_DISRUPTION_BUDGETS, k_ex_none, vc__pdb_to_host },
};

const vc__kind *vc__kind_get(vc__kind_id id)
{
    return (unsigned)id < VC__K_COUNT ? &k_kinds[id] : NULL;
}

/* The group part of an apiVersion ("" for "v1"). */
static void api_group(const char *api_version, char *out, size_t cap)
{
    const char *slash = strchr(api_version, '/');
    size_t n = slash ? (size_t)(slash - api_version) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, api_version, n);
    out[n] = '\0';
}

const vc__kind *vc__kind_lookup(const char *kind, const char *api_version)
{
    if (!kind)
        return NULL;
    for (size_t i = 0; i < VC__K_COUNT; i++) {
        if (strcmp(k_kinds[i].kind, kind) != 0)
            continue;
        if (api_version && *api_version) {
            char g[128];
            api_group(api_version, g, sizeof g);
            if (strcmp(g, k_kinds[i].group) != 0)
                return NULL;
        }
        return &k_kinds[i];
    }
    return NULL;
}

const vc__kind *vc__kind_by_name(const char *name)
{
    if (!name)
        return NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < VC__K_COUNT; i++) {
        const vc__kind *k = &k_kinds[i];
        if (!strcasecmp(name, k->kind) || !strcasecmp(name, k->plural))
            return k;
        /* singular: the plural without its "s"/"es" ending */
        size_t pl = strlen(k->plural);
        if (!strcasecmp(name, k->kind) || (n + 1 == pl && !strncasecmp(name, k->plural, n)))
            return k;
        if (n + 2 == pl && !strncasecmp(name, k->plural, n) && !strcasecmp(k->plural + n, "es"))
            return k;
    }
    /* "pvc", "pv", "pdb", "sa", "svc", "cm", "ep", "netpol", "pc", "sc", "ing" */
    static const struct {
        const char *s;
        vc__kind_id id;
    } shorts[] = {
        { "pvc", VC__K_PVC }, { "pv", VC__K_PV }, { "pdb", VC__K_PDB }, { "sa", VC__K_SERVICEACCOUNT },
        { "svc", VC__K_SERVICE }, { "cm", VC__K_CONFIGMAP }, { "ep", VC__K_ENDPOINTS },
        { "netpol", VC__K_NETWORKPOLICY }, { "pc", VC__K_PRIORITYCLASS }, { "sc", VC__K_STORAGECLASS },
        { "ing", VC__K_INGRESS }, { "po", VC__K_POD },
    };
    for (size_t i = 0; i < VC__ARRAY_LEN(shorts); i++)
        if (!strcasecmp(name, shorts[i].s))
            return &k_kinds[shorts[i].id];
    return NULL;
}

bool vc__kind_synced(const vc_translator *t, const vc__kind *k)
{
    return !k->sync_flag || (t->sync & k->sync_flag);
}

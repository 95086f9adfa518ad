/*
 * 2022-era values (vcluster <= v0.19 charts: k3s, k8s, k0s, eks) rewritten to
 * current keys, following upstream's config/legacyconfig/migrate.go rules
 * (see doc/config.md, "Legacy keys"). Every legacy key is either rewritten,
 * accepted as a no-op only when it holds the old default, or refused with
 * a message that says what to use instead: never silently dropped.
 */
#include <string.h>

#include "config/config.h"

typedef enum lact {
    LA_SET = 1,     /* same value, new key */
    LA_NOT,         /* boolean inverted (telemetry.disabled) */
    LA_STRBOOL,     /* boolean into a true/false/auto switch */
    LA_MAX,         /* integer; the largest of several legacy keys wins */
    LA_IMAGE,       /* "repo:tag" string into {registry, repository, tag} */
    LA_NODESEL,     /* "k=v,k2=v2" into a label mapping */
    LA_ERROR,       /* refused with `msg` */
    LA_DEFAULT_ONLY,/* accepted when it holds the old default (false, [], {}, ""), else `msg` */
    LA_FAKE,        /* fake-nodes / fake-persistentvolumes */
    LA_INGRESSES,   /* sync.ingresses: also implies fromHost.ingressClasses */
    LA_VCLUSTER_IMAGE, /* vcluster.image: the k3s (or k0s) image */
    LA_LATER        /* read by vc__cfg_legacy_finish (isolation.*, enableHA) */
} lact;

struct vc__cfg_legacy {
    const char *path;
    int type;           /* vc__cfg_type the legacy value must have */
    int action;         /* lact */
    const char *target; /* current key */
    const char *msg;    /* LA_ERROR / LA_DEFAULT_ONLY */
};

#define TH "sync.toHost."
#define FH "sync.fromHost."
#define ED "controlPlane.backingStore.etcd.deploy.statefulSet."
#define SSP "controlPlane.statefulSet.persistence.volumeClaim."
#define HA "controlPlane.statefulSet.highAvailability.replicas"
/* Pod placement and metadata of a 2022 component mapped onto a current
 * workload (syncer -> the control-plane StatefulSet, etcd -> the deployed
 * etcd StatefulSet). */
#define PLACEMENT(old, sts, sec)                                                                  \
    { old ".nodeSelector", VC__CT_STRMAP, LA_SET, sts "scheduling.nodeSelector", 0 },              \
    { old ".affinity", VC__CT_OBJECT, LA_SET, sts "scheduling.affinity", 0 },                      \
    { old ".tolerations", VC__CT_LIST, LA_SET, sts "scheduling.tolerations", 0 },                  \
    { old ".priorityClassName", VC__CT_STR, LA_SET, sts "scheduling.priorityClassName", 0 },       \
    { old ".labels", VC__CT_STRMAP, LA_SET, sts "labels", 0 },                                     \
    { old ".annotations", VC__CT_STRMAP, LA_SET, sts "annotations", 0 },                           \
    { old ".podLabels", VC__CT_STRMAP, LA_SET, sts "pods.labels", 0 },                             \
    { old ".podAnnotations", VC__CT_STRMAP, LA_SET, sts "pods.annotations", 0 },                   \
    { old ".securityContext", VC__CT_OBJECT, LA_SET, sec, 0 }
/* The same keys of components that now live inside the control-plane pod:
 * accepted only with their old (empty) defaults. */
#define IN_POD(old)                                                                               \
    { old ".nodeSelector", 0, LA_DEFAULT_ONLY, 0, MERGED },                                       \
    { old ".affinity", 0, LA_DEFAULT_ONLY, 0, MERGED },                                           \
    { old ".tolerations", 0, LA_DEFAULT_ONLY, 0, MERGED },                                        \
    { old ".priorityClassName", 0, LA_DEFAULT_ONLY, 0, MERGED },                                  \
    { old ".labels", 0, LA_DEFAULT_ONLY, 0, MERGED },                                             \
    { old ".annotations", 0, LA_DEFAULT_ONLY, 0, MERGED },                                        \
    { old ".podLabels", 0, LA_DEFAULT_ONLY, 0, MERGED },                                          \
    { old ".podAnnotations", 0, LA_DEFAULT_ONLY, 0, MERGED },                                     \
    { old ".securityContext", 0, LA_DEFAULT_ONLY, 0, MERGED },                                    \
    { old ".resources", 0, LA_DEFAULT_ONLY, 0, MERGED }
#define MERGED "this component runs inside the control-plane pod now: use controlPlane.statefulSet.* " \
               "(scheduling, labels, resources) or controlPlane.distro.k8s.*"
#define NO_GENERIC "generic sync is no longer supported: use sync.toHost/fromHost.customResources"

/* clang-format off */
static const vc__cfg_legacy k_legacy[] = {
    { "sync.services.enabled", VC__CT_BOOL, LA_SET, TH "services.enabled", 0 },
    { "sync.configmaps.enabled", VC__CT_BOOL, LA_SET, TH "configMaps.enabled", 0 },
    { "sync.configmaps.all", VC__CT_BOOL, LA_SET, TH "configMaps.all", 0 },
    { "sync.secrets.enabled", VC__CT_BOOL, LA_SET, TH "secrets.enabled", 0 },
    { "sync.secrets.all", VC__CT_BOOL, LA_SET, TH "secrets.all", 0 },
    { "sync.endpoints.enabled", VC__CT_BOOL, LA_SET, TH "endpoints.enabled", 0 },
    { "sync.pods.enabled", VC__CT_BOOL, LA_SET, TH "pods.enabled", 0 },
    { "sync.pods.ephemeralContainers", VC__CT_BOOL, LA_DEFAULT_ONLY, 0,
      "syncing ephemeral containers is not supported; remove the key" },
    { "sync.pods.status", VC__CT_BOOL, LA_DEFAULT_ONLY, 0,
      "syncing pod status to the host is not supported; remove the key" },
    { "sync.events.enabled", VC__CT_BOOL, LA_SET, FH "events.enabled", 0 },
    { "sync.persistentvolumeclaims.enabled", VC__CT_BOOL, LA_SET, TH "persistentVolumeClaims.enabled", 0 },
    { "sync.ingresses.enabled", VC__CT_BOOL, LA_INGRESSES, TH "ingresses.enabled", 0 },
    { "sync.ingressclasses.enabled", VC__CT_BOOL, LA_SET, FH "ingressClasses.enabled", 0 },
    { "sync.fake-nodes.enabled", VC__CT_BOOL, LA_FAKE, FH "nodes.enabled",
      "false is not supported: fake nodes are used whenever sync.fromHost.nodes.enabled is false" },
    { "sync.fake-persistentvolumes.enabled", VC__CT_BOOL, LA_FAKE, TH "persistentVolumes.enabled",
      "false is not supported: fake PersistentVolumes are used whenever sync.toHost.persistentVolumes.enabled "
      "is false" },
    { "sync.nodes.enabled", VC__CT_BOOL, LA_SET, FH "nodes.enabled", 0 },
    { "sync.nodes.syncAllNodes", VC__CT_BOOL, LA_SET, FH "nodes.selector.all", 0 },
    { "sync.nodes.nodeSelector", VC__CT_STR, LA_NODESEL, FH "nodes.selector.labels", 0 },
    { "sync.nodes.enableScheduler", VC__CT_BOOL, LA_SET, "controlPlane.advanced.virtualScheduler.enabled", 0 },
    { "sync.nodes.syncNodeChanges", VC__CT_BOOL, LA_SET, FH "nodes.syncBackChanges", 0 },
    { "sync.nodes.clearImageStatus", VC__CT_BOOL, LA_SET, FH "nodes.clearImageStatus", 0 },
    { "sync.persistentvolumes.enabled", VC__CT_BOOL, LA_SET, TH "persistentVolumes.enabled", 0 },
    { "sync.storageclasses.enabled", VC__CT_BOOL, LA_SET, TH "storageClasses.enabled", 0 },
    { "sync.legacy-storageclasses.enabled", VC__CT_BOOL, LA_STRBOOL, FH "storageClasses.enabled", 0 },
    { "sync.hoststorageclasses.enabled", VC__CT_BOOL, LA_STRBOOL, FH "storageClasses.enabled", 0 },
    { "sync.priorityclasses.enabled", VC__CT_BOOL, LA_SET, TH "priorityClasses.enabled", 0 },
    { "sync.networkpolicies.enabled", VC__CT_BOOL, LA_SET, TH "networkPolicies.enabled", 0 },
    { "sync.volumesnapshots.enabled", VC__CT_BOOL, LA_SET, TH "volumeSnapshots.enabled", 0 },
    { "sync.poddisruptionbudgets.enabled", VC__CT_BOOL, LA_SET, TH "podDisruptionBudgets.enabled", 0 },
    { "sync.serviceaccounts.enabled", VC__CT_BOOL, LA_SET, TH "serviceAccounts.enabled", 0 },
    { "sync.csidrivers.enabled", VC__CT_BOOL, LA_STRBOOL, FH "csiDrivers.enabled", 0 },
    { "sync.csinodes.enabled", VC__CT_BOOL, LA_STRBOOL, FH "csiNodes.enabled", 0 },
    { "sync.csistoragecapacities.enabled", VC__CT_BOOL, LA_STRBOOL, FH "csiStorageCapacities.enabled", 0 },
    { "sync.generic", 0, LA_ERROR, 0, NO_GENERIC },
    { "mapServices.fromVirtual", VC__CT_SVCMAPS, LA_SET, "networking.replicateServices.toHost", 0 },
    { "mapServices.fromHost", VC__CT_SVCMAPS, LA_SET, "networking.replicateServices.fromHost", 0 },
    { "multiNamespaceMode.enabled", VC__CT_BOOL, LA_SET, TH "namespaces.enabled", 0 },
    { "enableHA", VC__CT_BOOL, LA_LATER, 0, 0 },
    { "embeddedEtcd.enabled", VC__CT_BOOL, LA_SET, "controlPlane.backingStore.etcd.embedded.enabled", 0 },
    { "syncer.replicas", VC__CT_INT, LA_MAX, HA, "1..2147483647" },
    { "syncer.image", VC__CT_STR, LA_IMAGE, "controlPlane.statefulSet.image", 0 },
    { "syncer.resources", VC__CT_RESOURCES, LA_SET, "controlPlane.statefulSet.resources", 0 },
    { "syncer.storage.persistence", VC__CT_BOOL, LA_STRBOOL, SSP "enabled", 0 },
    { "syncer.storage.size", VC__CT_STR, LA_SET, SSP "size", "quantity" },
    { "syncer.storage.className", VC__CT_STR, LA_SET, SSP "storageClass", 0 },
    { "syncer.extraArgs", VC__CT_STRLIST, LA_DEFAULT_ONLY, 0,
      "syncer flags are not supported; set the matching vcluster.yaml keys instead (see doc/config.md)" },
    PLACEMENT("syncer", "controlPlane.statefulSet.", "controlPlane.statefulSet.security.containerSecurityContext"),
    { "syncer.podSecurityContext", VC__CT_OBJECT, LA_SET, "controlPlane.statefulSet.security.podSecurityContext", 0 },
    PLACEMENT("etcd", ED, ED "security.containerSecurityContext"),
    IN_POD("api"),
    IN_POD("controller"),
    IN_POD("scheduler"),
    { "api.replicas", VC__CT_INT, LA_MAX, HA, "1..2147483647" },
    { "api.image", VC__CT_STR, LA_IMAGE, "controlPlane.distro.k8s.image", 0 },
    { "api.extraArgs", VC__CT_STRLIST, LA_SET, "controlPlane.distro.k8s.apiServer.extraArgs", 0 },
    { "controller.replicas", VC__CT_INT, LA_MAX, HA, "1..2147483647" },
    { "controller.image", VC__CT_STR, LA_IMAGE, "controlPlane.distro.k8s.controllerManager.image", 0 },
    { "controller.extraArgs", VC__CT_STRLIST, LA_SET, "controlPlane.distro.k8s.controllerManager.extraArgs", 0 },
    { "scheduler.replicas", VC__CT_INT, LA_MAX, HA, "1..2147483647" },
    { "scheduler.image", VC__CT_STR, LA_IMAGE, "controlPlane.distro.k8s.scheduler.image", 0 },
    { "etcd.replicas", VC__CT_INT, LA_MAX, ED "highAvailability.replicas", "1..2147483647" },
    { "etcd.image", VC__CT_STR, LA_IMAGE, ED "image", 0 },
    { "etcd.resources", VC__CT_RESOURCES, LA_SET, ED "resources", 0 },
    { "etcd.storage.persistence", VC__CT_BOOL, LA_STRBOOL, ED "persistence.volumeClaim.enabled", 0 },
    { "etcd.storage.size", VC__CT_STR, LA_SET, ED "persistence.volumeClaim.size", "quantity" },
    { "etcd.storage.className", VC__CT_STR, LA_SET, ED "persistence.volumeClaim.storageClass", 0 },
    { "storage.persistence", VC__CT_BOOL, LA_STRBOOL, SSP "enabled", 0 },
    { "storage.size", VC__CT_STR, LA_SET, SSP "size", "quantity" },
    { "storage.className", VC__CT_STR, LA_SET, SSP "storageClass", 0 },
    { "vcluster.image", VC__CT_STR, LA_VCLUSTER_IMAGE, "controlPlane.distro.k3s.image", 0 },
    { "vcluster.extraArgs", VC__CT_STRLIST, LA_SET, "controlPlane.distro.k3s.extraArgs", 0 },
    { "vcluster.resources", VC__CT_RESOURCES, LA_SET, "controlPlane.distro.k3s.resources", 0 },
    { "coredns.enabled", VC__CT_BOOL, LA_SET, "controlPlane.coredns.enabled", 0 },
    { "coredns.replicas", VC__CT_INT, LA_SET, "controlPlane.coredns.deployment.replicas", "0..2147483647" },
    { "coredns.image", VC__CT_STR, LA_SET, "controlPlane.coredns.deployment.image", 0 },
    { "coredns.resources", VC__CT_RESOURCES, LA_SET, "controlPlane.coredns.deployment.resources", 0 },
    { "service.type", VC__CT_ENUM, LA_SET, "controlPlane.service.spec.type", "ClusterIP|NodePort|LoadBalancer" },
    { "ingress.enabled", VC__CT_BOOL, LA_SET, "controlPlane.ingress.enabled", 0 },
    { "ingress.host", VC__CT_STR, LA_SET, "controlPlane.ingress.host", 0 },
    { "isolation.enabled", VC__CT_BOOL, LA_LATER, 0, 0 },
    { "isolation.podSecurityStandard", VC__CT_ENUM, LA_LATER, 0, "|privileged|baseline|restricted" },
    { "isolation.resourceQuota.enabled", VC__CT_BOOL, LA_LATER, 0, 0 },
    { "isolation.resourceQuota.quota", VC__CT_QUANTITIES, LA_SET, "policies.resourceQuota.quota", 0 },
    { "isolation.resourceQuota.scopeSelector", VC__CT_OBJECT, LA_SET, "policies.resourceQuota.scopeSelector", 0 },
    { "isolation.resourceQuota.scopes", VC__CT_LIST, LA_SET, "policies.resourceQuota.scopes", 0 },
    { "isolation.limitRange.enabled", VC__CT_BOOL, LA_LATER, 0, 0 },
    { "isolation.limitRange.default", VC__CT_QUANTITIES, LA_SET, "policies.limitRange.default", 0 },
    { "isolation.limitRange.defaultRequest", VC__CT_QUANTITIES, LA_SET, "policies.limitRange.defaultRequest", 0 },
    { "isolation.networkPolicy.enabled", VC__CT_BOOL, LA_LATER, 0, 0 },
    { "isolation.networkPolicy.outgoingConnections.ipBlock.cidr", VC__CT_STR, LA_SET,
      "policies.networkPolicy.workload.publicEgress.cidr", "cidr" },
    { "isolation.networkPolicy.outgoingConnections.ipBlock.except", VC__CT_STRLIST, LA_SET,
      "policies.networkPolicy.workload.publicEgress.except", "cidr" },
    { "isolation.namespace", 0, LA_DEFAULT_ONLY, 0, "isolation.namespace is no longer supported" },
    { "isolation.nodeProxyPermission.enabled", VC__CT_BOOL, LA_DEFAULT_ONLY, 0,
      "no longer supported: use rbac.clusterRole.overwriteRules" },
    { "defaultImageRegistry", VC__CT_STR, LA_SET, "controlPlane.advanced.defaultImageRegistry", 0 },
    { "fallbackHostDns", VC__CT_BOOL, LA_SET, "networking.advanced.fallbackHostCluster", 0 },
    { "telemetry.disabled", VC__CT_BOOL, LA_NOT, "telemetry.enabled", 0 },
    { "rbac.clusterRole.create", VC__CT_BOOL, LA_STRBOOL, "rbac.clusterRole.enabled", 0 },
    { "rbac.role.create", VC__CT_BOOL, LA_SET, "rbac.role.enabled", 0 },
    { "serviceAccount.create", VC__CT_BOOL, LA_SET, "controlPlane.advanced.serviceAccount.enabled", 0 },
};
/* clang-format on */

#define N_LEGACY (sizeof(k_legacy) / sizeof(k_legacy[0]))

const vc__cfg_legacy *vc__cfg_legacy_find(const char *path)
{
    for (size_t i = 0; i < N_LEGACY; i++)
        if (!strcmp(k_legacy[i].path, path))
            return &k_legacy[i];
    return NULL;
}

bool vc__cfg_legacy_is_section(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < N_LEGACY; i++)
        if (!strncmp(k_legacy[i].path, path, n) && k_legacy[i].path[n] == '.')
            return true;
    return false;
}

/* Record `v` (stolen) for `target`, in the strong or weak tree. */
static int put(vc__cfg_layer *L, bool weak, const char *target, json_t *v, const char *lkey, const char *where)
{
    if (!v)
        return vc__error_oom();
    if (vc__cfg_tree_set(weak ? L->weak : L->legacy, target, v) < 0)
        return VC_ENOMEM;
    json_t *from = json_pack("{s:s, s:s}", "key", lkey, "where", where ? where : (L->name ? L->name : ""));
    if (!from || json_object_set_new(L->legacy_from, target, from) < 0)
        return vc__error_oom();
    return VC_OK;
}

static bool is_old_default(const json_t *v)
{
    return json_is_null(v) || json_is_false(v) || (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0) || (json_is_string(v) && json_string_length(v) == 0);
}

int vc__cfg_legacy_apply(vc__cfg_layer *L, const vc__cfg_legacy *lk, json_t *v, const char *path, const char *ptr)
{
    if (lk->action == LA_ERROR)
        return vc__cfg_errorf(L, ptr, path, "%s", lk->msg);
    if (lk->action == LA_DEFAULT_ONLY) {
        if (is_old_default(v))
            return VC_OK;
        return vc__cfg_errorf(L, ptr, path, "%s", lk->msg);
    }
    if (json_is_null(v))
        return VC_OK; /* "not set" in the old charts */
    /* `msg` holds the check's extra (range, choices, format) for these */
    json_t *nv = vc__cfg_check(L, lk->type, lk->action == LA_FAKE ? NULL : lk->msg, v, path, ptr);
    if (!nv)
        return VC_ECONFIG;
    if (lk->action == LA_LATER) {
        json_decref(nv); /* checked now, read in vc__cfg_legacy_finish */
        return VC_OK;
    }
    char *where = vc__cfg_where(L, ptr);
    if (!where) {
        json_decref(nv);
        return vc__error_oom();
    }
    int r = VC_OK;
    switch (lk->action) {
    case LA_SET:
        r = put(L, false, lk->target, nv, path, where);
        nv = NULL;
        break;
    case LA_NOT:
        r = put(L, false, lk->target, json_boolean(!json_is_true(nv)), path, where);
        break;
    case LA_STRBOOL:
        r = put(L, false, lk->target, json_boolean(json_is_true(nv)), path, where);
        break;
    case LA_MAX: {
        json_t *have = vc__cfg_tree_get(L->legacy, lk->target);
        if (!have || json_integer_value(nv) > json_integer_value(have)) {
            r = put(L, false, lk->target, nv, path, where);
            nv = NULL;
        }
        break;
    }
    case LA_IMAGE:
    case LA_VCLUSTER_IMAGE: {
        json_t *img = vc__config_parse_image(json_string_value(nv));
        if (!img) {
            char got[96];
            vc__cfg_describe(nv, got, sizeof got);
            r = vc__cfg_errorf(L, ptr, path, "not a valid image reference, got %s", got);
            break;
        }
        const char *target = lk->target;
        if (lk->action == LA_VCLUSTER_IMAGE &&
            strstr(json_string_value(json_object_get(img, "repository")), "k0s"))
            target = "controlPlane.distro.k0s.image";
        r = put(L, false, target, img, path, where);
        if (r == VC_OK && lk->action == LA_VCLUSTER_IMAGE) /* the 2022 chart of that image */
            r = put(L, true, strstr(target, "k0s") ? "controlPlane.distro.k0s.enabled" : "controlPlane.distro.k3s.enabled",
                    json_true(), path, where);
        break;
    }
    case LA_NODESEL: {
        /* "disktype=ssd,zone=a" as the old --node-selector flag took it */
        json_t *labels = json_object();
        const char *s = json_string_value(nv);
        while (labels && *s) {
            const char *comma = strchr(s, ',');
            size_t n = comma ? (size_t)(comma - s) : strlen(s);
            while (n && (*s == ' ' || *s == '\t'))
                s++, n--;
            while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
            const char *eq = memchr(s, '=', n);
            if (n && (!eq || eq == s)) {
                json_decref(labels);
                labels = NULL;
                char got[96];
                vc__cfg_describe(nv, got, sizeof got);
                r = vc__cfg_errorf(L, ptr, path, "expected \"key=value[,key=value...]\", got %s", got);
                break;
            }
            if (n) {
                char *k = vc__strndup(s, (size_t)(eq - s));
                json_t *val = json_stringn(eq + 1, n - (size_t)(eq + 1 - s));
                if (!k || !val || json_object_set_new(labels, k, val) < 0) {
                    vc__free(k);
                    json_decref(labels);
                    labels = NULL;
                    r = vc__error_oom();
                    break;
                }
                vc__free(k);
            }
            s = comma ? comma + 1 : s + n;
        }
        if (r == VC_OK)
            r = labels ? put(L, false, lk->target, labels, path, where) : vc__error_oom();
        break;
    }
    case LA_FAKE:
        if (!json_is_true(nv))
            r = vc__cfg_errorf(L, ptr, path, "%s", lk->msg);
        else /* fake objects on: the real sync is off unless this file turns it on */
            r = put(L, true, lk->target, json_false(), path, where);
        break;
    case LA_INGRESSES:
        r = put(L, false, lk->target, json_incref(nv), path, where);
        if (r == VC_OK && json_is_true(nv))
            r = put(L, true, FH "ingressClasses.enabled", json_true(), path, where);
        break;
    default:
        r = vc__cfg_errorf(L, ptr, path, "unsupported legacy key");
        break;
    }
    json_decref(nv);
    vc__free(where);
    return r;
}

static char *where_of(vc__cfg_layer *L, const char *ptr)
{
    return vc__cfg_where(L, ptr);
}

/* isolation.enabled decides whether the other isolation switches mean
 * anything (as the 2022 charts did): true turns each on unless it says
 * false, false turns them all off; without isolation.enabled in the file
 * the switches it sets apply as they are (an override file). */
static int finish_isolation(vc__cfg_layer *L, const json_t *iso)
{
    static const struct {
        const char *sub;
        const char *target;
    } subs[] = {
        { "networkPolicy", "policies.networkPolicy.enabled" },
        { "resourceQuota", "policies.resourceQuota.enabled" },
        { "limitRange", "policies.limitRange.enabled" },
    };
    const json_t *en = json_object_get(iso, "enabled");
    bool have_en = json_is_boolean(en), on = json_is_true(en);
    int r = VC_OK;
    for (size_t i = 0; i < 3 && r == VC_OK; i++) {
        const json_t *sub_en = json_object_get(json_object_get(iso, subs[i].sub), "enabled");
        char ptr[80], key[80];
        snprintf(ptr, sizeof ptr, "/isolation/%s/enabled", subs[i].sub);
        snprintf(key, sizeof key, "isolation.%s.enabled", subs[i].sub);
        bool explicit_sub = json_is_boolean(sub_en);
        char *where;
        if (explicit_sub && (!have_en || on)) {
            /* the sub-key decides, unless isolation is switched off as a whole */
            where = where_of(L, ptr);
            r = where ? put(L, false, subs[i].target, json_boolean(json_is_true(sub_en)), key, where) : vc__error_oom();
        } else if (have_en) {
            where = where_of(L, "/isolation/enabled");
            r = where ? put(L, true, subs[i].target, json_boolean(on), "isolation.enabled", where) : vc__error_oom();
        } else {
            continue;
        }
        vc__free(where);
    }
    if (r < 0)
        return r;
    const json_t *pss = json_object_get(iso, "podSecurityStandard");
    bool explicit_pss = json_is_string(pss);
    char *where = NULL;
    if (have_en && on) {
        where = where_of(L, explicit_pss ? "/isolation/podSecurityStandard" : "/isolation/enabled");
        if (!where)
            return vc__error_oom();
        r = put(L, !explicit_pss, "policies.podSecurityStandard",
                json_string(explicit_pss ? json_string_value(pss) : "baseline"),
                explicit_pss ? "isolation.podSecurityStandard" : "isolation.enabled", where);
    } else if (have_en) {
        where = where_of(L, "/isolation/enabled");
        if (!where)
            return vc__error_oom();
        r = put(L, true, "policies.podSecurityStandard", json_string(""), "isolation.enabled", where);
    } else if (explicit_pss) {
        where = where_of(L, "/isolation/podSecurityStandard");
        if (!where)
            return vc__error_oom();
        r = put(L, false, "policies.podSecurityStandard", json_incref((json_t *)pss), "isolation.podSecurityStandard",
                where);
    }
    vc__free(where);
    return r;
}

static bool store_chosen(const vc__cfg_layer *L)
{
    static const char *const keys[] = {
        "controlPlane.backingStore.database.embedded.enabled", "controlPlane.backingStore.database.external.enabled",
        "controlPlane.backingStore.etcd.embedded.enabled", "controlPlane.backingStore.etcd.deploy.enabled",
        "controlPlane.backingStore.etcd.external.enabled"
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_is_true(vc__cfg_tree_get(L->tree, keys[i])) || json_is_true(vc__cfg_tree_get(L->legacy, keys[i])))
            return true;
    return false;
}

int vc__cfg_legacy_finish(vc__cfg_layer *L, json_t *doc)
{
    const json_t *iso = json_object_get(doc, "isolation");
    int r = VC_OK;
    if (json_is_object(iso) && (r = finish_isolation(L, iso)) < 0)
        return r;

    /* The 2022 k8s chart ran etcd as its own StatefulSet; HA or etcd settings
     * mean the user wants that store, unless this file picks another. */
    const json_t *ha = json_object_get(doc, "enableHA");
    const json_t *etcd = json_object_get(doc, "etcd");
    bool wants_etcd = json_is_true(ha) || (json_is_object(etcd) && json_object_size(etcd) > 0);
    if (wants_etcd && !store_chosen(L)) {
        const char *ptr = json_is_true(ha) ? "/enableHA" : "/etcd";
        char *where = where_of(L, ptr);
        if (!where)
            return vc__error_oom();
        r = put(L, true, "controlPlane.backingStore.etcd.deploy.enabled", json_true(),
                json_is_true(ha) ? "enableHA" : "etcd", where);
        vc__free(where);
    }
    return r;
}

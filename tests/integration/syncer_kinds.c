/* The opt-in kinds of issue 13, against two real control planes (the host
 * with kwok nodes, and a bare virtual one), the syncer in this process:
 *  - toHost (sync.toHost.<kind>.enabled): Ingresses (backends and TLS
 *    secrets translated, loadBalancer status back), NetworkPolicies (every
 *    selector pinned to this cluster's pods: checked by listing host pods
 *    with the host policy's selectors), PodDisruptionBudgets,
 *    ServiceAccounts, PriorityClasses (cluster-scoped, translated names):
 *    create, update, delete, a host refusal (quota) as a Warning event, and
 *    after a restart the host objects whose virtual twin went while the
 *    syncer was down are deleted;
 *  - fromHost (sync.fromHost.<kind>.enabled): IngressClasses (by selector),
 *    RuntimeClasses, CSIDrivers, CSINodes (only for nodes the virtual
 *    cluster has), CSIStorageCapacities and, in a second configuration,
 *    PriorityClasses: copied, kept in step, virtual edits reverted, deleted
 *    with the host object, also across a restart; a tenant's own object of
 *    such a kind is left alone. */
#include <poll.h>

#include "vcenv.h"
#include "translate/translate.h"
#include "vcluster/syncer.h"

static vc_kube *H, *V;
static vc_syncer *S;
static vc_translator *T;
static char NAME[32], HNS[64], HPATH[512];

static const char *CONFIG_A = "sync:\n"
                              "  toHost:\n"
                              "    ingresses: {enabled: true}\n"
                              "    networkPolicies: {enabled: true}\n"
                              "    podDisruptionBudgets: {enabled: true}\n"
                              "    serviceAccounts: {enabled: true}\n"
                              "    priorityClasses: {enabled: true}\n"
                              "  fromHost:\n"
                              "    ingressClasses:\n"
                              "      enabled: true\n"
                              "      selector: {matchLabels: {expose: \"yes\"}}\n"
                              "    runtimeClasses: {enabled: true}\n"
                              "    csiDrivers: {enabled: true}\n"
                              "    csiNodes: {enabled: true}\n"
                              "    csiStorageCapacities: {enabled: true}\n";

static const char *CONFIG_B = "sync:\n"
                              "  fromHost:\n"
                              "    priorityClasses:\n"
                              "      enabled: true\n"
                              "      selector:\n"
                              "        matchExpressions: [{key: share, operator: In, values: [\"yes\", \"all\"]}]\n";

/* ---- driving the syncer ---- */

static void pump(int ms)
{
    int64_t end = vc__now_ms() + ms;
    while (vc__now_ms() < end) {
        int64_t t = 0;
        vc_syncer_get_timeout(S, &t);
        struct pollfd p = { vc_syncer_get_fd(S), POLLIN, 0 };
        int w = t < 0 || t > 50 ? 50 : (int)t;
        poll(&p, 1, w);
        int32_t st;
        vc_syncer_step(S, 0, &st);
        vc_sync_event *ev;
        while (vc_syncer_next_event(&ev, S) == VC_OK)
            vc_sync_event_free(ev);
    }
}

static void start(const char *config)
{
    vc_syncer_options o;
    CHECK_INT(vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.host_namespace = HNS;
    o.config_yaml = config;
    int rc = vc_syncer_new(&S, H, V, &o);
    if (rc < 0)
        fprintf(stderr, "vc_syncer_new: %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
}

static void stop(void)
{
    if (!S)
        return;
    CHECK_INT(vc_syncer_stop(S), VC_OK);
    int32_t st = VC_STEP_IDLE;
    int64_t end = vc__now_ms() + 10000;
    while (st != VC_STEP_STOPPED && vc__now_ms() < end)
        vc_syncer_step(S, 100, &st);
    CHECK_INT(st, VC_STEP_STOPPED);
    vc_syncer_free(S);
    S = NULL;
}

/* ---- small JSON and API helpers ---- */

/* The value at a JSON pointer-ish path "a/b/0/c" (no escapes), or NULL. */
static json_t *at(json_t *o, const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *seg = strtok_r(buf, "/", &save); seg && o; seg = strtok_r(NULL, "/", &save)) {
        if (json_is_array(o))
            o = json_array_get(o, (size_t)strtoul(seg, NULL, 10));
        else
            o = json_object_get(o, seg);
    }
    return o;
}

static const char *at_str(json_t *o, const char *path)
{
    return json_string_value(at(o, path));
}

/* Pump until GET path on k exists (want) or is gone (!want); the object
 * (a new reference) or NULL. */
static json_t *wait_obj(vc_kube *k, const char *path, bool want, int ms)
{
    int64_t end = vc__now_ms() + ms;
    for (;;) {
        json_t *o = kget(k, path);
        if ((o != NULL) == want)
            return o ? o : json_null();
        json_decref(o);
        if (vc__now_ms() >= end) {
            fprintf(stderr, "  timed out waiting for %s to %s\n", path, want ? "exist" : "go");
            return NULL;
        }
        pump(200);
    }
}

static bool exists_after(vc_kube *k, const char *path, int ms)
{
    json_t *o = wait_obj(k, path, true, ms);
    bool ok = o && !json_is_null(o);
    json_decref(o);
    return ok;
}

static bool gone_after(vc_kube *k, const char *path, int ms)
{
    json_t *o = wait_obj(k, path, false, ms);
    bool ok = o != NULL;
    json_decref(o);
    return ok;
}

/* Pump until the string at `field` of GET path equals want (NULL: absent). */
static bool field_after(vc_kube *k, const char *path, const char *field, const char *want, int ms)
{
    int64_t end = vc__now_ms() + ms;
    char last[512] = "(no object)";
    for (;;) {
        json_t *o = kget(k, path);
        const char *v = o ? at_str(o, field) : NULL;
        bool ok = o && (want ? vc__streq(v, want) : v == NULL);
        if (o)
            snprintf(last, sizeof last, "%s", v ? v : "(absent)");
        json_decref(o);
        if (ok)
            return true;
        if (vc__now_ms() >= end) {
            fprintf(stderr, "  %s %s: \"%s\", want \"%s\"\n", path, field, last, want ? want : "(absent)");
            return false;
        }
        pump(200);
    }
}

static int kdelete(vc_kube *k, const char *path)
{
    int rc = vc_kube_request(k, NULL, NULL, "DELETE", path, NULL, NULL);
    return rc == VC_ENOTFOUND ? VC_OK : rc;
}

static int kpatch(vc_kube *k, const char *path, const char *patch)
{
    int rc = vc_kube_request(k, NULL, NULL, "PATCH", path, patch, "application/merge-patch+json");
    if (rc < 0)
        fprintf(stderr, "patch %s: %s\n", path, vc_error_last()->message);
    return rc;
}

static void hname(const char *kind, const char *ns, const char *name, char *out, size_t cap)
{
    vc_buf b = VC_BUF_INIT;
    out[0] = '\0';
    if (vc_translate_host_name(&b, T, kind, ns, name) == VC_OK)
        snprintf(out, cap, "%s", b.ptr);
    vc_buf_dispose(&b);
}

/* Path of a host object of a namespaced kind in the host namespace. */
static const char *hpath(const char *group_version, const char *plural, const char *kind, const char *vname)
{
    char hn[256];
    hname(kind, "demo", vname, hn, sizeof hn);
    snprintf(HPATH, sizeof HPATH, "/%s/%s/namespaces/%s/%s/%s", strchr(group_version, '/') ? "apis" : "api",
             group_version, HNS, plural, hn);
    return HPATH;
}

/* "Warning SyncError" messages on virtual object demo/<name> of kind. */
static char *warnings_of(const char *kind, const char *name)
{
    char path[512];
    snprintf(path, sizeof path,
             "/api/v1/namespaces/demo/events?fieldSelector=involvedObject.name%%3D%s,reason%%3DSyncError", name);
    json_t *l = kget(V, path);
    vc_buf b = VC_BUF_INIT;
    vc__buf_puts(&b, "");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(l, "items"), i, e) {
        if (vc__streq(vc__jstr(e, "type"), "Warning") && vc__streq(vc__jpath_str(e, "involvedObject", "kind"), kind))
            vc__buf_printf(&b, "%s\n", vc__jstr(e, "message"));
    }
    json_decref(l);
    return vc__buf_detach(&b);
}

/* ---- the test ---- */

#define ING "/apis/networking.k8s.io/v1/namespaces/demo/ingresses"
#define NP "/apis/networking.k8s.io/v1/namespaces/demo/networkpolicies"
#define PDB "/apis/policy/v1/namespaces/demo/poddisruptionbudgets"
#define SA "/api/v1/namespaces/demo/serviceaccounts"
#define PC "/apis/scheduling.k8s.io/v1/priorityclasses"
#define IC "/apis/networking.k8s.io/v1/ingressclasses"
#define RC "/apis/node.k8s.io/v1/runtimeclasses"
#define CSID "/apis/storage.k8s.io/v1/csidrivers"
#define CSIN "/apis/storage.k8s.io/v1/csinodes"
#define CAP_H "/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities"
#define CAP_V "/apis/storage.k8s.io/v1/namespaces/kube-system/csistoragecapacities"

static char NODES[3][128];
static size_t N_NODES;

static void t_setup(void)
{
    char buf[2048], path[256];
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", HNS);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", buf), VC_OK);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"ports\":[{\"name\":\"https\",\"port\":443,\"targetPort\":8443}]}}", NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"vc-workload-%s\"}}", NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    /* a host pod of someone else in the host namespace, labelled like the
     * tenant's: no tenant policy may select it */
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"other-web\",\"labels\":{\"app\":\"web\"}},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}");
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    /* at most one PodDisruptionBudget on the host: the second is refused */
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":\"pdbs\"},"
             "\"spec\":{\"hard\":{\"count/poddisruptionbudgets.policy\":\"1\"}}}");
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/resourcequotas", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);

    /* host objects the virtual cluster may copy */
    CHECK_INT(kcreate(H, IC, "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"IngressClass\",\"metadata\":"
                             "{\"name\":\"kinds-ic-yes\",\"labels\":{\"expose\":\"yes\"}},\"spec\":{\"controller\":\"example.com/ic\"}}"),
              VC_OK);
    CHECK_INT(kcreate(H, IC, "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"IngressClass\",\"metadata\":"
                             "{\"name\":\"kinds-ic-no\"},\"spec\":{\"controller\":\"example.com/ic\"}}"),
              VC_OK);
    CHECK_INT(kcreate(H, RC, "{\"apiVersion\":\"node.k8s.io/v1\",\"kind\":\"RuntimeClass\",\"metadata\":"
                             "{\"name\":\"kinds-rc\",\"labels\":{\"tier\":\"a\"}},\"handler\":\"runc\"}"),
              VC_OK);
    CHECK_INT(kcreate(H, CSID, "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"CSIDriver\",\"metadata\":"
                               "{\"name\":\"kinds.csi.example.com\"},\"spec\":{\"attachRequired\":false}}"),
              VC_OK);
    CHECK_INT(kcreate(H, CAP_H, "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"CSIStorageCapacity\",\"metadata\":"
                                "{\"name\":\"kinds-cap\"},\"storageClassName\":\"standard\",\"capacity\":\"10Gi\"}"),
              VC_OK);
    json_t *nl = kget(H, "/api/v1/nodes");
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(nl, "items"), i, n) {
        if (N_NODES >= 3)
            break;
        snprintf(NODES[N_NODES], sizeof NODES[0], "%s", at_str(n, "metadata/name"));
        snprintf(buf, sizeof buf,
                 "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"CSINode\",\"metadata\":{\"name\":\"%s\"},"
                 "\"spec\":{\"drivers\":[{\"name\":\"kinds.csi.example.com\",\"nodeID\":\"%s\"}]}}",
                 NODES[N_NODES], NODES[N_NODES]);
        CHECK_INT(kcreate(H, CSIN, buf), VC_OK);
        N_NODES++;
    }
    json_decref(nl);
    CHECK(N_NODES >= 2);

    /* the tenant's objects */
    CHECK_INT(kcreate(V, "/api/v1/namespaces", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"demo\"}}"),
              VC_OK);
    /* the test's pods share one node (nodeSelector), so with CoreDNS's pod
     * at most 2 of the 3 host nodes are used: t_from_host_copies checks
     * that CSINodes come only for nodes that have a fake node */
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"}},"
             "\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"%s\"},"
             "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
             NODES[0]);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/pods", buf), VC_OK);
    CHECK_INT(kcreate(V, ING,
                      "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"name\":\"web\"},"
                      "\"spec\":{\"tls\":[{\"hosts\":[\"a.example.com\"],\"secretName\":\"web-tls\"}],"
                      "\"rules\":[{\"host\":\"a.example.com\",\"http\":{\"paths\":[{\"path\":\"/\",\"pathType\":\"Prefix\","
                      "\"backend\":{\"service\":{\"name\":\"web\",\"port\":{\"number\":80}}}}]}}]}}"),
              VC_OK);
    CHECK_INT(kcreate(V, NP,
                      "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"np\"},"
                      "\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"policyTypes\":[\"Ingress\"],"
                      "\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}}},"
                      "{\"namespaceSelector\":{}}]}]}}"),
              VC_OK);
    CHECK_INT(kcreate(V, PDB,
                      "{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{\"name\":\"pdb\"},"
                      "\"spec\":{\"minAvailable\":1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}}}}"),
              VC_OK);
    CHECK_INT(kcreate(V, SA, "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"robot\"}}"),
              VC_OK);
    CHECK_INT(kcreate(V, SA, "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"keeper\"}}"),
              VC_OK);
    CHECK_INT(kcreate(V, PC, "{\"apiVersion\":\"scheduling.k8s.io/v1\",\"kind\":\"PriorityClass\",\"metadata\":"
                             "{\"name\":\"kinds-high\"},\"value\":1000,\"description\":\"first\"}"),
              VC_OK);
    /* the tenant's own IngressClass: no host twin, never a copy */
    CHECK_INT(kcreate(V, IC, "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"IngressClass\",\"metadata\":"
                             "{\"name\":\"tenant-ic\"},\"spec\":{\"controller\":\"tenant.example.com/ic\"}}"),
              VC_OK);
    /* the quota's usage is known before anything counts against it */
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/resourcequotas/pdbs", HNS);
    bool counted = false;
    for (int64_t end = vc__now_ms() + 60000; !counted && vc__now_ms() < end;) {
        json_t *q = kget(H, path);
        counted = json_object_get(at(q, "status/used"), "count/poddisruptionbudgets.policy") != NULL;
        json_decref(q);
        if (!counted)
            usleep(250000);
    }
    CHECK(counted);
}

static void t_to_host_create(void)
{
    start(CONFIG_A);
    json_t *ing = wait_obj(H, hpath("networking.k8s.io/v1", "ingresses", "Ingress", "web"), true, 60000);
    CHECK(ing && !json_is_null(ing));
    char svc[256], tls[256];
    hname("Service", "demo", "web", svc, sizeof svc);
    hname("Secret", "demo", "web-tls", tls, sizeof tls);
    CHECK_STR(at_str(ing, "spec/rules/0/http/paths/0/backend/service/name"), svc);
    CHECK_STR(at_str(ing, "spec/tls/0/secretName"), tls);
    CHECK_STR(json_string_value(json_object_get(at(ing, "metadata/labels"), "vcluster.loft.sh/managed-by")), NAME);
    json_decref(ing);
    json_t *pdb = wait_obj(H, hpath("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", "pdb"), true, 30000);
    CHECK(pdb && !json_is_null(pdb));
    CHECK_INT(json_integer_value(at(pdb, "spec/minAvailable")), 1);
    CHECK_STR(json_string_value(json_object_get(at(pdb, "spec/selector/matchLabels"), "vcluster.loft.sh/managed-by")),
              NAME);
    json_decref(pdb);
    CHECK(exists_after(H, hpath("v1", "serviceaccounts", "ServiceAccount", "robot"), 30000));
    json_t *sa = kget(H, HPATH);
    CHECK(json_is_false(at(sa, "automountServiceAccountToken")));
    json_decref(sa);
    char pcn[256], p[512];
    hname("PriorityClass", "", "kinds-high", pcn, sizeof pcn);
    CHECK(vc__str_startswith(pcn, "vcluster-kinds-high-x-"));
    snprintf(p, sizeof p, PC "/%s", pcn);
    json_t *pc = wait_obj(H, p, true, 30000);
    CHECK(pc && !json_is_null(pc));
    CHECK_INT(json_integer_value(at(pc, "value")), 1000);
    CHECK_STR(at_str(pc, "description"), "first");
    json_decref(pc);
}

/* The host policy's selectors admit this cluster's pods only: list host
 * pods with them. */
static char *selector_of(json_t *sel)
{
    vc_buf b = VC_BUF_INIT;
    vc__buf_puts(&b, "");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(sel, "matchLabels"), k, v)
        vc__buf_printf(&b, "%s%s%%3D%s", b.size ? "," : "", k, json_string_value(v));
    CHECK(json_array_size(json_object_get(sel, "matchExpressions")) == 0);
    return vc__buf_detach(&b);
}

static size_t pods_selected(json_t *sel, bool *only_ours)
{
    char *s = selector_of(sel);
    char path[1024];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=%s", HNS, s);
    vc__free(s);
    json_t *l = kget(H, path);
    size_t i, n = 0;
    json_t *p;
    *only_ours = true;
    json_array_foreach(json_object_get(l, "items"), i, p) {
        n++;
        if (!vc__streq(json_string_value(json_object_get(at(p, "metadata/labels"), "vcluster.loft.sh/managed-by")), NAME))
            *only_ours = false;
    }
    json_decref(l);
    return n;
}

static void t_network_policy_isolated(void)
{
    char webpod[256], p[512];
    hname("Pod", "demo", "web", webpod, sizeof webpod);
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/pods/%s", HNS, webpod);
    CHECK(exists_after(H, p, 60000));
    json_t *np = wait_obj(H, hpath("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", "np"), true, 30000);
    CHECK(np && !json_is_null(np));
    bool ours = false;
    /* spec.podSelector: the tenant's app=web pod, not the other app=web pod */
    CHECK_INT(pods_selected(at(np, "spec/podSelector"), &ours), 1);
    CHECK(ours);
    /* ingress from a podSelector: the same */
    CHECK_INT(pods_selected(at(np, "spec/ingress/0/from/0/podSelector"), &ours), 1);
    CHECK(ours);
    /* from namespaceSelector {} ("every namespace" inside): this cluster's
     * pods only, never the host's others */
    size_t n = pods_selected(at(np, "spec/ingress/0/from/1/podSelector"), &ours);
    CHECK(n >= 1);
    CHECK(ours);
    CHECK(at(np, "spec/ingress/0/from/1/namespaceSelector") == NULL);
    json_decref(np);
    /* a PodDisruptionBudget covers the tenant's pods only, too */
    json_t *pdb = kget(H, hpath("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", "pdb"));
    CHECK_INT(pods_selected(at(pdb, "spec/selector"), &ours), 1);
    CHECK(ours);
    json_decref(pdb);
}

static void t_to_host_update(void)
{
    CHECK_INT(kpatch(V, ING "/web", "{\"spec\":{\"rules\":[{\"host\":\"b.example.com\",\"http\":{\"paths\":[{\"path\":\"/\","
                                    "\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"web\",\"port\":{\"number\":81}}}}]}}]}}"),
              VC_OK);
    CHECK(field_after(H, hpath("networking.k8s.io/v1", "ingresses", "Ingress", "web"), "spec/rules/0/host", "b.example.com",
                      30000));
    CHECK_INT(kpatch(V, NP "/np", "{\"spec\":{\"ingress\":[{\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}]}]}}"), VC_OK);
    json_t *np = NULL;
    int64_t end = vc__now_ms() + 30000;
    for (;;) {
        np = kget(H, hpath("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", "np"));
        if ((np && json_integer_value(at(np, "spec/ingress/0/ports/0/port")) == 8080) || vc__now_ms() > end)
            break;
        json_decref(np);
        pump(200);
    }
    CHECK_INT(json_integer_value(at(np, "spec/ingress/0/ports/0/port")), 8080);
    json_decref(np);
    CHECK_INT(kpatch(V, SA "/robot", "{\"metadata\":{\"labels\":{\"team\":\"blue\"}}}"), VC_OK);
    CHECK(field_after(H, hpath("v1", "serviceaccounts", "ServiceAccount", "robot"), "metadata/labels/team", "blue", 30000));
    CHECK_INT(kpatch(V, PC "/kinds-high", "{\"description\":\"second\"}"), VC_OK);
    char pcn[256], p[512];
    hname("PriorityClass", "", "kinds-high", pcn, sizeof pcn);
    snprintf(p, sizeof p, PC "/%s", pcn);
    CHECK(field_after(H, p, "description", "second", 30000));
    /* a host edit of a synced field is overwritten */
    CHECK_INT(kpatch(H, p, "{\"description\":\"host edit\"}"), VC_OK);
    CHECK(field_after(H, p, "description", "second", 30000));
    /* a pod of that class runs on the host with the translated class */
    char pbuf[512];
    snprintf(pbuf, sizeof pbuf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"prio\"},"
             "\"spec\":{\"priorityClassName\":\"kinds-high\",\"nodeSelector\":{\"kubernetes.io/hostname\":\"%s\"},"
             "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
             NODES[0]);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/pods", pbuf), VC_OK);
    char pod[256];
    hname("Pod", "demo", "prio", pod, sizeof pod);
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/pods/%s", HNS, pod);
    CHECK(field_after(H, p, "spec/priorityClassName", pcn, 60000));
}

static void t_ingress_status_back(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/status", hpath("networking.k8s.io/v1", "ingresses", "Ingress", "web"));
    CHECK_INT(kpatch(H, p, "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.10\"}]}}}"), VC_OK);
    CHECK(field_after(V, ING "/web", "status/loadBalancer/ingress/0/ip", "192.0.2.10", 30000));
}

static void t_host_refusal_event(void)
{
    /* the quota admits one PodDisruptionBudget: the tenant's second is refused */
    CHECK_INT(kcreate(V, PDB,
                      "{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{\"name\":\"pdb2\"},"
                      "\"spec\":{\"maxUnavailable\":1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}}}}"),
              VC_OK);
    char *w = NULL;
    int64_t end = vc__now_ms() + 60000;
    while (vc__now_ms() < end) {
        pump(300);
        vc__free(w);
        w = warnings_of("PodDisruptionBudget", "pdb2");
        if (w && strstr(w, "exceeded quota"))
            break;
    }
    CHECK_CONTAINS(w, "exceeded quota: pdbs");
    char hn[256];
    hname("PodDisruptionBudget", "demo", "pdb2", hn, sizeof hn);
    CHECK(w && !strstr(w, hn)); /* in the tenant's names */
    vc__free(w);
    CHECK_INT(kdelete(V, PDB "/pdb2"), VC_OK);
}

static void t_to_host_delete(void)
{
    CHECK_INT(kdelete(V, ING "/web"), VC_OK);
    CHECK(gone_after(H, hpath("networking.k8s.io/v1", "ingresses", "Ingress", "web"), 30000));
}

static void t_from_host_copies(void)
{
    json_t *ic = wait_obj(V, IC "/kinds-ic-yes", true, 60000);
    CHECK(ic && !json_is_null(ic));
    CHECK_STR(at_str(ic, "spec/controller"), "example.com/ic");
    CHECK_STR(json_string_value(json_object_get(at(ic, "metadata/labels"), "expose")), "yes");
    json_decref(ic);
    json_t *rc = wait_obj(V, RC "/kinds-rc", true, 30000);
    CHECK(rc && !json_is_null(rc));
    CHECK_STR(at_str(rc, "handler"), "runc");
    json_decref(rc);
    json_t *d = wait_obj(V, CSID "/kinds.csi.example.com", true, 30000);
    CHECK(d && !json_is_null(d));
    CHECK(json_is_false(at(d, "spec/attachRequired")));
    json_decref(d);
    json_t *cap = wait_obj(V, CAP_V "/kinds-cap-x-default", true, 30000);
    CHECK(cap && !json_is_null(cap));
    CHECK_STR(at_str(cap, "storageClassName"), "standard");
    CHECK_STR(at_str(cap, "capacity"), "10Gi");
    json_decref(cap);
    /* not matching the selector: never copied; the tenant's own stays */
    pump(1000);
    json_t *no = kget(V, IC "/kinds-ic-no");
    CHECK(no == NULL);
    json_decref(no);
    CHECK(exists_after(V, IC "/tenant-ic", 1000));
    /* CSINodes: exactly those of the virtual cluster's (fake) nodes */
    json_t *vn = NULL;
    int64_t end = vc__now_ms() + 60000;
    while (vc__now_ms() < end) {
        vn = kget(V, "/api/v1/nodes");
        if (json_array_size(json_object_get(vn, "items")) > 0)
            break;
        json_decref(vn);
        vn = NULL;
        pump(300);
    }
    CHECK(vn != NULL);
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(vn, "items"), i, n) {
        char p[512];
        snprintf(p, sizeof p, CSIN "/%s", at_str(n, "metadata/name"));
        CHECK(exists_after(V, p, 30000));
    }
    size_t have_nodes = json_array_size(json_object_get(vn, "items"));
    json_decref(vn);
    pump(1000);
    json_t *cl = kget(V, CSIN);
    size_t copies = 0;
    json_array_foreach(json_object_get(cl, "items"), i, n) {
        for (size_t j = 0; j < N_NODES; j++)
            if (vc__streq(at_str(n, "metadata/name"), NODES[j]))
                copies++;
    }
    json_decref(cl);
    printf("# virtual nodes %zu, CSINode copies %zu of %zu host CSINodes\n", have_nodes, copies, N_NODES);
    CHECK_INT(copies, have_nodes);
    CHECK(copies < N_NODES);
}

static void t_from_host_update(void)
{
    /* host changes flow in */
    CHECK_INT(kpatch(H, RC "/kinds-rc", "{\"metadata\":{\"labels\":{\"tier\":\"b\"}}}"), VC_OK);
    CHECK(field_after(V, RC "/kinds-rc", "metadata/labels/tier", "b", 30000));
    /* virtual edits are reverted */
    CHECK_INT(kpatch(V, RC "/kinds-rc", "{\"metadata\":{\"labels\":{\"tier\":\"tenant\"}}}"), VC_OK);
    CHECK(field_after(V, RC "/kinds-rc", "metadata/labels/tier", "b", 30000));
    CHECK_INT(kpatch(V, CAP_V "/kinds-cap-x-default", "{\"capacity\":\"1Ti\"}"), VC_OK);
    CHECK(field_after(V, CAP_V "/kinds-cap-x-default", "capacity", "10Gi", 30000));
    CHECK_INT(kpatch(H, CAP_H "/kinds-cap", "{\"capacity\":\"20Gi\"}"), VC_OK);
    CHECK(field_after(V, CAP_V "/kinds-cap-x-default", "capacity", "20Gi", 30000));
    /* no longer matching the selector: the copy goes */
    CHECK_INT(kpatch(H, IC "/kinds-ic-yes", "{\"metadata\":{\"labels\":{\"expose\":\"no\"}}}"), VC_OK);
    CHECK(gone_after(V, IC "/kinds-ic-yes", 30000));
    CHECK_INT(kpatch(H, IC "/kinds-ic-yes", "{\"metadata\":{\"labels\":{\"expose\":\"yes\"}}}"), VC_OK);
    CHECK(exists_after(V, IC "/kinds-ic-yes", 30000));
}

static void t_from_host_delete(void)
{
    CHECK_INT(kdelete(H, RC "/kinds-rc"), VC_OK);
    CHECK(gone_after(V, RC "/kinds-rc", 30000));
}

static void t_restart_gc(void)
{
    stop();
    /* while the syncer is down: virtual objects go, host objects go */
    CHECK_INT(kdelete(V, NP "/np"), VC_OK);
    CHECK_INT(kdelete(V, PDB "/pdb"), VC_OK);
    CHECK_INT(kdelete(V, SA "/robot"), VC_OK);
    CHECK_INT(kdelete(V, PC "/kinds-high"), VC_OK);
    CHECK_INT(kdelete(H, CSID "/kinds.csi.example.com"), VC_OK);
    CHECK_INT(kdelete(H, CAP_H "/kinds-cap"), VC_OK);
    /* and a copy edited: reverted after the restart */
    CHECK_INT(kpatch(V, IC "/kinds-ic-yes", "{\"metadata\":{\"labels\":{\"expose\":\"tenant\"}}}"), VC_OK);
    char pcn[256], p[512], keep[512];
    hname("PriorityClass", "", "kinds-high", pcn, sizeof pcn);
    snprintf(p, sizeof p, PC "/%s", pcn);
    snprintf(keep, sizeof keep, "%s", hpath("v1", "serviceaccounts", "ServiceAccount", "keeper"));
    int64_t t0 = vc__now_ms();
    start(CONFIG_A);
    CHECK(gone_after(H, hpath("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", "np"), 60000));
    CHECK(gone_after(H, hpath("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", "pdb"), 30000));
    CHECK(gone_after(H, hpath("v1", "serviceaccounts", "ServiceAccount", "robot"), 30000));
    CHECK(gone_after(H, p, 30000));
    CHECK(gone_after(V, CSID "/kinds.csi.example.com", 30000));
    CHECK(gone_after(V, CAP_V "/kinds-cap-x-default", 30000));
    CHECK(field_after(V, IC "/kinds-ic-yes", "metadata/labels/expose", "yes", 30000));
    printf("# restart: stale host and virtual objects collected in %lld ms\n", (long long)(vc__now_ms() - t0));
    /* what still has its twin stays */
    pump(1000);
    CHECK(exists_after(H, keep, 1000));
    CHECK(exists_after(V, IC "/tenant-ic", 1000));
    stop();
}

static void t_from_host_priority_classes(void)
{
    CHECK_INT(kcreate(H, PC, "{\"apiVersion\":\"scheduling.k8s.io/v1\",\"kind\":\"PriorityClass\",\"metadata\":"
                             "{\"name\":\"kinds-shared\",\"labels\":{\"share\":\"yes\"}},\"value\":500,\"description\":\"d\"}"),
              VC_OK);
    CHECK_INT(kcreate(H, PC, "{\"apiVersion\":\"scheduling.k8s.io/v1\",\"kind\":\"PriorityClass\",\"metadata\":"
                             "{\"name\":\"kinds-private\"},\"value\":600}"),
              VC_OK);
    start(CONFIG_B);
    json_t *pc = wait_obj(V, PC "/kinds-shared", true, 60000);
    CHECK(pc && !json_is_null(pc));
    CHECK_INT(json_integer_value(at(pc, "value")), 500);
    json_decref(pc);
    pump(1000);
    json_t *no = kget(V, PC "/kinds-private");
    CHECK(no == NULL);
    json_decref(no);
    CHECK_INT(kpatch(H, PC "/kinds-shared", "{\"description\":\"e\"}"), VC_OK);
    CHECK(field_after(V, PC "/kinds-shared", "description", "e", 30000));
    CHECK_INT(kdelete(H, PC "/kinds-shared"), VC_OK);
    CHECK(gone_after(V, PC "/kinds-shared", 30000));
    stop();
    CHECK_INT(kdelete(H, PC "/kinds-private"), VC_OK);
}

static void t_config_errors(void)
{
    /* a selector that is none is refused when the syncer is made, naming the key */
    vc_syncer_options o;
    vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION);
    o.name = NAME;
    o.host_namespace = HNS;
    o.config_yaml = "sync:\n  fromHost:\n    ingressClasses:\n      enabled: true\n      selector:\n"
                    "        matchExpressions: [{key: a, operator: Near}]\n";
    vc_syncer *s = NULL;
    int rc = vc_syncer_new(&s, H, V, &o);
    CHECK(rc < 0);
    CHECK_CONTAINS(vc_error_last()->message, "sync.fromHost.ingressClasses.selector");
    vc_syncer_free(s);
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    vc_global_init(NULL);
    vcenv e;
    if (vcenv_up(&e) < 0)
        return 1;
    itest_name(NAME, sizeof NAME, "vk");
    snprintf(HNS, sizeof HNS, "vcluster-%s", NAME);
    H = kube_for(kc);
    V = kube_for(e.kubeconfig);
    vc_translate_options to;
    vc_translate_options_init(&to, VC_TRANSLATE_OPTIONS_VERSION);
    to.name = NAME;
    to.host_namespace = HNS;
    to.sync_to_host = VC_TRANSLATE_SYNC_ALL;
    if (!H || !V || vc_translator_new(&T, &to) < 0) {
        vcenv_down(&e);
        return 1;
    }
    RUN(t_setup);
    RUN(t_to_host_create);
    RUN(t_network_policy_isolated);
    RUN(t_to_host_update);
    RUN(t_ingress_status_back);
    RUN(t_host_refusal_event);
    RUN(t_to_host_delete);
    RUN(t_from_host_copies);
    RUN(t_from_host_update);
    RUN(t_from_host_delete);
    RUN(t_restart_gc);
    RUN(t_from_host_priority_classes);
    RUN(t_config_errors);
    stop();
    /* host leftovers of this run (cluster-scoped ones outlive the namespace) */
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", HNS);
    kdelete(H, path);
    kdelete(H, IC "/kinds-ic-yes");
    kdelete(H, IC "/kinds-ic-no");
    kdelete(H, RC "/kinds-rc");
    kdelete(H, CSID "/kinds.csi.example.com");
    kdelete(H, CAP_H "/kinds-cap");
    for (size_t i = 0; i < N_NODES; i++) {
        snprintf(path, sizeof path, CSIN "/%s", NODES[i]);
        kdelete(H, path);
    }
    vc_translator_free(T);
    vc_kube_free(H);
    vc_kube_free(V);
    vcenv_down(&e);
    vc_global_shutdown();
    TEST_DONE();
}

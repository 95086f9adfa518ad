/* The host objects upstream vcluster makes that the first comparison with
 * upstream found missing or different (issue 16), against the kwok host
 * cluster and a bare virtual control plane:
 *
 * - kube-root-ca.crt: one host ConfigMap per virtual namespace,
 *   kube-root-ca.crt-x-<ns>-x-<vc>, referenced by the host pods' projected
 *   volumes; the shared vcluster-kube-root-ca.crt-x-<vc> an earlier release
 *   made is deleted at start; a namespace's copy goes with its last pod.
 * - fake Nodes: Hostname <node>.nodes.vcluster.com and the InternalIP of
 *   the kubelet proxy, the virtual API server's version, the proxy's port,
 *   ephemeral-storage and hugepages, the pressure conditions, system IDs,
 *   upstream's labels and annotations; a fake node of an earlier release
 *   (bare status) is brought up to date.
 * - the Secret vc-<vc>: written by the syncer with its own connection to
 *   the virtual API server (server, CA, client certificate and key), labels
 *   app=vcluster and vcluster-name; a label the lifecycle set stays; a
 *   restart with exportKubeConfig.server/context/insecure rewrites it.
 * - CoreDNS as upstream's manifests: port 1053, the Corefile's NodeHosts
 *   file, the nodes.vcluster.com rewrite, probes, the non-root
 *   securityContext, upstream's default image, NodeHosts listing the fake
 *   nodes, and controlPlane.coredns.* settings applied.
 * - per-node kubelet Services (proxyKubelets.byIP) once the proxy listens
 *   on a non-loopback address: <vc>-node-<node> with Endpoints at the
 *   proxy, the fake node's InternalIP its ClusterIP; a Service of a node
 *   gone while the syncer was away is deleted at start; the node's Service
 *   goes with its last pod. */
#include <poll.h>

#include "vcenv.h"
#include "translate/translate.h"
#include "vcluster/syncer.h"

static vc_kube *H, *V;
static vc_syncer *S;
static char NAME[32], HNS[64];

static void pump(int ms)
{
    int64_t end = vc__now_ms() + ms;
    while (vc__now_ms() < end) {
        int64_t t = 0;
        vc_syncer_get_timeout(S, &t);
        struct pollfd p = { vc_syncer_get_fd(S), POLLIN, 0 };
        poll(&p, 1, t < 0 || t > 50 ? 50 : (int)t);
        int32_t st;
        vc_syncer_step(S, 0, &st);
        vc_sync_event *ev;
        while (vc_syncer_next_event(&ev, S) == VC_OK) {
            if (ev->type == VC_SYNC_ERROR && ev->error->code != VC_ECONFLICT)
                fprintf(stderr, "  sync error: %s\n", ev->error->message);
            vc_sync_event_free(ev);
        }
    }
}

static bool pump_until(bool (*cond)(void), int timeout_ms)
{
    int64_t end = vc__now_ms() + timeout_ms;
    while (vc__now_ms() < end) {
        pump(200);
        if (cond())
            return true;
    }
    return cond();
}

static int kdelete(vc_kube *k, const char *path)
{
    int rc = vc_kube_request(k, NULL, NULL, "DELETE", path, NULL, NULL);
    return rc == VC_ENOTFOUND ? VC_OK : rc;
}

/* where fake nodes find the kubelet proxy (t_node_services moves it off
 * loopback, where per-node Services can reach it) */
static const char *KUBELET_ADDR = "127.0.0.1";

static void start_syncer(const char *config)
{
    vc_syncer_options o;
    CHECK_INT(vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.host_namespace = HNS;
    o.config_yaml = config;
    o.kubelet_address = KUBELET_ADDR;
    o.kubelet_port = 10999;
    int rc = vc_syncer_new(&S, H, V, &o);
    if (rc < 0)
        fprintf(stderr, "vc_syncer_new: %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
}

static void stop_syncer(void)
{
    if (!S)
        return;
    vc_syncer_stop(S);
    int32_t st = VC_STEP_IDLE;
    int64_t end = vc__now_ms() + 10000;
    while (st != VC_STEP_STOPPED && vc__now_ms() < end)
        vc_syncer_step(S, 100, &st);
    vc_syncer_free(S);
    S = NULL;
}

/* a host object of the vcluster's namespace: what is "configmaps" */
static json_t *hget(const char *what, const char *a)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/%s/%s", HNS, what, a);
    return kget(H, path);
}

static bool host_has(const char *what, const char *a)
{
    json_t *o = hget(what, a);
    bool ok = o && !json_object_get(json_object_get(o, "metadata"), "deletionTimestamp");
    json_decref(o);
    return ok;
}

#define HCM "configmaps"
#define HPOD "pods"

/* the host side the lifecycle would make, and a shared root CA ConfigMap an
 * earlier release left */
static void host_setup(void)
{
    char buf[1024], path[256];
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", HNS);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", buf), VC_OK);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"ports\":[{\"name\":\"https\",\"port\":443,\"targetPort\":8443}]}}", NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"%s\"},"
             "\"subsets\":[{\"addresses\":[{\"ip\":\"10.1.2.3\"}],\"ports\":[{\"name\":\"https\",\"port\":8443}]}]}",
             NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/endpoints", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"vc-workload-%s\"}}",
             NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"vcluster-kube-root-ca.crt-x-%s\","
             "\"labels\":{\"vcluster.loft.sh/managed-by\":\"%s\",\"vcluster.loft.sh/namespace\":\"a\"},"
             "\"annotations\":{\"vcluster.loft.sh/object-name\":\"kube-root-ca.crt\","
             "\"vcluster.loft.sh/object-namespace\":\"a\"}},\"data\":{\"ca.crt\":\"old\"}}",
             NAME, NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
}

static const char *SA_PATH;
static bool sa_exists(void)
{
    json_t *o = kget(V, SA_PATH);
    bool ok = o != NULL;
    json_decref(o);
    return ok;
}

static void virtual_pod(const char *ns, const char *name)
{
    char buf[1024], path[256];
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    CHECK_INT(kcreate(V, "/api/v1/namespaces", buf), VC_OK);
    /* the service-account admission plugin needs the namespace's default SA */
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts/default", ns);
    SA_PATH = path;
    CHECK(pump_until(sa_exists, 30000));
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}", name);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
    CHECK_INT(kcreate(V, path, buf), VC_OK);
}

/* ---- kube-root-ca.crt per namespace ---- */

static char CM_A[128], CM_B[128], POD_A[128], POD_B[128], LEGACY[128];

static bool legacy_gone(void)
{
    return !host_has(HCM, LEGACY);
}

static bool root_cas_synced(void)
{
    return host_has(HCM, CM_A) && host_has(HCM, CM_B) && host_has(HPOD, POD_A) && host_has(HPOD, POD_B);
}

/* the name the host pod's projected volume gives the root CA ConfigMap */
static char *projected_root_ca(const char *pod)
{
    json_t *p = hget(HPOD, pod);
    char *found = NULL;
    size_t i, j;
    json_t *vol, *src;
    json_array_foreach(json_object_get(json_object_get(p, "spec"), "volumes"), i, vol) {
        json_array_foreach(json_object_get(json_object_get(vol, "projected"), "sources"), j, src) {
            const char *n = vc__jpath_str(src, "configMap", "name");
            if (n && strstr(n, "kube-root-ca.crt"))
                found = vc__strdup(n);
        }
    }
    json_decref(p);
    return found;
}

static bool cm_a_gone(void)
{
    return !host_has(HCM, CM_A);
}

static void t_root_ca_per_namespace(void)
{
    snprintf(CM_A, sizeof CM_A, "kube-root-ca.crt-x-a-x-%s", NAME);
    snprintf(CM_B, sizeof CM_B, "kube-root-ca.crt-x-b-x-%s", NAME);
    snprintf(POD_A, sizeof POD_A, "p-x-a-x-%s", NAME);
    snprintf(POD_B, sizeof POD_B, "p-x-b-x-%s", NAME);
    snprintf(LEGACY, sizeof LEGACY, "vcluster-kube-root-ca.crt-x-%s", NAME);
    CHECK(host_has(HCM, LEGACY));
    start_syncer(NULL);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(legacy_gone, 30000));
    printf("# the shared ConfigMap of an earlier release deleted %lld ms after start\n",
           (long long)(vc__now_ms() - t0));
    virtual_pod("a", "p");
    virtual_pod("b", "p");
    t0 = vc__now_ms();
    CHECK(pump_until(root_cas_synced, 90000));
    printf("# two pods in two namespaces: two root CA ConfigMaps on the host in %lld ms\n",
           (long long)(vc__now_ms() - t0));
    /* each host ConfigMap carries its namespace's CA and names its origin */
    json_t *va = kget(V, "/api/v1/namespaces/a/configmaps/kube-root-ca.crt");
    json_t *ha = hget(HCM, CM_A);
    CHECK(vc__jpath_str(va, "data", "ca.crt") != NULL);
    CHECK_STR(vc__jpath_str(ha, "data", "ca.crt"), vc__jpath_str(va, "data", "ca.crt"));
    json_t *ann = json_object_get(json_object_get(ha, "metadata"), "annotations");
    CHECK_STR(json_string_value(json_object_get(ann, "vcluster.loft.sh/object-namespace")), "a");
    CHECK_STR(json_string_value(json_object_get(ann, "vcluster.loft.sh/object-name")), "kube-root-ca.crt");
    CHECK_STR(vc__jpath_str(json_object_get(ha, "metadata"), "labels", "vcluster.loft.sh/namespace"), "a");
    json_decref(va);
    json_decref(ha);
    json_t *hb = hget(HCM, CM_B);
    ann = json_object_get(json_object_get(hb, "metadata"), "annotations");
    CHECK_STR(json_string_value(json_object_get(ann, "vcluster.loft.sh/object-namespace")), "b");
    json_decref(hb);
    /* the pods' projected volumes name their own namespace's copy */
    char *ra = projected_root_ca(POD_A), *rb = projected_root_ca(POD_B);
    CHECK_STR(ra, CM_A);
    CHECK_STR(rb, CM_B);
    vc__free(ra);
    vc__free(rb);
    /* the shared one stays gone */
    CHECK(!host_has(HCM, LEGACY));
    /* a's pod goes: a's copy goes (no pod uses it), b's stays */
    CHECK_INT(kdelete(V, "/api/v1/namespaces/a/pods/p?gracePeriodSeconds=0"), VC_OK);
    CHECK(pump_until(cm_a_gone, 60000));
    CHECK(host_has(HCM, CM_B));
}

/* ---- fake node details ---- */

static char FAKE_NODE[128];

static bool has_str(const json_t *o, const char *k, const char *want)
{
    return vc__streq(json_string_value(json_object_get(o, k)), want);
}

static bool fake_node_upstream(void)
{
    /* the fake node of pod b/p, the pod that stays to the end (CoreDNS's
     * pod may sit on another kwok node, whose fake node goes once CoreDNS
     * is scaled to 0 in t_node_services) */
    json_t *pod = kget(V, "/api/v1/namespaces/b/pods/p");
    const char *pnode = vc__jpath_str(pod, "spec", "nodeName");
    char npath[256];
    snprintf(npath, sizeof npath, "/api/v1/nodes/%s", pnode ? pnode : "-");
    json_t *nodes = pnode ? kget(V, npath) : NULL;
    json_decref(pod);
    json_t *n = vc__streq(vc__jpath_str(json_object_get(nodes, "metadata"), "labels", "vcluster.loft.sh/fake-node"), "true") ? nodes : NULL;
    const char *name = vc__jpath_str(n, "metadata", "name");
    bool ok = name != NULL;
    if (ok)
        snprintf(FAKE_NODE, sizeof FAKE_NODE, "%s", name);
    json_t *st = json_object_get(n, "status");
    /* addresses: Hostname <node>.nodes.vcluster.com, then the proxy's IP */
    json_t *addrs = json_object_get(st, "addresses");
    char host[256];
    snprintf(host, sizeof host, "%s.nodes.vcluster.com", name ? name : "");
    ok = ok && json_array_size(addrs) == 2 && has_str(json_array_get(addrs, 0), "type", "Hostname") &&
         has_str(json_array_get(addrs, 0), "address", host) && has_str(json_array_get(addrs, 1), "type", "InternalIP") &&
         has_str(json_array_get(addrs, 1), "address", "127.0.0.1");
    json_int_t port = json_integer_value(
        json_object_get(json_object_get(json_object_get(st, "daemonEndpoints"), "kubeletEndpoint"), "Port"));
    ok = ok && port == 10999;
    /* the version of the virtual API server */
    vc_buf want = VC_BUF_INIT;
    vc_kube_server_version(V, &want);
    json_t *ni = json_object_get(st, "nodeInfo");
    ok = ok && want.ptr && has_str(ni, "kubeletVersion", want.ptr) && has_str(ni, "kubeProxyVersion", want.ptr);
    vc_buf_dispose(&want);
    /* system IDs shaped as GUIDs */
    static const char *const ids[] = { "bootID", "machineID", "systemUUID" };
    for (size_t i = 0; i < 3; i++) {
        const char *id = json_string_value(json_object_get(ni, ids[i]));
        ok = ok && id && strlen(id) == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-';
    }
    /* capacity and allocatable */
    static const char *const res[][2] = { { "cpu", "16" },          { "memory", "32Gi" },   { "ephemeral-storage", "100Gi" },
                                          { "hugepages-1Gi", "0" }, { "hugepages-2Mi", "0" }, { "pods", "110" } };
    for (size_t i = 0; i < VC__ARRAY_LEN(res); i++)
        ok = ok && has_str(json_object_get(st, "capacity"), res[i][0], res[i][1]) &&
             has_str(json_object_get(st, "allocatable"), res[i][0], res[i][1]);
    /* conditions: three pressures False, Ready True */
    static const char *const conds[][2] = {
        { "MemoryPressure", "False" }, { "DiskPressure", "False" }, { "PIDPressure", "False" }, { "Ready", "True" }
    };
    for (size_t i = 0; i < VC__ARRAY_LEN(conds); i++) {
        bool seen = false;
        size_t j;
        json_t *c;
        json_array_foreach(json_object_get(st, "conditions"), j, c) {
            if (has_str(c, "type", conds[i][0]) && has_str(c, "status", conds[i][1]))
                seen = true;
        }
        ok = ok && seen;
    }
    /* upstream's labels and annotations */
    json_t *md = json_object_get(n, "metadata");
    char fake[256];
    snprintf(fake, sizeof fake, "fake-%s", name ? name : "");
    ok = ok && has_str(json_object_get(md, "labels"), "kubernetes.io/hostname", fake) &&
         has_str(json_object_get(md, "labels"), "beta.kubernetes.io/arch", "amd64") &&
         has_str(json_object_get(md, "annotations"), "node.alpha.kubernetes.io/ttl", "0") &&
         has_str(json_object_get(md, "annotations"), "volumes.kubernetes.io/controller-managed-attach-detach", "false");
    json_decref(nodes);
    return ok;
}

static char *SAVED_BOOT;

static bool fake_node_repatched(void)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/nodes/%s", FAKE_NODE);
    json_t *n = kget(V, path);
    const char *boot = vc__jpath_str(json_object_get(n, "status"), "nodeInfo", "bootID");
    bool ok = fake_node_upstream() && vc__streq(boot, SAVED_BOOT);
    json_decref(n);
    return ok;
}

static void t_fake_node(void)
{
    CHECK(pump_until(fake_node_upstream, 30000));
    /* a fake node as an earlier release left it: the status is patched again
     * with the same system IDs */
    char path[256];
    snprintf(path, sizeof path, "/api/v1/nodes/%s", FAKE_NODE);
    json_t *n = kget(V, path);
    SAVED_BOOT = vc__strdup(vc__jpath_str(json_object_get(n, "status"), "nodeInfo", "bootID"));
    json_decref(n);
    snprintf(path, sizeof path, "/api/v1/nodes/%s/status", FAKE_NODE);
    CHECK_INT(vc_kube_request(V, NULL, NULL, "PATCH", path,
                              "{\"status\":{\"capacity\":{\"ephemeral-storage\":null,\"hugepages-1Gi\":null},"
                              "\"addresses\":[{\"type\":\"Hostname\",\"address\":\"bare\"}]}}",
                              "application/merge-patch+json"),
              VC_OK);
    /* the next event of the node brings it back */
    CHECK(pump_until(fake_node_repatched, 30000));
    vc__free(SAVED_BOOT);
}


/* ---- the exported kubeconfig Secret ---- */

static char *secret_key(const char *key)
{
    char name[128];
    snprintf(name, sizeof name, "vc-%s", NAME);
    json_t *sec = hget("secrets", name);
    const char *b64 = vc__jpath_str(sec, "data", key);
    unsigned char *out = NULL;
    size_t n = 0;
    char *r = NULL;
    if (b64 && vc__base64_decode(b64, strlen(b64), &out, &n) == VC_OK) {
        r = vc__strndup((const char *)out, n);
        vc__free(out);
    }
    json_decref(sec);
    return r;
}

static char VSERVER[256];

static bool secret_written(void)
{
    char *cfg = secret_key("config");
    bool ok = cfg && strstr(cfg, VSERVER) && strstr(cfg, "client-certificate-data");
    vc__free(cfg);
    return ok;
}

static bool secret_exported(void)
{
    char *cfg = secret_key("config"), *ca = secret_key("certificate-authority");
    bool ok = cfg && strstr(cfg, "server: https://vc.example.test:8443") && strstr(cfg, "current-context: exported") &&
              strstr(cfg, "insecure-skip-tls-verify: true") && !strstr(cfg, "certificate-authority-data") && ca &&
              !*ca;
    vc__free(cfg);
    vc__free(ca);
    return ok;
}

static void t_kubeconfig_secret(void)
{
    /* the syncer (started by t_root_ca_per_namespace, no config) wrote it */
    snprintf(VSERVER, sizeof VSERVER, "server: %s", V->cfg.server);
    CHECK(pump_until(secret_written, 30000));
    char name[128];
    snprintf(name, sizeof name, "vc-%s", NAME);
    json_t *sec = hget("secrets", name);
    json_t *labels = json_object_get(json_object_get(sec, "metadata"), "labels");
    CHECK_STR(json_string_value(json_object_get(labels, "app")), "vcluster");
    CHECK_STR(json_string_value(json_object_get(labels, "vcluster-name")), NAME);
    CHECK_STR(vc__jstr(sec, "type"), "Opaque");
    json_decref(sec);
    char *crt = secret_key("client-certificate"), *key = secret_key("client-key"), *ca = secret_key("certificate-authority");
    CHECK(crt && strstr(crt, "BEGIN CERTIFICATE"));
    CHECK(key && strstr(key, "PRIVATE KEY"));
    CHECK(ca && strstr(ca, "BEGIN CERTIFICATE"));
    vc__free(crt);
    vc__free(key);
    vc__free(ca);
    /* the exported view works: a client made from it reaches the virtual API server */
    char *cfg = secret_key("config");
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig_data = cfg;
    vc_kube *k = NULL;
    CHECK_INT(vc_kube_new(&k, &o), VC_OK);
    json_t *ns = k ? kget(k, "/api/v1/namespaces/a") : NULL;
    CHECK(ns != NULL);
    json_decref(ns);
    vc_kube_free(k);
    vc__free(cfg);
    /* a label of the lifecycle's stays through the restart below */
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", HNS, name);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "PATCH", path, "{\"metadata\":{\"labels\":{\"release\":\"x\"}}}",
                              "application/merge-patch+json"),
              VC_OK);
    stop_syncer();
    start_syncer("exportKubeConfig:\n  server: https://vc.example.test:8443\n  context: exported\n  insecure: true\n");
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(secret_exported, 30000));
    printf("# restarted with exportKubeConfig: the Secret rewritten in %lld ms\n", (long long)(vc__now_ms() - t0));
    sec = hget("secrets", name);
    CHECK_STR(vc__jpath_str(json_object_get(sec, "metadata"), "labels", "release"), "x");
    json_decref(sec);
}

/* ---- CoreDNS ---- */

static json_t *vget(const char *path)
{
    return kget(V, path);
}

static bool coredns_upstream(void)
{
    json_t *cm = vget("/api/v1/namespaces/kube-system/configmaps/coredns");
    json_t *d = vget("/apis/apps/v1/namespaces/kube-system/deployments/coredns");
    json_t *svc = vget("/api/v1/namespaces/kube-system/services/kube-dns");
    const char *corefile = vc__jpath_str(cm, "data", "Corefile");
    const char *nh = vc__jpath_str(cm, "data", "NodeHosts");
    char line[300];
    snprintf(line, sizeof line, "127.0.0.1 %s.nodes.vcluster.com", FAKE_NODE);
    bool ok = corefile && strstr(corefile, ".:1053 {") && strstr(corefile, "hosts /etc/coredns/NodeHosts") &&
              strstr(corefile, "rewrite name regex .*\\.nodes\\.vcluster\\.com kubernetes.default.svc.cluster.local") &&
              strstr(corefile, "prometheus :9153") && strstr(corefile, "import /etc/coredns/custom/*.server") && nh &&
              strstr(nh, line);
    json_t *spec = json_object_get(json_object_get(json_object_get(d, "spec"), "template"), "spec");
    json_t *c = json_array_get(json_object_get(spec, "containers"), 0);
    ok = ok && has_str(c, "image", "coredns/coredns:1.14.2") &&
         vc__streq(vc__jpath_str(json_object_get(c, "livenessProbe"), "httpGet", "path"), "/health") &&
         json_integer_value(json_object_get(json_object_get(json_object_get(c, "readinessProbe"), "httpGet"), "port")) ==
             8181 &&
         json_is_true(json_object_get(json_object_get(c, "securityContext"), "runAsNonRoot")) &&
         json_integer_value(json_object_get(json_object_get(c, "securityContext"), "runAsUser")) == 1001;
    /* the settings */
    ok = ok && has_str(spec, "priorityClassName", "system-cluster-critical") &&
         vc__streq(vc__jpath_str(spec, "nodeSelector", "disk"), "ssd") &&
         vc__streq(vc__jpath_str(spec, "nodeSelector", "kubernetes.io/os"), "linux") &&
         has_str(json_array_get(json_object_get(spec, "tolerations"), 0), "key", "dedicated") &&
         vc__streq(vc__jpath_str(json_object_get(c, "resources"), "limits", "memory"), "300Mi") &&
         vc__streq(vc__jpath_str(json_object_get(d, "metadata"), "labels", "team"), "dns") &&
         vc__streq(vc__jpath_str(json_object_get(json_object_get(json_object_get(d, "spec"), "template"), "metadata"),
                                 "annotations", "pod-note"),
                   "x") &&
         vc__streq(vc__jpath_str(json_object_get(svc, "metadata"), "labels", "svc-label"), "blue") &&
         vc__streq(vc__jpath_str(json_object_get(svc, "metadata"), "labels", "k8s-app"), "vcluster-kube-dns");
    json_t *p0 = json_array_get(json_object_get(json_object_get(svc, "spec"), "ports"), 0);
    ok = ok && json_integer_value(json_object_get(p0, "port")) == 53 &&
         json_integer_value(json_object_get(p0, "targetPort")) == 1053;
    json_decref(cm);
    json_decref(d);
    json_decref(svc);
    return ok;
}

static void t_coredns(void)
{
    stop_syncer();
    start_syncer("controlPlane:\n"
                 "  coredns:\n"
                 "    priorityClassName: system-cluster-critical\n"
                 "    service:\n"
                 "      labels: {svc-label: blue}\n"
                 "    deployment:\n"
                 "      labels: {team: dns}\n"
                 "      pods:\n"
                 "        annotations: {pod-note: x}\n"
                 "      nodeSelector: {disk: ssd}\n"
                 "      tolerations: [{key: dedicated, operator: Exists}]\n"
                 "      resources: {limits: {memory: 300Mi}}\n");
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(coredns_upstream, 60000));
    printf("# CoreDNS manifests with the settings and NodeHosts in %lld ms\n", (long long)(vc__now_ms() - t0));
}

/* ---- per-node kubelet Services ---- */

static char SVC[200], STALE[128];

static bool node_service_ready(void)
{
    json_t *svc = hget("services", SVC), *ep = hget("endpoints", SVC);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/nodes/%s", FAKE_NODE);
    json_t *n = kget(V, path);
    const char *ip = vc__jpath_str(svc, "spec", "clusterIP");
    const char *iip = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(json_object_get(n, "status"), "addresses"), i, a) {
        if (has_str(a, "type", "InternalIP"))
            iip = vc__jstr(a, "address");
    }
    json_int_t kport = json_integer_value(json_object_get(
        json_object_get(json_object_get(json_object_get(n, "status"), "daemonEndpoints"), "kubeletEndpoint"), "Port"));
    json_t *port = json_array_get(json_object_get(json_object_get(svc, "spec"), "ports"), 0);
    json_t *sub = json_array_get(json_object_get(ep, "subsets"), 0);
    /* the node's kubelet: the Service's ClusterIP and port */
    bool ok = ip && iip && !strcmp(ip, iip) && kport == 10250 && json_integer_value(json_object_get(port, "port")) == 10250 &&
              json_integer_value(json_object_get(port, "targetPort")) == 10999 &&
              has_str(port, "name", "kubelet") &&
              vc__streq(vc__jpath_str(json_object_get(svc, "metadata"), "labels", "vcluster.loft.sh/node"), FAKE_NODE) &&
              vc__streq(vc__jpath_str(json_object_get(svc, "metadata"), "labels", "vcluster.loft.sh/belongs-to"), NAME) &&
              has_str(json_array_get(json_object_get(sub, "addresses"), 0), "ip", KUBELET_ADDR) &&
              json_integer_value(json_object_get(json_array_get(json_object_get(sub, "ports"), 0), "port")) == 10999;
    json_decref(svc);
    json_decref(ep);
    json_decref(n);
    return ok;
}

/* CoreDNS's NodeHosts follows the node's new InternalIP */
static bool nodehosts_follow(void)
{
    json_t *svc = hget("services", SVC);
    json_t *cm = kget(V, "/api/v1/namespaces/kube-system/configmaps/coredns");
    char line[300];
    snprintf(line, sizeof line, "%s %s.nodes.vcluster.com", vc__jpath_str(svc, "spec", "clusterIP") ? vc__jpath_str(svc, "spec", "clusterIP") : "?", FAKE_NODE);
    const char *nh = vc__jpath_str(cm, "data", "NodeHosts");
    bool ok = nh && strstr(nh, line);
    json_decref(svc);
    json_decref(cm);
    return ok;
}

static bool stale_gone(void)
{
    return !host_has("services", STALE);
}

static bool node_service_gone(void)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/nodes/%s", FAKE_NODE);
    json_t *n = kget(V, path);
    bool ok = !n && !host_has("services", SVC);
    json_decref(n);
    return ok;
}

static void t_node_services(void)
{
    stop_syncer();
    /* no Service while the proxy was on loopback */
    snprintf(SVC, sizeof SVC, "%s-node-%s", NAME, FAKE_NODE);
    CHECK(!host_has("services", SVC));
    /* one an earlier run left for a node that is gone */
    snprintf(STALE, sizeof STALE, "%s-node-gone", NAME);
    char buf[512], path[256];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\",\"labels\":{"
             "\"vcluster.loft.sh/belongs-to\":\"%s\",\"vcluster.loft.sh/node\":\"gone\"}},"
             "\"spec\":{\"ports\":[{\"name\":\"kubelet\",\"port\":10250}]}}", STALE, NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    KUBELET_ADDR = "10.244.9.9";
    /* no CoreDNS pod holding a node from here on */
    start_syncer("controlPlane:\n  coredns:\n    deployment:\n      replicas: 0\n");
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(node_service_ready, 30000));
    printf("# the node's kubelet Service, its Endpoints and the node's InternalIP in %lld ms\n",
           (long long)(vc__now_ms() - t0));
    CHECK(pump_until(stale_gone, 30000));
    t0 = vc__now_ms();
    CHECK(pump_until(nodehosts_follow, 30000));
    printf("# CoreDNS NodeHosts names the node's new InternalIP after %lld ms\n", (long long)(vc__now_ms() - t0));
    /* a restart with the proxy elsewhere (a restarted pod has a new IP):
     * the Endpoints follow, the Service and the node's address stay */
    json_t *svc = hget("services", SVC);
    char *ip = vc__strdup(vc__jpath_str(svc, "spec", "clusterIP"));
    json_decref(svc);
    stop_syncer();
    KUBELET_ADDR = "10.244.9.10";
    start_syncer("controlPlane:\n  coredns:\n    deployment:\n      replicas: 0\n");
    t0 = vc__now_ms();
    CHECK(pump_until(node_service_ready, 30000));
    printf("# restarted with the proxy at another address: Endpoints updated in %lld ms\n",
           (long long)(vc__now_ms() - t0));
    svc = hget("services", SVC);
    CHECK_STR(vc__jpath_str(svc, "spec", "clusterIP"), ip);
    json_decref(svc);
    vc__free(ip);
    /* the last pod goes: the fake node and its Service go */
    CHECK_INT(kdelete(V, "/api/v1/namespaces/b/pods/p?gracePeriodSeconds=0"), VC_OK);
    t0 = vc__now_ms();
    CHECK(pump_until(node_service_gone, 60000));
    printf("# the last pod deleted: node and Service gone in %lld ms\n", (long long)(vc__now_ms() - t0));
}

static void cleanup_host(void)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", HNS);
    kdelete(H, path);
}

int main(void)
{
    itest_log_from_env();
    const char *kc = itest_kubeconfig();
    vc_global_init(NULL);
    itest_name(NAME, sizeof NAME, "vcu");
    snprintf(HNS, sizeof HNS, "vcluster-%s", NAME);
    H = kube_for(kc);
    vcenv e;
    if (!H || vcenv_up(&e) < 0)
        return 1;
    V = kube_for(e.kubeconfig);
    if (!V) {
        vcenv_down(&e);
        return 1;
    }
    host_setup();
    RUN(t_root_ca_per_namespace);
    RUN(t_fake_node);
    RUN(t_kubeconfig_secret);
    RUN(t_coredns);
    RUN(t_node_services);
    stop_syncer();
    vc_kube_free(V);
    vcenv_down(&e);
    cleanup_host();
    vc_kube_free(H);
    vc_global_shutdown();
    TEST_DONE();
}

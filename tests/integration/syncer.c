/* The syncer against two real control planes: the host (kwok nodes) and a
 * bare virtual one. A Deployment inside becomes translated host pods that
 * run and show Running inside, bound to fake nodes that exist inside; a used
 * ConfigMap syncs and an unused one does not; a Service gets its host twin
 * with a translated selector; deletions go both ways; step(0) never blocks. */
#include <poll.h>

#include "canary.h"
#include "vcenv.h"
#include "translate/translate.h"
#include "vcluster/syncer.h"

static vc_kube *H, *V;
static vc_syncer *S;
static char NAME[32], HNS[64];
static int64_t max_step_us, max_step_cpu_us;
static long steps;

static int64_t cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void pump(int ms)
{
    int64_t end = vc__now_ms() + ms;
    while (vc__now_ms() < end) {
        int64_t t = 0;
        vc_syncer_get_timeout(S, &t);
        struct pollfd p = { vc_syncer_get_fd(S), POLLIN, 0 };
        int w = t < 0 || t > 50 ? 50 : (int)t;
        poll(&p, 1, w);
        struct timespec a, b;
        int64_t c0 = cpu_us();
        clock_gettime(CLOCK_MONOTONIC, &a);
        int32_t st;
        vc_syncer_step(S, 0, &st);
        clock_gettime(CLOCK_MONOTONIC, &b);
        int64_t cus = cpu_us() - c0;
        int64_t us = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
        if (us > max_step_us)
            max_step_us = us;
        if (cus > max_step_cpu_us)
            max_step_cpu_us = cus;
        steps++;
        vc_sync_event *ev;
        while (vc_syncer_next_event(&ev, S) == VC_OK) {
            if (ev->type == VC_SYNC_ERROR && ev->error->code != VC_ECONFLICT)
                fprintf(stderr, "  sync error: %s\n", ev->error->message);
            vc_sync_event_free(ev);
        }
    }
}

/* Pump until cond() is true or the deadline passes. */
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

static int count_items(vc_kube *k, const char *path, const char *phase)
{
    json_t *l = kget(k, path);
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(l, "items"), i, it) {
        if (phase && !vc__streq(vc__jpath_str(it, "status", "phase"), phase))
            continue;
        if (json_object_get(json_object_get(it, "metadata"), "deletionTimestamp"))
            continue;
        n++;
    }
    json_decref(l);
    return n;
}

static char host_pods_path[256];
static bool host_has_2_running(void)
{
    return count_items(H, host_pods_path, "Running") == 2;
}

static bool virtual_has_2_running_bound(void)
{
    json_t *l = kget(V, "/api/v1/namespaces/demo/pods?labelSelector=app%3Dweb");
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(l, "items"), i, it) {
        if (vc__streq(vc__jpath_str(it, "status", "phase"), "Running") && vc__jpath_str(it, "spec", "nodeName") &&
            vc__jpath_str(it, "status", "podIP"))
            n++;
    }
    json_decref(l);
    return n == 2;
}

static void t_setup(void)
{
    /* the host side the lifecycle would make: namespace + the API server Service */
    char buf[1024];
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", HNS);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", buf), VC_OK);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"ports\":[{\"name\":\"https\",\"port\":443,\"targetPort\":8443}]}}",
             NAME);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    /* the host Endpoints of the vcluster Service (the API server's pod) */
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"%s\"},"
             "\"subsets\":[{\"addresses\":[{\"ip\":\"10.1.2.3\"}],\"ports\":[{\"name\":\"https\",\"port\":8443}]}]}",
             NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/endpoints", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"vc-workload-%s\"}}", NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    /* virtual workload */
    CHECK_INT(kcreate(V, "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"demo\",\"labels\":{\"team\":\"x\"}}}"),
              VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/configmaps",
                      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"used\"},\"data\":{\"GREETING\":\"hi\"}}"), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/configmaps",
                      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"unused\"},\"data\":{\"x\":\"y\"}}"), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/services",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},"
                      "\"spec\":{\"selector\":{\"app\":\"web\"},\"ports\":[{\"port\":80}]}}"), VC_OK);
    /* a CoreDNS Deployment an older syncer left, with the old selector
     * (immutable): the syncer must replace it (t_coredns_labels) */
    CHECK_INT(kcreate(V, "/apis/apps/v1/namespaces/kube-system/deployments",
                      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"coredns\"},"
                      "\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":{\"k8s-app\":\"kube-dns\"}},"
                      "\"template\":{\"metadata\":{\"labels\":{\"k8s-app\":\"kube-dns\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
                      "\"image\":\"old\"}]}}}}"), VC_OK);
    CHECK_INT(kcreate(V, "/apis/apps/v1/namespaces/demo/deployments",
                      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
                      "\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
                      "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"nginx\","
                      "\"image\":\"nginx\",\"envFrom\":[{\"configMapRef\":{\"name\":\"used\"}}]}]}}}}"), VC_OK);
}

static char CONFIG[4096];

static void t_start_syncer(void)
{
    /* a host Service to replicate into the virtual cluster (F4.3), and a
     * virtual one to replicate onto the host (F4.4) */
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"nettool-host-%s\"},"
             "\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80}]}}", NAME);
    CHECK_INT(kcreate(H, "/api/v1/namespaces/default/services", buf), VC_OK);
    /* a headless host Service with two endpoint addresses (its Endpoints
     * written by hand: no selector), and a headless virtual one */
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"db-host-%s\"},"
             "\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}", NAME);
    CHECK_INT(kcreate(H, "/api/v1/namespaces/default/services", buf), VC_OK);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"db-host-%s\"},"
             "\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.7.1\"},{\"ip\":\"10.244.7.2\"}],"
             "\"ports\":[{\"name\":\"pg\",\"port\":5432}]}]}", NAME);
    CHECK_INT(kcreate(H, "/api/v1/namespaces/default/endpoints", buf), VC_OK);
    /* fromHost ConfigMaps and Secrets (issue 20): one by name, a whole
     * host namespace, one of the vcluster's host namespace by "/name" */
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"fh-a-%s\",\"labels\":{\"l\":\"1\"}},"
             "\"data\":{\"k\":\"v1\"}}", NAME);
    CHECK_INT(kcreate(H, "/api/v1/namespaces/default/configmaps", buf), VC_OK);
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"fh-%s\"}}", NAME);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", buf), VC_OK);
    char p2[256];
    snprintf(p2, sizeof p2, "/api/v1/namespaces/fh-%s/configmaps", NAME);
    CHECK_INT(kcreate(H, p2, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"one\"},\"data\":{\"n\":\"1\"}}"),
              VC_OK);
    snprintf(p2, sizeof p2, "/api/v1/namespaces/%s/secrets", HNS);
    CHECK_INT(kcreate(H, p2, "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"fh-sec\"},"
                             "\"type\":\"example.com/x\",\"data\":{\"pw\":\"c2VjcmV0\"}}"),
              VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/services",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web-hl\"},"
                      "\"spec\":{\"clusterIP\":\"None\",\"selector\":{\"app\":\"web\"},\"ports\":[{\"port\":80}]}}"),
              VC_OK);
    snprintf(CONFIG, sizeof CONFIG,
             "networking:\n"
             "  replicateServices:\n"
             "    fromHost:\n"
             "    - from: default/nettool-host-%s\n"
             "      to: default/nettool-host\n"
             "    - from: default/db-host-%s\n"
             "      to: demo/db\n"
             "    toHost:\n"
             "    - from: demo/web\n"
             "      to: web-on-host\n"
             "    - from: demo/web-hl\n"
             "      to: web-hl-on-host\n"
             /* init manifests (F11, upstream's experimental.deploy): into the
              * virtual cluster (a namespace, a ConfigMap in it, one with no
              * namespace: default) and into the host namespace */
             "sync:\n"
             "  fromHost:\n"
             "    configMaps:\n"
             "      enabled: true\n"
             "      mappings:\n"
             "        byName:\n"
             "          default/fh-a-%s: demo/fh-a\n"
             "          fh-%s/*: fh-copy/*\n"
             "    secrets:\n"
             "      enabled: true\n"
             "      mappings:\n"
             "        byName:\n"
             "          /fh-sec: demo/sec-copy\n"
             "experimental:\n"
             "  deploy:\n"
             "    vcluster:\n"
             "      manifests: |-\n"
             "        apiVersion: v1\n"
             "        kind: Namespace\n"
             "        metadata:\n"
             "          name: init\n"
             "        ---\n"
             "        apiVersion: v1\n"
             "        kind: ConfigMap\n"
             "        metadata:\n"
             "          name: init-cm\n"
             "          namespace: init\n"
             "        data:\n"
             "          a: b\n"
             "      manifestsTemplate: |-\n"
             "        apiVersion: v1\n"
             "        kind: ConfigMap\n"
             "        metadata:\n"
             "          name: tpl-{{ .Release.Name }}\n"
             "        data:\n"
             "          ns: {{ .Release.Namespace }}\n"
             "          domain: \"{{- .Values.networking.advanced.clusterDomain -}}\"\n"
             "    host:\n"
             "      manifests: |-\n"
             "        apiVersion: v1\n"
             "        kind: ConfigMap\n"
             "        metadata:\n"
             "          name: host-init\n"
             "        data:\n"
             "          x: z\n", NAME, NAME, NAME, NAME);
    vc_syncer_options o;
    CHECK_INT(vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.host_namespace = HNS;
    o.config_yaml = CONFIG;
    o.kubelet_address = "127.0.0.1"; /* the kubelet proxy fake nodes advertise */
    o.kubelet_port = 10999;
    CHECK_INT(vc_syncer_new(&S, H, V, &o), VC_OK);
    CHECK(vc_syncer_get_fd(S) >= 0);
}

/* A pod's own annotations survive the status written back (the syncer
 * caches a slim record of a running pod and patches only the status). */
static bool annotated_running(void)
{
    json_t *p = kget(V, "/api/v1/namespaces/demo/pods/annotated");
    bool ok = p && vc__streq(vc__jpath_str(p, "status", "phase"), "Running");
    json_decref(p);
    return ok;
}

static void t_pod_annotations_kept(void)
{
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"annotated\",\"labels\":{\"role\":\"x\"},"
                      "\"annotations\":{\"team\":\"a\",\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}},"
                      "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"), VC_OK);
    CHECK(pump_until(annotated_running, 90000));
    json_t *p = kget(V, "/api/v1/namespaces/demo/pods/annotated");
    json_t *ann = json_object_get(json_object_get(p, "metadata"), "annotations");
    CHECK_STR(json_string_value(json_object_get(ann, "team")), "a");
    CHECK_STR(json_string_value(json_object_get(ann, "kubectl.kubernetes.io/last-applied-configuration")), "{}");
    CHECK_STR(vc__jpath_str(json_object_get(p, "metadata"), "labels", "role"), "x");
    CHECK(vc__jpath_str(p, "spec", "nodeName") != NULL);
    json_t *cs = json_array_get(json_object_get(json_object_get(p, "status"), "containerStatuses"), 0);
    CHECK_STR(json_string_value(json_object_get(cs, "name")), "c");
    json_decref(p);
    CHECK_INT(vc_kube_request(V, NULL, NULL, "DELETE", "/api/v1/namespaces/demo/pods/annotated", NULL, NULL), VC_OK);
}

static bool kube_endpoints_moved(void)
{
    json_t *ep = kget(V, "/api/v1/namespaces/default/endpoints/kubernetes");
    json_t *ss = json_array_get(json_object_get(ep, "subsets"), 0);
    bool ok = vc__streq(vc__jstr(json_array_get(json_object_get(ss, "addresses"), 0), "ip"), "10.1.2.4");
    json_decref(ep);
    return ok;
}

/* default/kubernetes inside points at the virtual API server as the host
 * reaches it (upstream's k8sdefaultendpoint test). */
static bool kube_endpoints_match(void)
{
    json_t *ep = kget(V, "/api/v1/namespaces/default/endpoints/kubernetes");
    json_t *ss = json_array_get(json_object_get(ep, "subsets"), 0);
    bool ok = vc__streq(vc__jstr(json_array_get(json_object_get(ss, "addresses"), 0), "ip"), "10.1.2.3") &&
              json_integer_value(json_object_get(json_array_get(json_object_get(ss, "ports"), 0), "port")) == 8443;
    json_decref(ep);
    return ok;
}

static void t_kubernetes_endpoints(void)
{
    CHECK(pump_until(kube_endpoints_match, 30000));
    json_t *sl = kget(V, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes");
    CHECK(sl != NULL);
    CHECK_STR(vc__jpath_str(sl, "metadata", "name"), "kubernetes");
    json_t *e = json_array_get(json_object_get(sl, "endpoints"), 0);
    CHECK_STR(json_string_value(json_array_get(json_object_get(e, "addresses"), 0)), "10.1.2.3");
    CHECK_STR(json_string_value(json_object_get(sl, "addressType")), "IPv4");
    json_decref(sl);
    /* the host side moves: so does the inside */
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/endpoints/%s", HNS, NAME);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "PATCH", path,
                              "{\"subsets\":[{\"addresses\":[{\"ip\":\"10.1.2.4\"}],\"ports\":[{\"name\":\"https\",\"port\":8443}]}]}",
                              "application/merge-patch+json"), VC_OK);
    CHECK(pump_until(kube_endpoints_moved, 30000));
}

/* The host's Scheduled Events of synced pods are copied in, pointed at the
 * virtual pod (name, namespace, uid). */
static bool scheduled_event_copied(void)
{
    json_t *l = kget(V, "/api/v1/namespaces/demo/events");
    size_t i;
    json_t *e;
    bool ok = false;
    json_array_foreach(json_object_get(l, "items"), i, e) {
        json_t *io = json_object_get(e, "involvedObject");
        if (vc__streq(vc__jstr(e, "reason"), "Scheduled") && vc__streq(vc__jstr(io, "namespace"), "demo") &&
            vc__jstr(io, "uid") && vc__jstr(io, "name") && !strstr(vc__jstr(io, "name"), "-x-") &&
            /* the message in the tenant's names too: "... assigned demo/web-... to ..." */
            vc__jstr(e, "message") && strstr(vc__jstr(e, "message"), "demo/web") &&
            !strstr(vc__jstr(e, "message"), "-x-") && !strstr(vc__jstr(e, "message"), HNS))
            ok = true;
    }
    json_decref(l);
    return ok;
}

/* A fake node reports the kubelet endpoint and the virtual API server's version. */
static bool fake_node_status_ok(void)
{
    json_t *nodes = kget(V, "/api/v1/nodes?labelSelector=vcluster.loft.sh%2Ffake-node%3Dtrue");
    json_t *st = json_object_get(json_array_get(json_object_get(nodes, "items"), 0), "status");
    json_int_t port = json_integer_value(
        json_object_get(json_object_get(json_object_get(st, "daemonEndpoints"), "kubeletEndpoint"), "Port"));
    json_t *addrs = json_object_get(st, "addresses");
    /* as upstream: Hostname first, then the InternalIP (issue 16) */
    const char *t0 = json_string_value(json_object_get(json_array_get(addrs, 0), "type"));
    const char *a1 = json_string_value(json_object_get(json_array_get(addrs, 1), "address"));
    const char *t1 = json_string_value(json_object_get(json_array_get(addrs, 1), "type"));
    const char *kv = json_string_value(json_object_get(json_object_get(st, "nodeInfo"), "kubeletVersion"));
    vc_buf want = VC_BUF_INIT;
    vc_kube_server_version(V, &want);
    bool ok = port == 10999 && vc__streq(t0, "Hostname") && vc__streq(a1, "127.0.0.1") && vc__streq(t1, "InternalIP") &&
              want.ptr && vc__streq(kv, want.ptr) && strcmp(kv, "v1.19.1") != 0;
    vc_buf_dispose(&want);
    json_decref(nodes);
    return ok;
}

static void t_pods_run_and_bind(void)
{
    snprintf(host_pods_path, sizeof host_pods_path,
             "/api/v1/namespaces/%s/pods?labelSelector=vcluster.loft.sh%%2Fmanaged-by%%3D%s,app%%3Dweb", HNS, NAME);
    CHECK(pump_until(host_has_2_running, 90000));
    CHECK(pump_until(virtual_has_2_running_bound, 60000));
    /* host pods carry the translated names and annotations */
    json_t *l = kget(H, host_pods_path);
    size_t i;
    json_t *it;
    int web = 0;
    json_array_foreach(json_object_get(l, "items"), i, it) {
        const char *n = vc__jpath_str(it, "metadata", "name");
        json_t *ann = json_object_get(json_object_get(it, "metadata"), "annotations");
        if (n && strstr(n, "-x-demo-x-") && vc__streq(json_string_value(json_object_get(ann, "vcluster.loft.sh/namespace")), "demo"))
            web++;
        char sa[64];
        snprintf(sa, sizeof sa, "vc-workload-%s", NAME);
        CHECK_STR(vc__jpath_str(it, "spec", "serviceAccountName"), sa);
        /* the namespace's labels go with the pod (vcluster.loft.sh/ns-label-...) */
        const char *lk;
        json_t *lv;
        int nsl = 0;
        json_object_foreach(json_object_get(json_object_get(it, "metadata"), "labels"), lk, lv) {
            if (!strncmp(lk, "vcluster.loft.sh/ns-label-", 26) && vc__streq(json_string_value(lv), "x"))
                nsl++;
        }
        CHECK_INT(nsl, 1);
    }
    CHECK_INT(web, 2);
    json_decref(l);
    CHECK(pump_until(scheduled_event_copied, 30000));
    /* fake nodes exist inside for the nodes that run them */
    json_t *nodes = kget(V, "/api/v1/nodes?labelSelector=vcluster.loft.sh%2Ffake-node%3Dtrue");
    CHECK(json_array_size(json_object_get(nodes, "items")) >= 1);
    json_decref(nodes);
    /* ... with the kubelet endpoint (InternalIP, port) and the version */
    CHECK(pump_until(fake_node_status_ok, 15000));
}

static bool cm_synced(void)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/used-x-demo-x-%s", HNS, NAME);
    json_t *j = kget(H, path);
    bool ok = j != NULL;
    json_decref(j);
    return ok;
}

static void t_configmaps_and_services(void)
{
    CHECK(pump_until(cm_synced, 30000));
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/unused-x-demo-x-%s", HNS, NAME);
    json_t *j = kget(H, path);
    CHECK(j == NULL);
    json_decref(j);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services/web-x-demo-x-%s", HNS, NAME);
    json_t *svc = kget(H, path);
    CHECK(svc != NULL);
    json_t *sel = json_object_get(json_object_get(svc, "spec"), "selector");
    CHECK_STR(json_string_value(json_object_get(sel, "app")), "web");
    CHECK_STR(json_string_value(json_object_get(sel, "vcluster.loft.sh/managed-by")), NAME);
    CHECK_STR(json_string_value(json_object_get(sel, "vcluster.loft.sh/namespace")), "demo");
    json_decref(svc);
}

/* CoreDNS as upstream's: k8s-app=vcluster-kube-dns on the Deployment, its
 * selector, its pods (the host pods keep it) and the kube-dns Service */
static bool coredns_upstream_labels(void)
{
    json_t *d = kget(V, "/apis/apps/v1/namespaces/kube-system/deployments/coredns");
    json_t *ml = json_object_get(json_object_get(json_object_get(d, "spec"), "selector"), "matchLabels");
    bool ok = d && vc__streq(json_string_value(json_object_get(ml, "k8s-app")), "vcluster-kube-dns") &&
              vc__streq(json_string_value(json_object_get(
                            json_object_get(json_object_get(d, "metadata"), "labels"), "k8s-app")),
                        "vcluster-kube-dns");
    json_decref(d);
    if (!ok)
        return false;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=k8s-app%%3Dvcluster-kube-dns", HNS);
    json_t *l = kget(H, path);
    ok = l && json_array_size(json_object_get(l, "items")) >= 1;
    json_decref(l);
    return ok;
}

static void t_coredns_labels(void)
{
    CHECK(pump_until(coredns_upstream_labels, 90000));
    json_t *s = kget(V, "/api/v1/namespaces/kube-system/services/kube-dns");
    CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(s, "spec"), "selector"), "k8s-app")),
              "vcluster-kube-dns");
    json_decref(s);
}

/* experimental.deploy: the manifests landed, the template rendered */
static bool deployed(void)
{
    json_t *a = kget(V, "/api/v1/namespaces/init/configmaps/init-cm");
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/default/configmaps/tpl-%s", NAME);
    json_t *b = kget(V, p);
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/configmaps/host-init", HNS);
    json_t *c = kget(H, p);
    bool ok = a && b && c && vc__streq(vc__jpath_str(a, "data", "a"), "b") &&
              vc__streq(vc__jpath_str(b, "data", "ns"), HNS) &&
              vc__streq(vc__jpath_str(b, "data", "domain"), "cluster.local") &&
              vc__streq(vc__jpath_str(c, "data", "x"), "z");
    json_decref(a);
    json_decref(b);
    json_decref(c);
    return ok;
}

static void t_deploy_manifests(void)
{
    CHECK(pump_until(deployed, 60000));
}

/* sync.fromHost.configMaps/secrets */
static const char *want_a = "v1";
static bool fromhost_copied(void)
{
    json_t *a = kget(V, "/api/v1/namespaces/demo/configmaps/fh-a");
    json_t *b = kget(V, "/api/v1/namespaces/fh-copy/configmaps/one");
    json_t *c = kget(V, "/api/v1/namespaces/demo/secrets/sec-copy");
    bool ok = a && b && c && vc__streq(vc__jpath_str(a, "data", "k"), want_a) &&
              vc__streq(vc__jpath_str(b, "data", "n"), "1") && vc__streq(vc__jpath_str(c, "data", "pw"), "c2VjcmV0") &&
              vc__streq(json_string_value(json_object_get(c, "type")), "example.com/x");
    json_t *labels = json_object_get(json_object_get(a, "metadata"), "labels");
    ok = ok && vc__streq(json_string_value(json_object_get(labels, "l")), "1");
    json_decref(a);
    json_decref(b);
    json_decref(c);
    return ok;
}

static bool fromhost_a_gone(void)
{
    json_t *a = kget(V, "/api/v1/namespaces/demo/configmaps/fh-a");
    json_decref(a);
    return a == NULL;
}

static void t_fromhost_configmaps_secrets(void)
{
    CHECK(pump_until(fromhost_copied, 60000));
    /* a host update reaches the copy */
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/default/configmaps/fh-a-%s", NAME);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "PATCH", p, "{\"data\":{\"k\":\"v2\"}}", "application/merge-patch+json"),
              VC_OK);
    want_a = "v2";
    CHECK(pump_until(fromhost_copied, 30000));
    /* a virtual edit is undone */
    CHECK_INT(vc_kube_request(V, NULL, NULL, "PATCH", "/api/v1/namespaces/demo/configmaps/fh-a",
                              "{\"data\":{\"k\":\"tenant\"}}", "application/merge-patch+json"),
              VC_OK);
    CHECK(pump_until(fromhost_copied, 30000));
    /* a virtual delete is undone */
    CHECK_INT(vc_kube_request(V, NULL, NULL, "DELETE", "/api/v1/namespaces/demo/configmaps/fh-a", NULL, NULL), VC_OK);
    CHECK(pump_until(fromhost_copied, 30000));
    /* the host object goes: so does the copy */
    CHECK_INT(vc_kube_request(H, NULL, NULL, "DELETE", p, NULL, NULL), VC_OK);
    CHECK(pump_until(fromhost_a_gone, 30000));
}

/* a host Event annotated vcluster.loft.sh/force-sync=true, about a host
 * object the virtual cluster does not have, lands in virtual default */
static bool forced_event_copied(void)
{
    json_t *e = kget(V, "/api/v1/namespaces/default/events/forced-ev");
    bool ok = e && vc__streq(vc__jstr(e, "message"), "forced through") &&
              vc__streq(vc__jpath_str(e, "involvedObject", "namespace"), "default");
    json_decref(e);
    return ok;
}

static void t_force_synced_event(void)
{
    char p[256], buf[1024];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/events", HNS);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"forced-ev\","
             "\"annotations\":{\"vcluster.loft.sh/force-sync\":\"true\"}},"
             "\"involvedObject\":{\"kind\":\"ConfigMap\",\"namespace\":\"%s\",\"name\":\"some-host-cm\"},"
             "\"reason\":\"Test\",\"message\":\"forced through\",\"type\":\"Normal\"}",
             HNS);
    CHECK_INT(kcreate(H, p, buf), VC_OK);
    /* and one without the annotation, about a non-pod: stays on the host */
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"plain-ev\"},"
             "\"involvedObject\":{\"kind\":\"ConfigMap\",\"namespace\":\"%s\",\"name\":\"some-host-cm\"},"
             "\"reason\":\"Test\",\"message\":\"host only\",\"type\":\"Normal\"}",
             HNS);
    CHECK_INT(kcreate(H, p, buf), VC_OK);
    CHECK(pump_until(forced_event_copied, 30000));
    json_t *plain = kget(V, "/api/v1/namespaces/default/events/plain-ev");
    CHECK(plain == NULL);
    json_decref(plain);
}

/* a LoadBalancer Service with externalTrafficPolicy Local gets the host's
 * ClusterIP, nodePort and healthCheckNodePort (issue 16 row 6) */
static bool lb_local_matches(void)
{
    json_t *v = kget(V, "/api/v1/namespaces/demo/services/lb-local");
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/services/lb-local-x-demo-x-%s", HNS, NAME);
    json_t *h = kget(H, p);
    json_t *vs = json_object_get(v, "spec"), *hs = json_object_get(h, "spec");
    json_t *vp = json_array_get(json_object_get(vs, "ports"), 0), *hp = json_array_get(json_object_get(hs, "ports"), 0);
    bool ok = v && h && vc__streq(vc__jstr(vs, "clusterIP"), vc__jstr(hs, "clusterIP")) &&
              json_integer_value(json_object_get(hp, "nodePort")) > 0 &&
              json_equal(json_object_get(vp, "nodePort"), json_object_get(hp, "nodePort")) &&
              json_integer_value(json_object_get(hs, "healthCheckNodePort")) > 0 &&
              json_equal(json_object_get(vs, "healthCheckNodePort"), json_object_get(hs, "healthCheckNodePort"));
    json_decref(v);
    json_decref(h);
    return ok;
}

static void t_loadbalancer_local(void)
{
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/services",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"lb-local\"},"
                      "\"spec\":{\"type\":\"LoadBalancer\",\"externalTrafficPolicy\":\"Local\","
                      "\"selector\":{\"app\":\"web\"},\"ports\":[{\"port\":8080}]}}"),
              VC_OK);
    CHECK(pump_until(lb_local_matches, 60000));
}

/* virtual default/kubernetes gets the host Service's ClusterIP and ports
 * (issue 16 row 5) */
static bool kube_service_matches(void)
{
    json_t *v = kget(V, "/api/v1/namespaces/default/services/kubernetes");
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/services/%s", HNS, NAME);
    json_t *h = kget(H, p);
    json_t *vp = json_array_get(json_object_get(json_object_get(v, "spec"), "ports"), 0);
    bool ok = v && h && vc__streq(vc__jpath_str(v, "spec", "clusterIP"), vc__jpath_str(h, "spec", "clusterIP")) &&
              json_array_size(json_object_get(json_object_get(v, "spec"), "ports")) == 1 &&
              json_integer_value(json_object_get(vp, "port")) == 443 &&
              json_integer_value(json_object_get(vp, "targetPort")) == 8443;
    json_decref(v);
    json_decref(h);
    return ok;
}

static void t_kubernetes_service(void)
{
    CHECK(pump_until(kube_service_matches, 60000));
}

static char host_ip[64];

/* fromHost as upstream: a headless virtual Service, Endpoints = the host
 * ClusterIP (or the host's addresses for a headless host Service) */
static bool replicated_from_host(void)
{
    json_t *v = kget(V, "/api/v1/namespaces/default/services/nettool-host");
    json_t *e = kget(V, "/api/v1/namespaces/default/endpoints/nettool-host");
    json_t *sub = json_array_get(json_object_get(e, "subsets"), 0);
    json_t *port = json_array_get(json_object_get(sub, "ports"), 0);
    bool ok = v && vc__streq(vc__jpath_str(v, "spec", "clusterIP"), "None") &&
              json_object_get(json_object_get(v, "spec"), "selector") == NULL &&
              vc__streq(json_string_value(json_object_get(json_array_get(json_object_get(sub, "addresses"), 0), "ip")),
                        host_ip) &&
              json_array_size(json_object_get(sub, "addresses")) == 1 &&
              json_integer_value(json_object_get(port, "port")) == 80 &&
              vc__streq(json_string_value(json_object_get(port, "name")), "http");
    json_decref(v);
    json_decref(e);
    return ok;
}

static bool headless_from_host(void)
{
    json_t *v = kget(V, "/api/v1/namespaces/demo/services/db");
    json_t *e = kget(V, "/api/v1/namespaces/demo/endpoints/db");
    json_t *addrs = json_object_get(json_array_get(json_object_get(e, "subsets"), 0), "addresses");
    bool ok = v && vc__streq(vc__jpath_str(v, "spec", "clusterIP"), "None") && json_array_size(addrs) == 2 &&
              vc__streq(json_string_value(json_object_get(json_array_get(addrs, 0), "ip")), "10.244.7.1") &&
              vc__streq(json_string_value(json_object_get(json_array_get(addrs, 1), "ip")), "10.244.7.2");
    json_decref(v);
    json_decref(e);
    return ok;
}

static bool replicated_to_host(void)
{
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/services/web-on-host", HNS);
    json_t *h = kget(H, p);
    json_t *sel = h ? json_object_get(json_object_get(h, "spec"), "selector") : NULL;
    bool ok = sel && vc__streq(json_string_value(json_object_get(sel, "app")), "web") &&
              vc__streq(json_string_value(json_object_get(sel, "vcluster.loft.sh/namespace")), "demo");
    json_decref(h);
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/services/web-hl-on-host", HNS);
    h = kget(H, p);
    ok = ok && h && vc__streq(vc__jpath_str(h, "spec", "clusterIP"), "None");
    json_decref(h);
    return ok;
}

static bool replica_gone(void)
{
    json_t *v = kget(V, "/api/v1/namespaces/default/services/nettool-host");
    json_t *e = kget(V, "/api/v1/namespaces/default/endpoints/nettool-host");
    bool ok = !v && !e;
    json_decref(v);
    json_decref(e);
    return ok;
}

static void t_replicate_services(void)
{
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/default/services/nettool-host-%s", NAME);
    json_t *h = kget(H, p);
    snprintf(host_ip, sizeof host_ip, "%s", h ? vc__jpath_str(h, "spec", "clusterIP") : "?");
    json_decref(h);
    CHECK(pump_until(replicated_from_host, 30000));
    CHECK(pump_until(headless_from_host, 30000));
    CHECK(pump_until(replicated_to_host, 30000));
    /* the source goes, the replica and its Endpoints go */
    CHECK_INT(vc_kube_request(H, NULL, NULL, "DELETE", p, NULL, NULL), VC_OK);
    CHECK(pump_until(replica_gone, 30000));
    snprintf(p, sizeof p, "/api/v1/namespaces/default/services/db-host-%s", NAME);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "DELETE", p, NULL, NULL), VC_OK);
}

static bool host_has_1(void)
{
    return count_items(H, host_pods_path, NULL) == 1;
}

static void t_scale_down_deletes_host_pod(void)
{
    CHECK_INT(vc_kube_request(V, NULL, NULL, "PATCH", "/apis/apps/v1/namespaces/demo/deployments/web/scale",
                              "{\"spec\":{\"replicas\":1}}", "application/merge-patch+json"), VC_OK);
    CHECK(pump_until(host_has_1, 60000));
}

static char deleted_host_pod[256];
static bool replaced(void)
{
    json_t *l = kget(H, host_pods_path);
    bool ok = false;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(l, "items"), i, it) {
        const char *n = vc__jpath_str(it, "metadata", "name");
        if (n && strcmp(n, deleted_host_pod) != 0 && vc__streq(vc__jpath_str(it, "status", "phase"), "Running"))
            ok = true;
    }
    json_decref(l);
    return ok;
}

static void t_host_deletion_goes_back(void)
{
    json_t *l = kget(H, host_pods_path);
    const char *n = vc__jpath_str(json_array_get(json_object_get(l, "items"), 0), "metadata", "name");
    CHECK(n != NULL);
    snprintf(deleted_host_pod, sizeof deleted_host_pod, "%s", n ? n : "");
    json_decref(l);
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", HNS, deleted_host_pod);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "DELETE", path, "{\"gracePeriodSeconds\":0}", NULL), VC_OK);
    /* the virtual pod goes, its ReplicaSet makes a new one, which is synced */
    CHECK(pump_until(replaced, 90000));
}

static bool no_demo_pods(void)
{
    return count_items(H, host_pods_path, NULL) == 0;
}

static void t_virtual_deletion(void)
{
    CHECK_INT(vc_kube_request(V, NULL, NULL, "DELETE", "/apis/apps/v1/namespaces/demo/deployments/web",
                              "{\"propagationPolicy\":\"Foreground\"}", NULL), VC_OK);
    CHECK(pump_until(no_demo_pods, 90000));
}

static void t_step_never_blocks(void)
{
    /* measured over every step of this test, with I/O in flight: at most
     * 10 ms of work (the thread's CPU time: on a loaded machine the wall
     * time includes preemption) and no wait (wall time far below the
     * seconds a wait for a plugin, DNS or a server costs); syncer-step
     * drives the same bound through an exec plugin and 10,000 objects */
    printf("# steps: %ld, longest step(0): %lld us wall, %lld us CPU\n", steps, (long long)max_step_us,
           (long long)max_step_cpu_us);
#if defined(__SANITIZE_ADDRESS__)
    CHECK(max_step_cpu_us < 20000); /* ASan: see syncer_step.c */
#else
    CHECK(max_step_cpu_us < 10000);
#endif
    CHECK(max_step_us < 1000000);
    vc_syncer_stats st;
    memset(&st, 0, sizeof st);
    st.version = VC_SYNCER_STATS_VERSION;
    CHECK_INT(vc_syncer_stats_get(S, &st), VC_OK);
    CHECK(st.informers_synced == st.informers);
    CHECK(st.host_writes > 0);
    vc_buf b = VC_BUF_INIT;
    CHECK_INT(vc_syncer_stats_json(S, &b), VC_OK);
    CHECK_CONTAINS(b.ptr, "\"Pod\"");
    vc_buf_dispose(&b);
}

static void t_stop(void)
{
    CHECK_INT(vc_syncer_stop(S), VC_OK);
    int32_t st = VC_STEP_IDLE;
    int64_t end = vc__now_ms() + 10000;
    while (st != VC_STEP_STOPPED && vc__now_ms() < end)
        vc_syncer_step(S, 100, &st);
    CHECK_INT(st, VC_STEP_STOPPED);
    vc_syncer_free(S);
    S = NULL;
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    /* every allocation of the run through a canary-header allocator
     * (tests/unit/canary.h): a block released with libc free() is an ASan
     * bad-free, libc memory given to the allocator's free counts g_bad_free */
    vc_global_init(&g_alloc);
    vcenv e;
    if (vcenv_up(&e) < 0)
        return 1;
    itest_name(NAME, sizeof NAME, "vc");
    snprintf(HNS, sizeof HNS, "vcluster-%s", NAME);
    H = kube_for(kc);
    V = kube_for(e.kubeconfig);
    if (!H || !V) {
        vcenv_down(&e);
        return 1;
    }
    RUN(t_setup);
    RUN(t_start_syncer);
    RUN(t_kubernetes_endpoints);
    RUN(t_kubernetes_service);
    RUN(t_pods_run_and_bind);
    RUN(t_pod_annotations_kept);
    RUN(t_configmaps_and_services);
    RUN(t_replicate_services);
    RUN(t_coredns_labels);
    RUN(t_deploy_manifests);
    RUN(t_fromhost_configmaps_secrets);
    RUN(t_force_synced_event);
    RUN(t_loadbalancer_local);
    RUN(t_scale_down_deletes_host_pod);
    RUN(t_host_deletion_goes_back);
    RUN(t_virtual_deletion);
    RUN(t_step_never_blocks);
    RUN(t_stop);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", HNS);
    vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
    vc_kube_free(H);
    vc_kube_free(V);
    vcenv_down(&e);
    vc_global_shutdown();
    CHECK_INT(g_bad_free, 0);
    CHECK(g_count > 0);
    printf("# %ld allocations through the canary allocator, %ld blocks live after shutdown\n", g_count, g_live);
    TEST_DONE();
}

/* Object-level calls beyond to-host: status back-sync, binding, the
 * bidirectional metadata merge, token requests, references, and the JSON API's
 * error handling. */
#include <jansson.h>
#include <stdlib.h>

#include <vcluster.h>

#include "check.h"

static vc_translator *mk(uint32_t flags, uint32_t sync)
{
    vc_translate_options o;
    vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
    o.name = "my-vcluster";
    o.kube_ip = "10.96.0.1";
    o.dns_ip = "10.96.0.10";
    o.flags = flags;
    o.sync_to_host = sync;
    vc_translator *t = NULL;
    CHECK_RC(vc_translator_new(&t, &o), VC_OK);
    return t;
}

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    if (!v)
        fprintf(stderr, "bad test JSON: %s\n", e.text);
    return v;
}

static const char *jget(json_t *root, const char *path)
{
    /* dotted path with numeric indexes: "status.containerStatuses.0.name" */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(cur))
            cur = json_array_get(cur, (size_t)atoi(tok));
        else
            cur = json_object_get(cur, tok);
    }
    static char out[512];
    if (!cur)
        return NULL;
    if (json_is_string(cur))
        return json_string_value(cur);
    char *d = json_dumps(cur, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(out, sizeof out, "%s", d ? d : "");
    free(d);
    return out;
}

static void test_pod_status(void)
{
    vc_translator *t = mk(0, 0);
    const char *host =
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-x-demo-x-my-vcluster\",\"namespace\":\"vcluster-my-vcluster\"},"
        "\"spec\":{\"nodeName\":\"worker-1\",\"containers\":[{\"name\":\"app\"}],\"initContainers\":[{\"name\":\"vcluster-rewrite-hosts\"}]},"
        "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.1.7\",\"podIPs\":[{\"ip\":\"10.244.1.7\"}],\"hostIP\":\"172.18.0.3\",\"qosClass\":\"Burstable\","
        "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
        "\"containerStatuses\":[{\"name\":\"app\",\"ready\":true},{\"name\":\"istio-proxy\",\"ready\":true}],"
        "\"initContainerStatuses\":[{\"name\":\"vcluster-rewrite-hosts\",\"ready\":false}]}}";
    const char *virt =
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"demo\"},"
        "\"spec\":{\"containers\":[{\"name\":\"app\"}]},\"status\":{\"phase\":\"Pending\",\"qosClass\":\"BestEffort\"}}";
    vc_buf b = VC_BUF_INIT;
    CHECK_RC(vc_translate_to_virtual_status(&b, t, host, virt), VC_OK);
    json_t *r = J(b.ptr);
    CHECK_STR(jget(r, "status.phase"), "Running");
    CHECK_STR(jget(r, "status.podIP"), "10.244.1.7");
    CHECK_STR(jget(r, "status.qosClass"), "BestEffort"); /* kept virtual */
    CHECK_STR(jget(r, "status.conditions.0.type"), "Ready");
    CHECK_STR(jget(r, "status.containerStatuses"), "[{\"name\":\"app\",\"ready\":true}]");
    CHECK_STR(jget(r, "status.initContainerStatuses"), "[]");
    CHECK(jget(r, "spec.nodeName") == NULL); /* binding is separate */
    json_decref(r);
    /* idempotent: applying the same host status twice changes nothing */
    vc_buf b2 = VC_BUF_INIT;
    CHECK_RC(vc_translate_to_virtual_status(&b2, t, host, b.ptr), VC_OK);
    CHECK_STR(b2.ptr, b.ptr);

    /* binding */
    CHECK_RC(vc_translate_pod_binding(&b, t, host, virt), VC_OK);
    r = J(b.ptr);
    CHECK_STR(jget(r, "kind"), "Binding");
    CHECK_STR(jget(r, "metadata.name"), "web");
    CHECK_STR(jget(r, "metadata.namespace"), "demo");
    CHECK_STR(jget(r, "target.kind"), "Node");
    CHECK_STR(jget(r, "target.name"), "worker-1");
    json_decref(r);
    const char *bound = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"demo\"},\"spec\":{\"nodeName\":\"worker-1\"}}";
    CHECK_RC(vc_translate_pod_binding(&b, t, host, bound), VC_OK);
    CHECK_STR(b.ptr, "");
    const char *other = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"demo\"},\"spec\":{\"nodeName\":\"worker-2\"}}";
    CHECK_RC(vc_translate_pod_binding(&b, t, host, other), VC_ECONFLICT);
    const char *unscheduled = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"},\"spec\":{}}";
    CHECK_RC(vc_translate_pod_binding(&b, t, unscheduled, virt), VC_OK);
    CHECK_STR(b.ptr, "");
    vc_buf_dispose(&b);
    vc_buf_dispose(&b2);
    vc_translator_free(t);
}

static void test_service_pvc_status(void)
{
    vc_translator *t = mk(0, VC_TRANSLATE_SYNC_PERSISTENT_VOLUMES);
    vc_buf b = VC_BUF_INIT;
    const char *hsvc = "{\"kind\":\"Service\",\"metadata\":{\"name\":\"web-x-demo-x-my-vcluster\"},\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.5.5\","
                       "\"clusterIPs\":[\"10.96.5.5\"],\"ports\":[{\"port\":80,\"nodePort\":31234}]},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"203.0.113.9\"}]}}}";
    const char *vsvc = "{\"kind\":\"Service\",\"metadata\":{\"name\":\"web\",\"namespace\":\"demo\"},\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80}]}}";
    CHECK_RC(vc_translate_to_virtual_status(&b, t, hsvc, vsvc), VC_OK);
    json_t *r = J(b.ptr);
    CHECK_STR(jget(r, "status.loadBalancer.ingress.0.ip"), "203.0.113.9");
    CHECK_STR(jget(r, "spec.clusterIP"), "10.96.5.5");
    CHECK_STR(jget(r, "spec.ports.0.nodePort"), "31234");
    json_decref(r);
    const char *hcip = "{\"kind\":\"Service\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.5.6\"},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"1.2.3.4\"}]}}}";
    CHECK_RC(vc_translate_to_virtual_status(&b, t, hcip, vsvc), VC_OK);
    r = J(b.ptr);
    CHECK_STR(jget(r, "status"), "{\"loadBalancer\":{}}");
    json_decref(r);

    const char *hpvc = "{\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"data-x-demo-x-my-vcluster\",\"annotations\":{\"pv.kubernetes.io/bind-completed\":\"yes\"}},"
                       "\"spec\":{\"volumeName\":\"vcluster-pv-1-x-vcluster-my-vcluster-x-my-vcluster\"},\"status\":{\"phase\":\"Bound\",\"capacity\":{\"storage\":\"10Gi\"}}}";
    const char *vpvc = "{\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"data\",\"namespace\":\"demo\"},\"spec\":{},\"status\":{\"phase\":\"Pending\"}}";
    CHECK_RC(vc_translate_to_virtual_status(&b, t, hpvc, vpvc), VC_OK);
    r = J(b.ptr);
    CHECK_STR(jget(r, "status.phase"), "Bound");
    CHECK_STR(jget(r, "status.capacity.storage"), "10Gi");
    CHECK_STR(jget(r, "spec.volumeName"), "pv-1");
    CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(r, "metadata"), "annotations"),
                                                "pv.kubernetes.io/bind-completed")), "yes");
    json_decref(r);
    /* a dynamically provisioned host PV keeps its name inside (PV sync on:
     * upstream's PV mapper falls back to the host name; off: the mirror) */
    const char *hdyn = "{\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"data-x-demo-x-my-vcluster\"},"
                       "\"spec\":{\"volumeName\":\"pvc-1234\"},\"status\":{\"phase\":\"Bound\"}}";
    CHECK_RC(vc_translate_to_virtual_status(&b, t, hdyn, vpvc), VC_OK);
    r = J(b.ptr);
    CHECK_STR(jget(r, "spec.volumeName"), "pvc-1234");
    json_decref(r);
    vc_translator *tf = mk(0, 0);
    CHECK_RC(vc_translate_to_virtual_status(&b, tf, hdyn, vpvc), VC_OK);
    r = J(b.ptr);
    CHECK_STR(jget(r, "spec.volumeName"), "pvc-1234");
    json_decref(r);
    vc_translator_free(tf);
    CHECK_RC(vc_translate_to_virtual_status(&b, t, "{\"kind\":\"ConfigMap\"}", "{\"kind\":\"ConfigMap\"}"), VC_ENOTSUPPORTED);
    vc_buf_dispose(&b);
    vc_translator_free(t);
}

static void test_merge(void)
{
    vc_translator *t = mk(0, 0);
    vc_buf v = VC_BUF_INIT, h = VC_BUF_INIT;
    const char *vold = "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\",\"namespace\":\"demo\",\"labels\":{\"app\":\"x\",\"release\":\"r1\"},\"annotations\":{\"note\":\"1\"}}}";
    const char *vnew = "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\",\"namespace\":\"demo\",\"labels\":{\"app\":\"y\",\"release\":\"r2\"},\"annotations\":{\"note\":\"2\",\"added\":\"v\"}}}";
    const char *hold = "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a-x-demo-x-my-vcluster\",\"namespace\":\"vcluster-my-vcluster\","
                       "\"labels\":{\"app\":\"x\",\"vcluster.loft.sh/label-my-vcluster-x-a4d451ec23\":\"r1\",\"vcluster.loft.sh/managed-by\":\"my-vcluster\"},"
                       "\"annotations\":{\"note\":\"1\",\"host-only\":\"h\"}}}";
    const char *hnew = "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a-x-demo-x-my-vcluster\",\"namespace\":\"vcluster-my-vcluster\","
                       "\"labels\":{\"app\":\"host-changed\",\"vcluster.loft.sh/label-my-vcluster-x-a4d451ec23\":\"r1\",\"vcluster.loft.sh/managed-by\":\"my-vcluster\"},"
                       "\"annotations\":{\"note\":\"host\",\"host-only\":\"h\"}}}";
    /* both changed: virtual wins */
    CHECK_RC(vc_translate_merge_metadata(&v, &h, t, vold, vnew, hold, hnew), VC_OK);
    json_t *rv = J(v.ptr), *rh = J(h.ptr);
    json_t *hl = json_object_get(json_object_get(rh, "metadata"), "labels");
    json_t *ha = json_object_get(json_object_get(rh, "metadata"), "annotations");
    CHECK_STR(json_string_value(json_object_get(hl, "app")), "y");
    CHECK_STR(json_string_value(json_object_get(hl, "vcluster.loft.sh/label-my-vcluster-x-a4d451ec23")), "r2");
    CHECK_STR(json_string_value(json_object_get(hl, "vcluster.loft.sh/managed-by")), "my-vcluster");
    CHECK_STR(json_string_value(json_object_get(ha, "note")), "2");
    CHECK_STR(json_string_value(json_object_get(ha, "added")), "v");
    CHECK_STR(json_string_value(json_object_get(ha, "host-only")), "h");
    CHECK_STR(json_string_value(json_object_get(ha, "vcluster.loft.sh/object-name")), "a");
    CHECK_STR(json_string_value(json_object_get(ha, "vcluster.loft.sh/object-kind")), "/v1, Kind=ConfigMap");
    CHECK_STR(jget(rv, "metadata.labels.app"), "y");
    json_decref(rv);
    json_decref(rh);
    /* only the host changed: its changes flow back, reserved keys do not */
    const char *hnew2 = "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a-x-demo-x-my-vcluster\",\"namespace\":\"vcluster-my-vcluster\","
                        "\"labels\":{\"app\":\"x\",\"vcluster.loft.sh/label-my-vcluster-x-a4d451ec23\":\"r9\",\"vcluster.loft.sh/managed-by\":\"evil\",\"new\":\"n\"},"
                        "\"annotations\":{\"note\":\"host\",\"host-only\":\"h\",\"vcluster.loft.sh/object-name\":\"spoof\"}}}";
    CHECK_RC(vc_translate_merge_metadata(&v, &h, t, vold, vold, hold, hnew2), VC_OK);
    rv = J(v.ptr);
    json_t *vl = json_object_get(json_object_get(rv, "metadata"), "labels");
    json_t *va = json_object_get(json_object_get(rv, "metadata"), "annotations");
    CHECK_STR(json_string_value(json_object_get(vl, "release")), "r9");
    CHECK_STR(json_string_value(json_object_get(vl, "new")), "n");
    CHECK(json_object_get(vl, "vcluster.loft.sh/managed-by") == NULL);
    CHECK_STR(json_string_value(json_object_get(va, "note")), "host");
    CHECK(json_object_get(va, "vcluster.loft.sh/object-name") == NULL);
    json_decref(rv);
    /* nothing changed: a fixed point (idempotent) */
    CHECK_RC(vc_translate_merge_metadata(&v, &h, t, vold, vold, hold, hold), VC_OK);
    rv = J(v.ptr);
    json_t *want = J(vold);
    CHECK(json_equal(json_object_get(json_object_get(rv, "metadata"), "labels"), json_object_get(json_object_get(want, "metadata"), "labels")));
    json_decref(rv);
    json_decref(want);
    vc_buf_dispose(&v);
    vc_buf_dispose(&h);
    vc_translator_free(t);
}

static void test_pod_helpers(void)
{
    vc_translator *t = mk(VC_TRANSLATE_OPT_SECRETS_FOR_SA_TOKENS, 0);
    const char *pod =
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"demo\",\"uid\":\"u-1\"},"
        "\"spec\":{\"serviceAccountName\":\"builder\",\"dnsPolicy\":\"ClusterFirst\",\"imagePullSecrets\":[{\"name\":\"reg\"}],"
        "\"containers\":[{\"name\":\"app\",\"env\":[{\"name\":\"A\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\",\"key\":\"a\"}}}],"
        "\"envFrom\":[{\"secretRef\":{\"name\":\"sec\"}}]}],"
        "\"volumes\":[{\"name\":\"tok\",\"projected\":{\"sources\":[{\"serviceAccountToken\":{\"path\":\"token\"}},{\"configMap\":{\"name\":\"kube-root-ca.crt\"}}]}},"
        "{\"name\":\"data\",\"persistentVolumeClaim\":{\"claimName\":\"data\"}},{\"name\":\"eph\",\"ephemeral\":{\"volumeClaimTemplate\":{}}}]}}";
    vc_buf b = VC_BUF_INIT;
    CHECK_RC(vc_translate_pod_token_requests(&b, t, pod), VC_OK);
    json_t *r = J(b.ptr);
    CHECK(json_array_size(r) == 1);
    CHECK_STR(jget(r, "0.volume"), "tok");
    CHECK_STR(jget(r, "0.serviceAccountName"), "builder");
    CHECK_STR(jget(r, "0.request.kind"), "TokenRequest");
    CHECK_STR(jget(r, "0.request.spec.audiences"),
              "[\"https://kubernetes.default.svc.cluster.local\",\"https://kubernetes.default.svc\",\"https://kubernetes.default\"]");
    CHECK_STR(jget(r, "0.request.spec.boundObjectRef.uid"), "u-1");
    CHECK_STR(jget(r, "0.request.spec.expirationSeconds"), "315360000");
    json_decref(r);

    CHECK_RC(vc_translate_pod_references(&b, t, pod), VC_OK);
    r = J(b.ptr);
    CHECK_STR(jget(r, "configMaps"),
              "[{\"name\":\"cfg\",\"hostName\":\"cfg-x-demo-x-my-vcluster\"},{\"name\":\"kube-root-ca.crt\",\"hostName\":\"kube-root-ca.crt-x-demo-x-my-vcluster\"}]");
    CHECK_STR(jget(r, "secrets.0.name"), "sec");
    CHECK_STR(jget(r, "secrets.1.name"), "reg");
    CHECK_STR(jget(r, "secrets.2.hostName"), "web-sa-token-x-demo-x-my-vcluster");
    CHECK_STR(jget(r, "persistentVolumeClaims.1.hostName"), "web-eph-x-demo-x-my-vcluster");
    json_decref(r);

    /* with secrets for tokens the result is [pod, secret] */
    CHECK_RC(vc_translate_to_host(&b, t, pod, "{\"serviceAccountTokens\":[{\"volume\":\"tok\",\"token\":\"T\"}]}", 0), VC_OK);
    r = J(b.ptr);
    CHECK(json_is_array(r) && json_array_size(r) == 2);
    CHECK_STR(jget(r, "1.kind"), "Secret");
    CHECK_STR(jget(r, "1.metadata.name"), "web-sa-token-x-demo-x-my-vcluster");
    CHECK_STR(jget(r, "1.stringData.tok"), "T");
    CHECK_STR(jget(r, "0.spec.volumes.0.projected.sources.0.secret.name"), "web-sa-token-x-demo-x-my-vcluster");
    json_decref(r);
    /* missing token: VC_ESTATE naming the volume */
    CHECK_RC(vc_translate_to_host(&b, t, pod, NULL, 0), VC_ESTATE);
    CHECK(strstr(vc_error_last()->message, "volume tok") != NULL);
    vc_buf_dispose(&b);
    vc_translator_free(t);
}

static void test_api_errors(void)
{
    vc_translator *t = mk(0, 0);
    vc_buf b = VC_BUF_INIT;
    CHECK_RC(vc_translate_to_host(&b, t, "{", NULL, 0), VC_EINVAL);
    CHECK(strstr(vc_error_last()->message, "virtual object") != NULL);
    CHECK_RC(vc_translate_to_host(&b, t, "[1]", NULL, 0), VC_EINVAL);
    CHECK_RC(vc_translate_to_host(&b, t, "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"}}", "[]", 0), VC_EINVAL);
    CHECK_RC(vc_translate_to_host(&b, t, "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"a\"}}", NULL, 0), VC_ENOTSUPPORTED);
    CHECK_RC(vc_translate_to_host(&b, t, "{\"kind\":\"Ingress\",\"apiVersion\":\"networking.k8s.io/v1\",\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"}}", NULL, 0), VC_ENOTSUPPORTED);
    CHECK(strstr(vc_error_last()->message, "sync.toHost.ingresses.enabled") != NULL);
    CHECK_RC(vc_translate_to_host(&b, t, "{\"kind\":\"Service\",\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\"}}", NULL, 0), VC_ENOTSUPPORTED);
    CHECK_RC(vc_translate_to_host(&b, t, "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\"}}", NULL, 0), VC_EINVAL);
    CHECK_STR(vc_error_last()->message, "ConfigMap a: metadata.namespace: required for a namespaced kind");
    CHECK(vc_error_last()->klass == VC_ERRCLASS_TRANSLATE);
    CHECK_RC(vc_translate_to_host(&b, t, "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\"}}", NULL, VC_TRANSLATE_APPLY_DEFAULTS), VC_OK);
    CHECK(strstr(b.ptr, "\"a-x-default-x-my-vcluster\"") != NULL);
    CHECK_RC(vc_translate_to_host(&b, t, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":1}]}]}}", NULL, 0), VC_EINVAL);
    CHECK_STR(vc_error_last()->message, "Pod d/p: spec.containers[0].env[0].name: must be a string");
    CHECK_RC(vc_translate_to_host(NULL, t, "{}", NULL, 0), VC_EINVAL);
    CHECK_RC(vc_translate_to_host(&b, NULL, "{}", NULL, 0), VC_EINVAL);
    CHECK_RC(vc_translate_manifests(&b, NULL, t, "a: [", 4, "x.yaml", NULL, 0), VC_EINVAL);
    CHECK(strncmp(vc_error_last()->message, "x.yaml:", 7) == 0);
    CHECK_RC(vc_translate_manifests(&b, NULL, t, "kind: ConfigMap\n", 16, "x.yaml", "{bad", 0), VC_EINVAL);
    vc_buf_dispose(&b);
    vc_translator_free(t);
}

/* Runs with a counting allocator so every path is checked for leaks by LSan
 * and the allocator hook is exercised. */
static size_t g_allocs;
static void *cm(size_t n, void *u) { (void)u; g_allocs++; return malloc(n); }
static void *cr(void *p, size_t n, void *u) { (void)u; g_allocs++; return realloc(p, n); }
static void cf(void *p, void *u) { (void)u; free(p); }

int main(void)
{
    vc_allocator a = { VC_ALLOCATOR_VERSION, cm, cr, cf, NULL };
    if (vc_global_init(&a) < 0)
        return 1;
    test_pod_status();
    test_service_pvc_status();
    test_merge();
    test_pod_helpers();
    test_api_errors();
    CHECK(g_allocs > 0);
    vc_global_shutdown();
    return check_summary("translate-objects");
}

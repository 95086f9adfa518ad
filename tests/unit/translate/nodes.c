/* Real node sync, the pure part (src/translate/node.c): node selection, the
 * virtual Node a host Node becomes (labels/annotations/taints merged as
 * upstream, status copied with kubelet addresses rewritten and images
 * cleared), the host patch of syncBackChanges, and the selector labels that
 * host pods get (and do not get with a nodeName or the virtual scheduler). */
#include <jansson.h>
#include <stdlib.h>

#include <vcluster.h>

#include "check.h"
#include "translate/translate.h"

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    if (!v)
        fprintf(stderr, "bad test JSON: %s\n", e.text);
    return v;
}

/* dotted path, numeric indexes; compact JSON for non-strings */
static const char *jget(const json_t *root, const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *cur = root;
    for (char *save = NULL, *tok = strtok_r(buf, "|", &save); tok && cur; tok = strtok_r(NULL, "|", &save)) {
        if (json_is_array(cur))
            cur = json_array_get(cur, (size_t)atoi(tok));
        else
            cur = json_object_get(cur, tok);
    }
    static char out[2048];
    if (!cur)
        return NULL;
    if (json_is_string(cur))
        return json_string_value(cur);
    char *d = json_dumps(cur, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(out, sizeof out, "%s", d ? d : "");
    free(d);
    return out;
}

static const char *HOST =
    "{\"metadata\":{\"name\":\"n1.example\",\"labels\":{\"type\":\"kwok\",\"zone\":\"a\"},"
    "\"annotations\":{\"node.alpha/x\":\"y\"}},"
    "\"spec\":{\"podCIDR\":\"10.244.1.0/24\",\"taints\":[{\"key\":\"gpu\",\"value\":\"yes\",\"effect\":\"NoSchedule\"}]},"
    "\"status\":{\"capacity\":{\"cpu\":\"4\",\"pods\":\"110\"},\"allocatable\":{\"cpu\":\"3\",\"pods\":\"110\"},"
    "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.0.0.5\"},{\"type\":\"Hostname\",\"address\":\"n1\"},"
    "{\"type\":\"ExternalIP\",\"address\":\"1.2.3.4\"}],"
    "\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":10250}},"
    "\"images\":[{\"names\":[\"nginx\"],\"sizeBytes\":1}],"
    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
    "\"nodeInfo\":{\"kubeletVersion\":\"v1.31.0\"}}}";

static void test_selected(void)
{
    json_t *h = J(HOST), *sel = J("{\"type\":\"kwok\"}"), *other = J("{\"type\":\"kwok\",\"zone\":\"b\"}"),
           *empty = J("{}");
    CHECK(vc__node_selected(h, true, NULL));
    CHECK(vc__node_selected(h, false, sel));
    CHECK(!vc__node_selected(h, false, other));
    CHECK(!vc__node_selected(h, false, empty));
    CHECK(!vc__node_selected(h, false, NULL));
    json_decref(h);
    json_decref(sel);
    json_decref(other);
    json_decref(empty);
}

static void test_to_virtual(void)
{
    json_t *h = J(HOST), *d = NULL;
    vc__node_opts o = { .marker = "vc1", .clear_images = true, .proxy_by_hostname = true, .proxy_by_ip = true,
                        .kubelet_ip = "127.0.0.1", .kubelet_port = 10555 };
    CHECK_RC(vc__node_to_virtual(&d, h, NULL, &o), VC_OK);
    CHECK_STR(jget(d, "metadata|name"), "n1.example");
    CHECK_STR(jget(d, "metadata|labels"), "{\"type\":\"kwok\",\"zone\":\"a\",\"vcluster.loft.sh/managed-by\":\"vc1\"}");
    CHECK_STR(jget(d, "metadata|annotations|node.alpha/x"), "y");
    CHECK_STR(jget(d, "metadata|annotations|vcluster.loft.sh/managed-labels"), "type\nzone");
    CHECK_STR(jget(d, "metadata|annotations|vcluster.loft.sh/managed-annotations"), "node.alpha/x");
    CHECK_STR(jget(d, "metadata|annotations|vcluster.loft.sh/original-taints"),
              "[\"{\\\"key\\\":\\\"gpu\\\",\\\"value\\\":\\\"yes\\\",\\\"effect\\\":\\\"NoSchedule\\\"}\"]");
    CHECK_STR(jget(d, "spec|taints"), "[{\"key\":\"gpu\",\"value\":\"yes\",\"effect\":\"NoSchedule\"}]");
    CHECK_STR(jget(d, "spec|podCIDR"), "10.244.1.0/24");
    /* the kubelet is the syncer's proxy: hostname and IP rewritten, others kept */
    CHECK_STR(jget(d, "status|addresses"),
              "[{\"address\":\"n1-example.nodes.vcluster.com\",\"type\":\"Hostname\"},"
              "{\"address\":\"127.0.0.1\",\"type\":\"InternalIP\"},{\"type\":\"ExternalIP\",\"address\":\"1.2.3.4\"}]");
    CHECK_STR(jget(d, "status|daemonEndpoints|kubeletEndpoint|Port"), "10555");
    CHECK_STR(jget(d, "status|images"), "[]");
    CHECK_STR(jget(d, "status|capacity|cpu"), "4");
    CHECK_STR(jget(d, "status|allocatable|cpu"), "3");
    CHECK_STR(jget(d, "status|conditions|0|type"), "Ready");
    CHECK_STR(jget(d, "status|nodeInfo|kubeletVersion"), "v1.31.0");
    json_decref(d);

    /* no proxy, images kept: the host status as is */
    vc__node_opts plain = { .marker = "vc1" };
    CHECK_RC(vc__node_to_virtual(&d, h, NULL, &plain), VC_OK);
    CHECK_STR(jget(d, "status|addresses|0|address"), "10.0.0.5");
    CHECK_STR(jget(d, "status|addresses|1|address"), "n1");
    CHECK_STR(jget(d, "status|daemonEndpoints|kubeletEndpoint|Port"), "10250");
    CHECK_STR(jget(d, "status|images|0|names|0"), "nginx");
    json_decref(d);
    /* byIP without a proxy address: the host's InternalIP stays */
    vc__node_opts noip = { .marker = "vc1", .proxy_by_ip = true };
    CHECK_RC(vc__node_to_virtual(&d, h, NULL, &noip), VC_OK);
    CHECK_STR(jget(d, "status|addresses"),
              "[{\"type\":\"InternalIP\",\"address\":\"10.0.0.5\"},{\"type\":\"ExternalIP\",\"address\":\"1.2.3.4\"}]");
    json_decref(d);
    /* enforced tolerations: the taints they tolerate are not shown inside */
    json_t *tols = J("[{\"key\":\"gpu\",\"operator\":\"Equal\",\"value\":\"yes\",\"effect\":\"NoSchedule\"}]");
    json_t *tols_other = J("[{\"key\":\"gpu\",\"operator\":\"Equal\",\"value\":\"no\"}]");
    json_t *tols_all = J("[{\"operator\":\"Exists\"}]");
    vc__node_opts to = { .marker = "vc1", .enforced_tolerations = tols };
    CHECK_RC(vc__node_to_virtual(&d, h, NULL, &to), VC_OK);
    CHECK(jget(d, "spec|taints") == NULL);
    json_decref(d);
    to.enforced_tolerations = tols_other;
    CHECK_RC(vc__node_to_virtual(&d, h, NULL, &to), VC_OK);
    CHECK_STR(jget(d, "spec|taints|0|key"), "gpu");
    json_decref(d);
    to.enforced_tolerations = tols_all;
    CHECK_RC(vc__node_to_virtual(&d, h, NULL, &to), VC_OK);
    CHECK(jget(d, "spec|taints") == NULL);
    json_decref(d);
    json_decref(tols);
    json_decref(tols_other);
    json_decref(tols_all);
    json_decref(h);
}

/* The second sync: what the virtual cluster added stays, what the host
 * dropped goes. */
static void test_merge(void)
{
    vc__node_opts o = { .marker = "vc1" };
    json_t *h = J(HOST), *v1 = NULL;
    CHECK_RC(vc__node_to_virtual(&v1, h, NULL, &o), VC_OK);
    /* inside: a label and a taint added, the host's zone changed */
    json_object_set_new(json_object_get(json_object_get(v1, "metadata"), "labels"), "team", json_string("x"));
    json_object_set_new(json_object_get(json_object_get(v1, "metadata"), "labels"), "zone", json_string("inside"));
    json_array_append_new(json_object_get(json_object_get(v1, "spec"), "taints"),
                          J("{\"key\":\"mine\",\"effect\":\"NoExecute\"}"));
    /* host: zone removed, gpu taint replaced by another */
    json_t *h2 = J(HOST);
    json_object_del(json_object_get(json_object_get(h2, "metadata"), "labels"), "zone");
    json_object_set_new(json_object_get(h2, "spec"), "taints", J("[{\"key\":\"disk\",\"effect\":\"NoSchedule\"}]"));
    json_t *v2 = NULL;
    CHECK_RC(vc__node_to_virtual(&v2, h2, v1, &o), VC_OK);
    CHECK_STR(jget(v2, "metadata|labels"), "{\"type\":\"kwok\",\"vcluster.loft.sh/managed-by\":\"vc1\",\"team\":\"x\"}");
    CHECK_STR(jget(v2, "metadata|annotations|vcluster.loft.sh/managed-labels"), "type");
    CHECK_STR(jget(v2, "spec|taints"),
              "[{\"key\":\"disk\",\"effect\":\"NoSchedule\"},{\"key\":\"mine\",\"effect\":\"NoExecute\"}]");
    /* a host with no taints: only the virtual one, no original-taints */
    json_object_del(json_object_get(h2, "spec"), "taints");
    json_t *v3 = NULL;
    CHECK_RC(vc__node_to_virtual(&v3, h2, v2, &o), VC_OK);
    CHECK_STR(jget(v3, "spec|taints"), "[{\"key\":\"mine\",\"effect\":\"NoExecute\"}]");
    CHECK(jget(v3, "metadata|annotations|vcluster.loft.sh/original-taints") == NULL);
    /* the host's not-ready taint inside goes when the host has none */
    json_array_append_new(json_object_get(json_object_get(v3, "spec"), "taints"),
                          J("{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoSchedule\"}"));
    json_t *v4 = NULL;
    CHECK_RC(vc__node_to_virtual(&v4, h2, v3, &o), VC_OK);
    CHECK_STR(jget(v4, "spec|taints"), "[{\"key\":\"mine\",\"effect\":\"NoExecute\"}]");
    /* with a scheduler inside, a resource added inside stays */
    json_object_set_new(json_object_get(json_object_get(v4, "status"), "capacity"), "example.com/dongle",
                        json_string("2"));
    vc__node_opts so = { .marker = "vc1", .virtual_scheduler = true };
    json_t *v5 = NULL;
    CHECK_RC(vc__node_to_virtual(&v5, h2, v4, &so), VC_OK);
    CHECK_STR(jget(v5, "status|capacity|example.com/dongle"), "2");
    CHECK_STR(jget(v5, "status|allocatable|example.com/dongle"), "2");
    CHECK_STR(jget(v5, "status|capacity|cpu"), "4");
    json_decref(v5);
    json_decref(v4);
    json_decref(v3);
    json_decref(v2);
    json_decref(v1);
    json_decref(h2);
    json_decref(h);
}

static void test_quantities(void)
{
    int64_t v = 0;
    CHECK_RC(vc__quantity_milli("500m", &v), VC_OK);
    CHECK(v == 500);
    CHECK_RC(vc__quantity_milli("2", &v), VC_OK);
    CHECK(v == 2000);
    CHECK_RC(vc__quantity_milli("1.5", &v), VC_OK);
    CHECK(v == 1500);
    CHECK_RC(vc__quantity_milli("1k", &v), VC_OK);
    CHECK(v == 1000000);
    CHECK_RC(vc__quantity_milli("1Gi", &v), VC_OK);
    CHECK(v == 1073741824000LL);
    CHECK_RC(vc__quantity_milli("1e3", &v), VC_OK);
    CHECK(v == 1000000);
    CHECK_RC(vc__quantity_milli("1M", &v), VC_OK);
    CHECK(v == 1000000000LL);
    CHECK_RC(vc__quantity_milli("abc", &v), VC_EINVAL);
    CHECK_RC(vc__quantity_milli("1Xi", &v), VC_EINVAL);
    CHECK_RC(vc__quantity_milli("", &v), VC_EINVAL);
    CHECK_RC(vc__quantity_milli("100Ei", &v), VC_EINVAL); /* does not fit */
    int64_t r[3];
    json_t *pod = J("{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"}}},"
                    "{\"resources\":{\"requests\":{\"cpu\":\"250m\"}}}],"
                    "\"initContainers\":[{\"resources\":{\"requests\":{\"cpu\":\"2\"}}},"
                    "{\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{\"memory\":\"64Mi\"}}}],"
                    "\"overhead\":{\"cpu\":\"100m\"}}}");
    vc__pod_requests(pod, r);
    CHECK(r[0] == 2100);                      /* the init container's 2 > 500m, + overhead */
    CHECK(r[1] == 2LL * 64 * 1048576 * 1000); /* containers + sidecar */
    CHECK(r[2] == 0);
    json_decref(pod);
    /* allocatable with the virtual scheduler: what the host's other pods leave */
    json_t *h = J(HOST), *d = NULL;
    int64_t used[4] = { 1500, 1024LL * 1048576 * 1000, 0, 3 };
    vc__node_opts o = { .marker = "vc1", .virtual_scheduler = true, .used = used };
    json_object_set_new(json_object_get(json_object_get(h, "status"), "allocatable"), "memory", json_string("3Gi"));
    json_object_set_new(json_object_get(json_object_get(h, "status"), "capacity"), "memory", json_string("4Gi"));
    CHECK_RC(vc__node_to_virtual(&d, h, NULL, &o), VC_OK);
    CHECK_STR(jget(d, "status|allocatable|cpu"), "1500m");
    CHECK_STR(jget(d, "status|allocatable|memory"), "2Gi");
    CHECK_STR(jget(d, "status|allocatable|pods"), "107");
    CHECK_STR(jget(d, "status|capacity|cpu"), "4");
    json_decref(d);
    /* more used than there is: left as it is (upstream sets only what stays positive) */
    int64_t over[4] = { 5000, 0, 0, 0 };
    o.used = over;
    CHECK_RC(vc__node_to_virtual(&d, h, NULL, &o), VC_OK);
    CHECK_STR(jget(d, "status|allocatable|cpu"), "3");
    json_decref(d);
    json_decref(h);
}

static void test_sync_back(void)
{
    json_t *h = J("{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"1\"}},\"spec\":{\"taints\":[{\"key\":\"t1\",\"effect\":\"NoSchedule\"}]}}");
    json_t *vold = J("{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"1\",\"vcluster.loft.sh/managed-by\":\"vc1\"}},"
                     "\"spec\":{\"taints\":[{\"key\":\"t1\",\"effect\":\"NoSchedule\"}]}}");
    json_t *p = NULL;
    /* nothing changed */
    CHECK_RC(vc__node_sync_back(&p, h, NULL, vold, vold), VC_OK);
    CHECK(p == NULL);
    /* a changed, b removed, c added; t1 removed, t2 added */
    json_t *vnew = J("{\"metadata\":{\"labels\":{\"a\":\"2\",\"c\":\"3\",\"vcluster.loft.sh/managed-by\":\"vc1\"}},"
                     "\"spec\":{\"taints\":[{\"key\":\"t2\",\"value\":\"v\",\"effect\":\"NoExecute\"}]}}");
    CHECK_RC(vc__node_sync_back(&p, h, NULL, vold, vnew), VC_OK);
    CHECK_STR(jget(p, "metadata|labels"), "{\"a\":\"2\",\"c\":\"3\",\"b\":null}");
    CHECK_STR(jget(p, "spec|taints"), "[{\"key\":\"t2\",\"value\":\"v\",\"effect\":\"NoExecute\"}]");
    json_decref(p);
    /* what the syncer itself wrote is not a change from inside */
    CHECK_RC(vc__node_sync_back(&p, h, vnew, vold, vnew), VC_OK);
    CHECK(p == NULL);
    json_decref(p);
    /* taints of the node-lifecycle controller inside never reach the host */
    json_t *vsys = J("{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"1\",\"vcluster.loft.sh/managed-by\":\"vc1\"}},"
                     "\"spec\":{\"taints\":[{\"key\":\"t1\",\"effect\":\"NoSchedule\"},"
                     "{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\"}]}}");
    CHECK_RC(vc__node_sync_back(&p, h, NULL, vold, vsys), VC_OK);
    CHECK(p == NULL);
    json_decref(vsys);
    /* the host has it already: nothing to send */
    json_t *h2 = J("{\"metadata\":{\"labels\":{\"a\":\"2\",\"c\":\"3\"}},"
                   "\"spec\":{\"taints\":[{\"key\":\"t2\",\"value\":\"v\",\"effect\":\"NoExecute\"}]}}");
    CHECK_RC(vc__node_sync_back(&p, h2, NULL, vold, vnew), VC_OK);
    CHECK(p == NULL);
    json_decref(h2);
    json_decref(h);
    json_decref(vold);
    json_decref(vnew);
}

#define POD                                                                                                    \
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},"               \
    "\"spec\":{%s\"nodeSelector\":{\"disk\":\"ssd\"},\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}"

static json_t *host_pod(uint32_t flags, const char *labels, const char *extra)
{
    vc_translate_options o;
    vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
    o.name = "vc1";
    o.kube_ip = "10.96.0.1";
    o.dns_ip = "10.96.0.10";
    o.flags = flags;
    vc_translator *t = NULL;
    CHECK_RC(vc_translator_new(&t, &o), VC_OK);
    json_t *l = labels ? J(labels) : NULL;
    CHECK_RC(vc__translator_set_node_selector(t, l), VC_OK);
    json_decref(l);
    char pod[1024];
    snprintf(pod, sizeof pod, POD, extra);
    vc_buf b = VC_BUF_INIT;
    CHECK_RC(vc_translate_to_host(&b, t, pod, NULL, 0), VC_OK);
    json_t *r = b.ptr ? J(b.ptr) : NULL;
    vc_buf_dispose(&b);
    vc_translator_free(t);
    return r;
}

static void test_pod_selector(void)
{
    json_t *r = host_pod(0, "{\"type\":\"kwok\"}", "");
    CHECK_STR(jget(r, "spec|nodeSelector"), "{\"disk\":\"ssd\",\"type\":\"kwok\"}");
    json_decref(r);
    /* the selector wins over the pod's own value for its keys */
    r = host_pod(0, "{\"disk\":\"hdd\"}", "");
    CHECK_STR(jget(r, "spec|nodeSelector"), "{\"disk\":\"hdd\"}");
    json_decref(r);
    /* no selector: the pod's own */
    r = host_pod(0, NULL, "");
    CHECK_STR(jget(r, "spec|nodeSelector"), "{\"disk\":\"ssd\"}");
    json_decref(r);
    /* a pod with a nodeName keeps it and gets no selector */
    r = host_pod(0, "{\"type\":\"kwok\"}", "\"nodeName\":\"kwok-node-1\",");
    CHECK_STR(jget(r, "spec|nodeName"), "kwok-node-1");
    CHECK_STR(jget(r, "spec|nodeSelector"), "{\"disk\":\"ssd\"}");
    json_decref(r);
    /* virtual scheduler: placed inside; the host pod has the node and no
     * scheduling constraints */
    r = host_pod(VC_TRANSLATE_OPT_VIRTUAL_SCHEDULER, "{\"type\":\"kwok\"}", "\"nodeName\":\"kwok-node-2\",");
    CHECK_STR(jget(r, "spec|nodeName"), "kwok-node-2");
    CHECK(jget(r, "spec|nodeSelector") == NULL);
    json_decref(r);
}

int main(void)
{
    vc_global_init(NULL);
    test_selected();
    test_to_virtual();
    test_merge();
    test_quantities();
    test_sync_back();
    test_pod_selector();
    vc_global_shutdown();
    return check_summary("translate-nodes");
}

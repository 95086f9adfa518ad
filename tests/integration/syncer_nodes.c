/* Real nodes and the virtual scheduler, against the kwok host cluster and a
 * bare virtual control plane (issue 13 items 4 and 5).
 *
 * Part 1, sync.fromHost.nodes with a label selector, clearImageStatus and
 * syncBackChanges: the selected host nodes are copied in (labels, taints,
 * status with the kubelet proxy's address, images cleared), the others not;
 * a pod inside lands on a selected node (its host pod carries the
 * selector); a host label change flows in; a label and a taint set inside
 * reach the host node; a relabelled node goes, a newly labelled one comes; a
 * deleted host node goes; a restarted syncer removes what went stale while
 * it was away (a node of ours whose host node is gone, a fake node of the
 * other mode) and leaves a tenant's own node alone.
 *
 * Part 2, controlPlane.advanced.virtualScheduler with a kube-scheduler
 * running against the virtual control plane: the scheduler inside places
 * pods on the copied nodes, honouring taints, a nodeSelector and node affinity
 * there (and a label set inside only: the seed's 6 replicas); the
 * host pod is created with that nodeName and without the scheduling
 * constraints; an unschedulable pod never reaches the host. */
#include <poll.h>

#include "vcenv.h"
#include "translate/translate.h"
#include "vcluster/syncer.h"

static vc_kube *H, *V;
static vc_syncer *S;
static char NAME[32], HNS[64], SEL[80];

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

static int kpatch(vc_kube *k, const char *path, const char *body)
{
    int rc = vc_kube_request(k, NULL, NULL, "PATCH", path, body, "application/merge-patch+json");
    if (rc < 0)
        fprintf(stderr, "patch %s: %s\n", path, vc_error_last()->message);
    return rc;
}

static int kdelete(vc_kube *k, const char *path)
{
    int rc = vc_kube_request(k, NULL, NULL, "DELETE", path, NULL, NULL);
    return rc == VC_ENOTFOUND ? VC_OK : rc;
}

static void start_syncer(const char *config)
{
    vc_syncer_options o;
    CHECK_INT(vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.host_namespace = HNS;
    o.config_yaml = config;
    o.kubelet_address = "127.0.0.1";
    o.kubelet_port = 10999;
    CHECK_INT(vc_syncer_new(&S, H, V, &o), VC_OK);
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

/* the host side the lifecycle would make */
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
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"vc-workload-%s\"}}",
             NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
}

/* ---- helpers on nodes ---- */

static json_t *vnode(const char *n)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/nodes/%s", n);
    return kget(V, path);
}

static json_t *hnode(const char *n)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/nodes/%s", n);
    return kget(H, path);
}

static bool vnode_exists(const char *n)
{
    json_t *o = vnode(n);
    bool ok = o && vc__jpath_str(o, "metadata", "name") && !json_object_get(json_object_get(o, "metadata"), "deletionTimestamp");
    json_decref(o);
    return ok;
}

static const char *label_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), k));
}

static bool has_taint(const json_t *o, const char *key, const char *effect)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(json_object_get(o, "spec"), "taints"), i, t) {
        if (vc__streq(vc__jstr(t, "key"), key) && vc__streq(vc__jstr(t, "effect"), effect))
            return true;
    }
    return false;
}

static void label_host(const char *node, const char *key, const char *value)
{
    char path[256], body[512];
    snprintf(path, sizeof path, "/api/v1/nodes/%s", node);
    if (value)
        snprintf(body, sizeof body, "{\"metadata\":{\"labels\":{\"%s\":\"%s\"}}}", key, value);
    else
        snprintf(body, sizeof body, "{\"metadata\":{\"labels\":{\"%s\":null}}}", key);
    CHECK_INT(kpatch(H, path, body), VC_OK);
}

static const char *SA_PATH;
static bool default_sa(void)
{
    json_t *o = kget(V, SA_PATH);
    bool ok = o != NULL;
    json_decref(o);
    return ok;
}

static void wait_default_sa(const char *path)
{
    SA_PATH = path;
    int64_t end = vc__now_ms() + 30000;
    while (!default_sa() && vc__now_ms() < end)
        pump(200);
    CHECK(default_sa());
}

static uint64_t writes(void)
{
    vc_syncer_stats st;
    memset(&st, 0, sizeof st);
    st.version = VC_SYNCER_STATS_VERSION;
    vc_syncer_stats_get(S, &st);
    return st.virtual_writes + st.host_writes;
}

/* ---- part 1: node copy ---- */

static bool n0_n1_only(void)
{
    return vnode_exists("kwok-node-0") && vnode_exists("kwok-node-1") && !vnode_exists("kwok-node-2");
}

/* the copy's status: host capacity and conditions, kubelet proxy address, images cleared */
static bool n0_status_ok(void)
{
    json_t *n = vnode("kwok-node-0");
    json_t *st = json_object_get(n, "status");
    json_t *addrs = json_object_get(st, "addresses");
    bool ok = n && vc__streq(json_string_value(json_object_get(json_object_get(st, "capacity"), "cpu")), "1k") &&
              json_array_size(json_object_get(st, "images")) == 0 && /* cleared (an empty list is dropped) */
              vc__streq(vc__jpath_str(st, "nodeInfo", "kubeletVersion"), "kwok-0.8.0") &&
              vc__streq(vc__jstr(json_array_get(addrs, 0), "address"), "kwok-node-0.nodes.vcluster.com") &&
              vc__streq(vc__jstr(json_array_get(addrs, 1), "address"), "127.0.0.1") &&
              json_integer_value(json_object_get(json_object_get(json_object_get(st, "daemonEndpoints"),
                                                                 "kubeletEndpoint"), "Port")) == 10999;
    size_t i;
    json_t *c;
    bool ready = false;
    json_array_foreach(json_object_get(st, "conditions"), i, c) {
        if (vc__streq(vc__jstr(c, "type"), "Ready") && vc__streq(vc__jstr(c, "status"), "True"))
            ready = true;
    }
    json_decref(n);
    return ok && ready;
}

static bool lease_n0(void)
{
    json_t *l = kget(V, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/kwok-node-0");
    bool ok = l && vc__jpath_str(l, "spec", "renewTime") && vc__streq(vc__jpath_str(l, "spec", "holderIdentity"), "kwok-node-0");
    json_decref(l);
    return ok;
}

static void t_nodes_copied(void)
{
    host_setup();
    /* kwok-node-0 and -1 are selected; -0 carries a taint and images */
    label_host("kwok-node-0", "vc-test", NAME);
    label_host("kwok-node-1", "vc-test", NAME);
    CHECK_INT(kpatch(H, "/api/v1/nodes/kwok-node-0",
                     "{\"spec\":{\"taints\":[{\"key\":\"vc-host-taint\",\"value\":\"x\",\"effect\":\"PreferNoSchedule\"}]}}"),
              VC_OK);
    CHECK_INT(kpatch(H, "/api/v1/nodes/kwok-node-0/status",
                     "{\"status\":{\"images\":[{\"names\":[\"docker.io/library/nginx:1\"],\"sizeBytes\":1000}]}}"),
              VC_OK);
    json_t *h0 = hnode("kwok-node-0");
    CHECK(json_array_size(json_object_get(json_object_get(h0, "status"), "images")) == 1);
    json_decref(h0);
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "sync:\n  fromHost:\n    nodes:\n      enabled: true\n      clearImageStatus: true\n"
             "      syncBackChanges: true\n      selector:\n        labels:\n          vc-test: %s\n", NAME);
    start_syncer(cfg);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(n0_n1_only, 30000));
    printf("# selected host nodes copied in %lld ms\n", (long long)(vc__now_ms() - t0));
    if (!pump_until(n0_status_ok, 15000)) {
        json_t *n0 = vnode("kwok-node-0");
        char *d = json_dumps(json_object_get(n0, "status"), JSON_COMPACT);
        fprintf(stderr, "FAIL: virtual kwok-node-0 status: %s\n", d ? d : "(none)");
        free(d);
        json_decref(n0);
        CHECK(!"the copied node's status");
    }
    json_t *n = vnode("kwok-node-0");
    CHECK_STR(label_of(n, "type"), "kwok");
    CHECK_STR(label_of(n, "vc-test"), NAME);
    CHECK_STR(label_of(n, "vcluster.loft.sh/managed-by"), NAME);
    CHECK(has_taint(n, "vc-host-taint", "PreferNoSchedule"));
    json_decref(n);
    /* the node's Lease inside is renewed (the virtual node-lifecycle
     * controller keeps it Ready) */
    CHECK(pump_until(lease_n0, 15000));
    /* settled: no write loop (at most a Lease round for the two nodes) */
    uint64_t w0 = writes();
    pump(3000);
    uint64_t dw = writes() - w0;
    printf("# writes in 3 s once settled: %llu\n", (unsigned long long)dw);
    CHECK(dw <= 2);
}

static char POD_NODE[64];
static bool web_running(void)
{
    json_t *p = kget(V, "/api/v1/namespaces/demo/pods/web");
    const char *node = vc__jpath_str(p, "spec", "nodeName");
    bool ok = p && vc__streq(vc__jpath_str(p, "status", "phase"), "Running") && node;
    if (ok)
        snprintf(POD_NODE, sizeof POD_NODE, "%s", node);
    json_decref(p);
    return ok;
}

static bool pinned_warned(void)
{
    json_t *l = kget(V, "/api/v1/namespaces/demo/events?fieldSelector=involvedObject.name%3Dpinned");
    size_t i;
    json_t *e;
    bool ok = false;
    json_array_foreach(json_object_get(l, "items"), i, e) {
        const char *m = vc__jstr(e, "message");
        if (vc__streq(vc__jstr(e, "type"), "Warning") && m &&
            strstr(m, "Given nodeName kwok-node-2 does not exist in virtual cluster"))
            ok = true;
    }
    json_decref(l);
    return ok;
}

static bool pinned_on_host(void)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/pinned-x-demo-x-%s", HNS, NAME);
    json_t *hp = kget(H, path);
    bool ok = hp && vc__streq(vc__jpath_str(hp, "spec", "nodeName"), "kwok-node-2");
    json_decref(hp);
    return ok;
}

static void t_pod_on_selected_node(void)
{
    CHECK_INT(kcreate(V, "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"demo\"}}"), VC_OK);
    wait_default_sa("/api/v1/namespaces/demo/serviceaccounts/default");
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},"
                      "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"), VC_OK);
    CHECK(pump_until(web_running, 90000));
    CHECK(vc__streq(POD_NODE, "kwok-node-0") || vc__streq(POD_NODE, "kwok-node-1"));
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/web-x-demo-x-%s", HNS, NAME);
    json_t *hp = kget(H, path);
    CHECK_STR(vc__jpath_str(json_object_get(hp, "spec"), "nodeSelector", "vc-test"), NAME);
    json_decref(hp);
    CHECK_INT(kdelete(V, "/api/v1/namespaces/demo/pods/web"), VC_OK);
    /* a pod that names a node the virtual cluster does not have: a Warning
     * event, no host pod (it goes once the node is selected, see below) */
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pinned\"},"
                      "\"spec\":{\"nodeName\":\"kwok-node-2\",\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"),
              VC_OK);
    CHECK(pump_until(pinned_warned, 20000));
    CHECK(!pinned_on_host());
}

static bool color_in(void)
{
    json_t *n = vnode("kwok-node-0");
    bool ok = vc__streq(label_of(n, "color"), "blue");
    json_decref(n);
    return ok;
}

static bool inside_on_host(void)
{
    json_t *n = hnode("kwok-node-0");
    bool ok = vc__streq(label_of(n, "vc-inside"), "yes") && has_taint(n, "vc-inside", "PreferNoSchedule") &&
              has_taint(n, "vc-host-taint", "PreferNoSchedule");
    json_decref(n);
    return ok;
}

static bool inside_still_in(void)
{
    json_t *n = vnode("kwok-node-0");
    bool ok = vc__streq(label_of(n, "vc-inside"), "yes") && has_taint(n, "vc-inside", "PreferNoSchedule") &&
              vc__streq(label_of(n, "color"), "blue");
    json_decref(n);
    return ok;
}

static void t_changes_both_ways(void)
{
    /* host -> virtual */
    label_host("kwok-node-0", "color", "blue");
    CHECK(pump_until(color_in, 20000));
    /* virtual -> host (syncBackChanges): a label and a taint added inside */
    json_t *n = vnode("kwok-node-0");
    json_t *taints = json_deep_copy(json_object_get(json_object_get(n, "spec"), "taints"));
    json_decref(n);
    if (!taints)
        taints = json_array();
    json_array_append_new(taints, json_pack("{s:s,s:s,s:s}", "key", "vc-inside", "value", "1", "effect",
                                            "PreferNoSchedule"));
    json_t *p = json_pack("{s:{s:{s:s}},s:{s:o}}", "metadata", "labels", "vc-inside", "yes", "spec", "taints", taints);
    char *body = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    CHECK_INT(kpatch(V, "/api/v1/nodes/kwok-node-0", body), VC_OK);
    free(body);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(inside_on_host, 20000));
    printf("# a label and a taint set inside reached the host node in %lld ms\n", (long long)(vc__now_ms() - t0));
    pump(1000);
    CHECK(inside_still_in());
}

static bool n1_gone_n2_in(void)
{
    return !vnode_exists("kwok-node-1") && vnode_exists("kwok-node-2") && vnode_exists("kwok-node-0");
}

static char EXTRA[64];
static bool extra_in(void)
{
    return vnode_exists(EXTRA);
}
static bool extra_gone(void)
{
    return !vnode_exists(EXTRA);
}

static void t_relabel_and_delete(void)
{
    label_host("kwok-node-1", "vc-test", NULL);
    label_host("kwok-node-2", "vc-test", NAME);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(n1_gone_n2_in, 30000));
    printf("# relabelled: one node went, one came in %lld ms\n", (long long)(vc__now_ms() - t0));
    /* the pod that named kwok-node-2 goes to the host now (retried every 15 s) */
    CHECK(pump_until(pinned_on_host, 30000));
    CHECK_INT(kdelete(V, "/api/v1/namespaces/demo/pods/pinned"), VC_OK);
    /* a host node of its own, deleted on the host */
    snprintf(EXTRA, sizeof EXTRA, "extra-%s", NAME);
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"labels\":{\"vc-test\":\"%s\"}}}",
             EXTRA, NAME);
    CHECK_INT(kcreate(H, "/api/v1/nodes", buf), VC_OK);
    CHECK(pump_until(extra_in, 20000));
    char path[256];
    snprintf(path, sizeof path, "/api/v1/nodes/%s", EXTRA);
    CHECK_INT(kdelete(H, path), VC_OK);
    CHECK(pump_until(extra_gone, 20000));
}

static bool gc_done(void)
{
    return !vnode_exists("ghost-node") && !vnode_exists("fake-stale") && !vnode_exists("kwok-node-2") &&
           vnode_exists("kwok-node-0") && vnode_exists("tenant-node");
}

static void t_restart_gc(void)
{
    stop_syncer();
    /* while it is away: a node of ours whose host node is gone, a fake node
     * of the other mode, a tenant's own node; kwok-node-2 stops matching */
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"ghost-node\","
             "\"labels\":{\"vcluster.loft.sh/managed-by\":\"%s\"}}}", NAME);
    CHECK_INT(kcreate(V, "/api/v1/nodes", buf), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/nodes",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"fake-stale\","
                      "\"labels\":{\"vcluster.loft.sh/fake-node\":\"true\"}}}"), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/nodes",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"tenant-node\"}}"), VC_OK);
    label_host("kwok-node-2", "vc-test", NULL);
    char cfg[512];
    snprintf(cfg, sizeof cfg, "sync:\n  fromHost:\n    nodes:\n      enabled: true\n      selector:\n"
                              "        labels:\n          vc-test: %s\n", NAME);
    start_syncer(cfg);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(gc_done, 30000));
    printf("# restart: stale virtual nodes removed in %lld ms\n", (long long)(vc__now_ms() - t0));
    stop_syncer();
    CHECK_INT(kdelete(V, "/api/v1/nodes/tenant-node"), VC_OK);
}

/* the fake-node default is untouched: without fromHost.nodes the nodes
 * made inside are fake ones (covered by integ-syncer); here: the config
 * switch alone picks the mode */

/* ---- part 2: the virtual scheduler ---- */

static bool all3_in(void)
{
    return vnode_exists("kwok-node-0") && vnode_exists("kwok-node-1") && vnode_exists("kwok-node-2");
}

static bool tainted_inside(void)
{
    json_t *a = vnode("kwok-node-0"), *b = vnode("kwok-node-2");
    bool ok = has_taint(a, "vc-block", "NoSchedule") && has_taint(b, "vc-block", "NoSchedule");
    json_decref(a);
    json_decref(b);
    return ok;
}

static char NODE_A[64], NODE_B[64];
static bool placed(const char *pod, char *out)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/sched/pods/%s", pod);
    json_t *p = kget(V, path);
    const char *n = vc__jpath_str(p, "spec", "nodeName");
    bool ok = n && vc__streq(vc__jpath_str(p, "status", "phase"), "Running");
    if (ok)
        snprintf(out, 64, "%s", n);
    json_decref(p);
    return ok;
}
static char NODE_D[64];
static bool a_and_b_running(void)
{
    return placed("a", NODE_A) && placed("b", NODE_B) && placed("d", NODE_D);
}

static bool c_unschedulable(void)
{
    json_t *p = kget(V, "/api/v1/namespaces/sched/pods/c");
    size_t i;
    json_t *cond;
    bool ok = false;
    json_array_foreach(json_object_get(json_object_get(p, "status"), "conditions"), i, cond) {
        if (vc__streq(vc__jstr(cond, "type"), "PodScheduled") && vc__streq(vc__jstr(cond, "status"), "False") &&
            vc__streq(vc__jstr(cond, "reason"), "Unschedulable"))
            ok = true;
    }
    json_decref(p);
    return ok;
}

static bool untainted_inside(void)
{
    json_t *a = vnode("kwok-node-0"), *b = vnode("kwok-node-2");
    bool ok = a && b && !has_taint(a, "vc-block", "NoSchedule") && !has_taint(b, "vc-block", "NoSchedule");
    json_decref(a);
    json_decref(b);
    return ok;
}

static bool n1_cpu_400(void)
{
    json_t *n = vnode("kwok-node-1");
    bool ok = vc__streq(json_string_value(json_object_get(json_object_get(json_object_get(n, "status"), "allocatable"),
                                                          "cpu")), "400");
    json_decref(n);
    return ok;
}

static bool pod_condition(const char *name, const char *reason)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/sched/pods/%s", name);
    json_t *p = kget(V, path);
    size_t i;
    json_t *cond;
    bool ok = false;
    json_array_foreach(json_object_get(json_object_get(p, "status"), "conditions"), i, cond) {
        if (vc__streq(vc__jstr(cond, "type"), "PodScheduled") && vc__streq(vc__jstr(cond, "status"), "False") &&
            vc__streq(vc__jstr(cond, "reason"), reason))
            ok = true;
    }
    json_decref(p);
    return ok;
}

static bool big_unschedulable(void)
{
    return pod_condition("big", "Unschedulable");
}

static char NODE_BIG[64];
static bool big_running(void)
{
    return placed("big", NODE_BIG);
}

static bool ssd_six_on_node1(void)
{
    json_t *l = kget(V, "/api/v1/namespaces/sched/pods?labelSelector=app%3Dssd");
    int n = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(l, "items"), i, p) {
        if (vc__streq(vc__jpath_str(p, "spec", "nodeName"), "kwok-node-1") &&
            vc__streq(vc__jpath_str(p, "status", "phase"), "Running"))
            n++;
    }
    json_decref(l);
    return n == 6;
}

static void t_virtual_scheduler(void)
{
    /* taints on the host nodes 0 and 2 (copied in; the scheduler inside
     * must honour them) */
    CHECK_INT(kpatch(H, "/api/v1/nodes/kwok-node-0",
                     "{\"spec\":{\"taints\":[{\"key\":\"vc-block\",\"value\":\"x\",\"effect\":\"NoSchedule\"}]}}"), VC_OK);
    CHECK_INT(kpatch(H, "/api/v1/nodes/kwok-node-2",
                     "{\"spec\":{\"taints\":[{\"key\":\"vc-block\",\"value\":\"x\",\"effect\":\"NoSchedule\"}]}}"), VC_OK);
    start_syncer("controlPlane:\n  advanced:\n    virtualScheduler:\n      enabled: true\n"
                 "sync:\n  fromHost:\n    nodes:\n      enabled: true\n");
    CHECK(pump_until(all3_in, 30000));
    CHECK(pump_until(tainted_inside, 20000));
    /* settled with the allocatable computed here: no write loop either */
    pump(1000);
    uint64_t w0 = writes();
    pump(5000);
    uint64_t dw = writes() - w0;
    printf("# writes in 5 s once settled (virtual scheduler): %llu\n", (unsigned long long)dw);
    /* periodic writes may fall into the window together (three node
     * Leases every 10 s, a node's status, the kubernetes Service's
     * endpoints, CoreDNS NodeHosts): CI saw 6 in 3 s once. A write loop
     * makes tens a second. */
    CHECK(dw <= 10);
    CHECK_INT(kcreate(V, "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"sched\"}}"), VC_OK);
    wait_default_sa("/api/v1/namespaces/sched/serviceaccounts/default");
    /* c: a nodeSelector nothing matches (first, so its absence on the host is not a matter of time) */
    CHECK_INT(kcreate(V, "/api/v1/namespaces/sched/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"c\"},"
                      "\"spec\":{\"nodeSelector\":{\"nowhere\":\"x\"},\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"),
              VC_OK);
    /* a: tolerates the taint and asks for kwok-node-2 */
    CHECK_INT(kcreate(V, "/api/v1/namespaces/sched/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},"
                      "\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"kwok-node-2\"},"
                      "\"tolerations\":[{\"key\":\"vc-block\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}],"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"), VC_OK);
    /* d: tolerates the taint and requires kwok-node-0 by node affinity */
    CHECK_INT(kcreate(V, "/api/v1/namespaces/sched/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"d\"},"
                      "\"spec\":{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
                      "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"kubernetes.io/hostname\","
                      "\"operator\":\"In\",\"values\":[\"kwok-node-0\"]}]}]}}},"
                      "\"tolerations\":[{\"key\":\"vc-block\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}],"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"), VC_OK);
    /* b: no toleration: only kwok-node-1 is left for it */
    CHECK_INT(kcreate(V, "/api/v1/namespaces/sched/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"},"
                      "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"), VC_OK);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(a_and_b_running, 90000));
    printf("# placed inside and running on the host in %lld ms: a on %s, b on %s, d on %s\n",
           (long long)(vc__now_ms() - t0), NODE_A, NODE_B, NODE_D);
    CHECK_STR(NODE_A, "kwok-node-2");
    CHECK_STR(NODE_B, "kwok-node-1");
    CHECK_STR(NODE_D, "kwok-node-0");
    /* the host pods: the node chosen inside, no nodeSelector */
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/a-x-sched-x-%s", HNS, NAME);
    json_t *hp = kget(H, path);
    CHECK_STR(vc__jpath_str(hp, "spec", "nodeName"), "kwok-node-2");
    CHECK(json_object_get(json_object_get(hp, "spec"), "nodeSelector") == NULL);
    json_decref(hp);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/d-x-sched-x-%s", HNS, NAME);
    hp = kget(H, path);
    CHECK_STR(vc__jpath_str(hp, "spec", "nodeName"), "kwok-node-0");
    CHECK(json_object_get(json_object_get(hp, "spec"), "affinity") == NULL);
    json_decref(hp);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/b-x-sched-x-%s", HNS, NAME);
    hp = kget(H, path);
    CHECK_STR(vc__jpath_str(hp, "spec", "nodeName"), "kwok-node-1");
    json_decref(hp);
    /* the seed's walkthrough: a label set inside (not on the host) and a
     * Deployment of 6 replicas with that nodeSelector: all on that node */
    /* (the taints go first, so only the label can keep them off nodes 0 and 2) */
    CHECK_INT(kpatch(H, "/api/v1/nodes/kwok-node-0", "{\"spec\":{\"taints\":null}}"), VC_OK);
    CHECK_INT(kpatch(H, "/api/v1/nodes/kwok-node-2", "{\"spec\":{\"taints\":null}}"), VC_OK);
    CHECK(pump_until(untainted_inside, 20000));
    CHECK_INT(kpatch(V, "/api/v1/nodes/kwok-node-1", "{\"metadata\":{\"labels\":{\"disktype\":\"ssd\"}}}"), VC_OK);
    pump(1500);
    json_t *vn = vnode("kwok-node-1"), *hn = hnode("kwok-node-1");
    CHECK_STR(label_of(vn, "disktype"), "ssd"); /* kept by the syncer */
    CHECK(label_of(hn, "disktype") == NULL);    /* not sent (no syncBackChanges) */
    json_decref(vn);
    json_decref(hn);
    CHECK_INT(kcreate(V, "/apis/apps/v1/namespaces/sched/deployments",
                      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"ssd\"},"
                      "\"spec\":{\"replicas\":6,\"selector\":{\"matchLabels\":{\"app\":\"ssd\"}},"
                      "\"template\":{\"metadata\":{\"labels\":{\"app\":\"ssd\"}},\"spec\":{"
                      "\"nodeSelector\":{\"disktype\":\"ssd\"},\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}"),
              VC_OK);
    t0 = vc__now_ms();
    CHECK(pump_until(ssd_six_on_node1, 120000));
    printf("# 6 replicas with nodeSelector disktype=ssd (a label set inside) running on kwok-node-1 in %lld ms\n",
           (long long)(vc__now_ms() - t0));
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=app%%3Dssd", HNS);
    json_t *hl = kget(H, path);
    size_t hi;
    json_t *hpod;
    int on1 = 0;
    json_array_foreach(json_object_get(hl, "items"), hi, hpod) if (vc__streq(vc__jpath_str(hpod, "spec", "nodeName"), "kwok-node-1")) on1++;
    CHECK_INT(on1, 6);
    CHECK_INT(json_array_size(json_object_get(hl, "items")), 6);
    json_decref(hl);
    /* allocatable inside is what the host's other pods leave (upstream):
     * a host pod of no vcluster asks 600 of kwok-node-1's 1k cores; a pod
     * inside that needs 500 there cannot be placed until it goes */
    snprintf(path, sizeof path, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"hog-%s\"},"
                                "\"spec\":{\"nodeName\":\"kwok-node-1\",\"containers\":[{\"name\":\"c\",\"image\":\"x\","
                                "\"resources\":{\"requests\":{\"cpu\":\"600\"}}}]}}", NAME);
    CHECK_INT(kcreate(H, "/api/v1/namespaces/default/pods", path), VC_OK);
    t0 = vc__now_ms();
    CHECK(pump_until(n1_cpu_400, 30000));
    printf("# a host pod asking 600 cores: kwok-node-1's allocatable inside is 400 after %lld ms\n",
           (long long)(vc__now_ms() - t0));
    CHECK_INT(kcreate(V, "/api/v1/namespaces/sched/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"big\"},"
                      "\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"kwok-node-1\"},"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"nginx\",\"resources\":{\"requests\":{\"cpu\":\"500\"}}}]}}"),
              VC_OK);
    CHECK(pump_until(big_unschedulable, 30000));
    snprintf(path, sizeof path, "/api/v1/namespaces/default/pods/hog-%s", NAME);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "DELETE", path, "{\"gracePeriodSeconds\":0}", NULL), VC_OK);
    t0 = vc__now_ms();
    CHECK(pump_until(big_running, 60000));
    printf("# the host pod gone: the 500-core pod placed inside and running in %lld ms\n",
           (long long)(vc__now_ms() - t0));
    /* c: unschedulable inside, and never on the host */
    CHECK(pump_until(c_unschedulable, 30000));
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/c-x-sched-x-%s", HNS, NAME);
    hp = kget(H, path);
    CHECK(hp == NULL);
    json_decref(hp);
    stop_syncer();
}

static void cleanup_nodes(void)
{
    kpatch(H, "/api/v1/nodes/kwok-node-0", "{\"spec\":{\"taints\":null},\"metadata\":{\"labels\":{\"vc-test\":null,"
                                           "\"color\":null,\"vc-inside\":null}}}");
    kpatch(H, "/api/v1/nodes/kwok-node-1", "{\"metadata\":{\"labels\":{\"vc-test\":null}}}");
    kpatch(H, "/api/v1/nodes/kwok-node-2", "{\"spec\":{\"taints\":null},\"metadata\":{\"labels\":{\"vc-test\":null}}}");
}

static void cleanup_host(void)
{
    cleanup_nodes();
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", HNS);
    kdelete(H, path);
}

/* the virtual control plane with a kube-scheduler of its own */
static int vcenv_up_scheduler(vcenv *e)
{
    snprintf(e->state, sizeof e->state, "/tmp/vc-virt-XXXXXX");
    if (!mkdtemp(e->state))
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' up --state '%s' --store kine --no-kwok --nodes 0 --service-cidr 10.96.0.0/12 >&2",
             hostcluster_path(), e->state);
    if (run_cmd(cmd, NULL, 0) != 0 && run_cmd(cmd, NULL, 0) != 0) {
        fprintf(stderr, "FAIL: could not start the virtual control plane (%s)\n", cmd);
        return -1;
    }
    snprintf(cmd, sizeof cmd, "'%s' kubeconfig --state '%s'", hostcluster_path(), e->state);
    return run_cmd(cmd, e->kubeconfig, sizeof e->kubeconfig) == 0 ? 0 : -1;
}

int main(void)
{
    itest_log_from_env();
    const char *kc = itest_kubeconfig();
    vc_global_init(NULL);
    itest_name(NAME, sizeof NAME, "vcn");
    snprintf(HNS, sizeof HNS, "vcluster-%s", NAME);
    snprintf(SEL, sizeof SEL, "vc-test=%s", NAME);
    H = kube_for(kc);
    vcenv e;
    if (!H || vcenv_up(&e) < 0)
        return 1;
    V = kube_for(e.kubeconfig);
    if (!V) {
        vcenv_down(&e);
        return 1;
    }
    RUN(t_nodes_copied);
    RUN(t_pod_on_selected_node);
    RUN(t_changes_both_ways);
    RUN(t_relabel_and_delete);
    RUN(t_restart_gc);
    vc_kube_free(V);
    V = NULL;
    vcenv_down(&e);
    /* part 2: a fresh virtual control plane, with its scheduler */
    vcenv e2;
    if (vcenv_up_scheduler(&e2) == 0 && (V = kube_for(e2.kubeconfig)) != NULL) {
        cleanup_nodes();
        RUN(t_virtual_scheduler);
        vc_kube_free(V);
    } else {
        CHECK(!"virtual control plane with a scheduler");
    }
    vcenv_down(&e2);
    stop_syncer();
    cleanup_host();
    vc_kube_free(H);
    vc_global_shutdown();
    TEST_DONE();
}

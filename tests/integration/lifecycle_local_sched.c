/* The local driver with controlPlane.advanced.virtualScheduler and real
 * nodes (issue 13 item 5): create starts a kube-scheduler of the virtual
 * cluster next to its API server; the host's kwok nodes are copied in; a pod
 * asking for one node by label is placed there by the scheduler inside and
 * runs on the host on that node; delete stops every process, the scheduler
 * included. */
#include <dirent.h>
#include <sys/stat.h>

#include "kube/kube.h"
#include "translate/translate.h"
#include "vcenv.h"

static vc_kube *H, *V;
static char NAME[32], NS[64], STATE[256];

static vc_cluster_op_options op_opts(void)
{
    vc_cluster_op_options o;
    vc_cluster_op_options_init(&o, VC_CLUSTER_OP_OPTIONS_VERSION);
    o.state_dir = STATE;
    o.bin_dir = getenv("VC_K8S_BINDIR");
    o.syncer_path = getenv("VC_SYNCER_BIN");
    o.timeout_ms = 180000;
    return o;
}

static bool wait_for(bool (*f)(void), int seconds)
{
    for (int i = 0; i < seconds * 4; i++) {
        if (f())
            return true;
        usleep(250000);
    }
    return f();
}

/* pid of a component from the local state file, 0 when none */
static long pid_of(const char *comp)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s/%s/run.json", STATE, NS, NAME);
    json_t *o = json_load_file(p, 0, NULL);
    long pid = (long)json_integer_value(json_object_get(json_object_get(o, "pids"), comp));
    json_decref(o);
    return pid;
}

static bool alive(long pid)
{
    return pid > 0 && kill((pid_t)pid, 0) == 0;
}

static void t_create(void)
{
    vc_config *cfg = NULL;
    CHECK_INT(vc_config_new(&cfg), VC_OK);
    CHECK_INT(vc_config_load_string(cfg,
                                    "controlPlane:\n  advanced:\n    virtualScheduler:\n      enabled: true\n"
                                    "sync:\n  fromHost:\n    nodes:\n      enabled: true\n",
                                    "values.yaml"),
              VC_OK);
    vc_create_options o;
    CHECK_INT(vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.driver = "local";
    o.state_dir = STATE;
    o.bin_dir = getenv("VC_K8S_BINDIR");
    o.syncer_path = getenv("VC_SYNCER_BIN");
    o.timeout_ms = 180000;
    o.config = cfg;
    int64_t t0 = vc__now_ms();
    int rc = vc_cluster_create(H, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "create: %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
    printf("# created in %lld ms\n", (long long)(vc__now_ms() - t0));
    vc_config_free(cfg);
    CHECK(alive(pid_of("kube-scheduler")));
    vc_buf kc = VC_BUF_INIT;
    CHECK_INT(vc_cluster_connect(&kc, H, NAME, NULL, NULL), VC_OK);
    vc_kube_options ko;
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig_data = kc.ptr;
    ko.qps = -1;
    CHECK_INT(vc_kube_new(&V, &ko), VC_OK);
    vc_buf_dispose(&kc);
}

static bool nodes_in(void)
{
    json_t *l = kget(V, "/api/v1/nodes?labelSelector=type%3Dkwok");
    bool ok = json_array_size(json_object_get(l, "items")) == 3;
    json_decref(l);
    return ok;
}

static bool sa_ready(void)
{
    json_t *o = kget(V, "/api/v1/namespaces/default/serviceaccounts/default");
    bool ok = o != NULL;
    json_decref(o);
    return ok;
}

static bool pod_placed(void)
{
    json_t *p = kget(V, "/api/v1/namespaces/default/pods/pinned");
    bool ok = vc__streq(vc__jpath_str(p, "spec", "nodeName"), "kwok-node-1") &&
              vc__streq(vc__jpath_str(p, "status", "phase"), "Running");
    json_decref(p);
    return ok;
}

static void t_scheduled_inside(void)
{
    CHECK(wait_for(nodes_in, 60));
    CHECK(wait_for(sa_ready, 60));
    CHECK_INT(kcreate(V, "/api/v1/namespaces/default/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pinned\"},"
                      "\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"kwok-node-1\"},"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"),
              VC_OK);
    int64_t t0 = vc__now_ms();
    bool placed = wait_for(pod_placed, 90);
    CHECK(placed);
    if (!placed) {
        /* the story: the pod's status, its events, the node's taints and conditions */
        json_t *dp = kget(V, "/api/v1/namespaces/default/pods/pinned");
        json_t *de = kget(V, "/api/v1/namespaces/default/events");
        json_t *dn = kget(V, "/api/v1/nodes/kwok-node-1");
        char *a = dp ? json_dumps(json_object_get(dp, "status"), JSON_COMPACT) : NULL;
        json_t *tc = dn ? json_pack("{s:O?,s:O?}", "taints", json_object_get(json_object_get(dn, "spec"), "taints"),
                                    "conditions", json_object_get(json_object_get(dn, "status"), "conditions"))
                        : NULL;
        char *b = tc ? json_dumps(tc, JSON_COMPACT) : NULL;
        json_decref(tc);
        fprintf(stderr, "pod status: %s\nnode kwok-node-1: %s\n", a ? a : "(none)", b ? b : "(none)");
        size_t j;
        json_t *x;
        json_array_foreach(json_object_get(de, "items"), j, x) {
            fprintf(stderr, "event %s %s/%s: %s\n", vc__jstr(x, "reason") ? vc__jstr(x, "reason") : "",
                    vc__jpath_str(x, "involvedObject", "kind") ? vc__jpath_str(x, "involvedObject", "kind") : "",
                    vc__jpath_str(x, "involvedObject", "name") ? vc__jpath_str(x, "involvedObject", "name") : "",
                    vc__jstr(x, "message") ? vc__jstr(x, "message") : "");
        }
        free(a);
        free(b);
        json_decref(dp);
        json_decref(de);
        json_decref(dn);
    }
    printf("# placed by the virtual scheduler and running in %lld ms\n", (long long)(vc__now_ms() - t0));
    /* the scheduler inside bound it (a Scheduled event from default-scheduler) */
    json_t *ev = kget(V, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dpinned");
    size_t i;
    json_t *e;
    bool scheduled = false;
    json_array_foreach(json_object_get(ev, "items"), i, e) {
        if (vc__streq(vc__jstr(e, "reason"), "Scheduled") &&
            (vc__streq(vc__jpath_str(e, "source", "component"), "default-scheduler") ||
             vc__streq(vc__jstr(e, "reportingComponent"), "default-scheduler")))
            scheduled = true;
    }
    json_decref(ev);
    CHECK(scheduled);
    char p[512];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/pods/pinned-x-default-x-%s", NS, NAME);
    json_t *hp = kget(H, p);
    CHECK_STR(vc__jpath_str(hp, "spec", "nodeName"), "kwok-node-1");
    CHECK(json_object_get(json_object_get(hp, "spec"), "nodeSelector") == NULL);
    json_decref(hp);
}

static void t_delete(void)
{
    long sched = pid_of("kube-scheduler");
    vc_kube_free(V);
    V = NULL;
    vc_cluster_op_options o = op_opts();
    o.flags = VC_DELETE_NAMESPACE;
    CHECK_INT(vc_cluster_delete(H, NAME, NULL, &o), VC_OK);
    CHECK(!alive(sched));
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    if (!getenv("VC_K8S_BINDIR") || !getenv("VC_SYNCER_BIN")) {
        fprintf(stderr, "FAIL: VC_K8S_BINDIR and VC_SYNCER_BIN must be set (tests/run does it)\n");
        return 1;
    }
    vc_global_init(NULL);
    itest_name(NAME, sizeof NAME, "vs");
    snprintf(NS, sizeof NS, "vcluster-%s", NAME);
    snprintf(STATE, sizeof STATE, "/tmp/vc-lcs-XXXXXX");
    if (!mkdtemp(STATE))
        return 1;
    H = kube_for(kc);
    if (!H)
        return 1;
    RUN(t_create);
    if (V)
        RUN(t_scheduled_inside);
    RUN(t_delete);
    vc_cluster_op_options o = op_opts();
    o.flags = VC_DELETE_NAMESPACE;
    vc_cluster_delete(H, NAME, NULL, &o);
    vc_kube_free(V);
    vc_kube_free(H);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", STATE);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    vc_global_shutdown();
    TEST_DONE();
}

/* The quick start with the local driver, end to end through the public API:
 * a broken values file fails before anything exists; create; a Deployment
 * inside runs as translated pods on the host (its namespace invisible there);
 * create again fails clearly; list shows the states; pause removes the host
 * workloads and resume brings them back with nothing lost inside; delete
 * leaves no namespace, process, file or context behind. */
#include <dirent.h>
#include <sys/stat.h>

#include "kube/kube.h"
#include "vcenv.h"

static vc_kube *H;
static char NAME[32], NS[64], STATE[256], KCFILE[300];
static vc_kube *V;

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

static int progress_calls;
static int on_progress(const char *step, const char *msg, int32_t done, void *ud)
{
    (void)step;
    (void)ud;
    if (done == VC_PROGRESS_WAITING)
        return 0;
    progress_calls++;
    printf("#   %s\n", msg);
    return 0;
}

static bool ns_exists(const char *ns)
{
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s", ns);
    json_t *j = kget(H, p);
    bool r = j != NULL;
    json_decref(j);
    return r;
}

static void t_broken_values_fail_first(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/broken.yaml", STATE);
    const char *y = "sync:\n  toHost:\n    pods:\n      enabled: \"yes please\"\n";
    CHECK_INT(vc__file_write(path, y, strlen(y), 0600), VC_OK);
    vc_config *cfg = NULL;
    CHECK_INT(vc_config_new(&cfg), VC_OK);
    CHECK(vc_config_load_file(cfg, path) < 0);
    CHECK_CONTAINS(vc_error_last()->message, "broken.yaml:4:");
    CHECK_CONTAINS(vc_error_last()->message, "sync.toHost.pods.enabled");
    vc_config_free(cfg);
    CHECK(!ns_exists(NS));
    /* --expose with the local driver is refused, before anything is made */
    vc_create_options o;
    CHECK_INT(vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.driver = "local";
    o.state_dir = STATE;
    o.flags = VC_CREATE_EXPOSE;
    CHECK_INT(vc_cluster_create(H, &o, NULL), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "needs the kubernetes driver");
    CHECK(!ns_exists(NS));
}

static void t_create(void)
{
    vc_create_options o;
    CHECK_INT(vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.driver = "local";
    o.state_dir = STATE;
    o.bin_dir = getenv("VC_K8S_BINDIR");
    o.syncer_path = getenv("VC_SYNCER_BIN");
    o.timeout_ms = 180000;
    o.progress = on_progress;
    int rc = vc_cluster_create(H, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "create: %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
    CHECK(progress_calls > 3);
    CHECK(ns_exists(NS));
    /* the host namespace is annotated as created by us */
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s", NS);
    json_t *ns = kget(H, p);
    CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(ns, "metadata"), "annotations"), "vcluster.loft.sh/created")), "true");
    json_decref(ns);
    /* least privilege (issue 19 item 5): the syncer reaches the host with
     * its own ServiceAccount token, bound to the kubernetes driver's Role,
     * not with the caller's admin credentials */
    char hk[512];
    snprintf(hk, sizeof hk, "%s/%s/%s/host.kubeconfig", STATE, NS, NAME);
    char *hktxt = NULL;
    size_t hklen = 0;
    CHECK_INT(vc__file_read(hk, &hktxt, &hklen), VC_OK);
    CHECK(hktxt && strstr(hktxt, "token:") && !strstr(hktxt, "client-key-data"));
    vc__free(hktxt);
    vc_kube *SK = kube_for(hk);
    CHECK(SK != NULL);
    if (SK) {
        snprintf(p, sizeof p, "/api/v1/namespaces/%s/pods", NS);
        CHECK_INT(vc_kube_request(SK, NULL, NULL, "GET", p, NULL, NULL), VC_OK);
        CHECK_INT(vc_kube_request(SK, NULL, NULL, "GET", "/api/v1/namespaces/kube-system/secrets", NULL, NULL),
                  VC_EFORBIDDEN);
        CHECK_INT(vc_kube_request(SK, NULL, NULL, "GET", "/api/v1/nodes", NULL, NULL), VC_EFORBIDDEN);
        vc_kube_free(SK);
    }
    snprintf(p, sizeof p, "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles/vc-%s", NS, NAME);
    json_t *role = kget(H, p);
    CHECK(role != NULL);
    json_decref(role);
    /* a second create fails clearly */
    rc = vc_cluster_create(H, &o, NULL);
    CHECK_INT(rc, VC_EEXISTS);
    CHECK_CONTAINS(vc_error_last()->message, "already exists");
    CHECK_CONTAINS(vc_error_last()->message, "--upgrade");
    /* --upgrade without a driver: the one the cluster runs with (before,
     * "runs with the local driver; it cannot be upgraded to kubernetes") */
    o.driver = NULL;
    o.flags = VC_CREATE_UPGRADE;
    rc = vc_cluster_create(H, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "upgrade without --driver: %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
    /* the configuration it runs with (vcluster describe): loads again, same
     * distro and store; none for a missing cluster */
    vc_buf y = VC_BUF_INIT;
    CHECK_INT(vc_cluster_get_config(&y, H, NAME, NULL), VC_OK);
    vc_config *back = NULL;
    CHECK_INT(vc_config_new(&back), VC_OK);
    CHECK_INT(vc_config_load_string(back, y.ptr ? y.ptr : "", "stored"), VC_OK);
    int32_t store = 0;
    CHECK_INT(vc_config_backing_store(&store, back), VC_OK);
    CHECK_INT(store, VC_STORE_EMBEDDED_DATABASE);
    CHECK_STR(vc_config_distro(back), "k8s");
    vc_config_free(back);
    CHECK_INT(vc_cluster_get_config(&y, H, "nope", NULL), VC_ENOTFOUND);
    CHECK_INT(vc_cluster_get_config(NULL, H, NAME, NULL), VC_EINVAL);
    vc_buf_dispose(&y);
}

static void t_connect_and_deploy(void)
{
    vc_buf kc = VC_BUF_INIT;
    CHECK_INT(vc_cluster_connect(&kc, H, NAME, NULL, NULL), VC_OK);
    char ctx[128];
    snprintf(ctx, sizeof ctx, "vcluster_%s_%s_", NAME, NS);
    CHECK_CONTAINS(kc.ptr, ctx);
    /* merge into a kubeconfig file and switch; remove restores */
    CHECK_INT(vc_kubeconfig_merge(KCFILE, kc.ptr, NULL), VC_OK);
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig_data = kc.ptr;
    o.qps = -1;
    CHECK_INT(vc_kube_new(&V, &o), VC_OK);
    vc_buf_dispose(&kc);
    CHECK_INT(kcreate(V, "/api/v1/namespaces", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"demo-nginx\"}}"), VC_OK);
    CHECK_INT(kcreate(V, "/apis/apps/v1/namespaces/demo-nginx/deployments",
                      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"nginx\"},"
                      "\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"nginx\"}},"
                      "\"template\":{\"metadata\":{\"labels\":{\"app\":\"nginx\"}},\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\"}]}}}}"), VC_OK);
}

static int host_nginx_running(void)
{
    char p[512];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/pods?labelSelector=app%%3Dnginx", NS);
    json_t *l = kget(H, p);
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(l, "items"), i, it) {
        const char *name = json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
        const char *phase = json_string_value(json_object_get(json_object_get(it, "status"), "phase"));
        if (name && strstr(name, "-x-demo-nginx-x-") && phase && !strcmp(phase, "Running"))
            n++;
    }
    json_decref(l);
    return n;
}

static int virtual_nginx_running(void)
{
    json_t *l = kget(V, "/api/v1/namespaces/demo-nginx/pods");
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(l, "items"), i, it) {
        const char *phase = json_string_value(json_object_get(json_object_get(it, "status"), "phase"));
        if (phase && !strcmp(phase, "Running"))
            n++;
    }
    json_decref(l);
    return n;
}

static bool wait_for(int (*f)(void), int want, int seconds)
{
    for (int i = 0; i < seconds * 4; i++) {
        if (f() == want)
            return true;
        usleep(250000);
    }
    return f() == want;
}

static void t_workload_runs(void)
{
    CHECK(wait_for(host_nginx_running, 1, 90));
    CHECK(wait_for(virtual_nginx_running, 1, 60));
    CHECK(!ns_exists("demo-nginx")); /* invisible on the host */
}

/* kubectl logs / exec on a virtual pod: the virtual API server calls the
 * fake node's kubelet, which is the syncer's kubelet proxy (InternalIP
 * 127.0.0.1, the local driver's port, its kubelet client certificate), which
 * asks the host API server for the host pod's log / exec. The host's pods
 * run on kwok nodes without a kubelet, so the host answers with an error
 * naming its own kubelet request: the host pod's name in it proves the whole
 * chain. (Real containers: tests/integration/realnode_kubelet_proxy.c.) */
static void t_logs_exec_reach_host(void)
{
    json_t *l = kget(V, "/api/v1/namespaces/demo-nginx/pods");
    const char *pod = json_string_value(
        json_object_get(json_object_get(json_array_get(json_object_get(l, "items"), 0), "metadata"), "name"));
    CHECK(pod != NULL);
    char want[400], path[400];
    snprintf(want, sizeof want, "/containerLogs/%s/%s-x-demo-nginx-x-%s/nginx", NS, pod ? pod : "", NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/demo-nginx/pods/%s/log?container=nginx", pod ? pod : "");
    vc_buf b = VC_BUF_INIT;
    int32_t http = 0;
    int rc = vc_kube_request(V, &b, &http, "GET", path, NULL, NULL);
    printf("# virtual logs: rc %d HTTP %d: %s\n", rc, (int)http, vc_error_last()->message);
    CHECK(rc < 0);
    CHECK_CONTAINS(vc_error_last()->message, want);
    vc_buf_dispose(&b);
    /* exec, SPDY as kubectl < 1.30 (the virtual API server relays the
     * upgrade to the proxy, which relays it to the host) */
    snprintf(path, sizeof path, "/api/v1/namespaces/demo-nginx/pods/%s/exec?container=nginx&command=true&stdout=true",
             pod ? pod : "");
    vc__kconn *c = NULL;
    int st = 0;
    char *h = NULL;
    CHECK_INT(vc__kconn_open(V, "POST", path,
                             "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io",
                             NULL, 0, 20000, &c, &st, &h),
              VC_OK);
    printf("# virtual exec: HTTP %d\n", st);
    CHECK_INT(st, 500);
    char body[4096] = "";
    size_t got = 0;
    for (;;) {
        ssize_t n = c ? vc__kconn_read(c, body + got, sizeof body - 1 - got, 10000) : 0;
        if (n <= 0)
            break;
        got += (size_t)n;
        body[got] = '\0';
        if (strstr(body, "}"))
            break;
    }
    /* the host's dial error toward its (kwok) node's kubelet, 127.0.0.1:10250;
     * the fake node's kubelet (the proxy) is on another port */
    printf("# %s\n", body);
    CHECK_CONTAINS(body, "error dialing backend: dial tcp 127.0.0.1:10250");
    json_t *nodes = kget(V, "/api/v1/nodes");
    json_t *st0 = json_object_get(json_array_get(json_object_get(nodes, "items"), 0), "status");
    json_int_t port = json_integer_value(
        json_object_get(json_object_get(json_object_get(st0, "daemonEndpoints"), "kubeletEndpoint"), "Port"));
    CHECK(port > 0 && port != 10250);
    /* upstream's order: Hostname <node>.nodes.vcluster.com, then InternalIP */
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(st0, "addresses"), 1), "type")),
              "InternalIP");
    json_decref(nodes);
    vc__free(h);
    vc__kconn_close(c);
    json_decref(l);
}

static int32_t state_of(void)
{
    vc_cluster_info *i = NULL;
    if (vc_cluster_status(&i, H, NAME, NULL) < 0)
        return -1;
    int32_t s = i->state;
    vc_cluster_info_free(i);
    return s;
}

static void t_list(void)
{
    vc_cluster_list *l = NULL;
    CHECK_INT(vc_cluster_list_get(&l, H, NULL), VC_OK);
    bool found = false;
    for (size_t i = 0; i < vc_cluster_list_count(l); i++) {
        const vc_cluster_info *x = vc_cluster_list_at(l, i);
        if (!strcmp(x->name, NAME)) {
            found = true;
            CHECK_INT(x->state, VC_CLUSTER_RUNNING);
            CHECK_STR(x->host_namespace, NS);
            CHECK_STR(x->driver, "local");
            CHECK(x->version[0] == 'v');
            CHECK(x->created[0] != '\0');
        }
    }
    CHECK(found);
    CHECK(vc_cluster_list_at(l, 1000) == NULL);
    vc_cluster_list_free(l);
}

static void t_pause_resume(void)
{
    vc_cluster_op_options o = op_opts();
    CHECK_INT(vc_cluster_pause(H, NAME, NULL, &o), VC_OK);
    CHECK_INT(state_of(), VC_CLUSTER_PAUSED);
    CHECK_INT(host_nginx_running(), 0);
    CHECK_INT(vc_cluster_pause(H, NAME, NULL, &o), VC_ESTATE);
    vc_buf kc = VC_BUF_INIT;
    CHECK_INT(vc_cluster_connect(&kc, H, NAME, NULL, NULL), VC_ESTATE);
    CHECK_INT(vc_cluster_resume(H, NAME, NULL, &o), VC_OK);
    CHECK_INT(state_of(), VC_CLUSTER_RUNNING);
    CHECK_INT(vc_cluster_resume(H, NAME, NULL, &o), VC_ESTATE);
    /* nothing lost inside; the workload comes back on the host */
    vc_kube_free(V);
    V = NULL;
    CHECK_INT(vc_cluster_connect(&kc, H, NAME, NULL, NULL), VC_OK);
    vc_kube_options ko;
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig_data = kc.ptr;
    CHECK_INT(vc_kube_new(&V, &ko), VC_OK);
    vc_buf_dispose(&kc);
    json_t *d = kget(V, "/apis/apps/v1/namespaces/demo-nginx/deployments/nginx");
    CHECK(d != NULL);
    json_decref(d);
    CHECK(wait_for(host_nginx_running, 1, 90));
}

static int count_procs_with(const char *needle)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char p[300], buf[4096];
        snprintf(p, sizeof p, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < len; i++)
            if (!buf[i])
                buf[i] = ' ';
        buf[len] = 0;
        if (strstr(buf, needle))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static int ns_gone(void)
{
    return ns_exists(NS) ? 0 : 1;
}

static void t_delete(void)
{
    vc_kube_free(V);
    V = NULL;
    char ctx[160];
    snprintf(ctx, sizeof ctx, "vcluster_%s_%s_%s", NAME, NS, vc_kube_context(H));
    vc_cluster_op_options o = op_opts();
    o.flags = VC_DELETE_NAMESPACE;
    CHECK_INT(vc_cluster_delete(H, NAME, NULL, &o), VC_OK);
    CHECK_INT(vc_kubeconfig_remove_context(KCFILE, ctx), VC_OK);
    CHECK_INT(vc_kubeconfig_remove_context(KCFILE, ctx), VC_ENOTFOUND);
    char *txt = NULL;
    size_t len = 0;
    CHECK_INT(vc__file_read(KCFILE, &txt, &len), VC_OK);
    CHECK(txt && !strstr(txt, "vcluster_"));
    vc__free(txt);
    CHECK_INT(state_of(), -1);
    CHECK_INT(vc_error_last()->code, VC_ENOTFOUND);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", STATE, NS);
    struct stat st;
    CHECK(stat(dir, &st) != 0);
    CHECK_INT(count_procs_with(dir), 0);
    CHECK(wait_for(ns_gone, 1, 60));
    CHECK_INT(vc_cluster_delete(H, NAME, NULL, &o), VC_ENOTFOUND);
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    if (!getenv("VC_K8S_BINDIR") || !getenv("VC_SYNCER_BIN")) {
        fprintf(stderr, "FAIL: VC_K8S_BINDIR and VC_SYNCER_BIN must be set (tests/run does it)\n");
        return 1;
    }
    vc_global_init(NULL);
    itest_name(NAME, sizeof NAME, "qs");
    snprintf(NS, sizeof NS, "vcluster-%s", NAME);
    snprintf(STATE, sizeof STATE, "/tmp/vc-lc-XXXXXX");
    if (!mkdtemp(STATE))
        return 1;
    snprintf(KCFILE, sizeof KCFILE, "%s/kubeconfig", STATE);
    H = kube_for(kc);
    if (!H)
        return 1;
    RUN(t_broken_values_fail_first);
    RUN(t_create);
    RUN(t_connect_and_deploy);
    RUN(t_workload_runs);
    RUN(t_logs_exec_reach_host);
    RUN(t_list);
    RUN(t_pause_resume);
    RUN(t_delete);
    /* whatever failed above: leave no process behind */
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

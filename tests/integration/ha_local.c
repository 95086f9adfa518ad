/* Several API servers of the local driver over one store (issue 14 item 1):
 * create with controlPlane.statefulSet.highAvailability.replicas 3 and
 * embedded etcd; three kube-apiserver processes on their own ports behind
 * the `vcluster-syncer lb` balancer, which the kubeconfig names. kubectl
 * works; one replica is killed with SIGKILL and a series of kubectl
 * creates and gets (new connections) and requests of a client that keeps
 * its connections (libcurl, no retries) all succeed; the controller-manager
 * and the syncer, which reach the API through the balancer too, still turn
 * a Deployment made after the kill into Running pods; status says
 * degraded; a second replica killed, still served; status and list; resume
 * restarts the missing replicas; an upgrade that changes replicas is
 * refused; pause and delete leave no process behind. */
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include "vcenv.h"

static vc_kube *H;
static char NAME[32], NS[64], STATE[256], DIR_[400], KC[420];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static vc_cluster_op_options op_opts(void)
{
    vc_cluster_op_options o;
    vc_cluster_op_options_init(&o, VC_CLUSTER_OP_OPTIONS_VERSION);
    o.state_dir = STATE;
    o.bin_dir = getenv("VC_K8S_BINDIR");
    o.syncer_path = getenv("VC_SYNCER_BIN");
    o.timeout_ms = 240000;
    return o;
}

/* run.json: pids of the API server replicas (n), the balancer's and all */
typedef struct procs {
    int replicas;
    pid_t api[9];
    int api_port[9];
    pid_t lb;
    int lb_port;
    pid_t all[32];
    int n_all;
} procs;

static bool read_procs(procs *p)
{
    memset(p, 0, sizeof *p);
    char path[460];
    snprintf(path, sizeof path, "%s/run.json", DIR_);
    json_t *o = json_load_file(path, 0, NULL);
    if (!o)
        return false;
    json_t *pids = json_object_get(o, "pids"), *ports = json_object_get(o, "ports");
    p->replicas = (int)json_integer_value(json_object_get(o, "apiReplicas"));
    for (int r = 0; r < p->replicas && r < 9; r++) {
        char n[64];
        if (r == 0)
            snprintf(n, sizeof n, "kube-apiserver");
        else
            snprintf(n, sizeof n, "kube-apiserver-%d", r);
        p->api[r] = (pid_t)json_integer_value(json_object_get(pids, n));
        p->api_port[r] = (int)json_integer_value(json_object_get(ports, n));
    }
    p->lb = (pid_t)json_integer_value(json_object_get(pids, "api-balancer"));
    p->lb_port = (int)json_integer_value(json_object_get(ports, "api-balancer"));
    const char *k;
    json_t *v;
    json_object_foreach(pids, k, v) {
        if (json_integer_value(v) > 0 && p->n_all < 32)
            p->all[p->n_all++] = (pid_t)json_integer_value(v);
    }
    json_decref(o);
    return true;
}

/* the process runs (a zombie of ours does not count: none here, the
 * driver's processes are not our children) */
static bool alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    char p[64], st[512] = "";
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *rp = strrchr(st, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

static int kubectl(const char *args, char *out, size_t cap)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "kubectl --kubeconfig '%s' --request-timeout=30s %s 2>&1", KC, args);
    char buf[4096];
    int rc = run_cmd(cmd, out ? out : buf, out ? cap : sizeof buf);
    if (rc != 0)
        fprintf(stderr, "kubectl %s: exit %d: %s\n", args, rc, out ? out : buf);
    return rc;
}

static vc_cluster_info *status(void)
{
    vc_cluster_info *i = NULL;
    if (vc_cluster_status(&i, H, NAME, NULL) < 0)
        fprintf(stderr, "status: %s\n", vc_error_last()->message);
    return i;
}

static vc_kube *V; /* keeps its connections (libcurl), no retries */

static vc_kube *pooled_client(void)
{
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig = KC;
    o.qps = -1;
    o.timeout_ms = 30000;
    o.flags = VC_KUBE_NO_RETRY;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &o) < 0)
        fprintf(stderr, "kube: %s\n", vc_error_last()->message);
    return k;
}

static void t_create(void)
{
    vc_config *c = NULL;
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_set(c, "controlPlane.backingStore.etcd.embedded.enabled", "true"), VC_OK);
    CHECK_INT(vc_config_set(c, "controlPlane.statefulSet.highAvailability.replicas", "3"), VC_OK);
    vc_create_options o;
    CHECK_INT(vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.driver = "local";
    o.state_dir = STATE;
    o.bin_dir = getenv("VC_K8S_BINDIR");
    o.syncer_path = getenv("VC_SYNCER_BIN");
    o.timeout_ms = 240000;
    o.config = c;
    double t0 = now_s();
    int rc = vc_cluster_create(H, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "create: %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
    printf("# create-to-ready with 3 API servers: %.1f s\n", now_s() - t0);
    /* more than the driver runs: refused naming the key, nothing made */
    char other[40];
    snprintf(other, sizeof other, "%s-x", NAME);
    CHECK_INT(vc_config_set(c, "controlPlane.statefulSet.highAvailability.replicas", "12"), VC_OK);
    o.name = other;
    CHECK_INT(vc_cluster_create(H, &o, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "controlPlane.statefulSet.highAvailability.replicas");
    CHECK_CONTAINS(vc_error_last()->message, "at most 9");
    vc_config_free(c);

    procs p;
    CHECK(read_procs(&p));
    CHECK_INT(p.replicas, 3);
    for (int r = 0; r < 3; r++) {
        CHECK(alive(p.api[r]));
        CHECK(p.api_port[r] > 0);
        for (int q = 0; q < r; q++)
            CHECK(p.api_port[q] != p.api_port[r] && p.api[q] != p.api[r]);
    }
    CHECK(alive(p.lb));
    /* the kubeconfig names the balancer, not a replica */
    vc_buf kc = VC_BUF_INIT;
    CHECK_INT(vc_cluster_connect(&kc, H, NAME, NULL, NULL), VC_OK);
    char want[64];
    snprintf(want, sizeof want, "https://127.0.0.1:%d", p.lb_port);
    CHECK(kc.ptr && strstr(kc.ptr, want));
    CHECK_INT(vc__file_write(KC, kc.ptr ? kc.ptr : "", kc.size, 0600), VC_OK);
    vc_buf_dispose(&kc);
    vc_cluster_info *i = status();
    CHECK(i && i->state == VC_CLUSTER_RUNNING);
    CHECK(i && !strstr(i->message, "degraded"));
    CHECK(i && strstr(i->server, want));
    vc_cluster_info_free(i);
    char out[4096];
    CHECK_INT(kubectl("get namespaces -o name", out, sizeof out), 0);
    CHECK_CONTAINS(out, "namespace/default");
    V = pooled_client();
    CHECK(V != NULL);
    /* warm the pooled client's connections */
    for (int k = 0; V && k < 6; k++)
        CHECK_INT(vc_kube_request(V, NULL, NULL, "GET", "/api/v1/namespaces/default", NULL, NULL), VC_OK);
}

/* n creates and gets with kubectl and with the pooled client, all must
 * succeed; returns the failures */
static int series(const char *tag, int n, double *first_ok_s, double t_kill)
{
    int failed = 0;
    for (int k = 0; k < n; k++) {
        char args[300], out[4096];
        snprintf(args, sizeof args, "create configmap %s-%d --from-literal=k=v%d", tag, k, k);
        int rc = kubectl(args, out, sizeof out);
        if (rc == 0 && first_ok_s && *first_ok_s < 0)
            *first_ok_s = now_s() - t_kill;
        failed += rc != 0;
        snprintf(args, sizeof args, "get configmap %s-%d -o jsonpath={.data.k}", tag, k);
        rc = kubectl(args, out, sizeof out);
        char v[32];
        snprintf(v, sizeof v, "v%d", k);
        failed += rc != 0 || strcmp(out, v) != 0;
        char path[200];
        snprintf(path, sizeof path, "/api/v1/namespaces/default/configmaps/%s-%d", tag, k);
        if (!V || vc_kube_request(V, NULL, NULL, "GET", path, NULL, NULL) < 0) {
            fprintf(stderr, "pooled GET %s: %s\n", path, vc_error_last()->message);
            failed++;
        }
    }
    return failed;
}

static bool wait_running_pods(const char *selector, int want, int seconds)
{
    for (int t = 0; t < seconds; t++) {
        char args[300], out[4096];
        snprintf(args, sizeof args, "get pods -l %s -o jsonpath={.items[*].status.phase}", selector);
        if (kubectl(args, out, sizeof out) == 0) {
            int n = 0;
            for (const char *q = out; (q = strstr(q, "Running")); q += 7)
                n++;
            if (n == want)
                return true;
        }
        sleep(1);
    }
    return false;
}

/* A client loop during a kill: a request with a fresh client (a new
 * connection, so the balancer picks a replica) and one with a client that
 * keeps its connection, over and over, no retries; what failed and the
 * longest time without a success. */
typedef struct hammer {
    volatile int stop;
    int ok, failed;
    double longest_gap, last_ok;
    volatile double kill_t;
    int failed_late; /* after a success that followed the kill */
    char first_error[300];
} hammer;

static void hammer_one(hammer *h, vc_kube *k)
{
    int rc = k ? vc_kube_request(k, NULL, NULL, "GET", "/api/v1/namespaces/default", NULL, NULL) : VC_ECONNECT;
    double t = now_s();
    if (rc == VC_OK) {
        if (h->last_ok > 0 && t - h->last_ok > h->longest_gap)
            h->longest_gap = t - h->last_ok;
        h->last_ok = t;
        h->ok++;
    } else {
        if (!h->failed)
            snprintf(h->first_error, sizeof h->first_error, "%s", vc_error_last()->message);
        h->failed++;
        if (h->kill_t > 0 && h->last_ok > h->kill_t)
            h->failed_late++;
    }
}

static void *hammer_run(void *ud)
{
    hammer *h = ud;
    vc_kube *kept = pooled_client();
    while (!h->stop) {
        vc_kube *fresh = pooled_client();
        hammer_one(h, fresh);
        vc_kube_free(fresh);
        hammer_one(h, kept);
    }
    vc_kube_free(kept);
    return NULL;
}

static void t_kill_one(void)
{
    procs p;
    CHECK(read_procs(&p));
    char out[4096];
    CHECK_INT(series("before", 3, NULL, 0), 0);
    hammer h;
    memset(&h, 0, sizeof h);
    pthread_t th;
    CHECK_INT(pthread_create(&th, NULL, hammer_run, &h), 0);
    sleep(3);
    int before = h.ok;
    double t_kill = now_s(), first_ok = -1;
    h.kill_t = t_kill;
    CHECK_INT(kill(p.api[1], SIGKILL), 0);
    for (int k = 0; k < 50 && alive(p.api[1]); k++)
        usleep(100000);
    CHECK(!alive(p.api[1]));
    sleep(3);
    h.stop = 1;
    pthread_join(th, NULL);
    printf("# client loop across the kill: %d requests before, %d after, %d failed%s%s; longest time without a "
           "success %.2f s\n",
           before, h.ok - before, h.failed, h.failed ? ": " : "", h.first_error, h.longest_gap);
    CHECK(before > 0 && h.ok > before);
    /* the loop has one request in flight at a time: when it is on the
     * killed replica's established connection it fails (an L4 balancer
     * cannot resend a request inside a TLS session); nothing after that */
    CHECK(h.failed <= 1);
    CHECK_INT(h.failed_late, 0);
    CHECK(h.longest_gap < 5.0);
    int failed = series("after", 20, &first_ok, t_kill);
    printf("# one of 3 API servers killed: 20 creates + 40 gets, %d failed; first create answered %.2f s after "
           "the kill\n", failed, first_ok);
    CHECK_INT(failed, 0);
    CHECK(first_ok >= 0);
    /* the controller-manager and the syncer carry on through the balancer:
     * a Deployment made now becomes Running pods (host pods by kwok) */
    CHECK_INT(kubectl("create deployment web --image=nginx --replicas=2", out, sizeof out), 0);
    double t0 = now_s();
    bool ok = wait_running_pods("app=web", 2, 180);
    printf("# Deployment after the kill: 2 pods Running: %s in %.1f s\n", ok ? "yes" : "no", now_s() - t0);
    CHECK(ok);
    /* on the host, by the syncer */
    char hp[200];
    snprintf(hp, sizeof hp, "/api/v1/namespaces/%s/pods", NS);
    json_t *hl = kget(H, hp);
    size_t webs = 0, hk;
    json_t *it;
    json_array_foreach(json_object_get(hl, "items"), hk, it) {
        const char *n = json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
        webs += n && !strncmp(n, "web-", 4);
    }
    json_decref(hl);
    CHECK_INT(webs, 2);
    vc_cluster_info *i = status();
    CHECK(i && i->state == VC_CLUSTER_RUNNING);
    CHECK(i && strstr(i->message, "degraded") && strstr(i->message, "replica 2 of 3") &&
          strstr(i->message, "2 of 3 serve"));
    if (i)
        printf("# status: %s\n", i->message);
    vc_cluster_info_free(i);
    /* list says the same */
    vc_cluster_list *l = NULL;
    CHECK_INT(vc_cluster_list_get(&l, H, NS), VC_OK);
    bool seen = false;
    for (size_t k = 0; l && k < vc_cluster_list_count(l); k++) {
        const vc_cluster_info *e = vc_cluster_list_at(l, k);
        if (!strcmp(e->name, NAME))
            seen = e->state == VC_CLUSTER_RUNNING && strstr(e->message, "degraded") != NULL;
    }
    CHECK(seen);
    vc_cluster_list_free(l);
}

static void t_kill_two(void)
{
    procs p;
    CHECK(read_procs(&p));
    CHECK_INT(kill(p.api[0], SIGKILL), 0);
    for (int k = 0; k < 50 && alive(p.api[0]); k++)
        usleep(100000);
    int failed = series("one-left", 10, NULL, 0);
    printf("# two of 3 API servers killed: 10 creates + 20 gets, %d failed\n", failed);
    CHECK_INT(failed, 0);
    vc_cluster_info *i = status();
    CHECK(i && i->state == VC_CLUSTER_RUNNING && strstr(i->message, "1 of 3 serve"));
    vc_cluster_info_free(i);
    /* the last one too: Failed, and resume names what it restarts */
    CHECK_INT(kill(p.api[2], SIGKILL), 0);
    for (int k = 0; k < 50 && alive(p.api[2]); k++)
        usleep(100000);
    i = status();
    CHECK(i && i->state == VC_CLUSTER_FAILED && strstr(i->message, "every kube-apiserver is not running"));
    vc_cluster_info_free(i);
}

static void t_resume_repairs(void)
{
    vc_cluster_op_options o = op_opts();
    double t0 = now_s();
    int rc = vc_cluster_resume(H, NAME, NULL, &o);
    if (rc < 0)
        fprintf(stderr, "resume: %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
    printf("# resume of the failed control plane: %.1f s\n", now_s() - t0);
    procs p;
    CHECK(read_procs(&p));
    for (int r = 0; r < 3; r++)
        CHECK(alive(p.api[r]));
    CHECK(alive(p.lb));
    vc_cluster_info *i = status();
    CHECK(i && i->state == VC_CLUSTER_RUNNING && !strstr(i->message, "degraded"));
    vc_cluster_info_free(i);
    char out[4096];
    /* the objects written while degraded are there (one store) */
    CHECK_INT(kubectl("get configmap after-19 one-left-9 -o name", out, sizeof out), 0);
    CHECK_CONTAINS(out, "configmap/one-left-9");
    /* an upgrade that changes the replicas is refused, not ignored */
    vc_config *c = NULL;
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_set(c, "controlPlane.backingStore.etcd.embedded.enabled", "true"), VC_OK);
    CHECK_INT(vc_config_set(c, "controlPlane.statefulSet.highAvailability.replicas", "2"), VC_OK);
    vc_create_options co;
    CHECK_INT(vc_create_options_init(&co, VC_CREATE_OPTIONS_VERSION), VC_OK);
    co.name = NAME;
    co.state_dir = STATE;
    co.bin_dir = getenv("VC_K8S_BINDIR");
    co.syncer_path = getenv("VC_SYNCER_BIN");
    co.timeout_ms = 60000;
    co.config = c;
    co.flags = VC_CREATE_UPGRADE;
    CHECK_INT(vc_cluster_create(H, &co, NULL), VC_ENOTSUPPORTED);
    CHECK_CONTAINS(vc_error_last()->message, "controlPlane.statefulSet.highAvailability.replicas");
    CHECK_CONTAINS(vc_error_last()->message, "3 now, 2 asked");
    vc_config_free(c);
}

static void t_pause_delete(void)
{
    procs p;
    CHECK(read_procs(&p));
    CHECK_INT(p.n_all >= 7, 1); /* etcd, 3 API servers, balancer, kcm, syncer */
    vc_cluster_op_options o = op_opts();
    CHECK_INT(vc_cluster_pause(H, NAME, NULL, &o), VC_OK);
    for (int k = 0; k < p.n_all; k++)
        CHECK(!alive(p.all[k]));
    CHECK_INT(vc_cluster_resume(H, NAME, NULL, &o), VC_OK);
    CHECK(read_procs(&p));
    for (int r = 0; r < 3; r++)
        CHECK(alive(p.api[r]));
    char out[4096];
    CHECK_INT(kubectl("get configmap after-0 -o name", out, sizeof out), 0);
    o.flags = VC_DELETE_NAMESPACE;
    CHECK_INT(vc_cluster_delete(H, NAME, NULL, &o), VC_OK);
    for (int k = 0; k < p.n_all; k++)
        CHECK(!alive(p.all[k]));
    struct stat st;
    CHECK(stat(DIR_, &st) != 0);
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    if (!getenv("VC_K8S_BINDIR") || !getenv("VC_SYNCER_BIN")) {
        fprintf(stderr, "FAIL: VC_K8S_BINDIR and VC_SYNCER_BIN must be set (tests/run does it)\n");
        return 1;
    }
    char kpath[600];
    snprintf(kpath, sizeof kpath, "command -v kubectl >/dev/null || test -x '%s/kubectl'", getenv("VC_K8S_BINDIR"));
    if (system(kpath) != 0) {
        fprintf(stderr, "FAIL: kubectl is needed (on PATH)\n");
        return 1;
    }
    vc_global_init(NULL);
    snprintf(STATE, sizeof STATE, "/tmp/vc-ha-XXXXXX");
    if (!mkdtemp(STATE))
        return 1;
    itest_name(NAME, sizeof NAME, "ha");
    snprintf(NS, sizeof NS, "vcluster-%s", NAME);
    snprintf(DIR_, sizeof DIR_, "%s/%s/%s", STATE, NS, NAME);
    snprintf(KC, sizeof KC, "%s/virtual.kubeconfig", STATE);
    H = kube_for(kc);
    if (!H)
        return 1;
    (void)kcreate;
    double t0 = now_s();
    RUN(t_create);
    if (t_failures == 0) {
        RUN(t_kill_one);
        RUN(t_kill_two);
        RUN(t_resume_repairs);
    }
    RUN(t_pause_delete);
    printf("# total %.1f s\n", now_s() - t0);
    vc_kube_free(V);
    vc_kube_free(H);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", STATE);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    vc_global_shutdown();
    TEST_DONE();
}

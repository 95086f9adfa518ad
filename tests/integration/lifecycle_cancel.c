/* Cancelling lifecycle calls through the progress callback (issue 12,
 * item 6), against the kwok host cluster:
 *  - a non-zero return at the first step stops create before it makes
 *    anything;
 *  - kubernetes driver: cancelled while waiting for the control plane,
 *    create returns VC_ECANCELED within 500 ms of the callback's answer;
 *    while it waited the callback ran at least every 250 ms; what is left is
 *    a virtual cluster that status finds and that create --upgrade finishes
 *    (with version-1 options, whose callback returns void: its return value
 *    must be ignored) and delete removes;
 *  - local driver: cancelled while waiting for kube-apiserver, create rolls
 *    back (processes, state directory, host objects) and returns promptly. */
#include <dirent.h>
#include <sys/stat.h>

#include "vcenv.h"

static vc_kube *H;
static char STATE[256];

typedef struct canceller {
    const char *at_step; /* cancel at the first VC_PROGRESS_WAITING of this step; NULL: at the first call */
    bool always;         /* return non-zero from every call */
    int64_t cancel_at;   /* when the callback said stop (monotonic ms), 0: not yet */
    int64_t last_call;
    int64_t max_wait_gap; /* the longest time before a VC_PROGRESS_WAITING call */
    int waiting_calls, calls;
} canceller;

static int on_progress(const char *step, const char *msg, int32_t done, void *ud)
{
    canceller *c = ud;
    int64_t now = vc__now_ms();
    if (done == VC_PROGRESS_WAITING) {
        c->waiting_calls++;
        if (c->last_call && now - c->last_call > c->max_wait_gap)
            c->max_wait_gap = now - c->last_call;
    } else {
        printf("#   [%s%s] %s\n", step, done ? " done" : "", msg);
    }
    c->last_call = now;
    c->calls++;
    if (c->always)
        return 1;
    if (c->cancel_at)
        return 1; /* asked again after saying stop: still stop */
    if (!c->at_step || (done == VC_PROGRESS_WAITING && !strcmp(step, c->at_step))) {
        c->cancel_at = now;
        printf("#   cancelling at [%s] %s\n", step, msg);
        return 1;
    }
    return 0;
}

static vc_create_options create_opts(const char *name, const char *driver, canceller *c)
{
    vc_create_options o;
    vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION);
    o.name = name;
    o.driver = driver;
    o.timeout_ms = 120000;
    o.state_dir = STATE;
    o.bin_dir = getenv("VC_K8S_BINDIR");
    o.syncer_path = getenv("VC_SYNCER_BIN");
    o.progress = on_progress;
    o.progress_user_data = c;
    return o;
}

static bool ns_exists(const char *ns)
{
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s", ns);
    json_t *j = kget(H, p);
    bool r = j != NULL && !vc__streq(json_string_value(json_object_get(json_object_get(j, "status"), "phase")),
                                     "Terminating");
    json_decref(j);
    return r;
}

static void t_cancel_before_anything(void)
{
    char name[32], ns[64];
    itest_name(name, sizeof name, "cx");
    snprintf(ns, sizeof ns, "vcluster-%s", name);
    canceller c = { 0 };
    vc_create_options o = create_opts(name, "kubernetes", &c);
    CHECK_INT(vc_cluster_create(H, &o, NULL), VC_ECANCELED);
    CHECK_INT(vc_error_last()->code, VC_ECANCELED);
    CHECK_CONTAINS(vc_error_last()->message, "cancelled");
    CHECK_INT(c.calls, 1);
    CHECK(!ns_exists(ns));
}

static void t_cancel_k8s_wait(void)
{
    char name[32], ns[64];
    itest_name(name, sizeof name, "ck");
    snprintf(ns, sizeof ns, "vcluster-%s", name);
    canceller c = { .at_step = "controlplane" };
    vc_create_options o = create_opts(name, "kubernetes", &c);
    int rc = vc_cluster_create(H, &o, NULL);
    int64_t back = vc__now_ms();
    CHECK_INT(rc, VC_ECANCELED);
    CHECK(c.cancel_at > 0);
    printf("# kubernetes create: returned %lld ms after the cancel; %d waiting calls, longest gap before one %lld ms\n",
           (long long)(back - c.cancel_at), c.waiting_calls, (long long)c.max_wait_gap);
    CHECK(back - c.cancel_at < 500);
    CHECK(c.waiting_calls >= 1);
    CHECK(c.max_wait_gap <= 250);
    /* what a timeout at that moment leaves: the virtual cluster exists */
    vc_cluster_info *info = NULL;
    CHECK_INT(vc_cluster_status(&info, H, name, NULL), VC_OK);
    vc_cluster_info_free(info);
    /* create --upgrade finishes it; version-1 options: the return value of
     * the callback (a void function when they were compiled) is not read */
    canceller always = { .always = true };
    o = create_opts(name, "kubernetes", &always);
    o.version = 1;
    o.flags = VC_CREATE_UPGRADE;
    rc = vc_cluster_create(H, &o, NULL);
    if (rc < 0)
        printf("# upgrade: %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
    CHECK(always.calls > 1);
    CHECK_INT(vc_cluster_status(&info, H, name, NULL), VC_OK);
    CHECK_INT(info ? info->state : -1, VC_CLUSTER_RUNNING);
    vc_cluster_info_free(info);
    vc_cluster_op_options d;
    vc_cluster_op_options_init(&d, VC_CLUSTER_OP_OPTIONS_VERSION);
    d.flags = VC_DELETE_NAMESPACE;
    d.timeout_ms = 120000;
    CHECK_INT(vc_cluster_delete(H, name, NULL, &d), VC_OK);
}

/* Processes whose command line names `needle` (as lifecycle_local.c counts). */
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

static void t_cancel_local_wait(void)
{
    if (!getenv("VC_K8S_BINDIR") || !getenv("VC_SYNCER_BIN")) {
        fprintf(stderr, "FAIL: VC_K8S_BINDIR and VC_SYNCER_BIN must be set (tests/run does it)\n");
        CHECK(false);
        return;
    }
    char name[32], ns[64], dir[512];
    itest_name(name, sizeof name, "cl");
    snprintf(ns, sizeof ns, "vcluster-%s", name);
    snprintf(dir, sizeof dir, "%s/%s/%s", STATE, ns, name);
    canceller c = { .at_step = "apiserver" };
    vc_create_options o = create_opts(name, "local", &c);
    int rc = vc_cluster_create(H, &o, NULL);
    int64_t back = vc__now_ms();
    CHECK_INT(rc, VC_ECANCELED);
    CHECK(c.cancel_at > 0);
    printf("# local create: returned %lld ms after the cancel (processes killed, state and host objects removed); "
           "%d waiting calls, longest gap before one %lld ms\n",
           (long long)(back - c.cancel_at), c.waiting_calls, (long long)c.max_wait_gap);
    CHECK(back - c.cancel_at < 2000);
    CHECK(c.max_wait_gap <= 250);
    /* nothing half-made: no process, no state, no host Service */
    struct stat st;
    CHECK(stat(dir, &st) != 0);
    CHECK_INT(count_procs_with(dir), 0);
    char p[300];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s/services/%s", ns, name);
    json_t *svc = kget(H, p);
    CHECK(svc == NULL);
    json_decref(svc);
    vc_cluster_info *info = NULL;
    CHECK_INT(vc_cluster_status(&info, H, name, NULL), VC_ENOTFOUND);
    vc_cluster_info_free(info);
}

int main(void)
{
    (void)kcreate; /* vcenv.h's, unused here */
    const char *kc = itest_kubeconfig();
    vc_global_init(NULL);
    snprintf(STATE, sizeof STATE, "/tmp/vc-cancel-XXXXXX");
    if (!mkdtemp(STATE))
        return 1;
    H = kube_for(kc);
    if (!H)
        return 1;
    RUN(t_cancel_before_anything);
    RUN(t_cancel_k8s_wait);
    RUN(t_cancel_local_wait);
    vc_kube_free(H);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", STATE);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    vc_global_shutdown();
    TEST_DONE();
}

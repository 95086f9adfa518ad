/* The reliability suite (issue 19 item 6): the syncer daemon
 * (examples/controller, `vcluster-syncer`) survives crashes, host API server
 * restarts and a full host quota. Two phases, each against a fresh bare
 * virtual control plane (vcenv.h):
 *
 *  1. crash: on the shared host (VC_TEST_KUBECONFIG), a BURST-replica
 *     Deployment inside; the syncer is SIGKILLed while the burst is half-way
 *     synced to the host, then started again; then KILLS rounds of churn
 *     (scale, delete pods, update pods), each SIGKILLing the syncer at a
 *     random moment (and sometimes changing more while it is dead).
 *  2. host restart: on a host cluster started here (its own state dir), the
 *     pods converge; then RESTARTS rounds scale down and up, the HOST
 *     kube-apiserver is killed mid-way (its pid from the harness state dir)
 *     and, while it is down, 10 more virtual pods are deleted (their
 *     replacements are created inside); then the API server is started again
 *     with the same command line. Last, a host ResourceQuota is filled (the
 *     extra pods are refused: Warning events inside) and released.
 *
 * Short mode (tests/run): 200 pods, 2 kills, 1 restart. Long mode
 * (VC_RELIABILITY=long): 1,000 pods, 20 kills, 5 restarts; results in
 * doc/reliability.md. The churn is random with a printed seed
 * (VC_RELIABILITY_SEED repeats it).
 *
 * After each, the host must equal translate(virtual): every live virtual pod
 * has exactly one host pod (the translated name, annotation
 * vcluster.loft.sh/uid = the virtual uid), no host pod lacks a live virtual
 * twin (no orphans), no duplicates, nothing missing, nothing left in
 * deletion; every virtual pod is Running and bound to a node that exists
 * inside. Only deadlines, no timing assertions. Counts are printed.
 *
 * The daemon comes from VC_SYNCER_BIN (set by meson). It stops on SIGTERM
 * with exit status 0 (under ASan that includes LeakSanitizer's verdict). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "vcenv.h"
#include "translate/translate.h"

/* Short mode (tests/run) and long mode (VC_RELIABILITY=long, doc/reliability.md). */
static int BURST = 200, SCALED = 50, KILLS = 2, RESTARTS = 1;
#define DELETED_WHILE_DOWN 10
#define QUOTA_EXTRA 10
static unsigned SEED;
#define APP "burst"
#define VNS "burst"

typedef struct site {
    const char *label;
    char name[32], hns[64];
    char host_kc[512];
    vc_kube *H, *V;
    vc_translator *tr;
    vcenv env;
    bool env_up;
    pid_t syncer;
    int runs;
} site;

static const char *SYNCER_BIN;
static char WORK[256];           /* logs of the syncer runs */
static site A = { .label = "crash" }, B = { .label = "host-restart" };
static char HOST2[256];          /* state dir of the host cluster started here */
static bool host2_up;

static int64_t now_ms(void)
{
    return vc__now_ms();
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* ---- the syncer as a child process ---- */

static pid_t spawn_syncer(site *s, const char *const *extra)
{
    char log[512];
    snprintf(log, sizeof log, "%s/syncer-%s-%d.log", WORK, s->label, ++s->runs);
    const char *argv[32];
    int n = 0;
    argv[n++] = SYNCER_BIN;
    argv[n++] = "--name";
    argv[n++] = s->name;
    argv[n++] = "--host-namespace";
    argv[n++] = s->hns;
    argv[n++] = "--host-kubeconfig";
    argv[n++] = s->host_kc;
    argv[n++] = "--virtual-kubeconfig";
    argv[n++] = s->env.kubeconfig;
    argv[n++] = "--listen";
    argv[n++] = "";
    for (int i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(SYNCER_BIN, (char *const *)argv);
        _exit(127);
    }
    if (pid > 0)
        printf("# [%s] syncer run %d: pid %d, log %s\n", s->label, s->runs, (int)pid, log);
    s->syncer = pid > 0 ? pid : 0;
    return pid;
}

/* Signal the syncer and reap it; returns its wait status (-1: not ours). */
static int stop_syncer(site *s, int sig, int grace_ms)
{
    if (s->syncer <= 0)
        return -1;
    kill(s->syncer, sig);
    int st = -1;
    int64_t end = now_ms() + grace_ms;
    for (;;) {
        pid_t r = waitpid(s->syncer, &st, WNOHANG);
        if (r == s->syncer)
            break;
        if (r < 0) {
            st = -1;
            break;
        }
        if (now_ms() > end) {
            fprintf(stderr, "# [%s] syncer %d did not exit on signal %d within %d ms: SIGKILL\n", s->label,
                    (int)s->syncer, sig, grace_ms);
            kill(s->syncer, SIGKILL);
            waitpid(s->syncer, &st, 0);
            st = -1;
            break;
        }
        sleep_ms(50);
    }
    s->syncer = 0;
    return st;
}

static bool syncer_alive(site *s)
{
    int st;
    return s->syncer > 0 && waitpid(s->syncer, &st, WNOHANG) == 0;
}

static void show_log_tail(site *s)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "tail -n 25 '%s/syncer-%s-%d.log' >&2", WORK, s->label, s->runs);
    fprintf(stderr, "# --- last lines of the syncer log:\n");
    run_cmd(cmd, NULL, 0);
}

/* ---- cleanup, also on SIGTERM (meson's timeout) and failed CHECKs ---- */

static void teardown_site(site *s)
{
    if (s->syncer > 0)
        stop_syncer(s, SIGKILL, 5000);
    if (s->H && s->hns[0]) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/namespaces/%s", s->hns);
        vc_kube_request(s->H, NULL, NULL, "DELETE", path, NULL, NULL);
    }
    vc_translator_free(s->tr);
    s->tr = NULL;
    vc_kube_free(s->H);
    vc_kube_free(s->V);
    s->H = s->V = NULL;
    if (s->env_up) {
        vcenv_down(&s->env);
        s->env_up = false;
    }
}

static void down_host2(void)
{
    if (!host2_up)
        return;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "'%s' down --state '%s' --purge >&2", hostcluster_path(), HOST2);
    run_cmd(cmd, NULL, 0);
    host2_up = false;
}

static void cleanup_all(void)
{
    teardown_site(&A);
    teardown_site(&B);
    down_host2();
}

static void on_term(int sig)
{
    fprintf(stderr, "# signal %d: cleaning up\n", sig);
    cleanup_all();
    _exit(1);
}

/* ---- the host side the lifecycle would make, and the virtual workload ---- */

static int site_up(site *s, const char *host_kc, const char *prefix)
{
    snprintf(s->host_kc, sizeof s->host_kc, "%s", host_kc);
    itest_name(s->name, sizeof s->name, prefix);
    snprintf(s->hns, sizeof s->hns, "vcluster-%s", s->name);
    if (vcenv_up(&s->env) < 0)
        return -1;
    s->env_up = true;
    s->H = kube_for(host_kc);
    s->V = kube_for(s->env.kubeconfig);
    vc_translate_options to;
    vc_translate_options_init(&to, VC_TRANSLATE_OPTIONS_VERSION);
    to.name = s->name;
    to.host_namespace = s->hns;
    if (!s->H || !s->V || vc_translator_new(&s->tr, &to) < 0)
        return -1;
    char buf[512], path[256];
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", s->hns);
    if (kcreate(s->H, "/api/v1/namespaces", buf) < 0)
        return -1;
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services", s->hns);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"ports\":[{\"name\":\"https\",\"port\":443,\"targetPort\":8443}]}}",
             s->name);
    if (kcreate(s->H, path, buf) < 0)
        return -1;
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", s->hns);
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"vc-workload-%s\"}}",
             s->name);
    if (kcreate(s->H, path, buf) < 0)
        return -1;
    if (kcreate(s->V, "/api/v1/namespaces",
                "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" VNS "\"}}") < 0)
        return -1;
    printf("# [%s] virtual cluster %s, host namespace %s\n", s->label, s->name, s->hns);
    return 0;
}

static int create_burst(site *s, int replicas)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"" APP "\"},"
             "\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":\"" APP "\"}},"
             "\"template\":{\"metadata\":{\"labels\":{\"app\":\"" APP "\"}},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}",
             replicas);
    return kcreate(s->V, "/apis/apps/v1/namespaces/" VNS "/deployments", buf);
}

static int scale_burst(site *s, int replicas)
{
    char body[64];
    snprintf(body, sizeof body, "{\"spec\":{\"replicas\":%d}}", replicas);
    int rc = vc_kube_request(s->V, NULL, NULL, "PATCH", "/apis/apps/v1/namespaces/" VNS "/deployments/" APP "/scale",
                             body, "application/merge-patch+json");
    if (rc < 0)
        fprintf(stderr, "scale: %s\n", vc_error_last()->message);
    return rc;
}

/* ---- host == translate(virtual) ---- */

typedef struct snap {
    int vlive, vdeleting, vready, vapp;   /* virtual: live pods, in deletion, Running+bound, of the Deployment */
    int hlive, hdeleting, hrunning, happ; /* host pods in the host namespace */
    int missing, orphans, dups, wrong_uid;
} snap;

static bool is_deleting(const json_t *o)
{
    return json_object_get(json_object_get(o, "metadata"), "deletionTimestamp") != NULL;
}

static const char *label_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), key));
}

static const char *annotation_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "annotations"), key));
}

/* Count host pods of the Deployment that are not in deletion (cheap enough
 * to poll: one list). -1 on error. */
static int host_app_pods(site *s)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=app%%3D" APP, s->hns);
    json_t *l = kget(s->H, path);
    if (!l)
        return -1;
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(l, "items"), i, it) {
        if (!is_deleting(it))
            n++;
    }
    json_decref(l);
    return n;
}

static int take_snap(site *s, snap *o)
{
    memset(o, 0, sizeof *o);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", s->hns);
    json_t *vl = kget(s->V, "/api/v1/pods");
    json_t *nodes = kget(s->V, "/api/v1/nodes");
    json_t *hl = kget(s->H, path);
    json_t *want = json_object(), *seen = json_object(), *seen_uid = json_object(), *node_set = json_object();
    int rc = vl && hl && nodes && want && seen && seen_uid && node_set ? 0 : -1;
    size_t i;
    json_t *it;
    if (rc == 0) {
        json_array_foreach(json_object_get(nodes, "items"), i, it) {
            const char *n = vc__jpath_str(it, "metadata", "name");
            if (n)
                json_object_set_new(node_set, n, json_true());
        }
        json_array_foreach(json_object_get(vl, "items"), i, it) {
            if (is_deleting(it)) {
                o->vdeleting++;
                continue;
            }
            o->vlive++;
            const char *ns = vc__jpath_str(it, "metadata", "namespace");
            const char *name = vc__jpath_str(it, "metadata", "name");
            const char *uid = vc__jpath_str(it, "metadata", "uid");
            vc_buf hn = VC_BUF_INIT;
            if (ns && name && uid && vc_translate_host_name(&hn, s->tr, "Pod", ns, name) == VC_OK)
                json_object_set_new(want, hn.ptr, json_string(uid));
            vc_buf_dispose(&hn);
            if (vc__streq(label_of(it, "app"), APP) && vc__streq(ns, VNS))
                o->vapp++;
            const char *node = vc__jpath_str(it, "spec", "nodeName");
            const char *ip = vc__jpath_str(it, "status", "podIP");
            if (vc__streq(vc__jpath_str(it, "status", "phase"), "Running") && node && json_object_get(node_set, node) &&
                ip && *ip)
                o->vready++;
        }
        json_array_foreach(json_object_get(hl, "items"), i, it) {
            if (is_deleting(it)) {
                o->hdeleting++;
                continue;
            }
            o->hlive++;
            const char *hname = vc__jpath_str(it, "metadata", "name");
            const char *vuid = hname ? json_string_value(json_object_get(want, hname)) : NULL;
            const char *auid = annotation_of(it, "vcluster.loft.sh/uid");
            if (vc__streq(vc__jpath_str(it, "status", "phase"), "Running"))
                o->hrunning++;
            if (vc__streq(label_of(it, "app"), APP))
                o->happ++;
            if (!vuid) {
                o->orphans++;
                continue;
            }
            if (!vc__streq(vuid, auid))
                o->wrong_uid++;
            if (json_object_get(seen, hname) || (auid && json_object_get(seen_uid, auid)))
                o->dups++;
            json_object_set_new(seen, hname, json_true());
            if (auid)
                json_object_set_new(seen_uid, auid, json_true());
        }
        const char *k;
        json_t *v;
        json_object_foreach(want, k, v) {
            if (!json_object_get(seen, k))
                o->missing++;
        }
    }
    json_decref(vl);
    json_decref(hl);
    json_decref(nodes);
    json_decref(want);
    json_decref(seen);
    json_decref(seen_uid);
    json_decref(node_set);
    return rc;
}

static void print_snap(site *s, const char *what, const snap *o)
{
    printf("# [%s] %s: virtual live %d (deleting %d, Running+bound %d, app %d) | host live %d (deleting %d, "
           "Running %d, app %d) | missing %d, orphans %d, duplicates %d, wrong uid %d\n",
           s->label, what, o->vlive, o->vdeleting, o->vready, o->vapp, o->hlive, o->hdeleting, o->hrunning, o->happ,
           o->missing, o->orphans, o->dups, o->wrong_uid);
    fflush(stdout);
}

static bool converged(const snap *o, int app)
{
    return o->vdeleting == 0 && o->hdeleting == 0 && o->missing == 0 && o->orphans == 0 && o->dups == 0 &&
           o->wrong_uid == 0 && o->vready == o->vlive && o->hrunning == o->hlive && o->hlive == o->vlive &&
           o->vapp == app && o->happ == app;
}

/* Poll until converged with at least min_live virtual pods (printing
 * changes) or the deadline; *last gets the last snapshot. */
static bool wait_converged(site *s, int app, int min_live, int timeout_ms, snap *last)
{
    int64_t t0 = now_ms(), end = t0 + timeout_ms, last_print = 0;
    snap prev;
    memset(&prev, 0xff, sizeof prev);
    memset(last, 0, sizeof *last);
    for (;;) {
        snap o;
        if (take_snap(s, &o) == 0) {
            *last = o;
            bool done = converged(&o, app) && o.vlive >= min_live;
            if (done || memcmp(&o, &prev, sizeof o) != 0 || now_ms() - last_print > 10000) {
                char what[64];
                snprintf(what, sizeof what, "%s%.1f s", done ? "converged after " : "", (now_ms() - t0) / 1000.0);
                print_snap(s, what, &o);
                prev = o;
                last_print = now_ms();
            }
            if (done)
                return true;
        }
        if (now_ms() > end)
            return false;
        if (s->syncer > 0 && !syncer_alive(s)) {
            fprintf(stderr, "# [%s] the syncer exited\n", s->label);
            s->syncer = 0;
            show_log_tail(s);
            return false;
        }
        sleep_ms(500);
    }
}

static void check_converged(site *s, const snap *o, int app)
{
    CHECK_INT(o->missing, 0);
    CHECK_INT(o->orphans, 0);
    CHECK_INT(o->dups, 0);
    CHECK_INT(o->wrong_uid, 0);
    CHECK_INT(o->vdeleting, 0);
    CHECK_INT(o->hdeleting, 0);
    CHECK_INT(o->vapp, app);
    CHECK_INT(o->happ, app);
    CHECK_INT(o->hlive, o->vlive);
    CHECK_INT(o->vready, o->vlive);
    CHECK_INT(o->hrunning, o->hlive);
    if (!converged(o, app))
        show_log_tail(s);
}

/* ---- the host kube-apiserver: stop and start it again by its recorded pid ---- */

typedef struct proc_cmd {
    char buf[16384];
    char *argv[256];
} proc_cmd;

static pid_t read_pidfile(const char *state)
{
    char path[512], b[32] = "";
    snprintf(path, sizeof path, "%s/pids/kube-apiserver", state);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(b, sizeof b, f))
        b[0] = '\0';
    fclose(f);
    return (pid_t)atoi(b);
}

static bool proc_gone(pid_t pid)
{
    char path[64], b[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    bool zombie = false;
    if (fgets(b, sizeof b, f)) {
        const char *p = strrchr(b, ')');
        zombie = p && p[1] == ' ' && p[2] == 'Z';
    }
    fclose(f);
    return zombie;
}

/* SIGKILL the API server of `state`, keeping its command line in *cmd. */
static int kill_apiserver(const char *state, proc_cmd *cmd)
{
    pid_t pid = read_pidfile(state);
    if (pid <= 0)
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, cmd->buf, sizeof cmd->buf - 1);
    close(fd);
    if (n <= 0 || n >= (ssize_t)sizeof cmd->buf - 1)
        return -1;
    cmd->buf[n] = '\0';
    int argc = 0;
    bool names_state = false;
    for (char *p = cmd->buf; p < cmd->buf + n && argc < 255; p += strlen(p) + 1) {
        cmd->argv[argc++] = p;
        if (strstr(p, state))
            names_state = true;
    }
    cmd->argv[argc] = NULL;
    /* only ours: the harness's binary, with our state dir on its command line */
    if (argc < 2 || !strstr(cmd->argv[0], "kube-apiserver") || !names_state)
        return -1;
    if (kill(pid, SIGKILL) < 0)
        return -1;
    for (int i = 0; i < 200 && !proc_gone(pid); i++)
        sleep_ms(50);
    printf("# host kube-apiserver pid %d killed\n", (int)pid);
    return proc_gone(pid) ? 0 : -1;
}

/* Start it again, detached (double fork), logging where the harness logs, and
 * record the new pid in the state dir so `hostcluster down` stops it. */
static int start_apiserver(const char *state, proc_cmd *cmd)
{
    pid_t old = read_pidfile(state);
    char log[512], pidfile[512], tmp[520];
    snprintf(log, sizeof log, "%s/logs/kube-apiserver.log", state);
    snprintf(pidfile, sizeof pidfile, "%s/pids/kube-apiserver", state);
    snprintf(tmp, sizeof tmp, "%s.tmp", pidfile);
    fflush(stdout);
    fflush(stderr);
    pid_t c = fork();
    if (c < 0)
        return -1;
    if (c == 0) {
        setsid();
        pid_t g = fork();
        if (g != 0)
            _exit(g < 0 ? 1 : 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (fd < 0 || nul < 0)
            _exit(1);
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        for (int i = 3; i < 1024; i++)
            close(i);
        FILE *f = fopen(tmp, "w");
        if (!f)
            _exit(1);
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
        rename(tmp, pidfile);
        execv(cmd->argv[0], cmd->argv);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    for (int i = 0; i < 100; i++) {
        pid_t p = read_pidfile(state);
        if (p > 0 && p != old) {
            printf("# host kube-apiserver started again: pid %d\n", (int)p);
            return 0;
        }
        sleep_ms(50);
    }
    return -1;
}

static bool wait_readyz(vc_kube *k, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        vc_buf b = VC_BUF_INIT;
        int rc = vc_kube_request(k, &b, NULL, "GET", "/readyz", NULL, NULL);
        bool ok = rc == VC_OK && b.ptr && !strncmp(b.ptr, "ok", 2);
        vc_buf_dispose(&b);
        if (ok)
            return true;
        sleep_ms(500);
    }
    return false;
}

/* ---- phase 1: SIGKILL half-way through a burst ---- */

static void t_crash_setup(void)
{
    CHECK_INT(site_up(&A, itest_kubeconfig(), "vcc"), 0);
}

static void t_crash_first_run(void)
{
    if (!A.tr)
        return;
    /* slowed down a little so "half-way" lasts long enough to hit */
    static const char *const slow[] = { "--host-qps", "40", "--host-burst", "10", NULL };
    CHECK(spawn_syncer(&A, slow) > 0);
    snap o;
    CHECK(wait_converged(&A, 0, 1, 180000, &o)); /* CoreDNS runs: the syncer is up */
}

static int killed_at;

static void t_crash_kill_halfway(void)
{
    if (!A.syncer)
        return;
    CHECK_INT(create_burst(&A, BURST), VC_OK);
    int64_t end = now_ms() + 180000;
    int n = 0;
    while (now_ms() < end && syncer_alive(&A)) {
        n = host_app_pods(&A);
        if (n >= BURST / 2)
            break;
        sleep_ms(20);
    }
    int st = stop_syncer(&A, SIGKILL, 10000);
    killed_at = n;
    printf("# [crash] SIGKILL with %d of %d pods on the host (wait status %d)\n", n, BURST, st);
    CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    CHECK(n >= BURST / 2 && n < BURST);
    sleep_ms(500);
    n = host_app_pods(&A);
    printf("# [crash] %d host pods after the in-flight writes landed\n", n);
}

static void t_crash_restart_converges(void)
{
    if (!A.tr || killed_at <= 0)
        return;
    CHECK(spawn_syncer(&A, NULL) > 0);
    snap o;
    bool ok = wait_converged(&A, BURST, BURST, 300000, &o);
    CHECK(ok);
    check_converged(&A, &o, BURST);
}

/* Churn with kills: each round changes the workload (scale, delete pods,
 * update pods), SIGKILLs the syncer at a random moment, sometimes changes
 * more while it is dead, and starts it again. At the end: converged. */
static int final_replicas;

static int rnd(int lo, int hi)
{
    return lo + (int)(rand_r(&SEED) % (unsigned)(hi - lo + 1));
}

static void update_some_virtual_pods(site *s, int n, int round)
{
    json_t *l = kget(s->V, "/api/v1/namespaces/" VNS "/pods?labelSelector=app%3D" APP);
    size_t i;
    json_t *it;
    int done = 0;
    json_array_foreach(json_object_get(l, "items"), i, it) {
        if (done >= n)
            break;
        if (is_deleting(it) || rnd(0, 3))
            continue;
        char path[300], body[128];
        snprintf(path, sizeof path, "/api/v1/namespaces/" VNS "/pods/%s", vc__jpath_str(it, "metadata", "name"));
        snprintf(body, sizeof body, "{\"metadata\":{\"labels\":{\"churn\":\"r%d\"}}}", round);
        if (vc_kube_request(s->V, NULL, NULL, "PATCH", path, body, "application/merge-patch+json") == VC_OK)
            done++;
    }
    json_decref(l);
}

static void churn_op(site *s, int round)
{
    switch (rnd(0, 2)) {
    case 0:
        final_replicas = rnd(BURST / 4, BURST);
        CHECK_INT(scale_burst(s, final_replicas), VC_OK);
        printf("# [crash] round %d: scale to %d\n", round, final_replicas);
        break;
    case 1: {
        json_t *l = kget(s->V, "/api/v1/namespaces/" VNS "/pods?labelSelector=app%3D" APP);
        int want = rnd(1, 10), done = 0;
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(l, "items"), i, it) {
            if (done >= want)
                break;
            if (is_deleting(it) || rnd(0, 2))
                continue;
            char path[300];
            snprintf(path, sizeof path, "/api/v1/namespaces/" VNS "/pods/%s", vc__jpath_str(it, "metadata", "name"));
            if (vc_kube_request(s->V, NULL, NULL, "DELETE", path, NULL, NULL) == VC_OK)
                done++;
        }
        json_decref(l);
        printf("# [crash] round %d: delete %d virtual pods\n", round, done);
        break;
    }
    default:
        update_some_virtual_pods(s, rnd(1, 20), round);
        printf("# [crash] round %d: update pod labels\n", round);
        break;
    }
}

static void t_crash_churn_kills(void)
{
    if (!A.syncer || killed_at <= 0)
        return;
    final_replicas = BURST;
    for (int r = 1; r <= KILLS; r++) {
        churn_op(&A, r);
        sleep_ms(rnd(0, 3000));
        int st = stop_syncer(&A, SIGKILL, 10000);
        CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        printf("# [crash] round %d: SIGKILL, %d app pods on the host\n", r, host_app_pods(&A));
        if (rnd(0, 1))
            churn_op(&A, r); /* while it is dead */
        CHECK(spawn_syncer(&A, NULL) > 0);
    }
    snap o;
    bool ok = wait_converged(&A, final_replicas, final_replicas, 600000, &o);
    CHECK(ok);
    check_converged(&A, &o, final_replicas);
    printf("# [crash] after %d kills: %d virtual pods, %d host pods, %d missing, %d orphans, %d duplicates\n", KILLS,
           o.vlive, o.hlive, o.missing, o.orphans, o.dups);
}

static void t_crash_clean_stop(void)
{
    if (!A.syncer)
        return;
    CHECK(syncer_alive(&A));
    int st = stop_syncer(&A, SIGTERM, 60000);
    printf("# [crash] syncer stopped on SIGTERM: wait status %d\n", st);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (!(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0))
        show_log_tail(&A);
    teardown_site(&A);
}

/* ---- phase 2: the host API server goes away and comes back ---- */

static void t_host2_setup(void)
{
    snprintf(HOST2, sizeof HOST2, "/tmp/vc-crash-host-XXXXXX");
    CHECK(mkdtemp(HOST2) != NULL);
    char cmd[800], kc[512];
    snprintf(cmd, sizeof cmd, "'%s' up --state '%s' --nodes 3 >&2", hostcluster_path(), HOST2);
    host2_up = true; /* a half-started cluster is stopped too */
    if (run_cmd(cmd, NULL, 0) != 0) {
        CHECK(!"could not start a dedicated host cluster");
        return;
    }
    snprintf(cmd, sizeof cmd, "'%s' kubeconfig --state '%s'", hostcluster_path(), HOST2);
    CHECK_INT(run_cmd(cmd, kc, sizeof kc), 0);
    CHECK_INT(site_up(&B, kc, "vch"), 0);
}

/* The daemon's health endpoint: connect to 127.0.0.1:port. */
static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* GET path; the whole answer into out within deadline_ms, or "" */
static void http_get(int port, const char *path, int deadline_ms, char *out, size_t cap)
{
    out[0] = '\0';
    int fd = tcp_connect(port);
    if (fd < 0)
        return;
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return;
    }
    size_t got = 0;
    int64_t end = now_ms() + deadline_ms;
    while (got + 1 < cap && now_ms() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, out + got, cap - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
}

#define HEALTH_PORT 18480
#define SILENT_CONNS 24

static void t_host2_converge_burst(void)
{
    if (!B.tr)
        return;
    /* with its health endpoint on, and a crowd of clients that connect and
     * say nothing (each used to stall the sync loop for up to 1 s) */
    static const char *const listen_on[] = { "--listen", "127.0.0.1:18480", NULL };
    CHECK(spawn_syncer(&B, listen_on) > 0);
    int silent[SILENT_CONNS];
    static char ans[1 << 20]; /* /metrics: every controller's and request's families */
    for (int tries = 0; tries < 50; tries++) {
        http_get(HEALTH_PORT, "/healthz", 2000, ans, sizeof ans);
        if (strstr(ans, "200 OK"))
            break;
        sleep_ms(200);
    }
    CHECK(strstr(ans, "200 OK") != NULL);
    for (int i = 0; i < SILENT_CONNS; i++)
        silent[i] = tcp_connect(HEALTH_PORT);
    http_get(HEALTH_PORT, "/healthz", 5000, ans, sizeof ans);
    CHECK(strstr(ans, "200 OK") && strstr(ans, "ok"));
    http_get(HEALTH_PORT, "/metrics", 5000, ans, sizeof ans);
    CHECK(strstr(ans, "vcluster_syncer_reconciles_total") != NULL);
    CHECK(strstr(ans, "vcluster_syncer_errors_total{reason=\"host_refused\"}") != NULL);
    CHECK_INT(create_burst(&B, BURST), VC_OK);
    snap o;
    bool ok = wait_converged(&B, BURST, BURST, 300000, &o);
    CHECK(ok);
    check_converged(&B, &o, BURST);
    for (int i = 0; i < SILENT_CONNS; i++)
        if (silent[i] >= 0)
            close(silent[i]);
}

static void delete_some_virtual_pods(site *s, int n)
{
    json_t *l = kget(s->V, "/api/v1/namespaces/" VNS "/pods?labelSelector=app%3D" APP);
    size_t i;
    json_t *it;
    int done = 0;
    json_array_foreach(json_object_get(l, "items"), i, it) {
        if (done >= n)
            break;
        if (is_deleting(it))
            continue;
        char path[300];
        snprintf(path, sizeof path, "/api/v1/namespaces/" VNS "/pods/%s", vc__jpath_str(it, "metadata", "name"));
        if (vc_kube_request(s->V, NULL, NULL, "DELETE", path, NULL, NULL) == VC_OK)
            done++;
    }
    json_decref(l);
    printf("# [host-restart] deleted %d virtual pods while the host API server was down\n", done);
    CHECK_INT(done, n);
}

static int host2_replicas;

static void host2_restart_round(int round)
{
    /* odd rounds scale down, even rounds back up: the host API server goes
     * away in the middle of deletions, then of creations */
    int from = round % 2 ? BURST : SCALED, to = round % 2 ? SCALED : BURST;
    CHECK_INT(scale_burst(&B, to), VC_OK);
    host2_replicas = to;
    /* mid-run: the first host changes are through */
    int64_t end = now_ms() + 120000;
    int n = from;
    while (now_ms() < end && ((n = host_app_pods(&B)) == from))
        sleep_ms(20);
    proc_cmd *cmd = calloc(1, sizeof *cmd);
    CHECK(cmd != NULL);
    if (!cmd)
        return;
    int rc = kill_apiserver(HOST2, cmd);
    printf("# [host-restart] round %d: host kube-apiserver killed with %d live host pods (scaling %d -> %d)\n", round,
           n, from, to);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        /* changes inside while the host is away: deletions and their replacements */
        delete_some_virtual_pods(&B, DELETED_WHILE_DOWN);
        sleep_ms(5000);
        CHECK(syncer_alive(&B));
        CHECK_INT(start_apiserver(HOST2, cmd), 0);
        CHECK(wait_readyz(B.H, 180000));
    }
    free(cmd);
    snap o;
    bool ok = wait_converged(&B, to, to, 600000, &o);
    CHECK(ok);
    check_converged(&B, &o, to);
    char sc[600];
    snprintf(sc, sizeof sc, "'%s' status --state '%s' >&2", hostcluster_path(), HOST2);
    CHECK_INT(run_cmd(sc, NULL, 0), 0); /* the harness sees the restarted server as its own */
}

static void t_host2_apiserver_restart(void)
{
    if (!B.syncer)
        return;
    for (int r = 1; r <= RESTARTS; r++)
        host2_restart_round(r);
}

/* The host quota filled (creations refused: Warning events inside, the
 * writes back off) and released: everything converges. */
static bool quota_warned(void)
{
    json_t *l = kget(B.V, "/api/v1/namespaces/" VNS "/events?fieldSelector=reason%3DSyncError");
    bool ok = false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(l, "items"), i, e) {
        ok = ok || (vc__jstr(e, "message") && strstr(vc__jstr(e, "message"), "exceeded quota"));
    }
    json_decref(l);
    return ok;
}

static void t_host2_quota_filled_released(void)
{
    if (!B.syncer)
        return;
    char path[300], body[300];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", B.hns);
    json_t *l = kget(B.H, path);
    size_t have = json_array_size(json_object_get(l, "items"));
    json_decref(l);
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":\"full\"},"
             "\"spec\":{\"hard\":{\"pods\":\"%zu\"}}}", have);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/resourcequotas", B.hns);
    CHECK_INT(kcreate(B.H, path, body), VC_OK);
    /* the quota controller counts first (admission enforces what it wrote) */
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/resourcequotas/full", B.hns);
    bool counted = false;
    for (int64_t end = now_ms() + 60000; !counted && now_ms() < end;) {
        json_t *q = kget(B.H, path);
        counted = vc__jpath_str(json_object_get(q, "status"), "used", "pods") != NULL;
        json_decref(q);
        if (!counted)
            sleep_ms(250);
    }
    CHECK(counted);
    sleep_ms(1000); /* and the API server's quota cache has seen it */
    int want = host2_replicas + QUOTA_EXTRA;
    CHECK_INT(scale_burst(&B, want), VC_OK);
    int64_t end = now_ms() + 120000;
    bool warned = false;
    while (!(warned = quota_warned()) && now_ms() < end)
        sleep_ms(500);
    CHECK(warned);
    int n = host_app_pods(&B);
    printf("# [quota] host quota full at %zu pods: %d app pods on the host for %d wanted\n", have, n, want);
    CHECK(n <= host2_replicas);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/resourcequotas/full", B.hns);
    CHECK_INT(vc_kube_request(B.H, NULL, NULL, "DELETE", path, NULL, NULL), VC_OK);
    snap o;
    bool ok = wait_converged(&B, want, want, 600000, &o);
    CHECK(ok);
    check_converged(&B, &o, want);
    host2_replicas = want;
}

static void t_host2_clean_stop(void)
{
    if (!B.syncer)
        return;
    int st = stop_syncer(&B, SIGTERM, 60000);
    printf("# [host-restart] syncer stopped on SIGTERM: wait status %d\n", st);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (!(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0))
        show_log_tail(&B);
    teardown_site(&B);
    down_host2();
}

int main(void)
{
    itest_kubeconfig(); /* exits: 77 with VC_SKIP_CLUSTER=1, else FAIL without a host */
    SYNCER_BIN = getenv("VC_SYNCER_BIN");
    if (!SYNCER_BIN || access(SYNCER_BIN, X_OK) != 0) {
        fprintf(stderr, "FAIL: VC_SYNCER_BIN (%s) is not an executable vcluster-syncer; meson sets it\n",
                SYNCER_BIN ? SYNCER_BIN : "unset");
        return 1;
    }
    snprintf(WORK, sizeof WORK, "/tmp/vc-crash-logs-XXXXXX");
    if (!mkdtemp(WORK)) {
        perror("mkdtemp");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    vc_global_init(NULL);
    const char *mode = getenv("VC_RELIABILITY");
    if (mode && !strcmp(mode, "long")) {
        BURST = 1000;
        SCALED = 250;
        KILLS = 20;
        RESTARTS = 5;
    }
    SEED = getenv("VC_RELIABILITY_SEED") ? (unsigned)strtoul(getenv("VC_RELIABILITY_SEED"), NULL, 10)
                                          : (unsigned)time(NULL);
    printf("# reliability: %s mode, %d pods, %d kills, %d host API server restarts, seed %u "
           "(VC_RELIABILITY_SEED=%u repeats the churn)\n",
           mode && !strcmp(mode, "long") ? "long" : "short", BURST, KILLS, RESTARTS, SEED, SEED);

    RUN(t_crash_setup);
    RUN(t_crash_first_run);
    RUN(t_crash_kill_halfway);
    RUN(t_crash_restart_converges);
    RUN(t_crash_churn_kills);
    RUN(t_crash_clean_stop);
    teardown_site(&A);

    RUN(t_host2_setup);
    RUN(t_host2_converge_burst);
    RUN(t_host2_apiserver_restart);
    RUN(t_host2_quota_filled_released);
    RUN(t_host2_clean_stop);

    cleanup_all();
    if (!t_failures) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", WORK);
        run_cmd(cmd, NULL, 0);
    } else {
        printf("# syncer logs kept in %s\n", WORK);
    }
    vc_global_shutdown();
    TEST_DONE();
}

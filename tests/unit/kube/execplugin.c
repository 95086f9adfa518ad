/* Exec credential plugins on the event loop (issue 12, item 3): the plugin
 * runs beside the loop, so starting a request and running the loop with a
 * zero timeout never wait for it; the requests that need its credential
 * wait in the loop and go when it arrives, or fail with the plugin's
 * error. The blocking client still runs the plugin in the call. */
#include <poll.h>
#include <sys/stat.h>

#include "fakeserver.h"
#include "kube/kube.h"
#include "kube/loop.h"
#include "test.h"

static char dir[256];

/* A plugin that counts its runs in DIR/runs, sleeps `sleep_s`, and prints
 * the token "tok-<run>" expiring in `expires_s` seconds (0: 2099), or
 * fails with `fail_msg` on stderr. */
static char *plugin(const char *name, int sleep_s, int expires_s, const char *fail_msg)
{
    char *path = vc__sprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return path;
    fprintf(f, "#!/bin/sh\n"
               "n=$(cat '%s/runs' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '%s/runs'\n"
               "sleep %d\n",
            dir, dir, sleep_s);
    if (fail_msg) {
        fprintf(f, "echo '%s' >&2\nexit 2\n", fail_msg);
    } else {
        if (expires_s > 0)
            fprintf(f, "exp=$(date -u -d \"+%d sec\" +%%Y-%%m-%%dT%%H:%%M:%%SZ)\n", expires_s);
        else
            fprintf(f, "exp=2099-01-01T00:00:00Z\n");
        fprintf(f, "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                   "\"status\":{\"token\":\"tok-'$n'\",\"expirationTimestamp\":\"'$exp'\"}}'\n");
    }
    fclose(f);
    chmod(path, 0755);
    return path;
}

static int runs(void)
{
    char p[300];
    snprintf(p, sizeof p, "%s/runs", dir);
    FILE *f = fopen(p, "r");
    int n = 0;
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = 0;
        fclose(f);
    }
    return n;
}

static void reset_runs(void)
{
    char p[300];
    snprintf(p, sizeof p, "%s/runs", dir);
    unlink(p);
}

static vc_kube *client_for(fakeserver *f, const char *plugin_path)
{
    char kc[1024];
    snprintf(kc, sizeof kc,
             "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:%d'}}]\n"
             "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: '%s'}}}]\n"
             "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
             f->port, plugin_path);
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig_data = kc;
    o.max_retries = 0;
    o.timeout_ms = 10000;
    o.qps = -1;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &o) < 0)
        fprintf(stderr, "kube: %s\n", vc_error_last()->message);
    return k;
}

#define OKBODY "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}"

typedef struct req {
    int rc; /* 1: pending */
    long http;
    char msg[512];
} req;

static void req_cb(void *ud, int rc, long http, const char *body, size_t len)
{
    (void)body;
    (void)len;
    req *r = ud;
    r->rc = rc;
    r->http = http;
    snprintf(r->msg, sizeof r->msg, "%s", rc < 0 ? vc_error_last()->message : "");
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Runs the loop as an embedding caller does (poll the fd up to the loop's
 * timeout, then run(0)) until done() or timeout; returns the longest
 * run(0) in microseconds. */
static int64_t drive(vc__kloop *l, bool (*done)(void *), void *ud, int timeout_ms)
{
    int64_t longest = 0, end = vc__now_ms() + timeout_ms;
    while (!done(ud) && vc__now_ms() < end) {
        int64_t t = vc__kloop_timeout(l);
        struct pollfd p = { vc__kloop_fd(l), POLLIN, 0 };
        poll(&p, 1, t < 0 || t > 50 ? 50 : (int)t);
        int64_t a = now_us();
        vc__kloop_run(l, 0, NULL);
        int64_t us = now_us() - a;
        if (us > longest)
            longest = us;
    }
    return longest;
}

static bool req_done(void *ud)
{
    return ((req *)ud)->rc != 1;
}

typedef struct two {
    req *r;
    vc__watch *w;
    int erc;
} two;

static bool both_done(void *ud)
{
    two *t = ud;
    return t->r->rc != 1 && (vc__watch_queued(t->w) > 0 || vc__watch_ended(t->w, &t->erc));
}

/* A plugin that takes 2 s: starting the request and every run(0) return at
 * once; the request and a watch started meanwhile share one plugin run and
 * go with its token when it arrives. */
static void t_plugin_runs_beside_the_loop(void)
{
    /* one answer that does for both (the fake server takes one connection
     * at a time, in the order they come) */
    static const fs_resp s[] = {
        { 200, "Connection: close\r\n",
          { "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"5\"}}}\n", NULL }, 0 },
    };
    reset_runs();
    char *pl = plugin("slow.sh", 2, 0, NULL);
    fakeserver f;
    fs_start(&f, s, 1);
    vc_kube *k = client_for(&f, pl);
    vc__kloop *l = NULL;
    CHECK_INT(vc__kloop_new(&l), VC_OK);
    req r = { 1, 0, "" };
    int64_t t0 = vc__now_ms();
    int64_t a = now_us();
    CHECK_INT(vc__kreq_start(l, k, "GET", "/api/v1/namespaces/d/configmaps/x", NULL, NULL, 0, 0, req_cb, &r), VC_OK);
    int64_t start_us = now_us() - a;
    vc__watch *w = NULL;
    vc__kres res = { "v1", "pods", "d", NULL, NULL };
    a = now_us();
    CHECK_INT(vc__watch_start(&w, l, k, &res, NULL), VC_OK);
    int64_t wstart_us = now_us() - a;
    printf("# kreq_start %lld us, watch_start %lld us\n", (long long)start_us, (long long)wstart_us);
    /* starting the plugin costs a posix_spawn (the parent waits for the
     * child's exec, milliseconds on a loaded machine), never its run time */
    CHECK(start_us < 100000);
    CHECK(wstart_us < 100000);
    /* while the plugin runs: the loop asks to be woken for its deadline */
    int64_t tmo = vc__kloop_timeout(l);
    CHECK(tmo >= 0 && tmo <= 60000);
    two t = { &r, w, 0 };
    int64_t longest = 0;
    if (w)
        longest = drive(l, both_done, &t, 15000);
    printf("# longest run(0) while the plugin ran: %lld us\n", (long long)longest);
    CHECK(longest < 10000); /* the plugin takes 2,000,000 */
    CHECK_INT(r.rc, VC_OK);
    CHECK_INT(r.http, 200);
    CHECK(vc__now_ms() - t0 >= 1900); /* it did wait for the plugin */
    CHECK_STR(f.last_auth, "Bearer tok-1");
    CHECK_INT(runs(), 1);
    if (w) {
        const char *type;
        json_t *obj = NULL;
        CHECK_INT(vc__watch_next(w, &type, &obj), VC_OK);
        CHECK_STR(type, "ADDED");
        json_decref(obj);
        vc__watch_free(w);
    }
    /* the credential is cached: the next request does not wait */
    req r2 = { 1, 0, "" };
    CHECK_INT(vc__kreq_start(l, k, "GET", "/api/v1/namespaces/d/configmaps/x", NULL, NULL, 0, 0, req_cb, &r2), VC_OK);
    t0 = vc__now_ms();
    drive(l, req_done, &r2, 5000);
    CHECK_INT(r2.rc, VC_OK);
    CHECK(vc__now_ms() - t0 < 1500);
    CHECK_INT(runs(), 1);
    vc__kloop_free(l);
    vc_kube_free(k);
    fs_stop(&f);
    vc__free(pl);
}

/* A failing plugin: the waiting request and watch end with its error (the
 * request's own "GET URL" in front), no request reaches the server. */
static void t_plugin_error_on_the_requests(void)
{
    static const fs_resp s[] = { { 200, NULL, { OKBODY }, 0 } };
    reset_runs();
    char *pl = plugin("fail.sh", 1, 0, "login required: run mycloud login");
    fakeserver f;
    fs_start(&f, s, 1);
    vc_kube *k = client_for(&f, pl);
    vc__kloop *l = NULL;
    CHECK_INT(vc__kloop_new(&l), VC_OK);
    req r = { 1, 0, "" };
    CHECK_INT(vc__kreq_start(l, k, "GET", "/api/v1/namespaces/d/configmaps/x", NULL, NULL, 0, 0, req_cb, &r), VC_OK);
    vc__watch *w = NULL;
    vc__kres res = { "v1", "pods", "d", NULL, NULL };
    CHECK_INT(vc__watch_start(&w, l, k, &res, NULL), VC_OK);
    two t = { &r, w, 0 };
    int64_t longest = w ? drive(l, both_done, &t, 15000) : 0;
    CHECK(longest < 10000);
    CHECK_INT(r.rc, VC_EAUTH);
    CHECK_CONTAINS(r.msg, "login required: run mycloud login");
    CHECK_CONTAINS(r.msg, "GET http://127.0.0.1:");
    CHECK_INT(t.erc, VC_EAUTH);
    CHECK_INT(f.served, 0);
    vc__watch_free(w);
    /* a plugin that cannot start fails at once */
    vc_kube_free(k);
    k = client_for(&f, "/nonexistent/plugin-xyz");
    req r3 = { 1, 0, "" };
    CHECK_INT(vc__kreq_start(l, k, "GET", "/api/v1/namespaces/d/configmaps/x", NULL, NULL, 0, 0, req_cb, &r3), VC_EAUTH);
    CHECK_CONTAINS(vc_error_last()->message, "plugin-xyz");
    vc__kloop_free(l);
    vc_kube_free(k);
    fs_stop(&f);
    vc__free(pl);
}

/* A credential that expires within a minute is refreshed ahead: requests
 * keep going with it while the plugin runs again. */
static void t_refresh_ahead(void)
{
    static const fs_resp s[] = { { 200, NULL, { OKBODY }, 0 } };
    reset_runs();
    char *pl = plugin("soon.sh", 1, 30, NULL);
    fakeserver f;
    fs_start(&f, s, 1);
    vc_kube *k = client_for(&f, pl);
    vc__kloop *l = NULL;
    CHECK_INT(vc__kloop_new(&l), VC_OK);
    req r = { 1, 0, "" };
    CHECK_INT(vc__kreq_start(l, k, "GET", "/api/v1/namespaces/d/configmaps/x", NULL, NULL, 0, 0, req_cb, &r), VC_OK);
    drive(l, req_done, &r, 10000);
    CHECK_INT(r.rc, VC_OK);
    CHECK_STR(f.last_auth, "Bearer tok-1");
    /* tok-1 expires in 30 s: this request goes with it at once and starts
     * the plugin again in the background */
    req r2 = { 1, 0, "" };
    int64_t t0 = vc__now_ms();
    CHECK_INT(vc__kreq_start(l, k, "GET", "/api/v1/namespaces/d/configmaps/x", NULL, NULL, 0, 0, req_cb, &r2), VC_OK);
    drive(l, req_done, &r2, 10000);
    CHECK_INT(r2.rc, VC_OK);
    CHECK(vc__now_ms() - t0 < 900);
    CHECK_STR(f.last_auth, "Bearer tok-1");
    /* the refreshed credential arrives and is used */
    int64_t end = vc__now_ms() + 10000;
    while (vc__kloop_timeout(l) >= 0 && vc__now_ms() < end)
        vc__kloop_run(l, 50, NULL);
    CHECK_INT(runs(), 2);
    req r3 = { 1, 0, "" };
    CHECK_INT(vc__kreq_start(l, k, "GET", "/api/v1/namespaces/d/configmaps/x", NULL, NULL, 0, 0, req_cb, &r3), VC_OK);
    drive(l, req_done, &r3, 10000);
    CHECK_INT(r3.rc, VC_OK);
    CHECK_STR(f.last_auth, "Bearer tok-2");
    vc__kloop_free(l);
    vc_kube_free(k);
    fs_stop(&f);
    vc__free(pl);
}

/* The blocking client runs the plugin in the call, as before; freeing a
 * loop while a plugin runs kills it (no leak, no zombie wait). */
static void t_blocking_and_free(void)
{
    static const fs_resp s[] = { { 200, NULL, { OKBODY }, 0 } };
    reset_runs();
    char *pl = plugin("quick.sh", 0, 0, NULL);
    fakeserver f;
    fs_start(&f, s, 1);
    vc_kube *k = client_for(&f, pl);
    vc_buf b = VC_BUF_INIT;
    int32_t http = 0;
    CHECK_INT(vc_kube_request(k, &b, &http, "GET", "/api/v1/namespaces/d/configmaps/x", NULL, NULL), VC_OK);
    CHECK_INT(http, 200);
    CHECK_STR(f.last_auth, "Bearer tok-1");
    vc_buf_dispose(&b);
    vc_kube_free(k);
    char *slow = plugin("slower.sh", 30, 0, NULL);
    k = client_for(&f, slow);
    vc__kloop *l = NULL;
    CHECK_INT(vc__kloop_new(&l), VC_OK);
    req r = { 1, 0, "" };
    CHECK_INT(vc__kreq_start(l, k, "GET", "/api/v1/namespaces/d/configmaps/x", NULL, NULL, 0, 0, req_cb, &r), VC_OK);
    vc__kloop_run(l, 100, NULL);
    int64_t t0 = vc__now_ms();
    vc__kloop_free(l);
    CHECK(vc__now_ms() - t0 < 5000);
    CHECK_INT(r.rc, 1); /* cancelled: no callback */
    vc_kube_free(k);
    fs_stop(&f);
    vc__free(pl);
    vc__free(slow);
}

int main(void)
{
    vc_global_init(NULL);
    snprintf(dir, sizeof dir, "/tmp/vc-execplugin-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(t_plugin_runs_beside_the_loop);
    RUN(t_plugin_error_on_the_requests);
    RUN(t_refresh_ahead);
    RUN(t_blocking_and_free);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    vc_global_shutdown();
    TEST_DONE();
}

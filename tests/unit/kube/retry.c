/* Error paths of the client against a scripted loopback server: retries on
 * 429/5xx honouring Retry-After, no retry of a non-idempotent request after a
 * broken connection, timeouts, invalid JSON, and watch-stream framing. */
#include "fakeserver.h"
#include "kube/kube.h"
#include "kube/loop.h"
#include "test.h"

static vc_kube *client_for(fakeserver *f, int retries, int timeout_ms)
{
    char kc[512];
    snprintf(kc, sizeof kc,
             "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:%d'}}]\n"
             "users: [{name: u, user: {token: t0k}}]\n"
             "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
             f->port);
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig_data = kc;
    o.max_retries = retries;
    o.timeout_ms = timeout_ms;
    o.qps = -1;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &o) < 0)
        return NULL;
    return k;
}

#define OKBODY "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}"
#define STATUS(code, reason, msg) \
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"" msg "\",\"reason\":\"" reason "\",\"code\":" #code "}"

static void t_retry_after_429(void)
{
    static const fs_resp s[] = {
        { 429, "Retry-After: 1\r\n", { STATUS(429, "TooManyRequests", "slow down") }, 0 },
        { 200, NULL, { OKBODY }, 0 },
    };
    fakeserver f;
    fs_start(&f, s, 2);
    vc_kube *k = client_for(&f, 3, 10000);
    int64_t t0 = vc__now_ms();
    vc__kres r = { "v1", "configmaps", "d", "x", NULL };
    json_t *o = NULL;
    CHECK_INT(vc__kube_get(k, &r, &o), VC_OK);
    CHECK(vc__now_ms() - t0 >= 990);
    CHECK_INT(f.served, 2);
    CHECK_STR(f.last_request, "GET /api/v1/namespaces/d/configmaps/x HTTP/1.1");
    json_decref(o);
    vc_kube_free(k);
    fs_stop(&f);
}

static void t_retry_5xx_then_give_up(void)
{
    static const fs_resp s[] = {
        { 503, NULL, { STATUS(503, "ServiceUnavailable", "apiserver is shutting down") }, 0 },
    };
    fakeserver f;
    fs_start(&f, s, 1);
    vc_kube *k = client_for(&f, 2, 10000);
    vc__kres r = { "v1", "configmaps", "d", "x", NULL };
    CHECK_INT(vc__kube_get(k, &r, NULL), VC_EAPI);
    CHECK_INT(f.served, 3);
    CHECK_INT(vc_error_last()->http_status, 503);
    CHECK_CONTAINS(vc_error_last()->message, "apiserver is shutting down (HTTP 503 ServiceUnavailable)");
    vc_kube_free(k);
    fs_stop(&f);
}

static void t_500_not_retried(void)
{
    static const fs_resp s[] = {
        { 500, NULL, { STATUS(500, "InternalError", "boom") }, 0 },
        { 200, NULL, { OKBODY }, 0 },
    };
    fakeserver f;
    fs_start(&f, s, 2);
    vc_kube *k = client_for(&f, 3, 10000);
    vc__kres r = { "v1", "configmaps", "d", "x", NULL };
    CHECK_INT(vc__kube_get(k, &r, NULL), VC_EAPI);
    CHECK_INT(f.served, 1);
    vc_kube_free(k);
    fs_stop(&f);
}

static void t_broken_connection(void)
{
    static const fs_resp s[] = {
        { 0, NULL, { NULL }, 0 }, /* hang up */
        { 200, NULL, { OKBODY }, 0 },
    };
    fakeserver f;
    fs_start(&f, s, 2);
    vc_kube *k = client_for(&f, 3, 10000);
    vc__kres r = { "v1", "configmaps", "d", "x", NULL };
    CHECK_INT(vc__kube_get(k, &r, NULL), VC_OK); /* GET is retried */
    CHECK_INT(f.served, 2);
    vc_kube_free(k);
    fs_stop(&f);

    fs_start(&f, s, 2);
    k = client_for(&f, 3, 10000);
    json_t *obj = json_pack("{s:s}", "kind", "ConfigMap");
    CHECK_INT(vc__kube_create(k, &r, obj, NULL), VC_ECONNECT); /* POST is not */
    CHECK_INT(f.served, 1);
    CHECK_CONTAINS(vc_error_last()->message, "POST http://127.0.0.1:");
    json_decref(obj);
    vc_kube_free(k);
    fs_stop(&f);
}

static void t_timeout_and_bad_json(void)
{
    static const fs_resp slow[] = { { 200, NULL, { OKBODY }, 1500 } };
    fakeserver f;
    fs_start(&f, slow, 1);
    vc_kube *k = client_for(&f, 0, 300);
    vc__kres r = { "v1", "configmaps", "d", "x", NULL };
    int64_t t0 = vc__now_ms();
    CHECK_INT(vc__kube_get(k, &r, NULL), VC_ETIMEDOUT);
    CHECK(vc__now_ms() - t0 < 1400);
    CHECK_CONTAINS(vc_error_last()->message, "GET http://127.0.0.1:");
    vc_kube_free(k);
    fs_stop(&f);

    static const fs_resp bad[] = { { 200, NULL, { "{not json" }, 0 } };
    fs_start(&f, bad, 1);
    k = client_for(&f, 0, 3000);
    json_t *o = NULL;
    CHECK_INT(vc__kube_get(k, &r, &o), VC_EAPI);
    CHECK_CONTAINS(vc_error_last()->message, "invalid JSON");
    CHECK(o == NULL);
    vc_kube_free(k);
    fs_stop(&f);
}

static void t_watch_framing_and_410(void)
{
    static const fs_resp s[] = {
        { 200, NULL,
          { "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"5\"}}}\n{\"type\":\"MOD",
            "IFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"6\"}}}\n"
            "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":\"9\"}}}\n",
            "{\"type\":\"ERROR\",\"object\":" STATUS(410, "Expired", "too old resource version: 1 (9)") "}\n", NULL },
          0 },
    };
    fakeserver f;
    fs_start(&f, s, 1);
    vc_kube *k = client_for(&f, 0, 5000);
    vc__kloop *l = NULL;
    CHECK_INT(vc__kloop_new(&l), VC_OK);
    vc__watch *w = NULL;
    vc__kres r = { "v1", "pods", "d", NULL, NULL };
    vc__list_opts o = { 0 };
    o.resource_version = "1";
    o.allow_bookmarks = true;
    CHECK_INT(vc__watch_start(&w, l, k, &r, &o), VC_OK);
    CHECK(vc__kloop_fd(l) >= 0);
    const char *want[] = { "ADDED", "MODIFIED", "BOOKMARK" };
    int got = 0, erc = 0;
    bool ended = false;
    int64_t deadline = vc__now_ms() + 5000;
    while (!ended && vc__now_ms() < deadline) {
        vc__kloop_run(l, 100, NULL);
        const char *type;
        json_t *obj;
        while (vc__watch_next(w, &type, &obj) == VC_OK) {
            if (got < 3)
                CHECK_STR(type, want[got]);
            got++;
            json_decref(obj);
        }
        ended = vc__watch_ended(w, &erc);
    }
    CHECK_INT(got, 3);
    CHECK(ended);
    CHECK_INT(erc, VC_EGONE);
    CHECK_STR(vc__watch_last_rv(w), "9");
    CHECK_STR(f.last_request, "GET /api/v1/namespaces/d/pods?resourceVersion=1&watch=true&allowWatchBookmarks=true HTTP/1.1");
    vc__watch_free(w);

    /* an HTTP-level 410 on the watch request itself */
    static const fs_resp s2[] = { { 410, NULL, { STATUS(410, "Expired", "too old") }, 0 } };
    vc_kube_free(k);
    fs_stop(&f);
    fs_start(&f, s2, 1);
    k = client_for(&f, 0, 5000);
    CHECK_INT(vc__watch_start(&w, l, k, &r, &o), VC_OK);
    ended = false;
    deadline = vc__now_ms() + 5000;
    while (!ended && vc__now_ms() < deadline) {
        vc__kloop_run(l, 100, NULL);
        ended = vc__watch_ended(w, &erc);
    }
    CHECK(ended);
    CHECK_INT(erc, VC_EGONE);
    vc__watch_free(w);
    /* the async request path reports statuses too */
    vc__kloop_free(l);
    vc_kube_free(k);
    fs_stop(&f);
}

static int cb_rc = 1;
static long cb_http;
static void req_cb(void *ud, int rc, long http, const char *body, size_t len)
{
    (void)ud;
    (void)body;
    (void)len;
    cb_rc = rc;
    cb_http = http;
}

static void t_async_request(void)
{
    static const fs_resp s[] = { { 409, NULL, { STATUS(409, "AlreadyExists", "configmaps \\\"x\\\" already exists") }, 0 } };
    fakeserver f;
    fs_start(&f, s, 1);
    vc_kube *k = client_for(&f, 0, 5000);
    vc__kloop *l = NULL;
    CHECK_INT(vc__kloop_new(&l), VC_OK);
    CHECK_INT(vc__kreq_start(l, k, "POST", "/api/v1/namespaces/d/configmaps", NULL, "{}", 2, 0, req_cb, NULL), VC_OK);
    int64_t deadline = vc__now_ms() + 5000;
    while (cb_rc == 1 && vc__now_ms() < deadline)
        vc__kloop_run(l, 100, NULL);
    CHECK_INT(cb_rc, VC_EEXISTS);
    CHECK_INT(cb_http, 409);
    /* wakeup is seen by the next run */
    bool woken = false;
    vc__kloop_wakeup(l);
    vc__kloop_run(l, 1000, &woken);
    CHECK(woken);
    /* run(0) never blocks */
    int64_t t0 = vc__now_ms();
    vc__kloop_run(l, 0, NULL);
    CHECK(vc__now_ms() - t0 < 50);
    vc__kloop_free(l);
    vc_kube_free(k);
    fs_stop(&f);
}

int main(void)
{
    vc_global_init(NULL);
    RUN(t_retry_after_429);
    RUN(t_retry_5xx_then_give_up);
    RUN(t_500_not_retried);
    RUN(t_broken_connection);
    RUN(t_timeout_and_bad_json);
    RUN(t_watch_framing_and_410);
    RUN(t_async_request);
    vc_global_shutdown();
    TEST_DONE();
}

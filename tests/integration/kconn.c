/* Raw upgradeable connections (src/kube/kconn.c) against a real
 * kube-apiserver: GET /version read to EOF, a 404 and a 403 with their
 * Status bodies, a POST with a body, and SPDY and WebSocket upgrade
 * requests to pods/exec of a kwok pod (no kubelet behind it, so the server
 * answers with an error status instead of 101). */
#include <poll.h>

#include "itest.h"
#include "kube/kube.h"

static const char *KC;
static vc_kube *K;
static char NS[64];

static vc_kube *connect_kc(const char *data)
{
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    if (data)
        o.kubeconfig_data = data;
    else
        o.kubeconfig = KC;
    o.qps = -1;
    o.timeout_ms = 20000;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &o) < 0) {
        fprintf(stderr, "connect: %s\n", vc_error_last()->message);
        return NULL;
    }
    return k;
}

/* Read the rest of the connection until EOF (the requests say Connection: close). */
static char *read_all(vc__kconn *c)
{
    vc_buf b = VC_BUF_INIT;
    char tmp[4096];
    for (;;) {
        ssize_t n = vc__kconn_read(c, tmp, sizeof tmp, 10000);
        if (n <= 0) {
            CHECK(n == 0);
            break;
        }
        vc__buf_put(&b, tmp, (size_t)n);
    }
    if (!b.ptr)
        vc__buf_set(&b, "");
    return vc__buf_detach(&b);
}

static void t_version(void)
{
    vc__kconn *c = NULL;
    int st = 0;
    char *h = NULL;
    CHECK_INT(vc__kconn_open(K, "GET", "/version", "Connection: close\r\nAccept: application/json", NULL, 0, 10000, &c,
                             &st, &h),
              VC_OK);
    CHECK_INT(st, 200);
    CHECK(h && !strncmp(h, "HTTP/1.1 200", 12));
    CHECK(h && strlen(h) >= 4 && !strcmp(h + strlen(h) - 4, "\r\n\r\n"));
    CHECK(vc__kconn_fd(c) >= 0);
    char *body = c ? read_all(c) : NULL;
    CHECK_CONTAINS(body, "\"gitVersion\"");
    /* after EOF, reads keep saying EOF */
    char x;
    CHECK_INT(c ? vc__kconn_read(c, &x, 1, 0) : -1, 0);
    vc__free(body);
    vc__free(h);
    vc__kconn_close(c);
    vc__kconn_close(NULL);
}

static void t_keepalive_timeout(void)
{
    /* Without Connection: close the server keeps the connection: a read
     * after the body times out with VC__EAGAIN, without an error. */
    vc__kconn *c = NULL;
    int st = 0;
    char *h = NULL;
    CHECK_INT(vc__kconn_open(K, "GET", "/healthz", NULL, NULL, 0, 10000, &c, &st, &h), VC_OK);
    CHECK_INT(st, 200);
    CHECK_CONTAINS(h, "Content-Length: 2");
    char buf[16];
    size_t got = 0;
    while (got < 2) {
        ssize_t n = vc__kconn_read(c, buf + got, sizeof buf - got, 5000);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    CHECK_INT(got, 2);
    CHECK(!memcmp(buf, "ok", 2));
    vc_error_clear();
    int64_t t0 = vc__now_ms();
    CHECK_INT(vc__kconn_read(c, buf, sizeof buf, 300), VC__EAGAIN);
    CHECK(vc__now_ms() - t0 >= 250);
    CHECK_INT(vc__kconn_read(c, buf, sizeof buf, 0), VC__EAGAIN);
    CHECK_INT(vc_error_last()->code, VC_OK);
    vc__free(h);
    vc__kconn_close(c);
}

static void t_not_found(void)
{
    vc__kconn *c = NULL;
    int st = 0;
    char *h = NULL;
    CHECK_INT(vc__kconn_open(K, "GET", "/api/v1/namespaces/default/pods/no-such-pod-kconn/log",
                             "Connection: close", NULL, 0, 10000, &c, &st, &h),
              VC_OK);
    CHECK_INT(st, 404);
    char *body = c ? read_all(c) : NULL;
    CHECK_CONTAINS(body, "\"kind\":\"Status\"");
    CHECK_CONTAINS(body, "NotFound");
    vc__free(body);
    vc__free(h);
    vc__kconn_close(c);
}

static void t_post_body(void)
{
    itest_name(NS, sizeof NS, "kconn");
    char *ns = vc__sprintf("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", NS);
    vc__kconn *c = NULL;
    int st = 0;
    CHECK_INT(vc__kconn_open(K, "POST", "/api/v1/namespaces", "Connection: close\r\nContent-Type: application/json\r\n",
                             ns, strlen(ns), 10000, &c, &st, NULL),
              VC_OK);
    CHECK_INT(st, 201);
    char *body = c ? read_all(c) : NULL;
    CHECK_CONTAINS(body, NS);
    vc__free(body);
    vc__free(ns);
    vc__kconn_close(c);
}

static char *token_of(const char *sa_name)
{
    vc__kres sar = { "v1", "serviceaccounts", NS, NULL, NULL };
    json_t *sa = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata", "name", sa_name);
    CHECK_INT(vc__kube_create(K, &sar, sa, NULL), VC_OK);
    json_decref(sa);
    vc__kres tr = { "v1", "serviceaccounts", NS, sa_name, "token" };
    json_t *treq = json_pack("{s:s,s:s,s:{}}", "apiVersion", "authentication.k8s.io/v1", "kind", "TokenRequest", "spec");
    json_t *tok = NULL;
    CHECK_INT(vc__kube_create(K, &tr, treq, &tok), VC_OK);
    json_decref(treq);
    const char *t = json_string_value(json_object_get(json_object_get(tok, "status"), "token"));
    char *r = vc__strdup(t ? t : "x");
    json_decref(tok);
    return r;
}

static void t_forbidden(void)
{
    char *token = token_of("nobody");
    char *ca = vc__base64_encode(K->cfg.ca_data, K->cfg.ca_len);
    char *kc = vc__sprintf("apiVersion: v1\nkind: Config\n"
                           "clusters: [{name: c, cluster: {server: '%s', certificate-authority-data: %s}}]\n"
                           "users: [{name: u, user: {token: '%s'}}]\n"
                           "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
                           K->cfg.server, ca, token);
    vc_kube *k2 = connect_kc(kc);
    CHECK(k2 != NULL);
    vc__kconn *c = NULL;
    int st = 0;
    char *path = vc__sprintf("/api/v1/namespaces/%s/pods/x/exec?command=true&stdout=true", NS);
    CHECK_INT(vc__kconn_open(k2, "POST", path,
                             "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io",
                             NULL, 0, 10000, &c, &st, NULL),
              VC_OK);
    CHECK_INT(st, 403);
    char *body = c ? read_all(c) : NULL;
    CHECK_CONTAINS(body, "Forbidden");
    CHECK_CONTAINS(body, "nobody");
    vc__free(body);
    vc__kconn_close(c);
    /* a token the server does not know: 401 */
    vc_kube_free(k2);
    vc__free(kc);
    kc = vc__sprintf("apiVersion: v1\nkind: Config\n"
                     "clusters: [{name: c, cluster: {server: '%s', certificate-authority-data: %s}}]\n"
                     "users: [{name: u, user: {token: 'garbage'}}]\n"
                     "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
                     K->cfg.server, ca);
    k2 = connect_kc(kc);
    c = NULL;
    CHECK_INT(vc__kconn_open(k2, "GET", "/version", "Connection: close", NULL, 0, 10000, &c, &st, NULL), VC_OK);
    CHECK_INT(st, 401);
    vc__kconn_close(c);
    vc_kube_free(k2);
    vc__free(kc);
    /* the wrong CA: a TLS error at open */
    kc = vc__sprintf("apiVersion: v1\nkind: Config\n"
                     "clusters: [{name: c, cluster: {server: '%s'}}]\n"
                     "users: [{name: u, user: {token: 'garbage'}}]\n"
                     "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
                     K->cfg.server);
    k2 = connect_kc(kc);
    c = NULL;
    int rc = vc__kconn_open(k2, "GET", "/version", NULL, NULL, 0, 5000, &c, &st, NULL);
    CHECK(rc == VC_ETLS || rc == VC_ECONNECT);
    CHECK(c == NULL);
    CHECK_CONTAINS(vc_error_last()->message, K->cfg.server);
    vc_kube_free(k2);
    vc__free(kc);
    vc__free(path);
    vc__free(ca);
    vc__free(token);
}

static void t_unreachable(void)
{
    vc_kube *k2 = connect_kc("apiVersion: v1\nkind: Config\n"
                             "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                             "users: [{name: u, user: {token: 'x'}}]\n"
                             "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n");
    vc__kconn *c = NULL;
    int st = 7;
    CHECK_INT(vc__kconn_open(k2, "GET", "/version", NULL, NULL, 0, 3000, &c, &st, NULL), VC_ECONNECT);
    CHECK_INT(st, 0);
    CHECK_INT(vc__kconn_open(k2, "GET", "no-slash", NULL, NULL, 0, 3000, &c, &st, NULL), VC_EINVAL);
    CHECK_INT(vc__kconn_open(k2, "GET", "/a\r\nX: y", NULL, NULL, 0, 3000, &c, &st, NULL), VC_EINVAL);
    vc_kube_free(k2);
}

static void t_exec_upgrade_kwok(void)
{
    /* a pod on a kwok node: Running, but no kubelet serves exec */
    json_t *nodes = NULL;
    vc__kres nr = { "v1", "nodes", NULL, NULL, NULL };
    CHECK_INT(vc__kube_list(K, &nr, NULL, &nodes), VC_OK);
    const char *node = json_string_value(
        json_object_get(json_object_get(json_array_get(json_object_get(nodes, "items"), 0), "metadata"), "name"));
    CHECK(node != NULL);
    vc__kres pr = { "v1", "pods", NS, NULL, NULL };
    json_t *pod = json_pack("{s:s,s:s,s:{s:s},s:{s:s?,s:[{s:s,s:s}]}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                            "name", "p", "spec", "nodeName", node, "containers", "name", "c", "image", "busybox");
    CHECK_INT(vc__kube_create(K, &pr, pod, NULL), VC_OK);
    json_decref(pod);
    json_decref(nodes);
    char *path = vc__sprintf("/api/v1/namespaces/%s/pods/p/exec?container=c&command=echo&command=hi&stdout=true", NS);
    /* SPDY, as the kube-apiserver's kubelet client and old kubectl speak it */
    vc__kconn *c = NULL;
    int st = 0;
    char *h = NULL;
    CHECK_INT(vc__kconn_open(K, "POST", path,
                             "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
                             "X-Stream-Protocol-Version: channel.k8s.io",
                             NULL, 0, 15000, &c, &st, &h),
              VC_OK);
    printf("# SPDY exec on a kwok pod: HTTP %d\n", st);
    CHECK(st >= 400 && st != 401 && st != 403 && st != 404);
    char *body = c ? read_all(c) : NULL;
    CHECK_CONTAINS(body, "\"kind\":\"Status\"");
    printf("# %s\n", body ? body : "");
    vc__free(body);
    vc__free(h);
    vc__kconn_close(c);
    /* WebSocket, as kubectl >= 1.30 speaks it */
    c = NULL;
    h = NULL;
    CHECK_INT(vc__kconn_open(K, "GET", path,
                             "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io",
                             NULL, 0, 15000, &c, &st, &h),
              VC_OK);
    printf("# WebSocket exec on a kwok pod: HTTP %d\n", st);
    CHECK(st >= 400 && st != 401 && st != 403 && st != 404);
    vc__free(h);
    vc__kconn_close(c);
    vc__free(path);
}

static void t_cleanup(void)
{
    vc__kres nsr = { "v1", "namespaces", NULL, NS, NULL };
    vc__delete_opts d = { "Background", -1, NULL, NULL };
    CHECK_INT(vc__kube_delete(K, &nsr, &d, NULL), VC_OK);
}

int main(void)
{
    KC = itest_kubeconfig();
    vc_global_init(NULL);
    K = connect_kc(NULL);
    if (!K)
        return 1;
    RUN(t_version);
    RUN(t_keepalive_timeout);
    RUN(t_not_found);
    RUN(t_unreachable);
    RUN(t_post_body);
    RUN(t_forbidden);
    RUN(t_exec_upgrade_kwok);
    RUN(t_cleanup);
    vc_kube_free(K);
    vc_global_shutdown();
    TEST_DONE();
}

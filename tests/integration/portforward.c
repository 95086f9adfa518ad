/* vc_port_forward_* against a real kube-apiserver with kwok nodes, through
 * the public API only. No kubelet runs behind a kwok node, so a forward to a
 * Running kwok pod must fail at the upgrade with the API server's own text
 * and HTTP status; a missing pod is VC_ENOTFOUND (404); a pod without a node
 * is refused (400); an unknown token is VC_EAUTH (401); bad
 * arguments are VC_EINVAL before any request. The real data path needs real
 * nodes: tests/integration/realnode_portforward.c. */
#include <stdbool.h>

#include "itest.h"

static const char *KC;
static vc_kube *K;
static char NS[64];

static vc_kube *connect_kc(const char *context)
{
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig = KC;
    o.context = context;
    o.qps = -1;
    o.timeout_ms = 20000;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &o) < 0) {
        fprintf(stderr, "connect: %s\n", vc_error_last()->message);
        return NULL;
    }
    return k;
}

static int req(const char *method, const char *path, const char *body, vc_buf *out)
{
    int32_t st = 0;
    return vc_kube_request(K, out, &st, method, path, body, NULL);
}

static void t_setup(void)
{
    itest_name(NS, sizeof NS, "pf");
    char body[512];
    snprintf(body, sizeof body, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", NS);
    CHECK_INT(req("POST", "/api/v1/namespaces", body, NULL), VC_OK);
    /* a pod bound to the first (kwok) node, and one bound to none */
    vc_buf nodes = VC_BUF_INIT;
    CHECK_INT(req("GET", "/api/v1/nodes", NULL, &nodes), VC_OK);
    const char *n = nodes.ptr ? strstr(nodes.ptr, "\"name\":\"") : NULL;
    char node[128] = "";
    if (n)
        sscanf(n + 8, "%127[^\"]", node);
    CHECK(node[0] != '\0');
    vc_buf_dispose(&nodes);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", NS);
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"onkwok\"},\"spec\":{\"nodeName\":\"%s\","
             "\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}",
             node);
    CHECK_INT(req("POST", path, body, NULL), VC_OK);
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nowhere\"},\"spec\":{"
             "\"schedulerName\":\"no-such-scheduler\",\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}");
    CHECK_INT(req("POST", path, body, NULL), VC_OK);
}

static void t_bad_args(void)
{
    vc_port_forward *pf = (vc_port_forward *)1;
    CHECK_INT(vc_port_forward_open(&pf, K, NS, "Bad_Name", 80, 5000), VC_EINVAL);
    CHECK(pf == NULL);
    CHECK_INT(vc_port_forward_open(&pf, K, NS, "x", 0, 5000), VC_EINVAL);
    CHECK_INT(vc_port_forward_open(&pf, NULL, NS, "x", 80, 5000), VC_EINVAL);
    CHECK_INT(vc_port_forward_cancel(NULL), VC_EINVAL);
    vc_port_forward_free(NULL);
}

static void t_missing_pod(void)
{
    vc_port_forward *pf = NULL;
    CHECK_INT(vc_port_forward_open(&pf, K, NS, "no-such-pod", 80, 10000), VC_ENOTFOUND);
    const vc_error *e = vc_error_last();
    CHECK_INT(e->http_status, 404);
    CHECK_CONTAINS(e->message, "port-forward to pod");
    CHECK_CONTAINS(e->message, "\"no-such-pod\" not found");
    printf("# missing pod: %s\n", e->message);
}

static void t_unscheduled_pod(void)
{
    vc_port_forward *pf = NULL;
    int rc = vc_port_forward_open(&pf, K, NS, "nowhere", 80, 10000);
    const vc_error *e = vc_error_last();
    printf("# unscheduled pod: rc %d, HTTP %d: %s\n", rc, e->http_status, e->message);
    CHECK_INT(rc, VC_EAPI);
    CHECK_INT(e->http_status, 400);
    CHECK_CONTAINS(e->message, "does not have a host assigned");
}

static void t_kwok_pod(void)
{
    /* wait for kwok to mark it Running (it then has a node and an IP) */
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/onkwok", NS);
    bool running = false;
    for (int i = 0; i < 100 && !running; i++) {
        vc_buf b = VC_BUF_INIT;
        if (req("GET", path, NULL, &b) == VC_OK && b.ptr && strstr(b.ptr, "\"phase\":\"Running\""))
            running = true;
        vc_buf_dispose(&b);
        if (!running)
            usleep(100000);
    }
    CHECK(running);
    vc_port_forward *pf = NULL;
    int rc = vc_port_forward_open(&pf, K, NS, "onkwok", 80, 15000);
    const vc_error *e = vc_error_last();
    printf("# kwok pod: rc %d (%s), HTTP %d: %s\n", rc, vc_strerror(rc), e->http_status, e->message);
    /* the API server could not reach a kubelet: its error, with its status */
    CHECK(rc < 0);
    CHECK(pf == NULL);
    CHECK(e->http_status >= 400 && e->http_status != 401 && e->http_status != 403 && e->http_status != 404);
    CHECK_CONTAINS(e->message, "port-forward to pod");
    CHECK_CONTAINS(e->message, "onkwok port 80");
    char http[32];
    snprintf(http, sizeof http, "(HTTP %d", e->http_status);
    CHECK_CONTAINS(e->message, http);
}

static void t_unauthorized(void)
{
    /* a user with no rights: the admin kubeconfig's CA and server, a token nobody knows */
    vc_buf b = VC_BUF_INIT;
    char *server = strdup(vc_kube_server(K));
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    char kc[1024];
    snprintf(kc, sizeof kc,
             "clusters: [{name: c, cluster: {server: '%s', insecure-skip-tls-verify: true}}]\n"
             "users: [{name: u, user: {token: not-a-token}}]\n"
             "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
             server);
    o.kubeconfig_data = kc;
    o.max_retries = 0;
    o.flags = VC_KUBE_NO_RETRY;
    vc_kube *anon = NULL;
    CHECK_INT(vc_kube_new(&anon, &o), VC_OK);
    vc_port_forward *pf = NULL;
    int rc = vc_port_forward_open(&pf, anon, NS, "onkwok", 80, 10000);
    printf("# bad token: rc %d, HTTP %d: %s\n", rc, vc_error_last()->http_status, vc_error_last()->message);
    CHECK(rc == VC_EAUTH || rc == VC_EFORBIDDEN);
    CHECK(vc_error_last()->http_status == 401 || vc_error_last()->http_status == 403);
    vc_kube_free(anon);
    free(server);
    vc_buf_dispose(&b);
}

static void t_cleanup(void)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", NS);
    CHECK_INT(req("DELETE", path, NULL, NULL), VC_OK);
}

int main(void)
{
    KC = itest_kubeconfig();
    vc_global_init(NULL);
    K = connect_kc(NULL);
    if (!K)
        return 1;
    RUN(t_setup);
    RUN(t_bad_args);
    RUN(t_missing_pod);
    RUN(t_unscheduled_pod);
    RUN(t_kwok_pod);
    RUN(t_unauthorized);
    RUN(t_cleanup);
    vc_kube_free(K);
    vc_global_shutdown();
    TEST_DONE();
}

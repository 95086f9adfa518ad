/* The kubelet proxy against a real host kube-apiserver (kwok nodes: no
 * kubelet behind the pods, so the host's answers are errors, which is what
 * this checks end to end): host pod lookup and ownership, 404 for missing,
 * unmanaged and foreign pods, logs relayed with the host's status and body,
 * SPDY exec answered 500 by the host and relayed, WebSocket exec upgraded
 * by the host (101) and the stream spliced to EOF, and a 403 from a host
 * identity without rights. The client side is vc__kconn with a client
 * certificate, as the virtual kube-apiserver would connect. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include "itest.h"
#include "kube/kube.h"
#include "pki/pki.h"

static const char *KC;
static vc_kube *K;
static char VC[64], HNS[80];
static char *CLIENT_C64, *CLIENT_K64; /* the client certificate and key for the proxy (base64 PEM) */

typedef struct server {
    int lfd, port;
    vc_kubelet_proxy *proxy;
    volatile int stop;
    pthread_t th;
} server;

static void *serve_one(void *ud)
{
    int *a = ud;
    vc_kubelet_proxy_serve((vc_kubelet_proxy *)*(void **)(a + 2), a[0]);
    close(a[0]);
    free(a);
    return NULL;
}

static void *accept_loop(void *ud)
{
    server *s = ud;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0 || s->stop) {
            if (fd >= 0)
                close(fd);
            break;
        }
        int *a = malloc(2 * sizeof(int) + sizeof(void *));
        a[0] = fd;
        *(void **)(a + 2) = s->proxy;
        pthread_t th;
        pthread_create(&th, NULL, serve_one, a);
        pthread_detach(th);
    }
    return NULL;
}

static void server_start(server *s, vc_kubelet_proxy *p)
{
    memset(s, 0, sizeof *s);
    s->proxy = p;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bind(s->lfd, (struct sockaddr *)&a, sizeof a);
    listen(s->lfd, 16);
    socklen_t al = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, accept_loop, s);
}

static void server_stop(server *s)
{
    s->stop = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    connect(fd, (struct sockaddr *)&a, sizeof a);
    close(fd);
    pthread_join(s->th, NULL);
    close(s->lfd);
    usleep(200000); /* detached connection threads finish */
}

static vc_kube *kube_from(const char *data, const char *path)
{
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig_data = data;
    o.kubeconfig = path;
    o.qps = -1;
    o.timeout_ms = 20000;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &o) < 0)
        fprintf(stderr, "connect: %s\n", vc_error_last()->message);
    return k;
}

static size_t LAST_LEN;

static char *read_body(vc__kconn *c, const char *h)
{
    vc_buf b = VC_BUF_INIT;
    char tmp[4096];
    const char *cl = h ? strcasestr(h, "\r\nContent-Length:") : NULL;
    long want = cl ? strtol(cl + 17, NULL, 10) : -1;
    for (;;) {
        if (want >= 0 && (long)b.size >= want)
            break;
        ssize_t n = vc__kconn_read(c, tmp, sizeof tmp, 15000);
        if (n <= 0) {
            CHECK(n == 0);
            break;
        }
        vc__buf_put(&b, tmp, (size_t)n);
    }
    if (!b.ptr)
        vc__buf_set(&b, "");
    LAST_LEN = b.size;
    return vc__buf_detach(&b);
}

/* One request to the proxy at `port`; returns the status, *body the body. */
static int ask(int port, const char *method, const char *path, const char *headers, char **head, char **body)
{
    char *srv = vc__sprintf("https://127.0.0.1:%d", port);
    char *kc = vc__sprintf("apiVersion: v1\nkind: Config\n"
                           "clusters: [{name: c, cluster: {server: '%s', insecure-skip-tls-verify: true}}]\n"
                           "users: [{name: u, user: {client-certificate-data: %s, client-key-data: %s}}]\n"
                           "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
                           srv, CLIENT_C64, CLIENT_K64);
    vc_kube *k = kube_from(kc, NULL);
    vc__kconn *c = NULL;
    int st = 0;
    char *h = NULL;
    int rc = k ? vc__kconn_open(k, method, path, headers, NULL, 0, 20000, &c, &st, &h) : VC_EINVAL;
    if (rc < 0)
        fprintf(stderr, "ask %s: %s\n", path, vc_error_last()->message);
    *body = c ? read_body(c, h) : NULL;
    if (head)
        *head = h;
    else
        vc__free(h);
    vc__kconn_close(c);
    vc_kube_free(k);
    vc__free(kc);
    vc__free(srv);
    return rc < 0 ? rc : st;
}

static void make_pod(const char *name, const char *marker, const char *vname, const char *node)
{
    vc__kres pr = { "v1", "pods", HNS, NULL, NULL };
    json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:{},s:{}},s:{s:s,s:[{s:s,s:s}]}}", "apiVersion", "v1", "kind", "Pod",
                            "metadata", "name", name, "labels", "annotations", "spec", "nodeName", node, "containers",
                            "name", "c", "image", "busybox");
    json_t *meta = json_object_get(pod, "metadata");
    if (marker)
        json_object_set_new(json_object_get(meta, "labels"), "vcluster.loft.sh/managed-by", json_string(marker));
    if (vname) {
        json_object_set_new(json_object_get(meta, "annotations"), "vcluster.loft.sh/object-name", json_string(vname));
        json_object_set_new(json_object_get(meta, "annotations"), "vcluster.loft.sh/object-namespace",
                            json_string("default"));
    }
    CHECK_INT(vc__kube_create(K, &pr, pod, NULL), VC_OK);
    json_decref(pod);
}

static vc_kubelet_proxy *P;
static server S;

static void t_setup(void)
{
    itest_name(VC, sizeof VC, "kp");
    snprintf(HNS, sizeof HNS, "vcluster-%s", VC);
    vc__kres nsr = { "v1", "namespaces", NULL, NULL, NULL };
    json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", HNS);
    CHECK_INT(vc__kube_create(K, &nsr, ns, NULL), VC_OK);
    json_decref(ns);
    json_t *nodes = NULL;
    vc__kres nr = { "v1", "nodes", NULL, NULL, NULL };
    CHECK_INT(vc__kube_list(K, &nr, NULL, &nodes), VC_OK);
    const char *node = json_string_value(
        json_object_get(json_object_get(json_array_get(json_object_get(nodes, "items"), 0), "metadata"), "name"));
    char hn[200];
    snprintf(hn, sizeof hn, "web-x-default-x-%s", VC);
    make_pod(hn, VC, "web", node ? node : "x");
    snprintf(hn, sizeof hn, "other-x-default-x-%s", VC);
    make_pod(hn, NULL, NULL, node ? node : "x");          /* unmanaged */
    snprintf(hn, sizeof hn, "foreign-x-default-x-%s", VC);
    make_pod(hn, "another-vcluster", "foreign", node ? node : "x"); /* someone else's */
    json_decref(nodes);

    /* the client CA, and the virtual API server's kubelet client certificate */
    vc__pki_ca *ca = NULL;
    CHECK_INT(vc__pki_ca_new(&ca, "vcluster-ca", 0), VC_OK);
    static const char *const groups[] = { "kubeadm:cluster-admins" };
    vc__pki_req req = { .common_name = "kube-apiserver-kubelet-client", .organizations = groups,
                        .n_organizations = 1, .usage = VC__PKI_CLIENT };
    char *cert = NULL, *key = NULL;
    CHECK_INT(vc__pki_issue(ca, &req, &cert, &key), VC_OK);
    CLIENT_C64 = vc__base64_encode((const unsigned char *)cert, strlen(cert));
    CLIENT_K64 = vc__base64_encode((const unsigned char *)key, strlen(key));
    vc_kubelet_proxy_options o;
    vc_kubelet_proxy_options_init(&o, VC_KUBELET_PROXY_OPTIONS_VERSION);
    o.name = VC;
    o.client_ca_pem = vc__pki_ca_cert_pem(ca);
    o.timeout_ms = 15000;
    CHECK_INT(vc_kubelet_proxy_new(&P, K, &o), VC_OK);
    server_start(&S, P);
    vc__free(cert);
    vc__free(key);
    vc__pki_ca_free(ca);
}

static void t_healthz_and_404s(void)
{
    char *b = NULL;
    CHECK_INT(ask(S.port, "GET", "/healthz", NULL, NULL, &b), 200);
    CHECK_STR(b, "ok");
    vc__free(b);
    CHECK_INT(ask(S.port, "GET", "/containerLogs/default/missing/c", NULL, NULL, &b), 404);
    CHECK_CONTAINS(b, "pods \\\"missing\\\" not found");
    vc__free(b);
    CHECK_INT(ask(S.port, "GET", "/containerLogs/default/other/c", NULL, NULL, &b), 404);
    CHECK_CONTAINS(b, "pods \\\"other\\\" not found");
    vc__free(b);
    CHECK_INT(ask(S.port, "GET", "/containerLogs/default/foreign/c", NULL, NULL, &b), 404);
    vc__free(b);
    CHECK_INT(ask(S.port, "GET", "/stats/summary", NULL, NULL, &b), 404);
    CHECK_CONTAINS(b, "\"kind\":\"Status\"");
    vc__free(b);
}

static void t_logs_relayed(void)
{
    char *h = NULL, *b = NULL;
    int st = ask(S.port, "GET", "/containerLogs/default/web/c?follow=true&tailLines=5", NULL, &h, &b);
    printf("# logs of a kwok pod through the proxy: HTTP %d: %s\n", st, b ? b : "");
    /* the host API server could not reach a kubelet: its error, as it came */
    CHECK(st >= 400 && st != 404 && st != 403);
    CHECK_CONTAINS(h, "Connection: close");
    CHECK_CONTAINS(b, "10250");
    vc__free(h);
    vc__free(b);
}

static void t_exec_relayed(void)
{
    char *h = NULL, *b = NULL;
    /* SPDY, as the virtual API server speaks to kubelets */
    int st = ask(S.port, "POST", "/exec/default/web/c?command=echo&command=hi&output=1&error=1",
                 "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io", &h, &b);
    printf("# SPDY exec through the proxy: HTTP %d\n", st);
    CHECK_INT(st, 500);
    CHECK_CONTAINS(b, "error dialing backend");
    vc__free(h);
    vc__free(b);
    /* WebSocket: the host API server upgrades itself, so this runs the
     * spliced stream: 101 relayed, the error frames relayed, then EOF */
    st = ask(S.port, "GET", "/exec/default/web/c?command=echo&command=hi&output=1",
             "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io",
             &h, &b);
    printf("# WebSocket exec through the proxy: HTTP %d\n", st);
    CHECK_INT(st, 101);
    CHECK_CONTAINS(h, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /* the host's kubelet request carries the host pod name and stdout=true
     * mapped back to output=1 */
    char want[400];
    snprintf(want, sizeof want, "/exec/%s/web-x-default-x-%s/c?command=echo", HNS, VC);
    CHECK(b && memmem(b, LAST_LEN, want, strlen(want)) != NULL);
    CHECK(b && memmem(b, LAST_LEN, "output=1", 8) != NULL);
    vc__free(h);
    vc__free(b);
    /* port-forward: the ports param reaches the host (its answer is an error) */
    st = ask(S.port, "POST", "/portForward/default/web?port=80",
             "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io", &h, &b);
    printf("# SPDY port-forward through the proxy: HTTP %d\n", st);
    CHECK_INT(st, 500);
    vc__free(h);
    vc__free(b);
}

static void t_forbidden_host(void)
{
    /* a host identity that may not read pods: the 403 reaches the client */
    vc__kres sar = { "v1", "serviceaccounts", HNS, NULL, NULL };
    json_t *sa = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata", "name", "nobody");
    CHECK_INT(vc__kube_create(K, &sar, sa, NULL), VC_OK);
    json_decref(sa);
    vc__kres tr = { "v1", "serviceaccounts", HNS, "nobody", "token" };
    json_t *treq = json_pack("{s:s,s:s,s:{}}", "apiVersion", "authentication.k8s.io/v1", "kind", "TokenRequest", "spec");
    json_t *tok = NULL;
    CHECK_INT(vc__kube_create(K, &tr, treq, &tok), VC_OK);
    json_decref(treq);
    const char *token = json_string_value(json_object_get(json_object_get(tok, "status"), "token"));
    char *ca = vc__base64_encode(K->cfg.ca_data, K->cfg.ca_len);
    char *kc = vc__sprintf("apiVersion: v1\nkind: Config\n"
                           "clusters: [{name: c, cluster: {server: '%s', certificate-authority-data: %s}}]\n"
                           "users: [{name: u, user: {token: '%s'}}]\n"
                           "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
                           K->cfg.server, ca, token ? token : "x");
    vc_kube *nobody = kube_from(kc, NULL);
    server_stop(&S);
    vc_kubelet_proxy_free(P);
    P = NULL;
    /* a CA file this time */
    vc__pki_ca *pca = NULL;
    CHECK_INT(vc__pki_ca_new(&pca, "ca", 0), VC_OK);
    char path[] = "/tmp/kp-ca-XXXXXX";
    int fd = mkstemp(path);
    CHECK(write(fd, vc__pki_ca_cert_pem(pca), strlen(vc__pki_ca_cert_pem(pca))) > 0);
    close(fd);
    vc__pki_ca_free(pca);
    /* the client certificate of CLIENT_KC is not from this CA: refused */
    vc_kubelet_proxy_options o;
    vc_kubelet_proxy_options_init(&o, VC_KUBELET_PROXY_OPTIONS_VERSION);
    o.name = VC;
    o.client_ca_file = path;
    CHECK_INT(vc_kubelet_proxy_new(&P, nobody, &o), VC_OK);
    unlink(path);
    server_start(&S, P);
    char *b = NULL;
    int st = ask(S.port, "GET", "/healthz", NULL, NULL, &b);
    CHECK(st == VC_ETLS || st == VC_ECONNECT);
    vc__free(b);
    server_stop(&S);
    vc_kubelet_proxy_free(P);
    P = NULL;
    vc_kube_free(nobody);
    vc__free(kc);
    vc__free(ca);
    json_decref(tok);
}

static void t_forbidden_host_relayed(void)
{
    /* same, with the right client CA: the host's 403 comes back */
    vc__kres tr = { "v1", "serviceaccounts", HNS, "nobody", "token" };
    json_t *treq = json_pack("{s:s,s:s,s:{}}", "apiVersion", "authentication.k8s.io/v1", "kind", "TokenRequest", "spec");
    json_t *tok = NULL;
    CHECK_INT(vc__kube_create(K, &tr, treq, &tok), VC_OK);
    json_decref(treq);
    const char *token = json_string_value(json_object_get(json_object_get(tok, "status"), "token"));
    char *ca = vc__base64_encode(K->cfg.ca_data, K->cfg.ca_len);
    char *kc = vc__sprintf("apiVersion: v1\nkind: Config\n"
                           "clusters: [{name: c, cluster: {server: '%s', certificate-authority-data: %s}}]\n"
                           "users: [{name: u, user: {token: '%s'}}]\n"
                           "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
                           K->cfg.server, ca, token ? token : "x");
    vc_kube *nobody = kube_from(kc, NULL);
    /* reuse the client certificate's CA: issue a new pair from a new CA and
     * point CLIENT_KC at it */
    vc__pki_ca *cca = NULL;
    CHECK_INT(vc__pki_ca_new(&cca, "vcluster-ca-2", 0), VC_OK);
    vc__pki_req req = { .common_name = "kube-apiserver-kubelet-client", .usage = VC__PKI_CLIENT };
    char *cert = NULL, *key = NULL;
    CHECK_INT(vc__pki_issue(cca, &req, &cert, &key), VC_OK);
    vc__free(CLIENT_C64);
    vc__free(CLIENT_K64);
    CLIENT_C64 = vc__base64_encode((const unsigned char *)cert, strlen(cert));
    CLIENT_K64 = vc__base64_encode((const unsigned char *)key, strlen(key));
    vc_kubelet_proxy_options o;
    vc_kubelet_proxy_options_init(&o, VC_KUBELET_PROXY_OPTIONS_VERSION);
    o.name = VC;
    o.client_ca_pem = vc__pki_ca_cert_pem(cca);
    CHECK_INT(vc_kubelet_proxy_new(&P, nobody, &o), VC_OK);
    server_start(&S, P);
    char *b = NULL;
    CHECK_INT(ask(S.port, "GET", "/containerLogs/default/web/c", NULL, NULL, &b), 403);
    CHECK_CONTAINS(b, "nobody");
    CHECK_CONTAINS(b, "Forbidden");
    vc__free(b);
    server_stop(&S);
    vc_kubelet_proxy_free(P);
    P = NULL;
    vc_kube_free(nobody);
    vc__free(cert);
    vc__free(key);
    vc__pki_ca_free(cca);
    vc__free(kc);
    vc__free(ca);
    json_decref(tok);
}

static void t_cleanup(void)
{
    if (P) {
        server_stop(&S);
        vc_kubelet_proxy_free(P);
    }
    vc__kres nsr = { "v1", "namespaces", NULL, HNS, NULL };
    vc__delete_opts d = { "Background", -1, NULL, NULL };
    CHECK_INT(vc__kube_delete(K, &nsr, &d, NULL), VC_OK);
    vc__free(CLIENT_C64);
    vc__free(CLIENT_K64);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    KC = itest_kubeconfig();
    vc_global_init(NULL);
    K = kube_from(NULL, KC);
    if (!K)
        return 1;
    RUN(t_setup);
    RUN(t_healthz_and_404s);
    RUN(t_logs_relayed);
    RUN(t_exec_relayed);
    RUN(t_forbidden_host);
    RUN(t_forbidden_host_relayed);
    RUN(t_cleanup);
    vc_kube_free(K);
    vc_global_shutdown();
    TEST_DONE();
}

/* The kubelet proxy without a cluster: request parsing and path mapping
 * (kubelet names -> host pod subresources), response framing, and the TLS
 * server against a real TLS client (libcurl/OpenSSL): a client certificate
 * signed by the client CA is served, no certificate or one from another CA
 * fails the handshake. Calls to the host go to a closed port (502). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kubelet/kubelet.h"
#include "pki/pki.h"
#include "test.h"

static vc__kl_route route_of(const char *head)
{
    vc__kl_req r;
    vc__kl_route rt;
    memset(&rt, 0, sizeof rt);
    rt.kind = -1;
    if (vc__kl_parse(&r, head, strlen(head)) == VC_OK) {
        CHECK_INT(vc__kl_route_req(&rt, &r), VC_OK);
        vc__kl_req_clear(&r);
    }
    return rt;
}

static void check_map(const char *head, int kind, const char *want_path)
{
    vc__kl_route rt = route_of(head);
    CHECK_INT(rt.kind, kind);
    char *p = vc__kl_host_path(&rt, "vcluster-vc", "POD");
    if (want_path)
        CHECK_STR(p, want_path);
    else
        CHECK(p == NULL);
    vc__free(p);
    vc__kl_route_clear(&rt);
}

static void t_mapping(void)
{
    check_map("GET /containerLogs/ns1/pod-1/c1?follow=true&tailLines=10&timestamps=true&bogus=1&sinceTime="
              "2026-01-01T00%3A00%3A00Z HTTP/1.1\r\nHost: x\r\n\r\n",
              VC__KL_LOGS,
              "/api/v1/namespaces/vcluster-vc/pods/POD/log?container=c1&follow=true&tailLines=10&timestamps=true"
              "&sinceTime=2026-01-01T00%3A00%3A00Z");
    check_map("GET /containerLogs/ns1/pod-1/c1?previous=true&limitBytes=5&sinceSeconds=3 HTTP/1.1\r\n\r\n",
              VC__KL_LOGS,
              "/api/v1/namespaces/vcluster-vc/pods/POD/log?container=c1&previous=true&limitBytes=5&sinceSeconds=3");
    /* what the API server sends (streamParams): input/output/error/tty=1 */
    check_map("POST /exec/ns1/web.0/c?command=sh&command=-c&command=echo+hi%20there%26more&input=1&output=1&tty=1 "
              "HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n",
              VC__KL_EXEC,
              "/api/v1/namespaces/vcluster-vc/pods/POD/exec?container=c&command=sh&command=-c"
              "&command=echo%20hi%20there%26more&stdin=true&stdout=true&tty=true");
    /* the form with the pod UID */
    check_map("POST /exec/ns1/p/0f4c-uid/c?command=true&error=1 HTTP/1.1\r\n\r\n", VC__KL_EXEC,
              "/api/v1/namespaces/vcluster-vc/pods/POD/exec?container=c&command=true&stderr=true");
    check_map("GET /attach/ns1/p/c?input=1&output=1&error=0&command=ignored HTTP/1.1\r\n\r\n", VC__KL_ATTACH,
              "/api/v1/namespaces/vcluster-vc/pods/POD/attach?container=c&stdin=true&stdout=true");
    check_map("POST /portForward/ns1/p?port=80&port=8443 HTTP/1.1\r\n\r\n", VC__KL_PORTFORWARD,
              "/api/v1/namespaces/vcluster-vc/pods/POD/portforward?ports=80&ports=8443");
    check_map("POST /portForward/ns1/p/uid HTTP/1.1\r\n\r\n", VC__KL_PORTFORWARD,
              "/api/v1/namespaces/vcluster-vc/pods/POD/portforward");
    check_map("GET /healthz HTTP/1.1\r\n\r\n", VC__KL_HEALTHZ, NULL);
    check_map("HEAD /healthz HTTP/1.0\r\n\r\n", VC__KL_HEALTHZ, NULL);
    check_map("POST /healthz HTTP/1.1\r\n\r\n", VC__KL_BADMETHOD, NULL);
    /* not served */
    check_map("GET /stats/summary HTTP/1.1\r\n\r\n", VC__KL_NOTFOUND, NULL);
    check_map("GET /metrics/resource HTTP/1.1\r\n\r\n", VC__KL_NOTFOUND, NULL);
    check_map("GET /pods HTTP/1.1\r\n\r\n", VC__KL_NOTFOUND, NULL);
    check_map("GET /runningpods/ HTTP/1.1\r\n\r\n", VC__KL_NOTFOUND, NULL);
    check_map("GET / HTTP/1.1\r\n\r\n", VC__KL_NOTFOUND, NULL);
    check_map("GET /containerLogs/ns/p HTTP/1.1\r\n\r\n", VC__KL_NOTFOUND, NULL);
    check_map("GET /a/b/c/d/e/f/g/h HTTP/1.1\r\n\r\n", VC__KL_NOTFOUND, NULL);
    /* methods */
    check_map("POST /containerLogs/ns/p/c HTTP/1.1\r\n\r\n", VC__KL_BADMETHOD, NULL);
    check_map("DELETE /exec/ns/p/c HTTP/1.1\r\n\r\n", VC__KL_BADMETHOD, NULL);
    /* bad names and queries */
    check_map("GET /containerLogs/NS/p/c HTTP/1.1\r\n\r\n", VC__KL_BADREQUEST, NULL);
    check_map("GET /containerLogs/ns/p/c_1 HTTP/1.1\r\n\r\n", VC__KL_BADREQUEST, NULL);
    check_map("GET /containerLogs/ns//c HTTP/1.1\r\n\r\n", VC__KL_BADREQUEST, NULL);
    check_map("GET /containerLogs/ns/%2e%2e/c HTTP/1.1\r\n\r\n", VC__KL_BADREQUEST, NULL);
    check_map("GET /containerLogs/ns/p/c?follow=%zz HTTP/1.1\r\n\r\n", VC__KL_BADREQUEST, NULL);
    check_map("GET /exec/ns/p/c?command=%00 HTTP/1.1\r\n\r\n", VC__KL_BADREQUEST, NULL);
    /* a decoded '/' in a name does not make a segment */
    check_map("GET /containerLogs/ns/p%2Fx/c HTTP/1.1\r\n\r\n", VC__KL_BADREQUEST, NULL);
}

static void t_parse_errors(void)
{
    static const char *const bad[] = {
        "",
        "GET /healthz HTTP/1.1\r\n",                        /* no empty line */
        "get /healthz HTTP/1.1\r\n\r\n",                    /* method case */
        "GET healthz HTTP/1.1\r\n\r\n",                     /* not origin-form */
        "GET /healthz HTTP/2\r\n\r\n",
        "GET /healthz  HTTP/1.1\r\n\r\n",
        "GET /heal\tthz HTTP/1.1\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET /healthz HTTP/1.1\r\n: empty\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nBad Name: v\r\n\r\n",
        "GET /p%zz HTTP/1.1\r\n\r\n",
        "GET /p%2 HTTP/1.1\r\n\r\n",
        "GET /p%00 HTTP/1.1\r\n\r\n",
        "VERYLONGMETHODNAME /x HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vc__kl_req r;
        int rc = vc__kl_parse(&r, bad[i], strlen(bad[i]));
        if (rc != VC_EINVAL)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK_INT(rc, VC_EINVAL);
    }
    /* 64 headers pass, 65 do not */
    vc_buf b = VC_BUF_INIT;
    vc__buf_puts(&b, "GET /healthz HTTP/1.1\r\n");
    for (int i = 0; i < 64; i++)
        vc__buf_printf(&b, "X-H%d: %d\r\n", i, i);
    vc__buf_puts(&b, "\r\n");
    vc__kl_req r;
    CHECK_INT(vc__kl_parse(&r, b.ptr, b.size), VC_OK);
    CHECK_STR(vc__kl_header_get(&r, "x-h63"), "63");
    vc__kl_req_clear(&r);
    b.size -= 2;
    vc__buf_puts(&b, "X-H64: 64\r\n\r\n");
    CHECK_INT(vc__kl_parse(&r, b.ptr, b.size), VC_EINVAL);
    vc_buf_dispose(&b);
    /* NUL inside */
    CHECK_INT(vc__kl_parse(&r, "GET / HTTP/1.1\r\nA: \0\r\n\r\n", 24), VC_EINVAL);
}

static void t_forward_headers(void)
{
    const char *h = "POST /exec/ns/p/c?command=x&output=1 HTTP/1.1\r\nHost: 10.0.0.1:10250\r\n"
                    "Connection: keep-alive, Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
                    "X-Stream-Protocol-Version: v3.channel.k8s.io\r\nAuthorization: Bearer secret\r\n"
                    "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\nUser-Agent: kube-apiserver\r\n\r\n";
    vc__kl_req r;
    CHECK_INT(vc__kl_parse(&r, h, strlen(h)), VC_OK);
    CHECK(vc__kl_is_upgrade(&r));
    char *f = vc__kl_forward_headers(&r);
    CHECK_STR(f, "Connection: keep-alive, Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
                 "X-Stream-Protocol-Version: v3.channel.k8s.io\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n");
    vc__free(f);
    vc__kl_req_clear(&r);
    h = "GET /containerLogs/ns/p/c HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nUpgrade: h2c\r\n\r\n";
    CHECK_INT(vc__kl_parse(&r, h, strlen(h)), VC_OK);
    CHECK(!vc__kl_is_upgrade(&r));
    f = vc__kl_forward_headers(&r);
    CHECK_STR(f, "Connection: close\r\n");
    vc__free(f);
    vc__kl_req_clear(&r);
}

static void t_body_framing(void)
{
    vc__kl_body b;
    /* chunked, fed one byte at a time, with extensions and a trailer */
    const char *resp = "4;x=y\r\nabcd\r\nA\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\nEXTRA";
    vc__kl_body_init(&b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, false);
    CHECK_INT(b.mode, VC__KL_BODY_CHUNKED);
    size_t used = 0;
    for (size_t i = 0; resp[i] && !b.done; i++)
        used += (size_t)vc__kl_body_feed(&b, resp + i, 1);
    CHECK(b.done);
    CHECK_INT(used, strlen(resp) - 5);
    /* all at once */
    vc__kl_body_init(&b, "HTTP/1.1 200 OK\r\ntransfer-encoding:  gzip, chunked \r\n\r\n", 200, false);
    CHECK_INT(vc__kl_body_feed(&b, resp, strlen(resp)), (long)(strlen(resp) - 5));
    CHECK(b.done);
    /* malformed */
    vc__kl_body_init(&b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, false);
    CHECK_INT(vc__kl_body_feed(&b, "zz\r\n", 4), -1);
    vc__kl_body_init(&b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, false);
    CHECK_INT(vc__kl_body_feed(&b, "1\r\nab\r\n", 7), -1);
    vc__kl_body_init(&b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, false);
    CHECK_INT(vc__kl_body_feed(&b, "fffffffffffffffff\r\n", 19), -1);
    /* Content-Length */
    vc__kl_body_init(&b, "HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\n", 403, false);
    CHECK_INT(vc__kl_body_feed(&b, "abc", 3), 3);
    CHECK(!b.done);
    CHECK_INT(vc__kl_body_feed(&b, "defgh", 5), 2);
    CHECK(b.done);
    vc__kl_body_init(&b, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, false);
    CHECK(b.done);
    vc__kl_body_init(&b, "HTTP/1.1 204 No Content\r\n\r\n", 204, false);
    CHECK(b.done);
    /* until EOF */
    vc__kl_body_init(&b, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", 200, false);
    CHECK_INT(b.mode, VC__KL_BODY_EOF);
    CHECK_INT(vc__kl_body_feed(&b, "abc", 3), 3);
    CHECK(!b.done);
    /* Connection: close on relayed heads */
    char *h = vc__kl_close_head("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                                "connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n");
    CHECK_STR(h, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                 "Connection: close\r\n\r\n");
    vc__free(h);
    char *s = vc__kl_status_response(404, "NotFound", "pods \"x\" not found");
    CHECK_CONTAINS(s, "HTTP/1.1 404 Not Found\r\n");
    CHECK_CONTAINS(s, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
                      "\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\",\"code\":404}");
    vc__free(s);
}

/* ---- TLS against a real client ---- */

typedef struct server {
    int lfd, port;
    vc_kubelet_proxy *proxy;
    int n;                 /* connections to serve */
    int results[16];
    pthread_t th;
} server;

typedef struct one {
    server *s;
    int fd, idx;
} one;

static void *serve_one(void *ud)
{
    one *o = ud;
    o->s->results[o->idx] = vc_kubelet_proxy_serve(o->s->proxy, o->fd);
    close(o->fd);
    free(o);
    return NULL;
}

static void *accept_loop(void *ud)
{
    server *s = ud;
    pthread_t th[16];
    for (int i = 0; i < s->n; i++) {
        int fd = accept(s->lfd, NULL, NULL);
        one *o = malloc(sizeof *o);
        o->s = s, o->fd = fd, o->idx = i;
        pthread_create(&th[i], NULL, serve_one, o);
    }
    for (int i = 0; i < s->n; i++)
        pthread_join(th[i], NULL);
    return NULL;
}

static void server_start(server *s, vc_kubelet_proxy *p, int n)
{
    memset(s, 0, sizeof *s);
    s->proxy = p;
    s->n = n;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bind(s->lfd, (struct sockaddr *)&a, sizeof a);
    listen(s->lfd, 16);
    socklen_t al = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, accept_loop, s);
}

static void server_wait(server *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static size_t grab(char *p, size_t sz, size_t n, void *ud)
{
    vc__buf_put(ud, p, sz * n);
    return sz * n;
}

/* GET path with libcurl; returns the CURLcode, *http and the body. */
static int fetch(int port, const char *path, const char *cert, const char *key, long *http, vc_buf *body)
{
    CURL *e = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, grab);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
    if (cert) {
        struct curl_blob cb = { (void *)cert, strlen(cert), CURL_BLOB_COPY };
        struct curl_blob kb = { (void *)key, strlen(key), CURL_BLOB_COPY };
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cb);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    CURLcode cr = curl_easy_perform(e);
    *http = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, http);
    curl_easy_cleanup(e);
    vc__buf_puts(body, "");
    return (int)cr;
}

static void t_tls(void)
{
    vc__pki_ca *ca = NULL, *other = NULL;
    CHECK_INT(vc__pki_ca_new(&ca, "vcluster-ca", 0), VC_OK);
    CHECK_INT(vc__pki_ca_new(&other, "someone-else", 0), VC_OK);
    static const char *const groups[] = { "kubeadm:cluster-admins" };
    vc__pki_req req = { .common_name = "kube-apiserver-kubelet-client", .organizations = groups,
                        .n_organizations = 1, .usage = VC__PKI_CLIENT };
    char *cert = NULL, *key = NULL, *ocert = NULL, *okey = NULL;
    CHECK_INT(vc__pki_issue(ca, &req, &cert, &key), VC_OK);
    CHECK_INT(vc__pki_issue(other, &req, &ocert, &okey), VC_OK);

    /* the host is a closed port: lookups fail with 502 */
    vc_kube_options ko;
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig_data = "apiVersion: v1\nkind: Config\n"
                         "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                         "users: [{name: u, user: {token: 'x'}}]\n"
                         "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n";
    vc_kube *host = NULL;
    CHECK_INT(vc_kube_new(&host, &ko), VC_OK);

    vc_kubelet_proxy_options o = VC_KUBELET_PROXY_OPTIONS_INIT, o2;
    memset(&o2, 0xab, sizeof o2);
    CHECK_INT(vc_kubelet_proxy_options_init(&o2, VC_KUBELET_PROXY_OPTIONS_VERSION), VC_OK);
    CHECK(!memcmp(&o, &o2, sizeof o));
    CHECK_INT(vc_kubelet_proxy_options_init(&o2, 2), VC_EVERSION);
    vc_kubelet_proxy *p = NULL;
    o.name = "vc";
    CHECK_INT(vc_kubelet_proxy_new(&p, host, &o), VC_EINVAL); /* no client CA */
    CHECK_CONTAINS(vc_error_last()->message, "client CA");
    o.client_ca_pem = "not a certificate";
    CHECK_INT(vc_kubelet_proxy_new(&p, host, &o), VC_ETLS);
    o.client_ca_pem = NULL;
    o.client_ca_file = "/nonexistent/ca.crt";
    CHECK_INT(vc_kubelet_proxy_new(&p, host, &o), VC_ENOTFOUND);
    CHECK_CONTAINS(vc_error_last()->message, "client CA");
    o.client_ca_file = NULL;
    o.client_ca_pem = vc__pki_ca_cert_pem(ca);
    o.serving_cert_pem = cert; /* without its key */
    CHECK_INT(vc_kubelet_proxy_new(&p, host, &o), VC_EINVAL);
    o.serving_cert_pem = NULL;
    o.timeout_ms = 3000;
    CHECK_INT(vc_kubelet_proxy_new(&p, host, &o), VC_OK);
    vc_kube_free(host); /* the proxy holds its own reference */
    CHECK_INT(vc_kubelet_proxy_serve(NULL, 0), VC_EINVAL);
    CHECK_INT(vc_kubelet_proxy_serve(p, -1), VC_EINVAL);

    /* 4 requests with the right certificate, at once; 2 refused */
    server s;
    server_start(&s, p, 6);
    vc_buf b = VC_BUF_INIT;
    long http = 0;
    CHECK_INT(fetch(s.port, "/healthz", cert, key, &http, &b), CURLE_OK);
    CHECK_INT(http, 200);
    CHECK_STR(b.ptr, "ok");
    vc__buf_clear(&b);
    CHECK_INT(fetch(s.port, "/stats/summary", cert, key, &http, &b), CURLE_OK);
    CHECK_INT(http, 404);
    CHECK_CONTAINS(b.ptr, "\"kind\":\"Status\"");
    CHECK_CONTAINS(b.ptr, "not proxied");
    vc__buf_clear(&b);
    CHECK_INT(fetch(s.port, "/containerLogs/default/web/nginx?follow=true", cert, key, &http, &b), CURLE_OK);
    CHECK_INT(http, 502);
    CHECK_CONTAINS(b.ptr, "host API server");
    vc__buf_clear(&b);
    CHECK_INT(fetch(s.port, "/containerLogs/Default/web/nginx", cert, key, &http, &b), CURLE_OK);
    CHECK_INT(http, 400);
    vc__buf_clear(&b);
    int rc = fetch(s.port, "/healthz", NULL, NULL, &http, &b);
    CHECK(rc != CURLE_OK);
    CHECK_INT(http, 0);
    vc__buf_clear(&b);
    rc = fetch(s.port, "/healthz", ocert, okey, &http, &b);
    CHECK(rc != CURLE_OK);
    CHECK_INT(http, 0);
    vc_buf_dispose(&b);
    server_wait(&s);
    int ok = 0, tls = 0;
    for (int i = 0; i < 6; i++) {
        ok += s.results[i] == VC_OK;
        tls += s.results[i] == VC_ETLS;
    }
    CHECK_INT(ok, 4);
    CHECK_INT(tls, 2);

    /* a client that connects and sends nothing: the handshake times out */
    server_start(&s, p, 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CHECK_INT(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    int64_t t0 = vc__now_ms();
    server_wait(&s);
    CHECK_INT(s.results[0], VC_ETIMEDOUT);
    CHECK(vc__now_ms() - t0 >= 2500);
    close(fd);

    /* garbage instead of a ClientHello */
    server_start(&s, p, 1);
    a.sin_port = htons((uint16_t)s.port);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_INT(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK(write(fd, "GET / HTTP/1.1\r\n\r\n", 18) == 18);
    server_wait(&s);
    CHECK_INT(s.results[0], VC_ETLS);
    close(fd);

    /* a serving pair given explicitly */
    vc_kubelet_proxy_free(p);
    static const char *const ips[] = { "127.0.0.1" };
    vc__pki_req sreq = { .common_name = "kubelet", .ip_addresses = ips, .n_ip_addresses = 1, .usage = VC__PKI_SERVER };
    char *scert = NULL, *skey = NULL;
    CHECK_INT(vc__pki_issue(other, &sreq, &scert, &skey), VC_OK);
    host = NULL;
    CHECK_INT(vc_kube_new(&host, &ko), VC_OK);
    o.serving_cert_pem = scert;
    o.serving_key_pem = skey;
    CHECK_INT(vc_kubelet_proxy_new(&p, host, &o), VC_OK);
    vc_kube_free(host);
    server_start(&s, p, 1);
    b = (vc_buf)VC_BUF_INIT;
    CHECK_INT(fetch(s.port, "/healthz", cert, key, &http, &b), CURLE_OK);
    CHECK_INT(http, 200);
    vc_buf_dispose(&b);
    server_wait(&s);
    vc_kubelet_proxy_free(p);
    vc__free(scert);
    vc__free(skey);
    vc__free(cert);
    vc__free(key);
    vc__free(ocert);
    vc__free(okey);
    vc__pki_ca_free(ca);
    vc__pki_ca_free(other);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    vc_global_init(NULL);
    RUN(t_mapping);
    RUN(t_parse_errors);
    RUN(t_forward_headers);
    RUN(t_body_framing);
    RUN(t_tls);
    vc_global_shutdown();
    TEST_DONE();
}

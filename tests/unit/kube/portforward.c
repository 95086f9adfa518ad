/* The port-forward stream (src/kube/portforward.c) against a loopback
 * WebSocket server that behaves as the container runtime's streaming server
 * does (k8s.io/cri-streaming portforward/websocket.go over wsstream): the
 * handshake, the port prefixes on both channels, data echoed back in
 * fragments with a ping between them, the error channel, a close, and
 * refused upgrades with Status bodies (plain and chunked). The same client
 * meets the real stack in tests/integration/portforward.c (the API server's
 * errors) and tests/integration/realnode_portforward.c (a real pod). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kube/kube.h"
#include "kube/ws.h"
#include "test.h"

typedef struct wsfake {
    int lfd, port;
    pthread_t th;
    const char *mode;        /* "echo", "refuse", "refuse-chunked", "bad-accept" */
    char request[4096];
    bool saw_pong, saw_close, all_masked;
    int frames_in;
} wsfake;

static int read_exact(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void send_frame(int fd, int first, const void *p, size_t n)
{
    unsigned char h[10];
    size_t hl = 0;
    h[hl++] = (unsigned char)first;
    if (n < 126) {
        h[hl++] = (unsigned char)n;
    } else {
        h[hl++] = 126;
        h[hl++] = (unsigned char)(n >> 8);
        h[hl++] = (unsigned char)n;
    }
    /* MSG_NOSIGNAL: the client may be gone; a SIGPIPE here would hide one from the library */
    if (send(fd, h, hl, MSG_NOSIGNAL) < 0 || (n && send(fd, p, n, MSG_NOSIGNAL) < 0))
        return;
}

/* One client frame, unmasked into buf; returns opcode or -1. */
static int recv_frame(wsfake *f, int fd, unsigned char *buf, size_t cap, size_t *len)
{
    unsigned char h[2], ext[8], mask[4];
    if (read_exact(fd, h, 2) < 0)
        return -1;
    uint64_t n = h[1] & 0x7F;
    if (n == 126) {
        if (read_exact(fd, ext, 2) < 0)
            return -1;
        n = ((uint64_t)ext[0] << 8) | ext[1];
    } else if (n == 127) {
        if (read_exact(fd, ext, 8) < 0)
            return -1;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | ext[i];
    }
    if (!(h[1] & 0x80))
        f->all_masked = false;
    if ((h[1] & 0x80) && read_exact(fd, mask, 4) < 0)
        return -1;
    if (n > cap || read_exact(fd, buf, (size_t)n) < 0)
        return -1;
    if (h[1] & 0x80)
        for (size_t i = 0; i < n; i++)
            buf[i] ^= mask[i & 3];
    *len = (size_t)n;
    f->frames_in++;
    return h[0] & 0x0F;
}

static void *serve(void *arg)
{
    wsfake *f = arg;
    int c = accept(f->lfd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t len = 0;
    while (len < sizeof f->request - 1 && !strstr(f->request, "\r\n\r\n")) {
        ssize_t r = read(c, f->request + len, sizeof f->request - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        f->request[len] = '\0';
    }
    char key[64] = "";
    const char *k = strcasestr(f->request, "Sec-WebSocket-Key:");
    if (k)
        sscanf(k + 18, " %63s", key);
    char acc[29];
    vc__ws_accept(key, acc);
    char resp[1024];
    if (!strcmp(f->mode, "refuse")) {
        const char *body = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"error dialing "
                           "backend: dial tcp 10.0.0.9:10250: connect: connection refused\",\"reason\":\"InternalError\","
                           "\"code\":500}";
        snprintf(resp, sizeof resp, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                                    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
        if (send(c, resp, strlen(resp), MSG_NOSIGNAL) < 0)
            goto out;
        goto out;
    }
    if (!strcmp(f->mode, "refuse-chunked")) {
        const char *body = "{\"kind\":\"Status\",\"message\":\"pods \\\"x\\\" is forbidden: nope\",\"reason\":\"Forbidden\","
                           "\"code\":403}";
        snprintf(resp, sizeof resp, "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
                 (size_t)10, 10, body, strlen(body + 10), body + 10);
        if (send(c, resp, strlen(resp), MSG_NOSIGNAL) < 0)
            goto out;
        goto out;
    }
    snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n",
             !strcmp(f->mode, "bad-accept") ? "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" : acc);
    if (send(c, resp, strlen(resp), MSG_NOSIGNAL) < 0 || !strcmp(f->mode, "bad-accept"))
        goto out;
    /* port 80 on both channels, as handleWebSocketStreams writes them */
    send_frame(c, 0x82, "\x00\x50\x00", 3);
    send_frame(c, 0x82, "\x01\x50\x00", 3);
    unsigned char buf[70000];
    for (;;) {
        size_t n = 0;
        int op = recv_frame(f, c, buf, sizeof buf, &n);
        if (op < 0)
            break;
        if (op == VC__WS_PONG) {
            f->saw_pong = n == 4 && !memcmp(buf, "ping", 4);
            continue;
        }
        if (op == VC__WS_CLOSE) {
            f->saw_close = true;
            send_frame(c, 0x88, buf, n >= 2 ? 2 : 0);
            break;
        }
        if (op != VC__WS_BINARY || n < 1 || buf[0] != 0)
            continue;
        if (n == 6 && !memcmp(buf + 1, "error", 5)) {
            const char *m = "\x01" "error forwarding port 80 to pod x, uid : failed to connect to localhost:80";
            send_frame(c, 0x82, m, strlen(m + 1) + 1);
            send_frame(c, 0x88, "\x03\xe8", 2);
            continue;
        }
        if (n == 4 && !memcmp(buf + 1, "bye", 3)) {
            send_frame(c, 0x88, "\x03\xe8", 2);
            continue;
        }
        /* echo: the first half, a ping, the rest as a continuation */
        size_t half = n / 2;
        unsigned char first[70000];
        first[0] = 0; /* channel byte */
        memcpy(first + 1, buf + 1, half > 0 ? half - 1 : 0);
        send_frame(c, 0x02, first, half > 0 ? half : 1);
        send_frame(c, 0x89, "ping", 4);
        send_frame(c, 0x80, buf + (half > 0 ? half : 1), n - (half > 0 ? half : 1));
    }
out:
    close(c);
    return NULL;
}

static void fake_start(wsfake *f, const char *mode)
{
    memset(f, 0, sizeof(*f));
    f->mode = mode;
    f->all_masked = true;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    bind(f->lfd, (struct sockaddr *)&a, sizeof a);
    listen(f->lfd, 4);
    getsockname(f->lfd, (struct sockaddr *)&a, &al);
    f->port = ntohs(a.sin_port);
    pthread_create(&f->th, NULL, serve, f);
}

static void fake_stop(wsfake *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    pthread_join(f->th, NULL);
    close(f->lfd);
}

static vc_kube *client_for(int port)
{
    char kc[512];
    snprintf(kc, sizeof kc,
             "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:%d'}}]\n"
             "users: [{name: u, user: {token: t0k}}]\n"
             "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
             port);
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig_data = kc;
    o.timeout_ms = 5000;
    vc_kube *k = NULL;
    return vc_kube_new(&k, &o) == VC_OK ? k : NULL;
}

static void t_echo(void)
{
    wsfake f;
    fake_start(&f, "echo");
    vc_kube *k = client_for(f.port);
    vc_port_forward *pf = NULL;
    CHECK_INT(vc_port_forward_open(&pf, k, "ns1", "web-0", 80, 5000), VC_OK);
    vc_kube_free(k); /* the stream holds its own reference */
    CHECK_CONTAINS(f.request, "GET /api/v1/namespaces/ns1/pods/web-0/portforward?ports=80 HTTP/1.1");
    CHECK_CONTAINS(f.request, "Authorization: Bearer t0k");
    CHECK_CONTAINS(f.request, "Sec-WebSocket-Protocol: v4.channel.k8s.io");
    CHECK_CONTAINS(f.request, "Sec-WebSocket-Version: 13");
    CHECK(vc_port_forward_get_fd(pf) >= 0);
    /* nothing yet: the port prefixes carry no data */
    char buf[70000];
    size_t n = 0;
    CHECK_INT(vc_port_forward_read(pf, buf, sizeof buf, &n, 50), VC_ETIMEDOUT);
    CHECK_INT(vc_port_forward_write(pf, "hello, pod", 10, 2000), VC_OK);
    vc_buf got = VC_BUF_INIT;
    while (got.size < 10 && vc_port_forward_read(pf, buf, sizeof buf, &n, 2000) == VC_OK)
        vc__buf_put(&got, buf, n);
    CHECK_STR(got.ptr, "hello, pod");
    vc_buf_dispose(&got);
    /* a large message: 16-bit lengths, in 3 reads of small buffers */
    static char big[60000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    CHECK_INT(vc_port_forward_write(pf, big, sizeof big, 2000), VC_OK);
    while (got.size < sizeof big && vc_port_forward_read(pf, buf, 25000, &n, 2000) == VC_OK)
        vc__buf_put(&got, buf, n);
    CHECK_INT(got.size, sizeof big);
    CHECK(got.ptr && !memcmp(got.ptr, big, sizeof big));
    vc_buf_dispose(&got);
    /* the server ends it: end of stream, then writes are refused */
    CHECK_INT(vc_port_forward_write(pf, "bye", 3, 2000), VC_OK);
    CHECK_INT(vc_port_forward_read(pf, buf, sizeof buf, &n, 2000), VC_ITEROVER);
    CHECK_INT(vc_port_forward_write(pf, "x", 1, 2000), VC_ESTATE);
    vc_port_forward_free(pf);
    fake_stop(&f);
    CHECK(f.saw_pong);
    CHECK(f.saw_close);  /* our echo of its close */
    CHECK(f.all_masked);
}

static void t_error_channel(void)
{
    wsfake f;
    fake_start(&f, "echo");
    vc_kube *k = client_for(f.port);
    vc_port_forward *pf = NULL;
    CHECK_INT(vc_port_forward_open(&pf, k, "ns1", "web-0", 80, 5000), VC_OK);
    CHECK_INT(vc_port_forward_write(pf, "error", 5, 2000), VC_OK);
    char buf[256];
    size_t n = 0;
    CHECK_INT(vc_port_forward_read(pf, buf, sizeof buf, &n, 2000), VC_EAPI);
    CHECK_CONTAINS(vc_error_last()->message, "port-forward to pod ns1/web-0 port 80: error forwarding port 80");
    CHECK_CONTAINS(vc_error_last()->message, "failed to connect to localhost:80");
    /* sticky */
    CHECK_INT(vc_port_forward_read(pf, buf, sizeof buf, &n, 0), VC_EAPI);
    vc_port_forward_free(pf);
    vc_kube_free(k);
    fake_stop(&f);
}

typedef struct splice_arg {
    vc_port_forward *pf;
    int fd;
    int rc;
} splice_arg;

static void *run_splice(void *arg)
{
    splice_arg *a = arg;
    a->rc = vc_port_forward_splice(a->pf, a->fd, 0);
    vc__error_thread_cleanup(); /* this thread's last error */
    return NULL;
}

static void t_splice_and_cancel(void)
{
    wsfake f;
    fake_start(&f, "echo");
    vc_kube *k = client_for(f.port);
    vc_port_forward *pf = NULL;
    CHECK_INT(vc_port_forward_open(&pf, k, "ns1", "web-0", 80, 5000), VC_OK);
    int sp[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    splice_arg a = { pf, sp[1], 1 };
    pthread_t th;
    pthread_create(&th, NULL, run_splice, &a);
    CHECK_INT(write(sp[0], "through the splice", 18), 18);
    char buf[64] = "";
    size_t got = 0;
    struct pollfd p = { .fd = sp[0], .events = POLLIN };
    while (got < 18 && poll(&p, 1, 3000) > 0) {
        ssize_t r = read(sp[0], buf + got, sizeof buf - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    CHECK_STR(buf, "through the splice");
    /* cancel from another thread ends it */
    CHECK_INT(vc_port_forward_cancel(pf), VC_OK);
    pthread_join(th, NULL);
    CHECK_INT(a.rc, VC_ECANCELED);
    size_t n = 0;
    CHECK_INT(vc_port_forward_read(pf, buf, sizeof buf, &n, -1), VC_ECANCELED);
    vc_port_forward_free(pf);
    close(sp[0]);
    close(sp[1]);
    vc_kube_free(k);
    fake_stop(&f);
}

static void t_splice_pod_closes(void)
{
    wsfake f;
    fake_start(&f, "echo");
    vc_kube *k = client_for(f.port);
    vc_port_forward *pf = NULL;
    CHECK_INT(vc_port_forward_open(&pf, k, "ns1", "web-0", 80, 5000), VC_OK);
    int sp[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    /* the local side says bye and ends its writing: the pod's close ends the splice */
    CHECK_INT(write(sp[0], "bye", 3), 3);
    shutdown(sp[0], SHUT_WR);
    CHECK_INT(vc_port_forward_splice(pf, sp[1], 5000), VC_OK);
    vc_port_forward_free(pf);
    close(sp[0]);
    close(sp[1]);
    vc_kube_free(k);
    fake_stop(&f);
}

static void t_refused(void)
{
    wsfake f;
    fake_start(&f, "refuse");
    vc_kube *k = client_for(f.port);
    vc_port_forward *pf = NULL;
    CHECK_INT(vc_port_forward_open(&pf, k, "ns1", "web-0", 80, 5000), VC_EAPI);
    CHECK(pf == NULL);
    CHECK_INT(vc_error_last()->http_status, 500);
    CHECK_CONTAINS(vc_error_last()->message,
                   "port-forward to pod ns1/web-0 port 80: error dialing backend: dial tcp 10.0.0.9:10250");
    CHECK_CONTAINS(vc_error_last()->message, "(HTTP 500 InternalError)");
    vc_kube_free(k);
    fake_stop(&f);

    fake_start(&f, "refuse-chunked");
    k = client_for(f.port);
    CHECK_INT(vc_port_forward_open(&pf, k, "ns1", "web-0", 80, 5000), VC_EFORBIDDEN);
    CHECK_INT(vc_error_last()->http_status, 403);
    CHECK_CONTAINS(vc_error_last()->message, "pods \"x\" is forbidden: nope (HTTP 403 Forbidden)");
    vc_kube_free(k);
    fake_stop(&f);

    fake_start(&f, "bad-accept");
    k = client_for(f.port);
    CHECK_INT(vc_port_forward_open(&pf, k, "ns1", "web-0", 80, 5000), VC_EAPI);
    CHECK_CONTAINS(vc_error_last()->message, "bad Sec-WebSocket-Accept");
    vc_kube_free(k);
    fake_stop(&f);
    vc_error_clear();
}

int main(void)
{
    vc_global_init(NULL);
    RUN(t_echo);
    RUN(t_error_channel);
    RUN(t_splice_and_cancel);
    RUN(t_splice_pod_closes);
    RUN(t_refused);
    vc_global_shutdown();
    TEST_DONE();
}

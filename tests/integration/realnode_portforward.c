/* vc_port_forward_* end to end against real nodes (kubelet + containerd):
 * `tests/cluster/hostcluster up --runtime containerd`, its admin kubeconfig
 * in VC_REALNODE_KUBECONFIG. A pod running the harness's nginx image
 * (busybox httpd on port 80) is asked for / through the API server, the
 * kubelet and containerd's streaming server: by read/write, and by splice
 * from a local socket; a port nothing listens on ends in containerd's error
 * text on the error channel. Without VC_REALNODE_KUBECONFIG it fails with
 * the reason (skips only with VC_SKIP_CLUSTER=1, like the other integration
 * tests). */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vcluster.h>

#include "test.h"

/* A unique, DNS-safe name (as itest.h's, which this test does not include:
 * it wants VC_TEST_KUBECONFIG and this one another cluster). */
static void rn_name(char *out, size_t n, const char *prefix)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, n, "%s-%lx%03lx", prefix, (unsigned long)(ts.tv_sec & 0xffffff),
             (unsigned long)((ts.tv_nsec / 1000) & 0xfff) ^ (unsigned long)getpid());
}

static vc_kube *K;
static char NS[64];
static bool g_ready;

static int req(const char *method, const char *path, const char *body, vc_buf *out)
{
    int32_t st = 0;
    return vc_kube_request(K, out, &st, method, path, body, NULL);
}

/* The pod's Ready condition is True (in the object's JSON text). */
static bool ready(const char *json)
{
    const char *c = json ? strstr(json, "\"type\":\"Ready\"") : NULL;
    const char *end = c ? strchr(c, '}') : NULL;
    const char *st = c ? strstr(c, "\"status\":\"True\"") : NULL;
    return st && end && st < end;
}

static void t_setup(void)
{
    rn_name(NS, sizeof NS, "rnpf");
    char body[768], path[256];
    snprintf(body, sizeof body, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", NS);
    CHECK_INT(req("POST", "/api/v1/namespaces", body, NULL), VC_OK);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", NS);
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},\"spec\":{"
             "\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"web\",\"image\":\"nginx\","
             "\"imagePullPolicy\":\"IfNotPresent\",\"ports\":[{\"containerPort\":80}],"
             "\"readinessProbe\":{\"tcpSocket\":{\"port\":80},\"periodSeconds\":1}}]}}");
    CHECK_INT(req("POST", path, body, NULL), VC_OK);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/web", NS);
    for (int i = 0; i < 1800 && !g_ready; i++) {
        vc_buf b = VC_BUF_INIT;
        if (req("GET", path, NULL, &b) == VC_OK && ready(b.ptr))
            g_ready = true;
        if (!g_ready && i % 100 == 99)
            printf("# waiting for pod web: %.300s\n", b.ptr && strstr(b.ptr, "\"status\":{") ? strstr(b.ptr, "\"status\":{") : "");
        vc_buf_dispose(&b);
        if (!g_ready)
            usleep(100000);
    }
    CHECK(g_ready);
}

/* Read to the end of the stream. */
static int read_all(vc_port_forward *pf, vc_buf *out)
{
    char buf[8192];
    for (;;) {
        size_t n = 0;
        int rc = vc_port_forward_read(pf, buf, sizeof buf, &n, 20000);
        if (rc == VC_ITEROVER)
            return VC_OK;
        if (rc < 0)
            return rc;
        char *p = realloc(out->ptr, out->size + n + 1);
        if (!p)
            return VC_ENOMEM;
        memcpy(p + out->size, buf, n);
        out->ptr = p;
        out->size += n;
        out->ptr[out->size] = '\0';
    }
}

static void t_http_get(void)
{
    if (!g_ready)
        return;
    vc_port_forward *pf = NULL;
    CHECK_INT(vc_port_forward_open(&pf, K, NS, "web", 80, 20000), VC_OK);
    if (!pf) {
        printf("# open: %s\n", vc_error_last()->message);
        return;
    }
    const char *get = "GET / HTTP/1.0\r\nHost: web\r\n\r\n";
    CHECK_INT(vc_port_forward_write(pf, get, strlen(get), 10000), VC_OK);
    vc_buf resp = VC_BUF_INIT;
    int rc = read_all(pf, &resp);
    if (rc < 0)
        printf("# read: %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
    printf("# %.60s...\n", resp.ptr ? resp.ptr : "");
    CHECK(resp.ptr && !strncmp(resp.ptr, "HTTP/1.", 7) && strstr(resp.ptr, " 200 "));
    CHECK_CONTAINS(resp.ptr, "Welcome to nginx!");
    free(resp.ptr);
    vc_port_forward_free(pf);
}

static void t_splice(void)
{
    if (!g_ready)
        return;
    /* three connections one after another, as a client behind a forwarder makes them */
    for (int round = 0; round < 3; round++) {
        vc_port_forward *pf = NULL;
        CHECK_INT(vc_port_forward_open(&pf, K, NS, "web", 80, 20000), VC_OK);
        if (!pf)
            return;
        int sp[2];
        CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
        const char *get = "GET /index.html HTTP/1.0\r\n\r\n";
        CHECK_INT(write(sp[0], get, strlen(get)), (long long)strlen(get));
        shutdown(sp[0], SHUT_WR);
        CHECK_INT(vc_port_forward_splice(pf, sp[1], 20000), VC_OK);
        close(sp[1]);
        char buf[4096] = "";
        size_t got = 0;
        ssize_t r;
        while (got < sizeof buf - 1 && (r = read(sp[0], buf + got, sizeof buf - 1 - got)) > 0)
            got += (size_t)r;
        CHECK_CONTAINS(buf, "Welcome to nginx!");
        close(sp[0]);
        vc_port_forward_free(pf);
    }
}

static void t_closed_port(void)
{
    if (!g_ready)
        return;
    vc_port_forward *pf = NULL;
    CHECK_INT(vc_port_forward_open(&pf, K, NS, "web", 81, 20000), VC_OK);
    if (!pf)
        return;
    /* containerd dials when the stream starts: its refusal comes on the error channel */
    vc_port_forward_write(pf, "x", 1, 5000);
    vc_buf out = VC_BUF_INIT;
    int rc = read_all(pf, &out);
    printf("# port 81: rc %d: %s\n", rc, vc_error_last()->message);
    CHECK_INT(rc, VC_EAPI);
    CHECK_CONTAINS(vc_error_last()->message, "port-forward to pod");
    CHECK_CONTAINS(vc_error_last()->message, "81");
    free(out.ptr);
    vc_port_forward_free(pf);
}

static void t_cleanup(void)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", NS);
    CHECK_INT(req("DELETE", path, NULL, NULL), VC_OK);
}

int main(void)
{
    const char *kc = getenv("VC_REALNODE_KUBECONFIG");
    if (!kc || !*kc) {
        const char *skip = getenv("VC_SKIP_CLUSTER");
        if (skip && !strcmp(skip, "1")) {
            printf("# skipped: VC_SKIP_CLUSTER=1\n");
            return 77;
        }
        fprintf(stderr, "VC_REALNODE_KUBECONFIG is unset; it needs real nodes: "
                        "tests/cluster/hostcluster up --runtime containerd, then "
                        "VC_REALNODE_KUBECONFIG=$(tests/cluster/hostcluster kubeconfig) (tests/run does this), "
                        "or set VC_SKIP_CLUSTER=1 to skip\n");
        return 1;
    }
    vc_global_init(NULL);
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig = kc;
    o.qps = -1;
    if (vc_kube_new(&K, &o) < 0) {
        fprintf(stderr, "FAIL: %s\n", vc_error_last()->message);
        return 1;
    }
    RUN(t_setup);
    RUN(t_http_get);
    RUN(t_splice);
    RUN(t_closed_port);
    RUN(t_cleanup);
    vc_kube_free(K);
    vc_global_shutdown();
    TEST_DONE();
}

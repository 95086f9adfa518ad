/* A tiny HTTP endpoint on its own thread: /healthz (200 while the reconcile
 * loop has turned within the last 10 minutes: one pass may wait on a
 * lifecycle call up to its timeout) and /metrics (Prometheus text: passes,
 * errors, creates/upgrades). One request per connection. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "provider.h"

static int listen_fd = -1;

static long long mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

static void serve(provider *p, int fd)
{
    char req[1024];
    struct timeval tv = { 2, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(fd, req, sizeof req - 1, 0);
    if (n <= 0)
        return;
    req[n] = '\0';
    char body[1024];
    const char *status = "200 OK";
    if (!strncmp(req, "GET /healthz", 12) || !strncmp(req, "GET /livez", 10) || !strncmp(req, "GET /readyz", 11)) {
        long long age = mono_s() - atomic_load(&p->heartbeat);
        if (age > 600) {
            status = "503 Service Unavailable";
            snprintf(body, sizeof body, "reconcile loop stalled for %llds\n", age);
        } else {
            snprintf(body, sizeof body, "ok\n");
        }
    } else if (!strncmp(req, "GET /metrics", 12)) {
        snprintf(body, sizeof body,
                 "# TYPE vcluster_capi_reconciles_total counter\nvcluster_capi_reconciles_total %lld\n"
                 "# TYPE vcluster_capi_reconcile_errors_total counter\nvcluster_capi_reconcile_errors_total %lld\n"
                 "# TYPE vcluster_capi_deploys_total counter\nvcluster_capi_deploys_total %lld\n",
                 (long long)atomic_load(&p->reconciles), (long long)atomic_load(&p->errors),
                 (long long)atomic_load(&p->deploys));
    } else {
        status = "404 Not Found";
        snprintf(body, sizeof body, "not found\n");
    }
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                      status, strlen(body));
    if (send(fd, head, (size_t)hn, MSG_NOSIGNAL) == hn)
        (void)send(fd, body, strlen(body), MSG_NOSIGNAL);
}

static void *health_main(void *arg)
{
    provider *p = arg;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            struct timespec ts = { 0, 100 * 1000000L }; /* EMFILE and the like: do not spin */
            nanosleep(&ts, NULL);
            continue;
        }
        serve(p, fd);
        close(fd);
    }
    return NULL;
}

int health_start(provider *p, const char *addr, int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return -1;
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(listen_fd, 16) < 0) {
        if (listen_fd >= 0)
            close(listen_fd);
        listen_fd = -1;
        return -1;
    }
    atomic_store(&p->heartbeat, mono_s());
    pthread_t t;
    if (pthread_create(&t, NULL, health_main, p) != 0)
        return -1;
    pthread_detach(t);
    return 0;
}

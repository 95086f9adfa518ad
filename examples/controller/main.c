/*
 * vcluster-syncer: the syncer daemon. The step loop of the public API plus
 * flags, signals and a small HTTP endpoint for /healthz, /readyz and
 * Prometheus /metrics. Uses only <vcluster.h>.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <vcluster.h>

#include "certs.h"

static volatile sig_atomic_t g_stop;
/* The longest vc_syncer_step(s, 0) so far, wall and CPU time (/metrics). */
static int64_t g_step_max_us, g_step_max_cpu_us;

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
static vc_syncer *g_syncer;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_syncer)
        vc_syncer_wakeup(g_syncer); /* async-signal-safe: one write(2) */
}

static int g_verbose = VC_LOG_INFO;

static void log_fn(int level, const char *subsystem, const char *msg, void *ud)
{
    (void)ud;
    static const char *const names[] = { "", "error", "warn", "info", "debug", "trace" };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char t[32];
    strftime(t, sizeof t, "%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld %-5s %s: %s\n", t, ts.tv_nsec / 1000000, level >= 1 && level <= 5 ? names[level] : "?",
            subsystem, msg);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vcluster-syncer --name NAME [options]\n"
            "       vcluster-syncer certs --name NAME [--pki-dir DIR] ...  (init container; certs --help)\n"
            "\n"
            "Syncs a virtual cluster's workloads into a host namespace and their status back.\n"
            "\n"
            "  --name NAME                 virtual cluster name (required)\n"
            "  --host-namespace NS         host namespace (default vcluster-NAME)\n"
            "  --host-kubeconfig PATH      host cluster kubeconfig (default: in-cluster, else KUBECONFIG)\n"
            "  --host-context CTX          context in the host kubeconfig\n"
            "  --virtual-kubeconfig PATH   virtual cluster kubeconfig (required)\n"
            "  --service-name NAME         host Service of the virtual API server (default NAME)\n"
            "  -f, --config PATH           vcluster.yaml\n"
            "  --listen ADDR:PORT          health and metrics endpoint (default 127.0.0.1:8080; \"\" to disable)\n"
            "  --kubelet-listen ADDR:PORT  kubelet API proxy for the fake nodes: kubectl logs/exec/attach/\n"
            "                              port-forward (default 127.0.0.1:10250; \"\" to disable; port 0: any).\n"
            "                              Fake nodes advertise ADDR, or $POD_IP when ADDR is 0.0.0.0\n"
            "  --kubelet-client-ca FILE    CA of the virtual API server's kubelet client certificate\n"
            "                              (--kubelet-client-certificate); without it the proxy is off\n"
            "  --no-coredns                do not deploy CoreDNS into the virtual cluster\n"
            "  --host-qps N                write rate toward the host (default 200)\n"
            "  --host-burst N              burst of writes toward the host (default 400)\n"
            "  -v, --verbose               debug logging (twice: trace)\n"
            "  -h, --help                  this help\n");
}

/* ---- a tiny HTTP endpoint ---- */

static int listen_on(const char *addr)
{
    char host[64] = "127.0.0.1";
    int port = 8080;
    const char *colon = strrchr(addr, ':');
    if (colon) {
        size_t n = (size_t)(colon - addr);
        if (n > 0 && n < sizeof host) {
            memcpy(host, addr, n);
            host[n] = '\0';
        }
        port = atoi(colon + 1);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(fd, 16) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Health and metrics connections wait in a small table, polled with the
 * syncer's fd: a client that connects and says nothing costs a slot for at
 * most HEALTH_WAIT_MS, never a stall of the sync loop (it was a blocking
 * read of up to 1 s per connection). */
#define HEALTH_SLOTS 16
#define HEALTH_WAIT_MS 2000

static struct {
    int fd;
    int64_t deadline;
} g_health[HEALTH_SLOTS];

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void health_init(void)
{
    for (int i = 0; i < HEALTH_SLOTS; i++)
        g_health[i].fd = -1;
}

/* Accept what is waiting; the oldest connection gives way when all slots are busy. */
static void health_accept(int lfd)
{
    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0)
            return;
        int slot = -1;
        int64_t oldest = INT64_MAX;
        for (int i = 0; i < HEALTH_SLOTS; i++) {
            if (g_health[i].fd < 0) {
                slot = i;
                break;
            }
            if (g_health[i].deadline < oldest) {
                oldest = g_health[i].deadline;
                slot = i;
            }
        }
        if (g_health[slot].fd >= 0)
            close(g_health[slot].fd);
        g_health[slot].fd = c;
        g_health[slot].deadline = mono_ms() + HEALTH_WAIT_MS;
    }
}

static void health_answer(int c, vc_syncer *s, int ready, const char *req);

/* Answer the connections whose request has come; drop the silent ones past
 * their deadline. Never waits. */
static void health_serve(const struct pollfd *p, vc_syncer *s, int ready)
{
    int64_t now = mono_ms();
    for (int i = 0; i < HEALTH_SLOTS; i++) {
        int c = g_health[i].fd;
        if (c < 0)
            continue;
        if (p[i].fd == c && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
            char req[2048];
            ssize_t n = recv(c, req, sizeof req - 1, MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                continue;
            req[n > 0 ? n : 0] = '\0';
            if (n > 0)
                health_answer(c, s, ready, req);
            close(c);
            g_health[i].fd = -1;
        } else if (now >= g_health[i].deadline) {
            close(c);
            g_health[i].fd = -1;
        }
    }
}

static void health_answer(int c, vc_syncer *s, int ready, const char *req)
{
    char body[4096];
    int status = 200;
    if (!strncmp(req, "GET /healthz", 12) || !strncmp(req, "GET /livez", 10)) {
        snprintf(body, sizeof body, "ok\n");
    } else if (!strncmp(req, "GET /readyz", 11)) {
        status = ready ? 200 : 503;
        snprintf(body, sizeof body, "%s\n", ready ? "ok" : "informers not synced");
    } else if (!strncmp(req, "GET /metrics", 12)) {
        vc_syncer_stats st;
        memset(&st, 0, sizeof st);
        st.version = VC_SYNCER_STATS_VERSION;
        vc_syncer_stats_get(s, &st);
        uint64_t classified = st.refused_pod_security + st.refused_by_host + st.refused_name_taken;
        uint64_t other_errors = st.errors > classified ? st.errors - classified : 0;
        snprintf(body, sizeof body,
                 "# TYPE vcluster_syncer_informers_synced gauge\nvcluster_syncer_informers_synced %u\n"
                 "# TYPE vcluster_syncer_informers gauge\nvcluster_syncer_informers %u\n"
                 "# TYPE vcluster_syncer_queue_depth gauge\nvcluster_syncer_queue_depth %u\n"
                 "# TYPE vcluster_syncer_in_flight gauge\nvcluster_syncer_in_flight %u\n"
                 "# TYPE vcluster_syncer_host_writes_total counter\nvcluster_syncer_host_writes_total %llu\n"
                 "# TYPE vcluster_syncer_virtual_writes_total counter\nvcluster_syncer_virtual_writes_total %llu\n"
                 "# HELP vcluster_syncer_errors_total Failed reconciles and writes, by reason.\n"
                 "# TYPE vcluster_syncer_errors_total counter\n"
                 "vcluster_syncer_errors_total{reason=\"pod_security\"} %llu\n"
                 "vcluster_syncer_errors_total{reason=\"host_refused\"} %llu\n"
                 "vcluster_syncer_errors_total{reason=\"name_taken\"} %llu\n"
                 "vcluster_syncer_errors_total{reason=\"other\"} %llu\n"
                 "# TYPE vcluster_syncer_warnings_total counter\nvcluster_syncer_warnings_total %llu\n"
                 "# TYPE vcluster_syncer_relists_total counter\nvcluster_syncer_relists_total %llu\n"
                 "# TYPE vcluster_syncer_reconciles_total counter\nvcluster_syncer_reconciles_total %llu\n"
                 "# TYPE vcluster_syncer_objects gauge\nvcluster_syncer_objects{side=\"virtual\"} %llu\n"
                 "vcluster_syncer_objects{side=\"host\"} %llu\n"
                 "# HELP vcluster_syncer_step_max_seconds The longest step(0) so far (wall clock; CPU time of the loop's thread).\n"
                 "# TYPE vcluster_syncer_step_max_seconds gauge\n"
                 "vcluster_syncer_step_max_seconds{clock=\"wall\"} %.6f\n"
                 "vcluster_syncer_step_max_seconds{clock=\"cpu\"} %.6f\n",
                 st.informers_synced, st.informers, st.queue_depth, st.in_flight,
                 (unsigned long long)st.host_writes, (unsigned long long)st.virtual_writes,
                 (unsigned long long)st.refused_pod_security, (unsigned long long)st.refused_by_host,
                 (unsigned long long)st.refused_name_taken, (unsigned long long)other_errors,
                 (unsigned long long)st.warnings, (unsigned long long)st.relists, (unsigned long long)st.reconciles,
                 (unsigned long long)st.virtual_objects, (unsigned long long)st.host_objects,
                 (double)g_step_max_us / 1e6, (double)g_step_max_cpu_us / 1e6);
    } else {
        status = 404;
        snprintf(body, sizeof body, "not found\n");
    }
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, status == 200 ? "OK" : status == 503 ? "Service Unavailable" : "Not Found", strlen(body));
    if (send(c, head, (size_t)hl, MSG_NOSIGNAL) > 0)
        send(c, body, strlen(body), MSG_NOSIGNAL);
}

/* ---- the kubelet API proxy: an accept thread, a thread per connection ---- */

#define MAX_KUBELET_CONNS 256

static struct {
    vc_kubelet_proxy *proxy;
    int lfd;
    pthread_t accept_th;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fds[MAX_KUBELET_CONNS]; /* connections being served, -1 = free slot */
    int n;
} g_kp = { .lfd = -1, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

typedef struct kp_conn {
    int fd, slot;
} kp_conn;

static void *kp_serve(void *ud)
{
    kp_conn *c = ud;
    int rc = vc_kubelet_proxy_serve(g_kp.proxy, c->fd);
    if (rc < 0 && g_verbose >= VC_LOG_DEBUG)
        log_fn(VC_LOG_DEBUG, "kubelet", vc_error_last()->message, NULL);
    pthread_mutex_lock(&g_kp.mu);
    g_kp.fds[c->slot] = -1;
    g_kp.n--;
    pthread_cond_broadcast(&g_kp.cv);
    pthread_mutex_unlock(&g_kp.mu);
    close(c->fd);
    free(c);
    return NULL;
}

static void *kp_accept(void *ud)
{
    (void)ud;
    for (;;) {
        int fd = accept4(g_kp.lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
                if (errno == EMFILE || errno == ENFILE)
                    usleep(100000);
                continue;
            }
            return NULL; /* the listening socket was shut down */
        }
        pthread_mutex_lock(&g_kp.mu);
        int slot = -1;
        for (int i = 0; i < MAX_KUBELET_CONNS && slot < 0; i++)
            if (g_kp.fds[i] < 0)
                slot = i;
        kp_conn *c = slot >= 0 ? malloc(sizeof *c) : NULL;
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (c) {
            c->fd = fd;
            c->slot = slot;
            g_kp.fds[slot] = fd;
            g_kp.n++;
            if (pthread_create(&th, &attr, kp_serve, c) != 0) {
                g_kp.fds[slot] = -1;
                g_kp.n--;
                free(c);
                c = NULL;
            }
        }
        pthread_attr_destroy(&attr);
        pthread_mutex_unlock(&g_kp.mu);
        if (!c) {
            log_fn(VC_LOG_WARN, "kubelet", "too many kubelet proxy connections: one refused", NULL);
            close(fd);
        }
    }
}

/* Listen on addr ("IP:PORT", IPv4), start the accept thread; *out_ip and
 * *out_port get what fake nodes advertise. */
static int kp_start(const char *addr, const char *client_ca, vc_kube *host, const char *name, const char *host_ns,
                    char *out_ip, size_t ip_cap, int *out_port)
{
    const char *colon = strrchr(addr, ':');
    char ip[64];
    if (!colon || (size_t)(colon - addr) >= sizeof ip || colon == addr) {
        fprintf(stderr, "vcluster-syncer: --kubelet-listen %s: want IP:PORT\n", addr);
        return -1;
    }
    memcpy(ip, addr, (size_t)(colon - addr));
    ip[colon - addr] = '\0';
    int port = atoi(colon + 1);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        inet_pton(AF_INET, ip, &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(fd, 64) < 0) {
        fprintf(stderr, "vcluster-syncer: cannot listen on %s: %s\n", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    *out_port = ntohs(a.sin_port);
    if (!strcmp(ip, "0.0.0.0")) {
        const char *pod_ip = getenv("POD_IP");
        struct in_addr tmp;
        if (!pod_ip || inet_pton(AF_INET, pod_ip, &tmp) != 1) {
            fprintf(stderr, "vcluster-syncer: --kubelet-listen on 0.0.0.0 needs $POD_IP (the address fake nodes "
                            "advertise)\n");
            close(fd);
            return -1;
        }
        snprintf(out_ip, ip_cap, "%s", pod_ip);
    } else {
        snprintf(out_ip, ip_cap, "%s", ip);
    }
    vc_kubelet_proxy_options po;
    vc_kubelet_proxy_options_init(&po, VC_KUBELET_PROXY_OPTIONS_VERSION);
    po.name = name;
    po.host_namespace = host_ns;
    po.client_ca_file = client_ca;
    if (vc_kubelet_proxy_new(&g_kp.proxy, host, &po) < 0) {
        fprintf(stderr, "vcluster-syncer: kubelet proxy: %s\n", vc_error_last()->message);
        close(fd);
        return -1;
    }
    for (int i = 0; i < MAX_KUBELET_CONNS; i++)
        g_kp.fds[i] = -1;
    g_kp.lfd = fd;
    if (pthread_create(&g_kp.accept_th, NULL, kp_accept, NULL) != 0) {
        fprintf(stderr, "vcluster-syncer: kubelet proxy: cannot start a thread\n");
        vc_kubelet_proxy_free(g_kp.proxy);
        g_kp.proxy = NULL;
        close(fd);
        g_kp.lfd = -1;
        return -1;
    }
    g_kp.running = true;
    return 0;
}

/* Stop accepting, end the connections being served (at most 5 s). */
static void kp_stop(void)
{
    if (g_kp.running) {
        shutdown(g_kp.lfd, SHUT_RDWR);
        pthread_join(g_kp.accept_th, NULL);
        close(g_kp.lfd);
        g_kp.lfd = -1;
        g_kp.running = false;
        pthread_mutex_lock(&g_kp.mu);
        for (int i = 0; i < MAX_KUBELET_CONNS; i++)
            if (g_kp.fds[i] >= 0)
                shutdown(g_kp.fds[i], SHUT_RDWR);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        while (g_kp.n > 0 && pthread_cond_timedwait(&g_kp.cv, &g_kp.mu, &until) == 0)
            ;
        pthread_mutex_unlock(&g_kp.mu);
    }
    /* still-running connections hold their own reference on the proxy */
    vc_kubelet_proxy_free(g_kp.proxy);
    g_kp.proxy = NULL;
}

static char *read_file(const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
        if (cap - n < 2) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    if (b)
        b[n] = '\0';
    if (f != stdin)
        fclose(f);
    return b;
}

static const char *event_name(int t)
{
    switch (t) {
    case VC_SYNC_CREATED_HOST: return "created on host";
    case VC_SYNC_UPDATED_HOST: return "updated on host";
    case VC_SYNC_DELETED_HOST: return "deleted on host";
    case VC_SYNC_UPDATED_VIRTUAL: return "updated in virtual";
    case VC_SYNC_DELETED_VIRTUAL: return "deleted in virtual";
    case VC_SYNC_CREATED_VIRTUAL: return "created in virtual";
    case VC_SYNC_BOUND: return "bound";
    case VC_SYNC_ERROR: return "error";
    case VC_SYNC_READY: return "caches synced";
    default: return "?";
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "certs"))
        return certs_main(argc - 1, argv + 1);
    const char *name = NULL, *host_ns = NULL, *host_kc = NULL, *host_ctx = NULL, *virt_kc = NULL, *config = NULL;
    const char *listen_addr = "127.0.0.1:8080", *service_name = NULL;
    const char *kubelet_listen = "127.0.0.1:10250", *kubelet_ca = NULL;
    bool kubelet_listen_set = false;
    uint32_t flags = 0;
    double host_qps = 0;
    int host_burst = 0;
    static const struct option opts[] = {
        { "name", required_argument, 0, 'n' },
        { "host-namespace", required_argument, 0, 'N' },
        { "host-kubeconfig", required_argument, 0, 'H' },
        { "host-context", required_argument, 0, 'C' },
        { "virtual-kubeconfig", required_argument, 0, 'V' },
        { "service-name", required_argument, 0, 'S' },
        { "config", required_argument, 0, 'f' },
        { "listen", required_argument, 0, 'l' },
        { "kubelet-listen", required_argument, 0, 'K' },
        { "kubelet-client-ca", required_argument, 0, 'A' },
        { "no-coredns", no_argument, 0, 'D' },
        { "host-qps", required_argument, 0, 'q' },
        { "host-burst", required_argument, 0, 'b' },
        { "verbose", no_argument, 0, 'v' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "f:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'n': name = optarg; break;
        case 'N': host_ns = optarg; break;
        case 'H': host_kc = optarg; break;
        case 'C': host_ctx = optarg; break;
        case 'V': virt_kc = optarg; break;
        case 'S': service_name = optarg; break;
        case 'f': config = optarg; break;
        case 'l': listen_addr = optarg; break;
        case 'K': kubelet_listen = optarg; kubelet_listen_set = true; break;
        case 'A': kubelet_ca = optarg; break;
        case 'D': flags |= VC_SYNCER_NO_COREDNS; break;
        case 'q': host_qps = atof(optarg); break;
        case 'b': host_burst = atoi(optarg); break;
        case 'v': g_verbose++; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!name || !virt_kc) {
        fprintf(stderr, "vcluster-syncer: --name and --virtual-kubeconfig are required (see --help)\n");
        return 2;
    }
    if (kubelet_listen_set && *kubelet_listen && !kubelet_ca) {
        fprintf(stderr, "vcluster-syncer: --kubelet-listen needs --kubelet-client-ca\n");
        return 2;
    }
    bool kubelet_on = *kubelet_listen && kubelet_ca;
    if (vc_global_init(NULL) < 0) {
        fprintf(stderr, "vcluster-syncer: %s\n", vc_error_last()->message);
        return 1;
    }
    vc_log_set(g_verbose, log_fn, NULL);
    int rc = 1;
    vc_kube *host = NULL, *virt = NULL, *kp_host = NULL;
    char kp_ip[64] = "";
    int kp_port = 0;
    vc_syncer *s = NULL;
    vc_config *cfg = NULL;
    int lfd = -1;
    vc_kube_options ko;
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig = host_kc;
    ko.context = host_ctx;
    if (!host_kc)
        ko.flags = getenv("KUBERNETES_SERVICE_HOST") ? VC_KUBE_IN_CLUSTER : 0;
    if (vc_kube_new(&host, &ko) < 0) {
        fprintf(stderr, "vcluster-syncer: host cluster: %s\n", vc_error_last()->message);
        goto out;
    }
    /* the kubelet proxy's threads get a connection of their own */
    if (kubelet_on && vc_kube_new(&kp_host, &ko) < 0) {
        fprintf(stderr, "vcluster-syncer: host cluster: %s\n", vc_error_last()->message);
        goto out;
    }
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig = virt_kc;
    if (vc_kube_new(&virt, &ko) < 0) {
        fprintf(stderr, "vcluster-syncer: virtual cluster: %s\n", vc_error_last()->message);
        goto out;
    }
    /* parsed once, here (FILE:LINE:COL errors); the syncer takes the values */
    if (config) {
        char *text = read_file(config); /* "-" is stdin */
        if (!text) {
            fprintf(stderr, "vcluster-syncer: %s: %s\n", config, strerror(errno));
            goto out;
        }
        int crc = vc_config_new(&cfg);
        if (crc == VC_OK)
            crc = vc_config_load_string(cfg, text, strcmp(config, "-") ? config : "<stdin>");
        free(text);
        if (crc < 0) {
            fprintf(stderr, "vcluster-syncer: %s\n", vc_error_last()->message);
            goto out;
        }
    }
    vc_syncer_options so;
    vc_syncer_options_init(&so, VC_SYNCER_OPTIONS_VERSION);
    so.name = name;
    so.host_namespace = host_ns ? host_ns : (host_kc ? NULL : vc_kube_namespace(host));
    so.service_name = service_name;
    so.config = cfg;
    so.flags = flags;
    so.host_qps = host_qps;
    so.host_burst = host_burst;
    if (kubelet_on) {
        signal(SIGPIPE, SIG_IGN);
        if (kp_start(kubelet_listen, kubelet_ca, kp_host, name, so.host_namespace, kp_ip, sizeof kp_ip, &kp_port) < 0)
            goto out;
        so.kubelet_address = kp_ip;
        so.kubelet_port = kp_port;
        fprintf(stderr, "vcluster-syncer: kubelet proxy on %s (fake nodes advertise %s:%d)\n", kubelet_listen, kp_ip,
                kp_port);
    } else if (*kubelet_listen) {
        fprintf(stderr, "vcluster-syncer: kubelet proxy off (no --kubelet-client-ca): kubectl logs/exec will not work "
                        "in the virtual cluster\n");
    }
    if (vc_syncer_new(&s, host, virt, &so) < 0) {
        fprintf(stderr, "vcluster-syncer: %s\n", vc_error_last()->message);
        goto out;
    }
    g_syncer = s;
    if (listen_addr && *listen_addr && (lfd = listen_on(listen_addr)) < 0) {
        fprintf(stderr, "vcluster-syncer: cannot listen on %s: %s\n", listen_addr, strerror(errno));
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "vcluster-syncer: syncing virtual cluster %s into host namespace %s\n", name,
            so.host_namespace ? so.host_namespace : "(vcluster-NAME)");
    int ready = 0;
    bool stopping = false;
    health_init();
#ifdef __GLIBC__
    struct timespec last_trim = { 0, 0 };
#endif
    for (;;) {
        if (g_stop && !stopping) {
            stopping = true;
            fprintf(stderr, "vcluster-syncer: stopping\n");
            vc_syncer_stop(s);
        }
        int64_t ms = -1;
        vc_syncer_get_timeout(s, &ms);
        if (ms < 0 || ms > 1000)
            ms = 1000;
        /* the syncer, the health listener, the health connections waiting */
        struct pollfd p[2 + HEALTH_SLOTS];
        p[0] = (struct pollfd){ vc_syncer_get_fd(s), POLLIN, 0 };
        p[1] = (struct pollfd){ lfd, POLLIN, 0 };
        for (int i = 0; i < HEALTH_SLOTS; i++) {
            p[2 + i] = (struct pollfd){ g_health[i].fd, POLLIN, 0 };
            if (g_health[i].fd >= 0 && ms > HEALTH_WAIT_MS)
                ms = HEALTH_WAIT_MS;
        }
        int np = poll(p, 2 + HEALTH_SLOTS, (int)ms);
        if (np > 0 && lfd >= 0 && (p[1].revents & POLLIN))
            health_accept(lfd);
        health_serve(p + 2, s, ready);
        int32_t st;
        int64_t t0 = clock_us(CLOCK_MONOTONIC), c0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
        if (vc_syncer_step(s, 0, &st) < 0) {
            fprintf(stderr, "vcluster-syncer: %s\n", vc_error_last()->message);
            goto out;
        }
        int64_t wall = clock_us(CLOCK_MONOTONIC) - t0, cpu = clock_us(CLOCK_THREAD_CPUTIME_ID) - c0;
        if (wall > g_step_max_us)
            g_step_max_us = wall;
        if (cpu > g_step_max_cpu_us)
            g_step_max_cpu_us = cpu;
        vc_sync_event *ev;
        while (vc_syncer_next_event(&ev, s) == VC_OK) {
            if (ev->type == VC_SYNC_READY)
                ready = 1;
            if (ev->type == VC_SYNC_ERROR)
                log_fn(VC_LOG_WARN, "sync", ev->error->message, NULL);
            else if (g_verbose >= VC_LOG_INFO && ev->type != VC_SYNC_UPDATED_VIRTUAL) {
                char line[1024];
                snprintf(line, sizeof line, "%s %s%s%s%s%s: %s", ev->kind, ev->virtual_namespace,
                         *ev->virtual_namespace ? "/" : "", ev->virtual_name, *ev->host_name ? " -> " : "",
                         ev->host_name, event_name(ev->type));
                log_fn(VC_LOG_INFO, "sync", line, NULL);
            }
            vc_sync_event_free(ev);
        }
        if (st == VC_STEP_STOPPED)
            break;
#ifdef __GLIBC__
        /* Give freed heap pages back once a second while busy: a burst frees
         * and allocates many small objects (parsed JSON), and glibc keeps
         * the holes resident otherwise. Costs well under a millisecond. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (st == VC_STEP_PROGRESS && now.tv_sec != last_trim.tv_sec) {
            last_trim = now;
            malloc_trim(0);
        }
#endif
    }
    rc = 0;
out:
    g_syncer = NULL;
    if (lfd >= 0)
        close(lfd);
    kp_stop();
    vc_syncer_free(s);
    vc_kube_free(host);
    vc_kube_free(kp_host);
    vc_kube_free(virt);
    vc_config_free(cfg);
    vc_global_shutdown();
    return rc;
}

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

static volatile sig_atomic_t g_stop;
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

static void serve_one(int lfd, vc_syncer *s, int ready)
{
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    struct pollfd p = { c, POLLIN, 0 };
    char req[2048] = "";
    if (poll(&p, 1, 1000) > 0) {
        ssize_t n = read(c, req, sizeof req - 1);
        if (n > 0)
            req[n] = '\0';
    }
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
        snprintf(body, sizeof body,
                 "# TYPE vcluster_syncer_informers_synced gauge\nvcluster_syncer_informers_synced %u\n"
                 "# TYPE vcluster_syncer_informers gauge\nvcluster_syncer_informers %u\n"
                 "# TYPE vcluster_syncer_queue_depth gauge\nvcluster_syncer_queue_depth %u\n"
                 "# TYPE vcluster_syncer_in_flight gauge\nvcluster_syncer_in_flight %u\n"
                 "# TYPE vcluster_syncer_host_writes_total counter\nvcluster_syncer_host_writes_total %llu\n"
                 "# TYPE vcluster_syncer_virtual_writes_total counter\nvcluster_syncer_virtual_writes_total %llu\n"
                 "# TYPE vcluster_syncer_errors_total counter\nvcluster_syncer_errors_total %llu\n"
                 "# TYPE vcluster_syncer_relists_total counter\nvcluster_syncer_relists_total %llu\n"
                 "# TYPE vcluster_syncer_reconciles_total counter\nvcluster_syncer_reconciles_total %llu\n"
                 "# TYPE vcluster_syncer_objects gauge\nvcluster_syncer_objects{side=\"virtual\"} %llu\n"
                 "vcluster_syncer_objects{side=\"host\"} %llu\n",
                 st.informers_synced, st.informers, st.queue_depth, st.in_flight,
                 (unsigned long long)st.host_writes, (unsigned long long)st.virtual_writes,
                 (unsigned long long)st.errors, (unsigned long long)st.relists, (unsigned long long)st.reconciles,
                 (unsigned long long)st.virtual_objects, (unsigned long long)st.host_objects);
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
    close(c);
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
    const char *name = NULL, *host_ns = NULL, *host_kc = NULL, *host_ctx = NULL, *virt_kc = NULL, *config = NULL;
    const char *listen_addr = "127.0.0.1:8080", *service_name = NULL;
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
    if (vc_global_init(NULL) < 0) {
        fprintf(stderr, "vcluster-syncer: %s\n", vc_error_last()->message);
        return 1;
    }
    vc_log_set(g_verbose, log_fn, NULL);
    int rc = 1;
    vc_kube *host = NULL, *virt = NULL;
    vc_syncer *s = NULL;
    char *cfg_text = NULL;
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
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig = virt_kc;
    if (vc_kube_new(&virt, &ko) < 0) {
        fprintf(stderr, "vcluster-syncer: virtual cluster: %s\n", vc_error_last()->message);
        goto out;
    }
    if (config && !(cfg_text = read_file(config))) {
        fprintf(stderr, "vcluster-syncer: %s: %s\n", config, strerror(errno));
        goto out;
    }
    vc_syncer_options so;
    vc_syncer_options_init(&so, VC_SYNCER_OPTIONS_VERSION);
    so.name = name;
    so.host_namespace = host_ns ? host_ns : (host_kc ? NULL : vc_kube_namespace(host));
    so.service_name = service_name;
    so.config_yaml = cfg_text;
    so.flags = flags;
    so.host_qps = host_qps;
    so.host_burst = host_burst;
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
        struct pollfd p[2] = { { vc_syncer_get_fd(s), POLLIN, 0 }, { lfd, POLLIN, 0 } };
        int np = poll(p, lfd >= 0 ? 2 : 1, (int)ms);
        if (np > 0 && lfd >= 0 && (p[1].revents & POLLIN))
            serve_one(lfd, s, ready);
        vc_step_state st;
        if (vc_syncer_step(s, 0, &st) < 0) {
            fprintf(stderr, "vcluster-syncer: %s\n", vc_error_last()->message);
            goto out;
        }
        vc_sync_event *ev;
        while (vc_syncer_next_event(&ev, s) == VC_OK) {
            if (ev->type == VC_SYNC_READY)
                ready = 1;
            if (ev->type == VC_SYNC_ERROR)
                log_fn(VC_LOG_WARN, "sync", ev->error.message, NULL);
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
    vc_syncer_free(s);
    vc_kube_free(host);
    vc_kube_free(virt);
    free(cfg_text);
    vc_global_shutdown();
    return rc;
}

/*
 * vcluster-syncer: the syncer daemon. The step loop of the public API plus
 * flags, signals, the kubelet API proxy for the fake nodes, and the health
 * and metrics endpoint (http.c, on a thread of its own). Uses only
 * <vcluster.h>.
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

#include "daemon.h"

#include "certs.h"
#include "lb.h"

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

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vcluster-syncer --name NAME [options]\n"
            "       vcluster-syncer certs --name NAME [--pki-dir DIR] ...  (init container; certs --help)\n"
            "       vcluster-syncer lb --listen ADDR:PORT --backend ADDR:PORT ...  (API server balancer; lb --help)\n"
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
            "  --listen ADDR:PORT          health and metrics endpoint: /healthz /livez /readyz /metrics\n"
            "                              (default 127.0.0.1:8080; \"\" to disable)\n"
            "  --http-max-connections N    open connections to that endpoint at most (default 64; the oldest\n"
            "                              one still sending its request gives way)\n"
            "  --http-timeout SECONDS      time a client has to send its request (default 5)\n"
            "  --kubelet-listen ADDR:PORT  kubelet API proxy for the fake nodes: kubectl logs/exec/attach/\n"
            "                              port-forward (default 127.0.0.1:10250; \"\" to disable; port 0: any).\n"
            "                              Fake nodes advertise ADDR, or $POD_IP when ADDR is 0.0.0.0\n"
            "  --kubelet-client-ca FILE    CA of the virtual API server's kubelet client certificate\n"
            "                              (--kubelet-client-certificate); without it the proxy is off\n"
            "  --no-coredns                do not deploy CoreDNS into the virtual cluster\n"
            "  --host-qps N                write rate toward the host (default 200)\n"
            "  --host-burst N              burst of writes toward the host (default 400)\n"
            "  --leader-elect[=BOOL]       elect a leader among the syncers of this virtual cluster (a Lease\n"
            "                              in the host namespace); only the leader writes (default false)\n"
            "  --leader-elect-lease-duration DUR  how long a leader's Lease is valid for the others (15s)\n"
            "  --leader-elect-renew-deadline DUR  the leader stops writing when it has not renewed for\n"
            "                              this long (10s); less than the lease duration\n"
            "  --leader-elect-retry-period DUR    between tries and renewals (2s)\n"
            "  --leader-elect-resource-name NAME  the Lease (default vcluster-NAME-controller)\n"
            "  --leader-elect-identity ID  holder identity (default: host name + a random suffix)\n"
            "                              (DUR: 15s, 500ms, 1m30s, or seconds as a number)\n"
            "  --log-format text|json      log lines as text (default) or JSON objects (ts, level, logger,\n"
            "                              msg); timestamps are RFC 3339 in UTC\n"
            "  -v, --verbose               debug logging (twice: trace)\n"
            "  -h, --help                  this help\n");
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
        logf_(VC_LOG_ERROR, "kubelet", "--kubelet-listen %s: want IP:PORT", addr);
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
        logf_(VC_LOG_ERROR, "kubelet", "cannot listen on %s: %s", addr, strerror(errno));
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
            logf_(VC_LOG_ERROR, "kubelet", "--kubelet-listen on 0.0.0.0 needs $POD_IP (the address fake nodes advertise)");
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
        logf_(VC_LOG_ERROR, "kubelet", "%s", vc_error_last()->message);
        close(fd);
        return -1;
    }
    for (int i = 0; i < MAX_KUBELET_CONNS; i++)
        g_kp.fds[i] = -1;
    g_kp.lfd = fd;
    if (pthread_create(&g_kp.accept_th, NULL, kp_accept, NULL) != 0) {
        logf_(VC_LOG_ERROR, "kubelet", "cannot start a thread");
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

/* A Go-style duration ("15s", "500ms", "1m30s", "2h") or plain seconds,
 * in ms; -1 when malformed or out of range. */
static int32_t parse_duration(const char *v)
{
    if (!v || !*v)
        return -1;
    char *end;
    double secs = strtod(v, &end);
    if (*end == '\0')
        return secs > 0 && secs < 2e6 ? (int32_t)(secs * 1000.0 + 0.5) : -1;
    double total = 0;
    const char *p = v;
    while (*p) {
        double n = strtod(p, &end);
        if (end == p || n < 0)
            return -1;
        p = end;
        double mul;
        if (!strncmp(p, "ms", 2)) {
            mul = 1;
            p += 2;
        } else if (*p == 's') {
            mul = 1000;
            p++;
        } else if (*p == 'm') {
            mul = 60000;
            p++;
        } else if (*p == 'h') {
            mul = 3600000;
            p++;
        } else {
            return -1;
        }
        total += n * mul;
    }
    return total > 0 && total < 2e9 ? (int32_t)(total + 0.5) : -1;
}

/* "--flag" (true) or "--flag=true|false|1|0": 0, or -1 when malformed. */
static int opt_bool(const char *arg, bool *out)
{
    const char *eq = strchr(arg, '=');
    if (!eq || !strcmp(eq + 1, "true") || !strcmp(eq + 1, "1"))
        *out = true;
    else if (!strcmp(eq + 1, "false") || !strcmp(eq + 1, "0"))
        *out = false;
    else
        return -1;
    return 0;
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
    case VC_SYNC_LEADER_ACQUIRED: return "leads";
    case VC_SYNC_LEADER_LOST: return "stopped leading";
    case VC_SYNC_LEADER_CHANGED: return "is the leader seen";
    default: return "?";
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "certs"))
        return certs_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "lb"))
        return lb_main(argc - 1, argv + 1);
    const char *name = NULL, *host_ns = NULL, *host_kc = NULL, *host_ctx = NULL, *virt_kc = NULL, *config = NULL;
    const char *listen_addr = "127.0.0.1:8080", *service_name = NULL;
    const char *kubelet_listen = "127.0.0.1:10250", *kubelet_ca = NULL;
    bool kubelet_listen_set = false;
    uint32_t flags = 0;
    double host_qps = 0;
    int host_burst = 0;
    bool leader_elect = false;
    int32_t le_ms[3] = { 0, 0, 0 }; /* lease duration, renew deadline, retry period */
    const char *le_name = NULL, *le_id = NULL;
    static const char *const le_flags[3] = { "--leader-elect-lease-duration", "--leader-elect-renew-deadline",
                                             "--leader-elect-retry-period" };
    log_format log_fmt = LOG_TEXT;
    http_limits hl = { .max_conns = 64, .read_timeout_ms = 5000, .write_timeout_ms = 10000,
                       .metrics_wait_ms = 2000, .stall_ms = 60000 };
    metrics_set_start_time();
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
        { "leader-elect", optional_argument, 0, 'E' },
        { "leader-elect-lease-duration", required_argument, 0, 1001 },
        { "leader-elect-renew-deadline", required_argument, 0, 1002 },
        { "leader-elect-retry-period", required_argument, 0, 1003 },
        { "leader-elect-resource-name", required_argument, 0, 1004 },
        { "leader-elect-identity", required_argument, 0, 1005 },
        { "log-format", required_argument, 0, 'L' },
        { "http-max-connections", required_argument, 0, 'M' },
        { "http-timeout", required_argument, 0, 'T' },
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
        case 'E':
            /* --leader-elect alone, or =true/=false (client-go's bool flag) */
            if (opt_bool(argv[optind - 1], &leader_elect) < 0) {
                fprintf(stderr, "vcluster-syncer: %s: want --leader-elect[=true|false]\n", argv[optind - 1]);
                return 2;
            }
            break;
        case 1001:
        case 1002:
        case 1003:
            if ((le_ms[c - 1001] = parse_duration(optarg)) < 0) {
                fprintf(stderr, "vcluster-syncer: %s %s: want a duration such as 15s or 500ms\n", le_flags[c - 1001],
                        optarg);
                return 2;
            }
            break;
        case 1004: le_name = optarg; break;
        case 1005: le_id = optarg; break;
        case 'L':
            if (!strcmp(optarg, "json")) {
                log_fmt = LOG_JSON;
            } else if (!strcmp(optarg, "text")) {
                log_fmt = LOG_TEXT;
            } else {
                fprintf(stderr, "vcluster-syncer: --log-format %s: want text or json\n", optarg);
                return 2;
            }
            break;
        case 'M':
            hl.max_conns = atoi(optarg);
            if (hl.max_conns < 1 || hl.max_conns > 4096) {
                fprintf(stderr, "vcluster-syncer: --http-max-connections %s: want 1..4096\n", optarg);
                return 2;
            }
            break;
        case 'T': {
            double sec = atof(optarg);
            if (!(sec > 0 && sec <= 3600)) {
                fprintf(stderr, "vcluster-syncer: --http-timeout %s: want seconds, more than 0\n", optarg);
                return 2;
            }
            hl.read_timeout_ms = (int)(sec * 1000);
            if (hl.read_timeout_ms < 1)
                hl.read_timeout_ms = 1;
            break;
        }
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
    log_setup(log_fmt, g_verbose);
    vc_log_set(g_verbose, log_fn, NULL);
    int rc = 1;
    vc_kube *host = NULL, *virt = NULL, *kp_host = NULL;
    char kp_ip[64] = "";
    int kp_port = 0;
    vc_syncer *s = NULL;
    vc_config *cfg = NULL;
    bool http_on = false;
    vc_kube_options ko;
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig = host_kc;
    ko.context = host_ctx;
    if (!host_kc)
        ko.flags = getenv("KUBERNETES_SERVICE_HOST") ? VC_KUBE_IN_CLUSTER : 0;
    if (vc_kube_new(&host, &ko) < 0) {
        logf_(VC_LOG_ERROR, "syncer", "host cluster: %s", vc_error_last()->message);
        goto out;
    }
    /* the kubelet proxy's threads get a connection of their own */
    if (kubelet_on && vc_kube_new(&kp_host, &ko) < 0) {
        logf_(VC_LOG_ERROR, "syncer", "host cluster: %s", vc_error_last()->message);
        goto out;
    }
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig = virt_kc;
    if (vc_kube_new(&virt, &ko) < 0) {
        logf_(VC_LOG_ERROR, "syncer", "virtual cluster: %s", vc_error_last()->message);
        goto out;
    }
    /* parsed once, here (FILE:LINE:COL errors); the syncer takes the values */
    if (config) {
        char *text = read_file(config); /* "-" is stdin */
        if (!text) {
            logf_(VC_LOG_ERROR, "syncer", "%s: %s", config, strerror(errno));
            goto out;
        }
        int crc = vc_config_new(&cfg);
        if (crc == VC_OK)
            crc = vc_config_load_string(cfg, text, strcmp(config, "-") ? config : "<stdin>");
        free(text);
        if (crc < 0) {
            logf_(VC_LOG_ERROR, "syncer", "%s", vc_error_last()->message);
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
    if (leader_elect) {
        so.flags |= VC_SYNCER_LEADER_ELECT;
        so.lease_duration_ms = le_ms[0];
        so.renew_deadline_ms = le_ms[1];
        so.retry_period_ms = le_ms[2];
        so.leader_lease_name = le_name;
        so.leader_identity = le_id;
    }
    if (leader_elect) {
        /* the library's default Lease name: vcluster-NAME-controller */
        char lease[256];
        snprintf(lease, sizeof lease, le_name ? "%s" : "vcluster-%s-controller", le_name ? le_name : name);
        metrics_set_leader_election(lease);
        http_set_leader(true, false, false);
    }
    if (kubelet_on) {
        signal(SIGPIPE, SIG_IGN);
        if (kp_start(kubelet_listen, kubelet_ca, kp_host, name, so.host_namespace, kp_ip, sizeof kp_ip, &kp_port) < 0)
            goto out;
        so.kubelet_address = kp_ip;
        so.kubelet_port = kp_port;
        logf_(VC_LOG_INFO, "kubelet", "kubelet proxy on %s (fake nodes advertise %s:%d)", kubelet_listen, kp_ip,
                kp_port);
    } else if (*kubelet_listen) {
        logf_(VC_LOG_WARN, "kubelet", "kubelet proxy off (no --kubelet-client-ca): kubectl logs/exec will not work "
                        "in the virtual cluster");
    }
    if (vc_syncer_new(&s, host, virt, &so) < 0) {
        logf_(VC_LOG_ERROR, "syncer", "%s", vc_error_last()->message);
        goto out;
    }
    g_syncer = s;
    if (listen_addr && *listen_addr) {
        if (http_start(listen_addr, &hl, s) < 0) {
            logf_(VC_LOG_ERROR, "http", "cannot listen on %s: %s", listen_addr, strerror(errno));
            goto out;
        }
        http_on = true;
        logf_(VC_LOG_INFO, "http", "/healthz /readyz /metrics on %s (at most %d connections, %d ms to send a request)",
              listen_addr, hl.max_conns, hl.read_timeout_ms);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    logf_(VC_LOG_INFO, "syncer", "syncing virtual cluster %s into host namespace %s", name,
          so.host_namespace ? so.host_namespace : "(vcluster-NAME)");
    bool ready = false;
    bool stopping = false;
    bool leading = false, leader_seen = false; /* --leader-elect */
#ifdef __GLIBC__
    struct timespec last_trim = { 0, 0 };
#endif
    for (;;) {
        if (g_stop && !stopping) {
            stopping = true;
            logf_(VC_LOG_INFO, "syncer", "stopping");
            vc_syncer_stop(s);
        }
        int64_t ms = -1;
        vc_syncer_get_timeout(s, &ms);
        if (ms < 0 || ms > 1000)
            ms = 1000; /* the loop turns at least once a second (/healthz watches it) */
        struct pollfd p = { vc_syncer_get_fd(s), POLLIN, 0 };
        poll(&p, 1, (int)ms);
        int32_t st;
        int64_t t0 = clock_us(CLOCK_MONOTONIC), c0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
        if (vc_syncer_step(s, 0, &st) < 0) {
            logf_(VC_LOG_ERROR, "syncer", "%s", vc_error_last()->message);
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
                ready = true;
            if (ev->type == VC_SYNC_LEADER_ACQUIRED || ev->type == VC_SYNC_LEADER_LOST ||
                ev->type == VC_SYNC_LEADER_CHANGED) {
                if (ev->type != VC_SYNC_LEADER_LOST)
                    leader_seen = true;
                leading = ev->type == VC_SYNC_LEADER_ACQUIRED;
                http_set_leader(true, leading, leader_seen);
                logf_(VC_LOG_INFO, "main", "leader election: %s %s (Lease %s)", ev->host_name, event_name(ev->type),
                      ev->virtual_name);
            }
            if (ev->type == VC_SYNC_ERROR)
                log_event(VC_LOG_WARN, ev, event_name(ev->type));
            else if (ev->type != VC_SYNC_UPDATED_VIRTUAL)
                log_event(VC_LOG_INFO, ev, event_name(ev->type));
            vc_sync_event_free(ev);
        }
        /* heartbeat, readiness, and the numbers /metrics asked for */
        http_loop_turn(s, ready, (double)g_step_max_us / 1e6, (double)g_step_max_cpu_us / 1e6);
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
    if (http_on)
        http_stop(); /* before the syncer goes: the HTTP thread wakes it */
    g_syncer = NULL;
    kp_stop();
    vc_syncer_free(s);
    vc_kube_free(host);
    vc_kube_free(kp_host);
    vc_kube_free(virt);
    vc_config_free(cfg);
    vc_global_shutdown();
    return rc;
}

/* The syncer daemon's HTTP endpoint, metrics and logs (issue 17 item 4):
 * the daemon built from examples/controller (`vcluster-syncer`, from
 * VC_SYNCER_BIN) against the shared host cluster and a bare virtual control
 * plane (vcenv.h).
 *
 *  - /healthz answers at once while 20 idle connections (more than the
 *    daemon's cap of 16) and a slowloris client (a byte every 200 ms) are
 *    open, and syncing is not slowed: the time for a virtual Service to
 *    reach the host is measured without and with them (both printed);
 *    the idle and the slow connections are cut at the read timeout (2 s);
 *  - /metrics: every family has # HELP and # TYPE, the controller-runtime
 *    and client-go names and labels are there (reconcile totals by
 *    controller and result, reconcile-time and queue histograms, workqueue
 *    depth/adds/retries, rest_client_requests_total{code,host,method}),
 *    process_* and vcluster_build_info; counters move when a Service is
 *    synced (success reconciles, POST 201 to the host);
 *  - logs: with --log-format json every line is a JSON object with an
 *    RFC 3339 ts, level, logger and msg, sync events carry kind/name
 *    fields; with text every line starts with the RFC 3339 time; a bad
 *    --log-format is refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "translate/translate.h"
#include "vcenv.h"

#define VNS "web"
#define IDLE_CONNS 20
#define MAX_CONNS 16

static const char *SYNCER_BIN;
static char NAME[32], HNS[64], WORK[128], LOG[256];
static vcenv ENV;
static bool env_up;
static vc_kube *H, *V;
static vc_translator *TR;
static pid_t SYNCER;
static int PORT;

static int64_t now_ms(void)
{
    (void)kget;
    return vc__now_ms();
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* ---- the slowloris client: a request head sent a byte every 200 ms ---- */

static int slow_fd = -1;
static int64_t slow_next, slow_opened;
static size_t slow_sent;
static int64_t slow_closed_after = -1; /* ms from open to the server's close */

static void slowloris_tick(void)
{
    static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    if (slow_fd < 0)
        return;
    int64_t t = now_ms();
    char b[64];
    ssize_t r = recv(slow_fd, b, sizeof b, MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        slow_closed_after = t - slow_opened;
        close(slow_fd);
        slow_fd = -1;
        return;
    }
    if (t >= slow_next && slow_sent < sizeof head - 1) {
        if (send(slow_fd, head + slow_sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
            slow_sent++;
        slow_next = t + 200;
    }
}

static void slowloris_open(void)
{
    slow_fd = tcp_connect(PORT);
    slow_opened = now_ms();
    slow_next = slow_opened;
    slow_sent = 0;
    slow_closed_after = -1;
}

/* GET path: status code (0: none) and the whole answer into out within
 * deadline_ms; *took_ms the time to the end of the answer. */
static int http_get(const char *path, int deadline_ms, char *out, size_t cap, int64_t *took_ms)
{
    out[0] = '\0';
    int64_t t0 = now_ms();
    int fd = tcp_connect(PORT);
    if (fd < 0)
        return 0;
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return 0;
    }
    size_t got = 0;
    int64_t end = t0 + deadline_ms;
    while (got + 1 < cap && now_ms() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 20) <= 0) {
            slowloris_tick();
            continue;
        }
        ssize_t r = read(fd, out + got, cap - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
    if (took_ms)
        *took_ms = now_ms() - t0;
    int code = 0;
    if (sscanf(out, "HTTP/1.1 %d", &code) != 1)
        code = 0;
    return code;
}

/* ---- the syncer ---- */

static pid_t spawn(const char *log, const char *const *extra)
{
    char port[64];
    snprintf(port, sizeof port, "127.0.0.1:%d", PORT);
    const char *argv[40];
    int n = 0;
    argv[n++] = SYNCER_BIN;
    argv[n++] = "--name";
    argv[n++] = NAME;
    argv[n++] = "--host-namespace";
    argv[n++] = HNS;
    argv[n++] = "--host-kubeconfig";
    argv[n++] = itest_kubeconfig();
    argv[n++] = "--virtual-kubeconfig";
    argv[n++] = ENV.kubeconfig;
    argv[n++] = "--listen";
    argv[n++] = port;
    argv[n++] = "--no-coredns";
    for (int i = 0; extra && extra[i] && n < 38; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(SYNCER_BIN, (char *const *)argv);
        _exit(127);
    }
    printf("# syncer pid %d, log %s\n", (int)pid, log);
    return pid;
}

static int stop(pid_t pid)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    int st = -1;
    int64_t end = now_ms() + 30000;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        sleep_ms(50);
    }
    return st;
}

static void cleanup(void)
{
    if (SYNCER > 0)
        stop(SYNCER);
    SYNCER = 0;
    if (H && HNS[0]) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/namespaces/%s", HNS);
        vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
    }
    vc_translator_free(TR);
    TR = NULL;
    vc_kube_free(H);
    vc_kube_free(V);
    H = V = NULL;
    if (env_up)
        vcenv_down(&ENV);
    env_up = false;
}

static void on_term(int sig)
{
    fprintf(stderr, "# signal %d: cleaning up\n", sig);
    cleanup();
    _exit(1);
}

/* Create Service `svc` inside; ms until its host twin exists (-1: not in 60 s). */
static int64_t service_to_host(const char *svc)
{
    char buf[512], path[256];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"selector\":{\"app\":\"x\"},\"ports\":[{\"port\":80}]}}",
             svc);
    vc_buf hn = VC_BUF_INIT;
    if (vc_translate_host_name(&hn, TR, "Service", VNS, svc) != VC_OK)
        return -1;
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services/%s", HNS, hn.ptr);
    vc_buf_dispose(&hn);
    int64_t t0 = now_ms();
    if (kcreate(V, "/api/v1/namespaces/" VNS "/services", buf) != VC_OK)
        return -1;
    while (now_ms() - t0 < 60000) {
        if (vc_kube_request(H, NULL, NULL, "GET", path, NULL, NULL) == VC_OK)
            return now_ms() - t0;
        for (int i = 0; i < 2; i++) {
            slowloris_tick();
            sleep_ms(5);
        }
    }
    return -1;
}

/* ---- metrics text ---- */

/* The value of the sample whose line starts with `series` + " ", or -1. */
static double sample(const char *text, const char *series)
{
    size_t l = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (!strncmp(p, series, l) && p[l] == ' ')
            return strtod(p + l + 1, NULL);
    }
    return -1;
}

/* Every sample line belongs to a family with # HELP and # TYPE before it,
 * every line is well formed, histogram buckets are cumulative. Returns the
 * number of problems (printed). */
static int check_exposition(const char *text, int *out_families)
{
    char helped[256][96], typed[256][96];
    int nh = 0, nt = 0, bad = 0;
    regex_t re;
    regcomp(&re, "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\",?)*\\})? [-+0-9.eEInfa]+$",
            REG_EXTENDED | REG_NOSUB);
    double last_bucket = -1;
    char last_series[256] = "";
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(l < sizeof line - 1 ? l : sizeof line - 1), p);
        p += l + (e ? 1 : 0);
        char name[96];
        if (!strncmp(line, "# HELP ", 7)) {
            if (sscanf(line + 7, "%95s", name) == 1 && nh < 256)
                snprintf(helped[nh++], 96, "%s", name);
            continue;
        }
        if (!strncmp(line, "# TYPE ", 7)) {
            char type[32];
            if (sscanf(line + 7, "%95s %31s", name, type) == 2 && nt < 256) {
                snprintf(typed[nt++], 96, "%s", name);
                if (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "histogram")) {
                    fprintf(stderr, "# bad type: %s\n", line);
                    bad++;
                }
            }
            continue;
        }
        if (!*line)
            continue;
        if (regexec(&re, line, 0, NULL, 0) != 0) {
            fprintf(stderr, "# malformed: %s\n", line);
            bad++;
            continue;
        }
        size_t nl = strcspn(line, "{ ");
        snprintf(name, sizeof name, "%.*s", (int)nl, line);
        char fam[96];
        snprintf(fam, sizeof fam, "%s", name);
        static const char *const sfx[] = { "_bucket", "_sum", "_count" };
        bool found = false;
        for (int pass = 0; pass < 2 && !found; pass++) {
            for (int i = 0; i < nh && !found; i++)
                if (!strcmp(helped[i], fam))
                    for (int j = 0; j < nt && !found; j++)
                        found = !strcmp(typed[j], fam);
            if (!found && pass == 0) {
                for (int k = 0; k < 3; k++) {
                    size_t fl = strlen(name), sl = strlen(sfx[k]);
                    if (fl > sl && !strcmp(name + fl - sl, sfx[k])) {
                        snprintf(fam, sizeof fam, "%.*s", (int)(fl - sl), name);
                        break;
                    }
                }
            }
        }
        if (!found) {
            fprintf(stderr, "# no HELP/TYPE for %s\n", line);
            bad++;
        }
        /* buckets of one series rise */
        const char *le = strstr(line, ",le=\"");
        if (strstr(name, "_bucket") && le) {
            char series[256];
            snprintf(series, sizeof series, "%.*s", (int)(le - line), line);
            double v = strtod(strrchr(line, ' ') + 1, NULL);
            if (!strcmp(series, last_series) && v < last_bucket) {
                fprintf(stderr, "# bucket falls: %s\n", line);
                bad++;
            }
            snprintf(last_series, sizeof last_series, "%s", series);
            last_bucket = v;
        }
    }
    regfree(&re);
    *out_families = nt;
    return bad;
}

/* ---- tests ---- */

static void t_setup(void)
{
    const char *kc = itest_kubeconfig();
    itest_name(NAME, sizeof NAME, "vcd");
    snprintf(HNS, sizeof HNS, "vcluster-%s", NAME);
    CHECK_INT(vcenv_up(&ENV), 0);
    env_up = true;
    H = kube_for(kc);
    V = kube_for(ENV.kubeconfig);
    vc_translate_options to;
    vc_translate_options_init(&to, VC_TRANSLATE_OPTIONS_VERSION);
    to.name = NAME;
    to.host_namespace = HNS;
    CHECK(H && V && vc_translator_new(&TR, &to) == VC_OK);
    if (!H || !V || !TR)
        return;
    char buf[512], path[256];
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", HNS);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", buf), VC_OK);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services", HNS);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"ports\":[{\"name\":\"https\",\"port\":443,\"targetPort\":8443}]}}",
             NAME);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" VNS "\"}}"),
              VC_OK);
    PORT = free_port();
    CHECK(PORT > 0);
    snprintf(LOG, sizeof LOG, "%s/syncer-json.log", WORK);
    static const char *const extra[] = { "--log-format", "json", "--http-max-connections", "16", "--http-timeout",
                                         "2", NULL };
    SYNCER = spawn(LOG, extra);
    CHECK(SYNCER > 0);
    char ans[4096];
    int code = 0;
    for (int64_t end = now_ms() + 60000; now_ms() < end && code != 200; sleep_ms(200))
        code = http_get("/healthz", 2000, ans, sizeof ans, NULL);
    CHECK_INT(code, 200);
    code = 0;
    for (int64_t end = now_ms() + 120000; now_ms() < end && code != 200; sleep_ms(200))
        code = http_get("/readyz", 2000, ans, sizeof ans, NULL);
    CHECK_INT(code, 200);
    CHECK_INT(http_get("/nope", 2000, ans, sizeof ans, NULL), 404);
}

static void t_idle_and_slow_clients(void)
{
    if (SYNCER <= 0)
        return;
    char ans[4096];
    /* baseline: no other client */
    int64_t base = service_to_host("before");
    int64_t hz_base = 0;
    for (int i = 0; i < 5; i++) {
        int64_t took = 0;
        CHECK_INT(http_get("/healthz", 5000, ans, sizeof ans, &took), 200);
        if (took > hz_base)
            hz_base = took;
    }
    /* a crowd that connects and says nothing, and one that talks slowly */
    int idle[IDLE_CONNS];
    for (int i = 0; i < IDLE_CONNS; i++)
        idle[i] = tcp_connect(PORT);
    slowloris_open();
    CHECK(slow_fd >= 0);
    int64_t hz_max = 0, m_max = 0;
    for (int i = 0; i < 20; i++) {
        int64_t took = 0;
        CHECK_INT(http_get("/healthz", 5000, ans, sizeof ans, &took), 200);
        if (took > hz_max)
            hz_max = took;
        slowloris_tick();
    }
    for (int i = 0; i < 3; i++) {
        int64_t took = 0;
        CHECK_INT(http_get("/metrics", 5000, ans, sizeof ans, &took), 200);
        if (took > m_max)
            m_max = took;
    }
    int64_t loaded = service_to_host("during");
    printf("# /healthz: longest %lld ms alone, %lld ms with %d idle connections and a slowloris client; "
           "/metrics longest %lld ms\n",
           (long long)hz_base, (long long)hz_max, IDLE_CONNS, (long long)m_max);
    printf("# a Service inside reaches the host in %lld ms alone, %lld ms with those clients\n", (long long)base,
           (long long)loaded);
    CHECK(base >= 0 && loaded >= 0);
    /* the old daemon: each idle connection held the loop up to 1 s */
    CHECK(hz_max < 1000);
    CHECK(m_max < 2000);
    CHECK(loaded < base + 1500);
    /* the idle ones go at the 2 s read timeout or sooner (the oldest give
     * way to new connections when 16 are open), the slow one too */
    for (int64_t end = now_ms() + 6000; now_ms() < end && slow_fd >= 0; sleep_ms(20))
        slowloris_tick();
    CHECK(slow_fd < 0);
    int closed = 0;
    for (int64_t end = now_ms() + 5000; closed < IDLE_CONNS && now_ms() < end; sleep_ms(50)) {
        for (int i = 0; i < IDLE_CONNS; i++) {
            char b[16];
            struct pollfd p = { idle[i], POLLIN, 0 };
            if (idle[i] >= 0 && poll(&p, 1, 0) == 1 && recv(idle[i], b, sizeof b, MSG_DONTWAIT) == 0) {
                closed++;
                close(idle[i]);
                idle[i] = -1;
            }
        }
    }
    for (int i = 0; i < IDLE_CONNS; i++)
        if (idle[i] >= 0)
            close(idle[i]);
    printf("# %d of %d idle connections closed by the server\n", closed, IDLE_CONNS);
    CHECK_INT(closed, IDLE_CONNS);
    /* alone, a slowloris client is cut at the read timeout (it would need
     * 30 s for its head) */
    slowloris_open();
    for (int64_t end = now_ms() + 6000; now_ms() < end && slow_fd >= 0; sleep_ms(20))
        slowloris_tick();
    printf("# a slowloris client alone was cut after %lld ms (%zu bytes sent; --http-timeout 2)\n",
           (long long)slow_closed_after, slow_sent);
    CHECK(slow_closed_after >= 1500 && slow_closed_after < 4000);
    CHECK_INT(http_get("/healthz", 2000, ans, sizeof ans, NULL), 200);
}

static char *scrape(void)
{
    size_t cap = 1 << 20;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    int code = http_get("/metrics", 5000, b, cap, NULL);
    CHECK_INT(code, 200);
    char *body = strstr(b, "\r\n\r\n");
    if (!body) {
        free(b);
        return NULL;
    }
    memmove(b, body + 4, strlen(body + 4) + 1);
    return b;
}

static void t_metrics(void)
{
    if (SYNCER <= 0)
        return;
    char *m1 = scrape();
    CHECK(m1 != NULL);
    if (!m1)
        return;
    int fams = 0;
    CHECK_INT(check_exposition(m1, &fams), 0);
    printf("# /metrics: %d families, %zu bytes\n", fams, strlen(m1));
    CHECK(fams >= 25);
    /* the host API server's host:port, as client-go labels it */
    char hostport[128] = "";
    {
        const char *srv = H->cfg.server;
        const char *h = strstr(srv, "://");
        snprintf(hostport, sizeof hostport, "%s", h ? h + 3 : srv);
    }
    char series[512];
    static const char *const present[] = {
        "controller_runtime_reconcile_total{controller=\"services\",result=\"success\"}",
        "controller_runtime_reconcile_total{controller=\"pods\",result=\"error\"}",
        "controller_runtime_reconcile_total{controller=\"services\",result=\"requeue_after\"}",
        "controller_runtime_reconcile_errors_total{controller=\"services\"}",
        "controller_runtime_reconcile_time_seconds_bucket{controller=\"services\",le=\"+Inf\"}",
        "controller_runtime_reconcile_time_seconds_count{controller=\"services\"}",
        "controller_runtime_reconcile_time_seconds_sum{controller=\"services\"}",
        "workqueue_depth{controller=\"pods\",name=\"pods\"}",
        "workqueue_adds_total{controller=\"services\",name=\"services\"}",
        "workqueue_retries_total{controller=\"services\",name=\"services\"}",
        "workqueue_queue_duration_seconds_count{controller=\"services\",name=\"services\"}",
        "workqueue_work_duration_seconds_count{controller=\"services\",name=\"services\"}",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "vcluster_syncer_reconciles_total",
        "vcluster_syncer_errors_total{reason=\"host_refused\"}",
        "vcluster_syncer_metrics_stale",
    };
    for (size_t i = 0; i < VC__ARRAY_LEN(present); i++) {
        double v = sample(m1, present[i]);
        if (v < 0)
            fprintf(stderr, "# missing: %s\n", present[i]);
        CHECK(v >= 0);
    }
    CHECK(strstr(m1, "# HELP controller_runtime_reconcile_total ") != NULL);
    CHECK(strstr(m1, "# TYPE controller_runtime_reconcile_time_seconds histogram\n") != NULL);
    CHECK(strstr(m1, "# TYPE rest_client_requests_total counter\n") != NULL);
    CHECK(strstr(m1, "# TYPE workqueue_depth gauge\n") != NULL);
    CHECK(strstr(m1, "\nvcluster_build_info{version=\"") != NULL);
    CHECK(strstr(m1, "rest_client_request_duration_seconds_bucket{host=\"") != NULL);
    double ok1 = sample(m1, "controller_runtime_reconcile_total{controller=\"services\",result=\"success\"}");
    CHECK(ok1 >= 2); /* "before" and "during" */
    CHECK_INT(sample(m1, "vcluster_syncer_metrics_stale"), 0);
    snprintf(series, sizeof series, "rest_client_requests_total{code=\"201\",host=\"%s\",method=\"POST\"}", hostport);
    double post1 = sample(m1, series);
    if (post1 < 0)
        fprintf(stderr, "# missing: %s\n", series);
    CHECK(post1 >= 2);
    snprintf(series, sizeof series, "rest_client_requests_total{code=\"200\",host=\"%s\",method=\"GET\"}", hostport);
    CHECK(sample(m1, series) >= 1); /* lists and watches of the host */
    CHECK(sample(m1, "process_resident_memory_bytes") > 1e6);
    CHECK(sample(m1, "process_open_fds") > 3);
    CHECK(sample(m1, "process_cpu_seconds_total") > 0);
    double start = sample(m1, "process_start_time_seconds");
    CHECK(start > (double)time(NULL) - 900 && start <= (double)time(NULL));
    /* histograms agree with their counters */
    CHECK(sample(m1, "controller_runtime_reconcile_time_seconds_count{controller=\"services\"}") ==
          sample(m1, "controller_runtime_reconcile_time_seconds_bucket{controller=\"services\",le=\"+Inf\"}"));
    /* counters move */
    CHECK(service_to_host("after") >= 0);
    /* the host shows the Service as soon as the API server stored it; the
     * syncer counts the POST when its answer is read: scrape until it did */
    char *m2 = NULL;
    snprintf(series, sizeof series, "rest_client_requests_total{code=\"201\",host=\"%s\",method=\"POST\"}", hostport);
    for (int i = 0; i < 50; i++) {
        free(m2);
        m2 = scrape();
        if (m2 && sample(m2, series) > post1)
            break;
        usleep(100000);
    }
    CHECK(m2 != NULL);
    if (m2) {
        double ok2 = sample(m2, "controller_runtime_reconcile_total{controller=\"services\",result=\"success\"}");
        snprintf(series, sizeof series, "rest_client_requests_total{code=\"201\",host=\"%s\",method=\"POST\"}",
                 hostport);
        double post2 = sample(m2, series);
        printf("# services reconciled: %.0f then %.0f; host POST 201: %.0f then %.0f\n", ok1, ok2, post1, post2);
        CHECK(ok2 > ok1);
        CHECK(post2 > post1);
        CHECK(sample(m2, "workqueue_adds_total{controller=\"services\",name=\"services\"}") >
              sample(m1, "workqueue_adds_total{controller=\"services\",name=\"services\"}"));
        CHECK(sample(m2, "controller_runtime_reconcile_time_seconds_count{controller=\"services\"}") >
              sample(m1, "controller_runtime_reconcile_time_seconds_count{controller=\"services\"}"));
        free(m2);
    }
    free(m1);
}

static bool rfc3339(const char *s)
{
    regex_t re;
    regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$", REG_EXTENDED | REG_NOSUB);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static void t_json_logs(void)
{
    if (SYNCER <= 0)
        return;
    int st = stop(SYNCER);
    SYNCER = 0;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    FILE *f = fopen(LOG, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[16384];
    int lines = 0, bad = 0, svc_events = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        const char *ts = json_string_value(json_object_get(o, "ts"));
        const char *level = json_string_value(json_object_get(o, "level"));
        if (!o || !ts || !rfc3339(ts) || !level || !json_is_string(json_object_get(o, "logger")) ||
            !json_is_string(json_object_get(o, "msg"))) {
            if (bad++ < 5)
                fprintf(stderr, "# not a JSON log line: %s", line);
        }
        const char *kind = json_string_value(json_object_get(o, "kind"));
        const char *ev = json_string_value(json_object_get(o, "event"));
        if (kind && ev && !strcmp(kind, "Service") && !strcmp(ev, "created on host") &&
            json_string_value(json_object_get(o, "name")) && json_string_value(json_object_get(o, "hostName")))
            svc_events++;
        json_decref(o);
    }
    fclose(f);
    printf("# %d JSON log lines, %d not JSON, %d Service creations on the host\n", lines, bad, svc_events);
    CHECK(lines > 3);
    CHECK_INT(bad, 0);
    CHECK(svc_events >= 3);
}

static void t_text_logs(void)
{
    if (!env_up)
        return;
    char log[256];
    snprintf(log, sizeof log, "%s/syncer-text.log", WORK);
    PORT = free_port();
    pid_t pid = spawn(log, NULL);
    char ans[256];
    int code = 0;
    for (int64_t end = now_ms() + 60000; now_ms() < end && code != 200; sleep_ms(200))
        code = http_get("/readyz", 2000, ans, sizeof ans, NULL);
    CHECK_INT(code, 200);
    CHECK(WIFEXITED(stop(pid)));
    FILE *f = fopen(log, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[16384];
    int lines = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        char ts[64];
        if (sscanf(line, "%63s", ts) != 1 || !rfc3339(ts)) {
            if (bad++ < 5)
                fprintf(stderr, "# no RFC 3339 time: %s", line);
        }
    }
    fclose(f);
    printf("# %d text log lines, %d without an RFC 3339 time\n", lines, bad);
    CHECK(lines >= 2);
    CHECK_INT(bad, 0);
    /* a bad format is refused before anything starts */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s' --name x --virtual-kubeconfig /dev/null --log-format xml 2>&1", SYNCER_BIN);
    char out[512];
    CHECK_INT(run_cmd(cmd, out, sizeof out), 2);
    CHECK_CONTAINS(out, "--log-format xml: want text or json");
}

int main(void)
{
    itest_kubeconfig();
    SYNCER_BIN = getenv("VC_SYNCER_BIN");
    if (!SYNCER_BIN || access(SYNCER_BIN, X_OK) != 0) {
        fprintf(stderr, "FAIL: VC_SYNCER_BIN (the vcluster-syncer binary) is not set or not executable\n");
        return 1;
    }
    snprintf(WORK, sizeof WORK, "/tmp/vc-syncer-daemon-XXXXXX");
    if (!mkdtemp(WORK))
        return 1;
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGPIPE, SIG_IGN);
    vc_global_init(NULL);
    RUN(t_setup);
    RUN(t_idle_and_slow_clients);
    RUN(t_metrics);
    RUN(t_json_logs);
    RUN(t_text_logs);
    cleanup();
    if (!t_failures) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", WORK);
        run_cmd(cmd, NULL, 0);
    } else {
        printf("# syncer logs kept in %s\n", WORK);
    }
    vc_global_shutdown();
    TEST_DONE();
}

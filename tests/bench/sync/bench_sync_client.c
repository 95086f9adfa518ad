/*
 * bench_sync_client: create N plain pods at a fixed concurrency over one
 * HTTP/2 connection (libcurl multi), while watching a namespace (the same
 * cluster, or the host namespace the syncer writes to) for the pods to
 * appear. Prints one JSON object with the timings.
 *
 *   bench_sync_client --server URL --ca F --cert F --key F --namespace NS
 *       --count N [--concurrency C] [--prefix P]
 *       [--watch-server URL --watch-ca F --watch-cert F --watch-key F]
 *       --watch-namespace NS [--watch-selector SEL] [--timeout SEC] [--csv F]
 *
 * Pod i is named P-%06d; on the watched side its name is P-%06d or
 * P-%06d-x-NS-x-VC (the syncer's translation), so the index comes from the
 * digits after "P-". Latency of a pod = first watch event that names it
 * (metadata-only watch, any type) minus the create's 201 response, both on
 * this process's monotonic clock. Throughput = N / (last pod seen - first
 * create sent).
 *
 * Uses libcurl and libc only: no part of libvcluster, so it measures the
 * clusters and the syncer, not the library's client.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <time.h>

typedef struct side {
    const char *server, *ca, *cert, *key;
} side;

typedef struct pod {
    double t_sent, t_created, t_seen; /* ms; 0 = not yet */
    int attempts;
    int last_http;
    double retry_at;
    bool in_flight, done;
} pod;

typedef struct xfer {
    CURL *e;
    struct curl_slist *h;
    int idx;          /* pod index, -1 for the watch */
    char *body;
    char *line;       /* watch: partial line */
    size_t line_len, line_cap;
    long http;
} xfer;

static side C, W;
static const char *NS, *WNS, *WSEL, *PREFIX = "bp", *CSV;
static int N, CONC = 64, TIMEOUT_S = 1800;
static pod *P;
static CURLM *M, *MW; /* creates; the watch (its own connection cache) */
static xfer *WATCH;
static double t_start, t_watch_ok;
static int n_created, n_seen, n_errors, in_flight, n_retries, n_watch_restarts, n_events, n_retry_pending;
static long last_err_http;
static char last_err[256];
static size_t prefix_len;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void setup_tls(CURL *e, const side *s)
{
    curl_easy_setopt(e, CURLOPT_CAINFO, s->ca);
    curl_easy_setopt(e, CURLOPT_SSLCERT, s->cert);
    curl_easy_setopt(e, CURLOPT_SSLKEY, s->key);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
}

/* index of a pod from a (possibly translated) name, or -1 */
static int index_of(const char *name, size_t len)
{
    if (len < prefix_len + 2 || memcmp(name, PREFIX, prefix_len) != 0 || name[prefix_len] != '-')
        return -1;
    int v = 0;
    size_t i = prefix_len + 1, d = 0;
    for (; i < len && name[i] >= '0' && name[i] <= '9'; i++, d++)
        v = v * 10 + (name[i] - '0');
    if (d != 6 || (i < len && name[i] != '-'))
        return -1;
    return v < N ? v : -1;
}

static void seen_line(const char *l, size_t n)
{
    /* {"type":"ADDED","object":{"kind":"PartialObjectMetadata",...,"metadata":{"name":"..." */
    const char *m = memmem(l, n, "\"metadata\":{", 12);
    if (!m)
        return;
    const char *k = memmem(m, n - (size_t)(m - l), "\"name\":\"", 8);
    if (!k)
        return;
    k += 8;
    const char *end = memchr(k, '"', n - (size_t)(k - l));
    if (!end)
        return;
    n_events++;
    if (memmem(l, n < 40 ? n : 40, "\"type\":\"DELETED\"", 16) || memmem(l, n < 40 ? n : 40, "\"type\":\"ERROR\"", 14))
        return;
    int i = index_of(k, (size_t)(end - k));
    if (i >= 0 && P[i].t_seen == 0) {
        P[i].t_seen = now_ms();
        n_seen++;
    }
}

static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    if (!t_watch_ok)
        t_watch_ok = now_ms();
    if (x->line_len + n + 1 > x->line_cap) {
        size_t nc = (x->line_len + n + 1) * 2;
        char *nl = realloc(x->line, nc);
        if (!nl)
            return 0;
        x->line = nl;
        x->line_cap = nc;
    }
    memcpy(x->line + x->line_len, ptr, n);
    x->line_len += n;
    size_t start = 0;
    for (size_t i = x->line_len - n; i < x->line_len; i++) {
        if (x->line[i] == '\n') {
            seen_line(x->line + start, i - start);
            start = i + 1;
        }
    }
    if (start) {
        memmove(x->line, x->line + start, x->line_len - start);
        x->line_len -= start;
    }
    return n;
}

static size_t watch_header(char *buf, size_t size, size_t nitems, void *ud)
{
    (void)ud;
    size_t n = size * nitems;
    if (n > 5 && !memcmp(buf, "HTTP/", 5) && strstr(buf, " 200") && !t_watch_ok)
        t_watch_ok = now_ms(); /* the stream is established */
    return n;
}

static size_t sink(char *ptr, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    /* keep the start of an error body for the message */
    if (x->line_len < 300) {
        size_t k = n < 300 - x->line_len ? n : 300 - x->line_len;
        if (x->line_len + k + 1 > x->line_cap) {
            char *nl = realloc(x->line, 512);
            if (!nl)
                return n;
            x->line = nl;
            x->line_cap = 512;
        }
        memcpy(x->line + x->line_len, ptr, k);
        x->line_len += k;
        x->line[x->line_len] = '\0';
    }
    return n;
}

static void start_watch(void)
{
    xfer *x = calloc(1, sizeof *x);
    x->idx = -1;
    x->e = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods?watch=1%s%s", W.server, WNS, WSEL ? "&labelSelector=" : "",
             WSEL ? WSEL : "");
    curl_easy_setopt(x->e, CURLOPT_URL, url);
    setup_tls(x->e, &W);
    /* its own HTTP/1.1 connection (and multi handle): multiplexed with the
     * creates, the stream waits behind their responses in the server's
     * connection writer, and the watch cache closes it as unresponsive */
    curl_easy_setopt(x->e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(x->e, CURLOPT_PIPEWAIT, 0L);
    x->h = curl_slist_append(NULL, "Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json");
    curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->h);
    curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, watch_write);
    curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->e, CURLOPT_HEADERFUNCTION, watch_header);
    curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
    curl_multi_add_handle(MW, x->e);
    WATCH = x;
}

static void start_create(int i)
{
    xfer *x = calloc(1, sizeof *x);
    x->idx = i;
    x->e = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof url, "%s/api/v1/namespaces/%s/pods", C.server, NS);
    if (asprintf(&x->body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s-%06d\",\"labels\":{\"app\":\"bench\"}},"
                 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}",
                 PREFIX, i) < 0)
        exit(2);
    curl_easy_setopt(x->e, CURLOPT_URL, url);
    setup_tls(x->e, &C);
    x->h = curl_slist_append(NULL, "Content-Type: application/json");
    x->h = curl_slist_append(x->h, "Accept: application/json");
    curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->h);
    curl_easy_setopt(x->e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->e, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
    if (!P[i].t_sent)
        P[i].t_sent = now_ms();
    P[i].attempts++;
    P[i].in_flight = true;
    in_flight++;
    curl_multi_add_handle(M, x->e);
}

static void xfer_free(xfer *x)
{
    curl_multi_remove_handle(x->idx < 0 ? MW : M, x->e);
    curl_easy_cleanup(x->e);
    curl_slist_free_all(x->h);
    free(x->body);
    free(x->line);
    free(x);
}

static void finish(xfer *x, CURLcode res)
{
    long http = 0;
    curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &http);
    if (x->idx < 0) { /* the watch ended: start it again */
        if (getenv("BENCH_DEBUG"))
            fprintf(stderr, "watch ended: %s, HTTP %ld, %.1f ms after the start, %zu bytes pending\n",
                    curl_easy_strerror(res), http, now_ms() - t_start, x->line_len);
        if (res != CURLE_OK)
            snprintf(last_err, sizeof last_err, "watch: %s", curl_easy_strerror(res));
        xfer_free(x);
        WATCH = NULL;
        n_watch_restarts++;
        return;
    }
    pod *p = &P[x->idx];
    p->in_flight = false;
    in_flight--;
    p->last_http = (int)http;
    if (res == CURLE_OK && (http == 201 || (http == 409 && p->attempts > 1))) {
        p->t_created = now_ms();
        p->done = true;
        n_created++;
    } else if (p->attempts < 20 && (res != CURLE_OK || http == 429 || http >= 500)) {
        if (getenv("BENCH_DEBUG"))
            fprintf(stderr, "retry pod %d: %s, HTTP %ld %.200s\n", x->idx, curl_easy_strerror(res), http,
                    x->line ? x->line : "");
        p->retry_at = now_ms() + 100.0 * p->attempts;
        n_retries++;
        n_retry_pending++;
    } else {
        p->done = true;
        n_errors++;
        last_err_http = http;
        snprintf(last_err, sizeof last_err, "%s: HTTP %ld %.200s", res != CURLE_OK ? curl_easy_strerror(res) : "create",
                 http, x->line ? x->line : "");
    }
    xfer_free(x);
}

/* Drive both multi handles once: wait at most `ms` for I/O on either. */
static void pump(int ms)
{
    int running;
    curl_multi_perform(M, &running);
    curl_multi_perform(MW, &running);
    CURLM *ms_[2] = { M, MW };
    for (int k = 0; k < 2; k++) {
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(ms_[k], &left))) {
            if (m->msg == CURLMSG_DONE) {
                xfer *x;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
                finish(x, m->data.result);
            }
        }
    }
    /* the watch's sockets join the wait on the creates' */
    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    int maxfd = -1;
    struct curl_waitfd extra[16];
    unsigned n = 0;
    if (curl_multi_fdset(MW, &r, &w, &e, &maxfd) == CURLM_OK)
        for (int fd = 0; fd <= maxfd && n < 16; fd++) {
            short ev = (short)((FD_ISSET(fd, &r) ? CURL_WAIT_POLLIN : 0) | (FD_ISSET(fd, &w) ? CURL_WAIT_POLLOUT : 0));
            if (ev) {
                extra[n].fd = fd;
                extra[n].events = ev;
                extra[n].revents = 0;
                n++;
            }
        }
    long wt = -1;
    curl_multi_timeout(MW, &wt);
    if (wt >= 0 && wt < ms)
        ms = (int)wt;
    curl_multi_poll(M, n ? extra : NULL, n, ms, NULL);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double q)
{
    if (n <= 0)
        return 0;
    int i = (int)(q * (n - 1) + 0.5);
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_sync_client --server URL --ca F --cert F --key F --namespace NS --count N\n"
                    "         [--concurrency C] [--prefix P] [--watch-server URL --watch-ca F --watch-cert F\n"
                    "         --watch-key F] --watch-namespace NS [--watch-selector SEL] [--timeout SEC] [--csv F]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option o[] = {
        { "server", 1, 0, 's' },       { "ca", 1, 0, 'a' },          { "cert", 1, 0, 'c' },
        { "key", 1, 0, 'k' },          { "namespace", 1, 0, 'n' },   { "count", 1, 0, 'N' },
        { "concurrency", 1, 0, 'C' },  { "prefix", 1, 0, 'p' },      { "watch-server", 1, 0, 'S' },
        { "watch-ca", 1, 0, 'A' },     { "watch-cert", 1, 0, 'E' },  { "watch-key", 1, 0, 'K' },
        { "watch-namespace", 1, 0, 'w' }, { "watch-selector", 1, 0, 'l' }, { "timeout", 1, 0, 't' },
        { "csv", 1, 0, 'v' },          { 0, 0, 0, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
        switch (ch) {
        case 's': C.server = optarg; break;
        case 'a': C.ca = optarg; break;
        case 'c': C.cert = optarg; break;
        case 'k': C.key = optarg; break;
        case 'n': NS = optarg; break;
        case 'N': N = atoi(optarg); break;
        case 'C': CONC = atoi(optarg); break;
        case 'p': PREFIX = optarg; break;
        case 'S': W.server = optarg; break;
        case 'A': W.ca = optarg; break;
        case 'E': W.cert = optarg; break;
        case 'K': W.key = optarg; break;
        case 'w': WNS = optarg; break;
        case 'l': WSEL = optarg; break;
        case 't': TIMEOUT_S = atoi(optarg); break;
        case 'v': CSV = optarg; break;
        default: usage();
        }
    }
    if (!C.server || !C.ca || !C.cert || !C.key || !NS || N <= 0 || N > 999999 || CONC <= 0 || !WNS)
        usage();
    if (!W.server)
        W = C;
    prefix_len = strlen(PREFIX);
    P = calloc((size_t)N, sizeof *P);
    if (!P)
        return 2;
    curl_global_init(CURL_GLOBAL_ALL);
    M = curl_multi_init();
    MW = curl_multi_init();
    curl_multi_setopt(M, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(M, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)(CONC > 100 ? CONC + 10 : 110));

    /* the watch first, established before the first create */
    start_watch();
    double deadline = now_ms() + 30000;
    while (!t_watch_ok && now_ms() < deadline) {
        pump(50);
        if (!WATCH)
            start_watch();
    }
    if (!t_watch_ok) {
        fprintf(stderr, "bench_sync_client: the watch on %s did not start (%s)\n", WNS, last_err);
        return 1;
    }

    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    t_start = now_ms();
    deadline = t_start + TIMEOUT_S * 1000.0;
    int next = 0;
    bool timed_out = false;
    while (n_seen < N || n_created + n_errors < N) {
        double now = now_ms();
        if (now > deadline) {
            timed_out = true;
            break;
        }
        /* retries first, then new pods, up to the concurrency */
        for (int i = 0; n_retry_pending && i < next && in_flight < CONC; i++)
            if (!P[i].done && !P[i].in_flight && P[i].retry_at && P[i].retry_at <= now) {
                P[i].retry_at = 0;
                n_retry_pending--;
                start_create(i);
            }
        while (next < N && in_flight < CONC)
            start_create(next++);
        if (!WATCH)
            start_watch();
        pump(20);
    }
    double t_end = now_ms();
    getrusage(RUSAGE_SELF, &ru1);

    double first_sent = 0, last_created = 0, last_seen = 0;
    double *lat = calloc((size_t)N, sizeof *lat);
    int nl = 0, seen_before_created = 0;
    for (int i = 0; i < N; i++) {
        if (P[i].t_sent && (!first_sent || P[i].t_sent < first_sent))
            first_sent = P[i].t_sent;
        if (P[i].t_created > last_created)
            last_created = P[i].t_created;
        if (P[i].t_seen > last_seen)
            last_seen = P[i].t_seen;
        if (P[i].t_seen && P[i].t_created) {
            double d = P[i].t_seen - P[i].t_created;
            if (d < 0) {
                seen_before_created++; /* the event beat the 201 response */
                d = 0;
            }
            lat[nl++] = d;
        }
    }
    qsort(lat, (size_t)nl, sizeof *lat, cmp_d);
    double e2e = (last_seen - first_sent) / 1000.0, create = (last_created - first_sent) / 1000.0;
    double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 ((ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) / 1e6;
    printf("{\"count\":%d,\"concurrency\":%d,\"created\":%d,\"errors\":%d,\"retries\":%d,\"seen\":%d,"
           "\"timed_out\":%s,\"create_s\":%.3f,\"end_to_end_s\":%.3f,\"create_per_s\":%.1f,\"throughput_per_s\":%.1f,"
           "\"latency_ms\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f},\"seen_before_created\":%d,"
           "\"watch_events\":%d,\"watch_restarts\":%d,\"client_cpu_s\":%.2f,\"wall_s\":%.3f,\"last_error\":\"",
           N, CONC, n_created, n_errors, n_retries, n_seen, timed_out ? "true" : "false", create, e2e,
           create > 0 ? n_created / create : 0.0, e2e > 0 ? n_seen / e2e : 0.0, pct(lat, nl, 0.50), pct(lat, nl, 0.90),
           pct(lat, nl, 0.99), nl ? lat[nl - 1] : 0.0, seen_before_created, n_events, n_watch_restarts, cpu,
           (t_end - t_start) / 1000.0);
    for (const char *c = last_err; *c; c++)
        if (*c >= 0x20 && *c != '"' && *c != '\\')
            putchar(*c);
    printf("\"}\n");
    if (CSV) {
        FILE *f = fopen(CSV, "w");
        if (f) {
            fprintf(f, "index,sent_ms,created_ms,seen_ms,attempts\n");
            for (int i = 0; i < N; i++)
                fprintf(f, "%d,%.1f,%.1f,%.1f,%d\n", i, P[i].t_sent ? P[i].t_sent - first_sent : -1,
                        P[i].t_created ? P[i].t_created - first_sent : -1, P[i].t_seen ? P[i].t_seen - first_sent : -1,
                        P[i].attempts);
            fclose(f);
        }
    }
    free(lat);
    if (WATCH)
        xfer_free(WATCH);
    curl_multi_cleanup(M);
    curl_multi_cleanup(MW);
    curl_global_cleanup();
    free(P);
    return timed_out || n_errors ? 1 : 0;
}

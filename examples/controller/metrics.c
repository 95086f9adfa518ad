/*
 * /metrics: Prometheus text format 0.0.4, named as controller-runtime and
 * client-go name theirs, so the dashboards and alerts written for
 * controllers work here:
 *   controller_runtime_reconcile_total{controller,result}, _errors_total,
 *   controller_runtime_reconcile_time_seconds (histogram),
 *   workqueue_depth / _adds_total / _retries_total /
 *   _queue_duration_seconds / _work_duration_seconds {controller,name},
 *   rest_client_requests_total{code,host,method},
 *   rest_client_request_duration_seconds{host,verb},
 *   process_* and vcluster_build_info,
 * plus the syncer's own vcluster_syncer_* totals. The numbers come from
 * vc_syncer_stats_get(), vc_syncer_controller_stats_get() and
 * vc_syncer_request_stats_get(); a snapshot is taken on the loop's thread
 * and rendered on the HTTP thread.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

static double g_start_time;

static char g_lease[256]; /* set before the HTTP thread starts, read-only after */

void metrics_set_leader_election(const char *lease)
{
    snprintf(g_lease, sizeof g_lease, "%s", lease ? lease : "");
}

void metrics_set_start_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    g_start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void copy_hist(snap_hist *d, const vc_syncer_histogram *h)
{
    memset(d, 0, sizeof *d);
    if (!h)
        return;
    d->count = h->count;
    d->sum = h->sum;
    d->n_bounds = h->n_bounds < SNAP_MAX_BUCKETS ? h->n_bounds : SNAP_MAX_BUCKETS;
    d->bounds = h->bounds;
    for (uint32_t i = 0; i < d->n_bounds; i++)
        d->counts[i] = h->counts[i];
    /* the overflow bucket, and any bucket past what we keep, is +Inf */
    for (uint32_t i = d->n_bounds; i <= h->n_bounds; i++)
        d->counts[d->n_bounds] += h->counts[i];
}

void snapshot_take(snapshot *out, vc_syncer *s, double step_max_wall, double step_max_cpu)
{
    memset(&out->st, 0, sizeof out->st);
    out->st.version = VC_SYNCER_STATS_VERSION;
    vc_syncer_stats_get(s, &out->st);
    out->n_ctls = 0;
    for (uint32_t i = 0; out->n_ctls < SNAP_MAX_CTLS; i++) {
        snap_ctl *c = &out->ctl[out->n_ctls];
        memset(&c->st, 0, sizeof c->st);
        c->st.version = VC_SYNCER_CONTROLLER_STATS_VERSION;
        if (vc_syncer_controller_stats_get(s, i, &c->st) != VC_OK)
            break;
        copy_hist(&c->rec_time, c->st.reconcile_time);
        copy_hist(&c->queue_wait, c->st.queue_wait);
        out->n_ctls++;
    }
    out->n_rows = 0;
    for (uint32_t i = 0; out->n_rows < SNAP_MAX_ROWS; i++) {
        vc_syncer_request_stats r;
        memset(&r, 0, sizeof r);
        r.version = VC_SYNCER_REQUEST_STATS_VERSION;
        if (vc_syncer_request_stats_get(s, i, &r) != VC_OK)
            break;
        snap_row *d = &out->row[out->n_rows++];
        d->code = r.code;
        snprintf(d->cluster, sizeof d->cluster, "%s", r.cluster);
        snprintf(d->host, sizeof d->host, "%s", r.host);
        snprintf(d->method, sizeof d->method, "%s", r.method);
        d->count = r.count;
        copy_hist(&d->latency, r.latency);
    }
    out->step_max_wall = step_max_wall;
    out->step_max_cpu = step_max_cpu;
    out->taken_ms = mono_ms();
    out->valid = true;
}

/* ---- a growing text buffer ---- */

typedef struct tbuf {
    char *p;
    size_t n, cap;
    bool oom;
} tbuf;

__attribute__((format(printf, 2, 3))) static void put(tbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (w < 0) {
            b->oom = true;
            return;
        }
        if (b->p && (size_t)w < b->cap - b->n) {
            b->n += (size_t)w;
            return;
        }
        size_t nc = b->cap ? b->cap * 2 : 65536;
        while (nc < b->n + (size_t)w + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
}

static void head(tbuf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A histogram's _bucket (cumulative), _sum and _count lines; labels is
 * "a=\"x\",b=\"y\"" (may be ""). */
static void hist_lines(tbuf *b, const char *name, const char *labels, const snap_hist *h)
{
    uint64_t cum = 0;
    const char *sep = *labels ? "," : "";
    for (uint32_t i = 0; i < h->n_bounds; i++) {
        cum += h->counts[i];
        put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, h->bounds[i], (unsigned long long)cum);
    }
    cum += h->counts[h->n_bounds];
    put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
    put(b, "%s_sum{%s} %.9g\n", name, labels, h->sum);
    put(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
}

static void hist_add(snap_hist *d, const snap_hist *h)
{
    if (!d->bounds) {
        d->bounds = h->bounds;
        d->n_bounds = h->n_bounds;
    }
    d->count += h->count;
    d->sum += h->sum;
    for (uint32_t i = 0; i <= h->n_bounds && i <= SNAP_MAX_BUCKETS; i++)
        d->counts[i] += h->counts[i];
}

static void code_label(char *out, size_t cap, int32_t code)
{
    if (code > 0)
        snprintf(out, cap, "%d", code);
    else
        snprintf(out, cap, "<error>"); /* client-go's label for no answer */
}

static void render_controllers(tbuf *b, const snapshot *s)
{
    static const char *const results[] = { "success", "error", "requeue", "requeue_after" };
    head(b, "controller_runtime_reconcile_total", "counter", "Total number of reconciliations per controller");
    for (int i = 0; i < s->n_ctls; i++) {
        const vc_syncer_controller_stats *c = &s->ctl[i].st;
        const uint64_t v[] = { c->reconcile_success, c->reconcile_error, c->reconcile_requeue,
                               c->reconcile_requeue_after };
        for (int r = 0; r < 4; r++)
            put(b, "controller_runtime_reconcile_total{controller=\"%s\",result=\"%s\"} %llu\n", c->name, results[r],
                (unsigned long long)v[r]);
    }
    head(b, "controller_runtime_reconcile_errors_total", "counter", "Total number of reconciliation errors per controller");
    for (int i = 0; i < s->n_ctls; i++)
        put(b, "controller_runtime_reconcile_errors_total{controller=\"%s\"} %llu\n", s->ctl[i].st.name,
            (unsigned long long)s->ctl[i].st.reconcile_error);
    head(b, "controller_runtime_reconcile_time_seconds", "histogram",
         "Length of time per reconciliation per controller (the reconcile call; its writes run on after it)");
    for (int i = 0; i < s->n_ctls; i++) {
        char l[128];
        snprintf(l, sizeof l, "controller=\"%s\"", s->ctl[i].st.name);
        hist_lines(b, "controller_runtime_reconcile_time_seconds", l, &s->ctl[i].rec_time);
    }
    head(b, "controller_runtime_max_concurrent_reconciles", "gauge",
         "Maximum number of concurrent reconciles per controller (the syncer reconciles one key at a time)");
    for (int i = 0; i < s->n_ctls; i++)
        put(b, "controller_runtime_max_concurrent_reconciles{controller=\"%s\"} 1\n", s->ctl[i].st.name);
    head(b, "workqueue_depth", "gauge", "Current depth of workqueue (ready and delayed keys)");
    for (int i = 0; i < s->n_ctls; i++)
        put(b, "workqueue_depth{controller=\"%s\",name=\"%s\"} %u\n", s->ctl[i].st.name, s->ctl[i].st.name,
            s->ctl[i].st.queue_depth);
    head(b, "workqueue_adds_total", "counter", "Total number of adds handled by workqueue");
    for (int i = 0; i < s->n_ctls; i++)
        put(b, "workqueue_adds_total{controller=\"%s\",name=\"%s\"} %llu\n", s->ctl[i].st.name, s->ctl[i].st.name,
            (unsigned long long)s->ctl[i].st.queue_adds);
    head(b, "workqueue_retries_total", "counter", "Total number of retries handled by workqueue");
    for (int i = 0; i < s->n_ctls; i++)
        put(b, "workqueue_retries_total{controller=\"%s\",name=\"%s\"} %llu\n", s->ctl[i].st.name, s->ctl[i].st.name,
            (unsigned long long)s->ctl[i].st.queue_retries);
    head(b, "workqueue_queue_duration_seconds", "histogram",
         "How long in seconds an item stays in workqueue before being requested");
    for (int i = 0; i < s->n_ctls; i++) {
        char l[160];
        snprintf(l, sizeof l, "controller=\"%s\",name=\"%s\"", s->ctl[i].st.name, s->ctl[i].st.name);
        hist_lines(b, "workqueue_queue_duration_seconds", l, &s->ctl[i].queue_wait);
    }
    head(b, "workqueue_work_duration_seconds", "histogram",
         "How long in seconds processing an item from workqueue takes");
    for (int i = 0; i < s->n_ctls; i++) {
        char l[160];
        snprintf(l, sizeof l, "controller=\"%s\",name=\"%s\"", s->ctl[i].st.name, s->ctl[i].st.name);
        hist_lines(b, "workqueue_work_duration_seconds", l, &s->ctl[i].rec_time);
    }
}

static void render_requests(tbuf *b, const snapshot *s)
{
    /* rows are per connection (host and virtual may share a server):
     * merged by their labels here */
    head(b, "rest_client_requests_total", "counter",
         "Number of HTTP requests, partitioned by status code, method, and host");
    for (int i = 0; i < s->n_rows; i++) {
        const snap_row *r = &s->row[i];
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = s->row[j].code == r->code && !strcmp(s->row[j].host, r->host) &&
                   !strcmp(s->row[j].method, r->method);
        if (seen)
            continue;
        uint64_t n = 0;
        for (int j = i; j < s->n_rows; j++)
            if (s->row[j].code == r->code && !strcmp(s->row[j].host, r->host) && !strcmp(s->row[j].method, r->method))
                n += s->row[j].count;
        char code[16];
        code_label(code, sizeof code, r->code);
        put(b, "rest_client_requests_total{code=\"%s\",host=\"%s\",method=\"%s\"} %llu\n", code, r->host, r->method,
            (unsigned long long)n);
    }
    head(b, "rest_client_request_duration_seconds", "histogram",
         "Request latency in seconds, broken down by verb and host (a watch: until its status)");
    for (int i = 0; i < s->n_rows; i++) {
        const snap_row *r = &s->row[i];
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = !strcmp(s->row[j].host, r->host) && !strcmp(s->row[j].method, r->method);
        if (seen)
            continue;
        snap_hist h;
        memset(&h, 0, sizeof h);
        for (int j = i; j < s->n_rows; j++)
            if (!strcmp(s->row[j].host, r->host) && !strcmp(s->row[j].method, r->method))
                hist_add(&h, &s->row[j].latency);
        char l[200];
        snprintf(l, sizeof l, "host=\"%s\",verb=\"%s\"", r->host, r->method);
        hist_lines(b, "rest_client_request_duration_seconds", l, &h);
    }
}

static void render_syncer(tbuf *b, const snapshot *s, bool stale)
{
    const vc_syncer_stats *st = &s->st;
    uint64_t classified = st->refused_pod_security + st->refused_by_host + st->refused_name_taken;
    uint64_t other = st->errors > classified ? st->errors - classified : 0;
    head(b, "vcluster_syncer_informers_synced", "gauge", "Informers that completed their first list");
    put(b, "vcluster_syncer_informers_synced %u\n", st->informers_synced);
    head(b, "vcluster_syncer_informers", "gauge", "Informers in all");
    put(b, "vcluster_syncer_informers %u\n", st->informers);
    head(b, "vcluster_syncer_queue_depth", "gauge", "Keys waiting in the work queue, all controllers");
    put(b, "vcluster_syncer_queue_depth %u\n", st->queue_depth);
    head(b, "vcluster_syncer_in_flight", "gauge", "Writes on the wire");
    put(b, "vcluster_syncer_in_flight %u\n", st->in_flight);
    head(b, "vcluster_syncer_host_writes_total", "counter", "Creates, updates and deletes sent to the host cluster");
    put(b, "vcluster_syncer_host_writes_total %llu\n", (unsigned long long)st->host_writes);
    head(b, "vcluster_syncer_virtual_writes_total", "counter", "Status updates, bindings and other writes to the virtual cluster");
    put(b, "vcluster_syncer_virtual_writes_total %llu\n", (unsigned long long)st->virtual_writes);
    head(b, "vcluster_syncer_errors_total", "counter", "Failed reconciles and writes, by reason");
    put(b, "vcluster_syncer_errors_total{reason=\"pod_security\"} %llu\n", (unsigned long long)st->refused_pod_security);
    put(b, "vcluster_syncer_errors_total{reason=\"host_refused\"} %llu\n", (unsigned long long)st->refused_by_host);
    put(b, "vcluster_syncer_errors_total{reason=\"name_taken\"} %llu\n", (unsigned long long)st->refused_name_taken);
    put(b, "vcluster_syncer_errors_total{reason=\"other\"} %llu\n", (unsigned long long)other);
    head(b, "vcluster_syncer_warnings_total", "counter", "Warning events put on virtual objects");
    put(b, "vcluster_syncer_warnings_total %llu\n", (unsigned long long)st->warnings);
    head(b, "vcluster_syncer_relists_total", "counter", "Lists after 410 Gone or errors");
    put(b, "vcluster_syncer_relists_total %llu\n", (unsigned long long)st->relists);
    head(b, "vcluster_syncer_reconciles_total", "counter", "Reconciles, all controllers");
    put(b, "vcluster_syncer_reconciles_total %llu\n", (unsigned long long)st->reconciles);
    head(b, "vcluster_syncer_events_dropped_total", "counter", "Sync events dropped because nobody took them");
    put(b, "vcluster_syncer_events_dropped_total %u\n", st->events_dropped);
    head(b, "vcluster_syncer_objects", "gauge", "Objects in the informer caches, by side");
    put(b, "vcluster_syncer_objects{side=\"virtual\"} %llu\n", (unsigned long long)st->virtual_objects);
    put(b, "vcluster_syncer_objects{side=\"host\"} %llu\n", (unsigned long long)st->host_objects);
    head(b, "vcluster_syncer_step_max_seconds", "gauge",
         "The longest step(0) so far (wall clock; CPU time of the loop's thread)");
    put(b, "vcluster_syncer_step_max_seconds{clock=\"wall\"} %.6f\n", s->step_max_wall);
    put(b, "vcluster_syncer_step_max_seconds{clock=\"cpu\"} %.6f\n", s->step_max_cpu);
    head(b, "vcluster_syncer_metrics_age_seconds", "gauge",
         "Age of the syncer numbers in this scrape (taken on the sync loop's thread)");
    put(b, "vcluster_syncer_metrics_age_seconds %.3f\n", (double)(mono_ms() - s->taken_ms) / 1e3);
    head(b, "vcluster_syncer_metrics_stale", "gauge",
         "1 when the sync loop did not answer in time and the numbers are from an earlier scrape");
    put(b, "vcluster_syncer_metrics_stale %d\n", stale ? 1 : 0);
    if (g_lease[0]) {
        /* client-go's gauge (1 while this process leads), and ours */
        head(b, "leader_election_master_status", "gauge", "Whether this process is the leader (1) or a standby (0)");
        put(b, "leader_election_master_status{name=\"%s\"} %d\n", g_lease,
            st->leader_state == VC_LEADER_LEADING ? 1 : 0);
        head(b, "vcluster_syncer_leader_acquired_total", "counter", "Times this process became the leader");
        put(b, "vcluster_syncer_leader_acquired_total %u\n", st->leader_acquired);
        head(b, "vcluster_syncer_lease_renewals_total", "counter", "Lease renewals by this process as the leader");
        put(b, "vcluster_syncer_lease_renewals_total %llu\n", (unsigned long long)st->lease_renewals);
        head(b, "vcluster_syncer_writes_withheld_total", "counter",
             "Writes not sent because this process did not lead (standby or past its renew deadline)");
        put(b, "vcluster_syncer_writes_withheld_total %llu\n", (unsigned long long)st->writes_withheld);
    }
}

static void render_process(tbuf *b)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    long page = sysconf(_SC_PAGESIZE);
    unsigned long long vsize = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%llu %llu", &vsize, &rss) != 2)
            vsize = rss = 0;
        fclose(f);
    }
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                fds++;
        closedir(d);
        fds--; /* the directory's own fd */
    }
    struct rlimit rl;
    double max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (double)rl.rlim_cur : -1;
    head(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    put(b, "process_cpu_seconds_total %.6f\n", cpu);
    head(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    put(b, "process_resident_memory_bytes %llu\n", rss * (unsigned long long)page);
    head(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    put(b, "process_virtual_memory_bytes %llu\n", vsize * (unsigned long long)page);
    head(b, "process_open_fds", "gauge", "Number of open file descriptors.");
    put(b, "process_open_fds %d\n", fds);
    if (max_fds > 0) {
        head(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        put(b, "process_max_fds %.0f\n", max_fds);
    }
    head(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    put(b, "process_start_time_seconds %.3f\n", g_start_time);
}

static void render_build(tbuf *b)
{
    const char *lib = "";
    vc_version(&lib);
    struct utsname u;
    if (uname(&u) != 0)
        snprintf(u.machine, sizeof u.machine, "unknown");
    head(b, "vcluster_build_info", "gauge",
         "A metric with a constant '1' value labeled by the version of vcluster-syncer and of the libvcluster it runs on");
    put(b,
        "vcluster_build_info{version=\"%s\",library_version=\"%s\",compiler=\"%s\",platform=\"linux/%s\"} 1\n",
        VC_VERSION_STRING, lib,
#if defined(__clang__)
        "clang " __clang_version__,
#elif defined(__GNUC__)
        "gcc " __VERSION__,
#else
        "cc",
#endif
        u.machine);
}

char *metrics_render(const snapshot *snap, bool stale, size_t *out_len)
{
    tbuf b = { 0 };
    if (snap->valid) {
        render_controllers(&b, snap);
        render_requests(&b, snap);
        render_syncer(&b, snap, stale);
    }
    render_process(&b);
    render_build(&b);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *out_len = b.n;
    return b.p;
}

/* Leader election among the syncers of one virtual cluster: client-go's
 * algorithm (tools/leaderelection, the Lease lock) on a
 * coordination.k8s.io/v1 Lease in the host namespace, driven by the step.
 *
 * One Lease request is on the wire at a time (its state lives here, not
 * in a per-request allocation, so nothing leaks when the loop is freed with
 * it in flight). A candidate GETs the Lease, then takes it with an update
 * carrying the resourceVersion it read; the API server's optimistic
 * concurrency lets one of several candidates win. A leader renews with an
 * update on the object of its last success (client-go's fast path) and
 * falls back to GET + update after a conflict.
 *
 * The fence (see syncer.h): writes go out only while the monotonic clock is
 * before `fence_ms`, the SEND time of the last successful acquire or renew
 * plus the renew deadline. vc__sync_write asks vc__leader_may_write for
 * every write; the step stops running controllers the moment the fence
 * passes. */
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sync/sync.h"

#define DEFAULT_LEASE_MS 15000
#define DEFAULT_RENEW_MS 10000
#define DEFAULT_RETRY_MS 2000
/* client-go's JitterFactor for the acquire loop */
#define JITTER 1.2
/* vc_syncer_free: how long it waits for writes in flight, then for the
 * release */
#define FREE_WAIT_MS 1000

enum { OP_NONE = 0, OP_GET, OP_CREATE, OP_UPDATE, OP_RELEASE };

static uint64_t rnd64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_sec;
    }
    return v;
}

/* A MicroTime: 2006-01-02T15:04:05.000000Z */
static void micro_now(char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%.20s.%06dZ", base, (int)(ts.tv_nsec / 1000 % 1000000));
}

int vc__leader_init(vc_syncer *s, const vc_syncer_options *o)
{
    vc__leader *le = &s->le;
    if (!(o->flags & VC_SYNCER_LEADER_ELECT))
        return VC_OK;
    int64_t lease = o->lease_duration_ms > 0 ? o->lease_duration_ms : DEFAULT_LEASE_MS;
    int64_t renew = o->renew_deadline_ms > 0 ? o->renew_deadline_ms : DEFAULT_RENEW_MS;
    int64_t retry = o->retry_period_ms > 0 ? o->retry_period_ms : DEFAULT_RETRY_MS;
    if (o->lease_duration_ms < 0 || o->renew_deadline_ms < 0 || o->retry_period_ms < 0)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                         "vc_syncer_new: lease_duration_ms, renew_deadline_ms and retry_period_ms must not be negative");
    if (lease <= renew)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                         "vc_syncer_new: lease duration (%lld ms) must be greater than the renew deadline (%lld ms)",
                         (long long)lease, (long long)renew);
    if ((double)renew <= JITTER * (double)retry)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                         "vc_syncer_new: the renew deadline (%lld ms) must be greater than 1.2 x the retry period "
                         "(%lld ms)",
                         (long long)renew, (long long)retry);
    le->lease_ms = lease;
    le->renew_ms = renew;
    le->retry_ms = retry;
    if (!vc__str_empty(o->leader_lease_name)) {
        le->name = vc__strdup(o->leader_lease_name);
    } else {
        /* upstream: translate.SafeConcatName("vcluster", name, "controller") */
        char buf[64];
        const char *parts[3] = { "vcluster", s->name, "controller" };
        vc__safe_concat(buf, sizeof buf, parts, 3);
        le->name = vc__strdup(buf);
    }
    if (!vc__str_empty(o->leader_identity)) {
        le->identity = vc__strdup(o->leader_identity);
    } else {
        char host[256] = "";
        if (gethostname(host, sizeof host - 1) != 0 || !*host)
            snprintf(host, sizeof host, "vcluster-syncer");
        host[sizeof host - 1] = '\0';
        le->identity = vc__sprintf("%s_%016llx", host, (unsigned long long)rnd64());
    }
    le->path = le->name ? vc__sprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", s->host_ns, le->name)
                        : NULL;
    le->coll = vc__sprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", s->host_ns);
    if (!le->name || !le->identity || !le->path || !le->coll)
        return vc__error_oom();
    le->enabled = true;
    return VC_OK;
}

void vc__leader_free(vc_syncer *s)
{
    vc__leader *le = &s->le;
    vc__free(le->name);
    vc__free(le->identity);
    vc__free(le->path);
    vc__free(le->coll);
    vc__free(le->rv);
    vc__free(le->observed_rv);
    vc__free(le->holder);
    memset(le, 0, sizeof(*le));
}

bool vc__leader_may_write(vc_syncer *s, int64_t now)
{
    const vc__leader *le = &s->le;
    return !le->enabled || (le->leading && now < le->fence_ms);
}

int32_t vc__leader_write_timeout(vc_syncer *s, int64_t now, int32_t dflt)
{
    const vc__leader *le = &s->le;
    if (!le->enabled)
        return dflt;
    int64_t t = le->fence_ms + (le->lease_ms - le->renew_ms) / 2 - now;
    if (t < 1)
        t = 1;
    return t < dflt ? (int32_t)t : dflt;
}

static void lose(vc_syncer *s, const char *why)
{
    vc__leader *le = &s->le;
    if (!le->leading)
        return;
    le->leading = false;
    le->lost++;
    VC__LOGW("sync", "leader election: %s no longer leads (Lease %s/%s): %s; it writes nothing from now on",
             le->identity, s->host_ns, le->name, why);
    vc__sync_event(s, VC_SYNC_LEADER_LOST, "Lease", "", le->name, le->identity, VC_OK);
}

/* The jittered wait of a candidate (client-go: JitterUntil(retry, 1.2)). */
static int64_t candidate_wait(const vc__leader *le)
{
    double f = (double)(rnd64() % 1000) / 1000.0;
    return le->retry_ms + (int64_t)(f * JITTER * (double)le->retry_ms);
}

static void start(vc_syncer *s, int op, const char *method, const char *path, const char *body, int64_t now);

/* The record this syncer writes: holder (NULL: released), transitions. */
static char *record(vc_syncer *s, const char *holder, int64_t duration_s, const char *acquire, int64_t transitions,
                    const char *rv)
{
    char renew[40];
    micro_now(renew, sizeof renew);
    json_t *spec = json_pack("{s:I,s:s,s:s,s:I}", "leaseDurationSeconds", (json_int_t)duration_s, "acquireTime",
                             acquire ? acquire : renew, "renewTime", renew, "leaseTransitions",
                             (json_int_t)transitions);
    if (spec && holder)
        json_object_set_new(spec, "holderIdentity", json_string(holder));
    json_t *md = json_pack("{s:s,s:s}", "name", s->le.name, "namespace", s->host_ns);
    if (md && rv)
        json_object_set_new(md, "resourceVersion", json_string(rv));
    json_t *o = spec && md ? json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
                                       "metadata", md, "spec", spec)
                           : NULL;
    if (!o) {
        json_decref(spec);
        json_decref(md);
        return NULL;
    }
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return t;
}

static int64_t duration_s(const vc__leader *le)
{
    return (le->lease_ms + 999) / 1000;
}

/* Remember a Lease the server returned: its resourceVersion (for the next
 * update), holder, acquireTime and transitions. */
static void remember(vc__leader *le, const json_t *lease)
{
    const char *rv = vc__jpath_str(lease, "metadata", "resourceVersion");
    vc__free(le->rv);
    le->rv = rv ? vc__strdup(rv) : NULL;
    const json_t *spec = json_object_get(lease, "spec");
    const char *acq = json_string_value(json_object_get(spec, "acquireTime"));
    snprintf(le->acquire_time, sizeof le->acquire_time, "%s", acq ? acq : "");
    le->transitions = json_integer_value(json_object_get(spec, "leaseTransitions"));
}

/* Candidate or leader after a GET: observe the record, then take or renew
 * it, or wait (client-go tryAcquireOrRenew). */
static void decide(vc_syncer *s, const json_t *lease, int64_t now)
{
    vc__leader *le = &s->le;
    const char *rv = vc__jpath_str(lease, "metadata", "resourceVersion");
    const json_t *spec = json_object_get(lease, "spec");
    const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
    json_int_t dur = json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
    if (!holder)
        holder = "";
    remember(le, lease);
    /* the record changed: (re)start the clock of its expiry */
    if (!le->observed_rv || !rv || strcmp(le->observed_rv, rv) != 0) {
        vc__free(le->observed_rv);
        le->observed_rv = rv ? vc__strdup(rv) : NULL;
        le->observed_ms = now;
        if (*holder && strcmp(holder, le->identity) != 0 && !vc__streq(le->holder, holder)) {
            VC__LOGI("sync", "leader election: Lease %s/%s is held by %s", s->host_ns, le->name, holder);
            vc__sync_event(s, VC_SYNC_LEADER_CHANGED, "Lease", "", le->name, holder, VC_OK);
        }
        vc__free(le->holder);
        le->holder = vc__strdup(holder);
    }
    bool mine = strcmp(holder, le->identity) == 0;
    int64_t expiry = le->observed_ms + (int64_t)dur * 1000;
    if (*holder && !mine && now < expiry) {
        /* someone else's, still valid */
        lose(s, "another syncer holds the Lease");
        int64_t w = candidate_wait(le);
        /* not later than the moment it expires */
        le->next_ms = now + (expiry - now < w ? expiry - now : w);
        return;
    }
    /* take it (free, released, expired) or renew it (mine) */
    const char *acq = mine ? le->acquire_time : NULL;
    int64_t tr = mine ? le->transitions : le->transitions + 1; /* client-go: a new holder */
    char *body = record(s, le->identity, duration_s(le), acq && *acq ? acq : NULL, tr, rv);
    if (!body) {
        le->next_ms = now + le->retry_ms;
        return;
    }
    start(s, OP_UPDATE, "PUT", le->path, body, now);
    vc__free(body);
}

static void succeeded(vc_syncer *s, const json_t *lease, int64_t now)
{
    vc__leader *le = &s->le;
    remember(le, lease);
    const char *rv = vc__jpath_str(lease, "metadata", "resourceVersion");
    vc__free(le->observed_rv);
    le->observed_rv = rv ? vc__strdup(rv) : NULL;
    le->observed_ms = now;
    vc__free(le->holder);
    le->holder = vc__strdup(le->identity);
    int64_t fence = le->sent_ms + le->renew_ms;
    if (fence <= now) {
        /* answered after its own deadline: the record is ours, but the
         * margin is spent; try again at once */
        lose(s, "the renewal was answered after the renew deadline");
        le->next_ms = now;
        return;
    }
    le->fence_ms = fence;
    le->next_ms = le->sent_ms + le->retry_ms;
    if (le->next_ms < now)
        le->next_ms = now;
    if (le->leading) {
        le->renewals++;
        return;
    }
    le->leading = true;
    le->acquired++;
    VC__LOGI("sync", "leader election: %s leads (Lease %s/%s, acquireTime %s); syncing everything again", le->identity,
             s->host_ns, le->name, le->acquire_time);
    vc__sync_event(s, VC_SYNC_LEADER_ACQUIRED, "Lease", "", le->name, le->identity, VC_OK);
    vc__sync_leader_started(s);
}

static void done(void *ud, int rc, long http, const char *body, size_t len)
{
    (void)http;
    vc_syncer *s = ud;
    vc__leader *le = &s->le;
    int op = le->op;
    le->op = OP_NONE;
    le->pending = false;
    int64_t now = vc__now_ms();
    if (op == OP_RELEASE) {
        le->released = true;
        if (rc < 0)
            VC__LOGW("sync", "leader election: releasing Lease %s/%s failed (it expires instead): %s", s->host_ns,
                     le->name, vc_error_last()->message);
        else
            VC__LOGI("sync", "leader election: %s released Lease %s/%s", le->identity, s->host_ns, le->name);
        return;
    }
    json_t *lease = rc == VC_OK ? json_loadb(body, len, 0, NULL) : NULL;
    if (s->stopping) {
        /* a renewal answered while stopping: the release needs its
         * resourceVersion */
        if (lease && (op == OP_UPDATE || op == OP_CREATE))
            remember(le, lease);
        json_decref(lease);
        return;
    }
    if (rc == VC_OK && !lease)
        rc = vc__error(VC_EAPI, VC_ERRCLASS_SYNC, "Lease %s/%s: unreadable answer", s->host_ns, le->name);
    if (op == OP_GET) {
        if (rc == VC_ENOTFOUND) {
            char *b = record(s, le->identity, duration_s(le), NULL, 0, NULL);
            if (b)
                start(s, OP_CREATE, "POST", le->coll, b, now);
            else
                le->next_ms = now + le->retry_ms;
            vc__free(b);
        } else if (rc < 0) {
            VC__LOGW("sync", "leader election: reading Lease %s/%s: %s", s->host_ns, le->name,
                     vc_error_last()->message);
            le->next_ms = now + (le->leading ? le->retry_ms : candidate_wait(le));
        } else {
            decide(s, lease, now);
        }
    } else if (rc == VC_OK) { /* OP_CREATE, OP_UPDATE */
        succeeded(s, lease, now);
    } else {
        /* a conflict: another candidate won, or the leader's cached object
         * is stale; read it again next time */
        if (rc != VC_ECONFLICT && rc != VC_EEXISTS)
            VC__LOGW("sync", "leader election: writing Lease %s/%s: %s", s->host_ns, le->name,
                     vc_error_last()->message);
        vc__free(le->rv);
        le->rv = NULL;
        le->fast_ok = false;
        le->next_ms = now + (le->leading ? le->retry_ms : candidate_wait(le));
        if (!le->leading && (rc == VC_ECONFLICT || rc == VC_EEXISTS))
            le->next_ms = now; /* read who won at once */
    }
    json_decref(lease);
}

static void start(vc_syncer *s, int op, const char *method, const char *path, const char *body, int64_t now)
{
    vc__leader *le = &s->le;
    /* a leader's request ends by its fence (plus the half-margin); a
     * candidate's within the renew deadline */
    int64_t tmo = le->renew_ms;
    if (le->leading && op != OP_RELEASE)
        tmo = vc__leader_write_timeout(s, now, (int32_t)le->renew_ms);
    if (op == OP_RELEASE)
        tmo = FREE_WAIT_MS;
    le->op = op;
    le->sent_ms = now;
    int rc = vc__kreq_start(s->loop, s->host, method, path, body ? "application/json" : NULL, body,
                            body ? strlen(body) : 0, (int32_t)tmo, done, s);
    if (rc < 0) {
        le->op = OP_NONE;
        VC__LOGW("sync", "leader election: %s %s: %s", method, path, vc_error_last()->message);
        le->next_ms = now + le->retry_ms;
        return;
    }
    le->pending = true;
    if (op == OP_UPDATE || op == OP_CREATE)
        le->fast_ok = true;
}

void vc__leader_tick(vc_syncer *s, int64_t now)
{
    vc__leader *le = &s->le;
    if (!le->enabled || s->stopping)
        return;
    if (le->leading && now >= le->fence_ms)
        lose(s, "no renewal succeeded before the renew deadline");
    if (le->pending || now < le->next_ms)
        return;
    if (le->leading && le->rv && le->fast_ok) {
        /* client-go's fast path: renew on the object of the last success */
        char *body = record(s, le->identity, duration_s(le), le->acquire_time[0] ? le->acquire_time : NULL,
                            le->transitions, le->rv);
        if (body) {
            start(s, OP_UPDATE, "PUT", le->path, body, now);
            vc__free(body);
            return;
        }
    }
    start(s, OP_GET, "GET", le->path, NULL, now);
}

int64_t vc__leader_timeout(vc_syncer *s, int64_t now)
{
    const vc__leader *le = &s->le;
    if (!le->enabled)
        return -1;
    if (s->stopping)
        return -1; /* the step's stop branch: in flight wakes the fd */
    int64_t t = -1;
    if (!le->pending)
        t = le->next_ms > now ? le->next_ms - now : 0;
    if (le->leading) {
        int64_t f = le->fence_ms > now ? le->fence_ms - now : 0;
        if (t < 0 || f < t)
            t = f;
    }
    return t;
}

bool vc__leader_active(vc_syncer *s, int64_t now)
{
    return vc__leader_may_write(s, now);
}

int vc__leader_state(vc_syncer *s)
{
    const vc__leader *le = &s->le;
    if (!le->enabled)
        return VC_LEADER_DISABLED;
    return le->leading && vc__now_ms() < le->fence_ms ? VC_LEADER_LEADING : VC_LEADER_STANDBY;
}

/* Start the release: the record cleared (holder unset, 1 s, as client-go's
 * ReleaseOnCancel) on the object of the last success. */
static bool release_start(vc_syncer *s, int64_t now)
{
    vc__leader *le = &s->le;
    bool was = le->leading && now < le->fence_ms && le->rv;
    lose(s, "released");
    if (!was || le->released)
        return false;
    char *body = record(s, NULL, 1, NULL, le->transitions, le->rv);
    if (!body)
        return false;
    start(s, OP_RELEASE, "PUT", le->path, body, now);
    vc__free(body);
    return le->pending;
}

bool vc__leader_stop_pending(vc_syncer *s)
{
    const vc__leader *le = &s->le;
    return le->enabled && le->want_release && !le->released;
}

void vc__leader_stop(vc_syncer *s)
{
    vc__leader *le = &s->le;
    if (!le->enabled)
        return;
    /* stop writing now; the release waits for the writes in flight */
    int64_t now = vc__now_ms();
    le->want_release = le->leading && now < le->fence_ms;
    le->stop_fence_ms = le->fence_ms;
    if (le->leading)
        le->fence_ms = now; /* nothing new goes out */
}

bool vc__leader_stop_step(vc_syncer *s, int64_t now)
{
    vc__leader *le = &s->le;
    if (!vc__leader_stop_pending(s))
        return false;
    if (le->pending)
        return true;
    if (s->in_flight > 0)
        return true;
    if (now >= le->stop_fence_ms) {
        /* the Lease may already be someone else's: leave it to expire */
        le->released = true;
        lose(s, "stopped");
        return false;
    }
    le->fence_ms = le->stop_fence_ms; /* the release itself is the last write */
    if (!release_start(s, now))
        le->released = true;
    return le->pending;
}

void vc__leader_free_release(vc_syncer *s)
{
    vc__leader *le = &s->le;
    if (!le->enabled || le->released || !s->loop)
        return;
    int64_t now = vc__now_ms();
    if (!(le->leading && now < le->fence_ms) && !le->want_release)
        return;
    if (!le->want_release)
        vc__leader_stop(s);
    s->stopping = true;
    int64_t until = now + FREE_WAIT_MS;
    /* the writes in flight first (nothing new starts: the fence is shut),
     * then the release */
    while ((s->in_flight > 0 || le->pending) && vc__now_ms() < until)
        if (vc__kloop_run(s->loop, (int)(until - vc__now_ms()), NULL) < 0)
            break;
    if (s->in_flight > 0 || le->pending || !vc__leader_stop_step(s, vc__now_ms()))
        return;
    until = vc__now_ms() + FREE_WAIT_MS;
    while (le->pending && vc__now_ms() < until)
        if (vc__kloop_run(s->loop, (int)(until - vc__now_ms()), NULL) < 0)
            break;
}

/* Leader election of the syncer (issue 14 item 1), three vc_syncer in one
 * process against the real host cluster (VC_TEST_KUBECONFIG) and a bare
 * virtual control plane (vcenv.h), with short timings (lease 4 s, renew
 * deadline 3 s, retry 0.5 s) so the run stays short:
 *
 *  1. one of the three acquires the Lease and syncs the virtual pods; the
 *     two standbys list and watch (their informers are synced, their caches
 *     hold the pods) and have sent no write at all (their write counters,
 *     which count every request sent, stay 0);
 *  2. the leader hangs (this test stops stepping it, as a process stopped or
 *     cut off would): a standby takes over once the Lease has not changed
 *     for the lease duration (takeover time measured, more than the renew
 *     deadline, well under lease + retries), and syncs the pods created
 *     meanwhile;
 *  3. the old leader is stepped again: its first step finds its renew
 *     deadline long passed, it reports VC_SYNC_LEADER_LOST and sends nothing
 *     (its write counters do not move): the fence;
 *  4. the leader stops cleanly (vc_syncer_stop): it releases the Lease and a
 *     standby takes over in far less than the lease duration;
 *  5. a leader freed without stopping (vc_syncer_free) releases too;
 *  6. the host ends with exactly the virtual pods, once each.
 * Invalid timings are refused (VC_EINVAL). */
#include <errno.h>
#include <poll.h>

#include "vcenv.h"
#include "translate/translate.h"

#define N 3
#define LEASE_MS 4000
#define RENEW_MS 3000
#define RETRY_MS 500

static char NAME[64], HNS[80];
static vc_kube *H, *V;
static vc_translator *T;

typedef struct cand {
    vc_syncer *s;
    bool live;      /* stepped by pump() */
    bool stopped;
    int acquired, lost, changed, ready, errors;
    int64_t acquired_ms;
} cand;
static cand C[N];

static uint64_t writes_of(cand *c)
{
    vc_syncer_stats st;
    memset(&st, 0, sizeof st);
    st.version = VC_SYNCER_STATS_VERSION;
    vc_syncer_stats_get(c->s, &st);
    return st.host_writes + st.virtual_writes;
}

static uint32_t state_of(cand *c)
{
    vc_syncer_stats st;
    memset(&st, 0, sizeof st);
    st.version = VC_SYNCER_STATS_VERSION;
    vc_syncer_stats_get(c->s, &st);
    return st.leader_state;
}

static void drain(cand *c)
{
    vc_sync_event *ev;
    while (vc_syncer_next_event(&ev, c->s) == VC_OK) {
        switch (ev->type) {
        case VC_SYNC_LEADER_ACQUIRED:
            c->acquired++;
            c->acquired_ms = vc__now_ms();
            printf("# syncer %d (%s) leads\n", (int)(c - C), ev->host_name);
            break;
        case VC_SYNC_LEADER_LOST:
            c->lost++;
            printf("# syncer %d lost the lead\n", (int)(c - C));
            break;
        case VC_SYNC_LEADER_CHANGED: c->changed++; break;
        case VC_SYNC_READY: c->ready++; break;
        case VC_SYNC_ERROR:
            if (c->errors++ < 5)
                printf("# syncer %d: %s %s/%s: %s\n", (int)(c - C), ev->kind, ev->virtual_namespace,
                       ev->virtual_name, ev->error->message);
            break;
        default: break;
        }
        vc_sync_event_free(ev);
    }
}

/* Step every live syncer until done() or the deadline. */
static bool pump(bool (*done)(void), int64_t ms)
{
    int64_t end = vc__now_ms() + ms;
    while (vc__now_ms() < end) {
        struct pollfd p[N];
        int n = 0;
        int64_t wait = 50;
        for (int i = 0; i < N; i++) {
            if (!C[i].live)
                continue;
            int64_t t = -1;
            vc_syncer_get_timeout(C[i].s, &t);
            if (t >= 0 && t < wait)
                wait = t;
            p[n++] = (struct pollfd){ vc_syncer_get_fd(C[i].s), POLLIN, 0 };
        }
        poll(p, (nfds_t)n, (int)wait);
        for (int i = 0; i < N; i++) {
            if (!C[i].live)
                continue;
            int32_t st = 0;
            if (vc_syncer_step(C[i].s, 0, &st) < 0) {
                fprintf(stderr, "step: %s\n", vc_error_last()->message);
                return false;
            }
            if (st == VC_STEP_STOPPED)
                C[i].stopped = true;
            drain(&C[i]);
        }
        if (done())
            return true;
    }
    return done();
}

static int leaders(void)
{
    int n = 0;
    for (int i = 0; i < N; i++)
        if (C[i].s && C[i].live && state_of(&C[i]) == VC_LEADER_LEADING)
            n++;
    return n;
}

static int leader(void)
{
    for (int i = 0; i < N; i++)
        if (C[i].s && C[i].live && state_of(&C[i]) == VC_LEADER_LEADING)
            return i;
    return -1;
}

static void pod(const char *name)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
             name);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/pods", body), VC_OK);
}

static bool host_has(const char *vname)
{
    char hn[256] = "", path[512];
    vc_buf b = VC_BUF_INIT;
    if (vc_translate_host_name(&b, T, "Pod", "demo", vname) == VC_OK)
        snprintf(hn, sizeof hn, "%s", b.ptr);
    vc_buf_dispose(&b);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", HNS, hn);
    json_t *o = kget(H, path);
    bool ok = o != NULL;
    json_decref(o);
    return ok;
}

static const char *want[16];
static size_t n_want;
static bool all_on_host(void)
{
    for (size_t i = 0; i < n_want; i++)
        if (!host_has(want[i]))
            return false;
    return true;
}

static bool one_leader_and_synced(void)
{
    return leaders() == 1 && all_on_host();
}

static int hung = -1;
static bool other_leads(void)
{
    for (int i = 0; i < N; i++)
        if (i != hung && C[i].live && C[i].acquired > 0 && state_of(&C[i]) == VC_LEADER_LEADING)
            return true;
    return false;
}

static bool is_stopped_and_new_leader(void)
{
    return C[hung].stopped && leaders() == 1 && leader() != hung;
}

static cand *lost_c;
static bool lost_seen(void)
{
    return lost_c->lost > 0;
}

static int new_syncer(cand *c, int i)
{
    vc_syncer_options o;
    vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION);
    o.name = NAME;
    o.host_namespace = HNS;
    o.flags = VC_SYNCER_LEADER_ELECT;
    o.lease_duration_ms = LEASE_MS;
    o.renew_deadline_ms = RENEW_MS;
    o.retry_period_ms = RETRY_MS;
    char id[64];
    snprintf(id, sizeof id, "test-syncer-%d", i);
    o.leader_identity = id;
    memset(c, 0, sizeof(*c));
    int rc = vc_syncer_new(&c->s, H, V, &o);
    c->live = rc == VC_OK;
    return rc;
}

static void t_invalid_timings(void)
{
    vc_syncer_options o;
    vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION);
    o.name = NAME;
    o.flags = VC_SYNCER_LEADER_ELECT;
    vc_syncer *s = NULL;
    o.lease_duration_ms = 1000;
    o.renew_deadline_ms = 1000;
    CHECK_INT(vc_syncer_new(&s, H, V, &o), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "renew deadline");
    o.lease_duration_ms = 15000;
    o.renew_deadline_ms = 2000;
    o.retry_period_ms = 2000;
    CHECK_INT(vc_syncer_new(&s, H, V, &o), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "1.2");
    CHECK(s == NULL);
    /* without the flag the timings are not read and nothing is elected */
    o.flags = 0;
    CHECK_INT(vc_syncer_new(&s, H, V, &o), VC_OK);
    vc_syncer_stats st;
    memset(&st, 0, sizeof st);
    st.version = VC_SYNCER_STATS_VERSION;
    CHECK_INT(vc_syncer_stats_get(s, &st), VC_OK);
    CHECK_INT((int)st.leader_state, VC_LEADER_DISABLED);
    vc_syncer_free(s);
}

static void t_setup(void)
{
    char buf[1024], path[256];
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", HNS);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", buf), VC_OK);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"ports\":[{\"name\":\"https\",\"port\":443,\"targetPort\":8443}]}}",
             NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"vc-workload-%s\"}}", NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"demo\"}}"),
              VC_OK);
    static const char *first[] = { "p0", "p1", "p2", "p3" };
    for (size_t i = 0; i < 4; i++) {
        pod(first[i]);
        want[n_want++] = first[i];
    }
}

static void t_one_leader(void)
{
    for (int i = 0; i < N; i++)
        CHECK_INT(new_syncer(&C[i], i), VC_OK);
    int64_t t0 = vc__now_ms();
    CHECK(pump(one_leader_and_synced, 60000));
    int l = leader();
    CHECK(l >= 0);
    printf("# first leader after %lld ms: syncer %d\n", (long long)(C[l].acquired_ms - t0), l);
    /* a little longer: the standbys must stay quiet while the leader syncs */
    pump(all_on_host, 2000);
    CHECK_INT(leaders(), 1);
    for (int i = 0; i < N; i++) {
        if (i == l)
            continue;
        vc_syncer_stats st;
        memset(&st, 0, sizeof st);
        st.version = VC_SYNCER_STATS_VERSION;
        vc_syncer_stats_get(C[i].s, &st);
        printf("# standby %d: informers %u/%u, virtual objects %llu, host objects %llu, writes %llu+%llu\n", i,
               st.informers_synced, st.informers, (unsigned long long)st.virtual_objects,
               (unsigned long long)st.host_objects, (unsigned long long)st.host_writes,
               (unsigned long long)st.virtual_writes);
        CHECK_INT((int)st.leader_state, VC_LEADER_STANDBY);
        CHECK(st.host_writes == 0 && st.virtual_writes == 0);
        CHECK(st.informers_synced == st.informers && st.informers > 0);
        CHECK(st.virtual_objects >= 4); /* warm: the pods (and namespaces) are cached */
        CHECK(C[i].ready == 1);
        CHECK(C[i].changed >= 1);       /* it saw who leads */
        CHECK_INT(C[i].acquired, 0);
    }
}

static void t_hung_leader_replaced(void)
{
    hung = leader();
    CHECK(hung >= 0);
    if (hung < 0)
        return;
    uint64_t before = writes_of(&C[hung]);
    C[hung].live = false; /* not stepped any more: hung, partitioned */
    int64_t t0 = vc__now_ms();
    pod("q0");
    pod("q1");
    want[n_want++] = "q0";
    want[n_want++] = "q1";
    CHECK(pump(other_leads, 30000));
    int64_t took = 0;
    for (int i = 0; i < N; i++)
        if (i != hung && C[i].acquired)
            took = C[i].acquired_ms - t0;
    printf("# hung leader replaced after %lld ms (lease %d ms, renew deadline %d ms, retry %d ms)\n",
           (long long)took, LEASE_MS, RENEW_MS, RETRY_MS);
    /* not before the Lease could expire: the record was renewed at most a
     * retry period before the hang */
    CHECK(took >= LEASE_MS - RETRY_MS - 100);
    CHECK(took <= LEASE_MS + 3 * RETRY_MS + 3000);
    CHECK(pump(all_on_host, 30000));

    /* the old leader wakes up: its renew deadline is long gone; it must
     * say so and send nothing */
    C[hung].live = true;
    lost_c = &C[hung];
    CHECK(pump(lost_seen, 5000));
    pump(all_on_host, 2000);
    uint64_t after = writes_of(&C[hung]);
    printf("# old leader: writes %llu before the hang, %llu after waking\n", (unsigned long long)before,
           (unsigned long long)after);
    CHECK(after == before);
    CHECK_INT((int)state_of(&C[hung]), VC_LEADER_STANDBY);
    CHECK_INT(leaders(), 1);
}

static void t_clean_stop_releases(void)
{
    hung = leader();
    CHECK(hung >= 0);
    if (hung < 0)
        return;
    CHECK_INT(vc_syncer_stop(C[hung].s), VC_OK);
    int64_t t0 = vc__now_ms();
    CHECK(pump(is_stopped_and_new_leader, 20000));
    int l = leader();
    int64_t took = l >= 0 ? C[l].acquired_ms - t0 : -1;
    printf("# after a clean stop, syncer %d leads after %lld ms\n", l, (long long)took);
    CHECK(took >= 0 && took < LEASE_MS - 500); /* released: no waiting for expiry */
    C[hung].live = false;
    vc_syncer_free(C[hung].s);
    C[hung].s = NULL;
}

static void t_free_releases(void)
{
    hung = leader();
    CHECK(hung >= 0);
    if (hung < 0)
        return;
    pod("r0");
    want[n_want++] = "r0";
    CHECK(pump(all_on_host, 30000));
    C[hung].live = false;
    int64_t t0 = vc__now_ms();
    vc_syncer_free(C[hung].s);
    int64_t freed = vc__now_ms() - t0;
    C[hung].s = NULL;
    CHECK(pump(other_leads, 20000));
    int l = leader();
    int64_t took = l >= 0 ? C[l].acquired_ms - t0 : -1;
    printf("# vc_syncer_free of the leader took %lld ms; syncer %d leads after %lld ms\n", (long long)freed, l,
           (long long)took);
    CHECK(freed < 2500);
    CHECK(took >= 0 && took < LEASE_MS - 500);
}

static void t_host_equals_virtual(void)
{
    pod("s0");
    want[n_want++] = "s0";
    CHECK(pump(all_on_host, 30000));
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", HNS);
    json_t *l = kget(H, path);
    size_t n = json_array_size(json_object_get(l, "items"));
    json_decref(l);
    json_t *v = kget(V, "/api/v1/namespaces/demo/pods");
    size_t nv = json_array_size(json_object_get(v, "items"));
    json_decref(v);
    v = kget(V, "/api/v1/pods"); /* CoreDNS's too */
    size_t nall = json_array_size(json_object_get(v, "items"));
    json_decref(v);
    printf("# host pods %zu, virtual pods %zu (%zu in demo), expected %zu in demo\n", n, nall, nv, n_want);
    CHECK(n == nall && nv == n_want);
    /* the Lease names the last leader */
    snprintf(path, sizeof path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/vcluster-%s-controller", HNS,
             NAME);
    json_t *lease = kget(H, path);
    const char *holder = vc__jpath_str(lease, "spec", "holderIdentity");
    printf("# Lease holder %s, transitions %lld\n", holder ? holder : "(none)",
           (long long)json_integer_value(json_object_get(json_object_get(lease, "spec"), "leaseTransitions")));
    CHECK(holder && !strncmp(holder, "test-syncer-", 12));
    CHECK(json_integer_value(json_object_get(json_object_get(lease, "spec"), "leaseDurationSeconds")) == LEASE_MS / 1000);
    json_decref(lease);
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    vc_global_init(NULL);
    vcenv e;
    if (vcenv_up(&e) < 0)
        return 1;
    itest_name(NAME, sizeof NAME, "le");
    snprintf(HNS, sizeof HNS, "vcluster-%s", NAME);
    H = kube_for(kc);
    V = kube_for(e.kubeconfig);
    vc_translate_options to;
    vc_translate_options_init(&to, VC_TRANSLATE_OPTIONS_VERSION);
    to.name = NAME;
    to.host_namespace = HNS;
    if (!H || !V || vc_translator_new(&T, &to) < 0) {
        vcenv_down(&e);
        return 1;
    }
    RUN(t_invalid_timings);
    RUN(t_setup);
    RUN(t_one_leader);
    RUN(t_hung_leader_replaced);
    RUN(t_clean_stop_releases);
    RUN(t_free_releases);
    RUN(t_host_equals_virtual);
    for (int i = 0; i < N; i++)
        vc_syncer_free(C[i].s);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", HNS);
    vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
    vc_translator_free(T);
    vc_kube_free(H);
    vc_kube_free(V);
    vcenv_down(&e);
    vc_global_shutdown();
    TEST_DONE();
}

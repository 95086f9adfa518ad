/* Failover of the syncer daemon (issue 14 item 4): three vcluster-syncer
 * processes (examples/controller, VC_SYNCER_BIN) with --leader-elect and
 * client-go's default timings (lease 15 s, renew deadline 10 s, retry 2 s)
 * sync one bare virtual control plane (vcenv.h) into the host cluster
 * (VC_TEST_KUBECONFIG):
 *
 *  1. one of them leads (the Lease vcluster-NAME-controller names it), the
 *     others are standbys: /readyz 200 "(standby)",
 *     leader_election_master_status 0 on /metrics (1 on the leader's);
 *  2. churn: a 300-replica Deployment inside; when about a third of its pods
 *     are on the host the leader is SIGKILLed, and while no one leads the
 *     Deployment is scaled to 280 and 20 of its pods are deleted inside;
 *  3. a standby takes over: the time from the kill to the new holder's
 *     acquireTime is printed and must be at most 20 s;
 *  4. the host converges to exactly translate(virtual): no orphan, no
 *     duplicate, nothing missing, every pod Running;
 *  5. the new leader is stopped with SIGTERM: it releases the Lease and the
 *     last standby takes over at its next try (printed, under 5 s), and a
 *     scale to 290 converges;
 *  6. no write was made by two leaders at once (below).
 *
 * How "no two leaders wrote at once" is proven. The host cluster has no
 * audit log here, so each syncer's own record is used, on one machine with
 * one clock (CLOCK_REALTIME: the log timestamps and the Lease's acquireTime
 * come from it). With -v the library logs every write BEFORE it can go out
 * ("send #N ... (timeout T ms)": a request cannot reach the server earlier)
 * and when it completed ("done #N": the server cannot apply it later); a
 * write with no "done" (its process was killed) may have been applied until
 * send + T, the transfer's own deadline. Each acquisition is logged with the
 * Lease's acquireTime, which the new holder stamps before it sends the
 * update that takes the Lease: the server cannot have given it the Lease
 * earlier. For every write of syncer P, the latest acquisition at or before
 * its send time must be P's own, and its latest possible application must
 * come before the next acquisition by another syncer. Both hold by
 * construction of the fence (syncer.h) with a margin of seconds, and both
 * would fail if a standby wrote or a deposed leader kept writing. Server-side
 * order is not observed directly (an audit log would): a request the server
 * received before the client gave up on it is assumed applied by then.
 * Log times are UTC time of day: a run across midnight is refused. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "vcenv.h"
#include "translate/translate.h"

#define NS 3
#define REPLICAS 300
#define SCALED 280
#define FINAL 290
#define DELETED_WHILE_NO_LEADER 20
#define TAKEOVER_MAX_MS 20000
#define APP "churn"
#define VNS "churn"

static const char *SYNCER_BIN;
static char WORK[256];
static char NAME[64], HNS[80], HOST_KC[512];
static vc_kube *H, *V;
static vc_translator *T;
static vcenv ENV;
static bool env_up;

typedef struct daemon {
    pid_t pid;
    int port;
    char id[32];
    char log[512];
    bool killed;
} daemon_t;
static daemon_t D[NS];

static int64_t now_ms(void)
{
    return vc__now_ms();
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
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

/* ---- the daemons ---- */

static pid_t spawn(int i)
{
    daemon_t *d = &D[i];
    snprintf(d->id, sizeof d->id, "syncer-%d", i);
    snprintf(d->log, sizeof d->log, "%s/syncer-%d.log", WORK, i);
    d->port = free_port();
    char listen[64], ident[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", d->port);
    snprintf(ident, sizeof ident, "--leader-elect-identity=%s", d->id);
    const char *argv[] = { SYNCER_BIN, "--name", NAME, "--host-namespace", HNS, "--host-kubeconfig", HOST_KC,
                           "--virtual-kubeconfig", ENV.kubeconfig, "--listen", listen, "--kubelet-listen", "",
                           "--leader-elect", ident, "-v", NULL };
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(SYNCER_BIN, (char *const *)argv);
        _exit(127);
    }
    d->pid = pid > 0 ? pid : 0;
    printf("# %s: pid %d, health on %d, log %s\n", d->id, (int)pid, d->port, d->log);
    return pid;
}

static int stop_daemon(int i, int sig, int grace_ms)
{
    daemon_t *d = &D[i];
    if (d->pid <= 0)
        return -1;
    kill(d->pid, sig);
    int st = -1;
    int64_t end = now_ms() + grace_ms;
    for (;;) {
        pid_t r = waitpid(d->pid, &st, WNOHANG);
        if (r == d->pid)
            break;
        if (r < 0) {
            st = -1;
            break;
        }
        if (now_ms() > end) {
            fprintf(stderr, "# %s did not exit on signal %d within %d ms: SIGKILL\n", d->id, sig, grace_ms);
            kill(d->pid, SIGKILL);
            waitpid(d->pid, &st, 0);
            st = -1;
            break;
        }
        sleep_ms(50);
    }
    d->pid = 0;
    return st;
}

static void cleanup_all(void)
{
    for (int i = 0; i < NS; i++)
        if (D[i].pid > 0)
            stop_daemon(i, SIGKILL, 5000);
    if (H && HNS[0]) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/namespaces/%s", HNS);
        vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
    }
    if (env_up) {
        vcenv_down(&ENV);
        env_up = false;
    }
}

static void on_term(int sig)
{
    fprintf(stderr, "# signal %d: cleaning up\n", sig);
    cleanup_all();
    _exit(1);
}

static void http_get(int port, const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0)
            close(fd);
        return;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return;
    }
    size_t got = 0;
    int64_t end = now_ms() + 5000;
    while (got + 1 < cap && now_ms() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 500) <= 0)
            continue;
        ssize_t r = read(fd, out + got, cap - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
}

/* ---- the Lease ---- */

/* The holder and acquireTime (ms since the epoch) of the Lease. */
static bool lease(char *holder, size_t cap, int64_t *acquire_ms)
{
    char path[256];
    snprintf(path, sizeof path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/vcluster-%s-controller", HNS,
             NAME);
    json_t *l = kget(H, path);
    holder[0] = '\0';
    *acquire_ms = 0;
    if (!l)
        return false;
    const char *h = vc__jpath_str(l, "spec", "holderIdentity");
    const char *a = vc__jpath_str(l, "spec", "acquireTime");
    snprintf(holder, cap, "%s", h ? h : "");
    if (a) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        int us = 0;
        if (sscanf(a, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                   &tm.tm_sec, &us) >= 6) {
            tm.tm_year -= 1900;
            tm.tm_mon -= 1;
            *acquire_ms = (int64_t)timegm(&tm) * 1000 + us / 1000;
        }
    }
    json_decref(l);
    return true;
}

static int holder_index(const char *holder)
{
    for (int i = 0; i < NS; i++)
        if (!strcmp(holder, D[i].id))
            return i;
    return -1;
}

/* Wait for a holder other than `not` (-1: any); returns its index. */
static int wait_leader(int not, int timeout_ms, int64_t *acquire_ms)
{
    int64_t end = now_ms() + timeout_ms;
    char h[128];
    while (now_ms() < end) {
        if (lease(h, sizeof h, acquire_ms)) {
            int i = holder_index(h);
            if (i >= 0 && i != not)
                return i;
        }
        sleep_ms(200);
    }
    return -1;
}

/* ---- host == translate(virtual) (as syncer_crash.c) ---- */

typedef struct snap {
    int vlive, vdeleting, vready, vapp;
    int hlive, hdeleting, hrunning, happ;
    int missing, orphans, dups, wrong_uid;
} snap;

static bool is_deleting(const json_t *o)
{
    return json_object_get(json_object_get(o, "metadata"), "deletionTimestamp") != NULL;
}

static const char *label_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), key));
}

static const char *annotation_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "annotations"), key));
}

static int host_app_pods(void)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=app%%3D" APP, HNS);
    json_t *l = kget(H, path);
    if (!l)
        return -1;
    int n = (int)json_array_size(json_object_get(l, "items"));
    json_decref(l);
    return n;
}

static int take_snap(snap *o)
{
    memset(o, 0, sizeof *o);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", HNS);
    json_t *vl = kget(V, "/api/v1/pods");
    json_t *hl = kget(H, path);
    json_t *want = json_object(), *seen = json_object(), *seen_uid = json_object();
    int rc = vl && hl && want && seen && seen_uid ? 0 : -1;
    size_t i;
    json_t *it;
    if (rc == 0) {
        json_array_foreach(json_object_get(vl, "items"), i, it) {
            if (is_deleting(it)) {
                o->vdeleting++;
                continue;
            }
            o->vlive++;
            const char *ns = vc__jpath_str(it, "metadata", "namespace");
            const char *name = vc__jpath_str(it, "metadata", "name");
            const char *uid = vc__jpath_str(it, "metadata", "uid");
            vc_buf hn = VC_BUF_INIT;
            if (ns && name && uid && vc_translate_host_name(&hn, T, "Pod", ns, name) == VC_OK)
                json_object_set_new(want, hn.ptr, json_string(uid));
            vc_buf_dispose(&hn);
            if (vc__streq(label_of(it, "app"), APP) && vc__streq(ns, VNS))
                o->vapp++;
            if (vc__streq(vc__jpath_str(it, "status", "phase"), "Running") && vc__jpath_str(it, "spec", "nodeName"))
                o->vready++;
        }
        json_array_foreach(json_object_get(hl, "items"), i, it) {
            if (is_deleting(it)) {
                o->hdeleting++;
                continue;
            }
            o->hlive++;
            const char *hname = vc__jpath_str(it, "metadata", "name");
            const char *vuid = hname ? json_string_value(json_object_get(want, hname)) : NULL;
            const char *auid = annotation_of(it, "vcluster.loft.sh/uid");
            if (vc__streq(vc__jpath_str(it, "status", "phase"), "Running"))
                o->hrunning++;
            if (vc__streq(label_of(it, "app"), APP))
                o->happ++;
            if (!vuid) {
                o->orphans++;
                continue;
            }
            if (!vc__streq(vuid, auid))
                o->wrong_uid++;
            if (json_object_get(seen, hname) || (auid && json_object_get(seen_uid, auid)))
                o->dups++;
            json_object_set_new(seen, hname, json_true());
            if (auid)
                json_object_set_new(seen_uid, auid, json_true());
        }
        const char *k;
        json_t *v;
        json_object_foreach(want, k, v) {
            if (!json_object_get(seen, k))
                o->missing++;
        }
    }
    json_decref(vl);
    json_decref(hl);
    json_decref(want);
    json_decref(seen);
    json_decref(seen_uid);
    return rc;
}

static void print_snap(const char *what, const snap *o)
{
    printf("# %s: virtual live %d (deleting %d, Running+bound %d, app %d) | host live %d (deleting %d, Running %d, "
           "app %d) | missing %d, orphans %d, duplicates %d, wrong uid %d\n",
           what, o->vlive, o->vdeleting, o->vready, o->vapp, o->hlive, o->hdeleting, o->hrunning, o->happ,
           o->missing, o->orphans, o->dups, o->wrong_uid);
    fflush(stdout);
}

static bool converged(const snap *o, int app)
{
    return o->vdeleting == 0 && o->hdeleting == 0 && o->missing == 0 && o->orphans == 0 && o->dups == 0 &&
           o->wrong_uid == 0 && o->vready == o->vlive && o->hrunning == o->hlive && o->hlive == o->vlive &&
           o->vapp == app && o->happ == app;
}

static bool wait_converged(int app, int timeout_ms, snap *last)
{
    int64_t t0 = now_ms(), end = t0 + timeout_ms, last_print = 0;
    memset(last, 0, sizeof *last);
    for (;;) {
        snap o;
        if (take_snap(&o) == 0) {
            *last = o;
            bool done = converged(&o, app);
            if (done || now_ms() - last_print > 10000) {
                char what[64];
                snprintf(what, sizeof what, "%s%.1f s", done ? "converged after " : "", (now_ms() - t0) / 1000.0);
                print_snap(what, &o);
                last_print = now_ms();
            }
            if (done)
                return true;
        }
        if (now_ms() > end)
            return false;
        sleep_ms(1000);
    }
}

static void check_converged(const snap *o, int app)
{
    CHECK_INT(o->missing, 0);
    CHECK_INT(o->orphans, 0);
    CHECK_INT(o->dups, 0);
    CHECK_INT(o->wrong_uid, 0);
    CHECK_INT(o->vdeleting, 0);
    CHECK_INT(o->hdeleting, 0);
    CHECK_INT(o->vapp, app);
    CHECK_INT(o->happ, app);
    CHECK_INT(o->hlive, o->vlive);
    CHECK_INT(o->vready, o->vlive);
    CHECK_INT(o->hrunning, o->hlive);
}

static int scale(int replicas)
{
    char body[64];
    snprintf(body, sizeof body, "{\"spec\":{\"replicas\":%d}}", replicas);
    int rc = vc_kube_request(V, NULL, NULL, "PATCH", "/apis/apps/v1/namespaces/" VNS "/deployments/" APP "/scale",
                             body, "application/merge-patch+json");
    if (rc < 0)
        fprintf(stderr, "scale: %s\n", vc_error_last()->message);
    return rc;
}

/* ---- the steps ---- */

static int leader_i = -1;
static int64_t takeover_ms = -1, release_takeover_ms = -1;

static void t_setup(void)
{
    char buf[1024], path[256];
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", HNS);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", buf), VC_OK);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services", HNS);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"ports\":[{\"name\":\"https\",\"port\":443,\"targetPort\":8443}]}}",
             NAME);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", HNS);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"vc-workload-%s\"}}", NAME);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" VNS "\"}}"),
              VC_OK);
}

static void t_one_leader_two_standbys(void)
{
    for (int i = 0; i < NS; i++)
        CHECK(spawn(i) > 0);
    int64_t acq;
    leader_i = wait_leader(-1, 60000, &acq);
    CHECK(leader_i >= 0);
    if (leader_i < 0)
        return;
    printf("# %s leads\n", D[leader_i].id);
    /* the standbys: ready once their caches are, and say standby */
    for (int i = 0; i < NS; i++) {
        char out[8192];
        int64_t end = now_ms() + 60000;
        do {
            http_get(D[i].port, "/readyz", out, sizeof out);
            if (strstr(out, " 200 "))
                break;
            sleep_ms(500);
        } while (now_ms() < end);
        CHECK_CONTAINS(out, " 200 ");
        if (i == leader_i)
            CHECK(strstr(out, "standby") == NULL);
        else
            CHECK_CONTAINS(out, "ok (standby)");
        static char metrics[1 << 20]; /* every controller's and request's families come first */
        http_get(D[i].port, "/metrics", metrics, sizeof metrics);
        char want[200];
        snprintf(want, sizeof want, "leader_election_master_status{name=\"vcluster-%s-controller\"} %d", NAME,
                 i == leader_i ? 1 : 0);
        CHECK_CONTAINS(metrics, want);
    }
}

static void t_kill_leader_mid_churn(void)
{
    if (leader_i < 0)
        return;
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"" APP "\"},"
             "\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":\"" APP "\"}},"
             "\"template\":{\"metadata\":{\"labels\":{\"app\":\"" APP "\"}},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}",
             REPLICAS);
    CHECK_INT(kcreate(V, "/apis/apps/v1/namespaces/" VNS "/deployments", buf), VC_OK);
    int64_t end = now_ms() + 120000;
    int n = 0;
    while (now_ms() < end && (n = host_app_pods()) < REPLICAS / 3)
        sleep_ms(100);
    CHECK(n >= REPLICAS / 3);
    int64_t kill_wall = wall_ms();
    int killed = leader_i;
    D[killed].killed = true;
    stop_daemon(killed, SIGKILL, 5000);
    printf("# SIGKILLed the leader %s with %d of %d pods on the host\n", D[killed].id, n, REPLICAS);
    /* churn while nobody leads */
    CHECK_INT(scale(SCALED), VC_OK);
    json_t *l = kget(V, "/api/v1/namespaces/" VNS "/pods?labelSelector=app%3D" APP);
    size_t i;
    json_t *it;
    int deleted = 0;
    json_array_foreach(json_object_get(l, "items"), i, it) {
        if (deleted >= DELETED_WHILE_NO_LEADER)
            break;
        char path[512];
        snprintf(path, sizeof path, "/api/v1/namespaces/" VNS "/pods/%s", vc__jpath_str(it, "metadata", "name"));
        if (vc_kube_request(V, NULL, NULL, "DELETE", path, NULL, NULL) == VC_OK)
            deleted++;
    }
    json_decref(l);
    printf("# while no one leads: scaled to %d, deleted %d pods inside\n", SCALED, deleted);
    int64_t acq = 0;
    leader_i = wait_leader(killed, 60000, &acq);
    CHECK(leader_i >= 0);
    if (leader_i < 0)
        return;
    takeover_ms = acq - kill_wall;
    printf("# takeover: %s holds the Lease %lld ms after the kill (acquireTime; limit %d ms)\n", D[leader_i].id,
           (long long)takeover_ms, TAKEOVER_MAX_MS);
    CHECK(takeover_ms > 0 && takeover_ms <= TAKEOVER_MAX_MS);
}

static void t_converges_after_takeover(void)
{
    snap o;
    CHECK(wait_converged(SCALED, 150000, &o));
    check_converged(&o, SCALED);
}

static void t_clean_stop_hands_over(void)
{
    if (leader_i < 0)
        return;
    int old = leader_i;
    int64_t t0 = wall_ms();
    int st = stop_daemon(old, SIGTERM, 20000);
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    int64_t acq = 0;
    leader_i = wait_leader(old, 30000, &acq);
    CHECK(leader_i >= 0);
    if (leader_i < 0)
        return;
    release_takeover_ms = acq - t0;
    printf("# SIGTERM to %s: %s holds the released Lease %lld ms later\n", D[old].id, D[leader_i].id,
           (long long)release_takeover_ms);
    CHECK(release_takeover_ms < 5000);
    CHECK_INT(scale(FINAL), VC_OK);
    snap o;
    CHECK(wait_converged(FINAL, 120000, &o));
    check_converged(&o, FINAL);
}

/* ---- the proof from the logs ---- */

typedef struct acq {
    int64_t t; /* ms of the day */
    int who;
} acq_t;

static int64_t tod_ms(const char *hms) /* "HH:MM:SS.mmm"; a line may start with an RFC 3339 date */
{
    int h, m, s, ms;
    if (!strncmp(hms, "20", 2) && hms[10] == 'T')
        hms += 11; /* "2026-12-03T17:18:16.292Z": the daemon's log time, UTC as acquireTime */
    if (sscanf(hms, "%2d:%2d:%2d.%3d", &h, &m, &s, &ms) != 4)
        return -1;
    return ((int64_t)h * 3600 + m * 60 + s) * 1000 + ms;
}

typedef struct wr {
    int64_t sent, until; /* until: done, else sent + timeout */
    bool done;
} wr_t;

static void t_no_two_leaders_wrote_at_once(void)
{
    acq_t acqs[64];
    int n_acq = 0;
    static wr_t w[NS][20000];
    int nw[NS] = { 0 };
    for (int i = 0; i < NS; i++) {
        FILE *f = fopen(D[i].log, "r");
        CHECK(f != NULL);
        if (!f)
            continue;
        char line[4096];
        while (fgets(line, sizeof line, f)) {
            int64_t t = tod_ms(line);
            if (t < 0)
                continue;
            const char *p;
            unsigned long long seq;
            int tmo;
            if ((p = strstr(line, "write: send #")) && sscanf(p, "write: send #%llu", &seq) == 1 &&
                (p = strstr(p, "(timeout ")) && sscanf(p, "(timeout %d ms)", &tmo) == 1) {
                if (seq >= 1 && seq <= 20000) {
                    w[i][seq - 1] = (wr_t){ t, t + tmo, false };
                    if ((int)seq > nw[i])
                        nw[i] = (int)seq;
                }
            } else if ((p = strstr(line, "write: done #")) && sscanf(p, "write: done #%llu", &seq) == 1) {
                if (seq >= 1 && seq <= 20000 && w[i][seq - 1].sent) {
                    w[i][seq - 1].until = t + 1; /* the log's ms are truncated */
                    w[i][seq - 1].done = true;
                }
            } else if ((p = strstr(line, " leads (Lease ")) && (p = strstr(p, "acquireTime ")) && n_acq < 64) {
                /* acquireTime 2026-12-03T16:09:29.123456Z */
                const char *tp = strchr(p + strlen("acquireTime "), 'T');
                int64_t at = tp ? tod_ms(tp + 1) : -1;
                if (at >= 0)
                    acqs[n_acq++] = (acq_t){ at, i };
            }
        }
        fclose(f);
    }
    /* sort the acquisitions by time */
    for (int a = 1; a < n_acq; a++)
        for (int b = a; b > 0 && acqs[b].t < acqs[b - 1].t; b--) {
            acq_t x = acqs[b];
            acqs[b] = acqs[b - 1];
            acqs[b - 1] = x;
        }
    printf("# acquisitions:");
    for (int a = 0; a < n_acq; a++)
        printf(" %s@%lld", D[acqs[a].who].id, (long long)acqs[a].t);
    printf("\n");
    CHECK(n_acq >= 3); /* first, after the kill, after the stop */
    int bad = 0, total = 0;
    int64_t min_margin = INT64_MAX;
    for (int i = 0; i < NS; i++) {
        int unfinished = 0;
        for (int k = 0; k < nw[i]; k++) {
            const wr_t *x = &w[i][k];
            if (!x->sent)
                continue;
            total++;
            if (!x->done)
                unfinished++;
            int own = -1;
            for (int a = 0; a < n_acq; a++)
                if (acqs[a].t <= x->sent)
                    own = a;
            int64_t next = INT64_MAX;
            for (int a = own + 1; own >= 0 && a < n_acq; a++)
                if (acqs[a].who != i) {
                    next = acqs[a].t;
                    break;
                }
            if (own < 0 || acqs[own].who != i || x->until >= next) {
                if (bad++ < 5)
                    fprintf(stderr, "# %s write #%d sent at %lld (until %lld) outside its lead (own %d, next %lld)\n",
                            D[i].id, k + 1, (long long)x->sent, (long long)x->until, own, (long long)next);
            } else if (next != INT64_MAX && next - x->until < min_margin) {
                min_margin = next - x->until;
            }
        }
        printf("# %s: %d writes logged (%d without completion)\n", D[i].id, nw[i], unfinished);
    }
    printf("# %d writes checked, %d outside their writer's lead; closest to a later acquisition: %lld ms before\n",
           total, bad, min_margin == INT64_MAX ? -1LL : (long long)min_margin);
    CHECK(total > REPLICAS); /* the record is there at all */
    CHECK_INT(bad, 0);
}

static void t_stop_all(void)
{
    for (int i = 0; i < NS; i++) {
        if (D[i].pid <= 0)
            continue;
        int st = stop_daemon(i, SIGTERM, 20000);
        CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    SYNCER_BIN = getenv("VC_SYNCER_BIN");
    if (!SYNCER_BIN || access(SYNCER_BIN, X_OK) != 0) {
        fprintf(stderr, "FAIL: VC_SYNCER_BIN (the vcluster-syncer daemon) is not set or not executable\n");
        return 1;
    }
    snprintf(HOST_KC, sizeof HOST_KC, "%s", kc);
    snprintf(WORK, sizeof WORK, "/tmp/vc-failover-XXXXXX");
    if (!mkdtemp(WORK))
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    vc_global_init(NULL);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (tm.tm_hour == 23 && tm.tm_min >= 55) {
        printf("# too close to midnight UTC for time-of-day log stamps: waiting\n");
        sleep_ms((60 - tm.tm_min) * 60000 + 5000);
    }
    if (vcenv_up(&ENV) < 0)
        return 1;
    env_up = true;
    itest_name(NAME, sizeof NAME, "fo");
    snprintf(HNS, sizeof HNS, "vcluster-%s", NAME);
    H = kube_for(kc);
    V = kube_for(ENV.kubeconfig);
    vc_translate_options to;
    vc_translate_options_init(&to, VC_TRANSLATE_OPTIONS_VERSION);
    to.name = NAME;
    to.host_namespace = HNS;
    if (!H || !V || vc_translator_new(&T, &to) < 0) {
        cleanup_all();
        return 1;
    }
    int64_t t0 = now_ms();
    RUN(t_setup);
    RUN(t_one_leader_two_standbys);
    RUN(t_kill_leader_mid_churn);
    RUN(t_converges_after_takeover);
    RUN(t_clean_stop_hands_over);
    RUN(t_stop_all);
    RUN(t_no_two_leaders_wrote_at_once);
    printf("# takeover after SIGKILL %lld ms, after SIGTERM %lld ms; whole run %.0f s; logs in %s\n",
           (long long)takeover_ms, (long long)release_takeover_ms, (now_ms() - t0) / 1000.0, WORK);
    cleanup_all();
    if (t_failures == 0) { /* the logs are kept when something failed */
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", WORK);
        run_cmd(cmd, NULL, 0);
    }
    vc_translator_free(T);
    vc_kube_free(H);
    vc_kube_free(V);
    vc_global_shutdown();
    TEST_DONE();
}

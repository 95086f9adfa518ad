/* Every backing store of the local driver against a real server (issue 14,
 * items 3 and 5): embedded SQLite (kine), embedded etcd, an external etcd,
 * PostgreSQL and MariaDB (kine's --endpoint), the last three started by
 * tests/cluster/dbserver as plain processes on loopback. For each: create
 * (timed: create-to-ready), write 1,000 ConfigMaps inside, restart the
 * database server half-way (external stores), pause, resume, and find every
 * object intact with its data. The refusals: replicas > 1 with SQLite names
 * the key; after each external store's run, with the same server, a wrong
 * password is one error with the database's reason, and once the server is
 * stopped, create is one error naming the endpoint and the key (no
 * password, nothing left behind).
 *
 * VC_STORES=sqlite,postgres,... runs a subset (all by default). */
#include <sys/stat.h>
#include <time.h>

#include "kube/kube.h"
#include "vcenv.h"

#define N_OBJECTS 1000

static vc_kube *H;
static char STATE[200], DBROOT[256];
static const char *DBSERVER;

typedef struct store {
    const char *name;   /* sqlite, etcd, external-etcd, postgres, mysql */
    const char *kind;   /* dbserver --kind, or NULL (embedded) */
    double ready_s;     /* create-to-ready */
    double total_s;
    bool ran, ok;
} store;

static store STORES[] = {
    { "sqlite", NULL, 0, 0, false, false },          { "etcd", NULL, 0, 0, false, false },
    { "external-etcd", "etcd", 0, 0, false, false }, { "postgres", "postgres", 0, 0, false, false },
    { "mysql", "mysql", 0, 0, false, false },
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool wanted(const char *name)
{
    const char *w = getenv("VC_STORES");
    if (!w || !*w)
        return true;
    size_t n = strlen(name);
    for (const char *p = w; (p = strstr(p, name)) != NULL; p += n)
        if ((p == w || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* dbserver CMD --dir DIR [--kind KIND]; its stdout (the endpoint) into out */
static int dbserver(const char *cmd, const char *dir, const char *kind, char *out, size_t cap)
{
    char line[1200];
    snprintf(line, sizeof line, "'%s' %s --dir '%s'%s%s", DBSERVER, cmd, dir, kind ? " --kind " : "",
             kind ? kind : "");
    char tmp[1024];
    int rc = run_cmd(line, out ? out : tmp, out ? cap : sizeof tmp);
    if (rc != 0)
        fprintf(stderr, "FAIL: %s: exit %d\n", line, rc);
    return rc;
}

static vc_cluster_op_options op_opts(void)
{
    vc_cluster_op_options o;
    vc_cluster_op_options_init(&o, VC_CLUSTER_OP_OPTIONS_VERSION);
    o.state_dir = STATE;
    o.bin_dir = getenv("VC_K8S_BINDIR");
    o.syncer_path = getenv("VC_SYNCER_BIN");
    o.timeout_ms = 240000;
    return o;
}

static vc_create_options create_opts(const char *name, vc_config *cfg)
{
    vc_create_options o;
    vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION);
    o.name = name;
    o.driver = "local";
    o.state_dir = STATE;
    o.bin_dir = getenv("VC_K8S_BINDIR");
    o.syncer_path = getenv("VC_SYNCER_BIN");
    o.timeout_ms = 240000;
    o.config = cfg;
    return o;
}

static bool ns_exists(const char *ns)
{
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/%s", ns);
    json_t *j = kget(H, p);
    json_decref(j);
    return j != NULL;
}

static vc_config *config_for(const store *st, const char *endpoint)
{
    vc_config *c = NULL;
    if (vc_config_new(&c) < 0)
        return NULL;
    int rc = VC_OK;
    if (!strcmp(st->name, "external-etcd")) {
        rc = vc_config_set(c, "controlPlane.backingStore.etcd.external.endpoint", endpoint);
        if (rc == VC_OK)
            rc = vc_config_set(c, "controlPlane.backingStore.etcd.external.enabled", "true");
    } else if (!strcmp(st->name, "etcd")) {
        rc = vc_config_set(c, "controlPlane.backingStore.etcd.embedded.enabled", "true");
    } else if (st->kind) {
        /* a YAML string, quoted: the dataSource has ':' and '@'; set before
         * `enabled`, which requires it */
        char q[1200];
        snprintf(q, sizeof q, "\"%s\"", endpoint);
        rc = vc_config_set(c, "controlPlane.backingStore.database.external.dataSource", q);
        if (rc == VC_OK)
            rc = vc_config_set(c, "controlPlane.backingStore.database.external.enabled", "true");
    }
    if (rc < 0) {
        fprintf(stderr, "config: %s\n", vc_error_last()->message);
        vc_config_free(c);
        return NULL;
    }
    return c;
}

/* ---- refusals ---- */

static bool ns_gone_within(const char *ns, int seconds)
{
    for (int i = 0; i < seconds * 4; i++) {
        if (!ns_exists(ns))
            return true;
        usleep(250000);
    }
    return !ns_exists(ns);
}

/* A database that refuses kine (a wrong password): one error with the
 * database's reason, well before kine's five minutes of retries, and
 * nothing left behind. */
static void wrong_password_refused(const char *kind, const char *ep)
{
    char bad[1100];
    const char *sch = strstr(ep, "://");
    const char *colon = sch ? strchr(sch + 3, ':') : NULL;
    const char *at = colon ? strchr(colon, '@') : NULL;
    if (!at) {
        CHECK(0);
        return;
    }
    snprintf(bad, sizeof bad, "%.*swrong-password%s", (int)(colon + 1 - ep), ep, at);
    store st = { kind, kind, 0, 0, false, false };
    vc_config *cfg = config_for(&st, bad);
    CHECK(cfg != NULL);
    if (!cfg)
        return;
    char name[32], ns[64];
    itest_name(name, sizeof name, "pw");
    snprintf(ns, sizeof ns, "vcluster-%s", name);
    vc_create_options o = create_opts(name, cfg);
    double t0 = now_s();
    int rc = vc_cluster_create(H, &o, NULL);
    double took = now_s() - t0;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", vc_error_last()->message);
    printf("# %s wrong password: rc %d after %.1f s: %s\n", kind, rc, took, msg);
    CHECK_INT(rc, VC_ECONNECT);
    CHECK_CONTAINS(msg, "refuses kine");
    CHECK_CONTAINS(msg, "controlPlane.backingStore.database.external.dataSource");
    CHECK(strstr(msg, "wrong-password") == NULL);
    CHECK_CONTAINS(msg, !strcmp(kind, "postgres") ? "password authentication failed" : "Access denied");
    CHECK(took < 90);
    if (rc == VC_OK) {
        vc_cluster_op_options oo = op_opts();
        oo.flags = VC_DELETE_NAMESPACE;
        vc_cluster_delete(H, name, NULL, &oo);
    }
    CHECK(ns_gone_within(ns, 60));
    vc_config_free(cfg);
}

/* A store that is down at create time: one error naming the endpoint and
 * the key, without the password; no namespace, state or process left. */
static void down_store_refused(const char *kind, const char *key, const char *dir, const char *ep)
{
    if (dbserver("stop", dir, NULL, NULL, 0) != 0) {
        CHECK(0);
        return;
    }
    store st = { !strcmp(kind, "etcd") ? "external-etcd" : kind, kind, 0, 0, false, false };
    vc_config *cfg = config_for(&st, ep);
    CHECK(cfg != NULL);
    if (!cfg) {
        dbserver("down", dir, NULL, NULL, 0);
        return;
    }
    char name[32], ns[64];
    itest_name(name, sizeof name, "down");
    snprintf(ns, sizeof ns, "vcluster-%s", name);
    vc_create_options o = create_opts(name, cfg);
    double t0 = now_s();
    int rc = vc_cluster_create(H, &o, NULL);
    double took = now_s() - t0;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", vc_error_last()->message);
    printf("# %s down: rc %d after %.1f s: %s\n", kind, rc, took, msg);
    CHECK_INT(rc, VC_ECONNECT);
    if (rc == VC_OK) { /* not what should happen: leave nothing running */
        vc_cluster_op_options oo = op_opts();
        oo.flags = VC_DELETE_NAMESPACE;
        vc_cluster_delete(H, name, NULL, &oo);
    }
    char port[16] = "";
    char pp[400];
    snprintf(pp, sizeof pp, "%s/port", dir);
    FILE *f = fopen(pp, "r");
    if (f) {
        if (!fgets(port, sizeof port, f))
            port[0] = '\0';
        fclose(f);
        port[strcspn(port, "\n")] = '\0';
    }
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%s", port);
    CHECK_CONTAINS(msg, want);
    CHECK_CONTAINS(msg, key);
    CHECK_CONTAINS(msg, "not reachable");
    /* the password never shows */
    char pw[128] = "", pwp[400];
    snprintf(pwp, sizeof pwp, "%s/password", dir);
    f = fopen(pwp, "r");
    if (f) {
        if (!fgets(pw, sizeof pw, f))
            pw[0] = '\0';
        fclose(f);
        pw[strcspn(pw, "\n")] = '\0';
    }
    if (strcmp(kind, "etcd") != 0) {
        CHECK(pw[0] != '\0');
        CHECK(strstr(msg, pw) == NULL);
        CHECK_CONTAINS(msg, "***");
    }
    CHECK(took < 60);
    CHECK(!ns_exists(ns));
    char sd[400];
    struct stat sb;
    snprintf(sd, sizeof sd, "%s/%s/%s", STATE, ns, name);
    CHECK(stat(sd, &sb) != 0);
    vc_config_free(cfg);
}

/* replicas > 1 with the embedded SQLite store: refused naming the key, by
 * the values check and by the driver when backing_store="sqlite" overrides
 * an etcd config */
static void t_refusals(void)
{
    vc_config *c = NULL;
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK(vc_config_set(c, "controlPlane.statefulSet.highAvailability.replicas", "3") < 0);
    CHECK_CONTAINS(vc_error_last()->message, "controlPlane.statefulSet.highAvailability.replicas");
    CHECK_CONTAINS(vc_error_last()->message, "SQLite");
    CHECK_INT(vc_config_set(c, "controlPlane.backingStore.etcd.embedded.enabled", "true"), VC_OK);
    CHECK_INT(vc_config_set(c, "controlPlane.statefulSet.highAvailability.replicas", "3"), VC_OK);
    char name[32], ns[64];
    itest_name(name, sizeof name, "ha");
    snprintf(ns, sizeof ns, "vcluster-%s", name);
    vc_create_options o = create_opts(name, c);
    o.backing_store = "sqlite";
    CHECK_INT(vc_cluster_create(H, &o, NULL), VC_ECONFIG);
    printf("# replicas 3 over sqlite: %s\n", vc_error_last()->message);
    CHECK_CONTAINS(vc_error_last()->message, "controlPlane.statefulSet.highAvailability.replicas");
    CHECK_CONTAINS(vc_error_last()->message, "SQLite");
    CHECK(!ns_exists(ns));
    vc_config_free(c);
}

/* ---- one store end to end ---- */

static vc_kube *connect_virtual(const char *name)
{
    vc_buf kc = VC_BUF_INIT;
    if (vc_cluster_connect(&kc, H, name, NULL, NULL) < 0) {
        fprintf(stderr, "connect: %s\n", vc_error_last()->message);
        return NULL;
    }
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig_data = kc.ptr;
    o.qps = -1;
    o.timeout_ms = 30000;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &o) < 0)
        fprintf(stderr, "kube: %s\n", vc_error_last()->message);
    vc_buf_dispose(&kc);
    return k;
}

/* database.external.dataSourceSecret: the local driver reads the dataSource
 * from the host Secret's key at create; the cluster works over it, and the
 * values it keeps name the Secret, not the password. */
static void from_secret(const char *ep)
{
    char name[32], ns[64], path[300], body[1400];
    itest_name(name, sizeof name, "sec");
    snprintf(ns, sizeof ns, "vcluster-%s", name);
    snprintf(body, sizeof body, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", body), VC_OK);
    json_t *sec = json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "apiVersion", "v1", "kind", "Secret", "metadata", "name",
                            "vc-db", "stringData", "dataSource", ep);
    char *txt = sec ? json_dumps(sec, JSON_COMPACT) : NULL;
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets", ns);
    CHECK_INT(kcreate(H, path, txt ? txt : "{}"), VC_OK);
    vc__free(txt);
    json_decref(sec);
    vc_config *c = NULL;
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_load_string(c,
                                    "controlPlane:\n  backingStore:\n    database:\n      external:\n"
                                    "        enabled: true\n        dataSourceSecret:\n          name: vc-db\n"
                                    "          key: dataSource\n",
                                    "secret.yaml"),
              VC_OK);
    vc_create_options o = create_opts(name, c);
    double t0 = now_s();
    int rc = vc_cluster_create(H, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "create (dataSourceSecret): %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
    printf("# postgres from Secret %s/vc-db: create-to-ready %.1f s\n", ns, now_s() - t0);
    vc_kube *V = rc == VC_OK ? connect_virtual(name) : NULL;
    CHECK(V != NULL);
    if (V) {
        CHECK_INT(kcreate(V, "/api/v1/namespaces/default/configmaps",
                          "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"via-secret\"},"
                          "\"data\":{\"k\":\"v\"}}"),
                  VC_OK);
        json_t *cm = kget(V, "/api/v1/namespaces/default/configmaps/via-secret");
        CHECK_STR(json_string_value(json_object_get(json_object_get(cm, "data"), "k")), "v");
        json_decref(cm);
        vc_kube_free(V);
    }
    /* the values the driver keeps name the Secret only */
    vc_buf y = VC_BUF_INIT;
    CHECK_INT(vc_cluster_get_config(&y, H, name, NULL), VC_OK);
    const char *user = strstr(ep, "://") ? strstr(ep, "://") + 3 : ep;
    const char *colon = strchr(user, ':'), *at = strchr(user, '@');
    char pw[200] = "";
    if (colon && at && at > colon + 1)
        snprintf(pw, sizeof pw, "%.*s", (int)(at - colon - 1), colon + 1);
    CHECK(pw[0] != '\0');
    CHECK(y.ptr && strstr(y.ptr, "dataSourceSecret") && (!pw[0] || !strstr(y.ptr, pw)));
    vc_buf_dispose(&y);
    vc_cluster_op_options oo = op_opts();
    CHECK_INT(vc_cluster_delete(H, name, NULL, &oo), VC_OK);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", ns);
    vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
    vc_error_clear();
    vc_config_free(c);
}


/* what each write saw, for the report of an object not found intact: the
 * attempts and the first error */
static struct {
    int attempts, last_rc;
    char first_err[160];
} WROTE[N_OBJECTS];

/* ConfigMaps [from, to): each retried for up to 90 s (the database may be
 * restarting); returns how many were written */
static int write_objects(vc_kube *V, int from, int to)
{
    int done = 0;
    for (int i = from; i < to; i++) {
        char body[400];
        snprintf(body, sizeof body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"obj-%04d\"},"
                 "\"data\":{\"i\":\"%d\",\"check\":\"value-%d-%d\"}}",
                 i, i, i, i * 7919 % 10007);
        double end = now_s() + 90;
        int rc;
        WROTE[i].attempts = 0;
        WROTE[i].first_err[0] = '\0';
        for (;;) {
            rc = vc_kube_request(V, NULL, NULL, "POST", "/api/v1/namespaces/store-test/configmaps", body, NULL);
            WROTE[i].attempts++;
            WROTE[i].last_rc = rc;
            if (rc != VC_OK && !WROTE[i].first_err[0])
                snprintf(WROTE[i].first_err, sizeof WROTE[i].first_err, "%s", vc_error_last()->message);
            if (rc == VC_OK || rc == VC_EEXISTS || now_s() > end)
                break;
            usleep(250000);
        }
        if (rc != VC_OK && rc != VC_EEXISTS) {
            fprintf(stderr, "write obj-%04d: %s\n", i, vc_error_last()->message);
            break;
        }
        done++;
    }
    return done;
}

/* every object there with its data; the others named, with what their
 * writes saw */
static int count_intact(vc_kube *V)
{
    json_t *l = NULL;
    for (int t = 0; t < 60 && !l; t++) {
        l = kget(V, "/api/v1/namespaces/store-test/configmaps");
        if (!l)
            usleep(500000);
    }
    static bool seen[N_OBJECTS];
    memset(seen, 0, sizeof seen);
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(l, "items"), i, it) {
        const char *nm = json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
        int k = -1;
        if (!nm || sscanf(nm, "obj-%d", &k) != 1 || k < 0 || k >= N_OBJECTS || seen[k])
            continue;
        char want[64];
        snprintf(want, sizeof want, "value-%d-%d", k, k * 7919 % 10007);
        const char *got = json_string_value(json_object_get(json_object_get(it, "data"), "check"));
        if (got && !strcmp(got, want)) {
            seen[k] = true;
            n++;
        }
    }
    for (int k = 0; k < N_OBJECTS && l; k++)
        if (!seen[k])
            printf("# obj-%04d not found intact; its write: %d attempt(s), last rc %d%s%s\n", k, WROTE[k].attempts,
                   WROTE[k].last_rc, WROTE[k].first_err[0] ? ", first error: " : "", WROTE[k].first_err);
    json_decref(l);
    return n;
}

static void run_store(store *st)
{
    double t_start = now_s();
    st->ran = true;
    char dir[300], ep[1024] = "";
    snprintf(dir, sizeof dir, "%s/%s", DBROOT, st->name);
    if (st->kind && dbserver("up", dir, st->kind, ep, sizeof ep) != 0) {
        CHECK(0);
        return;
    }
    vc_config *cfg = config_for(st, ep);
    CHECK(cfg != NULL);
    if (!cfg) {
        if (st->kind)
            dbserver("down", dir, NULL, NULL, 0);
        return;
    }
    char name[32];
    itest_name(name, sizeof name, "st");
    vc_create_options o = create_opts(name, cfg);
    double t0 = now_s();
    int rc = vc_cluster_create(H, &o, NULL);
    st->ready_s = now_s() - t0;
    if (rc < 0)
        fprintf(stderr, "create (%s): %s\n", st->name, vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
    printf("# %s: create-to-ready %.1f s\n", st->name, st->ready_s);
    vc_kube *V = rc == VC_OK ? connect_virtual(name) : NULL;
    CHECK(V != NULL);
    int written = 0;
    if (V) {
        CHECK_INT(kcreate(V, "/api/v1/namespaces",
                          "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"store-test\"}}"),
                  VC_OK);
        double tw = now_s();
        written = write_objects(V, 0, N_OBJECTS / 2);
        /* the database server restarts under the running control plane */
        if (st->kind) {
            double tr = now_s();
            CHECK_INT(dbserver("restart", dir, NULL, NULL, 0), 0);
            printf("# %s: server restarted in %.1f s\n", st->name, now_s() - tr);
        }
        written += write_objects(V, N_OBJECTS / 2, N_OBJECTS);
        printf("# %s: %d objects written in %.1f s\n", st->name, written, now_s() - tw);
        CHECK_INT(written, N_OBJECTS);
        CHECK_INT(count_intact(V), N_OBJECTS);
        vc_kube_free(V);
        V = NULL;
    }
    vc_cluster_op_options oo = op_opts();
    if (rc == VC_OK) {
        double tp = now_s();
        CHECK_INT(vc_cluster_pause(H, name, NULL, &oo), VC_OK);
        if (st->kind && !strcmp(st->kind, "postgres")) {
            /* resume while the database is down: the same one error, and
             * the cluster stays paused until it is back */
            CHECK_INT(dbserver("stop", dir, NULL, NULL, 0), 0);
            int r0 = vc_cluster_resume(H, name, NULL, &oo);
            printf("# %s: resume with the server down: rc %d: %s\n", st->name, r0, vc_error_last()->message);
            CHECK_INT(r0, VC_ECONNECT);
            CHECK_CONTAINS(vc_error_last()->message, "not reachable");
            vc_cluster_info *inf = NULL;
            CHECK_INT(vc_cluster_status(&inf, H, name, NULL), VC_OK);
            CHECK(inf && inf->state == VC_CLUSTER_PAUSED);
            vc_cluster_info_free(inf);
            CHECK_INT(dbserver("start", dir, NULL, NULL, 0), 0);
        }
        int rr = vc_cluster_resume(H, name, NULL, &oo);
        if (rr < 0)
            fprintf(stderr, "resume (%s): %s\n", st->name, vc_error_last()->message);
        CHECK_INT(rr, VC_OK);
        printf("# %s: pause + resume %.1f s\n", st->name, now_s() - tp);
        V = connect_virtual(name);
        CHECK(V != NULL);
        int intact = V ? count_intact(V) : 0;
        printf("# %s: %d of %d objects intact after pause/resume\n", st->name, intact, N_OBJECTS);
        CHECK_INT(intact, N_OBJECTS);
        st->ok = intact == N_OBJECTS && written == N_OBJECTS;
        vc_kube_free(V);
    }
    oo.flags = VC_DELETE_NAMESPACE;
    CHECK_INT(vc_cluster_delete(H, name, NULL, &oo), VC_OK);
    vc_config_free(cfg);
    /* the same server for the refusals: a wrong password while it runs,
     * then it is down */
    if (st->kind) {
        bool etcd = !strcmp(st->kind, "etcd");
        if (!strcmp(st->kind, "postgres"))
            from_secret(ep);
        if (!etcd)
            wrong_password_refused(st->kind, ep);
        down_store_refused(st->kind,
                           etcd ? "controlPlane.backingStore.etcd.external.endpoint"
                                : "controlPlane.backingStore.database.external.dataSource",
                           dir, ep);
        dbserver("down", dir, NULL, NULL, 0);
    }
    st->total_s = now_s() - t_start;
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    if (!getenv("VC_K8S_BINDIR") || !getenv("VC_SYNCER_BIN")) {
        fprintf(stderr, "FAIL: VC_K8S_BINDIR and VC_SYNCER_BIN must be set (tests/run does it)\n");
        return 1;
    }
    DBSERVER = getenv("VC_DBSERVER");
    if (!DBSERVER || access(DBSERVER, X_OK) != 0) {
        fprintf(stderr, "FAIL: VC_DBSERVER must name tests/cluster/dbserver (meson sets it)\n");
        return 1;
    }
    vc_global_init(NULL);
    snprintf(STATE, sizeof STATE, "/tmp/vc-st-XXXXXX");
    if (!mkdtemp(STATE))
        return 1;
    /* PostgreSQL runs as nobody under root: its directory must be reachable */
    chmod(STATE, 0711);
    snprintf(DBROOT, sizeof DBROOT, "%s/db", STATE);
    mkdir(DBROOT, 0711);
    H = kube_for(kc);
    if (!H)
        return 1;
    double t0 = now_s();
    RUN(t_refusals);
    for (size_t i = 0; i < VC__ARRAY_LEN(STORES); i++)
        if (wanted(STORES[i].name)) {
            printf("# --- %s\n", STORES[i].name);
            int before = t_failures;
            t_current = STORES[i].name;
            run_store(&STORES[i]);
            printf("%s store %s\n", t_failures == before ? "ok" : "not ok", STORES[i].name);
            fflush(stdout);
        }
    printf("# store            create-to-ready   whole run   result\n");
    for (size_t i = 0; i < VC__ARRAY_LEN(STORES); i++)
        if (STORES[i].ran)
            printf("# %-16s %10.1f s %10.1f s   %s\n", STORES[i].name, STORES[i].ready_s, STORES[i].total_s,
                   STORES[i].ok ? "all 1000 objects intact" : "FAILED");
    printf("# total %.1f s\n", now_s() - t0);
    vc_kube_free(H);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", STATE);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    vc_global_shutdown();
    TEST_DONE();
}

/*
 * The local driver: the virtual control plane as processes on this machine
 * (kine over SQLite or etcd, kube-apiserver, kube-controller-manager, and
 * kube-scheduler with controlPlane.advanced.virtualScheduler) plus the
 * syncer daemon, with certificates from src/pki. The host side is the
 * same as with the kubernetes driver: namespace, Service NAME (its ClusterIP
 * is what pods see as the API server), ServiceAccount vc-workload-NAME and
 * the kubeconfig Secret vc-NAME. State: <root>/<namespace>/<name>/.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lifecycle/k8s.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/proc.h"
#include "pki/pki.h"

#define DRIVER "local"

/* P_SCHED runs only with the virtual scheduler, P_LB only with several API
 * server replicas (exe[...] NULL: not part of this cluster). P_API is the
 * first API server replica; the others are in api_pid/api_port[1..]. */
enum { P_STORE, P_API, P_KCM, P_SYNCER, P_SCHED, P_LB, P_COUNT };
static const char *const k_comp[P_COUNT] = { "store",          "kube-apiserver", "kube-controller-manager",
                                             "vcluster-syncer", "kube-scheduler", "api-balancer" };
/* controlPlane.statefulSet.highAvailability.replicas: API servers at most
 * (each is a process of a few hundred MB on this machine) */
#define MAX_API 9
#define KEY_REPLICAS "controlPlane.statefulSet.highAvailability.replicas"

/* The backing stores (run.json "store"): a kine process over SQLite in the
 * state dir, an etcd process with its data there, an external etcd the API
 * server talks to directly (no store process), or kine over an external
 * MySQL/PostgreSQL (its dataSource passed in KINE_ENDPOINT, not argv). */
#define ST_SQLITE "sqlite"
#define ST_ETCD "etcd"
#define ST_EXT_ETCD "external-etcd"
#define ST_EXT_DB "external-database"
#define KEY_DS "controlPlane.backingStore.database.external.dataSource"
#define KEY_ETCD_EP "controlPlane.backingStore.etcd.external.endpoint"

typedef struct lstate {
    char *dir;            /* <root>/<ns>/<name> */
    char *store;          /* ST_* */
    char *endpoint;       /* external stores: dataSource or etcd endpoints (run.json is 0600) */
    char *tls[3];         /* external stores: CA, cert, key files */
    json_t *store_args;   /* extraArgs of kine or etcd (strings) */
    long store_log_off;   /* size of the store's log when it was started (not saved) */
    char *service_cidr;
    char *exe[P_COUNT];   /* absolute paths */
    int port[P_COUNT];
    int peer_port;        /* etcd */
    int kubelet_port;     /* the syncer's kubelet proxy (fake nodes' kubelet endpoint) */
    char *host_context;   /* context in host.kubeconfig to use, or NULL */
    pid_t pid[P_COUNT];
    int replicas;         /* API servers (1: no balancer) */
    pid_t api_pid[MAX_API];  /* replicas 1.. (0 is pid[P_API]) */
    int api_port[MAX_API];
} lstate;

/* replica r's pid and port: r 0 is the P_API slot */
static pid_t *api_pidp(lstate *s, int r)
{
    return r == 0 ? &s->pid[P_API] : &s->api_pid[r];
}
static int *api_portp(lstate *s, int r)
{
    return r == 0 ? &s->port[P_API] : &s->api_port[r];
}
/* logs/<name>.log and run.json's key of replica r */
static void api_name(char *buf, size_t cap, int r)
{
    if (r == 0)
        snprintf(buf, cap, "%s", k_comp[P_API]);
    else
        snprintf(buf, cap, "%s-%d", k_comp[P_API], r);
}
/* The port clients use: the balancer's with several replicas */
static int server_port(const lstate *s)
{
    return s->replicas > 1 ? s->port[P_LB] : s->port[P_API];
}

static void ls_clear(lstate *s)
{
    vc__free(s->dir);
    vc__free(s->store);
    vc__free(s->endpoint);
    for (int i = 0; i < 3; i++)
        vc__free(s->tls[i]);
    json_decref(s->store_args);
    vc__free(s->service_cidr);
    vc__free(s->host_context);
    for (int i = 0; i < P_COUNT; i++)
        vc__free(s->exe[i]);
    memset(s, 0, sizeof(*s));
}

static char *state_root(const vc__lc *lc)
{
    if (!vc__str_empty(lc->state_root))
        return vc__strdup(lc->state_root);
    const char *env = getenv("VC_STATE_DIR");
    if (!vc__str_empty(env))
        return vc__strdup(env);
    const char *x = getenv("XDG_STATE_HOME");
    if (!vc__str_empty(x))
        return vc__sprintf("%s/libvcluster/vclusters", x);
    const char *home = getenv("HOME");
    return vc__sprintf("%s/.local/state/libvcluster/vclusters", home ? home : "/tmp");
}

static char *sub(const lstate *s, const char *rel)
{
    return vc__sprintf("%s/%s", s->dir, rel);
}

static const char *exe_base(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* ---- state file (run.json) ---- */

static int ls_save(const lstate *s)
{
    json_t *pids = json_object(), *ports = json_object(), *exes = json_object();
    for (int i = 0; i < P_COUNT; i++) {
        json_object_set_new(pids, k_comp[i], json_integer(s->pid[i]));
        json_object_set_new(ports, k_comp[i], json_integer(s->port[i]));
        if (s->exe[i])
            json_object_set_new(exes, k_comp[i], json_string(s->exe[i]));
    }
    for (int r = 1; r < s->replicas && r < MAX_API; r++) {
        char n[64];
        api_name(n, sizeof n, r);
        json_object_set_new(pids, n, json_integer(s->api_pid[r]));
        json_object_set_new(ports, n, json_integer(s->api_port[r]));
    }
    json_object_set_new(ports, "etcd-peer", json_integer(s->peer_port));
    json_object_set_new(ports, "kubelet-proxy", json_integer(s->kubelet_port));
    json_t *o = json_pack("{s:s,s:i,s:s?,s:s?,s:o,s:o,s:o,s:s?,s:{s:s?,s:s?,s:s?},s:O?}", "store", s->store,
                          "apiReplicas", s->replicas,
                          "serviceCIDR", s->service_cidr, "hostContext", s->host_context, "pids", pids, "ports", ports,
                          "executables", exes, "storeEndpoint", s->endpoint, "storeTLS", "ca", s->tls[0], "cert",
                          s->tls[1], "key", s->tls[2], "storeArgs", s->store_args);
    char *txt = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    char *p = sub(s, "run.json");
    int rc = txt && p ? vc__file_write(p, txt, strlen(txt), 0600) : vc__error_oom();
    vc__free(txt);
    vc__free(p);
    return rc;
}

static int ls_load(lstate *s, const char *dir)
{
    memset(s, 0, sizeof(*s));
    s->dir = vc__strdup(dir);
    char *p = s->dir ? sub(s, "run.json") : NULL;
    char *txt = NULL;
    size_t len = 0;
    int rc = p ? vc__file_read(p, &txt, &len) : vc__error_oom();
    vc__free(p);
    if (rc < 0) {
        if (rc == VC_ENOTFOUND)
            vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE,
                      "no local state in %s: this virtual cluster was created on another machine or its state was removed",
                      dir);
        ls_clear(s);
        return rc;
    }
    json_t *o = json_loadb(txt, len, 0, NULL);
    vc__free(txt);
    if (!o) {
        ls_clear(s);
        return vc__error(VC_ECONFIG, VC_ERRCLASS_LIFECYCLE, "%s/run.json is corrupt", dir);
    }
    s->store = vc__strdup(vc__lc_str(o, "store") ? vc__lc_str(o, "store") : "sqlite");
    s->service_cidr = vc__lc_str(o, "serviceCIDR") ? vc__strdup(vc__lc_str(o, "serviceCIDR")) : NULL;
    s->host_context = vc__lc_str(o, "hostContext") ? vc__strdup(vc__lc_str(o, "hostContext")) : NULL;
    for (int i = 0; i < P_COUNT; i++) {
        s->pid[i] = (pid_t)json_integer_value(json_object_get(json_object_get(o, "pids"), k_comp[i]));
        s->port[i] = (int)json_integer_value(json_object_get(json_object_get(o, "ports"), k_comp[i]));
        const char *e = vc__lc_str(json_object_get(o, "executables"), k_comp[i]);
        s->exe[i] = e ? vc__strdup(e) : NULL;
    }
    s->peer_port = (int)json_integer_value(json_object_get(json_object_get(o, "ports"), "etcd-peer"));
    json_int_t reps = json_integer_value(json_object_get(o, "apiReplicas"));
    s->replicas = reps >= 1 && reps <= MAX_API ? (int)reps : 1; /* 1 in state from before replicas */
    for (int r = 1; r < s->replicas; r++) {
        char n[64];
        api_name(n, sizeof n, r);
        s->api_pid[r] = (pid_t)json_integer_value(json_object_get(json_object_get(o, "pids"), n));
        s->api_port[r] = (int)json_integer_value(json_object_get(json_object_get(o, "ports"), n));
    }
    const char *ep = vc__lc_str(o, "storeEndpoint");
    s->endpoint = ep ? vc__strdup(ep) : NULL;
    static const char *const tk[3] = { "ca", "cert", "key" };
    for (int i = 0; i < 3; i++) {
        const char *t = vc__lc_str(json_object_get(o, "storeTLS"), tk[i]);
        s->tls[i] = t ? vc__strdup(t) : NULL;
    }
    json_t *sa = json_object_get(o, "storeArgs");
    s->store_args = json_is_array(sa) ? json_incref(sa) : NULL;
    s->kubelet_port = (int)json_integer_value(json_object_get(json_object_get(o, "ports"), "kubelet-proxy"));
    json_decref(o);
    return VC_OK;
}

/* ---- binaries ---- */

static char *default_syncer(void)
{
    const char *env = getenv("VC_SYNCER_BIN");
    if (env && *env && access(env, X_OK) == 0)
        return vc__strdup(env);
    /* next to the running program, or in the build tree's examples/controller */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *dir = vc__path_dirname(self);
        static const char *const rel[] = { "vcluster-syncer", "../controller/vcluster-syncer",
                                           "../examples/controller/vcluster-syncer",
                                           "../../examples/controller/vcluster-syncer" };
        for (size_t i = 0; dir && i < VC__ARRAY_LEN(rel); i++) {
            char *p = vc__sprintf("%s/%s", dir, rel[i]);
            if (p && access(p, X_OK) == 0) {
                char *real = realpath(p, NULL);
                vc__free(p);
                vc__free(dir);
                char *r = real ? vc__strdup(real) : NULL;
                free(real);
                return r;
            }
            vc__free(p);
        }
        vc__free(dir);
    }
    return vc__find_exe(NULL, "vcluster-syncer");
}

/* A Kubernetes binary of the local driver: in `bin` when given; else on
 * PATH; else in the cache tests/cluster/hostcluster builds into
 * (${XDG_CACHE_HOME:-~/.cache}/libvcluster/bin/<version>/, the highest
 * version that has it), so a machine that ran the demo needs no --bin-dir. */
static char *find_k8s_exe(const char *bin, const char *name)
{
    if (!vc__str_empty(bin))
        return vc__find_exe(bin, name);
    char *p = vc__find_exe(NULL, name);
    if (p)
        return p;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char *root = !vc__str_empty(xdg)    ? vc__sprintf("%s/libvcluster/bin", xdg)
                 : !vc__str_empty(home) ? vc__sprintf("%s/.cache/libvcluster/bin", home)
                                        : NULL;
    DIR *d = root ? opendir(root) : NULL;
    char best[256] = "";
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof best ||
            (best[0] && strverscmp(e->d_name, best) <= 0))
            continue;
        char *cand = vc__sprintf("%s/%s/%s", root, e->d_name, name);
        if (cand && access(cand, X_OK) == 0)
            snprintf(best, sizeof best, "%s", e->d_name);
        vc__free(cand);
    }
    if (d)
        closedir(d);
    p = best[0] ? vc__sprintf("%s/%s/%s", root, best, name) : NULL;
    vc__free(root);
    return p;
}

static int resolve_binaries(vc__lc *lc, lstate *s)
{
    const char *bin = lc->bin_dir;
    if (vc__str_empty(bin))
        bin = getenv("VC_K8S_BINDIR");
    /* an external etcd: no store process (exe[P_STORE] stays NULL) */
    const char *names[P_COUNT] = { vc__streq(s->store, ST_ETCD)       ? "etcd"
                                   : vc__streq(s->store, ST_EXT_ETCD) ? NULL
                                                                      : "kine",
                                   "kube-apiserver", "kube-controller-manager", NULL };
    for (int i = 0; i < P_SYNCER; i++) {
        if (!names[i])
            continue;
        s->exe[i] = find_k8s_exe(bin, names[i]);
        if (!s->exe[i])
            return vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE,
                             "the local driver needs %s%s%s%s; build them with tests/cluster/hostcluster build and pass "
                             "their directory (--bin-dir or VC_K8S_BINDIR)",
                             names[i], bin ? " in " : " on PATH or in ~/.cache/libvcluster/bin/VERSION", bin ? bin : "", "");
    }
    if (vc__config_virtual_scheduler(lc->config) && !(s->exe[P_SCHED] = find_k8s_exe(bin, "kube-scheduler")))
        return vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE,
                         "controlPlane.advanced.virtualScheduler.enabled: the local driver needs kube-scheduler%s%s; "
                         "build it with tests/cluster/hostcluster build and pass its directory (--bin-dir or "
                         "VC_K8S_BINDIR)",
                         bin ? " in " : " on PATH or in ~/.cache/libvcluster/bin/VERSION", bin ? bin : "");
    s->exe[P_SYNCER] = !vc__str_empty(lc->syncer_path) ? vc__strdup(lc->syncer_path) : default_syncer();
    if (!s->exe[P_SYNCER] || access(s->exe[P_SYNCER], X_OK) != 0)
        return vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE,
                         "the local driver needs the vcluster-syncer program (examples/controller); pass --syncer PATH "
                         "or set VC_SYNCER_BIN");
    /* the balancer is `vcluster-syncer lb` */
    if (s->replicas > 1 && !(s->exe[P_LB] = vc__strdup(s->exe[P_SYNCER])))
        return vc__error_oom();
    return VC_OK;
}

/* ---- starting the components ---- */

/* argv with env_add into logs/<name>.log; *pid gets it */
static int spawn_log(lstate *s, const char *name, pid_t *pid, char **argv, char **env)
{
    char *log = vc__sprintf("%s/logs/%s.log", s->dir, name);
    if (!log)
        return vc__error_oom();
    int rc = vc__proc_spawn_env(pid, argv, env, log);
    vc__free(log);
    return rc;
}

static int spawn_env(lstate *s, int which, char **argv, char **env)
{
    if (which == P_STORE) {
        char *log = vc__sprintf("%s/logs/%s.log", s->dir, k_comp[which]);
        struct stat st;
        s->store_log_off = log && stat(log, &st) == 0 ? (long)st.st_size : 0;
        vc__free(log);
    }
    return spawn_log(s, k_comp[which], &s->pid[which], argv, env);
}

static int spawn(lstate *s, int which, char **argv)
{
    return spawn_env(s, which, argv, NULL);
}

/* argv = fixed (NULL-terminated) + flags "--x=value" for the set TLS files
 * + the user's extraArgs; the strings stay owned by their owners */
static char **store_argv(const lstate *s, char *const fixed[], const char *const tls_flags[3], char **own, int *n_own)
{
    size_t nf = 0;
    while (fixed[nf])
        nf++;
    size_t na = json_array_size(s->store_args);
    char **argv = vc__calloc(nf + 3 + na + 1, sizeof *argv);
    if (!argv)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < nf; i++)
        argv[o++] = fixed[i];
    for (int i = 0; i < 3 && tls_flags; i++)
        if (!vc__str_empty(s->tls[i])) {
            own[*n_own] = vc__sprintf("%s%s", tls_flags[i], s->tls[i]);
            if (!own[*n_own]) {
                vc__free(argv);
                return NULL;
            }
            argv[o++] = own[(*n_own)++];
        }
    for (size_t i = 0; i < na; i++) {
        const char *a = json_string_value(json_array_get(s->store_args, i));
        if (a)
            argv[o++] = (char *)a;
    }
    argv[o] = NULL;
    return argv;
}

static int pick_ports(lstate *s, bool keep)
{
    for (int i = 0; i < P_COUNT; i++) {
        if (keep && s->port[i] > 0 && vc__port_free(s->port[i]))
            continue;
        s->port[i] = vc__free_port();
        if (s->port[i] <= 0)
            return vc__error(VC_EIO, VC_ERRCLASS_OS, "no free port on 127.0.0.1");
    }
    for (int r = 1; r < s->replicas; r++) {
        if (keep && s->api_port[r] > 0 && vc__port_free(s->api_port[r]))
            continue;
        if ((s->api_port[r] = vc__free_port()) <= 0)
            return vc__error(VC_EIO, VC_ERRCLASS_OS, "no free port on 127.0.0.1");
    }
    if (!keep || s->peer_port <= 0 || !vc__port_free(s->peer_port))
        s->peer_port = vc__free_port();
    if (!keep || s->kubelet_port <= 0 || !vc__port_free(s->kubelet_port))
        s->kubelet_port = vc__free_port();
    if (s->peer_port <= 0 || s->kubelet_port <= 0)
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "no free port on 127.0.0.1");
    return VC_OK;
}

static int start_store(lstate *s)
{
    char url[64], peer[64], ep[4200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s->port[P_STORE]);
    snprintf(peer, sizeof peer, "http://127.0.0.1:%d", s->peer_port);
    char *own[3] = { NULL, NULL, NULL };
    int n_own = 0, rc;
    if (vc__streq(s->store, ST_EXT_ETCD))
        return VC_OK; /* the API server talks to it directly */
    if (vc__streq(s->store, ST_ETCD)) {
        char *data = sub(s, "data/etcd");
        char *init = vc__sprintf("vcluster=%s", peer);
        char *fixed[] = { s->exe[P_STORE], "--name", "vcluster", "--data-dir", data, "--listen-client-urls", url,
                          "--advertise-client-urls", url, "--listen-peer-urls", peer, "--initial-advertise-peer-urls",
                          peer, "--initial-cluster", init, "--unsafe-no-fsync", "--log-level", "warn", NULL };
        char **argv = data && init ? store_argv(s, fixed, NULL, own, &n_own) : NULL;
        rc = argv ? spawn(s, P_STORE, argv) : vc__error_oom();
        vc__free(argv);
        vc__free(data);
        vc__free(init);
        return rc;
    }
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port[P_STORE]);
    if (vc__streq(s->store, ST_EXT_DB)) {
        /* the dataSource carries the password: in the environment (readable
         * by this user only), not in the world-readable command line */
        char *env[3] = { vc__sprintf("KINE_ENDPOINT=%s", s->endpoint ? s->endpoint : ""),
                         vc__sprintf("VC_LOCAL_STATE=%s", s->dir), NULL };
        static const char *const flags[3] = { "--ca-file=", "--cert-file=", "--key-file=" };
        /* PostgreSQL: no pooled connections. After the server restarts,
         * kine v0.17.5 (pgx) on its stale pooled connections can answer the
         * first create as done, with the revision of the last row, though
         * no row is written: an acknowledged object lost (integ-stores, 3
         * of 15 runs: the ConfigMap written first after the restart). A
         * fresh connection per query avoids it; the cost is a connection
         * per query (1,000 creates in 22-34 s instead of 5-12 s on loopback).
         * The user's extraArgs come later and win. */
        bool pg = s->endpoint &&
                  (!strncmp(s->endpoint, "postgres://", 11) || !strncmp(s->endpoint, "postgresql://", 13));
        char *fixed[] = { s->exe[P_STORE], "--listen-address", listen, "--metrics-bind-address", "0",
                          pg ? "--datastore-max-idle-connections=-1" : NULL, NULL };
        char **argv = env[0] && env[1] ? store_argv(s, fixed, flags, own, &n_own) : NULL;
        rc = argv ? spawn_env(s, P_STORE, argv, env) : vc__error_oom();
        vc__free(argv);
        if (env[0])
            memset(env[0], 0, strlen(env[0]));
        vc__free(env[0]);
        vc__free(env[1]);
        for (int i = 0; i < n_own; i++)
            vc__free(own[i]);
        return rc;
    }
    snprintf(ep, sizeof ep,
             "sqlite://%s/data/state.db?_journal_mode=WAL&_busy_timeout=30000&_synchronous=NORMAL&_txlock=immediate",
             s->dir);
    char *fixed[] = { s->exe[P_STORE], "--endpoint", ep, "--listen-address", listen, "--metrics-bind-address", "0",
                      NULL };
    char **argv = store_argv(s, fixed, NULL, own, &n_own);
    rc = argv ? spawn(s, P_STORE, argv) : vc__error_oom();
    vc__free(argv);
    return rc;
}

/* --etcd-servers: our store's port, or the external etcd's endpoints with
 * https:// where no scheme is given (as upstream does) */
static char *etcd_servers(const lstate *s)
{
    if (!vc__streq(s->store, ST_EXT_ETCD))
        return vc__sprintf("--etcd-servers=http://127.0.0.1:%d", s->port[P_STORE]);
    vc_buf b = VC_BUF_INIT;
    int rc = vc__buf_printf(&b, "--etcd-servers=");
    const char *ep = s->endpoint ? s->endpoint : "";
    for (const char *p = ep; rc == VC_OK && *p;) {
        const char *end = strchr(p, ',');
        int n = (int)(end ? (size_t)(end - p) : strlen(p));
        rc = vc__buf_printf(&b, "%s%s%.*s", p == ep ? "" : ",", strstr(p, "://") && (!end || strstr(p, "://") < end)
                                                                   ? ""
                                                                   : "https://",
                            n, p);
        p = end ? end + 1 : p + n;
    }
    char *r = rc == VC_OK && b.ptr ? vc__strdup(b.ptr) : NULL;
    vc_buf_dispose(&b);
    return r;
}

/* API server replica r (0..replicas-1) on its own port; every replica has
 * the same certificates, keys and store */
static int start_apiserver(lstate *s, const char *domain, int r)
{
    char port[32], issuer[256], range[128], name[64];
    char *etcd = etcd_servers(s);
    snprintf(port, sizeof port, "--secure-port=%d", *api_portp(s, r));
    api_name(name, sizeof name, r);
    snprintf(issuer, sizeof issuer, "--service-account-issuer=https://kubernetes.default.svc.%s", domain);
    snprintf(range, sizeof range, "--service-cluster-ip-range=%s", s->service_cidr);
    char *pki = sub(s, "pki");
    char *a[14] = { 0 };
    a[0] = vc__sprintf("--tls-cert-file=%s/apiserver.crt", pki);
    a[1] = vc__sprintf("--tls-private-key-file=%s/apiserver.key", pki);
    a[2] = vc__sprintf("--client-ca-file=%s/ca.crt", pki);
    a[3] = vc__sprintf("--requestheader-client-ca-file=%s/front-proxy-ca.crt", pki);
    a[4] = vc__sprintf("--proxy-client-cert-file=%s/front-proxy-client.crt", pki);
    a[5] = vc__sprintf("--proxy-client-key-file=%s/front-proxy-client.key", pki);
    a[6] = vc__sprintf("--service-account-key-file=%s/sa.pub", pki);
    a[7] = vc__sprintf("--service-account-signing-key-file=%s/sa.key", pki);
    /* the kubelet client: the syncer's kubelet proxy serves logs/exec for
     * the fake nodes, at their InternalIP */
    a[8] = vc__sprintf("--kubelet-client-certificate=%s/apiserver-kubelet-client.crt", pki);
    a[9] = vc__sprintf("--kubelet-client-key=%s/apiserver-kubelet-client.key", pki);
    /* an external etcd's TLS client files, packed at the end of argv (the
     * first NULL among a[10..12] ends it) */
    static const char *const tf[3] = { "--etcd-cafile=", "--etcd-certfile=", "--etcd-keyfile=" };
    int nt = 0;
    for (int i = 0; i < 3; i++)
        if (vc__streq(s->store, ST_EXT_ETCD) && !vc__str_empty(s->tls[i]))
            a[10 + nt++] = vc__sprintf("%s%s", tf[i], s->tls[i]);
    int rc = etcd ? VC_OK : vc__error_oom();
    for (int i = 0; i < 10 + nt; i++)
        if (!a[i])
            rc = vc__error_oom();
    if (rc == VC_OK) {
        char *argv[] = { s->exe[P_API], etcd, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", port,
                         /* pods reach it through the host Service, not the kubernetes Endpoints */
                         "--endpoint-reconciler-type=none", a[0], a[1], a[2], a[3],
                         "--requestheader-allowed-names=front-proxy-client",
                         "--requestheader-username-headers=X-Remote-User",
                         "--requestheader-group-headers=X-Remote-Group",
                         "--requestheader-extra-headers-prefix=X-Remote-Extra-", a[4], a[5], issuer, a[6], a[7], range,
                         "--authorization-mode=RBAC", "--allow-privileged=true", "--profiling=false", "--v=1",
                         a[8], a[9], "--kubelet-preferred-address-types=InternalIP", a[10], a[11], a[12], NULL };
        rc = spawn_log(s, name, api_pidp(s, r), argv, NULL);
    }
    for (int i = 0; i < 13; i++)
        vc__free(a[i]);
    vc__free(etcd);
    vc__free(pki);
    return rc;
}

static int start_kcm(lstate *s)
{
    char *pki = sub(s, "pki");
    char port[32], range[128];
    snprintf(port, sizeof port, "--secure-port=%d", s->port[P_KCM]);
    snprintf(range, sizeof range, "--service-cluster-ip-range=%s", s->service_cidr);
    char *kc = vc__sprintf("--kubeconfig=%s/controller-manager.conf", pki);
    char *akc = vc__sprintf("--authentication-kubeconfig=%s/controller-manager.conf", pki);
    char *zkc = vc__sprintf("--authorization-kubeconfig=%s/controller-manager.conf", pki);
    char *sa = vc__sprintf("--service-account-private-key-file=%s/sa.key", pki);
    char *root = vc__sprintf("--root-ca-file=%s/ca.crt", pki);
    char *scert = vc__sprintf("--cluster-signing-cert-file=%s/ca.crt", pki);
    char *skey = vc__sprintf("--cluster-signing-key-file=%s/ca.key", pki);
    int rc;
    if (!kc || !akc || !zkc || !sa || !root || !scert || !skey) {
        rc = vc__error_oom();
    } else {
        /* no node lifecycle taints from missing kubelets: the syncer's fake
         * nodes renew leases; keep the default controllers */
        char *argv[] = { s->exe[P_KCM], kc, akc, zkc, "--bind-address=127.0.0.1", port, "--leader-elect=false",
                         "--controllers=*", sa, root, "--use-service-account-credentials=true", scert, skey, range,
                         "--kube-api-qps=200", "--kube-api-burst=400", "--profiling=false", "--v=1", NULL };
        rc = spawn(s, P_KCM, argv);
    }
    vc__free(pki);
    vc__free(kc);
    vc__free(akc);
    vc__free(zkc);
    vc__free(sa);
    vc__free(root);
    vc__free(scert);
    vc__free(skey);
    return rc;
}

/* The virtual cluster's own scheduler: it places pods on the nodes the
 * syncer copies from the host (sync.fromHost.nodes), and the syncer creates
 * each host pod on the node chosen here. */
static int start_scheduler(lstate *s)
{
    char *pki = sub(s, "pki");
    char port[32];
    snprintf(port, sizeof port, "--secure-port=%d", s->port[P_SCHED]);
    char *kc = vc__sprintf("--kubeconfig=%s/scheduler.conf", pki);
    char *akc = vc__sprintf("--authentication-kubeconfig=%s/scheduler.conf", pki);
    char *zkc = vc__sprintf("--authorization-kubeconfig=%s/scheduler.conf", pki);
    int rc;
    if (!pki || !kc || !akc || !zkc) {
        rc = vc__error_oom();
    } else {
        char *argv[] = { s->exe[P_SCHED], kc, akc, zkc, "--bind-address=127.0.0.1", port, "--leader-elect=false",
                         "--profiling=false", "--v=1", NULL };
        rc = spawn(s, P_SCHED, argv);
    }
    vc__free(pki);
    vc__free(kc);
    vc__free(akc);
    vc__free(zkc);
    return rc;
}

static int start_syncer(vc__lc *lc, lstate *s)
{
    char port[64];
    snprintf(port, sizeof port, "127.0.0.1:%d", s->port[P_SYNCER]);
    char *hk = sub(s, "host.kubeconfig");
    char *vk = sub(s, "pki/admin.conf");
    char *values = sub(s, "values.yaml");
    /* the kubelet proxy: clients are the virtual API server's
     * apiserver-kubelet-client certificate, signed by the cluster CA */
    char *ca = sub(s, "pki/ca.crt");
    char kl[64];
    snprintf(kl, sizeof kl, "127.0.0.1:%d", s->kubelet_port);
    int rc;
    if (!hk || !vk || !values || !ca) {
        rc = vc__error_oom();
    } else {
        char *argv[] = { s->exe[P_SYNCER], "--name", (char *)lc->name, "--host-namespace", lc->ns, "--host-kubeconfig",
                         hk, "--virtual-kubeconfig", vk, "--listen", port, "-f", values, "--kubelet-listen", kl,
                         "--kubelet-client-ca", ca, s->host_context ? "--host-context" : NULL, s->host_context, NULL };
        rc = spawn(s, P_SYNCER, argv);
    }
    vc__free(hk);
    vc__free(vk);
    vc__free(values);
    vc__free(ca);
    return rc;
}

/* Several API servers: `vcluster-syncer lb` on the server port, in front
 * of them (VC_LOCAL_STATE in its environment marks it as ours). */
static int start_balancer(lstate *s)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port[P_LB]);
    char *argv[4 + 2 * MAX_API + 1] = { s->exe[P_LB], "lb", "--listen", listen };
    char be[MAX_API][32];
    int n = 4;
    for (int r = 0; r < s->replicas; r++) {
        snprintf(be[r], sizeof be[r], "127.0.0.1:%d", *api_portp(s, r));
        argv[n++] = "--backend";
        argv[n++] = be[r];
    }
    argv[n] = NULL;
    char *env[2] = { vc__sprintf("VC_LOCAL_STATE=%s", s->dir), NULL };
    int rc = env[0] ? spawn_env(s, P_LB, argv, env) : vc__error_oom();
    vc__free(env[0]);
    return rc;
}

static int log_tail_error_named(lstate *s, const char *name, const char *what)
{
    char *log = vc__sprintf("%s/logs/%s.log", s->dir, name);
    char *txt = NULL;
    size_t len = 0;
    char last[512] = "";
    if (log && vc__file_read(log, &txt, &len) == VC_OK && len) {
        /* the last non-empty line */
        while (len > 0 && (txt[len - 1] == '\n' || txt[len - 1] == '\r'))
            txt[--len] = '\0';
        char *nl = strrchr(txt, '\n');
        snprintf(last, sizeof last, "%.500s", nl ? nl + 1 : txt);
    }
    vc__free(txt);
    int rc = vc__error(VC_EIO, VC_ERRCLASS_LIFECYCLE, "%s %s%s%s (log: %s.failed-logs/%s.log if creation is undone)",
                       name, what, last[0] ? ": " : "", last, s->dir, name);
    vc__free(log);
    return rc;
}

static int log_tail_error(lstate *s, int which, const char *what)
{
    return log_tail_error_named(s, k_comp[which], what);
}

static vc_kube *virt_kube(lstate *s, int32_t timeout_ms)
{
    char *p = sub(s, "pki/admin.conf");
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig = p;
    o.timeout_ms = timeout_ms;
    o.max_retries = 1;
    o.flags = VC_KUBE_NO_RETRY;
    vc_kube *k = NULL;
    if (p)
        vc_kube_new(&k, &o);
    vc__free(p);
    return k;
}

/* kine over an external database: it retries a database that refuses it
 * (wrong password, no such user) for minutes, logging each attempt; the
 * first such line since it started is the error. */
static int store_failed(lstate *s)
{
    if (!vc__streq(s->store, ST_EXT_DB))
        return VC_OK;
    char *log = vc__sprintf("%s/logs/%s.log", s->dir, k_comp[P_STORE]);
    char *txt = NULL;
    size_t len = 0;
    int rc = VC_OK;
    if (log && vc__file_read(log, &txt, &len) == VC_OK && (size_t)s->store_log_off < len) {
        const char *m = strstr(txt + s->store_log_off, "Failed to ping database connection: ");
        if (m) {
            m += strlen("Failed to ping database connection: ");
            size_t n = strcspn(m, "\n\"");
            char *shown = vc__endpoint_mask(s->endpoint ? s->endpoint : "");
            rc = vc__error(VC_ECONNECT, VC_ERRCLASS_LIFECYCLE,
                           "the backing store %s (%s) refuses kine: %.*s", shown ? shown : "", KEY_DS,
                           (int)(n > 400 ? 400 : n), m);
            vc__free(shown);
        }
    }
    vc__free(txt);
    vc__free(log);
    return rc;
}

/* kine over an external database gave up (e.g. MySQL refused the user
 * while kine created its database): the reason from its last log line,
 * without colours and log-level decoration, and the endpoint it was for */
static int store_exited(lstate *s)
{
    char *log = vc__sprintf("%s/logs/%s.log", s->dir, k_comp[P_STORE]);
    char *txt = NULL;
    size_t len = 0;
    char last[512] = "";
    if (log && vc__file_read(log, &txt, &len) == VC_OK && len) {
        while (len > 0 && (txt[len - 1] == '\n' || txt[len - 1] == '\r' || txt[len - 1] == ' '))
            txt[--len] = '\0';
        char *nl = strrchr(txt, '\n');
        const char *l = nl ? nl + 1 : txt;
        size_t o = 0;
        for (const char *p = l; *p && o + 1 < sizeof last; p++) {
            if (*p == '\033') { /* ESC [ ... m */
                while (*p && *p != 'm')
                    p++;
                if (!*p)
                    break;
                continue;
            }
            last[o++] = *p;
        }
        last[o] = '\0';
    }
    vc__free(txt);
    vc__free(log);
    /* "FATA[2026-...Z] failed to create driver ...: reason" -> the reason */
    const char *r = last;
    const char *rb = strstr(r, "] ");
    if (rb && rb - r < 48)
        r = rb + 2;
    char *shown = vc__endpoint_mask(s->endpoint ? s->endpoint : "");
    int rc = vc__error(VC_ECONNECT, VC_ERRCLASS_LIFECYCLE, "the backing store %s (%s) refuses kine: %s",
                       shown ? shown : "", KEY_DS, *r ? r : "kine exited");
    vc__free(shown);
    return rc;
}

/* Replica r ready, asked directly (not through the balancer) */
static int wait_apiserver(vc__lc *lc, lstate *s, int r)
{
    vc_kube *k = virt_kube(s, 2000);
    if (!k)
        return VC_ECONFIG;
    char name[64];
    api_name(name, sizeof name, r);
    char *direct = vc__sprintf("https://127.0.0.1:%d", *api_portp(s, r));
    if (!direct) {
        vc_kube_free(k);
        return vc__error_oom();
    }
    vc__free(k->cfg.server);
    k->cfg.server = direct;
    int rc;
    for (;;) {
        long http = 0;
        rc = vc__kube_do(k, "GET", "/readyz", NULL, NULL, 0, &http, NULL);
        if (rc == VC_OK)
            break;
        if (!vc__proc_alive_with(*api_pidp(s, r), exe_base(s->exe[P_API]), s->dir)) {
            rc = log_tail_error_named(s, name, "exited");
            break;
        }
        if (s->exe[P_STORE] && !vc__proc_alive_with(s->pid[P_STORE], exe_base(s->exe[P_STORE]), s->dir)) {
            rc = vc__streq(s->store, ST_EXT_DB) ? store_exited(s) : log_tail_error(s, P_STORE, "exited");
            break;
        }
        if ((rc = store_failed(s)) < 0)
            break;
        if (vc__lc_left(lc) == 0) {
            rc = vc__lc_timeout(lc, r ? name : "its kube-apiserver");
            break;
        }
        if ((rc = vc__lc_sleep(lc, 250)) < 0)
            break;
    }
    vc_kube_free(k);
    return rc;
}

static int wait_syncer(vc__lc *lc, lstate *s)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", s->port[P_SYNCER]);
    for (;;) {
        long st = 0;
        if (vc__http_status(url, 1000, &st) == VC_OK && st == 200)
            return VC_OK;
        if (!vc__proc_alive_with(s->pid[P_SYNCER], exe_base(s->exe[P_SYNCER]), s->dir))
            return log_tail_error(s, P_SYNCER, "exited");
        if (vc__lc_left(lc) == 0)
            return vc__lc_timeout(lc, "its syncer to sync");
        int rc = vc__lc_sleep(lc, 250);
        if (rc < 0)
            return rc;
    }
}

/* Stops every process even when the caller cancels (the wait for each
 * SIGTERM then ends and SIGKILL follows): the state file then says nothing
 * runs, which is true. lc may be NULL (no ticks). */
static void stop_all(vc__lc *lc, lstate *s)
{
    for (int i = P_COUNT - 1; i >= 0; i--) {
        /* the other API server replicas with the first */
        for (int r = i == P_API ? s->replicas - 1 : 0; r >= 1; r--) {
            if (s->api_pid[r] > 0 && s->exe[P_API])
                vc__proc_stop(s->api_pid[r], exe_base(s->exe[P_API]), s->dir, 15000, lc ? vc__lc_tick_cb : NULL,
                              lc);
            s->api_pid[r] = 0;
        }
        if (s->pid[i] > 0 && s->exe[i])
            vc__proc_stop(s->pid[i], exe_base(s->exe[i]), s->dir, i == P_API ? 15000 : 10000,
                          lc ? vc__lc_tick_cb : NULL, lc);
        s->pid[i] = 0;
    }
}

/* ---- host side ---- */

/* The syncer's own host identity (least privilege, as the kubernetes
 * driver's pod has): ServiceAccount vc-NAME bound to the same Role (and
 * ClusterRole, when the config needs one), and a token for it from a
 * service-account-token Secret vc-NAME-token, which lives as long as the
 * Secret. The caller's credentials never reach the syncer. */
#define TOKEN_WAIT_MS 30000

static int grant_syncer_identity(vc__lc *lc, lstate *s, char **out_token)
{
    *out_token = NULL;
    vc__k8s_plan p;
    int rc = vc__k8s_plan_init(&p, lc);
    if (rc < 0)
        return rc;
    p.driver = DRIVER;
    json_t *objs = NULL;
    p.service_cidr = s->service_cidr ? vc__strdup(s->service_cidr) : NULL;
    if ((rc = vc__k8s_plan_vars(&p, lc)) == VC_OK)
        rc = vc__k8s_render_rbac(&p, &objs);
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        if (rc == VC_OK && (rc = vc__lc_apply(lc->host, o)) < 0)
            vc__error_prefix("the syncer's host identity: %s %s", vc__lc_str(o, "kind"),
                             vc__lc_str2(o, "metadata", "name"));
    }
    json_decref(objs);
    char tname[300];
    snprintf(tname, sizeof tname, "vc-%s-token", lc->name);
    json_t *sec = rc == VC_OK ? json_pack("{s:s,s:s,s:{s:s,s:s,s:o,s:{s:s}},s:s}", "apiVersion", "v1", "kind", "Secret",
                                          "metadata", "name", tname, "namespace", lc->ns, "labels",
                                          vc__lc_labels(lc->name, DRIVER), "annotations",
                                          "kubernetes.io/service-account.name", p.sa, "type",
                                          "kubernetes.io/service-account-token")
                              : NULL;
    if (rc == VC_OK && !sec)
        rc = vc__error_oom();
    if (rc == VC_OK)
        rc = vc__lc_apply(lc->host, sec);
    json_decref(sec);
    vc__k8s_plan_clear(&p);
    /* the host's token controller fills it in */
    int64_t end = vc__now_ms() + TOKEN_WAIT_MS;
    while (rc == VC_OK) {
        json_t *got = NULL;
        rc = vc__lc_get(lc->host, "v1", "secrets", lc->ns, tname, &got);
        const char *b64 = rc == VC_OK ? vc__lc_str2(got, "data", "token") : NULL;
        if (b64) {
            unsigned char *tok = NULL;
            size_t tl = 0;
            rc = vc__base64_decode(b64, strlen(b64), &tok, &tl);
            if (rc == VC_OK) {
                *out_token = vc__strndup((const char *)tok, tl);
                rc = *out_token ? VC_OK : vc__error_oom();
            }
            vc__free(tok);
            json_decref(got);
            break;
        }
        json_decref(got);
        if (rc == VC_OK && vc__now_ms() >= end)
            rc = vc__error(VC_ETIMEDOUT, VC_ERRCLASS_LIFECYCLE,
                           "the host did not issue a token for ServiceAccount vc-%s within %d s (Secret %s/%s of "
                           "type kubernetes.io/service-account-token: is the host's token controller running?)",
                           lc->name, TOKEN_WAIT_MS / 1000, lc->ns, tname);
        if (rc == VC_OK)
            vc__sleep_ms(200);
    }
    return rc;
}

/* What grant_syncer_identity made (best effort; gone objects are fine):
 * by label, so a custom controlPlane.advanced.serviceAccount.name goes too
 * when delete has no values. */
static void revoke_syncer_identity(vc__lc *lc)
{
    char *sel = vc__sprintf("%s=%s,%s=%s", VC__LC_RELEASE_LABEL, lc->name, VC__LC_DRIVER_LABEL, DRIVER);
    if (sel) {
        vc__lc_delete_collection(lc->host, "rbac.authorization.k8s.io/v1", "rolebindings", lc->ns, sel);
        vc__lc_delete_collection(lc->host, "rbac.authorization.k8s.io/v1", "roles", lc->ns, sel);
        vc__lc_delete_collection(lc->host, "v1", "serviceaccounts", lc->ns, sel);
    }
    vc__free(sel);
    char n[300];
    snprintf(n, sizeof n, "vc-%s-token", lc->name);
    vc__lc_delete(lc->host, "v1", "secrets", lc->ns, n);
    char *cr = vc__k8s_cluster_role_name(lc->name, lc->ns);
    if (cr) {
        vc__lc_delete(lc->host, "rbac.authorization.k8s.io/v1", "clusterrolebindings", NULL, cr);
        vc__lc_delete(lc->host, "rbac.authorization.k8s.io/v1", "clusterroles", NULL, cr);
    }
    vc__free(cr);
}

/* A kubeconfig for the syncer to reach the host: the caller's server and
 * trust, the syncer's own token. */
static int write_host_kubeconfig(vc__lc *lc, lstate *s)
{
    const vc__kube_cfg *c = &lc->host->cfg;
    char *token = NULL;
    int rc = grant_syncer_identity(lc, s, &token);
    char *path = rc == VC_OK ? sub(s, "host.kubeconfig") : NULL;
    if (rc == VC_OK && !path)
        rc = vc__error_oom();
    if (rc == VC_OK) {
        vc__kubeconfig_spec spec;
        memset(&spec, 0, sizeof spec);
        spec.server = c->server;
        spec.ca_pem = (const char *)c->ca_data;
        spec.insecure = c->insecure;
        spec.token = token;
        spec.context = "host";
        spec.ns = lc->ns;
        vc_buf b = VC_BUF_INIT;
        rc = vc__kubeconfig_render(&b, &spec);
        if (rc == VC_OK)
            rc = vc__file_write(path, b.ptr, b.size, 0600);
        vc_buf_dispose(&b);
    }
    if (token)
        memset(token, 0, strlen(token));
    vc__free(token);
    vc__free(path);
    return rc;
}

static int apply_host_objects(vc__lc *lc, lstate *s, bool paused)
{
    char server[64];
    snprintf(server, sizeof server, "https://127.0.0.1:%d", server_port(s));
    json_t *svc = json_pack("{s:s,s:s,s:{s:s,s:s,s:o,s:{s:s,s:s}},s:{s:s,s:[{s:s,s:i,s:i,s:s}]}}", "apiVersion", "v1",
                            "kind", "Service", "metadata", "name", lc->name, "namespace", lc->ns, "labels",
                            vc__lc_labels(lc->name, DRIVER), "annotations", VC__LC_STATE_ANN, s->dir, VC__LC_SERVER_ANN,
                            server, "spec", "type", "ClusterIP", "ports", "name", "https", "port", 443, "targetPort",
                            8443, "protocol", "TCP");
    if (svc && paused)
        json_object_set_new(json_object_get(json_object_get(svc, "metadata"), "annotations"), VC__LC_PAUSED_ANN,
                            json_string("true"));
    char sa_name[300];
    snprintf(sa_name, sizeof sa_name, "vc-workload-%s", lc->name);
    json_t *sa = json_pack("{s:s,s:s,s:{s:s,s:s,s:o}}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata", "name",
                           sa_name, "namespace", lc->ns, "labels", vc__lc_labels(lc->name, DRIVER));
    int rc = svc && sa ? VC_OK : vc__error_oom();
    if (rc == VC_OK)
        rc = vc__lc_apply(lc->host, svc);
    if (rc == VC_OK)
        rc = vc__lc_apply(lc->host, sa);
    json_decref(svc);
    json_decref(sa);
    if (rc < 0)
        return rc;
    /* the kubeconfig Secret vc-NAME */
    char *conf = sub(s, "pki/admin.conf"), *ca = sub(s, "pki/ca.crt"), *crt = sub(s, "pki/admin.crt"),
         *key = sub(s, "pki/admin.key");
    char *t_conf = NULL, *t_ca = NULL, *t_crt = NULL, *t_key = NULL;
    size_t l;
    if (!conf || !ca || !crt || !key)
        rc = vc__error_oom();
    if (rc == VC_OK)
        rc = vc__file_read(conf, &t_conf, &l);
    if (rc == VC_OK)
        rc = vc__file_read(ca, &t_ca, &l);
    if (rc == VC_OK)
        rc = vc__file_read(crt, &t_crt, &l);
    if (rc == VC_OK)
        rc = vc__file_read(key, &t_key, &l);
    if (rc == VC_OK) {
        json_t *sec = vc__lc_kubeconfig_secret(lc, DRIVER, t_conf, t_ca, t_crt, t_key);
        rc = sec ? vc__lc_apply(lc->host, sec) : vc__error_oom();
        json_decref(sec);
    }
    vc__free(conf);
    vc__free(ca);
    vc__free(crt);
    vc__free(key);
    vc__free(t_conf);
    vc__free(t_ca);
    vc__free(t_crt);
    vc__free(t_key);
    return rc;
}

static int write_pki(vc__lc *lc, lstate *s)
{
    char server[64];
    snprintf(server, sizeof server, "https://127.0.0.1:%d", server_port(s));
    char *dir = sub(s, "pki");
    const char *ips[] = { "127.0.0.1" };
    vc__pki_dir_opts po;
    memset(&po, 0, sizeof po);
    po.name = lc->name;
    po.ns = lc->ns;
    po.ip_addresses = ips;
    po.n_ip_addresses = 1;
    po.server = server;
    int rc = dir ? vc__pki_write_dir(dir, &po) : vc__error_oom();
    vc__free(dir);
    return rc;
}

static int write_values(vc__lc *lc, lstate *s)
{
    vc_buf b = VC_BUF_INIT;
    int rc = vc_config_to_yaml(lc->config, &b);
    char *p = sub(s, "values.yaml");
    if (rc == VC_OK)
        rc = p ? vc__file_write(p, b.ptr ? b.ptr : "", b.size, 0600) : vc__error_oom();
    vc__free(p);
    vc_buf_dispose(&b);
    return rc;
}

/* An external store answers (before anything is made or started): one
 * error naming it, instead of kine's or the API server's long retries. */
static int check_store(vc__lc *lc, const lstate *s)
{
    bool etcd = vc__streq(s->store, ST_EXT_ETCD);
    if (!etcd && !vc__streq(s->store, ST_EXT_DB))
        return VC_OK;
    char *shown = vc__endpoint_mask(s->endpoint ? s->endpoint : "");
    int rc = vc__lc_step(lc, "store", 0, "checking the backing store %s", shown ? shown : "");
    vc__free(shown);
    if (rc == VC_OK)
        rc = vc__endpoint_check(s->endpoint ? s->endpoint : "", etcd, etcd ? KEY_ETCD_EP : KEY_DS, 5000);
    return rc;
}

/* Start everything from a prepared state dir. */
static int start(vc__lc *lc, lstate *s)
{
    int rc;
    static const char *const need[] = { "pki/sa.key", "pki/apiserver.crt", "pki/admin.conf", "data", "logs" };
    for (size_t i = 0; i < VC__ARRAY_LEN(need); i++) {
        char *p = sub(s, need[i]);
        bool ok = p && access(p, F_OK) == 0;
        if (!ok) {
            rc = vc__error(VC_EIO, VC_ERRCLASS_LIFECYCLE, "state directory %s is incomplete: %s is missing", s->dir,
                           p ? p : need[i]);
            vc__free(p);
            return rc;
        }
        vc__free(p);
    }
    /* the state file is saved after each start, so a cancel or failure
     * in between leaves it naming every process that runs */
    if ((rc = check_store(lc, s)) < 0)
        return rc;
    if (!vc__streq(s->store, ST_EXT_ETCD) &&
        ((rc = vc__lc_step(lc, "store", 0, "starting %s",
                           vc__streq(s->store, ST_ETCD)     ? "etcd"
                           : vc__streq(s->store, ST_EXT_DB) ? "kine (external database)"
                                                            : "kine (SQLite)")) < 0 ||
         (rc = start_store(s)) < 0))
        return rc;
    for (int r = 0; r < s->replicas; r++) {
        char which[32] = "";
        if (s->replicas > 1)
            snprintf(which, sizeof which, " (replica %d)", r + 1);
        if ((rc = vc__lc_step(lc, "apiserver", 0, "starting kube-apiserver%s on 127.0.0.1:%d", which,
                              *api_portp(s, r))) < 0 ||
            (rc = start_apiserver(s, "cluster.local", r)) < 0 || (rc = ls_save(s)) < 0)
            return rc;
    }
    if (s->replicas > 1 &&
        ((rc = vc__lc_step(lc, "apiserver", 0, "starting the balancer for %d API servers on 127.0.0.1:%d",
                           s->replicas, s->port[P_LB])) < 0 ||
         (rc = start_balancer(s)) < 0 || (rc = ls_save(s)) < 0))
        return rc;
    for (int r = 0; r < s->replicas; r++)
        if ((rc = wait_apiserver(lc, s, r)) < 0)
            return rc;
    if ((rc = s->replicas > 1 ? vc__lc_step(lc, "apiserver", 1, "%d kube-apiservers are ready", s->replicas)
                              : vc__lc_step(lc, "apiserver", 1, "kube-apiserver is ready")) < 0)
        return rc;
    if ((rc = vc__lc_step(lc, "controller-manager", 0, "starting kube-controller-manager")) < 0 ||
        (rc = start_kcm(s)) < 0 || (rc = ls_save(s)) < 0)
        return rc;
    if (s->exe[P_SCHED] && ((rc = vc__lc_step(lc, "scheduler", 0, "starting kube-scheduler (virtualScheduler)")) < 0 ||
                            (rc = start_scheduler(s)) < 0 || (rc = ls_save(s)) < 0))
        return rc;
    if ((rc = vc__lc_step(lc, "syncer", 0, "starting the syncer")) < 0 || (rc = start_syncer(lc, s)) < 0 ||
        (rc = ls_save(s)) < 0)
        return rc;
    if (lc->flags & VC_CREATE_NO_WAIT)
        return VC_OK;
    if ((rc = wait_syncer(lc, s)) < 0)
        return rc;
    if (!vc__proc_alive_with(s->pid[P_KCM], exe_base(s->exe[P_KCM]), s->dir))
        return log_tail_error(s, P_KCM, "exited");
    if (s->exe[P_SCHED] && !vc__proc_alive_with(s->pid[P_SCHED], exe_base(s->exe[P_SCHED]), s->dir))
        return log_tail_error(s, P_SCHED, "exited");
    return vc__lc_step(lc, "syncer", 1, "the syncer is running");
}

static char *state_dir_for(vc__lc *lc)
{
    char *root = state_root(lc);
    char *d = root ? vc__sprintf("%s/%s/%s", root, lc->ns, lc->name) : NULL;
    vc__free(root);
    return d;
}

static int restart_syncer(vc__lc *lc, lstate *s)
{
    if (s->pid[P_SYNCER] > 0)
        vc__proc_stop(s->pid[P_SYNCER], exe_base(s->exe[P_SYNCER]), s->dir, 10000, vc__lc_tick_cb, lc);
    s->pid[P_SYNCER] = 0;
    /* cancelled while it stopped: save that it is gone, start nothing */
    int rc = lc->canceled ? vc__lc_tick(lc) : start_syncer(lc, s);
    if (rc == VC_ECANCELED)
        ls_save(s);
    if (rc == VC_OK)
        rc = ls_save(s);
    if (rc == VC_OK && !(lc->flags & VC_CREATE_NO_WAIT))
        rc = wait_syncer(lc, s);
    return rc;
}

/* --upgrade: the virtual scheduler started or stopped as the values say */
static int upgrade_scheduler(vc__lc *lc, lstate *s)
{
    bool want = vc__config_virtual_scheduler(lc->config);
    bool running = s->exe[P_SCHED] && s->pid[P_SCHED] > 0 &&
                   vc__proc_alive_with(s->pid[P_SCHED], exe_base(s->exe[P_SCHED]), s->dir);
    if (!want) {
        if (running)
            vc__proc_stop(s->pid[P_SCHED], exe_base(s->exe[P_SCHED]), s->dir, 10000, vc__lc_tick_cb, lc);
        s->pid[P_SCHED] = 0;
        vc__free(s->exe[P_SCHED]);
        s->exe[P_SCHED] = NULL;
        return ls_save(s);
    }
    if (running)
        return VC_OK;
    if (!s->exe[P_SCHED]) {
        const char *bin = vc__str_empty(lc->bin_dir) ? getenv("VC_K8S_BINDIR") : lc->bin_dir;
        if (!(s->exe[P_SCHED] = find_k8s_exe(bin, "kube-scheduler")))
            return vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE,
                             "controlPlane.advanced.virtualScheduler.enabled: the local driver needs kube-scheduler; "
                             "pass its directory (--bin-dir or VC_K8S_BINDIR)");
    }
    if (s->port[P_SCHED] <= 0 || !vc__port_free(s->port[P_SCHED]))
        s->port[P_SCHED] = vc__free_port();
    if (s->port[P_SCHED] <= 0)
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "no free port on 127.0.0.1");
    int rc = vc__lc_step(lc, "scheduler", 0, "starting kube-scheduler (virtualScheduler)");
    if (rc == VC_OK)
        rc = start_scheduler(s);
    if (rc == VC_OK)
        rc = ls_save(s);
    return rc;
}

static json_t *strv_json(const vc__cfg_strv *v)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < v->n; i++)
        if (json_array_append_new(a, json_string(v->v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* The store from the values (or the explicit backing_store option, as
 * vc__lc_store_kind decides for both drivers) and what it needs. */
static int choose_store(vc__lc *lc, lstate *s)
{
    const vc__cfg_values *v = vc__config_values(lc->config);
    int kind = vc__lc_store_kind(lc, lc->config);
    const char *tls[3] = { NULL, NULL, NULL };
    const char *ep = NULL;
    const vc__cfg_strv *extra = NULL;
    switch (kind) {
    case VC_STORE_EMBEDDED_ETCD:
        s->store = vc__strdup(ST_ETCD);
        extra = &v->control_plane.backing_store.etcd.embedded.extra_args;
        break;
    case VC_STORE_EXTERNAL_ETCD:
        s->store = vc__strdup(ST_EXT_ETCD);
        ep = v->control_plane.backing_store.etcd.external.endpoint;
        tls[0] = v->control_plane.backing_store.etcd.external.ca_file;
        tls[1] = v->control_plane.backing_store.etcd.external.cert_file;
        tls[2] = v->control_plane.backing_store.etcd.external.key_file;
        break;
    case VC_STORE_EXTERNAL_DATABASE:
        s->store = vc__strdup(ST_EXT_DB);
        ep = v->control_plane.backing_store.database.external.data_source;
        tls[0] = v->control_plane.backing_store.database.external.ca_file;
        tls[1] = v->control_plane.backing_store.database.external.cert_file;
        tls[2] = v->control_plane.backing_store.database.external.key_file;
        extra = &v->control_plane.backing_store.database.external.extra_args;
        break;
    case VC_STORE_DEPLOYED_ETCD:
        return vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_LIFECYCLE,
                         "controlPlane.backingStore.etcd.deploy (a separate etcd StatefulSet) is not supported by the "
                         "local driver; use controlPlane.backingStore.etcd.embedded.enabled: true");
    default:
        s->store = vc__strdup(ST_SQLITE);
        extra = &v->control_plane.backing_store.database.embedded.extra_args;
        /* one SQLite file cannot be shared by several API servers (the
         * values check this too; here for the explicit backing_store) */
        if (vc_config_ha_replicas(lc->config) > 1)
            return vc__error(VC_ECONFIG, VC_ERRCLASS_LIFECYCLE,
                             "controlPlane.statefulSet.highAvailability.replicas: %d replicas need a backing store "
                             "that can be shared (etcd or an external database); the embedded SQLite database "
                             "supports 1 replica",
                             (int)vc_config_ha_replicas(lc->config));
        break;
    }
    if (!s->store)
        return vc__error_oom();
    if (kind == VC_STORE_EXTERNAL_DATABASE) {
        /* dataSourceSecret: read from the host Secret now, kept in run.json
         * (0600) as a dataSource given in the values is */
        char *ds = NULL;
        int rc = vc__lc_datasource_secret(lc, &ds);
        if (rc < 0)
            return rc;
        if (ds) {
            s->endpoint = ds;
            ep = NULL;
        }
    }
    /* several API servers over the one store, behind a balancer */
    int32_t reps = vc_config_ha_replicas(lc->config);
    if (reps > MAX_API)
        return vc__error(VC_ECONFIG, VC_ERRCLASS_LIFECYCLE,
                         "%s: the local driver runs at most %d API servers, got %d", KEY_REPLICAS, MAX_API, (int)reps);
    s->replicas = reps > 1 ? (int)reps : 1;
    if (ep && !(s->endpoint = vc__strdup(ep)))
        return vc__error_oom();
    for (int i = 0; i < 3; i++)
        if (!vc__str_empty(tls[i]) && !(s->tls[i] = vc__strdup(tls[i])))
            return vc__error_oom();
    if (extra && extra->n && !(s->store_args = strv_json(extra)))
        return vc__error_oom();
    return VC_OK;
}

static int local_create(vc__lc *lc)
{
    if (lc->flags & VC_CREATE_PRINT)
        return vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_LIFECYCLE,
                         "--print renders manifests for the kubernetes driver; the local driver runs processes");
    if (!vc__streq(lc->distro, "k8s"))
        return vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_LIFECYCLE,
                         "the local driver runs the k8s distro (kube-apiserver); %s needs the kubernetes driver",
                         lc->distro);
    lstate s = { 0 };
    memset(&s, 0, sizeof s);
    int rc;
    char *dir = state_dir_for(lc);
    if (!dir)
        return vc__error_oom();
    struct stat st;
    bool exists = stat(dir, &st) == 0;
    if ((lc->flags & VC_CREATE_UPGRADE) && exists) {
        rc = ls_load(&s, dir);
        vc__free(dir);
        if (rc < 0)
            return rc;
        /* not silently kept: the processes and ports are made at create */
        int32_t want = vc_config_ha_replicas(lc->config);
        if ((want > 1 ? want : 1) != s.replicas) {
            rc = vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_LIFECYCLE,
                           "%s: the local driver cannot change the number of API servers of an existing virtual "
                           "cluster (%d now, %d asked); delete and create it again",
                           KEY_REPLICAS, s.replicas, (int)want);
            ls_clear(&s);
            return rc;
        }
        /* the Role follows the values (a kind synced now needs its rule) */
        if ((rc = vc__lc_step(lc, "upgrade", 0, "applying new values to %s", lc->name)) == VC_OK &&
            (rc = write_values(lc, &s)) == VC_OK && (rc = write_host_kubeconfig(lc, &s)) == VC_OK &&
            (rc = upgrade_scheduler(lc, &s)) == VC_OK)
            rc = restart_syncer(lc, &s);
        ls_clear(&s);
        if (rc == VC_OK)
            (void)vc__lc_step(lc, "upgrade", 1, "virtual cluster %s upgraded", lc->name);
        return rc;
    }
    if (exists) {
        vc__error(VC_EEXISTS, VC_ERRCLASS_LIFECYCLE,
                  "local state %s exists but the host has no virtual cluster %s; remove it (vcluster delete %s) first",
                  dir, lc->name, lc->name);
        vc__free(dir);
        return VC_EEXISTS;
    }
    s.dir = dir;
    if ((rc = choose_store(lc, &s)) < 0) {
        ls_clear(&s);
        return rc;
    }
    if ((rc = resolve_binaries(lc, &s)) < 0 || (rc = check_store(lc, &s)) < 0) {
        ls_clear(&s);
        return rc;
    }
    bool ns_created = false;
    if ((rc = vc__lc_step(lc, "namespace", 0, "host namespace %s", lc->ns)) < 0 ||
        (rc = vc__lc_ensure_namespace(lc, &ns_created)) < 0)
        goto fail_early;
    if ((rc = vc__lc_service_cidr(lc->host, lc->ns, &s.service_cidr)) < 0 ||
        (rc = vc__lc_step(lc, "certificates", 0, "certificates and state in %s", s.dir)) < 0)
        goto fail_early;
    char *logs = sub(&s, "logs"), *data = sub(&s, "data");
    rc = logs && data ? VC_OK : vc__error_oom();
    if (rc == VC_OK)
        rc = vc__mkdir_p(logs, 0700);
    if (rc == VC_OK)
        rc = vc__mkdir_p(data, 0700);
    vc__free(logs);
    vc__free(data);
    if (rc == VC_OK)
        rc = pick_ports(&s, false);
    if (rc == VC_OK)
        rc = write_pki(lc, &s);
    if (rc == VC_OK)
        rc = write_values(lc, &s);
    if (rc == VC_OK)
        rc = write_host_kubeconfig(lc, &s);
    if (rc == VC_OK)
        rc = ls_save(&s);
    if (rc < 0)
        goto fail;
    if ((rc = vc__lc_step(lc, "host", 0, "host Service %s/%s and ServiceAccount vc-workload-%s", lc->ns, lc->name,
                          lc->name)) < 0 ||
        (rc = apply_host_objects(lc, &s, false)) < 0)
        goto fail;
    if ((rc = start(lc, &s)) < 0)
        goto fail;
    /* complete: a cancel now changes nothing */
    (void)vc__lc_step(lc, "done", 1, "virtual cluster %s is running (API server https://127.0.0.1:%d)", lc->name,
                      server_port(&s));
    ls_clear(&s);
    return VC_OK;
fail: {
    /* leave nothing half-made: processes, state and our host objects go */
    vc__error_saved sv;
    vc__error_save(&sv);
    stop_all(lc, &s);
    vc__lc_delete(lc->host, "v1", "services", lc->ns, lc->name);
    char sec[300];
    snprintf(sec, sizeof sec, "vc-%s", lc->name);
    vc__lc_delete(lc->host, "v1", "secrets", lc->ns, sec);
    snprintf(sec, sizeof sec, "vc-workload-%s", lc->name);
    vc__lc_delete(lc->host, "v1", "serviceaccounts", lc->ns, sec);
    revoke_syncer_identity(lc);
    /* keep the logs for the user: <dir>.logs-failed */
    char *logd = sub(&s, "logs"), *keep = vc__sprintf("%s.failed-logs", s.dir);
    if (logd && keep) {
        vc__rm_rf(keep);
        rename(logd, keep);
    }
    vc__free(logd);
    vc__free(keep);
    vc__rm_rf(s.dir);
    if (ns_created)
        vc__lc_delete(lc->host, "v1", "namespaces", NULL, lc->ns);
    vc__error_restore(&sv);
}
    ls_clear(&s);
    return rc;
fail_early:
    if (ns_created) {
        vc__error_saved sv;
        vc__error_save(&sv);
        vc__lc_delete(lc->host, "v1", "namespaces", NULL, lc->ns);
        vc__error_restore(&sv);
    }
    ls_clear(&s);
    return rc;
}

static const char *svc_ann(const json_t *svc, const char *key)
{
    return vc__lc_str(json_object_get(json_object_get(svc, "metadata"), "annotations"), key);
}

static int load_for(vc__lc *lc, const json_t *svc, lstate *s)
{
    const char *dir = svc_ann(svc, VC__LC_STATE_ANN);
    if (!dir)
        return vc__error(VC_ECONFIG, VC_ERRCLASS_LIFECYCLE, "host Service %s/%s has no %s annotation", lc->ns, lc->name,
                         VC__LC_STATE_ANN);
    return ls_load(s, dir);
}

static int set_paused(vc__lc *lc, bool paused)
{
    char *patch = vc__sprintf("{\"metadata\":{\"annotations\":{\"%s\":%s}}}", VC__LC_PAUSED_ANN,
                              paused ? "\"true\"" : "null");
    vc__kres r = { "v1", "services", lc->ns, lc->name, NULL };
    int rc = patch ? vc__kube_patch(lc->host, &r, VC__PATCH_MERGE, patch, NULL, false, NULL) : vc__error_oom();
    vc__free(patch);
    return rc;
}

static int local_pause(vc__lc *lc, const json_t *svc)
{
    if (vc__streq(svc_ann(svc, VC__LC_PAUSED_ANN), "true"))
        return vc__error(VC_ESTATE, VC_ERRCLASS_LIFECYCLE, "virtual cluster %s is already paused", lc->name);
    lstate s = { 0 };
    int rc = load_for(lc, svc, &s);
    if (rc < 0)
        return rc;
    rc = vc__lc_step(lc, "stop", 0, "stopping the syncer and the control plane of %s", lc->name);
    if (rc == VC_OK) {
        /* stopped, saved and marked paused even when cancelled meanwhile:
         * only the deletion of the host workloads may be left (pause again) */
        stop_all(lc, &s);
        rc = ls_save(&s);
        if (rc == VC_OK)
            rc = set_paused(lc, true);
        if (rc == VC_OK && lc->canceled)
            rc = vc__lc_tick(lc);
    }
    if (rc == VC_OK)
        rc = vc__lc_delete_workloads(lc);
    if (rc == VC_OK)
        (void)vc__lc_step(lc, "paused", 1, "virtual cluster %s is paused; its data is kept", lc->name);
    ls_clear(&s);
    return rc;
}

static bool api_alive(lstate *s, int r)
{
    return s->exe[P_API] && vc__proc_alive_with(*api_pidp(s, r), exe_base(s->exe[P_API]), s->dir);
}

/* The first component that is not running (replicas of the API server
 * only when none runs), or -1; *down gets how many API servers are down. */
static int first_down(lstate *s, int *down)
{
    *down = 0;
    for (int r = 0; r < s->replicas; r++)
        *down += !api_alive(s, r);
    for (int i = 0; i < P_COUNT; i++) {
        if ((i == P_SCHED || i == P_STORE || i == P_LB) && !s->exe[i])
            continue; /* no virtual scheduler; an external etcd; one API server */
        if (i == P_API) {
            if (*down == s->replicas)
                return P_API;
            continue;
        }
        if (!s->exe[i] || !vc__proc_alive_with(s->pid[i], exe_base(s->exe[i]), s->dir))
            return i;
    }
    return -1;
}

static bool all_running(lstate *s)
{
    int down = 0;
    return first_down(s, &down) < 0 && down == 0;
}

static int local_resume(vc__lc *lc, const json_t *svc)
{
    lstate s = { 0 };
    int rc = load_for(lc, svc, &s);
    if (rc < 0)
        return rc;
    bool paused = vc__streq(svc_ann(svc, VC__LC_PAUSED_ANN), "true");
    if (!paused && all_running(&s)) {
        ls_clear(&s);
        return vc__error(VC_ESTATE, VC_ERRCLASS_LIFECYCLE, "virtual cluster %s is not paused", lc->name);
    }
    stop_all(lc, &s); /* whatever is left of a crash */
    if ((rc = vc__lc_tick(lc)) < 0 || (rc = pick_ports(&s, true)) < 0)
        goto out;
    /* ports may have changed: the kubeconfigs and host objects carry them */
    if ((rc = write_pki(lc, &s)) < 0 || (rc = apply_host_objects(lc, &s, true)) < 0)
        goto out;
    if ((rc = start(lc, &s)) < 0) {
        vc__error_saved sv;
        vc__error_save(&sv);
        stop_all(lc, &s);
        ls_save(&s);
        vc__error_restore(&sv);
        goto out;
    }
    rc = set_paused(lc, false);
    if (rc == VC_OK)
        (void)vc__lc_step(lc, "resumed", 1, "virtual cluster %s is running again", lc->name);
out:
    ls_clear(&s);
    return rc;
}

static int local_remove(vc__lc *lc, const json_t *svc, uint32_t flags)
{
    lstate s = { 0 };
    int rc = load_for(lc, svc, &s);
    bool have_state = rc == VC_OK;
    if (have_state) {
        if ((rc = vc__lc_step(lc, "stop", 0, "stopping the processes of %s", lc->name)) < 0) {
            ls_clear(&s);
            return rc;
        }
        stop_all(lc, &s);
        ls_save(&s);
    } else if (rc != VC_ENOTFOUND) {
        return rc;
    }
    /* the Service marks the cluster and goes late: a cancelled delete can be run again */
    rc = vc__lc_step(lc, "host", 0, "deleting the host objects of %s in %s", lc->name, lc->ns);
    if (rc == VC_OK)
        rc = vc__lc_delete_host_objects(lc, flags);
    char n[300];
    if (rc == VC_OK)
        rc = vc__lc_delete(lc->host, "v1", "services", lc->ns, lc->name);
    snprintf(n, sizeof n, "vc-%s", lc->name);
    if (rc == VC_OK)
        rc = vc__lc_delete(lc->host, "v1", "secrets", lc->ns, n);
    snprintf(n, sizeof n, "vc-workload-%s", lc->name);
    if (rc == VC_OK)
        rc = vc__lc_delete(lc->host, "v1", "serviceaccounts", lc->ns, n);
    if (rc == VC_OK)
        revoke_syncer_identity(lc);
    if (rc == VC_OK && (flags & VC_DELETE_NAMESPACE)) {
        json_t *ns = NULL;
        if (vc__lc_get(lc->host, "v1", "namespaces", NULL, lc->ns, &ns) == VC_OK) {
            const char *created = vc__lc_str(json_object_get(json_object_get(ns, "metadata"), "annotations"),
                                             VC__LC_CREATED_ANN);
            if (vc__streq(created, "true")) {
                rc = vc__lc_step(lc, "namespace", 0, "deleting host namespace %s", lc->ns);
                if (rc == VC_OK)
                    rc = vc__lc_delete(lc->host, "v1", "namespaces", NULL, lc->ns);
            }
        }
        json_decref(ns);
    }
    if (rc == VC_OK && have_state) {
        rc = vc__rm_rf(s.dir);
        /* drop empty parents (<root>/<ns>) */
        char *parent = vc__path_dirname(s.dir);
        if (parent)
            rmdir(parent);
        vc__free(parent);
    }
    if (have_state)
        ls_clear(&s);
    if (rc == VC_OK)
        (void)vc__lc_step(lc, "deleted", 1, "virtual cluster %s deleted", lc->name);
    return rc;
}

static int local_status(vc__lc *lc, const json_t *svc, vc_cluster_info *info)
{
    const char *server = svc_ann(svc, VC__LC_SERVER_ANN);
    vc__lc_info_set(&info->server, server);
    if (vc__streq(svc_ann(svc, VC__LC_PAUSED_ANN), "true")) {
        info->state = VC_CLUSTER_PAUSED;
        return VC_OK;
    }
    lstate s = { 0 };
    if (load_for(lc, svc, &s) < 0) {
        info->state = VC_CLUSTER_FAILED;
        vc__lc_info_set(&info->message, vc_error_last()->message);
        vc_error_clear();
        return VC_OK;
    }
    int down = 0, failed = first_down(&s, &down);
    if (failed < 0) {
        info->state = VC_CLUSTER_RUNNING;
        /* degraded: the balancer sends clients to the replicas left */
        for (int r = 0; r < s.replicas && down; r++) {
            if (api_alive(&s, r))
                continue;
            char m[256];
            snprintf(m, sizeof m,
                     "degraded: kube-apiserver replica %d of %d (127.0.0.1:%d) is not running, %d of %d serve; "
                     "`vcluster resume %s` restarts the control plane",
                     r + 1, s.replicas, *api_portp(&s, r), s.replicas - down, s.replicas, lc->name);
            vc__lc_info_set(&info->message, m);
            break;
        }
        vc_kube *k = virt_kube(&s, 2000);
        vc_buf v = VC_BUF_INIT;
        if (k && vc_kube_server_version(k, &v) == VC_OK)
            vc__lc_info_set(&info->version, v.ptr);
        vc_buf_dispose(&v);
        vc_kube_free(k);
        vc_error_clear();
    } else {
        info->state = VC_CLUSTER_FAILED;
        char m[256];
        snprintf(m, sizeof m, "%s%s is not running; `vcluster resume %s` starts it again",
                 failed == P_API && s.replicas > 1 ? "every " : "", k_comp[failed], lc->name);
        vc__lc_info_set(&info->message, m);
    }
    ls_clear(&s);
    return VC_OK;
}

const vc__driver vc__driver_local = {
    DRIVER, local_create, local_pause, local_resume, local_remove, local_status,
};

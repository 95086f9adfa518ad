/* create, render, connect, disconnect, list, describe, pause, resume, delete:
 * the lifecycle commands, upstream-compatible in names, flags, defaults and
 * exit codes (doc/guide.md, "Coming from upstream", lists what differs). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vcluster.h>

#include "cmd.h"

/* ---- shared flags and helpers ---- */

typedef struct common {
    const char *kubeconfig, *context, *ns;
    const char *bin_dir, *syncer, *state_dir;
    const char *driver; /* --driver: kubernetes (helm) or local; NULL: any */
    int timeout_s;
} common;

enum {
    O_KUBECONFIG = 1000, O_CONTEXT, O_UPGRADE, O_CONNECT, O_EXPOSE, O_DISTRO, O_STORE, O_DRIVER, O_PRINT, O_BINDIR,
    O_SYNCER, O_STATE, O_TIMEOUT, O_KEEP_PVC, O_DELETE_NS, O_SERVER, O_OUTPUT, O_UPDATE_CURRENT, O_POD, O_ADDRESS,
    O_LOCAL_PORT, O_BACKGROUND, O_IGNORE_NOT_FOUND, O_SET, O_CREATE_NS, O_K8S_VERSION, O_CHART_VERSION, O_KCTX_NAME,
    O_KUBE_CONFIG, O_WAIT, O_AUTO_DELETE_NS, O_DELETE_CONTEXT, O_CONFIG_ONLY, O_INSECURE
};

#define COMMON_LONG_OPTS                                                                                              \
    { "kubeconfig", required_argument, 0, O_KUBECONFIG }, { "context", required_argument, 0, O_CONTEXT },           \
        { "namespace", required_argument, 0, 'n' }, { "timeout", required_argument, 0, O_TIMEOUT },                   \
        { "bin-dir", required_argument, 0, O_BINDIR }, { "syncer", required_argument, 0, O_SYNCER },                  \
        { "state-dir", required_argument, 0, O_STATE }, { "driver", required_argument, 0, O_DRIVER }

/* --timeout: whole seconds, 1 to a week; anything else is a usage error
 * (atoi took "abc" as 0, the default, and "-1" as no timeout at all) */
#define TIMEOUT_MAX_S 604800 /* a week */
static int parse_timeout(const char *arg, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = arg && *arg ? strtol(arg, &end, 10) : -1;
    if (!arg || !*arg || errno || !end || *end || v < 1 || v > TIMEOUT_MAX_S) {
        fprintf(stderr, "vcluster: --timeout %.40s%s: not a number of seconds from 1 to %d\n", arg ? arg : "",
                arg && strlen(arg) > 40 ? "..." : "", TIMEOUT_MAX_S);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Returns 1 when the option was one of the common ones, -1 when its value is
 * bad (the message is printed), 0 otherwise. */
static int common_opt(common *c, int opt)
{
    switch (opt) {
    case O_KUBECONFIG: c->kubeconfig = optarg; return 1;
    case O_CONTEXT: c->context = optarg; return 1;
    case 'n': c->ns = optarg; return 1;
    case O_TIMEOUT: return parse_timeout(optarg, &c->timeout_s) < 0 ? -1 : 1;
    case O_BINDIR: c->bin_dir = optarg; return 1;
    case O_SYNCER: c->syncer = optarg; return 1;
    case O_STATE: c->state_dir = optarg; return 1;
    case O_DRIVER:
        /* upstream's helm driver is our kubernetes driver */
        if (!strcmp(optarg, "helm") || !strcmp(optarg, "kubernetes"))
            c->driver = "kubernetes";
        else if (!strcmp(optarg, "local"))
            c->driver = "local";
        else {
            fprintf(stderr, "vcluster: --driver %.40s: use kubernetes (or helm) or local; upstream's docker and "
                            "platform drivers do not exist here\n", optarg);
            return -1;
        }
        return 1;
    default: return 0;
    }
}

static const char *COMMON_HELP =
    "      --driver kubernetes|local  the cluster's driver (helm is read as kubernetes); list: only those\n"
    "      --kubeconfig PATH    host kubeconfig (default: KUBECONFIG, ~/.kube/config)\n"
    "      --timeout SECONDS    give up after this long (default 120)\n"
    "      --bin-dir DIR        local driver: kube-apiserver & co. (default VC_K8S_BINDIR, PATH,\n"
    "                           then ~/.cache/libvcluster/bin/VERSION where the demo builds them)\n"
    "      --syncer PATH        local driver: the vcluster-syncer program\n"
    "      --state-dir DIR      local driver: state root (default $XDG_STATE_HOME/libvcluster/vclusters)\n";

static vc_kube *host_connect(const common *c)
{
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig = c->kubeconfig;
    o.context = c->context;
    o.flags = VC_KUBE_IN_CLUSTER_FALLBACK;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &o) < 0) {
        cli_report("host cluster");
        cli_error("  hint: point --kubeconfig/--context (or KUBECONFIG) at the host cluster");
        return NULL;
    }
    /* connected to a virtual cluster (context vcluster_NAME_NS_HOSTCTX)? then
     * the host is its parent context, as upstream does */
    const char *cur = vc_kube_context(k);
    if (!c->context && !strncmp(cur, "vcluster_", 9)) {
        const char *p = cur + 9;
        for (int i = 0; i < 2 && p; i++) {
            p = strchr(p, '_');
            if (p)
                p++;
        }
        if (p && *p) {
            char *parent = strdup(p);
            vc_kube_free(k);
            k = NULL;
            o.context = parent;
            if (vc_kube_new(&k, &o) < 0) {
                cli_report("host cluster (parent context)");
                k = NULL;
            }
            free(parent);
        }
    }
    return k;
}

static volatile sig_atomic_t g_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

/* ---- progress display: steps with elapsed time on a terminal, plain lines when piped ---- */

typedef struct progress {
    bool tty;
    struct timespec t0;
    char last[256];
    struct sigaction old_int, old_term;
} progress;

static double elapsed(progress *p)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - p->t0.tv_sec) + (double)(t.tv_nsec - p->t0.tv_nsec) / 1e9;
}

/* Ctrl-C (or SIGTERM) cancels the call through the callback's return value;
 * the library then returns VC_ECANCELED within a tick (100 ms) of waiting.
 * A second Ctrl-C kills as usual (SA_RESETHAND). */
static int on_progress(const char *step, const char *message, int32_t done, void *ud)
{
    (void)step;
    progress *p = ud;
    if (g_interrupted)
        return 1;
    if (g_cli.silent)
        return 0;
    if (p->tty) {
        /* VC_PROGRESS_WAITING redraws the line: the elapsed time runs */
        bool ok = done == VC_PROGRESS_DONE;
        fprintf(stderr, "\r\033[K%s %s  (%.1fs)%s", ok ? "\033[32m✓\033[0m" : "\033[33m•\033[0m", message, elapsed(p),
                ok ? "\n" : "");
    } else if (strcmp(p->last, message) != 0) {
        cli_info("%s", message);
    }
    snprintf(p->last, sizeof p->last, "%s", message);
    fflush(stderr);
    return 0;
}

static void progress_init(progress *p)
{
    memset(p, 0, sizeof(*p));
    p->tty = isatty(2) && g_cli.log_output == CLI_LOG_PLAIN;
    clock_gettime(CLOCK_MONOTONIC, &p->t0);
    g_interrupted = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, &p->old_int);
    sigaction(SIGTERM, &sa, &p->old_term);
}

/* Called once after the call, whatever it returned. */
static void progress_end(progress *p)
{
    if (p->tty && p->last[0])
        fprintf(stderr, "\r\033[K");
    p->last[0] = '\0';
    sigaction(SIGINT, &p->old_int, NULL);
    sigaction(SIGTERM, &p->old_term, NULL);
}

/* The error of a lifecycle call, with what an interrupt left behind. */
static void report_lifecycle(const char *verb, const char *name)
{
    if (vc_error_last()->code == VC_ECANCELED && g_interrupted) {
        cli_error("vcluster %s: interrupted.", verb);
        if (!strcmp(verb, "create"))
            cli_error("  what was made so far stays: finish it with vcluster create %s --upgrade, or remove it "
                      "with vcluster delete %s", name, name);
        else
            cli_error("  run vcluster %s %s again to finish", verb, name);
        return;
    }
    cli_report(verb);
}

static char *context_for(vc_kube *host, const char *name, const char *ns)
{
    char defns[300];
    snprintf(defns, sizeof defns, "vcluster-%s", name);
    const char *hc = vc_kube_context(host);
    size_t n = strlen(name) + strlen(ns ? ns : defns) + strlen(hc) + 32;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "vcluster_%s_%s_%s", name, ns ? ns : defns, *hc ? hc : "in-cluster");
    return s;
}

/* How connect reaches the virtual API server, and where the kubeconfig goes. */
typedef struct connect_opts {
    const char *server;      /* --server: written as it is, no forwarder */
    const char *pod;         /* --pod */
    const char *address;     /* --address (default 127.0.0.1) */
    int local_port;          /* --local-port (0: a free one) */
    bool background;         /* --background-proxy (default true) */
    bool print;              /* --print: the kubeconfig to stdout, nothing written */
    bool update;             /* --update-current (default true); false: write kube_config */
    const char *ctx_name;    /* --kube-config-context-name (NULL: vcluster_NAME_NS_HOSTCTX) */
    const char *kube_config; /* --kube-config (default ./kubeconfig.yaml), with --update-current=false */
    bool insecure;           /* --insecure: insecure-skip-tls-verify instead of the CA */
} connect_opts;

#define CONNECT_OPTS_INIT { NULL, NULL, "127.0.0.1", 0, true, false, true, NULL, "./kubeconfig.yaml", false }

/* The API server is only reachable inside the host cluster (kubernetes
 * driver, not exposed): then a port-forward is needed. 1 yes, 0 no, -1 error
 * (reported). *out_ns gets the host namespace. */
static int needs_forward(vc_kube *host, const char *name, const char *ns, char *out_ns, size_t cap)
{
    vc_cluster_info *info = NULL;
    if (vc_cluster_status(&info, host, name, ns) < 0) {
        cli_report("connect");
        return -1;
    }
    snprintf(out_ns, cap, "%s", info->host_namespace);
    int need = 0;
    if (!strcmp(info->driver, "kubernetes")) {
        char incluster[512];
        snprintf(incluster, sizeof incluster, "https://%s.%s:443", name, info->host_namespace);
        need = !strcmp(info->server, incluster); /* an exposed LoadBalancer address is reachable as it is */
    }
    vc_cluster_info_free(info);
    if (need) {
        /* fail now, with the reason, rather than in the forwarder later */
        vc_buf pod = VC_BUF_INIT;
        int rc = vc_cluster_find_pod(&pod, NULL, host, name, out_ns, NULL);
        vc_buf_dispose(&pod);
        if (rc < 0) {
            cli_report("connect");
            return -1;
        }
    }
    return need;
}

static void forward_spec(cli_pf_spec *s, const common *c, vc_kube *host, const char *name, const char *ns,
                         const connect_opts *co)
{
    memset(s, 0, sizeof(*s));
    s->kubeconfig = c->kubeconfig;
    s->context = *vc_kube_context(host) ? vc_kube_context(host) : NULL;
    s->name = name;
    s->ns = ns;
    s->pod = co->pod;
    s->address = co->address;
    s->local_port = co->local_port;
}

/* https://ADDRESS:PORT as kubectl should dial it (wildcards become loopback). */
static void local_server(char *out, size_t n, const char *address, int port)
{
    const char *h = address;
    if (!*h || !strcmp(h, "0.0.0.0"))
        h = "127.0.0.1";
    else if (!strcmp(h, "::"))
        h = "::1";
    if (strchr(h, ':'))
        snprintf(out, n, "https://[%s]:%d", h, port);
    else
        snprintf(out, n, "https://%s:%d", h, port);
}

/* Wait for the foreground forwarder until it exits or we are interrupted. */
static void wait_forwarder(int pid)
{
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt; /* no SA_RESTART: waitpid returns EINTR */
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    while (!g_interrupted && waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    cli_pf_stop_child(pid);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}

/* Every `from` in `s` replaced by `to` (malloc'd; NULL when out of memory). */
static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = s; (p = strstr(p, from)); p += fl)
        n++;
    char *out = malloc(strlen(s) + n * (tl >= fl ? tl - fl : 0) + 1);
    if (!out)
        return NULL;
    char *w = out;
    for (const char *p = s;;) {
        const char *q = strstr(p, from);
        if (!q) {
            strcpy(w, p);
            break;
        }
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        memcpy(w, to, tl);
        w += tl;
        p = q + fl;
    }
    return out;
}

/* The kubeconfig as connect writes it: the context renamed, and with
 * --insecure every certificate-authority-data line replaced by
 * insecure-skip-tls-verify: true (malloc'd; NULL when out of memory). */
static char *adjust_kubeconfig(const char *kc, const char *defctx, const char *ctx, bool insecure)
{
    char *t = strcmp(ctx, defctx) != 0 ? replace_all(kc, defctx, ctx) : strdup(kc);
    if (!t || !insecure)
        return t;
    static const char key[] = "certificate-authority-data:", repl[] = "insecure-skip-tls-verify: true";
    char *out = malloc(2 * strlen(t) + 64); /* each replaced line grows by 30 bytes at most */
    if (!out) {
        free(t);
        return NULL;
    }
    char *w = out;
    for (const char *p = t; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
        size_t ind = strspn(p, " -");
        if (ind < len && !strncmp(p + ind, key, sizeof key - 1)) {
            memcpy(w, p, ind);
            w += ind;
            w += sprintf(w, "%s%s", repl, e ? "\n" : "");
        } else {
            memcpy(w, p, len);
            w += len;
        }
        p += len;
    }
    *w = '\0';
    free(t);
    return out;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0) {
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* Upstream's connect resumes a paused virtual cluster first. */
static int resume_if_paused(vc_kube *host, const common *c, const char *name)
{
    vc_cluster_info *info = NULL;
    if (vc_cluster_status(&info, host, name, c->ns) < 0) {
        cli_report("connect");
        return CLI_FAILED;
    }
    bool paused = info->state == VC_CLUSTER_PAUSED;
    vc_cluster_info_free(info);
    if (!paused)
        return CLI_OK;
    cli_info("Resume vcluster %s...", name);
    vc_cluster_op_options o;
    vc_cluster_op_options_init(&o, VC_CLUSTER_OP_OPTIONS_VERSION);
    o.timeout_ms = c->timeout_s > 0 ? c->timeout_s * 1000 : 0;
    o.bin_dir = c->bin_dir;
    o.syncer_path = c->syncer;
    o.state_dir = c->state_dir;
    progress p;
    progress_init(&p);
    o.progress = on_progress;
    o.progress_user_data = &p;
    int orc = vc_cluster_resume(host, name, c->ns, &o);
    progress_end(&p);
    if (orc < 0 && orc != VC_ESTATE) {
        report_lifecycle("resume", name);
        return CLI_FAILED;
    }
    vc_error_clear();
    return CLI_OK;
}

static int do_connect(vc_kube *host, const common *c, const char *name, const connect_opts *co)
{
    const char *ns = c->ns;
    char *defctx = context_for(host, name, ns);
    if (!defctx)
        return CLI_FAILED;
    const char *ctx = co->ctx_name && *co->ctx_name ? co->ctx_name : defctx;
    char server[600] = "", hostns[256] = "";
    int fwd_pid = 0;
    int rc = CLI_OK;
    if (resume_if_paused(host, c, name) != CLI_OK) {
        free(defctx);
        return CLI_FAILED;
    }
    if (!co->server) {
        int need = needs_forward(host, name, ns, hostns, sizeof hostns);
        if (need < 0) {
            free(defctx);
            return CLI_FAILED;
        }
        if (need) {
            cli_pf_spec spec;
            forward_spec(&spec, c, host, name, hostns, co);
            cli_pf_record r;
            int port = 0;
            if (co->background && !co->pod && cli_pf_lookup(ctx, &r) == 0 && !strcmp(r.address, co->address) &&
                (co->local_port == 0 || co->local_port == r.port)) {
                port = r.port;
                cli_info("Reusing the port-forwarder (pid %d) on %s:%d.", r.pid, r.address, port);
            } else {
                if (cli_pf_stop(ctx) > 0)
                    cli_info("Stopped the previous port-forwarder.");
                if (co->background ? cli_pf_start_background(&spec, ctx, &port) < 0
                                   : cli_pf_start_child(&spec, &fwd_pid, &port) < 0) {
                    free(defctx);
                    return CLI_FAILED;
                }
            }
            local_server(server, sizeof server, co->address, port);
        }
    }
    vc_buf kc = VC_BUF_INIT;
    char *text = NULL;
    if (vc_cluster_connect(&kc, host, name, ns, co->server ? co->server : server[0] ? server : NULL) < 0) {
        cli_report("connect");
        rc = CLI_FAILED;
    } else if (!(text = adjust_kubeconfig(kc.ptr, defctx, ctx, co->insecure))) {
        cli_error("vcluster connect: out of memory");
        rc = CLI_FAILED;
    } else if (co->print) {
        fputs(text, stdout);
        fflush(stdout);
    } else if (!co->update) {
        /* upstream: --update-current=false writes the kubeconfig to --kube-config */
        if (write_file(co->kube_config, text) < 0) {
            cli_error("vcluster connect: writing %s: %s", co->kube_config, strerror(errno));
            rc = CLI_FAILED;
        } else {
            cli_info("Virtual cluster kube config written to: %s (context %s)", co->kube_config, ctx);
            cli_info("- Use `kubectl --kubeconfig %s get namespaces` to access the vcluster", co->kube_config);
        }
    } else if (vc_kubeconfig_merge(NULL, text, ctx) < 0) {
        cli_report("writing the kubeconfig");
        rc = CLI_FAILED;
    } else {
        cli_info("Switched active kube context to %s%s%s: kubectl now talks to virtual cluster %s.\n"
                 "- Use `vcluster disconnect` to return to your previous kube context",
                 ctx, server[0] ? " via " : "", server, name);
    }
    free(text);
    vc_buf_dispose(&kc);
    if (fwd_pid > 0) {
        if (rc == CLI_OK) {
            cli_info("Forwarding %s to the virtual cluster; press Ctrl+C to stop.", server);
            wait_forwarder(fwd_pid);
        } else {
            cli_pf_stop_child(fwd_pid);
        }
    }
    free(defctx);
    return rc;
}

/* ---- create and render ---- */

#define MAX_VALUES 64

typedef struct create_args {
    common c;
    const char *values[MAX_VALUES]; /* -f/--values, in order */
    int n_values;
    const char *sets[MAX_VALUES];   /* --set key=value, in order (win over files, as helm) */
    int n_sets;
    const char *distro, *store, *driver, *k8s_version, *chart_version;
    uint32_t flags;
    bool connect, create_ns, print, update_current, background;
    const char *ctx_name;
    const char *name;
} create_args;

static const char *CREATE_VALUES_HELP =
    "  -f, --values FILE        vcluster.yaml values (repeatable; later files win)\n"
    "      --set KEY=VALUE      set one value, e.g. --set controlPlane.service.spec.type=NodePort\n"
    "                           (repeatable; wins over --values, as helm's --set)\n"
    "      --distro k8s|k3s|k0s control-plane distro (kubernetes driver; local runs k8s)\n"
    "      --backing-store sqlite|etcd\n"
    "      --kubernetes-version V  the virtual Kubernetes version: the tag of the API server image\n"
    "                           (controlPlane.distro.k8s.version); kubernetes driver only\n"
    "      --expose             expose the API server with a LoadBalancer Service (kubernetes driver)\n";

/* Parse create's (and render's) flags; CLI_OK, or the exit status. */
static int parse_create(int argc, char **argv, create_args *a, const char *verb, void (*help)(FILE *))
{
    memset(a, 0, sizeof(*a));
    a->connect = a->create_ns = a->update_current = a->background = true;
    static const struct option lo[] = {
        COMMON_LONG_OPTS,
        { "values", required_argument, 0, 'f' },
        { "set", required_argument, 0, O_SET },
        { "upgrade", optional_argument, 0, O_UPGRADE },
        { "connect", optional_argument, 0, O_CONNECT },
        { "expose", optional_argument, 0, O_EXPOSE },
        { "distro", required_argument, 0, O_DISTRO },
        { "backing-store", required_argument, 0, O_STORE },
        { "print", optional_argument, 0, O_PRINT },
        { "create-namespace", optional_argument, 0, O_CREATE_NS },
        { "kubernetes-version", required_argument, 0, O_K8S_VERSION },
        { "chart-version", required_argument, 0, O_CHART_VERSION },
        { "kube-config-context-name", required_argument, 0, O_KCTX_NAME },
        { "update-current", optional_argument, 0, O_UPDATE_CURRENT },
        { "background-proxy", optional_argument, 0, O_BACKGROUND },
        { 0, 0, 0, 0 },
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:f:", lo, NULL)) != -1) {
        int common_rc = common_opt(&a->c, opt);
        if (common_rc < 0)
            return CLI_USAGE;
        if (common_rc)
            continue;
        bool b = false;
        int brc = 0;
        switch (opt) {
        case 'f':
        case O_SET: {
            const char **arr = opt == 'f' ? a->values : a->sets;
            int *n = opt == 'f' ? &a->n_values : &a->n_sets;
            if (*n == MAX_VALUES) {
                fprintf(stderr, "vcluster %s: at most %d %s\n", verb, MAX_VALUES, opt == 'f' ? "values files" : "--set");
                return CLI_USAGE;
            }
            if (opt == O_SET && !strchr(optarg, '=')) {
                fprintf(stderr, "vcluster %s: --set %.60s: expected KEY=VALUE\n", verb, optarg);
                return CLI_USAGE;
            }
            arr[(*n)++] = optarg;
            break;
        }
        case O_UPGRADE:
            if ((brc = cli_parse_bool("upgrade", optarg, &b)) == 0 && b)
                a->flags |= VC_CREATE_UPGRADE;
            break;
        case O_EXPOSE:
            if ((brc = cli_parse_bool("expose", optarg, &b)) == 0 && b)
                a->flags |= VC_CREATE_EXPOSE;
            break;
        case O_CONNECT: brc = cli_parse_bool("connect", optarg, &a->connect); break;
        case O_PRINT: brc = cli_parse_bool("print", optarg, &a->print); break;
        case O_CREATE_NS: brc = cli_parse_bool("create-namespace", optarg, &a->create_ns); break;
        case O_UPDATE_CURRENT: brc = cli_parse_bool("update-current", optarg, &a->update_current); break;
        case O_BACKGROUND: brc = cli_parse_bool("background-proxy", optarg, &a->background); break;
        case O_DISTRO: a->distro = optarg; break;
        case O_STORE: a->store = optarg; break;
        case O_K8S_VERSION: a->k8s_version = optarg; break;
        case O_CHART_VERSION: a->chart_version = optarg; break;
        case O_KCTX_NAME: a->ctx_name = optarg; break;
        default: help(stderr); return CLI_USAGE;
        }
        if (brc < 0)
            return CLI_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "vcluster %s: expected exactly one NAME (see vcluster %s --help)\n", verb, verb);
        return CLI_USAGE;
    }
    a->name = argv[optind];
    a->driver = a->c.driver;
    if (a->print && !a->background) {
        fprintf(stderr, "vcluster %s: --print needs the port-forward in the background\n", verb);
        return CLI_USAGE;
    }
    if (a->k8s_version && a->driver && !strcmp(a->driver, "local")) {
        fprintf(stderr, "vcluster %s: --kubernetes-version: the local driver runs the binaries of --bin-dir, whatever "
                        "their version; build another version with tests/cluster/hostcluster\n",
                verb);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* The values: files, then --set, then --kubernetes-version. NULL on error (reported). */
static vc_config *create_config(const create_args *a)
{
    vc_config *cfg = NULL;
    if (vc_config_new(&cfg) < 0) {
        cli_report("config");
        return NULL;
    }
    for (int i = 0; i < a->n_values; i++) {
        if (vc_config_load_file(cfg, a->values[i]) < 0) {
            cli_report(NULL);
            vc_config_free(cfg);
            return NULL;
        }
    }
    for (int i = 0; i < a->n_sets; i++) {
        char key[512];
        const char *eq = strchr(a->sets[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - a->sets[i]), a->sets[i]);
        if (vc_config_set(cfg, key, eq + 1) < 0) {
            cli_report(NULL);
            vc_config_free(cfg);
            return NULL;
        }
    }
    if (a->k8s_version && vc_config_set(cfg, "controlPlane.distro.k8s.version", a->k8s_version) < 0) {
        cli_report("--kubernetes-version");
        vc_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static void create_options(vc_create_options *o, const create_args *a, vc_config *cfg)
{
    vc_create_options_init(o, VC_CREATE_OPTIONS_VERSION);
    o->flags = a->flags;
    o->name = a->name;
    o->host_namespace = a->c.ns;
    o->driver = a->driver;
    o->distro = a->distro;
    o->backing_store = a->store;
    o->config = cfg;
    o->bin_dir = a->c.bin_dir;
    o->syncer_path = a->c.syncer;
    o->state_dir = a->c.state_dir;
    o->timeout_ms = a->c.timeout_s > 0 ? a->c.timeout_s * 1000 : 0;
}

void cmd_create_help(FILE *to)
{
    fprintf(to,
            "Usage: vcluster create NAME [flags]\n\n"
            "Create a virtual cluster in host namespace vcluster-NAME (or -n, or the namespace of the\n"
            "kube context when it is not \"default\") and connect to it. When it exists already,\n"
            "connect to it (exit 0), or fail without --connect; --upgrade applies new values.\n"
            "--driver kubernetes (the default) runs the control plane as a StatefulSet in the host;\n"
            "--driver local runs it as processes on this machine, workloads in the host either way.\n\n"
            "Flags:\n%s"
            "      --upgrade            apply new values to an existing virtual cluster (its driver is kept)\n"
            "      --connect=false      do not connect after creating\n"
            "      --print              print the virtual cluster's kubeconfig to stdout after creating,\n"
            "                           changing no kubeconfig file (host manifests: vcluster render)\n"
            "      --create-namespace=false  fail when the host namespace does not exist\n"
            "      --kube-config-context-name CTX  name of the kube context connect writes\n"
            "      --chart-version V    accepted for upstream's scripts: libvcluster deploys its own\n"
            "                           version; a different V prints a warning\n"
            "      --update-current=false  no effect (upstream deprecated it): use --connect=false\n"
            "      --background-proxy=false  kubernetes driver: connect's port-forward runs in the\n"
            "                           foreground until Ctrl+C\n"
            "%s\n%s",
            CREATE_VALUES_HELP, COMMON_HELP, cli_global_help);
}

int cmd_create(int argc, char **argv)
{
    create_args a;
    int prc = parse_create(argc, argv, &a, "create", cmd_create_help);
    if (prc != CLI_OK)
        return prc;
    if (!a.update_current)
        cli_warn("\"--update-current=false\" has no effect anymore. Please consider using \"--connect=false\"");
    if (a.chart_version) {
        const char *v = a.chart_version[0] == 'v' ? a.chart_version + 1 : a.chart_version;
        if (strcmp(v, VC_VERSION_STRING) != 0)
            cli_warn("--chart-version %s: libvcluster deploys its own version %s (there is no chart to pick)",
                     a.chart_version, VC_VERSION_STRING);
    }
    /* values first: a broken file fails before anything is created */
    vc_config *cfg = create_config(&a);
    if (!cfg)
        return CLI_FAILED;
    vc_kube *host = host_connect(&a.c);
    if (!host) {
        vc_config_free(cfg);
        return CLI_FAILED;
    }
    /* upstream: the namespace of the kube context, unless it is "default" */
    const char *kns = vc_kube_namespace(host);
    if (!a.c.ns && kns && *kns && strcmp(kns, "default") != 0)
        a.c.ns = kns;
    char defns[300];
    snprintf(defns, sizeof defns, "vcluster-%s", a.name);
    const char *ns = a.c.ns ? a.c.ns : defns;
    connect_opts co = CONNECT_OPTS_INIT;
    co.print = a.print;
    co.ctx_name = a.ctx_name;
    co.background = a.background;
    int rc = CLI_OK;
    vc_cluster_info *existing = NULL;
    if (!(a.flags & VC_CREATE_UPGRADE) && vc_cluster_status(&existing, host, a.name, a.c.ns) == VC_OK) {
        /* upstream: an existing cluster is connected to, or an error without --connect */
        vc_cluster_info_free(existing);
        if (a.connect || a.print) {
            cli_info("Virtual cluster %s already exists in namespace %s; connecting to it", a.name, ns);
            rc = do_connect(host, &a.c, a.name, &co);
        } else {
            cli_error("vcluster create: virtual cluster %s already exists in namespace %s\n"
                      "- Use `vcluster create %s -n %s --upgrade` to upgrade the vcluster\n"
                      "- Use `vcluster connect %s -n %s` to access the vcluster",
                      a.name, ns, a.name, ns, a.name, ns);
            rc = CLI_FAILED;
        }
        vc_kube_free(host);
        vc_config_free(cfg);
        return rc;
    }
    vc_error_clear();
    if (!a.create_ns) {
        char path[400];
        snprintf(path, sizeof path, "/api/v1/namespaces/%s", ns);
        if (vc_kube_request(host, NULL, NULL, "GET", path, NULL, NULL) < 0) {
            if (vc_error_last()->code == VC_ENOTFOUND)
                cli_error("vcluster create: host namespace %s does not exist (--create-namespace=false)", ns);
            else
                cli_report("create");
            vc_kube_free(host);
            vc_config_free(cfg);
            return CLI_FAILED;
        }
    }
    vc_create_options o;
    create_options(&o, &a, cfg);
    progress p;
    progress_init(&p);
    o.progress = on_progress;
    o.progress_user_data = &p;
    int crc = vc_cluster_create(host, &o, NULL);
    progress_end(&p);
    if (crc < 0) {
        report_lifecycle("create", a.name);
        const vc_error *e = vc_error_last();
        if (e->code == VC_EEXISTS)
            cli_error("  hint: vcluster connect %s, or vcluster create %s --upgrade -f values.yaml", a.name, a.name);
        rc = CLI_FAILED;
    } else {
        cli_info("Successfully %s virtual cluster %s in namespace %s", a.flags & VC_CREATE_UPGRADE ? "upgraded" : "created",
                 a.name, ns);
        if (a.connect || a.print)
            rc = do_connect(host, &a.c, a.name, &co);
        else
            cli_info("- Use `vcluster connect %s --namespace %s` to access the virtual cluster\n"
                     "- Use `vcluster connect %s --namespace %s -- kubectl get ns` to run a command directly within it",
                     a.name, ns, a.name, ns);
    }
    vc_kube_free(host);
    vc_config_free(cfg);
    return rc;
}

void cmd_render_help(FILE *to)
{
    fprintf(to,
            "Usage: vcluster render NAME [flags]\n\n"
            "Print the host manifests (a YAML stream) that `vcluster create NAME` with the same flags\n"
            "would apply, changing nothing (kubernetes driver). The host is asked only what the\n"
            "manifests need (its Service CIDR).\n\n"
            "Flags:\n%s%s\n%s",
            CREATE_VALUES_HELP, COMMON_HELP, cli_global_help);
}

int cmd_render(int argc, char **argv)
{
    create_args a;
    int prc = parse_create(argc, argv, &a, "render", cmd_render_help);
    if (prc != CLI_OK)
        return prc;
    vc_config *cfg = create_config(&a);
    if (!cfg)
        return CLI_FAILED;
    vc_kube *host = host_connect(&a.c);
    if (!host) {
        vc_config_free(cfg);
        return CLI_FAILED;
    }
    vc_create_options o;
    create_options(&o, &a, cfg);
    o.flags |= VC_CREATE_PRINT;
    vc_buf manifests = VC_BUF_INIT;
    int rc = CLI_OK;
    if (vc_cluster_create(host, &o, &manifests) < 0) {
        cli_report("render");
        rc = CLI_FAILED;
    } else {
        fputs(manifests.ptr ? manifests.ptr : "", stdout);
    }
    vc_buf_dispose(&manifests);
    vc_kube_free(host);
    vc_config_free(cfg);
    return rc;
}

/* ---- connect / disconnect ---- */

void cmd_connect_help(FILE *to)
{
    fprintf(to,
            "Usage: vcluster connect NAME [flags] [-- COMMAND...]\n\n"
            "Write the virtual cluster's context into the kubeconfig and switch to it\n"
            "(context vcluster_NAME_NAMESPACE_HOSTCONTEXT). With -- COMMAND, run the command\n"
            "with KUBECONFIG pointing at the virtual cluster instead.\n\n"
            "A virtual cluster of the kubernetes driver is reached through a port-forward\n"
            "(pods/portforward of the host API server) from --address:--local-port to its\n"
            "API server pod, running in the background until `vcluster disconnect` (or\n"
            "delete); with -- COMMAND, only while the command runs.\n\n"
            "Flags:\n"
            "      --print              print the kubeconfig to stdout instead of writing it\n"
            "      --update-current=false  write the kubeconfig to --kube-config instead of the\n"
            "                           current kubeconfig (nothing is switched)\n"
            "      --kube-config PATH   where --update-current=false writes (default ./kubeconfig.yaml)\n"
            "      --kube-config-context-name CTX  the context's name (default vcluster_NAME_NS_HOSTCTX)\n"
            "      --server URL         the API server address to write (no port-forward)\n"
            "      --local-port PORT    local port of the port-forward (default: a free port)\n"
            "      --address ADDR       local address of the port-forward (default 127.0.0.1)\n"
            "      --pod POD            the control plane pod to forward to (default: a Ready one)\n"
            "      --background-proxy=false  forward in the foreground until Ctrl+C\n"
            "      --insecure           write insecure-skip-tls-verify: true instead of the CA\n"
            "%s\n%s",
            COMMON_HELP, cli_global_help);
}

static int run_with_kubeconfig(vc_kube *host, const common *c, const char *name, const connect_opts *co, char **cmd);
static int find_namespace(vc_kube *host, common *c, const char *name, char *buf, size_t cap);

/* --driver on a command for an existing cluster: it must be the driver the
 * cluster runs with (upstream's --driver picks where to look). */
static int check_driver(vc_kube *host, const common *c, const char *name)
{
    if (!c->driver)
        return CLI_OK;
    vc_cluster_info *info = NULL;
    if (vc_cluster_status(&info, host, name, c->ns) < 0) {
        vc_error_clear(); /* the command itself reports a missing cluster */
        return CLI_OK;
    }
    int rc = CLI_OK;
    if (strcmp(info->driver, c->driver) != 0) {
        cli_error("vcluster: virtual cluster %s runs with the %s driver, not %s (drop --driver)", name, info->driver,
                  c->driver);
        rc = CLI_FAILED;
    }
    vc_cluster_info_free(info);
    return rc;
}

int cmd_connect(int argc, char **argv)
{
    common c = { 0 };
    connect_opts co = CONNECT_OPTS_INIT;
    static const struct option lo[] = {
        COMMON_LONG_OPTS,
        { "print", optional_argument, 0, O_PRINT },
        { "server", required_argument, 0, O_SERVER },
        { "update-current", optional_argument, 0, O_UPDATE_CURRENT },
        { "kube-config", required_argument, 0, O_KUBE_CONFIG },
        { "kube-config-context-name", required_argument, 0, O_KCTX_NAME },
        { "pod", required_argument, 0, O_POD },
        { "address", required_argument, 0, O_ADDRESS },
        { "local-port", required_argument, 0, O_LOCAL_PORT },
        { "background-proxy", optional_argument, 0, O_BACKGROUND },
        { "insecure", optional_argument, 0, O_INSECURE },
        { 0, 0, 0, 0 },
    };
    /* flags may come before or after NAME; everything after "--" is the command */
    int dash = argc;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--")) {
            dash = i;
            break;
        }
    char **cmd = dash < argc - 1 ? argv + dash + 1 : NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(dash, argv, "n:", lo, NULL)) != -1) {
        int common_rc = common_opt(&c, opt);
        if (common_rc < 0)
            return CLI_USAGE;
        if (common_rc)
            continue;
        int brc = 0;
        switch (opt) {
        case O_PRINT: brc = cli_parse_bool("print", optarg, &co.print); break;
        case O_SERVER: co.server = optarg; break;
        case O_UPDATE_CURRENT: brc = cli_parse_bool("update-current", optarg, &co.update); break;
        case O_KUBE_CONFIG: co.kube_config = optarg; break;
        case O_KCTX_NAME: co.ctx_name = optarg; break;
        case O_POD: co.pod = optarg; break;
        case O_ADDRESS: co.address = optarg ? optarg : "127.0.0.1"; break;
        case O_LOCAL_PORT: {
            const char *arg = optarg ? optarg : "";
            char *end = NULL;
            long p = strtol(arg, &end, 10);
            if (!*arg || !end || *end || p < 0 || p > 65535) {
                fprintf(stderr, "vcluster connect: --local-port %s is not a port\n", arg);
                return CLI_USAGE;
            }
            co.local_port = (int)p;
            break;
        }
        case O_BACKGROUND: brc = cli_parse_bool("background-proxy", optarg, &co.background); break;
        case O_INSECURE: brc = cli_parse_bool("insecure", optarg, &co.insecure); break;
        default: cmd_connect_help(stderr); return CLI_USAGE;
        }
        if (brc < 0)
            return CLI_USAGE;
    }
    if (optind != dash - 1) {
        fprintf(stderr, "vcluster connect: expected NAME (see vcluster connect --help)\n");
        return CLI_USAGE;
    }
    if (co.print && !co.background) {
        fprintf(stderr, "vcluster connect: --print needs the port-forward in the background\n");
        return CLI_USAGE;
    }
    const char *name = argv[optind];
    vc_kube *host = host_connect(&c);
    if (!host)
        return CLI_FAILED;
    char nsbuf[256];
    if (find_namespace(host, &c, name, nsbuf, sizeof nsbuf) != CLI_OK || check_driver(host, &c, name) != CLI_OK) {
        vc_kube_free(host);
        return CLI_FAILED;
    }
    int rc = cmd ? run_with_kubeconfig(host, &c, name, &co, cmd) : do_connect(host, &c, name, &co);
    vc_kube_free(host);
    return rc;
}

void cmd_disconnect_help(FILE *to)
{
    fprintf(to, "Usage: vcluster disconnect\n\nSwitch the kube context back to the one in use before `vcluster connect`\n"
                "and stop the context's port-forwarder (kubernetes driver).\n\n%s",
            cli_global_help);
}

int cmd_disconnect(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        cmd_disconnect_help(stderr);
        return CLI_USAGE;
    }
    /* the context we leave: its port-forwarder (kubernetes driver) stops */
    vc_kube *cur = NULL;
    char *leaving = NULL;
    if (vc_kube_new(&cur, NULL) == VC_OK)
        leaving = strdup(vc_kube_context(cur));
    else
        vc_error_clear();
    vc_kube_free(cur);
    vc_buf ctx = VC_BUF_INIT;
    int rc = CLI_OK;
    if (vc_kubeconfig_restore_context(NULL, &ctx) < 0) {
        cli_report("disconnect");
        rc = CLI_FAILED;
    } else {
        cli_info("Successfully disconnected and switched back to the original context: %s", ctx.ptr);
    }
    if (leaving && cli_pf_stop(leaving) > 0)
        cli_info("Stopped the port-forwarder of context \"%s\".", leaving);
    free(leaving);
    vc_buf_dispose(&ctx);
    return rc;
}

static int run_with_kubeconfig(vc_kube *host, const common *c, const char *name, const connect_opts *co, char **cmd)
{
    char server[600] = "", hostns[256] = "";
    int fwd_pid = 0;
    if (resume_if_paused(host, c, name) != CLI_OK)
        return CLI_FAILED;
    if (!co->server) {
        int need = needs_forward(host, name, c->ns, hostns, sizeof hostns);
        if (need < 0)
            return CLI_FAILED;
        if (need) {
            cli_pf_spec spec;
            forward_spec(&spec, c, host, name, hostns, co);
            int port = 0;
            if (cli_pf_start_child(&spec, &fwd_pid, &port) < 0)
                return CLI_FAILED;
            local_server(server, sizeof server, co->address, port);
        }
    }
    vc_buf kc = VC_BUF_INIT;
    if (vc_cluster_connect(&kc, host, name, c->ns, co->server ? co->server : server[0] ? server : NULL) < 0) {
        cli_report("connect");
        if (fwd_pid > 0)
            cli_pf_stop_child(fwd_pid);
        return CLI_FAILED;
    }
    char *body = adjust_kubeconfig(kc.ptr, "", "", co->insecure);
    vc_buf_dispose(&kc);
    char path[] = "/tmp/vcluster-kubeconfig-XXXXXX";
    int fd = body ? mkstemp(path) : -1;
    if (fd < 0 || write(fd, body, strlen(body)) != (ssize_t)strlen(body)) {
        if (body)
            perror("vcluster connect: temporary kubeconfig");
        else
            cli_error("vcluster connect: out of memory");
        free(body);
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        if (fwd_pid > 0)
            cli_pf_stop_child(fwd_pid);
        return CLI_FAILED;
    }
    free(body);
    close(fd);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("KUBECONFIG", path, 1);
        execvp(cmd[0], cmd);
        fprintf(stderr, "vcluster connect: cannot run %s\n", cmd[0]);
        _exit(127);
    }
    int st = 0;
    if (pid > 0)
        waitpid(pid, &st, 0);
    unlink(path);
    if (fwd_pid > 0)
        cli_pf_stop_child(fwd_pid);
    return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : CLI_FAILED;
}

/* Without -n, a virtual cluster is found by name in every namespace, as
 * upstream's CLI does: the one namespace that holds NAME goes into c->ns
 * (buf holds it). None: c->ns stays unset (the default, vcluster-NAME).
 * Several: an error naming them. */
static int find_namespace(vc_kube *host, common *c, const char *name, char *buf, size_t cap)
{
    if (c->ns)
        return CLI_OK;
    vc_cluster_list *l = NULL;
    if (vc_cluster_list_get(&l, host, NULL) < 0) {
        vc_error_clear(); /* may not list everywhere: the default namespace it is */
        return CLI_OK;
    }
    size_t hits = 0;
    char all[512] = "";
    for (size_t i = 0; i < vc_cluster_list_count(l); i++) {
        const vc_cluster_info *ci = vc_cluster_list_at(l, i);
        if (strcmp(ci->name, name) != 0)
            continue;
        if (hits++ == 0)
            snprintf(buf, cap, "%s", ci->host_namespace);
        size_t n = strlen(all);
        snprintf(all + n, sizeof all - n, "%s%s", n ? ", " : "", ci->host_namespace);
    }
    vc_cluster_list_free(l);
    if (hits > 1) {
        cli_error("vcluster: virtual cluster %s exists in namespaces %s: pass -n NAMESPACE", name, all);
        return CLI_FAILED;
    }
    if (hits == 1)
        c->ns = buf;
    return CLI_OK;
}

static const char *state_name(int32_t s)
{
    switch (s) {
    case VC_CLUSTER_RUNNING: return "Running";
    case VC_CLUSTER_PAUSED: return "Paused";
    case VC_CLUSTER_PENDING: return "Pending";
    case VC_CLUSTER_FAILED: return "Failed";
    default: return "Unknown";
    }
}

static void age(const char *created, char *out, size_t cap)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!created || !strptime(created, "%Y-%m-%dT%H:%M:%S", &tm)) {
        snprintf(out, cap, "?");
        return;
    }
    long d = (long)(time(NULL) - timegm(&tm));
    if (d < 120)
        snprintf(out, cap, "%lds", d);
    else if (d < 7200)
        snprintf(out, cap, "%ldm", d / 60);
    else if (d < 172800)
        snprintf(out, cap, "%ldh", d / 3600);
    else
        snprintf(out, cap, "%ldd", d / 86400);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

/* ---- list ---- */

void cmd_list_help(FILE *to)
{
    fprintf(to,
            "Usage: vcluster list [flags]\n\nList the virtual clusters of the host cluster (every namespace, or -n).\n\n"
            "Flags:\n"
            "  -o, --output table|json  output format (default table); json has upstream's fields\n"
            "                           (Name, Namespace, Created, AgeSeconds, Version, Status, Connected)\n"
            "                           and Driver, Server, Message\n%s\n%s",
            COMMON_HELP, cli_global_help);
}

static long age_seconds(const char *created)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!created || !strptime(created, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    long d = (long)(time(NULL) - timegm(&tm));
    return d < 0 ? 0 : d;
}

int cmd_list(int argc, char **argv)
{
    common c = { 0 };
    const char *output = "table";
    static const struct option lo[] = { COMMON_LONG_OPTS, { "output", required_argument, 0, 'o' }, { 0, 0, 0, 0 } };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:o:", lo, NULL)) != -1) {
        int common_rc = common_opt(&c, opt);
        if (common_rc < 0)
            return CLI_USAGE;
        if (common_rc)
            continue;
        if (opt == 'o')
            output = optarg;
        else {
            cmd_list_help(stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "vcluster list: takes no arguments (see vcluster list --help)\n");
        return CLI_USAGE;
    }
    if (strcmp(output, "table") != 0 && strcmp(output, "json") != 0) {
        fprintf(stderr, "vcluster list: unknown output format \"%s\": use table or json\n", output);
        return CLI_USAGE;
    }
    vc_kube *host = host_connect(&c);
    if (!host)
        return CLI_FAILED;
    vc_cluster_list *l = NULL;
    if (vc_cluster_list_get(&l, host, c.ns) < 0) {
        cli_report("list");
        vc_kube_free(host);
        return CLI_FAILED;
    }
    /* --driver: only that driver's clusters */
    size_t *items = calloc(vc_cluster_list_count(l) + 1, sizeof(size_t)); /* indices of the clusters shown */
    size_t n = 0;
    if (!items) {
        cli_error("vcluster list: out of memory");
        vc_cluster_list_free(l);
        vc_kube_free(host);
        return CLI_FAILED;
    }
    for (size_t i = 0; i < vc_cluster_list_count(l); i++) {
        const vc_cluster_info *x = vc_cluster_list_at(l, i);
        if (!c.driver || !strcmp(x->driver, c.driver))
            items[n++] = i;
    }
    if (!strcmp(output, "json")) {
        /* upstream's ListVCluster fields, in its order, indented as upstream */
        printf("[");
        for (size_t i = 0; i < n; i++) {
            const vc_cluster_info *x = vc_cluster_list_at(l, items[i]);
            printf("%s\n    {\n        \"Created\": ", i ? "," : "");
            json_str(stdout, x->created);
            printf(",\n        \"Name\": ");
            json_str(stdout, x->name);
            printf(",\n        \"Namespace\": ");
            json_str(stdout, x->host_namespace);
            printf(",\n        \"Version\": ");
            json_str(stdout, x->version);
            printf(",\n        \"Status\": \"%s\",\n        \"AgeSeconds\": %ld,\n        \"Connected\": %s,\n"
                   "        \"Driver\": ",
                   state_name(x->state), age_seconds(x->created), x->connected ? "true" : "false");
            json_str(stdout, x->driver);
            printf(",\n        \"Server\": ");
            json_str(stdout, x->server);
            printf(",\n        \"Message\": ");
            json_str(stdout, x->message);
            printf("\n    }");
        }
        printf("%s]\n", n ? "\n" : "");
    } else if (n == 0) {
        cli_info("No virtual clusters found. Create one with `vcluster create NAME`.");
    } else {
        /* upstream's six columns first */
        printf("%-20s %-28s %-9s %-10s %-9s %-6s %s\n", "NAME", "NAMESPACE", "STATUS", "VERSION", "CONNECTED", "AGE",
               "DRIVER");
        for (size_t i = 0; i < n; i++) {
            const vc_cluster_info *x = vc_cluster_list_at(l, items[i]);
            char a[32];
            age(x->created, a, sizeof a);
            printf("%-20s %-28s %-9s %-10s %-9s %-6s %s\n", x->name, x->host_namespace, state_name(x->state),
                   *x->version ? x->version : "-", x->connected ? "True" : "", a, x->driver);
            if (*x->message)
                printf("  %s\n", x->message);
        }
        if (!strncmp(vc_kube_context(host), "vcluster_", 9) || (c.context && !strncmp(c.context, "vcluster_", 9)))
            cli_info("Run `vcluster disconnect` to switch back to the parent context");
    }
    free(items);
    vc_cluster_list_free(l);
    vc_kube_free(host);
    return CLI_OK;
}

/* ---- describe ---- */

void cmd_describe_help(FILE *to)
{
    fprintf(to,
            "Usage: vcluster describe NAME [flags]\n\n"
            "Show a virtual cluster: name, namespace, version, backing store, created, status,\n"
            "images, driver, distro, server and the vcluster.yaml it runs with.\n\n"
            "Flags:\n"
            "  -o, --output json|yaml   machine-readable output (upstream's fields: name, namespace,\n"
            "                           version, backingStore, status, created, imageTags,\n"
            "                           userConfigYaml; and driver, distro, server)\n"
            "      --config-only        print only the vcluster.yaml (the effective values)\n%s\n%s",
            COMMON_HELP, cli_global_help);
}

static const char *store_name(int32_t s)
{
    switch (s) {
    case VC_STORE_EXTERNAL_DATABASE: return "external-database";
    case VC_STORE_EMBEDDED_ETCD: return "embedded-etcd";
    case VC_STORE_DEPLOYED_ETCD: return "deployed-etcd";
    case VC_STORE_EXTERNAL_ETCD: return "external-etcd";
    default: return "embedded-database";
    }
}

#define MAX_IMAGES 16
typedef struct image_tag {
    char name[64], image[512];
} image_tag;

/* The containers of the control plane StatefulSet (kubernetes driver) and
 * their images: Kubernetes writes a container as {"name":N,"image":I,...}. */
static int control_plane_images(vc_kube *host, const char *name, const char *ns, image_tag *out)
{
    char path[600];
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/statefulsets/%s", ns, name);
    vc_buf b = VC_BUF_INIT;
    int n = 0;
    if (vc_kube_request(host, &b, NULL, "GET", path, NULL, NULL) == VC_OK && b.ptr) {
        static const char pat[] = "{\"name\":\"";
        for (const char *p = strstr(b.ptr, pat); p && n < MAX_IMAGES; p = strstr(p + 1, pat)) {
            const char *nm = p + sizeof pat - 1, *ne = strchr(nm, '"');
            if (!ne || strncmp(ne, "\",\"image\":\"", 11) != 0)
                continue;
            const char *im = ne + 11, *ie = strchr(im, '"');
            if (!ie)
                break;
            snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)(ne - nm), nm);
            snprintf(out[n].image, sizeof out[n].image, "%.*s", (int)(ie - im), im);
            bool dup = false;
            for (int k = 0; k < n; k++)
                dup = dup || !strcmp(out[k].name, out[n].name);
            if (!dup)
                n++;
        }
    } else {
        vc_error_clear();
    }
    vc_buf_dispose(&b);
    return n;
}

static int cmp_image(const void *a, const void *b)
{
    return strcmp(((const image_tag *)a)->name, ((const image_tag *)b)->name);
}

/* A YAML block scalar at `indent` spaces. */
static void yaml_block(const char *text, int indent)
{
    printf("|\n");
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        printf("%*s%.*s\n", len ? indent : 0, "", (int)len, p);
        p += len + (e ? 1 : 0);
    }
}

int cmd_describe(int argc, char **argv)
{
    common c = { 0 };
    const char *output = "";
    bool config_only = false;
    static const struct option lo[] = { COMMON_LONG_OPTS,
                                        { "output", required_argument, 0, 'o' },
                                        { "config-only", optional_argument, 0, O_CONFIG_ONLY },
                                        { 0, 0, 0, 0 } };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:o:", lo, NULL)) != -1) {
        int common_rc = common_opt(&c, opt);
        if (common_rc < 0)
            return CLI_USAGE;
        if (common_rc)
            continue;
        if (opt == 'o')
            output = optarg;
        else if (opt == O_CONFIG_ONLY) {
            if (cli_parse_bool("config-only", optarg, &config_only) < 0)
                return CLI_USAGE;
        } else {
            cmd_describe_help(stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "vcluster describe: expected exactly one NAME (see vcluster describe --help)\n");
        return CLI_USAGE;
    }
    if (strcmp(output, "") != 0 && strcmp(output, "json") != 0 && strcmp(output, "yaml") != 0) {
        fprintf(stderr, "vcluster describe: unsupported output format: %s (use json or yaml)\n", output);
        return CLI_USAGE;
    }
    if (config_only && !strcmp(output, "json")) {
        fprintf(stderr, "vcluster describe: --config-only output supports only yaml format\n");
        return CLI_USAGE;
    }
    const char *name = argv[optind];
    vc_kube *host = host_connect(&c);
    if (!host)
        return CLI_FAILED;
    char nsbuf[256];
    vc_cluster_info *info = NULL;
    vc_buf yaml = VC_BUF_INIT;
    vc_config *cfg = NULL;
    int rc = CLI_OK;
    if (find_namespace(host, &c, name, nsbuf, sizeof nsbuf) != CLI_OK || check_driver(host, &c, name) != CLI_OK) {
        rc = CLI_FAILED;
    } else if (vc_cluster_status(&info, host, name, c.ns) < 0) {
        cli_report("describe");
        rc = CLI_FAILED;
    } else if (vc_cluster_get_config(&yaml, host, name, c.ns) < 0) {
        cli_report("describe: the virtual cluster's configuration");
        rc = CLI_FAILED;
    } else if (config_only) {
        fputs(yaml.ptr ? yaml.ptr : "", stdout);
    } else {
        int32_t store = VC_STORE_EMBEDDED_DATABASE;
        const char *distro = "k8s";
        if (vc_config_new(&cfg) == VC_OK && vc_config_load_string(cfg, yaml.ptr ? yaml.ptr : "", "vcluster.yaml") == VC_OK) {
            vc_config_backing_store(&store, cfg);
            distro = vc_config_distro(cfg);
        } else {
            cli_warn("vcluster describe: the stored vcluster.yaml does not load: %s", vc_error_last()->message);
        }
        image_tag img[MAX_IMAGES];
        int n_img = strcmp(info->driver, "kubernetes") == 0 ? control_plane_images(host, name, info->host_namespace, img) : 0;
        qsort(img, (size_t)n_img, sizeof img[0], cmp_image);
        char created[64] = "";
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        if (strptime(info->created, "%Y-%m-%dT%H:%M:%S", &tm)) {
            time_t t = timegm(&tm);
            gmtime_r(&t, &tm);
            strftime(created, sizeof created, "%a, %d %b %Y %H:%M:%S +0000", &tm);
        }
        if (!strcmp(output, "json")) {
            printf("{\"name\":");
            json_str(stdout, info->name);
            printf(",\"namespace\":");
            json_str(stdout, info->host_namespace);
            printf(",\"version\":");
            json_str(stdout, info->version);
            printf(",\"backingStore\":\"%s\",\"status\":\"%s\",\"created\":", store_name(store), state_name(info->state));
            json_str(stdout, info->created);
            printf(",\"imageTags\":{");
            for (int i = 0; i < n_img; i++) {
                printf("%s", i ? "," : "");
                json_str(stdout, img[i].name);
                printf(":");
                json_str(stdout, img[i].image);
            }
            printf("},\"userConfigYaml\":");
            json_str(stdout, yaml.ptr ? yaml.ptr : "");
            printf(",\"driver\":");
            json_str(stdout, info->driver);
            printf(",\"distro\":");
            json_str(stdout, distro);
            printf(",\"server\":");
            json_str(stdout, info->server);
            printf("}\n");
        } else if (!strcmp(output, "yaml")) {
            printf("backingStore: %s\ncreated: \"%s\"\ndistro: %s\ndriver: %s\n", store_name(store), info->created,
                   distro, info->driver);
            if (n_img) {
                printf("imageTags:\n");
                for (int i = 0; i < n_img; i++)
                    printf("  %s: \"%s\"\n", img[i].name, img[i].image);
            }
            printf("name: %s\nnamespace: %s\nserver: \"%s\"\nstatus: %s\n", info->name, info->host_namespace,
                   info->server, state_name(info->state));
            printf("userConfigYaml: ");
            yaml_block(yaml.ptr ? yaml.ptr : "", 2);
            printf("version: \"%s\"\n", info->version);
        } else {
            printf("Name:           %s\nNamespace:      %s\nVersion:        %s\nBacking Store:  %s\n"
                   "Created:        %s\nStatus:         %s\n",
                   info->name, info->host_namespace, *info->version ? info->version : "-", store_name(store),
                   created[0] ? created : info->created, state_name(info->state));
            if (*info->message)
                printf("Message:        %s\n", info->message);
            printf("Driver:         %s\nDistro:         %s\nServer:         %s\nConnected:      %s\n", info->driver,
                   distro, *info->server ? info->server : "-", info->connected ? "true" : "false");
            if (n_img) {
                printf("Images:\n");
                for (int i = 0; i < n_img; i++) {
                    char label[80];
                    snprintf(label, sizeof label, "%s:", img[i].name);
                    printf("  %-24s %s\n", label, img[i].image);
                }
            }
            /* the vcluster.yaml, cut at 50 lines as upstream */
            printf("\n------------------- vcluster.yaml -------------------\n");
            const char *p = yaml.ptr ? yaml.ptr : "";
            int lines = 0;
            while (*p && lines < 50) {
                const char *e = strchr(p, '\n');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                printf("%.*s\n", (int)len, p);
                p += len + (e ? 1 : 0);
                lines++;
            }
            if (*p)
                printf("... (truncated)\n");
            printf("-----------------------------------------------------\n");
            printf("Use --config-only to retrieve %s\n", *p ? "the full vcluster.yaml only" : "just the vcluster.yaml");
        }
    }
    vc_config_free(cfg);
    vc_buf_dispose(&yaml);
    vc_cluster_info_free(info);
    vc_kube_free(host);
    return rc;
}

/* ---- pause / resume / delete ---- */

typedef int (*op_fn)(vc_kube *, const char *, const char *, const vc_cluster_op_options *);

typedef struct delete_opts {
    bool keep_pvc, delete_ns, auto_delete_ns, wait, delete_context, ignore_not_found;
} delete_opts;

/* After delete: --delete-namespace removes the host namespace whoever made
 * it; --auto-delete-namespace with --wait=false removes the one vcluster
 * made without waiting for it to go (with --wait the library did it). */
static int delete_namespace(vc_kube *host, const common *c, const char *ns, const delete_opts *d)
{
    char path[400];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", ns);
    vc_buf b = VC_BUF_INIT;
    if (vc_kube_request(host, &b, NULL, "GET", path, NULL, NULL) < 0) {
        vc_buf_dispose(&b);
        if (vc_error_last()->code == VC_ENOTFOUND) {
            vc_error_clear();
            return CLI_OK;
        }
        cli_report("delete namespace");
        return CLI_FAILED;
    }
    bool ours = b.ptr && strstr(b.ptr, "\"vcluster.loft.sh/created\":\"true\"");
    bool terminating = b.ptr && strstr(b.ptr, "\"deletionTimestamp\"");
    vc_buf_dispose(&b);
    if (!d->delete_ns && !ours)
        return CLI_OK;
    if (!terminating) {
        if (vc_kube_request(host, NULL, NULL, "DELETE", path, NULL, NULL) < 0 && vc_error_last()->code != VC_ENOTFOUND) {
            cli_report("delete namespace");
            return CLI_FAILED;
        }
        vc_error_clear();
        cli_info("Successfully deleted virtual cluster namespace %s", ns);
    }
    if (!d->wait)
        return CLI_OK;
    cli_info("Waiting for virtual cluster to be deleted...");
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int limit = c->timeout_s > 0 ? c->timeout_s : 120;
    for (;;) {
        if (vc_kube_request(host, NULL, NULL, "GET", path, NULL, NULL) < 0) {
            if (vc_error_last()->code == VC_ENOTFOUND) {
                vc_error_clear();
                return CLI_OK;
            }
            cli_report("delete namespace");
            return CLI_FAILED;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec >= limit) {
            cli_error("vcluster delete: host namespace %s is still terminating after %d s", ns, limit);
            return CLI_FAILED;
        }
        usleep(500 * 1000);
    }
}

static int run_op(int argc, char **argv, const char *verb, op_fn fn, void (*help)(FILE *))
{
    common c = { 0 };
    delete_opts d = { false, false, true, true, true, false };
    bool is_delete = fn == vc_cluster_delete;
    static const struct option lo[] = {
        COMMON_LONG_OPTS,
        { "keep-pvc", optional_argument, 0, O_KEEP_PVC },
        { "delete-namespace", optional_argument, 0, O_DELETE_NS },
        { "auto-delete-namespace", optional_argument, 0, O_AUTO_DELETE_NS },
        { "wait", optional_argument, 0, O_WAIT },
        { "delete-context", optional_argument, 0, O_DELETE_CONTEXT },
        { "ignore-not-found", optional_argument, 0, O_IGNORE_NOT_FOUND },
        { 0, 0, 0, 0 },
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:", lo, NULL)) != -1) {
        int common_rc = common_opt(&c, opt);
        if (common_rc < 0)
            return CLI_USAGE;
        if (common_rc)
            continue;
        int brc = 0;
        if (!is_delete)
            opt = '?';
        switch (opt) {
        case O_KEEP_PVC: brc = cli_parse_bool("keep-pvc", optarg, &d.keep_pvc); break;
        case O_DELETE_NS: brc = cli_parse_bool("delete-namespace", optarg, &d.delete_ns); break;
        case O_AUTO_DELETE_NS: brc = cli_parse_bool("auto-delete-namespace", optarg, &d.auto_delete_ns); break;
        case O_WAIT: brc = cli_parse_bool("wait", optarg, &d.wait); break;
        case O_DELETE_CONTEXT: brc = cli_parse_bool("delete-context", optarg, &d.delete_context); break;
        case O_IGNORE_NOT_FOUND: brc = cli_parse_bool("ignore-not-found", optarg, &d.ignore_not_found); break;
        default: help(stderr); return CLI_USAGE;
        }
        if (brc < 0)
            return CLI_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "vcluster %s: expected exactly one NAME (see vcluster %s --help)\n", verb, verb);
        return CLI_USAGE;
    }
    uint32_t flags = 0;
    if (is_delete && d.keep_pvc)
        flags |= VC_DELETE_KEEP_PVC;
    if (is_delete && d.auto_delete_ns && d.wait)
        flags |= VC_DELETE_NAMESPACE;
    const char *name = argv[optind];
    vc_kube *host = host_connect(&c);
    if (!host)
        return CLI_FAILED;
    char nsbuf[256];
    if (find_namespace(host, &c, name, nsbuf, sizeof nsbuf) != CLI_OK || check_driver(host, &c, name) != CLI_OK) {
        vc_kube_free(host);
        return CLI_FAILED;
    }
    vc_cluster_op_options o;
    vc_cluster_op_options_init(&o, VC_CLUSTER_OP_OPTIONS_VERSION);
    o.flags = flags;
    o.timeout_ms = c.timeout_s > 0 ? c.timeout_s * 1000 : 0;
    o.bin_dir = c.bin_dir;
    o.syncer_path = c.syncer;
    o.state_dir = c.state_dir;
    progress p;
    progress_init(&p);
    o.progress = on_progress;
    o.progress_user_data = &p;
    int rc = CLI_OK;
    char defns[300];
    snprintf(defns, sizeof defns, "vcluster-%s", name);
    int orc = fn(host, name, c.ns, &o);
    progress_end(&p);
    if (orc == VC_ESTATE && !is_delete) {
        /* pausing a paused cluster, resuming a running one: nothing to do,
         * and not a failure (upstream exits 0 too) */
        cli_info("%s", vc_error_last()->message);
    } else if (orc == VC_ENOTFOUND && d.ignore_not_found) {
        cli_info("Virtual cluster %s not found; nothing to delete.", name);
    } else if (orc < 0) {
        report_lifecycle(verb, name);
        rc = CLI_FAILED;
    } else if (is_delete) {
        if (d.delete_ns || (d.auto_delete_ns && !d.wait))
            rc = delete_namespace(host, &c, c.ns ? c.ns : defns, &d);
        /* gone: its port-forwarder has nothing to reach.  A paused cluster
         * keeps it: the forwarder looks the control plane pod up for each
         * connection, so the context works again as soon as resume is done */
        char *ctx = context_for(host, name, c.ns);
        if (ctx && cli_pf_stop(ctx) > 0)
            cli_info("Stopped the port-forwarder of context %s.", ctx);
        if (ctx && d.delete_context && vc_kubeconfig_remove_context(NULL, ctx) == VC_OK)
            cli_info("Removed context %s from the kubeconfig.", ctx);
        vc_error_clear();
        free(ctx);
        if (rc == CLI_OK)
            cli_info("Successfully deleted virtual cluster %s in namespace %s", name, c.ns ? c.ns : defns);
    } else {
        cli_info("Successfully %s virtual cluster %s in namespace %s", fn == vc_cluster_pause ? "paused" : "resumed",
                 name, c.ns ? c.ns : defns);
    }
    vc_kube_free(host);
    return rc;
}

void cmd_pause_help(FILE *to)
{
    fprintf(to, "Usage: vcluster pause NAME [flags]   (alias: sleep)\n\nStop the virtual cluster's control plane and "
                "delete the workloads it created on the host. Nothing stored inside is lost.\n"
                "Pausing a paused cluster exits 0.\n\nFlags:\n%s\n%s",
            COMMON_HELP, cli_global_help);
}

void cmd_resume_help(FILE *to)
{
    fprintf(to, "Usage: vcluster resume NAME [flags]   (alias: wakeup)\n\nStart a paused virtual cluster again; its "
                "workloads come back. Resuming a running cluster exits 0.\n\nFlags:\n%s\n%s",
            COMMON_HELP, cli_global_help);
}

void cmd_delete_help(FILE *to)
{
    fprintf(to,
            "Usage: vcluster delete NAME [flags]   (alias: rm)\n\nDelete a virtual cluster and everything it created on "
            "the host.\n\n"
            "Flags:\n"
            "      --keep-pvc                   keep the PersistentVolumeClaims\n"
            "      --auto-delete-namespace=false  keep the host namespace even if vcluster created it\n"
            "                                   (default: it is deleted when vcluster created it)\n"
            "      --delete-namespace           delete the host namespace even if vcluster did not create it\n"
            "      --wait=false                 do not wait for the host namespace to be gone\n"
            "      --delete-context=false       keep the virtual cluster's kube context\n"
            "      --ignore-not-found           exit 0 when there is no such virtual cluster\n%s\n%s",
            COMMON_HELP, cli_global_help);
}

int cmd_pause(int argc, char **argv)
{
    return run_op(argc, argv, "pause", vc_cluster_pause, cmd_pause_help);
}

int cmd_resume(int argc, char **argv)
{
    return run_op(argc, argv, "resume", vc_cluster_resume, cmd_resume_help);
}

int cmd_delete(int argc, char **argv)
{
    return run_op(argc, argv, "delete", vc_cluster_delete, cmd_delete_help);
}

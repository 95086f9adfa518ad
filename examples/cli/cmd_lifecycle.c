/* create, connect, disconnect, list, pause, resume, delete, completion:
 * the lifecycle commands, upstream-compatible in names and flags. */
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
    int timeout_s;
} common;

enum {
    O_KUBECONFIG = 1000, O_CONTEXT, O_UPGRADE, O_CONNECT, O_EXPOSE, O_DISTRO, O_STORE, O_DRIVER, O_PRINT, O_BINDIR,
    O_SYNCER, O_STATE, O_TIMEOUT, O_KEEP_PVC, O_DELETE_NS, O_SERVER, O_OUTPUT, O_UPDATE_CURRENT, O_POD, O_ADDRESS,
    O_LOCAL_PORT, O_BACKGROUND, O_IGNORE_NOT_FOUND
};

#define COMMON_LONG_OPTS                                                                                              \
    { "kubeconfig", required_argument, 0, O_KUBECONFIG }, { "context", required_argument, 0, O_CONTEXT },           \
        { "namespace", required_argument, 0, 'n' }, { "timeout", required_argument, 0, O_TIMEOUT },                   \
        { "bin-dir", required_argument, 0, O_BINDIR }, { "syncer", required_argument, 0, O_SYNCER },                  \
        { "state-dir", required_argument, 0, O_STATE }

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
    default: return 0;
    }
}

static const char *COMMON_HELP =
    "  -n, --namespace NS       host namespace (default vcluster-NAME)\n"
    "      --kubeconfig PATH    host kubeconfig (default: KUBECONFIG, ~/.kube/config)\n"
    "      --context CTX        context of the host kubeconfig\n"
    "      --timeout SECONDS    give up after this long (default 120)\n"
    "      --bin-dir DIR        local driver: kube-apiserver & co. (default VC_K8S_BINDIR, PATH)\n"
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
        fprintf(stderr, "  hint: point --kubeconfig/--context (or KUBECONFIG) at the host cluster\n");
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
    if (p->tty) {
        /* VC_PROGRESS_WAITING redraws the line: the elapsed time runs */
        bool ok = done == VC_PROGRESS_DONE;
        fprintf(stderr, "\r\033[K%s %s  (%.1fs)%s", ok ? "\033[32m✓\033[0m" : "\033[33m•\033[0m", message, elapsed(p),
                ok ? "\n" : "");
    } else {
        if (strcmp(p->last, message) != 0)
            fprintf(stderr, "%s\n", message);
    }
    snprintf(p->last, sizeof p->last, "%s", message);
    fflush(stderr);
    return 0;
}

static void progress_init(progress *p)
{
    memset(p, 0, sizeof(*p));
    p->tty = isatty(2);
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
        fprintf(stderr, "vcluster %s: interrupted.\n", verb);
        if (!strcmp(verb, "create"))
            fprintf(stderr, "  what was made so far stays: finish it with vcluster create %s --upgrade, or remove it "
                            "with vcluster delete %s\n", name, name);
        else
            fprintf(stderr, "  run vcluster %s %s again to finish\n", verb, name);
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

/* How connect reaches the virtual API server. */
typedef struct connect_opts {
    const char *server;      /* --server: written as it is, no forwarder */
    const char *pod;         /* --pod */
    const char *address;     /* --address (default 127.0.0.1) */
    int local_port;          /* --local-port (0: a free one) */
    bool background;         /* --background-proxy (default true) */
    bool print, update;
} connect_opts;

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

static int do_connect(vc_kube *host, const common *c, const char *name, const connect_opts *co, bool switch_ctx)
{
    const char *ns = c->ns;
    char *ctx = context_for(host, name, ns);
    char server[600] = "", hostns[256] = "";
    int fwd_pid = 0;
    int rc = CLI_OK;
    if (!ctx)
        return CLI_FAILED;
    if (!co->server) {
        int need = needs_forward(host, name, ns, hostns, sizeof hostns);
        if (need < 0) {
            free(ctx);
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
                fprintf(stderr, "Reusing the port-forwarder (pid %d) on %s:%d.\n", r.pid, r.address, port);
            } else {
                if (cli_pf_stop(ctx) > 0)
                    fprintf(stderr, "Stopped the previous port-forwarder.\n");
                if (co->background ? cli_pf_start_background(&spec, ctx, &port) < 0
                                   : cli_pf_start_child(&spec, &fwd_pid, &port) < 0) {
                    free(ctx);
                    return CLI_FAILED;
                }
            }
            local_server(server, sizeof server, co->address, port);
        }
    }
    vc_buf kc = VC_BUF_INIT;
    if (vc_cluster_connect(&kc, host, name, ns, co->server ? co->server : server[0] ? server : NULL) < 0) {
        cli_report("connect");
        rc = CLI_FAILED;
    } else if (co->print) {
        fputs(kc.ptr, stdout);
        fflush(stdout);
    } else if (vc_kubeconfig_merge(NULL, kc.ptr, switch_ctx ? ctx : NULL) < 0) {
        cli_report("writing the kubeconfig");
        rc = CLI_FAILED;
    } else {
        fprintf(stderr, "%s context \"%s\"%s%s: kubectl now talks to virtual cluster %s.\n"
                        "Run `vcluster disconnect` to switch back.\n",
                switch_ctx ? "Switched to" : "Added", ctx, server[0] ? " via " : "", server, name);
    }
    vc_buf_dispose(&kc);
    if (fwd_pid > 0) {
        if (rc == CLI_OK) {
            fprintf(stderr, "Forwarding %s to the virtual cluster; press Ctrl+C to stop.\n", server);
            wait_forwarder(fwd_pid);
        } else {
            cli_pf_stop_child(fwd_pid);
        }
    }
    free(ctx);
    return rc;
}

/* ---- create ---- */

void cmd_create_help(FILE *to)
{
    fprintf(to,
            "Usage: vcluster create NAME [flags]\n\n"
            "Create a virtual cluster in host namespace vcluster-NAME and connect to it.\n\n"
            "Flags:\n"
            "  -f, --values FILE        vcluster.yaml values (repeatable; later files win)\n"
            "      --upgrade            apply new values to an existing virtual cluster\n"
            "      --connect=false      do not switch the kube context to it\n"
            "      --expose             expose the API server with a LoadBalancer Service\n"
            "      --distro k8s|k3s|k0s control-plane distro (kubernetes driver; local runs k8s)\n"
            "      --backing-store sqlite|etcd\n"
            "      --driver kubernetes|local\n"
            "                           kubernetes: a StatefulSet in the host (default)\n"
            "                           local: processes on this machine, workloads in the host\n"
            "      --print              print the host manifests instead of applying them\n"
            "%s",
            COMMON_HELP);
}

int cmd_create(int argc, char **argv)
{
    common c = { 0 };
    const char *values[16];
    int n_values = 0;
    const char *distro = NULL, *store = NULL, *driver = NULL;
    uint32_t flags = 0;
    bool connect = true;
    static const struct option lo[] = {
        COMMON_LONG_OPTS,
        { "values", required_argument, 0, 'f' },
        { "upgrade", no_argument, 0, O_UPGRADE },
        { "connect", optional_argument, 0, O_CONNECT },
        { "expose", no_argument, 0, O_EXPOSE },
        { "distro", required_argument, 0, O_DISTRO },
        { "backing-store", required_argument, 0, O_STORE },
        { "driver", required_argument, 0, O_DRIVER },
        { "print", no_argument, 0, O_PRINT },
        { 0, 0, 0, 0 },
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:f:", lo, NULL)) != -1) {
        int common_rc = common_opt(&c, opt);
        if (common_rc < 0)
            return CLI_USAGE;
        if (common_rc)
            continue;
        switch (opt) {
        case 'f':
            if (n_values == 16) {
                fprintf(stderr, "vcluster create: at most 16 values files\n");
                return CLI_USAGE;
            }
            values[n_values++] = optarg;
            break;
        case O_UPGRADE: flags |= VC_CREATE_UPGRADE; break;
        case O_CONNECT: connect = !optarg || strcmp(optarg, "false") != 0; break;
        case O_EXPOSE: flags |= VC_CREATE_EXPOSE; break;
        case O_DISTRO: distro = optarg; break;
        case O_STORE: store = optarg; break;
        case O_DRIVER: driver = optarg; break;
        case O_PRINT: flags |= VC_CREATE_PRINT; break;
        default: cmd_create_help(stderr); return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "vcluster create: expected exactly one NAME (see vcluster create --help)\n");
        return CLI_USAGE;
    }
    const char *name = argv[optind];
    /* values first: a broken file fails before anything is created */
    vc_config *cfg = NULL;
    if (vc_config_new(&cfg) < 0) {
        cli_report("config");
        return CLI_FAILED;
    }
    for (int i = 0; i < n_values; i++) {
        if (vc_config_load_file(cfg, values[i]) < 0) {
            cli_report(NULL);
            vc_config_free(cfg);
            return CLI_FAILED;
        }
    }
    vc_kube *host = host_connect(&c);
    if (!host) {
        vc_config_free(cfg);
        return CLI_FAILED;
    }
    vc_create_options o;
    vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION);
    o.flags = flags;
    o.name = name;
    o.host_namespace = c.ns;
    o.driver = driver;
    o.distro = distro;
    o.backing_store = store;
    o.config = cfg;
    o.bin_dir = c.bin_dir;
    o.syncer_path = c.syncer;
    o.state_dir = c.state_dir;
    o.timeout_ms = c.timeout_s > 0 ? c.timeout_s * 1000 : 0;
    progress p;
    progress_init(&p);
    o.progress = on_progress;
    o.progress_user_data = &p;
    vc_buf manifests = VC_BUF_INIT;
    int rc = CLI_OK;
    int crc = vc_cluster_create(host, &o, &manifests);
    progress_end(&p);
    if (crc < 0) {
        report_lifecycle("create", name);
        const vc_error *e = vc_error_last();
        if (e->code == VC_EEXISTS)
            fprintf(stderr, "  hint: vcluster connect %s, or vcluster create %s --upgrade -f values.yaml\n", name, name);
        rc = CLI_FAILED;
    } else if (flags & VC_CREATE_PRINT) {
        fputs(manifests.ptr ? manifests.ptr : "", stdout);
    } else if (connect) {
        connect_opts co = { NULL, NULL, "127.0.0.1", 0, true, false, true };
        rc = do_connect(host, &c, name, &co, true);
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
            "      --print              print the kubeconfig instead of writing it\n"
            "      --server URL         the API server address to write (no port-forward)\n"
            "      --update-current=false  add the context without switching to it\n"
            "      --local-port PORT    local port of the port-forward (default: a free port)\n"
            "      --address ADDR       local address of the port-forward (default 127.0.0.1)\n"
            "      --pod POD            the control plane pod to forward to (default: a Ready one)\n"
            "      --background-proxy=false  forward in the foreground until Ctrl+C\n"
            "%s",
            COMMON_HELP);
}

static int run_with_kubeconfig(vc_kube *host, const common *c, const char *name, const connect_opts *co, char **cmd)
{
    char server[600] = "", hostns[256] = "";
    int fwd_pid = 0;
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
    char path[] = "/tmp/vcluster-kubeconfig-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, kc.ptr, kc.size) != (ssize_t)kc.size) {
        perror("vcluster connect: temporary kubeconfig");
        vc_buf_dispose(&kc);
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        if (fwd_pid > 0)
            cli_pf_stop_child(fwd_pid);
        return CLI_FAILED;
    }
    close(fd);
    vc_buf_dispose(&kc);
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
        fprintf(stderr, "vcluster: virtual cluster %s exists in namespaces %s: pass -n NAMESPACE\n", name, all);
        return CLI_FAILED;
    }
    if (hits == 1)
        c->ns = buf;
    return CLI_OK;
}

int cmd_connect(int argc, char **argv)
{
    common c = { 0 };
    connect_opts co = { NULL, NULL, "127.0.0.1", 0, true, false, true };
    static const struct option lo[] = {
        COMMON_LONG_OPTS,
        { "print", no_argument, 0, O_PRINT },
        { "server", required_argument, 0, O_SERVER },
        { "update-current", optional_argument, 0, O_UPDATE_CURRENT },
        { "pod", required_argument, 0, O_POD },
        { "address", required_argument, 0, O_ADDRESS },
        { "local-port", required_argument, 0, O_LOCAL_PORT },
        { "background-proxy", optional_argument, 0, O_BACKGROUND },
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
        switch (opt) {
        case O_PRINT: co.print = true; break;
        case O_SERVER: co.server = optarg; break;
        case O_UPDATE_CURRENT: co.update = !optarg || strcmp(optarg, "false") != 0; break;
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
        case O_BACKGROUND: co.background = !optarg || strcmp(optarg, "false") != 0; break;
        default: cmd_connect_help(stderr); return CLI_USAGE;
        }
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
    if (find_namespace(host, &c, name, nsbuf, sizeof nsbuf) != CLI_OK) {
        vc_kube_free(host);
        return CLI_FAILED;
    }
    int rc = cmd ? run_with_kubeconfig(host, &c, name, &co, cmd) : do_connect(host, &c, name, &co, co.update);
    vc_kube_free(host);
    return rc;
}

void cmd_disconnect_help(FILE *to)
{
    fprintf(to, "Usage: vcluster disconnect\n\nSwitch the kube context back to the one in use before `vcluster connect`.\n");
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
        fprintf(stderr, "Switched back to context \"%s\".\n", ctx.ptr);
    }
    if (leaving && !strncmp(leaving, "vcluster_", 9) && cli_pf_stop(leaving) > 0)
        fprintf(stderr, "Stopped the port-forwarder of context \"%s\".\n", leaving);
    free(leaving);
    vc_buf_dispose(&ctx);
    return rc;
}

/* ---- list ---- */

void cmd_list_help(FILE *to)
{
    fprintf(to,
            "Usage: vcluster list [flags]\n\nList the virtual clusters of the host cluster.\n\nFlags:\n"
            "  -o, --output table|json  output format (default table)\n%s",
            COMMON_HELP);
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
    size_t n = vc_cluster_list_count(l);
    if (!strcmp(output, "json")) {
        printf("[");
        for (size_t i = 0; i < n; i++) {
            const vc_cluster_info *x = vc_cluster_list_at(l, i);
            printf("%s\n  {\"Name\": ", i ? "," : "");
            json_str(stdout, x->name);
            printf(", \"Namespace\": ");
            json_str(stdout, x->host_namespace);
            printf(", \"Status\": \"%s\", \"Version\": ", state_name(x->state));
            json_str(stdout, x->version);
            printf(", \"Connected\": %s, \"Created\": ", x->connected ? "true" : "false");
            json_str(stdout, x->created);
            printf(", \"Driver\": ");
            json_str(stdout, x->driver);
            printf(", \"Server\": ");
            json_str(stdout, x->server);
            printf(", \"Message\": ");
            json_str(stdout, x->message);
            printf("}");
        }
        printf("%s]\n", n ? "\n" : "");
    } else if (n == 0) {
        fprintf(stderr, "No virtual clusters found. Create one with `vcluster create NAME`.\n");
    } else {
        printf("%-20s %-28s %-9s %-10s %-9s %-10s %s\n", "NAME", "NAMESPACE", "STATUS", "VERSION", "CONNECTED", "DRIVER",
               "AGE");
        for (size_t i = 0; i < n; i++) {
            const vc_cluster_info *x = vc_cluster_list_at(l, i);
            char a[32];
            age(x->created, a, sizeof a);
            printf("%-20s %-28s %-9s %-10s %-9s %-10s %s\n", x->name, x->host_namespace, state_name(x->state),
                   *x->version ? x->version : "-", x->connected ? "True" : "", x->driver, a);
            if (*x->message)
                printf("  %s\n", x->message);
        }
    }
    vc_cluster_list_free(l);
    vc_kube_free(host);
    return CLI_OK;
}

/* ---- pause / resume / delete ---- */

typedef int (*op_fn)(vc_kube *, const char *, const char *, const vc_cluster_op_options *);

static int run_op(int argc, char **argv, const char *verb, op_fn fn, void (*help)(FILE *))
{
    common c = { 0 };
    uint32_t flags = 0;
    bool delete_ns = true, ignore_not_found = false;
    static const struct option lo[] = {
        COMMON_LONG_OPTS,
        { "keep-pvc", no_argument, 0, O_KEEP_PVC },
        { "delete-namespace", optional_argument, 0, O_DELETE_NS },
        { "ignore-not-found", no_argument, 0, O_IGNORE_NOT_FOUND },
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
        if (opt == O_KEEP_PVC && fn == vc_cluster_delete)
            flags |= VC_DELETE_KEEP_PVC;
        else if (opt == O_DELETE_NS && fn == vc_cluster_delete)
            delete_ns = !optarg || strcmp(optarg, "false") != 0;
        else if (opt == O_IGNORE_NOT_FOUND && fn == vc_cluster_delete)
            ignore_not_found = true;
        else {
            help(stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "vcluster %s: expected exactly one NAME (see vcluster %s --help)\n", verb, verb);
        return CLI_USAGE;
    }
    if (fn == vc_cluster_delete && delete_ns)
        flags |= VC_DELETE_NAMESPACE;
    const char *name = argv[optind];
    vc_kube *host = host_connect(&c);
    if (!host)
        return CLI_FAILED;
    char nsbuf[256];
    if (find_namespace(host, &c, name, nsbuf, sizeof nsbuf) != CLI_OK) {
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
    int orc = fn(host, name, c.ns, &o);
    progress_end(&p);
    if (orc == VC_ESTATE && fn != vc_cluster_delete) {
        /* pausing a paused cluster, resuming a running one: nothing to do,
         * and not a failure (upstream exits 0 too) */
        fprintf(stderr, "%s\n", vc_error_last()->message);
    } else if (orc == VC_ENOTFOUND && ignore_not_found) {
        fprintf(stderr, "Virtual cluster %s not found; nothing to delete.\n", name);
    } else if (orc < 0) {
        report_lifecycle(verb, name);
        rc = CLI_FAILED;
    } else if (fn == vc_cluster_delete) {
        /* gone: its port-forwarder has nothing to reach.  A paused cluster
         * keeps it: the forwarder looks the control plane pod up for each
         * connection, so the context works again as soon as resume is done */
        char *ctx = context_for(host, name, c.ns);
        if (ctx && cli_pf_stop(ctx) > 0)
            fprintf(stderr, "Stopped the port-forwarder of context %s.\n", ctx);
        if (ctx && vc_kubeconfig_remove_context(NULL, ctx) == VC_OK)
            fprintf(stderr, "Removed context %s from the kubeconfig.\n", ctx);
        free(ctx);
    }
    vc_kube_free(host);
    return rc;
}

void cmd_pause_help(FILE *to)
{
    fprintf(to, "Usage: vcluster pause NAME [flags]\n\nStop the virtual cluster's control plane and delete the workloads "
                "it created on the host. Nothing stored inside is lost.\n\nFlags:\n%s",
            COMMON_HELP);
}

void cmd_resume_help(FILE *to)
{
    fprintf(to, "Usage: vcluster resume NAME [flags]\n\nStart a paused virtual cluster again; its workloads come back.\n\n"
                "Flags:\n%s",
            COMMON_HELP);
}

void cmd_delete_help(FILE *to)
{
    fprintf(to,
            "Usage: vcluster delete NAME [flags]\n\nDelete a virtual cluster and everything it created on the host.\n\n"
            "Flags:\n"
            "      --keep-pvc               keep the PersistentVolumeClaims\n"
            "      --delete-namespace=false keep the host namespace (it is deleted only if vcluster created it)\n"
            "      --ignore-not-found       exit 0 when there is no such virtual cluster\n%s",
            COMMON_HELP);
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

/* ---- completion ---- */

void cmd_completion_help(FILE *to)
{
    fprintf(to, "Usage: vcluster completion bash\n\nPrint a bash completion script:\n"
                "  source <(vcluster completion bash)\n");
}

int cmd_completion(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "bash") != 0) {
        cmd_completion_help(stderr);
        return CLI_USAGE;
    }
    fputs("# bash completion for vcluster\n"
          "_vcluster() {\n"
          "  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]}\n"
          "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
          "    COMPREPLY=($(compgen -W 'create connect disconnect list ls pause sleep resume delete rm translate version completion help' -- \"$cur\"))\n"
          "    return\n"
          "  fi\n"
          "  case \"$cur\" in\n"
          "    -*) COMPREPLY=($(compgen -W \"$(vcluster \"$cmd\" --help 2>/dev/null | grep -o -- '--[a-z-]*' | sort -u)\" -- \"$cur\")) ;;\n"
          "    *) case \"$cmd\" in\n"
          "         connect|pause|sleep|resume|delete|rm) COMPREPLY=($(compgen -W \"$(vcluster list -o json 2>/dev/null | grep -o '\"Name\": \"[^\"]*' | cut -d'\"' -f4)\" -- \"$cur\")) ;;\n"
          "         *) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
          "       esac ;;\n"
          "  esac\n"
          "}\n"
          "complete -F _vcluster vcluster\n",
          stdout);
    return CLI_OK;
}

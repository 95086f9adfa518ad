/* The port-forwarder behind `vcluster connect` for the kubernetes driver: a
 * local listener whose every accepted connection becomes one
 * vc_port_forward to the virtual API server's pod. It runs as the hidden
 * command `vcluster port-forward` (the CLI re-executing itself), detached in
 * the background, or as a child for `connect NAME -- COMMAND`, or in the
 * connect process itself with --background-proxy=false. Its pid and port
 * are recorded under $XDG_STATE_HOME/libvcluster/port-forwards so that
 * connect can reuse it and disconnect and delete stop it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vcluster.h>

#include "cmd.h"

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Listen on address:port (port 0: any free one); *out_port gets the port. */
static int listen_on(const char *address, int port, int *out_port)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int e = getaddrinfo(address, ps, &hints, &ai);
    if (e != 0) {
        fprintf(stderr, "vcluster port-forward: address %s: %s\n", address, gai_strerror(e));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
        fprintf(stderr, "vcluster port-forward: listening on %s:%d: %s\n", address, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        fprintf(stderr, "vcluster port-forward: getsockname: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    *out_port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static vc_kube *kube_for(const cli_pf_spec *s)
{
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig = s->kubeconfig;
    o.context = s->context;
    o.flags = VC_KUBE_IN_CLUSTER_FALLBACK;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &o) < 0)
        return NULL;
    return k;
}

/* One accepted connection, in its own process: a connection of its own to
 * the API server (nothing shared with the parent's), the pod looked up again
 * unless fixed, then bytes both ways until either side closes. */
static void serve_one(const cli_pf_spec *s, int fd)
{
    vc_kube *k = kube_for(s);
    vc_buf pod = VC_BUF_INIT;
    int32_t port = s->remote_port;
    vc_port_forward *pf = NULL;
    int rc = k ? VC_OK : VC_ECONFIG;
    /* with --pod: that pod, checked; else a Ready one, looked up per connection */
    if (rc == VC_OK)
        rc = vc_cluster_find_pod(&pod, &port, k, s->name, s->ns, s->pod && *s->pod ? s->pod : NULL);
    if (rc == VC_OK)
        rc = vc_port_forward_open(&pf, k, s->ns, pod.ptr, (uint16_t)(s->remote_port ? s->remote_port : port), 30000);
    if (rc == VC_OK)
        rc = vc_port_forward_splice(pf, fd, 0);
    if (rc < 0)
        cli_report("port-forward");
    vc_port_forward_free(pf);
    vc_buf_dispose(&pod);
    vc_kube_free(k);
    close(fd);
}

int cli_pf_serve(const cli_pf_spec *s, int ready_fd)
{
    int port = 0;
    int lfd = listen_on(s->address, s->local_port, &port);
    if (lfd < 0)
        return CLI_FAILED;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: accept() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_flags = SA_NOCLDWAIT; /* children reap themselves */
    sigaction(SIGCHLD, &sa, NULL);
    if (ready_fd >= 0) {
        dprintf(ready_fd, "%d\n", port);
        close(ready_fd);
    }
    fprintf(stderr, "Forwarding %s:%d -> %s/%s port %d\n", s->address, port, s->ns,
            s->pod && *s->pod ? s->pod : "(Ready control plane pod)", s->remote_port ? s->remote_port : 8443);
    while (!g_stop) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED)
                fprintf(stderr, "vcluster port-forward: accept: %s\n", strerror(errno));
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            sa.sa_handler = SIG_DFL;
            sa.sa_flags = 0;
            sigaction(SIGTERM, &sa, NULL);
            sigaction(SIGINT, &sa, NULL);
            serve_one(s, fd);
            _exit(0);
        }
        if (pid < 0)
            fprintf(stderr, "vcluster port-forward: fork: %s\n", strerror(errno));
        close(fd);
    }
    close(lfd);
    /* the connections in flight end with us: they are our process group */
    if (s->own_group && getpgrp() == getpid()) {
        signal(SIGTERM, SIG_IGN);
        kill(0, SIGTERM);
    }
    return CLI_OK;
}

/* ---- the hidden command ---- */

enum { P_KUBECONFIG = 2000, P_CONTEXT, P_NAME, P_POD, P_ADDRESS, P_LOCAL, P_REMOTE, P_READY };

void cmd_port_forward_help(FILE *to)
{
    fprintf(to, "Usage: vcluster port-forward --name NAME -n NAMESPACE [flags]\n\n"
                "Forward a local port to a virtual cluster's API server pod (what `vcluster connect`\n"
                "runs in the background; not meant to be run by hand).\n\n"
                "Flags:\n"
                "      --kubeconfig PATH, --context CTX   the host cluster\n"
                "      --pod POD            the pod (default: a Ready control plane pod, looked up per connection)\n"
                "      --address ADDR       local address (default 127.0.0.1)\n"
                "      --local-port PORT    local port (default: a free one)\n"
                "      --remote-port PORT   the pod's port (default 8443)\n"
                "      --ready-fd FD        write the local port to FD once listening\n");
}

int cmd_port_forward(int argc, char **argv)
{
    cli_pf_spec s;
    memset(&s, 0, sizeof s);
    s.address = "127.0.0.1";
    int ready = -1;
    static const struct option lo[] = {
        { "kubeconfig", required_argument, 0, P_KUBECONFIG }, { "context", required_argument, 0, P_CONTEXT },
        { "namespace", required_argument, 0, 'n' },          { "name", required_argument, 0, P_NAME },
        { "pod", required_argument, 0, P_POD },              { "address", required_argument, 0, P_ADDRESS },
        { "local-port", required_argument, 0, P_LOCAL },     { "remote-port", required_argument, 0, P_REMOTE },
        { "ready-fd", required_argument, 0, P_READY },       { 0, 0, 0, 0 },
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:", lo, NULL)) != -1) {
        switch (opt) {
        case P_KUBECONFIG: s.kubeconfig = optarg; break;
        case P_CONTEXT: s.context = optarg; break;
        case 'n': s.ns = optarg; break;
        case P_NAME: s.name = optarg; break;
        case P_POD: s.pod = optarg; break;
        case P_ADDRESS: s.address = optarg; break;
        case P_LOCAL: s.local_port = atoi(optarg); break;
        case P_REMOTE: s.remote_port = atoi(optarg); break;
        case P_READY: ready = atoi(optarg); break;
        default: cmd_port_forward_help(stderr); return CLI_USAGE;
        }
    }
    s.own_group = true;
    if (!s.name || !s.ns || optind != argc) {
        cmd_port_forward_help(stderr);
        return CLI_USAGE;
    }
    return cli_pf_serve(&s, ready);
}

/* ---- starting, finding and stopping forwarders ---- */

/* $XDG_STATE_HOME/libvcluster/port-forwards/<context, sanitised> (+ suffix). */
static char *record_path(const char *context, const char *suffix)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[4096];
    if (xdg && *xdg)
        snprintf(dir, sizeof dir, "%s/libvcluster/port-forwards", xdg);
    else
        snprintf(dir, sizeof dir, "%s/.local/state/libvcluster/port-forwards", home && *home ? home : "/tmp");
    /* mkdir -p */
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
    }
    mkdir(dir, 0700);
    size_t n = strlen(dir) + strlen(context) + strlen(suffix) + 2;
    char *out = malloc(n);
    if (!out)
        return NULL;
    int off = snprintf(out, n, "%s/", dir);
    for (const char *c = context; *c; c++)
        out[off++] = (char)((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                                    *c == '-' || *c == '.' || *c == '_'
                                ? *c
                                : '_');
    snprintf(out + off, n - (size_t)off, "%s", suffix);
    return out;
}

/* The process `pid` is a forwarder of virtual cluster `name`. */
static bool is_forwarder(pid_t pid, const char *name)
{
    if (pid <= 0 || kill(pid, 0) < 0)
        return false;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    bool pf = false, nm = false;
    buf[n] = '\0';
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
        if (!strcmp(buf + i, "port-forward"))
            pf = true;
        if (!strcmp(buf + i, name))
            nm = true;
    }
    return pf && nm;
}

int cli_pf_lookup(const char *context, cli_pf_record *out)
{
    memset(out, 0, sizeof(*out));
    char *path = record_path(context, "");
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    if (!f)
        return -1;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "pid=", 4))
            out->pid = atoi(line + 4);
        else if (!strncmp(line, "port=", 5))
            out->port = atoi(line + 5);
        else if (!strncmp(line, "address=", 8))
            snprintf(out->address, sizeof out->address, "%s", line + 8);
        else if (!strncmp(line, "name=", 5))
            snprintf(out->name, sizeof out->name, "%s", line + 5);
    }
    fclose(f);
    return out->pid > 0 && is_forwarder(out->pid, out->name) ? 0 : -1;
}

/* SIGTERM to the forwarder's process group, SIGKILL after 3 s. */
static void stop_group(pid_t pid, bool reap)
{
    kill(-pid, SIGTERM);
    for (int i = 0; i < 60; i++) {
        if (reap)
            waitpid(pid, NULL, WNOHANG);
        if (kill(pid, 0) < 0)
            return;
        usleep(50000);
    }
    kill(-pid, SIGKILL);
    if (reap)
        waitpid(pid, NULL, 0);
}

int cli_pf_stop(const char *context)
{
    cli_pf_record r;
    int found = cli_pf_lookup(context, &r) == 0;
    if (found)
        stop_group(r.pid, false);
    char *path = record_path(context, "");
    if (path)
        unlink(path);
    free(path);
    return found;
}

/* Start `vcluster port-forward` (this program again); wait until it listens.
 * detached: own session, output to the log, survives us. */
static int start(const cli_pf_spec *s, bool detached, const char *log_path, pid_t *out_pid, int *out_port)
{
    int pfd[2];
    if (pipe(pfd) < 0)
        return -1;
    char ready[16], local[16], remote[16];
    snprintf(ready, sizeof ready, "%d", pfd[1]);
    snprintf(local, sizeof local, "%d", s->local_port);
    snprintf(remote, sizeof remote, "%d", s->remote_port ? s->remote_port : 8443);
    const char *argv[24];
    int a = 0;
    argv[a++] = "vcluster";
    argv[a++] = "port-forward";
    argv[a++] = "--name";
    argv[a++] = s->name;
    argv[a++] = "-n";
    argv[a++] = s->ns;
    argv[a++] = "--address";
    argv[a++] = s->address;
    argv[a++] = "--local-port";
    argv[a++] = local;
    argv[a++] = "--remote-port";
    argv[a++] = remote;
    argv[a++] = "--ready-fd";
    argv[a++] = ready;
    if (s->kubeconfig) {
        argv[a++] = "--kubeconfig";
        argv[a++] = s->kubeconfig;
    }
    if (s->context && *s->context) {
        argv[a++] = "--context";
        argv[a++] = s->context;
    }
    if (s->pod && *s->pod) {
        argv[a++] = "--pod";
        argv[a++] = s->pod;
    }
    argv[a] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        close(pfd[0]);
        if (detached) {
            setsid();
            int nul = open("/dev/null", O_RDONLY);
            int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (nul >= 0)
                dup2(nul, 0);
            if (log >= 0) {
                dup2(log, 1);
                dup2(log, 2);
            }
        } else {
            setpgid(0, 0);
        }
        execv("/proc/self/exe", (char *const *)argv);
        fprintf(stderr, "vcluster: cannot run the port-forwarder: %s\n", strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    /* the forwarder looks the pod up, listens, then writes its port */
    char buf[32] = "";
    size_t got = 0;
    struct pollfd p = { .fd = pfd[0], .events = POLLIN };
    while (got < sizeof buf - 1 && poll(&p, 1, 30000) > 0) {
        ssize_t n = read(pfd[0], buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(buf, '\n', got))
            break;
    }
    close(pfd[0]);
    buf[got] = '\0';
    int port = atoi(buf);
    if (port <= 0) {
        stop_group(pid, true);
        return -1;
    }
    *out_pid = pid;
    *out_port = port;
    return 0;
}

int cli_pf_start_background(const cli_pf_spec *s, const char *context, int *out_port)
{
    char *log = record_path(context, ".log");
    pid_t pid = 0;
    int port = 0;
    int rc = log ? start(s, true, log, &pid, &port) : -1;
    if (rc < 0) {
        fprintf(stderr, "vcluster connect: the port-forwarder did not start%s%s\n", log ? "; see " : "",
                log ? log : "");
        free(log);
        return -1;
    }
    free(log);
    char *path = record_path(context, "");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f) {
        fprintf(f, "pid=%d\nport=%d\naddress=%s\nname=%s\nnamespace=%s\n", (int)pid, port, s->address, s->name, s->ns);
        fclose(f);
    }
    free(path);
    *out_port = port;
    return 0;
}

int cli_pf_start_child(const cli_pf_spec *s, int *out_pid, int *out_port)
{
    pid_t pid = 0;
    if (start(s, false, NULL, &pid, out_port) < 0) {
        fprintf(stderr, "vcluster connect: the port-forwarder did not start (see its messages above)\n");
        return -1;
    }
    *out_pid = (int)pid;
    return 0;
}

void cli_pf_stop_child(int pid)
{
    stop_group(pid, true);
}

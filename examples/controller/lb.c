/*
 * `vcluster-syncer lb`: a TCP balancer in front of the API server replicas
 * of the local driver (controlPlane.statefulSet.highAvailability.replicas
 * > 1). The kubeconfig's one server is this listener; TLS passes through
 * untouched (every replica has the same serving certificate), so clients
 * authenticate to the API servers as before.
 *
 * Each new client connection goes to the next backend that is up (round
 * robin); a backend that refuses the connection or does not accept it
 * within --connect-timeout is marked down and the next one is tried, so a
 * client whose replica was killed loses only the requests in flight on
 * that replica's connections, and its next connection lands on a live one.
 * Backends marked down are probed every --check-interval and come back
 * when they accept again; each change is logged.
 *
 * One thread, one poll(2) loop. Probes are non-blocking connects whose
 * result the loop collects like any other fd. Uses no library call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "lb.h"

#define LB_MAX_BACKENDS 16
#define LB_BUF 16384
#define LB_REPLAY 4096 /* a TLS ClientHello fits */

typedef struct lb_backend {
    struct sockaddr_in addr;
    char name[64];
    bool up;
    int probe_fd;        /* a health probe in flight, or -1 */
    int64_t probe_start; /* mono ms */
    int64_t next_probe;  /* mono ms */
} lb_backend;

typedef struct lb_pipe {
    char buf[LB_BUF];
    size_t off, len;
    bool eof;      /* the reading side ended */
    bool shut;     /* shutdown(SHUT_WR) sent to the writing side */
    uint64_t reads;
} lb_pipe;

typedef struct lb_conn {
    int cfd, bfd;
    int backend;
    bool connecting;
    int64_t connect_start;
    uint32_t tried;    /* backends tried for this client (bit mask) */
    lb_pipe up, down;  /* client -> backend, backend -> client */
    /* what the client sent before the backend's first byte: when the
     * backend dies before answering (e.g. killed during the TLS
     * handshake), nothing reached the client and no request was
     * authenticated yet, so the next backend gets the same bytes */
    bool got_reply, replay_ok;
    size_t replay_len;
    char replay[LB_REPLAY];
} lb_conn;

static volatile sig_atomic_t g_lb_stop;
static void lb_on_signal(int sig)
{
    (void)sig;
    g_lb_stop = 1;
}

static int parse_addr(const char *s, struct sockaddr_in *out)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!*(colon + 1) || *end || port <= 0 || port > 65535)
        return -1;
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, *host ? host : "127.0.0.1", &out->sin_addr) != 1)
        return -1;
    return 0;
}

/* A non-blocking connect: the fd (connected or in progress), or -1 with
 * errno (ECONNREFUSED at once on loopback when nothing listens). */
static int start_connect(const struct sockaddr_in *a, bool *done)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)a, sizeof *a) == 0) {
        *done = true;
        return fd;
    }
    if (errno == EINPROGRESS) {
        *done = false;
        return fd;
    }
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

static int so_error(int fd)
{
    int err = 0;
    socklen_t l = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
        return errno;
    return err;
}

static void set_up(lb_backend *b, bool up, const char *why)
{
    if (b->up != up)
        logf_(up ? VC_LOG_INFO : VC_LOG_WARN, "lb", "backend %s is %s%s%s", b->name, up ? "up" : "down",
              why ? ": " : "", why ? why : "");
    b->up = up;
}

typedef struct lb {
    lb_backend be[LB_MAX_BACKENDS];
    int n_be, rr;
    lb_conn *conns;
    int n_conns, max_conns;
    int connect_timeout_ms, check_ms;
    uint64_t accepted, failovers, refused;
} lb;

static void conn_close(lb *L, int i)
{
    lb_conn *c = &L->conns[i];
    if (c->cfd >= 0)
        close(c->cfd);
    if (c->bfd >= 0)
        close(c->bfd);
    L->conns[i] = L->conns[--L->n_conns];
}

/* Connect conn i to the next backend it has not tried, up ones first;
 * false when none is left (the caller closes the client). */
static bool conn_dial(lb *L, int i)
{
    lb_conn *c = &L->conns[i];
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < L->n_be; k++) {
            int b = (L->rr + k) % L->n_be;
            if ((c->tried & (1u << b)) || L->be[b].up != (pass == 0))
                continue;
            c->tried |= 1u << b;
            bool done = false;
            int fd = start_connect(&L->be[b].addr, &done);
            if (fd < 0) {
                set_up(&L->be[b], false, strerror(errno));
                L->be[b].next_probe = mono_ms() + L->check_ms;
                if (c->tried != (1u << b))
                    L->failovers++;
                continue;
            }
            if (c->tried != (1u << b))
                L->failovers++;
            L->rr = (b + 1) % L->n_be;
            c->bfd = fd;
            c->backend = b;
            c->connecting = !done;
            c->connect_start = mono_ms();
            return true;
        }
    }
    return false;
}

/* Move bytes from `from` into p, and from p to `to` (both non-blocking).
 * -1: the connection is over (reset, or a write that cannot go through). */
static int pump(int from, int to, lb_pipe *p, short rev_from)
{
    if (!p->eof && p->len == 0 && (rev_from & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = read(from, p->buf, sizeof p->buf);
        if (n > 0) {
            p->off = 0;
            p->len = (size_t)n;
            p->reads++;
        } else if (n == 0) {
            p->eof = true;
        } else if (errno != EAGAIN && errno != EINTR) {
            return -1;
        }
    }
    if (p->len > 0) {
        ssize_t n = send(to, p->buf + p->off, p->len, MSG_NOSIGNAL);
        if (n > 0) {
            p->off += (size_t)n;
            p->len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return -1;
        }
    }
    if (p->eof && p->len == 0 && !p->shut) {
        shutdown(to, SHUT_WR);
        p->shut = true;
    }
    return 0;
}

static void probe_collect(lb *L, int b, short rev, int64_t now)
{
    lb_backend *be = &L->be[b];
    if (be->probe_fd < 0)
        return;
    int err = 0;
    if (rev & (POLLOUT | POLLERR | POLLHUP))
        err = so_error(be->probe_fd);
    else if (now - be->probe_start < L->connect_timeout_ms)
        return;
    else
        err = ETIMEDOUT;
    close(be->probe_fd);
    be->probe_fd = -1;
    set_up(be, err == 0, err ? strerror(err) : NULL);
    be->next_probe = now + L->check_ms;
}

static void probe_start(lb *L, int b, int64_t now)
{
    lb_backend *be = &L->be[b];
    bool done = false;
    int fd = start_connect(&be->addr, &done);
    be->probe_start = now;
    if (fd < 0) {
        set_up(be, false, strerror(errno));
        be->next_probe = now + L->check_ms;
    } else if (done) {
        close(fd);
        set_up(be, true, NULL);
        be->next_probe = now + L->check_ms;
    } else {
        be->probe_fd = fd;
    }
}

static void lb_usage(FILE *f)
{
    fprintf(f, "usage: vcluster-syncer lb --listen ADDR:PORT --backend ADDR:PORT [--backend ...] [options]\n"
               "\n"
               "A TCP balancer for several API server replicas (the local driver starts it when\n"
               "controlPlane.statefulSet.highAvailability.replicas > 1). TLS passes through.\n"
               "\n"
               "  --listen ADDR:PORT        where clients connect (IPv4)\n"
               "  --backend ADDR:PORT       an API server replica (up to 16)\n"
               "  --connect-timeout MS      a backend that does not accept within this is down (2000)\n"
               "  --check-interval MS       between health probes of each backend (1000)\n"
               "  --max-connections N       client connections at most (1024)\n"
               "  -v, --verbose             debug logging\n"
               "  -h, --help                this help\n");
}

int lb_main(int argc, char **argv)
{
    static const struct option opts[] = { { "listen", required_argument, NULL, 'l' },
                                          { "backend", required_argument, NULL, 'b' },
                                          { "connect-timeout", required_argument, NULL, 't' },
                                          { "check-interval", required_argument, NULL, 'c' },
                                          { "max-connections", required_argument, NULL, 'm' },
                                          { "verbose", no_argument, NULL, 'v' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    lb L;
    memset(&L, 0, sizeof L);
    L.connect_timeout_ms = 2000;
    L.check_ms = 1000;
    L.max_conns = 1024;
    const char *listen_at = NULL;
    int verbose = VC_LOG_INFO, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (o) {
        case 'l':
            listen_at = optarg;
            break;
        case 'b':
            if (L.n_be == LB_MAX_BACKENDS) {
                fprintf(stderr, "vcluster-syncer lb: at most %d backends\n", LB_MAX_BACKENDS);
                return 2;
            }
            if (parse_addr(optarg, &L.be[L.n_be].addr) < 0) {
                fprintf(stderr, "vcluster-syncer lb: --backend %s: expected IPv4:PORT\n", optarg);
                return 2;
            }
            snprintf(L.be[L.n_be].name, sizeof L.be[L.n_be].name, "%s", optarg);
            L.be[L.n_be].up = true; /* until it refuses */
            L.be[L.n_be].probe_fd = -1;
            L.n_be++;
            break;
        case 't':
        case 'c':
        case 'm': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (*end || v <= 0 || v > 1000000) {
                fprintf(stderr, "vcluster-syncer lb: --%s %s: expected a positive number\n",
                        o == 't' ? "connect-timeout" : o == 'c' ? "check-interval" : "max-connections", optarg);
                return 2;
            }
            *(o == 't' ? &L.connect_timeout_ms : o == 'c' ? &L.check_ms : &L.max_conns) = (int)v;
            break;
        }
        case 'v':
            verbose = VC_LOG_DEBUG;
            break;
        case 'h':
            lb_usage(stdout);
            return 0;
        default:
            lb_usage(stderr);
            return 2;
        }
    }
    struct sockaddr_in la;
    if (!listen_at || L.n_be == 0 || optind < argc || parse_addr(listen_at, &la) < 0) {
        fprintf(stderr, "vcluster-syncer lb: %s\n",
                !listen_at || parse_addr(listen_at, &la) < 0 ? "--listen IPv4:PORT is required"
                : L.n_be == 0                                 ? "at least one --backend is required"
                                                              : "unexpected argument");
        lb_usage(stderr);
        return 2;
    }
    log_setup(LOG_TEXT, verbose);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(lfd, (struct sockaddr *)&la, sizeof la) < 0 || listen(lfd, 512) < 0) {
        logf_(VC_LOG_ERROR, "lb", "listen on %s: %s", listen_at, strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return 1;
    }
    L.conns = calloc((size_t)L.max_conns, sizeof *L.conns);
    struct pollfd *pf = calloc(1 + (size_t)L.n_be + 2 * (size_t)L.max_conns, sizeof *pf);
    if (!L.conns || !pf) {
        logf_(VC_LOG_ERROR, "lb", "out of memory");
        free(L.conns);
        free(pf);
        close(lfd);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = lb_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    logf_(VC_LOG_INFO, "lb", "listening on %s, %d backends", listen_at, L.n_be);
    while (!g_lb_stop) {
        int64_t now = mono_ms();
        for (int b = 0; b < L.n_be; b++)
            if (L.be[b].probe_fd < 0 && now >= L.be[b].next_probe)
                probe_start(&L, b, now);
        int n = 0;
        pf[n++] = (struct pollfd){ .fd = L.n_conns < L.max_conns ? lfd : -1, .events = POLLIN };
        for (int b = 0; b < L.n_be; b++)
            pf[n++] = (struct pollfd){ .fd = L.be[b].probe_fd, .events = POLLOUT };
        for (int i = 0; i < L.n_conns; i++) {
            lb_conn *c = &L.conns[i];
            short ce = 0, be = 0;
            if (c->connecting) {
                be = POLLOUT;
            } else {
                if (!c->up.eof && c->up.len == 0)
                    ce |= POLLIN;
                if (c->down.len)
                    ce |= POLLOUT;
                if (!c->down.eof && c->down.len == 0)
                    be |= POLLIN;
                if (c->up.len)
                    be |= POLLOUT;
            }
            pf[n++] = (struct pollfd){ .fd = c->connecting ? -1 : c->cfd, .events = ce };
            pf[n++] = (struct pollfd){ .fd = c->bfd, .events = be };
        }
        int64_t wait = 1000;
        for (int b = 0; b < L.n_be; b++) {
            int64_t due = L.be[b].probe_fd >= 0 ? L.be[b].probe_start + L.connect_timeout_ms : L.be[b].next_probe;
            if (due - now < wait)
                wait = due - now;
        }
        for (int i = 0; i < L.n_conns; i++)
            if (L.conns[i].connecting && L.conns[i].connect_start + L.connect_timeout_ms - now < wait)
                wait = L.conns[i].connect_start + L.connect_timeout_ms - now;
        if (wait < 0)
            wait = 0;
        if (poll(pf, (nfds_t)n, (int)wait) < 0 && errno != EINTR)
            break;
        now = mono_ms();
        for (int b = 0; b < L.n_be; b++)
            probe_collect(&L, b, pf[1 + b].revents, now);
        /* connections, back to front (conn_close moves the last into i) */
        int n_before = L.n_conns;
        for (int i = n_before - 1; i >= 0; i--) {
            lb_conn *c = &L.conns[i];
            short cr = pf[1 + L.n_be + 2 * i].revents, br = pf[2 + L.n_be + 2 * i].revents;
            if (c->connecting) {
                int err = 0;
                if (br & (POLLOUT | POLLERR | POLLHUP))
                    err = so_error(c->bfd);
                else if (now - c->connect_start >= L.connect_timeout_ms)
                    err = ETIMEDOUT;
                else
                    continue;
                if (err == 0) {
                    c->connecting = false;
                    set_up(&L.be[c->backend], true, NULL);
                    continue;
                }
                set_up(&L.be[c->backend], false, strerror(err));
                L.be[c->backend].next_probe = now + L.check_ms;
                close(c->bfd);
                c->bfd = -1;
                if (!conn_dial(&L, i)) {
                    L.refused++;
                    logf_(VC_LOG_WARN, "lb", "no backend accepts a connection; client closed");
                    conn_close(&L, i);
                }
                continue;
            }
            /* the backend's first answer, or its end before answering:
             * then the client's bytes go to the next backend */
            if (!c->got_reply && c->down.len == 0 && (br & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t rn = read(c->bfd, c->down.buf, sizeof c->down.buf);
                if (rn > 0) {
                    c->got_reply = true;
                    c->down.off = 0;
                    c->down.len = (size_t)rn;
                    c->down.reads++;
                } else if (rn == 0 || (errno != EAGAIN && errno != EINTR)) {
                    int b = c->backend;
                    set_up(&L.be[b], false, rn == 0 ? "closed a connection before answering" : strerror(errno));
                    L.be[b].next_probe = now + L.check_ms;
                    close(c->bfd);
                    c->bfd = -1;
                    if (!c->replay_ok || !conn_dial(&L, i)) {
                        conn_close(&L, i);
                        continue;
                    }
                    memcpy(c->up.buf, c->replay, c->replay_len);
                    c->up.off = 0;
                    c->up.len = c->replay_len;
                    c->up.shut = false;
                    logf_(VC_LOG_INFO, "lb", "a connection moved from %s to %s before any answer (%zu bytes resent)",
                          L.be[b].name, L.be[c->backend].name, c->replay_len);
                    continue;
                }
                br &= (short)~(POLLHUP | POLLERR);
            }
            uint64_t up_reads = c->up.reads;
            /* a reset, or a side that hung up and has nothing more to
             * read: nothing can reach it any more */
            if (((cr | br) & POLLERR) || pump(c->cfd, c->bfd, &c->up, cr) < 0 ||
                pump(c->bfd, c->cfd, &c->down, br) < 0 || ((cr & POLLHUP) && c->up.eof) ||
                ((br & POLLHUP) && c->down.eof) || (c->up.eof && c->down.eof && c->up.len == 0 && c->down.len == 0)) {
                conn_close(&L, i);
                continue;
            }
            if (!c->got_reply && c->up.reads != up_reads) {
                /* a read put its bytes at up.buf[0..) (sent or not) */
                size_t got = c->up.off + c->up.len;
                if (c->replay_ok && c->replay_len + got <= sizeof c->replay) {
                    memcpy(c->replay + c->replay_len, c->up.buf, got);
                    c->replay_len += got;
                } else {
                    c->replay_ok = false;
                }
            }
        }
        if (pf[0].revents & POLLIN) {
            for (int k = 0; k < 64 && L.n_conns < L.max_conns; k++) {
                int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0)
                    break;
                setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                lb_conn *c = &L.conns[L.n_conns++];
                memset(c, 0, sizeof *c);
                c->cfd = cfd;
                c->bfd = -1;
                c->replay_ok = true;
                L.accepted++;
                if (!conn_dial(&L, L.n_conns - 1)) {
                    L.refused++;
                    logf_(VC_LOG_WARN, "lb", "no backend accepts a connection; client closed");
                    conn_close(&L, L.n_conns - 1);
                }
            }
        }
    }
    logf_(VC_LOG_INFO, "lb", "stopping: %llu connections, %llu moved to another backend, %llu refused",
          (unsigned long long)L.accepted, (unsigned long long)L.failovers, (unsigned long long)L.refused);
    while (L.n_conns)
        conn_close(&L, L.n_conns - 1);
    for (int b = 0; b < L.n_be; b++)
        if (L.be[b].probe_fd >= 0)
            close(L.be[b].probe_fd);
    free(L.conns);
    free(pf);
    close(lfd);
    return 0;
}

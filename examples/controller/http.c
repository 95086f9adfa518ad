/*
 * The health and metrics endpoint on a thread of its own: one poll(2) loop
 * over the listener and at most max_conns non-blocking connections, so
 * neither an idle or slow client nor a long sync step delays /healthz, and
 * the sync loop never waits for a client.
 *
 * Every connection has a deadline: read_timeout_ms from accept to the end
 * of its request head (a client that sends a byte a second is cut off
 * there), write_timeout_ms for the answer. When max_conns are open the
 * oldest connection still reading gives way to the new one. One request
 * per connection (Connection: close).
 *
 * The syncer is used by one thread at a time (syncer.h), so this thread
 * never calls into it but for vc_syncer_wakeup(): /metrics asks the loop
 * for a snapshot (a generation number), wakes it, and waits, without
 * blocking, for the loop to publish it (http_loop_turn). When the loop does
 * not answer within metrics_wait_ms the previous snapshot is served,
 * marked by vcluster_syncer_metrics_stale 1.
 *
 * /healthz and /livez answer 200 "ok" while the loop turns (it turns at
 * least once a second); after stall_ms without a turn they answer 500.
 * /readyz answers 200 once the caches have synced, else 503.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

#define HEAD_MAX 8192

typedef enum { C_FREE = 0, C_READING, C_WAIT_SNAP, C_WRITING } cstate;

typedef struct conn {
    int fd;
    cstate state;
    int64_t accepted_ms, deadline_ms;
    bool head_only;      /* HEAD: no body */
    uint64_t want_gen;   /* C_WAIT_SNAP: the snapshot it waits for */
    char in[HEAD_MAX];
    size_t in_n;
    char *out;
    size_t out_n, out_off;
} conn;

static struct {
    http_limits lim;
    int lfd, efd;
    pthread_t th;
    bool running;
    vc_syncer *s;
    conn *conns;
    int n_open;
    /* shared with the loop */
    pthread_mutex_t mu;
    snapshot snap;                /* under mu */
    _Atomic uint64_t req_gen;     /* asked by this thread */
    _Atomic uint64_t snap_gen;    /* published by the loop */
    _Atomic int64_t beat_ms;      /* the loop's last turn */
    atomic_bool ready;
    atomic_bool leader_elect, leading, leader_seen; /* http_set_leader() */
    atomic_bool stop;
} H = { .lfd = -1, .efd = -1, .mu = PTHREAD_MUTEX_INITIALIZER };

int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void conn_close(conn *c)
{
    if (c->state == C_FREE)
        return;
    close(c->fd);
    free(c->out);
    c->out = NULL;
    c->state = C_FREE;
    c->fd = -1;
    H.n_open--;
}

/* Queue an answer; the body is copied unless `owned` (then taken). */
static void respond(conn *c, int status, const char *ctype, char *body, size_t len, bool owned)
{
    const char *reason = status == 200   ? "OK"
                         : status == 404 ? "Not Found"
                         : status == 405 ? "Method Not Allowed"
                         : status == 431 ? "Request Header Fields Too Large"
                         : status == 503 ? "Service Unavailable"
                         : status == 400 ? "Bad Request"
                                         : "Internal Server Error";
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                      reason, ctype, len);
    size_t blen = c->head_only ? 0 : len;
    char *out = malloc((size_t)hl + blen + 1);
    if (out) {
        memcpy(out, head, (size_t)hl);
        if (blen)
            memcpy(out + hl, body, blen);
    }
    if (owned)
        free(body);
    if (!out) {
        conn_close(c);
        return;
    }
    c->out = out;
    c->out_n = (size_t)hl + blen;
    c->out_off = 0;
    c->state = C_WRITING;
    c->deadline_ms = mono_ms() + H.lim.write_timeout_ms;
}

static void respond_text(conn *c, int status, const char *text)
{
    respond(c, status, "text/plain; charset=utf-8", (char *)text, strlen(text), false);
}

static void serve_metrics(conn *c, bool stale)
{
    /* a copy, so the loop never waits for the rendering */
    snapshot *copy = malloc(sizeof *copy);
    if (!copy) {
        respond_text(c, 500, "out of memory\n");
        return;
    }
    pthread_mutex_lock(&H.mu);
    memcpy(copy, &H.snap, sizeof *copy);
    pthread_mutex_unlock(&H.mu);
    size_t len = 0;
    char *body = metrics_render(copy, stale, &len);
    free(copy);
    if (!body) {
        respond_text(c, 500, "out of memory\n");
        return;
    }
    respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", body, len, true);
}

static bool loop_stalled(int64_t now, char *msg, size_t cap)
{
    int64_t age = now - atomic_load(&H.beat_ms);
    if (age < H.lim.stall_ms)
        return false;
    snprintf(msg, cap, "sync loop stalled: no turn for %lld s\n", (long long)(age / 1000));
    return true;
}

/* A complete request head is in c->in. */
static void dispatch(conn *c)
{
    char method[8] = "", path[256] = "";
    const char *sp = memchr(c->in, ' ', c->in_n);
    size_t ml = sp ? (size_t)(sp - c->in) : 0;
    if (!sp || ml == 0 || ml >= sizeof method) {
        respond_text(c, 400, "bad request\n");
        return;
    }
    memcpy(method, c->in, ml);
    const char *p = sp + 1;
    size_t pl = strcspn(p, " ?\r\n");
    if (pl == 0 || pl >= sizeof path || *p != '/') {
        respond_text(c, 400, "bad request\n");
        return;
    }
    memcpy(path, p, pl);
    c->head_only = !strcmp(method, "HEAD");
    if (strcmp(method, "GET") != 0 && !c->head_only) {
        respond_text(c, 405, "only GET and HEAD\n");
        return;
    }
    int64_t now = mono_ms();
    char msg[128];
    if (!strcmp(path, "/healthz") || !strcmp(path, "/livez")) {
        if (loop_stalled(now, msg, sizeof msg))
            respond_text(c, 500, msg);
        else
            respond_text(c, 200, "ok\n");
    } else if (!strcmp(path, "/readyz")) {
        if (loop_stalled(now, msg, sizeof msg))
            respond_text(c, 503, msg);
        else if (atomic_load(&H.ready))
            /* a standby is ready once its caches are: it can take over at
             * once, and the pod's other containers (the virtual API server)
             * must stay behind the Service whichever replica leads */
            respond_text(c, 200, !atomic_load(&H.leader_elect) || atomic_load(&H.leading) ? "ok\n"
                                 : atomic_load(&H.leader_seen)                              ? "ok (standby)\n"
                                                                                            : "ok (standby, no leader seen)\n");
        else
            respond_text(c, 503, "informers not synced\n");
    } else if (!strcmp(path, "/metrics")) {
        c->want_gen = atomic_fetch_add(&H.req_gen, 1) + 1;
        c->state = C_WAIT_SNAP;
        c->deadline_ms = now + H.lim.metrics_wait_ms;
        vc_syncer_wakeup(H.s);
    } else {
        respond_text(c, 404, "not found\n");
    }
}

static void on_readable(conn *c)
{
    for (;;) {
        if (c->in_n >= sizeof c->in - 1) {
            c->head_only = false;
            respond_text(c, 431, "request head too large\n");
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_n, sizeof c->in - 1 - c->in_n, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        size_t from = c->in_n > 3 ? c->in_n - 3 : 0;
        c->in_n += (size_t)n;
        c->in[c->in_n] = '\0';
        if (strstr(c->in + from, "\r\n\r\n") || strstr(c->in + from, "\n\n")) {
            dispatch(c);
            return;
        }
    }
}

static void on_writable(conn *c)
{
    while (c->out_off < c->out_n) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_n - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0)
            break;
        c->out_off += (size_t)n;
    }
    conn_close(c);
}

static void accept_all(void)
{
    for (;;) {
        int fd = accept4(H.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        conn *slot = NULL;
        for (int i = 0; i < H.lim.max_conns && !slot; i++)
            if (H.conns[i].state == C_FREE)
                slot = &H.conns[i];
        if (!slot) {
            /* full: the oldest connection still sending its request goes */
            for (int i = 0; i < H.lim.max_conns; i++)
                if (H.conns[i].state == C_READING && (!slot || H.conns[i].accepted_ms < slot->accepted_ms))
                    slot = &H.conns[i];
            if (!slot) { /* all busy answering: refuse this one */
                close(fd);
                continue;
            }
            conn_close(slot);
        }
        memset(slot, 0, sizeof *slot);
        slot->fd = fd;
        slot->state = C_READING;
        slot->accepted_ms = mono_ms();
        slot->deadline_ms = slot->accepted_ms + H.lim.read_timeout_ms;
        H.n_open++;
    }
}

static void *http_thread(void *ud)
{
    (void)ud;
    int max = H.lim.max_conns;
    struct pollfd *p = calloc((size_t)max + 2, sizeof *p);
    if (!p)
        return NULL;
    while (!atomic_load(&H.stop)) {
        int64_t now = mono_ms();
        int64_t wait = 1000;
        p[0] = (struct pollfd){ H.efd, POLLIN, 0 };
        p[1] = (struct pollfd){ H.lfd, POLLIN, 0 };
        for (int i = 0; i < max; i++) {
            conn *c = &H.conns[i];
            short ev = c->state == C_READING ? POLLIN : c->state == C_WRITING ? POLLOUT : 0;
            p[2 + i] = (struct pollfd){ c->state == C_FREE ? -1 : c->fd, ev, 0 };
            if (c->state != C_FREE && c->deadline_ms - now < wait)
                wait = c->deadline_ms - now;
        }
        if (wait < 0)
            wait = 0;
        int n = poll(p, (nfds_t)max + 2, (int)wait);
        if (n < 0 && errno != EINTR)
            break;
        if (p[0].revents & POLLIN) {
            uint64_t v;
            while (read(H.efd, &v, sizeof v) > 0) {
            }
        }
        now = mono_ms();
        uint64_t published = atomic_load(&H.snap_gen);
        for (int i = 0; i < max; i++) {
            conn *c = &H.conns[i];
            if (c->state == C_FREE || p[2 + i].fd != c->fd)
                continue;
            short re = p[2 + i].revents;
            if (c->state == C_READING && (re & (POLLIN | POLLHUP | POLLERR)))
                on_readable(c);
            else if (c->state == C_WRITING && (re & (POLLOUT | POLLHUP | POLLERR)))
                on_writable(c);
            else if (c->state == C_WAIT_SNAP && (re & (POLLHUP | POLLERR)))
                conn_close(c);
            if (c->state == C_WAIT_SNAP && (published >= c->want_gen || now >= c->deadline_ms))
                serve_metrics(c, published < c->want_gen);
            if (c->state == C_WRITING && (p[2 + i].revents & POLLOUT) == 0 && now < c->deadline_ms)
                on_writable(c); /* the socket buffer usually takes the whole answer at once */
            if (c->state != C_FREE && now >= c->deadline_ms)
                conn_close(c);
        }
        if (p[1].revents & POLLIN)
            accept_all();
    }
    free(p);
    return NULL;
}

int http_start(const char *addr, const http_limits *lim, vc_syncer *s)
{
    char host[64] = "127.0.0.1";
    int port = 8080;
    const char *colon = strrchr(addr, ':');
    if (colon) {
        size_t n = (size_t)(colon - addr);
        if (n > 0 && n < sizeof host) {
            memcpy(host, addr, n);
            host[n] = '\0';
        }
        port = atoi(colon + 1);
    }
    H.lim = *lim;
    H.s = s;
    H.conns = calloc((size_t)lim->max_conns, sizeof *H.conns);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    H.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int one = 1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (!H.conns || fd < 0 || H.efd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        inet_pton(AF_INET, host, &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(fd, 128) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        http_stop();
        errno = e;
        return -1;
    }
    for (int i = 0; i < lim->max_conns; i++)
        H.conns[i].fd = -1;
    H.lfd = fd;
    atomic_store(&H.beat_ms, mono_ms());
    if (pthread_create(&H.th, NULL, http_thread, NULL) != 0) {
        http_stop();
        errno = EAGAIN;
        return -1;
    }
    H.running = true;
    return 0;
}

void http_stop(void)
{
    if (H.running) {
        atomic_store(&H.stop, true);
        uint64_t one = 1;
        if (write(H.efd, &one, sizeof one) < 0) {
            /* the thread wakes within its 1 s poll anyway */
        }
        pthread_join(H.th, NULL);
        H.running = false;
    }
    if (H.conns) {
        for (int i = 0; i < H.lim.max_conns; i++)
            conn_close(&H.conns[i]);
        free(H.conns);
        H.conns = NULL;
    }
    if (H.lfd >= 0)
        close(H.lfd);
    if (H.efd >= 0)
        close(H.efd);
    H.lfd = H.efd = -1;
    H.s = NULL;
}

void http_set_leader(bool elect, bool leading, bool seen)
{
    atomic_store(&H.leader_elect, elect);
    atomic_store(&H.leading, leading);
    atomic_store(&H.leader_seen, seen);
}

void http_loop_turn(vc_syncer *s, bool ready, double step_max_wall, double step_max_cpu)
{
    if (!H.running)
        return;
    atomic_store(&H.beat_ms, mono_ms());
    atomic_store(&H.ready, ready);
    uint64_t want = atomic_load(&H.req_gen);
    if (want == atomic_load(&H.snap_gen))
        return;
    pthread_mutex_lock(&H.mu);
    snapshot_take(&H.snap, s, step_max_wall, step_max_cpu);
    pthread_mutex_unlock(&H.mu);
    atomic_store(&H.snap_gen, want);
    uint64_t one = 1;
    if (write(H.efd, &one, sizeof one) < 0) {
        /* the HTTP thread polls at least once a second */
    }
}

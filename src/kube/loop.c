/* curl multi (socket_action) + epoll + timerfd + eventfd; async requests and
 * watch streams on top. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "kube/loop.h"

#define MAX_WATCH_LINE (64u << 20)

typedef enum { XF_REQ, XF_WATCH } xf_kind;

typedef struct xfer {
    xf_kind kind;
    vc__kloop *loop;
    CURL *easy;
    struct curl_slist *headers;
    vc_kube *kube;
    char *what;       /* "GET https://..." for messages */
    char *body;       /* request body copy */
    char *ctype_hdr;  /* "Content-Type: ..." when there is a body */
    vc_buf resp;      /* response (req) or partial line (watch) */
    char errbuf[CURL_ERROR_SIZE];
    struct xfer *next, *prev;
    /* req */
    vc__kreq_cb cb;
    void *ud;
    /* watch */
    vc__watch *watch;
    /* waiting for its connection's exec credential plugin (not yet in the
     * multi handle) */
    struct credjob *parked_on;
    struct xfer *next_parked;
    /* request stats (vc__kloop_row): the method, when it started, and
     * whether its answer was counted (a watch's at its status) */
    char method[8];
    int64_t start_us;
    bool counted;
} xfer;

/* An exec credential plugin running for one connection: its pipes are on
 * the loop's epoll set, and the transfers that need its credential wait
 * here, so no step waits for the plugin. */
typedef struct credjob {
    vc_kube *kube;
    vc__exec_job *job;
    xfer *parked;
    int64_t recheck_ms;        /* pipes shut, process not reaped: look again */
    struct credjob *next;
} credjob;

struct vc__kloop {
    CURLM *multi;
    int epfd, tfd, efd;
    int64_t timer_deadline; /* monotonic ms, -1 none */
    xfer *xfers;
    size_t active;
    bool woken;
    credjob *jobs;
    int64_t deadline_us;   /* vc__kloop_budget() */
    size_t reqs;           /* active transfers that are not watches */
    int *socks;            /* every socket curl asked us to watch */
    size_t n_socks, cap_socks;
    int64_t next_kick_ms;  /* kick(): monotonic ms, -1 none */
    vc__kreq_row *rows;    /* request counts (vc__kloop_row) */
    size_t n_rows, cap_rows;
};

/* libcurl 7.88's HTTP/2 code can leave a stream's data read and decoded
 * but its transfer unscheduled (the socket is no longer readable, and no
 * timer is set): the response then waits until another frame arrives on
 * that connection, in practice the next watch BOOKMARK about 60 s later.
 * A list page of 184 KB was seen waiting 59.6 s this way. kick() runs
 * every transfer of every socket (curl_multi_socket_action on each fd with
 * no event bits, so curl looks at the socket and its buffers itself):
 * every KICK_REQ_MS while a request is in flight, every KICK_WATCH_MS
 * while only watches are, so no stall lasts longer than that. */
#define KICK_REQ_MS 1000
#define KICK_WATCH_MS 5000

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A watch stream is kept as the text that came: the write callback only
 * appends (and counts newlines), vc__watch_next() cuts and parses one line
 * at a time. A flood costs a memcpy where it arrives and a line's parse
 * where it is consumed; nothing splits thousands of lines in one step. */
struct vc__watch {
    xfer *xf;          /* NULL once ended */
    vc_buf line;       /* the stream's text not yet consumed, from rhead */
    size_t rhead;      /* the next unconsumed byte */
    size_t nlines;     /* complete lines from rhead */
    size_t tail;       /* where the last (incomplete) line starts */
    bool ended;
    int end_rc;
    char *last_rv;
    char *cur_type;    /* type returned by the last next() */
    long http;
    bool status_checked;
    char *what;        /* for messages */
    bool paused;       /* the transfer waits until the backlog drains */
};

/* A consumer this far behind pauses its transfer (curl then holds the
 * data) until half of it is consumed. libcurl 7.88 copies everything it
 * holds for a paused HTTP/2 stream again at each unpause, so pausing early
 * (it was at 512 events) cost 10-30 ms per unpause in a 10,000-event flood;
 * this only bounds memory against a consumer that stopped. */
#define WATCH_BACKLOG_MAX (64u << 20)

/* The next kick() is due at most one interval from now while transfers run. */
static void kick_plan(vc__kloop *l, int64_t now)
{
    if (!l->active) {
        l->next_kick_ms = -1;
        return;
    }
    int64_t due = now + (l->reqs ? KICK_REQ_MS : KICK_WATCH_MS);
    if (l->next_kick_ms < 0 || l->next_kick_ms > due)
        l->next_kick_ms = due;
}

static void kick(vc__kloop *l, int *running)
{
    int fds[64];
    size_t n = l->n_socks < 64 ? l->n_socks : 64;
    if (n == 0)
        return;
    memcpy(fds, l->socks, n * sizeof(int)); /* curl may remove sockets meanwhile */
    for (size_t i = 0; i < n; i++)
        curl_multi_socket_action(l->multi, fds[i], 0, running);
}

static void link_xf(vc__kloop *l, xfer *x)
{
    x->next = l->xfers;
    x->prev = NULL;
    if (l->xfers)
        l->xfers->prev = x;
    l->xfers = x;
    l->active++;
    if (x->kind != XF_WATCH)
        l->reqs++;
    kick_plan(l, vc__now_ms());
}

static void unlink_xf(vc__kloop *l, xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        l->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->next = x->prev = NULL;
    l->active--;
    if (x->kind != XF_WATCH)
        l->reqs--;
}

static void unpark(xfer *x)
{
    credjob *j = x->parked_on;
    if (!j)
        return;
    for (xfer **pp = &j->parked; *pp; pp = &(*pp)->next_parked) {
        if (*pp == x) {
            *pp = x->next_parked;
            break;
        }
    }
    x->parked_on = NULL;
    x->next_parked = NULL;
}

static void xfer_free(xfer *x)
{
    if (!x)
        return;
    unpark(x);
    if (x->easy) {
        if (x->loop)
            curl_multi_remove_handle(x->loop->multi, x->easy);
        curl_easy_cleanup(x->easy);
    }
    curl_slist_free_all(x->headers);
    vc__kube_unref(x->kube);
    vc__free(x->what);
    vc__free(x->body);
    vc__free(x->ctype_hdr);
    vc_buf_dispose(&x->resp);
    vc__free(x);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    vc__kloop *l = userp;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = s;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, s, NULL);
        for (size_t i = 0; i < l->n_socks; i++)
            if (l->socks[i] == (int)s) {
                l->socks[i] = l->socks[--l->n_socks];
                break;
            }
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (!socketp) {
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s, &ev) < 0 && errno == EEXIST)
            epoll_ctl(l->epfd, EPOLL_CTL_MOD, s, &ev);
        curl_multi_assign(l->multi, s, (void *)1);
        if (l->n_socks == l->cap_socks) {
            size_t nc = l->cap_socks ? l->cap_socks * 2 : 8;
            int *g = vc__realloc(l->socks, nc * sizeof(int));
            if (!g)
                return 0; /* not kicked: a stall then lasts until the next frame */
            l->socks = g;
            l->cap_socks = nc;
        }
        l->socks[l->n_socks++] = (int)s;
    } else if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT) {
        epoll_ctl(l->epfd, EPOLL_CTL_ADD, s, &ev);
    }
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    vc__kloop *l = userp;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (timeout_ms < 0) {
        l->timer_deadline = -1;
    } else {
        l->timer_deadline = vc__now_ms() + timeout_ms;
        if (timeout_ms == 0)
            its.it_value.tv_nsec = 1000; /* fire at once (0 would disarm) */
        else {
            its.it_value.tv_sec = timeout_ms / 1000;
            its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
        }
    }
    timerfd_settime(l->tfd, 0, &its, NULL);
    return 0;
}

int vc__kloop_new(vc__kloop **out)
{
    *out = NULL;
    vc__kloop *l = vc__calloc(1, sizeof(*l));
    if (!l)
        return vc__error_oom();
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    l->timer_deadline = -1;
    l->next_kick_ms = -1;
    l->multi = curl_multi_init();
    if (l->epfd < 0 || l->tfd < 0 || l->efd < 0 || !l->multi) {
        int e = errno;
        vc__kloop_free(l);
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "event loop setup failed: %s", strerror(e));
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = l->tfd;
    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->tfd, &ev);
    ev.data.fd = l->efd;
    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->efd, &ev);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
    /* A libcurl without an asynchronous resolver (threaded or c-ares) looks
     * host names up inside curl_multi_socket_action(), so in a step. */
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    if (cv && !(cv->features & CURL_VERSION_ASYNCHDNS))
        VC__LOGW("kube", "libcurl %s has no asynchronous resolver: a step may wait for DNS when it opens a "
                         "connection to a server given by host name",
                 cv->version);
    *out = l;
    return VC_OK;
}

static void job_free(vc__kloop *l, credjob *j);

void vc__kloop_free(vc__kloop *l)
{
    if (!l)
        return;
    while (l->xfers) {
        xfer *x = l->xfers;
        unlink_xf(l, x);
        if (x->watch) {
            x->watch->xf = NULL;
            x->watch->ended = true;
            x->watch->end_rc = VC_ECANCELED;
        }
        xfer_free(x);
    }
    while (l->jobs) {
        credjob *j = l->jobs;
        l->jobs = j->next;
        job_free(l, j);
    }
    if (l->multi)
        curl_multi_cleanup(l->multi);
    vc__free(l->socks);
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->tfd >= 0)
        close(l->tfd);
    if (l->efd >= 0)
        close(l->efd);
    for (size_t i = 0; i < l->n_rows; i++)
        vc__free(l->rows[i].host);
    vc__free(l->rows);
    vc__free(l);
}

void vc__kloop_budget(vc__kloop *l, int64_t deadline_us)
{
    l->deadline_us = deadline_us;
}

int vc__kloop_fd(vc__kloop *l)
{
    return l->epfd;
}

size_t vc__kloop_active(vc__kloop *l)
{
    return l->active;
}

int64_t vc__kloop_timeout(vc__kloop *l)
{
    int64_t best = l->timer_deadline;
    if (l->next_kick_ms >= 0 && (best < 0 || l->next_kick_ms < best))
        best = l->next_kick_ms;
    for (credjob *j = l->jobs; j; j = j->next) {
        int64_t t = j->recheck_ms >= 0 ? j->recheck_ms : vc__exec_deadline(j->job);
        if (best < 0 || t < best)
            best = t;
    }
    if (best < 0)
        return -1;
    int64_t d = best - vc__now_ms();
    return d < 0 ? 0 : d;
}

int vc__kloop_wakeup(vc__kloop *l)
{
    uint64_t one = 1;
    if (write(l->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "wakeup: %s", strerror(errno));
    return VC_OK;
}

/* ---- watch event framing ---- */

static void watch_end(vc__watch *w, int rc)
{
    if (!w->ended) {
        w->ended = true;
        w->end_rc = rc;
    }
}

/* The stream is broken at the event being parsed: it ends with rc (over a
 * normal end seen meanwhile) and what follows is dropped. */
static void watch_fail(vc__watch *w, int rc)
{
    w->ended = true;
    w->end_rc = rc;
    vc__buf_clear(&w->line);
    w->rhead = w->nlines = w->tail = 0;
}

/* Append a chunk of the stream: count the lines it completes. */
static int watch_feed_bytes(vc__watch *w, const char *ptr, size_t n, const char *what)
{
    if (w->rhead > 0 && w->rhead == w->line.size) {
        vc__buf_clear(&w->line); /* all consumed: the usual case */
        w->rhead = w->tail = 0;
    } else if (w->rhead >= 65536 && w->rhead >= w->line.size - w->rhead) {
        size_t keep = w->line.size - w->rhead; /* moves at most what was consumed */
        memmove(w->line.ptr, w->line.ptr + w->rhead, keep);
        w->line.size = keep;
        w->line.ptr[keep] = '\0';
        w->tail -= w->rhead;
        w->rhead = 0;
    }
    if (vc__buf_put(&w->line, ptr, n) < 0)
        return VC_ENOMEM;
    const char *p = w->line.ptr + w->line.size - n, *end = w->line.ptr + w->line.size, *nl;
    while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        w->nlines++;
        p = nl + 1;
        w->tail = (size_t)(p - w->line.ptr);
    }
    if (w->line.size - w->tail > MAX_WATCH_LINE) {
        vc__error(VC_EAPI, VC_ERRCLASS_API, "%s: watch event larger than %u bytes", what, MAX_WATCH_LINE);
        watch_end(w, VC_EAPI);
        return VC_EAPI;
    }
    return VC_OK;
}

/* The stream ended: its last line needs no newline. */
static void watch_flush(vc__watch *w)
{
    if (w->line.size > w->tail && vc__buf_put(&w->line, "\n", 1) == VC_OK) {
        w->nlines++;
        w->tail = w->line.size;
    }
}

static void count_answer(vc__kloop *l, xfer *x, long http);

static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    vc__watch *w = x->watch;
    size_t n = size * nmemb;
    if (!w->status_checked) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &w->http);
        w->status_checked = true;
        if (x->loop)
            count_answer(x->loop, x, w->http);
    }
    if (w->http != 200) { /* error body: keep it for the message */
        if (x->resp.size < 65536)
            vc__buf_put(&x->resp, ptr, n);
        return n;
    }
    if (w->line.size - w->rhead >= WATCH_BACKLOG_MAX) {
        w->paused = true;
        return CURL_WRITEFUNC_PAUSE; /* the same bytes come again after the unpause */
    }
    return watch_feed_bytes(w, ptr, n, x->what) == VC_OK ? n : 0;
}

vc__watch *vc__watch_new_detached(const char *what)
{
    vc__watch *w = vc__calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->what = vc__strdup(what ? what : "watch");
    if (!w->what) {
        vc__free(w);
        return NULL;
    }
    w->http = 200;
    w->status_checked = true;
    return w;
}

int vc__watch_feed(vc__watch *w, const char *data, size_t len, bool eof)
{
    if (w->ended)
        return w->end_rc;
    int rc = len ? watch_feed_bytes(w, data, len, w->what) : VC_OK;
    if (rc == VC_OK && eof) {
        watch_flush(w);
        watch_end(w, VC_OK);
    }
    return rc;
}

static size_t req_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    return vc__buf_put(&x->resp, ptr, n) < 0 ? 0 : n;
}

static int map_curl_async(CURLcode c, const char *what, const char *detail)
{
    int code = c == CURLE_OPERATION_TIMEDOUT ? VC_ETIMEDOUT
               : (c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CONNECT_ERROR || c == CURLE_SSL_CERTPROBLEM)
                   ? VC_ETLS
                   : VC_ECONNECT;
    return vc__error_http(code, 0, NULL, "%s: %s", what, detail && *detail ? detail : curl_easy_strerror(c));
}

/* One answer (or none: http 0) for the request stats. A row per
 * connection, method and status; a row that cannot be added (out of
 * memory) only loses the count. */
static void count_answer(vc__kloop *l, xfer *x, long http)
{
    if (x->counted || !x->kube)
        return;
    x->counted = true;
    double secs = (double)(now_us() - x->start_us) / 1e6;
    for (size_t i = 0; i < l->n_rows; i++) {
        vc__kreq_row *r = &l->rows[i];
        if (r->kube == x->kube && r->code == (int)http && !strcmp(r->method, x->method)) {
            r->count++;
            vc__hist_observe(&r->latency, secs);
            return;
        }
    }
    if (l->n_rows == l->cap_rows) {
        size_t nc = l->cap_rows ? l->cap_rows * 2 : 16;
        vc__kreq_row *n = vc__realloc(l->rows, nc * sizeof *n);
        if (!n)
            return;
        l->rows = n;
        l->cap_rows = nc;
    }
    /* host:port of the server URL ("https://10.0.0.1:6443/prefix") */
    const char *srv = x->kube->cfg.server ? x->kube->cfg.server : "";
    const char *h = strstr(srv, "://");
    h = h ? h + 3 : srv;
    size_t hl = strcspn(h, "/");
    char *host = vc__strndup(h, hl);
    if (!host)
        return;
    vc__kreq_row *r = &l->rows[l->n_rows++];
    memset(r, 0, sizeof *r);
    r->kube = x->kube;
    r->host = host;
    snprintf(r->method, sizeof r->method, "%s", x->method);
    r->code = (int)http;
    r->count = 1;
    vc__hist_observe(&r->latency, secs);
}

size_t vc__kloop_rows(vc__kloop *l)
{
    return l->n_rows;
}

vc__kreq_row *vc__kloop_row(vc__kloop *l, size_t i)
{
    return i < l->n_rows ? &l->rows[i] : NULL;
}

static void finish(vc__kloop *l, xfer *x, CURLcode res)
{
    unlink_xf(l, x);
    long http = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &http);
    count_answer(l, x, res == CURLE_OK || http > 0 ? http : 0);
    if (x->kind == XF_REQ) {
        int rc = VC_OK;
        if (res != CURLE_OK)
            rc = map_curl_async(res, x->what, x->errbuf);
        else if (http < 200 || http >= 300)
            rc = vc__kube_map_error(http, x->resp.ptr, x->resp.size, x->what);
        else
            vc_error_clear();
        vc__kreq_cb cb = x->cb;
        void *ud = x->ud;
        /* the callback may start new transfers: detach ours first */
        vc_buf body = x->resp;
        memset(&x->resp, 0, sizeof x->resp);
        xfer_free(x);
        if (cb)
            cb(ud, rc, http, body.ptr ? body.ptr : "", body.size);
        vc_buf_dispose(&body);
        return;
    }
    vc__watch *w = x->watch;
    if (!w->ended) {
        if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR && w->ended)) {
            watch_end(w, map_curl_async(res, x->what, x->errbuf));
        } else if (http != 200) {
            int rc = vc__kube_map_error(http, x->resp.ptr, x->resp.size, x->what);
            watch_end(w, http == 410 ? VC_EGONE : rc);
        } else {
            watch_flush(w);
            watch_end(w, VC_OK);
        }
    }
    w->xf = NULL;
    xfer_free(x);
}

static bool is_job_fd(vc__kloop *l, int fd)
{
    for (credjob *j = l->jobs; j; j = j->next)
        if (vc__exec_fd(j->job, 0) == fd || vc__exec_fd(j->job, 1) == fd)
            return true;
    return false;
}

static void jobs_run(vc__kloop *l);

int vc__kloop_run(vc__kloop *l, int timeout_ms, bool *out_woken)
{
    if (out_woken)
        *out_woken = false;
    struct epoll_event evs[64];
    int n = epoll_wait(l->epfd, evs, 64, timeout_ms < 0 ? -1 : timeout_ms);
    if (n < 0 && errno != EINTR)
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "epoll_wait: %s", strerror(errno));
    int running = 0, served = 0;
    bool timer = false;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd == l->tfd) {
            uint64_t v;
            while (read(l->tfd, &v, sizeof v) > 0) {
            }
            timer = true;
        } else if (fd == l->efd) {
            uint64_t v;
            while (read(l->efd, &v, sizeof v) > 0) {
            }
            l->woken = true;
        } else if (is_job_fd(l, fd)) {
            continue; /* jobs_run() reads every plugin's pipes below */
        } else {
            /* past the budget the other sockets stay ready (epoll is
             * level-triggered) for the next run; one is always served */
            if (served > 0 && l->deadline_us > 0 && now_us() >= l->deadline_us)
                continue;
            served++;
            int mask = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                       (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                       (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(l->multi, fd, mask, &running);
        }
    }
    if (timer || (l->timer_deadline >= 0 && vc__now_ms() >= l->timer_deadline)) {
        l->timer_deadline = -1;
        curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    int64_t now = vc__now_ms();
    if (l->next_kick_ms >= 0 && now >= l->next_kick_ms) {
        kick(l, &running);
        l->next_kick_ms = -1;
    }
    kick_plan(l, now);
    if (l->jobs)
        jobs_run(l);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(l->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode res = m->data.result;
        if (x)
            finish(l, x, res);
    }
    if (out_woken)
        *out_woken = l->woken;
    l->woken = false;
    return VC_OK;
}

/* Everything but the credentials: those may need an exec plugin first. */
static int xfer_prepare(xfer *x, vc__kloop *l, vc_kube *k, const char *method, const char *path,
                        const char *ctype, const char *body, size_t body_len, int32_t timeout_ms)
{
    x->loop = l;
    x->kube = vc__kube_ref(k);
    x->easy = curl_easy_init();
    snprintf(x->method, sizeof x->method, "%s", method);
    x->start_us = now_us();
    char *url = vc__sprintf("%s%s", k->cfg.server, path);
    x->what = vc__sprintf("%s %s", method, url ? url : path);
    if (!x->easy || !url || !x->what) {
        vc__free(url);
        return vc__error_oom();
    }
    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    vc__free(url);
    curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        x->body = vc__strndup(body, body_len);
        x->ctype_hdr = vc__sprintf("Content-Type: %s", ctype ? ctype : "application/json");
        if (!x->body || !x->ctype_hdr)
            return vc__error_oom();
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (char *)x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    /* a burst of transfers shares the first connection (HTTP/2) instead of
     * opening one each: every TLS handshake is CPU spent inside a step */
    curl_easy_setopt(x->easy, CURLOPT_PIPEWAIT, 1L);
    if (timeout_ms > 0)
        curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    return VC_OK;
}

static int job_start(vc__kloop *l, vc_kube *k, credjob **out);

static credjob *job_of(vc__kloop *l, vc_kube *k)
{
    for (credjob *j = l->jobs; j; j = j->next)
        if (j->kube == k)
            return j;
    return NULL;
}

/* Credentials, then onto the wire. VC__ENEEDCRED: park it (see park()). */
static int xfer_go(vc__kloop *l, xfer *x)
{
    bool refresh = false;
    int r = vc__kube_setup_easy_nb(x->kube, x->easy, &x->headers, &refresh);
    if (r == VC__ENEEDCRED)
        return r;
    if (r < 0) {
        vc__error_prefix("%s", x->what);
        return r;
    }
    if (x->ctype_hdr) {
        struct curl_slist *t = curl_slist_append(x->headers, x->ctype_hdr);
        if (!t)
            return vc__error_oom();
        x->headers = t;
    }
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    /* no compression on streams: libcurl's gzip writer fails on the
     * apiserver's flushed watch chunks ("Failed writing received data") */
    if (x->kind == XF_WATCH)
        curl_easy_setopt(x->easy, CURLOPT_ACCEPT_ENCODING, NULL);
    if (curl_multi_add_handle(l->multi, x->easy) != CURLM_OK)
        return vc__error(VC_EGENERIC, VC_ERRCLASS_HTTP, "%s: cannot add a transfer", x->what);
    if (refresh && !job_of(l, x->kube)) {
        credjob *j = NULL;
        if (job_start(l, x->kube, &j) < 0) /* the current credential still works meanwhile */
            VC__LOGW("kube", "refreshing the exec credential ahead of its expiry: %s", vc_error_last()->message);
    }
    return VC_OK;
}

/* x waits for its connection's exec plugin (started unless running). */
static int park(vc__kloop *l, xfer *x)
{
    credjob *j = job_of(l, x->kube);
    if (!j) {
        int r = job_start(l, x->kube, &j);
        if (r < 0 || !j) {
            vc__error_prefix("%s", x->what);
            return r < 0 ? r : VC_ENOMEM;
        }
    }
    x->parked_on = j;
    x->next_parked = j->parked;
    j->parked = x;
    return VC_OK;
}

static void job_epoll(vc__kloop *l, credjob *j, int op)
{
    for (int i = 0; i < 2; i++) {
        int fd = vc__exec_fd(j->job, i);
        if (fd < 0)
            continue;
        struct epoll_event ev;
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(l->epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev);
    }
}

static int job_start(vc__kloop *l, vc_kube *k, credjob **out)
{
    *out = NULL;
    credjob *j = vc__calloc(1, sizeof(*j));
    if (!j)
        return vc__error_oom();
    int r = vc__exec_start(&j->job, k->cfg.exec, &k->cfg);
    if (r < 0) {
        vc__free(j);
        return r;
    }
    VC__LOGD("kube", "%s: running the exec credential plugin %s", k->cfg.server, k->cfg.exec->command);
    j->kube = vc__kube_ref(k);
    j->recheck_ms = -1;
    job_epoll(l, j, EPOLL_CTL_ADD);
    j->next = l->jobs;
    l->jobs = j;
    *out = j;
    return VC_OK;
}

static void job_free(vc__kloop *l, credjob *j)
{
    job_epoll(l, j, EPOLL_CTL_DEL);
    vc__exec_job_free(j->job);
    vc__kube_unref(j->kube);
    vc__free(j);
}

/* A transfer that cannot start: its request or watch ends with rc (and
 * vc_error_last() as set). */
static void fail_xfer(vc__kloop *l, xfer *x, int rc)
{
    unlink_xf(l, x);
    if (x->kind == XF_REQ) {
        vc__kreq_cb cb = x->cb;
        void *ud = x->ud;
        xfer_free(x);
        if (cb)
            cb(ud, rc, 0, "", 0);
        return;
    }
    watch_end(x->watch, rc);
    x->watch->xf = NULL;
    xfer_free(x);
}

/* Read what the plugins printed; a plugin that ended releases (or fails)
 * the transfers waiting for it. */
static void jobs_run(vc__kloop *l)
{
    for (credjob **pp = &l->jobs; *pp;) {
        credjob *j = *pp;
        vc__exec_cred cred;
        int r = vc__exec_poll(j->job, &cred);
        if (r == VC__EAGAIN) {
            j->recheck_ms = vc__exec_fd(j->job, 0) < 0 && vc__exec_fd(j->job, 1) < 0 ? vc__now_ms() + 5 : -1;
            pp = &j->next;
            continue;
        }
        *pp = j->next; /* detached first: callbacks may start new jobs */
        xfer *parked = j->parked;
        j->parked = NULL;
        int code = r;
        int klass = vc_error_last()->klass;
        char *msg = r < 0 ? vc__strdup(vc_error_last()->message) : NULL;
        if (r == VC_OK)
            vc__kube_exec_install(j->kube, &cred);
        else
            VC__LOGW("kube", "%s", msg ? msg : "exec credential plugin failed");
        job_free(l, j);
        while (parked) {
            xfer *x = parked;
            parked = x->next_parked;
            x->parked_on = NULL;
            x->next_parked = NULL;
            int xr = code;
            if (code == VC_OK) {
                xr = xfer_go(l, x);
                if (xr == VC__ENEEDCRED)
                    xr = vc__error(VC_EAUTH, VC_ERRCLASS_KUBECONFIG,
                                   "%s: the exec plugin's credential expires in less than 10 s", x->what);
            } else {
                vc__error(code, klass, "%s: %s", x->what, msg ? msg : "exec credential plugin failed");
            }
            if (xr < 0)
                fail_xfer(l, x, xr);
        }
        vc__free(msg);
    }
}

int vc__kreq_start(vc__kloop *l, vc_kube *k, const char *method, const char *path, const char *content_type,
                   const char *body, size_t body_len, int32_t timeout_ms, vc__kreq_cb cb, void *user_data)
{
    xfer *x = vc__calloc(1, sizeof(*x));
    if (!x)
        return vc__error_oom();
    x->kind = XF_REQ;
    x->cb = cb;
    x->ud = user_data;
    int r = xfer_prepare(x, l, k, method, path, content_type, body, body_len,
                         timeout_ms > 0 ? timeout_ms : k->timeout_ms);
    if (r == VC_OK) {
        curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, req_write);
        curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
        r = xfer_go(l, x);
        if (r == VC__ENEEDCRED)
            r = park(l, x);
    }
    if (r < 0) {
        x->loop = NULL;
        xfer_free(x);
        return r;
    }
    link_xf(l, x);
    return VC_OK;
}

int vc__watch_start(vc__watch **out, vc__kloop *l, vc_kube *k, const vc__kres *r, const vc__list_opts *o)
{
    *out = NULL;
    vc__list_opts wo = { 0 };
    if (o)
        wo = *o;
    wo.watch = true;
    wo.limit = 0;
    wo.continue_token = NULL;
    vc__kres rr = *r;
    rr.name = NULL;
    vc_buf path = VC_BUF_INIT;
    int rc = vc__kube_path(&path, &rr, &wo);
    if (rc < 0) {
        vc_buf_dispose(&path);
        return rc;
    }
    vc__watch *w = vc__calloc(1, sizeof(*w));
    xfer *x = vc__calloc(1, sizeof(*x));
    if (!w || !x) {
        vc__free(w);
        vc__free(x);
        vc_buf_dispose(&path);
        return vc__error_oom();
    }
    x->kind = XF_WATCH;
    x->watch = w;
    w->xf = x;
    rc = xfer_prepare(x, l, k, "GET", path.ptr, NULL, NULL, 0, 0);
    vc_buf_dispose(&path);
    if (rc == VC_OK) {
        w->what = vc__strdup(x->what); /* for messages after the transfer is gone */
        if (!w->what)
            rc = vc__error_oom();
    }
    if (rc == VC_OK) {
        curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, watch_write);
        curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
        /* detect dead connections on long-lived streams */
        curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPIDLE, 30L);
        curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPINTVL, 10L);
        rc = xfer_go(l, x);
        if (rc == VC__ENEEDCRED)
            rc = park(l, x);
    }
    if (rc < 0) {
        x->loop = NULL;
        xfer_free(x);
        vc__free(w->what);
        vc__free(w);
        return rc;
    }
    link_xf(l, x);
    *out = w;
    return VC_OK;
}

static void watch_unpause(vc__watch *w)
{
    if (w->paused && w->xf && !w->ended && w->line.size - w->rhead < WATCH_BACKLOG_MAX / 2) {
        w->paused = false;
        /* may deliver the chunk held back at once (watch_write) */
        curl_easy_pause(w->xf->easy, CURLPAUSE_CONT);
    }
}

int vc__watch_next(vc__watch *w, const char **type, json_t **obj)
{
    vc__free(w->cur_type);
    w->cur_type = NULL;
    watch_unpause(w);
    const char *line = NULL;
    size_t len = 0;
    while (w->nlines > 0 && len == 0) {
        line = w->line.ptr + w->rhead;
        const char *nl = memchr(line, '\n', w->line.size - w->rhead);
        if (!nl) { /* cannot be: nlines counts them */
            w->nlines = 0;
            break;
        }
        len = (size_t)(nl - line);
        w->rhead += len + 1;
        w->nlines--;
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
            len--;
    }
    if (len == 0)
        return VC_ITEROVER;
    json_error_t je;
    json_t *ev = json_loadb(line, len, 0, &je);
    const char *what = w->what ? w->what : "watch";
    const char *t = json_string_value(json_object_get(ev, "type"));
    json_t *o = json_object_get(ev, "object");
    if (!ev || !t || !json_is_object(o)) {
        vc__error(VC_EAPI, VC_ERRCLASS_API, "%s: malformed watch event (%s)", what, ev ? "no type/object" : je.text);
        json_decref(ev);
        watch_fail(w, VC_EAPI);
        return VC_ITEROVER;
    }
    if (!strcmp(t, "ERROR")) {
        long code = (long)json_integer_value(json_object_get(o, "code"));
        char *body = json_dumps(o, JSON_COMPACT);
        int rc = vc__kube_map_error(code ? code : 500, body, body ? strlen(body) : 0, what);
        vc__free(body);
        json_decref(ev);
        watch_fail(w, code == 410 ? VC_EGONE : rc);
        return VC_ITEROVER;
    }
    const char *rv = json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
    char *rvc = rv ? vc__strdup(rv) : NULL;
    if (rvc) {
        vc__free(w->last_rv);
        w->last_rv = rvc;
    }
    w->cur_type = vc__strdup(t);
    if (!w->cur_type) {
        json_decref(ev);
        watch_fail(w, vc__error_oom());
        return VC_ITEROVER;
    }
    *type = w->cur_type;
    *obj = json_incref(o);
    json_decref(ev);
    return VC_OK;
}

size_t vc__watch_queued(vc__watch *w)
{
    return w->nlines;
}

bool vc__watch_ended(vc__watch *w, int *out_rc)
{
    if (!w->ended || w->nlines > 0)
        return false;
    if (out_rc)
        *out_rc = w->end_rc;
    return true;
}

const char *vc__watch_last_rv(vc__watch *w)
{
    return w->last_rv;
}

void vc__watch_free(vc__watch *w)
{
    if (!w)
        return;
    if (w->xf) {
        xfer *x = w->xf;
        if (x->loop)
            unlink_xf(x->loop, x);
        xfer_free(x);
    }
    vc__free(w->last_rv);
    vc__free(w->cur_type);
    vc__free(w->what);
    vc_buf_dispose(&w->line);
    vc__free(w);
}

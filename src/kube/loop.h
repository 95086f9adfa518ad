/* Non-blocking transfers: one curl multi in socket_action mode feeding one
 * epoll set (with a timerfd for curl's timer and an eventfd for wakeups).
 * The epoll fd is what vc_syncer_get_fd() exports. */
#ifndef VC_KUBE_LOOP_H
#define VC_KUBE_LOOP_H

#include "kube/kube.h"
#include "vcluster/syncer.h"

typedef struct vc__kloop vc__kloop;
typedef struct vc__kreq vc__kreq;
typedef struct vc__watch vc__watch;

int vc__kloop_new(vc__kloop **out);
/* Frees the loop; every request and watch still attached is cancelled
 * (their callbacks are not called) but watches must still be freed. */
void vc__kloop_free(vc__kloop *l);
int vc__kloop_fd(vc__kloop *l);
/* ms until the loop needs to run again for timers (-1: none). */
int64_t vc__kloop_timeout(vc__kloop *l);
/* Wait up to timeout_ms (0: never blocks) for I/O, then process it.
 * Returns VC_OK or an error; `*out_woken` (may be NULL) tells whether
 * vc__kloop_wakeup() was called. */
int vc__kloop_run(vc__kloop *l, int timeout_ms, bool *out_woken);
/* Let vc__kloop_run() stop serving sockets once CLOCK_MONOTONIC passes
 * deadline_us (0: no limit): one socket is always served, the others stay
 * ready for the next run. A TLS handshake or a burst of HTTP/2 frames costs
 * milliseconds; this keeps two of them out of one step. */
void vc__kloop_budget(vc__kloop *l, int64_t deadline_us);
/* Thread-safe. */
int vc__kloop_wakeup(vc__kloop *l);
/* Number of transfers in flight. */
size_t vc__kloop_active(vc__kloop *l);

/* Requests answered, by connection, method and status (0: no answer): the
 * rows of vc_syncer_request_stats_get(). A watch counts at its status. */
typedef struct vc__kreq_row {
    const vc_kube *kube;  /* identity only (the syncer's references keep it) */
    char *host;           /* host:port of its server */
    char method[8];
    int code;
    uint64_t count;
    vc__hist latency;
    vc_syncer_histogram latency_out; /* what vc_syncer_request_stats points to */
} vc__kreq_row;
size_t vc__kloop_rows(vc__kloop *l);
/* Row i (< vc__kloop_rows), valid until the loop is freed or a new row is
 * added. */
vc__kreq_row *vc__kloop_row(vc__kloop *l, size_t i);

/* One-shot async request. `rc` is VC_OK for 2xx, else the mapped error (and
 * vc_error_last() is set during the callback). `body` is borrowed. */
typedef void (*vc__kreq_cb)(void *user_data, int rc, long http, const char *body, size_t body_len);
int vc__kreq_start(vc__kloop *l, vc_kube *k, const char *method, const char *path,
                   const char *content_type, const char *body, size_t body_len,
                   int32_t timeout_ms, vc__kreq_cb cb, void *user_data);

/* A watch stream. Events are queued as they arrive; drain with next(). */
int vc__watch_start(vc__watch **out, vc__kloop *l, vc_kube *k, const vc__kres *r,
                    const vc__list_opts *o);
/* VC_OK with an event (caller owns *obj, *type is borrowed until the next
 * call) or VC_ITEROVER when the queue is empty. */
int vc__watch_next(vc__watch *w, const char **type, json_t **obj);
/* True when the stream has ended and its queue is drained; `*out_rc` gets
 * VC_OK (server closed it: re-watch from the last resourceVersion),
 * VC_EGONE (relist) or another error (backoff and re-watch or relist). */
bool vc__watch_ended(vc__watch *w, int *out_rc);
/* resourceVersion of the newest event seen (incl. bookmarks), or NULL. */
const char *vc__watch_last_rv(vc__watch *w);
size_t vc__watch_queued(vc__watch *w);
void vc__watch_free(vc__watch *w);

/* For tests and fuzzing: a watch with no transfer, fed by hand with raw
 * stream bytes (eof: the server closed the stream). */
vc__watch *vc__watch_new_detached(const char *what);
int vc__watch_feed(vc__watch *w, const char *data, size_t len, bool eof);

#endif

/*
 * vcluster-syncer's parts: logging (log.c), the health and metrics HTTP
 * server on its own thread (http.c), the Prometheus text (metrics.c) and
 * the loop (main.c). Uses only <vcluster.h>.
 */
#ifndef VCLUSTER_SYNCER_DAEMON_H
#define VCLUSTER_SYNCER_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <vcluster.h>

/* ---- log.c: RFC 3339 UTC timestamps, text or JSON lines on stderr ---- */

typedef enum { LOG_TEXT = 0, LOG_JSON = 1 } log_format;

/* Set before any thread starts. */
void log_setup(log_format fmt, int max_level);
/* The vc_log_set() callback: thread-safe (one write(2) per line). */
void log_fn(int level, const char *subsystem, const char *msg, void *ud);
/* A line with printf formatting. */
void logf_(int level, const char *subsystem, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A sync event: in JSON its parts are fields of their own. */
void log_event(int level, const vc_sync_event *ev, const char *what);
/* "2026-12-03T15:55:14.123Z" into buf (>= 32 bytes). */
void log_rfc3339(char *buf, size_t cap);

/* ---- metrics.c: what the loop hands the HTTP thread ---- */

#define SNAP_MAX_CTLS 64
#define SNAP_MAX_ROWS 128
#define SNAP_MAX_BUCKETS 32

typedef struct snap_hist {
    uint64_t count;
    double sum;
    uint32_t n_bounds;
    const double *bounds; /* static in the library */
    uint64_t counts[SNAP_MAX_BUCKETS + 1];
} snap_hist;

typedef struct snap_ctl {
    vc_syncer_controller_stats st; /* its histogram pointers are not used (borrowed) */
    snap_hist rec_time, queue_wait;
} snap_ctl;

typedef struct snap_row {
    int32_t code;
    char cluster[16], host[128], method[8];
    uint64_t count;
    snap_hist latency;
} snap_row;

typedef struct snapshot {
    bool valid;
    int64_t taken_ms;  /* CLOCK_MONOTONIC */
    vc_syncer_stats st;
    int n_ctls, n_rows;
    snap_ctl ctl[SNAP_MAX_CTLS];
    snap_row row[SNAP_MAX_ROWS];
    double step_max_wall, step_max_cpu; /* seconds */
} snapshot;

/* Fill from the syncer (the loop's thread: the syncer is used by one
 * thread at a time). */
void snapshot_take(snapshot *out, vc_syncer *s, double step_max_wall, double step_max_cpu);
/* The Prometheus text exposition (version 0.0.4) into a malloc'd string. */
char *metrics_render(const snapshot *snap, bool stale, size_t *out_len);
/* process start (CLOCK_REALTIME seconds), recorded at startup */
void metrics_set_start_time(void);
/* --leader-elect: the Lease's name, for client-go's
 * leader_election_master_status{name}; set before http_start(). */
void metrics_set_leader_election(const char *lease);

/* ---- http.c: /healthz /livez /readyz /metrics on a thread of its own ---- */

typedef struct http_limits {
    int max_conns;       /* open connections at most; the oldest idle one gives way */
    int read_timeout_ms; /* accept to the end of the request head */
    int write_timeout_ms;/* answer to the last byte sent */
    int metrics_wait_ms; /* how long /metrics waits for a fresh snapshot */
    int stall_ms;        /* /healthz fails when the loop has not turned for this long */
} http_limits;

/* Listen on addr (IPv4 "IP:PORT"), start the thread. */
int http_start(const char *addr, const http_limits *lim, vc_syncer *s);
/* Stop the thread, close every connection. Safe when not started. */
void http_stop(void);
/* The loop, every turn: heartbeat, readiness, and a snapshot when the HTTP
 * thread asked for one. */
void http_loop_turn(vc_syncer *s, bool ready, double step_max_wall, double step_max_cpu);

/* --leader-elect (the loop, on leadership events): whether this process
 * leads, and whether any leader was seen; /readyz says "(standby)". */
void http_set_leader(bool elect, bool leading, bool seen);
int64_t mono_ms(void);

#endif

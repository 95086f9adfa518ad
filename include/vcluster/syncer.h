/*
 * syncer.h: the syncer, driven one step at a time by its host program.
 *
 * The syncer watches the virtual cluster and the host namespace, makes the
 * host hold the translated virtual objects, and brings status home. It owns
 * no thread and no loop: the caller polls vc_syncer_get_fd() (optional) for
 * at most vc_syncer_get_timeout() and calls vc_syncer_step(). Every network
 * exchange is non-blocking (libcurl multi).
 *
 * vc_syncer_step(s, 0, ...) does not wait: it processes what arrived and
 * returns after about 2 ms of work (plus the one item in hand; the dearest
 * is parsing a list page of at most 500 objects), and vc_syncer_get_timeout()
 * reports 0 while work is left, so a flood of watch events or a relist of
 * many objects is spread over many short steps. Exec credential plugins
 * (kubeconfig users[].user.exec: EKS, GKE, OIDC) run beside the loop, their
 * pipes on the syncer's fd: the requests that need the credential wait for
 * it, a credential about to expire is renewed ahead, and a plugin's failure
 * comes back as VC_SYNC_ERROR events. Host names are resolved by libcurl:
 * when it has no asynchronous resolver (no CURL_VERSION_ASYNCHDNS in
 * curl_version_info(); Debian's and most distributions' libcurl use the
 * threaded one) opening a connection may wait for DNS inside a step, and
 * vc_syncer_new() logs a warning saying so. Servers given as IP addresses
 * never wait for DNS.
 *
 * Leader election (VC_SYNCER_LEADER_ELECT, for N syncers of one virtual
 * cluster, e.g. the replicas of the StatefulSet): client-go's algorithm on
 * a coordination.k8s.io/v1 Lease in the host namespace, driven by the step
 * like everything else (no thread; the Lease requests are asynchronous
 * requests of the syncer's loop, and vc_syncer_get_timeout() includes the
 * next try, renewal and the renew deadline). A candidate GETs the Lease
 * every retry period (jittered by up to 1.2 x, as client-go) and takes it
 * (an update with the resourceVersion it read, so only one of several
 * candidates wins) when it is free, released, or its record has not
 * changed for the record's leaseDurationSeconds as measured on the
 * candidate's own monotonic clock since it first saw that record. The
 * leader renews every retry period.
 *
 * A standby (vc_syncer_stats.leader_state VC_LEADER_STANDBY) lists and
 * watches as the leader does, so its caches are warm, but makes no write
 * to either cluster: no creates, updates, patches or deletes, no Events, no
 * status back to the virtual cluster. Becoming leader queues every key
 * again (spread over steps, as at startup).
 *
 * Fencing: a leader writes only while its monotonic clock is before
 * T + renewDeadline, T being the moment it SENT the last renewal that
 * succeeded; past that it stops at once (VC_SYNC_LEADER_LOST), whether or
 * not a renewal is still on the wire. Its writes carry a timeout that ends
 * at most (leaseDuration - renewDeadline) / 2 after that deadline, so none
 * is still being sent later. Another candidate can take the Lease only
 * once it has seen the same record, which the API server wrote after T,
 * unchanged for leaseDuration: no earlier than T + leaseDuration on its
 * clock. So no two syncers write at once as long as (1) clocks advance at
 * nearly the same RATE (only intervals are compared; wall clocks need not
 * agree: the times in the Lease are informational), (2) a step runs at
 * least every (leaseDuration - renewDeadline) / 2 (the defaults: 2.5 s; a
 * process stopped longer, e.g. SIGSTOP, still stops writing at its next
 * step, but a write it had started before could then land late), and (3) the
 * API server applies a request within that half-margin of receiving it.
 * With the defaults the margin is 5 s.
 *
 * vc_syncer_stop() stops writing, waits for writes in flight, and then
 * releases the Lease (holder cleared, leaseDurationSeconds 1, as client-go's
 * ReleaseOnCancel) before the step reports VC_STEP_STOPPED, so a standby
 * takes over at its next try. vc_syncer_free() of a leader not stopped
 * waits up to 1 s for its writes in flight and releases the Lease the same
 * way (at most 1 s more); a process that dies without either leaves the
 * Lease to expire.
 */
#ifndef VCLUSTER_SYNCER_H
#define VCLUSTER_SYNCER_H

#include "common.h"
#include "config.h"
#include "kube.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A running syncer.
 * Threads: used by one thread at a time, except vc_syncer_wakeup() (any
 * thread, or a signal handler). vc_syncer_free() may run on any thread once
 * no call on it is in progress; it holds a reference on both vc_kube.
 * Leader election adds no thread: the Lease is tried and renewed by the
 * steps, so a leader must be stepped at least every (lease duration -
 * renew deadline) / 2 (2.5 s with the defaults) to keep the fencing
 * guarantee, and its vc_syncer_free() may block up to 2 s (see above).
 * @since 0.1
 */
typedef struct vc_syncer vc_syncer;

/** Do not deploy CoreDNS into the virtual kube-system namespace. */
#define VC_SYNCER_NO_COREDNS 0x1u
/** Do not create fake Nodes in the virtual cluster. */
#define VC_SYNCER_NO_FAKE_NODES 0x2u
/** Do not copy host Events into the virtual cluster. */
#define VC_SYNCER_NO_EVENTS 0x4u
/** Keep SA tokens in a host Secret instead of pod annotations. */
#define VC_SYNCER_SECRETS_FOR_SA_TOKENS 0x8u
/** Elect a leader among the syncers of one virtual cluster (a Lease in the
 *  host namespace, see "Leader election" below): only the leader writes.
 *  @since 0.2 */
#define VC_SYNCER_LEADER_ELECT 0x10u

/**
 * Options for vc_syncer_new(). Initialise with vc_syncer_options_init().
 * Strings are copied.
 * @since 0.1
 */
typedef struct vc_syncer_options {
    uint32_t version;           /**< VC_SYNCER_OPTIONS_VERSION */
    uint32_t flags;             /**< VC_SYNCER_* */
    /** Virtual cluster name (required). */
    const char *name;
    /** Host namespace; NULL: "vcluster-<name>". */
    const char *host_namespace;
    /** Host Service fronting the virtual API server; NULL: <name>. Its
     *  ClusterIP is what pods see as KUBERNETES_SERVICE_HOST. */
    const char *service_name;
    /** Cluster domain of the virtual cluster; NULL: "cluster.local". */
    const char *cluster_domain;
    /** vcluster.yaml text (may be NULL): sync.toHost/fromHost options.
     *  Parsed again by vc_syncer_new; prefer `config` (version 3). */
    const char *config_yaml;
    /** CoreDNS image for the virtual kube-system (NULL: a default). */
    const char *coredns_image;
    /** Writes per second toward the host and burst (0: 200 / 400). */
    double host_qps;
    int32_t host_burst;
    /** Reconciles per step at most (0: 256), so a step stays short. */
    int32_t max_reconciles_per_step;
    /** Periodic full resync in seconds (0: 300; < 0: never). */
    int32_t resync_seconds;
    /* ---- version 2 ---- */
    /** The kubelet endpoint fake Nodes advertise (a vc_kubelet_proxy): an IP
     *  address and port. A loopback address is reported as the Node's
     *  InternalIP (after its Hostname) and the port as
     *  status.daemonEndpoints.kubeletEndpoint.Port; any other address gets,
     *  with networking.advanced.proxyKubelets.byIP (the default), a host
     *  Service <name>-node-<node> per fake node with Endpoints at it, and the
     *  Node reports that Service's ClusterIP and port 10250, as upstream.
     *  NULL / 0: Hostname only and port 0 (logs and exec then fail in the
     *  virtual cluster). The virtual API server must run with
     *  --kubelet-preferred-address-types=InternalIP. @since 0.1 (version 2) */
    const char *kubelet_address;
    int32_t kubelet_port;
    /* ---- version 3 ---- */
    /** Parsed values (vcluster.yaml) for sync.toHost/fromHost and
     *  networking.replicateServices, as vc_create_options.config takes them:
     *  read by vc_syncer_new only (borrowed for the call; the syncer keeps
     *  no pointer into it). NULL: config_yaml, else defaults. Setting both
     *  is VC_EINVAL. @since 0.2 (version 3) */
    const vc_config *config;
    /* ---- version 4: leader election (with VC_SYNCER_LEADER_ELECT) ---- */
    /** Name of the coordination.k8s.io/v1 Lease in the host namespace;
     *  NULL: "vcluster-<name>-controller" (upstream's). @since 0.2 (version 4) */
    const char *leader_lease_name;
    /** This syncer's holderIdentity; NULL: the host name (a pod's name)
     *  followed by "_" and 16 random hex digits, unique per vc_syncer.
     *  Two syncers must never share one. @since 0.2 (version 4) */
    const char *leader_identity;
    /** client-go's LeaseDuration, RenewDeadline and RetryPeriod in ms
     *  (0: 15000, 10000, 2000). Must hold lease > renew > 1.2 * retry > 0,
     *  else vc_syncer_new fails with VC_EINVAL. The Lease records the
     *  duration in whole seconds (rounded up); other candidates wait that
     *  long. @since 0.2 (version 4) */
    int32_t lease_duration_ms;
    int32_t renew_deadline_ms;
    int32_t retry_period_ms;
} vc_syncer_options;

#define VC_SYNCER_OPTIONS_VERSION 4
#define VC_SYNCER_OPTIONS_INIT { VC_SYNCER_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * Initialise `opts` to the defaults of options `version`; only the bytes of
 * that version's struct are written (a version-1 caller's struct is
 * smaller).
 * @return VC_OK, VC_EINVAL or VC_EVERSION. @since 0.1
 */
VC_API int vc_syncer_options_init(vc_syncer_options *opts, uint32_t version);

/**
 * Create a syncer between `host` (the host cluster, namespace-scoped access
 * to the host namespace suffices) and `virt` (the virtual cluster, admin).
 * The syncer takes its own references on both connections. No request is
 * made until the first vc_syncer_step(). On success `*out` is owned by the
 * caller and released with vc_syncer_free().
 * @return VC_OK; VC_EINVAL (missing name or connection, or both config
 *   and config_yaml set); VC_EVERSION;
 *   VC_ECONFIG (config_yaml is invalid: the message names line and key;
 *   or a value of config/config_yaml the syncer cannot use);
 *   VC_EINVAL (kubelet_address is not an IP address, kubelet_port out of
 *   range); VC_EIO (the event loop could not be set up). Fields of
 *   versions above opts->version are not read.
 * @since 0.1
 */
VC_API int vc_syncer_new(vc_syncer **out, vc_kube *host, vc_kube *virt, const vc_syncer_options *opts);

/** Release the syncer: in-flight requests are abandoned. NULL-safe. A
 *  leader (VC_SYNCER_LEADER_ELECT) not stopped first stops writing, waits
 *  up to 1 s for its writes in flight and releases its Lease (up to 1 s
 *  more): the only call that may block. @since 0.1 */
VC_API void vc_syncer_free(vc_syncer *syncer);

/**
 * A file descriptor that becomes readable (POLLIN) when the syncer has I/O
 * to process. Valid while the syncer lives; do not read or close it.
 * @return the fd (>= 0), or VC_ENOTSUPPORTED.
 * @since 0.1
 */
VC_API int vc_syncer_get_fd(vc_syncer *syncer);

/**
 * How long the caller may wait (poll on the fd) before the next step:
 * 0 when work is ready, -1 when only I/O can wake it.
 * @return VC_OK or VC_EINVAL.
 * @since 0.1
 */
VC_API int vc_syncer_get_timeout(vc_syncer *syncer, int64_t *out_ms);

/** What a step did (vc_syncer_step() reports it as an int32_t). @since 0.1 */
typedef enum vc_step_state {
    VC_STEP_IDLE = 0,     /**< nothing to do right now */
    VC_STEP_PROGRESS = 1, /**< work was done or is in flight */
    VC_STEP_SYNCED = 2,   /**< caches synced, queue empty, nothing in flight */
    VC_STEP_STOPPED = 3   /**< vc_syncer_stop() completed */
} vc_step_state;

/**
 * Run one step: wait at most `timeout_ms` for I/O (0: never blocks), process
 * what arrived, run due reconciles, and return. `out` (may be NULL) tells
 * what happened: a vc_step_state value (an int32_t, as every enum that
 * crosses the ABI). Errors of individual objects are not returned here:
 * they are reported as events and retried with backoff.
 * @return VC_OK; VC_EINVAL; VC_EIO (the event loop failed).
 * @since 0.1
 */
VC_API int vc_syncer_step(vc_syncer *syncer, int32_t timeout_ms, int32_t *out);

/** Event types. @since 0.1 */
typedef enum vc_sync_event_type {
    VC_SYNC_CREATED_HOST = 1,     /**< a host object was created */
    VC_SYNC_UPDATED_HOST = 2,     /**< a host object was updated */
    VC_SYNC_DELETED_HOST = 3,     /**< a host object was deleted */
    VC_SYNC_UPDATED_VIRTUAL = 4,  /**< a virtual object got status or a new value */
    VC_SYNC_DELETED_VIRTUAL = 5,  /**< a virtual object was deleted (host side gone) */
    VC_SYNC_CREATED_VIRTUAL = 6,  /**< a virtual object was created (node, event, CoreDNS) */
    VC_SYNC_BOUND = 7,            /**< a virtual pod was bound to a node */
    VC_SYNC_ERROR = 8,            /**< a step failed; it will be retried */
    VC_SYNC_READY = 9,            /**< all caches synced for the first time */
    /** This syncer became the leader (kind "Lease", virtual_name the
     *  Lease, host_name this syncer's identity); everything is reconciled
     *  again. @since 0.2 */
    VC_SYNC_LEADER_ACQUIRED = 10,
    /** This syncer stopped leading (it could not renew before the renew
     *  deadline, another holder took the Lease, or it released it on stop);
     *  it writes nothing from now on and stays a candidate. @since 0.2 */
    VC_SYNC_LEADER_LOST = 11,
    /** Another syncer holds the Lease (host_name its identity): reported
     *  when a candidate first sees a holder and on every change. @since 0.2 */
    VC_SYNC_LEADER_CHANGED = 12
} vc_sync_event_type;

/**
 * One thing the syncer did or failed to do. Strings and `error` are owned by
 * the event. Only the library allocates events (vc_syncer_next_event()) and
 * fields are appended in later versions, so never allocate one or copy it
 * by value; `error` is a pointer so that vc_error can grow too.
 * Threads: the caller's; free it on any thread.
 * @since 0.1
 */
typedef struct vc_sync_event {
    int32_t type;                 /**< vc_sync_event_type */
    const char *kind;             /**< "Pod", "Service", ... ("" for READY) */
    const char *virtual_namespace;/**< "" for cluster-scoped */
    const char *virtual_name;
    const char *host_name;        /**< "" when not applicable */
    /** Never NULL: code VC_OK unless type is VC_SYNC_ERROR. */
    const vc_error *error;
} vc_sync_event;

/**
 * Take the next event. On VC_OK `*out` is owned by the caller (free it with
 * vc_sync_event_free()); VC_ITEROVER when none is queued. Events are kept
 * up to a bound (oldest dropped first, counted in the stats).
 * @return VC_OK, VC_ITEROVER or VC_EINVAL.
 * @since 0.1
 */
VC_API int vc_syncer_next_event(vc_sync_event **out, vc_syncer *syncer);

/** Free an event. NULL-safe. @since 0.1 */
VC_API void vc_sync_event_free(vc_sync_event *event);

/**
 * Make a vc_syncer_step() blocked in its wait return early. The only call
 * that may be made from another thread (or a signal handler).
 * @return VC_OK or VC_EIO.
 * @since 0.1
 */
VC_API int vc_syncer_wakeup(vc_syncer *syncer);

/**
 * Ask the syncer to stop: watches are closed, queued work is dropped, and
 * once in-flight writes have finished (and a leader has released its Lease,
 * see above) a step reports VC_STEP_STOPPED.
 * @return VC_OK, VC_EINVAL or VC_EIO (the wakeup could not be signalled).
 * @since 0.1
 */
VC_API int vc_syncer_stop(vc_syncer *syncer);

/** Counters of a syncer. @since 0.1 */
typedef struct vc_syncer_stats {
    uint32_t version;             /**< VC_SYNCER_STATS_VERSION */
    uint32_t informers_synced;    /**< informers that completed their first list */
    uint32_t informers;           /**< informers in all */
    uint32_t queue_depth;         /**< keys waiting (ready or delayed) */
    uint32_t in_flight;           /**< requests on the wire */
    uint32_t events_dropped;
    uint64_t host_writes;         /**< creates/updates/deletes sent to the host */
    uint64_t virtual_writes;      /**< status updates, bindings, ... to the virtual cluster */
    uint64_t errors;              /**< failed reconciles and writes */
    uint64_t relists;             /**< lists after 410 Gone or errors */
    uint64_t reconciles;
    uint64_t virtual_objects;     /**< objects in the virtual caches */
    uint64_t host_objects;        /**< objects in the host caches */
    /* ---- version 2: why objects were refused (each also counts in errors) ---- */
    /** Pods refused by policies.podSecurityStandard. @since 0.1 (version 2) */
    uint64_t refused_pod_security;
    /** Host writes the host refused: quota or admission (403), invalid (422),
     *  bad or too large (400, 413). @since 0.1 (version 2) */
    uint64_t refused_by_host;
    /** Objects not synced because their host name belongs to another virtual
     *  object or to an object this cluster does not manage. @since 0.1 (version 2) */
    uint64_t refused_name_taken;
    /** Warning events put on virtual objects (new ones and repeats). @since 0.1 (version 2) */
    uint64_t warnings;
    /* ---- version 3: leader election ---- */
    /** VC_LEADER_* state of this syncer. @since 0.2 (version 3) */
    uint32_t leader_state;
    /** Times this syncer became the leader. @since 0.2 (version 3) */
    uint32_t leader_acquired;
    /** Lease renewals that succeeded while leading. @since 0.2 (version 3) */
    uint64_t lease_renewals;
    /** Writes the fence withheld: asked for while not leading (a
     *  callback of a read that completed after leadership ended). Never
     *  sent. @since 0.2 (version 3) */
    uint64_t writes_withheld;
} vc_syncer_stats;

#define VC_SYNCER_STATS_VERSION 3

/** vc_syncer_stats.leader_state values. @since 0.2 */
typedef enum vc_leader_state {
    VC_LEADER_DISABLED = 0, /**< no VC_SYNCER_LEADER_ELECT: always writes */
    VC_LEADER_STANDBY = 1,  /**< a candidate: informers warm, writes nothing */
    VC_LEADER_LEADING = 2   /**< holds the Lease: syncs */
} vc_leader_state;

/**
 * Fill `out` (set out->version first; older versions get their fields only).
 * @return VC_OK, VC_EINVAL or VC_EVERSION.
 * @since 0.1
 */
VC_API int vc_syncer_stats_get(vc_syncer *syncer, vc_syncer_stats *out);

/**
 * Per-kind detail as JSON into `out`:
 * {"Pod": {"virtual": N, "host": N, "synced": true}, ...}.
 * @return VC_OK or VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_syncer_stats_json(vc_syncer *syncer, vc_buf *out);

/**
 * A histogram of durations in seconds (a small record the stats below
 * point to; it never grows: a new field means a new struct). `bounds` are the upper bounds of the buckets, ascending, the same
 * for every histogram of the library (static storage); `counts` has
 * n_bounds + 1 entries: counts[i] is the number of observations in
 * (bounds[i-1], bounds[i]] (not cumulative) and counts[n_bounds] those above
 * the last bound. `counts` is borrowed from the syncer: valid until the next
 * call on it. @since 0.2
 */
typedef struct vc_syncer_histogram {
    uint64_t count;               /**< observations */
    double sum;                   /**< their sum in seconds */
    uint32_t n_bounds;
    uint32_t reserved;
    const double *bounds;
    const uint64_t *counts;
} vc_syncer_histogram;

/**
 * What one controller of a syncer did (controller-runtime's per-controller
 * metrics). A reconcile is one call of the controller for one key; its
 * writes run on after it, and their answers are in
 * vc_syncer_request_stats. Strings are static. @since 0.2
 */
typedef struct vc_syncer_controller_stats {
    uint32_t version;             /**< VC_SYNCER_CONTROLLER_STATS_VERSION */
    uint32_t queue_depth;         /**< keys of this controller waiting (ready or delayed) */
    const char *name;             /**< "pods", "services", ... */
    const char *kind;             /**< "Pod", "Service", ... */
    uint64_t reconcile_success;   /**< reconciles that finished (their writes may be in flight) */
    uint64_t reconcile_error;     /**< reconciles that failed (retried with backoff) */
    uint64_t reconcile_requeue;   /**< reconciles that asked to run again shortly */
    uint64_t reconcile_requeue_after; /**< ... after a given wait (the host write limiter) */
    uint64_t queue_adds;          /**< keys that entered the queue (not counting duplicates) */
    uint64_t queue_retries;       /**< keys put back after a failure or a requeue */
    uint64_t virtual_objects;     /**< objects in its virtual cache */
    uint64_t host_objects;        /**< objects in its host cache */
    uint32_t synced;              /**< 1 when its informers have listed */
    uint32_t reserved;
    /** Time in the reconcile call; borrowed: valid until the next call on the syncer. */
    const vc_syncer_histogram *reconcile_time;
    /** From a key being due to its reconcile; borrowed as reconcile_time. */
    const vc_syncer_histogram *queue_wait;
} vc_syncer_controller_stats;

#define VC_SYNCER_CONTROLLER_STATS_VERSION 1

/**
 * Fill `out` (set out->version first) with controller `index` of the
 * syncer (0, 1, ... in start order; only the controllers that run).
 * @return VC_OK; VC_ITEROVER when index is past the last controller;
 *   VC_EINVAL; VC_EVERSION.
 * @since 0.2
 */
VC_API int vc_syncer_controller_stats_get(vc_syncer *syncer, uint32_t index, vc_syncer_controller_stats *out);

/**
 * The requests of a syncer to one API server with one method and one answer
 * (client-go's rest_client_requests_total rows). A watch counts once, when
 * its answer's status arrives; its latency is the time to that status.
 * Strings are owned by the syncer: valid until it is freed. @since 0.2
 */
typedef struct vc_syncer_request_stats {
    uint32_t version;             /**< VC_SYNCER_REQUEST_STATS_VERSION */
    int32_t code;                 /**< HTTP status; 0: no answer (connection, TLS or timeout) */
    const char *cluster;          /**< "host" or "virtual" */
    const char *host;             /**< the API server's host:port */
    const char *method;           /**< "GET", "POST", "PUT", "PATCH", "DELETE" */
    uint64_t count;
    /** Start to answer (whole body; a watch: its status); borrowed: valid
     *  until the next call on the syncer. */
    const vc_syncer_histogram *latency;
} vc_syncer_request_stats;

#define VC_SYNCER_REQUEST_STATS_VERSION 1

/**
 * Fill `out` (set out->version first) with row `index` of the syncer's
 * request counts (rows appear as new combinations are seen, and stay).
 * @return VC_OK; VC_ITEROVER past the last row; VC_EINVAL; VC_EVERSION.
 * @since 0.2
 */
VC_API int vc_syncer_request_stats_get(vc_syncer *syncer, uint32_t index, vc_syncer_request_stats *out);

#ifdef __cplusplus
}
#endif
#endif

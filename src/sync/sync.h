/* Internal syncer: informers, the work queue, the controllers per kind. */
#ifndef VC_SYNC_SYNC_H
#define VC_SYNC_SYNC_H

#include <jansson.h>
#include <time.h>

#include "kube/loop.h"
#include "translate/translate.h"
#include "util/map.h"
#include "vcluster/syncer.h"

typedef struct vc__informer vc__informer;
typedef struct vc__ctl vc__ctl;

/* ---- informer: paginated list, then watch from its resourceVersion ---- */
typedef enum {
    VC__INF_IDLE = 0,
    VC__INF_LISTING,
    VC__INF_WATCHING,
    VC__INF_BACKOFF,
    VC__INF_STOPPED
} vc__inf_state;

/* Called for every change. nobj is the whole object as the server sent it
 * (NULL on delete). old is the cached, slimmed object before the change:
 * always given on delete (then it may also be the server's final object), on
 * updates only when the informer has want_old set; NULL on add. Both
 * borrowed for the call. */
typedef void (*vc__inf_fn)(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj);
/* Reduce an object to what reconciling needs (in place), before it is cached
 * (may be NULL: every cached object loses its managedFields anyway). ud is
 * the informer's handler data. */
typedef void (*vc__slim_fn)(void *ud, json_t *obj);

struct vc__informer {
    vc_syncer *s;
    vc_kube *kube;           /* borrowed from the syncer */
    char *api_version, *resource, *ns, *label_selector, *field_selector;
    char *what;              /* "virtual pods", for messages */
    char *kind;              /* set on objects (list items carry none) */
    /* key -> cache entry: the resourceVersion and the slimmed object as
     * compact JSON text, parsed again when reconciling needs it. Text costs
     * about a tenth of a jansson tree (issue 5: 10,000 pods in < 64 MiB). */
    vc__map cache;
    uint32_t list_gen;       /* the current list's generation (see informer.c) */
    vc__inf_state state;
    char *rv;
    char *cont;
    vc__watch *w;
    int failures;
    int64_t next_ms;         /* backoff deadline */
    bool synced;
    bool list_in_flight;
    /* A list page that arrived, kept as text and applied an item at a time
     * while the step's budget lasts (parsing 500 objects at once costs more
     * than a step may): page_pos is where the scan of the body stands. */
    vc_buf page;
    bool page_pending;
    bool page_in_items;      /* the scan is inside "items": [ */
    bool page_has_items;
    size_t page_pos;
    char *page_cont, *page_rv; /* from the page's metadata */
    vc__inf_fn fn;
    void *ud;
    vc__slim_fn slim;
    bool no_cache;           /* hand objects to fn, keep nothing (events) */
    bool want_old;           /* fn needs the cached object on updates too */
    uint64_t relists, events;
};

int vc__informer_new(vc__informer **out, vc_syncer *s, vc_kube *kube, const char *what, const char *api_version,
                     const char *resource, const char *ns, const char *label_selector, vc__slim_fn slim,
                     vc__inf_fn fn, void *ud);
/* Set the Kind stamped on cached objects. */
int vc__informer_set_kind(vc__informer *inf, const char *kind);
void vc__informer_free(vc__informer *inf);
/* Advance: apply list pages and queued watch events (until the step's
 * budget is spent, see vc__step_over), start lists/watches. Returns the
 * number of objects handled. */
int vc__informer_tick(vc__informer *inf, int64_t now);
/* ms until the informer needs a tick for a timer (-1: none). */
int64_t vc__informer_timeout(vc__informer *inf, int64_t now);
/* The cached object for key, parsed: *out is a new reference, or NULL when
 * the key is not cached. Fails only when out of memory. */
int vc__informer_load(vc__informer *inf, const char *key, json_t **out);
bool vc__informer_has(vc__informer *inf, const char *key);
/* Iterate the cache: *it = 0 first; the text is the slimmed object. */
bool vc__informer_next(vc__informer *inf, size_t *it, const char **key, const char **text);
size_t vc__informer_count(vc__informer *inf);
void vc__informer_stop(vc__informer *inf);

/* ---- the work queue: deduplicated keys with per-key backoff ---- */
typedef struct vc__qitem {
    char *key;               /* "<ctl>|ns/name" */
    int64_t due;             /* when delayed */
    int failures;
    int inflight;            /* writes on the wire for this key */
    bool queued;             /* in ready or delayed */
    bool dirty;              /* changed while in flight: run again after */
    bool high;               /* goes before the others (see vc__queue_add_high) */
    bool dead;               /* forgotten while ring places still point at it */
    uint32_t places;         /* ring places pointing at it (live or stale) */
    int64_t retry_ms;        /* VC_ITEROVER: wait this long (0: the default 1 s) */
    uint8_t slot;            /* its controller's stats slot (vc__queue.slot_of) */
    int64_t ready_us;        /* monotonic: when it is (or was) due */
    int64_t wait_us;         /* set by vc__queue_pop: how long it waited, due to popped */
} vc__qitem;

typedef struct vc__ring {
    vc__qitem **v;
    size_t head, len, cap;
} vc__ring;

/* Per-controller queue counts (controller-runtime's workqueue_* metrics),
 * by slot: the syncer's controller index. */
#define VC__QUEUE_SLOTS 64

typedef struct vc__queue {
    vc__map items;           /* key -> vc__qitem* */
    /* the slot of a new key (NULL: 0) */
    int (*slot_of)(void *ud, const char *key);
    void *slot_ud;
    uint32_t depth[VC__QUEUE_SLOTS];
    uint64_t adds[VC__QUEUE_SLOTS], retries[VC__QUEUE_SLOTS];
    vc__ring ready_high;     /* FIFO rings: high first */
    vc__ring ready;
    vc__qitem **delayed;
    size_t d_len, d_cap;
    int64_t d_next;          /* earliest due among delayed (INT64_MAX: none) */
} vc__queue;

void vc__queue_init(vc__queue *q);
void vc__queue_clear(vc__queue *q);
/* Enqueue now (dedup) or after delay_ms. */
int vc__queue_add(vc__queue *q, const char *key, int64_t delay_ms, int64_t now);
/* Enqueue now, ahead of every key that is not high itself: work that puts a
 * new workload on the host goes before status and bookkeeping. The mark
 * lasts until the key is next reconciled. */
int vc__queue_add_high(vc__queue *q, const char *key, int64_t now);
/* Pop a ready item (moves due delayed ones first); NULL when none. */
vc__qitem *vc__queue_pop(vc__queue *q, int64_t now);
/* Reconcile finished: forget on success, or requeue with backoff. */
void vc__queue_done(vc__queue *q, vc__qitem *it, int rc, int64_t now);
vc__qitem *vc__queue_item(vc__queue *q, const char *key);
int64_t vc__queue_timeout(vc__queue *q, int64_t now);
size_t vc__queue_depth(vc__queue *q);
/* Drop an idle item (no queue, no in-flight). */
void vc__queue_forget(vc__queue *q, vc__qitem *it);

/* ---- controllers ---- */
typedef enum { VC__SIDE_VIRT = 0, VC__SIDE_HOST = 1 } vc__side;

/* Controllers find each other by id (vc__sync_ctl_of), never by name. */
typedef enum vc__ctl_id {
    VC__CTL_NAMESPACES = 0,
    VC__CTL_SERVICES,
    VC__CTL_CONFIGMAPS,
    VC__CTL_SECRETS,
    VC__CTL_ENDPOINTS,
    VC__CTL_PVCS,
    VC__CTL_PODS,
    VC__CTL_KUBE_ENDPOINTS,
    VC__CTL_NODES,
    VC__CTL_EVENTS,
    VC__CTL_COREDNS,
    VC__CTL_REPLICATE,
    VC__CTL_DEPLOY,
    VC__CTL_FROMHOST_CONFIGMAPS,
    VC__CTL_FROMHOST_SECRETS,
    VC__CTL_KUBE_SERVICE,
    VC__CTL_CRDS,            /* sync.toHost/fromHost.customResources (crds.c) */
    VC__CTL_INGRESSES,          /* sync.toHost.ingresses (generic.c) */
    VC__CTL_NETWORKPOLICIES,    /* sync.toHost.networkPolicies */
    VC__CTL_PDBS,               /* sync.toHost.podDisruptionBudgets */
    VC__CTL_SERVICEACCOUNTS,    /* sync.toHost.serviceAccounts */
    VC__CTL_PRIORITYCLASSES,    /* sync.toHost.priorityClasses (cluster-scoped) */
    VC__CTL_FH_INGRESSCLASSES,  /* sync.fromHost.ingressClasses (fromhost.c) */
    VC__CTL_FH_PRIORITYCLASSES, /* sync.fromHost.priorityClasses */
    VC__CTL_FH_RUNTIMECLASSES,  /* sync.fromHost.runtimeClasses */
    VC__CTL_FH_CSIDRIVERS,      /* sync.fromHost.csiDrivers */
    VC__CTL_FH_CSINODES,        /* sync.fromHost.csiNodes */
    VC__CTL_FH_CSISTORAGECAPACITIES, /* sync.fromHost.csiStorageCapacities */
    VC__CTL_PVS,
    VC__CTL_STORAGECLASSES,
    VC__CTL_KUBECONFIG,         /* the exported kubeconfig Secret vc-<vc> (kubeconfig.c) */
    VC__CTL_COUNT
} vc__ctl_id;

struct vc__ctl {
    const char *name;        /* "pods" */
    const char *kind;        /* "Pod" */
    const vc__kind *tk;      /* translate kind, or NULL */
    vc__informer *virt, *host;
    /* Reconcile one virtual key "ns/name" (or "name"). Returns VC_OK when done
     * (writes may be in flight), < 0 to retry with backoff, > 0 (VC_ITEROVER)
     * to retry after a short wait without counting an error. */
    int (*reconcile)(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey);
    /* Per-step hooks, each may be NULL. tick runs every step before the
     * queue (synced: every informer of every controller has listed), drain
     * after it (work that yields to the queue's creates); both return the
     * items of work done. timeout: ms until a hook wants a step (0: now,
     * -1: nothing pending). The core calls no controller by name. */
    int (*tick)(vc_syncer *s, vc__ctl *c, bool synced, int64_t now);
    int (*drain)(vc_syncer *s, vc__ctl *c);
    int64_t (*timeout)(vc_syncer *s, vc__ctl *c, int64_t now);
    /* Stop informers the controller keeps itself (may be NULL): called by
     * vc_syncer_stop and before the loop goes in vc_syncer_free. */
    void (*stop)(vc_syncer *s, vc__ctl *c);
    void *state;
    void (*free_state)(void *);
    /* stats (vc_syncer_controller_stats_get) */
    uint64_t rec_ok, rec_err, rec_requeue, rec_requeue_after;
    vc__hist rec_time, queue_wait;
    vc_syncer_histogram rec_time_out, queue_wait_out; /* what the stats point to */
};

typedef struct vc__svcmap {
    bool from_host;          /* fromHost (host -> virtual) or toHost */
    char *from_ns, *from_name, *to_ns, *to_name;
    bool applied;
} vc__svcmap;

#define VC__MAX_CTLS VC__CTL_COUNT
_Static_assert(VC__MAX_CTLS <= VC__QUEUE_SLOTS, "a queue stats slot per controller");
/* Async writes in flight at most (a burst had 1,846 open without a cap, and
 * the virtual API server's Lease updates timed out). */
#ifndef VC__SYNC_MAX_IN_FLIGHT
#define VC__SYNC_MAX_IN_FLIGHT 128
#endif
#define VC__MAX_EVENTS 4096
/* The work one step does after its I/O (watch events, list items,
 * reconciles, copied Events) stops when this much time has passed; what is
 * left makes vc_syncer_get_timeout() return 0. Single items are not split:
 * the longest step is this plus the dearest item (parsing one list page of
 * at most 500 objects is the dearest). */
#ifndef VC__STEP_BUDGET_US
#define VC__STEP_BUDGET_US 2000
#endif

/* Leader election (leader.c): client-go's Lease lock, step-driven. */
typedef struct vc__leader {
    bool enabled;            /* VC_SYNCER_LEADER_ELECT */
    bool leading;            /* holds the Lease (writes while now < fence_ms) */
    bool pending;            /* a Lease request on the wire (one at a time) */
    bool fast_ok;            /* the leader may renew on its last object */
    bool want_release;       /* vc_syncer_stop of a leader: release once idle */
    bool released;           /* the release was sent (or given up) */
    int op;                  /* the request on the wire */
    char *name, *identity, *path, *coll;
    int64_t lease_ms, renew_ms, retry_ms;
    int64_t next_ms;         /* next try or renewal */
    int64_t sent_ms;         /* when the request on the wire was sent */
    int64_t fence_ms;        /* leading: the renew deadline (monotonic) */
    int64_t stop_fence_ms;   /* the fence before vc_syncer_stop shut it */
    char *rv;                /* resourceVersion of the last Lease seen */
    char acquire_time[40];
    int64_t transitions;
    char *observed_rv;       /* the record whose expiry is being timed */
    int64_t observed_ms;     /* when it was first seen */
    char *holder;            /* its holder ("" none) */
    uint64_t acquired, lost, renewals, withheld;
} vc__leader;

struct vc_syncer {
    vc_kube *host, *virt;
    vc__kloop *loop;
    vc_translator *tr;
    const vc_config *cfg;    /* the values, while vc_syncer_new runs (controllers' init); NULL after */
    char *name, *host_ns, *service_name, *domain, *coredns_image;
    uint32_t flags;
    vc__ctl ctls[VC__MAX_CTLS];
    int n_ctls;
    vc__ctl *by_id[VC__CTL_COUNT]; /* NULL: that controller is off */
    vc__queue q;
    /* output events */
    vc_sync_event **events;
    size_t ev_head, ev_len, ev_cap;
    uint64_t events_dropped;
    /* host write rate limit */
    double host_qps, host_burst, host_tokens;
    int64_t host_tokens_ms;
    int64_t retry_hint_ms;   /* set by vc__host_token when it says wait */
    int32_t max_per_step;
    int32_t q_last_slot;     /* the queue's last stats slot (queue_slot_of) */
    int64_t resync_ms, next_resync_ms;
    /* runtime facts */
    char *kube_ip, *dns_ip, *owner_uid;
    bool kube_ip_pending;
    int64_t kube_ip_next_ms;
    bool coredns_done, coredns_pending;
    int32_t coredns_replicas;          /* controlPlane.coredns.deployment.replicas */
    int64_t coredns_next_ms;
    bool ready_reported;
    bool stopping, stopped;
    bool enq_pending;                  /* enqueue_all in progress (syncer.c) */
    bool virt_version_pending;         /* nodes.c: GET /version in flight */
    bool all_configmaps, all_secrets;  /* sync.toHost.{configMaps,secrets}.all */
    bool set_owner;                    /* experimental.syncSettings.setOwner */
    bool from_host_storage_classes;    /* sync.fromHost.storageClasses ("auto" resolved) */
    char *from_host_sc_selector;       /* its selector as a label selector, or NULL */
    json_t *cr_to_host, *cr_from_host; /* sync.{toHost,fromHost}.customResources (copies) */
    json_t *from_host;                 /* fromhost.c: enabled-key -> label selector ("" = all) */
    vc__svcmap *svcmaps;               /* networking.replicateServices */
    size_t n_svcmaps;
    int64_t next_replicate_ms;
    size_t in_flight;        /* our async writes */
    /* references of virtual pods to configmaps/secrets/pvcs: "kind|ns/name" -> count */
    vc__map refs;
    vc__map pod_refs;        /* virtual pod key -> "UID\nREF\n..." (generic.c) */
    /* host nodes used by synced pods: node -> count */
    vc__map node_use;
    /* Warning events on virtual objects (warn.c) */
    vc__map warns;                     /* "kind|ns/name|message" -> record */
    uint64_t warn_seq, warnings;
    uint64_t refused_pod_security, refused_by_host, refused_name_taken;
    char *pss;                         /* policies.podSecurityStandard, or NULL */
    int64_t next_lease_ms;
    /* what fake nodes report (nodes.c): the kubelet proxy's endpoint and the
     * virtual API server's version (GET /version once) */
    char *kubelet_address;
    char *virt_version;
    int64_t virt_version_next_ms;
    int32_t kubelet_port;
    int32_t virt_version_failures;
    /* stats */
    uint64_t host_writes, virtual_writes, errors, reconciles;
    int64_t step_deadline_us; /* monotonic: the current step's work budget */
    /* enqueue_all in progress (syncer.c): cache position, the cache's slots
     * when the position was taken, controller */
    size_t enq_it;
    const void *enq_slots;
    int enq_ctl;
    uint32_t tick_rr;         /* the informer a step starts with */
    /* sync.fromHost.nodes (realnodes.c): real host nodes instead of fake
     * ones, chosen at startup */
    bool real_nodes, nodes_all, nodes_sync_back, nodes_clear_images;
    bool proxy_by_hostname, proxy_by_ip;
    bool virtual_scheduler;   /* controlPlane.advanced.virtualScheduler (pods wait for it) */
    json_t *node_labels;      /* selector.labels, or NULL */
    vc__leader le;            /* leader election (leader.c) */
    uint64_t write_seq;       /* writes sent (their number in the debug log) */
};

static inline int64_t vc__sync_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* True when the current step has spent its budget (VC__STEP_BUDGET_US). */
static inline bool vc__step_over(const vc_syncer *s)
{
    return vc__sync_now_us() >= s->step_deadline_us;
}

/* ---- leader election (leader.c) ---- */
/* Read the options (VC_SYNCER_LEADER_ELECT and version 4's fields). */
int vc__leader_init(vc_syncer *s, const vc_syncer_options *o);
void vc__leader_free(vc_syncer *s);
/* Try, renew, or lose at the fence; every step. */
void vc__leader_tick(vc_syncer *s, int64_t now);
/* ms until the Lease needs a step (-1: none). */
int64_t vc__leader_timeout(vc_syncer *s, int64_t now);
/* True when a write may go out now: no election, or leading before the
 * fence. */
bool vc__leader_may_write(vc_syncer *s, int64_t now);
/* Controllers run (queue, ticks, drains): the same test. */
bool vc__leader_active(vc_syncer *s, int64_t now);
/* A write's timeout: `dflt` capped to end half the margin after the fence. */
int32_t vc__leader_write_timeout(vc_syncer *s, int64_t now, int32_t dflt);
/* VC_LEADER_* for the stats. */
int vc__leader_state(vc_syncer *s);
/* vc_syncer_stop: shut the fence (nothing new goes out). */
void vc__leader_stop(vc_syncer *s);
bool vc__leader_stop_pending(vc_syncer *s);
/* The stop branch of a step: true while the release is still to be sent
 * (writes in flight) or on the wire. */
bool vc__leader_stop_step(vc_syncer *s, int64_t now);
/* vc_syncer_free of a leader not stopped: wait (bounded) and release. */
void vc__leader_free_release(vc_syncer *s);
/* syncer.c: leadership began, every key again. */
void vc__sync_leader_started(vc_syncer *s);

/* ---- helpers shared by controllers (syncer.c) ---- */
void vc__sync_event(vc_syncer *s, int type, const char *kind, const char *vns, const char *vname,
                    const char *hname, int rc);
/* Split "ns/name" (cluster-scoped: "name") into parts; returns pointers into buf. */
void vc__split_key(const char *key, char *buf, size_t cap, const char **ns, const char **name);
/* Enqueue a controller key. */
void vc__sync_enqueue(vc_syncer *s, vc__ctl *c, const char *vkey, int64_t delay_ms);
/* Enqueue a controller key ahead of the others (vc__queue_add_high). */
void vc__sync_enqueue_high(vc_syncer *s, vc__ctl *c, const char *vkey);
/* The controller named by a queue key's prefix (the core's dispatch only;
 * controllers use vc__sync_ctl_of). */
vc__ctl *vc__sync_ctl(vc_syncer *s, const char *name);

/* An async write; `done` runs with the result (may be NULL). The queue item
 * (may be NULL) is held in flight until it completes. */
typedef void (*vc__write_done)(vc_syncer *s, void *ud, int rc, const char *body, size_t len);
int vc__sync_write(vc_syncer *s, vc__side side, vc__qitem *it, const char *kind, const char *vns,
                   const char *vname, const char *hname, int event_type, const char *method, const char *path,
                   const char *ctype, const char *body, vc__write_done done, void *ud);
/* Path of an object: /api/v1/namespaces/NS/pods/NAME[/sub] */
/* A Warning event "SyncError" with `message` on the virtual object (warn.c):
 * aggregated per object and message, `hname` in the message replaced by
 * `vname`, capped at 1,024 bytes. Best effort: fails only when out of
 * memory. */
int vc__sync_warn(vc_syncer *s, const char *kind, const char *vns, const char *vname, const char *hname,
                  const char *message);
void vc__sync_warns_free(vc_syncer *s);

char *vc__obj_path(const char *api_version, const char *resource, const char *ns, const char *name,
                   const char *sub);
/* True when the host rate limiter grants a write now; else *wait_ms. */
bool vc__host_token(vc_syncer *s, int64_t *wait_ms);

/* Common slimming: drop managedFields. */
void vc__slim_meta(json_t *obj);
/* metadata.uid, or NULL. */
const char *vc__uid_of(const json_t *o);
/* metadata.deletionTimestamp is set. */
bool vc__deleting(const json_t *o);
/* Name ownership: true when host object h records (object-name/namespace,
 * or a pod's name/namespace annotations) a virtual owner other than
 * vns/vname. Two virtual objects can translate to one host name (pod "a" in
 * "b2-x-c2" and pod "a-x-b2" in "c2"); the first owns it, the other is
 * never synced onto it, and nothing deletes or overwrites it for the other. */
bool vc__host_owned_by_other(const json_t *h, const char *vns, const char *vname);
/* Refuse vns/vname because its host name is taken: a Warning event on it,
 * VC_EEXISTS (the key backs off). */
int vc__name_taken(vc_syncer *s, vc__qitem *it, const char *kind, const char *vns, const char *vname,
                   const char *hname);
/* A DeleteOptions body: grace < 0 leaves the grace period to the server;
 * uid (may be NULL) becomes a precondition. NULL when out of memory. */
char *vc__delete_body(const char *uid, json_int_t grace);
/* An async write of a JSON body (dumped compact); see vc__sync_write. */
int vc__sync_write_json(vc_syncer *s, vc__side side, vc__qitem *it, const char *kind, const char *vns,
                        const char *vname, const char *hname, int event_type, const char *method, const char *path,
                        const char *ctype, const json_t *body, vc__write_done done, void *ud);
/* Enqueue every cached virtual key of a controller. */
void vc__sync_enqueue_all(vc_syncer *s, vc__ctl *c);
/* Reconcile a namespaced virtual key and its host twin: loads both cached
 * objects (NULL when absent) and calls fn. For controllers whose host object
 * is the translated name of the virtual one (pods, generic). */
typedef int (*vc__pair_fn)(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey, const char *vns,
                           const char *vname, const char *hname, const json_t *v, const json_t *h);
int vc__reconcile_pair(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey, vc__pair_fn fn);

/* The registration table (controllers.c): every controller the syncer
 * runs, in start order, with its constructor (one file each) and the
 * VC_SYNCER_* flag that leaves it out. Adding a kind is a line there (and,
 * for a generic kind, its translate kind). */
typedef struct vc__ctl_desc {
    vc__ctl_id id;
    /* < 0: error; VC_OK: running; > 0 (VC_ITEROVER): its vcluster.yaml
     * switch is off, the controller is not started (init must have
     * allocated nothing then) */
    int (*init)(vc_syncer *s, vc__ctl *c, int arg);
    int arg;              /* passed to init (the generic controller's vc__kind_id) */
    uint32_t off_flag;    /* VC_SYNCER_* that turns it off, or 0 */
} vc__ctl_desc;
extern const vc__ctl_desc vc__controllers[];
extern const size_t vc__n_controllers;
/* The running controller `id`, NULL when it is off. */
vc__ctl *vc__sync_ctl_of(vc_syncer *s, vc__ctl_id id);

int vc__ctl_pods_init(vc_syncer *s, vc__ctl *c, int arg);
int vc__ctl_generic_init(vc_syncer *s, vc__ctl *c, int kind_id);
int vc__ctl_nodes_init(vc_syncer *s, vc__ctl *c, int arg);
/* nodesvc.c: per-node kubelet Services (proxyKubelets.byIP). The
 * InternalIP fake node `node` advertises: its Service's ClusterIP when
 * node Services are on (NULL until the Service is seen), else the kubelet
 * proxy's address (NULL without a proxy). Borrowed. */
const char *vc__node_ip(vc_syncer *s, const char *node);
bool vc__nodesvc_enabled(const vc_syncer *s);
/* The node Services' port (upstream's constants.KubeletPort): fake nodes
 * report it as their kubelet port while node Services are on. */
#define VC__NODESVC_PORT 10250
void vc__nodesvc_name(const vc_syncer *s, const char *node, char out[VC__NAME_MAX]);
/* The host informer of the Services (c: the fake nodes controller). */
int vc__nodesvc_init(vc_syncer *s, vc__ctl *c);
/* Apply node's Service and Endpoints (server-side apply), once per run
 * and again after the Service was deleted. */
int vc__nodesvc_ensure(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *node);
/* Delete node's Service and Endpoints if there (VC_ITEROVER until the pods
 * controller has listed). */
int vc__nodesvc_remove(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *node);
int vc__ctl_events_init(vc_syncer *s, vc__ctl *c, int arg);
int vc__ctl_kube_endpoints_init(vc_syncer *s, vc__ctl *c, int arg);
int vc__ctl_namespaces_init(vc_syncer *s, vc__ctl *c, int arg);
/* The labels of a virtual namespace (*out a new reference, NULL when none). */
int vc__namespace_labels(vc_syncer *s, const char *ns, json_t **out);
int vc__ctl_coredns_init(vc_syncer *s, vc__ctl *c, int arg);
/* kubeconfig.c: the Secret vc-<vcluster> (exportKubeConfig.*) */
int vc__ctl_kubeconfig_init(vc_syncer *s, vc__ctl *c, int arg);
int vc__ctl_replicate_init(vc_syncer *s, vc__ctl *c, int arg);
int vc__ctl_deploy_init(vc_syncer *s, vc__ctl *c, int arg);
int vc__ctl_kube_service_init(vc_syncer *s, vc__ctl *c, int arg);
/* sync.fromHost.configMaps (secrets = 0) / secrets (1): fromhost_data.c */
int vc__ctl_fromhost_data_init(vc_syncer *s, vc__ctl *c, int secrets);
int vc__ctl_crds_init(vc_syncer *s, vc__ctl *c, int arg);
/* Host objects copied read-only into the virtual cluster (fromhost.c):
 * arg is the controller's own vc__ctl_id, which names its row in
 * fromhost.c's table. */
int vc__ctl_fromhost_init(vc_syncer *s, vc__ctl *c, int arg);
/* Resolve the sync.fromHost switches and selectors of fromhost.c's table
 * into s->from_host (vc_syncer_new's config block). */
int vc__fromhost_configure(vc_syncer *s, const vc_config *cfg);
/* storage.c: PersistentVolumes (fake or synced) and StorageClasses (toHost
 * or fromHost). */
int vc__ctl_pvs_init(vc_syncer *s, vc__ctl *c, int arg);
int vc__ctl_storageclasses_init(vc_syncer *s, vc__ctl *c, int arg);
/* With sync.fromHost.storageClasses.selector, a claim of a class the host
 * does not have among the selected ones is not synced (upstream
 * applyLimitByClass): VC_OK to sync, VC_EFORBIDDEN refused (a Warning event
 * said so), VC_ITEROVER while the host classes are not listed yet. */
int vc__pvc_class_check(vc_syncer *s, const char *vns, const char *vname, const json_t *v);
/* The PVC controller's step before status: the virtual claim `v` gets the
 * volumeName of `nv` (its host-translated state) once that volume exists
 * inside. VC_ITEROVER: wait for the volume; *wrote: the claim was written
 * (status on the next pass). */
int vc__pvc_volume_back(vc_syncer *s, vc__qitem *it, const char *vns, const char *vname, const json_t *v,
                        const json_t *nv, bool *wrote);
/* networking.replicateServices (replicate.c): a mapping, from config. */
int vc__replicate_add(vc_syncer *s, bool from_host, const char *from, const char *to);
void vc__replicate_free(vc_syncer *s);
/* Real nodes (realnodes.c): the nodes controller in its other mode. */
int vc__ctl_real_nodes_init(vc_syncer *s, vc__ctl *c);
/* Renew the virtual kube-node-lease Lease of a node (nodes.c). */
#define VC__NODE_LEASE_PERIOD_MS 10000
void vc__nodes_lease(vc_syncer *s, const char *node);
/* Called by the pods controller when a host pod's node changes. */
void vc__nodes_use(vc_syncer *s, const char *old_node, const char *new_node);
/* Reference counting of pod -> configmap/secret/pvc (generic.c). */
void vc__refs_update(vc_syncer *s, const char *vkey, const json_t *pod);
bool vc__refs_used(vc_syncer *s, const char *kind, const char *ns, const char *name);

#endif

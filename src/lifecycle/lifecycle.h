/* Internal lifecycle: shared host-side helpers and the driver interface. */
#ifndef VC_LIFECYCLE_LIFECYCLE_H
#define VC_LIFECYCLE_LIFECYCLE_H

#include <jansson.h>

#include "config/config.h"
#include "kube/kube.h"
#include "vcluster/lifecycle.h"

/* Labels and annotations on the host objects of a virtual cluster
 * (upstream-compatible where upstream has them). */
#define VC__LC_APP_LABEL "app"
#define VC__LC_APP_VALUE "vcluster"
#define VC__LC_RELEASE_LABEL "release"
#define VC__LC_DRIVER_LABEL "vcluster.loft.sh/driver"
#define VC__LC_CREATED_ANN "vcluster.loft.sh/created"
#define VC__LC_PAUSED_ANN "loft.sh/paused"
#define VC__LC_PAUSED_REPLICAS_ANN "loft.sh/paused-replicas"
#define VC__LC_STATE_ANN "vcluster.loft.sh/state-dir"
#define VC__LC_SERVER_ANN "vcluster.loft.sh/server"
#define VC__LC_VERSION_ANN "vcluster.loft.sh/version"
#define VC__LC_MANAGED_BY "vcluster.loft.sh/managed-by"

/* Everything a driver call needs, resolved once by api.c. */
typedef struct vc__lc {
    vc_kube *host;
    const char *name;
    char *ns;                  /* host namespace */
    uint32_t flags;
    int64_t deadline_ms;       /* monotonic */
    vc_progress_fn progress;
    void *progress_ud;
    bool cancellable;          /* options version >= 2: progress returns int */
    bool canceled;             /* the callback said stop (sticky) */
    char *tick_step, *tick_msg; /* the last step reported, repeated while waiting */
    vc_config *config;         /* never NULL inside drivers (defaults) */
    const char *distro;        /* "k8s", "k3s", "k0s" */
    const char *backing_store; /* "sqlite", "etcd" */
    const char *bin_dir, *syncer_path, *state_root;
    vc_buf *out_manifests;     /* VC_CREATE_PRINT */
} vc__lc;

typedef struct vc__driver {
    const char *name;
    int (*create)(vc__lc *lc);                  /* also upgrade (VC_CREATE_UPGRADE) */
    int (*pause)(vc__lc *lc, const json_t *svc);
    int (*resume)(vc__lc *lc, const json_t *svc);
    int (*remove)(vc__lc *lc, const json_t *svc, uint32_t flags);
    /* Fill state/message/version/server from the host objects (svc = host Service NAME). */
    int (*status)(vc__lc *lc, const json_t *svc, vc_cluster_info *info);
} vc__driver;

extern const vc__driver vc__driver_local;
extern const vc__driver vc__driver_kubernetes;

/* String members of (const) JSON objects, NULL unless strings. */
const char *vc__lc_str(const json_t *o, const char *key);
const char *vc__lc_str2(const json_t *o, const char *a, const char *b);

/* Replace a string field of a vc_cluster_info (the record owns it). */
void vc__lc_info_set(const char **field, const char *value);

/* ---- progress and cancellation ---- */
/* Report a step; VC_ECANCELED (with the error set) when the callback asks to
 * stop, now or earlier. Ignore it only where the work is already complete. */
int vc__lc_step(vc__lc *lc, const char *step, int done, const char *fmt, ...) VC__PRINTF(4, 5);
/* Ask the callback whether to go on while waiting (done = VC_PROGRESS_WAITING,
 * the last step repeated): VC_OK or VC_ECANCELED. */
int vc__lc_tick(vc__lc *lc);
/* Sleep up to `ms` (never past the deadline), ticking every VC__LC_TICK_MS:
 * VC_OK or VC_ECANCELED. Every wait of a driver goes through this. */
int vc__lc_sleep(vc__lc *lc, int64_t ms);
#define VC__LC_TICK_MS 100
/* vc__lc_tick for callbacks that take a void * (vc__proc_stop). */
int vc__lc_tick_cb(void *lc);
int64_t vc__lc_left(vc__lc *lc);   /* ms left before the deadline (>= 0) */
int vc__lc_timeout(vc__lc *lc, const char *what);  /* VC_ETIMEDOUT with a message */
void vc__lc_clear_progress(vc__lc *lc);

/* The backing store a driver deploys (a vc_backing_store value): the
 * config's, unless the explicit backing_store option disagrees (its "etcd"
 * means embedded etcd, its "sqlite" embedded SQLite instead of etcd). */
int vc__lc_store_kind(const vc__lc *lc, const vc_config *cfg);

/* ---- host helpers (blocking, bounded by the connection's timeout) ---- */
/* Create the namespace when missing (annotated vcluster.loft.sh/created=true). */
int vc__lc_ensure_namespace(vc__lc *lc, bool *out_created);
/* Server-side apply of one object (JSON text or object) with our field manager. */
int vc__lc_apply(vc_kube *k, const json_t *obj);
/* GET an object into *out; VC_ENOTFOUND passes through. */
/* dataSourceSecret: the dataSource from the host Secret (common.c); *out
 * NULL when the values name none */
int vc__lc_datasource_secret(vc__lc *lc, char **out);
int vc__lc_get(vc_kube *k, const char *api_version, const char *resource, const char *ns, const char *name,
               json_t **out);
int vc__lc_delete(vc_kube *k, const char *api_version, const char *resource, const char *ns, const char *name);
/* Delete every object of `resource` in ns with label selector `sel`. */
int vc__lc_delete_collection(vc_kube *k, const char *api_version, const char *resource, const char *ns,
                             const char *sel);
/* The host's service CIDR, found by asking the API server to allocate an
 * impossible ClusterIP in a dry run (as upstream does). */
int vc__lc_service_cidr(vc_kube *k, const char *ns, char **out);
/* Labels app=vcluster,release=<name>,vcluster.loft.sh/driver=<driver>. */
json_t *vc__lc_labels(const char *name, const char *driver);
/* The Secret vc-<name> with the virtual kubeconfig (upstream key names). */
json_t *vc__lc_kubeconfig_secret(vc__lc *lc, const char *driver, const char *kubeconfig, const char *ca,
                                 const char *cert, const char *key);
/* Delete the synced workloads (pods with managed-by=<name>) and wait for them. */
int vc__lc_delete_workloads(vc__lc *lc);
/* Delete everything labelled managed-by=<name> plus our own objects. */
int vc__lc_delete_host_objects(vc__lc *lc, uint32_t flags);

#endif

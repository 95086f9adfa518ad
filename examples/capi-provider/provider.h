/* vcluster-capi-provider: a Cluster API infrastructure/control-plane
 * provider for `VCluster` objects (infrastructure.cluster.x-k8s.io/v1alpha1),
 * built only on the public libvcluster API (kube.h, config.h, lifecycle.h).
 * See doc/guide.md, F10. */
#ifndef VC_CAPI_PROVIDER_H
#define VC_CAPI_PROVIDER_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include <vcluster/vcluster.h>

#define CAPI_GROUP "infrastructure.cluster.x-k8s.io"
#define CAPI_VERSION "v1alpha1"
#define CAPI_FINALIZER "vcluster.loft.sh/cleanup"
/* Pause the virtual cluster (scale its control plane to 0) while "true". */
#define CAPI_PAUSE_ANNOTATION "vcluster.loft.sh/paused"
/* Cluster API's own pause: stop reconciling this object at all. */
#define CAPI_RECONCILE_PAUSED "cluster.x-k8s.io/paused"
/* Upstream's limit: the Helm release name (53) less one for its suffixes. */
#define CAPI_MAX_NAME 52

typedef struct provider {
    vc_kube *host;
    const char *watch_namespace;  /* NULL: all namespaces */
    int32_t op_timeout_ms;        /* pause/resume/delete */
    atomic_llong heartbeat;       /* monotonic seconds of the last loop turn */
    atomic_llong reconciles, errors, deploys;
} provider;

/* kapi.c: JSON over vc_kube_request(). */
/* GET/LIST `path` into *out (owned). Returns VC_OK, VC_ENOTFOUND, errors. */
int kapi_get(provider *p, const char *path, json_t **out);
/* `method` with a JSON body (PATCH uses merge-patch unless `ctype` says
 * otherwise); the answer into *out when out != NULL. */
int kapi_send(provider *p, const char *method, const char *path, json_t *body, const char *ctype, json_t **out);
int kapi_delete(provider *p, const char *path);
/* Standard base64 of `n` bytes, malloc'd. */
char *b64_encode(const char *data, size_t n);
/* "2026-12-03T19:00:00Z" now. */
void now_rfc3339(char out[32]);
void plog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* reconcile.c */
/* Reconcile one VCluster object (as listed). Never fails the process:
 * problems end as conditions on the object. Returns 0, or -1 after an error
 * worth counting. */
int reconcile_vcluster(provider *p, json_t *vc);

/* health.c: a tiny HTTP server on its own thread (/healthz, /metrics). */
int health_start(provider *p, const char *addr, int port);

#endif

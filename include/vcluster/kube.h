/*
 * kube.h: a connection to a Kubernetes cluster.
 *
 * A vc_kube is built from a kubeconfig (read exactly as kubectl reads it) or
 * from the in-cluster service-account config. Lifecycle calls and the syncer
 * take it as input and hold a reference on it, so it may be freed by the
 * caller at any time after it was handed over.
 */
#ifndef VCLUSTER_KUBE_H
#define VCLUSTER_KUBE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A connection to one cluster (one context of a kubeconfig). @since 0.1 */
typedef struct vc_kube vc_kube;

/** Use the in-cluster service account instead of a kubeconfig. */
#define VC_KUBE_IN_CLUSTER 0x1u
/** Never retry a request (errors surface at once). */
#define VC_KUBE_NO_RETRY 0x2u
/** Try the in-cluster config when no kubeconfig file is found. */
#define VC_KUBE_IN_CLUSTER_FALLBACK 0x4u

/**
 * Options for vc_kube_new(). Initialise with vc_kube_options_init() or
 * VC_KUBE_OPTIONS_INIT. All strings are copied.
 * @since 0.1
 */
typedef struct vc_kube_options {
    uint32_t version;            /**< VC_KUBE_OPTIONS_VERSION */
    uint32_t flags;              /**< VC_KUBE_* flags */
    /** Kubeconfig path, or a ':'-separated list merged like KUBECONFIG.
     *  NULL: $KUBECONFIG, else ~/.kube/config (kubectl's rules). */
    const char *kubeconfig;
    /** Inline kubeconfig YAML; when set, `kubeconfig` is ignored. */
    const char *kubeconfig_data;
    /** Context to use; NULL: current-context. */
    const char *context;
    /** Namespace override; NULL: the context's namespace, else "default". */
    const char *default_namespace;
    /** Per-request timeout in ms (0: 30000). Watches are not bounded by it. */
    int32_t timeout_ms;
    /** Client-side rate limit: requests per second (0: 50) and burst (0: 100).
     *  A negative qps disables the limiter. */
    double qps;
    int32_t burst;
    /** Retries on 429/5xx/connection errors, honouring Retry-After (0: 5). */
    int32_t max_retries;
    /** Directory of the service-account files for in-cluster config
     *  (NULL: /var/run/secrets/kubernetes.io/serviceaccount). */
    const char *in_cluster_dir;
} vc_kube_options;

#define VC_KUBE_OPTIONS_VERSION 1
#define VC_KUBE_OPTIONS_INIT { VC_KUBE_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0.0, 0, 0, 0 }

/**
 * Initialise `opts` to defaults for options `version`.
 * @return VC_OK or VC_EVERSION.
 * @since 0.1
 */
VC_API int vc_kube_options_init(vc_kube_options *opts, uint32_t version);

/**
 * Connect (lazily: no request is made) to the cluster that `opts` describes.
 * `opts` may be NULL for all defaults. On success `*out` is owned by the
 * caller and released with vc_kube_free().
 * @return VC_OK; VC_ECONFIG for a missing or malformed kubeconfig (the
 *   message names the file, line and field); VC_EINVAL, VC_EVERSION.
 * @since 0.1
 */
VC_API int vc_kube_new(vc_kube **out, const vc_kube_options *opts);

/** Release the caller's reference. NULL-safe. @since 0.1 */
VC_API void vc_kube_free(vc_kube *kube);

/** The server URL (borrowed, valid while `kube` lives). @since 0.1 */
VC_API const char *vc_kube_server(vc_kube *kube);

/** The namespace of the context, or "default" (borrowed). @since 0.1 */
VC_API const char *vc_kube_namespace(vc_kube *kube);

/** The context name in use, or "" for in-cluster (borrowed). @since 0.1 */
VC_API const char *vc_kube_context(vc_kube *kube);

/**
 * One raw request to the API server, with the connection's auth, rate limit,
 * retries and timeout. `path` starts with '/' and may carry a query string.
 * `body` may be NULL; `content_type` NULL means application/json.
 * The response body goes to `out` (may be NULL), whatever the status;
 * `out_http_status` (may be NULL) receives the HTTP status.
 * @return VC_OK for a 2xx answer; otherwise the mapped error
 *   (VC_ENOTFOUND, VC_ECONFLICT, VC_EAPI, VC_ECONNECT, ...) with the server's
 *   Status message in vc_error_last().
 * @since 0.1
 */
VC_API int vc_kube_request(vc_kube *kube, vc_buf *out, int32_t *out_http_status,
                           const char *method, const char *path,
                           const char *body, const char *content_type);

/**
 * The server's version (the gitVersion field of /version, e.g. "v1.37.2")
 * into `out`. @return VC_OK or a request error.
 * @since 0.1
 */
VC_API int vc_kube_server_version(vc_kube *kube, vc_buf *out);

#ifdef __cplusplus
}
#endif
#endif

/*
 * kube.h: a connection to a Kubernetes cluster.
 *
 * A vc_kube is built from a kubeconfig (read exactly as kubectl reads it) or
 * from the in-cluster service-account config. Lifecycle calls and the syncer
 * take it as input and hold a reference on it, so it may be freed by the
 * caller at any time after it was handed over.
 *
 * Exec credential plugins (users[].user.exec) run when a credential is first
 * needed and again before it expires. A blocking call such as
 * vc_kube_request() runs the plugin inside the call (up to 60 s); the
 * syncer runs it beside its loop and never waits for it in a step.
 */
#ifndef VCLUSTER_KUBE_H
#define VCLUSTER_KUBE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A connection to one cluster (one context of a kubeconfig).
 * Threads: calls that take it are made by one thread at a time, except
 * that port-forwards and kubelet proxies opened on it use it on their own
 * threads meanwhile. vc_kube_free() may run on any thread: the reference
 * count its children (vc_syncer, vc_port_forward, vc_kubelet_proxy) hold is
 * atomic, and the last of them to go releases it.
 * @since 0.1
 */
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

/**
 * A TCP connection to one port of a pod, tunnelled through the API server
 * (the pods/portforward subresource, as `kubectl port-forward` does), as a
 * byte stream. One vc_port_forward is one connection to the pod's port: open
 * one per local connection to forward.
 *
 * Threads: a vc_port_forward is used by one thread at a time, except
 * vc_port_forward_cancel(), which any thread or a signal handler may call.
 * Several port-forwards may be opened and used on different threads with
 * the same vc_kube. Each holds a reference on its vc_kube.
 *
 * Protocol (doc/guide.md, "Port forwarding"): a WebSocket with subprotocol
 * v4.channel.k8s.io, which the API server hands through to the kubelet and
 * the kubelet to the container runtime's streaming server; no SPDY. The
 * caller needs `create` (and `get`) on pods/portforward in the namespace.
 * @since 0.1
 */
typedef struct vc_port_forward vc_port_forward;

/**
 * Open a connection to `port` of pod `pod` in namespace `ns`, waiting at
 * most `timeout_ms` (<= 0: the connection's request timeout) for the API
 * server to accept the upgrade. The pod's side of the connection is made
 * when the runtime receives the stream: a refused port shows up as an error
 * from the first vc_port_forward_read(). On success `*out` is owned by the
 * caller: vc_port_forward_free().
 * @return VC_OK; VC_ENOTFOUND (no such pod), VC_EFORBIDDEN, VC_EAPI (the
 *   server refused: vc_error_last() has its message and HTTP status, e.g.
 *   the pod is not running or its node cannot be reached), VC_ECONNECT,
 *   VC_ETLS, VC_ETIMEDOUT, VC_EINVAL.
 * @since 0.1
 */
VC_API int vc_port_forward_open(vc_port_forward **out, vc_kube *kube, const char *ns, const char *pod,
                                uint16_t port, int32_t timeout_ms);

/**
 * Read up to `cap` bytes that the pod sent into `buf`; `*out_n` gets the
 * count. Waits at most `timeout_ms` (0: do not wait; < 0: no limit).
 * @return VC_OK with *out_n > 0; VC_ITEROVER when the pod closed the
 *   connection (and everything it sent was read); VC_ETIMEDOUT when nothing
 *   arrived in time (try again); VC_EAPI with the runtime's message when the
 *   forward failed (e.g. nothing listens on the port); VC_ECANCELED after
 *   vc_port_forward_cancel(); VC_ECONNECT when the connection broke.
 * @since 0.1
 */
VC_API int vc_port_forward_read(vc_port_forward *pf, void *buf, size_t cap, size_t *out_n, int32_t timeout_ms);

/**
 * Send all `n` bytes of `buf` to the pod within `timeout_ms` (< 0: no limit),
 * in frames of at most 32 KiB.
 * @return VC_OK; VC_ETIMEDOUT or VC_ECONNECT (a frame may have been cut: the
 *   stream is unusable, free it); VC_ECANCELED; VC_ESTATE (the stream
 *   already ended).
 * @since 0.1
 */
VC_API int vc_port_forward_write(vc_port_forward *pf, const void *buf, size_t n, int32_t timeout_ms);

/**
 * The socket under the stream, to poll() for POLLIN. Bytes may already wait
 * inside (decrypted by TLS, or a message read in part): before polling,
 * call vc_port_forward_read() with timeout 0 until it returns VC_ETIMEDOUT.
 * @return the fd, or VC_ESTATE once the stream ended.
 * @since 0.1
 */
VC_API int vc_port_forward_get_fd(vc_port_forward *pf);

/**
 * Copy bytes both ways between `fd` (a connected socket or a pipe pair end,
 * not closed by this call) and the pod until one side closes. After `fd`
 * reaches end of file, what the pod still sends is copied until it closes or
 * `idle_timeout_ms` passes (the protocol cannot half-close). With
 * `idle_timeout_ms` > 0, returns VC_ETIMEDOUT after that long without a byte
 * either way; <= 0: no idle limit (2 s after `fd`'s end of file).
 * @return VC_OK when either side closed; VC_EAPI (the runtime's message),
 *   VC_ETIMEDOUT, VC_ECANCELED, VC_ECONNECT, VC_EIO (fd failed).
 * @since 0.1
 */
VC_API int vc_port_forward_splice(vc_port_forward *pf, int fd, int32_t idle_timeout_ms);

/**
 * Make a blocked or later vc_port_forward_read(), _write() or _splice() on
 * `pf` return VC_ECANCELED. Thread-safe and async-signal-safe; the only call
 * that may run concurrently with the others on the same `pf`.
 * @return VC_OK, or VC_EINVAL for NULL.
 * @since 0.1
 */
VC_API int vc_port_forward_cancel(vc_port_forward *pf);

/** Close the connection (a WebSocket close first, bounded to 1 s) and
 *  release `pf`. NULL-safe. @since 0.1 */
VC_API void vc_port_forward_free(vc_port_forward *pf);

#ifdef __cplusplus
}
#endif
#endif

/*
 * kubelet.h: a kubelet API proxy for the virtual cluster's fake nodes.
 *
 * The virtual kube-apiserver serves `kubectl logs`, `exec`, `attach` and
 * `port-forward` by calling the kubelet of the pod's node. Virtual nodes
 * have no kubelet; the syncer advertises this proxy as their kubelet
 * endpoint instead (vc_syncer_options.kubelet_address/kubelet_port). The
 * proxy serves the kubelet paths the API server calls over TLS, accepts
 * only clients whose certificate is signed by the configured client CA (the
 * virtual API server's --kubelet-client-certificate), maps the virtual pod
 * to its host pod (same names as the syncer, and only pods this virtual
 * cluster owns) and forwards to the host API server's pod subresources
 * (log, exec, attach, portforward), relaying upgraded SPDY/WebSocket streams
 * byte for byte.
 *
 * The library owns no thread and no socket: the caller accepts TCP
 * connections and hands each to vc_kubelet_proxy_serve(), typically one
 * thread per connection (examples/controller does this).
 */
#ifndef VCLUSTER_KUBELET_H
#define VCLUSTER_KUBELET_H

#include "common.h"
#include "kube.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A kubelet API proxy.
 * Threads: vc_kubelet_proxy_serve() may run on many threads at once;
 * vc_kubelet_proxy_free() on any thread, even while calls run (the proxy
 * goes when the last returns). It uses its vc_kube on its own connections.
 * @since 0.1
 */
typedef struct vc_kubelet_proxy vc_kubelet_proxy;

/**
 * Options for vc_kubelet_proxy_new(). Initialise with
 * vc_kubelet_proxy_options_init() or VC_KUBELET_PROXY_OPTIONS_INIT; fields
 * are append-only. Strings are copied (files are read) by vc_kubelet_proxy_new().
 * @since 0.1
 */
typedef struct vc_kubelet_proxy_options {
    uint32_t version;              /**< VC_KUBELET_PROXY_OPTIONS_VERSION */
    uint32_t flags;                /**< reserved, 0 */
    /** Virtual cluster name (required): host pods are NAME-x-NS-x-<name>. */
    const char *name;
    /** Host namespace; NULL: "vcluster-<name>". */
    const char *host_namespace;
    /** Serving certificate and private key (PEM). Both NULL: a self-signed
     *  pair is made in memory (the API server does not verify kubelet
     *  certificates unless given --kubelet-certificate-authority). */
    const char *serving_cert_pem;
    const char *serving_key_pem;
    /** The CA that signs the clients' certificates, as a PEM file path or as
     *  PEM text (data wins when both are set). One of them is required:
     *  clients without a certificate signed by it fail the TLS handshake. */
    const char *client_ca_file;
    const char *client_ca_pem;
    /** Bound in ms on the TLS handshake, on reading a request's headers and
     *  on the host API server's answer (0: 30000). Established streams
     *  (logs -f, exec sessions) have no time limit. */
    int32_t timeout_ms;
} vc_kubelet_proxy_options;

#define VC_KUBELET_PROXY_OPTIONS_VERSION 1
#define VC_KUBELET_PROXY_OPTIONS_INIT { VC_KUBELET_PROXY_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * Initialise `opts` (caller-owned) to the defaults of options `version`.
 * @return VC_OK, VC_EINVAL (opts NULL) or VC_EVERSION.
 * @since 0.1
 */
VC_API int vc_kubelet_proxy_options_init(vc_kubelet_proxy_options *opts, uint32_t version);

/**
 * Create a proxy that forwards to the host cluster `host` (it needs get on
 * pods and create on pods/exec, pods/attach, pods/portforward and get on
 * pods/log in the host namespace). The proxy takes its own reference on
 * `host`; it makes its requests on connections of its own, so the caller
 * may keep using `host` on its own thread (a syncer, say) while the proxy
 * serves on others. On success `*out` is owned by the caller and released
 * with vc_kubelet_proxy_free(); `opts` may be freed at once.
 * @return VC_OK; VC_EINVAL (no name, no client CA, bad namespace);
 *   VC_EVERSION; VC_ETLS (a certificate, key or CA is not valid PEM, or the
 *   key does not match the certificate); VC_ENOTFOUND or VC_EIO
 *   (client_ca_file missing or unreadable);
 *   VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_kubelet_proxy_new(vc_kubelet_proxy **out, vc_kube *host, const vc_kubelet_proxy_options *opts);

/**
 * Serve one accepted TCP connection `fd` (the caller keeps ownership and
 * closes it afterwards; the call sets it non-blocking and, at the end,
 * shuts it down for writing and waits up to 2 s for the client to close its
 * side, so that no byte in flight is lost to a reset). Blocks until the
 * exchange ends: the TLS handshake (client certificate required), one
 * request, and its answer; for logs the streamed body, for exec, attach and
 * port-forward the upgraded stream until either side closes. Paths served:
 * GET /healthz; GET /containerLogs/{ns}/{pod}/{container};
 * GET|POST /exec/{ns}/{pod}/{container}, /attach/..., /portForward/{ns}/{pod}.
 * Others get 404 with a JSON Status (metrics and stats are not proxied).
 * Errors of the host API server (403, 404, 500...) reach the client with
 * their status and body.
 *
 * Threads: may be called from many threads at once on the same proxy, one
 * call per connection. To end a call early (shutdown of the caller), call
 * shutdown(fd, SHUT_RDWR) from another thread: the call then returns.
 * vc_kubelet_proxy_free() may be called while calls are running: the proxy
 * is released when the last one returns.
 * @return VC_OK when a request was answered (whatever its HTTP status);
 *   VC_ETLS (handshake failed: no or a foreign client certificate);
 *   VC_ETIMEDOUT (no request within timeout_ms); VC_ECONNECT (the client
 *   went away); VC_EINVAL (proxy NULL or fd < 0).
 * @since 0.1
 */
VC_API int vc_kubelet_proxy_serve(vc_kubelet_proxy *proxy, int fd);

/** Release the caller's reference. NULL-safe. @since 0.1 */
VC_API void vc_kubelet_proxy_free(vc_kubelet_proxy *proxy);

#ifdef __cplusplus
}
#endif
#endif

/*
 * lifecycle.h: create, connect, list, pause, resume and delete virtual
 * clusters in a host cluster.
 *
 * Two drivers place the virtual control plane:
 *  - "kubernetes": a StatefulSet in the host namespace (what upstream does);
 *  - "local": kube-apiserver + kube-controller-manager (+ kine or etcd) as
 *    processes on this machine, with the syncer (`vcluster-syncer`) in the
 *    background; state under $XDG_STATE_HOME/libvcluster/vclusters.
 * Either way the host namespace holds the synced workloads, a Service NAME
 * for the virtual API server and the Secret vc-NAME with its kubeconfig.
 *
 * Calls that wait take a timeout and report progress through a callback.
 */
#ifndef VCLUSTER_LIFECYCLE_H
#define VCLUSTER_LIFECYCLE_H

#include "common.h"
#include "config.h"
#include "kube.h"

#ifdef __cplusplus
extern "C" {
#endif

/** `done` of a vc_progress_fn call: the step starts. @since 0.1 */
#define VC_PROGRESS_STARTED 0
/** `done` of a vc_progress_fn call: the step finished. @since 0.1 */
#define VC_PROGRESS_DONE 1
/** `done` of a vc_progress_fn call: the call is still waiting in the step
 *  last reported (same `step` and `message`); nothing to show, but a
 *  chance to cancel. @since 0.2 */
#define VC_PROGRESS_WAITING 2

/**
 * Progress of a long call, and the way to cancel it. `step` is a short
 * stable id ("namespace", "certificates", "apiserver", "syncer", ...),
 * `message` a human line, `done` VC_PROGRESS_STARTED when the step starts,
 * VC_PROGRESS_DONE when it finished, and VC_PROGRESS_WAITING while the call
 * waits (at least every 250 ms of waiting, repeating the last step and
 * message). Strings are borrowed for the call. The callback runs on the
 * calling thread and must not call the library with the same host
 * connection.
 *
 * Return 0 to go on; any other value cancels (as libgit2's transfer
 * callbacks): the call stops at once, before its next request or wait,
 * and returns VC_ECANCELED. A request already in flight finishes first
 * (bounded by the connection's timeout). What a cancelled call leaves is
 * what a VC_ETIMEDOUT at the same moment would leave; each call says what
 * that is. A non-zero return from the last VC_PROGRESS_DONE of a call that
 * has finished its work is ignored (the call returns VC_OK).
 *
 * Options of version 1 were compiled against a callback returning void:
 * for them the return value is ignored and the call cannot be cancelled.
 * @since 0.1 (int return and VC_PROGRESS_WAITING since 0.2, options version 2)
 */
typedef int (*vc_progress_fn)(const char *step, const char *message, int32_t done, void *user_data);

/** Upgrade an existing virtual cluster in place instead of failing. */
#define VC_CREATE_UPGRADE 0x1u
/** Expose the API server with a LoadBalancer Service (kubernetes driver; the local driver refuses it with VC_EINVAL). */
#define VC_CREATE_EXPOSE 0x2u
/** Only render the host manifests into out_manifests; change nothing. The
 *  stream holds no private key and is the same for the same inputs (for
 *  GitOps): the control plane makes its certificates at first start (an
 *  init container; see vc_cluster_certs_render()). */
#define VC_CREATE_PRINT 0x4u
/** Do not wait for the virtual cluster to become ready. */
#define VC_CREATE_NO_WAIT 0x8u

/**
 * Options for vc_cluster_create(). Initialise with vc_create_options_init().
 * Strings are copied.
 * @since 0.1
 */
typedef struct vc_create_options {
    uint32_t version;             /**< VC_CREATE_OPTIONS_VERSION */
    uint32_t flags;               /**< VC_CREATE_* */
    /** Virtual cluster name (required, a DNS-1123 label). */
    const char *name;
    /** Host namespace; NULL: "vcluster-<name>". */
    const char *host_namespace;
    /** "kubernetes" (default) or "local"; with VC_CREATE_UPGRADE, NULL means
     * the driver the cluster runs with. */
    const char *driver;
    /** "k8s" (default), "k3s" or "k0s"; NULL: from the config. */
    const char *distro;
    /** "sqlite" (default) or "etcd"; NULL: from the config. */
    const char *backing_store;
    /** Parsed values (vcluster.yaml); NULL: defaults. Borrowed for the call. */
    vc_config *config;
    /** local driver: directory with kube-apiserver, kube-controller-manager,
     *  kine, etcd (NULL: $VC_K8S_BINDIR, else PATH, else the newest
     *  ${XDG_CACHE_HOME:-~/.cache}/libvcluster/bin/VERSION that has them,
     *  where tests/cluster/hostcluster builds them). */
    const char *bin_dir;
    /** local driver: the vcluster-syncer executable (NULL: $VC_SYNCER_BIN,
     *  else next to the running program, else PATH). */
    const char *syncer_path;
    /** local driver: state directory root (NULL: XDG state dir). */
    const char *state_dir;
    /** Give up after this many ms (0: 120000). */
    int32_t timeout_ms;
    vc_progress_fn progress;
    void *progress_user_data;
} vc_create_options;

#define VC_CREATE_OPTIONS_VERSION 2
#define VC_CREATE_OPTIONS_INIT { VC_CREATE_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/** @return VC_OK, VC_EINVAL or VC_EVERSION. @since 0.1 */
VC_API int vc_create_options_init(vc_create_options *opts, uint32_t version);

/**
 * Create (or with VC_CREATE_UPGRADE, upgrade) a virtual cluster in `host`
 * and wait until its API server answers and the syncer runs.
 * With VC_CREATE_PRINT nothing is changed: the host manifests are rendered
 * as a YAML stream into `out_manifests` (which may otherwise be NULL).
 * @return VC_OK; VC_EEXISTS (the name or namespace is taken: use
 *   VC_CREATE_UPGRADE); VC_ECONFIG (invalid values); VC_EINVAL;
 *   VC_ETIMEDOUT; VC_ECANCELED (the progress callback said stop);
 *   VC_ENOTFOUND (a binary of the local driver is missing); API errors of
 *   the host.
 * After VC_ETIMEDOUT or VC_ECANCELED: the kubernetes driver keeps what it
 *   applied, so the virtual cluster exists (Pending until its control plane
 *   is Ready) and create with VC_CREATE_UPGRADE finishes it, delete removes
 *   it; the local driver removes what it made (its processes, state
 *   directory, host objects, and the host namespace if it created it), as on
 *   any failure. Cancelled at the first step, nothing was made.
 * @since 0.1
 */
VC_API int vc_cluster_create(vc_kube *host, const vc_create_options *opts, vc_buf *out_manifests);

/** Virtual cluster states. @since 0.1 */
typedef enum vc_cluster_state {
    VC_CLUSTER_UNKNOWN = 0,
    VC_CLUSTER_RUNNING = 1,
    VC_CLUSTER_PAUSED = 2,
    VC_CLUSTER_PENDING = 3,
    VC_CLUSTER_FAILED = 4
} vc_cluster_state;

/**
 * What list and status report about one virtual cluster. Strings are owned
 * by the record (or its list). Threads: the caller's; free it on any thread.
 * @since 0.1
 */
typedef struct vc_cluster_info {
    const char *name;
    const char *host_namespace;
    const char *driver;           /**< "kubernetes" or "local" */
    const char *version;          /**< Kubernetes version of the virtual API server, or "" */
    const char *created;          /**< RFC 3339 */
    const char *server;           /**< how to reach its API server, or "" */
    const char *message;          /**< why it is Pending/Failed, what is degraded when Running, or "" */
    int32_t state;                /**< vc_cluster_state */
    int32_t connected;            /**< 1 when the current kube context points at it */
} vc_cluster_info;

/** A list of virtual clusters. Threads: the caller's; free it on any thread. @since 0.1 */
typedef struct vc_cluster_list vc_cluster_list;

/**
 * The virtual clusters of `host` (all namespaces; `host_namespace` non-NULL
 * limits it). `*out` is owned by the caller: vc_cluster_list_free().
 * @return VC_OK or API errors.
 * @since 0.1
 */
VC_API int vc_cluster_list_get(vc_cluster_list **out, vc_kube *host, const char *host_namespace);
/** Number of entries. @since 0.1 */
VC_API size_t vc_cluster_list_count(vc_cluster_list *list);
/** Entry `i` (borrowed from the list), NULL past the end. @since 0.1 */
VC_API const vc_cluster_info *vc_cluster_list_at(vc_cluster_list *list, size_t i);
/** NULL-safe. @since 0.1 */
VC_API void vc_cluster_list_free(vc_cluster_list *list);

/**
 * Status of one virtual cluster (`host_namespace` NULL: vcluster-<name>).
 * `*out` is owned by the caller: vc_cluster_info_free().
 * @return VC_OK, VC_ENOTFOUND, API errors.
 * @since 0.1
 */
VC_API int vc_cluster_status(vc_cluster_info **out, vc_kube *host, const char *name, const char *host_namespace);
/** NULL-safe. @since 0.1 */
VC_API void vc_cluster_info_free(vc_cluster_info *info);

/**
 * The effective configuration (vcluster.yaml, as vc_config_to_yaml() writes
 * it: defaults and the user's values) that virtual cluster `name` was
 * created or last upgraded with, into `out` (`host_namespace` NULL:
 * vcluster-<name>). Load it with vc_config_load_string() to ask
 * vc_config_distro(), vc_config_backing_store() or vc_config_get().
 * The kubernetes driver keeps it in the host Secret vc-config-<name>, the
 * local driver in its state directory. Replaces the contents of `out`
 * (release with vc_buf_dispose()). This is what `vcluster describe` shows.
 * @return VC_OK, VC_ENOTFOUND (no such cluster, or its configuration is
 *   gone), VC_EIO, API errors.
 * @since 0.2
 */
VC_API int vc_cluster_get_config(vc_buf *out, vc_kube *host, const char *name, const char *host_namespace);

/**
 * A kubeconfig (YAML) for the virtual cluster into `out`, with one context
 * named vcluster_<name>_<namespace>_<host context> (the host context of
 * `host`). `server` (may be NULL) overrides the address written into it.
 * @return VC_OK, VC_ENOTFOUND, VC_ESTATE (paused), API errors.
 * @since 0.1
 */
VC_API int vc_cluster_connect(vc_buf *out, vc_kube *host, const char *name, const char *host_namespace,
                              const char *server);

/**
 * The control plane pod of virtual cluster `name` (kubernetes driver) that a
 * port-forward to its API server should go to: with `pod` set, that pod if
 * it is one of them and Ready; else the Ready one with the lowest name
 * (label selector app=vcluster,release=NAME). Its name goes to `out`, the
 * API server's port inside it (8443) to `out_port` (may be NULL). This is
 * what `vcluster connect` forwards 127.0.0.1:PORT to; the API server's
 * certificate has 127.0.0.1 and localhost among its names for that.
 * @return VC_OK; VC_ENOTFOUND (no such virtual cluster, or `pod` is not one
 *   of its pods); VC_ESTATE (paused, or no pod is Ready: the message says
 *   how many there are); VC_ENOTSUPPORTED (the local driver: its API server
 *   listens on this machine already); API errors.
 * @since 0.1
 */
VC_API int vc_cluster_find_pod(vc_buf *out, int32_t *out_port, vc_kube *host, const char *name,
                               const char *host_namespace, const char *pod);

/** Options of pause, resume and delete. @since 0.1 */
typedef struct vc_cluster_op_options {
    uint32_t version;             /**< VC_CLUSTER_OP_OPTIONS_VERSION */
    uint32_t flags;               /**< VC_DELETE_* for delete */
    int32_t timeout_ms;           /**< 0: 120000 */
    vc_progress_fn progress;
    void *progress_user_data;
    /** local driver: as in vc_create_options (NULL: defaults). */
    const char *bin_dir;
    const char *syncer_path;
    const char *state_dir;
} vc_cluster_op_options;

#define VC_CLUSTER_OP_OPTIONS_VERSION 2
#define VC_CLUSTER_OP_OPTIONS_INIT { VC_CLUSTER_OP_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0 }

/** Keep PersistentVolumeClaims of the virtual cluster on delete. */
#define VC_DELETE_KEEP_PVC 0x1u
/** Delete the host namespace too (only if the virtual cluster created it). */
#define VC_DELETE_NAMESPACE 0x2u

/** @return VC_OK, VC_EINVAL or VC_EVERSION. @since 0.1 */
VC_API int vc_cluster_op_options_init(vc_cluster_op_options *opts, uint32_t version);

/**
 * Pause: stop the control plane (scale to 0 / stop the processes) and
 * delete every workload it created on the host; all data is kept.
 * `opts` may be NULL.
 * @return VC_OK, VC_ENOTFOUND, VC_ESTATE (already paused), VC_ETIMEDOUT,
 *   VC_ECANCELED, API errors. Cancelled after its first step, the cluster
 *   is paused (marked, control plane stopped or scaling to 0) but some host
 *   workloads may remain: resume, then pause again, removes them.
 * @since 0.1
 */
VC_API int vc_cluster_pause(vc_kube *host, const char *name, const char *host_namespace,
                            const vc_cluster_op_options *opts);

/**
 * Resume a paused virtual cluster; the syncer recreates its workloads.
 * @return VC_OK, VC_ENOTFOUND, VC_ESTATE (not paused), VC_ETIMEDOUT,
 *   VC_ECANCELED, API errors. Cancelled while waiting, the kubernetes
 *   driver's cluster is resuming (unmarked, scaled up) and comes up by
 *   itself; the local driver stops what it started and stays paused.
 * @since 0.1
 */
VC_API int vc_cluster_resume(vc_kube *host, const char *name, const char *host_namespace,
                             const vc_cluster_op_options *opts);

/**
 * Delete a virtual cluster and everything it created on the host (and, for
 * the local driver, its processes and state).
 * @return VC_OK, VC_ENOTFOUND, VC_ETIMEDOUT, VC_ECANCELED, API errors.
 *   The Service that marks the cluster goes last, so a timed-out or
 *   cancelled delete can be run again to finish (a process being stopped
 *   when the call is cancelled is killed, never left half-stopped).
 * @since 0.1
 */
VC_API int vc_cluster_delete(vc_kube *host, const char *name, const char *host_namespace,
                             const vc_cluster_op_options *opts);

/**
 * The kubernetes driver's PKI as host Secrets, made without a host
 * connection: what the control plane's init container ("vcluster-syncer
 * certs") creates at first start when the manifests came from
 * VC_CREATE_PRINT, which carry no private keys. Writes a JSON object
 * `{"certs": <Secret NAME-certs>, "kubeconfig": <Secret vc-NAME>}` into
 * `out` (kubeadm file names as Secret keys, values base64).
 * `name`, `host_namespace`: the virtual cluster (required).
 * `config`: its values (cluster domain, controlPlane.proxy.extraSANs); NULL:
 * defaults. `service_ip`: ClusterIP of Service NAME (a SAN; NULL: none).
 * `service_cidr`: the host's service range (its first address is a SAN;
 * NULL: 10.96.0.0/12). `existing_data_json`: the data map of an existing
 * Secret NAME-certs as JSON (NULL: none); what it holds is kept (the API
 * server certificate is reissued when its SANs differ).
 * Threads: any; no shared state.
 * @return VC_OK, VC_EINVAL (missing name, bad JSON), VC_ENOMEM.
 * @since 0.2
 */
VC_API int vc_cluster_certs_render(vc_buf *out, const char *name, const char *host_namespace, vc_config *config,
                                   const char *service_ip, const char *service_cidr,
                                   const char *existing_data_json);

/**
 * Merge the contexts of `kubeconfig_yaml` into the kubeconfig file `path`
 * (NULL: the first file of $KUBECONFIG, else ~/.kube/config; created 0600 if
 * missing), replacing entries of the same names; with `use_context` set,
 * current-context becomes it. The previous current-context is remembered in
 * the file's preferences so vc_kubeconfig_restore_context() can go back.
 * @return VC_OK, VC_ECONFIG (the file is not a kubeconfig), VC_EIO.
 * @since 0.1
 */
VC_API int vc_kubeconfig_merge(const char *path, const char *kubeconfig_yaml, const char *use_context);

/**
 * Remove a context (and its cluster and user entries when nothing else uses
 * them) from the kubeconfig file. If it was current, the previous context is
 * restored. @return VC_OK, VC_ENOTFOUND, VC_ECONFIG, VC_EIO.
 * @since 0.1
 */
VC_API int vc_kubeconfig_remove_context(const char *path, const char *context);

/**
 * Switch back to the context that was current before the last
 * vc_kubeconfig_merge() that changed it. @return VC_OK, VC_ENOTFOUND (none
 * remembered), VC_ECONFIG, VC_EIO.
 * @since 0.1
 */
VC_API int vc_kubeconfig_restore_context(const char *path, vc_buf *out_context);

#ifdef __cplusplus
}
#endif
#endif

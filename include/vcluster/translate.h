/*
 * translate.h: resource translation between a virtual cluster and its host.
 *
 * A vc_translator holds the facts that decide how a virtual object looks on
 * the host: the virtual cluster's name, its host namespace, the cluster
 * domain, the host Service IPs of the virtual API server and of its DNS, and
 * the sync options. Every call is a pure function of the translator and its
 * arguments: no I/O, no clock, no randomness, no global state. Separate
 * translators may be used from separate threads at the same time; one
 * translator is used by one thread at a time.
 *
 * Objects travel as JSON text (any Kubernetes object as `kubectl get -o json`
 * prints it); results are JSON text in a vc_buf (released with
 * vc_buf_dispose()). Names follow upstream vcluster exactly, so a host
 * namespace filled by upstream vcluster reads the same: see doc/translate.md.
 */
#ifndef VCLUSTER_TRANSLATE_H
#define VCLUSTER_TRANSLATE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A translation context. Opaque.
 * Threads: used by one thread at a time; separate translators may be used
 * on separate threads at once. vc_translator_free() on any thread.
 * @since 0.1
 */
typedef struct vc_translator vc_translator;

/* Kinds synced to the host only on request (vc_translate_options.sync_to_host).
 * Pods, Services, Endpoints, EndpointSlices, PersistentVolumeClaims,
 * ConfigMaps and Secrets are always synced. */
#define VC_TRANSLATE_SYNC_INGRESSES 0x01
#define VC_TRANSLATE_SYNC_PRIORITY_CLASSES 0x02
#define VC_TRANSLATE_SYNC_NETWORK_POLICIES 0x04
#define VC_TRANSLATE_SYNC_POD_DISRUPTION_BUDGETS 0x08
#define VC_TRANSLATE_SYNC_SERVICE_ACCOUNTS 0x10
#define VC_TRANSLATE_SYNC_STORAGE_CLASSES 0x20
#define VC_TRANSLATE_SYNC_PERSISTENT_VOLUMES 0x40
#define VC_TRANSLATE_SYNC_ALL 0x7f

/* Behaviour flags (vc_translate_options.flags); 0 is upstream's default. */
/** sync.toHost.pods.rewriteHosts.enabled=false: no /etc/hosts init container. */
#define VC_TRANSLATE_OPT_NO_REWRITE_HOSTS 0x01
/** sync.toHost.pods.useSecretsForSATokens: SA tokens go to a host Secret. */
#define VC_TRANSLATE_OPT_SECRETS_FOR_SA_TOKENS 0x02
/** The virtual cluster runs its own scheduler: affinity, nodeSelector and
 *  topology spread constraints are dropped from host pods. */
#define VC_TRANSLATE_OPT_VIRTUAL_SCHEDULER 0x04
/** sync.fromHost.priorityClasses.enabled: pods keep their priority class. */
#define VC_TRANSLATE_OPT_FROM_HOST_PRIORITY_CLASSES 0x08

/* Per-call flags (vc_translate_to_host(), vc_translate_manifests()). */

/** Apply the API server's defaults first (namespace "default",
 *  dnsPolicy ClusterFirst, enableServiceLinks, serviceAccountName "default"),
 *  as a manifest that never went through an API server needs. */
#define VC_TRANSLATE_APPLY_DEFAULTS 0x01
/** Preview: render missing runtime inputs (kube IP, DNS IP, SA tokens) as
 *  placeholders such as "<kube-ip>" instead of failing with VC_ESTATE. */
#define VC_TRANSLATE_PREVIEW 0x02
/** vc_translate_manifests(): print JSON (one object, or a list when several)
 *  instead of a YAML stream. */
#define VC_TRANSLATE_OUTPUT_JSON 0x100

/**
 * Options for vc_translator_new(). Initialise with vc_translate_options_init()
 * or VC_TRANSLATE_OPTIONS_INIT; fields are append-only. Strings are copied.
 * The fields mirror vcluster.yaml keys so a config loader can fill them.
 * @since 0.1
 */
typedef struct vc_translate_options {
    uint32_t version;          /**< VC_TRANSLATE_OPTIONS_VERSION */
    uint32_t flags;            /**< VC_TRANSLATE_OPT_* */
    uint32_t sync_to_host;     /**< VC_TRANSLATE_SYNC_* (sync.toHost.<kind>.enabled) */
    uint32_t enforce_tolerations_count; /**< entries in enforce_tolerations */
    /** The virtual cluster's name (required): the suffix of every host name. */
    const char *name;
    /** The host namespace; NULL: "vcluster-<name>". */
    const char *host_namespace;
    /** networking.advanced.clusterDomain; NULL: "cluster.local". */
    const char *cluster_domain;
    /** ClusterIP of the host Service <name> (the virtual API server); NULL
     *  until known (vc_translator_set_service_ips()). */
    const char *kube_ip;
    /** ClusterIP of the host copy of kube-system/kube-dns; NULL until known. */
    const char *dns_ip;
    /** UID of the host Service <name>; when set, namespaced host objects get
     *  an owner reference to it (experimental.syncSettings.setOwner). */
    const char *owner_uid;
    /** controlPlane.advanced.workloadServiceAccount.name;
     *  NULL: "vc-workload-<name>". */
    const char *workload_service_account;
    /** sync.toHost.pods.priorityClassName, or NULL. */
    const char *default_priority_class;
    /** sync.toHost.pods.runtimeClassName, or NULL. */
    const char *runtime_class;
    /** sync.toHost.pods.rewriteHosts.initContainer.image;
     *  NULL: "mirror.gcr.io/library/alpine:3.20". */
    const char *rewrite_hosts_image;
    /** sync.toHost.pods.enforceTolerations, kubectl-taint syntax
     *  ("key=value:Effect", "key:Effect", "key", "*"). */
    const char *const *enforce_tolerations;
} vc_translate_options;

#define VC_TRANSLATE_OPTIONS_VERSION 1
#define VC_TRANSLATE_OPTIONS_INIT { VC_TRANSLATE_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * Initialise `opts` (caller-owned) to the defaults of options `version`
 * (all zero but the version: upstream's defaults).
 * @return VC_OK, VC_EINVAL (opts NULL) or VC_EVERSION.
 * @since 0.1
 */
VC_API int vc_translate_options_init(vc_translate_options *opts, uint32_t version);

/**
 * Create a translator. On success `*out` is owned by the caller and released
 * with vc_translator_free(); `opts` may be freed at once.
 * @return VC_OK; VC_EINVAL (missing or invalid name, bad namespace, domain,
 *   IP or toleration; the message names the field); VC_EVERSION; VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translator_new(vc_translator **out, const vc_translate_options *opts);

/**
 * Release a translator and everything it owns. NULL-safe. Results already
 * returned (vc_buf contents) stay valid; borrowed strings from it do not.
 * @since 0.1
 */
VC_API void vc_translator_free(vc_translator *translator);

/**
 * Set (or clear, with NULL) the kube and DNS Service IPs once they are known.
 * The strings are copied. Not thread-safe against concurrent calls on the
 * same translator (as every call).
 * @return VC_OK, VC_EINVAL (not an IP address), VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translator_set_service_ips(vc_translator *translator, const char *kube_ip,
                                         const char *dns_ip);

/**
 * The host namespace (borrowed, valid while `translator` lives).
 * @since 0.1
 */
VC_API const char *vc_translator_host_namespace(vc_translator *translator);

/**
 * The host name of the virtual object (`kind`, `ns`, `name`) into `out`.
 * `kind` is a Kind ("ConfigMap"), a resource ("configmaps") or its singular.
 * `ns` is ignored for cluster-scoped kinds. Cluster-scoped kinds whose sync is
 * off keep their name (they are mirrored from the host).
 * Ownership: results replace the content of the caller's vc_buf outputs
 * (VC_BUF_INIT first; release with vc_buf_dispose()); on error they are
 * left unchanged. Input strings are borrowed for the call only.
 * @return VC_OK; VC_EINVAL (empty name, namespace missing for a namespaced
 *   kind); VC_ENOTSUPPORTED (not a translated kind); VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translate_host_name(vc_buf *out, vc_translator *translator, const char *kind,
                                  const char *ns, const char *name);

/**
 * The virtual origin of a host object (JSON with at least kind and
 * metadata.name): from its vcluster annotations when they are present and
 * consistent, else from its name. `out_namespace` gets "" for cluster-scoped
 * objects. Either out may be NULL.
 * Ownership: results replace the content of the caller's vc_buf outputs
 * (VC_BUF_INIT first; release with vc_buf_dispose()); on error they are
 * left unchanged. Input strings are borrowed for the call only.
 * @return VC_OK; VC_ENOTFOUND (not an object of this virtual cluster, or a
 *   hashed name without annotations); VC_EINVAL (malformed JSON);
 *   VC_ENOTSUPPORTED (kind not translated).
 * @since 0.1
 */
VC_API int vc_translate_virtual_name(vc_buf *out_namespace, vc_buf *out_name,
                                     vc_translator *translator, const char *host_json);

/**
 * The host label key for a virtual label key: `release` and the
 * vcluster.loft.sh namespace/managed-by/controlled-by keys become
 * vcluster.loft.sh/label-<name>-x-<sha256(key)[0:10]>; others are unchanged.
 * Ownership: results replace the content of the caller's vc_buf outputs
 * (VC_BUF_INIT first; release with vc_buf_dispose()); on error they are
 * left unchanged. Input strings are borrowed for the call only.
 * @return VC_OK, VC_EINVAL, VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translate_label_key(vc_buf *out, vc_translator *translator, const char *key);

/**
 * The host label key carrying a virtual *namespace* label on host pods:
 * vcluster.loft.sh/ns-label-<name>-x-<sha256(key)[0:10]>.
 * Ownership: results replace the content of the caller's vc_buf outputs
 * (VC_BUF_INIT first; release with vc_buf_dispose()); on error they are
 * left unchanged. Input strings are borrowed for the call only.
 * @return VC_OK, VC_EINVAL, VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translate_namespace_label_key(vc_buf *out, vc_translator *translator, const char *key);

/**
 * Translate a virtual object to the host object to create, as JSON into `out`.
 *
 * `inputs_json` (may be NULL) carries the runtime facts a pure function cannot
 * look up, as one JSON object:
 *  - "namespaceLabels": {..}  labels of the pod's virtual namespace;
 *  - "services": [..]         the virtual Services of the pod's namespace
 *                             (service-link variables);
 *  - "serviceAccountTokens": [{"volume": "kube-api-access-x", "source": 0,
 *        "token": "...", "annotationSuffix": "ab12cd34"}]  tokens obtained
 *        with the requests of vc_translate_pod_token_requests(); `source`
 *        defaults to the volume's first token source, `annotationSuffix` to
 *        sha256(volume/source/pod)[0:8];
 *  - "hostStorageClassMissing": true  the PVC's storage class does not exist
 *        on the host (it is then translated like a synced one).
 * When SA tokens are kept in a Secret (VC_TRANSLATE_OPT_SECRETS_FOR_SA_TOKENS)
 * the result is a JSON *list*: [pod, secret], the Secret being the host
 * "<pod>-sa-token" Secret (translated name) that holds the tokens.
 * `flags`: VC_TRANSLATE_APPLY_DEFAULTS, VC_TRANSLATE_PREVIEW.
 * Ownership: results replace the content of the caller's vc_buf outputs
 * (VC_BUF_INIT first; release with vc_buf_dispose()); on error they are
 * left unchanged. Input strings are borrowed for the call only.
 * @return VC_OK; VC_EINVAL (malformed object: the message names the field);
 *   VC_ENOTSUPPORTED (the kind is not synced to the host under these
 *   options, or is the special default/kubernetes Service/Endpoints);
 *   VC_ESTATE (a runtime input is missing: kube IP, DNS IP, a token);
 *   VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translate_to_host(vc_buf *out, vc_translator *translator, const char *virtual_json,
                                const char *inputs_json, uint32_t flags);

/**
 * The virtual object after its host object changed: `virtual_json` with the
 * status (and what else flows back: a Service's clusterIP and node ports, a
 * PVC's volumeName and binding annotations) taken from `host_json`. A pod keeps
 * its virtual qosClass and loses statuses of containers the host injected.
 * Ownership: results replace the content of the caller's vc_buf outputs
 * (VC_BUF_INIT first; release with vc_buf_dispose()); on error they are
 * left unchanged. Input strings are borrowed for the call only.
 * @return VC_OK; VC_EINVAL; VC_ENOTSUPPORTED (kinds other than Pod, Service,
 *   PersistentVolumeClaim, Ingress); VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translate_to_virtual_status(vc_buf *out, vc_translator *translator,
                                          const char *host_json, const char *virtual_json);

/**
 * The v1 Binding to POST to the virtual pod's binding subresource once the
 * host pod is scheduled, or "" in `out` when none is needed (host pod not
 * scheduled yet, or already bound to the same node).
 * Ownership: results replace the content of the caller's vc_buf outputs
 * (VC_BUF_INIT first; release with vc_buf_dispose()); on error they are
 * left unchanged. Input strings are borrowed for the call only.
 * @return VC_OK; VC_ECONFLICT (the pods name different nodes: delete the
 *   virtual pod); VC_EINVAL; VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translate_pod_binding(vc_buf *out, vc_translator *translator, const char *host_pod_json,
                                    const char *virtual_pod_json);

/**
 * Bidirectional label and annotation merge (upstream's
 * LabelsBidirectionalUpdate/AnnotationsBidirectionalUpdate): when the
 * virtual metadata changed between `virtual_old_json` and `virtual_json` the
 * change is applied to the host (virtual wins when both changed); else host
 * changes flow back. Results are the full objects with merged metadata.
 * The *_old arguments may be NULL (= unchanged).
 * Ownership: results replace the content of the caller's vc_buf outputs
 * (VC_BUF_INIT first; release with vc_buf_dispose()); on error they are
 * left unchanged. Input strings are borrowed for the call only.
 * @return VC_OK, VC_EINVAL, VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translate_merge_metadata(vc_buf *out_virtual, vc_buf *out_host,
                                       vc_translator *translator, const char *virtual_old_json,
                                       const char *virtual_json, const char *host_old_json,
                                       const char *host_json);

/**
 * The TokenRequests to make against the *virtual* API before translating a pod
 * with projected service-account tokens: a JSON list of {"volume", "source",
 * "namespace", "serviceAccountName", "request": <authentication.k8s.io/v1
 * TokenRequest>}; [] when none.
 * Ownership: results replace the content of the caller's vc_buf outputs
 * (VC_BUF_INIT first; release with vc_buf_dispose()); on error they are
 * left unchanged. Input strings are borrowed for the call only.
 * @return VC_OK, VC_EINVAL, VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translate_pod_token_requests(vc_buf *out, vc_translator *translator,
                                           const char *virtual_pod_json);

/**
 * The ConfigMaps, Secrets and PersistentVolumeClaims a virtual pod uses, with
 * their host names: {"configMaps": [{"name", "hostName"}], "secrets": [..],
 * "persistentVolumeClaims": [..]} (what upstream syncs "only when used").
 * Ownership: results replace the content of the caller's vc_buf outputs
 * (VC_BUF_INIT first; release with vc_buf_dispose()); on error they are
 * left unchanged. Input strings are borrowed for the call only.
 * @return VC_OK, VC_EINVAL, VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translate_pod_references(vc_buf *out, vc_translator *translator,
                                       const char *virtual_pod_json);

/**
 * Translate every document of a YAML or JSON text (a stream of `---`
 * separated documents, a JSON object, or a v1 List) and render what the host
 * would receive: a YAML stream, or with VC_TRANSLATE_OUTPUT_JSON one JSON
 * object (a JSON list when several). Objects that stay in the virtual cluster
 * (Deployments, Namespaces, kinds whose sync is off, default/kubernetes) are
 * left out and described, one line each, in `out_notes` (may be NULL).
 * `inputs_json` (may be NULL) is applied to every document, as in
 * vc_translate_to_host(). `flags` also takes VC_TRANSLATE_APPLY_DEFAULTS and
 * VC_TRANSLATE_PREVIEW.
 * On error nothing is written to `out`, and the message reads
 * "FILE:LINE:COL: field: problem".
 * Ownership: results replace the content of the caller's vc_buf outputs
 * (VC_BUF_INIT first; release with vc_buf_dispose()); on error they are
 * left unchanged. Input strings are borrowed for the call only.
 * @return VC_OK; VC_EINVAL (parse or translation error); VC_ESTATE (a
 *   runtime input is missing and VC_TRANSLATE_PREVIEW is not set); VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_translate_manifests(vc_buf *out, vc_buf *out_notes, vc_translator *translator,
                                  const char *text, size_t len, const char *filename,
                                  const char *inputs_json, uint32_t flags);

#ifdef __cplusplus
}
#endif
#endif

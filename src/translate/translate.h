/*
 * Internal, jansson-level translation API (the syncer calls these directly).
 *
 * Everything here is pure: no I/O, no globals, no clocks, no randomness. A
 * vc_translator is immutable after vc_translator_new() except through
 * vc_translator_set_service_ips(); use one per thread or guard it.
 *
 * Result sharing (read this once): to keep a pod translation within a few
 * hundred allocations, results share immutable leaves with the translator and
 * with each other through json_incref (the KUBERNETES_* env entries, the
 * hostAliases entry, DNS options, the owner reference, common strings). Treat
 * every returned json_t as READ-ONLY; json_deep_copy() it before editing in
 * place. Serialising, comparing and decref'ing are always safe, from any
 * thread (jansson's refcounts are atomic).
 *
 * Errors: every function returns VC_OK or a negative vc_status and sets
 * vc_error_last() (class VC_ERRCLASS_TRANSLATE) with a one-line message of
 * the form "Pod demo/web: spec.containers[0].env[1].name: must be a string".
 * Functions taking a `vc__tr_diag *` (may be NULL) also report the JSON
 * pointer of the offending field so callers holding source positions (the
 * manifest reader) can point at a line and column.
 */
#ifndef VC_TRANSLATE_TRANSLATE_H
#define VC_TRANSLATE_TRANSLATE_H

#include <jansson.h>
#include <stdbool.h>

#include "util/util.h"
#include "vcluster/translate.h"

/* Names are DNS subdomains: 253 characters + NUL. */
#define VC__NAME_MAX 254

/* ---- well-known keys (upstream-compatible spellings) ---- */
#define VC__A_OBJ_NAME "vcluster.loft.sh/object-name"
#define VC__A_OBJ_NAMESPACE "vcluster.loft.sh/object-namespace"
#define VC__A_OBJ_UID "vcluster.loft.sh/object-uid"
#define VC__A_OBJ_KIND "vcluster.loft.sh/object-kind"
#define VC__A_OBJ_HOST_NAME "vcluster.loft.sh/object-host-name"
#define VC__A_OBJ_HOST_NAMESPACE "vcluster.loft.sh/object-host-namespace"
#define VC__A_MANAGED_ANNOTATIONS "vcluster.loft.sh/managed-annotations"
#define VC__A_MANAGED_LABELS "vcluster.loft.sh/managed-labels"
#define VC__L_MARKER "vcluster.loft.sh/managed-by"
#define VC__L_NAMESPACE "vcluster.loft.sh/namespace"
#define VC__L_CONTROLLER "vcluster.loft.sh/controlled-by"
#define VC__L_RELEASE "release"
#define VC__LABEL_PREFIX "vcluster.loft.sh/label"
#define VC__NS_LABEL_PREFIX "vcluster.loft.sh/ns-label"
#define VC__A_POD_NAME "vcluster.loft.sh/name"
#define VC__A_POD_NAMESPACE "vcluster.loft.sh/namespace"
#define VC__A_POD_UID "vcluster.loft.sh/uid"
#define VC__A_POD_SA "vcluster.loft.sh/service-account-name"
#define VC__A_POD_LABELS "vcluster.loft.sh/labels"
#define VC__A_OWNER_REFS "vcluster.loft.sh/owner-references"
#define VC__A_OWNER_SET_KIND "vcluster.loft.sh/owner-set-kind"
#define VC__A_TOKEN_PREFIX "vcluster.loft.sh/token-"
#define VC__A_HOSTS_REWRITTEN "vcluster.loft.sh/hosts-rewritten"
#define VC__A_DISABLE_SUBDOMAIN_REWRITE "vcluster.loft.sh/disable-subdomain-rewrite"
#define VC__A_SAFE_TO_EVICT "cluster-autoscaler.kubernetes.io/safe-to-evict"
#define VC__A_DAEMONSET_POD "cluster-autoscaler.kubernetes.io/daemonset-pod"
#define VC__A_SKIP_TRANSLATE "vcluster.loft.sh/skip-translate"
#define VC__A_HOST_PV "vcluster.loft.sh/host-pv"
#define VC__A_SKIP_BACKSYNC "vcluster.loft.sh/skip-backsync"
/* On host pods only (this library's, not upstream's): the digest of the
 * virtual pod fields an update carries, as last applied (pod_update.c). */
#define VC__A_POD_UPDATE_DIGEST "vcluster.loft.sh/pod-update-digest"
/* On host pods and Services (this library's): the keys of the labels and
 * annotations the host added itself, copied back into the virtual object
 * (backsync.c). */
#define VC__A_HOST_ANNOTATIONS "vcluster.loft.sh/host-annotations"
#define VC__A_HOST_LABELS "vcluster.loft.sh/host-labels"

/* json_array_foreach / json_object_foreach over an expression evaluated once:
 * jansson's macros evaluate their container argument on every iteration, so
 * json_array_foreach(vc__jarr(spec, "volumes"), ...) looked the key up twice
 * per element. `break` and `continue` keep their meaning. */
#define VC__ARRAY_FOREACH(expr, index, value)                                                   \
    for (json_t *vc__arr_##index = (json_t *)(expr); vc__arr_##index; vc__arr_##index = NULL) \
    json_array_foreach(vc__arr_##index, index, value)
#define VC__OBJECT_FOREACH(expr, key, value)                                                  \
    for (json_t *vc__obj_##key = (json_t *)(expr); vc__obj_##key; vc__obj_##key = NULL) \
    json_object_foreach(vc__obj_##key, key, value)

/* ---- kinds (data-driven: src/translate/kinds.c) ---- */
typedef enum vc__kind_id {
    VC__K_POD = 0,
    VC__K_SERVICE,
    VC__K_ENDPOINTS,
    VC__K_ENDPOINTSLICE,
    VC__K_CONFIGMAP,
    VC__K_SECRET,
    VC__K_PVC,
    VC__K_STORAGECLASS,
    VC__K_PV,
    VC__K_PRIORITYCLASS,
    VC__K_INGRESS,
    VC__K_NETWORKPOLICY,
    VC__K_SERVICEACCOUNT,
    VC__K_PDB,
    VC__K_COUNT
} vc__kind_id;

typedef struct vc__call vc__call;
typedef int (*vc__spec_fn)(vc__call *c, json_t *obj);

typedef struct vc__kind {
    vc__kind_id id;
    const char *kind;           /* "Pod" */
    const char *group;          /* "" for core */
    const char *version;        /* preferred version: "v1" */
    const char *api_version;    /* "v1", "networking.k8s.io/v1" */
    const char *gvk;            /* upstream GVK string: "/v1, Kind=Pod" */
    const char *plural;         /* "pods": CLI/--sync spelling */
    bool namespaced;
    uint32_t sync_flag;         /* VC_TRANSLATE_SYNC_* bit, 0 = always synced */
    /* Annotations that never travel virtual -> host for this kind. */
    const char *const *excluded_annotations;
    vc__spec_fn to_host;        /* kind-specific spec rewrite (may be NULL) */
} vc__kind;

/* Look a kind up by its `kind` and `apiVersion` (NULL/"" apiVersion accepts
 * the kind's group at any version). NULL when not a translated kind. */
const vc__kind *vc__kind_lookup(const char *kind, const char *api_version);
/* By plural ("pods"), singular lower-case ("pod") or Kind ("Pod"), any case. */
const vc__kind *vc__kind_by_name(const char *name);
const vc__kind *vc__kind_get(vc__kind_id id);
/* True when objects of this kind are synced to the host under `t`'s options. */
bool vc__kind_synced(const vc_translator *t, const vc__kind *k);

/* ---- the translator ---- */
#define VC__ENV_KUBE_COUNT 8

struct vc_translator {
    char *name;               /* virtual cluster name ("suffix" upstream) */
    char *host_ns;            /* vcluster-<name> by default */
    char *domain;             /* cluster.local */
    char *kube_ip, *dns_ip;   /* may be NULL until known */
    char *owner_uid;          /* UID of host Service <name>, or NULL */
    char *workload_sa;        /* vc-workload-<name> */
    char *default_pc;         /* sync.toHost.pods.priorityClassName or NULL */
    char *runtime_class;      /* sync.toHost.pods.runtimeClassName or NULL */
    char *hosts_image;        /* rewrite-hosts init container image */
    uint32_t flags;           /* VC_TRANSLATE_OPT_* */
    uint32_t sync;            /* VC_TRANSLATE_SYNC_* */
    char marker_cluster[64];  /* SafeConcatName(hostNs, "x", name) */
    char label_keys[4][64];   /* translated release/namespace/managed-by/controlled-by */
    /* vcluster-kube-root-ca.crt-x-<name>: the one host ConfigMap every
     * namespace's kube-root-ca.crt shared before issue 16 (upstream uses the
     * name only in multi-namespace mode, which this library does not have);
     * each namespace's now translates as any ConfigMap. Kept so the syncer
     * can delete the old shared one (generic.c). */
    char kube_root_ca[64];
    json_t *tolerations;      /* parsed enforced tolerations (array) */
    bool owner_wait;          /* setOwner: namespaced objects wait for owner_uid (VC_ESTATE) */
    json_t *node_selector;    /* sync.fromHost.nodes.selector.labels, or NULL */

    /* Shared immutable leaves (see "Result sharing" above). */
    json_t *s_name, *s_host_ns, *s_marker_cluster, *s_workload_sa, *s_v1, *s_none;
    json_t *s_true_str, *s_false_str;
    json_t *s_gvk[VC__K_COUNT];             /* each kind's upstream GVK string */
    json_t *s_domain, *s_svc_domain;         /* "<domain>", "svc.<domain>" (DNS searches) */
    /* Namespace-label keys already hashed (vc__ns_label_key): every pod of a
     * namespace carries the same few, and SHA-256 was 6% of a pod. Written
     * during translation: one translator is used by one thread at a time. */
    struct vc__nskey_cache *nskeys;
    json_t *owner_ref, *owner_ref_ctrl;     /* [{...Service <name>...}] arrays */
    json_t *env_kube[VC__ENV_KUBE_COUNT];   /* sorted KUBERNETES_* {name,value} */
    json_t *host_alias;                      /* {ip, hostnames} or NULL */
    json_t *host_aliases;                    /* [host_alias]: a pod without hostAliases */
    json_t *dns_nameservers, *dns_options;   /* ["<dnsIP>"], [{name: ndots, value: "5"}] */
    json_t *fp_name, *fp_namespace, *fp_uid, *fp_labels, *fp_sa; /* redirected fieldPaths */
};

/* experimental.syncSettings.setOwner: the host Service's UID (NULL or ""
 * clears it); namespaced host objects then carry an ownerReference to it.
 * Fails only when out of memory. Not thread-safe: like
 * vc_translator_set_service_ips, call it between translations. */
int vc__translator_set_owner(vc_translator *t, const char *uid);
/* While `wait` is set and no owner UID is known, translating a namespaced
 * object fails with VC_ESTATE ("the owner is not known yet"): nothing is
 * created on the host without its owner reference. */
void vc__translator_wait_owner(vc_translator *t, bool wait);

/* Diagnostics for positioned errors. */
typedef struct vc__tr_diag {
    char pointer[512];  /* JSON pointer of the offending field, "" for the object */
    char problem[512];  /* "must be a string" */
} vc__tr_diag;

/* Per-call state shared by the kind translators. */
struct vc__call {
    vc_translator *t;
    const vc__kind *kind;
    const json_t *inputs;     /* the caller's inputs object, or NULL */
    uint32_t flags;           /* VC_TRANSLATE_* call flags */
    json_t *vobj;             /* the object being rewritten (was virtual) */
    json_t *vmeta;            /* a reference on the *virtual* metadata */
    const char *vname, *vns;  /* virtual name / namespace ("" cluster-scoped) */
    char hname[VC__NAME_MAX]; /* host name */
    json_t *extra;            /* extra host objects to emit (token Secret), or NULL */
    json_t *scratch;          /* strings kept alive for the call (kv keys), or NULL */
    vc__tr_diag *diag;
    json_t *s_hname;          /* hname as a JSON string, made once (vc__call_hname) */
    json_t *interned[16];     /* strings made for this result, shared (vc__call_string) */
    size_t n_interned;
    char keys[4][64];         /* kv keys that must live until the metadata is built */
    size_t n_keys;            /* (more go to `scratch`) */
};

/* New references on JSON strings of the call's names, shared within the
 * result (see "Result sharing"): the virtual name and namespace are the
 * virtual metadata's own strings; the host name is made once per call.
 * NULL when out of memory. */
json_t *vc__call_vname(vc__call *c);
json_t *vc__call_vns(vc__call *c);
json_t *vc__call_hname(vc__call *c);
/* A new reference on a JSON string of `s`, shared with the other uses of the
 * same text in this result (a ConfigMap referenced by env and by a volume);
 * NULL when out of memory. */
json_t *vc__call_string(vc__call *c, const char *s);
/* Set o[key] to vc__call_string(c, value). */
int vc__call_set_str(vc__call *c, json_t *o, const char *key, const char *value);
/* Release what the call kept (s_hname, interned strings). */
void vc__call_release(vc__call *c);

/* Raise VC_EINVAL for field `ptr_fmt` (a printf format yielding a JSON
 * pointer) with `problem`. Returns VC_EINVAL. */
int vc__bad(vc__call *c, const char *problem, const char *ptr_fmt, ...) VC__PRINTF(3, 4);
/* Same for an error that is not about a field (VC_EINVAL or `code`). */
int vc__fail(vc__call *c, int code, const char *fmt, ...) VC__PRINTF(3, 4);

/* ---- names (src/translate/names.c) ---- */
/* upstream SafeConcatName(parts...): join with "-", hash past 63, ".-" -> "-".
 * Writes at most 63 chars + NUL when hashing; the caller's `out` must hold
 * VC__NAME_MAX bytes for the unhashed case. Returns the length. */
size_t vc__safe_concat(char *out, size_t cap, const char *const *parts, size_t n);
/* <name>-x-<ns>-x-<vc> */
void vc__host_name_ns(const vc_translator *t, const char *name, const char *ns, char out[VC__NAME_MAX]);
/* vcluster-<name>-x-<hostNs>-x-<vc> */
void vc__host_name_cluster(const vc_translator *t, const char *name, char out[VC__NAME_MAX]);
/* Host name of (kind, ns, name), honouring the special cases and mirror
 * mappings of cluster-scoped kinds whose sync is off. */
void vc__host_name(const vc_translator *t, const vc__kind *k, const char *ns, const char *name,
                   char out[VC__NAME_MAX]);
/* Host label key for a virtual key (only the four reserved keys change). */
const char *vc__host_label_key(const vc_translator *t, const char *key);
/* Virtual key for a host label key; NULL when the key must not go back. */
const char *vc__virtual_label_key(const vc_translator *t, const char *key);
/* True when `key` is one of the translated (vcluster.loft.sh/label-...) keys. */
bool vc__is_translated_label(const vc_translator *t, const char *key);
/* vcluster.loft.sh/ns-label-<vc>-x-<sha10(key)> into out[64]. */
void vc__ns_label_key(const vc_translator *t, const char *key, char out[64]);
/* The cache vc__ns_label_key uses (freed with vc__free), NULL when out of memory. */
struct vc__nskey_cache *vc__nskey_cache_new(void);
/* Reverse a host name without annotations. VC_ENOTFOUND when impossible
 * (hashed, foreign or ambiguous). *out_ns / *out_name are vc__malloc'ed. */
int vc__virtual_name_by_name(const vc_translator *t, const vc__kind *k, const char *host_ns,
                             const char *host_name, char **out_ns, char **out_name);
bool vc__is_dns1123_label(const char *s);
bool vc__is_dns1123_subdomain(const char *s);

/* ---- metadata helpers (src/translate/meta.c) ---- */
typedef struct vc__kv {
    const char *key;
    json_t *value; /* a reference owned by the kv until consumed */
} vc__kv;
/* Build an object from `n` (key, value) pairs sorted by key; on equal keys
 * the later pair wins. Values are stolen (also on failure). NULL on ENOMEM. */
json_t *vc__sorted_object(vc__kv *kv, size_t n);
/* Replace obj's metadata with host metadata: name, namespace, labels
 * (translated keys + markers + pod namespace labels), annotations (copied +
 * bookkeeping + `extra`, which is consumed and wins), owner reference, with
 * server fields cleared. Deletes obj.status. */
int vc__host_metadata(vc__call *c, json_t *obj, vc__kv *extra, size_t n_extra);
/* Host label map (Service selector semantics, upstream HostLabelsMap with
 * isMetadata=false and no host labels): translated keys plus managed-by and
 * namespace. *out NULL when `labels` is NULL. */
int vc__host_label_map(vc__call *c, const json_t *labels, const char *ptr, json_t **out);
/* Host label selector {matchLabels, matchExpressions}: keys translated
 * (ns_keys: namespace-label keys instead). *out NULL when `sel` is NULL/null. */
int vc__host_selector(vc__call *c, const json_t *sel, const char *ptr, bool ns_keys, json_t **out);
/* sel.matchLabels[key] = value (creating matchLabels); value stolen. */
int vc__selector_pin(json_t *sel, const char *key, json_t *value);
/* Validate that `o` (at `ptr`) is an object of string values, if present. */
int vc__check_string_map(vc__call *c, const json_t *o, const char *ptr);

/* ---- json helpers (src/translate/jsonutil.c) ---- */
const char *vc__jstr(const json_t *o, const char *key);          /* NULL unless string */
json_t *vc__jobj(const json_t *o, const char *key);               /* NULL unless object */
json_t *vc__jarr(const json_t *o, const char *key);               /* NULL unless array */
const char *vc__jpath_str(const json_t *o, const char *a, const char *b);
/* Go's json.Marshal of a string (escapes <, >, & and U+2028/9) into b. */
int vc__go_quote(vc_buf *b, const char *s);
/* "/spec/containers/0/name" -> "spec.containers[0].name" into out. */
void vc__pointer_to_path(const char *ptr, char *out, size_t cap);
/* Escape a key for use inside a JSON pointer (~0, ~1) into out. */
void vc__pointer_escape(const char *key, char *out, size_t cap);
/* Object with a string member replaced by a new string (NULL value: delete). */
int vc__set_str(json_t *o, const char *key, const char *value);

/* ---- kind translators ---- */
int vc__pod_to_host(vc__call *c, json_t *obj);
/* Pod bookkeeping annotation values (new references, NULL on ENOMEM). */
json_t *vc__pod_labels_annotation(const json_t *labels);
json_t *vc__pod_owner_refs_annotation(const json_t *refs);
const char *vc__pod_owner_set_kind(const json_t *refs);
int vc__pod_env(vc__call *c, json_t *spec);
/* Where pod_volumes puts the token annotations it creates. */
typedef struct vc__kv_sink {
    vc__kv *kv;
    size_t *n;
    size_t cap;
} vc__kv_sink;
int vc__pod_volumes(vc__call *c, json_t *spec, vc__kv_sink *sink);
/* fieldRef.fieldPath redirect (downward API) in place. */
int vc__translate_fieldref(vc__call *c, json_t *fieldref);
int vc__service_to_host(vc__call *c, json_t *obj);
int vc__endpoints_to_host(vc__call *c, json_t *obj);
int vc__endpointslice_to_host(vc__call *c, json_t *obj);
int vc__secret_to_host(vc__call *c, json_t *obj);
int vc__pvc_to_host(vc__call *c, json_t *obj);
int vc__pv_to_host(vc__call *c, json_t *obj);
int vc__priorityclass_to_host(vc__call *c, json_t *obj);
int vc__ingress_to_host(vc__call *c, json_t *obj);
int vc__networkpolicy_to_host(vc__call *c, json_t *obj);
int vc__serviceaccount_to_host(vc__call *c, json_t *obj);
int vc__pdb_to_host(vc__call *c, json_t *obj);

/* ---- custom resources (src/translate/custom.c) ---- */
/* A kind named by sync.toHost/fromHost.customResources (strings borrowed). */
typedef struct vc__custom_kind {
    const char *kind, *group, *version, *api_version, *plural;
    const char *gvk;            /* "example.com/v1, Kind=Widget" */
} vc__custom_kind;
/* A namespaced virtual object of `ck` -> the host object (vobj CONSUMED, as
 * vc__translate_to_host): translated name in the host namespace, host
 * metadata as for the generic kinds, the rest copied, no status. */
int vc__translate_custom_to_host(json_t **out, vc_translator *t, json_t *vobj, const vc__custom_kind *ck);
/* A host object -> its read-only virtual copy named vns/vname (vns "" or
 * NULL: cluster-scoped); *out a new object. */
int vc__translate_custom_from_host(json_t **out, const json_t *host, const char *vns, const char *vname);
/* True when a virtual object is such a copy (vcluster.loft.sh/synced-from-host). */
bool vc__custom_is_host_copy(const json_t *virt);
/* ---- real nodes (src/translate/node.c), sync.fromHost.nodes ---- */
#define VC__NODE_MARKER_LABEL "vcluster.loft.sh/managed-by"
#define VC__NODE_TAINTS_ANN "vcluster.loft.sh/original-taints"
typedef struct vc__node_opts {
    const char *marker;       /* the marker label's value (the vcluster name) */
    bool clear_images;        /* clearImageStatus: status.images = [] */
    bool proxy_by_hostname;   /* networking.advanced.proxyKubelets.byHostname */
    bool proxy_by_ip;         /* networking.advanced.proxyKubelets.byIP */
    const char *kubelet_ip;   /* the syncer's kubelet proxy address, or NULL */
    int32_t kubelet_port;     /* its port (> 0: daemonEndpoints rewritten) */
    bool virtual_scheduler;   /* capacity/allocatable added inside stay */
    const json_t *enforced_tolerations; /* parsed enforceTolerations (array) or NULL:
                                         * taints they tolerate are not shown inside */
    const int64_t *used;      /* with virtual_scheduler: what the host's other pods on
                               * the node request (cpu, memory, ephemeral-storage in
                               * milli units, pods), taken off allocatable; or NULL */
} vc__node_opts;
/* The host name a proxied node reports (upstream GetNodeHost):
 * NODE with '.' -> '-', then ".nodes.vcluster.com". vc__malloc'ed; NULL
 * when out of memory. */
char *vc__node_host(const char *name);
/* A Kubernetes quantity ("500m", "1Gi", "1e3") in milli units. VC_EINVAL
 * when it is not one (or does not fit). */
int vc__quantity_milli(const char *q, int64_t *out);
/* A pod's requests of cpu, memory and ephemeral-storage in milli units
 * (containers and sidecars summed, the largest init container if more,
 * plus overhead; upstream's PodRequests without in-place resize). */
void vc__pod_requests(const json_t *pod, int64_t out[3]);
/* The host node is selected: selector.all, or every selector label matches. */
bool vc__node_selected(const json_t *host, bool all, const json_t *labels);
/* The virtual Node for host node `host` given the current virtual one
 * (`virt`, NULL when none): a new object with metadata (name, labels,
 * annotations), spec and status. Host labels/annotations win; those the
 * virtual cluster added stay (upstream's managed-keys merge); taints merged
 * as upstream (host + virtual - host's removed ones). */
int vc__node_to_virtual(json_t **out, const json_t *host, const json_t *virt, const vc__node_opts *o);
/* syncBackChanges: a change inside (vold -> vnew) to labels or taints that
 * the host node does not have yet, as a merge patch of the host node; *out
 * NULL when there is none. `ours` (may be NULL) is the virtual node the
 * syncer last wrote: what matches it is the syncer's own change. */
int vc__node_sync_back(json_t **out, const json_t *host, const json_t *ours, const json_t *vold,
                       const json_t *vnew);
/* A host pod spec without nodeName gets the selector labels in its
 * nodeSelector (upstream: pods only land on the selected nodes). */
int vc__pod_node_selector(json_t *spec, const json_t *labels);
/* The selector labels host pods get (NULL or {} for none); copied. */
int vc__translator_set_node_selector(vc_translator *t, const json_t *labels);

/* ---- the syncer-facing API ---- */

/*
 * Translate a virtual object into the host object to create. `vobj` is
 * CONSUMED: its reference is taken and the object is rewritten in place, so
 * pass a reference you own (a freshly parsed object, or json_deep_copy of a
 * cached one). `inputs` (may be NULL) carries runtime facts, see
 * vc_translate_to_host() in vcluster/translate.h. On success *out is the host
 * object (read-only, see "Result sharing"); `*out_extra` (may be NULL) gets an
 * array of further host objects to create with it (the SA-token Secret when
 * VC_TRANSLATE_OPT_SECRETS_FOR_SA_TOKENS is on), or NULL.
 * Errors: VC_EINVAL (malformed object, diag filled), VC_ENOTSUPPORTED (kind
 * not translated or not synced under the options), VC_ESTATE (a runtime
 * input is missing, e.g. the DNS IP), VC_ENOMEM.
 */
int vc__translate_to_host(json_t **out, json_t **out_extra, vc_translator *t, json_t *vobj,
                          const json_t *inputs, uint32_t flags, vc__tr_diag *diag);

/* Host object -> virtual origin (annotations first, then name heuristics).
 * VC_ENOTFOUND when the object is not one of ours. Strings are vc__malloc'ed. */
int vc__translate_virtual_name(char **out_ns, char **out_name, vc_translator *t, const json_t *host);

/*
 * The virtual object the virtual cluster should hold after the host object
 * changed: a deep copy of `virt` with status (and, for Services, clusterIP and
 * node ports; for PVCs, volumeName and binding annotations) taken from `host`.
 * Supported: Pod, Service, PersistentVolumeClaim, Ingress (others: VC_ENOTSUPPORTED).
 */
int vc__translate_status_to_virtual(json_t **out, vc_translator *t, const json_t *host, const json_t *virt);

/* Binding for the virtual pod: a v1 Binding object, or *out = NULL when none
 * is needed. VC_ECONFLICT when both pods name different nodes (upstream then
 * deletes the virtual pod). */
int vc__translate_pod_binding(json_t **out, vc_translator *t, const json_t *host, const json_t *virt);

/* Bidirectional label/annotation merge; outputs are new objects (deep copies
 * of virt/host with merged metadata). Any of the *_old may be NULL (= equal to
 * the new one). */
int vc__translate_merge_metadata(json_t **out_virtual, json_t **out_host, vc_translator *t,
                                 const json_t *virt_old, const json_t *virt,
                                 const json_t *host_old, const json_t *host);

/* Pod updates (pod_update.c). The sha256 (hex) of what an update carries to
 * the host: labels, annotations, container and init-container images,
 * container resources, ephemeral container names, activeDeadlineSeconds,
 * tolerations, scheduling gates. Equal digests: nothing to update. */
int vc__pod_update_digest(const json_t *vpod, char out[65]);
/* What the host pod `hpod` needs to match the virtual pod `vpod` (both
 * whole objects; `inputs` as for the create, tokens not needed). *out is an
 * object with up to four strategic-merge-patch bodies: "metadata" (the pod:
 * labels, annotations), "patch" (the pod: images, activeDeadlineSeconds,
 * tolerations, scheduling gates),
 * "ephemeral" (the ephemeralcontainers subresource: containers the host
 * lacks) and "resize" (the resize subresource: container resources); an
 * empty object when the host pod matches. Host-only labels and annotations
 * are kept. Errors as vc__translate_to_host. */
int vc__translate_pod_update(json_t **out, vc_translator *t, const json_t *vpod, const json_t *hpod,
                             const json_t *inputs);

/* Back-sync of host-added labels and annotations (backsync.c, which says
 * who owns which key). `virt` and `host` are whole objects (read-only).
 * *out_virtual: a merge patch for the virtual object (the host-owned keys it
 * lacks or has with another value, and those the host dropped), or NULL;
 * *out_host: a merge patch of the host's ownership records, or NULL. */
int vc__translate_backsync(json_t **out_virtual, json_t **out_host, vc_translator *t, const json_t *virt,
                           const json_t *host);
/* Adjust `desired` (the host object translated from `virt`, edited in
 * place) for the keys `host` (NULL: none yet) owns: those keep the host's
 * values, the managed records leave them out, the ownership records are
 * set; Services and the other kinds also get vcluster.loft.sh/managed-labels. */
int vc__translate_backsync_desired(vc_translator *t, json_t *desired, const json_t *virt, const json_t *host);
/* Whether the host object alone shows something back-sync may act on
 * (ownership records, or keys no record names): a cheap filter before
 * fetching whole objects. */
bool vc__translate_backsync_candidate(vc_translator *t, const json_t *host);

/* TokenRequests the syncer must make before translating `vpod`. */
int vc__translate_pod_token_requests(json_t **out, vc_translator *t, const json_t *vpod);
/* The ConfigMaps, Secrets and PVCs `vpod` references, with host names. */
int vc__translate_pod_references(json_t **out, vc_translator *t, const json_t *vpod);

/* Host name of an object (in a stack buffer); VC_ENOTSUPPORTED for unknown kinds. */
int vc__translate_host_name(vc_translator *t, const char *kind, const char *ns, const char *name,
                            char out[VC__NAME_MAX]);

/* Apply the API server defaults the translation depends on (namespace,
 * dnsPolicy, enableServiceLinks, serviceAccountName, Service type). */
int vc__apply_defaults(json_t *obj, const char *default_ns);

/* Pod Security Standards (podsecurity.c): evaluate a virtual pod against
 * `level` ("", "privileged", "baseline" or "restricted") at version
 * "latest", as Kubernetes' PodSecurity admission does. *out_msg is NULL when
 * the pod is allowed, else "violates PodSecurity \"baseline:latest\": ..."
 * (free with vc__free). VC_EINVAL for an unknown level, VC_ENOMEM. */
int vc__pod_security_check(const json_t *pod, const char *level, char **out_msg);

#endif

/*
 * Internal view of a loaded vcluster.yaml (see include/vcluster/config.h and
 * doc/config.md).
 *
 * A vc_config keeps three JSON trees: the defaults (built from the schema in
 * schema.c), the user's values (every loaded layer merged in order, legacy
 * keys already rewritten to current ones) and the effective values
 * (defaults + user). `values` is a typed, read-only view of the effective
 * tree: its strings and json_t pointers are BORROWED from the vc_config and
 * stay valid until the next successful load/set or vc_config_free(). Use
 * vc__config_values() and never modify what it points at.
 *
 * Lifecycle, syncer and translate code fill their options from this struct;
 * "auto" switches are resolved by the vc__config_*_enabled() helpers below,
 * which follow upstream's rules.
 */
#ifndef VC_CONFIG_CONFIG_H
#define VC_CONFIG_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "util/util.h"
#include "vcluster/config.h"

/* "true" / "false" / "auto" switches (upstream's StrBool). */
typedef enum vc__strbool {
    VC__FALSE = 0,
    VC__TRUE = 1,
    VC__AUTO = 2
} vc__strbool;

/* An image reference split like upstream's {registry, repository, tag}.
 * Empty strings mean "not set". */
typedef struct vc__cfg_image {
    const char *registry;
    const char *repository;
    const char *tag;
} vc__cfg_image;

/* A list of strings (the array is owned by the config, strings borrowed). */
typedef struct vc__cfg_strv {
    size_t n;
    const char **v;
} vc__cfg_strv;

/* One networking.replicateServices entry: "from" and "to" as written
 * ("namespace/name" or "name"). */
typedef struct vc__cfg_svcmap {
    const char *from;
    const char *to;
} vc__cfg_svcmap;

typedef struct vc__cfg_svcmaps {
    size_t n;
    vc__cfg_svcmap *v;
} vc__cfg_svcmaps;

typedef struct vc__cfg_all_resource {
    bool enabled;
    bool all;
} vc__cfg_all_resource;

typedef struct vc__cfg_component {
    bool enabled;
    vc__cfg_strv command;
    vc__cfg_strv extra_args;
    vc__cfg_image image;       /* libvcluster/v0.21 extension: "" = the distro image */
} vc__cfg_component;

typedef struct vc__cfg_distro_simple {  /* k3s, k0s */
    bool enabled;
    vc__cfg_image image;
    const char *image_pull_policy;
    vc__cfg_strv command;
    vc__cfg_strv extra_args;
    json_t *resources;         /* {limits, requests} */
    json_t *security_context;  /* object */
    const char *config;        /* k0s only: k0s config text, "" = none */
} vc__cfg_distro_simple;

typedef struct vc__cfg_volume_claim {
    vc__strbool enabled;       /* etcd.deploy: true/false only */
    const char *retention_policy;
    const char *size;
    const char *storage_class;
    vc__cfg_strv access_modes;
} vc__cfg_volume_claim;

typedef struct vc__cfg_values {
    struct {
        struct {
            bool services, endpoints, endpoint_slices, persistent_volume_claims;
            bool ingresses, priority_classes, network_policies, pod_disruption_budgets;
            bool service_accounts, storage_classes, persistent_volumes, volume_snapshots;
            bool volume_snapshot_contents, resource_claims, resource_claim_templates;
            vc__cfg_all_resource config_maps, secrets;
            struct {
                bool enabled, mappings_only;
            } namespaces;
            struct {
                bool enabled;
                bool use_secrets_for_sa_tokens;
                const char *runtime_class_name;
                const char *priority_class_name;
                vc__cfg_strv enforce_tolerations;  /* kubectl-taint syntax, validated */
                json_t *translate_image;           /* object: from -> to */
                struct {
                    bool enabled;
                    vc__cfg_image image;
                    json_t *resources;
                } rewrite_hosts;
            } pods;
            json_t *custom_resources;              /* object, passed through */
        } to_host;
        struct {
            bool events, ingress_classes, runtime_classes, priority_classes;
            bool gateway_classes, volume_snapshot_classes, device_classes;
            vc__strbool csi_drivers, csi_nodes, csi_storage_capacities, storage_classes;
            struct {
                bool enabled;
                json_t *by_name;                   /* mappings.byName object */
            } config_maps, secrets;
            struct {
                bool enabled, sync_back_changes, clear_image_status;
                bool selector_all;
                json_t *selector_labels;           /* object of strings */
            } nodes;
            json_t *custom_resources;
            json_t *storage_classes_selector;      /* LabelSelector object (storage.c) */
        } from_host;
    } sync;

    struct {
        struct {
            struct {
                bool enabled;
                const char *version;
                vc__cfg_image image;
                const char *image_pull_policy;
                vc__cfg_component api_server, controller_manager, scheduler;
                json_t *env, *resources, *security_context;
            } k8s;
            vc__cfg_distro_simple k3s, k0s;
        } distro;
        struct {
            struct {
                struct {
                    bool enabled;
                    vc__cfg_strv extra_args;
                } embedded;
                struct {
                    bool enabled;
                    const char *data_source;       /* mysql://... / postgres://... */
                    const char *connector;
                    /* libvcluster: the dataSource from a host Secret's key */
                    const char *data_source_secret_name, *data_source_secret_key;
                    const char *cert_file, *key_file, *ca_file;
                    vc__cfg_strv extra_args;
                } external;
            } database;
            struct {
                struct {
                    bool enabled, migrate_from_deployed_etcd;
                    vc__cfg_strv extra_args;
                } embedded;
                struct {
                    bool enabled;
                    const char *endpoint;
                    const char *ca_file, *cert_file, *key_file;
                } external;
                struct {
                    bool enabled;
                    bool stateful_set_enabled;
                    vc__cfg_image image;
                    const char *image_pull_policy;
                    vc__cfg_strv extra_args;
                    json_t *env, *resources;
                    int32_t replicas;
                    vc__cfg_volume_claim volume_claim;
                    json_t *node_selector, *affinity, *tolerations;
                    const char *priority_class_name;
                    bool service_enabled;
                } deploy;
            } etcd;
        } backing_store;
        struct {
            bool enabled, embedded;
            const char *overwrite_manifests, *overwrite_config, *priority_class_name;
            const char *service_type;
            const char *image;                     /* "" = the default CoreDNS image */
            int32_t replicas;
            json_t *resources, *node_selector, *tolerations, *affinity;
        } coredns;
        struct {
            bool enabled;
            json_t *labels, *annotations;
            const char *type;                      /* ClusterIP | NodePort | LoadBalancer */
            int32_t kubelet_node_port, https_node_port;
        } service;
        struct {
            bool enabled;
            const char *host, *path_type;
            json_t *labels, *annotations;
        } ingress;
        struct {
            const char *bind_address;
            int32_t port;
            vc__cfg_strv extra_sans;
        } proxy;
        struct {
            json_t *labels, *annotations;
            vc__cfg_image image;
            const char *image_pull_policy, *working_dir;
            vc__cfg_strv command, args;
            json_t *env, *resources;
            json_t *pod_labels, *pod_annotations;
            struct {
                int32_t replicas, lease_duration, renew_deadline, retry_period;
            } high_availability;
            json_t *pod_security_context, *container_security_context;
            vc__cfg_volume_claim volume_claim;
            json_t *add_volumes, *add_volume_mounts;
            bool enable_service_links;
            const char *pod_management_policy, *priority_class_name;
            json_t *node_selector, *affinity, *tolerations, *topology_spread_constraints;
            bool liveness_probe, readiness_probe, startup_probe;
        } stateful_set;
        struct {
            const char *default_image_registry;
            bool virtual_scheduler;
            struct {
                bool enabled;
                const char *name;
                json_t *image_pull_secrets, *labels, *annotations;
            } service_account, workload_service_account;
            json_t *global_annotations;
        } advanced;
        bool service_monitor;
    } control_plane;

    struct {
        struct {
            vc__cfg_svcmaps to_host, from_host;
        } replicate_services;
        json_t *resolve_dns;
        struct {
            const char *cluster_domain;
            bool fallback_host_cluster;
            bool proxy_kubelets_by_hostname, proxy_kubelets_by_ip;
        } advanced;
    } networking;

    struct {
        const char *pod_security_standard;         /* "" | privileged | baseline | restricted */
        struct {
            vc__strbool enabled;
            json_t *labels, *annotations;
            json_t *quota;                         /* object of quantity strings */
            json_t *scope_selector, *scopes;
        } resource_quota;
        struct {
            vc__strbool enabled;
            json_t *labels, *annotations;
            json_t *default_limits, *default_requests, *min, *max;
        } limit_range;
        struct {
            bool enabled;
            json_t *labels, *annotations;
            const char *fallback_dns;
            json_t *control_plane_ingress, *control_plane_egress;
            struct {
                bool enabled;
                const char *cidr;
                vc__cfg_strv except;
            } public_egress;
            json_t *workload_ingress, *workload_egress;
        } network_policy;
    } policies;

    struct {
        struct {
            bool enabled;
            json_t *overwrite_rules, *extra_rules;
        } role;
        struct {
            vc__strbool enabled;
            json_t *overwrite_rules, *extra_rules;
        } cluster_role;
    } rbac;

    struct {
        const char *context, *server;
        bool insecure;
        const char *sa_name, *sa_namespace, *sa_cluster_role;
        const char *secret_name, *secret_namespace;
        json_t *additional_secrets;
    } export_kube_config;

    struct {
        struct {
            bool set_owner;
            const char *host_metrics_bind_address, *virtual_metrics_bind_address;
        } sync_settings;
        struct {
            const char *host_manifests, *host_manifests_template;
            const char *manifests, *manifests_template;
            json_t *helm;
        } deploy;
    } experimental;

    json_t *plugins;
    bool telemetry;
} vc__cfg_values;

/* ---- schema (schema.c) ---- */

typedef enum vc__cfg_type {
    VC__CT_BOOL = 1,
    VC__CT_INT,        /* int32, `extra` = "min..max" */
    VC__CT_STR,
    VC__CT_ENUM,       /* `extra` = "a|b|c" (a leading "|" allows "") */
    VC__CT_STRBOOL,    /* true, false, "true", "false", "auto" */
    VC__CT_IMAGE,      /* {registry, repository, tag} or "registry/repo:tag" */
    VC__CT_STRLIST,    /* list of strings */
    VC__CT_STRMAP,     /* mapping of string -> string */
    VC__CT_QUANTITIES, /* mapping of name -> Kubernetes quantity */
    VC__CT_RESOURCES,  /* {limits: quantities, requests: quantities} */
    VC__CT_SVCMAPS,    /* list of {from, to} */
    VC__CT_OBJECT,     /* any mapping, passed through */
    VC__CT_LIST,       /* any list, passed through */
    VC__CT_SELECTOR    /* a label selector {matchLabels, matchExpressions} */
} vc__cfg_type;

#define VC__CFG_NOFIELD ((size_t)-1)

typedef struct vc__cfg_key {
    const char *path;  /* dotted, e.g. "sync.toHost.pods.enabled" */
    int type;          /* vc__cfg_type */
    const char *def;   /* default: BOOL/INT/STRBOOL literal, STR/ENUM text,
                          JSON text for IMAGE/lists/maps; NULL = empty */
    size_t off;        /* offset in vc__cfg_values, or VC__CFG_NOFIELD */
    const char *extra; /* ENUM choices / INT range */
} vc__cfg_key;

extern const vc__cfg_key vc__cfg_schema[];
extern const size_t vc__cfg_schema_len;

/* The schema entry for a dotted path, or NULL. */
const vc__cfg_key *vc__cfg_schema_find(const char *path);
/* True when `path` names a mapping of the schema (a strict prefix of keys). */
bool vc__cfg_schema_is_section(const char *path);
/* Closest known child key of section `parent` ("" = root) to `key`, for
 * "did you mean" hints; NULL when nothing is close. Returns a pointer into a
 * static schema string plus its length in *out_len. */
const char *vc__cfg_schema_suggest(const char *parent, const char *key, size_t *out_len);

/* ---- keys libvcluster cannot serve (refused.c) ---- */

/* A schema key that loads only with its default (or `also_ok`, JSON text):
 * any other value is a load-time error "where: path: reason". */
typedef struct vc__cfg_refusal {
    const char *path;
    const char *also_ok;
    const char *reason;
} vc__cfg_refusal;

extern const vc__cfg_refusal vc__cfg_refused[];
extern const size_t vc__cfg_refused_len;
const vc__cfg_refusal *vc__cfg_refused_find(const char *path);

/* ---- custom resources (crd.c) ---- */
typedef struct vc__cfg_cr {
    char resource[64], group[254], version[64]; /* version "" = the CRD's storage version */
} vc__cfg_cr;
/* Split a customResources key "<resource>.<group>[/<version>]"; -1 when malformed. */
int vc__cfg_cr_key(const char *key, vc__cfg_cr *out);
/* Check both maps (see crd.c); on a problem -1 with msg filled and
 * *out_from telling which map it is in. */
int vc__cfg_custom_resources_check(const json_t *to_host, const json_t *from_host, bool *out_from, char *msg,
                                   size_t mcap);

/* ---- the object ---- */

struct vc_config {
    json_t *defaults;   /* effective defaults (schema) */
    json_t *user;       /* merged user layers, current key names */
    json_t *effective;  /* defaults + user */
    json_t *origins;    /* dotted path -> "file:line:col" of the last setter */
    vc__cfg_values values;
    bool values_ready;
};

/* The typed view (never NULL for a valid config). */
const vc__cfg_values *vc__config_values(const vc_config *cfg);
/* The effective tree (borrowed). */
const json_t *vc__config_effective(const vc_config *cfg);
/* The user's values only (borrowed): what differs from the defaults. */
const json_t *vc__config_user(const vc_config *cfg);

/* Where a dotted key was last set ("values.yaml:7:5"), or NULL for defaults. */
const char *vc__config_origin(const vc_config *cfg, const char *path);

/* experimental.deploy (deploy.c). Render a manifestsTemplate: the actions
 * {{ .Release.Name }}, {{ .Release.Namespace }} and {{ .Values.<path> }}
 * (scalars of `values`, the effective config); anything else fails with
 * VC_ECONFIG and "line L column C of the template: ..." in err. */
int vc__deploy_render(vc_buf *out, const char *tpl, const char *release_name, const char *release_ns,
                      const json_t *values, char *err, size_t errcap);
/* Parse manifests (YAML, one object per document, empty ones skipped) into
 * a new array of objects; VC_ECONFIG with the problem in err. */
int vc__deploy_parse(json_t **out, const char *text, char *err, size_t errcap);

/* Resolved switches (upstream rules). */
bool vc__config_resource_quota_enabled(const vc_config *cfg);
bool vc__config_limit_range_enabled(const vc_config *cfg);
bool vc__config_virtual_scheduler(const vc_config *cfg);
/* sync.fromHost.{csiDrivers,csiNodes,csiStorageCapacities,storageClasses}:
 * "auto" is on when the virtual scheduler is on (and, for storageClasses,
 * when toHost.storageClasses is off). `which` is the key name. */
bool vc__config_from_host_auto(const vc_config *cfg, const char *which);
/* A LabelSelector object as the labelSelector query string (*out NULL when
 * it selects everything; vc__free it). VC_EINVAL when malformed, the
 * message prefixed with `key` (may be NULL). (selector.c) */
int vc__config_label_selector(const json_t *sel, const char *key, char **out);
/* controlPlane.statefulSet.persistence.volumeClaim.enabled: "auto" is on for
 * the embedded database and embedded etcd. */
bool vc__config_persistence_enabled(const vc_config *cfg);
/* rbac.clusterRole.enabled: "auto" is on when a cluster-scoped sync is on. */
bool vc__config_cluster_role_enabled(const vc_config *cfg);

/* "registry/repository:tag" (registry and tag omitted when empty; the
 * default registry prefix applied when the image has none). Caller frees. */
char *vc__config_image_ref(const vc_config *cfg, const vc__cfg_image *img);

/* Split an image reference into parts (docker rules: the first segment is a
 * registry when it has '.', ':' or is "localhost"). Returns a new object
 * {registry, repository, tag}, or NULL when `ref` is not a valid reference. */
json_t *vc__config_parse_image(const char *ref);

/* Validators shared with tests. */
bool vc__config_valid_quantity(const char *s);
bool vc__config_valid_toleration(const char *s);
bool vc__config_valid_dns_subdomain(const char *s);

/* ---- legacy (2022-era) keys: legacy.c ---- */

/* Where a legacy leaf is handled. Filled by vc__cfg_legacy_find(). */
typedef struct vc__cfg_legacy vc__cfg_legacy;
const vc__cfg_legacy *vc__cfg_legacy_find(const char *path);
bool vc__cfg_legacy_is_section(const char *path);

/* A file being loaded: state shared by config.c and legacy.c. */
typedef struct vc__cfg_layer {
    const char *name;       /* file name for messages */
    json_t *marks;          /* value marks of the document (vc__yaml_parse), or NULL */
    json_t *key_marks;      /* pointer -> [line, col] of each mapping key, or NULL */
    json_t *tree;           /* explicit current keys */
    json_t *legacy;         /* values produced by legacy keys */
    json_t *weak;           /* legacy-implied values, used only where nothing else is set */
    json_t *origins;        /* dotted path -> "where" for every value set here */
    json_t *legacy_from;    /* dotted target path -> "legacy.key at where" */
} vc__cfg_layer;

/* Handle one legacy leaf `v` at dotted `path` (pointer `ptr`, display `disp`). */
int vc__cfg_legacy_apply(vc__cfg_layer *L, const vc__cfg_legacy *lk, json_t *v,
                         const char *path, const char *ptr);
/* After the walk: rules that look at several legacy keys (isolation, enableHA). */
int vc__cfg_legacy_finish(vc__cfg_layer *L, json_t *doc);

/* Shared helpers (config.c, check.c). */
/* Append one RFC 6901 segment ("/" + escaped) to a JSON pointer. */
int vc__cfg_ptr_append(vc_buf *b, const char *seg, size_t n);
char *vc__cfg_where(const vc__cfg_layer *L, const char *ptr);
int vc__cfg_errorf(const vc__cfg_layer *L, const char *ptr, const char *path, const char *fmt, ...)
    VC__PRINTF(4, 5);
/* Type-check and normalise `v` for `type`; returns a new reference or NULL
 * with the error set (message prefixed with where and path). */
json_t *vc__cfg_check(const vc__cfg_layer *L, int type, const char *extra, json_t *v,
                      const char *path, const char *ptr);
/* Set dotted `path` in `tree` (creating mappings), stealing `v`. */
int vc__cfg_tree_set(json_t *tree, const char *path, json_t *v);
json_t *vc__cfg_tree_get(const json_t *tree, const char *path);
/* A short description of a value for messages: "yes please" (quoted), 3, a mapping. */
void vc__cfg_describe(const json_t *v, char *buf, size_t n);

#endif

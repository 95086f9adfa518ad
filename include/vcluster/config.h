/*
 * config.h: a virtual cluster's configuration (vcluster.yaml).
 *
 * A vc_config starts with upstream vcluster's defaults and takes values
 * files in order, each overriding the ones before (like `helm -f a -f b`):
 * mappings merge key by key, lists and scalars replace, null resets a key to
 * its default. Current keys (`sync.toHost.pods.enabled`, `controlPlane.*`,
 * `networking.*`, `policies.*`, ...) and the 2022-era keys
 * (`sync.nodes.enabled`, `mapServices`, `isolation`, `enableHA`, ...) are
 * both accepted; legacy keys are rewritten to current ones as upstream's
 * migration does. Every key and value is checked: an unknown key, a wrong
 * type or an invalid value fails the load with one line such as
 *   values.yaml:7:5: sync.toHost.pods.enabled: expected a boolean, got "yes please"
 * and leaves the config as it was. doc/config.md lists every key.
 */
#ifndef VCLUSTER_CONFIG_H
#define VCLUSTER_CONFIG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A vcluster.yaml configuration. Opaque.
 * Threads: used by one thread at a time (a call that borrows it, such as
 * vc_cluster_create(), counts as a use); vc_config_free() on any thread.
 * @since 0.1
 */
typedef struct vc_config vc_config;

/** Where the virtual cluster keeps its data (controlPlane.backingStore). @since 0.1 */
typedef enum vc_backing_store {
    VC_STORE_EMBEDDED_DATABASE = 1, /**< SQLite through kine (the default) */
    VC_STORE_EXTERNAL_DATABASE = 2, /**< MySQL or PostgreSQL through kine */
    VC_STORE_EMBEDDED_ETCD = 3,     /**< etcd inside the control-plane pod */
    VC_STORE_DEPLOYED_ETCD = 4,     /**< a separate etcd StatefulSet */
    VC_STORE_EXTERNAL_ETCD = 5      /**< an etcd the user runs */
} vc_backing_store;

/**
 * Create a configuration holding upstream's defaults. On success `*out` is
 * owned by the caller and released with vc_config_free().
 * @return VC_OK or VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_config_new(vc_config **out);

/** Release a configuration. NULL-safe. @since 0.1 */
VC_API void vc_config_free(vc_config *cfg);

/**
 * Read a values file and merge it over what `cfg` holds. On failure `cfg`
 * is unchanged.
 * @return VC_OK; VC_ECONFIG (syntax, unknown key, wrong type or invalid
 *   value: the message is "FILE:LINE:COL: key.path: problem");
 *   VC_ENOTFOUND or VC_EIO (the file cannot be read); VC_EINVAL.
 * @since 0.1
 */
VC_API int vc_config_load_file(vc_config *cfg, const char *path);

/**
 * Merge values given as YAML (or JSON) text over what `cfg` holds. `name`
 * labels the text in messages (NULL: "<string>"). `text` is copied as
 * needed; on failure `cfg` is unchanged.
 * @return VC_OK; VC_ECONFIG (see vc_config_load_file()); VC_EINVAL.
 * @since 0.1
 */
VC_API int vc_config_load_string(vc_config *cfg, const char *text, const char *name);

/**
 * Set one key, like `helm --set key=value`: `key` is dotted
 * ("controlPlane.service.spec.type"; escape a dot inside a key as "\."),
 * `value` is read as a YAML value ("true", "3", "LoadBalancer", "[a, b]").
 * On failure `cfg` is unchanged.
 * @return VC_OK; VC_ECONFIG (unknown key, wrong type: the message is
 *   "--set key=value: key.path: problem"); VC_EINVAL.
 * @since 0.1
 */
VC_API int vc_config_set(vc_config *cfg, const char *key, const char *value);

/**
 * The effective value of a dotted key: a scalar as plain text ("true", "3",
 * "cluster.local"), a mapping or list as YAML. Replaces the contents of
 * `out` (release with vc_buf_dispose()).
 * @return VC_OK; VC_ENOTFOUND (no such key); VC_EINVAL; VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_config_get(vc_config *cfg, const char *key, vc_buf *out);

/**
 * Render the whole effective configuration (defaults and user values, in
 * current key names) as YAML: what `--print` shows and what the config
 * Secret stores. Loading the output into a new config gives the same
 * configuration. Replaces the contents of `out` (release with
 * vc_buf_dispose()).
 * @return VC_OK, VC_EINVAL or VC_ENOMEM.
 * @since 0.1
 */
VC_API int vc_config_to_yaml(vc_config *cfg, vc_buf *out);

/**
 * The distro of the virtual control plane: "k8s" (the default), "k3s" or
 * "k0s". The string is static.
 * @since 0.1
 */
VC_API const char *vc_config_distro(vc_config *cfg);

/**
 * The backing store into `*out`: a vc_backing_store value (an int32_t, as
 * every enum that crosses the ABI), the one whose `enabled` is true, else
 * VC_STORE_EMBEDDED_DATABASE. `cfg` NULL means the defaults.
 * @return VC_OK or VC_EINVAL (out is NULL).
 * @since 0.1
 */
VC_API int vc_config_backing_store(int32_t *out, vc_config *cfg);

/**
 * controlPlane.statefulSet.highAvailability.replicas (1 unless HA).
 * @since 0.1
 */
VC_API int32_t vc_config_ha_replicas(vc_config *cfg);

/**
 * controlPlane.service.spec.type: "ClusterIP" (default), "NodePort" or
 * "LoadBalancer" (what `--expose` sets). Borrowed: valid until `cfg`
 * changes or is freed.
 * @since 0.1
 */
VC_API const char *vc_config_service_type(vc_config *cfg);

#ifdef __cplusplus
}
#endif
#endif /* VCLUSTER_CONFIG_H */

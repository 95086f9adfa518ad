/*
 * The "kubernetes" lifecycle driver: the virtual control plane as a
 * StatefulSet in the host namespace, as upstream vcluster's chart deploys it.
 *
 *   k8s.c         the driver: create/upgrade/print, pause, resume, delete, status
 *   k8s_render.c  template engine and the values -> variables mapping
 *   k8s_certs.c   the PKI Secret NAME-certs and the kubeconfig Secret vc-NAME
 *   templates/    one YAML template per host object (embedded at build time)
 *
 * See doc/driver-kubernetes.md.
 */
#ifndef VC_LIFECYCLE_K8S_H
#define VC_LIFECYCLE_K8S_H

#include <jansson.h>
#include <stddef.h>

#include "lifecycle/lifecycle.h"

#define VC__K8S_DRIVER "kubernetes"
/* Pod template annotation: a hash of the config and certificates, so that a
 * change rolls the control plane pods (upstream: vClusterConfigHash). */
#define VC__K8S_CONFIG_HASH_ANN "vcluster.loft.sh/config-hash"
/* On Secret NAME-certs: the API server certificate's SANs, to know when to reissue it. */
#define VC__K8S_SANS_ANN "vcluster.loft.sh/apiserver-sans"
/* Default images that the config has no key for. */
#define VC__K8S_SYNCER_REPOSITORY "libvcluster/syncer"
#define VC__K8S_KINE_REPOSITORY "rancher/kine"
#define VC__K8S_KINE_TAG "v0.17.5"
/* The host service CIDR when it cannot be found (--print without access). */
#define VC__K8S_DEFAULT_SERVICE_CIDR "10.96.0.0/12"

/* One embedded template (generated k8s_templates.c). */
typedef struct vc__k8s_template {
    const char *name;  /* file name without .yaml */
    const char *text;
} vc__k8s_template;

extern const vc__k8s_template vc__k8s_templates[];
extern const size_t vc__k8s_templates_len;

/* The template text of `name`, or NULL. */
const char *vc__k8s_template_text(const char *name);

/*
 * Render template text: substitute ${VAR} from `vars` (a JSON object), parse
 * the YAML, then drop nulls and `$if: false` objects, strip `$if: true` and
 * splice nested lists (rules in templates/README.md). `*out` is the object,
 * or NULL when the whole document is switched off. `what` names the template
 * in messages. Errors: VC_EINVAL (unknown variable, bad YAML), VC_ENOMEM.
 */
int vc__k8s_render_text(const char *what, const char *text, const json_t *vars, json_t **out);
/* Same for an embedded template by name. */
int vc__k8s_render(const char *name, const json_t *vars, json_t **out);

/* Everything create needs, computed once from the lifecycle context. */
typedef struct vc__k8s_plan {
    vc_config *cfg;          /* effective config (lc->config, or a copy with --expose) */
    vc_config *own_cfg;      /* the copy, freed with the plan */
    json_t *vars;            /* template variables */
    char *service_cidr;
    char *cluster_role;      /* vc-NAME-v-NS (<= 63) */
    char *sa, *workload_sa;  /* ServiceAccount names */
    char *version;           /* Kubernetes version shown by status */
    char *service_ip;        /* ClusterIP of Service NAME, once known (a SAN) */
    char *lb_address;        /* its LoadBalancer address, once known (a SAN) */
    int32_t replicas;        /* desired (0 when paused) */
    int32_t config_replicas; /* what the config asks for */
    bool paused;             /* upgrade of a paused cluster: stay paused */
    const char *driver;      /* the driver label of what is rendered (NULL: kubernetes) */
} vc__k8s_plan;

/* Fill `plan` for lc: the effective config (a copy with --expose), names,
 * replicas. Reads nothing from the host. */
int vc__k8s_plan_init(vc__k8s_plan *plan, vc__lc *lc);
/* The template variables of the plan (set plan->service_cidr first). */
int vc__k8s_plan_vars(vc__k8s_plan *plan, vc__lc *lc);
void vc__k8s_plan_clear(vc__k8s_plan *plan);

/*
 * Render every host object of the plan in apply order (a new JSON array).
 * `certs_data` is the data map of Secret NAME-certs (base64 values; NULL:
 * key-free, for --print: no Secret, the StatefulSet gets the init container
 * "vcluster-certs" and an emptyDir at /pki) and
 * `kubeconfig_secret` the Secret vc-NAME; both are placed in the list.
 */
int vc__k8s_render_all(vc__k8s_plan *plan, vc__lc *lc, const json_t *certs_data, const char *sans,
                       json_t *kubeconfig_secret, json_t **out);

/* Names of the ClusterRole(Binding) of a virtual cluster: vc-NAME-v-NS cut to 63. */
char *vc__k8s_cluster_role_name(const char *name, const char *ns);

/* The syncer's host identity alone, as the kubernetes driver renders it:
 * ServiceAccount, Role, RoleBinding, and the ClusterRole(Binding) when the
 * config needs one (a new JSON array). The local driver gives its syncer
 * this identity instead of the caller's credentials. */
int vc__k8s_render_rbac(vc__k8s_plan *plan, json_t **out);

/*
 * The PKI: reuse Secret NAME-certs when it exists (`existing` data, may be
 * NULL), issuing only what is missing; the API server certificate is
 * reissued when `sans` differs from `existing_sans`. `*out_data` is the new
 * data map (base64 values), `*out_sans` the SAN list text (caller frees).
 * `*out_kubeconfig_secret` is Secret vc-NAME (server https://NAME.NS:443).
 */
int vc__k8s_certs(vc__lc *lc, vc__k8s_plan *plan, const json_t *existing, const char *existing_sans,
                  json_t **out_data, char **out_sans, json_t **out_kubeconfig_secret);

#endif

/* The public lifecycle calls: validation, driver dispatch, list and status. */
#include <string.h>

#include "lifecycle/lifecycle.h"
#include "pki/pki.h"
#include "util/vstruct.h"

#define DEFAULT_TIMEOUT_MS 120000

/* Versioned public structs (util/vstruct.h). */
/* Version 2 of both added no field (the progress callback's int result is
 * read only from version-2 callers): version 1 is the whole struct. */
VC__VSTRUCT(vc_create_options, VC_CREATE_OPTIONS_VERSION, sizeof(vc_create_options) VC__COMMA);
VC__VSTRUCT(vc_cluster_op_options, VC_CLUSTER_OP_OPTIONS_VERSION, sizeof(vc_cluster_op_options) VC__COMMA);
VC__OPTIONS_INIT_FN(vc_create_options, VC_CREATE_OPTIONS_INIT)
VC__OPTIONS_INIT_FN(vc_cluster_op_options, VC_CLUSTER_OP_OPTIONS_INIT)

static bool dns_label(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 52) /* leaves room for vcluster-<name> and vc-workload-<name> */
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0 && i < n - 1)))
            return false;
    }
    return s[0] >= 'a' && s[0] <= 'z';
}

static const vc__driver *driver_by_name(const char *n)
{
    if (vc__str_empty(n) || !strcmp(n, "kubernetes") || !strcmp(n, "helm"))
        return &vc__driver_kubernetes;
    if (!strcmp(n, "local"))
        return &vc__driver_local;
    return NULL;
}

static int lc_init(vc__lc *lc, vc_kube *host, const char *name, const char *ns, int32_t timeout_ms)
{
    memset(lc, 0, sizeof(*lc));
    if (!host)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "a host connection is required");
    if (!dns_label(name))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                         "invalid virtual cluster name \"%s\": use at most 52 lower-case letters, digits and '-', "
                         "starting with a letter", name ? name : "");
    lc->host = host;
    lc->name = name;
    lc->ns = vc__str_empty(ns) ? vc__sprintf("vcluster-%s", name) : vc__strdup(ns);
    lc->deadline_ms = vc__now_ms() + (timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS);
    return lc->ns ? VC_OK : vc__error_oom();
}

static void lc_clear(vc__lc *lc)
{
    vc__free(lc->ns);
    vc__lc_clear_progress(lc);
}

/* The host Service NAME marks a virtual cluster (both drivers make it). */
static int find_service(vc__lc *lc, json_t **out)
{
    int rc = vc__lc_get(lc->host, "v1", "services", lc->ns, lc->name, out);
    if (rc == VC_ENOTFOUND || (rc == VC_OK && !vc__streq(vc__lc_str(json_object_get(json_object_get(*out, "metadata"), "labels"), VC__LC_APP_LABEL), VC__LC_APP_VALUE))) {
        if (rc == VC_OK) {
            json_decref(*out);
            *out = NULL;
        }
        return vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE,
                         "virtual cluster %s not found in host namespace %s (see `vcluster list`)", lc->name, lc->ns);
    }
    return rc;
}

static const vc__driver *driver_of(const json_t *svc)
{
    const char *d = vc__lc_str(json_object_get(json_object_get(svc, "metadata"), "labels"), VC__LC_DRIVER_LABEL);
    return driver_by_name(d);
}

int vc_cluster_create(vc_kube *host, const vc_create_options *user_opts, vc_buf *out_manifests)
{
    if (!user_opts)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "options are required");
    /* only the bytes of the caller's version are read (util/vstruct.h) */
    vc_create_options o = VC_CREATE_OPTIONS_INIT;
    int vrc = vc__vstruct_read(&vc_create_options__vs, &o, user_opts);
    if (vrc < 0)
        return vrc;
    const vc_create_options *opts = &o;
    const vc__driver *drv = driver_by_name(opts->driver);
    if (!drv)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "unknown driver \"%s\": use kubernetes or local", opts->driver);
    if ((opts->flags & VC_CREATE_PRINT) && !out_manifests)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "VC_CREATE_PRINT needs out_manifests");
    vc__lc lc;
    int rc = lc_init(&lc, host, opts->name, opts->host_namespace, opts->timeout_ms);
    if (rc < 0)
        return rc;
    lc.flags = opts->flags;
    lc.progress = opts->progress;
    lc.progress_ud = opts->progress_user_data;
    lc.cancellable = opts->version >= 2;
    lc.bin_dir = opts->bin_dir;
    lc.syncer_path = opts->syncer_path;
    lc.state_root = opts->state_dir;
    lc.out_manifests = out_manifests;
    vc_config *own = NULL;
    lc.config = opts->config;
    if (!lc.config) {
        if ((rc = vc_config_new(&own)) < 0) {
            lc_clear(&lc);
            return rc;
        }
        lc.config = own;
    }
    lc.distro = opts->distro ? opts->distro : vc_config_distro(lc.config);
    if (!vc__streq(lc.distro, "k8s") && !vc__streq(lc.distro, "k3s") && !vc__streq(lc.distro, "k0s")) {
        rc = vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "unknown distro \"%s\": use k8s, k3s or k0s", lc.distro);
        goto out;
    }
    if (opts->backing_store)
        lc.backing_store = opts->backing_store;
    else
    {
        int32_t bs = VC_STORE_EMBEDDED_DATABASE;
        vc_config_backing_store(&bs, lc.config);
        lc.backing_store = bs == VC_STORE_EMBEDDED_ETCD || bs == VC_STORE_DEPLOYED_ETCD ? "etcd" : "sqlite";
    }
    if (!vc__streq(lc.backing_store, "sqlite") && !vc__streq(lc.backing_store, "etcd")) {
        rc = vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "unknown backing store \"%s\": use sqlite or etcd",
                       lc.backing_store);
        goto out;
    }
    if (!(opts->flags & VC_CREATE_PRINT)) {
        json_t *svc = NULL;
        rc = vc__lc_get(host, "v1", "services", lc.ns, lc.name, &svc);
        if (rc == VC_OK) {
            const vc__driver *have = driver_of(svc);
            json_decref(svc);
            if (!(opts->flags & VC_CREATE_UPGRADE)) {
                rc = vc__error(VC_EEXISTS, VC_ERRCLASS_LIFECYCLE,
                               "virtual cluster %s already exists in namespace %s; use --upgrade to apply new values, "
                               "or delete it first", lc.name, lc.ns);
                goto out;
            }
            if (have && have != drv && vc__str_empty(opts->driver)) {
                drv = have; /* --upgrade without --driver: the one it runs with */
            } else if (have != drv) {
                rc = vc__error(VC_EINVAL, VC_ERRCLASS_LIFECYCLE,
                               "virtual cluster %s runs with the %s driver; it cannot be upgraded to %s", lc.name,
                               have ? have->name : "?", drv->name);
                goto out;
            }
        } else if (rc != VC_ENOTFOUND) {
            goto out;
        } else {
            /* one virtual cluster per namespace (as upstream) */
            vc__kres r = { "v1", "services", lc.ns, NULL, NULL };
            vc__list_opts lo = { 0 };
            lo.label_selector = VC__LC_APP_LABEL "=" VC__LC_APP_VALUE;
            json_t *l = NULL;
            rc = vc__kube_list(host, &r, &lo, &l);
            json_t *first = json_array_get(json_object_get(l, "items"), 0);
            if (rc == VC_OK && first) {
                rc = vc__error(VC_EEXISTS, VC_ERRCLASS_LIFECYCLE,
                               "host namespace %s already holds virtual cluster %s; use another namespace (-n)", lc.ns,
                               vc__lc_str2(first, "metadata", "name"));
                json_decref(l);
                goto out;
            }
            json_decref(l);
            if (rc == VC_ENOTFOUND)
                rc = VC_OK;
            if (rc < 0)
                goto out;
        }
    }
    if ((opts->flags & VC_CREATE_EXPOSE) && drv == &vc__driver_local) {
        /* never silently ignored */
        rc = vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                       "--expose (VC_CREATE_EXPOSE) needs the kubernetes driver: the local driver's API server "
                       "listens on this machine, behind no LoadBalancer Service");
        goto out;
    }
    rc = drv->create(&lc);
out:
    vc_config_free(own);
    lc_clear(&lc);
    return rc;
}

static int op(vc_kube *host, const char *name, const char *ns, const vc_cluster_op_options *user_opts, int which)
{
    /* only the bytes of the caller's version are read (util/vstruct.h) */
    vc_cluster_op_options o = VC_CLUSTER_OP_OPTIONS_INIT;
    const vc_cluster_op_options *opts = NULL;
    if (user_opts) {
        int vrc = vc__vstruct_read(&vc_cluster_op_options__vs, &o, user_opts);
        if (vrc < 0)
            return vrc;
        opts = &o;
    }
    vc__lc lc;
    int rc = lc_init(&lc, host, name, ns, opts ? opts->timeout_ms : 0);
    if (rc < 0)
        return rc;
    if (opts) {
        lc.progress = opts->progress;
        lc.progress_ud = opts->progress_user_data;
        lc.cancellable = opts->version >= 2;
        lc.bin_dir = opts->bin_dir;
        lc.syncer_path = opts->syncer_path;
        lc.state_root = opts->state_dir;
        lc.flags = opts->flags;
    }
    json_t *svc = NULL;
    rc = find_service(&lc, &svc);
    if (rc == VC_OK) {
        const vc__driver *drv = driver_of(svc);
        if (!drv)
            rc = vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_LIFECYCLE, "virtual cluster %s has an unknown driver", name);
        else if (which == 0)
            rc = drv->pause(&lc, svc);
        else if (which == 1)
            rc = drv->resume(&lc, svc);
        else
            rc = drv->remove(&lc, svc, opts ? opts->flags : 0);
    }
    json_decref(svc);
    lc_clear(&lc);
    return rc;
}

int vc_cluster_pause(vc_kube *host, const char *name, const char *ns, const vc_cluster_op_options *opts)
{
    return op(host, name, ns, opts, 0);
}

int vc_cluster_resume(vc_kube *host, const char *name, const char *ns, const vc_cluster_op_options *opts)
{
    return op(host, name, ns, opts, 1);
}

int vc_cluster_delete(vc_kube *host, const char *name, const char *ns, const vc_cluster_op_options *opts)
{
    return op(host, name, ns, opts, 2);
}

/* ---- info records ---- */

void vc_cluster_info_free(vc_cluster_info *i)
{
    if (!i)
        return;
    vc__free((char *)i->name);
    vc__free((char *)i->host_namespace);
    vc__free((char *)i->driver);
    vc__free((char *)i->version);
    vc__free((char *)i->created);
    vc__free((char *)i->server);
    vc__free((char *)i->message);
    vc__free(i);
}

void vc__lc_info_set(const char **field, const char *value)
{
    char *c = vc__strdup(value ? value : "");
    if (!c)
        return;
    vc__free((char *)*field);
    *field = c;
}

static char *context_name(vc_kube *host, const char *name, const char *ns)
{
    const char *hc = vc_kube_context(host);
    return vc__sprintf("vcluster_%s_%s_%s", name, ns, hc && *hc ? hc : "in-cluster");
}

/* Current context of the user's kubeconfig (for "connected"). */
static char *current_context(void)
{
    vc__kube_cfg c;
    if (vc__kubeconfig_load(&c, NULL, NULL, NULL) < 0) {
        vc_error_clear();
        return NULL;
    }
    char *r = vc__strdup(c.context);
    vc__kube_cfg_clear(&c);
    return r;
}

static int info_from_service(vc__lc *lc, const json_t *svc, vc_cluster_info **out, const char *cur_ctx)
{
    vc_cluster_info *i = vc__calloc(1, sizeof(*i));
    if (!i)
        return vc__error_oom();
    const vc__driver *drv = driver_of(svc);
    vc__lc_info_set(&i->name, lc->name);
    vc__lc_info_set(&i->host_namespace, lc->ns);
    vc__lc_info_set(&i->driver, drv ? drv->name : "unknown");
    vc__lc_info_set(&i->created, vc__lc_str2(svc, "metadata", "creationTimestamp"));
    vc__lc_info_set(&i->version, "");
    vc__lc_info_set(&i->server, "");
    vc__lc_info_set(&i->message, "");
    int rc = drv ? drv->status(lc, svc, i) : VC_OK;
    if (rc < 0) {
        vc_cluster_info_free(i);
        return rc;
    }
    char *ctx = context_name(lc->host, lc->name, lc->ns);
    i->connected = ctx && cur_ctx && !strcmp(ctx, cur_ctx);
    vc__free(ctx);
    if (!i->name || !i->host_namespace || !i->driver || !i->created || !i->version || !i->server || !i->message) {
        vc_cluster_info_free(i);
        return vc__error_oom();
    }
    *out = i;
    return VC_OK;
}

int vc_cluster_status(vc_cluster_info **out, vc_kube *host, const char *name, const char *ns)
{
    if (!out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "out is NULL");
    *out = NULL;
    vc__lc lc;
    int rc = lc_init(&lc, host, name, ns, 10000);
    if (rc < 0)
        return rc;
    json_t *svc = NULL;
    rc = find_service(&lc, &svc);
    if (rc == VC_OK) {
        char *cur = current_context();
        rc = info_from_service(&lc, svc, out, cur);
        vc__free(cur);
    }
    json_decref(svc);
    lc_clear(&lc);
    return rc;
}

struct vc_cluster_list {
    vc_cluster_info **items;
    size_t n;
};

int vc_cluster_list_get(vc_cluster_list **out, vc_kube *host, const char *ns)
{
    if (!out || !host)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "out and host are required");
    *out = NULL;
    vc__kres r = { "v1", "services", ns, NULL, NULL };
    vc__list_opts o = { 0 };
    o.label_selector = VC__LC_APP_LABEL "=" VC__LC_APP_VALUE "," VC__LC_DRIVER_LABEL;
    json_t *l = NULL;
    int rc = vc__kube_list_all(host, &r, &o, &l);
    if (rc < 0)
        return rc;
    vc_cluster_list *list = vc__calloc(1, sizeof(*list));
    json_t *items = json_object_get(l, "items");
    if (list && json_array_size(items))
        list->items = vc__calloc(json_array_size(items), sizeof(vc_cluster_info *));
    if (!list || (json_array_size(items) && !list->items)) {
        vc__free(list);
        json_decref(l);
        return vc__error_oom();
    }
    char *cur = current_context();
    size_t k;
    json_t *svc;
    json_array_foreach(items, k, svc) {
        const char *name = vc__lc_str2(svc, "metadata", "name");
        const char *sns = vc__lc_str2(svc, "metadata", "namespace");
        vc__lc lc;
        if (lc_init(&lc, host, name, sns, 5000) < 0)
            continue;
        vc_cluster_info *i = NULL;
        if (info_from_service(&lc, svc, &i, cur) == VC_OK)
            list->items[list->n++] = i;
        lc_clear(&lc);
    }
    vc__free(cur);
    json_decref(l);
    vc_error_clear();
    *out = list;
    return VC_OK;
}

size_t vc_cluster_list_count(vc_cluster_list *list)
{
    return list ? list->n : 0;
}

const vc_cluster_info *vc_cluster_list_at(vc_cluster_list *list, size_t i)
{
    return list && i < list->n ? list->items[i] : NULL;
}

void vc_cluster_list_free(vc_cluster_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        vc_cluster_info_free(list->items[i]);
    vc__free(list->items);
    vc__free(list);
}

/* ---- connect ---- */

int vc_cluster_connect(vc_buf *out, vc_kube *host, const char *name, const char *ns, const char *server)
{
    if (!out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "out is NULL");
    vc__lc lc;
    int rc = lc_init(&lc, host, name, ns, 10000);
    if (rc < 0)
        return rc;
    json_t *svc = NULL, *sec = NULL;
    char *secname = vc__sprintf("vc-%s", name);
    char *ctx = context_name(host, name, lc.ns);
    vc__kube_cfg kc;
    memset(&kc, 0, sizeof kc);
    if (!secname || !ctx) {
        rc = vc__error_oom();
        goto out;
    }
    if ((rc = find_service(&lc, &svc)) < 0)
        goto out;
    json_t *ann = json_object_get(json_object_get(svc, "metadata"), "annotations");
    if (vc__streq(vc__lc_str(ann, VC__LC_PAUSED_ANN), "true")) {
        rc = vc__error(VC_ESTATE, VC_ERRCLASS_LIFECYCLE, "virtual cluster %s is paused; run `vcluster resume %s` first",
                       name, name);
        goto out;
    }
    if ((rc = vc__lc_get(host, "v1", "secrets", lc.ns, secname, &sec)) < 0) {
        if (rc == VC_ENOTFOUND)
            rc = vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE,
                           "virtual cluster %s has no kubeconfig Secret %s/%s yet (still starting?)", name, lc.ns,
                           secname);
        goto out;
    }
    const char *cfg64 = vc__lc_str2(sec, "data", "config");
    unsigned char *cfg = NULL;
    size_t cfglen = 0;
    if (!cfg64 || vc__base64_decode(cfg64, strlen(cfg64), &cfg, &cfglen) < 0) {
        rc = vc__error(VC_ECONFIG, VC_ERRCLASS_LIFECYCLE, "Secret %s/%s holds no kubeconfig under data.config", lc.ns,
                       secname);
        goto out;
    }
    rc = vc__kubeconfig_load(&kc, NULL, (const char *)cfg, NULL);
    vc__free(cfg);
    if (rc < 0)
        goto out;
    /* an exposed LoadBalancer address wins over the in-cluster one */
    const char *addr = server;
    char *lb = NULL;
    if (!addr) {
        json_t *ing = json_array_get(json_object_get(json_object_get(json_object_get(svc, "status"), "loadBalancer"), "ingress"), 0);
        const char *ip = vc__lc_str(ing, "ip"), *hn = vc__lc_str(ing, "hostname");
        if (ip || hn)
            addr = lb = vc__sprintf("https://%s:443", ip ? ip : hn);
    }
    vc__kubeconfig_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.server = addr ? addr : kc.server;
    spec.ca_pem = (const char *)kc.ca_data;
    spec.client_cert_pem = (const char *)kc.cert_data;
    spec.client_key_pem = (const char *)kc.key_data;
    spec.token = kc.token;
    spec.insecure = kc.insecure;
    spec.context = ctx;
    rc = vc__kubeconfig_render(out, &spec);
    vc__free(lb);
out:
    vc__kube_cfg_clear(&kc);
    json_decref(svc);
    json_decref(sec);
    vc__free(secname);
    vc__free(ctx);
    lc_clear(&lc);
    return rc;
}

/* ---- the pod to port-forward to (kubernetes driver) ---- */

/* The virtual API server's port inside the control plane pod (the Service
 * maps 443 to it; templates/container-*.yaml). */
#define K8S_APISERVER_POD_PORT 8443

static bool pod_ready(const json_t *pod)
{
    if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
        return false;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c) {
        if (vc__streq(vc__lc_str(c, "type"), "Ready"))
            return vc__streq(vc__lc_str(c, "status"), "True");
    }
    return false;
}

int vc_cluster_find_pod(vc_buf *out, int32_t *out_port, vc_kube *host, const char *name, const char *ns,
                        const char *pod)
{
    if (!out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "out is NULL");
    vc__lc lc;
    int rc = lc_init(&lc, host, name, ns, 10000);
    if (rc < 0)
        return rc;
    json_t *svc = NULL, *pods = NULL;
    char *sel = vc__sprintf("%s=%s,%s=%s", VC__LC_APP_LABEL, VC__LC_APP_VALUE, VC__LC_RELEASE_LABEL, name);
    if (!sel) {
        rc = vc__error_oom();
        goto out;
    }
    if ((rc = find_service(&lc, &svc)) < 0)
        goto out;
    const vc__driver *d = driver_of(svc);
    if (d != &vc__driver_kubernetes) {
        rc = vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_LIFECYCLE,
                       "virtual cluster %s runs with the %s driver: it has no control plane pod", name,
                       d ? d->name : "unknown");
        goto out;
    }
    if (vc__streq(vc__lc_str(json_object_get(json_object_get(svc, "metadata"), "annotations"), VC__LC_PAUSED_ANN),
                  "true")) {
        rc = vc__error(VC_ESTATE, VC_ERRCLASS_LIFECYCLE, "virtual cluster %s is paused; run `vcluster resume %s` first",
                       name, name);
        goto out;
    }
    vc__kres r = { "v1", "pods", lc.ns, NULL, NULL };
    vc__list_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.label_selector = sel;
    if ((rc = vc__kube_list_all(host, &r, &lo, &pods)) < 0)
        goto out;
    const char *chosen = NULL, *first_name = NULL;
    size_t i, n = 0;
    json_t *p;
    json_array_foreach(json_object_get(pods, "items"), i, p) {
        const char *pn = vc__lc_str2(p, "metadata", "name");
        if (!pn || (pod && strcmp(pn, pod) != 0))
            continue;
        n++;
        if (!first_name)
            first_name = pn;
        /* the lowest ordinal among the Ready ones: the same pod every time */
        if (pod_ready(p) && (!chosen || strcmp(pn, chosen) < 0))
            chosen = pn;
    }
    if (!chosen) {
        if (pod && n == 0)
            rc = vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE,
                           "pod %s/%s is not a control plane pod of virtual cluster %s (label selector %s)", lc.ns, pod,
                           name, sel);
        else
            rc = vc__error(VC_ESTATE, VC_ERRCLASS_LIFECYCLE,
                           "virtual cluster %s has no Ready control plane pod in %s (%zu found%s%s); see `vcluster list`",
                           name, lc.ns, n, first_name ? ", e.g. " : "", first_name ? first_name : "");
        goto out;
    }
    vc__buf_clear(out);
    if ((rc = vc__buf_puts(out, chosen)) < 0)
        goto out;
    if (out_port)
        *out_port = K8S_APISERVER_POD_PORT;
out:
    json_decref(svc);
    json_decref(pods);
    vc__free(sel);
    lc_clear(&lc);
    return rc;
}

/* The stored values: Secret vc-config-NAME (config.yaml) for the kubernetes
 * driver, values.yaml in the state directory for the local driver. */
int vc_cluster_get_config(vc_buf *out, vc_kube *host, const char *name, const char *ns)
{
    if (!out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "out is NULL");
    vc__lc lc;
    int rc = lc_init(&lc, host, name, ns, 10000);
    if (rc < 0)
        return rc;
    json_t *svc = NULL, *sec = NULL;
    char *text = NULL;
    size_t len = 0;
    rc = find_service(&lc, &svc);
    const vc__driver *drv = rc == VC_OK ? driver_of(svc) : NULL;
    if (rc == VC_OK && drv == &vc__driver_local) {
        const char *dir = vc__lc_str(json_object_get(json_object_get(svc, "metadata"), "annotations"), VC__LC_STATE_ANN);
        char *p = dir ? vc__path_join(dir, "values.yaml") : NULL;
        rc = !dir ? vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE, "host Service %s/%s has no %s annotation", lc.ns,
                              lc.name, VC__LC_STATE_ANN)
             : p  ? vc__file_read(p, &text, &len)
                  : vc__error_oom();
        vc__free(p);
    } else if (rc == VC_OK) {
        char *sname = vc__sprintf("vc-config-%s", lc.name);
        rc = sname ? vc__lc_get(lc.host, "v1", "secrets", lc.ns, sname, &sec) : vc__error_oom();
        const char *b64 = rc == VC_OK ? vc__lc_str(json_object_get(sec, "data"), "config.yaml") : NULL;
        if (rc == VC_OK && !b64)
            rc = vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE, "host Secret %s/%s has no config.yaml", lc.ns, sname);
        unsigned char *raw = NULL;
        if (rc == VC_OK && b64)
            rc = vc__base64_decode(b64, strlen(b64), &raw, &len);
        if (rc == VC_OK) {
            text = vc__malloc(len + 1);
            if (text) {
                if (raw)
                    memcpy(text, raw, len);
                text[len] = '\0';
            } else {
                rc = vc__error_oom();
            }
        }
        vc__free(raw);
        vc__free(sname);
    }
    if (rc == VC_OK)
        rc = vc__buf_set(out, text);
    vc__free(text);
    json_decref(sec);
    json_decref(svc);
    lc_clear(&lc);
    return rc;
}

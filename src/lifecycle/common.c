/* Host-side helpers shared by the drivers. */
#include <stdarg.h>
#include <string.h>

#include "lifecycle/lifecycle.h"
#include "lifecycle/proc.h"

#define FIELD_MANAGER "vcluster"

static int canceled(vc__lc *lc)
{
    lc->canceled = true;
    return vc__error(VC_ECANCELED, VC_ERRCLASS_LIFECYCLE, "virtual cluster %s: cancelled by the progress callback",
                     lc->name ? lc->name : "");
}

/* The callback of a version-1 caller returns void: never read its result. */
static int call_progress(vc__lc *lc, const char *step, const char *msg, int32_t done)
{
    if (lc->canceled)
        return canceled(lc);
    if (!lc->progress)
        return VC_OK;
    int r = lc->progress(step, msg, done, lc->progress_ud);
    return lc->cancellable && r != 0 ? canceled(lc) : VC_OK;
}

int vc__lc_step(vc__lc *lc, const char *step, int done, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = vc__vsprintf(fmt, ap);
    va_end(ap);
    VC__LOGI("lifecycle", "%s%s", m ? m : step, done ? " (done)" : "");
    int rc = call_progress(lc, step, m ? m : step, done ? VC_PROGRESS_DONE : VC_PROGRESS_STARTED);
    /* kept for the VC_PROGRESS_WAITING ticks that follow */
    char *s = vc__strdup(step);
    vc__free(lc->tick_step);
    vc__free(lc->tick_msg);
    lc->tick_step = s;
    lc->tick_msg = m;
    return rc;
}

int vc__lc_tick(vc__lc *lc)
{
    const char *step = lc->tick_step ? lc->tick_step : "wait";
    return call_progress(lc, step, lc->tick_msg ? lc->tick_msg : step, VC_PROGRESS_WAITING);
}

int vc__lc_tick_cb(void *lc)
{
    return vc__lc_tick(lc);
}

int vc__lc_sleep(vc__lc *lc, int64_t ms)
{
    int64_t end = vc__now_ms() + (ms < vc__lc_left(lc) ? ms : vc__lc_left(lc));
    int rc = vc__lc_tick(lc);
    for (int64_t now = vc__now_ms(); rc == VC_OK && now < end; now = vc__now_ms()) {
        int64_t slice = end - now < VC__LC_TICK_MS ? end - now : VC__LC_TICK_MS;
        vc__sleep_ms(slice);
        rc = vc__lc_tick(lc);
    }
    return rc;
}

void vc__lc_clear_progress(vc__lc *lc)
{
    vc__free(lc->tick_step);
    vc__free(lc->tick_msg);
    lc->tick_step = lc->tick_msg = NULL;
}

int64_t vc__lc_left(vc__lc *lc)
{
    int64_t d = lc->deadline_ms - vc__now_ms();
    return d > 0 ? d : 0;
}

int vc__lc_timeout(vc__lc *lc, const char *what)
{
    return vc__error(VC_ETIMEDOUT, VC_ERRCLASS_LIFECYCLE, "virtual cluster %s: timed out waiting for %s", lc->name, what);
}

int vc__lc_get(vc_kube *k, const char *api_version, const char *resource, const char *ns, const char *name,
               json_t **out)
{
    vc__kres r = { api_version, resource, ns, name, NULL };
    return vc__kube_get(k, &r, out);
}

int vc__lc_delete(vc_kube *k, const char *api_version, const char *resource, const char *ns, const char *name)
{
    vc__kres r = { api_version, resource, ns, name, NULL };
    vc__delete_opts o = { "Background", -1, NULL, NULL };
    int rc = vc__kube_delete(k, &r, &o, NULL);
    return rc == VC_ENOTFOUND ? VC_OK : rc;
}

int vc__lc_delete_collection(vc_kube *k, const char *api_version, const char *resource, const char *ns,
                             const char *sel)
{
    vc_buf b = VC_BUF_INIT;
    vc__kres r = { api_version, resource, ns, NULL, NULL };
    vc__list_opts o = { 0 };
    o.label_selector = sel;
    int rc = vc__kube_path(&b, &r, &o);
    static const char body[] = "{\"propagationPolicy\":\"Background\"}";
    if (rc == VC_OK)
        rc = vc__kube_do(k, "DELETE", b.ptr, "application/json", body, sizeof body - 1, NULL, NULL);
    vc_buf_dispose(&b);
    return rc == VC_ENOTFOUND ? VC_OK : rc;
}

/* Resource (plural) of the kinds we apply. */
static const char *plural_of(const char *kind)
{
    static const char *const map[][2] = {
        { "Namespace", "namespaces" },     { "Service", "services" },
        { "Secret", "secrets" },           { "ConfigMap", "configmaps" },
        { "ServiceAccount", "serviceaccounts" }, { "Role", "roles" },
        { "RoleBinding", "rolebindings" }, { "ClusterRole", "clusterroles" },
        { "ClusterRoleBinding", "clusterrolebindings" }, { "StatefulSet", "statefulsets" },
        { "Deployment", "deployments" },   { "NetworkPolicy", "networkpolicies" },
        { "ResourceQuota", "resourcequotas" }, { "LimitRange", "limitranges" },
        { "PersistentVolumeClaim", "persistentvolumeclaims" },
    };
    for (size_t i = 0; i < VC__ARRAY_LEN(map); i++)
        if (!strcmp(map[i][0], kind))
            return map[i][1];
    return NULL;
}

int vc__lc_apply(vc_kube *k, const json_t *obj)
{
    const char *kind = vc__lc_str(obj, "kind");
    const char *apiv = vc__lc_str(obj, "apiVersion");
    json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (!kind || !apiv || !name)
        return vc__error(VC_EINVAL, VC_ERRCLASS_LIFECYCLE, "apply: object without apiVersion, kind or name");
    const char *res = plural_of(kind);
    vc__gvr g = { 0 };
    if (!res) {
        int rc = vc__kube_discover(k, apiv, kind, &g);
        if (rc < 0)
            return rc;
        res = g.resource;
    }
    vc__kres r = { apiv, res, ns, name, NULL };
    char *body = json_dumps(obj, JSON_COMPACT);
    int rc = body ? vc__kube_patch(k, &r, VC__PATCH_APPLY, body, FIELD_MANAGER, true, NULL) : vc__error_oom();
    vc__free(body);
    vc__gvr_clear(&g);
    if (rc < 0)
        vc__error_prefix("apply %s %s%s%s", kind, ns ? ns : "", ns ? "/" : "", name);
    return rc;
}

int vc__lc_ensure_namespace(vc__lc *lc, bool *out_created)
{
    if (out_created)
        *out_created = false;
    json_t *ns = NULL;
    int rc = vc__lc_get(lc->host, "v1", "namespaces", NULL, lc->ns, &ns);
    /* a namespace still being deleted (a previous cluster of the same
     * name): wait for it to go, within the deadline */
    while (rc == VC_OK && vc__streq(vc__lc_str2(ns, "status", "phase"), "Terminating")) {
        json_decref(ns);
        ns = NULL;
        if (vc__lc_left(lc) == 0)
            return vc__error(VC_ETIMEDOUT, VC_ERRCLASS_LIFECYCLE,
                             "host namespace %s is still being deleted; wait and try again", lc->ns);
        if ((rc = vc__lc_step(lc, "namespace", 0, "waiting for the old host namespace %s to be deleted", lc->ns)) < 0 ||
            (rc = vc__lc_sleep(lc, 500)) < 0)
            return rc;
        rc = vc__lc_get(lc->host, "v1", "namespaces", NULL, lc->ns, &ns);
    }
    if (rc == VC_OK) {
        json_decref(ns);
        return VC_OK;
    }
    if (rc != VC_ENOTFOUND)
        return rc;
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
                            lc->ns, "annotations", VC__LC_CREATED_ANN, "true");
    vc__kres r = { "v1", "namespaces", NULL, NULL, NULL };
    rc = obj ? vc__kube_create(lc->host, &r, obj, NULL) : vc__error_oom();
    json_decref(obj);
    if (rc == VC_OK && out_created)
        *out_created = true;
    return rc == VC_EEXISTS ? VC_OK : rc;
}

/* controlPlane.backingStore.database.external.dataSourceSecret: the
 * dataSource in the host Secret's key (lc->ns), read and checked before
 * anything is made. *out (caller frees; wipe it) is NULL when the values
 * name no Secret. */
#define KEY_DSS "controlPlane.backingStore.database.external.dataSourceSecret"
int vc__lc_datasource_secret(vc__lc *lc, char **out)
{
    *out = NULL;
    const vc__cfg_values *v = vc__config_values(lc->config);
    const char *name = v->control_plane.backing_store.database.external.data_source_secret_name;
    const char *key = v->control_plane.backing_store.database.external.data_source_secret_key;
    if (vc__str_empty(name) || vc__lc_store_kind(lc, lc->config) != VC_STORE_EXTERNAL_DATABASE)
        return VC_OK;
    json_t *sec = NULL;
    int rc = vc__lc_get(lc->host, "v1", "secrets", lc->ns, name, &sec);
    if (rc == VC_ENOTFOUND)
        return vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE,
                         "%s.name: host Secret %s/%s does not exist; create it first, e.g. kubectl create namespace "
                         "%s; kubectl -n %s create secret generic %s --from-literal=%s='postgres://...'",
                         KEY_DSS, lc->ns, name, lc->ns, lc->ns, name, key);
    if (rc < 0) {
        vc__error_prefix("%s.name: reading host Secret %s/%s", KEY_DSS, lc->ns, name);
        return rc;
    }
    const char *b64 = vc__lc_str(json_object_get(sec, "data"), key);
    unsigned char *raw = NULL;
    size_t n = 0;
    if (!b64)
        rc = vc__error(VC_ECONFIG, VC_ERRCLASS_LIFECYCLE, "%s.key: host Secret %s/%s has no key %s", KEY_DSS, lc->ns,
                       name, key);
    else if (vc__base64_decode(b64, strlen(b64), &raw, &n) < 0)
        rc = vc__error(VC_ECONFIG, VC_ERRCLASS_LIFECYCLE, "%s.key: key %s of host Secret %s/%s is not base64",
                       KEY_DSS, key, lc->ns, name);
    json_decref(sec);
    char *ds = rc == VC_OK ? vc__strndup((const char *)raw, n) : NULL;
    if (raw) {
        memset(raw, 0, n);
        vc__free(raw);
    }
    if (rc == VC_OK && !ds)
        return vc__error_oom();
    if (rc < 0)
        return rc;
    /* trailing newline from `echo ... | kubectl create secret --from-file` */
    for (size_t l = strlen(ds); l && (ds[l - 1] == '\n' || ds[l - 1] == '\r'); l--)
        ds[l - 1] = '\0';
    if (!vc__str_startswith(ds, "mysql://") && !vc__str_startswith(ds, "postgres://") &&
        !vc__str_startswith(ds, "postgresql://")) {
        char *shown = vc__endpoint_mask(ds);
        rc = vc__error(VC_ECONFIG, VC_ERRCLASS_LIFECYCLE,
                       "%s: key %s of host Secret %s/%s must start with mysql://, postgres:// or postgresql://, got "
                       "\"%.40s%s\"",
                       KEY_DSS, key, lc->ns, name, shown ? shown : "", shown && strlen(shown) > 40 ? "..." : "");
        vc__free(shown);
        memset(ds, 0, strlen(ds));
        vc__free(ds);
        return rc;
    }
    *out = ds;
    return VC_OK;
}

int vc__lc_service_cidr(vc_kube *k, const char *ns, char **out)
{
    *out = NULL;
    vc__kres r = { "v1", "services", ns, NULL, NULL };
    json_t *svc = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:[{s:i}]}}", "apiVersion", "v1", "kind", "Service", "metadata",
                            "name", "vcluster-cidr-probe", "spec", "clusterIP", "4.4.4.4", "ports", "port", 80);
    vc_buf path = VC_BUF_INIT;
    int rc = svc ? vc__kube_path(&path, &r, NULL) : vc__error_oom();
    char *body = svc ? json_dumps(svc, JSON_COMPACT) : NULL;
    json_decref(svc);
    vc_buf resp = VC_BUF_INIT;
    long http = 0;
    if (rc == VC_OK && body) {
        vc__buf_puts(&path, "?dryRun=All");
        rc = vc__kube_do(k, "POST", path.ptr, NULL, body, strlen(body), &http, &resp);
    }
    vc__free(body);
    vc_buf_dispose(&path);
    /* "... The range of valid IPs is 10.96.0.0/12" */
    const char *m = resp.ptr ? strstr(resp.ptr, "valid IPs is ") : NULL;
    if (m) {
        m += strlen("valid IPs is ");
        size_t n = strspn(m, "0123456789abcdef.:/");
        *out = vc__strndup(m, n);
        vc_buf_dispose(&resp);
        vc_error_clear();
        return *out ? VC_OK : vc__error_oom();
    }
    vc_buf_dispose(&resp);
    if (rc == VC_OK)
        return vc__error(VC_EAPI, VC_ERRCLASS_LIFECYCLE,
                         "cannot find the host's service CIDR (the API server accepted 4.4.4.4 as a ClusterIP)");
    vc__error_prefix("finding the host's service CIDR");
    return rc;
}

json_t *vc__lc_labels(const char *name, const char *driver)
{
    return json_pack("{s:s,s:s,s:s}", VC__LC_APP_LABEL, VC__LC_APP_VALUE, VC__LC_RELEASE_LABEL, name,
                     VC__LC_DRIVER_LABEL, driver);
}

json_t *vc__lc_kubeconfig_secret(vc__lc *lc, const char *driver, const char *kubeconfig, const char *ca,
                                 const char *cert, const char *key)
{
    char name[300];
    snprintf(name, sizeof name, "vc-%s", lc->name);
    char *k64 = vc__base64_encode((const unsigned char *)kubeconfig, strlen(kubeconfig));
    char *c64 = ca ? vc__base64_encode((const unsigned char *)ca, strlen(ca)) : NULL;
    char *e64 = cert ? vc__base64_encode((const unsigned char *)cert, strlen(cert)) : NULL;
    char *y64 = key ? vc__base64_encode((const unsigned char *)key, strlen(key)) : NULL;
    json_t *data = json_object();
    if (k64)
        json_object_set_new(data, "config", json_string(k64));
    if (c64)
        json_object_set_new(data, "certificate-authority", json_string(c64));
    if (e64)
        json_object_set_new(data, "client-certificate", json_string(e64));
    if (y64)
        json_object_set_new(data, "client-key", json_string(y64));
    vc__free(k64);
    vc__free(c64);
    vc__free(e64);
    vc__free(y64);
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:s,s:o}", "apiVersion", "v1", "kind", "Secret", "metadata", "name", name,
                     "namespace", lc->ns, "labels", vc__lc_labels(lc->name, driver), "type", "Opaque", "data", data);
}

static int count_managed_pods(vc__lc *lc, int *out)
{
    char *sel = vc__sprintf("%s=%s", VC__LC_MANAGED_BY, lc->name);
    vc__kres r = { "v1", "pods", lc->ns, NULL, NULL };
    vc__list_opts o = { 0 };
    o.label_selector = sel;
    o.limit = 1;
    json_t *l = NULL;
    int rc = sel ? vc__kube_list(lc->host, &r, &o, &l) : vc__error_oom();
    vc__free(sel);
    if (rc == VC_OK) {
        json_int_t rem = json_integer_value(json_object_get(json_object_get(l, "metadata"), "remainingItemCount"));
        *out = (int)json_array_size(json_object_get(l, "items")) + (int)rem;
    }
    json_decref(l);
    return rc;
}

int vc__lc_delete_workloads(vc__lc *lc)
{
    char *sel = vc__sprintf("%s=%s", VC__LC_MANAGED_BY, lc->name);
    if (!sel)
        return vc__error_oom();
    int rc = vc__lc_step(lc, "workloads", 0, "deleting the workloads of %s in host namespace %s", lc->name, lc->ns);
    if (rc == VC_OK)
        rc = vc__lc_delete_collection(lc->host, "v1", "pods", lc->ns, sel);
    vc__free(sel);
    if (rc < 0)
        return rc;
    for (;;) {
        int n = 0;
        if ((rc = count_managed_pods(lc, &n)) < 0)
            return rc;
        if (n == 0)
            break;
        if (vc__lc_left(lc) == 0)
            return vc__lc_timeout(lc, "its host pods to go");
        if ((rc = vc__lc_sleep(lc, 200)) < 0)
            return rc;
    }
    return vc__lc_step(lc, "workloads", 1, "host workloads deleted");
}

/* The marker cluster-scoped host objects carry in managed-by: upstream's
 * SafeConcatName(hostNamespace, "x", name), as src/translate/names.c makes
 * it (the layers keep lifecycle off translate; the rule is three lines). */
static void cluster_marker(const char *ns, const char *name, char out[80])
{
    char full[600];
    snprintf(full, sizeof full, "%s-x-%s", ns, name);
    if (strlen(full) > 63) {
        char hex[65];
        vc__sha256_hex(full, strlen(full), hex);
        snprintf(out, 80, "%.52s-%.10s", full, hex);
    } else {
        memcpy(out, full, strlen(full) + 1); /* <= 63 characters */
    }
    char *p;
    while ((p = strstr(out, ".-")))
        memmove(p, p + 1, strlen(p + 1) + 1);
}

/* Cluster-scoped objects the syncer made for this virtual cluster (storage
 * and priority classes, PVs, under sync.toHost.*): they outlive the
 * namespace, so they go by their marker. PVs are kept with the claims
 * (VC_DELETE_KEEP_PVC): a kept claim may be bound to one. A host that does
 * not let us list them (403) had none of ours made either. */
static int delete_cluster_objects(vc__lc *lc, uint32_t flags)
{
    char marker[80];
    cluster_marker(lc->ns, lc->name, marker);
    char *sel = vc__sprintf("%s=%s", VC__LC_MANAGED_BY, marker);
    if (!sel)
        return vc__error_oom();
    static const char *const res[][2] = {
        { "storage.k8s.io/v1", "storageclasses" },
        { "scheduling.k8s.io/v1", "priorityclasses" },
        { "v1", "persistentvolumes" },
    };
    int rc = VC_OK;
    for (size_t i = 0; i < VC__ARRAY_LEN(res) && rc == VC_OK; i++) {
        if ((flags & VC_DELETE_KEEP_PVC) && !strcmp(res[i][1], "persistentvolumes"))
            continue;
        rc = vc__lc_delete_collection(lc->host, res[i][0], res[i][1], NULL, sel);
        if (rc == VC_EFORBIDDEN) {
            VC__LOGI("lifecycle", "not allowed to delete host %s labelled %s: skipped", res[i][1], sel);
            vc_error_clear();
            rc = VC_OK;
        }
    }
    vc__free(sel);
    return rc;
}

int vc__lc_delete_host_objects(vc__lc *lc, uint32_t flags)
{
    char *sel = vc__sprintf("%s=%s", VC__LC_MANAGED_BY, lc->name);
    if (!sel)
        return vc__error_oom();
    static const char *const res[][2] = {
        { "v1", "pods" },       { "v1", "services" },   { "v1", "endpoints" },
        { "v1", "configmaps" }, { "v1", "secrets" },    { "v1", "serviceaccounts" },
        { "networking.k8s.io/v1", "ingresses" }, { "networking.k8s.io/v1", "networkpolicies" },
        { "policy/v1", "poddisruptionbudgets" },
        { "v1", "persistentvolumeclaims" },
    };
    int rc = VC_OK;
    if (flags & VC_DELETE_KEEP_PVC) {
        /* kept PVCs lose their owner reference to the Service
         * (experimental.syncSettings.setOwner), or the host's garbage
         * collector removes them once the Service goes */
        vc__kres r = { "v1", "persistentvolumeclaims", lc->ns, NULL, NULL };
        vc__list_opts o = { 0 };
        o.label_selector = sel;
        json_t *l = NULL;
        rc = vc__kube_list_all(lc->host, &r, &o, &l);
        size_t k;
        json_t *it;
        json_array_foreach(json_object_get(l, "items"), k, it) {
            if (rc < 0 || !json_array_size(json_object_get(json_object_get(it, "metadata"), "ownerReferences")))
                continue;
            vc__kres one = { "v1", "persistentvolumeclaims", lc->ns, vc__lc_str2(it, "metadata", "name"), NULL };
            rc = vc__kube_patch(lc->host, &one, VC__PATCH_MERGE, "{\"metadata\":{\"ownerReferences\":null}}", NULL,
                                false, NULL);
            if (rc == VC_ENOTFOUND)
                rc = VC_OK;
        }
        json_decref(l);
    }
    for (size_t i = 0; i < VC__ARRAY_LEN(res) && rc == VC_OK; i++) {
        if ((flags & VC_DELETE_KEEP_PVC) && !strcmp(res[i][1], "persistentvolumeclaims"))
            continue;
        if (!strcmp(res[i][1], "services")) {
            /* services have no deletecollection: one by one */
            vc__kres r = { "v1", "services", lc->ns, NULL, NULL };
            vc__list_opts o = { 0 };
            o.label_selector = sel;
            json_t *l = NULL;
            rc = vc__kube_list_all(lc->host, &r, &o, &l);
            size_t k;
            json_t *it;
            json_array_foreach(json_object_get(l, "items"), k, it) {
                if (rc == VC_OK)
                    rc = vc__lc_delete(lc->host, "v1", "services", lc->ns, vc__lc_str2(it, "metadata", "name"));
            }
            json_decref(l);
            continue;
        }
        rc = vc__lc_delete_collection(lc->host, res[i][0], res[i][1], lc->ns, sel);
    }
    vc__free(sel);
    if (rc == VC_OK)
        rc = delete_cluster_objects(lc, flags);
    return rc;
}

const char *vc__lc_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

const char *vc__lc_str2(const json_t *o, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

/* The store actually deployed. lc->backing_store is the explicit option, or
 * what api.c derived from the config ("etcd" for embedded/deployed etcd,
 * else "sqlite"); only a real disagreement overrides the config. */
int vc__lc_store_kind(const vc__lc *lc, const vc_config *cfg)
{
    int32_t store = VC_STORE_EMBEDDED_DATABASE;
    vc_config_backing_store(&store, (vc_config *)cfg);
    bool etcd = store == VC_STORE_EMBEDDED_ETCD || store == VC_STORE_DEPLOYED_ETCD || store == VC_STORE_EXTERNAL_ETCD;
    if (vc__streq(lc->backing_store, "etcd") && !etcd)
        return VC_STORE_EMBEDDED_ETCD;
    if (vc__streq(lc->backing_store, "sqlite") && (store == VC_STORE_EMBEDDED_ETCD || store == VC_STORE_DEPLOYED_ETCD))
        return VC_STORE_EMBEDDED_DATABASE;
    return store;
}

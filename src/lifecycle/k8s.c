/*
 * The "kubernetes" lifecycle driver: what upstream vcluster's chart deploys,
 * rendered from templates/ and applied with server-side apply.
 *
 * Readiness means the StatefulSet reports its pods Ready. Nothing here waits
 * for what only a running container would do (the API server answering, the
 * syncer writing anything): on a host with simulated nodes (kwok) no
 * container runs, and on a real host the pod's probes already gate Ready.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lifecycle/k8s.h"
#include "util/yaml.h"

#define PAUSED_DATE_ANN "loft.sh/paused-date"

/* Objects we label app=vcluster,release=NAME,vcluster.loft.sh/driver=kubernetes. */
static char *own_selector(const char *name)
{
    return vc__sprintf("%s=%s,%s=%s,%s=%s", VC__LC_APP_LABEL, VC__LC_APP_VALUE, VC__LC_RELEASE_LABEL, name,
                       VC__LC_DRIVER_LABEL, VC__K8S_DRIVER);
}

/* The control plane pods (and the StatefulSet's PVCs): app=vcluster,release=NAME. */
static char *pod_selector(const char *name)
{
    return vc__sprintf("%s=%s,%s=%s", VC__LC_APP_LABEL, VC__LC_APP_VALUE, VC__LC_RELEASE_LABEL, name);
}

/* Namespaced kinds we create and may have to prune or delete by label. */
static const struct {
    const char *api_version, *resource, *kind;
} k_owned[] = {
    { "v1", "serviceaccounts", "ServiceAccount" },
    { "rbac.authorization.k8s.io/v1", "roles", "Role" },
    { "rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding" },
    { "networking.k8s.io/v1", "networkpolicies", "NetworkPolicy" },
    { "v1", "resourcequotas", "ResourceQuota" },
    { "v1", "limitranges", "LimitRange" },
    { "v1", "secrets", "Secret" },
};

static const json_t *annotations(const json_t *o)
{
    return json_object_get(json_object_get(o, "metadata"), "annotations");
}

static bool is_paused(const json_t *o)
{
    return vc__streq(vc__lc_str(annotations(o), VC__LC_PAUSED_ANN), "true");
}

static int get_sts(vc__lc *lc, json_t **out)
{
    return vc__lc_get(lc->host, "apps/v1", "statefulsets", lc->ns, lc->name, out);
}

static int merge_patch(vc__lc *lc, const char *api_version, const char *resource, const char *name, json_t *patch)
{
    char *body = patch ? json_dumps(patch, JSON_COMPACT) : NULL;
    json_decref(patch);
    if (!body)
        return vc__error_oom();
    vc__kres r = { api_version, resource, lc->ns, name, NULL };
    int rc = vc__kube_patch(lc->host, &r, VC__PATCH_MERGE, body, "vcluster", false, NULL);
    vc__free(body); /* jansson allocates through the library allocator */
    if (rc < 0)
        vc__error_prefix("update %s %s/%s", resource, lc->ns, name);
    return rc;
}

/* ------------------------------------------------------------------ */
/* what the control plane pods are doing                               */

/* restarts after which a crash-looping control-plane container is given up on */
#define K8S_FATAL_RESTARTS 3

static const char *const k_fatal_reasons[] = {
    "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
};

/* A one-line account of the first control-plane pod that is not ready;
 * *fatal when it cannot get better by waiting. Caller frees. */
static char *pods_message(vc__lc *lc, bool *fatal)
{
    *fatal = false;
    char *sel = pod_selector(lc->name);
    vc__kres r = { "v1", "pods", lc->ns, NULL, NULL };
    vc__list_opts o = { 0 };
    o.label_selector = sel;
    json_t *l = NULL;
    int rc = sel ? vc__kube_list(lc->host, &r, &o, &l) : VC_ENOMEM;
    vc__free(sel);
    if (rc < 0) {
        vc_error_clear();
        return NULL;
    }
    char *msg = NULL;
    size_t i;
    json_t *pod;
    json_array_foreach(json_object_get(l, "items"), i, pod) {
        const char *pname = vc__lc_str2(pod, "metadata", "name");
        json_t *st = json_object_get(pod, "status");
        /* a pod on its way out (a rolling update replacing it) says nothing
         * about the one that comes next */
        if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
            continue;
        const char *phase = vc__lc_str(st, "phase");
        if (vc__streq(phase, "Failed")) {
            *fatal = true;
            const char *why = vc__lc_str(st, "message") ? vc__lc_str(st, "message") : vc__lc_str(st, "reason");
            msg = vc__sprintf("pod %s failed%s%s", pname, why ? ": " : "", why ? why : "");
            break;
        }
        size_t k;
        json_t *cs;
        json_array_foreach(json_object_get(st, "containerStatuses"), k, cs) {
            json_t *w = json_object_get(json_object_get(cs, "state"), "waiting");
            const char *reason = vc__lc_str(w, "reason");
            for (size_t f = 0; reason && f < VC__ARRAY_LEN(k_fatal_reasons); f++)
                if (!strcmp(reason, k_fatal_reasons[f]))
                    *fatal = true;
            /* a container that starts before its API server or storage is
             * ready exits and is restarted: that is how a pod of several
             * processes comes up; only a crash that keeps coming is fatal */
            json_int_t restarts = json_integer_value(json_object_get(cs, "restartCount"));
            if (*fatal && vc__streq(reason, "CrashLoopBackOff") && restarts < K8S_FATAL_RESTARTS)
                *fatal = false;
            if (*fatal) {
                /* the container's last words (terminationMessagePolicy
                 * FallbackToLogsOnError puts the tail of its log there) */
                json_t *last = json_object_get(json_object_get(cs, "lastState"), "terminated");
                const char *said = vc__lc_str(last, "message");
                msg = vc__sprintf("pod %s: container %s: %s%s%s%s%s", pname, vc__lc_str(cs, "name"), reason,
                                  vc__lc_str(w, "message") ? ": " : "",
                                  vc__lc_str(w, "message") ? vc__lc_str(w, "message") : "", said ? "; it said: " : "",
                                  said ? said : "");
                break;
            }
        }
        if (msg)
            break;
        size_t c;
        json_t *cond;
        json_array_foreach(json_object_get(st, "conditions"), c, cond) {
            if (!vc__streq(vc__lc_str(cond, "status"), "False"))
                continue;
            const char *why = vc__lc_str(cond, "message") ? vc__lc_str(cond, "message") : vc__lc_str(cond, "reason");
            msg = vc__sprintf("pod %s %s: %s", pname, phase ? phase : "Pending", why ? why : vc__lc_str(cond, "type"));
            break;
        }
        if (msg)
            break;
    }
    json_decref(l);
    return msg;
}

/* Wait until the StatefulSet has exactly `want` pods, all updated and Ready. */
static int wait_replicas(vc__lc *lc, int32_t want)
{
    char last[96] = "";
    for (;;) {
        json_t *sts = NULL;
        int rc = get_sts(lc, &sts);
        if (rc < 0)
            return rc;
        json_t *md = json_object_get(sts, "metadata"), *st = json_object_get(sts, "status");
        json_int_t gen = json_integer_value(json_object_get(md, "generation"));
        json_int_t seen = json_integer_value(json_object_get(st, "observedGeneration"));
        json_int_t have = json_integer_value(json_object_get(st, "replicas"));
        json_int_t ready = json_integer_value(json_object_get(st, "readyReplicas"));
        json_int_t updated = json_integer_value(json_object_get(st, "updatedReplicas"));
        json_decref(sts);
        bool done = seen >= gen && have == want && ready == want && (want == 0 || updated == want);
        char now[96];
        if (want == 0)
            snprintf(now, sizeof now, "control plane: %d pod%s left", (int)have, have == 1 ? "" : "s");
        else
            snprintf(now, sizeof now, "control plane: %d/%d pods ready%s", (int)ready, (int)want,
                     done || updated >= want ? "" : ", rolling out the new version");
        if (strcmp(now, last) != 0 || done) {
            rc = vc__lc_step(lc, "controlplane", done, "%s", now);
            snprintf(last, sizeof last, "%s", now);
        }
        if (done)
            return VC_OK; /* the work is complete: a cancel now changes nothing */
        if (rc < 0)
            return rc;
        bool fatal = false;
        char *why = want > 0 ? pods_message(lc, &fatal) : NULL;
        if (fatal || vc__lc_left(lc) == 0) {
            char *what = vc__sprintf("its control plane (%d/%d pods ready%s%s)", (int)ready, (int)want,
                                     why ? "; " : "", why ? why : "");
            rc = fatal ? vc__error(VC_ESTATE, VC_ERRCLASS_LIFECYCLE, "virtual cluster %s cannot start: %s", lc->name,
                                   why)
                       : vc__lc_timeout(lc, what ? what : "its control plane");
            vc__free(what);
            vc__free(why);
            return rc;
        }
        vc__free(why);
        if ((rc = vc__lc_sleep(lc, 500)) < 0)
            return rc;
    }
}

/* ------------------------------------------------------------------ */
/* create / upgrade / print                                            */

/* policies.podSecurityStandard on the host namespace: warn at the level,
 * enforce at most baseline. The control plane's own pod runs as root (as
 * upstream's default), which restricted forbids; tenant pods are held to
 * the full level by the syncer before they reach the host, and the virtual
 * namespaces enforce it. NULL when no level is set. */
static json_t *host_pss_labels(const vc__k8s_plan *p)
{
    const char *level = vc__config_values(p->cfg)->policies.pod_security_standard;
    if (vc__str_empty(level))
        return NULL;
    const char *enforce = vc__streq(level, "privileged") ? "privileged" : "baseline";
    return json_pack("{s:s,s:s,s:s,s:s}", "pod-security.kubernetes.io/enforce", enforce,
                     "pod-security.kubernetes.io/enforce-version", "latest", "pod-security.kubernetes.io/warn", level,
                     "pod-security.kubernetes.io/warn-version", "latest");
}

static int label_host_namespace(vc__lc *lc, const vc__k8s_plan *p)
{
    json_t *labels = host_pss_labels(p);
    if (!labels)
        return VC_OK;
    json_t *patch = json_pack("{s:{s:o}}", "metadata", "labels", labels);
    char *body = patch ? json_dumps(patch, JSON_COMPACT) : NULL;
    json_decref(patch);
    vc__kres r = { "v1", "namespaces", NULL, lc->ns, NULL };
    int rc = body ? vc__kube_patch(lc->host, &r, VC__PATCH_MERGE, body, NULL, false, NULL) : vc__error_oom();
    vc__free(body);
    if (rc < 0)
        vc__error_prefix("pod security labels on host namespace %s", lc->ns);
    return rc;
}

static int print_stream(vc__lc *lc, const vc__k8s_plan *p, const json_t *objects)
{
    vc_buf *out = lc->out_manifests;
    vc__buf_clear(out);
    json_t *ns = json_pack("{s:s,s:s,s:{s:s,s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
                           lc->ns, "annotations", VC__LC_CREATED_ANN, "true");
    json_t *labels = host_pss_labels(p);
    if (ns && labels)
        json_object_set_new(json_object_get(ns, "metadata"), "labels", labels);
    else
        json_decref(labels);
    int rc = ns ? VC_OK : vc__error_oom();
    if (rc == VC_OK && (vc__buf_puts(out, "---\n") < 0 || vc__yaml_emit(out, ns) < 0))
        rc = vc__error_oom();
    json_decref(ns);
    size_t i;
    json_t *o;
    json_array_foreach(objects, i, o) {
        if (rc == VC_OK && (vc__buf_puts(out, "---\n") < 0 || vc__yaml_emit(out, o) < 0))
            rc = vc__error_oom();
    }
    return rc;
}

/* Names of what the plan renders, per kind, to prune the rest. */
static bool rendered(const json_t *objects, const char *kind, const char *name)
{
    size_t i;
    json_t *o;
    json_array_foreach(objects, i, o) {
        if (vc__streq(vc__lc_str(o, "kind"), kind) && vc__streq(vc__lc_str2(o, "metadata", "name"), name))
            return true;
    }
    return false;
}

/* On upgrade: delete optional objects the new values no longer ask for
 * (isolation switched off, ClusterRole no longer needed, ...). */
static int prune(vc__lc *lc, vc__k8s_plan *p, const json_t *objects)
{
    char *sel = own_selector(lc->name);
    if (!sel)
        return vc__error_oom();
    int rc = VC_OK;
    for (size_t k = 0; k < VC__ARRAY_LEN(k_owned) && rc == VC_OK; k++) {
        vc__kres r = { k_owned[k].api_version, k_owned[k].resource, lc->ns, NULL, NULL };
        vc__list_opts o = { 0 };
        o.label_selector = sel;
        json_t *l = NULL;
        rc = vc__kube_list_all(lc->host, &r, &o, &l);
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(l, "items"), i, it) {
            const char *name = vc__lc_str2(it, "metadata", "name");
            if (rc == VC_OK && !rendered(objects, k_owned[k].kind, name))
                rc = vc__lc_delete(lc->host, k_owned[k].api_version, k_owned[k].resource, lc->ns, name);
        }
        json_decref(l);
    }
    vc__free(sel);
    if (rc == VC_OK && !rendered(objects, "ClusterRoleBinding", p->cluster_role))
        rc = vc__lc_delete(lc->host, "rbac.authorization.k8s.io/v1", "clusterrolebindings", NULL, p->cluster_role);
    if (rc == VC_OK && !rendered(objects, "ClusterRole", p->cluster_role))
        rc = vc__lc_delete(lc->host, "rbac.authorization.k8s.io/v1", "clusterroles", NULL, p->cluster_role);
    return rc;
}

/* The Service first: it marks the cluster, and its ClusterIP goes into the
 * API server certificate. */
static int apply_service(vc__lc *lc, vc__k8s_plan *p)
{
    json_t *svc = NULL;
    int rc = vc__k8s_render("service", p->vars, &svc);
    if (rc == VC_OK && svc)
        rc = vc__lc_apply(lc->host, svc);
    json_decref(svc);
    if (rc < 0)
        return rc;
    json_t *cur = NULL;
    if ((rc = vc__lc_get(lc->host, "v1", "services", lc->ns, lc->name, &cur)) < 0)
        return rc;
    const char *ip = vc__lc_str2(cur, "spec", "clusterIP");
    json_t *ing = json_array_get(
        json_object_get(json_object_get(json_object_get(cur, "status"), "loadBalancer"), "ingress"), 0);
    const char *lb = vc__lc_str(ing, "ip") ? vc__lc_str(ing, "ip") : vc__lc_str(ing, "hostname");
    if (ip && strcmp(ip, "None") != 0 && !(p->service_ip = vc__strdup(ip)))
        rc = vc__error_oom();
    if (lb && !(p->lb_address = vc__strdup(lb)))
        rc = vc__error_oom();
    json_decref(cur);
    return rc;
}

/* A Kubernetes quantity as a number ("5Gi", "5120Mi", "5368709120", "5G",
 * "1.5e9", "500m"), or -1 when it is not one. Enough to tell whether two
 * storage sizes are the same, as the API server does. */
static long double quantity(const char *s)
{
    static const struct {
        const char *suffix;
        long double mul;
    } units[] = {
        { "Ki", 1024.0L }, { "Mi", 1048576.0L }, { "Gi", 1073741824.0L }, { "Ti", 1099511627776.0L },
        { "Pi", 1125899906842624.0L }, { "Ei", 1152921504606846976.0L }, { "m", 1e-3L }, { "", 1.0L },
        { "k", 1e3L }, { "M", 1e6L }, { "G", 1e9L }, { "T", 1e12L }, { "P", 1e15L }, { "E", 1e18L },
    };
    if (vc__str_empty(s))
        return -1;
    char *end = NULL;
    long double v = strtold(s, &end);
    if (end == s || v < 0)
        return -1;
    for (size_t i = 0; i < VC__ARRAY_LEN(units); i++)
        if (!strcmp(end, units[i].suffix))
            return v * units[i].mul;
    return -1;
}

static bool same_strings(const json_t *a, const json_t *b)
{
    if (json_array_size(a) != json_array_size(b))
        return false;
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!vc__streq(json_string_value(json_array_get(a, i)), json_string_value(json_array_get(b, i))))
            return false;
    return true;
}

static int immutable_error(vc__lc *lc, const char *key, const char *have, const char *want)
{
    return vc__error(VC_EINVAL, VC_ERRCLASS_LIFECYCLE,
                     "virtual cluster %s: %s cannot change on an existing virtual cluster (the host "
                     "StatefulSet's volumeClaimTemplates and podManagementPolicy are immutable): it is %s, the "
                     "values ask for %s; nothing was changed (delete the virtual cluster and create it again "
                     "to change it)",
                     lc->name, key, have, want);
}

/* An upgrade must not ask the existing StatefulSet for what the API server
 * refuses to change (the "data" claim, the pod management policy): checked
 * before anything is applied, so a refused upgrade changes nothing (the
 * Service, the Secrets and the pruning come before the StatefulSet). */
static int check_immutable(vc__lc *lc, const json_t *sts, const json_t *vars)
{
#define VCK "controlPlane.statefulSet.persistence.volumeClaim."
    const json_t *spec = json_object_get(sts, "spec"), *have = NULL, *t;
    size_t i;
    json_array_foreach(json_object_get(spec, "volumeClaimTemplates"), i, t) {
        if (vc__streq(vc__lc_str2(t, "metadata", "name"), "data"))
            have = json_object_get(t, "spec");
    }
    bool want = json_is_true(json_object_get(vars, "PERSISTENCE"));
    if (want != (have != NULL))
        return immutable_error(lc, VCK "enabled", have ? "on" : "off", want ? "on" : "off");
    if (have) {
        const char *hs = vc__lc_str2(json_object_get(have, "resources"), "requests", "storage");
        const char *ws = json_string_value(json_object_get(vars, "PVC_SIZE"));
        if (!hs || !ws || quantity(hs) != quantity(ws) || quantity(ws) < 0)
            return immutable_error(lc, VCK "size", hs ? hs : "unset", ws ? ws : "unset");
        const char *hc = vc__lc_str(have, "storageClassName");
        const char *wc = json_string_value(json_object_get(vars, "PVC_STORAGE_CLASS"));
        if (!vc__streq(hc ? hc : "", wc ? wc : ""))
            return immutable_error(lc, VCK "storageClass", hc ? hc : "the default class", wc ? wc : "the default class");
        const json_t *wa = json_object_get(vars, "PVC_ACCESS_MODES");
        const json_t *ha = json_object_get(have, "accessModes");
        if (json_is_array(wa) && !same_strings(ha, wa)) {
            char *h = json_dumps(ha, JSON_COMPACT | JSON_ENCODE_ANY), *w = json_dumps(wa, JSON_COMPACT);
            int rc = h && w ? immutable_error(lc, VCK "accessModes", h, w) : vc__error_oom();
            vc__free(h);
            vc__free(w);
            return rc;
        }
    }
    const char *hp = vc__lc_str(spec, "podManagementPolicy");
    const char *wp = json_string_value(json_object_get(vars, "POD_MANAGEMENT_POLICY"));
    if (hp && !vc__str_empty(wp) && strcmp(hp, wp) != 0)
        return immutable_error(lc, "controlPlane.statefulSet.scheduling.podManagementPolicy", hp, wp);
    return VC_OK;
#undef VCK
}

static int create(vc__lc *lc)
{
    const bool print = (lc->flags & VC_CREATE_PRINT) != 0;
    vc__k8s_plan p;
    int rc = vc__k8s_plan_init(&p, lc);
    if (rc < 0)
        return rc;
    json_t *sts = NULL, *certs = NULL, *objects = NULL, *cert_data = NULL, *kc_secret = NULL;
    char *sans = NULL, *certs_name = vc__sprintf("%s-certs", lc->name);
    if (!certs_name) {
        rc = vc__error_oom();
        goto out;
    }

    if (!print) {
        /* dataSourceSecret: the Secret and its key exist and hold a dataSource */
        char *ds = NULL;
        rc = vc__lc_datasource_secret(lc, &ds);
        if (ds)
            memset(ds, 0, strlen(ds));
        vc__free(ds);
        if (rc < 0)
            goto out;
        if ((rc = vc__lc_step(lc, "namespace", 0, "host namespace %s", lc->ns)) < 0 ||
            (rc = vc__lc_ensure_namespace(lc, NULL)) < 0 || (rc = label_host_namespace(lc, &p)) < 0 ||
            (rc = vc__lc_step(lc, "namespace", 1, "host namespace %s ready", lc->ns)) < 0)
            goto out;
    }
    /* the host's service range, which the virtual cluster shares (as upstream);
     * like upstream, fall back to the common default when it cannot be found */
    rc = vc__lc_service_cidr(lc->host, print ? "default" : lc->ns, &p.service_cidr);
    if (rc < 0) {
        if (rc == VC_ENOMEM)
            goto out;
        VC__LOGW("lifecycle", "%s; assuming %s", vc_error_last()->message, VC__K8S_DEFAULT_SERVICE_CIDR);
        vc_error_clear();
    }
    if (!print) {
        rc = get_sts(lc, &sts);
        if (rc == VC_OK && is_paused(sts)) {
            p.paused = true; /* an upgrade does not resume */
        } else if (rc == VC_ENOTFOUND) {
            vc_error_clear();
            rc = VC_OK;
        }
        if (rc < 0)
            goto out;
        rc = vc__lc_get(lc->host, "v1", "secrets", lc->ns, certs_name, &certs);
        if (rc == VC_ENOTFOUND) {
            vc_error_clear();
            rc = VC_OK;
        }
        if (rc < 0)
            goto out;
    }
    if ((rc = vc__k8s_plan_vars(&p, lc)) < 0)
        goto out;
    if (sts && (rc = check_immutable(lc, sts, p.vars)) < 0)
        goto out;
    if (!print) {
        if ((rc = vc__lc_step(lc, "service", 0, "Service %s", lc->name)) < 0 || (rc = apply_service(lc, &p)) < 0 ||
            (rc = vc__lc_step(lc, "service", 1, "Service %s (%s)", lc->name,
                              p.service_ip ? p.service_ip : "no ClusterIP")) < 0 ||
            (rc = vc__lc_step(lc, "certificates", 0, "certificates")) < 0)
            goto out;
    }

    /* --print (GitOps): no keys in the stream; the pod's init container makes
     * them at first start (vc_cluster_certs_render) */
    if (!print)
        rc = vc__k8s_certs(lc, &p, json_object_get(certs, "data"), vc__lc_str(annotations(certs), VC__K8S_SANS_ANN),
                           &cert_data, &sans, &kc_secret);
    if (rc < 0)
        goto out;
    if (!print && (rc = vc__lc_step(lc, "certificates", 1, "certificates in Secret %s", certs_name)) < 0)
        goto out;

    if ((rc = vc__k8s_render_all(&p, lc, cert_data, sans, kc_secret, &objects)) < 0)
        goto out;
    if (print) {
        rc = print_stream(lc, &p, objects);
        goto out;
    }

    if ((rc = vc__lc_step(lc, "manifests", 0, "applying %zu host objects", json_array_size(objects))) < 0)
        goto out;
    size_t i;
    json_t *o;
    json_array_foreach(objects, i, o) {
        /* prune before the StatefulSet: a LimitRange that is going away must
         * not shape the pods it is about to roll */
        if (vc__streq(vc__lc_str(o, "kind"), "StatefulSet") && (rc = prune(lc, &p, objects)) < 0)
            goto out;
        if ((rc = vc__lc_apply(lc->host, o)) < 0 || (rc = vc__lc_tick(lc)) < 0)
            goto out;
    }
    rc = vc__lc_step(lc, "manifests", 1, "StatefulSet %s/%s applied (%d replica%s%s)", lc->ns, lc->name,
                (int)p.config_replicas, p.config_replicas == 1 ? "" : "s", p.paused ? ", paused" : "");

    if (rc == VC_OK && !(lc->flags & VC_CREATE_NO_WAIT) && !p.paused)
        rc = wait_replicas(lc, p.replicas);
out:
    json_decref(sts);
    json_decref(certs);
    json_decref(objects);
    json_decref(cert_data);
    json_decref(kc_secret);
    vc__free(sans);
    vc__free(certs_name);
    vc__k8s_plan_clear(&p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* pause / resume                                                      */

static json_t *pause_annotations(int32_t replicas, bool set)
{
    if (!set)
        return json_pack("{s:n,s:n,s:n}", VC__LC_PAUSED_ANN, VC__LC_PAUSED_REPLICAS_ANN, PAUSED_DATE_ANN);
    char n[16], date[32];
    snprintf(n, sizeof n, "%d", (int)replicas);
    int64_t now = vc__wall_ms() / 1000;
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s,s:s,s:s}", VC__LC_PAUSED_ANN, "true", VC__LC_PAUSED_REPLICAS_ANN, n, PAUSED_DATE_ANN,
                     date);
}

static int pause_(vc__lc *lc, const json_t *svc)
{
    (void)svc;
    json_t *sts = NULL;
    int rc = get_sts(lc, &sts);
    if (rc == VC_ENOTFOUND)
        return vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE,
                         "virtual cluster %s has no StatefulSet %s/%s: nothing to pause", lc->name, lc->ns, lc->name);
    if (rc < 0)
        return rc;
    bool paused = is_paused(sts);
    json_int_t replicas = json_integer_value(json_object_get(json_object_get(sts, "spec"), "replicas"));
    json_decref(sts);
    if (paused)
        return vc__error(VC_ESTATE, VC_ERRCLASS_LIFECYCLE, "virtual cluster %s is already paused", lc->name);
    if ((rc = vc__lc_step(lc, "pause", 0, "scaling StatefulSet %s from %d to 0", lc->name, (int)replicas)) < 0)
        return rc;
    rc = merge_patch(lc, "apps/v1", "statefulsets", lc->name,
                     json_pack("{s:{s:o},s:{s:i}}", "metadata", "annotations",
                               pause_annotations((int32_t)replicas, true), "spec", "replicas", 0));
    if (rc == VC_OK)
        rc = merge_patch(lc, "v1", "services", lc->name,
                         json_pack("{s:{s:o}}", "metadata", "annotations", pause_annotations((int32_t)replicas, true)));
    if (rc == VC_OK)
        rc = wait_replicas(lc, 0);
    if (rc == VC_OK)
        rc = vc__lc_delete_workloads(lc);
    if (rc == VC_OK)
        (void)vc__lc_step(lc, "pause", 1, "virtual cluster %s paused", lc->name);
    return rc;
}

static int resume_(vc__lc *lc, const json_t *svc)
{
    (void)svc;
    json_t *sts = NULL;
    int rc = get_sts(lc, &sts);
    if (rc == VC_ENOTFOUND)
        return vc__error(VC_ENOTFOUND, VC_ERRCLASS_LIFECYCLE,
                         "virtual cluster %s has no StatefulSet %s/%s: nothing to resume", lc->name, lc->ns, lc->name);
    if (rc < 0)
        return rc;
    bool paused = is_paused(sts);
    const char *n = vc__lc_str(annotations(sts), VC__LC_PAUSED_REPLICAS_ANN);
    int32_t replicas = n ? (int32_t)atoi(n) : 1;
    json_decref(sts);
    if (!paused)
        return vc__error(VC_ESTATE, VC_ERRCLASS_LIFECYCLE, "virtual cluster %s is not paused", lc->name);
    if (replicas < 1)
        replicas = 1;
    if ((rc = vc__lc_step(lc, "resume", 0, "scaling StatefulSet %s to %d", lc->name, (int)replicas)) < 0)
        return rc;
    rc = merge_patch(lc, "apps/v1", "statefulsets", lc->name,
                     json_pack("{s:{s:o},s:{s:i}}", "metadata", "annotations", pause_annotations(0, false), "spec",
                               "replicas", (int)replicas));
    if (rc == VC_OK)
        rc = merge_patch(lc, "v1", "services", lc->name,
                         json_pack("{s:{s:o}}", "metadata", "annotations", pause_annotations(0, false)));
    if (rc == VC_OK)
        rc = wait_replicas(lc, replicas);
    if (rc == VC_OK)
        (void)vc__lc_step(lc, "resume", 1, "virtual cluster %s running", lc->name);
    return rc;
}

/* ------------------------------------------------------------------ */
/* delete                                                              */

static int count(vc__lc *lc, const char *resource, const char *sel, int *out)
{
    vc__kres r = { "v1", resource, lc->ns, NULL, NULL };
    vc__list_opts o = { 0 };
    o.label_selector = sel;
    json_t *l = NULL;
    int rc = vc__kube_list(lc->host, &r, &o, &l);
    if (rc == VC_OK)
        *out = (int)json_array_size(json_object_get(l, "items"));
    json_decref(l);
    return rc;
}

/* Delete `resource` objects matching `sel` and wait until they are gone. */
static int delete_and_wait(vc__lc *lc, const char *resource, const char *sel, const char *what)
{
    int rc = vc__lc_delete_collection(lc->host, "v1", resource, lc->ns, sel);
    for (int n = 1; rc == VC_OK;) {
        if ((rc = count(lc, resource, sel, &n)) < 0 || n == 0)
            break;
        if (vc__lc_left(lc) == 0)
            return vc__lc_timeout(lc, what);
        if ((rc = vc__lc_sleep(lc, 200)) < 0)
            return rc;
    }
    return rc;
}

static int remove_(vc__lc *lc, const json_t *svc, uint32_t flags)
{
    (void)svc;
    char *own = own_selector(lc->name), *pods = pod_selector(lc->name);
    char *headless = vc__sprintf("%s-headless", lc->name), *crole = vc__k8s_cluster_role_name(lc->name, lc->ns);
    int rc = own && pods && headless && crole ? VC_OK : vc__error_oom();
    if (rc == VC_OK)
        rc = vc__lc_step(lc, "delete", 0, "deleting virtual cluster %s in host namespace %s", lc->name, lc->ns);
    if (rc == VC_OK)
        rc = vc__lc_delete(lc->host, "apps/v1", "statefulsets", lc->ns, lc->name);
    if (rc == VC_OK)
        rc = delete_and_wait(lc, "pods", pods, "its control plane pods to go");
    for (size_t k = 0; k < VC__ARRAY_LEN(k_owned) && rc == VC_OK; k++)
        rc = vc__lc_delete_collection(lc->host, k_owned[k].api_version, k_owned[k].resource, lc->ns, own);
    if (rc == VC_OK)
        rc = vc__lc_delete(lc->host, "rbac.authorization.k8s.io/v1", "clusterrolebindings", NULL, crole);
    if (rc == VC_OK)
        rc = vc__lc_delete(lc->host, "rbac.authorization.k8s.io/v1", "clusterroles", NULL, crole);
    if (rc == VC_OK)
        rc = vc__lc_delete(lc->host, "v1", "services", lc->ns, headless);
    if (rc == VC_OK)
        rc = vc__lc_delete_host_objects(lc, flags);
    if (rc == VC_OK && !(flags & VC_DELETE_KEEP_PVC))
        rc = delete_and_wait(lc, "persistentvolumeclaims", pods, "its PersistentVolumeClaims to go");
    /* the Service marks the cluster: last, so a failed delete can be retried */
    if (rc == VC_OK)
        rc = vc__lc_delete(lc->host, "v1", "services", lc->ns, lc->name);
    if (rc == VC_OK && (flags & VC_DELETE_NAMESPACE)) {
        json_t *ns = NULL;
        rc = vc__lc_get(lc->host, "v1", "namespaces", NULL, lc->ns, &ns);
        bool ours = rc == VC_OK && vc__streq(vc__lc_str(annotations(ns), VC__LC_CREATED_ANN), "true");
        json_decref(ns);
        if (rc == VC_ENOTFOUND) {
            vc_error_clear();
            rc = VC_OK;
        } else if (rc == VC_OK && ours) {
            rc = vc__lc_step(lc, "namespace", 0, "deleting host namespace %s", lc->ns);
            if (rc == VC_OK)
                rc = vc__lc_delete(lc->host, "v1", "namespaces", NULL, lc->ns);
            while (rc == VC_OK) {
                rc = vc__lc_get(lc->host, "v1", "namespaces", NULL, lc->ns, &ns);
                json_decref(ns);
                ns = NULL;
                if (rc == VC_ENOTFOUND) {
                    vc_error_clear();
                    rc = VC_OK;
                    break;
                }
                if (rc == VC_OK && vc__lc_left(lc) == 0)
                    rc = vc__lc_timeout(lc, "its host namespace to go");
                else if (rc == VC_OK)
                    rc = vc__lc_sleep(lc, 250);
            }
            if (rc == VC_OK)
                (void)vc__lc_step(lc, "namespace", 1, "host namespace %s deleted", lc->ns);
        } else if (rc == VC_OK) {
            (void)vc__lc_step(lc, "namespace", 1, "host namespace %s kept: virtual cluster %s did not create it", lc->ns,
                        lc->name);
        }
    }
    if (rc == VC_OK)
        (void)vc__lc_step(lc, "delete", 1, "virtual cluster %s deleted", lc->name);
    vc__free(own);
    vc__free(pods);
    vc__free(headless);
    vc__free(crole);
    return rc;
}

/* ------------------------------------------------------------------ */
/* status                                                              */

static int status_(vc__lc *lc, const json_t *svc, vc_cluster_info *info)
{
    json_t *ing = json_array_get(
        json_object_get(json_object_get(json_object_get(svc, "status"), "loadBalancer"), "ingress"), 0);
    const char *lb = vc__lc_str(ing, "ip") ? vc__lc_str(ing, "ip") : vc__lc_str(ing, "hostname");
    char *server = lb ? vc__sprintf("https://%s:443", lb) : vc__sprintf("https://%s.%s:443", lc->name, lc->ns);
    vc__lc_info_set(&info->server, server ? server : "");
    vc__free(server);

    json_t *sts = NULL;
    int rc = get_sts(lc, &sts);
    if (rc == VC_ENOTFOUND) {
        vc_error_clear();
        info->state = VC_CLUSTER_FAILED;
        char *m = vc__sprintf("StatefulSet %s/%s is missing; delete the virtual cluster and create it again", lc->ns,
                              lc->name);
        vc__lc_info_set(&info->message, m);
        vc__free(m);
        return VC_OK;
    }
    if (rc < 0)
        return rc;
    const char *ver = vc__lc_str(annotations(sts), VC__LC_VERSION_ANN);
    if (vc__str_empty(ver)) {
        /* the first container's image tag */
        const json_t *pod_spec = json_object_get(json_object_get(json_object_get(sts, "spec"), "template"), "spec");
        const char *img = vc__lc_str(json_array_get(json_object_get(pod_spec, "containers"), 0), "image");
        const char *colon = img ? strrchr(img, ':') : NULL;
        ver = colon && !strchr(colon, '/') ? colon + 1 : "";
    }
    vc__lc_info_set(&info->version, ver);
    json_int_t want = json_integer_value(json_object_get(json_object_get(sts, "spec"), "replicas"));
    json_int_t ready = json_integer_value(json_object_get(json_object_get(sts, "status"), "readyReplicas"));
    if (is_paused(sts)) {
        info->state = VC_CLUSTER_PAUSED;
    } else if (want > 0 && ready >= want) {
        info->state = VC_CLUSTER_RUNNING;
    } else {
        bool fatal = false;
        char *why = pods_message(lc, &fatal);
        char *m = vc__sprintf("%d/%d control plane pods ready%s%s", (int)ready, (int)want, why ? ": " : "",
                              why ? why : "");
        info->state = fatal ? VC_CLUSTER_FAILED : VC_CLUSTER_PENDING;
        vc__lc_info_set(&info->message, m);
        vc__free(m);
        vc__free(why);
    }
    json_decref(sts);
    return VC_OK;
}

const vc__driver vc__driver_kubernetes = { VC__K8S_DRIVER, create, pause_, resume_, remove_, status_ };

/* One reconcile of one VCluster object, level-based: every pass compares
 * what the object asks for with what the host has (the effective vcluster.yaml
 * the library stored, the cluster's state) and acts on the difference, so a
 * restart or a missed change is caught on the next pass.
 *
 * Upstream's behaviour kept: the virtual cluster is deployed in the
 * VCluster's own namespace under the VCluster's name; the finalizer
 * vcluster.loft.sh/cleanup; nothing happens until a Cluster owns the object
 * (when Cluster API's CRDs are installed); spec.controlPlaneEndpoint is
 * filled from the Service NAME (load balancer address, else ClusterIP; port
 * 443); `<cluster>-kubeconfig` is written in Cluster API's format; the
 * conditions and phases are upstream's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

typedef struct rec {
    provider *p;
    json_t *vc;          /* the object as listed (borrowed) */
    const char *ns, *name, *uid;
    json_int_t generation;
    json_t *old_status;  /* borrowed from vc */
    json_t *conds;       /* the new conditions (owned) */
    char path[512];      /* the object's API path */
    char cluster[256];   /* owning Cluster's name ("" before it is known) */
} rec;

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static const json_t *old_condition(rec *r, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r->old_status, "conditions"), i, c) {
        if (!strcmp(jstr(c, "type"), type))
            return c;
    }
    return NULL;
}

/* Set a condition in upstream's format (type, status, severity when False,
 * reason, message); the transition time moves only when the status does. */
static void set_cond(rec *r, const char *type, int ok, const char *reason, const char *severity, const char *message)
{
    const char *status = ok ? "True" : "False";
    const json_t *old = old_condition(r, type);
    char ts[32];
    const char *when = ts;
    if (old && !strcmp(jstr((json_t *)old, "status"), status) && *jstr((json_t *)old, "lastTransitionTime"))
        when = jstr((json_t *)old, "lastTransitionTime");
    else
        now_rfc3339(ts);
    json_t *c = json_pack("{s:s, s:s, s:s}", "type", type, "status", status, "lastTransitionTime", when);
    if (!ok && severity && *severity)
        json_object_set_new(c, "severity", json_string(severity));
    if (reason && *reason)
        json_object_set_new(c, "reason", json_string(reason));
    if (message && *message)
        json_object_set_new(c, "message", json_string(message));
    size_t i;
    json_t *have;
    json_array_foreach(r->conds, i, have) {
        if (!strcmp(jstr(have, "type"), type)) {
            json_array_set_new(r->conds, i, c);
            return;
        }
    }
    json_array_append_new(r->conds, c);
}

static int cond_true(rec *r, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(r->conds, i, c) {
        if (!strcmp(jstr(c, "type"), type))
            return !strcmp(jstr(c, "status"), "True");
    }
    return 0;
}

/* Write the status (ready, initialized, phase from the conditions, the
 * Cluster API v1beta2 contract's initialization fields too) when it changed. */
static int write_status(rec *r, int ready, int initialized)
{
    json_t *st = json_object();
    json_object_set_new(st, "ready", json_boolean(ready));
    json_object_set_new(st, "initialized", json_boolean(initialized));
    json_object_set_new(st, "externalManagedControlPlane", json_true());
    json_object_set_new(st, "observedGeneration", json_integer(r->generation));
    json_object_set_new(st, "initialization", json_pack("{s:b, s:b}", "provisioned", initialized,
                                                         "controlPlaneInitialized", initialized));
    const char *phase = ready && initialized ? "Deployed" : "Pending";
    const char *reason = "", *message = "";
    size_t i;
    json_t *c;
    json_array_foreach(r->conds, i, c) {
        if (!strcmp(jstr(c, "status"), "False") && !strcmp(jstr(c, "severity"), "Error")) {
            phase = "Failed";
            reason = jstr(c, "reason");
            message = jstr(c, "message");
            break;
        }
    }
    json_object_set_new(st, "phase", json_string(phase));
    if (*reason)
        json_object_set_new(st, "reason", json_string(reason));
    if (*message)
        json_object_set_new(st, "message", json_string(message));
    json_object_set(st, "conditions", r->conds);

    int rc = VC_OK;
    if (!r->old_status || !json_equal(st, r->old_status)) {
        /* a merge patch with the whole status: fields we no longer set are
         * removed by naming them null */
        json_t *patch_st = json_deep_copy(st);
        const char *key;
        json_t *v;
        json_object_foreach(r->old_status, key, v) {
            if (!json_object_get(patch_st, key))
                json_object_set_new(patch_st, key, json_null());
        }
        json_t *body = json_pack("{s:o}", "status", patch_st);
        char sp[600];
        snprintf(sp, sizeof sp, "%s/status", r->path);
        rc = kapi_send(r->p, "PATCH", sp, body, NULL, NULL);
        json_decref(body);
        if (rc < 0)
            plog("%s/%s: writing status: %s", r->ns, r->name, vc_error_last()->message);
        else if (strcmp(phase, jstr(r->old_status, "phase")) != 0)
            plog("%s/%s: phase %s%s%s", r->ns, r->name, phase, *message ? ": " : "", message);
    }
    json_decref(st);
    return rc;
}

static int has_finalizer(json_t *meta)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(meta, "finalizers"), i, f) {
        if (!strcmp(json_string_value(f) ? json_string_value(f) : "", CAPI_FINALIZER))
            return 1;
    }
    return 0;
}

/* Add or remove our finalizer with a JSON patch guarded by the
 * resourceVersion, so another writer's finalizer is never lost. */
static int set_finalizer(rec *r, int want)
{
    json_t *meta = json_object_get(r->vc, "metadata");
    json_t *list = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(meta, "finalizers"), i, f) {
        if (strcmp(json_string_value(f) ? json_string_value(f) : "", CAPI_FINALIZER) != 0)
            json_array_append(list, f);
    }
    if (want)
        json_array_append_new(list, json_string(CAPI_FINALIZER));
    json_t *patch = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:o}]", "op", "test", "path", "/metadata/resourceVersion",
                              "value", jstr(meta, "resourceVersion"), "op", "add", "path", "/metadata/finalizers",
                              "value", list);
    json_t *out = NULL;
    int rc = kapi_send(r->p, "PATCH", r->path, patch, "application/json-patch+json", &out);
    json_decref(patch);
    if (rc == VC_OK) {
        /* later patches go against the new object */
        json_t *m = json_object_get(out, "metadata");
        json_object_set(meta, "resourceVersion", json_object_get(m, "resourceVersion"));
        json_object_set(meta, "finalizers", json_object_get(m, "finalizers"));
    }
    json_decref(out);
    return rc;
}

static int ref_matches(rec *r, json_t *ref)
{
    if (!ref || strcmp(jstr(ref, "kind"), "VCluster") != 0 || strcmp(jstr(ref, "name"), r->name) != 0)
        return 0;
    /* v1beta2 references carry apiGroup, v1beta1 ones apiVersion */
    const char *g = *jstr(ref, "apiGroup") ? jstr(ref, "apiGroup") : jstr(ref, "apiVersion");
    return !strncmp(g, CAPI_GROUP, strlen(CAPI_GROUP)) || !strncmp(g, "controlplane.cluster.x-k8s.io", 29);
}

/* The Cluster this VCluster belongs to: its owner reference (set by Cluster
 * API's Cluster controller), else a Cluster whose infrastructureRef or
 * controlPlaneRef names it. Returns 1 (found: r->cluster set, *paused),
 * 0 (Cluster API is not installed: standalone, as upstream), -1 (installed,
 * no Cluster yet), or a negative vc status (< -1) on an API error. */
static int find_cluster(rec *r, int *paused)
{
    static const char *const versions[] = { "v1beta2", "v1beta1" };
    json_t *meta = json_object_get(r->vc, "metadata");
    size_t i;
    json_t *o;
    *paused = 0;
    r->cluster[0] = '\0';
    json_array_foreach(json_object_get(meta, "ownerReferences"), i, o) {
        if (!strcmp(jstr(o, "kind"), "Cluster") && !strncmp(jstr(o, "apiVersion"), "cluster.x-k8s.io/", 17))
            snprintf(r->cluster, sizeof r->cluster, "%s", jstr(o, "name"));
    }
    for (size_t v = 0; v < sizeof versions / sizeof *versions; v++) {
        char path[512];
        snprintf(path, sizeof path, "/apis/cluster.x-k8s.io/%s/namespaces/%s/clusters", versions[v], r->ns);
        json_t *list = NULL;
        int rc = kapi_get(r->p, path, &list);
        if (rc == VC_ENOTFOUND)
            continue;
        if (rc < 0)
            return rc < -1 ? rc : VC_EAPI;
        int found = 0;
        json_array_foreach(json_object_get(list, "items"), i, o) {
            json_t *spec = json_object_get(o, "spec");
            const char *cname = jstr(json_object_get(o, "metadata"), "name");
            int mine = r->cluster[0] ? !strcmp(cname, r->cluster)
                                     : ref_matches(r, json_object_get(spec, "infrastructureRef")) ||
                                           ref_matches(r, json_object_get(spec, "controlPlaneRef"));
            if (mine) {
                snprintf(r->cluster, sizeof r->cluster, "%s", cname);
                *paused = json_is_true(json_object_get(spec, "paused"));
                found = 1;
                break;
            }
        }
        json_decref(list);
        /* an owner that is gone (being deleted) still names the Cluster */
        return found || r->cluster[0] ? 1 : -1;
    }
    return 0;
}

static void cluster_or_self(rec *r, char *out, size_t cap)
{
    snprintf(out, cap, "%s", r->cluster[0] ? r->cluster : r->name);
}

static int handle_delete(rec *r)
{
    json_t *meta = json_object_get(r->vc, "metadata");
    if (!has_finalizer(meta))
        return 0;
    vc_cluster_op_options o;
    vc_cluster_op_options_init(&o, VC_CLUSTER_OP_OPTIONS_VERSION);
    o.timeout_ms = r->p->op_timeout_ms;
    /* a name the reconcile refused never made anything (and the library
     * would refuse it too) */
    int rc = strlen(r->name) > CAPI_MAX_NAME ? VC_ENOTFOUND : vc_cluster_delete(r->p->host, r->name, r->ns, &o);
    if (rc == VC_OK)
        plog("%s/%s: deleted the virtual cluster", r->ns, r->name);
    if (rc < 0 && rc != VC_ENOTFOUND) {
        plog("%s/%s: delete: %s (retrying)", r->ns, r->name, vc_error_last()->message);
        set_cond(r, "HelmChartDeployed", 0, "DeleteFailed", "Warning", vc_error_last()->message);
        write_status(r, 0, json_is_true(json_object_get(r->old_status, "initialized")));
        return -1;
    }
    /* the kubeconfig Secret we wrote (it names this VCluster) */
    int paused;
    (void)find_cluster(r, &paused);
    char cname[256], sp[600];
    cluster_or_self(r, cname, sizeof cname);
    snprintf(sp, sizeof sp, "/api/v1/namespaces/%s/secrets/%s-kubeconfig", r->ns, cname);
    json_t *sec = NULL;
    if (kapi_get(r->p, sp, &sec) == VC_OK &&
        !strcmp(jstr(json_object_get(json_object_get(sec, "metadata"), "annotations"), CAPI_GROUP "/vcluster"),
                r->name) &&
        kapi_delete(r->p, sp) < 0)
        plog("%s/%s: deleting %s-kubeconfig: %s", r->ns, r->name, cname, vc_error_last()->message);
    json_decref(sec);
    rc = set_finalizer(r, 0);
    if (rc < 0 && rc != VC_ENOTFOUND) {
        plog("%s/%s: removing the finalizer: %s", r->ns, r->name, vc_error_last()->message);
        return -1;
    }
    plog("%s/%s: finalizer removed", r->ns, r->name);
    return 0;
}

/* The values of spec.helmRelease (values or valuesObject, not both) into a
 * config. On a bad spec: NULL, and *why holds the library's
 * "FILE:LINE:COL: key: problem" line (static storage until the next call). */
static vc_config *desired_config(rec *r, const char **why)
{
    static char msg[4200];
    json_t *hr = json_object_get(json_object_get(r->vc, "spec"), "helmRelease");
    const char *values = jstr(hr, "values");
    json_t *obj = json_object_get(hr, "valuesObject");
    vc_config *cfg = NULL;
    *why = NULL;
    if (*values && obj && !json_is_null(obj)) {
        *why = "spec.helmRelease: both values and valuesObject are set; use one";
        return NULL;
    }
    if (vc_config_new(&cfg) < 0) {
        *why = "out of memory";
        return NULL;
    }
    char label[400];
    int rc = VC_OK;
    if (*values) {
        snprintf(label, sizeof label, "%s/%s:spec.helmRelease.values", r->ns, r->name);
        rc = vc_config_load_string(cfg, values, label);
    } else if (obj && !json_is_null(obj)) {
        char *text = json_dumps(obj, JSON_INDENT(1) | JSON_SORT_KEYS);
        snprintf(label, sizeof label, "%s/%s:spec.helmRelease.valuesObject", r->ns, r->name);
        rc = text ? vc_config_load_string(cfg, text, label) : VC_ENOMEM;
        free(text);
    }
    if (rc < 0) {
        snprintf(msg, sizeof msg, "%s", vc_error_last()->message);
        *why = msg;
        vc_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* The library's progress lines, logged as they finish: a create or upgrade
 * that takes long shows where it is. */
static int on_progress(const char *step, const char *message, int32_t done, void *user_data)
{
    rec *r = user_data;
    if (done == VC_PROGRESS_DONE)
        plog("%s/%s:   [%s] %s", r->ns, r->name, step, message);
    return 0;
}

/* Create the virtual cluster, or upgrade it when the effective vcluster.yaml
 * it runs with differs from the one the spec asks for. */
static int deploy(rec *r, vc_config *cfg, int exists)
{
    vc_buf want = VC_BUF_INIT, have = VC_BUF_INIT;
    int rc = vc_config_to_yaml(cfg, &want);
    if (rc == VC_OK && exists) {
        if (vc_cluster_get_config(&have, r->p->host, r->name, r->ns) == VC_OK && have.ptr && want.ptr &&
            !strcmp(have.ptr, want.ptr)) {
            vc_buf_dispose(&want);
            vc_buf_dispose(&have);
            return 0;
        }
    }
    vc_buf_dispose(&want);
    vc_buf_dispose(&have);
    if (rc < 0)
        return rc;

    vc_create_options o;
    vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION);
    o.name = r->name;
    o.host_namespace = r->ns;
    o.driver = "kubernetes";
    o.config = cfg;
    o.flags = VC_CREATE_NO_WAIT | (exists ? VC_CREATE_UPGRADE : 0);
    o.timeout_ms = r->p->op_timeout_ms;
    o.progress = on_progress;
    o.progress_user_data = r;
    plog("%s/%s: %s the virtual cluster", r->ns, r->name, exists ? "upgrading" : "creating");
    rc = vc_cluster_create(r->p->host, &o, NULL);
    if (rc == VC_OK)
        atomic_fetch_add(&r->p->deploys, 1);
    return rc;
}

/* spec.controlPlaneEndpoint from the Service NAME when it is empty, as
 * upstream: the load balancer's IP or hostname, else the ClusterIP; 443. */
static int fill_endpoint(rec *r, char *host, size_t cap, long *port)
{
    json_t *ep = json_object_get(json_object_get(r->vc, "spec"), "controlPlaneEndpoint");
    if (*jstr(ep, "host")) {
        snprintf(host, cap, "%s", jstr(ep, "host"));
        *port = json_integer_value(json_object_get(ep, "port"));
        if (*port <= 0)
            *port = 443;
        return 0;
    }
    char sp[600];
    snprintf(sp, sizeof sp, "/api/v1/namespaces/%s/services/%s", r->ns, r->name);
    json_t *svc = NULL;
    int rc = kapi_get(r->p, sp, &svc);
    if (rc < 0)
        return rc;
    const char *h = jstr(json_object_get(svc, "spec"), "clusterIP");
    size_t i;
    json_t *ing;
    json_array_foreach(json_object_get(json_object_get(json_object_get(svc, "status"), "loadBalancer"), "ingress"), i,
                       ing) {
        if (*jstr(ing, "ip") || *jstr(ing, "hostname")) {
            h = *jstr(ing, "ip") ? jstr(ing, "ip") : jstr(ing, "hostname");
            break;
        }
    }
    snprintf(host, cap, "%s", h);
    json_decref(svc);
    if (!*host || !strcmp(host, "None"))
        return VC_ENOTFOUND;
    *port = json_integer_value(json_object_get(ep, "port"));
    if (*port <= 0)
        *port = 443;
    json_t *patch = json_pack("{s:{s:{s:s, s:I}}}", "spec", "controlPlaneEndpoint", "host", host, "port",
                              (json_int_t)*port);
    json_t *out = NULL;
    rc = kapi_send(r->p, "PATCH", r->path, patch, NULL, &out);
    json_decref(patch);
    if (rc == VC_OK) {
        /* our own spec write moves the generation; the status reports it */
        r->generation = json_integer_value(json_object_get(json_object_get(out, "metadata"), "generation"));
        plog("%s/%s: spec.controlPlaneEndpoint %s:%ld", r->ns, r->name, host, *port);
    }
    json_decref(out);
    return rc;
}

/* `<cluster>-kubeconfig` in Cluster API's format: type cluster.x-k8s.io/secret,
 * label cluster.x-k8s.io/cluster-name, data.value the kubeconfig. Written
 * with server-side apply, so it is the same object on every pass. */
static int write_kubeconfig(rec *r, const char *host, long port)
{
    char server[400];
    snprintf(server, sizeof server, "https://%s:%ld", host, port);
    vc_buf kc = VC_BUF_INIT;
    int rc = vc_cluster_connect(&kc, r->p->host, r->name, r->ns, server);
    if (rc < 0)
        return rc;
    char *b64 = b64_encode(kc.ptr ? kc.ptr : "", kc.size);
    vc_buf_dispose(&kc);
    if (!b64)
        return VC_ENOMEM;
    char cname[256], sname[300];
    cluster_or_self(r, cname, sizeof cname);
    snprintf(sname, sizeof sname, "%s-kubeconfig", cname);
    json_t *secret = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:{s:s}, s:{s:s}, s:[{s:s, s:s, s:s, s:s}]}, s:s, s:{s:s}}", "apiVersion", "v1",
        "kind", "Secret", "metadata", "name", sname, "namespace", r->ns, "labels", "cluster.x-k8s.io/cluster-name",
        cname, "annotations", CAPI_GROUP "/vcluster", r->name, "ownerReferences", "apiVersion",
        CAPI_GROUP "/" CAPI_VERSION, "kind", "VCluster", "name", r->name, "uid", r->uid, "type",
        "cluster.x-k8s.io/secret", "data", "value", b64);
    free(b64);
    char sp[700];
    snprintf(sp, sizeof sp, "/api/v1/namespaces/%s/secrets/%s?fieldManager=vcluster-capi-provider&force=true", r->ns,
             sname);
    rc = kapi_send(r->p, "PATCH", sp, secret, "application/apply-patch+yaml", NULL);
    json_decref(secret);
    return rc;
}

static int reconcile_live(rec *r)
{
    json_t *meta = json_object_get(r->vc, "metadata");
    const char *why = NULL;
    int initialized = json_is_true(json_object_get(r->old_status, "initialized"));

    if (strlen(r->name) > CAPI_MAX_NAME) {
        char m[200];
        snprintf(m, sizeof m, "metadata.name: %zu characters; a VCluster name has at most %d", strlen(r->name),
                 CAPI_MAX_NAME);
        set_cond(r, "HelmChartDeployed", 0, "InvalidName", "Error", m);
        set_cond(r, "Ready", 0, "InvalidName", "Error", m);
        write_status(r, 0, initialized);
        return 0;
    }
    vc_config *cfg = desired_config(r, &why);
    if (!cfg) {
        set_cond(r, "HelmChartDeployed", 0, "InvalidValues", "Error", why);
        set_cond(r, "Ready", 0, "InvalidValues", "Error", why);
        write_status(r, 0, initialized);
        return 0;
    }
    vc_cluster_info *info = NULL;
    int rc = vc_cluster_status(&info, r->p->host, r->name, r->ns);
    int exists = rc == VC_OK;
    vc_cluster_info_free(info);
    info = NULL;
    rc = rc == VC_OK || rc == VC_ENOTFOUND ? deploy(r, cfg, exists) : rc;
    vc_config_free(cfg);
    if (rc < 0) {
        const char *m = vc_error_last()->message;
        plog("%s/%s: deploy: %s", r->ns, r->name, m);
        set_cond(r, "HelmChartDeployed", 0, rc == VC_ECONFIG ? "InvalidValues" : "HelmDeployFailed", "Error", m);
        set_cond(r, "Ready", 0, "HelmDeployFailed", "Error", m);
        write_status(r, 0, initialized);
        return -1;
    }
    set_cond(r, "HelmChartDeployed", 1, "", "", "");

    /* pause / resume by annotation */
    char op_err[1024] = "";
    int want_paused = !strcmp(jstr(json_object_get(meta, "annotations"), CAPI_PAUSE_ANNOTATION), "true");
    rc = vc_cluster_status(&info, r->p->host, r->name, r->ns);
    if (rc == VC_OK && want_paused != (info->state == VC_CLUSTER_PAUSED)) {
        vc_cluster_op_options o;
        vc_cluster_op_options_init(&o, VC_CLUSTER_OP_OPTIONS_VERSION);
        o.timeout_ms = r->p->op_timeout_ms;
        plog("%s/%s: %s", r->ns, r->name, want_paused ? "pausing" : "resuming");
        rc = want_paused ? vc_cluster_pause(r->p->host, r->name, r->ns, &o)
                         : vc_cluster_resume(r->p->host, r->name, r->ns, &o);
        vc_cluster_info_free(info);
        info = NULL;
        if (rc < 0) {
            snprintf(op_err, sizeof op_err, "%s", vc_error_last()->message);
            plog("%s/%s: %s", r->ns, r->name, op_err);
        }
        rc = vc_cluster_status(&info, r->p->host, r->name, r->ns);
    }
    if (rc < 0) {
        const char *m = vc_error_last()->message;
        set_cond(r, "Ready", 0, "StatusFailed", "Warning", m);
        write_status(r, 0, initialized);
        return -1;
    }
    int paused = info->state == VC_CLUSTER_PAUSED;
    if (*op_err) /* the pause or resume failed: say so until it works */
        set_cond(r, "Paused", paused, want_paused ? "PauseFailed" : "ResumeFailed", "Warning", op_err);
    else if (paused)
        set_cond(r, "Paused", 1, "Paused", "", "annotation " CAPI_PAUSE_ANNOTATION "=true");
    else if (cond_true(r, "Paused") || old_condition(r, "Paused"))
        set_cond(r, "Paused", 0, "Resumed", "Info", "");
    int ready = info->state == VC_CLUSTER_RUNNING;
    if (ready && !initialized) {
        initialized = 1;
        set_cond(r, "ControlPlaneInitialized", 1, "", "", "");
    } else if (!initialized) {
        set_cond(r, "ControlPlaneInitialized", 0, "WaitingForControlPlane", "Info", info->message);
    }
    if (ready)
        set_cond(r, "Ready", 1, "", "", "");
    else
        set_cond(r, "Ready", 0, paused ? "Paused" : "ControlPlaneNotReady", paused ? "Info" : "Warning",
                 paused ? "the virtual cluster is paused" : info->message);
    vc_cluster_info_free(info);

    char host[256];
    long port = 443;
    rc = fill_endpoint(r, host, sizeof host, &port);
    if (rc < 0) {
        set_cond(r, "KubeconfigReady", 0, "NoEndpoint", "Warning", vc_error_last()->message);
    } else if (!paused) {
        rc = write_kubeconfig(r, host, port);
        if (rc < 0)
            set_cond(r, "KubeconfigReady", 0, "CheckFailed", "Warning", vc_error_last()->message);
        else
            set_cond(r, "KubeconfigReady", 1, "", "", "");
    }
    write_status(r, ready, initialized);
    return rc < 0 ? -1 : 0;
}

int reconcile_vcluster(provider *p, json_t *vc)
{
    rec r = { .p = p, .vc = vc };
    json_t *meta = json_object_get(vc, "metadata");
    r.ns = jstr(meta, "namespace");
    r.name = jstr(meta, "name");
    r.uid = jstr(meta, "uid");
    r.generation = json_integer_value(json_object_get(meta, "generation"));
    r.old_status = json_object_get(vc, "status");
    r.conds = json_deep_copy(json_object_get(r.old_status, "conditions"));
    if (!json_is_array(r.conds)) {
        json_decref(r.conds);
        r.conds = json_array();
    }
    snprintf(r.path, sizeof r.path, "/apis/%s/%s/namespaces/%s/vclusters/%s", CAPI_GROUP, CAPI_VERSION, r.ns, r.name);
    atomic_fetch_add(&p->reconciles, 1);

    int rc = 0, cpaused = 0;
    if (*jstr(meta, "deletionTimestamp")) {
        rc = handle_delete(&r);
    } else if (json_object_get(json_object_get(meta, "annotations"), CAPI_RECONCILE_PAUSED)) {
        rc = 0; /* Cluster API asked every controller to leave it alone */
    } else {
        int found = find_cluster(&r, &cpaused);
        if (found < -1) {
            plog("%s/%s: looking up its Cluster: %s", r.ns, r.name, vc_error_last()->message);
            rc = -1;
        } else if (found == -1) {
            /* the contract: no action until a Cluster owns it */
            set_cond(&r, "Ready", 0, "WaitingForCluster", "Info",
                     "no Cluster refers to this VCluster through infrastructureRef or controlPlaneRef");
            write_status(&r, 0, json_is_true(json_object_get(r.old_status, "initialized")));
        } else if (!cpaused) {
            if (!has_finalizer(meta) && set_finalizer(&r, 1) < 0) {
                plog("%s/%s: adding the finalizer: %s", r.ns, r.name, vc_error_last()->message);
                rc = -1;
            } else {
                rc = reconcile_live(&r);
            }
        }
    }
    if (rc < 0)
        atomic_fetch_add(&p->errors, 1);
    json_decref(r.conds);
    return rc;
}

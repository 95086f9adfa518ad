/* Tenant isolation in the syncer, against two real control planes (the
 * host with kwok nodes and a bare virtual one), with
 * policies.podSecurityStandard: baseline (issue 19):
 *  - pods that violate the level never reach the host, and their virtual pod
 *    gets a Warning event SyncError naming the violation; allowed pods do;
 *  - every virtual namespace gets the pod-security labels, so the virtual
 *    API server's own admission refuses a privileged pod afterwards;
 *  - a host refusal (ResourceQuota) becomes a Warning event on the virtual
 *    pod in the tenant's names, without the host name;
 *  - a host pod the cluster does not own that holds a translated name is
 *    left alone, its virtual twin gets a Warning event;
 *  - two virtual objects that translate to one host name: the first owns it,
 *    the other gets a Warning event, and nothing of the first is deleted,
 *    overwritten or mounted by the other;
 *  - under these permanently failing objects the syncer writes to the host
 *    less than once a second (backoff), where it wrote 7 to 34 times a
 *    second before. */
#include <poll.h>

#include "vcenv.h"
#include "translate/translate.h"
#include "vcluster/syncer.h"

static vc_kube *H, *V;
static vc_syncer *S;
static vc_translator *T;
static char NAME[32], HNS[64];

static void pump(int ms)
{
    int64_t end = vc__now_ms() + ms;
    while (vc__now_ms() < end) {
        int64_t t = 0;
        vc_syncer_get_timeout(S, &t);
        struct pollfd p = { vc_syncer_get_fd(S), POLLIN, 0 };
        int w = t < 0 || t > 50 ? 50 : (int)t;
        poll(&p, 1, w);
        int32_t st;
        vc_syncer_step(S, 0, &st);
        vc_sync_event *ev;
        while (vc_syncer_next_event(&ev, S) == VC_OK)
            vc_sync_event_free(ev);
    }
}

static bool pump_until(bool (*cond)(void), int timeout_ms)
{
    int64_t end = vc__now_ms() + timeout_ms;
    while (vc__now_ms() < end) {
        pump(200);
        if (cond())
            return true;
    }
    return cond();
}

static void host_name(const char *ns, const char *name, char *out, size_t cap)
{
    vc_buf b = VC_BUF_INIT;
    out[0] = '\0';
    if (vc_translate_host_name(&b, T, "Pod", ns, name) == VC_OK)
        snprintf(out, cap, "%s", b.ptr);
    vc_buf_dispose(&b);
}

static bool host_pod_exists(const char *vname)
{
    char hn[256], path[512];
    host_name("demo", vname, hn, sizeof hn);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", HNS, hn);
    json_t *p = kget(H, path);
    bool ok = p != NULL;
    json_decref(p);
    return ok;
}

/* The Warning SyncError events on virtual pod demo/NAME, messages joined. */
static char *warnings_of(const char *vname)
{
    char path[512];
    snprintf(path, sizeof path,
             "/api/v1/namespaces/demo/events?fieldSelector=involvedObject.name%%3D%s,reason%%3DSyncError", vname);
    json_t *l = kget(V, path);
    vc_buf b = VC_BUF_INIT;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(l, "items"), i, e) {
        if (vc__streq(vc__jstr(e, "type"), "Warning") && vc__streq(vc__jpath_str(e, "involvedObject", "kind"), "Pod"))
            vc__buf_printf(&b, "%s\n", vc__jstr(e, "message"));
    }
    json_decref(l);
    return vc__buf_detach(&b);
}

static const char *g_want_pod, *g_want_text;
static bool warned(void)
{
    char *w = warnings_of(g_want_pod);
    bool ok = w && strstr(w, g_want_text);
    vc__free(w);
    return ok;
}

static void pod(const char *name, const char *spec)
{
    char body[2048];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},\"spec\":%s}", name, spec);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/pods", body), VC_OK);
}

#define C1(extra) "{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"" extra "}]"

static void t_setup(void)
{
    char buf[1024], path[256];
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", HNS);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", buf), VC_OK);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"ports\":[{\"name\":\"https\",\"port\":443,\"targetPort\":8443}]}}", NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"%s\"},"
             "\"subsets\":[{\"addresses\":[{\"ip\":\"10.1.2.3\"}],\"ports\":[{\"name\":\"https\",\"port\":8443}]}]}",
             NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/endpoints", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"vc-workload-%s\"}}", NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    /* a host pod this cluster does not own, holding the name virtual pod
     * demo/squatted will translate to */
    char hn[256];
    host_name("demo", "squatted", hn, sizeof hn);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"labels\":{\"owner\":\"someone-else\"}},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}", hn);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);

    /* the tenant's namespace and pods exist before the syncer labels the
     * namespace, so the virtual API server admits them all: the syncer is
     * the one that must refuse */
    CHECK_INT(kcreate(V, "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"demo\"}}"), VC_OK);
    pod("allowed", C1("") "}");
    pod("privileged", C1(",\"securityContext\":{\"privileged\":true}") "}");
    pod("hostpath", C1(",\"volumeMounts\":[{\"name\":\"root\",\"mountPath\":\"/host\"}]")
                    ",\"volumes\":[{\"name\":\"root\",\"hostPath\":{\"path\":\"/\"}}]}");
    pod("hostns", C1("") ",\"hostNetwork\":true,\"hostPID\":true,\"hostIPC\":true}");
    pod("sysadmin", C1(",\"securityContext\":{\"capabilities\":{\"add\":[\"SYS_ADMIN\"]}}") "}");
    pod("squatted", C1("") "}");
}

static void t_start_syncer(void)
{
    vc_syncer_options o;
    CHECK_INT(vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.host_namespace = HNS;
    o.config_yaml = "policies:\n  podSecurityStandard: baseline\n";
    CHECK_INT(vc_syncer_new(&S, H, V, &o), VC_OK);
}

static bool allowed_synced(void)
{
    return host_pod_exists("allowed");
}

static void t_pod_security(void)
{
    CHECK(pump_until(allowed_synced, 60000));
    static const struct {
        const char *pod, *text;
    } refused[] = {
        { "privileged", "privileged (container \"c\" must not set securityContext.privileged=true)" },
        { "hostpath", "hostPath volumes (volume \"root\")" },
        { "hostns", "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)" },
        { "sysadmin", "non-default capabilities (container \"c\" must not include \"SYS_ADMIN\"" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        g_want_pod = refused[i].pod;
        g_want_text = refused[i].text;
        CHECK(pump_until(warned, 30000));
        char *w = warnings_of(refused[i].pod);
        CHECK(w && strstr(w, "is forbidden: violates PodSecurity \"baseline:latest\""));
        if (!w || !strstr(w, refused[i].text))
            fprintf(stderr, "  %s: warnings \"%s\"\n", refused[i].pod, w ? w : "(none)");
        vc__free(w);
        CHECK(!host_pod_exists(refused[i].pod));
    }
}

static bool ns_labelled(void)
{
    json_t *ns = kget(V, "/api/v1/namespaces/demo");
    json_t *l = json_object_get(json_object_get(ns, "metadata"), "labels");
    bool ok = vc__streq(vc__jstr(l, "pod-security.kubernetes.io/enforce"), "baseline") &&
              vc__streq(vc__jstr(l, "pod-security.kubernetes.io/warn"), "baseline") &&
              vc__streq(vc__jstr(l, "pod-security.kubernetes.io/enforce-version"), "latest");
    json_decref(ns);
    return ok;
}

static void t_namespace_labels(void)
{
    CHECK(pump_until(ns_labelled, 30000));
    /* now the virtual API server refuses a privileged pod itself */
    int rc = vc_kube_request(V, NULL, NULL, "POST", "/api/v1/namespaces/demo/pods",
                             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"late\"},"
                             "\"spec\":" C1(",\"securityContext\":{\"privileged\":true}") "}}", NULL);
    CHECK_INT(rc, VC_EFORBIDDEN);
    CHECK(strstr(vc_error_last()->message, "violates PodSecurity") != NULL);
    /* a tenant taking the label off gets it back */
    CHECK_INT(vc_kube_request(V, NULL, NULL, "PATCH", "/api/v1/namespaces/demo",
                              "{\"metadata\":{\"labels\":{\"pod-security.kubernetes.io/enforce\":\"privileged\"}}}",
                              "application/merge-patch+json"), VC_OK);
    CHECK(pump_until(ns_labelled, 30000));
}

static bool overquota_synced(void)
{
    return host_pod_exists("overquota");
}

static void t_quota_refusal_visible(void)
{
    /* the host namespace holds at most its current pods: the next is refused */
    char path[256], buf[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", HNS);
    json_t *l = kget(H, path);
    size_t have = json_array_size(json_object_get(l, "items"));
    json_decref(l);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":\"tight\"},"
             "\"spec\":{\"hard\":{\"pods\":\"%zu\"}}}", have);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/resourcequotas", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    /* the quota controller computes its usage (admission enforces what it wrote) */
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/resourcequotas/tight", HNS);
    bool counted = false;
    for (int64_t end = vc__now_ms() + 60000; !counted && vc__now_ms() < end;) {
        json_t *q = kget(H, path);
        counted = vc__jpath_str(json_object_get(q, "status"), "used", "pods") != NULL;
        json_decref(q);
        if (!counted)
            pump(250);
    }
    CHECK(counted);
    pump(1000);
    pod("overquota", C1("") "}");
    g_want_pod = "overquota";
    g_want_text = "exceeded quota: tight";
    CHECK(pump_until(warned, 60000));
    char hn[256];
    host_name("demo", "overquota", hn, sizeof hn);
    char *w = warnings_of("overquota");
    CHECK(w && !strstr(w, hn));        /* tenant names only */
    CHECK(w && strstr(w, "\"overquota\""));
    vc__free(w);
    CHECK(!host_pod_exists("overquota"));
    /* the quota released, the pod goes through (its backoff is at most 30 s) */
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/resourcequotas/tight", HNS);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL), VC_OK);
    CHECK(pump_until(overquota_synced, 60000));
}

static void t_unowned_host_object(void)
{
    g_want_pod = "squatted";
    g_want_text = "does not manage";
    CHECK(pump_until(warned, 60000));
    /* the host pod is untouched: still someone else's */
    char hn[256], path[512];
    host_name("demo", "squatted", hn, sizeof hn);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", HNS, hn);
    json_t *p = kget(H, path);
    CHECK(p != NULL);
    CHECK(vc__streq(vc__jstr(json_object_get(json_object_get(p, "metadata"), "labels"), "owner"), "someone-else"));
    CHECK(json_object_get(json_object_get(p, "metadata"), "deletionTimestamp") == NULL);
    json_decref(p);
}

/* Pod "a" in namespace "b2-x-c2" and pod "a-x-b2" in "c2" translate to the
 * same host name; so do Secret "s" in "b2-x-c2" and "s-x-b2" in "c2". The
 * first owns the name; the other is refused with a Warning event, and
 * nothing of the first is deleted, overwritten or mounted by the other. */
static char g_first_host[256];
static bool first_on_host(void)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", HNS, g_first_host);
    json_t *p = kget(H, path);
    bool ok = p != NULL;
    json_decref(p);
    return ok;
}

static char *warnings_in(const char *ns, const char *vname)
{
    char path[512];
    snprintf(path, sizeof path,
             "/api/v1/namespaces/%s/events?fieldSelector=involvedObject.name%%3D%s,reason%%3DSyncError", ns, vname);
    json_t *l = kget(V, path);
    vc_buf b = VC_BUF_INIT;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(l, "items"), i, e) vc__buf_printf(&b, "%s\n", vc__jstr(e, "message"));
    json_decref(l);
    return vc__buf_detach(&b);
}

static const char *g_ns, *g_name, *g_text;
static bool warned_in(void)
{
    char *w = warnings_in(g_ns, g_name);
    bool ok = w && strstr(w, g_text);
    vc__free(w);
    return ok;
}

static void t_name_collisions(void)
{
    CHECK_INT(kcreate(V, "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"c2\"}}"), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"b2-x-c2\"}}"), VC_OK);
    char h1[256], h2[256];
    host_name("c2", "a-x-b2", h1, sizeof h1);
    host_name("b2-x-c2", "a", h2, sizeof h2);
    CHECK(h1[0] && strcmp(h1, h2) == 0); /* the premise: one host name */
    snprintf(g_first_host, sizeof g_first_host, "%s", h1);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/c2/secrets",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s-x-b2\"},"
                      "\"stringData\":{\"owner\":\"c2\"}}"), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/b2-x-c2/secrets",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},"
                      "\"stringData\":{\"owner\":\"b2-x-c2\"}}"), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/c2/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a-x-b2\"},\"spec\":{"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}],"
                      "\"volumes\":[{\"name\":\"s\",\"secret\":{\"secretName\":\"s-x-b2\"}}]}}"), VC_OK);
    CHECK(pump_until(first_on_host, 60000));
    pump(2000);
    /* the colliding pod, which also mounts the colliding Secret */
    CHECK_INT(kcreate(V, "/api/v1/namespaces/b2-x-c2/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}],"
                      "\"volumes\":[{\"name\":\"s\",\"secret\":{\"secretName\":\"s\"}}]}}"), VC_OK);
    g_ns = "b2-x-c2";
    g_name = "a";
    g_text = "already used by another Pod of this virtual cluster";
    CHECK(pump_until(warned_in, 30000));
    g_name = "s";
    g_text = "already used by another Secret of this virtual cluster";
    CHECK(pump_until(warned_in, 30000));
    pump(3000);
    /* the first pod and its Secret are untouched, and the virtual pod lives */
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", HNS, h1);
    json_t *hp = kget(H, path);
    CHECK(hp != NULL);
    json_t *ann = json_object_get(json_object_get(hp, "metadata"), "annotations");
    CHECK(vc__streq(vc__jstr(ann, "vcluster.loft.sh/namespace"), "c2"));
    CHECK(vc__streq(vc__jstr(ann, "vcluster.loft.sh/name"), "a-x-b2"));
    json_decref(hp);
    json_t *vp = kget(V, "/api/v1/namespaces/c2/pods/a-x-b2");
    CHECK(vp != NULL && !json_object_get(json_object_get(vp, "metadata"), "deletionTimestamp"));
    json_decref(vp);
    vp = kget(V, "/api/v1/namespaces/b2-x-c2/pods/a");
    CHECK(vp != NULL); /* refused, not deleted */
    json_decref(vp);
    char sh[256];
    vc_buf b = VC_BUF_INIT;
    sh[0] = '\0';
    if (vc_translate_host_name(&b, T, "Secret", "c2", "s-x-b2") == VC_OK)
        snprintf(sh, sizeof sh, "%s", b.ptr);
    vc_buf_dispose(&b);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", HNS, sh);
    json_t *hs = kget(H, path);
    /* "c2" base64 */
    CHECK(hs && vc__streq(vc__jpath_str(hs, "data", "owner"), "YzI="));
    json_decref(hs);
}

static void t_write_rate_bounded(void)
{
    /* three objects fail for good (quota, unowned name, and the pods the
     * policy refuses); let the backoff settle, then count host writes */
    pump(5000);
    vc_syncer_stats a = { .version = VC_SYNCER_STATS_VERSION }, b = { .version = VC_SYNCER_STATS_VERSION };
    CHECK_INT(vc_syncer_stats_get(S, &a), VC_OK);
    pump(10000);
    CHECK_INT(vc_syncer_stats_get(S, &b), VC_OK);
    uint64_t writes = b.host_writes - a.host_writes;
    printf("# host writes in 10 s with 2 permanently refused objects (squatted, b2-x-c2/a): %llu\n", (unsigned long long)writes);
    CHECK(writes < 10);
    /* the refusals are counted by reason (stats version 2; the daemon's
     * errors_total{reason}) */
    printf("# refused: pod security %llu, by the host %llu, name taken %llu; warnings %llu; errors %llu\n",
           (unsigned long long)b.refused_pod_security, (unsigned long long)b.refused_by_host,
           (unsigned long long)b.refused_name_taken, (unsigned long long)b.warnings, (unsigned long long)b.errors);
    CHECK(b.refused_pod_security >= 4);  /* privileged, hostpath, hostns, sysadmin */
    CHECK(b.refused_by_host >= 1);       /* the quota */
    CHECK(b.refused_name_taken >= 3);    /* squatted, b2-x-c2/a, b2-x-c2/s */
    CHECK(b.warnings >= 8);
    CHECK(b.errors >= b.refused_pod_security + b.refused_by_host + b.refused_name_taken);
}

static void t_stop(void)
{
    CHECK_INT(vc_syncer_stop(S), VC_OK);
    int32_t st = VC_STEP_IDLE;
    int64_t end = vc__now_ms() + 10000;
    while (st != VC_STEP_STOPPED && vc__now_ms() < end)
        vc_syncer_step(S, 100, &st);
    CHECK_INT(st, VC_STEP_STOPPED);
    vc_syncer_free(S);
    S = NULL;
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    vc_global_init(NULL);
    vcenv e;
    if (vcenv_up(&e) < 0)
        return 1;
    itest_name(NAME, sizeof NAME, "vp");
    snprintf(HNS, sizeof HNS, "vcluster-%s", NAME);
    H = kube_for(kc);
    V = kube_for(e.kubeconfig);
    vc_translate_options to;
    vc_translate_options_init(&to, VC_TRANSLATE_OPTIONS_VERSION);
    to.name = NAME;
    to.host_namespace = HNS;
    if (!H || !V || vc_translator_new(&T, &to) < 0) {
        vcenv_down(&e);
        return 1;
    }
    RUN(t_setup);
    RUN(t_start_syncer);
    RUN(t_pod_security);
    RUN(t_namespace_labels);
    RUN(t_quota_refusal_visible);
    RUN(t_unowned_host_object);
    RUN(t_name_collisions);
    RUN(t_write_rate_bounded);
    RUN(t_stop);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", HNS);
    vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
    vc_translator_free(T);
    vc_kube_free(H);
    vc_kube_free(V);
    vcenv_down(&e);
    vc_global_shutdown();
    TEST_DONE();
}

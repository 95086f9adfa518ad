/* Pod updates, enforced tolerations and owner references, against two real
 * control planes (the host with kwok nodes and a bare virtual one), issue 13:
 *  - sync.toHost.pods.enforceTolerations: every host pod carries them;
 *  - experimental.syncSettings.setOwner (default true): host pods and
 *    ConfigMaps carry an ownerReference to the host Service, and deleting
 *    that Service lets the host's garbage collector remove them;
 *  - a changed virtual label or annotation reaches the host pod, a label or
 *    annotation added on the host survives, a removed virtual label goes, a
 *    label added on the host goes back to the virtual pod;
 *  - back-sync: a label and an annotation the host adds to the host pod and
 *    the host Service reach the virtual ones and leave them when the host
 *    removes them, the tenant's own annotations stay, the syncer's keys never
 *    come back, and 10 s idle after each change see no host write for them
 *    and no changed resourceVersion on either side;
 *  - a label added to (removed from) the virtual namespace reaches (leaves)
 *    the existing host pod;
 *  - a changed container image, activeDeadlineSeconds, an ephemeral
 *    container (virtual ephemeralcontainers subresource) and an in-place
 *    resize (virtual resize subresource) reach the host pod, which is never
 *    deleted or re-created for it;
 *  - a change the host refuses (activeDeadlineSeconds above the host's) is a
 *    Warning event on the virtual pod, reported once, not retried in a loop. */
#include <poll.h>

#include "vcenv.h"
#include "translate/translate.h"
#include "vcluster/syncer.h"

static vc_kube *H, *V;
static vc_syncer *S;
static vc_translator *T;
static char NAME[32], HNS[64], HPOD[256], HPATH[512], PPATH[512], SVC_UID[64];
static const char *VPATH = "/api/v1/namespaces/demo/pods/web";

static bool g_show_host_writes; /* print the host writes pump() sees */
static int g_pair_host_writes;  /* ... and count those about Pod demo/web and Service demo/api */

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
        while (vc_syncer_next_event(&ev, S) == VC_OK) {
            if (g_show_host_writes && (ev->type == VC_SYNC_CREATED_HOST || ev->type == VC_SYNC_UPDATED_HOST ||
                                       ev->type == VC_SYNC_DELETED_HOST))
            {
                bool pair = vc__streq(ev->virtual_namespace, "demo") &&
                            ((vc__streq(ev->kind, "Pod") && vc__streq(ev->virtual_name, "web")) ||
                             (vc__streq(ev->kind, "Service") && vc__streq(ev->virtual_name, "api")));
                g_pair_host_writes += pair;
                printf("# host write while idle: event %d %s %s/%s\n", (int)ev->type, ev->kind,
                       ev->virtual_namespace, ev->virtual_name);
            }
            vc_sync_event_free(ev);
        }
    }
}

/* Pump (when the syncer runs) until cond() holds or timeout_ms passed. */
static bool pump_until(bool (*cond)(void), int timeout_ms)
{
    int64_t end = vc__now_ms() + timeout_ms;
    while (vc__now_ms() < end) {
        if (S)
            pump(200);
        else
            usleep(200000);
        if (cond())
            return true;
    }
    return cond();
}

static int kpatch(vc_kube *k, const char *path, const char *body, const char *ctype)
{
    int32_t http = 0;
    int rc = vc_kube_request(k, NULL, &http, "PATCH", path, body, ctype);
    if (rc < 0)
        fprintf(stderr, "patch %s: %d %s\n", path, (int)http, vc_error_last()->message);
    return rc;
}
#define SMP "application/strategic-merge-patch+json"

static json_t *host_pod(void)
{
    return kget(H, HPATH);
}

static char g_first_uid[64];

/* ---- setup ---- */

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
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services/%s", HNS, NAME);
    json_t *svc = kget(H, path);
    CHECK(svc != NULL);
    snprintf(SVC_UID, sizeof SVC_UID, "%s", vc__jpath_str(svc, "metadata", "uid") ? vc__jpath_str(svc, "metadata", "uid") : "");
    json_decref(svc);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"%s\"},"
             "\"subsets\":[{\"addresses\":[{\"ip\":\"10.1.2.3\"}],\"ports\":[{\"name\":\"https\",\"port\":8443}]}]}",
             NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/endpoints", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"vc-workload-%s\"}}", NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);

    CHECK_INT(kcreate(V, "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"demo\"}}"), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/configmaps",
                      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg\"},\"data\":{\"k\":\"v\"}}"),
              VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\","
                      "\"tier\":\"fe\"},\"annotations\":{\"note\":\"one\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
                      "\"image\":\"busybox:1.36\",\"env\":[{\"name\":\"K\",\"valueFrom\":{\"configMapKeyRef\":"
                      "{\"name\":\"cfg\",\"key\":\"k\"}}}],\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":"
                      "\"64Mi\"},\"limits\":{\"cpu\":\"200m\",\"memory\":\"64Mi\"}}}]}}"), VC_OK);
    /* a pod held back by a scheduling gate */
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"gated\"},\"spec\":"
                      "{\"schedulingGates\":[{\"name\":\"example.com/wait\"}],\"containers\":[{\"name\":\"c\","
                      "\"image\":\"busybox\"}]}}"), VC_OK);
    /* a pod no host node can take: it stays Pending, no container runs */
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pending\"},\"spec\":"
                      "{\"nodeSelector\":{\"no-such-label\":\"x\"},\"containers\":[{\"name\":\"c\",\"image\":\"busybox\","
                      "\"resources\":{\"requests\":{\"cpu\":\"100m\"},\"limits\":{\"cpu\":\"200m\"}}}]}}"), VC_OK);
    vc_buf b = VC_BUF_INIT;
    CHECK_INT(vc_translate_host_name(&b, T, "Pod", "demo", "pending"), VC_OK);
    snprintf(PPATH, sizeof PPATH, "/api/v1/namespaces/%s/pods/%s", HNS, b.ptr ? b.ptr : "");
    vc_buf_dispose(&b);
    CHECK_INT(vc_translate_host_name(&b, T, "Pod", "demo", "web"), VC_OK);
    snprintf(HPOD, sizeof HPOD, "%s", b.ptr ? b.ptr : "");
    vc_buf_dispose(&b);
    snprintf(HPATH, sizeof HPATH, "/api/v1/namespaces/%s/pods/%s", HNS, HPOD);
}

static void t_start_syncer(void)
{
    vc_syncer_options o;
    CHECK_INT(vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.host_namespace = HNS;
    o.config_yaml = "sync:\n  toHost:\n    pods:\n      enforceTolerations:\n"
                    "        - dedicated=tenants:NoSchedule\n        - spot:NoExecute\n";
    CHECK_INT(vc_syncer_new(&S, H, V, &o), VC_OK);
}

static bool host_pod_there(void)
{
    json_t *p = host_pod();
    bool ok = p && vc__jpath_str(p, "spec", "nodeName");
    if (ok)
        snprintf(g_first_uid, sizeof g_first_uid, "%s", vc__jpath_str(p, "metadata", "uid"));
    json_decref(p);
    return ok;
}

static bool has_toleration(const json_t *pod, const char *key, const char *op, const char *value, const char *effect)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "tolerations"), i, t) {
        if (vc__streq(vc__jstr(t, "key"), key) && vc__streq(vc__jstr(t, "operator"), op) &&
            vc__streq(vc__jstr(t, "value"), value) && vc__streq(vc__jstr(t, "effect"), effect))
            return true;
    }
    return false;
}

static bool owned_by_service(const json_t *obj)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i, r) {
        if (vc__streq(vc__jstr(r, "kind"), "Service") && vc__streq(vc__jstr(r, "name"), NAME) &&
            vc__streq(vc__jstr(r, "uid"), SVC_UID))
            return true;
    }
    return false;
}

static bool host_cm_there(void)
{
    char hn[256], path[512];
    vc_buf b = VC_BUF_INIT;
    vc_translate_host_name(&b, T, "ConfigMap", "demo", "cfg");
    snprintf(hn, sizeof hn, "%s", b.ptr ? b.ptr : "");
    vc_buf_dispose(&b);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/%s", HNS, hn);
    json_t *cm = kget(H, path);
    bool ok = cm && owned_by_service(cm);
    json_decref(cm);
    return ok;
}

static void t_created_with_tolerations_and_owner(void)
{
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(host_pod_there, 60000));
    printf("# host pod bound after %lld ms\n", (long long)(vc__now_ms() - t0));
    json_t *p = host_pod();
    CHECK(p != NULL);
    /* enforceTolerations, parsed as upstream's ParseToleration does */
    CHECK(has_toleration(p, "dedicated", "Equal", "tenants", "NoSchedule"));
    CHECK(has_toleration(p, "spot", "Exists", NULL, "NoExecute"));
    /* setOwner (default true): the host Service owns the pod */
    CHECK(owned_by_service(p));
    json_decref(p);
    CHECK(pump_until(host_cm_there, 20000));
}

/* ---- labels and annotations ---- */

static bool labels_follow(void)
{
    json_t *p = host_pod();
    json_t *l = json_object_get(json_object_get(p, "metadata"), "labels");
    json_t *a = json_object_get(json_object_get(p, "metadata"), "annotations");
    bool ok = vc__streq(vc__jstr(l, "app"), "web2") && vc__streq(vc__jstr(l, "stage"), "beta") && !json_object_get(l, "tier") &&
              vc__streq(vc__jstr(l, "host-added"), "yes") && vc__streq(vc__jstr(a, "note"), "two") &&
              vc__streq(vc__jstr(a, "extra"), "x") && vc__streq(vc__jstr(a, "host-note"), "kept");
    json_decref(p);
    return ok;
}

static bool virtual_has_host_label(void)
{
    json_t *p = kget(V, VPATH);
    bool ok = vc__streq(vc__jpath_str(json_object_get(p, "metadata"), "labels", "host-added"), "yes");
    json_decref(p);
    return ok;
}

static void t_labels_annotations(void)
{
    /* the host adds its own label and annotation first */
    CHECK_INT(kpatch(H, HPATH, "{\"metadata\":{\"labels\":{\"host-added\":\"yes\"},\"annotations\":{\"host-note\":\"kept\"}}}",
                     SMP), VC_OK);
    pump(500);
    CHECK_INT(kpatch(V, VPATH,
                     "{\"metadata\":{\"labels\":{\"app\":\"web2\",\"stage\":\"beta\",\"tier\":null},"
                     "\"annotations\":{\"note\":\"two\",\"extra\":\"x\"}}}", SMP), VC_OK);
    int64_t t0 = vc__now_ms();
    bool ok = pump_until(labels_follow, 20000);
    printf("# labels/annotations on the host after %lld ms\n", (long long)(vc__now_ms() - t0));
    if (!ok) {
        json_t *p = host_pod();
        char *m = json_dumps(json_object_get(p, "metadata"), JSON_COMPACT);
        fprintf(stderr, "host metadata: %s\n", m ? m : "(none)");
        vc__free(m);
        json_decref(p);
    }
    CHECK(ok);
    /* the label added on the host went back to the virtual pod (upstream's
     * bidirectional merge), its annotation stays on the host */
    CHECK(pump_until(virtual_has_host_label, 20000));
    /* the labels annotation (downward API) follows the virtual labels */
    json_t *p = host_pod();
    const char *la = vc__jstr(json_object_get(json_object_get(p, "metadata"), "annotations"), VC__A_POD_LABELS);
    CHECK(la && strstr(la, "app=\"web2\"") && !strstr(la, "tier="));
    json_decref(p);
}

/* ---- back-sync: labels and annotations the host adds ---- */

static char SVC_HPATH[512];
static const char *SVC_VPATH = "/api/v1/namespaces/demo/services/api";
static bool g_bs_present; /* what bs_follows waits for */

static bool has_host_meta(const json_t *o, bool want)
{
    const json_t *md = json_object_get(o, "metadata");
    bool a = vc__streq(vc__jpath_str(md, "annotations", "example.com/injected"), "yes");
    bool l = vc__streq(vc__jpath_str(md, "labels", "example.com/team"), "blue");
    return want ? a && l : !json_object_get(vc__jobj(md, "annotations"), "example.com/injected") &&
                               !json_object_get(vc__jobj(md, "labels"), "example.com/team");
}

/* both virtual objects show (or lack) the host's label and annotation */
static bool bs_follows(void)
{
    json_t *p = kget(V, VPATH), *sv = kget(V, SVC_VPATH);
    bool ok = p && sv && has_host_meta(p, g_bs_present) && has_host_meta(sv, g_bs_present);
    json_decref(p);
    json_decref(sv);
    return ok;
}

/* the host's ownership records no longer name the removed keys (the pod's
 * still name those t_labels_annotations added on the host) */
static bool bs_records_clean(void)
{
    json_t *p = host_pod(), *sv = kget(H, SVC_HPATH);
    bool ok = p && sv;
    for (int i = 0; ok && i < 2; i++) {
        const json_t *a = vc__jobj(vc__jobj(i ? sv : p, "metadata"), "annotations");
        const char *ra = vc__jstr(a, VC__A_HOST_ANNOTATIONS), *rl = vc__jstr(a, VC__A_HOST_LABELS);
        ok = !(ra && strstr(ra, "example.com/")) && !(rl && strstr(rl, "example.com/"));
        if (i == 1)
            ok = ok && !ra && !rl;
        else
            ok = ok && vc__streq(ra, "host-note") && vc__streq(rl, "host-added");
    }
    json_decref(p);
    json_decref(sv);
    return ok;
}

static bool host_svc_there(void)
{
    json_t *sv = kget(H, SVC_HPATH);
    bool ok = sv != NULL;
    json_decref(sv);
    return ok;
}

static bool host_svc_tenant_changed(void)
{
    json_t *sv = kget(H, SVC_HPATH);
    bool ok = vc__streq(vc__jpath_str(json_object_get(sv, "metadata"), "annotations", "tenant"), "changed") &&
              has_host_meta(sv, true);
    json_decref(sv);
    return ok;
}

/* the virtual Service carries its host twin's ClusterIP (F4.1) */
static bool svc_ip_same(void)
{
    json_t *hs = kget(H, SVC_HPATH), *vs = kget(V, SVC_VPATH);
    const char *hip = vc__jpath_str(hs, "spec", "clusterIP"), *vip = vc__jpath_str(vs, "spec", "clusterIP");
    bool ok = hip && vip && *hip && !strcmp(hip, vip);
    json_decref(hs);
    json_decref(vs);
    return ok;
}

static const char *rv_of(json_t *o, char *buf, size_t n)
{
    snprintf(buf, n, "%s", vc__jpath_str(o, "metadata", "resourceVersion") ? vc__jpath_str(o, "metadata", "resourceVersion") : "");
    json_decref(o);
    return buf;
}

/* 10 s idle: no host write, and neither the pod nor the Service changes on
 * either side (no ping-pong). */
static void idle_check(const char *when)
{
    pump(2000); /* the last answers and their watch events */
    vc_syncer_stats st0, st1;
    memset(&st0, 0, sizeof st0);
    st0.version = VC_SYNCER_STATS_VERSION;
    st1 = st0;
    char r[4][64], r2[4][64];
    rv_of(host_pod(), r[0], 64);
    rv_of(kget(H, SVC_HPATH), r[1], 64);
    rv_of(kget(V, VPATH), r[2], 64);
    rv_of(kget(V, SVC_VPATH), r[3], 64);
    CHECK_INT(vc_syncer_stats_get(S, &st0), VC_OK);
    g_pair_host_writes = 0;
    g_show_host_writes = true;
    pump(10000);
    g_show_host_writes = false;
    CHECK_INT(vc_syncer_stats_get(S, &st1), VC_OK);
    rv_of(host_pod(), r2[0], 64);
    rv_of(kget(H, SVC_HPATH), r2[1], 64);
    rv_of(kget(V, VPATH), r2[2], 64);
    rv_of(kget(V, SVC_VPATH), r2[3], 64);
    printf("# idle 10 s %s: %d host writes for the pod and Service, %llu host and %llu virtual writes in all "
           "(other kinds too); resourceVersions host pod %s->%s, host svc %s->%s, virtual pod %s->%s, virtual svc "
           "%s->%s\n",
           when, g_pair_host_writes, (unsigned long long)(st1.host_writes - st0.host_writes),
           (unsigned long long)(st1.virtual_writes - st0.virtual_writes), r[0], r2[0], r[1], r2[1], r[2], r2[2], r[3],
           r2[3]);
    CHECK_INT(g_pair_host_writes, 0);
    for (int i = 0; i < 4; i++)
        CHECK(!strcmp(r[i], r2[i]));
}

static void t_backsync(void)
{
    vc_buf b = VC_BUF_INIT;
    CHECK_INT(vc_translate_host_name(&b, T, "Service", "demo", "api"), VC_OK);
    snprintf(SVC_HPATH, sizeof SVC_HPATH, "/api/v1/namespaces/%s/services/%s", HNS, b.ptr ? b.ptr : "");
    vc_buf_dispose(&b);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/services",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"api\",\"labels\":{\"app\":"
                      "\"api\"},\"annotations\":{\"tenant\":\"mine\"}},\"spec\":{\"selector\":{\"app\":\"web2\"},"
                      "\"ports\":[{\"port\":80}]}}"), VC_OK);
    int64_t tc = vc__now_ms();
    CHECK(pump_until(host_svc_there, 30000));
    /* how long the virtual Service has an IP of its own (upstream: never,
     * its API proxy creates the host Service first) */
    CHECK(pump_until(svc_ip_same, 30000));
    printf("# the virtual Service has the host ClusterIP %lld ms after its create\n", (long long)(vc__now_ms() - tc));
    /* what an admission webhook or an operator on the host would add */
    static const char *const add = "{\"metadata\":{\"labels\":{\"example.com/team\":\"blue\"},\"annotations\":"
                                   "{\"example.com/injected\":\"yes\"}}}";
    CHECK_INT(kpatch(H, HPATH, add, "application/merge-patch+json"), VC_OK);
    CHECK_INT(kpatch(H, SVC_HPATH, add, "application/merge-patch+json"), VC_OK);
    g_bs_present = true;
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(bs_follows, 30000));
    printf("# host-added label + annotation on the virtual pod and Service after %lld ms\n",
           (long long)(vc__now_ms() - t0));
    /* the tenant's own annotations are not clobbered */
    json_t *p = kget(V, VPATH), *sv = kget(V, SVC_VPATH);
    CHECK_STR(vc__jpath_str(json_object_get(p, "metadata"), "annotations", "note"), "two");
    CHECK_STR(vc__jpath_str(json_object_get(sv, "metadata"), "annotations", "tenant"), "mine");
    CHECK_STR(vc__jpath_str(json_object_get(sv, "metadata"), "labels", "app"), "api");
    /* the syncer's own keys never come back */
    const char *k;
    json_t *v;
    for (int i = 0; i < 2; i++) {
        json_object_foreach(vc__jobj(vc__jobj(i ? sv : p, "metadata"), "annotations"), k, v)
            CHECK(strncmp(k, "vcluster.loft.sh/", 17) != 0);
        json_object_foreach(vc__jobj(vc__jobj(i ? sv : p, "metadata"), "labels"), k, v)
            CHECK(strncmp(k, "vcluster.loft.sh/", 17) != 0);
    }
    json_decref(p);
    json_decref(sv);
    idle_check("after the host added");

    /* the tenant changes its own annotation: the virtual value wins, the
     * host's keys stay */
    CHECK_INT(kpatch(V, SVC_VPATH, "{\"metadata\":{\"annotations\":{\"tenant\":\"changed\"}}}",
                     "application/merge-patch+json"), VC_OK);
    CHECK(pump_until(host_svc_tenant_changed, 20000));

    /* the host removes them: they leave the virtual objects, the records go */
    static const char *const del = "{\"metadata\":{\"labels\":{\"example.com/team\":null},\"annotations\":"
                                   "{\"example.com/injected\":null}}}";
    CHECK_INT(kpatch(H, HPATH, del, "application/merge-patch+json"), VC_OK);
    CHECK_INT(kpatch(H, SVC_HPATH, del, "application/merge-patch+json"), VC_OK);
    g_bs_present = false;
    t0 = vc__now_ms();
    CHECK(pump_until(bs_follows, 30000));
    printf("# removed from the virtual pod and Service after %lld ms\n", (long long)(vc__now_ms() - t0));
    bool clean = pump_until(bs_records_clean, 20000);
    if (!clean) {
        json_t *hp = host_pod(), *hs = kget(H, SVC_HPATH);
        char *a = json_dumps(json_object_get(hp, "metadata"), JSON_COMPACT);
        char *b2 = json_dumps(json_object_get(hs, "metadata"), JSON_COMPACT);
        fprintf(stderr, "host pod metadata: %s\nhost svc metadata: %s\n", a ? a : "-", b2 ? b2 : "-");
        vc__free(a);
        vc__free(b2);
        json_decref(hp);
        json_decref(hs);
    }
    CHECK(clean);
    p = kget(V, VPATH);
    sv = kget(V, SVC_VPATH);
    CHECK_STR(vc__jpath_str(json_object_get(p, "metadata"), "annotations", "note"), "two");
    CHECK_STR(vc__jpath_str(json_object_get(sv, "metadata"), "annotations", "tenant"), "changed");
    json_decref(p);
    json_decref(sv);
    idle_check("after the host removed");
}

/* ---- namespace labels follow the namespace ---- */

static const char *g_ns_value; /* the value a host ns-label must have; NULL: none */

static bool ns_label_follows(void)
{
    json_t *p = host_pod();
    const json_t *l = json_object_get(json_object_get(p, "metadata"), "labels");
    bool found = false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)l, k, v) {
        if (!strncmp(k, VC__NS_LABEL_PREFIX, strlen(VC__NS_LABEL_PREFIX)) &&
            vc__streq(json_string_value(v), "blue"))
            found = true;
    }
    json_decref(p);
    return g_ns_value ? found : !found;
}

static void t_namespace_labels(void)
{
    /* a label added to the virtual namespace after its pod exists reaches
     * the host pod (upstream queues a namespace's pods when its labels
     * change), and goes when it is removed; the pod stays the same pod */
    json_t *before = host_pod();
    char uid[64];
    snprintf(uid, sizeof uid, "%s", vc__jstr(json_object_get(before, "metadata"), "uid"));
    json_decref(before);
    CHECK_INT(kpatch(V, "/api/v1/namespaces/demo", "{\"metadata\":{\"labels\":{\"team\":\"blue\"}}}", SMP), VC_OK);
    g_ns_value = "blue";
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(ns_label_follows, 20000));
    printf("# namespace label on the host pod after %lld ms\n", (long long)(vc__now_ms() - t0));
    CHECK_INT(kpatch(V, "/api/v1/namespaces/demo", "{\"metadata\":{\"labels\":{\"team\":null}}}", SMP), VC_OK);
    g_ns_value = NULL;
    CHECK(pump_until(ns_label_follows, 20000));
    json_t *after = host_pod();
    CHECK(vc__streq(vc__jstr(json_object_get(after, "metadata"), "uid"), uid));
    json_decref(after);
}

/* ---- spec changes ---- */

static bool image_follows(void)
{
    json_t *p = host_pod();
    json_t *c0 = json_array_get(json_object_get(json_object_get(p, "spec"), "containers"), 0);
    json_t *ads = json_object_get(json_object_get(p, "spec"), "activeDeadlineSeconds");
    bool ok = vc__streq(vc__jstr(c0, "image"), "busybox:1.37") && json_integer_value(ads) == 600;
    json_decref(p);
    return ok;
}

static void t_image_and_deadline(void)
{
    CHECK_INT(kpatch(V, VPATH,
                     "{\"spec\":{\"activeDeadlineSeconds\":600,\"containers\":[{\"name\":\"c\",\"image\":\"busybox:1.37\"}]}}",
                     SMP), VC_OK);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(image_follows, 20000));
    printf("# image + activeDeadlineSeconds on the host after %lld ms\n", (long long)(vc__now_ms() - t0));
    json_t *p = host_pod();
    CHECK(vc__streq(vc__jpath_str(p, "metadata", "uid"), g_first_uid)); /* updated, not re-created */
    json_decref(p);
}

static bool ephemeral_follows(void)
{
    json_t *p = host_pod();
    json_t *e = json_array_get(json_object_get(json_object_get(p, "spec"), "ephemeralContainers"), 0);
    bool ok = e && vc__streq(vc__jstr(e, "name"), "debug") && vc__streq(vc__jstr(e, "image"), "busybox:1.36");
    /* translated like a container: the kube env points at the host Service */
    bool env = false;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(e, "env"), i, ev) if (vc__streq(vc__jstr(ev, "name"), "KUBERNETES_SERVICE_HOST")) env = true;
    json_decref(p);
    return ok && env;
}

static void t_ephemeral(void)
{
    int rc = kpatch(V, "/api/v1/namespaces/demo/pods/web/ephemeralcontainers",
                    "{\"spec\":{\"ephemeralContainers\":[{\"name\":\"debug\",\"image\":\"busybox:1.36\","
                    "\"command\":[\"sh\"],\"stdin\":true,\"tty\":true,\"targetContainerName\":\"c\"}]}}", SMP);
    CHECK_INT(rc, VC_OK);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(ephemeral_follows, 20000));
    printf("# ephemeral container on the host after %lld ms\n", (long long)(vc__now_ms() - t0));
}

static bool pending_on_host(void)
{
    json_t *p = kget(H, PPATH);
    bool ok = p != NULL;
    json_decref(p);
    return ok;
}

static bool resized(void)
{
    json_t *p = kget(H, PPATH);
    json_t *c0 = json_array_get(json_object_get(json_object_get(p, "spec"), "containers"), 0);
    bool ok = vc__streq(vc__jpath_str(json_object_get(c0, "resources"), "requests", "cpu"), "150m");
    json_decref(p);
    return ok;
}

/* In-place resize. The API server accepts a resize of a running pod only
 * when its running containers report their resources in status (a
 * kubelet with in-place resize); kwok's simulated kubelet does not, so both
 * API servers refuse resizing the running pod here ("Pod running on node
 * without support for resize"). A pod with no running container (Pending:
 * no host node matches it) can be resized on both, which shows the resize
 * travelling through the host's resize subresource. */
static void t_resize(void)
{
    CHECK(pump_until(pending_on_host, 20000));
    int rc = kpatch(V, "/api/v1/namespaces/demo/pods/pending/resize",
                    "{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"150m\"}}}]}}", SMP);
    CHECK_INT(rc, VC_OK);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(resized, 20000));
    printf("# in-place resize on the host after %lld ms\n", (long long)(vc__now_ms() - t0));
}

/* Scheduling gates: removed in the virtual pod, removed on the host, and
 * the host scheduler places the pod. */
static char g_gated[512];
static bool gated_on_host(void)
{
    json_t *p = kget(H, g_gated);
    bool ok = p && json_array_size(json_object_get(json_object_get(p, "spec"), "schedulingGates")) == 1 &&
              !vc__jpath_str(p, "spec", "nodeName");
    json_decref(p);
    return ok;
}

static bool ungated_scheduled(void)
{
    json_t *p = kget(H, g_gated);
    bool ok = p && !json_array_size(json_object_get(json_object_get(p, "spec"), "schedulingGates")) &&
              vc__jpath_str(p, "spec", "nodeName");
    json_decref(p);
    return ok;
}

static void t_scheduling_gates(void)
{
    vc_buf b = VC_BUF_INIT;
    CHECK_INT(vc_translate_host_name(&b, T, "Pod", "demo", "gated"), VC_OK);
    snprintf(g_gated, sizeof g_gated, "/api/v1/namespaces/%s/pods/%s", HNS, b.ptr ? b.ptr : "");
    vc_buf_dispose(&b);
    CHECK(pump_until(gated_on_host, 20000));
    CHECK_INT(kpatch(V, "/api/v1/namespaces/demo/pods/gated", "{\"spec\":{\"schedulingGates\":null}}",
                     "application/merge-patch+json"), VC_OK);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(ungated_scheduled, 20000));
    printf("# scheduling gate removed and the host pod scheduled after %lld ms\n", (long long)(vc__now_ms() - t0));
}

/* ---- a change the host refuses ---- */

static char *warnings_of(const char *vname, int *count)
{
    char path[512];
    snprintf(path, sizeof path,
             "/api/v1/namespaces/demo/events?fieldSelector=involvedObject.name%%3D%s,reason%%3DSyncError", vname);
    json_t *l = kget(V, path);
    vc_buf b = VC_BUF_INIT;
    size_t i;
    json_t *e;
    *count = 0;
    json_array_foreach(json_object_get(l, "items"), i, e) {
        if (vc__streq(vc__jstr(e, "type"), "Warning")) {
            vc__buf_printf(&b, "%s\n", vc__jstr(e, "message"));
            *count += (int)json_integer_value(json_object_get(e, "count"));
        }
    }
    json_decref(l);
    return vc__buf_detach(&b);
}

static bool refusal_warned(void)
{
    int n = 0;
    char *w = warnings_of("web", &n);
    bool ok = w && strstr(w, "activeDeadlineSeconds");
    vc__free(w);
    return ok;
}

static bool label_after_refusal(void)
{
    json_t *p = host_pod();
    bool ok = vc__streq(vc__jpath_str(json_object_get(p, "metadata"), "labels", "after"), "refusal");
    json_decref(p);
    return ok;
}

static void t_refused_change(void)
{
    /* the host lowers the deadline on its own; the tenant then lowers it
     * less (allowed in the virtual cluster), which would raise it on the
     * host: refused there (422) */
    CHECK_INT(kpatch(H, HPATH, "{\"spec\":{\"activeDeadlineSeconds\":60}}", SMP), VC_OK);
    pump(500);
    CHECK_INT(kpatch(V, VPATH, "{\"spec\":{\"activeDeadlineSeconds\":300}}", SMP), VC_OK);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(refusal_warned, 20000));
    printf("# refusal as a Warning event after %lld ms\n", (long long)(vc__now_ms() - t0));
    pump(6000);
    int n = 0;
    char *w = warnings_of("web", &n);
    printf("# Warning events on the pod after 6 s more: count %d\n", n);
    vc__free(w);
    CHECK(n >= 1 && n <= 2); /* once per virtual change, not a retry loop */
    json_t *p = host_pod();
    CHECK(p && json_integer_value(json_object_get(json_object_get(p, "spec"), "activeDeadlineSeconds")) == 60);
    CHECK(vc__streq(vc__jpath_str(p, "metadata", "uid"), g_first_uid)); /* never deleted or re-created */
    json_decref(p);
    /* later changes still go through */
    CHECK_INT(kpatch(V, VPATH, "{\"metadata\":{\"labels\":{\"after\":\"refusal\"}}}", SMP), VC_OK);
    CHECK(pump_until(label_after_refusal, 20000));
}

/* ---- setOwner: the host's garbage collector removes what the Service owned ---- */

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

static bool owned_gone(void)
{
    json_t *p = host_pod();
    bool pod_gone = !p || json_object_get(json_object_get(p, "metadata"), "deletionTimestamp");
    json_decref(p);
    return pod_gone && !host_cm_there();
}

static void t_owner_gc(void)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services/%s", HNS, NAME);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL), VC_OK);
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(owned_gone, 60000));
    printf("# host pod and ConfigMap garbage-collected %lld ms after the Service went\n",
           (long long)(vc__now_ms() - t0));
}

/* A change made while no syncer runs reaches the host after a restart (the
 * host pod's recorded digest differs from the virtual pod's). */
static bool offline_label(void)
{
    json_t *p = host_pod();
    bool ok = vc__streq(vc__jpath_str(json_object_get(p, "metadata"), "labels", "offline"), "change");
    json_decref(p);
    return ok;
}

static void t_restart(void)
{
    t_stop();
    CHECK_INT(kpatch(V, VPATH, "{\"metadata\":{\"labels\":{\"offline\":\"change\"}}}", SMP), VC_OK);
    t_start_syncer();
    int64_t t0 = vc__now_ms();
    CHECK(pump_until(offline_label, 30000));
    printf("# a change made while stopped on the host %lld ms after the restart\n", (long long)(vc__now_ms() - t0));
    json_t *p = host_pod();
    CHECK(vc__streq(vc__jpath_str(p, "metadata", "uid"), g_first_uid));
    json_decref(p);
}

int main(void)
{
    itest_log_from_env();
    const char *kc = itest_kubeconfig();
    vc_global_init(NULL);
    vcenv e;
    if (vcenv_up(&e) < 0)
        return 1;
    itest_name(NAME, sizeof NAME, "vu");
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
    RUN(t_created_with_tolerations_and_owner);
    RUN(t_labels_annotations);
    RUN(t_backsync);
    RUN(t_namespace_labels);
    RUN(t_image_and_deadline);
    RUN(t_ephemeral);
    RUN(t_resize);
    RUN(t_scheduling_gates);
    RUN(t_refused_change);
    RUN(t_restart);
    RUN(t_stop);
    RUN(t_owner_gc);
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

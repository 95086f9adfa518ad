/* Storage end to end (issue 13 item 3, F6): the syncer against the host
 * cluster of tests/cluster, whose default StorageClass `standard`
 * (WaitForFirstConsumer) is served by the harness's hostPath dynamic
 * provisioner (tests/cluster/tools/provisioner), and a bare virtual control
 * plane.
 *  1. Defaults (fake PVs): a claim inside with a pod using it binds on the
 *     host through `standard`; inside, the claim shows Bound with the
 *     host's capacity and its volumeName, a fake PV of that name exists
 *     (claimRef to the claim, Bound), the pod runs; deleting pod and claim
 *     removes the host claim and the fake PV; a stale fake PV left while
 *     the syncer was stopped is deleted at the next start (GC).
 *  2. sync.toHost.storageClasses + persistentVolumes: a class inside becomes
 *     vcluster-NAME-x-HNS-x-VC on the host (update follows; a host class of
 *     that name that is not ours gives a Warning event); a claim of it
 *     binds through the host provisioner and the host PV is copied in
 *     (vcluster.loft.sh/host-pv, claimRef to the virtual claim); a PV made
 *     inside becomes a host PV a claim inside binds to; deletes follow; a
 *     host PV of the name a PV inside would get, not ours, gives a Warning
 *     event and is left alone; a class and a PV deleted while the syncer was
 *     stopped go from the host at the next start (GC).
 *  3. sync.fromHost.storageClasses: host classes appear inside (the default
 *     annotation too), those the selector leaves out do not, they follow
 *     host updates and deletes, and a class inside with no host twin is
 *     deleted. */
#include <poll.h>
#include <stdarg.h>

#include "vcenv.h"
#include "translate/translate.h"
#include "vcluster/syncer.h"

static vc_kube *H, *V;
static vc_syncer *S;
static char NAME[32], HNS[64];

static void pump(int ms)
{
    int64_t end = vc__now_ms() + ms;
    while (vc__now_ms() < end) {
        int64_t t = 0;
        vc_syncer_get_timeout(S, &t);
        struct pollfd p = { vc_syncer_get_fd(S), POLLIN, 0 };
        poll(&p, 1, t < 0 || t > 50 ? 50 : (int)t);
        int32_t st;
        vc_syncer_step(S, 0, &st);
        vc_sync_event *ev;
        while (vc_syncer_next_event(&ev, S) == VC_OK) {
            if (ev->type == VC_SYNC_ERROR && ev->error->code != VC_ECONFLICT)
                fprintf(stderr, "  sync error: %s\n", ev->error->message);
            vc_sync_event_free(ev);
        }
    }
}

static bool deleting(const json_t *o)
{
    return json_object_get(json_object_get(o, "metadata"), "deletionTimestamp") != NULL;
}

/* Pump until expr holds (bounded); fails the check with what it waited for. */
#define WAIT_UNTIL(expr, ms, what)                                                                      \
    do {                                                                                                \
        int64_t _t0 = vc__now_ms(), _end = _t0 + (ms);                                                  \
        bool _ok;                                                                                       \
        while (!(_ok = (expr)) && vc__now_ms() < _end)                                                  \
            pump(100);                                                                                  \
        if (!_ok)                                                                                       \
            fprintf(stderr, "  timed out after %d ms: %s\n", (int)(ms), what);                          \
        else                                                                                            \
            printf("# %s: %lld ms\n", what, (long long)(vc__now_ms() - _t0));                           \
        CHECK(_ok);                                                                                     \
    } while (0)

VC__PRINTF(2, 3) static json_t *get(vc_kube *k, const char *fmt, ...)
{
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    return kget(k, path);
}

VC__PRINTF(2, 3) static bool exists(vc_kube *k, const char *fmt, ...)
{
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    json_t *o = kget(k, path);
    bool r = o && !deleting(o);
    json_decref(o);
    return r;
}

static int req(vc_kube *k, const char *method, const char *path, const char *body)
{
    int rc = vc_kube_request(k, NULL, NULL, method, path, body,
                             vc__streq(method, "PATCH") ? "application/merge-patch+json" : NULL);
    if (rc < 0)
        fprintf(stderr, "  %s %s: %s\n", method, path, vc_error_last()->message);
    return rc;
}

/* o.a.b, or o.a when b is NULL */
static const char *js(const json_t *o, const char *a, const char *b)
{
    return b ? vc__jpath_str(o, a, b) : vc__jstr(o, a);
}


static void start_syncer(const char *config)
{
    vc_syncer_options o;
    CHECK_INT(vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.host_namespace = HNS;
    o.config_yaml = config;
    o.flags = VC_SYNCER_NO_COREDNS;
    CHECK_INT(vc_syncer_new(&S, H, V, &o), VC_OK);
}

static void stop_syncer(void)
{
    if (!S)
        return;
    vc_syncer_stop(S);
    int32_t st = VC_STEP_IDLE;
    int64_t end = vc__now_ms() + 10000;
    while (st != VC_STEP_STOPPED && vc__now_ms() < end)
        vc_syncer_step(S, 100, &st);
    vc_syncer_free(S);
    S = NULL;
}

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
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"vc-workload-%s\"}}", NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"demo\"}}"),
              VC_OK);
    /* a virtual kube-dns Service, so pods are not held for DNS */
    CHECK_INT(kcreate(V, "/api/v1/namespaces/kube-system/services",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"kube-dns\"},"
                      "\"spec\":{\"ports\":[{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}}"), VC_OK);
}

/* ---- 1. defaults: fake PVs ---- */

static char HPVC[128];  /* the host claim of demo/data */
static char VOL[128];   /* its volume */

static bool host_claim_bound(void)
{
    json_t *c = get(H, "/api/v1/namespaces/%s/persistentvolumeclaims/%s", HNS, HPVC);
    bool ok = c && vc__streq(js(c, "status", "phase"), "Bound") && js(c, "spec", "volumeName");
    if (ok)
        snprintf(VOL, sizeof VOL, "%s", js(c, "spec", "volumeName"));
    json_decref(c);
    return ok;
}

static bool virtual_claim_bound(const char *name, const char *vol)
{
    json_t *c = get(V, "/api/v1/namespaces/demo/persistentvolumeclaims/%s", name);
    bool ok = c && vc__streq(js(c, "status", "phase"), "Bound") && vc__streq(js(c, "spec", "volumeName"), vol);
    json_decref(c);
    return ok;
}

static bool pod_running(const char *name)
{
    json_t *p = get(V, "/api/v1/namespaces/demo/pods/%s", name);
    bool ok = p && vc__streq(js(p, "status", "phase"), "Running");
    json_decref(p);
    return ok;
}

static void t_fake_pv(void)
{
    start_syncer(NULL);
    snprintf(HPVC, sizeof HPVC, "data-x-demo-x-%s", NAME);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/persistentvolumeclaims",
                      "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"data\"},"
                      "\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}"),
              VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/pods",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"user\"},"
                      "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"volumeMounts\":[{\"name\":\"d\","
                      "\"mountPath\":\"/data\"}]}],\"volumes\":[{\"name\":\"d\",\"persistentVolumeClaim\":{\"claimName\":\"data\"}}]}}"),
              VC_OK);
    WAIT_UNTIL(host_claim_bound(), 90000, "host claim Bound through the host's default class");
    json_t *hc = get(H, "/api/v1/namespaces/%s/persistentvolumeclaims/%s", HNS, HPVC);
    CHECK_STR(js(hc, "spec", "storageClassName"), "standard");
    json_decref(hc);
    json_t *hpv = get(H, "/api/v1/persistentvolumes/%s", VOL);
    CHECK_STR(vc__jpath_str(json_object_get(hpv, "metadata"), "annotations", "pv.kubernetes.io/provisioned-by"),
              "libvcluster.dev/hostpath");
    CHECK(js(hpv, "spec", "hostPath") == NULL); /* (an object, not a string) */
    CHECK(vc__jobj(vc__jobj(hpv, "spec"), "hostPath") != NULL);
    json_decref(hpv);
    WAIT_UNTIL(virtual_claim_bound("data", VOL), 60000, "virtual claim Bound with the host's volume name");
    json_t *vc = get(V, "/api/v1/namespaces/demo/persistentvolumeclaims/data");
    CHECK_STR(vc__jpath_str(json_object_get(vc, "status"), "capacity", "storage"), "1Gi");
    json_decref(vc);
    json_t *pv = get(V, "/api/v1/persistentvolumes/%s", VOL);
    CHECK(pv != NULL);
    CHECK_STR(vc__jpath_str(json_object_get(pv, "metadata"), "labels", "vcluster.loft.sh/fake-pv"), "true");
    CHECK_STR(vc__jpath_str(vc__jobj(pv, "spec"), "claimRef", "name"), "data");
    CHECK_STR(vc__jpath_str(vc__jobj(pv, "spec"), "claimRef", "namespace"), "demo");
    CHECK_STR(vc__jpath_str(vc__jobj(pv, "spec"), "capacity", "storage"), "1Gi");
    json_decref(pv);
    WAIT_UNTIL(({
                   json_t *p = get(V, "/api/v1/persistentvolumes/%s", VOL);
                   bool b = vc__streq(js(p, "status", "phase"), "Bound");
                   json_decref(p);
                   b;
               }),
               30000, "fake PV Bound");
    WAIT_UNTIL(pod_running("user"), 60000, "the pod using the claim Running");

    /* gone with the claim */
    CHECK_INT(req(V, "DELETE", "/api/v1/namespaces/demo/pods/user", "{\"gracePeriodSeconds\":0}"), VC_OK);
    CHECK_INT(req(V, "DELETE", "/api/v1/namespaces/demo/persistentvolumeclaims/data", NULL), VC_OK);
    WAIT_UNTIL(!exists(H, "/api/v1/namespaces/%s/persistentvolumeclaims/%s", HNS, HPVC), 60000, "host claim deleted");
    WAIT_UNTIL(!exists(V, "/api/v1/persistentvolumes/%s", VOL), 60000, "fake PV deleted with its claim");
    WAIT_UNTIL(!exists(H, "/api/v1/persistentvolumes/%s", VOL), 60000, "host PV reclaimed by the provisioner");
}

static void t_fake_pv_gc(void)
{
    stop_syncer();
    /* left behind while no syncer runs: a fake PV nobody claims */
    CHECK_INT(kcreate(V, "/api/v1/persistentvolumes",
                      "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":\"stale-fake\","
                      "\"labels\":{\"vcluster.loft.sh/fake-pv\":\"true\"}},\"spec\":{\"flexVolume\":{\"driver\":\"fake\"},"
                      "\"capacity\":{\"storage\":\"1Gi\"},\"accessModes\":[\"ReadWriteOnce\"]}}"), VC_OK);
    /* and a PV that is not fake: left alone */
    CHECK_INT(kcreate(V, "/api/v1/persistentvolumes",
                      "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":\"tenant-pv\"},"
                      "\"spec\":{\"hostPath\":{\"path\":\"/tmp/x\"},\"capacity\":{\"storage\":\"1Gi\"},\"accessModes\":[\"ReadWriteOnce\"]}}"),
              VC_OK);
    start_syncer(NULL);
    WAIT_UNTIL(!exists(V, "/api/v1/persistentvolumes/stale-fake"), 30000, "stale fake PV deleted at start (GC)");
    CHECK(exists(V, "/api/v1/persistentvolumes/tenant-pv"));
    req(V, "DELETE", "/api/v1/persistentvolumes/tenant-pv", NULL);
    stop_syncer();
}

/* ---- 2. toHost storage classes and persistent volumes ---- */

static char HSC[256]; /* host name of class "fast" */

static const char TOHOST_CONFIG[] = "sync:\n"
                                    "  toHost:\n"
                                    "    storageClasses:\n"
                                    "      enabled: true\n"
                                    "    persistentVolumes:\n"
                                    "      enabled: true\n";

static void t_to_host_classes(void)
{
    start_syncer(TOHOST_CONFIG);
    char hn[VC__NAME_MAX];
    const char *parts[] = { "vcluster", "fast", "x", HNS, "x", NAME };
    vc__safe_concat(hn, sizeof hn, parts, 6);
    snprintf(HSC, sizeof HSC, "%s", hn);
    CHECK_INT(kcreate(V, "/apis/storage.k8s.io/v1/storageclasses",
                      "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"fast\","
                      "\"labels\":{\"tier\":\"gold\"}},\"provisioner\":\"libvcluster.dev/hostpath\",\"reclaimPolicy\":\"Delete\","
                      "\"volumeBindingMode\":\"Immediate\"}"), VC_OK);
    WAIT_UNTIL(exists(H, "/apis/storage.k8s.io/v1/storageclasses/%s", HSC), 30000, "virtual class on the host");
    json_t *sc = get(H, "/apis/storage.k8s.io/v1/storageclasses/%s", HSC);
    CHECK_STR(js(sc, "provisioner", NULL), "libvcluster.dev/hostpath");
    CHECK_STR(js(sc, "volumeBindingMode", NULL), "Immediate");
    CHECK_STR(vc__jpath_str(json_object_get(sc, "metadata"), "annotations", "vcluster.loft.sh/object-name"), "fast");
    CHECK_STR(vc__jpath_str(json_object_get(sc, "metadata"), "labels", "tier"), "gold");
    json_decref(sc);
    /* update */
    CHECK_INT(req(V, "PATCH", "/apis/storage.k8s.io/v1/storageclasses/fast", "{\"allowVolumeExpansion\":true}"), VC_OK);
    WAIT_UNTIL(({
                   json_t *o = get(H, "/apis/storage.k8s.io/v1/storageclasses/%s", HSC);
                   bool b = json_is_true(json_object_get(o, "allowVolumeExpansion"));
                   json_decref(o);
                   b;
               }),
               30000, "class update on the host");
    /* a host class of a name the syncer would use, not ours: a Warning event */
    char body[1024], hn2[VC__NAME_MAX];
    const char *p2[] = { "vcluster", "taken", "x", HNS, "x", NAME };
    vc__safe_concat(hn2, sizeof hn2, p2, 6);
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"%s\"},"
             "\"provisioner\":\"example.com/other\"}", hn2);
    CHECK_INT(kcreate(H, "/apis/storage.k8s.io/v1/storageclasses", body), VC_OK);
    CHECK_INT(kcreate(V, "/apis/storage.k8s.io/v1/storageclasses",
                      "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"taken\"},"
                      "\"provisioner\":\"libvcluster.dev/hostpath\"}"), VC_OK);
    WAIT_UNTIL(({
                   json_t *l = get(V, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%%3Dtaken");
                   bool b = false;
                   size_t i;
                   json_t *e;
                   json_array_foreach(json_object_get(l, "items"), i, e) if (vc__streq(vc__jstr(e, "type"), "Warning") &&
                                                                             vc__streq(js(e, "involvedObject", "kind"), "StorageClass")) b = true;
                   json_decref(l);
                   b;
               }),
               30000, "Warning event on the class whose host name is taken");
    json_t *other = get(H, "/apis/storage.k8s.io/v1/storageclasses/%s", hn2);
    CHECK_STR(js(other, "provisioner", NULL), "example.com/other"); /* left alone */
    json_decref(other);
    char path[512];
    snprintf(path, sizeof path, "/apis/storage.k8s.io/v1/storageclasses/%s", hn2);
    req(H, "DELETE", path, NULL);
    req(V, "DELETE", "/apis/storage.k8s.io/v1/storageclasses/taken", NULL);
}

static char DYNVOL[128];

static bool dyn_claim_host_bound(void)
{
    char hp[160];
    snprintf(hp, sizeof hp, "fastdata-x-demo-x-%s", NAME);
    json_t *c = get(H, "/api/v1/namespaces/%s/persistentvolumeclaims/%s", HNS, hp);
    bool ok = c && vc__streq(js(c, "status", "phase"), "Bound") && js(c, "spec", "volumeName");
    if (ok)
        snprintf(DYNVOL, sizeof DYNVOL, "%s", js(c, "spec", "volumeName"));
    json_decref(c);
    return ok;
}

static void t_to_host_dynamic_pv(void)
{
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/persistentvolumeclaims",
                      "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"fastdata\"},"
                      "\"spec\":{\"storageClassName\":\"fast\",\"accessModes\":[\"ReadWriteOnce\"],"
                      "\"resources\":{\"requests\":{\"storage\":\"2Gi\"}}}}"), VC_OK);
    WAIT_UNTIL(dyn_claim_host_bound(), 60000, "claim of the synced class Bound on the host");
    char hp[160];
    snprintf(hp, sizeof hp, "fastdata-x-demo-x-%s", NAME);
    json_t *c = get(H, "/api/v1/namespaces/%s/persistentvolumeclaims/%s", HNS, hp);
    CHECK_STR(js(c, "spec", "storageClassName"), HSC);
    json_decref(c);
    WAIT_UNTIL(virtual_claim_bound("fastdata", DYNVOL), 60000, "virtual claim Bound to the copied host PV");
    json_t *pv = get(V, "/api/v1/persistentvolumes/%s", DYNVOL);
    CHECK(pv != NULL);
    CHECK_STR(vc__jpath_str(json_object_get(pv, "metadata"), "annotations", "vcluster.loft.sh/host-pv"), DYNVOL);
    CHECK_STR(vc__jpath_str(vc__jobj(pv, "spec"), "claimRef", "name"), "fastdata");
    CHECK_STR(vc__jpath_str(vc__jobj(pv, "spec"), "claimRef", "namespace"), "demo");
    CHECK_STR(js(pv, "spec", "storageClassName"), "fast");
    CHECK_STR(vc__jpath_str(vc__jobj(pv, "spec"), "capacity", "storage"), "2Gi");
    json_decref(pv);
    json_t *vcl = get(V, "/api/v1/namespaces/demo/persistentvolumeclaims/fastdata");
    CHECK_STR(vc__jpath_str(json_object_get(vcl, "status"), "capacity", "storage"), "2Gi");
    json_decref(vcl);
    WAIT_UNTIL(({
                   json_t *p = get(V, "/api/v1/persistentvolumes/%s", DYNVOL);
                   bool b = vc__streq(js(p, "status", "phase"), "Bound");
                   json_decref(p);
                   b;
               }),
               30000, "copied PV shows the host PV's status");
    /* the claim goes: the host PV (reclaim Delete) goes, and its copy */
    CHECK_INT(req(V, "DELETE", "/api/v1/namespaces/demo/persistentvolumeclaims/fastdata", NULL), VC_OK);
    WAIT_UNTIL(!exists(H, "/api/v1/persistentvolumes/%s", DYNVOL), 60000, "host PV reclaimed");
    WAIT_UNTIL(!exists(V, "/api/v1/persistentvolumes/%s", DYNVOL), 60000, "its virtual copy deleted");
}

static char HMPV[256];

static void t_to_host_static_pv(void)
{
    char hn[VC__NAME_MAX];
    const char *parts[] = { "vcluster", "manual-pv", "x", HNS, "x", NAME };
    vc__safe_concat(hn, sizeof hn, parts, 6);
    snprintf(HMPV, sizeof HMPV, "%s", hn);
    CHECK_INT(kcreate(V, "/api/v1/persistentvolumes",
                      "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":\"manual-pv\"},"
                      "\"spec\":{\"hostPath\":{\"path\":\"/tmp/vc-manual-pv\",\"type\":\"DirectoryOrCreate\"},"
                      "\"capacity\":{\"storage\":\"1Gi\"},\"accessModes\":[\"ReadWriteOnce\"],\"storageClassName\":\"fast\","
                      "\"persistentVolumeReclaimPolicy\":\"Retain\"}}"), VC_OK);
    WAIT_UNTIL(exists(H, "/api/v1/persistentvolumes/%s", HMPV), 30000, "PV made inside exists on the host");
    json_t *h = get(H, "/api/v1/persistentvolumes/%s", HMPV);
    CHECK_STR(js(h, "spec", "storageClassName"), HSC);
    CHECK_STR(vc__jpath_str(json_object_get(h, "metadata"), "annotations", "vcluster.loft.sh/object-name"), "manual-pv");
    json_decref(h);
    /* update: a label inside reaches the host */
    CHECK_INT(req(V, "PATCH", "/api/v1/persistentvolumes/manual-pv", "{\"metadata\":{\"labels\":{\"disk\":\"one\"}}}"),
              VC_OK);
    WAIT_UNTIL(({
                   json_t *o = get(H, "/api/v1/persistentvolumes/%s", HMPV);
                   bool b = vc__streq(vc__jpath_str(json_object_get(o, "metadata"), "labels", "disk"), "one");
                   json_decref(o);
                   b;
               }),
               30000, "PV label on the host");
    /* a claim inside names it */
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/persistentvolumeclaims",
                      "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"manualclaim\"},"
                      "\"spec\":{\"storageClassName\":\"fast\",\"volumeName\":\"manual-pv\",\"accessModes\":[\"ReadWriteOnce\"],"
                      "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}"), VC_OK);
    char hp[160];
    snprintf(hp, sizeof hp, "manualclaim-x-demo-x-%s", NAME);
    WAIT_UNTIL(({
                   json_t *c = get(H, "/api/v1/namespaces/%s/persistentvolumeclaims/%s", HNS, hp);
                   bool b = vc__streq(js(c, "status", "phase"), "Bound") && vc__streq(js(c, "spec", "volumeName"), HMPV);
                   json_decref(c);
                   b;
               }),
               60000, "host claim Bound to the host twin of the PV made inside");
    WAIT_UNTIL(virtual_claim_bound("manualclaim", "manual-pv"), 60000, "virtual claim Bound to manual-pv");
    WAIT_UNTIL(({
                   json_t *p = get(V, "/api/v1/persistentvolumes/manual-pv");
                   bool b = vc__streq(js(p, "status", "phase"), "Bound") &&
                            vc__streq(vc__jpath_str(vc__jobj(p, "spec"), "claimRef", "name"), "manualclaim");
                   json_decref(p);
                   b;
               }),
               30000, "virtual PV Bound to the claim");
    /* deletes: the claim, then the volume */
    CHECK_INT(req(V, "DELETE", "/api/v1/namespaces/demo/persistentvolumeclaims/manualclaim", NULL), VC_OK);
    WAIT_UNTIL(!exists(V, "/api/v1/namespaces/demo/persistentvolumeclaims/manualclaim"), 60000, "claim gone inside");
    CHECK_INT(req(V, "DELETE", "/api/v1/persistentvolumes/manual-pv", NULL), VC_OK);
    WAIT_UNTIL(!exists(H, "/api/v1/persistentvolumes/%s", HMPV), 60000, "host PV deleted with the virtual one");
    WAIT_UNTIL(!exists(V, "/api/v1/persistentvolumes/manual-pv"), 60000, "virtual PV gone");
}

/* a PV made inside whose host name a host PV not ours holds: Warning event,
 * the host PV left alone */
static void t_to_host_pv_taken(void)
{
    char hn[VC__NAME_MAX], body[1024];
    const char *parts[] = { "vcluster", "taken-pv", "x", HNS, "x", NAME };
    vc__safe_concat(hn, sizeof hn, parts, 6);
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"hostPath\":{\"path\":\"/tmp/not-ours\"},\"capacity\":{\"storage\":\"3Gi\"},"
             "\"accessModes\":[\"ReadWriteOnce\"]}}", hn);
    CHECK_INT(kcreate(H, "/api/v1/persistentvolumes", body), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/persistentvolumes",
                      "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":\"taken-pv\"},"
                      "\"spec\":{\"hostPath\":{\"path\":\"/tmp/x\"},\"capacity\":{\"storage\":\"1Gi\"},"
                      "\"accessModes\":[\"ReadWriteOnce\"]}}"), VC_OK);
    WAIT_UNTIL(({
                   json_t *l = get(V, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%%3Dtaken-pv");
                   bool b = false;
                   size_t i;
                   json_t *e;
                   json_array_foreach(json_object_get(l, "items"), i, e) if (vc__streq(vc__jstr(e, "type"), "Warning") &&
                                                                             vc__streq(js(e, "involvedObject", "kind"), "PersistentVolume")) b = true;
                   json_decref(l);
                   b;
               }),
               30000, "Warning event on the PV whose host name is taken");
    json_t *h = get(H, "/api/v1/persistentvolumes/%s", hn);
    CHECK_STR(vc__jpath_str(vc__jobj(h, "spec"), "capacity", "storage"), "3Gi"); /* left alone */
    json_decref(h);
    req(V, "DELETE", "/api/v1/persistentvolumes/taken-pv", NULL);
    char path[512];
    snprintf(path, sizeof path, "/api/v1/persistentvolumes/%s", hn);
    req(H, "DELETE", path, NULL);
}

static void t_to_host_gc(void)
{
    CHECK_INT(kcreate(V, "/api/v1/persistentvolumes",
                      "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":\"gc-pv\"},"
                      "\"spec\":{\"hostPath\":{\"path\":\"/tmp/x\"},\"capacity\":{\"storage\":\"1Gi\"},"
                      "\"accessModes\":[\"ReadWriteOnce\"]}}"), VC_OK);
    char hn[VC__NAME_MAX];
    const char *parts[] = { "vcluster", "gc-pv", "x", HNS, "x", NAME };
    vc__safe_concat(hn, sizeof hn, parts, 6);
    WAIT_UNTIL(exists(H, "/api/v1/persistentvolumes/%s", hn), 30000, "PV gc-pv on the host");
    stop_syncer();
    CHECK_INT(req(V, "DELETE", "/apis/storage.k8s.io/v1/storageclasses/fast", NULL), VC_OK);
    CHECK_INT(req(V, "DELETE", "/api/v1/persistentvolumes/gc-pv", NULL), VC_OK);
    CHECK(exists(H, "/apis/storage.k8s.io/v1/storageclasses/%s", HSC)); /* nobody ran */
    CHECK(exists(H, "/api/v1/persistentvolumes/%s", hn));
    start_syncer(TOHOST_CONFIG);
    WAIT_UNTIL(!exists(H, "/apis/storage.k8s.io/v1/storageclasses/%s", HSC), 30000,
               "host class of a class deleted while stopped removed at start (GC)");
    WAIT_UNTIL(!exists(H, "/api/v1/persistentvolumes/%s", hn), 30000,
               "host PV of a PV deleted while stopped removed at start (GC)");
    stop_syncer();
}

/* ---- 3. fromHost storage classes ---- */

static bool virtual_sc(const char *name, const char *label_value)
{
    json_t *o = get(V, "/apis/storage.k8s.io/v1/storageclasses/%s", name);
    bool ok = o && !deleting(o) &&
              (!label_value || vc__streq(vc__jpath_str(json_object_get(o, "metadata"), "labels", "team"), label_value));
    json_decref(o);
    return ok;
}

static void t_from_host_classes(void)
{
    CHECK_INT(kcreate(V, "/apis/storage.k8s.io/v1/storageclasses",
                      "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"tenant-own\"},"
                      "\"provisioner\":\"example.com/x\"}"), VC_OK);
    /* a host class the selector leaves out */
    char hidden[64], hbody[512];
    snprintf(hidden, sizeof hidden, "hidden-%s", NAME);
    snprintf(hbody, sizeof hbody,
             "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"%s\","
             "\"labels\":{\"tier\":\"hidden\"}},\"provisioner\":\"libvcluster.dev/hostpath\"}", hidden);
    CHECK_INT(kcreate(H, "/apis/storage.k8s.io/v1/storageclasses", hbody), VC_OK);
    start_syncer("sync:\n  fromHost:\n    storageClasses:\n      enabled: true\n      selector:\n"
                 "        matchExpressions: [{key: tier, operator: NotIn, values: [hidden]}]\n");
    WAIT_UNTIL(virtual_sc("standard", NULL), 30000, "host class `standard` inside");
    json_t *sc = get(V, "/apis/storage.k8s.io/v1/storageclasses/standard");
    CHECK_STR(js(sc, "provisioner", NULL), "libvcluster.dev/hostpath");
    CHECK_STR(js(sc, "volumeBindingMode", NULL), "WaitForFirstConsumer");
    CHECK_STR(vc__jpath_str(json_object_get(sc, "metadata"), "annotations", "storageclass.kubernetes.io/is-default-class"),
              "true");
    json_decref(sc);
    WAIT_UNTIL(!virtual_sc("tenant-own", NULL), 30000, "class inside with no host twin deleted");
    CHECK(!virtual_sc(hidden, NULL)); /* (listed with `standard`: the selector kept it out) */
    /* a claim of a class the selector leaves out is not synced (a Warning
     * event says why); one of a selected class is */
    char cbody[512];
    snprintf(cbody, sizeof cbody,
             "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"hiddenclaim\"},"
             "\"spec\":{\"storageClassName\":\"%s\",\"accessModes\":[\"ReadWriteOnce\"],"
             "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}", hidden);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/persistentvolumeclaims", cbody), VC_OK);
    CHECK_INT(kcreate(V, "/api/v1/namespaces/demo/persistentvolumeclaims",
                      "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"stdclaim\"},"
                      "\"spec\":{\"storageClassName\":\"standard\",\"accessModes\":[\"ReadWriteOnce\"],"
                      "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}"), VC_OK);
    WAIT_UNTIL(exists(H, "/api/v1/namespaces/%s/persistentvolumeclaims/stdclaim-x-demo-x-%s", HNS, NAME), 30000,
               "claim of a selected class synced");
    WAIT_UNTIL(({
                   json_t *l = get(V, "/api/v1/namespaces/demo/events?fieldSelector=involvedObject.name%%3Dhiddenclaim");
                   bool b = false;
                   size_t i;
                   json_t *e;
                   json_array_foreach(json_object_get(l, "items"), i, e) if (vc__streq(vc__jstr(e, "type"), "Warning") &&
                                                                             strstr(vc__jstr(e, "message") ? vc__jstr(e, "message") : "",
                                                                                    "sync.fromHost.storageClasses.selector")) b = true;
                   json_decref(l);
                   b;
               }),
               30000, "Warning event on the claim of a class the selector leaves out");
    CHECK(!exists(H, "/api/v1/namespaces/%s/persistentvolumeclaims/hiddenclaim-x-demo-x-%s", HNS, NAME));
    req(V, "DELETE", "/api/v1/namespaces/demo/persistentvolumeclaims/hiddenclaim", NULL);
    req(V, "DELETE", "/api/v1/namespaces/demo/persistentvolumeclaims/stdclaim", NULL);
    char hpath[256];
    snprintf(hpath, sizeof hpath, "/apis/storage.k8s.io/v1/storageclasses/%s", hidden);
    req(H, "DELETE", hpath, NULL);
    /* host create, update, delete follow */
    char name[64], path[256], body[512];
    snprintf(name, sizeof name, "fh-%s", NAME);
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"%s\"},"
             "\"provisioner\":\"libvcluster.dev/hostpath\"}", name);
    CHECK_INT(kcreate(H, "/apis/storage.k8s.io/v1/storageclasses", body), VC_OK);
    WAIT_UNTIL(virtual_sc(name, NULL), 30000, "new host class inside");
    snprintf(path, sizeof path, "/apis/storage.k8s.io/v1/storageclasses/%s", name);
    CHECK_INT(req(H, "PATCH", path, "{\"metadata\":{\"labels\":{\"team\":\"a\"}}}"), VC_OK);
    WAIT_UNTIL(virtual_sc(name, "a"), 30000, "host class label inside");
    CHECK_INT(req(H, "DELETE", path, NULL), VC_OK);
    WAIT_UNTIL(!virtual_sc(name, NULL), 30000, "host class deleted: gone inside");
    stop_syncer();
}

static void t_cleanup(void)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", HNS);
    vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    vc_global_init(NULL);
    vcenv e;
    if (vcenv_up(&e) < 0)
        return 1;
    itest_name(NAME, sizeof NAME, "vs");
    snprintf(HNS, sizeof HNS, "vcluster-%s", NAME);
    H = kube_for(kc);
    V = kube_for(e.kubeconfig);
    if (!H || !V) {
        vcenv_down(&e);
        return 1;
    }
    RUN(t_setup);
    RUN(t_fake_pv);
    RUN(t_fake_pv_gc);
    RUN(t_to_host_classes);
    RUN(t_to_host_dynamic_pv);
    RUN(t_to_host_static_pv);
    RUN(t_to_host_pv_taken);
    RUN(t_to_host_gc);
    RUN(t_from_host_classes);
    stop_syncer();
    RUN(t_cleanup);
    vc_kube_free(H);
    vc_kube_free(V);
    vcenv_down(&e);
    vc_global_shutdown();
    TEST_DONE();
}

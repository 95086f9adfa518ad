/* sync.fromHost.storageClasses.selector (src/sync/storage.c): a
 * LabelSelector becomes the host informer's labelSelector; a malformed one
 * is refused when the syncer is made, naming the key. No request is made. */
#include "config/config.h"
#include "sync/sync.h"
#include "test.h"

static void sel(const char *json, int want_rc, const char *want)
{
    json_t *j = json ? json_loads(json, 0, NULL) : NULL;
    char *out = NULL;
    int rc = vc__config_label_selector(j, "k", &out);
    CHECK_INT(rc, want_rc);
    if (want)
        CHECK_STR(out, want);
    else
        CHECK(out == NULL);
    if (rc < 0)
        CHECK_CONTAINS(vc_error_last()->message, "k");
    vc__free(out);
    json_decref(j);
}

static void t_selector(void)
{
    sel(NULL, VC_OK, NULL);
    sel("{}", VC_OK, NULL);
    sel("{\"matchLabels\":{\"tier\":\"gold\"}}", VC_OK, "tier=gold");
    sel("{\"matchLabels\":{\"a\":\"1\"},\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"In\",\"values\":[\"x\",\"y\"]},"
        "{\"key\":\"c\",\"operator\":\"NotIn\",\"values\":[\"z\"]},{\"key\":\"d\",\"operator\":\"Exists\"},"
        "{\"key\":\"e\",\"operator\":\"DoesNotExist\"}]}",
        VC_OK, "a=1,b in (x,y),c notin (z),d,!e");
    sel("[]", VC_EINVAL, NULL);
    sel("{\"labels\":{}}", VC_EINVAL, NULL);
    sel("{\"matchLabels\":{\"a\":1}}", VC_EINVAL, NULL);
    sel("{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}", VC_EINVAL, NULL);
    sel("{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"In\"}]}", VC_EINVAL, NULL);
    sel("{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"Exists\",\"values\":[\"1\"]}]}", VC_EINVAL, NULL);
}

static vc_kube *kube(void)
{
    static const char kc[] = "apiVersion: v1\nkind: Config\n"
                             "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                             "users: [{name: u, user: {token: t}}]\n"
                             "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n";
    vc_kube_options ko;
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig_data = kc;
    vc_kube *k = NULL;
    return vc_kube_new(&k, &ko) == VC_OK ? k : NULL;
}

static int syncer_with(const char *yaml, vc_syncer **out)
{
    vc_kube *k = kube();
    vc_syncer_options o;
    vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION);
    o.name = "st";
    o.config_yaml = yaml;
    int rc = vc_syncer_new(out, k, k, &o);
    vc_kube_free(k);
    return rc;
}

/* which storage controllers run, by config */
static void t_modes(void)
{
    vc_syncer *s = NULL;
    CHECK_INT(syncer_with(NULL, &s), VC_OK);
    vc__ctl *pv = s ? vc__sync_ctl_of(s, VC__CTL_PVS) : NULL, *sc = s ? vc__sync_ctl_of(s, VC__CTL_STORAGECLASSES) : NULL;
    /* fake PVs: virtual PVs only; no class sync: no informer */
    CHECK(pv && pv->virt && !pv->host);
    CHECK(sc && !sc->virt && !sc->host);
    vc_syncer_free(s);
    s = NULL;
    CHECK_INT(syncer_with("sync:\n  toHost:\n    persistentVolumes: {enabled: true}\n    storageClasses: {enabled: true}\n", &s),
              VC_OK);
    pv = s ? vc__sync_ctl_of(s, VC__CTL_PVS) : NULL;
    sc = s ? vc__sync_ctl_of(s, VC__CTL_STORAGECLASSES) : NULL;
    CHECK(pv && pv->virt && pv->host && !pv->host->label_selector);
    CHECK(sc && sc->virt && sc->host);
    CHECK_CONTAINS(sc && sc->host ? sc->host->label_selector : NULL, "vcluster.loft.sh/managed-by=");
    vc_syncer_free(s);
    s = NULL;
    CHECK_INT(syncer_with("sync:\n  fromHost:\n    storageClasses:\n      enabled: true\n      selector:\n"
                          "        matchLabels: {tier: gold}\n", &s),
              VC_OK);
    sc = s ? vc__sync_ctl_of(s, VC__CTL_STORAGECLASSES) : NULL;
    CHECK(sc && sc->host);
    CHECK_STR(sc && sc->host ? sc->host->label_selector : NULL, "tier=gold");
    vc_syncer_free(s);
    s = NULL;
    /* "auto": on with the virtual scheduler (upstream) */
    CHECK_INT(syncer_with("controlPlane:\n  advanced:\n    virtualScheduler:\n      enabled: true\n"
                          "sync:\n  fromHost:\n    nodes:\n      enabled: true\n", &s),
              VC_OK);
    sc = s ? vc__sync_ctl_of(s, VC__CTL_STORAGECLASSES) : NULL;
    CHECK(sc && sc->virt && sc->host && !sc->host->label_selector);
    vc_syncer_free(s);
    s = NULL;
    CHECK_INT(syncer_with("sync:\n  fromHost:\n    storageClasses:\n      enabled: true\n      selector:\n"
                          "        matchExpressions: [{key: a, operator: Bad}]\n", &s),
              VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "sync.fromHost.storageClasses.selector");
    CHECK_CONTAINS(vc_error_last()->message, "operator");
    CHECK(s == NULL);
}

int main(void)
{
    RUN(t_selector);
    RUN(t_modes);
    TEST_DONE();
}

/* Custom resources (issue 13, item 7), against two real control planes (the
 * host and a bare virtual one), driven in-process:
 *  - sync.toHost.customResources: the host's CustomResourceDefinition
 *    appears in the virtual cluster; a virtual Widget is created on the host
 *    under its translated name, follows spec and label updates, gets the
 *    host status back, and goes when the virtual one goes;
 *  - sync.fromHost.customResources: a cluster-scoped host Gadget and a
 *    namespaced host Gizmo (mappings.byName from host-ns, all names, to virtual namespace fromhost)
 *    appear inside as copies, follow spec and status changes, and go with
 *    the host original; a tenant Gadget of the same name is left alone;
 *  - restart and GC: what was deleted while the syncer was down (a virtual
 *    Widget, a host Gadget) has its copy removed by the next syncer. */
#include <poll.h>

#include "vcenv.h"
#include "translate/translate.h"
#include "vcluster/syncer.h"

static vc_kube *H, *V;
static vc_syncer *S;
static vc_translator *T;
static char NAME[32], HNS[64], SRCNS[64], CONFIG[1024];
static const char *g_config = CONFIG;
static char g_crd_error[512]; /* the last error event about a CustomResourceDefinition */

#define CRDS "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

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
            if (ev->type == VC_SYNC_ERROR && vc__streq(ev->kind, "CustomResourceDefinition"))
                snprintf(g_crd_error, sizeof g_crd_error, "%s: %s", ev->virtual_name, ev->error->message);
            if (ev->type == VC_SYNC_ERROR)
                fprintf(stderr, "# sync error: %s %s/%s: %s\n", ev->kind, ev->virtual_namespace, ev->virtual_name,
                        ev->error->message);
            vc_sync_event_free(ev);
        }
    }
}

static bool pump_until(bool (*cond)(void), int timeout_ms)
{
    int64_t end = vc__now_ms() + timeout_ms;
    while (vc__now_ms() < end) {
        if (cond())
            return true;
        pump(100);
    }
    return cond();
}

static int64_t g_t0;
static int64_t elapsed(void)
{
    return vc__now_ms() - g_t0;
}

/* ---- objects ---- */

static void crd(vc_kube *k, const char *plural, const char *kind, const char *scope)
{
    char body[2048];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
             "\"metadata\":{\"name\":\"%s.example.com\"},\"spec\":{\"group\":\"example.com\",\"scope\":\"%s\","
             "\"names\":{\"plural\":\"%s\",\"singular\":\"%.*s\",\"kind\":\"%s\"},"
             "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}},"
             "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}]}}",
             plural, scope, plural, (int)strlen(plural) - 1, plural, kind);
    CHECK_INT(kcreate(k, CRDS, body), VC_OK);
}

static bool established_on(vc_kube *k, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, CRDS "/%s", name);
    json_t *c = kget(k, path);
    bool ok = false;
    size_t i;
    json_t *cond;
    json_array_foreach(json_object_get(json_object_get(c, "status"), "conditions"), i, cond) {
        if (vc__streq(vc__jstr(cond, "type"), "Established") && vc__streq(vc__jstr(cond, "status"), "True"))
            ok = true;
    }
    json_decref(c);
    return ok;
}

static void host_widget_name(const char *ns, const char *name, char *out, size_t cap)
{
    vc_buf b = VC_BUF_INIT;
    out[0] = '\0';
    /* a custom resource's host name is the generic namespaced one (Pod's) */
    if (vc_translate_host_name(&b, T, "Pod", ns, name) == VC_OK)
        snprintf(out, cap, "%s", b.ptr);
    vc_buf_dispose(&b);
}

static json_t *host_widget(const char *vname)
{
    char hn[256], path[512];
    host_widget_name("demo", vname, hn, sizeof hn);
    snprintf(path, sizeof path, "/apis/example.com/v1/namespaces/%s/widgets/%s", HNS, hn);
    return kget(H, path);
}

static json_t *virtual_widget(const char *vname)
{
    char path[512];
    snprintf(path, sizeof path, "/apis/example.com/v1/namespaces/demo/widgets/%s", vname);
    return kget(V, path);
}

static json_t *virtual_gadget(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "/apis/example.com/v1/gadgets/%s", name);
    return kget(V, path);
}

static json_t *virtual_gizmo(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "/apis/example.com/v1/namespaces/fromhost/gizmos/%s", name);
    return kget(V, path);
}

static json_int_t spec_size(const json_t *o)
{
    return json_integer_value(json_object_get(json_object_get(o, "spec"), "size"));
}

/* PUT o with a changed spec.size (read-modify-write) */
static int set_size(vc_kube *k, const char *path, json_int_t size)
{
    json_t *o = kget(k, path);
    if (!o)
        return VC_ENOTFOUND;
    json_object_set_new(json_object_get(o, "spec"), "size", json_integer(size));
    char *body = json_dumps(o, JSON_COMPACT);
    int rc = vc_kube_request(k, NULL, NULL, "PUT", path, body, NULL);
    if (rc < 0)
        fprintf(stderr, "PUT %s: %s\n", path, vc_error_last()->message);
    free(body);
    json_decref(o);
    return rc;
}

static int set_status(vc_kube *k, const char *path, const char *phase)
{
    json_t *o = kget(k, path);
    if (!o)
        return VC_ENOTFOUND;
    json_object_set_new(o, "status", json_pack("{s:s}", "phase", phase));
    char *body = json_dumps(o, JSON_COMPACT);
    char sp[600];
    snprintf(sp, sizeof sp, "%s/status", path);
    int rc = vc_kube_request(k, NULL, NULL, "PUT", sp, body, NULL);
    if (rc < 0)
        fprintf(stderr, "PUT %s: %s\n", sp, vc_error_last()->message);
    free(body);
    json_decref(o);
    return rc;
}

static const char *status_phase(const json_t *o)
{
    return vc__jpath_str(o, "status", "phase");
}

/* ---- the syncer ---- */

static void start_syncer(void)
{
    vc_syncer_options o;
    CHECK_INT(vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION), VC_OK);
    o.name = NAME;
    o.host_namespace = HNS;
    o.config_yaml = g_config;
    o.flags = VC_SYNCER_NO_COREDNS;
    int rc = vc_syncer_new(&S, H, V, &o);
    if (rc < 0)
        fprintf(stderr, "vc_syncer_new: %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
}

static void stop_syncer(void)
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

/* ---- the steps ---- */

static void t_setup(void)
{
    char buf[1024], path[256];
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", HNS);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", buf), VC_OK);
    snprintf(buf, sizeof buf, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", SRCNS);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", buf), VC_OK);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"ports\":[{\"name\":\"https\",\"port\":443,\"targetPort\":8443}]}}", NAME);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services", HNS);
    CHECK_INT(kcreate(H, path, buf), VC_OK);
    /* the definitions live on the host only */
    crd(H, "widgets", "Widget", "Namespaced");
    crd(H, "gadgets", "Gadget", "Cluster");
    crd(H, "gizmos", "Gizmo", "Namespaced");
    CHECK(established_on(H, "widgets.example.com") || (sleep(1), established_on(H, "widgets.example.com")));
    CHECK(established_on(H, "gadgets.example.com") || (sleep(1), established_on(H, "gadgets.example.com")));
    CHECK(established_on(H, "gizmos.example.com") || (sleep(1), established_on(H, "gizmos.example.com")));
    /* host originals for fromHost */
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Gadget\",\"metadata\":{\"name\":\"%s-g1\","
             "\"labels\":{\"tier\":\"gold\"}},\"spec\":{\"size\":1}}", NAME);
    CHECK_INT(kcreate(H, "/apis/example.com/v1/gadgets", buf), VC_OK);
    snprintf(path, sizeof path, "/apis/example.com/v1/namespaces/%s/gizmos", SRCNS);
    CHECK_INT(kcreate(H, path, "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Gizmo\",\"metadata\":{\"name\":\"z1\"},"
                               "\"spec\":{\"size\":7}}"), VC_OK);
    CHECK(!established_on(V, "widgets.example.com"));
    CHECK_INT(kcreate(V, "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"demo\"}}"), VC_OK);
}

static bool crds_inside(void)
{
    return established_on(V, "widgets.example.com") && established_on(V, "gadgets.example.com") &&
           established_on(V, "gizmos.example.com");
}

static void t_crds_copied(void)
{
    g_t0 = vc__now_ms();
    start_syncer();
    CHECK(pump_until(crds_inside, 30000));
    printf("# the three CRDs Established in the virtual cluster %lld ms after vc_syncer_new\n", (long long)elapsed());
    /* the copy is the host's definition */
    json_t *c = kget(V, CRDS "/widgets.example.com");
    CHECK_STR(vc__jpath_str(json_object_get(c, "spec"), "names", "kind"), "Widget");
    CHECK_STR(vc__jstr(json_object_get(c, "spec"), "scope"), "Namespaced");
    CHECK_STR(vc__jpath_str(json_object_get(c, "metadata"), "labels", "vcluster.loft.sh/copied-from-host"), "true");
    json_decref(c);
}

static json_int_t g_want_size;
static const char *g_want_name;
static bool host_has_size(void)
{
    json_t *h = host_widget(g_want_name);
    bool ok = h && spec_size(h) == g_want_size;
    json_decref(h);
    return ok;
}

static bool host_gone(void)
{
    json_t *h = host_widget(g_want_name);
    json_decref(h);
    return h == NULL;
}

static const char *g_want_phase;
static bool virtual_has_phase(void)
{
    json_t *v = virtual_widget(g_want_name);
    bool ok = vc__streq(status_phase(v), g_want_phase);
    json_decref(v);
    return ok;
}

static void t_to_host(void)
{
    CHECK_INT(kcreate(V, "/apis/example.com/v1/namespaces/demo/widgets",
                      "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w1\","
                      "\"labels\":{\"app\":\"shop\"},\"annotations\":{\"note\":\"hello\"}},\"spec\":{\"size\":1,"
                      "\"color\":\"red\"}}"), VC_OK);
    g_t0 = vc__now_ms();
    g_want_name = "w1";
    g_want_size = 1;
    CHECK(pump_until(host_has_size, 20000));
    printf("# create: host Widget after %lld ms\n", (long long)elapsed());
    json_t *h = host_widget("w1");
    char hn[256];
    host_widget_name("demo", "w1", hn, sizeof hn);
    CHECK_STR(vc__jpath_str(h, "metadata", "name"), hn);
    CHECK(strcmp(hn, "w1") != 0); /* translated: w1-x-demo-x-NAME */
    CHECK_STR(vc__jpath_str(h, "metadata", "namespace"), HNS);
    json_t *meta = json_object_get(h, "metadata");
    CHECK_STR(vc__jpath_str(meta, "annotations", "vcluster.loft.sh/object-name"), "w1");
    CHECK_STR(vc__jpath_str(meta, "annotations", "vcluster.loft.sh/object-namespace"), "demo");
    CHECK_STR(vc__jpath_str(meta, "annotations", "note"), "hello");
    CHECK_STR(vc__jpath_str(meta, "labels", "vcluster.loft.sh/managed-by"), NAME);
    CHECK_STR(vc__jpath_str(h, "spec", "color"), "red");
    json_decref(h);

    /* update: spec follows the virtual object */
    g_t0 = vc__now_ms();
    CHECK_INT(set_size(V, "/apis/example.com/v1/namespaces/demo/widgets/w1", 2), VC_OK);
    g_want_size = 2;
    CHECK(pump_until(host_has_size, 20000));
    printf("# update: host spec.size 2 after %lld ms\n", (long long)elapsed());
    /* a host-side edit of a synced field is overwritten (virtual wins) */
    char hpath[512];
    snprintf(hpath, sizeof hpath, "/apis/example.com/v1/namespaces/%s/widgets/%s", HNS, hn);
    CHECK_INT(set_size(H, hpath, 99), VC_OK);
    CHECK(pump_until(host_has_size, 20000));

    /* status back */
    g_t0 = vc__now_ms();
    CHECK_INT(set_status(H, hpath, "Ready"), VC_OK);
    g_want_phase = "Ready";
    CHECK(pump_until(virtual_has_phase, 20000));
    printf("# status: virtual status.phase Ready after %lld ms\n", (long long)elapsed());

    /* delete */
    g_t0 = vc__now_ms();
    CHECK_INT(vc_kube_request(V, NULL, NULL, "DELETE", "/apis/example.com/v1/namespaces/demo/widgets/w1", NULL, NULL),
              VC_OK);
    CHECK(pump_until(host_gone, 20000));
    printf("# delete: host Widget gone after %lld ms\n", (long long)elapsed());
}

static char g_gadget[64];
static json_int_t g_gadget_size;
static bool gadget_inside(void)
{
    json_t *v = virtual_gadget(g_gadget);
    bool ok = v && spec_size(v) == g_gadget_size;
    json_decref(v);
    return ok;
}

static bool gadget_gone(void)
{
    json_t *v = virtual_gadget(g_gadget);
    json_decref(v);
    return v == NULL;
}

static bool gadget_status(void)
{
    json_t *v = virtual_gadget(g_gadget);
    bool ok = vc__streq(status_phase(v), "Shiny");
    json_decref(v);
    return ok;
}

static bool gizmo_inside(void)
{
    json_t *v = virtual_gizmo("z1");
    bool ok = v && spec_size(v) == 7;
    json_decref(v);
    return ok;
}

static void t_from_host(void)
{
    snprintf(g_gadget, sizeof g_gadget, "%s-g1", NAME);
    g_gadget_size = 1;
    g_t0 = vc__now_ms();
    CHECK(pump_until(gadget_inside, 20000));
    printf("# fromHost: Gadget copy inside %lld ms after the check started\n", (long long)elapsed());
    json_t *v = virtual_gadget(g_gadget);
    CHECK_STR(vc__jpath_str(json_object_get(v, "metadata"), "labels", "tier"), "gold");
    CHECK_STR(vc__jpath_str(json_object_get(v, "metadata"), "annotations", "vcluster.loft.sh/synced-from-host"), "true");
    json_decref(v);
    CHECK(pump_until(gizmo_inside, 20000));
    json_t *z = virtual_gizmo("z1");
    CHECK_STR(vc__jpath_str(json_object_get(z, "metadata"), "annotations", "vcluster.loft.sh/object-host-namespace"),
              SRCNS);
    json_decref(z);

    char hpath[512];
    snprintf(hpath, sizeof hpath, "/apis/example.com/v1/gadgets/%s", g_gadget);
    /* update on the host reaches the copy */
    g_t0 = vc__now_ms();
    CHECK_INT(set_size(H, hpath, 5), VC_OK);
    g_gadget_size = 5;
    CHECK(pump_until(gadget_inside, 20000));
    printf("# fromHost: update inside after %lld ms\n", (long long)elapsed());
    /* read-only: an edit of the copy is put back */
    char vpath[512];
    snprintf(vpath, sizeof vpath, "/apis/example.com/v1/gadgets/%s", g_gadget);
    CHECK_INT(set_size(V, vpath, 42), VC_OK);
    CHECK(pump_until(gadget_inside, 20000));
    /* status */
    CHECK_INT(set_status(H, hpath, "Shiny"), VC_OK);
    CHECK(pump_until(gadget_status, 20000));
    /* a tenant's own Gadget that no host object backs is left alone */
    CHECK_INT(kcreate(V, "/apis/example.com/v1/gadgets",
                      "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Gadget\",\"metadata\":{\"name\":\"tenant-own\"},"
                      "\"spec\":{\"size\":3}}"), VC_OK);
    /* delete on the host removes the copy */
    g_t0 = vc__now_ms();
    CHECK_INT(vc_kube_request(H, NULL, NULL, "DELETE", hpath, NULL, NULL), VC_OK);
    CHECK(pump_until(gadget_gone, 20000));
    printf("# fromHost: delete inside after %lld ms\n", (long long)elapsed());
    pump(1000);
    json_t *own = virtual_gadget("tenant-own");
    CHECK(own != NULL);
    json_decref(own);
}

static void t_restart_gc(void)
{
    /* w2 synced down, g2 copied in */
    CHECK_INT(kcreate(V, "/apis/example.com/v1/namespaces/demo/widgets",
                      "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w2\"},"
                      "\"spec\":{\"size\":4}}"), VC_OK);
    char buf[512];
    snprintf(g_gadget, sizeof g_gadget, "%s-g2", NAME);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Gadget\",\"metadata\":{\"name\":\"%s\"},\"spec\":{\"size\":8}}",
             g_gadget);
    CHECK_INT(kcreate(H, "/apis/example.com/v1/gadgets", buf), VC_OK);
    g_want_name = "w2";
    g_want_size = 4;
    g_gadget_size = 8;
    CHECK(pump_until(host_has_size, 20000));
    CHECK(pump_until(gadget_inside, 20000));
    stop_syncer();
    /* while no syncer runs: the virtual w2 and the host g2 go */
    CHECK_INT(vc_kube_request(V, NULL, NULL, "DELETE", "/apis/example.com/v1/namespaces/demo/widgets/w2", NULL, NULL),
              VC_OK);
    char hpath[512];
    snprintf(hpath, sizeof hpath, "/apis/example.com/v1/gadgets/%s", g_gadget);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "DELETE", hpath, NULL, NULL), VC_OK);
    CHECK(!host_gone());    /* the stale copies are still there */
    CHECK(!gadget_gone());
    g_t0 = vc__now_ms();
    start_syncer();
    CHECK(pump_until(host_gone, 30000));
    CHECK(pump_until(gadget_gone, 30000));
    printf("# restart: both stale copies removed %lld ms after vc_syncer_new\n", (long long)elapsed());
    stop_syncer();
}

/* a host CRD that does not exist: an error event names it, the rest runs */
static bool missing_reported(void)
{
    return strstr(g_crd_error, "missing.example.com") && strstr(g_crd_error, "no CustomResourceDefinition");
}

static void t_missing_crd(void)
{
    g_config = "sync:\n  toHost:\n    customResources:\n      missing.example.com:\n        enabled: true\n"
               "      widgets.example.com:\n        enabled: true\n";
    g_crd_error[0] = '\0';
    start_syncer();
    CHECK(pump_until(missing_reported, 20000));
    printf("# missing host CRD reported: %s\n", g_crd_error);
    CHECK_INT(kcreate(V, "/apis/example.com/v1/namespaces/demo/widgets",
                      "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w3\"},"
                      "\"spec\":{\"size\":3}}"), VC_OK);
    g_want_name = "w3";
    g_want_size = 3;
    CHECK(pump_until(host_has_size, 20000));
    json_t *m = kget(V, CRDS "/missing.example.com");
    CHECK(m == NULL);
    json_decref(m);
    stop_syncer();
    g_config = CONFIG;
}

static void t_config_errors(void)
{
    vc_config *c = NULL;
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_load_string(c,
                                    "sync:\n  toHost:\n    customResources:\n      widgets.example.com:\n"
                                    "        enabled: true\n        patches:\n        - path: spec.x\n",
                                    "p.yaml"),
              VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "sync.toHost.customResources");
    CHECK_CONTAINS(vc_error_last()->message, "patches");
    vc_config_free(c);
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    vc_global_init(NULL);
    vcenv e;
    if (vcenv_up(&e) < 0)
        return 1;
    itest_name(NAME, sizeof NAME, "vcr");
    snprintf(HNS, sizeof HNS, "vcluster-%s", NAME);
    snprintf(SRCNS, sizeof SRCNS, "src-%s", NAME);
    snprintf(CONFIG, sizeof CONFIG,
             "sync:\n"
             "  toHost:\n"
             "    customResources:\n"
             "      widgets.example.com:\n"
             "        enabled: true\n"
             "  fromHost:\n"
             "    customResources:\n"
             "      gadgets.example.com:\n"
             "        enabled: true\n"
             "        scope: Cluster\n"
             "      gizmos.example.com/v1:\n"
             "        enabled: true\n"
             "        scope: Namespaced\n"
             "        mappings:\n"
             "          byName:\n"
             "            \"%s/*\": \"fromhost/*\"\n",
             SRCNS);
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
    RUN(t_crds_copied);
    RUN(t_to_host);
    RUN(t_from_host);
    RUN(t_restart_gc);
    RUN(t_missing_crd);
    RUN(t_config_errors);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", HNS);
    vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", SRCNS);
    vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
    vc_translator_free(T);
    vc_kube_free(H);
    vc_kube_free(V);
    vcenv_down(&e);
    vc_global_shutdown();
    TEST_DONE();
}

/* The Kubernetes client against a real kube-apiserver: CRUD, pagination over
 * 1,000 objects, 409/404, patches incl. server-side apply, subresources,
 * discovery, watches (order, bookmark, 410 and relist), and the one-line
 * errors for an unreachable server, a bad CA, a bad token and a 403. */
#include <sys/stat.h>

#include "itest.h"
#include "kube/kube.h"
#include "kube/loop.h"

static const char *KC;
static vc_kube *K;
static char NS[64];

static vc_kube *connect_kc(const char *data, double qps)
{
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    if (data)
        o.kubeconfig_data = data;
    else
        o.kubeconfig = KC;
    o.qps = qps;
    o.timeout_ms = 20000;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &o) < 0) {
        fprintf(stderr, "connect: %s\n", vc_error_last()->message);
        return NULL;
    }
    return k;
}

static json_t *cm(const char *name, const char *v)
{
    return json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name", name,
                     "data", "k", v);
}

static void t_namespace_and_crud(void)
{
    itest_name(NS, sizeof NS, "kc");
    vc__kres nsr = { "v1", "namespaces", NULL, NULL, NULL };
    json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", NS);
    CHECK_INT(vc__kube_create(K, &nsr, ns, NULL), VC_OK);
    json_decref(ns);

    vc__kres r = { "v1", "configmaps", NS, "one", NULL };
    json_t *obj = cm("one", "v1"), *got = NULL;
    CHECK_INT(vc__kube_create(K, &r, obj, &got), VC_OK);
    const char *uid = json_string_value(json_object_get(json_object_get(got, "metadata"), "uid"));
    CHECK(uid && *uid);
    /* AlreadyExists */
    CHECK_INT(vc__kube_create(K, &r, obj, NULL), VC_EEXISTS);
    CHECK_INT(vc_error_last()->http_status, 409);
    CHECK_STR(vc_error_last()->reason, "AlreadyExists");
    json_decref(obj);
    /* get */
    json_t *g2 = NULL;
    CHECK_INT(vc__kube_get(K, &r, &g2), VC_OK);
    CHECK_STR(json_string_value(json_object_get(json_object_get(g2, "data"), "k")), "v1");
    /* update ok, then conflict with the stale copy */
    json_object_set_new(json_object_get(g2, "data"), "k", json_string("v2"));
    json_t *upd = NULL;
    CHECK_INT(vc__kube_update(K, &r, g2, &upd), VC_OK);
    json_object_set_new(json_object_get(g2, "data"), "k", json_string("v3"));
    CHECK_INT(vc__kube_update(K, &r, g2, NULL), VC_ECONFLICT);
    CHECK_INT(vc_error_last()->http_status, 409);
    CHECK_CONTAINS(vc_error_last()->message, "the object has been modified");
    CHECK_CONTAINS(vc_error_last()->message, "HTTP 409 Conflict");
    /* 404 */
    vc__kres missing = { "v1", "configmaps", NS, "missing", NULL };
    CHECK_INT(vc__kube_get(K, &missing, NULL), VC_ENOTFOUND);
    CHECK_INT(vc_error_last()->http_status, 404);
    CHECK_CONTAINS(vc_error_last()->message, "configmaps \"missing\" not found");
    /* delete with a wrong UID precondition: conflict; right one: ok */
    vc__delete_opts d = { NULL, -1, "00000000-0000-0000-0000-000000000000", NULL };
    CHECK_INT(vc__kube_delete(K, &r, &d, NULL), VC_ECONFLICT);
    CHECK_CONTAINS(vc_error_last()->message, "precondition");
    vc__delete_opts d2 = { "Background", 0, uid, NULL };
    CHECK_INT(vc__kube_delete(K, &r, &d2, NULL), VC_OK);
    CHECK_INT(vc__kube_get(K, &r, NULL), VC_ENOTFOUND);
    json_decref(got);
    json_decref(g2);
    json_decref(upd);
}

static void t_patches_and_apply(void)
{
    vc__kres r = { "v1", "configmaps", NS, "patched", NULL };
    json_t *obj = cm("patched", "a");
    CHECK_INT(vc__kube_create(K, &r, obj, NULL), VC_OK);
    json_decref(obj);
    json_t *out = NULL;
    CHECK_INT(vc__kube_patch(K, &r, VC__PATCH_MERGE, "{\"data\":{\"m\":\"1\"}}", NULL, false, &out), VC_OK);
    CHECK_STR(json_string_value(json_object_get(json_object_get(out, "data"), "m")), "1");
    json_decref(out);
    CHECK_INT(vc__kube_patch(K, &r, VC__PATCH_STRATEGIC, "{\"metadata\":{\"labels\":{\"s\":\"2\"}}}", NULL, false, &out), VC_OK);
    CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(out, "metadata"), "labels"), "s")), "2");
    json_decref(out);
    CHECK_INT(vc__kube_patch(K, &r, VC__PATCH_JSON, "[{\"op\":\"replace\",\"path\":\"/data/k\",\"value\":\"j\"}]", NULL, false, &out), VC_OK);
    CHECK_STR(json_string_value(json_object_get(json_object_get(out, "data"), "k")), "j");
    json_decref(out);
    /* a failing JSON patch test op -> 422 Invalid */
    CHECK(vc__kube_patch(K, &r, VC__PATCH_JSON, "[{\"op\":\"test\",\"path\":\"/data/k\",\"value\":\"zzz\"}]", NULL, false, NULL) < 0);
    CHECK(vc_error_last()->http_status == 422 || vc_error_last()->http_status == 500);
    /* server-side apply: create via apply, then a second manager conflicts unless forced */
    vc__kres ar = { "v1", "configmaps", NS, "applied", NULL };
    char ap[512];
    snprintf(ap, sizeof ap, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"applied\",\"namespace\":\"%s\"},\"data\":{\"owner\":\"a\"}}", NS);
    CHECK_INT(vc__kube_patch(K, &ar, VC__PATCH_APPLY, ap, "manager-a", false, &out), VC_OK);
    json_decref(out);
    snprintf(ap, sizeof ap, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"applied\",\"namespace\":\"%s\"},\"data\":{\"owner\":\"b\"}}", NS);
    CHECK_INT(vc__kube_patch(K, &ar, VC__PATCH_APPLY, ap, "manager-b", false, NULL), VC_ECONFLICT);
    CHECK_CONTAINS(vc_error_last()->message, "manager-a");
    CHECK_INT(vc__kube_patch(K, &ar, VC__PATCH_APPLY, ap, "manager-b", true, &out), VC_OK);
    CHECK_STR(json_string_value(json_object_get(json_object_get(out, "data"), "owner")), "b");
    json_decref(out);
    CHECK_INT(vc__kube_patch(K, &ar, VC__PATCH_APPLY, ap, NULL, false, NULL), VC_EINVAL);
}

struct ctx { int *done, *failed; };

static void cb(void *ud, int rc, long http, const char *body, size_t len)
{
    (void)http;
    (void)body;
    (void)len;
    struct ctx *c = ud;
    if (rc == VC_OK)
        (*c->done)++;
    else {
        fprintf(stderr, "async POST failed: %s\n", vc_error_last()->message);
        (*c->failed)++;
    }
}


static void t_pagination_1000(void)
{
    vc__kres r = { "v1", "configmaps", NS, NULL, NULL };
    /* create with the async loop: 1000 POSTs, 32 in flight */
    vc__kloop *l = NULL;
    CHECK_INT(vc__kloop_new(&l), VC_OK);
    int done = 0, failed = 0, started = 0;
    struct ctx c = { &done, &failed };
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", NS);
    while (done + failed < 1000) {
        while (started < 1000 && started - done - failed < 32) {
            char body[256];
            snprintf(body, sizeof body, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"page-%04d\",\"labels\":{\"set\":\"pages\"}}}", started);
            if (vc__kreq_start(l, K, "POST", path, NULL, body, strlen(body), 30000, cb, &c) < 0) {
                fprintf(stderr, "start: %s\n", vc_error_last()->message);
                failed++;
            }
            started++;
        }
        vc__kloop_run(l, 1000, NULL);
    }
    CHECK_INT(failed, 0);
    CHECK_INT(vc__kloop_active(l), 0);
    vc__kloop_free(l);
    /* one page */
    vc__list_opts o = { 0 };
    o.label_selector = "set=pages";
    o.limit = 100;
    json_t *page = NULL;
    CHECK_INT(vc__kube_list(K, &r, &o, &page), VC_OK);
    CHECK_INT(json_array_size(json_object_get(page, "items")), 100);
    CHECK(json_string_value(json_object_get(json_object_get(page, "metadata"), "continue")) != NULL);
    json_decref(page);
    /* all pages */
    json_t *all = NULL;
    CHECK_INT(vc__kube_list_all(K, &r, &o, &all), VC_OK);
    CHECK_INT(json_array_size(json_object_get(all, "items")), 1000);
    /* names unique and complete */
    int seen[1000] = { 0 };
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(all, "items"), i, it) {
        int n = -1;
        sscanf(json_string_value(json_object_get(json_object_get(it, "metadata"), "name")), "page-%d", &n);
        if (n >= 0 && n < 1000)
            seen[n]++;
    }
    int ok = 1;
    for (int k = 0; k < 1000; k++)
        if (seen[k] != 1)
            ok = 0;
    CHECK(ok);
    json_decref(all);
    /* field selector */
    vc__list_opts fo = { 0 };
    fo.field_selector = "metadata.name=page-0007";
    CHECK_INT(vc__kube_list_all(K, &r, &fo, &all), VC_OK);
    CHECK_INT(json_array_size(json_object_get(all, "items")), 1);
    json_decref(all);
}


static void t_discovery(void)
{
    vc__gvr g;
    CHECK_INT(vc__kube_discover(K, "apps/v1", "Deployment", &g), VC_OK);
    CHECK_STR(g.resource, "deployments");
    CHECK(g.namespaced);
    vc__gvr_clear(&g);
    CHECK_INT(vc__kube_discover(K, "v1", "Node", &g), VC_OK);
    CHECK_STR(g.resource, "nodes");
    CHECK(!g.namespaced);
    vc__gvr_clear(&g);
    CHECK_INT(vc__kube_discover(K, "v1", "NoSuchKind", &g), VC_ENOTFOUND);
    CHECK_INT(vc__kube_discover(K, "nosuch.example.com/v1", "X", &g), VC_ENOTFOUND);
    CHECK_CONTAINS(vc_error_last()->message, "does not serve nosuch.example.com/v1");
}

static void t_subresources(void)
{
    /* scale */
    vc__kres dr = { "apps/v1", "deployments", NS, "web", NULL };
    json_t *dep = json_loads("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
                             "\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
                             "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"schedulerName\":\"nobody\",\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}",
                             0, NULL);
    CHECK_INT(vc__kube_create(K, &dr, dep, NULL), VC_OK);
    json_decref(dep);
    vc__kres sr = { "apps/v1", "deployments", NS, "web", "scale" };
    json_t *sc = NULL;
    CHECK_INT(vc__kube_get(K, &sr, &sc), VC_OK);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(sc, "spec"), "replicas")), 1);
    json_t *sc2 = NULL;
    /* the deployment controller writes too: patch rather than read-modify-write */
    CHECK_INT(vc__kube_patch(K, &sr, VC__PATCH_MERGE, "{\"spec\":{\"replicas\":3}}", NULL, false, &sc2), VC_OK);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(sc2, "spec"), "replicas")), 3);
    json_decref(sc);
    json_decref(sc2);
    /* status of a Service (what the syncer writes back for LoadBalancers) */
    vc__kres svr = { "v1", "services", NS, "lb", NULL };
    json_t *svc = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"lb\"},"
                             "\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80}],\"selector\":{\"app\":\"web\"}}}",
                             0, NULL);
    json_t *svco = NULL;
    CHECK_INT(vc__kube_create(K, &svr, svc, &svco), VC_OK);
    const char *cip = json_string_value(json_object_get(json_object_get(svco, "spec"), "clusterIP"));
    CHECK(cip && *cip);
    json_decref(svc);
    json_decref(svco);
    vc__kres sst = { "v1", "services", NS, "lb", "status" };
    json_t *st = NULL;
    CHECK_INT(vc__kube_patch(K, &sst, VC__PATCH_MERGE, "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.10\"}]}}}", NULL, false, &st), VC_OK);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(json_object_get(st, "status"), "loadBalancer"), "ingress"), 0), "ip")), "192.0.2.10");
    json_decref(st);
    /* binding: a pod no scheduler will take, bound by hand */
    vc__kres pr = { "v1", "pods", NS, "bindme", NULL };
    json_t *pod = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"bindme\"},"
                             "\"spec\":{\"schedulerName\":\"nobody\",\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}",
                             0, NULL);
    CHECK_INT(vc__kube_create(K, &pr, pod, NULL), VC_OK);
    json_decref(pod);
    vc__kres br = { "v1", "pods", NS, "bindme", "binding" };
    json_t *bind = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Binding", "metadata", "name",
                             "bindme", "target", "kind", "Node", "name", "kwok-node-0");
    CHECK_INT(vc__kube_create(K, &br, bind, NULL), VC_OK);
    json_decref(bind);
    json_t *bound = NULL;
    CHECK_INT(vc__kube_get(K, &pr, &bound), VC_OK);
    CHECK_STR(json_string_value(json_object_get(json_object_get(bound, "spec"), "nodeName")), "kwok-node-0");
    json_decref(bound);
    /* token subresource */
    vc__kres tr = { "v1", "serviceaccounts", NS, "default", "token" };
    json_t *treq = json_pack("{s:s,s:s,s:{s:i}}", "apiVersion", "authentication.k8s.io/v1", "kind", "TokenRequest", "spec",
                             "expirationSeconds", 600);
    json_t *tok = NULL;
    /* the default SA appears asynchronously (controller-manager) */
    int rc = VC_ENOTFOUND;
    for (int i = 0; i < 100 && rc == VC_ENOTFOUND; i++) {
        rc = vc__kube_create(K, &tr, treq, &tok);
        if (rc == VC_ENOTFOUND)
            usleep(100000);
    }
    CHECK_INT(rc, VC_OK);
    CHECK(json_string_value(json_object_get(json_object_get(tok, "status"), "token")) != NULL);
    json_decref(treq);
    json_decref(tok);
}

/* Compact the host's etcd (its endpoint comes from the harness state). */
static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static int compact_etcd(const char *rev)
{
    const char *state = getenv("VC_HOSTCLUSTER_STATE");
    if (!state || !rev)
        return -1;
    /* ports.env holds P_STORE=<port> for etcd (kine has no compaction API) */
    char *cfgp = vc__sprintf("%s/ports.env", state), *txt = NULL;
    size_t len = 0;
    int rc = vc__file_read(cfgp, &txt, &len);
    vc__free(cfgp);
    if (rc < 0)
        return -1;
    char *ep = strstr(txt, "P_STORE=");
    char url[256] = "";
    if (ep)
        snprintf(url, sizeof url, "http://127.0.0.1:%d/v3/kv/compaction", atoi(ep + strlen("P_STORE=")));
    vc__free(txt);
    if (!url[0])
        return -1;
    char body[128];
    snprintf(body, sizeof body, "{\"revision\":\"%s\",\"physical\":true}", rev);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    CURLcode cr = curl_easy_perform(c);
    long http = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_cleanup(c);
    return cr == CURLE_OK && http == 200 ? 0 : -1;
}

static void t_watch(void)
{
    vc__kres r = { "v1", "configmaps", NS, NULL, NULL };
    vc__list_opts lo = { 0 };
    lo.field_selector = "metadata.name=watched";
    json_t *list = NULL;
    CHECK_INT(vc__kube_list(K, &r, &lo, &list), VC_OK);
    char *rv = vc__strdup(json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion")));
    json_decref(list);
    vc__kloop *l = NULL;
    CHECK_INT(vc__kloop_new(&l), VC_OK);
    vc__watch *w = NULL;
    vc__list_opts wo = { 0 };
    wo.field_selector = "metadata.name=watched";
    wo.resource_version = rv;
    wo.allow_bookmarks = true;
    CHECK_INT(vc__watch_start(&w, l, K, &r, &wo), VC_OK);
    /* let the stream open, then change the object three times */
    for (int i = 0; i < 5; i++)
        vc__kloop_run(l, 50, NULL);
    vc__kres one = { "v1", "configmaps", NS, "watched", NULL };
    json_t *obj = cm("watched", "1");
    CHECK_INT(vc__kube_create(K, &one, obj, NULL), VC_OK);
    json_decref(obj);
    CHECK_INT(vc__kube_patch(K, &one, VC__PATCH_MERGE, "{\"data\":{\"k\":\"2\"}}", NULL, false, NULL), VC_OK);
    CHECK_INT(vc__kube_delete(K, &one, NULL, NULL), VC_OK);
    const char *want[] = { "ADDED", "MODIFIED", "DELETED" };
    int got = 0;
    int64_t deadline = vc__now_ms() + 15000;
    while (got < 3 && vc__now_ms() < deadline) {
        int64_t t = vc__kloop_timeout(l);
        vc__kloop_run(l, t < 0 || t > 200 ? 200 : (int)t, NULL);
        const char *type;
        json_t *o;
        while (vc__watch_next(w, &type, &o) == VC_OK) {
            if (!strcmp(type, "BOOKMARK")) {
                json_decref(o);
                continue;
            }
            if (got < 3)
                CHECK_STR(type, want[got]);
            got++;
            json_decref(o);
        }
        int erc;
        if (vc__watch_ended(w, &erc)) {
            fprintf(stderr, "watch ended early: %d %s\n", erc, vc_error_last()->message);
            break;
        }
    }
    CHECK_INT(got, 3);
    CHECK(vc__watch_last_rv(w) != NULL);
    vc__watch_free(w);
    vc__free(rv);

    /* streaming list (sendInitialEvents): initial ADDED events then a
     * BOOKMARK marked k8s.io/initial-events-end */
    vc__list_opts so = { 0 };
    so.label_selector = "set=pages";
    so.send_initial_events = true;
    so.resource_version_match = "NotOlderThan";
    so.resource_version = "";
    so.allow_bookmarks = true;
    CHECK_INT(vc__watch_start(&w, l, K, &r, &so), VC_OK);
    int added = 0, bookmark = 0;
    deadline = vc__now_ms() + 20000;
    while (!bookmark && vc__now_ms() < deadline) {
        vc__kloop_run(l, 200, NULL);
        const char *type;
        json_t *o;
        while (vc__watch_next(w, &type, &o) == VC_OK) {
            if (!strcmp(type, "ADDED"))
                added++;
            if (!strcmp(type, "BOOKMARK")) {
                json_t *an = json_object_get(json_object_get(o, "metadata"), "annotations");
                if (vc__streq(json_string_value(json_object_get(an, "k8s.io/initial-events-end")), "true"))
                    bookmark = 1;
            }
            json_decref(o);
        }
        int erc;
        if (vc__watch_ended(w, &erc)) {
            fprintf(stderr, "streaming list ended: %d %s\n", erc, vc_error_last()->message);
            break;
        }
    }
    CHECK_INT(added, 1000);
    CHECK_INT(bookmark, 1);
    vc__watch_free(w);

    /* a resourceVersion older than the last compaction: 410 Gone, reported
     * so the caller relists. The harness serves podtemplates without a watch
     * cache (--watch-cache-sizes=podtemplates#0), so the watch reaches etcd. */
    vc__kres pt = { "v1", "podtemplates", NS, NULL, NULL };
    json_t *tpl = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"PodTemplate\",\"metadata\":{\"name\":\"old\"},"
                             "\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}", 0, NULL);
    json_t *made = NULL;
    CHECK_INT(vc__kube_create(K, &pt, tpl, &made), VC_OK);
    char *old_rv = vc__strdup(json_string_value(json_object_get(json_object_get(made, "metadata"), "resourceVersion")));
    json_decref(tpl);
    json_decref(made);
    vc__kres pt1 = { "v1", "podtemplates", NS, "old", NULL };
    for (int i = 0; i < 3; i++)
        CHECK_INT(vc__kube_patch(K, &pt1, VC__PATCH_MERGE, "{\"metadata\":{\"labels\":{\"bump\":\"x\"}}}", NULL, false, NULL), VC_OK);
    json_t *now_list = NULL;
    CHECK_INT(vc__kube_list(K, &pt, NULL, &now_list), VC_OK);
    const char *now_rv = json_string_value(json_object_get(json_object_get(now_list, "metadata"), "resourceVersion"));
    CHECK(compact_etcd(now_rv) == 0);
    json_decref(now_list);
    vc__list_opts old = { 0 };
    old.resource_version = "1"; /* older than the compaction (old_rv is too) */
    CHECK_INT(vc__watch_start(&w, l, K, &pt, &old), VC_OK);
    int erc = 0;
    bool ended = false;
    deadline = vc__now_ms() + 15000;
    while (!ended && vc__now_ms() < deadline) {
        vc__kloop_run(l, 200, NULL);
        const char *type;
        json_t *o;
        while (vc__watch_next(w, &type, &o) == VC_OK)
            json_decref(o);
        ended = vc__watch_ended(w, &erc);
    }
    CHECK(ended);
    if (erc != VC_EGONE)
        fprintf(stderr, "watch ended with %d: %s\n", erc, vc_error_last()->message);
    CHECK_INT(erc, VC_EGONE);
    vc__free(old_rv);
    vc__watch_free(w);
    /* relist gives a fresh resourceVersion from which a watch works */
    json_t *rl = NULL;
    CHECK_INT(vc__kube_list(K, &r, &lo, &rl), VC_OK);
    vc__list_opts again = { 0 };
    again.resource_version = json_string_value(json_object_get(json_object_get(rl, "metadata"), "resourceVersion"));
    CHECK_INT(vc__watch_start(&w, l, K, &r, &again), VC_OK);
    for (int i = 0; i < 10; i++)
        vc__kloop_run(l, 50, NULL);
    CHECK(!vc__watch_ended(w, &erc));
    vc__watch_free(w);
    json_decref(rl);
    vc__kloop_free(l);
}

static char *kubeconfig_with(const char *server, const char *ca_b64, const char *token, bool insecure)
{
    return vc__sprintf("apiVersion: v1\nkind: Config\n"
                       "clusters: [{name: c, cluster: {server: '%s'%s%s%s}}]\n"
                       "users: [{name: u, user: {token: '%s'}}]\n"
                       "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
                       server, ca_b64 ? ", certificate-authority-data: " : "", ca_b64 ? ca_b64 : "",
                       insecure ? ", insecure-skip-tls-verify: true" : "", token);
}

static void t_auth_errors(void)
{
    /* a real service-account token with no permissions */
    vc__kres sar = { "v1", "serviceaccounts", NS, NULL, NULL };
    json_t *sa = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata", "name", "nobody");
    CHECK_INT(vc__kube_create(K, &sar, sa, NULL), VC_OK);
    json_decref(sa);
    vc__kres tr = { "v1", "serviceaccounts", NS, "nobody", "token" };
    json_t *treq = json_pack("{s:s,s:s,s:{}}", "apiVersion", "authentication.k8s.io/v1", "kind", "TokenRequest", "spec");
    json_t *tok = NULL;
    CHECK_INT(vc__kube_create(K, &tr, treq, &tok), VC_OK);
    json_decref(treq);
    const char *token = json_string_value(json_object_get(json_object_get(tok, "status"), "token"));
    char *ca = vc__base64_encode(K->cfg.ca_data, K->cfg.ca_len);
    char *kc = kubeconfig_with(K->cfg.server, ca, token ? token : "x", false);
    vc_kube *k2 = connect_kc(kc, 0);
    CHECK(k2 != NULL);
    vc_buf b = VC_BUF_INIT;
    int32_t http = 0;
    CHECK_INT(vc_kube_request(k2, &b, &http, "GET", "/api/v1/namespaces/kube-system/secrets", NULL, NULL), VC_EFORBIDDEN);
    CHECK_INT(http, 403);
    CHECK_CONTAINS(vc_error_last()->message, "cannot list resource \"secrets\"");
    CHECK_CONTAINS(vc_error_last()->message, "nobody");
    CHECK(strchr(vc_error_last()->message, '\n') == NULL);
    vc_kube_free(k2);
    vc__free(kc);

    /* a token the server does not know: 401 */
    kc = kubeconfig_with(K->cfg.server, ca, "expired.or.garbage", false);
    k2 = connect_kc(kc, 0);
    CHECK_INT(vc_kube_request(k2, &b, &http, "GET", "/api/v1/namespaces", NULL, NULL), VC_EAUTH);
    CHECK_INT(http, 401);
    CHECK_CONTAINS(vc_error_last()->message, "Unauthorized");
    vc_kube_free(k2);
    vc__free(kc);

    /* the wrong CA: TLS error naming the server */
    const char *other_ca_b64 =
        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJnVENDQVNlZ0F3SUJBZ0lVRXhBTXBsZUNBZ0F3RFFZSktvWklodmNOQVFFTEJRQXcKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
    kc = kubeconfig_with(K->cfg.server, other_ca_b64, "x", false);
    k2 = connect_kc(kc, 0);
    int rc = vc_kube_request(k2, &b, &http, "GET", "/version", NULL, NULL);
    CHECK(rc == VC_ETLS || rc == VC_ECONNECT);
    CHECK_CONTAINS(vc_error_last()->message, K->cfg.server);
    vc_kube_free(k2);
    vc__free(kc);

    /* insecure-skip-tls-verify reaches it */
    kc = kubeconfig_with(K->cfg.server, NULL, token ? token : "x", true);
    k2 = connect_kc(kc, 0);
    CHECK_INT(vc_kube_request(k2, &b, &http, "GET", "/version", NULL, NULL), VC_OK);
    vc_kube_free(k2);
    vc__free(kc);

    /* an unreachable server: connection refused, one line, names the URL */
    kc = kubeconfig_with("https://127.0.0.1:1", ca, "x", false);
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig_data = kc;
    o.max_retries = 2;
    o.timeout_ms = 3000;
    k2 = NULL;
    CHECK_INT(vc_kube_new(&k2, &o), VC_OK);
    CHECK_INT(vc_kube_request(k2, &b, &http, "GET", "/version", NULL, NULL), VC_ECONNECT);
    CHECK_CONTAINS(vc_error_last()->message, "https://127.0.0.1:1/version");
    CHECK_CONTAINS(vc_error_last()->message, "connect");
    vc_kube_free(k2);
    vc__free(kc);

    /* in-cluster config with the real token and CA */
    char dir[] = "/tmp/vc-sa-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *p = vc__sprintf("%s/token", dir);
    vc__file_write(p, token, strlen(token), 0600);
    vc__free(p);
    p = vc__sprintf("%s/ca.crt", dir);
    vc__file_write(p, K->cfg.ca_data, K->cfg.ca_len, 0644);
    vc__free(p);
    p = vc__sprintf("%s/namespace", dir);
    vc__file_write(p, NS, strlen(NS), 0644);
    vc__free(p);
    const char *hostport = K->cfg.server + strlen("https://");
    char host[64] = "", port[16] = "";
    sscanf(hostport, "%63[^:]:%15s", host, port);
    setenv("KUBERNETES_SERVICE_HOST", host, 1);
    setenv("KUBERNETES_SERVICE_PORT", port, 1);
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.flags = VC_KUBE_IN_CLUSTER;
    o.in_cluster_dir = dir;
    k2 = NULL;
    CHECK_INT(vc_kube_new(&k2, &o), VC_OK);
    CHECK_STR(vc_kube_namespace(k2), NS);
    /* authenticated as the SA: /version is allowed, secrets are not */
    CHECK_INT(vc_kube_request(k2, &b, &http, "GET", "/version", NULL, NULL), VC_OK);
    CHECK_INT(vc_kube_request(k2, &b, &http, "GET", "/api/v1/namespaces/kube-system/secrets", NULL, NULL), VC_EFORBIDDEN);
    CHECK_CONTAINS(vc_error_last()->message, "system:serviceaccount:");
    vc_kube_free(k2);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");

    /* an exec plugin that hands out the same token */
    char *plugin = vc__sprintf("%s/plugin.sh", dir);
    char *script = vc__sprintf("#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}'\n", token);
    vc__file_write(plugin, script, strlen(script), 0755);
    kc = vc__sprintf("clusters: [{name: c, cluster: {server: '%s', certificate-authority-data: %s}}]\n"
                     "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: %s}}}]\n"
                     "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
                     K->cfg.server, ca, plugin);
    k2 = connect_kc(kc, 0);
    CHECK_INT(vc_kube_request(k2, &b, &http, "GET", "/version", NULL, NULL), VC_OK);
    CHECK_INT(vc_kube_request(k2, &b, &http, "GET", "/api/v1/namespaces/kube-system/secrets", NULL, NULL), VC_EFORBIDDEN);
    CHECK_CONTAINS(vc_error_last()->message, "nobody");
    vc_kube_free(k2);
    vc__free(kc);
    vc__free(script);
    vc__free(plugin);
    char *rm = vc__sprintf("rm -rf '%s'", dir);
    CHECK(system(rm) == 0);
    vc__free(rm);
    vc_buf_dispose(&b);
    vc__free(ca);
    json_decref(tok);
}

static void t_public_request_and_version(void)
{
    vc_buf v = VC_BUF_INIT;
    CHECK_INT(vc_kube_server_version(K, &v), VC_OK);
    CHECK(v.ptr && v.ptr[0] == 'v' && strstr(v.ptr, "v0.0.0") == NULL);
    vc_buf_dispose(&v);
    vc_buf b = VC_BUF_INIT;
    int32_t http = 0;
    CHECK_INT(vc_kube_request(K, &b, &http, "GET", "/api/v1/nodes?limit=1", NULL, NULL), VC_OK);
    CHECK_INT(http, 200);
    CHECK_CONTAINS(b.ptr, "\"kind\":\"NodeList\"");
    vc_buf_dispose(&b);
}

static void t_rate_limit(void)
{
    /* 5 qps, burst 1: 6 requests cannot finish in under ~1 s */
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig = KC;
    o.qps = 5;
    o.burst = 1;
    vc_kube *k = NULL;
    CHECK_INT(vc_kube_new(&k, &o), VC_OK);
    int64_t t0 = vc__now_ms();
    for (int i = 0; i < 6; i++)
        CHECK_INT(vc_kube_request(k, NULL, NULL, "GET", "/version", NULL, NULL), VC_OK);
    CHECK(vc__now_ms() - t0 >= 950);
    vc_kube_free(k);
}

static void t_cleanup(void)
{
    vc__kres nsr = { "v1", "namespaces", NULL, NS, NULL };
    vc__delete_opts d = { "Background", -1, NULL, NULL };
    CHECK_INT(vc__kube_delete(K, &nsr, &d, NULL), VC_OK);
}

int main(void)
{
    KC = itest_kubeconfig();
    vc_global_init(NULL);
    K = connect_kc(NULL, -1);
    if (!K)
        return 1;
    RUN(t_public_request_and_version);
    RUN(t_namespace_and_crud);
    RUN(t_patches_and_apply);
    RUN(t_discovery);
    RUN(t_subresources);
    RUN(t_pagination_1000);
    RUN(t_watch);
    RUN(t_auth_errors);
    RUN(t_rate_limit);
    RUN(t_cleanup);
    vc_kube_free(K);
    vc_global_shutdown();
    TEST_DONE();
}

/* URL/selector building and API error mapping. */
#include "kube/kube.h"
#include "test.h"

static char *path(const vc__kres *r, const vc__list_opts *o)
{
    vc_buf b = VC_BUF_INIT;
    if (vc__kube_path(&b, r, o) < 0) {
        vc_buf_dispose(&b);
        return NULL;
    }
    return b.ptr;
}

static void t_paths(void)
{
    char *p;
    vc__kres core = { "v1", "pods", "demo", "nginx", NULL };
    CHECK_STR(p = path(&core, NULL), "/api/v1/namespaces/demo/pods/nginx");
    vc__free(p);
    vc__kres st = { "v1", "pods", "demo", "nginx", "status" };
    CHECK_STR(p = path(&st, NULL), "/api/v1/namespaces/demo/pods/nginx/status");
    vc__free(p);
    vc__kres apps = { "apps/v1", "deployments", "kube-system", NULL, NULL };
    CHECK_STR(p = path(&apps, NULL), "/apis/apps/v1/namespaces/kube-system/deployments");
    vc__free(p);
    vc__kres cluster = { "v1", "nodes", NULL, "kwok-node-0", NULL };
    CHECK_STR(p = path(&cluster, NULL), "/api/v1/nodes/kwok-node-0");
    vc__free(p);
    vc__kres all = { "v1", "pods", "", NULL, NULL };
    vc__list_opts o = { 0 };
    o.label_selector = "vcluster.loft.sh/managed-by=my-vc,app in (a,b)";
    o.field_selector = "spec.nodeName=n1";
    o.limit = 500;
    o.continue_token = "eyJ2Ijoi+/=";
    o.resource_version = "0";
    CHECK_STR(p = path(&all, &o),
              "/api/v1/pods?labelSelector=vcluster.loft.sh%2Fmanaged-by%3Dmy-vc%2Capp%20in%20%28a%2Cb%29"
              "&fieldSelector=spec.nodeName%3Dn1&limit=500&continue=eyJ2Ijoi%2B%2F%3D&resourceVersion=0");
    vc__free(p);
    vc__list_opts w = { 0 };
    w.watch = true;
    w.allow_bookmarks = true;
    w.resource_version = "12345";
    w.timeout_seconds = 300;
    CHECK_STR(p = path(&all, &w), "/api/v1/pods?resourceVersion=12345&watch=true&allowWatchBookmarks=true&timeoutSeconds=300");
    vc__free(p);
    /* names are escaped as path segments */
    vc__kres odd = { "v1", "configmaps", "a b", "x/y", NULL };
    CHECK_STR(p = path(&odd, NULL), "/api/v1/namespaces/a%20b/configmaps/x%2Fy");
    vc__free(p);
    vc__kres bad = { NULL, "pods", NULL, NULL, NULL };
    CHECK(path(&bad, NULL) == NULL);
    CHECK_INT(vc_error_last()->code, VC_EINVAL);
    vc__kres subnoname = { "v1", "pods", "x", NULL, "status" };
    CHECK(path(&subnoname, NULL) == NULL);
}

static void t_error_mapping(void)
{
    const char *nf = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                     "\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\",\"code\":404}";
    CHECK_INT(vc__kube_map_error(404, nf, strlen(nf), "GET https://h/api/v1/namespaces/d/pods/x"), VC_ENOTFOUND);
    const vc_error *e = vc_error_last();
    CHECK_INT(e->http_status, 404);
    CHECK_STR(e->reason, "NotFound");
    CHECK_INT(e->klass, VC_ERRCLASS_API);
    CHECK_STR(e->message, "GET https://h/api/v1/namespaces/d/pods/x: pods \"x\" not found (HTTP 404 NotFound)");
    const char *ae = "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"message\":\"exists\",\"code\":409}";
    CHECK_INT(vc__kube_map_error(409, ae, strlen(ae), "POST x"), VC_EEXISTS);
    const char *cf = "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"message\":\"the object has been modified\",\"code\":409}";
    CHECK_INT(vc__kube_map_error(409, cf, strlen(cf), "PUT x"), VC_ECONFLICT);
    CHECK_INT(vc__kube_map_error(410, "", 0, "GET x"), VC_EGONE);
    CHECK_STR(vc_error_last()->reason, "Expired");
    CHECK_INT(vc__kube_map_error(401, "Unauthorized", 12, "GET x"), VC_EAUTH);
    CHECK_CONTAINS(vc_error_last()->message, "Unauthorized");
    const char *fb = "{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"message\":\"pods is forbidden: User \\\"bob\\\" cannot list\",\"code\":403}";
    CHECK_INT(vc__kube_map_error(403, fb, strlen(fb), "GET x"), VC_EFORBIDDEN);
    CHECK_CONTAINS(vc_error_last()->message, "User \"bob\" cannot list");
    CHECK_INT(vc__kube_map_error(422, "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"message\":\"m\"}", 49, "POST x"), VC_EINVALIDOBJ);
    CHECK_INT(vc__kube_map_error(429, "", 0, "GET x"), VC_ETOOMANY);
    CHECK_INT(vc__kube_map_error(500, "<html>boom</html>", 17, "GET x"), VC_EAPI);
    CHECK_CONTAINS(vc_error_last()->message, "<html>boom</html>");
    CHECK_INT(vc__kube_map_error(503, NULL, 0, "GET x"), VC_EAPI);
    CHECK_CONTAINS(vc_error_last()->message, "no message from the server");
}

int main(void)
{
    vc_global_init(NULL);
    RUN(t_paths);
    RUN(t_error_mapping);
    vc_global_shutdown();
    TEST_DONE();
}

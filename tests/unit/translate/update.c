/* Pod updates (pod_update.c), enforced tolerations and the setOwner owner
 * reference, at the jansson level: what a changed virtual pod asks of its
 * host twin, with host-side additions kept. */
#include <jansson.h>
#include <string.h>

#include "check.h"
#include "translate/translate.h"

static vc_translator *mk(const char *const *tols, uint32_t ntols)
{
    vc_translate_options o;
    vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
    o.name = "my-vcluster";
    o.kube_ip = "10.96.0.1";
    o.dns_ip = "10.96.0.10";
    o.enforce_tolerations = tols;
    o.enforce_tolerations_count = ntols;
    vc_translator *t = NULL;
    CHECK_RC(vc_translator_new(&t, &o), VC_OK);
    return t;
}

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    if (!v)
        fprintf(stderr, "bad test JSON: %s\n", e.text);
    return v;
}

static const char *VOLD =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"demo\",\"uid\":\"u1\","
    "\"labels\":{\"app\":\"a\",\"gone\":\"g\"},\"annotations\":{\"note\":\"1\",\"dropped\":\"d\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox:1\",\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}],"
    "\"initContainers\":[{\"name\":\"i\",\"image\":\"init:1\"}],"
    "\"schedulingGates\":[{\"name\":\"g1\"},{\"name\":\"g2\"}]}}";
static const char *VNEW =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"demo\",\"uid\":\"u1\","
    "\"labels\":{\"app\":\"b\",\"new\":\"n\"},\"annotations\":{\"note\":\"2\"}},"
    "\"spec\":{\"activeDeadlineSeconds\":60,\"schedulingGates\":[{\"name\":\"g2\"}],"
    "\"containers\":[{\"name\":\"c\",\"image\":\"busybox:2\",\"resources\":{\"requests\":{\"cpu\":\"150m\"}}}],"
    "\"initContainers\":[{\"name\":\"i\",\"image\":\"init:2\"}],"
    "\"ephemeralContainers\":[{\"name\":\"debug\",\"image\":\"busybox\",\"targetContainerName\":\"c\"}]},"
    "\"status\":{\"phase\":\"Running\"}}";

/* The host pod as created from VOLD (by a translator without enforced
 * tolerations), with a label and an annotation the host added. */
static json_t *host_of_old(void)
{
    vc_translator *t0 = mk(NULL, 0);
    json_t *h = NULL;
    CHECK_RC(vc__translate_to_host(&h, NULL, t0, J(VOLD), NULL, VC_TRANSLATE_APPLY_DEFAULTS, NULL), VC_OK);
    json_t *c = json_deep_copy(h);
    json_decref(h);
    vc_translator_free(t0);
    json_t *md = json_object_get(c, "metadata");
    json_object_set_new(json_object_get(md, "labels"), "host-added", json_string("yes"));
    json_object_set_new(json_object_get(md, "annotations"), "host-note", json_string("kept"));
    return c;
}

static void test_digest(void)
{
    json_t *a = J(VOLD), *b = J(VOLD), *c = J(VNEW);
    char da[65], db[65], dc[65];
    CHECK_RC(vc__pod_update_digest(a, da), VC_OK);
    /* the status is not what an update carries */
    json_object_set_new(b, "status", json_pack("{s:s}", "phase", "Running"));
    CHECK_RC(vc__pod_update_digest(b, db), VC_OK);
    CHECK_STR(da, db);
    CHECK_RC(vc__pod_update_digest(c, dc), VC_OK);
    CHECK(strcmp(da, dc) != 0);
    /* one image is enough */
    json_object_set_new(json_array_get(json_object_get(json_object_get(b, "spec"), "containers"), 0), "image",
                        json_string("busybox:3"));
    CHECK_RC(vc__pod_update_digest(b, db), VC_OK);
    CHECK(strcmp(da, db) != 0);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static bool has_env(const json_t *ct, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(ct, "env"), i, e) if (!strcmp(json_string_value(json_object_get(e, "name")), name)) return true;
    return false;
}

static void test_update(void)
{
    static const char *const tols[] = { "dedicated=tenants:NoSchedule" };
    vc_translator *t = mk(tols, 1);
    json_t *h = host_of_old(), *v = J(VNEW), *plan = NULL;
    CHECK_RC(vc__translate_pod_update(&plan, t, v, h, NULL), VC_OK);
    json_t *md = json_object_get(json_object_get(plan, "metadata"), "metadata");
    json_t *lp = json_object_get(md, "labels"), *ap = json_object_get(md, "annotations");
    /* changed and new virtual labels go, a removed one is removed, the
     * host's own is not touched */
    CHECK_STR(json_string_value(json_object_get(lp, "app")), "b");
    CHECK_STR(json_string_value(json_object_get(lp, "new")), "n");
    CHECK(json_is_null(json_object_get(lp, "gone")));
    CHECK(json_object_get(lp, "host-added") == NULL);
    CHECK(json_object_get(lp, "vcluster.loft.sh/managed-by") == NULL); /* unchanged */
    CHECK_STR(json_string_value(json_object_get(ap, "note")), "2");
    CHECK(json_is_null(json_object_get(ap, "dropped")));
    CHECK(json_object_get(ap, "host-note") == NULL);
    const char *la = json_string_value(json_object_get(ap, VC__A_POD_LABELS));
    CHECK(la && strstr(la, "app=\"b\"") && !strstr(la, "gone"));
    /* the spec: images, deadline, the enforced toleration the host lacks */
    json_t *sp = json_object_get(json_object_get(plan, "patch"), "spec");
    CHECK_RC((int)json_integer_value(json_object_get(sp, "activeDeadlineSeconds")), 60);
    json_t *c0 = json_array_get(json_object_get(sp, "containers"), 0);
    CHECK_STR(json_string_value(json_object_get(c0, "image")), "busybox:2");
    CHECK(json_object_get(c0, "env") == NULL); /* only the image: a strategic merge by name */
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(sp, "initContainers"), 0), "image")),
              "init:2");
    json_t *tl = json_object_get(sp, "tolerations");
    CHECK_RC((int)json_array_size(tl), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(tl, 0), "key")), "dedicated");
    CHECK_STR(json_string_value(json_object_get(json_array_get(tl, 0), "operator")), "Equal");
    /* a removed scheduling gate: a delete directive, the kept one untouched */
    json_t *gl = json_object_get(sp, "schedulingGates");
    CHECK_RC((int)json_array_size(gl), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(gl, 0), "$patch")), "delete");
    CHECK_STR(json_string_value(json_object_get(json_array_get(gl, 0), "name")), "g1");
    /* the ephemeral container, translated like a container */
    json_t *e0 = json_array_get(json_object_get(json_object_get(json_object_get(plan, "ephemeral"), "spec"),
                                                "ephemeralContainers"), 0);
    CHECK_STR(json_string_value(json_object_get(e0, "name")), "debug");
    CHECK(has_env(e0, "KUBERNETES_SERVICE_HOST"));
    /* resources: the resize subresource's body */
    json_t *r0 = json_array_get(json_object_get(json_object_get(json_object_get(plan, "resize"), "spec"), "containers"), 0);
    CHECK_STR(json_string_value(json_object_get(r0, "name")), "c");
    CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(r0, "resources"), "requests"), "cpu")),
              "150m");
    json_decref(plan);

    /* the host pod as the virtual one wants it: nothing to do */
    json_t *h2 = NULL;
    vc_translator *t0 = mk(NULL, 0);
    CHECK_RC(vc__translate_to_host(&h2, NULL, t0, J(VOLD), NULL, VC_TRANSLATE_APPLY_DEFAULTS, NULL), VC_OK);
    json_t *vold = J(VOLD);
    CHECK_RC(vc__translate_pod_update(&plan, t0, vold, h2, NULL), VC_OK);
    CHECK_RC((int)json_object_size(plan), 0);
    json_decref(plan);
    json_decref(vold);
    json_decref(h2);
    vc_translator_free(t0);
    json_decref(h);
    json_decref(v);
    vc_translator_free(t);
}

static void test_owner(void)
{
    vc_translator *t = mk(NULL, 0);
    const char *cm = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"namespace\":\"demo\"}}";
    json_t *h = NULL;
    /* setOwner: nothing namespaced is translated before the owner is known */
    vc__translator_wait_owner(t, true);
    CHECK_RC(vc__translate_to_host(&h, NULL, t, J(cm), NULL, 0, NULL), VC_ESTATE);
    CHECK(strstr(vc_error_last()->message, "setOwner") != NULL);
    CHECK_RC(vc__translator_set_owner(t, "11111111-2222-3333-4444-555555555555"), VC_OK);
    CHECK_RC(vc__translate_to_host(&h, NULL, t, J(cm), NULL, 0, NULL), VC_OK);
    json_t *r = json_array_get(json_object_get(json_object_get(h, "metadata"), "ownerReferences"), 0);
    CHECK_STR(json_string_value(json_object_get(r, "kind")), "Service");
    CHECK_STR(json_string_value(json_object_get(r, "name")), "my-vcluster");
    CHECK_STR(json_string_value(json_object_get(r, "uid")), "11111111-2222-3333-4444-555555555555");
    json_decref(h);
    /* without setOwner no owner reference */
    CHECK_RC(vc__translator_set_owner(t, NULL), VC_OK);
    vc__translator_wait_owner(t, false);
    CHECK_RC(vc__translate_to_host(&h, NULL, t, J(cm), NULL, 0, NULL), VC_OK);
    CHECK(json_object_get(json_object_get(h, "metadata"), "ownerReferences") == NULL);
    json_decref(h);
    vc_translator_free(t);
}

/* Keys the host owns (backsync.c) are neither overwritten nor removed by a
 * virtual pod's update, and the managed record leaves them out. */
static void test_host_owned(void)
{
    vc_translator *t = mk(NULL, 0);
    json_t *h = host_of_old(), *v = J(VNEW), *plan = NULL;
    json_t *hann = json_object_get(json_object_get(h, "metadata"), "annotations");
    json_object_set_new(hann, VC__A_HOST_ANNOTATIONS, json_string("host-note"));
    json_object_set_new(hann, VC__A_HOST_LABELS, json_string("host-added"));
    /* the virtual pod got them back, then the tenant edited one */
    json_t *vmd = json_object_get(v, "metadata");
    json_object_set_new(json_object_get(vmd, "annotations"), "host-note", json_string("tenant-edit"));
    json_object_set_new(json_object_get(vmd, "labels"), "host-added", json_string("yes"));
    CHECK_RC(vc__translate_pod_update(&plan, t, v, h, NULL), VC_OK);
    json_t *md = json_object_get(json_object_get(plan, "metadata"), "metadata");
    json_t *lp = json_object_get(md, "labels"), *ap = json_object_get(md, "annotations");
    CHECK(json_object_get(ap, "host-note") == NULL);  /* the host's value stays */
    CHECK(json_object_get(lp, "host-added") == NULL);
    const char *m = json_string_value(json_object_get(ap, VC__A_MANAGED_ANNOTATIONS));
    CHECK(m && strstr(m, "note") && !strstr(m, "host-note"));
    CHECK_STR(json_string_value(json_object_get(ap, "note")), "2"); /* the tenant's key: virtual wins */
    json_decref(plan);
    json_decref(h);
    json_decref(v);
    vc_translator_free(t);
}

int main(void)
{
    if (vc_global_init(NULL) < 0)
        return 1;
    test_digest();
    test_update();
    test_owner();
    test_host_owned();
    vc_global_shutdown();
    return check_summary("translate-update");
}

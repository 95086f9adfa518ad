/* Custom resources (src/translate/custom.c): a virtual object of a kind the
 * kinds table does not know becomes a host object the way the generic kinds
 * do, and a host object becomes a read-only virtual copy. */
#include <jansson.h>

#include "test.h"
#include "translate/translate.h"

static const vc__custom_kind WIDGET = { "Widget", "example.com", "v1", "example.com/v1", "widgets",
                                        "example.com/v1, Kind=Widget" };

static vc_translator *mk(void)
{
    vc_translate_options o;
    vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
    o.name = "my-vcluster";
    vc_translator *t = NULL;
    CHECK_INT(vc_translator_new(&t, &o), VC_OK);
    return t;
}

static const char *ann(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "annotations"), key));
}

static const char *label(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), key));
}

static void t_to_host(void)
{
    vc_translator *t = mk();
    json_t *v = json_loads("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w1\","
                           "\"namespace\":\"demo\",\"uid\":\"u-1\",\"resourceVersion\":\"7\",\"labels\":{\"app\":\"shop\"},"
                           "\"annotations\":{\"note\":\"hi\"}},\"spec\":{\"size\":1,\"nested\":{\"a\":[1,2]}},"
                           "\"status\":{\"phase\":\"Tenant\"}}",
                           0, NULL);
    json_t *spec = json_deep_copy(json_object_get(v, "spec"));
    json_t *h = NULL;
    CHECK_INT(vc__translate_custom_to_host(&h, t, v, &WIDGET), VC_OK);
    CHECK_STR(json_string_value(json_object_get(json_object_get(h, "metadata"), "name")), "w1-x-demo-x-my-vcluster");
    CHECK_STR(json_string_value(json_object_get(json_object_get(h, "metadata"), "namespace")), "vcluster-my-vcluster");
    CHECK(json_object_get(json_object_get(h, "metadata"), "uid") == NULL);
    CHECK(json_object_get(json_object_get(h, "metadata"), "resourceVersion") == NULL);
    CHECK_STR(ann(h, VC__A_OBJ_NAME), "w1");
    CHECK_STR(ann(h, VC__A_OBJ_NAMESPACE), "demo");
    CHECK_STR(ann(h, VC__A_OBJ_UID), "u-1");
    CHECK_STR(ann(h, VC__A_OBJ_KIND), "example.com/v1, Kind=Widget");
    CHECK_STR(ann(h, "note"), "hi");
    CHECK_STR(label(h, "app"), "shop");
    CHECK_STR(label(h, VC__L_MARKER), "my-vcluster");
    CHECK_STR(label(h, VC__L_NAMESPACE), "demo");
    CHECK(json_equal(json_object_get(h, "spec"), spec));
    CHECK(json_object_get(h, "status") == NULL); /* the host owns status */
    CHECK_STR(json_string_value(json_object_get(h, "kind")), "Widget");
    json_decref(h);
    json_decref(spec);

    /* no namespace, a bad name: refused with a message naming the kind */
    h = NULL;
    CHECK_INT(vc__translate_custom_to_host(&h, t,
                                           json_loads("{\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"}}", 0, NULL),
                                           &WIDGET),
              VC_EINVAL);
    CHECK(h == NULL);
    CHECK(strstr(vc_error_last()->message, "Widget") != NULL);
    CHECK_INT(vc__translate_custom_to_host(&h, t,
                                           json_loads("{\"kind\":\"Widget\",\"metadata\":{\"name\":\"Bad_Name\","
                                                      "\"namespace\":\"demo\"}}",
                                                      0, NULL),
                                           &WIDGET),
              VC_EINVAL);
    vc_translator_free(t);
}

static void t_from_host(void)
{
    json_t *h = json_loads("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Gizmo\",\"metadata\":{\"name\":\"z1\","
                           "\"namespace\":\"src\",\"uid\":\"h-1\",\"resourceVersion\":\"9\",\"finalizers\":[\"x\"],"
                           "\"ownerReferences\":[{\"kind\":\"X\"}],\"labels\":{\"tier\":\"gold\"}},"
                           "\"spec\":{\"size\":7},\"status\":{\"phase\":\"Up\"}}",
                           0, NULL);
    json_t *v = NULL;
    CHECK_INT(vc__translate_custom_from_host(&v, h, "fromhost", "z1-copy"), VC_OK);
    json_t *md = json_object_get(v, "metadata");
    CHECK_STR(json_string_value(json_object_get(md, "name")), "z1-copy");
    CHECK_STR(json_string_value(json_object_get(md, "namespace")), "fromhost");
    CHECK(json_object_get(md, "uid") == NULL && json_object_get(md, "resourceVersion") == NULL);
    CHECK(json_object_get(md, "finalizers") == NULL && json_object_get(md, "ownerReferences") == NULL);
    CHECK_STR(label(v, "tier"), "gold");
    CHECK_STR(ann(v, "vcluster.loft.sh/object-host-name"), "z1");
    CHECK_STR(ann(v, "vcluster.loft.sh/object-host-namespace"), "src");
    CHECK(vc__custom_is_host_copy(v));
    CHECK(!vc__custom_is_host_copy(h));
    CHECK_INT(json_integer_value(json_object_get(json_object_get(v, "spec"), "size")), 7);
    CHECK_STR(json_string_value(json_object_get(json_object_get(v, "status"), "phase")), "Up");
    json_decref(v);
    /* cluster-scoped: no namespace on the copy */
    CHECK_INT(vc__translate_custom_from_host(&v, h, "", "z1"), VC_OK);
    CHECK(json_object_get(json_object_get(v, "metadata"), "namespace") == NULL);
    json_decref(v);
    json_decref(h);
}

int main(void)
{
    vc_global_init(NULL);
    RUN(t_to_host);
    RUN(t_from_host);
    vc_global_shutdown();
    TEST_DONE();
}

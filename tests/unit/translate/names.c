/* Names: SafeConcatName, the special cases, label keys, reverse lookups,
 * and upstream's published examples. */
#include <stdlib.h>

#include <vcluster.h>

#include "check.h"
#include "translate/translate.h"

static vc_translator *mk(const char *name, uint32_t sync)
{
    vc_translate_options o;
    vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
    o.name = name;
    o.sync_to_host = sync;
    vc_translator *t = NULL;
    CHECK_RC(vc_translator_new(&t, &o), VC_OK);
    return t;
}

static void host_name_is(vc_translator *t, const char *kind, const char *ns, const char *name, const char *want)
{
    vc_buf b = VC_BUF_INIT;
    CHECK_RC(vc_translate_host_name(&b, t, kind, ns, name), VC_OK);
    CHECK_STR(b.ptr, want);
    vc_buf_dispose(&b);
}

static void reverse_is(vc_translator *t, const char *json, int want_rc, const char *want_ns, const char *want_name)
{
    vc_buf ns = VC_BUF_INIT, name = VC_BUF_INIT;
    CHECK_RC(vc_translate_virtual_name(&ns, &name, t, json), want_rc);
    if (want_rc == VC_OK) {
        CHECK_STR(ns.ptr, want_ns);
        CHECK_STR(name.ptr, want_name);
    }
    vc_buf_dispose(&ns);
    vc_buf_dispose(&name);
}

static void test_safe_concat(void)
{
    char out[VC__NAME_MAX];
    const char *short_parts[] = { "a", "b", "c" };
    vc__safe_concat(out, sizeof out, short_parts, 3);
    CHECK_STR(out, "a-b-c");
    /* exactly 63 characters: not hashed */
    char n63[64];
    memset(n63, 'a', 63);
    n63[63] = '\0';
    const char *p63[] = { n63 };
    vc__safe_concat(out, sizeof out, p63, 1);
    CHECK_STR(out, n63);
    CHECK(strlen(out) == 63);
    /* 64: hashed to 63 */
    char n64[65];
    memset(n64, 'a', 64);
    n64[64] = '\0';
    const char *p64[] = { n64 };
    size_t l = vc__safe_concat(out, sizeof out, p64, 1);
    CHECK(l == 63 && strlen(out) == 63 && out[52] == '-');
    CHECK(!strncmp(out, n64, 52));
}

static void test_upstream_examples(void)
{
    vc_translator *t = mk("my-vcluster", 0);
    /* UPSTREAM.md section 1 */
    host_name_is(t, "Pod", "demo", "nginx", "nginx-x-demo-x-my-vcluster");
    host_name_is(t, "Pod", "production", "my-really-long-deployment-name-7d9f8c6b5-abcde",
                 "my-really-long-deployment-name-7d9f8c6b5-abcde-x-pro-798d1835be");
    CHECK_STR(vc_translator_host_namespace(t), "vcluster-my-vcluster");
    vc_buf b = VC_BUF_INIT;
    CHECK_RC(vc_translate_label_key(&b, t, "release"), VC_OK);
    CHECK_STR(b.ptr, "vcluster.loft.sh/label-my-vcluster-x-a4d451ec23");
    CHECK_RC(vc_translate_label_key(&b, t, "app"), VC_OK);
    CHECK_STR(b.ptr, "app");
    /* the other reserved keys use the same scheme */
    const char *reserved[] = { "vcluster.loft.sh/namespace", "vcluster.loft.sh/managed-by", "vcluster.loft.sh/controlled-by" };
    for (int i = 0; i < 3; i++) {
        char hex[65], want[128];
        vc__sha256_hex(reserved[i], strlen(reserved[i]), hex);
        snprintf(want, sizeof want, "vcluster.loft.sh/label-my-vcluster-x-%.10s", hex);
        CHECK_RC(vc_translate_label_key(&b, t, reserved[i]), VC_OK);
        CHECK_STR(b.ptr, want);
    }
    char hex[65], want[128];
    vc__sha256_hex("team", 4, hex);
    snprintf(want, sizeof want, "vcluster.loft.sh/ns-label-my-vcluster-x-%.10s", hex);
    CHECK_RC(vc_translate_namespace_label_key(&b, t, "team"), VC_OK);
    CHECK_STR(b.ptr, want);
    vc_buf_dispose(&b);
    /* special cases */
    host_name_is(t, "Service", "default", "kubernetes", "my-vcluster");
    host_name_is(t, "services", "other", "kubernetes", "kubernetes-x-other-x-my-vcluster");
    /* one kube-root-ca.crt per namespace, as upstream outside multi-namespace mode */
    host_name_is(t, "ConfigMap", "demo", "kube-root-ca.crt", "kube-root-ca.crt-x-demo-x-my-vcluster");
    host_name_is(t, "cm", "team-b", "kube-root-ca.crt", "kube-root-ca.crt-x-team-b-x-my-vcluster");
    /* cluster-scoped: mirrored while their sync is off */
    host_name_is(t, "StorageClass", NULL, "fast", "fast");
    host_name_is(t, "PriorityClass", "ignored", "high", "high");
    vc_translator_free(t);

    t = mk("my-vcluster", VC_TRANSLATE_SYNC_ALL);
    host_name_is(t, "StorageClass", NULL, "fast", "vcluster-fast-x-vcluster-my-vcluster-x-my-vcluster");
    host_name_is(t, "persistentvolumes", NULL, "pv-1", "vcluster-pv-1-x-vcluster-my-vcluster-x-my-vcluster");
    host_name_is(t, "pc", NULL, "system-node-critical", "vcluster-system-node-critical-x-vcluster-my-vcluster-b51c4b60dc");
    vc_translator_free(t);
}

static void test_dot_dash(void)
{
    vc_translator *t = mk("my-vcluster", 0);
    /* full[0:52] ends with '.', so ".-" collapses and the name is 62 long */
    char name[128];
    snprintf(name, sizeof name, "%s.%s", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb");
    vc_buf b = VC_BUF_INIT;
    CHECK_RC(vc_translate_host_name(&b, t, "Pod", "demo", name), VC_OK);
    CHECK(b.size == 62);
    CHECK(strstr(b.ptr, ".-") == NULL);
    CHECK(!strncmp(b.ptr, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-", 52));
    char full[256], hex[65];
    snprintf(full, sizeof full, "%s-x-demo-x-my-vcluster", name);
    vc__sha256_hex(full, strlen(full), hex);
    CHECK(!strncmp(b.ptr + 52, hex, 10));
    vc_buf_dispose(&b);
    vc_translator_free(t);
}

static void test_reverse(void)
{
    vc_translator *t = mk("my-vcluster", VC_TRANSLATE_SYNC_STORAGE_CLASSES);
    /* by name */
    reverse_is(t, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"nginx-x-demo-x-my-vcluster\",\"namespace\":\"vcluster-my-vcluster\"}}",
               VC_OK, "demo", "nginx");
    reverse_is(t, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"my-x-app-x-demo-x-my-vcluster\",\"namespace\":\"vcluster-my-vcluster\"}}",
               VC_OK, "demo", "my-x-app");
    reverse_is(t, "{\"kind\":\"Service\",\"metadata\":{\"name\":\"my-vcluster\",\"namespace\":\"vcluster-my-vcluster\"}}",
               VC_OK, "default", "kubernetes");
    reverse_is(t, "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"vcluster-fast-x-vcluster-my-vcluster-x-my-vcluster\"}}",
               VC_OK, "", "fast");
    /* hashed names cannot be reversed without annotations */
    reverse_is(t, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"my-really-long-deployment-name-7d9f8c6b5-abcde-x-pro-798d1835be\",\"namespace\":\"vcluster-my-vcluster\"}}",
               VC_ENOTFOUND, NULL, NULL);
    /* ...but can with them */
    reverse_is(t, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"my-really-long-deployment-name-7d9f8c6b5-abcde-x-pro-798d1835be\",\"namespace\":\"vcluster-my-vcluster\","
                  "\"labels\":{\"vcluster.loft.sh/managed-by\":\"my-vcluster\"},"
                  "\"annotations\":{\"vcluster.loft.sh/object-name\":\"my-really-long-deployment-name-7d9f8c6b5-abcde\",\"vcluster.loft.sh/object-namespace\":\"production\","
                  "\"vcluster.loft.sh/object-kind\":\"/v1, Kind=Pod\",\"vcluster.loft.sh/object-host-name\":\"my-really-long-deployment-name-7d9f8c6b5-abcde-x-pro-798d1835be\"}}}",
               VC_OK, "production", "my-really-long-deployment-name-7d9f8c6b5-abcde");
    /* inconsistent annotations fall back to the name */
    reverse_is(t, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-x-demo-x-my-vcluster\",\"namespace\":\"vcluster-my-vcluster\","
                  "\"annotations\":{\"vcluster.loft.sh/object-name\":\"other\",\"vcluster.loft.sh/object-kind\":\"/v1, Kind=Secret\"}}}",
               VC_OK, "demo", "web");
    /* another vcluster's objects, other namespaces, the host's own CA */
    reverse_is(t, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-x-demo-x-other\",\"namespace\":\"vcluster-my-vcluster\"}}",
               VC_ENOTFOUND, NULL, NULL);
    reverse_is(t, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-x-demo-x-my-vcluster\",\"namespace\":\"default\"}}",
               VC_ENOTFOUND, NULL, NULL);
    reverse_is(t, "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"kube-root-ca.crt\",\"namespace\":\"vcluster-my-vcluster\"}}",
               VC_ENOTFOUND, NULL, NULL);
    reverse_is(t, "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"kube-root-ca.crt-x-team-b-x-my-vcluster\","
                  "\"namespace\":\"vcluster-my-vcluster\"}}",
               VC_OK, "team-b", "kube-root-ca.crt");
    /* the shared name of earlier releases names no namespace */
    reverse_is(t, "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"vcluster-kube-root-ca.crt-x-my-vcluster\","
                  "\"namespace\":\"vcluster-my-vcluster\"}}",
               VC_ENOTFOUND, NULL, NULL);
    reverse_is(t, "{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"x\"}}", VC_ENOTSUPPORTED, NULL, NULL);
    reverse_is(t, "not json", VC_EINVAL, NULL, NULL);
    vc_translator_free(t);
}

static void test_options(void)
{
    vc_translate_options o = VC_TRANSLATE_OPTIONS_INIT, o2;
    CHECK_RC(vc_translate_options_init(&o2, VC_TRANSLATE_OPTIONS_VERSION), VC_OK);
    CHECK(memcmp(&o, &o2, sizeof o) == 0); /* INIT macro == _init() */
    CHECK_RC(vc_translate_options_init(&o2, 99), VC_EVERSION);
    CHECK_RC(vc_translate_options_init(NULL, 1), VC_EINVAL);
    vc_translator *t = NULL;
    CHECK_RC(vc_translator_new(&t, &o), VC_EINVAL); /* no name */
    CHECK(strstr(vc_error_last()->message, "name") != NULL);
    o.name = "Bad_Name";
    CHECK_RC(vc_translator_new(&t, &o), VC_EINVAL);
    o.name = "ok";
    o.kube_ip = "not-an-ip";
    CHECK_RC(vc_translator_new(&t, &o), VC_EINVAL);
    o.kube_ip = NULL;
    const char *tols[] = { "a=b=c:NoSchedule" };
    o.enforce_tolerations = tols;
    o.enforce_tolerations_count = 1;
    CHECK_RC(vc_translator_new(&t, &o), VC_EINVAL);
    CHECK(strstr(vc_error_last()->message, "enforce_tolerations[0]") != NULL);
    o.enforce_tolerations_count = 0;
    o.version = 7;
    CHECK_RC(vc_translator_new(&t, &o), VC_EVERSION);
    o.version = 1;
    CHECK_RC(vc_translator_new(&t, &o), VC_OK);
    CHECK_RC(vc_translator_set_service_ips(t, "10.0.0.1", "bogus"), VC_EINVAL);
    CHECK_RC(vc_translator_set_service_ips(t, "10.0.0.1", "10.0.0.10"), VC_OK);
    vc_buf b = VC_BUF_INIT;
    CHECK_RC(vc_translate_host_name(&b, t, "Deployment", "a", "b"), VC_ENOTSUPPORTED);
    CHECK_RC(vc_translate_host_name(&b, t, "Pod", NULL, "b"), VC_EINVAL);
    CHECK_RC(vc_translate_host_name(&b, t, "Pod", "a", ""), VC_EINVAL);
    CHECK_RC(vc_translate_host_name(NULL, t, "Pod", "a", "b"), VC_EINVAL);
    vc_buf_dispose(&b);
    vc_translator_free(t);
    vc_translator_free(NULL);
}

int main(void)
{
    if (vc_global_init(NULL) < 0)
        return 1;
    test_safe_concat();
    test_upstream_examples();
    test_dot_dash();
    test_reverse();
    test_options();
    vc_global_shutdown();
    return check_summary("translate-names");
}

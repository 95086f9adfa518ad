/* Back-sync of host-added labels and annotations (backsync.c), played step
 * by step as the syncer does: translate, apply each patch as the API server
 * would (JSON merge patch), and check who owns which key, that a settled
 * pair asks for no write, and that the syncer's own keys never travel. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "translate/translate.h"

static vc_translator *mk(void)
{
    vc_translate_options o;
    vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
    o.name = "my-vcluster";
    o.kube_ip = "10.96.0.1";
    o.dns_ip = "10.96.0.10";
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

/* RFC 7386 merge patch, in place */
static void merge(json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v)) {
            json_t *sub = json_object_get(target, k);
            if (!json_is_object(sub)) {
                sub = json_object();
                json_object_set_new(target, k, sub);
            }
            merge(sub, v);
        } else {
            json_object_set(target, k, v);
        }
    }
}

static json_t *ann(const json_t *o)
{
    return json_object_get(json_object_get(o, "metadata"), "annotations");
}

static json_t *lab(const json_t *o)
{
    return json_object_get(json_object_get(o, "metadata"), "labels");
}

static const char *astr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(ann(o), k));
}

static const char *lstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(lab(o), k));
}

/* The forward write as generic.c does it: desired metadata replaces the
 * host's; returns whether anything changed. */
static bool forward(vc_translator *t, const json_t *v, json_t *h)
{
    json_t *d = NULL;
    CHECK_RC(vc__translate_to_host(&d, NULL, t, json_deep_copy(v), NULL, VC_TRANSLATE_APPLY_DEFAULTS, NULL), VC_OK);
    json_t *dw = json_deep_copy(d);
    json_decref(d);
    CHECK_RC(vc__translate_backsync_desired(t, dw, v, h), VC_OK);
    json_t *hmd = json_object_get(h, "metadata"), *dmd = json_object_get(dw, "metadata");
    bool changed = false;
    static const char *const maps[] = { "labels", "annotations" };
    for (int i = 0; i < 2; i++) {
        json_t *dv = json_object_get(dmd, maps[i]), *hv = json_object_get(hmd, maps[i]);
        if (!(dv ? hv && json_equal(dv, hv) : !hv)) {
            changed = true;
            if (getenv("BS_DEBUG")) {
                char *a = json_dumps(dv, JSON_SORT_KEYS), *b = json_dumps(hv, JSON_SORT_KEYS);
                fprintf(stderr, "forward %s:\n  desired %s\n  host    %s\n", maps[i], a ? a : "-", b ? b : "-");
                free(a);
                free(b);
            }
        }
        if (dv)
            json_object_set(hmd, maps[i], dv);
        else
            json_object_del(hmd, maps[i]);
    }
    json_decref(dw);
    return changed;
}

/* One back-sync step; returns the number of patches (0: settled). */
static int step(vc_translator *t, json_t *v, json_t *h)
{
    json_t *vp = NULL, *hp = NULL;
    CHECK_RC(vc__translate_backsync(&vp, &hp, t, v, h), VC_OK);
    int n = (vp != NULL) + (hp != NULL);
    if (vp)
        merge(v, vp);
    if (hp)
        merge(h, hp);
    json_decref(vp);
    json_decref(hp);
    return n;
}

/* Steps and forward writes until nothing changes; the number of rounds. */
static int settle(vc_translator *t, json_t *v, json_t *h)
{
    for (int i = 1; i <= 10; i++) {
        int n = step(t, v, h);
        if (forward(t, v, h))
            n++;
        if (n == 0)
            return i;
    }
    return 99;
}

static void test_service(void)
{
    vc_translator *t = mk();
    json_t *v = J("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\",\"namespace\":\"demo\","
                  "\"uid\":\"u1\",\"labels\":{\"app\":\"a\"},\"annotations\":{\"note\":\"1\"}},"
                  "\"spec\":{\"ports\":[{\"port\":80}]}}");
    json_t *h = J("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{}}");
    /* the create: the tenant's keys recorded, no host-owned records */
    json_object_del(h, "metadata");
    json_object_set_new(h, "metadata", json_object());
    CHECK(forward(t, v, h));
    CHECK_STR(astr(h, VC__A_MANAGED_ANNOTATIONS), "note");
    CHECK_STR(astr(h, VC__A_MANAGED_LABELS), "app");
    CHECK(astr(h, VC__A_HOST_ANNOTATIONS) == NULL && astr(h, VC__A_HOST_LABELS) == NULL);
    CHECK_RC(settle(t, v, h), 1);

    /* the host adds a label and an annotation (and bookkeeping of ours) */
    json_object_set_new(ann(h), "example.com/x", json_string("y"));
    json_object_set_new(ann(h), "vcluster.loft.sh/something", json_string("s"));
    json_object_set_new(lab(h), "team", json_string("t"));
    /* first the host records them, the virtual object is not touched yet */
    json_t *vbefore = json_deep_copy(v);
    CHECK_RC(step(t, v, h), 1);
    CHECK(json_equal(v, vbefore));
    json_decref(vbefore);
    CHECK_STR(astr(h, VC__A_HOST_ANNOTATIONS), "example.com/x");
    CHECK_STR(astr(h, VC__A_HOST_LABELS), "team");
    /* then they are copied into the virtual object */
    CHECK_RC(step(t, v, h), 1);
    CHECK_STR(astr(v, "example.com/x"), "y");
    CHECK_STR(lstr(v, "team"), "t");
    CHECK(astr(v, "vcluster.loft.sh/something") == NULL);
    /* the forward write drops only the key in the syncer's prefix (the
     * syncer's own: a Service's metadata is the translation's), the managed
     * records keep only the tenant's keys */
    CHECK(forward(t, v, h));
    CHECK(astr(h, "vcluster.loft.sh/something") == NULL);
    CHECK_STR(astr(h, "example.com/x"), "y");
    CHECK_STR(lstr(h, "team"), "t");
    CHECK_STR(astr(h, VC__A_MANAGED_ANNOTATIONS), "note");
    CHECK_STR(astr(h, VC__A_MANAGED_LABELS), "app");
    CHECK_RC(settle(t, v, h), 1);

    /* the tenant changes its own key: the virtual value wins on the host */
    json_object_set_new(ann(v), "note", json_string("2"));
    CHECK(forward(t, v, h));
    CHECK_STR(astr(h, "note"), "2");
    CHECK_STR(astr(h, "example.com/x"), "y");
    CHECK_RC(settle(t, v, h), 1);
    /* the host changes its key: it reaches the virtual object */
    json_object_set_new(ann(h), "example.com/x", json_string("z"));
    CHECK_RC(settle(t, v, h), 2);
    CHECK_STR(astr(v, "example.com/x"), "z");
    /* the tenant edits (or drops) a host-owned key: the host's value wins */
    json_object_set_new(ann(v), "example.com/x", json_string("w"));
    json_object_del(lab(v), "team");
    CHECK(!forward(t, v, h));
    CHECK_STR(astr(h, "example.com/x"), "z");
    CHECK_RC(settle(t, v, h), 2);
    CHECK_STR(astr(v, "example.com/x"), "z");
    CHECK_STR(lstr(v, "team"), "t");

    /* the host removes them: first gone from the virtual object, then from
     * the record */
    json_object_del(ann(h), "example.com/x");
    json_object_del(lab(h), "team");
    CHECK_RC(step(t, v, h), 1);
    CHECK(astr(v, "example.com/x") == NULL && lstr(v, "team") == NULL);
    CHECK_STR(astr(h, VC__A_HOST_ANNOTATIONS), "example.com/x"); /* still recorded */
    CHECK_RC(step(t, v, h), 1);
    CHECK(astr(h, VC__A_HOST_ANNOTATIONS) == NULL && astr(h, VC__A_HOST_LABELS) == NULL);
    CHECK_RC(settle(t, v, h), 1);
    CHECK_STR(astr(v, "note"), "2"); /* the tenant's key never moved */
    CHECK_STR(lstr(v, "app"), "a");

    /* a key the tenant removed while the host still has it (the forward
     * write pending) is the tenant's: removed from the host, not copied back */
    json_object_del(ann(v), "note");
    CHECK_RC(step(t, v, h), 0);
    CHECK(forward(t, v, h));
    CHECK(astr(h, "note") == NULL);
    CHECK(astr(h, VC__A_MANAGED_ANNOTATIONS) == NULL);
    /* a key both sides have but no record names (an object from before
     * these records): the tenant's */
    json_object_set_new(ann(v), "both", json_string("v"));
    json_object_set_new(ann(h), "both", json_string("h"));
    CHECK_RC(step(t, v, h), 0);
    CHECK(forward(t, v, h));
    CHECK_STR(astr(h, "both"), "v");
    /* an annotation the kind never syncs stays as the host has it, and is
     * not copied back */
    json_object_set_new(ann(h), "field.cattle.io/publicEndpoints", json_string("[]"));
    CHECK_RC(step(t, v, h), 0);
    CHECK(!forward(t, v, h));
    CHECK_STR(astr(h, "field.cattle.io/publicEndpoints"), "[]");
    CHECK(astr(v, "field.cattle.io/publicEndpoints") == NULL);
    /* the host's reserved label and the translated ones are bookkeeping */
    json_object_set_new(lab(h), "release", json_string("r"));
    CHECK_RC(step(t, v, h), 0);
    json_decref(v);
    json_decref(h);
    vc_translator_free(t);
}

/* Pods: labels recorded in vcluster.loft.sh/labels, the pod's own
 * annotations (tokens, safe-to-evict) never travel. */
static void test_pod(void)
{
    vc_translator *t = mk();
    json_t *v = J("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"demo\","
                  "\"uid\":\"u1\",\"labels\":{\"app\":\"a\"},\"annotations\":{\"note\":\"1\"}},"
                  "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}");
    json_t *h = NULL;
    CHECK_RC(vc__translate_to_host(&h, NULL, t, json_deep_copy(v), NULL, VC_TRANSLATE_APPLY_DEFAULTS, NULL), VC_OK);
    json_t *hw = json_deep_copy(h);
    json_decref(h);
    h = hw;
    CHECK_RC(step(t, v, h), 0); /* as created: nothing the host owns */
    json_object_set_new(ann(h), "vcluster.loft.sh/token-abc", json_string("tok"));
    json_object_set_new(ann(h), VC__A_SAFE_TO_EVICT, json_string("true"));
    json_object_set_new(ann(h), "webhook.example.com/injected", json_string("yes"));
    json_object_set_new(lab(h), "sidecar", json_string("on"));
    CHECK_RC(step(t, v, h), 1);
    CHECK_STR(astr(h, VC__A_HOST_ANNOTATIONS), "webhook.example.com/injected");
    CHECK_STR(astr(h, VC__A_HOST_LABELS), "sidecar");
    CHECK_RC(step(t, v, h), 1);
    CHECK_STR(astr(v, "webhook.example.com/injected"), "yes");
    CHECK_STR(lstr(v, "sidecar"), "on");
    CHECK(astr(v, VC__A_SAFE_TO_EVICT) == NULL && astr(v, "vcluster.loft.sh/token-abc") == NULL);
    CHECK_RC(step(t, v, h), 0);
    /* the update the virtual change (its new labels) asks for keeps them */
    json_t *plan = NULL;
    CHECK_RC(vc__translate_pod_update(&plan, t, v, h, NULL), VC_OK);
    json_t *md = json_object_get(json_object_get(plan, "metadata"), "metadata");
    CHECK(json_object_get(json_object_get(md, "labels"), "sidecar") == NULL);
    CHECK(json_object_get(json_object_get(md, "annotations"), "webhook.example.com/injected") == NULL);
    const char *m = json_string_value(json_object_get(json_object_get(md, "annotations"), VC__A_MANAGED_ANNOTATIONS));
    CHECK(m == NULL || !strstr(m, "webhook")); /* unchanged ("note"), or without the host's */
    json_decref(plan);
    json_decref(v);
    json_decref(h);
    vc_translator_free(t);
}

static void test_errors(void)
{
    vc_translator *t = mk();
    json_t *vp = NULL, *hp = NULL, *o = J("{\"kind\":\"Nope\",\"apiVersion\":\"x/v1\"}");
    CHECK_RC(vc__translate_backsync(&vp, &hp, t, o, o), VC_ENOTSUPPORTED);
    CHECK_RC(vc__translate_backsync(&vp, &hp, t, NULL, o), VC_EINVAL);
    CHECK(vp == NULL && hp == NULL);
    json_decref(o);
    vc_translator_free(t);
}

int main(void)
{
    if (vc_global_init(NULL) < 0)
        return 1;
    test_service();
    test_pod();
    test_errors();
    vc_global_shutdown();
    return check_summary("translate-backsync");
}

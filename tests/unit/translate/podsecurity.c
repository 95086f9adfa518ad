/* Pod Security Standards: our checker against Kubernetes' own evaluator.
 * tests/resources/podsecurity/cases.json holds the pods;
 * expected.json is what k8s.io/pod-security-admission v0.37.2 says of each
 * at baseline and restricted (tests/tools/pssoracle writes it). Every
 * verdict and every message must be the same. */
#include <jansson.h>

#include <vcluster.h>

#include "check.h"
#include "translate/translate.h"

static const char *cur = "";

static void one(const json_t *pod, const char *level, const char *want)
{
    char *msg = NULL;
    CHECK_RC(vc__pod_security_check(pod, level, &msg), VC_OK);
    if (*want) {
        CHECK_STR(msg, want);
    } else {
        if (msg)
            fprintf(stderr, "%s at %s: unexpected refusal: %s\n", cur, level, msg);
        CHECK(msg == NULL);
    }
    vc__free(msg);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s RESOURCES_DIR\n", argv[0]);
        return 2;
    }
    vc_global_init(NULL);
    char path[4096];
    json_error_t je;
    snprintf(path, sizeof path, "%s/cases.json", argv[1]);
    json_t *cases = json_load_file(path, 0, &je);
    snprintf(path, sizeof path, "%s/expected.json", argv[1]);
    json_t *want = json_load_file(path, 0, &je);
    CHECK(json_is_array(cases) && json_is_array(want));
    CHECK(json_array_size(cases) == json_array_size(want));
    CHECK(json_array_size(cases) >= 40);
    size_t i;
    json_t *pod;
    json_array_foreach(cases, i, pod) {
        json_t *w = json_array_get(want, i);
        cur = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
        CHECK_STR(json_string_value(json_object_get(w, "name")), cur);
        one(pod, "baseline", json_string_value(json_object_get(w, "baseline")));
        one(pod, "restricted", json_string_value(json_object_get(w, "restricted")));
        /* privileged and "" allow everything */
        one(pod, "privileged", "");
        one(pod, "", "");
    }
    char *msg = NULL;
    CHECK_RC(vc__pod_security_check(json_array_get(cases, 0), "strict", &msg), VC_EINVAL);
    CHECK(msg == NULL);
    json_decref(cases);
    json_decref(want);
    vc_global_shutdown();
    return check_summary("translate-podsecurity");
}

/* Every broken values file under tests/resources/config/broken fails with
 * exactly the one-line message its first line announces ("# expect: ..."),
 * and leaves the config as it was. */
#include <dirent.h>
#include <stdlib.h>

#include "config/config.h"
#include "test.h"

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (vc__file_read(path, &data, &len) < 0)
        return NULL;
    return data;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void t_broken_files(void)
{
    const char *dir = VC_TEST_RESOURCES "/config/broken";
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d)
        return;
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256)
        if (strstr(e->d_name, ".yaml"))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(char *), cmp);
    CHECK(n >= 30);
    vc_config *base = NULL;
    CHECK_INT(vc_config_new(&base), VC_OK);
    vc_buf before = VC_BUF_INIT, after = VC_BUF_INIT;
    CHECK_INT(vc_config_to_yaml(base, &before), VC_OK);
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *text = slurp(path);
        CHECK(text != NULL);
        if (!text)
            continue;
        const char *exp = strstr(text, "# expect: ");
        CHECK(exp == text);
        char expect[1024] = "";
        if (exp) {
            exp += strlen("# expect: ");
            size_t len = strcspn(exp, "\n");
            snprintf(expect, sizeof expect, "%.*s", (int)len, exp);
        }
        t_current = names[i];
        int r = vc_config_load_string(base, text, names[i]);
        CHECK_INT(r, VC_ECONFIG);
        CHECK_INT(vc_error_last()->code, VC_ECONFIG);
        CHECK_INT(vc_error_last()->klass, VC_ERRCLASS_CONFIG);
        CHECK_STR(vc_error_last()->message, expect);
        CHECK(strchr(vc_error_last()->message, '\n') == NULL);
        /* the config did not change */
        CHECK_INT(vc_config_to_yaml(base, &after), VC_OK);
        CHECK_STR(after.ptr, before.ptr);
        vc__free(text);
        free(names[i]);
    }
    t_current = "t_broken_files";
    vc_buf_dispose(&before);
    vc_buf_dispose(&after);
    vc_config_free(base);
}

static void t_file_errors(void)
{
    vc_config *c = NULL;
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_load_file(c, VC_TEST_RESOURCES "/config/does-not-exist.yaml"), VC_ENOTFOUND);
    CHECK_CONTAINS(vc_error_last()->message, "does-not-exist.yaml");
    /* a file path names the file in messages */
    CHECK_INT(vc_config_load_file(c, VC_TEST_RESOURCES "/config/broken/bool-yes-please.yaml"), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "/config/broken/bool-yes-please.yaml:7:7: sync.toHost.pods.enabled:");
    CHECK_INT(vc_config_load_string(c, NULL, "x"), VC_EINVAL);
    CHECK_INT(vc_config_load_string(NULL, "a: 1", "x"), VC_EINVAL);
    CHECK_INT(vc_config_load_file(c, NULL), VC_EINVAL);
    CHECK_INT(vc_config_new(NULL), VC_EINVAL);
    /* a string without a name */
    CHECK_INT(vc_config_load_string(c, "nope: 1\n", NULL), VC_ECONFIG);
    CHECK_STR(vc_error_last()->message, "<string>:1:1: nope: unknown key");
    vc_config_free(c);
}

static void t_set_errors(void)
{
    vc_config *c = NULL;
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_set(c, "sync.toHost.pods.enabled", "yes please"), VC_ECONFIG);
    CHECK_STR(vc_error_last()->message,
              "--set sync.toHost.pods.enabled=yes please: sync.toHost.pods.enabled: expected a boolean, got \"yes please\"");
    CHECK_INT(vc_config_set(c, "sync..pods", "true"), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "invalid key");
    CHECK_INT(vc_config_set(c, "controlPlane.nope", "1"), VC_ECONFIG);
    CHECK_STR(vc_error_last()->message, "--set controlPlane.nope=1: controlPlane.nope: unknown key");
    CHECK_INT(vc_config_set(c, "sync.toHost.pods.enabled", "[unclosed"), VC_ECONFIG);
    CHECK_INT(vc_config_set(c, NULL, "1"), VC_EINVAL);
    vc_buf b = VC_BUF_INIT;
    CHECK_INT(vc_config_get(c, "sync.toHost.nope", &b), VC_ENOTFOUND);
    CHECK_INT(vc_config_get(c, "", &b), VC_ENOTFOUND);
    vc_buf_dispose(&b);
    vc_config_free(c);
}

int main(void)
{
    RUN(t_broken_files);
    RUN(t_file_errors);
    RUN(t_set_errors);
    TEST_DONE();
}

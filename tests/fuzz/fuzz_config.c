/*
 * libFuzzer target for vcluster.yaml loading (src/config).
 *
 * Input: bytes. The first byte picks the entry point: 's' treats the rest as
 * "key=value" for vc_config_set(), anything else loads the bytes as a values
 * file. Invariants checked on every input:
 *  - a failed load sets a one-line VC_ECONFIG error and leaves the config
 *    exactly as it was (its rendering does not change);
 *  - a successful load renders to YAML that loads into a fresh config and
 *    renders identically (round trip), and the typed getters agree.
 *
 * Built as a fuzzer with -Dfuzz=true (clang); always built as a replay
 * program (VC_FUZZ_REPLAY) that runs each file of a corpus folder:
 *   fuzz_config-replay tests/fuzz/corpus/config [more folders or files...]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vcluster.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_config: invariant broken: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static int32_t store_of_cfg(vc_config *c)
{
    int32_t v = -1;
    if (vc_config_backing_store(&v, c) != VC_OK)
        fail("vc_config_backing_store", vc_error_last()->message);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    vc_config *cfg = NULL;
    if (vc_config_new(&cfg) != VC_OK)
        fail("vc_config_new", vc_error_last()->message);
    vc_buf before = VC_BUF_INIT, after = VC_BUF_INIT;
    if (vc_config_to_yaml(cfg, &before) != VC_OK)
        fail("render defaults", vc_error_last()->message);

    int rc;
    if (size > 0 && text[0] == 's') {
        char *eq = strchr(text + 1, '=');
        if (eq)
            *eq = '\0';
        rc = vc_config_set(cfg, text + 1, eq ? eq + 1 : "");
    } else {
        rc = vc_config_load_string(cfg, text, "fuzz.yaml");
    }

    if (vc_config_to_yaml(cfg, &after) != VC_OK)
        fail("render", vc_error_last()->message);
    if (rc != VC_OK) {
        const vc_error *e = vc_error_last();
        if (rc != VC_ECONFIG && rc != VC_ENOMEM)
            fail("unexpected status", vc_strerror(rc));
        if (e->code != rc || !e->message[0] || strchr(e->message, '\n'))
            fail("error detail", e->message);
        if (strcmp(before.ptr, after.ptr) != 0)
            fail("a failed load changed the config", NULL);
    } else {
        vc_config *again = NULL;
        vc_buf twice = VC_BUF_INIT;
        if (vc_config_new(&again) != VC_OK)
            fail("vc_config_new", NULL);
        if (vc_config_load_string(again, after.ptr, "rendered.yaml") != VC_OK)
            fail("the rendering does not load", vc_error_last()->message);
        if (vc_config_to_yaml(again, &twice) != VC_OK || strcmp(twice.ptr, after.ptr) != 0)
            fail("round trip changed the rendering", NULL);
        if (strcmp(vc_config_distro(again), vc_config_distro(cfg)) ||
            store_of_cfg(again) != store_of_cfg(cfg) ||
            vc_config_ha_replicas(again) != vc_config_ha_replicas(cfg) ||
            strcmp(vc_config_service_type(again), vc_config_service_type(cfg)))
            fail("getters differ after the round trip", NULL);
        vc_buf_dispose(&twice);
        vc_config_free(again);
    }
    vc_buf_dispose(&before);
    vc_buf_dispose(&after);
    vc_config_free(cfg);
    free(text);
    return 0;
}

#ifdef VC_FUZZ_REPLAY
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int run_path(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz_config-replay: %s: not found\n", path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path) == 0 ? 0 : 1;
    }
    DIR *d = opendir(path);
    if (!d)
        return 1;
    struct dirent *e;
    int bad = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            (*count)++;
            bad |= run_file(p) != 0;
        }
    }
    closedir(d);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    vc_global_init(NULL);
    int count = 0, bad = 0;
    for (int i = 1; i < argc; i++)
        bad |= run_path(argv[i], &count);
    vc_global_shutdown();
    printf("# replayed %d inputs\n", count);
    return bad || count == 0;
}
#endif

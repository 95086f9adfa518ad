/*
 * libFuzzer target over arbitrary bytes, fed to every translation entry:
 * as JSON to vc__translate_to_host (several option sets), reverse lookup,
 * status back-sync, binding, merge, token requests, references; and as
 * YAML/JSON text to vc_translate_manifests. Invariants checked: no crash,
 * no leak, every failure sets an error message, every success yields
 * valid host names; the pod security check never crashes and words every
 * refusal.
 *
 * Built with -Dfuzz=true (clang, -fsanitize=fuzzer) as a fuzzer; always as a
 * replay program (VC_FUZZ_REPLAY) that runs each file of a corpus folder, so
 * CI exercises the corpus in every test run:
 *   fuzz_translate-replay tests/fuzz/corpus/translate
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <vcluster.h>

#include "translate/translate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vc_translator *g_t[3];

static void setup(void)
{
    if (g_t[0])
        return;
    vc_global_init(NULL);
    static const char *const tols[] = { "a=b:NoSchedule", "*" };
    for (int i = 0; i < 3; i++) {
        vc_translate_options o;
        vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
        o.name = i == 2 ? "a-rather-long-virtual-cluster-name-for-hashing" : "fz";
        o.kube_ip = i == 1 ? NULL : "10.96.0.1";
        o.dns_ip = i == 1 ? NULL : "fd00::a";
        o.owner_uid = i == 0 ? "uid" : NULL;
        o.sync_to_host = i == 0 ? VC_TRANSLATE_SYNC_ALL : i == 2 ? VC_TRANSLATE_SYNC_PERSISTENT_VOLUMES : 0;
        o.flags = i == 2 ? (VC_TRANSLATE_OPT_SECRETS_FOR_SA_TOKENS | VC_TRANSLATE_OPT_VIRTUAL_SCHEDULER) : 0;
        o.enforce_tolerations = tols;
        o.enforce_tolerations_count = i == 0 ? 2 : 0;
        if (vc_translator_new(&g_t[i], &o) < 0) {
            fprintf(stderr, "fuzz setup: %s\n", vc_error_last()->message);
            abort();
        }
    }
}

static void check_error(int rc)
{
    if (rc < 0 && !vc_error_last()->message[0])
        abort(); /* every failure must explain itself */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    /* text entry: YAML or JSON streams */
    vc_buf out = VC_BUF_INIT, notes = VC_BUF_INIT;
    for (int i = 0; i < 3; i++) {
        vc_buf_dispose(&out);
        int rc = vc_translate_manifests(&out, &notes, g_t[i], (const char *)data, size, "fuzz.yaml",
                                        i == 1 ? "{\"namespaceLabels\":{\"a\":\"b\"}}" : NULL,
                                        (i == 0 ? VC_TRANSLATE_APPLY_DEFAULTS : 0) | (i == 2 ? VC_TRANSLATE_PREVIEW : 0) |
                                            (i == 1 ? VC_TRANSLATE_OUTPUT_JSON : 0));
        check_error(rc);
        if (rc < 0 && out.size)
            abort(); /* no partial output */
    }
    vc_buf_dispose(&out);
    vc_buf_dispose(&notes);

    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!v)
        return 0;
    /* pod security: any JSON, both levels; a refusal always explains itself */
    static const char *const levels[] = { "baseline", "restricted" };
    for (int i = 0; i < 2; i++) {
        char *msg = NULL;
        int prc = vc__pod_security_check(v, levels[i], &msg);
        check_error(prc);
        if (msg && strncmp(msg, "violates PodSecurity", 20) != 0)
            abort();
        vc__free(msg);
    }
    json_t *inputs = json_object_get(v, "inputs");
    for (int i = 0; i < 3; i++) {
        json_t *h = NULL, *extra = NULL;
        vc__tr_diag diag;
        int rc = vc__translate_to_host(&h, &extra, g_t[i], json_deep_copy(v), inputs, (uint32_t)i, &diag);
        check_error(rc);
        if (rc == VC_OK) {
            const char *hn = vc__jpath_str(h, "metadata", "name");
            if (!hn || strlen(hn) > 253)
                abort();
            char *ns = NULL, *name = NULL;
            if (vc__translate_virtual_name(&ns, &name, g_t[i], h) == VC_OK &&
                (!name || strcmp(name, vc__jpath_str(v, "metadata", "name")) != 0))
                abort(); /* reverse(forward(x)) == x */
            vc__free(ns);
            vc__free(name);
            json_t *st = NULL, *b = NULL, *mv = NULL, *mh = NULL;
            check_error(vc__translate_status_to_virtual(&st, g_t[i], h, v));
            check_error(vc__translate_pod_binding(&b, g_t[i], h, v));
            check_error(vc__translate_merge_metadata(&mv, &mh, g_t[i], v, h, h, v));
            {
                /* back-sync against its host twin, and the twin's forward
                 * metadata (backsync.c) */
                json_t *bv = NULL, *bh = NULL, *d = json_deep_copy(h);
                check_error(vc__translate_backsync(&bv, &bh, g_t[i], v, h));
                (void)vc__translate_backsync_candidate(g_t[i], h);
                if (d)
                    check_error(vc__translate_backsync_desired(g_t[i], d, v, h));
                json_decref(bv);
                json_decref(bh);
                json_decref(d);
            }
            if (vc__streq(vc__jstr(v, "kind"), "Pod")) {
                /* updates against its own host twin and the pair swapped:
                 * no crash, no leak, only documented errors */
                json_t *up = NULL;
                char dg[65];
                check_error(vc__pod_update_digest(v, dg));
                check_error(vc__translate_pod_update(&up, g_t[i], v, h, inputs));
                json_decref(up);
                up = NULL;
                check_error(vc__translate_pod_update(&up, g_t[i], h, v, inputs));
                json_decref(up);
            }
            json_decref(st);
            json_decref(b);
            json_decref(mv);
            json_decref(mh);
        }
        json_decref(h);
        json_decref(extra);
    }
    json_t *r = NULL;
    check_error(vc__translate_pod_token_requests(&r, g_t[0], v));
    json_decref(r);
    r = NULL;
    check_error(vc__translate_pod_references(&r, g_t[2], v));
    json_decref(r);
    char *ns = NULL, *name = NULL;
    check_error(vc__translate_virtual_name(&ns, &name, g_t[0], v));
    vc__free(ns);
    vc__free(name);
    json_decref(v);
    return 0;
}

#ifdef VC_FUZZ_REPLAY
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            if (run_file(argv[i]) == 0)
                files++;
            continue;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], de->d_name);
            if (run_file(p) == 0)
                files++;
        }
        closedir(d);
    }
    for (int i = 0; i < 3; i++)
        vc_translator_free(g_t[i]);
    if (g_t[0])
        vc_global_shutdown();
    printf("replayed %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
#endif

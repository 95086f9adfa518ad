/* The fast JSON reader and compact writer (src/util/json.c) against jansson,
 * differentially: for every input, vc__json_loads must give what json_loads
 * gives (the same tree, or NULL with the same error text, line and column),
 * and vc__json_dump_compact the bytes json_dumps(JSON_COMPACT) gives.
 * Inputs: hand-written edge cases (escapes, surrogates, invalid UTF-8,
 * numbers at the int64 limits, duplicates, depth, trailing bytes), every
 * file of the translate fuzz corpus (argv[1]), and 20,000 deterministic
 * byte mutations of them. Then the public vc_translate_to_host, which uses
 * both, against json_loads + vc__translate_to_host + json_dumps on the corpus
 * pods: the same bytes. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <vcluster.h>

#include "test.h"
#include "translate/translate.h"
#include "util/json.h"

static int g_compared, g_failed_both;

static char *dump_jansson(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Compare the two readers (and then the two writers) on `text`. */
static void same(const char *text, size_t flags)
{
    json_error_t e1, e2;
    json_t *a = vc__json_loads(text, flags, &e1);
    json_t *b = json_loads(text, flags, &e2);
    g_compared++;
    CHECK((a == NULL) == (b == NULL));
    if (!a || !b) {
        if (!a && !b) {
            g_failed_both++;
            CHECK_STR(e1.text, e2.text);
            CHECK_INT(e1.line, e2.line);
            CHECK_INT(e1.column, e2.column);
        } else {
            fprintf(stderr, "  differs on: %.200s\n", text);
        }
        json_decref(a);
        json_decref(b);
        return;
    }
    CHECK(json_equal(a, b));
    char *want = dump_jansson(b);
    vc_buf got = VC_BUF_INIT;
    CHECK_INT(vc__json_dump_compact(a, &got), 0);
    CHECK_STR(got.ptr, want);
    if (want && got.ptr && strcmp(got.ptr, want))
        fprintf(stderr, "  input: %.200s\n", text);
    vc_buf_dispose(&got);
    free(want);
    json_decref(a);
    json_decref(b);
}

static void t_edge_cases(void)
{
    static const char *const cases[] = {
        "{}", "[]", " \t\r\n{ } ", "{\"a\":1}", "[1,2,3]", "[true,false,null]", "{\"a\":{\"b\":[{}]}}",
        "{\"s\":\"plain\"}", "{\"s\":\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"}", "{\"s\":\"\\u00e9\\u20ac\"}",
        "{\"s\":\"\\ud83d\\ude00\"}", "{\"s\":\"\\ud83d\"}", "{\"s\":\"\\ude00\"}", "{\"s\":\"\\ud83d\\u0041\"}",
        "{\"s\":\"\\u0000\"}", "{\"s\":\"a\\u0001b\\u001fc\\u007f\"}", "{\"s\":\"\\uZZZZ\"}", "{\"s\":\"\\x\"}",
        "{\"s\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}", "{\"s\":\"\xc3\"}", "{\"s\":\"\xc0\xaf\"}",
        "{\"s\":\"\xed\xa0\x80\"}", "{\"s\":\"\xf4\x90\x80\x80\"}", "{\"s\":\"\xff\"}", "{\"s\":\"tab\there\"}",
        "{\"s\":\"line\nbreak\"}", "{\"\\u00e9\":1}", "{\"k\\n\":\"v\\n\"}", "{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":2,\"a\":3}",
        "{\"n\":0}", "{\"n\":-0}", "{\"n\":007}", "{\"n\":-}", "{\"n\":1.5}", "{\"n\":1e3}", "{\"n\":-2E-3}",
        "{\"n\":123456789012345678}", "{\"n\":-123456789012345678}", "{\"n\":9223372036854775807}",
        "{\"n\":-9223372036854775808}", "{\"n\":9223372036854775808}", "{\"n\":-9223372036854775809}",
        "{\"n\":1.}", "{\"n\":.5}", "{\"n\":+1}", "{\"n\":1e}", "{\"n\":1e400}", "{\"t\":tru}", "{\"t\":truex}",
        "{\"t\":true1}", "{\"t\":nul}", "{\"t\":NULL}", "{\"a\":1,}", "[1,]", "[,1]", "{\"a\" 1}", "{a:1}",
        "{\"a\":1}x", "{\"a\":1} ", "{\"a\":1}\n\n", "", " ", "1", "\"s\"", "null", "[", "{", "{\"a\":",
        "{\"a\":\"unterminated", "\xef\xbb\xbf{}", "[\"\\ud800\\udc00\"]", "[\"\\uDBFF\\uDFFF\"]", "{\"\":\"\"}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        same(cases[i], JSON_REJECT_DUPLICATES);
        same(cases[i], 0);
    }
    /* depth around jansson's limit (2048) and the reader's own (512) */
    static const int depths[] = { 511, 512, 513, 2047, 2048, 2049 };
    for (size_t d = 0; d < sizeof depths / sizeof *depths; d++) {
        int n = depths[d];
        char *s = malloc((size_t)n * 2 + 8);
        int o = 0;
        for (int i = 0; i < n; i++)
            s[o++] = '[';
        s[o++] = '1';
        for (int i = 0; i < n; i++)
            s[o++] = ']';
        s[o] = '\0';
        same(s, JSON_REJECT_DUPLICATES);
        free(s);
    }
}

/* Writer-only cases: trees the reader never makes. */
static void t_writer(void)
{
    json_t *o = json_object();
    json_object_set_new(o, "real", json_real(0.1));
    json_object_set_new(o, "int", json_integer(INT64_MIN));
    json_object_set_new(o, "nul", json_stringn("a\0b", 3));
    json_object_set_new(o, "max", json_integer(INT64_MAX));
    json_object_setn_new(o, "k\0ey", 4, json_true());
    json_t *arr = json_array();
    json_array_append_new(arr, json_real(1e300));
    json_array_append_new(arr, json_real(-2.0));
    json_object_set_new(o, "reals", arr);
    char *want = dump_jansson(o);
    vc_buf got = VC_BUF_INIT;
    CHECK_INT(vc__json_dump_compact(o, &got), 0);
    CHECK_STR(got.ptr, want);
    free(want);
    /* appends: what was in the buffer stays */
    vc__buf_clear(&got);
    vc__buf_puts(&got, "x=");
    json_t *s = json_string("\xe2\x82\xac\"");
    CHECK_INT(vc__json_dump_compact(s, &got), 0);
    CHECK_STR(got.ptr, "x=\"\xe2\x82\xac\\\"\"");
    json_decref(s);
    /* invalid UTF-8 (only through _nocheck): both fail */
    json_t *bad = json_stringn_nocheck("\xc3", 1);
    vc__buf_clear(&got);
    CHECK_INT(vc__json_dump_compact(bad, &got), -1);
    CHECK(dump_jansson(bad) == NULL);
    CHECK_INT((long long)got.size, 0);
    json_decref(bad);
    vc_buf_dispose(&got);
    json_decref(o);
}

#define MAX_FILES 256
static char *g_files[MAX_FILES];
static size_t g_nfiles;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

static void load_corpus(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) && g_nfiles < MAX_FILES) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json"))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *s = slurp(path);
        if (s)
            g_files[g_nfiles++] = s;
    }
    closedir(d);
}

static void t_corpus(void)
{
    CHECK(g_nfiles >= 50);
    for (size_t i = 0; i < g_nfiles; i++)
        same(g_files[i], JSON_REJECT_DUPLICATES);
}

/* Deterministic mutations (xorshift): flip, insert or delete bytes, with a
 * bias to JSON's own characters so the mutants stay near the grammar. */
static void t_mutations(void)
{
    static const char alphabet[] = "{}[]\":,\\u0123456789abcdefnrtE.-+ \t\n\x80\xc3\xa9\xed\xf0\xff";
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int m = 0; m < 20000 && g_nfiles; m++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const char *src = g_files[x % g_nfiles];
        size_t n = strlen(src);
        char *s = malloc(n + 8);
        memcpy(s, src, n + 1);
        int edits = 1 + (int)((x >> 20) % 3);
        for (int k = 0; k < edits && n > 1; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = (size_t)(x % n);
            char c = alphabet[(x >> 32) % (sizeof alphabet - 1)];
            switch ((x >> 40) % 3) {
            case 0: s[at] = c; break;
            case 1: memmove(s + at + 1, s + at, n - at + 1), s[at] = c, n++; break;
            default: memmove(s + at, s + at + 1, n - at), n--; break;
            }
        }
        same(s, (x >> 50) & 1 ? JSON_REJECT_DUPLICATES : 0);
        free(s);
    }
}

/* The public string API (fast reader and writer) against the jansson path,
 * on every corpus pod. */
static void t_translate_api(void)
{
    vc_translate_options o;
    vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
    o.name = "my-vcluster";
    o.kube_ip = "10.96.0.1";
    o.dns_ip = "10.96.0.10";
    vc_translator *t = NULL;
    CHECK_INT(vc_translator_new(&t, &o), VC_OK);
    int compared = 0;
    for (size_t i = 0; i < g_nfiles; i++) {
        json_t *doc = json_loads(g_files[i], JSON_REJECT_DUPLICATES, NULL);
        json_t *inputs = json_object_get(doc, "inputs");
        char *in_text = inputs ? json_dumps(inputs, JSON_COMPACT) : NULL;
        json_object_del(doc, "inputs");
        char *obj_text = doc ? json_dumps(doc, 0) : NULL; /* spaced: the reader skips whitespace */
        json_decref(doc);
        if (!obj_text) {
            free(in_text);
            continue;
        }
        vc_buf got = VC_BUF_INIT;
        int rc1 = vc_translate_to_host(&got, t, obj_text, in_text, 0);
        json_t *v = json_loads(obj_text, JSON_REJECT_DUPLICATES, NULL);
        json_t *in = in_text ? json_loads(in_text, JSON_REJECT_DUPLICATES, NULL) : NULL;
        json_t *host = NULL, *extra = NULL;
        int rc2 = vc__translate_to_host(&host, &extra, t, v, in, 0, NULL);
        CHECK_INT(rc1, rc2);
        if (rc1 == VC_OK && rc2 == VC_OK) {
            json_t *out = host;
            if (extra) {
                out = json_array();
                json_array_append(out, host);
                json_array_extend(out, extra);
            }
            char *want = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);
            CHECK_STR(got.ptr, want);
            compared++;
            free(want);
            if (extra)
                json_decref(out);
        }
        json_decref(host);
        json_decref(extra);
        json_decref(in);
        vc_buf_dispose(&got);
        free(obj_text);
        free(in_text);
    }
    CHECK(compared >= 20);
    printf("# translate API: %d corpus objects byte for byte\n", compared);
    vc_translator_free(t);
}

int main(int argc, char **argv)
{
    vc_global_init(NULL);
    if (argc > 1)
        load_corpus(argv[1]);
    RUN(t_edge_cases);
    RUN(t_writer);
    RUN(t_corpus);
    RUN(t_mutations);
    RUN(t_translate_api);
    printf("# %d inputs compared, %d rejected by both\n", g_compared, g_failed_both);
    printf("# %d checks, %d failed\n", t_checks, t_failures);
    for (size_t i = 0; i < g_nfiles; i++)
        free(g_files[i]);
    vc_global_shutdown();
    return t_failures ? 1 : 0;
}

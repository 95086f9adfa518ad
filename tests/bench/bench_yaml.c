/* The YAML emitter (vc__yaml_emit) over the translate goldens' documents:
 *   meson compile -C build && build/tests/bench/bench_yaml [ROUNDS]
 * Parses tests/resources/translate/ (*.out.yaml) once, then emits every document ROUNDS times
 * (default 2000) and prints documents/s and MB/s of CPU time; each emitted
 * document is parsed back once and must equal the original. For scale, the
 * same documents are also parsed (vc__yaml_parse) ROUNDS times. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"
#include "util/yaml.h"

#ifndef VC_SOURCE_ROOT
#define VC_SOURCE_ROOT "."
#endif

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: the machine may be shared */
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 2000;
    const char *dir = VC_SOURCE_ROOT "/tests/resources/translate";
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return 1;
    }
    json_t *docs = json_array();
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 9 || strcmp(e->d_name + n - 9, ".out.yaml") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *text = NULL;
        size_t len = 0;
        json_t *ds = NULL;
        if (vc__file_read(path, &text, &len) == VC_OK && vc__yaml_parse(text, len, path, &ds, NULL) == VC_OK)
            json_array_extend(docs, ds);
        json_decref(ds);
        vc__free(text);
    }
    closedir(d);
    size_t i;
    json_t *doc;
    int bad = 0;
    json_array_foreach(docs, i, doc) {
        vc_buf b = VC_BUF_INIT;
        json_t *back = NULL;
        if (vc__yaml_emit(&b, doc) < 0 || vc__yaml_parse(b.ptr, b.size, "emitted", &back, NULL) < 0 ||
            !json_equal(json_array_get(back, 0), doc)) {
            fprintf(stderr, "round trip differs:\n%s\n", b.ptr ? b.ptr : "");
            bad++;
        }
        json_decref(back);
        vc_buf_dispose(&b);
    }
    size_t bytes = 0;
    double t0 = now_s();
    for (int r = 0; r < rounds; r++) {
        json_array_foreach(docs, i, doc) {
            vc_buf b = VC_BUF_INIT;
            vc__yaml_emit(&b, doc);
            bytes += b.size;
            vc_buf_dispose(&b);
        }
    }
    double dt = now_s() - t0;
    size_t n = json_array_size(docs) * (size_t)rounds;
    printf("emit: %zu documents (%zu distinct), %.1f MB in %.3f s CPU: %.0f documents/s, %.1f MB/s, %.2f us/document\n",
           n, json_array_size(docs), (double)bytes / 1e6, dt, (double)n / dt, (double)bytes / 1e6 / dt,
           dt * 1e6 / (double)n);
    /* parsing the same text, for scale */
    vc_buf all = VC_BUF_INIT;
    json_array_foreach(docs, i, doc) {
        if (i)
            vc__buf_puts(&all, "---\n");
        vc__yaml_emit(&all, doc);
    }
    t0 = now_s();
    for (int r = 0; r < rounds; r++) {
        json_t *back = NULL;
        vc__yaml_parse(all.ptr, all.size, "all", &back, NULL);
        json_decref(back);
    }
    dt = now_s() - t0;
    printf("parse: %.2f us/document\n", dt * 1e6 / (double)n);
    vc_buf_dispose(&all);
    json_decref(docs);
    return bad ? 1 : 0;
}

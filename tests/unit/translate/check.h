/* Tiny TAP-style assertions for the translation tests. */
#ifndef VC_TEST_TRANSLATE_CHECK_H
#define VC_TEST_TRANSLATE_CHECK_H
#include <stdio.h>
#include <string.h>

static int g_checks, g_failed;

#define CHECK(cond)                                                                                    \
    do {                                                                                               \
        g_checks++;                                                                                    \
        if (!(cond)) {                                                                                 \
            g_failed++;                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond,   \
                    vc_error_last()->message);                                                         \
        }                                                                                              \
    } while (0)

#define CHECK_STR(got, want)                                                                           \
    do {                                                                                               \
        const char *g_ = (got), *w_ = (want);                                                          \
        g_checks++;                                                                                    \
        if (!g_ || !w_ || strcmp(g_, w_) != 0) {                                                       \
            g_failed++;                                                                                \
            fprintf(stderr, "%s:%d: %s\n    got  \"%s\"\n    want \"%s\"\n", __FILE__, __LINE__, #got,   \
                    g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                           \
        }                                                                                              \
    } while (0)

#define CHECK_RC(expr, want)                                                                           \
    do {                                                                                               \
        int r_ = (expr);                                                                               \
        g_checks++;                                                                                    \
        if (r_ != (want)) {                                                                            \
            g_failed++;                                                                                \
            fprintf(stderr, "%s:%d: %s = %d, want %d (%s)\n", __FILE__, __LINE__, #expr, r_, (want),     \
                    vc_error_last()->message);                                                         \
        }                                                                                              \
    } while (0)

static int check_summary(const char *name)
{
    printf("# %s: %d checks, %d failed\n", name, g_checks, g_failed);
    return g_failed ? 1 : 0;
}
#endif

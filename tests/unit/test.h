/* Minimal test harness: one process per test file, TAP-like lines, exit 1 on failure. */
#ifndef VC_TEST_H
#define VC_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failures;
static int t_checks;
static const char *t_current = "";

#define CHECK(cond)                                                                  \
    do {                                                                             \
        t_checks++;                                                                  \
        if (!(cond)) {                                                               \
            t_failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, t_current, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_INT(a, b)                                                              \
    do {                                                                             \
        long long _a = (long long)(a), _b = (long long)(b);                          \
        t_checks++;                                                                  \
        if (_a != _b) {                                                              \
            t_failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d [%s]: %s == %lld, expected %lld\n", __FILE__, __LINE__, \
                    t_current, #a, _a, _b);                                          \
        }                                                                            \
    } while (0)

#define CHECK_STR(a, b)                                                              \
    do {                                                                             \
        const char *_a = (a), *_b = (b);                                             \
        t_checks++;                                                                  \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                     \
            t_failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d [%s]: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
                    t_current, #a, _a ? _a : "(null)", _b ? _b : "(null)");          \
        }                                                                            \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                  \
    do {                                                                             \
        const char *_h = (hay), *_n = (needle);                                      \
        t_checks++;                                                                  \
        if (!_h || !strstr(_h, _n)) {                                                \
            t_failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d [%s]: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
                    t_current, _h ? _h : "(null)", _n);                              \
        }                                                                            \
    } while (0)

#define RUN(fn)                                                                      \
    do {                                                                             \
        int _before = t_failures;                                                    \
        t_current = #fn;                                                             \
        fn();                                                                        \
        printf("%s %s\n", t_failures == _before ? "ok" : "not ok", #fn);             \
        fflush(stdout);                                                              \
    } while (0)

#define TEST_DONE()                                                                  \
    do {                                                                             \
        printf("# %d checks, %d failed\n", t_checks, t_failures);                    \
        return t_failures ? 1 : 0;                                                   \
    } while (0)

#endif

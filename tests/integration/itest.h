/* Shared helpers for integration tests against the real host cluster. */
#ifndef VC_ITEST_H
#define VC_ITEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vcluster.h>

#include "test.h"

/* The host kubeconfig, or exit: 77 (skip) with VC_SKIP_CLUSTER=1, else FAIL. */
static const char *itest_kubeconfig(void)
{
    const char *kc = getenv("VC_TEST_KUBECONFIG");
    if (kc && *kc && access(kc, R_OK) == 0)
        return kc;
    const char *skip = getenv("VC_SKIP_CLUSTER");
    if (skip && !strcmp(skip, "1")) {
        printf("# skipped: VC_SKIP_CLUSTER=1\n");
        exit(77);
    }
    fprintf(stderr, "FAIL: no host cluster: VC_TEST_KUBECONFIG is %s. Run the suite through tests/run "
                    "(it starts tests/cluster/hostcluster), or set VC_SKIP_CLUSTER=1 to skip integration tests.\n",
            kc && *kc ? "unreadable" : "unset");
    exit(1);
}

/* A unique, DNS-safe name with a prefix. */
static void itest_name(char *out, size_t n, const char *prefix)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, n, "%s-%lx%03lx", prefix, (unsigned long)(ts.tv_sec & 0xffffff),
             (unsigned long)((ts.tv_nsec / 1000) & 0xfff) ^ (unsigned long)getpid());
}

/* VC_TEST_LOG=LEVEL: the library's log on stderr with a millisecond clock,
 * for the story behind a failure */
static inline void itest_log_stderr(int level, const char *subsystem, const char *msg, void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    fprintf(stderr, "[%lld %d %s] %s\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, level, subsystem, msg);
}

static inline void itest_log_from_env(void)
{
    if (getenv("VC_TEST_LOG"))
        vc_log_set(atoi(getenv("VC_TEST_LOG")), itest_log_stderr, NULL);
}

#endif

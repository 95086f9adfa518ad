/*
 * An old program against a newer library. This file is compiled against the
 * real public headers and linked twice: to this build's library, and to one
 * built from tests/abi/v2headers.py's headers, where every versioned struct
 * (the allocator, the six options structs, the syncer stats) has one more
 * field and one more version. Every struct lives in a heap block of exactly
 * the size this caller knows, so under ASan a library that writes or reads
 * the newest struct's size (sizeof(newest) in an _init(), a struct copy of
 * the options, a memset of the stats) fails with heap-buffer-overflow.
 * Public API only.
 */
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <vcluster.h>

#include "test.h"

static const char *KUBECONFIG =
    "apiVersion: v1\n"
    "kind: Config\n"
    "clusters:\n"
    "- name: c\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:1\n"
    "    insecure-skip-tls-verify: true\n"
    "users:\n"
    "- name: u\n"
    "  user:\n"
    "    token: abc\n"
    "contexts:\n"
    "- name: x\n"
    "  context:\n"
    "    cluster: c\n"
    "    user: u\n"
    "current-context: x\n";

/* exactly `size` bytes, filled with a pattern that an _init() must replace */
static void *block(size_t size)
{
    void *p = malloc(size);
    if (!p)
        abort();
    memset(p, 0xA5, size);
    return p;
}

static void *my_malloc(size_t n, void *ud) { (void)ud; return malloc(n); }
static void *my_realloc(void *p, size_t n, void *ud) { (void)ud; return realloc(p, n); }
static void my_free(void *p, void *ud) { (void)ud; free(p); }

/* A connection that is never used (nothing listens on 127.0.0.1:1). The
 * other cases take theirs from the INIT macro, so that each case fails on
 * its own struct. */
static vc_kube *kube_from(vc_kube_options *o)
{
    o->kubeconfig_data = KUBECONFIG;
    o->flags = VC_KUBE_NO_RETRY;
    o->timeout_ms = 2000;
    vc_kube *k = NULL;
    CHECK_INT(vc_kube_new(&k, o), VC_OK);
    return k;
}

static vc_kube *kube(void)
{
    vc_kube_options o = VC_KUBE_OPTIONS_INIT;
    return kube_from(&o);
}

static void test_kube(void)
{
    vc_kube_options *o = block(sizeof *o);
    CHECK_INT(vc_kube_options_init(o, VC_KUBE_OPTIONS_VERSION), VC_OK);
    vc_kube_options d = VC_KUBE_OPTIONS_INIT;
    CHECK(memcmp(o, &d, sizeof d) == 0);
    vc_kube_free(kube_from(o));
    free(o);
}

static void test_translate(void)
{
    vc_translate_options *o = block(sizeof *o);
    CHECK_INT(vc_translate_options_init(o, VC_TRANSLATE_OPTIONS_VERSION), VC_OK);
    vc_translate_options d = VC_TRANSLATE_OPTIONS_INIT;
    CHECK(memcmp(o, &d, sizeof d) == 0);
    o->name = "abi";
    vc_translator *t = NULL;
    CHECK_INT(vc_translator_new(&t, o), VC_OK);
    free(o);
    vc_translator_free(t);
}

static void test_syncer(void)
{
    vc_kube *host = kube(), *virt = kube();
    vc_syncer_options *o = block(sizeof *o);
    CHECK_INT(vc_syncer_options_init(o, VC_SYNCER_OPTIONS_VERSION), VC_OK);
    vc_syncer_options d = VC_SYNCER_OPTIONS_INIT;
    CHECK(memcmp(o, &d, sizeof d) == 0);
    o->name = "abi";
    vc_syncer *s = NULL;
    CHECK_INT(vc_syncer_new(&s, host, virt, o), VC_OK);
    free(o);
    vc_syncer_free(s);

    /* a caller of options version 1: the struct ends before kubelet_address */
    size_t v1 = offsetof(vc_syncer_options, kubelet_address);
    o = block(v1);
    CHECK_INT(vc_syncer_options_init(o, 1), VC_OK);
    CHECK_INT(o->version, 1);
    CHECK(o->name == NULL && o->config_yaml == NULL && o->resync_seconds == 0);
    o->name = "abi";
    CHECK_INT(vc_syncer_new(&s, host, virt, o), VC_OK);
    free(o);
    vc_syncer_free(s);
    vc_kube_free(host);
    vc_kube_free(virt);
}

static void test_stats(void)
{
    vc_kube *host = kube(), *virt = kube();
    vc_syncer_options o = VC_SYNCER_OPTIONS_INIT;
    o.name = "abi";
    vc_syncer *s = NULL;
    CHECK_INT(vc_syncer_new(&s, host, virt, &o), VC_OK);
    vc_syncer_stats *st = block(sizeof *st);
    st->version = VC_SYNCER_STATS_VERSION;
    CHECK_INT(vc_syncer_stats_get(s, st), VC_OK);
    CHECK_INT(st->version, VC_SYNCER_STATS_VERSION);
    CHECK(st->informers > 0);
    CHECK_INT(st->host_writes, 0);
    free(st);
    /* the per-controller and per-request stats (their own versioned structs) */
    vc_syncer_controller_stats *cs = block(sizeof *cs);
    cs->version = VC_SYNCER_CONTROLLER_STATS_VERSION;
    CHECK_INT(vc_syncer_controller_stats_get(s, 0, cs), VC_OK);
    CHECK_INT(cs->version, VC_SYNCER_CONTROLLER_STATS_VERSION);
    CHECK(cs->name && *cs->name && cs->reconcile_time && cs->reconcile_time->count == 0);
    CHECK_INT(vc_syncer_controller_stats_get(s, 1000, cs), VC_ITEROVER);
    cs->version = 0;
    CHECK_INT(vc_syncer_controller_stats_get(s, 0, cs), VC_EVERSION);
    free(cs);
    vc_syncer_request_stats *rs = block(sizeof *rs);
    rs->version = VC_SYNCER_REQUEST_STATS_VERSION;
    CHECK_INT(vc_syncer_request_stats_get(s, 0, rs), VC_ITEROVER); /* no request yet */
    free(rs);
    vc_syncer_free(s);
    vc_kube_free(host);
    vc_kube_free(virt);
}

/* Events are the library's: their error is a pointer (never NULL), so
 * vc_sync_event and vc_error can both grow. Nothing listens on
 * 127.0.0.1:1, so the first lists fail and come back as error events. */
static void test_events(void)
{
    vc_kube *host = kube(), *virt = kube();
    vc_syncer_options o = VC_SYNCER_OPTIONS_INIT;
    o.name = "abi";
    vc_syncer *s = NULL;
    CHECK_INT(vc_syncer_new(&s, host, virt, &o), VC_OK);
    int errors = 0, others = 0;
    for (int i = 0; i < 100 && !errors; i++) {
        int64_t ms = 0;
        CHECK_INT(vc_syncer_get_timeout(s, &ms), VC_OK);
        struct pollfd p = { vc_syncer_get_fd(s), POLLIN, 0 };
        poll(&p, 1, ms < 0 || ms > 50 ? 50 : (int)ms);
        int32_t st = -1;
        CHECK_INT(vc_syncer_step(s, 0, &st), VC_OK);
        CHECK(st >= VC_STEP_IDLE && st <= VC_STEP_STOPPED);
        vc_sync_event *ev;
        while (vc_syncer_next_event(&ev, s) == VC_OK) {
            CHECK(ev->error != NULL);
            if (ev->type == VC_SYNC_ERROR) {
                errors++;
                CHECK_INT(ev->error->code, VC_ECONNECT);
                CHECK(ev->error->message && strstr(ev->error->message, "127.0.0.1"));
                CHECK(ev->error->reason != NULL);
            } else {
                others++;
                CHECK_INT(ev->error->code, VC_OK);
                CHECK_STR(ev->error->message, "");
            }
            vc_sync_event_free(ev);
        }
    }
    CHECK(errors > 0);
    vc_syncer_free(s);
    vc_kube_free(host);
    vc_kube_free(virt);
}

static void test_kubelet_proxy(void)
{
    vc_kube *host = kube();
    vc_kubelet_proxy_options *o = block(sizeof *o);
    CHECK_INT(vc_kubelet_proxy_options_init(o, VC_KUBELET_PROXY_OPTIONS_VERSION), VC_OK);
    vc_kubelet_proxy_options d = VC_KUBELET_PROXY_OPTIONS_INIT;
    CHECK(memcmp(o, &d, sizeof d) == 0);
    o->name = "abi";
    o->client_ca_pem = "not a certificate";
    vc_kubelet_proxy *p = NULL;
    CHECK_INT(vc_kubelet_proxy_new(&p, host, o), VC_ETLS);
    free(o);
    vc_kube_free(host);
}

static void test_lifecycle(void)
{
    vc_kube *host = kube();
    vc_create_options *o = block(sizeof *o);
    CHECK_INT(vc_create_options_init(o, VC_CREATE_OPTIONS_VERSION), VC_OK);
    vc_create_options d = VC_CREATE_OPTIONS_INIT;
    CHECK(memcmp(o, &d, sizeof d) == 0);
    o->name = "abi";
    o->flags = VC_CREATE_PRINT;
    vc_buf out = VC_BUF_INIT;
    CHECK_INT(vc_cluster_create(host, o, &out), VC_OK);
    CHECK(out.size > 0 && strstr(out.ptr, "kind: StatefulSet"));
    vc_buf_dispose(&out);
    free(o);

    vc_cluster_op_options *op = block(sizeof *op);
    CHECK_INT(vc_cluster_op_options_init(op, VC_CLUSTER_OP_OPTIONS_VERSION), VC_OK);
    vc_cluster_op_options od = VC_CLUSTER_OP_OPTIONS_INIT;
    CHECK(memcmp(op, &od, sizeof od) == 0);
    op->timeout_ms = 2000;
    CHECK(vc_cluster_pause(host, "abi", NULL, op) < 0); /* nothing listens on 127.0.0.1:1 */
    free(op);
    vc_kube_free(host);
}

static int init_allocator(void)
{
    vc_allocator *a = block(sizeof *a);
    a->version = VC_ALLOCATOR_VERSION;
    a->malloc_fn = my_malloc;
    a->realloc_fn = my_realloc;
    a->free_fn = my_free;
    a->user_data = NULL;
    int rc = vc_global_init(a);
    free(a);
    return rc;
}

/* argv[1] picks one case (each is its own meson test, so that each struct
 * is shown to fail on its own); no argument runs them all */
int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    int all = !only;
    CHECK_INT(all || !strcmp(only, "allocator") ? init_allocator() : vc_global_init(NULL), VC_OK);
    if (all || !strcmp(only, "kube"))
        RUN(test_kube);
    if (all || !strcmp(only, "translate"))
        RUN(test_translate);
    if (all || !strcmp(only, "syncer"))
        RUN(test_syncer);
    if (all || !strcmp(only, "stats"))
        RUN(test_stats);
    if (all || !strcmp(only, "events"))
        RUN(test_events);
    if (all || !strcmp(only, "kubelet"))
        RUN(test_kubelet_proxy);
    if (all || !strcmp(only, "lifecycle"))
        RUN(test_lifecycle);
    vc_global_shutdown();
    TEST_DONE();
}

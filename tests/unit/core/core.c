/* Global init refcount, allocator hook, errors, logging, version, options init. */
#include <pthread.h>

#include <vcluster.h>

#include "util/util.h"
#include "test.h"

static long n_alloc, n_free;
static void *my_malloc(size_t n, void *ud) { (void)ud; __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return malloc(n); }
static void *my_realloc(void *p, size_t n, void *ud) { (void)ud; if (!p) __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED); return realloc(p, n); }
static void my_free(void *p, void *ud) { (void)ud; if (p) __atomic_add_fetch(&n_free, 1, __ATOMIC_RELAXED); free(p); }

static void t_global_refcount_and_allocator(void)
{
    CHECK_INT(vc_global_shutdown(), VC_ESTATE);
    vc_allocator bad = { 9, my_malloc, my_realloc, my_free, NULL };
    CHECK_INT(vc_global_init(&bad), VC_EVERSION);
    vc_allocator a = { VC_ALLOCATOR_VERSION, my_malloc, my_realloc, my_free, NULL };
    CHECK_INT(vc_global_init(&a), VC_OK);
    CHECK_INT(vc_global_init(NULL), VC_OK);
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig_data = "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                        "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n";
    vc_kube *k = NULL;
    CHECK_INT(vc_kube_new(&k, &o), VC_OK);
    vc_kube_free(k);
    CHECK(n_alloc > 0);
    CHECK_INT(vc_global_shutdown(), 1);
    CHECK_INT(vc_global_shutdown(), 0);
    CHECK_INT(n_alloc, n_free);
    CHECK_INT(vc_global_shutdown(), VC_ESTATE);
}

static void t_errors(void)
{
    vc_global_init(NULL);
    vc_error_clear();
    const vc_error *e = vc_error_last();
    CHECK(e != NULL);
    CHECK_INT(e->code, VC_OK);
    CHECK_STR(e->message, "");
    CHECK_STR(e->reason, "");
    for (int c = -21; c <= 1; c++)
        CHECK(vc_strerror(c) != NULL && strcmp(vc_strerror(c), "unknown status") != 0);
    CHECK_STR(vc_strerror(-1000), "unknown status");
    vc_kube *k = NULL;
    CHECK_INT(vc_kube_new(NULL, NULL), VC_EINVAL);
    CHECK_INT(vc_error_last()->code, VC_EINVAL);
    CHECK_INT(vc_kube_request(k, NULL, NULL, "GET", "/", NULL, NULL), VC_EINVAL);
    vc_buf b = VC_BUF_INIT;
    vc_buf_dispose(&b);
    vc_buf_dispose(NULL);
    vc_free(NULL);
    /* messages are bounded: a 100 KB name is cut at 4,096 bytes, with an
     * ellipsis, on a UTF-8 boundary (issue 19 item 4) */
    char *big = malloc(100001);
    CHECK(big != NULL);
    if (big) {
        for (size_t i = 0; i < 100000; i += 2)
            memcpy(big + i, "\xc3\xa9", 2); /* é */
        big[100000] = '\0';
        vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "name %s is not valid", big);
        const char *m = vc_error_last()->message;
        size_t ml = strlen(m);
        CHECK(ml <= 4096 && ml > 4000);
        CHECK(ml >= 3 && strcmp(m + ml - 3, "...") == 0);
        CHECK(ml >= 4 && ((unsigned char)m[ml - 4] == 0xa9)); /* a whole é before the dots */
        free(big);
    }
    vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "short %d", 1);
    CHECK_STR(vc_error_last()->message, "short 1");
    vc_global_shutdown();
}

static void *thread_err(void *arg)
{
    (void)arg;
    /* a fresh thread sees no error */
    return (void *)(long)vc_error_last()->code;
}

static void t_error_thread_local(void)
{
    vc_global_init(NULL);
    vc_kube_new(NULL, NULL);
    pthread_t t;
    void *r = NULL;
    pthread_create(&t, NULL, thread_err, NULL);
    pthread_join(t, &r);
    CHECK_INT((long)r, VC_OK);
    CHECK_INT(vc_error_last()->code, VC_EINVAL);
    vc_global_shutdown();
}

static int log_count;
static char log_last[256];
static void log_fn(int level, const char *sub, const char *msg, void *ud)
{
    (void)level;
    log_count++;
    snprintf(log_last, sizeof log_last, "%s|%s|%s", sub, msg, (const char *)ud);
}

static void t_logging(void)
{
    vc_log_set(VC_LOG_INFO, log_fn, "ud");
    vc__log(VC_LOG_DEBUG, "kube", "hidden %d", 1);
    CHECK_INT(log_count, 0);
    vc__log(VC_LOG_WARN, "kube", "shown %d", 2);
    CHECK_INT(log_count, 1);
    CHECK_STR(log_last, "kube|shown 2|ud");
    vc_log_set(VC_LOG_TRACE, NULL, NULL);
    vc__log(VC_LOG_ERROR, "kube", "gone");
    CHECK_INT(log_count, 1);
}

static void t_version(void)
{
    const char *s = NULL;
    CHECK_INT(vc_version(&s), VC_VERSION_NUMBER);
    CHECK_STR(s, VC_VERSION_STRING);
    CHECK_STR(s, EXPECTED_VERSION);
    CHECK(VC_VERSION_CHECK(0, 1, 0));
    CHECK(!VC_VERSION_CHECK(99, 0, 0));
    CHECK_INT(VC_VERSION_NUMBER, (VC_VERSION_MAJOR << 16) | (VC_VERSION_MINOR << 8) | VC_VERSION_PATCH);
}

static void t_options_init(void)
{
    /* structinit: INIT macro == _init() for every options struct */
    vc_kube_options a = VC_KUBE_OPTIONS_INIT, b;
    memset(&b, 0xab, sizeof b);
    CHECK_INT(vc_kube_options_init(&b, VC_KUBE_OPTIONS_VERSION), VC_OK);
    CHECK(a.version == b.version && a.flags == b.flags && a.kubeconfig == b.kubeconfig &&
          a.kubeconfig_data == b.kubeconfig_data && a.context == b.context &&
          a.default_namespace == b.default_namespace && a.timeout_ms == b.timeout_ms && a.qps == b.qps &&
          a.burst == b.burst && a.max_retries == b.max_retries && a.in_cluster_dir == b.in_cluster_dir);
    CHECK_INT(vc_kube_options_init(&b, 0), VC_EVERSION);
    CHECK_INT(vc_kube_options_init(NULL, 1), VC_EINVAL);
    /* syncer options: version 2 added fields; a version-1 init writes only
     * the version-1 bytes */
    vc_syncer_options sa = VC_SYNCER_OPTIONS_INIT, sb;
    memset(&sb, 0xab, sizeof sb);
    CHECK_INT(vc_syncer_options_init(&sb, VC_SYNCER_OPTIONS_VERSION), VC_OK);
    CHECK(sa.version == sb.version && sa.flags == sb.flags && sa.name == sb.name && sa.resync_seconds == sb.resync_seconds &&
          sa.kubelet_address == sb.kubelet_address && sa.kubelet_port == sb.kubelet_port && sa.config == sb.config &&
          sa.leader_lease_name == sb.leader_lease_name && sa.leader_identity == sb.leader_identity &&
          sa.lease_duration_ms == sb.lease_duration_ms && sa.renew_deadline_ms == sb.renew_deadline_ms &&
          sa.retry_period_ms == sb.retry_period_ms && sb.version == 4);
    /* a version-3 init leaves the version-4 fields (leader election) alone */
    memset(&sb, 0xab, sizeof sb);
    CHECK_INT(vc_syncer_options_init(&sb, 3), VC_OK);
    CHECK(sb.config == NULL);
    CHECK(sb.leader_identity == (const char *)(uintptr_t)0xababababababababull);
    CHECK_INT((uint32_t)sb.retry_period_ms, 0xababababu);
    /* a version-2 init leaves the version-3 field (config) alone */
    memset(&sb, 0xab, sizeof sb);
    CHECK_INT(vc_syncer_options_init(&sb, 2), VC_OK);
    CHECK(sb.kubelet_address == NULL && sb.kubelet_port == 0);
    CHECK(sb.config == (const vc_config *)(uintptr_t)0xababababababababull);
    memset(&sb, 0xab, sizeof sb);
    CHECK_INT(vc_syncer_options_init(&sb, 1), VC_OK);
    CHECK_INT(sb.version, 1);
    CHECK(sb.name == NULL && sb.resync_seconds == 0);
    CHECK_INT((uint32_t)sb.kubelet_port, 0xababababu);
    CHECK_INT(vc_syncer_options_init(&sb, 5), VC_EVERSION);
}

/* vc_syncer_options.config (version 3): the parsed values are what the
 * syncer uses; config_yaml still works; both set is VC_EINVAL; a version-2
 * caller's struct ends before `config`, which is then not read. No request
 * is made before the first step, so an unreachable server will do. */
static void t_syncer_config(void)
{
    static const char kc[] = "apiVersion: v1\nkind: Config\n"
                             "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                             "users: [{name: u, user: {token: t}}]\n"
                             "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n";
    /* the host side of a toHost replication must be the host namespace:
     * a value only the syncer checks, so it shows which values it read */
    static const char bad[] = "networking:\n  replicateServices:\n    toHost:\n"
                              "    - from: default/a\n      to: elsewhere/b\n";
    vc_kube_options ko;
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig_data = kc;
    vc_kube *k = NULL;
    CHECK_INT(vc_kube_new(&k, &ko), VC_OK);
    vc_config *cfg = NULL;
    CHECK_INT(vc_config_new(&cfg), VC_OK);
    CHECK_INT(vc_config_load_string(cfg, bad, "bad.yaml"), VC_OK);
    vc_syncer *s = NULL;
    vc_syncer_options o;
    vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION);
    o.name = "cfg";
    o.config = cfg;
    CHECK_INT(vc_syncer_new(&s, k, k, &o), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "elsewhere/b");
    /* the same values as text (older callers) */
    o.config = NULL;
    o.config_yaml = bad;
    CHECK_INT(vc_syncer_new(&s, k, k, &o), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "elsewhere/b");
    /* both */
    o.config = cfg;
    CHECK_INT(vc_syncer_new(&s, k, k, &o), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "both");
    /* a version-2 caller: `config` is past its struct and not read */
    o.version = 2;
    o.config_yaml = NULL;
    CHECK_INT(vc_syncer_new(&s, k, k, &o), VC_OK);
    vc_syncer_free(s);
    s = NULL;
    /* good values through the pointer */
    o.version = VC_SYNCER_OPTIONS_VERSION;
    vc_config *good = NULL;
    CHECK_INT(vc_config_new(&good), VC_OK);
    CHECK_INT(vc_config_load_string(good, "networking:\n  replicateServices:\n    toHost:\n"
                                          "    - from: default/a\n      to: vcluster-cfg/b\n", "good.yaml"), VC_OK);
    o.config = good;
    CHECK_INT(vc_syncer_new(&s, k, k, &o), VC_OK);
    vc_config_free(good); /* borrowed for the call only */
    vc_syncer_free(s);
    vc_config_free(cfg);
    vc_kube_free(k);
}

int main(void)
{
    RUN(t_global_refcount_and_allocator);
    RUN(t_errors);
    RUN(t_error_thread_local);
    RUN(t_logging);
    RUN(t_version);
    RUN(t_options_init);
    RUN(t_syncer_config);
    TEST_DONE();
}

/* The threading rules of doc/threading.md, under ASan and (tests/run's
 * second build) ThreadSanitizer:
 *  - vc_log_set() returns only when no call to the sink it replaced is still
 *    running, so the caller may free the old user_data at once (what the Go
 *    binding does with its cgo.Handle); a sink may call vc_log_set() itself;
 *  - the last vc_global_shutdown() frees the last-error strings of every
 *    thread, not only its caller's;
 *  - a stress run: one thread drives syncers (against an address where
 *    nothing listens: every request fails, which is work enough), translates
 *    and logs, another frees the vc_kube handles those syncers still hold
 *    (the reference count is atomic) and makes and frees handles of its own,
 *    a third swaps and removes the log sink and frees each old user_data as
 *    soon as vc_log_set() returned. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vcluster.h>

#include "test.h"
#include "util/util.h"

#define LIVE 0x51a7e11u
#define DEAD 0xdeadu

typedef struct sink_ud {
    _Atomic unsigned magic;
    atomic_int running;  /* calls in progress */
    atomic_long calls;
    int sleep_ms;        /* hold each call this long */
    atomic_int entered;  /* set by the first call */
} sink_ud;

static atomic_long g_bad_sink; /* a sink ran with user_data already released */

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void sink(int level, const char *subsystem, const char *msg, void *user_data)
{
    (void)level;
    (void)subsystem;
    (void)msg;
    sink_ud *u = user_data;
    atomic_fetch_add(&u->running, 1);
    atomic_store(&u->entered, 1);
    if (u->sleep_ms)
        sleep_ms(u->sleep_ms);
    if (atomic_load(&u->magic) != LIVE) /* under ASan a freed u already died above */
        atomic_fetch_add(&g_bad_sink, 1);
    atomic_fetch_add(&u->calls, 1);
    atomic_fetch_sub(&u->running, 1);
}

static void *log_once(void *arg)
{
    (void)arg;
    vc__log(VC_LOG_INFO, "test", "one message");
    return NULL;
}

/* A sink call is running (it holds for 200 ms) when vc_log_set(NULL)
 * removes the sink: vc_log_set must not return before that call did. */
static void t_log_set_waits_for_running_sink(void)
{
    sink_ud *u = calloc(1, sizeof *u);
    atomic_store(&u->magic, LIVE);
    u->sleep_ms = 200;
    vc_log_set(VC_LOG_INFO, sink, u);
    pthread_t th;
    pthread_create(&th, NULL, log_once, NULL);
    while (!atomic_load(&u->entered))
        sleep_ms(1);
    vc_log_set(0, NULL, NULL);
    int still = atomic_load(&u->running);
    CHECK_INT(still, 0);
    atomic_store(&u->magic, DEAD); /* the caller may now release it */
    pthread_join(th, NULL);
    CHECK_INT(atomic_load(&u->calls), 1);
    free(u);
}

/* A sink that replaces itself: vc_log_set from inside a sink must not wait
 * for its own caller (a deadlock), and the next message goes to the new sink. */
static sink_ud *g_next;

static void sink_swapping(int level, const char *subsystem, const char *msg, void *user_data)
{
    sink(level, subsystem, msg, user_data);
    vc_log_set(VC_LOG_INFO, sink, g_next);
}

static void t_log_set_inside_sink(void)
{
    sink_ud first = { 0 }, second = { 0 };
    atomic_store(&first.magic, LIVE);
    atomic_store(&second.magic, LIVE);
    g_next = &second;
    vc_log_set(VC_LOG_INFO, sink_swapping, &first);
    alarm(20); /* a deadlock ends the test instead of hanging it */
    vc__log(VC_LOG_INFO, "test", "to the first sink");
    vc__log(VC_LOG_INFO, "test", "to the second sink");
    alarm(0);
    vc_log_set(0, NULL, NULL);
    CHECK_INT(atomic_load(&first.calls), 1);
    CHECK_INT(atomic_load(&second.calls), 1);
}

/* Another thread's last error, set and still held when the library shuts
 * down, is released by the last vc_global_shutdown(). */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_phase;

static void wait_phase(int p)
{
    pthread_mutex_lock(&g_mu);
    while (g_phase < p)
        pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
}

static void set_phase(int p)
{
    pthread_mutex_lock(&g_mu);
    g_phase = p;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

static int fail_somehow(void)
{
    vc_translate_options o;
    vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION); /* no name: VC_EINVAL */
    vc_translator *t = NULL;
    return vc_translator_new(&t, &o);
}

static int g_worker_code_before, g_worker_code_after;
static char g_worker_msg_after[64];

static void *error_worker(void *arg)
{
    (void)arg;
    g_worker_code_before = fail_somehow();
    set_phase(1);
    wait_phase(2); /* the main thread shuts the library down */
    const vc_error *e = vc_error_last();
    g_worker_code_after = e->code;
    snprintf(g_worker_msg_after, sizeof g_worker_msg_after, "%s", e->message);
    return NULL;
}

static void t_shutdown_frees_other_threads_errors(void)
{
    g_phase = 0;
    pthread_t th;
    pthread_create(&th, NULL, error_worker, NULL);
    wait_phase(1);
    CHECK_INT(vc_global_shutdown(), 0);
    set_phase(2);
    pthread_join(th, NULL);
    CHECK_INT(g_worker_code_before, VC_EINVAL);
    CHECK_INT(g_worker_code_after, VC_OK);
    CHECK_STR(g_worker_msg_after, "");
    CHECK_INT(vc_global_init(NULL), VC_OK);
}

/* ---------------------------------------------------------------- */
/* the stress run                                                    */

static const char k_kubeconfig[] =
    "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
    "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n"
    "users: [{name: u, user: {token: t}}]\n"
    "contexts: [{name: c, context: {cluster: c, user: u}}]\n";

static const char k_pod[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}";

#define HANDOFF 64
static vc_kube *g_handoff[HANDOFF];
static int g_handoff_n;
static atomic_int g_driver_done;
static atomic_long g_freed, g_swaps, g_rounds;

static void give(vc_kube *k)
{
    for (;;) {
        pthread_mutex_lock(&g_mu);
        if (g_handoff_n < HANDOFF) {
            g_handoff[g_handoff_n++] = k;
            pthread_mutex_unlock(&g_mu);
            return;
        }
        pthread_mutex_unlock(&g_mu);
        sleep_ms(1);
    }
}

static vc_kube *take(void)
{
    pthread_mutex_lock(&g_mu);
    vc_kube *k = g_handoff_n ? g_handoff[--g_handoff_n] : NULL;
    pthread_mutex_unlock(&g_mu);
    return k;
}

static vc_kube *new_kube(void)
{
    vc_kube_options ko;
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig_data = k_kubeconfig;
    ko.flags = VC_KUBE_NO_RETRY;
    ko.timeout_ms = 1000;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &ko) < 0)
        fprintf(stderr, "vc_kube_new: %s\n", vc_error_last()->message);
    return k;
}

static void *driver(void *arg)
{
    int rounds = *(int *)arg;
    for (int r = 0; r < rounds; r++) {
        vc_kube *host = new_kube(), *virt = new_kube();
        vc_syncer_options so;
        vc_syncer_options_init(&so, VC_SYNCER_OPTIONS_VERSION);
        so.name = "stress";
        so.flags = VC_SYNCER_NO_COREDNS;
        vc_syncer *s = NULL;
        int rc = host && virt ? vc_syncer_new(&s, host, virt, &so) : VC_EGENERIC;
        CHECK_INT(rc, VC_OK);
        /* the other thread drops our references while the syncer holds its own */
        give(host);
        give(virt);
        for (int i = 0; s && i < 20; i++) {
            int32_t st;
            vc_syncer_step(s, 0, &st);
            vc_sync_event *ev = NULL;
            while (vc_syncer_next_event(&ev, s) == VC_OK)
                vc_sync_event_free(ev);
            vc__log(VC_LOG_DEBUG, "stress", "driver round %d step %d", r, i);
            sleep_ms(1);
        }
        vc_translate_options to;
        vc_translate_options_init(&to, VC_TRANSLATE_OPTIONS_VERSION);
        to.name = "stress";
        vc_translator *t = NULL;
        if (vc_translator_new(&t, &to) == VC_OK) {
            vc_buf b = VC_BUF_INIT;
            vc_translate_to_host(&b, t, k_pod, NULL, VC_TRANSLATE_PREVIEW);
            vc_buf_dispose(&b);
            vc_translate_to_host(&b, t, "{not json", NULL, 0); /* an error on this thread */
            vc_translator_free(t);
        }
        vc_syncer_free(s); /* the last reference to host and virt may go here or there */
        atomic_fetch_add(&g_rounds, 1);
    }
    atomic_store(&g_driver_done, 1);
    return NULL;
}

static void *freer(void *arg)
{
    (void)arg;
    for (;;) {
        vc_kube *k = take();
        if (k) {
            vc_kube_free(k);
            atomic_fetch_add(&g_freed, 1);
            continue;
        }
        if (atomic_load(&g_driver_done) && !take())
            break;
        vc_config *c = NULL;
        if (vc_config_new(&c) == VC_OK) {
            vc_config_set(c, "no.such.key", "1"); /* an error on this thread */
            vc_config_free(c);
        }
        vc__log(VC_LOG_INFO, "stress", "freer idle");
        sleep_ms(1);
    }
    vc_kube *k;
    while ((k = take()) != NULL) {
        vc_kube_free(k);
        atomic_fetch_add(&g_freed, 1);
    }
    return NULL;
}

static void *swapper(void *arg)
{
    (void)arg;
    sink_ud *cur = NULL;
    for (long i = 0; !atomic_load(&g_driver_done); i++) {
        sink_ud *nu = NULL;
        if (i % 4 != 3) {
            nu = calloc(1, sizeof *nu);
            atomic_store(&nu->magic, LIVE);
            nu->sleep_ms = i % 2;
        }
        vc_log_set(VC_LOG_TRACE, nu ? sink : NULL, nu);
        if (cur) { /* as bindings do: released as soon as vc_log_set returned */
            atomic_store(&cur->magic, DEAD);
            free(cur);
        }
        cur = nu;
        vc__log(VC_LOG_WARN, "stress", "swap %ld", i);
        atomic_fetch_add(&g_swaps, 1);
    }
    vc_log_set(0, NULL, NULL);
    if (cur) {
        atomic_store(&cur->magic, DEAD);
        free(cur);
    }
    return NULL;
}

static void t_stress(void)
{
    int rounds = getenv("VC_STRESS_ROUNDS") ? atoi(getenv("VC_STRESS_ROUNDS")) : 15;
    atomic_store(&g_driver_done, 0);
    pthread_t d, f, s;
    pthread_create(&s, NULL, swapper, NULL);
    pthread_create(&f, NULL, freer, NULL);
    pthread_create(&d, NULL, driver, &rounds);
    pthread_join(d, NULL);
    pthread_join(f, NULL);
    pthread_join(s, NULL);
    CHECK_INT(atomic_load(&g_rounds), rounds);
    CHECK_INT(atomic_load(&g_freed), 2L * rounds);
    CHECK(atomic_load(&g_swaps) > 0);
    CHECK_INT(atomic_load(&g_bad_sink), 0);
    printf("# stress: %d syncer rounds, %ld kube handles freed on another thread, %ld sink swaps\n", rounds,
           atomic_load(&g_freed), atomic_load(&g_swaps));
}

/* `unit-threads parked`: a thread that sets an error and never ends (as
 * a Go program's threads) while the library shuts down and the process
 * exits. Run by the test 'threads-lsan' with LSAN_OPTIONS=use_tls=0, so
 * that LeakSanitizer does not count what only thread-local storage points
 * to as reachable: before the last vc_global_shutdown() freed every
 * thread's strings, it reported the message as a direct leak. */
static void *parked(void *arg)
{
    (void)arg;
    fail_somehow();
    set_phase(1);
    for (;;)
        pause();
    return NULL;
}

static int run_parked(void)
{
    if (vc_global_init(NULL) < 0)
        return 1;
    pthread_t th;
    pthread_create(&th, NULL, parked, NULL);
    wait_phase(1);
    vc_global_shutdown();
    printf("ok parked thread (LeakSanitizer judges at exit)\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "parked") == 0)
        return run_parked();
    if (vc_global_init(NULL) < 0)
        return 1;
    RUN(t_log_set_waits_for_running_sink);
    RUN(t_log_set_inside_sink);
    RUN(t_shutdown_frees_other_threads_errors);
    RUN(t_stress);
    CHECK_INT(atomic_load(&g_bad_sink), 0);
    vc_global_shutdown();
    TEST_DONE();
}

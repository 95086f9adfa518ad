/* The syncer's work queue (src/sync/queue.c): deduplication, the high ring
 * before the normal one, stale ring places skipped, backoff and the limiter
 * wait, in-flight keys marked dirty, and the timeout it reports. */
#include <string.h>

#include "sync/sync.h"
#include "test.h"

static const char *pop_key(vc__queue *q, int64_t now)
{
    vc__qitem *it = vc__queue_pop(q, now);
    return it ? it->key : NULL;
}

static void t_dedup_and_fifo(void)
{
    vc__queue q;
    vc__queue_init(&q);
    CHECK_INT(vc__queue_add(&q, "pods|a/1", 0, 1000), VC_OK);
    CHECK_INT(vc__queue_add(&q, "pods|a/2", 0, 1000), VC_OK);
    CHECK_INT(vc__queue_add(&q, "pods|a/1", 0, 1000), VC_OK);
    CHECK_INT((int)vc__queue_depth(&q), 2);
    CHECK_INT((int)vc__queue_timeout(&q, 1000), 0);
    vc__qitem *it = vc__queue_pop(&q, 1000);
    CHECK_STR(it->key, "pods|a/1");
    vc__queue_done(&q, it, VC_OK, 1000);
    it = vc__queue_pop(&q, 1000);
    CHECK_STR(it->key, "pods|a/2");
    vc__queue_done(&q, it, VC_OK, 1000);
    CHECK(vc__queue_pop(&q, 1000) == NULL);
    CHECK_INT((int)vc__queue_timeout(&q, 1000), -1);
    CHECK_INT((int)vc__map_count(&q.items), 0); /* done keys are forgotten */
    vc__queue_clear(&q);
}

static void t_high_goes_first(void)
{
    vc__queue q;
    vc__queue_init(&q);
    vc__queue_add(&q, "pods|n/1", 0, 0);
    vc__queue_add(&q, "pods|n/2", 0, 0);
    vc__queue_add_high(&q, "pods|h/1", 0);
    /* a key already waiting in the normal ring moves ahead; its old place is skipped */
    vc__queue_add_high(&q, "pods|n/2", 0);
    vc__queue_add_high(&q, "pods|n/2", 0);
    const char *want[] = { "pods|h/1", "pods|n/2", "pods|n/1" };
    for (int i = 0; i < 3; i++) {
        vc__qitem *it = vc__queue_pop(&q, 0);
        CHECK(it != NULL);
        if (!it)
            break;
        CHECK_STR(it->key, want[i]);
        vc__queue_done(&q, it, VC_OK, 0);
    }
    CHECK(vc__queue_pop(&q, 0) == NULL);
    vc__queue_clear(&q);
}

static void t_backoff_and_wait(void)
{
    vc__queue q;
    vc__queue_init(&q);
    vc__queue_add(&q, "pods|a/1", 0, 0);
    vc__qitem *it = vc__queue_pop(&q, 0);
    vc__queue_done(&q, it, VC_EAPI, 0); /* error: 100 ms (50 << 1) */
    CHECK(vc__queue_pop(&q, 50) == NULL);
    CHECK_INT((int)vc__queue_timeout(&q, 50), 50);
    it = vc__queue_pop(&q, 100);
    CHECK(it != NULL);
    /* a wait (VC_ITEROVER) with the limiter's hint, keeping the high mark */
    it->high = true;
    it->retry_ms = 7;
    vc__queue_done(&q, it, VC_ITEROVER, 100);
    CHECK_INT((int)vc__queue_timeout(&q, 100), 7);
    vc__queue_add(&q, "pods|b/1", 0, 100);
    CHECK_STR(pop_key(&q, 107), "pods|a/1"); /* promoted into the high ring */
    CHECK_STR(pop_key(&q, 107), "pods|b/1");
    vc__queue_clear(&q);
}

static void t_add_high_pulls_delayed_forward(void)
{
    vc__queue q;
    vc__queue_init(&q);
    vc__queue_add(&q, "pods|a/1", 5000, 0);
    CHECK(vc__queue_pop(&q, 10) == NULL);
    vc__queue_add_high(&q, "pods|a/1", 10);
    CHECK_STR(pop_key(&q, 10), "pods|a/1");
    vc__queue_clear(&q);
}

static void t_in_flight_marks_dirty(void)
{
    vc__queue q;
    vc__queue_init(&q);
    vc__queue_add(&q, "pods|a/1", 0, 0);
    vc__qitem *it = vc__queue_pop(&q, 0);
    it->inflight = 1;
    vc__queue_done(&q, it, VC_OK, 0);
    vc__queue_add(&q, "pods|a/1", 0, 0);
    CHECK(it->dirty);
    CHECK(vc__queue_pop(&q, 0) == NULL); /* not while its write is on the wire */
    it->inflight = 0;
    it->dirty = false;
    vc__queue_add(&q, "pods|a/1", 0, 0);
    CHECK_STR(pop_key(&q, 0), "pods|a/1");
    vc__queue_clear(&q);
}

/* A key whose write keeps failing: each round the reconcile starts a write
 * (done with VC_OK while it is on the wire), then the write fails. The
 * failures must add up so the delay grows to the cap (before, the reconcile's
 * VC_OK reset them and a refused create went out 7 times a second). */
static void t_failing_write_backs_off(void)
{
    vc__queue q;
    vc__queue_init(&q);
    vc__queue_add(&q, "pods|a/1", 0, 0);
    int64_t now = 0, last_delay = 0;
    int rounds = 0;
    for (; rounds < 20; rounds++) {
        vc__qitem *it = NULL;
        /* wait for it to come due */
        int64_t t = vc__queue_timeout(&q, now);
        if (t > 0)
            now += t;
        it = vc__queue_pop(&q, now);
        if (!it)
            break;
        it->inflight = 1;               /* the reconcile started a write */
        vc__queue_done(&q, it, VC_OK, now);
        it->inflight = 0;               /* the write failed */
        vc__queue_done(&q, it, VC_EINVALIDOBJ, now);
        last_delay = vc__queue_timeout(&q, now);
    }
    CHECK_INT(rounds, 20);
    CHECK_INT((int)last_delay, 30000);  /* the cap: 1 write per 30 s */
    /* 20 failing writes take more than 3 minutes, not 3 seconds */
    CHECK(now > 180000);
    vc__queue_clear(&q);
}

static void t_many(void)
{
    /* 20,000 keys, half delayed: every key comes out once, none lost */
    vc__queue q;
    vc__queue_init(&q);
    char k[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(k, sizeof k, "pods|ns/p%d", i);
        if (i % 3 == 0)
            vc__queue_add_high(&q, k, 0);
        else
            vc__queue_add(&q, k, i % 2 ? 100 : 0, 0);
    }
    int n = 0;
    vc__qitem *it;
    while ((it = vc__queue_pop(&q, 100))) {
        n++;
        vc__queue_done(&q, it, VC_OK, 100);
    }
    CHECK_INT(n, 20000);
    CHECK_INT((int)vc__map_count(&q.items), 0);
    vc__queue_clear(&q);
}

int main(void)
{
    vc_global_init(NULL);
    RUN(t_dedup_and_fifo);
    RUN(t_high_goes_first);
    RUN(t_backoff_and_wait);
    RUN(t_add_high_pulls_delayed_forward);
    RUN(t_in_flight_marks_dirty);
    RUN(t_failing_write_backs_off);
    RUN(t_many);
    vc_global_shutdown();
    TEST_DONE();
}

/* The work queue: one item per key (deduplicated), a ready FIFO, a delayed
 * list for per-key exponential backoff, and in-flight tracking so a key is
 * never reconciled while a write for it is on the wire. */
#include <string.h>

#include "sync/sync.h"

#define BASE_BACKOFF_MS 50
#define MAX_BACKOFF_MS 30000

static void free_item(void *p)
{
    vc__qitem *it = p;
    if (!it)
        return;
    vc__free(it->key);
    vc__free(it);
}

void vc__queue_init(vc__queue *q)
{
    memset(q, 0, sizeof(*q));
    vc__map_init(&q->items);
    q->d_next = INT64_MAX;
}

/* Drop the places of a ring; items forgotten meanwhile go with their last place. */
static void ring_clear(vc__ring *r)
{
    for (size_t i = 0; i < r->len; i++) {
        vc__qitem *it = r->v[(r->head + i) % r->cap];
        if (--it->places == 0 && it->dead)
            free_item(it);
    }
    vc__free(r->v);
}

void vc__queue_clear(vc__queue *q)
{
    int (*slot_of)(void *, const char *) = q->slot_of;
    void *slot_ud = q->slot_ud;
    ring_clear(&q->ready_high);
    ring_clear(&q->ready);
    vc__map_clear(&q->items, free_item);
    vc__free(q->delayed);
    memset(q, 0, sizeof(*q));
    q->d_next = INT64_MAX;
    q->slot_of = slot_of;
    q->slot_ud = slot_ud;
}

/* An item enters the queue (ready or delayed until ready_us). */
static void mark_queued(vc__queue *q, vc__qitem *it, int64_t ready_us)
{
    it->queued = true;
    it->ready_us = ready_us;
    q->depth[it->slot]++;
}

static int ring_push(vc__ring *r, vc__qitem *it)
{
    if (r->len == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 64;
        vc__qitem **n = vc__malloc(nc * sizeof(vc__qitem *));
        if (!n)
            return vc__error_oom();
        for (size_t i = 0; i < r->len; i++)
            n[i] = r->v[(r->head + i) % r->cap];
        vc__free(r->v);
        r->v = n;
        r->cap = nc;
        r->head = 0;
    }
    r->v[(r->head + r->len) % r->cap] = it;
    r->len++;
    it->places++;
    return VC_OK;
}

/* Pop the next item still queued (an item can have stale places in a ring:
 * it moved to the high ring, or left and came back). */
static vc__qitem *ring_pop(vc__ring *r)
{
    while (r->len) {
        vc__qitem *it = r->v[r->head];
        r->head = (r->head + 1) % r->cap;
        r->len--;
        it->places--;
        if (it->dead) {
            if (it->places == 0)
                free_item(it);
            continue;
        }
        if (it->queued)
            return it;
    }
    return NULL;
}

static int push_ready(vc__queue *q, vc__qitem *it)
{
    return ring_push(it->high ? &q->ready_high : &q->ready, it);
}

static int push_delayed(vc__queue *q, vc__qitem *it)
{
    if (q->d_len == q->d_cap) {
        size_t nc = q->d_cap ? q->d_cap * 2 : 64;
        vc__qitem **n = vc__realloc(q->delayed, nc * sizeof(vc__qitem *));
        if (!n)
            return vc__error_oom();
        q->delayed = n;
        q->d_cap = nc;
    }
    q->delayed[q->d_len++] = it;
    if (it->due < q->d_next)
        q->d_next = it->due;
    return VC_OK;
}

vc__qitem *vc__queue_item(vc__queue *q, const char *key)
{
    return vc__map_get(&q->items, key);
}

static vc__qitem *get_or_make(vc__queue *q, const char *key)
{
    vc__qitem *it = vc__map_get(&q->items, key);
    if (it)
        return it;
    it = vc__calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->key = vc__strdup(key);
    if (!it->key || vc__map_put(&q->items, key, it, NULL) < 0) {
        free_item(it);
        return NULL;
    }
    int slot = q->slot_of ? q->slot_of(q->slot_ud, key) : 0;
    it->slot = (uint8_t)(slot >= 0 && slot < VC__QUEUE_SLOTS ? slot : 0);
    return it;
}

int vc__queue_add(vc__queue *q, const char *key, int64_t delay_ms, int64_t now)
{
    vc__qitem *it = get_or_make(q, key);
    if (!it)
        return vc__error_oom();
    if (it->inflight) {
        it->dirty = true; /* runs again when the write completes */
        return VC_OK;
    }
    int64_t now_us = vc__sync_now_us();
    if (it->queued) {
        /* already waiting: an immediate add pulls a delayed item forward */
        if (delay_ms <= 0 && it->due > now) {
            it->due = now;
            it->ready_us = now_us;
            q->d_next = now;
        }
        return VC_OK;
    }
    mark_queued(q, it, now_us + (delay_ms > 0 ? delay_ms * 1000 : 0));
    q->adds[it->slot]++;
    if (delay_ms <= 0) {
        it->due = 0;
        return push_ready(q, it);
    }
    it->due = now + delay_ms;
    return push_delayed(q, it);
}

int vc__queue_add_high(vc__queue *q, const char *key, int64_t now)
{
    vc__qitem *it = get_or_make(q, key);
    if (!it)
        return vc__error_oom();
    bool was = it->high;
    it->high = true;
    if (it->inflight || !it->queued)
        return vc__queue_add(q, key, 0, now);
    if (it->due > 0) {
        /* delayed: due now, promoted to the high ring by the next pop */
        it->due = now;
        it->ready_us = vc__sync_now_us();
        q->d_next = now;
        return VC_OK;
    }
    /* in the normal ring: take a place in the high one too (the old place
     * is skipped, see ring_pop) */
    return was ? VC_OK : ring_push(&q->ready_high, it);
}

vc__qitem *vc__queue_pop(vc__queue *q, int64_t now)
{
    /* promote due delayed items; the scan runs only when one is due */
    if (now >= q->d_next) {
        int64_t next = INT64_MAX;
        for (size_t i = 0; i < q->d_len;) {
            vc__qitem *it = q->delayed[i];
            if (it->due <= now) {
                q->delayed[i] = q->delayed[--q->d_len];
                it->due = 0;
                if (push_ready(q, it) < 0) {
                    /* keep it delayed; tried again at the next pop */
                    it->due = now;
                    q->delayed[q->d_len++] = it;
                    next = now;
                    break;
                }
            } else {
                if (it->due < next)
                    next = it->due;
                i++;
            }
        }
        q->d_next = next;
    }
    vc__qitem *it = ring_pop(&q->ready_high);
    if (!it)
        it = ring_pop(&q->ready);
    if (!it)
        return NULL;
    it->queued = false;
    if (q->depth[it->slot])
        q->depth[it->slot]--;
    int64_t now_us = vc__sync_now_us();
    it->wait_us = now_us > it->ready_us ? now_us - it->ready_us : 0;
    return it;
}

void vc__queue_forget(vc__queue *q, vc__qitem *it)
{
    if (it->queued || it->inflight || it->dead)
        return;
    vc__map_del(&q->items, it->key);
    if (it->places) {
        it->dead = true; /* a stale ring place still points at it: freed when popped */
        return;
    }
    free_item(it);
}

void vc__queue_done(vc__queue *q, vc__qitem *it, int rc, int64_t now)
{
    if (rc != VC_ITEROVER)
        it->high = false; /* a wait (VC_ITEROVER) keeps its place */
    if (rc < 0 || rc == VC_ITEROVER) {
        if (rc < 0)
            it->failures++;
        int64_t d = rc == VC_ITEROVER ? (it->retry_ms > 0 ? it->retry_ms : 1000)
                                      : BASE_BACKOFF_MS << (it->failures < 10 ? it->failures : 10);
        it->retry_ms = 0;
        if (d > MAX_BACKOFF_MS)
            d = MAX_BACKOFF_MS;
        if (it->inflight) {
            it->dirty = true;
            return;
        }
        if (!it->queued) {
            mark_queued(q, it, vc__sync_now_us() + d * 1000);
            q->retries[it->slot]++;
            it->due = now + d;
            push_delayed(q, it);
        }
        return;
    }
    /* success of the reconcile, but with writes on the wire the key's
     * outcome is theirs: a write that keeps failing must keep its count,
     * or the backoff never grows (a refused create was re-POSTed 7 times a
     * second) */
    if (!it->inflight)
        it->failures = 0;
    if (!it->inflight && !it->queued && !it->dirty)
        vc__queue_forget(q, it);
}

int64_t vc__queue_timeout(vc__queue *q, int64_t now)
{
    if (q->ready_high.len || q->ready.len)
        return 0;
    if (!q->d_len || q->d_next == INT64_MAX)
        return -1;
    return q->d_next > now ? q->d_next - now : 0;
}

size_t vc__queue_depth(vc__queue *q)
{
    return q->ready_high.len + q->ready.len + q->d_len;
}

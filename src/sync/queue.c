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
}

void vc__queue_clear(vc__queue *q)
{
    vc__map_clear(&q->items, free_item);
    vc__free(q->ready);
    vc__free(q->delayed);
    memset(q, 0, sizeof(*q));
}

static int push_ready(vc__queue *q, vc__qitem *it)
{
    if (q->r_len == q->r_cap) {
        size_t nc = q->r_cap ? q->r_cap * 2 : 64;
        vc__qitem **n = vc__malloc(nc * sizeof(*n));
        if (!n)
            return vc__error_oom();
        for (size_t i = 0; i < q->r_len; i++)
            n[i] = q->ready[(q->r_head + i) % q->r_cap];
        vc__free(q->ready);
        q->ready = n;
        q->r_cap = nc;
        q->r_head = 0;
    }
    q->ready[(q->r_head + q->r_len) % q->r_cap] = it;
    q->r_len++;
    return VC_OK;
}

static int push_delayed(vc__queue *q, vc__qitem *it)
{
    if (q->d_len == q->d_cap) {
        size_t nc = q->d_cap ? q->d_cap * 2 : 64;
        vc__qitem **n = vc__realloc(q->delayed, nc * sizeof(*n));
        if (!n)
            return vc__error_oom();
        q->delayed = n;
        q->d_cap = nc;
    }
    q->delayed[q->d_len++] = it;
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
    if (it->queued) {
        /* already waiting: an immediate add pulls a delayed item forward */
        if (delay_ms <= 0 && it->due > now)
            it->due = now;
        return VC_OK;
    }
    it->queued = true;
    if (delay_ms <= 0) {
        it->due = 0;
        return push_ready(q, it);
    }
    it->due = now + delay_ms;
    return push_delayed(q, it);
}

vc__qitem *vc__queue_pop(vc__queue *q, int64_t now)
{
    /* promote due delayed items */
    for (size_t i = 0; i < q->d_len;) {
        vc__qitem *it = q->delayed[i];
        if (it->due <= now) {
            q->delayed[i] = q->delayed[--q->d_len];
            it->due = 0;
            if (push_ready(q, it) < 0)
                return NULL;
        } else {
            i++;
        }
    }
    while (q->r_len) {
        vc__qitem *it = q->ready[q->r_head];
        q->r_head = (q->r_head + 1) % q->r_cap;
        q->r_len--;
        if (!it->queued)
            continue;
        it->queued = false;
        return it;
    }
    return NULL;
}

void vc__queue_forget(vc__queue *q, vc__qitem *it)
{
    if (it->queued || it->inflight)
        return;
    vc__map_del(&q->items, it->key);
    free_item(it);
}

void vc__queue_done(vc__queue *q, vc__qitem *it, int rc, int64_t now)
{
    if (rc < 0 || rc == VC_ITEROVER) {
        if (rc < 0)
            it->failures++;
        int64_t d = rc == VC_ITEROVER ? 1000 : BASE_BACKOFF_MS << (it->failures < 10 ? it->failures : 10);
        if (d > MAX_BACKOFF_MS)
            d = MAX_BACKOFF_MS;
        if (it->inflight) {
            it->dirty = true;
            return;
        }
        if (!it->queued) {
            it->queued = true;
            it->due = now + d;
            push_delayed(q, it);
        }
        return;
    }
    it->failures = 0;
    if (!it->inflight && !it->queued && !it->dirty)
        vc__queue_forget(q, it);
}

int64_t vc__queue_timeout(vc__queue *q, int64_t now)
{
    if (q->r_len)
        return 0;
    int64_t best = -1;
    for (size_t i = 0; i < q->d_len; i++) {
        int64_t d = q->delayed[i]->due - now;
        if (d < 0)
            d = 0;
        if (best < 0 || d < best)
            best = d;
    }
    return best;
}

size_t vc__queue_depth(vc__queue *q)
{
    return q->r_len + q->d_len;
}

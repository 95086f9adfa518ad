/* String-keyed hash map: SipHash-1-3 keyed per map, open addressing, linear
 * probing. The keys are names a tenant chooses (pods, secrets, ...), and an
 * unkeyed hash (FNV-1a before) let one craft thousands of names with one
 * hash, turning every cache lookup into a scan of all of them. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util/map.h"

#define TOMB ((char *)1)

/* SipHash-1-3 (Aumasson, Bernstein; the variant Rust's HashMap and Python
 * use): one compression round per 8 bytes, three finalisation rounds. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                                  \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                      \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                      \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                                  \
    } while (0)

uint64_t vc__siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
    const unsigned char *end = p + (len & ~(size_t)7);
    for (; p != end; p += 8) {
        uint64_t m = 0;
        for (int i = 0; i < 8; i++)
            m |= (uint64_t)p[i] << (8 * i);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* One random process key from the kernel; each map's key is the process key
 * passed through SipHash with a per-map counter, so maps differ from each
 * other (the order one map's iteration reveals says nothing about another)
 * and a map costs no system call. */
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static uint64_t g_key[2];
static uint64_t g_map_counter;

static void key_make(void)
{
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got < sizeof raw) {
        /* no getrandom (seccomp, very old kernel): a weaker key, never none */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t mix[4] = { (uint64_t)ts.tv_nsec, (uint64_t)ts.tv_sec, (uint64_t)getpid(),
                            (uint64_t)(uintptr_t)&got };
        uint64_t a = vc__siphash13(0x0123456789abcdefull, 0xfedcba9876543210ull, mix, sizeof mix);
        memcpy(raw, &a, 8);
        a = vc__siphash13(a, 0x5851f42d4c957f2dull, mix, sizeof mix);
        memcpy(raw + 8, &a, 8);
        vc__log(VC_LOG_WARN, "util", "getrandom failed; hash map keys come from the clock");
    }
    memcpy(&g_key[0], raw, 8);
    memcpy(&g_key[1], raw + 8, 8);
}

static void map_key(vc__map *m)
{
    pthread_once(&g_key_once, key_make);
    uint64_t n = __atomic_add_fetch(&g_map_counter, 1, __ATOMIC_RELAXED);
    m->k0 = vc__siphash13(g_key[0], g_key[1], &n, sizeof n);
    m->k1 = vc__siphash13(g_key[1], g_key[0], &n, sizeof n);
}

static uint32_t hash(const vc__map *m, const char *s)
{
    uint64_t h = vc__siphash13(m->k0, m->k1, s, strlen(s));
    uint32_t r = (uint32_t)(h ^ (h >> 32));
    return r ? r : 1;
}

void vc__map_init(vc__map *m)
{
    memset(m, 0, sizeof(*m));
}

void vc__map_clear(vc__map *m, void (*free_value)(void *))
{
    for (size_t i = 0; i < m->cap; i++) {
        vc__map_entry *e = &m->slots[i];
        if (e->key && e->key != TOMB) {
            vc__free(e->key);
            if (free_value)
                free_value(e->value);
        }
    }
    vc__free(m->slots);
    memset(m, 0, sizeof(*m));
}

static vc__map_entry *find(const vc__map *m, const char *key, uint32_t h)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        vc__map_entry *e = &m->slots[i];
        if (!e->key)
            return NULL;
        if (e->key != TOMB && e->hash == h && strcmp(e->key, key) == 0)
            return e;
    }
}

static int grow(vc__map *m)
{
    if (!m->cap)
        map_key(m); /* no entry hashed yet: a fresh key for this map */
    size_t ncap = m->cap ? m->cap * 2 : 16;
    if (m->count * 4 < m->cap) /* mostly tombstones: rehash at the same size */
        ncap = m->cap;
    vc__map_entry *ns = vc__calloc(ncap, sizeof(*ns));
    if (!ns)
        return vc__error_oom();
    for (size_t i = 0; i < m->cap; i++) {
        vc__map_entry *e = &m->slots[i];
        if (!e->key || e->key == TOMB)
            continue;
        size_t j = e->hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = *e;
    }
    vc__free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    m->used = m->count;
    return VC_OK;
}

void *vc__map_get(const vc__map *m, const char *key)
{
    vc__map_entry *e = m->cap ? find(m, key, hash(m, key)) : NULL;
    return e ? e->value : NULL;
}

int vc__map_put(vc__map *m, const char *key, void *value, void **old)
{
    if (old)
        *old = NULL;
    if (!m->cap && grow(m) < 0)
        return VC_ENOMEM;
    uint32_t h = hash(m, key);
    vc__map_entry *e = find(m, key, h);
    if (e) {
        if (old)
            *old = e->value;
        e->value = value;
        return VC_OK;
    }
    if ((m->used + 1) * 4 >= m->cap * 3 && grow(m) < 0)
        return VC_ENOMEM;
    char *k = vc__strdup(key);
    if (!k)
        return vc__error_oom();
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].key && m->slots[i].key != TOMB)
        i = (i + 1) & mask;
    if (!m->slots[i].key)
        m->used++;
    m->slots[i].key = k;
    m->slots[i].value = value;
    m->slots[i].hash = h;
    m->count++;
    return VC_OK;
}

void *vc__map_del(vc__map *m, const char *key)
{
    vc__map_entry *e = m->cap ? find(m, key, hash(m, key)) : NULL;
    if (!e)
        return NULL;
    void *v = e->value;
    vc__free(e->key);
    e->key = TOMB;
    e->value = NULL;
    m->count--;
    return v;
}

size_t vc__map_count(const vc__map *m)
{
    return m->count;
}

bool vc__map_next(const vc__map *m, size_t *it, const char **key, void **value)
{
    while (*it < m->cap) {
        vc__map_entry *e = &m->slots[(*it)++];
        if (e->key && e->key != TOMB) {
            if (key)
                *key = e->key;
            if (value)
                *value = e->value;
            return true;
        }
    }
    return false;
}

size_t vc__map_max_bucket(const vc__map *m)
{
    if (!m->cap)
        return 0;
    size_t *n = vc__calloc(m->cap, sizeof *n);
    if (!n)
        return SIZE_MAX;
    size_t worst = 0;
    for (size_t i = 0; i < m->cap; i++) {
        const vc__map_entry *e = &m->slots[i];
        if (e->key && e->key != TOMB && ++n[e->hash & (m->cap - 1)] > worst)
            worst = n[e->hash & (m->cap - 1)];
    }
    vc__free(n);
    return worst;
}

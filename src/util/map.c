/* String-keyed hash map: FNV-1a, open addressing, linear probing. */
#include <string.h>

#include "util/map.h"

#define TOMB ((char *)1)

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h ? h : 1;
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
    vc__map_entry *e = find(m, key, fnv1a(key));
    return e ? e->value : NULL;
}

int vc__map_put(vc__map *m, const char *key, void *value, void **old)
{
    uint32_t h = fnv1a(key);
    vc__map_entry *e = find(m, key, h);
    if (old)
        *old = NULL;
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
    vc__map_entry *e = find(m, key, fnv1a(key));
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

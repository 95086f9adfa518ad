/* A string-keyed hash map (open addressing, linear probing, tombstones).
 * Keys are tenant-chosen names, so the hash is keyed (SipHash-1-3 with a
 * random key per map): nobody can choose names that share a probe run. */
#ifndef VC_UTIL_MAP_H
#define VC_UTIL_MAP_H

#include "util/util.h"

typedef struct vc__map_entry {
    char *key;      /* NULL: empty; (char *)1: deleted */
    void *value;
    uint32_t hash;
} vc__map_entry;

typedef struct vc__map {
    vc__map_entry *slots;
    size_t cap;     /* power of two */
    size_t count;   /* live entries */
    size_t used;    /* live + tombstones */
    uint64_t k0, k1; /* SipHash key, drawn when the first slots are made */
} vc__map;

void vc__map_init(vc__map *m);
/* Frees keys; calls free_value on each value when not NULL. */
void vc__map_clear(vc__map *m, void (*free_value)(void *));
void *vc__map_get(const vc__map *m, const char *key);
/* Insert or replace. The old value (or NULL) goes to *old when not NULL. */
int vc__map_put(vc__map *m, const char *key, void *value, void **old);
/* Remove; returns the value or NULL. */
void *vc__map_del(vc__map *m, const char *key);
size_t vc__map_count(const vc__map *m);
/* Iterate: start with *it = 0; returns false at the end. */
bool vc__map_next(const vc__map *m, size_t *it, const char **key, void **value);
/* SipHash-1-3 of data under the 128-bit key (k0, k1), as in the reference
 * (little-endian key words). */
uint64_t vc__siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len);
/* The most live entries that share one home slot (tests: flooding);
 * SIZE_MAX when out of memory. */
size_t vc__map_max_bucket(const vc__map *m);

#endif

/* A string-keyed hash map (open addressing, linear probing, tombstones). */
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

#endif

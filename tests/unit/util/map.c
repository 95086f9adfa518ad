/* The syncer's string map (src/util/map.c) against hash flooding: names a
 * tenant chooses must not pile up in one probe run. The test builds, by a
 * short brute force, 64 names that collide on all 32 bits of the FNV-1a hash
 * the map used before (Joux multicollisions: 6 colliding pairs of blocks,
 * chained, give 2^6 names with one hash), shows that they do collide, and
 * checks that the map spreads them out: no home slot holds more than a
 * few, where FNV-1a gave all 64 one home slot. Also plain
 * put/get/del/iterate behaviour and that two maps are keyed differently. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/map.h"

/* The hash the map used before (src/util/map.c until issue 12 item 7). */
static uint32_t fnv1a_from(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}
#define FNV_BASIS 2166136261u

#define BLOCK 7 /* characters per block: [a-z0-9], 36^7 candidates */
#define PAIRS 6
#define CANDIDATES (1u << 18) /* ~2^36/2^33 = 8 expected colliding pairs */

static void block_name(uint32_t i, char out[BLOCK])
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int k = 0; k < BLOCK; k++) {
        out[k] = al[i % 36];
        i /= 36;
    }
}

typedef struct cand {
    uint32_t h;
    uint32_t i;
} cand;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->h < y->h ? -1 : x->h > y->h ? 1 : 0;
}

/* Two different blocks that take FNV-1a from state `from` to one state. */
static int find_pair(uint32_t from, uint32_t salt, char a[BLOCK], char b[BLOCK])
{
    cand *c = malloc(CANDIDATES * sizeof *c);
    if (!c)
        return -1;
    char s[BLOCK];
    for (uint32_t i = 0; i < CANDIDATES; i++) {
        block_name(i * 7919u + salt, s);
        c[i].h = fnv1a_from(from, s, BLOCK);
        c[i].i = i * 7919u + salt;
    }
    qsort(c, CANDIDATES, sizeof *c, cmp_cand);
    int rc = -1;
    for (uint32_t i = 1; i < CANDIDATES; i++) {
        if (c[i].h == c[i - 1].h && c[i].i != c[i - 1].i) {
            block_name(c[i - 1].i, a);
            block_name(c[i].i, b);
            rc = 0;
            break;
        }
    }
    free(c);
    return rc;
}

/* 2^PAIRS names of PAIRS*BLOCK characters, all with one FNV-1a hash. */
static char (*g_names)[PAIRS * BLOCK + 1];
static size_t g_n;

static int build_multicollision(void)
{
    char blk[PAIRS][2][BLOCK];
    uint32_t h = FNV_BASIS;
    for (int p = 0; p < PAIRS; p++) {
        if (find_pair(h, (uint32_t)p * 1000003u, blk[p][0], blk[p][1]) < 0)
            return -1;
        h = fnv1a_from(h, blk[p][0], BLOCK);
    }
    g_n = (size_t)1 << PAIRS;
    g_names = calloc(g_n, sizeof *g_names);
    if (!g_names)
        return -1;
    for (size_t n = 0; n < g_n; n++)
        for (int p = 0; p < PAIRS; p++)
            memcpy(g_names[n] + p * BLOCK, blk[p][(n >> p) & 1], BLOCK);
    return 0;
}

static void t_names_collide_under_fnv1a(void)
{
    CHECK_INT(build_multicollision(), 0);
    CHECK_INT((long long)g_n, 64);
    uint32_t h0 = fnv1a_from(FNV_BASIS, g_names[0], strlen(g_names[0]));
    size_t same = 0;
    for (size_t i = 0; i < g_n; i++)
        same += fnv1a_from(FNV_BASIS, g_names[i], strlen(g_names[i])) == h0;
    CHECK_INT((long long)same, (long long)g_n); /* one 32-bit hash for all */
    for (size_t i = 1; i < g_n; i++)
        CHECK(strcmp(g_names[i], g_names[0]) != 0);
}

static void t_colliding_names_spread(void)
{
    if (!g_names)
        return;
    vc__map m;
    vc__map_init(&m);
    for (size_t i = 0; i < g_n; i++)
        CHECK_INT(vc__map_put(&m, g_names[i], g_names[i], NULL), VC_OK);
    CHECK_INT((long long)vc__map_count(&m), (long long)g_n);
    /* With FNV-1a all 64 names had one home slot (a bucket of 64, each
     * lookup a scan of the lot). A keyed hash puts 64 keys in 128 slots like
     * random balls in bins: P(some slot is home to >= 12) is about
     * 128 * C(64,12) / 128^12 = 2e-11. (The longest probe distance is no
     * good bound: it reaches 16 in 0.7% of random keys.) */
    size_t bucket = vc__map_max_bucket(&m);
    CHECK(bucket < 12);
    if (bucket >= 12)
        fprintf(stderr, "%zu of %zu colliding names share one home slot\n", bucket, g_n);
    for (size_t i = 0; i < g_n; i++)
        CHECK(vc__map_get(&m, g_names[i]) == g_names[i]);
    vc__map_clear(&m, NULL);
}

/* Known answers: CPython's bytes hash is SipHash-1-3, and PYTHONHASHSEED=0
 * makes its key zero: PYTHONHASHSEED=0 python3 -c 'print(hash(b"a") % 2**64)' */
static void t_siphash13_known_answers(void)
{
    CHECK(vc__siphash13(0, 0, "a", 1) == 4644417185603328019ull);
    CHECK(vc__siphash13(0, 0, "abcdefgh", 8) == 4574395652268504554ull);
    CHECK(vc__siphash13(0, 0, "pods|default/nginx-1234", 23) == 4359900869111901086ull);
}

static void t_put_get_del_iterate(void)
{
    vc__map m;
    vc__map_init(&m);
    CHECK(vc__map_get(&m, "absent") == NULL);
    CHECK(vc__map_del(&m, "absent") == NULL);
    static int vals[1000];
    char k[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "ns-%d/pod-%d", i % 7, i);
        CHECK_INT(vc__map_put(&m, k, &vals[i], NULL), VC_OK);
    }
    void *old = NULL;
    CHECK_INT(vc__map_put(&m, "ns-0/pod-0", &vals[1], &old), VC_OK);
    CHECK(old == &vals[0]);
    for (int i = 0; i < 1000; i += 2) {
        snprintf(k, sizeof k, "ns-%d/pod-%d", i % 7, i);
        CHECK(vc__map_del(&m, k) != NULL);
    }
    CHECK_INT((long long)vc__map_count(&m), 500);
    size_t it = 0, n = 0;
    const char *key;
    while (vc__map_next(&m, &it, &key, NULL)) {
        n++;
        CHECK(atoi(strrchr(key, '-') + 1) % 2 == 1);
    }
    CHECK_INT((long long)n, 500);
    vc__map_clear(&m, NULL);
}

/* Two maps get two keys: the order one map reveals (vc__map_next) says
 * nothing about another's. */
static void t_maps_keyed_apart(void)
{
    vc__map a, b;
    vc__map_init(&a);
    vc__map_init(&b);
    char k[32];
    for (int i = 0; i < 64; i++) {
        snprintf(k, sizeof k, "name-%d", i);
        vc__map_put(&a, k, NULL, NULL);
        vc__map_put(&b, k, NULL, NULL);
    }
    size_t ia = 0, ib = 0, same = 0;
    const char *ka, *kb;
    while (vc__map_next(&a, &ia, &ka, NULL) && vc__map_next(&b, &ib, &kb, NULL))
        same += strcmp(ka, kb) == 0;
    CHECK(same < 64);
    vc__map_clear(&a, NULL);
    vc__map_clear(&b, NULL);
}

int main(void)
{
    RUN(t_names_collide_under_fnv1a);
    RUN(t_colliding_names_spread);
    RUN(t_siphash13_known_answers);
    RUN(t_put_get_del_iterate);
    RUN(t_maps_keyed_apart);
    free(g_names);
    TEST_DONE();
}

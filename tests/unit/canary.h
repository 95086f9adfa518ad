/* A canary-header allocator for the allocator hook (vc_global_init(&g_alloc)):
 * every block carries a header with a magic number and its size, so libc
 * free() of one of its blocks is a bad-free under AddressSanitizer, and
 * free_fn given memory it did not make (libc memory passed to vc_free)
 * finds no magic and counts it in g_bad_free. g_live counts blocks handed
 * out and not freed. Setting g_fail_at = N refuses the Nth allocation
 * (counted in g_count since it was last reset): the torture runs of
 * tests/unit/core/alloc.c. Used there and by tests/integration/syncer.c. */
#ifndef VC_TEST_CANARY_H
#define VC_TEST_CANARY_H

#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcluster.h>
#if defined(__SANITIZE_ADDRESS__)
#  include <sanitizer/common_interface_defs.h>
#endif

#define MAGIC_LIVE 0x7663616c6c6f6321ull /* "vcalloc!" */
#define MAGIC_DEAD 0x6465616462656566ull

typedef union hdr {
    struct {
        uint64_t magic;
        size_t size;
    } h;
    max_align_t align; /* blocks stay aligned like malloc's */
} hdr;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static long g_live;        /* blocks handed out and not freed */
static long g_count;       /* allocations so far (for fail_at) */
static long g_fail_at;     /* fail the allocation with this number (1-based); 0: never */
static long g_failed;      /* allocations refused */
static long g_bad_free;    /* free_fn/realloc_fn given a block without our header */

/* jansson 2.14's lexer drops the failure of growing its token buffer
 * (lex_save ignores strbuffer_append_byte's result: akheron/jansson#362,
 * fix proposed in PR #747) and then reads past the buffer or asserts. That
 * is jansson's bug, not one this library can handle, so an allocation made
 * inside json_load*() is never refused; it is counted in g_spared. */
static long g_spared;

static bool inside_json_load(void)
{
    void *pc[64];
    int n = backtrace(pc, 64);
    for (int i = 2; i < n; i++) {
        Dl_info di;
        if (dladdr(pc[i], &di) && di.dli_sname && strncmp(di.dli_sname, "json_load", 9) == 0 && di.dli_fname &&
            strstr(di.dli_fname, "jansson"))
            return true;
    }
    return false;
}

static bool refuse(void)
{
    pthread_mutex_lock(&g_mu);
    bool r = ++g_count == g_fail_at;
    pthread_mutex_unlock(&g_mu);
    if (r && inside_json_load()) {
        __atomic_add_fetch(&g_spared, 1, __ATOMIC_RELAXED);
        r = false;
    }
    if (r)
        __atomic_add_fetch(&g_failed, 1, __ATOMIC_RELAXED);
#if defined(__SANITIZE_ADDRESS__)
    if (r && getenv("VC_TORTURE_TRACE")) /* where the refused allocation was asked for */
        __sanitizer_print_stack_trace();
#endif
    return r;
}

static hdr *header_of(void *p)
{
    hdr *h = (hdr *)p - 1;
    if (h->h.magic != MAGIC_LIVE) {
        pthread_mutex_lock(&g_mu);
        g_bad_free++;
        pthread_mutex_unlock(&g_mu);
        fprintf(stderr, "allocator: %p is not a live block of this allocator (magic %#llx)\n", p,
                (unsigned long long)h->h.magic);
        return NULL;
    }
    return h;
}

static void *c_malloc(size_t n, void *ud)
{
    (void)ud;
    if (refuse())
        return NULL;
    hdr *h = malloc(sizeof(hdr) + n);
    if (!h)
        return NULL;
    h->h.magic = MAGIC_LIVE;
    h->h.size = n;
    __atomic_add_fetch(&g_live, 1, __ATOMIC_RELAXED);
    return h + 1;
}

static void c_free(void *p, void *ud)
{
    (void)ud;
    if (!p)
        return;
    hdr *h = header_of(p);
    if (!h)
        return; /* leak it rather than corrupt the heap; the count fails the test */
    h->h.magic = MAGIC_DEAD;
    __atomic_sub_fetch(&g_live, 1, __ATOMIC_RELAXED);
    free(h);
}

static void *c_realloc(void *p, size_t n, void *ud)
{
    if (!p)
        return c_malloc(n, ud);
    hdr *h = header_of(p);
    if (!h)
        return NULL;
    if (refuse())
        return NULL;
    hdr *nh = realloc(h, sizeof(hdr) + n);
    if (!nh)
        return NULL;
    nh->h.size = n;
    return nh + 1;
}

static const vc_allocator g_alloc = { VC_ALLOCATOR_VERSION, c_malloc, c_realloc, c_free, NULL };

#endif

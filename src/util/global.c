/* Global init (refcounted), the allocator hook, version, vc_free/vc_buf_dispose. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#if defined(__has_include)
#  if __has_include(<mbedtls/build_info.h>)
#    include <mbedtls/build_info.h>
#  else
#    include <mbedtls/config.h>
#  endif
#endif
#if defined(MBEDTLS_PLATFORM_MEMORY)
#  include <mbedtls/platform.h>
#endif

#include "util/util.h"
/* (defined(): cppcheck reads this file without the system headers) */
#if defined(LIBCURL_VERSION_NUM) && LIBCURL_VERSION_NUM < VC__CURL_MIN_VERSION_NUM
#error "libvcluster needs libcurl >= 7.85.0 (CURLOPT_PROTOCOLS_STR)"
#endif
#include "util/vstruct.h"
#include "vcluster/version.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_refcount;
static vc_allocator g_alloc; /* version 0 = libc */

void *vc__malloc(size_t n)
{
    if (n == 0)
        n = 1;
    if (g_alloc.version)
        return g_alloc.malloc_fn(n, g_alloc.user_data);
    return malloc(n);
}

void *vc__realloc(void *p, size_t n)
{
    if (n == 0)
        n = 1;
    if (g_alloc.version)
        return g_alloc.realloc_fn(p, n, g_alloc.user_data);
    return realloc(p, n);
}

void vc__free(void *p)
{
    if (!p)
        return;
    if (g_alloc.version)
        g_alloc.free_fn(p, g_alloc.user_data);
    else
        free(p);
}

void *vc__calloc(size_t nmemb, size_t size)
{
    if (size && nmemb > SIZE_MAX / size)
        return NULL;
    void *p = vc__malloc(nmemb * size);
    if (p)
        memset(p, 0, (nmemb * size) > 0 ? nmemb * size : 1);
    return p;
}

char *vc__strdup(const char *s)
{
    if (!s)
        return NULL;
    return vc__strndup(s, strlen(s));
}

char *vc__strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *p = vc__malloc(len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *vc__vsprintf(const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return NULL;
    char *p = vc__malloc((size_t)n + 1);
    if (!p)
        return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *vc__sprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = vc__vsprintf(fmt, ap);
    va_end(ap);
    return p;
}

/* Shims with the signatures libcurl and jansson want. */
static void *shim_malloc(size_t n) { return vc__malloc(n); }
static void shim_free(void *p) { vc__free(p); }
static void *shim_realloc(void *p, size_t n) { return vc__realloc(p, n); }
static char *shim_strdup(const char *s) { return vc__strdup(s); }
static void *shim_calloc(size_t a, size_t b) { return vc__calloc(a, b); }

bool vc__global_initialized(void)
{
    pthread_mutex_lock(&g_lock);
    bool r = g_refcount > 0;
    pthread_mutex_unlock(&g_lock);
    return r;
}

/* Versioned public struct (util/vstruct.h). */
VC__VSTRUCT(vc_allocator, VC_ALLOCATOR_VERSION, );

int vc_global_init(const vc_allocator *user_alloc)
{
    /* only the bytes of the caller's version are read (util/vstruct.h) */
    vc_allocator copy = { 0 };
    const vc_allocator *alloc = NULL;
    if (user_alloc) {
        int vrc = vc__vstruct_read(&vc_allocator__vs, &copy, user_alloc);
        if (vrc < 0)
            return vrc;
        alloc = &copy;
    }
    if (alloc && (!alloc->malloc_fn || !alloc->realloc_fn || !alloc->free_fn))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_allocator needs malloc_fn, realloc_fn and free_fn");
    /* libcurl.so.4 may be older than the headers we were built with: an
     * option it does not know is then silently not set (CURLOPT_PROTOCOLS_STR) */
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    if (!cv || cv->version_num < VC__CURL_MIN_VERSION_NUM)
        return vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_HTTP, "libcurl %s is loaded; libvcluster needs >= %s",
                         cv && cv->version ? cv->version : "?", VC__CURL_MIN_VERSION);
    pthread_mutex_lock(&g_lock);
    if (g_refcount++ > 0) {
        pthread_mutex_unlock(&g_lock);
        return VC_OK;
    }
    if (alloc)
        g_alloc = *alloc;
    else
        memset(&g_alloc, 0, sizeof(g_alloc));
    CURLcode cr;
    if (g_alloc.version) {
        json_set_alloc_funcs(shim_malloc, shim_free);
#if defined(MBEDTLS_PLATFORM_MEMORY)
        mbedtls_platform_set_calloc_free(shim_calloc, shim_free);
#endif
        cr = curl_global_init_mem(CURL_GLOBAL_ALL, shim_malloc, shim_free, shim_realloc,
                                  shim_strdup, shim_calloc);
    } else {
        cr = curl_global_init(CURL_GLOBAL_ALL);
    }
    if (cr != CURLE_OK) {
        g_refcount = 0;
        memset(&g_alloc, 0, sizeof(g_alloc));
        pthread_mutex_unlock(&g_lock);
        return vc__error(VC_EGENERIC, VC_ERRCLASS_HTTP, "curl_global_init failed: %s",
                         curl_easy_strerror(cr));
    }
    pthread_mutex_unlock(&g_lock);
    return VC_OK;
}

int vc_global_shutdown(void)
{
    pthread_mutex_lock(&g_lock);
    if (g_refcount <= 0) {
        pthread_mutex_unlock(&g_lock);
        return VC_ESTATE;
    }
    int left = --g_refcount;
    if (left == 0) {
        curl_global_cleanup();
        vc__error_thread_cleanup();
        if (g_alloc.version) {
            json_set_alloc_funcs(malloc, free);
            memset(&g_alloc, 0, sizeof(g_alloc));
        }
    }
    pthread_mutex_unlock(&g_lock);
    return left;
}

uint32_t vc_version(const char **out_string)
{
    if (out_string)
        *out_string = VC_VERSION_STRING;
    return VC_VERSION_NUMBER;
}

void vc_free(void *ptr)
{
    vc__free(ptr);
}

void vc_buf_dispose(vc_buf *buf)
{
    if (!buf)
        return;
    vc__free(buf->ptr);
    buf->ptr = NULL;
    buf->reserved = 0;
    buf->size = 0;
}

/* Internal utilities: allocation, errors, logging, buffers, strings. */
#ifndef VC_UTIL_UTIL_H
#define VC_UTIL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vcluster/common.h"

#if defined(__GNUC__)
#  define VC__PRINTF(a, b) __attribute__((format(printf, a, b)))
#  define VC__UNUSED __attribute__((unused))
#else
#  define VC__PRINTF(a, b)
#  define VC__UNUSED
#endif

#define VC__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The oldest libcurl the code works with (CURLOPT_PROTOCOLS_STR), as
 * meson.build declares it (tests/abi/curl_minimum.py keeps them equal). */
#define VC__CURL_MIN_VERSION "7.85.0"
#define VC__CURL_MIN_VERSION_NUM 0x075500

/* ---- allocation (goes through the vc_global_init allocator) ---- */
void *vc__malloc(size_t n);
void *vc__calloc(size_t nmemb, size_t size);
void *vc__realloc(void *p, size_t n);
void vc__free(void *p);
char *vc__strdup(const char *s);
char *vc__strndup(const char *s, size_t n);
char *vc__sprintf(const char *fmt, ...) VC__PRINTF(1, 2);
char *vc__vsprintf(const char *fmt, va_list ap) VC__PRINTF(1, 0);
/* True once vc_global_init has been called (and not fully shut down). */
bool vc__global_initialized(void);

/* ---- errors (thread-local last error) ---- */
/* Set the last error and return `code`, so `return vc__error(...)` reads well. */
int vc__error(int code, int klass, const char *fmt, ...) VC__PRINTF(3, 4);
int vc__error_http(int code, int http_status, const char *reason, const char *fmt, ...)
    VC__PRINTF(4, 5);
/* Prefix the current message with "prefix: " (keeps code/status). */
void vc__error_prefix(const char *fmt, ...) VC__PRINTF(1, 2);
int vc__error_oom(void);
/* Save / restore the last error around cleanup code that may clobber it. */
typedef struct vc__error_saved {
    int code, klass, http;
    char *reason, *message;
} vc__error_saved;
void vc__error_save(vc__error_saved *s);
void vc__error_restore(vc__error_saved *s);
/* Release the calling thread's error buffers (vc_global_shutdown calls it). */
void vc__error_thread_cleanup(void);

/* ---- logging ---- */
bool vc__log_enabled(int level);
void vc__log(int level, const char *subsystem, const char *fmt, ...) VC__PRINTF(3, 4);
#define VC__LOGE(sub, ...) vc__log(VC_LOG_ERROR, sub, __VA_ARGS__)
#define VC__LOGW(sub, ...) vc__log(VC_LOG_WARN, sub, __VA_ARGS__)
#define VC__LOGI(sub, ...) vc__log(VC_LOG_INFO, sub, __VA_ARGS__)
#define VC__LOGD(sub, ...) do { if (vc__log_enabled(VC_LOG_DEBUG)) vc__log(VC_LOG_DEBUG, sub, __VA_ARGS__); } while (0)

/* ---- buffers ---- */
int vc__buf_grow(vc_buf *b, size_t extra);
int vc__buf_put(vc_buf *b, const void *data, size_t len);
int vc__buf_puts(vc_buf *b, const char *s);
int vc__buf_printf(vc_buf *b, const char *fmt, ...) VC__PRINTF(2, 3);
int vc__buf_set(vc_buf *b, const char *s);
/* Take the buffer's string (caller frees with vc__free); leaves b empty. */
char *vc__buf_detach(vc_buf *b);
void vc__buf_clear(vc_buf *b);

/* ---- strings and files ---- */
bool vc__streq(const char *a, const char *b);       /* NULL-safe */
bool vc__str_empty(const char *s);                   /* NULL or "" */
bool vc__str_startswith(const char *s, const char *prefix);
/* A copy of s with every `from` replaced by `to` (nothing when from is
 * NULL or ""); NULL when out of memory. */
char *vc__str_replace(const char *s, const char *from, const char *to);
/* Read a whole file; NUL-terminated; returns VC_OK or VC_EIO with message. */
/* Files are read whole, up to VC__FILE_MAX bytes (16 MiB): more is
 * VC_EINVAL naming the file and the limit (/dev/zero as a kubeconfig or a
 * values file must not eat the machine). */
#define VC__FILE_MAX (16 << 20)
int vc__file_read(const char *path, char **out, size_t *out_len);
int vc__file_write(const char *path, const void *data, size_t len, int mode);
/* Join dir and a relative path; absolute `rel` is returned as a copy. */
char *vc__path_join(const char *dir, const char *rel);
char *vc__path_dirname(const char *path);
/* Standard base64. Decoding ignores whitespace; returns VC_EINVAL on bad input. */
int vc__base64_decode(const char *in, size_t in_len, unsigned char **out, size_t *out_len);
char *vc__base64_encode(const unsigned char *in, size_t len);
/* Percent-encode for a URL query value. */
int vc__url_escape(vc_buf *b, const char *s);
/* Monotonic and wall clocks in milliseconds. */
/* Duration histograms (hist.c): counts per bucket of vc__hist_bounds, the
 * last one above them all. */
#define VC__HIST_BOUNDS 21
typedef struct vc__hist {
    uint64_t count;
    double sum;
    uint64_t counts[VC__HIST_BOUNDS + 1];
} vc__hist;
extern const double vc__hist_bounds[VC__HIST_BOUNDS];
void vc__hist_observe(vc__hist *h, double seconds);
struct vc_syncer_histogram;
/* Point `out` at h (borrowed counts, static bounds). */
void vc__hist_export(const vc__hist *h, struct vc_syncer_histogram *out);

int64_t vc__now_ms(void);
int64_t vc__wall_ms(void);
void vc__sleep_ms(int64_t ms);

/* ---- hashing ---- */
void vc__sha256(const void *data, size_t len, unsigned char out[32]);
/* SHA-1: only for RFC 6455's Sec-WebSocket-Accept, never for security. */
void vc__sha1(const void *data, size_t len, unsigned char out[20]);
/* Lower-case hex of sha256; `out` gets 64 chars + NUL. */
void vc__sha256_hex(const void *data, size_t len, char out[65]);

#endif

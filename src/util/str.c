/* Buffers, strings, files, base64, clocks, sha256 (and sha1 for the WebSocket handshake). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#if defined(__has_include)
#  if __has_include(<mbedtls/build_info.h>)
#    include <mbedtls/build_info.h>
#  else
#    include <mbedtls/version.h>
#  endif
#endif

#include "util/util.h"

int vc__buf_grow(vc_buf *b, size_t extra)
{
    if (b->size + extra + 1 <= b->reserved)
        return VC_OK;
    size_t want = b->size + extra + 1;
    size_t n = b->reserved ? b->reserved : 64;
    while (n < want) {
        if (n > SIZE_MAX / 2)
            return vc__error_oom();
        n *= 2;
    }
    char *p = vc__realloc(b->ptr, n);
    if (!p)
        return vc__error_oom();
    b->ptr = p;
    b->reserved = n;
    return VC_OK;
}

int vc__buf_put(vc_buf *b, const void *data, size_t len)
{
    if (vc__buf_grow(b, len) < 0)
        return VC_ENOMEM;
    if (len)
        memcpy(b->ptr + b->size, data, len);
    b->size += len;
    b->ptr[b->size] = '\0';
    return VC_OK;
}

int vc__buf_puts(vc_buf *b, const char *s)
{
    return vc__buf_put(b, s, strlen(s));
}

int vc__buf_printf(vc_buf *b, const char *fmt, ...)
{
    va_list ap, cp;
    va_start(ap, fmt);
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || vc__buf_grow(b, (size_t)n) < 0) {
        va_end(ap);
        return n < 0 ? vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "bad format") : VC_ENOMEM;
    }
    vsnprintf(b->ptr + b->size, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->size += (size_t)n;
    return VC_OK;
}

int vc__buf_set(vc_buf *b, const char *s)
{
    b->size = 0;
    if (vc__buf_grow(b, 0) < 0)
        return VC_ENOMEM;
    b->ptr[0] = '\0';
    return vc__buf_puts(b, s);
}

char *vc__buf_detach(vc_buf *b)
{
    char *p = b->ptr;
    if (!p)
        p = vc__strdup("");
    b->ptr = NULL;
    b->size = b->reserved = 0;
    return p;
}

void vc__buf_clear(vc_buf *b)
{
    b->size = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

bool vc__streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool vc__str_empty(const char *s)
{
    return !s || !*s;
}

bool vc__str_startswith(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

char *vc__str_replace(const char *s, const char *from, const char *to)
{
    vc_buf b = VC_BUF_INIT;
    size_t fl = from ? strlen(from) : 0;
    const char *p = s ? s : "";
    while (*p) {
        const char *hit = fl ? strstr(p, from) : NULL;
        size_t n = hit ? (size_t)(hit - p) : strlen(p);
        if (vc__buf_put(&b, p, n) < 0 || (hit && vc__buf_puts(&b, to ? to : "") < 0)) {
            vc_buf_dispose(&b);
            return NULL;
        }
        p += n + (hit ? fl : 0);
    }
    if (!b.ptr && vc__buf_set(&b, "") < 0)
        return NULL;
    return vc__buf_detach(&b);
}

int vc__file_read(const char *path, char **out, size_t *out_len)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vc__error(errno == ENOENT ? VC_ENOTFOUND : VC_EIO, VC_ERRCLASS_OS,
                         "%s: %s", path, strerror(errno));
    vc_buf b = VC_BUF_INIT;
    char tmp[16384];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            vc_buf_dispose(&b);
            return vc__error(VC_EIO, VC_ERRCLASS_OS, "%s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        if (b.size + (size_t)n > VC__FILE_MAX) {
            close(fd);
            vc_buf_dispose(&b);
            return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                             "%.200s: larger than %d MiB, the limit for a file libvcluster reads "
                             "(kubeconfig, vcluster.yaml, certificate, token)",
                             path, VC__FILE_MAX >> 20);
        }
        if (vc__buf_put(&b, tmp, (size_t)n) < 0) {
            close(fd);
            vc_buf_dispose(&b);
            return VC_ENOMEM;
        }
    }
    close(fd);
    if (out_len)
        *out_len = b.size;
    *out = vc__buf_detach(&b);
    return *out ? VC_OK : vc__error_oom();
}

int vc__file_write(const char *path, const void *data, size_t len, int mode)
{
    char *tmp = vc__sprintf("%s.tmp.%ld", path, (long)getpid());
    if (!tmp)
        return vc__error_oom();
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        vc__free(tmp);
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "%s: %s", path, strerror(e));
    }
    fchmod(fd, (mode_t)mode);
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            vc__free(tmp);
            return vc__error(VC_EIO, VC_ERRCLASS_OS, "%s: %s", path, strerror(e));
        }
        p += n;
        left -= (size_t)n;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        vc__free(tmp);
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "%s: %s", path, strerror(e));
    }
    vc__free(tmp);
    return VC_OK;
}

char *vc__path_join(const char *dir, const char *rel)
{
    if (!rel)
        return NULL;
    if (rel[0] == '/' || vc__str_empty(dir))
        return vc__strdup(rel);
    size_t dl = strlen(dir);
    return vc__sprintf("%s%s%s", dir, dir[dl - 1] == '/' ? "" : "/", rel);
}

char *vc__path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return vc__strdup(".");
    if (slash == path)
        return vc__strdup("/");
    return vc__strndup(path, (size_t)(slash - path));
}

/* base64 is mbedTLS's (constant time, which matters for the keys and
 * tokens that go through it). What we accept beyond it, as before:
 * whitespace anywhere (YAML block scalars, wrapped PEM-like data), the
 * URL-safe alphabet and missing padding; so the input is normalised first. */
int vc__base64_decode(const char *in, size_t in_len, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    char *norm = vc__malloc(in_len + 4);
    if (!norm)
        return vc__error_oom();
    size_t m = 0;
    for (size_t i = 0; i < in_len; i++) {
        char c = in[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '-' || c == '_') /* URL-safe alphabet */
            c = c == '-' ? '+' : '/';
        norm[m++] = c;
    }
    while (m % 4 != 0 && m % 4 != 1) /* missing padding; 1 extra character is invalid either way */
        norm[m++] = '=';
    size_t need = 0;
    int r = mbedtls_base64_decode(NULL, 0, &need, (const unsigned char *)norm, m);
    unsigned char *o = r == MBEDTLS_ERR_BASE64_INVALID_CHARACTER ? NULL : vc__malloc(need + 1);
    if (o)
        r = mbedtls_base64_decode(o, need + 1, &need, (const unsigned char *)norm, m);
    vc__free(norm);
    if (r == MBEDTLS_ERR_BASE64_INVALID_CHARACTER || (o && r != 0)) {
        vc__free(o);
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "invalid base64");
    }
    if (!o)
        return vc__error_oom();
    o[need] = 0;
    *out = o;
    *out_len = need;
    return VC_OK;
}

char *vc__base64_encode(const unsigned char *in, size_t len)
{
    if (len == 0)
        return vc__strdup("");
    size_t need = 0;
    mbedtls_base64_encode(NULL, 0, &need, in, len); /* the size, with its NUL */
    unsigned char *o = need ? vc__malloc(need) : NULL;
    if (o && mbedtls_base64_encode(o, need, &need, in, len) != 0) {
        vc__free(o);
        o = NULL;
    }
    return (char *)o;
}

int vc__url_escape(vc_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            if (vc__buf_put(b, p, 1) < 0)
                return VC_ENOMEM;
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            if (vc__buf_put(b, e, 3) < 0)
                return VC_ENOMEM;
        }
    }
    return VC_OK;
}

int64_t vc__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t vc__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vc__sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

void vc__sha256(const void *data, size_t len, unsigned char out[32])
{
#if defined(MBEDTLS_VERSION_MAJOR) && MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_sha256(data, len, out, 0);
#else
    mbedtls_sha256_ret(data, len, out, 0);
#endif
}

void vc__sha1(const void *data, size_t len, unsigned char out[20])
{
#if defined(MBEDTLS_VERSION_MAJOR) && MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_sha1(data, len, out);
#else
    mbedtls_sha1_ret(data, len, out);
#endif
}

void vc__sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[32];
    vc__sha256(data, len, d);
    for (int i = 0; i < 32; i++) {
        out[2 * (size_t)i] = hex[d[i] >> 4];
        out[2 * (size_t)i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

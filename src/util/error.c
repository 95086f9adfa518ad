/* The thread-local last error and log dispatch. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

typedef struct tl_error {
    vc_error pub;
    char *reason;
    char *message;
} tl_error;

static _Thread_local tl_error t_err;
static _Thread_local bool t_err_registered;

/* A thread that ends with an error set would leak its message: a pthread
 * key's destructor frees it at thread exit (threads the caller runs, e.g.
 * one per kubelet-proxy connection). The key is made once per process. */
static pthread_once_t err_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t err_key;
static bool err_key_ok;

static void err_key_free(void *p)
{
    tl_error *e = p;
    free(e->reason);
    free(e->message);
    e->reason = e->message = NULL;
    e->pub.reason = e->pub.message = "";
}

static void err_key_make(void)
{
    err_key_ok = pthread_key_create(&err_key, err_key_free) == 0;
}

/* Messages are built with libc malloc, not the user allocator: the error of an
 * out-of-memory condition must still be reportable, and the buffers outlive
 * vc_global_shutdown on threads other than the caller's. */
static void set_strings(const char *reason, char *message_owned)
{
    free(t_err.reason);
    free(t_err.message);
    t_err.reason = reason && *reason ? strdup(reason) : NULL;
    t_err.message = message_owned;
    if ((t_err.reason || t_err.message) && !t_err_registered) {
        pthread_once(&err_key_once, err_key_make);
        if (err_key_ok && pthread_setspecific(err_key, &t_err) == 0)
            t_err_registered = true;
    }
    t_err.pub.reason = t_err.reason ? t_err.reason : "";
    t_err.pub.message = t_err.message ? t_err.message : "";
}

/* The longest error message (bytes, without the NUL): longer ones end in "...". */
#define ERROR_MSG_MAX 4096

VC__PRINTF(1, 0) static char *format_libc(const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return NULL;
    /* bounded: a 100 KB name in a message is cut, and says so */
    size_t len = (size_t)n > ERROR_MSG_MAX ? ERROR_MSG_MAX : (size_t)n;
    char *p = malloc(len + 1);
    if (!p)
        return NULL;
    vsnprintf(p, len + 1, fmt, ap);
    if ((size_t)n > len) {
        size_t cut = len - 3;
        while (cut > 0 && ((unsigned char)p[cut] & 0xC0) == 0x80)
            cut--; /* not inside a UTF-8 sequence */
        memcpy(p + cut, "...", 4);
    }
    /* keep it one line */
    for (char *c = p; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    return p;
}

const vc_error *vc_error_last(void)
{
    if (!t_err.pub.message)
        t_err.pub.message = "";
    if (!t_err.pub.reason)
        t_err.pub.reason = "";
    return &t_err.pub;
}

void vc_error_clear(void)
{
    set_strings(NULL, NULL);
    t_err.pub.code = VC_OK;
    t_err.pub.klass = VC_ERRCLASS_NONE;
    t_err.pub.http_status = 0;
}

void vc__error_thread_cleanup(void)
{
    vc_error_clear();
}

int vc__error(int code, int klass, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = format_libc(fmt, ap);
    va_end(ap);
    set_strings(NULL, m);
    t_err.pub.code = code;
    t_err.pub.klass = klass;
    t_err.pub.http_status = 0;
    return code;
}

int vc__error_http(int code, int http_status, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = format_libc(fmt, ap);
    va_end(ap);
    set_strings(reason, m);
    t_err.pub.code = code;
    t_err.pub.klass = http_status ? VC_ERRCLASS_API : VC_ERRCLASS_HTTP;
    t_err.pub.http_status = http_status;
    return code;
}

void vc__error_prefix(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = format_libc(fmt, ap);
    va_end(ap);
    if (!p)
        return;
    size_t a = strlen(p), b = t_err.message ? strlen(t_err.message) : 0;
    char *m = malloc(a + 2 + b + 1);
    if (!m) {
        free(p);
        return;
    }
    memcpy(m, p, a);
    memcpy(m + a, ": ", 2);
    if (b)
        memcpy(m + a + 2, t_err.message, b);
    m[a + 2 + b] = '\0';
    free(p);
    free(t_err.message);
    t_err.message = m;
    t_err.pub.message = m;
}

int vc__error_oom(void)
{
    set_strings(NULL, NULL);
    t_err.pub.code = VC_ENOMEM;
    t_err.pub.klass = VC_ERRCLASS_NOMEMORY;
    t_err.pub.http_status = 0;
    t_err.pub.message = "out of memory";
    return VC_ENOMEM;
}

void vc__error_save(vc__error_saved *s)
{
    s->code = t_err.pub.code;
    s->klass = t_err.pub.klass;
    s->http = t_err.pub.http_status;
    s->reason = t_err.reason;
    s->message = t_err.message;
    /* detach so later errors do not free them */
    t_err.reason = NULL;
    t_err.message = NULL;
    t_err.pub.reason = "";
    t_err.pub.message = "";
}

void vc__error_restore(vc__error_saved *s)
{
    free(t_err.reason);
    free(t_err.message);
    t_err.reason = s->reason;
    t_err.message = s->message;
    t_err.pub.code = s->code;
    t_err.pub.klass = s->klass;
    t_err.pub.http_status = s->http;
    t_err.pub.reason = s->reason ? s->reason : "";
    t_err.pub.message = s->message ? s->message : "";
    s->reason = s->message = NULL;
}

const char *vc_strerror(int code)
{
    switch (code) {
    case VC_OK: return "success";
    case VC_ITEROVER: return "no more items";
    case VC_EGENERIC: return "error";
    case VC_ENOMEM: return "out of memory";
    case VC_EINVAL: return "invalid argument";
    case VC_EVERSION: return "unsupported options version";
    case VC_ENOTFOUND: return "not found";
    case VC_EEXISTS: return "already exists";
    case VC_ECONFLICT: return "conflict";
    case VC_ETIMEDOUT: return "timed out";
    case VC_EAPI: return "API server error";
    case VC_ESTATE: return "invalid state";
    case VC_ECONNECT: return "cannot connect";
    case VC_EAUTH: return "unauthorized";
    case VC_EFORBIDDEN: return "forbidden";
    case VC_EGONE: return "resource version too old";
    case VC_EIO: return "I/O error";
    case VC_ENOTSUPPORTED: return "not supported";
    case VC_ECONFIG: return "invalid configuration";
    case VC_ETLS: return "TLS error";
    case VC_EINVALIDOBJ: return "invalid object";
    case VC_ETOOMANY: return "too many requests";
    case VC_ECANCELED: return "canceled";
    default: return "unknown status";
    }
}

/* ---- logging ---- */
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_log_level;
static vc_log_fn g_log_fn;
static void *g_log_ud;

void vc_log_set(int max_level, vc_log_fn fn, void *user_data)
{
    pthread_mutex_lock(&g_log_lock);
    g_log_fn = fn;
    g_log_ud = user_data;
    g_log_level = fn ? max_level : 0;
    pthread_mutex_unlock(&g_log_lock);
}

bool vc__log_enabled(int level)
{
    return level <= __atomic_load_n(&g_log_level, __ATOMIC_RELAXED);
}

void vc__log(int level, const char *subsystem, const char *fmt, ...)
{
    if (!vc__log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = format_libc(fmt, ap);
    va_end(ap);
    if (!m)
        return;
    pthread_mutex_lock(&g_log_lock);
    vc_log_fn fn = g_log_fn;
    void *ud = g_log_ud;
    pthread_mutex_unlock(&g_log_lock);
    if (fn)
        fn(level, subsystem, m, ud);
    free(m);
}

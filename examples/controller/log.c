/*
 * vcluster-syncer's log lines: one write(2) each on stderr, so lines of
 * the library's threads and ours never interleave.
 *   text: 2026-12-03T15:55:14.123Z info  sync: message
 *   json: {"ts":"2026-12-03T15:55:14.123Z","level":"info","logger":"sync","msg":"message"}
 * (the field names of controller-runtime's zap logger, ts as RFC 3339).
 */
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

static log_format g_fmt = LOG_TEXT;
static int g_max = VC_LOG_INFO;

void log_setup(log_format fmt, int max_level)
{
    g_fmt = fmt;
    g_max = max_level;
}

void log_rfc3339(char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char t[32];
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03ldZ", t, ts.tv_nsec / 1000000);
}

static const char *level_name(int level)
{
    static const char *const names[] = { "", "error", "warn", "info", "debug", "trace" };
    return level >= 1 && level <= 5 ? names[level] : "info";
}

/* A JSON string (quotes included) into b at *n; stops short of cap. */
static void put_json_string(char *b, size_t cap, size_t *n, const char *s)
{
    static const char hex[] = "0123456789abcdef";
#define PUT(c)                                                                                                         \
    do {                                                                                                               \
        if (*n + 1 < cap)                                                                                              \
            b[(*n)++] = (c);                                                                                           \
    } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT((char)c);
        } else if (c == '\n') {
            PUT('\\');
            PUT('n');
        } else if (c == '\t') {
            PUT('\\');
            PUT('t');
        } else if (c < 0x20) {
            PUT('\\');
            PUT('u');
            PUT('0');
            PUT('0');
            PUT(hex[c >> 4]);
            PUT(hex[c & 15]);
        } else {
            PUT((char)c); /* UTF-8 passes through */
        }
    }
    PUT('"');
#undef PUT
}

static void put_raw(char *b, size_t cap, size_t *n, const char *s)
{
    while (*s && *n + 1 < cap)
        b[(*n)++] = *s++;
}

/* fields: NULL-terminated name/value pairs (JSON only; text appends
 * nothing: the message says it) */
static void emit(int level, const char *subsystem, const char *msg, const char *const *fields)
{
    if (level > g_max)
        return;
    char ts[40];
    log_rfc3339(ts, sizeof ts);
    char line[8192];
    size_t n = 0;
    if (g_fmt == LOG_JSON) {
        put_raw(line, sizeof line - 2, &n, "{\"ts\":\"");
        put_raw(line, sizeof line - 2, &n, ts);
        put_raw(line, sizeof line - 2, &n, "\",\"level\":\"");
        put_raw(line, sizeof line - 2, &n, level_name(level));
        put_raw(line, sizeof line - 2, &n, "\",\"logger\":");
        put_json_string(line, sizeof line - 2, &n, subsystem ? subsystem : "");
        put_raw(line, sizeof line - 2, &n, ",\"msg\":");
        put_json_string(line, sizeof line - 2, &n, msg ? msg : "");
        for (int i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
            put_raw(line, sizeof line - 2, &n, ",");
            put_json_string(line, sizeof line - 2, &n, fields[i]);
            put_raw(line, sizeof line - 2, &n, ":");
            put_json_string(line, sizeof line - 2, &n, fields[i + 1]);
        }
        line[n++] = '}';
    } else {
        int w = snprintf(line, sizeof line - 1, "%s %-5s %s: %s", ts, level_name(level), subsystem ? subsystem : "",
                         msg ? msg : "");
        n = w < 0 ? 0 : (size_t)w < sizeof line - 1 ? (size_t)w : sizeof line - 2;
    }
    line[n++] = '\n';
    /* one write: stderr is unbuffered, and a line must not be split */
    const char *p = line;
    while (n > 0) {
        ssize_t r = write(2, p, n);
        if (r <= 0)
            break;
        p += r;
        n -= (size_t)r;
    }
}

void log_fn(int level, const char *subsystem, const char *msg, void *ud)
{
    (void)ud;
    emit(level, subsystem, msg, NULL);
}

void logf_(int level, const char *subsystem, const char *fmt, ...)
{
    if (level > g_max)
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, subsystem, msg, NULL);
}

void log_event(int level, const vc_sync_event *ev, const char *what)
{
    if (level > g_max)
        return;
    char msg[2048];
    if (ev->type == VC_SYNC_ERROR)
        snprintf(msg, sizeof msg, "%s", ev->error->message);
    else if (!*ev->kind)
        snprintf(msg, sizeof msg, "%s", what);
    else
        snprintf(msg, sizeof msg, "%s %s%s%s%s%s: %s", ev->kind, ev->virtual_namespace,
                 *ev->virtual_namespace ? "/" : "", ev->virtual_name, *ev->host_name ? " -> " : "", ev->host_name,
                 what);
    const char *fields[] = { "event", what, "kind", ev->kind, "namespace", ev->virtual_namespace,
                             "name", ev->virtual_name, "hostName", ev->host_name, NULL };
    emit(level, "sync", msg, g_fmt == LOG_JSON ? fields : NULL);
}

/* JSON requests to the host API server through vc_kube_request(), and the
 * small helpers the reconciler needs (base64, time, logging). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provider.h"

void plog(const char *fmt, ...)
{
    char ts[32];
    now_rfc3339(ts);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s ", ts);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void now_rfc3339(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *parse_body(const vc_buf *b)
{
    if (!b->ptr || b->size == 0)
        return json_object();
    return json_loadb(b->ptr, b->size, 0, NULL);
}

int kapi_get(provider *p, const char *path, json_t **out)
{
    vc_buf b = VC_BUF_INIT;
    *out = NULL;
    int rc = vc_kube_request(p->host, &b, NULL, "GET", path, NULL, NULL);
    if (rc == VC_OK) {
        *out = parse_body(&b);
        if (!*out)
            rc = VC_EAPI;
    }
    vc_buf_dispose(&b);
    return rc;
}

int kapi_send(provider *p, const char *method, const char *path, json_t *body, const char *ctype, json_t **out)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text)
        return VC_ENOMEM;
    if (!ctype && !strcmp(method, "PATCH"))
        ctype = "application/merge-patch+json";
    vc_buf b = VC_BUF_INIT;
    int rc = vc_kube_request(p->host, &b, NULL, method, path, text, ctype);
    free(text);
    if (out) {
        *out = rc == VC_OK ? parse_body(&b) : NULL;
        if (rc == VC_OK && !*out)
            rc = VC_EAPI;
    }
    vc_buf_dispose(&b);
    return rc;
}

int kapi_delete(provider *p, const char *path)
{
    int rc = vc_kube_request(p->host, NULL, NULL, "DELETE", path, NULL, NULL);
    return rc == VC_ENOTFOUND ? VC_OK : rc;
}

char *b64_encode(const char *data, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(((n + 2) / 3) * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)data[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)data[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)data[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

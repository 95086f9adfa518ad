/* The kubelet proxy's request head parser and the mapping from kubelet API
 * paths to host pod subresources. Pure: no I/O, no globals (fuzzed by
 * tests/fuzz/fuzz_kubelet.c).
 *
 * The virtual kube-apiserver calls the kubelet as it would a real one
 * (pkg/kubelet/server in Kubernetes, paths built by the API server's
 * pod REST storage, streamParams()):
 *   GET  /containerLogs/{ns}/{pod}/{container}?follow=true&tailLines=...
 *   POST /exec/{ns}/{pod}[/{uid}]/{container}?command=..&input=1&output=1&error=1&tty=1
 *   POST /attach/{ns}/{pod}[/{uid}]/{container}?input=1&output=1...
 *   POST /portForward/{ns}/{pod}[/{uid}]?port=80
 * The host API server names the stream flags stdin/stdout/stderr/tty and the
 * ports "ports"; this file maps one onto the other. */
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "kubelet/kubelet.h"
#include "translate/translate.h"

void vc__kl_req_clear(vc__kl_req *r)
{
    if (!r)
        return;
    vc__free(r->raw);
    memset(r, 0, sizeof(*r));
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode [s, s+n) into out (room n+1). `plus` turns '+' into ' '
 * (query strings). Fails on bad escapes and on NUL. */
static bool pct_decode(const char *s, size_t n, char *out, bool plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return false;
            c = (char)(h * 16 + l);
            if (c == '\0')
                return false;
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

int vc__kl_parse(vc__kl_req *out, const char *head, size_t len)
{
    memset(out, 0, sizeof(*out));
    if (!head || len < 4 || len > VC__KL_MAX_HEAD)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "request head of %zu bytes", len);
    if (memchr(head, '\0', len))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "NUL in the request head");
    /* room for the head, the decoded path and the raw path (each never
     * longer than the head) */
    char *raw = vc__malloc(3 * len + 3);
    if (!raw)
        return vc__error_oom();
    memcpy(raw, head, len);
    raw[len] = '\0';
    out->raw = raw;
    char *p = raw, *end = raw + len;
    /* request line */
    char *eol = strstr(p, "\r\n");
    if (!eol)
        goto bad;
    *eol = '\0';
    char *sp1 = strchr(p, ' ');
    if (!sp1 || sp1 == p || sp1 - p > 15)
        goto bad;
    *sp1 = '\0';
    for (char *m = p; *m; m++)
        if (*m < 'A' || *m > 'Z')
            goto bad;
    out->method = p;
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (!sp2 || target[0] != '/')
        goto bad;
    *sp2 = '\0';
    if (strcmp(sp2 + 1, "HTTP/1.1") != 0 && strcmp(sp2 + 1, "HTTP/1.0") != 0)
        goto bad;
    for (char *t = target; *t; t++)
        if ((unsigned char)*t <= ' ' || (unsigned char)*t >= 0x7f)
            goto bad;
    out->target = target;
    char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    /* after the head's copy: the decoded path, then the raw path */
    char *path = raw + len + 1;
    if (!pct_decode(target, plen, path, false))
        goto bad;
    out->path = path;
    char *rawp = path + strlen(path) + 1;
    memcpy(rawp, target, plen);
    rawp[plen] = '\0';
    out->raw_path = rawp;
    out->query = q ? q + 1 : "";
    /* headers */
    p = eol + 2;
    for (;;) {
        if (p >= end)
            goto bad;
        eol = strstr(p, "\r\n");
        if (!eol)
            goto bad;
        if (eol == p)
            break; /* the empty line */
        *eol = '\0';
        if (*p == ' ' || *p == '\t')
            goto bad; /* obsolete line folding */
        char *colon = strchr(p, ':');
        if (!colon || colon == p)
            goto bad;
        for (char *n = p; n < colon; n++)
            if (!is_tchar((unsigned char)*n))
                goto bad;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *ve = v + strlen(v);
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            *--ve = '\0';
        for (char *c = v; *c; c++)
            if ((unsigned char)*c < ' ' && *c != '\t')
                goto bad;
        if (out->n_headers == VC__KL_MAX_HEADERS)
            goto bad;
        out->headers[out->n_headers].name = p;
        out->headers[out->n_headers++].value = v;
        p = eol + 2;
    }
    return VC_OK;
bad:
    vc__kl_req_clear(out);
    return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "malformed HTTP request");
}

const char *vc__kl_header_get(const vc__kl_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strcasecmp(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

/* A comma-separated header list containing `token` (case-insensitive). */
static bool list_has(const char *v, const char *token)
{
    size_t tl = strlen(token);
    while (v && *v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        size_t n = strcspn(v, ",");
        size_t m = n;
        while (m > 0 && (v[m - 1] == ' ' || v[m - 1] == '\t'))
            m--;
        if (m == tl && !strncasecmp(v, token, tl))
            return true;
        v += n;
    }
    return false;
}

bool vc__kl_is_upgrade(const vc__kl_req *r)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strcasecmp(r->headers[i].name, "Connection") && list_has(r->headers[i].value, "upgrade"))
            return vc__kl_header_get(r, "Upgrade") != NULL;
    return false;
}

void vc__kl_route_clear(vc__kl_route *r)
{
    if (!r)
        return;
    vc__free(r->host_query);
    r->host_query = NULL;
}

static bool truthy(const char *v)
{
    /* Go's strconv.ParseBool true values; an empty value ("?tty") counts too,
     * as a bare flag */
    return !*v || !strcmp(v, "1") || !strcmp(v, "t") || !strcmp(v, "T") || !strcmp(v, "true") ||
           !strcmp(v, "TRUE") || !strcmp(v, "True");
}

static int add_param(vc_buf *b, const char *k, const char *v)
{
    if (b->size && vc__buf_puts(b, "&") < 0)
        return VC_ENOMEM;
    if (vc__url_escape(b, k) < 0 || vc__buf_puts(b, "=") < 0 || vc__url_escape(b, v) < 0)
        return VC_ENOMEM;
    return VC_OK;
}

static const char *const LOG_PARAMS[] = { "follow", "previous", "timestamps", "tailLines",
                                          "limitBytes", "sinceSeconds", "sinceTime" };

/* Map the query. Returns VC_OK, VC_EINVAL (bad encoding), VC_ENOMEM. */
static int map_query(vc__kl_route *out, const char *query)
{
    vc_buf b = VC_BUF_INIT;
    bool in[4] = { false, false, false, false }; /* stdin stdout stderr tty */
    static const char *const flag_kubelet[4] = { "input", "output", "error", "tty" };
    static const char *const flag_api[4] = { "stdin", "stdout", "stderr", "tty" };
    int rc = out->kind == VC__KL_PORTFORWARD ? VC_OK : add_param(&b, "container", out->container);
    size_t qlen = strlen(query);
    char *k = vc__malloc(qlen + 1), *v = vc__malloc(qlen + 1);
    if (!k || !v)
        rc = VC_ENOMEM;
    const char *p = query;
    while (rc == VC_OK && *p) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t kn = eq ? (size_t)(eq - p) : n;
        if (n == 0) {
            p++;
            continue;
        }
        if (!pct_decode(p, kn, k, true) || !pct_decode(eq ? eq + 1 : p + n, eq ? n - kn - 1 : 0, v, true)) {
            rc = VC_EINVAL;
            break;
        }
        switch (out->kind) {
        case VC__KL_LOGS:
            for (size_t i = 0; i < VC__ARRAY_LEN(LOG_PARAMS); i++)
                if (!strcmp(k, LOG_PARAMS[i]))
                    rc = add_param(&b, k, v);
            break;
        case VC__KL_EXEC:
        case VC__KL_ATTACH:
            if (out->kind == VC__KL_EXEC && !strcmp(k, "command"))
                rc = add_param(&b, "command", v);
            for (int i = 0; i < 4; i++)
                if ((!strcmp(k, flag_kubelet[i]) || !strcmp(k, flag_api[i])) && truthy(v))
                    in[i] = true;
            break;
        case VC__KL_PORTFORWARD:
            if (!strcmp(k, "port") || !strcmp(k, "ports"))
                rc = add_param(&b, "ports", v);
            break;
        default:
            break;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    if (rc == VC_OK && (out->kind == VC__KL_EXEC || out->kind == VC__KL_ATTACH))
        for (int i = 0; i < 4 && rc == VC_OK; i++)
            if (in[i])
                rc = add_param(&b, flag_api[i], "true");
    vc__free(k);
    vc__free(v);
    if (rc == VC_OK && !b.ptr && vc__buf_set(&b, "") < 0)
        rc = VC_ENOMEM;
    if (rc < 0) {
        vc_buf_dispose(&b);
        return rc;
    }
    out->host_query = vc__buf_detach(&b);
    return out->host_query ? VC_OK : VC_ENOMEM;
}

/* Percent-decode one raw path segment into dst. */
static bool copy_seg(char *dst, size_t cap, const char *s, size_t n)
{
    if (n == 0 || n >= cap)
        return false;
    return pct_decode(s, n, dst, false) && dst[0];
}

int vc__kl_route_req(vc__kl_route *out, const vc__kl_req *r)
{
    memset(out, 0, sizeof(*out));
    if (!strcmp(r->path, "/healthz")) {
        out->kind = (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")) ? VC__KL_HEALTHZ : VC__KL_BADMETHOD;
        return VC_OK;
    }
    /* split into at most 6 segments */
    const char *seg[6];
    size_t len[6], n = 0;
    const char *p = r->raw_path + 1;
    for (;;) {
        if (n == VC__ARRAY_LEN(seg)) {
            out->kind = VC__KL_NOTFOUND;
            out->problem = "no such kubelet path";
            return VC_OK;
        }
        size_t l = strcspn(p, "/");
        seg[n] = p;
        len[n++] = l;
        if (!p[l])
            break;
        p += l + 1;
    }
    out->kind = VC__KL_NOTFOUND;
    out->problem = "this kubelet path is not served by the vcluster kubelet proxy";
#define SEG_IS(i, s) (len[i] == sizeof(s) - 1 && !memcmp(seg[i], s, sizeof(s) - 1))
    size_t ci = 0; /* index of the container segment, 0 = none */
    if (SEG_IS(0, "containerLogs") && n == 4) {
        out->kind = VC__KL_LOGS;
        ci = 3;
    } else if ((SEG_IS(0, "exec") || SEG_IS(0, "attach")) && (n == 4 || n == 5)) {
        out->kind = SEG_IS(0, "exec") ? VC__KL_EXEC : VC__KL_ATTACH;
        ci = n - 1;
    } else if (SEG_IS(0, "portForward") && (n == 3 || n == 4)) {
        out->kind = VC__KL_PORTFORWARD;
    } else {
        return VC_OK;
    }
#undef SEG_IS
    bool get_only = out->kind == VC__KL_LOGS;
    if (strcmp(r->method, "GET") != 0 && (get_only || strcmp(r->method, "POST") != 0)) {
        out->kind = VC__KL_BADMETHOD;
        return VC_OK;
    }
    if (!copy_seg(out->ns, sizeof out->ns, seg[1], len[1]) || !copy_seg(out->pod, sizeof out->pod, seg[2], len[2]) ||
        (ci && !copy_seg(out->container, sizeof out->container, seg[ci], len[ci])) ||
        !vc__is_dns1123_label(out->ns) || !vc__is_dns1123_subdomain(out->pod) ||
        (ci && !vc__is_dns1123_label(out->container))) {
        out->kind = VC__KL_BADREQUEST;
        out->problem = "namespace, pod or container name is not valid";
        return VC_OK;
    }
    int rc = map_query(out, r->query);
    if (rc == VC_EINVAL) {
        out->kind = VC__KL_BADREQUEST;
        out->problem = "malformed query string";
        return VC_OK;
    }
    return rc == VC_OK ? VC_OK : vc__error_oom();
}

char *vc__kl_host_path(const vc__kl_route *r, const char *host_ns, const char *host_pod)
{
    const char *sub = NULL;
    switch (r->kind) {
    case VC__KL_LOGS: sub = "log"; break;
    case VC__KL_EXEC: sub = "exec"; break;
    case VC__KL_ATTACH: sub = "attach"; break;
    case VC__KL_PORTFORWARD: sub = "portforward"; break;
    default: return NULL;
    }
    bool q = r->host_query && *r->host_query;
    return vc__sprintf("/api/v1/namespaces/%s/pods/%s/%s%s%s", host_ns, host_pod, sub, q ? "?" : "",
                       q ? r->host_query : "");
}

static const char *const FORWARDED[] = { "Connection", "Upgrade", "X-Stream-Protocol-Version" };

char *vc__kl_forward_headers(const vc__kl_req *r)
{
    if (!vc__kl_is_upgrade(r))
        return vc__strdup("Connection: close\r\n");
    vc_buf b = VC_BUF_INIT;
    for (size_t i = 0; i < r->n_headers; i++) {
        const char *n = r->headers[i].name;
        bool fwd = strncasecmp(n, "Sec-WebSocket-", 14) == 0;
        for (size_t j = 0; !fwd && j < VC__ARRAY_LEN(FORWARDED); j++)
            fwd = !strcasecmp(n, FORWARDED[j]);
        if (fwd && vc__buf_printf(&b, "%s: %s\r\n", n, r->headers[i].value) < 0) {
            vc_buf_dispose(&b);
            return NULL;
        }
    }
    if (!b.ptr && vc__buf_set(&b, "") < 0)
        return NULL;
    return vc__buf_detach(&b);
}

char *vc__kl_status_response(int http, const char *reason, const char *message)
{
    json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
                           "status", "Failure", "message", message ? message : "", "reason", reason ? reason : "",
                           "code", http);
    char *body = st ? json_dumps(st, JSON_COMPACT) : NULL;
    json_decref(st);
    if (!body)
        return NULL;
    char *r = vc__kl_json_response(http, body, strlen(body));
    vc__free(body); /* jansson allocates through the library's allocator */
    return r;
}

static const char *status_text(int http)
{
    switch (http) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
    }
}

char *vc__kl_json_response(int http, const char *body, size_t len)
{
    char *head = vc__sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n\r\n",
                             http, status_text(http), len);
    if (!head)
        return NULL;
    size_t hl = strlen(head);
    char *r = vc__realloc(head, hl + len + 1);
    if (!r) {
        vc__free(head);
        return NULL;
    }
    memcpy(r + hl, body, len);
    r[hl + len] = '\0';
    return r;
}

/* The value of header `name` in a raw response head (first occurrence),
 * copied into out (truncated to cap-1); false when absent. */
static bool head_get(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = strstr(head, "\r\n");
    while (p) {
        p += 2;
        if (!strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t n = strcspn(v, "\r\n");
            while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = strstr(p, "\r\n");
    }
    return false;
}

void vc__kl_body_init(vc__kl_body *b, const char *head, int status, bool head_request)
{
    memset(b, 0, sizeof(*b));
    char v[128];
    if (head_request || (status >= 100 && status < 200) || status == 204 || status == 304) {
        b->mode = VC__KL_BODY_LENGTH;
        b->done = true;
    } else if (head_get(head, "Transfer-Encoding", v, sizeof v) && list_has(v, "chunked")) {
        b->mode = VC__KL_BODY_CHUNKED;
    } else if (head_get(head, "Content-Length", v, sizeof v) && v[0] >= '0' && v[0] <= '9') {
        uint64_t n = 0;
        for (const char *c = v; *c >= '0' && *c <= '9' && n < (UINT64_MAX - 9) / 10; c++)
            n = n * 10 + (uint64_t)(*c - '0');
        b->mode = VC__KL_BODY_LENGTH;
        b->left = n;
        b->done = n == 0;
    } else {
        b->mode = VC__KL_BODY_EOF;
    }
}

enum { C_SIZE, C_EXT, C_SIZE_LF, C_DATA, C_DATA_CR, C_DATA_LF, C_TR_START, C_TR_LINE, C_TR_LF, C_END_LF };

long vc__kl_body_feed(vc__kl_body *b, const char *data, size_t n)
{
    if (b->done)
        return 0;
    if (b->mode == VC__KL_BODY_EOF)
        return (long)n;
    if (b->mode == VC__KL_BODY_LENGTH) {
        size_t m = (uint64_t)n < b->left ? n : (size_t)b->left;
        b->left -= m;
        b->done = b->left == 0;
        return (long)m;
    }
    size_t i = 0;
    while (i < n && !b->done) {
        char c = data[i];
        switch (b->st) {
        case C_SIZE: {
            int h = hexval(c);
            if (h >= 0) {
                if (b->digits++ >= 15)
                    return -1;
                b->left = b->left * 16 + (uint64_t)h;
            } else if (b->digits && (c == ';' || c == ' ' || c == '\t')) {
                b->st = C_EXT;
            } else if (b->digits && c == '\r') {
                b->st = C_SIZE_LF;
            } else {
                return -1;
            }
            i++;
            break;
        }
        case C_EXT:
            if (c == '\r')
                b->st = C_SIZE_LF;
            i++;
            break;
        case C_SIZE_LF:
            if (c != '\n')
                return -1;
            b->st = b->left ? C_DATA : C_TR_START;
            i++;
            break;
        case C_DATA: {
            size_t m = (uint64_t)(n - i) < b->left ? n - i : (size_t)b->left;
            b->left -= m;
            i += m;
            if (b->left == 0)
                b->st = C_DATA_CR;
            break;
        }
        case C_DATA_CR:
            if (c != '\r')
                return -1;
            b->st = C_DATA_LF;
            i++;
            break;
        case C_DATA_LF:
            if (c != '\n')
                return -1;
            b->st = C_SIZE;
            b->digits = 0;
            b->left = 0;
            i++;
            break;
        case C_TR_START:
            b->st = c == '\r' ? C_END_LF : C_TR_LINE;
            i++;
            break;
        case C_TR_LINE:
            if (c == '\r')
                b->st = C_TR_LF;
            i++;
            break;
        case C_TR_LF:
            if (c != '\n')
                return -1;
            b->st = C_TR_START;
            i++;
            break;
        case C_END_LF:
            if (c != '\n')
                return -1;
            b->done = true;
            i++;
            break;
        default:
            return -1;
        }
    }
    return (long)i;
}

char *vc__kl_close_head(const char *head)
{
    vc_buf b = VC_BUF_INIT;
    const char *p = head;
    const char *end = strstr(head, "\r\n\r\n");
    if (!end)
        return NULL;
    bool first = true;
    while (p < end + 2) {
        const char *e = strstr(p, "\r\n");
        size_t n = (size_t)(e - p);
        bool drop = !first && ((n >= 11 && !strncasecmp(p, "Connection:", 11)) ||
                               (n >= 11 && !strncasecmp(p, "Keep-Alive:", 11)));
        if (!drop && (vc__buf_put(&b, p, n) < 0 || vc__buf_puts(&b, "\r\n") < 0)) {
            vc_buf_dispose(&b);
            return NULL;
        }
        first = false;
        p = e + 2;
    }
    if (vc__buf_puts(&b, "Connection: close\r\n\r\n") < 0) {
        vc_buf_dispose(&b);
        return NULL;
    }
    return vc__buf_detach(&b);
}

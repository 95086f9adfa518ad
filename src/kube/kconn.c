/* Raw HTTP/1.1 connections to an API server: one request written by hand on
 * a libcurl CONNECT_ONLY connection (TLS and credentials as every other
 * request of the vc_kube), the response headers parsed here, then the bytes
 * that follow (an upgraded SPDY/WebSocket stream, or a streamed body) handed
 * to the caller as they come. libcurl 7.88 has no WebSocket API and no way
 * to hand over an upgraded HTTP/1.1 connection, hence CONNECT_ONLY. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <strings.h>

#include "kube/kube.h"
#include "vcluster/version.h"

#define MAX_HEADERS ((size_t)65536)

struct vc__kconn {
    CURL *easy;
    curl_socket_t fd;
    char *pending;        /* bytes read past the response headers */
    size_t pending_len, pending_off;
};

int vc__kconn_fd(const vc__kconn *c)
{
    return c ? (int)c->fd : -1;
}

void vc__kconn_close(vc__kconn *c)
{
    if (!c)
        return;
    if (c->easy)
        curl_easy_cleanup(c->easy);
    vc__free(c->pending);
    vc__free(c);
}

/* Milliseconds left until `deadline` (< 0 deadline: no limit -> -1). */
static int left_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t l = deadline - vc__now_ms();
    if (l < 0)
        return 0;
    return l > 0x7fffffff ? 0x7fffffff : (int)l;
}

static int wait_fd(curl_socket_t fd, short ev, int ms)
{
    struct pollfd p = { .fd = fd, .events = ev, .revents = 0 };
    for (;;) {
        int r = poll(&p, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

/* One recv from curl (no buffer involved). */
static ssize_t raw_read(vc__kconn *c, void *buf, size_t n, int64_t deadline)
{
    for (;;) {
        size_t got = 0;
        CURLcode cr = curl_easy_recv(c->easy, buf, n, &got);
        if (cr == CURLE_OK)
            return (ssize_t)got; /* 0: the peer closed */
        if (cr != CURLE_AGAIN)
            return vc__kube_map_curl(cr, "reading from the API server", NULL);
        int ms = left_ms(deadline);
        if (ms == 0)
            return VC__EAGAIN;
        int pr = wait_fd(c->fd, POLLIN, ms);
        if (pr < 0)
            return vc__error(VC_ECONNECT, VC_ERRCLASS_HTTP, "poll: %s", strerror(errno));
        if (pr == 0 && left_ms(deadline) == 0)
            return VC__EAGAIN;
    }
}

ssize_t vc__kconn_read(vc__kconn *c, void *buf, size_t n, int32_t timeout_ms)
{
    if (!c || !buf)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc__kconn_read: NULL argument");
    if (n == 0)
        return 0;
    if (c->pending_off < c->pending_len) {
        size_t m = c->pending_len - c->pending_off;
        if (m > n)
            m = n;
        memcpy(buf, c->pending + c->pending_off, m);
        c->pending_off += m;
        if (c->pending_off == c->pending_len) {
            vc__free(c->pending);
            c->pending = NULL;
            c->pending_len = c->pending_off = 0;
        }
        return (ssize_t)m;
    }
    int64_t deadline = timeout_ms < 0 ? -1 : vc__now_ms() + timeout_ms;
    return raw_read(c, buf, n, deadline);
}

static int write_deadline(vc__kconn *c, const void *buf, size_t n, int64_t deadline)
{
    const char *p = buf;
    while (n > 0) {
        size_t sent = 0;
        CURLcode cr = curl_easy_send(c->easy, p, n, &sent);
        if (cr == CURLE_OK) {
            p += sent;
            n -= sent;
            continue;
        }
        if (cr != CURLE_AGAIN)
            return vc__kube_map_curl(cr, "writing to the API server", NULL);
        int ms = left_ms(deadline);
        if (ms == 0)
            return vc__error(VC_ETIMEDOUT, VC_ERRCLASS_HTTP, "writing to the API server: timed out");
        if (wait_fd(c->fd, POLLOUT, ms) < 0)
            return vc__error(VC_ECONNECT, VC_ERRCLASS_HTTP, "poll: %s", strerror(errno));
    }
    return VC_OK;
}

ssize_t vc__kconn_write(vc__kconn *c, const void *buf, size_t n)
{
    if (!c || (!buf && n))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc__kconn_write: NULL argument");
    if (n == 0)
        return 0;
    size_t sent = 0;
    CURLcode cr = curl_easy_send(c->easy, buf, n, &sent);
    if (cr == CURLE_OK && sent > 0)
        return (ssize_t)sent;
    if (cr == CURLE_AGAIN || (cr == CURLE_OK && sent == 0))
        return VC__EAGAIN;
    return vc__kube_map_curl(cr, "writing to the API server", NULL);
}

int vc__kconn_write_all(vc__kconn *c, const void *buf, size_t n, int32_t timeout_ms)
{
    if (!c || (!buf && n))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc__kconn_write_all: NULL argument");
    return write_deadline(c, buf, n, timeout_ms < 0 ? -1 : vc__now_ms() + timeout_ms);
}

/* "host[:port]" of an http(s) URL, for the Host header. */
static char *url_hostport(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    return vc__strndup(p, n);
}

static bool header_safe(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return true;
}

/* The request head: request line, Host, User-Agent, auth, extra headers,
 * Content-Length, empty line. */
static int build_head(vc_kube *k, const char *auth, const char *method, const char *path, const char *extra,
                      const void *body, size_t body_len, vc_buf *b)
{
    char *hostport = url_hostport(k->cfg.server);
    if (!hostport)
        return vc__error_oom();
    int r = vc__buf_printf(b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: libvcluster/" VC_VERSION_STRING "\r\n",
                           method, path, hostport);
    vc__free(hostport);
    if (r == VC_OK && auth)
        r = vc__buf_printf(b, "%s\r\n", auth);
    if (r == VC_OK && !auth && k->cfg.username && k->cfg.password) {
        char *up = vc__sprintf("%s:%s", k->cfg.username, k->cfg.password);
        char *enc = up ? vc__base64_encode((const unsigned char *)up, strlen(up)) : NULL;
        r = enc ? vc__buf_printf(b, "Authorization: Basic %s\r\n", enc) : vc__error_oom();
        vc__free(up);
        vc__free(enc);
    }
    if (r == VC_OK && extra && *extra) {
        size_t n = strlen(extra);
        while (n > 0 && (extra[n - 1] == '\n' || extra[n - 1] == '\r'))
            n--;
        if (n > 0 && (r = vc__buf_put(b, extra, n)) == VC_OK)
            r = vc__buf_puts(b, "\r\n");
    }
    if (r == VC_OK && body)
        r = vc__buf_printf(b, "Content-Length: %zu\r\n", body_len);
    if (r == VC_OK)
        r = vc__buf_puts(b, "\r\n");
    return r;
}

/* Parse "HTTP/1.x NNN ..." */
static int parse_status(const char *h, size_t n, int *status)
{
    if (n < 12 || strncmp(h, "HTTP/1.", 7) != 0 || h[8] != ' ')
        return VC_EAPI;
    int s = 0;
    for (int i = 9; i < 12; i++) {
        if (h[i] < '0' || h[i] > '9')
            return VC_EAPI;
        s = s * 10 + (h[i] - '0');
    }
    if (s < 100)
        return VC_EAPI;
    *status = s;
    return VC_OK;
}

int vc__kconn_open(vc_kube *k, const char *method, const char *path, const char *extra_headers,
                   const void *body, size_t body_len, int32_t timeout_ms,
                   vc__kconn **out, int *status, char **headers)
{
    if (out)
        *out = NULL;
    if (status)
        *status = 0;
    if (headers)
        *headers = NULL;
    if (!k || !method || !path || path[0] != '/' || !out || !status || !header_safe(method) ||
        !header_safe(path) || strchr(path, ' ') || strchr(method, ' ') || (!body && body_len))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc__kconn_open: bad arguments");
    if (timeout_ms <= 0)
        timeout_ms = k->timeout_ms > 0 ? k->timeout_ms : 30000;
    int64_t deadline = vc__now_ms() + timeout_ms;
    char *what = vc__sprintf("%s %s%s", method, k->cfg.server ? k->cfg.server : "", path);
    vc__kconn *c = vc__calloc(1, sizeof(*c));
    vc_buf head = VC_BUF_INIT, resp = VC_BUF_INIT;
    struct curl_slist *h = NULL;
    char *auth = NULL;
    int rc;
    if (!what || !c || !(c->easy = curl_easy_init())) {
        rc = vc__error_oom();
        goto fail;
    }
    c->fd = CURL_SOCKET_BAD;
    if ((rc = vc__kube_setup_easy(k, c->easy, &h)) < 0) {
        vc__error_prefix("%s", what);
        goto fail;
    }
    for (struct curl_slist *l = h; l; l = l->next) {
        if (strncasecmp(l->data, "Authorization:", 14) == 0) {
            if (!(auth = vc__strdup(l->data))) {
                rc = vc__error_oom();
                goto fail;
            }
        }
    }
    curl_slist_free_all(h);
    h = NULL;
    /* CONNECT_ONLY: connect (and TLS) to the server, send nothing. */
    curl_easy_setopt(c->easy, CURLOPT_URL, k->cfg.server);
    curl_easy_setopt(c->easy, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c->easy, CURLOPT_SSL_ENABLE_ALPN, 0L);
    curl_easy_setopt(c->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    if (k->cfg.proxy_url)
        curl_easy_setopt(c->easy, CURLOPT_HTTPPROXYTUNNEL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cr = curl_easy_perform(c->easy);
    curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, NULL);
    if (cr != CURLE_OK) {
        rc = vc__kube_map_curl(cr, what, errbuf);
        goto fail;
    }
    curl_socket_t fd = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD) {
        rc = vc__error(VC_ECONNECT, VC_ERRCLASS_HTTP, "%s: no socket after connecting", what);
        goto fail;
    }
    c->fd = fd;
    if ((rc = build_head(k, auth, method, path, extra_headers, body, body_len, &head)) < 0)
        goto fail;
    if ((rc = write_deadline(c, head.ptr, head.size, deadline)) < 0 ||
        (body_len && (rc = write_deadline(c, body, body_len, deadline)) < 0)) {
        vc__error_prefix("%s", what);
        goto fail;
    }
    /* Read until the empty line that ends the headers. */
    size_t end = 0, scanned = 0;
    for (;;) {
        if (resp.size >= MAX_HEADERS) {
            rc = vc__error_http(VC_EAPI, 0, NULL, "%s: response headers exceed %zu bytes", what, MAX_HEADERS);
            goto fail;
        }
        if ((rc = vc__buf_grow(&resp, 4096)) < 0)
            goto fail;
        size_t room = resp.reserved - resp.size - 1;
        if (room > MAX_HEADERS + 4096 - resp.size)
            room = MAX_HEADERS + 4096 - resp.size;
        ssize_t n = raw_read(c, resp.ptr + resp.size, room, deadline);
        if (n == VC__EAGAIN) {
            rc = vc__error_http(VC_ETIMEDOUT, 0, NULL, "%s: no response within %d ms", what, (int)timeout_ms);
            goto fail;
        }
        if (n < 0) {
            rc = (int)n;
            vc__error_prefix("%s", what);
            goto fail;
        }
        if (n == 0) {
            rc = vc__error_http(VC_ECONNECT, 0, NULL, "%s: the server closed the connection %s", what,
                                resp.size ? "inside the response headers" : "without a response");
            goto fail;
        }
        resp.size += (size_t)n;
        resp.ptr[resp.size] = '\0';
        size_t from = scanned > 3 ? scanned - 3 : 0;
        char *e = NULL;
        for (size_t i = from; i + 3 < resp.size; i++) {
            if (resp.ptr[i] == '\r' && resp.ptr[i + 1] == '\n' && resp.ptr[i + 2] == '\r' && resp.ptr[i + 3] == '\n') {
                e = resp.ptr + i;
                break;
            }
        }
        scanned = resp.size;
        if (e) {
            end = (size_t)(e - resp.ptr) + 4;
            break;
        }
    }
    if (end > MAX_HEADERS) {
        rc = vc__error_http(VC_EAPI, 0, NULL, "%s: response headers exceed %zu bytes", what, MAX_HEADERS);
        goto fail;
    }
    if (parse_status(resp.ptr, end, status) < 0) {
        rc = vc__error_http(VC_EAPI, 0, NULL, "%s: not an HTTP/1.1 response", what);
        goto fail;
    }
    if (resp.size > end) {
        c->pending_len = resp.size - end;
        if (!(c->pending = vc__malloc(c->pending_len))) {
            rc = vc__error_oom();
            goto fail;
        }
        memcpy(c->pending, resp.ptr + end, c->pending_len);
    }
    if (headers) {
        if (!(*headers = vc__strndup(resp.ptr, end))) {
            rc = vc__error_oom();
            goto fail;
        }
    }
    vc_buf_dispose(&head);
    vc_buf_dispose(&resp);
    vc__free(auth);
    vc__free(what);
    *out = c;
    vc_error_clear();
    return VC_OK;
fail:
    if (status)
        *status = 0;
    curl_slist_free_all(h);
    vc_buf_dispose(&head);
    vc_buf_dispose(&resp);
    vc__free(auth);
    vc__free(what);
    vc__kconn_close(c);
    return rc;
}

static size_t fetch_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    size_t n = size * nmemb;
    return vc__buf_put(ud, ptr, n) < 0 ? 0 : n;
}

int vc__kube_fetch(vc_kube *k, const char *path, int32_t timeout_ms, long *http, vc_buf *out)
{
    *http = 0;
    if (timeout_ms <= 0)
        timeout_ms = k->timeout_ms > 0 ? k->timeout_ms : 30000;
    char *url = vc__sprintf("%s%s", k->cfg.server, path);
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    int rc;
    if (!url || !e) {
        rc = vc__error_oom();
        goto done;
    }
    if ((rc = vc__kube_setup_easy(k, e, &h)) < 0) {
        vc__error_prefix("GET %s", url);
        goto done;
    }
    vc__buf_clear(out);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cr = curl_easy_perform(e);
    if (cr != CURLE_OK) {
        char *what = vc__sprintf("GET %s", url);
        rc = vc__kube_map_curl(cr, what ? what : path, errbuf);
        vc__free(what);
        goto done;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, http);
    if (!out->ptr && vc__buf_set(out, "") < 0)
        rc = vc__error_oom();
done:
    if (e)
        curl_easy_cleanup(e);
    curl_slist_free_all(h);
    vc__free(url);
    return rc;
}

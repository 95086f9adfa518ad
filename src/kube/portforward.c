/*
 * Port forwarding through the API server: GET pods/NAME/portforward?ports=P
 * upgraded to a WebSocket with subprotocol v4.channel.k8s.io. The API server
 * and the kubelet proxy the upgraded stream unchanged, down to the container
 * runtime's streaming server (k8s.io/cri-streaming, used by containerd),
 * which speaks the channel framing of ws.h. Why this and not SPDY tunnelled
 * in a WebSocket: doc/guide.md, "Port forwarding".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kube/kube.h"
#include "kube/ws.h"

#define PF_PROTOCOL "v4.channel.k8s.io"
#define PF_FRAME_MAX 32768       /* data per frame we send */
#define PF_BODY_MAX 65536        /* an error response body we read */
#define PF_CONTROL_TIMEOUT 5000  /* pong and close replies */

struct vc_port_forward {
    vc_kube *kube;
    vc__kconn *conn;
    vc__ws_parser ws;
    vc__pf_demux dm;
    char what[320];              /* "port-forward to pod NS/NAME port P" */
    const unsigned char *data;   /* data-channel bytes not yet handed out (borrowed from ws) */
    size_t data_len;
    int cancel[2];               /* a pipe: cancel writes, blocking calls poll the read end */
    bool eof;                    /* close frame or end of the connection seen */
    bool close_sent;
    int broken;                  /* transport error code, sticky */
};

/* ---- helpers ---- */

static bool dns_label_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* The value of header `name` in a raw header block, copied into out. */
static bool header_value(const char *headers, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
            const char *v = p + nl + 1;
            const char *end = p + len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
            size_t vl = (size_t)(end - v);
            if (vl >= cap)
                vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        p = eol ? eol + 2 : NULL;
    }
    return false;
}

static int32_t left_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t l = deadline - vc__now_ms();
    return l > 0 ? (int32_t)(l > INT32_MAX ? INT32_MAX : l) : 0;
}

static bool cancelled(const vc_port_forward *pf)
{
    struct pollfd p = { .fd = pf->cancel[0], .events = POLLIN };
    return poll(&p, 1, 0) > 0;
}

static int err_cancelled(const vc_port_forward *pf)
{
    return vc__error(VC_ECANCELED, VC_ERRCLASS_HTTP, "%s: cancelled", pf->what);
}

/* Send one frame (masked) within timeout_ms. */
static int send_frame(vc_port_forward *pf, int opcode, const void *a, size_t al, const void *b, size_t bl,
                      int32_t timeout_ms)
{
    uint8_t mask[4];
    if (getrandom(mask, sizeof mask, GRND_NONBLOCK) != (ssize_t)sizeof mask) {
        /* the pool is not ready this early only at boot; any mask is valid framing */
        uint32_t t = (uint32_t)vc__now_ms() * 2654435761u;
        memcpy(mask, &t, sizeof mask);
    }
    vc_buf f = VC_BUF_INIT;
    int rc = vc__ws_encode(&f, opcode, a, al, b, bl, mask);
    if (rc == VC_OK)
        rc = vc__kconn_write_all(pf->conn, f.ptr, f.size, timeout_ms);
    vc_buf_dispose(&f);
    if (rc < 0 && rc != VC_ENOMEM && rc != VC_EINVAL)
        pf->broken = rc;
    return rc;
}

/* Read the body of a refused upgrade (Content-Length, chunked, or up to EOF),
 * bounded in size and time. */
static void read_body(vc__kconn *c, const char *headers, vc_buf *out, int64_t deadline)
{
    char v[64];
    long long want = -1;
    bool chunked = header_value(headers, "Transfer-Encoding", v, sizeof v) && strcasestr(v, "chunked");
    if (!chunked && header_value(headers, "Content-Length", v, sizeof v))
        want = atoll(v);
    char buf[4096];
    while (out->size < PF_BODY_MAX && (want < 0 || (long long)out->size < want)) {
        int32_t l = left_ms(deadline);
        if (l == 0)
            break;
        ssize_t n = vc__kconn_read(c, buf, sizeof buf, l);
        if (n <= 0)
            break;
        if (vc__buf_put(out, buf, (size_t)n) < 0)
            break;
        if (chunked && strstr(out->ptr, "\r\n0\r\n"))
            break;
    }
    if (chunked && out->size) {
        /* size CRLF data CRLF ... 0 CRLF: keep the data */
        vc_buf plain = VC_BUF_INIT;
        const char *p = out->ptr, *end = out->ptr + out->size;
        while (p < end) {
            char *e = NULL;
            unsigned long n = strtoul(p, &e, 16);
            const char *crlf = strstr(p, "\r\n");
            if (!crlf || n == 0 || e == p)
                break;
            p = crlf + 2;
            if ((size_t)(end - p) < n)
                n = (unsigned long)(end - p);
            vc__buf_put(&plain, p, n);
            p += n;
            if (end - p >= 2)
                p += 2;
        }
        vc_buf_dispose(out);
        *out = plain;
    }
    if (want >= 0 && (long long)out->size > want)
        out->size = (size_t)want;
}

/* ---- open / free ---- */

int vc_port_forward_open(vc_port_forward **out, vc_kube *kube, const char *ns, const char *pod, uint16_t port,
                         int32_t timeout_ms)
{
    if (!out || !kube)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_port_forward_open: out and kube are required");
    *out = NULL;
    if (!dns_label_ok(ns) || !dns_label_ok(pod) || port == 0)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "port-forward: bad namespace \"%s\", pod \"%s\" or port %u",
                         ns ? ns : "", pod ? pod : "", (unsigned)port);
    vc_port_forward *pf = vc__calloc(1, sizeof(*pf));
    if (!pf)
        return vc__error_oom();
    pf->cancel[0] = pf->cancel[1] = -1;
    snprintf(pf->what, sizeof pf->what, "port-forward to pod %s/%s port %u", ns, pod, (unsigned)port);
    vc__ws_parser_init(&pf->ws, 0);
    vc__pf_demux_init(&pf->dm, port);
    int rc = VC_OK;
    if (pipe2(pf->cancel, O_CLOEXEC | O_NONBLOCK) < 0) {
        rc = vc__error(VC_EIO, VC_ERRCLASS_OS, "port-forward: pipe: %s", strerror(errno));
        goto fail;
    }
    char key[25], accept_want[29], extra[512], path[600];
    if ((rc = vc__ws_key(key)) < 0)
        goto fail;
    vc__ws_accept(key, accept_want);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/portforward?ports=%u", ns, pod, (unsigned)port);
    snprintf(extra, sizeof extra,
             "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: " PF_PROTOCOL "\r\n",
             key);
    int64_t t = timeout_ms > 0 ? timeout_ms : kube->timeout_ms > 0 ? kube->timeout_ms : 30000;
    int64_t deadline = vc__now_ms() + t;
    int status = 0;
    char *headers = NULL;
    rc = vc__kconn_open(kube, "GET", path, extra, NULL, 0, (int32_t)t, &pf->conn, &status, &headers);
    if (rc < 0) {
        vc__error_prefix("%s", pf->what);
        goto fail;
    }
    if (status != 101) {
        vc_buf body = VC_BUF_INIT;
        read_body(pf->conn, headers ? headers : "", &body, deadline);
        if (status >= 200 && status < 300)
            rc = vc__error_http(VC_EAPI, status, NULL, "%s: the server answered HTTP %d instead of switching to a WebSocket",
                                pf->what, status);
        else
            rc = vc__kube_map_error(status, body.ptr, body.size, pf->what);
        vc_buf_dispose(&body);
        vc__free(headers);
        goto fail;
    }
    char got[128] = "";
    if (!header_value(headers, "Sec-WebSocket-Accept", got, sizeof got) || strcmp(got, accept_want) != 0) {
        rc = vc__error(VC_EAPI, VC_ERRCLASS_HTTP, "%s: bad Sec-WebSocket-Accept \"%s\" in the upgrade", pf->what, got);
        vc__free(headers);
        goto fail;
    }
    if (header_value(headers, "Sec-WebSocket-Protocol", got, sizeof got) && strcmp(got, PF_PROTOCOL) != 0) {
        rc = vc__error(VC_EAPI, VC_ERRCLASS_HTTP, "%s: the server chose subprotocol \"%s\", not " PF_PROTOCOL,
                       pf->what, got);
        vc__free(headers);
        goto fail;
    }
    vc__free(headers);
    pf->kube = vc__kube_ref(kube);
    *out = pf;
    return VC_OK;
fail:
    vc__kconn_close(pf->conn);
    if (pf->cancel[0] >= 0) {
        close(pf->cancel[0]);
        close(pf->cancel[1]);
    }
    vc__ws_parser_clear(&pf->ws);
    vc__pf_demux_clear(&pf->dm);
    vc__free(pf);
    return rc;
}

void vc_port_forward_free(vc_port_forward *pf)
{
    if (!pf)
        return;
    vc__error_saved saved;
    vc__error_save(&saved);
    if (!pf->close_sent && !pf->broken) {
        static const unsigned char normal[2] = { 0x03, 0xE8 }; /* 1000 */
        send_frame(pf, VC__WS_CLOSE, normal, 2, NULL, 0, 1000);
    }
    vc__error_restore(&saved);
    vc__kconn_close(pf->conn);
    close(pf->cancel[0]);
    close(pf->cancel[1]);
    vc__ws_parser_clear(&pf->ws);
    vc__pf_demux_clear(&pf->dm);
    vc__kube_unref(pf->kube);
    vc__free(pf);
}

int vc_port_forward_cancel(vc_port_forward *pf)
{
    if (!pf)
        return VC_EINVAL;
    ssize_t r = write(pf->cancel[1], "x", 1);
    (void)r; /* a full pipe is cancelled already */
    return VC_OK;
}

int vc_port_forward_get_fd(vc_port_forward *pf)
{
    if (!pf)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "pf is NULL");
    if (pf->eof || pf->broken)
        return vc__error(VC_ESTATE, VC_ERRCLASS_HTTP, "%s: the stream ended", pf->what);
    return vc__kconn_fd(pf->conn);
}

/* ---- reading ---- */

/* The error for a stream that ended with a message on the error channel. */
static int err_channel(vc_port_forward *pf)
{
    return vc__error(VC_EAPI, VC_ERRCLASS_API, "%s: %.*s", pf->what, (int)pf->dm.err.size, pf->dm.err.ptr);
}

/* Handle one parsed message. */
static int on_message(vc_port_forward *pf, int op, const unsigned char *pl, size_t len)
{
    switch (op) {
    case VC__WS_BINARY:
        return vc__pf_demux_msg(&pf->dm, pl, len, &pf->data, &pf->data_len);
    case VC__WS_PING:
        return send_frame(pf, VC__WS_PONG, pl, len, NULL, 0, PF_CONTROL_TIMEOUT) < 0 ? pf->broken : VC_OK;
    case VC__WS_CLOSE:
        pf->eof = true;
        if (!pf->close_sent) {
            /* echo the status code, as RFC 6455 5.5.1 asks */
            pf->close_sent = true;
            send_frame(pf, VC__WS_CLOSE, pl, len >= 2 ? 2 : 0, NULL, 0, PF_CONTROL_TIMEOUT);
            vc_error_clear();
        }
        return VC_OK;
    default:
        return VC_OK; /* pong; text is not used by this protocol */
    }
}

/* Make data available: VC_OK (data, error text or eof now set), VC__EAGAIN
 * (nothing within timeout), or an error. */
static int fill(vc_port_forward *pf, int64_t deadline)
{
    for (;;) {
        if (pf->data_len || pf->dm.err.size || pf->eof)
            return VC_OK;
        if (pf->broken)
            return vc__error(pf->broken, VC_ERRCLASS_HTTP, "%s: the connection broke", pf->what);
        int op;
        const unsigned char *pl;
        size_t len;
        int rc = vc__ws_next(&pf->ws, &op, &pl, &len);
        if (rc == VC_OK) {
            if ((rc = on_message(pf, op, pl, len)) < 0)
                return rc;
            continue;
        }
        if (rc != VC_ITEROVER) {
            vc__error_prefix("%s", pf->what);
            return rc;
        }
        unsigned char buf[16384];
        ssize_t n = vc__kconn_read(pf->conn, buf, sizeof buf, 0);
        if (n > 0) {
            if (vc__ws_feed(&pf->ws, buf, (size_t)n) < 0)
                return VC_ENOMEM;
            continue;
        }
        if (n == 0) {
            pf->eof = true; /* ended without a close frame: the same to the reader */
            continue;
        }
        if (n != VC__EAGAIN) {
            pf->broken = (int)n;
            vc__error_prefix("%s", pf->what);
            return (int)n;
        }
        if (cancelled(pf))
            return err_cancelled(pf);
        int32_t l = left_ms(deadline);
        if (l == 0)
            return VC__EAGAIN;
        struct pollfd p[2] = { { .fd = vc__kconn_fd(pf->conn), .events = POLLIN },
                               { .fd = pf->cancel[0], .events = POLLIN } };
        if (poll(p, 2, l) < 0 && errno != EINTR)
            return vc__error(VC_EIO, VC_ERRCLASS_OS, "%s: poll: %s", pf->what, strerror(errno));
    }
}

/* Like vc_port_forward_read, but VC__EAGAIN for "nothing yet" (no error set). */
static int read_some(vc_port_forward *pf, void *buf, size_t cap, size_t *out_n, int64_t deadline)
{
    *out_n = 0;
    if (cancelled(pf))
        return err_cancelled(pf);
    int rc = fill(pf, deadline);
    if (rc < 0)
        return rc;
    if (pf->data_len) {
        size_t n = pf->data_len < cap ? pf->data_len : cap;
        memcpy(buf, pf->data, n);
        pf->data += n;
        pf->data_len -= n;
        *out_n = n;
        return VC_OK;
    }
    if (pf->dm.err.size)
        return err_channel(pf);
    return VC_ITEROVER;
}

int vc_port_forward_read(vc_port_forward *pf, void *buf, size_t cap, size_t *out_n, int32_t timeout_ms)
{
    if (!pf || !buf || !out_n || cap == 0)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_port_forward_read: pf, buf, cap and out_n are required");
    int64_t deadline = timeout_ms < 0 ? -1 : vc__now_ms() + timeout_ms;
    int rc = read_some(pf, buf, cap, out_n, deadline);
    if (rc == VC__EAGAIN)
        return vc__error(VC_ETIMEDOUT, VC_ERRCLASS_HTTP, "%s: nothing arrived within %d ms", pf->what, (int)timeout_ms);
    return rc;
}

/* ---- writing ---- */

int vc_port_forward_write(vc_port_forward *pf, const void *buf, size_t n, int32_t timeout_ms)
{
    if (!pf || (!buf && n))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_port_forward_write: pf and buf are required");
    if (cancelled(pf))
        return err_cancelled(pf);
    if (pf->eof || pf->close_sent || pf->broken)
        return vc__error(VC_ESTATE, VC_ERRCLASS_HTTP, "%s: the stream ended", pf->what);
    int64_t deadline = timeout_ms < 0 ? -1 : vc__now_ms() + timeout_ms;
    static const unsigned char data_channel = 0;
    const unsigned char *p = buf;
    while (n > 0) {
        size_t k = n < PF_FRAME_MAX ? n : PF_FRAME_MAX;
        int32_t l = left_ms(deadline);
        if (deadline >= 0 && l == 0)
            return vc__error(VC_ETIMEDOUT, VC_ERRCLASS_HTTP, "%s: write timed out", pf->what);
        int rc = send_frame(pf, VC__WS_BINARY, &data_channel, 1, p, k, l);
        if (rc < 0) {
            vc__error_prefix("%s", pf->what);
            return rc;
        }
        p += k;
        n -= k;
    }
    return VC_OK;
}

/* ---- splice ---- */

/* Write all of buf to fd, waiting for POLLOUT up to timeout (no SIGPIPE). */
static int fd_write_all(vc_port_forward *pf, int fd, const unsigned char *buf, size_t n, int32_t timeout_ms)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK)
            w = write(fd, buf, n);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p[2] = { { .fd = fd, .events = POLLOUT }, { .fd = pf->cancel[0], .events = POLLIN } };
            int r = poll(p, 2, timeout_ms);
            if (r == 0)
                return vc__error(VC_ETIMEDOUT, VC_ERRCLASS_OS, "%s: the local side stopped reading", pf->what);
            if (p[1].revents)
                return err_cancelled(pf);
            continue;
        }
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "%s: writing to fd %d: %s", pf->what, fd, strerror(errno));
    }
    return VC_OK;
}

int vc_port_forward_splice(vc_port_forward *pf, int fd, int32_t idle_timeout_ms)
{
    if (!pf || fd < 0)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_port_forward_splice: pf and fd are required");
    int32_t io_timeout = idle_timeout_ms > 0 ? idle_timeout_ms : 30000;
    bool local_eof = false;
    int64_t last = vc__now_ms();
    unsigned char buf[32768];
    for (;;) {
        /* the pod's side first: everything that already arrived */
        for (;;) {
            size_t n = 0;
            int rc = read_some(pf, buf, sizeof buf, &n, 0);
            if (rc == VC__EAGAIN)
                break;
            if (rc == VC_ITEROVER)
                return VC_OK;
            if (rc < 0)
                return rc;
            if ((rc = fd_write_all(pf, fd, buf, n, io_timeout)) < 0)
                return rc;
            last = vc__now_ms();
        }
        int32_t idle = idle_timeout_ms > 0 ? idle_timeout_ms : local_eof ? 2000 : -1;
        int32_t wait = idle < 0 ? -1 : (int32_t)(last + idle - vc__now_ms());
        if (idle >= 0 && wait <= 0) {
            if (local_eof)
                return VC_OK;
            return vc__error(VC_ETIMEDOUT, VC_ERRCLASS_HTTP, "%s: idle for %d ms", pf->what, (int)idle_timeout_ms);
        }
        struct pollfd p[3] = { { .fd = vc__kconn_fd(pf->conn), .events = POLLIN },
                               { .fd = pf->cancel[0], .events = POLLIN },
                               { .fd = local_eof ? -1 : fd, .events = POLLIN } };
        int r = poll(p, 3, wait);
        if (r < 0 && errno != EINTR)
            return vc__error(VC_EIO, VC_ERRCLASS_OS, "%s: poll: %s", pf->what, strerror(errno));
        if (r <= 0)
            continue;
        if (p[1].revents)
            return err_cancelled(pf);
        if (p[2].revents) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
                continue;
            if (n < 0 && errno != ECONNRESET)
                return vc__error(VC_EIO, VC_ERRCLASS_OS, "%s: reading fd %d: %s", pf->what, fd, strerror(errno));
            if (n <= 0) {
                local_eof = true;
                last = vc__now_ms();
                continue;
            }
            int rc = vc_port_forward_write(pf, buf, (size_t)n, io_timeout);
            if (rc < 0)
                return rc;
            last = vc__now_ms();
        }
    }
}

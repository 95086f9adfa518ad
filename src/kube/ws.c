/* RFC 6455 client framing and Kubernetes port-forward channels (see ws.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "kube/ws.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int vc__ws_key(char out[25])
{
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return vc__error(VC_EIO, VC_ERRCLASS_OS, "getrandom: %s", strerror(errno));
        got += (size_t)r;
    }
    char *b = vc__base64_encode(raw, sizeof raw);
    if (!b)
        return vc__error_oom();
    snprintf(out, 25, "%s", b);
    vc__free(b);
    return VC_OK;
}

void vc__ws_accept(const char *key, char out[29])
{
    char cat[128];
    unsigned char d[20];
    snprintf(cat, sizeof cat, "%s%s", key, WS_GUID);
    vc__sha1(cat, strlen(cat), d);
    char *b = vc__base64_encode(d, sizeof d);
    snprintf(out, 29, "%s", b ? b : "");
    vc__free(b);
}

int vc__ws_encode(vc_buf *out, int opcode, const void *a, size_t a_len, const void *b, size_t b_len,
                  const uint8_t mask[4])
{
    size_t n = a_len + b_len;
    if (opcode < 0 || opcode > 0xF || (opcode >= 0x8 && n > 125))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "WebSocket control frame of %zu bytes (at most 125)", n);
    unsigned char h[14];
    size_t hl = 0;
    h[hl++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        h[hl++] = (unsigned char)(0x80 | n);
    } else if (n <= 0xFFFF) {
        h[hl++] = 0x80 | 126;
        h[hl++] = (unsigned char)(n >> 8);
        h[hl++] = (unsigned char)n;
    } else {
        h[hl++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            h[hl++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    memcpy(h + hl, mask, 4);
    hl += 4;
    if (vc__buf_grow(out, hl + n) < 0)
        return VC_ENOMEM;
    memcpy(out->ptr + out->size, h, hl);
    unsigned char *p = (unsigned char *)out->ptr + out->size + hl;
    if (a_len)
        memcpy(p, a, a_len);
    if (b_len)
        memcpy(p + a_len, b, b_len);
    for (size_t i = 0; i < n; i++)
        p[i] ^= mask[i & 3];
    out->size += hl + n;
    out->ptr[out->size] = '\0';
    return VC_OK;
}

void vc__ws_parser_init(vc__ws_parser *p, size_t max_message)
{
    memset(p, 0, sizeof(*p));
    p->max_message = max_message ? max_message : VC__WS_MAX_MESSAGE;
}

void vc__ws_parser_clear(vc__ws_parser *p)
{
    vc_buf_dispose(&p->in);
    vc_buf_dispose(&p->msg);
    memset(p, 0, sizeof(*p));
}

/* Drop what was returned last, and compact when the parsed part is large. */
static void settle(vc__ws_parser *p)
{
    p->off += p->consume;
    p->consume = 0;
    if (p->off == p->in.size) {
        p->in.size = 0;
        p->off = 0;
    } else if (p->off > 65536 && p->off * 2 > p->in.size) {
        memmove(p->in.ptr, p->in.ptr + p->off, p->in.size - p->off);
        p->in.size -= p->off;
        p->off = 0;
    }
    if (p->in.ptr)
        p->in.ptr[p->in.size] = '\0';
}

int vc__ws_feed(vc__ws_parser *p, const void *data, size_t n)
{
    settle(p);
    return vc__buf_put(&p->in, data, n);
}

static int fail(vc__ws_parser *p, const char *why)
{
    p->failed = true;
    return vc__error(VC_EAPI, VC_ERRCLASS_HTTP, "WebSocket protocol error from the server: %s", why);
}

int vc__ws_next(vc__ws_parser *p, int *opcode, const unsigned char **payload, size_t *len)
{
    if (p->failed)
        return vc__error(VC_EAPI, VC_ERRCLASS_HTTP, "WebSocket stream already failed");
    settle(p);
    for (;;) {
        const unsigned char *h = (const unsigned char *)p->in.ptr + p->off;
        size_t avail = p->in.size - p->off;
        if (avail < 2)
            return VC_ITEROVER;
        bool fin = h[0] & 0x80;
        int op = h[0] & 0x0F;
        if (h[0] & 0x70)
            return fail(p, "reserved bits set (no extension was negotiated)");
        if (h[1] & 0x80)
            return fail(p, "masked frame (servers must not mask)");
        uint64_t n = h[1] & 0x7F;
        size_t hl = 2;
        if (n == 126) {
            if (avail < 4)
                return VC_ITEROVER;
            n = ((uint64_t)h[2] << 8) | h[3];
            hl = 4;
        } else if (n == 127) {
            if (avail < 10)
                return VC_ITEROVER;
            if (h[2] & 0x80)
                return fail(p, "64-bit length with the high bit set");
            n = 0;
            for (int i = 0; i < 8; i++)
                n = (n << 8) | h[2 + i];
            hl = 10;
        }
        bool control = op >= 0x8;
        if (control) {
            if (op != VC__WS_CLOSE && op != VC__WS_PING && op != VC__WS_PONG)
                return fail(p, "unknown control opcode");
            if (!fin)
                return fail(p, "fragmented control frame");
            if (n > 125)
                return fail(p, "control frame over 125 bytes");
        } else if (op != VC__WS_CONT && op != VC__WS_TEXT && op != VC__WS_BINARY) {
            return fail(p, "unknown data opcode");
        } else if (op == VC__WS_CONT && !p->msg_opcode) {
            return fail(p, "continuation frame without a message to continue");
        } else if (op != VC__WS_CONT && p->msg_opcode) {
            return fail(p, "new message before the fragmented one ended");
        }
        if (n > p->max_message || (!control && p->msg.size + n > p->max_message))
            return fail(p, "message over the size bound");
        if (avail - hl < n)
            return VC_ITEROVER;
        const unsigned char *body = h + hl;
        size_t total = hl + (size_t)n;
        if (control || (fin && op != VC__WS_CONT)) {
            /* whole frame: hand out the bytes in place */
            p->consume = total;
            *opcode = op;
            *payload = body;
            *len = (size_t)n;
            return VC_OK;
        }
        if (vc__buf_put(&p->msg, body, (size_t)n) < 0)
            return VC_ENOMEM;
        if (op != VC__WS_CONT)
            p->msg_opcode = op;
        p->off += total;
        if (fin) {
            /* the message is complete: it lives in msg until the next call */
            *opcode = p->msg_opcode;
            *payload = (const unsigned char *)p->msg.ptr;
            *len = p->msg.size;
            p->msg_opcode = 0;
            p->msg.size = 0; /* bytes stay valid until the next put */
            return VC_OK;
        }
    }
}

/* ---- port-forward channels ---- */

void vc__pf_demux_init(vc__pf_demux *d, uint16_t port)
{
    memset(d, 0, sizeof(*d));
    d->port = port;
}

void vc__pf_demux_clear(vc__pf_demux *d)
{
    vc_buf_dispose(&d->err);
}

int vc__pf_demux_msg(vc__pf_demux *d, const unsigned char *msg, size_t n, const unsigned char **data,
                     size_t *len)
{
    *data = msg;
    *len = 0;
    if (n == 0)
        return VC_OK;
    unsigned ch = msg[0];
    msg++;
    n--;
    if (ch > 1)
        return VC_OK;
    while (d->prefix_seen[ch] < 2 && n > 0) {
        d->prefix[ch][d->prefix_seen[ch]++] = *msg++;
        n--;
        if (d->prefix_seen[ch] == 2) {
            unsigned got = (unsigned)d->prefix[ch][0] | ((unsigned)d->prefix[ch][1] << 8);
            if (got != d->port)
                return vc__error(VC_EAPI, VC_ERRCLASS_HTTP,
                                 "port-forward: the server opened channel %u for port %u, not %u", ch, got,
                                 (unsigned)d->port);
        }
    }
    if (ch == 1) {
        /* bounded: a message, not a stream */
        size_t room = d->err.size < 4096 ? 4096 - d->err.size : 0;
        if (n && room && vc__buf_put(&d->err, msg, n < room ? n : room) < 0)
            return VC_ENOMEM;
        return VC_OK;
    }
    *data = msg;
    *len = n;
    return VC_OK;
}

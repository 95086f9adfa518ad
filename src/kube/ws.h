/*
 * ws.h: the client side of RFC 6455 WebSocket framing, and the channel
 * framing of Kubernetes' port-forward protocol on top of it. Pure code: no
 * I/O, so the unit tests and the fuzz target drive it byte by byte.
 */
#ifndef VC_KUBE_WS_H
#define VC_KUBE_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

enum {
    VC__WS_CONT = 0x0,
    VC__WS_TEXT = 0x1,
    VC__WS_BINARY = 0x2,
    VC__WS_CLOSE = 0x8,
    VC__WS_PING = 0x9,
    VC__WS_PONG = 0xA,
};

/* The largest message (one frame, or the fragments of one message put
 * together) a parser accepts when max_message is 0. */
#define VC__WS_MAX_MESSAGE (1u << 20)

/* A random Sec-WebSocket-Key: base64 of 16 random bytes (24 chars + NUL). */
int vc__ws_key(char out[25]);
/* The Sec-WebSocket-Accept a server must answer to `key`: base64 of
 * SHA-1(key + the RFC's GUID), 28 chars + NUL. */
void vc__ws_accept(const char *key, char out[29]);

/* Append one client frame (FIN set, masked with `mask`) whose payload is
 * `a` followed by `b` (either may be empty), so a channel byte and data go
 * out without a copy of the data first. Control frames (opcode >= 0x8) must
 * carry at most 125 bytes. VC_OK, VC_EINVAL, VC_ENOMEM. */
int vc__ws_encode(vc_buf *out, int opcode, const void *a, size_t a_len, const void *b, size_t b_len,
                  const uint8_t mask[4]);

/* Incremental parser of server frames. Server frames must be unmasked, with
 * no RSV bits (no extension is negotiated), control frames unfragmented and
 * at most 125 bytes; fragmented data messages are put together, with control
 * frames allowed between the fragments. Text payloads are not checked for
 * UTF-8: the protocols used here are binary. */
typedef struct vc__ws_parser {
    size_t max_message;   /* 0: VC__WS_MAX_MESSAGE */
    vc_buf in;            /* received, not yet parsed */
    size_t off;           /* parsed up to here */
    size_t consume;       /* bytes of the frame last returned, dropped on the next call */
    vc_buf msg;           /* fragments so far */
    int msg_opcode;       /* opcode of the message being put together, 0: none */
    bool failed;
} vc__ws_parser;

void vc__ws_parser_init(vc__ws_parser *p, size_t max_message);
void vc__ws_parser_clear(vc__ws_parser *p);
/* Append received bytes. Invalidates the payload last returned. */
int vc__ws_feed(vc__ws_parser *p, const void *data, size_t n);
/* The next complete message or control frame: VC_OK with *opcode and the
 * payload (borrowed until the next feed or next call); VC_ITEROVER when more
 * bytes are needed; VC_EAPI on a protocol violation or a message over the
 * bound (the message says which; the parser stays failed). */
int vc__ws_next(vc__ws_parser *p, int *opcode, const unsigned char **payload, size_t *len);

/* ---- port-forward channels (v4.channel.k8s.io, Kubernetes' wsstream) ----
 * Every binary message starts with its channel byte: for the one port we
 * ask for, 0 is data (both ways) and 1 is error (server to client). The
 * first bytes the server sends on each channel are the port, 2 bytes little
 * endian; what follows on the error channel is a message, and then the
 * server closes. */
typedef struct vc__pf_demux {
    uint16_t port;
    uint8_t prefix_seen[2];   /* port bytes seen per channel (0..2) */
    uint8_t prefix[2][2];
    vc_buf err;               /* error channel text */
} vc__pf_demux;

void vc__pf_demux_init(vc__pf_demux *d, uint16_t port);
void vc__pf_demux_clear(vc__pf_demux *d);
/* One binary message from the server. data and len (may come back empty)
 * point into `msg`: the data-channel bytes after the port prefix. Error
 * channel bytes are collected in d->err. VC_OK, or VC_EAPI when the port
 * prefix differs from the port asked for, VC_ENOMEM. Messages for unknown
 * channels are ignored, as the server ignores them. */
int vc__pf_demux_msg(vc__pf_demux *d, const unsigned char *msg, size_t n, const unsigned char **data,
                     size_t *len);

#endif

/* Fuzz target: WebSocket frames from a server and the port-forward channels
 * inside them. The first byte picks the chunk size and the message bound;
 * the rest is fed in chunks, as the network would deliver it. Every message
 * returned must fit the bound, every error must leave the parser failed;
 * never a crash or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 512 * 1024)
        return 0;
    size_t step = (size_t)(data[0] & 0x1F) + 1;
    size_t bound = (data[0] & 0x20) ? 300 : 0;
    data++;
    size--;
    vc__ws_parser p;
    vc__ws_parser_init(&p, bound);
    vc__pf_demux d;
    vc__pf_demux_init(&d, 8443);
    int rc = VC_ITEROVER;
    for (size_t off = 0; off < size && rc != VC_EAPI; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (vc__ws_feed(&p, data + off, n) < 0)
            break;
        int op;
        const unsigned char *pl;
        size_t len;
        while ((rc = vc__ws_next(&p, &op, &pl, &len)) == VC_OK) {
            if (len > p.max_message || (op >= 0x8 && len > 125))
                abort();
            if (op == VC__WS_BINARY) {
                const unsigned char *dd;
                size_t dl;
                if (vc__pf_demux_msg(&d, pl, len, &dd, &dl) == VC_OK && dl > len)
                    abort();
            }
        }
        if (rc == VC_EAPI && !p.failed)
            abort();
    }
    if (d.err.size > 4096)
        abort();
    vc__pf_demux_clear(&d);
    vc__ws_parser_clear(&p);
    return 0;
}

#include "replay.h"

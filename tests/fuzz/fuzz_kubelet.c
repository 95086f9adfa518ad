/* Fuzz target: the kubelet proxy's request parser and routing (what any
 * client holding a certificate can send), and the response body framing
 * (what the host API server relays). The first byte picks the chunking of
 * the framing feed. Never a crash, a leak or an inconsistent verdict. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet/kubelet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > VC__KL_MAX_HEAD + 1)
        return 0;
    size_t step = (size_t)(data[0] % 32) + 1;
    const char *in = (const char *)data + 1;
    size--;
    vc__kl_req r;
    if (vc__kl_parse(&r, in, size) == VC_OK) {
        if (!r.method || !r.path || !r.raw_path || !r.query || r.path[0] != '/')
            abort();
        vc__kl_route rt;
        if (vc__kl_route_req(&rt, &r) == VC_OK) {
            char *p = vc__kl_host_path(&rt, "vcluster-vc", "pod-x-ns-x-vc");
            bool forwarded = rt.kind == VC__KL_LOGS || rt.kind == VC__KL_EXEC || rt.kind == VC__KL_ATTACH ||
                             rt.kind == VC__KL_PORTFORWARD;
            if (forwarded != (p != NULL))
                abort();
            /* what goes to the host is one line of URL characters */
            for (const char *c = p; c && *c; c++)
                if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
                    abort();
            vc__free(p);
            char *f = vc__kl_forward_headers(&r);
            /* header lines end in CRLF, with no bare CR or LF inside */
            for (const char *c = f; c && *c; c++)
                if ((*c == '\r' && c[1] != '\n') || (*c == '\n' && (c == f || c[-1] != '\r')))
                    abort();
            vc__free(f);
            vc__kl_route_clear(&rt);
        }
        vc__kl_req_clear(&r);
    }
    vc__kl_body b;
    vc__kl_body_init(&b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, false);
    for (size_t off = 0; off < size && !b.done; off += step) {
        size_t n = size - off < step ? size - off : step;
        long k = vc__kl_body_feed(&b, in + off, n);
        if (k < 0)
            break;
        if ((size_t)k > n || (!b.done && (size_t)k != n))
            abort();
    }
    return 0;
}

#include "replay.h"

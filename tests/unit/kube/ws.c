/* WebSocket client framing (RFC 6455) and the port-forward channel framing:
 * the RFC's own examples, lengths at the 7/16/64-bit boundaries, fragments
 * with control frames between them, every violation a server could commit,
 * and byte-at-a-time feeding. */
#include "kube/ws.h"
#include "test.h"

static const uint8_t k_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

static void t_accept(void)
{
    /* RFC 6455 section 1.3 */
    char out[29];
    vc__ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out);
    CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char k1[25], k2[25];
    CHECK_INT(vc__ws_key(k1), VC_OK);
    CHECK_INT(vc__ws_key(k2), VC_OK);
    CHECK_INT(strlen(k1), 24);
    CHECK(strcmp(k1, k2) != 0);
}

static void t_encode_rfc(void)
{
    /* RFC 6455 section 5.7: a masked "Hello" from a client */
    vc_buf b = VC_BUF_INIT;
    CHECK_INT(vc__ws_encode(&b, VC__WS_TEXT, "Hel", 3, "lo", 2, k_mask), VC_OK);
    static const unsigned char want[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
    CHECK_INT(b.size, sizeof want);
    CHECK(memcmp(b.ptr, want, sizeof want) == 0);
    vc_buf_dispose(&b);
    /* control frames are bounded */
    char big[126] = { 0 };
    CHECK_INT(vc__ws_encode(&b, VC__WS_PING, big, sizeof big, NULL, 0, k_mask), VC_EINVAL);
    vc_buf_dispose(&b);
}

/* Server frame (unmasked) into b. */
static void server_frame(vc_buf *b, int first_byte, const void *p, size_t n)
{
    unsigned char h[10];
    size_t hl = 0;
    h[hl++] = (unsigned char)first_byte;
    if (n < 126) {
        h[hl++] = (unsigned char)n;
    } else if (n <= 0xFFFF) {
        h[hl++] = 126;
        h[hl++] = (unsigned char)(n >> 8);
        h[hl++] = (unsigned char)n;
    } else {
        h[hl++] = 127;
        for (int i = 7; i >= 0; i--)
            h[hl++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    vc__buf_put(b, h, hl);
    vc__buf_put(b, p, n);
}

static void t_lengths(void)
{
    static const size_t sizes[] = { 0, 1, 125, 126, 127, 65535, 65536, 70000 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        unsigned char *data = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            data[i] = (unsigned char)(i * 7 + s);
        /* the client encoder's length field, unmasked by hand, is what the parser reads */
        vc_buf enc = VC_BUF_INIT;
        CHECK_INT(vc__ws_encode(&enc, VC__WS_BINARY, data, n, NULL, 0, k_mask), VC_OK);
        size_t hl = n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
        CHECK_INT(enc.size, hl + 4 + n);
        vc_buf srv = VC_BUF_INIT;
        server_frame(&srv, 0x82, data, n);
        CHECK_INT((unsigned char)enc.ptr[1] & 0x7F, (unsigned char)srv.ptr[1]);
        vc__ws_parser p;
        vc__ws_parser_init(&p, 0);
        CHECK_INT(vc__ws_feed(&p, srv.ptr, srv.size), VC_OK);
        int op = -1;
        const unsigned char *pl = NULL;
        size_t len = 99;
        CHECK_INT(vc__ws_next(&p, &op, &pl, &len), VC_OK);
        CHECK_INT(op, VC__WS_BINARY);
        CHECK_INT(len, n);
        CHECK(n == 0 || memcmp(pl, data, n) == 0);
        CHECK_INT(vc__ws_next(&p, &op, &pl, &len), VC_ITEROVER);
        vc__ws_parser_clear(&p);
        vc_buf_dispose(&enc);
        vc_buf_dispose(&srv);
        free(data);
    }
}

static void t_fragments_and_control(void)
{
    vc_buf s = VC_BUF_INIT;
    server_frame(&s, 0x02, "ab", 2);          /* binary, not final */
    server_frame(&s, 0x89, "hi", 2);          /* ping in between */
    server_frame(&s, 0x00, "cd", 2);          /* continuation */
    server_frame(&s, 0x80, "e", 1);           /* final continuation */
    server_frame(&s, 0x88, "\x03\xe8", 2);    /* close 1000 */
    /* fed one byte at a time */
    vc__ws_parser p;
    vc__ws_parser_init(&p, 0);
    int seen = 0;
    for (size_t i = 0; i < s.size; i++) {
        CHECK_INT(vc__ws_feed(&p, s.ptr + i, 1), VC_OK);
        int op;
        const unsigned char *pl;
        size_t len;
        int rc;
        while ((rc = vc__ws_next(&p, &op, &pl, &len)) == VC_OK) {
            if (seen == 0) {
                CHECK_INT(op, VC__WS_PING);
                CHECK(len == 2 && !memcmp(pl, "hi", 2));
            } else if (seen == 1) {
                CHECK_INT(op, VC__WS_BINARY);
                CHECK(len == 5 && !memcmp(pl, "abcde", 5));
            } else if (seen == 2) {
                CHECK_INT(op, VC__WS_CLOSE);
                CHECK(len == 2 && pl[0] == 0x03 && pl[1] == 0xe8);
            }
            seen++;
        }
        CHECK_INT(rc, VC_ITEROVER);
    }
    CHECK_INT(seen, 3);
    vc__ws_parser_clear(&p);
    vc_buf_dispose(&s);
}

/* One malformed input -> VC_EAPI naming the violation. */
static void bad(const unsigned char *frame, size_t n, const char *why, size_t max)
{
    vc__ws_parser p;
    vc__ws_parser_init(&p, max);
    vc__ws_feed(&p, frame, n);
    int op, rc;
    const unsigned char *pl;
    size_t len;
    while ((rc = vc__ws_next(&p, &op, &pl, &len)) == VC_OK) {
    }
    CHECK_INT(rc, VC_EAPI);
    CHECK_CONTAINS(vc_error_last()->message, why);
    /* stays failed */
    CHECK_INT(vc__ws_next(&p, &op, &pl, &len), VC_EAPI);
    vc__ws_parser_clear(&p);
}

static void t_violations(void)
{
    static const unsigned char rsv[] = { 0xC2, 0x00 };
    bad(rsv, sizeof rsv, "reserved bits", 0);
    static const unsigned char masked[] = { 0x82, 0x81, 1, 2, 3, 4, 5 };
    bad(masked, sizeof masked, "masked frame", 0);
    static const unsigned char frag_ctl[] = { 0x09, 0x00 };
    bad(frag_ctl, sizeof frag_ctl, "fragmented control", 0);
    static const unsigned char big_ctl[] = { 0x89, 126, 0, 126 };
    bad(big_ctl, sizeof big_ctl, "over 125", 0);
    static const unsigned char cont[] = { 0x80, 0x00 };
    bad(cont, sizeof cont, "without a message", 0);
    static const unsigned char two[] = { 0x02, 0x01, 'a', 0x82, 0x01, 'b' };
    bad(two, sizeof two, "before the fragmented one ended", 0);
    static const unsigned char op3[] = { 0x83, 0x00 };
    bad(op3, sizeof op3, "unknown data opcode", 0);
    static const unsigned char opb[] = { 0x8B, 0x00 };
    bad(opb, sizeof opb, "unknown control opcode", 0);
    static const unsigned char hi[] = { 0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1 };
    bad(hi, sizeof hi, "high bit", 0);
    /* the bound applies to a frame header before its bytes arrive ... */
    static const unsigned char huge[] = { 0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0 };
    bad(huge, sizeof huge, "size bound", 0);
    /* ... and to fragments put together */
    static const unsigned char frags[] = { 0x02, 3, 'a', 'b', 'c', 0x00, 3, 'd', 'e', 'f' };
    bad(frags, sizeof frags, "size bound", 5);
    vc_error_clear();
}

static void t_demux(void)
{
    vc__pf_demux d;
    vc__pf_demux_init(&d, 8443);
    const unsigned char *data;
    size_t len;
    /* port prefixes: 8443 = 0x20FB, little endian */
    static const unsigned char p0[] = { 0, 0xFB, 0x20 };
    static const unsigned char p1[] = { 1, 0xFB, 0x20 };
    CHECK_INT(vc__pf_demux_msg(&d, p0, sizeof p0, &data, &len), VC_OK);
    CHECK_INT(len, 0);
    CHECK_INT(vc__pf_demux_msg(&d, p1, sizeof p1, &data, &len), VC_OK);
    static const unsigned char m[] = { 0, 'h', 'i' };
    CHECK_INT(vc__pf_demux_msg(&d, m, sizeof m, &data, &len), VC_OK);
    CHECK(len == 2 && !memcmp(data, "hi", 2));
    static const unsigned char other[] = { 7, 'x' };
    CHECK_INT(vc__pf_demux_msg(&d, other, sizeof other, &data, &len), VC_OK);
    CHECK_INT(len, 0);
    static const unsigned char e[] = { 1, 'b', 'o', 'o', 'm' };
    CHECK_INT(vc__pf_demux_msg(&d, e, sizeof e, &data, &len), VC_OK);
    CHECK_INT(len, 0);
    CHECK_STR(d.err.ptr, "boom");
    vc__pf_demux_clear(&d);

    /* the prefix may come split, and data may follow it in the same message */
    vc__pf_demux_init(&d, 80);
    static const unsigned char a[] = { 0, 80 };
    static const unsigned char b[] = { 0, 0, 'o', 'k' };
    CHECK_INT(vc__pf_demux_msg(&d, a, sizeof a, &data, &len), VC_OK);
    CHECK_INT(len, 0);
    CHECK_INT(vc__pf_demux_msg(&d, b, sizeof b, &data, &len), VC_OK);
    CHECK(len == 2 && !memcmp(data, "ok", 2));
    vc__pf_demux_clear(&d);

    /* a different port is a protocol error */
    vc__pf_demux_init(&d, 80);
    static const unsigned char w[] = { 0, 81, 0 };
    CHECK_INT(vc__pf_demux_msg(&d, w, sizeof w, &data, &len), VC_EAPI);
    CHECK_CONTAINS(vc_error_last()->message, "port 81, not 80");
    vc__pf_demux_clear(&d);
    vc_error_clear();
}

int main(void)
{
    vc_global_init(NULL);
    RUN(t_accept);
    RUN(t_encode_rfc);
    RUN(t_lengths);
    RUN(t_fragments_and_control);
    RUN(t_violations);
    RUN(t_demux);
    vc_global_shutdown();
    TEST_DONE();
}

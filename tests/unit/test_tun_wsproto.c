/* Unit tests for tunnel/wsproto: the upgrade request parser, the handshake
 * answers and the streaming frame decoder of the tunnel server. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tunnel/wsproto.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define HEAD(extra)                                                                           \
    "GET /?dst=h:1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, "    \
    "Upgrade\r\nSec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n" extra "\r\n"

static int head_status(const char *h, struct tun_http_req *r)
{
    struct error err;

    return tun_http_parse(h, strlen(h), r, &err);
}

static void test_upgrade_request_accepted(void **state)
{
    static const char h[] = HEAD("Sec-WebSocket-Protocol: wamp.2.json, tunnel-protocol\r\n");
    struct tun_http_req r;

    (void)state;
    assert_int_equal(tun_http_head_len(h, strlen(h)), strlen(h));
    assert_int_equal(tun_http_head_len(h, strlen(h) - 1), 0);
    assert_int_equal(head_status(h, &r), 0);
    assert_int_equal(r.query_len, 7);
    assert_memory_equal(r.query, "dst=h:1", 7);
    assert_string_equal(r.key, KEY);
    /* the subprotocol may come in its own header line, in any case */
    assert_int_equal(head_status(HEAD("Sec-WebSocket-Protocol: x\r\n"
                                      "sec-websocket-protocol:  Tunnel-Protocol \r\n"),
                                 &r),
                     0);
}

static void test_bad_requests_get_their_status(void **state)
{
    static const struct {
        const char *head;
        int status;
    } cases[] = {
        { HEAD(""), 400 },                                                    /* no subprotocol */
        { HEAD("Sec-WebSocket-Protocol: wamp.2.json\r\n"), 400 },
        { "POST / HTTP/1.1\r\n\r\n", 405 },
        { "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 426 },                         /* plain HTTP */
        { "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: " KEY "\r\n"
          "Sec-WebSocket-Protocol: tunnel-protocol\r\n\r\n", 426 },
        { "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: tunnel-protocol\r\n\r\n", 400 },
        { "GET /\r\n\r\n", 400 },
        { "GET x HTTP/1.1\r\n\r\n", 400 },
        { "GET / HTTP/2.0\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400 },
        { "GET / HTTP/1.1\nHost: x\n\n", 400 },
        { "GET / HTTP/1.1\r\nHost: a\001b\r\n\r\n", 400 },
        { "\r\n\r\n", 400 },
    };
    struct tun_http_req r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = head_status(cases[i].head, &r);

        if (st != cases[i].status)
            fail_msg("case %zu: status %d, expected %d", i, st, cases[i].status);
    }
}

static void test_head_size_limit(void **state)
{
    static char big[TUN_HTTP_HEAD_MAX + 2];
    struct tun_http_req r;
    struct error err;

    (void)state;
    memset(big, 'a', sizeof(big));
    assert_int_equal(tun_http_parse(big, TUN_HTTP_HEAD_MAX + 1, &r, &err), 431);
}

static void test_accept_key_rfc6455_vector(void **state)
{
    char acc[TUN_WS_ACCEPT_LEN], buf[512];

    (void)state;
    tun_ws_accept(KEY, acc);
    assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_true(tun_http_upgrade_response(KEY, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "HTTP/1.1 101 "));
    assert_non_null(strstr(buf, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert_non_null(strstr(buf, "Sec-WebSocket-Protocol: tunnel-protocol\r\n"));
    assert_int_equal(tun_http_upgrade_response(KEY, buf, 20), 0);
    assert_true(tun_http_error_response(401, "Tunnel not authorised.", buf, sizeof(buf)) > 0);
    assert_true(strncmp(buf, "HTTP/1.1 401 Unauthorized\r\n", 27) == 0);
    assert_non_null(strstr(buf, "Content-Length: 23\r\n"));
}

static void test_frame_headers(void **state)
{
    uint8_t h[10];

    (void)state;
    assert_int_equal(tun_ws_frame_header(h, TUN_WS_BINARY, 125), 2);
    assert_int_equal(h[0], 0x82);
    assert_int_equal(h[1], 125);
    assert_int_equal(tun_ws_frame_header(h, TUN_WS_TEXT, 126), 4);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], 126);
    assert_int_equal(tun_ws_frame_header(h, TUN_WS_BINARY, 65536), 10);
    assert_int_equal(h[1], 127);
    assert_int_equal(h[7], 1);
}

/* Collects decoder events. */
struct sink {
    uint8_t data[70000];
    size_t len;
    int text, pings, pongs, closes;
    int close_code;
};

static int collect(void *arg, enum tun_ws_event ev, enum tun_ws_opcode op, uint8_t *p, size_t n)
{
    struct sink *s = arg;

    switch (ev) {
    case TUN_WSE_DATA:
        s->text |= op == TUN_WS_TEXT;
        if (n > 0)
            memcpy(s->data + s->len, p, n);
        s->len += n;
        break;
    case TUN_WSE_PING:
        s->pings++;
        break;
    case TUN_WSE_PONG:
        s->pongs++;
        break;
    case TUN_WSE_CLOSE:
        s->closes++;
        s->close_code = n >= 2 ? p[0] << 8 | p[1] : 0;
        break;
    }
    return 0;
}

/* A masked client frame. */
static size_t client_frame(uint8_t *out, int fin, int op, const uint8_t *p, size_t n)
{
    static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
    size_t h = 0;

    out[h++] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (n < 126) {
        out[h++] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[h++] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    }
    memcpy(out + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        out[h + i] = p[i] ^ mask[i & 3];
    return h + n;
}

static int decode_bytewise(struct tun_ws_dec *d, uint8_t *buf, size_t n, struct sink *s, int *cc)
{
    struct error err;
    int rc = 0;

    /* One byte at a time: every header and payload split is exercised. */
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = tun_ws_decode(d, buf + i, 1, collect, s, cc, &err);
    return rc;
}

static uint8_t payload[66000], big_wire[140000];

static size_t build_wire(void)
{
    size_t n = 0;

    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 31 + 7);
    n += client_frame(big_wire + n, 0, TUN_WS_BINARY, payload, 100);
    n += client_frame(big_wire + n, 1, TUN_WS_PING, (const uint8_t *)"hi", 2);  /* between fragments */
    n += client_frame(big_wire + n, 0, TUN_WS_CONT, payload + 100, 300);
    n += client_frame(big_wire + n, 1, TUN_WS_CONT, payload + 400, 65600);
    n += client_frame(big_wire + n, 1, TUN_WS_BINARY, NULL, 0);
    n += client_frame(big_wire + n, 1, TUN_WS_PONG, NULL, 0);
    n += client_frame(big_wire + n, 1, TUN_WS_CLOSE, (const uint8_t *)"\x03\xe8" "bye", 5);
    return n;
}

static void test_decoder_reassembles_any_split(void **state)
{
    static struct sink s;
    struct tun_ws_dec d;
    struct error err;
    size_t n = build_wire();
    int cc = 0;

    (void)state;
    memset(&s, 0, sizeof(s));
    tun_ws_dec_init(&d);
    assert_int_equal(decode_bytewise(&d, big_wire, n, &s, &cc), 0);
    assert_int_equal(s.len, 66000);
    assert_memory_equal(s.data, payload, 66000);
    assert_int_equal(s.pings, 1);
    assert_int_equal(s.pongs, 1);
    assert_int_equal(s.closes, 1);
    assert_int_equal(s.close_code, 1000);
    assert_false(s.text);
    /* and all at once (the decoder unmasked the first copy in place) */
    n = build_wire();
    memset(&s, 0, sizeof(s));
    tun_ws_dec_init(&d);
    assert_int_equal(tun_ws_decode(&d, big_wire, n, collect, &s, &cc, &err), 0);
    assert_int_equal(s.len, 66000);
    assert_memory_equal(s.data, payload, 66000);
}

static void test_decoder_reports_empty_text_frames(void **state)
{
    static struct sink s;
    struct tun_ws_dec d;
    uint8_t wire[16];
    size_t n = client_frame(wire, 1, TUN_WS_TEXT, NULL, 0);
    struct error err;
    int cc = 0;

    (void)state;
    memset(&s, 0, sizeof(s));
    tun_ws_dec_init(&d);
    assert_int_equal(tun_ws_decode(&d, wire, n, collect, &s, &cc, &err), 0);
    assert_true(s.text);
}

static void test_decoder_protocol_errors(void **state)
{
    static const uint8_t cases[][16] = {
        { 0x82, 0x01, 'x' },                          /* unmasked client frame */
        { 0xc2, 0x80, 0, 0, 0, 0 },                   /* RSV1 without an extension */
        { 0x83, 0x80, 0, 0, 0, 0 },                   /* reserved opcode 3 */
        { 0x8b, 0x80, 0, 0, 0, 0 },                   /* reserved control opcode */
        { 0x09, 0x80, 0, 0, 0, 0 },                   /* fragmented ping */
        { 0x89, 0xfe, 0, 126, 0, 0, 0, 0 },           /* 126-byte ping */
        { 0x80, 0x80, 0, 0, 0, 0 },                   /* continuation without a message */
        { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 }, /* 2^63 length */
        { 0x88, 0x81, 0, 0, 0, 0, 0x03 },             /* one-byte close payload */
    };
    static const size_t lens[] = { 3, 6, 6, 6, 6, 8, 6, 14, 7 };
    static struct sink s;

    (void)state;
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        struct tun_ws_dec d;
        uint8_t buf[16];
        struct error err;
        int cc = 0;

        memcpy(buf, cases[i], sizeof(buf));
        tun_ws_dec_init(&d);
        memset(&s, 0, sizeof(s));
        if (tun_ws_decode(&d, buf, lens[i], collect, &s, &cc, &err) != -EPROTO || cc != 1002)
            fail_msg("case %zu not refused", i);
    }
    {
        /* a new message inside a fragmented one */
        struct tun_ws_dec d;
        uint8_t wire[32];
        size_t n = client_frame(wire, 0, TUN_WS_BINARY, (const uint8_t *)"a", 1);
        struct error err;
        int cc = 0;

        n += client_frame(wire + n, 1, TUN_WS_TEXT, (const uint8_t *)"b", 1);
        tun_ws_dec_init(&d);
        assert_int_equal(tun_ws_decode(&d, wire, n, collect, &s, &cc, &err), -EPROTO);
    }
}

static void test_unmask_matches_bytewise(void **state)
{
    static const uint8_t mask[4] = { 1, 2, 4, 8 };
    uint8_t a[100], b[100];

    (void)state;
    for (size_t start = 0; start < 4; start++) {
        uint8_t m = (uint8_t)start;

        for (size_t i = 0; i < sizeof(a); i++)
            a[i] = b[i] = (uint8_t)i;
        tun_ws_unmask(a + 3, 90, mask, &m);
        for (size_t i = 0; i < 90; i++)
            b[3 + i] ^= mask[(start + i) & 3];
        assert_memory_equal(a, b, sizeof(a));
        assert_int_equal(m, (start + 90) & 3);
    }
}

static void test_client_handshake_and_unmasked_frames(void **state)
{
    char req[512], ans[512];
    struct error err;
    static struct sink s;
    struct tun_ws_dec d;
    uint8_t wire[32] = { 0x82, 0x03, 'a', 'b', 'c', 0x89, 0x00 };
    uint8_t masked[16] = { 0x82, 0x81, 1, 2, 3, 4, 'x' ^ 1 };
    uint8_t hdr[14], mask[4] = { 9, 8, 7, 6 };
    int cc = 0;

    (void)state;
    assert_true(tun_ws_client_request("/?id=x", "h:1", KEY, req, sizeof(req)) > 0);
    assert_non_null(strstr(req, "GET /?id=x HTTP/1.1\r\n"));
    assert_non_null(strstr(req, "Sec-WebSocket-Protocol: tunnel-protocol\r\n"));
    assert_true(tun_http_upgrade_response(KEY, ans, sizeof(ans)) > 0);
    assert_int_equal(tun_ws_client_check(ans, strlen(ans), KEY, &err), 0);
    assert_int_equal(tun_ws_client_check(ans, strlen(ans), "AAAAAAAAAAAAAAAAAAAAAA==", &err),
                     -EPROTO);
    assert_true(tun_http_error_response(404, "gone", ans, sizeof(ans)) > 0);
    assert_int_equal(tun_ws_client_check(ans, strlen(ans), KEY, &err), 404);
    assert_int_equal(tun_ws_client_check("garbage\r\n\r\n", 11, KEY, &err), -EPROTO);
    /* a client decodes unmasked frames and refuses masked ones */
    memset(&s, 0, sizeof(s));
    tun_ws_dec_init_client(&d);
    assert_int_equal(tun_ws_decode(&d, wire, 7, collect, &s, &cc, &err), 0);
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.data, "abc", 3);
    assert_int_equal(s.pings, 1);
    tun_ws_dec_init_client(&d);
    assert_int_equal(tun_ws_decode(&d, masked, 7, collect, &s, &cc, &err), -EPROTO);
    assert_int_equal(tun_ws_frame_header_masked(hdr, TUN_WS_BINARY, 5, mask), 6);
    assert_int_equal(hdr[1], 0x85);
    assert_memory_equal(hdr + 2, mask, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade_request_accepted),
        cmocka_unit_test(test_bad_requests_get_their_status),
        cmocka_unit_test(test_head_size_limit),
        cmocka_unit_test(test_accept_key_rfc6455_vector),
        cmocka_unit_test(test_frame_headers),
        cmocka_unit_test(test_decoder_reassembles_any_split),
        cmocka_unit_test(test_decoder_reports_empty_text_frames),
        cmocka_unit_test(test_decoder_protocol_errors),
        cmocka_unit_test(test_unmask_matches_bytewise),
        cmocka_unit_test(test_client_handshake_and_unmasked_frames),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

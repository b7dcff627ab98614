/* Unit tests for tools/lr-swarm/wsframe: the wagent's answer to lr-swarm's
 * upgrade request and the frame headers it sends. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../tools/lr-swarm/wsframe.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* RFC 6455 1.3's example */

static int check(const char *head, unsigned *retry)
{
    struct error err;

    return sw_ws_head_check(head, strlen(head), KEY, retry, &err);
}

static void test_head_len_needs_the_blank_line(void **state)
{
    static const char h[] = "HTTP/1.1 101 OK\r\nA: b\r\n\r\nframes";

    (void)state;
    assert_int_equal(sw_ws_head_len(h, strlen(h), 8192), strlen(h) - strlen("frames"));
    assert_int_equal(sw_ws_head_len(h, 20, 8192), 0);
    assert_int_equal(sw_ws_head_len(h, strlen(h), 10), 0); /* past max: not searched */
    assert_int_equal(sw_ws_head_len("", 0, 8192), 0);
}

static void test_head_answers(void **state)
{
    static const struct {
        const char *head;
        int rc;
        unsigned retry;
    } cases[] = {
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " ACCEPT "\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n",
         0, 0},
        /* header names in any case, values with blanks around them */
        {"HTTP/1.1 101 x\r\nsec-websocket-accept:  " ACCEPT " \r\nSEC-WEBSOCKET-PROTOCOL: "
         "WAMP.2.json\r\n\r\n",
         0, 0},
        {"HTTP/1.1 101 x\r\nSec-WebSocket-Accept: " ACCEPT "\r\n\r\n", -EPROTO, 0},
        {"HTTP/1.1 101 x\r\nSec-WebSocket-Accept: AAAA\r\nSec-WebSocket-Protocol: wamp.2.json"
         "\r\n\r\n",
         -EPROTO, 0},
        {"HTTP/1.1 101 x\r\nSec-WebSocket-Accept: " ACCEPT "\r\nSec-WebSocket-Protocol: "
         "wamp.2.cbor\r\n\r\n",
         -EPROTO, 0},
        {"HTTP/1.1 400 Bad Request\r\n\r\n", -EPROTO, 0},
        {"HTTP/1.1 503 Busy\r\nRetry-After: 7\r\n\r\n", -EAGAIN, 7},
        {"HTTP/1.1 503 Busy\r\n\r\n", -EAGAIN, 1},
        {"HTTP/1.1 503 Busy\r\nRetry-After: soon\r\n\r\n", -EAGAIN, 1},
        {"HTTP/1.1 503 Busy\r\nRetry-After: 99999\r\n\r\n", -EAGAIN, 1},
        {"HTTP/1.0 101 x\r\n\r\n", -EPROTO, 0},
        {"HTTP/1.1 1x1 x\r\n\r\n", -EPROTO, 0},
        {"HTTP/1.1 ", -EPROTO, 0},
        {"garbage", -EPROTO, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned retry = 99;

        assert_int_equal(check(cases[i].head, &retry), cases[i].rc);
        assert_int_equal(retry, cases[i].retry);
    }
}

static int parse(const uint8_t *p, size_t n, uint64_t max, struct sw_ws_frame *f, uint16_t *code)
{
    struct error err;

    *code = 0;
    return sw_ws_frame_parse(p, n, max, f, code, &err);
}

static void test_frame_lengths(void **state)
{
    uint8_t buf[70000] = {0};
    struct sw_ws_frame f;
    uint16_t code;

    (void)state;
    buf[0] = 0x81; /* FIN, text */
    buf[1] = 125;
    assert_int_equal(parse(buf, 2 + 125, 1 << 20, &f, &code), 1);
    assert_int_equal(f.header_len, 2);
    assert_int_equal(f.payload_len, 125);
    assert_int_equal(parse(buf, 2 + 124, 1 << 20, &f, &code), 0); /* payload incomplete */
    assert_int_equal(parse(buf, 1, 1 << 20, &f, &code), 0);
    buf[1] = 126;
    buf[2] = 0x01;
    buf[3] = 0x00; /* 256 */
    assert_int_equal(parse(buf, 3, 1 << 20, &f, &code), 0);
    assert_int_equal(parse(buf, 4 + 256, 1 << 20, &f, &code), 1);
    assert_int_equal(f.header_len, 4);
    assert_int_equal(f.payload_len, 256);
    buf[1] = 127;
    memset(buf + 2, 0, 8);
    buf[7] = 0x01; /* 65536 */
    assert_int_equal(parse(buf, 9, 1 << 20, &f, &code), 0);
    assert_int_equal(parse(buf, 10 + 65536, 1 << 20, &f, &code), 1);
    assert_int_equal(f.header_len, 10);
    assert_int_equal(f.payload_len, 65536);
    /* max, max + 1 */
    assert_int_equal(parse(buf, 10 + 65536, 65536, &f, &code), 1);
    assert_int_equal(parse(buf, 10, 65535, &f, &code), -EPROTO);
    assert_int_equal(code, 1009);
    buf[2] = 0x80; /* a 64-bit length must have the top bit clear */
    assert_int_equal(parse(buf, 10, UINT64_MAX, &f, &code), -EPROTO);
    assert_int_equal(code, 1002);
}

static void test_frames_a_server_may_not_send(void **state)
{
    static const struct {
        uint8_t b0, b1;
        int rc;
    } cases[] = {
        {0x81, 0x80, -EPROTO}, /* masked */
        {0xc1, 0x00, -EPROTO}, /* RSV1 */
        {0x83, 0x00, -EPROTO}, /* reserved data opcode */
        {0x8b, 0x00, -EPROTO}, /* reserved control opcode */
        {0x09, 0x00, -EPROTO}, /* fragmented ping */
        {0x89, 126, -EPROTO},  /* ping over 125 bytes */
        {0x89, 0x00, 1},       /* empty ping */
        {0x8a, 0x00, 1},       /* pong */
        {0x88, 0x00, 1},       /* close without a code */
        {0x01, 0x00, 1},       /* first fragment of a text message */
        {0x80, 0x00, 1},       /* last continuation */
        {0x82, 0x00, 1},       /* binary: the transport refuses it, not the parser */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t p[2] = {cases[i].b0, cases[i].b1};
        struct sw_ws_frame f;
        uint16_t code;

        assert_int_equal(parse(p, 2, 1 << 20, &f, &code), cases[i].rc);
        if (cases[i].rc < 0)
            assert_int_equal(code, 1002);
        else
            assert_int_equal(f.opcode, cases[i].b0 & 0x0f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_len_needs_the_blank_line),
        cmocka_unit_test(test_head_answers),
        cmocka_unit_test(test_frame_lengths),
        cmocka_unit_test(test_frames_a_server_may_not_send),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for wagent/handshake: what the WAMP listener answers to each
 * kind of request (board-protocol.md 2). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wagent/handshake.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define UPGRADE(proto)                                                                             \
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:8181\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"      \
    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n" proto "\r\n"

static int status_of(const char *head)
{
    struct wag_hs hs;
    struct error err;

    return wag_hs_parse(head, strlen(head), &hs, &err);
}

static void test_autobahn_offer_is_accepted(void **state)
{
    static const char h[] = UPGRADE("Sec-WebSocket-Protocol: wamp.2.cbor,wamp.2.json\r\n");
    struct wag_hs hs;
    struct error err;
    char out[256];
    size_t n;

    (void)state;
    assert_int_equal(wag_hs_head_len(h, strlen(h)), strlen(h));
    assert_int_equal(wag_hs_head_len(h, strlen(h) - 1), 0);
    assert_int_equal(wag_hs_parse(h, strlen(h), &hs, &err), 0);
    assert_string_equal(hs.key, KEY);
    n = wag_hs_accept(&hs, out, sizeof(out));
    assert_true(n > 0);
    /* RFC 6455's own example key and answer. */
    assert_non_null(strstr(out, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert_non_null(strstr(out, "Sec-WebSocket-Protocol: wamp.2.json\r\n"));
    assert_true(strncmp(out, "HTTP/1.1 101 ", 13) == 0);
    assert_int_equal(wag_hs_accept(&hs, out, 20), 0);
}

static void test_offers_in_any_form(void **state)
{
    (void)state;
    assert_int_equal(status_of(UPGRADE("Sec-WebSocket-Protocol: wamp.2.json\r\n")), 0);
    assert_int_equal(status_of(UPGRADE("sec-websocket-protocol:  x , WAMP.2.JSON \r\n")), 0);
    assert_int_equal(status_of(UPGRADE("Sec-WebSocket-Protocol: wamp.2.msgpack\r\n"
                                       "Sec-WebSocket-Protocol: wamp.2.json\r\n")),
                     0);
    assert_int_equal(status_of("GET /ws HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: "
                               "keep-alive, Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
                               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: "
                               "wamp.2.json\r\n\r\n"),
                     0);
}

static void test_each_refusal_has_its_status(void **state)
{
    static const struct {
        const char *head;
        int status;
    } cases[] = {
        {UPGRADE(""), 400},                                         /* no subprotocol */
        {UPGRADE("Sec-WebSocket-Protocol: wamp.2.cbor\r\n"), 400},  /* no wamp.2.json */
        {UPGRADE("Sec-WebSocket-Protocol: wamp.2.jsonx\r\n"), 400}, /* not a prefix match */
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 426},                 /* plain HTTP */
        {"GET /metrics HTTP/1.0\r\n\r\n", 426},
        {"POST / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", 405},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: " KEY "\r\n"
         "Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n",
         426},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n"
         "Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
         "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n",
         400},
        {"GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " KEY "\r\n"
         "Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n",
         400},
        {"GET / HTTP/1.1\nUpgrade: websocket\n\n", 400}, /* bare LF */
        {"GET  / HTTP/1.1\r\n\r\n", 400},
        {"\r\n", 400},
        {"GET / HTTP/1.1\r\nUpgrade websocket\r\n\r\n", 400},   /* no colon */
        {"GET / HTTP/1.1\r\n Upgrade: websocket\r\n\r\n", 400}, /* folded */
        {"GET / HTTP/1.1\r\nUp(grade: websocket\r\n\r\n", 400}, /* not a token */
        {"GET / HTTP/1.1\r\nUpgrade: web\x01socket\r\n\r\n", 400},
        {"GET /\x7f HTTP/1.1\r\n\r\n", 400},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = status_of(cases[i].head);

        if (got != cases[i].status)
            fail_msg("case %zu: %d, want %d", i, got, cases[i].status);
    }
}

static void test_nul_in_head_is_refused(void **state)
{
    static const char h[] = "GET / HTTP/1.1\r\nUpgrade: web\0socket\r\n\r\n";
    struct wag_hs hs;
    struct error err;

    (void)state;
    assert_int_equal(wag_hs_parse(h, sizeof(h) - 1, &hs, &err), 400);
}

static void test_error_answers(void **state)
{
    char out[1024];
    size_t n;

    (void)state;
    n = wag_hs_error(503, "Too many handshakes; retry later.", 1, out, sizeof(out));
    assert_true(n > 0 && n == strlen(out));
    assert_true(strncmp(out, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0);
    assert_non_null(strstr(out, "\r\nRetry-After: 1\r\n"));
    assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(out, "Content-Length: 34\r\n"));
    assert_true(strcmp(out + n - 34, "Too many handshakes; retry later.\n") == 0);
    n = wag_hs_error(426, "x", 0, out, sizeof(out));
    assert_true(strncmp(out, "HTTP/1.1 426 Upgrade Required\r\n", 31) == 0);
    assert_non_null(strstr(out, "Sec-WebSocket-Version: 13\r\n"));
    assert_null(strstr(out, "Retry-After"));
    n = wag_hs_error(400, "bad", 0, out, sizeof(out));
    assert_true(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    assert_int_equal(wag_hs_error(400, "bad", 0, out, 16), 0);
}

/* Client frames, masked with a zero key (the payload stays readable). */
static size_t frame(uint8_t *out, int fin, int op, const char *payload)
{
    size_t n = strlen(payload);

    out[0] = (uint8_t)((fin ? 0x80 : 0) | op);
    out[1] = (uint8_t)(0x80 | n);
    memset(out + 2, 0, 4);
    memcpy(out + 6, payload, n);
    return 6 + n;
}

struct collect {
    struct tun_ws_dec dec;
    char msg[8][64];
    size_t nmsg;
    char cur[64];
    size_t len;
};

static int on_piece(void *arg, enum tun_ws_event ev, enum tun_ws_opcode op, uint8_t *p, size_t n)
{
    struct collect *c = arg;

    (void)op;
    if (ev != TUN_WSE_DATA)
        return 0;
    if (n > 0)
        memcpy(c->cur + c->len, p, n);
    c->len += n;
    if (wag_ws_message_complete(&c->dec)) {
        memcpy(c->msg[c->nmsg], c->cur, c->len);
        c->msg[c->nmsg++][c->len] = '\0';
        c->len = 0;
    }
    return 0;
}

static void test_messages_end_where_their_last_fragment_ends(void **state)
{
    uint8_t buf[256];
    size_t n = 0;
    struct collect c = {0};
    struct error err;
    int code;

    (void)state;
    n += frame(buf + n, 1, 1, "[1,\"s4t\",{}]");
    n += frame(buf + n, 0, 1, "[48,1,");
    n += frame(buf + n, 0, 0, "{},\"x\"");
    n += frame(buf + n, 1, 9, ""); /* a ping between fragments */
    n += frame(buf + n, 1, 0, "]");
    n += frame(buf + n, 0, 1, "[6,{},");
    n += frame(buf + n, 1, 0, ""); /* an empty final fragment */
    n += frame(buf + n, 1, 1, "\"wamp.close.normal\"]");
    tun_ws_dec_init(&c.dec);
    /* Byte by byte: completion must not depend on how reads split frames. */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tun_ws_decode(&c.dec, buf + i, 1, on_piece, &c, &code, &err), 0);
    assert_int_equal(c.nmsg, 4);
    assert_string_equal(c.msg[0], "[1,\"s4t\",{}]");
    assert_string_equal(c.msg[1], "[48,1,{},\"x\"]");
    assert_string_equal(c.msg[2], "[6,{},");
    assert_string_equal(c.msg[3], "\"wamp.close.normal\"]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_autobahn_offer_is_accepted),
        cmocka_unit_test(test_offers_in_any_form),
        cmocka_unit_test(test_each_refusal_has_its_status),
        cmocka_unit_test(test_nul_in_head_is_refused),
        cmocka_unit_test(test_error_answers),
        cmocka_unit_test(test_messages_end_where_their_last_fragment_ends),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

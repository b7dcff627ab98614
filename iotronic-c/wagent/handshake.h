/* wagent/handshake.h: the HTTP side of the WAMP listener (board-protocol.md 2).
 *
 * The WAMP port speaks only WebSocket upgrades. The listener reads the
 * request head itself on an lws raw socket (as the tunnel and HTTP servers
 * of this project do), so that every refusal is the exact answer the
 * contract names: 426 for plain HTTP, 400 for an upgrade that does not offer
 * wamp.2.json or is malformed, 503 with Retry-After when the wagent is full
 * or handshakes come too fast. This module parses a head and writes those
 * answers; the frame codec is tunnel/wsproto.h. Pure: no I/O, no
 * allocation, no globals; any thread. */
#ifndef IOT_WAGENT_HANDSHAKE_H
#define IOT_WAGENT_HANDSHAKE_H

#include <stddef.h>

#include "common/error.h"
#include "tunnel/wsproto.h"

#define WAG_HS_HEAD_MAX 8192 /* request line and headers; longer: 431 */
#define WAG_HS_SUBPROTOCOL "wamp.2.json"
#define WAG_HS_KEY_LEN 24

struct wag_hs {
    char key[WAG_HS_KEY_LEN + 1]; /* Sec-WebSocket-Key */
};

/* Length of the request head through its blank line in buf[0..len), or 0
 * when it is not complete yet. */
size_t wag_hs_head_len(const char *buf, size_t len);

/* Checks a complete request head. Returns 0 for a WebSocket upgrade (GET,
 * HTTP/1.1, Upgrade: websocket, Connection: upgrade, version 13, a valid
 * key) that offers wamp.2.json; otherwise the HTTP status to answer, with
 * the reason in err: 426 for a request that is not a WebSocket upgrade (or
 * asks for another WebSocket version), 400 for a malformed request or one
 * that does not offer wamp.2.json, 405 for an upgrade that is not a GET. */
int wag_hs_parse(const char *head, size_t len, struct wag_hs *out, struct error *err);

/* The 101 answer to a parsed upgrade, selecting wamp.2.json. Returns its
 * length, or 0 when cap is too small (256 is enough). */
size_t wag_hs_accept(const struct wag_hs *hs, char *out, size_t cap);

/* An error answer: status line, text/plain body "<message>\n", Connection:
 * close; "Retry-After: <retry_after>" when retry_after > 0 (503), and the
 * Upgrade and Sec-WebSocket-Version headers with 426. Returns the length,
 * or 0 when cap is too small (1024 is enough for a message of 512). */
size_t wag_hs_error(int status, const char *message, int retry_after, char *out, size_t cap);

/* 1 when the data piece the decoder has just handed over ends a message:
 * its frame has no payload left and is final. Call it from inside the
 * TUN_WSE_DATA callback of tun_ws_decode(), which reports pieces, not
 * messages (tunnel/wsproto.h keeps both fields in its public state). */
static inline int wag_ws_message_complete(const struct tun_ws_dec *d)
{
    return d->remain == 0 && d->fin;
}

#endif

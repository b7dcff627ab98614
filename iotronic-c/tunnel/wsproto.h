/* tunnel/wsproto.h: the server half of RFC 6455 that the tunnel server speaks.
 *
 * Why not lws's own WebSocket server: libwebsockets 4.1 decides a WebSocket
 * upgrade synchronously while it parses the request, but a control channel
 * must wait for the wagent's asynchronous authorisation (a database lookup on
 * a worker) and be refused with HTTP 401, without a WebSocket, when it fails
 * (board-protocol.md 9.2). So the server reads the upgrade request itself on
 * an lws raw socket (TLS included), and this module supplies the pieces: the
 * request-head parser, the handshake answer, and a streaming frame decoder
 * and encoder. Pure: no I/O, no allocation, no globals; any thread.
 *
 * The decoder accepts what a client may send: masked frames, fragmented data
 * messages, ping/pong/close control frames; anything else is a protocol error
 * with the close code to send (1002). Payload is unmasked in place and handed
 * to the caller in the pieces in which it arrived, so no frame is ever
 * buffered whole: a 2^62-byte frame costs nothing more than a small one. */
#ifndef IOT_TUNNEL_WSPROTO_H
#define IOT_TUNNEL_WSPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define TUN_HTTP_HEAD_MAX 8192 /* request line + headers; longer: 431 */
#define TUN_WS_KEY_LEN 24      /* base64 of 16 bytes */
#define TUN_WS_ACCEPT_LEN 29   /* base64 of SHA-1, with the NUL */

enum tun_ws_opcode {
    TUN_WS_CONT = 0x0,
    TUN_WS_TEXT = 0x1,
    TUN_WS_BINARY = 0x2,
    TUN_WS_CLOSE = 0x8,
    TUN_WS_PING = 0x9,
    TUN_WS_PONG = 0xA,
};

/* What the server needs from an upgrade request. */
struct tun_http_req {
    const char *query;  /* into the caller's buffer (not NUL-terminated); NULL if none */
    size_t query_len;
    char key[TUN_WS_KEY_LEN + 1];
};

/* Length of the request head (through the blank line) in buf[0..len), or 0
 * if it is not complete yet. */
size_t tun_http_head_len(const char *buf, size_t len);

/* Checks a complete request head: "GET <target> HTTP/1.1", Upgrade: websocket,
 * Connection: upgrade, Sec-WebSocket-Version: 13, a valid Sec-WebSocket-Key
 * and "tunnel-protocol" among the offered subprotocols. Returns 0, or the HTTP
 * status to answer (400, 405, 426) with the reason in err. */
int tun_http_parse(const char *head, size_t len, struct tun_http_req *req, struct error *err);

/* Sec-WebSocket-Accept for key. */
void tun_ws_accept(const char key[TUN_WS_KEY_LEN + 1], char out[TUN_WS_ACCEPT_LEN]);

/* The 101 answer with the tunnel subprotocol. Returns the length written, or
 * 0 if cap is too small (512 is enough). */
size_t tun_http_upgrade_response(const char *key, char *out, size_t cap);

/* An error answer: status line, text/plain body "<message>\n", Connection:
 * close (and Sec-WebSocket-Version: 13 with 426). Returns the length, or 0
 * if cap is too small. */
size_t tun_http_error_response(int status, const char *message, char *out, size_t cap);

/* Writes the header of an unmasked (server) frame with FIN set; returns its
 * length (2, 4 or 10). */
size_t tun_ws_frame_header(uint8_t out[10], enum tun_ws_opcode op, uint64_t len);

/* The client half, used by the board's data channels (client_conn.c says
 * why). The upgrade request for path on host, offering the tunnel
 * subprotocol with key (TUN_WS_KEY_LEN characters); returns its length or 0
 * if cap is too small. */
size_t tun_ws_client_request(const char *path, const char *host, const char *key, char *out,
                             size_t cap);

/* Checks the server's answer head (through its blank line) to a request made
 * with key: 0 for a valid 101 with the right Sec-WebSocket-Accept, else the
 * HTTP status it carried (401, 404, ...) or -EPROTO, with the reason in err. */
int tun_ws_client_check(const char *head, size_t len, const char *key, struct error *err);

/* Writes the header of a masked (client) frame with FIN set; returns its
 * length (6, 8 or 14). The payload must then be masked with mask. */
size_t tun_ws_frame_header_masked(uint8_t out[14], enum tun_ws_opcode op, uint64_t len,
                                  const uint8_t mask[4]);

/* Decoder events. Data pieces come in order; TUN_WSE_CLOSE carries the close
 * payload (code, reason) and ends the stream. */
enum tun_ws_event {
    TUN_WSE_DATA = 1, /* payload bytes of a text or binary message */
    TUN_WSE_PING,     /* a complete ping payload (answer it with a pong) */
    TUN_WSE_PONG,
    TUN_WSE_CLOSE,
};

/* Returns 0 to go on, or non-zero to stop decoding (tun_ws_decode returns it). */
typedef int (*tun_ws_event_fn)(void *arg, enum tun_ws_event ev, enum tun_ws_opcode op,
                               uint8_t *p, size_t n);

struct tun_ws_dec {
    uint8_t state;      /* header or payload */
    uint8_t hdr[14];    /* the header as it accumulates */
    uint8_t hlen;
    uint8_t opcode;     /* of the current frame */
    uint8_t fin;
    uint8_t msg_op;     /* TEXT or BINARY while a fragmented message runs, else 0 */
    uint8_t mask[4];
    uint8_t mpos;       /* mask index of the next payload byte */
    uint8_t closed;     /* a close frame was decoded: nothing more is accepted */
    uint8_t empty;      /* the current frame has no payload */
    uint8_t client;     /* decoding a server's frames: they must be unmasked */
    uint64_t remain;    /* payload bytes left in the frame */
    uint8_t ctl[125];   /* a control frame's payload */
    uint8_t ctl_len;
};

/* A decoder for what a client sends (masked frames), or with
 * tun_ws_dec_init_client() for what a server sends (unmasked frames). */
void tun_ws_dec_init(struct tun_ws_dec *d);
void tun_ws_dec_init_client(struct tun_ws_dec *d);

/* Decodes in[0..n), unmasking payload in place, and calls fn for each event.
 * Returns 0 when all was consumed, a non-zero value fn returned, or -EPROTO
 * with *close_code (1002, 1009) and the reason in err for a protocol error. */
int tun_ws_decode(struct tun_ws_dec *d, uint8_t *in, size_t n, tun_ws_event_fn fn, void *arg,
                  int *close_code, struct error *err);

/* Unmasks n bytes in place, continuing at mask index *mpos. */
void tun_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint8_t *mpos);

#endif

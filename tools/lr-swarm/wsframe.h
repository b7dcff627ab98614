/* tools/lr-swarm/wsframe.h: what lr-swarm reads from a wagent, parsed.
 *
 * The client half of RFC 6455 as lr-swarm needs it, as pure functions (no
 * I/O, no allocation, no globals; any thread), so that the transport
 * (conn.c) only moves bytes and these can be unit-tested and fuzzed:
 *   - the server's answer to the upgrade request: its length, then its
 *     check (101, Sec-WebSocket-Accept for our key, the wamp.2.json
 *     subprotocol; 503 with Retry-After is the wagent's handshake limit,
 *     board-protocol.md 2);
 *   - one frame header at a time: a server's frames are unmasked, RSV bits
 *     are zero, control frames are final and at most 125 bytes, and no
 *     frame is longer than the caller's message limit.
 * Everything here reads input from the network: lengths are checked before
 * any byte is looked at, and every refusal says why. */
#ifndef LR_SWARM_WSFRAME_H
#define LR_SWARM_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define SW_WS_SUBPROTOCOL "wamp.2.json"
#define SW_WS_KEY_LEN 24 /* base64 of 16 bytes */

/* Length of the answer head (through its blank line) in buf[0..n), 0 while
 * incomplete. Only the first max bytes are searched. */
size_t sw_ws_head_len(const char *buf, size_t n, size_t max);

/* Checks a complete answer head of len bytes to a request made with key.
 * Returns 0 when the WebSocket is open; -EAGAIN for 503 (*retry_after gets
 * Retry-After in seconds, 1 when absent or unusable); -EPROTO for anything
 * else, with the reason in err. */
int sw_ws_head_check(const char *head, size_t len, const char key[SW_WS_KEY_LEN + 1],
                     unsigned *retry_after, struct error *err) IOT_WUR;

/* One frame header. */
struct sw_ws_frame {
    uint8_t opcode; /* 0x0 continuation, 0x1 text, 0x2 binary, 0x8-0xA control */
    uint8_t fin;
    size_t header_len; /* 2, 4 or 10 */
    uint64_t payload_len;
};

/* Parses the header at p[0..n) of a frame from a server. Returns 1 and
 * fills *f when the whole frame (header and payload) is in p[0..n); 0 when
 * more bytes are needed; or a negated errno with *close_code (1002, or
 * 1009 for a frame longer than max_payload) and the reason in err. */
int sw_ws_frame_parse(const uint8_t *p, size_t n, uint64_t max_payload, struct sw_ws_frame *f,
                      uint16_t *close_code, struct error *err) IOT_WUR;

#endif

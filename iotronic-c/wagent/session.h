/* wagent/session.h: one board WebSocket and its WAMP session state.
 *
 * A session is one accepted connection on the WAMP listener, from the HTTP
 * upgrade to the close. Its states (board-protocol.md 4.4):
 *
 *   HANDSHAKE  reading the upgrade request (10 s at most)
 *   HELLO      WebSocket open; only HELLO is accepted
 *   AUTHWAIT   a WAMP-CRA HELLO: the board's secret is being looked up
 *   CHALLENGED CHALLENGE sent; only AUTHENTICATE (within 10 s)
 *   UNBOUND    WELCOME sent; may call register/connection/echo/alive,
 *              bind within bind_timeout
 *   BOUND      bound to one board by a successful `connection`
 *   CLOSING    ABORT/GOODBYE/close frame queued or the peer left: nothing
 *              more is read, what is queued is flushed, then the socket closes
 *
 * Ownership: the session is allocated when lws adopts the socket and freed
 * in its close callback, and nowhere else. Everything that outlives a
 * callback (database jobs, AMQP calls, timers of calls) refers to it by its
 * session id and looks it up again in w->sessions, which holds only live
 * (not CLOSING) sessions; the board table points at bound sessions and is
 * cleared when they end. Loop thread only. */
#ifndef IOT_WAGENT_SESSION_H
#define IOT_WAGENT_SESSION_H

#include <ev.h>
#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/uuid.h"
#include "tunnel/wsproto.h"
#include "wagent/limits.h"
#include "wamp/idtable.h"
#include "wamp/msg.h"

struct wag;
struct wag_board;

enum wag_state {
    WAG_S_HANDSHAKE,
    WAG_S_HELLO,
    WAG_S_AUTHWAIT,
    WAG_S_CHALLENGED,
    WAG_S_UNBOUND,
    WAG_S_BOUND,
    WAG_S_CLOSING,
    WAG_S_COUNT
};

enum wag_authmethod { WAG_AUTH_NONE = 0, WAG_AUTH_ANONYMOUS, WAG_AUTH_WAMPCRA };

#define WAG_PEER_MAX 64 /* "<address>:<port>", as sessions.peer */
#define WAG_AUTHID_MAX 64
#define WAG_HANDSHAKE_TIMEOUT 10.0 /* seconds to send the upgrade request */
#define WAG_AUTH_TIMEOUT 10.0      /* seconds from CHALLENGE to AUTHENTICATE (4.3) */
#define WAG_CLOSE_TIMEOUT 5.0      /* seconds a closing socket gets to take its last bytes */
#define WAG_REGS_MAX 512           /* registrations per session */
#define WAG_SUBS_MAX 64            /* subscriptions per session */
#define WAG_INFLIGHT_MAX 64        /* board CALLs to callees awaiting an answer */

/* An outgoing WebSocket frame. The struct sits at the start of its own
 * allocation, followed by room for lws (LWS_PRE) and the frame header, then
 * the payload: one allocation per message. */
struct wag_frame {
    struct wag_frame *next;
    size_t start; /* offset of the first byte to send (the frame header) */
    size_t len;   /* bytes of header and payload */
    size_t sent;
};

/* Room before a payload: the struct, lws's LWS_PRE and a 10-byte header. */
#define WAG_FRAME_PRE (((sizeof(struct wag_frame) + LWS_PRE + 10) + 15) & ~(size_t)15)

struct wag_session {
    struct wag *w;
    struct lws *wsi;
    lws_dll2_t link; /* in w->all */
    uint64_t id;     /* WAMP session id; 0 until HELLO */
    uint8_t state;   /* enum wag_state */
    uint8_t authmethod;
    uint8_t register_failures;
    uint8_t binding; /* a `connection` is being processed */
    uint8_t close_after_flush;
    uint8_t rx_paused;
    uint8_t in_callback;
    uint8_t kill;  /* close at the end of the current callback */
    uint8_t ended; /* wag_session_end() ran */
    uint16_t close_code;
    struct wag_board *board; /* BOUND: the board (its ->sess is this session) */
    char peer[WAG_PEER_MAX];
    struct wag_key addr; /* peer address, for the CRA failure counter */
    char authid[WAG_AUTHID_MAX];
    ev_tstamp opened, last_rx, last_ping, welcomed, bound_at, deadline;
    ev_timer timer;
    struct tun_ws_dec dec;
    struct buf rx; /* request head, then a message spanning reads */
    struct wag_frame *tx_head, *tx_tail;
    size_t tx_bytes;
    struct wag_bucket callee_rate;
    struct wamp_idtab inflight;    /* struct wag_inflight: CALLs awaiting an answer */
    struct wamp_idtab invocations; /* struct wag_inv: INVOCATIONs awaiting YIELD/ERROR */
    struct wamp_idtab regs;        /* struct wag_reg */
    struct wamp_idtab subs;        /* struct wag_sub */
    uint64_t next_invocation;      /* last INVOCATION id sent (from 1) */
    char *challenge;               /* CHALLENGED: the text sent */
    char *secret;                  /* CHALLENGED: the key to verify with */
};

struct wag_inflight {
    uint64_t request;
};

struct wag_inv {
    uint64_t id;
    struct wag_call *call;
};

struct wag_reg {
    uint64_t id;
    const struct wag_name *method;
};

struct wag_sub {
    uint64_t id;
    char *topic;
};

/* The lws protocol callback of the WAMP listener (transport.c). */
int wag_transport_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);

/* ------------------------------------------------------------ sending */

/* Starts a frame in b: reserves the room before the payload; the caller
 * appends the payload (at most the configured message size). */
void wag_frame_begin(struct wag *w, struct buf *b);

/* Queues the frame built in b (taken over) with opcode (TUN_WS_TEXT,
 * TUN_WS_PING, ...). Nothing is queued on a CLOSING session. */
void wag_session_queue(struct wag_session *s, struct buf *b, enum tun_ws_opcode op);

/* Serialises msg and queues it as a text frame. 0, or the codec's error
 * (logged; the message is not sent). */
int wag_session_send(struct wag_session *s, const struct wamp_msg *msg);

/* Queues a text frame holding the n bytes at text. */
void wag_session_send_text(struct wag_session *s, const char *text, size_t n);

/* ------------------------------------------------------------ ending */

/* Ends the session with ABORT reason {"message": message}, then a close
 * frame with ws_code (1002 for a protocol violation, 1009 for a message too
 * large, 1000 otherwise). Logged when it is a violation. */
void wag_session_abort(struct wag_session *s, const char *reason, const char *message, int ws_code);

/* A protocol violation (3.5): logged with the peer and the board, counted,
 * then ABORT wamp.error.protocol_violation with the message and close 1002
 * (wag_session_violation_code: ws_code, 1009 for an oversized message). */
void wag_session_violation(struct wag_session *s, const char *fmt, ...) IOT_PRINTF(2, 3);
void wag_session_violation_code(struct wag_session *s, int ws_code, const char *message);

/* Ends the session with GOODBYE reason, then close 1000. */
void wag_session_goodbye(struct wag_session *s, const char *reason);

/* Ends the session without a WAMP message (ping timeout, transport error). */
void wag_session_close(struct wag_session *s, int ws_code, const char *why);

/* 1 while the session can still exchange messages. */
static inline int wag_session_live(const struct wag_session *s)
{
    return s->state != WAG_S_CLOSING;
}

/* The live session with id, or NULL. */
struct wag_session *wag_session_get(struct wag *w, uint64_t id);

/* Re-arms the session timer after a state change. */
void wag_session_rearm(struct wag_session *s);

/* A short name of a state, for logs and metrics. */
const char *wag_state_name(enum wag_state st);

#endif

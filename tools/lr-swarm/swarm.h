/* tools/lr-swarm/swarm.h: what the modules of lr-swarm share.
 *
 * lr-swarm holds thousands of simulated boards in one process, each a real
 * WebSocket and WAMP session to a wagent, behaving as lightning-rod-c does
 * (board-protocol.md 5, 6, 10): registration with a code, WAMP-CRA,
 * `connection`, REGISTER of the board procedures, answers to invocations,
 * pings both ways, wamp_alive, optional tunnels. It exists to drive a wagent
 * to its limits, so a board costs little: one struct sw_board (~250 bytes),
 * its WAMP session (wamp/session.h, a few hundred bytes), one socket, and
 * buffers only while a frame is incomplete or the kernel refused bytes.
 *
 * Modules (one concept each):
 *   swarm.c    the process context, the tick (timers, connection rate),
 *              statistics, interned strings and URLs
 *   conn.c     the WebSocket client transport of one board on libev
 *   board.c    the board's life: registration, connection, online
 *   procs.c    the board procedures (a dispatch table)
 *   tunnels.c  ServiceEnable & co. on the tunnel client (tunnel/client.h)
 *   store.c    the codes file and the state file of registered boards
 *
 * Threads: one. Everything runs on the loop thread; there is no global
 * mutable state: the one struct swarm is made in main() and passed down. */
#ifndef LR_SWARM_SWARM_H
#define LR_SWARM_SWARM_H

#include <ev.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"
#include "loop/loop.h"

#define SW_URLS_MAX 64     /* distinct wagent URLs (registration, main, failover, wstun) */
#define SW_STRS_MAX 256    /* distinct interned strings (agent names) */
#define SW_SOURCES_MAX 256 /* source addresses */
#define SW_SECRET_MAX 64   /* board_credentials.secret is varchar(64) */
#define SW_NAME_MAX 255    /* board names (iotronic-api-v1.md 2.2) */
#define SW_CODE_MAX 36     /* registration codes (5.1) */
#define SW_HEAD_MAX 8192   /* the server's handshake answer */
#define SW_RBUF 65536      /* one read */
#define SW_FD_RESERVE 64   /* descriptors kept for the loop, lws, files, tunnels */

enum sw_state {
    SW_IDLE,       /* waiting for its due time (start, backoff) */
    SW_CONNECTING, /* TCP connect in progress */
    SW_HANDSHAKE,  /* upgrade request sent, reading the answer */
    SW_WAMP,       /* WebSocket open: HELLO ... REGISTERED */
    SW_ONLINE,     /* every procedure registered: serving calls */
    SW_FAILED,     /* registration refused: nothing more to do */
    SW_STOPPED,    /* the swarm is stopping: closed for good */
    SW_NSTATES
};

enum sw_phase {
    SW_PH_REGISTER, /* anonymous session to the registration URL: stack4things.register */
    SW_PH_CONNECT,  /* session to the main (or a failover) URL: connection, REGISTER */
};

/* Board flags. */
#define SW_F_KILL 0x01       /* close the connection at the end of this callback */
#define SW_F_NOW 0x02        /* reconnect at once (registration done), no backoff */
#define SW_F_DUE 0x20        /* reconnect at the due time already set (503), no backoff */
#define SW_F_CLOSE_SENT 0x04 /* our WebSocket close frame is out */
#define SW_F_WRITING 0x08    /* EV_WRITE is wanted (output queued) */

/* A wagent URL, resolved once at start (or when a settings document names
 * it): ws:// only, host numeric IPv4 or "localhost". */
struct sw_url {
    char *text;     /* as given */
    char *hostport; /* the Host header */
    char *path;     /* request path, "/" at least */
    struct sockaddr_in addr;
};

/* Output the kernel did not take yet: one allocation per chunk. */
struct sw_tx {
    struct sw_tx *next;
    size_t len, off;
    unsigned char data[];
};

/* Input kept across reads: an incomplete handshake answer or frame, and the
 * pieces of a fragmented message. Allocated only while needed. */
struct sw_rx {
    struct buf in;
    struct buf frag;
    uint8_t frag_op; /* the opcode of the fragmented message, 0 if none */
};

/* One simulated board. Many thousands exist, in one array made at start
 * and freed at exit; everything a board points to is its own. */
struct sw_board {
    ev_io io; /* fd -1 when not connected; io.data = the board */
    struct swarm *sw;
    struct wamp_session *ws; /* SW_WAMP, SW_ONLINE */
    struct sw_rx *rx;
    struct sw_tx *tx;
    char *code;         /* until registered */
    char *name;         /* from the settings document, or NULL */
    uint64_t alive_req; /* the wamp_alive CALL in flight, or 0 */
    uint32_t idx;
    uint32_t due;     /* ms: start (IDLE) or set-up deadline (CONNECTING..WAMP) */
    uint32_t started; /* ms: when this connection attempt began */
    uint32_t last_rx, last_ping, next_alive, alive_sent; /* ms */
    uint16_t url;                                        /* the URL of the current connection */
    uint16_t main_url, reg_url;
    uint16_t agent;           /* interned agent name (procedure prefix), 0: none */
    uint16_t wstun;           /* interned wstun_url of the wagent (5.2), 0: none */
    uint16_t ping_s, alive_s; /* intervals the wagent asked for (5.2), 0: ours */
    uint8_t state, phase, flags;
    uint8_t failures;  /* consecutive failed connections */
    uint8_t regs_left; /* REGISTERs awaiting REGISTERED */
    uint8_t src;       /* source address index */
    uint8_t gpio;      /* the simulated chip sim0, 8 lines */
    char uuid[UUID_STR_LEN];
    char secret[SW_SECRET_MAX];
    char key[25]; /* Sec-WebSocket-Key of the handshake in flight */
};

struct sw_opts {
    const char *codes_file, *state_file, *register_url, *lr_version;
    const char *failover[SW_URLS_MAX];
    size_t nfailover;
    struct in_addr sources[SW_SOURCES_MAX];
    size_t nsources;
    long count;               /* use the first count boards; 0: all */
    unsigned rate;            /* connections started per second */
    unsigned max_pending;     /* connections being set up at once */
    unsigned ping_s, alive_s; /* 0: as the wagent says (5.2), else 20 / 60 */
    int alive_off;            /* --alive-interval 0 */
    unsigned call_timeout_s;
    unsigned backoff_initial_ms, backoff_max_ms;
    unsigned failover_after;
    unsigned setup_timeout_s;
    double stats_interval, duration;
    size_t max_message;
    int tunnels, anonymous;
};

struct sw_stats {
    uint64_t registered, reg_failed, connects, online_events, drops, refused;
    uint64_t handshake_fail, connect_fail, ping_timeouts, alive_timeouts, aborts;
    uint64_t invocations, invocation_errors, alive_calls;
    uint64_t bytes_in, bytes_out;
    double last_online_t;                         /* wall clock of the last board coming online */
    uint64_t setup_ms_sum, setup_n, setup_ms_max; /* attempt start -> online */
};

struct sw_tun; /* tunnels.c */

/* The process context: one, made in main(). */
struct swarm {
    struct sw_opts o;
    struct loop *loop;
    struct ev_loop *ev;
    struct sw_board *boards;
    size_t nboards;
    struct sw_url urls[SW_URLS_MAX];
    size_t nurls;
    char *strs[SW_STRS_MAX]; /* [0] is "" */
    size_t nstrs;
    size_t count[SW_NSTATES];
    size_t pending; /* boards in CONNECTING, HANDSHAKE, WAMP */
    double t0;      /* ev_now() at start */
    double tokens;
    uint32_t tick_no;
    uint64_t prng;
    FILE *state_out;
    struct sw_tun *tun;
    struct sw_stats st;
    unsigned char *rbuf; /* SW_RBUF bytes: one read at a time */
    ev_timer tick, stats, stop_timer;
    ev_signal sigterm, sigint;
    int stopping;
    uint64_t notes[16]; /* occurrences of each rate-limited log kind */
};

/* ---- swarm.c */

/* ms since the start, from the loop's clock. */
uint32_t sw_now(const struct swarm *sw);

/* A fast non-cryptographic random number (masks, jitter). */
uint64_t sw_rand(struct swarm *sw);

/* Interns a URL (ws://host[:port][/path]) and returns its index, or -EINVAL
 * with the reason in err (wss://, a host that is not IPv4 or localhost).
 * Only ever called with bounded input; SW_URLS_MAX distinct at most. */
int sw_url_intern(struct swarm *sw, const char *text, struct error *err) IOT_WUR;

/* Interns a string and returns its index (0 is ""), or -ENOSPC. */
int sw_str_intern(struct swarm *sw, const char *s) IOT_WUR;

/* Moves b to state s, keeping the per-state counts. */
void sw_set_state(struct sw_board *b, enum sw_state s);

/* Logs a message of a repeated kind (an index < 16) only the first few times
 * and then at powers of two, so that 50 000 boards failing alike do not
 * flood stderr. */
void sw_note(struct swarm *sw, unsigned kind, const char *fmt, ...) IOT_PRINTF(3, 4);

enum sw_note_kind {
    SW_N_CONNECT,
    SW_N_HANDSHAKE,
    SW_N_REFUSED,
    SW_N_PROTO,
    SW_N_ABORT,
    SW_N_REGISTER,
    SW_N_CONNECTION,
    SW_N_TIMEOUT,
    SW_N_INVOKE,
    SW_N_STATE,
    SW_N_TUNNEL,
};

/* Starts the tick, the statistics and the signal watchers. */
void sw_start(struct swarm *sw);

/* GOODBYE to every session, then stops the loop once all are closed or
 * after two seconds. */
void sw_stop(struct swarm *sw);

/* Prints one statistics line (JSON) on stdout. */
void sw_stats_print(struct swarm *sw, const char *event);

/* ---- conn.c: the WebSocket transport */

/* Opens a TCP connection to URL index url from the board's source address
 * and sends the upgrade request when it is up. 0, or a negated errno (the
 * board stays closed). */
int sw_conn_open(struct sw_board *b, uint16_t url) IOT_WUR;

/* Sends a text frame; takes frame (from malloc). On a write error the
 * board is marked SW_F_KILL. */
void sw_conn_send_text(struct sw_board *b, char *frame, size_t len);

/* Sends a ping with a small payload. */
void sw_conn_ping(struct sw_board *b);

/* Sends a close frame with code (once). */
void sw_conn_send_close(struct sw_board *b, uint16_t code);

/* Closes the socket and frees buffers; no callback. */
void sw_conn_close(struct sw_board *b);

/* ---- board.c */

/* The WebSocket is open: start the WAMP session. */
void sw_board_opened(struct sw_board *b);

/* A complete text message (len bytes at p; borrowed). */
void sw_board_text(struct sw_board *b, const char *p, size_t len);

/* Marks the connection for closing at the end of the current callback;
 * why is a short reason for the debug log. now: reconnect without backoff. */
void sw_board_kill(struct sw_board *b, const char *why, int now);

/* Closes the connection if it was marked; called at the end of every
 * callback that may have marked it. */
void sw_board_reap(struct sw_board *b);

/* The periodic checks of one board: start, timeouts, pings, wamp_alive. */
void sw_board_tick(struct sw_board *b, uint32_t now, int full);

/* Sends GOODBYE when online (stopping). */
void sw_board_goodbye(struct sw_board *b);

/* The name DevicePing reports. */
const char *sw_board_name(const struct sw_board *b, char *tmp, size_t cap);

/* ---- procs.c: the board procedures */

struct cJSON;
struct wamp_event;

/* Registers every board procedure the swarm serves; returns how many, or a
 * negated errno (err). */
int sw_procs_register(struct sw_board *b, struct error *err) IOT_WUR;

/* Answers an INVOCATION (ev->cookie is the procedure's table entry). */
void sw_procs_invoke(struct sw_board *b, const struct wamp_event *ev);

/* ---- tunnels.c */

int sw_tun_new(struct swarm *sw, struct error *err) IOT_WUR;
void sw_tun_free(struct swarm *sw);

/* The procedures: args is the array after req (borrowed). Each fills
 * *message (a new cJSON the caller frees) and returns the result. */
int sw_tun_enable(struct sw_board *b, const struct cJSON *args, int restore,
                  struct cJSON **message);
int sw_tun_disable(struct sw_board *b, const struct cJSON *args, struct cJSON **message);
int sw_tun_status(struct sw_board *b, struct cJSON **message);

/* ---- store.c */

/* Loads the state file (registered boards) then the codes file, creating
 * the boards array. 0 or a negated errno (err: file:line). */
int sw_store_load(struct swarm *sw, struct error *err) IOT_WUR;

/* Appends the settings of a newly registered board to the state file. */
void sw_store_append(struct swarm *sw, const struct sw_board *b);

void sw_store_close(struct swarm *sw);

#endif

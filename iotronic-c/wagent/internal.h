/* wagent/internal.h: the wagent's context and the functions its files share.
 *
 * One struct wag per process, made by wag_new() (wagent.h) from main and
 * passed to everything; it owns the loop-side objects (sessions, boards,
 * names, limits, timers) and borrows the loop, the worker pool, the AMQP
 * connection and the tunnel server, which main creates and frees. The files:
 *
 *   transport.c  the listener's raw sockets: HTTP upgrade, frames, writing
 *   session.c    ending sessions, timers, keepalive
 *   router.c     message dispatch by type and state (3.1, 3.5, 4.4)
 *   login.c      HELLO, WAMP-CRA, WELCOME (4.2, 4.3)
 *   dealer.c     CALL to callees, REGISTER/UNREGISTER, YIELD/ERROR (3, 6)
 *   broker.c     SUBSCRIBE/UNSUBSCRIBE/PUBLISH and telemetry (5.9)
 *   callee*.c    the cloud callees of section 5, one concept per file
 *   invoke.c     board calls for the cloud (6, 8.1)
 *   board.c      the board table and its ordered session writes (5.2, 7.2)
 *   liveness.c   the wagent's row, heartbeat, dead wagents, start and stop (7)
 *   events.c     board.online / board.offline (7.4)
 *   amqp.c       the AMQP server of section 8
 *   tunnel.c     tunnel authorisation (9.5)
 *   admin.c      /healthz and /metrics (7.6)
 * Everything runs on the loop thread unless a comment says otherwise. */
#ifndef IOT_WAGENT_INTERNAL_H
#define IOT_WAGENT_INTERNAL_H

#include <cjson/cJSON.h>
#include <ev.h>
#include <stdatomic.h>
#include <libwebsockets.h>

#include "amqp/mq.h"
#include "common/stallwatch.h"
#include "common/wq.h"
#include "db/db.h"
#include "http/metrics.h"
#include "http/server.h"
#include "loop/loop.h"
#include "tunnel/server.h"
#include "wagent/board.h"
#include "wagent/conf.h"
#include "wagent/inbox.h"
#include "wagent/invoke.h"
#include "wagent/keytab.h"
#include "wagent/limits.h"
#include "wagent/names.h"
#include "wagent/session.h"
#include "wagent/wagent.h"

#define WAG_TYPE_MAX 71 /* message codes are below this */

/* Metric series looked up once (http/metrics.h). */
struct wag_metrics {
    struct metrics_series *handshakes[5]; /* accepted, refused_400, refused_426, refused_503,
                                             refused_other */
    struct metrics_series *msg_in[WAG_TYPE_MAX], *msg_out[WAG_TYPE_MAX];
    struct metrics_family *calls;        /* method, outcome */
    struct metrics_family *callee_calls; /* callee, outcome */
    struct metrics_series *call_latency;
    struct metrics_series *violations;
    struct metrics_series *auth_failures;
    struct metrics_series *bytes_in, *bytes_out;
};

/* Gauges refreshed from the loop every second (admin.c). */
struct wag_gauges {
    struct metrics_series *sessions[WAG_S_COUNT];
    struct metrics_series *boards, *calls, *tunnels, *tun_conns, *tun_pending;
    struct metrics_series *tun_in, *tun_out, *tun_total;
    uint64_t last_in, last_out, last_total;
    ev_timer refresh;
};

enum wag_hs_outcome { WAG_HS_OK, WAG_HS_400, WAG_HS_426, WAG_HS_503, WAG_HS_OTHER };

struct wag {
    const struct wag_conf *cfg;
    struct loop *loop;
    struct ev_loop *ev;
    struct lws_context *ctx;
    struct wq *wq;
    struct mq *mq;
    struct tun_server *tun;
    struct http_server *admin;
    struct metrics *metrics;
    struct wag_metrics m;
    struct wag_gauges g;
    struct wag_inbox inbox;
    struct lws_vhost *vh;
    struct lws_protocols protocols[2];
    int port;                   /* the WAMP listener's bound port */
    lws_dll2_owner_t all;       /* every struct wag_session, closing ones included */
    struct wag_keytab sessions; /* id -> live session */
    struct wag_keytab boards;   /* UUID -> struct wag_board */
    struct wag_names names;     /* interned method names */
    struct wag_authfail authfail;
    struct wag_hsrate hsrate;
    unsigned count[WAG_S_COUNT]; /* sessions by state */
    unsigned bound;              /* boards with a bound session */
    unsigned ncalls;             /* struct wag_call alive */
    int ready;                   /* start-up cleanup done: listening */
    int reconcile;               /* a session write failed: reconcile at the next beat */
    int stopping;
    ev_timer heartbeat;
    int heartbeat_busy;
    struct stall_watch judge; /* may this wagent declare others dead (7.3) */
    ev_tstamp last_history_cleanup;
    ev_timer retry; /* start-up cleanup retries */
    int64_t started_us;
    atomic_int stop_confirms;     /* board.offline events not yet confirmed at stop */
    unsigned char *scratch; /* WAG_SCRATCH bytes for coalescing writes */
};

#define WAG_SCRATCH (64 * 1024)

/* ------------------------------------------------------- session.c */
void wag_session_end(struct wag_session *s, const char *why);
void wag_session_set_state(struct wag_session *s, enum wag_state st);
void wag_session_free(struct wag_session *s);
void wag_session_timer_cb(struct ev_loop *ev, ev_timer *t, int revents);

/* ------------------------------------------------------- router.c */
void wag_router_message(struct wag_session *s, struct wamp_msg *m);
void wag_count_out(struct wag *w, enum wamp_type t);

/* ------------------------------------------------------- login.c */
void wag_login_hello(struct wag_session *s, struct wamp_msg *m);
void wag_login_authenticate(struct wag_session *s, struct wamp_msg *m);

/* ------------------------------------------------------- dealer.c */
void wag_dealer_call(struct wag_session *s, struct wamp_msg *m);
void wag_dealer_register(struct wag_session *s, struct wamp_msg *m);
void wag_dealer_unregister(struct wag_session *s, struct wamp_msg *m);
void wag_dealer_yield(struct wag_session *s, struct wamp_msg *m);
void wag_dealer_error(struct wag_session *s, struct wamp_msg *m);
/* The registration of method in s, or NULL. */
const struct wag_reg *wag_dealer_find(struct wag_session *s, const char *method);
void wag_dealer_session_ended(struct wag_session *s);

/* ------------------------------------------------------- broker.c */
void wag_broker_subscribe(struct wag_session *s, struct wamp_msg *m);
void wag_broker_unsubscribe(struct wag_session *s, struct wamp_msg *m);
void wag_broker_publish(struct wag_session *s, struct wamp_msg *m);
void wag_broker_session_ended(struct wag_session *s);

/* ------------------------------------------------------- callee.c (replies) */
/* An answer to the board's CALL request: each removes request from the
 * session's in-flight set. Nothing is sent on a session that has ended. */
void wag_reply_value(struct wag_session *s, uint64_t request, const cJSON *value);
void wag_reply_string(struct wag_session *s, uint64_t request, const char *text);
void wag_reply_wampmsg(struct wag_session *s, uint64_t request, enum wamp_result r,
                       const cJSON *message);
void wag_reply_wampmsg_str(struct wag_session *s, uint64_t request, enum wamp_result r,
                           const char *message);
void wag_reply_error(struct wag_session *s, enum wamp_type req_type, uint64_t request,
                     const char *uri, const char *message);
/* Marks request as awaiting an asynchronous answer: 0, or -EEXIST when it
 * already is (a protocol violation), -EBUSY past WAG_INFLIGHT_MAX. */
int wag_inflight_add(struct wag_session *s, uint64_t request);
/* An argument of a callee: Kwargs[key] when present, else Args[index];
 * NULL when neither. Borrowed from m. */
const cJSON *wag_arg(struct wamp_msg *m, const char *key, unsigned index);
void wag_count_callee(struct wag *w, const char *callee, const char *outcome);
/* 0 when the argument key (or Args[index]) names the bound board (4.4);
 * otherwise the refusal (invalid_argument or not_authorized) has been sent
 * and a negated errno is returned. */
int wag_check_board_arg(struct wag_session *s, struct wamp_msg *m, const char *key, unsigned index);

/* ------------------------------------------------------- the callees */
void wag_callee_register(struct wag_session *s, struct wamp_msg *m);
void wag_callee_connection(struct wag_session *s, struct wamp_msg *m);
void wag_callee_wamp_alive(struct wag_session *s, struct wamp_msg *m);
void wag_callee_alive(struct wag_session *s, struct wamp_msg *m);
void wag_callee_echo(struct wag_session *s, struct wamp_msg *m);
void wag_callee_notify_result(struct wag_session *s, struct wamp_msg *m);
void wag_callee_function_result(struct wag_session *s, struct wamp_msg *m);
void wag_callee_event(struct wag_session *s, struct wamp_msg *m);
/* "Iotronic alive @ <UTC time with µs>" into out. */
void wag_alive_text(char out[64]);

/* ------------------------------------------------------- board.c (session writes) */
/* Queues the database side of a session's end (7.2) for its board. */
void wag_board_unbind(struct wag *w, struct wag_board *b, uint64_t session_id,
                      const char *lr_version);

/* ------------------------------------------------------- liveness.c */
int wag_liveness_start(struct wag *w, struct error *err);
void wag_liveness_stop(struct wag *w);
/* The closing steps on the main thread, the loop stopped (blocking). */
void wag_liveness_shutdown(struct wag *w);

/* ------------------------------------------------------- events.c */
void wag_event_board(struct wag *w, const char *event, const char *board_uuid, const char *agent,
                     const char *session, const char *lr_version);

/* ------------------------------------------------------- amqp.c */
int wag_amqp_start(struct wag *w, struct error *err);
#define WAG_QUEUE_MAX 300
/* The AMQP queue of the wagent called host: wagent.<host>. */
void wag_agent_queue(char out[WAG_QUEUE_MAX], const char *host);

/* ------------------------------------------------------- tunnel.c */
void wag_tunnel_authorize(void *arg, const struct tun_auth_request *req);
void wag_tunnel_board_gone(struct wag *w, const char *uuid);

/* ------------------------------------------------------- admin.c */
void wag_metrics_init(struct wag *w);
int wag_admin_start(struct wag *w, struct error *err);
void wag_admin_stop(struct wag *w);

/* ------------------------------------------------------- wagent.c */
/* Opens the WAMP listener (once the start-up cleanup is committed). */
int wag_listen(struct wag *w, struct error *err);

/* ------------------------------------------------------- helpers */
static inline ev_tstamp wag_now(const struct wag *w)
{
    return ev_now(w->ev);
}

/* Submits a database job; the worker's thread context is its struct db
 * (NULL when the connection string could not be used). Same results as
 * wq_submit(). */
int wag_db_submit(struct wag *w, wq_work_fn work, wq_done_fn done, void *arg) IOT_WUR;

#endif

/* src/link.h: the agent's WAMP connection and its states (board-protocol.md
 * 5.1, 5.2, 6.1, 7.5, 10.2, 10.4).
 *
 *   unconfigured  no settings: nothing to dial; waits for `configure`;
 *   registering   an anonymous session to the registration agent calls
 *                 stack4things.register(code, session) and stores the settings
 *                 document it answers (retried with backoff capped at 300 s);
 *   connecting    a session to the main agent (or, after failover_after
 *                 failures, alternately to the registration agent), WAMP-CRA
 *                 when the settings hold a secret, <agent>.stack4things.connection
 *                 with lr_version and the connectivity of the WebSocket's
 *                 interface, then REGISTER of every procedure of the RPC table
 *                 under iotronic.<session>.<uuid>.<Method>;
 *   online        serves invocations, calls wamp_alive every alive_interval and
 *                 lets the outbox and the services run.
 * A lost connection, a failed step or an unanswered wamp_alive goes back to
 * connecting (or registering) after a full-jitter backoff, the n-th
 * consecutive failure waiting up to min(backoff_max, backoff_initial * 2^n).
 *
 * One link per agent, owned by it. Loop thread only. */
#ifndef LRC_SRC_LINK_H
#define LRC_SRC_LINK_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "common/error.h"
#include "src/agent.h"
#include "wamp/wampmsg.h"

#define LRC_REGISTER_BACKOFF_MAX_S 300 /* 10.2: a refused registration */

enum lrc_state {
    LRC_STATE_UNCONFIGURED = 0,
    LRC_STATE_REGISTERING,
    LRC_STATE_CONNECTING,
    LRC_STATE_ONLINE,
};

const char *lrc_state_name(enum lrc_state s);

struct lrc_link;
struct lrc_outcall;

struct lrc_link *lrc_link_new(struct lrc_agent *a);

/* Looks at the agent's settings and starts what they call for: nothing
 * (unconfigured), a registration or a connection. Call again after the
 * settings changed: a session that no longer fits is closed first. */
void lrc_link_start(struct lrc_link *l);

/* Says GOODBYE (when online) and closes; no reconnection follows. done runs
 * once the GOODBYE was sent or dropped (at most a second). */
void lrc_link_stop(struct lrc_link *l, void (*done)(void *arg), void *arg);

void lrc_link_free(struct lrc_link *l); /* accepts NULL */

enum lrc_state lrc_link_state(const struct lrc_link *l);
uint64_t lrc_link_session(const struct lrc_link *l);  /* 0 unless a session is up */
const char *lrc_link_url(const struct lrc_link *l);   /* the agent dialled, or NULL */
const char *lrc_link_agent(const struct lrc_link *l); /* the wagent's name, or NULL */
/* The wstun_url the wagent gave in its connection reply (5.2), or NULL. */
const char *lrc_link_wstun_url(const struct lrc_link *l);
/* A counter that changes with every session: replies carry it so that an
 * answer is never sent on a later session than its call's. */
uint64_t lrc_link_generation(const struct lrc_link *l);
unsigned lrc_link_failures(const struct lrc_link *l);

/* Called with online = 1 when the link reaches online, 0 when it leaves it. */
typedef void (*lrc_online_fn)(void *arg, int online);
void lrc_link_watch(struct lrc_link *l, lrc_online_fn fn, void *arg);

/* The outcome of an outgoing call: rc 0 and the reply's WampMessage (a
 * callee's ERROR WampMessage included), or rc < 0 with why: -ETIMEDOUT (no
 * reply in time), -ECONNRESET (the session ended), -EREMOTEIO (a WAMP ERROR:
 * why is its URI and text). reply is borrowed for the call. */
typedef void (*lrc_outcall_fn)(void *arg, int rc, const struct wamp_wampmsg *reply,
                               const char *why);

/* Calls a cloud callee: name is "notify_result", "wamp_alive", ... sent as
 * <agent>.stack4things.<name> (prefixed) or stack4things.<name>, with
 * kwargs (borrowed) and Args []. fn runs exactly once unless the call is
 * cancelled. Returns 0 (and *out, may be NULL) or -ENOTCONN unless online
 * (fn never runs then). */
int lrc_link_call(struct lrc_link *l, const char *name, int prefixed, const cJSON *kwargs,
                  int64_t timeout_ms, lrc_outcall_fn fn, void *arg, struct lrc_outcall **out);
void lrc_outcall_cancel(struct lrc_outcall *c); /* fn will not run; accepts NULL */

/* Sends a YIELD with a WampMessage text for invocation request of the
 * session generation gen. Returns 0, or -ENOTCONN when that session is gone
 * (the reply is dropped). */
int lrc_link_yield(struct lrc_link *l, uint64_t gen, uint64_t request, const char *text,
                   size_t len);

/* Which agent attempt n (n consecutive failures before it) dials: 1 for the
 * registration agent, 0 for the main one (7.5). Pure. */
int lrc_link_pick_registration(unsigned failures, unsigned failover_after, int have_reg);

/* The status object of the control socket's "status" op: state, board,
 * agent, session, url, failures. New. */
cJSON *lrc_link_status(const struct lrc_link *l);

#endif

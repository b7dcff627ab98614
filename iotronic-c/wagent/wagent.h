/* wagent/wagent.h: the iotronic-wagent service, as main() drives it.
 *
 * The wagent is the WAMP router for boards (board-protocol.md 2-4), the
 * cloud's callees (5), the dealer of board calls for the conductor and the
 * deviceless engine (6, 8), the judge of board liveness (7) and the host of
 * the tunnel server (9). main() owns the process pieces and hands them over:
 *
 *   loop_new(); wq_new(loop hooks, db_thread_open/close); loop_set_wq();
 *   mq_new(); metrics_new(); wag_new(); wag_start(); loop_run();
 *   wag_stop();     <- loop stopped: GOODBYE to every board
 *   wq_free();      <- every database job has finished
 *   wag_offline();  <- this wagent's boards and row offline
 *   loop_free(); wag_free(); mq_free(); metrics_free();
 *
 * wag_start() declares the AMQP exchanges and queue and starts serving
 * `wagent.<host>`, opens the tunnel and admin listeners and the wagent's
 * heartbeat, and cleans up after a previous life of this wagent (7.3); the
 * WAMP listener opens once that cleanup is committed, so no board binds
 * before its stale sessions are gone. All functions here run on the main
 * (loop) thread. */
#ifndef IOT_WAGENT_WAGENT_H
#define IOT_WAGENT_WAGENT_H

#include "amqp/mq.h"
#include "common/error.h"
#include "common/wq.h"
#include "http/metrics.h"
#include "loop/loop.h"
#include "wagent/conf.h"

struct wag;

/* The worker hooks: each database worker owns one connection (db_new) to
 * [database] connection; arg is the struct wag_conf. */

/* Makes the service. Everything passed is borrowed and must outlive it.
 * 0 and *out (wag_free()), or an error with err set. */
int wag_new(const struct wag_conf *cfg, struct loop *loop, struct wq *wq, struct mq *mq,
            struct metrics *metrics, struct wag **out, struct error *err) IOT_WUR;

/* Starts serving (see above). Blocks briefly for the AMQP declarations
 * (before the loop runs). 0, or the reason the wagent cannot run. */
int wag_start(struct wag *w, struct error *err) IOT_WUR;

/* The WAMP listener's port once listening, else 0. */
int wag_port(const struct wag *w);

/* Stops after loop_run() returned: sends GOODBYE wamp.close.system_shutdown
 * to every session and lets the loop flush them (a few seconds at most),
 * answers pending calls and closes the tunnels. Accepts NULL. */
void wag_stop(struct wag *w);

/* After wq_free(), so that no session write of a worker can land after it:
 * marks this wagent's boards offline (board.offline for each) and its row
 * offline, on a connection of its own (blocking; the loop is not serving).
 * Accepts NULL. */
void wag_offline(struct wag *w);

/* Frees the service; after wag_stop() and wq_free(). Accepts NULL. */
void wag_free(struct wag *w);

#endif

/* wagent/board.h: the boards this wagent holds, and the order of their
 * session writes.
 *
 * A struct wag_board exists while a board has anything here: a bound
 * session, calls outstanding or waiting for its procedures, or database work
 * about its session state. Found by UUID in w->boards; freed by
 * wag_board_release() once idle.
 *
 * Session state in the database (bind on `connection`, unbind when the
 * session ends, board-protocol.md 5.2 and 7.2) is written by worker threads,
 * and two workers could commit one board's writes in either order. So each
 * board runs its session writes one at a time, in the order the loop decided
 * them: an op is queued with wag_board_op(), starts when the previous one
 * finished, and calls wag_board_op_done() from its completion. Loop thread
 * only. */
#ifndef IOT_WAGENT_BOARD_H
#define IOT_WAGENT_BOARD_H

#include <ev.h>
#include <libwebsockets.h>
#include <stdint.h>

#include "common/uuid.h"
#include "wagent/keytab.h"
#include "wagent/limits.h"

struct wag;
struct wag_session;

#define WAG_LR_VERSION_MAX 20

/* A queued session write. start() submits the job; its completion must
 * call wag_board_op_done(). discard() frees an op that will never run or
 * finish (the wagent is being freed; its workers are gone). */
struct wag_bop {
    struct wag_bop *next;
    void (*start)(struct wag_bop *op);
    void (*discard)(struct wag_bop *op);
    struct wag_board *board;
    uint8_t parked; /* waiting on a loop timer, not on a worker */
};

struct wag_board {
    struct wag_key key;
    char uuid[UUID_STR_LEN];
    struct wag *w;
    struct wag_session *sess; /* the live session bound here, or NULL */
    char lr_version[WAG_LR_VERSION_MAX + 1];
    uint8_t no_req; /* an original agent older than 0.4.9 (6.2) */
    uint8_t busy;   /* an op is running: current */
    struct wag_bop *current;
    struct wag_bop *ops_head, *ops_tail;
    unsigned pending;            /* invocations outstanding (sent or waiting) */
    lws_dll2_owner_t waiting;    /* struct wag_call waiting for a registration */
    struct wag_bucket pub_rate;  /* publications (5.9) */
    ev_tstamp last_seen_written; /* wamp_alive's last_seen_at, at most once a minute */
};

/* The board with uuid (normalised), creating it when create is set. NULL
 * when absent (or uuid is not a UUID). */
struct wag_board *wag_board_get(struct wag *w, const char *uuid, int create);

/* Frees b when nothing refers to it any more. */
void wag_board_release(struct wag_board *b);

/* Queues op (op->start set) for b; starts it now if b is idle. */
void wag_board_op(struct wag_board *b, struct wag_bop *op);

/* Called by an op's completion: starts the next one, or releases b. */
void wag_board_op_done(struct wag_board *b);

/* 1 when lr_version names an original agent older than 0.4.9, which is
 * called without `req` (6.2): it starts with a digit and sorts before 0.4.9. */
int wag_lr_without_req(const char *lr_version);

/* Number of boards with a bound session here. */
unsigned wag_boards_online(const struct wag *w);

/* Discards the ops parked on loop timers (wag_stop(), before the loop goes). */
void wag_boards_stop(struct wag *w);

/* Frees every board and the ops they still hold (wag_free()). */
void wag_boards_free(struct wag *w);

#endif

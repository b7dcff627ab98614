/* wagent/board.c: see board.h; and the unbind write of board-protocol.md 7.2.
 *
 * Unbinding changes the board only if the session that ended is still its
 * valid one, so a newer session (here or on another wagent) is never
 * overwritten. A database that cannot be reached delays the write, which is
 * retried every second for a while; after that the heartbeat's
 * reconciliation (liveness.c) finishes the job. */
#include "wagent/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"

#define UNBIND_ATTEMPTS 30

struct wag_board *wag_board_get(struct wag *w, const char *uuid, int create)
{
    struct wag_board *b;
    struct wag_key k;

    if (wag_key_uuid(uuid, &k) < 0)
        return NULL;
    b = wag_keytab_get(&w->boards, k);
    if (b != NULL || !create)
        return b;
    b = xcalloc(1, sizeof(*b));
    b->key = k;
    b->w = w;
    if (uuid_normalize(uuid, b->uuid) < 0 || wag_keytab_put(&w->boards, k, b) < 0)
        abort(); /* checked by wag_key_uuid, absent above */
    wag_bucket_init(&b->pub_rate, WAG_PUBLISH_BURST, wag_now(w));
    return b;
}

void wag_board_release(struct wag_board *b)
{
    if (b == NULL || b->sess != NULL || b->busy || b->ops_head != NULL || b->pending > 0 ||
        b->waiting.count > 0)
        return;
    wag_keytab_del(&b->w->boards, b->key);
    free(b);
}

static void start_next(struct wag_board *b)
{
    struct wag_bop *op;

    if (b->busy || (op = b->ops_head) == NULL) {
        wag_board_release(b);
        return;
    }
    b->ops_head = op->next;
    if (b->ops_head == NULL)
        b->ops_tail = NULL;
    b->busy = 1;
    b->current = op;
    op->start(op); /* calls wag_board_op_done(), now or later */
}

void wag_board_op(struct wag_board *b, struct wag_bop *op)
{
    op->board = b;
    op->next = NULL;
    if (b->ops_tail != NULL)
        b->ops_tail->next = op;
    else
        b->ops_head = op;
    b->ops_tail = op;
    if (!b->busy)
        start_next(b);
}

void wag_board_op_done(struct wag_board *b)
{
    b->busy = 0;
    b->current = NULL;
    start_next(b);
}

void wag_boards_stop(struct wag *w)
{
    struct wag_board *b;
    size_t pos = 0;

    while ((b = wag_keytab_next(&w->boards, &pos)) != NULL)
        if (b->current != NULL && b->current->parked) {
            b->current->discard(b->current);
            b->current = NULL;
            b->busy = 0;
        }
}

void wag_boards_free(struct wag *w)
{
    struct wag_board *b;
    size_t pos = 0;

    while ((b = wag_keytab_next(&w->boards, &pos)) != NULL) {
        struct wag_bop *op;

        if (b->current != NULL)
            b->current->discard(b->current);
        while ((op = b->ops_head) != NULL) {
            b->ops_head = op->next;
            op->discard(op);
        }
        free(b);
    }
    wag_keytab_free(&w->boards);
}

int wag_lr_without_req(const char *v)
{
    unsigned long part[3] = {0, 0, 0};
    const char *p = v;
    char *end;

    if (v == NULL || v[0] < '0' || v[0] > '9')
        return 0;
    for (int i = 0; i < 3; i++) {
        part[i] = strtoul(p, &end, 10);
        if (end == p || *end != '.')
            break;
        p = end + 1;
    }
    return part[0] == 0 && (part[1] < 4 || (part[1] == 4 && part[2] < 9));
}

unsigned wag_boards_online(const struct wag *w)
{
    return w->bound;
}

/* ------------------------------------------------------------ unbind (7.2) */

struct unbind_op {
    struct wag_bop op;
    struct wag *w;
    char uuid[UUID_STR_LEN];
    char session[24];
    char lr_version[WAG_LR_VERSION_MAX + 1];
    int changed;
    int attempts;
    int rc;
    struct error err;
    ev_timer retry;
};

static const struct db_stmt unbind_stmt = {
    "wag_unbind",
    "WITH s AS (UPDATE sessions SET valid = false, ended_at = now(), updated_at = now() "
    "WHERE board_uuid = $1::uuid AND session_id = $2 AND valid RETURNING board_uuid) "
    "UPDATE boards b SET status = 'offline', updated_at = now() FROM s "
    "WHERE b.uuid = s.board_uuid AND b.status = 'online' RETURNING b.uuid",
    2,
};

static void unbind_work(void *arg, void *thread_ctx)
{
    struct unbind_op *u = arg;
    const char *p[2] = {u->uuid, u->session};
    PGresult *res = NULL;

    if (thread_ctx == NULL) {
        u->rc = error_set(&u->err, -ENOTCONN, "no database connection");
        return;
    }
    u->rc = db_exec_stmt(thread_ctx, &unbind_stmt, p, &res, &u->err);
    if (u->rc == 0)
        u->changed = PQntuples(res) > 0;
    PQclear(res);
}

static void unbind_start(struct wag_bop *op);

static void unbind_retry(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct unbind_op *u = t->data;

    (void)ev;
    (void)revents;
    u->op.parked = 0;
    unbind_start(&u->op);
}

static void unbind_done(void *arg)
{
    struct unbind_op *u = arg;
    struct wag *w = u->w;
    struct wag_board *b = u->op.board;

    if (u->rc < 0 && ++u->attempts < UNBIND_ATTEMPTS && !w->stopping) {
        log_warn("board %s offline not written yet (%s); retrying", u->uuid, u->err.msg);
        ev_timer_set(&u->retry, 1.0, 0.);
        ev_timer_start(w->ev, &u->retry);
        u->op.parked = 1;
        return; /* the board stays busy: later writes wait for this one */
    }
    if (u->rc < 0) {
        log_error("board %s: cannot mark it offline: %s", u->uuid, u->err.msg);
        w->reconcile = 1;
    } else if (u->changed) {
        log_info("board %s offline session=%s", u->uuid, u->session);
        wag_event_board(w, "board.offline", u->uuid, w->cfg->hostname, u->session,
                        u->lr_version[0] ? u->lr_version : NULL);
    }
    free(u);
    wag_board_op_done(b);
}

static void unbind_start(struct wag_bop *op)
{
    struct unbind_op *u = (struct unbind_op *)op;

    if (wag_db_submit(u->w, unbind_work, unbind_done, u) < 0) {
        u->rc = error_set(&u->err, -EAGAIN, "the worker queue is full");
        unbind_done(u);
    }
}

static void unbind_discard(struct wag_bop *op)
{
    struct unbind_op *u = (struct unbind_op *)op;

    if (op->parked)
        ev_timer_stop(u->w->ev, &u->retry);
    free(u);
}

void wag_board_unbind(struct wag *w, struct wag_board *b, uint64_t session_id,
                      const char *lr_version)
{
    struct unbind_op *u;

    if (w->stopping)
        return; /* wag_liveness_shutdown() marks every board of this wagent offline */
    u = xcalloc(1, sizeof(*u));
    u->w = w;
    u->op.start = unbind_start;
    u->op.discard = unbind_discard;
    ev_timer_init(&u->retry, unbind_retry, 1.0, 0.);
    u->retry.data = u;
    memcpy(u->uuid, b->uuid, sizeof(u->uuid));
    snprintf(u->session, sizeof(u->session), "%" PRIu64, session_id);
    snprintf(u->lr_version, sizeof(u->lr_version), "%s", lr_version ? lr_version : "");
    wag_board_op(b, &u->op);
}

/* wagent/callee_connection.c: <agent>.stack4things.connection(uuid, session, info)
 * (board-protocol.md 5.2): binding a session to its board.
 *
 * The arguments are checked on the loop; the rest runs as one of the
 * board's ordered session writes (board.h), in one transaction on a worker:
 * the board must exist and have registered; a WAMP-CRA session may bind
 * only to its own authid, an anonymous one only while anonymous boards are
 * allowed and the board has never authenticated; a session bound to another
 * board may not move. Then the previous valid session is ended, the new one
 * recorded, the board set online here, and a CRA board marked
 * auth_required. Back on the loop the session becomes BOUND, a session of
 * this wagent that held the board before is closed (the newest connection
 * wins), one held by another wagent is dropped there over AMQP, and
 * board.online is published. */
#include "wagent/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "conductor/rpc.h"
#include "wamp/json_out.h"

#define CONNECTIVITY_MAX 4096
#define ALIVE_INTERVAL 60 /* seconds: what lightning-rod-c is told (10.4) */

enum bind_outcome { BIND_OK, BIND_NOT_REGISTERED, BIND_AUTH, BIND_OTHER, BIND_DB };

struct bind_op {
    struct wag_bop op;
    struct wag *w;
    uint64_t session;
    uint64_t request;
    char uuid[UUID_STR_LEN];
    char session_text[24];
    char peer[WAG_PEER_MAX];
    char authid[WAG_AUTHID_MAX];
    int cra;
    int allow_anonymous;
    int bound_other;
    char lr_version[WAG_LR_VERSION_MAX + 1];
    int has_lr;
    char *connectivity; /* JSON text, or NULL: unchanged */
    /* results */
    enum bind_outcome outcome;
    char prev_session[24];
    char prev_agent[WAG_HOST_MAX];
    int prev_agent_online;
    struct error err;
};

static const struct db_stmt lock_board = {
    "wag_bind_lock",
    "SELECT b.id, c.registered_code IS NOT NULL, coalesce(c.auth_required, false), "
    "coalesce(b.agent, ''), coalesce(s.session_id, ''), coalesce(w.online, false) "
    "FROM boards b LEFT JOIN board_credentials c ON c.board_uuid = b.uuid "
    "LEFT JOIN sessions s ON s.board_uuid = b.uuid AND s.valid "
    "LEFT JOIN wampagents w ON w.hostname = b.agent "
    "WHERE b.uuid = $1::uuid FOR UPDATE OF b",
    1,
};

static const struct db_stmt end_previous = {
    "wag_bind_end_prev",
    "UPDATE sessions SET valid = false, ended_at = now(), updated_at = now() "
    "WHERE board_uuid = $1::uuid AND valid",
    1,
};

static const struct db_stmt insert_session = {
    "wag_bind_insert",
    "INSERT INTO sessions (valid, session_id, board_uuid, board_id, peer, authmethod) "
    "VALUES (true, $2, $1::uuid, $3::integer, $4, $5)",
    5,
};

static const struct db_stmt set_online = {
    "wag_bind_online",
    "UPDATE boards SET status = 'online', agent = $2, lr_version = $3, "
    "connectivity = coalesce($4::jsonb, connectivity), updated_at = now() WHERE uuid = $1::uuid",
    4,
};

static const struct db_stmt set_auth_required = {
    "wag_bind_auth_required",
    "UPDATE board_credentials SET auth_required = true, updated_at = now() "
    "WHERE board_uuid = $1::uuid AND NOT auth_required",
    1,
};

/* The checks of 5.2, in order, on the locked row. */
static enum bind_outcome check(struct bind_op *j, PGresult *res)
{
    int registered = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    int auth_required = registered && strcmp(PQgetvalue(res, 0, 2), "t") == 0;

    if (!registered)
        return BIND_NOT_REGISTERED;
    if (j->cra ? strcmp(j->authid, j->uuid) != 0 : (!j->allow_anonymous || auth_required))
        return BIND_AUTH;
    if (j->bound_other)
        return BIND_OTHER;
    return BIND_OK;
}

static int write_binding(struct db *db, struct bind_op *j, const char *board_id, struct error *err)
{
    const char *ins[5] = {j->uuid, j->session_text, board_id, j->peer,
                          j->cra ? "wampcra" : "anonymous"};
    const char *on[4] = {j->uuid, j->w->cfg->hostname, j->has_lr ? j->lr_version : NULL,
                         j->connectivity};
    const char *one[1] = {j->uuid};
    int rc;

    if ((rc = db_exec_stmt(db, &end_previous, one, NULL, err)) < 0 ||
        (rc = db_exec_stmt(db, &insert_session, ins, NULL, err)) < 0 ||
        (rc = db_exec_stmt(db, &set_online, on, NULL, err)) < 0)
        return rc;
    if (j->cra && (rc = db_exec_stmt(db, &set_auth_required, one, NULL, err)) < 0)
        return rc;
    return 0;
}

static int bind_tx(struct db *db, void *arg, struct error *err)
{
    struct bind_op *j = arg;
    const char *p[1] = {j->uuid};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &lock_board, p, &res, err);

    if (rc < 0)
        return rc;
    j->outcome = check(j, res);
    if (j->outcome == BIND_OK) {
        snprintf(j->prev_session, sizeof(j->prev_session), "%s", PQgetvalue(res, 0, 4));
        snprintf(j->prev_agent, sizeof(j->prev_agent), "%s", PQgetvalue(res, 0, 3));
        j->prev_agent_online = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
        rc = write_binding(db, j, PQgetvalue(res, 0, 0), err);
    }
    PQclear(res);
    return rc;
}

static void bind_work(void *arg, void *thread_ctx)
{
    struct bind_op *j = arg;

    if (thread_ctx == NULL || db_tx(thread_ctx, bind_tx, j, &j->err) < 0)
        j->outcome = BIND_DB;
}

/* ------------------------------------------------------------ on the loop */

static cJSON *success_message(const struct wag *w, const struct bind_op *j)
{
    cJSON *m;

    if (!j->has_lr || strncmp(j->lr_version, "lrc-", 4) != 0)
        return cJSON_CreateString(""); /* the original agent's answer */
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "agent", w->cfg->hostname);
    cJSON_AddStringToObject(m, "wstun_url", w->cfg->wstun_public_url);
    json_add_int(m, "ping_interval", w->cfg->ping_interval);
    json_add_int(m, "alive_interval", ALIVE_INTERVAL);
    json_add_int(m, "max_message_size", w->cfg->max_message_size);
    return m;
}

/* The board was held by a session of another wagent: tell it (8.1). */
static void drop_elsewhere(struct wag *w, const struct bind_op *j)
{
    char queue[WAG_QUEUE_MAX];
    struct error err;
    cJSON *a;

    if (j->prev_session[0] == '\0' || j->prev_agent[0] == '\0' || !j->prev_agent_online ||
        strcmp(j->prev_agent, w->cfg->hostname) == 0)
        return;
    wag_agent_queue(queue, j->prev_agent);
    a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "board_uuid", j->uuid);
    cJSON_AddStringToObject(a, "session", j->prev_session);
    if (mq_cast(w->mq, queue, "drop_session", a, 0, &err) < 0)
        log_warn("board %s: drop_session to %s not sent: %s", j->uuid, j->prev_agent, err.msg);
    cJSON_Delete(a);
}

static void bound(struct wag_session *s, struct wag_board *b, struct bind_op *j)
{
    struct wag *w = s->w;
    struct wag_session *old = b->sess;
    cJSON *msg;

    b->sess = s;
    if (old == NULL)
        w->bound++;
    s->board = b;
    wag_session_set_state(s, WAG_S_BOUND);
    s->bound_at = wag_now(w);
    snprintf(b->lr_version, sizeof(b->lr_version), "%s", j->has_lr ? j->lr_version : "");
    b->no_req = j->has_lr && wag_lr_without_req(j->lr_version);
    if (old != NULL && old != s) {
        old->board = NULL; /* the board is s's now: old's end changes nothing */
        wag_session_goodbye(old, "wamp.close.session_replaced");
    }
    msg = success_message(w, j);
    wag_reply_wampmsg(s, j->request, WAMP_RESULT_SUCCESS, msg);
    cJSON_Delete(msg);
    log_info("board %s online session=%llu peer=%s authmethod=%s lr_version=%s", b->uuid,
             (unsigned long long)s->id, s->peer, j->cra ? "wampcra" : "anonymous",
             j->has_lr ? j->lr_version : "-");
    drop_elsewhere(w, j);
    wag_event_board(w, "board.online", b->uuid, w->cfg->hostname, j->session_text,
                    j->has_lr ? j->lr_version : NULL);
    wag_count_callee(w, "connection", "ok");
}

static void refused(struct wag_session *s, struct bind_op *j)
{
    char msg[128];

    switch (j->outcome) {
    case BIND_NOT_REGISTERED:
        snprintf(msg, sizeof(msg), "Board %s is not registered.", j->uuid);
        break;
    case BIND_AUTH:
        snprintf(msg, sizeof(msg), "Board %s requires authentication.", j->uuid);
        break;
    case BIND_OTHER:
        snprintf(msg, sizeof(msg), "Session already bound to another board.");
        break;
    default:
        log_warn("board %s: connection not recorded: %s", j->uuid, j->err.msg);
        snprintf(msg, sizeof(msg), "Cloud unavailable, retry later.");
        break;
    }
    log_info("session %llu peer=%s: connection for %s refused: %s", (unsigned long long)s->id,
             s->peer, j->uuid, msg);
    wag_count_callee(s->w, "connection", "refused");
    wag_reply_wampmsg_str(s, j->request, WAMP_RESULT_ERROR, msg);
}

static void bind_done(void *arg)
{
    struct bind_op *j = arg;
    struct wag *w = j->w;
    struct wag_board *b = j->op.board;
    struct wag_session *s = wag_session_get(w, j->session);

    if (s != NULL) {
        s->binding = 0;
        if (j->outcome == BIND_OK)
            bound(s, b, j);
        else
            refused(s, j);
        wag_session_rearm(s);
    } else if (j->outcome == BIND_OK) {
        /* The session ended while its binding was being written. */
        wag_board_unbind(w, b, j->session, j->has_lr ? j->lr_version : NULL);
    }
    free(j->connectivity);
    free(j);
    wag_board_op_done(b);
}

static void bind_start(struct wag_bop *op)
{
    struct bind_op *j = (struct bind_op *)op;

    if (wag_db_submit(j->w, bind_work, bind_done, j) < 0) {
        error_set(&j->err, -EAGAIN, "the worker queue is full");
        j->outcome = BIND_DB;
        bind_done(j);
    }
}

static void bind_discard(struct wag_bop *op)
{
    struct bind_op *j = (struct bind_op *)op;

    free(j->connectivity);
    free(j);
}

/* ------------------------------------------------------------ arguments */

/* Reads info into j: lr_version (string <= 20) and connectivity (object of
 * at most 4 KiB, or the original's mac_addr). 0 or -EINVAL. */
static int read_info(const cJSON *info, struct bind_op *j)
{
    const cJSON *lr, *conn, *mac;
    struct error err;
    cJSON *tmp = NULL;
    char *text;
    size_t n;

    if (info == NULL || cJSON_IsNull(info))
        return 0;
    if (!cJSON_IsObject(info))
        return -EINVAL;
    lr = cJSON_GetObjectItemCaseSensitive(info, "lr_version");
    if (cJSON_IsString(lr) && strlen(lr->valuestring) <= WAG_LR_VERSION_MAX) {
        snprintf(j->lr_version, sizeof(j->lr_version), "%s", lr->valuestring);
        j->has_lr = 1;
    } else if (lr != NULL && !cJSON_IsNull(lr)) {
        return -EINVAL;
    }
    conn = cJSON_GetObjectItemCaseSensitive(info, "connectivity");
    mac = cJSON_GetObjectItemCaseSensitive(info, "mac_addr");
    if (conn == NULL && cJSON_IsString(mac)) {
        tmp = cJSON_CreateObject();
        cJSON_AddStringToObject(tmp, "mac_addr", mac->valuestring);
        conn = tmp;
    }
    if (conn != NULL && !cJSON_IsNull(conn)) {
        if (!cJSON_IsObject(conn) || wamp_json_print(conn, 16, 0, &text, &n, &err) < 0) {
            cJSON_Delete(tmp);
            return -EINVAL;
        }
        if (n > CONNECTIVITY_MAX) {
            free(text);
            cJSON_Delete(tmp);
            return -EINVAL;
        }
        j->connectivity = text;
    }
    cJSON_Delete(tmp);
    return 0;
}

/* 0 and j filled from the call's arguments, or -EINVAL. */
static int read_args(struct wag_session *s, struct wamp_msg *m, struct bind_op *j)
{
    const cJSON *uuid = wag_arg(m, "uuid", 0), *sess = wag_arg(m, "session", 1);
    int64_t id;

    if (!cJSON_IsString(uuid) || uuid_normalize(uuid->valuestring, j->uuid) < 0)
        return -EINVAL;
    if (!json_int_value(sess, 1, (int64_t)WAMP_ID_MAX, &id) || (uint64_t)id != s->id)
        return -EINVAL;
    return read_info(wag_arg(m, "info", 2), j);
}

void wag_callee_connection(struct wag_session *s, struct wamp_msg *m)
{
    struct wag *w = s->w;
    struct bind_op *j = xcalloc(1, sizeof(*j));
    int rc;

    if (read_args(s, m, j) < 0) {
        free(j->connectivity);
        free(j);
        wag_count_callee(w, "connection", "invalid");
        wag_reply_wampmsg_str(s, m->request, WAMP_RESULT_ERROR, "Invalid connection request.");
        return;
    }
    if (s->binding || (rc = wag_inflight_add(s, m->request)) == -EBUSY) {
        free(j->connectivity);
        free(j);
        wag_reply_error(s, WAMP_CALL, m->request, "iotronic.error.busy",
                        "A connection is already being processed.");
        return;
    }
    if (s->state == WAG_S_BOUND && s->board != NULL && strcmp(s->board->uuid, j->uuid) == 0) {
        /* Already bound to this board: nothing to change. */
        cJSON *msg = success_message(w, j);

        wag_reply_wampmsg(s, m->request, WAMP_RESULT_SUCCESS, msg);
        cJSON_Delete(msg);
        free(j->connectivity);
        free(j);
        return;
    }
    j->w = w;
    j->session = s->id;
    j->request = m->request;
    snprintf(j->session_text, sizeof(j->session_text), "%" PRIu64, s->id);
    snprintf(j->peer, sizeof(j->peer), "%s", s->peer);
    snprintf(j->authid, sizeof(j->authid), "%s", s->authid);
    j->cra = s->authmethod == WAG_AUTH_WAMPCRA;
    j->allow_anonymous = w->cfg->allow_anonymous_boards;
    j->bound_other = s->state == WAG_S_BOUND;
    j->op.start = bind_start;
    j->op.discard = bind_discard;
    s->binding = 1;
    wag_session_rearm(s);
    wag_board_op(wag_board_get(w, j->uuid, 1), &j->op);
}

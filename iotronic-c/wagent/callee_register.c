/* wagent/callee_register.c: stack4things.register(code, session)
 * (board-protocol.md 5.1), answered only by a registration wagent.
 *
 * A code registers its board once. In one transaction, with the board's row
 * locked: the code must name a board and not be the one that last
 * registered it; the board's main wagent is chosen (the online wagent with
 * the fewest online boards, ties at random); a new 256-bit secret is made
 * and stored with the code; the board's valid session ends; the settings
 * document is stored in boards.config without the secret, and the board
 * assigned to its wagent, offline. The reply carries the document with the
 * secret: the only place the secret ever travels. A session that keeps
 * trying wrong codes is cut off after max_register_attempts. */
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
#include "wagent/settings.h"
#include "wamp/json_out.h"
#include "wamp/wampmsg.h"

#define CODE_MAX 36
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"

enum reg_outcome { REG_OK, REG_INVALID_CODE, REG_DB };

struct reg_job {
    struct wag *w;
    uint64_t session;
    uint64_t request;
    char code[CODE_MAX + 1];
    enum reg_outcome outcome;
    char uuid[UUID_STR_LEN];
    char prev_session[24];
    char prev_agent[WAG_HOST_MAX];
    int prev_agent_online;
    char *reply; /* the WampMessage text with the secret */
    struct error err;
};

static const struct db_stmt find_board = {
    "wag_reg_find",
    "SELECT b.id, b.uuid, c.registered_code, b.name, b.type, b.owner, b.project, b.fleet, "
    "b.mobile, b.lr_version, b.connectivity, b.extra, " ISO("b.created_at") ", " ISO(
        "now()") ", b.code, coalesce(b.agent, ''), coalesce(w.online, false) "
                 "FROM boards b LEFT JOIN board_credentials c ON c.board_uuid = b.uuid "
                 "LEFT JOIN wampagents w ON w.hostname = b.agent "
                 "WHERE b.code = $1 FOR UPDATE OF b",
    1,
};

/* The least loaded online wagent (5.1): wagent_load holds the exact count,
 * kept by the transactions that change boards (db/migrations/0006), so the
 * choice reads one row per wagent instead of every online board. */
static const struct db_stmt pick_agent = {
    "wag_reg_pick",
    "SELECT w.hostname, w.wsurl FROM wampagents w LEFT JOIN wagent_load l ON l.hostname = "
    "w.hostname WHERE w.online ORDER BY coalesce(l.boards_online, 0), random() LIMIT 1",
    0,
};

static const struct db_stmt first_location = {
    "wag_reg_location",
    "SELECT longitude, latitude, altitude, " ISO(
        "updated_at") " FROM locations WHERE board_id = $1::integer ORDER BY id LIMIT 1",
    1,
};

static const struct db_stmt store_secret = {
    "wag_reg_secret",
    "INSERT INTO board_credentials (board_uuid, secret, auth_required, registered_code, "
    "registered_at) VALUES ($1::uuid, $2, false, $3, now()) ON CONFLICT (board_uuid) DO UPDATE "
    "SET secret = EXCLUDED.secret, auth_required = false, registered_code = EXCLUDED."
    "registered_code, registered_at = now(), updated_at = now()",
    3,
};

static const struct db_stmt end_session = {
    "wag_reg_end_session",
    "UPDATE sessions SET valid = false, ended_at = now(), updated_at = now() "
    "WHERE board_uuid = $1::uuid AND valid RETURNING session_id",
    1,
};

static const struct db_stmt store_config = {
    "wag_reg_config",
    "UPDATE boards SET config = $2::jsonb, agent = $3, status = 'offline', updated_at = now() "
    "WHERE id = $1::integer",
    3,
};

static const char *col(PGresult *r, int row, int c)
{
    return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

/* Fills the document's board values from the locked row. */
static void from_row(struct wag_settings *st, PGresult *b)
{
    st->uuid = col(b, 0, 1);
    st->name = col(b, 0, 3);
    st->type = col(b, 0, 4);
    st->owner = col(b, 0, 5);
    st->project = col(b, 0, 6);
    st->fleet = col(b, 0, 7);
    st->mobile = col(b, 0, 8) != NULL && strcmp(col(b, 0, 8), "t") == 0;
    st->lr_version = col(b, 0, 9);
    st->connectivity_json = col(b, 0, 10);
    st->extra_json = col(b, 0, 11);
    st->created_at = col(b, 0, 12);
    st->updated_at = col(b, 0, 13);
    st->code = col(b, 0, 14);
}

/* Writes the document: the reply text (with the secret) into j, and the
 * stored copy (without it) into the board's row. */
static int store_document(struct db *db, struct reg_job *j, struct wag_settings *st,
                          const char *board_id, struct error *err)
{
    cJSON *doc = wag_settings_doc(st, 1), *stored = wag_settings_doc(st, 0);
    char *text = NULL;
    const char *p[3];
    size_t n;
    int rc;

    rc = wamp_wampmsg_text(WAMP_RESULT_SUCCESS, doc, NULL, WAMP_WAMPMSG_RESULT_FIRST, &j->reply, &n,
                           err);
    if (rc == 0)
        rc = wamp_json_print(stored, 32, 0, &text, &n, err);
    if (rc == 0) {
        p[0] = board_id;
        p[1] = text;
        p[2] = st->agent;
        rc = db_exec_stmt(db, &store_config, p, NULL, err);
    }
    free(text);
    cJSON_Delete(doc);
    cJSON_Delete(stored);
    return rc;
}

static int credentials(struct db *db, struct reg_job *j, struct wag_settings *st, char secret[48],
                       struct error *err)
{
    const char *p[3] = {j->uuid, secret, j->code};
    PGresult *res = NULL;
    int rc;

    rand_base64url(32, secret);
    st->secret = secret;
    if ((rc = db_exec_stmt(db, &store_secret, p, NULL, err)) < 0 ||
        (rc = db_exec_stmt(db, &end_session, p, &res, err)) < 0)
        return rc;
    if (PQntuples(res) > 0)
        snprintf(j->prev_session, sizeof(j->prev_session), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* Everything after the board row was found and locked. */
static int register_locked(struct db *db, struct reg_job *j, PGresult *b, struct error *err)
{
    const struct wag_conf *c = j->w->cfg;
    struct wag_settings st = {0};
    PGresult *agent = NULL, *loc = NULL;
    const char *p[1] = {PQgetvalue(b, 0, 0)};
    char secret[48];
    int rc;

    from_row(&st, b);
    st.realm = c->realm;
    st.registration_url = c->wamp_transport_url;
    st.agent = c->hostname;
    st.main_url = c->wamp_transport_url;
    if ((rc = db_exec_stmt(db, &pick_agent, NULL, &agent, err)) < 0 ||
        (rc = db_exec_stmt(db, &first_location, p, &loc, err)) < 0)
        goto out;
    if (PQntuples(agent) == 1) {
        st.agent = PQgetvalue(agent, 0, 0);
        st.main_url = PQgetvalue(agent, 0, 1);
    }
    if (PQntuples(loc) == 1) {
        st.longitude = col(loc, 0, 0);
        st.latitude = col(loc, 0, 1);
        st.altitude = col(loc, 0, 2);
        st.location_updated_at = col(loc, 0, 3);
    }
    rc = credentials(db, j, &st, secret, err);
    if (rc == 0)
        rc = store_document(db, j, &st, p[0], err);
out:
    explicit_bzero(secret, sizeof(secret));
    PQclear(agent);
    PQclear(loc);
    return rc;
}

static int register_tx(struct db *db, void *arg, struct error *err)
{
    struct reg_job *j = arg;
    const char *p[1] = {j->code};
    PGresult *b = NULL;
    int rc;

    free(j->reply); /* a retried transaction starts over */
    j->reply = NULL;
    j->prev_session[0] = '\0';
    if ((rc = db_exec_stmt(db, &find_board, p, &b, err)) < 0)
        return rc;
    if (PQntuples(b) != 1 || (col(b, 0, 2) != NULL && strcmp(col(b, 0, 2), j->code) == 0)) {
        j->outcome = REG_INVALID_CODE;
        PQclear(b);
        return 0;
    }
    j->outcome = REG_OK;
    snprintf(j->uuid, sizeof(j->uuid), "%s", PQgetvalue(b, 0, 1));
    snprintf(j->prev_agent, sizeof(j->prev_agent), "%s", PQgetvalue(b, 0, 15));
    j->prev_agent_online = strcmp(PQgetvalue(b, 0, 16), "t") == 0;
    rc = register_locked(db, j, b, err);
    PQclear(b);
    return rc;
}

static void register_work(void *arg, void *thread_ctx)
{
    struct reg_job *j = arg;

    if (thread_ctx == NULL || db_tx(thread_ctx, register_tx, j, &j->err) < 0)
        j->outcome = REG_DB;
}

/* ------------------------------------------------------------ on the loop */

/* The board's previous session is over: close it here, or ask its wagent. */
static void cut_off(struct wag *w, const struct reg_job *j)
{
    struct wag_board *b = wag_board_get(w, j->uuid, 0);
    char queue[WAG_QUEUE_MAX];
    struct error err;
    cJSON *a;

    if (b != NULL && b->sess != NULL) {
        wag_session_goodbye(b->sess, "wamp.close.session_replaced");
        return;
    }
    if (j->prev_session[0] == '\0' || !j->prev_agent_online || j->prev_agent[0] == '\0' ||
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

static void register_done(void *arg)
{
    struct reg_job *j = arg;
    struct wag_session *s = wag_session_get(j->w, j->session);

    if (j->outcome == REG_OK) {
        log_info("board %s registered with its code session=%llu", j->uuid,
                 (unsigned long long)j->session);
        wag_count_callee(j->w, "register", "ok");
        if (s != NULL)
            wag_reply_string(s, j->request, j->reply);
        cut_off(j->w, j);
    } else if (s != NULL && j->outcome == REG_INVALID_CODE) {
        s->register_failures++;
        wag_count_callee(j->w, "register", "refused");
        log_info("session %llu peer=%s: registration refused", (unsigned long long)s->id, s->peer);
        wag_reply_wampmsg_str(s, j->request, WAMP_RESULT_ERROR,
                              "Invalid or already used registration code.");
    } else if (s != NULL) {
        log_warn("registration not recorded: %s", j->err.msg);
        wag_reply_wampmsg_str(s, j->request, WAMP_RESULT_ERROR, "Cloud unavailable, retry later.");
    }
    if (j->reply != NULL)
        explicit_bzero(j->reply, strlen(j->reply));
    free(j->reply);
    free(j);
}

void wag_callee_register(struct wag_session *s, struct wamp_msg *m)
{
    const cJSON *code = wag_arg(m, "code", 0), *sess = wag_arg(m, "session", 1);
    struct reg_job *j;
    int64_t id;

    if (s->register_failures >= s->w->cfg->max_register_attempts) {
        wag_session_abort(s, "wamp.error.not_authorized", "Too many failed registration attempts.",
                          1000);
        return;
    }
    if (!cJSON_IsString(code) || code->valuestring[0] == '\0' ||
        strlen(code->valuestring) > CODE_MAX ||
        !json_int_value(sess, 1, (int64_t)WAMP_ID_MAX, &id) || (uint64_t)id != s->id) {
        s->register_failures++;
        wag_count_callee(s->w, "register", "invalid");
        wag_reply_wampmsg_str(s, m->request, WAMP_RESULT_ERROR, "Invalid registration request.");
        return;
    }
    if (wag_inflight_add(s, m->request) < 0) {
        wag_reply_error(s, WAMP_CALL, m->request, "iotronic.error.busy", NULL);
        return;
    }
    j = xcalloc(1, sizeof(*j));
    j->w = s->w;
    j->session = s->id;
    j->request = m->request;
    snprintf(j->code, sizeof(j->code), "%s", code->valuestring);
    if (wag_db_submit(s->w, register_work, register_done, j) < 0) {
        free(j);
        wag_reply_wampmsg_str(s, m->request, WAMP_RESULT_ERROR, "Cloud unavailable, retry later.");
    }
}

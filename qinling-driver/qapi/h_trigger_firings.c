/* qapi/h_trigger_firings.c: GET /v1/triggers/{id}/firings (deviceless-api.md
 * 3.7.2, 3.7.5).
 *
 * Firings are listed newest first (the exception to 1.6's order), by their
 * sequence number, which the source board hands out in increasing order;
 * limit is 1..1000 (default 100) and marker the id of the last firing seen.
 * Each firing carries its µs timestamps from both clocks and latency_ms
 * (actuated_at - sampled_at, 3 decimals), null until known. Worker threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/jsonw.h"
#include "db/row.h"
#include "qapi/call.h"
#include "qapi/handlers.h"
#include "qapi/triggers.h"
#include "qmodel/fault.h"
#include "qmodel/sql.h"
#include "qmodel/value.h"

QA_HANDLER(trigger_firings);

#define BODY_MAX (64u << 20)

static const struct db_stmt trigger_stmt = {
    "qa_firings_trigger",
    "SELECT 1 FROM triggers WHERE id = $1::uuid AND ($2::text IS NULL OR project_id = $2)",
    2,
};

/* Newest first; after the marker when there is one (the marker must be a
 * firing of this trigger, else the page is empty). */
static const struct db_stmt page_stmt = {
    "qa_firings_page",
    "SELECT f.id, f.trigger_id, f.firing_seq, f.board_id, f.value, f.previous, "
    "f.local, " QM_TS_US("f.sampled_at") ", " QM_TS_US("f.fired_at") ", " QM_TS_US(
        "f.received_at") ", "
                         "array_to_json(f.execution_ids), " QM_TS_US("f.executed_at") ", " QM_TS_US(
                             "f.actuated_at") ", f.latency_ms "
                                              "FROM "
                                              "trigger_firings "
                                              "f WHERE "
                                              "f.trigger_id = "
                                              "$1::uuid AND "
                                              "($2::uuid IS "
                                              "NULL OR "
                                              "f.firing_seq < "
                                              "(SELECT "
                                              "m.firing_seq "
                                              "FROM "
                                              "trigger_firings "
                                              "m WHERE m.id = "
                                              "$2::uuid AND "
                                              "m.trigger_id = "
                                              "$1::uuid)) ORDER "
                                              "BY "
                                              "f.firing_seq "
                                              "DESC LIMIT "
                                              "$3::int",
    3,
};

static const char *const cols[] = {
    "id",          "trigger_id", "firing_seq", "board_id",    "value",         "previous",
    "local",       "sampled_at", "fired_at",   "received_at", "execution_ids", "executed_at",
    "actuated_at", "latency_ms",
};

static void render(struct jw *w, const PGresult *res, int row)
{
    jw_obj_begin(w);
    for (int i = 0; i < (int)(sizeof(cols) / sizeof(cols[0])); i++) {
        const char *v = PQgetisnull(res, row, i) ? NULL : PQgetvalue(res, row, i);

        jw_key(w, cols[i]);
        if (v == NULL)
            jw_null(w);
        else if (i == 2 || i == 4 || i == 5 || i == 10 || i == 13) /* numbers, the array */
            jw_raw(w, v);
        else if (i == 6)
            jw_bool(w, v[0] == 't');
        else
            jw_str(w, v);
    }
    jw_obj_end(w);
}

/* limit and marker, the only parameters (1.6: anything else is refused). */
static int params(struct qa_call *c, int64_t *limit, char marker[UUID_STR_LEN])
{
    marker[0] = '\0';
    *limit = QA_FIRINGS_LIMIT;
    for (size_t i = 0; i < http_req_query_count(c->r); i++) {
        const struct http_kv *kv = http_req_query_at(c->r, i);

        if (strcmp(kv->name, "limit") == 0) {
            if (qm_parse_int(kv->value, limit) < 0 || *limit < 1 || *limit > QA_FIRINGS_MAX)
                return qa_fail(c, 400, "Invalid value %.64s for filter limit.", kv->value);
        } else if (strcmp(kv->name, "marker") == 0) {
            if (uuid_normalize(kv->value, marker) < 0)
                return qa_fail(c, 400, "Expected a uuid but received %.64s.", kv->value);
        } else {
            return qa_fail(c, 400, "Unknown argument: \"%.64s\"", kv->name);
        }
    }
    return 0;
}

static void respond(struct qa_call *c, const char *id, int64_t limit, PGresult *res)
{
    int n = PQntuples(res);
    struct buf body;
    struct jw w;

    buf_init(&body, BODY_MAX);
    jw_init(&w, &body, 1);
    jw_obj_begin(&w);
    jw_key(&w, "firings");
    jw_arr_begin(&w);
    for (int i = 0; i < n; i++)
        render(&w, res, i);
    jw_arr_end(&w);
    if (n > 0 && n == limit) {
        char next[1024];

        snprintf(next, sizeof(next), "%s/v1/triggers/%s/firings?limit=%lld&marker=%s", c->base, id,
                 (long long)limit, PQgetvalue(res, n - 1, 0));
        jw_key(&w, "next");
        jw_str(&w, next);
    }
    jw_obj_end(&w);
    if (jw_error(&w) < 0) {
        buf_free(&body);
        qa_fail(c, 500, "An unknown exception occurred.");
        return;
    }
    http_resp_body_take(c->r, 200, NULL, body.data, body.len);
}

QA_HANDLER(trigger_firings)
{
    char id[UUID_STR_LEN], marker[UUID_STR_LEN], lim[DB_INT_LEN];
    PGresult *res = NULL;
    struct qa_call c;
    int64_t limit;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        params(&c, &limit, marker) < 0 || qa_authorize(&c, "trigger:get", NULL) < 0)
        return;
    const char *t[2] = {id, qa_scope(&c)};
    if (qa_exec(&c, &trigger_stmt, t, &res) < 0)
        return;
    if (PQntuples(res) == 0) {
        PQclear(res);
        qa_fail(&c, 404, "Trigger not found [id=%s]", id);
        return;
    }
    PQclear(res);
    res = NULL;
    const char *p[3] = {id, marker[0] ? marker : NULL, db_param_int(lim, limit)};
    if (qa_exec(&c, &page_stmt, p, &res) == 0)
        respond(&c, id, limit, res);
    PQclear(res);
}

/* qapi/h_triggers.c: create, read, update and delete of /v1/triggers
 * (deviceless-api.md 3.7.1 - 3.7.3; the routes are in qapi/triggers.h).
 *
 * A definition is checked in the order of 1.9: the body's syntax (the
 * source by common/trigdef, the target by qmodel/trigger), the policy rule,
 * the lookups (the source board, the function or alias, the target's board
 * or fleet: 404), the source board's capabilities (the sensor or line must
 * exist: 400; capabilities not reported yet: 409) and the target's
 * eligibility (409, 3.3). Only then is the row written, with status
 * `installing` (the source board is online), `pending` (it is not) or
 * `disabled`, and the engine told to install the board's set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/trigdef.h"
#include "common/uuid.h"
#include "db/row.h"
#include "qapi/body.h"
#include "qapi/handlers.h"
#include "qapi/list.h"
#include "qapi/triggers.h"
#include "qmodel/fault.h"
#include "qmodel/sql.h"
#include "qmodel/fn.h"
#include "qmodel/target.h"
#include "qmodel/trigger.h"
#include "qmodel/value.h"

QA_HANDLER(triggers_list);
QA_HANDLER(trigger_create);
QA_HANDLER(trigger_get);
QA_HANDLER(trigger_update);
QA_HANDLER(trigger_delete);
QA_HANDLER(trigger_firings);

#define SEL_TRIGGER                                                                                \
    "t.id, t.name, t.description, t.source, t.target, t.enabled, t.status, t.status_reason, "      \
    "t.local, t.fire_count, " QM_TS_US("t.last_fired_at") ", t.project_id, " QM_TS(                \
        "t.created_at") ", " QM_TS("t.updated_at")

static const char *const trigger_cols[] = {
    "id",         "name",          "description", "source",     "target",        "enabled",
    "status",     "status_reason", "local",       "fire_count", "last_fired_at", "project_id",
    "created_at", "updated_at",
};

static void render(struct jw *w, const PGresult *res, int row, struct qa_call *c)
{
    (void)c;
    jw_obj_begin(w);
    for (int i = 0; i < (int)(sizeof(trigger_cols) / sizeof(trigger_cols[0])); i++) {
        const char *v = PQgetisnull(res, row, i) ? NULL : PQgetvalue(res, row, i);

        jw_key(w, trigger_cols[i]);
        if (v == NULL)
            jw_null(w);
        else if (i == 3 || i == 4 || i == 9) /* source, target (jsonb), fire_count */
            jw_raw(w, v);
        else if (i == 5 || i == 8) /* enabled, local */
            jw_bool(w, v[0] == 't');
        else
            jw_str(w, v);
    }
    jw_obj_end(w);
}

static const struct db_stmt get_stmt = {
    "qa_trigger_get",
    "SELECT " SEL_TRIGGER " FROM triggers t WHERE t.id = $1::uuid AND ($2::text IS NULL OR "
    "t.project_id = $2)",
    2,
};

static void answer(struct qa_call *c, const char *id, int status)
{
    const char *p[2] = {id, qa_scope(c)};
    PGresult *res = NULL;
    char nf[96];

    if (qa_exec(c, &get_stmt, p, &res) < 0)
        return;
    snprintf(nf, sizeof(nf), "Trigger not found [id=%s]", id);
    qa_answer_one(c, res, status, render, nf);
}

static const struct qm_filter_field filters[] = {
    {"status", "t.status", QM_F_STR},
    {"function_id", "t.function_id", QM_F_UUID},
    {"source_board_id", "t.source_board_id", QM_F_UUID},
};

QA_HANDLER(triggers_list)
{
    static const struct qa_list_spec spec = {
        "triggers",
        "SELECT " SEL_TRIGGER " FROM triggers t",
        "t",
        "triggers",
        filters,
        3,
        "trigger:get_all",
        "trigger:get_all:all_projects",
        0,
        0,
        render,
        NULL,
        NULL,
    };
    struct qa_call c;

    if (qa_call_init(r, &c) == 0)
        qa_list(&c, &spec);
}

QA_HANDLER(trigger_get)
{
    char id[UUID_STR_LEN];
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "trigger:get", NULL) < 0)
        return;
    answer(&c, id, 200);
}

/* ------------------------------------------------------ a definition */

enum { F_NAME, F_DESC, F_SOURCE, F_TARGET, F_ENABLED, F_N };

static const struct qa_field fields[] = {
    {"name", QA_T_STR, QA_F_NULL, NULL},
    {"description", QA_T_STR, QA_F_NULL, NULL},
    {"source", QA_T_JSON, 0, NULL},
    {"target", QA_T_JSON, 0, NULL},
    {"enabled", QA_T_BOOL, 0, NULL},
    {"id", QA_T_STR, QA_F_RO, NULL},
    {"status", QA_T_STR, QA_F_RO, NULL},
    {"status_reason", QA_T_STR, QA_F_RO, NULL},
    {"local", QA_T_BOOL, QA_F_RO, NULL},
    {"fire_count", QA_T_INT, QA_F_RO, NULL},
    {"last_fired_at", QA_T_STR, QA_F_RO, NULL},
    {"project_id", QA_T_STR, QA_F_RO, NULL},
    {"created_at", QA_T_STR, QA_F_RO, NULL},
    {"updated_at", QA_T_STR, QA_F_RO, NULL},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Everything a definition resolves to before it is stored. */
struct def {
    const cJSON *source, *target; /* the trees (borrowed or in owned) */
    cJSON *owned[2];
    struct trigdef_source src;
    struct qm_trig_target tgt;
    struct qm_board board; /* the source board, with its caps */
    struct qm_fn fn;
    int have_fn;
    struct qm_target resolved;
    int local;
};

static void def_clear(struct def *d)
{
    cJSON_Delete(d->owned[0]);
    cJSON_Delete(d->owned[1]);
    qm_board_clear(&d->board);
    if (d->have_fn)
        qm_fn_clear(&d->fn);
    memset(d, 0, sizeof(*d));
}

static int tree(struct qa_call *c, const struct qa_value *v, const char *name, const cJSON **out,
                cJSON **owned)
{
    if (qa_value_json(v, 1, out, owned) < 0 || !cJSON_IsObject(*out))
        return qa_fail(c, 400, "Invalid input, %s must be a JSON object.", name);
    return 0;
}

/* Syntax of both parts (step 3 of 1.9). */
static int syntax(struct qa_call *c, struct def *d)
{
    struct error err;

    if (trigdef_source_parse(d->source, &d->src, &err) < 0)
        return qa_fail(c, 400, "%s", err.msg);
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d->source, "board_id")))
        return qa_fail(c, 400, "Required param is missing. Required: source.board_id");
    if (qm_trig_target_parse(d->target, &d->tgt, &err) < 0)
        return qa_respond_error(c, &err);
    return 0;
}

static const struct db_stmt alias_stmt = {
    "qa_trigger_alias",
    "SELECT function_id, function_version FROM function_aliases WHERE name = $1 AND ($2::text "
    "IS NULL OR project_id = $2) ORDER BY (project_id = $3) DESC, created_at LIMIT 1",
    3,
};

static int load_function(struct qa_call *c, struct def *d)
{
    char fid[UUID_STR_LEN];
    int64_t version = d->tgt.version;
    struct error err;

    snprintf(fid, sizeof(fid), "%s", d->tgt.function_id);
    if (d->tgt.alias[0] != '\0') {
        const char *p[3] = {d->tgt.alias, qa_scope(c), c->project};
        PGresult *res = NULL;

        if (qa_exec(c, &alias_stmt, p, &res) < 0)
            return -1;
        if (PQntuples(res) == 0) {
            PQclear(res);
            return qa_fail(c, 404, "FunctionAlias not found [name=%.255s]", d->tgt.alias);
        }
        snprintf(fid, sizeof(fid), "%s", PQgetvalue(res, 0, 0));
        version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
    }
    if (qm_fn_load(c->db, fid, version, qa_scope(c), &d->fn, &err) < 0)
        return qa_respond_error(c, &err);
    d->have_fn = 1;
    return 0;
}

/* Lookups (404), then the capabilities (400/409) and eligibility (409). */
static int resolve(struct qa_call *c, struct def *d)
{
    const char *ref = cJSON_GetObjectItemCaseSensitive(d->source, "board_id")->valuestring;
    struct qm_target_req req;
    struct qm_plan plan;
    struct error err;

    if (qm_board_find(c->db, ref, qa_board_scope(c), &d->board, &err) < 0)
        return qa_respond_error(c, &err);
    if (load_function(c, d) < 0)
        return -1;
    req = qm_trig_target_req(&d->tgt);
    if (qm_target_resolve(c->db, &req, &d->fn, qa_board_scope(c), &d->resolved, &err) < 0 ||
        qm_trig_caps_check(&d->src, d->board.caps, d->board.uuid, &err) < 0 ||
        qm_target_plan(c->db, &d->fn, &d->resolved, &plan, &err) < 0)
        return qa_respond_error(c, &err);
    qm_plan_clear(&plan);
    d->local = d->resolved.fleet_id[0] == '\0' && strcmp(d->resolved.board_id, d->board.uuid) == 0;
    return 0;
}

/* Reads the body's source and target (the stored ones where the body has
 * none), and checks them. */
static int prepare(struct qa_call *c, const struct qa_value *v, const PGresult *cur, struct def *d)
{
    memset(d, 0, sizeof(*d));
    if (v[F_SOURCE].present && tree(c, &v[F_SOURCE], "source", &d->source, &d->owned[0]) < 0)
        return -1;
    if (v[F_TARGET].present && tree(c, &v[F_TARGET], "target", &d->target, &d->owned[1]) < 0)
        return -1;
    if (d->source == NULL && cur != NULL &&
        json_parse(PQgetvalue(cur, 0, 0), (size_t)PQgetlength(cur, 0, 0), &d->owned[0], NULL) == 0)
        d->source = d->owned[0];
    if (d->target == NULL && cur != NULL &&
        json_parse(PQgetvalue(cur, 0, 1), (size_t)PQgetlength(cur, 0, 1), &d->owned[1], NULL) == 0)
        d->target = d->owned[1];
    if (d->source == NULL)
        return qa_fail(c, 400, "Required param is missing. Required: source");
    if (d->target == NULL)
        return qa_fail(c, 400, "Required param is missing. Required: target");
    return syntax(c, d);
}

static int text_fields(struct qa_call *c, const struct qa_value *v)
{
    if (v[F_NAME].s != NULL && !qm_text_ok(v[F_NAME].s, QM_NAME_MAX))
        return qa_fail(c, 400, "Invalid value for name: at most 255 characters.");
    if (v[F_DESC].s != NULL && !qm_text_ok(v[F_DESC].s, QM_DESCRIPTION_MAX))
        return qa_fail(c, 400, "Invalid value for description: at most 255 characters.");
    return 0;
}

static const char *initial_status(int enabled, const struct qm_board *b)
{
    if (!enabled)
        return "disabled";
    return strcmp(b->status, "online") == 0 ? "installing" : "pending";
}

/* Announces a change of board's triggers to the engine: a persistent,
 * confirmed message on its trigger queue, declared first so that nothing is
 * lost while no engine runs. A failure is logged: the row is committed, and
 * the engine's reconciliation sends sets left `installing` (a deleted
 * trigger leaves the board with the next change or reconnect). */
static void tell(struct qa_call *c, const char *board)
{
    cJSON *args = cJSON_CreateObject();
    struct error err;

    cJSON_AddStringToObject(args, "board_id", board);
    if (mq_declare_queue(c->a->mq, QM_TRIGGERS_QUEUE, MQ_DURABLE, &err) < 0 ||
        mq_cast(c->a->mq, QM_TRIGGERS_QUEUE, QM_TRIGGER_SYNC, args, MQ_PERSISTENT | MQ_CONFIRM,
                &err) < 0)
        log_warn("engine not told of board %s's triggers: %s", board, err.msg);
    cJSON_Delete(args);
}

/* ------------------------------------------------------------ create */

static const struct db_stmt insert_stmt = {
    "qa_trigger_insert",
    "INSERT INTO triggers (id, name, description, source, source_board_id, target, function_id, "
    "function_alias, enabled, status, local, project_id) VALUES ($1::uuid, $2, $3, $4::jsonb, "
    "$5::uuid, $6::jsonb, $7::uuid, $8, $9::boolean, $10, $11::boolean, $12)",
    12,
};

/* The stored forms of the definition's two parts (new texts). */
static void stored(const struct def *d, char **source, char **target)
{
    cJSON *s = trigdef_source_json(&d->src, d->board.uuid);
    cJSON *t = qm_trig_target_json(&d->tgt, &d->resolved);

    *source = json_print(s);
    *target = json_print(t);
    cJSON_Delete(s);
    cJSON_Delete(t);
}

QA_HANDLER(trigger_create)
{
    struct qa_value v[NFIELDS];
    char id[UUID_STR_LEN], *src = NULL, *tgt = NULL;
    struct def d = {0};
    PGresult *res = NULL;
    struct qa_body b;
    struct qa_call c;
    int enabled;

    if (qa_call_init(r, &c) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, fields, NFIELDS, v) < 0 || text_fields(&c, v) < 0 ||
        prepare(&c, v, NULL, &d) < 0 || qa_authorize(&c, "trigger:create", NULL) < 0 ||
        resolve(&c, &d) < 0)
        goto out;
    enabled = v[F_ENABLED].present ? v[F_ENABLED].b : 1;
    uuid_v4(id);
    stored(&d, &src, &tgt);
    {
        const char *p[12] = {id,
                             v[F_NAME].s,
                             v[F_DESC].s,
                             src,
                             d.board.uuid,
                             tgt,
                             d.tgt.alias[0] ? NULL : d.fn.id,
                             d.tgt.alias[0] ? d.tgt.alias : NULL,
                             db_param_bool(enabled),
                             initial_status(enabled, &d.board),
                             db_param_bool(d.local),
                             d.fn.project};

        if (qa_exec(&c, &insert_stmt, p, &res) < 0)
            goto out;
    }
    tell(&c, d.board.uuid);
    answer(&c, id, 201);
out:
    PQclear(res);
    free(src);
    free(tgt);
    def_clear(&d);
    qa_body_free(&b);
}

/* ------------------------------------------------------------ update */

static const struct db_stmt current_stmt = {
    "qa_trigger_current",
    "SELECT source::text, target::text, name, description, enabled, source_board_id, status "
    "FROM triggers WHERE id = $1::uuid AND ($2::text IS NULL OR project_id = $2)",
    2,
};

/* Unchanged definitions keep their status; a change is installed again. */
static const struct db_stmt update_stmt = {
    "qa_trigger_update",
    "UPDATE triggers SET name = $2, description = $3, source = $4::jsonb, source_board_id = "
    "$5::uuid, target = $6::jsonb, function_id = $7::uuid, function_alias = $8, enabled = "
    "$9::boolean, status = CASE WHEN $13::boolean THEN $10 ELSE status END, status_reason = "
    "CASE WHEN $13::boolean THEN NULL ELSE status_reason END, local = $11::boolean, "
    "updated_at = now() WHERE id = $1::uuid AND project_id = $12",
    13,
};

static const char *keep(const struct qa_value *v, const PGresult *cur, int col)
{
    if (v->present)
        return v->s;
    return PQgetisnull(cur, 0, col) ? NULL : PQgetvalue(cur, 0, col);
}

static void store_update(struct qa_call *c, const char *id, const struct qa_value *v,
                         const PGresult *cur, const struct def *d)
{
    int enabled = v[F_ENABLED].present ? v[F_ENABLED].b : PQgetvalue(cur, 0, 4)[0] == 't';
    int changed =
        v[F_SOURCE].present || v[F_TARGET].present || enabled != (PQgetvalue(cur, 0, 4)[0] == 't');
    char *src = NULL, *tgt = NULL;
    PGresult *res = NULL;

    stored(d, &src, &tgt);
    const char *p[13] = {id,
                         keep(&v[F_NAME], cur, 2),
                         keep(&v[F_DESC], cur, 3),
                         src,
                         d->board.uuid,
                         tgt,
                         d->tgt.alias[0] ? NULL : d->fn.id,
                         d->tgt.alias[0] ? d->tgt.alias : NULL,
                         db_param_bool(enabled),
                         initial_status(enabled, &d->board),
                         db_param_bool(d->local),
                         d->fn.project,
                         db_param_bool(changed)};
    if (qa_exec(c, &update_stmt, p, &res) == 0) {
        if (db_affected(res) == 0) {
            qa_fail(c, 404, "Trigger not found [id=%s]", id);
        } else {
            /* Both the old and the new source board get their sets. */
            if (strcmp(PQgetvalue(cur, 0, 5), d->board.uuid) != 0)
                tell(c, PQgetvalue(cur, 0, 5));
            tell(c, d->board.uuid);
            answer(c, id, 200);
        }
    }
    PQclear(res);
    free(src);
    free(tgt);
}

QA_HANDLER(trigger_update)
{
    struct qa_value v[NFIELDS];
    char id[UUID_STR_LEN];
    struct def d = {0};
    PGresult *cur = NULL;
    struct qa_body b;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, fields, NFIELDS, v) < 0 || text_fields(&c, v) < 0 ||
        qa_authorize(&c, "trigger:update", NULL) < 0)
        goto out;
    const char *q[2] = {id, qa_scope(&c)};
    if (qa_exec(&c, &current_stmt, q, &cur) < 0)
        goto out;
    if (PQntuples(cur) == 0) {
        qa_fail(&c, 404, "Trigger not found [id=%s]", id);
        goto out;
    }
    if (prepare(&c, v, cur, &d) < 0 || resolve(&c, &d) < 0)
        goto out;
    store_update(&c, id, v, cur, &d);
out:
    def_clear(&d);
    PQclear(cur);
    qa_body_free(&b);
}

/* ------------------------------------------------------------ delete */

static const struct db_stmt delete_stmt = {
    "qa_trigger_delete",
    "DELETE FROM triggers WHERE id = $1::uuid AND ($2::text IS NULL OR project_id = $2) "
    "RETURNING source_board_id",
    2,
};

QA_HANDLER(trigger_delete)
{
    char id[UUID_STR_LEN];
    PGresult *res = NULL;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "trigger:delete", NULL) < 0)
        return;
    const char *p[2] = {id, qa_scope(&c)};
    if (qa_exec(&c, &delete_stmt, p, &res) < 0)
        return;
    if (PQntuples(res) == 0) {
        qa_fail(&c, 404, "Trigger not found [id=%s]", id);
    } else {
        /* Removed from the board at once, or when it reconnects (3.7.2). */
        tell(&c, PQgetvalue(res, 0, 0));
        http_resp_empty(r, 204);
    }
    PQclear(res);
}

#define R(m, pat, h)                                                                               \
    {                                                                                              \
        HTTP_##m, pat, qa_h_##h, 0, 0, NULL, NULL                                                  \
    }

const struct http_route qa_trigger_routes[QA_TRIGGER_NROUTES] = {
    R(GET, "/v1/triggers", triggers_list),
    R(POST, "/v1/triggers", trigger_create),
    R(GET, "/v1/triggers/{id}", trigger_get),
    R(PUT, "/v1/triggers/{id}", trigger_update),
    R(DELETE, "/v1/triggers/{id}", trigger_delete),
    R(GET, "/v1/triggers/{id}/firings", trigger_firings),
};

/* conductor/h_board.c: board_create, board_update, board_delete and
 * board_action (iotronic-api-v1.md 2.2). Uniqueness of names (per project)
 * and codes (global) is the database's (5.3): a pre-check only decides which
 * 409 comes first, the constraints decide races. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/fault.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "conductor/handlers.h"
#include "conductor/rpc.h"

struct board_in {
    const struct cond_caller *who;
    char uuid[UUID_STR_LEN];
    const char *name, *code, *type, *fleet;
    int has_name, has_code, has_type, has_fleet, has_mobile, has_extra, has_location;
    int mobile;
    char *extra;
    const char *lat, *lon, *alt;
};

static const struct db_stmt name_taken = {
    "cond_board_name_taken",
    "SELECT 1 FROM boards WHERE project IS NOT DISTINCT FROM $1 AND name = $2 AND "
    "uuid <> $3::uuid",
    3,
};

static const struct db_stmt board_insert = {
    "cond_board_insert",
    "WITH b AS (INSERT INTO boards (uuid, code, status, name, type, owner, project, fleet, "
    "mobile, extra) VALUES ($1::uuid, $2, 'registered', $3, $4, $5, $6, $7::uuid, $8::boolean, "
    "coalesce($9::jsonb, '{}')) RETURNING id) "
    "INSERT INTO locations (board_id, latitude, longitude, altitude) "
    "SELECT id, $10, $11, $12 FROM b",
    12,
};

static const struct db_stmt board_done = {
    "cond_board_done",
    "SELECT 1 FROM boards WHERE uuid = $1::uuid AND name = $2 AND code = $3 AND "
    "project IS NOT DISTINCT FROM $4",
    4,
};

static const struct db_stmt board_update = {
    "cond_board_update",
    "UPDATE boards SET name = CASE WHEN $2::boolean THEN $3 ELSE name END, "
    "code = CASE WHEN $4::boolean THEN $5 ELSE code END, "
    "type = CASE WHEN $6::boolean THEN $7 ELSE type END, "
    "mobile = CASE WHEN $8::boolean THEN $9::boolean ELSE mobile END, "
    "fleet = CASE WHEN $10::boolean THEN $11::uuid ELSE fleet END, "
    "extra = CASE WHEN $12::boolean THEN $13::jsonb ELSE extra END, updated_at = now() "
    "WHERE uuid = $1::uuid RETURNING id",
    13,
};

static const struct db_stmt location_update = {
    "cond_location_update",
    "WITH u AS (UPDATE locations SET latitude = $2, longitude = $3, altitude = $4, "
    "updated_at = now() WHERE id = (SELECT min(l.id) FROM locations l JOIN boards b ON "
    "b.id = l.board_id WHERE b.uuid = $1::uuid) RETURNING 1) "
    "INSERT INTO locations (board_id, latitude, longitude, altitude) "
    "SELECT id, $2, $3, $4 FROM boards WHERE uuid = $1::uuid AND NOT EXISTS (SELECT 1 FROM u)",
    4,
};

static const struct db_stmt board_delete = {
    "cond_board_delete",
    "DELETE FROM boards WHERE uuid = $1::uuid",
    1,
};

static const struct db_stmt board_project = {
    "cond_board_project",
    "SELECT project FROM boards WHERE uuid = $1::uuid",
    1,
};

/* The contract's 409/404 for a failed write of a board. */
static int board_write_fail(struct db *db, int rc, const struct board_in *in, struct error *err)
{
    const char *con = db_last_constraint(db);

    if (rc == -EEXIST && strcmp(con, "boards_project_name_key") == 0)
        return api_fail(err, 409, "A board with %s is already associated to another board.",
                        in->name);
    if (rc == -EEXIST && strcmp(con, "boards_code_key") == 0)
        return api_fail(err, 409, "A board with code %s already exists.", in->code);
    if (rc == -EEXIST)
        return api_fail(err, 409, "A board with UUID %s already exists.", in->uuid);
    if (rc == -EBUSY && strcmp(con, "boards_fleet_fkey") == 0)
        return api_fail(err, 404, "Fleet %s could not be found.", in->fleet);
    return cond_db_fail(rc, err);
}

static int check_name(struct db *db, const char *project, const struct board_in *in,
                      struct error *err)
{
    const char *p[3] = {project, in->name, in->uuid};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &name_taken, p, &res, err), n;

    if (rc < 0)
        return board_write_fail(db, rc, in, err);
    n = PQntuples(res);
    PQclear(res);
    if (n > 0)
        return api_fail(err, 409, "A board with %s is already associated to another board.",
                        in->name);
    return 0;
}

static int create_tx(struct db *db, void *arg, struct error *err)
{
    struct board_in *in = arg;
    const char *p[12] = {in->uuid,         in->code,
                         in->name,         in->type,
                         in->who->user_id, in->who->project_id,
                         in->fleet,        db_param_bool(in->mobile),
                         in->extra,        in->lat,
                         in->lon,          in->alt};
    int rc = check_name(db, in->who->project_id, in, err);

    if (rc < 0)
        return rc;
    rc = db_exec_stmt(db, &board_insert, p, NULL, err);
    return rc < 0 ? board_write_fail(db, rc, in, err) : 0;
}

/* Reads the board object of board_create / the changes of board_update. */
static int board_in_parse(const cJSON *o, struct board_in *in, struct error *err)
{
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(o, "location");
    const char *u = NULL;
    int rc = 0;

    in->has_name = cond_opt_str(o, "name", &in->name, err);
    in->has_code = cond_opt_str(o, "code", &in->code, err);
    in->has_type = cond_opt_str(o, "type", &in->type, err);
    in->has_fleet = cond_opt_str(o, "fleet", &in->fleet, err);
    in->has_mobile = cond_opt_bool(o, "mobile", &in->mobile, err);
    in->has_extra = cond_opt_json(o, "extra", &in->extra, err);
    if (in->has_name < 0 || in->has_code < 0 || in->has_type < 0 || in->has_fleet < 0 ||
        in->has_mobile < 0 || in->has_extra < 0)
        return -EINVAL;
    if (cond_opt_str(o, "uuid", &u, err) == 1 && u != NULL)
        rc = uuid_normalize(u, in->uuid) == 0 ? 0 : api_fail(err, 400, "bad uuid");
    if (cJSON_IsObject(loc)) {
        in->has_location = 1;
        if (cond_opt_str(loc, "latitude", &in->lat, err) < 0 ||
            cond_opt_str(loc, "longitude", &in->lon, err) < 0 ||
            cond_opt_str(loc, "altitude", &in->alt, err) < 0)
            return -EINVAL;
    }
    return rc;
}

void cond_h_board_create(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct db *db = mq_req_worker_ctx(req);
    struct cond_caller who;
    struct board_in in = {0};
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(args, "board");
    struct error err = {0};
    cJSON *out;
    int rc;

    (void)ctx;
    rc = cond_caller_get(args, &who, &err);
    if (rc == 0 && !cJSON_IsObject(b))
        rc = api_fail(&err, 400, "board is required");
    in.who = &who;
    if (rc == 0)
        rc = board_in_parse(b, &in, &err);
    if (rc == 0 && (in.name == NULL || in.code == NULL))
        rc = api_fail(&err, 400, "name and code are required");
    if (rc == 0 && in.uuid[0] == '\0')
        uuid_v4(in.uuid);
    if (rc == 0) {
        const char *probe[4] = {in.uuid, in.name, in.code, who.project_id};

        if (!cond_redelivered_done(req, db, &board_done, probe))
            rc = db_tx(db, create_tx, &in, &err);
    }
    free(in.extra);
    if (rc < 0) {
        cond_reply_error(req, &err, NULL);
        return;
    }
    log_info("board %s created name=%s", in.uuid, in.name);
    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "uuid", in.uuid);
    mq_reply(req, out);
}

static int update_tx(struct db *db, void *arg, struct error *err)
{
    struct board_in *in = arg;
    const char *p[13] = {in->uuid,
                         db_param_bool(in->has_name),
                         in->name,
                         db_param_bool(in->has_code),
                         in->code,
                         db_param_bool(in->has_type),
                         in->type,
                         db_param_bool(in->has_mobile),
                         db_param_bool(in->mobile),
                         db_param_bool(in->has_fleet),
                         in->fleet,
                         db_param_bool(in->has_extra),
                         in->extra};
    const char *lp[4] = {in->uuid, in->lat, in->lon, in->alt};
    PGresult *res = NULL;
    int rc;

    if (in->has_name) {
        rc = db_exec_stmt(db, &board_project, p, &res, err);
        if (rc < 0)
            return board_write_fail(db, rc, in, err);
        rc = 0;
        if (PQntuples(res) > 0)
            rc = check_name(db, PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0), in, err);
        PQclear(res);
        if (rc < 0)
            return rc;
    }
    if (in->has_name || in->has_code || in->has_type || in->has_mobile || in->has_fleet ||
        in->has_extra) {
        rc = db_exec_stmt(db, &board_update, p, &res, err);
        if (rc < 0)
            return board_write_fail(db, rc, in, err);
        rc = PQntuples(res);
        PQclear(res);
        if (rc == 0)
            return api_fail(err, 404, "Board %s could not be found.", in->uuid);
    }
    if (in->has_location) {
        rc = db_exec_stmt(db, &location_update, lp, NULL, err);
        if (rc < 0)
            return board_write_fail(db, rc, in, err);
    }
    return 0;
}

void cond_h_board_update(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct db *db = mq_req_worker_ctx(req);
    struct cond_caller who;
    struct board_in in = {0};
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(args, "changes");
    struct error err = {0};
    cJSON *out;
    int rc;

    (void)ctx;
    rc = cond_caller_get(args, &who, &err);
    in.who = &who;
    if (rc == 0)
        rc = cond_arg_uuid(args, "uuid", in.uuid, &err);
    if (rc == 0 && !cJSON_IsObject(ch))
        rc = api_fail(&err, 400, "changes is required");
    if (rc == 0) {
        char keep[UUID_STR_LEN];

        memcpy(keep, in.uuid, sizeof(keep));
        rc = board_in_parse(ch, &in, &err);
        memcpy(in.uuid, keep, sizeof(keep)); /* changes never carry the uuid */
    }
    if (rc == 0)
        rc = db_tx(db, update_tx, &in, &err);
    free(in.extra);
    if (rc < 0) {
        cond_reply_error(req, &err, NULL);
        return;
    }
    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "uuid", in.uuid);
    mq_reply(req, out);
}

/* Tells the board's wagent to drop its session and tunnels (best effort). */
static void close_on_agent(struct cond *c, const struct cond_board *b)
{
    char queue[300];
    cJSON *a;
    struct error err;

    if (b->agent[0] == '\0')
        return;
    snprintf(queue, sizeof(queue), COND_WAGENT_QUEUE_PREFIX "%s", b->agent);
    a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "board_uuid", b->uuid);
    if (mq_cast(c->mq, queue, "close_board", a, 0, &err) < 0)
        log_warn("close_board %s on %s: %s", b->uuid, b->agent, err.msg);
    cJSON_Delete(a);
}

void cond_h_board_delete(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct cond *c = ctx;
    struct db *db = mq_req_worker_ctx(req);
    struct cond_board b;
    struct cond_call_result r = {0};
    char uuid[UUID_STR_LEN], request[UUID_STR_LEN] = "";
    const char *p[1] = {uuid};
    cJSON *o;
    struct error err = {0}, cerr;
    int rc;

    rc = cond_arg_uuid(args, "uuid", uuid, &err);
    if (rc == 0)
        rc = cond_board_load(db, uuid, &b, &err);
    if (rc == 0 && strcmp(b.status, "online") == 0) {
        /* The deletion goes ahead whatever the board answers [fix]. */
        if (cond_board_call(c, db, &b, "DeviceFactoryReset", cJSON_CreateArray(), NULL, &r, &cerr) <
            0)
            log_warn("board %s: factory reset failed: %s", uuid, cerr.msg);
        memcpy(request, r.request, sizeof(request));
        cond_call_result_free(&r);
    }
    if (rc == 0) {
        rc = db_exec_stmt(db, &board_delete, p, NULL, &err);
        if (rc < 0)
            rc = cond_db_fail(rc, &err);
    }
    if (rc < 0) {
        cond_reply_error(req, &err, NULL);
        return;
    }
    close_on_agent(c, &b);
    log_info("board %s deleted", uuid);
    o = cJSON_CreateObject();
    if (request[0] != '\0')
        cJSON_AddStringToObject(o, "request", request);
    mq_reply(req, o);
}

void cond_h_board_action(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct cond *c = ctx;
    struct db *db = mq_req_worker_ctx(req);
    struct cond_board b;
    struct cond_call_result r = {0};
    char uuid[UUID_STR_LEN];
    const char *action = NULL;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(args, "parameters");
    struct error err = {0};
    cJSON *call;
    int rc;

    rc = cond_arg_uuid(args, "uuid", uuid, &err);
    if (rc == 0 && json_get_str(args, "action", JSON_REQUIRED, 64, &action, &err) < 0)
        rc = api_fail(&err, 400, "Action is not specified.");
    if (rc == 0)
        rc = cond_board_load(db, uuid, &b, &err);
    if (rc == 0) {
        call = cJSON_CreateArray();
        cJSON_AddItemToArray(call, json_dup_or_object(cJSON_IsObject(params) ? params : NULL));
        rc = cond_board_call(c, db, &b, action, call, NULL, &r, &err);
    }
    cond_reply_call(req, rc, &r, &err);
}

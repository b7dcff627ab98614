/* conductor/h_service.c: services (iotronic-api-v1.md 2.8) and services on
 * boards (2.4) with collision-free public ports (2.14.4): a random candidate
 * in [service_port_min, service_port_max], the UNIQUE (public_port)
 * constraint deciding races between conductors, a bounded number of retries,
 * then one scan for any free port before 409 "No ports available". The row is
 * inserted before the board is called (the board needs the port and the
 * wagent's tunnel allowlist is these rows) and deleted if the call fails. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/fault.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "conductor/handlers.h"
#include "db/row.h"

#define PORT_RANDOM_TRIES 16
#define PORT_SCAN_TRIES 16

/* A create redelivered after its first delivery committed (cond.h). */
static const struct db_stmt service_done = {
    "cond_service_done",
    "SELECT 1 FROM services WHERE uuid = $1::uuid AND name = $2 AND project IS NOT DISTINCT FROM "
    "$3",
    3,
};

static const struct db_stmt service_insert = {
    "cond_service_insert",
    "INSERT INTO services (uuid, name, project, owner, port, protocol, extra) VALUES "
    "($1::uuid, $2, $3, $4, $5::integer, $6, coalesce($7::jsonb, '{}'))",
    7,
};

static const struct db_stmt service_update = {
    "cond_service_update",
    "UPDATE services SET name = CASE WHEN $2::boolean THEN $3 ELSE name END, "
    "port = CASE WHEN $4::boolean THEN $5::integer ELSE port END, "
    "protocol = CASE WHEN $6::boolean THEN $7 ELSE protocol END, "
    "extra = CASE WHEN $8::boolean THEN $9::jsonb ELSE extra END, updated_at = now() "
    "WHERE uuid = $1::uuid",
    9,
};

static const struct db_stmt service_delete = {
    "cond_service_delete",
    "DELETE FROM services WHERE uuid = $1::uuid",
    1,
};

static const struct db_stmt service_get = {
    "cond_service_get",
    "SELECT uuid, name, project, port, protocol, extra::text, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') "
    "FROM services WHERE uuid = $1::uuid",
    1,
};

static const struct db_stmt exposed_get = {
    "cond_exposed_get",
    "SELECT public_port FROM exposed_services WHERE board_uuid = $1::uuid AND "
    "service_uuid = $2::uuid",
    2,
};

static const struct db_stmt exposed_list = {
    "cond_exposed_list",
    "SELECT service_uuid, public_port FROM exposed_services WHERE board_uuid = $1::uuid "
    "ORDER BY id",
    1,
};

static const struct db_stmt exposed_insert = {
    "cond_exposed_insert",
    "INSERT INTO exposed_services (board_uuid, service_uuid, public_port) VALUES "
    "($1::uuid, $2::uuid, $3::integer)",
    3,
};

static const struct db_stmt exposed_delete = {
    "cond_exposed_delete",
    "DELETE FROM exposed_services WHERE board_uuid = $1::uuid AND service_uuid = $2::uuid",
    2,
};

/* The first free port at or after a random start, wrapping around. */
static const struct db_stmt free_port_scan = {
    "cond_free_port_scan",
    "SELECT p FROM generate_series($1::integer, $2::integer) p WHERE NOT EXISTS "
    "(SELECT 1 FROM exposed_services e WHERE e.public_port = p) "
    "ORDER BY (p - $3::integer + ($2::integer - $1::integer + 1)) % "
    "($2::integer - $1::integer + 1) LIMIT 1",
    3,
};

struct service_in {
    char uuid[UUID_STR_LEN];
    const char *name, *protocol;
    int has_name, has_port, has_protocol, has_extra;
    int64_t port;
    char *extra;
};

static int service_in_parse(const cJSON *o, struct service_in *in, struct error *err)
{
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(o, "port");

    in->has_name = cond_opt_str(o, "name", &in->name, err);
    in->has_protocol = cond_opt_str(o, "protocol", &in->protocol, err);
    in->has_extra = cond_opt_json(o, "extra", &in->extra, err);
    if (in->has_name < 0 || in->has_protocol < 0 || in->has_extra < 0)
        return -EINVAL;
    if (port != NULL) {
        if (!json_int_value(port, 1, 65535, &in->port))
            return api_fail(err, 400, "port must be an integer in 1..65535");
        in->has_port = 1;
    }
    return 0;
}

void cond_h_service_create(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct db *db = mq_req_worker_ctx(req);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(args, "service");
    struct service_in in = {0};
    struct cond_caller who;
    struct error err = {0};
    char port[DB_INT_LEN];
    const char *u = NULL;
    int rc;

    (void)ctx;
    rc = cond_caller_get(args, &who, &err);
    if (rc == 0 && !cJSON_IsObject(o))
        rc = api_fail(&err, 400, "service is required");
    if (rc == 0)
        rc = service_in_parse(o, &in, &err);
    if (rc == 0 && (!in.name || !in.has_port || !in.protocol))
        rc = api_fail(&err, 400, "name, port and protocol are required");
    if (rc == 0 && cond_opt_str(o, "uuid", &u, &err) == 1 && u && uuid_normalize(u, in.uuid))
        rc = api_fail(&err, 400, "Expected a uuid but received %s.", u);
    if (rc == 0 && in.uuid[0] == '\0')
        uuid_v4(in.uuid);
    if (rc == 0) {
        const char *p[7] = {
            in.uuid,     in.name, who.project_id, who.user_id, db_param_int(port, in.port),
            in.protocol, in.extra};

        rc = cond_redelivered_done(req, db, &service_done, p)
                 ? 0
                 : db_exec_stmt(db, &service_insert, p, NULL, &err);
        if (rc == -EEXIST)
            rc = api_fail(&err, 409, "A Service with UUID %s already exists.", in.uuid);
        else if (rc < 0)
            rc = cond_db_fail(rc, &err);
    }
    free(in.extra);
    cond_reply_uuid(req, rc, in.uuid, &err);
}

void cond_h_service_update(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct db *db = mq_req_worker_ctx(req);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(args, "changes");
    struct service_in in = {0};
    struct error err = {0};
    char port[DB_INT_LEN];
    int rc;

    (void)ctx;
    rc = cond_arg_uuid(args, "uuid", in.uuid, &err);
    if (rc == 0 && !cJSON_IsObject(o))
        rc = api_fail(&err, 400, "changes is required");
    if (rc == 0)
        rc = service_in_parse(o, &in, &err);
    if (rc == 0 && (in.has_name || in.has_port || in.has_protocol || in.has_extra)) {
        const char *p[9] = {in.uuid,
                            db_param_bool(in.has_name),
                            in.name,
                            db_param_bool(in.has_port),
                            db_param_int(port, in.port),
                            db_param_bool(in.has_protocol),
                            in.protocol,
                            db_param_bool(in.has_extra),
                            in.extra};

        rc = cond_update_one(db, &service_update, p, "Service", &err);
    }
    free(in.extra);
    cond_reply_uuid(req, rc, in.uuid, &err);
}

void cond_h_service_delete(struct mq_req *req, const cJSON *args, void *ctx)
{
    (void)ctx;
    cond_delete_one(req, args, &service_delete, "Service", "exposed");
}

/* The service object sent to boards (2.4). */
static int service_object(struct db *db, const char *uuid, cJSON **out, struct error *err)
{
    const char *p[1] = {uuid};
    PGresult *res = NULL;
    cJSON *o, *j;
    int64_t port = 0;
    int rc = db_exec_stmt(db, &service_get, p, &res, err);

    if (rc < 0)
        return cond_db_fail(rc, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return api_fail(err, 404, "Service %s could not be found.", uuid);
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "uuid", PQgetvalue(res, 0, 0));
    cJSON_AddStringToObject(o, "name", PQgetvalue(res, 0, 1));
    json_add_str_or_null(o, "project", db_getstr(res, 0, 2));
    if (db_getint(res, 0, 3, 1, 65535, &port, err) < 0)
        port = 0;
    json_add_int(o, "port", port);
    cJSON_AddStringToObject(o, "protocol", PQgetvalue(res, 0, 4));
    j = cJSON_Parse(PQgetvalue(res, 0, 5));
    cJSON_AddItemToObject(o, "extra", j ? j : cJSON_CreateObject());
    json_add_str_or_null(o, "created_at", db_getstr(res, 0, 6));
    json_add_str_or_null(o, "updated_at", db_getstr(res, 0, 7));
    PQclear(res);
    *out = o;
    return 0;
}

/* Tries one candidate port: 0 inserted, -EEXIST taken by someone else
 * (retry), or the final failure (this board already exposes the service,
 * the service vanished, the database). */
static int try_port(struct db *db, const char *board, const char *service, int64_t port,
                    struct error *err)
{
    char pb[DB_INT_LEN];
    const char *p[3] = {board, service, db_param_int(pb, port)};
    int rc = db_exec_stmt(db, &exposed_insert, p, NULL, err);

    if (rc == -EEXIST && strcmp(db_last_constraint(db), "exposed_services_public_port_key") == 0)
        return -EEXIST;
    if (rc == -EEXIST)
        return api_fail(err, 409, "A Service with UUID %s already exposed.", service);
    if (rc == -EBUSY)
        return api_fail(err, 404, "Service %s could not be found.", service);
    return rc < 0 ? cond_db_fail(rc, err) : 0;
}

/* Inserts the exposed_services row with a free public port (2.14.4): random
 * candidates first (cheap while the range is sparse), then scans for a free
 * port after a random start; a port another conductor took in between just
 * means one more (bounded) attempt. */
static int allocate_port(struct cond *c, struct db *db, const char *board, const char *service,
                         int64_t *port, struct error *err)
{
    int64_t lo = c->cfg.port_min, hi = c->cfg.port_max;
    char lob[DB_INT_LEN], hib[DB_INT_LEN], startb[DB_INT_LEN];
    PGresult *res = NULL;
    int rc;

    for (int i = 0; i < PORT_RANDOM_TRIES; i++) {
        *port = lo + (int64_t)rand_below((uint64_t)(hi - lo + 1));
        rc = try_port(db, board, service, *port, err);
        if (rc != -EEXIST)
            return rc;
    }
    for (int i = 0; i < PORT_SCAN_TRIES; i++) {
        const char *q[3] = {
            db_param_int(lob, lo), db_param_int(hib, hi),
            db_param_int(startb, lo + (int64_t)rand_below((uint64_t)(hi - lo + 1)))};

        rc = db_exec_stmt(db, &free_port_scan, q, &res, err);
        if (rc < 0)
            return cond_db_fail(rc, err);
        if (PQntuples(res) == 0) {
            PQclear(res);
            return api_fail(err, 409, "No ports available");
        }
        *port = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        rc = try_port(db, board, service, *port, err);
        if (rc != -EEXIST)
            return rc;
    }
    return api_fail(err, 409, "No ports available");
}

static int exposed_port(struct db *db, const char *board, const char *service, int64_t *port,
                        struct error *err)
{
    const char *p[2] = {board, service};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &exposed_get, p, &res, err);

    if (rc < 0)
        return cond_db_fail(rc, err);
    rc = PQntuples(res) ? 1 : 0;
    if (rc)
        *port = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

static cJSON *call_args(cJSON *service, int64_t port)
{
    cJSON *a = cJSON_CreateArray();

    cJSON_AddItemToArray(a, service);
    if (port > 0)
        cJSON_AddItemToArray(a, json_create_int(port));
    return a;
}

static int do_enable(struct cond *c, struct db *db, const struct cond_board *b, const char *suuid,
                     cJSON *svc, struct cond_call_result *r, struct error *err)
{
    const char *p[2] = {b->uuid, suuid};
    struct error derr;
    int64_t port = 0;
    int rc;

    if (strcmp(b->status, "online") != 0)
        return api_fail(err, 400, "Board %s is not connected.", b->uuid);
    rc = exposed_port(db, b->uuid, suuid, &port, err);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return api_fail(err, 409, "A Service with UUID %s already exposed.", suuid);
    rc = allocate_port(c, db, b->uuid, suuid, &port, err);
    if (rc < 0)
        return rc;
    rc = cond_board_call(c, db, b, "ServiceEnable", call_args(cJSON_Duplicate(svc, 1), port), NULL,
                         r, err);
    if (rc < 0 && db_exec_stmt(db, &exposed_delete, p, NULL, &derr) < 0)
        log_error("cannot free public port %lld of %s: %s", (long long)port, b->uuid, derr.msg);
    return rc;
}

static int do_disable_restore(struct cond *c, struct db *db, const struct cond_board *b,
                              const char *suuid, cJSON *svc, int restore,
                              struct cond_call_result *r, struct error *err)
{
    const char *p[2] = {b->uuid, suuid};
    int64_t port = 0;
    int rc;

    if (strcmp(b->status, "online") != 0)
        return api_fail(err, 400, "Board %s is not connected.", b->uuid);
    rc = exposed_port(db, b->uuid, suuid, &port, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return api_fail(err, 404, "ExposedService %s could not be found.", suuid);
    rc = cond_board_call(c, db, b, restore ? "ServiceRestore" : "ServiceDisable",
                         call_args(cJSON_Duplicate(svc, 1), restore ? port : 0), NULL, r, err);
    if (rc == 0 && !restore && strcmp(r->result, "RUNNING") != 0) {
        rc = db_exec_stmt(db, &exposed_delete, p, NULL, err);
        if (rc < 0)
            rc = cond_db_fail(rc, err);
    }
    return rc;
}

void cond_h_service_action(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct cond *c = ctx;
    struct db *db = mq_req_worker_ctx(req);
    char buuid[UUID_STR_LEN], suuid[UUID_STR_LEN];
    struct cond_call_result r = {0};
    const char *action = NULL;
    struct cond_board b;
    struct error err = {0};
    cJSON *svc = NULL;
    int rc;

    rc = cond_arg_uuid(args, "board", buuid, &err);
    if (rc == 0)
        rc = cond_arg_uuid(args, "service", suuid, &err);
    if (rc == 0 && json_get_str(args, "action", JSON_REQUIRED, 64, &action, &err) < 0)
        rc = api_fail(&err, 400, "Action is not specified.");
    if (rc == 0)
        rc = cond_board_load(db, buuid, &b, &err);
    if (rc == 0)
        rc = service_object(db, suuid, &svc, &err);
    if (rc == 0 && strcmp(action, "ServiceEnable") == 0)
        rc = do_enable(c, db, &b, suuid, svc, &r, &err);
    else if (rc == 0 &&
             (strcmp(action, "ServiceDisable") == 0 || strcmp(action, "ServiceRestore") == 0))
        rc = do_disable_restore(c, db, &b, suuid, svc, action[7] == 'R', &r, &err);
    else if (rc == 0)
        rc = api_fail(&err, 400, "Invalid Action %s for the service.", action);
    cJSON_Delete(svc);
    cond_reply_call(req, rc, &r, &err);
}

void cond_h_services_restore(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct cond *c = ctx;
    struct db *db = mq_req_worker_ctx(req);
    char buuid[UUID_STR_LEN], last[UUID_STR_LEN] = "";
    const char *p[1] = {buuid};
    struct cond_board b;
    struct error err = {0};
    PGresult *res = NULL;
    cJSON *o;
    int rc;

    rc = cond_arg_uuid(args, "board", buuid, &err);
    if (rc == 0)
        rc = cond_board_load(db, buuid, &b, &err);
    if (rc == 0 && strcmp(b.status, "online") != 0)
        rc = api_fail(&err, 400, "Board %s is not connected.", buuid);
    if (rc == 0 && (rc = db_exec_stmt(db, &exposed_list, p, &res, &err)) < 0)
        rc = cond_db_fail(rc, &err);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        struct cond_call_result r = {0};
        cJSON *svc = NULL;

        rc = service_object(db, PQgetvalue(res, i, 0), &svc, &err);
        if (rc == 0)
            rc = cond_board_call(c, db, &b, "ServiceRestore",
                                 call_args(svc, strtoll(PQgetvalue(res, i, 1), NULL, 10)), NULL, &r,
                                 &err);
        if (r.request[0])
            memcpy(last, r.request, sizeof(last));
        cond_call_result_free(&r);
    }
    if (res)
        PQclear(res);
    if (rc < 0) {
        cond_reply_error(req, &err, last);
        return;
    }
    o = cJSON_CreateObject();
    json_add_str_or_null(o, "request", last[0] ? last : NULL);
    mq_reply(req, o);
}

void cond_h_services_status(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct cond *c = ctx;
    struct db *db = mq_req_worker_ctx(req);
    char buuid[UUID_STR_LEN];
    struct cond_call_result r = {0};
    struct cond_board b;
    struct error err = {0};
    int rc;

    rc = cond_arg_uuid(args, "board", buuid, &err);
    if (rc == 0)
        rc = cond_board_load(db, buuid, &b, &err);
    if (rc == 0)
        rc = cond_board_call(c, db, &b, "ServicesStatus", cJSON_CreateArray(), NULL, &r, &err);
    cond_reply_call(req, rc, &r, &err);
}

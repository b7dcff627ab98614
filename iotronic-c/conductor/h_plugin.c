/* conductor/h_plugin.c: plugins (iotronic-api-v1.md 2.7) and plugins on
 * boards (2.3): inject with the code encoded for the board's agent (2.14.3),
 * actions, removal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/fault.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "conductor/handlers.h"
#include "conductor/pickle.h"

/* A create redelivered after its first delivery committed (cond.h). */
static const struct db_stmt plugin_done = {
    "cond_plugin_done",
    "SELECT 1 FROM plugins WHERE uuid = $1::uuid AND name = $2 AND owner IS NOT DISTINCT FROM $3",
    3,
};

static const struct db_stmt plugin_insert = {
    "cond_plugin_insert",
    "INSERT INTO plugins (uuid, name, owner, public, code, callable, parameters, extra) "
    "VALUES ($1::uuid, $2, $3, $4::boolean, coalesce($5, ''), $6::boolean, "
    "coalesce($7::jsonb, '{}'), coalesce($8::jsonb, '{}'))",
    8,
};

static const struct db_stmt plugin_update = {
    "cond_plugin_update",
    "UPDATE plugins SET name = CASE WHEN $2::boolean THEN $3 ELSE name END, "
    "code = CASE WHEN $4::boolean THEN $5 ELSE code END, "
    "public = CASE WHEN $6::boolean THEN $7::boolean ELSE public END, "
    "callable = CASE WHEN $8::boolean THEN $9::boolean ELSE callable END, "
    "parameters = CASE WHEN $10::boolean THEN $11::jsonb ELSE parameters END, "
    "extra = CASE WHEN $12::boolean THEN $13::jsonb ELSE extra END, updated_at = now() "
    "WHERE uuid = $1::uuid",
    13,
};

static const struct db_stmt plugin_delete = {
    "cond_plugin_delete",
    "DELETE FROM plugins WHERE uuid = $1::uuid",
    1,
};

static const struct db_stmt plugin_get = {
    "cond_plugin_get",
    "SELECT uuid, name, code, callable, parameters::text, extra::text, public, owner "
    "FROM plugins WHERE uuid = $1::uuid",
    1,
};

static const struct db_stmt injection_upsert = {
    "cond_injection_upsert",
    "INSERT INTO injection_plugins (board_uuid, plugin_uuid, onboot, status) "
    "VALUES ($1::uuid, $2::uuid, $3::boolean, 'injected') "
    "ON CONFLICT (board_uuid, plugin_uuid) DO UPDATE SET status = 'updated', "
    "onboot = EXCLUDED.onboot, updated_at = now()",
    3,
};

static const struct db_stmt injection_get = {
    "cond_injection_get",
    "SELECT 1 FROM injection_plugins WHERE board_uuid = $1::uuid AND plugin_uuid = $2::uuid",
    2,
};

static const struct db_stmt injection_delete = {
    "cond_injection_delete",
    "DELETE FROM injection_plugins WHERE board_uuid = $1::uuid AND plugin_uuid = $2::uuid",
    2,
};

struct plugin_in {
    char uuid[UUID_STR_LEN];
    const char *name, *code;
    int has_name, has_code, has_public, has_callable, has_params, has_extra;
    int pub, callable;
    char *params, *extra;
};

static int plugin_in_parse(const cJSON *o, struct plugin_in *in, struct error *err)
{
    in->has_name = cond_opt_str(o, "name", &in->name, err);
    in->has_code = cond_opt_str(o, "code", &in->code, err);
    in->has_public = cond_opt_bool(o, "public", &in->pub, err);
    in->has_callable = cond_opt_bool(o, "callable", &in->callable, err);
    in->has_params = cond_opt_json(o, "parameters", &in->params, err);
    in->has_extra = cond_opt_json(o, "extra", &in->extra, err);
    if (in->has_name < 0 || in->has_code < 0 || in->has_public < 0 || in->has_callable < 0 ||
        in->has_params < 0 || in->has_extra < 0)
        return -EINVAL;
    return 0;
}

void cond_h_plugin_create(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct db *db = mq_req_worker_ctx(req);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(args, "plugin");
    struct plugin_in in = {0};
    struct cond_caller who;
    struct error err = {0};
    const char *u = NULL;
    int rc;

    (void)ctx;
    rc = cond_caller_get(args, &who, &err);
    if (rc == 0 && !cJSON_IsObject(o))
        rc = api_fail(&err, 400, "plugin is required");
    if (rc == 0)
        rc = plugin_in_parse(o, &in, &err);
    if (rc == 0 && in.name == NULL)
        rc = api_fail(&err, 400, "Name is not specified.");
    if (rc == 0 && cond_opt_str(o, "uuid", &u, &err) == 1 && u && uuid_normalize(u, in.uuid))
        rc = api_fail(&err, 400, "Expected a uuid but received %s.", u);
    if (rc == 0 && in.uuid[0] == '\0')
        uuid_v4(in.uuid);
    if (rc == 0) {
        const char *p[8] = {in.uuid,     in.name,
                            who.user_id, db_param_bool(in.pub),
                            in.code,     db_param_bool(in.callable),
                            in.params,   in.extra};

        rc = cond_redelivered_done(req, db, &plugin_done, p)
                 ? 0
                 : db_exec_stmt(db, &plugin_insert, p, NULL, &err);
        if (rc == -EEXIST)
            rc = api_fail(&err, 409, "A plugin with UUID %s already exists.", in.uuid);
        else if (rc < 0)
            rc = cond_db_fail(rc, &err);
    }
    free(in.params);
    free(in.extra);
    cond_reply_uuid(req, rc, in.uuid, &err);
}

void cond_h_plugin_update(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct db *db = mq_req_worker_ctx(req);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(args, "changes");
    struct plugin_in in = {0};
    struct error err = {0};
    int rc;

    (void)ctx;
    rc = cond_arg_uuid(args, "uuid", in.uuid, &err);
    if (rc == 0 && !cJSON_IsObject(o))
        rc = api_fail(&err, 400, "changes is required");
    if (rc == 0)
        rc = plugin_in_parse(o, &in, &err);
    if (rc == 0 && (in.has_name || in.has_code || in.has_public || in.has_callable ||
                    in.has_params || in.has_extra)) {
        const char *p[13] = {in.uuid,
                             db_param_bool(in.has_name),
                             in.name,
                             db_param_bool(in.has_code),
                             in.code,
                             db_param_bool(in.has_public),
                             db_param_bool(in.pub),
                             db_param_bool(in.has_callable),
                             db_param_bool(in.callable),
                             db_param_bool(in.has_params),
                             in.params,
                             db_param_bool(in.has_extra),
                             in.extra};

        rc = cond_update_one(db, &plugin_update, p, "Plugin", &err);
    }
    free(in.params);
    free(in.extra);
    cond_reply_uuid(req, rc, in.uuid, &err);
}

void cond_h_plugin_delete(struct mq_req *req, const cJSON *args, void *ctx)
{
    (void)ctx;
    cond_delete_one(req, args, &plugin_delete, "Plugin", "injected");
}

/* The plugin object of PluginInject, its code encoded for the agent. */
static int plugin_object(struct db *db, const char *uuid, const struct cond_board *b, cJSON **out,
                         struct error *err)
{
    const char *p[1] = {uuid};
    PGresult *res = NULL;
    cJSON *o, *j;
    int rc = db_exec_stmt(db, &plugin_get, p, &res, err);

    if (rc < 0)
        return cond_db_fail(rc, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return api_fail(err, 404, "Plugin %s could not be found.", uuid);
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "uuid", PQgetvalue(res, 0, 0));
    cJSON_AddStringToObject(o, "name", PQgetvalue(res, 0, 1));
    if (cond_lr_is_python(b->lr_version[0] ? b->lr_version : NULL)) {
        struct buf code;

        buf_init(&code, (size_t)64 << 20);
        if (cond_pickle_p0(PQgetvalue(res, 0, 2), &code) == 0)
            cJSON_AddStringToObject(o, "code", code.data);
        buf_free(&code);
    } else {
        cJSON_AddStringToObject(o, "code", PQgetvalue(res, 0, 2));
    }
    cJSON_AddBoolToObject(o, "callable", PQgetvalue(res, 0, 3)[0] == 't');
    j = cJSON_Parse(PQgetvalue(res, 0, 4));
    cJSON_AddItemToObject(o, "parameters", j ? j : cJSON_CreateObject());
    j = cJSON_Parse(PQgetvalue(res, 0, 5));
    cJSON_AddItemToObject(o, "extra", j ? j : cJSON_CreateObject());
    PQclear(res);
    *out = o;
    return 0;
}

void cond_h_plugin_inject(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct cond *c = ctx;
    struct db *db = mq_req_worker_ctx(req);
    char buuid[UUID_STR_LEN], puuid[UUID_STR_LEN];
    struct cond_call_result r = {0};
    struct cond_board b;
    struct error err = {0};
    cJSON *plugin = NULL, *call;
    int onboot = 0, rc;

    (void)ctx;
    rc = cond_arg_uuid(args, "board", buuid, &err);
    if (rc == 0)
        rc = cond_arg_uuid(args, "plugin", puuid, &err);
    if (rc == 0 && cond_opt_bool(args, "onboot", &onboot, &err) < 0)
        rc = -EINVAL;
    if (rc == 0)
        rc = cond_board_load(db, buuid, &b, &err);
    if (rc == 0)
        rc = plugin_object(db, puuid, &b, &plugin, &err);
    if (rc == 0) {
        call = cJSON_CreateArray();
        cJSON_AddItemToArray(call, plugin);
        cJSON_AddItemToArray(call, cJSON_CreateBool(onboot));
        rc = cond_board_call(c, db, &b, "PluginInject", call, NULL, &r, &err);
    }
    if (rc == 0 && strcmp(r.result, "RUNNING") != 0) {
        const char *p[3] = {buuid, puuid, db_param_bool(onboot)};

        rc = db_exec_stmt(db, &injection_upsert, p, NULL, &err);
        if (rc < 0)
            rc = cond_db_fail(rc, &err);
    }
    cond_reply_call(req, rc, &r, &err);
}

void cond_h_plugin_action(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct cond *c = ctx;
    struct db *db = mq_req_worker_ctx(req);
    char buuid[UUID_STR_LEN], puuid[UUID_STR_LEN];
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(args, "parameters");
    struct cond_call_result r = {0};
    const char *action = NULL;
    struct cond_board b;
    struct error err = {0};
    cJSON *call;
    int rc;

    rc = cond_arg_uuid(args, "board", buuid, &err);
    if (rc == 0)
        rc = cond_arg_uuid(args, "plugin", puuid, &err);
    if (rc == 0 && json_get_str(args, "action", JSON_REQUIRED, 64, &action, &err) < 0)
        rc = api_fail(&err, 400, "Action is not specified.");
    if (rc == 0)
        rc = cond_board_load(db, buuid, &b, &err);
    if (rc == 0) {
        call = cJSON_CreateArray();
        cJSON_AddItemToArray(call, cJSON_CreateString(puuid));
        if (strcmp(action, "PluginStatus") != 0)
            cJSON_AddItemToArray(call, json_dup_or_object(cJSON_IsObject(params) ? params : NULL));
        rc = cond_board_call(c, db, &b, action, call, NULL, &r, &err);
    }
    cond_reply_call(req, rc, &r, &err);
}

void cond_h_plugin_remove(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct cond *c = ctx;
    struct db *db = mq_req_worker_ctx(req);
    char buuid[UUID_STR_LEN], puuid[UUID_STR_LEN];
    const char *p[2] = {buuid, puuid};
    struct cond_call_result r = {0};
    struct cond_board b;
    struct error err = {0};
    PGresult *res = NULL;
    cJSON *call;
    int rc;

    rc = cond_arg_uuid(args, "board", buuid, &err);
    if (rc == 0)
        rc = cond_arg_uuid(args, "plugin", puuid, &err);
    if (rc == 0)
        rc = cond_board_load(db, buuid, &b, &err);
    if (rc == 0) {
        rc = db_exec_stmt(db, &injection_get, p, &res, &err);
        if (rc < 0)
            rc = cond_db_fail(rc, &err);
        else if (PQntuples(res) == 0)
            rc = api_fail(&err, 404, "InjectionPlugin could not be found.");
        if (res)
            PQclear(res);
    }
    if (rc == 0) {
        call = cJSON_CreateArray();
        cJSON_AddItemToArray(call, cJSON_CreateString(puuid));
        rc = cond_board_call(c, db, &b, "PluginRemove", call, NULL, &r, &err);
    }
    if (rc == 0 && strcmp(r.result, "RUNNING") != 0) {
        rc = db_exec_stmt(db, &injection_delete, p, NULL, &err);
        if (rc < 0)
            rc = cond_db_fail(rc, &err);
    }
    cond_reply_call(req, rc, &r, &err);
}

/* conductor/h_fleet.c: fleets (iotronic-api-v1.md 2.9). Deleting a fleet
 * leaves its boards in no fleet (boards.fleet ON DELETE SET NULL). */
#include <errno.h>
#include <stdlib.h>

#include "api/fault.h"
#include "conductor/handlers.h"

/* A create redelivered after its first delivery committed (cond.h). */
static const struct db_stmt fleet_done = {
    "cond_fleet_done",
    "SELECT 1 FROM fleets WHERE uuid = $1::uuid AND name = $2 AND project IS NOT DISTINCT FROM $3",
    3,
};

static const struct db_stmt fleet_insert = {
    "cond_fleet_insert",
    "INSERT INTO fleets (uuid, name, project, owner, description, extra) VALUES "
    "($1::uuid, $2, $3, $4, coalesce($5, ''), coalesce($6::jsonb, '{}'))",
    6,
};

static const struct db_stmt fleet_update = {
    "cond_fleet_update",
    "UPDATE fleets SET name = CASE WHEN $2::boolean THEN $3 ELSE name END, "
    "description = CASE WHEN $4::boolean THEN coalesce($5, '') ELSE description END, "
    "extra = CASE WHEN $6::boolean THEN $7::jsonb ELSE extra END, updated_at = now() "
    "WHERE uuid = $1::uuid",
    7,
};

static const struct db_stmt fleet_delete = {
    "cond_fleet_delete",
    "DELETE FROM fleets WHERE uuid = $1::uuid",
    1,
};

void cond_h_fleet_create(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct db *db = mq_req_worker_ctx(req);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(args, "fleet");
    const char *name = NULL, *desc = NULL, *u = NULL;
    char uuid[UUID_STR_LEN] = "", *extra = NULL;
    struct cond_caller who;
    struct error err = {0};
    int rc;

    (void)ctx;
    rc = cond_caller_get(args, &who, &err);
    if (rc == 0 && !cJSON_IsObject(o))
        rc = api_fail(&err, 400, "fleet is required");
    if (rc == 0 && (cond_opt_str(o, "name", &name, &err) < 0 ||
                    cond_opt_str(o, "description", &desc, &err) < 0 ||
                    cond_opt_json(o, "extra", &extra, &err) < 0))
        rc = -EINVAL;
    if (rc == 0 && name == NULL)
        rc = api_fail(&err, 400, "Name is not specified.");
    if (rc == 0 && cond_opt_str(o, "uuid", &u, &err) == 1 && u && uuid_normalize(u, uuid))
        rc = api_fail(&err, 400, "Expected a uuid but received %s.", u);
    if (rc == 0 && uuid[0] == '\0')
        uuid_v4(uuid);
    if (rc == 0) {
        const char *p[6] = {uuid, name, who.project_id, who.user_id, desc, extra};

        rc = cond_redelivered_done(req, db, &fleet_done, p)
                 ? 0
                 : db_exec_stmt(db, &fleet_insert, p, NULL, &err);
        if (rc == -EEXIST)
            rc = api_fail(&err, 409, "A Fleet with UUID %s already exists.", uuid);
        else if (rc < 0)
            rc = cond_db_fail(rc, &err);
    }
    free(extra);
    cond_reply_uuid(req, rc, uuid, &err);
}

void cond_h_fleet_update(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct db *db = mq_req_worker_ctx(req);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(args, "changes");
    const char *name = NULL, *desc = NULL;
    char uuid[UUID_STR_LEN], *extra = NULL;
    int hn = 0, hd = 0, he = 0;
    struct error err = {0};
    int rc;

    (void)ctx;
    rc = cond_arg_uuid(args, "uuid", uuid, &err);
    if (rc == 0 && !cJSON_IsObject(o))
        rc = api_fail(&err, 400, "changes is required");
    if (rc == 0 && ((hn = cond_opt_str(o, "name", &name, &err)) < 0 ||
                    (hd = cond_opt_str(o, "description", &desc, &err)) < 0 ||
                    (he = cond_opt_json(o, "extra", &extra, &err)) < 0))
        rc = -EINVAL;
    if (rc == 0 && (hn || hd || he)) {
        const char *p[7] = {uuid, db_param_bool(hn), name, db_param_bool(hd),
                            desc, db_param_bool(he), extra};

        rc = cond_update_one(db, &fleet_update, p, "Fleet", &err);
    }
    free(extra);
    cond_reply_uuid(req, rc, uuid, &err);
}

void cond_h_fleet_delete(struct mq_req *req, const cJSON *args, void *ctx)
{
    (void)ctx;
    cond_delete_one(req, args, &fleet_delete, "Fleet", NULL);
}

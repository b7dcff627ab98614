/* qapi/h_runtime_admin.c: DELETE /v1/runtimes/{id} and GET .../pool (2.7). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "db/row.h"
#include "qapi/handlers.h"
#include "qapi/runtime.h"
#include "qmodel/elig.h"
#include "qmodel/fault.h"

static const struct db_stmt lock_stmt = {
    "qa_runtime_lock",
    "SELECT status, image_sha256, coalesce(name, '') FROM runtimes WHERE id = $1::uuid FOR UPDATE",
    1,
};

static const struct db_stmt in_use_stmt = {
    "qa_runtime_in_use",
    "SELECT EXISTS (SELECT 1 FROM functions WHERE runtime_id = $1::uuid OR "
    "image_runtime_id = $1::uuid)",
    1,
};

static const struct db_stmt deleting_stmt = {
    "qa_runtime_deleting",
    "UPDATE runtimes SET status = 'deleting', updated_at = now() WHERE id = $1::uuid",
    1,
};

static const struct db_stmt delete_stmt = {
    "qa_runtime_delete",
    "DELETE FROM runtimes WHERE id = $1::uuid",
    1,
};

/* Every board that reported the image in its cache owes a CachePurge. */
static const struct db_stmt purge_stmt = {
    "qa_runtime_purge",
    "INSERT INTO board_purges (id, board_uuid, purge) SELECT gen_random_uuid(), c.board_uuid, "
    "ARRAY[$1::text] FROM board_capabilities c WHERE c.caps->'cache'->'runtimes' ? $1",
    1,
};

struct del {
    const char *id;
    int status; /* the answer when not 204 */
    char sha[65];
};

static int del_tx(struct db *db, void *arg, struct error *err)
{
    struct del *d = arg;
    const char *p[1] = {d->id};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &lock_stmt, p, &res, err);

    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        d->status = 404;
        return 0;
    }
    snprintf(d->sha, sizeof(d->sha), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    rc = db_exec_stmt(db, &in_use_stmt, p, &res, err);
    if (rc < 0)
        return rc;
    d->status = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? 403 : 204;
    PQclear(res);
    if (d->status != 204)
        return 0;
    /* 'deleting' is what a concurrent upload sees until the row is gone. */
    rc = db_exec_stmt(db, &deleting_stmt, p, NULL, err);
    if (rc == 0)
        rc = db_exec_stmt(db, &delete_stmt, p, NULL, err);
    if (rc == 0 && d->sha[0] != '\0') {
        const char *q[1] = {d->sha};

        rc = db_exec_stmt(db, &purge_stmt, q, NULL, err);
    }
    return rc;
}

QA_HANDLER(runtime_delete)
{
    char id[UUID_STR_LEN];
    struct del d = {id, 0, ""};
    struct error err;
    struct qa_call c;
    int rc;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "runtime:delete", NULL) < 0)
        return;
    rc = db_tx(c.db, del_tx, &d, &err);
    if (rc == -EBUSY) /* a function was created with it meanwhile */
        d.status = 403;
    else if (rc < 0) {
        qm_db_fail(rc, &err);
        qa_respond_error(&c, &err);
        return;
    }
    if (d.status == 404)
        qa_fail(&c, 404, "Runtime not found [id=%s]", id);
    else if (d.status == 403)
        qa_fail(&c, 403, "Runtime %s is still in use.", id);
    else {
        if (d.sha[0] != '\0')
            qa_tell_engine(&c, "purge", "runtime_id", id);
        http_resp_empty(r, 204);
    }
}

/* The online boards with their caps and executions in flight. */
static const struct db_stmt pool_stmt = {
    "qa_runtime_pool",
    "SELECT c.caps, (SELECT count(*) FROM executions e WHERE e.board_id = b.uuid AND "
    "e.status = 'running' AND e.dispatched_at IS NOT NULL) "
    "FROM boards b JOIN board_capabilities c ON c.board_uuid = b.uuid WHERE b.status = 'online'",
    0,
};

static const struct db_stmt rt_stmt = {
    "qa_runtime_name_arch",
    "SELECT coalesce(name, ''), architecture FROM runtimes WHERE id = $1::uuid",
    1,
};

static void pool_sum(const PGresult *res, const char *name, const char *arch, int64_t *total,
                     int64_t *avail)
{
    struct qm_need need = {NULL, 0, 0, arch, name[0] ? name : NULL};
    struct error why;

    for (int i = 0; i < PQntuples(res); i++) {
        cJSON *caps = NULL;
        int64_t busy = 0, slots;

        if (db_getobject(res, i, 0, &caps, &why) < 0 || caps == NULL)
            continue;
        if (qm_elig_check(caps, &need, &why) == 0 &&
            db_getint(res, i, 1, 0, INT64_MAX, &busy, &why) == 0) {
            slots = qm_caps_slots(caps);
            *total += slots;
            *avail += slots > busy ? slots - busy : 0;
        }
        cJSON_Delete(caps);
    }
}

QA_HANDLER(runtime_pool)
{
    char id[UUID_STR_LEN];
    PGresult *rt = NULL, *res = NULL;
    int64_t total = 0, avail = 0;
    const char *p[1] = {id};
    struct qa_call c;
    struct buf b;
    struct jw w;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "runtime_pool:get_all", NULL) < 0 || qa_exec(&c, &rt_stmt, p, &rt) < 0)
        return;
    if (PQntuples(rt) == 0) {
        qa_fail(&c, 404, "Runtime not found [id=%s]", id);
    } else if (qa_exec(&c, &pool_stmt, NULL, &res) == 0) {
        pool_sum(res, PQgetvalue(rt, 0, 0), PQgetisnull(rt, 0, 1) ? NULL : PQgetvalue(rt, 0, 1),
                 &total, &avail);
        buf_init(&b, 4096);
        jw_init(&w, &b, 1);
        jw_obj_begin(&w);
        jw_key(&w, "name");
        jw_str(&w, id);
        jw_key(&w, "capacity");
        jw_obj_begin(&w);
        jw_key(&w, "total");
        jw_int(&w, total);
        jw_key(&w, "available");
        jw_int(&w, avail);
        jw_obj_end(&w);
        jw_obj_end(&w);
        http_resp_body_take(r, 200, NULL, b.data, b.len);
    }
    PQclear(res);
    PQclear(rt);
}

/* qapi/h_function_update.c: PUT /v1/functions/{id} (2.3 update rules).
 *
 * A change of name, description, timeout, target or warm settings touches
 * the database only (a keep_warm change is applied to boards by the engine
 * in the background). Any change of the code, package, entry, limits or
 * devices also removes the function's warm containers on every board that
 * received it (board_purges, delivered by the engine), and is refused while a
 * running or paused job uses the function. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "db/row.h"
#include "qapi/function.h"
#include "qapi/handlers.h"
#include "qmodel/fault.h"

static const struct db_stmt current_stmt = {
    "qa_fnu_current",
    "SELECT f.code->>'source', f.package_sha256, b.md5, f.board_id, f.fleet_id, f.placement, "
    "f.project_id FROM functions f LEFT JOIN blobs b ON b.sha256 = f.package_sha256 "
    "WHERE f.id = $1::uuid AND ($2::text IS NULL OR f.project_id = $2)",
    2,
};

static const struct db_stmt lock_stmt = {
    "qa_fnu_lock",
    "SELECT package_sha256, EXISTS (SELECT 1 FROM jobs WHERE function_id = $1::uuid AND status "
    "IN ('running', 'paused')) FROM functions WHERE id = $1::uuid FOR UPDATE",
    1,
};

static const struct db_stmt update_stmt = {
    "qa_fnu_update",
    "UPDATE functions SET "
    "name = CASE WHEN $2::boolean THEN $3 ELSE name END, "
    "description = CASE WHEN $4::boolean THEN $5 ELSE description END, "
    "entry = CASE WHEN $6::boolean THEN $7 ELSE entry END, "
    "cpu = coalesce($8::int, cpu), memory_size = coalesce($9::bigint, memory_size), "
    "timeout = coalesce($10::int, timeout), devices = coalesce($11::jsonb, devices), "
    "device_access = coalesce($12, device_access), network = coalesce($13, network), "
    "board_id = $14::uuid, fleet_id = $15::uuid, placement = $16, "
    "keep_warm = coalesce($17::int, keep_warm), warm_ttl = coalesce($18::int, warm_ttl), "
    "code = coalesce($19::jsonb, code), package_sha256 = coalesce($20, package_sha256), "
    "updated_at = now() WHERE id = $1::uuid",
    20,
};

static const struct db_stmt purge_stmt = {
    "qa_fnu_purge",
    "INSERT INTO board_purges (id, board_uuid, function_id, purge) SELECT gen_random_uuid(), "
    "fb.board_uuid, $1::uuid, (SELECT coalesce(array_agg(sha256::text), '{}') FROM blobs WHERE "
    "sha256 = $2 AND refcount = 0) FROM function_boards fb WHERE fb.function_id = $1::uuid",
    2,
};

struct upd {
    struct qa_call *c;
    const struct qa_fnspec *s;
    const char *id;
    struct qm_target target; /* the new default target */
    const struct qa_pkg *pkg;
    const char *tmp;
    int code_change;
    int status;
};

static int code_change(const struct qa_fnspec *s)
{
    const struct qa_value *v = s->v;

    return s->code != NULL || s->package != NULL || v[QF_ENTRY].present || v[QF_CPU].present ||
           v[QF_MEMORY].present || v[QF_DEVICES].present || v[QF_ACCESS].present ||
           v[QF_NETWORK].present;
}

static const char *opt_int(char buf[DB_INT_LEN], const struct qa_value *v)
{
    return v->present ? db_param_int(buf, v->i) : NULL;
}

static int apply(struct db *db, struct upd *u, struct error *err)
{
    const struct qa_value *v = u->s->v;
    char cpu[DB_INT_LEN], mem[DB_INT_LEN], to[DB_INT_LEN], kw[DB_INT_LEN], ttl[DB_INT_LEN];
    cJSON *code = u->pkg != NULL ? qa_package_code(u->pkg) : NULL;
    char *code_text = code != NULL ? json_print(code) : NULL;
    char *devices = u->s->devices_json != NULL ? json_print(u->s->devices_json) : NULL;
    const char *p[20] = {
        u->id,
        db_param_bool(v[QF_NAME].present),
        v[QF_NAME].s,
        db_param_bool(v[QF_DESC].present),
        v[QF_DESC].s,
        db_param_bool(v[QF_ENTRY].present),
        v[QF_ENTRY].s,
        opt_int(cpu, &v[QF_CPU]),
        opt_int(mem, &v[QF_MEMORY]),
        opt_int(to, &v[QF_TIMEOUT]),
        devices,
        v[QF_ACCESS].present ? v[QF_ACCESS].s : NULL,
        v[QF_NETWORK].present ? v[QF_NETWORK].s : NULL,
        u->target.board_id[0] ? u->target.board_id : NULL,
        u->target.fleet_id[0] ? u->target.fleet_id : NULL,
        u->target.placement[0] ? u->target.placement : NULL,
        opt_int(kw, &v[QF_KEEP_WARM]),
        opt_int(ttl, &v[QF_WARM_TTL]),
        code_text,
        u->pkg != NULL ? u->pkg->sha256 : NULL,
    };
    int rc = db_exec_stmt(db, &update_stmt, p, NULL, err);

    cJSON_Delete(code);
    free(code_text);
    free(devices);
    return rc;
}

static int update_tx(struct db *db, void *arg, struct error *err)
{
    struct upd *u = arg;
    const char *p[1] = {u->id};
    PGresult *res = NULL;
    char old[65] = "";
    int rc = db_exec_stmt(db, &lock_stmt, p, &res, err);

    u->status = 0;
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0)
        u->status = 404;
    else if (u->code_change && strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        u->status = 403;
    snprintf(old, sizeof(old), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    if (u->status != 0)
        return 0;
    if (u->pkg != NULL)
        rc = qa_package_commit(db, u->c->a->cfg->file_system_dir, u->tmp, u->pkg, err);
    if (rc == 0)
        rc = apply(db, u, err);
    if (rc == 0 && u->code_change) {
        const char *q[2] = {u->id, old[0] ? old : NULL};

        rc = db_exec_stmt(db, &purge_stmt, q, NULL, err);
    }
    return rc;
}

/* The new default target from the current one and the request (3.3): a
 * board replaces a fleet and the reverse; placement needs a fleet. */
static int new_target(struct upd *u, const PGresult *cur)
{
    const struct qa_value *v = u->s->v;
    struct qm_target req;

    if (qa_fnspec_target(u->c, u->s, &req) < 0)
        return -1;
    snprintf(u->target.board_id, UUID_STR_LEN, "%s", PQgetvalue(cur, 0, 3));
    snprintf(u->target.fleet_id, UUID_STR_LEN, "%s", PQgetvalue(cur, 0, 4));
    snprintf(u->target.placement, 16, "%s", PQgetvalue(cur, 0, 5));
    if (v[QF_BOARD].present) {
        u->target = req;
        if (v[QF_BOARD].null)
            memset(u->target.board_id, 0, UUID_STR_LEN);
    } else if (v[QF_FLEET].present) {
        u->target = req;
        if (v[QF_PLACEMENT].present && v[QF_PLACEMENT].s != NULL)
            snprintf(u->target.placement, 16, "%s", v[QF_PLACEMENT].s);
        else if (v[QF_FLEET].null || !v[QF_PLACEMENT].present)
            u->target.placement[0] = '\0';
    } else if (v[QF_PLACEMENT].present) {
        if (v[QF_PLACEMENT].s != NULL && u->target.fleet_id[0] == '\0')
            return qa_fail(u->c, 400, "placement is only valid with fleet_id.");
        snprintf(u->target.placement, 16, "%s", v[QF_PLACEMENT].s ? v[QF_PLACEMENT].s : "");
    }
    return 0;
}

/* The code rules of 2.3; 0, or answered. */
static int code_rules(struct upd *u, const PGresult *cur, struct qa_pkg *pkg, char **tmp)
{
    const struct qa_fnspec *s = u->s;
    int image = strcmp(PQgetvalue(cur, 0, 0), "image") == 0;

    if (s->code != NULL && strcmp(s->source, image ? "image" : "package") != 0)
        return qa_fail(u->c, 400, "The function code type can not be changed.");
    if (image && (s->code != NULL || s->package != NULL))
        return qa_fail(u->c, 400, "The image type function code can not be changed.");
    if (image)
        return 0;
    if (s->package == NULL && s->code != NULL) {
        if (s->md5sum != NULL && strcasecmp(s->md5sum, PQgetvalue(cur, 0, 2)) == 0)
            return qa_fail(u->c, 400, "The function code checksum is not changed.");
        return qa_fail(u->c, 400, "A package is required for package type function.");
    }
    if (s->package == NULL)
        return 0;
    if (qa_fnspec_package(u->c, s, pkg) < 0)
        return -1;
    if (strcmp(pkg->sha256, PQgetvalue(cur, 0, 1)) == 0)
        return qa_fail(u->c, 400, "The function code checksum is not changed.");
    if (qa_package_stage(u->c, s, tmp) < 0)
        return -1;
    u->pkg = pkg;
    u->tmp = *tmp;
    return 0;
}

static void run(struct upd *u, struct qa_pkg *pkg, char **tmp)
{
    const char *p[2] = {u->id, qa_scope(u->c)};
    PGresult *cur = NULL;
    struct error err;
    int rc;

    if (qa_exec(u->c, &current_stmt, p, &cur) < 0)
        return;
    if (PQntuples(cur) == 0) {
        qa_fail(u->c, 404, "Function not found [id=%s]", u->id);
    } else if (qa_authorize(u->c, "function:update", PQgetvalue(cur, 0, 6)) == 0 &&
               new_target(u, cur) == 0 && code_rules(u, cur, pkg, tmp) == 0) {
        u->code_change = code_change(u->s);
        rc = db_tx(u->c->db, update_tx, u, &err);
        if (rc < 0) {
            qm_db_fail(rc, &err);
            qa_respond_error(u->c, &err);
        } else if (u->status == 404) {
            qa_fail(u->c, 404, "Function not found [id=%s]", u->id);
        } else if (u->status == 403) {
            qa_fail(u->c, 403, "The function is still associated with running job(s).");
        } else {
            if (u->code_change)
                qa_tell_engine(u->c, "purge", "function_id", u->id);
            if (u->s->v[QF_KEEP_WARM].present)
                qa_tell_engine(u->c, "warm", "function_id", u->id);
            qa_function_answer(u->c, u->id, 200);
        }
    }
    PQclear(cur);
}

QA_HANDLER(function_update)
{
    char id[UUID_STR_LEN], *tmp = NULL;
    struct upd u = {0};
    struct qa_fnspec s;
    struct qa_body b;
    struct qa_call c;
    struct qa_pkg pkg;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_body_read(&c, QA_ACCEPT_FORM, &b) < 0)
        return;
    u.c = &c;
    u.s = &s;
    u.id = id;
    if (qa_fnspec_read(&c, &b, 1, &s) == 0)
        run(&u, &pkg, &tmp);
    if (tmp != NULL) {
        unlink(tmp);
        free(tmp);
    }
    qa_fnspec_clear(&s);
    qa_body_free(&b);
}

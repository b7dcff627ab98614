/* qmodel/target.c: see target.h. */
#include "qmodel/target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "db/row.h"
#include "qmodel/fault.h"

#define BOARD_COLS                                                                                 \
    "b.uuid, coalesce(b.project, ''), b.status, coalesce(b.agent, ''), b.fleet, c.caps"

/* By UUID when the reference is one, else by name; with several names in
 * different projects, the caller's own (or the oldest) wins. */
static const struct db_stmt board_find = {
    "qm_board_find",
    "SELECT " BOARD_COLS " FROM boards b LEFT JOIN board_capabilities c ON c.board_uuid = b.uuid "
    "WHERE (CASE WHEN $2::uuid IS NOT NULL THEN b.uuid = $2::uuid ELSE b.name = $1 END) "
    "AND ($3::text IS NULL OR b.project = $3) ORDER BY b.created_at LIMIT 1",
    3,
};

static const struct db_stmt fleet_find = {
    "qm_fleet_find",
    "SELECT f.uuid FROM fleets f WHERE (CASE WHEN $2::uuid IS NOT NULL THEN f.uuid = $2::uuid "
    "ELSE f.name = $1 END) AND ($3::text IS NULL OR f.project = $3) ORDER BY f.created_at LIMIT 1",
    3,
};

static const struct db_stmt fleet_boards = {
    "qm_fleet_boards",
    "SELECT " BOARD_COLS " FROM boards b LEFT JOIN board_capabilities c ON c.board_uuid = b.uuid "
    "WHERE b.fleet = $1::uuid ORDER BY b.uuid",
    1,
};

static const struct db_stmt board_get = {
    "qm_board_get",
    "SELECT " BOARD_COLS " FROM boards b LEFT JOIN board_capabilities c ON c.board_uuid = b.uuid "
    "WHERE b.uuid = $1::uuid",
    1,
};

void qm_board_clear(struct qm_board *b)
{
    cJSON_Delete(b->caps);
    b->caps = NULL;
}

void qm_boards_free(struct qm_board *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        qm_board_clear(&v[i]);
    free(v);
}

static int board_row(const PGresult *res, int row, struct qm_board *b, struct error *err)
{
    const char *fleet = db_getstr(res, row, 4);

    memset(b, 0, sizeof(*b));
    snprintf(b->uuid, sizeof(b->uuid), "%s", PQgetvalue(res, row, 0));
    snprintf(b->project, sizeof(b->project), "%s", PQgetvalue(res, row, 1));
    snprintf(b->status, sizeof(b->status), "%s", PQgetvalue(res, row, 2));
    snprintf(b->agent, sizeof(b->agent), "%s", PQgetvalue(res, row, 3));
    snprintf(b->fleet, sizeof(b->fleet), "%s", fleet != NULL ? fleet : "");
    return db_getobject(res, row, 5, &b->caps, err) < 0 ? -EIO : 0;
}

/* Runs a by-UUID-or-name lookup: params ref, its UUID form or NULL, project. */
static int find(struct db *db, const struct db_stmt *st, const char *ref, const char *project,
                PGresult **res, struct error *err)
{
    char u[UUID_STR_LEN];
    const char *p[3] = {ref, uuid_normalize(ref, u) == 0 ? u : NULL, project};
    int rc = db_exec_stmt(db, st, p, res, err);

    return rc < 0 ? qm_db_fail(rc, err) : 0;
}

int qm_board_find(struct db *db, const char *ref, const char *project, struct qm_board *out,
                  struct error *err)
{
    PGresult *res = NULL;
    int rc;

    memset(out, 0, sizeof(*out)); /* cleared by qm_board_clear() whatever happens */
    rc = find(db, &board_find, ref, project, &res, err);
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0)
        rc = qm_fail(err, 404, "Board %s could not be found.", ref);
    else if (board_row(res, 0, out, err) < 0)
        rc = qm_fail(err, 500, "An unknown exception occurred.");
    PQclear(res);
    return rc;
}

int qm_board_get(struct db *db, const char *uuid, struct qm_board *out, struct error *err)
{
    const char *p[1] = {uuid};
    PGresult *res = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = db_exec_stmt(db, &board_get, p, &res, err);
    if (rc < 0)
        return qm_db_fail(rc, err);
    if (PQntuples(res) == 0)
        rc = -ENOENT;
    else if (board_row(res, 0, out, err) < 0)
        rc = qm_fail(err, 500, "An unknown exception occurred.");
    PQclear(res);
    return rc;
}

int qm_fleet_find(struct db *db, const char *ref, const char *project, char uuid[UUID_STR_LEN],
                  struct error *err)
{
    PGresult *res = NULL;
    int rc = find(db, &fleet_find, ref, project, &res, err);

    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0)
        rc = qm_fail(err, 404, "Fleet %s could not be found.", ref);
    else
        snprintf(uuid, UUID_STR_LEN, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

int qm_fleet_boards(struct db *db, const char *fleet, struct qm_board **out, size_t *n,
                    struct error *err)
{
    const char *p[1] = {fleet};
    PGresult *res = NULL;
    struct qm_board *v;
    int rc = db_exec_stmt(db, &fleet_boards, p, &res, err);

    *out = NULL;
    *n = 0;
    if (rc < 0)
        return qm_db_fail(rc, err);
    v = xcalloc((size_t)PQntuples(res) + 1, sizeof(*v));
    for (int i = 0; i < PQntuples(res) && rc == 0; i++)
        if (board_row(res, i, &v[i], err) < 0)
            rc = qm_fail(err, 500, "An unknown exception occurred.");
    if (rc < 0) {
        qm_boards_free(v, (size_t)PQntuples(res));
    } else {
        *out = v;
        *n = (size_t)PQntuples(res);
    }
    PQclear(res);
    return rc;
}

int qm_target_syntax(const struct qm_target_req *req, int allow_default_fleet, struct error *err)
{
    if (req->board_ref != NULL && req->fleet_ref != NULL)
        return qm_fail(err, 400, "Give board_id or fleet_id, not both.");
    if (req->placement != NULL && strcmp(req->placement, QM_PLACEMENT_ANY) != 0 &&
        strcmp(req->placement, QM_PLACEMENT_ALL) != 0)
        return qm_fail(err, 400, "Invalid placement %s; use any_online or all.", req->placement);
    if (req->placement != NULL && req->fleet_ref == NULL &&
        (req->board_ref != NULL || !allow_default_fleet))
        return qm_fail(err, 400, "placement is only valid with fleet_id.");
    return 0;
}

int qm_target_resolve(struct db *db, const struct qm_target_req *req, const struct qm_fn *fn,
                      const char *project, struct qm_target *out, struct error *err)
{
    struct qm_board b;
    int rc;

    memset(out, 0, sizeof(*out));
    if (req->board_ref != NULL) {
        rc = qm_board_find(db, req->board_ref, project, &b, err);
        if (rc == 0)
            snprintf(out->board_id, sizeof(out->board_id), "%s", b.uuid);
        qm_board_clear(&b);
        return rc;
    }
    if (req->fleet_ref != NULL) {
        snprintf(out->placement, sizeof(out->placement), "%s",
                 req->placement != NULL ? req->placement : QM_PLACEMENT_ANY);
        return qm_fleet_find(db, req->fleet_ref, project, out->fleet_id, err);
    }
    /* The function's default target; it was checked when it was set. */
    if (fn->board_id[0] != '\0' && req->placement == NULL) {
        snprintf(out->board_id, sizeof(out->board_id), "%s", fn->board_id);
        return 0;
    }
    if (fn->fleet_id[0] != '\0') {
        snprintf(out->fleet_id, sizeof(out->fleet_id), "%s", fn->fleet_id);
        snprintf(out->placement, sizeof(out->placement), "%s",
                 req->placement != NULL     ? req->placement
                 : fn->placement[0] != '\0' ? fn->placement
                                            : QM_PLACEMENT_ANY);
        return 0;
    }
    if (req->placement != NULL)
        return qm_fail(err, 400, "placement is only valid with fleet_id.");
    return qm_fail(
        err, 400, "No target: give board_id or fleet_id, or set a default target on the function.");
}

void qm_plan_clear(struct qm_plan *p)
{
    qm_boards_free(p->children, p->nchildren);
    free(p->skipped);
    memset(p, 0, sizeof(*p));
}

static int plan_board(struct db *db, const struct qm_fn *fn, const char *uuid, struct qm_plan *out,
                      struct error *err)
{
    struct qm_need need;
    struct qm_board b;
    struct error why;
    int rc = qm_board_get(db, uuid, &b, err);

    if (rc == -ENOENT)
        return qm_fail(err, 404, "Board %s could not be found.", uuid);
    if (rc < 0)
        return rc;
    qm_fn_need(fn, &need);
    if (b.caps != NULL && qm_elig_check(b.caps, &need, &why) < 0)
        rc = qm_fail(err, 409, "Board %s cannot run this function: %s.", b.uuid, why.msg);
    out->online = strcmp(b.status, "online") == 0 && b.caps != NULL;
    qm_board_clear(&b);
    return rc;
}

/* Sorts the fleet's boards into eligible-or-unknown (kept in v, in order)
 * and refused (named in skipped). Returns how many were kept. */
static size_t sift(const struct qm_fn *fn, struct qm_board *v, size_t n, struct buf *skipped,
                   int *online)
{
    struct qm_need need;
    struct error why;
    size_t kept = 0;

    qm_fn_need(fn, &need);
    for (size_t i = 0; i < n; i++) {
        if (v[i].caps != NULL && qm_elig_check(v[i].caps, &need, &why) < 0) {
            if (buf_printf(skipped, "Board %s skipped: cannot run this function: %s.\n", v[i].uuid,
                           why.msg) < 0)
                log_warn("the list of skipped boards is truncated");
            qm_board_clear(&v[i]);
            continue;
        }
        if (v[i].caps != NULL && strcmp(v[i].status, "online") == 0)
            *online = 1;
        if (kept != i) {
            v[kept] = v[i];
            memset(&v[i], 0, sizeof(v[i]));
        }
        kept++;
    }
    return kept;
}

int qm_target_plan(struct db *db, const struct qm_fn *fn, const struct qm_target *t,
                   struct qm_plan *out, struct error *err)
{
    struct qm_board *v = NULL;
    struct buf skipped;
    size_t n = 0, kept;
    int rc;

    memset(out, 0, sizeof(*out));
    if (t->board_id[0] != '\0')
        return plan_board(db, fn, t->board_id, out, err);
    rc = qm_fleet_boards(db, t->fleet_id, &v, &n, err);
    if (rc < 0)
        return rc;
    buf_init(&skipped, 1 << 20);
    kept = sift(fn, v, n, &skipped, &out->online);
    if (kept == 0) {
        qm_boards_free(v, n);
        buf_free(&skipped);
        return qm_fail(err, 409, "No board of fleet %s can run this function.", t->fleet_id);
    }
    if (strcmp(t->placement, QM_PLACEMENT_ALL) == 0) {
        out->children = v;
        out->nchildren = kept;
        out->skipped = skipped.len > 0 ? buf_take(&skipped, NULL) : NULL;
        v = NULL;
    }
    qm_boards_free(v, n);
    buf_free(&skipped);
    return 0;
}

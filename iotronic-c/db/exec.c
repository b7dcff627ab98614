/* db/exec.c: statements, named statements and the mapping of server errors.
 *
 * Every statement goes through PQexecParams or PQexecPrepared, so parameters
 * never become SQL text. Named statements are prepared lazily, once per
 * connection: the cache is the list of struct db_stmt pointers prepared on
 * the current session, emptied whenever the session is replaced. A daemon
 * prepares tens of statements, so a linear scan of pointers is cheaper than
 * the round trip it saves by orders of magnitude. */
#include "db/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "db/db_internal.h"

static const struct {
    const char *state; /* a full SQLSTATE, or a two-character class */
    int code;
} sqlstate_map[] = {
    {"23505", -EEXIST},     {"23P01", -EEXIST},     {"23503", -EBUSY},      {"23001", -EBUSY},
    {"23502", -EINVAL},     {"23514", -EINVAL},     {"40001", -EAGAIN},     {"40P01", -EAGAIN},
    {"57P01", -ECONNRESET}, {"57P02", -ECONNRESET}, {"57P03", -ECONNRESET}, {"57014", -ETIMEDOUT},
    {"55P03", -ETIMEDOUT},  {"42501", -EACCES},     {"25006", -EROFS},      {"53100", -ENOSPC},
    {"22", -EINVAL},        {"08", -ECONNRESET},    {"28", -EACCES},
};

int db_map_sqlstate(const char *sqlstate)
{
    if (sqlstate == NULL || strlen(sqlstate) != 5)
        return -EIO;
    for (size_t i = 0; i < sizeof(sqlstate_map) / sizeof(sqlstate_map[0]); i++) {
        const char *s = sqlstate_map[i].state;

        if (strncmp(sqlstate, s, strlen(s)) == 0)
            return sqlstate_map[i].code;
    }
    return -EIO;
}

static void copy_field(const PGresult *r, int field, char *out, size_t cap)
{
    db_flatten(PQresultErrorField(r, field), out, cap);
}

static void record_diag(struct db *db, const PGresult *r)
{
    const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);

    copy_field(r, PG_DIAG_SQLSTATE, db->diag.sqlstate, sizeof(db->diag.sqlstate));
    copy_field(r, PG_DIAG_CONSTRAINT_NAME, db->diag.constraint, sizeof(db->diag.constraint));
    copy_field(r, PG_DIAG_TABLE_NAME, db->diag.table, sizeof(db->diag.table));
    copy_field(r, PG_DIAG_COLUMN_NAME, db->diag.column, sizeof(db->diag.column));
    copy_field(r, PG_DIAG_MESSAGE_DETAIL, db->diag.detail, sizeof(db->diag.detail));
    copy_field(r, PG_DIAG_MESSAGE_HINT, db->diag.hint, sizeof(db->diag.hint));
    db->diag.position = pos != NULL ? (int)strtol(pos, NULL, 10) : 0;
}

int db_lost(struct db *db, const char *what, struct error *err)
{
    char msg[DB_DIAG_MAX];

    db_flatten(db->pg ? PQerrorMessage(db->pg) : "no connection", msg, sizeof(msg));
    if (db->tx_open)
        db->tx_lost = 1;
    snprintf(db->down_reason, sizeof(db->down_reason), "%s", msg);
    db_drop(db);
    return error_set(err, -ECONNRESET, "%s%sconnection to PostgreSQL lost (%s): %s",
                     what ? what : "", what ? ": " : "", db->where, msg);
}

static int server_error(struct db *db, const PGresult *r, const char *what, struct error *err)
{
    char msg[DB_DIAG_MAX];
    int rc;

    record_diag(db, r);
    db_flatten(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), msg, sizeof(msg));
    if (msg[0] == '\0')
        db_flatten(PQresultErrorMessage(r), msg, sizeof(msg));
    rc = db_map_sqlstate(db->diag.sqlstate);
    if (rc == -ECONNRESET)
        return db_lost(db, what, err);
    return error_set(err, rc, "%s%s%s [%s]", what ? what : "", what ? ": " : "", msg,
                     db->diag.sqlstate);
}

int db_result(struct db *db, PGresult *r, const char *what, PGresult **res, struct error *err)
{
    ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    int rc;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (res != NULL)
            *res = r;
        else
            PQclear(r);
        return 0;
    }
    if (r == NULL || db->pg == NULL || PQstatus(db->pg) != CONNECTION_OK) {
        if (r != NULL)
            record_diag(db, r);
        rc = db_lost(db, what, err);
    } else if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR)
        rc = server_error(db, r, what, err);
    else if (st == PGRES_EMPTY_QUERY)
        rc = error_set(err, -EINVAL, "%s%sempty statement", what ? what : "", what ? ": " : "");
    else {
        /* COPY and friends leave the session mid-protocol: start afresh. */
        rc = error_set(err, -EIO, "%s%sunexpected result %s", what ? what : "", what ? ": " : "",
                       PQresStatus(st));
        if (db->tx_open)
            db->tx_lost = 1;
        db_drop(db);
    }
    PQclear(r);
    return rc;
}

int db_exec(struct db *db, const char *sql, int nparams, const char *const *params, PGresult **res,
            struct error *err)
{
    int rc;

    if (res != NULL)
        *res = NULL;
    if (sql == NULL || nparams < 0 || nparams > DB_PARAMS_MAX || (nparams > 0 && !params))
        return error_set(err, -EINVAL, "db_exec: bad arguments");
    rc = db_ready(db, err);
    if (rc < 0)
        return rc;
    return db_result(db, PQexecParams(db->pg, sql, nparams, NULL, params, NULL, NULL, 0), NULL, res,
                     err);
}

static int check_stmt(const struct db_stmt *stmt, struct error *err)
{
    if (stmt == NULL || stmt->name == NULL || stmt->sql == NULL || stmt->name[0] == '\0' ||
        strlen(stmt->name) > DB_NAME_MAX || stmt->nparams < 0 || stmt->nparams > DB_PARAMS_MAX)
        return error_set(err, -EINVAL, "invalid struct db_stmt %s",
                         stmt && stmt->name ? stmt->name : "(unnamed)");
    return 0;
}

/* 1 when stmt is prepared on this session. The hot path compares pointers
 * only; names are compared once, before a statement is first prepared. */
static int find_stmt(const struct db *db, const struct db_stmt *stmt, struct error *err)
{
    for (size_t i = 0; i < db->nstmts; i++)
        if (db->stmts[i] == stmt)
            return 1;
    for (size_t i = 0; i < db->nstmts; i++)
        if (strcmp(db->stmts[i]->name, stmt->name) == 0)
            return error_set(err, -EINVAL, "two different statements are named %s", stmt->name);
    return 0;
}

static void forget_stmt(struct db *db, const struct db_stmt *stmt)
{
    for (size_t i = 0; i < db->nstmts; i++) {
        if (db->stmts[i] == stmt) {
            db->stmts[i] = db->stmts[--db->nstmts];
            return;
        }
    }
}

static int prepare_once(struct db *db, const struct db_stmt *stmt, struct error *err)
{
    int rc = find_stmt(db, stmt, err);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    rc = db_result(db, PQprepare(db->pg, stmt->name, stmt->sql, stmt->nparams, NULL), stmt->name,
                   NULL, err);
    if (rc < 0)
        return rc;
    if (db->nstmts == db->capstmts) {
        db->capstmts = db->capstmts ? db->capstmts * 2 : 32;
        db->stmts = xrealloc(db->stmts, db->capstmts * sizeof(*db->stmts));
    }
    db->stmts[db->nstmts++] = stmt;
    return 0;
}

/* 26000: the server no longer knows the statement (DISCARD ALL, a pooler in
 * between). Outside a transaction nothing was done, so prepare and run again. */
static int vanished(const struct db *db, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    return state != NULL && strcmp(state, "26000") == 0 && !db->tx_open &&
           PQtransactionStatus(db->pg) == PQTRANS_IDLE;
}

int db_exec_stmt(struct db *db, const struct db_stmt *stmt, const char *const *params,
                 PGresult **res, struct error *err)
{
    PGresult *r;
    int rc;

    if (res != NULL)
        *res = NULL;
    rc = check_stmt(stmt, err);
    if (rc == 0 && stmt->nparams > 0 && params == NULL)
        rc = error_set(err, -EINVAL, "%s: parameters missing", stmt->name);
    if (rc == 0)
        rc = db_ready(db, err);
    if (rc == 0)
        rc = prepare_once(db, stmt, err);
    if (rc < 0)
        return rc;
    r = PQexecPrepared(db->pg, stmt->name, stmt->nparams, params, NULL, NULL, 0);
    if (vanished(db, r)) {
        PQclear(r);
        forget_stmt(db, stmt);
        rc = prepare_once(db, stmt, err);
        if (rc < 0)
            return rc;
        r = PQexecPrepared(db->pg, stmt->name, stmt->nparams, params, NULL, NULL, 0);
    }
    return db_result(db, r, stmt->name, res, err);
}

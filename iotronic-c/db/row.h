/* db/row.h: typed, validated reads of result fields.
 *
 * Results come in text format. The getters check what they read (an integer
 * in range, a boolean, a timestamp, a JSON document) and name the column in
 * their message, so that callers turn a row into a struct in a few lines and
 * a schema mismatch is an error, not a silent zero. Each getter returns 0 with
 * the value, 1 when the field is SQL NULL (the output is then untouched, or
 * NULL for pointers), or -EINVAL (err set) for an unreadable value or a row or
 * column out of range. Pure functions of res: any thread. */
#ifndef IOT_DB_ROW_H
#define IOT_DB_ROW_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "common/error.h"

/* The text of a field, or NULL for SQL NULL (and out of range). Borrowed from
 * res. */
const char *db_getstr(const PGresult *res, int row, int col);

/* The index of the column called name, or -1. */
int db_col(const PGresult *res, const char *name);

int db_getint(const PGresult *res, int row, int col, int64_t min, int64_t max, int64_t *out,
              struct error *err) IOT_WUR;
int db_getdouble(const PGresult *res, int row, int col, double *out, struct error *err) IOT_WUR;

/* PostgreSQL's boolean text: 't' or 'f'. */
int db_getbool(const PGresult *res, int row, int col, int *out, struct error *err) IOT_WUR;

/* A timestamptz as µs since the epoch (the session runs in UTC, db.h). */
int db_gettime(const PGresult *res, int row, int col, int64_t *out, struct error *err) IOT_WUR;

/* A json/jsonb field as a new tree (the caller cJSON_Delete()s it); NULL and
 * 1 for SQL NULL. db_getobject() also requires a JSON object. */
int db_getjson(const PGresult *res, int row, int col, cJSON **out, struct error *err) IOT_WUR;
int db_getobject(const PGresult *res, int row, int col, cJSON **out, struct error *err) IOT_WUR;

/* Rows an INSERT/UPDATE/DELETE touched (PQcmdTuples), 0 when not told. */
int64_t db_affected(const PGresult *res);

#endif

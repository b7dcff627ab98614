/* db/db_internal.h: the inside of struct db, shared by the files of libiotdb.
 *
 * Not an interface: only the files of iotronic-c/db include this. Everything outside
 * goes through db/db.h. */
#ifndef IOT_DB_DB_INTERNAL_H
#define IOT_DB_DB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define DB_PARAMS_MAX 65535 /* the protocol's limit on bind parameters */
#define DB_WHERE_MAX 320
#define DB_DIAG_MAX 256

/* The fields of the last server error; emptied at the start of every call. */
struct db_diag {
    char sqlstate[6];
    char constraint[DB_NAME_MAX + 1];
    char table[DB_NAME_MAX + 1];
    char column[DB_NAME_MAX + 1];
    char detail[DB_DIAG_MAX];
    char hint[DB_DIAG_MAX];
    int position;
};

/* One connection. Created by db_new()/db_connect(), freed by db_close(); used
 * by one thread at a time. */
struct db {
    PGconn *pg;                   /* NULL before the first attempt and after a drop */
    char *conninfo;               /* owned; may hold a password: never printed */
    char where[DB_WHERE_MAX];     /* host/port/dbname/user, for messages */
    const struct db_stmt **stmts; /* prepared on this connection (cache keys) */
    size_t nstmts, capstmts;
    char **channels; /* LISTENed, re-issued after a reconnect */
    size_t nchannels;
    struct db_diag diag;
    int tx_open;                   /* between db_begin() and db_commit()/db_rollback() */
    int tx_lost;                   /* the connection broke while tx_open */
    int64_t retry_at_ms;           /* monotonic: no reconnect attempt before */
    int backoff_ms;                /* current reconnect back-off, 0 after success */
    char down_reason[DB_DIAG_MAX]; /* why the last attempt failed */
};

/* Makes db usable for a statement: connects or reconnects when needed,
 * refuses while a lost transaction has not been rolled back, and empties the
 * diagnostics. 0 or a negative errno with err set. */
int db_ready(struct db *db, struct error *err);

/* Consumes r (which may be NULL): 0 and *res = r (or PQclear) when it is a
 * success, else records the diagnostics, maps the SQLSTATE, drops a broken
 * connection and returns the error. what names the statement in messages
 * (may be NULL). */
int db_result(struct db *db, PGresult *r, const char *what, PGresult **res, struct error *err);

/* The session is gone: records why, marks a lost transaction, drops the
 * connection and returns -ECONNRESET with "<what>: connection ... lost". */
int db_lost(struct db *db, const char *what, struct error *err);

/* Closes the libpq connection (not db): the next db_ready() reconnects. */
void db_drop(struct db *db);

/* The errno for a SQLSTATE (the table in db.h). */
int db_map_sqlstate(const char *sqlstate);

/* Copies s into out (cap bytes) with newlines and tabs turned into single
 * spaces and trailing blanks removed: libpq messages span lines. */
void db_flatten(const char *s, char *out, size_t cap);

#endif

/* db/db.h: one PostgreSQL connection (libpq) for the cloud daemons.
 *
 * A struct db is one connection used by one thread at a time: a worker of the
 * daemon's wq (common/wq.h) or a connection borrowed from a db_pool
 * (db/pool.h). None of these calls may run on an event-loop thread: every one
 * of them can block on the network.
 *
 * Invariants:
 *   - SQL goes to the server only as text fixed in the program (a literal, a
 *     static const struct db_stmt, or a migration file of db/migrations) with
 *     input passed as $n parameters. No function here builds SQL from input.
 *   - A broken connection is noticed (PQstatus, or EOF on the idle socket) and
 *     reset on the next call. A call that was cut by the break returns
 *     -ECONNRESET with the reason; nothing is retried behind the caller's back
 *     once a statement may have reached the server.
 *   - After a reset, prepared statements are prepared again lazily and LISTENs
 *     are issued again; the session runs with TimeZone UTC and DateStyle ISO.
 *   - Errors from the server are mapped from their SQLSTATE (table below); the
 *     SQLSTATE, constraint, table and column of the last failure stay readable
 *     through db_last_*() until the next call on the same db.
 *
 * SQLSTATE mapping (the return value of a failed call):
 *   23505 unique, 23P01 exclusion        -EEXIST
 *   23503 foreign key, 23001 restrict    -EBUSY  (a DELETE whose row is still
 *         referenced, or an INSERT/UPDATE naming a missing row: the caller knows
 *         which from its statement; db_last_constraint() names the FK)
 *   22xxx data, 23502 not null, 23514 check  -EINVAL
 *   40001 serialization, 40P01 deadlock  -EAGAIN (db_tx() retries these)
 *   08xxx, 57P01-57P03, lost connection  -ECONNRESET
 *   57014 cancel/statement_timeout, 55P03 lock_timeout / NOWAIT  -ETIMEDOUT
 *   42501 insufficient privilege, 28xxx  -EACCES
 *   25006 read-only transaction (standby) -EROFS
 *   53100 disk full                      -ENOSPC
 *   anything else                        -EIO */
#ifndef IOT_DB_DB_H
#define IOT_DB_DB_H

#include <libpq-fe.h>
#include <stdint.h>

#include "common/error.h"

/* Seconds libpq may spend establishing a connection, unless the connection
 * string says otherwise (connect_timeout=...). */
#define DB_CONNECT_TIMEOUT_S 5

/* Attempts of db_tx() before -EAGAIN is returned to the caller. */
#define DB_TX_ATTEMPTS 5

/* Longest channel and statement name PostgreSQL keeps (NAMEDATALEN - 1). */
#define DB_NAME_MAX 63

/* Room for any int64 as decimal text, with the NUL (db_param_int()). */
#define DB_INT_LEN 21

struct db; /* opaque; one per connection */

/* A named statement, prepared once per connection on first use. Declare it
 * `static const` next to the code that runs it; the pointer is the cache key
 * and the name must be unique in the process (at most DB_NAME_MAX bytes). */
struct db_stmt {
    const char *name;
    const char *sql;
    int nparams;
};

enum db_isolation {
    DB_READ_COMMITTED = 0, /* PostgreSQL's default */
    DB_REPEATABLE_READ,
    DB_SERIALIZABLE,
};

/* Connects now. conninfo is a libpq URI (postgresql://...) or key=value
 * string. On success *out is a new db (db_close()). On failure the message
 * names host, port, database and user, never the password; the code is
 * -ENOENT (no such database), -EACCES (authentication, unknown role),
 * -EINVAL (unparsable conninfo) or -ECONNREFUSED (unreachable, refused,
 * timed out, anything else). Any thread; blocks. */
int db_connect(const char *conninfo, struct db **out, struct error *err) IOT_WUR;

/* Like db_connect() but does not connect: the first call that needs the
 * server does. Only the syntax of conninfo is checked (-EINVAL). For a wq
 * thread_init hook, so that a worker started while the database is down still
 * comes up and connects later. */
int db_new(const char *conninfo, struct db **out, struct error *err) IOT_WUR;

/* Closes the connection and frees db. Accepts NULL. */
void db_close(struct db *db);

/* Worker-pool hooks (common/wq.h, loop_wq_hooks()) giving each worker thread
 * its own connection, made with db_new(): hook_arg is the conninfo string,
 * which must outlive the pool. A bad conninfo is logged and leaves the
 * thread without a database (thread_ctx NULL): its jobs answer 503. */
void *db_thread_open(void *conninfo);
void db_thread_close(void *thread_ctx, void *conninfo);

/* Runs one statement with text parameters (params[i] NULL is SQL NULL;
 * params may be NULL when nparams is 0). sql must be fixed program text. On
 * success returns 0 and, when res is not NULL, *res holds the result (the
 * caller PQclear()s it); on failure *res is NULL. Any thread that owns db. */
int db_exec(struct db *db, const char *sql, int nparams, const char *const *params, PGresult **res,
            struct error *err) IOT_WUR;

/* Runs a named statement, preparing it on this connection the first time it
 * is used (and again after a reconnect). Same results as db_exec(). */
int db_exec_stmt(struct db *db, const struct db_stmt *stmt, const char *const *params,
                 PGresult **res, struct error *err) IOT_WUR;

/* What the last failed call of db reported; "" (0 for the position) when the
 * last call succeeded or failed without a server error. db_rollback() keeps
 * them, so they still describe the failure that led to it. Borrowed, valid
 * until the next call on db. */
const char *db_last_sqlstate(const struct db *db);
const char *db_last_constraint(const struct db *db);
const char *db_last_table(const struct db *db);
const char *db_last_column(const struct db *db);
const char *db_last_detail(const struct db *db); /* may quote row values: log with care */
const char *db_last_hint(const struct db *db);
int db_last_position(const struct db *db); /* 1-based character in the statement */

/* Host, port, database and user of db as "host=H port=P dbname=D user=U",
 * for messages; never the password. Borrowed, valid while db lives. */
const char *db_where(const struct db *db);

/* 1 inside a transaction block (including a failed one), else 0. */
int db_in_transaction(const struct db *db);

/* The server process id of the current connection, 0 when not connected. */
int db_backend_pid(const struct db *db);

/* Transactions. db_begin() refuses (-EINVAL) when a transaction is open.
 * db_commit() returns -EAGAIN on a serialization failure at commit, -EIO when
 * an earlier statement had failed (the transaction is rolled back then), and
 * -ECONNRESET when the connection broke during COMMIT (the outcome is then
 * unknown, and says so). db_rollback() is a no-op outside a transaction and
 * returns 0 when the connection is gone (the server discarded the work). */
int db_begin(struct db *db, struct error *err) IOT_WUR;
int db_begin_iso(struct db *db, enum db_isolation iso, struct error *err) IOT_WUR;
int db_commit(struct db *db, struct error *err) IOT_WUR;
int db_rollback(struct db *db, struct error *err);

/* The body of a transaction: returns >= 0 to commit, < 0 to roll back. */
typedef int (*db_tx_fn)(struct db *db, void *arg, struct error *err);

/* Runs fn inside BEGIN ... COMMIT, up to DB_TX_ATTEMPTS times while it (or
 * the COMMIT) fails with -EAGAIN, or fn fails with -ECONNRESET (the server
 * rolled that attempt back), with a short random back-off in between (so:
 * worker threads only). fn must therefore have no effect outside the
 * database, or one it can repeat. Returns fn's value once committed, else the
 * error. db_tx_iso() chooses the isolation level. */
int db_tx(struct db *db, db_tx_fn fn, void *arg, struct error *err) IOT_WUR;
int db_tx_iso(struct db *db, enum db_isolation iso, db_tx_fn fn, void *arg,
              struct error *err) IOT_WUR;

/* LISTEN/NOTIFY. Channel names are identifiers fixed in code (at most
 * DB_NAME_MAX bytes); they are quoted anyway. LISTENs survive reconnects. Do
 * not LISTEN on a pooled connection (db_pool_release() drops them). */
int db_listen(struct db *db, const char *channel, struct error *err) IOT_WUR;
/* channel NULL: every channel (UNLISTEN *). */
int db_unlisten(struct db *db, const char *channel, struct error *err) IOT_WUR;

/* NOTIFY channel with payload (may be NULL) via pg_notify($1, $2): delivered
 * when the surrounding transaction commits. */
int db_notify(struct db *db, const char *channel, const char *payload, struct error *err) IOT_WUR;

/* The socket to poll() for POLLIN, or -1 when not connected. It changes after
 * a reconnect: fetch it again after every db_notifies(). */
int db_socket(const struct db *db);

/* Waits up to timeout_ms for the socket to become readable (a notification
 * or a broken connection). 1 readable, 0 timed out. When not connected it
 * just sleeps the timeout (db_notifies() will reconnect). Worker threads only. */
int db_wait(struct db *db, int timeout_ms);

typedef void (*db_notify_cb)(const char *channel, const char *payload, int sender_pid, void *arg);

/* Delivers every notification that has arrived, without blocking, calling cb
 * (on this thread; it must not use db) for each. Call it before waiting and
 * after any statement on db: a statement may read notifications into
 * libpq's queue, where the socket no longer shows them. Returns how many, or -ECONNRESET when the
 * connection broke: notifications may then have been lost, so the caller
 * re-reads whatever state it follows; the next call reconnects and LISTENs
 * again. */
int db_notifies(struct db *db, db_notify_cb cb, void *arg, struct error *err) IOT_WUR;

/* Writes v as decimal text into buf and returns buf: a parameter value. */
const char *db_param_int(char buf[DB_INT_LEN], int64_t v);

/* Parameter text of a boolean: "true" or "false" (static strings). */
const char *db_param_bool(int v);

#endif

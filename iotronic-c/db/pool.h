/* db/pool.h: a fixed set of connections shared by threads.
 *
 * For daemons whose database work does not map one-to-one onto worker
 * threads (the other way, one struct db per wq worker made in the wq
 * thread_init hook with db_new(), needs no pool). A pool holds `size`
 * connections, created lazily except the first, which db_pool_new() opens so
 * that a wrong connection string fails at start. A connection is used by the
 * thread that acquired it until it is released; a released connection that is
 * still in a transaction is rolled back, and one that broke reconnects on its
 * next use. Any thread may call these functions (never an event loop: acquire
 * blocks). One pool per daemon, made in main and freed after the workers
 * stopped. */
#ifndef IOT_DB_POOL_H
#define IOT_DB_POOL_H

#include <stdint.h>

#include "common/error.h"
#include "db/db.h"

#define DB_POOL_MAX 1024

struct db_pool;

struct db_pool_stats {
    int size;          /* connections the pool may hold */
    int in_use;        /* acquired and not yet released */
    uint64_t acquired; /* successful acquisitions */
    uint64_t waited;   /* of which had to wait for a release */
    uint64_t timeouts; /* acquisitions that gave up */
};

/* Makes a pool of size (1..DB_POOL_MAX) connections to conninfo and connects
 * the first. On success *out is new (db_pool_free()); errors as db_connect(). */
int db_pool_new(const char *conninfo, int size, struct db_pool **out, struct error *err) IOT_WUR;

/* Frees the pool and its connections. Every connection must have been
 * released; one that was not is reported (log) and leaked rather than freed
 * under its user. Accepts NULL. */
void db_pool_free(struct db_pool *pool);

/* Takes a connection, waiting up to timeout_ms (0: do not wait; < 0: no
 * limit) for one to be released. *out is lent until db_pool_release().
 * -ETIMEDOUT, with a message, when none became free. */
int db_pool_acquire(struct db_pool *pool, int timeout_ms, struct db **out,
                    struct error *err) IOT_WUR;

/* Gives db back; rolls back an open transaction and drops LISTENs. db may be
 * NULL. */
void db_pool_release(struct db_pool *pool, struct db *db);

void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out);

#endif

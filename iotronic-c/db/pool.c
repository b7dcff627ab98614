/* db/pool.c: see pool.h.
 *
 * All `size` struct db objects exist from the start (lazy ones connect on
 * first use, db.c), so acquiring never allocates and the pool never changes
 * size. Idle connections form a stack: the most recently used, warmest
 * connection is handed out first, and rarely needed ones may stay
 * unconnected. One mutex guards the stack and the statistics; waiting uses a
 * monotonic-clock condition variable so that wall-clock jumps do not stretch
 * a timeout. */
#include "db/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "db/db_internal.h"

struct db_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct db **all;  /* size connections, owned */
    struct db **idle; /* stack of the free ones */
    int nidle;
    struct db_pool_stats st;
};

int db_pool_new(const char *conninfo, int size, struct db_pool **out, struct error *err)
{
    struct db_pool *pool;
    pthread_condattr_t attr;
    int rc;

    if (size < 1 || size > DB_POOL_MAX)
        return error_set(err, -EINVAL, "database pool size %d is not in 1..%d", size, DB_POOL_MAX);
    pool = xcalloc(1, sizeof(*pool));
    pool->all = xcalloc((size_t)size, sizeof(*pool->all));
    pool->idle = xcalloc((size_t)size, sizeof(*pool->idle));
    pool->st.size = size;
    rc = db_connect(conninfo, &pool->all[0], err);
    for (int i = 1; rc == 0 && i < size; i++)
        rc = db_new(conninfo, &pool->all[i], err);
    if (rc < 0) {
        for (int i = 0; i < size; i++)
            db_close(pool->all[i]);
        free(pool->all);
        free(pool->idle);
        free(pool);
        return rc;
    }
    for (int i = size - 1; i >= 0; i--) /* all[0], the connected one, on top */
        pool->idle[pool->nidle++] = pool->all[i];
    pthread_mutex_init(&pool->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->freed, &attr);
    pthread_condattr_destroy(&attr);
    *out = pool;
    return 0;
}

void db_pool_free(struct db_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    if (pool->nidle != pool->st.size)
        log_error("database pool freed with %d connection(s) still in use: leaking them",
                  pool->st.size - pool->nidle);
    for (int i = 0; i < pool->nidle; i++)
        db_close(pool->idle[i]);
    pthread_mutex_unlock(&pool->lock);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->freed);
    free(pool->all);
    free(pool->idle);
    free(pool);
}

static struct timespec deadline_after(int ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int db_pool_acquire(struct db_pool *pool, int timeout_ms, struct db **out, struct error *err)
{
    struct timespec until = deadline_after(timeout_ms > 0 ? timeout_ms : 0);
    int rc = 0;

    pthread_mutex_lock(&pool->lock);
    if (pool->nidle == 0)
        pool->st.waited++;
    while (pool->nidle == 0 && rc == 0) {
        if (timeout_ms < 0)
            rc = pthread_cond_wait(&pool->freed, &pool->lock);
        else if (timeout_ms == 0)
            rc = ETIMEDOUT;
        else
            rc = pthread_cond_timedwait(&pool->freed, &pool->lock, &until);
    }
    if (pool->nidle == 0) {
        pool->st.timeouts++;
        pthread_mutex_unlock(&pool->lock);
        return error_set(err, -ETIMEDOUT,
                         "no free database connection within %d ms (all %d in use)", timeout_ms,
                         pool->st.size);
    }
    *out = pool->idle[--pool->nidle];
    pool->st.acquired++;
    pool->st.in_use = pool->st.size - pool->nidle;
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

static int owned(const struct db_pool *pool, const struct db *db)
{
    for (int i = 0; i < pool->st.size; i++)
        if (pool->all[i] == db)
            return 1;
    return 0;
}

static int is_idle(struct db_pool *pool, const struct db *db)
{
    int found = 0;

    pthread_mutex_lock(&pool->lock);
    for (int i = 0; i < pool->nidle && !found; i++)
        found = pool->idle[i] == db;
    pthread_mutex_unlock(&pool->lock);
    return found;
}

void db_pool_release(struct db_pool *pool, struct db *db)
{
    if (db == NULL)
        return;
    if (!owned(pool, db) || is_idle(pool, db)) {
        log_error("db_pool_release: connection not lent by this pool, ignored");
        return;
    }
    /* The next user must find a clean session. */
    if (db_in_transaction(db) || db->tx_lost)
        (void)db_rollback(db, NULL);
    if (db->nchannels > 0 && db_unlisten(db, NULL, NULL) < 0)
        log_debug("db_pool_release: UNLISTEN failed; the next use reconnects if need be");
    pthread_mutex_lock(&pool->lock);
    pool->idle[pool->nidle++] = db;
    pool->st.in_use = pool->st.size - pool->nidle;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out)
{
    pthread_mutex_lock(&pool->lock);
    *out = pool->st;
    pthread_mutex_unlock(&pool->lock);
}

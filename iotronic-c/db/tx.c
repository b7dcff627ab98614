/* db/tx.c: transactions and the retrying transaction runner.
 *
 * struct db tracks whether the caller opened a transaction (tx_open) and
 * whether the connection broke inside it (tx_lost). A lost transaction blocks
 * every statement until db_rollback(): reconnecting silently would run the
 * rest of the caller's work in autocommit, half of a transaction committed. */
#include "db/db.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/uuid.h"
#include "db/db_internal.h"

static const char *const begin_sql[] = {
    [DB_READ_COMMITTED] = "BEGIN",
    [DB_REPEATABLE_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ",
    [DB_SERIALIZABLE] = "BEGIN ISOLATION LEVEL SERIALIZABLE",
};

int db_begin_iso(struct db *db, enum db_isolation iso, struct error *err)
{
    int rc;

    if ((int)iso < 0 || (size_t)iso >= sizeof(begin_sql) / sizeof(begin_sql[0]))
        return error_set(err, -EINVAL, "unknown isolation level %d", (int)iso);
    if (db->tx_open || db->tx_lost)
        return error_set(err, -EINVAL, "a transaction is already open on this connection");
    rc = db_exec(db, begin_sql[iso], 0, NULL, NULL, err);
    if (rc == 0)
        db->tx_open = 1;
    return rc;
}

int db_begin(struct db *db, struct error *err)
{
    return db_begin_iso(db, DB_READ_COMMITTED, err);
}

int db_commit(struct db *db, struct error *err)
{
    PGresult *res = NULL;
    int rc;

    if (!db->tx_open)
        return error_set(err, -EINVAL, "COMMIT without a transaction");
    if (db->tx_lost || db->pg == NULL || PQstatus(db->pg) != CONNECTION_OK) {
        db->tx_open = db->tx_lost = 0;
        db_drop(db);
        return error_set(err, -ECONNRESET,
                         "connection to PostgreSQL lost (%s) before COMMIT: "
                         "nothing was committed",
                         db->where);
    }
    if (PQtransactionStatus(db->pg) == PQTRANS_INERROR) {
        db_rollback(db, NULL);
        return error_set(err, -EIO, "transaction aborted by an earlier error: rolled back");
    }
    rc = db_exec(db, "COMMIT", 0, NULL, &res, err);
    if (rc == -ECONNRESET) {
        db->tx_open = db->tx_lost = 0;
        return error_set(err, -ECONNRESET,
                         "connection to PostgreSQL lost (%s) during COMMIT: "
                         "the transaction may or may not have been committed",
                         db->where);
    }
    db->tx_open = 0; /* a failed COMMIT has ended the transaction too */
    /* COMMIT of a transaction the server had aborted reports ROLLBACK, not an error. */
    if (rc == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
        rc = error_set(err, -EIO, "transaction aborted by an earlier error: rolled back");
    PQclear(res);
    return rc;
}

int db_rollback(struct db *db, struct error *err)
{
    struct db_diag failure = db->diag; /* what made the caller roll back stays readable */
    int was_open = db->tx_open, rc;

    db->tx_open = 0;
    if (db->tx_lost) {
        db->tx_lost = 0;
        return 0;
    }
    if (db->pg == NULL || PQstatus(db->pg) != CONNECTION_OK)
        return 0;
    if (!was_open && PQtransactionStatus(db->pg) == PQTRANS_IDLE)
        return 0;
    rc = db_exec(db, "ROLLBACK", 0, NULL, NULL, err);
    if (rc == 0)
        db->diag = failure;
    return rc == -ECONNRESET ? 0 : rc;
}

/* A few milliseconds, random so that two retrying writers fall apart. */
static void backoff(int attempt)
{
    uint64_t us = 500 + rand_below(1000ull << (attempt < 6 ? attempt : 6));
    struct timespec ts = {0, (long)(us * 1000)};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int db_tx_iso(struct db *db, enum db_isolation iso, db_tx_fn fn, void *arg, struct error *err)
{
    for (int attempt = 1;; attempt++) {
        int rc = db_begin_iso(db, iso, err), retry;

        if (rc == 0) {
            rc = fn(db, arg, err);
            if (rc >= 0) {
                int c = db_commit(db, err);

                if (c == 0)
                    return rc;
                /* After a lost COMMIT the outcome is unknown: never repeat it. */
                retry = c == -EAGAIN;
                rc = c;
            } else {
                db_rollback(db, NULL);
                retry = rc == -EAGAIN || rc == -ECONNRESET;
            }
        } else {
            retry = rc == -ECONNRESET && !db->tx_open;
        }
        if (!retry || attempt >= DB_TX_ATTEMPTS)
            return rc;
        log_debug("transaction attempt %d failed, retrying: %s", attempt, err ? err->msg : "");
        backoff(attempt);
    }
}

int db_tx(struct db *db, db_tx_fn fn, void *arg, struct error *err)
{
    return db_tx_iso(db, DB_READ_COMMITTED, fn, arg, err);
}

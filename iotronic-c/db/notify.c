/* db/notify.c: LISTEN/NOTIFY, for waiters that must learn of a commit made
 * by another process (the deviceless API waiting on qinling_executions).
 *
 * The channels a db listens to are remembered, so that a new session after a
 * break LISTENs again (db.c). What arrives while the connection is down is
 * lost: db_notifies() then says -ECONNRESET once, and the caller re-reads the
 * state it follows. */
#include "db/db.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"
#include "db/db_internal.h"

static int check_channel(const char *channel, struct error *err)
{
    size_t len = channel ? strlen(channel) : 0;

    if (len == 0 || len > DB_NAME_MAX)
        return error_set(err, -EINVAL, "invalid channel name");
    return 0;
}

static ssize_t find_channel(const struct db *db, const char *channel)
{
    for (size_t i = 0; i < db->nchannels; i++)
        if (strcmp(db->channels[i], channel) == 0)
            return (ssize_t)i;
    return -1;
}

/* LISTEN or UNLISTEN one channel; the name is quoted though it is ours. */
static int run_on_channel(struct db *db, const char *verb, const char *channel, struct error *err)
{
    char *id, *sql;
    int rc = db_ready(db, err);

    if (rc < 0)
        return rc;
    id = PQescapeIdentifier(db->pg, channel, strlen(channel));
    if (id == NULL)
        return error_set(err, -EINVAL, "cannot quote channel %s", channel);
    sql = xasprintf("%s %s", verb, id);
    PQfreemem(id);
    rc = db_result(db, PQexec(db->pg, sql), verb, NULL, err);
    free(sql);
    return rc;
}

int db_listen(struct db *db, const char *channel, struct error *err)
{
    int rc = check_channel(channel, err);

    if (rc < 0)
        return rc;
    if (find_channel(db, channel) >= 0)
        return 0;
    rc = run_on_channel(db, "LISTEN", channel, err);
    if (rc < 0)
        return rc;
    db->channels = xrealloc(db->channels, (db->nchannels + 1) * sizeof(*db->channels));
    db->channels[db->nchannels++] = xstrdup(channel);
    return 0;
}

static int unlisten_all(struct db *db, struct error *err)
{
    int rc = 0;

    for (size_t i = 0; i < db->nchannels; i++)
        free(db->channels[i]);
    db->nchannels = 0;
    if (db->pg != NULL && PQstatus(db->pg) == CONNECTION_OK)
        rc = db_exec(db, "UNLISTEN *", 0, NULL, NULL, err);
    return rc == -ECONNRESET ? 0 : rc; /* a new session listens to nothing */
}

int db_unlisten(struct db *db, const char *channel, struct error *err)
{
    ssize_t i;
    int rc;

    if (channel == NULL)
        return unlisten_all(db, err);
    rc = check_channel(channel, err);
    if (rc < 0)
        return rc;
    i = find_channel(db, channel);
    if (i < 0)
        return 0;
    free(db->channels[i]);
    db->channels[i] = db->channels[--db->nchannels];
    if (db->pg == NULL || PQstatus(db->pg) != CONNECTION_OK)
        return 0;
    rc = run_on_channel(db, "UNLISTEN", channel, err);
    return rc == -ECONNRESET ? 0 : rc;
}

int db_notify(struct db *db, const char *channel, const char *payload, struct error *err)
{
    const char *params[] = {channel, payload ? payload : ""};
    int rc = check_channel(channel, err);

    if (rc < 0)
        return rc;
    return db_exec(db, "SELECT pg_notify($1, $2)", 2, params, NULL, err);
}

int db_socket(const struct db *db)
{
    return db->pg != NULL && PQstatus(db->pg) == CONNECTION_OK ? PQsocket(db->pg) : -1;
}

int db_wait(struct db *db, int timeout_ms)
{
    struct pollfd p = {.fd = db_socket(db), .events = POLLIN};
    int n;

    if (timeout_ms < 0)
        timeout_ms = 0;
    if (p.fd < 0) {
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        return 0;
    }
    n = poll(&p, 1, timeout_ms);
    return n > 0 ? 1 : 0;
}

int db_notifies(struct db *db, db_notify_cb cb, void *arg, struct error *err)
{
    struct pollfd p;
    PGnotify *n;
    int count = 0, rc;

    if (db->pg == NULL || PQstatus(db->pg) != CONNECTION_OK) {
        rc = db_ready(db, err); /* reconnects and LISTENs again */
        return rc < 0 ? rc : 0;
    }
    /* Read what is there, hand it out, and read again: the second read sees
     * the EOF that follows a terminated backend's goodbye. Notifications are
     * parsed before that, so none that arrived before the break is lost. */
    p = (struct pollfd){.fd = PQsocket(db->pg), .events = POLLIN};
    for (int i = 0; i < 2; i++) {
        int ok = PQconsumeInput(db->pg) && PQstatus(db->pg) == CONNECTION_OK;

        while ((n = PQnotifies(db->pg)) != NULL) {
            cb(n->relname, n->extra, n->be_pid, arg);
            PQfreemem(n);
            count++;
        }
        if (!ok)
            return db_lost(db, "notifications", err);
        if (poll(&p, 1, 0) <= 0)
            break;
    }
    return count;
}

/* db/db.c: the life of one connection: connect, notice a break, reconnect.
 *
 * A connection is (re)established with the same parameters every time, and
 * each new session is set up identically (UTC, ISO dates, the LISTENs), so
 * that a reconnect is invisible to callers except for the one call that the
 * break cut. Reconnect attempts after a failure back off (250 ms doubling up to
 * 5 s): while the server is down, calls fail at once instead of each waiting
 * for a connect timeout. */
#include "db/db.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "db/db_internal.h"

#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 5000

/* Runs once per new session; the LISTENs follow. */
static const char SQL_SESSION[] = "SET TIME ZONE 'UTC'; SET DateStyle TO 'ISO, YMD'";

void db_flatten(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    int space = 0;

    if (cap == 0)
        return;
    for (; s != NULL && *s != '\0' && n + 1 < cap; s++) {
        if (*s == '\n' || *s == '\t' || *s == '\r') {
            if (n > 0 && (*s == '\n' || space == 0))
                space = *s == '\n' ? 2 : 1;
            continue;
        }
        /* A line break before a new sentence becomes "; ". */
        if (space == 2 && n + 3 < cap && strchr(".:;,", out[n - 1]) == NULL &&
            isupper((unsigned char)*s))
            out[n++] = ';';
        if (space && n + 2 < cap && out[n - 1] != ' ')
            out[n++] = ' ';
        space = 0;
        out[n++] = *s;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

static void set_where(struct db *db)
{
    const char *host = PQhost(db->pg), *port = PQport(db->pg);
    const char *name = PQdb(db->pg), *user = PQuser(db->pg);

    snprintf(db->where, sizeof(db->where), "host=%s port=%s dbname=%s user=%s",
             host && *host ? host : "(default)", port && *port ? port : "5432", name ? name : "?",
             user ? user : "?");
}

/* Server notices go to our log: warnings (and a FATAL announced while idle,
 * such as an administrator's termination) as warnings, the rest as debug. */
static void on_notice(void *arg, const PGresult *r)
{
    const struct db *db = arg;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    char msg[DB_DIAG_MAX];

    db_flatten(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), msg, sizeof(msg));
    if (sev != NULL && strcmp(sev, "NOTICE") != 0 && strcmp(sev, "INFO") != 0 &&
        strncmp(sev, "DEBUG", 5) != 0 && strcmp(sev, "LOG") != 0)
        log_warn("postgres %s: %s (%s)", sev, msg, db->where);
    else
        log_debug("postgres %s: %s (%s)", sev ? sev : "notice", msg, db->where);
}

/* libpq tells a missing database from bad credentials only in words. */
static int connect_errno(const char *msg)
{
    static const struct {
        const char *needle;
        int code;
    } table[] = {
        {"does not exist", -ENOENT}, /* database "x" / role "x": see below */
        {"authentication failed", -EACCES},
        {"no pg_hba.conf entry", -EACCES},
        {"no password supplied", -EACCES},
        {"permission denied", -EACCES},
        {"invalid connection option", -EINVAL},
        {"invalid URI", -EINVAL},
        {"invalid integer value", -EINVAL},
        {"missing \"=\"", -EINVAL},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strstr(msg, table[i].needle) == NULL)
            continue;
        if (table[i].code == -ENOENT && strstr(msg, "role \"") != NULL)
            return -EACCES;
        return table[i].code;
    }
    return -ECONNREFUSED;
}

static int relisten(struct db *db, struct error *err)
{
    for (size_t i = 0; i < db->nchannels; i++) {
        char *id = PQescapeIdentifier(db->pg, db->channels[i], strlen(db->channels[i]));
        char *sql;
        PGresult *r;

        if (id == NULL)
            return error_set(err, -EIO, "cannot quote channel %s", db->channels[i]);
        sql = xasprintf("LISTEN %s", id);
        PQfreemem(id);
        r = PQexec(db->pg, sql);
        free(sql);
        if (db_result(db, r, "LISTEN", NULL, err) < 0)
            return err ? err->code : -EIO;
    }
    return 0;
}

static int setup_session(struct db *db, struct error *err)
{
    PQsetNoticeReceiver(db->pg, on_notice, db);
    if (db_result(db, PQexec(db->pg, SQL_SESSION), "session setup", NULL, err) < 0)
        return err ? err->code : -EIO;
    return relisten(db, err);
}

/* One attempt; on failure db->pg is left NULL and down_reason says why. */
static int open_conn(struct db *db, struct error *err)
{
    static const char *const kw[] = {"connect_timeout", "fallback_application_name", "dbname",
                                     NULL};
    char timeout[16], msg[DB_DIAG_MAX];
    const char *val[4];
    int rc;

    db_drop(db);
    snprintf(timeout, sizeof(timeout), "%d", DB_CONNECT_TIMEOUT_S);
    val[0] = timeout;
    val[1] = program_invocation_short_name;
    val[2] = db->conninfo; /* expand_dbname: the whole string, overriding the defaults */
    val[3] = NULL;
    db->pg = PQconnectdbParams(kw, val, 1);
    if (db->pg == NULL)
        return error_set(err, -ENOMEM, "cannot connect to PostgreSQL: out of memory");
    set_where(db);
    if (PQstatus(db->pg) != CONNECTION_OK) {
        db_flatten(PQerrorMessage(db->pg), msg, sizeof(msg));
        rc = connect_errno(msg);
        snprintf(db->down_reason, sizeof(db->down_reason), "%s", msg);
        db_drop(db);
        return error_set(err, rc, "cannot connect to PostgreSQL (%s): %s", db->where, msg);
    }
    db->nstmts = 0; /* prepared statements died with the old session */
    rc = setup_session(db, err);
    if (rc < 0) {
        snprintf(db->down_reason, sizeof(db->down_reason), "%.200s", err ? err->msg : "setup");
        db_drop(db);
    }
    return rc;
}

void db_drop(struct db *db)
{
    if (db->pg != NULL)
        PQfinish(db->pg);
    db->pg = NULL;
    db->nstmts = 0;
}

/* When the idle socket is readable, the server has said something unasked:
 * a notification, or the goodbye of a terminated backend followed by EOF.
 * Reading it now lets a dead idle connection be replaced before a statement
 * is sent, so nothing is lost. */
static void probe_idle(struct db *db)
{
    struct pollfd p = {.fd = PQsocket(db->pg), .events = POLLIN};

    for (int i = 0; i < 2 && p.fd >= 0 && poll(&p, 1, 0) > 0; i++)
        if (!PQconsumeInput(db->pg))
            break;
}

static int reconnect(struct db *db, struct error *err)
{
    int64_t now = time_mono_ms();
    int rc;

    if (now < db->retry_at_ms)
        return error_set(err, -ECONNRESET, "database unavailable (%s): %s; next attempt in %d ms",
                         db->where, db->down_reason, (int)(db->retry_at_ms - now));
    rc = open_conn(db, err);
    if (rc == 0) {
        if (db->backoff_ms > 0)
            log_info("reconnected to PostgreSQL (%s)", db->where);
        db->backoff_ms = 0;
        db->retry_at_ms = 0;
        return 0;
    }
    db->backoff_ms = db->backoff_ms ? db->backoff_ms * 2 : BACKOFF_FIRST_MS;
    if (db->backoff_ms > BACKOFF_MAX_MS)
        db->backoff_ms = BACKOFF_MAX_MS;
    db->retry_at_ms = time_mono_ms() + db->backoff_ms;
    /* Whatever the cause, for a running daemon it is a lost connection. */
    if (err != NULL)
        err->code = -ECONNRESET;
    return -ECONNRESET;
}

int db_ready(struct db *db, struct error *err)
{
    memset(&db->diag, 0, sizeof(db->diag));
    if (db->tx_lost)
        return error_set(err, -ECONNRESET,
                         "the connection broke inside a transaction (%s): roll it back first",
                         db->where);
    if (db->pg != NULL && !db->tx_open && PQtransactionStatus(db->pg) == PQTRANS_IDLE)
        probe_idle(db);
    if (db->pg != NULL && PQstatus(db->pg) == CONNECTION_OK)
        return 0;
    if (db->tx_open) {
        /* A new session would silently run the rest in autocommit. */
        db->tx_lost = 1;
        db_drop(db);
        return error_set(err, -ECONNRESET,
                         "the connection broke inside a transaction (%s): roll it back first",
                         db->where);
    }
    if (db->pg != NULL) {
        db_flatten(PQerrorMessage(db->pg), db->down_reason, sizeof(db->down_reason));
        log_warn("lost the connection to PostgreSQL (%s): %s", db->where, db->down_reason);
        db_drop(db);
    }
    return reconnect(db, err);
}

/* A password must not reach a message: libpq's parse errors quote the text. */
static int looks_secret(const char *conninfo)
{
    const char *at = strchr(conninfo, '@'), *scheme = strstr(conninfo, "://");

    if (strstr(conninfo, "password") != NULL)
        return 1;
    return scheme != NULL && at != NULL && memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
}

static int check_conninfo(const char *conninfo, struct error *err)
{
    PQconninfoOption *opts;
    char *msg = NULL;

    if (conninfo == NULL || *conninfo == '\0')
        return error_set(err, -EINVAL, "empty database connection string");
    /* A bare word is a database name (libpq's expand_dbname rule). */
    if (strchr(conninfo, '=') == NULL && strstr(conninfo, "://") == NULL)
        return 0;
    opts = PQconninfoParse(conninfo, &msg);
    if (opts != NULL) {
        PQconninfoFree(opts);
        return 0;
    }
    if (msg != NULL && !looks_secret(conninfo)) {
        char flat[DB_DIAG_MAX];

        db_flatten(msg, flat, sizeof(flat));
        error_set(err, -EINVAL, "invalid database connection string: %s", flat);
    } else {
        error_set(err, -EINVAL,
                  "invalid database connection string (details withheld: it "
                  "contains a password)");
    }
    PQfreemem(msg);
    return -EINVAL;
}

int db_new(const char *conninfo, struct db **out, struct error *err)
{
    struct db *db;
    int rc = check_conninfo(conninfo, err);

    if (rc < 0)
        return rc;
    db = xcalloc(1, sizeof(*db));
    db->conninfo = xstrdup(conninfo);
    snprintf(db->where, sizeof(db->where), "not connected yet");
    *out = db;
    return 0;
}

int db_connect(const char *conninfo, struct db **out, struct error *err)
{
    struct db *db = NULL;
    int rc = db_new(conninfo, &db, err);

    if (rc < 0)
        return rc;
    rc = open_conn(db, err);
    if (rc < 0) {
        db_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

void *db_thread_open(void *conninfo)
{
    struct db *db = NULL;
    struct error err;

    if (db_new(conninfo, &db, &err) < 0)
        log_error("database: %s", err.msg);
    return db;
}

void db_thread_close(void *thread_ctx, void *conninfo)
{
    (void)conninfo;
    db_close(thread_ctx);
}

void db_close(struct db *db)
{
    if (db == NULL)
        return;
    db_drop(db);
    for (size_t i = 0; i < db->nchannels; i++)
        free(db->channels[i]);
    free(db->channels);
    free(db->stmts);
    free(db->conninfo);
    free(db);
}

const char *db_where(const struct db *db)
{
    return db->where;
}

int db_in_transaction(const struct db *db)
{
    PGTransactionStatusType st;

    if (db->tx_open)
        return 1;
    if (db->pg == NULL)
        return 0;
    st = PQtransactionStatus(db->pg);
    return st == PQTRANS_INTRANS || st == PQTRANS_INERROR;
}

int db_backend_pid(const struct db *db)
{
    return db->pg != NULL && PQstatus(db->pg) == CONNECTION_OK ? PQbackendPID(db->pg) : 0;
}

const char *db_last_sqlstate(const struct db *db)
{
    return db->diag.sqlstate;
}

const char *db_last_constraint(const struct db *db)
{
    return db->diag.constraint;
}

const char *db_last_table(const struct db *db)
{
    return db->diag.table;
}

const char *db_last_column(const struct db *db)
{
    return db->diag.column;
}

const char *db_last_detail(const struct db *db)
{
    return db->diag.detail;
}

const char *db_last_hint(const struct db *db)
{
    return db->diag.hint;
}

int db_last_position(const struct db *db)
{
    return db->diag.position;
}

const char *db_param_int(char buf[DB_INT_LEN], int64_t v)
{
    snprintf(buf, DB_INT_LEN, "%lld", (long long)v);
    return buf;
}

const char *db_param_bool(int v)
{
    return v ? "true" : "false";
}

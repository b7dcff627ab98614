/* db/migrate.c: see migrate.h.
 *
 * Loading validates the whole directory before the database is touched: a
 * misnamed or duplicated migration stops the run with nothing done.
 * Applying checks the recorded history first (changed files, a database that
 * is ahead of this build), under the advisory lock, so two runners never
 * apply the same migration. */
#include "db/migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "db/db_internal.h"
#include "db/row.h"
#include "db/sqlsplit.h"

static const char SQL_CREATE_TABLE[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " version integer PRIMARY KEY,"
                                       " name varchar(255) NOT NULL,"
                                       " checksum char(64) NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now())";
static const char SQL_EXISTS[] = "SELECT to_regclass('schema_migrations') IS NOT NULL";
static const char SQL_APPLIED[] =
    "SELECT version, name, checksum FROM schema_migrations ORDER BY version";
static const char SQL_RECORD[] =
    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)";

/* "NNNN_name.sql": 0 and the version, or -1. */
static int parse_name(const char *name)
{
    size_t len = strlen(name);
    int version = 0;

    if (len < 10 || strcmp(name + len - 4, ".sql") != 0 || name[4] != '_')
        return -1;
    for (int i = 0; i < 4; i++) {
        if (!isdigit((unsigned char)name[i]))
            return -1;
        version = version * 10 + (name[i] - '0');
    }
    for (size_t i = 5; i < len - 4; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return -1;
    return version >= 1 ? version : -1;
}

static int read_file(struct db_migration *mig, struct error *err)
{
    struct crypto_digest *d;
    struct stat stb;
    ssize_t got;
    size_t n = 0;
    int fd = open(mig->path, O_RDONLY | O_CLOEXEC), rc = 0;

    if (fd < 0)
        return error_set(err, -errno, "%s: %s", mig->path, strerror(errno));
    if (fstat(fd, &stb) < 0 || !S_ISREG(stb.st_mode) || stb.st_size > DB_MIGRATION_FILE_MAX) {
        close(fd);
        return error_set(err, -EINVAL, "%s: not a regular file of at most %u bytes", mig->path,
                         DB_MIGRATION_FILE_MAX);
    }
    mig->sql = xmalloc((size_t)stb.st_size + 1);
    while (n < (size_t)stb.st_size &&
           ((got = read(fd, mig->sql + n, (size_t)stb.st_size - n)) > 0 ||
            (got < 0 && errno == EINTR)))
        n += got > 0 ? (size_t)got : 0;
    close(fd);
    mig->sql[n] = '\0';
    mig->len = n;
    if (n != (size_t)stb.st_size)
        rc = error_set(err, -EIO, "%s: short read", mig->path);
    else if (strlen(mig->sql) != n)
        rc = error_set(err, -EINVAL, "%s: contains a NUL byte", mig->path);
    if (rc < 0)
        return rc;
    d = crypto_digest_new(0);
    crypto_digest_update(d, mig->sql, n);
    crypto_digest_final(d, mig->sha256);
    return 0;
}

static int by_version(const void *a, const void *b)
{
    const struct db_migration *x = a, *y = b;

    if (x->version != y->version)
        return (x->version > y->version) - (x->version < y->version);
    return strcmp(x->file, y->file); /* duplicates are named in a stable order */
}

/* Sorted: each version once. Numbers may skip (0001, 0002, 0010): another
 * component's migrations may start at a round number. */
static int check_sequence(const char *dir, const struct db_migrations *m, struct error *err)
{
    if (m->n == 0)
        return error_set(err, -ENOENT, "no migrations (NNNN_name.sql) in %s", dir);
    for (size_t i = 1; i < m->n; i++)
        if (m->v[i].version == m->v[i - 1].version)
            return error_set(err, -EINVAL, "%s: %s and %s have the same version %04d", dir,
                             m->v[i - 1].file, m->v[i].file, m->v[i].version);
    return 0;
}

static int scan_dir(const char *dir, DIR *d, struct db_migrations *m, struct error *err)
{
    struct dirent *e;
    size_t cap = 0;

    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        int version;

        if (e->d_name[0] == '.' || len < 4 || strcmp(e->d_name + len - 4, ".sql") != 0)
            continue;
        version = parse_name(e->d_name);
        if (version < 0)
            return error_set(err, -EINVAL,
                             "%s/%s: migration files are named NNNN_name.sql "
                             "(name: letters, digits, _ and -)",
                             dir, e->d_name);
        if (m->n == DB_MIGRATIONS_MAX)
            return error_set(err, -EINVAL, "%s: too many migrations", dir);
        if (m->n == cap) {
            cap = cap ? cap * 2 : 16;
            m->v = xrealloc(m->v, cap * sizeof(*m->v));
        }
        m->v[m->n++] = (struct db_migration){.version = version,
                                             .file = xstrdup(e->d_name),
                                             .path = xasprintf("%s/%s", dir, e->d_name)};
    }
    return 0;
}

int db_migrations_load(const char *dir, struct db_migrations *out, struct error *err)
{
    struct db_migrations m = {NULL, 0};
    DIR *d = opendir(dir);
    int rc;

    if (d == NULL)
        return error_set(err, -errno, "cannot read the migrations directory %s: %s", dir,
                         strerror(errno));
    rc = scan_dir(dir, d, &m, err);
    closedir(d);
    if (rc == 0 && m.n > 1)
        qsort(m.v, m.n, sizeof(*m.v), by_version);
    if (rc == 0)
        rc = check_sequence(dir, &m, err);
    for (size_t i = 0; rc == 0 && i < m.n; i++)
        rc = read_file(&m.v[i], err);
    if (rc < 0) {
        db_migrations_free(&m);
        return rc;
    }
    *out = m;
    return 0;
}

void db_migrations_free(struct db_migrations *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].file);
        free(m->v[i].path);
        free(m->v[i].sql);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

/* One recorded row (version v) against the files, from index *j on: the
 * files below v must all have been applied, and v must be a file whose
 * content has not changed. */
static int check_applied(const struct db_migrations *m, const PGresult *res, int row, size_t *j,
                         struct error *err)
{
    const char *name = db_getstr(res, row, 1), *sum = db_getstr(res, row, 2);
    const struct db_migration *mig;
    int64_t v = 0;

    if (db_getint(res, row, 0, 1, DB_MIGRATIONS_MAX, &v, err) != 0 || !name || !sum)
        return error_set(err, -EBADMSG, "schema_migrations has an unreadable row");
    if (*j < m->n && m->v[*j].version < v)
        return error_set(err, -EBADMSG,
                         "%s is not applied but the later migration %04d (%s) "
                         "is: a gap; migrations apply in order, so renumber it "
                         "after the last applied one",
                         m->v[*j].path, (int)v, name);
    if (*j == m->n || m->v[*j].version != v) {
        if (v > m->v[m->n - 1].version)
            return error_set(err, -ERANGE,
                             "the database has migration %04d (%s), which this "
                             "build does not have: it was migrated by a newer "
                             "version",
                             (int)v, name);
        return error_set(err, -EBADMSG,
                         "migration %04d (%s) was applied but its file is "
                         "missing: a gap in the migrations",
                         (int)v, name);
    }
    mig = &m->v[(*j)++];
    if (strcmp(sum, mig->sha256) != 0)
        return error_set(err, -EBADMSG,
                         "%s was changed after it was applied (checksum %.12s... "
                         "recorded, %.12s... now): never edit an applied "
                         "migration, add a new one",
                         mig->path, sum, mig->sha256);
    if (strcmp(name, mig->file) != 0)
        log_warn("migration %04d was applied as %s and is now named %s", (int)v, name, mig->file);
    return 0;
}

int db_migrate_state(struct db *db, const struct db_migrations *m, struct db_migrate_state *st,
                     struct error *err)
{
    PGresult *res = NULL;
    size_t j = 0;
    int rc, n;

    st->current = 0;
    st->pending = 0;
    rc = db_exec(db, SQL_EXISTS, 0, NULL, &res, err);
    if (rc < 0)
        return rc;
    n = strcmp(db_getstr(res, 0, 0) ? db_getstr(res, 0, 0) : "f", "t") == 0;
    PQclear(res);
    if (!n)
        return 0;
    rc = db_exec(db, SQL_APPLIED, 0, NULL, &res, err);
    if (rc < 0)
        return rc;
    n = PQntuples(res);
    for (int i = 0; i < n && rc == 0; i++)
        rc = check_applied(m, res, i, &j, err);
    PQclear(res);
    if (rc < 0)
        return rc;
    st->current = j > 0 ? m->v[j - 1].version : 0;
    st->pending = j;
    return 0;
}

/* The error of a statement at span, as path:line: message (detail, hint). */
static int statement_error(struct db *db, const struct db_migration *mig,
                           const struct db_sql_span *span, int rc, struct error *err)
{
    int pos = db_last_position(db);
    int line = pos > 0 ? db_sql_line_at(mig->sql, span, pos) : span->line;
    char msg[4 * ERROR_MSG_MAX];

    snprintf(msg, sizeof(msg), "%s:%d: %s%s%s%s%s", mig->path, line, err ? err->msg : "",
             db_last_detail(db)[0] ? "; DETAIL: " : "", db_last_detail(db),
             db_last_hint(db)[0] ? "; HINT: " : "", db_last_hint(db));
    return error_set(err, rc, "%s", msg);
}

/* 1 when the statement would end or nest the runner's transaction. Checked
 * before running it: a COMMIT would already have committed half a migration. */
static int ends_transaction(const char *stmt)
{
    static const char *const verbs[] = {"BEGIN", "START",    "COMMIT", "END",
                                        "ABORT", "ROLLBACK", "PREPARE"};
    size_t n = 0;

    while (isalpha((unsigned char)stmt[n]))
        n++;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        const char *rest = stmt + n;

        if (strlen(verbs[i]) != n || strncasecmp(stmt, verbs[i], n) != 0)
            continue;
        while (isspace((unsigned char)*rest))
            rest++;
        /* ROLLBACK TO SAVEPOINT stays inside; PREPARE name AS is a statement. */
        if (i == 5 && strncasecmp(rest, "TO", 2) == 0 && !isalnum((unsigned char)rest[2]))
            return 0;
        if (i == 6 && strncasecmp(rest, "TRANSACTION", 11) != 0)
            return 0;
        return 1;
    }
    return 0;
}

static int run_statements(struct db *db, const struct db_migration *mig, struct error *err)
{
    struct db_sql_cursor cur;
    struct db_sql_span span;
    int rc;

    db_sql_init(&cur, mig->sql, mig->len);
    while ((rc = db_sql_next(&cur, &span, err)) == 1) {
        char *stmt;

        if (ends_transaction(mig->sql + span.start))
            return error_set(err, -EINVAL,
                             "%s:%d: a migration must not end its transaction "
                             "(BEGIN, COMMIT, ROLLBACK, END): the runner opens one "
                             "per file",
                             mig->path, span.line);
        stmt = xstrndup(mig->sql + span.start, span.end - span.start);
        rc = db_exec(db, stmt, 0, NULL, NULL, err);
        free(stmt);
        if (rc < 0)
            return statement_error(db, mig, &span, rc, err);
        if (PQtransactionStatus(db->pg) != PQTRANS_INTRANS)
            return error_set(err, -EINVAL, "%s:%d: the statement ended the runner's transaction",
                             mig->path, span.line);
    }
    if (rc < 0)
        return error_prefix(err, "%s", mig->path);
    return 0;
}

static int apply_one(struct db *db, const struct db_migration *mig, struct error *err)
{
    char vbuf[DB_INT_LEN];
    const char *params[] = {db_param_int(vbuf, mig->version), mig->file, mig->sha256};
    int rc = db_begin(db, err);

    if (rc < 0)
        return rc;
    rc = run_statements(db, mig, err);
    if (rc == 0)
        rc = db_exec(db, SQL_RECORD, 3, params, NULL, err);
    if (rc == 0)
        rc = db_commit(db, err);
    else
        db_rollback(db, NULL);
    if (rc < 0) {
        char msg[2 * ERROR_MSG_MAX];

        snprintf(msg, sizeof(msg), "migration %s rolled back: %s", mig->file, err ? err->msg : "");
        error_set(err, rc, "%s", msg);
    }
    return rc;
}

static int lock(struct db *db, struct error *err)
{
    char kbuf[DB_INT_LEN];
    const char *params[] = {db_param_int(kbuf, DB_MIGRATE_LOCK_KEY)};
    PGresult *res = NULL;
    int rc = db_exec(db, "SELECT pg_try_advisory_lock($1::bigint)", 1, params, &res, err);
    int got = rc == 0 && strcmp(db_getstr(res, 0, 0) ? db_getstr(res, 0, 0) : "f", "t") == 0;

    PQclear(res);
    if (rc < 0 || got)
        return rc;
    log_info("waiting for another migration run to finish (advisory lock %lld)",
             (long long)DB_MIGRATE_LOCK_KEY);
    return db_exec(db, "SELECT pg_advisory_lock($1::bigint)", 1, params, NULL, err);
}

static void unlock(struct db *db)
{
    char kbuf[DB_INT_LEN];
    const char *params[] = {db_param_int(kbuf, DB_MIGRATE_LOCK_KEY)};
    /* On a broken connection the server has released it already. */
    int rc = db_exec(db, "SELECT pg_advisory_unlock($1::bigint)", 1, params, NULL, NULL);

    (void)rc;
}

static int upgrade_locked(struct db *db, const struct db_migrations *m, db_migrate_cb cb, void *arg,
                          struct db_migrate_state *st, struct error *err)
{
    int rc = db_exec(db, SQL_CREATE_TABLE, 0, NULL, NULL, err);

    if (rc == 0)
        rc = db_migrate_state(db, m, st, err);
    for (; rc == 0 && st->pending < m->n; st->pending++) {
        const struct db_migration *mig = &m->v[st->pending];
        int64_t t0 = time_mono_us();

        rc = apply_one(db, mig, err);
        if (rc < 0)
            return rc;
        st->current = mig->version;
        if (cb != NULL)
            cb(mig, time_mono_us() - t0, arg);
    }
    return rc;
}

int db_migrate_upgrade(struct db *db, const struct db_migrations *m, db_migrate_cb cb, void *arg,
                       struct db_migrate_state *st, struct error *err)
{
    struct db_migrate_state local;
    int rc = lock(db, err);

    if (st == NULL)
        st = &local;
    if (rc < 0)
        return rc;
    rc = upgrade_locked(db, m, cb, arg, st, err);
    unlock(db);
    return rc;
}

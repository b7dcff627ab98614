/* db/migrate.h: the schema migration runner behind iotronic-dbsync.
 *
 * Migrations are the files NNNN_name.sql of one directory (db/migrations),
 * applied in increasing order of NNNN (numbers may skip; none may repeat) and
 * never edited once applied. The applied ones must be exactly the files up to
 * the database's version: a file below it that was never applied, or an
 * applied version without its file, is a gap and an error. Each is applied in its own transaction
 * together with its row in schema_migrations (version, name, checksum = SHA-256 of the file,
 * applied_at), so a migration is either entirely applied and recorded or not at all. A
 * session-level advisory lock (DB_MIGRATE_LOCK_KEY) serialises concurrent runners: the second
 * waits, then finds nothing to do.
 *
 * Files are executed statement by statement (db/sqlsplit.h) so that a
 * failure is reported as path:line of the failing statement, with
 * PostgreSQL's message. Worker or main thread; blocks. */
#ifndef IOT_DB_MIGRATE_H
#define IOT_DB_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "db/db.h"

#define DB_MIGRATION_FILE_MAX (16u << 20)      /* bytes per file */
#define DB_MIGRATIONS_MAX 9999                 /* NNNN */
#define DB_MIGRATE_LOCK_KEY 0x696f7464627379LL /* "iotdbsy": pg_advisory_lock key */

struct db_migration {
    int version; /* NNNN */
    char *file;  /* base name, "0001_iotronic.sql" */
    char *path;  /* directory "/" file */
    char *sql;   /* the contents, NUL-terminated */
    size_t len;
    char sha256[65]; /* lower-case hex */
};

/* The migrations of a directory, in increasing version order. */
struct db_migrations {
    struct db_migration *v;
    size_t n;
};

/* Where a database stands against a set of migrations. */
struct db_migrate_state {
    int current;    /* version of the last applied migration, 0 when none */
    size_t pending; /* index in v of the first migration to apply; n: up to date */
};

/* Reads every NNNN_name.sql of dir (other files are ignored, dot-files
 * included). On success fills *out (db_migrations_free()). -ENOENT (or the
 * errno) when dir cannot be read or holds no migration; -EINVAL, naming the
 * files, for a badly named .sql file, a duplicate number, or a file that is
 * too big or contains NUL bytes. */
int db_migrations_load(const char *dir, struct db_migrations *out, struct error *err) IOT_WUR;
void db_migrations_free(struct db_migrations *m);

/* Reads schema_migrations (absent: nothing applied) and checks it against m:
 * -EBADMSG when an applied migration's file changed (checksum) or there is a
 * gap (a file below the current version not applied, an applied version
 * without a file); -ERANGE when the database has a migration beyond m's last
 * (it was migrated by a newer build). Read-only. */
int db_migrate_state(struct db *db, const struct db_migrations *m, struct db_migrate_state *st,
                     struct error *err) IOT_WUR;

/* Called after each migration is committed. */
typedef void (*db_migrate_cb)(const struct db_migration *mig, int64_t elapsed_us, void *arg);

/* Takes the advisory lock, creates schema_migrations if needed, checks it
 * (as db_migrate_state()) and applies every pending migration in order. On
 * success *st (may be NULL) is the final state. A failing migration is rolled
 * back entirely and the error reads "<path>:<line>: <PostgreSQL's message>
 * [SQLSTATE]" (and PostgreSQL's detail and hint); earlier ones stay applied.
 * The lock is released on return. */
int db_migrate_upgrade(struct db *db, const struct db_migrations *m, db_migrate_cb cb, void *arg,
                       struct db_migrate_state *st, struct error *err) IOT_WUR;

#endif

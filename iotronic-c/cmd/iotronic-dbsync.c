/* cmd/iotronic-dbsync.c: applies db/migrations to the IoTronic database.
 *
 *   iotronic-dbsync [--config-file F ...] [--database CONNINFO]
 *                   [--migrations-dir DIR] upgrade|version
 *
 * The connection comes from --database, else [database] connection of the
 * config files. The work is db/migrate.h's; this file parses the command
 * line, finds the migrations and reports. Exit status: 0 done, 1 migration or
 * database error, 2 usage or configuration error. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "db/db.h"
#include "db/migrate.h"
#include "conf/iotconf.h"

#define EXIT_DB 1
#define EXIT_USAGE 2

static const char USAGE[] =
    "usage: iotronic-dbsync [--config-file FILE ...] [--database CONNINFO]\n"
    "                       [--migrations-dir DIR] upgrade|version\n"
    "\n"
    "  upgrade   apply every pending migration, each in its own transaction\n"
    "  version   print the database's version and the pending migrations\n"
    "\n"
    "The connection is --database, else [database] connection of the config files.\n"
    "Migrations: --migrations-dir, else $IOTRONIC_MIGRATIONS_DIR, else\n"
    "<bindir>/../share/iotronic/migrations, else the source tree's db/migrations.\n"
    "Exit status: 0 ok, 1 migration or database error, 2 usage or configuration error.\n";

struct options {
    const char *database;
    const char *migrations_dir;
    const char *command;
};

struct dbconf {
    char *connection;
};

static const struct cfg_opt dbconf_opts[] = {
    {"database", "connection", CFG_STR, NULL, offsetof(struct dbconf, connection), 0, 0, NULL, 0},
};

static void fail(const char *fmt, const char *msg)
{
    fprintf(stderr, "iotronic-dbsync: ");
    fprintf(stderr, fmt, msg);
    fputc('\n', stderr);
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: 1 and *value, 0 if another
 * option, -1 when the value is missing. */
static int option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

/* 0, or an exit status (-1 for --help). */
static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        int a = option(argc, argv, &i, "--database", &o->database);
        int b = a ? 0 : option(argc, argv, &i, "--migrations-dir", &o->migrations_dir);

        if (a < 0 || b < 0) {
            fail("%s needs a value", argv[i]);
            return EXIT_USAGE;
        }
        if (a || b)
            continue;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return -1;
        if (argv[i][0] == '-' || o->command != NULL) {
            fail("unexpected argument %s (see --help)", argv[i]);
            return EXIT_USAGE;
        }
        o->command = argv[i];
    }
    if (o->command == NULL ||
        (strcmp(o->command, "upgrade") != 0 && strcmp(o->command, "version") != 0)) {
        fail("%s", o->command ? "unknown command (upgrade or version)" : "no command given");
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The first that applies: option, environment, install tree, source tree.
 * Returns a new string. */
static char *migrations_dir(const char *opt)
{
    const char *env = getenv("IOTRONIC_MIGRATIONS_DIR");
    char exe[PATH_MAX];
    ssize_t n;

    if (opt != NULL)
        return xstrdup(opt);
    if (env != NULL && *env != '\0')
        return xstrdup(env);
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        char *slash, *dir;

        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            dir = xasprintf("%s/../share/iotronic/migrations", exe);
            if (is_dir(dir))
                return dir;
            free(dir);
        }
    }
    return xstrdup(IOT_SOURCE_DIR "/db/migrations");
}

static void on_applied(const struct db_migration *mig, int64_t elapsed_us, void *arg)
{
    (void)arg;
    printf("applied %s (%.1f ms)\n", mig->file, (double)elapsed_us / 1000.0);
    fflush(stdout);
}

static int cmd_upgrade(struct db *db, const struct db_migrations *m)
{
    struct db_migrate_state st = {0, 0};
    struct error err;
    int before = -1;

    error_clear(&err);
    if (db_migrate_state(db, m, &st, &err) == 0)
        before = st.current;
    if (db_migrate_upgrade(db, m, on_applied, NULL, &st, &err) < 0) {
        fprintf(stderr, "iotronic-dbsync: %s\n", error_str(&err));
        if (before >= 0) /* else the history itself is wrong: no version to speak of */
            fprintf(stderr, "iotronic-dbsync: the database stays at version %d\n", st.current);
        return EXIT_DB;
    }
    if (before == st.current)
        printf("database at version %d: nothing to apply\n", st.current);
    else
        printf("database at version %d\n", st.current);
    return 0;
}

static int cmd_version(struct db *db, const struct db_migrations *m)
{
    struct db_migrate_state st;
    struct error err;

    error_clear(&err);
    if (db_migrate_state(db, m, &st, &err) < 0) {
        fprintf(stderr, "iotronic-dbsync: %s\n", error_str(&err));
        return EXIT_DB;
    }
    printf("current version: %d\n", st.current);
    if (st.pending == m->n) {
        printf("pending migrations: none\n");
        return 0;
    }
    printf("pending migrations: %zu\n", m->n - st.pending);
    for (size_t i = st.pending; i < m->n; i++)
        printf("  %s\n", m->v[i].file);
    return 0;
}

/* Config files, then [database] connection unless --database was given.
 * Returns 0 and a new string in *conninfo, or an exit status. */
static int load_config(int *argc, char **argv, char **conninfo)
{
    struct dbconf conf = {NULL};
    struct cfg_table table = {dbconf_opts, 1, &conf};
    struct cfg *cfg = cfg_new();
    struct error err;
    int rc;

    error_clear(&err);
    rc = cfg_load_args(cfg, argc, argv, NULL, &err);
    if (rc == 0)
        rc = (iotconf_add_known(cfg), cfg_bind(cfg, &table, 1, &err));
    if (rc < 0) {
        fprintf(stderr, "iotronic-dbsync: %s\n", error_str(&err));
        cfg_unbind(&table, 1);
        cfg_free(cfg);
        return EXIT_USAGE;
    }
    *conninfo = conf.connection ? xstrdup(conf.connection) : NULL;
    cfg_unbind(&table, 1);
    cfg_free(cfg);
    return 0;
}

static int run(struct options *o, const char *conninfo)
{
    struct db_migrations m = {NULL, 0};
    struct db *db = NULL;
    struct error err;
    char *dir = migrations_dir(o->migrations_dir);
    int rc;

    error_clear(&err);
    rc = db_migrations_load(dir, &m, &err);
    if (rc < 0) {
        fprintf(stderr, "iotronic-dbsync: %s\n", error_str(&err));
        free(dir);
        /* An unusable directory is a configuration error; bad contents are not. */
        return rc == -EINVAL ? EXIT_DB : EXIT_USAGE;
    }
    rc = db_connect(conninfo, &db, &err);
    if (rc < 0) {
        fprintf(stderr, "iotronic-dbsync: %s\n", error_str(&err));
        rc = rc == -EINVAL ? EXIT_USAGE : EXIT_DB;
    } else if (strcmp(o->command, "upgrade") == 0) {
        rc = cmd_upgrade(db, &m);
    } else {
        rc = cmd_version(db, &m);
    }
    db_close(db);
    db_migrations_free(&m);
    free(dir);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o = {NULL, NULL, NULL};
    char *conninfo = NULL;
    int rc;

    xalloc_init();
    log_init("iotronic-dbsync", LOG_INFO);
    rc = load_config(&argc, argv, &conninfo);
    if (rc == 0)
        rc = parse_args(argc, argv, &o);
    if (rc == -1) {
        fputs(USAGE, stdout);
        rc = 0;
    } else if (rc == 0 && o.database == NULL && conninfo == NULL) {
        fail("%s", "no database: give --database CONNINFO or [database] connection in a "
                   "--config-file");
        rc = EXIT_USAGE;
    } else if (rc == 0) {
        rc = run(&o, o.database ? o.database : conninfo);
    }
    free(conninfo);
    return rc;
}

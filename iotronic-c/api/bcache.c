/* api/bcache.c: see bcache.h. */
#include "api/bcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fault.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

/* The version of a board's representation (bcache.h). */
#define TOKEN_SQL "b.xmin::text"
#define NTOKEN 1
/* A row older than this is read again: transaction ids wrap after 2^32, and
 * no PostgreSQL runs that many transactions in 10 minutes, so an xmin seen
 * again within the age is the same tuple version. */
#define MAX_AGE_MS (10 * 60 * 1000)

struct slot {
    char uuid[UUID_STR_LEN];
    char *token;   /* NULL: empty */
    PGresult *res; /* the row as the board statement returns it */
    int64_t at_ms; /* when it was read (monotonic) */
};

struct api_bcache {
    pthread_mutex_t lock;
    struct slot *slots;
    unsigned nslots;
    /* Validation: uuid, token, pref. */
    struct db_stmt by_uuid;
    struct db_stmt by_name[API_SCOPE_N];
    /* The full row by uuid, then true (pref), then the token. */
    struct db_stmt row;
};

static char *cat(const char *a, const char *b, const char *c, const char *d, const char *e)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + strlen(e) + 1;
    char *s = xmalloc(n);

    snprintf(s, n, "%s%s%s%s%s", a, b, c, d, e);
    return s;
}

/* The visibility of a name lookup per scope mode, as api/store.c's. */
static const char *const name_where[API_SCOPE_N] = {
    "$2::boolean",
    "NOT $2::boolean AND b.project = $3::text",
    "NOT $2::boolean AND $3::text IS NULL AND b.project IS NULL",
};
static const char mode_tag[API_SCOPE_N] = {'a', 'e', 'n'};

/* A board name is unique within a project (boards_project_name_key), so
 * only an admin's lookup across projects can match several rows. */
static const char *const name_order[API_SCOPE_N] = {" ORDER BY pref DESC, b.id LIMIT 3", "", ""};

static void gen(struct api_bcache *bc)
{
    const struct api_sqlkind *sk = &api_sqlkinds[AC_BOARDS];
    const char *head = "SELECT b.uuid, " TOKEN_SQL ", ";
    const char *pref = "(b.project IS NOT DISTINCT FROM $3) AS pref";
    char name[64];

    bc->by_uuid.name = xstrdup("api_bc_uuid");
    bc->by_uuid.sql =
        cat(head, "true FROM boards b",
            " WHERE b.uuid = $1::uuid AND ($2 OR b.project IS NOT DISTINCT FROM $3)", "", "");
    bc->by_uuid.nparams = 3;
    for (int m = 0; m < API_SCOPE_N; m++) {
        char *a = cat(head, pref, " FROM boards b", " WHERE b.name = $1 AND ", "");

        snprintf(name, sizeof(name), "api_bc_name%c", mode_tag[m]);
        bc->by_name[m].name = xstrdup(name);
        bc->by_name[m].sql = cat(a, name_where[m], name_order[m], "", "");
        bc->by_name[m].nparams = 3;
        free(a);
    }
    bc->row.name = xstrdup("api_bc_row");
    bc->row.sql = cat("SELECT ", sk->select, ", true, " TOKEN_SQL " FROM ", sk->from,
                      " WHERE b.uuid = $1::uuid AND ($2 OR b.project IS NOT DISTINCT FROM $3)");
    bc->row.nparams = 3;
}

int api_bcache_new(struct api_bcache **out, unsigned nslots, struct error *err)
{
    struct api_bcache *bc;

    *out = NULL;
    if (nslots == 0)
        return error_set(err, -EINVAL, "board cache: no slots");
    bc = xcalloc(1, sizeof(*bc));
    bc->slots = xcalloc(nslots, sizeof(*bc->slots));
    bc->nslots = nslots;
    pthread_mutex_init(&bc->lock, NULL);
    gen(bc);
    *out = bc;
    return 0;
}

static void free_stmt(struct db_stmt *s)
{
    free((char *)s->name);
    free((char *)s->sql);
}

void api_bcache_free(struct api_bcache *bc)
{
    if (bc == NULL)
        return;
    for (unsigned i = 0; i < bc->nslots; i++) {
        free(bc->slots[i].token);
        if (bc->slots[i].res != NULL)
            PQclear(bc->slots[i].res);
    }
    free(bc->slots);
    free_stmt(&bc->by_uuid);
    for (int m = 0; m < API_SCOPE_N; m++)
        free_stmt(&bc->by_name[m]);
    free_stmt(&bc->row);
    pthread_mutex_destroy(&bc->lock);
    free(bc);
}

/* The token of row 0 from column `first` on: each value with its length,
 * NULL as "-", so that no two different column lists give the same text. */
static char *token_of(PGresult *res, int first)
{
    size_t n = 1;
    char *t, *p;

    for (int i = 0; i < NTOKEN; i++)
        n += 24 + (size_t)PQgetlength(res, 0, first + i);
    p = t = xmalloc(n);
    for (int i = 0; i < NTOKEN; i++) {
        if (PQgetisnull(res, 0, first + i))
            p += snprintf(p, n - (size_t)(p - t), "-;");
        else
            p += snprintf(p, n - (size_t)(p - t), "%d:%s;", PQgetlength(res, 0, first + i),
                          PQgetvalue(res, 0, first + i));
    }
    return t;
}

static unsigned slot_of(const struct api_bcache *bc, const char *uuid)
{
    unsigned h = 2166136261u;

    for (; *uuid; uuid++)
        h = (h ^ (unsigned char)*uuid) * 16777619u;
    return h % bc->nslots;
}

/* A copy of the cached row of uuid when its token is token, else NULL. */
static PGresult *lookup(struct api_bcache *bc, const char *uuid, const char *token)
{
    struct slot *s = &bc->slots[slot_of(bc, uuid)];
    PGresult *copy = NULL;

    pthread_mutex_lock(&bc->lock);
    if (s->token != NULL && strcmp(s->uuid, uuid) == 0 && strcmp(s->token, token) == 0 &&
        time_mono_ms() - s->at_ms < MAX_AGE_MS)
        copy = PQcopyResult(s->res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
    pthread_mutex_unlock(&bc->lock);
    return copy;
}

static void store(struct api_bcache *bc, const char *uuid, PGresult *res)
{
    int first = (int)api_kind_board.nfields + 3; /* owner, project, pref */
    PGresult *copy = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
    struct slot *s = &bc->slots[slot_of(bc, uuid)];
    char *token = token_of(res, first), *old_token;
    PGresult *old_res;

    if (copy == NULL) {
        free(token);
        return; /* out of memory in libpq: the row is served, just not kept */
    }
    pthread_mutex_lock(&bc->lock);
    old_token = s->token;
    old_res = s->res;
    snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
    s->token = token;
    s->res = copy;
    s->at_ms = time_mono_ms();
    pthread_mutex_unlock(&bc->lock);
    free(old_token);
    if (old_res != NULL)
        PQclear(old_res);
}

/* Step 1: the one visible board ref names, and its token. */
static int identify(struct api_bcache *bc, struct db *db, const char *const *p, int is_uuid,
                    enum api_scope_mode m, PGresult **res, struct error *err)
{
    int rc, n;

    rc = db_exec_stmt(db, is_uuid ? &bc->by_uuid : &bc->by_name[m], p, res, err);
    if (rc < 0)
        return api_store_fail(db, rc, err);
    n = PQntuples(*res);
    /* Several matches: fine only when exactly one is preferred (own). */
    if (n > 1 &&
        (PQgetvalue(*res, 1, 1 + NTOKEN)[0] == 't' || PQgetvalue(*res, 0, 1 + NTOKEN)[0] != 't'))
        return api_fail(err, 400, "Multiple boards are named %s; use the UUID.", p[0]);
    if (n == 0)
        return api_fail(err, 404, "Board %s could not be found.", p[0]);
    return 0;
}

int api_bcache_find(struct api_bcache *bc, struct db *db, const struct api_ident *id,
                    const char *ref, int is_uuid, struct api_row *out, struct error *err)
{
    const char *p[3] = {ref, db_param_bool(id->is_admin), id->project_id};
    char uuid[UUID_STR_LEN], *token;
    PGresult *res = NULL, *row;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = identify(bc, db, p, is_uuid,
                  id->is_admin             ? API_SCOPE_ALL
                  : id->project_id != NULL ? API_SCOPE_EQ
                                           : API_SCOPE_NULL,
                  &res, err);
    if (rc < 0) {
        PQclear(res);
        return rc;
    }
    snprintf(uuid, sizeof(uuid), "%s", PQgetvalue(res, 0, 0));
    token = token_of(res, 1);
    PQclear(res);
    row = lookup(bc, uuid, token);
    free(token);
    if (row == NULL) {
        /* The full row, with its own token, in one snapshot. */
        p[0] = uuid;
        rc = db_exec_stmt(db, &bc->row, p, &row, err);
        if (rc < 0)
            return api_store_fail(db, rc, err);
        if (PQntuples(row) == 0) { /* deleted or moved away since step 1 */
            PQclear(row);
            return api_fail(err, 404, "Board %s could not be found.", ref);
        }
        store(bc, uuid, row);
    }
    out->res = row;
    out->row = 0;
    out->sk = &api_sqlkinds[AC_BOARDS];
    return 0;
}

/* api/store.c: see store.h. */
#include "api/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/bcache.h"
#include "api/fault.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "common/xalloc.h"

#define MAX_SORTS 16
#define SQL_MAX (16 * 1024)

/* The statements of one collection. Names and texts are owned here. */
struct kind_stmts {
    struct db_stmt list[MAX_SORTS][2][API_SCOPE_N]; /* [sort key][desc][scope mode] */
    struct db_stmt marker[API_SCOPE_N];
    struct db_stmt by_uuid;
    struct db_stmt by_name[API_SCOPE_N];
};

/* Board rows kept per process (api/bcache.h): enough for the boards a busy
 * deployment reads repeatedly, about 2 KiB each. */
#define BOARD_CACHE_SLOTS 4096

struct api_store {
    struct kind_stmts k[AC_N];
    struct db_stmt results[MAX_SORTS][2];
    struct api_bcache *boards; /* the one mutable part: locked inside */
};

#define TS API_SQL_TS
static const struct db_stmt sub_injections = {
    "api_sub_injections",
    "SELECT plugin_uuid, status, onboot, " TS("created_at") ", " TS(
        "updated_at") " FROM injection_plugins WHERE board_uuid = $1::uuid ORDER BY id",
    1,
};
static const struct db_stmt sub_exposed = {
    "api_sub_exposed",
    "SELECT service_uuid, public_port, " TS("created_at") ", " TS(
        "updated_at") " FROM exposed_services WHERE board_uuid = $1::uuid ORDER BY id",
    1,
};
static const struct db_stmt sub_ports = {
    "api_sub_ports",
    "SELECT uuid, vif_name, mac_add, ip, network, " TS("created_at") ", " TS(
        "updated_at") " FROM ports_on_boards WHERE board_uuid = $1::uuid ORDER BY id",
    1,
};
static const struct db_stmt one_port = {
    "api_one_boardport",
    "SELECT uuid, vif_name, mac_add, ip, network, " TS("created_at") ", " TS(
        "updated_at") " FROM ports_on_boards WHERE board_uuid = $1::uuid AND uuid = $2::uuid",
    2,
};
static const char *const result_cols[] = {"x.id",     "x.board_uuid", "x.request_uuid",
                                          "x.result", "x.created_at", "x.updated_at"};

/* Concatenates constant fragments (NULL-terminated) into a new string. */
static char *join(const char *first, ...)
{
    struct buf b;
    va_list ap;
    const char *s;

    buf_init(&b, SQL_MAX);
    va_start(ap, first);
    for (s = first; s != NULL; s = va_arg(ap, const char *))
        if (buf_append_str(&b, s) < 0)
            abort(); /* constant text: cannot exceed SQL_MAX unless the code is wrong */
    va_end(ap);
    return buf_take(&b, NULL);
}

static void set_stmt(struct db_stmt *st, char *name, char *sql, int nparams)
{
    st->name = name;
    st->sql = sql;
    st->nparams = nparams;
}

/* Keyset condition: rows strictly after the marker row m in the order
 * (col, id) with nulls lowest (first ascending, last descending), 1.10. */
static char *after_cond(const char *col, const char *id, const char *mp, int desc)
{
    if (!desc)
        return join("(", mp, "::uuid IS NULL OR (m.k IS NULL AND (", col, " IS NOT NULL OR ", id,
                    " > m.id)) OR ", col, " > m.k OR (", col, " = m.k AND ", id, " > m.id))", NULL);
    return join("(", mp, "::uuid IS NULL OR (m.k IS NULL AND ", col, " IS NULL AND ", id,
                " < m.id) OR (m.k IS NOT NULL AND (", col, " IS NULL OR ", col, " < m.k OR (", col,
                " = m.k AND ", id, " < m.id))))", NULL);
}

static const char mode_tag[API_SCOPE_N] = {'a', 'e', 'n'};

/* The WHERE of a list or marker statement for scope mode m: the 4.6 scope
 * in an indexable form, then the collection's filters. $1 and $2 are always
 * referenced, so that every variant takes the same parameters. */
static char *list_where(const struct api_sqlkind *sk, enum api_scope_mode m)
{
    if (sk->scope_col == NULL)
        return xstrdup(sk->list_where);
    switch (m) {
    case API_SCOPE_ALL:
        return join("$1::boolean AND ($2::text IS NULL OR true) AND ", sk->list_where, NULL);
    case API_SCOPE_EQ:
        return join("NOT $1::boolean AND ", sk->scope_col, " = $2::text AND ", sk->list_where,
                    NULL);
    default:
        return join("NOT $1::boolean AND $2::text IS NULL AND ", sk->scope_col, " IS NULL AND ",
                    sk->list_where, NULL);
    }
}

static void gen_list(const struct api_sqlkind *sk, struct kind_stmts *ks, int sort, int desc,
                     enum api_scope_mode mode)
{
    char mp[16], lp[16], name[64], id[16];
    const char *col = sk->sort_cols[sort];
    char *after, *where = list_where(sk, mode);

    snprintf(mp, sizeof(mp), "$%d", 3 + sk->nextra);
    snprintf(lp, sizeof(lp), "$%d", 4 + sk->nextra);
    snprintf(id, sizeof(id), "%s.id", sk->alias);
    snprintf(name, sizeof(name), "api_%s_l%d%c%c", sk->tag, sort, desc ? 'd' : 'a', mode_tag[mode]);
    after = after_cond(col, id, mp, desc);
    set_stmt(&ks->list[sort][desc][mode], xstrdup(name),
             join("WITH m AS (SELECT ", col, " AS k, ", id, " AS id FROM ", sk->from, " WHERE ",
                  sk->uuid_col, " = ", mp, "::uuid) SELECT ", sk->select, " FROM ", sk->from,
                  " LEFT JOIN m ON true WHERE ", where, " AND ", after, " ORDER BY ", col,
                  desc ? " DESC NULLS LAST, " : " ASC NULLS FIRST, ", id, desc ? " DESC" : " ASC",
                  " LIMIT ", lp, NULL),
             4 + sk->nextra);
    free(after);
    free(where);
}

/* Name lookups: an admin searches every row, a caller with a project (user
 * for plugins) only theirs, a caller without one only the rows without. */
static char *name_where(const struct api_sqlkind *sk, enum api_scope_mode m)
{
    if (sk->scope_col == NULL)
        return join("($2 OR ", sk->find_vis, ")", NULL);
    switch (m) {
    case API_SCOPE_ALL:
        return xstrdup("$2::boolean");
    case API_SCOPE_EQ:
        return join("NOT $2::boolean AND ", sk->scope_col, " = $3::text", NULL);
    default:
        return join("NOT $2::boolean AND $3::text IS NULL AND ", sk->scope_col, " IS NULL", NULL);
    }
}

static void gen_lookups(const struct api_sqlkind *sk, struct kind_stmts *ks)
{
    char name[64], mp[16];

    snprintf(mp, sizeof(mp), "$%d", 3 + sk->nextra);
    for (int m = 0; m < API_SCOPE_N; m++) {
        char *where = list_where(sk, (enum api_scope_mode)m);

        snprintf(name, sizeof(name), "api_%s_marker%c", sk->tag, mode_tag[m]);
        set_stmt(&ks->marker[m], xstrdup(name),
                 join("SELECT 1 FROM ", sk->from, " WHERE ", sk->uuid_col, " = ", mp, "::uuid AND ",
                      where, NULL),
                 3 + sk->nextra);
        free(where);
        if (sk->name_col == NULL)
            continue;
        where = name_where(sk, (enum api_scope_mode)m);
        snprintf(name, sizeof(name), "api_%s_name%c", sk->tag, mode_tag[m]);
        set_stmt(&ks->by_name[m], xstrdup(name),
                 join("SELECT ", sk->select, ", (", sk->find_pref, ") AS pref FROM ", sk->from,
                      " WHERE ", sk->name_col, " = $1 AND ", where, " ORDER BY pref DESC, ",
                      sk->alias, ".id LIMIT 3", NULL),
                 3);
        free(where);
    }
}

static void gen_kind(const struct api_sqlkind *sk, struct kind_stmts *ks)
{
    char name[64];

    for (int s = 0; sk->kind->sort_keys[s] != NULL; s++)
        for (int d = 0; d < 2; d++)
            for (int m = 0; m < API_SCOPE_N; m++)
                gen_list(sk, ks, s, d, (enum api_scope_mode)m);
    gen_lookups(sk, ks);
    snprintf(name, sizeof(name), "api_%s_uuid", sk->tag);
    set_stmt(&ks->by_uuid, xstrdup(name),
             join("SELECT ", sk->select, ", true FROM ", sk->from, " WHERE ", sk->uuid_col,
                  " = $1::uuid AND ($2 OR ", sk->find_vis, ")", NULL),
             3);
}

/* Results of a request and of its children (2.13), per sort key. */
static void gen_results(struct api_store *st)
{
    char name[64];

    for (int s = 0; api_kind_result.sort_keys[s] != NULL; s++) {
        for (int d = 0; d < 2; d++) {
            snprintf(name, sizeof(name), "api_results_%d%c", s, d ? 'd' : 'a');
            set_stmt(&st->results[s][d], xstrdup(name),
                     join("SELECT x.board_uuid, x.request_uuid, x.result, x.message, ",
                          TS("x.created_at"), ", ", TS("x.updated_at"),
                          " FROM results x WHERE x.request_uuid = $1::uuid OR x.request_uuid IN "
                          "(SELECT r.uuid FROM requests r WHERE r.main_request_uuid = $1::uuid) "
                          "ORDER BY ",
                          result_cols[s],
                          d ? " DESC NULLS LAST, x.id DESC" : " ASC NULLS FIRST, x.id ASC",
                          " LIMIT $2", NULL),
                     2);
        }
    }
}

int api_store_new(struct api_store **out, struct error *err)
{
    struct api_store *st = xcalloc(1, sizeof(*st));
    int rc;

    for (int c = 0; c < AC_N; c++)
        gen_kind(&api_sqlkinds[c], &st->k[c]);
    gen_results(st);
    rc = api_bcache_new(&st->boards, BOARD_CACHE_SLOTS, err);
    if (rc < 0) {
        api_store_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

static void free_stmt(struct db_stmt *s)
{
    free((char *)s->name);
    free((char *)s->sql);
}

void api_store_free(struct api_store *st)
{
    if (st == NULL)
        return;
    for (int c = 0; c < AC_N; c++) {
        for (int s = 0; s < MAX_SORTS; s++)
            for (int d = 0; d < 2; d++)
                for (int m = 0; m < API_SCOPE_N; m++)
                    free_stmt(&st->k[c].list[s][d][m]);
        for (int m = 0; m < API_SCOPE_N; m++) {
            free_stmt(&st->k[c].marker[m]);
            free_stmt(&st->k[c].by_name[m]);
        }
        free_stmt(&st->k[c].by_uuid);
    }
    for (int s = 0; s < MAX_SORTS; s++)
        for (int d = 0; d < 2; d++)
            free_stmt(&st->results[s][d]);
    api_bcache_free(st->boards);
    free(st);
}

int api_store_fail(struct db *db, int rc, struct error *err)
{
    log_error("database: %s", error_str(err));
    if (rc == -ECONNRESET || rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EAGAIN ||
        rc == -EROFS)
        return api_fail(err, 503, "Resource temporarily unavailable, please retry.");
    /* Validation runs before anything reaches the database, so these are
     * races or gaps; they still answer 4xx, never 500 (5.3). A concurrent
     * change (a row referenced or gone meanwhile) is a 409, which the
     * client retries (6.6). */
    if (rc == -EINVAL)
        return api_fail(err, 400, "Invalid input: the database refused a value.");
    if (rc == -EBUSY || rc == -EEXIST)
        return api_fail(err, 409, "Conflict with a concurrent change, please retry.");
    (void)db;
    return api_fail(err, 500, "An unknown exception occurred.");
}

/* Fills the list parameters $1.. of collection sk; returns how many. */
static int list_params(const struct api_sqlkind *sk, const struct api_scope *sc, const char **p)
{
    int n = 0;

    p[n++] = db_param_bool(sc->all);
    p[n++] = sc->who;
    if (sk->kind == &api_kind_board) {
        p[n++] = sc->status;
        p[n++] = sc->fleet;
    } else if (sk->kind == &api_kind_plugin) {
        p[n++] = db_param_bool(sc->with_public);
        p[n++] = db_param_bool(sc->public_only);
    } else if (sk->nextra == 1) {
        p[n++] = sc->board;
    }
    return n;
}

/* The statement variant of a scope (sqlkind.h). */
static enum api_scope_mode scope_mode(int all, const char *who)
{
    return all ? API_SCOPE_ALL : who != NULL ? API_SCOPE_EQ : API_SCOPE_NULL;
}

static int check_marker(const struct kind_stmts *ks, const struct api_sqlkind *sk, struct db *db,
                        const char **p, const char *marker, enum api_scope_mode mode,
                        struct error *err)
{
    PGresult *res = NULL;
    int rc, n = 3 + sk->nextra;

    p[n - 1] = marker;
    rc = db_exec_stmt(db, &ks->marker[mode], p, &res, err);
    if (rc < 0)
        return api_store_fail(db, rc, err);
    n = PQntuples(res);
    PQclear(res);
    if (n > 0)
        return 0;
    if (sk->kind == &api_kind_enabledws)
        return api_fail(err, 404, "Webservice module not enabled for %s device.", marker);
    return api_fail(err, 404, "%s %s could not be found.", sk->kind->Name, marker);
}

static void render_rows(const struct api_sqlkind *sk, PGresult *res, struct jw *w, uint32_t mask,
                        const char *base)
{
    const char *vals[32];
    int nf = (int)sk->kind->nfields;

    for (int r = 0; r < PQntuples(res); r++) {
        for (int i = 0; i < nf; i++)
            vals[i] = PQgetisnull(res, r, i) ? NULL : PQgetvalue(res, r, i);
        api_render_item(w, sk->kind, vals, mask, base);
    }
}

/* The marker of a row for `next`: its uuid (enabled webservices: board_uuid). */
static const char *row_marker(const struct api_sqlkind *sk, PGresult *res, int r)
{
    int f = api_kind_field(sk->kind, sk->kind == &api_kind_enabledws ? "board_uuid" : "uuid");

    return PQgetvalue(res, r, f);
}

int api_store_list(const struct api_store *st, struct db *db, enum api_coll_id c,
                   const struct api_scope *sc, const struct api_listq *q, const char *base,
                   const char *path, struct buf *out, struct error *err)
{
    const struct api_sqlkind *sk = &api_sqlkinds[c];
    const struct kind_stmts *ks = &st->k[c];
    const char *p[8];
    char limit[DB_INT_LEN];
    PGresult *res = NULL;
    struct jw w;
    int n = list_params(sk, sc, p), rc;
    enum api_scope_mode mode = scope_mode(sc->all, sc->who);

    if (q->has_marker) {
        rc = check_marker(ks, sk, db, p, q->marker, mode, err);
        if (rc < 0)
            return rc;
    }
    p[n++] = q->has_marker ? q->marker : NULL;
    p[n++] = db_param_int(limit, q->limit);
    rc = db_exec_stmt(db, &ks->list[q->sort][q->desc][mode], p, &res, err);
    if (rc < 0)
        return api_store_fail(db, rc, err);
    jw_init(&w, out, 1);
    jw_obj_begin(&w);
    jw_key(&w, sk->kind->list_key);
    jw_arr_begin(&w);
    render_rows(sk, res, &w, q->fields, base);
    jw_arr_end(&w);
    if (PQntuples(res) > 0 && PQntuples(res) == q->limit) {
        jw_key(&w, "next");
        jw_value_sep(&w);
        if (w.err == 0)
            w.err = buf_append_str(out, "\"");
        if (w.err == 0)
            w.err = api_next_link(out, base, path, sk->kind, q,
                                  row_marker(sk, res, PQntuples(res) - 1));
        if (w.err == 0)
            w.err = buf_append_str(out, "\"");
    }
    jw_obj_end(&w);
    PQclear(res);
    if (jw_error(&w) < 0)
        return api_fail(err, 500, "An unknown exception occurred.");
    return 0;
}

int api_store_find(const struct api_store *st, struct db *db, enum api_coll_id c,
                   const struct api_ident *id, const char *ref, int is_uuid, struct api_row *out,
                   struct error *err)
{
    const struct api_sqlkind *sk = &api_sqlkinds[c];
    const struct kind_stmts *ks = &st->k[c];
    const char *who = sk->kind == &api_kind_plugin ? id->user_id : id->project_id;
    const char *p[3] = {ref, db_param_bool(id->is_admin), who};
    PGresult *res = NULL;
    int rc, n, pref = (int)sk->kind->nfields + 2;

    memset(out, 0, sizeof(*out));
    if (c == AC_BOARDS)
        return api_bcache_find(st->boards, db, id, ref, is_uuid, out, err);
    if (!is_uuid && sk->name_col == NULL)
        return api_fail(err, 404, "%s %s could not be found.", sk->kind->Name, ref);
    rc = db_exec_stmt(db, is_uuid ? &ks->by_uuid : &ks->by_name[scope_mode(id->is_admin, who)], p,
                      &res, err);
    if (rc < 0)
        return api_store_fail(db, rc, err);
    n = PQntuples(res);
    /* Several matches: fine only when exactly one is preferred (own). */
    if (n > 1 && (PQgetvalue(res, 1, pref)[0] == 't' || PQgetvalue(res, 0, pref)[0] != 't')) {
        PQclear(res);
        return api_fail(err, 400, "Multiple %ss are named %s; use the UUID.", sk->kind->name, ref);
    }
    if (n == 0) {
        PQclear(res);
        return api_fail(err, 404, "%s %s could not be found.", sk->kind->Name, ref);
    }
    out->res = res;
    out->row = 0;
    out->sk = sk;
    return 0;
}

void api_row_clear(struct api_row *r)
{
    if (r->res != NULL)
        PQclear(r->res);
    r->res = NULL;
}

const char *api_row_get(const struct api_row *r, int i)
{
    if (PQgetisnull(r->res, r->row, i))
        return NULL;
    return PQgetvalue(r->res, r->row, i);
}

const char *api_row_owner(const struct api_row *r)
{
    return api_row_get(r, (int)r->sk->kind->nfields);
}

const char *api_row_project(const struct api_row *r)
{
    return api_row_get(r, (int)r->sk->kind->nfields + 1);
}

const char *api_row_field(const struct api_row *r, const char *name)
{
    int i = api_kind_field(r->sk->kind, name);

    return i < 0 ? NULL : api_row_get(r, i);
}

void api_row_render(const struct api_row *r, struct jw *w, uint32_t mask, const char *base)
{
    const char *vals[32];

    for (unsigned i = 0; i < r->sk->kind->nfields; i++)
        vals[i] = api_row_get(r, (int)i);
    api_render_item(w, r->sk->kind, vals, mask, base);
}

/* Runs stmt and writes {"<list key>": [rows]} of kind k. */
static int plain_list(struct db *db, const struct db_stmt *stmt, const char *const *p,
                      const struct api_kind *k, const char *base, int single, struct buf *out,
                      struct error *err)
{
    const char *vals[32];
    PGresult *res = NULL;
    struct jw w;
    int rc = db_exec_stmt(db, stmt, p, &res, err);

    if (rc < 0)
        return api_store_fail(db, rc, err);
    if (single && PQntuples(res) == 0) {
        PQclear(res);
        return api_fail(err, 404, "Port %s could not be found.", p[1]);
    }
    jw_init(&w, out, 1);
    if (!single) {
        jw_obj_begin(&w);
        jw_key(&w, k->list_key);
        jw_arr_begin(&w);
    }
    for (int r = 0; r < PQntuples(res); r++) {
        for (unsigned i = 0; i < k->nfields; i++)
            vals[i] = PQgetisnull(res, r, (int)i) ? NULL : PQgetvalue(res, r, (int)i);
        api_render_item(&w, k, vals, api_kind_all(k), base);
    }
    if (!single) {
        jw_arr_end(&w);
        jw_obj_end(&w);
    }
    PQclear(res);
    return jw_error(&w) < 0 ? api_fail(err, 500, "An unknown exception occurred.") : 0;
}

int api_store_sublist(const struct api_store *st, struct db *db, const struct api_kind *k,
                      const char *board_uuid, const char *base, struct buf *out, struct error *err)
{
    const char *p[1] = {board_uuid};
    const struct db_stmt *stmt = k == &api_kind_injection ? &sub_injections
                                 : k == &api_kind_exposed ? &sub_exposed
                                                          : &sub_ports;

    (void)st;
    return plain_list(db, stmt, p, k, base, 0, out, err);
}

int api_store_boardport(const struct api_store *st, struct db *db, const char *board_uuid,
                        const char *port_uuid, const char *base, struct buf *out, struct error *err)
{
    const char *p[2] = {board_uuid, port_uuid};

    (void)st;
    return plain_list(db, &one_port, p, &api_kind_boardport, base, 1, out, err);
}

int api_store_results(const struct api_store *st, struct db *db, const char *req_uuid,
                      const struct api_listq *q, const char *base, struct buf *out,
                      struct error *err)
{
    char limit[DB_INT_LEN];
    const char *p[2] = {req_uuid, db_param_int(limit, q->limit)};
    const char *vals[8];
    PGresult *res = NULL;
    struct jw w;
    int rc = db_exec_stmt(db, &st->results[q->sort][q->desc], p, &res, err);

    if (rc < 0)
        return api_store_fail(db, rc, err);
    jw_init(&w, out, 1);
    jw_obj_begin(&w);
    jw_key(&w, "results");
    jw_arr_begin(&w);
    for (int r = 0; r < PQntuples(res); r++) {
        for (unsigned i = 0; i < api_kind_result.nfields; i++)
            vals[i] = PQgetisnull(res, r, (int)i) ? NULL : PQgetvalue(res, r, (int)i);
        api_render_item(&w, &api_kind_result, vals, q->fields, base);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    PQclear(res);
    return jw_error(&w) < 0 ? api_fail(err, 500, "An unknown exception occurred.") : 0;
}

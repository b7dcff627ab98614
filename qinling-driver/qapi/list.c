/* qapi/list.c: see list.h. */
#include "qapi/list.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/uuid.h"
#include "qmodel/fault.h"
#include "qmodel/value.h"

#define BODY_MAX (256u << 20)

struct listq {
    int64_t limit;
    const char *marker; /* normalised, or NULL */
    char marker_buf[UUID_STR_LEN];
    const char *project_id; /* the admin's project_id parameter */
    int all_projects;
};

static int is_paging(const char *name)
{
    return strcmp(name, "limit") == 0 || strcmp(name, "marker") == 0 ||
           strcmp(name, "project_id") == 0 || strcmp(name, "all_projects") == 0;
}

static int paging(struct qa_call *c, const struct qa_list_spec *s, struct listq *q)
{
    const char *limit = http_req_query(c->r, "limit"), *marker = http_req_query(c->r, "marker");
    const char *all = http_req_query(c->r, "all_projects");
    int64_t max = c->a->cfg->max_limit;

    memset(q, 0, sizeof(*q));
    q->limit = max;
    if (limit != NULL && (qm_parse_int(limit, &q->limit) < 0 || q->limit < 1 || q->limit > max))
        return qa_fail(c, 400, "Invalid value %s for filter limit.", limit);
    if (marker != NULL) {
        if (uuid_normalize(marker, q->marker_buf) < 0)
            return qa_fail(c, 400, "Expected a uuid but received %s.", marker);
        q->marker = q->marker_buf;
    }
    if (all != NULL && (s->all_projects_rule == NULL || qm_parse_bool(all, &q->all_projects) < 0))
        return s->all_projects_rule == NULL
                   ? qa_fail(c, 400, "Unknown argument: \"all_projects\"")
                   : qa_fail(c, 400, "Invalid value %s for filter all_projects.", all);
    q->project_id = http_req_query(c->r, "project_id");
    return 0;
}

/* The scope condition (1.6 "Scope"). */
static int scope(struct qa_call *c, const struct qa_list_spec *s, const struct listq *q,
                 struct qm_where *w)
{
    char cond[256];
    const char *project = c->project;

    if (s->unscoped)
        return 0;
    if (q->all_projects) {
        if (qa_authorize(c, s->all_projects_rule, NULL) < 0)
            return -1;
        return 0;
    }
    /* A non-admin's project_id is silently replaced by their own. */
    if (c->is_admin && q->project_id != NULL)
        project = q->project_id;
    if (s->with_public)
        snprintf(cond, sizeof(cond), "(%s.project_id = $? OR %s.is_public)", s->alias, s->alias);
    else
        snprintf(cond, sizeof(cond), "%s.project_id = $?", s->alias);
    return qm_where_addp(w, cond, project) < 0 ? qa_fail(c, 400, "Too many filters.") : 0;
}

static int filters(struct qa_call *c, const struct qa_list_spec *s, struct qm_where *w)
{
    struct error err;

    for (size_t i = 0; i < http_req_query_count(c->r); i++) {
        const struct http_kv *kv = http_req_query_at(c->r, i);

        if (is_paging(kv->name))
            continue;
        if (qm_filter_add(w, s->filters, s->nfilters, kv->name, kv->value, &err) < 0)
            return qa_fail(c, 400, "%s", err.msg);
    }
    return 0;
}

static int build(struct qa_call *c, const struct qa_list_spec *s, const struct listq *q,
                 struct qm_where *w, struct buf *sql)
{
    char cond[512];

    if (s->where != NULL && qm_where_addp(w, s->where, s->where_value) < 0)
        return qa_fail(c, 400, "Too many filters.");
    if (scope(c, s, q, w) < 0 || filters(c, s, w) < 0)
        return -1;
    if (q->marker != NULL) {
        snprintf(cond, sizeof(cond),
                 "(%s.created_at, %s.id) > (SELECT m.created_at, m.id FROM %s m WHERE m.id = "
                 "$?::uuid)",
                 s->alias, s->alias, s->table);
        if (qm_where_addp(w, cond, q->marker) < 0)
            return qa_fail(c, 400, "Too many filters.");
    }
    if (buf_printf(sql, "%s WHERE true%s ORDER BY %s.created_at, %s.id LIMIT %lld", s->from,
                   w->sql.data != NULL ? w->sql.data : "", s->alias, s->alias,
                   (long long)q->limit) < 0)
        return qa_fail(c, 400, "Too many filters.");
    return 0;
}

/* Appends s percent-encoded, leaving unreserved characters (and those of
 * safe) as they are. */
static int pct_encode(struct buf *b, const char *s, const char *safe)
{
    int rc = 0;

    for (const char *p = s; rc == 0 && *p; p++) {
        int keep = (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z') ||
                   strchr("-._~", *p) != NULL || strchr(safe, *p) != NULL;

        rc = keep ? buf_append(b, p, 1) : buf_printf(b, "%%%02X", (unsigned char)*p);
    }
    return rc;
}

/* Appends <base><path>?<same filters>&limit=<n>&marker=<last id> to b. */
static int next_link(struct qa_call *c, const char *path, int64_t limit, const char *last,
                     struct buf *b)
{
    int rc = buf_printf(b, "%s%s?", c->base, path);

    for (size_t i = 0; rc == 0 && i < http_req_query_count(c->r); i++) {
        const struct http_kv *kv = http_req_query_at(c->r, i);

        if (strcmp(kv->name, "limit") == 0 || strcmp(kv->name, "marker") == 0)
            continue;
        rc = pct_encode(b, kv->name, "");
        if (rc == 0)
            rc = buf_append_str(b, "=");
        if (rc == 0)
            rc = pct_encode(b, kv->value, ":,");
        if (rc == 0)
            rc = buf_append_str(b, "&");
    }
    return rc == 0 ? buf_printf(b, "limit=%lld&marker=%s", (long long)limit, last) : rc;
}

static void respond(struct qa_call *c, const struct qa_list_spec *s, const struct listq *q,
                    PGresult *res)
{
    struct buf body, link;
    struct jw w;
    int n = PQntuples(res);

    buf_init(&body, BODY_MAX);
    jw_init(&w, &body, 1);
    jw_obj_begin(&w);
    jw_key(&w, s->key);
    jw_arr_begin(&w);
    for (int i = 0; i < n; i++)
        s->render(&w, res, i, c);
    jw_arr_end(&w);
    if (n > 0 && n == q->limit) {
        buf_init(&link, 1 << 16);
        if (next_link(c, http_req_path(c->r), q->limit, PQgetvalue(res, n - 1, 0), &link) == 0) {
            jw_key(&w, "next");
            jw_str(&w, link.data);
        }
        buf_free(&link);
    }
    jw_obj_end(&w);
    if (jw_error(&w) < 0) {
        buf_free(&body);
        qa_fail(c, 500, "An unknown exception occurred.");
        return;
    }
    http_resp_body_take(c->r, 200, NULL, body.data, body.len);
}

void qa_list(struct qa_call *c, const struct qa_list_spec *s)
{
    struct qm_where w;
    struct listq q;
    struct buf sql;
    struct error err;
    PGresult *res = NULL;
    int rc;

    if (paging(c, s, &q) < 0 || qa_authorize(c, s->rule, NULL) < 0)
        return;
    qm_where_init(&w, 1);
    buf_init(&sql, 1 << 16);
    if (build(c, s, &q, &w, &sql) == 0) {
        rc = db_exec(c->db, sql.data, w.nparams, (const char *const *)w.params, &res, &err);
        if (rc < 0) {
            qm_db_fail(rc, &err);
            qa_respond_error(c, &err);
        } else {
            respond(c, s, &q, res);
        }
    }
    PQclear(res);
    buf_free(&sql);
    qm_where_free(&w);
}

void qa_answer_one(struct qa_call *c, PGresult *res, int status, qa_render_fn render,
                   const char *notfound)
{
    struct buf body;
    struct jw w;

    if (PQntuples(res) == 0) {
        PQclear(res);
        qa_fail(c, 404, "%s", notfound);
        return;
    }
    buf_init(&body, BODY_MAX);
    jw_init(&w, &body, 1);
    render(&w, res, 0, c);
    PQclear(res);
    if (jw_error(&w) < 0) {
        buf_free(&body);
        qa_fail(c, 500, "An unknown exception occurred.");
        return;
    }
    http_resp_body_take(c->r, status, NULL, body.data, body.len);
}

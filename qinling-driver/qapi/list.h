/* qapi/list.h: collection reads (deviceless-api.md 1.6) and single reads.
 *
 * A list is the collection's object, {"<key>": [...]}, ordered by
 * created_at then id, scoped to the caller's project (runtimes: plus the
 * public ones; admins: project_id=<p> or all_projects=true under the
 * <resource>:get_all:all_projects rule), filtered by the collection's own
 * fields with operators, and paged with limit/marker and a "next" link when
 * the page is full. The statement is assembled from fixed fragments; every
 * value is a parameter. Worker threads. */
#ifndef QA_LIST_H
#define QA_LIST_H

#include <libpq-fe.h>
#include <stddef.h>

#include "common/jsonw.h"
#include "qapi/call.h"
#include "qmodel/filter.h"

typedef void (*qa_render_fn)(struct jw *w, const PGresult *res, int row, struct qa_call *c);

struct qa_list_spec {
    const char *key;   /* "functions" */
    const char *from;  /* "SELECT <cols> FROM functions f" */
    const char *alias; /* "f" */
    const char *table; /* "functions" (the marker's row) */
    const struct qm_filter_field *filters;
    size_t nfilters;
    const char *rule;              /* the list's policy rule, e.g. "function:get_all" */
    const char *all_projects_rule; /* NULL: all_projects is not accepted */
    int with_public;               /* runtimes: also every is_public row */
    int unscoped;                  /* the scope is given by `where` (a function's versions) */
    qa_render_fn render;
    const char *where; /* an extra fixed condition with one "$?", or NULL */
    const char *where_value;
};

/* Answers the list (200) or the error. */
void qa_list(struct qa_call *c, const struct qa_list_spec *s);

/* Answers 200 with row 0 of a result rendered by render, or 404 with
 * notfound when there is no row. Takes res. */
void qa_answer_one(struct qa_call *c, PGresult *res, int status, qa_render_fn render,
                   const char *notfound);

#endif

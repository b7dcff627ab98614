/* qmodel/filter.h: list filters with operators (deviceless-api.md 1.6).
 *
 * A list accepts a fixed set of filter fields; each value may carry an
 * operator prefix "<op>:" (eq neq in nin gt gte lt lte has; default eq).
 * qm_filter_add() turns one parameter into a WHERE condition made only of
 * fixed text (the column named by the field table, the operator's template)
 * and $n placeholders; the values travel as parameters, so nothing from the
 * request ever becomes SQL text. `has` is literal substring containment
 * (strpos), never LIKE. Pure, any thread. */
#ifndef QM_FILTER_H
#define QM_FILTER_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

enum qm_ftype { QM_F_STR, QM_F_UUID, QM_F_INT, QM_F_TIME, QM_F_BOOL };

struct qm_filter_field {
    const char *name;   /* the query parameter */
    const char *column; /* SQL expression, fixed text ("e.status") */
    enum qm_ftype type;
};

#define QM_FILTER_PARAMS 32

/* A WHERE clause under construction: " AND ..." conditions and their
 * parameter values (owned). Parameter numbers continue from first_param. */
struct qm_where {
    struct buf sql;
    char *params[QM_FILTER_PARAMS];
    int nparams;
    int first_param; /* the $n of params[0] */
};

void qm_where_init(struct qm_where *w, int first_param);
void qm_where_free(struct qm_where *w);

/* Appends " AND <text>" where text is fixed SQL; "$?" in it stands for the
 * next parameter, whose value (copied; NULL is SQL NULL) is given. Returns
 * 0 or -E2BIG. */
int qm_where_addp(struct qm_where *w, const char *text, const char *value) IOT_WUR;

/* Adds the condition of parameter name=value. -ENOENT (err: Unknown
 * argument: "<name>") when no field has that name; -EINVAL (err: Invalid
 * value <value> for filter <name>.) for an operator or value the field's
 * type refuses; -E2BIG past QM_FILTER_PARAMS. */
int qm_filter_add(struct qm_where *w, const struct qm_filter_field *fields, size_t nfields,
                  const char *name, const char *value, struct error *err) IOT_WUR;

#endif

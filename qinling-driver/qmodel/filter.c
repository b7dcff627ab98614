/* qmodel/filter.c: see filter.h. */
#include "qmodel/filter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "qmodel/value.h"

enum op { OP_EQ, OP_NEQ, OP_IN, OP_NIN, OP_GT, OP_GTE, OP_LT, OP_LTE, OP_HAS };

static const char *const op_names[] = {"eq", "neq", "in", "nin", "gt", "gte", "lt", "lte", "has"};
static const char *const op_sql[] = {"=", "<>", NULL, NULL, ">", ">=", "<", "<=", NULL};

/* The cast that makes a text parameter comparable with the column. */
static const char *const type_cast[] = {"", "::uuid", "::bigint", "::timestamptz", "::boolean"};

void qm_where_init(struct qm_where *w, int first_param)
{
    memset(w, 0, sizeof(*w));
    buf_init(&w->sql, 16384);
    w->first_param = first_param;
}

void qm_where_free(struct qm_where *w)
{
    buf_free(&w->sql);
    for (int i = 0; i < w->nparams; i++)
        free(w->params[i]);
    w->nparams = 0;
}

int qm_where_addp(struct qm_where *w, const char *text, const char *value)
{
    const char *p = text, *q;

    if (w->nparams >= QM_FILTER_PARAMS)
        return -E2BIG;
    if (buf_append_str(&w->sql, " AND ") < 0)
        return -E2BIG;
    while ((q = strstr(p, "$?")) != NULL) {
        if (buf_append(&w->sql, p, (size_t)(q - p)) < 0 ||
            buf_printf(&w->sql, "$%d", w->first_param + w->nparams) < 0)
            return -E2BIG;
        p = q + 2;
    }
    if (buf_append_str(&w->sql, p) < 0)
        return -E2BIG;
    w->params[w->nparams++] = value != NULL ? xstrdup(value) : NULL;
    return 0;
}

/* Normalises one value of a field's type into out (size 64); 0 or -EINVAL. */
static int norm_one(enum qm_ftype t, const char *v, char out[64])
{
    int64_t i, us;
    int b;

    switch (t) {
    case QM_F_STR:
        return -EINVAL; /* strings are not normalised */
    case QM_F_UUID:
        return uuid_normalize(v, out) < 0 ? -EINVAL : 0;
    case QM_F_INT:
        if (qm_parse_int(v, &i) < 0)
            return -EINVAL;
        snprintf(out, 64, "%lld", (long long)i);
        return 0;
    case QM_F_TIME:
        if (time_parse(v, &us) < 0)
            return -EINVAL;
        time_format(us, TIME_Z_US, out);
        return 0;
    case QM_F_BOOL:
        if (qm_parse_bool(v, &b) < 0)
            return -EINVAL;
        snprintf(out, 64, "%s", b ? "true" : "false");
        return 0;
    }
    return -EINVAL;
}

/* The value in the form the parameter takes: strings as they are, other
 * types normalised, lists item by item. NULL on a bad value. */
static char *norm_value(enum qm_ftype t, const char *v, int list)
{
    struct buf b;
    const char *p = v;
    char one[64];

    if (t == QM_F_STR)
        return xstrdup(v);
    if (!list)
        return norm_one(t, v, one) < 0 ? NULL : xstrdup(one);
    buf_init(&b, 1 << 20);
    for (;;) {
        const char *comma = strchr(p, ',');
        char *item = comma != NULL ? xstrndup(p, (size_t)(comma - p)) : xstrdup(p);
        int rc = norm_one(t, item, one);

        free(item);
        if (rc < 0 || buf_printf(&b, "%s%s", b.len ? "," : "", one) < 0) {
            buf_free(&b);
            return NULL;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return buf_take(&b, NULL);
}

static int split_op(const char *value, enum op *op, const char **rest)
{
    const char *colon = strchr(value, ':');

    *op = OP_EQ;
    *rest = value;
    if (colon == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
        if (strlen(op_names[i]) == (size_t)(colon - value) &&
            strncmp(value, op_names[i], (size_t)(colon - value)) == 0) {
            *op = (enum op)i;
            *rest = colon + 1;
        }
    }
    return 0;
}

/* The condition text for op on field f, with "$?" for the parameter. */
static void condition(const struct qm_filter_field *f, enum op op, char *out, size_t outsz)
{
    const char *cast = type_cast[f->type];

    if (op == OP_HAS)
        snprintf(out, outsz, "strpos(%s, $?) > 0", f->column);
    else if (op == OP_IN || op == OP_NIN)
        snprintf(out, outsz, "%s%s = ANY(string_to_array($?, ',')%s%s)", op == OP_NIN ? "NOT " : "",
                 f->column, cast, cast[0] ? "[]" : "");
    else if (f->type == QM_F_STR || (f->type == QM_F_UUID && op != OP_EQ && op != OP_NEQ))
        /* Byte-wise ordering of strings (1.6): the C collation. */
        snprintf(out, outsz, "%s%s COLLATE \"C\" %s $?", f->column,
                 f->type == QM_F_UUID ? "::text" : "", op_sql[op]);
    else
        snprintf(out, outsz, "%s %s $?%s", f->column, op_sql[op], cast);
}

int qm_filter_add(struct qm_where *w, const struct qm_filter_field *fields, size_t nfields,
                  const char *name, const char *value, struct error *err)
{
    const struct qm_filter_field *f = NULL;
    char cond[512];
    const char *rest;
    enum op op;
    char *v;
    int rc;

    for (size_t i = 0; i < nfields && f == NULL; i++)
        if (strcmp(fields[i].name, name) == 0)
            f = &fields[i];
    if (f == NULL)
        return error_set(err, -ENOENT, "Unknown argument: \"%s\"", name);
    split_op(value, &op, &rest);
    v = (op == OP_HAS && f->type != QM_F_STR) ||
                (f->type == QM_F_BOOL && op != OP_EQ && op != OP_NEQ)
            ? NULL
            : norm_value(f->type, rest, op == OP_IN || op == OP_NIN);
    if (v == NULL)
        return error_set(err, -EINVAL, "Invalid value %s for filter %s.", value, name);
    condition(f, op, cond, sizeof(cond));
    rc = qm_where_addp(w, cond, v);
    free(v);
    return rc < 0 ? error_set(err, -E2BIG, "Too many filters.") : 0;
}

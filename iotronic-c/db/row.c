/* db/row.c: see row.h. Fields are text; every conversion is checked whole
 * (no trailing characters, no overflow). */
#include "db/row.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/timeutil.h"

static int in_range(const PGresult *res, int row, int col)
{
    return res != NULL && row >= 0 && row < PQntuples(res) && col >= 0 && col < PQnfields(res);
}

/* Common prologue: 2 with *text set when there is a value to convert. */
static int field(const PGresult *res, int row, int col, const char **text, struct error *err)
{
    if (!in_range(res, row, col))
        return error_set(err, -EINVAL, "no field at row %d column %d", row, col);
    if (PQgetisnull(res, row, col))
        return 1;
    *text = PQgetvalue(res, row, col);
    return 2;
}

static int bad(const PGresult *res, int col, const char *what, struct error *err)
{
    return error_set(err, -EINVAL, "column %s: %s", PQfname(res, col), what);
}

const char *db_getstr(const PGresult *res, int row, int col)
{
    if (!in_range(res, row, col) || PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

int db_col(const PGresult *res, const char *name)
{
    return PQfnumber(res, name);
}

int db_getint(const PGresult *res, int row, int col, int64_t min, int64_t max, int64_t *out,
              struct error *err)
{
    const char *s = NULL;
    char *end;
    long long v;
    int rc = field(res, row, col, &s, err);

    if (rc != 2)
        return rc;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return bad(res, col, "not an integer", err);
    if (v < min || v > max)
        return bad(res, col, "integer out of range", err);
    *out = v;
    return 0;
}

int db_getdouble(const PGresult *res, int row, int col, double *out, struct error *err)
{
    const char *s = NULL;
    char *end;
    double v;
    int rc = field(res, row, col, &s, err);

    if (rc != 2)
        return rc;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
        return bad(res, col, "not a finite number", err);
    *out = v;
    return 0;
}

int db_getbool(const PGresult *res, int row, int col, int *out, struct error *err)
{
    const char *s = NULL;
    int rc = field(res, row, col, &s, err);

    if (rc != 2)
        return rc;
    if (strcmp(s, "t") == 0)
        *out = 1;
    else if (strcmp(s, "f") == 0)
        *out = 0;
    else
        return bad(res, col, "not a boolean", err);
    return 0;
}

int db_gettime(const PGresult *res, int row, int col, int64_t *out, struct error *err)
{
    const char *s = NULL;
    char buf[64];
    size_t len;
    int rc = field(res, row, col, &s, err);

    if (rc != 2)
        return rc;
    /* ISO output ends in "+00" (hours only); time_parse() wants "+00:00". */
    len = strlen(s);
    if (len + 4 > sizeof(buf))
        return bad(res, col, "not a timestamp", err);
    memcpy(buf, s, len + 1);
    if (len > 3 && (buf[len - 3] == '+' || buf[len - 3] == '-'))
        memcpy(buf + len, ":00", 4);
    if (time_parse(buf, out) < 0)
        return bad(res, col, "not a timestamp", err);
    return 0;
}

int db_getjson(const PGresult *res, int row, int col, cJSON **out, struct error *err)
{
    const char *s = NULL;
    int rc;

    *out = NULL;
    rc = field(res, row, col, &s, err);
    if (rc != 2)
        return rc;
    rc = json_parse(s, (size_t)PQgetlength(res, row, col), out, err);
    if (rc < 0)
        return error_prefix(err, "column %s", PQfname(res, col));
    return 0;
}

int db_getobject(const PGresult *res, int row, int col, cJSON **out, struct error *err)
{
    int rc = db_getjson(res, row, col, out, err);

    if (rc == 0 && !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return bad(res, col, "not a JSON object", err);
    }
    return rc;
}

int64_t db_affected(const PGresult *res)
{
    const char *s = res ? PQcmdTuples((PGresult *)res) : "";
    char *end;
    long long v;

    if (*s == '\0')
        return 0;
    v = strtoll(s, &end, 10);
    return *end == '\0' && v >= 0 ? v : 0;
}

/* api/query.c: see query.h. */
#include "api/query.h"

#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/fault.h"

#define BOOL_VALUES "'0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"

static const struct {
    const char *name;
    unsigned bit;
} known[] = {
    {"marker", API_Q_MARKER},
    {"limit", API_Q_LIMIT},
    {"sort_key", API_Q_SORT_KEY},
    {"sort_dir", API_Q_SORT_DIR},
    {"fields", API_Q_FIELDS},
    {"status", API_Q_STATUS},
    {"project", API_Q_PROJECT},
    {"all_projects", API_Q_ALL_PROJECTS},
    {"with_public", API_Q_WITH_PUBLIC},
    {"all_plugins", API_Q_ALL_PLUGINS},
    {"all_services", API_Q_ALL_SERVICES},
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

int api_parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "t", "true", "on", "y", "yes"};
    static const char *const no[] = {"0", "f", "false", "off", "n", "no"};
    char tmp[8];
    size_t n;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || n >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    for (size_t i = 0; i < 6; i++) {
        if (strcasecmp(tmp, yes[i]) == 0)
            return 1;
        if (strcasecmp(tmp, no[i]) == 0)
            return 0;
    }
    return -EINVAL;
}

int api_bad_bool(struct error *err, const char *field, const char *v)
{
    return api_fail(err, 400,
                    "Invalid input for field/attribute %s. Value: '%s'. Unrecognized value '%s', "
                    "acceptable values are: " BOOL_VALUES,
                    field, v, v);
}

/* Python's int(): blanks around, optional sign, digits. Overflow saturates. */
static int parse_int(const char *s, int64_t *out)
{
    const char *p = s;
    int neg = 0;
    int64_t v = 0;

    while (isspace((unsigned char)*p))
        p++;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++)
        v = v > (INT64_MAX - 9) / 10 ? INT64_MAX : v * 10 + (*p - '0');
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '\0')
        return -EINVAL;
    *out = neg ? -v : v;
    return 0;
}

/* Collects the last value of each known parameter; 400 for unknown names. */
static int collect(unsigned allowed, const struct api_qparam *params, size_t n,
                   const char *vals[NKNOWN], struct error *err)
{
    char names[ERROR_MSG_MAX / 2];
    size_t used = 0;
    int unknown = 0;

    memset(vals, 0, NKNOWN * sizeof(vals[0]));
    names[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t j;

        for (j = 0; j < NKNOWN; j++)
            if ((allowed & known[j].bit) && strcmp(params[i].name, known[j].name) == 0)
                break;
        if (j < NKNOWN) {
            vals[j] = params[i].value;
            continue;
        }
        /* Each unknown name once, in request order. */
        for (j = 0; j < i; j++)
            if (strcmp(params[j].name, params[i].name) == 0)
                break;
        if (j < i)
            continue;
        if (used < sizeof(names))
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
                                     unknown ? ", " : "", params[i].name);
        unknown++;
    }
    if (unknown)
        return api_fail(err, 400, "Unknown argument: \"%s\"", names);
    return 0;
}

static int parse_limit(const char *v, int64_t max_limit, int64_t *out, struct error *err)
{
    int64_t l;

    if (v == NULL) {
        *out = max_limit;
        return 0;
    }
    if (parse_int(v, &l) < 0)
        return api_fail(err, 400,
                        "Invalid input for field/attribute limit. Value: '%s'. unable to convert "
                        "to int",
                        v);
    if (l <= 0)
        return api_fail(err, 400, "Limit must be positive");
    *out = l > max_limit ? max_limit : l;
    return 0;
}

static int parse_sort(const struct api_kind *k, const char *key, const char *dir,
                      struct api_listq *q, struct error *err)
{
    q->desc = 0;
    if (dir != NULL) {
        if (strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0)
            return api_fail(
                err, 400, "Invalid sort direction: %s. Acceptable values are 'asc' or 'desc'", dir);
        q->desc = dir[1] == 'e';
    }
    q->sort = 0;
    if (key == NULL)
        return 0;
    q->sort = api_kind_sort(k, key);
    if (q->sort >= 0)
        return 0;
    for (int i = 0; k->sort_bad[i] != NULL; i++)
        if (strcmp(k->sort_bad[i], key) == 0)
            return api_fail(err, 400, "The sort_key value %s is an invalid field for sorting", key);
    return api_fail(err, 400, "The sort_key value \"%s\" is an invalid field for sorting", key);
}

/* Matches each trimmed item of raw case-insensitively against k's fields. */
static int parse_fields(const struct api_kind *k, const char *raw, struct api_listq *q,
                        struct error *err)
{
    char bad[ERROR_MSG_MAX / 2];
    size_t used = 0;
    int nbad = 0, nitems = 0;
    const char *p = raw;

    bad[0] = '\0';
    q->fields = 0;
    while (*p) {
        const char *e = p + strcspn(p, ",");
        const char *s = p, *t = e;
        unsigned i;

        p = *e ? e + 1 : e;
        while (s < t && isspace((unsigned char)*s))
            s++;
        while (t > s && isspace((unsigned char)t[-1]))
            t--;
        if (s == t)
            continue;
        nitems++;
        for (i = 0; i < k->nfields; i++)
            if (k->fields[i].type != FT_LINKS && strlen(k->fields[i].name) == (size_t)(t - s) &&
                strncasecmp(k->fields[i].name, s, (size_t)(t - s)) == 0)
                break;
        if (i < k->nfields) {
            q->fields |= UINT32_C(1) << i;
        } else if (!k->lenient_fields && used < sizeof(bad)) {
            used += (size_t)snprintf(bad + used, sizeof(bad) - used, "%s%.*s", nbad ? ", " : "",
                                     (int)(t - s), s);
            nbad++;
        }
    }
    if (nbad)
        return api_fail(err, 400, "Field(s) \"%s\" are not valid", bad);
    q->fields_given = nitems > 0;
    return 0;
}

static int parse_flag(const char *v, const char *name, int *out, struct error *err)
{
    int b;

    if (v == NULL)
        return 0;
    b = api_parse_bool(v);
    if (b < 0)
        return api_bad_bool(err, name, v);
    *out = *out || b;
    return 0;
}

static int admin_only(const struct api_listq *q, const char *vals[NKNOWN], int is_admin,
                      struct error *err)
{
    if (is_admin)
        return 0;
    if (q->project != NULL)
        return api_fail(err, 400, "Project parameter can be used only by the administrator.");
    if (vals[7] != NULL && api_parse_bool(vals[7]) == 1)
        return api_fail(err, 400, "all_projects parameter can be used only by the administrator.");
    if (vals[9] != NULL && api_parse_bool(vals[9]) == 1)
        return api_fail(err, 400, "all_plugins parameter can only be used  by the administrator.");
    if (vals[10] != NULL && api_parse_bool(vals[10]) == 1)
        return api_fail(err, 400, "all_services parameter can only be used  by the administrator.");
    return 0;
}

int api_listq_parse(const struct api_kind *k, unsigned allowed, int detail, int is_admin,
                    int64_t max_limit, const struct api_qparam *params, size_t n,
                    struct api_listq *q, struct error *err)
{
    const char *vals[NKNOWN];
    int rc;

    memset(q, 0, sizeof(*q));
    rc = collect(allowed, params, n, vals, err);
    if (rc < 0)
        return rc;
    rc = parse_limit(vals[1], max_limit, &q->limit, err);
    if (rc == 0)
        rc = parse_flag(vals[7], "all_projects", &q->all_projects, err);
    if (rc == 0)
        rc = parse_flag(vals[8], "with_public", &q->with_public, err);
    if (rc == 0)
        rc = parse_flag(vals[9], "all_plugins", &q->all_projects, err);
    if (rc == 0)
        rc = parse_flag(vals[10], "all_services", &q->all_projects, err);
    if (rc == 0)
        rc = parse_sort(k, vals[2], vals[3], q, err);
    if (rc == 0 && vals[4] != NULL)
        rc = parse_fields(k, vals[4], q, err);
    if (rc == 0 && vals[0] != NULL) {
        q->has_marker = 1;
        rc = uuid_normalize(vals[0], q->marker) == 0
                 ? 0
                 : api_fail(err, 400, "Expected a uuid but received %s.", vals[0]);
    }
    if (rc < 0)
        return rc;
    q->fields_raw = q->fields_given ? vals[4] : NULL;
    if (!q->fields_given)
        q->fields = detail ? api_kind_all(k) : api_kind_default(k);
    q->status = vals[5];
    q->project = vals[6];
    q->raw_all_projects = vals[7];
    q->raw_with_public = vals[8];
    q->raw_all_plugins = vals[9];
    q->raw_all_services = vals[10];
    return admin_only(q, vals, is_admin, err);
}

int api_pct_encode(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
        unsigned char c = *p;

        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            rc = buf_append(out, p, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};

            rc = buf_append(out, e, 3);
        }
    }
    return rc;
}

static int add_param(struct buf *out, const char *name, const char *value)
{
    int rc;

    if (value == NULL)
        return 0;
    rc = buf_printf(out, "&%s=", name);
    return rc < 0 ? rc : api_pct_encode(out, value);
}

int api_next_link(struct buf *out, const char *base, const char *path, const struct api_kind *k,
                  const struct api_listq *q, const char *last_marker)
{
    int rc;

    rc = buf_printf(out, "%s%s?sort_key=%s&sort_dir=%s", base, path, k->sort_keys[q->sort],
                    q->desc ? "desc" : "asc");
    if (rc == 0)
        rc = add_param(out, "status", q->status);
    if (rc == 0)
        rc = add_param(out, "project", q->project);
    if (rc == 0)
        rc = add_param(out, "all_projects", q->raw_all_projects);
    if (rc == 0)
        rc = add_param(out, "with_public", q->raw_with_public);
    if (rc == 0)
        rc = add_param(out, "all_plugins", q->raw_all_plugins);
    if (rc == 0)
        rc = add_param(out, "all_services", q->raw_all_services);
    if (rc == 0)
        rc = add_param(out, "fields", q->fields_raw);
    if (rc == 0)
        rc = buf_printf(out, "&limit=%lld&marker=", (long long)q->limit);
    if (rc == 0)
        rc = api_pct_encode(out, last_marker);
    return rc;
}

/* qmodel/cron.c: see cron.h.
 *
 * Fields become bit masks; the search for the next match walks forward a
 * month, a day, an hour, a minute or a second at a time, whichever is the
 * smallest unit that does not match yet, so even a sparse pattern is found
 * in a few thousand steps at most. */
#include "qmodel/cron.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SEARCH_YEARS 10

struct field {
    const char *name;
    int min, max;
    const char *const *names; /* names[i] is value min + i (or i, for weekdays) */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct field fields[6] = {
    {"minute", 0, 59, NULL},          {"hour", 0, 23, NULL},
    {"day of month", 1, 31, NULL},    {"month", 1, 12, month_names},
    {"day of week", 0, 7, day_names}, {"second", 0, 59, NULL},
};

static int value(const struct field *f, const char *s, size_t n, int *out)
{
    int v = 0;

    if (n == 0)
        return -EINVAL;
    if (f->names != NULL && n == 3 && isalpha((unsigned char)s[0])) {
        for (int i = 0; f->names[i] != NULL; i++) {
            if (strncasecmp(s, f->names[i], 3) == 0) {
                *out = f->names == month_names ? i + 1 : i;
                return 0;
            }
        }
        return -EINVAL;
    }
    if (n > 2)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (v < f->min || v > f->max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* One list item: "*", "a", "a-b", each optionally "/step". */
static int item(const struct field *f, const char *s, size_t n, uint64_t *mask)
{
    const char *slash = memchr(s, '/', n), *dash;
    size_t head = slash != NULL ? (size_t)(slash - s) : n;
    int lo, hi, step = 1;

    if (slash != NULL) {
        int st = 0;
        size_t sn = n - head - 1;

        if (sn == 0 || sn > 2)
            return -EINVAL;
        for (size_t i = 0; i < sn; i++) {
            if (slash[1 + i] < '0' || slash[1 + i] > '9')
                return -EINVAL;
            st = st * 10 + (slash[1 + i] - '0');
        }
        if (st < 1)
            return -EINVAL;
        step = st;
    }
    dash = memchr(s, '-', head);
    if (head == 1 && s[0] == '*') {
        lo = f->min;
        hi = f->max;
    } else if (dash != NULL) {
        if (value(f, s, (size_t)(dash - s), &lo) < 0 ||
            value(f, dash + 1, head - (size_t)(dash - s) - 1, &hi) < 0 || lo > hi)
            return -EINVAL;
    } else {
        if (value(f, s, head, &lo) < 0)
            return -EINVAL;
        hi = slash != NULL ? f->max : lo;
    }
    for (int v = lo; v <= hi; v += step)
        *mask |= UINT64_C(1) << v;
    return 0;
}

static int field(const struct field *f, const char *s, size_t n, uint64_t *mask)
{
    const char *p = s, *end = s + n;

    *mask = 0;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t len = comma != NULL ? (size_t)(comma - p) : (size_t)(end - p);

        if (item(f, p, len, mask) < 0)
            return -EINVAL;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return 0;
}

static const char *macro(const char *text)
{
    static const char *const m[][2] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    };

    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (strcasecmp(text, m[i][0]) == 0)
            return m[i][1];
    return NULL;
}

static int split_fields(const char *text, uint64_t masks[6], int stars[6], int *nf,
                        struct error *err)
{
    const char *p = text;

    *nf = 0;
    masks[5] = 1; /* second 0 unless a sixth field says otherwise */
    while (*p != '\0') {
        size_t len;

        p += strspn(p, " \t");
        len = strcspn(p, " \t");
        if (len == 0)
            break;
        if (*nf == 6)
            return error_set(err, -EINVAL, "more than six fields");
        if (field(&fields[*nf], p, len, &masks[*nf]) < 0)
            return error_set(err, -EINVAL, "bad %s field", fields[*nf].name);
        stars[*nf] = len == 1 && (p[0] == '*' || p[0] == '?');
        (*nf)++;
        p += len;
    }
    if (*nf < 5)
        return error_set(err, -EINVAL, "five or six fields are needed");
    return 0;
}

int qm_cron_parse(const char *text, struct qm_cron *out, struct error *err)
{
    uint64_t masks[6] = {0};
    int stars[6] = {0}, nf = 0;
    const char *m;
    int64_t next;
    int rc;

    memset(out, 0, sizeof(*out));
    if (text == NULL || strlen(text) == 0 || strlen(text) > QM_CRON_MAX)
        return error_set(err, -EINVAL, "a pattern has 1 to %d characters", QM_CRON_MAX);
    m = macro(text);
    rc = split_fields(m != NULL ? m : text, masks, stars, &nf, err);
    if (rc < 0)
        return rc;
    out->min = masks[0];
    out->hour = (uint32_t)masks[1];
    out->dom = (uint32_t)masks[2];
    out->mon = (uint16_t)masks[3];
    /* Weekday 7 is Sunday. */
    out->dow = (uint8_t)((masks[4] & 0x7f) | ((masks[4] >> 7) & 1));
    out->sec = masks[5];
    out->dom_star = stars[2];
    out->dow_star = stars[4];
    /* A pattern that never fires (30 February) is refused now, not at run time. */
    if (qm_cron_next(out, 0, 1, &next) < 0)
        return error_set(err, -EINVAL, "the pattern never matches");
    return 0;
}

static int day_matches(const struct qm_cron *c, const struct tm *tm)
{
    int dom = (c->dom >> tm->tm_mday) & 1, dow = (c->dow >> tm->tm_wday) & 1;

    if (!c->dom_star && !c->dow_star)
        return dom || dow;
    return dom && dow;
}

int qm_cron_next(const struct qm_cron *c, int64_t t_us, int inclusive, int64_t *out)
{
    time_t t = (time_t)(t_us / 1000000), limit;
    struct tm tm;

    if (t_us % 1000000 != 0 && t_us > 0)
        t++; /* the next whole second is the first candidate */
    else if (!inclusive)
        t++;
    limit = t + (time_t)SEARCH_YEARS * 366 * 86400;
    while (t < limit) {
        gmtime_r(&t, &tm);
        if (!((c->mon >> (tm.tm_mon + 1)) & 1)) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        } else if (!day_matches(c, &tm)) {
            tm.tm_mday++;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        } else if (!((c->hour >> tm.tm_hour) & 1)) {
            tm.tm_hour++;
            tm.tm_min = tm.tm_sec = 0;
        } else if (!((c->min >> tm.tm_min) & 1)) {
            tm.tm_min++;
            tm.tm_sec = 0;
        } else if (!((c->sec >> tm.tm_sec) & 1)) {
            tm.tm_sec++;
        } else {
            *out = (int64_t)t * 1000000;
            return 0;
        }
        t = timegm(&tm);
    }
    return -ERANGE;
}

/* common/timeutil.c: see timeutil.h. */
#include "common/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_ms(void)
{
    return time_mono_us() / 1000;
}

char *time_format(int64_t t, enum time_style style, char out[TIME_ISO_LEN])
{
    int64_t sec = t / 1000000, us = t % 1000000;
    time_t tt;
    struct tm tm;
    size_t n;

    if (us < 0) {
        us += 1000000;
        sec -= 1;
    }
    tt = (time_t)sec;
    gmtime_r(&tt, &tm);
    n = strftime(out, TIME_ISO_LEN, style == TIME_SPACE_US ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%dT%H:%M:%S",
                 &tm);
    switch (style) {
    case TIME_OFFSET_US:
        snprintf(out + n, TIME_ISO_LEN - n, ".%06ld+00:00", (long)us);
        break;
    case TIME_Z_US:
        snprintf(out + n, TIME_ISO_LEN - n, ".%06ldZ", (long)us);
        break;
    case TIME_Z_MS:
        snprintf(out + n, TIME_ISO_LEN - n, ".%03ldZ", (long)(us / 1000));
        break;
    case TIME_Z_SEC:
        snprintf(out + n, TIME_ISO_LEN - n, "Z");
        break;
    case TIME_SPACE_US:
        snprintf(out + n, TIME_ISO_LEN - n, ".%06ld", (long)us);
        break;
    }
    return out;
}

/* Reads exactly n digits at *p into *v and advances *p. */
static int digits(const char **p, int n, int *v)
{
    int x = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -EINVAL;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

static int parse_fraction(const char **p, int64_t *us)
{
    int64_t scale = 100000;
    int n = 0;

    *us = 0;
    while (isdigit((unsigned char)**p)) {
        if (n < 6) {
            *us += (**p - '0') * scale;
            scale /= 10;
        }
        (*p)++;
        n++;
    }
    return n > 0 ? 0 : -EINVAL;
}

static int parse_offset(const char *p, int *offset_s)
{
    int sign, hh, mm;

    *offset_s = 0;
    if (*p == '\0')
        return 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 0;
    if (*p != '+' && *p != '-')
        return -EINVAL;
    sign = *p == '-' ? -1 : 1;
    p++;
    if (digits(&p, 2, &hh) < 0)
        return -EINVAL;
    if (*p == ':')
        p++;
    if (digits(&p, 2, &mm) < 0 || *p != '\0' || hh > 23 || mm > 59)
        return -EINVAL;
    *offset_s = sign * (hh * 3600 + mm * 60);
    return 0;
}

int time_parse(const char *s, int64_t *out)
{
    const char *p = s;
    int y, mo, d, h, mi, sec = 0, off;
    int64_t frac = 0;
    struct tm tm;
    time_t t;

    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        digits(&p, 2, &d) < 0)
        return -EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -EINVAL;
    p++;
    if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
        return -EINVAL;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &sec) < 0)
            return -EINVAL;
        if (*p == '.' || *p == ',') {
            p++;
            if (parse_fraction(&p, &frac) < 0)
                return -EINVAL;
        }
    }
    if (parse_offset(p, &off) < 0)
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    /* timegm normalises 31 February into March: refuse dates that moved. */
    if (tm.tm_mday != d || tm.tm_mon != mo - 1)
        return -EINVAL;
    *out = ((int64_t)t - off) * 1000000 + frac;
    return 0;
}

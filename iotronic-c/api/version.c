/* api/version.c: see version.h. */
#include "api/version.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "api/fault.h"

#define RANGE "The supported version range is: [1.0, 1.0]."

/* Copies the decimal integer [s, e) (blanks around it allowed) into out
 * without leading zeros, as Python prints int(s). 0, or -EINVAL. */
static int decimal(const char *s, const char *e, char *out, size_t outsz)
{
    size_t n;

    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    if (s == e)
        return -EINVAL;
    for (const char *p = s; p < e; p++)
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
    while (e - s > 1 && *s == '0')
        s++;
    n = (size_t)(e - s);
    if (n >= outsz)
        return -EINVAL;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int api_version_check(const char *value, struct error *err)
{
    char major[32], minor[32];
    const char *dot, *end;
    const char *v = value;

    if (v == NULL)
        return 0;
    while (isspace((unsigned char)*v))
        v++;
    end = v + strlen(v);
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    if ((size_t)(end - v) == 6 && strncasecmp(v, "latest", 6) == 0)
        return 0;
    dot = memchr(v, '.', (size_t)(end - v));
    if (dot == NULL || memchr(dot + 1, '.', (size_t)(end - dot - 1)) != NULL ||
        decimal(v, dot, major, sizeof(major)) < 0 ||
        decimal(dot + 1, end, minor, sizeof(minor)) < 0)
        return api_fail(err, 406, "Invalid value for " API_VERSION_HEADER " header");
    if (strcmp(major, "1") != 0)
        return api_fail(err, 406,
                        "Mutually exclusive versions requested. Version %s.%s requested but not "
                        "supported by this service. " RANGE,
                        major, minor);
    if (strcmp(minor, "0") != 0)
        return api_fail(err, 406,
                        "Version %s.%s was requested but the minor version is not supported by "
                        "this service. " RANGE,
                        major, minor);
    return 0;
}

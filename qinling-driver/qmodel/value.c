/* qmodel/value.c: see value.h. */
#include "qmodel/value.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/jsonw.h"
#include "common/uuid.h"

int qm_parse_int(const char *s, int64_t *out)
{
    const char *p = s;
    char *end;
    long long v;

    if (s == NULL)
        return -EINVAL;
    if (*p == '+' || *p == '-')
        p++;
    if (*p == '\0')
        return -EINVAL;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -EINVAL;
    *out = v;
    return 0;
}

int qm_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "t", "yes", "y", "on", "1"};
    static const char *const no[] = {"false", "f", "no", "n", "off", "0"};

    if (s == NULL)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}

long qm_utf8_chars(const char *s, size_t n)
{
    long count = 0;

    if (!jw_utf8_valid(s, n))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

int qm_text_ok(const char *s, size_t max)
{
    long n = qm_utf8_chars(s, strlen(s));

    return n >= 0 && (size_t)n <= max;
}

int qm_alias_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > QM_NAME_MAX || uuid_is_like(s))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && strchr("-._~", s[i]) == NULL)
            return 0;
    return 1;
}

int qm_entry_ok(const char *s)
{
    size_t n = strlen(s);
    const char *p = s;

    if (n == 0 || n > QM_ENTRY_MAX || s[0] == '/')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && strchr("_./-", s[i]) == NULL)
            return 0;
    /* A ".." component: between slashes, or at either end. */
    while (p != NULL) {
        const char *slash = strchr(p, '/');
        size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);

        if (len == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        p = slash != NULL ? slash + 1 : NULL;
    }
    return 1;
}

int qm_hex_digest(const char *s, size_t len, char *out)
{
    if (s == NULL || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return 0;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[len] = '\0';
    return 1;
}

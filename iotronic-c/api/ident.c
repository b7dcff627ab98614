/* api/ident.c: see ident.h. */
#include "api/ident.h"

#include <errno.h>
#include <string.h>

#include "api/fault.h"

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int api_is_logical_name(const char *s, size_t maxlen)
{
    size_t n;

    if (s == NULL)
        return 0;
    n = strlen(s);
    if (n == 0 || n > maxlen)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!unreserved((unsigned char)s[i]))
            return 0;
    return 1;
}

int api_name_allowed(const char *kind, const char *name)
{
    if (!api_is_logical_name(name, API_NAME_MAX) || uuid_is_like(name))
        return 0;
    if (strcmp(name, "detail") == 0)
        return 0;
    if (strcmp(name, "public") == 0 &&
        (strcmp(kind, "plugin") == 0 || strcmp(kind, "service") == 0))
        return 0;
    return 1;
}

int api_parse_ref(const char *s, char uuid[UUID_STR_LEN], struct error *err)
{
    if (uuid_normalize(s, uuid) == 0)
        return 1;
    uuid[0] = '\0';
    if (api_is_logical_name(s, API_NAME_MAX))
        return 0;
    return api_fail(err, 400, "Expected a logical name or uuid but received %s.", s);
}

int api_parse_uuid(const char *s, char uuid[UUID_STR_LEN], struct error *err)
{
    if (uuid_normalize(s, uuid) == 0)
        return 0;
    uuid[0] = '\0';
    return api_fail(err, 400, "Expected a uuid but received %s.", s);
}

static int label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return 0;
    }
    return 1;
}

int api_is_dns_label(const char *s, size_t maxlen)
{
    size_t n = s ? strlen(s) : 0;

    return n <= maxlen && label_ok(s, n);
}

int api_is_dns_name(const char *s, size_t maxlen)
{
    size_t n = s ? strlen(s) : 0;
    const char *p, *dot;

    if (n == 0 || n > maxlen)
        return 0;
    if (s[n - 1] == '.')
        n--; /* one trailing dot: the absolute form */
    for (p = s; p < s + n; p = dot + 1) {
        dot = memchr(p, '.', (size_t)(s + n - p));
        if (dot == NULL)
            dot = s + n;
        if (!label_ok(p, (size_t)(dot - p)))
            return 0;
        if (dot == s + n)
            break;
    }
    return 1;
}

int api_is_email(const char *s, size_t maxlen)
{
    size_t n = s ? strlen(s) : 0;
    const char *at;

    if (n == 0 || n > maxlen)
        return 0;
    at = strchr(s, '@');
    if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c == 0x7f)
            return 0;
    }
    return api_is_dns_name(at + 1, 253);
}

size_t api_utf8_chars(const char *s)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n++;
    return n;
}

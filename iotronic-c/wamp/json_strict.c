/* wamp/json_strict.c: the validating scanner of json_strict.h.
 *
 * A recursive descent over the raw bytes: recursion is bounded by
 * WAMP_JSON_DEPTH_MAX, nothing is allocated, and the first problem found is
 * reported with its byte offset. Decoding what it accepted lives in
 * json_decode.c. */
#include "wamp/json_strict.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int fail(const struct wamp_json_scan *s, const char *at, const char *what, struct error *err)
{
    return error_set(err, -EPROTO, "invalid JSON at byte %zu: %s", (size_t)(at - s->base), what);
}

enum wamp_json_kind wamp_json_kind_of(char c)
{
    switch (c) {
    case '{':
        return WAMP_JSON_OBJECT;
    case '[':
        return WAMP_JSON_ARRAY;
    case '"':
        return WAMP_JSON_STRING;
    case 't':
        return WAMP_JSON_TRUE;
    case 'f':
        return WAMP_JSON_FALSE;
    case 'n':
        return WAMP_JSON_NULL;
    default:
        return (c == '-' || (c >= '0' && c <= '9')) ? WAMP_JSON_NUMBER : WAMP_JSON_INVALID;
    }
}

const char *wamp_json_kind_name(enum wamp_json_kind k)
{
    static const char *const names[] = {
        [WAMP_JSON_INVALID] = "invalid", [WAMP_JSON_OBJECT] = "an object",
        [WAMP_JSON_ARRAY] = "an array",  [WAMP_JSON_STRING] = "a string",
        [WAMP_JSON_NUMBER] = "a number", [WAMP_JSON_TRUE] = "true",
        [WAMP_JSON_FALSE] = "false",     [WAMP_JSON_NULL] = "null",
    };

    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "invalid";
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void wamp_json_skip_ws(struct wamp_json_scan *s)
{
    while (s->p < s->end && is_ws(*s->p))
        s->p++;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex4(const char *p)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* Length of the valid UTF-8 sequence at p (whose first byte is >= 0x80), or
 * 0. The second-byte ranges exclude overlongs, surrogates and > U+10FFFF. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t n;

    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

int wamp_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;

    while (p < end) {
        size_t k;

        if (*p < 0x80) {
            p++;
            continue;
        }
        k = utf8_seq(p, end);
        if (k == 0)
            return 0;
        p += k;
    }
    return 1;
}

/* Bytes a string may hold as they are, with no escape or UTF-8 check. */
static const unsigned char plain[256] = {
    [0x20 ... 0x21] = 1,
    [0x23 ... 0x5B] = 1, /* not '"' (0x22) */
    [0x5D ... 0x7F] = 1, /* not '\\' (0x5C) */
};

void wamp_utf8_sanitize(char *s, size_t n)
{
    unsigned char *p = (unsigned char *)s, *end = p + n;

    while (p < end) {
        size_t k = *p < 0x80 ? 1 : utf8_seq(p, end);

        if (k == 0) {
            *p = '?';
            k = 1;
        }
        p += k;
    }
}

/* *pp is at a backslash inside a string; moves past the escape. */
static int skip_escape(const struct wamp_json_scan *s, const char **pp, struct error *err)
{
    const char *p = *pp;
    int cp, lo;

    if (s->end - p < 2)
        return fail(s, p, "unterminated string", err);
    if (strchr("\"\\/bfnrt", p[1]) != NULL && p[1] != '\0') {
        *pp = p + 2;
        return 0;
    }
    if (p[1] != 'u')
        return fail(s, p, "invalid escape in string", err);
    if (s->end - p < 6 || (cp = hex4(p + 2)) < 0)
        return fail(s, p, "invalid \\u escape in string", err);
    if (cp == 0)
        return fail(s, p, "\\u0000 in a string is not accepted", err);
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(s, p, "unpaired surrogate in \\u escape", err);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (s->end - p < 12 || p[6] != '\\' || p[7] != 'u' || (lo = hex4(p + 8)) < 0xDC00 ||
            lo > 0xDFFF)
            return fail(s, p, "unpaired surrogate in \\u escape", err);
        *pp = p + 12;
        return 0;
    }
    *pp = p + 6;
    return 0;
}

static int skip_string(struct wamp_json_scan *s, struct error *err)
{
    const char *p = s->p + 1, *end = s->end;
    int rc;

    for (;;) {
        unsigned char c;
        size_t n;

        /* The common case: a run of ASCII that needs no further look. */
        while (p < end && plain[(unsigned char)*p])
            p++;
        if (p >= end)
            return fail(s, s->p, "unterminated string", err);
        c = (unsigned char)*p;
        if (c == '"') {
            s->p = p + 1;
            return 0;
        }
        if (c == '\\') {
            rc = skip_escape(s, &p, err);
            if (rc < 0)
                return rc;
            continue;
        }
        if (c < 0x20)
            return fail(s, p, "control character in string", err);
        n = utf8_seq((const unsigned char *)p, (const unsigned char *)end);
        if (n == 0)
            return fail(s, p, "invalid UTF-8 in string", err);
        p += n;
    }
}

static const char *skip_digits(const char *p, const char *end)
{
    while (p < end && is_digit(*p))
        p++;
    return p;
}

static int skip_number(struct wamp_json_scan *s, struct error *err)
{
    const char *p = s->p, *end = s->end;
    int has_exp = 0;

    if (*p == '-')
        p++;
    if (p >= end || !is_digit(*p))
        return fail(s, s->p, "invalid number", err);
    p = *p == '0' ? p + 1 : skip_digits(p, end);
    if (p < end && *p == '.') {
        if (++p >= end || !is_digit(*p))
            return fail(s, s->p, "invalid number", err);
        p = skip_digits(p, end);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        has_exp = 1;
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return fail(s, s->p, "invalid number", err);
        p = skip_digits(p, end);
    }
    if (p - s->p > WAMP_JSON_NUMBER_MAX)
        return fail(s, s->p, "number longer than 63 characters", err);
    if (has_exp) {
        char tmp[WAMP_JSON_NUMBER_MAX + 1];

        /* Only an exponent can take 63 characters past a double's range. */
        memcpy(tmp, s->p, (size_t)(p - s->p));
        tmp[p - s->p] = '\0';
        if (!isfinite(strtod(tmp, NULL)))
            return fail(s, s->p, "number out of range", err);
    }
    s->p = p;
    return 0;
}

static int skip_literal(struct wamp_json_scan *s, const char *lit, size_t n, struct error *err)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return fail(s, s->p, "invalid literal", err);
    s->p += n;
    return 0;
}

static int unexpected(const struct wamp_json_scan *s, struct error *err)
{
    unsigned char c;

    if (s->p >= s->end)
        return fail(s, s->p, "unexpected end of text", err);
    c = (unsigned char)*s->p;
    if (c >= 0x21 && c < 0x7f)
        return error_set(err, -EPROTO, "invalid JSON at byte %zu: unexpected character '%c'",
                         (size_t)(s->p - s->base), c);
    return error_set(err, -EPROTO, "invalid JSON at byte %zu: unexpected byte 0x%02x",
                     (size_t)(s->p - s->base), c);
}

static int skip_array(struct wamp_json_scan *s, int depth_left, struct error *err);
static int skip_object(struct wamp_json_scan *s, int depth_left, struct error *err);

int wamp_json_skip_value(struct wamp_json_scan *s, int depth_left, struct error *err)
{
    if (s->p >= s->end)
        return unexpected(s, err);
    switch (*s->p) {
    case '{':
        return skip_object(s, depth_left, err);
    case '[':
        return skip_array(s, depth_left, err);
    case '"':
        return skip_string(s, err);
    case 't':
        return skip_literal(s, "true", 4, err);
    case 'f':
        return skip_literal(s, "false", 5, err);
    case 'n':
        return skip_literal(s, "null", 4, err);
    default:
        if (*s->p == '-' || is_digit(*s->p))
            return skip_number(s, err);
        return unexpected(s, err);
    }
}

static int too_deep(const struct wamp_json_scan *s, struct error *err)
{
    return error_set(err, -EPROTO, "invalid JSON at byte %zu: nested deeper than %d levels",
                     (size_t)(s->p - s->base), WAMP_JSON_DEPTH_MAX);
}

static int skip_array(struct wamp_json_scan *s, int depth_left, struct error *err)
{
    int rc;

    if (depth_left <= 0)
        return too_deep(s, err);
    s->p++;
    wamp_json_skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        rc = wamp_json_skip_value(s, depth_left - 1, err);
        if (rc < 0)
            return rc;
        wamp_json_skip_ws(s);
        if (s->p >= s->end)
            return fail(s, s->p, "unterminated array", err);
        if (*s->p == ']') {
            s->p++;
            return 0;
        }
        if (*s->p != ',')
            return fail(s, s->p, "expected ',' or ']' in array", err);
        s->p++;
        wamp_json_skip_ws(s);
    }
}

static int skip_member(struct wamp_json_scan *s, int depth_left, struct error *err)
{
    int rc;

    if (s->p >= s->end || *s->p != '"')
        return s->p >= s->end ? fail(s, s->p, "unterminated object", err)
                              : fail(s, s->p, "expected a string key in object", err);
    rc = skip_string(s, err);
    if (rc < 0)
        return rc;
    wamp_json_skip_ws(s);
    if (s->p >= s->end || *s->p != ':')
        return fail(s, s->p, "expected ':' after key in object", err);
    s->p++;
    wamp_json_skip_ws(s);
    return wamp_json_skip_value(s, depth_left, err);
}

static int skip_object(struct wamp_json_scan *s, int depth_left, struct error *err)
{
    int rc;

    if (depth_left <= 0)
        return too_deep(s, err);
    s->p++;
    wamp_json_skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        rc = skip_member(s, depth_left - 1, err);
        if (rc < 0)
            return rc;
        wamp_json_skip_ws(s);
        if (s->p >= s->end)
            return fail(s, s->p, "unterminated object", err);
        if (*s->p == '}') {
            s->p++;
            return 0;
        }
        if (*s->p != ',')
            return fail(s, s->p, "expected ',' or '}' in object", err);
        s->p++;
        wamp_json_skip_ws(s);
    }
}

int wamp_json_check(const char *text, size_t len, int depth_max, struct error *err)
{
    struct wamp_json_scan s = {text, text, text + len};
    int rc;

    wamp_json_skip_ws(&s);
    if (s.p == s.end)
        return error_set(err, -EPROTO, "invalid JSON: empty text");
    rc = wamp_json_skip_value(&s, depth_max, err);
    if (rc < 0)
        return rc;
    wamp_json_skip_ws(&s);
    if (s.p != s.end)
        return fail(&s, s.p, "trailing data after the value", err);
    return 0;
}

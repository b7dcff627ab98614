/* common/jsonw.c: see jsonw.h. */
#include "common/jsonw.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len, i;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

int jw_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;

    while (i < n) {
        k = utf8_seq(p + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

int jw_escape(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0, k;
    char esc[8];
    int rc = 0;

    while (i < n && rc == 0) {
        unsigned c = p[i];

        k = c < 0x80 ? 1 : utf8_seq(p + i, n - i);
        if (k != 0 && c >= 0x20 && c != '"' && c != '\\') {
            i += k;
            run += k;
            continue;
        }
        /* Flush the plain run before this byte, then write its escape. */
        rc = buf_append(b, p + i - run, run);
        run = 0;
        if (rc < 0)
            break;
        if (k == 0) {
            rc = buf_append(b, "\xef\xbf\xbd", 3); /* U+FFFD */
            i++;
            continue;
        }
        esc[0] = '\\';
        esc[1] = (char)c;
        k = 2;
        switch (c) {
        case '"':
        case '\\':
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        rc = buf_append(b, esc, k);
        i++;
    }
    if (rc == 0 && run > 0)
        rc = buf_append(b, p + i - run, run);
    return rc;
}

void jw_init(struct jw *w, struct buf *b, int spaced)
{
    memset(w, 0, sizeof(*w));
    w->b = b;
    w->spaced = (unsigned char)(spaced != 0);
}

static void put(struct jw *w, const char *s, size_t n)
{
    if (w->err == 0)
        w->err = buf_append(w->b, s, n);
}

/* Writes the separator a new value needs at the current position. */
static void before_value(struct jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0) {
        if (w->need_comma[w->depth - 1])
            put(w, ", ", w->spaced ? 2 : 1);
        w->need_comma[w->depth - 1] = 1;
    }
}

static void open_(struct jw *w, char c)
{
    before_value(w);
    if (w->depth >= JW_MAX_DEPTH) {
        if (w->err == 0)
            w->err = -EOVERFLOW;
        return;
    }
    put(w, &c, 1);
    w->need_comma[w->depth++] = 0;
}

static void close_(struct jw *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    put(w, &c, 1);
}

void jw_obj_begin(struct jw *w)
{
    open_(w, '{');
}

void jw_obj_end(struct jw *w)
{
    close_(w, '}');
}

void jw_arr_begin(struct jw *w)
{
    open_(w, '[');
}

void jw_arr_end(struct jw *w)
{
    close_(w, ']');
}

void jw_key(struct jw *w, const char *k)
{
    before_value(w);
    put(w, "\"", 1);
    if (w->err == 0)
        w->err = jw_escape(w->b, k, strlen(k));
    put(w, "\": ", w->spaced ? 3 : 2);
    w->after_key = 1;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
    before_value(w);
    put(w, "\"", 1);
    if (w->err == 0)
        w->err = jw_escape(w->b, s, n);
    put(w, "\"", 1);
}

void jw_str(struct jw *w, const char *s)
{
    if (s == NULL)
        jw_null(w);
    else
        jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);

    before_value(w);
    put(w, tmp, (size_t)n);
}

void jw_bool(struct jw *w, int v)
{
    before_value(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
    before_value(w);
    put(w, "null", 4);
}

void jw_value_sep(struct jw *w)
{
    before_value(w);
}

void jw_raw(struct jw *w, const char *json)
{
    if (json == NULL) {
        jw_null(w);
        return;
    }
    before_value(w);
    put(w, json, strlen(json));
}

int jw_error(const struct jw *w)
{
    return w->err;
}

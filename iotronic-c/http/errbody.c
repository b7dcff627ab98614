/* http/errbody.c: see errbody.h. */
#include "http/errbody.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERRBODY_MAX (64 * 1024) /* messages are short; this only bounds garbage */

/* Decodes one UTF-8 sequence at s (strict: no overlong forms, no
 * surrogates, at most U+10FFFF). Returns its length and the code point, or 0
 * when the bytes are not valid UTF-8. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    size_t n;
    uint32_t c, min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, c = s[0] & 0x1f, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, c = s[0] & 0x0f, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, c = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

static int put_u_escape(struct buf *b, uint32_t cp)
{
    if (cp >= 0x10000) {
        cp -= 0x10000;
        return buf_printf(b, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    }
    return buf_printf(b, "\\u%04x", cp);
}

static int put_char(struct buf *b, const unsigned char *s, size_t n, uint32_t cp, int ascii)
{
    switch (cp) {
    case '"':
        return buf_append_str(b, "\\\"");
    case '\\':
        return buf_append_str(b, "\\\\");
    case '\n':
        return buf_append_str(b, "\\n");
    case '\r':
        return buf_append_str(b, "\\r");
    case '\t':
        return buf_append_str(b, "\\t");
    default:
        break;
    }
    if (cp < 0x20 || cp == 0x7f || (ascii && cp >= 0x80))
        return put_u_escape(b, cp);
    return buf_append(b, s, n);
}

int http_json_quote(struct buf *b, const char *s, int ascii)
{
    const unsigned char *p = (const unsigned char *)s;
    int rc = buf_append_str(b, "\"");

    while (rc == 0 && *p) {
        uint32_t cp;
        size_t n = utf8_decode(p, &cp);

        if (n == 0) {
            /* Not UTF-8: one replacement character per bad byte. */
            rc = ascii ? buf_append_str(b, "\\ufffd") : buf_append_str(b, "\xef\xbf\xbd");
            p++;
            continue;
        }
        rc = put_char(b, p, n, cp, ascii);
        p += n;
    }
    if (rc == 0)
        rc = buf_append_str(b, "\"");
    return rc;
}

static const char *faultcode(int status)
{
    return status >= 500 ? "Server" : "Client";
}

/* Writes the flat fault object into b. Messages too long for the ceiling are
 * cut, so that an error body can always be produced. */
static void put_fault(struct buf *b, int status, const char *message, int ascii)
{
    char cut[4096];

    snprintf(cut, sizeof(cut), "%s", message ? message : "");
    if (buf_printf(b, "{\"faultcode\": \"%s\", \"faultstring\": ", faultcode(status)) < 0 ||
        http_json_quote(b, cut, ascii) < 0 || buf_append_str(b, ", \"debuginfo\": null}") < 0)
        abort(); /* cannot happen: 4 KiB of message escape to at most 24 KiB */
}

char *http_error_body_flat(int status, const char *message, size_t *len)
{
    struct buf b;

    buf_init(&b, ERRBODY_MAX);
    put_fault(&b, status, message, 0);
    return buf_take(&b, len);
}

char *http_error_body_nested(int status, const char *message, size_t *len)
{
    struct buf inner, outer;
    int rc;

    buf_init(&inner, ERRBODY_MAX);
    buf_init(&outer, 2 * ERRBODY_MAX);
    put_fault(&inner, status, message, 1);
    rc = buf_append_str(&outer, "{\"error_message\": ");
    if (rc == 0)
        rc = http_json_quote(&outer, inner.data, 1);
    if (rc == 0)
        rc = buf_append_str(&outer, "}");
    if (rc < 0)
        abort(); /* the inner text is bounded, and escaping at most doubles it */
    buf_free(&inner);
    return buf_take(&outer, len);
}

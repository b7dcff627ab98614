/* conductor/pickle.c: see pickle.h. */
#include "conductor/pickle.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int cond_lr_is_python(const char *lr_version)
{
    if (lr_version == NULL)
        return 0;
    return (lr_version[0] >= '0' && lr_version[0] <= '9') || strstr(lr_version, "freedom") != NULL;
}

/* Decodes one UTF-8 character at p (n bytes left) into *cp; returns its
 * length, or 0 for an invalid sequence. */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c = p[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, c &= 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, c &= 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, c &= 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
        (len == 4 && (c < 0x10000 || c > 0x10ffff)))
        return 0;
    *cp = c;
    return len;
}

int cond_pickle_p0(const char *src, struct buf *out)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t n = strlen(src), i = 0, k;
    uint32_t cp;
    int rc = buf_append(out, "V", 1);

    while (rc == 0 && i < n) {
        k = utf8_decode(p + i, n - i, &cp);
        if (k == 0) {
            cp = 0xfffd;
            k = 1;
        }
        i += k;
        if (cp == '\\' || cp == 0 || cp == '\n' || cp == '\r' || cp == 0x1a ||
            (cp >= 0x80 && cp <= 0xffff))
            rc = buf_printf(out, "\\u%04x", (unsigned)cp);
        else if (cp > 0xffff)
            rc = buf_printf(out, "\\U%08x", (unsigned)cp);
        else
            rc = buf_append(out, p + i - k, 1);
    }
    if (rc == 0)
        rc = buf_append(out, "\np0\n.", 5);
    return rc;
}

static int hexval(const char *s, int n, uint32_t *out)
{
    uint32_t v = 0;

    for (int i = 0; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -EINVAL;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

static int put_utf8(struct buf *out, uint32_t cp)
{
    unsigned char b[4];
    size_t n;

    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -EINVAL;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | cp >> 12);
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | cp >> 18);
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return buf_append(out, b, n);
}

int cond_unpickle_p0(const char *text, struct buf *out)
{
    const char *p, *end;
    int rc = 0;

    if (text[0] != 'V' || (end = strchr(text, '\n')) == NULL)
        return -EINVAL;
    for (p = text + 1; p < end && rc == 0;) {
        uint32_t cp;
        int w;

        if (*p != '\\' || p + 1 >= end || (p[1] != 'u' && p[1] != 'U')) {
            rc = buf_append(out, p++, 1);
            continue;
        }
        w = p[1] == 'u' ? 4 : 8;
        if (end - p < 2 + w || hexval(p + 2, w, &cp) < 0)
            return -EINVAL;
        rc = put_utf8(out, cp);
        p += 2 + w;
    }
    return rc;
}

/* qmodel/logtext.c: see logtext.h. */
#include "qmodel/logtext.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (s[0] == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2, cp = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, cp = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

char *qm_utf8_fix(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = xmalloc(n * 3 + 1), *o = out;
    size_t i = 0;

    while (i < n) {
        size_t k = seq_len(p + i, n - i);

        if (k == 0) {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(o, p + i, k);
            o += k;
            i += k;
        }
    }
    *o = '\0';
    return out;
}

/* Moves a cut at off back to the start of a UTF-8 sequence: at most three
 * bytes (the longest sequence is four), so that a run of stray continuation
 * bytes cannot drag the cut anywhere. */
static size_t char_start(const char *s, size_t off)
{
    for (int i = 0; i < 3 && off > 0 && ((unsigned char)s[off] & 0xC0) == 0x80; i++)
        off--;
    return off;
}

char *qm_log_clip(const char *s, size_t n, size_t max)
{
    char line[64], *head, *tail, *out;
    size_t h, t;
    struct buf b;

    if (n <= max)
        return qm_utf8_fix(s, n);
    h = char_start(s, max / 2);
    t = char_start(s, n - (max - max / 2));
    if (t < h)
        t = h;
    snprintf(line, sizeof(line), "%s[log truncated: %zu bytes dropped]\n",
             h > 0 && s[h - 1] != '\n' ? "\n" : "", t - h);
    head = qm_utf8_fix(s, h);
    tail = qm_utf8_fix(s + t, n - t);
    buf_init(&b, (size_t)-1);
    if (buf_append_str(&b, head) < 0 || buf_append_str(&b, line) < 0 ||
        buf_append_str(&b, tail) < 0)
        abort();
    out = buf_take(&b, NULL);
    free(head);
    free(tail);
    return out;
}

/* http/range.c: see range.h. Forms: "bytes=a-b", "bytes=a-", "bytes=-n",
 * with optional blanks around the range. */
#include "http/range.h"

#include <stddef.h>
#include <strings.h>

/* Reads decimal digits at *p; -1 when there are none or the value exceeds
 * 2^62. */
static int read_num(const char **p, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = *p;

    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > ((uint64_t)1 << 62) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = v;
    return 0;
}

static const char *skip_blank(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

enum http_range_result http_range_parse(const char *header, uint64_t size, uint64_t *off,
                                        uint64_t *len)
{
    uint64_t first = 0, last = 0;
    int has_first, has_last;
    const char *p;

    if (header == NULL || strncasecmp(header, "bytes", 5) != 0)
        return HTTP_RANGE_NONE;
    p = skip_blank(header + 5);
    if (*p++ != '=')
        return HTTP_RANGE_NONE;
    p = skip_blank(p);
    has_first = read_num(&p, &first) == 0;
    if (*p++ != '-')
        return HTTP_RANGE_NONE;
    has_last = read_num(&p, &last) == 0;
    if (*skip_blank(p) != '\0' || (!has_first && !has_last))
        return HTTP_RANGE_NONE; /* several ranges, or garbage */
    if (!has_first) {
        /* Suffix range: the last n bytes. */
        if (last == 0)
            return HTTP_RANGE_UNSATISFIABLE;
        *len = last < size ? last : size;
        *off = size - *len;
        return size == 0 ? HTTP_RANGE_UNSATISFIABLE : HTTP_RANGE_OK;
    }
    if (has_last && last < first)
        return HTTP_RANGE_NONE; /* invalid range-spec: ignored, as RFC 9110 says */
    if (first >= size)
        return HTTP_RANGE_UNSATISFIABLE;
    if (!has_last || last >= size)
        last = size - 1;
    *off = first;
    *len = last - first + 1;
    return HTTP_RANGE_OK;
}

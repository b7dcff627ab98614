/* src/ctr_capture.c: see ctr_capture.h. */
#include "src/ctr_capture.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

void ctr_capture_init(struct ctr_capture *c, size_t head_max, size_t tail_max)
{
    memset(c, 0, sizeof(*c));
    c->head_max = head_max;
    c->tail_max = tail_max;
}

static void ring_add(struct ctr_capture *c, const char *p, size_t n)
{
    if (c->tail_max == 0)
        return;
    if (c->ring == NULL)
        c->ring = xmalloc(c->tail_max);
    if (n >= c->tail_max) {
        memcpy(c->ring, p + n - c->tail_max, c->tail_max);
        c->ring_pos = 0;
        c->ring_len = c->tail_max;
        return;
    }
    size_t first = c->tail_max - c->ring_pos;

    if (first > n)
        first = n;
    memcpy(c->ring + c->ring_pos, p, first);
    memcpy(c->ring, p + first, n - first);
    c->ring_pos = (c->ring_pos + n) % c->tail_max;
    c->ring_len = c->ring_len + n > c->tail_max ? c->tail_max : c->ring_len + n;
}

void ctr_capture_add(struct ctr_capture *c, const void *p, size_t n)
{
    const char *s = p;
    size_t room = c->head_max - c->head_len;

    c->total += n;
    if (room > 0) {
        size_t k = n < room ? n : room;

        if (c->head == NULL)
            c->head = xmalloc(c->head_max);
        memcpy(c->head + c->head_len, s, k);
        c->head_len += k;
        s += k;
        n -= k;
    }
    if (n > 0)
        ring_add(c, s, n);
}

uint64_t ctr_capture_dropped(const struct ctr_capture *c)
{
    return c->total - c->head_len - c->ring_len;
}

char *ctr_capture_take(struct ctr_capture *c, int marker, size_t *len)
{
    uint64_t dropped = ctr_capture_dropped(c);
    char line[96] = "";
    size_t n = 0, ln = 0;
    char *out;

    if (dropped > 0 && marker)
        ln = (size_t)snprintf(line, sizeof(line), "%s[log truncated: %" PRIu64 " bytes dropped]\n",
                              c->head_len > 0 && c->head[c->head_len - 1] != '\n' ? "\n" : "",
                              dropped);
    out = xmalloc(c->head_len + ln + c->ring_len + 1);
    if (c->head_len > 0)
        memcpy(out, c->head, c->head_len);
    n = c->head_len;
    memcpy(out + n, line, ln);
    n += ln;
    if (c->ring_len > 0) {
        /* The oldest byte sits at ring_pos once the ring has wrapped. */
        int full = c->ring_len == c->tail_max;
        size_t start = full ? c->ring_pos : 0;
        size_t first = full ? c->tail_max - start : c->ring_len;

        memcpy(out + n, c->ring + start, first);
        memcpy(out + n + first, c->ring, c->ring_len - first);
        n += c->ring_len;
    }
    out[n] = '\0';
    *len = n;
    ctr_capture_free(c);
    ctr_capture_init(c, c->head_max, c->tail_max);
    return out;
}

void ctr_capture_free(struct ctr_capture *c)
{
    free(c->head);
    free(c->ring);
    c->head = c->ring = NULL;
    c->head_len = c->ring_len = c->ring_pos = 0;
    c->total = 0;
}

/* src/ctr_capture.h: bounded capture of a child's output.
 *
 * Keeps the first head_max and the last tail_max bytes of a stream of any
 * length and counts the rest. Function logs keep half their budget at each
 * end and put one line between them (deviceless-api.md 2.6.4):
 *   [log truncated: <n> bytes dropped]
 * A plugin's stdout keeps only a head, its stderr only a tail. Memory never
 * exceeds head_max + tail_max. One owner; not thread-safe (the loop thread). */
#ifndef LRC_CTR_CAPTURE_H
#define LRC_CTR_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct ctr_capture {
    size_t head_max, tail_max;
    char *head; /* head_len bytes */
    size_t head_len;
    char *ring;      /* tail_max bytes once used */
    size_t ring_pos; /* next write index */
    size_t ring_len; /* bytes held, <= tail_max */
    uint64_t total;  /* bytes seen */
};

void ctr_capture_init(struct ctr_capture *c, size_t head_max, size_t tail_max);
void ctr_capture_add(struct ctr_capture *c, const void *p, size_t n);

/* Bytes seen but not kept. */
uint64_t ctr_capture_dropped(const struct ctr_capture *c);

/* The kept bytes as one new NUL-terminated buffer (free() it): head, then,
 * when something was dropped and marker is set, the truncation line (after a
 * newline if the head did not end with one), then the tail. *len excludes
 * the NUL. Leaves c empty (re-init to reuse). */
char *ctr_capture_take(struct ctr_capture *c, int marker, size_t *len);

void ctr_capture_free(struct ctr_capture *c);

#endif

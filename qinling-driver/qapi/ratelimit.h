/* qapi/ratelimit.h: one token bucket per key (webhook invokes, 2.9).
 *
 * A bucket refills at `rate` tokens per second up to `burst`; a request
 * takes one token or is refused (429). Buckets live in a fixed table, so
 * unauthenticated callers cannot grow memory: when the probe window of a
 * key is full, the least recently used bucket is reused (it restarts full).
 * Any thread (one mutex). */
#ifndef QA_RATELIMIT_H
#define QA_RATELIMIT_H

#include <stdint.h>

struct qa_ratelimit;

struct qa_ratelimit *qa_ratelimit_new(double rate, double burst);
void qa_ratelimit_free(struct qa_ratelimit *rl);

/* 1 when key may proceed now (a token was taken), 0 when it must wait. now
 * is a monotonic time in µs. */
int qa_ratelimit_take(struct qa_ratelimit *rl, const char *key, int64_t now_us);

#endif

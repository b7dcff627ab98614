/* qapi/ratelimit.c: see ratelimit.h. */
#include "qapi/ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define SLOTS 8192 /* a power of two */
#define PROBE 8
#define KEY_MAX 64

struct bucket {
    char key[KEY_MAX];
    double tokens;
    int64_t last_us;
};

struct qa_ratelimit {
    pthread_mutex_t mu;
    double rate, burst;
    struct bucket *v;
};

struct qa_ratelimit *qa_ratelimit_new(double rate, double burst)
{
    struct qa_ratelimit *rl = xcalloc(1, sizeof(*rl));

    pthread_mutex_init(&rl->mu, NULL);
    rl->rate = rate;
    rl->burst = burst;
    rl->v = xcalloc(SLOTS, sizeof(struct bucket));
    return rl;
}

void qa_ratelimit_free(struct qa_ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->v);
    free(rl);
}

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return (size_t)h;
}

static struct bucket *find(struct qa_ratelimit *rl, const char *key, int64_t now)
{
    size_t h = hash(key);
    struct bucket *oldest = NULL;

    for (size_t i = 0; i < PROBE; i++) {
        struct bucket *b = &rl->v[(h + i) & (SLOTS - 1)];

        if (strcmp(b->key, key) == 0)
            return b;
        if (oldest == NULL || b->last_us < oldest->last_us)
            oldest = b;
    }
    snprintf(oldest->key, sizeof(oldest->key), "%s", key);
    oldest->tokens = rl->burst;
    oldest->last_us = now;
    return oldest;
}

int qa_ratelimit_take(struct qa_ratelimit *rl, const char *key, int64_t now)
{
    struct bucket *b;
    int ok;

    pthread_mutex_lock(&rl->mu);
    b = find(rl, key, now);
    if (now > b->last_us)
        b->tokens += (double)(now - b->last_us) / 1e6 * rl->rate;
    if (b->tokens > rl->burst)
        b->tokens = rl->burst;
    b->last_us = now;
    ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}

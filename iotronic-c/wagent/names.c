/* wagent/names.c: see names.h. Open addressing with linear probing and
 * backward-shift deletion, load at most one half. */
#include "wagent/names.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define MIN_CAP 64

/* FNV-1a, 64 bits: names are short and chosen by boards, but the table is
 * bounded by what they hold registered, so a collision attack only slows the
 * attacker's own registrations. */
static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static size_t find(const struct wag_names *t, uint64_t h, const char *s, size_t n)
{
    size_t mask = t->cap - 1, i = (size_t)h & mask;

    for (; t->slots[i] != NULL; i = (i + 1) & mask) {
        const struct wag_name *e = t->slots[i];

        if (e->hash == h && e->len == n && memcmp(e->s, s, n) == 0)
            break;
    }
    return i;
}

static void grow(struct wag_names *t)
{
    struct wag_names nt = {NULL, t->cap ? t->cap * 2 : MIN_CAP, 0};

    nt.slots = xcalloc(nt.cap, sizeof(*nt.slots));
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i] != NULL) {
            const struct wag_name *e = t->slots[i];

            nt.slots[find(&nt, e->hash, e->s, e->len)] = t->slots[i];
            nt.n++;
        }
    free(t->slots);
    *t = nt;
}

const struct wag_name *wag_names_get(struct wag_names *t, const char *s, size_t n)
{
    uint64_t h = hash(s, n);
    struct wag_name *e;
    size_t i;

    if ((t->n + 1) * 2 > t->cap)
        grow(t);
    i = find(t, h, s, n);
    if (t->slots[i] == NULL) {
        e = xmalloc(sizeof(*e) + n + 1);
        e->refs = 0;
        e->len = (uint32_t)n;
        e->hash = h;
        memcpy(e->s, s, n);
        e->s[n] = '\0';
        t->slots[i] = e;
        t->n++;
    }
    t->slots[i]->refs++;
    return t->slots[i];
}

const struct wag_name *wag_names_find(const struct wag_names *t, const char *s, size_t n)
{
    return t->cap == 0 ? NULL : t->slots[find(t, hash(s, n), s, n)];
}

void wag_names_put(struct wag_names *t, const struct wag_name *name)
{
    size_t mask = t->cap - 1, i, j;

    if (name == NULL || --((struct wag_name *)name)->refs > 0)
        return;
    i = find(t, name->hash, name->s, name->len);
    free(t->slots[i]);
    for (j = (i + 1) & mask; t->slots[j] != NULL; j = (j + 1) & mask) {
        size_t home = (size_t)t->slots[j]->hash & mask;

        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = NULL;
    t->n--;
}

void wag_names_free(struct wag_names *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i]);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

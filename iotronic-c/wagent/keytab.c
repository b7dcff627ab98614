/* wagent/keytab.c: see keytab.h. */
#include "wagent/keytab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/uuid.h"
#include "common/xalloc.h"

#define MIN_CAP 16

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int wag_key_uuid(const char *uuid, struct wag_key *out)
{
    char norm[UUID_STR_LEN];
    uint64_t part[2] = {0, 0};
    int nib = 0;

    if (uuid == NULL || uuid_normalize(uuid, norm) < 0)
        return -EINVAL;
    for (const char *p = norm; *p; p++) {
        int v = hexval(*p);

        if (v < 0)
            continue; /* the hyphens */
        part[nib / 16] = (part[nib / 16] << 4) | (uint64_t)v;
        nib++;
    }
    out->hi = part[0];
    out->lo = part[1];
    return 0;
}

/* splitmix64's finaliser over both halves: ids and UUIDs are random, but a
 * caller's keys need not be. */
static size_t hash(struct wag_key k)
{
    uint64_t z = k.hi * 0x9e3779b97f4a7c15ull ^ k.lo;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (size_t)(z ^ (z >> 31));
}

static int key_eq(struct wag_key a, struct wag_key b)
{
    return a.hi == b.hi && a.lo == b.lo;
}

/* The slot holding k, or the empty slot where it would go. */
static struct wag_slot *find(const struct wag_keytab *t, struct wag_key k)
{
    size_t mask = t->cap - 1, i = hash(k) & mask;

    while (t->slots[i].v != NULL && !key_eq(t->slots[i].k, k))
        i = (i + 1) & mask;
    return &t->slots[i];
}

static void grow(struct wag_keytab *t, size_t cap)
{
    struct wag_keytab nt = {xcalloc(cap, sizeof(struct wag_slot)), cap, 0};

    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].v != NULL) {
            *find(&nt, t->slots[i].k) = t->slots[i];
            nt.n++;
        }
    free(t->slots);
    *t = nt;
}

void *wag_keytab_get(const struct wag_keytab *t, struct wag_key k)
{
    return t->cap == 0 ? NULL : find(t, k)->v;
}

int wag_keytab_put(struct wag_keytab *t, struct wag_key k, void *v)
{
    struct wag_slot *s;

    if ((t->n + 1) * 2 > t->cap)
        grow(t, t->cap ? t->cap * 2 : MIN_CAP);
    s = find(t, k);
    if (s->v != NULL)
        return -EEXIST;
    s->k = k;
    s->v = v;
    t->n++;
    return 0;
}

void *wag_keytab_del(struct wag_keytab *t, struct wag_key k)
{
    size_t mask = t->cap - 1, i, j;
    struct wag_slot *s;
    void *v;

    if (t->cap == 0 || (s = find(t, k))->v == NULL)
        return NULL;
    v = s->v;
    i = (size_t)(s - t->slots);
    /* Backward shift: move later members of the cluster into the hole when
     * their home slot is not between the hole and them. */
    for (j = (i + 1) & mask; t->slots[j].v != NULL; j = (j + 1) & mask) {
        size_t home = hash(t->slots[j].k) & mask;

        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].v = NULL;
    t->n--;
    return v;
}

void *wag_keytab_next(const struct wag_keytab *t, size_t *pos)
{
    while (*pos < t->cap) {
        void *v = t->slots[(*pos)++].v;

        if (v != NULL)
            return v;
    }
    return NULL;
}

void wag_keytab_free(struct wag_keytab *t)
{
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

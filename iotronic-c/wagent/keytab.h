/* wagent/keytab.h: an open-addressing hash table from 128-bit keys to pointers.
 *
 * The wagent finds sessions by WAMP session id and boards by UUID, tens of
 * thousands of each, on every message and every AMQP call. Both keys fit in
 * 128 bits (an id is {0, id}; a UUID is its 16 bytes), so one table serves
 * both: linear probing with backward-shift deletion (no tombstones), load
 * kept at or under one half, 24 bytes a slot. Values are borrowed pointers,
 * never NULL. One owner; not thread-safe (the loop thread uses it). */
#ifndef IOT_WAGENT_KEYTAB_H
#define IOT_WAGENT_KEYTAB_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct wag_key {
    uint64_t hi, lo;
};

struct wag_slot {
    struct wag_key k;
    void *v; /* NULL: empty */
};

struct wag_keytab {
    struct wag_slot *slots; /* cap slots; NULL until the first insert */
    size_t cap;             /* 0 or a power of two */
    size_t n;
};

static inline struct wag_key wag_key_id(uint64_t id)
{
    return (struct wag_key){0, id};
}

/* The key of a UUID in any form uuid_normalize() accepts: 0, or -EINVAL. */
int wag_key_uuid(const char *uuid, struct wag_key *out) IOT_WUR;

/* The value stored under k, or NULL. */
void *wag_keytab_get(const struct wag_keytab *t, struct wag_key k);

/* Stores v (not NULL) under k. 0, or -EEXIST when k is present (unchanged). */
int wag_keytab_put(struct wag_keytab *t, struct wag_key k, void *v) IOT_WUR;

/* Removes k; returns its value, or NULL when absent. */
void *wag_keytab_del(struct wag_keytab *t, struct wag_key k);

/* Iteration: start with *pos = 0; returns the next value, or NULL at the end.
 * The table must not change during an iteration. */
void *wag_keytab_next(const struct wag_keytab *t, size_t *pos);

/* Frees the slots (not the values); t is empty afterwards. */
void wag_keytab_free(struct wag_keytab *t);

#endif

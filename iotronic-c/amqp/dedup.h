/* amqp/dedup.h: a bounded cache of recent request message ids.
 *
 * An RPC server keeps one, so that a request delivered twice (redelivered by
 * the broker after a connection loss, or re-sent by a client after its
 * reconnect, always with the same message id) runs once: a repeat of a
 * finished request is answered with the stored reply, and a repeat of a
 * running one waits for it (the server keeps its waiters in the entry).
 *
 * Bounds: finished entries are dropped oldest first when there are more than
 * max_entries of them, when their stored replies pass max_bytes together, or
 * when they are older than ttl. Running entries are never dropped (the
 * prefetch limit bounds them); a dropped id simply runs again if it ever
 * comes back, so the bounds trade memory against how late a repeat may come.
 *
 * Not thread-safe: one owner thread (the AMQP I/O thread). */
#ifndef IOT_AMQP_DEDUP_H
#define IOT_AMQP_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#define MQ_DEDUP_ID_MAX 255 /* an AMQP shortstr */

enum mq_dedup_state { MQ_DEDUP_RUNNING, MQ_DEDUP_DONE };

struct mq_dedup_entry {
    enum mq_dedup_state state;
    char *reply; /* DONE: the reply body, or NULL (a cast) */
    size_t reply_len;
    void *waiters; /* RUNNING: the owner's list of repeats; unused by the cache */
    /* private */
    int64_t done_at;
    struct mq_dedup_entry *hnext, *prev, *next;
    char id[];
};

struct mq_dedup;

/* ttl_us > 0, max_entries > 0, max_bytes > 0. */
struct mq_dedup *mq_dedup_new(size_t max_entries, size_t max_bytes, int64_t ttl_us);

/* Frees every entry; the owner must have emptied the waiters first. */
void mq_dedup_free(struct mq_dedup *d);

/* The live entry for id, or NULL (absent or expired at now). */
struct mq_dedup_entry *mq_dedup_find(struct mq_dedup *d, const char *id, int64_t now);

/* Adds id (not present: check with mq_dedup_find()) as RUNNING. */
struct mq_dedup_entry *mq_dedup_add(struct mq_dedup *d, const char *id);

/* Marks a RUNNING entry DONE with reply (taken over; may be NULL) and
 * applies the bounds, which may drop this very entry when the reply alone
 * is larger than max_bytes: do not use e afterwards. */
void mq_dedup_complete(struct mq_dedup *d, struct mq_dedup_entry *e, char *reply, size_t len,
                       int64_t now);

/* Forgets e (a request that was handed back to the broker). */
void mq_dedup_remove(struct mq_dedup *d, struct mq_dedup_entry *e);

/* Drops finished entries older than the ttl at now. */
void mq_dedup_expire(struct mq_dedup *d, int64_t now);

/* Calls fn for every entry (to release the owner's waiters before
 * mq_dedup_free()). fn must not add or remove entries. */
void mq_dedup_each(struct mq_dedup *d, void (*fn)(struct mq_dedup_entry *e, void *arg), void *arg);

size_t mq_dedup_count(const struct mq_dedup *d); /* all entries */
size_t mq_dedup_bytes(const struct mq_dedup *d); /* stored reply bytes */

#endif

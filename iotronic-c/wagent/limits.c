/* wagent/limits.c: see limits.h. */
#include "wagent/limits.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/xalloc.h"

struct wag_authfail_entry {
    struct wag_key key;
    unsigned failures;
    double window;        /* start of the counting window */
    double blocked_until; /* 0: not blocked */
};

void wag_bucket_init(struct wag_bucket *b, double burst, double now)
{
    b->tokens = burst;
    b->last = now;
}

int wag_bucket_take(struct wag_bucket *b, double rate, double burst, double now)
{
    if (now > b->last) {
        b->tokens += (now - b->last) * rate;
        if (b->tokens > burst)
            b->tokens = burst;
        b->last = now;
    }
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}

int wag_addr_key(const struct sockaddr *sa, struct wag_key *out)
{
    const unsigned char *p;
    unsigned char v6[16];

    if (sa->sa_family == AF_INET) {
        memset(v6, 0, 10);
        v6[10] = v6[11] = 0xff;
        memcpy(v6 + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        p = v6;
    } else if (sa->sa_family == AF_INET6) {
        p = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    } else {
        return -EINVAL;
    }
    out->hi = out->lo = 0;
    for (int i = 0; i < 8; i++) {
        out->hi = (out->hi << 8) | p[i];
        out->lo = (out->lo << 8) | p[8 + i];
    }
    return 0;
}

static int expired(const struct wag_authfail_entry *e, double now)
{
    return now - e->window >= WAG_AUTHFAIL_WINDOW && now >= e->blocked_until;
}

/* Forgets entries that no longer count; when none has expired, forgets the
 * oldest unblocked one so that a new address can be counted. */
static void sweep(struct wag_authfail *f, double now)
{
    struct wag_authfail_entry *e, *oldest = NULL;
    size_t pos = 0;

    while ((e = wag_keytab_next(&f->addrs, &pos)) != NULL) {
        if (expired(e, now)) {
            wag_keytab_del(&f->addrs, e->key);
            free(e);
            pos = pos > 0 ? pos - 1 : 0; /* the slot may now hold a shifted entry */
        } else if (now >= e->blocked_until && (oldest == NULL || e->window < oldest->window)) {
            oldest = e;
        }
    }
    if (f->addrs.n >= WAG_AUTHFAIL_ENTRIES && oldest != NULL) {
        wag_keytab_del(&f->addrs, oldest->key);
        free(oldest);
    }
}

int wag_authfail_blocked(struct wag_authfail *f, struct wag_key addr, double now)
{
    struct wag_authfail_entry *e = wag_keytab_get(&f->addrs, addr);

    return e != NULL && now < e->blocked_until;
}

void wag_authfail_record(struct wag_authfail *f, struct wag_key addr, double now)
{
    struct wag_authfail_entry *e = wag_keytab_get(&f->addrs, addr);

    if (e == NULL) {
        if (f->addrs.n >= WAG_AUTHFAIL_ENTRIES)
            sweep(f, now);
        if (f->addrs.n >= WAG_AUTHFAIL_ENTRIES)
            return; /* every slot is a blocked address: nothing to spare */
        e = xcalloc(1, sizeof(*e));
        e->key = addr;
        e->window = now;
        if (wag_keytab_put(&f->addrs, addr, e) < 0) {
            free(e);
            return;
        }
    } else if (now - e->window >= WAG_AUTHFAIL_WINDOW) {
        e->window = now;
        e->failures = 0;
    }
    if (++e->failures >= WAG_AUTHFAIL_MAX) {
        e->blocked_until = now + WAG_AUTHFAIL_BLOCK;
        e->failures = 0;
        e->window = now;
    }
}

size_t wag_authfail_count(const struct wag_authfail *f)
{
    return f->addrs.n;
}

void wag_authfail_free(struct wag_authfail *f)
{
    struct wag_authfail_entry *e;
    size_t pos = 0;

    while ((e = wag_keytab_next(&f->addrs, &pos)) != NULL)
        free(e);
    wag_keytab_free(&f->addrs);
}

int wag_hsrate_take(struct wag_hsrate *r, unsigned per_second, double now)
{
    if (now - r->window >= 1.0 || now < r->window) {
        r->window = now;
        r->count = 0;
    }
    if (r->count >= per_second)
        return 0;
    r->count++;
    return 1;
}

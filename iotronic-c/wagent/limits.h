/* wagent/limits.h: the rate limits of the board protocol.
 *
 *   - a token bucket per session for the cloud callees (5.7: 16 calls per
 *     second on average, bursts of 64) and per board for publications (5.9:
 *     50 per second);
 *   - the WAMP-CRA failure counter per source address (4.3: after 5
 *     failures within a minute, HELLOs from that address are refused for a
 *     minute), bounded in memory so that many addresses cannot grow it;
 *   - the handshake counter of 2 (upgrades per second).
 * Times are seconds on the loop's monotonic clock (ev_now), passed in so the
 * logic is testable. Loop thread only. */
#ifndef IOT_WAGENT_LIMITS_H
#define IOT_WAGENT_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "wagent/keytab.h"

#define WAG_CALLEE_RATE 16.0
#define WAG_CALLEE_BURST 64.0
#define WAG_PUBLISH_RATE 50.0
#define WAG_PUBLISH_BURST 50.0

#define WAG_AUTHFAIL_MAX 5         /* failures ... */
#define WAG_AUTHFAIL_WINDOW 60.0   /* ... within this many seconds ... */
#define WAG_AUTHFAIL_BLOCK 60.0    /* ... refuse HELLOs for this long */
#define WAG_AUTHFAIL_ENTRIES 16384 /* addresses remembered at most */

struct wag_bucket {
    double tokens;
    double last;
};

/* A full bucket at time now. */
void wag_bucket_init(struct wag_bucket *b, double burst, double now);

/* Takes one token: 1 when allowed, 0 when the bucket is empty. */
int wag_bucket_take(struct wag_bucket *b, double rate, double burst, double now);

struct wag_authfail {
    struct wag_keytab addrs; /* address key -> struct wag_authfail_entry */
};

/* The key of a socket address (IPv4 as IPv4-mapped IPv6). -EINVAL for other
 * families. */
struct sockaddr;
int wag_addr_key(const struct sockaddr *sa, struct wag_key *out);

/* 1 when HELLOs from addr are refused at time now. */
int wag_authfail_blocked(struct wag_authfail *f, struct wag_key addr, double now);

/* Counts one failed WAMP-CRA login from addr at time now. */
void wag_authfail_record(struct wag_authfail *f, struct wag_key addr, double now);

/* Addresses remembered (tests, metrics). */
size_t wag_authfail_count(const struct wag_authfail *f);

void wag_authfail_free(struct wag_authfail *f);

/* Fixed one-second windows of handshakes. */
struct wag_hsrate {
    double window;  /* start of the current window */
    unsigned count; /* handshakes accepted in it */
};

/* 1 when one more handshake may be accepted at now (and counts it). */
int wag_hsrate_take(struct wag_hsrate *r, unsigned per_second, double now);

#endif

/* auth/tokencache.h: the bounded cache of Keystone validation results
 * (internal to libiotauth).
 *
 * Keys are SHA-256 digests of tokens (hex), never the tokens. An entry is
 * either an identity (a validated token) or a rejection, each with its own
 * expiry; a full cache evicts the least recently used entry. One mutex:
 * lookups are a hash probe and a list splice, far cheaper than the Keystone
 * round trip they save. Any thread. */
#ifndef IOT_AUTH_TOKENCACHE_H
#define IOT_AUTH_TOKENCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "auth/cred.h"

#define TCACHE_KEY_LEN 65 /* hex SHA-256 and the NUL */

enum tcache_result { TCACHE_MISS = 0, TCACHE_VALID = 1, TCACHE_REJECTED = 2 };

struct tcache;

struct tcache *tcache_new(size_t max_entries);
void tcache_free(struct tcache *c); /* accepts NULL */

/* Looks key up at time now_us (wall clock, µs). TCACHE_VALID stores a new
 * reference in *id (auth_identity_unref it). Expired entries are dropped. */
enum tcache_result tcache_get(struct tcache *c, const char *key, int64_t now_us,
                              const struct auth_identity **id);

/* Stores a result until expires_us; id NULL records a rejection. The cache
 * takes its own reference to id. */
void tcache_put(struct tcache *c, const char *key, const struct auth_identity *id,
                int64_t expires_us);

size_t tcache_size(struct tcache *c);

#endif

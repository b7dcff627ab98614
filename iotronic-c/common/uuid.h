/* common/uuid.h: random bytes, UUIDs and random identifiers.
 *
 * Randomness comes from getrandom(2), the kernel's CSPRNG, for everything:
 * UUIDs, WAMP session ids, secrets, tunnel ids. UUIDs are emitted in
 * lower-case hyphenated form. The "UUID-like" input forms accepted are those
 * of iotronic-api-v1.md 1.9: 32 hex digits, optionally hyphenated 8-4-4-4-12,
 * optionally in braces or prefixed "urn:uuid:", any case. */
#ifndef IOT_COMMON_UUID_H
#define IOT_COMMON_UUID_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define UUID_STR_LEN 37 /* 36 characters and the NUL */

/* Fills p with n random bytes. Aborts if the kernel cannot supply them. */
void rand_bytes(void *p, size_t n);

/* A uniformly random integer in [1, 2^53], as WAMP ids require. */
uint64_t rand_id53(void);

/* A uniformly random integer in [0, bound). bound > 0. */
uint64_t rand_below(uint64_t bound);

/* Writes a new random (version 4) UUID. */
void uuid_v4(char out[UUID_STR_LEN]);

/* Normalises a UUID-like string into out. Returns 0, or -EINVAL when s is not
 * UUID-like. */
int uuid_normalize(const char *s, char out[UUID_STR_LEN]) IOT_WUR;

/* 1 when s is UUID-like. */
int uuid_is_like(const char *s);

/* Writes n random bytes as base64url without padding: a secret or nonce.
 * out must hold 4 * n / 3 + 2 characters. */
void rand_base64url(size_t n, char *out);

#endif

/* auth/keystone.h: the Keystone v3 client of libiotauth: the service's own
 * token (password authentication) and the validation of callers' tokens.
 *
 * Blocking libcurl calls with timeouts, made on worker threads; each thread
 * keeps its own curl handle (and so its own connection to Keystone) for the
 * life of the thread. The service token is shared and refreshed under a
 * mutex a minute before it expires, or at once when Keystone refuses it. */
#ifndef IOT_AUTH_KEYSTONE_H
#define IOT_AUTH_KEYSTONE_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "auth/cred.h"
#include "common/error.h"

#define KEYSTONE_BODY_MAX (1 << 20)

struct keystone;

/* Checks the [keystone_authtoken] options needed and prepares the client
 * (no network traffic). cfg strings are copied. */
int keystone_new(const struct auth_config *cfg, struct keystone **out, struct error *err) IOT_WUR;
void keystone_free(struct keystone *k); /* accepts NULL */

/* Validates token (GET /v3/auth/tokens). Returns 0 and a new identity in
 * *out (its project_id is NULL when the token is not project-scoped),
 * -ENOENT when Keystone rejects the token (invalid or expired), or -EIO
 * when Keystone cannot be asked (unreachable, timeout, 5xx, our own
 * credentials refused, an answer we cannot read). Worker threads. */
int keystone_validate(struct keystone *k, const char *token, struct auth_identity **out,
                      struct error *err) IOT_WUR;

/* Parses the body of a token response ({"token": {...}}) into an identity.
 * Pure (unit tests). Returns 0 or -EINVAL. */
int keystone_parse_token(const char *body, size_t len, struct auth_identity **out,
                         struct error *err) IOT_WUR;

/* Counters: validation calls, service logins, failed calls. */
void keystone_counts(const struct keystone *k, uint64_t *validations, uint64_t *logins,
                     uint64_t *errors);

#endif

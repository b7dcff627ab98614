/* auth/cred.h: who is calling, as policy rules and handlers see it.
 *
 * An identity is what authentication established: from a Keystone token
 * (shared by every request that presents the same token while it is cached)
 * or from noauth headers. It is immutable and reference-counted, so that the
 * token cache and any number of in-flight requests can hold it at once from
 * any thread.
 *
 * A credential is per request: the identity plus the two flags that depend
 * on the request rather than on the caller (iotronic-api-v1.md 4.3):
 * is_admin, the result of the service's admin rule under the policy in force
 * now, and is_public_api, set on routes that need no authentication.
 *
 * A NULL string field means null (absent header, unscoped token): policy
 * comparisons never match a null (4.5), visibility rules treat it as a value
 * (4.6). */
#ifndef IOT_AUTH_CRED_H
#define IOT_AUTH_CRED_H

#include <stddef.h>
#include <stdint.h>

struct auth_identity {
    const char *user_id;
    const char *user_name;
    const char *user_domain_id;
    const char *project_id;
    const char *project_name;
    const char *project_domain_id;
    const char *domain_id;    /* the domain of a domain-scoped token; NULL otherwise */
    const char *const *roles; /* role names as given; nroles entries */
    size_t nroles;
    int64_t expires_us; /* the token's expiry (µs since the epoch); 0: none */
    int refs;           /* private: atomic reference count, -1 for static identities */
};

struct auth_cred {
    const struct auth_identity *id; /* never NULL */
    int is_admin;
    int is_public_api;
};

/* A new identity (refs = 1) holding copies of every string and role of tmpl
 * (whose refs field is ignored), in one allocation. Any thread. */
struct auth_identity *auth_identity_new(const struct auth_identity *tmpl);

/* Takes another reference; returns id. Any thread. */
const struct auth_identity *auth_identity_ref(const struct auth_identity *id);

/* Drops a reference; the last one frees. Accepts NULL. Any thread. */
void auth_identity_unref(const struct auth_identity *id);

/* The identity of a caller nobody authenticated: every field null, no roles.
 * Static; ref/unref are no-ops on it. */
const struct auth_identity *auth_identity_anonymous(void);

/* 1 when the identity has the role (case-insensitive, as oslo.policy's
 * role check). */
int auth_identity_has_role(const struct auth_identity *id, const char *role);

/* Releases c's identity and resets c to the anonymous caller. */
void auth_cred_release(struct auth_cred *c);

#endif

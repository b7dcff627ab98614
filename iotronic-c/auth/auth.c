/* auth/auth.c: see auth.h. The keystone path is: token present and sane ->
 * cache -> Keystone -> cache; the noauth path builds a fresh identity from
 * the headers on every request. */
#include "auth/auth.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/keystone.h"
#include "auth/tokencache.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define NOAUTH_MAX_ROLES 64

struct auth {
    enum auth_strategy strategy;
    struct auth_service svc;
    struct policy *policy;
    struct keystone *ks;
    struct tcache *cache;
    int64_t cache_us, negative_us;
    char www_authenticate[512];
    _Atomic uint64_t hits, misses;
};

int auth_config_enforces_policy(const struct auth_config *cfg)
{
    return cfg->strategy == AUTH_KEYSTONE || cfg->noauth_enforce_policy;
}

char *auth_config_dir(int argc, char *const *argv)
{
    for (int i = 1; i < argc; i++) {
        const char *p = NULL, *slash;

        if (strcmp(argv[i], "--config-file") == 0 && i + 1 < argc)
            p = argv[i + 1];
        else if (strncmp(argv[i], "--config-file=", 14) == 0)
            p = argv[i] + 14;
        if (p == NULL)
            continue;
        slash = strrchr(p, '/');
        if (slash == NULL)
            return xstrdup(".");
        return slash == p ? xstrdup("/") : xstrndup(p, (size_t)(slash - p));
    }
    return NULL;
}

int auth_new(const struct auth_config *cfg, const struct auth_service *svc, struct policy *policy,
             struct auth **out, struct error *err)
{
    const char *uri = cfg->www_authenticate_uri ? cfg->www_authenticate_uri : cfg->auth_uri;
    struct auth *a;
    int rc;

    *out = NULL;
    if (cfg->strategy == AUTH_KEYSTONE && uri == NULL)
        return error_set(err, -EINVAL,
                         "[keystone_authtoken] www_authenticate_uri is required "
                         "with auth_strategy = keystone");
    if (uri != NULL && strpbrk(uri, "\"\r\n") != NULL)
        return error_set(err, -EINVAL, "[keystone_authtoken] www_authenticate_uri is malformed");
    a = xcalloc(1, sizeof(*a));
    a->strategy = (enum auth_strategy)cfg->strategy;
    a->svc = *svc;
    a->policy = policy;
    if (a->strategy == AUTH_KEYSTONE) {
        rc = keystone_new(cfg, &a->ks, err);
        if (rc < 0) {
            free(a);
            return rc;
        }
        a->cache = tcache_new((size_t)cfg->token_cache_size);
        a->cache_us = cfg->token_cache_time * 1000000LL;
        a->negative_us = cfg->negative_cache_time * 1000000LL;
        snprintf(a->www_authenticate, sizeof(a->www_authenticate), "Keystone uri=\"%s\"", uri);
    }
    *out = a;
    return 0;
}

void auth_free(struct auth *a)
{
    if (a == NULL)
        return;
    tcache_free(a->cache);
    keystone_free(a->ks);
    free(a);
}

enum auth_strategy auth_strategy(const struct auth *a)
{
    return a->strategy;
}

struct policy *auth_policy(const struct auth *a)
{
    return a->policy;
}

void auth_get_stats(const struct auth *a, struct auth_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (a->ks != NULL)
        keystone_counts(a->ks, &out->keystone_validations, &out->keystone_logins,
                        &out->keystone_errors);
    out->cache_hits = atomic_load(&((struct auth *)a)->hits);
    out->cache_misses = atomic_load(&((struct auth *)a)->misses);
}

/* ------------------------------------------------------------- noauth */

static const char *nonempty(const char *s)
{
    return s != NULL && *s != '\0' ? s : NULL;
}

/* X-Roles: comma-separated, blanks trimmed, empty items dropped. The
 * strings are cut in place in copy. */
static size_t split_roles(char *copy, const char **roles)
{
    size_t n = 0;
    char *save = NULL;

    for (char *p = strtok_r(copy, ",", &save); p != NULL && n < NOAUTH_MAX_ROLES;
         p = strtok_r(NULL, ",", &save)) {
        char *end;

        while (*p == ' ' || *p == '\t')
            p++;
        end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*p != '\0')
            roles[n++] = p;
    }
    return n;
}

static struct auth_identity *noauth_identity(const struct auth *a, auth_header_fn get, void *ctx)
{
    const char *roles[NOAUTH_MAX_ROLES];
    const char *hroles = get(ctx, "X-Roles");
    struct auth_identity t = {0}, *id;
    char *copy = xstrdup(hroles ? hroles : "");

    t.user_id = nonempty(get(ctx, "X-User-Id"));
    t.user_name = nonempty(get(ctx, "X-User-Name"));
    t.project_id = nonempty(get(ctx, "X-Project-Id"));
    if (t.project_id == NULL)
        t.project_id = a->svc.noauth_project;
    t.project_name = nonempty(get(ctx, "X-Project-Name"));
    t.user_domain_id = nonempty(get(ctx, "X-User-Domain-Id"));
    t.project_domain_id = nonempty(get(ctx, "X-Project-Domain-Id"));
    t.domain_id = nonempty(get(ctx, "X-Domain-Id"));
    t.nroles = split_roles(copy, roles);
    t.roles = roles;
    id = auth_identity_new(&t);
    free(copy);
    return id;
}

/* ----------------------------------------------------------- keystone */

static int fail_with(struct auth_failure *f, int status, const char *msg, const char *www)
{
    f->status = status;
    f->message = msg;
    snprintf(f->www_authenticate, sizeof(f->www_authenticate), "%s", www ? www : "");
    return -EACCES;
}

/* Printable ASCII only: anything else cannot be a Keystone token and must
 * not reach a header we send. */
static int sane_token(const char *t)
{
    size_t n = 0;

    for (; t[n]; n++)
        if (t[n] <= 0x20 || t[n] >= 0x7f || n >= AUTH_TOKEN_MAX)
            return 0;
    return n > 0;
}

static void token_key(const char *token, char key[TCACHE_KEY_LEN])
{
    struct crypto_digest *d = crypto_digest_new(0);

    crypto_digest_update(d, token, strlen(token));
    crypto_digest_final(d, key);
}

/* 0 and a reference in *id, or -EACCES with *fail set. */
static int keystone_identity(struct auth *a, const char *token, const struct auth_identity **id,
                             struct auth_failure *fail)
{
    char key[TCACHE_KEY_LEN];
    struct auth_identity *fresh;
    struct error err;
    int64_t now = time_now_us(), until;
    int rc;

    if (token == NULL || *token == '\0')
        return fail_with(fail, 401, a->svc.msg_missing, a->www_authenticate);
    if (!sane_token(token))
        return fail_with(fail, 401, a->svc.msg_invalid, a->www_authenticate);
    token_key(token, key);
    switch (tcache_get(a->cache, key, now, id)) {
    case TCACHE_VALID:
        atomic_fetch_add(&a->hits, 1);
        return 0;
    case TCACHE_REJECTED:
        atomic_fetch_add(&a->hits, 1);
        return fail_with(fail, 401, a->svc.msg_invalid, a->www_authenticate);
    case TCACHE_MISS:
        atomic_fetch_add(&a->misses, 1);
        break;
    }
    rc = keystone_validate(a->ks, token, &fresh, &err);
    if (rc == -ENOENT) {
        if (a->negative_us > 0)
            tcache_put(a->cache, key, NULL, now + a->negative_us);
        return fail_with(fail, 401, a->svc.msg_invalid, a->www_authenticate);
    }
    if (rc < 0) {
        log_error("auth: cannot validate a token: %s", error_str(&err));
        return fail_with(fail, 503, a->svc.msg_unavailable, NULL);
    }
    until = now + a->cache_us;
    if (fresh->expires_us != 0 && fresh->expires_us < until)
        until = fresh->expires_us;
    if (a->cache_us > 0)
        tcache_put(a->cache, key, fresh, until);
    *id = fresh;
    return 0;
}

int auth_authenticate(struct auth *a, auth_header_fn get, void *ctx, int public_route,
                      struct auth_cred *out, struct auth_failure *fail)
{
    const struct auth_identity *id = NULL;
    int rc;

    out->id = auth_identity_anonymous();
    out->is_admin = 0;
    out->is_public_api = public_route;
    if (a->strategy == AUTH_NOAUTH) {
        id = noauth_identity(a, get, ctx);
    } else if (!public_route) {
        rc = keystone_identity(a, get(ctx, "X-Auth-Token"), &id, fail);
        if (rc < 0)
            return rc;
        if (id->project_id == NULL) {
            auth_identity_unref(id);
            return fail_with(fail, 403, a->svc.msg_unscoped, NULL);
        }
    }
    if (id != NULL)
        out->id = id;
    if (a->policy != NULL && a->svc.admin_rule != NULL)
        out->is_admin = policy_check(a->policy, a->svc.admin_rule, out, NULL, 0);
    return 0;
}

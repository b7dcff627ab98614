/* Unit tests for auth: noauth identities, configuration checks, the
 * keystone path up to the network (missing and malformed tokens, Keystone
 * unreachable), Keystone token responses, and the token cache. The real
 * Keystone round trip is tests/integration/test_keystone.py. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/keystone.h"
#include "auth/tokencache.h"
#include "common/timeutil.h"

struct hdrs {
    const char *kv[16][2];
};

static const char *lookup(void *ctx, const char *name)
{
    struct hdrs *h = ctx;

    for (int i = 0; i < 16 && h->kv[i][0]; i++)
        if (strcasecmp(h->kv[i][0], name) == 0)
            return h->kv[i][1];
    return NULL;
}

static const struct policy_rule_default rules[] = {
    {"admin_api", "role:admin or role:administrator"},
    {"is_admin", "rule:admin_api"},
};

static const struct auth_service iot = {
    "The request you have made requires authentication.",
    "The request you have made requires authentication.",
    "A project-scoped token is required.",
    "Resource temporarily unavailable, please retry.",
    NULL,
    "is_admin",
};

static struct policy *make_policy(void)
{
    struct policy_opts o = {.defaults = rules, .ndefaults = 2, .enforce = 1};
    struct policy *p;

    assert_int_equal(policy_new(&o, &p, NULL), 0);
    return p;
}

static void test_noauth_identity_from_headers(void **state)
{
    struct auth_config cfg = {.strategy = AUTH_NOAUTH};
    struct auth_service qin = iot;
    struct policy *p = make_policy();
    struct hdrs h = {{{"X-User-Id", "u1"},
                      {"x-project-id", "p1"},
                      {"X-Roles", " admin , ,user_iot,  "},
                      {"X-Project-Name", "proj"},
                      {"X-Auth-Token", "whatever"}}};
    struct hdrs empty = {{{NULL, NULL}}};
    struct auth_failure fail;
    struct auth_cred c;
    struct auth *a;

    (void)state;
    assert_int_equal(auth_new(&cfg, &iot, p, &a, NULL), 0);
    assert_int_equal(auth_strategy(a), AUTH_NOAUTH);
    assert_int_equal(auth_authenticate(a, lookup, &h, 0, &c, &fail), 0);
    assert_string_equal(c.id->user_id, "u1");
    assert_string_equal(c.id->project_id, "p1");
    assert_string_equal(c.id->project_name, "proj");
    assert_int_equal(c.id->nroles, 2);
    assert_string_equal(c.id->roles[0], "admin");
    assert_string_equal(c.id->roles[1], "user_iot");
    assert_true(c.is_admin);
    assert_false(c.is_public_api);
    auth_cred_release(&c);
    assert_int_equal(auth_authenticate(a, lookup, &empty, 1, &c, &fail), 0);
    assert_null(c.id->user_id);
    assert_null(c.id->project_id);
    assert_int_equal(c.id->nroles, 0);
    assert_false(c.is_admin);
    assert_true(c.is_public_api);
    auth_cred_release(&c);
    auth_free(a);
    /* Qinling's noauth project. */
    qin.noauth_project = "default";
    assert_int_equal(auth_new(&cfg, &qin, p, &a, NULL), 0);
    assert_int_equal(auth_authenticate(a, lookup, &empty, 0, &c, &fail), 0);
    assert_string_equal(c.id->project_id, "default");
    auth_cred_release(&c);
    auth_free(a);
    policy_free(p);
}

static struct auth_config keystone_cfg(void)
{
    struct auth_config c = {
        .strategy = AUTH_KEYSTONE,
        .www_authenticate_uri = "http://keystone.example:5000/v3",
        .auth_url = "http://127.0.0.1:1/identity",
        .auth_type = "password",
        .username = "iotronic",
        .password = "secret",
        .project_name = "service",
        .user_domain_name = "Default",
        .project_domain_name = "Default",
        .token_cache_time = 300,
        .token_cache_size = 100,
        .negative_cache_time = 10,
        .http_connect_timeout = 2,
        .http_request_timeout = 3,
    };
    return c;
}

static void test_keystone_configuration_is_checked(void **state)
{
    struct auth_config c;
    struct error err;
    struct auth *a;

    (void)state;
    c = keystone_cfg();
    c.www_authenticate_uri = NULL;
    assert_int_equal(auth_new(&c, &iot, NULL, &a, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "www_authenticate_uri"));
    c.auth_uri = "http://legacy:5000"; /* the deprecated name still works */
    assert_int_equal(auth_new(&c, &iot, NULL, &a, &err), 0);
    auth_free(a);
    c = keystone_cfg();
    c.password = NULL;
    assert_int_equal(auth_new(&c, &iot, NULL, &a, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "password"));
    c = keystone_cfg();
    c.auth_type = "v3token";
    assert_int_equal(auth_new(&c, &iot, NULL, &a, &err), -EINVAL);
    c = keystone_cfg();
    c.auth_url = "ftp://x";
    assert_int_equal(auth_new(&c, &iot, NULL, &a, &err), -EINVAL);
    c = keystone_cfg();
    c.www_authenticate_uri = "http://x\" evil";
    assert_int_equal(auth_new(&c, &iot, NULL, &a, &err), -EINVAL);
}

static void test_keystone_tokens_before_and_without_the_network(void **state)
{
    struct auth_config c = keystone_cfg();
    struct hdrs none = {{{"X-User-Id", "spoofed"}, {"X-Roles", "admin"}}};
    struct hdrs bad = {{{"X-Auth-Token", "has space"}}};
    struct hdrs good = {{{"X-Auth-Token", "gAAAAABtoken"}, {"X-Roles", "admin"}}};
    struct auth_failure fail;
    struct auth_stats st;
    struct auth_cred cred;
    struct auth *a;

    (void)state;
    assert_int_equal(auth_new(&c, &iot, NULL, &a, NULL), 0);
    /* No token: 401 with the Keystone challenge; identity headers ignored. */
    assert_int_equal(auth_authenticate(a, lookup, &none, 0, &cred, &fail), -EACCES);
    assert_int_equal(fail.status, 401);
    assert_string_equal(fail.message, iot.msg_missing);
    assert_string_equal(fail.www_authenticate, "Keystone uri=\"http://keystone.example:5000/v3\"");
    /* A token that cannot be one is refused without asking Keystone. */
    assert_int_equal(auth_authenticate(a, lookup, &bad, 0, &cred, &fail), -EACCES);
    assert_int_equal(fail.status, 401);
    auth_get_stats(a, &st);
    assert_int_equal(st.keystone_validations + st.keystone_logins, 0);
    /* Keystone unreachable: 503, nothing cached, so the next call tries again. */
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(auth_authenticate(a, lookup, &good, 0, &cred, &fail), -EACCES);
        assert_int_equal(fail.status, 503);
        assert_string_equal(fail.message, iot.msg_unavailable);
        assert_string_equal(fail.www_authenticate, "");
        auth_get_stats(a, &st);
        assert_int_equal(st.keystone_logins, i);
        assert_int_equal(st.keystone_errors, i);
        assert_int_equal(st.cache_misses, i);
    }
    /* Public routes need no token and make an anonymous caller. */
    assert_int_equal(auth_authenticate(a, lookup, &none, 1, &cred, &fail), 0);
    assert_null(cred.id->user_id);
    assert_int_equal(cred.id->nroles, 0);
    assert_true(cred.is_public_api);
    auth_cred_release(&cred);
    auth_free(a);
}

static void test_keystone_token_responses(void **state)
{
    const char *scoped =
        "{\"token\": {\"methods\": [\"password\"], \"user\": {\"domain\": {\"id\": \"default\", "
        "\"name\": \"Default\"}, \"id\": \"u-1\", \"name\": \"alice\"}, \"expires_at\": "
        "\"2030-01-02T03:04:05.000000Z\", \"project\": {\"domain\": {\"id\": \"d-1\"}, \"id\": "
        "\"p-1\", \"name\": \"iot\"}, \"roles\": [{\"id\": \"r1\", \"name\": \"member\"}, "
        "{\"id\": \"r2\", \"name\": \"admin_iot_project\"}]}}";
    const char *unscoped = "{\"token\": {\"user\": {\"id\": \"u-2\"}, \"expires_at\": "
                           "\"2030-01-02T03:04:05Z\"}}";
    const char *domain = "{\"token\": {\"user\": {\"id\": \"u-3\"}, \"domain\": {\"id\": "
                         "\"dom\", \"name\": \"D\"}, \"roles\": []}}";
    static const char *const bad[] = {
        "{}",
        "[]",
        "{\"token\": {}}",
        "{\"token\": {\"user\": {}}}",
        "{\"token\": {\"user\": {\"id\": 5}}}",
        "{\"token\": {\"user\": {\"id\": \"u\"}, \"roles\": {}}}",
        "{\"token\": {\"user\": {\"id\": \"u\"}, \"roles\": [{\"id\": \"r\"}]}}",
        "{\"token\": {\"user\": {\"id\": \"u\"}, \"expires_at\": \"tomorrow\"}}",
        "{\"token\": {\"user\": {\"id\": \"u\"}, \"project\": \"p\"}}",
        "not json",
    };
    struct auth_identity *id;
    struct error err;
    int64_t t;

    (void)state;
    assert_int_equal(keystone_parse_token(scoped, strlen(scoped), &id, &err), 0);
    assert_string_equal(id->user_id, "u-1");
    assert_string_equal(id->user_name, "alice");
    assert_string_equal(id->user_domain_id, "default");
    assert_string_equal(id->project_id, "p-1");
    assert_string_equal(id->project_name, "iot");
    assert_string_equal(id->project_domain_id, "d-1");
    assert_null(id->domain_id);
    assert_int_equal(id->nroles, 2);
    assert_string_equal(id->roles[1], "admin_iot_project");
    assert_int_equal(time_parse("2030-01-02T03:04:05Z", &t), 0);
    assert_int_equal(id->expires_us, t);
    auth_identity_unref(id);
    assert_int_equal(keystone_parse_token(unscoped, strlen(unscoped), &id, &err), 0);
    assert_null(id->project_id);
    auth_identity_unref(id);
    assert_int_equal(keystone_parse_token(domain, strlen(domain), &id, &err), 0);
    assert_null(id->project_id);
    assert_string_equal(id->domain_id, "dom");
    auth_identity_unref(id);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (keystone_parse_token(bad[i], strlen(bad[i]), &id, &err) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_null(id);
    }
}

static const struct auth_identity *ident(const char *user)
{
    struct auth_identity t = {.user_id = user, .project_id = "p"};

    return auth_identity_new(&t);
}

static void test_token_cache(void **state)
{
    struct tcache *c = tcache_new(2);
    const struct auth_identity *a = ident("a"), *b = ident("b"), *got = NULL;
    char k1[TCACHE_KEY_LEN], k2[TCACHE_KEY_LEN], k3[TCACHE_KEY_LEN];

    (void)state;
    memset(k1, '1', 64);
    memset(k2, '2', 64);
    memset(k3, '3', 64);
    k1[64] = k2[64] = k3[64] = '\0';
    assert_int_equal(tcache_get(c, k1, 100, &got), TCACHE_MISS);
    tcache_put(c, k1, a, 1000);
    tcache_put(c, k2, NULL, 1000); /* a rejection */
    assert_int_equal(tcache_get(c, k1, 100, &got), TCACHE_VALID);
    assert_ptr_equal(got, a);
    auth_identity_unref(got);
    assert_int_equal(tcache_get(c, k2, 100, &got), TCACHE_REJECTED);
    /* k1 was used after k2, so k2 is the least recent and goes first. */
    assert_int_equal(tcache_get(c, k1, 100, &got), TCACHE_VALID);
    auth_identity_unref(got);
    tcache_put(c, k3, b, 1000);
    assert_int_equal(tcache_size(c), 2);
    assert_int_equal(tcache_get(c, k2, 100, &got), TCACHE_MISS);
    assert_int_equal(tcache_get(c, k3, 100, &got), TCACHE_VALID);
    auth_identity_unref(got);
    /* Expired entries go. */
    assert_int_equal(tcache_get(c, k1, 1000, &got), TCACHE_MISS);
    assert_int_equal(tcache_size(c), 1);
    /* Replacing keeps one entry per key. */
    tcache_put(c, k3, a, 5000);
    tcache_put(c, k3, b, 5000);
    assert_int_equal(tcache_size(c), 1);
    assert_int_equal(tcache_get(c, k3, 100, &got), TCACHE_VALID);
    assert_ptr_equal(got, b);
    auth_identity_unref(got);
    /* The cache holds its own references. */
    auth_identity_unref(a);
    auth_identity_unref(b);
    tcache_free(c);
}

static void test_identity_copies_everything(void **state)
{
    const char *roles[] = {"r1", "r2"};
    char user[8] = "user";
    struct auth_identity t = {
        .user_id = user, .project_name = "pn", .roles = roles, .nroles = 2, .expires_us = 42};
    const struct auth_identity *id = auth_identity_new(&t), *again;

    (void)state;
    user[0] = 'X';
    assert_string_equal(id->user_id, "user");
    assert_null(id->project_id);
    assert_true(auth_identity_has_role(id, "R2"));
    assert_false(auth_identity_has_role(id, "r3"));
    assert_int_equal(id->expires_us, 42);
    again = auth_identity_ref(id);
    auth_identity_unref(id);
    assert_string_equal(again->project_name, "pn");
    auth_identity_unref(again);
    assert_ptr_equal(auth_identity_ref(auth_identity_anonymous()), auth_identity_anonymous());
    auth_identity_unref(auth_identity_anonymous());
}

static void test_config_helpers(void **state)
{
    char *a1[] = {"prog", "--debug", "--config-file", "/etc/iotronic/iotronic.conf", NULL};
    char *a2[] = {"prog", "--config-file=local.conf", "--config-file", "/x/y.conf", NULL};
    char *a3[] = {"prog", "--config-file=/top.conf", NULL};
    char *a4[] = {"prog", "--config-file", NULL};
    struct auth_config c = {.strategy = AUTH_NOAUTH};
    char *d;

    (void)state;
    d = auth_config_dir(4, a1);
    assert_string_equal(d, "/etc/iotronic");
    free(d);
    d = auth_config_dir(4, a2);
    assert_string_equal(d, ".");
    free(d);
    d = auth_config_dir(2, a3);
    assert_string_equal(d, "/");
    free(d);
    assert_null(auth_config_dir(2, a4));
    assert_false(auth_config_enforces_policy(&c));
    c.noauth_enforce_policy = 1;
    assert_true(auth_config_enforces_policy(&c));
    c = (struct auth_config){.strategy = AUTH_KEYSTONE};
    assert_true(auth_config_enforces_policy(&c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noauth_identity_from_headers),
        cmocka_unit_test(test_keystone_configuration_is_checked),
        cmocka_unit_test(test_keystone_tokens_before_and_without_the_network),
        cmocka_unit_test(test_keystone_token_responses),
        cmocka_unit_test(test_token_cache),
        cmocka_unit_test(test_identity_copies_everything),
        cmocka_unit_test(test_config_helpers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

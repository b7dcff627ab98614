/* Unit tests for auth/policy: the IoTronic default rules (iotronic-api-v1.md
 * 4.4) for every role with and without ownership, the language (4.5),
 * parser errors, overrides from JSON and YAML files, reloading, cycles, and
 * Qinling's default rule (deviceless-api.md 2.11). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/policy.h"

/* iotronic-api-v1.md 4.4, verbatim. */
static const struct policy_rule_default iot_rules[] = {
    {"admin_api", "role:admin or role:administrator"},
    {"public_api", "is_public_api:True"},
    {"is_admin", "rule:admin_api"},
    {"is_admin_iot_project", "role:admin_iot_project"},
    {"is_manager_iot_project", "role:manager_iot_project"},
    {"is_user_iot", "role:user_iot"},
    {"is_owner", "user:%(owner)s"},
    {"admin_or_owner", "rule:is_admin or rule:is_owner"},
    {"is_iot_member",
     "rule:is_admin_iot_project or rule:is_manager_iot_project or rule:is_user_iot"},
    {"iot:board:get", "rule:is_admin or rule:is_iot_member"},
    {"iot:board:create", "rule:is_admin_iot_project"},
    {"iot:board:delete",
     "rule:is_admin or rule:is_admin_iot_project or rule:is_manager_iot_project"},
    {"iot:board:update",
     "rule:is_admin or rule:is_admin_iot_project or rule:is_manager_iot_project"},
    {"iot:board_action:post", "rule:admin_or_owner"},
    {"iot:plugin:get", "rule:is_admin or rule:is_iot_member"},
    {"iot:plugin:create", "rule:is_iot_member"},
    {"iot:plugin:get_one", "rule:admin_or_owner"},
    {"iot:plugin:delete", "rule:admin_or_owner"},
    {"iot:plugin:update", "rule:admin_or_owner"},
    {"iot:plugin_on_board:get", "rule:admin_or_owner"},
    {"iot:plugin_remove:delete", "rule:admin_or_owner"},
    {"iot:plugin_action:post", "rule:admin_or_owner"},
    {"iot:plugin_inject:put", "rule:admin_or_owner"},
    {"iot:service:get", "rule:is_admin or rule:is_iot_member"},
    {"iot:service:create", "rule:is_iot_member"},
    {"iot:service:get_one", "rule:admin_or_owner"},
    {"iot:service:delete", "rule:admin_or_owner"},
    {"iot:service:update", "rule:admin_or_owner"},
    {"iot:service_on_board:get", "rule:admin_or_owner"},
    {"iot:service_remove:delete", "rule:admin_or_owner"},
    {"iot:service_action:post", "rule:admin_or_owner"},
    {"iot:service_inject:put", "rule:admin_or_owner"},
    {"iot:port_on_board:get", "rule:is_admin or rule:is_iot_member"},
    {"iot:port_on_board:create", "rule:is_iot_member"},
    {"iot:port_on_board:get_one", "rule:admin_or_owner"},
    {"iot:port_on_board:delete", "rule:admin_or_owner"},
    {"iot:port_on_board:update", "rule:admin_or_owner"},
    {"iot:fleet:get", "rule:is_admin or rule:is_iot_member"},
    {"iot:fleet:create", "rule:is_iot_member"},
    {"iot:fleet:get_one", "rule:admin_or_owner"},
    {"iot:fleet:delete", "rule:admin_or_owner"},
    {"iot:fleet:update", "rule:admin_or_owner"},
    {"iot:webservice:get", "rule:is_admin or rule:is_iot_member"},
    {"iot:webservice:create", "rule:is_iot_member"},
    {"iot:webservice:get_one", "rule:admin_or_owner"},
    {"iot:webservice:delete", "rule:admin_or_owner"},
    {"iot:webservice:update", "rule:admin_or_owner"},
    {"iot:enabledwebservice:get", "rule:is_admin or rule:is_iot_member"},
    {"iot:enabledwebservice:get_one", "rule:admin_or_owner"},
    {"iot:request:get", "rule:is_admin or rule:is_iot_member"},
    {"iot:request:get_one", "rule:is_admin or rule:is_iot_member"},
    {"iot:result:get", "rule:is_admin or rule:is_iot_member"},
    {"iot:result:get_one", "rule:is_admin or rule:is_iot_member"},
};
#define NIOT (sizeof(iot_rules) / sizeof(iot_rules[0]))

enum role { R_ADMIN, R_ADMIN_IOT, R_MANAGER, R_USER, R_NONE, NROLES };
static const char *const role_names[NROLES] = {"admin", "admin_iot_project", "manager_iot_project",
                                               "user_iot", NULL};

/* What each kind of default expression allows, per role:
 * [role][0] as a non-owner, [role][1] as the owner. */
enum kind { K_MEMBER_OR_ADMIN, K_CREATE_BOARD, K_CHANGE_BOARD, K_OWNER, K_MEMBER };
static const int expect[5][NROLES][2] = {
    [K_MEMBER_OR_ADMIN] = {{1, 1}, {1, 1}, {1, 1}, {1, 1}, {0, 0}},
    [K_CREATE_BOARD] = {{0, 0}, {1, 1}, {0, 0}, {0, 0}, {0, 0}},
    [K_CHANGE_BOARD] = {{1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}},
    [K_OWNER] = {{1, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}},
    [K_MEMBER] = {{0, 0}, {1, 1}, {1, 1}, {1, 1}, {0, 0}},
};

static enum kind kind_of(const char *expr)
{
    if (strcmp(expr, "rule:is_admin or rule:is_iot_member") == 0)
        return K_MEMBER_OR_ADMIN;
    if (strcmp(expr, "rule:is_admin_iot_project") == 0)
        return K_CREATE_BOARD;
    if (strncmp(expr, "rule:is_admin or rule:is_admin_iot_project", 42) == 0)
        return K_CHANGE_BOARD;
    if (strcmp(expr, "rule:admin_or_owner") == 0)
        return K_OWNER;
    if (strcmp(expr, "rule:is_iot_member") == 0)
        return K_MEMBER;
    fail_msg("unexpected expression %s", expr);
    return K_OWNER;
}

static struct policy *defaults_only(const struct policy_rule_default *r, size_t n, int enforce)
{
    struct policy_opts o = {.defaults = r, .ndefaults = n, .enforce = enforce};
    struct policy *p;
    struct error err;

    if (policy_new(&o, &p, &err) != 0)
        fail_msg("policy_new: %s", err.msg);
    return p;
}

/* A caller: user, project and up to three roles (NULL-terminated). */
static struct auth_cred caller(const char *user, const char *project, const char *r1,
                               const char *r2, const char *r3)
{
    const char *roles[3] = {r1, r2, r3};
    struct auth_identity t = {.user_id = user, .project_id = project, .roles = roles};
    struct auth_cred c = {0};

    while (t.nroles < 3 && roles[t.nroles] != NULL)
        t.nroles++;
    c.id = auth_identity_new(&t);
    return c;
}

static void test_iotronic_defaults_for_every_role_and_ownership(void **state)
{
    struct policy *p = defaults_only(iot_rules, NIOT, 1);

    (void)state;
    for (int role = 0; role < NROLES; role++) {
        struct auth_cred c = caller("u1", "p1", role_names[role], NULL, NULL);

        c.is_admin = policy_check(p, "is_admin", &c, NULL, 0);
        assert_int_equal(c.is_admin, role == R_ADMIN);
        for (size_t i = 9; i < NIOT; i++) {
            enum kind k = kind_of(iot_rules[i].expr);
            struct policy_target mine[] = {{"owner", "u1"}, {"project_id", "p1"}};
            struct policy_target other[] = {{"owner", "u2"}, {"project_id", "p1"}};
            /* Collection-level target: the caller's own ids, no owner (4.3). */
            struct policy_target coll[] = {{"user_id", "u1"}, {"project_id", "p1"}};
            int got_other = policy_check(p, iot_rules[i].name, &c, other, 2);
            int got_mine = policy_check(p, iot_rules[i].name, &c, mine, 2);
            int got_coll = policy_check(p, iot_rules[i].name, &c, coll, 2);

            if (got_other != expect[k][role][0] || got_mine != expect[k][role][1] ||
                got_coll != expect[k][role][0])
                fail_msg("%s as %s: other %d mine %d collection %d", iot_rules[i].name,
                         role_names[role] ? role_names[role] : "(no role)", got_other, got_mine,
                         got_coll);
            assert_int_equal(policy_authorize(p, iot_rules[i].name, &c, mine, 2),
                             got_mine ? 0 : -EACCES);
        }
        auth_cred_release(&c);
    }
    policy_free(p);
}

static void test_admin_roles_and_case(void **state)
{
    struct policy *p = defaults_only(iot_rules, NIOT, 1);
    struct auth_cred a = caller("u", "p", "Administrator", NULL, NULL);
    struct auth_cred b = caller("u", "p", "ADMIN", "user_iot", NULL);
    struct auth_cred n = caller(NULL, NULL, NULL, NULL, NULL);

    (void)state;
    assert_true(policy_check(p, "is_admin", &a, NULL, 0));
    assert_true(policy_check(p, "is_admin", &b, NULL, 0));
    assert_false(policy_check(p, "is_admin", &n, NULL, 0));
    /* A null owner is nobody's, even for a caller without a user id. */
    assert_false(policy_check(p, "is_owner", &n, (struct policy_target[]){{"owner", NULL}}, 1));
    assert_false(policy_check(p, "no:such:rule", &a, NULL, 0));
    auth_cred_release(&a);
    auth_cred_release(&b);
    auth_cred_release(&n);
    policy_free(p);
}

/* One expression against one caller and target. */
static int eval(const char *expr, const struct auth_cred *c, const struct policy_target *t,
                size_t nt)
{
    const struct policy_rule_default r[] = {{"x", expr}, {"t", "@"}, {"f", "!"}};
    struct policy *p = defaults_only(r, 3, 1);
    int v = policy_check(p, "x", c, t, nt);

    policy_free(p);
    return v;
}

static void test_language(void **state)
{
    struct auth_cred a = caller("u1", "p1", "a", NULL, NULL);
    struct auth_cred bc = caller("u1", "p1", "b", "c", NULL);
    struct auth_cred none = caller(NULL, NULL, NULL, NULL, NULL);
    struct policy_target t[] = {
        {"owner", "u1"}, {"project_id", "p1"}, {"null", NULL}, {"role", "a"}};

    (void)state;
    assert_true(eval("", &none, NULL, 0));
    assert_true(eval("@", &none, NULL, 0));
    assert_false(eval("!", &none, NULL, 0));
    assert_true(eval("True", &none, NULL, 0));
    assert_false(eval("False", &none, NULL, 0));
    /* Precedence: not > and > or. */
    assert_true(eval("role:a or role:b and role:c", &a, NULL, 0));
    assert_true(eval("role:a or role:b and role:c", &bc, NULL, 0));
    assert_false(eval("(role:a or role:b) and role:c", &a, NULL, 0));
    assert_false(eval("not role:a and role:b", &a, NULL, 0));
    assert_true(eval("not role:a and role:b", &bc, NULL, 0));
    assert_true(eval("not not role:a", &a, NULL, 0));
    assert_true(eval("((role:c)) AND (role:b) Or rule:f", &bc, NULL, 0));
    assert_true(eval("rule:t and not rule:f", &none, NULL, 0));
    assert_false(eval("rule:missing or rule:f", &a, NULL, 0));
    /* Substitutions from the target. */
    assert_true(eval("user_id:%(owner)s", &a, t, 4));
    assert_true(eval("user:%(owner)s and tenant:%(project_id)s", &a, t, 4));
    assert_false(eval("user:%(null)s", &a, t, 4));
    assert_false(eval("user:%(absent)s", &a, t, 4));
    assert_false(eval("user:%(owner)s", &none, t, 4));
    assert_true(eval("role:%(role)s", &a, t, 4));
    assert_true(eval("'a':%(role)s", &none, t, 4));
    assert_false(eval("'b':%(role)s", &none, t, 4));
    assert_true(eval("project_id:p%(null)s", &a, (struct policy_target[]){{"null", "1"}}, 1));
    {
        struct auth_cred pct = caller("u%1", NULL, NULL, NULL, NULL);

        assert_true(eval("user_id:u%%1", &pct, NULL, 0));
        auth_cred_release(&pct);
    }
    /* Literal credentials, generic role lists, booleans. */
    assert_true(eval("project_id:p1", &a, NULL, 0));
    assert_false(eval("project_id:p2", &a, NULL, 0));
    assert_true(eval("roles:c", &bc, NULL, 0));
    assert_false(eval("roles:C", &bc, NULL, 0));
    assert_true(eval("role:C", &bc, NULL, 0));
    assert_false(eval("unknown_credential:x", &a, NULL, 0));
    {
        struct auth_cred adm = caller("x", "y", NULL, NULL, NULL);

        adm.is_admin = 1;
        adm.is_public_api = 1;
        assert_true(eval("is_admin:True", &adm, NULL, 0));
        assert_true(eval("is_admin:1", &adm, NULL, 0));
        assert_true(eval("is_admin:true", &adm, NULL, 0));
        assert_false(eval("is_admin:False", &adm, NULL, 0));
        assert_true(eval("is_public_api:True", &adm, NULL, 0));
        assert_false(eval("is_admin:maybe", &adm, NULL, 0));
        assert_true(eval("is_admin:False", &none, NULL, 0));
        auth_cred_release(&adm);
    }
    auth_cred_release(&a);
    auth_cred_release(&bc);
    auth_cred_release(&none);
}

static void test_syntax_errors(void **state)
{
    static const char *const bad[] = {
        "role:a and",
        "(role:a",
        "role:a)",
        "not",
        "rule:",
        "foo",
        "role:a role:b",
        "role:a or or role:b",
        "and role:a",
        "()",
        "http://x/y",
        "user:%(x",
        "user:%(owner)",
        "user:%z",
        ":x",
        "role:a ) (",
        "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((@",
    };
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error_clear(&err);
        if (policy_expr_validate(bad[i], &err) != -EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(strlen(err.msg) > 0);
    }
    assert_int_equal(policy_expr_validate("ROLE:a or 'xy':z or 7:%(n)s", &err), 0);
}

static void test_cycles_are_refused(void **state)
{
    const struct policy_rule_default r[] = {
        {"a", "rule:b"}, {"b", "role:x or rule:c"}, {"c", "rule:a"}};
    const struct policy_rule_default selfref[] = {{"a", "not rule:a"}};
    struct policy_opts o = {.defaults = r, .ndefaults = 3};
    struct policy *p;
    struct error err;

    (void)state;
    assert_int_equal(policy_new(&o, &p, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "refers to itself"));
    o.defaults = selfref;
    o.ndefaults = 1;
    assert_int_equal(policy_new(&o, &p, &err), -EINVAL);
}

static void test_qinling_default_rule(void **state)
{
    const struct policy_rule_default q[] = {
        {"context_is_admin", "role:admin or is_admin:1"},
        {"owner", "project_id:%(project_id)s"},
        {"admin_or_owner", "rule:context_is_admin or rule:owner"},
        {"default", "rule:admin_or_owner"},
        {"runtime:create", "rule:context_is_admin"},
    };
    struct policy_opts o = {.defaults = q, .ndefaults = 5, .default_rule = "default", .enforce = 1};
    struct auth_cred u = caller("u", "proj", "member", NULL, NULL);
    struct auth_cred adm = caller("a", "other", "admin", NULL, NULL);
    struct policy_target mine[] = {{"project_id", "proj"}};
    struct policy_target theirs[] = {{"project_id", "x"}};
    struct policy *p;

    (void)state;
    assert_int_equal(policy_new(&o, &p, NULL), 0);
    assert_true(policy_check(p, "function:get", &u, mine, 1));
    assert_false(policy_check(p, "function:get", &u, theirs, 1));
    assert_true(policy_check(p, "execution:create", &adm, theirs, 1));
    assert_false(policy_check(p, "runtime:create", &u, mine, 1));
    assert_true(policy_check(p, "runtime:create", &adm, mine, 1));
    adm.is_admin = 1;
    u.is_admin = 1; /* is_admin:1 holds for a context flagged admin */
    assert_true(policy_check(p, "runtime:create", &u, mine, 1));
    policy_free(p);
    auth_cred_release(&u);
    auth_cred_release(&adm);
}

static void test_enforcement_off_allows_everything(void **state)
{
    struct policy *p = defaults_only(iot_rules, NIOT, 0);
    struct auth_cred n = caller(NULL, NULL, NULL, NULL, NULL);

    (void)state;
    assert_int_equal(policy_authorize(p, "iot:board:create", &n, NULL, 0), 0);
    assert_false(policy_check(p, "iot:board:create", &n, NULL, 0));
    assert_false(policy_enforcing(p));
    policy_free(p);
    auth_cred_release(&n);
}

static char tmpdir_path[64];

static void write_file(const char *name, const char *text)
{
    char path[128], tmp[140];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir_path, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_policy_file_overrides_and_reload(void **state)
{
    struct policy_opts o = {.defaults = iot_rules,
                            .ndefaults = NIOT,
                            .file = "policy.json",
                            .config_dir = tmpdir_path,
                            .enforce = 1,
                            .reload_check_ms = 1};
    struct auth_cred u = caller("u1", "p1", "reader", NULL, NULL);
    struct policy *p;
    struct error err;

    (void)state;
    /* A missing file means the defaults. */
    assert_int_equal(policy_new(&o, &p, &err), 0);
    assert_false(policy_check(p, "iot:board:get", &u, NULL, 0));
    /* A new file is picked up on a check; new rule names work too. */
    write_file("policy.json", "{\"iot:board:get\": \"role:reader\", \"extra\": \"rule:is_admin\","
                              " \"is_admin\": \"role:reader\"}");
    usleep(20000);
    assert_true(policy_check(p, "iot:board:get", &u, NULL, 0));
    assert_true(policy_check(p, "extra", &u, NULL, 0));
    /* A broken file keeps the rules in force, and policy_reload says why. */
    write_file("policy.json", "{\"iot:board:get\": \"role:reader and\"}");
    usleep(20000);
    assert_true(policy_check(p, "iot:board:get", &u, NULL, 0));
    assert_int_equal(policy_reload(p, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "iot:board:get"));
    write_file("policy.json", "{\"iot:board:get\": 5}");
    assert_int_equal(policy_reload(p, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "must be a string"));
    write_file("policy.json", "[\"not\", \"an object\"]");
    assert_int_equal(policy_reload(p, &err), -EINVAL);
    assert_true(policy_check(p, "iot:board:get", &u, NULL, 0));
    /* Removing the file goes back to the defaults. */
    snprintf(err.msg, sizeof(err.msg), "%s/policy.json", tmpdir_path);
    unlink(err.msg);
    usleep(20000);
    assert_false(policy_check(p, "iot:board:get", &u, NULL, 0));
    assert_string_equal(policy_file(p), err.msg);
    policy_free(p);
    auth_cred_release(&u);
}

static void test_yaml_policy_files(void **state)
{
    struct policy_opts o = {.defaults = iot_rules,
                            .ndefaults = NIOT,
                            .file = "policy.yaml",
                            .config_dir = tmpdir_path,
                            .enforce = 1};
    struct auth_cred u = caller("u1", "p1", "reader", "it's", NULL);
    struct policy *p;
    struct error err;

    (void)state;
    write_file("policy.yaml", "---\n# IoTronic overrides\n\n"
                              "\"iot:board:get\": \"role:reader\"   # quoted\n"
                              "iot:fleet:get: role:reader or role:x # plain\n"
                              "'iot:plugin:get': 'role:it''s'\n"
                              "iot:service:get:\n");
    assert_int_equal(policy_new(&o, &p, &err), 0);
    assert_true(policy_check(p, "iot:board:get", &u, NULL, 0));
    assert_true(policy_check(p, "iot:fleet:get", &u, NULL, 0));
    assert_true(policy_check(p, "iot:plugin:get", &u, NULL, 0));
    assert_true(policy_check(p, "iot:service:get", &u, NULL, 0)); /* "" is always true */
    policy_free(p);
    write_file("policy.yaml", "rules:\n  a: role:x\n");
    assert_int_equal(policy_new(&o, &p, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "policy.yaml:2"));
    write_file("policy.yaml", "a: [role:x]\n");
    assert_int_equal(policy_new(&o, &p, &err), -EINVAL);
    write_file("policy.yaml", "{}\n");
    assert_int_equal(policy_new(&o, &p, &err), 0);
    policy_free(p);
    auth_cred_release(&u);
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir_path, sizeof(tmpdir_path), "/tmp/test_policy.XXXXXX");
    return mkdtemp(tmpdir_path) ? 0 : -1;
}

static int remove_dir(void **state)
{
    char path[128];

    (void)state;
    snprintf(path, sizeof(path), "%s/policy.json", tmpdir_path);
    unlink(path);
    snprintf(path, sizeof(path), "%s/policy.yaml", tmpdir_path);
    unlink(path);
    return rmdir(tmpdir_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iotronic_defaults_for_every_role_and_ownership),
        cmocka_unit_test(test_admin_roles_and_case),
        cmocka_unit_test(test_language),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_cycles_are_refused),
        cmocka_unit_test(test_qinling_default_rule),
        cmocka_unit_test(test_enforcement_off_allows_everything),
        cmocka_unit_test(test_policy_file_overrides_and_reload),
        cmocka_unit_test(test_yaml_policy_files),
    };

    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}

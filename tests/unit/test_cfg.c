/* Unit tests for common/cfg: parsing, typed binding, errors with file:line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cfg.h"

struct conf {
    char *connection;
    int64_t port;
    int debug;
    double ratio;
    int mode;
    char *unset;
};

static const struct cfg_opt opts[] = {
    { "database", "connection", CFG_STR, NULL, offsetof(struct conf, connection), 0, 0, NULL,
      CFG_REQUIRED },
    { "api", "port", CFG_INT, "8812", offsetof(struct conf, port), 1, 65535, NULL, 0 },
    { "DEFAULT", "debug", CFG_BOOL, "false", offsetof(struct conf, debug), 0, 0, NULL, 0 },
    { "api", "ratio", CFG_DOUBLE, "0.5", offsetof(struct conf, ratio), 0, 1, NULL, 0 },
    { "DEFAULT", "auth_strategy", CFG_ENUM, "keystone", offsetof(struct conf, mode), 0, 0,
      "keystone|noauth", 0 },
    { "api", "unset", CFG_STR, NULL, offsetof(struct conf, unset), 0, 0, NULL, 0 },
};

static int load_and_bind(const char *text, struct conf *c, struct error *err)
{
    struct cfg *cfg = cfg_new();
    struct cfg_table t = { opts, sizeof(opts) / sizeof(opts[0]), c };
    int rc;

    memset(c, 0, sizeof(*c));
    rc = cfg_load_text(cfg, "test.conf", text, err);
    if (rc == 0)
        rc = cfg_bind(cfg, &t, 1, err);
    cfg_free(cfg);
    return rc;
}

static void unbind(struct conf *c)
{
    struct cfg_table t = { opts, sizeof(opts) / sizeof(opts[0]), c };

    cfg_unbind(&t, 1);
}

static void test_values_and_defaults(void **state)
{
    struct conf c;
    struct error err;

    (void)state;
    assert_int_equal(load_and_bind("# comment\n[database]\nconnection = postgresql://x/y\n"
                                   "[DEFAULT]\ndebug = Yes\nauth_strategy = noauth\n",
                                   &c, &err),
                     0);
    assert_string_equal(c.connection, "postgresql://x/y");
    assert_int_equal(c.port, 8812);
    assert_int_equal(c.debug, 1);
    assert_int_equal(c.mode, 1);
    assert_true(c.ratio == 0.5);
    assert_null(c.unset);
    unbind(&c);
}

static void test_quotes_and_continuation(void **state)
{
    struct conf c;
    struct error err;

    (void)state;
    assert_int_equal(load_and_bind("[database]\nconnection = \"a b\"\n", &c, &err), 0);
    assert_string_equal(c.connection, "a b");
    unbind(&c);
    assert_int_equal(load_and_bind("[database]\nconnection = first\n  second\n", &c, &err), 0);
    assert_string_equal(c.connection, "first\nsecond");
    unbind(&c);
}

/* Each bad file must fail with a message that contains the given text. */
static const struct {
    const char *text;
    const char *expect;
} bad[] = {
    { "[database]\nconnection = x\n[api]\nport = 99999\n", "test.conf:4: [api] port" },
    { "[database]\nconnection = x\n[api]\nport = 12ab\n", "not an integer" },
    { "[database]\nconnection = x\n[DEFAULT]\ndebug = maybe\n", "test.conf:4: [DEFAULT] debug" },
    { "[database]\nconnection = x\n[DEFAULT]\nauth_strategy = ldap\n", "not one of" },
    { "[database]\nconnection = x\nconnection = y\n", "test.conf:3: duplicate option" },
    { "[database\nconnection = x\n", "test.conf:1: malformed section" },
    { "connection = x\n", "test.conf:1: option connection outside any section" },
    { "[database]\njust words\n", "test.conf:2: expected 'key = value'" },
    { "[api]\nport = 1\n", "missing required option [database] connection" },
    { "[database]\nconnection = x\n[api]\nratio = 2\n", "outside" },
};

static void test_bad_files_name_file_line_key(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct conf c;
        struct error err;

        error_clear(&err);
        assert_int_not_equal(load_and_bind(bad[i].text, &c, &err), 0);
        if (strstr(err.msg, bad[i].expect) == NULL)
            fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, bad[i].expect);
        unbind(&c);
    }
}

static void test_later_file_wins_and_args(void **state)
{
    char p1[] = "/tmp/cfgtestAXXXXXX", p2[] = "/tmp/cfgtestBXXXXXX";
    int f1 = mkstemp(p1), f2 = mkstemp(p2);
    char *argv[] = { "prog", "--config-file", p1, "x", "--config-file=", NULL, NULL };
    char arg2[64];
    int argc = 6;
    struct cfg *cfg = cfg_new();
    struct error err;

    (void)state;
    assert_true(f1 >= 0 && f2 >= 0);
    assert_true(write(f1, "[api]\nport = 1\n", 15) == 15);
    assert_true(write(f2, "[api]\nport = 2\n", 15) == 15);
    close(f1);
    close(f2);
    snprintf(arg2, sizeof(arg2), "--config-file=%s", p2);
    argv[4] = arg2;
    argc = 5;
    assert_int_equal(cfg_load_args(cfg, &argc, argv, NULL, &err), 0);
    assert_int_equal(argc, 2);
    assert_string_equal(argv[1], "x");
    assert_string_equal(cfg_get(cfg, "api", "port"), "2");
    cfg_free(cfg);
    cfg = cfg_new();
    assert_int_equal(cfg_load(cfg, "/nonexistent/iotronic.conf", &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/iotronic.conf"));
    cfg_free(cfg);
    unlink(p1);
    unlink(p2);
}

/* Keys of sibling programs (cfg_add_known) are bound by nobody here and must
 * not be reported as unknown; a real typo still is. The warning goes to the
 * log, so the test captures stderr. */
static void test_known_keys_of_siblings_are_not_unknown(void **state)
{
    static const struct cfg_opt sibling[] = {
        { "DEFAULT", "host", CFG_STR, NULL, 0, 0, 0, NULL, 0 },
        { "wstun", NULL, CFG_IGNORED, NULL, 0, 0, 0, NULL, 0 },
    };
    char path[] = "/tmp/cfgwarnXXXXXX";
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    struct cfg *cfg = cfg_new();
    struct conf c;
    struct cfg_table t = { opts, sizeof(opts) / sizeof(opts[0]), &c };
    struct error err;
    char log[4096] = "";
    ssize_t n;

    (void)state;
    memset(&c, 0, sizeof(c));
    assert_true(fd >= 0 && saved >= 0);
    assert_int_equal(cfg_load_text(cfg, "shared.conf",
                                   "[DEFAULT]\nhost = w1\ntypo = 1\n[database]\nconnection = x\n"
                                   "[wstun]\nlisten = 1\n",
                                   &err),
                     0);
    cfg_add_known(cfg, sibling, 2);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    assert_int_equal(cfg_bind(cfg, &t, 1, &err), 0);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    n = pread(fd, log, sizeof(log) - 1, 0);
    assert_true(n > 0);
    log[n] = '\0';
    assert_non_null(strstr(log, "shared.conf:3: unknown option [DEFAULT] typo"));
    assert_null(strstr(log, "[DEFAULT] host"));
    assert_null(strstr(log, "[wstun]"));
    cfg_unbind(&t, 1);
    cfg_free(cfg);
    close(fd);
    close(saved);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_defaults),
        cmocka_unit_test(test_quotes_and_continuation),
        cmocka_unit_test(test_bad_files_name_file_line_key),
        cmocka_unit_test(test_later_file_wins_and_args),
        cmocka_unit_test(test_known_keys_of_siblings_are_not_unknown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

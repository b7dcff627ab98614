/* Unit tests for src/conf: lightning-rod-c.conf (board-protocol.md 12.2,
 * deviceless-api.md Appendix C). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "src/conf.h"

static void test_defaults_are_the_contract_table(void **state)
{
    struct lrc_conf c;
    struct error err;

    (void)state;
    assert_int_equal(lrc_conf_load_text(&c, "empty", "", &err), 0);
    assert_string_equal(c.state_dir, "/var/lib/lightning-rod-c");
    assert_string_equal(c.run_dir, "/run/lightning-rod-c");
    assert_string_equal(c.log_level, "info");
    assert_int_equal(c.ping_interval, 20);
    assert_int_equal(c.alive_interval, 60);
    assert_int_equal(c.call_timeout, 10);
    assert_int_equal(c.backoff_initial, 1);
    assert_int_equal(c.backoff_max, 60);
    assert_int_equal(c.failover_after, 3);
    assert_null(c.ca_file);
    assert_false(c.insecure);
    assert_false(c.allow_reboot);
    assert_true(c.allow_restart);
    assert_true(c.allow_factory_reset);
    assert_string_equal(c.reboot_argv[0], "/bin/systemctl");
    assert_string_equal(c.reboot_argv[1], "reboot");
    assert_null(c.reboot_argv[2]);
    assert_null(c.upgrade_argv);
    assert_int_equal(lrc_words_count(c.pkg_list), 0);
    assert_int_equal(lrc_words_count(c.rest_allow), 2);
    assert_string_equal(c.rest_allow[0], "http://127.0.0.1");
    assert_int_equal(c.plugin_executor, LRC_PLUGIN_CRUN);
    assert_string_equal(c.plugin_user, "nobody");
    assert_true(lrc_words_has(c.interp_list, "/usr/bin/python3"));
    assert_true(lrc_words_has(c.interp_list, "/bin/sh"));
    assert_int_equal(c.plugin_call_timeout, 30);
    assert_int_equal(c.plugin_max_output, 65536);
    assert_true(c.python_compat);
    assert_int_equal(c.hal.backend, HAL_BACKEND_AUTO);
    assert_int_equal(c.fn.outbox_max, 10000);
    /* [function] directories follow [DEFAULT]. */
    assert_string_equal(c.fn.state_dir, "/var/lib/lightning-rod-c");
    lrc_conf_clear(&c);
}

static void test_values_and_command_lists(void **state)
{
    struct lrc_conf c;
    struct error err;
    const char *text = "[DEFAULT]\nstate_dir = /srv/lrc\nrun_dir = /run/x\n"
                       "[wamp]\nbackoff_initial = 2\nbackoff_max = 30\ninsecure = true\n"
                       "[device]\nallow_reboot = yes\nreboot_command = /sbin/shutdown -r now\n"
                       "upgrade_command = /usr/bin/pip3 install lrc=={version}\n"
                       "pkg_managers = apt-get pip3\n"
                       "rest_submit_allow = http://10.0.0.5:8080/api\n"
                       "[plugin]\nexecutor = process\ninterpreters = /usr/bin/python3.11\n"
                       "[io]\nbackend = sim\n";

    (void)state;
    assert_int_equal(lrc_conf_load_text(&c, "t.conf", text, &err), 0);
    assert_string_equal(c.state_dir, "/srv/lrc");
    assert_string_equal(c.fn.state_dir, "/srv/lrc");
    assert_int_equal(c.backoff_initial, 2);
    assert_true(c.insecure);
    assert_true(c.allow_reboot);
    assert_int_equal(lrc_words_count(c.reboot_argv), 3);
    assert_string_equal(c.upgrade_argv[1], "install");
    assert_string_equal(c.upgrade_argv[2], "lrc=={version}");
    assert_null(c.upgrade_argv[3]);
    assert_true(lrc_words_has(c.pkg_list, "pip3"));
    assert_false(lrc_words_has(c.pkg_list, "npm"));
    assert_string_equal(c.rest_allow[0], "http://10.0.0.5:8080/api");
    assert_int_equal(c.plugin_executor, LRC_PLUGIN_PROCESS);
    assert_int_equal(c.hal.backend, HAL_BACKEND_SIM);
    lrc_conf_clear(&c);
}

static void test_bad_values_name_the_option(void **state)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"[wamp]\nping_interval = 0\n", "ping_interval"},
        {"[wamp]\nbackoff_initial = 10\nbackoff_max = 5\n", "backoff_max is below"},
        {"[wamp]\ninsecure = perhaps\n", "insecure"},
        {"[device]\nreboot_command = reboot\n", "not an absolute path"},
        {"[device]\nreboot_command =\n", "reboot_command is empty"},
        {"[device]\nupgrade_command = pip3 install x\n", "upgrade_command: pip3"},
        {"[device]\npkg_managers = apt-get yum\n", "yum is not one of"},
        {"[plugin]\ninterpreters = python3\n", "interpreters: python3"},
        {"[plugin]\nexecutor = docker\n", "executor"},
        {"[DEFAULT]\nlog_level = loud\n", "log_level"},
        {"[wamp]\nalive_interval = 1\nalive_interval = 2\n", "duplicate"},
    };
    struct lrc_conf c;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error_clear(&err);
        assert_int_equal(lrc_conf_load_text(&c, "bad.conf", bad[i].text, &err), -EINVAL);
        if (strstr(err.msg, bad[i].why) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].why);
        /* Cleared on failure: nothing to free, nothing left. */
        assert_null(c.state_dir);
    }
}

static void test_words(void **state)
{
    char **v = lrc_words_split("  a\tbb \n ccc  ");

    (void)state;
    assert_int_equal(lrc_words_count(v), 3);
    assert_string_equal(v[1], "bb");
    assert_true(lrc_words_has(v, "ccc"));
    assert_false(lrc_words_has(v, "cc"));
    lrc_words_free(v);
    v = lrc_words_split(NULL);
    assert_int_equal(lrc_words_count(v), 0);
    lrc_words_free(v);
    v = lrc_words_split("   ");
    assert_null(v[0]);
    lrc_words_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_contract_table),
        cmocka_unit_test(test_values_and_command_lists),
        cmocka_unit_test(test_bad_values_name_the_option),
        cmocka_unit_test(test_words),
    };

    xalloc_init();
    log_init("test_lrc_conf", LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for src/helper: the agent's side of the helper protocol, with
 * /bin/sh scripts standing in for lrc-fetch and lrc-unpack on a real loop
 * and reaper: the one result line, failures with their errno, results that
 * must not be trusted, crashes, timeouts, bounded output, stdin larger than
 * a pipe, cancellation and the filtered environment. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "src/ctr_reaper.h"
#include "src/helper.h"

#define BIG_INPUT (1 << 20)

struct run {
    int done, rc;
    cJSON *res;
    char msg[ERROR_MSG_MAX];
};

struct env {
    struct ev_loop *ev;
    struct ctr_reaper *reaper;
};

static int setup(void **state)
{
    struct env *e = xcalloc(1, sizeof(*e));

    e->ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    assert_non_null(e->ev);
    assert_int_equal(ctr_reaper_new(e->ev, &e->reaper, NULL), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;

    ctr_reaper_free(e->reaper);
    ev_loop_destroy(e->ev);
    free(e);
    return 0;
}

static void on_done(void *arg, int rc, const cJSON *res, const struct error *err)
{
    struct run *r = arg;

    r->done++;
    r->rc = rc;
    r->res = res ? cJSON_Duplicate(res, 1) : NULL;
    snprintf(r->msg, sizeof(r->msg), "%s", err ? err->msg : "");
}

static int start(struct env *e, const char *script, const char *input, size_t len, size_t out_max,
                 double timeout_s, struct run *r, struct lrc_helper **h)
{
    char *const argv[] = {"sh", "-c", (char *)script, NULL};
    struct lrc_helper_spec s = {"/bin/sh", argv, input, len, out_max, timeout_s};
    struct error err;

    memset(r, 0, sizeof(*r));
    return lrc_helper_start(e->ev, e->reaper, &s, on_done, r, h, &err);
}

/* Runs script to its end on the loop; the callback must run exactly once. */
static void run(struct env *e, const char *script, const char *input, size_t len, size_t out_max,
                double timeout_s, struct run *r)
{
    assert_int_equal(start(e, script, input, len, out_max, timeout_s, r, NULL), 0);
    assert_int_equal(r->done, 0); /* never inside the call */
    while (!r->done)
        ev_run(e->ev, EVRUN_ONCE);
    assert_int_equal(r->done, 1);
}

static int64_t number(const struct run *r, const char *key)
{
    int64_t v = -1;

    assert_int_equal(json_get_int(r->res, key, JSON_REQUIRED, INT64_MIN, INT64_MAX, &v, NULL), 0);
    return v;
}

static void test_result_object_is_passed_back(void **state)
{
    struct run r;

    run(*state, "echo '{\"ok\": true, \"n\": 3}'", NULL, 0, 0, 0, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(number(&r, "n"), 3);
    cJSON_Delete(r.res);
}

static void test_failure_carries_its_message_and_errno(void **state)
{
    struct run r;

    run(*state, "echo '{\"ok\": false, \"errno\": 2, \"error\": \"nope\", \"bytes\": 7}'; exit 1",
        NULL, 0, 0, 0, &r);
    assert_int_equal(r.rc, -ENOENT);
    assert_string_equal(r.msg, "nope");
    assert_int_equal(number(&r, "bytes"), 7); /* the extra fields reach the caller */
    cJSON_Delete(r.res);
    run(*state, "echo '{\"ok\": false, \"errno\": 99999, \"error\": \"odd\"}'; exit 1", NULL, 0, 0,
        0, &r);
    assert_int_equal(r.rc, -EIO); /* an errno out of range */
    cJSON_Delete(r.res);
}

static void test_results_that_cannot_be_trusted_fail(void **state)
{
    static const struct {
        const char *script, *msg;
    } cases[] = {
        {"echo '{\"ok\": true}'; exit 3", "sh exited with status 3 without a result"},
        {"echo hello", "sh exited with status 0 without a result"},
        {"exit 0", "sh exited with status 0 without a result"},
        {"echo '{\"ok\": false}'; exit 1", "sh exited with status 1 without a result"},
        {"echo '[true]'", "sh exited with status 0 without a result"},
        {"echo '{\"ok\": true} x'", "sh exited with status 0 without a result"},
        {"kill -9 $$", "sh was killed by signal 9"},
    };
    struct run r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run(*state, cases[i].script, NULL, 0, 0, 0, &r);
        assert_int_equal(r.rc < 0, 1);
        assert_null(r.res);
        assert_string_equal(r.msg, cases[i].msg);
    }
}

static void test_timeout_kills_the_helper(void **state)
{
    struct run r;

    run(*state, "exec sleep 10", NULL, 0, 0, 0.2, &r);
    assert_int_equal(r.rc, -ETIMEDOUT);
    assert_string_equal(r.msg, "sh timed out after 0.2 s");
}

static void test_output_is_bounded(void **state)
{
    struct run r;

    /* 200 KiB on stdout: drained, not kept, and the run fails. */
    run(*state, "head -c 204800 /dev/zero | tr '\\0' a; echo", NULL, 0, 1000, 0, &r);
    assert_int_equal(r.rc, -EIO);
    assert_string_equal(r.msg, "sh wrote more than 1000 bytes");
}

static void test_input_larger_than_a_pipe_reaches_stdin(void **state)
{
    char *input = xmalloc(BIG_INPUT);
    struct run r;

    memset(input, 'x', BIG_INPUT);
    run(*state, "n=$(wc -c); echo \"{\\\"ok\\\": true, \\\"n\\\": $n}\"", input, BIG_INPUT, 0, 0,
        &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(number(&r, "n"), BIG_INPUT);
    cJSON_Delete(r.res);
    /* A helper that never reads its stdin still ends normally. */
    run(*state, "exec 0<&-; echo '{\"ok\": true}'", input, BIG_INPUT, 0, 0, &r);
    assert_int_equal(r.rc, 0);
    cJSON_Delete(r.res);
    free(input);
}

static void test_cancel_means_no_callback(void **state)
{
    struct env *e = *state;
    struct lrc_helper *h = NULL;
    struct run r;
    ev_tstamp until;

    assert_int_equal(start(e, "exec sleep 10", NULL, 0, 0, 0, &r, &h), 0);
    assert_non_null(h);
    lrc_helper_cancel(h);
    lrc_helper_cancel(NULL);
    until = ev_time() + 0.3;
    while (ev_time() < until)
        ev_run(e->ev, EVRUN_NOWAIT);
    assert_int_equal(r.done, 0);
}

static void test_environment_is_filtered(void **state)
{
    struct run r;
    const char *v;

    setenv("LRC_TEST_SECRET", "s3cret", 1);
    setenv("https_proxy", "http://proxy.example:3128", 1);
    run(*state,
        "echo \"{\\\"ok\\\": true, \\\"p\\\": \\\"$https_proxy\\\", "
        "\\\"s\\\": \\\"${LRC_TEST_SECRET:-}\\\"}\"",
        NULL, 0, 0, 0, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_get_str(r.res, "p", JSON_REQUIRED, 100, &v, NULL), 0);
    assert_string_equal(v, "http://proxy.example:3128");
    assert_int_equal(json_get_str(r.res, "s", JSON_REQUIRED, 100, &v, NULL), 0);
    assert_string_equal(v, "");
    cJSON_Delete(r.res);
    unsetenv("LRC_TEST_SECRET");
    unsetenv("https_proxy");
}

static void test_missing_program_fails_at_once(void **state)
{
    struct env *e = *state;
    char *const argv[] = {"lrc-nothing", NULL};
    struct lrc_helper_spec s = {NULL, argv, NULL, 0, 0, 0};
    struct error err;
    struct run r = {0};

    assert_int_equal(lrc_helper_start(e->ev, e->reaper, &s, on_done, &r, NULL, &err), -ENOENT);
    assert_string_equal(err.msg, "lrc-nothing is not installed");
    s.path = "/nonexistent/lrc-nothing";
    assert_int_equal(lrc_helper_start(e->ev, e->reaper, &s, on_done, &r, NULL, &err), -ENOENT);
    assert_int_equal(r.done, 0);
}

static void test_find_looks_beside_the_program(void **state)
{
    char *self;

    (void)state;
    /* This test program qualifies as a helper of itself. */
    self = lrc_helper_find("test_lrc_helper");
    assert_non_null(self);
    assert_int_equal(self[0], '/');
    assert_non_null(strstr(self, "/tests/unit/test_lrc_helper"));
    free(self);
    assert_null(lrc_helper_find("lrc-no-such-helper"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_result_object_is_passed_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_carries_its_message_and_errno, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_results_that_cannot_be_trusted_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_kills_the_helper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_larger_than_a_pipe_reaches_stdin, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancel_means_no_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_is_filtered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_program_fails_at_once, setup, teardown),
        cmocka_unit_test(test_find_looks_beside_the_program),
    };

    signal(SIGPIPE, SIG_IGN); /* as in the agent */
    return cmocka_run_group_tests(tests, NULL, NULL);
}

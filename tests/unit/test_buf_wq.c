/* Unit tests for common/buf (ceilings) and common/wq (posting back). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/wq.h"

static void test_buf_limit(void **state)
{
    struct buf b;
    char *s;
    size_t len;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_append_str(&b, "12345678"), 0);
    assert_int_equal(buf_append_str(&b, "9"), -E2BIG);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.data, "12345678");
    buf_consume(&b, 3);
    assert_string_equal(b.data, "45678");
    assert_int_equal(buf_printf(&b, "%d", 123), 0);
    assert_int_equal(buf_printf(&b, "%d", 1), -E2BIG);
    s = buf_take(&b, &len);
    assert_int_equal(len, 8);
    assert_string_equal(s, "45678123");
    free(s);
    assert_null(b.data);
    buf_free(&b);
}

struct counter {
    pthread_mutex_t lock;
    int worked, done, wakes;
};

static void work(void *arg, void *ctx)
{
    struct counter *c = arg;

    assert_ptr_equal(ctx, (void *)0x1234);
    pthread_mutex_lock(&c->lock);
    c->worked++;
    pthread_mutex_unlock(&c->lock);
}

static void work_noctx(void *arg, void *ctx)
{
    struct counter *c = arg;

    (void)ctx;
    pthread_mutex_lock(&c->lock);
    c->worked++;
    pthread_mutex_unlock(&c->lock);
}

static void done(void *arg)
{
    ((struct counter *)arg)->done++; /* loop thread only */
}

static void *init(void *hook_arg)
{
    (void)hook_arg;
    return (void *)0x1234;
}

static void wake(void *hook_arg)
{
    struct counter *c = hook_arg;

    pthread_mutex_lock(&c->lock);
    c->wakes++;
    pthread_mutex_unlock(&c->lock);
}

static void test_wq_runs_and_posts_back(void **state)
{
    struct counter c = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0 };
    struct wq_hooks hooks = { init, NULL, wake, &c };
    struct wq *wq = wq_new(3, 0, &hooks);
    int seen = 0;

    (void)state;
    for (int i = 0; i < 100; i++)
        assert_int_equal(wq_submit(wq, work, done, &c), 0);
    for (int tries = 0; tries < 1000 && seen < 100; tries++) {
        seen += (int)wq_drain(wq);
        usleep(1000);
    }
    assert_int_equal(seen, 100);
    assert_int_equal(c.done, 100);
    assert_int_equal(c.worked, 100);
    assert_true(c.wakes >= 1);
    wq_free(wq);
}

static void slow(void *arg, void *ctx)
{
    (void)arg;
    (void)ctx;
    usleep(50000);
}

static void test_wq_bounded_queue(void **state)
{
    struct wq *wq = wq_new(1, 2, NULL);
    int refused = 0;

    (void)state;
    for (int i = 0; i < 10; i++)
        if (wq_submit(wq, slow, NULL, NULL) == -EAGAIN)
            refused++;
    assert_true(refused >= 7);
    wq_free(wq);
}

/* After wq_shutdown() the pool refuses work but stays valid, so callbacks of
 * longer-lived components may still try to submit during teardown. */
static void test_wq_shutdown_refuses_but_stays_valid(void **state)
{
    struct counter c = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0 };
    struct wq *wq = wq_new(2, 0, NULL);

    (void)state;
    for (int i = 0; i < 10; i++)
        assert_int_equal(wq_submit(wq, work_noctx, done, &c), 0);
    wq_shutdown(wq);
    assert_int_equal(c.worked, 10); /* queued jobs finished */
    assert_int_equal(c.done, 10);   /* and their done()s ran */
    assert_int_equal(wq_submit(wq, work_noctx, done, &c), -ESHUTDOWN);
    wq_shutdown(wq); /* idempotent */
    wq_free(wq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_limit),
        cmocka_unit_test(test_wq_runs_and_posts_back),
        cmocka_unit_test(test_wq_bounded_queue),
        cmocka_unit_test(test_wq_shutdown_refuses_but_stays_valid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

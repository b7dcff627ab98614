/* Unit tests for amqp/dedup (bounded cache of message ids) and the I/O
 * thread's timer heap (amqp/timer.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "amqp/dedup.h"
#include "amqp/internal.h"
#include "common/xalloc.h"

static void test_dedup_running_then_done(void **state)
{
    struct mq_dedup *d = mq_dedup_new(10, 1000, 1000000);
    struct mq_dedup_entry *e;

    (void)state;
    assert_null(mq_dedup_find(d, "a.1", 0));
    e = mq_dedup_add(d, "a.1");
    assert_int_equal(e->state, MQ_DEDUP_RUNNING);
    assert_ptr_equal(mq_dedup_find(d, "a.1", 10), e);
    mq_dedup_complete(d, e, xstrdup("{\"ok\":1}"), 8, 10);
    e = mq_dedup_find(d, "a.1", 20);
    assert_non_null(e);
    assert_int_equal(e->state, MQ_DEDUP_DONE);
    assert_string_equal(e->reply, "{\"ok\":1}");
    assert_int_equal(mq_dedup_bytes(d), 8);
    /* A cast is remembered without a reply. */
    e = mq_dedup_add(d, "a.2");
    mq_dedup_complete(d, e, NULL, 0, 10);
    assert_null(mq_dedup_find(d, "a.2", 20)->reply);
    mq_dedup_free(d);
}

static void test_dedup_bounds_by_count(void **state)
{
    struct mq_dedup *d = mq_dedup_new(100, 1 << 20, 1000000000);
    char id[32];

    (void)state;
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "x.%d", i);
        mq_dedup_complete(d, mq_dedup_add(d, id), xstrdup("r"), 1, i);
    }
    assert_int_equal(mq_dedup_count(d), 100);
    assert_null(mq_dedup_find(d, "x.899", 1000)); /* the oldest went first */
    assert_non_null(mq_dedup_find(d, "x.900", 1000));
    assert_non_null(mq_dedup_find(d, "x.999", 1000));
    mq_dedup_free(d);
}

static void test_dedup_bounds_by_bytes_and_age(void **state)
{
    struct mq_dedup *d = mq_dedup_new(1000, 100, 500);
    struct mq_dedup_entry *running;
    char id[32];

    (void)state;
    running = mq_dedup_add(d, "running");
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "b.%d", i);
        mq_dedup_complete(d, mq_dedup_add(d, id), xstrdup("0123456789"), 10, 100);
    }
    assert_true(mq_dedup_bytes(d) <= 100);
    assert_int_equal(mq_dedup_count(d), 11); /* 10 finished + the running one */
    /* A reply larger than the whole budget is not kept at all. */
    mq_dedup_complete(d, mq_dedup_add(d, "huge"), xcalloc(1, 200), 200, 100);
    assert_null(mq_dedup_find(d, "huge", 100));
    /* Age: finished entries older than the ttl go; running ones stay. */
    assert_null(mq_dedup_find(d, "b.19", 100 + 501));
    assert_int_equal(mq_dedup_count(d), 1);
    assert_ptr_equal(mq_dedup_find(d, "running", 1000000), running);
    mq_dedup_remove(d, running);
    assert_int_equal(mq_dedup_count(d), 0);
    mq_dedup_free(d);
}

static void test_dedup_many_ids_grow(void **state)
{
    struct mq_dedup *d = mq_dedup_new(100000, 1 << 30, 1000000000);
    char id[32];

    (void)state;
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "grow.%d", i);
        mq_dedup_add(d, id);
    }
    for (int i = 0; i < 20000; i += 997) {
        snprintf(id, sizeof(id), "grow.%d", i);
        assert_non_null(mq_dedup_find(d, id, 0));
    }
    assert_null(mq_dedup_find(d, "grow.20000", 0));
    mq_dedup_free(d);
}

/* ------------------------------------------------------------- timers */

struct tnode {
    struct timer t;
    int fired;
};

static int64_t last_fired;

static void on_fire(struct mq *mq, struct timer *t, int64_t now)
{
    (void)mq;
    (void)now;
    assert_true(t->at == 0); /* disarmed before the callback */
    ((struct tnode *)t)->fired++;
}

static void test_timers_order_move_cancel(void **state)
{
    enum { N = 500 };
    struct tnode *n = xcalloc(N, sizeof(*n));
    struct timers ts = {0};
    uint64_t x = 88172645463325252ULL;

    (void)state;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        n[i].t.fire = on_fire;
        mq_timer_set(&ts, &n[i].t, 1 + (int64_t)(x % 100000));
    }
    for (int i = 0; i < N; i += 3)
        mq_timer_cancel(&ts, &n[i].t);
    for (int i = 1; i < N; i += 3)
        mq_timer_set(&ts, &n[i].t, 200000 + i); /* moved later */
    assert_int_equal(ts.n, N - (N + 2) / 3);
    /* Pop in order and check monotonic deadlines. */
    last_fired = 0;
    while (ts.n) {
        int64_t at = mq_timer_next(&ts);

        assert_true(at >= last_fired);
        last_fired = at;
        mq_timers_run(NULL, &ts, at);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(n[i].fired, i % 3 == 0 ? 0 : 1);
    assert_int_equal(mq_timer_next(&ts), 0);
    mq_timers_free(&ts);
    free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedup_running_then_done),
        cmocka_unit_test(test_dedup_bounds_by_count),
        cmocka_unit_test(test_dedup_bounds_by_bytes_and_age),
        cmocka_unit_test(test_dedup_many_ids_grow),
        cmocka_unit_test(test_timers_order_move_cancel),
    };

    xalloc_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

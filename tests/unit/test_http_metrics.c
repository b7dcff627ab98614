/* Unit tests for http/metrics: the Prometheus text format, labels,
 * histograms, the series ceiling and concurrent updates. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/metrics.h"

static char *render(struct metrics *m)
{
    struct buf b;
    size_t len;

    buf_init(&b, 1 << 24);
    assert_int_equal(metrics_render(m, &b), 0);
    return buf_take(&b, &len);
}

static double seven(void *arg)
{
    (void)arg;
    return 7;
}

static void test_exposition_format(void **state)
{
    struct metrics *m = metrics_new();
    struct metrics_family *req = metrics_counter(m, "http_requests_total", "Requests.",
                                                 (const char *const[]){"route", "status", NULL});
    struct metrics_family *up = metrics_gauge(m, "up", "Up\nwith \\ help.", NULL);
    char *text;

    (void)state;
    metrics_inc(metrics_series(req, (const char *const[]){"/v1/boards", "200"}));
    metrics_add(metrics_series(req, (const char *const[]){"/v1/boards", "200"}), 2);
    metrics_inc(metrics_series(req, (const char *const[]){"a\"b\\c\nd", "404"}));
    metrics_set(metrics_series(up, NULL), 1.5);
    metrics_gauge_fn(m, "queue_depth", "Waiting jobs.", seven, NULL);
    text = render(m);
    assert_string_equal(text, "# HELP http_requests_total Requests.\n"
                              "# TYPE http_requests_total counter\n"
                              "http_requests_total{route=\"/v1/boards\",status=\"200\"} 3\n"
                              "http_requests_total{route=\"a\\\"b\\\\c\\nd\",status=\"404\"} 1\n"
                              "# HELP up Up\\nwith \\\\ help.\n"
                              "# TYPE up gauge\n"
                              "up 1.5\n"
                              "# HELP queue_depth Waiting jobs.\n"
                              "# TYPE queue_depth gauge\n"
                              "queue_depth 7\n");
    free(text);
    /* Registering again returns the same family. */
    assert_ptr_equal(metrics_gauge(m, "up", "other help", NULL), up);
    metrics_free(m);
}

static void test_histogram_buckets_are_cumulative(void **state)
{
    static const double bounds[] = {0.1, 1, 10};
    struct metrics *m = metrics_new();
    struct metrics_family *h = metrics_histogram(m, "lat_seconds", "Latency.",
                                                 (const char *const[]){"op", NULL}, bounds, 3);
    struct metrics_series *s = metrics_series(h, (const char *const[]){"get"});
    char *text;

    (void)state;
    metrics_observe(s, 0.05);
    metrics_observe(s, 0.1); /* on the bound: counted in le="0.1" */
    metrics_observe(s, 5);
    metrics_observe(s, 50);
    text = render(m);
    assert_non_null(strstr(text, "lat_seconds_bucket{op=\"get\",le=\"0.10000000000000001\"} 2\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{op=\"get\",le=\"1\"} 2\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{op=\"get\",le=\"10\"} 3\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(text, "lat_seconds_sum{op=\"get\"} 55.149999999999999\n"));
    assert_non_null(strstr(text, "lat_seconds_count{op=\"get\"} 4\n"));
    free(text);
    metrics_free(m);
}

static void test_series_ceiling_uses_an_overflow_series(void **state)
{
    struct metrics *m = metrics_new();
    struct metrics_family *f =
        metrics_counter(m, "c_total", "C.", (const char *const[]){"k", NULL});
    char v[32], *text;

    (void)state;
    for (int i = 0; i < METRICS_MAX_SERIES + 50; i++) {
        snprintf(v, sizeof(v), "v%d", i);
        metrics_inc(metrics_series(f, (const char *const[]){v}));
    }
    text = render(m);
    assert_non_null(strstr(text, "c_total{k=\"_overflow\"} 50\n"));
    assert_null(strstr(text, "k=\"v1030\""));
    free(text);
    metrics_free(m);
}

struct hammer {
    struct metrics_family *f;
    struct metrics_series *h;
};

static void *hammer_run(void *arg)
{
    struct hammer *hm = arg;
    char v[8];

    for (int i = 0; i < 20000; i++) {
        snprintf(v, sizeof(v), "%d", i % 5);
        metrics_inc(metrics_series(hm->f, (const char *const[]){v}));
        metrics_observe(hm->h, 0.001);
    }
    return NULL;
}

static void test_concurrent_updates_are_not_lost(void **state)
{
    struct metrics *m = metrics_new();
    struct hammer hm = {
        metrics_counter(m, "n_total", "N.", (const char *const[]){"k", NULL}),
        metrics_series(metrics_histogram(m, "h", "H.", NULL, NULL, 0), NULL),
    };
    pthread_t t[4];
    char *text;

    (void)state;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer_run, &hm);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < 5; k++) {
        char v[16];

        snprintf(v, sizeof(v), "%d", k);
        assert_true(metrics_value(metrics_series(hm.f, (const char *const[]){v})) == 16000);
    }
    text = render(m);
    assert_non_null(strstr(text, "h_count 80000\n"));
    free(text);
    metrics_free(m);
}

static void test_render_respects_the_buffer_limit(void **state)
{
    struct metrics *m = metrics_new();
    struct buf b;

    (void)state;
    metrics_counter(m, "a_total", "A long enough help text.", NULL);
    buf_init(&b, 16);
    assert_int_equal(metrics_render(m, &b), -E2BIG);
    buf_free(&b);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exposition_format),
        cmocka_unit_test(test_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_series_ceiling_uses_an_overflow_series),
        cmocka_unit_test(test_concurrent_updates_are_not_lost),
        cmocka_unit_test(test_render_respects_the_buffer_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

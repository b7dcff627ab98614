/* Unit tests for src/fn_store: the execution records of deviceless-api.md
 * 3.6, written on a real worker pool and event loop. */
#include <dirent.h>
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

#include "common/json.h"
#include "common/xalloc.h"
#include "loop/loop.h"
#include "src/fn_fs.h"
#include "src/fn_store.h"

#define ID1 "3f2a0c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
#define ID2 "4f2a0c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
#define ID3 "5f2a0c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"

struct env {
    struct loop *loop;
    struct wq *wq;
    char *dir;
    int calls, last_rc;
    cJSON *read;
    int found_accepted, found_finished;
    char found_result[64];
};

static int setup(void **state)
{
    struct env *e = xcalloc(1, sizeof(*e));
    struct loop_opts lo = {.name = "test"};
    struct wq_hooks h;
    char tmpl[] = "/tmp/test_fn_store.XXXXXX";

    assert_int_equal(loop_new(&lo, &e->loop, NULL), 0);
    h = loop_wq_hooks(e->loop, NULL, NULL, NULL);
    e->wq = wq_new(2, 0, &h);
    loop_set_wq(e->loop, e->wq);
    assert_non_null(mkdtemp(tmpl));
    e->dir = xasprintf("%s/executions", tmpl);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    char *parent = xstrdup(e->dir);

    *strrchr(parent, '/') = '\0';
    loop_set_wq(e->loop, NULL);
    wq_free(e->wq);
    loop_free(e->loop);
    assert_int_equal(fn_fs_rmtree(parent, NULL), 0);
    free(parent);
    free(e->dir);
    free(e);
    return 0;
}

static void wait_calls(struct env *e, int n)
{
    while (e->calls < n)
        ev_run(loop_ev(e->loop), EVRUN_ONCE);
}

static void wait_idle(struct env *e, struct fn_store *s)
{
    while (fn_store_busy(s) > 0)
        ev_run(loop_ev(e->loop), EVRUN_ONCE);
}

static void on_durable(void *arg, int rc)
{
    struct env *e = arg;

    e->calls++;
    e->last_rc = rc;
}

static void on_read(void *arg, cJSON *result)
{
    struct env *e = arg;

    e->calls++;
    e->read = result;
}

static cJSON *file_json(struct env *e, const char *id)
{
    char *path = xasprintf("%s/%s.json", e->dir, id), *text = NULL;
    cJSON *j = NULL;
    size_t len;

    if (fn_fs_read_file(path, 1 << 20, &text, &len, NULL) == 0)
        j = cJSON_ParseWithLength(text, len);
    free(text);
    free(path);
    return j;
}

static void test_accept_finish_read_back(void **state)
{
    struct env *e = *state;
    struct fn_store *s;
    cJSON *result = cJSON_Parse("{\"execution_id\": \"" ID1 "\", \"status\": \"success\"}");
    cJSON *f, *known;
    const struct fn_rec_info *info;

    assert_int_equal(fn_store_new(loop_ev(e->loop), e->wq, e->dir, 86400, &s, NULL), 0);
    assert_int_equal(fn_store_accept(s, ID1, 1000, NULL, on_durable, e), 0);
    info = fn_store_get(s, ID1); /* known at once, before the write */
    assert_non_null(info);
    assert_int_equal(info->state, FN_REC_ACCEPTED);
    assert_int_equal(fn_store_accept(s, ID1, 1000, NULL, NULL, NULL), -EEXIST);
    wait_calls(e, 1);
    assert_int_equal(e->last_rc, 0);
    f = file_json(e, ID1);
    assert_string_equal(cJSON_GetObjectItem(f, "state")->valuestring, "accepted");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f, "result")));
    cJSON_Delete(f);
    fn_store_finish(s, ID1, result, on_durable, e);
    wait_calls(e, 2);
    assert_int_equal(fn_store_get(s, ID1)->state, FN_REC_FINISHED);
    known = fn_store_known(s);
    assert_int_equal(cJSON_GetArraySize(known), 1);
    cJSON_Delete(known);
    fn_store_read_result(s, ID1, on_read, e);
    wait_calls(e, 3);
    assert_non_null(e->read);
    assert_true(cJSON_Compare(e->read, result, 1));
    cJSON_Delete(e->read);
    assert_null(fn_store_get(s, ID2));
    wait_idle(e, s);
    fn_store_free(s);
    cJSON_Delete(result);
}

static void on_found(void *arg, const char *id, const struct fn_rec_info *info, const cJSON *local,
                     const cJSON *result)
{
    struct env *e = arg;

    /* Both unacknowledged records were local-loop ones, with their fields. */
    assert_true(info->local);
    assert_string_equal(cJSON_GetObjectItem(local, "trigger_id")->valuestring, "t1");
    if (info->state == FN_REC_ACCEPTED) {
        e->found_accepted++;
        assert_null(result);
        return;
    }
    e->found_finished++;
    assert_non_null(result);
    snprintf(e->found_result, sizeof(e->found_result), "%s:%s", id,
             cJSON_GetObjectItem(result, "status")->valuestring);
}

static void on_loaded(void *arg)
{
    ((struct env *)arg)->calls++;
}

static int count_files(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    while ((de = readdir(d)) != NULL)
        n += strstr(de->d_name, part) != NULL;
    closedir(d);
    return n;
}

static void test_records_survive_and_expire(void **state)
{
    struct env *e = *state;
    struct fn_store *s;
    cJSON *result = cJSON_Parse("{\"status\": \"failed\"}"), *f;
    cJSON *local = cJSON_Parse("{\"trigger_id\": \"t1\", \"firing_seq\": 7}");
    char *junk;

    assert_int_equal(fn_store_new(loop_ev(e->loop), e->wq, e->dir, 0, &s, NULL), 0);
    assert_int_equal(fn_store_accept(s, ID1, 1, local, NULL, NULL), 0);
    assert_int_equal(fn_store_accept(s, ID2, 2, local, NULL, NULL), 0);
    assert_int_equal(fn_store_accept(s, ID3, 3, NULL, NULL, NULL), 0);
    fn_store_finish(s, ID2, result, NULL, NULL);
    fn_store_finish(s, ID3, result, NULL, NULL);
    fn_store_ack(s, ID3);
    wait_idle(e, s);
    fn_store_free(s);
    /* Debris of a crash, and a record that does not parse. */
    junk = xasprintf("%s/%s.json.tmp-123", e->dir, ID1);
    assert_int_equal(fn_fs_write_file(junk, "x", 1, 0600, NULL), 0);
    free(junk);
    junk = xasprintf("%s/6f2a0c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b.json", e->dir);
    assert_int_equal(fn_fs_write_file(junk, "{trunc", 6, 0600, NULL), 0);
    free(junk);

    assert_int_equal(fn_store_new(loop_ev(e->loop), e->wq, e->dir, 0, &s, NULL), 0);
    e->calls = 0;
    fn_store_load(s, on_found, on_loaded, e);
    wait_calls(e, 1);
    assert_int_equal(e->found_accepted, 1);
    assert_int_equal(e->found_finished, 1);
    assert_string_equal(e->found_result, ID2 ":failed");
    assert_int_equal(count_files(e->dir, ".tmp-"), 0);
    assert_int_equal(count_files(e->dir, ".corrupt-"), 1);
    assert_true(fn_store_get(s, ID2)->local);
    /* ID3 was acknowledged with a retention of 0: the load's sweep took it. */
    wait_idle(e, s);
    assert_null(fn_store_get(s, ID3));
    assert_null(file_json(e, ID3));
    fn_store_ack(s, ID2);
    wait_idle(e, s);
    f = file_json(e, ID2);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(f, "acked_at")) ||
                cJSON_IsRaw(cJSON_GetObjectItem(f, "acked_at")));
    assert_non_null(cJSON_GetObjectItem(f, "result"));
    cJSON_Delete(f);
    assert_int_equal(fn_store_sweep(s), 1);
    wait_idle(e, s);
    assert_null(file_json(e, ID2));
    assert_int_equal(fn_store_count(s), 1); /* ID1, still accepted */
    fn_store_free(s);
    cJSON_Delete(result);
    cJSON_Delete(local);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accept_finish_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_survive_and_expire, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for amqp/envelope: request and reply bodies, every malformed
 * shape refused with a reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "amqp/envelope.h"
#include "common/json.h"
#include "common/xalloc.h"

static void test_request_roundtrip(void **state)
{
    cJSON *args = cJSON_Parse("{\"board\":\"b1\",\"n\":[1,2,{\"x\":null}]}");
    struct mq_request_env e;
    struct error err;
    size_t len;
    char *text;

    (void)state;
    text = mq_env_request_encode("create_board", args, "req-42", 1795000000123LL, &len);
    assert_int_equal(len, strlen(text));
    assert_int_equal(mq_env_request_decode(text, len, &e, &err), 0);
    assert_string_equal(e.method, "create_board");
    assert_true(cJSON_Compare(e.args, args, 1));
    assert_string_equal(e.request_id, "req-42");
    assert_true(e.deadline_ms == 1795000000123LL);
    mq_env_request_clear(&e);
    assert_null(e.root);
    free(text);
    cJSON_Delete(args); /* encoding borrowed it */
}

static void test_request_defaults(void **state)
{
    static const char body[] = "{\"v\":1,\"method\":\"status\",\"future\":[1]}";
    struct mq_request_env e;
    struct error err;
    char *text;
    size_t len;

    (void)state;
    assert_int_equal(mq_env_request_decode(body, strlen(body), &e, &err), 0);
    assert_true(cJSON_IsObject(e.args));
    assert_null(e.args->child);
    assert_string_equal(e.request_id, "");
    assert_int_equal(e.deadline_ms, 0);
    mq_env_request_clear(&e);
    /* An invalid request id is replaced by a fresh one; NULL args become {}. */
    text = mq_env_request_encode("status", NULL, "bad id with spaces", 0, &len);
    assert_int_equal(mq_env_request_decode(text, len, &e, &err), 0);
    assert_memory_equal(e.request_id, "req-", 4);
    assert_int_equal(strlen(e.request_id), 4 + 36);
    mq_env_request_clear(&e);
    free(text);
}

static void test_request_refuses_malformed(void **state)
{
    static const struct {
        const char *body, *why;
    } bad[] = {
        {"", "empty"},
        {"not json", "invalid JSON"},
        {"{\"v\":1,\"method\":\"m\"} trailing", "trailing"},
        {"[1,2]", "not a JSON object"},
        {"\"v\"", "not a JSON object"},
        {"{\"method\":\"m\"}", "missing v"},
        {"{\"v\":2,\"method\":\"m\"}", "unsupported envelope version 2"},
        {"{\"v\":\"1\",\"method\":\"m\"}", "v must be an integer"},
        {"{\"v\":1.5,\"method\":\"m\"}", "v must be an integer"},
        {"{\"v\":1}", "missing method"},
        {"{\"v\":1,\"method\":\"\"}", "method must be"},
        {"{\"v\":1,\"method\":7}", "method must be a string"},
        {"{\"v\":1,\"method\":\"a b\"}", "method must be"},
        {"{\"v\":1,\"method\":null}", "method must not be null"},
        {"{\"v\":1,\"method\":\"m\",\"args\":[1]}", "args must be an object"},
        {"{\"v\":1,\"method\":\"m\",\"args\":\"x\"}", "args must be an object"},
        {"{\"v\":1,\"method\":\"m\",\"args\":null}", "args must not be null"},
        {"{\"v\":1,\"method\":\"m\",\"request_id\":5}", "request_id must be a string"},
        {"{\"v\":1,\"method\":\"m\",\"request_id\":\"a\\\"b\"}", "request_id has characters"},
        {"{\"v\":1,\"method\":\"m\",\"deadline_ms\":-1}", "deadline_ms must be an integer"},
        {"{\"v\":1,\"method\":\"m\",\"deadline_ms\":1e300}", "deadline_ms must be an integer"},
        {"{\"v\":1,\"method\":\"m\",\"deadline_ms\":\"soon\"}", "deadline_ms must be an integer"},
    };
    struct mq_request_env e;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error_clear(&err);
        assert_int_equal(mq_env_request_decode(bad[i].body, strlen(bad[i].body), &e, &err),
                         -EINVAL);
        assert_null(e.root);
        if (strstr(err.msg, bad[i].why) == NULL)
            fail_msg("body %zu (%s): got \"%s\", want \"%s\"", i, bad[i].body, err.msg, bad[i].why);
    }
}

static void test_request_method_limits(void **state)
{
    char method[MQ_METHOD_MAX + 2];
    char body[MQ_METHOD_MAX + 64];
    struct mq_request_env e;
    struct error err;

    (void)state;
    memset(method, 'm', MQ_METHOD_MAX);
    method[MQ_METHOD_MAX] = '\0';
    assert_true(mq_env_method_ok(method));
    snprintf(body, sizeof(body), "{\"v\":1,\"method\":\"%s\"}", method);
    assert_int_equal(mq_env_request_decode(body, strlen(body), &e, &err), 0);
    mq_env_request_clear(&e);
    method[MQ_METHOD_MAX] = 'm';
    method[MQ_METHOD_MAX + 1] = '\0';
    assert_false(mq_env_method_ok(method));
    snprintf(body, sizeof(body), "{\"v\":1,\"method\":\"%s\"}", method);
    assert_int_equal(mq_env_request_decode(body, strlen(body), &e, &err), -EINVAL);
    assert_true(mq_env_method_ok("stack4things.function_result"));
    assert_true(mq_env_method_ok("a-b_c:d"));
    assert_false(mq_env_method_ok("é"));
    /* A body with an embedded NUL is not valid JSON text. */
    assert_int_equal(mq_env_request_decode("{\"v\":1,\"method\":\"m\"}\0x", 23, &e, &err), -EINVAL);
}

static void test_reply_ok_roundtrip(void **state)
{
    cJSON *result = cJSON_Parse("{\"uuid\":\"u1\",\"list\":[true,false]}");
    struct mq_reply_env r;
    struct error err;
    size_t len;
    char *text;

    (void)state;
    text = mq_env_reply_ok(result, &len);
    assert_int_equal(mq_env_reply_decode(text, len, &r, &err), 0);
    assert_true(r.ok);
    assert_true(cJSON_Compare(r.result, result, 1));
    mq_env_reply_clear(&r);
    free(text);
    cJSON_Delete(result);
    text = mq_env_reply_ok(NULL, &len);
    assert_string_equal(text, "{\"v\":1,\"ok\":true,\"result\":null}");
    free(text);
    assert_int_equal(mq_env_reply_decode("{\"v\":1,\"ok\":true}", 17, &r, &err), 0);
    assert_true(cJSON_IsNull(r.result));
    mq_env_reply_clear(&r);
}

static void test_reply_error_roundtrip(void **state)
{
    cJSON *data = cJSON_Parse("{\"field\":\"name\"}");
    struct mq_reply_env r;
    struct error err;
    size_t len;
    char *text;

    (void)state;
    text = mq_env_reply_error(-EINVAL, 400, "Board b1 is not connected.", data, &len);
    assert_int_equal(mq_env_reply_decode(text, len, &r, &err), 0);
    assert_false(r.ok);
    assert_int_equal(r.errnum, EINVAL);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.message, "Board b1 is not connected.");
    assert_true(cJSON_Compare(r.data, data, 1));
    mq_env_reply_clear(&r);
    free(text);
    cJSON_Delete(data);
    /* Clamping: errno 0 becomes EIO, a status outside 100..599 becomes 0,
     * no message becomes strerror. */
    text = mq_env_reply_error(0, 42, NULL, NULL, &len);
    assert_int_equal(mq_env_reply_decode(text, len, &r, &err), 0);
    assert_int_equal(r.errnum, EIO);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.message, strerror(EIO));
    assert_null(r.data);
    mq_env_reply_clear(&r);
    free(text);
}

static void test_reply_error_message_cut_on_utf8(void **state)
{
    char *msg = xmalloc(MQ_ERRMSG_MAX + 8);
    struct mq_reply_env r;
    struct error err;
    size_t len;
    char *text;

    (void)state;
    /* "é" is two bytes; an odd prefix puts a boundary in the middle of one. */
    msg[0] = 'x';
    for (size_t i = 1; i + 1 < MQ_ERRMSG_MAX + 6; i += 2)
        memcpy(msg + i, "\xc3\xa9", 2);
    msg[MQ_ERRMSG_MAX + 5] = '\0';
    text = mq_env_reply_error(EIO, 500, msg, NULL, &len);
    assert_int_equal(mq_env_reply_decode(text, len, &r, &err), 0);
    assert_true(strlen(r.message) <= MQ_ERRMSG_MAX);
    assert_true(strlen(r.message) >= MQ_ERRMSG_MAX - 1);
    assert_int_equal(strlen(r.message) % 2, 1); /* 'x' plus whole "é"s */
    mq_env_reply_clear(&r);
    free(text);
    free(msg);
}

static void test_reply_refuses_malformed(void **state)
{
    static const struct {
        const char *body, *why;
    } bad[] = {
        {"", "empty"},
        {"{", "invalid JSON"},
        {"null", "not a JSON object"},
        {"{\"ok\":true}", "missing v"},
        {"{\"v\":3,\"ok\":true}", "unsupported envelope version"},
        {"{\"v\":1}", "missing ok"},
        {"{\"v\":1,\"ok\":1}", "ok must be a boolean"},
        {"{\"v\":1,\"ok\":false}", "missing error"},
        {"{\"v\":1,\"ok\":false,\"error\":\"x\"}", "error must be an object"},
        {"{\"v\":1,\"ok\":false,\"error\":{\"message\":\"m\"}}", "missing errno"},
        {"{\"v\":1,\"ok\":false,\"error\":{\"errno\":0,\"message\":\"m\"}}", "errno must be"},
        {"{\"v\":1,\"ok\":false,\"error\":{\"errno\":4096,\"message\":\"m\"}}", "errno must be"},
        {"{\"v\":1,\"ok\":false,\"error\":{\"errno\":\"5\",\"message\":\"m\"}}", "errno must be"},
        {"{\"v\":1,\"ok\":false,\"error\":{\"errno\":5}}", "missing message"},
        {"{\"v\":1,\"ok\":false,\"error\":{\"errno\":5,\"message\":1}}", "message must be"},
        {"{\"v\":1,\"ok\":false,\"error\":{\"errno\":5,\"message\":\"m\",\"status\":99}}",
         "status must be 0 or 100..599"},
        {"{\"v\":1,\"ok\":false,\"error\":{\"errno\":5,\"message\":\"m\",\"status\":600}}",
         "status must be"},
    };
    struct mq_reply_env r;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error_clear(&err);
        assert_int_equal(mq_env_reply_decode(bad[i].body, strlen(bad[i].body), &r, &err), -EINVAL);
        assert_null(r.root);
        if (strstr(err.msg, bad[i].why) == NULL)
            fail_msg("reply %zu (%s): got \"%s\", want \"%s\"", i, bad[i].body, err.msg,
                     bad[i].why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_roundtrip),
        cmocka_unit_test(test_request_defaults),
        cmocka_unit_test(test_request_refuses_malformed),
        cmocka_unit_test(test_request_method_limits),
        cmocka_unit_test(test_reply_ok_roundtrip),
        cmocka_unit_test(test_reply_error_roundtrip),
        cmocka_unit_test(test_reply_error_message_cut_on_utf8),
        cmocka_unit_test(test_reply_refuses_malformed),
    };

    xalloc_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

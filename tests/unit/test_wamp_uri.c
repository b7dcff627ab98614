/* Unit tests for wamp/uri.h: the URI rule of board-protocol.md 3.3, board
 * procedure names (6.1), callee names (5) and board topics (5.9). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wamp/uri.h"

#define UUID "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52"

static void test_uri_rule(void **state)
{
    static const char *const good[] = {
        "a",
        "s4t",
        "wamp.error.not_authorized",
        "iotronic.4739282046471166." UUID ".DevicePing",
        "wagent-1.stack4things.connection",
        "A.B_c-d@e",
        "caf\xc3\xa9.x",
    };
    static const struct {
        const char *uri;
        const char *msg;
    } bad[] = {
        {"", "URI must be 1 to 255 bytes, not 0"},
        {".a", "empty component at byte 0"},
        {"a.", "ends with an empty component"},
        {"a..b", "empty component at byte 2"},
        {"a b", "forbidden character at byte 1"},
        {"a\tb", "forbidden character"},
        {"a#b", "forbidden character at byte 1"},
        {"a.\xc2\xa0", "forbidden character at byte 2"}, /* U+00A0 */
        {"a\xe3\x80\x80"
         "b",
         "forbidden character at byte 1"}, /* U+3000 */
        {"a\x7f", "forbidden character"},
        {"a\xff", "not valid UTF-8"},
    };
    char long_ok[256], long_bad[257];
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(wamp_uri_check(good[i], &err), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(wamp_uri_check(bad[i].uri, &err), -EINVAL);
        if (strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].uri, err.msg, bad[i].msg);
    }
    memset(long_ok, 'a', 255);
    long_ok[255] = '\0';
    memset(long_bad, 'a', 256);
    long_bad[256] = '\0';
    assert_int_equal(wamp_uri_check(long_ok, &err), 0);
    assert_int_equal(wamp_uri_check(long_bad, &err), -EINVAL);
    assert_string_equal(err.msg, "URI must be 1 to 255 bytes, not 256");
}

static void test_method_rule(void **state)
{
    static const char *const good[] = {"DevicePing", "a", "A_1", "GpioWrite2"};
    static const char *const bad[] = {"", "1a", "_a", "a-b", "a.b", "a b", "\xc3\xa9"};
    char longest[WAMP_METHOD_MAX + 2];

    (void)state;
    memset(longest, '_', sizeof(longest));
    longest[0] = 'M';
    assert_true(wamp_method_valid(longest, WAMP_METHOD_MAX));
    assert_false(wamp_method_valid(longest, WAMP_METHOD_MAX + 1));
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(wamp_method_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(wamp_method_valid(bad[i], strlen(bad[i])));
}

static void test_board_procedure_names(void **state)
{
    static const struct {
        const char *uri;
        const char *msg;
    } bad[] = {
        {"stack4things.register", "no iotronic. prefix"},
        {"iotronic.board." UUID ".t", "invalid session id"},
        {"iotronic.0." UUID ".DevicePing", "invalid session id"},
        {"iotronic.01." UUID ".DevicePing", "invalid session id"},
        {"iotronic.9007199254740993." UUID ".DevicePing", "invalid session id"},
        {"iotronic.-1." UUID ".DevicePing", "invalid session id"},
        {"iotronic.1.6B1F0C1E-6F0E-4C43-9D8E-0C3F7D1B9A52.DevicePing", "invalid board UUID"},
        {"iotronic.1.6b1f0c1e6f0e4c439d8e0c3f7d1b9a52.DevicePing", "invalid board UUID"},
        {"iotronic.1." UUID ".Device.Ping", "invalid method name"},
        {"iotronic.1." UUID ".1Ping", "invalid method name"},
        {"iotronic.1." UUID, "too few components"},
        {"iotronic.1", "too few components"},
    };
    struct wamp_board_proc p;
    char out[WAMP_URI_MAX + 1];
    struct error err;

    (void)state;
    assert_int_equal(
        wamp_board_proc_parse("iotronic.4739282046471166." UUID ".DevicePing", &p, &err), 0);
    assert_true(p.session == 4739282046471166ULL);
    assert_string_equal(p.uuid, UUID);
    assert_string_equal(p.method, "DevicePing");
    assert_int_equal(wamp_board_proc_parse("iotronic.9007199254740992." UUID ".x", &p, &err), 0);
    assert_true(p.session == ((uint64_t)1 << 53));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(wamp_board_proc_parse(bad[i].uri, &p, &err), -EINVAL);
        if (strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].uri, err.msg, bad[i].msg);
    }
    assert_int_equal(wamp_board_proc_build(4739282046471166ULL, UUID, "GpioWrite", out, &err),
                     (int)strlen("iotronic.4739282046471166." UUID ".GpioWrite"));
    assert_string_equal(out, "iotronic.4739282046471166." UUID ".GpioWrite");
    assert_int_equal(wamp_board_proc_build(0, UUID, "GpioWrite", out, &err), -EINVAL);
    assert_int_equal(wamp_board_proc_build(1, "bench-07", "GpioWrite", out, &err), -EINVAL);
    assert_int_equal(wamp_board_proc_build(1, UUID, "Gpio.Write", out, &err), -EINVAL);
}

static void test_callee_names(void **state)
{
    static const struct {
        const char *uri;
        enum wamp_callee id;
        const char *agent; /* NULL: none */
    } good[] = {
        {"stack4things.register", WAMP_CALLEE_REGISTER, NULL},
        {"wagent-1.stack4things.connection", WAMP_CALLEE_CONNECTION, "wagent-1"},
        {"other.example.org.stack4things.wamp_alive", WAMP_CALLEE_WAMP_ALIVE, "other.example.org"},
        {"stack4things.notify_result", WAMP_CALLEE_NOTIFY_RESULT, NULL},
        {"a.stack4things.echo", WAMP_CALLEE_ECHO, "a"},
        {"a.stack4things.alive", WAMP_CALLEE_ALIVE, "a"},
        {"stack4things.function_result", WAMP_CALLEE_FUNCTION_RESULT, NULL},
        {"w.stack4things.event", WAMP_CALLEE_EVENT, "w"},
    };
    static const char *const none[] = {
        "stack4things",
        "stack4things.",
        "stack4things.plug_and_play",
        "wagent-1.s4t.connection",
        "xstack4things.register",
        "stack4things.register.x",
        "s4t.iotronic.board.connection",
        "wamp.session.list",
        "stack4things.stack4things",
    };
    struct wamp_callee_name c;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(wamp_callee_parse(good[i].uri, &c), 0);
        assert_int_equal(c.id, good[i].id);
        assert_string_equal(c.name, wamp_callee_str(good[i].id));
        if (good[i].agent == NULL) {
            assert_null(c.agent);
            assert_int_equal(c.agent_len, 0);
        } else {
            assert_int_equal(c.agent_len, strlen(good[i].agent));
            assert_memory_equal(c.agent, good[i].agent, c.agent_len);
        }
    }
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        assert_int_equal(wamp_callee_parse(none[i], &c), -ENOENT);
    assert_null(wamp_callee_str((enum wamp_callee)99));
}

static void test_board_topics(void **state)
{
    char uuid[UUID_STR_LEN];

    (void)state;
    assert_int_equal(wamp_board_topic_parse("iotronic.board." UUID ".temp", uuid), 0);
    assert_string_equal(uuid, UUID);
    assert_int_equal(wamp_board_topic_parse("iotronic.board." UUID ".a.b", uuid), 0);
    assert_int_equal(wamp_board_topic_parse("iotronic.board." UUID, uuid), -ENOENT);
    assert_int_equal(wamp_board_topic_parse("iotronic.board." UUID ".", uuid), -ENOENT);
    assert_int_equal(wamp_board_topic_parse("iotronic.board.bench-07.temp", uuid), -ENOENT);
    assert_int_equal(wamp_board_topic_parse("iotronic.boards." UUID ".t", uuid), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_rule),
        cmocka_unit_test(test_method_rule),
        cmocka_unit_test(test_board_procedure_names),
        cmocka_unit_test(test_callee_names),
        cmocka_unit_test(test_board_topics),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

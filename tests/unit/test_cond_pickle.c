/* Unit tests for conductor/pickle: the protocol-0 pickle text of 2.14.3 and
 * the choice of encoding by lr_version. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "conductor/pickle.h"

static void test_pickle_vectors(void **state)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        /* The contract's example: 31 characters. */
        {"print(\"h\xc3\xa9\")\nx=1", "Vprint(\"h\\u00e9\")\\u000ax=1\np0\n."},
        {"", "V\np0\n."},
        {"a\\b", "Va\\u005cb\np0\n."},
        {"cr\rsub\x1a", "Vcr\\u000dsub\\u001a\np0\n."},
        {"tab\tok", "Vtab\tok\np0\n."},
        {"\xe2\x82\xac", "V\\u20ac\np0\n."},         /* U+20AC */
        {"\xf0\x9f\x98\x80", "V\\U0001f600\np0\n."}, /* U+1F600 */
        {"\xc3\xbf", "V\\u00ff\np0\n."},             /* U+00FF */
        {"bad\xff", "Vbad\\ufffd\np0\n."},           /* invalid byte */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct buf b;

        buf_init(&b, 4096);
        assert_int_equal(cond_pickle_p0(v[i].in, &b), 0);
        assert_string_equal(b.data, v[i].out);
        buf_free(&b);
    }
}

static void test_pickle_example_is_31_chars(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(cond_pickle_p0("print(\"h\xc3\xa9\")\nx=1", &b), 0);
    assert_int_equal(b.len, 31);
    for (size_t i = 0; i < b.len; i++)
        assert_true((unsigned char)b.data[i] < 0x80);
    buf_free(&b);
}

static void test_unpickle_roundtrip(void **state)
{
    static const char *const src[] = {"", "print(\"h\xc3\xa9\")\nx=1\r\n\\n",
                                      "\xf0\x9f\x98\x80 and \xe2\x82\xac"};

    (void)state;
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        struct buf p, u;

        buf_init(&p, 4096);
        buf_init(&u, 4096);
        assert_int_equal(cond_pickle_p0(src[i], &p), 0);
        assert_int_equal(cond_unpickle_p0(p.data, &u), 0);
        assert_string_equal(u.len ? u.data : "", src[i]);
        buf_free(&p);
        buf_free(&u);
    }
}

static void test_unpickle_refuses_garbage(void **state)
{
    struct buf u;

    (void)state;
    buf_init(&u, 4096);
    assert_int_equal(cond_unpickle_p0("no pickle", &u), -EINVAL);
    assert_int_equal(cond_unpickle_p0("Vx\\u12", &u), -EINVAL);
    assert_int_equal(cond_unpickle_p0("V\\u12zz\np0\n.", &u), -EINVAL);
    assert_int_equal(cond_unpickle_p0("V\\ud800\np0\n.", &u), -EINVAL);
    buf_free(&u);
}

static void test_pickle_respects_buffer_limit(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(cond_pickle_p0("0123456789", &b), -E2BIG);
    buf_free(&b);
}

static void test_lr_version_selects_encoding(void **state)
{
    (void)state;
    assert_true(cond_lr_is_python("0.5.0"));
    assert_true(cond_lr_is_python("0.4.17"));
    assert_true(cond_lr_is_python("0.5.1.dev3"));
    assert_true(cond_lr_is_python("lr-freedom-1"));
    assert_false(cond_lr_is_python("lrc-0.1.0"));
    assert_false(cond_lr_is_python(NULL));
    assert_false(cond_lr_is_python(""));
    assert_false(cond_lr_is_python("v1.0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pickle_vectors),
        cmocka_unit_test(test_pickle_example_is_31_chars),
        cmocka_unit_test(test_unpickle_roundtrip),
        cmocka_unit_test(test_unpickle_refuses_garbage),
        cmocka_unit_test(test_pickle_respects_buffer_limit),
        cmocka_unit_test(test_lr_version_selects_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

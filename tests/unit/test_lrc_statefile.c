/* Unit tests for src/statefile: atomic writes with a kept copy, corruption
 * handling on load, and the serialised writer (board-protocol.md 10.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "src/statefile.h"

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/lrc-statefile-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/settings.json", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *de;
    char p[512];

    while (d != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
        unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void put(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static char *get(const char *path)
{
    static char buf[4096];
    FILE *fp = fopen(path, "r");
    size_t n;

    if (fp == NULL)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* The validator of these tests: a text starting with '{' is good. */
static int check(const char *text, size_t len, void *arg, struct error *err)
{
    (void)arg;
    if (len == 0 || text[0] != '{')
        return error_set(err, -EINVAL, "not an object at byte 0");
    return 0;
}

static int count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    while ((de = readdir(d)) != NULL)
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void test_write_keeps_a_private_copy(void **state)
{
    struct fixture *f = *state;
    char bak[160];
    struct stat st;
    struct error err;

    snprintf(bak, sizeof(bak), "%s.bak", f->path);
    assert_int_equal(lrc_statefile_write(f->path, "{\"a\":1}", 7, 0600, &err), 0);
    assert_string_equal(get(f->path), "{\"a\":1}");
    assert_string_equal(get(bak), "{\"a\":1}");
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(lrc_statefile_write(f->path, "{\"a\":2}", 7, 0600, &err), 0);
    assert_string_equal(get(f->path), "{\"a\":2}");
    assert_string_equal(get(bak), "{\"a\":2}");
    /* No temporary file is left behind, and the copy is its own inode. */
    assert_int_equal(count_prefix(f->dir, "settings.json.tmp"), 0);
    assert_int_equal(count_prefix(f->dir, "settings.json.bak.tmp"), 0);
    put(f->path, "garbage");
    assert_string_equal(get(bak), "{\"a\":2}");
}

static void test_load_good_missing_and_unreadable(void **state)
{
    struct fixture *f = *state;
    struct error err;
    char *text;
    size_t len;
    int from_bak;

    assert_int_equal(lrc_statefile_load(f->path, check, NULL, &text, &len, &from_bak, &err),
                     -ENOENT);
    assert_null(text);
    assert_int_equal(lrc_statefile_write(f->path, "{}", 2, 0600, &err), 0);
    assert_int_equal(lrc_statefile_load(f->path, check, NULL, &text, &len, &from_bak, &err), 0);
    assert_string_equal(text, "{}");
    assert_int_equal(len, 2);
    assert_false(from_bak);
    free(text);
}

static void test_corrupt_file_is_kept_aside_and_the_copy_used(void **state)
{
    struct fixture *f = *state;
    char bak[160];
    struct error err;
    char *text;
    size_t len;
    int from_bak;

    snprintf(bak, sizeof(bak), "%s.bak", f->path);
    assert_int_equal(lrc_statefile_write(f->path, "{\"good\":1}", 10, 0600, &err), 0);
    put(f->path, "]broken");
    assert_int_equal(lrc_statefile_load(f->path, check, NULL, &text, &len, &from_bak, &err), 0);
    assert_true(from_bak);
    assert_string_equal(text, "{\"good\":1}");
    free(text);
    /* The file is back in place, the broken one kept for the operator. */
    assert_string_equal(get(f->path), "{\"good\":1}");
    assert_int_equal(count_prefix(f->dir, "settings.json.corrupt-"), 1);
}

static void test_no_good_copy_is_an_error_with_the_reason(void **state)
{
    struct fixture *f = *state;
    char bak[160];
    struct error err;
    char *text;
    size_t len;
    int from_bak;

    snprintf(bak, sizeof(bak), "%s.bak", f->path);
    put(f->path, "]broken");
    assert_int_equal(lrc_statefile_load(f->path, check, NULL, &text, &len, &from_bak, &err),
                     -EBADMSG);
    assert_string_equal(err.msg, "not an object at byte 0");
    assert_null(text);
    assert_int_equal(count_prefix(f->dir, "settings.json.corrupt-"), 1);
    put(f->path, "]again");
    put(bak, "]also");
    assert_int_equal(lrc_statefile_load(f->path, check, NULL, &text, &len, &from_bak, &err),
                     -EBADMSG);
    assert_int_equal(count_prefix(f->dir, "settings.json.corrupt-"), 2);
}

/* ---------------------------------------------------------- the store */

struct seen {
    int calls, rc;
};

static void on_written(void *arg, int rc, const struct error *err)
{
    struct seen *s = arg;

    (void)err;
    s->calls++;
    s->rc = rc;
}

static void drain(struct wq *wq, struct lrc_store *st)
{
    for (int i = 0; i < 2000 && lrc_store_busy(st); i++) {
        wq_drain(wq);
        usleep(1000);
    }
    assert_false(lrc_store_busy(st));
}

static void test_store_coalesces_and_keeps_the_newest(void **state)
{
    struct fixture *f = *state;
    struct wq_hooks hooks = {0};
    struct wq *wq = wq_new(2, 0, &hooks);
    struct lrc_store *st = lrc_store_new(wq, f->path, 0600);
    struct seen s[5] = {{0}};
    char text[32];

    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof(text), "{\"n\":%d}", i);
        lrc_store_write(st, xstrdup(text), strlen(text), on_written, &s[i]);
    }
    drain(wq, st);
    /* Every caller heard back once, the last content is on disk. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s[i].calls, 1);
        assert_int_equal(s[i].rc, 0);
    }
    assert_string_equal(get(f->path), "{\"n\":4}");
    assert_string_equal(lrc_store_path(st), f->path);
    /* Freed with a write in flight: the write still lands. */
    lrc_store_write(st, xstrdup("{\"n\":5}"), 7, on_written, &s[0]);
    lrc_store_free(st);
    wq_free(wq);
    assert_string_equal(get(f->path), "{\"n\":5}");
    assert_int_equal(s[0].calls, 1); /* no callback after free */
}

static void test_store_reports_a_failed_write(void **state)
{
    struct fixture *f = *state;
    struct wq_hooks hooks = {0};
    struct wq *wq = wq_new(1, 0, &hooks);
    char path[200];
    struct lrc_store *st;
    struct seen s = {0};

    snprintf(path, sizeof(path), "%s/missing-dir/x.json", f->dir);
    st = lrc_store_new(wq, path, 0600);
    lrc_store_write(st, xstrdup("{}"), 2, on_written, &s);
    drain(wq, st);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.rc, -ENOENT);
    lrc_store_free(st);
    wq_free(wq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_keeps_a_private_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_good_missing_and_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file_is_kept_aside_and_the_copy_used, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_good_copy_is_an_error_with_the_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_coalesces_and_keeps_the_newest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_reports_a_failed_write, setup, teardown),
    };

    xalloc_init();
    log_init("test_lrc_statefile", LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for qapi/image: runtime image verification (3.2) on archives
 * written to temporary files with libarchive. */
#include <archive.h>
#include <archive_entry.h>
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
#include "qapi/image.h"

struct ent {
    const char *name;
    mode_t type;
    mode_t perm;
    const char *data;
};

static char path[64];

static void make(int gz, const struct ent *e, size_t n)
{
    struct archive *a = archive_write_new();
    int fd;

    snprintf(path, sizeof(path), "/tmp/test_qa_image.XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    archive_write_set_format_gnutar(a);
    if (gz)
        archive_write_add_filter_gzip(a);
    assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *en = archive_entry_new();

        archive_entry_set_pathname(en, e[i].name);
        archive_entry_set_filetype(en, e[i].type);
        archive_entry_set_perm(en, e[i].perm);
        if (e[i].type == AE_IFLNK)
            archive_entry_set_symlink(en, e[i].data);
        else if (e[i].type == AE_IFREG)
            archive_entry_set_size(en, (la_int64_t)strlen(e[i].data));
        archive_write_header(a, en);
        if (e[i].type == AE_IFREG)
            archive_write_data(a, e[i].data, strlen(e[i].data));
        archive_entry_free(en);
    }
    archive_write_close(a);
    archive_write_free(a);
    close(fd);
}

static int check(const char *config_json, struct qa_img *img, struct error *err)
{
    cJSON *config = NULL;
    int rc;

    assert_int_equal(json_parse(config_json, strlen(config_json), &config, NULL), 0);
    rc = qa_image_check(path, config, 1 << 20, img, err);
    cJSON_Delete(config);
    unlink(path);
    return rc;
}

static const struct ent bundle[] = {
    {"runtime.json", AE_IFREG, 0644,
     "{\"entrypoint\": [\"/bin/sh\", \"/lib/launch.sh\"], \"architecture\": \"amd64\"}"},
    {"rootfs/", AE_IFDIR, 0755, NULL},
    {"rootfs/bin/", AE_IFDIR, 0755, NULL},
    {"rootfs/bin/busybox", AE_IFREG, 0755, "ELF"},
    {"rootfs/bin/sh", AE_IFLNK, 0777, "busybox"},
    {"rootfs/usr/", AE_IFDIR, 0755, NULL},
    {"rootfs/usr/bin", AE_IFLNK, 0777, "/bin"},
    {"rootfs/lib/launch.sh", AE_IFREG, 0644, "exec sh"},
    {"rootfs/dev/null", AE_IFCHR, 0666, NULL},
};

static void test_bundle(void **state)
{
    struct qa_img img;
    struct error err;

    (void)state;
    make(1, bundle, sizeof(bundle) / sizeof(bundle[0]));
    if (check("{}", &img, &err) != 0)
        fail_msg("%s", err.msg);
    assert_string_equal(img.format, "tar.gz");
    assert_true(img.bundle);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(img.runtime_json, "architecture")),
                        "amd64");
    qa_img_clear(&img);
    /* The config field wins: an entrypoint through an absolute link and PATH. */
    make(0, bundle, sizeof(bundle) / sizeof(bundle[0]));
    if (check("{\"entrypoint\": [\"sh\", \"-c\"], \"env\": [\"PATH=/usr/bin\"]}", &img, &err) != 0)
        fail_msg("%s", err.msg);
    assert_string_equal(img.format, "tar");
    qa_img_clear(&img);
}

static void test_entrypoint_must_be_executable(void **state)
{
    struct qa_img img;
    struct error err;

    (void)state;
    make(1, bundle, sizeof(bundle) / sizeof(bundle[0]));
    assert_int_equal(check("{\"entrypoint\": [\"/lib/launch.sh\"]}", &img, &err), -EINVAL);
    assert_string_equal(err.msg,
                        "entrypoint /lib/launch.sh is not an executable file in the rootfs");
    make(1, bundle, sizeof(bundle) / sizeof(bundle[0]));
    assert_int_equal(check("{\"entrypoint\": [\"/nope\"]}", &img, &err), -EINVAL);
}

static void test_refusals(void **state)
{
    static const struct ent escape[] = {{"x", AE_IFLNK, 0777, "../../etc"}};
    static const struct ent dotdot[] = {{"a/../../b", AE_IFREG, 0644, "x"}};
    static const struct ent absolute[] = {{"/etc/x", AE_IFREG, 0644, "x"}};
    struct qa_img img;
    struct error err;
    FILE *f;

    (void)state;
    make(1, escape, 1);
    assert_int_equal(check("{}", &img, &err), -EINVAL);
    assert_string_equal(err.msg, "entry x: links leading outside the root are not allowed");
    make(1, dotdot, 1);
    assert_int_equal(check("{}", &img, &err), -EINVAL);
    make(0, absolute, 1);
    assert_int_equal(check("{}", &img, &err), -EINVAL);
    snprintf(path, sizeof(path), "/tmp/test_qa_image.junk");
    f = fopen(path, "w");
    fputs("definitely not a tar archive, not even close to one", f);
    fclose(f);
    assert_int_equal(check("{}", &img, &err), -EINVAL);
}

static void test_config_rules(void **state)
{
    static const char *const bad[] = {
        "{\"entrypoint\": []}",    "{\"entrypoint\": \"sh\"}", "{\"env\": [\"NOEQUALS\"]}",
        "{\"cwd\": \"relative\"}", "{\"color\": \"blue\"}",    "[]",
    };
    struct error err;
    cJSON *c = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(json_parse(bad[i], strlen(bad[i]), &c, NULL), 0);
        assert_int_equal(qa_runtime_config_check(c, &err), -EINVAL);
        cJSON_Delete(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle),
        cmocka_unit_test(test_entrypoint_must_be_executable),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_config_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

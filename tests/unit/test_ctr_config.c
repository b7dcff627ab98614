/* Unit tests for src/ctr_config (the OCI config.json of deviceless-api.md
 * 4.2-4.6) and src/ctr_seccomp (4.6). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "src/ctr_config.h"
#include "src/ctr_seccomp.h"

static char *args[] = {"/bin/sh", "/lib/lrc/launch.sh", "main.main", NULL};
static char *env[] = {"PATH=/bin", "FUNCTION_ID=x", NULL};

static struct ctr_spec base_spec(void)
{
    struct ctr_spec s = {0};

    s.profile = CTR_PROFILE_FUNCTION;
    s.rootfs = "/var/cache/lrc/runtimes/abc/rootfs";
    s.args = args;
    s.env = env;
    s.cwd = "/code";
    s.uid = 65534;
    s.gid = 65534;
    s.memory = 32 << 20;
    s.cpu_milli = 100;
    s.pids = 64;
    s.tmp_size = 16 << 20;
    s.file_size = 16 << 20;
    s.code_dir = "/var/cache/lrc/packages/def";
    s.with_io = 1;
    return s;
}

static cJSON *build(const struct ctr_spec *s, int swap)
{
    struct ctr_host h = {swap, NULL};
    struct error err;
    cJSON *c =
        ctr_config_build(s, &h, "lr-0123456789abcdef", "/run/lrc/c/lr-0123456789abcdef", &err);

    assert_non_null(c);
    return c;
}

static const cJSON *get(const cJSON *o, const char *path)
{
    char buf[256], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
        o = cJSON_GetObjectItemCaseSensitive(o, k);
    return o;
}

static int64_t num(const cJSON *o, const char *path)
{
    const cJSON *v = get(o, path);

    assert_true(cJSON_IsNumber(v) || cJSON_IsRaw(v));
    return cJSON_IsRaw(v) ? strtoll(v->valuestring, NULL, 10) : (int64_t)v->valuedouble;
}

static const cJSON *mount_at(const cJSON *c, const char *dest)
{
    const cJSON *m;

    cJSON_ArrayForEach(
        m, get(c, "mounts")) if (strcmp(cJSON_GetObjectItem(m, "destination")->valuestring, dest) ==
                                 0) return m;
    return NULL;
}

static char *options(const cJSON *m)
{
    return json_print(cJSON_GetObjectItem(m, "options"));
}

static void test_process_has_no_privileges(void **state)
{
    struct ctr_spec s = base_spec();
    cJSON *c = build(&s, 0);
    const cJSON *caps = get(c, "process.capabilities"), *set;
    char *text;

    (void)state;
    assert_string_equal(get(c, "ociVersion")->valuestring, "1.0.0");
    assert_true(cJSON_IsFalse(get(c, "process.terminal")));
    assert_true(cJSON_IsTrue(get(c, "process.noNewPrivileges")));
    assert_int_equal(num(c, "process.user.uid"), 65534);
    assert_int_equal(num(c, "process.oomScoreAdj"), 500);
    assert_int_equal(cJSON_GetArraySize(caps), 5);
    cJSON_ArrayForEach(set, caps) assert_int_equal(cJSON_GetArraySize(set), 0);
    text = json_print(get(c, "process.rlimits"));
    assert_string_equal(text, "[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024},"
                              "{\"type\":\"RLIMIT_CORE\",\"hard\":0,\"soft\":0},"
                              "{\"type\":\"RLIMIT_FSIZE\",\"hard\":16777216,\"soft\":16777216}]");
    free(text);
    assert_true(cJSON_IsTrue(get(c, "root.readonly")));
    assert_string_equal(get(c, "hostname")->valuestring, "fn");
    assert_string_equal(get(c, "linux.cgroupsPath")->valuestring,
                        "/lightning-rod/lr-0123456789abcdef");
    assert_null(get(c, "annotations"));
    cJSON_Delete(c);
}

static void test_limits_follow_the_function(void **state)
{
    struct ctr_spec s = base_spec();
    cJSON *c = build(&s, 0), *c2;

    (void)state;
    assert_int_equal(num(c, "linux.resources.memory.limit"), 33554432);
    assert_null(get(c, "linux.resources.memory.swap"));
    assert_int_equal(num(c, "linux.resources.cpu.quota"), 10000);
    assert_int_equal(num(c, "linux.resources.cpu.period"), 100000);
    assert_int_equal(num(c, "linux.resources.pids.limit"), 64);
    c2 = build(&s, 1);
    assert_int_equal(num(c2, "linux.resources.memory.swap"), 33554432);
    cJSON_Delete(c);
    cJSON_Delete(c2);
    s.memory = s.cpu_milli = s.pids = 0;
    c = build(&s, 1);
    assert_null(get(c, "linux.resources.memory"));
    assert_null(get(c, "linux.resources.cpu"));
    assert_null(get(c, "linux.resources.pids"));
    cJSON_Delete(c);
}

static void test_mounts(void **state)
{
    struct ctr_spec s = base_spec();
    cJSON *c = build(&s, 0);
    char *o;

    (void)state;
    o = options(mount_at(c, "/code"));
    assert_string_equal(o, "[\"rbind\",\"ro\",\"nosuid\",\"nodev\"]");
    free(o);
    assert_string_equal(cJSON_GetObjectItem(mount_at(c, "/code"), "source")->valuestring,
                        "/var/cache/lrc/packages/def");
    o = options(mount_at(c, "/run/function"));
    assert_string_equal(o, "[\"rbind\",\"rw\",\"nosuid\",\"nodev\",\"noexec\"]");
    free(o);
    assert_string_equal(cJSON_GetObjectItem(mount_at(c, "/run/function"), "source")->valuestring,
                        "/run/lrc/c/lr-0123456789abcdef/fn");
    o = options(mount_at(c, "/run/iotronic"));
    assert_string_equal(o, "[\"rbind\",\"ro\",\"nosuid\",\"nodev\",\"noexec\"]");
    free(o);
    o = options(mount_at(c, "/tmp"));
    assert_string_equal(o, "[\"nosuid\",\"nodev\",\"mode=1777\",\"size=16777216\"]");
    free(o);
    o = options(mount_at(c, "/dev/shm"));
    assert_non_null(strstr(o, "size=8m"));
    free(o);
    o = options(mount_at(c, "/sys"));
    assert_string_equal(o, "[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]");
    free(o);
    assert_non_null(mount_at(c, "/proc"));
    assert_non_null(mount_at(c, "/sys/fs/cgroup"));
    cJSON_Delete(c);
    s.code_dir = NULL;
    s.with_io = 0;
    s.profile = CTR_PROFILE_PLUGIN;
    c = build(&s, 0);
    assert_null(mount_at(c, "/code"));
    assert_null(mount_at(c, "/run/iotronic"));
    assert_null(mount_at(c, "/run/function"));
    cJSON_Delete(c);
}

static int has_namespace(const cJSON *c, const char *type)
{
    const cJSON *n;

    cJSON_ArrayForEach(
        n, get(c, "linux.namespaces")) if (strcmp(cJSON_GetObjectItem(n, "type")->valuestring,
                                                  type) == 0) return 1;
    return 0;
}

static void test_network_namespace_unless_host(void **state)
{
    struct ctr_spec s = base_spec();
    cJSON *c = build(&s, 0);

    (void)state;
    assert_int_equal(cJSON_GetArraySize(get(c, "linux.namespaces")), 5);
    assert_true(has_namespace(c, "network"));
    assert_true(has_namespace(c, "pid") && has_namespace(c, "ipc") && has_namespace(c, "uts") &&
                has_namespace(c, "mount"));
    cJSON_Delete(c);
    s.network_host = 1;
    c = build(&s, 0);
    assert_false(has_namespace(c, "network"));
    assert_int_equal(cJSON_GetArraySize(get(c, "linux.namespaces")), 4);
    cJSON_Delete(c);
}

static void test_raw_chip_gets_node_and_rule(void **state)
{
    struct ctr_spec s = base_spec();
    struct ctr_device devs[] = {{"/dev/gpiochip0", 254, 0, 0660, 1}, {"/dev/kmsg", 1, 11, 0666, 0}};
    cJSON *c;
    char *text;

    (void)state;
    s.devices = devs;
    s.ndevices = 2;
    c = build(&s, 0);
    text = json_print(get(c, "linux.resources.devices"));
    assert_string_equal(text, "[{\"allow\":false,\"access\":\"rwm\"},"
                              "{\"allow\":true,\"type\":\"c\",\"major\":254,\"minor\":0,"
                              "\"access\":\"rw\"}]");
    free(text);
    text = json_print(get(c, "linux.devices"));
    assert_string_equal(text, "[{\"path\":\"/dev/gpiochip0\",\"type\":\"c\",\"major\":254,"
                              "\"minor\":0,\"fileMode\":432,\"uid\":65534,\"gid\":65534},"
                              "{\"path\":\"/dev/kmsg\",\"type\":\"c\",\"major\":1,\"minor\":11,"
                              "\"fileMode\":438,\"uid\":65534,\"gid\":65534}]");
    free(text);
    cJSON_Delete(c);
    s.ndevices = 0;
    c = build(&s, 0);
    assert_null(get(c, "linux.devices"));
    cJSON_Delete(c);
}

static void test_masked_and_readonly_paths(void **state)
{
    struct ctr_spec s = base_spec();
    char *hide[] = {"/var/lib/lightning-rod-c", NULL};
    const cJSON *m;
    cJSON *c;
    int kcore = 0, extra = 0;

    (void)state;
    s.masked = hide;
    c = build(&s, 0);
    cJSON_ArrayForEach(m, get(c, "linux.maskedPaths"))
    {
        kcore |= strcmp(m->valuestring, "/proc/kcore") == 0;
        extra |= strcmp(m->valuestring, "/var/lib/lightning-rod-c") == 0;
    }
    assert_true(kcore && extra);
    assert_int_equal(cJSON_GetArraySize(get(c, "linux.readonlyPaths")), 5);
    cJSON_Delete(c);
}

static void test_compiled_seccomp_is_passed_back(void **state)
{
    struct ctr_spec s = base_spec();
    struct ctr_host h = {0, "AAAA"};
    cJSON *c = ctr_config_build(&s, &h, "lr-1", "/b", NULL);

    (void)state;
    assert_string_equal(
        cJSON_GetObjectItem(get(c, "annotations"), "run.oci.seccomp_bpf_data")->valuestring,
        "AAAA");
    assert_non_null(get(c, "linux.seccomp"));
    cJSON_Delete(c);
}

static void test_unusable_specs_are_refused(void **state)
{
    struct ctr_spec s;
    struct ctr_host h = {0, NULL};
    char *none[] = {NULL};
    struct error err;

    (void)state;
    s = base_spec();
    s.args = none;
    assert_null(ctr_config_build(&s, &h, "lr-1", "/b", &err));
    assert_int_equal(err.code, -EINVAL);
    s = base_spec();
    s.rootfs = "rootfs";
    assert_null(ctr_config_build(&s, &h, "lr-1", "/b", &err));
    s = base_spec();
    s.cwd = "code";
    assert_null(ctr_config_build(&s, &h, "lr-1", "/b", &err));
    s = base_spec();
    assert_null(ctr_config_build(&s, &h, "lr-1", "b", &err));
    s = base_spec();
    s.code_dir = "pkg";
    assert_null(ctr_config_build(&s, &h, "lr-1", "/b", &err));
}

static void test_seccomp_profile(void **state)
{
    cJSON *p = ctr_seccomp_profile();
    const cJSON *rule, *names, *n;
    unsigned mask = 0;
    int mount = 0, ptrace = 0, clone3 = 0;

    (void)state;
    assert_string_equal(get(p, "defaultAction")->valuestring, "SCMP_ACT_ALLOW");
#if defined(__x86_64__)
    assert_int_equal(cJSON_GetArraySize(get(p, "architectures")), 3);
    assert_string_equal(cJSON_GetArrayItem(get(p, "architectures"), 0)->valuestring,
                        "SCMP_ARCH_X86_64");
#endif
    cJSON_ArrayForEach(rule, get(p, "syscalls"))
    {
        const cJSON *a = cJSON_GetObjectItem(rule, "args");

        names = cJSON_GetObjectItem(rule, "names");
        assert_string_equal(cJSON_GetObjectItem(rule, "action")->valuestring, "SCMP_ACT_ERRNO");
        cJSON_ArrayForEach(n, names)
        {
            mount |= strcmp(n->valuestring, "mount") == 0;
            ptrace |= strcmp(n->valuestring, "ptrace") == 0;
            if (strcmp(n->valuestring, "clone3") == 0) {
                clone3 = 1;
                assert_int_equal(num(rule, "errnoRet"), 38);
            }
            if (strcmp(n->valuestring, "clone") == 0) {
                const cJSON *arg = cJSON_GetArrayItem(a, 0);

                assert_int_equal(num(arg, "index"), 0);
                assert_int_equal(num(arg, "value"), num(arg, "valueTwo"));
                assert_string_equal(cJSON_GetObjectItem(arg, "op")->valuestring,
                                    "SCMP_CMP_MASKED_EQ");
                assert_int_equal(num(rule, "errnoRet"), 1);
                mask |= (unsigned)num(arg, "value");
            }
        }
    }
    assert_true(mount && ptrace && clone3);
    assert_int_equal(mask, CTR_SECCOMP_CLONE_NS_MASK);
    cJSON_Delete(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_process_has_no_privileges),
        cmocka_unit_test(test_limits_follow_the_function),
        cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_network_namespace_unless_host),
        cmocka_unit_test(test_raw_chip_gets_node_and_rule),
        cmocka_unit_test(test_masked_and_readonly_paths),
        cmocka_unit_test(test_compiled_seccomp_is_passed_back),
        cmocka_unit_test(test_unusable_specs_are_refused),
        cmocka_unit_test(test_seccomp_profile),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

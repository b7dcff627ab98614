/* src/ctr_seccomp.c: see ctr_seccomp.h.
 *
 * "Refuse clone with any namespace flag" is written as one EPERM rule per
 * flag with SCMP_CMP_MASKED_EQ(flag, flag) on argument 0: libseccomp ORs
 * rules of the same action, and with a default of ALLOW the remaining clones
 * pass. That is exactly "allowed only when (flags & 0x7E020000) == 0". In the
 * OCI form "value" is the mask and "valueTwo" the datum. Argument 0 holds the
 * flags on x86, x86_64, x32, arm and aarch64 (not on s390, which we do not
 * build for). */
#include "src/ctr_seccomp.h"

#include <stddef.h>

#include "common/json.h"

#define EPERM_RET 1
#define ENOSYS_RET 38

/* System calls that exist only on some architectures are named in the
 * second table, so that a profile never names a call the kernel of that
 * architecture lacks. */
static const char *const denied[] = {
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "swapon",
    "swapoff",
    "reboot",
    "kexec_load",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "keyctl",
    "add_key",
    "request_key",
    "open_by_handle_at",
    "name_to_handle_at",
    "userfaultfd",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "syslog",
    "quotactl",
    "lookup_dcookie",
};

#if defined(__x86_64__)
static const char *const arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
static const char *const denied_arch[] = {"kexec_file_load", "iopl", "ioperm"};
#elif defined(__aarch64__)
static const char *const arches[] = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
static const char *const denied_arch[] = {"kexec_file_load"};
#elif defined(__arm__)
static const char *const arches[] = {"SCMP_ARCH_ARM"};
static const char *const denied_arch[] = {"kexec_file_load"};
#elif defined(__i386__)
static const char *const arches[] = {"SCMP_ARCH_X86"};
static const char *const denied_arch[] = {"iopl", "ioperm"};
#else
#error "no seccomp architecture table for this target"
#endif

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The CLONE_NEW* flags, one rule each. */
static const unsigned clone_ns_flags[] = {
    0x00020000u, /* CLONE_NEWNS */
    0x02000000u, /* CLONE_NEWCGROUP */
    0x04000000u, /* CLONE_NEWUTS */
    0x08000000u, /* CLONE_NEWIPC */
    0x10000000u, /* CLONE_NEWUSER */
    0x20000000u, /* CLONE_NEWPID */
    0x40000000u, /* CLONE_NEWNET */
};

static cJSON *names_rule(const char *const *names, size_t n, int errno_ret)
{
    cJSON *rule = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(rule, "names");

    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
    cJSON_AddStringToObject(rule, "action", "SCMP_ACT_ERRNO");
    json_add_int(rule, "errnoRet", errno_ret);
    return rule;
}

static cJSON *clone_rule(unsigned flag)
{
    static const char *const clone_name[] = {"clone"};
    cJSON *rule = names_rule(clone_name, 1, EPERM_RET);
    cJSON *args = cJSON_AddArrayToObject(rule, "args");
    cJSON *a = cJSON_CreateObject();

    json_add_int(a, "index", 0);
    json_add_int(a, "value", flag);
    json_add_int(a, "valueTwo", flag);
    cJSON_AddStringToObject(a, "op", "SCMP_CMP_MASKED_EQ");
    cJSON_AddItemToArray(args, a);
    return rule;
}

cJSON *ctr_seccomp_profile(void)
{
    static const char *const clone3_name[] = {"clone3"};
    cJSON *p = cJSON_CreateObject();
    cJSON *arr, *sys;

    cJSON_AddStringToObject(p, "defaultAction", "SCMP_ACT_ALLOW");
    arr = cJSON_AddArrayToObject(p, "architectures");
    for (size_t i = 0; i < NELEM(arches); i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(arches[i]));
    sys = cJSON_AddArrayToObject(p, "syscalls");
    cJSON_AddItemToArray(sys, names_rule(denied, NELEM(denied), EPERM_RET));
    cJSON_AddItemToArray(sys, names_rule(denied_arch, NELEM(denied_arch), EPERM_RET));
    for (size_t i = 0; i < NELEM(clone_ns_flags); i++)
        cJSON_AddItemToArray(sys, clone_rule(clone_ns_flags[i]));
    cJSON_AddItemToArray(sys, names_rule(clone3_name, 1, ENOSYS_RET));
    return p;
}

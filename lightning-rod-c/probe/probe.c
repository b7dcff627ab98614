/* probe/probe.c: the startup probe of lightning-rod-c's container executor.
 *
 * Runs as the only program of a probe container (deviceless-api.md 4.7), so
 * it is linked statically and needs nothing from its root file system. It
 * checks what the container configuration is supposed to enforce and says so
 * on stdout, one JSON line, for the agent to put in DeviceCaps:
 *   - /dev/kmsg exists in the container (a linux.devices node, mode 0666) but
 *     is not in the device-cgroup allow list: opening it must fail with EPERM;
 *   - the seccomp filter is installed ("Seccomp: 2" in /proc/self/status);
 *   - clone() with a namespace flag is refused (the profile's clone rule).
 * Exit status: 0 when the device rule refused the node, 3 when the node
 * opened (device rules not enforced), 4 when it failed some other way. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int seccomp_mode(void)
{
    char line[256];
    int mode = -1;
    FILE *f = fopen("/proc/self/status", "re");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "Seccomp:", 8) == 0)
            mode = (int)strtol(line + 8, NULL, 10);
    fclose(f);
    return mode;
}

/* A raw clone with CLONE_NEWUSER: unprivileged users may create user
 * namespaces, so only the seccomp rule can refuse it. */
static const char *clone_ns(void)
{
    long r = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0, 0, 0, 0);

    if (r == 0)
        _exit(0);
    if (r > 0) {
        waitpid((pid_t)r, NULL, 0);
        return "allowed";
    }
    return errno == EPERM ? "EPERM" : strerrorname_np(errno);
}

int main(void)
{
    const char *kmsg;
    int rc, fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        close(fd);
        kmsg = "opened";
        rc = 3;
    } else {
        kmsg = strerrorname_np(errno);
        rc = errno == EPERM ? 0 : 4;
    }
    printf("{\"kmsg\": \"%s\", \"seccomp\": %d, \"clone_ns\": \"%s\"}\n", kmsg ? kmsg : "?",
           seccomp_mode(), clone_ns());
    fflush(stdout);
    return rc;
}

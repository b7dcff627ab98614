/* src/ctr_seccomp.h: the seccomp profile of function and plugin containers.
 *
 * Generated from one table (deviceless-api.md 4.6): allow by default, EPERM
 * for the system calls that manage the machine or escape a container, clone
 * only without namespace flags, and ENOSYS for clone3 so that libc falls back
 * to clone, whose flags a filter can see. The architectures are the build's
 * native ones. Pure: no I/O. */
#ifndef LRC_CTR_SECCOMP_H
#define LRC_CTR_SECCOMP_H

#include <cjson/cJSON.h>

/* The OCI "linux.seccomp" object; the caller owns it (cJSON_Delete). */
cJSON *ctr_seccomp_profile(void);

/* The clone flags that are refused: every CLONE_NEW* flag (0x7E020000). */
#define CTR_SECCOMP_CLONE_NS_MASK 0x7E020000u

#endif

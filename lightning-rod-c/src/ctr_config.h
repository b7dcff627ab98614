/* src/ctr_config.h: what a container is (struct ctr_spec) and its OCI config.json.
 *
 * lightning-rod-c writes the whole config.json itself for every container
 * (deviceless-api.md 4.2): no tty, no capabilities, no new privileges, a
 * read-only root, the mounts of 4.5, the limits of 3.5.6 and 4.4, the devices
 * of 4.3 and the seccomp profile of 4.6. Two profiles share the builder:
 *   - function: a cached runtime rootfs, /code, /run/function, /run/iotronic,
 *     a private network unless network_host;
 *   - plugin (board-protocol.md 6.5): the host root file system read-only
 *     (a skeleton directory of binds, because crun cannot pivot into "/"),
 *     a private /tmp, the host network, the IO socket only.
 * Pure: ctr_config_build() does no I/O (device numbers are resolved by the
 * caller), so it is unit-tested byte for byte. */
#ifndef LRC_CTR_CONFIG_H
#define LRC_CTR_CONFIG_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

enum ctr_profile { CTR_PROFILE_FUNCTION, CTR_PROFILE_PLUGIN };

/* A bind mount from the host. */
struct ctr_bind {
    const char *dest;   /* absolute, inside the container */
    const char *source; /* absolute, on the host */
    int readonly;
};

/* A character device node made inside the container (linux.devices). */
struct ctr_device {
    const char *path;      /* "/dev/gpiochip0": same path inside and on the host */
    unsigned major, minor; /* from stat(2) of the host node */
    unsigned file_mode;    /* 0660 for chips; 0666 for the probe's node */
    int allow;             /* 1: a device-cgroup rule allows rw; 0: the node exists, denied */
};

/* Everything a container needs. Borrowed by the functions that take it. */
struct ctr_spec {
    enum ctr_profile profile;
    const char *rootfs; /* absolute; shared and read-only */
    char *const *args;  /* NULL-terminated, at least one */
    char *const *env;   /* NULL-terminated (NULL: empty) */
    const char *cwd;    /* absolute */
    uid_t uid;
    gid_t gid;
    int64_t memory;               /* bytes; 0: no limit */
    int64_t cpu_milli;            /* 0: no limit */
    int64_t pids;                 /* 0: no limit */
    int64_t tmp_size;             /* bytes of the /tmp tmpfs */
    int64_t file_size;            /* RLIMIT_FSIZE bytes; 0: unlimited */
    int network_host;             /* 0: a private, empty network namespace */
    const char *code_dir;         /* host dir mounted read-only at /code; NULL: none */
    const struct ctr_bind *binds; /* extra binds (the plugin skeleton's top-level dirs) */
    size_t nbinds;
    const struct ctr_device *devices;
    size_t ndevices;
    char *const *masked; /* extra maskedPaths (NULL-terminated or NULL) */
    int with_io;         /* mount <bundle>/io at /run/iotronic */
};

/* Host facts the config depends on. */
struct ctr_host {
    int swap_accounting; /* add memory.swap = limit (3.5.6) */
    /* The seccomp profile compiled once by crun (base64), passed back with
     * the annotation run.oci.seccomp_bpf_data so that crun does not compile
     * the same constant profile again for every container; NULL: compile. */
    const char *seccomp_bpf_b64;
};

#define CTR_CGROUP_PARENT "/lightning-rod"

/* Builds config.json for container id with bundle directory bundle (its fn/
 * and io/ are mounted from there). Returns a new tree (cJSON_Delete), or NULL
 * with err set when spec is unusable (no args, a relative path). */
cJSON *ctr_config_build(const struct ctr_spec *spec, const struct ctr_host *host, const char *id,
                        const char *bundle, struct error *err);

#endif

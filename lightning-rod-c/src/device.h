/* src/device.h: the device module: the Device* procedures of
 * board-protocol.md 6.5 (its method table is lrc_rpc_device in rpc.h) and
 * what they leave running: package operations, the upgrade command, a
 * reboot timer, HTTP requests of DeviceRestSubmit.
 *
 * Every procedure validates `parameters` first and answers an ERROR naming
 * the bad argument; commands run as argv arrays from the configuration
 * ([device] reboot_command, upgrade_command) or from a fixed table per
 * package manager, never through a shell. One struct lrc_device per agent.
 * Loop thread. */
#ifndef LRC_SRC_DEVICE_H
#define LRC_SRC_DEVICE_H

#include <cjson/cJSON.h>

#include "common/error.h"
#include "src/agent.h"

#define LRC_PKG_OUTPUT_MAX 4096 /* the last bytes of output reported */

struct lrc_device *lrc_device_new(struct lrc_agent *a);

/* Cancels what runs (commands killed, requests dropped; no replies). */
void lrc_device_free(struct lrc_device *d); /* accepts NULL */

/* The DeviceCaps object (deviceless-api.md 3.4.1): arch, cpus, mem_bytes,
 * the executor's fields and the HAL's gpio and sensors. New. */
cJSON *lrc_device_caps(struct lrc_agent *a);

/* The Debian architecture name of the machine (amd64, arm64, armhf, ...). */
const char *lrc_device_arch(void);

/* Validation of DevicePkgOperation's names (6.5). 1 when valid. */
int lrc_pkg_name_valid(const char *s);
int lrc_pkg_version_valid(const char *s);

/* The argv of a package operation: manager and command already checked;
 * package may be NULL (update / upgrade of everything). New array
 * (lrc_words_free) whose argv[0] is the manager's absolute path, or NULL
 * with err set (the manager is not installed, or the operation needs a
 * package). */
char **lrc_pkg_argv(const char *manager, const char *command, const char *package,
                    const char *version, struct error *err);

#endif

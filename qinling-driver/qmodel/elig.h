/* qmodel/elig.h: can a board run a function? (deviceless-api.md 3.3)
 *
 * A board is eligible when its last DeviceCaps (3.4.1) shows a working
 * executor, the runtime's architecture (when the runtime declares one), every
 * declared device, device-rule enforcement and real chips for raw access, and
 * for the process executor a command for the runtime. The reason of a refusal
 * is one of the contract's texts, for "Board <uuid> cannot run this function:
 * <reason>." Pure, any thread. */
#ifndef QM_ELIG_H
#define QM_ELIG_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "common/error.h"
#include "qmodel/devices.h"

/* What a function needs from a board. Strings are borrowed. */
struct qm_need {
    const struct qm_device *devs;
    size_t ndevs;
    int raw;                  /* device_access: raw */
    const char *arch;         /* the runtime's architecture, or NULL */
    const char *runtime_name; /* for [process_runtimes]; NULL matches nothing */
};

/* Returns 0 when caps satisfy need, or -EPERM with the reason in err (e.g.
 * "missing device(s) gpio:sim0:17:out, sensor:temp0"). A caps object that is
 * not an object counts as "no executor available". */
int qm_elig_check(const cJSON *caps, const struct qm_need *need, struct error *err) IOT_WUR;

/* The board's max_concurrency from caps, at least 1 (1 when unknown). */
int qm_caps_slots(const cJSON *caps);

/* 1 when caps lists sha256 in cache.packages (which "packages") or
 * cache.runtimes. */
int qm_caps_cached(const cJSON *caps, const char *which, const char *sha256);

#endif

/* qmodel/devices.h: declared devices of a function (deviceless-api.md 3.4.2).
 *
 *   gpio:<chip>:<line>:in | gpio:<chip>:<line>:out | sensor:<name>
 *
 * At most QM_DEVICES_MAX distinct specs; chip and sensor names are 1 to 32
 * of A-Z a-z 0-9 _ -; a line is a decimal offset. The same line may not be
 * declared twice (in and out included). Pure, any thread. */
#ifndef QM_DEVICES_H
#define QM_DEVICES_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "common/error.h"

#define QM_DEVICES_MAX 32
#define QM_DEVNAME_MAX 32
#define QM_LINE_MAX 65535

enum qm_dev_kind { QM_DEV_GPIO_IN, QM_DEV_GPIO_OUT, QM_DEV_SENSOR };

struct qm_device {
    enum qm_dev_kind kind;
    char name[QM_DEVNAME_MAX + 1]; /* chip or sensor */
    int line;                      /* gpio only */
};

/* Parses one spec. Returns 0, or -EINVAL with the reason (no prefix) in err. */
int qm_device_parse(const char *spec, struct qm_device *out, struct error *err) IOT_WUR;

/* Validates the array arr (a JSON array; NULL or a JSON null is empty) into
 * devs (capacity QM_DEVICES_MAX) and *n. On failure -EINVAL and err holds
 * the contract's message: "Invalid device <spec>: <reason>." */
int qm_devices_parse(const cJSON *arr, struct qm_device *devs, size_t *n,
                     struct error *err) IOT_WUR;

/* The canonical text of d into out (size >= 64). */
const char *qm_device_format(const struct qm_device *d, char *out, size_t outsz);

/* A new JSON array of the canonical specs. */
cJSON *qm_devices_json(const struct qm_device *devs, size_t n);

#endif

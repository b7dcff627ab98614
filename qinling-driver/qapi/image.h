/* qapi/image.h: runtime images (deviceless-api.md 3.2).
 *
 * A runtime image is a tar (ustar, pax or GNU) or gzip-compressed tar of a
 * root filesystem; a top-level rootfs/ makes it a "bundle" whose optional
 * top-level runtime.json is the embedded config. The check reads the
 * uploaded file once with libarchive: entry paths relative and without "..",
 * hard links and relative symbolic links inside the root (absolute symbolic
 * links are fine: they resolve inside the container), device nodes and FIFOs
 * skipped, the unpacked size within the limit. It then checks that the
 * effective entrypoint (runtime.json overlaid with the runtime's config
 * field) exists in the rootfs as an executable file or a link to one.
 * Blocking file reads: worker threads. */
#ifndef QA_IMAGE_H
#define QA_IMAGE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "common/error.h"

#define QA_RUNTIME_JSON_MAX 65536

struct qa_img {
    char format[8]; /* "tar" or "tar.gz" */
    char md5[33];
    int bundle;
    cJSON *runtime_json; /* the bundle's runtime.json object, or NULL (owned) */
};

/* Checks the image file at path. config is the runtime's config field (an
 * object; borrowed). 0 and *out (qa_img_clear), or -EINVAL with the reason
 * in err (the caller answers "Invalid runtime image: <reason>."), or
 * another -errno for an I/O failure. */
int qa_image_check(const char *path, const cJSON *config, int64_t max_unpacked, struct qa_img *out,
                   struct error *err) IOT_WUR;
void qa_img_clear(struct qa_img *img);

/* The effective config: runtime.json (may be NULL) overlaid with config
 * key by key. A new object. */
cJSON *qa_image_effective(const cJSON *runtime_json, const cJSON *config);

/* Validates a runtime config object (3.2 keys and types): 0, or -EINVAL
 * with the reason. Unknown keys are refused. */
int qa_runtime_config_check(const cJSON *config, struct error *err) IOT_WUR;

#endif

/* qmodel/fn.h: a function as the execution path needs it: the function's
 * row, the package of the requested version, and its runtime.
 *
 * One read (functions ⟕ runtimes ⟕ blobs, plus the version row for a
 * version > 0) into a self-contained struct, so that the API's execution
 * create, the engine's dispatch and its job scheduler judge a function the
 * same way. Worker threads (it queries db). */
#ifndef QM_FN_H
#define QM_FN_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "common/error.h"
#include "common/uuid.h"
#include "db/db.h"
#include "qmodel/devices.h"
#include "qmodel/elig.h"

struct qm_rt {
    int present; /* the function has a runtime row */
    char id[UUID_STR_LEN];
    char name[256]; /* "" when null */
    char status[16];
    char arch[17];   /* "" when null */
    char sha256[65]; /* "" before the first upload */
    char format[8];
    int64_t size;
    cJSON *config; /* the runtime's config field (owned) */
};

struct qm_fn {
    char id[UUID_STR_LEN];
    char project[65];
    int image; /* code.source is image */
    char runtime_id[UUID_STR_LEN];
    char entry[81]; /* "" for image functions */
    int64_t cpu, memory_size, timeout;
    int64_t version;     /* the version loaded */
    char pkg_sha256[65]; /* "" for image functions */
    char pkg_md5[33];
    int64_t pkg_size;
    char pkg_format[8];
    struct qm_device devs[QM_DEVICES_MAX];
    size_t ndevs;
    int raw, net_host;
    char board_id[UUID_STR_LEN], fleet_id[UUID_STR_LEN]; /* "" when null */
    char placement[16];
    int64_t keep_warm, warm_ttl, latest_version;
    struct qm_rt rt;
};

/* Loads function id at version (0: the current package). project NULL
 * reads any project, else only that one. Returns 0, or with err set (the
 * contract's messages): 404 "Function not found [id=<id>]", 404
 * "FunctionVersion not found [function_id=<id>, version_number=<n>]", 400
 * "Function versions exist only for package type functions." (a version of
 * an image function), or a database failure (qm_db_fail). Release with
 * qm_fn_clear(). */
int qm_fn_load(struct db *db, const char *id, int64_t version, const char *project,
               struct qm_fn *out, struct error *err) IOT_WUR;
void qm_fn_clear(struct qm_fn *f);

/* What f needs from a board (elig.h); borrows f. */
void qm_fn_need(const struct qm_fn *f, struct qm_need *need);

#endif

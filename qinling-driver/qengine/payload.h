/* qengine/payload.h: FunctionExecute and FunctionDeploy payloads (3.9).
 *
 * The runtime and the package are named by sha256, md5, size and format,
 * each with its download URL (<board download base>/v1/blobs/<sha256>) and a
 * board token minted for that board and blob (1.2). Pure apart from the
 * clock; any thread. */
#ifndef QE_PAYLOAD_H
#define QE_PAYLOAD_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "qengine/engine.h"
#include "qmodel/fn.h"
#include "qmodel/input.h"

/* A blob as the execution was created with it (blobs row). */
struct qe_blob {
    char sha256[65]; /* "" when none */
    char md5[33];
    int64_t size;
    char format[8];
};

/* What an execution adds to the function for FunctionExecute. */
struct qe_exec_args {
    const char *execution_id;
    const char *input; /* the text as sent, or NULL */
    enum qm_input_kind kind;
    int64_t deadline_us;
    int64_t dispatched_us;
    struct qe_blob pkg; /* the package it was created with (sha "" for image functions) */
    struct qe_blob rt;  /* the runtime image it was created with */
};

/* A new FunctionExecute payload (exec non-NULL) or FunctionDeploy payload
 * (exec NULL) for fn on board. */
cJSON *qe_payload(const struct qe *e, const struct qm_fn *fn, const char *board,
                  const struct qe_exec_args *exec);

#endif

/* qapi/function.h: what POST and PUT /v1/functions share (2.3, 3.1, 3.3,
 * 3.4): the fields of either body form, their validation into one struct,
 * and the package's storage as a blob. Worker threads. */
#ifndef QA_FUNCTION_H
#define QA_FUNCTION_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "qapi/body.h"
#include "qapi/call.h"
#include "qapi/package.h"
#include "qmodel/devices.h"
#include "qmodel/target.h"

enum {
    QF_CODE,
    QF_RUNTIME,
    QF_NAME,
    QF_DESC,
    QF_ENTRY,
    QF_CPU,
    QF_MEMORY,
    QF_TIMEOUT,
    QF_PACKAGE,
    QF_DEVICES,
    QF_ACCESS,
    QF_NETWORK,
    QF_BOARD,
    QF_FLEET,
    QF_PLACEMENT,
    QF_KEEP_WARM,
    QF_WARM_TTL,
    QF_N
};

/* A function body, validated for syntax and ranges (not yet against the
 * database). Borrowed strings live as long as the body. */
struct qa_fnspec {
    struct qa_value v[QF_N + 8];
    cJSON *code;         /* the code object (owned), or NULL */
    const char *source;  /* "package" or "image" (when code is given) */
    const char *md5sum;  /* code.md5sum, or NULL */
    const char *sha256;  /* code.sha256, or NULL */
    const char *image;   /* code.image, or NULL */
    const void *package; /* package bytes, or NULL */
    size_t package_len;
    void *package_owned; /* decoded base64 (free()) */
    struct qm_device devs[QM_DEVICES_MAX];
    size_t ndevs;
    cJSON *devices_json; /* the canonical array (owned), when devices was given */
    struct qm_target_req target;
};

/* Reads and checks the fields of b (syntax: names, types, code's JSON and
 * source, devices, enumerations, ranges of cpu/memory/timeout/keep_warm/
 * warm_ttl, entry, placement). update: runtime_id is read-only in JSON.
 * 0, or answered and -1. Release with qa_fnspec_clear(). */
int qa_fnspec_read(struct qa_call *c, const struct qa_body *b, int update, struct qa_fnspec *s);
void qa_fnspec_clear(struct qa_fnspec *s);

/* Checks the package bytes (format, entries, limits, the checksums code
 * names) into *pkg. 0, or answered and -1. */
int qa_fnspec_package(struct qa_call *c, const struct qa_fnspec *s, struct qa_pkg *pkg);

/* Writes the package to a temporary file of the blob store: *tmp (free()).
 * 0, or answered (503) and -1. */
int qa_package_stage(struct qa_call *c, const struct qa_fnspec *s, char **tmp);

/* In a transaction: upserts the blob row (locking it) and moves tmp into
 * the store under its sha256 (qmodel/blobs.h). */
int qa_package_commit(struct db *db, const char *root, const char *tmp, const struct qa_pkg *pkg,
                      struct error *err) IOT_WUR;

/* The code object stored for a package function. New. */
cJSON *qa_package_code(const struct qa_pkg *pkg);

/* Resolves the board/fleet references of s into t (404 answered). */
int qa_fnspec_target(struct qa_call *c, const struct qa_fnspec *s, struct qm_target *t);

/* Streams the stored package sha (format zip or tar.gz) as an attachment
 * called name, or answers 404 "Blob <sha256> not found.". */
void qa_send_package(struct qa_call *c, const char *sha, const char *format, const char *name);

/* Answers function id with status (in the caller's scope). */
int qa_function_answer(struct qa_call *c, const char *id, int status);

#endif

/* qapi/multipart.h: multipart/form-data bodies (RFC 7578), as
 * python-qinlingclient sends function creates and updates (3.1).
 *
 * The body is in memory; parts are handed out as pointers into it (the
 * package part is binary and may hold anything, NULs included). Only what
 * form-data needs is read from part headers: the name and filename of
 * Content-Disposition. Limits: QA_MP_MAX_PARTS parts, QA_MP_MAX_HEAD bytes
 * of headers per part. Pure: no allocation, no I/O; any thread. */
#ifndef QA_MULTIPART_H
#define QA_MULTIPART_H

#include <stddef.h>

#include "common/error.h"

#define QA_MP_MAX_PARTS 256
#define QA_MP_MAX_HEAD 8192
#define QA_MP_BOUNDARY_MAX 70 /* RFC 2046 */
#define QA_MP_NAME_MAX 256

struct qa_part {
    char name[QA_MP_NAME_MAX + 1];
    int has_filename;
    const char *data;
    size_t len;
};

typedef int (*qa_part_fn)(void *arg, const struct qa_part *p);

/* The boundary parameter of a Content-Type value into out (unquoted).
 * 0, or -EINVAL when absent or invalid. */
int qa_multipart_boundary(const char *content_type, char out[QA_MP_BOUNDARY_MAX + 1]) IOT_WUR;

/* Parses body and calls fn for each part, in order; a non-zero return from
 * fn stops with that value. 0, or -EINVAL with the reason in err. */
int qa_multipart_parse(const char *body, size_t len, const char *boundary, qa_part_fn fn, void *arg,
                       struct error *err) IOT_WUR;

#endif

/* http/range.h: the single byte range of a Range request header (RFC 9110
 * 14.1.2), for blob and runtime archive downloads that resume.
 *
 * Only one range is served. A header that is malformed, uses another unit,
 * or lists several ranges is ignored (the full body is sent with 200), which
 * RFC 9110 allows. A well-formed range that starts past the end answers 416.
 * Pure. */
#ifndef IOT_HTTP_RANGE_H
#define IOT_HTTP_RANGE_H

#include <stdint.h>

enum http_range_result {
    HTTP_RANGE_NONE = 0,           /* no usable Range: send everything (200) */
    HTTP_RANGE_OK = 1,             /* send [*off, *off + *len) with 206 */
    HTTP_RANGE_UNSATISFIABLE = -1, /* 416 with "Content-Range: bytes * /size" */
};

/* header may be NULL. size is the full length of the representation. */
enum http_range_result http_range_parse(const char *header, uint64_t size, uint64_t *off,
                                        uint64_t *len);

#endif

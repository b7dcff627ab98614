/* http/chunked.h: incremental decoder of the chunked transfer coding.
 *
 * Bytes go in as they arrive, in pieces of any size; the decoder hands back
 * spans of body data that point into the input, so nothing is copied.
 * Chunk extensions and trailer fields are skipped (each line limited to
 * CHUNKED_LINE_MAX bytes, the trailer section to CHUNKED_TRAILER_MAX), since
 * no service uses them. Pure; one decoder per request body. */
#ifndef IOT_HTTP_CHUNKED_H
#define IOT_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CHUNKED_LINE_MAX 1024
#define CHUNKED_TRAILER_MAX 16384

struct chunked {
    int state;
    uint64_t left;  /* bytes of the current chunk still to come */
    size_t line;    /* length of the current size/extension/trailer line */
    size_t trailer; /* bytes of trailer seen */
    int digits;     /* hex digits of the size seen */
    int cr;         /* a CR was seen on the size line */
    int done;       /* 1 once the last chunk and the trailer were read */
};

void chunked_init(struct chunked *c);

/* Consumes bytes from in[0..len) until it has a span of body data, the body
 * ends, or the input runs out. Returns the number of bytes consumed, or -1
 * for malformed input. *data and *dlen are the span found (inside in), or
 * NULL/0. Call again with the rest of the input until it is used up or
 * c->done is set; bytes after the end belong to the next request. */
ssize_t chunked_feed(struct chunked *c, const char *in, size_t len, const char **data,
                     size_t *dlen);

#endif

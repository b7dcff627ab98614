/* qapi/multipart.c: see multipart.h. */
#include "qapi/multipart.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A parameter value of a header (token or quoted-string) after "key=" at p;
 * copies it into out and returns the end, or NULL. */
static const char *param_value(const char *p, const char *end, char *out, size_t outsz)
{
    size_t n = 0;

    if (p < end && *p == '"') {
        for (p++; p < end && *p != '"'; p++) {
            if (*p == '\\' && p + 1 < end)
                p++;
            if (n + 1 >= outsz)
                return NULL;
            out[n++] = *p;
        }
        if (p >= end)
            return NULL;
        p++;
    } else {
        while (p < end && *p != ';' && *p != ' ' && *p != '\t' && *p != '\r') {
            if (n + 1 >= outsz)
                return NULL;
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return p;
}

/* Finds parameter key in the header value [p, end) and copies its value. */
static int header_param(const char *p, const char *end, const char *key, char *out, size_t outsz)
{
    size_t klen = strlen(key);

    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));

        if (semi == NULL)
            return -ENOENT;
        p = semi + 1;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(end - p) > klen && strncasecmp(p, key, klen) == 0 && p[klen] == '=')
            return param_value(p + klen + 1, end, out, outsz) != NULL ? 0 : -EINVAL;
    }
    return -ENOENT;
}

int qa_multipart_boundary(const char *ct, char out[QA_MP_BOUNDARY_MAX + 1])
{
    size_t n;

    if (ct == NULL ||
        header_param(ct, ct + strlen(ct), "boundary", out, QA_MP_BOUNDARY_MAX + 1) < 0)
        return -EINVAL;
    n = strlen(out);
    if (n == 0 || n > QA_MP_BOUNDARY_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            return -EINVAL;
    return 0;
}

/* Reads the headers [p, end) of one part into part. */
static int part_headers(const char *p, const char *end, struct qa_part *part, struct error *err)
{
    char fname[2];
    int found = 0;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol != NULL ? eol : end;
        static const char cd[] = "content-disposition:";

        if ((size_t)(le - p) > sizeof(cd) - 1 && strncasecmp(p, cd, sizeof(cd) - 1) == 0) {
            const char *v = p + sizeof(cd) - 1;

            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            if ((size_t)(le - v) < 9 || strncasecmp(v, "form-data", 9) != 0)
                return error_set(err, -EINVAL, "a part is not form-data");
            if (header_param(v, le, "name", part->name, sizeof(part->name)) < 0 ||
                part->name[0] == '\0')
                return error_set(err, -EINVAL, "a part has no valid name");
            /* Only the presence of a filename matters; its text is ignored (3.1). */
            part->has_filename = header_param(v, le, "filename", fname, sizeof(fname)) != -ENOENT;
            found = 1;
        }
        p = le + 1;
    }
    return found ? 0 : error_set(err, -EINVAL, "a part has no Content-Disposition");
}

/* One part starting at p (after the boundary line); sets *next past it. */
static int one_part(const char *p, const char *end, const char *delim, size_t dlen,
                    struct qa_part *part, const char **next, struct error *err)
{
    const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
    const char *data, *stop;
    int rc;

    memset(part, 0, sizeof(*part));
    if (hend == NULL || hend - p > QA_MP_MAX_HEAD)
        return error_set(err, -EINVAL, "a part's headers do not end");
    rc = part_headers(p, hend, part, err);
    if (rc < 0)
        return rc;
    data = hend + 4;
    stop = memmem(data, (size_t)(end - data), delim, dlen);
    if (stop == NULL)
        return error_set(err, -EINVAL, "a part does not end with the boundary");
    part->data = data;
    part->len = (size_t)(stop - data);
    *next = stop + dlen;
    return 0;
}

int qa_multipart_parse(const char *body, size_t len, const char *boundary, qa_part_fn fn, void *arg,
                       struct error *err)
{
    char delim[QA_MP_BOUNDARY_MAX + 5];
    const char *p = body, *end = body + len;
    size_t dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    int nparts = 0, rc;

    /* The first boundary has no CRLF before it (a preamble is allowed). */
    p = memmem(p, len, delim + 2, dlen - 2);
    if (p == NULL)
        return error_set(err, -EINVAL, "the body has no boundary");
    p += dlen - 2;
    for (;;) {
        struct qa_part part;

        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return 0; /* the closing boundary; an epilogue is ignored */
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return error_set(err, -EINVAL, "a boundary line is malformed");
        if (++nparts > QA_MP_MAX_PARTS)
            return error_set(err, -EINVAL, "more than %d parts", QA_MP_MAX_PARTS);
        rc = one_part(p + 2, end, delim, dlen, &part, &p, err);
        if (rc == 0)
            rc = fn(arg, &part);
        if (rc != 0)
            return rc;
    }
}

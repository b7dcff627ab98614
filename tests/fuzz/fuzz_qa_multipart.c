/* libFuzzer target for qapi/multipart: the form-data bodies function creates
 * and updates arrive in. The first byte is the boundary's length (1..70),
 * the following bytes the boundary, the rest the body. Invariants besides
 * "no crash, no out-of-bounds read": every part lies inside the body and has
 * a name, a failure has a message, and the count stays within the limit. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qapi/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct span {
    const char *body;
    size_t len;
    int n;
};

static int check(void *arg, const struct qa_part *p)
{
    struct span *s = arg;

    if (p->data < s->body || p->data + p->len > s->body + s->len || p->name[0] == '\0')
        abort();
    if (++s->n > QA_MP_MAX_PARTS)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char boundary[QA_MP_BOUNDARY_MAX + 1];
    struct error err = {0};
    struct span s;
    size_t blen;
    char *body;
    int rc;

    if (size < 2)
        return 0;
    blen = (size_t)(data[0] % QA_MP_BOUNDARY_MAX) + 1;
    if (size < 1 + blen)
        return 0;
    memcpy(boundary, data + 1, blen);
    boundary[blen] = '\0';
    if (strlen(boundary) != blen)
        return 0;
    /* A copy of exactly the body's bytes, so that ASan sees any overread. */
    s.len = size - 1 - blen;
    body = malloc(s.len ? s.len : 1);
    memcpy(body, data + 1 + blen, s.len);
    s.body = body;
    s.n = 0;
    rc = qa_multipart_parse(body, s.len, boundary, check, &s, &err);
    if (rc < 0 && (rc != -EINVAL || err.msg[0] == '\0'))
        abort();
    free(body);
    return 0;
}

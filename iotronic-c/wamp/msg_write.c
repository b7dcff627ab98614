/* wamp/msg_write.c: serialisation of WAMP messages (msg.h).
 *
 * Writes by the same layout table the parser checks against, so whatever is
 * written here parses back (the fuzzer holds it to that): ids are checked
 * against 2^53, strings against UTF-8, raw parts are re-validated with the
 * strict scanner and trees are printed exactly (json_out.h), both nested at
 * most as deep as the parser accepts. On failure the buffer is restored to
 * its length on entry, so a caller can keep appending to it. */
#include "wamp/msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "wamp/json_out.h"
#include "wamp/json_strict.h"
#include "wamp/msg_layout.h"

/* 1 when p is absent or an empty array/object: such trailing parts are not
 * written. A part of the wrong type counts as present, so that writing it
 * reports the error. */
static int part_empty(const struct wamp_part *p, int array)
{
    struct wamp_json_scan s;

    if (p->json != NULL) {
        s = (struct wamp_json_scan){p->json, p->json, p->json + p->len};
        wamp_json_skip_ws(&s);
        if (s.p == s.end || *s.p != (array ? '[' : '{'))
            return 0;
        s.p++;
        wamp_json_skip_ws(&s);
        return s.p < s.end && *s.p == (array ? ']' : '}');
    }
    if (p->tree != NULL)
        return (array ? cJSON_IsArray(p->tree) : cJSON_IsObject(p->tree)) && p->tree->child == NULL;
    return 1;
}

static int write_part(struct buf *b, const struct wamp_part *p, enum wamp_json_kind want,
                      struct error *err)
{
    struct wamp_json_scan s;
    int rc;

    if (p->json != NULL) {
        rc = wamp_json_check(p->json, p->len, WAMP_JSON_DEPTH_MAX - 1, err);
        if (rc < 0)
            return -EINVAL;
        s = (struct wamp_json_scan){p->json, p->json, p->json + p->len};
        wamp_json_skip_ws(&s);
        if (wamp_json_kind_of(*s.p) != want)
            return error_set(err, -EINVAL, "must be %s", wamp_json_kind_name(want));
        return buf_append(b, p->json, p->len);
    }
    if (p->tree != NULL) {
        if ((want == WAMP_JSON_ARRAY && !cJSON_IsArray(p->tree)) ||
            (want == WAMP_JSON_OBJECT && !cJSON_IsObject(p->tree)))
            return error_set(err, -EINVAL, "must be %s", wamp_json_kind_name(want));
        return wamp_json_write(b, p->tree, WAMP_JSON_DEPTH_MAX - 1, 0, err);
    }
    return buf_append(b, want == WAMP_JSON_ARRAY ? "[]" : "{}", 2);
}

static int write_id(struct buf *b, uint64_t v, struct error *err)
{
    if (v > WAMP_ID_MAX)
        return error_set(err, -EINVAL, "%llu is above 2^53", (unsigned long long)v);
    return buf_printf(b, "%llu", (unsigned long long)v);
}

static int write_el(struct buf *b, const struct wamp_msg *m, enum wamp_el el, struct error *err)
{
    switch (el) {
    case WAMP_EL_REQUEST:
        return write_id(b, m->request, err);
    case WAMP_EL_SESSION:
        return write_id(b, m->session, err);
    case WAMP_EL_REGISTRATION:
        return write_id(b, m->registration, err);
    case WAMP_EL_SUBSCRIPTION:
        return write_id(b, m->subscription, err);
    case WAMP_EL_PUBLICATION:
        return write_id(b, m->publication, err);
    case WAMP_EL_REQTYPE:
        if (!wamp_type_errorable(m->req_type))
            return error_set(err, -EINVAL, "%d is not a request that can fail", m->req_type);
        return buf_printf(b, "%d", (int)m->req_type);
    case WAMP_EL_DICT:
        return write_part(b, &m->details, WAMP_JSON_OBJECT, err);
    case WAMP_EL_STRING:
        if (m->uri == NULL)
            return error_set(err, -EINVAL, "is missing");
        return wamp_json_write_string(b, m->uri, strlen(m->uri), err);
    case WAMP_EL_ARGS:
        return write_part(b, &m->args, WAMP_JSON_ARRAY, err);
    case WAMP_EL_KWARGS:
        return write_part(b, &m->kwargs, WAMP_JSON_OBJECT, err);
    }
    return error_set(err, -EINVAL, "unknown element");
}

/* How many elements after the code to write: trailing empty Args/Kwargs
 * are dropped, but Args stays whenever Kwargs does. */
static unsigned elements_to_write(const struct wamp_layout *l, const struct wamp_msg *m)
{
    unsigned n = l->n;

    if (n > 0 && l->el[n - 1] == WAMP_EL_KWARGS && part_empty(&m->kwargs, 0))
        n--;
    if (n > 0 && n == l->n - 1u && l->el[n - 1] == WAMP_EL_ARGS && part_empty(&m->args, 1))
        n--;
    return n;
}

static int write_all(struct buf *b, const struct wamp_msg *m, const struct wamp_layout *l,
                     struct error *err)
{
    unsigned n = elements_to_write(l, m);
    int rc = buf_printf(b, "[%d", (int)m->type);

    for (unsigned i = 0; rc == 0 && i < n; i++) {
        rc = buf_append(b, ",", 1);
        if (rc == 0)
            rc = write_el(b, m, (enum wamp_el)l->el[i], err);
        if (rc < 0 && rc != -E2BIG)
            return error_prefix(err, "%s: %s", l->name, l->label[i]);
    }
    return rc < 0 ? rc : buf_append(b, "]", 1);
}

int wamp_msg_write(struct buf *b, const struct wamp_msg *msg, struct error *err)
{
    const struct wamp_layout *l = wamp_layout_of((unsigned long long)msg->type);
    size_t start = b->len;
    int rc;

    if (l == NULL || l->refused)
        return error_set(err, -EINVAL, "cannot write a message of type %d (%s)", (int)msg->type,
                         l != NULL ? l->name : "unknown");
    rc = write_all(b, msg, l, err);
    if (rc < 0) {
        b->len = start;
        if (b->data != NULL)
            b->data[start] = '\0';
    }
    if (rc == -E2BIG)
        return error_set(err, -EMSGSIZE, "%s message longer than %zu bytes", l->name, b->limit);
    if (rc < 0 && err != NULL)
        err->code = -EINVAL; /* a scanner's -EPROTO means bad input to the writer */
    return rc < 0 ? -EINVAL : 0;
}

int wamp_msg_serialize(const struct wamp_msg *msg, char **out, size_t *len, struct error *err)
{
    struct buf b;
    int rc;

    buf_init(&b, WAMP_MSG_MAX);
    rc = wamp_msg_write(&b, msg, err);
    if (rc < 0) {
        buf_free(&b);
        return rc;
    }
    *out = buf_take(&b, len);
    return 0;
}

int wamp_msg_close_frame(enum wamp_type type, const char *reason, const char *message, char **out,
                         size_t *len, struct error *err)
{
    struct wamp_msg m = {.type = type, .reason = reason};
    struct buf details;
    int rc = 0;

    if (type != WAMP_ABORT && type != WAMP_GOODBYE)
        return error_set(err, -EINVAL, "not ABORT or GOODBYE: %d", (int)type);
    buf_init(&details, WAMP_MSG_MAX);
    if (message != NULL) {
        char *clean = xstrdup(message);

        /* Messages are often error texts cut at a byte limit. */
        wamp_utf8_sanitize(clean, strlen(clean));
        rc = buf_append_str(&details, "{\"message\":");
        if (rc == 0)
            rc = wamp_json_write_string(&details, clean, strlen(clean), err);
        free(clean);
        if (rc == 0)
            rc = buf_append(&details, "}", 1);
        m.details = WAMP_PART_JSON(details.data, details.len);
    }
    if (rc == -E2BIG)
        rc = error_set(err, -EMSGSIZE, "%s message too long", wamp_type_name(type));
    if (rc == 0)
        rc = wamp_msg_serialize(&m, out, len, err);
    buf_free(&details);
    return rc;
}

/* qapi/body.c: see body.h. */
#include "qapi/body.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "http/parse.h"
#include "qapi/multipart.h"
#include "qmodel/value.h"

#define FORM_FIELDS_MAX 256

int qa_form_urlencoded(struct qa_call *c, const char *text, size_t len, struct qa_formfield **out,
                       size_t *n)
{
    struct qa_formfield *v = http_req_alloc(c->r, FORM_FIELDS_MAX * sizeof(*v));
    const char *p = text, *end = text + len;

    *n = 0;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *pe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p)), *ne = eq ? eq : pe;
        char *name, *value;
        ssize_t nl, vl;

        if (pe > p) {
            if (*n == FORM_FIELDS_MAX)
                return -E2BIG;
            name = http_req_alloc(c->r, (size_t)(ne - p) + 1);
            value = http_req_alloc(c->r, eq ? (size_t)(pe - eq) : 1);
            nl = http_pct_decode(p, (size_t)(ne - p), name, 1);
            vl = eq ? http_pct_decode(eq + 1, (size_t)(pe - eq - 1), value, 1) : 0;
            if (nl < 0 || vl < 0)
                return -EINVAL;
            value[vl] = '\0';
            v[*n] = (struct qa_formfield){name, value, (size_t)vl, 0};
            (*n)++;
        }
        p = pe + (amp != NULL);
    }
    *out = v;
    return 0;
}

struct mp_ctx {
    struct qa_call *c;
    struct qa_formfield *v;
    size_t n;
};

static int on_part(void *arg, const struct qa_part *p)
{
    struct mp_ctx *m = arg;
    char *value;

    if (m->n == FORM_FIELDS_MAX)
        return -E2BIG;
    if (p->has_filename) {
        /* A file is used in place: it may be tens of megabytes. */
        m->v[m->n] = (struct qa_formfield){http_req_strdup(m->c->r, p->name), p->data, p->len, 1};
    } else {
        value = http_req_alloc(m->c->r, p->len + 1);
        memcpy(value, p->data, p->len);
        value[p->len] = '\0';
        m->v[m->n] = (struct qa_formfield){http_req_strdup(m->c->r, p->name), value, p->len, 0};
    }
    m->n++;
    return 0;
}

static int read_multipart(struct qa_call *c, const char *text, size_t len, struct qa_body *b)
{
    char boundary[QA_MP_BOUNDARY_MAX + 1];
    struct mp_ctx m = {c, http_req_alloc(c->r, FORM_FIELDS_MAX * sizeof(struct qa_formfield)), 0};
    struct error err;
    int rc;

    if (qa_multipart_boundary(http_req_header(c->r, "Content-Type"), boundary) < 0)
        return qa_fail(c, 400, "Invalid input, the multipart body has no valid boundary.");
    rc = qa_multipart_parse(text, len, boundary, on_part, &m, &err);
    if (rc == -E2BIG)
        return qa_fail(c, 400, "Invalid input, too many form fields.");
    if (rc < 0)
        return qa_fail(c, 400, "Invalid input, malformed multipart body: %s.", err.msg);
    b->kind = QA_BODY_FORM;
    b->fields = m.v;
    b->nfields = m.n;
    return 0;
}

static int read_json(struct qa_call *c, const char *text, size_t len, struct qa_body *b)
{
    struct error err;
    cJSON *j = NULL;

    if (json_parse(text, len, &j, &err) < 0)
        return qa_fail(c, 400, "Invalid input, the body is not valid JSON: %s", err.msg);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return qa_fail(c, 400, "Invalid input, the body must be a JSON object.");
    }
    b->kind = QA_BODY_JSON;
    b->json = j;
    return 0;
}

int qa_body_read(struct qa_call *c, unsigned accept, struct qa_body *b)
{
    size_t len = 0;
    const char *text = http_req_body(c->r, &len);
    const char *mt = http_req_media_type(c->r);
    int rc;

    memset(b, 0, sizeof(*b));
    if (len == 0)
        return 0;
    if (mt[0] == '\0' || strcmp(mt, "application/json") == 0)
        return read_json(c, text, len, b);
    if ((accept & QA_ACCEPT_FORM) && strcmp(mt, "multipart/form-data") == 0)
        return read_multipart(c, text, len, b);
    if ((accept & QA_ACCEPT_FORM) && strcmp(mt, "application/x-www-form-urlencoded") == 0) {
        rc = qa_form_urlencoded(c, text, len, &b->fields, &b->nfields);
        if (rc < 0)
            return qa_fail(c, 400, "Invalid input, malformed form body.");
        b->kind = QA_BODY_FORM;
        return 0;
    }
    return qa_fail(c, 415, "Unsupported content type %s.", mt);
}

void qa_body_free(struct qa_body *b)
{
    cJSON_Delete(b->json);
    memset(b, 0, sizeof(*b));
}

const struct qa_formfield *qa_body_file(const struct qa_body *b, const char *name)
{
    const struct qa_formfield *found = NULL;

    for (size_t i = 0; b->kind == QA_BODY_FORM && i < b->nfields; i++)
        if (b->fields[i].is_file && strcmp(b->fields[i].name, name) == 0)
            found = &b->fields[i];
    return found;
}

static int bad_int(struct qa_call *c, const struct qa_field *f)
{
    if (f->int_msg != NULL)
        return qa_fail(c, 400, "%s", f->int_msg);
    return qa_fail(c, 400, "Invalid value for %s: an integer is required.", f->name);
}

/* A value given as text (every form field; strings in JSON for numbers and
 * booleans). */
static int from_text(struct qa_call *c, const struct qa_field *f, const char *s, struct qa_value *v)
{
    switch (f->type) {
    case QA_T_INT:
        return qm_parse_int(s, &v->i) < 0 ? bad_int(c, f) : 0;
    case QA_T_BOOL:
        if (qm_parse_bool(s, &v->b) < 0)
            return qa_fail(c, 400, "Invalid value for %s: a boolean is required.", f->name);
        return 0;
    default:
        v->s = s;
        return 0;
    }
}

static int from_json(struct qa_call *c, const struct qa_field *f, const cJSON *it,
                     struct qa_value *v)
{
    if (cJSON_IsNull(it)) {
        if (!(f->flags & QA_F_NULL))
            return qa_fail(c, 400, "Invalid value for %s: null is not allowed.", f->name);
        v->null = 1;
        return 0;
    }
    if (f->type == QA_T_JSON) {
        v->j = it;
        return 0;
    }
    if (cJSON_IsString(it))
        return f->type == QA_T_STR || f->type == QA_T_INT || f->type == QA_T_BOOL
                   ? from_text(c, f, it->valuestring, v)
                   : 0;
    if (f->type == QA_T_INT)
        return json_int_value(it, INT64_MIN, INT64_MAX, &v->i) ? 0 : bad_int(c, f);
    if (f->type == QA_T_BOOL && cJSON_IsBool(it)) {
        v->b = cJSON_IsTrue(it);
        return 0;
    }
    if (f->type == QA_T_BOOL)
        return qa_fail(c, 400, "Invalid value for %s: a boolean is required.", f->name);
    return qa_fail(c, 400, "Invalid value for %s: a string is required.", f->name);
}

static const struct qa_field *field_of(const struct qa_field *fields, size_t n, const char *name,
                                       size_t *idx)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(fields[i].name, name) == 0) {
            *idx = i;
            return &fields[i];
        }
    }
    return NULL;
}

static int json_fields(struct qa_call *c, const cJSON *obj, const struct qa_field *fields, size_t n,
                       struct qa_value *out)
{
    const cJSON *it;
    size_t i = 0;

    cJSON_ArrayForEach(it, obj)
    {
        const struct qa_field *f = field_of(fields, n, it->string, &i);

        if (f == NULL)
            return qa_fail(c, 400, "Unknown attribute: %s", it->string);
        if (f->flags & QA_F_RO)
            return qa_fail(c, 400, "Attribute %s is read-only.", it->string);
        memset(&out[i], 0, sizeof(out[i]));
        out[i].present = 1;
        if (from_json(c, f, it, &out[i]) < 0)
            return -1;
    }
    return 0;
}

int qa_fields(struct qa_call *c, const struct qa_body *b, const struct qa_field *fields, size_t n,
              struct qa_value *out)
{
    size_t idx = 0;

    memset(out, 0, n * sizeof(*out));
    if (b->kind == QA_BODY_JSON)
        return json_fields(c, b->json, fields, n, out);
    for (size_t i = 0; b->kind == QA_BODY_FORM && i < b->nfields; i++) {
        const struct qa_field *f = field_of(fields, n, b->fields[i].name, &idx);

        /* Unknown and read-only form fields are ignored (1.4): clients send
         * extras such as `source`. */
        if (f == NULL || b->fields[i].is_file || (f->flags & QA_F_RO))
            continue;
        memset(&out[idx], 0, sizeof(out[idx]));
        out[idx].present = 1;
        if (from_text(c, f, b->fields[i].value, &out[idx]) < 0)
            return -1;
    }
    return 0;
}

int qa_value_json(const struct qa_value *v, int parse_strings, const cJSON **out, cJSON **owned)
{
    const char *text =
        v->j != NULL ? (cJSON_IsString(v->j) && parse_strings ? v->j->valuestring : NULL) : v->s;

    *owned = NULL;
    *out = v->j;
    if (text == NULL)
        return v->j != NULL ? 0 : -EINVAL;
    if (json_parse(text, strlen(text), owned, NULL) < 0)
        return -EINVAL;
    *out = *owned;
    return 0;
}

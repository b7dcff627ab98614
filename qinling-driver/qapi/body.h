/* qapi/body.h: request bodies and their fields (deviceless-api.md 1.3, 1.4).
 *
 * A body is read once into a uniform set of fields: the members of a JSON
 * object, or the fields of a form (application/x-www-form-urlencoded or
 * multipart/form-data, whose file parts are kept as bytes). Handlers then
 * read typed values through a table of the fields they accept, which applies
 * the contract's rules: in JSON an unknown attribute or a read-only one is a
 * 400, a form ignores unknown fields; integers may be JSON integers or
 * decimal text; booleans JSON booleans or oslo's words. Everything borrowed
 * from a body lives until qa_body_free(). Worker threads. */
#ifndef QA_BODY_H
#define QA_BODY_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "qapi/call.h"

enum qa_body_kind { QA_BODY_NONE, QA_BODY_JSON, QA_BODY_FORM };

/* Body types a route accepts besides JSON. */
#define QA_ACCEPT_FORM 0x1u /* urlencoded and multipart */

struct qa_formfield {
    const char *name;
    const char *value; /* NUL-terminated (a file may hold NULs: use len) */
    size_t len;
    int is_file;
};

struct qa_body {
    enum qa_body_kind kind;
    cJSON *json; /* an object */
    struct qa_formfield *fields;
    size_t nfields;
};

/* Reads the request body. An empty body is QA_BODY_NONE. Answers and
 * returns -1 on: 415 "Unsupported content type <type>." (a type the route
 * does not take; a missing Content-Type is read as JSON), 400 for JSON that
 * does not parse or is not an object ("Invalid input, ..."), or a malformed
 * form. */
int qa_body_read(struct qa_call *c, unsigned accept, struct qa_body *b);
void qa_body_free(struct qa_body *b);

/* The file part of a form named name, or NULL. */
const struct qa_formfield *qa_body_file(const struct qa_body *b, const char *name);

/* Parses x-www-form-urlencoded text into fields allocated in the request. */
int qa_form_urlencoded(struct qa_call *c, const char *text, size_t len, struct qa_formfield **out,
                       size_t *n);

enum qa_ftype { QA_T_STR, QA_T_INT, QA_T_BOOL, QA_T_JSON };

#define QA_F_RO 0x1u   /* read-only: refused in a JSON body */
#define QA_F_NULL 0x2u /* an explicit null is accepted (value.null) */

struct qa_field {
    const char *name;
    enum qa_ftype type;
    unsigned flags;
    const char *int_msg; /* the 400 for a non-integer; NULL: the generic one */
};

struct qa_value {
    int present;   /* in the body */
    int null;      /* explicitly null (QA_F_NULL) */
    const char *s; /* QA_T_STR; QA_T_JSON from a form: the text */
    int64_t i;
    int b;
    const cJSON *j; /* QA_T_JSON from a JSON body */
};

/* Reads fields[0..n) from b into out[0..n) (indexes match). Answers 400 and
 * returns -1 for: "Unknown attribute: <name>", "Attribute <name> is
 * read-only.", "Invalid value for <name>: an integer is required." (or the
 * field's own int_msg), a non-boolean, a non-string, a null where none is
 * allowed. */
int qa_fields(struct qa_call *c, const struct qa_body *b, const struct qa_field *fields, size_t n,
              struct qa_value *out);

/* A QA_T_JSON value as a tree: the JSON item of a JSON body (a string in it
 * is parsed as JSON text when parse_strings), or the parsed text of a form
 * field. 0 and *out (borrowed or owned: free *owned with cJSON_Delete), or
 * -EINVAL when the text does not parse. */
int qa_value_json(const struct qa_value *v, int parse_strings, const cJSON **out, cJSON **owned);

#endif

/* api/schema.h: typed request bodies (iotronic-api-v1.md 1.11, 1.12).
 *
 * Each body argument (Board, val_Board, Injection, ...) is a table of
 * attributes. api_body_parse() parses the JSON text once and checks, in the
 * contract's order: empty body, JSON syntax (and UTF-8), top-level type,
 * unknown attributes (all of them, in body order), then per attribute in
 * table order: read-only, locked uuid, null, type (with the CLI's string
 * coercions for booleans, integers and dictionaries), length, range, choice.
 * Afterwards handlers read only the typed struct api_val of each attribute;
 * semantic checks (required fields, name rules) stay with the handler, as
 * they come later in the order of checks (1.14). Pure; any thread. */
#ifndef IOT_API_SCHEMA_H
#define IOT_API_SCHEMA_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/uuid.h"

#define API_MAX_ATTRS 24

enum api_atype {
    AT_STR,     /* JSON string */
    AT_INT,     /* integer, or a string of decimal digits */
    AT_BOOL,    /* true/false, or an oslo boolean string */
    AT_DICT,    /* object, or a string holding a JSON object */
    AT_UUID,    /* UUID-like string, normalised */
    AT_OBJLIST, /* array of objects checked against sub */
    AT_STRLIST, /* array of strings */
};

#define AA_RO 0x1u          /* read-only: "Cannot set read only field." */
#define AA_NULLABLE 0x2u    /* null accepted */
#define AA_UUID_LOCKED 0x4u /* "Cannot overwrite UUID for an existing <Kind>." */

struct api_schema;

struct api_attr {
    const char *name;
    enum api_atype type;
    unsigned flags;
    int64_t min, max;             /* AT_INT range; AT_STR: max characters (0: none) */
    const char *choices;          /* AT_STR: "TCP|UDP|ANY" */
    const struct api_schema *sub; /* AT_OBJLIST */
};

struct api_schema {
    const char *arg;  /* the argument name used in messages: "Board", "val_Board" */
    const char *Kind; /* for AA_UUID_LOCKED: "Board" */
    const struct api_attr *attrs;
    unsigned n; /* <= API_MAX_ATTRS */
};

struct api_val {
    int present;   /* the key was in the body */
    int null;      /* its value was null */
    const char *s; /* AT_STR; AT_UUID: points at uuid */
    char uuid[UUID_STR_LEN];
    int64_t i;      /* AT_INT */
    int b;          /* AT_BOOL */
    const cJSON *j; /* AT_DICT (always an object), AT_OBJLIST, AT_STRLIST */
};

/* A parsed body: owns the trees; vals[i] belongs to schema attribute i. */
struct api_body {
    cJSON *root;
    cJSON *owned[API_MAX_ATTRS]; /* dictionaries given as JSON text */
    struct api_val v[API_MAX_ATTRS];
};

/* Parses text (len bytes) against s into out (always free it with
 * api_body_free, also on failure). Returns 0, or -EINVAL with the 400 message
 * in err. */
int api_body_parse(const struct api_schema *s, const char *text, size_t len, struct api_body *out,
                   struct error *err) IOT_WUR;
void api_body_free(struct api_body *b);

/* The value of attribute name (NULL if the schema has none). */
const struct api_val *api_body_get(const struct api_schema *s, const struct api_body *b,
                                   const char *name);

/* Validates one object (an array element) against s; arg is its path for
 * messages ("Board.location"). Fills vals (s->n entries, borrowing from obj). */
int api_object_check(const struct api_schema *s, const char *arg, const cJSON *obj,
                     struct api_val *vals, cJSON **owned, struct error *err) IOT_WUR;

/* The JSON type name of item as messages spell it. */
const char *api_json_type(const cJSON *item);

/* The bodies of section 2. */
extern const struct api_schema api_schema_board_post, api_schema_board_patch, api_schema_location,
    api_schema_plugin_post, api_schema_plugin_patch, api_schema_service_post,
    api_schema_service_patch, api_schema_fleet_post, api_schema_fleet_patch,
    api_schema_board_action, api_schema_injection, api_schema_plugin_action,
    api_schema_service_action, api_schema_network, api_schema_webservice, api_schema_enable_ws;

#endif

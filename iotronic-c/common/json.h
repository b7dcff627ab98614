/* common/json.h: parsing and validated access on cJSON.
 *
 * Outside input is parsed once with json_parse() (whole buffer, no trailing
 * garbage, bounded size) and then read only through the typed getters, which
 * check presence, type, length and range and say which key was wrong. After
 * validation nothing else touches the cJSON tree. The getters return borrowed
 * pointers into the tree. */
#ifndef IOT_COMMON_JSON_H
#define IOT_COMMON_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Getter flags. */
#define JSON_OPTIONAL 0
#define JSON_REQUIRED 1 /* absent: -ENOENT with a message */
#define JSON_NULLABLE 2 /* an explicit null is accepted: *out = NULL / untouched, returns 1 */

/* Parses exactly len bytes of JSON text (surrounding whitespace allowed).
 * On success *out is a new tree (cJSON_Delete). -EINVAL with a message on a
 * syntax error or trailing garbage. */
int json_parse(const char *text, size_t len, cJSON **out, struct error *err) IOT_WUR;

/* Each getter returns 0 when the key is present and valid, -ENOENT when it is
 * absent (an error only with JSON_REQUIRED, which also sets err), 1 when it is
 * null and JSON_NULLABLE allows it, and -EINVAL (err set, naming the key) for
 * a wrong type or value. */
int json_get_str(const cJSON *obj, const char *key, int flags, size_t maxlen, const char **out,
                 struct error *err) IOT_WUR;
int json_get_int(const cJSON *obj, const char *key, int flags, int64_t min, int64_t max,
                 int64_t *out, struct error *err) IOT_WUR;
int json_get_double(const cJSON *obj, const char *key, int flags, double *out,
                    struct error *err) IOT_WUR;
int json_get_bool(const cJSON *obj, const char *key, int flags, int *out,
                  struct error *err) IOT_WUR;
int json_get_object(const cJSON *obj, const char *key, int flags, const cJSON **out,
                    struct error *err) IOT_WUR;
int json_get_array(const cJSON *obj, const char *key, int flags, const cJSON **out,
                   struct error *err) IOT_WUR;

/* 1 when item is a number with an integral value in [min, max]; stores it. */
int json_int_value(const cJSON *item, int64_t min, int64_t max, int64_t *out);

/* Compact text of item; the caller frees it with free(). Never NULL. */
char *json_print(const cJSON *item);

/* Adds key: s, or key: null when s is NULL. Returns the new item. */
cJSON *json_add_str_or_null(cJSON *obj, const char *key, const char *s);

/* An integer item printed exactly (cJSON alone rounds large values). Values
 * outside int32 become raw-text items: print them, do not read them back. */
cJSON *json_create_int(int64_t v);
cJSON *json_add_int(cJSON *obj, const char *key, int64_t v);

/* A deep copy of item, or a new empty object when item is NULL. */
cJSON *json_dup_or_object(const cJSON *item);

#endif

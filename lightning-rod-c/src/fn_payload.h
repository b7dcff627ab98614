/* src/fn_payload.h: validation of the function payloads the cloud sends a board.
 *
 * FunctionExecute, FunctionDeploy, FunctionRemove and CachePurge
 * (deviceless-api.md 3.9) are turned into typed structs here, every field
 * checked for presence, type, length and range, and nothing after this
 * module touches their cJSON. Device specs go through hal_devspec (the one
 * place for their rules). Messages name the field, for an ERROR reply with
 * code "bad_request".
 *
 * Pure: no I/O, no globals, any thread. */
#ifndef LRC_FN_PAYLOAD_H
#define LRC_FN_PAYLOAD_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/uuid.h"
#include "hal/devspec.h"
#include "src/fn_cache.h"

#define FN_ENTRY_MAX 80
#define FN_INPUT_MAX (1 << 20) /* stdin text: 64 KiB of input, escaped */
#define FN_URL_MAX 2048
#define FN_TOKEN_MAX 4096
#define FN_IMAGE_ARGS_MAX 64
#define FN_ARG_MAX 4096
#define FN_RUNTIME_NAME_MAX 255
#define FN_PACKAGE_SIZE_MAX 52428800LL   /* 3.1 */
#define FN_RUNTIME_SIZE_MAX 1073741824LL /* [storage] max_image_size ceiling */
#define FN_TIMEOUT_MAX 86400
#define FN_KEEP_WARM_MAX 64
#define FN_PURGE_MAX 1024
#define FN_ENV_MAX 128

enum fn_input_kind { FN_INPUT_NONE, FN_INPUT_JSON, FN_INPUT_RAW };
enum fn_req_type { FN_REQ_EXECUTE, FN_REQ_DEPLOY };

/* A runtime's config from the payload (3.2), before it is overlaid on the
 * archive's runtime.json. NULL members were absent. */
struct fn_rt_config {
    char **entrypoint; /* NULL-terminated */
    char **env;        /* NULL-terminated, NAME=value */
    char *cwd;
};

/* A validated FunctionExecute (or FunctionDeploy, without the execution
 * fields). Owns everything; fn_req_free() releases it. */
struct fn_req {
    enum fn_req_type type;
    char execution_id[UUID_STR_LEN]; /* "" for deploy */
    char function_id[UUID_STR_LEN];
    int64_t function_version;
    char *entry; /* NULL for image functions without one */
    char *input; /* stdin text, valid JSON ("{}" when none) */
    size_t input_len;
    char *input_text; /* the "input" field as sent (NULL when absent) */
    enum fn_input_kind input_kind;
    char **image_args; /* NULL-terminated or NULL */
    int64_t timeout, cpu, memory_size;
    char **devices; /* canonical specs, NULL-terminated */
    size_t ndevices;
    int raw_access;   /* device_access: raw */
    int network_host; /* network: host */
    int64_t keep_warm, warm_ttl;
    int64_t deadline;      /* µs since the epoch, 0: none */
    int64_t dispatched_at; /* µs, 0: not given */
    int has_package;
    struct fn_blob package; /* url/token point into the strings below */
    struct fn_blob runtime;
    char runtime_id[UUID_STR_LEN];
    char *runtime_name;
    struct fn_rt_config rt;
    char *pkg_url, *pkg_token, *rt_url, *rt_token;
};

/* Parses and validates payload. On success *out is new (fn_req_free). On
 * failure -EINVAL and err says what ("timeout must be an integer between 1
 * and 86400"). */
int fn_req_parse(const cJSON *payload, enum fn_req_type type, struct fn_req **out,
                 struct error *err) IOT_WUR;
void fn_req_free(struct fn_req *r); /* accepts NULL */

/* FunctionRemove: function_id, function_version (null: all versions), purge. */
struct fn_remove_req {
    char function_id[UUID_STR_LEN];
    int64_t function_version; /* -1: every version */
    char (*purge)[FN_SHA256_HEX];
    size_t npurge;
};

int fn_remove_parse(const cJSON *payload, struct fn_remove_req *out, struct error *err) IOT_WUR;
/* CachePurge: purge only. */
int fn_purge_parse(const cJSON *payload, struct fn_remove_req *out, struct error *err) IOT_WUR;
void fn_remove_clear(struct fn_remove_req *r);

/* 1 when s is 64 (or 32, for md5) hex digits; lower-cases it in place. */
int fn_hex_digest(char *s, size_t len);

#endif

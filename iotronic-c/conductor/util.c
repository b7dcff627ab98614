/* conductor/util.c: helpers shared by the handlers. */
#include "conductor/handlers.h"

#include <errno.h>
#include <stdlib.h>

#include "api/fault.h"
#include "common/json.h"

void cond_reply_call(struct mq_req *req, int rc, struct cond_call_result *r,
                     const struct error *err)
{
    cJSON *o;

    if (rc < 0) {
        cond_reply_error(req, err, r->request);
        cond_call_result_free(r);
        return;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", r->message ? r->message : "");
    cJSON_AddStringToObject(o, "request", r->request);
    cond_call_result_free(r);
    mq_reply(req, o);
}

int cond_opt_str(const cJSON *o, const char *key, const char **out, struct error *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

    *out = NULL;
    if (it == NULL)
        return 0;
    if (cJSON_IsNull(it))
        return 1;
    if (!cJSON_IsString(it))
        return api_fail(err, 400, "%s must be a string", key);
    *out = it->valuestring;
    return 1;
}

int cond_opt_json(const cJSON *o, const char *key, char **out, struct error *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

    *out = NULL;
    if (it == NULL)
        return 0;
    if (!cJSON_IsObject(it))
        return api_fail(err, 400, "%s must be an object", key);
    *out = json_print(it);
    return 1;
}

int cond_opt_bool(const cJSON *o, const char *key, int *out, struct error *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

    if (it == NULL)
        return 0;
    if (!cJSON_IsBool(it))
        return api_fail(err, 400, "%s must be a boolean", key);
    *out = cJSON_IsTrue(it);
    return 1;
}

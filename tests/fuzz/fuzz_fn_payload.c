/* libFuzzer target for the function executor's parsers of outside input:
 * the FunctionExecute/Deploy/Remove/CachePurge payloads the cloud sends
 * (src/fn_payload.h) and a function's result file (src/fn_result.h).
 * Promise: any bytes are answered with a value or a clear error, never a
 * crash, a leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "src/fn_payload.h"
#include "src/fn_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fn_remove_req rm;
    struct fn_req *r = NULL;
    cJSON *tree = NULL, *out;
    char *text;

    xalloc_init();
    out = fn_result_output((const char *)data, size);
    text = json_print(out);
    free(text);
    cJSON_Delete(out);
    if (json_parse((const char *)data, size, &tree, NULL) < 0)
        return 0;
    if (fn_req_parse(tree, FN_REQ_EXECUTE, &r, NULL) == 0)
        fn_req_free(r);
    if (fn_req_parse(tree, FN_REQ_DEPLOY, &r, NULL) == 0)
        fn_req_free(r);
    if (fn_remove_parse(tree, &rm, NULL) == 0)
        fn_remove_clear(&rm);
    if (fn_purge_parse(tree, &rm, NULL) == 0)
        fn_remove_clear(&rm);
    cJSON_Delete(tree);
    return 0;
}

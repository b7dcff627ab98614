/* Unit tests for src/fn_payload: validation of FunctionExecute,
 * FunctionDeploy, FunctionRemove and CachePurge (deviceless-api.md 3.9). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "src/fn_payload.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A valid FunctionExecute; each case patches one field. */
static const char *base =
    "{\"execution_id\": \"3f2a0c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b\","
    " \"function_id\": \"11111111-1111-4111-8111-111111111111\", \"function_version\": 2,"
    " \"entry\": \"main.main\", \"input\": \"{\\\"x\\\": 1}\", \"input_kind\": \"json\","
    " \"timeout\": 5, \"cpu\": 100, \"memory_size\": 33554432,"
    " \"devices\": [\"gpio:sim0:17:out\", \"sensor:temp0\"], \"device_access\": \"mediated\","
    " \"network\": \"none\", \"keep_warm\": 1, \"warm_ttl\": 600,"
    " \"deadline\": \"2030-01-01T00:00:00Z\", \"dispatched_at\": \"2026-11-23T18:02:11.204518Z\","
    " \"package\": {\"sha256\": \"" SHA_A "\", \"md5sum\": null, \"size\": 100,"
    "   \"format\": \"zip\", \"url\": \"http://127.0.0.1:7070/v1/blobs/" SHA_A "\","
    "   \"token\": \"tok\"},"
    " \"runtime\": {\"id\": \"22222222-2222-4222-8222-222222222222\", \"name\": \"python3\","
    "   \"sha256\": \"" SHA_B "\", \"size\": 1000, \"format\": \"tar.gz\","
    "   \"url\": \"https://cloud.example/v1/blobs/" SHA_B "\", \"token\": \"tok\","
    "   \"config\": {\"entrypoint\": [\"/usr/bin/python3\", \"/l.py\"],"
    "                \"env\": [\"PATH=/usr/bin\"], \"cwd\": \"/code\"}}}";

static cJSON *patched(const char *path, const char *value_json)
{
    cJSON *p = cJSON_Parse(base), *obj = p;
    char buf[128], *save = NULL, *key, *next;

    assert_non_null(p);
    snprintf(buf, sizeof(buf), "%s", path);
    key = strtok_r(buf, ".", &save);
    while ((next = strtok_r(NULL, ".", &save)) != NULL) {
        obj = cJSON_GetObjectItem(obj, key);
        key = next;
    }
    if (value_json == NULL) {
        cJSON_DeleteItemFromObject(obj, key);
    } else {
        cJSON *v = cJSON_Parse(value_json);

        assert_non_null(v);
        if (cJSON_GetObjectItem(obj, key))
            cJSON_ReplaceItemInObject(obj, key, v);
        else
            cJSON_AddItemToObject(obj, key, v);
    }
    return p;
}

static void test_valid_execute(void **state)
{
    cJSON *p = cJSON_Parse(base);
    struct fn_req *r;
    struct error err;

    (void)state;
    assert_int_equal(fn_req_parse(p, FN_REQ_EXECUTE, &r, &err), 0);
    assert_string_equal(r->execution_id, "3f2a0c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b");
    assert_int_equal(r->function_version, 2);
    assert_string_equal(r->input, "{\"x\": 1}");
    assert_int_equal(r->input_kind, FN_INPUT_JSON);
    assert_int_equal(r->ndevices, 2);
    assert_string_equal(r->devices[0], "gpio:sim0:17:out");
    assert_string_equal(r->devices[1], "sensor:temp0");
    assert_true(r->has_package);
    assert_string_equal(r->package.sha256, SHA_A);
    assert_string_equal(r->package.md5, "");
    assert_string_equal(r->package.format, "zip");
    assert_string_equal(r->runtime.format, "tar.gz");
    assert_string_equal(r->runtime_name, "python3");
    assert_string_equal(r->rt.entrypoint[1], "/l.py");
    assert_null(r->rt.entrypoint[2]);
    assert_string_equal(r->rt.cwd, "/code");
    assert_int_equal(r->deadline, 1893456000000000LL);
    assert_int_equal(r->keep_warm, 1);
    fn_req_free(r);
    cJSON_Delete(p);
}

static void test_defaults_and_input_kinds(void **state)
{
    struct {
        const char *input; /* JSON of the "input" field, NULL: absent */
        enum fn_input_kind kind;
        const char *stdin_text;
    } cases[] = {
        {NULL, FN_INPUT_NONE, "{}"},
        {"null", FN_INPUT_NONE, "{}"},
        {"\"\"", FN_INPUT_NONE, "{}"},
        {"\"{\\\"a\\\": 1}\"", FN_INPUT_JSON, "{\"a\": 1}"},
        {"\"\\\"hello\\\"\"", FN_INPUT_RAW, "\"hello\""},
        {"\"[1, 2]\"", FN_INPUT_RAW, "[1, 2]"},
        {"\"42\"", FN_INPUT_RAW, "42"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *p = patched("input", cases[i].input), *k = NULL;
        struct fn_req *r;
        struct error err;

        cJSON_DeleteItemFromObject(p, "input_kind");
        (void)k;
        assert_int_equal(fn_req_parse(p, FN_REQ_EXECUTE, &r, &err), 0);
        assert_int_equal(r->input_kind, cases[i].kind);
        assert_string_equal(r->input, cases[i].stdin_text);
        fn_req_free(r);
        cJSON_Delete(p);
    }
}

static void test_refusals_name_the_field(void **state)
{
    struct {
        const char *path, *value, *words;
    } cases[] = {
        {"execution_id", NULL, "missing execution_id"},
        {"execution_id", "\"not-a-uuid\"", "execution_id must be a UUID"},
        {"execution_id", "7", "execution_id must be a string"},
        {"function_id", NULL, "missing function_id"},
        {"function_version", "-1", "function_version must be an integer"},
        {"function_version", "1.5", "function_version must be an integer"},
        {"entry", "\"../x\"", "entry ../x is not a valid"},
        {"entry", "\"/abs\"", "is not a valid"},
        {"entry", "\"a b\"", "is not a valid"},
        {"input", "\"{not json\"", "input must be JSON text"},
        {"input", "5", "input must be a string"},
        {"input_kind", "\"raw\"", "input_kind raw does not match"},
        {"timeout", "0", "timeout must be an integer between 1 and 86400"},
        {"timeout", "86401", "timeout must be an integer between 1 and 86400"},
        {"timeout", "\"5\"", "timeout must be an integer"},
        {"memory_size", "1024", "memory_size must be an integer between"},
        {"cpu", "0", "cpu must be an integer between"},
        {"keep_warm", "65", "keep_warm must be an integer between 0 and 64"},
        {"devices", "[\"gpio:sim0:17:out\", \"gpio:sim0:17:in\"]", "Invalid device"},
        {"devices", "[\"sensor:\"]", "Invalid device"},
        {"devices", "\"gpio:sim0:1:in\"", ""},
        {"device_access", "\"direct\"", "device_access must be mediated or raw"},
        {"network", "\"all\"", "network must be none or host"},
        {"deadline", "\"yesterday\"", "deadline is not a valid time"},
        {"package.sha256", "\"" SHA_A "0\"", "sha256 is longer than 64"},
        {"package.sha256", "\"zz" SHA_A "\"", ""},
        {"package.sha256", "\"gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\"",
         "package: sha256 must be 64 hexadecimal digits"},
        {"package.md5sum", "\"123\"", "md5sum must be 32 hexadecimal digits"},
        {"package.size", "52428801", "size must be an integer between 0 and 52428800"},
        {"package.format", "\"tar\"", "format tar is not supported"},
        {"package.url", "\"ftp://x/y\"", "url must be an http or https URL"},
        {"package.url", "\"http://\"", "url must be an http or https URL"},
        {"package.url", "\"http://a b\"", "url must be an http or https URL"},
        {"package", "[]", "package must be an object"},
        {"package.token", "\"a\\r\\nX-Evil: 1\"", "token must be printable ASCII"},
        {"runtime", NULL, "missing runtime"},
        {"runtime.id", "\"x\"", "runtime: id must be a UUID"},
        {"runtime.name", "\"py thon\"", "name has characters"},
        {"runtime.format", "\"zip\"", "format zip is not supported"},
        {"runtime.config", "{\"entrypoint\": []}", "entrypoint must not be empty"},
        {"runtime.config", "{\"env\": [\"=x\"]}", "env[0] is not a valid value"},
        {"runtime.config", "{\"env\": [\"A-B=x\"]}", "env[0] is not a valid value"},
        {"runtime.config", "{\"cwd\": \"code\"}", "cwd must be an absolute path"},
        {"image_args", "[1]", "image_args[0] is not a valid value"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *p = patched(cases[i].path, cases[i].value);
        struct fn_req *r = (void *)1;
        struct error err;

        error_clear(&err);
        if (fn_req_parse(p, FN_REQ_EXECUTE, &r, &err) != -EINVAL)
            fail_msg("case %zu (%s) was accepted", i, cases[i].path);
        assert_null(r);
        if (strstr(err.msg, cases[i].words) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].words);
        cJSON_Delete(p);
    }
}

static void test_normalisation(void **state)
{
    cJSON *p =
        patched("package.sha256", "\""
                                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                  "\"");
    struct fn_req *r;
    struct error err;

    (void)state;
    cJSON_ReplaceItemInObject(p, "execution_id",
                              cJSON_CreateString("{3F2A0C1E5B6D4E7F8A9B0C1D2E3F4A5B}"));
    assert_int_equal(fn_req_parse(p, FN_REQ_EXECUTE, &r, &err), 0);
    assert_string_equal(r->package.sha256, SHA_A);
    assert_string_equal(r->execution_id, "3f2a0c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b");
    fn_req_free(r);
    cJSON_Delete(p);
}

static void test_image_function_and_deploy(void **state)
{
    cJSON *p = patched("package", "null");
    struct fn_req *r;
    struct error err;

    (void)state;
    cJSON_DeleteItemFromObject(p, "entry");
    cJSON_AddItemToObject(p, "image_args", cJSON_Parse("[\"a\", \"b\"]"));
    assert_int_equal(fn_req_parse(p, FN_REQ_EXECUTE, &r, &err), 0);
    assert_false(r->has_package);
    assert_null(r->entry);
    assert_string_equal(r->image_args[1], "b");
    fn_req_free(r);
    cJSON_Delete(p);
    /* FunctionDeploy has no execution_id, input or deadline. */
    p = patched("execution_id", NULL);
    cJSON_DeleteItemFromObject(p, "input");
    cJSON_DeleteItemFromObject(p, "deadline");
    assert_int_equal(fn_req_parse(p, FN_REQ_DEPLOY, &r, &err), 0);
    assert_string_equal(r->execution_id, "");
    assert_string_equal(r->input, "{}");
    fn_req_free(r);
    cJSON_Delete(p);
    p = cJSON_Parse("[]");
    assert_int_equal(fn_req_parse(p, FN_REQ_DEPLOY, &r, &err), -EINVAL);
    assert_string_equal(err.msg, "payload must be an object");
    cJSON_Delete(p);
}

static void test_remove_and_purge(void **state)
{
    struct fn_remove_req r;
    struct error err;
    cJSON *p;

    (void)state;
    p = cJSON_Parse("{\"function_id\": \"11111111-1111-4111-8111-111111111111\","
                    " \"function_version\": null, \"purge\": [\"" SHA_A "\"]}");
    assert_int_equal(fn_remove_parse(p, &r, &err), 0);
    assert_int_equal(r.function_version, -1);
    assert_int_equal(r.npurge, 1);
    assert_string_equal(r.purge[0], SHA_A);
    fn_remove_clear(&r);
    cJSON_Delete(p);
    p = cJSON_Parse("{\"function_id\": \"11111111-1111-4111-8111-111111111111\","
                    " \"function_version\": 3}");
    assert_int_equal(fn_remove_parse(p, &r, &err), 0);
    assert_int_equal(r.function_version, 3);
    assert_int_equal(r.npurge, 0);
    fn_remove_clear(&r);
    cJSON_Delete(p);
    p = cJSON_Parse("{\"function_id\": \"x\"}");
    assert_int_equal(fn_remove_parse(p, &r, &err), -EINVAL);
    cJSON_Delete(p);
    p = cJSON_Parse("{\"purge\": [\"abc\"]}");
    assert_int_equal(fn_purge_parse(p, &r, &err), -EINVAL);
    assert_string_equal(err.msg, "purge[0] must be a sha256");
    cJSON_Delete(p);
    p = cJSON_Parse("{\"purge\": {}}");
    assert_int_equal(fn_purge_parse(p, &r, &err), -EINVAL);
    cJSON_Delete(p);
    p = cJSON_Parse("{}");
    assert_int_equal(fn_purge_parse(p, &r, &err), 0);
    assert_int_equal(r.npurge, 0);
    fn_remove_clear(&r);
    cJSON_Delete(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_execute),
        cmocka_unit_test(test_defaults_and_input_kinds),
        cmocka_unit_test(test_refusals_name_the_field),
        cmocka_unit_test(test_normalisation),
        cmocka_unit_test(test_image_function_and_deploy),
        cmocka_unit_test(test_remove_and_purge),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* libFuzzer target for iotronic-api's parsers of outside input: request
 * bodies against every schema (api/schema.h), query strings of collections
 * (api/query.h), the version header (api/version.h) and identifiers
 * (api/ident.h). The first byte picks the parser; nothing may crash, leak or
 * read out of bounds, and a failure must always carry a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/ident.h"
#include "api/query.h"
#include "api/resource.h"
#include "api/schema.h"
#include "api/version.h"
#include "common/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct api_schema *const schemas[] = {
    &api_schema_board_post,   &api_schema_board_patch,   &api_schema_plugin_post,
    &api_schema_plugin_patch, &api_schema_service_post,  &api_schema_service_patch,
    &api_schema_fleet_post,   &api_schema_fleet_patch,   &api_schema_board_action,
    &api_schema_injection,    &api_schema_plugin_action, &api_schema_service_action,
    &api_schema_network,      &api_schema_webservice,    &api_schema_enable_ws,
};
static const struct api_kind *const kinds[] = {
    &api_kind_board, &api_kind_plugin,     &api_kind_service,
    &api_kind_fleet, &api_kind_webservice, &api_kind_enabledws,
    &api_kind_port,  &api_kind_request,    &api_kind_result,
};

static void fuzz_body(uint8_t sel, const char *text, size_t len)
{
    struct api_body b;
    struct error err = {0};

    if (api_body_parse(schemas[sel % (sizeof(schemas) / sizeof(schemas[0]))], text, len, &b, &err) <
            0 &&
        err.msg[0] == '\0')
        abort();
    api_body_free(&b);
}

/* "a=1&b=2" split into parameters (no decoding: the HTTP layer's job). */
static void fuzz_query(uint8_t sel, char *text)
{
    struct api_qparam p[16];
    struct api_listq q;
    struct error err = {0};
    struct buf out;
    size_t n = 0;
    char *save = NULL;

    for (char *t = strtok_r(text, "&", &save); t && n < 16; t = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(t, '=');

        p[n].name = t;
        p[n].value = eq ? (*eq = '\0', eq + 1) : "";
        n++;
    }
    if (api_listq_parse(kinds[sel % (sizeof(kinds) / sizeof(kinds[0]))], 0x7ffu, sel & 1,
                        (sel >> 1) & 1, 1000, p, n, &q, &err) < 0) {
        if (err.msg[0] == '\0')
            abort();
        return;
    }
    buf_init(&out, 1 << 20);
    if (api_next_link(&out, "http://h", "/v1/x", kinds[sel % 9], &q,
                      "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52") < 0)
        abort();
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char uuid[UUID_STR_LEN];
    struct error err;
    char *text;

    if (size < 1 || size > (1 << 16))
        return 0;
    text = xstrndup((const char *)data + 1, size - 1);
    switch (data[0] % 4) {
    case 0:
        fuzz_body(data[0] >> 2, (const char *)data + 1, size - 1);
        break;
    case 1:
        fuzz_query(data[0] >> 2, text);
        break;
    case 2:
        (void)!api_version_check(text, &err);
        break;
    default:
        (void)!api_parse_ref(text, uuid, &err);
        (void)api_name_allowed("plugin", text);
        (void)api_is_email(text, 254);
        (void)api_is_dns_name(text, 100);
        break;
    }
    free(text);
    return 0;
}

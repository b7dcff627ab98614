/* libFuzzer target for what the IO socket parses from a container: the
 * request lines (src/iosock.h iosock_parse) and, selected by the first byte,
 * declared device specs (hal/devspec.h), which come from tenants through
 * the cloud. Invariants checked besides "no crash, no leak, no out-of-bounds
 * access": a failure always carries a message and one of the two parse
 * codes; a success is a known op with a valid name, a line in range and a
 * level of 0 or 1; an echoed id is a JSON scalar; a parsed spec prints back
 * exactly as it was written. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hal/devspec.h"
#include "src/iosock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const char *text, size_t len)
{
    struct iosock_req req;
    struct error err = {0};
    int rc = iosock_parse(text, len, &req, &err);

    if (req.id != NULL && (cJSON_IsObject(req.id) || cJSON_IsArray(req.id)))
        abort();
    if (rc < 0) {
        if ((rc != -EINVAL && rc != -EOPNOTSUPP) || err.msg[0] == '\0')
            abort();
    } else {
        if (req.op > IOSOCK_OP_SENSOR_READ || req.line > HAL_GPIO_LINE_MAX ||
            (req.value != 0 && req.value != 1))
            abort();
        if (req.op != IOSOCK_OP_DEVICES && !hal_name_valid(req.name))
            abort();
    }
    iosock_req_clear(&req);
}

static void check_spec(const char *text)
{
    struct hal_devspec d;
    struct error err = {0};
    char back[HAL_DEVSPEC_MAX];

    if (hal_devspec_parse(text, &d, &err) < 0) {
        if (strncmp(err.msg, "Invalid device ", 15) != 0)
            abort();
        return;
    }
    if (strcmp(hal_devspec_format(&d, back), text) != 0)
        abort();
}

/* Lines of text as a declared list: the list rules on top of each spec. */
static void check_spec_list(char *text)
{
    const char *specs[40];
    struct hal_devspec out[40];
    struct error err = {0};
    size_t n = 0;

    for (char *save = NULL, *tok = strtok_r(text, "\n", &save); tok != NULL && n < 40;
         tok = strtok_r(NULL, "\n", &save)) {
        check_spec(tok);
        specs[n++] = tok;
    }
    if (hal_devspec_parse_list(specs, n, out, &err) < 0 && err.msg[0] == '\0')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size == 0)
        return 0;
    text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 1)
        check_spec_list(text);
    else
        check_request(text, size - 1); /* the raw bytes, NULs included */
    free(text);
    return 0;
}

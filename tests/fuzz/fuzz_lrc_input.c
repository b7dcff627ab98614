/* libFuzzer target for what lightning-rod-c reads from outside: the settings
 * document (settings.json, `configure --from-file`, the registration reply of
 * the cloud), DeviceRestSubmit's parameters, plugin code's interpreter line,
 * package names and versions of DevicePkgOperation.
 *
 * The first byte picks the parser; the rest is its input. Beyond "no crash,
 * no leak, no undefined behaviour" it holds the parsers to their promises
 * (abort() marks a broken one):
 *   - a refused input always comes with a message;
 *   - a settings document that parses prints back to a document that parses
 *     to an equal one, and is registered or first boot, never neither;
 *   - an accepted REST request starts with an allowed prefix and its method
 *     is one of the seven;
 *   - an accepted interpreter is one of the configured ones. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "src/conf.h"
#include "src/device.h"
#include "src/plugins.h"
#include "src/restsubmit.h"
#include "src/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_lrc_input: broken promise: %s\n", what);
        abort();
    }
}

static void settings(const char *text, size_t len)
{
    struct lrc_settings s, again;
    struct error err = {0};
    char *out;

    if (lrc_settings_parse(text, len, &s, &err) < 0) {
        check(err.msg[0] != '\0', "settings refused without a reason");
        return;
    }
    check(s.registered ? s.uuid != NULL && s.main_url != NULL : s.code != NULL && s.reg_url != NULL,
          "settings neither registered nor first boot");
    out = lrc_settings_text(&s);
    check(lrc_settings_parse(out, strlen(out), &again, &err) == 0, "printed settings reparse");
    check(lrc_settings_equal(&s, &again), "printed settings are equal");
    free(out);
    lrc_settings_clear(&again);
    lrc_settings_clear(&s);
}

static void rest(const char *text, size_t len)
{
    char *allow[] = {"http://127.0.0.1", "https://api.example.org/v1/", NULL};
    struct lrc_rest_req r;
    struct error err = {0};
    cJSON *p = cJSON_ParseWithLength(text, len);

    if (p == NULL)
        return;
    if (lrc_rest_parse(p, allow, &r, &err) < 0) {
        check(err.msg[0] != '\0', "request refused without a reason");
    } else {
        check(lrc_rest_allowed(r.url, allow), "accepted URL outside the allowlist");
        check(strstr("GET POST PUT PATCH DELETE HEAD OPTIONS", r.method) != NULL, "method");
        check(r.timeout_s > 0 && r.timeout_s <= LRC_REST_TIMEOUT_MAX, "timeout");
        lrc_rest_req_clear(&r);
    }
    cJSON_Delete(p);
}

static void interpreter(const char *text)
{
    char *interps[] = {"/usr/bin/python3", "/bin/sh", NULL};
    struct error err = {0};
    const char *flag;
    char *path;

    if (lrc_plugin_interpreter(text, interps, &path, &flag, &err) < 0) {
        check(err.msg[0] != '\0' && path == NULL, "interpreter refused without a reason");
        return;
    }
    check(lrc_words_has(interps, path), "accepted interpreter not configured");
    check(strcmp(flag, "-c") == 0, "inline flag");
    free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    char *text;

    if (!init) {
        xalloc_init();
        init = 1;
    }
    if (size < 1)
        return 0;
    text = xstrndup((const char *)data + 1, size - 1); /* NUL-terminated for the C APIs */
    switch (data[0] % 4) {
    case 0:
        settings((const char *)data + 1, size - 1);
        break;
    case 1:
        rest((const char *)data + 1, size - 1);
        break;
    case 2:
        interpreter(text);
        break;
    default:
        (void)lrc_pkg_name_valid(text);
        (void)lrc_pkg_version_valid(text);
        break;
    }
    free(text);
    return 0;
}

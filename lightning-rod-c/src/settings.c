/* src/settings.c: see settings.h. Validation reads the tree once; then only
 * the borrowed fields are used. */
#include "src/settings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "tunnel/wire.h"

#define NAME_MAX_LEN 255

int lrc_settings_check_code(const char *code, struct error *err)
{
    size_t n = code ? strlen(code) : 0;

    if (n == 0 || n > LRC_CODE_MAX)
        return error_set(err, -EINVAL, "the registration code must be 1 to %d characters",
                         LRC_CODE_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)code[i] < 0x20 || (unsigned char)code[i] > 0x7e)
            return error_set(err, -EINVAL, "the registration code must be printable ASCII");
    return 0;
}

int lrc_settings_check_url(const char *url, struct error *err)
{
    struct tun_url u;

    if (url == NULL || (strncmp(url, "ws://", 5) != 0 && strncmp(url, "wss://", 6) != 0))
        return error_set(err, -EINVAL, "the URL must start with ws:// or wss://");
    if (tun_url_parse(url, &u, err) < 0)
        return error_prefix(err, "URL %s", url);
    return 0;
}

/* Reads {"url", "realm"} of one agent; *url NULL when the object is absent. */
static int get_agent(const cJSON *wamp, const char *key, const char **url, const char **realm,
                     struct error *err)
{
    const cJSON *a;
    int rc = json_get_object(wamp, key, JSON_NULLABLE, &a, err);

    *url = *realm = NULL;
    if (rc == -ENOENT || rc == 1)
        return 0;
    if (rc < 0)
        return error_prefix(err, "wamp");
    rc = json_get_str(a, "url", JSON_NULLABLE, 2048, url, err);
    if (rc < 0 && rc != -ENOENT)
        return error_prefix(err, "wamp.%s", key);
    if (rc != 0)
        *url = NULL;
    if (*url != NULL && lrc_settings_check_url(*url, err) < 0)
        return error_prefix(err, "wamp.%s", key);
    rc = json_get_str(a, "realm", JSON_NULLABLE, 255, realm, err);
    if (rc < 0 && rc != -ENOENT)
        return error_prefix(err, "wamp.%s", key);
    if (rc != 0 || (*realm)[0] == '\0')
        *realm = LRC_REALM_DEFAULT;
    return 0;
}

static int get_opt_str(const cJSON *o, const char *key, size_t max, const char **out,
                       struct error *err)
{
    int rc = json_get_str(o, key, JSON_NULLABLE, max, out, err);

    if (rc == -ENOENT || rc == 1) {
        *out = NULL;
        return 0;
    }
    return rc < 0 ? error_prefix(err, "board") : 0;
}

static int get_auth(const cJSON *board, struct lrc_settings *s, struct error *err)
{
    const cJSON *auth;
    const char *method;
    int rc = json_get_object(board, "auth", JSON_NULLABLE, &auth, err);

    if (rc == -ENOENT || rc == 1)
        return 0;
    if (rc < 0)
        return error_prefix(err, "board");
    if (json_get_str(auth, "method", JSON_REQUIRED, 32, &method, err) < 0)
        return error_prefix(err, "board.auth");
    if (strcmp(method, "wampcra") != 0)
        return error_set(err, -EINVAL, "board.auth: unknown method %s", method);
    if (json_get_str(auth, "secret", JSON_REQUIRED, LRC_SECRET_MAX, &s->secret, err) < 0)
        return error_prefix(err, "board.auth");
    if (s->secret[0] == '\0')
        return error_set(err, -EINVAL, "board.auth: the secret is empty");
    return 0;
}

/* board.uuid, normalised in place so that s->uuid is canonical. */
static int get_uuid(cJSON *board, struct lrc_settings *s, struct error *err)
{
    char norm[UUID_STR_LEN];
    cJSON *u;
    int rc = get_opt_str(board, "uuid", 64, &s->uuid, err);

    if (rc < 0 || s->uuid == NULL)
        return rc;
    if (uuid_normalize(s->uuid, norm) < 0)
        return error_set(err, -EINVAL, "board.uuid: '%s' is not a UUID", s->uuid);
    if (strcmp(norm, s->uuid) != 0) {
        u = cJSON_CreateString(norm);
        cJSON_ReplaceItemInObjectCaseSensitive(board, "uuid", u);
        s->uuid = u->valuestring;
    }
    return 0;
}

/* A key twice in one object makes the document ambiguous (readers disagree
 * on which one counts): such a document is refused. */
static int unique_keys(const cJSON *o, struct error *err)
{
    for (const cJSON *a = o ? o->child : NULL; a != NULL; a = a->next) {
        if (cJSON_IsObject(o))
            for (const cJSON *b = a->next; b != NULL; b = b->next)
                if (strcmp(a->string, b->string) == 0)
                    return error_set(err, -EINVAL, "duplicate key \"%.64s\"", a->string);
        if ((cJSON_IsObject(a) || cJSON_IsArray(a)) && unique_keys(a, err) < 0)
            return -EINVAL;
    }
    return 0;
}

static int fill(struct lrc_settings *s, struct error *err)
{
    cJSON *io = cJSON_GetObjectItemCaseSensitive(s->doc, "iotronic");
    cJSON *board = cJSON_GetObjectItemCaseSensitive(io, "board");
    const cJSON *wamp = cJSON_GetObjectItemCaseSensitive(io, "wamp");

    if (!cJSON_IsObject(s->doc) || !cJSON_IsObject(io))
        return error_set(err, -EINVAL, "the document has no \"iotronic\" object");
    if (unique_keys(s->doc, err) < 0)
        return -EINVAL;
    if (!cJSON_IsObject(board) || !cJSON_IsObject(wamp))
        return error_set(err, -EINVAL, "iotronic.board and iotronic.wamp must be objects");
    error_clear(err);
    if (get_uuid(board, s, err) < 0 || get_opt_str(board, "code", 64, &s->code, err) < 0 ||
        get_opt_str(board, "name", NAME_MAX_LEN, &s->name, err) < 0 ||
        get_opt_str(board, "agent", NAME_MAX_LEN, &s->agent, err) < 0 ||
        get_auth(board, s, err) < 0 ||
        get_agent(wamp, "registration-agent", &s->reg_url, &s->reg_realm, err) < 0 ||
        get_agent(wamp, "main-agent", &s->main_url, &s->main_realm, err) < 0)
        return -EINVAL;
    s->registered = s->uuid != NULL && s->main_url != NULL;
    if (s->registered)
        return 0;
    if (s->code == NULL || s->reg_url == NULL)
        return error_set(err, -EINVAL,
                         "neither registered (board.uuid and wamp.main-agent.url) "
                         "nor first boot (board.code and "
                         "wamp.registration-agent.url)");
    return lrc_settings_check_code(s->code, err) < 0 ? error_prefix(err, "board.code") : 0;
}

int lrc_settings_from_doc(cJSON *doc, struct lrc_settings *out, struct error *err)
{
    struct error local;

    /* The helpers below return error_prefix()'s code, which needs an err. */
    if (err == NULL)
        err = &local;
    memset(out, 0, sizeof(*out));
    out->doc = doc;
    if (fill(out, err) < 0) {
        lrc_settings_clear(out);
        return -EINVAL;
    }
    return 0;
}

int lrc_settings_parse(const char *text, size_t len, struct lrc_settings *out, struct error *err)
{
    cJSON *doc;

    memset(out, 0, sizeof(*out));
    if (json_parse(text, len, &doc, err) < 0)
        return -EINVAL;
    return lrc_settings_from_doc(doc, out, err);
}

int lrc_settings_check(const char *text, size_t len, void *arg, struct error *err)
{
    struct lrc_settings s;
    int rc = lrc_settings_parse(text, len, &s, err);

    (void)arg;
    lrc_settings_clear(&s);
    return rc;
}

void lrc_settings_clear(struct lrc_settings *s)
{
    cJSON_Delete(s->doc);
    memset(s, 0, sizeof(*s));
}

void lrc_settings_copy(const struct lrc_settings *s, struct lrc_settings *out)
{
    memset(out, 0, sizeof(*out));
    if (s->doc != NULL && lrc_settings_from_doc(cJSON_Duplicate(s->doc, 1), out, NULL) < 0)
        memset(out, 0, sizeof(*out)); /* cannot happen: s was valid */
}

char *lrc_settings_text(const struct lrc_settings *s)
{
    char *t = s->doc ? cJSON_Print(s->doc) : NULL;
    char *out = xasprintf("%s\n", t ? t : "{}");

    cJSON_free(t);
    return out;
}

int lrc_settings_first_boot(const char *code, const char *url, struct lrc_settings *out,
                            struct error *err)
{
    cJSON *doc, *io, *board, *wamp, *ra;

    memset(out, 0, sizeof(*out));
    if (lrc_settings_check_code(code, err) < 0 || lrc_settings_check_url(url, err) < 0)
        return -EINVAL;
    doc = cJSON_CreateObject();
    io = cJSON_AddObjectToObject(doc, "iotronic");
    board = cJSON_AddObjectToObject(io, "board");
    cJSON_AddStringToObject(board, "code", code);
    wamp = cJSON_AddObjectToObject(io, "wamp");
    ra = cJSON_AddObjectToObject(wamp, "registration-agent");
    cJSON_AddStringToObject(ra, "url", url);
    cJSON_AddStringToObject(ra, "realm", LRC_REALM_DEFAULT);
    return lrc_settings_from_doc(doc, out, err);
}

int lrc_settings_from_registration(const cJSON *message, const struct lrc_settings *prev,
                                   struct lrc_settings *out, struct error *err)
{
    cJSON *doc = cJSON_Duplicate(message, 1);
    cJSON *wamp =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "iotronic"), "wamp");
    cJSON *ra;

    memset(out, 0, sizeof(*out));
    if (doc == NULL || !cJSON_IsObject(wamp)) {
        cJSON_Delete(doc);
        return error_set(err, -EINVAL, "the settings document has no iotronic.wamp object");
    }
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(wamp, "registration-agent")) &&
        prev != NULL && prev->reg_url != NULL) {
        ra = cJSON_AddObjectToObject(wamp, "registration-agent");
        cJSON_AddStringToObject(ra, "url", prev->reg_url);
        cJSON_AddStringToObject(ra, "realm", prev->reg_realm ? prev->reg_realm : "s4t");
    }
    if (lrc_settings_from_doc(doc, out, err) < 0)
        return -EINVAL;
    if (!out->registered) {
        lrc_settings_clear(out);
        return error_set(err, -EINVAL,
                         "the settings document lacks board.uuid or "
                         "wamp.main-agent.url");
    }
    return 0;
}

int lrc_settings_equal(const struct lrc_settings *a, const struct lrc_settings *b)
{
    if (a->doc == NULL || b->doc == NULL)
        return a->doc == b->doc;
    return cJSON_Compare(a->doc, b->doc, 1);
}

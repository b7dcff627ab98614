/* wagent/settings.h: the settings document a registration returns
 * (board-protocol.md 5.1).
 *
 * The original agent reads board.{uuid, code, name, status, type, mobile,
 * extra, agent, created_at, updated_at, location}, iotronic.extra and
 * wamp.main-agent.{url, realm}, and falls back to first boot when one is
 * missing, so every one of them is always written; board.status is always
 * "registered". board.auth carries the board secret in the reply only: the
 * copy stored in boards.config is written without it. Pure; any thread. */
#ifndef IOT_WAGENT_SETTINGS_H
#define IOT_WAGENT_SETTINGS_H

#include <cjson/cJSON.h>

/* The values, as text; a NULL pointer writes null. The *_json fields are
 * JSON texts of objects (PostgreSQL's jsonb output); NULL or invalid ones
 * write {}. */
struct wag_settings {
    const char *uuid, *code, *name, *type, *agent, *owner, *project, *fleet;
    int mobile;
    const char *lr_version;
    const char *connectivity_json, *extra_json;
    const char *created_at, *updated_at;
    const char *longitude, *latitude, *altitude, *location_updated_at;
    const char *secret;
    const char *registration_url, *main_url, *realm;
};

/* The document {"iotronic": {"board": ..., "wamp": ..., "extra": {}}};
 * with_secret adds board.auth.secret. A new tree (cJSON_Delete). */
cJSON *wag_settings_doc(const struct wag_settings *st, int with_secret);

#endif

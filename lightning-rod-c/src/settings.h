/* src/settings.h: the board's settings document, <state_dir>/settings.json
 * (board-protocol.md 5.1, 10.1, 10.2).
 *
 * Two shapes are valid:
 *   first boot   {"iotronic": {"board": {"code"}, "wamp": {"registration-agent":
 *                 {"url", "realm"}}}}: what `configure` writes, or the
 *                 `config` of GET /v1/boards/{board} before registration;
 *   registered   the settings document of 5.1: board.uuid and
 *                 wamp.main-agent.url at least, usually board.agent, and
 *                 (lightning-rod-c's registrations) board.auth with the secret.
 * Anything else does not parse. The document is kept whole (unknown keys
 * survive rewrites); the fields below point into it. Pure: no I/O; any
 * thread on its own values. */
#ifndef LRC_SRC_SETTINGS_H
#define LRC_SRC_SETTINGS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "common/error.h"

#define LRC_SETTINGS_NAME "settings.json"
#define LRC_CODE_MAX 36
#define LRC_SECRET_MAX 128
#define LRC_REALM_DEFAULT "s4t"

struct lrc_settings {
    cJSON *doc;     /* owned; NULL when empty */
    int registered; /* board.uuid and wamp.main-agent.url are present */
    /* Borrowed from doc; NULL when absent. */
    const char *code;                  /* board.code */
    const char *reg_url, *reg_realm;   /* wamp.registration-agent */
    const char *main_url, *main_realm; /* wamp.main-agent */
    const char *uuid;                  /* board.uuid, lower-case hyphenated */
    const char *name;                  /* board.name */
    const char *agent;                 /* board.agent: the prefix of the cloud callees */
    const char *secret;                /* board.auth.secret: NULL means anonymous */
};

/* Parses and validates a settings text. On success *out is filled (clear it
 * with lrc_settings_clear()). -EINVAL with the problem in err otherwise. */
int lrc_settings_parse(const char *text, size_t len, struct lrc_settings *out,
                       struct error *err) IOT_WUR;

/* The same from a tree, which is taken in every case. */
int lrc_settings_from_doc(cJSON *doc, struct lrc_settings *out, struct error *err) IOT_WUR;

/* For lrc_statefile_load(): validates text. */
int lrc_settings_check(const char *text, size_t len, void *arg, struct error *err);

void lrc_settings_clear(struct lrc_settings *s);

/* A new copy of s (the document is duplicated). */
void lrc_settings_copy(const struct lrc_settings *s, struct lrc_settings *out);

/* The document as indented JSON text, new (free()). */
char *lrc_settings_text(const struct lrc_settings *s);

/* The first-boot document for code and url, as `configure <code> <url>`
 * writes it. -EINVAL when the code is not 1 to 36 printable characters or the
 * URL is not ws:// or wss://. */
int lrc_settings_first_boot(const char *code, const char *url, struct lrc_settings *out,
                            struct error *err) IOT_WUR;

/* Builds the registered settings from the message of a SUCCESS reply to
 * stack4things.register ({"iotronic": {...}}, borrowed). The registration
 * agent of prev is kept when the reply names none. -EINVAL when the reply
 * lacks what the agent needs. */
int lrc_settings_from_registration(const cJSON *message, const struct lrc_settings *prev,
                                   struct lrc_settings *out, struct error *err) IOT_WUR;

/* Checks a registration code / a ws:// or wss:// URL. */
int lrc_settings_check_code(const char *code, struct error *err) IOT_WUR;
int lrc_settings_check_url(const char *url, struct error *err) IOT_WUR;

/* 1 when a and b hold the same document. */
int lrc_settings_equal(const struct lrc_settings *a, const struct lrc_settings *b);

#endif

/* wagent/conf.h: the wagent's sections of iotronic.conf (board-protocol.md 12.1).
 *
 * [DEFAULT] host/transport_url/log_level, [database] connection, [wamp],
 * [wagent] and the tunnel's own [wstun] table (tunnel/conf.h). Two
 * cfg_tables fill one struct wag_conf; wag_conf_check() then validates
 * what the tables cannot (addresses, URLs, cross-option rules) and fills the
 * derived fields (the host name, the listen address split, the wstun public
 * URL), so that nothing starts with a bad configuration. One per process,
 * owned by main; release with wag_conf_free(). Any thread may read it once
 * checked; nobody writes it afterwards. */
#ifndef IOT_WAGENT_CONF_H
#define IOT_WAGENT_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/error.h"
#include "tunnel/conf.h"

#define WAG_HOST_MAX 256
#define WAG_URL_MAX 256

struct wag_conf {
    /* [DEFAULT] */
    char *host; /* NULL: the system host name (see hostname) */
    char *transport_url;
    char *log_level;
    /* [database] */
    char *db_connection;
    /* [wamp] */
    char *wamp_transport_url; /* the URL boards are given (wampagents.wsurl) */
    char *realm;
    int register_agent;
    /* [wagent] */
    char *listen;
    char *cert_file, *key_file;
    int64_t ping_interval, ping_timeout;
    int64_t heartbeat_interval, agent_timeout;
    int64_t bind_timeout, registration_grace;
    int allow_anonymous_boards;
    int64_t max_register_attempts;
    int64_t max_message_size;
    int64_t max_sessions, max_handshakes_per_second;
    int64_t max_pending_calls_per_board;
    int64_t session_history; /* days */
    char *admin_listen;
    int64_t workers; /* database worker threads */
    /* [wstun], bound by the tunnel's table */
    struct tun_server_conf wstun;

    /* Derived by wag_conf_check(). */
    char hostname[WAG_HOST_MAX];    /* wampagents.hostname, boards.agent */
    char listen_host[WAG_HOST_MAX]; /* [wagent] listen, split */
    int listen_port;
    char admin_host[WAG_HOST_MAX]; /* "" when admin_listen is empty: no admin listener */
    int admin_port;
    char wstun_public_url[WAG_URL_MAX]; /* [wstun] public_url or ws://<host>:<port>/ */
};

/* The wagent's own option table (conf_opts.c), and [wstun]'s in tunnel/conf.h. */
extern const struct cfg_opt wag_cfg_opts[];
extern const size_t wag_cfg_nopts;

/* The two tables to give cfg_bind(); they fill c. */
void wag_conf_tables(struct wag_conf *c, struct cfg_table tables[2]);

/* Loads --config-file options from argv (removing them; default path when
 * none) and binds and checks them into c (zeroed first). 0, or -EINVAL /
 * -ENOENT with "file:line: ..." or the option at fault in err. c must be
 * released with wag_conf_free() whatever the outcome. */
int wag_conf_load(int *argc, char **argv, const char *default_path, struct wag_conf *c,
                  struct error *err) IOT_WUR;

/* Binds and checks a configuration given as text (tests). Same results. */
int wag_conf_load_text(const char *text, struct wag_conf *c, struct error *err) IOT_WUR;

/* Validates c after binding and fills the derived fields. */
int wag_conf_check(struct wag_conf *c, struct error *err) IOT_WUR;

/* Frees the strings bound into c. */
void wag_conf_free(struct wag_conf *c);

#endif

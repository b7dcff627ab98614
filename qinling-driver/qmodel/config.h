/* qmodel/config.h: the configuration of qinling-api and qinling-engine
 * (deviceless-api.md Appendix A).
 *
 * Both daemons read the same options from the same files, so that the shared
 * values (the board token secret, the limits, the storage root) can never
 * disagree between them; each daemon then uses the sections it needs. The
 * authentication options ([DEFAULT] auth_strategy, [keystone_authtoken],
 * [oslo_policy]) are libiotauth's table, bound beside this one.
 *
 * qm_config_load() reads every --config-file, binds and validates all of it
 * before anything starts: a bad value names file:line and key (cfg.h), and
 * the cross-option rules below name the option. One struct per process, made
 * in main and read-only afterwards (any thread may read it). */
#ifndef QM_CONFIG_H
#define QM_CONFIG_H

#include <stdint.h>

#include "auth/auth.h"
#include "common/cfg.h"
#include "common/error.h"

#define QM_SECRET_MIN 32        /* 1.2: bytes of [engine] board_token_secret */
#define QM_PACKAGE_MAX 52428800 /* 3.1: a package, compressed */

struct qm_config {
    /* [DEFAULT] */
    char *qinling_endpoint; /* without trailing slash; NULL: from the Host header */
    char *transport_url;
    char *log_level;
    /* [pecan] auth_enable: Qinling's switch, applied over auth_strategy when set */
    char *pecan_auth_enable;
    /* [api] */
    char *api_host;
    int64_t api_port;
    char *cert_file, *key_file;
    int64_t max_request_body_size;
    int64_t max_package_body_size;
    int64_t max_input_size;
    int64_t max_limit;
    int64_t sync_grace;
    int64_t webhook_rate, webhook_burst;
    int64_t api_workers;    /* [ext] worker threads (sync executions hold one each) */
    char *api_admin_listen; /* [ext] host:port of GET /metrics; NULL: none */
    /* [resource_limits] */
    int64_t default_cpu, min_cpu, max_cpu;
    int64_t default_memory, min_memory, max_memory;
    int64_t default_timeout, min_timeout, max_timeout;
    /* [database] */
    char *db_connection;
    /* [storage] */
    char *file_system_dir;
    int64_t max_unpacked_size, max_entries;
    int64_t max_image_size, max_image_unpacked_size;
    int64_t blob_grace;
    /* [engine] */
    char *board_token_secret;
    int64_t board_token_ttl;
    char *board_download_url; /* without trailing slash; NULL: the base URL */
    int64_t board_call_timeout;
    int64_t sync_pending_timeout, async_pending_timeout;
    int64_t result_timeout;
    int64_t sweep_interval;
    int64_t job_interval;
    int64_t caps_refresh;
    int64_t max_log_size;
    int64_t firing_retention;
    int64_t engine_workers;    /* [ext] */
    char *engine_admin_listen; /* [ext] host:port of GET /metrics; NULL: none */
    /* bound beside: [DEFAULT] auth_strategy, [keystone_authtoken], [oslo_policy] */
    struct auth_config auth;
    /* the directory of the first config file: the policy file's home */
    char config_dir[4096];
};

/* Loads the --config-file options of argv (removing them; the default file
 * is /etc/qinling/qinling.conf), binds every option and checks the rules
 * cfg.h cannot express: [database] connection, [DEFAULT] transport_url,
 * [storage] file_system_dir and [engine] board_token_secret are required, the
 * secret has at least QM_SECRET_MIN bytes, min <= default <= max for each
 * resource limit, and [pecan] auth_enable is a boolean. Returns 0, or
 * -EINVAL/-ENOENT with the reason in err. Free with qm_config_free(). Main
 * thread. */
int qm_config_load(struct qm_config *c, int *argc, char **argv, struct error *err) IOT_WUR;

/* The same from text (unit tests): name is used in messages. */
int qm_config_load_text(struct qm_config *c, const char *name, const char *text,
                        struct error *err) IOT_WUR;

void qm_config_free(struct qm_config *c);

/* Parses "host:port" of an admin_listen option into host (size hostsz) and
 * *port. Returns 0 or -EINVAL. */
int qm_parse_listen(const char *spec, char *host, size_t hostsz, int *port) IOT_WUR;

#endif

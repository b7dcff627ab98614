/* qmodel/config.c: see config.h. Defaults are Appendix A's. */
#include "qmodel/config.h"

#include <errno.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT(sec, key, type, def, field, min, max)                                                  \
    {                                                                                              \
        sec, key, type, def, offsetof(struct qm_config, field), min, max, NULL, 0                  \
    }
#define GiB (INT64_C(1) << 30)

static const struct cfg_opt opts[] = {
    OPT("DEFAULT", "qinling_endpoint", CFG_STR, NULL, qinling_endpoint, 0, 0),
    OPT("DEFAULT", "transport_url", CFG_STR, NULL, transport_url, 0, 0),
    OPT("DEFAULT", "log_level", CFG_STR, "info", log_level, 0, 0),
    OPT("pecan", "auth_enable", CFG_STR, NULL, pecan_auth_enable, 0, 0),
    OPT("api", "host", CFG_STR, "0.0.0.0", api_host, 0, 0),
    OPT("api", "port", CFG_INT, "7070", api_port, 0, 65535),
    OPT("api", "cert_file", CFG_STR, NULL, cert_file, 0, 0),
    OPT("api", "key_file", CFG_STR, NULL, key_file, 0, 0),
    OPT("api", "max_request_body_size", CFG_INT, "1048576", max_request_body_size, 1024, GiB),
    OPT("api", "max_package_body_size", CFG_INT, "75497472", max_package_body_size, 1024, GiB),
    OPT("api", "max_input_size", CFG_INT, "65536", max_input_size, 1, 16 << 20),
    OPT("api", "max_limit", CFG_INT, "1000", max_limit, 1, 1000000),
    OPT("api", "sync_grace", CFG_INT, "30", sync_grace, 0, 86400),
    OPT("api", "webhook_rate", CFG_INT, "10", webhook_rate, 1, 1000000),
    OPT("api", "webhook_burst", CFG_INT, "20", webhook_burst, 1, 1000000),
    OPT("api", "workers", CFG_INT, "64", api_workers, 1, 1024),
    OPT("api", "admin_listen", CFG_STR, NULL, api_admin_listen, 0, 0),
    OPT("resource_limits", "default_cpu", CFG_INT, "100", default_cpu, 1, 1000000),
    OPT("resource_limits", "min_cpu", CFG_INT, "100", min_cpu, 1, 1000000),
    OPT("resource_limits", "max_cpu", CFG_INT, "300", max_cpu, 1, 1000000),
    OPT("resource_limits", "default_memory", CFG_INT, "33554432", default_memory, 4 << 20,
        64 * GiB),
    OPT("resource_limits", "min_memory", CFG_INT, "33554432", min_memory, 4 << 20, 64 * GiB),
    OPT("resource_limits", "max_memory", CFG_INT, "134217728", max_memory, 4 << 20, 64 * GiB),
    OPT("resource_limits", "default_timeout", CFG_INT, "5", default_timeout, 1, 86400),
    OPT("resource_limits", "min_timeout", CFG_INT, "1", min_timeout, 1, 86400),
    OPT("resource_limits", "max_timeout", CFG_INT, "300", max_timeout, 1, 86400),
    OPT("database", "connection", CFG_STR, NULL, db_connection, 0, 0),
    OPT("storage", "file_system_dir", CFG_STR, NULL, file_system_dir, 0, 0),
    OPT("storage", "max_unpacked_size", CFG_INT, "268435456", max_unpacked_size, 1, 1024 * GiB),
    OPT("storage", "max_entries", CFG_INT, "10000", max_entries, 1, 100000000),
    OPT("storage", "max_image_size", CFG_INT, "536870912", max_image_size, 1, 1024 * GiB),
    OPT("storage", "max_image_unpacked_size", CFG_INT, "1073741824", max_image_unpacked_size, 1,
        1024 * GiB),
    OPT("storage", "blob_grace", CFG_INT, "3600", blob_grace, 0, 86400 * 365),
    OPT("engine", "board_token_secret", CFG_STR, NULL, board_token_secret, 0, 0),
    OPT("engine", "board_token_ttl", CFG_INT, "900", board_token_ttl, 1, 86400 * 7),
    OPT("engine", "board_download_url", CFG_STR, NULL, board_download_url, 0, 0),
    OPT("engine", "board_call_timeout", CFG_INT, "30", board_call_timeout, 1, 3600),
    OPT("engine", "sync_pending_timeout", CFG_INT, "30", sync_pending_timeout, 0, 86400),
    OPT("engine", "async_pending_timeout", CFG_INT, "3600", async_pending_timeout, 0, 86400),
    OPT("engine", "result_timeout", CFG_INT, "86400", result_timeout, 1, 86400 * 30),
    OPT("engine", "sweep_interval", CFG_INT, "5", sweep_interval, 1, 3600),
    OPT("engine", "job_interval", CFG_INT, "1", job_interval, 1, 3600),
    OPT("engine", "caps_refresh", CFG_INT, "3600", caps_refresh, 1, 86400 * 7),
    OPT("engine", "max_log_size", CFG_INT, "262144", max_log_size, 1024, 64 << 20),
    OPT("engine", "firing_retention", CFG_INT, "604800", firing_retention, 60, 86400 * 365),
    OPT("engine", "workers", CFG_INT, "8", engine_workers, 1, 256),
    OPT("engine", "admin_listen", CFG_STR, NULL, engine_admin_listen, 0, 0),
};

static void tables(struct qm_config *c, struct cfg_table t[2])
{
    t[0] = (struct cfg_table){opts, sizeof(opts) / sizeof(opts[0]), c};
    t[1] = (struct cfg_table){auth_cfg_opts, auth_cfg_nopts, &c->auth};
}

static void strip_slash(char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
}

static int check_range(const char *what, int64_t def, int64_t min, int64_t max, struct error *err)
{
    if (min > max || def < min || def > max)
        return error_set(err, -EINVAL,
                         "[resource_limits] %s: need min_%s <= default_%s <= max_%s "
                         "(got %lld, %lld, %lld)",
                         what, what, what, what, (long long)min, (long long)def, (long long)max);
    return 0;
}

static int required(const char *v, const char *what, struct error *err)
{
    if (v == NULL || v[0] == '\0')
        return error_set(err, -EINVAL, "%s is required", what);
    return 0;
}

/* Rules across options, applied once everything is bound. */
static int validate(struct qm_config *c, struct error *err)
{
    int b;

    if (required(c->db_connection, "[database] connection", err) < 0 ||
        required(c->transport_url, "[DEFAULT] transport_url", err) < 0 ||
        required(c->file_system_dir, "[storage] file_system_dir", err) < 0 ||
        required(c->board_token_secret, "[engine] board_token_secret", err) < 0)
        return -EINVAL;
    if (strlen(c->board_token_secret) < QM_SECRET_MIN)
        return error_set(err, -EINVAL,
                         "[engine] board_token_secret must be at least %d bytes long (it has %zu)",
                         QM_SECRET_MIN, strlen(c->board_token_secret));
    if (check_range("cpu", c->default_cpu, c->min_cpu, c->max_cpu, err) < 0 ||
        check_range("memory", c->default_memory, c->min_memory, c->max_memory, err) < 0 ||
        check_range("timeout", c->default_timeout, c->min_timeout, c->max_timeout, err) < 0)
        return -EINVAL;
    if (c->pecan_auth_enable != NULL) {
        if (cfg_parse_bool(c->pecan_auth_enable, &b) < 0)
            return error_set(err, -EINVAL, "[pecan] auth_enable: %s is not a boolean",
                             c->pecan_auth_enable);
        c->auth.strategy = b ? AUTH_KEYSTONE : AUTH_NOAUTH;
    }
    strip_slash(c->qinling_endpoint);
    strip_slash(c->board_download_url);
    return 0;
}

static void remember_config_dir(struct qm_config *c, int argc, char **argv)
{
    char tmp[sizeof(c->config_dir)];

    snprintf(c->config_dir, sizeof(c->config_dir), "/etc/qinling");
    for (int i = 1; i < argc; i++) {
        const char *p = NULL;

        if (strcmp(argv[i], "--config-file") == 0 && i + 1 < argc)
            p = argv[i + 1];
        else if (strncmp(argv[i], "--config-file=", 14) == 0)
            p = argv[i] + 14;
        if (p != NULL) {
            snprintf(tmp, sizeof(tmp), "%s", p);
            snprintf(c->config_dir, sizeof(c->config_dir), "%s", dirname(tmp));
            return;
        }
    }
}

static int bind_all(struct qm_config *c, struct cfg *cfg, struct error *err)
{
    struct cfg_table t[2];
    int rc;

    tables(c, t);
    rc = cfg_bind(cfg, t, 2, err);
    return rc < 0 ? rc : validate(c, err);
}

int qm_config_load(struct qm_config *c, int *argc, char **argv, struct error *err)
{
    struct cfg *cfg = cfg_new();
    int rc;

    memset(c, 0, sizeof(*c));
    remember_config_dir(c, *argc, argv);
    rc = cfg_load_args(cfg, argc, argv, "/etc/qinling/qinling.conf", err);
    if (rc == 0)
        rc = bind_all(c, cfg, err);
    cfg_free(cfg);
    return rc;
}

int qm_config_load_text(struct qm_config *c, const char *name, const char *text, struct error *err)
{
    struct cfg *cfg = cfg_new();
    int rc;

    memset(c, 0, sizeof(*c));
    snprintf(c->config_dir, sizeof(c->config_dir), ".");
    rc = cfg_load_text(cfg, name, text, err);
    if (rc == 0)
        rc = bind_all(c, cfg, err);
    cfg_free(cfg);
    return rc;
}

void qm_config_free(struct qm_config *c)
{
    struct cfg_table t[2];

    tables(c, t);
    cfg_unbind(t, 2);
}

int qm_parse_listen(const char *spec, char *host, size_t hostsz, int *port)
{
    const char *colon = strrchr(spec, ':');
    char *end;
    long p;

    if (colon == NULL || colon == spec || (size_t)(colon - spec) >= hostsz)
        return -EINVAL;
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || p < 0 || p > 65535)
        return -EINVAL;
    snprintf(host, hostsz, "%.*s", (int)(colon - spec), spec);
    *port = (int)p;
    return 0;
}

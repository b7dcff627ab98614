/* iotronic-api: the IoTronic v1 REST API (iotronic-api-v1.md).
 *
 *   iotronic-api [--config-file FILE ...]     serve
 *   iotronic-api --dump-routes               print the route table and exit
 *
 * main() reads the configuration, builds the service (auth and policy, the
 * read statements, the AMQP connection to the conductors, the HTTP server on
 * the process loop with one database connection per worker) and runs the
 * loop until SIGTERM or SIGINT. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/policy_rules.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "db/db.h"
#include "loop/loop.h"
#include "conf/iotconf.h"

struct main_state {
    struct api a;
    struct cfg_table tables[2];
    char config_dir[PATH_MAX];
    struct http_cors cors;
    struct loop *loop;
    struct wq *wq;
    struct http_server *srv;
    struct http_server *admin;
    struct metrics *metrics;
};

/* The directory of the first --config-file: the policy file's home (4.5). */
static void remember_config_dir(int argc, char **argv, struct main_state *m)
{
    char tmp[PATH_MAX];

    snprintf(m->config_dir, sizeof(m->config_dir), "/etc/iotronic");
    for (int i = 1; i < argc; i++) {
        const char *p = NULL;

        if (strcmp(argv[i], "--config-file") == 0 && i + 1 < argc)
            p = argv[i + 1];
        else if (strncmp(argv[i], "--config-file=", 14) == 0)
            p = argv[i] + 14;
        if (p != NULL) {
            snprintf(tmp, sizeof(tmp), "%s", p);
            snprintf(m->config_dir, sizeof(m->config_dir), "%s", dirname(tmp));
            return;
        }
    }
}

static int load_config(int *argc, char **argv, struct main_state *m, struct error *err)
{
    struct api_config *c = &m->a.cfg;
    struct cfg *cfg = cfg_new();
    int rc;

    m->tables[0] = (struct cfg_table){api_cfg_opts, api_cfg_nopts, c};
    m->tables[1] = (struct cfg_table){auth_cfg_opts, auth_cfg_nopts, &m->a.auth_cfg};
    rc = cfg_load_args(cfg, argc, argv, "/etc/iotronic/iotronic.conf", err);
    if (rc == 0)
        rc = (iotconf_add_known(cfg), cfg_bind(cfg, m->tables, 2, err));
    cfg_free(cfg);
    if (rc < 0)
        return rc;
    if (*argc > 1)
        return error_set(err, -EINVAL,
                         "unexpected argument %s (usage: iotronic-api "
                         "[--config-file FILE ...] | --dump-routes)",
                         argv[1]);
    if (c->db_connection == NULL)
        return error_set(err, -EINVAL, "[database] connection is required");
    if (c->transport_url == NULL)
        return error_set(err, -EINVAL, "[DEFAULT] transport_url is required");
    if (c->public_endpoint != NULL) {
        size_t n = strlen(c->public_endpoint);

        while (n > 0 && c->public_endpoint[n - 1] == '/')
            c->public_endpoint[--n] = '\0';
    }
    return 0;
}

/* The admin listener (GET /metrics) at [api] admin_listen "host:port". */
static int start_admin(struct main_state *m, struct error *err)
{
    const char *spec = m->a.cfg.admin_listen;
    char host[256];
    const char *colon;
    char *end;
    long port;

    if (spec == NULL || spec[0] == '\0')
        return 0;
    colon = strrchr(spec, ':');
    if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
        return error_set(err, -EINVAL, "[api] admin_listen: expected host:port, got %s", spec);
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535)
        return error_set(err, -EINVAL, "[api] admin_listen: bad port in %s", spec);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
    return http_admin_new(m->loop, m->wq, host, (int)port, m->metrics, &m->admin, err);
}

static int start(struct main_state *m, struct error *err)
{
    static const struct auth_service svc_msgs = {
        "The request you have made requires authentication.",
        "The request you have made requires authentication.",
        "A project-scoped token is required.",
        "Resource temporarily unavailable, please retry.",
        NULL,
        "is_admin",
    };
    struct api *a = &m->a;
    struct policy_opts po = {0};
    struct loop_opts lo = {"iotronic-api", 0, 0, 1};
    struct http_server_opts so = {0};
    struct http_service svc;
    struct mq_opts mo = {0};
    struct wq_hooks hooks;
    int rc;

    po.defaults = api_policy_defaults;
    po.ndefaults = api_policy_ndefaults;
    po.file = a->auth_cfg.policy_file;
    po.config_dir = m->config_dir;
    po.enforce = a->auth_cfg.strategy == AUTH_KEYSTONE || a->auth_cfg.noauth_enforce_policy;
    if ((rc = policy_new(&po, &a->policy, err)) < 0 ||
        (rc = auth_new(&a->auth_cfg, &svc_msgs, a->policy, &a->auth, err)) < 0 ||
        (rc = api_store_new(&a->store, err)) < 0)
        return rc;
    mo.name = "iotronic-api";
    if ((rc = mq_new(a->cfg.transport_url, &mo, &a->mq, err)) < 0 ||
        (rc = loop_new(&lo, &m->loop, err)) < 0)
        return rc;
    hooks = loop_wq_hooks(m->loop, db_thread_open, db_thread_close, a->cfg.db_connection);
    m->wq = wq_new((int)a->cfg.workers, (size_t)a->cfg.workers * 256, &hooks);
    loop_set_wq(m->loop, m->wq);
    m->cors = (struct http_cors){a->cfg.cors_allowed_origin,
                                 a->cfg.cors_allow_credentials,
                                 a->cfg.cors_max_age,
                                 NULL,
                                 "X-Auth-Token, X-OpenStack-Iotronic-API-Version",
                                 "X-OpenStack-Iotronic-API-Version, "
                                 "X-OpenStack-Iotronic-API-Minimum-Version, "
                                 "X-OpenStack-Iotronic-API-Maximum-Version"};
    m->metrics = metrics_new();
    so.name = "api";
    so.host = a->cfg.host_ip;
    so.port = (int)a->cfg.port;
    so.cert_file = a->cfg.cert_file;
    so.key_file = a->cfg.key_file;
    so.max_body = (uint64_t)a->cfg.max_request_body_size;
    so.auth = a->auth;
    so.cors = http_cors_enabled(&m->cors) ? &m->cors : NULL;
    so.metrics = m->metrics;
    api_service_init(a, &svc);
    rc = http_server_new(m->loop, m->wq, &so, &svc, &m->srv, err);
    if (rc == 0)
        rc = start_admin(m, err);
    if (rc == 0)
        log_info("listening on %s:%d", a->cfg.host_ip, http_server_port(m->srv));
    return rc;
}

static void stop(struct main_state *m)
{
    wq_free(m->wq);
    loop_free(m->loop);
    http_server_free(m->srv);
    http_server_free(m->admin);
    mq_free(m->a.mq);
    api_store_free(m->a.store);
    auth_free(m->a.auth);
    policy_free(m->a.policy);
    metrics_free(m->metrics);
    cfg_unbind(m->tables, 2);
}

int main(int argc, char **argv)
{
    static struct main_state m;
    struct error err = {0};
    enum log_level lvl = LOG_INFO;
    int rc;

    xalloc_init();
    if (argc == 2 && strcmp(argv[1], "--dump-routes") == 0) {
        api_dump_routes();
        return 0;
    }
    log_init("iotronic-api", LOG_INFO);
    signal(SIGPIPE, SIG_IGN);
    remember_config_dir(argc, argv, &m);
    if (load_config(&argc, argv, &m, &err) < 0) {
        fprintf(stderr, "iotronic-api: %s\n", err.msg);
        cfg_unbind(m.tables, 2);
        return 2;
    }
    if (m.a.cfg.log_level && log_level_parse(m.a.cfg.log_level, &lvl) == 0)
        log_set_level(lvl);
    rc = start(&m, &err);
    if (rc < 0)
        log_error("cannot start: %s", err.msg);
    else
        loop_run(m.loop);
    log_info("stopping");
    stop(&m);
    return rc < 0 ? 1 : 0;
}

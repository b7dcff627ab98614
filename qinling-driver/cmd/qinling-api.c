/* qinling-api: the deviceless functions REST API (deviceless-api.md).
 *
 *   qinling-api [--config-file FILE ...]     serve on [api] host:port
 *   qinling-api --dump-routes               print the route table and exit
 *
 * main() reads and validates the configuration (refusing a board token
 * secret shorter than 32 bytes), builds the service (policy, auth, the AMQP
 * connection to the engine, the sync-execution listener, the blob store) and
 * runs the HTTP server on the process loop, with one database connection
 * per worker, until SIGTERM or SIGINT. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "db/db.h"
#include "loop/loop.h"
#include "qapi/qapi.h"
#include "qapi/ratelimit.h"
#include "qapi/waiters.h"
#include "qmodel/blobs.h"
#include "qmodel/sql.h"

struct main_state {
    struct qm_config cfg;
    struct qa a;
    struct loop *loop;
    struct wq *wq;
    struct http_route *routes;
    size_t nroutes;
    struct http_server *srv, *admin;
    struct metrics *metrics;
    char *spool;
};

static int start_auth(struct main_state *m, struct error *err)
{
    static const struct auth_service msgs = {
        "Failed to validate access token: Authentication required",
        "Failed to validate access token: Auth token is invalid",
        "Operation not allowed",
        "Service temporarily unavailable, please retry.",
        "default",
        "context_is_admin",
    };
    struct policy_opts po = {0};
    int rc;

    m->a.enforce = m->cfg.auth.strategy == AUTH_KEYSTONE || m->cfg.auth.noauth_enforce_policy;
    po.defaults = qa_policy_defaults;
    po.ndefaults = qa_policy_ndefaults;
    po.file = m->cfg.auth.policy_file;
    po.config_dir = m->cfg.config_dir;
    po.default_rule = "default";
    po.enforce = m->a.enforce;
    rc = policy_new(&po, &m->a.policy, err);
    if (rc == 0)
        rc = auth_new(&m->cfg.auth, &msgs, m->a.policy, &m->a.auth, err);
    return rc;
}

static int start_mq(struct main_state *m, struct error *err)
{
    struct mq_opts mo = {0};
    struct error derr;
    int rc;

    mo.name = "qinling-api";
    rc = mq_new(m->cfg.transport_url, &mo, &m->a.mq, err);
    if (rc < 0)
        return rc;
    /* Declared by both daemons, so that confirmed publishes always find it;
     * -ENOTCONN keeps the declaration for when the broker comes. */
    rc = mq_declare_queue(m->a.mq, QM_ENGINE_QUEUE, MQ_DURABLE, &derr);
    if (rc < 0 && rc != -ENOTCONN)
        return error_set(err, rc, "declare %s: %s", QM_ENGINE_QUEUE, derr.msg);
    return 0;
}

static int start_admin(struct main_state *m, struct error *err)
{
    char host[256];
    int port;

    if (m->cfg.api_admin_listen == NULL || m->cfg.api_admin_listen[0] == '\0')
        return 0;
    if (qm_parse_listen(m->cfg.api_admin_listen, host, sizeof(host), &port) < 0)
        return error_set(err, -EINVAL, "[api] admin_listen: expected host:port, got %s",
                         m->cfg.api_admin_listen);
    return http_admin_new(m->loop, m->wq, host, port, m->metrics, &m->admin, err);
}

static int start_http(struct main_state *m, struct error *err)
{
    struct loop_opts lo = {"qinling-api", 0, 0, 1};
    struct http_server_opts so = {0};
    struct http_service svc;
    struct wq_hooks hooks;
    int rc = loop_new(&lo, &m->loop, err);

    if (rc < 0)
        return rc;
    hooks = loop_wq_hooks(m->loop, db_thread_open, db_thread_close, m->a.cfg->db_connection);
    m->wq = wq_new((int)m->cfg.api_workers, (size_t)m->cfg.api_workers * 256, &hooks);
    loop_set_wq(m->loop, m->wq);
    m->metrics = metrics_new();
    m->routes = qa_routes_build(&m->cfg, &m->nroutes);
    m->spool = xasprintf("%s/tmp", m->cfg.file_system_dir);
    so.name = "api";
    so.host = m->cfg.api_host;
    so.port = (int)m->cfg.api_port;
    so.cert_file = m->cfg.cert_file;
    so.key_file = m->cfg.key_file;
    so.max_body = (uint64_t)m->cfg.max_request_body_size;
    so.spool_dir = m->spool; /* uploads rename into the blob store: same file system */
    so.auth = m->a.auth;
    so.metrics = m->metrics;
    qa_service_init(&m->a, &svc, m->routes, m->nroutes);
    rc = http_server_new(m->loop, m->wq, &so, &svc, &m->srv, err);
    if (rc == 0)
        rc = start_admin(m, err);
    if (rc == 0)
        log_info("listening on %s:%d", m->cfg.api_host, http_server_port(m->srv));
    return rc;
}

static int start(struct main_state *m, struct error *err)
{
    int rc;

    m->a.cfg = &m->cfg;
    if ((rc = qm_blobs_init(m->cfg.file_system_dir, err)) < 0 || (rc = start_auth(m, err)) < 0 ||
        (rc = start_mq(m, err)) < 0 ||
        (rc = qa_waiters_new(m->cfg.db_connection, &m->a.waiters, err)) < 0)
        return rc;
    m->a.webhook_rl = qa_ratelimit_new((double)m->cfg.webhook_rate, (double)m->cfg.webhook_burst);
    return start_http(m, err);
}

static void stop(struct main_state *m)
{
    wq_free(m->wq);
    loop_free(m->loop);
    http_server_free(m->srv);
    http_server_free(m->admin);
    qa_waiters_free(m->a.waiters);
    mq_free(m->a.mq);
    auth_free(m->a.auth);
    policy_free(m->a.policy);
    qa_ratelimit_free(m->a.webhook_rl);
    metrics_free(m->metrics);
    free(m->routes);
    free(m->spool);
    qm_config_free(&m->cfg);
}

static int dump_routes(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dump-routes") == 0) {
            struct qm_config cfg = {0};

            cfg.max_image_size = 536870912;
            cfg.max_package_body_size = 75497472;
            qa_dump_routes(&cfg);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct main_state m = {0};
    struct error err;
    enum log_level lvl;
    int rc;

    log_init("qinling-api", LOG_INFO);
    xalloc_init();
    if (dump_routes(argc, argv))
        return 0;
    if (qm_config_load(&m.cfg, &argc, argv, &err) < 0) {
        log_error("configuration: %s", err.msg);
        qm_config_free(&m.cfg);
        return 78; /* EX_CONFIG */
    }
    if (argc > 1) {
        log_error("unexpected argument %s (usage: qinling-api [--config-file FILE ...] | "
                  "--dump-routes)",
                  argv[1]);
        qm_config_free(&m.cfg);
        return 64;
    }
    if (log_level_parse(m.cfg.log_level, &lvl) == 0)
        log_set_level(lvl);
    rc = start(&m, &err);
    if (rc < 0) {
        log_error("cannot start: %s", err.msg);
        stop(&m);
        return 1;
    }
    rc = loop_run(m.loop);
    log_info("stopping (signal %d)", rc);
    stop(&m);
    return 0;
}

/* qinling-engine: placement, dispatch, results, jobs and the IoTronic
 * orchestrator driver of the deviceless service (deviceless-api.md 0.1).
 *
 *   qinling-engine [--config-file FILE ...]
 *
 * main() reads and validates the configuration (refusing a board token
 * secret shorter than 32 bytes), connects to the broker, starts the worker
 * pool (one database connection per worker) and the engine's consumers and
 * timers on the process loop, and runs until SIGTERM or SIGINT. Any number
 * of engines may run against one database and broker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "db/db.h"
#include "http/server.h"
#include "loop/loop.h"
#include "qengine/engine.h"
#include "qengine/trigger.h"
#include "qmodel/sql.h"

struct main_state {
    struct qm_config cfg;
    struct qe e;
    struct http_server *admin;
};

/* <board download base>: [engine] board_download_url, else <base> (1.1). */
static void base_url(struct main_state *m)
{
    const struct qm_config *c = &m->cfg;
    const char *host = strcmp(c->api_host, "0.0.0.0") == 0 ? "127.0.0.1" : c->api_host;

    if (c->board_download_url != NULL)
        snprintf(m->e.base_url, sizeof(m->e.base_url), "%s", c->board_download_url);
    else if (c->qinling_endpoint != NULL)
        snprintf(m->e.base_url, sizeof(m->e.base_url), "%s", c->qinling_endpoint);
    else {
        snprintf(m->e.base_url, sizeof(m->e.base_url), "http://%s:%lld", host,
                 (long long)c->api_port);
        log_warn("neither [engine] board_download_url nor [DEFAULT] qinling_endpoint is set: "
                 "boards download from %s",
                 m->e.base_url);
    }
}

static int start_admin(struct main_state *m, struct error *err)
{
    char host[256];
    int port;

    if (m->cfg.engine_admin_listen == NULL || m->cfg.engine_admin_listen[0] == '\0')
        return 0;
    if (qm_parse_listen(m->cfg.engine_admin_listen, host, sizeof(host), &port) < 0)
        return error_set(err, -EINVAL, "[engine] admin_listen: expected host:port, got %s",
                         m->cfg.engine_admin_listen);
    return http_admin_new(m->e.loop, m->e.wq, host, port, m->e.metrics, &m->admin, err);
}

static int start(struct main_state *m, struct error *err)
{
    struct loop_opts lo = {"qinling-engine", 0, 0, 1};
    struct mq_opts mo = {0};
    struct wq_hooks hooks;
    struct qe *e = &m->e;
    int rc;

    e->cfg = &m->cfg;
    base_url(m);
    mo.name = "qinling-engine";
    if ((rc = mq_new(m->cfg.transport_url, &mo, &e->mq, err)) < 0 ||
        (rc = loop_new(&lo, &e->loop, err)) < 0)
        return rc;
    hooks = loop_wq_hooks(e->loop, db_thread_open, db_thread_close, e->cfg->db_connection);
    /* Unbounded: a board's answer must always find its way to a worker. */
    e->wq = wq_new((int)m->cfg.engine_workers, 0, &hooks);
    loop_set_wq(e->loop, e->wq);
    e->metrics = metrics_new();
    qe_metrics_register(e);
    rc = qe_start(e, err);
    if (rc == 0)
        rc = qe_triggers_start(e, err);
    if (rc == 0)
        rc = start_admin(m, err);
    return rc;
}

static void stop(struct main_state *m)
{
    struct qe *e = &m->e;

    if (e->loop != NULL) {
        qe_stop(e);
        qe_triggers_stop(e);
    }
    /* Queued work may still call boards, and answers to those calls are
     * handed back to the pool: finish the pool's work while the connection
     * lives, free the connection (its late answers then find the pool
     * refusing work), and only then free the pool. */
    wq_shutdown(e->wq);
    mq_free(e->mq);
    wq_free(e->wq);
    loop_free(e->loop);
    http_server_free(m->admin);
    metrics_free(e->metrics);
    qm_config_free(&m->cfg);
}

int main(int argc, char **argv)
{
    struct main_state m = {0};
    struct error err;
    enum log_level lvl;
    int rc;

    log_init("qinling-engine", LOG_INFO);
    xalloc_init();
    if (qm_config_load(&m.cfg, &argc, argv, &err) < 0) {
        log_error("configuration: %s", err.msg);
        qm_config_free(&m.cfg);
        return 78; /* EX_CONFIG */
    }
    if (argc > 1) {
        log_error("unexpected argument %s (usage: qinling-engine [--config-file FILE ...])",
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
    rc = loop_run(m.e.loop);
    log_info("stopping (signal %d)", rc);
    stop(&m);
    return 0;
}

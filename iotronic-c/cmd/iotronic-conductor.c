/* iotronic-conductor: serves the API's writes and the wagents' notifications
 * from the shared AMQP queue, and checks for dead wagents (conductor/rpc.h,
 * iotronic-api-v1.md 2.14, board-protocol.md 7.3). Any number may run.
 *
 *   iotronic-conductor [--config-file FILE ...]
 *
 * main() only reads the configuration, builds the context and runs; the
 * main thread then sleeps in sigtimedwait() between the periodic checks. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "amqp/mq.h"
#include "common/cfg.h"
#include "common/log.h"
#include "common/stallwatch.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "conductor/cond.h"
#include "conductor/serve.h"
#include "db/db.h"
#include "conf/iotconf.h"

/* board-protocol.md 7.3 names [wagent] heartbeat_interval and agent_timeout
 * for the dead-wagent check every wagent and conductor runs; the conductor
 * follows them unless its own [conductor] options say otherwise. */
static int wagent_timing(const struct cfg *cfg, struct cond *c, struct error *err)
{
    static const char *const keys[] = {"heartbeat_interval", "agent_timeout"};
    int64_t *dst[] = {&c->cfg.heartbeat_interval, &c->cfg.agent_timeout};

    for (size_t i = 0; i < 2; i++) {
        const char *v = cfg_get(cfg, "wagent", keys[i]);
        char *end;
        long long n;

        if (v == NULL || cfg_get(cfg, "conductor", keys[i]) != NULL)
            continue;
        n = strtoll(v, &end, 10);
        if (end == v || *end != '\0' || n < 1 || n > 86400)
            return error_set(err, -EINVAL, "[wagent] %s: '%s' is not a number of seconds", keys[i],
                             v);
        *dst[i] = n;
    }
    return 0;
}

static int load_config(int *argc, char **argv, struct cond *c, struct error *err)
{
    struct cfg_table t = {cond_cfg_opts, cond_cfg_nopts, &c->cfg};
    struct cfg *cfg = cfg_new();
    int rc = cfg_load_args(cfg, argc, argv, "/etc/iotronic/iotronic.conf", err);

    if (rc == 0)
        rc = (iotconf_add_known(cfg), cfg_bind(cfg, &t, 1, err));
    if (rc == 0)
        rc = wagent_timing(cfg, c, err);
    cfg_free(cfg);
    if (rc < 0)
        return rc;
    if (*argc > 1)
        return error_set(err, -EINVAL,
                         "unexpected argument %s (usage: iotronic-conductor "
                         "[--config-file FILE ...])",
                         argv[1]);
    if (c->cfg.db_connection == NULL)
        return error_set(err, -EINVAL, "[database] connection is required");
    if (c->cfg.transport_url == NULL)
        return error_set(err, -EINVAL, "[DEFAULT] transport_url is required");
    if (c->cfg.port_min > c->cfg.port_max)
        return error_set(err, -EINVAL, "[conductor] service_port_min is above service_port_max");
    if (c->cfg.host != NULL)
        snprintf(c->hostname, sizeof(c->hostname), "%s", c->cfg.host);
    else if (gethostname(c->hostname, sizeof(c->hostname) - 1) < 0)
        snprintf(c->hostname, sizeof(c->hostname), "conductor");
    return 0;
}

/* Sleeps up to seconds; returns the signal that arrived, or 0. */
static int wait_signal(const sigset_t *set, int64_t seconds)
{
    struct timespec ts = {(time_t)seconds, 0};
    int sig = sigtimedwait(set, NULL, &ts);

    return sig > 0 ? sig : 0;
}

static void run(struct cond *c, struct db *db, const sigset_t *set)
{
    struct stall_watch judge;
    struct error err;
    int registered = 0;

    /* A check after this conductor's own stall does not judge (stallwatch.h). */
    stall_watch_init(&judge, c->cfg.heartbeat_interval, c->cfg.agent_timeout, time_mono_us());
    for (;;) {
        if (!registered) {
            registered = cond_register(db, c->hostname, 1, &err) == 0;
            if (!registered)
                log_warn("cannot register in conductors: %s", err.msg);
        }
        if (stall_watch_may_judge(&judge, time_mono_us()) && cond_reap(c, db, &err) < 0)
            log_warn("dead-wagent check failed: %s", err.msg);
        if (cond_expire_calls(c, db, &err) < 0)
            log_warn("stale-call check failed: %s", err.msg);
        else
            stall_watch_done(&judge, time_mono_us());
        if (wait_signal(set, c->cfg.heartbeat_interval) != 0)
            return;
    }
}

int main(int argc, char **argv)
{
    struct cond c;
    struct cfg_table t = {cond_cfg_opts, cond_cfg_nopts, &c.cfg};
    struct mq_opts mo = {0};
    struct wq *wq = NULL;
    struct db *db = NULL;
    struct error err = {0};
    enum log_level lvl = LOG_INFO;
    sigset_t set;
    int rc;

    memset(&c, 0, sizeof(c));
    xalloc_init();
    log_init("iotronic-conductor", LOG_INFO);
    if (load_config(&argc, argv, &c, &err) < 0) {
        fprintf(stderr, "iotronic-conductor: %s\n", err.msg);
        cfg_unbind(&t, 1);
        return 2;
    }
    if (c.cfg.log_level && log_level_parse(c.cfg.log_level, &lvl) == 0)
        log_set_level(lvl);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts */
    signal(SIGPIPE, SIG_IGN);
    mo.name = "iotronic-conductor";
    rc = mq_new(c.cfg.transport_url, &mo, &c.mq, &err);
    if (rc == 0)
        rc = db_new(c.cfg.db_connection, &db, &err);
    if (rc == 0)
        rc = cond_start(&c, &wq, &err);
    if (rc < 0) {
        log_error("cannot start: %s", err.msg);
    } else {
        log_info("serving host=%s workers=%lld", c.hostname, (long long)c.cfg.workers);
        run(&c, db, &set);
        log_info("stopping");
    }
    mq_free(c.mq);
    wq_free(wq);
    if (db != NULL && cond_register(db, c.hostname, 0, &err) < 0)
        log_warn("cannot mark this conductor offline: %s", err.msg);
    db_close(db);
    cfg_unbind(&t, 1);
    return rc < 0 ? 1 : 0;
}

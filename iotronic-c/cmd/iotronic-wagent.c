/* iotronic-wagent: the WAMP router for boards, the cloud's board callees,
 * board liveness and the tunnel server (board-protocol.md). Any number may
 * run; each serves the AMQP queue wagent.<host>.
 *
 *   iotronic-wagent [--config-file FILE ...]
 *
 * main() reads the configuration, raises the descriptor limit (one socket
 * per board, and two per tunnelled connection), builds the loop, the
 * database workers, the AMQP connection and the service, and runs until
 * SIGTERM or SIGINT; then boards are told GOODBYE and marked offline. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/log.h"
#include "db/db.h"
#include "common/xalloc.h"
#include "wagent/wagent.h"

/* A board is a socket: take every descriptor the hard limit allows. */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_warn("cannot raise the descriptor limit: %s", strerror(errno));
    }
}

static int run(const struct wag_conf *cfg, struct error *err)
{
    struct loop_opts lo = {"iotronic-wagent", 0, 0, 1};
    struct mq_opts mo = {0};
    struct loop *loop = NULL;
    struct metrics *metrics = NULL;
    struct wq *wq = NULL;
    struct mq *mq = NULL;
    struct wag *w = NULL;
    struct wq_hooks hooks;
    int rc;

    mo.name = "iotronic-wagent";
    if ((rc = mq_new(cfg->transport_url, &mo, &mq, err)) < 0 ||
        (rc = loop_new(&lo, &loop, err)) < 0)
        goto out;
    hooks = loop_wq_hooks(loop, db_thread_open, db_thread_close, cfg->db_connection);
    wq = wq_new((int)cfg->workers, 65536, &hooks);
    loop_set_wq(loop, wq);
    metrics = metrics_new();
    if ((rc = wag_new(cfg, loop, wq, mq, metrics, &w, err)) < 0 || (rc = wag_start(w, err)) < 0)
        goto stop;
    log_info("serving host=%s queue=wagent.%s workers=%lld", cfg->hostname, cfg->hostname,
             (long long)cfg->workers);
    loop_run(loop);
    log_info("stopping");
stop:
    wag_stop(w);
    wq_free(wq);
    wag_offline(w);
    loop_free(loop);
    loop = NULL;
    wag_free(w);
out:
    loop_free(loop);
    mq_free(mq);
    metrics_free(metrics);
    return rc;
}

int main(int argc, char **argv)
{
    struct wag_conf cfg;
    struct error err = {0};
    enum log_level lvl = LOG_INFO;
    int rc;

    xalloc_init();
    log_init("iotronic-wagent", LOG_INFO);
    signal(SIGPIPE, SIG_IGN);
    rc = wag_conf_load(&argc, argv, "/etc/iotronic/iotronic.conf", &cfg, &err);
    if (rc == 0 && argc > 1)
        rc = error_set(&err, -EINVAL,
                       "unexpected argument %s (usage: iotronic-wagent "
                       "[--config-file FILE ...])",
                       argv[1]);
    if (rc < 0) {
        fprintf(stderr, "iotronic-wagent: %s\n", err.msg);
        wag_conf_free(&cfg);
        return 2;
    }
    if (cfg.log_level && log_level_parse(cfg.log_level, &lvl) == 0)
        log_set_level(lvl);
    raise_nofile();
    rc = run(&cfg, &err);
    if (rc < 0)
        log_error("cannot run: %s", err.msg);
    wag_conf_free(&cfg);
    return rc < 0 ? 1 : 0;
}

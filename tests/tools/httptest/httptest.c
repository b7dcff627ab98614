/* tests/tools/httptest/httptest.c: main() of the test daemon: argv, config,
 * the loop, the worker pool, the server and the admin listener, the way a
 * real service's main does it.
 *
 *   httptest --config-file FILE
 *
 * [DEFAULT] auth_strategy, noauth_enforce_policy; [keystone_authtoken];
 * [oslo_policy] policy_file; [cors]; and [httptest] below. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "httptest.h"
#include "loop/loop.h"

#define HOPT(key, type, def, field, min, max)                                                      \
    {                                                                                              \
        "httptest", key, type, def, offsetof(struct httptest_config, field), min, max, NULL, 0     \
    }

static const struct cfg_opt httptest_opts[] = {
    HOPT("host", CFG_STR, "127.0.0.1", host, 0, 0),
    HOPT("port", CFG_INT, "0", port, 0, 65535),
    HOPT("admin_port", CFG_INT, "0", admin_port, 0, 65535),
    HOPT("workers", CFG_INT, "2", workers, 1, 64),
    HOPT("max_queued", CFG_INT, "1024", max_queued, 1, 1000000),
    HOPT("max_body", CFG_INT, "1048576", max_body, 1, 1LL << 40),
    HOPT("max_header", CFG_INT, "16384", max_header, 1024, 1 << 20),
    HOPT("small_max", CFG_INT, "1024", small_max, 1, 1LL << 40),
    HOPT("upload_max", CFG_INT, "67108864", upload_max, 1, 1LL << 40),
    HOPT("max_connections", CFG_INT, "10000", max_connections, 1, 1000000),
    HOPT("header_timeout_ms", CFG_INT, "30000", header_timeout_ms, 1, 3600000),
    HOPT("body_timeout_ms", CFG_INT, "30000", body_timeout_ms, 1, 3600000),
    HOPT("keepalive_timeout_ms", CFG_INT, "60000", keepalive_timeout_ms, 1, 3600000),
    HOPT("send_timeout_ms", CFG_INT, "60000", send_timeout_ms, 1, 3600000),
    HOPT("spool_dir", CFG_STR, NULL, spool_dir, 0, 0),
    HOPT("files_dir", CFG_STR, NULL, files_dir, 0, 0),
    HOPT("cert_file", CFG_STR, NULL, cert_file, 0, 0),
    HOPT("key_file", CFG_STR, NULL, key_file, 0, 0),
    HOPT("log_level", CFG_STR, "info", log_level, 0, 0),
    HOPT("lws_log_level", CFG_INT, "0", lws_log_level, 0, 4095),
    {"httptest", "style", CFG_ENUM, "iotronic", offsetof(struct httptest_config, style), 0, 0,
     "iotronic|qinling", 0},
    {"cors", "allowed_origin", CFG_STR, NULL, offsetof(struct httptest_config, allowed_origin), 0,
     0, NULL, 0},
    {"cors", "allow_headers", CFG_STR, NULL, offsetof(struct httptest_config, allow_headers), 0, 0,
     NULL, 0},
    {"cors", "expose_headers", CFG_STR, NULL, offsetof(struct httptest_config, expose_headers), 0,
     0, NULL, 0},
    {"cors", "allow_credentials", CFG_BOOL, "false",
     offsetof(struct httptest_config, allow_credentials), 0, 0, NULL, 0},
    {"cors", "max_age", CFG_INT, "0", offsetof(struct httptest_config, max_age), 0, 86400, NULL, 0},
};

/* A small rule set in the shape of iotronic-api-v1.md 4.4. */
static const struct policy_rule_default rules[] = {
    {"admin_api", "role:admin or role:administrator"},
    {"is_admin", "rule:admin_api"},
    {"is_owner", "user:%(owner)s"},
    {"admin_or_owner", "rule:is_admin or rule:is_owner"},
    {"is_member", "role:member and project_id:%(project_id)s"},
    {"test:get", "rule:admin_or_owner"},
    {"test:public", "is_public_api:True"},
};

static const struct auth_service iotronic_auth = {
    .msg_missing = "The request you have made requires authentication.",
    .msg_invalid = "The request you have made requires authentication.",
    .msg_unscoped = "A project-scoped token is required.",
    .msg_unavailable = "Resource temporarily unavailable, please retry.",
    .noauth_project = NULL,
    .admin_rule = "is_admin",
};

static const struct auth_service qinling_auth = {
    .msg_missing = "Failed to validate access token: Authentication required",
    .msg_invalid = "Failed to validate access token: Auth token is invalid",
    .msg_unscoped = "A project-scoped token is required.",
    .msg_unavailable = "Service temporarily unavailable, please retry.",
    .noauth_project = "default",
    .admin_rule = "is_admin",
};

static int worker_seq;

static void *worker_init(void *arg)
{
    int *id = xmalloc(sizeof(*id));

    (void)arg;
    *id = __atomic_add_fetch(&worker_seq, 1, __ATOMIC_RELAXED);
    return id;
}

static void worker_fini(void *thread_ctx, void *arg)
{
    (void)arg;
    free(thread_ctx);
}

static double stat_fn(void *arg, int which)
{
    struct auth_stats st;

    auth_get_stats(arg, &st);
    switch (which) {
    case 0:
        return (double)st.keystone_validations;
    case 1:
        return (double)st.keystone_logins;
    case 2:
        return (double)st.cache_hits;
    default:
        return (double)st.cache_misses;
    }
}

static double ks_validations(void *arg)
{
    return stat_fn(arg, 0);
}

static double ks_logins(void *arg)
{
    return stat_fn(arg, 1);
}

static double cache_hits(void *arg)
{
    return stat_fn(arg, 2);
}

static double cache_misses(void *arg)
{
    return stat_fn(arg, 3);
}

static void auth_metrics(struct metrics *m, struct auth *a)
{
    metrics_gauge_fn(m, "auth_keystone_validations", "Token validations asked of Keystone.",
                     ks_validations, a);
    metrics_gauge_fn(m, "auth_keystone_logins", "Service token requests.", ks_logins, a);
    metrics_gauge_fn(m, "auth_token_cache_hits", "Token cache hits.", cache_hits, a);
    metrics_gauge_fn(m, "auth_token_cache_misses", "Token cache misses.", cache_misses, a);
}

struct runtime {
    struct loop *loop;
    struct wq *wq;
    struct metrics *metrics;
    struct http_server *srv, *admin;
    struct http_route *routes;
    struct http_cors cors;
};

static int setup_auth(struct httptest *t, const char *cfgdir, struct error *err)
{
    struct policy_opts po = {
        .defaults = rules,
        .ndefaults = sizeof(rules) / sizeof(rules[0]),
        .file = t->auth_cfg.policy_file,
        .config_dir = cfgdir,
        .enforce = auth_config_enforces_policy(&t->auth_cfg),
        .reload_check_ms = 200,
    };
    int rc = policy_new(&po, &t->policy, err);

    if (rc < 0)
        return rc;
    return auth_new(&t->auth_cfg, t->cfg.style ? &qinling_auth : &iotronic_auth, t->policy,
                    &t->auth, err);
}

static struct http_route *build_routes(struct httptest *t)
{
    struct http_route *rt = xmalloc(httptest_nroutes * sizeof(*rt));

    memcpy(rt, httptest_routes, httptest_nroutes * sizeof(*rt));
    t->upload_too_large = xasprintf("Upload exceeds %lld bytes.", (long long)t->cfg.upload_max);
    for (size_t i = 0; i < httptest_nroutes; i++) {
        if (strcmp(rt[i].pattern, "/small") == 0)
            rt[i].max_body = (uint64_t)t->cfg.small_max;
        if (strcmp(rt[i].pattern, "/upload") == 0) {
            rt[i].max_body = (uint64_t)t->cfg.upload_max;
            rt[i].too_large = t->upload_too_large;
        }
    }
    return rt;
}

static int start(struct httptest *t, struct runtime *rt, struct error *err)
{
    const struct httptest_config *c = &t->cfg;
    struct loop_opts lo = {
        .name = "httptest", .stop_on_signals = 1, .lws_log_level = (int)c->lws_log_level};
    struct wq_hooks hooks;
    struct http_server_opts so = {
        .name = "api",
        .host = c->host,
        .port = (int)c->port,
        .cert_file = c->cert_file,
        .key_file = c->key_file,
        .max_body = (uint64_t)c->max_body,
        .max_header = (size_t)c->max_header,
        .max_connections = (unsigned)c->max_connections,
        .header_timeout_ms = (int)c->header_timeout_ms,
        .body_timeout_ms = (int)c->body_timeout_ms,
        .keepalive_timeout_ms = (int)c->keepalive_timeout_ms,
        .send_timeout_ms = (int)c->send_timeout_ms,
        .spool_dir = c->spool_dir,
        .auth = t->auth,
    };
    struct http_service svc = {
        .arg = t,
        .rewrite_path = httptest_rewrite,
        .before = httptest_before,
        .headers = httptest_headers,
    };
    int rc = loop_new(&lo, &rt->loop, err);

    if (rc < 0)
        return rc;
    hooks = loop_wq_hooks(rt->loop, worker_init, worker_fini, t);
    rt->wq = wq_new((int)c->workers, (size_t)c->max_queued, &hooks);
    loop_set_wq(rt->loop, rt->wq);
    rt->metrics = metrics_new();
    auth_metrics(rt->metrics, t->auth);
    rt->routes = build_routes(t);
    rt->cors = (struct http_cors){c->allowed_origin, c->allow_credentials, c->max_age, NULL,
                                  c->allow_headers,  c->expose_headers};
    so.cors = &rt->cors;
    so.metrics = rt->metrics;
    svc.routes = rt->routes;
    svc.nroutes = httptest_nroutes;
    if (c->style == 0) {
        svc.format_error = http_error_body_nested;
        svc.request_id_header = "Openstack-Request-Id";
    } else {
        svc.format_error = http_error_body_flat;
        svc.msgs.not_found = "Resource not found.";
        svc.msgs.method_not_allowed = "Method not allowed.";
        svc.msgs.unavailable = "Service temporarily unavailable, please retry.";
    }
    rc = http_server_new(rt->loop, rt->wq, &so, &svc, &rt->srv, err);
    if (rc == 0 && c->admin_port > 0)
        rc = http_admin_new(rt->loop, rt->wq, c->host, (int)c->admin_port, rt->metrics, &rt->admin,
                            err);
    return rc;
}

static void stop(struct runtime *rt)
{
    wq_free(rt->wq);
    loop_free(rt->loop);
    http_server_free(rt->srv);
    http_server_free(rt->admin);
    metrics_free(rt->metrics);
    free(rt->routes);
}

int main(int argc, char **argv)
{
    struct httptest t = {0};
    struct runtime rt = {0};
    struct cfg_table tables[] = {
        {httptest_opts, sizeof(httptest_opts) / sizeof(httptest_opts[0]), &t.cfg},
        {auth_cfg_opts, auth_cfg_nopts, &t.auth_cfg},
    };
    char *cfgdir = auth_config_dir(argc, argv);
    struct cfg *cfg = cfg_new();
    struct error err = {0};
    enum log_level level = LOG_INFO;
    int rc;

    log_init("httptest", LOG_INFO);
    xalloc_init();
    signal(SIGPIPE, SIG_IGN);
    rc = cfg_load_args(cfg, &argc, argv, NULL, &err);
    if (rc == 0)
        rc = cfg_bind(cfg, tables, 2, &err);
    if (rc == 0 && log_level_parse(t.cfg.log_level, &level) < 0)
        rc = error_set(&err, -EINVAL, "[httptest] log_level: %s", t.cfg.log_level);
    if (rc == 0) {
        log_set_level(level);
        rc = setup_auth(&t, cfgdir, &err);
    }
    if (rc == 0)
        rc = start(&t, &rt, &err);
    if (rc == 0) {
        printf("httptest: port %d admin %d\n", http_server_port(rt.srv),
               rt.admin ? http_server_port(rt.admin) : 0);
        fflush(stdout);
        loop_run(rt.loop);
    } else {
        log_error("httptest: %s", error_str(&err));
    }
    stop(&rt);
    auth_free(t.auth);
    policy_free(t.policy);
    free(t.upload_too_large);
    cfg_unbind(tables, 2);
    cfg_free(cfg);
    free(cfgdir);
    return rc == 0 ? 0 : 1;
}

/* tuntest: the tunnel library in a small daemon, for the integration tests.
 *
 *   tuntest server --listen ADDR:PORT [--bind-address A] [--allow UUID:PORT[:SECRET]]...
 *                  [--allow-file F] [--auth-delay-ms N] [--data-id-ttl S]
 *                  [--buffer-limit B] [--max-tunnels N] [--max-connections N]
 *                  [--max-pending N] [--cert F --key F] [--status-file F]
 *   tuntest client --url URL --tunnel PUBLIC:LOCAL[:SERVICE]... [--uuid U] [--secret S]
 *                  [--backoff-initial-ms N] [--backoff-max-ms N] [--buffer-limit B]
 *                  [--ca-file F] [--insecure] [--status-file F]
 *
 * The server stands in for the wagent: its allowlist plays the database's
 * exposed_services rows (9.5); an entry with a secret requires a valid proof,
 * one without accepts none (an anonymous board). Answers are given from a
 * timer, so the asynchronous path of the authorisation API is what runs.
 * --status-file gets a JSON snapshot of the tunnels every 100 ms. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "loop/loop.h"
#include "tunnel/client.h"
#include "tunnel/server.h"
#include "wamp/cra.h"

#define MAX_ENTRIES 256

struct allow {
    char uuid[UUID_STR_LEN];
    int port;
    char secret[129];
};

struct pending_auth {
    ev_timer timer;
    lws_dll2_t link;
    struct app *app;
    uint64_t id;
    int allowed;
    char reason[128];
};

struct app {
    struct loop *loop;
    struct tun_server *srv;
    struct tun_client *cl;
    struct allow allow[MAX_ENTRIES];
    size_t nallow;
    unsigned auth_delay_ms;
    lws_dll2_owner_t auths;        /* struct pending_auth not answered yet */
    const char *status_file;
    ev_timer status_timer;
};

static int add_allow(struct app *app, const char *spec)
{
    char uuid[64] = "", secret[129] = "";
    struct allow *a;
    int port = 0, n = 0;

    if (app->nallow >= MAX_ENTRIES ||
        sscanf(spec, "%63[^: ]%*[: ]%5d%n", uuid, &port, &n) != 2)
        return -EINVAL;
    if (spec[n] == ':' || spec[n] == ' ')
        snprintf(secret, sizeof(secret), "%s", spec + n + 1);
    a = &app->allow[app->nallow];
    if (uuid_normalize(uuid, a->uuid) < 0 || port < 1 || port > 65535)
        return -EINVAL;
    a->port = port;
    snprintf(a->secret, sizeof(a->secret), "%s", secret);
    app->nallow++;
    return 0;
}

static int load_allow_file(struct app *app, const char *path)
{
    char line[512];
    FILE *f = fopen(path, "re");
    int rc = 0;

    if (f == NULL)
        return -errno;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != '\0' && line[0] != '#')
            rc = add_allow(app, line);
    }
    fclose(f);
    return rc;
}

static void decide(struct app *app, const struct tun_auth_request *r, struct pending_auth *pa)
{
    struct error err;

    pa->allowed = 0;
    snprintf(pa->reason, sizeof(pa->reason), "not in the allowlist");
    for (size_t i = 0; i < app->nallow; i++) {
        const struct allow *a = &app->allow[i];

        if (strcmp(a->uuid, r->uuid) != 0 || a->port != r->public_port)
            continue;
        if (a->secret[0] == '\0') {
            pa->allowed = 1;
        } else if (r->auth == NULL) {
            snprintf(pa->reason, sizeof(pa->reason), "proof required");
        } else if (wamp_wstun_verify(a->secret, strlen(a->secret), r->uuid,
                                     (unsigned)r->public_port, r->auth, time_now_us() / 1000000,
                                     &err) < 0) {
            snprintf(pa->reason, sizeof(pa->reason), "%.120s", err.msg);
        } else {
            pa->allowed = 1;
        }
        return;
    }
}

static void on_auth_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
    struct pending_auth *pa = w->data;

    (void)ev;
    (void)revents;
    lws_dll2_remove(&pa->link);
    tun_server_authorize_done(pa->app->srv, pa->id, pa->allowed, pa->reason);
    free(pa);
}

static void on_authorize(void *arg, const struct tun_auth_request *r)
{
    struct app *app = arg;
    struct pending_auth *pa = xcalloc(1, sizeof(*pa));

    pa->app = app;
    pa->id = r->id;
    decide(app, r, pa);
    lws_dll2_add_tail(&pa->link, &app->auths);
    ev_timer_init(&pa->timer, on_auth_timer, app->auth_delay_ms / 1000.0, 0.0);
    pa->timer.data = pa;
    ev_timer_start(loop_ev(app->loop), &pa->timer);
}

static void write_status(struct app *app, const char *json)
{
    char tmp[4096];
    int fd;

    snprintf(tmp, sizeof(tmp), "%s.tmp", app->status_file);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (write(fd, json, strlen(json)) < 0 || close(fd) < 0 || rename(tmp, app->status_file) < 0)
        log_warn("cannot write %s", app->status_file);
}

static void server_status(struct app *app, struct buf *b)
{
    struct tun_tunnel_info *ti = NULL;
    struct tun_server_stats st;
    size_t n = tun_server_list(app->srv, &ti);
    int rc = buf_append_str(b, "{\"tunnels\": [");

    for (size_t i = 0; i < n; i++)
        rc |= buf_printf(b, "%s{\"uuid\": \"%s\", \"public_port\": %d, \"connections\": %u, "
                            "\"pending\": %u, \"connections_total\": %" PRIu64 ", "
                            "\"bytes_in\": %" PRIu64 ", \"bytes_out\": %" PRIu64 "}",
                         i ? ", " : "", ti[i].uuid, ti[i].public_port, ti[i].connections,
                         ti[i].pending, ti[i].connections_total, ti[i].bytes_in, ti[i].bytes_out);
    free(ti);
    tun_server_get_stats(app->srv, &st);
    rc |= buf_printf(b, "], \"stats\": {\"tunnels\": %u, \"connections\": %u, \"pending\": %u, "
                        "\"refused_unauthorised\": %" PRIu64 ", \"refused_bad_request\": %" PRIu64
                        ", \"refused_limit\": %" PRIu64 ", \"ids_expired\": %" PRIu64 "}}\n",
                     st.tunnels, st.connections, st.pending, st.refused_unauthorised,
                     st.refused_bad_request, st.refused_limit, st.ids_expired);
    (void)rc;
}

static void client_status(struct app *app, struct buf *b)
{
    struct tun_client_status *ts = NULL;
    size_t n = tun_client_status(app->cl, &ts);
    int rc = buf_append_str(b, "{\"tunnels\": [");

    for (size_t i = 0; i < n; i++)
        rc |= buf_printf(b, "%s{\"service\": \"%s\", \"public_port\": %d, \"local_port\": %d, "
                            "\"state\": \"%s\", \"connections\": %u, \"bytes_in\": %" PRIu64
                            ", \"bytes_out\": %" PRIu64 "}",
                         i ? ", " : "", ts[i].service, ts[i].public_port, ts[i].local_port,
                         ts[i].state, ts[i].connections, ts[i].bytes_in, ts[i].bytes_out);
    free(ts);
    rc |= buf_append_str(b, "]}\n");
    (void)rc;
}

static void on_status_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
    struct app *app = w->data;
    struct buf b;

    (void)ev;
    (void)revents;
    buf_init(&b, 1 << 20);
    if (app->srv != NULL)
        server_status(app, &b);
    else
        client_status(app, &b);
    write_status(app, b.data ? b.data : "{}\n");
    buf_free(&b);
}

static int num(const char *s, long min, long max, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(s, &end, 10);
    return errno == 0 && *end == '\0' && end != s && *out >= min && *out <= max ? 0 : -EINVAL;
}

/* Option tables: each takes one value. */
struct opt {
    const char *name;
    int (*apply)(struct app *app, void *o, const char *v);
};

static int o_listen(struct app *a, void *o, const char *v)
{
    (void)a;
    ((struct tun_server_opts *)o)->listen = v;
    return 0;
}
static int o_bind(struct app *a, void *o, const char *v)
{
    (void)a;
    ((struct tun_server_opts *)o)->bind_address = v;
    return 0;
}
static int o_allow(struct app *a, void *o, const char *v)
{
    (void)o;
    return add_allow(a, v);
}
static int o_allow_file(struct app *a, void *o, const char *v)
{
    (void)o;
    return load_allow_file(a, v);
}
static int o_delay(struct app *a, void *o, const char *v)
{
    long n;

    (void)o;
    if (num(v, 0, 60000, &n) < 0)
        return -EINVAL;
    a->auth_delay_ms = (unsigned)n;
    return 0;
}
#define UINT_OPT(fn, type, field, min, max)                                                    \
    static int fn(struct app *a, void *o, const char *v)                                       \
    {                                                                                          \
        long n;                                                                                \
        (void)a;                                                                               \
        if (num(v, min, max, &n) < 0)                                                          \
            return -EINVAL;                                                                    \
        ((type *)o)->field = (unsigned)n;                                                      \
        return 0;                                                                              \
    }
UINT_OPT(o_ttl, struct tun_server_opts, data_id_ttl, 1, 3600)
UINT_OPT(o_sbuf, struct tun_server_opts, buffer_limit, 4096, 1L << 30)
UINT_OPT(o_maxt, struct tun_server_opts, max_tunnels_per_board, 1, 100000)
UINT_OPT(o_maxc, struct tun_server_opts, max_connections_per_tunnel, 1, 100000)
UINT_OPT(o_maxp, struct tun_server_opts, max_pending, 1, 100000)
UINT_OPT(o_bo_init, struct tun_client_opts, backoff_initial_ms, 1, 3600000)
UINT_OPT(o_bo_max, struct tun_client_opts, backoff_max_ms, 1, 3600000)
UINT_OPT(o_cbuf, struct tun_client_opts, buffer_limit, 4096, 1L << 30)
static int o_cert(struct app *a, void *o, const char *v)
{
    (void)a;
    ((struct tun_server_opts *)o)->cert_file = v;
    return 0;
}
static int o_key(struct app *a, void *o, const char *v)
{
    (void)a;
    ((struct tun_server_opts *)o)->key_file = v;
    return 0;
}
static int o_ca(struct app *a, void *o, const char *v)
{
    (void)a;
    ((struct tun_client_opts *)o)->ca_file = v;
    return 0;
}
static int o_status(struct app *a, void *o, const char *v)
{
    (void)o;
    a->status_file = v;
    return 0;
}

static const struct opt server_opts[] = {
    { "--listen", o_listen },       { "--bind-address", o_bind },
    { "--allow", o_allow },         { "--allow-file", o_allow_file },
    { "--auth-delay-ms", o_delay }, { "--data-id-ttl", o_ttl },
    { "--buffer-limit", o_sbuf },   { "--max-tunnels", o_maxt },
    { "--max-connections", o_maxc }, { "--max-pending", o_maxp },
    { "--cert", o_cert },           { "--key", o_key },
    { "--status-file", o_status },
};

static const struct opt client_opts[] = {
    { "--backoff-initial-ms", o_bo_init }, { "--backoff-max-ms", o_bo_max },
    { "--buffer-limit", o_cbuf },          { "--ca-file", o_ca },
    { "--status-file", o_status },
};

/* Applies "--name value" pairs from the table; returns the index of the
 * first argument it did not know, or -1 on a bad value. */
static int apply_opts(struct app *app, const struct opt *t, size_t n, void *o, int argc,
                      char **argv, int i)
{
    for (; i + 1 < argc; i += 2) {
        size_t k = 0;

        while (k < n && strcmp(t[k].name, argv[i]) != 0)
            k++;
        if (k == n)
            return i;
        if (t[k].apply(app, o, argv[i + 1]) < 0) {
            fprintf(stderr, "tuntest: bad value for %s: %s\n", argv[i], argv[i + 1]);
            return -1;
        }
    }
    return i;
}

static void start_status(struct app *app)
{
    if (app->status_file == NULL)
        return;
    ev_timer_init(&app->status_timer, on_status_timer, 0.0, 0.1);
    app->status_timer.data = app;
    ev_timer_start(loop_ev(app->loop), &app->status_timer);
}

static void stop_status(struct app *app)
{
    if (app->status_file != NULL)
        ev_timer_stop(loop_ev(app->loop), &app->status_timer);
}

static int run_server(struct app *app, int argc, char **argv)
{
    struct tun_server_opts o;
    struct error err;
    int i;

    tun_server_opts_init(&o);
    i = apply_opts(app, server_opts, sizeof(server_opts) / sizeof(server_opts[0]), &o, argc, argv, 2);
    if (i < 0 || i < argc) {
        fprintf(stderr, "tuntest server: bad arguments%s%s\n", i >= 0 && i < argc ? " at " : "",
                i >= 0 && i < argc ? argv[i] : "");
        return 2;
    }
    if (tun_server_new(app->loop, &o, on_authorize, app, &app->srv, &err) < 0) {
        fprintf(stderr, "tuntest: %s\n", err.msg);
        return 1;
    }
    /* Tests read the port from here when they asked for port 0. */
    printf("listening %d\n", tun_server_port(app->srv));
    fflush(stdout);
    start_status(app);
    loop_run(app->loop);
    stop_status(app);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&app->auths)) {
        struct pending_auth *pa = lws_container_of(d, struct pending_auth, link);

        ev_timer_stop(loop_ev(app->loop), &pa->timer);
        lws_dll2_remove(&pa->link);
        free(pa);
    } lws_end_foreach_dll_safe(d, d1);
    tun_server_free(app->srv);
    return 0;
}

struct client_args {
    const char *url, *uuid, *secret;
    const char *tunnels[64];
    int ntunnels;
};

static int client_arg(struct client_args *ca, struct tun_client_opts *o, int argc, char **argv,
                      int *i)
{
    const char *a = argv[*i];

    if (strcmp(a, "--insecure") == 0) {
        o->insecure = 1;
        return 0;
    }
    if (*i + 1 >= argc)
        return -1;
    if (strcmp(a, "--url") == 0)
        ca->url = argv[++*i];
    else if (strcmp(a, "--uuid") == 0)
        ca->uuid = argv[++*i];
    else if (strcmp(a, "--secret") == 0)
        ca->secret = argv[++*i];
    else if (strcmp(a, "--tunnel") == 0 && ca->ntunnels < 64)
        ca->tunnels[ca->ntunnels++] = argv[++*i];
    else
        return -1;
    return 0;
}

static int open_tunnels(struct app *app, const struct client_args *ca)
{
    for (int k = 0; k < ca->ntunnels; k++) {
        struct tun_tunnel_spec s = { .url = ca->url, .uuid = ca->uuid, .secret = ca->secret };
        char service[64] = "svc";
        struct error err;
        int n = 0;

        if (sscanf(ca->tunnels[k], "%5d:%5d%n", &s.public_port, &s.local_port, &n) != 2 ||
            (ca->tunnels[k][n] != '\0' && ca->tunnels[k][n] != ':')) {
            fprintf(stderr, "tuntest: --tunnel wants PUBLIC:LOCAL[:SERVICE]\n");
            return 2;
        }
        if (ca->tunnels[k][n] == ':')
            snprintf(service, sizeof(service), "%s", ca->tunnels[k] + n + 1);
        s.service = service;
        if (tun_client_open(app->cl, &s, &err) < 0) {
            fprintf(stderr, "tuntest: %s\n", err.msg);
            return 2;
        }
    }
    return 0;
}

static int run_client(struct app *app, int argc, char **argv)
{
    struct client_args ca = { 0 };
    struct tun_client_opts o;
    struct error err;
    int i = 2, rc;

    tun_client_opts_init(&o);
    while (i < argc) {
        i = apply_opts(app, client_opts, sizeof(client_opts) / sizeof(client_opts[0]), &o, argc,
                       argv, i);
        if (i < 0 || (i < argc && client_arg(&ca, &o, argc, argv, &i) < 0)) {
            fprintf(stderr, "tuntest client: bad arguments\n");
            return 2;
        }
        if (i < argc)
            i++;
    }
    if (ca.url == NULL || ca.ntunnels == 0) {
        fprintf(stderr, "tuntest client: --url and --tunnel are required\n");
        return 2;
    }
    if (tun_client_new(app->loop, &o, &app->cl, &err) < 0) {
        fprintf(stderr, "tuntest: %s\n", err.msg);
        return 1;
    }
    rc = open_tunnels(app, &ca);
    if (rc == 0) {
        start_status(app);
        loop_run(app->loop);
        stop_status(app);
    }
    tun_client_free(app->cl);
    return rc;
}

int main(int argc, char **argv)
{
    struct loop_opts lo = { .name = "tuntest", .stop_on_signals = 1 };
    struct app *app;
    struct error err;
    int rc;

    log_init("tuntest", getenv("TUNTEST_DEBUG") ? LOG_DEBUG : LOG_INFO);
    xalloc_init();
    if (argc < 2 || (strcmp(argv[1], "server") != 0 && strcmp(argv[1], "client") != 0)) {
        fprintf(stderr, "usage: tuntest server|client [options] (see tuntest.c)\n");
        return 2;
    }
    app = xcalloc(1, sizeof(*app));
    if (loop_new(&lo, &app->loop, &err) < 0) {
        fprintf(stderr, "tuntest: %s\n", err.msg);
        free(app);
        return 1;
    }
    rc = strcmp(argv[1], "server") == 0 ? run_server(app, argc, argv) : run_client(app, argc, argv);
    loop_free(app->loop);
    free(app);
    return rc;
}

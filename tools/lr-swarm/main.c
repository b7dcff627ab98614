/* lr-swarm: thousands of simulated boards in one process (swarm.h says how).
 *
 *   lr-swarm [--codes FILE --register-url ws://...] [--state FILE] [options]
 *
 * main() only parses argv, loads the boards, builds the one struct swarm
 * and runs the loop. Exit status: 0 after a stop (signal or --duration),
 * 2 for bad usage, 1 when the swarm cannot start. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/log.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "swarm.h"
#include "wamp/session.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: lr-swarm [options]\n"
    "  --codes FILE            registration codes, one per line (needs --register-url)\n"
    "  --register-url URL      the registration wagent (ws://host:port/)\n"
    "  --state FILE            registered boards (JSON lines): read, and appended to\n"
    "  --failover-url URL      another wagent to try after failures (repeatable)\n"
    "  --source ADDR[-LAST]    source IPv4 address(es), round robin (repeatable;\n"
    "                          default 127.0.0.1), e.g. 127.0.0.1-127.0.0.8\n"
    "  --count N               use only the first N boards\n"
    "  --rate N                connections started per second (default 500; 0: no limit)\n"
    "  --max-pending N         connections being set up at once (default 256)\n"
    "  --ping-interval S       WebSocket pings (default: as the wagent says, else 20)\n"
    "  --alive-interval S      wamp_alive calls (default: as the wagent says, else 60;\n"
    "                          0: none)\n"
    "  --call-timeout S        wamp_alive answer timeout (default 10)\n"
    "  --setup-timeout S       connect to online (default 30)\n"
    "  --backoff-initial-ms N  reconnect backoff (default 1000)\n"
    "  --backoff-max-ms N      (default 60000)\n"
    "  --failover-after N      consecutive failures before the next URL (default 3)\n"
    "  --tunnels               serve ServiceEnable & co. with real tunnels\n"
    "  --anonymous             no WAMP-CRA (as the original agent)\n"
    "  --lr-version V          lr_version sent in connection (default lrc-0.1.0-swarm)\n"
    "  --max-message BYTES     largest WAMP message accepted (default 16 MiB)\n"
    "  --stats-interval S      a statistics line on stdout every S seconds (default 1)\n"
    "  --duration S            stop after S seconds\n"
    "  --log-level L           error, warning, info, debug (default warning)\n";

enum {
    O_CODES = 256,
    O_REGISTER_URL,
    O_STATE,
    O_FAILOVER,
    O_SOURCE,
    O_COUNT,
    O_RATE,
    O_PENDING,
    O_PING,
    O_ALIVE,
    O_CALL_TIMEOUT,
    O_SETUP_TIMEOUT,
    O_BACKOFF_INIT,
    O_BACKOFF_MAX,
    O_FAILOVER_AFTER,
    O_TUNNELS,
    O_ANON,
    O_LR_VERSION,
    O_MAX_MESSAGE,
    O_STATS,
    O_DURATION,
    O_LOG,
    O_HELP,
};

static const struct option long_opts[] = {
    {"codes", 1, NULL, O_CODES},
    {"register-url", 1, NULL, O_REGISTER_URL},
    {"state", 1, NULL, O_STATE},
    {"failover-url", 1, NULL, O_FAILOVER},
    {"source", 1, NULL, O_SOURCE},
    {"count", 1, NULL, O_COUNT},
    {"rate", 1, NULL, O_RATE},
    {"max-pending", 1, NULL, O_PENDING},
    {"ping-interval", 1, NULL, O_PING},
    {"alive-interval", 1, NULL, O_ALIVE},
    {"call-timeout", 1, NULL, O_CALL_TIMEOUT},
    {"setup-timeout", 1, NULL, O_SETUP_TIMEOUT},
    {"backoff-initial-ms", 1, NULL, O_BACKOFF_INIT},
    {"backoff-max-ms", 1, NULL, O_BACKOFF_MAX},
    {"failover-after", 1, NULL, O_FAILOVER_AFTER},
    {"tunnels", 0, NULL, O_TUNNELS},
    {"anonymous", 0, NULL, O_ANON},
    {"lr-version", 1, NULL, O_LR_VERSION},
    {"max-message", 1, NULL, O_MAX_MESSAGE},
    {"stats-interval", 1, NULL, O_STATS},
    {"duration", 1, NULL, O_DURATION},
    {"log-level", 1, NULL, O_LOG},
    {"help", 0, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* Numeric options: where each goes and its bounds. */
static const struct {
    int id;
    size_t off;
    long long min, max;
} num_opts[] = {
    {O_RATE, offsetof(struct sw_opts, rate), 0, 1000000},
    {O_PENDING, offsetof(struct sw_opts, max_pending), 1, 1000000},
    {O_PING, offsetof(struct sw_opts, ping_s), 1, 3600},
    {O_CALL_TIMEOUT, offsetof(struct sw_opts, call_timeout_s), 1, 3600},
    {O_SETUP_TIMEOUT, offsetof(struct sw_opts, setup_timeout_s), 1, 3600},
    {O_BACKOFF_INIT, offsetof(struct sw_opts, backoff_initial_ms), 1, 3600000},
    {O_BACKOFF_MAX, offsetof(struct sw_opts, backoff_max_ms), 1, 3600000},
    {O_FAILOVER_AFTER, offsetof(struct sw_opts, failover_after), 1, 1000},
};

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "lr-swarm: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage_text);
    return EXIT_USAGE;
}

static int number(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int seconds(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end != '\0' || !(v >= 0) || v > 1e7)
        return -EINVAL;
    *out = v;
    return 0;
}

/* "A" or "A-B" with B a full address or the last octet. */
static int add_sources(struct sw_opts *o, const char *arg)
{
    char first[INET_ADDRSTRLEN], *dash;
    struct in_addr a, z;
    long long last;

    snprintf(first, sizeof(first), "%s", arg);
    dash = strchr(first, '-');
    if (dash != NULL)
        *dash = '\0';
    if (inet_pton(AF_INET, first, &a) != 1)
        return -EINVAL;
    z = a;
    if (dash != NULL) {
        const char *end = strchr(arg, '-') + 1;

        if (strchr(end, '.') != NULL) {
            if (inet_pton(AF_INET, end, &z) != 1)
                return -EINVAL;
        } else if (number(end, 0, 255, &last) < 0) {
            return -EINVAL;
        } else {
            z.s_addr = htonl((ntohl(a.s_addr) & 0xffffff00u) | (uint32_t)last);
        }
    }
    for (uint32_t h = ntohl(a.s_addr); h <= ntohl(z.s_addr); h++) {
        if (o->nsources == SW_SOURCES_MAX)
            return -ENOSPC;
        o->sources[o->nsources++].s_addr = htonl(h);
        if (h == UINT32_MAX)
            break;
    }
    return 0;
}

static int set_num(struct sw_opts *o, int id, const char *arg, int *handled)
{
    long long v;

    *handled = 0;
    for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++) {
        if (num_opts[i].id != id)
            continue;
        *handled = 1;
        if (number(arg, num_opts[i].min, num_opts[i].max, &v) < 0)
            return -EINVAL;
        *(unsigned *)((char *)o + num_opts[i].off) = (unsigned)v;
    }
    return 0;
}

static int set_other(struct sw_opts *o, int id, const char *arg)
{
    long long v;
    enum log_level lvl;

    switch (id) {
    case O_CODES:
        o->codes_file = arg;
        return 0;
    case O_REGISTER_URL:
        o->register_url = arg;
        return 0;
    case O_STATE:
        o->state_file = arg;
        return 0;
    case O_LR_VERSION:
        o->lr_version = arg;
        return strlen(arg) <= 20 ? 0 : -EINVAL;
    case O_TUNNELS:
        o->tunnels = 1;
        return 0;
    case O_ANON:
        o->anonymous = 1;
        return 0;
    case O_FAILOVER:
        if (o->nfailover == SW_URLS_MAX)
            return -ENOSPC;
        o->failover[o->nfailover++] = arg;
        return 0;
    case O_SOURCE:
        return add_sources(o, arg);
    case O_COUNT:
        return number(arg, 0, 10000000, &v) < 0 ? -EINVAL : (o->count = (long)v, 0);
    case O_ALIVE:
        if (number(arg, 0, 36000, &v) < 0)
            return -EINVAL;
        o->alive_s = (unsigned)v;
        o->alive_off = v == 0;
        return 0;
    case O_MAX_MESSAGE:
        if (number(arg, 1024, 16 << 20, &v) < 0)
            return -EINVAL;
        o->max_message = (size_t)v;
        return 0;
    case O_STATS:
        return seconds(arg, &o->stats_interval);
    case O_DURATION:
        return seconds(arg, &o->duration);
    case O_LOG:
        if (log_level_parse(arg, &lvl) < 0)
            return -EINVAL;
        log_set_level(lvl);
        return 0;
    default:
        return -ENOENT;
    }
}

static void defaults(struct sw_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->lr_version = "lrc-0.1.0-swarm";
    o->rate = 500;
    o->max_pending = 256;
    o->call_timeout_s = 10;
    o->setup_timeout_s = 30;
    o->backoff_initial_ms = 1000;
    o->backoff_max_ms = 60000;
    o->failover_after = 3;
    o->stats_interval = 1.0;
    o->max_message = 16u << 20;
}

static int parse_args(int argc, char **argv, struct sw_opts *o)
{
    int c, handled;

    defaults(o);
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == O_HELP) {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (c == '?' || c == ':')
            return usage("%s", "bad option");
        if (set_num(o, c, optarg, &handled) < 0 || (!handled && set_other(o, c, optarg) < 0))
            return usage("bad value for an option: %s", argv[optind - 1]);
    }
    if (optind < argc)
        return usage("unexpected argument %s", argv[optind]);
    if (o->codes_file == NULL && o->state_file == NULL)
        return usage("%s", "--codes or --state is required");
    if (o->nsources == 0)
        o->sources[o->nsources++].s_addr = htonl(INADDR_LOOPBACK);
    return 0;
}

/* One descriptor per board, plus a few: raise the soft limit to the hard
 * one and say plainly when that is not enough. */
static int check_fds(size_t nboards, struct error *err)
{
    struct rlimit r;

    if (getrlimit(RLIMIT_NOFILE, &r) < 0)
        return error_set(err, -errno, "getrlimit: %s", strerror(errno));
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &r);
        (void)getrlimit(RLIMIT_NOFILE, &r);
    }
    if (nboards + SW_FD_RESERVE > r.rlim_cur)
        return error_set(err, -EMFILE,
                         "%zu boards need %zu descriptors but RLIMIT_NOFILE allows %llu: raise "
                         "it or split the boards over several lr-swarm processes (--count, "
                         "several state files)",
                         nboards, nboards + SW_FD_RESERVE, (unsigned long long)r.rlim_cur);
    return 0;
}

static int setup(struct swarm *sw, struct error *err)
{
    struct loop_opts lo = {.name = "lr-swarm"};
    int rc;

    rand_bytes(&sw->prng, sizeof(sw->prng));
    sw->prng |= 1;
    sw->strs[0] = xstrdup("");
    sw->nstrs = 1;
    for (size_t i = 0; i < sw->o.nfailover; i++)
        if ((rc = sw_url_intern(sw, sw->o.failover[i], err)) < 0)
            return error_prefix(err, "--failover-url");
    if ((rc = sw_store_load(sw, err)) < 0 || (rc = check_fds(sw->nboards, err)) < 0)
        return rc;
    if ((rc = loop_new(&lo, &sw->loop, err)) < 0)
        return rc;
    sw->ev = loop_ev(sw->loop);
    sw->rbuf = xmalloc(SW_RBUF);
    if (sw->o.tunnels && (rc = sw_tun_new(sw, err)) < 0)
        return rc;
    return 0;
}

static void teardown(struct swarm *sw)
{
    for (size_t i = 0; i < sw->nboards; i++) {
        struct sw_board *b = &sw->boards[i];

        sw_conn_close(b);
        wamp_session_free(b->ws);
        b->ws = NULL;
        free(b->code);
        free(b->name);
    }
    free(sw->boards);
    sw_tun_free(sw);
    if (sw->ev != NULL) {
        ev_timer_stop(sw->ev, &sw->tick);
        ev_timer_stop(sw->ev, &sw->stats);
        ev_timer_stop(sw->ev, &sw->stop_timer);
        ev_signal_stop(sw->ev, &sw->sigterm);
        ev_signal_stop(sw->ev, &sw->sigint);
    }
    loop_free(sw->loop);
    sw_store_close(sw);
    for (size_t i = 0; i < sw->nurls; i++) {
        free(sw->urls[i].text);
        free(sw->urls[i].hostport);
        free(sw->urls[i].path);
    }
    for (size_t i = 0; i < sw->nstrs; i++)
        free(sw->strs[i]);
    free(sw->rbuf);
}

int main(int argc, char **argv)
{
    struct swarm sw;
    struct error err;
    int rc;

    memset(&sw, 0, sizeof(sw));
    log_init("lr-swarm", LOG_WARNING);
    xalloc_init();
    signal(SIGPIPE, SIG_IGN);
    rc = parse_args(argc, argv, &sw.o);
    if (rc != 0)
        return rc;
    if (setup(&sw, &err) < 0) {
        fprintf(stderr, "lr-swarm: %s\n", err.msg);
        teardown(&sw);
        return 1;
    }
    log_info("%zu boards, %zu source addresses, %u connections/s", sw.nboards, sw.o.nsources,
             sw.o.rate);
    sw_start(&sw);
    sw_stats_print(&sw, "start");
    loop_run(sw.loop);
    teardown(&sw);
    return 0;
}

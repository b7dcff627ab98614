/* tools/lr-swarm/swarm.c: the swarm as a whole: its clock and tick, the
 * connection rate, statistics, interned URLs and strings, stopping.
 *
 * The tick (every 100 ms) walks every board: an IDLE board whose due time
 * has come starts connecting if the rate allows it (a token bucket of --rate
 * per second) and fewer than --max-pending connections are being set up; a
 * board being set up is checked against its deadline; an ONLINE board is
 * checked once a second (a tenth of them per tick) for pings, ping timeouts
 * and wamp_alive. One walk over 20 000 boards costs well under a
 * millisecond, cheaper in memory than a timer per board.
 *
 * Statistics go to stdout, one JSON object per line, every --stats-interval
 * seconds and at the end: the bench and the tests read them. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "swarm.h"
#include "tunnel/wire.h"

#define TICK_S 0.1
#define STOP_GRACE_S 2.0

uint32_t sw_now(const struct swarm *sw)
{
    return (uint32_t)((ev_now(sw->ev) - sw->t0) * 1000.0);
}

/* xorshift64*: fast, seeded from the kernel in main(). */
uint64_t sw_rand(struct swarm *sw)
{
    uint64_t x = sw->prng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    sw->prng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void sw_set_state(struct sw_board *b, enum sw_state s)
{
    b->sw->count[b->state]--;
    b->sw->count[s]++;
    b->state = (uint8_t)s;
}

void sw_note(struct swarm *sw, unsigned kind, const char *fmt, ...)
{
    uint64_t n = ++sw->notes[kind & 15];
    char text[ERROR_MSG_MAX];
    va_list ap;

    if (n > 5 && (n & (n - 1)) != 0)
        return;
    if (!log_enabled(LOG_WARNING))
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    log_warn("%s (occurrence %llu of this kind)", text, (unsigned long long)n);
}

int sw_str_intern(struct swarm *sw, const char *s)
{
    for (size_t i = 0; i < sw->nstrs; i++)
        if (strcmp(sw->strs[i], s) == 0)
            return (int)i;
    if (sw->nstrs == SW_STRS_MAX)
        return -ENOSPC;
    sw->strs[sw->nstrs] = xstrdup(s);
    return (int)sw->nstrs++;
}

int sw_url_intern(struct swarm *sw, const char *text, struct error *err)
{
    struct sw_url *u;
    struct tun_url p;
    struct in_addr a;

    for (size_t i = 0; i < sw->nurls; i++)
        if (strcmp(sw->urls[i].text, text) == 0)
            return (int)i;
    if (tun_url_parse(text, &p, err) < 0)
        return error_prefix(err, "%s", text);
    if (p.tls)
        return error_set(err, -EINVAL, "%s: lr-swarm speaks ws:// only", text);
    if (strcmp(p.host, "localhost") == 0)
        a.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, p.host, &a) != 1)
        return error_set(err, -EINVAL,
                         "%s: the host must be an IPv4 address or localhost "
                         "(lr-swarm resolves no names)",
                         text);
    if (sw->nurls == SW_URLS_MAX)
        return error_set(err, -ENOSPC, "more than %d wagent URLs", SW_URLS_MAX);
    u = &sw->urls[sw->nurls];
    u->text = xstrdup(text);
    u->hostport = xasprintf("%s:%d", p.host, p.port);
    u->path = xstrdup(p.path);
    u->addr = (struct sockaddr_in){
        .sin_family = AF_INET, .sin_port = htons((uint16_t)p.port), .sin_addr = a};
    return (int)sw->nurls++;
}

static size_t rss_kb(void)
{
    char buf[128];
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "re");

    if (f == NULL)
        return 0;
    if (fgets(buf, sizeof(buf), f) == NULL || sscanf(buf, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (size_t)sysconf(_SC_PAGESIZE) / 1024;
}

void sw_stats_print(struct swarm *sw, const char *event)
{
    const struct sw_stats *s = &sw->st;
    size_t rss = rss_kb();

    printf("{\"t\":%.3f,\"event\":\"%s\",\"boards\":%zu,\"idle\":%zu,\"connecting\":%zu,"
           "\"handshake\":%zu,\"wamp\":%zu,\"online\":%zu,\"failed\":%zu,\"stopped\":%zu,"
           "\"registered\":%llu,\"reg_failed\":%llu,\"connects\":%llu,\"online_events\":%llu,"
           "\"drops\":%llu,\"refused\":%llu,\"connect_fail\":%llu,\"handshake_fail\":%llu,"
           "\"aborts\":%llu,\"ping_timeouts\":%llu,\"alive_timeouts\":%llu,\"alive_calls\":%llu,"
           "\"invocations\":%llu,\"invocation_errors\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
           "\"last_online_t\":%.3f,\"setup_ms_avg\":%.1f,\"setup_ms_max\":%llu,\"rss_kb\":%zu,"
           "\"rss_per_board_b\":%.0f}\n",
           ev_time(), event, sw->nboards, sw->count[SW_IDLE], sw->count[SW_CONNECTING],
           sw->count[SW_HANDSHAKE], sw->count[SW_WAMP], sw->count[SW_ONLINE], sw->count[SW_FAILED],
           sw->count[SW_STOPPED], (unsigned long long)s->registered,
           (unsigned long long)s->reg_failed, (unsigned long long)s->connects,
           (unsigned long long)s->online_events, (unsigned long long)s->drops,
           (unsigned long long)s->refused, (unsigned long long)s->connect_fail,
           (unsigned long long)s->handshake_fail, (unsigned long long)s->aborts,
           (unsigned long long)s->ping_timeouts, (unsigned long long)s->alive_timeouts,
           (unsigned long long)s->alive_calls, (unsigned long long)s->invocations,
           (unsigned long long)s->invocation_errors, (unsigned long long)s->bytes_in,
           (unsigned long long)s->bytes_out, s->last_online_t,
           s->setup_n ? (double)s->setup_ms_sum / (double)s->setup_n : 0.0,
           (unsigned long long)s->setup_ms_max, rss,
           sw->nboards ? (double)rss * 1024.0 / (double)sw->nboards : 0.0);
    fflush(stdout);
}

static int all_stopped(const struct swarm *sw)
{
    return sw->count[SW_STOPPED] + sw->count[SW_FAILED] == sw->nboards;
}

static void finish(struct swarm *sw)
{
    sw_stats_print(sw, "stopped");
    loop_stop(sw->loop);
}

/* May an IDLE board whose time has come start now? Takes a token if so. */
static int admit(struct swarm *sw)
{
    size_t pending = sw->count[SW_CONNECTING] + sw->count[SW_HANDSHAKE] + sw->count[SW_WAMP];

    if (sw->stopping || pending >= sw->o.max_pending)
        return 0;
    if (sw->o.rate == 0)
        return 1;
    if (sw->tokens < 1.0)
        return 0;
    sw->tokens -= 1.0;
    return 1;
}

static void on_tick(struct ev_loop *ev, ev_timer *w, int revents)
{
    struct swarm *sw = w->data;
    uint32_t now = sw_now(sw), slot = sw->tick_no++ % 10;
    double burst = sw->o.rate * TICK_S + 1.0;

    (void)ev;
    (void)revents;
    sw->tokens += sw->o.rate * TICK_S;
    if (sw->tokens > burst)
        sw->tokens = burst;
    for (size_t i = 0; i < sw->nboards; i++) {
        struct sw_board *b = &sw->boards[i];

        if (b->state == SW_IDLE) {
            if ((int32_t)(now - b->due) >= 0 && admit(sw))
                sw_board_tick(b, now, 0);
        } else if (b->state == SW_ONLINE) {
            if (i % 10 == slot)
                sw_board_tick(b, now, 1);
        } else if (b->state != SW_FAILED && b->state != SW_STOPPED) {
            sw_board_tick(b, now, 0);
        }
    }
    if (sw->stopping && all_stopped(sw))
        finish(sw);
}

static void on_stats(struct ev_loop *ev, ev_timer *w, int revents)
{
    (void)ev;
    (void)revents;
    sw_stats_print(w->data, "stats");
}

static void on_stop_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
    struct swarm *sw = w->data;

    (void)ev;
    (void)revents;
    if (!sw->stopping) { /* --duration */
        sw_stop(sw);
        return;
    }
    /* The grace is over: close whoever did not answer GOODBYE. */
    for (size_t i = 0; i < sw->nboards; i++) {
        struct sw_board *b = &sw->boards[i];

        if (b->state != SW_STOPPED && b->state != SW_FAILED) {
            sw_board_kill(b, "stopping", 0);
            sw_board_reap(b);
        }
    }
    finish(sw);
}

static void on_signal(struct ev_loop *ev, ev_signal *w, int revents)
{
    struct swarm *sw = w->data;

    (void)ev;
    (void)revents;
    log_info("signal %d: stopping %zu boards", w->signum, sw->nboards);
    if (!sw->stopping)
        sw_stop(sw);
    else
        finish(sw);
}

void sw_stop(struct swarm *sw)
{
    sw->stopping = 1;
    for (size_t i = 0; i < sw->nboards; i++)
        sw_board_goodbye(&sw->boards[i]);
    ev_timer_stop(sw->ev, &sw->stop_timer);
    ev_timer_set(&sw->stop_timer, STOP_GRACE_S, 0.0);
    ev_timer_start(sw->ev, &sw->stop_timer);
    if (all_stopped(sw))
        finish(sw);
}

void sw_start(struct swarm *sw)
{
    sw->t0 = ev_now(sw->ev);
    sw->count[SW_IDLE] = sw->nboards; /* every board starts IDLE, due now */
    ev_timer_init(&sw->tick, on_tick, 0.0, TICK_S);
    sw->tick.data = sw;
    ev_timer_start(sw->ev, &sw->tick);
    if (sw->o.stats_interval > 0) {
        ev_timer_init(&sw->stats, on_stats, sw->o.stats_interval, sw->o.stats_interval);
        sw->stats.data = sw;
        ev_timer_start(sw->ev, &sw->stats);
    }
    ev_timer_init(&sw->stop_timer, on_stop_timer, sw->o.duration, 0.0);
    sw->stop_timer.data = sw;
    if (sw->o.duration > 0)
        ev_timer_start(sw->ev, &sw->stop_timer);
    ev_signal_init(&sw->sigterm, on_signal, SIGTERM);
    ev_signal_init(&sw->sigint, on_signal, SIGINT);
    sw->sigterm.data = sw->sigint.data = sw;
    ev_signal_start(sw->ev, &sw->sigterm);
    ev_signal_start(sw->ev, &sw->sigint);
}

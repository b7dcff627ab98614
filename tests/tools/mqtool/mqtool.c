/* tests/tools/mqtool/mqtool.c: a test and operations CLI for amqp/mq.h.
 *
 *   mqtool serve   --url URL --queue Q [--durable] [--prefetch N] [--workers N]
 *                  [--record FILE] [--events]
 *   mqtool call    --url URL --queue Q --method M [--args JSON] [--count N]
 *                  [--timeout MS] [--concurrency N] [--seq] [--quiet]
 *                  [--interval MS] [--request-id ID]
 *   mqtool cast    --url URL --queue Q --method M [--args JSON] [--count N] [--seq]
 *                  [--persistent] [--confirm] [--declare] [--durable]
 *   mqtool publish --url URL --exchange X --routing-key K --body JSON [--type T]
 *                  [--persistent] [--confirm] [--mandatory]
 *                  [--declare-exchange TYPE] [--bind-queue Q] [--durable]
 *
 * Common: --connect-timeout MS (0: one round of attempts), --connect-wait MS,
 * --debug. Output is one JSON object per line on stdout (one per reply, then
 * a summary); diagnostics go to stderr. Exit status: 0 success, 1 some
 * request failed, 2 usage, 3 the broker could not be reached.
 *
 * serve's handlers: echo (returns args), fail (answers args.errno,
 * args.status, args.message, args.data), sleep (sleeps args.ms on a worker,
 * then echoes), count (appends "<message id> <args.n>" to --record, one line
 * per execution, logs it, sleeps args.ms if given, and returns args.n). serve prints {"ready":...}
 * once it consumes, and {"stats":...} when it stops (SIGTERM or SIGINT). --seq sets args.n to the
 * call's number (1..count); --interval pauses each caller thread between its calls; --request-id
 * sets the callers' log request id, which travels in the envelope. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "amqp/mq.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/wq.h"
#include "common/xalloc.h"

#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define MAX_COUNT 10000000
#define MAX_THREADS 256

struct tool {
    const char *url, *queue, *method, *args_text, *exchange, *rk, *type, *body_text;
    const char *record, *declare_exchange, *bind_queue, *request_id;
    int interval_ms;
    int count, timeout_ms, concurrency, workers, prefetch, connect_timeout_ms, connect_wait_ms;
    int seq, quiet, durable, persistent, confirm, mandatory, declare, events;
    cJSON *args;
    struct mq *mq;
    int record_fd;
    pthread_mutex_t out_lock;
};

static void out_line(struct tool *t, cJSON *obj)
{
    char *s = json_print(obj);

    pthread_mutex_lock(&t->out_lock);
    printf("%s\n", s);
    fflush(stdout);
    pthread_mutex_unlock(&t->out_lock);
    free(s);
    cJSON_Delete(obj);
}

/* ------------------------------------------------------------ handlers */

static void h_echo(struct mq_req *req, const cJSON *args, void *ctx)
{
    (void)ctx;
    mq_reply(req, cJSON_Duplicate(args, 1));
}

static void h_fail(struct mq_req *req, const cJSON *args, void *ctx)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(args, "data");
    const char *message = "failed as asked";
    int64_t errnum = EIO, status = 0;
    struct error e;

    (void)ctx;
    if (json_get_int(args, "errno", JSON_OPTIONAL, 1, 4095, &errnum, &e) == -EINVAL ||
        json_get_int(args, "status", JSON_OPTIONAL, 0, 599, &status, &e) == -EINVAL ||
        json_get_str(args, "message", JSON_OPTIONAL, 4096, &message, &e) == -EINVAL) {
        mq_reply_error(req, EINVAL, 400, e.msg, NULL);
        return;
    }
    mq_reply_error(req, (int)errnum, (int)status, message, data ? cJSON_Duplicate(data, 1) : NULL);
}

static void h_sleep(struct mq_req *req, const cJSON *args, void *ctx)
{
    int64_t ms = 0;
    struct timespec ts;
    struct error e;

    (void)ctx;
    if (json_get_int(args, "ms", JSON_REQUIRED, 0, 600000, &ms, &e) < 0) {
        mq_reply_error(req, EINVAL, 400, e.msg, NULL);
        return;
    }
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    mq_reply(req, cJSON_Duplicate(args, 1));
}

static void h_count(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct tool *t = ctx;
    const char *id = mq_req_message_id(req);
    int64_t n = 0, ms = 0;
    char line[512];
    struct error e;
    int len;

    if (json_get_int(args, "n", JSON_REQUIRED, INT32_MIN, INT32_MAX, &n, &e) < 0 ||
        json_get_int(args, "ms", JSON_OPTIONAL, 0, 600000, &ms, &e) == -EINVAL) {
        mq_reply_error(req, EINVAL, 400, e.msg, NULL);
        return;
    }
    /* "-" stands for a message without an id, so that lines split in two. */
    len = snprintf(line, sizeof(line), "%s %" PRId64 "\n", id[0] ? id : "-", n);
    log_info("count n=%" PRId64 " message_id=%s redelivered=%d", n, id, mq_req_redelivered(req));
    /* One write(2) per line on an O_APPEND file: lines never interleave. */
    if (t->record_fd >= 0 && write(t->record_fd, line, (size_t)len) != len) {
        mq_reply_error(req, EIO, 500, "cannot write the record file", NULL);
        return;
    }
    if (ms > 0) {
        /* Executed, not yet answered: the window a broker restart hits. */
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    mq_reply(req, json_create_int(n));
}

static const struct mq_handler handlers[] = {
    {"echo", h_echo, MQ_INLINE},
    {"fail", h_fail, MQ_INLINE},
    {"sleep", h_sleep, 0},
    {"count", h_count, 0},
};

/* --------------------------------------------------------------- common */

static int connect_mq(struct tool *t)
{
    struct mq_opts o = {.name = "mqtool", .connect_wait_ms = t->connect_wait_ms};
    struct error err;

    if (mq_new(t->url, &o, &t->mq, &err) < 0) {
        fprintf(stderr, "mqtool: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (mq_wait_connected(t->mq, t->connect_timeout_ms, &err) < 0) {
        fprintf(stderr, "mqtool: %s\n", err.msg);
        mq_free(t->mq);
        t->mq = NULL;
        return EXIT_UNREACHABLE;
    }
    return 0;
}

static cJSON *stats_json(struct mq *mq)
{
    struct mq_stats s;
    cJSON *o = cJSON_CreateObject();

    mq_stats_get(mq, &s);
#define F(x) json_add_int(o, #x, (int64_t)s.x)
    F(connects);
    F(reconnects);
    F(calls);
    F(calls_ok);
    F(calls_remote_error);
    F(calls_timeout);
    F(calls_unsent);
    F(calls_resent);
    F(publishes);
    F(publishes_failed);
    F(requests);
    F(replies);
    F(error_replies);
    F(duplicates);
    F(expired);
    F(malformed);
#undef F
    return o;
}

/* Args for call number i (1-based): the template, with n = i under --seq. */
static cJSON *args_for(const struct tool *t, int i)
{
    cJSON *a = json_dup_or_object(t->args);

    if (t->seq) {
        cJSON_DeleteItemFromObjectCaseSensitive(a, "n");
        json_add_int(a, "n", i);
    }
    return a;
}

/* ---------------------------------------------------------------- serve */

static int cmd_serve(struct tool *t)
{
    struct mq_serve_opts so = {.durable = t->durable, .prefetch = t->prefetch, .events = t->events};
    struct error err;
    sigset_t set;
    int sig, rc;
    cJSON *o;

    /* Blocked before any thread starts, so that every thread inherits the
     * mask and sigwait() below collects the signals. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (t->record) {
        t->record_fd = open(t->record, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (t->record_fd < 0) {
            fprintf(stderr, "mqtool: %s: %s\n", t->record, strerror(errno));
            return 1;
        }
    }
    rc = connect_mq(t);
    if (rc)
        return rc;
    so.wq = wq_new(t->workers, 0, NULL);
    if (mq_serve(t->mq, t->queue, handlers, sizeof(handlers) / sizeof(handlers[0]), &so, t, &err) <
        0) {
        fprintf(stderr, "mqtool: %s\n", err.msg);
        mq_free(t->mq);
        wq_free(so.wq);
        return 1;
    }
    o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ready", 1);
    cJSON_AddStringToObject(o, "queue", t->queue);
    out_line(t, o);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigwait(&set, &sig);
    o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "stats", stats_json(t->mq));
    mq_free(t->mq); /* finishes running requests first */
    wq_free(so.wq);
    out_line(t, o);
    return 0;
}

/* ----------------------------------------------------------------- call */

struct caller {
    struct tool *t;
    int *next; /* shared: the next call number */
    pthread_mutex_t *lock;
    int64_t *lat_us; /* per call */
    int counts[6];   /* ok, remote, timeout, unsent, failed, all */
};

static cJSON *outcome_json(int i, const struct mq_result *r)
{
    cJSON *o = cJSON_CreateObject(), *e;

    cJSON_AddNumberToObject(o, "n", i);
    cJSON_AddBoolToObject(o, "ok", r->rc == 0);
    if (r->rc == 0) {
        cJSON_AddItemToObject(o, "result", cJSON_Duplicate(r->result, 1));
    } else if (r->rc == -EREMOTE) {
        e = cJSON_AddObjectToObject(o, "remote");
        cJSON_AddNumberToObject(e, "errno", r->remote_errno);
        cJSON_AddNumberToObject(e, "status", r->remote_status);
        cJSON_AddStringToObject(e, "message", r->err.msg);
        cJSON_AddItemToObject(
            e, "data", r->remote_data ? cJSON_Duplicate(r->remote_data, 1) : cJSON_CreateNull());
    } else {
        cJSON_AddNumberToObject(o, "rc", r->rc);
        cJSON_AddStringToObject(o, "error",
                                strerrorname_np(-r->rc) ? strerrorname_np(-r->rc) : "?");
        cJSON_AddStringToObject(o, "message", r->err.msg);
        cJSON_AddBoolToObject(o, "unsent", mq_rc_unsent(r->rc));
    }
    return o;
}

static int outcome_index(int rc)
{
    if (rc == 0)
        return 0;
    if (rc == -EREMOTE)
        return 1;
    if (rc == -ETIMEDOUT)
        return 2;
    return mq_rc_unsent(rc) ? 3 : 4;
}

static void *caller_main(void *p)
{
    struct caller *c = p;
    struct tool *t = c->t;

    if (t->request_id)
        log_set_request_id(t->request_id);
    for (;;) {
        struct mq_result r;
        int64_t t0;
        cJSON *args;
        int i;

        pthread_mutex_lock(c->lock);
        i = ++*c->next;
        pthread_mutex_unlock(c->lock);
        if (i > t->count)
            break;
        args = args_for(t, i);
        t0 = time_mono_us();
        mq_call(t->mq, t->queue, t->method, args, t->timeout_ms, &r);
        c->lat_us[i - 1] = time_mono_us() - t0;
        cJSON_Delete(args);
        c->counts[outcome_index(r.rc)]++;
        if (!t->quiet || (r.rc != 0 && r.rc != -EREMOTE))
            out_line(t, outcome_json(i, &r));
        mq_result_free(&r);
        if (t->interval_ms) {
            struct timespec ts = {t->interval_ms / 1000, (t->interval_ms % 1000) * 1000000L};

            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static void summary(struct tool *t, struct caller *cs, int n, int64_t *lat, int64_t elapsed_us)
{
    static const char *const names[] = {"ok", "remote_errors", "timeouts", "unsent", "failed"};
    cJSON *o = cJSON_CreateObject(), *s = cJSON_AddObjectToObject(o, "summary");

    cJSON_AddNumberToObject(s, "calls", t->count);
    for (int k = 0; k < 5; k++) {
        int sum = 0;

        for (int j = 0; j < n; j++)
            sum += cs[j].counts[k];
        cJSON_AddNumberToObject(s, names[k], sum);
    }
    qsort(lat, (size_t)t->count, sizeof(*lat), cmp_i64);
    json_add_int(s, "elapsed_us", elapsed_us);
    cJSON_AddNumberToObject(s, "calls_per_s",
                            elapsed_us > 0 ? (double)t->count * 1e6 / (double)elapsed_us : 0);
    json_add_int(s, "p50_us", lat[t->count / 2]);
    json_add_int(s, "p99_us", lat[(int)((int64_t)t->count * 99 / 100)]);
    json_add_int(s, "max_us", lat[t->count - 1]);
    cJSON_AddItemToObject(s, "stats", stats_json(t->mq));
    out_line(t, o);
}

static int cmd_call(struct tool *t)
{
    pthread_t th[MAX_THREADS];
    struct caller cs[MAX_THREADS];
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    int64_t *lat, t0;
    int next = 0, bad = 0, rc;

    rc = connect_mq(t);
    if (rc)
        return rc;
    lat = xcalloc((size_t)t->count, sizeof(*lat));
    t0 = time_mono_us();
    for (int j = 0; j < t->concurrency; j++) {
        cs[j] = (struct caller){.t = t, .next = &next, .lock = &lock, .lat_us = lat};
        if (pthread_create(&th[j], NULL, caller_main, &cs[j]) != 0)
            abort();
    }
    for (int j = 0; j < t->concurrency; j++)
        pthread_join(th[j], NULL);
    summary(t, cs, t->concurrency, lat, time_mono_us() - t0);
    for (int j = 0; j < t->concurrency; j++)
        bad += cs[j].counts[2] + cs[j].counts[3] + cs[j].counts[4];
    free(lat);
    mq_free(t->mq);
    return bad ? 1 : 0;
}

/* ------------------------------------------------------- cast, publish */

static int report_publish(struct tool *t, int i, int rc, const struct error *err)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "n", i);
    cJSON_AddBoolToObject(o, "ok", rc == 0);
    if (rc < 0) {
        cJSON_AddNumberToObject(o, "rc", rc);
        cJSON_AddStringToObject(o, "message", err->msg);
    }
    if (!t->quiet || rc < 0)
        out_line(t, o);
    else
        cJSON_Delete(o);
    return rc < 0;
}

static unsigned pub_flags(const struct tool *t)
{
    return (t->persistent ? MQ_PERSISTENT : 0) | (t->confirm ? MQ_CONFIRM : 0) |
           (t->mandatory ? MQ_MANDATORY : 0);
}

static int cmd_cast(struct tool *t)
{
    struct error err;
    int bad = 0, rc = connect_mq(t);

    if (rc)
        return rc;
    if (t->declare && mq_declare_queue(t->mq, t->queue, t->durable ? MQ_DURABLE : 0, &err) < 0) {
        fprintf(stderr, "mqtool: %s\n", err.msg);
        mq_free(t->mq);
        return 1;
    }
    for (int i = 1; i <= t->count; i++) {
        cJSON *args = args_for(t, i);

        error_clear(&err);
        rc = mq_cast(t->mq, t->queue, t->method, args, pub_flags(t), &err);
        cJSON_Delete(args);
        bad += report_publish(t, i, rc, &err);
    }
    mq_free(t->mq); /* flushes unconfirmed casts first */
    return bad ? 1 : 0;
}

static int publish_prepare(struct tool *t, struct error *err)
{
    unsigned dur = t->durable ? MQ_DURABLE : 0;

    if (t->declare_exchange &&
        mq_declare_exchange(t->mq, t->exchange, t->declare_exchange, dur, err) < 0)
        return -1;
    if (t->bind_queue && (mq_declare_queue(t->mq, t->bind_queue, dur, err) < 0 ||
                          mq_bind(t->mq, t->bind_queue, t->exchange, t->rk, err) < 0))
        return -1;
    return 0;
}

static int cmd_publish(struct tool *t)
{
    struct error err;
    cJSON *body = NULL;
    int bad = 0, ready = 1, rc;

    if (t->body_text == NULL || json_parse(t->body_text, strlen(t->body_text), &body, &err) < 0) {
        fprintf(stderr, "mqtool: --body must be JSON\n");
        return EXIT_USAGE;
    }
    rc = connect_mq(t);
    if (rc) {
        cJSON_Delete(body);
        return rc;
    }
    if (publish_prepare(t, &err) < 0) {
        fprintf(stderr, "mqtool: %s\n", err.msg);
        bad = 1;
        ready = 0;
    }
    for (int i = 1; ready && i <= t->count; i++) {
        error_clear(&err);
        rc = mq_publish(t->mq, t->exchange, t->rk, t->type, body, pub_flags(t), &err);
        bad += report_publish(t, i, rc, &err);
    }
    cJSON_Delete(body);
    mq_free(t->mq);
    return bad ? 1 : 0;
}

/* ------------------------------------------------------------------ argv */

enum {
    O_URL = 256,
    O_QUEUE,
    O_METHOD,
    O_ARGS,
    O_COUNT,
    O_TIMEOUT,
    O_CONC,
    O_WORKERS,
    O_PREFETCH,
    O_RECORD,
    O_EXCHANGE,
    O_RK,
    O_TYPE,
    O_BODY,
    O_DECL_EX,
    O_BIND,
    O_CTIMEOUT,
    O_CWAIT,
    O_SEQ,
    O_QUIET,
    O_DURABLE,
    O_PERSISTENT,
    O_CONFIRM,
    O_MANDATORY,
    O_DECLARE,
    O_EVENTS,
    O_DEBUG,
    O_INTERVAL,
    O_REQID,
};

static const struct option long_opts[] = {
    {"url", 1, 0, O_URL},
    {"queue", 1, 0, O_QUEUE},
    {"method", 1, 0, O_METHOD},
    {"args", 1, 0, O_ARGS},
    {"count", 1, 0, O_COUNT},
    {"timeout", 1, 0, O_TIMEOUT},
    {"concurrency", 1, 0, O_CONC},
    {"workers", 1, 0, O_WORKERS},
    {"prefetch", 1, 0, O_PREFETCH},
    {"record", 1, 0, O_RECORD},
    {"exchange", 1, 0, O_EXCHANGE},
    {"routing-key", 1, 0, O_RK},
    {"type", 1, 0, O_TYPE},
    {"body", 1, 0, O_BODY},
    {"declare-exchange", 1, 0, O_DECL_EX},
    {"bind-queue", 1, 0, O_BIND},
    {"connect-timeout", 1, 0, O_CTIMEOUT},
    {"connect-wait", 1, 0, O_CWAIT},
    {"seq", 0, 0, O_SEQ},
    {"quiet", 0, 0, O_QUIET},
    {"durable", 0, 0, O_DURABLE},
    {"persistent", 0, 0, O_PERSISTENT},
    {"confirm", 0, 0, O_CONFIRM},
    {"mandatory", 0, 0, O_MANDATORY},
    {"declare", 0, 0, O_DECLARE},
    {"events", 0, 0, O_EVENTS},
    {"debug", 0, 0, O_DEBUG},
    {"interval", 1, 0, O_INTERVAL},
    {"request-id", 1, 0, O_REQID},
    {0, 0, 0, 0},
};

/* Parses a bounded integer option; exits on a bad value. */
static int num(const char *s, long min, long max, const char *name)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "mqtool: --%s must be an integer in %ld..%ld\n", name, min, max);
        exit(EXIT_USAGE);
    }
    return (int)v;
}

static void set_str_opt(struct tool *t, int c, const char *v)
{
    const char **slot[] = {
        [O_URL] = &t->url,         [O_QUEUE] = &t->queue,
        [O_METHOD] = &t->method,   [O_ARGS] = &t->args_text,
        [O_RECORD] = &t->record,   [O_EXCHANGE] = &t->exchange,
        [O_RK] = &t->rk,           [O_TYPE] = &t->type,
        [O_BODY] = &t->body_text,  [O_DECL_EX] = &t->declare_exchange,
        [O_BIND] = &t->bind_queue, [O_REQID] = &t->request_id,
    };

    *slot[c] = v;
}

static void set_opt(struct tool *t, int c, const char *v)
{
    switch (c) {
    case O_COUNT:
        t->count = num(v, 1, MAX_COUNT, "count");
        break;
    case O_TIMEOUT:
        t->timeout_ms = num(v, 1, 3600000, "timeout");
        break;
    case O_CONC:
        t->concurrency = num(v, 1, MAX_THREADS, "concurrency");
        break;
    case O_WORKERS:
        t->workers = num(v, 1, 256, "workers");
        break;
    case O_PREFETCH:
        t->prefetch = num(v, 1, 65535, "prefetch");
        break;
    case O_CTIMEOUT:
        t->connect_timeout_ms = num(v, 0, 3600000, "connect-timeout");
        break;
    case O_CWAIT:
        t->connect_wait_ms = num(v, 1, 3600000, "connect-wait");
        break;
    case O_INTERVAL:
        t->interval_ms = num(v, 0, 60000, "interval");
        break;
    case O_SEQ:
        t->seq = 1;
        break;
    case O_QUIET:
        t->quiet = 1;
        break;
    case O_DURABLE:
        t->durable = 1;
        break;
    case O_PERSISTENT:
        t->persistent = 1;
        break;
    case O_CONFIRM:
        t->confirm = 1;
        break;
    case O_MANDATORY:
        t->mandatory = 1;
        break;
    case O_DECLARE:
        t->declare = 1;
        break;
    case O_EVENTS:
        t->events = 1;
        break;
    case O_DEBUG:
        log_set_level(LOG_DEBUG);
        break;
    default:
        set_str_opt(t, c, v);
        break;
    }
}

static const struct command {
    const char *name;
    int (*run)(struct tool *t);
    int needs_queue, needs_method;
} commands[] = {
    {"serve", cmd_serve, 1, 0},
    {"call", cmd_call, 1, 1},
    {"cast", cmd_cast, 1, 1},
    {"publish", cmd_publish, 0, 0},
};

static int usage(void)
{
    fprintf(stderr, "usage: mqtool serve|call|cast|publish --url URL [options]"
                    " (see the top of tests/tools/mqtool/mqtool.c)\n");
    return EXIT_USAGE;
}

static int check_args(struct tool *t, const struct command *cmd)
{
    struct error err;

    if (t->url == NULL || (cmd->needs_queue && t->queue == NULL) ||
        (cmd->needs_method && t->method == NULL) ||
        (cmd->run == cmd_publish && (t->exchange == NULL || t->rk == NULL)))
        return usage();
    if (t->args_text && json_parse(t->args_text, strlen(t->args_text), &t->args, &err) < 0) {
        fprintf(stderr, "mqtool: --args: %s\n", err.msg);
        return EXIT_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct tool t = {
        .count = 1, .timeout_ms = 5000, .concurrency = 1, .workers = 4, .record_fd = -1};
    const struct command *cmd = NULL;
    int c, rc;

    log_init("mqtool", LOG_INFO);
    xalloc_init();
    pthread_mutex_init(&t.out_lock, NULL);
    for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            cmd = &commands[i];
    if (cmd == NULL)
        return usage();
    optind = 2;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == '?')
            return usage();
        set_opt(&t, c, optarg);
    }
    rc = check_args(&t, cmd);
    if (rc)
        return rc;
    rc = cmd->run(&t);
    cJSON_Delete(t.args);
    if (t.record_fd >= 0)
        close(t.record_fd);
    return rc;
}

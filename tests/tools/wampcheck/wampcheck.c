/* wampcheck: drives libiotwamp from the command line, for tests that check it
 * against another WAMP implementation (tests/integration/test_wamp_autobahn.py).
 *
 *   wampcheck [parse] [--raw] [--max N]  one frame per stdin line; prints the
 *                                        re-serialisation (parts rebuilt as
 *                                        trees and printed exactly; --raw keeps
 *                                        them as received) or "ERROR <message>"
 *   wampcheck envelope                   one YIELD/RESULT/ERROR frame per line;
 *                                        prints its WampMessage (compact) or
 *                                        "ERROR <message>"
 *   wampcheck sign <secret>              one WAMP-CRA challenge per line; prints
 *                                        its signature
 *   wampcheck bench [--iterations N]     one frame per line; prints the time and
 *                                        the allocations of a parse, of a parse
 *                                        that builds the Args/Kwargs trees, and
 *                                        of cJSON_Parse on the same bytes
 *   wampcheck session [--realm R] [--authid A --secret S]
 *                                        runs the client session machine over a
 *                                        script on stdin (commands below); prints
 *                                        "send <frame>" for every frame sent and
 *                                        "event <description> [args=..] [kwargs=..]"
 *                                        for every event; answers CHALLENGE with
 *                                        the secret
 *
 * Session commands, one per line: hello | recv <frame> |
 * call <procedure> [<[args, kwargs]>] | register <procedure> |
 * unregister <id> | subscribe <topic> | unsubscribe <id> |
 * publish <topic> [<[args, kwargs]>] | publish-ack <topic> [...] |
 * yield <request> <WampMessage text> | error <request> <uri> [<text>] |
 * goodbye [<reason>] | disconnect | state.
 * A command that fails prints "fail <command>: <reason>".
 * Exit status: 0, or 2 for a usage error. Test-only; not installed. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "wamp/cra.h"
#include "wamp/json_out.h"
#include "wamp/json_strict.h"
#include "wamp/msg.h"
#include "wamp/session.h"
#include "wamp/wampmsg.h"

struct opts {
    int raw;
    long iterations;
    size_t max;
    const char *realm;
    const char *authid;
    const char *secret;
};

/* Calls fn for each line of stdin (without its newline). */
static void each_line(void (*fn)(char *line, size_t len, void *arg), void *arg)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        fn(line, (size_t)n, arg);
        fflush(stdout);
    }
    free(line);
}

static void print_error(const char *what, const struct error *err)
{
    printf("%s%s\n", what, err->msg);
}

/* ------------------------------------------------------------ allocations */

/* The program links with -Wl,--wrap=malloc,... (module.mk), so that every
 * allocation, cJSON's included (its hooks are xmalloc), is counted here. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static unsigned long allocations;

void *__wrap_malloc(size_t n)
{
    allocations++;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    allocations++;
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    allocations++;
    return __real_realloc(p, n);
}

/* ------------------------------------------------------------ parse */

static void parse_line(char *line, size_t len, void *arg)
{
    const struct opts *o = arg;
    struct wamp_msg *m = NULL, t;
    struct error err = {0};
    char *out;
    size_t n;

    if (wamp_msg_parse_max(line, len, o->max, &m, &err) < 0) {
        print_error("ERROR ", &err);
        return;
    }
    t = *m;
    if (!o->raw) {
        /* The normalised form: every part rebuilt as a tree and printed. */
        t.parsed_ = 0;
        t.details = WAMP_PART_TREE(wamp_msg_details(m));
        t.args = WAMP_PART_TREE(wamp_msg_args(m));
        t.kwargs = WAMP_PART_TREE(wamp_msg_kwargs(m));
    }
    if (wamp_msg_serialize(&t, &out, &n, &err) < 0) {
        print_error("ERROR ", &err);
    } else {
        fwrite(out, 1, n, stdout);
        putchar('\n');
        free(out);
    }
    wamp_msg_free(m);
}

static void envelope_line(char *line, size_t len, void *arg)
{
    struct wamp_msg *m = NULL;
    struct wamp_wampmsg wm = {0};
    struct error err = {0};
    char *out;
    size_t n;
    int rc;

    (void)arg;
    rc = wamp_msg_parse(line, len, &m, &err);
    if (rc == 0 && m->type == WAMP_ERROR)
        wamp_wampmsg_from_error(m, &wm);
    else if (rc == 0 && (m->type == WAMP_YIELD || m->type == WAMP_RESULT))
        rc = wamp_wampmsg_from_yield(m, &wm, &err);
    else if (rc == 0)
        rc = error_set(&err, -EINVAL, "%s carries no WampMessage", wamp_type_name(m->type));
    if (rc == 0)
        rc = wamp_wampmsg_text(wm.result, wm.message, wm.req_id, WAMP_WAMPMSG_COMPACT, &out, &n,
                               &err);
    if (rc < 0) {
        print_error("ERROR ", &err);
    } else {
        printf("%s\n", out);
        free(out);
    }
    wamp_wampmsg_clear(&wm);
    wamp_msg_free(m);
}

static void sign_line(char *line, size_t len, void *arg)
{
    const char *secret = arg;
    char sig[WAMP_CRA_SIG_LEN];

    wamp_cra_sign(secret, strlen(secret), line, len, sig);
    printf("%s\n", sig);
}

/* ------------------------------------------------------------ bench */

enum bench_kind { BENCH_PARSE, BENCH_TREES, BENCH_CJSON };

/* Runs one kind n times over the frame; returns 0 or -1 if it failed. */
static int bench_once(enum bench_kind kind, const char *line, size_t len)
{
    struct wamp_msg *m = NULL;
    struct error err;
    cJSON *t;

    if (kind == BENCH_CJSON) {
        t = cJSON_ParseWithLength(line, len);
        cJSON_Delete(t);
        return t != NULL ? 0 : -1;
    }
    if (wamp_msg_parse(line, len, &m, &err) < 0)
        return -1;
    if (kind == BENCH_TREES) {
        (void)wamp_msg_args(m);
        (void)wamp_msg_kwargs(m);
    }
    wamp_msg_free(m);
    return 0;
}

static void bench_line(char *line, size_t len, void *arg)
{
    const struct opts *o = arg;
    static const char *const names[] = {"parse", "parse+trees", "cJSON_Parse"};
    long n = o->iterations > 0 ? o->iterations : (long)(64 * 1024 * 1024 / (len + 64)) + 10;
    struct wamp_msg *m = NULL;
    struct error err;

    if (wamp_msg_parse(line, len, &m, &err) < 0) {
        print_error("ERROR ", &err);
        return;
    }
    printf("%s %zu bytes:", wamp_type_name(m->type), len);
    wamp_msg_free(m);
    for (int k = BENCH_PARSE; k <= BENCH_CJSON; k++) {
        unsigned long a0 = allocations;
        int64_t t0 = time_mono_us();

        for (long i = 0; i < n; i++)
            if (bench_once((enum bench_kind)k, line, len) < 0)
                break;
        printf(" %s %.0f ns %.1f allocs (%.0f MB/s)%s", names[k],
               (double)(time_mono_us() - t0) * 1000.0 / (double)n,
               (double)(allocations - a0) / (double)n,
               (double)len * (double)n / (double)(time_mono_us() - t0 + 1),
               k < BENCH_CJSON ? ";" : "");
    }
    putchar('\n');
}

/* ------------------------------------------------------------ session */

struct script {
    struct wamp_session *s;
    const struct opts *o;
};

static void on_send(void *owner, char *frame, size_t len)
{
    (void)owner;
    fputs("send ", stdout);
    fwrite(frame, 1, len, stdout);
    putchar('\n');
    free(frame);
}

static void print_part(const char *name, const cJSON *part)
{
    struct error err;
    char *text;
    size_t n;

    if (part == NULL || wamp_json_print(part, WAMP_JSON_DEPTH_MAX, 0, &text, &n, &err) < 0)
        return;
    printf(" %s=%s", name, text);
    free(text);
}

static void on_event(void *owner, const struct wamp_event *ev)
{
    struct script *sc = owner;
    char line[1024];
    struct error err;

    printf("event %s", wamp_event_format(ev, line, sizeof(line)));
    if (ev->msg != NULL && ev->type != WAMP_EV_CHALLENGE) {
        print_part("args", wamp_msg_args(ev->msg));
        print_part("kwargs", wamp_msg_kwargs(ev->msg));
    }
    putchar('\n');
    if (ev->type == WAMP_EV_CHALLENGE && sc->o->secret != NULL &&
        wamp_session_authenticate(sc->s, ev->text, ev->text_len, sc->o->secret,
                                  strlen(sc->o->secret), &err) < 0)
        print_error("fail authenticate: ", &err);
}

static const struct wamp_session_ops script_ops = {on_send, on_event};

/* Splits "<word> <rest>": NUL-terminates the word, returns the rest ("" if none). */
static char *next_word(char *s)
{
    char *sp = strchr(s, ' ');

    if (sp == NULL)
        return s + strlen(s);
    *sp = '\0';
    return sp + 1;
}

/* Reads an optional "[args, kwargs]" JSON text into parts (trees owned by *tree). */
static int payload(const char *text, cJSON **tree, struct wamp_part *args, struct wamp_part *kwargs,
                   struct error *err)
{
    cJSON *a, *k;

    *tree = NULL;
    *args = *kwargs = WAMP_PART_NONE;
    if (*text == '\0')
        return 0;
    if (wamp_json_check(text, strlen(text), WAMP_JSON_DEPTH_MAX, err) < 0)
        return -EINVAL;
    *tree = wamp_json_tree(text, strlen(text));
    a = cJSON_IsArray(*tree) ? cJSON_GetArrayItem(*tree, 0) : NULL;
    k = cJSON_IsArray(*tree) ? cJSON_GetArrayItem(*tree, 1) : NULL;
    if (!cJSON_IsArray(*tree) || (a != NULL && !cJSON_IsArray(a)) ||
        (k != NULL && !cJSON_IsObject(k)))
        return error_set(err, -EINVAL, "payload must be [<args array>, <kwargs object>]");
    *args = WAMP_PART_TREE(a);
    *kwargs = WAMP_PART_TREE(k);
    return 0;
}

static uint64_t number(const char *s)
{
    return strtoull(s, NULL, 10);
}

static int cmd_hello(struct script *sc, char *rest, struct error *err)
{
    (void)rest;
    return wamp_session_hello(sc->s, sc->o->realm, sc->o->authid, err);
}

static int cmd_recv(struct script *sc, char *rest, struct error *err)
{
    int rc = wamp_session_feed(sc->s, rest, strlen(rest));

    return rc < 0 ? error_set(err, rc, "feed: %s", strerror(-rc)) : 0;
}

static int cmd_call(struct script *sc, char *rest, struct error *err)
{
    char *body = next_word(rest);
    struct wamp_part a, k;
    cJSON *tree;
    int rc = payload(body, &tree, &a, &k, err);

    if (rc == 0)
        rc = wamp_session_call(sc->s, rest, a, k, NULL, NULL, err);
    cJSON_Delete(tree);
    return rc;
}

static int do_publish(struct script *sc, char *rest, int ack, struct error *err)
{
    char *body = next_word(rest);
    struct wamp_part a, k;
    cJSON *tree;
    int rc = payload(body, &tree, &a, &k, err);

    if (rc == 0)
        rc = wamp_session_publish(sc->s, rest, a, k, ack, NULL, NULL, err);
    cJSON_Delete(tree);
    return rc;
}

static int cmd_publish(struct script *sc, char *rest, struct error *err)
{
    return do_publish(sc, rest, 0, err);
}

static int cmd_publish_ack(struct script *sc, char *rest, struct error *err)
{
    return do_publish(sc, rest, 1, err);
}

static int cmd_register(struct script *sc, char *rest, struct error *err)
{
    return wamp_session_register(sc->s, rest, NULL, NULL, err);
}

static int cmd_unregister(struct script *sc, char *rest, struct error *err)
{
    return wamp_session_unregister(sc->s, number(rest), NULL, err);
}

static int cmd_subscribe(struct script *sc, char *rest, struct error *err)
{
    return wamp_session_subscribe(sc->s, rest, NULL, NULL, err);
}

static int cmd_unsubscribe(struct script *sc, char *rest, struct error *err)
{
    return wamp_session_unsubscribe(sc->s, number(rest), NULL, err);
}

static int cmd_yield(struct script *sc, char *rest, struct error *err)
{
    char *text = next_word(rest);

    return wamp_session_yield_text(sc->s, number(rest), text, strlen(text), err);
}

static int cmd_error(struct script *sc, char *rest, struct error *err)
{
    char *uri = next_word(rest);
    char *text = next_word(uri);

    return wamp_session_invocation_error(sc->s, number(rest), uri, *text ? text : NULL, err);
}

static int cmd_goodbye(struct script *sc, char *rest, struct error *err)
{
    return wamp_session_goodbye(sc->s, *rest ? rest : NULL, err);
}

static int cmd_disconnect(struct script *sc, char *rest, struct error *err)
{
    (void)rest;
    (void)err;
    wamp_session_disconnected(sc->s);
    return 0;
}

static int cmd_state(struct script *sc, char *rest, struct error *err)
{
    static const char *const names[] = {"INIT",        "HELLO_SENT", "CHALLENGED", "AUTH_SENT",
                                        "ESTABLISHED", "CLOSING",    "CLOSED"};

    (void)rest;
    (void)err;
    printf("state %s session=%" PRIu64 " pending=%zu registrations=%zu\n",
           names[wamp_session_state(sc->s)], wamp_session_id(sc->s), wamp_session_pending(sc->s),
           wamp_session_registrations(sc->s));
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(struct script *sc, char *rest, struct error *err);
} commands[] = {
    {"hello", cmd_hello},
    {"recv", cmd_recv},
    {"call", cmd_call},
    {"register", cmd_register},
    {"unregister", cmd_unregister},
    {"subscribe", cmd_subscribe},
    {"unsubscribe", cmd_unsubscribe},
    {"publish", cmd_publish},
    {"publish-ack", cmd_publish_ack},
    {"yield", cmd_yield},
    {"error", cmd_error},
    {"goodbye", cmd_goodbye},
    {"disconnect", cmd_disconnect},
    {"state", cmd_state},
};

static void script_line(char *line, size_t len, void *arg)
{
    struct script *sc = arg;
    char *rest;
    struct error err = {0};

    (void)len;
    if (line[0] == '\0' || line[0] == '#')
        return;
    rest = next_word(line);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(line, commands[i].name) != 0)
            continue;
        if (commands[i].fn(sc, rest, &err) < 0)
            printf("fail %s: %s\n", line, err.msg);
        return;
    }
    printf("fail %s: unknown command\n", line);
}

/* ------------------------------------------------------------ main */

static int usage(void)
{
    fprintf(stderr, "usage: wampcheck [parse] [--raw] [--max N] | envelope | sign <secret> |\n"
                    "       bench [--iterations N] |\n"
                    "       session [--realm R] [--authid A --secret S]\n");
    return 2;
}

static int read_opts(int argc, char **argv, int i, struct opts *o)
{
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--raw") == 0)
            o->raw = 1;
        else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            o->iterations = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc)
            o->max = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--realm") == 0 && i + 1 < argc)
            o->realm = argv[++i];
        else if (strcmp(argv[i], "--authid") == 0 && i + 1 < argc)
            o->authid = argv[++i];
        else if (strcmp(argv[i], "--secret") == 0 && i + 1 < argc)
            o->secret = argv[++i];
        else
            return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.max = WAMP_MSG_MAX, .realm = "s4t"};
    const char *mode = argc > 1 && argv[1][0] != '-' ? argv[1] : "parse";
    int first = argc > 1 && argv[1][0] != '-' ? 2 : 1;
    struct script sc = {.o = &o};

    xalloc_init();
    if (strcmp(mode, "sign") == 0) {
        if (argc != 3)
            return usage();
        each_line(sign_line, argv[2]);
        return 0;
    }
    if (read_opts(argc, argv, first, &o) < 0)
        return usage();
    if (strcmp(mode, "parse") == 0) {
        each_line(parse_line, &o);
    } else if (strcmp(mode, "bench") == 0) {
        each_line(bench_line, &o);
    } else if (strcmp(mode, "envelope") == 0) {
        each_line(envelope_line, &o);
    } else if (strcmp(mode, "session") == 0) {
        sc.s = wamp_session_new(&script_ops, &sc, o.max);
        each_line(script_line, &sc);
        wamp_session_free(sc.s);
    } else {
        return usage();
    }
    return 0;
}

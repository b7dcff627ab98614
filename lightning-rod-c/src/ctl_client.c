/* src/ctl_client.c: see ctl_client.h.
 *
 * Blocking I/O is fine here: this runs in the `lightning-rod-c sim|status`
 * command process, not in the agent. Every wait is bounded by poll() with a
 * timeout, except `sim watch`, which waits for events until the agent goes
 * away. Command words dispatch through a table. */
#include "src/ctl_client.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/json.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define REPLY_MAX (1 << 20) /* longest reply line accepted */

struct ctl_client {
    int fd;
    char *buf;
    size_t len;
};

int ctl_client_connect(const char *path, struct ctl_client **out, struct error *err)
{
    struct sockaddr_un sa;
    struct ctl_client *c;
    int fd;

    *out = NULL;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path))
        return error_set(err, -ENAMETOOLONG, "%s: path too long for a socket", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return error_set(err, -errno, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;

        close(fd);
        return error_set(err, -e, "cannot connect to %s: %s (is the agent running?)", path,
                         strerror(e));
    }
    c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->buf = xmalloc(REPLY_MAX + 1);
    *out = c;
    return 0;
}

void ctl_client_free(struct ctl_client *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    free(c->buf);
    free(c);
}

int ctl_client_send(struct ctl_client *c, const cJSON *req, struct error *err)
{
    char *text = json_print(req);
    size_t n = strlen(text), off = 0;
    int rc = 0;

    text[n++] = '\n';
    while (off < n) {
        ssize_t k = send(c->fd, text + off, n - off, MSG_NOSIGNAL);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = error_set(err, -errno, "sending to the agent: %s", strerror(errno));
            break;
        }
        off += (size_t)k;
    }
    free(text);
    return rc;
}

/* Takes the first buffered line, if any, as a JSON object. 1 when none. */
static int take_line(struct ctl_client *c, cJSON **out, struct error *err)
{
    char *nl = memchr(c->buf, '\n', c->len);
    size_t k;
    int rc;

    if (nl == NULL)
        return 1;
    k = (size_t)(nl - c->buf);
    rc = json_parse(c->buf, k, out, err);
    memmove(c->buf, nl + 1, c->len - k - 1);
    c->len -= k + 1;
    if (rc == 0 && !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        rc = -EINVAL;
    }
    return rc < 0 ? error_set(err, -EPROTO, "the agent sent a line that is not a JSON object") : 0;
}

int ctl_client_read(struct ctl_client *c, int timeout_ms, cJSON **out, struct error *err)
{
    int64_t deadline = timeout_ms < 0 ? -1 : time_mono_ms() + timeout_ms;

    *out = NULL;
    for (;;) {
        struct pollfd p = {c->fd, POLLIN, 0};
        int rc = take_line(c, out, err), wait = -1;
        ssize_t n;

        if (rc <= 0)
            return rc;
        if (c->len == REPLY_MAX)
            return error_set(err, -EPROTO, "the agent sent a line longer than %d bytes", REPLY_MAX);
        if (deadline >= 0) {
            wait = (int)(deadline - time_mono_ms());
            if (wait <= 0)
                return error_set(err, -ETIMEDOUT, "the agent did not answer in time");
        }
        rc = poll(&p, 1, wait);
        if (rc < 0 && errno != EINTR)
            return error_set(err, -errno, "poll: %s", strerror(errno));
        if (rc <= 0)
            continue;
        n = recv(c->fd, c->buf + c->len, REPLY_MAX - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return error_set(err, -errno, "reading from the agent: %s", strerror(errno));
        if (n == 0)
            return error_set(err, -ECONNRESET, "the agent closed the connection");
        c->len += (size_t)n;
    }
}

int ctl_client_call(const char *path, const cJSON *req, int timeout_ms, cJSON **reply,
                    struct error *err)
{
    struct ctl_client *c = NULL;
    int rc = ctl_client_connect(path, &c, err);

    *reply = NULL;
    if (rc == 0)
        rc = ctl_client_send(c, req, err);
    if (rc == 0)
        rc = ctl_client_read(c, timeout_ms, reply, err);
    ctl_client_free(c);
    return rc;
}

/* ---------------------------------------------------------------- CLI */

struct cli {
    const char *path;
    int json;
    FILE *out, *errout;
};

static int parse_line_no(const char *s, int64_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] < '0' || s[0] > '9' || v > 65535)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int parse_number(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && isfinite(*out) ? 0 : -1;
}

/* Each builder turns the words after the command into a request, or
 * returns NULL after saying what is wrong. */
static cJSON *build_set_sensor(char **a, FILE *errout)
{
    cJSON *r;
    double v;

    if (parse_number(a[1], &v) < 0) {
        fprintf(errout, "error: '%s' is not a number\n", a[1]);
        return NULL;
    }
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "op", "sim_set_sensor");
    cJSON_AddStringToObject(r, "name", a[0]);
    cJSON_AddNumberToObject(r, "value", v);
    return r;
}

static cJSON *build_line_req(const char *op, char **a, FILE *errout)
{
    cJSON *r;
    int64_t line;

    if (parse_line_no(a[1], &line) < 0) {
        fprintf(errout, "error: '%s' is not a line offset (0 to 65535)\n", a[1]);
        return NULL;
    }
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "op", op);
    cJSON_AddStringToObject(r, "chip", a[0]);
    json_add_int(r, "line", line);
    return r;
}

static cJSON *build_set_line(char **a, FILE *errout)
{
    cJSON *r;

    if (strcmp(a[2], "0") != 0 && strcmp(a[2], "1") != 0) {
        fprintf(errout, "error: the value must be 0 or 1, not '%s'\n", a[2]);
        return NULL;
    }
    r = build_line_req("sim_set_line", a, errout);
    if (r != NULL)
        json_add_int(r, "value", a[2][0] - '0');
    return r;
}

static cJSON *build_get_line(char **a, FILE *errout)
{
    return build_line_req("sim_get_line", a, errout);
}

static cJSON *build_op_only(const char *op)
{
    cJSON *r = cJSON_CreateObject();

    cJSON_AddStringToObject(r, "op", op);
    return r;
}

static cJSON *build_watch(char **a, FILE *errout)
{
    (void)a;
    (void)errout;
    return build_op_only("sim_watch");
}

static cJSON *build_status(char **a, FILE *errout)
{
    (void)a;
    (void)errout;
    return build_op_only("status");
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : "?";
}

static double num_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void print_set_sensor(const cJSON *r, char **a, FILE *out)
{
    (void)a;
    fprintf(out, "%s = %.15g %s\n", str_of(r, "name"), num_of(r, "value"), str_of(r, "unit"));
}

static void print_set_line(const cJSON *r, char **a, FILE *out)
{
    const cJSON *edge = cJSON_GetObjectItemCaseSensitive(r, "edge");
    int events = (int)num_of(r, "events");

    (void)a;

    fprintf(out, "%s:%.0f = %.0f", str_of(r, "chip"), num_of(r, "line"), num_of(r, "value"));
    if (cJSON_IsString(edge))
        fprintf(out, " (%s edge, %d event%s)\n", edge->valuestring, events, events == 1 ? "" : "s");
    else
        fprintf(out, " (no change)\n");
}

static void print_status(const cJSON *r, char **a, FILE *out)
{
    (void)a;
    for (const cJSON *item = r->child; item != NULL; item = item->next) {
        char *text;

        if (strcmp(item->string, "ok") == 0)
            continue;
        if (cJSON_IsString(item)) {
            fprintf(out, "%s: %s\n", item->string, item->valuestring);
            continue;
        }
        text = json_print(item);
        fprintf(out, "%s: %s\n", item->string, text);
        free(text);
    }
}

struct cli_cmd {
    const char *word; /* after "sim", or "status" */
    int nargs;
    const char *usage;
    cJSON *(*build)(char **args, FILE *errout);
    /* Prints a successful reply; a is the command's words. NULL: a stream. */
    void (*print)(const cJSON *reply, char **a, FILE *out);
};

/* get-line's reply lacks the chip and line: they come from the words. */
static void print_get_line(const cJSON *r, char **a, FILE *out)
{
    fprintf(out, "%s:%s value=%.0f direction=%s writes=%.0f\n", a[0], a[1], num_of(r, "value"),
            str_of(r, "direction"), num_of(r, "writes"));
}

static const struct cli_cmd sim_cmds[] = {
    {"set-sensor", 2, "sim set-sensor <name> <value>", build_set_sensor, print_set_sensor},
    {"set-line", 3, "sim set-line <chip> <line> <0|1>", build_set_line, print_set_line},
    {"get-line", 2, "sim get-line <chip> <line>", build_get_line, print_get_line},
    {"watch", 0, "sim watch", build_watch, NULL},
};

static const struct cli_cmd status_cmd = {"status", 0, "status", build_status, print_status};

static int usage(FILE *errout)
{
    fprintf(errout, "usage: lightning-rod-c [--control-socket PATH] [--json] COMMAND\n"
                    "commands:\n");
    for (size_t i = 0; i < sizeof(sim_cmds) / sizeof(sim_cmds[0]); i++)
        fprintf(errout, "  %s\n", sim_cmds[i].usage);
    fprintf(errout, "  %s\n", status_cmd.usage);
    return 2;
}

/* Prints the reply; returns the exit status. */
static int show(const struct cli *cli, const struct cli_cmd *cmd, char **args, const cJSON *reply)
{
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(reply, "ok");

    if (cli->json) {
        char *text = json_print(reply);

        fprintf(cli->out, "%s\n", text);
        free(text);
    } else if (cJSON_IsTrue(ok) && cmd->print != NULL) {
        cmd->print(reply, args, cli->out);
    }
    if (!cJSON_IsTrue(ok)) {
        if (!cli->json)
            fprintf(cli->errout, "error: %s\n", str_of(reply, "error"));
        return 1;
    }
    return 0;
}

static void print_write_event(const struct cli *cli, const cJSON *ev)
{
    double dropped = num_of(ev, "dropped");

    if (cli->json) {
        char *text = json_print(ev);

        fprintf(cli->out, "%s\n", text);
        free(text);
    } else {
        fprintf(cli->out, "%s %s:%.0f = %.0f (write %.0f)", str_of(ev, "ts"), str_of(ev, "chip"),
                num_of(ev, "line"), num_of(ev, "value"), num_of(ev, "writes"));
        if (!isnan(dropped))
            fprintf(cli->out, " [%.0f earlier events dropped]", dropped);
        fputc('\n', cli->out);
    }
    fflush(cli->out);
}

/* sim watch: the first reply, then events until the agent closes. */
static int watch(const struct cli *cli, struct ctl_client *c, const cJSON *first)
{
    struct error err;
    cJSON *ev = NULL;

    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(first, "ok")))
        return show(cli, &sim_cmds[3], NULL, first);
    fflush(cli->out);
    for (;;) {
        int rc = ctl_client_read(c, -1, &ev, &err);

        if (rc == -ECONNRESET)
            return 0; /* the agent stopped */
        if (rc < 0) {
            fprintf(cli->errout, "error: %s\n", err.msg);
            return 1;
        }
        print_write_event(cli, ev);
        cJSON_Delete(ev);
    }
}

static int run(const struct cli *cli, const struct cli_cmd *cmd, char **args)
{
    struct ctl_client *c = NULL;
    cJSON *req = cmd->build(args, cli->errout), *reply = NULL;
    struct error err;
    int rc, status = 1;

    if (req == NULL)
        return 2;
    rc = ctl_client_connect(cli->path, &c, &err);
    if (rc == 0)
        rc = ctl_client_send(c, req, &err);
    if (rc == 0)
        rc = ctl_client_read(c, CTL_CLIENT_TIMEOUT_MS, &reply, &err);
    if (rc < 0)
        fprintf(cli->errout, "error: %s\n", err.msg);
    else if (cmd->print == NULL)
        status = watch(cli, c, reply);
    else
        status = show(cli, cmd, args, reply);
    cJSON_Delete(reply);
    cJSON_Delete(req);
    ctl_client_free(c);
    return status;
}

int lrc_cli_run(const char *ctl_path, int json, int argc, char **argv, FILE *out, FILE *errout)
{
    struct cli cli = {ctl_path, json, out, errout};

    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return run(&cli, &status_cmd, argv + 1);
    if (argc < 2 || strcmp(argv[0], "sim") != 0)
        return usage(errout);
    for (size_t i = 0; i < sizeof(sim_cmds) / sizeof(sim_cmds[0]); i++) {
        const struct cli_cmd *cmd = &sim_cmds[i];

        if (strcmp(argv[1], cmd->word) != 0)
            continue;
        if (argc - 2 != cmd->nargs) {
            fprintf(errout, "usage: lightning-rod-c %s\n", cmd->usage);
            return 2;
        }
        return run(&cli, cmd, argv + 2);
    }
    return usage(errout);
}

int lrc_cli_sim(int argc, char **argv)
{
    const char *path = LRC_DEFAULT_CONTROL_SOCKET;
    int json = 0, i = 0;

    while (i < argc && strncmp(argv[i], "--", 2) == 0) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            i++;
        } else if (strcmp(argv[i], "--control-socket") == 0 && i + 1 < argc) {
            path = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--control-socket=", 17) == 0) {
            path = argv[i] + 17;
            i++;
        } else {
            return usage(stderr);
        }
    }
    return lrc_cli_run(path, json, argc - i, argv + i, stdout, stderr);
}

/* Unit tests for src/ctl (the control socket), src/ctl_sim (the sim_* ops)
 * and src/ctl_client (the blocking client and the `sim`/`status` CLI), over
 * real Unix sockets on a real loop with the simulated HAL. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/timeutil.h"
#include "hal/gpio.h"
#include "hal/hal.h"
#include "hal/sim.h"
#include "src/ctl.h"
#include "src/ctl_client.h"
#include "src/ctl_sim.h"

struct fixture {
    char dir[64];
    char path[128];
    struct loop *loop;
    struct hal *hal;
    struct ctl *ctl;
    ev_timer later; /* the async op's reply */
    struct ctl_req *later_req;
    ev_async stop; /* ends the loop thread */
};

struct client {
    int fd;
    char buf[1 << 17];
    size_t len;
};

/* op "echo": replies at once with the request's "say". */
static void op_echo(struct ctl_req *req, const cJSON *msg, void *arg)
{
    const cJSON *say = cJSON_GetObjectItemCaseSensitive(msg, "say");
    cJSON *r = cJSON_CreateObject();

    (void)arg;
    cJSON_AddItemToObject(r, "said", json_dup_or_object(say));
    ctl_reply(req, r);
}

static void on_later(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct fixture *f = t->data;
    cJSON *r = cJSON_CreateObject();

    (void)ev;
    (void)revents;
    cJSON_AddStringToObject(r, "state", "online");
    ctl_reply(f->later_req, r);
    f->later_req = NULL;
}

/* op "status": replies 20 ms later, as an op that waits for something. */
static void op_slow_status(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct fixture *f = arg;

    (void)msg;
    f->later_req = req;
    ev_timer_init(&f->later, on_later, 0.02, 0.);
    f->later.data = f;
    ev_timer_start(loop_ev(f->loop), &f->later);
}

static void op_fail(struct ctl_req *req, const cJSON *msg, void *arg)
{
    (void)msg;
    (void)arg;
    ctl_reply_error(req, "It failed: %d.", 42);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct loop_opts lo = {"test", 0, 0, 0};
    struct hal_config conf;
    struct error err;

    snprintf(f->dir, sizeof(f->dir), "/tmp/ctl-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/control.sock", f->dir);
    assert_int_equal(loop_new(&lo, &f->loop, &err), 0);
    hal_config_defaults(&conf);
    conf.backend = HAL_BACKEND_SIM;
    free(conf.sim_chips);
    conf.sim_chips = strdup("sim0:8 sim1:4");
    assert_int_equal(hal_new(loop_ev(f->loop), &conf, &f->hal, &err), 0);
    hal_config_clear(&conf);
    assert_int_equal(ctl_new(f->loop, f->path, &f->ctl, &err), 0);
    assert_int_equal(ctl_sim_register(f->ctl, f->hal), 0);
    assert_int_equal(ctl_register(f->ctl, "echo", op_echo, f), 0);
    assert_int_equal(ctl_register(f->ctl, "status", op_slow_status, f), 0);
    assert_int_equal(ctl_register(f->ctl, "fail", op_fail, f), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ctl_free(f->ctl);
    if (f->later_req != NULL) {
        ev_timer_stop(loop_ev(f->loop), &f->later);
        ctl_reply(f->later_req, NULL); /* orphaned: dropped */
    }
    hal_free(f->hal);
    loop_free(f->loop);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void spin(struct fixture *f)
{
    ev_run(loop_ev(f->loop), EVRUN_NOWAIT);
}

static struct client *client_new(struct fixture *f)
{
    struct client *c = calloc(1, sizeof(*c));
    struct sockaddr_un sa;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", f->path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    spin(f);
    return c;
}

static void client_free(struct client *c)
{
    close(c->fd);
    free(c);
}

static void client_send(struct client *c, const char *s)
{
    size_t n = strlen(s), off = 0;

    while (off < n) {
        ssize_t k = write(c->fd, s + off, n - off);

        assert_true(k > 0);
        off += (size_t)k;
    }
}

static char *client_line(struct fixture *f, struct client *c)
{
    int64_t deadline = time_mono_ms() + 3000;

    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        struct pollfd p = {c->fd, POLLIN, 0};
        ssize_t n;

        if (nl != NULL) {
            size_t k = (size_t)(nl - c->buf);
            char *line = strndup(c->buf, k);

            memmove(c->buf, nl + 1, c->len - k - 1);
            c->len -= k + 1;
            return line;
        }
        if (time_mono_ms() > deadline)
            return NULL;
        spin(f);
        if (poll(&p, 1, 5) <= 0)
            continue;
        n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n <= 0)
            return NULL;
        c->len += (size_t)n;
    }
}

static void assert_reply(struct fixture *f, struct client *c, const char *req, const char *want)
{
    char *got;

    client_send(c, req);
    got = client_line(f, c);
    if (got == NULL)
        fail_msg("no reply to %s", req);
    if (strcmp(got, want) != 0)
        fail_msg("%s\n got:  %s\n want: %s", req, got, want);
    free(got);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_errors_keep_the_connection(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);

    assert_reply(f, c, "nonsense\n",
                 "{\"ok\":false,\"error\":\"The request is not valid JSON: "
                 "invalid JSON at byte 0.\"}");
    assert_reply(f, c, "[]\n", "{\"ok\":false,\"error\":\"The request must be a JSON object.\"}");
    assert_reply(f, c, "{}\n", "{\"ok\":false,\"error\":\"The request has no op.\"}");
    assert_reply(f, c, "{\"op\":7}\n", "{\"ok\":false,\"error\":\"The request has no op.\"}");
    assert_reply(f, c, "{\"op\":\"reboot\"}\n", "{\"ok\":false,\"error\":\"Unknown op reboot.\"}");
    assert_reply(f, c, "{\"op\":\"fail\"}\n", "{\"ok\":false,\"error\":\"It failed: 42.\"}");
    assert_reply(f, c, "{\"op\":\"echo\",\"say\":[1,\"x\"]}\n", "{\"ok\":true,\"said\":[1,\"x\"]}");
    client_free(c);
}

static void test_register_rules(void **state)
{
    struct fixture *f = *state;
    char longname[CTL_OP_MAX + 2];

    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(ctl_register(f->ctl, "echo", op_echo, f), -EEXIST);
    assert_int_equal(ctl_register(f->ctl, "", op_echo, f), -EINVAL);
    assert_int_equal(ctl_register(f->ctl, longname, op_echo, f), -EINVAL);
}

static void test_late_replies_keep_order(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);
    char *r;

    client_send(c, "{\"op\":\"status\"}\n{\"op\":\"echo\",\"say\":2}\n");
    r = client_line(f, c);
    assert_string_equal(r, "{\"ok\":true,\"state\":\"online\"}");
    free(r);
    r = client_line(f, c);
    assert_string_equal(r, "{\"ok\":true,\"said\":2}");
    free(r);
    client_free(c);
}

static void test_client_gone_before_late_reply(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);

    client_send(c, "{\"op\":\"status\"}\n");
    spin(f);
    client_free(c);
    for (int i = 0; i < 10; i++)
        spin(f);
    /* The timer's reply then goes nowhere, without harm. */
    usleep(30000);
    for (int i = 0; i < 10 && f->later_req != NULL; i++) {
        spin(f);
        usleep(5000);
    }
    assert_null(f->later_req);
}

static void test_sim_ops(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);
    struct error err;

    assert_reply(f, c, "{\"op\":\"sim_set_sensor\",\"name\":\"lux0\",\"value\":8.5}\n",
                 "{\"ok\":true,\"name\":\"lux0\",\"value\":8.5,\"unit\":\"lx\"}");
    assert_reply(f, c, "{\"op\":\"sim_set_sensor\",\"name\":\"lux9\",\"value\":1}\n",
                 "{\"ok\":false,\"error\":\"No such device: sensor:lux9.\"}");
    assert_reply(f, c, "{\"op\":\"sim_set_sensor\",\"name\":\"lux0\",\"value\":\"dark\"}\n",
                 "{\"ok\":false,\"error\":\"value must be a number\"}");
    assert_reply(f, c, "{\"op\":\"sim_set_sensor\",\"value\":1}\n",
                 "{\"ok\":false,\"error\":\"missing name\"}");

    assert_reply(f, c, "{\"op\":\"sim_set_line\",\"chip\":\"sim0\",\"line\":2,\"value\":1}\n",
                 "{\"ok\":true,\"chip\":\"sim0\",\"line\":2,\"value\":1,\"previous\":0,"
                 "\"edge\":\"rising\",\"events\":0}");
    assert_reply(f, c, "{\"op\":\"sim_set_line\",\"chip\":\"sim0\",\"line\":2,\"value\":true}\n",
                 "{\"ok\":true,\"chip\":\"sim0\",\"line\":2,\"value\":1,\"previous\":1,"
                 "\"edge\":null,\"events\":0}");
    assert_reply(f, c, "{\"op\":\"sim_set_line\",\"chip\":\"sim0\",\"line\":8,\"value\":1}\n",
                 "{\"ok\":false,\"error\":\"No such device: gpio:sim0:8.\"}");
    assert_reply(f, c, "{\"op\":\"sim_set_line\",\"chip\":\"sim0\",\"line\":2,\"value\":5}\n",
                 "{\"ok\":false,\"error\":\"value must be 0, 1, true or false\"}");
    assert_reply(f, c, "{\"op\":\"sim_get_line\",\"chip\":\"sim0\",\"line\":2}\n",
                 "{\"ok\":true,\"value\":1,\"direction\":\"input\",\"writes\":0}");
    assert_int_equal(hal_gpio_write(f->hal, "sim0", 5, 1, NULL, &err), 0);
    assert_int_equal(hal_gpio_write(f->hal, "sim0", 5, 1, NULL, &err), 0);
    assert_reply(f, c, "{\"op\":\"sim_get_line\",\"chip\":\"sim0\",\"line\":5}\n",
                 "{\"ok\":true,\"value\":1,\"direction\":\"output\",\"writes\":2}");
    assert_reply(f, c, "{\"op\":\"sim_set_line\",\"chip\":\"sim0\",\"line\":5,\"value\":0}\n",
                 "{\"ok\":false,\"error\":\"Line sim0:5 is an output: the board drives it.\"}");
    client_free(c);
}

struct edges {
    int n;
};

static void count_edge(void *arg, const struct hal_gpio_event *ev)
{
    (void)ev;
    ((struct edges *)arg)->n++;
}

static void test_set_line_reports_the_events_it_causes(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);
    struct hal_gpio_watch *w1, *w2;
    struct edges e = {0};
    struct error err;

    assert_int_equal(
        hal_gpio_watch(f->hal, "sim1", 0, HAL_GPIO_EDGE_RISING, 0, count_edge, &e, &w1, &err), 0);
    assert_int_equal(
        hal_gpio_watch(f->hal, "sim1", 0, HAL_GPIO_EDGE_BOTH, 0, count_edge, &e, &w2, &err), 0);
    assert_reply(f, c, "{\"op\":\"sim_set_line\",\"chip\":\"sim1\",\"line\":0,\"value\":1}\n",
                 "{\"ok\":true,\"chip\":\"sim1\",\"line\":0,\"value\":1,\"previous\":0,"
                 "\"edge\":\"rising\",\"events\":2}");
    assert_reply(f, c, "{\"op\":\"sim_set_line\",\"chip\":\"sim1\",\"line\":0,\"value\":0}\n",
                 "{\"ok\":true,\"chip\":\"sim1\",\"line\":0,\"value\":0,\"previous\":1,"
                 "\"edge\":\"falling\",\"events\":1}");
    for (int i = 0; i < 20 && e.n < 3; i++)
        spin(f);
    assert_int_equal(e.n, 3);
    hal_gpio_watch_free(w1);
    hal_gpio_watch_free(w2);
    client_free(c);
}

static void test_watch_streams_writes_until_the_client_leaves(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f), *other = client_new(f);
    struct error err;
    char *r;

    assert_reply(f, c, "{\"op\":\"sim_watch\"}\n", "{\"ok\":true,\"watching\":\"writes\"}");
    assert_int_equal(hal_gpio_write(f->hal, "sim1", 3, 1, NULL, &err), 0);
    assert_int_equal(hal_gpio_write(f->hal, "sim0", 7, 0, NULL, &err), 0);
    r = client_line(f, c);
    assert_non_null(r);
    assert_true(
        starts_with(r, "{\"event\":\"write\",\"chip\":\"sim1\",\"line\":3,\"value\":1,\"ts\":\""));
    assert_non_null(strstr(r, "Z\",\"writes\":1}"));
    free(r);
    r = client_line(f, c);
    assert_true(starts_with(r, "{\"event\":\"write\",\"chip\":\"sim0\",\"line\":7,\"value\":0,"));
    free(r);
    /* Lines sent on a stream are ignored; other connections still work. */
    client_send(c, "{\"op\":\"echo\",\"say\":1}\n");
    assert_reply(f, other, "{\"op\":\"echo\",\"say\":3}\n", "{\"ok\":true,\"said\":3}");
    client_free(c);
    for (int i = 0; i < 10; i++)
        spin(f);
    /* Unsubscribed: writes go on without a listener (ASan checks the rest). */
    assert_int_equal(hal_gpio_write(f->hal, "sim1", 3, 0, NULL, &err), 0);
    client_free(other);
}

static void test_overlong_line_is_answered_then_closed(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);
    char *big = malloc(CTL_MAX_LINE + 10);
    char *r;

    memset(big, ' ', CTL_MAX_LINE + 8);
    big[CTL_MAX_LINE + 8] = '\n';
    big[CTL_MAX_LINE + 9] = '\0';
    client_send(c, big);
    r = client_line(f, c);
    assert_string_equal(r, "{\"ok\":false,\"error\":\"Request line longer than 65536 bytes.\"}");
    free(r);
    assert_null(client_line(f, c));
    client_free(c);
    free(big);
}

static void test_socket_is_private(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    assert_int_equal(stat(f->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_live_socket_is_not_replaced_but_a_stale_one_is(void **state)
{
    struct fixture *f = *state;
    struct ctl *second = (struct ctl *)1;
    struct sockaddr_un sa;
    char stale[128], file[128];
    struct error err;
    int fd;

    assert_int_equal(ctl_new(f->loop, f->path, &second, &err), -EADDRINUSE);
    assert_null(second);
    assert_non_null(strstr(err.msg, "another process is listening there"));
    spin(f); /* the probe connection comes and goes */
    /* A node left by a dead process: bound, nobody listening. */
    snprintf(stale, sizeof(stale), "%s/stale.sock", f->dir);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", stale);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    assert_int_equal(ctl_new(f->loop, stale, &second, &err), 0);
    ctl_free(second);
    /* Any other file is never removed. */
    snprintf(file, sizeof(file), "%s/file.sock", f->dir);
    fclose(fopen(file, "w"));
    assert_int_equal(ctl_new(f->loop, file, &second, &err), -EEXIST);
    assert_int_equal(unlink(file), 0);
}

/* ---- the blocking client and the CLI, against the loop in a thread ---- */

static void on_stop(struct ev_loop *ev, ev_async *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(ev, EVBREAK_ALL);
}

static void *loop_thread(void *arg)
{
    struct fixture *f = arg;

    ev_run(loop_ev(f->loop), 0);
    return NULL;
}

struct cli_result {
    int status;
    char *out, *err;
};

static struct cli_result cli(struct fixture *f, const char *path, int json, int argc,
                             const char **argv)
{
    struct cli_result r;
    size_t n1, n2;
    FILE *out = open_memstream(&r.out, &n1), *err = open_memstream(&r.err, &n2);

    r.status = lrc_cli_run(path ? path : f->path, json, argc, (char **)argv, out, err);
    fclose(out);
    fclose(err);
    return r;
}

static void expect_cli(struct fixture *f, int argc, const char **argv, int status, const char *out,
                       const char *err)
{
    struct cli_result r = cli(f, NULL, 0, argc, argv);

    if (r.status != status || strcmp(r.out, out) != 0 || strcmp(r.err, err) != 0)
        fail_msg("%s %s: status %d out '%s' err '%s'", argv[0], argc > 1 ? argv[1] : "", r.status,
                 r.out, r.err);
    free(r.out);
    free(r.err);
}

static void test_cli_commands(void **state)
{
    struct fixture *f = *state;
    const char *set_sensor[] = {"sim", "set-sensor", "temp0", "25"};
    const char *bad_sensor[] = {"sim", "set-sensor", "temp7", "25"};
    const char *nan_sensor[] = {"sim", "set-sensor", "temp0", "warm"};
    const char *set_line[] = {"sim", "set-line", "sim0", "4", "1"};
    const char *same_line[] = {"sim", "set-line", "sim0", "4", "1"};
    const char *bad_level[] = {"sim", "set-line", "sim0", "4", "2"};
    const char *bad_line[] = {"sim", "set-line", "sim0", "-4", "1"};
    const char *get_line[] = {"sim", "get-line", "sim0", "4"};
    const char *status[] = {"status"};
    const char *few[] = {"sim", "get-line", "sim0"};
    const char *what[] = {"sim", "fly"};
    pthread_t th;
    struct cli_result r;

    ev_async_init(&f->stop, on_stop);
    ev_async_start(loop_ev(f->loop), &f->stop);
    assert_int_equal(pthread_create(&th, NULL, loop_thread, f), 0);

    expect_cli(f, 4, set_sensor, 0, "temp0 = 25 C\n", "");
    expect_cli(f, 4, bad_sensor, 1, "", "error: No such device: sensor:temp7.\n");
    expect_cli(f, 4, nan_sensor, 2, "", "error: 'warm' is not a number\n");
    expect_cli(f, 5, set_line, 0, "sim0:4 = 1 (rising edge, 0 events)\n", "");
    expect_cli(f, 5, same_line, 0, "sim0:4 = 1 (no change)\n", "");
    expect_cli(f, 5, bad_level, 2, "", "error: the value must be 0 or 1, not '2'\n");
    expect_cli(f, 5, bad_line, 2, "", "error: '-4' is not a line offset (0 to 65535)\n");
    expect_cli(f, 4, get_line, 0, "sim0:4 value=1 direction=input writes=0\n", "");
    expect_cli(f, 1, status, 0, "state: online\n", "");
    expect_cli(f, 3, few, 2, "", "usage: lightning-rod-c sim get-line <chip> <line>\n");
    r = cli(f, NULL, 0, 2, what);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "usage: lightning-rod-c [--control-socket PATH] [--json]"));
    free(r.out);
    free(r.err);
    r = cli(f, NULL, 1, 4, get_line);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "{\"ok\":true,\"value\":1,\"direction\":\"input\",\"writes\":0}\n");
    free(r.out);
    free(r.err);
    r = cli(f, "/nonexistent/control.sock", 0, 1, status);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "error: cannot connect to /nonexistent/control.sock: No such "
                               "file or directory (is the agent running?)\n");
    free(r.out);
    free(r.err);

    ev_async_send(loop_ev(f->loop), &f->stop);
    pthread_join(th, NULL);
    ev_async_stop(loop_ev(f->loop), &f->stop);
}

static void test_client_call_and_timeout(void **state)
{
    struct fixture *f = *state;
    cJSON *req = cJSON_CreateObject(), *reply = NULL;
    struct ctl_client *c = NULL;
    struct error err;

    /* Nobody runs the loop: the request is accepted by the kernel but never
     * answered, so the client times out. */
    cJSON_AddStringToObject(req, "op", "echo");
    assert_int_equal(ctl_client_call(f->path, req, 50, &reply, &err), -ETIMEDOUT);
    assert_null(reply);
    assert_string_equal(err.msg, "the agent did not answer in time");
    assert_int_equal(ctl_client_connect("/tmp/no/such/dir/x.sock", &c, &err), -ENOENT);
    assert_null(c);
    cJSON_Delete(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_errors_keep_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_replies_keep_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_before_late_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_line_reports_the_events_it_causes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_watch_streams_writes_until_the_client_leaves, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_overlong_line_is_answered_then_closed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_socket_is_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_socket_is_not_replaced_but_a_stale_one_is, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_call_and_timeout, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for src/iosock: the IO socket protocol of deviceless-api.md
 * 3.4.4 over a real Unix socket on a real loop, with the simulated HAL:
 * every op, every error code, framing limits, the connection limit, the
 * rate limit, ordering, and the socket's life. */
#include <errno.h>
#include <poll.h>
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
#include "src/iosock.h"

struct client {
    int fd;
    char buf[16384];
    size_t len;
};

struct fixture {
    char dir[64];
    struct loop *loop;
    struct hal *hal;
    struct iosock *io;
};

static const char *const specs[] = {"gpio:sim0:3:out", "gpio:sim0:4:in", "gpio:sim0:5:out",
                                    "sensor:temp0"};

static struct iosock *make_io(struct fixture *f, int64_t rate)
{
    struct iosock_opts o = {rate};
    struct iosock *io = NULL;
    struct error err;

    if (iosock_new(f->loop, f->hal, f->dir, (uid_t)-1, (gid_t)-1, specs, 4, &o, &io, &err) != 0)
        fail_msg("iosock_new: %s", err.msg);
    return io;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct loop_opts lo = {"test", 0, 0, 0};
    struct hal_config conf;
    struct error err;

    snprintf(f->dir, sizeof(f->dir), "/tmp/iosock-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(loop_new(&lo, &f->loop, &err), 0);
    hal_config_defaults(&conf);
    conf.backend = HAL_BACKEND_SIM;
    assert_int_equal(hal_new(loop_ev(f->loop), &conf, &f->hal, &err), 0);
    hal_config_clear(&conf);
    f->io = make_io(f, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char path[128];

    iosock_free(f->io);
    hal_free(f->hal);
    loop_free(f->loop);
    snprintf(path, sizeof(path), "%s/io.sock", f->dir);
    unlink(path);
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
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", iosock_path(f->io));
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    spin(f); /* accept */
    return c;
}

static void client_free(struct client *c)
{
    close(c->fd);
    free(c);
}

static void client_send(struct client *c, const char *s)
{
    size_t n = strlen(s);

    assert_int_equal(write(c->fd, s, n), (ssize_t)n);
}

/* Pumps the loop until the client has a whole line (returned, to free()),
 * or EOF / 3 s (NULL). */
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

/* 1 when the server closed the connection (after any pending lines). */
static int client_eof(struct fixture *f, struct client *c)
{
    char *line = client_line(f, c);

    if (line != NULL) {
        free(line);
        return 0;
    }
    return 1;
}

/* Sends one request line and returns the reply line. */
static char *call(struct fixture *f, struct client *c, const char *req)
{
    client_send(c, req);
    return client_line(f, c);
}

static void assert_reply(struct fixture *f, struct client *c, const char *req, const char *want)
{
    char *got = call(f, c, req);

    if (got == NULL)
        fail_msg("no reply to %s", req);
    if (strcmp(got, want) != 0)
        fail_msg("%s\n got:  %s\n want: %s", req, got, want);
    free(got);
}

/* Checks that reply starts with prefix and ends with a µs Z timestamp;
 * returns the timestamp. */
static int64_t assert_ts_reply(const char *reply, const char *prefix)
{
    const char *ts;
    int64_t t;

    if (reply == NULL || strncmp(reply, prefix, strlen(prefix)) != 0)
        fail_msg("reply %s does not start with %s", reply ? reply : "(none)", prefix);
    ts = strstr(reply, "\"ts\":\"");
    assert_non_null(ts);
    ts += 6;
    assert_int_equal(strlen(ts), 29); /* 2026-11-23T18:02:11.204518Z"} */
    assert_int_equal(ts[26], 'Z');
    {
        char buf[28];

        memcpy(buf, ts, 27);
        buf[27] = '\0';
        assert_int_equal(time_parse(buf, &t), 0);
    }
    assert_true(llabs(time_now_us() - t) < 5000000);
    return t;
}

static void test_devices_lists_declared_specs(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);

    assert_reply(f, c, "{\"id\": 1, \"op\": \"devices\"}\n",
                 "{\"id\":1,\"ok\":true,\"devices\":[\"gpio:sim0:3:out\",\"gpio:sim0:4:in\","
                 "\"gpio:sim0:5:out\",\"sensor:temp0\"]}");
    /* Any scalar id is echoed; none echoes null. */
    assert_reply(f, c, "{\"id\": \"a-b\", \"op\": \"devices\"}\n",
                 "{\"id\":\"a-b\",\"ok\":true,\"devices\":[\"gpio:sim0:3:out\",\"gpio:sim0:4:in\","
                 "\"gpio:sim0:5:out\",\"sensor:temp0\"]}");
    assert_reply(f, c, "{\"op\": \"devices\", \"id\": null}\n",
                 "{\"id\":null,\"ok\":true,\"devices\":[\"gpio:sim0:3:out\",\"gpio:sim0:4:in\","
                 "\"gpio:sim0:5:out\",\"sensor:temp0\"]}");
    assert_reply(f, c, "{\"op\": \"devices\", \"id\": false}\n",
                 "{\"id\":false,\"ok\":true,\"devices\":[\"gpio:sim0:3:out\",\"gpio:sim0:4:in\","
                 "\"gpio:sim0:5:out\",\"sensor:temp0\"]}");
    client_free(c);
}

static void test_gpio_write_drives_the_line_and_records_first_write(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);
    struct hal_sim_line sl;
    struct error err;
    int64_t t1, t2;
    char *r;

    assert_int_equal(iosock_first_write_at(f->io), 0);
    r = call(f, c,
             "{\"id\": 7, \"op\": \"gpio_write\", \"chip\": \"sim0\", \"line\": 3, "
             "\"value\": 1}\n");
    t1 = assert_ts_reply(r, "{\"id\":7,\"ok\":true,\"ts\":\"");
    free(r);
    assert_int_equal(iosock_first_write_at(f->io), t1);
    assert_int_equal(hal_sim_get_line(f->hal, "sim0", 3, &sl, &err), 0);
    assert_int_equal(sl.value, 1);
    assert_int_equal(sl.state, HAL_GPIO_OUTPUT);
    r = call(f, c,
             "{\"id\": 8, \"op\": \"gpio_write\", \"chip\": \"sim0\", \"line\": 3, "
             "\"value\": false}\n");
    t2 = assert_ts_reply(r, "{\"id\":8,\"ok\":true,\"ts\":\"");
    free(r);
    assert_true(t2 >= t1);
    assert_int_equal(iosock_first_write_at(f->io), t1); /* the first stays */
    /* An out line reads back. */
    r = call(f, c, "{\"id\": 9, \"op\": \"gpio_read\", \"chip\": \"sim0\", \"line\": 3}\n");
    assert_ts_reply(r, "{\"id\":9,\"ok\":true,\"value\":0,\"ts\":\"");
    free(r);
    client_free(c);
    /* The output persists after the socket is gone (the actuator stays). */
    iosock_free(f->io);
    f->io = NULL;
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 3), HAL_GPIO_OUTPUT);
}

static void test_gpio_read_of_declared_input(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);
    struct error err;
    char *r;

    /* Declared `in` lines are held while the socket lives. */
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 4), HAL_GPIO_INPUT);
    assert_int_equal(hal_sim_set_line(f->hal, "sim0", 4, 1, NULL, &err), 0);
    r = call(f, c, "{\"id\": 1, \"op\": \"gpio_read\", \"chip\": \"sim0\", \"line\": 4}\n");
    assert_ts_reply(r, "{\"id\":1,\"ok\":true,\"value\":1,\"ts\":\"");
    free(r);
    client_free(c);
    iosock_free(f->io);
    f->io = NULL;
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 4), HAL_GPIO_FREE);
}

static void test_sensor_read(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);
    struct error err;
    char *r;

    assert_int_equal(hal_sim_set_sensor(f->hal, "temp0", 25.25, NULL, &err), 0);
    r = call(f, c, "{\"id\": 3, \"op\": \"sensor_read\", \"name\": \"temp0\"}\n");
    assert_ts_reply(r, "{\"id\":3,\"ok\":true,\"value\":25.25,\"unit\":\"C\",\"ts\":\"");
    free(r);
    client_free(c);
}

static void test_denied(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);

    assert_reply(f, c,
                 "{\"id\": 1, \"op\": \"gpio_write\", \"chip\": \"sim0\", \"line\": 4, "
                 "\"value\": 1}\n",
                 "{\"id\":1,\"ok\":false,\"error\":\"denied\",\"message\":\"gpio:sim0:4 is "
                 "declared in, not out.\"}");
    assert_reply(f, c, "{\"id\": 2, \"op\": \"gpio_read\", \"chip\": \"sim0\", \"line\": 6}\n",
                 "{\"id\":2,\"ok\":false,\"error\":\"denied\",\"message\":\"gpio:sim0:6 is not "
                 "declared.\"}");
    assert_reply(f, c,
                 "{\"id\": 3, \"op\": \"gpio_write\", \"chip\": \"sim1\", \"line\": 3, "
                 "\"value\": 0}\n",
                 "{\"id\":3,\"ok\":false,\"error\":\"denied\",\"message\":\"gpio:sim1:3 is not "
                 "declared.\"}");
    assert_reply(f, c, "{\"id\": 4, \"op\": \"sensor_read\", \"name\": \"lux0\"}\n",
                 "{\"id\":4,\"ok\":false,\"error\":\"denied\",\"message\":\"sensor:lux0 is not "
                 "declared.\"}");
    /* denied keeps the connection. */
    assert_reply(f, c, "{\"id\": 5, \"op\": \"devices\"}\n",
                 "{\"id\":5,\"ok\":true,\"devices\":[\"gpio:sim0:3:out\",\"gpio:sim0:4:in\","
                 "\"gpio:sim0:5:out\",\"sensor:temp0\"]}");
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 6), HAL_GPIO_FREE);
    client_free(c);
}

static void test_unknown_op_keeps_the_connection(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);

    assert_reply(f, c, "{\"id\": 1, \"op\": \"pwm_write\"}\n",
                 "{\"id\":1,\"ok\":false,\"error\":\"unknown_op\",\"message\":\"Unknown op "
                 "pwm_write.\"}");
    assert_reply(f, c, "{\"id\": 2, \"op\": \"devices\"}\n",
                 "{\"id\":2,\"ok\":true,\"devices\":[\"gpio:sim0:3:out\",\"gpio:sim0:4:in\","
                 "\"gpio:sim0:5:out\",\"sensor:temp0\"]}");
    client_free(c);
}

/* Each bad request answers bad_request and closes the connection. */
static void test_bad_requests_close_the_connection(void **state)
{
    static const struct {
        const char *req, *reply;
    } cases[] = {
        {"not json\n", "{\"id\":null,\"ok\":false,\"error\":\"bad_request\",\"message\":\"The "
                       "request is not valid JSON: invalid JSON at byte 0.\"}"},
        {"{\"id\": 1, \"op\": \"devices\"} x\n",
         "{\"id\":null,\"ok\":false,\"error\":\"bad_request\",\"message\":\"The request is not "
         "valid JSON: trailing data after JSON at byte 27.\"}"},
        {"\n", "{\"id\":null,\"ok\":false,\"error\":\"bad_request\",\"message\":\"The request is "
               "not valid JSON: empty JSON text.\"}"},
        {"[1,2]\n", "{\"id\":null,\"ok\":false,\"error\":\"bad_request\",\"message\":\"The "
                    "request must be a JSON object.\"}"},
        {"{\"id\": [1], \"op\": \"devices\"}\n",
         "{\"id\":null,\"ok\":false,\"error\":\"bad_request\",\"message\":\"id must be a JSON "
         "scalar.\"}"},
        {"{\"id\": 4}\n", "{\"id\":4,\"ok\":false,\"error\":\"bad_request\",\"message\":"
                          "\"missing op\"}"},
        {"{\"id\": 4, \"op\": 3}\n", "{\"id\":4,\"ok\":false,\"error\":\"bad_request\","
                                     "\"message\":\"op must be a string\"}"},
        {"{\"id\": 5, \"op\": \"gpio_read\", \"line\": 3}\n",
         "{\"id\":5,\"ok\":false,\"error\":\"bad_request\",\"message\":\"missing chip\"}"},
        {"{\"id\": 5, \"op\": \"gpio_read\", \"chip\": \"sim0\"}\n",
         "{\"id\":5,\"ok\":false,\"error\":\"bad_request\",\"message\":\"missing line\"}"},
        {"{\"id\": 5, \"op\": \"gpio_read\", \"chip\": \"sim0\", \"line\": 3.5}\n",
         "{\"id\":5,\"ok\":false,\"error\":\"bad_request\",\"message\":\"line must be an "
         "integer between 0 and 65535\"}"},
        {"{\"id\": 5, \"op\": \"gpio_read\", \"chip\": \"../x\", \"line\": 3}\n",
         "{\"id\":5,\"ok\":false,\"error\":\"bad_request\",\"message\":\"chip must be 1 to 32 "
         "characters from A-Z a-z 0-9 _ -\"}"},
        {"{\"id\": 6, \"op\": \"gpio_write\", \"chip\": \"sim0\", \"line\": 3, \"value\": 2}\n",
         "{\"id\":6,\"ok\":false,\"error\":\"bad_request\",\"message\":\"value must be 0, 1, "
         "true or false\"}"},
        {"{\"id\": 6, \"op\": \"gpio_write\", \"chip\": \"sim0\", \"line\": 3}\n",
         "{\"id\":6,\"ok\":false,\"error\":\"bad_request\",\"message\":\"missing value\"}"},
        {"{\"id\": 7, \"op\": \"sensor_read\"}\n",
         "{\"id\":7,\"ok\":false,\"error\":\"bad_request\",\"message\":\"missing name\"}"},
        {"{\"id\": \"\xff\", \"op\": \"devices\"}\n",
         "{\"id\":null,\"ok\":false,\"error\":\"bad_request\",\"message\":\"The request is not "
         "valid UTF-8.\"}"},
    };
    struct fixture *f = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct client *c = client_new(f);

        assert_reply(f, c, cases[i].req, cases[i].reply);
        if (!client_eof(f, c))
            fail_msg("connection still open after %s", cases[i].req);
        client_free(c);
    }
    spin(f);
    assert_int_equal(iosock_connections(f->io), 0);
}

static void test_nul_byte_is_a_bad_request(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);
    static const char req[] = "{\"op\": \"dev\0ices\"}\n";
    char *r;

    assert_int_equal(write(c->fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
    r = client_line(f, c);
    assert_string_equal(r, "{\"id\":null,\"ok\":false,\"error\":\"bad_request\",\"message\":"
                           "\"The request is not valid UTF-8.\"}");
    free(r);
    assert_true(client_eof(f, c));
    client_free(c);
}

/* 4096 bytes before the '\n' pass; 4097 are a bad_request. */
static void test_line_limit(void **state)
{
    struct fixture *f = *state;
    static const char head[] = "{\"id\": 1, \"op\": \"devices\"";
    char *line = malloc(4200);
    struct client *c = client_new(f);
    char *r;

    memcpy(line, head, sizeof(head) - 1);
    memset(line + sizeof(head) - 1, ' ', 4096 - sizeof(head));
    line[4095] = '}';
    line[4096] = '\n';
    line[4097] = '\0';
    client_send(c, line);
    r = client_line(f, c);
    assert_non_null(r);
    assert_true(strncmp(r, "{\"id\":1,\"ok\":true,\"devices\"", 27) == 0);
    free(r);
    memmove(line + 1, line, 4097); /* one more space: 4097 bytes */
    line[0] = ' ';
    line[4098] = '\0';
    client_send(c, line);
    assert_reply(f, c, "",
                 "{\"id\":null,\"ok\":false,\"error\":\"bad_request\",\"message\":"
                 "\"Request line longer than 4096 bytes.\"}");
    assert_true(client_eof(f, c));
    client_free(c);
    free(line);
}

static void test_fifth_connection_is_refused(void **state)
{
    struct fixture *f = *state;
    struct client *c[5];
    char *r;

    for (int i = 0; i < 4; i++)
        c[i] = client_new(f);
    assert_int_equal(iosock_connections(f->io), 4);
    c[4] = client_new(f);
    r = client_line(f, c[4]);
    assert_string_equal(r, "{\"id\":null,\"ok\":false,\"error\":\"unavailable\",\"message\":"
                           "\"Too many connections: at most 4 per container.\"}");
    free(r);
    assert_true(client_eof(f, c[4]));
    client_free(c[4]);
    /* The four still work; when one leaves, a new one is welcome. */
    r = call(f, c[3], "{\"id\":1,\"op\":\"gpio_read\",\"chip\":\"sim0\",\"line\":4}\n");
    assert_ts_reply(r, "{\"id\":1,\"ok\":true,\"value\":0,\"ts\":\"");
    free(r);
    client_free(c[0]);
    for (int i = 0; i < 20 && iosock_connections(f->io) > 3; i++) {
        spin(f);
        usleep(1000);
    }
    assert_int_equal(iosock_connections(f->io), 3);
    c[0] = client_new(f);
    assert_reply(f, c[0], "{\"id\":2,\"op\":\"devices\"}\n",
                 "{\"id\":2,\"ok\":true,\"devices\":[\"gpio:sim0:3:out\",\"gpio:sim0:4:in\","
                 "\"gpio:sim0:5:out\",\"sensor:temp0\"]}");
    for (int i = 0; i < 4; i++)
        client_free(c[i]);
}

static void test_rate_limit_is_per_container(void **state)
{
    struct fixture *f = *state;
    struct client *a, *b;
    struct iosock_stats st;
    int ok = 0, limited = 0;
    char *r;

    iosock_free(f->io);
    f->io = make_io(f, 5);
    a = client_new(f);
    b = client_new(f);
    /* Five tokens for both connections together: the sixth is refused. */
    for (int i = 0; i < 6; i++) {
        r = call(f, i % 2 ? a : b, "{\"id\":1,\"op\":\"devices\"}\n");
        assert_non_null(r);
        if (strstr(r, "\"ok\":true") != NULL)
            ok++;
        if (strcmp(r, "{\"id\":1,\"ok\":false,\"error\":\"rate_limited\",\"message\":\"More "
                      "than 5 operations per second.\"}") == 0)
            limited++;
        free(r);
    }
    assert_int_equal(ok, 5);
    assert_int_equal(limited, 1);
    /* The bucket refills: one token per 200 ms. */
    usleep(250000);
    r = call(f, a, "{\"id\":1,\"op\":\"devices\"}\n");
    assert_non_null(strstr(r, "\"ok\":true"));
    free(r);
    iosock_get_stats(f->io, &st);
    assert_int_equal(st.ops, 6);
    assert_int_equal(st.rate_limited, 1);
    assert_int_equal(st.connections, 2);
    client_free(a);
    client_free(b);
}

static void test_backend_failure_is_unavailable(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);
    struct hal_gpio_watch *w;
    struct error err;

    /* Someone else (a trigger, say) holds the declared out line as input. */
    assert_int_equal(hal_gpio_watch(f->hal, "sim0", 5, HAL_GPIO_EDGE_NONE, 0, NULL, NULL, &w, &err),
                     0);
    assert_reply(f, c,
                 "{\"id\": 1, \"op\": \"gpio_write\", \"chip\": \"sim0\", \"line\": 5, "
                 "\"value\": 1}\n",
                 "{\"id\":1,\"ok\":false,\"error\":\"unavailable\",\"message\":\"Line busy: "
                 "sim0:5.\"}");
    hal_gpio_watch_free(w);
    assert_int_equal(iosock_first_write_at(f->io), 0);
    client_free(c);
}

static void test_replies_keep_request_order(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);
    char *r;

    /* The sensor read completes later than the gpio read would: its reply
     * must still come first. */
    client_send(c, "{\"id\":1,\"op\":\"sensor_read\",\"name\":\"temp0\"}\n"
                   "{\"id\":2,\"op\":\"gpio_read\",\"chip\":\"sim0\",\"line\":4}\n"
                   "{\"id\":3,\"op\":\"sensor_read\",\"name\":\"temp0\"}\n"
                   "{\"id\":4,\"op\":\"devices\"}\n");
    for (int id = 1; id <= 4; id++) {
        char prefix[32];

        snprintf(prefix, sizeof(prefix), "{\"id\":%d,\"ok\":true", id);
        r = client_line(f, c);
        assert_non_null(r);
        if (strncmp(r, prefix, strlen(prefix)) != 0)
            fail_msg("reply %d out of order: %s", id, r);
        free(r);
    }
    client_free(c);
}

static void test_half_closed_peer_still_gets_its_replies(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);
    char *r;

    client_send(c, "{\"id\":1,\"op\":\"sensor_read\",\"name\":\"temp0\"}\n"
                   "{\"id\":2,\"op\":\"devices\"}"); /* the last line has no '\n' */
    shutdown(c->fd, SHUT_WR);
    r = client_line(f, c);
    assert_non_null(r);
    assert_true(strncmp(r, "{\"id\":1,\"ok\":true,\"value\":21.5", 30) == 0);
    free(r);
    r = client_line(f, c);
    assert_non_null(r);
    assert_true(strncmp(r, "{\"id\":2,\"ok\":true", 17) == 0);
    free(r);
    assert_true(client_eof(f, c));
    client_free(c);
}

static void test_peer_leaving_during_a_sensor_read(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_new(f);

    client_send(c, "{\"id\":1,\"op\":\"sensor_read\",\"name\":\"temp0\"}\n");
    for (int i = 0; i < 3; i++)
        spin(f);
    client_free(c);
    for (int i = 0; i < 20; i++)
        spin(f);
    assert_int_equal(iosock_connections(f->io), 0);
}

static void test_adopted_socketpair(void **state)
{
    struct fixture *f = *state;
    struct client c;
    struct error err;
    int sv[2];
    char *r;

    memset(&c, 0, sizeof(c));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(iosock_adopt(f->io, sv[0], &err), 0);
    c.fd = sv[1];
    r = call(f, &c, "{\"id\":\"x\",\"op\":\"gpio_read\",\"chip\":\"sim0\",\"line\":4}\n");
    assert_ts_reply(r, "{\"id\":\"x\",\"ok\":true,\"value\":0,\"ts\":\"");
    free(r);
    close(sv[1]);
}

static void test_socket_node(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    assert_int_equal(stat(iosock_path(f->io), &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    iosock_free(f->io);
    f->io = NULL;
    assert_int_equal(stat(f->dir, &st), 0);
    {
        char path[128];

        snprintf(path, sizeof(path), "%s/io.sock", f->dir);
        assert_int_equal(stat(path, &st), -1); /* removed */
    }
}

static void test_new_refuses_bad_declarations(void **state)
{
    static const struct {
        const char *spec, *msg;
        int rc;
    } cases[] = {
        {"gpio:sim0:1:sideways",
         "Invalid device gpio:sim0:1:sideways: the direction must be "
         "in or out.",
         -EINVAL},
        {"gpio:sim0:8:in", "No such device: gpio:sim0:8.", -ENODEV},
        {"gpio:sim7:0:out", "No such device: gpio:sim7:0.", -ENODEV},
        {"sensor:humidity0", "No such device: sensor:humidity0.", -ENODEV},
        {"gpio:sim0:2:in", "Line busy: sim0:2.", -EBUSY}, /* an output now */
    };
    struct fixture *f = *state;
    struct error err;
    char other[80];

    snprintf(other, sizeof(other), "%s/other", f->dir);
    assert_int_equal(mkdir(other, 0700), 0);
    assert_int_equal(hal_gpio_write(f->hal, "sim0", 2, 1, NULL, &err), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *list[2] = {"gpio:sim0:1:in", cases[i].spec};
        struct iosock *io = (struct iosock *)1;

        assert_int_equal(
            iosock_new(f->loop, f->hal, other, (uid_t)-1, (gid_t)-1, list, 2, NULL, &io, &err),
            cases[i].rc);
        assert_null(io);
        assert_string_equal(err.msg, cases[i].msg);
        /* Nothing is left held or listening. */
        assert_int_equal(hal_gpio_state(f->hal, "sim0", 1), HAL_GPIO_FREE);
    }
    {
        char path[128];
        struct stat st;

        snprintf(path, sizeof(path), "%s/io.sock", other);
        assert_int_equal(stat(path, &st), -1);
    }
    rmdir(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_devices_lists_declared_specs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpio_write_drives_the_line_and_records_first_write,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpio_read_of_declared_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sensor_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_op_keeps_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests_close_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_byte_is_a_bad_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifth_connection_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_is_per_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_failure_is_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_keep_request_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_closed_peer_still_gets_its_replies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_peer_leaving_during_a_sensor_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopted_socketpair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_refuses_bad_declarations, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

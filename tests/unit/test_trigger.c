/* Unit tests for src/trigger: the board's trigger engine on the simulated
 * HAL (deviceless-api.md 3.7.3 - 3.7.5): TriggerSet and its refusals,
 * sensor and GPIO firings, the local loop handed to the executor, what
 * triggers.json keeps across restarts, and firing sequence numbers. The
 * hooks record what the agent would send. Real libev loop, real worker pool,
 * real files in a temporary state directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/timeutil.h"
#include "common/wq.h"
#include "hal/gpio.h"
#include "hal/hal.h"
#include "hal/sim.h"
#include "src/trigger.h"

#define BOARD "6f1c2a8e-0b7d-4c1e-9a55-3d2b7e9f0a11"
#define T1 "3f0c0000-0000-4000-8000-000000000001"
#define T2 "3f0c0000-0000-4000-8000-000000000002"
#define T3 "3f0c0000-0000-4000-8000-000000000003"
#define MAX_SEEN 32

struct fixture {
    struct ev_loop *ev;
    ev_async wake;
    struct wq *wq;
    struct hal *hal;
    struct trig_engine *t;
    char dir[64];
    /* what the hooks saw */
    cJSON *events[MAX_SEEN];
    char keys[MAX_SEEN][80];
    int nevents;
    cJSON *payloads[MAX_SEEN];
    int npayloads;
    const char *local_answer; /* "RUNNING" or "ERROR" */
    /* the last TriggerSet answer */
    int answered;
    char kind[16];
    cJSON *reply;
};

static void on_wake(struct ev_loop *ev, ev_async *w, int revents)
{
    struct fixture *f = w->data;

    (void)ev;
    (void)revents;
    wq_drain(f->wq);
}

static void wake_hook(void *arg)
{
    struct fixture *f = arg;

    ev_async_send(f->ev, &f->wake);
}

static void emit_hook(void *arg, cJSON *kwargs, const char *key)
{
    struct fixture *f = arg;

    assert_true(f->nevents < MAX_SEEN);
    snprintf(f->keys[f->nevents], sizeof(f->keys[0]), "%s", key);
    f->events[f->nevents++] = kwargs;
}

static void run_local_hook(void *arg, const cJSON *payload, const char *trigger_id, int64_t seq,
                           trig_reply_fn reply, void *reply_arg)
{
    struct fixture *f = arg;
    cJSON *m = cJSON_CreateObject();

    assert_true(f->npayloads < MAX_SEEN);
    assert_string_equal(trigger_id, T1);
    assert_true(seq >= 1);
    f->payloads[f->npayloads++] = cJSON_Duplicate(payload, 1);
    if (strcmp(f->local_answer, "ERROR") == 0) {
        cJSON_AddStringToObject(m, "code", "busy");
        cJSON_AddStringToObject(m, "message", "All 1 execution slots are in use.");
    } else {
        cJSON_AddStringToObject(m, "state", "started");
    }
    reply(reply_arg, f->local_answer, m);
}

static const char *board_hook(void *arg)
{
    (void)arg;
    return BOARD;
}

static void make_engine(struct fixture *f)
{
    struct trig_deps deps = {.ev = f->ev, .hal = f->hal, .wq = f->wq, .state_dir = f->dir};
    struct trig_hooks hooks = {
        .emit = emit_hook, .run_local = run_local_hook, .board_id = board_hook, .arg = f};
    struct error err;

    assert_int_equal(trig_engine_new(&deps, &hooks, &f->t, &err), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct wq_hooks wh = {.wake = wake_hook, .hook_arg = f};
    struct hal_config conf;
    struct error err;

    f->ev = ev_loop_new(EVFLAG_AUTO);
    ev_async_init(&f->wake, on_wake);
    f->wake.data = f;
    ev_async_start(f->ev, &f->wake);
    f->wq = wq_new(1, 0, &wh);
    hal_config_defaults(&conf);
    conf.backend = HAL_BACKEND_SIM;
    free(conf.sim_chips);
    conf.sim_chips = strdup("sim0:8 slow0:4:poll");
    free(conf.sim_sensors);
    conf.sim_sensors = strdup("lux0:lx:120 temp0:C:21.5");
    assert_int_equal(hal_new(f->ev, &conf, &f->hal, &err), 0);
    hal_config_clear(&conf);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_trigger.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->local_answer = "RUNNING";
    make_engine(f);
    *state = f;
    return 0;
}

static void clear_seen(struct fixture *f)
{
    for (int i = 0; i < f->nevents; i++)
        cJSON_Delete(f->events[i]);
    for (int i = 0; i < f->npayloads; i++)
        cJSON_Delete(f->payloads[i]);
    f->nevents = f->npayloads = 0;
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    trig_engine_free(f->t);
    wq_free(f->wq);
    hal_free(f->hal);
    ev_async_stop(f->ev, &f->wake);
    ev_loop_destroy(f->ev);
    clear_seen(f);
    cJSON_Delete(f->reply);
    rm_dir(f->dir);
    free(f);
    return 0;
}

static void on_deadline(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)revents;
    *(int *)t->data = 1;
    ev_break(ev, EVBREAK_ONE);
}

/* Runs the loop until *count reaches want or 2 s pass. */
static void run_until(struct fixture *f, const int *count, int want)
{
    ev_timer deadline;
    int expired = 0;

    ev_timer_init(&deadline, on_deadline, 2.0, 0.);
    deadline.data = &expired;
    ev_timer_start(f->ev, &deadline);
    while (*count < want && !expired)
        ev_run(f->ev, EVRUN_ONCE);
    ev_timer_stop(f->ev, &deadline);
}

/* Runs the loop for ms milliseconds. */
static void run_for(struct fixture *f, int ms)
{
    int never = 0;
    ev_timer deadline;
    int expired = 0;

    ev_timer_init(&deadline, on_deadline, ms / 1000.0, 0.);
    deadline.data = &expired;
    ev_timer_start(f->ev, &deadline);
    while (!never && !expired)
        ev_run(f->ev, EVRUN_ONCE);
    ev_timer_stop(f->ev, &deadline);
}

static void on_set(void *arg, const char *kind, cJSON *message)
{
    struct fixture *f = arg;

    snprintf(f->kind, sizeof(f->kind), "%s", kind);
    cJSON_Delete(f->reply);
    f->reply = message;
    f->answered++;
}

/* Sends TriggerSet with the given JSON array text and waits for the answer. */
static void trigger_set(struct fixture *f, const char *array)
{
    char *text = NULL;
    cJSON *p = NULL;
    struct error err;
    int want = f->answered + 1;
    size_t n = strlen(array) + 32;

    text = malloc(n);
    snprintf(text, n, "{\"triggers\": %s}", array);
    assert_int_equal(json_parse(text, strlen(text), &p, &err), 0);
    trig_engine_set(f->t, p, on_set, f);
    cJSON_Delete(p);
    free(text);
    run_until(f, &f->answered, want);
    assert_int_equal(f->answered, want);
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    assert_non_null(v);
    return v;
}

static void set_sensor(struct fixture *f, const char *name, double v)
{
    struct error err;

    assert_int_equal(hal_sim_set_sensor(f->hal, name, v, NULL, &err), 0);
}

#define DUSK(id, extra)                                                                            \
    "{\"id\": \"" id "\", \"source\": {\"sensor\": \"lux0\", \"condition\": \"<\","                \
    " \"threshold\": 10, \"hysteresis\": 2, \"sample_interval_ms\": 10" extra "}}"

static void test_sensor_trigger_fires_through_emit(void **state)
{
    struct fixture *f = *state;
    const cJSON *ev;

    trigger_set(f, "[" DUSK(T1, "") "]");
    assert_string_equal(f->kind, "SUCCESS");
    assert_string_equal(cJSON_GetArrayItem(get(f->reply, "installed"), 0)->valuestring, T1);
    run_for(f, 60);
    assert_int_equal(f->nevents, 0); /* 120 lx: day */
    set_sensor(f, "lux0", 8.5);
    run_until(f, &f->nevents, 1);
    assert_int_equal(f->nevents, 1);
    ev = f->events[0];
    assert_string_equal(get(ev, "trigger_id")->valuestring, T1);
    assert_int_equal(get(ev, "firing_seq")->valueint, 1);
    assert_string_equal(f->keys[0], T1 "/1");
    assert_string_equal(get(ev, "source")->valuestring, "sensor:lux0");
    assert_true(get(ev, "value")->valuedouble == 8.5);
    assert_true(get(ev, "previous")->valuedouble == 120);
    assert_string_equal(get(ev, "condition")->valuestring, "<");
    assert_true(get(ev, "threshold")->valuedouble == 10);
    assert_true(cJSON_IsFalse(get(ev, "local")));
    {
        int64_t sampled, fired;

        assert_int_equal(time_parse(get(ev, "sampled_at")->valuestring, &sampled), 0);
        assert_int_equal(time_parse(get(ev, "fired_at")->valuestring, &fired), 0);
        assert_true(fired >= sampled && fired - sampled < 1000000);
    }
    /* Disarmed until 12 lx (hysteresis 2), then it fires again. */
    set_sensor(f, "lux0", 11);
    run_for(f, 50);
    set_sensor(f, "lux0", 9);
    run_for(f, 50);
    assert_int_equal(f->nevents, 1);
    set_sensor(f, "lux0", 12);
    run_for(f, 50);
    set_sensor(f, "lux0", 9);
    run_until(f, &f->nevents, 2);
    assert_int_equal(f->nevents, 2);
    assert_int_equal(get(f->events[1], "firing_seq")->valueint, 2);
}

static void test_refusals_name_the_reason(void **state)
{
    struct fixture *f = *state;
    struct error err;
    const cJSON *refused;
    static const char *const want[] = {
        "Board " BOARD " has no sensor nope.",
        "Board " BOARD " has no GPIO line sim0:99.",
        "Board " BOARD " has no GPIO line gpiochip7:1.",
        "Line busy: sim0:3.",
        "source.sample_interval_ms must be between 10 and 3600000.",
        "Condition < is not valid for a gpio source.",
        "id must be a UUID",
        "Duplicate trigger " T1 ".",
        "Invalid execute template: missing runtime",
    };

    assert_int_equal(hal_gpio_write(f->hal, "sim0", 3, 1, NULL, &err), 0); /* an actuator */
    trigger_set(
        f,
        "[" DUSK(
            T1,
            "") ","
                "{\"id\": \"" T2
                "\", \"source\": {\"sensor\": \"nope\", \"condition\": \"change\"}},"
                "{\"id\": \"" T2
                "\", \"source\": {\"gpio\": \"sim0:99\", \"condition\": \"rising\"}},"
                "{\"id\": \"" T2
                "\", \"source\": {\"gpio\": \"gpiochip7:1\", \"condition\": \"rising\"}},"
                "{\"id\": \"" T2
                "\", \"source\": {\"gpio\": \"sim0:3\", \"condition\": \"rising\"}},"
                "{\"id\": \"" T2 "\", \"source\": {\"sensor\": \"lux0\", \"condition\": \"<\","
                " \"threshold\": 1, \"sample_interval_ms\": 0}},"
                "{\"id\": \"" T2 "\", \"source\": {\"gpio\": \"sim0:1\", \"condition\": \"<\"}},"
                "{\"id\": 7, \"source\": {}}," DUSK(
                    T1, "") ","
                            "{\"id\": \"" T3 "\", \"local\": true, \"execute\": {\"function_id\":"
                            " \"11111111-1111-4111-8111-111111111111\"},"
                            " \"source\": {\"sensor\": \"lux0\", \"condition\": \"change\"}}]");
    assert_string_equal(f->kind, "SUCCESS");
    assert_int_equal(cJSON_GetArraySize(get(f->reply, "installed")), 1);
    refused = get(f->reply, "refused");
    assert_int_equal(cJSON_GetArraySize(refused), sizeof(want) / sizeof(want[0]));
    for (int i = 0; i < cJSON_GetArraySize(refused); i++) {
        const cJSON *r = cJSON_GetArrayItem(refused, i);

        if (strcmp(get(r, "message")->valuestring, want[i]) != 0)
            fail_msg("refusal %d: %s", i, get(r, "message")->valuestring);
    }
    assert_true(cJSON_IsNull(get(cJSON_GetArrayItem(refused, 6), "id")));
    assert_int_equal(trig_engine_count(f->t), 1);
}

static void test_bad_payload_changes_nothing(void **state)
{
    struct fixture *f = *state;
    cJSON *p = cJSON_Parse("{\"triggers\": {}}");

    trigger_set(f, "[" DUSK(T1, "") "]");
    trig_engine_set(f->t, p, on_set, f);
    assert_string_equal(f->kind, "ERROR");
    assert_string_equal(f->reply->valuestring, "Invalid TriggerSet: triggers must be an array.");
    cJSON_Delete(p);
    assert_int_equal(trig_engine_count(f->t), 1);
}

static void test_gpio_edge_fires_with_the_event_time(void **state)
{
    struct fixture *f = *state;
    struct hal_sim_edge edge;
    struct error err;
    int64_t before, sampled;
    const cJSON *ev;

    trigger_set(f, "[{\"id\": \"" T1 "\", \"source\": {\"gpio\": \"sim0:2\","
                   " \"condition\": \"rising\", \"debounce_ms\": 200}}]");
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 2), HAL_GPIO_INPUT);
    run_for(f, 20);
    before = time_now_us();
    assert_int_equal(hal_sim_set_line(f->hal, "sim0", 2, 1, &edge, &err), 0);
    assert_int_equal(edge.events, 1);
    run_until(f, &f->nevents, 1);
    assert_int_equal(f->nevents, 1);
    ev = f->events[0];
    assert_int_equal(get(ev, "value")->valueint, 1);
    assert_int_equal(get(ev, "previous")->valueint, 0);
    assert_string_equal(get(ev, "source")->valuestring, "gpio:sim0:2");
    assert_true(cJSON_IsNull(get(ev, "threshold")));
    assert_int_equal(time_parse(get(ev, "sampled_at")->valuestring, &sampled), 0);
    assert_true(sampled >= before && sampled - before < 100000);
    /* A bounce within the debounce is ignored. */
    assert_int_equal(hal_sim_set_line(f->hal, "sim0", 2, 0, NULL, &err), 0);
    assert_int_equal(hal_sim_set_line(f->hal, "sim0", 2, 1, NULL, &err), 0);
    run_for(f, 50);
    assert_int_equal(f->nevents, 1);
    /* Removing the trigger releases the line. */
    trigger_set(f, "[]");
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 2), HAL_GPIO_FREE);
}

static void test_polled_line_fires_too(void **state)
{
    struct fixture *f = *state;
    struct error err;

    trigger_set(f, "[{\"id\": \"" T1 "\", \"source\": {\"gpio\": \"slow0:1\","
                   " \"condition\": \"falling\", \"sample_interval_ms\": 10}}]");
    assert_int_equal(hal_sim_set_line(f->hal, "slow0", 1, 1, NULL, &err), 0);
    run_for(f, 40);
    assert_int_equal(f->nevents, 0);
    assert_int_equal(hal_sim_set_line(f->hal, "slow0", 1, 0, NULL, &err), 0);
    run_until(f, &f->nevents, 1);
    assert_int_equal(f->nevents, 1);
    assert_int_equal(get(f->events[0], "value")->valueint, 0);
}

#define EXECUTE                                                                                    \
    "{\"function_id\": \"11111111-1111-4111-8111-111111111111\", \"function_version\": 0,"         \
    " \"entry\": \"main.main\", \"timeout\": 5, \"devices\": [\"gpio:sim0:5:out\"],"               \
    " \"deadline\": \"2000-01-01T00:00:00Z\","                                                     \
    " \"package\": {\"sha256\": \"" SHA_A "\", \"md5sum\": null, \"size\": 100,"                   \
    " \"format\": \"zip\", \"url\": \"http://127.0.0.1:7070/v1/blobs/" SHA_A                       \
    "\", \"token\": \"t\"},"                                                                       \
    " \"runtime\": {\"id\": \"22222222-2222-4222-8222-222222222222\", \"name\": \"busybox\","      \
    " \"sha256\": \"" SHA_B "\", \"size\": 1000, \"format\": \"tar.gz\","                          \
    " \"url\": \"http://127.0.0.1:7070/v1/blobs/" SHA_B "\", \"token\": \"t\"}}"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define LOCAL_T1                                                                                   \
    "[{\"id\": \"" T1 "\", \"local\": true, \"execute\": " EXECUTE ","                             \
    " \"input_template\": {\"light\": \"on\", \"lux\": \"{{event.value}}\","                       \
    " \"why\": \"{{event.condition}} {{event.threshold}}\"},"                                      \
    " \"source\": {\"sensor\": \"lux0\", \"condition\": \"<\", \"threshold\": 10,"                 \
    " \"sample_interval_ms\": 10}}]"

static void test_local_loop_runs_the_function_then_reports(void **state)
{
    struct fixture *f = *state;
    const cJSON *p, *ev;
    cJSON *input;

    trigger_set(f, LOCAL_T1);
    assert_int_equal(cJSON_GetArraySize(get(f->reply, "installed")), 1);
    set_sensor(f, "lux0", 3);
    run_until(f, &f->nevents, 1);
    assert_int_equal(f->npayloads, 1);
    p = f->payloads[0];
    assert_int_equal(get(p, "function_id")->valuestring[0], '1');
    assert_string_equal(get(p, "input_kind")->valuestring, "json");
    assert_null(cJSON_GetObjectItem(p, "deadline")); /* a template's deadline is dropped */
    input = cJSON_Parse(get(p, "input")->valuestring);
    assert_string_equal(get(input, "light")->valuestring, "on");
    assert_true(get(input, "lux")->valuedouble == 3);
    assert_string_equal(get(input, "why")->valuestring, "< 10");
    cJSON_Delete(input);
    /* The firing is reported after the executor accepted, naming the run. */
    assert_int_equal(f->nevents, 1);
    ev = f->events[0];
    assert_true(cJSON_IsTrue(get(ev, "local")));
    assert_string_equal(get(ev, "execution_id")->valuestring, get(p, "execution_id")->valuestring);
    assert_int_equal(get(ev, "firing_seq")->valueint, 1);
}

static void test_local_refusal_is_reported_without_execution(void **state)
{
    struct fixture *f = *state;
    const cJSON *ev;

    f->local_answer = "ERROR";
    trigger_set(f, LOCAL_T1);
    set_sensor(f, "lux0", 3);
    run_until(f, &f->nevents, 1);
    assert_int_equal(f->nevents, 1);
    ev = f->events[0];
    assert_true(cJSON_IsNull(get(ev, "execution_id")));
    assert_string_equal(get(ev, "error")->valuestring, "All 1 execution slots are in use.");
}

static void test_unchanged_trigger_keeps_its_state(void **state)
{
    struct fixture *f = *state;

    set_sensor(f, "lux0", 5); /* already dark at install: fires once */
    trigger_set(f, "[" DUSK(T1, "") "]");
    run_until(f, &f->nevents, 1);
    assert_int_equal(f->nevents, 1);
    /* A reconnect sends the same set: no second firing. */
    trigger_set(f, "[" DUSK(T1, "") "]");
    run_for(f, 60);
    assert_int_equal(f->nevents, 1);
    /* Only the sampling changed: the state is kept too. */
    trigger_set(f, "[{\"id\": \"" T1 "\", \"source\": {\"sensor\": \"lux0\", \"condition\":"
                   " \"<\", \"threshold\": 10, \"hysteresis\": 2, \"sample_interval_ms\": 20}}]");
    run_for(f, 60);
    assert_int_equal(f->nevents, 1);
    /* A new threshold is a new trigger: armed, fires at install, and its
     * numbers continue. */
    trigger_set(f, "[{\"id\": \"" T1 "\", \"source\": {\"sensor\": \"lux0\", \"condition\": "
                   "\"<\", \"threshold\": 6, \"sample_interval_ms\": 10}}]");
    run_until(f, &f->nevents, 2);
    assert_int_equal(f->nevents, 2);
    assert_int_equal(get(f->events[1], "firing_seq")->valueint, 2);
}

/* Lets the engine's writes of triggers.json finish. */
static void settle(struct fixture *f)
{
    for (int i = 0; i < 2000 && trig_engine_writing(f->t); i++)
        run_for(f, 1);
    assert_false(trig_engine_writing(f->t));
}

static void restart(struct fixture *f)
{
    struct error err;

    settle(f);
    trig_engine_free(f->t);
    make_engine(f);
    assert_int_equal(trig_engine_load(f->t, &err), 0);
    settle(f); /* the new run's reservations */
}

static void test_triggers_survive_a_restart(void **state)
{
    struct fixture *f = *state;
    int64_t first;

    trigger_set(f, "[" DUSK(T1, "") ", {\"id\": \"" T2 "\", \"source\": {\"gpio\": \"sim0:4\","
                                    " \"condition\": \"change\"}}]");
    set_sensor(f, "lux0", 5);
    run_until(f, &f->nevents, 1);
    first = (int64_t)get(f->events[0], "firing_seq")->valuedouble;
    assert_int_equal(first, 1);
    restart(f);
    assert_int_equal(trig_engine_count(f->t), 2);
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 4), HAL_GPIO_INPUT);
    /* Still dark: a fresh start evaluates from scratch and fires, with a
     * number past everything the previous run could have used. */
    run_until(f, &f->nevents, 2);
    assert_int_equal(f->nevents, 2);
    assert_true(get(f->events[1], "firing_seq")->valuedouble > first + TRIG_SEQ_BLOCK - 1);
    {
        cJSON *st = trig_engine_status(f->t);
        const cJSON *one = cJSON_GetArrayItem(get(st, "triggers"), 0);

        assert_string_equal(get(one, "id")->valuestring, T1);
        assert_int_equal(get(one, "fire_count")->valueint, 1);
        assert_true(cJSON_IsFalse(get(one, "armed")));
        assert_true(get(one, "last_value")->valuedouble == 5);
        cJSON_Delete(st);
    }
}

static void test_cloud_sequence_base_is_honoured(void **state)
{
    struct fixture *f = *state;

    set_sensor(f, "lux0", 5);
    trigger_set(f, "[{\"id\": \"" T1 "\", \"firing_seq_base\": 5000, \"source\": {\"sensor\":"
                   " \"lux0\", \"condition\": \"<\", \"threshold\": 10}}]");
    run_until(f, &f->nevents, 1);
    assert_int_equal(get(f->events[0], "firing_seq")->valueint, 5000);
}

static void test_corrupt_file_falls_back_to_the_last_good_copy(void **state)
{
    struct fixture *f = *state;
    char path[128];
    int fd;

    trigger_set(f, "[" DUSK(T1, "") "]");
    trigger_set(f, "[" DUSK(T1, "") ", " DUSK(T2, "") "]");
    snprintf(path, sizeof(path), "%s/triggers.json", f->dir);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"triggers\": [", 14), 14);
    close(fd);
    restart(f);
    assert_int_equal(trig_engine_count(f->t), 2); /* the .bak: a copy of the last write */
    /* Both broken: the engine starts empty rather than not at all. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "garbage", 7), 7);
    close(fd);
    snprintf(path, sizeof(path), "%s/triggers.json.bak", f->dir);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "[]", 2), 2);
    close(fd);
    restart(f);
    assert_int_equal(trig_engine_count(f->t), 0);
}

static void test_stopping_during_a_set_answers_it(void **state)
{
    struct fixture *f = *state;
    cJSON *p = cJSON_Parse("{\"triggers\": [" DUSK(T1, "") "]}");

    trig_engine_set(f->t, p, on_set, f);
    cJSON_Delete(p);
    assert_int_equal(f->answered, 0); /* its write is on the worker pool */
    trig_engine_free(f->t);
    f->t = NULL;
    assert_int_equal(f->answered, 1);
    assert_string_equal(f->kind, "ERROR");
    assert_non_null(strstr(f->reply->valuestring, "the agent is stopping"));
    wq_free(f->wq); /* the write completes; nothing else is answered */
    f->wq = NULL;
    assert_int_equal(f->answered, 1);
}

static void test_purge_empties_the_set(void **state)
{
    struct fixture *f = *state;

    trigger_set(f, "[" DUSK(T1, "") "]");
    trig_engine_purge(f->t);
    assert_int_equal(trig_engine_count(f->t), 0);
    run_for(f, 50);
    restart(f);
    assert_int_equal(trig_engine_count(f->t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sensor_trigger_fires_through_emit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_name_the_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_payload_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpio_edge_fires_with_the_event_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_polled_line_fires_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_loop_runs_the_function_then_reports, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_local_refusal_is_reported_without_execution, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unchanged_trigger_keeps_its_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_triggers_survive_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cloud_sequence_base_is_honoured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file_falls_back_to_the_last_good_copy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stopping_during_a_set_answers_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_empties_the_set, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tools/lr-swarm/procs.c: the board procedures a simulated board answers.
 *
 * One table, as lightning-rod-c has (board-protocol.md 6.5): DevicePing,
 * DeviceEcho and DeviceNetConfig as the contract says, and GpioRead,
 * GpioWrite and SensorRead on a simulated chip `sim0` (8 lines, one byte
 * per board) and the sensors temp0 and lux0 (10.7). With --tunnels the
 * service procedures open real tunnels (tunnels.c). Invocations carry `req`
 * first (6.2); its uuid comes back as req_id (6.3). Arguments are checked
 * and bad ones answer ERROR naming the argument; nothing here can crash on
 * what the wagent sends. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "swarm.h"
#include "wamp/session.h"
#include "wamp/uri.h"
#include "wamp/wampmsg.h"

#define SAY_MAX 4096
#define SIM_CHIP "sim0"
#define SIM_LINES 8

/* A procedure: first is the first argument after req (NULL when none);
 * fills *message (new, or NULL for null) and returns an enum wamp_result. */
typedef int (*proc_fn)(struct sw_board *b, const cJSON *first, cJSON **message);

struct sw_proc {
    const char *method;
    unsigned tunnel; /* registered only with --tunnels */
    proc_fn fn;
};

static int fail(cJSON **message, const char *fmt, ...) IOT_PRINTF(2, 3);
static int fail(cJSON **message, const char *fmt, ...)
{
    char text[ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    *message = cJSON_CreateString(text);
    return WAMP_RESULT_ERROR;
}

static cJSON *with_ts(cJSON *o)
{
    char ts[TIME_ISO_LEN];

    cJSON_AddStringToObject(o, "ts", time_format(time_now_us(), TIME_Z_US, ts));
    return o;
}

static int p_ping(struct sw_board *b, const cJSON *first, cJSON **message)
{
    char tmp[32], ts[TIME_ISO_LEN], text[SW_NAME_MAX + 64];

    (void)first;
    snprintf(text, sizeof(text), "%s @ %s", sw_board_name(b, tmp, sizeof(tmp)),
             time_format(time_now_us(), TIME_SPACE_US, ts));
    *message = cJSON_CreateString(text);
    return WAMP_RESULT_SUCCESS;
}

static int p_echo(struct sw_board *b, const cJSON *first, cJSON **message)
{
    const char *say;
    char ts[TIME_ISO_LEN];
    struct error err;
    char *text;

    (void)b;
    if (!cJSON_IsObject(first))
        return fail(message, "parameters must be an object");
    if (json_get_str(first, "say", JSON_REQUIRED, SAY_MAX, &say, &err) < 0)
        return fail(message, "%s", err.msg);
    text = xasprintf("%s @ %s", say, time_format(time_now_us(), TIME_SPACE_US, ts));
    *message = cJSON_CreateString(text);
    free(text);
    return WAMP_RESULT_SUCCESS;
}

static int p_netconfig(struct sw_board *b, const cJSON *first, cJSON **message)
{
    char ip[16], mac[18];
    const unsigned char *a = (const unsigned char *)&b->sw->o.sources[b->src];
    cJSON *o = cJSON_CreateObject(), *ifs = cJSON_AddArrayToObject(o, "interfaces");
    cJSON *lo = cJSON_CreateObject(), *v4;

    (void)first;
    snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    snprintf(mac, sizeof(mac), "02:53:%02x:%02x:%02x:%02x", (b->idx >> 24) & 0xff,
             (b->idx >> 16) & 0xff, (b->idx >> 8) & 0xff, b->idx & 0xff);
    cJSON_AddStringToObject(lo, "name", "lo");
    cJSON_AddStringToObject(lo, "mac", mac);
    cJSON_AddBoolToObject(lo, "up", 1);
    v4 = cJSON_AddArrayToObject(lo, "ipv4");
    cJSON_AddItemToArray(v4, cJSON_CreateString(ip));
    cJSON_AddArrayToObject(lo, "ipv6");
    cJSON_AddItemToArray(ifs, lo);
    *message = o;
    return WAMP_RESULT_SUCCESS;
}

/* chip and line of a GPIO call; -1 (with *message set) when they are bad. */
static int sim_line(const cJSON *first, cJSON **message)
{
    const char *chip;
    int64_t line;
    struct error err;

    if (!cJSON_IsObject(first)) {
        fail(message, "parameters must be an object");
        return -1;
    }
    if (json_get_str(first, "chip", JSON_REQUIRED, 64, &chip, &err) < 0 ||
        json_get_int(first, "line", JSON_REQUIRED, 0, 1023, &line, &err) < 0) {
        fail(message, "%s", err.msg);
        return -1;
    }
    if (strcmp(chip, SIM_CHIP) != 0 || line >= SIM_LINES) {
        fail(message, "No such device: %s:%d.", chip, (int)line);
        return -1;
    }
    return (int)line;
}

static int p_gpio_read(struct sw_board *b, const cJSON *first, cJSON **message)
{
    int line = sim_line(first, message);

    if (line < 0)
        return WAMP_RESULT_ERROR;
    *message = with_ts(cJSON_CreateObject());
    cJSON_AddNumberToObject(*message, "value", (b->gpio >> line) & 1);
    return WAMP_RESULT_SUCCESS;
}

static int p_gpio_write(struct sw_board *b, const cJSON *first, cJSON **message)
{
    const cJSON *v;
    int line = sim_line(first, message), value;

    if (line < 0)
        return WAMP_RESULT_ERROR;
    v = cJSON_GetObjectItemCaseSensitive(first, "value");
    if (cJSON_IsBool(v))
        value = cJSON_IsTrue(v);
    else if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1))
        value = v->valuedouble == 1;
    else
        return fail(message, "value must be 0, 1, true or false");
    b->gpio = (uint8_t)(value ? (b->gpio | 1u << line) : (b->gpio & ~(1u << line)));
    *message = with_ts(cJSON_CreateObject());
    return WAMP_RESULT_SUCCESS;
}

static int p_sensor_read(struct sw_board *b, const cJSON *first, cJSON **message)
{
    static const struct {
        const char *name, *unit;
        double value;
    } sensors[] = {{"temp0", "C", 21.5}, {"lux0", "lx", 120}};
    const char *name;
    struct error err;

    (void)b;
    if (!cJSON_IsObject(first))
        return fail(message, "parameters must be an object");
    if (json_get_str(first, "name", JSON_REQUIRED, 64, &name, &err) < 0)
        return fail(message, "%s", err.msg);
    for (size_t i = 0; i < sizeof(sensors) / sizeof(sensors[0]); i++)
        if (strcmp(name, sensors[i].name) == 0) {
            *message = with_ts(cJSON_CreateObject());
            cJSON_AddNumberToObject(*message, "value", sensors[i].value);
            cJSON_AddStringToObject(*message, "unit", sensors[i].unit);
            return WAMP_RESULT_SUCCESS;
        }
    return fail(message, "No such device: %s.", name);
}

static int p_service_enable(struct sw_board *b, const cJSON *first, cJSON **message)
{
    return sw_tun_enable(b, first, 0, message);
}

static int p_service_restore(struct sw_board *b, const cJSON *first, cJSON **message)
{
    return sw_tun_enable(b, first, 1, message);
}

static int p_service_disable(struct sw_board *b, const cJSON *first, cJSON **message)
{
    return sw_tun_disable(b, first, message);
}

static int p_services_status(struct sw_board *b, const cJSON *first, cJSON **message)
{
    (void)first;
    return sw_tun_status(b, message);
}

static const struct sw_proc procs[] = {
    {"DevicePing", 0, p_ping},
    {"DeviceEcho", 0, p_echo},
    {"DeviceNetConfig", 0, p_netconfig},
    {"GpioRead", 0, p_gpio_read},
    {"GpioWrite", 0, p_gpio_write},
    {"SensorRead", 0, p_sensor_read},
    {"ServiceEnable", 1, p_service_enable},
    {"ServiceDisable", 1, p_service_disable},
    {"ServiceRestore", 1, p_service_restore},
    {"ServicesStatus", 1, p_services_status},
};

int sw_procs_register(struct sw_board *b, struct error *err)
{
    char uri[WAMP_URI_MAX + 1];
    int n = 0, rc;

    for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
        if (procs[i].tunnel && !b->sw->o.tunnels)
            continue;
        rc = wamp_board_proc_build(wamp_session_id(b->ws), b->uuid, procs[i].method, uri, err);
        if (rc >= 0)
            rc = wamp_session_register(b->ws, uri, (void *)&procs[i], NULL, err);
        if (rc < 0)
            return rc;
        n++;
    }
    return n;
}

/* req_id from req (6.2): its uuid when it is a string of sane length. */
static const char *req_id_of(const cJSON *req)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(req, "uuid");

    if (cJSON_IsString(u) && strlen(u->valuestring) <= WAMP_REQ_ID_MAX)
        return u->valuestring;
    return NULL;
}

void sw_procs_invoke(struct sw_board *b, const struct wamp_event *ev)
{
    const struct sw_proc *p = ev->cookie;
    const cJSON *args = wamp_msg_args(ev->msg), *first = args ? args->child : NULL;
    const char *req_id = NULL;
    cJSON *message = NULL;
    struct error err;
    char *text = NULL;
    size_t len;
    int result;

    if (cJSON_IsObject(first)) { /* req: every call to an lrc- agent has it */
        req_id = req_id_of(first);
        first = first->next;
    }
    result = p->fn(b, first, &message);
    b->sw->st.invocations++;
    if (result == WAMP_RESULT_ERROR)
        b->sw->st.invocation_errors++;
    if (wamp_wampmsg_text((enum wamp_result)result, message, req_id, 0, &text, &len, &err) < 0 ||
        wamp_session_yield_text(b->ws, ev->request, text, len, &err) < 0) {
        sw_note(b->sw, SW_N_INVOKE, "board %u: %s: cannot answer: %s", b->idx, p->method, err.msg);
        sw_board_kill(b, "yield failed", 0);
    }
    free(text);
    cJSON_Delete(message);
}

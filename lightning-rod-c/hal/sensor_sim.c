/* hal/sensor_sim.c: simulated sensors ([io] sim_sensors) and their setter.
 *
 * "temp0:C:21.5 lux0:lx:120": name, unit, initial value per token. A value
 * lives in the sensor, on the loop thread; hal_sim_set_sensor() changes it
 * and the next read (or sample) returns it. */
#include "hal/internal.h"
#include "hal/sim.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static int unit_valid(const char *u)
{
    size_t n = strlen(u);

    if (n == 0 || n > HAL_UNIT_MAX)
        return 0;
    for (; *u != '\0'; u++)
        if (*u <= 0x20 || *u >= 0x7f || *u == '"' || *u == '\\')
            return 0;
    return 1;
}

static int add_sensor(struct hal *hal, char *tok, struct error *err)
{
    char *unit = strchr(tok, ':'), *val, *end;
    struct sensor *s;
    double v;

    val = unit != NULL ? strchr(unit + 1, ':') : NULL;
    if (unit == NULL || val == NULL)
        return error_set(err, -EINVAL, "[io] sim_sensors: '%.64s': expected <name>:<unit>:<value>",
                         tok);
    *unit++ = '\0';
    *val++ = '\0';
    if (!hal_name_valid(tok))
        return error_set(err, -EINVAL, "[io] sim_sensors: '%.64s': invalid sensor name", tok);
    if (sensor_find(hal, tok) != NULL)
        return error_set(err, -EINVAL, "[io] sim_sensors: sensor %s is declared twice", tok);
    if (!unit_valid(unit))
        return error_set(err, -EINVAL,
                         "[io] sim_sensors: %s: the unit must be 1 to %d printable characters", tok,
                         HAL_UNIT_MAX);
    errno = 0;
    v = strtod(val, &end);
    if (errno != 0 || end == val || *end != '\0' || !isfinite(v))
        return error_set(err, -EINVAL, "[io] sim_sensors: %s: '%.32s' is not a number", tok, val);
    if (hal->nsensors == SIM_SENSORS_MAX)
        return error_set(err, -EINVAL, "[io] sim_sensors: at most %d sensors", SIM_SENSORS_MAX);
    s = sensor_add(hal, tok, HAL_SENSOR_SIM, unit);
    if (s == NULL)
        return error_set(err, -EINVAL, "[io] sim_sensors: cannot add %s", tok);
    s->sim_value = v;
    return 0;
}

int sensor_sim_setup(struct hal *hal, const char *spec, struct error *err)
{
    char *copy = xstrdup(spec != NULL ? spec : ""), *save = NULL, *tok;
    int rc = 0;

    for (tok = strtok_r(copy, " \t,", &save); tok != NULL && rc == 0;
         tok = strtok_r(NULL, " \t,", &save))
        rc = add_sensor(hal, tok, err);
    free(copy);
    return rc;
}

int hal_sim_set_sensor(struct hal *hal, const char *name, double value, const char **unit,
                       struct error *err)
{
    struct sensor *s;

    if (hal->sim == NULL)
        return error_set(err, -ENOTSUP, "The simulated IO backend is not in use.");
    s = sensor_find(hal, name);
    if (s == NULL)
        return error_set(err, -ENODEV, "No such device: sensor:%.32s.", name);
    if (s->kind != HAL_SENSOR_SIM)
        return error_set(err, -EINVAL, "Sensor %s is not simulated.", name);
    if (!isfinite(value))
        return error_set(err, -EINVAL, "The value must be a finite number.");
    s->sim_value = value;
    if (unit != NULL)
        *unit = s->unit;
    return 0;
}

/* hal/sensor_hwmon.c: hardware monitoring sensors (/sys/class/hwmon).
 *
 * Each hwmonN directory gives one sensor per <type><n>_input attribute of a
 * type with a fixed unit in the hwmon sysfs ABI (temperatures in milli
 * degrees Celsius, voltages in millivolts, ...); values are converted to the
 * base unit DeviceCaps reports. Sensor names are "<name>_<type><n>" (the
 * chip's `name` file, then the attribute), made valid and unique. */
#include "hal/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct hwmon_type {
    const char *type;
    const char *unit;
    double div; /* ABI units per reported unit */
};

static const struct hwmon_type hwmon_types[] = {
    {"temp", "C", 1000.0},      /* millidegrees Celsius */
    {"in", "V", 1000.0},        /* millivolts */
    {"curr", "A", 1000.0},      /* milliamperes */
    {"power", "W", 1000000.0},  /* microwatts */
    {"energy", "J", 1000000.0}, /* microjoules */
    {"humidity", "%", 1000.0},  /* milli percent */
    {"fan", "RPM", 1.0},        /* revolutions per minute */
};

/* The type of "<type><n>_input", or NULL for any other attribute. */
static const struct hwmon_type *parse_attr(const char *file, char attr[48])
{
    size_t letters = 0, digits = 0;

    while (file[letters] >= 'a' && file[letters] <= 'z')
        letters++;
    while (file[letters + digits] >= '0' && file[letters + digits] <= '9')
        digits++;
    if (letters == 0 || digits == 0 || letters + digits >= 48 ||
        strcmp(file + letters + digits, "_input") != 0)
        return NULL;
    memcpy(attr, file, letters + digits);
    attr[letters + digits] = '\0';
    for (size_t i = 0; i < sizeof(hwmon_types) / sizeof(hwmon_types[0]); i++)
        if (strlen(hwmon_types[i].type) == letters &&
            strncmp(hwmon_types[i].type, file, letters) == 0)
            return &hwmon_types[i];
    return NULL;
}

static void add_chip(struct hal *hal, const char *root, const char *entry)
{
    char *dir = xasprintf("%s/%s", root, entry);
    char *namefile = xasprintf("%s/name", dir);
    char chipname[64], attr[48];
    char **files = NULL;
    size_t n = 0;

    if (sysfs_read_text(namefile, chipname, sizeof(chipname), NULL) <= 0)
        snprintf(chipname, sizeof(chipname), "%s", entry);
    if (sysfs_list(dir, "", &files, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            const struct hwmon_type *t = parse_attr(files[i], attr);
            struct sensor *s;
            char *base;

            if (t == NULL)
                continue;
            base = xasprintf("%s_%s", chipname, attr);
            s = sensor_add(hal, base, HAL_SENSOR_HWMON, t->unit);
            free(base);
            if (s == NULL)
                continue;
            s->path = xasprintf("%s/%s", dir, files[i]);
            s->div = t->div;
        }
    }
    sysfs_names_free(files, n);
    free(namefile);
    free(dir);
}

int sensor_hwmon_discover(struct hal *hal, const char *dir, struct error *err)
{
    char **chips = NULL;
    size_t n = 0;

    (void)err;
    if (sysfs_list(dir, "hwmon", &chips, &n) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        add_chip(hal, dir, chips[i]);
    sysfs_names_free(chips, n);
    return 0;
}
